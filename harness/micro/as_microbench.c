/* as_microbench.c - AlexStorage alone (no harness): ns per put/get at N keys (100-byte values), recovery time.
 * Usage: as_microbench [N=1000000] [dir] [sync: none|each|group]
 * Without dir a temporary /tmp/as_micro.<pid> is used and removed; a given dir must be new or empty and is kept. */
#include "alex_index.h"
#include "alexstorage.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define VLEN 100

static double mb_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* CPU time of this process: less disturbed than wall time when other jobs share the cores. */
static double mb_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static uint64_t mb_mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static int mb_rm(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

static int mb_fail(const char *what, int rc, const char *msg)
{
    fprintf(stderr, "as_microbench: %s: %s: %s\n", what, as_strerror(rc), msg);
    return 1;
}

/* Random order over the positive int64 range, as the project's default key set. */
static int64_t mb_key(uint64_t i) { return (int64_t)(mb_mix(i) >> 1); }

static int mb_cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* The index alone (same keys, same lookup order): how much of a get is ALEX. */
static void mb_index_only(size_t n)
{
    int64_t *keys = malloc(n * sizeof(*keys));
    uint64_t *pay = malloc(n * sizeof(*pay));
    alex_index *ix;
    if (!keys || !pay || alex_create(&ix, NULL) != ALEX_OK) {
        free(keys), free(pay);
        return;
    }
    for (size_t i = 0; i < n; i++)
        keys[i] = mb_key(i), pay[i] = i;
    qsort(keys, n, sizeof(*keys), mb_cmp);
    if (alex_bulk_load(ix, keys, pay, n) == ALEX_OK) {
        double t0 = mb_now(), c0 = mb_cpu();
        uint64_t sum = 0, p;
        for (size_t i = 0; i < n; i++)
            if (alex_find(ix, mb_key(mb_mix(i + 77) % n), &p) == ALEX_OK)
                sum += p;
        double t1 = mb_now(), c1 = mb_cpu();
        printf("index only (alex_find, bulk-loaded): %.0f ns/op wall, %.0f ns/op CPU (sum %llu)\n",
               (t1 - t0) * 1e9 / (double)n, (c1 - c0) * 1e9 / (double)n, (unsigned long long)(sum & 0xff));
    }
    alex_destroy(ix);
    free(keys);
    free(pay);
}

/* n random gets; returns wall ns/op (and *cpu_ns CPU ns/op) or a negative status. */
static double mb_gets(as_session *s, size_t n, uint64_t *sum, double *cpu_ns)
{
    double t0 = mb_now(), c0 = mb_cpu();
    for (size_t i = 0; i < n; i++) {
        const void *p;
        size_t len;
        int rc = as_get(s, mb_key(mb_mix(i + 77) % n), &p, &len);
        if (rc != AS_OK) {
            mb_fail("get", rc, as_session_errmsg(s));
            return -1;
        }
        *sum += ((const unsigned char *)p)[len - 1]; /* touch the value, as the harness does */
    }
    *cpu_ns = (mb_cpu() - c0) * 1e9 / (double)n;
    return (mb_now() - t0) * 1e9 / (double)n;
}

static int mb_run(const char *dir, size_t n, enum as_sync_mode mode)
{
    as_options o;
    as_options_default(&o);
    o.sync_mode = mode;
    as_db *db;
    as_session *s;
    char err[1024];
    int rc = as_open(dir, &o, &db, err, sizeof(err));
    if (rc != AS_OK)
        return mb_fail("open", rc, err);
    if ((rc = as_session_open(db, &s)) != AS_OK)
        return mb_fail("session", rc, as_errmsg(db));
    unsigned char v[VLEN];
    double t0 = mb_now(), c0 = mb_cpu();
    for (size_t i = 0; i < n; i++) {
        int64_t k = mb_key(i);
        memcpy(v, &k, 8);
        memset(v + 8, (int)(i & 0xff), VLEN - 8);
        if ((rc = as_put(s, k, v, VLEN)) != AS_OK)
            return mb_fail("put", rc, as_session_errmsg(s));
    }
    double t1 = mb_now(), c1 = mb_cpu(), get_cpu;
    uint64_t sum = 0;
    double get_ns = mb_gets(s, n, &sum, &get_cpu);
    if (get_ns < 0)
        return 1;
    as_stats st;
    as_get_stats(db, &st);
    printf("n=%zu value=%d sync=%d\n", n, VLEN, (int)mode);
    printf("put: %.0f ns/op wall, %.0f ns/op CPU (%.2f s)\n", (t1 - t0) * 1e9 / (double)n,
           (c1 - c0) * 1e9 / (double)n, t1 - t0);
    printf("get: %.0f ns/op wall, %.0f ns/op CPU (random keys, record checksum verified)\n", get_ns, get_cpu);
    printf("index: %.1f bytes/key, depth %llu, %.2f search steps/lookup, %.2f shifts/insert; disk %llu bytes\n",
           st.index_bytes_per_key, (unsigned long long)st.index_depth, st.avg_search_steps, st.avg_shifts,
           (unsigned long long)st.disk_bytes);
    as_session_close(s);
    if ((rc = as_close(db)) != AS_OK)
        return mb_fail("close", rc, "");
    double t3 = mb_now(), c3 = mb_cpu();
    o.verify_reads = 0; /* recovery still verifies every record; gets after it do not */
    if ((rc = as_open(dir, &o, &db, err, sizeof(err))) != AS_OK)
        return mb_fail("reopen", rc, err);
    double t4 = mb_now(), c4 = mb_cpu();
    as_get_stats(db, &st);
    printf("recovery (reopen, scan + verify %llu records, bulk load %llu keys): %.3f s wall, %.3f s CPU\n",
           (unsigned long long)st.records_replayed, (unsigned long long)st.num_keys, t4 - t3, c4 - c3);
    if ((rc = as_session_open(db, &s)) != AS_OK)
        return mb_fail("session", rc, as_errmsg(db));
    get_ns = mb_gets(s, n, &sum, &get_cpu);
    if (get_ns < 0)
        return 1;
    printf("get after reopen, verify_reads=0: %.0f ns/op wall, %.0f ns/op CPU (value sum %llu)\n", get_ns, get_cpu,
           (unsigned long long)(sum & 0xff));
    as_session_close(s);
    as_close(db);
    return 0;
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
    char dir[256];
    int keep = argc > 2;
    if (keep)
        snprintf(dir, sizeof(dir), "%s", argv[2]);
    else
        snprintf(dir, sizeof(dir), "/tmp/as_micro.%d", (int)getpid());
    enum as_sync_mode mode = AS_SYNC_NONE;
    if (argc > 3 && strcmp(argv[3], "each") == 0)
        mode = AS_SYNC_EACH;
    else if (argc > 3 && strcmp(argv[3], "group") == 0)
        mode = AS_SYNC_GROUP;
    int rc = mb_run(dir, n, mode);
    mb_index_only(n);
    if (!keep)
        nftw(dir, mb_rm, 16, FTW_DEPTH | FTW_PHYS);
    return rc;
}
