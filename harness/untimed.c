/* untimed.c - pre-generated op plans for the untimed pass, the pass body, and the checks after it. */
#include "untimed.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Write values are pre-made while they fit in this much memory per thread; beyond it they are made
 * during the pass (then recorded as not pre-generated). */
#define KVB_PLAN_VALUE_BYTES (256u << 20)
/* Kept scan records (bytes and headers) per thread: every scan is checked while they fit, else an
 * evenly spread sample of them. */
#define KVB_PLAN_SCAN_BYTES (64u << 20)

/* Ops that put a value of op->version (a read-modify-write puts it when the read was right). */
static int is_write(enum kv_optype t)
{
    return t == KV_OP_UPDATE || t == KV_OP_INSERT || t == KV_OP_RMW;
}

/* Fault every page now, so the pass does not pay for first touches. */
static void *alloc_touched(size_t bytes)
{
    void *p = malloc(bytes ? bytes : 1);
    if (p)
        memset(p, 0, bytes);
    return p;
}

static int plan_values(kvb_plan *p, const kvb_worker *w, uint64_t writes)
{
    if (!writes || writes * p->value_size > KVB_PLAN_VALUE_BYTES)
        return 0;
    p->values = malloc(writes * p->value_size);
    if (!p->values)
        return 0; /* made during the pass instead */
    unsigned char *v = p->values;
    for (uint64_t i = 0; i < p->n; i++)
        if (is_write(p->ops[i].type)) {
            kv_value_make(w->seed, p->ops[i].key, p->ops[i].version, v,
                          kv_value_len(&w->vsize, w->seed, p->ops[i].key, p->ops[i].version));
            v += p->value_size;
        }
    return 1;
}

static int plan_scans(kvb_plan *p, const kvb_worker *w, uint64_t scans)
{
    if (!scans)
        return 0;
    uint64_t per_scan = (uint64_t)w->reccap * (p->value_size + sizeof(kvb_scan_rec));
    uint64_t keep = KVB_PLAN_SCAN_BYTES / per_scan;
    if (keep == 0)
        keep = 1;
    p->scan_every = (scans + keep - 1) / keep;
    uint64_t kept = (scans + p->scan_every - 1) / p->scan_every;
    p->rec_cap = kept * w->reccap;
    p->recs = alloc_touched(p->rec_cap * sizeof(*p->recs));
    p->bytes = alloc_touched(p->rec_cap * p->value_size);
    return p->recs && p->bytes ? 0 : -1;
}

static int plan_one(kvb_plan *p, kvb_worker *w, uint64_t n, char *err, size_t errlen)
{
    p->n = n;
    p->value_size = w->value_size;
    p->ops = malloc((n ? n : 1) * sizeof(*p->ops));
    p->answers = alloc_touched(n * sizeof(*p->answers));
    if (!p->ops || !p->answers) {
        snprintf(err, errlen, "out of memory for the untimed pass's plan of %llu ops (%zu bytes each); use a "
                 "smaller --ops", (unsigned long long)n, sizeof(kv_op) + sizeof(kvb_answer));
        return -1;
    }
    uint64_t writes = 0, scans = 0;
    for (uint64_t i = 0; i < n; i++) {
        if (kv_opstream_next(w->stream, &p->ops[i]) != 0) {
            snprintf(err, errlen, "workload: the op stream of thread %d stopped after %llu ops of the untimed "
                     "pass: no key left for the next op (insert pool used up, or every key of the thread "
                     "deleted); use a larger -n or a mix with fewer deletes", w->thread, (unsigned long long)i);
            return -1;
        }
        writes += is_write(p->ops[i].type);
        scans += p->ops[i].type == KV_OP_SCAN;
    }
    plan_values(p, w, writes);
    if (plan_scans(p, w, scans) != 0) {
        snprintf(err, errlen, "out of memory for the untimed pass's scan records");
        return -1;
    }
    return 0;
}

