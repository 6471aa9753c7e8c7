/* as_compact.c - compaction: move a sealed segment's live records to the log head, repoint, retire it safely. */
#include "as_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct as_move {
    int64_t key;
    uint64_t from; /* the record's locator in the victim */
    uint64_t to;   /* the copy's offset in the step's buffer (its locator once written: as_cjob_flush) */
} as_move;

/* ---- the dropped-segment set (sorted ids; writer and open only) ---- */

/* ---- retiring: a segment leaves only when no session can hold a pointer into it ---- */

/* ---- copying ----
 *
 * A victim is copied in steps. One step, under write_mu: decide which records are live (a put the
 * index still points at, a tombstone still needed, a drop marker), copy them at the log head (one
 * write per AS_COMPACT_COPY_BYTES), and repoint the index entries that still point into the victim
 * through the index's normal update path. A background caller (as_maint.c, as_compact: yield = 1)
 * ends a step after about AS_MAINT_HOLD_NS and lets writers in for a rest (as_maint_rest), so a put
 * waits for one step at most, never for a whole segment; inline, the whole segment is one step.
 * Every decision is taken in the same hold as the copy and the repoint, so a put that replaced a key
 * between two steps wins: its key no longer points into the victim and is not copied. With yield the
 * fdatasyncs of the copies and of the drop marker, the unlink and the directory fsync run outside
 * write_mu (sealed segments were synced at rotation; only the head needs it). */

#define AS_COMPACT_COPY_BYTES (256u << 10)

typedef struct as_cjob {
    as_segment *v;
    uint64_t id, off, size;
    int is_oldest, covered_seg; /* tombstone rule inputs, fixed for the job (no checkpoint runs beside it) */
    uint64_t moved_live;        /* bytes of puts repointed out of the victim */
    unsigned char *buf;         /* the step's copies, encoded as in the victim */
    size_t blen, bcap;
    as_move *mv;                /* the step's puts: key, victim locator, offset in buf */
    size_t n, cap;
} as_cjob;

static int as_oldest_live_seg(as_db *db, uint64_t *id)
{
    uint64_t last = atomic_load(&db->last_seg);
    for (uint64_t i = db->first_seg; i <= last; i++) {
        as_segment *sg = as_db_seg(db, i);
        if (sg && !sg->retired) {
            *id = i;
            return AS_OK;
        }
    }
    return AS_NOTFOUND;
}

/* Write the step's copies at the log head (one write) and repoint the keys that still point into the
 * victim (all of them: the step holds write_mu; the check keeps the rule exact). Under write_mu. */
static int as_cjob_flush(as_db *db, as_session *s, as_cjob *j)
{
    if (!j->blen)
        return AS_OK;
    as_segment *sg;
    uint64_t at;
    int rc = as_place(db, s, j->blen, &sg, &at);
    if (rc == AS_OK)
        rc = as_log_write(db, s, sg, at, j->buf, j->blen);
    if (rc != AS_OK)
        return rc; /* nothing repointed for this step; earlier steps' copies stay (same records, same seq) */
    atomic_store_explicit(&sg->size, at + j->blen, memory_order_release);
    atomic_fetch_add(&db->disk_bytes, j->blen);
    atomic_fetch_add(&db->compact_bytes_written, j->blen);
    atomic_fetch_add(&db->log_bytes_since_ckpt, j->blen);
    as_db_lock_all(db);
    for (size_t i = 0; i < j->n; i++) {
        uint64_t cur, to = as_loc_make(sg->id, at + j->mv[i].to);
        if (as_index_find(db->index, j->mv[i].key, &cur) == AS_IX_OK && cur == j->mv[i].from &&
            as_index_upsert(db->index, j->mv[i].key, to, NULL, NULL) == AS_IX_OK) {
            uint64_t bytes = as_rec_bytes(((const as_rec_header *)(j->buf + j->mv[i].to))->value_len);
            atomic_fetch_add(&sg->live, bytes);
            j->moved_live += bytes;
        }
    }
    as_db_unlock_all(db);
    j->blen = 0;
    j->n = 0;
    return AS_OK;
}

