/* read_path_bench.c - AlexStorage get path broken into parts (index, lock, record fetch, checksum), ns per op.
 * Usage: read_path_bench [N=1000000] [reps=5] [dir|-] [reopen|puts] [keyset=uniform]
 * Loads N keys with as_put (100-byte values); `reopen` (default) closes and reopens (the index is then
 * bulk loaded from the checkpoint), `puts` keeps the index the inserts built (as kvbench's read phase
 * after its load). Then times each stage over the same N random lookups (keys precomputed, so key
 * generation is not timed), twice:
 *  - "overlapped": ops back to back, so one op's misses overlap the next op's (a throughput figure);
 *  - "serialized": an lfence after each op, so an op starts only once the previous one has completed
 *    (a latency figure, as kvbench times one op at a time between two timer reads).
 * Each figure is the best process-CPU ns/op of `reps` interleaved passes. Parts are found by
 * difference between stages: the index stages stop the ALEX lookup after the descent to the leaf,
 * after reading the leaf header (the predicted slot), after the key search (key line) and after the
 * payload (alex_find). Layout candidates are timed on copies of every leaf (rp_pairs_build): keys beside
 * payloads as (key, payload) pairs, against a copy in the leaves' own layout made the same way; record
 * lines prefetched ahead of as_resolve. A pointer chase over buffers of L1/L2/L3/DRAM size (2 MiB
 * pages) gives the latency of one dependent access at each level, to turn stage ns into misses.
 * Results and what they decided: engines/alexstorage/PERFORMANCE.md, "A get's memory accesses".
 * Under `valgrind --tool=callgrind --toggle-collect='rp_stage_*'` each stage is dumped as its own part
 * (callgrind.out.N.1, .2, ...; the part's "Dump reason" names the stage): instructions / N = per get. */
#include "alex_internal.h"
#include "as_internal.h"
#include "workload.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
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

static int rp_rm(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

typedef struct rp_ctx {
    as_db *db;
    as_session *s;
    const alex_index *ix; /* the store's ALEX index (for the stages that stop inside a lookup) */
    const int64_t *q;  /* lookup keys, random order */
    const uint64_t *loc; /* their locators (for the record-fetch-only stage) */
    size_t n;
    int ser;           /* 1: an lfence after each op (serialized, latency); 0: ops overlap */
    uint64_t sink;
} rp_ctx;

/* After an op in serialized mode: the next op starts once every earlier instruction completed. */
static inline void rp_fence(const rp_ctx *c)
{
    if (c->ser)
        __asm__ volatile("lfence" ::: "memory");
}

/* Each stage is its own non-inlined function so callgrind can count it alone. */
__attribute__((noinline)) static void rp_stage_loop(rp_ctx *c)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < c->n; i++) {
        sum += (uint64_t)c->q[i];
        rp_fence(c);
    }
    c->sink += sum;
}

/* The whole value read 8 bytes at a time, as kvbench's touch() does. */
static inline uint64_t rp_touch(const void *v, size_t len)
{
    uint64_t sum = 0;
    for (size_t j = 0; j + 8 <= len; j += 8) {
        uint64_t x;
        memcpy(&x, (const unsigned char *)v + j, 8);
        sum += x;
    }
    return sum;
}

/* ALEX lookup cut short: 0 = descent to the leaf, 1 = + the leaf header (predicted slot), 2 = + the
 * key search (the key line), 3 = + the payload (prefetched before the search, as alex_find does).
 * Same code as alex_find without its lookup counters. */
static inline uint64_t rp_alex_part(const alex_index *ix, int64_t key, int upto)
{
    const alex_node *n = ix->root;
    while (!n->is_leaf) {
        const alex_model_node *m = (const alex_model_node *)n;
        n = m->children[alex__mroute(m, key)];
    }
    const alex_data_node *d = (const alex_data_node *)n;
    if (upto == 0)
        return (uintptr_t)d;
    int m = alex__route(d->a, d->b, d->base, d->cap, key);
    if (upto == 1)
        return (uint64_t)m;
    uint64_t it = 0;
    __builtin_prefetch(&d->payloads[m]);
    int ub = alex__dn_ub_from(d, key, m, &it);
    if (upto == 2)
        return (uint64_t)ub;
    return ub > 0 && d->keys[ub - 1] == key ? d->payloads[ub - 1] : 0;
}

