/* cli.c - parses `kvbench run|sweep|list|env|help` and its options; every bad input exits 2 with a hint. */
#include "cli.h"

#include "bench.h"
#include "env.h"
#include "intervals.h"
#include "fsutil.h"
#include "keyinfo.h"
#include "keys_cmd.h"
#include "listing.h"
#include "merge.h"
#include "pages.h"
#include "plan.h"
#include "runner.h"
#include "timer.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char run_usage[] =
    "usage: kvbench run -e ENGINE[,ENGINE...] -w WORKLOAD[,WORKLOAD...] -n N [options]\n"
    "       kvbench sweep -e ... -w ... [-n N1,N2,... (default 100000,1000000,10000000)] [options]\n"
    "\n"
    "Runs every (engine, workload, N, repetition) in a fresh process with a fresh data directory:\n"
    "load (keys in data set order, each put timed), untimed warm-up, then the measured phase named\n"
    "after the workload: a per-op timed pass and the same number of ops untimed (throughput).\n"
    "Every read is verified; a wrong, missing, stale or ghost answer makes the run invalid (exit 3).\n"
    "\n"
    "options (numbers take K/M/G suffixes: 1K = 1000, 1M = 1000000):\n"
    "  -e, --engine LIST      engines (see `kvbench list`)\n"
    "  -w, --workload LIST    workloads (see `kvbench list`)\n"
    "  -n, --keys-count LIST  keys loaded before the measured phase (run: one or more; sweep: list)\n"
    "  -r, --reps R           repetitions per cell (default 3)\n"
    "      --ops OPS          ops in the measured phase (default min(max(N,100000),1000000))\n"
    "      --warmup W         untimed warm-up ops (default 10% of --ops)\n"
    "  -t, --threads T        threads, each with its own session and op stream (default 1)\n"
    "      --durability D     none | sync | group (default none); persistent engines load with none,\n"
    "                         sync, and reopen at D for the measured phase\n"
    "      --pages P          page policy for every engine: huge | 4k (default huge): huge asks for 2 MiB\n"
    "                         pages for the memory each engine owns or can reach; 4k keeps 4 KiB pages\n"
    "                         (see README.md, \"Page policy\")\n"
    "      --value-size V     value bytes: a size, uniform:MIN-MAX or zipf:MIN-MAX (zipfian, the\n"
    "                         smallest size the most frequent); every size >= 16 (default 100)\n"
    "      --keys K           key set: uniform | sequential | clustered | lognormal | normal | fb-like |\n"
    "                         osm-like (default uniform; see workloads/README.md) | file:PATH (SOSD's\n"
    "                         format: uint64 count, then uint64 or uint32 keys; duplicates dropped)\n"
    "      --dist D           access: uniform | zipf | latest | seq (default: the workload's own for\n"
    "                         ycsb-*, else uniform)\n"
    "      --theta X          zipf skew (default 0.99)\n"
    "      --mix SPEC         override the op mix, e.g. get=0.8,update=0.1,insert=0.1 (op types: get,\n"
    "                         update, insert, delete, scan, rmw = read-modify-write)\n"
    "      --scan-len K       records per scan (default 100)\n"
    "      --key-space S      shared: all threads draw from one key space and hot set (default for\n"
    "                         ycsb-*); partitioned: thread t owns keys i % T == t (default otherwise)\n"
    "      --seed S           seed of keys, values and op streams (default 42)\n"
    "      --bulk-load        load with the engine's bulk_load when it has one\n"
    "      --dir DIR          parent of the data directories (default $TMPDIR or /tmp)\n"
    "      --out DIR          results root (default results); writes DIR/<run-id>/\n"
    "      --keep             keep the data directories\n"
    "  -q, --quiet            no progress output on stderr\n"
    "  -o key=value           engine option (see `kvbench list`); repeatable; -o ENGINE.key=value\n"
    "                         gives it to that engine only\n"
    "      --rate LIST        open loop: issue the timed pass's ops at intended start times, at each\n"
    "                         rate of the list in turn: ops/s of the whole run (split evenly over\n"
    "                         --threads; K/M suffixes) or P% of the cell's closed-loop throughput, which\n"
    "                         is then measured first (e.g. --rate 10%,50%,90% or --rate 200K); records\n"
    "                         service time (latency), response time from the intended start\n"
    "                         (latency_response), the start lag, and marks saturated cells\n"
    "      --arrival A        spacing of intended starts under --rate: uniform | poisson (default uniform)\n"
    "      --duration S       run the timed pass for S seconds instead of --ops ops (not with --ops); the\n"
    "                         untimed pass then runs as many ops as the timed one did\n"
    "      --interval MS      time series of the timed pass: ops/s, p50/p99/max per MS milliseconds, in\n"
    "                         the result JSON (phase `intervals`) and <result>-intervals.csv\n"
    "      --seed-per-rep     repetition r > 0 uses a seed mixed from (--seed, r): other keys, values\n"
    "                         and op streams per repetition, the same for every engine\n"
    "      --cpus LIST        pin measuring thread t to the t-th CPU of LIST (mod its length), e.g. 1,\n"
    "                         0,1 or 0-1; auto (default): with fewer threads than CPUs, the CPUs with\n"
    "                         the fewest device interrupts, else no pinning; none: no pinning\n"
    "      --settle-ms MS     after sync(2) between cells, wait MS ms before the next (default 200)\n"
    "      --allow-volatile   allow --durability sync|group on tmpfs, ramfs or overlay (fsync is free there)\n"
    "      --plan DIR         sweep: write the cells (one command line each, plan.json + cells.txt) to\n"
    "                         DIR instead of running them; run them with harness/slurm/kvbench.sbatch\n"
    "                         (a Slurm job array) or here with --run-local, then `kvbench merge DIR`\n"
    "      --run-local        with --plan: run the cells here, one by one, then merge them into --out\n"
    "                         (`kvbench sweep --plan DIR --run-local` runs an existing plan)\n"
    "      --rep-index R      run only repetition R of --reps (what a plan's cell runs)\n"
    "      --share-load       load once per (engine, N, repetition), then run the -w workloads in the\n"
    "                         given order on that store in one process, as YCSB does (load, then A, B,\n"
    "                         C, F, D, E): each gets its own warm-up, settle, timed and untimed pass and\n"
    "                         result file; the load phase is in the first workload's result, later\n"
    "                         ones start from the state earlier ones left (inserts, updates); needs\n"
    "                         two or more workloads, not load; not with --rate or --plan\n"
    "      --inject-fault F   harness self-test: corrupt one answer the verifier sees (after the engine\n"
    "                         returned it): wrong | stale | missing, in the timed pass; F:untimed for\n"
    "                         the untimed pass; the run must come out invalid (with --share-load: in\n"
    "                         the last workload of the sequence only)\n"
    "\n"
    "Cells (engine, workload, N, repetition) run in an order shuffled from --seed, recorded in\n"
    "manifest.json as cell_order (with --share-load a cell is (engine, N, repetition)).\n"
    "\n"
    "exit codes: 0 ok, 1 engine error, 2 bad usage, 3 verification failed (results still written).\n"
    "The last line of output is `results: <run directory>`.\n";

