/* bench.h - the options of a kvbench run and the plan shared by the CLI, the runner and the child. */
#ifndef KVB_BENCH_H
#define KVB_BENCH_H

#include "cpus.h"
#include "engine.h"
#include "pacer.h"
#include "workload.h"

#include <stdint.h>

#define KVB_MAX_ENGINES 32
#define KVB_MAX_WORKLOADS 16
#define KVB_MAX_NS 32
#define KVB_MAX_OPTS 64
#define KVB_MAX_RATES 32
#define KVB_VARIANT_NAME_MAX 64 /* -e NAME+LABEL, with its terminator */

/* Exit codes of kvbench (and of each repetition's child process). */
enum { KVB_EXIT_OK = 0, KVB_EXIT_ENGINE = 1, KVB_EXIT_USAGE = 2, KVB_EXIT_INVALID = 3 };

/* Harness self-test: corrupt one answer as the verifier sees it (after the engine returned it). */
enum kvb_fault { KVB_FAULT_NONE = 0, KVB_FAULT_WRONG, KVB_FAULT_STALE, KVB_FAULT_MISSING };

typedef struct kvb_opts {
    const kv_engine_ops *engines[KVB_MAX_ENGINES];
    size_t nengines;
    kv_workload workloads[KVB_MAX_WORKLOADS]; /* copies, with --mix / --scan-len applied */
    size_t nworkloads;
    uint64_t ns[KVB_MAX_NS];
    size_t nns;
    int reps;
    uint64_t ops;      /* 0 = default for each N: min(max(N, 100000), 1000000) */
    uint64_t warmup;   /* UINT64_MAX = default: 10% of ops */
    int threads;
    enum kv_durability durability;
    enum kv_pages pages; /* --pages: page policy handed to every engine (kv_config.pages) */
    size_t value_size;       /* the largest value (vsize.max) */
    kv_valsize vsize;        /* --value-size: fixed or a distribution */
    enum kv_keyset keyset;
    const int64_t *filekeys;   /* --keys file:PATH: the file's distinct keys, ascending (read by the CLI) */
    uint64_t nfilekeys;
    kv_keyfile_info keyinfo;
    enum kv_access access;
    double theta;
    uint64_t seed;
    int bulk_load;
    const char *dir;   /* parent of the per-repetition data directories */
    const char *out;   /* results root */
    int keep, quiet;
    enum kvb_fault fault;
    int fault_untimed; /* inject the fault into the untimed pass instead of the timed one */
    int seed_per_rep;  /* repetition r uses kvb_rep_seed(seed, r) */
    int cpus_auto;     /* --cpus auto (the default): each cell's CPUs chosen by the runner */
    int cpus[KVB_MAX_CPUS]; /* --cpus LIST; ncpus 0 = not pinned */
    int ncpus;
    uint32_t settle_ms; /* pause after the sync between cells */
    int allow_volatile; /* --durability sync|group on tmpfs/ramfs/overlay */
    kv_option opts[KVB_MAX_OPTS];
    size_t nopts;
    char *command;     /* the command line, shell-quoted */
    /* Open loop (--rate): each entry is ops/s of the whole run, or (rate_pct set) a percentage of the
     * cell's closed-loop throughput, measured first in the same run. nrates 0 = closed loop only. */
    double rates[KVB_MAX_RATES];
    int rate_pct[KVB_MAX_RATES];
    size_t nrates;
    enum kvb_arrival arrival;
    double duration_s;    /* --duration: the timed pass runs this long instead of --ops; 0 = off */
    uint64_t interval_ms; /* --interval: time series of the timed pass; 0 = off */
    int only_rep;      /* >= 0: run only this repetition (--rep-index, a plan's cell); -1: all */
    const char *plan_dir; /* sweep --plan DIR: write the cells instead of running them */
    int run_local;     /* sweep --plan DIR --run-local: then run the cells here, one by one */
    int share_load;    /* --share-load: each (engine, N, rep) loads once and runs every -w in the given order */
} kvb_opts;

/* One repetition: what the child process runs. */
typedef struct kvb_rep {
    const kvb_opts *o;
    const kv_engine_ops *engine;
    const kv_workload *workload;
    uint64_t n, ops, warmup;
    int rep;
    double rate;             /* offered ops/s of the timed pass (all threads); 0 = closed loop */
    double rate_pct;         /* the --rate percentage it came from; 0 when given in ops/s */
    uint64_t seed;           /* the seed of this repetition (--seed, or derived with --seed-per-rep) */
    int cell, ncells;        /* position in the run's shuffled cell order */
    double loadavg[3];       /* /proc/loadavg before the cell; < 0 when unreadable */
    int cpus[KVB_MAX_CPUS];  /* measuring thread t runs on cpus[t % ncpus] (chosen per cell by --cpus auto) */
    int ncpus;
    const char *run_id;
    const char *data_dir;    /* fresh, empty */
    const char *result_path; /* where the child writes its JSON */
    /* --share-load: the child loads once, then runs seq[0..nseq) in turn on the same store, writing the
     * result of seq[i] (seq_ops[i] ops) to seq_paths[i]; seq_pos is the workload a result is for. nseq 0:
     * one workload (workload, ops, result_path). */
    int nseq, seq_pos;
    const kv_workload *seq[KVB_MAX_WORKLOADS];
    uint64_t seq_ops[KVB_MAX_WORKLOADS];
    const char *seq_paths[KVB_MAX_WORKLOADS];
} kvb_rep;

/* The -o options for engine e: unscoped ones, `e.key=value` ones with the prefix dropped, and for a
 * variant `NAME+LABEL` also NAME's (before its own). out has room for KVB_MAX_OPTS; returns the count. */
size_t kvb_engine_opts(const kvb_opts *o, const kv_engine_ops *e, kv_option *out);
/* Whether the option scope scope[0..len) names engine: 2 = exactly, 1 = the base engine of the variant
 * `engine` (NAME+LABEL), 0 = not. */
int kvb_engine_scope(const char *engine, const char *scope, size_t len);

/* The seed of repetition rep: --seed itself for rep 0, a mix of (seed, rep) for the others. */
uint64_t kvb_rep_seed(uint64_t seed, int rep);

/* Effective ops / warm-up for a given N. */
uint64_t kvb_ops_for(const kvb_opts *o, uint64_t n);
uint64_t kvb_warmup_for(const kvb_opts *o, uint64_t n);

#endif
