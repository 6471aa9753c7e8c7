/* test_alex_index.c - differential tests of the ALEX index against a presence-bitmap oracle over a
 * fixed key universe, under random, ascending, descending, clustered, duplicate-heavy and
 * adversarial insert orders with interleaved erases, upserts, finds and lower_bound scans. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alex_index.h"
#include "testenv.h"

static double rnd01(uint64_t *s)
{
    return (double)(rnd(s) >> 11) * 0x1.0p-53;
}

/* ---------- oracle: sorted universe U[0..m) + presence bits + payloads ---------- */
typedef struct oracle {
    int64_t *u;
    size_t m;
    uint64_t *bits;
    uint64_t *pay;
    size_t count;
} oracle;

static void or_init(oracle *o, int64_t *u, size_t m)
{
    o->u = u;
    o->m = m;
    o->bits = calloc((m + 63) / 64, 8);
    o->pay = calloc(m, 8);
    o->count = 0;
    assert_non_null(o->bits);
    assert_non_null(o->pay);
}

static void or_free(oracle *o)
{
    free(o->bits);
    free(o->pay);
}

static int or_has(const oracle *o, size_t i)
{
    return (int)((o->bits[i >> 6] >> (i & 63)) & 1);
}

static void or_set(oracle *o, size_t i, int on)
{
    if (on && !or_has(o, i))
        o->count++;
    if (!on && or_has(o, i))
        o->count--;
    if (on)
        o->bits[i >> 6] |= 1ull << (i & 63);
    else
        o->bits[i >> 6] &= ~(1ull << (i & 63));
}

/* first present index >= i, or m */
static size_t or_next(const oracle *o, size_t i)
{
    while (i < o->m) {
        uint64_t w = o->bits[i >> 6] >> (i & 63);
        if (w)
            return i + (size_t)__builtin_ctzll(w);
        i = (i | 63) + 1;
    }
    return o->m;
}

