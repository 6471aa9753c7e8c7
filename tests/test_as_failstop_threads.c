/* test_as_failstop_threads.c - an injected EIO at each sync site, with 2 and 4 writers: no write whose
 * sync failed is acknowledged, later writes and syncs fail, reads go on, the message names call and file. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <inttypes.h>
#include <pthread.h>

#include "as_internal.h" /* white box: s->last_seq, db->fail_synced_seq, db->fault.fired */
#include "as_torture.h"

#define SLOTS 48u      /* keys per thread: overwrites make garbage, so compaction runs */
#define MAX_THREADS 4
#define MAX_OPS 900

typedef struct writer {
    as_db *db;
    int tid, site, nops;
    uint64_t space;
    uint64_t ok_seq[MAX_OPS]; /* store sequence of each acknowledged put */
    int n_ok, n_err, n_ok_after_err, bad_read;
    uint64_t acked[SLOTS];    /* per slot: test sequence of the last acknowledged put (0 = none) */
    char first_err[600];
} writer;

static int64_t wkey(const writer *w, uint32_t slot) { return ast_key(w->space, (uint32_t)w->tid * SLOTS + slot); }

static void *writer_main(void *arg)
{
    writer *w = arg;
    as_session *s;
    if (as_session_open(w->db, &s) != AS_OK)
        return NULL;
    static _Thread_local unsigned char val[1024];
    uint64_t r = w->space * 977 + (uint64_t)w->tid;
    for (int i = 0; i < w->nops && w->n_err < 6; i++) {
        uint32_t slot = (uint32_t)ast_below(&r, SLOTS);
        int64_t key = wkey(w, slot);
        uint64_t tseq = (uint64_t)i + 1;
        uint32_t len = ast_val_len(key, tseq, sizeof val);
        ast_val_make(key, tseq, slot, len, val);
        int rc = as_put(s, key, val, len);
        if (rc == AS_OK && w->site == AS_SITE_SYNC && i % 8 == 7)
            rc = as_sync(s);
        if (rc == AS_OK) {
            w->ok_seq[w->n_ok++] = s->last_seq;
            w->acked[slot] = tseq;
            if (w->n_err)
                w->n_ok_after_err++;
            continue;
        }
        if (w->n_err++ == 0)
            snprintf(w->first_err, sizeof w->first_err, "%s", as_session_errmsg(s));
        const void *v; /* reads keep working in the failed state */
        size_t vl;
        int g = as_get(s, key, &v, &vl);
        if (g != AS_OK && g != AS_NOTFOUND)
            w->bad_read++;
    }
    as_session_close(s);
    return NULL;
}

static const void *bulk_value(void *arg, int64_t key, size_t *len)
{
    static unsigned char v[64];
    (void)arg;
    memset(v, (int)(key & 0xff), sizeof v);
    *len = sizeof v;
    return v;
}

/* After reopen without faults: every acknowledged put is there (that or a later version). */
static void verify_reopen(const char *dir, writer *ws, int nthreads, const char *label)
{
    as_options o;
    as_options_default(&o);
    as_db *db;
    char err[1024];
    int rc = as_open(dir, &o, &db, err, sizeof err);
    if (rc != AS_OK)
        fail_msg("%s: reopen: %s: %s", label, as_strerror(rc), err);
    as_session *s;
    assert_int_equal(as_session_open(db, &s), AS_OK);
    for (int t = 0; t < nthreads; t++)
        for (uint32_t slot = 0; slot < SLOTS; slot++) {
            if (!ws[t].acked[slot])
                continue;
            int64_t key = wkey(&ws[t], slot);
            const void *v;
            size_t len;
            uint64_t q;
            uint32_t sl;
            rc = as_get(s, key, &v, &len);
            if (rc != AS_OK || !ast_val_check(key, v, len, &q, &sl) || q < ws[t].acked[slot])
                fail_msg("%s: thread %d slot %u acknowledged at %" PRIu64 " reads %s", label, t, slot,
                         ws[t].acked[slot], as_strerror(rc));
        }
    as_session_close(s);
    assert_int_equal(as_close(db), AS_OK);
}

/* Where the Nth sync of a site comes late enough that writers are busy when it fails. */
static int fault_nth(int site, uint64_t *r)
{
    switch (site) {
    case AS_SITE_WRITE:
    case AS_SITE_GROUP: return 20 + (int)ast_below(r, 60);
    case AS_SITE_BULK:
    case AS_SITE_CLOSE: return 1;
    default: return 1 + (int)ast_below(r, 3);
    }
}

