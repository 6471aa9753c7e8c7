/* wl_internal.h - helpers shared by the workload files only (not part of the bench contract). */
#ifndef KV_WL_INTERNAL_H
#define KV_WL_INTERNAL_H

#include "workload.h"

#include <stdint.h>

/* kv_mix64 inlined for the hot loops of the other files (same function, same results). */
static inline uint64_t kv__mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

/* kv_rng_next / kv_rng_double inlined for the generators (same sequence as the public functions). */
static inline uint64_t kv__rng_next(kv_rng *r)
{
    r->s += 0x9e3779b97f4a7c15ULL;
    return kv__mix64(r->s);
}

static inline double kv__rng_double(kv_rng *r) { return (double)(kv__rng_next(r) >> 11) * 0x1.0p-53; }

/* Open-addressing key -> index table: slots hold index + 1 (0 = empty), keys live in the caller's
 * array, so a 10M-key set costs 4 bytes per slot. Capacity is limited to UINT32_MAX - 1 keys. */
typedef struct kv__keyindex {
    uint32_t *slots; /* fingerprint << idx_bits | (index + 1); 0 = empty */
    uint64_t mask;
    int shift;       /* 64 - log2(slot count): the hash's high bits pick the home slot */
    int idx_bits;    /* bits for index + 1; the rest of the slot holds low hash bits */
    uint32_t idx_mask;
} kv__keyindex;

int kv__keyindex_init(kv__keyindex *ki, uint64_t capacity); /* 0 or -1 (ENOMEM / EINVAL) */
void kv__keyindex_free(kv__keyindex *ki);
/* Add keys[i]; 0 when added, 1 when an equal key is already present (nothing added). */
int kv__keyindex_add(kv__keyindex *ki, const int64_t *keys, uint64_t i);
int64_t kv__keyindex_find(const kv__keyindex *ki, const int64_t *keys, int64_t key);
/* Add keys[begin..end) with software prefetching; stops at the first duplicate and returns its
 * index (not added), or end when all were added. */
uint64_t kv__keyindex_add_range(kv__keyindex *ki, const int64_t *keys, uint64_t begin, uint64_t end);

/* Zeroed memory for big random-access arrays (huge pages when available); NULL on ENOMEM. */
void *kv__big_alloc(size_t size);
void kv__big_free(void *p, size_t size);

/* Fill keys[0..capacity) for a key set (distinct, in the order of kv_dataset_create: the loaded keys
 * are the first n, so n itself does not change the keys) and add every key to ki. Returns 0 or -1 (errno EINVAL when the key set cannot hold that many keys). */
int kv__keys_generate(enum kv_keyset keyset, uint64_t capacity, uint64_t seed, int64_t *keys, kv__keyindex *ki);

/* Seeded Fisher-Yates shuffle of keys[0..count). */
void kv__keys_shuffle(uint64_t count, kv_rng *r, int64_t *keys);

/* Sorted distinct keys of the hard shapes (lognormal, normal, fb-like, osm-like) in keys[0..capacity),
 * all in [1, 2^62]. 0, or -1 with errno (ENOMEM; EINVAL for another key set). */
int kv__keys_shape(enum kv_keyset keyset, uint64_t capacity, kv_rng *r, int64_t *keys);

/* A seeded bijection of [0, count): a balanced Feistel network on the smallest even bit width that
 * covers count, with cycle walking to stay inside the range (at most ~4 rounds trips on average). */
typedef struct kv__perm {
    uint64_t count;
    uint64_t half_mask;
    int half_bits;
    uint64_t round_key[4];
} kv__perm;

void kv__perm_init(kv__perm *p, uint64_t count, uint64_t seed);
uint64_t kv__perm_apply(const kv__perm *p, uint64_t x); /* x < count */

/* A standard normal deviate (Box-Muller, one of the pair discarded for simplicity). */
double kv__normal(kv_rng *r);

#endif
