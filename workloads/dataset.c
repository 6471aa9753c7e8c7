/* dataset.c - the keys of one run with their newest versions, deleted flags and key -> index lookup. */
#include "workload.h"
#include "wl_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int kv_ds_alloc(kv_dataset **out, enum kv_keyset keyset, uint64_t n, uint64_t max_inserts, uint64_t seed,
                       size_t value_size)
{
    *out = NULL;
    if (n + max_inserts < n || n + max_inserts == 0 || n + max_inserts >= UINT32_MAX - 1) {
        errno = EINVAL;
        return -1;
    }
    uint64_t cap = n + max_inserts;
    kv_dataset *ds = calloc(1, sizeof(*ds));
    kv__keyindex *ki = calloc(1, sizeof(*ki));
    if (!ds || !ki) {
        free(ds);
        free(ki);
        errno = ENOMEM;
        return -1;
    }
    ds->keyset = keyset;
    ds->seed = seed;
    ds->value_size = value_size;
    ds->n = n;
    ds->capacity = cap;
    ds->lookup = ki;
    ds->keys = kv__big_alloc(cap * sizeof(*ds->keys));
    ds->versions = kv__big_alloc(cap * sizeof(*ds->versions));
    ds->deleted = kv__big_alloc(cap * sizeof(*ds->deleted));
    ds->committed = kv__big_alloc(cap * sizeof(*ds->committed));
    ds->ever_deleted = kv__big_alloc(cap * sizeof(*ds->ever_deleted));
    if (!ds->keys || !ds->versions || !ds->deleted || !ds->committed || !ds->ever_deleted ||
        kv__keyindex_init(ki, cap) != 0) {
        kv_dataset_free(ds);
        errno = ENOMEM;
        return -1;
    }
    *out = ds;
    return 0;
}

int kv_dataset_create(kv_dataset **out, enum kv_keyset keyset, uint64_t n, uint64_t max_inserts,
                      uint64_t seed, size_t value_size)
{
    *out = NULL;
    if ((unsigned)keyset >= KV_KEYS__COUNT) {
        errno = EINVAL;
        return -1;
    }
    kv_dataset *ds;
    if (kv_ds_alloc(&ds, keyset, n, max_inserts, seed, value_size) != 0)
        return -1;
    if (kv__keys_generate(keyset, ds->capacity, seed, ds->keys, ds->lookup) != 0) {
        int e = errno;
        kv_dataset_free(ds);
        errno = e;
        return -1;
    }
    *out = ds;
    return 0;
}

int kv_dataset_create_ordered(kv_dataset **out, enum kv_keyset keyset, const int64_t *keys, uint64_t n,
                              uint64_t max_inserts, uint64_t seed, size_t value_size)
{
    *out = NULL;
    kv_dataset *ds;
    if (!keys || kv_ds_alloc(&ds, keyset, n, max_inserts, seed, value_size) != 0)
        return -1;
    memcpy(ds->keys, keys, ds->capacity * sizeof(*keys));
    if (kv__keyindex_add_range(ds->lookup, ds->keys, 0, ds->capacity) != ds->capacity) {
        kv_dataset_free(ds);
        errno = EINVAL;
        return -1;
    }
    *out = ds;
    return 0;
}