static const char main_usage[] =
    "usage: kvbench <command> [options]\n"
    "\n"
    "commands:\n"
    "  run     run engines x workloads at one or more N (see `kvbench help run`)\n"
    "  sweep   like run, over a list of N (default 100000,1000000,10000000)\n"
    "  list    engines (library versions, capabilities, options) and workloads (mixes)\n"
    "  keys    write a key set as a SOSD file and print its hardness (see `kvbench help keys`)\n"
    "  env     print the machine/build manifest as JSON\n"
    "  cell    run one cell of a plan (`kvbench sweep ... --plan DIR`) on local disk; see `kvbench cell --help`\n"
    "  merge   join plan cells or run directories into one run; see `kvbench merge --help`\n"
    "  help    this text, or `kvbench help CMD`\n";

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("kvbench: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\n", stderr);
    return KVB_EXIT_USAGE;
}

/* Unsigned number with optional K/M/G (powers of 1000). 0 or -1. */
static int parse_u64(const char *s, uint64_t *out)
{
    if (!s || !*s || *s == '-' || *s == '+')
        return -1;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s)
        return -1;
    uint64_t mul = 1;
    if (*end == 'K' || *end == 'k')
        mul = 1000, end++;
    else if (*end == 'M' || *end == 'm')
        mul = 1000000, end++;
    else if (*end == 'G' || *end == 'g')
        mul = 1000000000, end++;
    if (*end || (v && mul > UINT64_MAX / v))
        return -1;
    *out = v * mul;
    return 0;
}

static int parse_positive(const char *what, const char *s, uint64_t max, uint64_t *out)
{
    if (parse_u64(s, out) != 0 || *out == 0 || *out > max)
        return usage_error("%s '%s': expected a whole number from 1 to %llu (K/M/G suffixes allowed)", what, s,
                           (unsigned long long)max);
    return 0;
}

/* Variants (`-e NAME+LABEL`): a copy of NAME's vtable under the variant's name, so every result, table
 * and figure keeps it apart from NAME; its own options come from `-o NAME+LABEL.key=value`. Static:
 * kvb_opts is copied by value, and a process parses one command line. */
static kv_engine_ops variant_ops[KVB_MAX_ENGINES];
static char variant_names[KVB_MAX_ENGINES][KVB_VARIANT_NAME_MAX];
static size_t nvariants;

