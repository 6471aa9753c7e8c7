/* keyinfo.c - key-set hardness (optimal-PLA segment counts) with a cache under --dir, and the keyset JSON. */
#include "keyinfo.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int kvb_keyset_parse(kvb_opts *o, const char *spec, char *err, size_t errlen)
{
    if (strncmp(spec, "file:", 5) != 0) {
        if (kv_keyset_parse(spec, &o->keyset) != 0) {
            snprintf(err, errlen, "--keys '%s': expected uniform, sequential, clustered, lognormal, normal, fb-like, "
                     "osm-like or file:PATH (a key file in SOSD's format)", spec);
            return -1;
        }
        return 0;
    }
    if (!spec[5]) {
        snprintf(err, errlen, "--keys file: needs a path, e.g. --keys file:data/books_200M_uint64");
        return -1;
    }
    kvb_keyset_free(o);
    int64_t *keys;
    uint64_t n;
    char why[1400];
    if (kv_keyfile_read(spec + 5, &keys, &n, &o->keyinfo, why, sizeof(why)) != 0) {
        snprintf(err, errlen, "--keys %s: %s", spec, why);
        return -1;
    }
    if (n == 0) {
        free(keys);
        snprintf(err, errlen, "--keys %s: the key file holds no keys", spec);
        return -1;
    }
    o->keyset = KV_KEYS_FILE;
    o->filekeys = keys;
    o->nfilekeys = n;
    return 0;
}

int kvb_keyset_check_n(const kvb_opts *o, char *err, size_t errlen)
{
    if (o->keyset != KV_KEYS_FILE)
        return 0;
    for (size_t i = 0; i < o->nns; i++)
        if (o->ns[i] > o->nfilekeys) {
            snprintf(err, errlen, "--keys file:%s holds %" PRIu64 " distinct keys (%" PRIu64 " in the file, %" PRIu64
                     " duplicates dropped), fewer than -n %" PRIu64 "; use a smaller -n or a larger key file",
                     o->keyinfo.path, o->nfilekeys, o->keyinfo.count, o->keyinfo.duplicates, o->ns[i]);
            return -1;
        }
    return 0;
}

void kvb_keyset_free(kvb_opts *o)
{
    free((void *)o->filekeys);
    o->filekeys = NULL;
    o->nfilekeys = 0;
}

/* Bump when a generator's output changes, so old cache files are not reused. */
#define KVB_KEYCACHE_VERSION 1

static void keys_cache_path(const kvb_opts *o, uint64_t cap, uint64_t seed, char *out, size_t len)
{
    snprintf(out, len, "%s/kvbench-keycache/keys-v%d-%s-c%" PRIu64 "-s%" PRIu64 ".keys", o->dir, KVB_KEYCACHE_VERSION,
             kv_keyset_name(o->keyset), cap, seed);
}

static int64_t *keys_cache_read(const char *path, uint64_t cap)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    uint64_t count = 0;
    int64_t *keys = malloc(cap * sizeof(*keys));
    int ok = keys && fread(&count, 8, 1, f) == 1 && count == cap && fread(keys, 8, cap, f) == cap &&
             fgetc(f) == EOF;
    fclose(f);
    if (!ok) {
        free(keys);
        return NULL;
    }
    return keys;
}

static void keys_cache_write(const kvb_opts *o, const char *path, const kv_dataset *ds)
{
    char dir[4200], tmp[4400];
    snprintf(dir, sizeof(dir), "%s/kvbench-keycache", o->dir);
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        return;
    if (snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, (int)getpid()) >= (int)sizeof(tmp))
        return;
    FILE *f = fopen(tmp, "wb");
    if (!f)
        return;
    uint64_t count = ds->capacity;
    int ok = fwrite(&count, 8, 1, f) == 1 && fwrite(ds->keys, 8, count, f) == count;
    if (fclose(f) != 0 || !ok || rename(tmp, path) != 0)
        remove(tmp); /* no cache: the next cell generates again */
}

int kvb_dataset_make(const kvb_opts *o, uint64_t n, uint64_t extra, uint64_t seed, kv_dataset **ds, int *cached)
{
    *cached = 0;
    if (o->keyset == KV_KEYS_FILE)
        return kv_dataset_create_from(ds, o->filekeys, o->nfilekeys, n, extra, seed, o->value_size);
    char path[4400];
    keys_cache_path(o, n + extra, seed, path, sizeof(path));
    int64_t *keys = keys_cache_read(path, n + extra);
    if (keys) {
        int rc = kv_dataset_create_ordered(ds, o->keyset, keys, n, extra, seed, o->value_size);
        free(keys);
        if (rc == 0) {
            *cached = 1;
            return 0;
        }
    }
    if (kv_dataset_create(ds, o->keyset, n, extra, seed, o->value_size) != 0)
        return -1;
    keys_cache_write(o, path, *ds);
    return 0;
}

