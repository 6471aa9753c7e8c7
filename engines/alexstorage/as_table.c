/* as_table.c - the store's shared tables: segments by id, the dropped set, retired segments, error text. */
#include "as_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *as_strerror(int status)
{
    switch (status) {
    case AS_OK: return "AS_OK: success";
    case AS_NOTFOUND: return "AS_NOTFOUND: key not found";
    case AS_EINVAL: return "AS_EINVAL: invalid argument";
    case AS_EIO: return "AS_EIO: I/O error";
    case AS_ECORRUPT: return "AS_ECORRUPT: stored data is corrupt";
    case AS_ENOMEM: return "AS_ENOMEM: out of memory";
    case AS_ENOSPC: return "AS_ENOSPC: no space left (disk full or file size limit)";
    case AS_EBUSY: return "AS_EBUSY: store is locked by another process";
    case AS_ERDONLY: return "AS_ERDONLY: store is read-only (opened read-only, or its index takes no writes)";
    case AS_EINTERNAL: return "AS_EINTERNAL: internal error (a bug)";
    default: return "unknown AlexStorage status";
    }
}

int as_db_seterr(as_db *db, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(db->err, sizeof(db->err), fmt, ap);
    va_end(ap);
    return status;
}

int as_sess_seterr(as_session *s, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->err, sizeof(s->err), fmt, ap);
    va_end(ap);
    return status;
}

/* A segment must hold at least its header and one record of the largest size. */
uint64_t as_db_reserve_bytes(const as_db *db)
{
    uint64_t r = db->opt.reserve_bytes ? db->opt.reserve_bytes : db->opt.segment_bytes;
    uint64_t min = AS_SEG_HEADER_BYTES + as_rec_bytes(AS_MAX_VALUE_BYTES);
    if (r < db->opt.segment_bytes)
        r = db->opt.segment_bytes;
    return r < min ? min : r;
}

int as_db_seg_put(as_db *db, as_segment *sg)
{
    uint64_t hi = (sg->id >> AS_SEGDIR_BITS) & (AS_SEGDIR_SIZE - 1);
    _Atomic(as_segment *) *leaf = atomic_load_explicit(&db->segdir[hi], memory_order_acquire);
    if (!leaf) {
        leaf = calloc(AS_SEGDIR_SIZE, sizeof(*leaf));
        if (!leaf)
            return AS_ENOMEM;
        atomic_store_explicit(&db->segdir[hi], leaf, memory_order_release);
    }
    sg->fault = &db->fault;
    as_seg_set_hugepages(sg, db->opt.hugepages);
    atomic_store_explicit(&leaf[sg->id & (AS_SEGDIR_SIZE - 1)], sg, memory_order_release);
    atomic_fetch_add(&db->num_segments, 1);
    return AS_OK;
}

void as_db_seg_remove(as_db *db, uint64_t id)
{
    _Atomic(as_segment *) *leaf = atomic_load_explicit(&db->segdir[(id >> AS_SEGDIR_BITS) & (AS_SEGDIR_SIZE - 1)],
                                                       memory_order_acquire);
    if (!leaf || !atomic_load(&leaf[id & (AS_SEGDIR_SIZE - 1)]))
        return;
    atomic_store_explicit(&leaf[id & (AS_SEGDIR_SIZE - 1)], NULL, memory_order_release);
    atomic_fetch_sub(&db->num_segments, 1);
}

void as_db_lock_all(as_db *db)
{
    if (as_index_shared_reads(db->index))
        return; /* readers never lock: the index keeps them consistent (as_index.h) */
    pthread_mutex_lock(&db->sess_mu);
    uint64_t n = 0;
    for (as_session *s = db->sessions; s; s = s->next, n++)
        pthread_mutex_lock(&s->lock);
    atomic_fetch_add_explicit(&db->n_reader_locks, n, memory_order_relaxed);
}

void as_db_unlock_all(as_db *db)
{
    if (as_index_shared_reads(db->index))
        return;
    for (as_session *s = db->sessions; s; s = s->next)
        pthread_mutex_unlock(&s->lock);
    pthread_mutex_unlock(&db->sess_mu);
}

void as_db_exclude_readers(as_db *db)
{
    if (as_index_shared_reads(db->index))
        db->index->ops->exclude_readers(db->index->impl);
    else
        as_db_lock_all(db);
}

void as_db_admit_readers(as_db *db)
{
    if (as_index_shared_reads(db->index))
        db->index->ops->admit_readers(db->index->impl);
    else
        as_db_unlock_all(db);
}

void as_db_close_segments(as_db *db)
{
    for (uint32_t hi = 0; hi < AS_SEGDIR_SIZE; hi++) {
        _Atomic(as_segment *) *leaf = db->segdir[hi];
        if (!leaf)
            continue;
        for (uint32_t lo = 0; lo < AS_SEGDIR_SIZE; lo++)
            as_seg_close(leaf[lo]);
        free(leaf);
        db->segdir[hi] = NULL;
    }
}

/* ---- the dropped-segment set (sorted ids; writer and open only) ---- */

