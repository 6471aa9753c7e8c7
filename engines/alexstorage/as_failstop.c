/* as_failstop.c - every sync of the store, and the failed state a failed sync or short write puts it in. */
#include "as_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Why one sticky state (PostgreSQL's "fsyncgate", LMDB's MDB_FATAL_ERROR): Linux reports a writeback
 * error once per open file and then marks the lost pages clean, so a second fdatasync returns 0 for
 * data that never reached the disk. After the first failure nothing written since the last good sync
 * can be called durable, so the store stops acknowledging: db->failed is set, synced_seq stops moving,
 * and every later write or sync fails with the first failure's message. Reads go on. */
int as_fail(as_db *db, int status, const char *fmt, ...)
{
    if (status == AS_OK)
        status = AS_EIO;
    pthread_mutex_lock(&db->sync_mu);
    if (!atomic_load(&db->failed)) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(db->fail_msg, sizeof(db->fail_msg), fmt, ap);
        va_end(ap);
        db->fail_synced_seq = db->synced_seq;
        atomic_store_explicit(&db->failed, status, memory_order_release);
    }
    pthread_cond_broadcast(&db->sync_cv); /* group-commit followers must see it and fail too */
    pthread_mutex_unlock(&db->sync_mu);
    return status;
}

int as_failed_check(as_db *db, char *err, size_t errlen)
{
    int f = atomic_load_explicit(&db->failed, memory_order_acquire);
    if (!f)
        return AS_OK;
    snprintf(err, errlen, "%s: the store stopped accepting writes after an earlier failure (%s): %s; "
             "nothing written since the last successful sync is acknowledged; reopen the store to recover",
             db->dir, as_strerror(f), db->fail_msg);
    return f;
}

int as_durable_upto(as_db *db, uint64_t seq, char *err, size_t errlen)
{
    pthread_mutex_lock(&db->sync_mu);
    int f = atomic_load(&db->failed);
    if (!f && seq > db->synced_seq)
        db->synced_seq = seq;
    pthread_mutex_unlock(&db->sync_mu);
    return f ? as_failed_check(db, err, errlen) : AS_OK;
}

int as_sync_seg(as_db *db, as_segment *sg, enum as_sync_site site, char *err, size_t errlen)
{
    int fe = as_fault_hit_site(&db->fault, site);
    int rc;
    if (fe) {
        snprintf(err, errlen, "fdatasync %s: %s", sg->path, strerror(fe));
        rc = as_errno_status(fe);
    } else {
        rc = as_seg_sync(sg, err, errlen);
    }
    if (rc != AS_OK)
        return as_fail(db, rc, "%s", err);
    atomic_fetch_add_explicit(&db->n_syncs, 1, memory_order_relaxed);
    return AS_OK;
}

int as_sync_fd(as_db *db, int fd, const char *path, int is_dir, enum as_sync_site site, char *err, size_t errlen)
{
    int fe = as_fault_hit_site(&db->fault, site);
    if (!fe && !is_dir)
        fe = as_fault_hit(&db->fault, AS_FAULT_SYNC);
    if (fe || (is_dir ? db->fops->fsync(db->fops->ctx, fd) : db->fops->fdatasync(db->fops->ctx, fd)) != 0) {
        int e = fe ? fe : errno;
        snprintf(err, errlen, "%s %s: %s", is_dir ? "fsync directory" : "fdatasync", path, strerror(e));
        return as_fail(db, as_errno_status(e), "%s", err);
    }
    return AS_OK;
}

int as_sync_dir(as_db *db, enum as_sync_site site, char *err, size_t errlen)
{
    return as_sync_fd(db, db->dirfd, db->dir, 1, site, err, errlen);
}

int as_sync_log(as_db *db, enum as_sync_site site, char *err, size_t errlen)
{
    uint64_t last = atomic_load(&db->last_seg);
    uint64_t from = db->unsynced_seg && db->unsynced_seg >= db->first_seg ? db->unsynced_seg : db->first_seg;
    for (uint64_t id = from; id && id <= last; id++) {
        as_segment *sg = as_db_seg(db, id);
        if (!sg || sg->retired) /* compaction leaves gaps */
            continue;
        int rc = as_sync_seg(db, sg, site, err, errlen);
        if (rc != AS_OK)
            return rc;
    }
    db->unsynced_seg = last;
    return AS_OK;
}
