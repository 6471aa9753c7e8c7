/* merge.c - join plan cells or run directories into one run directory; name what is missing. */
#include "merge.h"

#include "bench.h"
#include "fsutil.h"
#include "plan.h"
#include "report.h"
#include "result.h"
#include "runner.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


static int fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Print "kvbench: merge: <message>" on stderr and return code. */
static int fail(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("kvbench: merge: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    return code;
}

static const char merge_usage[] =
    "usage: kvbench merge [--out DIR] [--partial] SOURCE...\n"
    "\n"
    "Joins results into one run directory DIR/<run-id>/ (default DIR: results) with summary.csv,\n"
    "histograms.csv and the table, as `kvbench run` writes them. A SOURCE is a plan directory (from\n"
    "`kvbench sweep ... --plan`; its cells' results are under SOURCE/cells/ID/) or a run directory.\n"
    "Every cell's machine manifest is kept (manifests/), and manifest.json lists the machines.\n"
    "A plan with cells that have no result is refused, naming them, unless --partial is given.\n"
    "Results of different schema versions are never merged.\n";

typedef struct merge_state {
    json_t *files;     /* [{"path", "label"}]: result JSONs to join */
    json_t *manifests; /* label -> manifest object */
    json_t *missing;   /* descriptions of plan cells without a result */
    const char *schema, *schema_from;
} merge_state;

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int has_file(const char *dir, const char *name)
{
    char p[4400];
    if (snprintf(p, sizeof(p), "%s/%s", dir, name) >= (int)sizeof(p))
        return 0;
    return access(p, R_OK) == 0;
}

/* The newest run directory (largest name: run ids start with the UTC time) under dir, or 0. */
static int newest_run_dir(const char *dir, char *out, size_t outlen)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    char best[256] = "";
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        char p[4400];
        if (snprintf(p, sizeof(p), "%s/%s", dir, de->d_name) >= (int)sizeof(p))
            continue;
        if (de->d_name[0] != '.' && is_dir(p) && has_file(p, "manifest.json") && strcmp(de->d_name, best) > 0)
            snprintf(best, sizeof(best), "%s", de->d_name);
    }
    closedir(d);
    if (!best[0])
        return 0;
    return snprintf(out, outlen, "%s/%s", dir, best) < (int)outlen; /* a cut path names no directory */
}

static int check_schema(merge_state *st, json_t *res, const char *path)
{
    const char *s = json_string_value(json_object_get(res, "schema"));
    if (!s)
        return fail(-1, "%s has no schema; not a kvbench result\n", path);
    if (!st->schema) {
        st->schema = strdup(s);
        st->schema_from = strdup(path);
        return 0;
    }
    if (strcmp(s, st->schema) != 0)
        return fail(-1, "different schema versions: %s in %s, %s in %s; merge only results "
                       "of one kvbench version\n", s, path, st->schema, st->schema_from);
    return 0;
}

/* Add the result JSONs of one run directory; when want is non-NULL, only the result of that plan cell
 * (same engine, workload, n, rep), returning 0 when it is absent. Returns the count added, or -1. */
static int add_run_dir(merge_state *st, const char *run, const char *label, json_t *want)
{
    DIR *d = opendir(run);
    if (!d)
        return fail(-1, "cannot read %s: %s\n", run, strerror(errno));
    int added = 0, rc = 0;
    struct dirent *de;
    while (rc == 0 && (de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);
        if (len < 6 || strcmp(de->d_name + len - 5, ".json") != 0 || strcmp(de->d_name, "manifest.json") == 0)
            continue;
        char p[4400];
        snprintf(p, sizeof(p), "%s/%s", run, de->d_name);
        json_error_t je;
        json_t *res = json_load_file(p, 0, &je);
        if (!res) {
            fprintf(stderr, "kvbench: merge: cannot read %s: %s\n", p, je.text);
            rc = -1;
            break;
        }
        int match = !want || (json_equal(json_object_get(res, "engine"), json_object_get(want, "engine")) &&
                              json_equal(json_object_get(res, "workload"), json_object_get(want, "workload")) &&
                              json_equal(json_object_get(res, "n"), json_object_get(want, "n")) &&
                              json_equal(json_object_get(res, "rep"), json_object_get(want, "rep")));
        if (match && check_schema(st, res, p) != 0)
            rc = -1;
        else if (match) {
            json_array_append_new(st->files, json_pack("{s:s, s:s, s:O, s:O, s:O, s:O}", "path", p, "label", label,
                                                       "engine", json_object_get(res, "engine"), "workload",
                                                       json_object_get(res, "workload"), "n",
                                                       json_object_get(res, "n"), "rep", json_object_get(res, "rep")));
            added++;
        }
        json_decref(res);
    }
    closedir(d);
    if (rc == 0 && added) {
        char mp[4400];
        snprintf(mp, sizeof(mp), "%s/manifest.json", run);
        json_t *m = json_load_file(mp, 0, NULL);
        if (m)
            json_object_set_new(st->manifests, label, m);
    }
    return rc ? -1 : added;
}

