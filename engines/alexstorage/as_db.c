/* as_db.c - open/close a store: options, the LOCK file, the segment table, error text and stats. */
#include "as_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

void as_options_default(as_options *o)
{
    memset(o, 0, sizeof(*o));
    o->sync_mode = AS_SYNC_NONE;
    o->segment_bytes = 1ull << 30;
    o->map_chunk_bytes = 16ull << 20;
    o->reserve_bytes = 0; /* = segment_bytes */
    o->create_if_missing = 1;
    o->verify_reads = 1;
    o->checkpoint_bytes = 256ull << 20;
    o->compact_garbage_ratio = 0.3;
    o->hugepages = 1;
    o->log_prealloc = 1;
}

const char *as_errmsg(const as_db *db) { return db ? db->err : "no store handle"; }
const char *as_session_errmsg(const as_session *s) { return s ? s->err : "no session handle"; }

static int as_check_options(const as_options *o, char *why, size_t len)
{
    long page = sysconf(_SC_PAGESIZE);
    if (o->sync_mode != AS_SYNC_NONE && o->sync_mode != AS_SYNC_EACH && o->sync_mode != AS_SYNC_GROUP)
        snprintf(why, len, "sync_mode %d is not one of AS_SYNC_NONE/EACH/GROUP", (int)o->sync_mode);
    else if (o->map_chunk_bytes == 0 || o->map_chunk_bytes % (uint64_t)page)
        snprintf(why, len, "map_chunk_bytes %llu must be a positive multiple of the page size %ld",
                 (unsigned long long)o->map_chunk_bytes, page);
    else if (o->segment_bytes < 4096 || o->segment_bytes > AS_LOC_MAX_OFF / 2)
        snprintf(why, len, "segment_bytes %llu must be between 4096 and %llu", (unsigned long long)o->segment_bytes,
                 (unsigned long long)(AS_LOC_MAX_OFF / 2));
    else if (o->maintenance != AS_MAINT_INLINE && o->maintenance != AS_MAINT_THREAD && o->maintenance != AS_MAINT_MANUAL)
        snprintf(why, len, "maintenance %d is not one of AS_MAINT_INLINE/THREAD/MANUAL", o->maintenance);
    else if (o->compact_garbage_ratio < 0.0 || o->compact_garbage_ratio >= 1.0)
        snprintf(why, len, "compact_garbage_ratio %g must be in [0, 1)", o->compact_garbage_ratio);
    else if (o->reserve_bytes > (1ull << 46))
        snprintf(why, len, "reserve_bytes %llu is more address space than a process has",
                 (unsigned long long)o->reserve_bytes);
    else
        return AS_OK;
    return AS_EINVAL;
}

static int as_open_dir(as_db *db, const char *dir)
{
    if (!db->opt.read_only && db->opt.create_if_missing && mkdir(dir, 0755) != 0 && errno != EEXIST)
        return as_db_seterr(db, as_errno_status(errno), "create directory %s: %s", dir, strerror(errno));
    db->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (db->dirfd < 0)
        return as_db_seterr(db, as_errno_status(errno), "open store directory %s: %s", dir, strerror(errno));
    return AS_OK;
}

/* Writers take LOCK exclusively; read-only opens share it (and create nothing if it is absent). */
static int as_take_lock(as_db *db)
{
    int ro = db->opt.read_only;
    db->lockfd = openat(db->dirfd, AS_LOCK_NAME, (ro ? O_RDONLY : O_RDWR | O_CREAT) | O_CLOEXEC, 0644);
    if (db->lockfd < 0) {
        if (ro && errno == ENOENT)
            return AS_OK;
        return as_db_seterr(db, as_errno_status(errno), "open %s/%s: %s", db->dir, AS_LOCK_NAME, strerror(errno));
    }
    if (flock(db->lockfd, (ro ? LOCK_SH : LOCK_EX) | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK)
            return as_db_seterr(db, AS_EBUSY, "store %s is locked by another process (or another open handle)",
                                db->dir);
        return as_db_seterr(db, AS_EIO, "flock %s/%s: %s", db->dir, AS_LOCK_NAME, strerror(errno));
    }
    return AS_OK;
}

