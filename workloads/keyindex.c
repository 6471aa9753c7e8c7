/* keyindex.c - the key -> index hash behind kv_dataset_find and key de-duplication. */
#include "wl_internal.h"

#include <errno.h>
#include <stdlib.h>

#define KV_PREFETCH_AHEAD 16

static inline uint64_t kv_ki_hash(int64_t key) { return kv__mix64((uint64_t)key ^ 0x6b6579696478ULL); }

int kv__keyindex_init(kv__keyindex *ki, uint64_t capacity)
{
    ki->slots = NULL;
    if (capacity >= UINT32_MAX - 1) {
        errno = EINVAL;
        return -1;
    }
    /* load factor <= 0.7 keeps linear probing short */
    uint64_t want = capacity + capacity * 3 / 7 + 16;
    int bits = 4;
    while ((1ULL << bits) < want)
        bits++;
    ki->slots = kv__big_alloc((1ULL << bits) * sizeof(uint32_t));
    if (!ki->slots)
        return -1;
    ki->mask = (1ULL << bits) - 1;
    ki->shift = 64 - bits;
    ki->idx_bits = 1;
    while (ki->idx_bits < 32 && (1ULL << ki->idx_bits) <= capacity)
        ki->idx_bits++;
    ki->idx_mask = ki->idx_bits == 32 ? UINT32_MAX : (uint32_t)((1ULL << ki->idx_bits) - 1);
    return 0;
}

void kv__keyindex_free(kv__keyindex *ki)
{
    kv__big_free(ki->slots, (ki->mask + 1) * sizeof(uint32_t));
    ki->slots = NULL;
}

/* The fingerprint (low hash bits, independent of the high bits choosing the slot) skips most
 * keys[] reads, each a cache miss of its own, when probing past other keys. */
static inline uint32_t kv_ki_fp(const kv__keyindex *ki, uint64_t h) { return (uint32_t)h & ~ki->idx_mask; }

static inline int kv_ki_add(kv__keyindex *ki, const int64_t *keys, uint64_t i, uint64_t h)
{
    int64_t key = keys[i];
    uint32_t fp = kv_ki_fp(ki, h);
    for (uint64_t p = h >> ki->shift;; p = (p + 1) & ki->mask) {
        uint32_t s = ki->slots[p];
        if (s == 0) {
            ki->slots[p] = fp | (uint32_t)(i + 1);
            return 0;
        }
        if ((s & ~ki->idx_mask) == fp && keys[(s & ki->idx_mask) - 1] == key)
            return 1;
    }
}

int kv__keyindex_add(kv__keyindex *ki, const int64_t *keys, uint64_t i)
{
    return kv_ki_add(ki, keys, i, kv_ki_hash(keys[i]));
}

uint64_t kv__keyindex_add_range(kv__keyindex *ki, const int64_t *keys, uint64_t begin, uint64_t end)
{
    for (uint64_t i = begin; i < end; i++) {
        if (i + KV_PREFETCH_AHEAD < end)
            __builtin_prefetch(&ki->slots[kv_ki_hash(keys[i + KV_PREFETCH_AHEAD]) >> ki->shift], 1);
        if (kv_ki_add(ki, keys, i, kv_ki_hash(keys[i])) != 0)
            return i;
    }
    return end;
}

int64_t kv__keyindex_find(const kv__keyindex *ki, const int64_t *keys, int64_t key)
{
    if (!ki->slots)
        return -1;
    uint64_t h = kv_ki_hash(key);
    uint32_t fp = kv_ki_fp(ki, h);
    for (uint64_t p = h >> ki->shift;; p = (p + 1) & ki->mask) {
        uint32_t s = ki->slots[p];
        if (s == 0)
            return -1;
        if ((s & ~ki->idx_mask) == fp && keys[(s & ki->idx_mask) - 1] == key)
            return (int64_t)((s & ki->idx_mask) - 1);
    }
}