/* Room for one more record of `bytes` in the step's buffer and move list. */
static int as_cjob_room(as_cjob *j, uint64_t bytes)
{
    if (j->blen + bytes > j->bcap) {
        size_t cap = j->bcap ? j->bcap : 4096;
        while (cap < j->blen + bytes)
            cap *= 2;
        unsigned char *p = realloc(j->buf, cap);
        if (!p)
            return AS_ENOMEM;
        j->buf = p;
        j->bcap = cap;
    }
    if (j->n == j->cap) {
        size_t cap = j->cap ? 2 * j->cap : 1024;
        as_move *p = realloc(j->mv, cap * sizeof(*p));
        if (!p)
            return AS_ENOMEM;
        j->mv = p;
        j->cap = cap;
    }
    return AS_OK;
}

/* One step: the victim's records from j->off until the deadline (checked every 64 records; 0 = none)
 * or `cap` bytes. Under write_mu. */
static int as_cjob_step(as_db *db, as_session *s, as_cjob *j, uint64_t deadline, uint64_t cap)
{
    as_segment *v = j->v;
    /* one write at the head must fit a segment: copies of one write stay under a quarter of one */
    uint64_t limit = db->opt.segment_bytes / 4 < AS_COMPACT_COPY_BYTES ? db->opt.segment_bytes / 4 : AS_COMPACT_COPY_BYTES;
    uint64_t stop = cap && j->off + cap < j->size ? j->off + cap : j->size;
    int rc = AS_OK;
    for (unsigned k = 1; j->off < stop && rc == AS_OK; k++) {
        if (deadline && k % 64 == 0 && as_now_ns() >= deadline)
            break;
        uint64_t off = j->off;
        const as_rec_header *h = (const void *)(v->base + off);
        enum as_rec_verdict vd = as_rec_check(h, j->size - off, 1);
        if (vd != AS_REC_OK)
            return as_sess_seterr(s, AS_ECORRUPT, "compaction of %s stopped at offset %llu: %s", v->path,
                                  (unsigned long long)off, as_rec_verdict_name(vd));
        uint64_t bytes = as_rec_bytes(h->value_len), here = as_loc_make(j->id, off), cur = 0;
        int indexed = 0;
        if (h->flags == AS_REC_PUT || h->flags == AS_REC_TOMBSTONE) /* the writer's own read: write_mu */
            indexed = as_index_find(db->index, h->key, &cur) == AS_IX_OK;
        /* A tombstone must stay while an older put of its key may still be read: one in an older segment
         * (full scan) or one the newest checkpoint still lists (checkpoint + replay). */
        int covered = j->covered_seg || (j->id == db->ckpt_end_seg && off < db->ckpt_end_off);
        int keep = h->flags == AS_REC_PUT ? indexed && cur == here
                 : h->flags == AS_REC_TOMBSTONE ? !indexed && (!j->is_oldest || !covered)
                 : h->flags == AS_REC_SEGDROP; /* drop markers stay; a batch header has done its job */
        if (keep) {
            if (j->blen && j->blen + bytes > limit)
                rc = as_cjob_flush(db, s, j);
            if (rc == AS_OK && as_cjob_room(j, bytes) != AS_OK)
                rc = as_sess_seterr(s, AS_ENOMEM, "out of memory compacting %s", v->path);
            if (rc != AS_OK)
                return rc;
            if (h->flags == AS_REC_PUT)
                j->mv[j->n++] = (as_move){h->key, here, j->blen};
            memcpy(j->buf + j->blen, h, bytes);
            j->blen += bytes;
        }
        j->off += bytes;
    }
    return as_cjob_flush(db, s, j);
}

/* fdatasync the segments [from, to] that exist, the way as_sync_log does, but callable without
 * write_mu by the one maintenance job running: none of them can be retired meanwhile (only
 * compaction retires, and jobs run one at a time). */
