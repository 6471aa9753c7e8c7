/* test_ycsb.c - the YCSB core workloads keep their definitions (op mix, scan lengths, access), and the
 * hard key shapes are what their names say. */
#include "workload.h"
#include "wl_internal.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

typedef struct ycsb_def {
    const char *name;
    double get, update, insert, scan, rmw;
    enum kv_access access;
} ycsb_def;

/* Written out from YCSB's workloads/workloada ... workloadf, independently of workloads.c. */
static const ycsb_def defs[] = {
    {"ycsb-a", 0.5, 0.5, 0, 0, 0, KV_ACCESS_ZIPF},    {"ycsb-b", 0.95, 0.05, 0, 0, 0, KV_ACCESS_ZIPF},
    {"ycsb-c", 1, 0, 0, 0, 0, KV_ACCESS_ZIPF},        {"ycsb-d", 0.95, 0, 0.05, 0, 0, KV_ACCESS_LATEST},
    {"ycsb-e", 0, 0, 0.05, 0.95, 0, KV_ACCESS_ZIPF}, {"ycsb-f", 0.5, 0, 0, 0, 0.5, KV_ACCESS_ZIPF},
};

static kv_dataset *loaded(uint64_t n, uint64_t ins)
{
    kv_dataset *ds;
    assert_int_equal(kv_dataset_create(&ds, KV_KEYS_UNIFORM, n, ins, 7, 100), 0);
    kv_dataset_mark_loaded(ds);
    return ds;
}

/* Over 100K ops of each workload (its own access distribution), every op type's share is within 1%
 * (absolute) of YCSB's definition; scans read 1-100 records, uniformly; RMW and update bump versions. */
static void test_ycsb_mixes(void **st)
{
    (void)st;
    const uint64_t ops = 100000, n = 20000;
    for (size_t d = 0; d < sizeof(defs) / sizeof(defs[0]); d++) {
        const kv_workload *w = kv_workload_find(defs[d].name);
        assert_non_null(w);
        assert_true(w->has_access);
        assert_int_equal(w->access, defs[d].access);
        kv_dataset *ds = loaded(n, ops);
        kv_opstream *s;
        assert_int_equal(kv_opstream_create(&s, ds, w, w->access, 0.99, 0, 1, 11), 0);
        uint64_t cnt[KV_OP__COUNT] = {0}, lens[101] = {0};
        for (uint64_t i = 0; i < ops; i++) {
            kv_op op;
            assert_int_equal(kv_opstream_next(s, &op), 0);
            cnt[op.type]++;
            if (op.type == KV_OP_SCAN) {
                assert_true(op.scan_len >= 1 && op.scan_len <= 100);
                lens[op.scan_len]++;
            }
            if (op.type == KV_OP_RMW || op.type == KV_OP_UPDATE)
                assert_true(op.version >= 2 && op.version == ds->versions[op.index]);
        }
        const double want[KV_OP__COUNT] = {[KV_OP_GET] = defs[d].get, [KV_OP_UPDATE] = defs[d].update,
                                           [KV_OP_INSERT] = defs[d].insert, [KV_OP_SCAN] = defs[d].scan,
                                           [KV_OP_RMW] = defs[d].rmw};
        for (int t = 0; t < KV_OP__COUNT; t++) {
            double got = (double)cnt[t] / (double)ops;
            if (fabs(got - want[t]) > 0.01)
                fail_msg("%s: %s share %.4f, defined %.4f", defs[d].name, kv_optype_name((enum kv_optype)t), got,
                         want[t]);
        }
        if (cnt[KV_OP_SCAN]) {
            /* chi-squared over the 100 lengths, 99 degrees of freedom: 99 + 5 sd ~ 169 */
            double e = (double)cnt[KV_OP_SCAN] / 100, chi = 0;
            for (int l = 1; l <= 100; l++)
                chi += ((double)lens[l] - e) * ((double)lens[l] - e) / e;
            if (chi > 170)
                fail_msg("%s: scan lengths are not uniform in 1-100 (chi2 %.1f)", defs[d].name, chi);
        }
        kv_opstream_free(s);
        kv_dataset_free(ds);
    }
}

