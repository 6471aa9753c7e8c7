/* test_zipf.c - the zipf sampler against exact rank probabilities, and the rank -> key scrambling. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "workload.h"
#include "wl_internal.h"
#include "testenv.h"

/* exact probabilities p[k] of rank k in [0, n) for weight (k+1)^-theta */
static double *zipf_probs(uint64_t n, double theta)
{
    double *p = malloc(n * sizeof(*p));
    assert_non_null(p);
    double sum = 0;
    for (uint64_t k = n; k-- > 0;) { /* smallest terms first for accuracy */
        p[k] = pow((double)(k + 1), -theta);
        sum += p[k];
    }
    for (uint64_t k = 0; k < n; k++)
        p[k] /= sum;
    return p;
}

/* Pearson chi-square of counts against probabilities, merging tail ranks until every bin expects
 * >= 5; returns the statistic and the degrees of freedom. */
static double chi_square(const uint64_t *cnt, const double *p, uint64_t n, uint64_t draws, int *df)
{
    double chi = 0, e_acc = 0, o_acc = 0;
    int bins = 0;
    for (uint64_t k = 0; k < n; k++) {
        e_acc += p[k] * (double)draws;
        o_acc += (double)cnt[k];
        if (e_acc >= 5 || k == n - 1) {
            chi += (o_acc - e_acc) * (o_acc - e_acc) / e_acc;
            bins++;
            e_acc = o_acc = 0;
        }
    }
    *df = bins - 1;
    return chi;
}

/* Upper bound with a false-alarm probability of well under 1e-6 (normal approximation of chi^2). */
static double chi_limit(int df) { return df + 7.0 * sqrt(2.0 * df) + 10; }

static void check_small_n(double theta)
{
    const uint64_t n = 1000;
    uint64_t draws = sanitized() ? 200000 : 2000000;
    kv_zipf z;
    assert_int_equal(kv_zipf_init(&z, n, theta), 0);
    kv_rng r;
    kv_rng_seed(&r, 42 + (uint64_t)(theta * 1000));
    uint64_t *cnt = calloc(n, sizeof(*cnt));
    assert_non_null(cnt);
    for (uint64_t i = 0; i < draws; i++) {
        uint64_t k = kv_zipf_next(&z, &r);
        assert_true(k < n);
        cnt[k]++;
    }
    double *p = zipf_probs(n, theta);
    int df;
    double chi = chi_square(cnt, p, n, draws, &df);
    print_message("zipf n=%llu theta=%.2f: chi2=%.1f df=%d limit=%.1f\n", (unsigned long long)n, theta, chi, df,
                  chi_limit(df));
    assert_true(chi < chi_limit(df));
    /* the test has power: the same counts reject a slightly different exponent */
    double *q = zipf_probs(n, theta + 0.03);
    double chi_wrong = chi_square(cnt, q, n, draws, &df);
    assert_true(chi_wrong > chi_limit(df));
    free(p);
    free(q);
    free(cnt);
}

static void test_zipf_n1000_theta05(void **st) { (void)st; check_small_n(0.5); }
static void test_zipf_n1000_theta099(void **st) { (void)st; check_small_n(0.99); }
static void test_zipf_n1000_theta1(void **st) { (void)st; check_small_n(1.0); }
static void test_zipf_n1000_theta12(void **st) { (void)st; check_small_n(1.2); }

/* n = 1e6: each of the top ranks and the remaining mass within 5 binomial standard deviations. */
static void check_large_n(double theta)
{
    const uint64_t n = 1000000;
    const int top = 20;
    uint64_t draws = sanitized() ? 200000 : 2000000;
    kv_zipf z;
    assert_int_equal(kv_zipf_init(&z, n, theta), 0);
    kv_rng r;
    kv_rng_seed(&r, 7 + (uint64_t)(theta * 100));
    uint64_t cnt[21] = {0};
    uint64_t maxk = 0;
    for (uint64_t i = 0; i < draws; i++) {
        uint64_t k = kv_zipf_next(&z, &r);
        assert_true(k < n);
        if (k > maxk)
            maxk = k;
        cnt[k < (uint64_t)top ? k : (uint64_t)top]++;
    }
    double *p = zipf_probs(n, theta);
    double rest = 1;
    for (int k = 0; k <= top; k++) {
        double pk = k < top ? p[k] : rest;
        if (k < top)
            rest -= p[k];
        double mean = pk * (double)draws, sd = sqrt((double)draws * pk * (1 - pk));
        if (fabs((double)cnt[k] - mean) > 5 * sd + 1)
            fail_msg("theta %.2f rank %d: %llu draws, expected %.1f +- %.1f", theta, k, (unsigned long long)cnt[k],
                     mean, 5 * sd);
    }
    /* the tail is reached: ranks beyond half the range occur */
    assert_true(maxk > n / 2 || theta > 1.1);
    free(p);
}

