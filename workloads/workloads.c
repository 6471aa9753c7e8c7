/* workloads.c - the named workloads, mix parsing, and the names of op types, accesses and verdicts. */
#include "workload.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const kv_workload kv_wl_load = {.name = "load",
                                       .description = "insert every loaded key once (version 1), in the data set's order",
                                       .mix = {[KV_OP_INSERT] = 1},
                                       .scan_len = 100};
static const kv_workload kv_wl_read = {
    .name = "read", .description = "100% get of present keys", .mix = {[KV_OP_GET] = 1}, .scan_len = 100};
static const kv_workload kv_wl_mixed = {.name = "mixed",
                                        .description = "80% get, 10% update, 10% insert of fresh keys",
                                        .mix = {[KV_OP_GET] = 0.8, [KV_OP_UPDATE] = 0.1, [KV_OP_INSERT] = 0.1},
                                        .scan_len = 100};
static const kv_workload kv_wl_scan = {
    .name = "scan", .description = "100% range scans of 100 records", .mix = {[KV_OP_SCAN] = 1}, .scan_len = 100};
static const kv_workload kv_wl_update = {
    .name = "update", .description = "100% update of present keys", .mix = {[KV_OP_UPDATE] = 1}, .scan_len = 100};

/* The YCSB core workloads, as defined in the YCSB repository's workloads/workloada ... workloadf and in
 * Cooper et al., "Benchmarking Cloud Serving Systems with YCSB", SoCC 2010 (see workloads/README.md).
 * "zipfian" is YCSB's scrambled zipfian (theta 0.99 unless --theta says otherwise). */
#define KV_YCSB(letter, desc, get, upd, ins, scan, rmw, lo, acc)                                               \
    {.name = "ycsb-" letter, .description = desc, .mix = {get, upd, ins, 0, scan, rmw}, .scan_len = 100,       \
     .scan_len_min = lo, .has_access = 1, .access = acc, .shared_keys = 1}
static const kv_workload kv_wl_ycsb[6] = {
    KV_YCSB("a", "YCSB A (update heavy): 50% read, 50% update, zipfian", 0.5, 0.5, 0, 0, 0, 0, KV_ACCESS_ZIPF),
    KV_YCSB("b", "YCSB B (read mostly): 95% read, 5% update, zipfian", 0.95, 0.05, 0, 0, 0, 0, KV_ACCESS_ZIPF),
    KV_YCSB("c", "YCSB C (read only): 100% read, zipfian", 1, 0, 0, 0, 0, 0, KV_ACCESS_ZIPF),
    KV_YCSB("d", "YCSB D (read latest): 95% read, 5% insert, latest", 0.95, 0, 0.05, 0, 0, 0, KV_ACCESS_LATEST),
    KV_YCSB("e", "YCSB E (short ranges): 95% scan of 1-100 records (uniform), 5% insert, zipfian", 0, 0, 0.05,
            0.95, 0, 1, KV_ACCESS_ZIPF),
    KV_YCSB("f", "YCSB F (read-modify-write): 50% read, 50% read-modify-write, zipfian", 0.5, 0, 0, 0, 0.5, 0,
            KV_ACCESS_ZIPF),
};

const kv_workload *const kv_workloads[] = {&kv_wl_load,    &kv_wl_read,    &kv_wl_mixed,   &kv_wl_scan,
                                           &kv_wl_update,  &kv_wl_ycsb[0], &kv_wl_ycsb[1], &kv_wl_ycsb[2],
                                           &kv_wl_ycsb[3], &kv_wl_ycsb[4], &kv_wl_ycsb[5], NULL};

const kv_workload *kv_workload_find(const char *name)
{
    if (!name)
        return NULL;
    for (int i = 0; kv_workloads[i]; i++)
        if (strcmp(kv_workloads[i]->name, name) == 0)
            return kv_workloads[i];
    return NULL;
}

static const char *const kv_optype_names[KV_OP__COUNT] = {"get", "update", "insert", "delete", "scan", "rmw"};

const char *kv_optype_name(enum kv_optype t)
{
    return (unsigned)t < KV_OP__COUNT ? kv_optype_names[t] : "unknown";
}

static const char *const kv_access_names[] = {"uniform", "zipf", "latest", "seq"};

