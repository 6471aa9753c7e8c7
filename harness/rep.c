/* rep.c - the body of a repetition: data set, engine, workers, phases, then the result JSON. */
#include "rep.h"

#include "env.h"
#include "keyinfo.h"
#include "pages.h"
#include "phase.h"
#include "result.h"
#include "timer.h"

#include <errno.h>
#include <math.h>

/* Keys read back (spread over the data set) after the phases: every write workload gets verified. */
#define KVB_READBACK_KEYS 20000
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct rep_ctx {
    const kvb_rep *rep;
    const kvb_opts *o;
    const kv_engine_ops *ops;
    kv_dataset *ds;
    kvb_sorted_key *sorted;
    kv_engine *eng;
    kvb_worker *w;
    int nthreads;
    kvb_perf perf;
    kvb_intervals *iv;       /* per thread, under --interval */
    kvb_phase_result phases[4];
    int nphases;
    enum kv_durability load_durability;
    uint64_t readback; /* keys read back after the phases */
    kvb_pages_sample pages_load, pages_measured; /* after load (+ settle), after the measured phase */
    int has_pages_measured;
    json_t *lsm; /* LSM levels after settle, NULL for other engines */
    uint64_t settle_ns; /* time the engine's settle hook took (untimed work before the measured phase) */
    int settled;
    kvb_hardness hardness;
    int keys_cached; /* the generated keys came from the key cache under --dir */
    int bulk_loaded; /* the load phase used bulk_load */
    char err[1024];
} rep_ctx;

static int cmp_sorted(const void *a, const void *b)
{
    int64_t x = ((const kvb_sorted_key *)a)->key, y = ((const kvb_sorted_key *)b)->key;
    return x < y ? -1 : x > y;
}

/* Inserts the op streams of one workload may need over warm-up + both passes, with slack for the
 * random mix. */
static uint64_t workload_inserts(const kvb_rep *r, const kv_workload *w, uint64_t ops, int nthreads)
{
    double p = w->mix[KV_OP_INSERT];
    if (p <= 0 || strcmp(w->name, "load") == 0)
        return 0;
    double total = (double)(r->warmup + 2 * ops);
    double per_thread = total / nthreads;
    return (uint64_t)(p * total) + (uint64_t)nthreads * (uint64_t)(8 * sqrt(per_thread) + 1000);
}

/* The insert pool of the repetition. Under --share-load it holds every workload's inserts: a later
 * workload's streams skip the pool keys earlier ones wrote (versions > 0), so no key is inserted twice. */
static uint64_t max_inserts(const kvb_rep *r, int nthreads)
{
    if (!r->nseq)
        return workload_inserts(r, r->workload, r->ops, nthreads);
    uint64_t sum = 0;
    for (int i = 0; i < r->nseq; i++)
        sum += workload_inserts(r, r->seq[i], r->seq_ops[i], nthreads);
    return sum;
}

/* Whether any workload of the repetition scans, and its longest scan (worker buffers are sized once). */
static int any_scans(const kvb_rep *r)
{
    if (!r->nseq)
        return r->workload->mix[KV_OP_SCAN] > 0;
    for (int i = 0; i < r->nseq; i++)
        if (r->seq[i]->mix[KV_OP_SCAN] > 0)
            return 1;
    return 0;
}

static uint32_t longest_scan(const kvb_rep *r)
{
    uint32_t m = r->workload->scan_len;
    for (int i = 0; i < r->nseq; i++)
        if (r->seq[i]->scan_len > m)
            m = r->seq[i]->scan_len;
    return m;
}