int as_db_is_dropped(const as_db *db, uint64_t id)
{
    size_t lo = 0, hi = db->ndropped;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (db->dropped[mid] < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < db->ndropped && db->dropped[lo] == id;
}

int as_db_mark_dropped(as_db *db, uint64_t id)
{
    if (as_db_is_dropped(db, id))
        return AS_OK;
    if (db->ndropped == db->dropped_cap) {
        size_t cap = db->dropped_cap ? 2 * db->dropped_cap : 64;
        uint64_t *p = realloc(db->dropped, cap * sizeof(*p));
        if (!p)
            return AS_ENOMEM;
        db->dropped = p;
        db->dropped_cap = cap;
    }
    size_t i = db->ndropped;
    while (i > 0 && db->dropped[i - 1] > id) {
        db->dropped[i] = db->dropped[i - 1];
        i--;
    }
    db->dropped[i] = id;
    db->ndropped++;
    return AS_OK;
}

/* ---- retiring: a segment leaves only when no session can hold a pointer into it ---- */

/* Free retired segments whose retire epoch every session has passed. `self` (may be NULL) is the
 * session doing the maintenance: it is inside a call, so it holds no older pointer. */
/* Is s between calls, holding no value from segment id? Its latest call must have ended (done_call
 * = calls, read twice around held_seg so a call starting meanwhile counts as "no"). A call starting
 * after the retirement reads the repointed index, and the application gives up older values then. */
static int as_sess_idle_without(as_session *s, uint64_t id)
{
    uint64_t c1 = atomic_load(&s->calls);
    uint64_t d = atomic_load(&s->done_call);
    uint64_t h = atomic_load(&s->held_seg);
    int in_set = 0;
    for (int i = 0; h == AS_HELD_SET && i < AS_HELD_SEGS; i++) /* a scan's segments */
        in_set |= atomic_load_explicit(&s->held_set[i], memory_order_acquire) == id;
    uint64_t c2 = atomic_load(&s->calls);
    return c1 == d && c1 == c2 && h != id && h != AS_HELD_ANY && !in_set;
}

void as_reclaim(as_db *db, const as_session *self)
{
    size_t keep = 0;
    for (size_t i = 0; i < db->nretired; i++) {
        as_retired r = db->retired[i];
        int safe = 1;
        pthread_mutex_lock(&db->sess_mu);
        for (as_session *s = db->sessions; s && safe; s = s->next) {
            uint64_t e = atomic_load_explicit(&s->epoch, memory_order_acquire);
            if (s != self && e != 0 && e < r.epoch && !as_sess_idle_without(s, r.sg->id))
                safe = 0;
        }
        pthread_mutex_unlock(&db->sess_mu);
        if (!safe) {
            db->retired[keep++] = r;
            continue;
        }
        as_db_seg_remove(db, r.sg->id);
        as_seg_close(r.sg);
    }
    db->nretired = keep;
}

int as_retire(as_db *db, as_segment *sg)
{
    if (db->nretired == db->retired_cap) {
        size_t cap = db->retired_cap ? 2 * db->retired_cap : 16;
        as_retired *p = realloc(db->retired, cap * sizeof(*p));
        if (!p)
            return AS_ENOMEM;
        db->retired = p;
        db->retired_cap = cap;
    }
    sg->retired = 1;
    /* Every lookup from here on sees the repointed index; a session whose current call began before
     * this epoch may still hold a pointer into sg. */
    uint64_t e = atomic_fetch_add(&db->epoch, 1) + 1;
    db->retired[db->nretired++] = (as_retired){sg, e};
    return AS_OK;
}

uint64_t as_now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

/* Background maintenance keeps to a duty cycle: after holding write_mu for held_ns it stays out for
 * AS_MAINT_REST_FACTOR times as long (less the time since it let go, spent on its own I/O), so a
 * closed-loop writer gets most puts through between two holds instead of meeting every one. When no
 * write arrives in the first AS_MAINT_IDLE_NS of the rest, nobody is waiting: the rest ends there. */
#define AS_MAINT_IDLE_NS 100000ull
void as_maint_rest(as_db *db, uint64_t held_ns, uint64_t out_since_ns)
{
    uint64_t want = held_ns * AS_MAINT_REST_FACTOR, now = as_now_ns();
    uint64_t done = now > out_since_ns ? now - out_since_ns : 0;
    if (want <= done)
        return;
    want -= done;
    uint64_t seq = atomic_load_explicit(&db->appended_seq, memory_order_relaxed);
    uint64_t first = want < AS_MAINT_IDLE_NS ? want : AS_MAINT_IDLE_NS;
    struct timespec t = {0, (long)first};
    nanosleep(&t, NULL);
    if (first == want || atomic_load_explicit(&db->appended_seq, memory_order_relaxed) == seq)
        return; /* the writers are idle */
    want -= first;
    t = (struct timespec){(time_t)(want / 1000000000ull), (long)(want % 1000000000ull)};
    nanosleep(&t, NULL);
}