static int add_plan(merge_state *st, const char *dir)
{
    char path[4400];
    snprintf(path, sizeof(path), "%s/plan.json", dir);
    json_error_t je;
    json_t *plan = json_load_file(path, 0, &je);
    if (!plan)
        return fail(-1, "cannot read %s: %s\n", path, je.text);
    const char *schema = json_string_value(json_object_get(plan, "schema"));
    if (!schema || strcmp(schema, KVB_PLAN_SCHEMA) != 0) {
        fprintf(stderr, "kvbench: merge: %s has schema '%s', this kvbench reads %s; merge with the kvbench that "
                "wrote the plan\n", path, schema ? schema : "(none)", KVB_PLAN_SCHEMA);
        json_decref(plan);
        return -1;
    }
    size_t i;
    json_t *cell;
    int rc = 0;
    json_array_foreach(json_object_get(plan, "cells"), i, cell) {
        long long id = (long long)json_integer_value(json_object_get(cell, "id"));
        char cdir[4400], run[4600], label[4500];
        snprintf(cdir, sizeof(cdir), "%s/cells/%lld", dir, id);
        snprintf(label, sizeof(label), "%s#cell-%lld", dir, id);
        int got = newest_run_dir(cdir, run, sizeof(run)) ? add_run_dir(st, run, label, cell) : 0;
        if (got < 0) {
            rc = -1;
            break;
        }
        if (got == 0) {
            char what[512];
            snprintf(what, sizeof(what), "cell %lld (%s %s n=%lld rep %lld) of %s", id,
                     json_string_value(json_object_get(cell, "engine")),
                     json_string_value(json_object_get(cell, "workload")),
                     (long long)json_integer_value(json_object_get(cell, "n")),
                     (long long)json_integer_value(json_object_get(cell, "rep")), dir);
            json_array_append_new(st->missing, json_string(what));
        }
    }
    json_decref(plan);
    return rc;
}

/* machines: one entry per distinct (cpu_model, hostname, kernel), with the labels run there. */
static json_t *machines_of(json_t *manifests)
{
    json_t *machines = json_array();
    const char *label;
    json_t *m;
    json_object_foreach(manifests, label, m) {
        json_t *key = json_pack("{s:O?, s:O?, s:O?}", "cpu_model", json_object_get(m, "cpu_model"), "hostname",
                                json_object_get(m, "hostname"), "kernel", json_object_get(m, "kernel"));
        size_t i;
        json_t *mc, *found = NULL;
        json_array_foreach(machines, i, mc) {
            json_t *k = json_pack("{s:O?, s:O?, s:O?}", "cpu_model", json_object_get(mc, "cpu_model"), "hostname",
                                  json_object_get(mc, "hostname"), "kernel", json_object_get(mc, "kernel"));
            if (json_equal(k, key))
                found = mc;
            json_decref(k);
        }
        if (!found) {
            found = json_deep_copy(key);
            json_object_set_new(found, "sources", json_array());
            json_array_append_new(machines, found);
        }
        json_array_append_new(json_object_get(found, "sources"), json_string(label));
        json_decref(key);
    }
    return machines;
}

