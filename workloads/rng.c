/* rng.c - splitmix64, unbiased bounded draws and the 64-bit mixer everything else derives from. */
#include "workload.h"
#include "wl_internal.h"

#include <math.h>

/* The splitmix64 finalizer: xor-shifts and odd multiplications are each invertible, so the whole
 * function is a bijection of the 64-bit integers. */
uint64_t kv_mix64(uint64_t x) { return kv__mix64(x); }

void kv_rng_seed(kv_rng *r, uint64_t seed) { r->s = seed; }

uint64_t kv_rng_next(kv_rng *r) { return kv__rng_next(r); }

/* Lemire's multiply-shift: the high word of x * bound is uniform once the few low words that would
 * over-represent some results (l < 2^64 mod bound) are rejected. The modulo runs only on the rare
 * slow path. */
uint64_t kv_rng_below(kv_rng *r, uint64_t bound)
{
    if (bound <= 1)
        return 0;
    unsigned __int128 m = (unsigned __int128)kv__rng_next(r) * bound;
    uint64_t l = (uint64_t)m;
    if (l < bound) {
        uint64_t t = (0 - bound) % bound;
        while (l < t) {
            m = (unsigned __int128)kv__rng_next(r) * bound;
            l = (uint64_t)m;
        }
    }
    return (uint64_t)(m >> 64);
}

double kv_rng_double(kv_rng *r) { return kv__rng_double(r); }

double kv__normal(kv_rng *r)
{
    double u1 = 1.0 - kv__rng_double(r); /* (0, 1]: log never sees 0 */
    double u2 = kv__rng_double(r);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}