static int variant_label_ok(const char *label)
{
    if (!*label)
        return 0;
    for (const char *p = label; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'))
            return 0;
    return 1;
}

static const kv_engine_ops *add_variant(const char *tok)
{
    const char *plus = strchr(tok, '+');
    char base[KVB_VARIANT_NAME_MAX];
    if ((size_t)(plus - tok) >= sizeof(base) || strlen(tok) >= KVB_VARIANT_NAME_MAX) {
        usage_error("-e %s: name too long (at most %d characters)", tok, KVB_VARIANT_NAME_MAX - 1);
        return NULL;
    }
    memcpy(base, tok, (size_t)(plus - tok));
    base[plus - tok] = '\0';
    const kv_engine_ops *e = kv_engine_find(base);
    if (!e) {
        usage_error("-e %s: unknown engine '%s' in the variant (see `kvbench list`)", tok, base);
        return NULL;
    }
    if (!variant_label_ok(plus + 1)) {
        usage_error("-e %s: a variant is ENGINE+LABEL, LABEL of a-z, 0-9, '-' and '_' (e.g. alexstorage+btree)",
                    tok);
        return NULL;
    }
    for (size_t i = 0; i < nvariants; i++)
        if (strcmp(variant_names[i], tok) == 0)
            return &variant_ops[i];
    if (nvariants == KVB_MAX_ENGINES) {
        usage_error("too many engine variants (at most %d)", KVB_MAX_ENGINES);
        return NULL;
    }
    snprintf(variant_names[nvariants], sizeof(variant_names[nvariants]), "%s", tok);
    variant_ops[nvariants] = *e;
    variant_ops[nvariants].name = variant_names[nvariants];
    return &variant_ops[nvariants++];
}

static int add_engines(kvb_opts *o, char *list)
{
    for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
        const kv_engine_ops *e = strchr(tok, '+') ? add_variant(tok) : kv_engine_find(tok);
        if (!e && strchr(tok, '+'))
            return KVB_EXIT_USAGE;
        for (size_t i = 0; e && i < o->nengines; i++)
            if (o->engines[i] == e)
                return usage_error("-e: engine '%s' given twice", tok);
        if (!e) {
            char names[512] = "";
            size_t used = 0;
            for (size_t i = 0; kv_engines[i] && used < sizeof(names); i++)
                used += (size_t)snprintf(names + used, sizeof(names) - used, "%s%s", i ? ", " : "",
                                         kv_engines[i]->name);
            return usage_error("unknown engine '%s' (available: %s; see `kvbench list`)", tok, names);
        }
        if (o->nengines == KVB_MAX_ENGINES)
            return usage_error("too many engines (at most %d)", KVB_MAX_ENGINES);
        o->engines[o->nengines++] = e;
    }
    return 0;
}

static int add_workloads(kvb_opts *o, char *list)
{
    for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
        const kv_workload *w = kv_workload_find(tok);
        if (!w && strncmp(tok, "ycsb-", 5) == 0)
            return usage_error("-w %s: unknown YCSB workload '%s'; the YCSB core workloads are ycsb-a, ycsb-b, "
                               "ycsb-c, ycsb-d, ycsb-e and ycsb-f (see `kvbench list`)", tok, tok + 5);
        if (!w) {
            char names[512] = "";
            size_t used = 0;
            for (size_t i = 0; kv_workloads[i] && used < sizeof(names); i++)
                used += (size_t)snprintf(names + used, sizeof(names) - used, "%s%s", i ? ", " : "",
                                         kv_workloads[i]->name);
            return usage_error("unknown workload '%s' (available: %s; see `kvbench list`)", tok, names);
        }
        if (o->nworkloads == KVB_MAX_WORKLOADS)
            return usage_error("too many workloads (at most %d)", KVB_MAX_WORKLOADS);
        o->workloads[o->nworkloads++] = *w;
    }
    return 0;
}

static int add_ns(kvb_opts *o, char *list)
{
    o->nns = 0;
    for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
        if (o->nns == KVB_MAX_NS)
            return usage_error("too many values of -n (at most %d)", KVB_MAX_NS);
        if (parse_positive("-n", tok, 4000000000ull, &o->ns[o->nns]) != 0)
            return KVB_EXIT_USAGE;
        o->nns++;
    }
    if (!o->nns)
        return usage_error("-n needs a number of keys, e.g. -n 1M");
    return 0;
}

/* One --rate entry: ops/s (K/M/G allowed, fractions too) or P% of the closed-loop throughput. */
static int parse_rate(const char *s, double *rate, int *pct)
{
    errno = 0;
    char *end;
    double v = strtod(s, &end);
    if (errno || end == s || !isfinite(v))
        return -1;
    *pct = 0;
    if (*end == '%')
        *pct = 1, end++;
    else if (*end == 'K' || *end == 'k')
        v *= 1e3, end++;
    else if (*end == 'M' || *end == 'm')
        v *= 1e6, end++;
    else if (*end == 'G' || *end == 'g')
        v *= 1e9, end++;
    if (*end || !(v > 0) || (*pct && v > 1000) || v > 1e10)
        return -1;
    *rate = v;
    return 0;
}

static int add_rates(kvb_opts *o, char *list)
{
    o->nrates = 0;
    for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
        if (o->nrates == KVB_MAX_RATES)
            return usage_error("--rate: too many rates (at most %d)", KVB_MAX_RATES);
        if (parse_rate(tok, &o->rates[o->nrates], &o->rate_pct[o->nrates]) != 0)
            return usage_error("--rate '%s': expected a rate > 0: ops/s of the whole run (e.g. 50000 or 200K) or "
                               "a percentage of the closed-loop throughput from above 0 to 1000 (e.g. 50%%)", tok);
        o->nrates++;
    }
    if (!o->nrates)
        return usage_error("--rate needs at least one rate, e.g. --rate 100K or --rate 10%%,50%%,90%%");
    return 0;
}

static int add_opt(kvb_opts *o, char *kv)
{
    char *eq = strchr(kv, '=');
    if (!eq || eq == kv)
        return usage_error("-o '%s': expected key=value", kv);
    if (o->nopts == KVB_MAX_OPTS)
        return usage_error("too many -o options (at most %d)", KVB_MAX_OPTS);
    *eq = '\0';
    o->opts[o->nopts++] = (kv_option){kv, eq + 1};
    return 0;
}

static int engine_has_option(const kv_engine_ops *e, const char *key)
{
    for (const kv_option_spec *s = e->options; s && s->key; s++)
        if (strcmp(s->key, key) == 0)
            return 1;
    return 0;
}

