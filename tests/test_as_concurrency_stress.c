/* test_as_concurrency_stress.c - one writer, several readers: no reader ever sees a version older than one it saw.
 * The big-index run adds a bulk-loaded key set that never changes (every get of one must find it,
 * whatever the index's structural changes and the heap's repacking do meanwhile) and batches. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>

#include "alexstorage.h"
#include "as_torture.h"

#define NSLOTS 65536u /* slots there is room for; a run uses nslots of them */
#define NREADERS 3

/* Per slot, packed as seq << 1 | is_delete: the op the writer started last (intent) and the one it
 * finished last (done). A reader loads done before its read and intent after it, which brackets
 * every version it may legally see. */
typedef struct stress {
    as_db *db;
    uint64_t space;
    uint64_t writes;
    _Atomic uint64_t intent[NSLOTS];
    _Atomic uint64_t done[NSLOTS];
    _Atomic int stop;
    _Atomic uint64_t reads, scans, scanned, absent_ok, errors;
    char first_error[512];
    pthread_mutex_t err_mu;
    int compact_every; /* writer calls as_compact/as_checkpoint every this many ops (0 = never) */
    uint32_t nslots;   /* slots the writer writes (<= NSLOTS) */
    uint32_t preload;  /* keys of slots NSLOTS.. bulk-loaded before the run, never written again */
    int batch_every;   /* every this many ops the writer commits a batch of 8 (0 = never) */
    _Atomic uint64_t preload_gets;
} stress;

