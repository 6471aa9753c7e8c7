/* runner.h - runs the plan (engine x workload x N x rep), each repetition in a fresh child process. */
#ifndef KVB_RUNNER_H
#define KVB_RUNNER_H

#include "bench.h"

#include <stddef.h>

/* Check everything that can be checked before any work (engine options, durability, scans, dirs),
 * run every repetition, write the run directory and print the table and `results: <dir>`.
 * Returns a KVB_EXIT_* code. */
int kvb_runner_run(kvb_opts *o);
/* Create o->out/<run-id>/ with a fresh run id (UTC time + random suffix). 0, or -1 after printing why. */
int kvb_make_run_dir(const kvb_opts *o, char *run_id, size_t idlen, char *dir, size_t dirlen);

#endif