static int open_engine(rep_ctx *c, enum kv_durability d)
{
    kv_option opts[KVB_MAX_OPTS];
    kv_config cfg = {.dir = c->rep->data_dir, .durability = d, .expected_keys = c->rep->n,
                     .value_size = c->o->value_size, .threads = c->nthreads, .opts = opts,
                     .nopts = kvb_engine_opts(c->o, c->ops, opts), .pages = c->o->pages};
    char err[512] = "";
    int rc = kv_engine_open(c->ops, &cfg, &c->eng, err, sizeof(err));
    if (rc != KV_OK) {
        snprintf(c->err, sizeof(c->err), "engine %s: open %s failed: %s (%s)", c->ops->name, cfg.dir,
                 err[0] ? err : "no message", kv_strerror(rc));
        return -1;
    }
    for (int t = 0; t < c->nthreads; t++) {
        rc = c->ops->session_open(c->eng, &c->w[t].s);
        if (rc != KV_OK) {
            snprintf(c->err, sizeof(c->err), "engine %s: session_open failed: %s (%s)", c->ops->name,
                     c->eng->err, kv_strerror(rc));
            return -1;
        }
    }
    return 0;
}

static int close_engine(rep_ctx *c)
{
    if (!c->eng)
        return 0;
    for (int t = 0; t < c->nthreads; t++)
        if (c->w[t].s) {
            c->ops->session_close(c->w[t].s);
            c->w[t].s = NULL;
        }
    kv_engine *e = c->eng;
    c->eng = NULL;
    int rc = c->ops->close(e);
    if (rc != KV_OK) {
        /* the handle is gone: its message cannot be read any more, only the status */
        snprintf(c->err, sizeof(c->err), "engine %s: close failed: %s", c->ops->name, kv_strerror(rc));
        return -1;
    }
    return 0;
}

/* Under --rate every thread paces its timed pass at rate / T (the run's rate split evenly). */
static int setup_open_loop(rep_ctx *c)
{
    for (int t = 0; t < c->nthreads; t++) {
        kvb_worker *w = &c->w[t];
        w->ol = malloc(sizeof(*w->ol));
        if (!w->ol || kvb_openloop_init(w->ol) != 0) {
            snprintf(c->err, sizeof(c->err), "out of memory for the open-loop histograms");
            return -1;
        }
        kvb_pacer_init(&w->ol->pacer, c->rep->rate / c->nthreads, c->o->arrival, t, c->nthreads,
                       c->o->seed ^ ((uint64_t)c->rep->rep << 32));
    }
    return 0;
}

static int setup(rep_ctx *c)
{
    const kvb_rep *r = c->rep;
    uint64_t extra = max_inserts(r, c->nthreads);
    if (kvb_dataset_make(c->o, r->n, extra, c->rep->seed, &c->ds, &c->keys_cached) != 0) {
        snprintf(c->err, sizeof(c->err), "cannot create the data set of %llu keys (+%llu for inserts): out of "
                 "memory or bad parameters", (unsigned long long)r->n, (unsigned long long)extra);
        return -1;
    }
    if (kvb_hardness_get(c->o, c->ds, &c->hardness, c->err, sizeof(c->err)) != 0)
        return -1;
    c->hardness.keys_cached = c->keys_cached;
    if (any_scans(r)) {
        c->sorted = malloc(c->ds->capacity * sizeof(*c->sorted));
        if (!c->sorted) {
            snprintf(c->err, sizeof(c->err), "out of memory for the sorted key list");
            return -1;
        }
        for (uint64_t i = 0; i < c->ds->capacity; i++)
            c->sorted[i] = (kvb_sorted_key){c->ds->keys[i], i};
        qsort(c->sorted, c->ds->capacity, sizeof(*c->sorted), cmp_sorted);
    }
    c->w = calloc((size_t)c->nthreads, sizeof(*c->w));
    if (!c->w) {
        snprintf(c->err, sizeof(c->err), "out of memory");
        return -1;
    }
    for (int t = 0; t < c->nthreads; t++) {
        kvb_worker *w = &c->w[t];
        if (kvb_worker_init(w, c->o->value_size, longest_scan(r)) != 0) {
            snprintf(c->err, sizeof(c->err), "out of memory for worker buffers");
            return -1;
        }
        w->ops = c->ops, w->ds = c->ds, w->thread = t, w->nthreads = c->nthreads, w->seed = c->rep->seed;
        w->shared = r->workload->shared_keys;
        w->vsize = c->o->vsize;
        w->verify = !(c->ops->caps & KV_CAP_DISCARDS);
        w->sorted = c->sorted, w->nsorted = c->sorted ? c->ds->capacity : 0;
    }
    return r->rate > 0 ? setup_open_loop(c) : 0;
}