static void test_zipf_n1e6_theta05(void **st) { (void)st; check_large_n(0.5); }
static void test_zipf_n1e6_theta099(void **st) { (void)st; check_large_n(0.99); }
static void test_zipf_n1e6_theta12(void **st) { (void)st; check_large_n(1.2); }

static void test_zipf_ranges(void **st)
{
    (void)st;
    kv_zipf z;
    kv_rng r;
    kv_rng_seed(&r, 1);
    assert_int_equal(kv_zipf_init(&z, 0, 0.99), -1);
    assert_int_equal(kv_zipf_init(&z, 10, 0.0), -1);
    assert_int_equal(kv_zipf_init(&z, 10, -1.0), -1);
    assert_int_equal(kv_zipf_init(&z, 10, NAN), -1);
    assert_int_equal(kv_zipf_init(&z, 1, 0.99), 0);
    for (int i = 0; i < 100; i++)
        assert_int_equal(kv_zipf_next(&z, &r), 0);
    const double thetas[] = {0.01, 0.5, 0.99, 1.0, 1.0 + 1e-12, 1.5, 3.0, 8.0};
    const uint64_t ns[] = {2, 3, 7, 64, 1ULL << 40};
    for (size_t a = 0; a < sizeof(thetas) / sizeof(thetas[0]); a++) {
        for (size_t b = 0; b < sizeof(ns) / sizeof(ns[0]); b++) {
            assert_int_equal(kv_zipf_init(&z, ns[b], thetas[a]), 0);
            int seen[64] = {0};
            for (int i = 0; i < 20000; i++) {
                uint64_t k = kv_zipf_next(&z, &r);
                assert_true(k < ns[b]);
                if (k < 64)
                    seen[k] = 1;
            }
            /* small ranges with mild skew: every rank occurs */
            if (ns[b] <= 7 && thetas[a] <= 1.5)
                for (uint64_t k = 0; k < ns[b]; k++)
                    assert_true(seen[k]);
            if (ns[b] <= 64 || thetas[a] >= 1.0)
                assert_true(seen[0]);
        }
    }
}

/* tiny ranges against their exact probabilities (rank 0 is handled apart by the sampler) */
static void test_zipf_tiny_exact(void **st)
{
    (void)st;
    const double thetas[] = {0.5, 1.0, 2.0};
    const uint64_t draws = 200000;
    for (int a = 0; a < 3; a++) {
        for (uint64_t n = 2; n <= 4; n++) {
            kv_zipf z;
            kv_rng r;
            kv_rng_seed(&r, n * 10 + (uint64_t)a);
            assert_int_equal(kv_zipf_init(&z, n, thetas[a]), 0);
            uint64_t cnt[4] = {0};
            for (uint64_t i = 0; i < draws; i++)
                cnt[kv_zipf_next(&z, &r)]++;
            double *p = zipf_probs(n, thetas[a]);
            for (uint64_t k = 0; k < n; k++) {
                double sd = sqrt((double)draws * p[k] * (1 - p[k]));
                if (fabs((double)cnt[k] - p[k] * (double)draws) > 5 * sd)
                    fail_msg("n %llu theta %.1f rank %llu: %llu, expected %.0f", (unsigned long long)n, thetas[a],
                             (unsigned long long)k, (unsigned long long)cnt[k], p[k] * (double)draws);
            }
            free(p);
        }
    }
}

