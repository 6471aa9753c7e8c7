/* test_hist.c - the latency histogram against exact percentiles of sorted data, merge, extremes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "hist.h"
#include "workload.h"

#include <math.h>
#include <stdlib.h>

enum { N = 200000 };

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The exact value at percentile p: the ceil(p/100 * n)-th smallest. */
static uint64_t exact_pct(const uint64_t *sorted, size_t n, double p)
{
    size_t rank = (size_t)ceil(p / 100.0 * (double)n);
    if (rank < 1)
        rank = 1;
    return sorted[rank - 1];
}

static double normal(kv_rng *r)
{
    double u1 = kv_rng_double(r), u2 = kv_rng_double(r);
    if (u1 < 1e-300)
        u1 = 1e-300;
    return sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
}

/* Records v[0..n) and checks every interesting percentile, min, max and mean against the exact ones. */
static void check_against_exact(uint64_t *v, size_t n)
{
    kvb_hist *h = malloc(sizeof(*h));
    assert_non_null(h);
    kvb_hist_reset(h);
    long double sum = 0;
    for (size_t i = 0; i < n; i++) {
        kvb_hist_record(h, v[i]);
        sum += v[i];
    }
    qsort(v, n, sizeof(*v), cmp_u64);
    static const double ps[] = {0.1, 1, 10, 25, 50, 75, 90, 95, 99, 99.9, 99.99, 100};
    for (size_t i = 0; i < sizeof(ps) / sizeof(ps[0]); i++) {
        uint64_t want = exact_pct(v, n, ps[i]), got = kvb_hist_percentile(h, ps[i]);
        assert_true(got >= want); /* never under-reports */
        assert_true((double)got <= (double)want * 1.01 + 0.5);
    }
    assert_int_equal(h->count, n);
    assert_int_equal(h->min, v[0]);
    assert_int_equal(h->max, v[n - 1]);
    assert_true(fabs(kvb_hist_mean(h) - (double)(sum / n)) <= 1e-9 * (double)(sum / n) + 1e-9);
    free(h);
}

static void test_uniform(void **state)
{
    (void)state;
    uint64_t *v = malloc(N * sizeof(*v));
    kv_rng r;
    kv_rng_seed(&r, 1);
    for (size_t i = 0; i < N; i++)
        v[i] = 1 + kv_rng_below(&r, 10000000);
    check_against_exact(v, N);
    free(v);
}

static void test_lognormal(void **state)
{
    (void)state;
    uint64_t *v = malloc(N * sizeof(*v));
    kv_rng r;
    kv_rng_seed(&r, 2);
    for (size_t i = 0; i < N; i++)
        v[i] = (uint64_t)exp(6.0 + 1.5 * normal(&r)) + 1; /* ~400 ns median, long tail */
    check_against_exact(v, N);
    free(v);
}

static void test_bimodal(void **state)
{
    (void)state;
    uint64_t *v = malloc(N * sizeof(*v));
    kv_rng r;
    kv_rng_seed(&r, 3);
    for (size_t i = 0; i < N; i++) /* cache hits near 80 ns, misses near 150 us */
        v[i] = kv_rng_below(&r, 10) < 9 ? 60 + kv_rng_below(&r, 40) : 100000 + kv_rng_below(&r, 100000);
    check_against_exact(v, N);
    free(v);
}

static void test_merge_equals_single(void **state)
{
    (void)state;
    kvb_hist *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b)), *all = malloc(sizeof(*all));
    kvb_hist_reset(a), kvb_hist_reset(b), kvb_hist_reset(all);
    kv_rng r;
    kv_rng_seed(&r, 4);
    for (int i = 0; i < 100000; i++) {
        uint64_t v = (uint64_t)exp(3 + 10 * kv_rng_double(&r));
        kvb_hist_record(i % 3 ? a : b, v);
        kvb_hist_record(all, v);
    }
    kvb_hist_merge(a, b);
    assert_int_equal(a->count, all->count);
    assert_int_equal(a->sum, all->sum);
    assert_int_equal(a->min, all->min);
    assert_int_equal(a->max, all->max);
    assert_memory_equal(a->buckets, all->buckets, sizeof(all->buckets));
    for (double p = 1; p <= 100; p += 1)
        assert_int_equal(kvb_hist_percentile(a, p), kvb_hist_percentile(all, p));
    free(a), free(b), free(all);
}

static void count_cb(void *arg, uint64_t lo, uint64_t hi, uint64_t count)
{
    uint64_t *acc = arg;
    assert_true(lo <= hi);
    assert_true(lo >= acc[1]); /* ascending, non-overlapping */
    acc[1] = hi + 1;
    acc[0] += count;
}

static void test_extremes(void **state)
{
    (void)state;
    kvb_hist *h = malloc(sizeof(*h));
    kvb_hist_reset(h);
    assert_int_equal(kvb_hist_percentile(h, 50), 0);
    kvb_hist_record(h, 1);
    kvb_hist_record(h, 100000000000ull); /* 100 s */
    assert_int_equal(h->min, 1);
    assert_int_equal(h->max, 100000000000ull);
    assert_int_equal(kvb_hist_percentile(h, 50), 1);
    assert_int_equal(kvb_hist_percentile(h, 100), 100000000000ull);
    uint64_t lo, hi;
    size_t i = kvb_hist_index(100000000000ull);
    assert_true(i < KVB_HIST_NBUCKETS - 1); /* 100 s is inside the range, not in the overflow bucket */
    kvb_hist_bucket_range(i, &lo, &hi);
    assert_true(lo <= 100000000000ull && 100000000000ull <= hi);
    assert_true((double)(hi - lo + 1) <= 100000000000.0 / 128 + 1);
    /* every bucket's bounds invert its index */
    for (size_t k = 0; k < KVB_HIST_NBUCKETS - 1; k++) {
        kvb_hist_bucket_range(k, &lo, &hi);
        assert_int_equal(kvb_hist_index(lo), k);
        assert_int_equal(kvb_hist_index(hi), k);
        if (lo >= 128)
            assert_true((double)(hi - lo) / (double)lo <= 1.0 / 128);
    }
    kvb_hist_record(h, UINT64_MAX / 2); /* beyond the range: counted, max exact */
    assert_int_equal(h->max, UINT64_MAX / 2);
    assert_int_equal(kvb_hist_percentile(h, 100), UINT64_MAX / 2);
    uint64_t acc[2] = {0, 0};
    kvb_hist_foreach(h, count_cb, acc);
    assert_int_equal(acc[0], 3);
    free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uniform),     cmocka_unit_test(test_lognormal),
        cmocka_unit_test(test_bimodal),     cmocka_unit_test(test_merge_equals_single),
        cmocka_unit_test(test_extremes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
