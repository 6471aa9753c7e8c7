/* runner.h - runs the plan (engine x workload x N x rep), each repetition in a fresh child process. */
#ifndef KVB_RUNNER_H
#define KVB_RUNNER_H

#include "bench.h"

#include <stddef.h>

/* Check everything that can be checked before any work (engine options, durability, scans, dirs),
 * run every repetition, write the run directory and print the table and `results: <dir>`.
 * Returns a KVB_EXIT_* code. */
int kvb_runner_run(kvb_opts *o);
/* One cell of a run: indexes into o->engines, o->workloads, o->ns, and a repetition. Under
 * --share-load (o->share_load) workload is always 0 and the cell runs every workload in order. */
typedef struct kvb_cell {
    size_t engine, workload, n;
    int rep;
} kvb_cell;

/* Every cell of the run (only repetition o->only_rep when that is >= 0) in an order shuffled from
 * the run's seed (Fisher-Yates), so machine drift spreads over all engines instead of reading as a
 * difference between them. malloc'd; NULL when out of memory. Plans use the same order. */
kvb_cell *kvb_run_cells(const kvb_opts *o, size_t *ncells);

/* Create o->out/<run-id>/ with a fresh run id (UTC time + random suffix). 0, or -1 after printing why. */
int kvb_make_run_dir(const kvb_opts *o, char *run_id, size_t idlen, char *dir, size_t dirlen);

#endif
