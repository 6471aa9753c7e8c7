/* timer.c - TSC calibration against CLOCK_MONOTONIC and measurement of each clock's own read cost. */
#include "timer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

kvb_timer_info kvb_timer = {.use_tsc = 0, .ns_per_tick = 1.0};

/* The TSC is a wall clock only when it ticks at a constant rate and keeps ticking in deep C-states. */
static int tsc_invariant(char *why, size_t whylen)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) {
        snprintf(why, whylen, "cannot read /proc/cpuinfo: using clock_gettime");
        return 0;
    }
    char line[8192];
    int constant = 0, nonstop = 0;
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, "flags", 5) != 0)
            continue;
        constant = strstr(line, " constant_tsc") != NULL;
        nonstop = strstr(line, " nonstop_tsc") != NULL;
        break;
    }
    fclose(f);
    if (constant && nonstop) {
        snprintf(why, whylen, "cpu flags constant_tsc and nonstop_tsc present");
        return 1;
    }
    snprintf(why, whylen, "cpu lacks %s: using clock_gettime", !constant ? "constant_tsc" : "nonstop_tsc");
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Median of back-to-back read differences, in the clock's own ticks (as a double for sub-tick means). */
static double median_read_cost(int tsc)
{
    enum { N = 20001 };
    static uint64_t d[N];
    for (int i = 0; i < N; i++) {
        uint64_t a, b;
        if (tsc) {
            a = kvb_rdtsc();
            b = kvb_rdtsc();
        } else {
            a = kvb_monotonic_ns();
            b = kvb_monotonic_ns();
        }
        d[i] = b - a;
    }
    qsort(d, N, sizeof(d[0]), cmp_u64);
    return (double)d[N / 2];
}

/* Ticks per second over ~60 ms, bracketed by clock_gettime on both sides. */
static double calibrate_tsc(void)
{
    uint64_t m0 = kvb_monotonic_ns(), t0 = kvb_rdtsc();
    uint64_t m1;
    do
        m1 = kvb_monotonic_ns();
    while (m1 - m0 < 60000000u);
    uint64_t t1 = kvb_rdtsc();
    return (double)(t1 - t0) * 1e9 / (double)(m1 - m0);
}

int kvb_timer_init(void)
{
    kvb_timer_info t = {.use_tsc = 0, .ns_per_tick = 1.0};
    t.clock_gettime_cost_ns = median_read_cost(0);
    int ok = KVB_HAVE_TSC && tsc_invariant(t.reason, sizeof(t.reason));
    if (!KVB_HAVE_TSC)
        snprintf(t.reason, sizeof(t.reason), "not an x86 CPU: using clock_gettime");
    if (ok) {
        t.tsc_hz = calibrate_tsc();
        if (t.tsc_hz < 1e6) { /* a TSC that does not advance cannot time anything */
            snprintf(t.reason, sizeof(t.reason), "TSC calibration gave %.0f Hz: using clock_gettime", t.tsc_hz);
            ok = 0;
            t.tsc_hz = 0;
        }
    }
    if (ok) {
        t.use_tsc = 1;
        t.ns_per_tick = 1e9 / t.tsc_hz;
        t.tsc_cost_ns = median_read_cost(1) * t.ns_per_tick;
        t.cost_ns = t.tsc_cost_ns;
    } else {
        t.cost_ns = t.clock_gettime_cost_ns;
    }
    kvb_timer = t;
    return 0;
}