/* An unscoped -o key goes to every selected engine, so each must accept it; `engine.key` goes to that
 * engine only, which must be selected and accept key. */
static int check_opt_keys(const kvb_opts *o)
{
    for (size_t i = 0; i < o->nopts; i++) {
        const char *k = o->opts[i].key, *dot = strchr(k, '.');
        int scoped_ok = 0;
        for (size_t e = 0; e < o->nengines; e++) {
            const kv_engine_ops *eng = o->engines[e];
            if (dot && kvb_engine_scope(eng->name, k, (size_t)(dot - k))) {
                if (!engine_has_option(eng, dot + 1))
                    return usage_error("engine %s has no option '%s' (its options are in `kvbench list`)",
                                       eng->name, dot + 1);
                scoped_ok = 1;
            } else if (!dot && !engine_has_option(eng, k)) {
                return usage_error("engine %s has no option '%s' (its options are in `kvbench list`; "
                                   "use -o ENGINE.%s=... to give it to one engine only)", eng->name, k, k);
            }
        }
        if (dot && !scoped_ok)
            return usage_error("-o %s: '%.*s' is not one of the engines given with -e", k, (int)(dot - k), k);
    }
    return 0;
}

/* The directory must exist (or be creatable) and accept new files. */
static int check_dir(const char *flag, const char *dir, int create)
{
    struct stat st;
    if (stat(dir, &st) != 0) {
        if (create)
            return 0; /* created later with its parents; failures reported then */
        return usage_error("%s %s: %s; pass an existing writable directory", flag, dir, strerror(errno));
    }
    if (!S_ISDIR(st.st_mode))
        return usage_error("%s %s: not a directory; pass a writable directory", flag, dir);
    if (access(dir, W_OK | X_OK) != 0)
        return usage_error("%s %s: not writable (%s); pass a writable directory", flag, dir, strerror(errno));
    return 0;
}

/* --out may not exist yet, but no component of it may be a regular file. */
static int check_out(const char *out)
{
    char buf[4096];
    snprintf(buf, sizeof(buf), "%s", out);
    for (char *p = buf + strlen(buf);;) {
        struct stat st;
        if (stat(buf, &st) == 0) {
            if (!S_ISDIR(st.st_mode))
                return usage_error("--out %s: %s is not a directory; pass a writable directory", out, buf);
            if (access(buf, W_OK | X_OK) != 0)
                return usage_error("--out %s: %s is not writable; pass a writable directory", out, buf);
            return 0;
        }
        if (errno == ENOTDIR)
            return usage_error("--out %s: a path component is a regular file; pass a writable directory", out);
        p = strrchr(buf, '/');
        if (!p || p == buf)
            return 0; /* relative path whose first component does not exist: created under . */
        *p = '\0';
    }
}

static void build_command(kvb_opts *o, int argc, char **argv)
{
    char *args = kvb_shell_join(argc - 1, argv + 1);
    o->command = args ? malloc(strlen(args) + 16) : NULL;
    if (o->command)
        sprintf(o->command, "kvbench%s%s", argc > 1 ? " " : "", args);
    free(args);
}

enum {
    OPT_OPS = 1000, OPT_WARMUP, OPT_DURABILITY, OPT_VALUE_SIZE, OPT_KEYS, OPT_DIST, OPT_THETA, OPT_MIX,
    OPT_SCAN_LEN, OPT_KEY_SPACE, OPT_SEED, OPT_BULK, OPT_DIR, OPT_OUT, OPT_KEEP, OPT_FAULT, OPT_HELP, OPT_PAGES,
    OPT_RATE, OPT_ARRIVAL, OPT_DURATION, OPT_INTERVAL,
    OPT_SEED_PER_REP, OPT_CPUS, OPT_SETTLE, OPT_ALLOW_VOLATILE,
    OPT_PLAN, OPT_RUN_LOCAL, OPT_REP_INDEX, OPT_SHARE_LOAD
};

static const struct option long_opts[] = {
    {"engine", required_argument, NULL, 'e'}, {"workload", required_argument, NULL, 'w'},
    {"keys-count", required_argument, NULL, 'n'}, {"reps", required_argument, NULL, 'r'},
    {"ops", required_argument, NULL, OPT_OPS}, {"warmup", required_argument, NULL, OPT_WARMUP},
    {"threads", required_argument, NULL, 't'}, {"durability", required_argument, NULL, OPT_DURABILITY},
    {"value-size", required_argument, NULL, OPT_VALUE_SIZE}, {"keys", required_argument, NULL, OPT_KEYS},
    {"dist", required_argument, NULL, OPT_DIST}, {"theta", required_argument, NULL, OPT_THETA},
    {"mix", required_argument, NULL, OPT_MIX}, {"key-space", required_argument, NULL, OPT_KEY_SPACE},
    {"scan-len", required_argument, NULL, OPT_SCAN_LEN},
    {"seed", required_argument, NULL, OPT_SEED}, {"bulk-load", no_argument, NULL, OPT_BULK},
    {"dir", required_argument, NULL, OPT_DIR}, {"out", required_argument, NULL, OPT_OUT},
    {"keep", no_argument, NULL, OPT_KEEP}, {"quiet", no_argument, NULL, 'q'},
    {"inject-fault", required_argument, NULL, OPT_FAULT}, {"help", no_argument, NULL, OPT_HELP},
    {"pages", required_argument, NULL, OPT_PAGES},
    {"rate", required_argument, NULL, OPT_RATE}, {"arrival", required_argument, NULL, OPT_ARRIVAL},
    {"duration", required_argument, NULL, OPT_DURATION}, {"interval", required_argument, NULL, OPT_INTERVAL},
    {"seed-per-rep", no_argument, NULL, OPT_SEED_PER_REP}, {"cpus", required_argument, NULL, OPT_CPUS},
    {"settle-ms", required_argument, NULL, OPT_SETTLE}, {"allow-volatile", no_argument, NULL, OPT_ALLOW_VOLATILE},
    {"plan", required_argument, NULL, OPT_PLAN}, {"run-local", no_argument, NULL, OPT_RUN_LOCAL},
    {"rep-index", required_argument, NULL, OPT_REP_INDEX}, {"share-load", no_argument, NULL, OPT_SHARE_LOAD},
    {NULL, 0, NULL, 0},
};

