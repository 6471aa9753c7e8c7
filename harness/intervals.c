/* intervals.c - time-series slots: growth, merging across threads, percentiles per slot, CSV. */
#include "intervals.h"

#include "timer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void kvb_intervals_init(kvb_intervals *iv, uint64_t width_ms)
{
    memset(iv, 0, sizeof(*iv));
    double ns = (double)width_ms * 1e6;
    iv->width_ticks = (uint64_t)(kvb_timer.use_tsc ? ns / kvb_timer.ns_per_tick : ns);
    if (!iv->width_ticks)
        iv->width_ticks = 1;
}

void kvb_intervals_free(kvb_intervals *iv)
{
    free(iv->slots);
    iv->slots = NULL;
    iv->n = iv->cap = 0;
}

void kvb_intervals_reset(kvb_intervals *iv)
{
    if (iv->slots)
        memset(iv->slots, 0, iv->n * sizeof(*iv->slots));
    iv->n = 0;
    iv->start = 0;
    iv->dropped = 0;
}

int kvb_intervals_grow(kvb_intervals *iv, size_t i)
{
    if (i >= KVB_IV_MAX_SLOTS)
        return -1;
    if (i >= iv->cap) {
        size_t cap = iv->cap ? iv->cap : 16;
        while (cap <= i)
            cap *= 2;
        if (cap > KVB_IV_MAX_SLOTS)
            cap = KVB_IV_MAX_SLOTS;
        kvb_iv_slot *s = realloc(iv->slots, cap * sizeof(*s));
        if (!s)
            return -1;
        iv->slots = s;
        iv->cap = cap;
    }
    memset(&iv->slots[iv->n], 0, (i + 1 - iv->n) * sizeof(*iv->slots));
    iv->n = i + 1;
    return 0;
}

static void bucket_hi(size_t i, uint64_t *hi)
{
    if (i < KVB_IV_SUB_COUNT) {
        *hi = i;
        return;
    }
    unsigned shift = (unsigned)(i / KVB_IV_SUB_COUNT) - 1;
    uint64_t lo = (uint64_t)(i % KVB_IV_SUB_COUNT + KVB_IV_SUB_COUNT) << shift;
    *hi = lo + (1ull << shift) - 1;
}

/* Same convention as kvb_hist_percentile: the top of the bucket holding the rank, capped at max. */
static uint64_t slot_percentile(const kvb_iv_slot *s, double p)
{
    if (!s->count)
        return 0;
    uint64_t rank = (uint64_t)(p / 100.0 * (double)s->count + 0.999999);
    if (rank < 1)
        rank = 1;
    uint64_t seen = 0;
    for (size_t i = 0; i < KVB_IV_NBUCKETS; i++) {
        seen += s->buckets[i];
        if (seen >= rank) {
            uint64_t hi;
            bucket_hi(i, &hi);
            return hi < s->max ? hi : s->max;
        }
    }
    return s->max;
}

int kvb_intervals_merge(kvb_intervals *const *per_thread, int nthreads, uint64_t width_ms, uint64_t elapsed_ns,
                        kvb_iv_row **rows, size_t *nrows, uint64_t *dropped)
{
    size_t n = 0;
    *dropped = 0;
    for (int t = 0; t < nthreads; t++) {
        if (per_thread[t]->n > n)
            n = per_thread[t]->n;
        *dropped += per_thread[t]->dropped;
    }
    *rows = NULL;
    *nrows = 0;
    if (!n)
        return 0;
    kvb_iv_slot *sum = malloc(sizeof(*sum));
    kvb_iv_row *out = calloc(n, sizeof(*out));
    if (!sum || !out) {
        free(sum);
        free(out);
        return -1;
    }
    double width_s = (double)width_ms / 1e3, elapsed_s = (double)elapsed_ns / 1e9;
    for (size_t i = 0; i < n; i++) {
        memset(sum, 0, sizeof(*sum));
        for (int t = 0; t < nthreads; t++) {
            const kvb_intervals *iv = per_thread[t];
            if (i >= iv->n)
                continue;
            const kvb_iv_slot *s = &iv->slots[i];
            for (size_t b = 0; b < KVB_IV_NBUCKETS; b++)
                sum->buckets[b] += s->buckets[b];
            sum->count += s->count;
            if (s->max > sum->max)
                sum->max = s->max;
        }
        kvb_iv_row *r = &out[i];
        r->t_start_s = (double)i * width_s;
        r->t_end_s = (double)(i + 1) * width_s;
        /* the last slot ends with the pass (threads start within microseconds of each other) */
        if (i == n - 1 && elapsed_s > r->t_start_s && elapsed_s < r->t_end_s)
            r->t_end_s = elapsed_s;
        r->ops = sum->count;
        r->ops_per_sec = (double)sum->count / (r->t_end_s - r->t_start_s);
        r->p50_ns = slot_percentile(sum, 50);
        r->p99_ns = slot_percentile(sum, 99);
        r->max_ns = sum->max;
    }
    free(sum);
    *rows = out;
    *nrows = n;
    return 0;
}

int kvb_intervals_write_csv(const char *path, const kvb_iv_row *rows, size_t nrows, char *err, size_t errlen)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
        return -1;
    }
    fputs("t_start_s,t_end_s,ops,ops_per_sec,p50_ns,p99_ns,max_ns\n", f);
    for (size_t i = 0; i < nrows; i++)
        fprintf(f, "%.6f,%.6f,%llu,%.1f,%llu,%llu,%llu\n", rows[i].t_start_s, rows[i].t_end_s,
                (unsigned long long)rows[i].ops, rows[i].ops_per_sec, (unsigned long long)rows[i].p50_ns,
                (unsigned long long)rows[i].p99_ns, (unsigned long long)rows[i].max_ns);
    if (ferror(f) | fclose(f)) {
        snprintf(err, errlen, "writing %s failed (disk full?)", path);
        return -1;
    }
    return 0;
}
