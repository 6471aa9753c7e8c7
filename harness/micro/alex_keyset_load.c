/* alex_keyset_load.c - what a random-order load costs ALEX itself (no store, no log) on each
 * generated key set: the keys of kvbench's data set (same generator and seed), inserted in the
 * data set's order into an empty index, rounds interleaved over the key sets so that machine
 * contention hits them alike. The figures are the median round, in thread CPU ns:
 *   ins ns   per insert; smo%: the share of that time spent in inserts that ran a structural
 *            change (expand, split, contraction, root growth), timed per insert with the TSC
 *   steps    search steps per insert (locating the slot) and per lookup after the load
 *   shifts   slots moved per insert
 *   read ns  per lookup of a present key (random order) after the load
 * then the shape: depth (max / key-weighted mean), leaves, bytes/key, and the SMO counts.
 * Usage: alex_keyset_load [N=1000000] [keysets=uniform,...,osm-like] [rounds=3] [lookups=200000]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <x86intrin.h>

#include "alex_index.h"
#include "alex_internal.h" /* white-box: the SMO counters, read per insert without a tree walk */
#include "workload.h"

typedef struct kl_round {
    double ins_ns, smo_share, read_ns, lookup_steps;
    alex_stats st;
} kl_round;

static double kl_cpu(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static uint64_t kl_smos(const alex_index *ix)
{
    return ix->num_expansions + ix->num_splits_sideways + ix->num_splits_down + ix->num_contractions +
           ix->num_root_expansions;
}

static int kl_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int kl_round_run(const kv_dataset *ds, const int64_t *q, size_t nq, kl_round *r)
{
    alex_index *ix;
    if (alex_create(&ix, NULL) != ALEX_OK)
        return -1;
    uint64_t smo_ticks = 0, all_ticks = 0;
    double t0 = kl_cpu();
    for (uint64_t i = 0; i < ds->n; i++) {
        uint64_t before = kl_smos(ix), c0 = __rdtsc();
        if (alex_insert(ix, ds->keys[i], i) != ALEX_OK) {
            fprintf(stderr, "alex_keyset_load: insert %llu failed\n", (unsigned long long)i);
            alex_destroy(ix);
            return -1;
        }
        uint64_t dt = __rdtsc() - c0;
        all_ticks += dt;
        if (kl_smos(ix) != before)
            smo_ticks += dt;
    }
    r->ins_ns = (kl_cpu() - t0) * 1e9 / (double)ds->n;
    r->smo_share = all_ticks ? (double)smo_ticks / (double)all_ticks : 0.0;
    alex_stats s0;
    alex_get_stats(ix, &s0);
    uint64_t pay, miss = 0;
    t0 = kl_cpu();
    for (size_t i = 0; i < nq; i++)
        miss += alex_find(ix, q[i], &pay) != ALEX_OK;
    r->read_ns = (kl_cpu() - t0) * 1e9 / (double)nq;
    char err[256];
    if (miss != 0 || alex_validate(ix, err, sizeof err) != ALEX_OK || alex_size(ix) != ds->n) {
        fprintf(stderr, "alex_keyset_load: index invalid after load (%llu misses): %s\n", (unsigned long long)miss,
                err);
        alex_destroy(ix);
        return -1;
    }
    alex_get_stats(ix, &r->st);
    r->lookup_steps = (double)(r->st.num_search_steps - s0.num_search_steps) / (double)nq;
    alex_destroy(ix);
    return 0;
}

int main(int argc, char **argv)
{
    uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
    const char *sets = argc > 2 ? argv[2] : "uniform,lognormal,normal,clustered,fb-like,osm-like";
    int rounds = argc > 3 ? atoi(argv[3]) : 3;
    size_t nq = argc > 4 ? strtoull(argv[4], NULL, 10) : 200000;
    if (n < 1000 || rounds < 1 || rounds > 99 || nq < 1) {
        fprintf(stderr, "usage: alex_keyset_load [N>=1000] [keysets] [rounds 1..99] [lookups>=1]\n");
        return 2;
    }
    enum kv_keyset ks[16];
    int nks = 0;
    char *list = strdup(sets);
    for (char *t = strtok(list, ","); t != NULL && nks < 16; t = strtok(NULL, ",")) {
        if (kv_keyset_parse(t, &ks[nks]) != 0) {
            fprintf(stderr, "alex_keyset_load: unknown key set '%s'\n", t);
            return 2;
        }
        nks++;
    }
    free(list);
    kv_dataset *ds[16];
    int64_t *q[16];
    kl_round *res = calloc((size_t)nks * (size_t)rounds, sizeof(*res));
    uint64_t seed = 42;
    for (int k = 0; k < nks; k++) {
        if (kv_dataset_create(&ds[k], ks[k], n, 0, 42, 100) != 0 || (q[k] = malloc(nq * sizeof(int64_t))) == NULL) {
            fprintf(stderr, "alex_keyset_load: data set %s failed\n", kv_keyset_name(ks[k]));
            return 1;
        }
        for (size_t i = 0; i < nq; i++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            q[k][i] = ds[k]->keys[(seed >> 11) % n];
        }
    }
    for (int r = 0; r < rounds; r++)
        for (int k = 0; k < nks; k++)
            if (kl_round_run(ds[k], q[k], nq, &res[k * rounds + r]) != 0)
                return 1;
    printf("== N=%llu, median of %d rounds (thread CPU ns; smo%% from TSC ticks per insert)\n", (unsigned long long)n,
           rounds);
    printf("%-10s %7s %5s %9s %9s %7s %7s %6s %6s %7s %9s %7s %7s %6s\n", "keyset", "ins_ns", "smo%", "ins_steps",
           "lkp_steps", "shifts", "read_ns", "depth", "avgdep", "leaves", "bytes/key", "expand", "split_s", "split_d");
    for (int k = 0; k < nks; k++) {
        kl_round *rr = &res[k * rounds];
        double v[4][99];
        for (int r = 0; r < rounds; r++) {
            v[0][r] = rr[r].ins_ns;
            v[1][r] = rr[r].smo_share;
            v[2][r] = rr[r].read_ns;
            v[3][r] = rr[r].lookup_steps;
        }
        for (int j = 0; j < 4; j++)
            qsort(v[j], (size_t)rounds, sizeof(double), kl_cmp);
        const alex_stats *st = &rr[0].st;
        printf("%-10s %7.0f %5.1f %9.2f %9.2f %7.2f %7.0f %6llu %6.2f %7llu %9.2f %7llu %7llu %6llu\n",
               kv_keyset_name(ks[k]), v[0][rounds / 2], 100.0 * v[1][rounds / 2],
               (double)st->num_insert_steps / (double)st->num_inserts, v[3][rounds / 2],
               (double)st->num_shifts / (double)st->num_inserts, v[2][rounds / 2], (unsigned long long)st->max_depth,
               st->avg_depth, (unsigned long long)st->num_data_nodes, st->bytes_per_key,
               (unsigned long long)st->num_expansions, (unsigned long long)st->num_splits_sideways,
               (unsigned long long)st->num_splits_down);
        kv_dataset_free(ds[k]);
        free(q[k]);
    }
    free(res);
    return 0;
}