#define RP_ALEX_STAGE(name, upto)                                                                            \
    __attribute__((noinline)) static void name(rp_ctx *c)                                                    \
    {                                                                                                        \
        uint64_t sum = 0;                                                                                    \
        for (size_t i = 0; i < c->n; i++) {                                                                  \
            sum += rp_alex_part(c->ix, c->q[i], upto);                                                       \
            rp_fence(c);                                                                                     \
        }                                                                                                    \
        c->sink += sum;                                                                                      \
    }
RP_ALEX_STAGE(rp_stage_descent, 0)
RP_ALEX_STAGE(rp_stage_leaf_header, 1)
RP_ALEX_STAGE(rp_stage_key_line, 2)
RP_ALEX_STAGE(rp_stage_pay_pf, 3)

/* What keeping each key beside its payload would give: the same lookup over a copy of every leaf
 * as one array of (key, payload) pairs, 64-byte aligned, on 2 MiB pages. The copy's address sits in
 * the leaf's payloads field while these stages run (rp_pairs_swap), so the leaf header is read as
 * before. */
typedef struct rp_pair {
    int64_t k;
    uint64_t p;
} rp_pair;

static inline uint64_t rp_pairs_find(const alex_index *ix, int64_t key)
{
    const alex_node *n = ix->root;
    while (!n->is_leaf) {
        const alex_model_node *m = (const alex_model_node *)n;
        n = m->children[alex__mroute(m, key)];
    }
    const alex_data_node *d = (const alex_data_node *)n;
    const rp_pair *pr = (const rp_pair *)(const void *)d->payloads;
    int m = alex__route(d->a, d->b, d->base, d->cap, key), cap = d->cap, lo, hi;
    if (pr[m].k > key) { /* alex__dn_ub_from over the pairs */
        int bound = 1;
        while (bound <= m && pr[m - bound].k > key)
            bound <<= 1;
        lo = bound <= m ? m - bound + 1 : 0;
        hi = m - (bound >> 1);
    } else {
        int bound = 1;
        while (m + bound < cap && pr[m + bound].k <= key)
            bound <<= 1;
        lo = m + (bound >> 1) + 1;
        hi = m + bound < cap ? m + bound : cap;
    }
    while (lo < hi) {
        int mid = lo + ((hi - lo) >> 1);
        if (pr[mid].k > key)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo > 0 && pr[lo - 1].k == key ? pr[lo - 1].p : 0;
}

/* The get without the session lock: index lookup, then the record (verify_reads as set) and the
 * value read; `pairs` takes the key+payload copy. */
static inline uint64_t rp_get_nolock(rp_ctx *c, int64_t key, int pairs)
{
    uint64_t loc = pairs ? rp_pairs_find(c->ix, key) : rp_alex_part(c->ix, key, 3);
    const void *v;
    size_t len;
    return as_resolve(c->s, loc, key, &v, &len) == AS_OK ? rp_touch(v, len) : 0;
}

__attribute__((noinline)) static void rp_stage_get_nolock(rp_ctx *c)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < c->n; i++) {
        sum += rp_get_nolock(c, c->q[i], 0);
        rp_fence(c);
    }
    c->sink += sum;
}

__attribute__((noinline)) static void rp_stage_get_nolock_pairs(rp_ctx *c)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < c->n; i++) {
        sum += rp_get_nolock(c, c->q[i], 1);
        rp_fence(c);
    }
    c->sink += sum;
}

