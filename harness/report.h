/* report.h - the run directory's summary.csv and histograms.csv, and the table printed at the end. */
#ifndef KVB_REPORT_H
#define KVB_REPORT_H

#include <jansson.h>
#include <stdio.h>

typedef struct kvb_report {
    FILE *summary, *hists;
    json_t *results;      /* every result JSON of the run, in order */
    double timer_cost_ns; /* manifest timer.cost_ns of the first result; -1 when unknown */
} kvb_report;

/* Create summary.csv and histograms.csv in dir with their headers. 0, or -1 with a message. */
int kvb_report_open(kvb_report *r, const char *dir, char *err, size_t errlen);
/* Add one result (reads it from path): CSV rows now, table row later. 0, or -1 with a message. */
int kvb_report_add(kvb_report *r, const char *path, char *err, size_t errlen);
/* Close the CSV files (flushing) and print the summary table on out. 0, or -1 if a write failed. */
int kvb_report_finish(kvb_report *r, FILE *out, char *err, size_t errlen);

#endif
