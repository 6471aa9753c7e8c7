/* as_log.c - the log head: room for a record (rotation), appends, and the group-commit sync. */
#include "as_internal.h"

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

unsigned char *as_log_buf(as_db *db, size_t need)
{
    if (need <= db->wbuf_cap)
        return db->wbuf;
    size_t cap = db->wbuf_cap ? db->wbuf_cap : 4096;
    while (cap < need)
        cap *= 2;
    unsigned char *p = realloc(db->wbuf, cap);
    if (!p)
        return NULL;
    db->wbuf = p;
    db->wbuf_cap = cap;
    return db->wbuf;
}

/* Seal the current segment and start the next one. Under write_mu. */
int as_rotate(as_db *db, as_session *s)
{
    uint64_t cur_id = atomic_load(&db->last_seg);
    as_segment *cur = as_db_seg(db, cur_id);
    /* A sealed segment never grows: its preallocated tail goes before the next one exists, so only
     * the last segment can end in preallocated zeros (recovery cuts those). It is fdatasync'd in every
     * mode before the next one exists: group commit then only ever syncs the current segment, and after
     * a power cut only the last segment can have a torn tail (at AS_SYNC_NONE too; one fdatasync per
     * segment_bytes written). */
    int rc = as_seg_wmap_close(cur, s->err, sizeof(s->err));
    if (rc != AS_OK) /* a sealed segment would keep a preallocated zero tail: stop rather than go on */
        return as_fail(db, rc, "%s", s->err);
    if ((rc = as_sync_seg(db, cur, AS_SITE_ROTATE, s->err, sizeof(s->err))) != AS_OK)
        return rc;
    if (cur_id + 1 > AS_LOC_MAX_SEG)
        return as_sess_seterr(s, AS_ENOSPC, "%s: segment ids exhausted (%llu)", db->dir, (unsigned long long)cur_id);
    as_segment *sg;
    rc = as_seg_create(&sg, db->fops, db->dirfd, db->dir, cur_id + 1, db->seq, db->first_seg,
                       as_db_reserve_bytes(db), db->opt.map_chunk_bytes, 0, s->err, sizeof(s->err));
    if (rc != AS_OK)
        return rc;
    /* The new header and its directory entry are made durable in every mode, AS_SYNC_NONE included:
     * without them a power cut can leave a newest segment with a zeroed header, or none at all. */
    rc = as_sync_seg(db, sg, AS_SITE_NEWSEG, s->err, sizeof(s->err));
    if (rc == AS_OK)
        rc = as_sync_dir(db, AS_SITE_NEWSEG, s->err, sizeof(s->err));
    if (rc != AS_OK) {
        db->fops->unlinkat(db->fops->ctx, db->dirfd, strrchr(sg->path, '/') + 1); /* best effort: the store is failed anyway */
        as_seg_close(sg);
        return rc;
    }
    if (as_db_seg_put(db, sg) != AS_OK) {
        as_seg_close(sg);
        return as_sess_seterr(s, AS_ENOMEM, "out of memory adding a segment");
    }
    atomic_store(&db->last_seg, cur_id + 1);
    atomic_fetch_add(&db->disk_bytes, AS_SEG_HEADER_BYTES);
    /* The sealed segment never grows: give back the unused part of its reservation. Readers never
     * touch bytes past size <= mapped_bytes, so this cannot pull memory from under them. */
    if (cur->mapped_bytes < cur->reserved_bytes) {
        munmap(cur->base + cur->mapped_bytes, cur->reserved_bytes - cur->mapped_bytes);
        cur->reserved_bytes = cur->mapped_bytes;
    }
    return AS_OK;
}

int as_place(as_db *db, as_session *s, uint64_t bytes, as_segment **sgp, uint64_t *off)
{
    int frc = as_failed_check(db, s->err, sizeof(s->err)); /* re-checked under write_mu: nothing after */
    if (frc != AS_OK)
        return frc;
    as_segment *sg = as_db_seg(db, atomic_load(&db->last_seg));
    uint64_t size = atomic_load(&sg->size);
    if (size > AS_SEG_HEADER_BYTES && size + bytes > db->opt.segment_bytes) {
        int rc = as_rotate(db, s);
        if (rc != AS_OK)
            return rc;
        sg = as_db_seg(db, atomic_load(&db->last_seg));
        size = atomic_load(&sg->size);
    }
    int rc = as_seg_map_to(sg, size + bytes, s->err, sizeof(s->err));
    if (rc != AS_OK)
        return rc;
    *sgp = sg;
    *off = size;
    return AS_OK;
}

