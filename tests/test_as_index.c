/* test_as_index.c - every index behind as_index.h (alex, btree at several node sizes, sorted) against
 * a presence-bitmap oracle: bulk load, random/ascending/descending upserts and erases, finds, scans
 * from random points, validate() along the way, and the kind names and bad options. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "as_index.h"
#include "testenv.h"

typedef struct ix_case {
    int kind;
    uint32_t node_bytes;
} ix_case;

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Universe: sorted distinct keys incl. the int64 extremes, clusters and wide gaps. */
static int64_t *make_universe(size_t *mp, uint64_t seed)
{
    size_t m = *mp;
    int64_t *u = malloc(m * sizeof(*u));
    assert_non_null(u);
    u[0] = INT64_MIN;
    u[1] = INT64_MAX;
    u[2] = 0;
    u[3] = -1;
    for (size_t i = 4; i < m; i++) {
        uint64_t r = rnd(&seed);
        switch (r % 3) {
        case 0: u[i] = (int64_t)(r >> 2) * ((r & 2) ? 1 : -1); break;   /* anywhere */
        case 1: u[i] = (int64_t)(1000000 + (r >> 40)); break;           /* a dense cluster */
        default: u[i] = (int64_t)((r >> 20) << 20); break;              /* spaced by 2^20 */
        }
    }
    qsort(u, m, sizeof(*u), cmp_i64);
    size_t w = 1;
    for (size_t i = 1; i < m; i++)
        if (u[i] != u[w - 1])
            u[w++] = u[i];
    *mp = w;
    return u;
}

static as_index *make_index(const ix_case *c)
{
    as_options o;
    as_options_default(&o);
    o.index = c->kind;
    o.btree_node_bytes = c->node_bytes;
    as_index *ix = NULL;
    char err[256];
    int rc = as_index_create(&ix, &o, err, sizeof(err));
    if (rc != AS_OK)
        fail_msg("create %d/%u: %s", c->kind, c->node_bytes, err);
    return ix;
}

static void check_valid(const as_index *ix)
{
    char err[512] = "";
    if (ix->ops->validate(ix->impl, err, sizeof(err)) != AS_IX_OK)
        fail_msg("%s: validate: %s", as_index_name(ix), err);
}

/* Compare find on every universe key and a scan from a random point with the oracle. */
static void check_all(const as_index *ix, const int64_t *u, size_t m, const unsigned char *in,
                      const uint64_t *pay, uint64_t *seed)
{
    size_t count = 0;
    for (size_t i = 0; i < m; i++) {
        uint64_t v = 0;
        int rc = as_index_find(ix, u[i], &v);
        if (in[i]) {
            count++;
            if (rc != AS_IX_OK || v != pay[i])
                fail_msg("%s: key %lld: rc %d val %llu, want %llu", as_index_name(ix), (long long)u[i], rc,
                         (unsigned long long)v, (unsigned long long)pay[i]);
        } else if (rc != AS_IX_NOTFOUND) {
            fail_msg("%s: absent key %lld found", as_index_name(ix), (long long)u[i]);
        }
    }
    assert_int_equal(as_index_size(ix), count);
    size_t start = rnd(seed) % m;
    as_ix_pair out[300];
    size_t got = as_index_scan(ix, u[start], out, 300), j = start;
    for (size_t k = 0; k < got; k++) {
        while (j < m && !in[j])
            j++;
        assert_true(j < m);
        assert_true(out[k].key == u[j] && out[k].loc == pay[j]);
        j++;
    }
    while (j < m && !in[j])
        j++;
    if (got < 300)
        assert_true(j == m);
    as_ix_cursor cur;
    as_ix_pair p;
    size_t seen = 0;
    int64_t last = 0;
    for (as_ix_cursor_init(&cur, ix); as_ix_cursor_next(&cur, &p); seen++) {
        assert_true(seen == 0 || p.key > last);
        last = p.key;
    }
    assert_int_equal(seen, count);
}

enum order { RANDOM, ASCENDING, DESCENDING };