static int parse_fault(kvb_opts *o, const char *arg)
{
    size_t len = strcspn(arg, ":");
    const char *pass = arg[len] ? arg + len + 1 : "timed";
    static const char *const names[] = {"wrong", "stale", "missing"};
    static const enum kvb_fault faults[] = {KVB_FAULT_WRONG, KVB_FAULT_STALE, KVB_FAULT_MISSING};
    o->fault = KVB_FAULT_NONE;
    for (int i = 0; i < 3; i++)
        if (strlen(names[i]) == len && strncmp(arg, names[i], len) == 0)
            o->fault = faults[i];
    int untimed = strcmp(pass, "untimed") == 0;
    if (!o->fault || (!untimed && strcmp(pass, "timed") != 0))
        return usage_error("--inject-fault '%s': expected wrong, stale or missing, optionally with :timed or "
                           ":untimed (the pass to corrupt)", arg);
    o->fault_untimed = untimed;
    return 0;
}

static int parse_cpus(kvb_opts *o, const char *arg)
{
    o->cpus_auto = strcmp(arg, "auto") == 0;
    o->ncpus = 0;
    if (o->cpus_auto || strcmp(arg, "none") == 0)
        return 0;
    char err[512];
    if (kvb_cpus_parse(arg, o->cpus, KVB_MAX_CPUS, &o->ncpus, err, sizeof(err)) != 0)
        return usage_error("%s", err);
    return 0;
}

/* fsync on a RAM-backed or overlay filesystem costs nothing (or not what a disk costs): refuse
 * durable measurements there unless asked. */
static int check_volatile_dir(const kvb_opts *o)
{
    char fs[64];
    if (o->durability == KV_DUR_NONE || o->allow_volatile || !kvb_env_fs_volatile(o->dir, fs, sizeof(fs)))
        return 0;
    return usage_error("--durability %s with --dir %s: that directory is on %s, where fsync does not reach a "
                       "disk, so the figures would not measure durability; use a --dir on a disk, or pass "
                       "--allow-volatile to measure anyway", kv_durability_name(o->durability), o->dir, fs);
}

typedef struct raw_args {
    const char *mix, *scan_len, *keys, *key_space;
    int dist_given;
} raw_args;

