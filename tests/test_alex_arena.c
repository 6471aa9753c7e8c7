/* test_alex_arena.c - the huge-page arena of bulk-loaded leaf arrays: used, kept correct through
 * inserts/erases that replace those arrays, unmapped once none is left; INT64_MAX and gaps on lookup. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "alex_internal.h" /* white-box: ix->arena */

#define BULK 150000 /* ~3.6 MiB of leaf arrays: above the 2 MiB the arena needs, fast under ASan too */

static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static void check_valid(const alex_index *ix)
{
    char err[512];
    if (alex_validate(ix, err, sizeof(err)) != ALEX_OK)
        fail_msg("alex_validate: %s", err);
}

/* Even keys are bulk-loaded; odd keys are inserted later, so every lookup of an odd key before its
 * insert lands between real keys (on gaps that copy the right neighbour) and must miss. */
static void test_arena_lifecycle(void **state)
{
    (void)state;
    int64_t *keys = malloc(BULK * sizeof(*keys));
    uint64_t *pays = malloc(BULK * sizeof(*pays));
    assert_non_null(keys);
    assert_non_null(pays);
    for (size_t i = 0; i < BULK; i++) {
        keys[i] = (int64_t)(i * 2000 + (mix(i) % 500) * 2); /* even, increasing, uneven spacing */
        pays[i] = mix(i + 1);
    }
    alex_index *ix;
    assert_int_equal(alex_create(&ix, NULL), ALEX_OK);
    assert_int_equal(alex_bulk_load(ix, keys, pays, BULK), ALEX_OK);
    assert_non_null(ix->arena.base);
    assert_int_equal(ix->arena.open, 0);
    assert_true(ix->arena.live > 0);
    check_valid(ix);
    uint64_t p;
    for (size_t i = 0; i < BULK; i++) {
        assert_int_equal(alex_find(ix, keys[i], &p), ALEX_OK);
        assert_int_equal(p, pays[i]);
        assert_int_equal(alex_find(ix, keys[i] + 1, &p), ALEX_NOTFOUND);
    }
    assert_int_equal(alex_find(ix, INT64_MAX, &p), ALEX_NOTFOUND); /* tail gaps hold INT64_MAX */
    assert_int_equal(alex_find(ix, INT64_MIN, &p), ALEX_NOTFOUND);
    assert_int_equal(alex_insert(ix, INT64_MAX, 7), ALEX_OK);
    assert_int_equal(alex_find(ix, INT64_MAX, &p), ALEX_OK);
    assert_int_equal(p, 7);
    /* inserts resize and split the bulk-loaded leaves: their arrays go back to the arena */
    for (size_t i = 0; i < BULK; i++)
        assert_int_equal(alex_insert(ix, keys[i] + 1, ~pays[i]), ALEX_OK);
    check_valid(ix);
    /* erase every bulk-loaded key: every leaf is rebuilt at least once along the way */
    for (size_t i = 0; i < BULK; i++) {
        assert_int_equal(alex_erase(ix, keys[i], &p), ALEX_OK);
        assert_int_equal(p, pays[i]);
    }
    check_valid(ix);
    for (size_t i = 0; i < BULK; i++) {
        assert_int_equal(alex_find(ix, keys[i], &p), ALEX_NOTFOUND); /* erased: gaps now copy key + 1 */
        assert_int_equal(alex_find(ix, keys[i] + 1, &p), ALEX_OK);
        assert_int_equal(p, ~pays[i]);
    }
    assert_int_equal(alex_erase(ix, INT64_MAX, &p), ALEX_OK);
    assert_int_equal(alex_find(ix, INT64_MAX, &p), ALEX_NOTFOUND);
    /* empty the index and bulk-load it again: a fresh arena if the first is gone (every array in it
     * replaced), else malloc; either way every key must be found */
    for (size_t i = 0; i < BULK; i++)
        assert_int_equal(alex_erase(ix, keys[i] + 1, NULL), ALEX_OK);
    check_valid(ix);
    int first_gone = ix->arena.base == NULL;
    for (size_t i = 0; i < BULK; i++)
        keys[i] += 1;
    assert_int_equal(alex_bulk_load(ix, keys, pays, BULK), ALEX_OK);
    if (first_gone)
        assert_non_null(ix->arena.base);
    check_valid(ix);
    for (size_t i = 0; i < BULK; i++) {
        assert_int_equal(alex_find(ix, keys[i], &p), ALEX_OK);
        assert_int_equal(p, pays[i]);
        assert_int_equal(alex_find(ix, keys[i] - 1, &p), ALEX_NOTFOUND);
    }
    alex_destroy(ix);
    free(keys);
    free(pays);
}

/* Small bulk loads stay on malloc: a 2 MiB huge page for a few keys would only waste memory. */
static void test_arena_small_off(void **state)
{
    (void)state;
    int64_t keys[1000];
    uint64_t pays[1000];
    for (int i = 0; i < 1000; i++)
        keys[i] = i * 3, pays[i] = (uint64_t)i;
    alex_index *ix;
    assert_int_equal(alex_create(&ix, NULL), ALEX_OK);
    assert_int_equal(alex_bulk_load(ix, keys, pays, 1000), ALEX_OK);
    assert_null(ix->arena.base);
    uint64_t p;
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(alex_find(ix, keys[i], &p), ALEX_OK);
        assert_int_equal(p, (uint64_t)i);
    }
    check_valid(ix);
    alex_destroy(ix);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_arena_lifecycle),
        cmocka_unit_test(test_arena_small_off),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
