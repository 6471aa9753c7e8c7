/* report.c - CSV rows per phase and bucket, and the per-engine table of medians over repetitions. */
#include "report.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char summary_header[] =
    "engine,workload,n,rep,phase,threads,durability,keyset,access,value_size,ops,mean_ns,p50_ns,p90_ns,"
    "p99_ns,p999_ns,max_ns,ops_per_sec,ops_per_sec_untimed,valid\n";
static const char hists_header[] = "engine,workload,n,rep,phase,threads,durability,lo_ns,hi_ns,count\n";

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

static void summary_row(kvb_report *r, json_t *res, json_t *ph)
{
    json_t *lat = json_object_get(ph, "latency");
    json_t *un = json_object_get(ph, "ops_per_sec_untimed");
    fprintf(r->summary, "%s,%s,%lld,%lld,%s,%lld,%s,%s,%s,%lld,%lld,", jstr(res, "engine"), jstr(res, "workload"),
            (long long)jint(res, "n"), (long long)jint(res, "rep"), jstr(ph, "name"), (long long)jint(res, "threads"),
            jstr(res, "durability"), jstr(res, "keyset"), jstr(res, "access"), (long long)jint(res, "value_size"),
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

static void hist_rows(kvb_report *r, json_t *res, json_t *ph)
{
    json_t *buckets = json_object_get(json_object_get(json_object_get(ph, "latency"), "histogram"), "buckets");
    size_t i;
    json_t *b;
    json_array_foreach(buckets, i, b) {
        fprintf(r->hists, "%s,%s,%lld,%lld,%s,%lld,%s,%lld,%lld,%lld\n", jstr(res, "engine"),
                jstr(res, "workload"), (long long)jint(res, "n"), (long long)jint(res, "rep"), jstr(ph, "name"),
                (long long)jint(res, "threads"), jstr(res, "durability"),
                (long long)json_integer_value(json_array_get(b, 0)),
                (long long)json_integer_value(json_array_get(b, 1)),
                (long long)json_integer_value(json_array_get(b, 2)));
    }
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
    /* the table needs only the numbers: drop the bulky parts */
    json_array_foreach(json_object_get(res, "phases"), i, ph) {
        json_t *lat = json_object_get(ph, "latency");
        if (json_is_object(lat))
            json_object_del(lat, "histogram");
        json_object_del(ph, "by_op");
    }
    json_object_del(res, "manifest");
    json_array_append_new(r->results, res);
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, size_t n)
{
    if (!n)
        return 0;
    qsort(v, n, sizeof(*v), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static json_t *phase_named(json_t *res, const char *name)
{
    size_t i;
    json_t *ph;
    json_array_foreach(json_object_get(res, "phases"), i, ph) if (strcmp(jstr(ph, "name"), name) == 0) return ph;
    return NULL;
}

/* One table row: all reps of (engine, workload, n) starting at results[first]. */
static void table_row(FILE *out, json_t *results, size_t first, size_t count)
{
    double mean[count], p50[count], p99[count], ups[count], load[count];
    int valid = 1;
    json_t *res0 = json_array_get(results, first);
    for (size_t k = 0; k < count; k++) {
        json_t *res = json_array_get(results, first + k);
        json_t *m = phase_named(res, jstr(res, "workload"));
        json_t *l = phase_named(res, "load");
        json_t *lat = json_object_get(m, "latency");
        mean[k] = jnum(lat, "mean_ns"), p50[k] = (double)jint(lat, "p50_ns"), p99[k] = (double)jint(lat, "p99_ns");
        ups[k] = jnum(m, "ops_per_sec_untimed");
        load[k] = jnum(l, "ns_per_op");
        valid = valid && json_is_true(json_object_get(res, "valid"));
    }
    fprintf(out, "%-14s %-8s %10lld %4zu %10.1f %9.0f %9.0f %13.0f %12.1f  %s\n", jstr(res0, "engine"),
            jstr(res0, "workload"), (long long)jint(res0, "n"), count, median(mean, count), median(p50, count),
            median(p99, count), median(ups, count), median(load, count), valid ? "yes" : "NO");
}

static int same_cell(json_t *a, json_t *b)
{
    return strcmp(jstr(a, "engine"), jstr(b, "engine")) == 0 && strcmp(jstr(a, "workload"), jstr(b, "workload")) == 0 &&
           jint(a, "n") == jint(b, "n");
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
        fprintf(out, "\n%-14s %-8s %10s %4s %10s %9s %9s %13s %12s  %s\n", "engine", "workload", "n", "reps",
                "mean_ns", "p50_ns", "p99_ns", "untimed_ops/s", "load_ns/key", "valid");
        for (size_t i = 0; i < n;) {
            size_t j = i + 1;
            while (j < n && same_cell(json_array_get(r->results, i), json_array_get(r->results, j)))
                j++;
            table_row(out, r->results, i, j - i);
            i = j;
        }
    }
    json_decref(r->results);
    r->results = NULL;
    if (bad)
        snprintf(err, errlen, "writing summary.csv or histograms.csv failed (disk full?)");
    return bad ? -1 : 0;
}
