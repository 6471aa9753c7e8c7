/* result.c - turns a repetition's phases, verification counts and manifest into its result JSON. */
#include "result.h"

#include "env.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static void pair_cb(void *arg, const char *name, const char *value)
{
    json_object_set_new((json_t *)arg, name, json_string(value ? value : ""));
}

json_t *kvb_result_engine_pairs(kv_engine *e, int stats)
{
    json_t *o = json_object();
    const kv_engine_ops *ops = e->ops;
    if (!stats) {
        ops->describe(e, pair_cb, o);
        return o;
    }
    if (ops->stats)
        ops->stats(e, pair_cb, o);
    uint64_t bytes = 0;
    if (ops->disk_bytes && ops->disk_bytes(e, &bytes) == KV_OK) {
        char buf[32];
        snprintf(buf, sizeof(buf), "%llu", (unsigned long long)bytes);
        json_object_set_new(o, "disk_bytes", json_string(buf));
    }
    return o;
}

/* stats() pairs named lsm.L<level>.files / lsm.L<level>.bytes, gathered per level. */
static void lsm_cb(void *arg, const char *name, const char *value)
{
    int level;
    char what[8];
    unsigned long long v;
    if (!value || sscanf(name, "lsm.L%d.%7s", &level, what) != 2 || level < 0 || level > 63 ||
        sscanf(value, "%llu", &v) != 1)
        return;
    json_t *levels = arg;
    while (json_array_size(levels) <= (size_t)level)
        json_array_append_new(levels, json_pack("{s:i, s:I, s:I}", "level", (int)json_array_size(levels), "files",
                                                (json_int_t)0, "bytes", (json_int_t)0));
    if (strcmp(what, "files") == 0 || strcmp(what, "bytes") == 0)
        json_object_set_new(json_array_get(levels, (size_t)level), what, json_integer((json_int_t)v));
}

json_t *kvb_result_lsm(kv_engine *e)
{
    json_t *levels = json_array();
    if (e->ops->stats)
        e->ops->stats(e, lsm_cb, levels);
    if (json_array_size(levels) == 0) {
        json_decref(levels);
        return NULL;
    }
    return levels;
}

static void bucket_cb(void *arg, uint64_t lo, uint64_t hi, uint64_t count)
{
    json_array_append_new((json_t *)arg, json_pack("[I, I, I]", (json_int_t)lo, (json_int_t)hi, (json_int_t)count));
}

json_t *kvb_result_latency(const kvb_hist *h)
{
    json_t *buckets = json_array();
    kvb_hist_foreach(h, bucket_cb, buckets);
    return json_pack("{s:I, s:I, s:f, s:I, s:I, s:I, s:I, s:I, s:{s:s, s:i, s:o}}",
                     "count", (json_int_t)h->count, "min_ns", (json_int_t)(h->count ? h->min : 0),
                     "mean_ns", kvb_hist_mean(h), "p50_ns", (json_int_t)kvb_hist_percentile(h, 50),
                     "p90_ns", (json_int_t)kvb_hist_percentile(h, 90),
                     "p99_ns", (json_int_t)kvb_hist_percentile(h, 99),
                     "p999_ns", (json_int_t)kvb_hist_percentile(h, 99.9), "max_ns", (json_int_t)h->max,
                     "histogram", "unit", "ns", "sub_bucket_count", (int)KVB_HIST_SUB_COUNT, "buckets", buckets);
}

static json_t *perf_json(const kvb_phase_result *p)
{
    json_t *o = json_object();
    for (int i = 0; i < KVB_PERF__COUNT; i++) {
        const kvb_perf_value *v = &p->perf[i];
        json_t *c = v->available
                        ? json_pack("{s:b, s:I, s:b}", "available", 1, "value", (json_int_t)v->value, "scaled",
                                    v->scaled)
                        : json_pack("{s:b, s:s}", "available", 0, "reason", v->reason ? v->reason : "unavailable");
        json_object_set_new(o, kvb_perf_name((enum kvb_perf_id)i), c);
    }
    return o;
}

static double per_sec(uint64_t ops, uint64_t ns)
{
    return ns ? (double)ops * 1e9 / (double)ns : 0.0;
}

/* Under --rate: `latency` stays the service time (from the actual start); response time (from the
 * intended start) and the start lag get their own objects. */
