/* worker.c - the hot loop of one op: prepare, timed engine call + reading the value, then verification. */
#include "worker.h"

#include "shared_verify.h"
#include "timer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int kvb_worker_init(kvb_worker *w, size_t value_size, uint32_t scan_len)
{
    w->value_size = value_size;
    kv_valsize_fixed(&w->vsize, (uint32_t)value_size);
    w->reccap = scan_len ? scan_len : 1;
    w->valbuf = malloc(value_size);
    w->readbuf = malloc(value_size);
    w->scanbuf = malloc(w->reccap * value_size);
    w->recs = malloc(w->reccap * sizeof(*w->recs));
    w->all = malloc(sizeof(kvb_hist));
    for (int t = 0; t < KV_OP__COUNT; t++)
        w->by_op[t] = malloc(sizeof(kvb_hist));
    int ok = w->valbuf && w->readbuf && w->scanbuf && w->recs && w->all;
    for (int t = 0; t < KV_OP__COUNT; t++)
        ok = ok && w->by_op[t];
    if (!ok)
        return -1;
    kvb_worker_reset_hists(w);
    return 0;
}

void kvb_worker_free(kvb_worker *w)
{
    free(w->valbuf);
    free(w->readbuf);
    free(w->scanbuf);
    free(w->recs);
    free(w->all);
    for (int t = 0; t < KV_OP__COUNT; t++)
        free(w->by_op[t]);
}

void kvb_worker_reset_hists(kvb_worker *w)
{
    kvb_hist_reset(w->all);
    for (int t = 0; t < KV_OP__COUNT; t++)
        kvb_hist_reset(w->by_op[t]);
    if (w->ol)
        kvb_openloop_reset(w->ol);
}

/* The length of the value of (key, version): the run's size distribution. */
static inline size_t vlen(const kvb_worker *w, int64_t key, uint32_t version)
{
    return kv_value_len(&w->vsize, w->seed, key, version);
}

/* Read every byte of a value: what a client does with it, and what zero-copy engines must pay too. */
static inline uint64_t touch(const void *p, size_t len)
{
    const unsigned char *b = p;
    uint64_t sum = 0;
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t x;
        memcpy(&x, b + i, 8);
        sum += x;
    }
    for (; i < len; i++)
        sum += b[i];
    return sum;
}

/* Scan callback: copies each record (reading every byte) so it can be verified after the timed region. */
static int scan_copy(void *arg, int64_t key, kv_slice v)
{
    kvb_worker *w = arg;
    if (w->nrec >= w->reccap)
        return 1;
    kvb_scan_rec *r = &w->recs[w->nrec];
    r->key = key;
    r->len = v.len;
    r->off = w->nrec * w->value_size;
    memcpy(w->scanbuf + r->off, v.data, v.len < w->value_size ? v.len : w->value_size);
    w->nrec++;
    return 0;
}

static int owned(const kvb_worker *w, uint64_t idx)
{
    return w->nthreads == 1 || idx % (uint64_t)w->nthreads == (uint64_t)w->thread;
}

static int present(const kvb_worker *w, uint64_t idx)
{
    return w->ds->versions[idx] != 0 && !w->ds->deleted[idx];
}

static void count(kvb_worker *w, enum kv_verdict v)
{
    w->ver.checked++;
    switch (v) {
    case KV_VALUE_OK: break;
    case KV_VALUE_WRONG: w->ver.wrong++; break;
    case KV_VALUE_STALE: w->ver.stale++; break;
    case KV_VALUE_MISSING: w->ver.missing++; break;
    case KV_VALUE_GHOST: w->ver.ghost++; break;
    }
}

static void verify_get(kvb_worker *w, const kv_op *op, int rc, kv_slice val, kvb_window *win)
{
    uint32_t want = op->version;
    if (w->fault == KVB_FAULT_MISSING)
        rc = KV_NOTFOUND;
    else if (w->fault == KVB_FAULT_STALE) {
        want++; /* the genuine answer now looks one version old */
        if (win)
            win->committed = UINT32_MAX; /* ... or older than the window's start */
    }
    else if (w->fault == KVB_FAULT_WRONG && rc == KV_OK && val.len) {
        size_t n = val.len < w->value_size ? val.len : w->value_size;
        memcpy(w->valbuf, val.data, n);
        w->valbuf[n - 1] ^= 0x5a;
        val.data = w->valbuf;
        val.len = n;
    }
    w->fault = KVB_FAULT_NONE;
    if (win) {
        count(w, kvb_window_check(w->ds, w->seed, &w->vsize, op, *win, rc, val.data, val.len));
        return;
    }
    if (rc == KV_NOTFOUND) {
        count(w, KV_VALUE_MISSING);
        return;
    }
    count(w, kv_value_check_vs(w->seed, op->key, want, &w->vsize, val.data, val.len));
}

