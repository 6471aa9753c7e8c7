/* index_ablation.c - what the learned index buys inside AlexStorage: the same store with index=alex,
 * btree and sorted, beside LMDB and the memory hash table, on each generated key set, measured in
 * ONE process with the variants' rounds interleaved, so machine contention hits them alike.
 *
 * Per key set: load (puts in the data set's random order; `sorted` is bulk loaded, it takes no
 * puts), then R rounds of Q gets of present keys and R rounds of Q mixed ops (80% get, 10% update,
 * 10% insert; not on `sorted`), each variant once per round; the figure is the median round, in
 * thread CPU ns per op. Then index bytes/key and depth, and reopen time after a clean close beside
 * the load time (wall clock).
 * Usage: index_ablation [N=1000000] [keysets=uniform,clustered,lognormal,normal,fb-like,osm-like]
 *                       [Q=200000] [R=5] [variants=alex,btree,sorted,lmdb,memory]
 * (btree is always run: the other figures are given as ratios to it)
 */
#include "engine.h"
#include "workload.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define VLEN 100
enum { V_ALEX, V_BTREE, V_SORTED, V_LMDB, V_MEMORY, NV };
static const char *const vname[NV] = {"alex", "btree", "sorted", "lmdb", "memory"};
static int g_on[NV] = {1, 1, 1, 1, 1};

typedef struct variant {
    const kv_engine_ops *ops;
    kv_option opt;
    kv_config cfg;
    char dir[64];
    kv_engine *e;
    kv_session *s;
    double load_wall, reopen_wall;
    double *read_ns, *mixed_ns; /* per round */
    char bpk[32], depth[32];
} variant;

static double ab_wall(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static double ab_cpu(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void ab_die(const char *what, const char *err)
{
    fprintf(stderr, "index_ablation: %s: %s\n", what, err);
    exit(1);
}

static int ab_rm(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)st, (void)flag, (void)f;
    return remove(p);
}

static void ab_open(variant *v)
{
    char err[1024];
    if (kv_engine_open(v->ops, &v->cfg, &v->e, err, sizeof(err)) != KV_OK)
        ab_die("open", err);
    if (v->ops->session_open(v->e, &v->s) != KV_OK)
        ab_die("session", v->e->err);
}

static void ab_close(variant *v)
{
    v->ops->session_close(v->s);
    if (v->ops->close(v->e) != KV_OK)
        ab_die("close", "failed");
}

static kv_slice ab_value(void *arg, int64_t key)
{
    static unsigned char buf[VLEN];
    kv_value_make(*(uint64_t *)arg, key, 1, buf, VLEN);
    return (kv_slice){buf, VLEN};
}

static void ab_load(variant *v, int idx, const kv_dataset *ds, const int64_t *sorted, uint64_t seed)
{
    unsigned char buf[VLEN];
    double t0 = ab_wall();
    if (idx == V_SORTED) {
        if (v->ops->bulk_load(v->s, sorted, ds->n, ab_value, &seed) != KV_OK)
            ab_die("bulk load", v->s->err);
    } else {
        for (uint64_t i = 0; i < ds->n; i++) {
            kv_value_make(seed, ds->keys[i], 1, buf, VLEN);
            if (v->ops->put(v->s, ds->keys[i], buf, VLEN) != KV_OK)
                ab_die("put", v->s->err);
        }
    }
    v->load_wall = ab_wall() - t0;
}

static double ab_reads(variant *v, const int64_t *q, size_t nq)
{
    kv_slice val;
    double t0 = ab_cpu();
    for (size_t i = 0; i < nq; i++)
        if (v->ops->get(v->s, q[i], &val) != KV_OK)
            ab_die("get", v->s->err);
    return (ab_cpu() - t0) * 1e9 / (double)nq;
}

/* 80% get, 10% update of q[i], 10% insert of the next fresh key. */
static double ab_mixed(variant *v, const int64_t *q, size_t nq, const int64_t *fresh, size_t *nf, uint64_t seed)
{
    unsigned char buf[VLEN];
    kv_slice val;
    double t0 = ab_cpu();
    for (size_t i = 0; i < nq; i++) {
        unsigned r = (unsigned)(kv_mix64(seed + i) % 10);
        int rc;
        if (r < 8) {
            rc = v->ops->get(v->s, q[i], &val);
        } else if (r == 8) {
            kv_value_make(seed, q[i], 2, buf, VLEN);
            rc = v->ops->put(v->s, q[i], buf, VLEN);
        } else {
            int64_t k = fresh[(*nf)++];
            kv_value_make(seed, k, 1, buf, VLEN);
            rc = v->ops->put(v->s, k, buf, VLEN);
        }
        if (rc != KV_OK)
            ab_die("mixed op", v->s->err);
    }
    return (ab_cpu() - t0) * 1e9 / (double)nq;
}

static void ab_stat(void *arg, const char *name, const char *value)
{
    variant *v = arg;
    if (strcmp(name, "index_bytes_per_key") == 0)
        snprintf(v->bpk, sizeof(v->bpk), "%s", value);
    if (strcmp(name, "index_depth") == 0)
        snprintf(v->depth, sizeof(v->depth), "%s", value);
}

static int ab_cmpd(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double ab_median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), ab_cmpd);
    return v[n / 2];
}