static const char *worker_error(rep_ctx *c)
{
    for (int t = 0; t < c->nthreads; t++)
        if (c->w[t].err[0])
            return c->w[t].err;
    return "unknown worker error";
}

static kvb_phase_result *new_phase(rep_ctx *c, const char *name, int timed, uint64_t ops)
{
    kvb_phase_result *p = &c->phases[c->nphases++];
    memset(p, 0, sizeof(*p));
    snprintf(p->name, sizeof(p->name), "%s", name);
    p->timed = timed;
    p->ops = ops;
    return p;
}

static void perf_end(rep_ctx *c, kvb_phase_result *p)
{
    kvb_perf_end(&c->perf, p->perf);
    p->has_perf = 1;
    for (int i = 0; i < KVB_PERF__COUNT; i++) /* keep the reason text alive with the phase */
        if (!p->perf[i].available) {
            snprintf(p->perf_reason[i], sizeof(p->perf_reason[i]), "%s",
                     p->perf[i].reason ? p->perf[i].reason : "unavailable");
            p->perf[i].reason = p->perf_reason[i];
        }
}

/* Values for bulk_load: version 1 of each key, written into one reused buffer. */
typedef struct bulk_arg {
    uint64_t seed;
    const kv_valsize *vs;
    unsigned char *buf;
} bulk_arg;

static kv_slice bulk_value(void *arg, int64_t key)
{
    bulk_arg *b = arg;
    size_t len = kv_value_len(b->vs, b->seed, key, 1);
    kv_value_make(b->seed, key, 1, b->buf, len);
    return (kv_slice){b->buf, len};
}

static int load_bulk(rep_ctx *c, kvb_phase_result *p)
{
    int64_t *keys = kv_dataset_sorted_loaded(c->ds);
    if (!keys) {
        snprintf(c->err, sizeof(c->err), "out of memory for the sorted keys of the bulk load");
        return -1;
    }
    bulk_arg b = {c->rep->seed, &c->o->vsize, c->w[0].valbuf};
    kvb_perf_begin(&c->perf);
    uint64_t t0 = kvb_monotonic_ns();
    int rc = c->ops->bulk_load(c->w[0].s, keys, c->rep->n, bulk_value, &b);
    p->elapsed_ns = kvb_monotonic_ns() - t0;
    perf_end(c, p);
    free(keys);
    if (rc != KV_OK) {
        snprintf(c->err, sizeof(c->err), "engine %s: bulk_load of %llu keys failed: %s (%s)", c->ops->name,
                 (unsigned long long)c->rep->n, c->w[0].s->err, kv_strerror(rc));
        return -1;
    }
    for (uint64_t i = 0; i < c->rep->n; i++)
        c->ds->versions[i] = 1, c->ds->deleted[i] = 0;
    p->bulk = 1;
    c->bulk_loaded = 1;
    return 0;
}

static int phase_load(rep_ctx *c)
{
    int bulk = c->o->bulk_load && (c->ops->caps & KV_CAP_BULK_LOAD);
    kvb_phase_result *p = new_phase(c, "load", !bulk, c->rep->n);
    if (bulk)
        return load_bulk(c, p);
    kvb_progress prog;
    char label[96];
    snprintf(label, sizeof(label), "%s %s n=%llu load", c->ops->name, c->rep->workload->name,
             (unsigned long long)c->rep->n);
    kvb_progress_start(&prog, label, c->rep->n, c->o->quiet);
    kvb_pass pass = {.kind = KVB_PASS_LOAD, .total = c->rep->n, .timed = 1, .progress = &prog,
                     .cpus = c->rep->cpus, .ncpus = c->rep->ncpus};
    kvb_perf_begin(&c->perf);
    int rc = kvb_pass_run(c->w, c->nthreads, &pass, &p->elapsed_ns);
    perf_end(c, p);
    if (rc != 0) {
        snprintf(c->err, sizeof(c->err), "%s", worker_error(c));
        return -1;
    }
    return kvb_phase_take_hists(p, c->w, c->nthreads);
}

