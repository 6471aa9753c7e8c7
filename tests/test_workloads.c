/* test_workloads.c - rng, key sets, data set lookup, verifiable values, mixes and op streams. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "workload.h"
#include "testenv.h"

static uint64_t scaled(uint64_t n) { return sanitized() ? n / 10 : n; }

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* ---------- rng ---------- */

static void test_rng(void **st)
{
    (void)st;
    kv_rng a, b;
    kv_rng_seed(&a, 123);
    kv_rng_seed(&b, 123);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(kv_rng_next(&a), kv_rng_next(&b));
    kv_rng_seed(&b, 124);
    assert_true(kv_rng_next(&a) != kv_rng_next(&b));
    assert_int_equal(kv_rng_below(&a, 1), 0);
    /* below(3) and below(2^63 + 1) are unbiased: chi-square on 3 bins, halves for the big bound */
    uint64_t c3[3] = {0}, half = 0;
    const uint64_t draws = 300000;
    for (uint64_t i = 0; i < draws; i++) {
        uint64_t x = kv_rng_below(&a, 3);
        assert_true(x < 3);
        c3[x]++;
        uint64_t y = kv_rng_below(&a, (1ULL << 63) + 1);
        assert_true(y <= (1ULL << 63));
        half += y < (1ULL << 62);
    }
    double chi = 0;
    for (int k = 0; k < 3; k++)
        chi += pow((double)c3[k] - draws / 3.0, 2) / (draws / 3.0);
    assert_true(chi < 30); /* df 2 */
    assert_true(fabs((double)half / draws - 0.5) < 0.005);
    for (int i = 0; i < 100000; i++) {
        double d = kv_rng_double(&a);
        assert_true(d >= 0 && d < 1);
    }
    /* mix64 is a bijection on a sample: no collisions among 100k consecutive inputs, and it moves 0 */
    int64_t *m = malloc(100000 * sizeof(*m));
    assert_non_null(m);
    for (int i = 0; i < 100000; i++)
        m[i] = (int64_t)kv_mix64((uint64_t)i);
    qsort(m, 100000, sizeof(*m), cmp_i64);
    for (int i = 1; i < 100000; i++)
        assert_true(m[i - 1] != m[i]);
    free(m);
}

/* ---------- key sets and data set ---------- */

static void check_dataset(enum kv_keyset ks, uint64_t n, uint64_t ins, uint64_t seed)
{
    kv_dataset *ds;
    assert_int_equal(kv_dataset_create(&ds, ks, n, ins, seed, 100), 0);
    assert_int_equal(ds->n, n);
    assert_int_equal(ds->capacity, n + ins);
    assert_int_equal(ds->value_size, 100);
    uint64_t cap = n + ins;
    int64_t *sorted = malloc(cap * sizeof(*sorted));
    assert_non_null(sorted);
    memcpy(sorted, ds->keys, cap * sizeof(*sorted));
    qsort(sorted, cap, sizeof(*sorted), cmp_i64);
    assert_true(sorted[0] >= 1);
    assert_true(sorted[cap - 1] <= INT64_MAX - 1);
    for (uint64_t i = 1; i < cap; i++)
        assert_true(sorted[i - 1] < sorted[i]);
    for (uint64_t i = 0; i < cap; i++) {
        assert_int_equal(ds->versions[i], 0);
        assert_int_equal(ds->deleted[i], 0);
        assert_int_equal(kv_dataset_find(ds, ds->keys[i]), (int64_t)i);
    }
    /* absent keys: neighbours of present keys that are not in the set */
    for (uint64_t i = 0; i + 1 < cap; i += 7) {
        if (sorted[i] + 1 < sorted[i + 1])
            assert_int_equal(kv_dataset_find(ds, sorted[i] + 1), -1);
    }
    assert_int_equal(kv_dataset_find(ds, 0), -1);
    assert_int_equal(kv_dataset_find(ds, INT64_MAX), -1);
    if (ks == KV_KEYS_SEQUENTIAL)
        for (uint64_t i = 0; i < cap; i++)
            assert_int_equal(ds->keys[i], (int64_t)(i + 1));
    /* sorted_loaded: ascending and exactly keys[0..n) */
    int64_t *sl = kv_dataset_sorted_loaded(ds);
    assert_non_null(sl);
    int64_t *ref = malloc((n ? n : 1) * sizeof(*ref));
    assert_non_null(ref);
    memcpy(ref, ds->keys, n * sizeof(*ref));
    qsort(ref, n, sizeof(*ref), cmp_i64);
    assert_memory_equal(sl, ref, n * sizeof(*ref));
    /* uniform and clustered load orders are shuffled, not ascending */
    if (ks != KV_KEYS_SEQUENTIAL && n > 100) {
        uint64_t asc = 0;
        for (uint64_t i = 1; i < n; i++)
            asc += ds->keys[i - 1] < ds->keys[i];
        assert_true(asc > n / 3 && asc < 2 * n / 3);
    }
    free(sl);
    free(ref);
    free(sorted);
    kv_dataset_free(ds);
}

