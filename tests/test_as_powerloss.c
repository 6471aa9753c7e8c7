/* test_as_powerloss.c - AlexStorage against power cuts: every crash state a recorded run could leave
 * (as_crashfs.h) opens, with every acknowledged write (sync, group) and no wrong value (all modes). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "alexstorage.h"
#include "as_torture.h"
#include "as_crashfs.h"

#define SLOTS 40u
#define MAX_THREADS 4
#define MAX_ACKS 200000

/* An acknowledgement: once the record passed `mark`, slot must read version >= tseq (or, for a
 * delete, tseq = 0 with `gone`: absent or a later version). */
typedef struct ack {
    size_t mark;
    uint32_t slot;
    uint64_t tseq;
} ack;

typedef struct scenario {
    const char *name;
    enum as_sync_mode mode;
    int threads;
    int ops;          /* per thread */
    int sync_every;   /* AS_SYNC_NONE: as_sync after this many puts (0 = never) */
    int batch;        /* > 0: puts go in atomic batches of this many (test_as_batch covers batches) */
    int maint;        /* 1: maintenance=manual and a thread calling as_maintain / as_checkpoint meanwhile,
                       * in tiny steps (compaction and checkpoints interleaved with the writers' puts) */
} scenario;

#define MAX_BITEMS 20000
typedef struct bitem {
    uint32_t slot;
    uint64_t tseq;
} bitem;
typedef struct bspan {
    size_t first, n; /* items of one committed (or attempted) batch */
} bspan;

typedef struct run {
    const scenario *sc;
    crashfs cf;
    as_db *db;
    uint64_t space;
    pthread_mutex_t mu;
    ack *acks;
    size_t nacks;
    uint64_t next_tseq[SLOTS * MAX_THREADS]; /* per slot: versions are 1, 2, ... */
    uint64_t written[SLOTS * MAX_THREADS];   /* per slot: newest version a call was made for */
    bitem bitems[MAX_BITEMS];                /* every batch's items: all or none must survive */
    size_t nbitems;
    bspan spans[MAX_BITEMS];
    size_t nspans;
} run;

typedef struct worker {
    run *r;
    int tid;
} worker;

static _Atomic int t_writers_left;

static void *maintainer_main(void *arg)
{
    run *r = arg;
    as_session *s;
    if (as_session_open(r->db, &s) != AS_OK)
        return NULL;
    for (unsigned i = 0; atomic_load(&t_writers_left) > 0; i++) {
        int rc = i % 3 == 2 ? as_checkpoint(s) : as_maintain(s);
        if (rc != AS_OK)
            fail_msg("%s: maintenance: %s: %s", r->sc->name, as_strerror(rc), as_session_errmsg(s));
        struct timespec ts = {0, 50000};
        nanosleep(&ts, NULL);
    }
    as_session_close(s);
    return NULL;
}

static int64_t slot_key(const run *r, uint32_t slot) { return ast_key(r->space, slot); }

