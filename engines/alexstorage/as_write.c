/* as_write.c - the single-writer path: append a record, repoint the index, rotate segments, group commit. */
#include "as_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static uint64_t as_loc_bytes(as_db *db, uint64_t loc)
{
    as_segment *sg = as_db_seg(db, as_loc_seg(loc));
    const as_rec_header *h = (const void *)(sg->base + as_loc_off(loc));
    return as_rec_bytes(h->value_len);
}

/* Per-segment live bytes after a write: the new record at `loc` (a put's `bytes` count as live, a
 * tombstone's do not), the version it replaced at `old` (0 = none) became garbage. Under write_mu. */
static void as_account(as_db *db, uint64_t loc, uint64_t bytes, uint64_t old)
{
    as_segment *sg = as_db_seg(db, as_loc_seg(loc));
    const as_rec_header *h = (const void *)(sg->base + as_loc_off(loc));
    if (h->flags == AS_REC_PUT)
        atomic_fetch_add_explicit(&sg->live, bytes, memory_order_relaxed);
    if (old) {
        uint64_t ob = as_loc_bytes(db, old);
        atomic_fetch_sub_explicit(&as_db_seg(db, as_loc_seg(old))->live, ob, memory_order_relaxed);
        atomic_fetch_sub_explicit(&db->live_bytes, ob, memory_order_relaxed);
    }
    atomic_fetch_add_explicit(&db->user_bytes_written, as_rec_bytes(h->value_len), memory_order_relaxed);
    atomic_fetch_add_explicit(&db->log_bytes_since_ckpt, as_rec_bytes(h->value_len), memory_order_relaxed);
}


/* as_put/as_del on a store whose index takes no single writes (index=sorted): refused with AS_ERDONLY.
 * Bulk load, compaction and checkpoints still work there. */
static int as_index_write_check(as_session *s)
{
    if (!s->db->index->ops->read_only)
        return AS_OK;
    return as_sess_seterr(s, AS_ERDONLY, "%s uses index=%s, which is read-only: puts and deletes are refused "
                          "(bulk load into an empty store, or reopen with index=alex or btree to write)",
                          s->db->dir, as_index_name(s->db->index));
}

/* Finish a write after write_mu is released: wait for the group fdatasync in group mode. */
static int as_write_done(as_session *s, uint64_t seq)
{
    if (s->db->opt.sync_mode == AS_SYNC_GROUP)
        return as_log_group_commit(s->db, s, seq);
    return AS_OK;
}

static int as_put_call(as_session *s, int64_t key, const void *val, size_t len)
{
    as_db *db = s->db;
    as_sess_enter(s);
    int rc = as_write_check(s, len, val);
    if (rc == AS_OK)
        rc = as_index_write_check(s);
    if (rc != AS_OK)
        return rc;
    pthread_mutex_lock(&db->write_mu);
    uint64_t loc, old = 0;
    int existed = 0;
    rc = as_log_append(db, s, key, AS_REC_PUT, val, len, &loc);
    if (rc == AS_OK) {
        as_db_lock_all(db);
        int arc = as_index_upsert(db->index, key, loc, &old, &existed);
        as_db_unlock_all(db);
        if (arc == AS_IX_OK)
            as_ckpt_note(db, key, existed ? old : 0, 0);
        if (arc != AS_IX_OK)
            rc = as_sess_seterr(s, arc == AS_IX_ENOMEM ? AS_ENOMEM : AS_EINTERNAL,
                                "index insert of key %lld failed (index status %d); the record is on disk and "
                                "comes back on reopen", (long long)key, arc);
    }
    uint64_t seq = db->seq;
    if (rc == AS_OK) {
        atomic_fetch_add_explicit(&db->live_bytes, as_rec_bytes(len), memory_order_relaxed);
        as_account(db, loc, as_rec_bytes(len), existed ? old : 0);
        atomic_fetch_add_explicit(&db->n_puts, 1, memory_order_relaxed);
        atomic_store_explicit(&db->appended_seq, seq, memory_order_release);
        as_maint_after_write(db, s, existed ? old : 0);
        rc = as_failed_check(db, s->err, sizeof(s->err)); /* maintenance may have failed the store */
    }
    pthread_mutex_unlock(&db->write_mu);
    return rc == AS_OK ? as_write_done(s, seq) : rc;
}