static void test_keysets(void **st)
{
    (void)st;
    for (int ks = KV_KEYS_UNIFORM; ks < KV_KEYS__COUNT; ks++) {
        check_dataset((enum kv_keyset)ks, scaled(200000), scaled(20000), 1);
        check_dataset((enum kv_keyset)ks, 1, 0, 2);
        check_dataset((enum kv_keyset)ks, 0, 10, 3);
        check_dataset((enum kv_keyset)ks, 5000, 5000, 4);
    }
    kv_dataset *ds;
    assert_int_equal(kv_dataset_create(&ds, KV_KEYS_UNIFORM, 0, 0, 1, 100), -1);
    assert_null(ds);
    assert_int_equal(kv_dataset_create(&ds, (enum kv_keyset)7, 10, 0, 1, 100), -1);
    enum kv_keyset k;
    assert_int_equal(kv_keyset_parse("clustered", &k), 0);
    assert_int_equal(k, KV_KEYS_CLUSTERED);
    assert_int_equal(kv_keyset_parse("sequential", &k), 0);
    assert_int_equal(k, KV_KEYS_SEQUENTIAL);
    assert_int_equal(kv_keyset_parse("bogus", &k), -1);
    assert_string_equal(kv_keyset_name(KV_KEYS_UNIFORM), "uniform");
}

/* share of the key range covered by the largest 1% of gaps between consecutive sorted keys */
static double top_gap_share(const int64_t *sorted, uint64_t cnt)
{
    int64_t *gaps = malloc(cnt * sizeof(*gaps));
    assert_non_null(gaps);
    for (uint64_t i = 1; i < cnt; i++)
        gaps[i - 1] = sorted[i] - sorted[i - 1];
    qsort(gaps, cnt - 1, sizeof(*gaps), cmp_i64);
    double top = 0;
    for (uint64_t i = cnt - 1 - (cnt - 1) / 100; i < cnt - 1; i++)
        top += (double)gaps[i];
    free(gaps);
    return top / (double)(sorted[cnt - 1] - sorted[0]);
}

static void test_clustered_is_nonuniform(void **st)
{
    (void)st;
    /* not scaled down for sanitizers: it is cheap, and fewer clusters would weaken the density test */
    const uint64_t n = 200000, ins = n / 10;
    kv_dataset *u, *c;
    assert_int_equal(kv_dataset_create(&u, KV_KEYS_UNIFORM, n, ins, 11, 100), 0);
    assert_int_equal(kv_dataset_create(&c, KV_KEYS_CLUSTERED, n, ins, 11, 100), 0);
    int64_t *su = kv_dataset_sorted_loaded(u), *sc = kv_dataset_sorted_loaded(c);
    assert_non_null(su);
    assert_non_null(sc);
    double share_u = top_gap_share(su, n), share_c = top_gap_share(sc, n);
    print_message("top-1%% gap share: uniform %.3f clustered %.5f\n", share_u, share_c);
    assert_true(share_u < 0.1);  /* exponential gaps: (1 + ln 100) / 100 ~ 5.6% */
    assert_true(share_c > 0.99); /* the inter-cluster gaps hold the range */
    /* local density varies: the median gap inside windows of 64 keys differs by a large factor */
    double lo = INFINITY, hi = 0;
    for (uint64_t w = 0; w + 64 < n; w += 64) {
        int64_t g[63];
        for (int i = 0; i < 63; i++)
            g[i] = sc[w + i + 1] - sc[w + i];
        qsort(g, 63, sizeof(*g), cmp_i64);
        if ((double)g[31] < lo)
            lo = (double)g[31];
        if ((double)g[31] > hi)
            hi = (double)g[31];
    }
    assert_true(hi / lo > 20);
    /* insert pool keys lie inside the loaded clusters: most have a loaded neighbour within 1e6 */
    uint64_t near = 0;
    for (uint64_t i = n; i < n + ins; i++) {
        int64_t key = c->keys[i];
        uint64_t lo_i = 0, hi_i = n;
        while (lo_i < hi_i) {
            uint64_t mid = (lo_i + hi_i) / 2;
            if (sc[mid] < key)
                lo_i = mid + 1;
            else
                hi_i = mid;
        }
        assert_true(lo_i == n || sc[lo_i] != key); /* distinct from loaded keys */
        int64_t d = INT64_MAX;
        if (lo_i < n)
            d = sc[lo_i] - key;
        if (lo_i > 0 && key - sc[lo_i - 1] < d)
            d = key - sc[lo_i - 1];
        near += d < 1000000;
    }
    assert_true(near > ins * 95 / 100);
    free(su);
    free(sc);
    kv_dataset_free(u);
    kv_dataset_free(c);
}

static void test_dataset_determinism(void **st)
{
    (void)st;
    for (int ks = KV_KEYS_UNIFORM; ks < KV_KEYS__COUNT; ks++) {
        kv_dataset *a, *b, *c;
        assert_int_equal(kv_dataset_create(&a, (enum kv_keyset)ks, 10000, 1000, 77, 100), 0);
        assert_int_equal(kv_dataset_create(&b, (enum kv_keyset)ks, 10000, 1000, 77, 100), 0);
        assert_int_equal(kv_dataset_create(&c, (enum kv_keyset)ks, 10000, 1000, 78, 100), 0);
        assert_memory_equal(a->keys, b->keys, 11000 * sizeof(int64_t));
        if (ks != KV_KEYS_SEQUENTIAL)
            assert_memory_not_equal(a->keys, c->keys, 11000 * sizeof(int64_t));
        kv_dataset_free(a);
        kv_dataset_free(b);
        kv_dataset_free(c);
    }
}