__attribute__((noinline)) static void rp_stage_pairs(rp_ctx *c)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < c->n; i++) {
        sum += rp_pairs_find(c->ix, c->q[i]);
        rp_fence(c);
    }
    c->sink += sum;
}

__attribute__((noinline)) static void rp_stage_alex_find(rp_ctx *c)
{
    uint64_t sum = 0, p;
    for (size_t i = 0; i < c->n; i++) {
        if (as_index_find(c->db->index, c->q[i], &p) == AS_IX_OK)
            sum += p;
        rp_fence(c);
    }
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
        rp_fence(c);
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
        rp_fence(c);
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
        rp_fence(c);
    }
    c->sink += sum;
}

__attribute__((noinline)) static void rp_stage_resolve_touch(rp_ctx *c)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < c->n; i++) {
        const void *v;
        size_t len;
        if (as_resolve(c->s, c->loc[i], c->q[i], &v, &len) == AS_OK)
            sum += rp_touch(v, len);
        rp_fence(c);
    }
    c->sink += sum;
}

/* What prefetching a record's lines before its header check would give: the lines the record
 * spans (132 bytes from its start for a 100-byte value) requested at once, ahead of as_resolve. */
static inline void rp_prefetch_rec(rp_ctx *c, uint64_t loc, int nta)
{
    const unsigned char *p = as_db_seg(c->db, as_loc_seg(loc))->base + as_loc_off(loc);
    const unsigned char *first = (const unsigned char *)((uintptr_t)p & ~(uintptr_t)63);
    for (const unsigned char *l = first; l < p + AS_REC_HEADER_BYTES + VLEN; l += 64)
        if (nta)
            __builtin_prefetch(l, 0, 0);
        else
            __builtin_prefetch(l);
}

__attribute__((noinline)) static void rp_stage_resolve_pf_touch(rp_ctx *c)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < c->n; i++) {
        const void *v;
        size_t len;
        rp_prefetch_rec(c, c->loc[i], 0);
        if (as_resolve(c->s, c->loc[i], c->q[i], &v, &len) == AS_OK)
            sum += rp_touch(v, len);
        rp_fence(c);
    }
    c->sink += sum;
}

static inline void rp_get_nolock_pf(rp_ctx *c, int nta)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < c->n; i++) {
        int64_t key = c->q[i];
        uint64_t loc = rp_alex_part(c->ix, key, 3);
        const void *v;
        size_t len;
        rp_prefetch_rec(c, loc, nta);
        if (as_resolve(c->s, loc, key, &v, &len) == AS_OK)
            sum += rp_touch(v, len);
        rp_fence(c);
    }
    c->sink += sum;
}

__attribute__((noinline)) static void rp_stage_get_nolock_pf(rp_ctx *c) { rp_get_nolock_pf(c, 0); }
__attribute__((noinline)) static void rp_stage_get_nolock_nta(rp_ctx *c) { rp_get_nolock_pf(c, 1); }

__attribute__((noinline)) static void rp_stage_get(rp_ctx *c)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < c->n; i++) {
        const void *v;
        size_t len;
        if (as_get(c->s, c->q[i], &v, &len) == AS_OK)
            sum += len;
        rp_fence(c);
    }
    c->sink += sum;
}

__attribute__((noinline)) static void rp_stage_get_touch(rp_ctx *c)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < c->n; i++) {
        const void *v;
        size_t len;
        if (as_get(c->s, c->q[i], &v, &len) == AS_OK)
            sum += rp_touch(v, len);
        rp_fence(c);
    }
    c->sink += sum;
}

/* XXH3 over a record's checksummed bytes (a 100-byte value) of a cache-hot buffer. */
__attribute__((noinline)) static void rp_stage_xxh3_hot(rp_ctx *c)
{
    unsigned char buf[AS_REC_HEADER_BYTES + VLEN];
    memset(buf, 7, sizeof(buf));
    uint64_t sum = 0;
    for (size_t i = 0; i < c->n; i++) {
        memcpy(buf + 16, &c->q[i], 8);
        sum += XXH3_64bits(buf + 8, AS_REC_HEADER_BYTES - 8 + VLEN);
        rp_fence(c);
    }
    c->sink += sum;
}