/* first universe index with u >= key */
static size_t or_lb(const oracle *o, int64_t key)
{
    size_t lo = 0, hi = o->m;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (o->u[mid] < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* sort + dedupe in place; returns the new length */
static size_t sort_unique(int64_t *u, size_t m)
{
    qsort(u, m, sizeof(*u), cmp_i64);
    size_t w = 0;
    for (size_t i = 0; i < m; i++)
        if (w == 0 || u[w - 1] != u[i])
            u[w++] = u[i];
    return w;
}

static void check_valid(const alex_index *ix, const oracle *o, const char *where)
{
    char err[256];
    int rc = alex_validate(ix, err, sizeof(err));
    if (rc != ALEX_OK)
        fail_msg("%s: alex_validate: %s", where, err);
    assert_int_equal(alex_size(ix), o->count);
}

/* full ordered comparison by iteration */
static void check_scan_all(const alex_index *ix, const oracle *o)
{
    alex_iter it;
    alex_first(ix, &it);
    size_t i = or_next(o, 0);
    while (i < o->m) {
        assert_true(alex_iter_valid(&it));
        assert_true(alex_iter_key(&it) == o->u[i]);
        assert_true(alex_iter_payload(&it) == o->pay[i]);
        alex_iter_next(&it);
        i = or_next(o, i + 1);
    }
    assert_false(alex_iter_valid(&it));
}

enum order { ORD_RANDOM, ORD_ASC, ORD_DESC };

typedef struct pattern {
    const char *name;
    int64_t *u;
    size_t m;
    enum order order;
    double bulk_frac; /* fraction of the universe bulk-loaded first (random subset) */
    size_t ops;
    double p_insert, p_erase; /* the rest: finds, upserts, scans */
} pattern;

/* One random op against both; returns nothing, asserts on any mismatch. */
static void run_pattern(const pattern *pt, const alex_params *params)
{
    uint64_t seed = 0x5eed0000u + (uint64_t)pt->m;
    oracle o;
    or_init(&o, pt->u, pt->m);
    alex_index *ix;
    assert_int_equal(alex_create(&ix, params), ALEX_OK);
    if (pt->bulk_frac > 0) {
        int64_t *bk = malloc(pt->m * 8);
        uint64_t *bp = malloc(pt->m * 8);
        size_t n = 0;
        for (size_t i = 0; i < pt->m; i++) {
            int take = pt->order == ORD_ASC   ? i < (size_t)(pt->bulk_frac * (double)pt->m)
                       : pt->order == ORD_DESC ? i >= pt->m - (size_t)(pt->bulk_frac * (double)pt->m)
                                               : rnd01(&seed) < pt->bulk_frac;
            if (take) {
                bk[n] = pt->u[i];
                bp[n] = rnd(&seed);
                o.pay[i] = bp[n];
                or_set(&o, i, 1);
                n++;
            }
        }
        assert_int_equal(alex_bulk_load(ix, bk, bp, n), ALEX_OK);
        free(bk);
        free(bp);
        check_valid(ix, &o, pt->name);
    }
    /* insert sequence: a permutation (random) or the universe in order */
    size_t *perm = malloc(pt->m * sizeof(size_t));
    for (size_t i = 0; i < pt->m; i++)
        perm[i] = pt->order == ORD_DESC ? pt->m - 1 - i : i;
    if (pt->order == ORD_RANDOM)
        for (size_t i = pt->m; i > 1; i--) {
            size_t j = rnd(&seed) % i, t = perm[i - 1];
            perm[i - 1] = perm[j];
            perm[j] = t;
        }
    size_t next_ins = 0, check_every = pt->ops / 8 + 1;
    for (size_t op = 0; op < pt->ops; op++) {
        double r = rnd01(&seed);
        if (r < pt->p_insert) {
            size_t i = perm[next_ins++ % pt->m];
            uint64_t v = rnd(&seed);
            int rc = alex_insert(ix, pt->u[i], v);
            if (or_has(&o, i)) {
                assert_int_equal(rc, ALEX_EXISTS);
            } else {
                assert_int_equal(rc, ALEX_OK);
                or_set(&o, i, 1);
                o.pay[i] = v;
            }
        } else if (r < pt->p_insert + pt->p_erase) {
            /* erase near the insert frontier half the time (stresses ordered patterns) */
            size_t i = (rnd(&seed) & 1) && next_ins > 0 ? perm[(next_ins - 1 - rnd(&seed) % 64 % next_ins) % pt->m]
                                                        : rnd(&seed) % pt->m;
            uint64_t old = 0;
            int rc = alex_erase(ix, pt->u[i], &old);
            if (or_has(&o, i)) {
                assert_int_equal(rc, ALEX_OK);
                assert_true(old == o.pay[i]);
                or_set(&o, i, 0);
            } else {
                assert_int_equal(rc, ALEX_NOTFOUND);
            }
        } else if (r < pt->p_insert + pt->p_erase + 0.08) {
            size_t i = rnd(&seed) % pt->m;
            uint64_t v = rnd(&seed), old = 0;
            int existed = -1;
            assert_int_equal(alex_upsert(ix, pt->u[i], v, &old, &existed), ALEX_OK);
            assert_int_equal(existed, or_has(&o, i));
            if (existed)
                assert_true(old == o.pay[i]);
            or_set(&o, i, 1);
            o.pay[i] = v;
        } else if (r < pt->p_insert + pt->p_erase + 0.12) {
            /* lower_bound scan of up to 16 keys from a random probe (often between keys) */
            int64_t probe = (int64_t)rnd(&seed);
            if (rnd(&seed) & 1) {
                int64_t base = pt->u[rnd(&seed) % pt->m];
                int d = (int)(rnd(&seed) % 3) - 1;
                probe = (d < 0 && base == INT64_MIN) || (d > 0 && base == INT64_MAX) ? base : base + d;
            }
            alex_iter it;
            alex_lower_bound(ix, probe, &it);
            size_t i = or_next(&o, or_lb(&o, probe));
            for (int k = 0; k < 16 && i < o.m; k++) {
                assert_true(alex_iter_valid(&it));
                if (alex_iter_key(&it) != o.u[i])
                    fail_msg("%s: scan from %lld: got %lld want %lld", pt->name, (long long)probe,
                             (long long)alex_iter_key(&it), (long long)o.u[i]);
                assert_true(alex_iter_payload(&it) == o.pay[i]);
                alex_iter_next(&it);
                i = or_next(&o, i + 1);
            }
            if (i >= o.m)
                assert_false(alex_iter_valid(&it));
        } else {
            /* find: present or absent universe keys, or neighbours of them */
            size_t i = rnd(&seed) % pt->m;
            uint64_t got = 0;
            int rc = alex_find(ix, pt->u[i], &got);
            if (or_has(&o, i)) {
                if (rc != ALEX_OK)
                    fail_msg("%s op %zu: find(%lld) missed a present key", pt->name, op, (long long)pt->u[i]);
                assert_true(got == o.pay[i]);
            } else {
                assert_int_equal(rc, ALEX_NOTFOUND);
            }
            if (pt->u[i] != INT64_MAX && (i + 1 == pt->m || pt->u[i + 1] != pt->u[i] + 1))
                assert_int_equal(alex_find(ix, pt->u[i] + 1, NULL), ALEX_NOTFOUND);
        }
        if ((op + 1) % check_every == 0)
            check_valid(ix, &o, pt->name);
    }
    check_valid(ix, &o, pt->name);
    check_scan_all(ix, &o);
    /* every present key is found, then erase everything in random order and re-insert a third */
    for (size_t i = 0; i < o.m; i++) {
        uint64_t got;
        int rc = alex_find(ix, o.u[i], &got);
        assert_int_equal(rc, or_has(&o, i) ? ALEX_OK : ALEX_NOTFOUND);
    }
    for (size_t i = pt->m; i > 1; i--) {
        size_t j = rnd(&seed) % i, t = perm[i - 1];
        perm[i - 1] = perm[j];
        perm[j] = t;
    }
    for (size_t k = 0; k < pt->m; k++) {
        size_t i = perm[k];
        assert_int_equal(alex_erase(ix, o.u[i], NULL), or_has(&o, i) ? ALEX_OK : ALEX_NOTFOUND);
        or_set(&o, i, 0);
    }
    check_valid(ix, &o, pt->name);
    alex_iter it;
    alex_first(ix, &it);
    assert_false(alex_iter_valid(&it));
    for (size_t k = 0; k < pt->m / 3; k++) {
        size_t i = perm[k];
        assert_int_equal(alex_insert(ix, o.u[i], i), ALEX_OK);
        or_set(&o, i, 1);
        o.pay[i] = i;
    }
    check_valid(ix, &o, pt->name);
    check_scan_all(ix, &o);
    alex_stats st;
    alex_get_stats(ix, &st);
    assert_true(st.max_depth <= 20);
    print_message("  %-12s keys=%llu depth=%llu avg=%.2f B/key=%.1f data=%llu model=%llu exp=%llu side=%llu "
                  "down=%llu contr=%llu rootexp=%llu\n",
                  pt->name, (unsigned long long)st.num_keys, (unsigned long long)st.max_depth, st.avg_depth,
                  st.bytes_per_key, (unsigned long long)st.num_data_nodes, (unsigned long long)st.num_model_nodes,
                  (unsigned long long)st.num_expansions, (unsigned long long)st.num_splits_sideways,
                  (unsigned long long)st.num_splits_down, (unsigned long long)st.num_contractions,
                  (unsigned long long)st.num_root_expansions);
    alex_destroy(ix);
    free(perm);
    or_free(&o);
}

static size_t scale(size_t n)
{
    return sanitized() ? n / 10 : n;
}

static int64_t *gen_uniform(size_t m, uint64_t seed, size_t *out)
{
    int64_t *u = malloc(m * 8);
    for (size_t i = 0; i < m; i++)
        u[i] = (int64_t)rnd(&seed);
    *out = sort_unique(u, m);
    return u;
}

static void test_random(void **state)
{
    (void)state;
    size_t m;
    int64_t *u = gen_uniform(scale(600000), 1, &m);
    pattern pt = { "random", u, m, ORD_RANDOM, 0.2, scale(1000000), 0.5, 0.15 };
    run_pattern(&pt, NULL);
    free(u);
}

static void test_random_no_bulk(void **state)
{
    (void)state;
    size_t m;
    int64_t *u = gen_uniform(scale(400000), 2, &m);
    pattern pt = { "random-nobulk", u, m, ORD_RANDOM, 0.0, scale(1000000), 0.55, 0.1 };
    run_pattern(&pt, NULL);
    free(u);
}

static void test_ascending(void **state)
{
    (void)state;
    size_t m = scale(700000);
    int64_t *u = malloc(m * 8);
    for (size_t i = 0; i < m; i++)
        u[i] = -1000000000ll + (int64_t)i * 3;
    pattern pt = { "ascending", u, m, ORD_ASC, 0.05, scale(1000000), 0.65, 0.1 };
    run_pattern(&pt, NULL);
    pattern pt2 = { "asc-nobulk", u, m, ORD_ASC, 0.0, scale(1000000), 0.65, 0.1 };
    run_pattern(&pt2, NULL);
    free(u);
}

static void test_descending(void **state)
{
    (void)state;
    size_t m = scale(700000);
    int64_t *u = malloc(m * 8);
    for (size_t i = 0; i < m; i++)
        u[i] = 5000000000000ll + (int64_t)i * 7;
    pattern pt = { "descending", u, m, ORD_DESC, 0.05, scale(1000000), 0.65, 0.1 };
    run_pattern(&pt, NULL);
    pattern pt2 = { "desc-nobulk", u, m, ORD_DESC, 0.0, scale(1000000), 0.65, 0.1 };
    run_pattern(&pt2, NULL);
    free(u);
}

/* A run of prepends is as cheap as a run of appends: the leading gaps hold INT64_MIN and are not
 * rewritten per prepend, and an edge growth leaves room proportional to the leaf on that side (it
 * used to leave ~2 sqrt(n) slots: ~9x the expansions of an ascending load at 1M keys). Then the
 * front is erased key by key, which turns the gaps after each erased first key into leading gaps. */
static void test_descending_amortized(void **state)
{
    (void)state;
    size_t m = scale(200000);
    uint64_t exp[2];
    for (int desc = 0; desc < 2; desc++) {
        alex_index *ix;
        assert_int_equal(alex_create(&ix, NULL), ALEX_OK);
        for (size_t i = 0; i < m; i++) {
            size_t j = desc ? m - 1 - i : i;
            assert_int_equal(alex_insert(ix, (int64_t)j * 13 - 7, (uint64_t)j), ALEX_OK);
        }
        char err[256];
        assert_int_equal(alex_validate(ix, err, sizeof err), ALEX_OK);
        alex_stats st;
        alex_get_stats(ix, &st);
        exp[desc] = st.num_expansions + st.num_splits_sideways + st.num_splits_down;
        assert_int_equal(alex_find(ix, INT64_MIN, NULL), ALEX_NOTFOUND);
        for (size_t i = 0; i < m / 2; i++) {
            uint64_t p = 0;
            assert_int_equal(alex_erase(ix, (int64_t)i * 13 - 7, &p), ALEX_OK);
            assert_int_equal(p, i);
            if (i % 4999 == 0)
                assert_int_equal(alex_validate(ix, err, sizeof err), ALEX_OK);
        }
        assert_int_equal(alex_insert(ix, INT64_MIN, 1), ALEX_OK);
        assert_int_equal(alex_validate(ix, err, sizeof err), ALEX_OK);
        assert_int_equal(alex_find(ix, INT64_MIN, NULL), ALEX_OK);
        assert_int_equal(alex_find(ix, (int64_t)(m / 2) * 13 - 7, NULL), ALEX_OK);
        assert_int_equal(alex_find(ix, (int64_t)(m / 2) * 13 - 8, NULL), ALEX_NOTFOUND);
        alex_destroy(ix);
    }
    assert_true(exp[1] <= 2 * exp[0] + 16);
}

static void test_lognormal(void **state)
{
    (void)state;
    size_t m = scale(600000);
    uint64_t seed = 7;
    int64_t *u = malloc(m * 8);
    double x = -4e18;
    for (size_t i = 0; i < m; i++) {
        double g1 = rnd01(&seed) + 1e-12, g2 = rnd01(&seed);
        double z = sqrt(-2 * log(g1)) * cos(6.283185307179586 * g2);
        x += 1.0 + exp(2.0 * z) * 1000.0; /* lognormal gaps, heavy tail */
        u[i] = (int64_t)x;
    }
    m = sort_unique(u, m);
    pattern pt = { "lognormal", u, m, ORD_RANDOM, 0.3, scale(1000000), 0.5, 0.15 };
    run_pattern(&pt, NULL);
    free(u);
}

static void test_clustered(void **state)
{
    (void)state;
    size_t m = scale(600000);
    uint64_t seed = 9;
    int64_t *u = malloc(m * 8);
    for (size_t i = 0; i < m; i++) {
        int64_t center = (int64_t)(rnd(&seed) % 16) * 500000000000000000ll - 4000000000000000000ll;
        u[i] = center + (int64_t)(rnd(&seed) % 2000000);
    }
    m = sort_unique(u, m);
    pattern pt = { "clustered", u, m, ORD_RANDOM, 0.1, scale(1000000), 0.5, 0.15 };
    run_pattern(&pt, NULL);
    free(u);
}

static void test_duplicates(void **state)
{
    (void)state;
    size_t m = 5000;
    int64_t *u = malloc(m * 8);
    for (size_t i = 0; i < m; i++)
        u[i] = (int64_t)i * 1000 - 2500000;
    pattern pt = { "dups", u, m, ORD_RANDOM, 0.0, scale(1000000), 0.45, 0.2 };
    run_pattern(&pt, NULL);
    free(u);
}

static void test_adversarial_universe(void **state)
{
    (void)state;
    size_t m = 0, cap = scale(300000) + 400;
    uint64_t seed = 11;
    int64_t *u = malloc(cap * 8);
    int64_t special[] = { INT64_MIN, INT64_MIN + 1, INT64_MAX, INT64_MAX - 1, 0, -1, 1,
                          (1ll << 53) - 1, 1ll << 53, (1ll << 53) + 1, -(1ll << 53) - 1, -(1ll << 53), -(1ll << 53) + 1 };
    for (size_t i = 0; i < sizeof(special) / 8; i++)
        u[m++] = special[i];
    for (int i = 0; i < 63; i++) {
        u[m++] = 1ll << i;
        u[m++] = -(1ll << i);
    }
    while (m < cap) {
        uint64_t r = rnd(&seed) % 4;
        if (r == 0)
            u[m++] = (int64_t)(rnd(&seed) % 1000000);                  /* dense low cluster */
        else if (r == 1)
            u[m++] = 1000000000000000000ll + (int64_t)(rnd(&seed) % 1000000); /* cluster near 1e18 */
        else if (r == 2)
            u[m++] = INT64_MAX - (int64_t)(rnd(&seed) % 100000);        /* top edge */
        else
            u[m++] = INT64_MIN + (int64_t)(rnd(&seed) % 100000);        /* bottom edge */
    }
    m = sort_unique(u, m);
    pattern pt = { "adversarial", u, m, ORD_RANDOM, 0.1, scale(1000000), 0.5, 0.15 };
    run_pattern(&pt, NULL);
    pattern pt2 = { "adv-asc", u, m, ORD_ASC, 0.0, scale(600000), 0.6, 0.1 };
    run_pattern(&pt2, NULL);
    free(u);
}

static void test_small_nodes(void **state)
{
    (void)state;
    /* a tiny node cap and fanout force many splits, parent expansions and split-downs */
    alex_params p;
    alex_params_default(&p);
    p.max_data_node_slots = 256;
    p.max_fanout_log2 = 4;
    size_t m;
    int64_t *u = gen_uniform(scale(200000), 3, &m);
    pattern pt = { "small-rand", u, m, ORD_RANDOM, 0.1, scale(500000), 0.55, 0.15 };
    run_pattern(&pt, &p);
    pattern pt2 = { "small-asc", u, m, ORD_ASC, 0.0, scale(400000), 0.65, 0.1 };
    run_pattern(&pt2, &p);
    pattern pt3 = { "small-desc", u, m, ORD_DESC, 0.0, scale(400000), 0.65, 0.1 };
    run_pattern(&pt3, &p);
    free(u);
}

/* Default parameters bound a leaf, so one structural change (an expand or split rebuilds the whole
 * leaf) stays short: after 100,000 random inserts no leaf holds more than 0.8 x 16K keys. The old
 * default (64K slots) grew 100K uniform keys into five leaves of 12,000-25,000 keys, and each expand
 * stalled an insert 0.4-0.9 ms. alex_validate checks cap <= max_data_node_slots on every leaf. */
static void test_default_leaf_bound(void **state)
{
    (void)state;
    alex_params p;
    alex_params_default(&p);
    assert_true(p.max_data_node_slots <= ((size_t)1 << 14));
    alex_index *ix;
    assert_int_equal(alex_create(&ix, NULL), ALEX_OK);
    uint64_t s = 977;
    for (size_t i = 0; i < 100000;) {
        int rc = alex_insert(ix, (int64_t)(rnd(&s) >> 1), i);
        assert_true(rc == ALEX_OK || rc == ALEX_EXISTS);
        i += rc == ALEX_OK;
    }
    char err[256];
    assert_int_equal(alex_validate(ix, err, sizeof err), ALEX_OK);
    size_t run = 0, most = 0;
    const void *leaf = NULL;
    alex_iter it;
    for (alex_first(ix, &it); alex_iter_valid(&it); alex_iter_next(&it)) {
        run = it.leaf == leaf ? run + 1 : 1;
        leaf = it.leaf;
        most = run > most ? run : most;
    }
    assert_true(most > 0);
    assert_true(most <= (size_t)(0.8 * (double)((size_t)1 << 14)) + 1);
    alex_destroy(ix);
}

static void test_api_edges(void **state)
{
    (void)state;
    alex_index *ix;
    alex_params p;
    alex_params_default(&p);
    p.max_data_node_slots = 8;
    assert_int_equal(alex_create(&ix, &p), ALEX_EINVAL);
    assert_null(ix);
    assert_int_equal(alex_create(&ix, NULL), ALEX_OK);
    int64_t bad[] = { 1, 3, 3 };
    uint64_t pay[] = { 1, 2, 3 };
    assert_int_equal(alex_bulk_load(ix, bad, pay, 3), ALEX_EINVAL);
    int64_t uns[] = { 5, 4 };
    assert_int_equal(alex_bulk_load(ix, uns, pay, 2), ALEX_EINVAL);
    assert_int_equal(alex_find(ix, 0, NULL), ALEX_NOTFOUND);
    assert_int_equal(alex_erase(ix, 0, NULL), ALEX_NOTFOUND);
    assert_int_equal(alex_insert(ix, INT64_MAX, 7), ALEX_OK);
    assert_int_equal(alex_insert(ix, INT64_MAX, 8), ALEX_EXISTS);
    uint64_t v = 0;
    assert_int_equal(alex_find(ix, INT64_MAX, &v), ALEX_OK);
    assert_true(v == 7);
    assert_int_equal(alex_find(ix, INT64_MAX - 1, &v), ALEX_NOTFOUND);
    int64_t ok[] = { 1, 2 };
    assert_int_equal(alex_bulk_load(ix, ok, pay, 2), ALEX_EINVAL); /* not empty */
    assert_int_equal(alex_insert(ix, INT64_MIN, 9), ALEX_OK);
    alex_iter it;
    alex_lower_bound(ix, INT64_MIN, &it);
    assert_true(alex_iter_valid(&it) && alex_iter_key(&it) == INT64_MIN);
    alex_lower_bound(ix, INT64_MIN + 1, &it);
    assert_true(alex_iter_valid(&it) && alex_iter_key(&it) == INT64_MAX);
    alex_iter_next(&it);
    assert_false(alex_iter_valid(&it));
    assert_int_equal(alex_erase(ix, INT64_MAX, &v), ALEX_OK);
    assert_true(v == 7);
    alex_lower_bound(ix, INT64_MIN + 1, &it);
    assert_false(alex_iter_valid(&it));
    assert_int_equal(alex_validate(ix, NULL, 0), ALEX_OK);
    alex_destroy(ix);
    alex_destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_leaf_bound),
        cmocka_unit_test(test_api_edges),
        cmocka_unit_test(test_random),
        cmocka_unit_test(test_random_no_bulk),
        cmocka_unit_test(test_ascending),
        cmocka_unit_test(test_descending),
        cmocka_unit_test(test_descending_amortized),
        cmocka_unit_test(test_lognormal),
        cmocka_unit_test(test_clustered),
        cmocka_unit_test(test_duplicates),
        cmocka_unit_test(test_adversarial_universe),
        cmocka_unit_test(test_small_nodes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
