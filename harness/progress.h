/* progress.h - a one-line progress bar on stderr for phases longer than about a second. */
#ifndef KVB_PROGRESS_H
#define KVB_PROGRESS_H

#include <stdint.h>

typedef struct kvb_progress {
    int enabled;        /* stderr is a TTY and not --quiet */
    int shown;          /* something was drawn (so finish() clears the line) */
    uint64_t start_ns, last_ns;
    uint64_t total;
    char label[96];
} kvb_progress;

/* Start a bar for `total` units; draws nothing until a second has passed. quiet = 1 disables it. */
void kvb_progress_start(kvb_progress *p, const char *label, uint64_t total, int quiet);
/* Redraw at most 10 times a second. Cheap when called often (one clock read). */
void kvb_progress_update(kvb_progress *p, uint64_t done);
/* Clear the line if anything was drawn. */
void kvb_progress_finish(kvb_progress *p);

#endif