static void report(stress *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void report(stress *st, const char *fmt, ...)
{
    pthread_mutex_lock(&st->err_mu);
    if (atomic_fetch_add(&st->errors, 1) == 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(st->first_error, sizeof st->first_error, fmt, ap);
        va_end(ap);
    }
    pthread_mutex_unlock(&st->err_mu);
    atomic_store(&st->stop, 1);
}

static void *writer(void *arg)
{
    stress *st = arg;
    as_session *s;
    if (as_session_open(st->db, &s) != AS_OK) {
        report(st, "writer: session_open failed");
        return NULL;
    }
    uint64_t r = 99;
    unsigned char val[512];
    as_batch *b = NULL;
    if (st->batch_every && as_batch_create(&b) != AS_OK) {
        report(st, "writer: batch_create failed");
        as_session_close(s);
        return NULL;
    }
    for (uint64_t i = 1; i <= st->writes && !atomic_load(&st->stop); i++) {
        if (b && i % (uint64_t)st->batch_every == 0) { /* 8 ops on distinct slots, all or none */
            uint32_t sl[8];
            uint64_t tags[8];
            for (int j = 0; j < 8; j++) {
                sl[j] = (uint32_t)ast_below(&r, st->nslots);
                for (int q = 0; q < j; q++)
                    if (sl[q] == sl[j])
                        sl[j] = (sl[j] + 1) % st->nslots, q = -1; /* distinct */
                int64_t key = ast_key(st->space, sl[j]);
                int del = ast_below(&r, 8) == 0;
                tags[j] = i << 1 | (uint64_t)del;
                atomic_store_explicit(&st->intent[sl[j]], tags[j], memory_order_release);
                uint32_t len = AST_VAL_MIN + (uint32_t)ast_below(&r, sizeof val - AST_VAL_MIN);
                ast_val_make(key, i, sl[j], len, val);
                if ((del ? as_batch_del(b, key) : as_batch_put(b, key, val, len)) != AS_OK)
                    report(st, "writer: batch op failed");
            }
            if (as_batch_commit(s, b) != AS_OK) {
                report(st, "writer batch at op %" PRIu64 ": %s", i, as_session_errmsg(s));
                break;
            }
            for (int j = 0; j < 8; j++)
                atomic_store_explicit(&st->done[sl[j]], tags[j], memory_order_release);
            continue;
        }
        uint32_t slot = (uint32_t)(ast_below(&r, 4) ? ast_below(&r, 256) : ast_below(&r, st->nslots));
        int64_t key = ast_key(st->space, slot);
        int del = ast_below(&r, 10) == 0;
        uint64_t tag = i << 1 | (uint64_t)del;
        atomic_store_explicit(&st->intent[slot], tag, memory_order_release);
        int rc;
        if (del) {
            rc = as_del(s, key);
        } else {
            uint32_t len = AST_VAL_MIN + (uint32_t)ast_below(&r, sizeof val - AST_VAL_MIN);
            ast_val_make(key, i, slot, len, val);
            rc = as_put(s, key, val, len);
        }
        if (rc != AS_OK) {
            report(st, "writer op %" PRIu64 ": %s: %s", i, as_strerror(rc), as_session_errmsg(s));
            break;
        }
        atomic_store_explicit(&st->done[slot], tag, memory_order_release);
#ifdef AS_HAVE_COMPACT
        if (st->compact_every && i % (uint64_t)st->compact_every == 0) {
            rc = (i / (uint64_t)st->compact_every) % 2 ? as_compact(s) : as_checkpoint(s);
            if (rc != AS_OK) {
                report(st, "writer maintenance at op %" PRIu64 ": %s: %s", i, as_strerror(rc), as_session_errmsg(s));
                break;
            }
        }
#endif
    }
    as_batch_free(b);
    as_session_close(s);
    atomic_store(&st->stop, 1);
    return NULL;
}

typedef struct reader_ctx {
    stress *st;
    uint64_t seed;
    uint64_t last[NSLOTS]; /* newest value seq this reader saw per slot */
    int64_t prev_key;
    int first;
} reader_ctx;

/* Check one observed value of slot against this reader's history. */
static int check_seen(reader_ctx *c, uint32_t slot, uint64_t seq, const char *how)
{
    if (seq < c->last[slot]) {
        report(c->st, "%s: slot %u went back from version %" PRIu64 " to %" PRIu64, how, slot, c->last[slot], seq);
        return -1;
    }
    c->last[slot] = seq;
    return 0;
}

static int reader_scan_cb(void *arg, int64_t key, const void *val, size_t len)
{
    reader_ctx *c = arg;
    uint64_t seq;
    uint32_t slot;
    if (!c->first && key <= c->prev_key) {
        report(c->st, "scan: key %" PRId64 " after %" PRId64 " (not ascending)", key, c->prev_key);
        return 1;
    }
    c->first = 0;
    c->prev_key = key;
    if (!ast_val_check(key, val, len, &seq, &slot) || slot >= NSLOTS + c->st->preload ||
        ast_key(c->st->space, slot) != key) {
        report(c->st, "scan: key %" PRId64 ": value does not verify (len %zu)", key, len);
        return 1;
    }
    if (slot >= NSLOTS) /* a preloaded key */
        return seq == 0 ? 0 : (report(c->st, "scan: preloaded key %" PRId64 " changed", key), 1);
    uint64_t hi = atomic_load_explicit(&c->st->intent[slot], memory_order_acquire) >> 1;
    if (seq > hi) {
        report(c->st, "scan: slot %u shows version %" PRIu64 " the writer has not started", slot, seq);
        return 1;
    }
    atomic_fetch_add(&c->st->scanned, 1);
    return check_seen(c, slot, seq, "scan");
}

static void *reader(void *arg)
{
    reader_ctx *c = arg;
    stress *st = c->st;
    as_session *s;
    if (as_session_open(st->db, &s) != AS_OK) {
        report(st, "reader: session_open failed");
        return NULL;
    }
    uint64_t r = c->seed;
    while (!atomic_load(&st->stop)) {
        if (ast_below(&r, 64) == 0) {
            c->first = 1;
            size_t visited;
            int rc = as_scan(s, ast_key(st->space, (uint32_t)ast_below(&r, st->nslots)), 64, reader_scan_cb, c, &visited);
            if (rc != AS_OK && !atomic_load(&st->errors))
                report(st, "scan: %s: %s", as_strerror(rc), as_session_errmsg(s));
            atomic_fetch_add(&st->scans, 1);
            continue;
        }
        if (st->preload && ast_below(&r, 3) == 0) { /* present throughout: always found, unchanged */
            uint32_t ps = NSLOTS + (uint32_t)ast_below(&r, st->preload);
            int64_t pk = ast_key(st->space, ps);
            const void *pv;
            size_t plen;
            uint64_t pseq;
            uint32_t psl;
            int prc = as_get(s, pk, &pv, &plen);
            if (prc != AS_OK || !ast_val_check(pk, pv, plen, &pseq, &psl) || psl != ps || pseq != 0) {
                report(st, "get of preloaded key %" PRId64 ": %s", pk, prc == AS_OK ? "wrong value" : as_strerror(prc));
                break;
            }
            atomic_fetch_add(&st->preload_gets, 1);
            continue;
        }
        uint32_t slot = (uint32_t)(ast_below(&r, 2) ? ast_below(&r, 256) : ast_below(&r, st->nslots));
        int64_t key = ast_key(st->space, slot);
        uint64_t pre = atomic_load_explicit(&st->done[slot], memory_order_acquire);
        const void *v;
        size_t len;
        int rc = as_get(s, key, &v, &len);
        uint64_t post = atomic_load_explicit(&st->intent[slot], memory_order_acquire);
        atomic_fetch_add(&st->reads, 1);
        if (rc == AS_NOTFOUND) {
            /* legal if the last finished op was a delete (or nothing), or a newer op started meanwhile */
            if (pre != 0 && !(pre & 1) && post >> 1 == pre >> 1)
                report(st, "get slot %u: absent, but version %" PRIu64 " was written and nothing since", slot,
                       pre >> 1);
            atomic_fetch_add(&st->absent_ok, 1);
            continue;
        }
        uint64_t seq;
        uint32_t sl;
        if (rc != AS_OK) {
            report(st, "get slot %u: %s: %s", slot, as_strerror(rc), as_session_errmsg(s));
            break;
        }
        if (!ast_val_check(key, v, len, &seq, &sl) || sl != slot) {
            report(st, "get slot %u: value does not verify (len %zu)", slot, len);
            break;
        }
        if (seq < pre >> 1 || (seq == pre >> 1 && (pre & 1)) || seq > post >> 1) {
            report(st, "get slot %u: version %" PRIu64 " outside [done %" PRIu64 "%s, started %" PRIu64 "]", slot, seq,
                   pre >> 1, pre & 1 ? " (delete)" : "", post >> 1);
            break;
        }
        if (check_seen(c, slot, seq, "get"))
            break;
    }
    as_session_close(s);
    return NULL;
}

typedef struct preload_arg {
    unsigned char val[AST_VAL_MIN + 64];
    uint64_t space;
} preload_arg;

/* Bulk-load value of a preloaded key: version 0, its slot (recovered from the key's low bits). */
static const void *preload_value(void *arg, int64_t key, size_t *len)
{
    preload_arg *a = arg;
    uint32_t slot = (uint32_t)((uint64_t)(key < 0 ? -key : key) & ((1u << 20) - 1));
    ast_val_make(key, 0, slot, sizeof a->val, a->val);
    *len = sizeof a->val;
    return a->val;
}

static int cmp_i64(const void *x, const void *y)
{
    int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    return a < b ? -1 : a > b;
}

static void run_stress_ex(uint64_t writes, int compact_every, uint64_t segment_bytes, uint32_t nslots,
                          uint32_t preload, int batch_every)
{
    char dir[512];
    assert_int_equal(ast_tmpdir(dir, sizeof dir, "as-stress"), 0);
    stress *st = calloc(1, sizeof *st);
    assert_non_null(st);
    pthread_mutex_init(&st->err_mu, NULL);
    st->space = 555;
    st->writes = writes;
    st->compact_every = compact_every;
    st->nslots = nslots;
    st->preload = preload;
    st->batch_every = batch_every;
    as_options o;
    as_options_default(&o);
    o.segment_bytes = segment_bytes;
    o.map_chunk_bytes = 1u << 20;
    char err[512];
    int rc = as_open(dir, &o, &st->db, err, sizeof err);
    if (rc != AS_OK)
        fail_msg("open: %s: %s", as_strerror(rc), err);
    if (preload) { /* slots NSLOTS.. as one bulk load: a big index (its leaf heap on) before the run */
        int64_t *keys = malloc(preload * sizeof(int64_t));
        assert_non_null(keys);
        for (uint32_t i = 0; i < preload; i++)
            keys[i] = ast_key(st->space, NSLOTS + i);
        qsort(keys, preload, sizeof(int64_t), cmp_i64);
        preload_arg pa = {.space = st->space};
        as_session *s;
        assert_int_equal(as_session_open(st->db, &s), AS_OK);
        if (as_bulk_load(s, keys, preload, preload_value, &pa) != AS_OK)
            fail_msg("bulk load: %s", as_session_errmsg(s));
        as_session_close(s);
        free(keys);
    }
    pthread_t w, rd[NREADERS];
    reader_ctx *rc_ctx = calloc(NREADERS, sizeof *rc_ctx);
    assert_non_null(rc_ctx);
    double t0 = ast_now();
    for (int i = 0; i < NREADERS; i++) {
        rc_ctx[i].st = st;
        rc_ctx[i].seed = 1000 + (uint64_t)i;
        assert_int_equal(pthread_create(&rd[i], NULL, reader, &rc_ctx[i]), 0);
    }
    assert_int_equal(pthread_create(&w, NULL, writer, st), 0);
    pthread_join(w, NULL);
    for (int i = 0; i < NREADERS; i++)
        pthread_join(rd[i], NULL);
    double secs = ast_now() - t0;
    as_stats sts;
    assert_int_equal(as_get_stats(st->db, &sts), AS_OK);
    printf("stress: %" PRIu64 " writes, %" PRIu64 " gets (%" PRIu64 " absent, %" PRIu64 " of preloaded keys), %" PRIu64
           " scans (%" PRIu64 " records) by %d readers in %.2f s; %" PRIu64 " segments, %.1f MB on disk, %.1f MB "
           "live; index: %" PRIu64 " splits, %" PRIu64 " expansions, %" PRIu64 " structural sections (%" PRIu64
           " waited for a reader), %" PRIu64 " compactions\n",
           writes, atomic_load(&st->reads), atomic_load(&st->absent_ok), atomic_load(&st->preload_gets),
           atomic_load(&st->scans), atomic_load(&st->scanned), NREADERS, secs, sts.num_segments,
           (double)sts.disk_bytes / 1e6, (double)sts.live_bytes / 1e6, sts.index_splits, sts.index_expansions,
           sts.index_smo, sts.index_smo_waits, sts.compactions);
    assert_int_equal(as_close(st->db), AS_OK);
    if (atomic_load(&st->errors))
        fail_msg("%" PRIu64 " violations; first: %s", atomic_load(&st->errors), st->first_error);
    pthread_mutex_destroy(&st->err_mu);
    free(rc_ctx);
    free(st);
    ast_rmtree(dir);
}

static void run_stress(uint64_t writes, int compact_every, uint64_t segment_bytes)
{
    run_stress_ex(writes, compact_every, segment_bytes, 4096, 0, 0);
}

static uint64_t stress_writes(void)
{
    return (uint64_t)ast_env_long("KV_STRESS_WRITES", ast_env_flag("KV_TEST_LONG") ? 5000000
                                                      : ast_env_flag("KV_SANITIZED") ? 40000 : 300000);
}

static void test_stress_plain(void **state)
{
    (void)state;
    run_stress(stress_writes(), 0, 64u << 20);
}

#ifdef AS_HAVE_COMPACT
/* Same, with the writer compacting and checkpointing under the readers (small segments). */
static void test_stress_compacting(void **state)
{
    (void)state;
    uint64_t n = stress_writes();
    if (n > 1000000)
        n = 1000000; /* compaction rewrites the log many times over: bound the long run's time */
    run_stress(n, (int)(n / 40 > 0 ? n / 40 : 1), 1u << 20);
}
#endif

#ifdef AS_HAVE_COMPACT
/* A bulk-loaded index of 150,000 keys (its leaf heap on) beside 65,536 slots: the writer's inserts
 * into full leaves expand and split them, batches of 8 commit all or none, compaction and
 * checkpoints run. */
static void test_stress_big_index(void **state)
{
    (void)state;
    uint64_t n = stress_writes();
    if (n > 1000000)
        n = 1000000;
    run_stress_ex(n, (int)(n / 20 > 0 ? n / 20 : 1), 4u << 20, NSLOTS, 150000, 50);
}
#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stress_plain),
#ifdef AS_HAVE_COMPACT
        cmocka_unit_test(test_stress_compacting),
        cmocka_unit_test(test_stress_big_index),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
