/* report.c - CSV rows per phase and bucket, and the per-cell table printed at the end of a run.
 * The table uses the project's one aggregate (analysis/README.md): mean over repetitions of each
 * repetition's mean latency with a 95 % Student-t interval; percentiles of the repetitions' merged
 * histograms; untimed ops/s as the mean over repetitions. */
#include "report.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char summary_header[] =
    "engine,workload,n,rep,phase,threads,durability,keyset,access,value_size,ops,mean_ns,p50_ns,p90_ns,"
    "p99_ns,p999_ns,max_ns,ops_per_sec,ops_per_sec_untimed,valid\n";
/* op: "all" for the whole phase, else one op type of by_op (get, update, ...) */
static const char hists_header[] = "engine,workload,n,rep,phase,threads,durability,lo_ns,hi_ns,count,op\n";

int kvb_report_open(kvb_report *r, const char *dir, char *err, size_t errlen)
{
    char path[4200];
    memset(r, 0, sizeof(*r));
    snprintf(path, sizeof(path), "%s/summary.csv", dir);
    r->summary = fopen(path, "w");
    if (!r->summary)
        goto fail;
    snprintf(path, sizeof(path), "%s/histograms.csv", dir);
    r->hists = fopen(path, "w");
    if (!r->hists)
        goto fail;
    fputs(summary_header, r->summary);
    fputs(hists_header, r->hists);
    r->results = json_array();
    r->timer_cost_ns = -1;
    return 0;
fail:
    snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
    if (r->summary)
        fclose(r->summary);
    r->summary = NULL;
    return -1;
}

static json_int_t jint(json_t *o, const char *k)
{
    return json_integer_value(json_object_get(o, k));
}

static double jnum(json_t *o, const char *k)
{
    return json_number_value(json_object_get(o, k));
}