typedef void (*rp_fn)(rp_ctx *);

/* Two copies of every leaf's slots in fresh 2 MiB-page buffers, 64-byte aligned: one as (key, payload)
 * pairs, one as the leaf's own layout (keys apart from payloads), so that the pair layout is compared
 * with a copy that differs from it only in layout (the live leaves' arrays are where the inserts or
 * the bulk load left them). */
typedef struct rp_pairs {
    alex_data_node **leaf;
    int64_t **own_k, **copy_k;
    uint64_t **own_p, **copy_p, **pair;
    size_t n;
    void *buf[2];
} rp_pairs;

/* Bytes a leaf of cap slots takes in either copy: keys and payloads each 64-byte aligned. */
static size_t rp_leaf_bytes(int cap) { return (((size_t)cap * 8u + 63) & ~(size_t)63) * 2u; }

static int rp_pairs_build(const alex_index *ix, rp_pairs *pp)
{
    size_t bytes = 0, huge = (size_t)2 << 20;
    memset(pp, 0, sizeof(*pp));
    for (alex_data_node *d = alex__first_leaf(ix); d; d = d->next, pp->n++)
        bytes += rp_leaf_bytes(d->cap);
    bytes = (bytes + huge - 1) / huge * huge;
    pp->buf[0] = aligned_alloc(huge, bytes);
    pp->buf[1] = aligned_alloc(huge, bytes);
    pp->leaf = malloc(pp->n * sizeof(*pp->leaf));
    pp->own_k = malloc(pp->n * sizeof(*pp->own_k));
    pp->copy_k = malloc(pp->n * sizeof(*pp->copy_k));
    pp->own_p = malloc(pp->n * sizeof(*pp->own_p));
    pp->copy_p = malloc(pp->n * sizeof(*pp->copy_p));
    pp->pair = malloc(pp->n * sizeof(*pp->pair));
    if (!pp->buf[0] || !pp->buf[1] || !pp->leaf || !pp->own_k || !pp->copy_k || !pp->own_p || !pp->copy_p ||
        !pp->pair)
        return -1;
    madvise(pp->buf[0], bytes, MADV_HUGEPAGE);
    madvise(pp->buf[1], bytes, MADV_HUGEPAGE);
    unsigned char *at = pp->buf[0], *at2 = pp->buf[1];
    size_t i = 0;
    for (alex_data_node *d = alex__first_leaf(ix); d; d = d->next, i++) {
        rp_pair *pr = (rp_pair *)(void *)at;
        int64_t *k = (int64_t *)(void *)at2;
        uint64_t *p = (uint64_t *)(void *)(at2 + rp_leaf_bytes(d->cap) / 2u);
        for (int j = 0; j < d->cap; j++) {
            pr[j] = (rp_pair){d->keys[j], d->payloads[j]};
            k[j] = d->keys[j];
            p[j] = d->payloads[j];
        }
        pp->leaf[i] = d;
        pp->own_k[i] = d->keys;
        pp->own_p[i] = d->payloads;
        pp->pair[i] = (uint64_t *)(void *)pr;
        pp->copy_k[i] = k;
        pp->copy_p[i] = p;
        at += rp_leaf_bytes(d->cap);
        at2 += rp_leaf_bytes(d->cap);
    }
    return 0;
}

/* which = 0: the leaves' own arrays; 1: the pair copy (in the payloads field); 2: the own-layout copy. */
static void rp_pairs_swap(rp_pairs *pp, int which)
{
    for (size_t i = 0; i < pp->n; i++) {
        pp->leaf[i]->keys = which == 2 ? pp->copy_k[i] : pp->own_k[i];
        pp->leaf[i]->payloads = which == 1 ? pp->pair[i] : which == 2 ? pp->copy_p[i] : pp->own_p[i];
    }
}

