/* hist.h - log-linear latency histogram (HdrHistogram-style): 128 linear sub-buckets per power of two. */
#ifndef KVB_HIST_H
#define KVB_HIST_H

#include <stddef.h>
#include <stdint.h>

/* Values 0..127 ns are exact; above, each power of two [2^e, 2^(e+1)) is split into 128 equal
 * sub-buckets, so a bucket's width is at most 1/128 of its lowest value (relative error <= 0.78%).
 * Values >= 2^KVB_HIST_MAX_EXP ns (~78 hours) land in the last bucket; max stays exact. */
#define KVB_HIST_SUB_BITS 7
#define KVB_HIST_SUB_COUNT (1u << KVB_HIST_SUB_BITS)
#define KVB_HIST_MAX_EXP 48
#define KVB_HIST_NBUCKETS (KVB_HIST_SUB_COUNT * (KVB_HIST_MAX_EXP - KVB_HIST_SUB_BITS + 1))

typedef struct kvb_hist {
    uint64_t count;
    uint64_t sum;  /* sum of recorded values (ns), for an exact mean */
    uint64_t min;  /* UINT64_MAX while empty */
    uint64_t max;
    uint64_t buckets[KVB_HIST_NBUCKETS];
} kvb_hist;

/* Empty the histogram. Cannot fail. */
void kvb_hist_reset(kvb_hist *h);

/* Index of the bucket holding v. */
static inline size_t kvb_hist_index(uint64_t v)
{
    if (v < KVB_HIST_SUB_COUNT)
        return (size_t)v;
    unsigned e = 63u - (unsigned)__builtin_clzll(v);
    if (e >= KVB_HIST_MAX_EXP)
        return KVB_HIST_NBUCKETS - 1;
    unsigned shift = e - KVB_HIST_SUB_BITS;
    return (size_t)(shift + 1) * KVB_HIST_SUB_COUNT + (size_t)((v >> shift) - KVB_HIST_SUB_COUNT);
}

/* Record one value: O(1), no allocation. */
static inline void kvb_hist_record(kvb_hist *h, uint64_t v)
{
    h->buckets[kvb_hist_index(v)]++;
    h->count++;
    h->sum += v;
    if (v < h->min)
        h->min = v;
    if (v > h->max)
        h->max = v;
}

/* Lowest and highest value of bucket i (inclusive). */
void kvb_hist_bucket_range(size_t i, uint64_t *lo, uint64_t *hi);
/* dst += src. Cannot fail. */
void kvb_hist_merge(kvb_hist *dst, const kvb_hist *src);
/* Value at percentile p (0..100]: the highest value equivalent to the bucket holding the
 * ceil(p/100 * count)-th smallest value, capped at max; never below the exact percentile. 0 if empty. */
uint64_t kvb_hist_percentile(const kvb_hist *h, double p);
/* Exact mean of recorded values; 0 if empty. */
double kvb_hist_mean(const kvb_hist *h);
/* Calls cb(arg, lo, hi, count) for every non-empty bucket in ascending order. */
void kvb_hist_foreach(const kvb_hist *h, void (*cb)(void *arg, uint64_t lo, uint64_t hi, uint64_t count),
                      void *arg);

#endif