static void ab_keyset(enum kv_keyset ks, uint64_t n, size_t nq, int rounds)
{
    uint64_t seed = 42;
    kv_dataset *ds;
    size_t pool = nq * (size_t)rounds / 10 + 16;
    if (kv_dataset_create(&ds, ks, n, pool, seed, VLEN) != 0)
        ab_die("dataset", kv_keyset_name(ks));
    int64_t *sorted = kv_dataset_sorted_loaded(ds), *q = malloc(nq * sizeof(*q));
    if (!sorted || !q)
        ab_die("dataset", "out of memory");
    variant v[NV];
    memset(v, 0, sizeof(v));
    for (int i = 0; i < NV; i++) {
        if (!g_on[i])
            continue;
        v[i].ops = kv_engine_find(i <= V_SORTED ? "alexstorage" : vname[i]);
        if (!v[i].ops)
            ab_die("engine", vname[i]);
        v[i].opt = (kv_option){"index", vname[i]};
        v[i].cfg = (kv_config){.durability = KV_DUR_NONE, .expected_keys = n + pool, .value_size = VLEN,
                               .threads = 1, .opts = i <= V_SORTED ? &v[i].opt : NULL, .nopts = i <= V_SORTED};
        snprintf(v[i].dir, sizeof(v[i].dir), "/tmp/ixabl-%s-XXXXXX", vname[i]);
        if (!mkdtemp(v[i].dir))
            ab_die("mkdtemp", v[i].dir);
        v[i].cfg.dir = v[i].dir;
        v[i].read_ns = calloc((size_t)rounds, sizeof(double));
        v[i].mixed_ns = calloc((size_t)rounds, sizeof(double));
        ab_open(&v[i]);
        ab_load(&v[i], i, ds, sorted, seed);
    }
    for (int r = 0; r < rounds; r++) {
        for (size_t i = 0; i < nq; i++)
            q[i] = ds->keys[kv_mix64(seed * 1000 + (uint64_t)r * nq + i) % n];
        for (int i = 0; i < NV; i++)
            if (g_on[(i + r) % NV])
                v[(i + r) % NV].read_ns[r] = ab_reads(&v[(i + r) % NV], q, nq);
    }
    for (int i = 0; i < NV; i++) {
        size_t nf = 0;
        for (int r = 0; r < rounds && i != V_SORTED && g_on[i]; r++) {
            for (size_t j = 0; j < nq; j++)
                q[j] = ds->keys[kv_mix64(seed * 7000 + (uint64_t)r * nq + j) % n];
            v[i].mixed_ns[r] = ab_mixed(&v[i], q, nq, ds->keys + n, &nf, seed + (uint64_t)r);
        }
    }
    printf("\n== %s, N=%llu (median of %d rounds of %zu ops, thread CPU ns/op)\n", kv_keyset_name(ks),
           (unsigned long long)n, rounds, nq);
    printf("%-7s %9s %9s %9s %9s %7s %5s %9s %9s %7s\n", "index", "read_ns", "rd/btree", "rd/lmdb", "mixed_ns",
           "mx/lmdb", "depth", "bytes/key", "load_s", "reopen/load");
    double rd[NV], mx[NV];
    for (int i = 0; i < NV; i++) {
        if (!g_on[i])
            continue;
        rd[i] = ab_median(v[i].read_ns, rounds);
        mx[i] = i == V_SORTED ? 0 : ab_median(v[i].mixed_ns, rounds);
        if (v[i].ops->stats)
            v[i].ops->stats(v[i].e, ab_stat, &v[i]);
        ab_close(&v[i]);
        double t0 = ab_wall();
        ab_open(&v[i]);
        v[i].reopen_wall = ab_wall() - t0;
        ab_close(&v[i]);
        nftw(v[i].dir, ab_rm, 16, FTW_DEPTH | FTW_PHYS);
    }
    for (int i = 0; i < NV; i++) {
        if (!g_on[i])
            continue;
        printf("%-7s %9.0f %9.2f %9.2f ", vname[i], rd[i], rd[i] / rd[V_BTREE], g_on[V_LMDB] ? rd[i] / rd[V_LMDB] : 0.0);
        if (i == V_SORTED)
            printf("%9s %7s ", "-", "-");
        else
            printf("%9.0f %7.2f ", mx[i], g_on[V_LMDB] ? mx[i] / mx[V_LMDB] : 0.0);
        printf("%5s %9s %9.2f %7.3f\n", v[i].depth[0] ? v[i].depth : "-", v[i].bpk[0] ? v[i].bpk : "-",
               v[i].load_wall, v[i].reopen_wall / v[i].load_wall);
        free(v[i].read_ns);
        free(v[i].mixed_ns);
    }
    fflush(stdout);
    free(sorted);
    free(q);
    kv_dataset_free(ds);
}

int main(int argc, char **argv)
{
    uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
    char sets[256];
    snprintf(sets, sizeof(sets), "%s", argc > 2 ? argv[2] : "uniform,clustered,lognormal,normal,fb-like,osm-like");
    size_t nq = argc > 3 ? strtoull(argv[3], NULL, 10) : 200000;
    int rounds = argc > 4 ? atoi(argv[4]) : 5;
    if (argc > 5) {
        for (int i = 0; i < NV; i++)
            g_on[i] = i == V_BTREE || strstr(argv[5], vname[i]) != NULL;
    }
    if (n < 1000 || nq < 1000 || rounds < 1) {
        fprintf(stderr, "usage: index_ablation [N>=1000] [keysets] [Q>=1000] [R>=1]\n");
        return 2;
    }
    for (char *save = NULL, *t = strtok_r(sets, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        enum kv_keyset ks;
        if (kv_keyset_parse(t, &ks) != 0) {
            fprintf(stderr, "index_ablation: unknown key set '%s'\n", t);
            return 2;
        }
        ab_keyset(ks, n, nq, rounds);
    }
    return 0;
}
