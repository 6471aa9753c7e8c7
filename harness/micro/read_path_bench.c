/* read_path_bench.c - AlexStorage get path broken into parts (index, lock, record fetch, checksum), ns per op.
 * Usage: read_path_bench [N=1000000] [reps=5] [dir]
 * Loads N keys with as_put (100-byte values), closes and reopens (as kvbench does), then times each
 * stage over the same N random lookups (keys precomputed, so key generation is not timed) and prints
 * the best CPU ns/op of `reps` passes. Parts are found by difference between stages. Under
 * `valgrind --tool=callgrind --toggle-collect='rp_stage_*'` each stage is dumped as its own part
 * (callgrind.out.N.1, .2, ...; the part's "Dump reason" names the stage): instructions / N = per get. */
#include "as_internal.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <valgrind/callgrind.h>
#include <xxhash.h>

#define VLEN 100

static double rp_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static uint64_t rp_mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static int64_t rp_key(uint64_t i) { return (int64_t)(rp_mix(i) >> 1); }

static int rp_rm(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

typedef struct rp_ctx {
    as_db *db;
    as_session *s;
    const int64_t *q;  /* lookup keys, random order */
    const uint64_t *loc; /* their locators (for the record-fetch-only stage) */
    size_t n;
    uint64_t sink;
} rp_ctx;

/* Each stage is its own non-inlined function so callgrind can count it alone. */
__attribute__((noinline)) static void rp_stage_loop(rp_ctx *c)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < c->n; i++)
        sum += (uint64_t)c->q[i];
    c->sink += sum;
}

__attribute__((noinline)) static void rp_stage_alex_find(rp_ctx *c)
{
    uint64_t sum = 0, p;
    for (size_t i = 0; i < c->n; i++)
        if (as_index_find(c->db->index, c->q[i], &p) == AS_IX_OK)
            sum += p;
    c->sink += sum;
}

__attribute__((noinline)) static void rp_stage_locked_find(rp_ctx *c)
{
    uint64_t sum = 0, p;
    for (size_t i = 0; i < c->n; i++) {
        as_sess_enter(c->s);
        pthread_mutex_lock(&c->s->lock);
        if (as_index_find(c->db->index, c->q[i], &p) == AS_IX_OK)
            sum += p;
        pthread_mutex_unlock(&c->s->lock);
    }
    c->sink += sum;
}

__attribute__((noinline)) static void rp_stage_lock_only(rp_ctx *c)
{
    for (size_t i = 0; i < c->n; i++) {
        as_sess_enter(c->s);
        pthread_mutex_lock(&c->s->lock);
        c->sink += (uint64_t)c->q[i];
        pthread_mutex_unlock(&c->s->lock);
    }
}

__attribute__((noinline)) static void rp_stage_resolve(rp_ctx *c)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < c->n; i++) {
        const void *v;
        size_t len;
        if (as_resolve(c->s, c->loc[i], c->q[i], &v, &len) == AS_OK)
            sum += len;
    }
    c->sink += sum;
}

__attribute__((noinline)) static void rp_stage_get(rp_ctx *c)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < c->n; i++) {
        const void *v;
        size_t len;
        if (as_get(c->s, c->q[i], &v, &len) == AS_OK)
            sum += len;
    }
    c->sink += sum;
}

__attribute__((noinline)) static void rp_stage_get_touch(rp_ctx *c)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < c->n; i++) {
        const void *v;
        size_t len;
        if (as_get(c->s, c->q[i], &v, &len) != AS_OK)
            continue;
        for (size_t j = 0; j + 8 <= len; j += 8) { /* read the whole value, as kvbench's touch() */
            uint64_t x;
            memcpy(&x, (const unsigned char *)v + j, 8);
            sum += x;
        }
    }
    c->sink += sum;
}

/* XXH3 over a record's checksummed bytes (124 for a 100-byte value) of a cache-hot buffer. */
__attribute__((noinline)) static void rp_stage_xxh3_hot(rp_ctx *c)
{
    unsigned char buf[AS_REC_HEADER_BYTES + VLEN];
    memset(buf, 7, sizeof(buf));
    uint64_t sum = 0;
    for (size_t i = 0; i < c->n; i++) {
        memcpy(buf + 16, &c->q[i], 8);
        sum += XXH3_64bits(buf + 8, AS_REC_HEADER_BYTES - 8 + VLEN);
    }
    c->sink += sum;
}

typedef void (*rp_fn)(rp_ctx *);

static double rp_time(rp_ctx *c, rp_fn f, int reps)
{
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        double t0 = rp_cpu();
        f(c);
        double t = (rp_cpu() - t0) * 1e9 / (double)c->n;
        if (t < best)
            best = t;
    }
    return best;
}

static int rp_fail(const char *what, int rc, const char *msg)
{
    fprintf(stderr, "read_path_bench: %s: %s: %s\n", what, as_strerror(rc), msg);
    return 1;
}

