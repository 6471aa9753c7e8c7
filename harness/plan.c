/* plan.c - write a sweep as independent cells, run one cell on local disk, or run a whole plan here. */
#include "plan.h"

#include "fsutil.h"
#include "result.h"
#include "runner.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Options that choose the cell or where it writes: the plan sets them per cell, so the sweep's own
 * values are not passed on. has_value: the option takes an argument. */

static int cell_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Print "kvbench: cell: <message>" on stderr and return code. */
static int cell_fail(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("kvbench: cell: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    return code;
}

static const struct cell_opt {
    const char *name;
    int has_value;
} cell_opts[] = {
    {"-e", 1}, {"--engine", 1}, {"-w", 1}, {"--workload", 1}, {"-n", 1}, {"--keys-count", 1},
    {"-r", 1}, {"--reps", 1}, {"--dir", 1}, {"--out", 1}, {"--plan", 1}, {"--rep-index", 1},
    {"--run-local", 0},
};

/* How many argv entries starting at argv[i] belong to a cell-choosing option (0 = none). Handles
 * "-e X", "-eX", "--engine X" and "--engine=X". */
static int cell_opt_span(int argc, char **argv, int i)
{
    const char *a = argv[i];
    for (size_t k = 0; k < sizeof(cell_opts) / sizeof(cell_opts[0]); k++) {
        const char *name = cell_opts[k].name;
        size_t len = strlen(name);
        if (strncmp(a, name, len) != 0)
            continue;
        if (a[len] == '\0')
            return cell_opts[k].has_value && i + 1 < argc ? 2 : 1;
        if (cell_opts[k].has_value && (a[len] == '=' || (name[1] != '-' && len == 2)))
            return 1; /* value attached */
    }
    return 0;
}

static json_t *cell_args(const kvb_opts *o, int argc, char **argv, const char *engine, const char *workload,
                         uint64_t n, int rep)
{
    char nbuf[32], repsbuf[16], repbuf[16];
    snprintf(nbuf, sizeof(nbuf), "%llu", (unsigned long long)n);
    snprintf(repsbuf, sizeof(repsbuf), "%d", o->reps);
    snprintf(repbuf, sizeof(repbuf), "%d", rep);
    json_t *a = json_pack("[s, s, s, s, s, s, s, s, s, s, s]", "run", "-e", engine, "-w", workload, "-n", nbuf,
                          "--reps", repsbuf, "--rep-index", repbuf);
    for (int i = 0; a && i < argc;) {
        int span = cell_opt_span(argc, argv, i);
        if (span) {
            i += span;
            continue;
        }
        json_array_append_new(a, json_string(argv[i]));
        i++;
    }
    return a;
}

static char *args_line(json_t *args)
{
    size_t n = json_array_size(args);
    char **v = calloc(n + 1, sizeof(*v));
    if (!v)
        return NULL;
    for (size_t i = 0; i < n; i++)
        v[i] = (char *)json_string_value(json_array_get(args, i));
    char *line = kvb_shell_join((int)n, v);
    free(v);
    return line;
}

static int write_cells_txt(const char *dir, json_t *cells)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s/cells.txt", dir);
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "kvbench: cannot create %s: %s; pass a writable --plan directory\n", path, strerror(errno));
        return -1;
    }
    size_t i;
    json_t *c;
    json_array_foreach(cells, i, c) {
        char *line = args_line(json_object_get(c, "args"));
        fprintf(f, "%s\n", line ? line : "");
        free(line);
    }
    if (fclose(f) != 0) {
        fprintf(stderr, "kvbench: cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

int kvb_plan_write(const kvb_opts *o, int argc, char **argv)
{
    const char *dir = o->plan_dir;
    char path[4200], err[512];
    snprintf(path, sizeof(path), "%s/plan.json", dir);
    if (access(path, F_OK) == 0) {
        fprintf(stderr, "kvbench: --plan %s already holds a plan; choose a new directory (or run the existing "
                "one with `kvbench sweep --plan %s --run-local`)\n", dir, dir);
        return KVB_EXIT_USAGE;
    }
    snprintf(path, sizeof(path), "%s/cells", dir);
    if (kvb_mkdirs(path) != 0) {
        fprintf(stderr, "kvbench: --plan %s: cannot create %s: %s\n", dir, path, strerror(errno));
        return KVB_EXIT_USAGE;
    }
    size_t ncells = 0;
    kvb_cell *order = kvb_run_cells(o, &ncells);
    json_t *cells = json_array();
    if (!order || !cells) {
        free(order);
        json_decref(cells);
        fprintf(stderr, "kvbench: out of memory writing the plan\n");
        return KVB_EXIT_ENGINE;
    }
    for (size_t i = 0; i < ncells; i++) {
        const kvb_cell *c = &order[i];
        const char *en = o->engines[c->engine]->name, *wn = o->workloads[c->workload].name;
        uint64_t n = o->ns[c->n];
        json_array_append_new(cells, json_pack("{s:I, s:s, s:s, s:I, s:i, s:o}", "id", (json_int_t)i, "engine", en,
                                               "workload", wn, "n", (json_int_t)n, "rep", c->rep, "args",
                                               cell_args(o, argc, argv, en, wn, n, c->rep)));
    }
    free(order);
    json_t *plan = json_pack("{s:s, s:s, s:I, s:o}", "schema", KVB_PLAN_SCHEMA, "command",
                             o->command ? o->command : "", "seed", (json_int_t)o->seed, "cells", cells);
    snprintf(path, sizeof(path), "%s/plan.json", dir);
    int rc = write_cells_txt(dir, cells) != 0 ? -1 : kvb_json_write_file(plan, path, err, sizeof(err));
    if (rc != 0 && err[0])
        fprintf(stderr, "kvbench: %s\n", err);
    json_decref(plan);
    if (rc != 0)
        return KVB_EXIT_USAGE;
    if (!o->quiet) {
        fprintf(stderr, "kvbench: wrote %zu cells to %s (plan.json, cells.txt)\n", ncells, dir);
        if (!o->run_local)
            fprintf(stderr, "kvbench: submit: sbatch --array=0-%zu%%1 --export=ALL,KVB_PLAN=%s "
                    "harness/slurm/kvbench.sbatch\n"
                    "kvbench: or run here: kvbench sweep --plan %s --run-local; then kvbench merge %s\n",
                    ncells - 1, dir, dir, dir);
    }
    return KVB_EXIT_OK;
}

static json_t *load_plan(const char *dir)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s/plan.json", dir);
    json_error_t jerr;
    json_t *plan = json_load_file(path, 0, &jerr);
    if (!plan) {
        fprintf(stderr, "kvbench: %s: %s; is %s a plan directory (written by `kvbench sweep --plan`)?\n", path,
                jerr.text, dir);
        return NULL;
    }
    const char *schema = json_string_value(json_object_get(plan, "schema"));
    if (!schema || strcmp(schema, KVB_PLAN_SCHEMA) != 0 || !json_is_array(json_object_get(plan, "cells"))) {
        fprintf(stderr, "kvbench: %s: schema '%s', expected %s; write the plan again with this kvbench\n", path,
                schema ? schema : "(none)", KVB_PLAN_SCHEMA);
        json_decref(plan);
        return NULL;
    }
    return plan;
}

/* Path of this executable, for running cells as separate processes. */
static const char *self_exe(void)
{
    static char path[4096];
    ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
    if (n <= 0)
        return "kvbench";
    path[n] = '\0';
    return path;
}

static int run_cell(const char *plan_dir, json_t *cell, const char *local)
{
    json_t *args = json_object_get(cell, "args");
    size_t n = json_array_size(args);
    char **v = calloc(n + 6, sizeof(*v));
    char out[4300], data[4300];
    if (!v || snprintf(out, sizeof(out), "%s/out", local) >= (int)sizeof(out) ||
        snprintf(data, sizeof(data), "%s/data", local) >= (int)sizeof(data)) {
        free(v);
        return KVB_EXIT_ENGINE;
    }
    v[0] = (char *)self_exe();
    for (size_t i = 0; i < n; i++)
        v[i + 1] = (char *)json_string_value(json_array_get(args, i));
    v[n + 1] = "--dir", v[n + 2] = data, v[n + 3] = "--out", v[n + 4] = out;
    if (kvb_mkdirs(data) != 0 || kvb_mkdirs(out) != 0) {
        fprintf(stderr, "kvbench: cell: cannot create %s: %s; pass a writable --local\n", local, strerror(errno));
        free(v);
        return KVB_EXIT_USAGE;
    }
    char log[4400];
    snprintf(log, sizeof(log), "%s/cell.log", out); /* the run's table; copied back with the results */
    int code = kvb_spawn_wait(v, log);
    free(v);
    if (code < 0) {
        fprintf(stderr, "kvbench: cell: cannot start %s: %s\n", self_exe(), strerror(errno));
        return KVB_EXIT_ENGINE;
    }
    char dst[4300], err[600];
    snprintf(dst, sizeof(dst), "%s/cells/%lld", plan_dir, (long long)json_integer_value(json_object_get(cell, "id")));
    if (kvb_copy_tree(out, dst, err, sizeof(err)) != 0) {
        fprintf(stderr, "kvbench: cell: copying the results back failed: %s (they stay in %s)\n", err, out);
        return code ? code : KVB_EXIT_ENGINE;
    }
    kvb_rm_tree(local);
    printf("cell %lld: exit %d, results in %s/\n", (long long)json_integer_value(json_object_get(cell, "id")), code, dst);
    return code;
}

static const char cell_usage[] =
    "usage: kvbench cell PLAN_DIR ID [--local DIR]\n"
    "\n"
    "Runs cell ID of a plan written by `kvbench sweep ... --plan PLAN_DIR`, with its data directory and\n"
    "results under DIR (a node's local disk; default $TMPDIR or /tmp), then copies the cell's run\n"
    "directory to PLAN_DIR/cells/ID/. harness/slurm/kvbench.sbatch runs one cell per array task.\n";

int kvb_cell_main(int argc, char **argv)
{
    const char *plan_dir = NULL, *id_s = NULL, *tmp = getenv("TMPDIR"), *root = tmp && *tmp ? tmp : "/tmp";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0)
            return fputs(cell_usage, stdout), KVB_EXIT_OK;
        if (strcmp(argv[i], "--local") == 0 && i + 1 < argc)
            root = argv[++i];
        else if (argv[i][0] == '-')
            return cell_fail(KVB_EXIT_USAGE, "unknown option '%s'\n%s", argv[i], cell_usage);
        else if (!plan_dir)
            plan_dir = argv[i];
        else if (!id_s)
            id_s = argv[i];
        else
            return cell_fail(KVB_EXIT_USAGE, "unexpected argument '%s'\n%s", argv[i], cell_usage);
    }
    if (!plan_dir || !id_s)
        return cell_fail(KVB_EXIT_USAGE, "needs PLAN_DIR and ID\n%s", cell_usage);
    json_t *plan = load_plan(plan_dir);
    if (!plan)
        return KVB_EXIT_USAGE;
    json_t *cells = json_object_get(plan, "cells");
    char *end;
    errno = 0;
    long long id = strtoll(id_s, &end, 10);
    if (errno || *end || id < 0 || (size_t)id >= json_array_size(cells)) {
        fprintf(stderr, "kvbench: cell: ID '%s': expected 0 to %zu (the plan has %zu cells)\n", id_s,
                json_array_size(cells) - 1, json_array_size(cells));
        json_decref(plan);
        return KVB_EXIT_USAGE;
    }
    char local[4200];
    snprintf(local, sizeof(local), "%s/kvbench-cell-%lld-XXXXXX", root, id);
    if (kvb_mkdirs(root) != 0 || !mkdtemp(local)) {
        fprintf(stderr, "kvbench: cell: cannot create a directory in %s: %s; pass a writable --local\n", root,
                strerror(errno));
        json_decref(plan);
        return KVB_EXIT_USAGE;
    }
    int code = run_cell(plan_dir, json_array_get(cells, (size_t)id), local);
    json_decref(plan);
    return code;
}

int kvb_plan_run_local(const char *dir, const char *data_root)
{
    json_t *plan = load_plan(dir);
    if (!plan)
        return KVB_EXIT_USAGE;
    json_t *cells = json_object_get(plan, "cells");
    int first_bad = KVB_EXIT_OK;
    for (size_t i = 0; i < json_array_size(cells); i++) {
        char idbuf[32];
        snprintf(idbuf, sizeof(idbuf), "%zu", i);
        char *v[] = {(char *)self_exe(), "cell", (char *)dir, idbuf, "--local", (char *)data_root, NULL};
        int code = kvb_spawn_wait(v, NULL);
        if (code != KVB_EXIT_OK) {
            fprintf(stderr, "kvbench: cell %zu of %s failed (exit %d)\n", i, dir, code);
            if (first_bad == KVB_EXIT_OK)
                first_bad = code < 0 ? KVB_EXIT_ENGINE : code;
        }
    }
    json_decref(plan);
    return first_bad;
}
