/* dataset.c - the keys of one run with their newest versions, deleted flags and key -> index lookup. */
#include "workload.h"
#include "wl_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int kv_dataset_create(kv_dataset **out, enum kv_keyset keyset, uint64_t n, uint64_t max_inserts,
                      uint64_t seed, size_t value_size)
{
    *out = NULL;
    if (n + max_inserts < n || n + max_inserts == 0 || n + max_inserts >= UINT32_MAX - 1 ||
        (unsigned)keyset >= KV_KEYS__COUNT) {
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
    if (!ds->keys || !ds->versions || !ds->deleted || kv__keyindex_init(ki, cap) != 0) {
        kv_dataset_free(ds);
        errno = ENOMEM;
        return -1;
    }
    if (kv__keys_generate(keyset, cap, seed, ds->keys, ki) != 0) {
        int e = errno;
        kv_dataset_free(ds);
        errno = e;
        return -1;
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

/* LSD radix sort on bytes (keys are positive, so unsigned order is key order). Byte digits keep the
 * 256 write streams of a pass inside the cache and TLB, which measured faster than 11- or 16-bit
 * digits at 10M keys; passes on which every key has the same digit are skipped. */
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
            cnt[((uint64_t)src[i] >> shift) & 0xff]++;
        if (cnt[((uint64_t)src[0] >> shift) & 0xff] == count)
            continue;
        size_t sum = 0;
        for (int d = 0; d < 256; d++) {
            size_t c = cnt[d];
            cnt[d] = sum;
            sum += c;
        }
        for (uint64_t i = 0; i < count; i++)
            dst[cnt[((uint64_t)src[i] >> shift) & 0xff]++] = src[i];
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
