/* runner.c - the parent process: pre-flight checks, run directory, one fork per repetition, reports. */
#include "runner.h"

#include "container.h"
#include "env.h"
#include "fsutil.h"
#include "keyinfo.h"
#include "rep.h"
#include "report.h"
#include "result.h"
#include "timer.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Under --duration the op streams are sized for the most ops the timed pass could run: the paced
 * schedule's length, or a closed loop at KVB_DURATION_MAX_RATE (only mixes with inserts need the bound:
 * it sizes their insert pool). */
#define KVB_DURATION_MAX_RATE 2e6
static uint64_t duration_cap(const kvb_opts *o, const kv_workload *w, double rate)
{
    double per_s = rate > 0 ? rate * 1.01 + 1000 : w->mix[KV_OP_INSERT] > 0 ? KVB_DURATION_MAX_RATE : 1e9;
    return (uint64_t)(per_s * o->duration_s) + 1000;
}

/* A fresh empty data directory under o->dir. */
static int make_data_dir(const kvb_opts *o, const char *engine, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s/kvbench-%s-XXXXXX", o->dir, engine);
    return mkdtemp(out) ? 0 : -1;
}

/* Open and close one engine in a scratch directory, in a child process: engines that start threads
 * (RocksDB's background flush and compaction pool) must never have started them in the parent, whose
 * forked repetitions would inherit a thread pool without threads and never flush or compact. */
static int trial_open(const kvb_opts *o, const kv_engine_ops *ops)
{
    char dir[4200];
    if (make_data_dir(o, ops->name, dir, sizeof(dir)) != 0) {
        fprintf(stderr, "kvbench: cannot create a data directory in %s: %s; pass a writable --dir\n",
                o->dir, strerror(errno));
        return KVB_EXIT_USAGE;
    }
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "kvbench: fork failed: %s\n", strerror(errno));
        kvb_rm_tree(dir);
        return KVB_EXIT_ENGINE;
    }
    if (pid == 0) {
        char err[512] = "";
        kv_option opts[KVB_MAX_OPTS];
        kv_config cfg = {.dir = dir, .durability = o->durability, .expected_keys = 1000,
                         .value_size = o->value_size, .threads = o->threads, .opts = opts,
                         .nopts = kvb_engine_opts(o, ops, opts), .pages = o->pages};
        kv_engine *e = NULL;
        int rc = kv_engine_open(ops, &cfg, &e, err, sizeof(err));
        if (rc == KV_OK)
            rc = ops->close(e);
        if (rc != KV_OK)
            fprintf(stderr, "kvbench: %s\n", err[0] ? err : kv_strerror(rc));
        fflush(stderr);
        _exit(rc == KV_OK ? KVB_EXIT_OK
                          : rc == KV_EINVAL || rc == KV_ENOTSUP ? KVB_EXIT_USAGE : KVB_EXIT_ENGINE);
    }
    int status = 0, w;
    while ((w = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
        ;
    kvb_rm_tree(dir);
    if (w < 0 || !WIFEXITED(status)) {
        fprintf(stderr, "kvbench: trial open of engine %s crashed (status %d)\n", ops->name, status);
        return KVB_EXIT_ENGINE;
    }
    return WEXITSTATUS(status);
}

/* Open (and close) every engine once with the run's config in a scratch directory, so a bad -o value
 * or an unsupported durability stops the run before any work. */
static int preflight(const kvb_opts *o)
{
    for (size_t i = 0; i < o->nengines; i++) {
        const kv_engine_ops *ops = o->engines[i];
        char err[512] = "";
        if (kv_engine_check(ops, err, sizeof(err)) != KV_OK) {
            fprintf(stderr, "kvbench: %s\n", err);
            return KVB_EXIT_ENGINE;
        }
        if (!(ops->caps & KV_CAP_DUR(o->durability))) {
            fprintf(stderr, "kvbench: engine %s cannot honour --durability %s; choose a level it supports "
                    "(see `kvbench list`)\n", ops->name, kv_durability_name(o->durability));
            return KVB_EXIT_USAGE;
        }
        if (o->threads > 1 && !(ops->caps & KV_CAP_THREADS)) {
            fprintf(stderr, "kvbench: engine %s does not support several threads; use --threads 1\n", ops->name);
            return KVB_EXIT_USAGE;
        }
        for (size_t w = 0; w < o->nworkloads; w++)
            if (o->workloads[w].mix[KV_OP_SCAN] > 0 && !(ops->caps & KV_CAP_SCAN)) {
                fprintf(stderr, "kvbench: engine %s cannot scan, so workload %s cannot run on it; drop one "
                        "of them (see `kvbench list`)\n", ops->name, o->workloads[w].name);
                return KVB_EXIT_USAGE;
            }
        if (o->bulk_load && !(ops->caps & KV_CAP_BULK_LOAD) && !o->quiet)
            fprintf(stderr, "kvbench: note: engine %s has no bulk_load; it loads with put (bulk_load false in "
                    "its results)\n", ops->name);
        int rc = trial_open(o, ops);
        if (rc != KVB_EXIT_OK)
            return rc;
    }
    return KVB_EXIT_OK;
}

int kvb_make_run_dir(const kvb_opts *o, char *run_id, size_t idlen, char *dir, size_t dirlen)
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    char stamp[32];
    strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
    uint64_t salt = kvb_monotonic_ns() ^ ((uint64_t)getpid() << 20);
    for (int attempt = 0; attempt < 16; attempt++) {
        snprintf(run_id, idlen, "%s-%06llx", stamp, (unsigned long long)((kv_mix64(salt + attempt)) & 0xffffff));
        snprintf(dir, dirlen, "%s/%s", o->out, run_id);
        if (kvb_mkdirs(o->out) != 0)
            break;
        if (mkdir(dir, 0777) == 0)
            return 0;
        if (errno != EEXIST)
            break;
    }
    fprintf(stderr, "kvbench: cannot create the results directory %s: %s; pass a writable --out\n", dir,
            strerror(errno));
    return -1;
}