/* First sorted position with key >= k. */
static uint64_t lower_bound(const kvb_worker *w, int64_t k)
{
    uint64_t lo = 0, hi = w->nsorted;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (w->sorted[mid].key < k)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Keys owned by other threads may change under us: only their bytes are checked (any version). */
static void verify_scan_rec(kvb_worker *w, const kvb_scan_rec *r, uint64_t idx, uint32_t bump)
{
    const unsigned char *data = w->scanbuf + r->off;
    size_t len = r->len <= w->value_size ? r->len : w->value_size + 1; /* too long: wrong anyway */
    if (len > w->value_size) {
        count(w, KV_VALUE_WRONG);
        return;
    }
    if (w->shared) {
        count(w, kvb_shared_scan_rec(w->ds, w->seed, &w->vsize, r->key, idx, data, len, bump != 0));
        return;
    }
    if (!owned(w, idx)) {
        enum kv_verdict v = kv_value_check_vs(w->seed, r->key, UINT32_MAX, &w->vsize, data, len);
        count(w, v == KV_VALUE_STALE ? KV_VALUE_OK : v);
        return;
    }
    if (!present(w, idx)) {
        count(w, KV_VALUE_GHOST);
        return;
    }
    count(w, kv_value_check_vs(w->seed, r->key, w->ds->versions[idx] + bump, &w->vsize, data, len));
}

/* A present key this thread's scan must not skip. */
static int must_see(const kvb_worker *w, uint64_t idx)
{
    if (w->shared)
        return kvb_shared_must_see(w->ds, idx);
    return owned(w, idx) && present(w, idx);
}

/* Ascending keys >= start, each value right, no present key skipped, no absent key returned. */
static void verify_scan(kvb_worker *w, const kv_op *op)
{
    size_t first = 0;
    uint32_t bump = 0;
    if (w->fault == KVB_FAULT_MISSING && w->nrec)
        first = 1; /* drop the first record: the verifier must notice the skipped key */
    else if (w->fault == KVB_FAULT_STALE)
        bump = 1;
    else if (w->fault == KVB_FAULT_WRONG && w->nrec)
        w->scanbuf[w->recs[0].off] ^= 0x5a;
    w->fault = KVB_FAULT_NONE;
    uint64_t pos = lower_bound(w, op->key);
    for (size_t i = first; i < w->nrec; i++) {
        const kvb_scan_rec *r = &w->recs[i];
        if (r->key < op->key || (i > first && r->key <= w->recs[i - 1].key)) {
            count(w, KV_VALUE_WRONG); /* out of order or before the start */
            continue;
        }
        while (pos < w->nsorted && w->sorted[pos].key < r->key) {
            if (must_see(w, w->sorted[pos].index))
                count(w, KV_VALUE_MISSING);
            pos++;
        }
        if (pos < w->nsorted && w->sorted[pos].key == r->key)
            verify_scan_rec(w, r, w->sorted[pos++].index, bump);
        else
            count(w, KV_VALUE_GHOST); /* a key never written by this run */
        bump = 0;
    }
    /* A short scan claims there is nothing more: any present key after it was skipped. */
    for (size_t left = op->scan_len - w->nrec; w->nrec < op->scan_len && left && pos < w->nsorted; pos++)
        if (must_see(w, w->sorted[pos].index)) {
            count(w, KV_VALUE_MISSING);
            left--;
        }
}

/* The get half of a read-modify-write: the copy in readbuf (rmw_len bytes, or rc not-found) is
 * checked against the version before the write, and the version the write derived from it must be
 * the one the op stream assigned. */
static void verify_rmw(kvb_worker *w, const kv_op *op, int rc)
{
    kv_op get = *op;
    get.version = op->version - 1;
    if (w->shared && w->rmw_was_deleted && rc == KV_NOTFOUND && w->fault == KVB_FAULT_NONE) {
        count(w, KV_VALUE_OK); /* deleted before this write's turn: not-found was the answer */
        return;
    }
    verify_get(w, &get, rc, (kv_slice){w->readbuf, w->rmw_len}, NULL);
    if (rc == KV_OK && w->rmw_wrote != op->version)
        count(w, KV_VALUE_WRONG); /* the value read named another version, so the write did too */
}

/* Get, copy the value (reading every byte, as a client that modifies it must), derive the next
 * version from the copy's header and put it. The value of the expected next version was made before
 * the timed region; it is remade only when the read named another version. */
static int rmw(kvb_worker *w, const kv_op *op)
{
    kv_slice val = {NULL, 0};
    int rc = w->ops->get(w->s, op->key, &val);
    if (rc < 0)
        return rc;
    uint32_t next = op->version;
    w->rmw_len = 0;
    if (rc == KV_OK) {
        w->rmw_len = val.len < w->value_size ? val.len : w->value_size;
        memcpy(w->readbuf, val.data, w->rmw_len);
        uint32_t read_version = 0;
        if (w->rmw_len >= KV_VALUE_MIN)
            memcpy(&read_version, w->readbuf + 8, 4);
        next = read_version + 1;
        if (next != op->version)
        {
            w->put_len = vlen(w, op->key, next);
            kv_value_make(w->seed, op->key, next, w->valbuf, w->put_len);
        }
    }
    w->rmw_wrote = next;
    int prc = w->ops->put(w->s, op->key, w->valbuf, w->put_len);
    return prc < 0 ? prc : rc;
}

static int engine_error(kvb_worker *w, const char *what, int64_t key, int rc)
{
    snprintf(w->err, sizeof(w->err), "engine %s: %s key %lld failed: %s (%s)", w->ops->name, what,
             (long long)key, w->s->err[0] ? w->s->err : "no message", kv_strerror(rc));
    return -1;
}

int kvb_worker_op(kvb_worker *w, const kv_op *op, int timed)
{
    const kv_engine_ops *ops = w->ops;
    kv_session *s = w->s;
    kv_slice val = {NULL, 0};
    size_t visited = 0;
    int rc;
    uint64_t t0 = 0, t1 = 0;
    if (op->type == KV_OP_UPDATE || op->type == KV_OP_INSERT || op->type == KV_OP_RMW) {
        w->put_len = vlen(w, op->key, op->version);
        kv_value_make(w->seed, op->key, op->version, w->valbuf, w->put_len);
    }
    else if (op->type == KV_OP_SCAN)
        w->nrec = 0;
    /* Shared keys: a write waits (untimed) for its turn, so writes of a key reach the engine in
     * version order; a get notes what was committed when it started. */
    kvb_window win = {0, 0};
    if (w->shared) {
        kv_shared_write_begin(w->ds, op);
        if (op->type == KV_OP_GET)
            win = kvb_window_open(w->ds, op->index);
        else if (op->type == KV_OP_RMW)
            w->rmw_was_deleted = kv_shared_deleted(w->ds, op->index);
    }
    if (timed)
        t0 = kvb_now();
    switch (op->type) {
    case KV_OP_GET:
        rc = ops->get(s, op->key, &val);
        if (rc == KV_OK)
            w->sink += touch(val.data, val.len);
        break;
    case KV_OP_UPDATE:
    case KV_OP_INSERT: rc = ops->put(s, op->key, w->valbuf, w->put_len); break;
    case KV_OP_DELETE: rc = ops->del(s, op->key); break;
    case KV_OP_SCAN: rc = ops->scan(s, op->key, op->scan_len, scan_copy, w, &visited); break;
    case KV_OP_RMW: rc = rmw(w, op); break;
    default: rc = KV_EINTERNAL; break;
    }
    if (timed) {
        t1 = kvb_now();
        uint64_t ns = kvb_ticks_to_ns(t1 - t0);
        kvb_hist_record(w->all, ns);
        kvb_hist_record(w->by_op[op->type], ns);
        if (w->intended)
            kvb_openloop_record(w->ol, op->type, w->intended, t0, t1, ns);
        if (w->iv)
            kvb_intervals_record(w->iv, t0, t1, w->intended ? kvb_ticks_to_ns(t1 - w->intended) : ns);
    }
    if (w->shared)
        kv_shared_write_end(w->ds, op); /* also on failure: later writers of the key must not wait forever */
    if (rc < 0)
        return engine_error(w, kv_optype_name(op->type), op->key, rc);
    if (!w->verify)
        return 0;
    if (op->type == KV_OP_GET)
        verify_get(w, op, rc, val, w->shared ? &win : NULL);
    else if (op->type == KV_OP_SCAN)
        verify_scan(w, op);
    else if (op->type == KV_OP_RMW)
        verify_rmw(w, op, rc);
    return 0;
}

uint64_t kvb_value_digest(const void *p, size_t len)
{
    const unsigned char *b = p;
    uint64_t a = len, sum = 0;
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t x;
        memcpy(&x, b + i, 8);
        a += x;
        sum += a;
    }
    uint64_t tail = 0;
    memcpy(&tail, b + i, len - i);
    a += tail;
    sum += a;
    return a ^ kv_mix64(sum);
}

