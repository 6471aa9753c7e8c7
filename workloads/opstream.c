/* opstream.c - per-thread deterministic operation streams over one thread's partition of the data set.
 *
 * Thread t of T owns the key indexes i = t + j*T; j is the thread-local ordinal. Loaded keys are the
 * ordinals with i < n, the insert pool the ordinals with n <= i < capacity, so the thread's keys in
 * insertion order are simply j = 0, 1, 2, ... and the present keys are the ordinals [0, cur) minus the
 * deleted ones. Inserts take ordinal cur (the thread's next pool key); deleted keys are never
 * re-inserted.
 *
 * Versions: the "load" stream writes version 1 for each loaded key. Streams of other workloads assume
 * the load happened: on creation they raise every loaded key of their partition still at version 0
 * to version 1 (as kv_dataset_mark_loaded does), and count as already inserted the leading pool keys
 * that earlier phases wrote (versions > 0). */
#include "workload.h"
#include "wl_internal.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#define KV_PICK_TRIES 64

struct kv_opstream {
    kv_dataset *ds;
    kv_workload w;
    enum kv_access access;
    int is_load;
    uint64_t thread, nthreads;
    kv_rng rng;
    double cum[KV_OP__COUNT]; /* cumulative mix; the last op type with a share catches rounding */
    int last_type;
    uint64_t n_loaded;  /* ordinals of loaded keys: [0, n_loaded) */
    uint64_t n_local;   /* all ordinals of this thread: [0, n_local) */
    uint64_t cur;       /* ordinals [0, cur) have been inserted */
    uint64_t present;   /* inserted and not deleted */
    uint64_t next_load; /* load stream: next loaded ordinal to insert */
    uint64_t seq_next;  /* seq access: next ordinal in insertion order */
    kv_zipf zipf;       /* ranks over all ordinals, so hot keys stay put while the thread inserts */
    kv__perm perm;
    kv_zipf latest;     /* ranks over [0, latest_n): re-initialised (O(1)) when cur has moved */
    uint64_t latest_n;
    int ahead_valid;    /* a candidate drawn one pick early so its cache lines arrive in time */
    uint64_t ahead_j, ahead_cur;
    int shared;         /* shared key space: see kv_sh_* below */
    uint64_t sh_ins;    /* shared: inserts issued by this thread (pool ordinals [0, sh_ins)) */
    uint64_t sh_pool;   /* shared: pool ordinals of this thread */
    uint64_t seq_base;  /* shared seq access: where this thread starts */
};

static inline uint64_t kv_os_index(const kv_opstream *s, uint64_t j) { return s->thread + j * s->nthreads; }

static int kv_sh_create(kv_opstream **out, kv_opstream *s, double zipf_theta, uint64_t seed);
static int kv_sh_next(kv_opstream *s, kv_op *op);

static uint64_t kv_os_count(uint64_t limit, uint64_t t, uint64_t T) { return limit > t ? (limit - 1 - t) / T + 1 : 0; }

int kv_opstream_create(kv_opstream **out, kv_dataset *ds, const kv_workload *w, enum kv_access access,
                       double zipf_theta, int thread, int nthreads, uint64_t seed)
{
    *out = NULL;
    if (!ds || !w || nthreads < 1 || thread < 0 || thread >= nthreads || (unsigned)access > KV_ACCESS_SEQ ||
        zipf_theta < 0 || zipf_theta != zipf_theta) {
        errno = EINVAL;
        return -1;
    }
    double sum = 0;
    for (int t = 0; t < KV_OP__COUNT; t++) {
        if (!(w->mix[t] >= 0)) {
            errno = EINVAL;
            return -1;
        }
        sum += w->mix[t];
    }
    if (sum < 1 - 1e-9 || sum > 1 + 1e-9) {
        errno = EINVAL;
        return -1;
    }
    kv_opstream *s = calloc(1, sizeof(*s));
    if (!s) {
        errno = ENOMEM;
        return -1;
    }
    s->ds = ds;
    s->w = *w;
    s->access = access;
    s->is_load = w->name && strcmp(w->name, "load") == 0;
    s->thread = (uint64_t)thread;
    s->nthreads = (uint64_t)nthreads;
    kv_rng_seed(&s->rng, kv_mix64(kv_mix64(seed ^ 0x6f7073ULL) + (uint64_t)thread) ^ (uint64_t)nthreads);
    double c = 0;
    s->last_type = 0;
    for (int t = 0; t < KV_OP__COUNT; t++) {
        c += w->mix[t];
        s->cum[t] = c;
        if (w->mix[t] > 0)
            s->last_type = t;
    }
    s->shared = w->shared_keys && !s->is_load;
    if (s->shared)
        return kv_sh_create(out, s, zipf_theta, seed);
    s->n_loaded = kv_os_count(ds->n, s->thread, s->nthreads);
    s->n_local = kv_os_count(ds->capacity, s->thread, s->nthreads);
    if (!s->is_load) {
        for (uint64_t j = 0; j < s->n_loaded; j++) {
            uint64_t i = kv_os_index(s, j);
            if (ds->versions[i] == 0)
                ds->versions[i] = 1;
        }
        s->cur = s->n_loaded;
        while (s->cur < s->n_local && ds->versions[kv_os_index(s, s->cur)] > 0)
            s->cur++;
        for (uint64_t j = 0; j < s->cur; j++)
            s->present += !ds->deleted[kv_os_index(s, j)];
    }
    double theta = zipf_theta > 0 ? zipf_theta : 0.99;
    if (kv_zipf_init(&s->zipf, s->n_local ? s->n_local : 1, theta) != 0 ||
        kv_zipf_init(&s->latest, s->cur ? s->cur : 1, theta) != 0) {
        free(s);
        errno = EINVAL;
        return -1;
    }
    s->latest_n = s->cur ? s->cur : 1;
    kv__perm_init(&s->perm, s->n_local ? s->n_local : 1, kv_mix64(seed ^ 0x7a697066ULL) + (uint64_t)thread);
    *out = s;
    return 0;
}

