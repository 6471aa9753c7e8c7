/* as_maint.c - maintenance policy: compaction and checkpoints inline after a write, on a background
 * thread, or when the embedder calls as_maintain (as_options.maintenance).
 *
 * Inline, the put that crossed a threshold runs the whole job under write_mu (its latency is the
 * job's). Off the write path (thread, as_maintain, as_compact, as_checkpoint) one job runs at a time
 * (maint_run_mu) in steps of about AS_MAINT_HOLD_NS under write_mu, each followed by a rest of
 * AS_MAINT_REST_FACTOR times as long (cut short when no write arrives), with every fdatasync, the
 * unlink and the checkpoint file's I/O outside write_mu: a put waits for one step at most, and only
 * a put that arrives during a step waits at all (PERFORMANCE.md, "Maintenance latency"). */
#include "as_internal.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#define AS_MAINT_POLL_MS 20 /* the thread's wake-up period when no write asked for it */

static int as_ckpt_due(as_db *db)
{
    uint64_t every = db->opt.checkpoint_bytes;
    return every && atomic_load(&db->log_bytes_since_ckpt) >= every && !atomic_load(&db->failed);
}

/* Checkpoint if the log grew enough since the last one. Under maint_run_mu and write_mu (yield: see
 * as_ckpt_write). A failure is counted; a failed sync in it has failed the store (as_fail), which the
 * next write reports. */
static void as_maint_checkpoint(as_db *db, int yield)
{
    if (db->in_maintenance || !as_ckpt_due(db))
        return;
    char err[512];
    db->in_maintenance = 1;
    if (as_ckpt_write(db, err, sizeof(err), yield) != AS_OK)
        atomic_fetch_add(&db->n_ckpt_errors, 1);
    db->in_maintenance = 0;
}

void as_maint_after_write(as_db *db, as_session *s, uint64_t old)
{
    if (db->opt.maintenance != AS_MAINT_INLINE) { /* the thread or as_maintain does it */
        if (old || as_ckpt_due(db))
            atomic_store_explicit(&db->maint_wanted, 1, memory_order_relaxed);
        return;
    }
    if (!old && !as_ckpt_due(db))
        return;
    /* Only try: an explicit as_compact/as_checkpoint may be running (between its steps) */
    if (pthread_mutex_trylock(&db->maint_run_mu) != 0)
        return;
    if (old)
        as_compact_maybe(db, s, as_loc_seg(old), 0);
    as_maint_checkpoint(db, 0);
    pthread_mutex_unlock(&db->maint_run_mu);
}

/* as_close is waiting for the thread: a pass stops between two jobs (a compaction left undone is
 * picked up by the next open's maintenance; the victim stays until its job completes). */
static int as_maint_stopping(as_db *db)
{
    return atomic_load_explicit(&db->maint_stopping, memory_order_relaxed);
}

/* One pass: compact every sealed segment past the garbage threshold, then checkpoint if due. One job
 * at a time (maint_run_mu); each lets writers in between its bounded steps (yield = 1), so a put waits
 * for one step of a compaction or of a checkpoint's collection at most. */
static int as_maint_pass(as_db *db, as_session *s)
{
    int rc = AS_OK;
    pthread_mutex_lock(&db->maint_run_mu);
    uint64_t last = atomic_load(&db->last_seg);
    for (uint64_t id = 1; id < last && rc == AS_OK && !as_maint_stopping(db); id++) {
        pthread_mutex_lock(&db->write_mu);
        as_sess_enter(s);
        if (id >= db->first_seg && as_compact_wanted(db, id))
            as_compact_maybe(db, s, id, 1);
        rc = as_failed_check(db, s->err, sizeof(s->err));
        pthread_mutex_unlock(&db->write_mu);
    }
    pthread_mutex_lock(&db->write_mu);
    as_sess_enter(s);
    if (!as_maint_stopping(db)) /* as_close writes its own checkpoint */
        as_maint_checkpoint(db, 1);
    as_reclaim(db, s);
    if (rc == AS_OK)
        rc = as_failed_check(db, s->err, sizeof(s->err));
    pthread_mutex_unlock(&db->write_mu);
    pthread_mutex_unlock(&db->maint_run_mu);
    return rc;
}

int as_maintain(as_session *s)
{
    as_db *db = s->db;
    as_sess_enter(s);
    int rc = as_write_check(s, 0, NULL);
    if (rc != AS_OK)
        return rc;
    atomic_store(&db->maint_wanted, 0);
    return as_maint_pass(db, s);
}

static void *as_maint_main(void *arg)
{
    as_db *db = arg;
    pthread_mutex_lock(&db->maint_mu);
    while (!db->maint_stop) {
        struct timespec t;
        clock_gettime(CLOCK_REALTIME, &t);
        t.tv_nsec += AS_MAINT_POLL_MS * 1000000L;
        if (t.tv_nsec >= 1000000000L) {
            t.tv_sec++;
            t.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&db->maint_cv, &db->maint_mu, &t);
        if (db->maint_stop)
            break;
        if (!atomic_exchange(&db->maint_wanted, 0))
            continue;
        pthread_mutex_unlock(&db->maint_mu);
        as_maint_pass(db, db->maint_sess); /* errors: in the stats and the failed state */
        pthread_mutex_lock(&db->maint_mu);
    }
    pthread_mutex_unlock(&db->maint_mu);
    return NULL;
}

int as_maint_start(as_db *db)
{
    if (db->opt.maintenance != AS_MAINT_THREAD || db->opt.read_only)
        return AS_OK;
    if (as_session_open(db, &db->maint_sess) != AS_OK)
        return as_db_seterr(db, AS_ENOMEM, "open %s: out of memory for the maintenance session", db->dir);
    int e = pthread_create(&db->maint_thread, NULL, as_maint_main, db);
    if (e) {
        as_session_close(db->maint_sess);
        db->maint_sess = NULL;
        return as_db_seterr(db, AS_ENOMEM, "open %s: cannot start the maintenance thread: %s", db->dir, strerror(e));
    }
    db->maint_running = 1;
    return AS_OK;
}

void as_maint_stop(as_db *db)
{
    if (!db->maint_running)
        return;
    atomic_store(&db->maint_stopping, 1);
    pthread_mutex_lock(&db->maint_mu);
    db->maint_stop = 1;
    pthread_cond_broadcast(&db->maint_cv);
    pthread_mutex_unlock(&db->maint_mu);
    pthread_join(db->maint_thread, NULL);
    as_session_close(db->maint_sess);
    db->maint_sess = NULL;
    db->maint_running = 0;
}