static void as_db_free(as_db *db)
{
    as_maint_stop(db);
    while (db->sessions) {
        as_session *s = db->sessions;
        db->sessions = s->next;
        if (s->ixr)
            db->index->ops->reader_close(s->ixr);
        pthread_mutex_destroy(&s->lock);
        free(s);
    }
    as_db_close_segments(db);
    if (db->index)
        as_index_destroy(db->index);
    if (db->lockfd >= 0)
        close(db->lockfd); /* releases the flock */
    if (db->dirfd >= 0)
        close(db->dirfd);
    pthread_mutex_destroy(&db->write_mu);
    pthread_mutex_destroy(&db->sess_mu);
    pthread_mutex_destroy(&db->sync_mu);
    pthread_mutex_destroy(&db->maint_mu);
    pthread_mutex_destroy(&db->maint_run_mu);
    pthread_cond_destroy(&db->maint_cv);
    pthread_cond_destroy(&db->sync_cv);
    free(db->wbuf);
    free(db->dropped);
    free(db->retired); /* their segments are still in segdir and were closed above */
    free(db);
}

int as_open(const char *dir, const as_options *opt, as_db **out, char *err, size_t errlen)
{
    *out = NULL;
    as_db *db = calloc(1, sizeof(*db));
    if (!db) {
        if (err)
            snprintf(err, errlen, "out of memory opening store %s", dir);
        return AS_ENOMEM;
    }
    db->dirfd = db->lockfd = -1;
    pthread_mutex_init(&db->write_mu, NULL);
    pthread_mutex_init(&db->sess_mu, NULL);
    pthread_mutex_init(&db->sync_mu, NULL);
    pthread_mutex_init(&db->maint_mu, NULL);
    pthread_mutex_init(&db->maint_run_mu, NULL);
    pthread_cond_init(&db->maint_cv, NULL);
    pthread_cond_init(&db->sync_cv, NULL);
    atomic_init(&db->epoch, 1);
    if (opt)
        db->opt = *opt;
    else
        as_options_default(&db->opt);
    snprintf(db->dir, sizeof(db->dir), "%s", dir);
    as_fault_init(&db->fault);
    db->fops = db->opt.file_ops ? db->opt.file_ops : as_file_ops_os();
    char why[512];
    int rc = as_check_options(&db->opt, why, sizeof(why));
    if (rc == AS_OK)
        rc = as_file_ops_check(db->fops, why, sizeof(why));
    if (rc != AS_OK)
        as_db_seterr(db, rc, "open %s: %s", dir, why);
    if (rc == AS_OK)
        rc = as_open_dir(db, dir);
    if (rc == AS_OK)
        rc = as_take_lock(db);
    if (rc == AS_OK) {
        rc = as_index_create(&db->index, &db->opt, why, sizeof(why));
        if (rc != AS_OK)
            as_db_seterr(db, rc, "open %s: %s", dir, why);
    }
    if (rc == AS_OK)
        rc = as_recover(db); /* sets db->err to the recovery report on success too */
    if (rc == AS_OK)
        rc = as_maint_start(db);
    if (err)
        snprintf(err, errlen, "%s", db->err);
    if (rc != AS_OK) {
        as_db_free(db);
        return rc;
    }
    *out = db;
    return AS_OK;
}