/* One (engine, workload, N, repetition) of the run; under --share-load one (engine, N, repetition),
 * workload 0 standing for the whole sequence. */
kvb_cell *kvb_run_cells(const kvb_opts *o, size_t *ncells)
{
    size_t nw = o->share_load ? 1 : o->nworkloads;
    size_t n = o->nengines * nw * o->nns * (size_t)o->reps, k = 0, k2 = 0;
    kvb_cell *cells = malloc((n ? n : 1) * sizeof(*cells));
    if (!cells)
        return NULL;
    for (size_t e = 0; e < o->nengines; e++)
        for (size_t w = 0; w < nw; w++)
            for (size_t i = 0; i < o->nns; i++)
                for (int rep = 0; rep < o->reps; rep++)
                    cells[k++] = (kvb_cell){e, w, i, rep};
    kv_rng rng;
    kv_rng_seed(&rng, kv_mix64(o->seed ^ 0x63656c6c6f726465ull));
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)kv_rng_below(&rng, i);
        kvb_cell t = cells[i - 1];
        cells[i - 1] = cells[j];
        cells[j] = t;
    }
    if (o->only_rep >= 0) { /* a plan's cell: one repetition of the sweep */
        for (size_t i = 0; i < n; i++)
            if (cells[i].rep == o->only_rep)
                cells[k2++] = cells[i];
        n = k2;
    }
    *ncells = n;
    return cells;
}

/* The --rate entry of a cell as given ("50%", "200000"), or JSON null in closed loop. */
/* A cell as the runner runs it: a kvb_cell at one rate. */
typedef struct run_cell {
    size_t engine, workload, n;
    int rep;
    size_t rate; /* 0: closed loop; k: paced at --rate entry k - 1 */
} run_cell;

