/* as_compact.c - compaction: move a sealed segment's live records to the log head, repoint, retire it safely. */
#include "as_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define AS_REPOINT_BATCH 4096 /* index repoints per hold of the reader locks */

typedef struct as_move {
    int64_t key;
    uint64_t from, to;
} as_move;

/* ---- the dropped-segment set (sorted ids; writer and open only) ---- */

/* ---- retiring: a segment leaves only when no session can hold a pointer into it ---- */

/* ---- copying ---- */

/* Append an already-encoded record (bytes verified) at the log head. Under write_mu. */
static int as_copy_record(as_db *db, as_session *s, const void *rec, uint64_t bytes, uint64_t *loc)
{
    as_segment *sg;
    uint64_t size;
    int rc = as_place(db, s, bytes, &sg, &size);
    if (rc == AS_OK)
        rc = as_log_write(db, s, sg, size, rec, bytes);
    if (rc != AS_OK)
        return rc;
    atomic_store_explicit(&sg->size, size + bytes, memory_order_release);
    atomic_fetch_add(&db->disk_bytes, bytes);
    atomic_fetch_add(&db->compact_bytes_written, bytes);
    atomic_fetch_add(&db->log_bytes_since_ckpt, bytes);
    *loc = as_loc_make(sg->id, size);
    return AS_OK;
}

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

static void as_repoint(as_db *db, as_move *mv, size_t n)
{
    for (size_t i = 0; i < n; i += AS_REPOINT_BATCH) {
        size_t end = i + AS_REPOINT_BATCH < n ? i + AS_REPOINT_BATCH : n;
        as_db_lock_all(db);
        for (size_t j = i; j < end; j++) {
            uint64_t cur;
            /* only if it still points at the old place (nothing else writes under write_mu, but be exact) */
            if (as_index_find(db->index, mv[j].key, &cur) == AS_IX_OK && cur == mv[j].from)
                (void)as_index_upsert(db->index, mv[j].key, mv[j].to, NULL, NULL);
        }
        as_db_unlock_all(db);
    }
}

/* Compact one sealed segment. Under write_mu. */
int as_compact_segment(as_db *db, as_session *s, uint64_t id)
{
    as_segment *v = as_db_seg(db, id);
    if (!v || v->retired || id >= atomic_load(&db->last_seg))
        return AS_OK;
    uint64_t oldest = 0;
    as_oldest_live_seg(db, &oldest);
    int is_oldest = oldest == id;
    uint64_t size = atomic_load(&v->size);
    as_move *mv = NULL;
    size_t n = 0, cap = 0;
    int rc = AS_OK;
    uint64_t moved_live = 0;
    for (uint64_t off = AS_SEG_HEADER_BYTES; off < size && rc == AS_OK;) {
        const as_rec_header *h = (const void *)(v->base + off);
        enum as_rec_verdict vd = as_rec_check(h, size - off, 1);
        if (vd != AS_REC_OK) {
            rc = as_sess_seterr(s, AS_ECORRUPT, "compaction of %s stopped at offset %llu: %s", v->path,
                                (unsigned long long)off, as_rec_verdict_name(vd));
            break;
        }
        uint64_t bytes = as_rec_bytes(h->value_len), here = as_loc_make(id, off), cur = 0;
        int indexed = 0;
        if (h->flags == AS_REC_PUT || h->flags == AS_REC_TOMBSTONE) {
            pthread_mutex_lock(&s->lock);
            indexed = as_index_find(db->index, h->key, &cur) == AS_IX_OK;
            pthread_mutex_unlock(&s->lock);
        }
        /* A tombstone must stay while an older put of its key may still be read: one in an older segment
         * (full scan) or one the newest checkpoint still lists (checkpoint + replay). */
        int covered = id < db->ckpt_end_seg || (id == db->ckpt_end_seg && off < db->ckpt_end_off);
        int keep = h->flags == AS_REC_PUT ? indexed && cur == here
                 : h->flags == AS_REC_TOMBSTONE ? !indexed && (!is_oldest || !covered)
                 : h->flags == AS_REC_SEGDROP; /* drop markers stay; a batch header has done its job */
        if (keep) {
            uint64_t to;
            rc = as_copy_record(db, s, h, bytes, &to);
            if (rc == AS_OK && h->flags == AS_REC_PUT) {
                if (n == cap) {
                    cap = cap ? 2 * cap : 1024;
                    as_move *p = realloc(mv, cap * sizeof(*p));
                    if (!p) {
                        rc = as_sess_seterr(s, AS_ENOMEM, "out of memory compacting %s", v->path);
                        break;
                    }
                    mv = p;
                }
                mv[n++] = (as_move){h->key, here, to};
                atomic_fetch_add(&as_db_seg(db, as_loc_seg(to))->live, bytes);
                moved_live += bytes;
            }
        }
        off += bytes;
    }
    if (rc == AS_OK) /* the copies are durable in their new place before the victim goes */
        rc = as_sync_log(db, AS_SITE_COMPACT, s->err, sizeof(s->err));
    if (rc != AS_OK) {
        free(mv); /* copies stay in the log as harmless duplicates (same seq); the victim is untouched */
        return rc;
    }
    as_repoint(db, mv, n);
    free(mv);
    /* Record the drop in the log before the file goes, so recovery knows the gap is intended. */
    unsigned char marker[AS_REC_HEADER_BYTES];
    as_rec_encode(marker, (int64_t)id, db->seq + 1, AS_REC_SEGDROP, NULL, 0);
    uint64_t mloc;
    rc = as_copy_record(db, s, marker, sizeof(marker), &mloc);
    if (rc == AS_OK)
        rc = as_sync_log(db, AS_SITE_COMPACT, s->err, sizeof(s->err));
    if (rc != AS_OK)
        return rc;
    db->seq++;
    atomic_store_explicit(&db->appended_seq, db->seq, memory_order_release);
    const char *name = strrchr(v->path, '/') + 1;
    if (db->fops->unlinkat(db->fops->ctx, db->dirfd, name) != 0 && errno != ENOENT)
        return as_sess_seterr(s, AS_EIO, "remove compacted segment %s: %s", v->path, strerror(errno));
    if ((rc = as_sync_dir(db, AS_SITE_COMPACT, s->err, sizeof(s->err))) != AS_OK)
        return rc;
    atomic_fetch_sub(&db->disk_bytes, size);
    atomic_fetch_sub(&v->live, moved_live);
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
 * Under write_mu. A failure is kept in s->err but does not fail the write that triggered it. */
void as_compact_maybe(as_db *db, as_session *s, uint64_t id)
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
    if (as_compact_segment(db, s, id) != AS_OK) {
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
    pthread_mutex_lock(&db->write_mu);
    db->in_maintenance = 1;
    uint64_t last = atomic_load(&db->last_seg);
    for (uint64_t id = db->first_seg; id < last && rc == AS_OK; id++) {
        as_segment *sg = as_db_seg(db, id);
        if (sg && !sg->retired && as_garbage_ratio(db, sg) > 0.0)
            rc = as_compact_segment(db, s, id);
    }
    as_reclaim(db, s);
    db->in_maintenance = 0;
    pthread_mutex_unlock(&db->write_mu);
    return rc;
}
