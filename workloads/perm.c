/* perm.c - a seeded bijection of [0, count) that scatters zipf ranks over key indexes without losing any. */
#include "wl_internal.h"

void kv__perm_init(kv__perm *p, uint64_t count, uint64_t seed)
{
    int bits = 1;
    while (bits < 64 && (1ULL << bits) < count)
        bits++;
    p->count = count;
    p->half_bits = (bits + 1) / 2;
    p->half_mask = (1ULL << p->half_bits) - 1;
    for (int k = 0; k < 4; k++)
        p->round_key[k] = kv__mix64(seed + 0x7065726dULL * (uint64_t)(k + 1));
}

static inline uint64_t kv_perm_feistel(const kv__perm *p, uint64_t x)
{
    uint64_t l = x >> p->half_bits, r = x & p->half_mask;
    for (int k = 0; k < 4; k++) {
        /* one multiply per round: four rounds of a keyed multiplicative hash scatter well enough for
         * spreading hot ranks, and keep the permutation off the op stream's critical path */
        uint64_t f = (r + p->round_key[k]) * 0x9e3779b97f4a7c15ULL;
        uint64_t t = l ^ (((f ^ (f >> 29)) >> 16) & p->half_mask);
        l = r;
        r = t;
    }
    return (l << p->half_bits) | r;
}

/* Cycle walking: the Feistel network permutes [0, 2^(2*half_bits)) which is < 4 * count, so
 * re-applying it until the result lands in range gives a permutation of [0, count). */
uint64_t kv__perm_apply(const kv__perm *p, uint64_t x)
{
    if (p->count <= 1)
        return 0;
    do
        x = kv_perm_feistel(p, x);
    while (x >= p->count);
    return x;
}
