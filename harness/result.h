/* result.h - one repetition's result as JSON (results/SCHEMA.md, kvbench-result/1). */
#ifndef KVB_RESULT_H
#define KVB_RESULT_H

#include "bench.h"
#include "keyinfo.h"
#include "pages.h"
#include "phase.h"
#include "worker.h"

#include <jansson.h>

typedef struct kvb_result {
    const kvb_rep *rep;
    const kvb_phase_result *phases;
    int nphases;
    enum kv_durability load_durability;
    kvb_verify ver;
    int verify_skipped;
    uint64_t readback; /* keys read back after the phases (part of ver) */
    uint64_t sink;
    const kvb_hardness *hardness; /* NULL when the data set was never built */
    json_t *engine_config; /* describe() pairs (owned) */
    json_t *engine_stats;  /* stats() pairs + disk_bytes (owned) */
    kvb_pages_sample pages_load, pages_measured; /* 2 MiB-mapped memory after load, after measured */
    int has_pages_measured;
    json_t *lsm; /* [{level, files, bytes}] after settle, from stats pairs lsm.L<n>.*; NULL if none */
    int settled;        /* the engine's settle hook ran before the measured phase */
    uint64_t settle_ns; /* and took this long */
    int bulk_loaded;    /* the store was filled by bulk_load (under --share-load: by the first workload's) */
} kvb_result;

/* describe() (stats = 0) or stats() + disk_bytes (stats = 1) as a JSON object of strings. */
json_t *kvb_result_engine_pairs(kv_engine *e, int stats);
/* The LSM shape an engine reports through stats() pairs lsm.L<n>.files / .bytes, or NULL. */
json_t *kvb_result_lsm(kv_engine *e);
/* The latency object of a histogram (count, min, mean, percentiles, max, buckets). */
json_t *kvb_result_latency(const kvb_hist *h);
/* Build and write rep->result_path; *valid = verification passed. 0, or -1 with a message. */
int kvb_result_write(const kvb_result *r, int *valid, char *err, size_t errlen);
/* Write a JSON value to path atomically (temp file + rename). 0, or -1 with a message. */
int kvb_json_write_file(json_t *j, const char *path, char *err, size_t errlen);

#endif
