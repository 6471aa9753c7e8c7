/* merge.h - `kvbench merge`: join the results of plan cells (or whole run directories) into one run
 * directory with the usual summary.csv / histograms.csv, keeping every cell's machine manifest. */
#ifndef KVB_MERGE_H
#define KVB_MERGE_H

/* argv[0] is "merge". Returns a KVB_EXIT_* code: USAGE for bad arguments, unreadable inputs, mixed
 * schema versions or duplicate cells; ENGINE when cells are missing (named on stderr) and --partial
 * was not given. */
int kvb_merge_main(int argc, char **argv);

#endif