static int as_sync_range(as_db *db, uint64_t from, uint64_t to, char *err, size_t errlen)
{
    for (uint64_t id = from; id && id <= to; id++) {
        as_segment *sg = as_db_seg(db, id);
        if (!sg || sg->retired)
            continue;
        int rc = as_sync_seg(db, sg, AS_SITE_COMPACT, err, errlen);
        if (rc != AS_OK)
            return rc;
    }
    return AS_OK;
}

/* Make the log durable up to the head: under write_mu as as_sync_log, or (yield) outside it, where a
 * writer can append meanwhile. Entered and left under write_mu. */
static int as_compact_sync(as_db *db, as_session *s, int yield)
{
    if (!yield)
        return as_sync_log(db, AS_SITE_COMPACT, s->err, sizeof(s->err));
    /* Sealed segments were fdatasync'd at rotation; the head holds the copies not yet synced, or is
     * sealed (and synced) by the time we get to it. */
    uint64_t last = atomic_load(&db->last_seg);
    pthread_mutex_unlock(&db->write_mu);
    int rc = as_sync_range(db, last, last, s->err, sizeof(s->err));
    pthread_mutex_lock(&db->write_mu);
    return rc;
}

/* Compact one sealed segment. Under write_mu; with yield = 1 (the caller holds maint_run_mu and may
 * let writers in) write_mu is released between steps and around the syncs, and held again on return. */
int as_compact_segment(as_db *db, as_session *s, uint64_t id, int yield)
{
    as_segment *v = as_db_seg(db, id);
    if (!v || v->retired || id >= atomic_load(&db->last_seg))
        return AS_OK;
    uint64_t oldest = 0;
    as_oldest_live_seg(db, &oldest);
    as_cjob j = {.v = v, .id = id, .off = AS_SEG_HEADER_BYTES, .size = atomic_load(&v->size),
                 .is_oldest = oldest == id, .covered_seg = id < db->ckpt_end_seg};
    int rc = AS_OK;
    while (rc == AS_OK && j.off < j.size) {
        uint64_t t0 = yield ? as_now_ns() : 0;
        rc = as_cjob_step(db, s, &j, yield ? t0 + AS_MAINT_HOLD_NS : 0, yield ? db->fault.compact_step : 0);
        if (rc == AS_OK && yield && j.off < j.size) { /* let the writers in */
            uint64_t t1 = as_now_ns();
            pthread_mutex_unlock(&db->write_mu);
            as_maint_rest(db, t1 - t0, t1);
            pthread_mutex_lock(&db->write_mu);
            as_sess_enter(s);
            rc = as_failed_check(db, s->err, sizeof(s->err));
        }
    }
    free(j.buf);
    free(j.mv);
    j.mv = NULL;
    j.n = 0;
    if (rc == AS_OK) /* the copies are durable in their new place before the victim goes */
        rc = as_compact_sync(db, s, yield);
    if (rc != AS_OK) {
        /* Keys repointed so far read their copies (durable by the next sync or checkpoint, and the victim
         * still holds the same records until then); the victim stays. */
        atomic_fetch_sub(&v->live, j.moved_live < atomic_load(&v->live) ? j.moved_live : atomic_load(&v->live));
        return rc;
    }
    /* Record the drop in the log before the file goes, so recovery knows the gap is intended. */
    unsigned char marker[AS_REC_HEADER_BYTES];
    as_rec_encode(marker, (int64_t)id, db->seq + 1, AS_REC_SEGDROP, NULL, 0);
    j.buf = marker;
    j.blen = sizeof(marker);
    rc = as_cjob_flush(db, s, &j);
    if (rc != AS_OK)
        return rc;
    db->seq++;
    atomic_store_explicit(&db->appended_seq, db->seq, memory_order_release);
    rc = as_compact_sync(db, s, yield);
    if (rc != AS_OK)
        return rc;
    const char *name = strrchr(v->path, '/') + 1;
    if (yield)
        pthread_mutex_unlock(&db->write_mu);
    if (db->fops->unlinkat(db->fops->ctx, db->dirfd, name) != 0 && errno != ENOENT)
        rc = as_sess_seterr(s, AS_EIO, "remove compacted segment %s: %s", v->path, strerror(errno));
    if (rc == AS_OK)
        rc = as_sync_dir(db, AS_SITE_COMPACT, s->err, sizeof(s->err));
    if (yield)
        pthread_mutex_lock(&db->write_mu);
    if (rc != AS_OK)
        return rc;
    atomic_fetch_sub(&db->disk_bytes, j.size);
    atomic_fetch_sub(&v->live, j.moved_live < atomic_load(&v->live) ? j.moved_live : atomic_load(&v->live));
    if (as_db_mark_dropped(db, id) != AS_OK || as_retire(db, v) != AS_OK)
        return as_sess_seterr(s, AS_ENOMEM, "out of memory retiring %s", v->path);
    atomic_fetch_add(&db->n_compactions, 1);
    as_reclaim(db, s);
    return AS_OK;
}