static void rp_pairs_free(rp_pairs *pp)
{
    free(pp->buf[0]);
    free(pp->buf[1]);
    free(pp->leaf);
    free(pp->own_k);
    free(pp->copy_k);
    free(pp->own_p);
    free(pp->copy_p);
    free(pp->pair);
}

static double rp_time(rp_ctx *c, rp_fn f)
{
    double t0 = rp_cpu();
    f(c);
    return (rp_cpu() - t0) * 1e9 / (double)c->n;
}

/* ns per dependent access over a random cyclic chain of 64-byte lines in `bytes` of 2 MiB pages. */
static double rp_chase(size_t bytes, size_t steps)
{
    size_t lines = bytes / 64, huge = (size_t)2 << 20, len = (bytes + huge - 1) / huge * huge;
    uint64_t *buf = aligned_alloc(huge, len);
    size_t *perm = malloc(lines * sizeof(*perm));
    if (!buf || !perm) {
        free(buf);
        free(perm);
        return -1.0;
    }
    madvise(buf, len, MADV_HUGEPAGE);
    for (size_t i = 0; i < lines; i++)
        perm[i] = i;
    for (size_t i = lines - 1; i > 0; i--) { /* Sattolo: one cycle through every line */
        size_t j = kv_mix64(i * 31 + bytes) % i, t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    for (size_t i = 0; i < lines; i++)
        buf[perm[i] * 8] = perm[(i + 1) % lines] * 8;
    size_t p = 0;
    for (size_t i = 0; i < lines; i++) /* warm: every line once */
        p = buf[p];
    double t0 = rp_cpu();
    for (size_t i = 0; i < steps; i++)
        p = buf[p];
    double ns = (rp_cpu() - t0) * 1e9 / (double)steps;
    free(buf);
    free(perm);
    return p == (size_t)-1 ? -2.0 : ns;
}

static int rp_fail(const char *what, int rc, const char *msg)
{
    fprintf(stderr, "read_path_bench: %s: %s: %s\n", what, as_strerror(rc), msg);
    return 1;
}

static int rp_load(as_db *db, const int64_t *keys, size_t n)
{
    as_session *s;
    int rc = as_session_open(db, &s);
    if (rc != AS_OK)
        return rp_fail("session", rc, as_errmsg(db));
    unsigned char v[VLEN];
    for (size_t i = 0; i < n && rc == AS_OK; i++) {
        int64_t k = keys[i];
        memcpy(v, &k, 8);
        memset(v + 8, (int)(i & 0xff), VLEN - 8);
        rc = as_put(s, k, v, VLEN);
    }
    if (rc != AS_OK)
        return rp_fail("put", rc, as_session_errmsg(s));
    as_session_close(s);
    return 0;
}

static int rp_run(const char *dir, size_t n, int reps, int reopen, enum kv_keyset ks)
{
    kv_dataset *ds; /* the keys in the data set's (random) load order */
    if (kv_dataset_create(&ds, ks, n, 0, 42, VLEN) != 0)
        return rp_fail("keys", AS_ENOMEM, kv_keyset_name(ks));
    as_options o;
    as_options_default(&o);
    o.sync_mode = AS_SYNC_NONE;
    as_db *db;
    char err[1024];
    int rc = as_open(dir, &o, &db, err, sizeof(err));
    if (rc != AS_OK)
        return rp_fail("open", rc, err);
    if (rp_load(db, ds->keys, n) != 0)
        return 1;
    if (reopen) {
        if ((rc = as_close(db)) != AS_OK)
            return rp_fail("close", rc, "");
        as_options_default(&o);
        if ((rc = as_open(dir, &o, &db, err, sizeof(err))) != AS_OK)
            return rp_fail("reopen", rc, err);
    }
    if (db->opt.index != AS_INDEX_ALEX)
        return rp_fail("index", AS_EINVAL, "the stages inside a lookup need index=alex");
    rp_ctx c = {.db = db, .ix = db->index->impl, .n = n};
    if ((rc = as_session_open(db, &c.s)) != AS_OK)
        return rp_fail("session", rc, as_errmsg(db));
    int64_t *q = malloc(n * sizeof(*q));
    uint64_t *loc = malloc(n * sizeof(*loc));
    if (!q || !loc)
        return rp_fail("keys", AS_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        q[i] = ds->keys[kv_mix64(i + 77) % n];
        if (as_index_find(db->index, q[i], &loc[i]) != AS_IX_OK)
            return rp_fail("lookup", AS_EINTERNAL, "a loaded key is missing from the index");
    }
    c.q = q, c.loc = loc;
    rp_pairs pp;
    if (rp_pairs_build(c.ix, &pp) != 0)
        return rp_fail("pairs", AS_ENOMEM, "out of memory");
    for (int which = 0; which < 3; which++) { /* every variant finds every key's locator */
        rp_pairs_swap(&pp, which);
        for (size_t i = 0; i < n; i++)
            if ((which == 1 ? rp_pairs_find(c.ix, q[i]) : rp_alex_part(c.ix, q[i], 3)) != loc[i])
                return rp_fail("lookup", AS_EINTERNAL, "a lookup variant returned a wrong locator");
    }
    rp_pairs_swap(&pp, 0);
    struct {
        const char *name;
        rp_fn f;
        int verify;
        int pairs; /* 1: runs over the key+payload pair copy, 2: over the own-layout copy */
        double ns[2]; /* overlapped, serialized */
    } st[] = {
        {"loop (read key array)", rp_stage_loop, 1, 0, {0}},
        {"index: descent to the leaf", rp_stage_descent, 1, 0, {0}},
        {"index: + leaf header (predicted slot)", rp_stage_leaf_header, 1, 0, {0}},
        {"index: + key search (key line)", rp_stage_key_line, 1, 0, {0}},
        {"index: + payload line (= alex_find's work)", rp_stage_pay_pf, 1, 0, {0}},
        {"index, copy in own layout (keys | payloads)", rp_stage_pay_pf, 1, 2, {0}},
        {"index, copy as (key, payload) pairs", rp_stage_pairs, 1, 1, {0}},
        {"index find alone (+ payload line)", rp_stage_alex_find, 1, 0, {0}},
        {"epoch + mutex lock/unlock alone", rp_stage_lock_only, 1, 0, {0}},
        {"epoch + lock + index find + unlock", rp_stage_locked_find, 1, 0, {0}},
        {"as_resolve alone, verify_reads=0", rp_stage_resolve, 0, 0, {0}},
        {"as_resolve alone, verify_reads=1", rp_stage_resolve, 1, 0, {0}},
        {"as_resolve, verify_reads=1 + read value", rp_stage_resolve_touch, 1, 0, {0}},
        {"as_resolve, verify=1 + read, lines prefetched", rp_stage_resolve_pf_touch, 1, 0, {0}},
        {"as_get, verify_reads=0", rp_stage_get, 0, 0, {0}},
        {"as_get, verify_reads=1", rp_stage_get, 1, 0, {0}},
        {"as_get, verify_reads=0 + read value", rp_stage_get_touch, 0, 0, {0}},
        {"as_get, verify_reads=1 + read value", rp_stage_get_touch, 1, 0, {0}},
        {"no lock: index + resolve(1) + read value", rp_stage_get_nolock, 1, 0, {0}},
        {"no lock: own-layout copy + resolve(1) + read", rp_stage_get_nolock, 1, 2, {0}},
        {"no lock: pair copy + resolve(1) + read", rp_stage_get_nolock_pairs, 1, 1, {0}},
        {"no lock: index + record lines prefetched", rp_stage_get_nolock_pf, 1, 0, {0}},
        {"no lock: index + record lines prefetchnta", rp_stage_get_nolock_nta, 1, 0, {0}},
        {"XXH3 132 B, cache-hot buffer", rp_stage_xxh3_hot, 1, 0, {0}},
    };
    size_t ns = sizeof(st) / sizeof(st[0]);
    printf("keys=%s n=%zu value=%d reps=%d index=%s (best process-CPU ns/op; stages interleaved so a load burst "
           "hits all alike)\n", kv_keyset_name(ks), n, VLEN, reps, reopen ? "bulk loaded at reopen" : "built by the puts");
    for (int r = 0; r < reps; r++)
        for (size_t i = 0; i < ns; i++)
            for (int ser = 0; ser < 2; ser++) {
                db->opt.verify_reads = st[i].verify;
                c.ser = ser;
                rp_pairs_swap(&pp, st[i].pairs);
                CALLGRIND_ZERO_STATS;
                double t = rp_time(&c, st[i].f);
                rp_pairs_swap(&pp, 0);
                CALLGRIND_DUMP_STATS_AT(st[i].name); /* one callgrind part per stage (no-op outside valgrind) */
                if (r == 0 || t < st[i].ns[ser])
                    st[i].ns[ser] = t;
            }
    printf("%-46s %10s %10s\n", "stage", "overlapped", "serialized");
    for (size_t i = 0; i < ns; i++)
        printf("%-46s %10.1f %10.1f\n", st[i].name, st[i].ns[0], st[i].ns[1]);
    as_stats sts;
    if (as_get_stats(db, &sts) == AS_OK)
        printf("index: depth %llu, %llu data nodes, %.1f bytes/key, %.2f search steps/lookup\n",
               (unsigned long long)sts.index_depth, (unsigned long long)sts.index_data_nodes,
               sts.index_bytes_per_key, sts.avg_search_steps);
    static const struct {
        const char *name;
        size_t bytes;
    } lv[] = {{"32 KiB (L1)", (size_t)32 << 10}, {"1 MiB (L2)", (size_t)1 << 20},
              {"16 MiB (L3)", (size_t)16 << 20}, {"1 GiB (DRAM)", (size_t)1 << 30}};
    printf("dependent access (pointer chase, 2 MiB pages), best of %d:", reps);
    for (size_t l = 0; l < sizeof(lv) / sizeof(lv[0]); l++) {
        double best = 1e30;
        for (int r = 0; r < reps; r++) {
            double t = rp_chase(lv[l].bytes, (size_t)2 << 20);
            if (t >= 0 && t < best)
                best = t;
        }
        printf(" %s %.1f ns%s", lv[l].name, best, l + 1 < sizeof(lv) / sizeof(lv[0]) ? "," : "\n");
    }
    printf("(sink %llu)\n", (unsigned long long)(c.sink & 0xff));
    free(q);
    free(loc);
    rp_pairs_free(&pp);
    kv_dataset_free(ds);
    as_session_close(c.s);
    as_close(db);
    return 0;
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
    int reps = argc > 2 ? atoi(argv[2]) : 5;
    char dir[256];
    int keep = argc > 3 && strcmp(argv[3], "-") != 0;
    int reopen = !(argc > 4 && strcmp(argv[4], "puts") == 0);
    if (keep)
        snprintf(dir, sizeof(dir), "%s", argv[3]);
    else
        snprintf(dir, sizeof(dir), "/tmp/rp_bench.%d", (int)getpid());
    enum kv_keyset ks = KV_KEYS_UNIFORM;
    if (n == 0 || reps <= 0 || (argc > 4 && reopen && strcmp(argv[4], "reopen") != 0) ||
        (argc > 5 && kv_keyset_parse(argv[5], &ks) != 0)) {
        fprintf(stderr, "usage: read_path_bench [N>0] [reps>0] [dir|-] [reopen|puts] [keyset]\n");
        return 2;
    }
    int rc = rp_run(dir, n, reps, reopen, ks);
    if (!keep)
        nftw(dir, rp_rm, 16, FTW_DEPTH | FTW_PHYS);
    return rc;
}