/* as_options.log_prealloc: zero-fill the log head from its end to AS_LOG_PREALLOC_BYTES past `end`
 * (not past the segment's limit) and fdatasync that once, so the fdatasyncs of the puts that then
 * overwrite the zeros change no file size and no extent: data blocks and a device flush only. Under
 * write_mu. A failed sync is fail-stop (as_sync_seg); a failed zero-fill is a plain error (a partial
 * zero tail is an empty tail). */
static int as_log_prealloc(as_db *db, as_session *s, as_segment *sg, uint64_t end)
{
    uint64_t lim = db->opt.segment_bytes > end ? db->opt.segment_bytes : end;
    uint64_t want = (end + AS_LOG_PREALLOC_BYTES - 1) / AS_LOG_PREALLOC_BYTES * AS_LOG_PREALLOC_BYTES;
    if (want > lim)
        want = lim;
    if (want > sg->reserved_bytes)
        want = sg->reserved_bytes > end ? sg->reserved_bytes : end;
    int rc = as_seg_zero_to(sg, want, s->err, sizeof(s->err));
    if (rc != AS_OK)
        return rc;
    return as_sync_seg(db, sg, db->opt.sync_mode == AS_SYNC_EACH ? AS_SITE_WRITE : AS_SITE_GROUP, s->err,
                       sizeof(s->err));
}

int as_log_write(as_db *db, as_session *s, as_segment *sg, uint64_t off, const void *buf, size_t len)
{
    int rc = AS_SEG_FALLBACK;
    /* Without a sync per write, a copy into the shared mapping is as durable as pwrite (both end in
     * the page cache) at a fraction of the cost. With one, pwrite stays: it dirties only the blocks
     * it wrote, while a write fault dirties a whole 2 MiB folio that fdatasync would then write. */
    if (db->opt.sync_mode == AS_SYNC_NONE) {
        as_seg_wmap_open(sg);
        if (sg->wbase)
            rc = as_seg_store(sg, off, buf, len, s->err, sizeof(s->err));
    }
    if (rc == AS_SEG_FALLBACK && db->opt.log_prealloc && db->opt.sync_mode != AS_SYNC_NONE &&
        off + len > atomic_load(&sg->file_bytes)) {
        int prc = as_log_prealloc(db, s, sg, off + len);
        if (prc != AS_OK)
            return prc;
    }
    if (rc == AS_SEG_FALLBACK) {
        int stuck = 0;
        rc = as_seg_write(sg, off, buf, len, &stuck, s->err, sizeof(s->err));
        /* A short write, or one that failed for another reason than space, leaves the file in a state
         * the store cannot vouch for; a full disk that took nothing is a plain error. */
        if (rc != AS_OK && (stuck || rc != AS_ENOSPC))
            as_fail(db, rc, "%s", s->err);
    }
    return rc;
}

/* Write `len` encoded bytes at (sg, off) and publish them to readers. Under write_mu. */
static int as_commit_bytes(as_db *db, as_session *s, as_segment *sg, uint64_t off, const void *buf, size_t len)
{
    int rc = as_log_write(db, s, sg, off, buf, len);
    if (rc != AS_OK)
        return rc;
    if (db->opt.sync_mode == AS_SYNC_EACH && (rc = as_sync_seg(db, sg, AS_SITE_WRITE, s->err, sizeof(s->err))) != AS_OK)
        return rc;
    atomic_store_explicit(&sg->size, off + len, memory_order_release);
    atomic_fetch_add_explicit(&db->disk_bytes, len, memory_order_relaxed);
    return AS_OK;
}