void kv_opstream_free(kv_opstream *s) { free(s); }

/* One candidate ordinal by the access distribution; may be >= cur (zipf over all ordinals) or deleted. */
static uint64_t kv_os_draw(kv_opstream *s)
{
    switch (s->access) {
    case KV_ACCESS_ZIPF:
        return kv__perm_apply(&s->perm, kv_zipf_next(&s->zipf, &s->rng));
    case KV_ACCESS_LATEST:
        if (s->latest_n != s->cur) {
            kv_zipf_init(&s->latest, s->cur, s->latest.theta);
            s->latest_n = s->cur;
        }
        return s->cur - 1 - kv_zipf_next(&s->latest, &s->rng);
    case KV_ACCESS_UNIFORM:
    default:
        return kv_rng_below(&s->rng, s->cur);
    }
}

/* The op type by the mix. */
static int kv_os_type(kv_opstream *s)
{
    double u = kv__rng_double(&s->rng);
    for (int t = 0; t < KV_OP__COUNT; t++)
        if (s->w.mix[t] > 0 && u < s->cum[t])
            return t;
    return s->last_type;
}

static uint32_t kv_os_scan_len(kv_opstream *s)
{
    if (s->w.scan_len_min && s->w.scan_len_min < s->w.scan_len)
        return s->w.scan_len_min + (uint32_t)kv_rng_below(&s->rng, s->w.scan_len - s->w.scan_len_min + 1);
    return s->w.scan_len;
}

static inline int kv_os_live(const kv_opstream *s, uint64_t j)
{
    return j < s->cur && !s->ds->deleted[kv_os_index(s, j)];
}

/* A present ordinal: draws are retried a bounded number of times, then the next present ordinal
 * after a uniform start is taken, so a mostly-deleted partition still terminates deterministically. */
static int kv_os_pick(kv_opstream *s, uint64_t *out)
{
    if (s->present == 0)
        return -1;
    if (s->access == KV_ACCESS_SEQ) {
        for (;;) {
            uint64_t j = s->seq_next++ % s->cur;
            if (kv_os_live(s, j)) {
                *out = j;
                return 0;
            }
        }
    }
    uint64_t j = 0;
    int found = 0;
    /* The look-ahead candidate was drawn by the same distribution over the same cur (it is dropped
     * when an insert has moved cur), so using it does not change the distribution. */
    if (s->ahead_valid && s->ahead_cur == s->cur && kv_os_live(s, s->ahead_j)) {
        j = s->ahead_j;
        found = 1;
    }
    for (int k = 0; !found && k < KV_PICK_TRIES; k++) {
        j = kv_os_draw(s);
        found = kv_os_live(s, j);
    }
    if (!found) {
        j = kv_rng_below(&s->rng, s->cur);
        while (!kv_os_live(s, j))
            j = (j + 1) % s->cur;
    }
    *out = j;
    /* The next pick's keys[], versions[] and deleted[] lines are random accesses into arrays far
     * larger than the cache: fetching them now overlaps the misses with the caller's engine op. */
    s->ahead_j = kv_os_draw(s);
    s->ahead_cur = s->cur;
    s->ahead_valid = 1;
    if (s->ahead_j < s->cur) {
        uint64_t i = kv_os_index(s, s->ahead_j);
        __builtin_prefetch(&s->ds->deleted[i]);
        __builtin_prefetch(&s->ds->keys[i]);
        __builtin_prefetch(&s->ds->versions[i], 1);
    }
    return 0;
}