static void add_open_loop(json_t *o, const kvb_ol_summary *s)
{
    json_object_set_new(o, "latency_response", kvb_result_latency(s->response));
    json_t *by = json_object();
    for (int k = 0; k < KV_OP__COUNT; k++)
        if (s->response_by_op[k])
            json_object_set_new(by, kv_optype_name((enum kv_optype)k), kvb_result_latency(s->response_by_op[k]));
    json_object_set_new(o, "by_op_response", by);
    json_t *lag = json_pack("{s:I, s:f, s:I, s:I, s:I, s:I}", "count", (json_int_t)s->lag->count, "mean_ns",
                            kvb_hist_mean(s->lag), "p50_ns", (json_int_t)kvb_hist_percentile(s->lag, 50),
                            "p99_ns", (json_int_t)kvb_hist_percentile(s->lag, 99), "max_ns",
                            (json_int_t)s->lag->max, "end_ns", (json_int_t)s->lag_end_ns);
    json_object_set_new(o, "open_loop",
                        json_pack("{s:f, s:f, s:s, s:f, s:b, s:s, s:o, s:I}", "offered_ops_per_sec", s->offered,
                                  "offered_ops_per_sec_per_thread", s->offered / (s->threads ? s->threads : 1),
                                  "arrival", kvb_arrival_name(s->arrival), "achieved_ops_per_sec", s->achieved,
                                  "saturated", s->saturated, "saturation_reason", s->reason, "lag", lag,
                                  "response_below_service", (json_int_t)s->below_service));
}

/* --interval: one row per interval of the timed pass, columns named once. */
static json_t *series_json(const kvb_iv_series *s)
{
    json_t *rows = json_array();
    for (size_t i = 0; i < s->n; i++) {
        const kvb_iv_row *r = &s->rows[i];
        json_array_append_new(rows, json_pack("[f, f, I, f, I, I, I]", r->t_start_s, r->t_end_s, (json_int_t)r->ops,
                                              r->ops_per_sec, (json_int_t)r->p50_ns, (json_int_t)r->p99_ns,
                                              (json_int_t)r->max_ns));
    }
    return json_pack("{s:I, s:s, s:I, s:s, s:[s,s,s,s,s,s,s], s:o}", "interval_ms", (json_int_t)s->width_ms,
                     "latency", s->response ? "response" : "service", "dropped_ops", (json_int_t)s->dropped, "csv",
                     s->csv, "columns", "t_start_s", "t_end_s", "ops", "ops_per_sec", "p50_ns", "p99_ns", "max_ns",
                     "rows", rows);
}

static json_t *phase_json(const kvb_phase_result *p)
{
    json_t *o = json_pack("{s:s, s:b, s:I, s:I, s:f, s:f}", "name", p->name, "timed", p->timed, "ops",
                          (json_int_t)p->ops, "elapsed_ns", (json_int_t)p->elapsed_ns, "ns_per_op",
                          p->ops ? (double)p->elapsed_ns / (double)p->ops : 0.0, "ops_per_sec",
                          per_sec(p->ops, p->elapsed_ns));
    json_object_set_new(o, "ops_per_sec_untimed",
                        p->has_untimed ? json_real(per_sec(p->ops, p->untimed_elapsed_ns)) : json_null());
    json_object_set_new(o, "untimed_elapsed_ns",
                        p->has_untimed ? json_integer((json_int_t)p->untimed_elapsed_ns) : json_null());
    json_object_set_new(o, "harness_ns_per_op",
                        p->has_untimed && p->ops
                            ? json_real(((double)p->elapsed_ns - (double)p->untimed_elapsed_ns) / (double)p->ops)
                            : json_null());
    json_object_set_new(o, "untimed_plan",
                        p->has_untimed
                            ? json_pack("{s:s, s:I, s:I, s:b}", "checks", "after the pass", "plan_bytes",
                                        (json_int_t)p->untimed_plan_bytes, "scan_check_every",
                                        (json_int_t)p->untimed_scan_every, "values_pregenerated",
                                        p->untimed_values_pregenerated)
                            : json_null());
    json_object_set_new(o, "bulk", json_boolean(p->bulk));
    json_object_set_new(o, "latency", p->all ? kvb_result_latency(p->all) : json_null());
    json_t *by = json_object();
    for (int k = 0; k < KV_OP__COUNT; k++)
        if (p->by_op[k])
            json_object_set_new(by, kv_optype_name((enum kv_optype)k), kvb_result_latency(p->by_op[k]));
    json_object_set_new(o, "by_op", by);
    if (p->open_loop)
        add_open_loop(o, p->open_loop);
    if (p->series)
        json_object_set_new(o, "intervals", series_json(p->series));
    json_object_set_new(o, "perf", p->has_perf ? perf_json(p) : json_null());
    return o;
}

static json_t *mix_json(const kv_workload *w)
{
    json_t *o = json_object();
    for (int k = 0; k < KV_OP__COUNT; k++)
        json_object_set_new(o, kv_optype_name((enum kv_optype)k), json_real(w->mix[k]));
    return o;
}