static int parse_one(kvb_opts *o, raw_args *raw, int c, char *arg)
{
    uint64_t v;
    switch (c) {
    case 'e': return add_engines(o, arg);
    case 'w': return add_workloads(o, arg);
    case 'n': return add_ns(o, arg);
    case 'r': if (parse_positive("--reps", arg, 1000, &v)) return 2; o->reps = (int)v; return 0;
    case OPT_OPS: return parse_positive("--ops", arg, 10000000000ull, &o->ops) ? 2 : 0;
    case OPT_WARMUP:
        if (parse_u64(arg, &o->warmup) != 0)
            return usage_error("--warmup '%s': expected a whole number >= 0 (K/M suffixes allowed)", arg);
        return 0;
    case 't': if (parse_positive("--threads", arg, 256, &v)) return 2; o->threads = (int)v; return 0;
    case OPT_DURABILITY:
        if (kv_durability_parse(arg, &o->durability) != KV_OK)
            return usage_error("--durability '%s': expected none, sync or group", arg);
        return 0;
    case OPT_PAGES:
        if (kv_pages_parse(arg, &o->pages) != KV_OK)
            return usage_error("--pages '%s': expected huge or 4k", arg);
        return 0;
    case OPT_VALUE_SIZE:
    {
        char err[512];
        if (kv_valsize_parse(arg, 64u << 20, &o->vsize, err, sizeof(err)) != 0)
            return usage_error("%s", err);
        o->value_size = o->vsize.max;
        return 0;
    }
    case OPT_KEYS: raw->keys = arg; return 0; /* a key file is read after the cheaper checks */
    case OPT_DIST:
        if (kv_access_parse(arg, &o->access) != 0)
            return usage_error("--dist '%s': expected uniform, zipf, latest or seq", arg);
        raw->dist_given = 1;
        return 0;
    case OPT_THETA: {
        char *end;
        errno = 0;
        o->theta = strtod(arg, &end);
        if (errno || end == arg || *end || !(o->theta > 0) || !isfinite(o->theta))
            return usage_error("--theta '%s': expected a number > 0 (e.g. 0.99)", arg);
        return 0;
    }
    case OPT_MIX: raw->mix = arg; return 0;
    case OPT_KEY_SPACE: raw->key_space = arg; return 0;
    case OPT_SCAN_LEN: raw->scan_len = arg; return 0;
    case OPT_SEED:
        if (parse_u64(arg, &o->seed) != 0)
            return usage_error("--seed '%s': expected a whole number >= 0", arg);
        return 0;
    case OPT_BULK: o->bulk_load = 1; return 0;
    case OPT_DIR: o->dir = arg; return 0;
    case OPT_OUT: o->out = arg; return 0;
    case OPT_KEEP: o->keep = 1; return 0;
    case 'q': o->quiet = 1; return 0;
    case 'o': return add_opt(o, arg);
    case OPT_RATE: return add_rates(o, arg);
    case OPT_DURATION: {
        char *end;
        errno = 0;
        o->duration_s = strtod(arg, &end);
        if (errno || end == arg || *end || !(o->duration_s > 0) || o->duration_s > 86400)
            return usage_error("--duration '%s': expected seconds > 0 (up to 86400, fractions allowed)", arg);
        return 0;
    }
    case OPT_INTERVAL: return parse_positive("--interval", arg, 3600000, &o->interval_ms) ? 2 : 0;
    case OPT_ARRIVAL:
        if (kvb_arrival_parse(arg, &o->arrival) != 0)
            return usage_error("--arrival '%s': expected uniform or poisson", arg);
        return 0;
    case OPT_FAULT: return parse_fault(o, arg);
    case OPT_SEED_PER_REP: o->seed_per_rep = 1; return 0;
    case OPT_CPUS: return parse_cpus(o, arg);
    case OPT_SETTLE:
        if (parse_u64(arg, &v) != 0 || v > 600000)
            return usage_error("--settle-ms '%s': expected milliseconds from 0 to 600000", arg);
        o->settle_ms = (uint32_t)v;
        return 0;
    case OPT_ALLOW_VOLATILE: o->allow_volatile = 1; return 0;
    case OPT_PLAN: o->plan_dir = arg; return 0;
    case OPT_RUN_LOCAL: o->run_local = 1; return 0;
    case OPT_SHARE_LOAD: o->share_load = 1; return 0;
    case OPT_REP_INDEX:
        if (parse_u64(arg, &v) != 0 || v >= 1000)
            return usage_error("--rep-index '%s': expected a repetition number from 0 to --reps - 1", arg);
        o->only_rep = (int)v;
        return 0;
    default: return usage_error("unknown option; see `kvbench help run`");
    }
}

/* Apply --mix / --scan-len to every selected workload. */
static int apply_workload_overrides(kvb_opts *o, const raw_args *raw)
{
    uint64_t len = 0;
    if (raw->scan_len && parse_positive("--scan-len", raw->scan_len, 1000000, &len) != 0)
        return KVB_EXIT_USAGE;
    int shared = -1;
    if (raw->key_space && strcmp(raw->key_space, "shared") == 0)
        shared = 1;
    else if (raw->key_space && strcmp(raw->key_space, "partitioned") == 0)
        shared = 0;
    else if (raw->key_space)
        return usage_error("--key-space '%s': expected shared or partitioned", raw->key_space);
    for (size_t i = 0; i < o->nworkloads; i++) {
        kv_workload *w = &o->workloads[i];
        char err[512];
        if (raw->mix && kv_workload_set_mix(w, raw->mix, err, sizeof(err)) != 0)
            return usage_error("--mix: %s", err);
        if (len) {
            w->scan_len = (uint32_t)len;
            if (w->scan_len_min > w->scan_len)
                w->scan_len_min = w->scan_len;
        }
        if (shared >= 0 && strcmp(w->name, "load") != 0)
            w->shared_keys = shared;
        /* the access distribution: --dist when given, else the workload's own (YCSB's), else uniform */
        if (raw->dist_given || !w->has_access) {
            w->access = o->access;
            w->has_access = 1;
        }
        if (strcmp(w->name, "load") == 0 && raw->mix)
            return usage_error("--mix does not apply to the load workload (it inserts every key once)");
    }
    return 0;
}

