/* perf.h - perf_event_open counters around a phase; each counter independently available or not. */
#ifndef KVB_PERF_H
#define KVB_PERF_H

#include <stdint.h>

enum kvb_perf_id {
    KVB_PERF_CYCLES = 0,
    KVB_PERF_INSTRUCTIONS,
    KVB_PERF_CACHE_MISSES,
    KVB_PERF_BRANCH_MISSES,
    KVB_PERF_DTLB_MISSES,
    KVB_PERF_TASK_CLOCK,
    KVB_PERF_PAGE_FAULTS,
    KVB_PERF_CONTEXT_SWITCHES,
    KVB_PERF_CPU_MIGRATIONS,
    KVB_PERF__COUNT
};

typedef struct kvb_perf_raw {
    uint64_t value, enabled, running;
} kvb_perf_raw;

typedef struct kvb_perf {
    int fd[KVB_PERF__COUNT];        /* -1 when unavailable */
    char reason[KVB_PERF__COUNT][96]; /* why unavailable */
    kvb_perf_raw start[KVB_PERF__COUNT];
} kvb_perf;

/* One counter's result over a phase. */
typedef struct kvb_perf_value {
    int available;
    int scaled;         /* multiplexed: value extrapolated from time_enabled / time_running */
    uint64_t value;
    const char *reason; /* when unavailable */
} kvb_perf_value;

/* The JSON name of a counter ("cycles", "task_clock_ns", ...). */
const char *kvb_perf_name(enum kvb_perf_id id);
/* Open every counter for this process and the threads it creates later (inherit). Counters that
 * cannot be opened are marked unavailable with the errno text; never fails (returns 0). */
int kvb_perf_open(kvb_perf *p);
/* Remember the current counts as the start of a phase. Returns 0. */
int kvb_perf_begin(kvb_perf *p);
/* Counts since kvb_perf_begin into out[KVB_PERF__COUNT]. Threads created since begin must have been
 * joined (inherited counts are folded in when a thread exits). Returns 0. */
int kvb_perf_end(kvb_perf *p, kvb_perf_value out[KVB_PERF__COUNT]);
void kvb_perf_close(kvb_perf *p);

#endif