static int needs_closed_loop(const kvb_opts *o)
{
    int pct = 0;
    for (size_t i = 0; i < o->nrates; i++)
        pct |= o->rate_pct[i];
    return !o->nrates || pct;
}

/* kvb_run_cells' order at every rate: its closed-loop cells first, in its order (--rate percentages
 * are taken of their measured throughput), then the paced cells in an order shuffled the same way. */
static run_cell *plan_cells(const kvb_opts *o, size_t *ncells)
{
    size_t nbase = 0;
    kvb_cell *base = kvb_run_cells(o, &nbase);
    if (!base)
        return NULL;
    size_t closed = (size_t)needs_closed_loop(o), n = nbase * (closed + o->nrates), k = 0;
    run_cell *cells = malloc((n ? n : 1) * sizeof(*cells));
    if (!cells) {
        free(base);
        return NULL;
    }
    for (size_t slot = 1 - closed; slot <= o->nrates; slot++)
        for (size_t i = 0; i < nbase; i++)
            cells[k++] = (run_cell){base[i].engine, base[i].workload, base[i].n, base[i].rep, slot};
    free(base);
    kv_rng rng;
    kv_rng_seed(&rng, kv_mix64(o->seed ^ 0x7061636564ull));
    run_cell *paced = cells + (closed ? nbase : 0);
    for (size_t i = n - (closed ? nbase : 0); i > 1; i--) {
        size_t j = (size_t)kv_rng_below(&rng, i);
        run_cell t = paced[i - 1];
        paced[i - 1] = paced[j];
        paced[j] = t;
    }
    *ncells = n;
    return cells;
}

static json_t *rate_spec(const kvb_opts *o, const run_cell *c)
{
    if (!c->rate)
        return json_null();
    char buf[64];
    snprintf(buf, sizeof(buf), o->rate_pct[c->rate - 1] ? "%g%%" : "%.0f", o->rates[c->rate - 1]);
    return json_string(buf);
}

static json_t *design_json(const kvb_opts *o, const run_cell *cells, size_t ncells)
{
    char cpus[1024] = "auto"; /* auto: each cell's choice is in its cell_order entry */
    if (!o->cpus_auto)
        kvb_cpus_format(o->cpus, o->ncpus, cpus, sizeof(cpus));
    json_t *order = json_array();
    for (size_t i = 0; i < ncells; i++) {
        const run_cell *c = &cells[i];
        json_array_append_new(order, json_pack("{s:s, s:s, s:I, s:i, s:I, s:n, s:n, s:o}", "engine",
                                               o->engines[c->engine]->name, "workload", o->workloads[c->workload].name,
                                               "n", (json_int_t)o->ns[c->n], "rep", c->rep, "seed",
                                               (json_int_t)(o->seed_per_rep ? kvb_rep_seed(o->seed, c->rep) : o->seed),
                                               "loadavg_before", "cpus", "rate", rate_spec(o, c)));
        if (o->share_load) { /* the cell runs every workload, in this order, on one load */
            json_t *seq = json_array();
            for (size_t w = 0; w < o->nworkloads; w++)
                json_array_append_new(seq, json_string(o->workloads[w].name));
            json_object_set_new(json_array_get(order, i), "shared_load", seq);
        }
    }
    return json_pack("{s:o, s:I, s:b, s:s, s:s, s:i, s:b, s:b}", "cell_order", order, "seed", (json_int_t)o->seed,
                     "seed_per_rep", o->seed_per_rep, "cpus", cpus, "cpus_policy",
                     o->cpus_auto ? "auto" : o->ncpus ? "list" : "none", "settle_ms", (int)o->settle_ms,
                     "allow_volatile", o->allow_volatile, "share_load", o->share_load);
}