static int cmp_results(const void *a, const void *b)
{
    json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    for (const char *const *k = (const char *const[]){"engine", "workload", NULL}; *k; k++) {
        int c = strcmp(json_string_value(json_object_get(x, *k)), json_string_value(json_object_get(y, *k)));
        if (c)
            return c;
    }
    for (const char *const *k = (const char *const[]){"n", "rep", NULL}; *k; k++) {
        json_int_t p = json_integer_value(json_object_get(x, *k)), q = json_integer_value(json_object_get(y, *k));
        if (p != q)
            return p < q ? -1 : 1;
    }
    return 0;
}

/* The files in (engine, workload, n, rep) order: the table groups the repetitions of a cell. */
static json_t *sorted_files(json_t *files)
{
    size_t n = json_array_size(files);
    json_t **v = malloc((n ? n : 1) * sizeof(*v)), *out = json_array();
    if (!v || !out) {
        free(v);
        json_decref(out);
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        v[i] = json_array_get(files, i);
    qsort(v, n, sizeof(*v), cmp_results);
    for (size_t i = 0; i < n; i++)
        json_array_append(out, v[i]);
    free(v);
    return out;
}

static int write_output(merge_state *st, const char *out_root, int partial, char **sources, int nsrc)
{
    kvb_opts o;
    memset(&o, 0, sizeof(o));
    o.out = out_root;
    char run_id[64], run_dir[4200], err[700], path[4600];
    if (kvb_make_run_dir(&o, run_id, sizeof(run_id), run_dir, sizeof(run_dir)) != 0)
        return KVB_EXIT_USAGE;
    snprintf(path, sizeof(path), "%s/manifests", run_dir);
    if (kvb_mkdirs(path) != 0)
        return fail(KVB_EXIT_USAGE, "cannot create %s: %s\n", path, strerror(errno));
    /* each source's manifest, under a file name made from its label */
    json_t *index = json_object();
    const char *label;
    json_t *m;
    size_t k = 0;
    json_object_foreach(st->manifests, label, m) {
        snprintf(path, sizeof(path), "%s/manifests/source-%03zu.json", run_dir, k);
        json_object_set_new(index, label, json_sprintf("manifests/source-%03zu.json", k));
        k++;
        if (kvb_json_write_file(m, path, err, sizeof(err)) != 0)
            return json_decref(index), fprintf(stderr, "kvbench: merge: %s\n", err), KVB_EXIT_USAGE;
    }
    /* manifest.json: the first source's manifest (so reports find the usual fields) + what was merged */
    const char *first_label = json_string_value(json_object_get(json_array_get(st->files, 0), "label"));
    json_t *top = json_deep_copy(json_object_get(st->manifests, first_label));
    if (!top)
        top = json_object();
    json_t *srcs = json_array();
    for (int i = 0; i < nsrc; i++)
        json_array_append_new(srcs, json_string(sources[i]));
    json_t *machines = machines_of(st->manifests);
    json_object_set_new(top, "run_id", json_string(run_id));
    json_object_set_new(top, "merged", json_pack("{s:s, s:o, s:o, s:o, s:b, s:O}", "schema", "kvbench-merge/1",
                                                 "sources", srcs, "manifests", index, "machines", machines,
                                                 "partial", partial, "missing", st->missing));
    snprintf(path, sizeof(path), "%s/manifest.json", run_dir);
    int rc = kvb_json_write_file(top, path, err, sizeof(err));
    json_decref(top);
    if (rc != 0)
        return fail(KVB_EXIT_USAGE, "%s\n", err);
    kvb_report rep;
    if (kvb_report_open(&rep, run_dir, err, sizeof(err)) != 0)
        return fail(KVB_EXIT_USAGE, "%s\n", err);
    size_t i;
    json_t *f, *files = sorted_files(st->files);
    int code = files ? KVB_EXIT_OK : fail(KVB_EXIT_ENGINE, "out of memory\n");
    json_array_foreach(files, i, f) {
        const char *src = json_string_value(json_object_get(f, "path")), *base = strrchr(src, '/');
        snprintf(path, sizeof(path), "%s/%s", run_dir, base ? base + 1 : src);
        if (access(path, F_OK) == 0) {
            fprintf(stderr, "kvbench: merge: two sources hold %s (the second is %s); merge each cell once\n",
                    base ? base + 1 : src, src);
            code = KVB_EXIT_USAGE;
            break;
        }
        json_t *res = json_load_file(src, 0, NULL);
        if (!res || kvb_json_write_file(res, path, err, sizeof(err)) != 0 ||
            kvb_report_add(&rep, path, err, sizeof(err)) != 0) {
            fprintf(stderr, "kvbench: merge: %s: %s\n", src, res ? err : "unreadable");
            json_decref(res);
            code = KVB_EXIT_USAGE;
            break;
        }
        json_decref(res);
    }
    json_decref(files);
    if (kvb_report_finish(&rep, stdout, err, sizeof(err)) != 0 && code == KVB_EXIT_OK) {
        fprintf(stderr, "kvbench: merge: %s\n", err);
        code = KVB_EXIT_ENGINE;
    }
    printf("results: %s\n", run_dir);
    return code;
}

int kvb_merge_main(int argc, char **argv)
{
    const char *out = "results";
    int partial = 0, nsrc = 0;
    char **sources = calloc((size_t)argc, sizeof(*sources));
    if (!sources)
        return KVB_EXIT_ENGINE;
    int code = KVB_EXIT_OK;
    for (int i = 1; i < argc && code == KVB_EXIT_OK; i++) {
        if (strcmp(argv[i], "--help") == 0) {
            fputs(merge_usage, stdout);
            free(sources);
            return KVB_EXIT_OK;
        }
        if (strcmp(argv[i], "--partial") == 0)
            partial = 1;
        else if (strcmp(argv[i], "--out") == 0 && i + 1 < argc)
            out = argv[++i];
        else if (argv[i][0] == '-')
            code = fail(KVB_EXIT_USAGE, "unknown option '%s'\n%s", argv[i], merge_usage);
        else
            sources[nsrc++] = argv[i];
    }
    if (code == KVB_EXIT_OK && !nsrc)
        code = fail(KVB_EXIT_USAGE, "no SOURCE given\n%s", merge_usage);
    if (code != KVB_EXIT_OK) {
        free(sources);
        return code;
    }
    merge_state st = {json_array(), json_object(), json_array(), NULL, NULL};
    for (int i = 0; i < nsrc && code == KVB_EXIT_OK; i++) {
        const char *s = sources[i];
        int rc;
        if (has_file(s, "plan.json"))
            rc = add_plan(&st, s);
        else if (has_file(s, "manifest.json"))
            rc = add_run_dir(&st, s, s, NULL) < 0 ? -1 : 0;
        else {
            fprintf(stderr, "kvbench: merge: %s is neither a plan directory (plan.json) nor a run directory "
                    "(manifest.json)\n", s);
            rc = -1;
        }
        if (rc != 0)
            code = KVB_EXIT_USAGE;
    }
    size_t nmiss = json_array_size(st.missing);
    if (code == KVB_EXIT_OK && nmiss) {
        size_t i;
        json_t *m;
        json_array_foreach(st.missing, i, m)
            fprintf(stderr, "kvbench: merge: missing %s\n", json_string_value(m));
        if (!partial) {
            fprintf(stderr, "kvbench: merge: %zu cell(s) have no result: run them again (`kvbench cell PLAN ID`), "
                    "or pass --partial to merge what is there\n", nmiss);
            code = KVB_EXIT_ENGINE;
        }
    }
    if (code == KVB_EXIT_OK && json_array_size(st.files) == 0) {
        fprintf(stderr, "kvbench: merge: no results found in the sources\n");
        code = KVB_EXIT_ENGINE;
    }
    if (code == KVB_EXIT_OK)
        code = write_output(&st, out, partial, sources, nsrc);
    json_decref(st.files);
    json_decref(st.manifests);
    json_decref(st.missing);
    free((char *)st.schema);
    free((char *)st.schema_from);
    free(sources);
    return code;
}
