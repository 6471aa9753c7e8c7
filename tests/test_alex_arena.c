/* test_alex_arena.c - the huge-page heap of leaf arrays: used by bulk loads and by inserts, kept
 * correct through inserts/erases that replace arrays, freed blocks reused (the footprint does not
 * grow under churn), off for small indexes; INT64_MAX and gaps on lookup. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "alex_internal.h" /* white-box: ix->arena */

#define BULK 150000 /* ~3.6 MiB of leaf arrays: above the 2 MiB the heap needs, fast under ASan too */

static int in_heap(const alex_index *ix, const void *p)
{
    const unsigned char *c = p;
    for (size_t i = 0; i < ix->arena.nregions; i++)
        if (c >= ix->arena.region[i].base && c < ix->arena.region[i].base + ix->arena.region[i].size)
            return 1;
    return 0;
}

/* Slots of leaves whose three arrays are all heap blocks, out of *total slots. */
static size_t leaves_in_heap(const alex_index *ix, size_t *total)
{
    const alex_node *n = ix->root;
    while (!n->is_leaf)
        n = ((const alex_model_node *)n)->children[0];
    size_t in = 0;
    *total = 0;
    for (const alex_data_node *d = (const alex_data_node *)n; d; d = d->next) {
        *total += (size_t)d->cap;
        if (in_heap(ix, d->keys) && in_heap(ix, d->payloads) && in_heap(ix, d->bitmap))
            in += (size_t)d->cap;
    }
    return in;
}

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
    assert_int_equal(ix->arena.on, 1);
    assert_true(ix->arena.nregions > 0);
    assert_true(ix->arena.live > 0);
    size_t total, in = leaves_in_heap(ix, &total);
    assert_int_equal(in, total);
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
    /* inserts resize and split the bulk-loaded leaves: their arrays go back to the heap, the new
     * ones come from it */
    for (size_t i = 0; i < BULK; i++)
        assert_int_equal(alex_insert(ix, keys[i] + 1, ~pays[i]), ALEX_OK);
    check_valid(ix);
    in = leaves_in_heap(ix, &total);
    assert_int_equal(in, total);
    assert_true(ix->arena.free_bytes > 0);
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
    /* empty the index and bulk-load it again: every key must be found */
    for (size_t i = 0; i < BULK; i++)
        assert_int_equal(alex_erase(ix, keys[i] + 1, NULL), ALEX_OK);
    check_valid(ix);
    for (size_t i = 0; i < BULK; i++)
        keys[i] += 1;
    assert_int_equal(alex_bulk_load(ix, keys, pays, BULK), ALEX_OK);
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

/* An index built by inserts alone moves to the heap once it passes ALEX_ARENA_MIN, and repeating
 * the same insert/erase churn reuses freed blocks instead of growing the footprint. */
static void test_heap_inserts_and_reuse(void **state)
{
    (void)state;
    alex_index *ix;
    assert_int_equal(alex_create(&ix, NULL), ALEX_OK);
    uint64_t p;
    for (uint64_t i = 0; i < BULK; i++)
        assert_int_equal(alex_insert(ix, (int64_t)(mix(i) >> 1), i), ALEX_OK);
    assert_int_equal(ix->arena.on, 1);
    check_valid(ix);
    size_t total, in = leaves_in_heap(ix, &total);
    if (in * 10 < total * 9)
        fail_msg("only %zu of %zu leaf slots have their arrays in the heap", in, total);
    size_t bumped[3];
    for (int round = 0; round < 3; round++) {
        for (uint64_t i = 0; i < BULK / 2; i++)
            assert_int_equal(alex_insert(ix, (int64_t)(mix(i + 7777777) >> 1), i), ALEX_OK);
        for (uint64_t i = 0; i < BULK / 2; i++)
            assert_int_equal(alex_erase(ix, (int64_t)(mix(i + 7777777) >> 1), NULL), ALEX_OK);
        check_valid(ix);
        bumped[round] = ix->arena.bumped;
    }
    /* rounds 2 and 3 repeat round 1's requests: they must be served mostly from the free lists */
    if (bumped[2] > bumped[0] + bumped[0] / 5)
        fail_msg("heap footprint grew from %zu to %zu bytes under repeated churn", bumped[0], bumped[2]);
    for (uint64_t i = 0; i < BULK; i++) {
        assert_int_equal(alex_find(ix, (int64_t)(mix(i) >> 1), &p), ALEX_OK);
        assert_int_equal(p, i);
    }
    alex_stats st;
    alex_get_stats(ix, &st);
    assert_int_equal(st.heap_bytes, ix->arena.bumped);
    assert_true(st.heap_bytes >= st.index_bytes / 2); /* most of the index lives there */
    /* repacking keeps garbage below a fifth of the heap: class rounding (<= 25 %) and that bound */
    printf("heap: %zu bytes for %llu bytes of index, %llu compactions\n", ix->arena.bumped,
           (unsigned long long)st.index_bytes, (unsigned long long)ix->arena.compactions);
    assert_true(ix->arena.compactions > 0);
    if ((double)st.heap_bytes > 1.6 * (double)st.index_bytes)
        fail_msg("heap holds %llu bytes for %llu bytes of index", (unsigned long long)st.heap_bytes,
                 (unsigned long long)st.index_bytes);
    check_valid(ix);
    alex_destroy(ix);
}

