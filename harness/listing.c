/* listing.c - prints what an engine can do and what each workload does, for `kvbench list`. */
#include "listing.h"

#include "bench.h"

static const struct {
    uint64_t bit;
    const char *name;
} caps[] = {
    {KV_CAP_SCAN, "scan"}, {KV_CAP_BULK_LOAD, "bulk_load"}, {KV_CAP_THREADS, "threads"},
    {KV_CAP_ZERO_COPY, "zero_copy"}, {KV_CAP_PERSISTENT, "persistent"}, {KV_CAP_DUR_NONE, "dur_none"},
    {KV_CAP_DUR_SYNC, "dur_sync"}, {KV_CAP_DUR_GROUP, "dur_group"}, {KV_CAP_DISCARDS, "discards"},
};

static void list_engine(FILE *out, const kv_engine_ops *e)
{
    char err[512];
    if (kv_engine_check(e, err, sizeof(err)) != KV_OK) {
        fprintf(out, "  %-14s BROKEN: %s\n", e->name ? e->name : "(unnamed)", err);
        return;
    }
    fprintf(out, "  %-14s %s\n", e->name, e->description ? e->description : "");
    fprintf(out, "  %-14s library: %s\n", "", e->lib_version());
    fprintf(out, "  %-14s caps:", "");
    for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++)
        if (e->caps & caps[i].bit)
            fprintf(out, " %s", caps[i].name);
    fputc('\n', out);
    for (const kv_option_spec *o = e->options; o && o->key; o++)
        fprintf(out, "  %-14s -o %s=...  %s\n", "", o->key, o->help ? o->help : "");
}

int kvb_list(FILE *out)
{
    fputs("engines:\n", out);
    for (size_t i = 0; kv_engines[i]; i++)
        list_engine(out, kv_engines[i]);
    fputs("\nworkloads:\n", out);
    for (size_t i = 0; kv_workloads[i]; i++) {
        const kv_workload *w = kv_workloads[i];
        fprintf(out, "  %-14s %s\n  %-14s mix:", w->name, w->description ? w->description : "", "");
        for (int k = 0; k < KV_OP__COUNT; k++)
            if (w->mix[k] > 0)
                fprintf(out, " %s=%g", kv_optype_name((enum kv_optype)k), w->mix[k]);
        if (w->mix[KV_OP_SCAN] > 0 && w->scan_len_min)
            fprintf(out, " (scan_len uniform %u-%u)", w->scan_len_min, w->scan_len);
        else if (w->mix[KV_OP_SCAN] > 0)
            fprintf(out, " (scan_len %u)", w->scan_len);
        if (w->has_access)
            fprintf(out, "; access %s", kv_access_name(w->access));
        fputc('\n', out);
    }
    return KVB_EXIT_OK;
}