static void run_case(const ix_case *c, size_t m, size_t nops, enum order ord, int bulk, uint64_t seed)
{
    int64_t *u = make_universe(&m, seed);
    unsigned char *in = calloc(m, 1);
    uint64_t *pay = calloc(m, sizeof(*pay));
    assert_true(in && pay);
    as_index *ix = make_index(c);
    if (bulk) { /* every other key */
        size_t nb = 0;
        int64_t *k = malloc(m * sizeof(*k));
        uint64_t *v = malloc(m * sizeof(*v));
        for (size_t i = 0; i < m; i += 2) {
            k[nb] = u[i];
            v[nb++] = pay[i] = rnd(&seed);
            in[i] = 1;
        }
        assert_int_equal(as_index_bulk_load(ix, k, v, nb), AS_IX_OK);
        assert_int_equal(as_index_bulk_load(ix, k, v, nb ? 1 : 0), nb ? AS_IX_EINVAL : AS_IX_OK);
        free(k);
        free(v);
    }
    for (size_t op = 0; op < nops; op++) {
        size_t i = ord == ASCENDING ? op % m : ord == DESCENDING ? m - 1 - op % m : rnd(&seed) % m;
        uint64_t r = rnd(&seed);
        if (r % 4 == 0 && ord == RANDOM) {
            uint64_t old = 0;
            int rc = as_index_erase(ix, u[i], &old);
            assert_int_equal(rc, in[i] ? AS_IX_OK : AS_IX_NOTFOUND);
            if (in[i])
                assert_true(old == pay[i]);
            in[i] = 0;
        } else {
            uint64_t old = 0;
            int existed = -1;
            assert_int_equal(as_index_upsert(ix, u[i], r, &old, &existed), AS_IX_OK);
            assert_int_equal(existed, in[i]);
            if (in[i])
                assert_true(old == pay[i]);
            in[i] = 1;
            pay[i] = r;
        }
        if ((op + 1) % (nops / 4 + 1) == 0) {
            check_valid(ix);
            check_all(ix, u, m, in, pay, &seed);
        }
    }
    check_valid(ix);
    check_all(ix, u, m, in, pay, &seed);
    /* erase everything: the index ends empty and usable */
    for (size_t i = 0; i < m; i++)
        if (in[i])
            assert_int_equal(as_index_erase(ix, u[i], NULL), AS_IX_OK);
    assert_int_equal(as_index_size(ix), 0);
    check_valid(ix);
    assert_int_equal(as_index_upsert(ix, 42, 7, NULL, NULL), AS_IX_OK);
    uint64_t v;
    assert_int_equal(as_index_find(ix, 42, &v), AS_IX_OK);
    assert_true(v == 7);
    as_index_destroy(ix);
    free(u);
    free(in);
    free(pay);
}

static const ix_case cases[] = {
    {AS_INDEX_ALEX, 0}, {AS_INDEX_BTREE, 0}, {AS_INDEX_BTREE, 128}, {AS_INDEX_BTREE, 4096}, {AS_INDEX_SORTED, 0},
};
#define NCASES (sizeof(cases) / sizeof(cases[0]))

static void test_random_ops(void **state)
{
    (void)state;
    size_t m = sanitized() ? 6000 : 30000;
    for (size_t c = 0; c < NCASES; c++) {
        size_t ops = cases[c].kind == AS_INDEX_SORTED ? m / 2 : m * 3;
        run_case(&cases[c], m, ops, RANDOM, 0, 11 + c);
        run_case(&cases[c], m, ops, RANDOM, 1, 23 + c);
    }
}

static void test_ordered_inserts(void **state)
{
    (void)state;
    size_t m = sanitized() ? 4000 : 20000;
    for (size_t c = 0; c < NCASES; c++) {
        run_case(&cases[c], m, m, ASCENDING, 0, 5 + c);
        run_case(&cases[c], m, m, DESCENDING, 0, 7 + c);
    }
}

static void test_btree_shape(void **state)
{
    (void)state;
    ix_case c = {AS_INDEX_BTREE, 128};
    as_index *ix = make_index(&c);
    for (int64_t k = 0; k < 5000; k++) /* appends fill leaves completely */
        assert_int_equal(as_index_upsert(ix, k, (uint64_t)k, NULL, NULL), AS_IX_OK);
    as_index_stats st;
    as_index_stats_get(ix, &st);
    assert_true(st.max_depth >= 3);
    /* 6-key leaves left full by appends: ~21 bytes/key plus inner nodes; half-full ones would be ~43 */
    assert_true(st.index_bytes < 5000 * 32);
    check_valid(ix);
    as_index_destroy(ix);
}

static void test_kinds_and_options(void **state)
{
    (void)state;
    int k = -1;
    assert_int_equal(as_index_kind_parse("alex", &k), AS_OK);
    assert_int_equal(k, AS_INDEX_ALEX);
    assert_int_equal(as_index_kind_parse("btree", &k), AS_OK);
    assert_int_equal(k, AS_INDEX_BTREE);
    assert_int_equal(as_index_kind_parse("sorted", &k), AS_OK);
    assert_int_equal(k, AS_INDEX_SORTED);
    assert_int_equal(as_index_kind_parse("hash", &k), AS_EINVAL);
    assert_string_equal(as_index_kind_name(AS_INDEX_SORTED), "sorted");
    assert_null(as_index_kind_name(7));
    as_options o;
    as_options_default(&o);
    as_index *ix = NULL;
    char err[256] = "";
    o.index = 7;
    assert_int_equal(as_index_create(&ix, &o, err, sizeof(err)), AS_EINVAL);
    assert_null(ix);
    assert_non_null(strstr(err, "not one of"));
    o.index = AS_INDEX_BTREE;
    o.btree_node_bytes = 100; /* not a multiple of 64 */
    assert_int_equal(as_index_create(&ix, &o, err, sizeof(err)), AS_EINVAL);
    assert_null(ix);
    assert_true(as_index_ops_for(AS_INDEX_SORTED)->read_only);
    assert_false(as_index_ops_for(AS_INDEX_BTREE)->read_only);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kinds_and_options),
        cmocka_unit_test(test_btree_shape),
        cmocka_unit_test(test_random_ops),
        cmocka_unit_test(test_ordered_inserts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