static const char *jstr(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static json_t *phase_named(json_t *res, const char *name)
{
    size_t i;
    json_t *ph;
    json_array_foreach(json_object_get(res, "phases"), i, ph) if (strcmp(jstr(ph, "name"), name) == 0) return ph;
    return NULL;
}

static void summary_row(kvb_report *r, json_t *res, json_t *ph)
{
    json_t *lat = json_object_get(ph, "latency");
    json_t *un = json_object_get(ph, "ops_per_sec_untimed");
    fprintf(r->summary, "%s,%s,%lld,%lld,%s,%lld,%s,%s,%s,%lld,%lld,", jstr(res, "engine"), jstr(res, "workload"),
            (long long)jint(res, "n"), (long long)jint(res, "rep"), jstr(ph, "name"), (long long)jint(res, "threads"),
            jstr(res, "durability"), jstr(json_object_get(res, "keyset"), "name"), jstr(res, "access"), (long long)jint(res, "value_size"),
            (long long)jint(ph, "ops"));
    if (json_is_object(lat))
        fprintf(r->summary, "%.1f,%lld,%lld,%lld,%lld,%lld,", jnum(lat, "mean_ns"), (long long)jint(lat, "p50_ns"),
                (long long)jint(lat, "p90_ns"), (long long)jint(lat, "p99_ns"), (long long)jint(lat, "p999_ns"),
                (long long)jint(lat, "max_ns"));
    else
        fputs(",,,,,,", r->summary);
    fprintf(r->summary, "%.1f,", jnum(ph, "ops_per_sec"));
    if (json_is_number(un))
        fprintf(r->summary, "%.1f", json_number_value(un));
    fprintf(r->summary, ",%s\n", json_is_true(json_object_get(res, "valid")) ? "true" : "false");
}

static void hist_rows_of(kvb_report *r, json_t *res, json_t *ph, json_t *lat, const char *op)
{
    json_t *buckets = json_object_get(json_object_get(lat, "histogram"), "buckets");
    size_t i;
    json_t *b;
    json_array_foreach(buckets, i, b) {
        fprintf(r->hists, "%s,%s,%lld,%lld,%s,%lld,%s,%lld,%lld,%lld,%s\n", jstr(res, "engine"),
                jstr(res, "workload"), (long long)jint(res, "n"), (long long)jint(res, "rep"), jstr(ph, "name"),
                (long long)jint(res, "threads"), jstr(res, "durability"),
                (long long)json_integer_value(json_array_get(b, 0)),
                (long long)json_integer_value(json_array_get(b, 1)),
                (long long)json_integer_value(json_array_get(b, 2)), op);
    }
}

static void hist_rows(kvb_report *r, json_t *res, json_t *ph)
{
    hist_rows_of(r, res, ph, json_object_get(ph, "latency"), "all");
    const char *op;
    json_t *lat;
    json_object_foreach(json_object_get(ph, "by_op"), op, lat) hist_rows_of(r, res, ph, lat, op);
}

int kvb_report_add(kvb_report *r, const char *path, char *err, size_t errlen)
{
    json_error_t je;
    json_t *res = json_load_file(path, 0, &je);
    if (!res) {
        snprintf(err, errlen, "cannot read result %s: %s (line %d)", path, je.text, je.line);
        return -1;
    }
    size_t i;
    json_t *ph;
    json_array_foreach(json_object_get(res, "phases"), i, ph) {
        summary_row(r, res, ph);
        hist_rows(r, res, ph);
    }
    if (r->timer_cost_ns < 0) {
        json_t *cost = json_object_get(json_object_get(json_object_get(res, "manifest"), "timer"), "cost_ns");
        if (json_is_number(cost))
            r->timer_cost_ns = json_number_value(cost);
    }
    /* the table needs the numbers and the measured phase's histogram (merged over reps): drop the rest */
    json_t *measured = phase_named(res, jstr(res, "workload"));
    json_array_foreach(json_object_get(res, "phases"), i, ph) {
        json_t *lat = json_object_get(ph, "latency");
        if (json_is_object(lat) && ph != measured)
            json_object_del(lat, "histogram");
        json_object_del(ph, "by_op");
    }
    json_object_del(res, "manifest");
    json_array_append_new(r->results, res);
    return 0;
}

/* two-sided 95 % Student t quantiles, df = 1..10; 1.96 beyond (the reps are few) */
static double t95(size_t df)
{
    static const double t[] = {12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228};
    return df == 0 ? 0.0 : df <= 10 ? t[df - 1] : 1.96;
}

static int cmp_bucket(const void *a, const void *b)
{
    const long long *x = a, *y = b;
    return x[0] < y[0] ? -1 : x[0] > y[0];
}

/* Percentiles q[] of the merged histograms of the reps' measured phases (bucket hi, like hist.c), or -1
 * when there is no histogram. Buckets with the same bounds add up; sorting by lo is enough to merge. */
static void merged_percentiles(json_t *results, size_t first, size_t count, const double *q, long long *out,
                               size_t nq)
{
    size_t nb = 0, cap = 0;
    long long(*b)[3] = NULL;
    for (size_t k = 0; k < count; k++) {
        json_t *res = json_array_get(results, first + k);
        json_t *buckets = json_object_get(
            json_object_get(json_object_get(phase_named(res, jstr(res, "workload")), "latency"), "histogram"),
            "buckets");
        size_t i;
        json_t *e;
        json_array_foreach(buckets, i, e) {
            if (nb == cap) {
                cap = cap ? 2 * cap : 256;
                void *nbuf = realloc(b, cap * sizeof(*b));
                if (!nbuf)
                    goto done;
                b = nbuf;
            }
            b[nb][0] = (long long)json_integer_value(json_array_get(e, 0));
            b[nb][1] = (long long)json_integer_value(json_array_get(e, 1));
            b[nb][2] = (long long)json_integer_value(json_array_get(e, 2));
            nb++;
        }
    }
done:
    for (size_t j = 0; j < nq; j++)
        out[j] = -1;
    if (nb) {
        qsort(b, nb, sizeof(*b), cmp_bucket);
        long long total = 0;
        for (size_t i = 0; i < nb; i++)
            total += b[i][2];
        for (size_t j = 0; j < nq && total > 0; j++) {
            long long rank = (long long)ceil(q[j] * (double)total), seen = 0;
            if (rank < 1)
                rank = 1;
            for (size_t i = 0; i < nb && out[j] < 0; i++) {
                seen += b[i][2];
                if (seen >= rank)
                    out[j] = b[i][1];
            }
        }
    }
    free(b);
}

static void mean_ci(const double *v, size_t n, double *mean, double *half)
{
    double s = 0, ss = 0;
    for (size_t i = 0; i < n; i++)
        s += v[i];
    *mean = n ? s / (double)n : 0;
    for (size_t i = 0; i < n; i++)
        ss += (v[i] - *mean) * (v[i] - *mean);
    *half = n > 1 ? t95(n - 1) * sqrt(ss / (double)(n - 1)) / sqrt((double)n) : 0;
}

/* Under --rate: the offered rate, the response-time p99 (mean over repetitions), and SATURATED when any rep was. */
static void open_loop_note(FILE *out, json_t *results, size_t first, size_t count)
{
    json_t *res0 = json_array_get(results, first);
    if (!json_is_number(json_object_get(res0, "rate")))
        return;
    double p99r[count];
    int saturated = 0;
    for (size_t k = 0; k < count; k++) {
        json_t *res = json_array_get(results, first + k);
        json_t *m = phase_named(res, jstr(res, "workload"));
        p99r[k] = (double)jint(json_object_get(m, "latency_response"), "p99_ns");
        saturated |= json_is_true(json_object_get(res, "saturated"));
    }
    double m, hw;
    mean_ci(p99r, count, &m, &hw);
    fprintf(out, "  rate=%.0f/s response_p99_ns=%.0f%s", jnum(res0, "rate"), m, saturated ? " SATURATED" : "");
}

/* One table row: all reps of (engine, workload, n) starting at results[first]. */
static void table_row(FILE *out, json_t *results, size_t first, size_t count, double timer_ns)
{
    double mean[count], ups[count], load[count];
    int valid = 1;
    json_t *res0 = json_array_get(results, first);
    for (size_t k = 0; k < count; k++) {
        json_t *res = json_array_get(results, first + k);
        json_t *m = phase_named(res, jstr(res, "workload"));
        json_t *l = phase_named(res, "load");
        mean[k] = jnum(json_object_get(m, "latency"), "mean_ns");
        ups[k] = jnum(m, "ops_per_sec_untimed");
        load[k] = jnum(l, "ns_per_op");
        valid = valid && json_is_true(json_object_get(res, "valid"));
    }
    static const double q[] = {0.50, 0.99};
    long long pct[2];
    merged_percentiles(results, first, count, q, pct, 2);
    double m, hw, um, uhw, lm, lhw;
    mean_ci(mean, count, &m, &hw);
    mean_ci(ups, count, &um, &uhw);
    mean_ci(load, count, &lm, &lhw);
    char ci[32], timer[16], loadstr[32];
    snprintf(ci, sizeof(ci), count > 1 ? "%.1f" : "-", hw);
    /* --share-load: only the sequence's first workload has the load phase */
    snprintf(loadstr, sizeof(loadstr), phase_named(res0, "load") ? "%.1f" : "shared", lm);
    snprintf(timer, sizeof(timer), timer_ns >= 0 ? "%.1f" : "?", timer_ns);
    fprintf(out, "%-17s %-8s %10lld %4zu %10.1f %8s %9lld %9lld %8s %13.0f %12s  %s", jstr(res0, "engine"),
            jstr(res0, "workload"), (long long)jint(res0, "n"), count, m, ci, pct[0], pct[1], timer, um, loadstr,
            valid ? "yes" : "NO");
    open_loop_note(out, results, first, count);
    fputc('\n', out);
}

static int same_cell(json_t *a, json_t *b)
{
    return strcmp(jstr(a, "engine"), jstr(b, "engine")) == 0 && strcmp(jstr(a, "workload"), jstr(b, "workload")) == 0 &&
           jint(a, "n") == jint(b, "n") && jnum(a, "rate") == jnum(b, "rate");
}

int kvb_report_finish(kvb_report *r, FILE *out, char *err, size_t errlen)
{
    int bad = 0;
    if (r->summary && (ferror(r->summary) | fclose(r->summary)))
        bad = 1;
    if (r->hists && (ferror(r->hists) | fclose(r->hists)))
        bad = 1;
    r->summary = r->hists = NULL;
    size_t n = json_array_size(r->results);
    if (n) {
        fprintf(out, "\nmean_ns: mean over reps of each rep's mean latency, ci95: half-width of its 95 %% t-interval;\n"
                     "p50/p99: merged histograms of all reps; latencies include one timer read (timer_ns);\n"
                     "untimed_ops/s and load_ns/key: mean over reps\n");
        fprintf(out, "%-17s %-8s %10s %4s %10s %8s %9s %9s %8s %13s %12s  %s\n", "engine", "workload", "n", "reps",
                "mean_ns", "ci95_ns", "p50_ns", "p99_ns", "timer_ns", "untimed_ops/s", "load_ns/key", "valid");
        /* cells may run interleaved (cell_order): gather each cell's reps, in first-seen order */
        char *done = calloc(n, 1);
        json_t *cell = json_array();
        for (size_t i = 0; done && cell && i < n; i++) {
            if (done[i])
                continue;
            json_array_clear(cell);
            for (size_t j = i; j < n; j++)
                if (!done[j] && same_cell(json_array_get(r->results, i), json_array_get(r->results, j))) {
                    json_array_append(cell, json_array_get(r->results, j));
                    done[j] = 1;
                }
            table_row(out, cell, 0, json_array_size(cell), r->timer_cost_ns);
        }
        if (!done || !cell)
            bad = 1;
        free(done);
        json_decref(cell);
    }
    json_decref(r->results);
    r->results = NULL;
    if (bad)
        snprintf(err, errlen, "writing summary.csv or histograms.csv failed (disk full?), or out of memory");
    return bad ? -1 : 0;
}
