/* pacer.h - open-loop schedule of one thread: intended start times at a fixed rate, spin-waited. */
#ifndef KVB_PACER_H
#define KVB_PACER_H

#include <stdint.h>

/* Spacing of intended starts: fixed (uniform) or exponential (a Poisson process) around the same mean. */
enum kvb_arrival { KVB_ARRIVAL_UNIFORM = 0, KVB_ARRIVAL_POISSON };

const char *kvb_arrival_name(enum kvb_arrival a);
int kvb_arrival_parse(const char *s, enum kvb_arrival *out); /* 0, or -1 for an unknown name */

typedef struct kvb_pacer {
    enum kvb_arrival arrival;
    double gap_ticks; /* mean spacing of this thread's intended starts, in timer ticks */
    double stagger;   /* ticks from the anchor to this thread's first intended start */
    double offset;    /* Poisson: ticks from the anchor to the next intended start */
    uint64_t k;       /* intended starts handed out so far */
    uint64_t start;   /* tick the schedule is anchored at; 0 until the first wait */
    uint64_t rng;
} kvb_pacer;

/* A schedule of ops_per_sec (> 0) for this thread. With T threads each gets rate / T; thread t of T
 * starts its uniform schedule t/T of a gap late, so the threads' starts interleave evenly.
 * Call kvb_timer_init() first (the gap is converted to timer ticks). */
void kvb_pacer_init(kvb_pacer *p, double ops_per_sec, enum kvb_arrival a, int thread, int nthreads,
                    uint64_t seed);
/* Forget the anchor: the next wait starts a fresh schedule at the current time. */
void kvb_pacer_restart(kvb_pacer *p);
/* Spin (with a pause instruction; sleeping costs too much at microsecond spacing) until the next
 * intended start, and return it in timer ticks. When behind schedule it returns at once with a past
 * time: the schedule never slips, so a backlog shows up as lag and response time. */
uint64_t kvb_pacer_wait(kvb_pacer *p);

#endif