int as_close(as_db *db)
{
    if (!db)
        return AS_OK;
    as_maint_stop(db); /* before anything it could race with */
    int rc = AS_OK;
    as_segment *last = db->last_seg ? as_db_seg(db, db->last_seg) : NULL;
    if (!db->opt.read_only && last)
        rc = as_seg_wmap_close(last, db->err, sizeof(db->err)); /* the file ends at its last record again */
    if (rc == AS_OK && !db->opt.read_only && db->opt.sync_mode != AS_SYNC_NONE && last && !db->failed)
        rc = as_sync_seg(db, last, AS_SITE_CLOSE, db->err, sizeof(db->err));
    /* A checkpoint of everything, so the next open loads it instead of scanning the log. */
    if (rc == AS_OK && !db->opt.read_only && last && !db->failed &&
        (atomic_load(&db->log_bytes_since_ckpt) > 0 || !db->ckpt_end_seg)) {
        pthread_mutex_lock(&db->write_mu);
        rc = as_ckpt_write(db, db->err, sizeof(db->err), 0); /* the thread is stopped: nothing else runs */
        pthread_mutex_unlock(&db->write_mu);
    }
    as_db_free(db);
    return rc;
}

int as_get_stats(as_db *db, as_stats *st)
{
    memset(st, 0, sizeof(*st));
    as_index_stats ax;
    int shared = as_index_shared_reads(db->index);
    /* the structure walk must not overlap the writer: with shared reads only the writer changes it
     * (readers' counters are atomic); else stop everyone for a consistent copy */
    if (shared)
        pthread_mutex_lock(&db->write_mu);
    as_db_lock_all(db);
    as_index_stats_get(db->index, &ax);
    as_db_unlock_all(db);
    if (shared)
        pthread_mutex_unlock(&db->write_mu);
    pthread_mutex_lock(&db->sess_mu);
    uint64_t gets = atomic_load(&db->n_gets);
    for (as_session *s = db->sessions; s; s = s->next)
        gets += atomic_load(&s->n_gets);
    pthread_mutex_unlock(&db->sess_mu);
    st->num_keys = ax.num_keys;
    st->num_segments = atomic_load(&db->num_segments);
    st->disk_bytes = atomic_load(&db->disk_bytes);
    as_segment *last = as_db_seg(db, atomic_load(&db->last_seg));
    if (last) { /* plus the preallocated tail of the segment being appended to (as_seg_store) */
        uint64_t fb = atomic_load(&last->file_bytes), size = atomic_load(&last->size);
        st->disk_bytes += fb > size ? fb - size : 0;
    }
    st->live_bytes = atomic_load(&db->live_bytes);
    st->index_bytes = ax.index_bytes;
    st->index_heap_bytes = ax.heap_bytes;
    st->index_bytes_per_key = ax.num_keys ? (double)ax.index_bytes / (double)ax.num_keys : 0.0;
    st->index_depth = ax.max_depth;
    st->index_model_nodes = ax.inner_nodes;
    st->index_data_nodes = ax.leaf_nodes;
    st->avg_search_steps = ax.num_lookups ? (double)ax.num_search_steps / (double)ax.num_lookups : 0.0;
    st->avg_shifts = ax.num_inserts ? (double)ax.num_shifts / (double)ax.num_inserts : 0.0;
    st->records_replayed = db->records_replayed;
    st->bytes_dropped = db->bytes_dropped;
    st->records_dropped = db->records_dropped;
    st->bytes_salvaged = db->bytes_salvaged;
    st->num_puts = atomic_load(&db->n_puts);
    st->num_dels = atomic_load(&db->n_dels);
    st->num_gets = gets;
    st->num_syncs = atomic_load(&db->n_syncs);
    st->index_lookups = ax.num_lookups;
    st->index_inserts = ax.num_inserts;
    st->index_expansions = ax.num_expansions;
    st->index_splits = ax.num_splits;
    st->checkpoint_loaded = db->ckpt_loaded;
    st->checkpoint_rejected = db->ckpt_rejected;
    st->checkpoints_written = atomic_load(&db->n_checkpoints);
    st->compactions = atomic_load(&db->n_compactions);
    st->compact_bytes_written = atomic_load(&db->compact_bytes_written);
    st->user_bytes_written = atomic_load(&db->user_bytes_written);
    st->reader_locks = atomic_load(&db->n_reader_locks);
    st->index_smo = ax.num_smo;
    st->index_smo_waits = ax.num_smo_waits;
    return AS_OK;
}