int kv_opstream_next(kv_opstream *s, kv_op *op)
{
    if (s->shared)
        return kv_sh_next(s, op);
    kv_dataset *ds = s->ds;
    if (s->is_load) {
        if (s->next_load >= s->n_loaded) {
            errno = ENOSPC;
            return -1;
        }
        uint64_t i = kv_os_index(s, s->next_load++);
        ds->versions[i] = 1;
        ds->deleted[i] = 0;
        *op = (kv_op){.type = KV_OP_INSERT, .version = 1, .scan_len = 0, .key = ds->keys[i], .index = i};
        return 0;
    }
    int type = kv_os_type(s);
    uint64_t j;
    if (type == KV_OP_INSERT) {
        if (s->cur >= s->n_local) {
            errno = ENOSPC;
            return -1;
        }
        j = s->cur++;
        s->present++;
        uint64_t i = kv_os_index(s, j);
        ds->versions[i] = 1;
        ds->deleted[i] = 0;
        *op = (kv_op){.type = KV_OP_INSERT, .version = 1, .scan_len = 0, .key = ds->keys[i], .index = i};
        return 0;
    }
    if (kv_os_pick(s, &j) != 0) {
        errno = ENOENT;
        return -1;
    }
    uint64_t i = kv_os_index(s, j);
    *op = (kv_op){.type = (enum kv_optype)type, .version = ds->versions[i], .scan_len = 0, .key = ds->keys[i],
                  .index = i};
    switch (type) {
    case KV_OP_UPDATE:
    case KV_OP_RMW:
        op->version = ++ds->versions[i];
        break;
    case KV_OP_DELETE:
        ds->deleted[i] = 1;
        s->present--;
        break;
    case KV_OP_SCAN:
        op->scan_len = kv_os_scan_len(s);
        break;
    default:
        break;
    }
    return 0;
}

/* ---------- shared key space ----------
 * Index space: loaded keys [0, n), then the insert pool, whose index n + t + j*T is thread t's j-th
 * insert. Picks draw a global index by the access distribution and keep it when the key is present
 * as far as commits go (committed > 0, not deleted); every thread uses the same zipf ranks and the
 * same rank scrambler, so all threads share one hot set. Version bookkeeping is atomic (ds->versions
 * issued here, ds->committed / ds->deleted at commit by kv_shared_write_end). */

static int kv_sh_create(kv_opstream **out, kv_opstream *s, double zipf_theta, uint64_t seed)
{
    kv_dataset *ds = s->ds;
    uint64_t pool = ds->capacity - ds->n;
    s->sh_pool = pool > s->thread ? (pool - 1 - s->thread) / s->nthreads + 1 : 0;
    /* Streams are created one after another before any pass: the first one brings the commit state
     * in line with what was loaded (the load sets versions[] only). Later passes reuse the streams. */
    if (s->thread == 0) {
        uint64_t issued = 0;
        for (uint64_t i = 0; i < ds->capacity; i++) {
            if (i < ds->n && ds->versions[i] == 0)
                ds->versions[i] = 1;
            ds->committed[i] = ds->versions[i];
            issued += i >= ds->n && ds->versions[i] > 0;
        }
        ds->inserts_issued = issued;
    }
    /* pool keys this thread inserted in earlier passes */
    while (s->sh_ins < s->sh_pool && ds->versions[ds->n + s->thread + s->sh_ins * s->nthreads] > 0)
        s->sh_ins++;
    double theta = zipf_theta > 0 ? zipf_theta : 0.99;
    if (kv_zipf_init(&s->zipf, ds->capacity, theta) != 0 || kv_zipf_init(&s->latest, ds->capacity, theta) != 0) {
        free(s);
        errno = EINVAL;
        return -1;
    }
    s->latest_n = 0;
    kv__perm_init(&s->perm, ds->capacity, kv_mix64(seed ^ 0x7a697066ULL)); /* one hot set for all threads */
    s->seq_base = ds->n / s->nthreads * s->thread;
    *out = s;
    return 0;
}

static inline int kv_sh_live(const kv_dataset *ds, uint64_t i)
{
    return i < ds->capacity && kv_shared_committed(ds, i) > 0 && !kv_shared_deleted(ds, i);
}