/* Persistent engines load without fsync, then sync, close and reopen at the requested level. */
static int switch_durability(rep_ctx *c)
{
    if (c->load_durability == c->o->durability)
        return 0;
    if (c->ops->sync) {
        int rc = c->ops->sync(c->w[0].s);
        if (rc != KV_OK) {
            snprintf(c->err, sizeof(c->err), "engine %s: sync after load failed: %s (%s)", c->ops->name,
                     c->w[0].s->err, kv_strerror(rc));
            return -1;
        }
    }
    if (close_engine(c) != 0)
        return -1;
    return open_engine(c, c->o->durability);
}

/* The injected fault (--inject-fault) of this workload: under --share-load only the last one gets it,
 * so the workloads before it show that the carried-over state verifies clean. */
static enum kvb_fault fault_here(const rep_ctx *c)
{
    return !c->rep->nseq || c->rep->seq_pos == c->rep->nseq - 1 ? c->o->fault : KVB_FAULT_NONE;
}

static int make_streams(rep_ctx *c)
{
    for (int t = 0; t < c->nthreads; t++) {
        if (c->w[t].stream) /* the previous workload's (--share-load); the data set keeps its state */
            kv_opstream_free(c->w[t].stream);
        c->w[t].stream = NULL;
        c->w[t].shared = c->rep->workload->shared_keys;
    }
    for (int t = 0; t < c->nthreads; t++)
        if (kv_opstream_create(&c->w[t].stream, c->ds, c->rep->workload, c->rep->workload->access, c->o->theta, t,
                               c->nthreads, c->rep->seed) != 0) {
            snprintf(c->err, sizeof(c->err), "cannot create the op stream of workload %s (thread %d)",
                     c->rep->workload->name, t);
            return -1;
        }
    return 0;
}

static int ops_pass(rep_ctx *c, const char *what, uint64_t total, int timed, uint64_t duration_ns,
                    kvb_plan *plans, uint64_t *elapsed)
{
    kvb_progress prog;
    char label[96];
    snprintf(label, sizeof(label), "%s %s n=%llu %s", c->ops->name, c->rep->workload->name,
             (unsigned long long)c->rep->n, what);
    kvb_progress_start(&prog, label, total, c->o->quiet);
    kvb_pass pass = {.kind = KVB_PASS_OPS, .total = total, .timed = timed, .duration_ns = duration_ns,
                     .progress = &prog, .plans = plans, .cpus = c->rep->cpus, .ncpus = c->rep->ncpus};
    if (kvb_pass_run(c->w, c->nthreads, &pass, elapsed) != 0) {
        snprintf(c->err, sizeof(c->err), "%s", worker_error(c));
        return -1;
    }
    return 0;
}

/* The throughput pass: ops generated before it, answers checked after it, so its time is the engine's
 * (and reading every byte of each value). */
static int untimed_pass(rep_ctx *c, kvb_phase_result *p)
{
    kvb_untimed u;
    if (kvb_untimed_prepare(&u, c->w, c->nthreads, p->ops, c->err, sizeof(c->err)) != 0) {
        kvb_untimed_free(&u);
        return -1;
    }
    if (c->o->fault_untimed)
        c->w[0].fault = fault_here(c);
    int rc = ops_pass(c, "untimed", p->ops, 0, 0, u.plans, &p->untimed_elapsed_ns);
    if (rc == 0) {
        kvb_untimed_check(&u, c->w);
        p->has_untimed = 1;
        p->untimed_plan_bytes = u.bytes;
        p->untimed_scan_every = u.scan_every;
        p->untimed_values_pregenerated = u.values_pregenerated;
    }
    kvb_untimed_free(&u);
    return rc;
}

/* Merge the threads' response/lag histograms and say loudly when the offered load was too high. */
static int take_open_loop(rep_ctx *c, kvb_phase_result *p)
{
    kvb_openloop *per[c->nthreads];
    for (int t = 0; t < c->nthreads; t++)
        per[t] = c->w[t].ol;
    p->open_loop = calloc(1, sizeof(*p->open_loop));
    if (!p->open_loop || kvb_openloop_summarize(p->open_loop, per, c->nthreads, c->rep->rate, c->o->arrival,
                                                p->ops, p->elapsed_ns) != 0) {
        snprintf(c->err, sizeof(c->err), "out of memory merging the open-loop histograms");
        return -1;
    }
    if (p->open_loop->saturated)
        printf("SATURATED: %s %s n=%llu rep %d at --rate %.0f ops/s: %s; its response times include waiting "
               "behind the backlog\n", c->ops->name, c->rep->workload->name, (unsigned long long)c->rep->n,
               c->rep->rep, c->rep->rate, p->open_loop->reason);
    return 0;
}