int kvb_hardness_compute(const int64_t *sorted, uint64_t n, kvb_hardness *h)
{
    h->cached = 0;
    if (kv_pla_segments(sorted, n, 32, &h->eps32) != 0 || kv_pla_segments(sorted, n, 4096, &h->eps4096) != 0)
        return -1;
    return 0;
}

/* One file per key set; the name holds everything the loaded keys depend on. */
static void cache_path(const kvb_opts *o, const kv_dataset *ds, char *out, size_t len)
{
    const char *name = kv_keyset_name(ds->keyset);
    if (ds->keyset == KV_KEYS_FILE)
        snprintf(out, len, "%s/kvbench-keycache/hardness-file-%.16s-n%" PRIu64 "-c%" PRIu64 "-s%" PRIu64, o->dir,
                 o->keyinfo.sha256, ds->n, ds->capacity, ds->seed);
    else
        snprintf(out, len, "%s/kvbench-keycache/hardness-%s-n%" PRIu64 "-c%" PRIu64 "-s%" PRIu64, o->dir, name, ds->n,
                 ds->capacity, ds->seed);
}

static int cache_read(const char *path, kvb_hardness *h)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    int ok = fscanf(f, "pla_segments_eps32 %" SCNu64 " pla_segments_eps4096 %" SCNu64, &h->eps32, &h->eps4096) == 2;
    fclose(f);
    return ok && h->eps32 > 0 && h->eps4096 > 0 ? 0 : -1;
}

static void cache_write(const char *dir, const char *path, const kvb_hardness *h)
{
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        return;
    char tmp[4400];
    if (snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, (int)getpid()) >= (int)sizeof(tmp))
        return;
    FILE *f = fopen(tmp, "w");
    if (!f)
        return;
    int ok = fprintf(f, "pla_segments_eps32 %" PRIu64 " pla_segments_eps4096 %" PRIu64 "\n", h->eps32, h->eps4096) > 0;
    if (fclose(f) != 0 || !ok || rename(tmp, path) != 0)
        remove(tmp);
}

int kvb_hardness_get(const kvb_opts *o, const kv_dataset *ds, kvb_hardness *h, char *err, size_t errlen)
{
    char path[4300], dir[4200];
    cache_path(o, ds, path, sizeof(path));
    snprintf(dir, sizeof(dir), "%s/kvbench-keycache", o->dir);
    if (cache_read(path, h) == 0) {
        h->cached = 1;
        return 0;
    }
    int64_t *sorted = kv_dataset_sorted_loaded(ds);
    if (!sorted) {
        snprintf(err, errlen, "out of memory for the sorted keys (key-set hardness)");
        return -1;
    }
    int rc = kvb_hardness_compute(sorted, ds->n, h);
    free(sorted);
    if (rc != 0) {
        snprintf(err, errlen, "cannot compute the key-set hardness: %s", strerror(errno));
        return -1;
    }
    cache_write(dir, path, h);
    return 0;
}

json_t *kvb_keyset_json(const kvb_opts *o, const kvb_hardness *h)
{
    json_t *j = json_pack("{s:s}", "name", kv_keyset_name(o->keyset));
    if (o->keyset == KV_KEYS_FILE) {
        const kv_keyfile_info *k = &o->keyinfo;
        json_object_set_new(j, "file",
                            json_pack("{s:s, s:I, s:s, s:i, s:I, s:I, s:I, s:s}", "path", k->path, "size",
                                      (json_int_t)k->size, "sha256", k->sha256, "width", k->width, "count",
                                      (json_int_t)k->count, "distinct", (json_int_t)o->nfilekeys, "duplicates",
                                      (json_int_t)k->duplicates, "mapping",
                                      k->shifted ? "uint64 - 2^63" : "identity"));
    }
    if (h)
        json_object_set_new(j, "hardness",
                            json_pack("{s:I, s:I, s:b}", "pla_segments_eps32", (json_int_t)h->eps32,
                                      "pla_segments_eps4096", (json_int_t)h->eps4096, "cached", h->cached));
    if (h && o->keyset != KV_KEYS_FILE)
        json_object_set_new(j, "keys_cached", json_boolean(h->keys_cached));
    return j;
}