static int as_del_call(as_session *s, int64_t key)
{
    as_db *db = s->db;
    as_sess_enter(s);
    int rc = as_write_check(s, 0, NULL);
    if (rc == AS_OK)
        rc = as_index_write_check(s);
    if (rc != AS_OK)
        return rc;
    pthread_mutex_lock(&db->write_mu);
    uint64_t loc, old;
    pthread_mutex_lock(&s->lock); /* the index only changes under write_mu, which we hold */
    int found = as_index_find(db->index, key, &old) == AS_IX_OK;
    pthread_mutex_unlock(&s->lock);
    if (!found) {
        pthread_mutex_unlock(&db->write_mu);
        return AS_OK; /* nothing to delete: no tombstone needed */
    }
    rc = as_log_append(db, s, key, AS_REC_TOMBSTONE, NULL, 0, &loc);
    uint64_t seq = db->seq;
    if (rc == AS_OK) {
        as_db_lock_all(db);
        int arc = as_index_erase(db->index, key, NULL);
        as_db_unlock_all(db);
        if (arc == AS_IX_OK)
            as_ckpt_note(db, key, old, 1);
        if (arc != AS_IX_OK) /* it was found above under write_mu: the index broke */
            rc = as_sess_seterr(s, AS_EINTERNAL, "index erase of key %lld failed (index status %d)",
                                (long long)key, arc);
    }
    if (rc == AS_OK) {
        as_account(db, loc, AS_REC_HEADER_BYTES, old);
        atomic_fetch_add_explicit(&db->n_dels, 1, memory_order_relaxed);
        atomic_store_explicit(&db->appended_seq, seq, memory_order_release);
        as_maint_after_write(db, s, old);
        rc = as_failed_check(db, s->err, sizeof(s->err));
    }
    pthread_mutex_unlock(&db->write_mu);
    return rc == AS_OK ? as_write_done(s, seq) : rc;
}

/* Encode b's records after a batch header (AS_REC_BATCH, key = count) into the writer's buffer:
 * its size, or 0 when out of memory. Under write_mu. */
static size_t as_batch_encode(as_db *db, const as_batch *b)
{
    unsigned char *buf = as_log_buf(db, as_rec_bytes(0) + b->bytes);
    if (!buf)
        return 0;
    size_t off = as_rec_encode(buf, (int64_t)b->n, db->seq + 1, AS_REC_BATCH, NULL, 0);
    for (size_t i = 0; i < b->n; i++) {
        const as_batch_item *it = &b->items[i];
        off += as_rec_encode(buf + off, it->key, db->seq + 2 + i, it->flags, b->vals + it->val_off, it->len);
    }
    return off;
}

/* Apply a batch written at loc to the index with every reader kept out (as_db_exclude_readers: they
 * see all of it or none), then to the accounting; olds[i] = the version item i replaced (0 = none). Under
 * write_mu. An index failure part-way is fail-stop: the batch is on disk and comes back on reopen. */
static int as_batch_apply(as_db *db, as_session *s, const as_batch *b, uint64_t loc, uint64_t *olds)
{
    uint64_t seg = as_loc_seg(loc), off = as_loc_off(loc) + as_rec_bytes(0);
    int arc = AS_IX_OK;
    size_t i = 0;
    as_db_exclude_readers(db);
    for (; i < b->n && arc == AS_IX_OK; i++) {
        const as_batch_item *it = &b->items[i];
        uint64_t old = 0;
        int existed = 0;
        if (it->flags == AS_REC_PUT) {
            arc = as_index_upsert(db->index, it->key, as_loc_make(seg, off), &old, &existed);
        } else {
            arc = as_index_erase(db->index, it->key, &old);
            existed = arc == AS_IX_OK;
            arc = arc == AS_IX_NOTFOUND ? AS_IX_OK : arc;
        }
        olds[i] = existed ? old : 0;
        off += as_rec_bytes(it->len);
    }
    as_db_admit_readers(db);
    if (arc != AS_IX_OK)
        return as_fail(db, arc == AS_IX_ENOMEM ? AS_ENOMEM : AS_EINTERNAL, "index update of batch item %zu (key %lld) "
                       "failed (index status %d); the batch is on disk and comes back on reopen", i - 1,
                       (long long)b->items[i - 1].key, arc);
    off = as_loc_off(loc) + as_rec_bytes(0);
    for (i = 0; i < b->n; i++) {
        const as_batch_item *it = &b->items[i];
        uint64_t live = it->flags == AS_REC_PUT ? as_rec_bytes(it->len) : 0;
        as_ckpt_note(db, it->key, olds[i], it->flags != AS_REC_PUT); /* in item order: the first wins */
        atomic_fetch_add_explicit(&db->live_bytes, live, memory_order_relaxed);
        as_account(db, as_loc_make(seg, off), live ? live : AS_REC_HEADER_BYTES, olds[i]);
        off += as_rec_bytes(it->len);
    }
    (void)s;
    return AS_OK;
}