/* Length, header version and digest of what a get returned (reads every byte). */
static void record_answer(kvb_answer *ans, int rc, kv_slice val)
{
    if (rc != KV_OK) {
        *ans = (kvb_answer){0, KVB_ANSWER_NOTFOUND, 0};
        return;
    }
    uint32_t version = 0;
    if (val.len >= KV_VALUE_MIN)
        memcpy(&version, (const unsigned char *)val.data + 8, 4);
    *ans = (kvb_answer){kvb_value_digest(val.data, val.len),
                        val.len < KVB_ANSWER_NOTFOUND ? (uint32_t)val.len : KVB_ANSWER_NOTFOUND - 1, version};
}

int kvb_worker_op_untimed(kvb_worker *w, const kv_op *op, const unsigned char *value, kvb_answer *ans)
{
    const kv_engine_ops *ops = w->ops;
    kv_session *s = w->s;
    kv_slice val = {NULL, 0};
    size_t visited = 0;
    int rc;
    if (w->shared) /* writes of a shared key reach the engine in version order (workload.h) */
        kv_shared_write_begin(w->ds, op);
    switch (op->type) {
    case KV_OP_GET:
        rc = ops->get(s, op->key, &val);
        record_answer(ans, rc, val);
        break;
    case KV_OP_RMW: /* as rmw(): the next version comes from the header read */
        rc = ops->get(s, op->key, &val);
        if (rc < 0)
            break;
        record_answer(ans, rc, val);
        uint32_t next = rc == KV_OK ? ans->version + 1 : op->version;
        size_t len = vlen(w, op->key, next);
        if (!value || next != op->version) {
            kv_value_make(w->seed, op->key, next, w->valbuf, len);
            value = w->valbuf;
        }
        int prc = ops->put(s, op->key, value, len);
        rc = prc < 0 ? prc : rc;
        break;
    case KV_OP_UPDATE:
    case KV_OP_INSERT: {
        size_t len = vlen(w, op->key, op->version);
        if (!value) {
            kv_value_make(w->seed, op->key, op->version, w->valbuf, len);
            value = w->valbuf;
        }
        rc = ops->put(s, op->key, value, len);
        break;
    }
    case KV_OP_DELETE: rc = ops->del(s, op->key); break;
    case KV_OP_SCAN:
        w->nrec = 0;
        rc = ops->scan(s, op->key, op->scan_len, scan_copy, w, &visited);
        break;
    default: rc = KV_EINTERNAL; break;
    }
    if (w->shared)
        kv_shared_write_end(w->ds, op);
    if (rc < 0)
        return engine_error(w, kv_optype_name(op->type), op->key, rc);
    return 0;
}

