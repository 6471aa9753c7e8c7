/* intervals.h - per-interval time series of the timed pass (--interval MS): ops, p50/p99/max per slot. */
#ifndef KVB_INTERVALS_H
#define KVB_INTERVALS_H

#include <stddef.h>
#include <stdint.h>

/* A coarser histogram than hist.h per interval, so thousands of intervals fit: values 0..31 ns exact,
 * above, 32 sub-buckets per power of two (relative error <= 1/32 = 3.1%), 32-bit counts. */
#define KVB_IV_SUB_BITS 5
#define KVB_IV_SUB_COUNT (1u << KVB_IV_SUB_BITS)
#define KVB_IV_MAX_EXP 48
#define KVB_IV_NBUCKETS (KVB_IV_SUB_COUNT * (KVB_IV_MAX_EXP - KVB_IV_SUB_BITS + 1))
/* Slots kept per thread (about 5.6 KiB each); later intervals are dropped and the series marked truncated. */
#define KVB_IV_MAX_SLOTS 20000

typedef struct kvb_iv_slot {
    uint64_t count, max;
    uint32_t buckets[KVB_IV_NBUCKETS];
} kvb_iv_slot;

typedef struct kvb_intervals {
    uint64_t width_ticks;
    uint64_t start;     /* tick of this thread's first op of the pass; 0 before it */
    size_t n, cap;      /* slots in use, allocated */
    kvb_iv_slot *slots;
    uint64_t dropped;   /* ops past KVB_IV_MAX_SLOTS intervals, or lost to a failed allocation */
} kvb_intervals;

/* width_ms > 0; call kvb_timer_init() first. Cannot fail (slots are allocated as intervals appear). */
void kvb_intervals_init(kvb_intervals *iv, uint64_t width_ms);
void kvb_intervals_free(kvb_intervals *iv);
/* Forget every slot (a new pass). */
void kvb_intervals_reset(kvb_intervals *iv);
/* Make slot i exist (zeroed); 0, or -1 when i is past the limit or memory ran out. */
int kvb_intervals_grow(kvb_intervals *iv, size_t i);

static inline size_t kvb_iv_index(uint64_t v)
{
    if (v < KVB_IV_SUB_COUNT)
        return (size_t)v;
    unsigned e = 63u - (unsigned)__builtin_clzll(v);
    if (e >= KVB_IV_MAX_EXP)
        return KVB_IV_NBUCKETS - 1;
    unsigned shift = e - KVB_IV_SUB_BITS;
    return (size_t)(shift + 1) * KVB_IV_SUB_COUNT + (size_t)((v >> shift) - KVB_IV_SUB_COUNT);
}

/* One op that started at t0 and ended at t1 (ticks), with latency ns: counted in the interval of t1. */
static inline void kvb_intervals_record(kvb_intervals *iv, uint64_t t0, uint64_t t1, uint64_t ns)
{
    if (!iv->start)
        iv->start = t0;
    size_t i = (size_t)((t1 - iv->start) / iv->width_ticks);
    if (i >= iv->n && kvb_intervals_grow(iv, i) != 0) {
        iv->dropped++;
        return;
    }
    kvb_iv_slot *s = &iv->slots[i];
    s->buckets[kvb_iv_index(ns)]++;
    s->count++;
    if (ns > s->max)
        s->max = ns;
}

/* One row of the merged series. */
typedef struct kvb_iv_row {
    double t_start_s, t_end_s;
    uint64_t ops;
    double ops_per_sec;
    uint64_t p50_ns, p99_ns, max_ns;
} kvb_iv_row;

/* The merged series of a phase, as the result JSON and the CSV carry it. */
typedef struct kvb_iv_series {
    uint64_t width_ms;
    int response;       /* 1: latencies are response times (--rate), 0: service times */
    kvb_iv_row *rows;
    size_t n;
    uint64_t dropped;
    char csv[256];      /* file name of the CSV in the run directory */
} kvb_iv_series;

/* The threads' series merged slot by slot into rows (malloc'd, *nrows of them); elapsed_ns (wall time of
 * the pass) ends the last row. *dropped = ops not in any row. 0, or -1 on ENOMEM. */
int kvb_intervals_merge(kvb_intervals *const *per_thread, int nthreads, uint64_t width_ms, uint64_t elapsed_ns,
                        kvb_iv_row **rows, size_t *nrows, uint64_t *dropped);
/* Write rows as CSV (header t_start_s,t_end_s,ops,ops_per_sec,p50_ns,p99_ns,max_ns). 0, or -1 with a message. */
int kvb_intervals_write_csv(const char *path, const kvb_iv_row *rows, size_t nrows, char *err, size_t errlen);

#endif