static void test_rmw_in_mix(void **st)
{
    (void)st;
    kv_workload w = *kv_workload_find("read");
    char err[256];
    assert_int_equal(kv_workload_set_mix(&w, "get=0.5,rmw=0.5", err, sizeof(err)), 0);
    assert_true(w.mix[KV_OP_RMW] == 0.5 && w.mix[KV_OP_GET] == 0.5);
    assert_int_equal(kv_workload_set_mix(&w, "get=0.5,rmwx=0.5", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "rmw"));
    assert_null(kv_workload_find("ycsb-g"));
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Each hard shape is distinct, deterministic, in range, and differs from uniform the way its name
 * says: lognormal/normal have most keys in a small part of the range, fb-like and osm-like have
 * large empty gaps. */
static void test_shapes(void **st)
{
    (void)st;
    const uint64_t n = 100000;
    const enum kv_keyset shapes[] = {KV_KEYS_LOGNORMAL, KV_KEYS_NORMAL, KV_KEYS_FB_LIKE, KV_KEYS_OSM_LIKE};
    const char *names[] = {"lognormal", "normal", "fb-like", "osm-like"};
    for (size_t k = 0; k < 4; k++) {
        enum kv_keyset parsed;
        assert_int_equal(kv_keyset_parse(names[k], &parsed), 0);
        assert_int_equal(parsed, shapes[k]);
        assert_string_equal(kv_keyset_name(shapes[k]), names[k]);
        kv_dataset *a, *b;
        assert_int_equal(kv_dataset_create(&a, shapes[k], n, 0, 5, 100), 0);
        assert_int_equal(kv_dataset_create(&b, shapes[k], n, 0, 5, 100), 0);
        assert_memory_equal(a->keys, b->keys, n * sizeof(int64_t));
        int64_t *s = malloc(n * sizeof(*s));
        assert_non_null(s);
        memcpy(s, a->keys, n * sizeof(*s));
        qsort(s, n, sizeof(*s), cmp_i64);
        assert_true(s[0] >= 1 && s[n - 1] <= (int64_t)(1ULL << 62));
        for (uint64_t i = 1; i < n; i++)
            assert_true(s[i - 1] < s[i]);
        /* the middle 80% of the keys span a fraction of the range: far below 0.8 for skewed shapes */
        double span = (double)(s[n - 1] - s[0]);
        double mid = (double)(s[n * 9 / 10] - s[n / 10]) / span;
        /* share of the range inside the largest 1% of the gaps between neighbours (uniform: ~5.6%) */
        int64_t *g = malloc((n - 1) * sizeof(*g));
        assert_non_null(g);
        for (uint64_t i = 1; i < n; i++)
            g[i - 1] = s[i] - s[i - 1];
        qsort(g, n - 1, sizeof(*g), cmp_i64);
        double top = 0;
        for (uint64_t i = n - 1 - (n - 1) / 100; i < n - 1; i++)
            top += (double)g[i];
        top /= span;
        free(g);
        print_message("%s: middle 80%% of keys cover %.5f of the range; top 1%% gaps %.3f\n", names[k], mid, top);
        if (shapes[k] == KV_KEYS_LOGNORMAL || shapes[k] == KV_KEYS_NORMAL)
            assert_true(mid < 0.5); /* skewed density */
        else
            assert_true(top > 0.5); /* large empty gaps */
        free(s);
        kv_dataset_free(a);
        kv_dataset_free(b);
    }
}

/* Value sizes: parsing, the range, the shape, and verification with sizes that change per version. */
static void test_value_sizes(void **st)
{
    (void)st;
    kv_valsize vs;
    char err[512];
    assert_int_equal(kv_valsize_parse("100", 1 << 26, &vs, err, sizeof(err)), 0);
    assert_int_equal(vs.kind, KV_VSIZE_FIXED);
    assert_int_equal(kv_value_len(&vs, 1, 5, 9), 100);
    const char *bad[] = {"15", "uniform:8-100", "zipf:0-10", "uniform:100-50", "uniform:16", "pareto:16-100",
                         "uniform:16-100x", "", "zipf:16-99999999999"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = 0;
        assert_int_equal(kv_valsize_parse(bad[i], 1 << 26, &vs, err, sizeof(err)), -1);
        assert_non_null(strstr(err, "--value-size"));
    }
    /* uniform: every size of a small range appears about equally often (chi-squared, 16 sizes) */
    assert_int_equal(kv_valsize_parse("uniform:16-31", 1 << 26, &vs, err, sizeof(err)), 0);
    uint64_t cnt[16] = {0};
    const int N = 160000;
    for (int i = 0; i < N; i++) {
        size_t l = kv_value_len(&vs, 3, i / 4, (uint32_t)(i % 4 + 1));
        assert_true(l >= 16 && l <= 31);
        cnt[l - 16]++;
    }
    double chi = 0, e = N / 16.0;
    for (int k = 0; k < 16; k++)
        chi += ((double)cnt[k] - e) * ((double)cnt[k] - e) / e;
    assert_true(chi < 45); /* 15 degrees of freedom: p < 1e-4 beyond ~45 */
    /* zipf: the smallest size is the most frequent, sizes fall with rank; all within range */
    assert_int_equal(kv_valsize_parse("zipf:16-4096", 1 << 26, &vs, err, sizeof(err)), 0);
    uint64_t small = 0, mid = 0;
    for (int i = 0; i < N; i++) {
        size_t l = kv_value_len(&vs, 3, i, 1);
        assert_true(l >= 16 && l <= 4096);
        small += l == 16;
        mid += l == 116;
    }
    assert_true(small > 10 * mid && mid > 0);
    /* deterministic, and verification: an older version of another length is stale, not wrong */
    assert_int_equal(kv_value_len(&vs, 3, 77, 5), kv_value_len(&vs, 3, 77, 5));
    assert_int_equal(kv_valsize_parse("uniform:16-4096", 1 << 26, &vs, err, sizeof(err)), 0);
    unsigned char buf[4096];
    uint32_t v1 = 1, v2 = 2;
    while (kv_value_len(&vs, 3, 42, v1) == kv_value_len(&vs, 3, 42, v2))
        v1++, v2++;
    size_t l1 = kv_value_len(&vs, 3, 42, v1), l2 = kv_value_len(&vs, 3, 42, v2);
    kv_value_make(3, 42, v1, buf, l1);
    assert_int_equal(kv_value_check_vs(3, 42, v1, &vs, buf, l1), KV_VALUE_OK);
    assert_int_equal(kv_value_check_vs(3, 42, v2, &vs, buf, l1), KV_VALUE_STALE);
    assert_int_equal(kv_value_check_vs(3, 42, v1, &vs, buf, l1 - 1), KV_VALUE_WRONG); /* truncated */
    kv_value_make(3, 42, v2, buf, l1);                                            /* v2 at v1's length */
    assert_int_equal(kv_value_check_vs(3, 42, v2, &vs, buf, l1), l1 == l2 ? KV_VALUE_OK : KV_VALUE_WRONG);
    assert_int_equal(kv_value_check_range_vs(3, 42, 1, 1, &vs, buf, l1), KV_VALUE_WRONG);
}

/* Pearson chi-squared of counts by rank against zipf(theta) over n ranks, merging tail ranks until each
 * bin expects at least 20; returns chi2 and the degrees of freedom. */
static double chi2_zipf(const uint64_t *cnt, uint64_t n, double theta, uint64_t draws, int *df)
{
    double norm = 0;
    for (uint64_t r = 0; r < n; r++)
        norm += pow((double)(r + 1), -theta);
    double chi = 0, e_acc = 0, o_acc = 0;
    int bins = 0;
    for (uint64_t r = 0; r < n; r++) {
        e_acc += (double)draws * pow((double)(r + 1), -theta) / norm;
        o_acc += (double)cnt[r];
        if (e_acc >= 20 || r == n - 1) {
            chi += (o_acc - e_acc) * (o_acc - e_acc) / e_acc;
            e_acc = o_acc = 0;
            bins++;
        }
    }
    *df = bins - 1;
    return chi;
}

/* The shared streams' access distributions: ycsb-c's zipfian (scrambled: counted by rank through the
 * same scrambler) and "latest" (rank 0 = the newest key) follow zipf(0.99) by a chi-squared test; one
 * hot set: two threads' streams put their hottest key on the same key. */
static void test_shared_access_chi2(void **st)
{
    (void)st;
    const uint64_t n = 2000, draws = 400000;
    for (int latest = 0; latest <= 1; latest++) {
        kv_dataset *ds = loaded(n, 0);
        kv_workload w = *kv_workload_find("ycsb-c");
        w.access = latest ? KV_ACCESS_LATEST : KV_ACCESS_ZIPF;
        kv_opstream *s;
        assert_int_equal(kv_opstream_create(&s, ds, &w, w.access, 0.99, 0, 1, 5), 0);
        uint64_t *byidx = calloc(n, sizeof(*byidx)), *byrank = calloc(n, sizeof(*byrank));
        assert_non_null(byidx);
        assert_non_null(byrank);
        for (uint64_t i = 0; i < draws; i++) {
            kv_op op;
            assert_int_equal(kv_opstream_next(s, &op), 0);
            byidx[op.index]++;
        }
        if (latest) {
            for (uint64_t r = 0; r < n; r++)
                byrank[r] = byidx[n - 1 - r];
        } else {
            /* rank r lives at index perm(r): the scrambler the shared streams seed from the run's seed */
            kv__perm perm;
            kv__perm_init(&perm, n, kv_mix64(5 ^ 0x7a697066ULL));
            for (uint64_t r = 0; r < n; r++)
                byrank[r] = byidx[kv__perm_apply(&perm, r)];
        }
        int df;
        double chi = chi2_zipf(byrank, n, 0.99, draws, &df);
        double limit = df + 7.0 * sqrt(2.0 * df) + 10;
        print_message("%s: chi2 %.1f df %d limit %.1f\n", latest ? "latest" : "zipf", chi, df, limit);
        assert_true(chi < limit);
        double wrong = chi2_zipf(byrank, n, 0.7, draws, &df);
        assert_true(wrong > limit); /* the test can tell another skew apart */
        /* one hot set: another thread's stream (other draws) has the same hottest key */
        kv_opstream *s2;
        assert_int_equal(kv_opstream_create(&s2, ds, &w, w.access, 0.99, 1, 2, 5), 0);
        uint64_t *c2 = calloc(n, sizeof(*c2));
        assert_non_null(c2);
        for (uint64_t i = 0; i < draws / 4; i++) {
            kv_op op;
            assert_int_equal(kv_opstream_next(s2, &op), 0);
            c2[op.index]++;
        }
        uint64_t top1 = 0, top2 = 0;
        for (uint64_t i = 1; i < n; i++) {
            top1 = byidx[i] > byidx[top1] ? i : top1;
            top2 = c2[i] > c2[top2] ? i : top2;
        }
        assert_int_equal(top1, top2);
        free(c2);
        kv_opstream_free(s2);
        free(byidx);
        free(byrank);
        kv_opstream_free(s);
        kv_dataset_free(ds);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shared_access_chi2),
        cmocka_unit_test(test_value_sizes),
        cmocka_unit_test(test_ycsb_mixes),
        cmocka_unit_test(test_rmw_in_mix),
        cmocka_unit_test(test_shapes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