static int rp_load(const char *dir, size_t n)
{
    as_options o;
    as_options_default(&o);
    o.sync_mode = AS_SYNC_NONE;
    as_db *db;
    as_session *s;
    char err[1024];
    int rc = as_open(dir, &o, &db, err, sizeof(err));
    if (rc != AS_OK)
        return rp_fail("open", rc, err);
    if ((rc = as_session_open(db, &s)) != AS_OK)
        return rp_fail("session", rc, as_errmsg(db));
    unsigned char v[VLEN];
    for (size_t i = 0; i < n && rc == AS_OK; i++) {
        int64_t k = rp_key(i);
        memcpy(v, &k, 8);
        memset(v + 8, (int)(i & 0xff), VLEN - 8);
        rc = as_put(s, k, v, VLEN);
    }
    if (rc != AS_OK)
        return rp_fail("put", rc, as_session_errmsg(s));
    as_session_close(s);
    if ((rc = as_close(db)) != AS_OK)
        return rp_fail("close", rc, "");
    return 0;
}

static int rp_run(const char *dir, size_t n, int reps)
{
    if (rp_load(dir, n) != 0)
        return 1;
    as_options o;
    as_options_default(&o);
    as_db *db;
    char err[1024];
    int rc = as_open(dir, &o, &db, err, sizeof(err));
    if (rc != AS_OK)
        return rp_fail("reopen", rc, err);
    rp_ctx c = {.db = db, .n = n};
    if ((rc = as_session_open(db, &c.s)) != AS_OK)
        return rp_fail("session", rc, as_errmsg(db));
    int64_t *q = malloc(n * sizeof(*q));
    uint64_t *loc = malloc(n * sizeof(*loc));
    if (!q || !loc)
        return rp_fail("keys", AS_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        q[i] = rp_key(rp_mix(i + 77) % n);
        if (as_index_find(db->index, q[i], &loc[i]) != AS_IX_OK)
            return rp_fail("lookup", AS_EINTERNAL, "a loaded key is missing from the index");
    }
    c.q = q, c.loc = loc;
    struct {
        const char *name;
        rp_fn f;
        int verify;
        double ns;
    } st[] = {
        {"loop (read key array)", rp_stage_loop, 1, 0},
        {"index find alone", rp_stage_alex_find, 1, 0},
        {"epoch + mutex lock/unlock alone", rp_stage_lock_only, 1, 0},
        {"epoch + lock + index find + unlock", rp_stage_locked_find, 1, 0},
        {"as_resolve alone, verify_reads=0", rp_stage_resolve, 0, 0},
        {"as_resolve alone, verify_reads=1", rp_stage_resolve, 1, 0},
        {"as_get, verify_reads=0", rp_stage_get, 0, 0},
        {"as_get, verify_reads=1", rp_stage_get, 1, 0},
        {"as_get, verify_reads=0 + read value", rp_stage_get_touch, 0, 0},
        {"as_get, verify_reads=1 + read value", rp_stage_get_touch, 1, 0},
        {"XXH3 124 B, cache-hot buffer", rp_stage_xxh3_hot, 1, 0},
    };
    size_t ns = sizeof(st) / sizeof(st[0]);
    printf("n=%zu value=%d reps=%d (best CPU ns/op; stages interleaved so a load burst hits all alike)\n", n,
           VLEN, reps);
    for (int r = 0; r < reps; r++)
        for (size_t i = 0; i < ns; i++) {
            db->opt.verify_reads = st[i].verify;
            CALLGRIND_ZERO_STATS;
            double t = rp_time(&c, st[i].f, 1);
            CALLGRIND_DUMP_STATS_AT(st[i].name); /* one callgrind part per stage (no-op outside valgrind) */
            if (r == 0 || t < st[i].ns)
                st[i].ns = t;
        }
    for (size_t i = 0; i < ns; i++)
        printf("%-40s %7.1f\n", st[i].name, st[i].ns);
    as_stats sts;
    if (as_get_stats(db, &sts) == AS_OK)
        printf("index: depth %llu, %llu data nodes, %.1f bytes/key, %.2f search steps/lookup\n",
               (unsigned long long)sts.index_depth, (unsigned long long)sts.index_data_nodes,
               sts.index_bytes_per_key, sts.avg_search_steps);
    printf("(sink %llu)\n", (unsigned long long)(c.sink & 0xff));
    free(q);
    free(loc);
    as_session_close(c.s);
    as_close(db);
    return 0;
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
    int reps = argc > 2 ? atoi(argv[2]) : 5;
    char dir[256];
    int keep = argc > 3;
    if (keep)
        snprintf(dir, sizeof(dir), "%s", argv[3]);
    else
        snprintf(dir, sizeof(dir), "/tmp/rp_bench.%d", (int)getpid());
    if (n == 0 || reps <= 0) {
        fprintf(stderr, "usage: read_path_bench [N>0] [reps>0] [dir]\n");
        return 2;
    }
    int rc = rp_run(dir, n, reps);
    if (!keep)
        nftw(dir, rp_rm, 16, FTW_DEPTH | FTW_PHYS);
    return rc;
}