static void test_perm_bijection(void **st)
{
    (void)st;
    const uint64_t counts[] = {1, 2, 3, 4, 5, 17, 100, 255, 256, 257, 1000, 4097, 65537};
    for (size_t c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
        for (uint64_t seed = 0; seed < 3; seed++) {
            uint64_t n = counts[c];
            kv__perm p;
            kv__perm_init(&p, n, seed);
            uint8_t *hit = calloc(n, 1);
            assert_non_null(hit);
            uint64_t fixed = 0;
            for (uint64_t x = 0; x < n; x++) {
                uint64_t y = kv__perm_apply(&p, x);
                assert_true(y < n);
                assert_int_equal(hit[y], 0);
                hit[y] = 1;
                fixed += (y == x);
            }
            /* it scrambles: few fixed points, and rank 0 does not always land on index 0 */
            if (n >= 1000)
                assert_true(fixed < n / 50);
            free(hit);
        }
    }
}

/* The hottest ranks land all over the index range: the first 1000 ranks of a 1e6 permutation fall
 * into each tenth of the range about 100 times. */
static void test_perm_spreads_hot_ranks(void **st)
{
    (void)st;
    kv__perm p;
    kv__perm_init(&p, 1000000, 3);
    int dec[10] = {0};
    for (uint64_t x = 0; x < 1000; x++)
        dec[kv__perm_apply(&p, x) / 100000]++;
    for (int d = 0; d < 10; d++)
        if (dec[d] < 55 || dec[d] > 145) /* binomial(1000, 0.1): sd 9.5, so ~ 4.7 sd */
            fail_msg("tenth %d holds %d of the 1000 hottest ranks", d, dec[d]);
}

/* Through the op stream: zipf access reaches every key (no key lost to hash mod count), the hottest
 * key is not simply index 0, and the hottest keys are spread over the key index range. */
static void test_scrambled_reaches_every_key(void **st)
{
    (void)st;
    kv_dataset *ds;
    const uint64_t n = 300;
    assert_int_equal(kv_dataset_create(&ds, KV_KEYS_SEQUENTIAL, n, 0, 5, 100), 0);
    kv_opstream *s;
    assert_int_equal(kv_opstream_create(&s, ds, kv_workload_find("read"), KV_ACCESS_ZIPF, 0.99, 0, 1, 9), 0);
    uint64_t *cnt = calloc(n, sizeof(*cnt));
    assert_non_null(cnt);
    for (int i = 0; i < 300000; i++) {
        kv_op op;
        assert_int_equal(kv_opstream_next(s, &op), 0);
        assert_int_equal(op.type, KV_OP_GET);
        assert_true(op.index < n);
        assert_int_equal(op.key, ds->keys[op.index]);
        cnt[op.index]++;
    }
    uint64_t hottest = 0;
    for (uint64_t i = 0; i < n; i++) {
        assert_true(cnt[i] > 0);
        if (cnt[i] > cnt[hottest])
            hottest = i;
    }
    /* the hottest key carries about 1/H(300, 0.99) ~ 16% of the accesses */
    double *p = zipf_probs(n, 0.99);
    assert_true(fabs((double)cnt[hottest] / 300000.0 - p[0]) < 0.01);
    /* the 10 hottest keys are not all among the first 10% of indexes */
    int low = 0;
    for (int r = 0; r < 10; r++) {
        uint64_t best = 0;
        for (uint64_t i = 0; i < n; i++)
            if (cnt[i] > cnt[best])
                best = i;
        low += best < n / 10;
        cnt[best] = 0;
    }
    assert_true(low < 6);
    free(p);
    free(cnt);
    kv_opstream_free(s);
    kv_dataset_free(ds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_zipf_ranges),
        cmocka_unit_test(test_zipf_tiny_exact),
        cmocka_unit_test(test_zipf_n1000_theta05),
        cmocka_unit_test(test_zipf_n1000_theta099),
        cmocka_unit_test(test_zipf_n1000_theta1),
        cmocka_unit_test(test_zipf_n1000_theta12),
        cmocka_unit_test(test_zipf_n1e6_theta05),
        cmocka_unit_test(test_zipf_n1e6_theta099),
        cmocka_unit_test(test_zipf_n1e6_theta12),
        cmocka_unit_test(test_perm_bijection),
        cmocka_unit_test(test_perm_spreads_hot_ranks),
        cmocka_unit_test(test_scrambled_reaches_every_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