static int check_complete(kvb_opts *o)
{
    if (!o->nengines)
        return usage_error("no engine given: add -e ENGINE (see `kvbench list`)");
    if (!o->nworkloads)
        return usage_error("no workload given: add -w WORKLOAD (see `kvbench list`)");
    if (!o->nns)
        return usage_error("no key count given: add -n N (e.g. -n 1M)");
    for (size_t i = 0; i < o->nns; i++)
        if (o->ns[i] < (uint64_t)o->threads)
            return usage_error("-n %llu is less than --threads %d: every thread needs keys of its own",
                               (unsigned long long)o->ns[i], o->threads);
    if (o->duration_s > 0 && o->ops)
        return usage_error("--duration and --ops both given: the measured phase runs either for a time or for a "
                           "number of ops; drop one of them");
    if (o->duration_s > 0 && o->interval_ms && o->duration_s * 1000 / (double)o->interval_ms > KVB_IV_MAX_SLOTS)
        return usage_error("--interval %llu ms over --duration %g s makes more than %d intervals; use a longer "
                           "--interval", (unsigned long long)o->interval_ms, o->duration_s, KVB_IV_MAX_SLOTS);
    for (size_t i = 0; i < o->nworkloads && (o->nrates || o->duration_s > 0); i++)
        if (strcmp(o->workloads[i].name, "load") == 0)
            return usage_error("%s does not apply to the load workload (it has no measured phase)",
                               o->nrates ? "--rate" : "--duration");
    if (o->share_load && o->nworkloads < 2)
        return usage_error("--share-load needs at least two workloads (-w A,B,...): it runs them in turn on one "
                           "load");
    for (size_t i = 0; i < o->nworkloads && o->share_load; i++)
        if (strcmp(o->workloads[i].name, "load") == 0)
            return usage_error("--share-load cannot run the load workload: every cell loads once before its "
                               "workloads; drop load from -w");
    for (size_t i = 0; i < o->nworkloads && o->share_load; i++)
        for (size_t k = 0; k < i; k++)
            if (strcmp(o->workloads[i].name, o->workloads[k].name) == 0)
                return usage_error("--share-load: workload %s is given twice in -w; each workload of the sequence "
                                   "writes one result file, so give each once", o->workloads[i].name);
    if (o->share_load && o->nrates)
        return usage_error("--share-load with --rate is not supported (paced cells need each workload's own "
                           "closed-loop cell); run them without --share-load");
    if (check_opt_keys(o) || check_dir("--dir", o->dir, 0) || check_out(o->out) || check_volatile_dir(o))
        return KVB_EXIT_USAGE;
    return 0;
}

/* --plan / --run-local / --rep-index: write a sweep's cells, run them here, or run one repetition. */
static int plan_mode(kvb_opts *o, const raw_args *raw, int sweep, int argc, char **argv)
{
    if (o->plan_dir && !sweep)
        return usage_error("--plan belongs to `kvbench sweep` (a plan is the cells of a sweep)");
    if (o->run_local && !o->plan_dir)
        return usage_error("--run-local needs --plan DIR: the cells it runs are the plan's");
    if (o->plan_dir && o->share_load)
        return usage_error("--share-load with --plan is not supported (a plan's cell is one workload); drop one "
                           "of them");
    char plan_json[4200];
    snprintf(plan_json, sizeof(plan_json), "%s/plan.json", o->plan_dir ? o->plan_dir : "");
    int existing = o->run_local && !o->nengines && access(plan_json, F_OK) == 0;
    if (!existing) {
        if (apply_workload_overrides(o, raw) || check_complete(o))
            return KVB_EXIT_USAGE;
        if (o->only_rep >= o->reps)
            return usage_error("--rep-index %d: expected 0 to --reps - 1 (%d)", o->only_rep, o->reps - 1);
    }
    if (!o->plan_dir)
        return kvb_runner_run(o); /* --rep-index alone: one repetition of the run */
    int rc = existing ? KVB_EXIT_OK : kvb_plan_write(o, argc - 1, argv + 1);
    if (rc != KVB_EXIT_OK || !o->run_local)
        return rc;
    if (check_dir("--dir", o->dir, 0))
        return KVB_EXIT_USAGE;
    rc = kvb_plan_run_local(o->plan_dir, o->dir);
    if (rc != KVB_EXIT_OK)
        return rc;
    char *merge_argv[] = {"merge", "--out", (char *)o->out, (char *)o->plan_dir, NULL};
    return kvb_merge_main(4, merge_argv);
}

static char **dup_argv(int argc, char **argv)
{
    char **v = calloc((size_t)argc + 1, sizeof(*v));
    for (int i = 0; v && i < argc; i++)
        if (!(v[i] = strdup(argv[i]))) {
            while (i--)
                free(v[i]);
            free(v);
            return NULL;
        }
    return v;
}

static void free_argv(char **v)
{
    for (char **p = v; p && *p; p++)
        free(*p);
    free(v);
}

static int parse_and_run_args(kvb_opts *op, int argc, char **argv, int sweep, int orig_argc, char **orig_argv,
                              char **exec_argv)
{
    kvb_opts o = *op;
    kv_valsize_fixed(&o.vsize, 100);
    o.reps = 3, o.threads = 1, o.value_size = 100, o.theta = 0.99, o.seed = 42, o.warmup = UINT64_MAX;
    o.durability = KV_DUR_NONE, o.pages = KV_PAGES_HUGE, o.keyset = KV_KEYS_UNIFORM, o.access = KV_ACCESS_UNIFORM;
    o.cpus_auto = 1, o.settle_ms = 200;
    o.only_rep = -1;
    const char *tmp = getenv("TMPDIR");
    o.dir = tmp && *tmp ? tmp : "/tmp";
    o.out = "results";
    if (sweep) {
        static const uint64_t def[] = {100000, 1000000, 10000000};
        memcpy(o.ns, def, sizeof(def));
        o.nns = 3;
    }
    raw_args raw = {NULL, NULL, NULL, NULL, 0};
    build_command(&o, argc + 1, argv - 1); /* before parsing: the parsers cut their arguments up */
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":e:w:n:r:t:o:q", long_opts, NULL)) != -1) {
        int rc = 0;
        if (c == OPT_HELP)
            fputs(run_usage, stdout);
        else if (c == '?')
            rc = usage_error("unknown option '%s'; see `kvbench help run`", argv[optind - 1]);
        else if (c == ':')
            rc = usage_error("option '%s' needs a value; see `kvbench help run`", argv[optind - 1]);
        else
            rc = parse_one(&o, &raw, c, optarg);
        if (c == OPT_HELP || rc) {
            op->command = o.command;
            return rc;
        }
    }
    op->command = o.command;
    if (optind < argc)
        return usage_error("unexpected argument '%s'; see `kvbench help run`", argv[optind]);
    if (exec_argv)
        kvb_pages_apply_allocator(o.pages, exec_argv); /* may re-execute kvbench; returns if not */
    if (o.plan_dir || o.run_local || o.only_rep >= 0)
        return plan_mode(&o, &raw, sweep, orig_argc, orig_argv);
    int rc = apply_workload_overrides(&o, &raw);
    if (!rc)
        rc = check_complete(&o);
    char err[2048];
    if (!rc && raw.keys && (kvb_keyset_parse(&o, raw.keys, err, sizeof(err)) != 0 ||
                            kvb_keyset_check_n(&o, err, sizeof(err)) != 0))
        rc = usage_error("%s", err);
    if (!rc)
        rc = kvb_runner_run(&o);
    kvb_keyset_free(&o);
    return rc;
}