int kv_dataset_create_from(kv_dataset **out, const int64_t *sorted, uint64_t count, uint64_t n, uint64_t max_inserts,
                           uint64_t seed, size_t value_size)
{
    *out = NULL;
    if (!sorted || count < n) {
        errno = EINVAL;
        return -1;
    }
    kv_dataset *ds;
    if (kv_ds_alloc(&ds, KV_KEYS_FILE, n, max_inserts, seed, value_size) != 0)
        return -1;
    uint64_t cap = ds->capacity, take = count < cap ? count : cap;
    kv_rng r;
    kv_rng_seed(&r, kv_mix64(seed ^ 0x66696c65ULL));
    if (count > cap) { /* shuffle a copy of all keys, keep the first cap */
        int64_t *tmp = kv__big_alloc(count * sizeof(*tmp));
        if (!tmp) {
            kv_dataset_free(ds);
            errno = ENOMEM;
            return -1;
        }
        memcpy(tmp, sorted, count * sizeof(*tmp));
        kv__keys_shuffle(count, &r, tmp);
        memcpy(ds->keys, tmp, cap * sizeof(*tmp));
        kv__big_free(tmp, count * sizeof(*tmp));
    } else {
        memcpy(ds->keys, sorted, count * sizeof(*sorted));
        kv__keys_shuffle(count, &r, ds->keys);
    }
    if (kv__keyindex_add_range(ds->lookup, ds->keys, 0, take) != take) {
        kv_dataset_free(ds); /* duplicate keys: the caller did not dedupe */
        errno = EINVAL;
        return -1;
    }
    uint64_t lo = (uint64_t)sorted[0] ^ (1ULL << 63), hi = (uint64_t)sorted[count - 1] ^ (1ULL << 63);
    uint64_t span = hi - lo + 1; /* in the sign-flipped (unsigned) order; 0 = the whole range */
    int whole = span == 0 || span - count < 2 * (cap - take) + 16;
    for (uint64_t i = take; i < cap; i++) {
        do {
            uint64_t u = whole ? kv_rng_next(&r) : lo + kv_rng_below(&r, span);
            ds->keys[i] = (int64_t)(u ^ (1ULL << 63));
        } while (kv__keyindex_add(ds->lookup, ds->keys, i) != 0);
    }
    *out = ds;
    return 0;
}

void kv_dataset_free(kv_dataset *ds)
{
    if (!ds)
        return;
    if (ds->lookup) {
        kv__keyindex_free(ds->lookup);
        free(ds->lookup);
    }
    kv__big_free(ds->keys, ds->capacity * sizeof(*ds->keys));
    kv__big_free(ds->versions, ds->capacity * sizeof(*ds->versions));
    kv__big_free(ds->deleted, ds->capacity * sizeof(*ds->deleted));
    kv__big_free(ds->committed, ds->capacity * sizeof(*ds->committed));
    kv__big_free(ds->ever_deleted, ds->capacity * sizeof(*ds->ever_deleted));
    free(ds);
}

int64_t kv_dataset_find(const kv_dataset *ds, int64_t key)
{
    return kv__keyindex_find(ds->lookup, ds->keys, key);
}

void kv_dataset_mark_loaded(kv_dataset *ds)
{
    for (uint64_t i = 0; i < ds->n; i++) {
        ds->versions[i] = 1;
        ds->deleted[i] = 0;
    }
}

/* LSD radix sort on bytes of the key with its sign bit flipped (which orders int64 as unsigned). Byte digits keep the
 * 256 write streams of a pass inside the cache and TLB, which measured faster than 11- or 16-bit
 * digits at 10M keys; passes on which every key has the same digit are skipped. */
#define KV_SIGN (1ULL << 63)

static int kv_radix_sort(int64_t *a, uint64_t count)
{
    int64_t *tmp = kv__big_alloc(count * sizeof(*tmp));
    if (!tmp)
        return -1;
    size_t cnt[256];
    int64_t *src = a, *dst = tmp;
    for (int shift = 0; shift < 64; shift += 8) {
        memset(cnt, 0, sizeof(cnt));
        for (uint64_t i = 0; i < count; i++)
            cnt[(((uint64_t)src[i] ^ KV_SIGN) >> shift) & 0xff]++;
        if (cnt[(((uint64_t)src[0] ^ KV_SIGN) >> shift) & 0xff] == count)
            continue;
        size_t sum = 0;
        for (int d = 0; d < 256; d++) {
            size_t c = cnt[d];
            cnt[d] = sum;
            sum += c;
        }
        for (uint64_t i = 0; i < count; i++)
            dst[cnt[(((uint64_t)src[i] ^ KV_SIGN) >> shift) & 0xff]++] = src[i];
        int64_t *t = src;
        src = dst;
        dst = t;
    }
    if (src != a)
        memcpy(a, src, count * sizeof(*a));
    kv__big_free(tmp, count * sizeof(*tmp));
    return 0;
}

int64_t *kv_dataset_sorted_loaded(const kv_dataset *ds)
{
    int64_t *out = malloc((ds->n ? ds->n : 1) * sizeof(*out));
    if (!out)
        return NULL;
    memcpy(out, ds->keys, ds->n * sizeof(*out));
    int sorted = 1;
    for (uint64_t i = 1; i < ds->n && sorted; i++)
        sorted = out[i - 1] < out[i];
    if (!sorted && kv_radix_sort(out, ds->n) != 0) {
        free(out);
        return NULL;
    }
    return out;
}
