/* progress.c - draws the progress line only on a terminal, so logs and pipes stay clean. */
#include "progress.h"

#include "timer.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

void kvb_progress_start(kvb_progress *p, const char *label, uint64_t total, int quiet)
{
    memset(p, 0, sizeof(*p));
    p->enabled = !quiet && isatty(STDERR_FILENO);
    p->start_ns = p->last_ns = kvb_monotonic_ns();
    p->total = total ? total : 1;
    snprintf(p->label, sizeof(p->label), "%s", label);
}

void kvb_progress_update(kvb_progress *p, uint64_t done)
{
    if (!p->enabled)
        return;
    uint64_t now = kvb_monotonic_ns();
    if (now - p->start_ns < 1000000000u || now - p->last_ns < 100000000u)
        return;
    p->last_ns = now;
    double frac = done >= p->total ? 1.0 : (double)done / (double)p->total;
    char bar[31];
    int fill = (int)(frac * 30);
    for (int i = 0; i < 30; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[30] = '\0';
    double secs = (double)(now - p->start_ns) / 1e9;
    double eta = frac > 0 ? secs / frac - secs : 0;
    fprintf(stderr, "\r%-40.40s [%s] %5.1f%% %6.1fs eta %5.0fs", p->label, bar, frac * 100, secs, eta);
    fflush(stderr);
    p->shown = 1;
}

void kvb_progress_finish(kvb_progress *p)
{
    if (p->shown) {
        fprintf(stderr, "\r%100s\r", "");
        fflush(stderr);
    }
    p->shown = 0;
}