/* --interval: each thread records the timed pass into its own series. */
static int start_intervals(rep_ctx *c)
{
    if (!c->o->interval_ms)
        return 0;
    c->iv = calloc((size_t)c->nthreads, sizeof(*c->iv));
    if (!c->iv) {
        snprintf(c->err, sizeof(c->err), "out of memory for the interval series");
        return -1;
    }
    for (int t = 0; t < c->nthreads; t++) {
        kvb_intervals_init(&c->iv[t], c->o->interval_ms);
        c->w[t].iv = &c->iv[t];
    }
    return 0;
}

/* Merge the threads' series into the phase and write it as CSV beside the result JSON. */
static int take_intervals(rep_ctx *c, kvb_phase_result *p)
{
    kvb_intervals *per[c->nthreads];
    for (int t = 0; t < c->nthreads; t++)
        per[t] = &c->iv[t];
    kvb_iv_series *s = p->series = calloc(1, sizeof(*s));
    if (!s || kvb_intervals_merge(per, c->nthreads, c->o->interval_ms, p->elapsed_ns, &s->rows, &s->n,
                                  &s->dropped) != 0) {
        snprintf(c->err, sizeof(c->err), "out of memory merging the interval series");
        return -1;
    }
    s->width_ms = c->o->interval_ms;
    s->response = c->rep->rate > 0;
    const char *path = c->rep->result_path;
    char csv[4400];
    snprintf(csv, sizeof(csv), "%.*s-intervals.csv", (int)(strlen(path) - 5), path); /* drop ".json" */
    const char *base = strrchr(csv, '/') ? strrchr(csv, '/') + 1 : csv;
    snprintf(s->csv, sizeof(s->csv), "%.*s", (int)(sizeof(s->csv) - 1), base);
    char err[600];
    if (kvb_intervals_write_csv(csv, s->rows, s->n, err, sizeof(err)) != 0) {
        snprintf(c->err, sizeof(c->err), "%s", err);
        return -1;
    }
    return 0;
}

static int phase_measured(rep_ctx *c)
{
    const kvb_rep *r = c->rep;
    if (make_streams(c) != 0)
        return -1;
    if (r->warmup) {
        kvb_phase_result *wu = new_phase(c, "warmup", 0, r->warmup);
        kvb_perf_begin(&c->perf);
        if (ops_pass(c, "warm-up", r->warmup, 0, 0, NULL, &wu->elapsed_ns) != 0)
            return -1;
        perf_end(c, wu);
    }
    kvb_phase_result *p = new_phase(c, r->workload->name, 1, r->ops);
    /* the self-test corrupts the first verified answer of the pass it names */
    c->w[0].fault = c->o->fault_untimed ? KVB_FAULT_NONE : fault_here(c);
    if (start_intervals(c) != 0)
        return -1;
    kvb_perf_begin(&c->perf);
    uint64_t duration_ns = (uint64_t)(c->o->duration_s * 1e9);
    int rc = ops_pass(c, "timed", r->ops, 1, duration_ns, NULL, &p->elapsed_ns);
    for (int t = 0; t < c->nthreads; t++)
        c->w[t].iv = NULL;
    if (rc != 0)
        return -1;
    perf_end(c, p);
    if (duration_ns) { /* the op count is what the threads managed in the time */
        p->ops = 0;
        for (int t = 0; t < c->nthreads; t++)
            p->ops += c->w[t].done;
        p->duration_capped = p->ops >= r->ops;
        if (p->duration_capped && !c->o->quiet)
            fprintf(stderr, "kvbench: note: %s %s ran its %llu-op cap before --duration ended (the cap sizes the "
                    "insert pool; see results/SCHEMA.md)\n", c->ops->name, r->workload->name,
                    (unsigned long long)r->ops);
    }
    if (kvb_phase_take_hists(p, c->w, c->nthreads) != 0 || (r->rate > 0 && take_open_loop(c, p) != 0) ||
        (c->iv && take_intervals(c, p) != 0))
        return -1;
    return untimed_pass(c, p);
}

