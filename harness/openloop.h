/* openloop.h - per-thread response-time and lag recording under --rate, merged into a saturation verdict. */
#ifndef KVB_OPENLOOP_H
#define KVB_OPENLOOP_H

#include "hist.h"
#include "pacer.h"
#include "timer.h"
#include "workload.h"

#include <stdint.h>

/* Offered load below which the saturation detector does not look at lag: one scheduler tick of a
 * busy 2-core VM can delay a thread this long without the engine being at fault. */
#define KVB_SATURATION_LAG_FLOOR_NS 1000000ull
/* Achieved / offered below this is saturation. */
#define KVB_SATURATION_MIN_RATIO 0.95
/* Lag at the end of the pass above this share of the intended duration is saturation (a backlog
 * that was still there when the pass ended). */
#define KVB_SATURATION_LAG_SHARE 0.05

/* One thread's open-loop state for the timed pass. */
typedef struct kvb_openloop {
    kvb_pacer pacer;
    kvb_hist *response;                    /* from the intended start to the end of the op */
    kvb_hist *response_by_op[KV_OP__COUNT];
    kvb_hist *lag;                         /* actual start - intended start */
    uint64_t below_service;                /* ops whose response time came out below their service time */
    double lag_recent_ns;                  /* moving average over about the last 1000 ops */
} kvb_openloop;

/* Allocate the histograms; 0, or -1 on ENOMEM (free with kvb_openloop_free). */
int kvb_openloop_init(kvb_openloop *ol);
void kvb_openloop_free(kvb_openloop *ol);
/* Empty the histograms and restart the schedule (a new pass). */
void kvb_openloop_reset(kvb_openloop *ol);

/* One op issued at `intended` that really started at t0 and ended at t1 (timer ticks). Called
 * right after the service-time record, inside the worker's hot path. */
static inline void kvb_openloop_record(kvb_openloop *ol, enum kv_optype type, uint64_t intended, uint64_t t0,
                                       uint64_t t1, uint64_t service_ns)
{
    uint64_t lag_ns = t0 > intended ? kvb_ticks_to_ns(t0 - intended) : 0;
    uint64_t resp_ns = t1 > intended ? kvb_ticks_to_ns(t1 - intended) : 0;
    if (t0 < intended || resp_ns < service_ns)
        ol->below_service++; /* cannot happen with a monotonic clock: counted so a test can prove it */
    kvb_hist_record(ol->response, resp_ns);
    kvb_hist_record(ol->response_by_op[type], resp_ns);
    kvb_hist_record(ol->lag, lag_ns);
    ol->lag_recent_ns += ((double)lag_ns - ol->lag_recent_ns) * (1.0 / 1024);
}

/* The merged open-loop outcome of a timed pass. */
typedef struct kvb_ol_summary {
    double offered;            /* ops/s of the whole run (all threads) */
    enum kvb_arrival arrival;
    int threads;
    uint64_t ops;
    uint64_t elapsed_ns;
    double achieved;           /* ops / elapsed */
    kvb_hist *response;
    kvb_hist *response_by_op[KV_OP__COUNT];
    kvb_hist *lag;
    uint64_t below_service;
    uint64_t lag_end_ns;       /* largest per-thread lag average at the end of the pass */
    int saturated;
    char reason[200];          /* why it is (or is not) saturated */
} kvb_ol_summary;

/* Merge the threads' recorders and judge saturation. 0, or -1 on ENOMEM. */
int kvb_openloop_summarize(kvb_ol_summary *s, kvb_openloop *const *per_thread, int nthreads, double offered,
                           enum kvb_arrival arrival, uint64_t ops, uint64_t elapsed_ns);
void kvb_ol_summary_free(kvb_ol_summary *s);

#endif