int kvb_untimed_prepare(kvb_untimed *u, kvb_worker *workers, int nthreads, uint64_t total, char *err,
                        size_t errlen)
{
    memset(u, 0, sizeof(*u));
    kv_dataset *ds = workers[0].ds;
    u->nthreads = nthreads;
    u->ds = ds;
    u->plans = calloc((size_t)nthreads, sizeof(*u->plans));
    if (!u->plans) {
        snprintf(err, errlen, "out of memory for the untimed pass's plan");
        return -1;
    }
    /* scans are checked at the state of their time; shared keys' gets against the state before */
    if (workers[0].sorted || workers[0].shared) { /* sorted: the workload scans */
        /* the state before generation: scans are checked against it, replayed op by op */
        u->versions = malloc(ds->capacity * sizeof(*ds->versions));
        u->deleted = malloc(ds->capacity * sizeof(*ds->deleted));
        if (!u->versions || !u->deleted) {
            snprintf(err, errlen, "out of memory for the untimed pass's copy of the data set's state");
            return -1;
        }
        memcpy(u->versions, ds->versions, ds->capacity * sizeof(*ds->versions));
        memcpy(u->deleted, ds->deleted, ds->capacity * sizeof(*ds->deleted));
    }
    u->values_pregenerated = 1;
    for (int t = 0; t < nthreads; t++) {
        kvb_plan *p = &u->plans[t];
        if (plan_one(p, &workers[t], kvb_share_of(total, nthreads, t), err, errlen) != 0)
            return -1;
        uint64_t writes = 0;
        for (uint64_t i = 0; i < p->n; i++)
            writes += is_write(p->ops[i].type);
        if (writes && !p->values)
            u->values_pregenerated = 0;
        if (p->scan_every > u->scan_every)
            u->scan_every = p->scan_every;
        u->bytes += p->n * (sizeof(kv_op) + sizeof(kvb_answer)) + (p->values ? writes * p->value_size : 0) +
                    p->rec_cap * (sizeof(kvb_scan_rec) + p->value_size);
    }
    if (!u->scan_every && u->versions && !workers[0].shared) { /* no scan drawn: nothing to replay (shared
                                                                  keys: the state before bounds the gets' windows) */
        free(u->versions);
        free(u->deleted);
        u->versions = NULL, u->deleted = NULL;
    }
    return 0;
}

/* Keep this scan's records when it is one of the sample (copied from the worker's scan buffer). */
static void keep_scan(kvb_plan *p, const kvb_worker *w, kvb_answer *a)
{
    uint64_t k = p->scans_seen++;
    *a = (kvb_answer){UINT64_MAX, 0, 0};
    if (k % p->scan_every != 0 || p->nrecs + w->nrec > p->rec_cap)
        return;
    memcpy(p->recs + p->nrecs, w->recs, w->nrec * sizeof(*w->recs));
    memcpy(p->bytes + p->nrecs * p->value_size, w->scanbuf, w->nrec * p->value_size);
    *a = (kvb_answer){p->nrecs, (uint32_t)w->nrec, 0};
    p->nrecs += w->nrec;
}

int kvb_untimed_run(kvb_worker *w, kvb_plan *p, kvb_progress *progress)
{
    const unsigned char *v = p->values;
    for (uint64_t i = 0; i < p->n; i++) {
        const kv_op *op = &p->ops[i];
        const unsigned char *value = NULL;
        if (v && is_write(op->type)) {
            value = v;
            v += p->value_size;
        }
        if (kvb_worker_op_untimed(w, op, value, &p->answers[i]) != 0)
            return -1;
        if (op->type == KV_OP_SCAN)
            keep_scan(p, w, &p->answers[i]);
        if (progress && (i & 4095) == 0)
            kvb_progress_update(progress, i * (uint64_t)w->nthreads);
    }
    return 0;
}

/* A get's recorded answer against the version the plan expected. */
static enum kv_verdict check_get(kvb_worker *w, const kv_op *op, kvb_answer a)
{
    uint32_t want = op->version;
    if (w->fault == KVB_FAULT_MISSING)
        a.len = KVB_ANSWER_NOTFOUND;
    else if (w->fault == KVB_FAULT_STALE)
        want++; /* the genuine answer now looks one version old */
    else if (w->fault == KVB_FAULT_WRONG)
        a.digest ^= 1;
    w->fault = KVB_FAULT_NONE;
    if (a.len == KVB_ANSWER_NOTFOUND)
        return KV_VALUE_MISSING;
    size_t len = a.version ? kv_value_len(&w->vsize, w->seed, op->key, a.version) : 0;
    if (a.len != len || a.version == 0 || a.version > want)
        return KV_VALUE_WRONG;
    kv_value_make(w->seed, op->key, a.version, w->valbuf, len);
    if (kvb_value_digest(w->valbuf, len) != a.digest)
        return KV_VALUE_WRONG;
    return a.version == want ? KV_VALUE_OK : KV_VALUE_STALE;
}

/* A get of a shared key (other threads wrote it during the pass): any version from the one committed
 * before the pass to the last one written in it; not-found only for a key deleted before or since. */