const char *kv_access_name(enum kv_access a)
{
    return (unsigned)a < sizeof(kv_access_names) / sizeof(kv_access_names[0]) ? kv_access_names[a] : "unknown";
}

int kv_access_parse(const char *s, enum kv_access *out)
{
    if (!s)
        return -1;
    for (unsigned i = 0; i < sizeof(kv_access_names) / sizeof(kv_access_names[0]); i++) {
        if (strcmp(s, kv_access_names[i]) == 0) {
            *out = (enum kv_access)i;
            return 0;
        }
    }
    if (strcmp(s, "zipfian") == 0) {
        *out = KV_ACCESS_ZIPF;
        return 0;
    }
    if (strcmp(s, "sequential") == 0) {
        *out = KV_ACCESS_SEQ;
        return 0;
    }
    return -1;
}

static const char *const kv_verdict_names[] = {"ok", "wrong", "stale", "missing", "ghost"};

const char *kv_verdict_name(enum kv_verdict v)
{
    return (unsigned)v < sizeof(kv_verdict_names) / sizeof(kv_verdict_names[0]) ? kv_verdict_names[v]
                                                                                   : "unknown";
}

static int kv_mix_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    errno = EINVAL;
    return -1;
}

/* "read" is accepted as another name for get (YCSB's word). */
static int kv_mix_optype(const char *name, size_t len)
{
    for (int t = 0; t < KV_OP__COUNT; t++)
        if (strlen(kv_optype_names[t]) == len && strncmp(name, kv_optype_names[t], len) == 0)
            return t;
    if (len == 4 && strncmp(name, "read", 4) == 0)
        return KV_OP_GET;
    return -1;
}

int kv_workload_set_mix(kv_workload *w, const char *spec, char *err, size_t errlen)
{
    static const char *const valid = "valid names: get (or read), update, insert, delete, scan, rmw";
    if (!w || !spec)
        return kv_mix_err(err, errlen, "mix: no spec given (expected e.g. \"get=0.8,update=0.1,insert=0.1\")");
    double mix[KV_OP__COUNT] = {0};
    int seen[KV_OP__COUNT] = {0};
    const char *p = spec;
    int items = 0;
    while (*p) {
        while (isspace((unsigned char)*p))
            p++;
        const char *name = p;
        while (*p && *p != '=' && *p != ',' && !isspace((unsigned char)*p))
            p++;
        size_t nlen = (size_t)(p - name);
        while (isspace((unsigned char)*p))
            p++;
        if (nlen == 0 || *p != '=')
            return kv_mix_err(err, errlen, "mix \"%s\": expected name=fraction at offset %zu", spec,
                              (size_t)(name - spec));
        int t = kv_mix_optype(name, nlen);
        if (t < 0)
            return kv_mix_err(err, errlen, "mix \"%s\": unknown op type \"%.*s\" (%s)", spec, (int)nlen, name, valid);
        if (seen[t])
            return kv_mix_err(err, errlen, "mix \"%s\": op type \"%s\" given twice", spec, kv_optype_names[t]);
        seen[t] = 1;
        p++;
        char *end;
        errno = 0;
        double f = strtod(p, &end);
        if (end == p || errno != 0 || !isfinite(f))
            return kv_mix_err(err, errlen, "mix \"%s\": \"%s\" needs a number after '='", spec, kv_optype_names[t]);
        if (f < 0 || f > 1)
            return kv_mix_err(err, errlen, "mix \"%s\": fraction %g of \"%s\" is outside [0, 1]", spec, f,
                              kv_optype_names[t]);
        mix[t] = f;
        items++;
        p = end;
        while (isspace((unsigned char)*p))
            p++;
        if (*p == ',')
            p++;
        else if (*p)
            return kv_mix_err(err, errlen, "mix \"%s\": expected ',' at offset %zu", spec, (size_t)(p - spec));
    }
    if (items == 0)
        return kv_mix_err(err, errlen, "mix \"%s\": empty (expected e.g. \"get=0.8,update=0.1,insert=0.1\")", spec);
    double sum = 0;
    for (int t = 0; t < KV_OP__COUNT; t++)
        sum += mix[t];
    if (fabs(sum - 1.0) > 1e-9)
        return kv_mix_err(err, errlen, "mix \"%s\": fractions sum to %.12g, not 1", spec, sum);
    memcpy(w->mix, mix, sizeof(mix));
    return 0;
}