/* Keys are present up to about n + inserts issued (the pool interleaves the threads' inserts). */
static inline uint64_t kv_sh_top(const kv_opstream *s)
{
    uint64_t top = s->ds->n + __atomic_load_n(&s->ds->inserts_issued, __ATOMIC_RELAXED);
    return top < s->ds->capacity ? top : s->ds->capacity;
}

static uint64_t kv_sh_draw(kv_opstream *s, uint64_t top)
{
    switch (s->access) {
    case KV_ACCESS_ZIPF:
        return kv__perm_apply(&s->perm, kv_zipf_next(&s->zipf, &s->rng));
    case KV_ACCESS_LATEST:
        if (s->latest_n != top) { /* O(1) re-initialisation when the newest key has moved */
            kv_zipf_init(&s->latest, top ? top : 1, s->latest.theta);
            s->latest_n = top;
        }
        return top - 1 - kv_zipf_next(&s->latest, &s->rng);
    case KV_ACCESS_SEQ:
        return (s->seq_base + s->seq_next++) % top;
    case KV_ACCESS_UNIFORM:
    default:
        return kv_rng_below(&s->rng, top);
    }
}

static int kv_sh_pick(kv_opstream *s, uint64_t *out)
{
    uint64_t top = kv_sh_top(s);
    if (top == 0)
        return -1;
    for (int k = 0; k < KV_PICK_TRIES; k++) {
        uint64_t i = kv_sh_draw(s, top);
        if (kv_sh_live(s->ds, i)) {
            *out = i;
            return 0;
        }
    }
    /* mostly deleted (or not yet inserted): the next present key after a uniform start */
    uint64_t start = kv_rng_below(&s->rng, top);
    for (uint64_t k = 0; k < top; k++) {
        uint64_t i = (start + k) % top;
        if (kv_sh_live(s->ds, i)) {
            *out = i;
            return 0;
        }
    }
    return -1;
}

static int kv_sh_next(kv_opstream *s, kv_op *op)
{
    kv_dataset *ds = s->ds;
    int type = kv_os_type(s);
    if (type == KV_OP_INSERT) {
        if (s->sh_ins >= s->sh_pool) {
            errno = ENOSPC;
            return -1;
        }
        uint64_t i = ds->n + s->thread + s->sh_ins++ * s->nthreads;
        __atomic_store_n(&ds->versions[i], 1, __ATOMIC_RELAXED);
        __atomic_add_fetch(&ds->inserts_issued, 1, __ATOMIC_RELAXED);
        *op = (kv_op){.type = KV_OP_INSERT, .version = 1, .scan_len = 0, .key = ds->keys[i], .index = i};
        return 0;
    }
    uint64_t i;
    if (kv_sh_pick(s, &i) != 0) {
        errno = ENOENT;
        return -1;
    }
    *op = (kv_op){.type = (enum kv_optype)type, .version = 0, .scan_len = 0, .key = ds->keys[i], .index = i};
    switch (type) {
    case KV_OP_UPDATE:
    case KV_OP_RMW:
    case KV_OP_DELETE:
        op->version = __atomic_add_fetch(&ds->versions[i], 1, __ATOMIC_RELAXED);
        break;
    case KV_OP_SCAN:
        op->scan_len = kv_os_scan_len(s);
        break;
    default:
        break;
    }
    return 0;
}

static int kv_sh_is_write(enum kv_optype t)
{
    return t == KV_OP_UPDATE || t == KV_OP_RMW || t == KV_OP_DELETE || t == KV_OP_INSERT;
}

void kv_shared_write_begin(kv_dataset *ds, const kv_op *op)
{
    if (!kv_sh_is_write(op->type))
        return;
    uint32_t before = op->version - 1;
    for (unsigned spins = 0; kv_shared_committed(ds, op->index) != before; spins++)
        if (spins > 64)
            sched_yield(); /* the earlier writer is on another thread, maybe descheduled */
    if (op->type == KV_OP_DELETE) /* before the engine call: a get that sees the delete sees this too */
        __atomic_store_n(&ds->ever_deleted[op->index], 1, __ATOMIC_RELEASE);
}

void kv_shared_write_end(kv_dataset *ds, const kv_op *op)
{
    if (!kv_sh_is_write(op->type))
        return;
    __atomic_store_n(&ds->deleted[op->index], op->type == KV_OP_DELETE, __ATOMIC_RELAXED);
    __atomic_store_n(&ds->committed[op->index], op->version, __ATOMIC_RELEASE);
}