static enum kv_verdict check_shared_get(kvb_worker *w, const kvb_untimed *u, const kv_op *op, kvb_answer a)
{
    const kv_dataset *ds = u->ds;
    uint32_t lo = u->versions[op->index], hi = ds->versions[op->index];
    if (w->fault == KVB_FAULT_MISSING)
        a.len = KVB_ANSWER_NOTFOUND;
    else if (w->fault == KVB_FAULT_STALE)
        lo = hi + 1; /* the genuine answer now looks older than the window */
    else if (w->fault == KVB_FAULT_WRONG)
        a.digest ^= 1;
    w->fault = KVB_FAULT_NONE;
    if (a.len == KVB_ANSWER_NOTFOUND)
        return u->deleted[op->index] || ds->ever_deleted[op->index] ? KV_VALUE_OK : KV_VALUE_MISSING;
    size_t len = a.version ? kv_value_len(&w->vsize, w->seed, op->key, a.version) : 0;
    if (a.len != len || a.version == 0 || a.version > hi)
        return KV_VALUE_WRONG;
    kv_value_make(w->seed, op->key, a.version, w->valbuf, len);
    if (kvb_value_digest(w->valbuf, len) != a.digest)
        return KV_VALUE_WRONG;
    return a.version >= lo ? KV_VALUE_OK : KV_VALUE_STALE;
}

/* The get half against the version before the write, and the version the write derived from it. */
static void check_rmw(kvb_worker *w, const kv_op *op, kvb_answer a)
{
    kv_op get = *op;
    get.version = op->version - 1;
    if (w->shared && a.len == KVB_ANSWER_NOTFOUND && w->fault == KVB_FAULT_NONE && w->ds->ever_deleted[op->index]) {
        kvb_worker_count(w, KV_VALUE_OK); /* deleted before this write's turn came */
        return;
    }
    kvb_worker_count(w, check_get(w, &get, a));
    if (a.len != KVB_ANSWER_NOTFOUND && a.version + 1 != op->version)
        kvb_worker_count(w, KV_VALUE_WRONG);
}

static void check_scan(kvb_worker *w, const kvb_plan *p, const kv_op *op, kvb_answer a)
{
    if (a.digest == UINT64_MAX)
        return;
    memcpy(w->recs, p->recs + a.digest, a.len * sizeof(*w->recs));
    memcpy(w->scanbuf, p->bytes + a.digest * p->value_size, a.len * p->value_size);
    w->nrec = a.len;
    kvb_worker_check_scan(w, op);
}

/* What the op did to the data set's state (as kv_opstream_next recorded it when generating). */
static void replay(kv_dataset *ds, const kv_op *op)
{
    if (is_write(op->type))
        ds->versions[op->index] = op->version, ds->deleted[op->index] = 0;
    else if (op->type == KV_OP_DELETE)
        ds->deleted[op->index] = 1;
}

void kvb_untimed_check(kvb_untimed *u, kvb_worker *workers)
{
    kv_dataset *ds = u->ds;
    int shared = workers[0].shared;
    if (u->versions && !shared) {
        memcpy(ds->versions, u->versions, ds->capacity * sizeof(*ds->versions));
        memcpy(ds->deleted, u->deleted, ds->capacity * sizeof(*ds->deleted));
    }
    /* threads own disjoint keys: replaying one thread after another gives each scan its own keys'
     * state of its time; other threads' keys are checked leniently by the scan verifier anyway */
    for (int t = 0; t < u->nthreads; t++) {
        kvb_worker *w = &workers[t];
        const kvb_plan *p = &u->plans[t];
        for (uint64_t i = 0; i < p->n; i++) {
            const kv_op *op = &p->ops[i];
            if (w->verify && op->type == KV_OP_GET)
                kvb_worker_count(w, shared ? check_shared_get(w, u, op, p->answers[i])
                                           : check_get(w, op, p->answers[i]));
            else if (w->verify && op->type == KV_OP_RMW)
                check_rmw(w, op, p->answers[i]);
            else if (w->verify && op->type == KV_OP_SCAN)
                check_scan(w, p, op, p->answers[i]);
            if (u->versions && !shared) /* shared keys: scans are checked against the state after the
                                           pass (versions no newer, loaded keys never deleted present) */
                replay(ds, op);
        }
    }
}

void kvb_untimed_free(kvb_untimed *u)
{
    for (int t = 0; u->plans && t < u->nthreads; t++) {
        kvb_plan *p = &u->plans[t];
        free(p->ops);
        free(p->answers);
        free(p->values);
        free(p->recs);
        free(p->bytes);
    }
    free(u->plans);
    free(u->versions);
    free(u->deleted);
    memset(u, 0, sizeof(*u));
}
