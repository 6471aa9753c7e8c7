/* untimed.h - the untimed pass measures the engine: every op is generated before the pass, each answer
 * is recorded during it, and the answers are checked after it. */
#ifndef KVB_UNTIMED_H
#define KVB_UNTIMED_H

#include "progress.h"
#include "worker.h"

#include <stdint.h>

/* One thread's ops for the pass and what came back. */
typedef struct kvb_plan {
    kv_op *ops;
    uint64_t n;
    kvb_answer *answers;     /* [n]: a get's answer; a scan's kept records (digest = first, len = count;
                                digest UINT64_MAX = not kept) */
    unsigned char *values;   /* the write ops' values, in op order; NULL = made during the pass */
    size_t value_size;
    uint64_t scan_every;     /* every scan_every-th scan keeps its records for checking */
    uint64_t scans_seen;
    kvb_scan_rec *recs;      /* kept scan records, and their bytes at value_size each */
    unsigned char *bytes;
    uint64_t nrecs, rec_cap;
} kvb_plan;

typedef struct kvb_untimed {
    kvb_plan *plans;         /* [nthreads] */
    int nthreads;
    kv_dataset *ds;
    uint32_t *versions;      /* the data set's state before the ops were generated, replayed to check */
    uint8_t *deleted;        /*   scans at the state of their time; NULL when no plan scans */
    uint64_t bytes;          /* memory of the plans */
    uint64_t scan_every;     /* the largest scan_every of the threads (0: no scans) */
    int values_pregenerated;
} kvb_untimed;

/* Share of thread t when total ops are split over nthreads (the first total % nthreads get one more). */
static inline uint64_t kvb_share_of(uint64_t total, int nthreads, int t)
{
    return total / (uint64_t)nthreads + ((uint64_t)t < total % (uint64_t)nthreads);
}

/* Generate each worker's share of `total` ops from its op stream (which advances, and updates the data
 * set, as if the ops ran), pre-make write values when they fit in memory, and touch every page the
 * pass will write. 0, or -1 with a message in err (out of memory, or a stream that ran dry). */
int kvb_untimed_prepare(kvb_untimed *u, kvb_worker *workers, int nthreads, uint64_t total, char *err,
                        size_t errlen);
/* The pass body of one thread: run its plan and record the answers (no clock, no checks). 0, or -1
 * with w->err. progress may be NULL. */
int kvb_untimed_run(kvb_worker *w, kvb_plan *p, kvb_progress *progress);
/* After the pass, single-threaded: check every get's answer and the kept scans (against the data set's
 * state replayed to each scan's time), counting into each worker's w->ver; a pending w->fault applies
 * to the first checked answer. Leaves the data set's state as after the pass. */
void kvb_untimed_check(kvb_untimed *u, kvb_worker *workers);
void kvb_untimed_free(kvb_untimed *u);

#endif