/* Untimed: the engine reaches the state a long-running store would be in (engines/README.md). */
static int phase_settle(rep_ctx *c)
{
    int (*settle)(kv_engine *) = KV_ENGINE_SETTLE(c->ops);
    if (!settle)
        return 0;
    uint64_t t0 = kvb_monotonic_ns();
    int rc = settle(c->eng);
    c->settle_ns = kvb_monotonic_ns() - t0;
    c->settled = 1;
    if (rc != KV_OK) {
        snprintf(c->err, sizeof(c->err), "engine %s: settle before the measured phase failed: %s (%s)",
                 c->ops->name, c->eng->err, kv_strerror(rc));
        return -1;
    }
    return 0;
}

static int run_load(rep_ctx *c)
{
    int persistent = (c->ops->caps & KV_CAP_PERSISTENT) != 0;
    c->load_durability = persistent ? KV_DUR_NONE : c->o->durability;
    if (setup(c) != 0 || open_engine(c, c->load_durability) != 0)
        return -1;
    kvb_perf_open(&c->perf);
    return phase_load(c) != 0 || switch_durability(c) != 0 ? -1 : 0;
}

/* Settle, the measured phase of c->rep->workload, and the read-back, on the loaded store. */
static int run_workload(rep_ctx *c)
{
    int measured = strcmp(c->rep->workload->name, "load") != 0;
    if (measured && phase_settle(c) != 0)
        return -1;
    kvb_pages_sample_now(&c->pages_load);
    if (measured && c->ops->stats)
        c->lsm = kvb_result_lsm(c->eng); /* the shape the measured phase starts from */
    if (measured) {
        if (phase_measured(c) != 0)
            return -1;
        kvb_pages_sample_now(&c->pages_measured);
        c->has_pages_measured = 1;
    }
    if (c->w[0].verify && kvb_worker_readback(&c->w[0], KVB_READBACK_KEYS, &c->readback) != 0) {
        snprintf(c->err, sizeof(c->err), "%s", c->w[0].err);
        return -1;
    }
    return 0;
}

static int run_phases(rep_ctx *c)
{
    return run_load(c) != 0 ? -1 : run_workload(c);
}

static void free_ctx(rep_ctx *c)
{
    for (int t = 0; c->w && t < c->nthreads; t++) {
        if (c->w[t].stream)
            kv_opstream_free(c->w[t].stream);
        if (c->w[t].ol) {
            kvb_openloop_free(c->w[t].ol);
            free(c->w[t].ol);
        }
        kvb_worker_free(&c->w[t]);
    }
    free(c->w);
    for (int t = 0; c->iv && t < c->nthreads; t++)
        kvb_intervals_free(&c->iv[t]);
    free(c->iv);
    free(c->sorted);
    for (int i = 0; i < c->nphases; i++)
        kvb_phase_free(&c->phases[i]);
    if (c->ds)
        kv_dataset_free(c->ds);
    kvb_perf_close(&c->perf);
}

/* Write the result of c->rep from the state the phases left; close the engine first when last.
 * failed: a phase failed (message in c->err). Returns a KVB_EXIT_* code. */