static void add_ack(run *r, uint32_t slot, uint64_t tseq)
{
    size_t mark = crashfs_mark(&r->cf);
    pthread_mutex_lock(&r->mu);
    if (r->nacks < MAX_ACKS)
        r->acks[r->nacks++] = (ack){mark, slot, tseq};
    pthread_mutex_unlock(&r->mu);
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    run *r = w->r;
    as_session *s;
    if (as_session_open(r->db, &s) != AS_OK)
        return NULL;
    static _Thread_local unsigned char val[1 << 15];
    uint64_t rng = r->space + (uint64_t)w->tid * 7919;
    uint32_t mine[SLOTS];
    uint64_t last[SLOTS] = {0};
    as_batch *b = NULL;
    if (r->sc->batch && as_batch_create(&b) != AS_OK)
        fail_msg("%s: as_batch_create", r->sc->name);
    bitem pend[64];
    size_t npend = 0;
    for (int i = 0; i < r->sc->ops; i++) {
        if (r->sc->maint) { /* leave the maintainer room to interleave its steps with the puts */
            struct timespec ts = {0, 100000};
            nanosleep(&ts, NULL);
        }
        uint32_t j = (uint32_t)ast_below(&rng, SLOTS);
        uint32_t slot = (uint32_t)w->tid * SLOTS + j; /* each thread owns its slots: versions are ordered */
        uint64_t tseq = ++r->next_tseq[slot];
        int64_t key = slot_key(r, slot);
        uint32_t len = ast_val_len(key, tseq, sizeof val);
        ast_val_make(key, tseq, slot, len, val);
        r->written[slot] = tseq;
        mine[j] = slot;
        last[j] = tseq;
        if (b) { /* batched: acknowledged (and all-or-nothing) per commit */
            if (as_batch_put(b, key, val, len) != AS_OK)
                fail_msg("%s: as_batch_put", r->sc->name);
            pend[npend++] = (bitem){slot, tseq};
            if ((int)npend < r->sc->batch && i + 1 < r->sc->ops)
                continue;
            pthread_mutex_lock(&r->mu);
            if (r->nbitems + npend <= MAX_BITEMS) {
                r->spans[r->nspans++] = (bspan){r->nbitems, npend};
                memcpy(&r->bitems[r->nbitems], pend, npend * sizeof *pend);
                r->nbitems += npend;
            }
            pthread_mutex_unlock(&r->mu);
            int rc = as_batch_commit(s, b);
            if (rc != AS_OK)
                fail_msg("%s: as_batch_commit: %s: %s", r->sc->name, as_strerror(rc), as_session_errmsg(s));
            if (r->sc->mode != AS_SYNC_NONE)
                for (size_t k = 0; k < npend; k++)
                    add_ack(r, pend[k].slot, pend[k].tseq);
            npend = 0;
            continue;
        }
        int rc = as_put(s, key, val, len);
        if (rc != AS_OK)
            fail_msg("%s: put: %s: %s", r->sc->name, as_strerror(rc), as_session_errmsg(s));
        if (r->sc->mode != AS_SYNC_NONE) {
            add_ack(r, slot, tseq);
        } else if (r->sc->sync_every && i % r->sc->sync_every == r->sc->sync_every - 1) {
            if ((rc = as_sync(s)) != AS_OK)
                fail_msg("%s: as_sync: %s", r->sc->name, as_session_errmsg(s));
            for (uint32_t k = 0; k < SLOTS; k++) /* everything this thread wrote before is durable */
                if (last[k])
                    add_ack(r, mine[k], last[k]);
        }
    }
    as_batch_free(b);
    as_session_close(s);
    atomic_fetch_sub(&t_writers_left, 1);
    return NULL;
}

static void record_run(run *r, const scenario *sc, const char *dir, uint64_t seed)
{
    memset(r, 0, sizeof *r);
    r->sc = sc;
    r->space = seed;
    pthread_mutex_init(&r->mu, NULL);
    r->acks = malloc(MAX_ACKS * sizeof *r->acks);
    assert_non_null(r->acks);
    crashfs_init(&r->cf);
    as_options o;
    as_options_default(&o);
    o.sync_mode = sc->mode;
    o.segment_bytes = 16u << 10;
    o.map_chunk_bytes = 64u << 10;
    o.checkpoint_bytes = 40u << 10;
    o.compact_garbage_ratio = 0.3;
    o.file_ops = &r->cf.ops;
    if (sc->maint) {
        o.maintenance = AS_MAINT_MANUAL;
        setenv("AS_FAULT", "compact_step=600,ckpt_step=5", 1); /* many steps, writers in between */
    }
    char err[1024];
    int rc = as_open(dir, &o, &r->db, err, sizeof err);
    unsetenv("AS_FAULT");
    if (rc != AS_OK)
        fail_msg("%s: open: %s", sc->name, err);
    atomic_store(&t_writers_left, sc->threads);
    pthread_t th[MAX_THREADS], tm;
    if (sc->maint)
        assert_int_equal(pthread_create(&tm, NULL, maintainer_main, r), 0);
    worker ws[MAX_THREADS];
    for (int t = 0; t < sc->threads; t++) {
        ws[t] = (worker){r, t};
        assert_int_equal(pthread_create(&th[t], NULL, worker_main, &ws[t]), 0);
    }
    for (int t = 0; t < sc->threads; t++)
        pthread_join(th[t], NULL);
    if (sc->maint)
        pthread_join(tm, NULL);
    as_stats st;
    as_get_stats(r->db, &st);
    if (st.num_segments < 2 && st.compactions == 0)
        fail_msg("%s: the run never rotated a segment (the test would miss rotation)", sc->name);
    if (st.checkpoints_written == 0 || st.compactions == 0)
        fail_msg("%s: %" PRIu64 " checkpoints, %" PRIu64 " compactions: the run must do both", sc->name,
                 st.checkpoints_written, st.compactions);
    assert_int_equal(as_close(r->db), AS_OK);
    if (sc->mode != AS_SYNC_NONE) /* a clean close makes everything durable */
        for (uint32_t slot = 0; slot < SLOTS * MAX_THREADS; slot++)
            if (r->written[slot])
                add_ack(r, slot, r->written[slot]);
}