static void test_mark_loaded(void **st)
{
    (void)st;
    kv_dataset *ds;
    assert_int_equal(kv_dataset_create(&ds, KV_KEYS_UNIFORM, 100, 10, 1, 100), 0);
    kv_dataset_mark_loaded(ds);
    for (uint64_t i = 0; i < 110; i++)
        assert_int_equal(ds->versions[i], i < 100 ? 1 : 0);
    kv_dataset_free(ds);
}

/* ---------- values ---------- */

static void test_values(void **st)
{
    (void)st;
    unsigned char buf[512], other[512];
    const uint64_t seed = 99;
    for (size_t len = KV_VALUE_MIN; len <= 300; len++) {
        kv_value_make(seed, 12345, 7, buf, len);
        assert_int_equal(kv_value_check(seed, 12345, 7, len, buf, len), KV_VALUE_OK);
        /* older version expected -> the engine returned something newer than written: wrong */
        assert_int_equal(kv_value_check(seed, 12345, 6, len, buf, len), KV_VALUE_WRONG);
        assert_int_equal(kv_value_check(seed, 12345, 8, len, buf, len), KV_VALUE_STALE);
        assert_int_equal(kv_value_check(seed, 12346, 7, len, buf, len), KV_VALUE_WRONG);
        assert_int_equal(kv_value_check(seed + 1, 12345, 7, len, buf, len), KV_VALUE_WRONG);
        assert_int_equal(kv_value_check(seed, 12345, 7, len + 1, buf, len), KV_VALUE_WRONG);
        if (len > KV_VALUE_MIN) /* a truncated copy */
            assert_int_equal(kv_value_check(seed, 12345, 7, len, buf, len - 1), KV_VALUE_WRONG);
    }
    /* every single-bit flip is caught, in whole body words and in a partial last word */
    const size_t flip_lens[] = {16, 37, 100, 257};
    for (size_t l = 0; l < 4; l++) {
        size_t len = flip_lens[l];
        kv_value_make(seed, -5, 3, buf, len);
        for (size_t byte = 0; byte < len; byte++) {
            for (int bit = 0; bit < 8; bit++) {
                buf[byte] ^= (unsigned char)(1u << bit);
                if (kv_value_check(seed, -5, 3, len, buf, len) != KV_VALUE_WRONG)
                    fail_msg("len %zu: flip of byte %zu bit %d not detected", len, byte, bit);
                buf[byte] ^= (unsigned char)(1u << bit);
            }
        }
    }
    kv_value_make(seed, -5, 3, buf, 100);
    assert_int_equal(kv_value_check(seed, -5, 3, 100, buf, 100), KV_VALUE_OK);
    /* a valid value of another key; an older version of this key */
    kv_value_make(seed, 6, 3, other, 100);
    assert_int_equal(kv_value_check(seed, -5, 3, 100, other, 100), KV_VALUE_WRONG);
    kv_value_make(seed, -5, 1, other, 100);
    assert_int_equal(kv_value_check(seed, -5, 3, 100, other, 100), KV_VALUE_STALE);
    /* the body depends on the version and the key, not only the header */
    kv_value_make(seed, -5, 2, other, 100);
    assert_memory_not_equal(buf + 16, other + 16, 84);
    /* a header moved onto another value's body, or zero bytes */
    kv_value_make(seed, -5, 3, buf, 100);
    memcpy(other, buf, 16);
    assert_int_equal(kv_value_check(seed, -5, 3, 100, other, 100), KV_VALUE_WRONG);
    memset(other, 0, sizeof(other));
    assert_int_equal(kv_value_check(seed, 0, 0, 100, other, 100), KV_VALUE_WRONG);
    assert_int_equal(kv_value_check(seed, -5, 3, 100, buf, 15), KV_VALUE_WRONG);
    assert_int_equal(kv_value_check(seed, -5, 3, 100, NULL, 100), KV_VALUE_WRONG);
    /* deterministic and unaligned buffers */
    kv_value_make(seed, 42, 9, buf + 1, 100);
    kv_value_make(seed, 42, 9, other, 100);
    assert_memory_equal(buf + 1, other, 100);
    assert_int_equal(kv_value_check(seed, 42, 9, 100, buf + 1, 100), KV_VALUE_OK);
    assert_string_equal(kv_verdict_name(KV_VALUE_STALE), "stale");
    assert_string_equal(kv_verdict_name(KV_VALUE_GHOST), "ghost");
}

/* ---------- workloads and mixes ---------- */

