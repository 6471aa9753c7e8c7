/* alex_load_order.c - what the insert order costs ALEX: the same keys inserted ascending (every key
 * an append), descending (every key a prepend) and in random order, into an empty index, rounds
 * interleaved so machine contention hits the orders alike. The figure is the median round, in
 * thread CPU ns per insert; then the shape (depth, bytes/key) and a full validate.
 * Usage: alex_load_order [n=1000000] [rounds=3]   (keys: sorted random int64 with random gaps) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "alex_index.h"

enum { ORD_ASC, ORD_DESC, ORD_RANDOM, NORD };
static const char *const ord_name[NORD] = {"ascending", "descending", "random"};

static uint64_t lo_rnd(uint64_t *s)
{
    uint64_t x = (*s += 0x9e3779b97f4a7c15ull);
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static double lo_cpu(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int lo_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* One load of keys in the given order; ns per insert, or -1 on an error (printed). */
static double lo_load(const int64_t *keys, size_t n, int ord, const size_t *perm, alex_stats *st)
{
    alex_index *ix;
    if (alex_create(&ix, NULL) != ALEX_OK) {
        fprintf(stderr, "alex_load_order: alex_create failed\n");
        return -1.0;
    }
    double t0 = lo_cpu();
    for (size_t i = 0; i < n; i++) {
        size_t j = ord == ORD_ASC ? i : ord == ORD_DESC ? n - 1 - i : perm[i];
        int rc = alex_insert(ix, keys[j], (uint64_t)j);
        if (rc != ALEX_OK) {
            fprintf(stderr, "alex_load_order: %s insert %zu failed (%d)\n", ord_name[ord], i, rc);
            alex_destroy(ix);
            return -1.0;
        }
    }
    double ns = (lo_cpu() - t0) * 1e9 / (double)n;
    char err[256];
    if (alex_validate(ix, err, sizeof err) != ALEX_OK || alex_size(ix) != n) {
        fprintf(stderr, "alex_load_order: %s load invalid: %s\n", ord_name[ord], err);
        alex_destroy(ix);
        return -1.0;
    }
    alex_get_stats(ix, st);
    alex_destroy(ix);
    return ns;
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
    int rounds = argc > 2 ? atoi(argv[2]) : 3;
    if (n < 2 || rounds < 1 || rounds > 99) {
        fprintf(stderr, "usage: alex_load_order [n>=2] [rounds 1..99]\n");
        return 2;
    }
    int64_t *keys = malloc(n * sizeof(*keys));
    size_t *perm = malloc(n * sizeof(*perm));
    double *ns = malloc((size_t)rounds * NORD * sizeof(*ns));
    if (keys == NULL || perm == NULL || ns == NULL) {
        fprintf(stderr, "alex_load_order: out of memory\n");
        return 1;
    }
    uint64_t seed = 42;
    int64_t k = -(int64_t)(n * 500);
    for (size_t i = 0; i < n; i++) {
        k += 1 + (int64_t)(lo_rnd(&seed) % 1000);
        keys[i] = k;
        perm[i] = i;
    }
    for (size_t i = n; i > 1; i--) {
        size_t j = lo_rnd(&seed) % i, t = perm[i - 1];
        perm[i - 1] = perm[j];
        perm[j] = t;
    }
    alex_stats st[NORD];
    for (int r = 0; r < rounds; r++)
        for (int o = 0; o < NORD; o++)
            if ((ns[o * rounds + r] = lo_load(keys, n, o, perm, &st[o])) < 0.0)
                return 1;
    printf("== %zu keys, median of %d rounds, thread CPU ns per insert\n", n, rounds);
    printf("%-11s %9s %6s %10s %8s %8s\n", "order", "ns/key", "depth", "bytes/key", "expand", "splits");
    for (int o = 0; o < NORD; o++) {
        qsort(ns + o * rounds, (size_t)rounds, sizeof(double), lo_cmp_double);
        printf("%-11s %9.0f %6llu %10.2f %8llu %8llu\n", ord_name[o], ns[o * rounds + rounds / 2],
               (unsigned long long)st[o].max_depth, st[o].bytes_per_key, (unsigned long long)st[o].num_expansions,
               (unsigned long long)(st[o].num_splits_sideways + st[o].num_splits_down));
    }
    free(keys);
    free(perm);
    free(ns);
    return 0;
}