static int finish_result(rep_ctx *c, int failed, int last)
{
    kvb_result res = {.rep = c->rep, .phases = c->phases, .nphases = c->nphases,
                      .load_durability = c->load_durability, .readback = c->readback,
                      .pages_load = c->pages_load, .pages_measured = c->pages_measured,
                      .has_pages_measured = c->has_pages_measured, .lsm = c->lsm,
                      .settled = c->settled, .settle_ns = c->settle_ns,
                      .hardness = c->ds ? &c->hardness : NULL, .bulk_loaded = c->bulk_loaded};
    for (int t = 0; c->w && t < c->nthreads; t++) {
        kvb_verify *v = &c->w[t].ver;
        res.ver.checked += v->checked, res.ver.wrong += v->wrong, res.ver.missing += v->missing;
        res.ver.stale += v->stale, res.ver.ghost += v->ghost;
        res.sink += c->w[t].sink;
    }
    res.verify_skipped = (c->ops->caps & KV_CAP_DISCARDS) != 0;
    int code = KVB_EXIT_OK;
    if (!failed && c->eng) {
        res.engine_config = kvb_result_engine_pairs(c->eng, 0);
        res.engine_stats = kvb_result_engine_pairs(c->eng, 1);
    }
    if (last && close_engine(c) != 0)
        failed = 1;
    if (failed) {
        fprintf(stderr, "kvbench: %s\n", c->err);
        code = KVB_EXIT_ENGINE;
    } else {
        char err[512];
        int valid = 0;
        if (kvb_result_write(&res, &valid, err, sizeof(err)) != 0) {
            fprintf(stderr, "kvbench: %s\n", err);
            code = KVB_EXIT_ENGINE;
        } else if (!valid) {
            code = KVB_EXIT_INVALID;
        }
    }
    json_decref(res.engine_config);
    json_decref(res.engine_stats);
    return code;
}

/* Between two workloads of --share-load: what the next result reports starts from zero; the store, the
 * data set (versions, deletions, inserted pool keys) and the engine carry over. */
static void next_workload(rep_ctx *c)
{
    for (int i = 0; i < c->nphases; i++)
        kvb_phase_free(&c->phases[i]);
    c->nphases = 0;
    for (int t = 0; t < c->nthreads; t++) {
        memset(&c->w[t].ver, 0, sizeof(c->w[t].ver));
        c->w[t].sink = 0;
    }
    for (int t = 0; c->iv && t < c->nthreads; t++)
        kvb_intervals_free(&c->iv[t]);
    free(c->iv);
    c->iv = NULL;
    json_decref(c->lsm);
    c->lsm = NULL;
    c->readback = 0, c->settled = 0, c->settle_ns = 0, c->has_pages_measured = 0;
}

/* --share-load: one load, then every workload of the sequence in turn, one result each. */
static int run_sequence(rep_ctx *c, const kvb_rep *rep)
{
    kvb_rep cur = *rep;
    cur.workload = rep->seq[0], cur.ops = rep->seq_ops[0], cur.result_path = rep->seq_paths[0], cur.seq_pos = 0;
    c->rep = &cur;
    int failed = run_load(c) != 0, code = KVB_EXIT_OK;
    for (int i = 0; i < rep->nseq; i++) {
        if (i > 0) {
            next_workload(c);
            cur.workload = rep->seq[i], cur.ops = rep->seq_ops[i], cur.result_path = rep->seq_paths[i];
            cur.seq_pos = i;
        }
        failed = failed || run_workload(c) != 0;
        int rc = finish_result(c, failed, failed || i == rep->nseq - 1);
        if (rc == KVB_EXIT_INVALID) /* wrong answers: the next workloads still run and verify */
            code = KVB_EXIT_INVALID;
        else if (rc != KVB_EXIT_OK)
            return rc;
    }
    return code;
}

int kvb_rep_run(const kvb_rep *rep)
{
    rep_ctx c;
    memset(&c, 0, sizeof(c));
    for (int i = 0; i < KVB_PERF__COUNT; i++)
        c.perf.fd[i] = -1;
    c.rep = rep, c.o = rep->o, c.ops = rep->engine, c.nthreads = rep->o->threads;
    int failed = 0, code;
    if (kvb_pages_enter_rep(rep->o->pages) != 0) {
        snprintf(c.err, sizeof(c.err), "--pages 4k: prctl(PR_SET_THP_DISABLE) failed: %s", strerror(errno));
        failed = 1;
    }
    if (rep->nseq && !failed)
        code = run_sequence(&c, rep);
    else
        code = finish_result(&c, failed || run_phases(&c) != 0, 1);
    close_engine(&c); /* after an engine error mid-sequence; a no-op otherwise */
    json_decref(c.lsm);
    free_ctx(&c);
    return code;
}