static void test_named_workloads(void **st)
{
    (void)st;
    const char *names[] = {"load", "read", "mixed", "scan", "update"};
    for (int i = 0; i < 5; i++) {
        const kv_workload *w = kv_workload_find(names[i]);
        assert_non_null(w);
        double sum = 0;
        for (int t = 0; t < KV_OP__COUNT; t++)
            sum += w->mix[t];
        assert_true(fabs(sum - 1) < 1e-12);
    }
    int count = 0;
    while (kv_workloads[count])
        count++;
    assert_int_equal(count, 11); /* five of our own and YCSB's six (tests/test_ycsb.c) */
    assert_null(kv_workload_find("nope"));
    assert_true(kv_workload_find("mixed")->mix[KV_OP_GET] == 0.8);
    assert_int_equal(kv_workload_find("scan")->scan_len, 100);
    assert_true(kv_workload_find("load")->mix[KV_OP_INSERT] == 1.0);
    enum kv_access a;
    assert_int_equal(kv_access_parse("latest", &a), 0);
    assert_int_equal(a, KV_ACCESS_LATEST);
    assert_int_equal(kv_access_parse("zipf", &a), 0);
    assert_int_equal(a, KV_ACCESS_ZIPF);
    assert_int_equal(kv_access_parse("hot", &a), -1);
    assert_string_equal(kv_access_name(KV_ACCESS_SEQ), "seq");
    assert_string_equal(kv_optype_name(KV_OP_DELETE), "delete");
    assert_string_equal(kv_optype_name(KV_OP_RMW), "rmw");
}