static json_t *pages_sample_json(const kvb_pages_sample *s)
{
    if (!s->ok)
        return json_null();
    return json_pack("{s:I, s:I, s:I}", "anon_huge_kb", (json_int_t)s->anon_huge_kb, "file_pmd_kb",
                     (json_int_t)s->file_pmd_kb, "shmem_pmd_kb", (json_int_t)s->shmem_pmd_kb);
}

/* The page policy asked for and what the kernel gave the repetition's process (smaps_rollup). */
static json_t *pages_json(const kvb_result *r)
{
    json_t *o = json_pack("{s:s, s:s}", "policy", kv_pages_name(r->rep->o->pages), "malloc_thp",
                          kvb_pages_malloc_thp());
    json_object_set_new(o, "after_load", pages_sample_json(&r->pages_load));
    json_object_set_new(o, "after_measured",
                        r->has_pages_measured ? pages_sample_json(&r->pages_measured) : json_null());
    return o;
}

/* How this cell was placed and run: seeds, position in the shuffled order, CPUs, machine load. */
static json_t *design_json(const kvb_rep *rep)
{
    const kvb_opts *o = rep->o;
    json_t *cpus = json_array();
    for (int i = 0; i < rep->ncpus; i++)
        json_array_append_new(cpus, json_integer(rep->cpus[i]));
    json_t *d = json_pack("{s:I, s:b, s:i, s:i, s:o, s:s, s:i}", "base_seed", (json_int_t)o->seed, "seed_per_rep",
                          o->seed_per_rep, "cell", rep->cell, "cells", rep->ncells, "cpus", cpus, "cpus_policy",
                          o->cpus_auto ? "auto" : o->ncpus ? "list" : "none", "settle_ms", (int)o->settle_ms);
    json_object_set_new(d, "loadavg_before", rep->loadavg[0] < 0 ? json_null()
                        : json_pack("[f, f, f]", rep->loadavg[0], rep->loadavg[1], rep->loadavg[2]));
    return d;
}

/* Why the run is invalid, or NULL. */
static const char *invalid_reason(const kvb_result *r, char *buf, size_t len)
{
    const kvb_verify *v = &r->ver;
    if (r->verify_skipped || !(v->wrong || v->missing || v->stale || v->ghost))
        return NULL;
    snprintf(buf, len, "verification failed: %llu wrong, %llu missing, %llu stale, %llu ghost of %llu checked",
             (unsigned long long)v->wrong, (unsigned long long)v->missing, (unsigned long long)v->stale,
             (unsigned long long)v->ghost, (unsigned long long)v->checked);
    return buf;
}

/* Top-level open-loop fields, so tables and figures need not dig into phases. */
static void add_rate(json_t *j, const kvb_result *r)
{
    const kvb_rep *rep = r->rep;
    const kvb_ol_summary *s = NULL;
    for (int i = 0; i < r->nphases; i++)
        if (r->phases[i].open_loop)
            s = r->phases[i].open_loop;
    json_object_set_new(j, "rate", rep->rate > 0 ? json_real(rep->rate) : json_null());
    json_object_set_new(j, "rate_pct", rep->rate_pct > 0 ? json_real(rep->rate_pct) : json_null());
    json_object_set_new(j, "arrival", rep->rate > 0 ? json_string(kvb_arrival_name(rep->o->arrival)) : json_null());
    json_object_set_new(j, "saturated", s ? json_boolean(s->saturated) : json_null());
    const kvb_opts *o = rep->o;
    json_object_set_new(j, "duration_s", o->duration_s > 0 ? json_real(o->duration_s) : json_null());
    json_object_set_new(j, "interval_ms", o->interval_ms ? json_integer((json_int_t)o->interval_ms) : json_null());
    if (o->duration_s > 0) /* the op count is what the timed pass managed, not the cap it was sized for */
        for (int i = 0; i < r->nphases; i++)
            if (r->phases[i].timed && strcmp(r->phases[i].name, "load") != 0) {
                json_object_set_new(j, "ops", json_integer((json_int_t)r->phases[i].ops));
                json_object_set_new(j, "duration_capped", json_boolean(r->phases[i].duration_capped));
            }
}

/* --share-load: the sequence this result is part of, its place in it, and the result that holds the
 * load phase (the first); null when the repetition loaded for this workload alone. */
static json_t *shared_load_json(const kvb_rep *rep)
{
    if (!rep->nseq)
        return json_null();
    json_t *names = json_array();
    for (int i = 0; i < rep->nseq; i++)
        json_array_append_new(names, json_string(rep->seq[i]->name));
    const char *first = rep->seq_paths[0], *slash = strrchr(first, '/');
    return json_pack("{s:o, s:i, s:s}", "workloads", names, "position", rep->seq_pos, "load_result",
                     slash ? slash + 1 : first);
}