/* Bytes by which segment files that are still there got shorter since `before` (a removed file is a
 * compaction's leftover, not a cut). */
static uint64_t seg_shrunk(const ast_file *before, int nb, const char *dir)
{
    ast_file f[256];
    int n = ast_list_files(dir, f, 256);
    uint64_t shrunk = 0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < nb; j++)
            if (strncmp(f[i].name, "seg-", 4) == 0 && strcmp(f[i].name, before[j].name) == 0 &&
                f[i].size < before[j].size)
                shrunk += before[j].size - f[i].size;
    return shrunk;
}

static uint64_t t_batches_checked;

/* Open one crash state and check it; returns 1 when recovery reported cutting something. */
static int check_state(run *r, size_t cut, const char *dir, const char *label)
{
    static ast_file before[256];
    int nb = ast_list_files(dir, before, 256);
    as_options o;
    as_options_default(&o);
    as_db *db;
    char err[2048];
    int rc = as_open(dir, &o, &db, err, sizeof err);
    if (rc != AS_OK)
        fail_msg("%s: a crash state does not open: %s: %s", label, as_strerror(rc), err);
    uint64_t shrunk = seg_shrunk(before, nb, dir);
    int reported = strstr(err, "cut") || strstr(err, "created again");
    if (shrunk && !reported)
        fail_msg("%s: recovery cut %" PRIu64 " bytes without saying so: %s", label, shrunk, err);
    as_session *s;
    assert_int_equal(as_session_open(db, &s), AS_OK);
    static uint64_t need[SLOTS * MAX_THREADS];
    memset(need, 0, sizeof need);
    for (size_t i = 0; i < r->nacks; i++)
        if (r->acks[i].mark <= cut && r->acks[i].tseq > need[r->acks[i].slot])
            need[r->acks[i].slot] = r->acks[i].tseq;
    static uint64_t got[SLOTS * MAX_THREADS];
    memset(got, 0, sizeof got);
    for (uint32_t slot = 0; slot < SLOTS * (uint32_t)r->sc->threads; slot++) {
        int64_t key = slot_key(r, slot);
        const void *v;
        size_t len;
        uint64_t q = 0;
        uint32_t sl = 0;
        rc = as_get(s, key, &v, &len);
        if (rc == AS_OK && (!ast_val_check(key, v, len, &q, &sl) || sl != slot || q > r->written[slot]))
            fail_msg("%s: slot %u reads a value that was never written for it", label, slot);
        if (rc != AS_OK && rc != AS_NOTFOUND)
            fail_msg("%s: slot %u: %s: %s", label, slot, as_strerror(rc), as_session_errmsg(s));
        got[slot] = rc == AS_OK ? q : 0;
        if (need[slot] && (rc != AS_OK || q < need[slot]))
            fail_msg("%s: slot %u lost acknowledged version %" PRIu64 " (reads %s, version %" PRIu64 "); open "
                     "said: %s", label, slot, need[slot], as_strerror(rc), q, err);
    }
    for (size_t i = 0; i < r->nspans; i++) { /* a batch survives whole or not at all */
        const bspan *sp = &r->spans[i];
        size_t present = 0;
        for (size_t k = 0; k < sp->n; k++)
            present += got[r->bitems[sp->first + k].slot] >= r->bitems[sp->first + k].tseq;
        if (present && present != sp->n)
            fail_msg("%s: batch %zu survived in part: %zu of its %zu records", label, i, present, sp->n);
        t_batches_checked++;
    }
    unsigned char v[64]; /* the recovered store takes writes again */
    memset(v, 7, sizeof v);
    if ((rc = as_put(s, INT64_MAX, v, sizeof v)) != AS_OK)
        fail_msg("%s: a put after recovery failed: %s", label, as_session_errmsg(s));
    as_session_close(s);
    if ((rc = as_close(db)) != AS_OK)
        fail_msg("%s: close after recovery: %s", label, as_strerror(rc));
    return reported;
}

