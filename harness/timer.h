/* timer.h - the per-operation clock: a calibrated TSC read when the TSC is invariant, else CLOCK_MONOTONIC. */
#ifndef KVB_TIMER_H
#define KVB_TIMER_H

#include <stdint.h>
#include <time.h>

typedef struct kvb_timer_info {
    int use_tsc;               /* 1 when ticks are TSC cycles, 0 when they are clock_gettime ns */
    double tsc_hz;             /* calibrated TSC frequency (0 when not used) */
    double ns_per_tick;        /* 1.0 for clock_gettime */
    double cost_ns;            /* median cost of one read of the chosen clock (back-to-back reads) */
    double tsc_cost_ns;        /* median cost of one TSC read (0 when the TSC cannot be used) */
    double clock_gettime_cost_ns; /* median cost of one clock_gettime(CLOCK_MONOTONIC) */
    char reason[128];          /* why the TSC was or was not chosen */
} kvb_timer_info;

/* The process-wide timer, set by kvb_timer_init(). */
extern kvb_timer_info kvb_timer;

/* Calibrate (about 60 ms) and measure read costs. Call once before any timing; returns 0. */
int kvb_timer_init(void);

static inline uint64_t kvb_monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#if defined(__x86_64__) || defined(__i386__)
/* rdtscp waits for earlier instructions to finish; the lfence keeps later ones from starting early. */
static inline uint64_t kvb_rdtsc(void)
{
    uint32_t lo, hi, aux;
    __asm__ __volatile__("rdtscp\n\tlfence" : "=a"(lo), "=d"(hi), "=c"(aux)::"memory");
    return ((uint64_t)hi << 32) | lo;
}
#define KVB_HAVE_TSC 1
#else
static inline uint64_t kvb_rdtsc(void) { return 0; }
#define KVB_HAVE_TSC 0
#endif

/* Current time in ticks of the chosen clock. */
static inline uint64_t kvb_now(void)
{
    return kvb_timer.use_tsc ? kvb_rdtsc() : kvb_monotonic_ns();
}

/* Ticks to nanoseconds (rounded to nearest). */
static inline uint64_t kvb_ticks_to_ns(uint64_t ticks)
{
    return kvb_timer.use_tsc ? (uint64_t)((double)ticks * kvb_timer.ns_per_tick + 0.5) : ticks;
}

#endif