static void one_run(const char *dir, int site, enum as_sync_mode mode, int nthreads, uint64_t *r, int *n_acked)
{
    char label[160], spec[64];
    int nth = fault_nth(site, r);
    snprintf(spec, sizeof spec, "sync@%s=%d,delay_us=%d", as_sync_site_names[site], nth, mode == AS_SYNC_NONE ? 0 : 200);
    snprintf(label, sizeof label, "AS_FAULT=%s mode %d, %d writers", spec, (int)mode, nthreads);
    ast_clear_dir(dir);
    as_options o;
    as_options_default(&o);
    o.sync_mode = mode;
    o.segment_bytes = 48u << 10;
    o.map_chunk_bytes = 64u << 10;
    o.checkpoint_bytes = 40u << 10;
    o.compact_garbage_ratio = 0.3;
    setenv("AS_FAULT", spec, 1);
    as_db *db;
    char err[1024];
    int rc = as_open(dir, &o, &db, err, sizeof err);
    unsetenv("AS_FAULT");
    if (rc != AS_OK)
        fail_msg("%s: open: %s", label, err);
    if (site == AS_SITE_BULK) { /* the load's final sync fails: the load is not acknowledged */
        as_session *s;
        assert_int_equal(as_session_open(db, &s), AS_OK);
        int64_t keys[200];
        for (int i = 0; i < 200; i++)
            keys[i] = -1000000 + i;
        rc = as_bulk_load(s, keys, 200, bulk_value, NULL);
        if (mode != AS_SYNC_NONE && rc == AS_OK)
            fail_msg("%s: bulk load acknowledged after its fdatasync failed", label);
        as_session_close(s);
    }
    static writer ws[MAX_THREADS];
    pthread_t th[MAX_THREADS];
    for (int t = 0; t < nthreads; t++) {
        memset(&ws[t], 0, sizeof ws[t]);
        ws[t].db = db;
        ws[t].tid = t;
        ws[t].site = site;
        ws[t].space = ast_rand(r);
        ws[t].nops = ast_env_flag("KV_SANITIZED") ? MAX_OPS / 2 : MAX_OPS;
        assert_int_equal(pthread_create(&th[t], NULL, writer_main, &ws[t]), 0);
    }
    for (int t = 0; t < nthreads; t++)
        pthread_join(th[t], NULL);
    if (site == AS_SITE_CLOSE) {
        assert_int_equal(atomic_load(&db->failed), 0);
        rc = as_close(db);
        if (rc == AS_OK)
            fail_msg("%s: as_close reported success after its fdatasync failed", label);
        verify_reopen(dir, ws, nthreads, label);
        return;
    }
    if (atomic_load(&db->fault.fired) == 0)
        fail_msg("%s: the writers never reached the sync site (the test would prove nothing)", label);
    int failed = atomic_load(&db->failed);
    if (!failed)
        fail_msg("%s: an injected sync failure did not put the store in its failed state", label);
    uint64_t floor = db->fail_synced_seq; /* everything above it was unsynced when the sync failed */
    if (!strstr(db->fail_msg, "sync") || !strstr(db->fail_msg, dir))
        fail_msg("%s: failure message names no sync call and file: %s", label, db->fail_msg);
    int errs = 0;
    for (int t = 0; t < nthreads; t++) {
        writer *w = &ws[t];
        errs += w->n_err;
        if (w->bad_read)
            fail_msg("%s: thread %d: reads failed in the failed state", label, t);
        if (w->n_ok_after_err)
            fail_msg("%s: thread %d: %d writes acknowledged after one failed", label, t, w->n_ok_after_err);
        if (w->n_err && (!strstr(w->first_err, "sync") || !strstr(w->first_err, dir)))
            fail_msg("%s: thread %d: error names no sync call and file: %s", label, t, w->first_err);
        if (mode == AS_SYNC_NONE)
            continue;
        for (int i = 0; i < w->n_ok; i++)
            if (w->ok_seq[i] > floor)
                fail_msg("%s: thread %d: record %" PRIu64 " acknowledged, but only records <= %" PRIu64
                         " were synced when the store failed (%s)", label, t, w->ok_seq[i], floor, db->fail_msg);
        *n_acked += w->n_ok;
    }
    if (!errs)
        fail_msg("%s: no writer saw the failure", label);
    as_session *s;
    assert_int_equal(as_session_open(db, &s), AS_OK);
    if (as_sync(s) == AS_OK)
        fail_msg("%s: as_sync succeeded on a failed store", label);
    unsigned char v[40] = {0};
    if (as_put(s, 42, v, sizeof v) == AS_OK)
        fail_msg("%s: a put succeeded on a failed store", label);
    as_session_close(s);
    as_close(db); /* reports the failure; must not crash */
    verify_reopen(dir, ws, nthreads, label);
}

static void test_eio_every_site(void **state)
{
    (void)state;
    char dir[512];
    /* tmpfs when there is one: fault injection needs no real device, and syncs there cost nothing */
    if (access("/dev/shm", W_OK) == 0) {
        snprintf(dir, sizeof dir, "/dev/shm/as-failstop-XXXXXX");
        assert_non_null(mkdtemp(dir));
    } else {
        assert_int_equal(ast_tmpdir(dir, sizeof dir, "as-failstop"), 0);
    }
    uint64_t r = 20260;
    int runs = 0, acked = 0;
    const enum as_sync_mode modes[] = {AS_SYNC_EACH, AS_SYNC_GROUP, AS_SYNC_NONE};
    for (int site = 0; site < AS_SITE__N; site++)
        for (int m = 0; m < 3; m++) {
            enum as_sync_mode mode = modes[m];
            if ((site == AS_SITE_WRITE && mode != AS_SYNC_EACH) || (site == AS_SITE_GROUP && mode != AS_SYNC_GROUP))
                continue;
            if (mode == AS_SYNC_NONE && (site == AS_SITE_CLOSE || site == AS_SITE_BULK))
                continue; /* no sync there at AS_SYNC_NONE */
            for (int nthreads = 2; nthreads <= 4; nthreads += 2) {
                one_run(dir, site, mode, nthreads, &r, &acked);
                runs++;
            }
        }
    printf("failstop: %d runs (%d sync sites x modes x 2 and 4 writers), %d writes acknowledged before the "
           "failure, none after it\n", runs, AS_SITE__N, acked);
    ast_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_eio_every_site),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
