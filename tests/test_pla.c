/* test_pla.c - the streaming optimal-PLA segment count equals a brute-force greedy count. */
#include "workload.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* Does the line through (x1, y1) and (x2, y2), x1 < x2, pass within eps of every (keys[i], i) for
 * i in [s, e]? Exact: multiplied out by (x2 - x1) > 0, in 128-bit integers. */
static int line_fits(const int64_t *keys, uint64_t s, uint64_t e, __int128 x1, __int128 y1, __int128 x2,
                     __int128 y2, __int128 eps)
{
    __int128 dx = x2 - x1, dy = y2 - y1;
    for (uint64_t i = s; i <= e; i++) {
        __int128 f = dy * ((__int128)keys[i] - x1); /* (f(x) - y1) * dx */
        __int128 lo = ((__int128)i - eps - y1) * dx, hi = ((__int128)i + eps - y1) * dx;
        if (f < lo || f > hi)
            return 0;
    }
    return 1;
}

/* A fitting line exists iff one exists through two segment ends of different keys (a vertex of the
 * bounded feasible polygon in the dual plane), so trying every such pair decides it. */
static int feasible(const int64_t *keys, uint64_t s, uint64_t e, __int128 eps)
{
    if (e == s)
        return 1;
    for (uint64_t i = s; i <= e; i++)
        for (uint64_t j = i + 1; j <= e; j++)
            for (int a = -1; a <= 1; a += 2)
                for (int b = -1; b <= 1; b += 2)
                    if (line_fits(keys, s, e, keys[i], (__int128)i + a * eps, keys[j], (__int128)j + b * eps, eps))
                        return 1;
    return 0;
}

/* Greedy: the longest feasible segment from each start (feasibility is monotone in the end, so a
 * binary search finds it). */
static uint64_t brute_segments(const int64_t *keys, uint64_t n, uint64_t eps)
{
    uint64_t count = 0;
    for (uint64_t s = 0; s < n;) {
        uint64_t lo = s, hi = n - 1; /* lo feasible */
        while (lo < hi) {
            uint64_t mid = lo + (hi - lo + 1) / 2;
            if (feasible(keys, s, mid, (__int128)eps))
                lo = mid;
            else
                hi = mid - 1;
        }
        count++;
        s = lo + 1;
    }
    return count;
}

static uint64_t rnd(uint64_t *s)
{
    *s += 0x9e3779b97f4a7c15ULL;
    return kv_mix64(*s);
}

/* Random shapes: uniform gaps, heavy-tailed gaps, clusters, a convex curve, and huge keys near the
 * int64 ends. */
static void make_keys(int shape, uint64_t n, uint64_t *seed, int64_t *keys)
{
    int64_t pos = shape == 4 ? INT64_MIN + 1 : 1;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t g;
        switch (shape) {
        case 0: g = 1 + rnd(seed) % 100; break;
        case 1: g = 1 + ((rnd(seed) % 1000 == 0) ? rnd(seed) % 1000000 : rnd(seed) % 10); break;
        case 2: g = (i % 37 == 0) ? 1 + rnd(seed) % 100000 : 1 + rnd(seed) % 3; break;
        case 3: g = 1 + i * i / 7 + rnd(seed) % 5; break;
        default: g = 1 + (rnd(seed) >> 9); break; /* gaps up to 2^55: spans much of int64 */
        }
        keys[i] = pos;
        pos += (int64_t)g;
    }
}

static void test_pla_matches_brute_force(void **st)
{
    (void)st;
    uint64_t seed = 3;
    int64_t keys[400];
    const uint64_t eps_list[] = {1, 2, 4, 8, 32};
    int cases = 0;
    for (int shape = 0; shape < 5; shape++)
        for (size_t k = 0; k < sizeof(eps_list) / sizeof(eps_list[0]); k++)
            for (int rep = 0; rep < 3; rep++) {
                uint64_t n = 150 + rnd(&seed) % 250;
                make_keys(shape, n, &seed, keys);
                uint64_t fast = 0, slow = brute_segments(keys, n, eps_list[k]);
                assert_int_equal(kv_pla_segments(keys, n, eps_list[k], &fast), 0);
                if (fast != slow)
                    fail_msg("shape %d n %llu eps %llu: streaming %llu segments, brute force %llu", shape,
                             (unsigned long long)n, (unsigned long long)eps_list[k], (unsigned long long)fast,
                             (unsigned long long)slow);
                cases++;
            }
    print_message("%d cases agree\n", cases);
}

static void test_pla_edges(void **st)
{
    (void)st;
    uint64_t seg = 99;
    assert_int_equal(kv_pla_segments(NULL, 0, 32, &seg), 0);
    assert_int_equal(seg, 0);
    int64_t one = 5, line[1000];
    assert_int_equal(kv_pla_segments(&one, 1, 32, &seg), 0);
    assert_int_equal(seg, 1);
    for (int i = 0; i < 1000; i++)
        line[i] = 7 + 3 * i;
    assert_int_equal(kv_pla_segments(line, 1000, 1, &seg), 0);
    assert_int_equal(seg, 1); /* evenly spaced keys: one exact line */
    line[500] = line[499]; /* not ascending */
    assert_int_equal(kv_pla_segments(line, 1000, 1, &seg), -1);
    /* a larger eps never needs more segments */
    uint64_t s = 9, a, b;
    int64_t *k = malloc(100000 * sizeof(*k));
    assert_non_null(k);
    make_keys(1, 100000, &s, k);
    assert_int_equal(kv_pla_segments(k, 100000, 32, &a), 0);
    assert_int_equal(kv_pla_segments(k, 100000, 4096, &b), 0);
    assert_true(b <= a && b >= 1);
    free(k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pla_matches_brute_force),
        cmocka_unit_test(test_pla_edges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