/* Garbage share of a sealed segment (0 for the head or a retired one). */
static double as_garbage_ratio(as_db *db, as_segment *sg)
{
    if (!sg || sg->retired || sg->id >= atomic_load(&db->last_seg))
        return 0.0;
    uint64_t size = atomic_load(&sg->size), live = atomic_load(&sg->live);
    if (size <= AS_SEG_HEADER_BYTES)
        return 1.0;
    uint64_t data = size - AS_SEG_HEADER_BYTES;
    return live >= data ? 0.0 : (double)(data - live) / (double)data;
}

int as_compact_wanted(as_db *db, uint64_t id)
{
    as_segment *sg = as_db_seg(db, id);
    double t = db->opt.compact_garbage_ratio;
    return t > 0.0 && sg && !sg->compact_failed && as_garbage_ratio(db, sg) >= t;
}

/* After a write made segment `id` hold more garbage: compact it when it crossed the threshold.
 * Under maint_run_mu and write_mu (yield: see as_compact_segment). A failure is kept in s->err but
 * does not fail the write that triggered it. */
void as_compact_maybe(as_db *db, as_session *s, uint64_t id, int yield)
{
    double t = db->opt.compact_garbage_ratio;
    if (t <= 0.0 || db->in_maintenance || atomic_load(&db->failed))
        return;
    as_segment *sg = as_db_seg(db, id);
    if (!sg || sg->compact_failed || as_garbage_ratio(db, sg) < t)
        return;
    db->in_maintenance = 1;
    char keep[sizeof(s->err)];
    memcpy(keep, s->err, sizeof(keep));
    if (as_compact_segment(db, s, id, yield) != AS_OK) {
        sg->compact_failed = 1; /* as_compact() still tries it and reports the error */
        atomic_fetch_add(&db->n_compact_errors, 1);
    }
    memcpy(s->err, keep, sizeof(keep));
    db->in_maintenance = 0;
}

int as_compact(as_session *s)
{
    as_db *db = s->db;
    as_sess_enter(s);
    int rc = as_write_check(s, 0, NULL);
    if (rc != AS_OK)
        return rc;
    pthread_mutex_lock(&db->maint_run_mu); /* one maintenance job at a time; writers go on between steps */
    pthread_mutex_lock(&db->write_mu);
    db->in_maintenance = 1;
    uint64_t last = atomic_load(&db->last_seg);
    for (uint64_t id = db->first_seg; id < last && rc == AS_OK; id++) {
        as_segment *sg = as_db_seg(db, id);
        if (sg && !sg->retired && as_garbage_ratio(db, sg) > 0.0)
            rc = as_compact_segment(db, s, id, 1);
    }
    as_reclaim(db, s);
    db->in_maintenance = 0;
    pthread_mutex_unlock(&db->write_mu);
    pthread_mutex_unlock(&db->maint_run_mu);
    return rc;
}