static void test_set_mix(void **st)
{
    (void)st;
    kv_workload w = *kv_workload_find("read");
    char err[256];
    assert_int_equal(kv_workload_set_mix(&w, "get=0.8,update=0.1,insert=0.1", err, sizeof(err)), 0);
    assert_true(w.mix[KV_OP_GET] == 0.8 && w.mix[KV_OP_UPDATE] == 0.1 && w.mix[KV_OP_INSERT] == 0.1);
    assert_true(w.mix[KV_OP_SCAN] == 0 && w.mix[KV_OP_DELETE] == 0);
    assert_int_equal(kv_workload_set_mix(&w, " read = 0.5 , delete=0.25,scan=0.25 ", err, sizeof(err)), 0);
    assert_true(w.mix[KV_OP_GET] == 0.5 && w.mix[KV_OP_DELETE] == 0.25 && w.mix[KV_OP_SCAN] == 0.25);
    assert_true(w.mix[KV_OP_INSERT] == 0);
    kv_workload before = w;
    struct {
        const char *spec, *needle;
    } bad[] = {
        {"get=0.8,update=0.1", "sum to 0.9"},
        {"get=0.8,fetch=0.2", "unknown op type \"fetch\""},
        {"get=0.5,get=0.5", "given twice"},
        {"get=abc", "needs a number"},
        {"get=-0.5,update=1.5", "outside [0, 1]"},
        {"", "empty"},
        {"get", "expected name=fraction"},
        {"get=0.5;update=0.5", "expected ','"},
        {"get=1,update=1e-8", "sum to"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = 0;
        assert_int_equal(kv_workload_set_mix(&w, bad[i].spec, err, sizeof(err)), -1);
        if (!strstr(err, bad[i].needle))
            fail_msg("spec \"%s\": message \"%s\" lacks \"%s\"", bad[i].spec, err, bad[i].needle);
        assert_memory_equal(&w, &before, sizeof(w)); /* untouched on error */
    }
    assert_int_equal(kv_workload_set_mix(&w, "get=1,update=1e-10", err, sizeof(err)), 0); /* within 1e-9 */
}

/* ---------- op streams ---------- */

static kv_dataset *loaded_dataset(enum kv_keyset ks, uint64_t n, uint64_t ins, int nthreads, uint64_t seed)
{
    kv_dataset *ds;
    assert_int_equal(kv_dataset_create(&ds, ks, n, ins, seed, 100), 0);
    for (int t = 0; t < nthreads; t++) {
        kv_opstream *s;
        assert_int_equal(kv_opstream_create(&s, ds, kv_workload_find("load"), KV_ACCESS_UNIFORM, 0, t, nthreads, seed),
                         0);
        kv_op op;
        while (kv_opstream_next(s, &op) == 0)
            ;
        kv_opstream_free(s);
    }
    return ds;
}

static void test_load_partitions(void **st)
{
    (void)st;
    const uint64_t n = 10007;
    const int T = 3;
    kv_dataset *ds;
    assert_int_equal(kv_dataset_create(&ds, KV_KEYS_UNIFORM, n, 100, 1, 100), 0);
    uint8_t *seen = calloc(n, 1);
    assert_non_null(seen);
    for (int t = 0; t < T; t++) {
        kv_opstream *s;
        assert_int_equal(kv_opstream_create(&s, ds, kv_workload_find("load"), KV_ACCESS_ZIPF, 0, t, T, 5), 0);
        kv_op op;
        uint64_t last = 0, cnt = 0;
        while (kv_opstream_next(s, &op) == 0) {
            assert_int_equal(op.type, KV_OP_INSERT);
            assert_int_equal(op.version, 1);
            assert_true(op.index < n);
            assert_int_equal(op.index % T, (uint64_t)t);
            assert_int_equal(op.key, ds->keys[op.index]);
            assert_true(cnt == 0 || op.index > last); /* in data set order */
            assert_int_equal(seen[op.index], 0);
            seen[op.index] = 1;
            last = op.index;
            cnt++;
        }
        assert_int_equal(kv_opstream_next(s, &op), -1);
        kv_opstream_free(s);
    }
    for (uint64_t i = 0; i < n; i++) {
        assert_int_equal(seen[i], 1);
        assert_int_equal(ds->versions[i], 1);
    }
    for (uint64_t i = n; i < n + 100; i++)
        assert_int_equal(ds->versions[i], 0);
    free(seen);
    kv_dataset_free(ds);
}

static void test_mix_ratios(void **st)
{
    (void)st;
    const uint64_t n = 50000, ops = scaled(400000);
    kv_dataset *ds = loaded_dataset(KV_KEYS_UNIFORM, n, ops, 1, 3);
    kv_workload w = *kv_workload_find("read");
    char err[128];
    assert_int_equal(kv_workload_set_mix(&w, "get=0.5,update=0.2,insert=0.1,delete=0.05,scan=0.15", err,
                                         sizeof(err)),
                     0);
    kv_opstream *s;
    assert_int_equal(kv_opstream_create(&s, ds, &w, KV_ACCESS_UNIFORM, 0, 0, 1, 3), 0);
    uint64_t cnt[KV_OP__COUNT] = {0};
    for (uint64_t i = 0; i < ops; i++) {
        kv_op op;
        assert_int_equal(kv_opstream_next(s, &op), 0);
        cnt[op.type]++;
        if (op.type == KV_OP_SCAN)
            assert_int_equal(op.scan_len, 100);
    }
    for (int t = 0; t < KV_OP__COUNT; t++) {
        double p = w.mix[t], sd = sqrt((double)ops * p * (1 - p));
        if (fabs((double)cnt[t] - p * (double)ops) > 5 * sd)
            fail_msg("%s: %llu of %llu, expected %.3f", kv_optype_name(t), (unsigned long long)cnt[t],
                     (unsigned long long)ops, p);
    }
    kv_opstream_free(s);
    kv_dataset_free(ds);
}

/* A shadow model checks every op of several threads' streams with all op types and access kinds:
 * the thread's partition only, present keys for get/update/delete/scan, never-written keys for
 * inserts, exact expected versions, bumped versions, deleted keys never touched again. */
static void run_model(enum kv_access acc, enum kv_keyset ks)
{
    const uint64_t n = 20000, ins = 20000;
    const int T = 4;
    kv_dataset *ds = loaded_dataset(ks, n, ins, T, 8);
    uint64_t cap = n + ins;
    uint32_t *ver = calloc(cap, sizeof(*ver));
    uint8_t *del = calloc(cap, 1);
    assert_non_null(ver);
    assert_non_null(del);
    for (uint64_t i = 0; i < n; i++)
        ver[i] = 1;
    kv_workload w = *kv_workload_find("read");
    char err[128];
    assert_int_equal(kv_workload_set_mix(&w, "get=0.4,update=0.3,insert=0.1,delete=0.1,scan=0.1", err,
                                         sizeof(err)),
                     0);
    uint64_t touched_new = 0;
    for (int t = 0; t < T; t++) {
        kv_opstream *s;
        assert_int_equal(kv_opstream_create(&s, ds, &w, acc, 0.99, t, T, 8), 0);
        kv_op op;
        int rc;
        uint64_t ops = 0;
        while ((rc = kv_opstream_next(s, &op)) == 0 && ops < scaled(100000)) {
            ops++;
            uint64_t i = op.index;
            assert_true(i < cap);
            assert_int_equal(i % T, (uint64_t)t);
            assert_int_equal(op.key, ds->keys[i]);
            switch (op.type) {
            case KV_OP_INSERT:
                assert_int_equal(ver[i], 0);
                assert_true(i >= n);
                assert_int_equal(op.version, 1);
                ver[i] = 1;
                break;
            case KV_OP_UPDATE:
                assert_true(ver[i] > 0 && !del[i]);
                assert_int_equal(op.version, ver[i] + 1);
                ver[i]++;
                break;
            case KV_OP_DELETE:
                assert_true(ver[i] > 0 && !del[i]);
                del[i] = 1;
                break;
            case KV_OP_GET:
            case KV_OP_SCAN:
                assert_true(ver[i] > 0 && !del[i]);
                assert_int_equal(op.version, ver[i]);
                touched_new += i >= n;
                break;
            default:
                fail();
            }
            assert_int_equal(ds->versions[i], ver[i]);
            assert_int_equal(ds->deleted[i], del[i]);
        }
        /* the stream either ran its budget or stopped because its insert pool ran dry */
        if (rc != 0)
            assert_int_equal(errno, ENOSPC);
        kv_opstream_free(s);
    }
    assert_true(touched_new > 0); /* inserted keys are read later */
    free(ver);
    free(del);
    kv_dataset_free(ds);
}

static void test_model_uniform(void **st) { (void)st; run_model(KV_ACCESS_UNIFORM, KV_KEYS_UNIFORM); }
static void test_model_zipf(void **st) { (void)st; run_model(KV_ACCESS_ZIPF, KV_KEYS_CLUSTERED); }
static void test_model_latest(void **st) { (void)st; run_model(KV_ACCESS_LATEST, KV_KEYS_SEQUENTIAL); }
static void test_model_seq(void **st) { (void)st; run_model(KV_ACCESS_SEQ, KV_KEYS_UNIFORM); }

static void test_opstream_determinism(void **st)
{
    (void)st;
    const enum kv_access accs[] = {KV_ACCESS_UNIFORM, KV_ACCESS_ZIPF, KV_ACCESS_LATEST, KV_ACCESS_SEQ};
    for (int a = 0; a < 4; a++) {
        kv_op ops[3][2000];
        const uint64_t seeds[3] = {5, 5, 6};
        for (int run = 0; run < 3; run++) {
            kv_dataset *ds = loaded_dataset(KV_KEYS_UNIFORM, 5000, 1000, 2, 1);
            kv_opstream *s;
            kv_workload w = *kv_workload_find("read");
            char err[64];
            assert_int_equal(kv_workload_set_mix(&w, "get=0.6,update=0.2,insert=0.1,delete=0.1", err, sizeof(err)),
                             0);
            assert_int_equal(kv_opstream_create(&s, ds, &w, accs[a], 0.99, 1, 2, seeds[run]), 0);
            memset(ops[run], 0, sizeof(ops[run]));
            for (int i = 0; i < 2000; i++)
                assert_int_equal(kv_opstream_next(s, &ops[run][i]), 0);
            kv_opstream_free(s);
            kv_dataset_free(ds);
        }
        assert_memory_equal(ops[0], ops[1], sizeof(ops[0]));
        assert_memory_not_equal(ops[0], ops[2], sizeof(ops[0]));
    }
}

static void test_insert_pool_exhaustion(void **st)
{
    (void)st;
    kv_dataset *ds = loaded_dataset(KV_KEYS_UNIFORM, 100, 10, 2, 1);
    kv_workload w = *kv_workload_find("read");
    char err[64];
    assert_int_equal(kv_workload_set_mix(&w, "insert=1", err, sizeof(err)), 0);
    for (int t = 0; t < 2; t++) {
        kv_opstream *s;
        assert_int_equal(kv_opstream_create(&s, ds, &w, KV_ACCESS_UNIFORM, 0, t, 2, 1), 0);
        kv_op op;
        uint64_t prev = 0;
        for (int i = 0; i < 5; i++) {
            assert_int_equal(kv_opstream_next(s, &op), 0);
            assert_int_equal(op.type, KV_OP_INSERT);
            assert_true(op.index >= 100 && op.index < 110);
            assert_int_equal(op.index % 2, (uint64_t)t);
            assert_true(i == 0 || op.index > prev);
            prev = op.index;
        }
        assert_int_equal(kv_opstream_next(s, &op), -1);
        assert_int_equal(kv_opstream_next(s, &op), -1);
        kv_opstream_free(s);
    }
    for (uint64_t i = 0; i < 110; i++)
        assert_int_equal(ds->versions[i], 1);
    /* a later stream sees the pool used up and the inserted keys as present */
    kv_opstream *s;
    kv_op op;
    assert_int_equal(kv_opstream_create(&s, ds, kv_workload_find("read"), KV_ACCESS_SEQ, 0, 0, 2, 1), 0);
    for (uint64_t i = 0; i < 55; i++) { /* thread 0: 50 loaded + 5 inserted keys in insertion order */
        assert_int_equal(kv_opstream_next(s, &op), 0);
        assert_int_equal(op.index, i < 50 ? 2 * i : 100 + 2 * (i - 50));
    }
    kv_opstream_free(s);
    assert_int_equal(kv_opstream_create(&s, ds, kv_workload_find("mixed"), KV_ACCESS_UNIFORM, 0, 0, 2, 1), 0);
    int rc;
    while ((rc = kv_opstream_next(s, &op)) == 0)
        assert_true(op.type != KV_OP_INSERT);
    assert_int_equal(rc, -1);
    assert_int_equal(errno, ENOSPC);
    kv_opstream_free(s);
    kv_dataset_free(ds);
}

static void test_delete_until_empty(void **st)
{
    (void)st;
    kv_dataset *ds = loaded_dataset(KV_KEYS_SEQUENTIAL, 1000, 0, 1, 1);
    kv_workload w = *kv_workload_find("read");
    char err[64];
    assert_int_equal(kv_workload_set_mix(&w, "get=0.5,delete=0.5", err, sizeof(err)), 0);
    kv_opstream *s;
    assert_int_equal(kv_opstream_create(&s, ds, &w, KV_ACCESS_ZIPF, 0.99, 0, 1, 1), 0);
    kv_op op;
    uint64_t dels = 0;
    while (kv_opstream_next(s, &op) == 0) {
        assert_int_equal(ds->deleted[op.index], op.type == KV_OP_DELETE);
        dels += op.type == KV_OP_DELETE;
        assert_true(dels <= 1000);
    }
    assert_int_equal(dels, 1000);
    kv_opstream_free(s);
    kv_dataset_free(ds);
}

static void test_latest_favours_newest(void **st)
{
    (void)st;
    const uint64_t n = 10000;
    kv_dataset *ds = loaded_dataset(KV_KEYS_UNIFORM, n, 2000, 1, 2);
    kv_opstream *s;
    assert_int_equal(kv_opstream_create(&s, ds, kv_workload_find("read"), KV_ACCESS_LATEST, 0.99, 0, 1, 2), 0);
    kv_op op;
    uint64_t newest = 0, total = 50000;
    for (uint64_t i = 0; i < total; i++) {
        assert_int_equal(kv_opstream_next(s, &op), 0);
        newest += op.index >= n - n / 100;
    }
    /* zipf(0.99) over 10000 ranks puts ~ 54% of the mass on the top 1% */
    assert_true(newest > total / 2);
    kv_opstream_free(s);
    /* after inserts the new keys become the hottest */
    kv_workload w = *kv_workload_find("read");
    char err[64];
    assert_int_equal(kv_workload_set_mix(&w, "get=0.9,insert=0.1", err, sizeof(err)), 0);
    assert_int_equal(kv_opstream_create(&s, ds, &w, KV_ACCESS_LATEST, 0.99, 0, 1, 2), 0);
    uint64_t gets = 0, pool_gets = 0;
    while (kv_opstream_next(s, &op) == 0) {
        if (op.type == KV_OP_GET) {
            gets++;
            pool_gets += op.index >= n;
        }
    }
    assert_true(pool_gets > gets / 3);
    kv_opstream_free(s);
    kv_dataset_free(ds);
}

static void test_seq_access_order(void **st)
{
    (void)st;
    kv_dataset *ds = loaded_dataset(KV_KEYS_UNIFORM, 90, 0, 3, 1);
    kv_opstream *s;
    assert_int_equal(kv_opstream_create(&s, ds, kv_workload_find("update"), KV_ACCESS_SEQ, 0, 2, 3, 1), 0);
    kv_op op;
    for (int i = 0; i < 90; i++) {
        assert_int_equal(kv_opstream_next(s, &op), 0);
        assert_int_equal(op.type, KV_OP_UPDATE);
        assert_int_equal(op.index, 2 + 3 * (uint64_t)(i % 30));
        assert_int_equal(op.version, 2 + i / 30);
    }
    kv_opstream_free(s);
    kv_dataset_free(ds);
}

static void test_opstream_errors(void **st)
{
    (void)st;
    kv_dataset *ds = loaded_dataset(KV_KEYS_UNIFORM, 10, 0, 1, 1);
    kv_opstream *s;
    const kv_workload *r = kv_workload_find("read");
    assert_int_equal(kv_opstream_create(&s, ds, r, KV_ACCESS_UNIFORM, 0, 2, 2, 1), -1);
    assert_int_equal(kv_opstream_create(&s, ds, r, KV_ACCESS_UNIFORM, 0, 0, 0, 1), -1);
    assert_int_equal(kv_opstream_create(&s, ds, r, KV_ACCESS_UNIFORM, -1, 0, 1, 1), -1);
    assert_int_equal(kv_opstream_create(&s, ds, r, (enum kv_access)9, 0, 0, 1, 1), -1);
    kv_workload bad = *r;
    bad.mix[KV_OP_GET] = 0.5;
    assert_int_equal(kv_opstream_create(&s, ds, &bad, KV_ACCESS_UNIFORM, 0, 0, 1, 1), -1);
    /* more threads than keys: a thread with no keys cannot read */
    assert_int_equal(kv_opstream_create(&s, ds, r, KV_ACCESS_ZIPF, 0, 15, 16, 1), 0);
    kv_op op;
    assert_int_equal(kv_opstream_next(s, &op), -1);
    kv_opstream_free(s);
    kv_dataset_free(ds);
}

/* A stream created without the load stream treats loaded keys as loaded at version 1. */
static void test_bulk_loaded_versions(void **st)
{
    (void)st;
    kv_dataset *ds;
    assert_int_equal(kv_dataset_create(&ds, KV_KEYS_SEQUENTIAL, 100, 0, 1, 100), 0);
    kv_opstream *s;
    assert_int_equal(kv_opstream_create(&s, ds, kv_workload_find("read"), KV_ACCESS_UNIFORM, 0, 0, 1, 1), 0);
    kv_op op;
    assert_int_equal(kv_opstream_next(s, &op), 0);
    assert_int_equal(op.version, 1);
    for (int i = 0; i < 100; i++)
        assert_int_equal(ds->versions[i], 1);
    kv_opstream_free(s);
    kv_dataset_free(ds);
}

/* Uniform access: every present key equally likely (chi-square), deleted keys never chosen; scans
 * start at present keys and carry the workload's scan length. */
static void test_uniform_access_and_scans(void **st)
{
    (void)st;
    const uint64_t n = 2000, draws = scaled(1000000);
    kv_dataset *ds = loaded_dataset(KV_KEYS_CLUSTERED, n, 0, 2, 4);
    for (uint64_t i = 1; i < n; i += 10) /* delete every 10th key of thread 1 by hand */
        if (i % 2 == 1)
            ds->deleted[i] = 1;
    kv_workload w = *kv_workload_find("scan");
    w.scan_len = 17;
    kv_opstream *s;
    assert_int_equal(kv_opstream_create(&s, ds, &w, KV_ACCESS_UNIFORM, 0, 1, 2, 4), 0);
    uint64_t *cnt = calloc(n, sizeof(*cnt));
    assert_non_null(cnt);
    for (uint64_t k = 0; k < draws; k++) {
        kv_op op;
        assert_int_equal(kv_opstream_next(s, &op), 0);
        assert_int_equal(op.type, KV_OP_SCAN);
        assert_int_equal(op.scan_len, 17);
        assert_int_equal(op.version, 1);
        assert_int_equal(op.index % 2, 1);
        assert_int_equal(ds->deleted[op.index], 0);
        cnt[op.index]++;
    }
    uint64_t live = 0;
    for (uint64_t i = 1; i < n; i += 2)
        live += !ds->deleted[i];
    double e = (double)draws / (double)live, chi = 0;
    for (uint64_t i = 1; i < n; i += 2)
        if (!ds->deleted[i])
            chi += ((double)cnt[i] - e) * ((double)cnt[i] - e) / e;
    double df = (double)live - 1;
    assert_true(chi < df + 7 * sqrt(2 * df));
    free(cnt);
    kv_opstream_free(s);
    kv_dataset_free(ds);
}

/* Threads run their streams at the same time on one data set: each only touches its partition, so
 * each can check its ops against a private shadow of its keys while the others write theirs. */
typedef struct par_arg {
    kv_dataset *ds;
    int t, T;
    uint64_t ops;
    int failures;
    uint64_t inserted;
} par_arg;

static void *par_run(void *p)
{
    par_arg *a = p;
    kv_workload w = *kv_workload_find("read");
    char err[64];
    if (kv_workload_set_mix(&w, "get=0.5,update=0.3,insert=0.15,delete=0.05", err, sizeof(err)) != 0) {
        a->failures++;
        return NULL;
    }
    kv_opstream *s;
    if (kv_opstream_create(&s, a->ds, &w, KV_ACCESS_ZIPF, 0.99, a->t, a->T, 21) != 0) {
        a->failures++;
        return NULL;
    }
    uint64_t cap = a->ds->capacity, n = a->ds->n;
    uint32_t *ver = calloc(cap, sizeof(*ver));
    uint8_t *del = calloc(cap, 1);
    for (uint64_t i = (uint64_t)a->t; i < n; i += (uint64_t)a->T)
        ver[i] = 1;
    kv_op op;
    for (uint64_t k = 0; k < a->ops && kv_opstream_next(s, &op) == 0; k++) {
        uint64_t i = op.index;
        int ok = i % (uint64_t)a->T == (uint64_t)a->t && op.key == a->ds->keys[i];
        switch (op.type) {
        case KV_OP_INSERT:
            ok = ok && ver[i] == 0 && op.version == 1;
            ver[i] = 1;
            a->inserted++;
            break;
        case KV_OP_UPDATE:
            ok = ok && ver[i] > 0 && !del[i] && op.version == ver[i] + 1;
            ver[i]++;
            break;
        case KV_OP_DELETE:
            ok = ok && ver[i] > 0 && !del[i];
            del[i] = 1;
            break;
        default:
            ok = ok && ver[i] > 0 && !del[i] && op.version == ver[i];
        }
        a->failures += !ok;
    }
    free(ver);
    free(del);
    kv_opstream_free(s);
    return NULL;
}

static void test_parallel_streams(void **st)
{
    (void)st;
    const int T = 4;
    kv_dataset *ds = loaded_dataset(KV_KEYS_UNIFORM, 40000, 40000, T, 21);
    pthread_t th[4];
    par_arg args[4];
    for (int t = 0; t < T; t++) {
        args[t] = (par_arg){.ds = ds, .t = t, .T = T, .ops = scaled(200000)};
        assert_int_equal(pthread_create(&th[t], NULL, par_run, &args[t]), 0);
    }
    for (int t = 0; t < T; t++) {
        assert_int_equal(pthread_join(th[t], NULL), 0);
        assert_int_equal(args[t].failures, 0);
        assert_true(args[t].inserted > 0);
    }
    kv_dataset_free(ds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rng),
        cmocka_unit_test(test_keysets),
        cmocka_unit_test(test_clustered_is_nonuniform),
        cmocka_unit_test(test_dataset_determinism),
        cmocka_unit_test(test_mark_loaded),
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_named_workloads),
        cmocka_unit_test(test_set_mix),
        cmocka_unit_test(test_load_partitions),
        cmocka_unit_test(test_mix_ratios),
        cmocka_unit_test(test_model_uniform),
        cmocka_unit_test(test_model_zipf),
        cmocka_unit_test(test_model_latest),
        cmocka_unit_test(test_model_seq),
        cmocka_unit_test(test_opstream_determinism),
        cmocka_unit_test(test_insert_pool_exhaustion),
        cmocka_unit_test(test_delete_until_empty),
        cmocka_unit_test(test_latest_favours_newest),
        cmocka_unit_test(test_seq_access_order),
        cmocka_unit_test(test_opstream_errors),
        cmocka_unit_test(test_bulk_loaded_versions),
        cmocka_unit_test(test_uniform_access_and_scans),
        cmocka_unit_test(test_parallel_streams),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
