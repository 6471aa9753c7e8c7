/* as_read.c - sessions and the read path: lock-free index lookups (or under the session's own lock for
 * an index without shared reads), verified zero-copy reads. */
#include "as_internal.h"

#include <stdlib.h>
#include <string.h>

#define AS_SCAN_BATCH 64 /* locators copied per lock hold, so callbacks never run under the lock */

int as_session_open(as_db *db, as_session **out)
{
    *out = NULL;
    as_session *s = aligned_alloc(64, sizeof(*s));
    if (!s)
        return as_db_seterr(db, AS_ENOMEM, "out of memory opening a session on %s", db->dir);
    memset(s, 0, sizeof(*s));
    pthread_mutex_init(&s->lock, NULL);
    s->db = db;
    if (as_index_shared_reads(db->index) && db->index->ops->reader_open(db->index->impl, &s->ixr) != AS_IX_OK) {
        pthread_mutex_destroy(&s->lock);
        free(s);
        return as_db_seterr(db, AS_ENOMEM, "out of memory opening a session on %s", db->dir);
    }
    pthread_mutex_lock(&db->sess_mu); /* the writer holds it while it holds every session lock */
    s->next = db->sessions;
    db->sessions = s;
    pthread_mutex_unlock(&db->sess_mu);
    *out = s;
    return AS_OK;
}

void as_session_close(as_session *s)
{
    if (!s)
        return;
    as_db *db = s->db;
    pthread_mutex_lock(&db->sess_mu);
    for (as_session **p = &db->sessions; *p; p = &(*p)->next)
        if (*p == s) {
            *p = s->next;
            break;
        }
    atomic_fetch_add(&db->n_gets, atomic_load(&s->n_gets));
    pthread_mutex_unlock(&db->sess_mu);
    if (s->ixr)
        db->index->ops->reader_close(s->ixr);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

/* Check the record a locator names; never reads past the segment's valid size. */
int as_resolve(as_session *s, uint64_t loc, int64_t key, const void **val, size_t *len)
{
    as_db *db = s->db;
    as_segment *sg = as_db_seg(db, as_loc_seg(loc));
    if (!sg)
        return as_sess_seterr(s, AS_EINTERNAL, "%s: key %lld points to segment %llu, which is not open", db->dir,
                              (long long)key, (unsigned long long)as_loc_seg(loc));
    uint64_t off = as_loc_off(loc), size = atomic_load_explicit(&sg->size, memory_order_acquire);
    if (off >= size)
        return as_sess_seterr(s, AS_ECORRUPT, "%s offset %llu: key %lld points past the end (%llu bytes)", sg->path,
                              (unsigned long long)off, (long long)key, (unsigned long long)size);
    const as_rec_header *h = (const void *)(sg->base + off);
    enum as_rec_verdict v = as_rec_check(h, size - off, db->opt.verify_reads);
    if (v != AS_REC_OK)
        return as_sess_seterr(s, AS_ECORRUPT, "%s offset %llu: %s (key %lld)", sg->path, (unsigned long long)off,
                              as_rec_verdict_name(v), (long long)key);
    if (h->key != key || h->flags != AS_REC_PUT)
        return as_sess_seterr(s, AS_ECORRUPT, "%s offset %llu: record holds key %lld (flags %u), index expected "
                              "key %lld", sg->path, (unsigned long long)off, (long long)h->key, h->flags,
                              (long long)key);
    *val = (const unsigned char *)h + AS_REC_HEADER_BYTES;
    *len = h->value_len;
    return AS_OK;
}

/* The index lookup of a get: lock-free where the index allows it (as_index.h), else under the
 * session's own share of the reader lock. */
static int as_sess_find(as_session *s, int64_t key, uint64_t *loc)
{
    if (s->ixr)
        return as_index_find_shared(s->db->index, s->ixr, key, loc);
    pthread_mutex_lock(&s->lock);
    int arc = as_index_find(s->db->index, key, loc);
    pthread_mutex_unlock(&s->lock);
    return arc;
}

int as_get(as_session *s, int64_t key, const void **val, size_t *len)
{
    as_sess_enter(s);
    uint64_t loc;
    int arc = as_sess_find(s, key, &loc);
    atomic_store_explicit(&s->n_gets, atomic_load_explicit(&s->n_gets, memory_order_relaxed) + 1,
                          memory_order_relaxed);
    if (arc != AS_IX_OK) {
        as_sess_leave(s, 0);
        return AS_NOTFOUND;
    }
    /* The record is immutable and its mapping never moves, so it is read after the lock is dropped. */
    int rc = as_resolve(s, loc, key, val, len);
    as_sess_leave(s, rc == AS_OK ? as_loc_seg(loc) : 0);
    return rc;
}

typedef as_ix_pair as_kl;

/* Copy up to max (key, locator) pairs with key >= from, locked as as_sess_find is. */
static size_t as_scan_batch(as_session *s, int64_t from, as_kl *out, size_t max)
{
    if (s->ixr)
        return as_index_scan_shared(s->db->index, s->ixr, from, out, max);
    pthread_mutex_lock(&s->lock);
    size_t n = as_index_scan(s->db->index, from, out, max);
    pthread_mutex_unlock(&s->lock);
    return n;
}

/* The segments a scan handed values out of, for reclaim: at most AS_HELD_SEGS distinct ids, else any. */
typedef struct as_held {
    uint64_t id[AS_HELD_SEGS];
    int n, any;
} as_held;

static void as_held_add(as_held *h, uint64_t seg)
{
    for (int i = 0; i < h->n; i++)
        if (h->id[i] == seg)
            return;
    if (h->n == AS_HELD_SEGS)
        h->any = 1;
    else
        h->id[h->n++] = seg;
}

/* End the scan's call: the session holds exactly the segments its values came from. */
static void as_scan_leave(as_session *s, const as_held *h)
{
    if (h->any || h->n <= 1) {
        as_sess_leave(s, h->any ? AS_HELD_ANY : h->n ? h->id[0] : 0);
        return;
    }
    for (int i = 0; i < AS_HELD_SEGS; i++) /* before done_call (release in as_sess_leave) */
        atomic_store_explicit(&s->held_set[i], i < h->n ? h->id[i] : 0, memory_order_release);
    as_sess_leave(s, AS_HELD_SET);
}

int as_scan(as_session *s, int64_t from, size_t count, as_scan_cb cb, void *arg, size_t *visited)
{
    as_sess_enter(s);
    as_kl batch[AS_SCAN_BATCH];
    as_held held = {.n = 0};
    size_t done = 0;
    int rc = AS_OK, stop = 0;
    while (done < count && !stop) {
        size_t want = count - done < AS_SCAN_BATCH ? count - done : AS_SCAN_BATCH;
        size_t n = as_scan_batch(s, from, batch, want);
        for (size_t i = 0; i < n && !stop; i++) {
            const void *v;
            size_t len;
            rc = as_resolve(s, batch[i].loc, batch[i].key, &v, &len);
            if (rc != AS_OK) {
                stop = 1;
                break;
            }
            as_held_add(&held, as_loc_seg(batch[i].loc));
            done++;
            stop = cb(arg, batch[i].key, v, len) != 0;
        }
        if (n < want || batch[n - 1].key == INT64_MAX)
            break;
        from = batch[n - 1].key + 1; /* the index may change between batches; resume after the last key */
    }
    if (visited)
        *visited = done;
    as_scan_leave(s, &held);
    return rc;
}
