/* as_bulk.c - as_bulk_load: encode sorted records into large batches, one pwrite each, then one index bulk load. */
#include "as_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define AS_BULK_BATCH (8u << 20) /* bytes per pwrite */

typedef struct as_bulk_buf {
    unsigned char *buf;
    size_t cap, fill;
    as_segment *sg; /* segment the batch goes to, at offset `off` */
    uint64_t off;
} as_bulk_buf;

static int as_bulk_flush(as_db *db, as_session *s, as_bulk_buf *b)
{
    if (!b->fill)
        return AS_OK;
    int stuck = 0;
    int rc = as_seg_write(b->sg, b->off, b->buf, b->fill, &stuck, s->err, sizeof(s->err));
    if (rc != AS_OK) /* a short write is fail-stop, as in as_log_write */
        return stuck || rc != AS_ENOSPC ? as_fail(db, rc, "%s", s->err) : rc;
    atomic_store_explicit(&b->sg->size, b->off + b->fill, memory_order_release);
    atomic_fetch_add(&db->disk_bytes, b->fill);
    b->off += b->fill;
    b->fill = 0;
    return AS_OK;
}

/* Start a new segment for the batch when the next record would pass segment_bytes. */
static int as_bulk_room(as_db *db, as_session *s, as_bulk_buf *b, uint64_t bytes)
{
    uint64_t end = b->off + b->fill + bytes;
    if (b->off + b->fill > AS_SEG_HEADER_BYTES && end > db->opt.segment_bytes) {
        int rc = as_bulk_flush(db, s, b);
        if (rc == AS_OK)
            rc = as_rotate(db, s);
        if (rc != AS_OK)
            return rc;
        b->sg = as_db_seg(db, atomic_load(&db->last_seg));
        b->off = atomic_load(&b->sg->size);
        end = b->off + bytes;
    }
    if (b->fill + bytes > b->cap) {
        int rc = as_bulk_flush(db, s, b);
        if (rc != AS_OK)
            return rc;
        if (bytes > b->cap) {
            unsigned char *p = realloc(b->buf, bytes);
            if (!p)
                return as_sess_seterr(s, AS_ENOMEM, "out of memory for a %llu-byte record", (unsigned long long)bytes);
            b->buf = p;
            b->cap = bytes;
        }
    }
    return as_seg_map_to(b->sg, end, s->err, sizeof(s->err));
}

static int as_bulk_check(as_session *s, const int64_t *keys, size_t n)
{
    as_db *db = s->db;
    if (as_index_size(db->index) != 0)
        return as_sess_seterr(s, AS_EINVAL, "bulk load needs an empty store; %s holds %zu keys", db->dir,
                              as_index_size(db->index));
    for (size_t i = 1; i < n; i++)
        if (keys[i] <= keys[i - 1])
            return as_sess_seterr(s, AS_EINVAL, "bulk load keys must be strictly increasing: keys[%zu]=%lld "
                                  "after %lld", i, (long long)keys[i], (long long)keys[i - 1]);
    return AS_OK;
}

static int as_bulk_write(as_db *db, as_session *s, const int64_t *keys, size_t n, as_value_fn value,
                         void *arg, uint64_t *locs, uint64_t *live)
{
    as_bulk_buf b = {.cap = AS_BULK_BATCH};
    b.buf = malloc(b.cap);
    if (!b.buf)
        return as_sess_seterr(s, AS_ENOMEM, "out of memory for the bulk load buffer");
    b.sg = as_db_seg(db, atomic_load(&db->last_seg));
    b.off = atomic_load(&b.sg->size);
    int rc = AS_OK;
    for (size_t i = 0; i < n && rc == AS_OK; i++) {
        size_t len = 0;
        const void *v = value(arg, keys[i], &len);
        if (len > AS_MAX_VALUE_BYTES || (len && !v)) {
            rc = as_sess_seterr(s, AS_EINVAL, "bulk load value for key %lld: %zu bytes (limit %u)",
                                (long long)keys[i], len, AS_MAX_VALUE_BYTES);
            break;
        }
        uint64_t bytes = as_rec_bytes(len);
        rc = as_bulk_room(db, s, &b, bytes);
        if (rc != AS_OK)
            break;
        locs[i] = as_loc_make(b.sg->id, b.off + b.fill);
        as_rec_encode(b.buf + b.fill, keys[i], ++db->seq, AS_REC_PUT, v, (uint32_t)len);
        b.fill += bytes;
        *live += bytes;
    }
    if (rc == AS_OK)
        rc = as_bulk_flush(db, s, &b);
    if (rc == AS_OK && db->opt.sync_mode != AS_SYNC_NONE) /* fail-stop on error */
        rc = as_sync_seg(db, b.sg, AS_SITE_BULK, s->err, sizeof(s->err));
    free(b.buf);
    return rc;
}

/* Value length of the record at loc (just written by this load). */
static uint64_t as_bulk_len(as_db *db, uint64_t loc)
{
    const as_rec_header *h = (const void *)(as_db_seg(db, as_loc_seg(loc))->base + as_loc_off(loc));
    return h->value_len;
}

int as_bulk_load(as_session *s, const int64_t *keys, size_t n, as_value_fn value, void *arg)
{
    as_db *db = s->db;
    as_sess_enter(s);
    int rc = as_write_check(s, 0, NULL);
    if (rc != AS_OK)
        return rc;
    pthread_mutex_lock(&db->maint_run_mu); /* no checkpoint collects beside a bulk load */
    pthread_mutex_lock(&db->write_mu);
    rc = as_bulk_check(s, keys, n);
    uint64_t *locs = NULL, live = 0;
    if (rc == AS_OK && !(locs = malloc((n ? n : 1) * sizeof(*locs))))
        rc = as_sess_seterr(s, AS_ENOMEM, "out of memory for %zu locators", n);
    if (rc == AS_OK)
        rc = as_bulk_write(db, s, keys, n, value, arg, locs, &live);
    if (rc == AS_OK) {
        as_db_lock_all(db);
        int arc = as_index_bulk_load(db->index, keys, locs, n);
        as_db_unlock_all(db);
        if (arc != AS_IX_OK)
            rc = as_sess_seterr(s, arc == AS_IX_ENOMEM ? AS_ENOMEM : AS_EINTERNAL,
                                "index bulk load of %zu keys failed (index status %d); the records are on disk "
                                "and come back on reopen", n, arc);
    }
    if (rc == AS_OK) {
        atomic_fetch_add(&db->live_bytes, live);
        atomic_fetch_add(&db->user_bytes_written, live);
        atomic_fetch_add(&db->log_bytes_since_ckpt, live);
        for (size_t i = 0; i < n; i++) /* per-segment live bytes, for compaction */
            atomic_fetch_add_explicit(&as_db_seg(db, as_loc_seg(locs[i]))->live,
                                      as_rec_bytes(as_bulk_len(db, locs[i])), memory_order_relaxed);
        atomic_fetch_add(&db->n_puts, n);
        atomic_store_explicit(&db->appended_seq, db->seq, memory_order_release);
        s->last_seq = db->seq;
        if (db->opt.sync_mode != AS_SYNC_NONE)
            rc = as_durable_upto(db, db->seq, s->err, sizeof(s->err));
    }
    free(locs);
    pthread_mutex_unlock(&db->write_mu);
    pthread_mutex_unlock(&db->maint_run_mu);
    return rc;
}