static int parse_and_run(kvb_opts *op, int argc, char **argv, int sweep, char **exec_argv)
{
    char **orig_argv = dup_argv(argc, argv); /* the plan passes options on verbatim; parsing cuts them up */
    int orig_argc = argc;
    if (!orig_argv)
        return usage_error("out of memory");
    int rc = parse_and_run_args(op, argc, argv, sweep, orig_argc, orig_argv, exec_argv);
    free_argv(orig_argv);
    return rc;
}

static int cmd_run(int argc, char **argv, int sweep)
{
    kvb_opts o;
    memset(&o, 0, sizeof(o));
    /* the program and its whole command line, for a re-execution with the page policy (pages.h) */
    char **orig = calloc((size_t)argc + 2, sizeof(*orig));
    for (int i = 0; orig && i <= argc; i++)
        if (!(orig[i] = strdup(argv[i - 1])))
            break;
    int complete = orig && orig[argc];
    int rc = parse_and_run(&o, argc, argv, sweep, complete ? orig : NULL);
    for (int i = 0; orig && i <= argc; i++)
        free(orig[i]);
    free(orig);
    free(o.command);
    return rc;
}

static int cmd_help(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "help") == 0) {
        fputs(main_usage, stdout);
        return KVB_EXIT_OK;
    }
    if (strcmp(argv[1], "run") == 0 || strcmp(argv[1], "sweep") == 0) {
        fputs(run_usage, stdout);
        return KVB_EXIT_OK;
    }
    if (strcmp(argv[1], "list") == 0) {
        puts("usage: kvbench list\n\nEngines (library version, capabilities, -o options) and workloads (op mixes).");
        return KVB_EXIT_OK;
    }
    if (strcmp(argv[1], "keys") == 0) {
        fputs(kvb_keys_usage, stdout);
        return KVB_EXIT_OK;
    }
    if (strcmp(argv[1], "env") == 0) {
        puts("usage: kvbench env [--dir DIR]\n\nPrints the manifest (build, machine, kernel, THP, clock source, timer "
             "calibration,\nfilesystem of DIR) as JSON.");
        return KVB_EXIT_OK;
    }
    return usage_error("no such command '%s'; commands: run, sweep, list, keys, env, cell, merge, help", argv[1]);
}

static int cmd_env(int argc, char **argv)
{
    const char *tmp = getenv("TMPDIR");
    const char *dir = tmp && *tmp ? tmp : "/tmp";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0)
            return cmd_help(2, (char *[]){"help", "env", NULL});
        if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
            dir = argv[++i];
        else
            return usage_error("env: unknown argument '%s'; see `kvbench help env`", argv[i]);
    }
    kvb_timer_init();
    json_t *m = kvb_env_manifest(dir, NULL);
    if (!m)
        return usage_error("out of memory");
    json_dumpf(m, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
    putchar('\n');
    json_decref(m);
    return KVB_EXIT_OK;
}

int kvb_cli_main(int argc, char **argv)
{
    if (argc < 2)
        return fputs(main_usage, stderr), KVB_EXIT_USAGE;
    const char *cmd = argv[1];
    if (strcmp(cmd, "run") == 0 || strcmp(cmd, "sweep") == 0)
        return cmd_run(argc - 1, argv + 1, cmd[0] == 's');
    if (strcmp(cmd, "list") == 0) {
        if (argc > 2 && strcmp(argv[2], "--help") == 0)
            return cmd_help(2, (char *[]){"help", "list", NULL});
        if (argc > 2)
            return usage_error("list: unexpected argument '%s'", argv[2]);
        return kvb_list(stdout);
    }
    if (strcmp(cmd, "env") == 0)
        return cmd_env(argc - 1, argv + 1);
    if (strcmp(cmd, "keys") == 0)
        return kvb_keys_main(argc - 1, argv + 1);
    if (strcmp(cmd, "cell") == 0)
        return kvb_cell_main(argc - 1, argv + 1);
    if (strcmp(cmd, "merge") == 0)
        return kvb_merge_main(argc - 1, argv + 1);
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0)
        return cmd_help(argc - 1, argv + 1);
    return usage_error("unknown command '%s'; commands: run, sweep, list, keys, env, cell, merge, help (see `kvbench "
                       "help`)", cmd);
}
