/* hist.c - histogram merge, bucket bounds, percentiles and export. */
#include "hist.h"

#include <math.h>
#include <string.h>

void kvb_hist_reset(kvb_hist *h)
{
    memset(h, 0, sizeof(*h));
    h->min = UINT64_MAX;
}

void kvb_hist_bucket_range(size_t i, uint64_t *lo, uint64_t *hi)
{
    if (i < KVB_HIST_SUB_COUNT) {
        *lo = *hi = i;
        return;
    }
    unsigned shift = (unsigned)(i / KVB_HIST_SUB_COUNT) - 1;
    uint64_t sub = i % KVB_HIST_SUB_COUNT + KVB_HIST_SUB_COUNT;
    *lo = sub << shift;
    *hi = i == KVB_HIST_NBUCKETS - 1 ? UINT64_MAX : *lo + (1ull << shift) - 1;
}

void kvb_hist_merge(kvb_hist *dst, const kvb_hist *src)
{
    if (!src->count)
        return;
    for (size_t i = 0; i < KVB_HIST_NBUCKETS; i++)
        dst->buckets[i] += src->buckets[i];
    dst->count += src->count;
    dst->sum += src->sum;
    if (src->min < dst->min)
        dst->min = src->min;
    if (src->max > dst->max)
        dst->max = src->max;
}

uint64_t kvb_hist_percentile(const kvb_hist *h, double p)
{
    if (!h->count)
        return 0;
    if (p <= 0)
        return h->min;
    double r = ceil(p / 100.0 * (double)h->count);
    uint64_t rank = r < 1 ? 1 : r > (double)h->count ? h->count : (uint64_t)r;
    uint64_t seen = 0;
    for (size_t i = 0; i < KVB_HIST_NBUCKETS; i++) {
        seen += h->buckets[i];
        if (seen >= rank) {
            uint64_t lo, hi;
            kvb_hist_bucket_range(i, &lo, &hi);
            return hi < h->max ? hi : h->max;
        }
    }
    return h->max;
}

double kvb_hist_mean(const kvb_hist *h)
{
    return h->count ? (double)h->sum / (double)h->count : 0.0;
}

void kvb_hist_foreach(const kvb_hist *h, void (*cb)(void *arg, uint64_t lo, uint64_t hi, uint64_t count),
                      void *arg)
{
    for (size_t i = 0; i < KVB_HIST_NBUCKETS; i++) {
        if (!h->buckets[i])
            continue;
        uint64_t lo, hi;
        kvb_hist_bucket_range(i, &lo, &hi);
        if (i == KVB_HIST_NBUCKETS - 1) /* the overflow bucket is open-ended: its top is the max */
            hi = h->max;
        cb(arg, lo, hi, h->buckets[i]);
    }
}