/* Repacking is incremental: once a fifth of the heap is free, each later mutation moves at most a
 * step's worth of arrays (256 KiB, overshooting by one leaf's arrays at most), never the whole heap;
 * the old regions are unmapped as they empty and the footprint comes back down; every key stays. */
static void test_repack_is_incremental(void **state)
{
    (void)state;
    alex_params p;
    alex_params_default(&p);
    p.max_data_node_slots = 4096; /* a leaf's arrays: at most 68 KiB */
    alex_index *ix;
    assert_int_equal(alex_create(&ix, &p), ALEX_OK);
    const uint64_t n = 400000;
    for (uint64_t i = 0; i < n; i++)
        assert_int_equal(alex_insert(ix, (int64_t)(mix(i) >> 1), i), ALEX_OK);
    size_t max_step = 0, steps_before = ix->arena.rp_steps, peak_regions = 0;
    uint64_t repacks_before = ix->arena.compactions, mutations = 0;
    for (int round = 0; round < 4; round++) {
        for (uint64_t i = 0; i < n / 2; i++, mutations += 2) {
            uint64_t m0 = ix->arena.rp_moved;
            assert_int_equal(alex_insert(ix, (int64_t)(mix(i + 7777777) >> 1), i), ALEX_OK);
            uint64_t m1 = ix->arena.rp_moved;
            assert_int_equal(alex_erase(ix, (int64_t)(mix(i + 7777777 + n) >> 1), NULL), i < n / 2 && round > 0 ? ALEX_OK : ALEX_NOTFOUND);
            if (m1 - m0 > max_step)
                max_step = m1 - m0;
            if (ix->arena.rp_moved - m1 > max_step)
                max_step = ix->arena.rp_moved - m1;
            if (ix->arena.nregions > peak_regions)
                peak_regions = ix->arena.nregions;
        }
        for (uint64_t i = 0; i < n / 2; i++) /* the next round erases these */
            assert_int_equal(alex_upsert(ix, (int64_t)(mix(i + 7777777 + n) >> 1), i, NULL, NULL), ALEX_OK);
        for (uint64_t i = 0; i < n / 2; i++)
            assert_int_equal(alex_erase(ix, (int64_t)(mix(i + 7777777) >> 1), NULL), ALEX_OK);
    }
    alex__arena_repack_finish(ix);
    alex_stats st;
    alex_get_stats(ix, &st);
    printf("repack: %llu repacks in %llu steps over %llu mutations, %llu bytes moved, at most %zu in one "
           "mutation; heap %llu bytes for %llu of index, %zu regions (peak %zu)\n",
           (unsigned long long)(ix->arena.compactions - repacks_before),
           (unsigned long long)(ix->arena.rp_steps - steps_before), (unsigned long long)mutations,
           (unsigned long long)ix->arena.rp_moved, max_step, (unsigned long long)st.heap_bytes,
           (unsigned long long)st.index_bytes, ix->arena.nregions, peak_regions);
    assert_true(ix->arena.compactions > repacks_before);
    assert_true(ix->arena.rp_steps - steps_before > ix->arena.compactions - repacks_before); /* several steps each */
    size_t leaf_max = 4096u * 16u + 4096u / 8u + 3u * 64u;
    if (max_step > ((size_t)256 << 10) + leaf_max)
        fail_msg("one mutation moved %zu bytes of arrays (a step is 256 KiB)", max_step);
    if ((double)st.heap_bytes > 1.6 * (double)st.index_bytes)
        fail_msg("heap holds %llu bytes for %llu bytes of index", (unsigned long long)st.heap_bytes,
                 (unsigned long long)st.index_bytes);
    for (uint64_t i = 0; i < n; i++) {
        uint64_t v;
        assert_int_equal(alex_find(ix, (int64_t)(mix(i) >> 1), &v), ALEX_OK);
        assert_int_equal(v, i);
    }
    check_valid(ix);
    alex_destroy(ix);
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
    assert_int_equal(ix->arena.on, 0);
    assert_int_equal(ix->arena.nregions, 0);
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
        cmocka_unit_test(test_heap_inserts_and_reuse),
        cmocka_unit_test(test_repack_is_incremental),
        cmocka_unit_test(test_arena_small_off),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
