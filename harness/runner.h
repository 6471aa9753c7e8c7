/* runner.h - runs the plan (engine x workload x N x rep), each repetition in a fresh child process. */
#ifndef KVB_RUNNER_H
#define KVB_RUNNER_H

#include "bench.h"

/* Check everything that can be checked before any work (engine options, durability, scans, dirs),
 * run every repetition, write the run directory and print the table and `results: <dir>`.
 * Returns a KVB_EXIT_* code. */
int kvb_runner_run(kvb_opts *o);

#endif