void kvb_worker_count(kvb_worker *w, enum kv_verdict v)
{
    count(w, v);
}

void kvb_worker_check_scan(kvb_worker *w, const kv_op *op)
{
    verify_scan(w, op);
}

int kvb_worker_readback(kvb_worker *w, uint64_t limit, uint64_t *checked)
{
    const kv_dataset *ds = w->ds;
    uint64_t step = limit && ds->capacity > limit ? ds->capacity / limit : 1;
    *checked = 0;
    for (uint64_t i = 0; i < ds->capacity; i += step) {
        kv_slice val = {NULL, 0};
        int64_t key = ds->keys[i];
        int rc = w->ops->get(w->s, key, &val);
        if (rc < 0)
            return engine_error(w, "read-back get", key, rc);
        (*checked)++;
        if (!ds->versions[i] || ds->deleted[i])
            count(w, rc == KV_OK ? KV_VALUE_GHOST : KV_VALUE_OK);
        else if (rc == KV_NOTFOUND)
            count(w, KV_VALUE_MISSING);
        else
            count(w, kv_value_check_vs(w->seed, key, ds->versions[i], &w->vsize, val.data, val.len));
    }
    return 0;
}

int kvb_worker_load(kvb_worker *w, uint64_t from, uint64_t to)
{
    kv_dataset *ds = w->ds;
    uint64_t step = (uint64_t)w->nthreads;
    uint64_t i = from + ((uint64_t)w->thread + step - from % step) % step;
    for (; i < to; i += step) {
        kv_op op = {.type = KV_OP_INSERT, .version = 1, .key = ds->keys[i], .index = i};
        if (kvb_worker_op(w, &op, w->all != NULL) != 0)
            return -1;
        ds->versions[i] = 1;
        ds->deleted[i] = 0;
    }
    return 0;
}
