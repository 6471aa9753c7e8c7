/* plan.h - a sweep written out as independent cells (one command line each), for Slurm job arrays or
 * any other executor, and the running of one cell with its data and output on a node's local disk.
 *
 * A plan directory holds:
 *   plan.json   {"schema": "kvbench-plan/1", "command", "cells": [{"id", "engine", "workload", "n",
 *               "rep", "args": [...]}]}
 *   cells.txt   line i = the shell-quoted kvbench arguments of cell i (what `kvbench cell` runs)
 *   cells/ID/   the run directory that cell ID produced (copied back by `kvbench cell`)
 * The cells of a plan are in an order shuffled from the run's seed, so that an array that runs them in
 * index order interleaves engines and repetitions the way a local run does.
 */
#ifndef KVB_PLAN_H
#define KVB_PLAN_H

#include "bench.h"

#define KVB_PLAN_SCHEMA "kvbench-plan/1"

/* Write the plan of the sweep o into o->plan_dir. argv/argc are the sweep's own arguments (after the
 * command name), from which every option that does not choose the cell (-e, -w, -n, --reps, --dir,
 * --out, --plan, --run-local) is passed on to each cell verbatim. Prints how to submit it.
 * Returns a KVB_EXIT_* code. */
int kvb_plan_write(const kvb_opts *o, int argc, char **argv);

/* Run every cell of the plan in dir, one after the other, on this machine (no Slurm): each as
 * `kvbench cell DIR ID --local data_root`. Returns KVB_EXIT_OK when every cell succeeded, else the
 * first failing cell's code (the remaining cells still run). */
int kvb_plan_run_local(const char *dir, const char *data_root);

/* `kvbench cell PLAN ID [--local DIR]`: run cell ID of the plan with its data directory and results
 * under DIR (default $TMPDIR or /tmp), then copy the results to PLAN/cells/ID/. Returns the cell's
 * kvbench exit code, or KVB_EXIT_USAGE / KVB_EXIT_ENGINE when the cell could not be run or copied. */
int kvb_cell_main(int argc, char **argv);

#endif
