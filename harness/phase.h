/* phase.h - runs one pass (load, warm-up, timed or untimed) over T worker threads and merges results. */
#ifndef KVB_PHASE_H
#define KVB_PHASE_H

#include "perf.h"
#include "progress.h"
#include "untimed.h"
#include "worker.h"

enum kvb_pass_kind { KVB_PASS_LOAD = 0, KVB_PASS_OPS };

typedef struct kvb_pass {
    enum kvb_pass_kind kind;
    uint64_t total;      /* ops (all threads) or keys to load */
    int timed;           /* record per-op latency */
    uint64_t duration_ns; /* ops passes: each thread stops issuing after this long (0 = run all `total`) */
    kvb_progress *progress;
    kvb_plan *plans;     /* untimed pass from pre-generated plans (plans[t] for thread t); NULL = op streams */
    const int *cpus;     /* thread t runs on cpus[t % ncpus] during the pass; ncpus 0 = not pinned */
    int ncpus;
} kvb_pass;

/* One phase as written to the result JSON. */
typedef struct kvb_phase_result {
    char name[32];
    int timed;
    int bulk;                    /* the load was one bulk_load call */
    uint64_t ops;
    uint64_t elapsed_ns;         /* timed pass (or the only pass) */
    int has_untimed;
    uint64_t untimed_elapsed_ns;
    uint64_t untimed_plan_bytes;  /* memory of the pre-generated ops, answers and kept scan records */
    uint64_t untimed_scan_every;  /* every k-th scan's records checked (0: no scans) */
    int untimed_values_pregenerated;
    kvb_hist *all;               /* NULL when not timed */
    kvb_hist *by_op[KV_OP__COUNT];
    kvb_ol_summary *open_loop;   /* NULL unless the timed pass ran under --rate */
    kvb_iv_series *series;       /* NULL unless --interval */
    int duration_capped;         /* --duration: the timed pass ran out of ops before the time was up */
    int has_perf;
    kvb_perf_value perf[KVB_PERF__COUNT];
    char perf_reason[KVB_PERF__COUNT][96];
} kvb_phase_result;

/* Run a pass on workers[0..T): each starts at a barrier; returns the wall time in *elapsed_ns.
 * Timed passes reset each worker's histograms first. 0, or -1 when a worker failed (its w->err). */
int kvb_pass_run(kvb_worker *workers, int nthreads, const kvb_pass *pass, uint64_t *elapsed_ns);
/* Merge the workers' histograms into r (allocating r's). 0, or -1 on ENOMEM. */
int kvb_phase_take_hists(kvb_phase_result *r, kvb_worker *workers, int nthreads);
void kvb_phase_free(kvb_phase_result *r);

#endif