static int as_batch_commit_call(as_session *s, as_batch *b)
{
    as_db *db = s->db;
    as_sess_enter(s);
    if (!b->n)
        return AS_OK;
    int rc = as_write_check(s, 0, NULL);
    if (rc == AS_OK)
        rc = as_index_write_check(s);
    if (rc == AS_OK && as_rec_bytes(0) + b->bytes + AS_SEG_HEADER_BYTES > as_db_reserve_bytes(db))
        rc = as_sess_seterr(s, AS_EINVAL, "batch of %zu records (%llu bytes) is larger than a segment can hold "
                            "(%llu bytes); split it", b->n, (unsigned long long)b->bytes,
                            (unsigned long long)as_db_reserve_bytes(db));
    uint64_t *olds = rc == AS_OK ? malloc(b->n * sizeof(*olds)) : NULL;
    if (rc == AS_OK && !olds)
        rc = as_sess_seterr(s, AS_ENOMEM, "out of memory committing a batch of %zu records", b->n);
    if (rc != AS_OK)
        return rc;
    pthread_mutex_lock(&db->write_mu);
    uint64_t loc = 0;
    size_t bytes = as_batch_encode(db, b);
    rc = bytes ? as_log_append_bytes(db, s, db->wbuf, bytes, 1 + b->n, &loc)
               : as_sess_seterr(s, AS_ENOMEM, "out of memory encoding a batch of %zu records", b->n);
    uint64_t seq = db->seq;
    if (rc == AS_OK && (rc = as_batch_apply(db, s, b, loc, olds)) != AS_OK)
        as_failed_check(db, s->err, sizeof(s->err));
    if (rc == AS_OK) {
        atomic_fetch_add_explicit(&db->n_puts, b->n, memory_order_relaxed);
        atomic_store_explicit(&db->appended_seq, seq, memory_order_release);
        for (size_t i = 0; i < b->n; i++)
            if (olds[i] || i + 1 == b->n)
                as_maint_after_write(db, s, olds[i]);
        rc = as_failed_check(db, s->err, sizeof(s->err));
    }
    pthread_mutex_unlock(&db->write_mu);
    free(olds);
    if (rc == AS_OK)
        rc = as_write_done(s, seq);
    if (rc == AS_OK)
        as_batch_clear(b);
    return rc;
}

/* Sync every segment that may hold unsynced data (in none mode rotation does not sync). */
static int as_sync_call(as_session *s)
{
    as_db *db = s->db;
    as_sess_enter(s);
    if (db->opt.read_only)
        return AS_OK;
    pthread_mutex_lock(&db->write_mu);
    int rc = as_failed_check(db, s->err, sizeof(s->err));
    if (rc == AS_OK)
        rc = as_sync_log(db, AS_SITE_SYNC, s->err, sizeof(s->err));
    if (rc == AS_OK)
        rc = as_durable_upto(db, db->seq, s->err, sizeof(s->err));
    pthread_mutex_unlock(&db->write_mu);
    return rc;
}

int as_put(as_session *s, int64_t key, const void *val, size_t len)
{
    int rc = as_put_call(s, key, val, len);
    as_sess_leave(s, 0); /* a write hands out no value */
    return rc;
}

int as_del(as_session *s, int64_t key)
{
    int rc = as_del_call(s, key);
    as_sess_leave(s, 0); /* a write hands out no value */
    return rc;
}

int as_batch_commit(as_session *s, as_batch *b)
{
    int rc = as_batch_commit_call(s, b);
    as_sess_leave(s, 0); /* a write hands out no value */
    return rc;
}

int as_sync(as_session *s)
{
    int rc = as_sync_call(s);
    as_sess_leave(s, 0); /* a write hands out no value */
    return rc;
}