typedef struct totals {
    uint64_t states, cut_reported, unsynced, kept, torn, dir_lost, mmap_writes;
} totals;

static void run_scenario(const scenario *sc, const char *base, uint64_t seed, int cuts, int randoms, totals *t)
{
    char rec[600], st[600];
    snprintf(rec, sizeof rec, "%s/rec", base);
    snprintf(st, sizeof st, "%s/state", base);
    ast_rmtree(rec);
    ast_rmtree(st);
    assert_int_equal(mkdir(rec, 0755), 0);
    static run r;
    record_run(&r, sc, rec, seed);
    t->mmap_writes += r.cf.n_mmap_writes;
    uint64_t rng = seed * 31 + 5;
    for (int k = 0; k <= cuts; k++) {
        size_t cut = k == cuts ? r.cf.n : (size_t)ast_below(&rng, r.cf.n + 1);
        for (int m = 0; m < 2 + randoms; m++) {
            int mode = m < 2 ? m : 2;
            ast_rmtree(st);
            assert_int_equal(mkdir(st, 0755), 0);
            cf_state_stats ss = {0};
            assert_int_equal(crashfs_build(&r.cf, cut, mode, &rng, st, &ss), 0);
            char label[200];
            snprintf(label, sizeof label, "%s: cut after %zu of %zu operations, state %d (%s)", sc->name, cut, r.cf.n,
                     m, mode == 0 ? "synced only" : mode == 1 ? "nothing lost" : "torn subset");
            t->cut_reported += (uint64_t)check_state(&r, cut, st, label);
            t->states++;
            t->unsynced += ss.unsynced_writes;
            t->kept += ss.kept_writes;
            t->torn += ss.torn_writes;
            t->dir_lost += ss.dir_ops_lost;
        }
    }
    crashfs_free(&r.cf);
    free(r.acks);
    pthread_mutex_destroy(&r.mu);
    ast_rmtree(rec);
    ast_rmtree(st);
}