static json_t *build_manifest(const kvb_opts *o, const char *run_id, const run_cell *cells, size_t ncells)
{
    json_t *m = kvb_env_manifest(o->dir, o->command);
    kvb_container_add_packages(json_object_get(m, "container")); /* the image's versions, run manifest only */
    json_object_set_new(m, "run_id", json_string(run_id));
    json_object_set_new(m, "pages", json_string(kv_pages_name(o->pages)));
    json_t *engines = json_array();
    for (size_t i = 0; i < o->nengines; i++)
        json_array_append_new(engines, json_pack("{s:s, s:s}", "name", o->engines[i]->name, "version",
                                                 o->engines[i]->lib_version()));
    json_object_set_new(m, "engines", engines);
    json_object_set_new(m, "keyset", kvb_keyset_json(o, NULL)); /* name, and the key file's fingerprint */
    json_t *design = design_json(o, cells, ncells);
    json_object_update(m, design);
    json_decref(design);
    return m;
}

/* Written before the first cell and again after the last (with each cell's load average). */
static int write_manifest(json_t *m, const char *dir)
{
    char path[4400], err[512];
    snprintf(path, sizeof(path), "%s/manifest.json", dir);
    int rc = kvb_json_write_file(m, path, err, sizeof(err));
    if (rc != 0)
        fprintf(stderr, "kvbench: %s\n", err);
    return rc;
}

static volatile sig_atomic_t interrupted;

static void on_interrupt(int sig)
{
    (void)sig;
    interrupted = 1;
}

