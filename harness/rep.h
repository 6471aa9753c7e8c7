/* rep.h - one repetition, run inside its own child process: load, warm-up, measured phase, result file. */
#ifndef KVB_REP_H
#define KVB_REP_H

#include "bench.h"

/* Run the repetition and write rep->result_path. Returns a KVB_EXIT_* code: OK, INVALID (verification
 * failed; the result is still written), ENGINE (error message printed on stderr), USAGE. */
int kvb_rep_run(const kvb_rep *rep);

#endif