static void test_power_cuts(void **state)
{
    (void)state;
    char base[512];
    if (access("/dev/shm", W_OK) == 0) { /* recovery runs thousands of times: tmpfs keeps it quick */
        snprintf(base, sizeof base, "/dev/shm/as-powerloss-XXXXXX");
        assert_non_null(mkdtemp(base));
    } else {
        assert_int_equal(ast_tmpdir(base, sizeof base, "as-powerloss"), 0);
    }
    int lng = ast_env_flag("KV_TEST_LONG"), san = ast_env_flag("KV_SANITIZED");
    int cuts = lng ? 320 : san ? 20 : 40, randoms = lng ? 8 : 4;
    const scenario scs[] = {
        {"sync, 1 writer", AS_SYNC_EACH, 1, 260, 0, 0, 0},
        {"group, 2 writers", AS_SYNC_GROUP, 2, 160, 0, 0, 0},
        {"group, 4 writers", AS_SYNC_GROUP, 4, 90, 0, 0, 0},
        {"none, as_sync every 25", AS_SYNC_NONE, 1, 300, 25, 0, 0},
        {"sync, batches of 7", AS_SYNC_EACH, 1, 300, 0, 7, 0},
        {"group, batches of 5, 2 writers", AS_SYNC_GROUP, 2, 180, 0, 5, 0},
        {"none, batches of 9", AS_SYNC_NONE, 1, 300, 0, 9, 0},
        {"sync, 1 writer, maintenance thread", AS_SYNC_EACH, 1, 260, 0, 0, 1},
        {"group, 2 writers, maintenance thread", AS_SYNC_GROUP, 2, 160, 0, 0, 1},
        {"none, as_sync every 25, maintenance thread", AS_SYNC_NONE, 1, 300, 25, 0, 1},
    };
    totals t = {0};
    double t0 = ast_now();
    for (size_t i = 0; i < sizeof scs / sizeof scs[0]; i++)
        run_scenario(&scs[i], base, 1000 + i, cuts, randoms, &t);
    printf("powerloss: %" PRIu64 " crash states (%s) in %.1f s, all opened with every acknowledged write and no "
           "wrong value; %" PRIu64 " unsynced writes considered, %" PRIu64 " kept (%" PRIu64 " torn at 512-byte "
           "sectors), %" PRIu64 " directory operations lost, %" PRIu64 " writes seen through writable mappings, "
           "%" PRIu64 " states where recovery cut a torn tail, %" PRIu64 " batch checks (all or nothing)\n",
           t.states, lng ? "KV_TEST_LONG" : "quick", ast_now() - t0, t.unsynced, t.kept, t.torn, t.dir_lost,
           t.mmap_writes, t.cut_reported, t_batches_checked);
    assert_true(t.states >= (uint64_t)(lng ? 20000 : san ? 500 : 1000));
    assert_true(t.torn > 0 && t.dir_lost > 0 && t.mmap_writes > 0 && t.cut_reported > 0);
    ast_rmtree(base);
}


/* A new store at AS_SYNC_NONE: one put, as_sync, power cut. The synced-only state must hold the put:
 * as_sync fdatasyncs the segment, so the segment's directory entry must have been synced when it was
 * created (before the fix only rotation synced it, and a store that never rotated lost everything). */
static void test_first_segment_synced(void **state)
{
    (void)state;
    char base[512], rec[600], st[600];
    assert_int_equal(ast_tmpdir(base, sizeof base, "as-powerloss-first"), 0);
    snprintf(rec, sizeof rec, "%s/rec", base);
    snprintf(st, sizeof st, "%s/state", base);
    assert_int_equal(mkdir(rec, 0755), 0);
    static crashfs cf;
    crashfs_init(&cf);
    as_options o;
    as_options_default(&o);
    o.file_ops = &cf.ops;
    as_db *db;
    char err[1024];
    assert_int_equal(as_open(rec, &o, &db, err, sizeof err), AS_OK);
    as_session *s;
    assert_int_equal(as_session_open(db, &s), AS_OK);
    unsigned char v[100];
    memset(v, 5, sizeof v);
    assert_int_equal(as_put(s, 42, v, sizeof v), AS_OK);
    assert_int_equal(as_sync(s), AS_OK);
    size_t cut = crashfs_mark(&cf); /* the power goes right after as_sync returned */
    as_session_close(s);
    assert_int_equal(as_close(db), AS_OK);
    uint64_t rng = 1;
    cf_state_stats ss = {0};
    assert_int_equal(mkdir(st, 0755), 0);
    assert_int_equal(crashfs_build(&cf, cut, 0, &rng, st, &ss), 0);
    as_options_default(&o);
    assert_int_equal(as_open(st, &o, &db, err, sizeof err), AS_OK);
    assert_int_equal(as_session_open(db, &s), AS_OK);
    const void *got;
    size_t len;
    if (as_get(s, 42, &got, &len) != AS_OK)
        fail_msg("a put acknowledged by as_sync was lost with the first segment's directory entry: %s", err);
    as_session_close(s);
    assert_int_equal(as_close(db), AS_OK);
    crashfs_free(&cf);
    ast_rmtree(base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_power_cuts),
        cmocka_unit_test(test_first_segment_synced),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