int as_log_append_bytes(as_db *db, as_session *s, const void *buf, size_t bytes, uint64_t nseq, uint64_t *loc)
{
    as_segment *sg;
    uint64_t off;
    int rc = as_place(db, s, bytes, &sg, &off);
    if (rc != AS_OK)
        return rc;
    rc = as_commit_bytes(db, s, sg, off, buf, bytes);
    if (rc != AS_OK)
        return rc;
    db->seq += nseq;
    s->last_seq = db->seq;
    *loc = as_loc_make(sg->id, off);
    if (db->opt.sync_mode == AS_SYNC_EACH)
        return as_durable_upto(db, db->seq, s->err, sizeof(s->err));
    return AS_OK;
}

int as_log_append(as_db *db, as_session *s, int64_t key, unsigned flags, const void *val, size_t len,
                  uint64_t *loc)
{
    uint64_t bytes = as_rec_bytes(len);
    if (as_log_buf(db, bytes) == NULL)
        return as_sess_seterr(s, AS_ENOMEM, "out of memory for a %zu-byte record", len);
    as_rec_encode(db->wbuf, key, db->seq + 1, flags, val, (uint32_t)len);
    return as_log_append_bytes(db, s, db->wbuf, bytes, 1, loc);
}

/* Commit delay (PostgreSQL's commit_delay): when the last group had several writers, the new leader
 * waits up to AS_COMMIT_DELAY_NS for another writer to append, so one fdatasync covers both instead of
 * each writer paying a whole fdatasync of its own in turn. Only a short wait next to a ~0.2-5 ms sync. */
#define AS_COMMIT_DELAY_NS 100000
static void as_commit_delay(as_db *db, uint64_t seq)
{
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        if (atomic_load_explicit(&db->appended_seq, memory_order_acquire) > seq)
            return;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if ((now.tv_sec - t0.tv_sec) * 1000000000L + (now.tv_nsec - t0.tv_nsec) >= AS_COMMIT_DELAY_NS)
            return;
        sched_yield();
    }
}

/* Leader/follower group commit: the first waiter fdatasyncs for everyone appended so far. */
int as_log_group_commit(as_db *db, as_session *s, uint64_t seq)
{
    int rc = AS_OK;
    pthread_mutex_lock(&db->sync_mu);
    db->sync_waiters++;
    while (db->synced_seq < seq) {
        /* Not only the records the failed sync covered: a later fdatasync returns 0 for pages whose
         * writeback already failed, so nobody above synced_seq may be acknowledged any more. */
        if (atomic_load(&db->failed)) {
            rc = as_failed_check(db, s->err, sizeof(s->err));
            break;
        }
        if (db->sync_leader) {
            pthread_cond_wait(&db->sync_cv, &db->sync_mu);
            continue;
        }
        db->sync_leader = 1;
        int delay = db->last_group > 1;
        pthread_mutex_unlock(&db->sync_mu);
        if (delay)
            as_commit_delay(db, seq);
        pthread_mutex_lock(&db->sync_mu);
        uint64_t target = atomic_load_explicit(&db->appended_seq, memory_order_acquire);
        as_segment *sg = as_db_seg(db, atomic_load(&db->last_seg)); /* earlier ones were synced at rotation */
        pthread_mutex_unlock(&db->sync_mu);
        rc = as_sync_seg(db, sg, AS_SITE_GROUP, s->err, sizeof(s->err)); /* fail-stop on error */
        pthread_mutex_lock(&db->sync_mu);
        db->sync_leader = 0;
        db->last_group = db->sync_waiters;
        if (rc == AS_OK && !atomic_load(&db->failed) && target > db->synced_seq)
            db->synced_seq = target;
        pthread_cond_broadcast(&db->sync_cv);
        if (rc != AS_OK)
            break;
    }
    db->sync_waiters--;
    pthread_mutex_unlock(&db->sync_mu);
    return rc;
}

int as_write_check(as_session *s, size_t len, const void *val)
{
    as_db *db = s->db;
    if (db->opt.read_only)
        return as_sess_seterr(s, AS_ERDONLY, "%s is open read-only", db->dir);
    if (len > AS_MAX_VALUE_BYTES)
        return as_sess_seterr(s, AS_EINVAL, "value of %zu bytes is larger than the limit of %u bytes", len,
                              AS_MAX_VALUE_BYTES);
    if (len && !val)
        return as_sess_seterr(s, AS_EINVAL, "NULL value with length %zu", len);
    return as_failed_check(db, s->err, sizeof(s->err));
}
