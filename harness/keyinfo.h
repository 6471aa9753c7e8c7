/* keyinfo.h - what a result says about its key set: name, file fingerprint and hardness (cached). */
#ifndef KVB_KEYINFO_H
#define KVB_KEYINFO_H

#include "bench.h"

#include <jansson.h>

typedef struct kvb_hardness {
    uint64_t eps32, eps4096; /* segments of an optimal eps-PLA of the loaded keys, sorted */
    int cached;              /* 1: read from the cache under --dir */
    int keys_cached;         /* 1: the generated keys were read from the key cache under --dir */
} kvb_hardness;

/* --keys SPEC: a generated key set's name, or file:PATH, which is read here (SOSD format, deduplicated)
 * into o->filekeys / o->nfilekeys / o->keyinfo. 0, or -1 with a message naming the problem in err. */
int kvb_keyset_parse(kvb_opts *o, const char *spec, char *err, size_t errlen);
/* Every -n must fit in a key file's distinct keys. 0, or -1 with a message. */
int kvb_keyset_check_n(const kvb_opts *o, char *err, size_t errlen);
void kvb_keyset_free(kvb_opts *o);

/* The data set of a repetition: from the key file (--keys file:), or generated. Generated keys are
 * cached in <o->dir>/kvbench-keycache/ (SOSD layout: uint64 count, then the keys in data set order),
 * written by the first cell that needs them and read by later cells and sweeps with the same key set,
 * capacity and seed; a missing, short or damaged cache file is regenerated. *cached = 1 when read.
 * 0, or -1 with errno (ENOMEM, EINVAL). */
int kvb_dataset_make(const kvb_opts *o, uint64_t n, uint64_t extra, uint64_t seed, kv_dataset **ds, int *cached);

/* Hardness of ds's loaded keys: read from <cache_dir>/kvbench-keycache/ when an earlier cell or sweep
 * stored it for the same key set (name, n, capacity, seed, file digest), else computed (O(n)) and
 * stored there. A cache that cannot be written costs only the recomputation. 0, or -1 with a message. */
int kvb_hardness_get(const kvb_opts *o, const kv_dataset *ds, kvb_hardness *h, char *err, size_t errlen);
/* Hardness of sorted keys, no cache. 0, or -1 (ENOMEM). */
int kvb_hardness_compute(const int64_t *sorted, uint64_t n, kvb_hardness *h);
/* {"name": ..., "file": {path, size, sha256, width, count, duplicates, shifted} (file sets only),
 *  "hardness": {...} (when h is not NULL)} */
json_t *kvb_keyset_json(const kvb_opts *o, const kvb_hardness *h);

#endif