/* Fork, run the repetition in the child, wait. Returns the child's KVB_EXIT_* code. */
static int run_child(const kvb_rep *rep)
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "kvbench: fork failed: %s\n", strerror(errno));
        return KVB_EXIT_ENGINE;
    }
    if (pid == 0) {
        int code = kvb_rep_run(rep);
        fflush(stdout);
        fflush(stderr);
        _exit(code);
    }
    /* Ctrl-C reaches the child (same process group); the parent survives it to clean up and report. */
    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_interrupt;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    int status = 0, rc;
    while ((rc = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
        if (interrupted)
            kill(pid, SIGTERM);
    int werr = errno;
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    if (rc < 0) {
        fprintf(stderr, "kvbench: waitpid failed: %s\n", strerror(werr));
        return KVB_EXIT_ENGINE;
    }
    if (interrupted) {
        fprintf(stderr, "kvbench: interrupted; stopping after cleaning up\n");
        return KVB_EXIT_ENGINE;
    }
    if (WIFSIGNALED(status)) {
        fprintf(stderr, "kvbench: %s %s n=%llu rep %d: the child process was killed by signal %d (%s)\n",
                rep->engine->name, rep->workload->name, (unsigned long long)rep->n, rep->rep, WTERMSIG(status),
                strsignal(WTERMSIG(status)));
        return KVB_EXIT_ENGINE;
    }
    return WEXITSTATUS(status);
}

typedef struct run_state {
    kvb_opts *o;
    char run_id[64], run_dir[4200];
    kvb_report report;
    int invalid;
    run_cell *cells;
    size_t ncells;
    double *measured; /* per cell: timed-pass ops/s once it ran (closed-loop cells), else 0 */
    json_t *manifest;
} run_state;

/* Between cells: write back what the last cell left dirty, so its writeback does not run during the
 * next one, and give the machine a moment; then note how busy it is. */
static void settle_between_cells(const kvb_opts *o, kvb_rep *r)
{
    sync();
    kvb_cpu_busy before, after;
    kvb_cpus_busy(&before);
    if (o->settle_ms) {
        struct timespec ts = {o->settle_ms / 1000, (long)(o->settle_ms % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR && !interrupted)
            ;
    }
    kvb_cpus_busy(&after);
    kvb_env_loadavg(r->loadavg);
    if (o->cpus_auto) {
        r->ncpus = kvb_cpus_auto(o->threads, &before, &after, r->cpus, KVB_MAX_CPUS);
    } else {
        r->ncpus = o->ncpus;
        memcpy(r->cpus, o->cpus, (size_t)o->ncpus * sizeof(*o->cpus));
    }
}

/* Closed-loop throughput of a repetition's timed pass (its measured phase's ops_per_sec); 0 if unknown. */
static double measured_ops_per_sec(const char *path, const char *workload)
{
    json_t *res = json_load_file(path, 0, NULL);
    double v = 0;
    size_t i;
    json_t *ph;
    json_array_foreach(json_object_get(res, "phases"), i, ph) {
        const char *name = json_string_value(json_object_get(ph, "name"));
        if (name && strcmp(name, workload) == 0)
            v = json_number_value(json_object_get(ph, "ops_per_sec"));
    }
    json_decref(res);
    return v;
}

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Median closed-loop throughput of the cell's (engine, workload, N), from the cells already run. */
static double closed_loop_base(const run_state *st, const run_cell *c)
{
    double v[st->ncells];
    size_t k = 0;
    for (size_t i = 0; i < st->ncells; i++) {
        const run_cell *o = &st->cells[i];
        if (!o->rate && o->engine == c->engine && o->workload == c->workload && o->n == c->n && st->measured[i] > 0)
            v[k++] = st->measured[i];
    }
    if (!k)
        return 0;
    qsort(v, k, sizeof(*v), cmp_dbl);
    return k % 2 ? v[k / 2] : (v[k / 2 - 1] + v[k / 2]) / 2;
}

/* Offered ops/s of a cell (0 = closed loop) and the percentage it came from (0 = absolute). */
static int cell_rate(const run_state *st, const run_cell *c, double *rate, double *pct)
{
    const kvb_opts *o = st->o;
    *rate = *pct = 0;
    if (!c->rate)
        return 0;
    if (!o->rate_pct[c->rate - 1]) {
        *rate = o->rates[c->rate - 1];
        return 0;
    }
    double base = closed_loop_base(st, c);
    if (!(base > 0)) {
        fprintf(stderr, "kvbench: %s %s n=%llu: no closed-loop throughput to take --rate percentages of\n",
                o->engines[c->engine]->name, o->workloads[c->workload].name, (unsigned long long)o->ns[c->n]);
        return -1;
    }
    *pct = o->rates[c->rate - 1];
    *rate = base * *pct / 100.0;
    return 0;
}

/* Result file name: the cell, the rate when paced, the repetition. */
static void result_path(const run_state *st, const kv_engine_ops *eng, const kv_workload *w, uint64_t n,
                        double rate, double pct, int rep, char *out, size_t len)
{
    const kvb_opts *o = st->o;
    char ratestr[64] = "";
    if (pct > 0)
        snprintf(ratestr, sizeof(ratestr), "-rate%gpct", pct);
    else if (rate > 0)
        snprintf(ratestr, sizeof(ratestr), "-rate%.0f", rate);
    snprintf(out, len, "%s/%s-%s-n%llu-t%d-%s%s-r%d.json", st->run_dir, eng->name, w->name, (unsigned long long)n,
             o->threads, kv_durability_name(o->durability), ratestr, rep);
}

/* After a --share-load cell: every workload's result that was written goes into the table. */
static int report_sequence(run_state *st, size_t cell, const kvb_rep *r, int code)
{
    const kvb_opts *o = st->o;
    if (o->keep) {
        if (!o->quiet)
            fprintf(stderr, "kvbench: kept data directory %s\n", r->data_dir);
    } else if (kvb_rm_tree(r->data_dir) != 0) {
        fprintf(stderr, "kvbench: warning: cannot remove %s: %s\n", r->data_dir, strerror(errno));
    }
    if (code != KVB_EXIT_OK && code != KVB_EXIT_INVALID)
        return code == KVB_EXIT_USAGE ? KVB_EXIT_USAGE : KVB_EXIT_ENGINE;
    for (int i = 0; i < r->nseq; i++) {
        char err[600];
        json_t *res = json_load_file(r->seq_paths[i], 0, NULL);
        int valid = json_is_true(json_object_get(res, "valid"));
        json_decref(res);
        if (!valid) {
            st->invalid = 1;
            fprintf(stderr, "kvbench: %s %s n=%llu rep %d: INVALID (wrong answers; see %s)\n", r->engine->name,
                    r->seq[i]->name, (unsigned long long)r->n, r->rep, r->seq_paths[i]);
        }
        if (i == 0)
            st->measured[cell] = measured_ops_per_sec(r->seq_paths[i], r->seq[i]->name);
        if (kvb_report_add(&st->report, r->seq_paths[i], err, sizeof(err)) != 0) {
            fprintf(stderr, "kvbench: %s\n", err);
            return KVB_EXIT_ENGINE;
        }
    }
    return KVB_EXIT_OK;
}

static int run_one(run_state *st, size_t cell)
{
    const run_cell *c = &st->cells[cell];
    const kv_engine_ops *eng = st->o->engines[c->engine];
    const kv_workload *w = &st->o->workloads[c->workload];
    uint64_t n = st->o->ns[c->n];
    int rep = c->rep;
    const kvb_opts *o = st->o;
    char data_dir[4200], path[4600];
    char (*seq_paths)[4600] = NULL; /* --share-load: one result per workload */
    double rate, pct;
    if (cell_rate(st, c, &rate, &pct) != 0)
        return KVB_EXIT_ENGINE;
    if (make_data_dir(o, eng->name, data_dir, sizeof(data_dir)) != 0) {
        fprintf(stderr, "kvbench: cannot create a data directory in %s: %s\n", o->dir, strerror(errno));
        return KVB_EXIT_ENGINE;
    }
    result_path(st, eng, w, n, rate, pct, rep, path, sizeof(path));
    kvb_rep r = {.o = o, .engine = eng, .workload = w, .n = n,
                 .ops = o->duration_s > 0 ? duration_cap(o, w, rate) : kvb_ops_for(o, n),
                 .warmup = kvb_warmup_for(o, n), .rep = rep, .rate = rate, .rate_pct = pct,
                 .seed = o->seed_per_rep ? kvb_rep_seed(o->seed, rep) : o->seed, .cell = (int)cell,
                 .ncells = (int)st->ncells, .run_id = st->run_id, .data_dir = data_dir, .result_path = path};
    if (o->share_load) {
        seq_paths = malloc(o->nworkloads * sizeof(*seq_paths));
        if (!seq_paths) {
            fprintf(stderr, "kvbench: out of memory\n");
            kvb_rm_tree(data_dir);
            return KVB_EXIT_ENGINE;
        }
        r.nseq = (int)o->nworkloads;
        for (size_t i = 0; i < o->nworkloads; i++) {
            r.seq[i] = &o->workloads[i];
            r.seq_ops[i] = o->duration_s > 0 ? duration_cap(o, r.seq[i], 0) : kvb_ops_for(o, n);
            result_path(st, eng, r.seq[i], n, 0, 0, rep, seq_paths[i], sizeof(seq_paths[i]));
            r.seq_paths[i] = seq_paths[i];
        }
    }
    settle_between_cells(o, &r);
    json_t *entry = json_array_get(json_object_get(st->manifest, "cell_order"), cell);
    json_object_set_new(entry, "loadavg_before", r.loadavg[0] < 0 ? json_null()
                        : json_pack("[f, f, f]", r.loadavg[0], r.loadavg[1], r.loadavg[2]));
    json_t *cpus = json_array();
    for (int i = 0; i < r.ncpus; i++)
        json_array_append_new(cpus, json_integer(r.cpus[i]));
    json_object_set_new(entry, "cpus", cpus);
    if (!o->quiet)
        fprintf(stderr, "kvbench: cell %zu/%zu: %s %s%s n=%llu ops=%llu%s rep %d/%d\n", cell + 1, st->ncells,
                eng->name, w->name, o->share_load ? ",... (one load, --share-load)" : "", (unsigned long long)n, (unsigned long long)r.ops,
                rate > 0 ? " (paced)" : "", rep + 1, o->reps);
    if (!o->quiet && rate > 0)
        fprintf(stderr, "kvbench: offered rate %.0f ops/s%s\n", rate, pct > 0 ? " (a --rate percentage of the "
                "closed-loop median)" : "");
    int code = run_child(&r);
    if (seq_paths) {
        code = report_sequence(st, cell, &r, code);
        free(seq_paths);
        return code;
    }
    if (o->keep) {
        if (!o->quiet)
            fprintf(stderr, "kvbench: kept data directory %s\n", data_dir);
    } else if (kvb_rm_tree(data_dir) != 0) {
        fprintf(stderr, "kvbench: warning: cannot remove %s: %s\n", data_dir, strerror(errno));
    }
    if (code == KVB_EXIT_INVALID) {
        st->invalid = 1;
        fprintf(stderr, "kvbench: %s %s n=%llu rep %d: INVALID (wrong answers; see %s)\n", eng->name, w->name,
                (unsigned long long)n, rep, path);
    }
    if (code != KVB_EXIT_OK && code != KVB_EXIT_INVALID)
        return code == KVB_EXIT_USAGE ? KVB_EXIT_USAGE : KVB_EXIT_ENGINE;
    char err[600];
    if (!rate)
        st->measured[cell] = measured_ops_per_sec(path, w->name);
    if (kvb_report_add(&st->report, path, err, sizeof(err)) != 0) {
        fprintf(stderr, "kvbench: %s\n", err);
        return KVB_EXIT_ENGINE;
    }
    return KVB_EXIT_OK;
}

static int run_plan(run_state *st)
{
    for (size_t i = 0; i < st->ncells; i++) {
        int code = run_one(st, i);
        if (code != KVB_EXIT_OK)
            return code;
    }
    return KVB_EXIT_OK;
}

int kvb_runner_run(kvb_opts *o)
{
    kvb_timer_init();
    int code = preflight(o);
    if (code != KVB_EXIT_OK)
        return code;
    run_state st;
    memset(&st, 0, sizeof(st));
    st.o = o;
    st.cells = plan_cells(o, &st.ncells);
    st.measured = st.cells ? calloc(st.ncells, sizeof(*st.measured)) : NULL;
    if (!st.cells || !st.measured) {
        free(st.cells);
        free(st.measured);
        fprintf(stderr, "kvbench: out of memory for the cell order\n");
        return KVB_EXIT_ENGINE;
    }
    if (kvb_make_run_dir(o, st.run_id, sizeof(st.run_id), st.run_dir, sizeof(st.run_dir)) != 0) {
        free(st.cells);
        free(st.measured);
        return KVB_EXIT_USAGE;
    }
    char err[600];
    st.manifest = build_manifest(o, st.run_id, st.cells, st.ncells);
    if (!st.manifest || write_manifest(st.manifest, st.run_dir) != 0) {
        json_decref(st.manifest);
        free(st.cells);
        free(st.measured);
        return KVB_EXIT_USAGE;
    }
    if (kvb_report_open(&st.report, st.run_dir, err, sizeof(err)) != 0) {
        fprintf(stderr, "kvbench: %s; pass a writable --out\n", err);
        json_decref(st.manifest);
        free(st.cells);
        free(st.measured);
        return KVB_EXIT_USAGE;
    }
    code = run_plan(&st);
    if (write_manifest(st.manifest, st.run_dir) != 0 && code == KVB_EXIT_OK)
        code = KVB_EXIT_ENGINE;
    json_decref(st.manifest);
    free(st.cells);
    free(st.measured);
    if (kvb_report_finish(&st.report, stdout, err, sizeof(err)) != 0) {
        fprintf(stderr, "kvbench: %s\n", err);
        if (code == KVB_EXIT_OK)
            code = KVB_EXIT_ENGINE;
    }
    if (code == KVB_EXIT_OK && st.invalid)
        code = KVB_EXIT_INVALID;
    printf("results: %s\n", st.run_dir);
    fflush(stdout);
    return code;
}