static json_t *result_json(const kvb_result *r, int *valid)
{
    const kvb_rep *rep = r->rep;
    const kvb_opts *o = rep->o;
    char reason[256];
    const char *why = invalid_reason(r, reason, sizeof(reason));
    *valid = why == NULL;
    json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:I, s:I, s:I, s:i, s:i, s:s, s:s, s:s, s:f, "
                          "s:I, s:I, s:I, s:b, s:b, s:o}",
                          "schema", "kvbench-result/1", "run_id", rep->run_id, "engine", rep->engine->name,
                          "engine_version", rep->engine->lib_version(), "workload", rep->workload->name, "mix",
                          mix_json(rep->workload), "n", (json_int_t)rep->n, "ops", (json_int_t)rep->ops,
                          "warmup", (json_int_t)rep->warmup, "rep", rep->rep, "threads", o->threads,
                          "durability", kv_durability_name(o->durability), "load_durability",
                          kv_durability_name(r->load_durability), "access", kv_access_name(rep->workload->access),
                          "zipf_theta", o->theta, "value_size",
                          (json_int_t)o->value_size, "scan_len", (json_int_t)rep->workload->scan_len, "seed",
                          (json_int_t)rep->seed, "bulk_load", r->bulk_loaded, "valid", *valid,
                          "keyset", kvb_keyset_json(o, r->hardness));
    json_object_set_new(j, "invalid_reason", why ? json_string(why) : json_null());
    json_object_set_new(j, "key_space", json_string(rep->workload->shared_keys ? "shared" : "partitioned"));
    char vsbuf[64];
    json_object_set_new(j, "value_sizes", json_string(kv_valsize_str(&o->vsize, vsbuf, sizeof(vsbuf))));
    add_rate(j, r);
    json_object_set_new(j, "shared_load", shared_load_json(rep));
    int fault = o->fault && (!rep->nseq || rep->seq_pos == rep->nseq - 1); /* --share-load: the last only */
    json_object_set_new(j, "inject_fault", fault ? json_string(o->fault == KVB_FAULT_WRONG   ? "wrong"
                                                                  : o->fault == KVB_FAULT_STALE ? "stale"
                                                                                                : "missing")
                                                    : json_null());
    json_object_set_new(j, "inject_fault_pass", fault ? json_string(o->fault_untimed ? "untimed" : "timed")
                                                         : json_null());
    json_object_set_new(j, "design", design_json(rep));
    const kvb_verify *v = &r->ver;
    json_object_set_new(j, "verification",
                        json_pack("{s:I, s:I, s:I, s:I, s:I, s:b, s:I}", "checked", (json_int_t)v->checked, "wrong",
                                  (json_int_t)v->wrong, "missing", (json_int_t)v->missing, "stale",
                                  (json_int_t)v->stale, "ghost", (json_int_t)v->ghost, "skipped",
                                  r->verify_skipped, "readback", (json_int_t)r->readback));
    json_t *m = kvb_env_manifest(rep->data_dir, o->command);
    json_object_set(m, "engine_config", r->engine_config ? r->engine_config : json_object());
    json_object_set_new(j, "manifest", m);
    json_t *phases = json_array();
    for (int i = 0; i < r->nphases; i++)
        json_array_append_new(phases, phase_json(&r->phases[i]));
    json_object_set_new(j, "phases", phases);
    json_object_set(j, "engine_stats", r->engine_stats ? r->engine_stats : json_object());
    json_object_set_new(j, "pages", pages_json(r));
    if (r->lsm)
        json_object_set(j, "lsm", r->lsm);
    json_object_set_new(j, "settle_ns", r->settled ? json_integer((json_int_t)r->settle_ns) : json_null());
    json_object_set_new(j, "value_sink", json_integer((json_int_t)(r->sink & 0xffff)));
    return j;
}

int kvb_json_write_file(json_t *j, const char *path, char *err, size_t errlen)
{
    char tmp[4200];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    if (json_dump_file(j, tmp, JSON_INDENT(1) | JSON_REAL_PRECISION(10)) != 0) {
        snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
        return -1;
    }
    if (rename(tmp, path) != 0) {
        snprintf(err, errlen, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
        return -1;
    }
    return 0;
}

int kvb_result_write(const kvb_result *r, int *valid, char *err, size_t errlen)
{
    json_t *j = result_json(r, valid);
    if (!j) {
        snprintf(err, errlen, "out of memory building the result JSON");
        return -1;
    }
    int rc = kvb_json_write_file(j, r->rep->result_path, err, errlen);
    json_decref(j);
    return rc;
}
