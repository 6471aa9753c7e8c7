/* engine_microbench.c - per engine: load N random keys (100-byte values, durability none), then N random gets.
 *
 * Usage: engine_microbench [-n keys] [-g gets] [-d dir] [engine [-o key=value]...]...
 * With no engine named, every registered engine runs. Prints ns/op for the load and the gets, plus the
 * engine's stats after the load, so engine knobs can be compared (engines/README.md records results).
 */
#include "engine.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define VLEN 100
#define MAXOPTS 16

static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static uint64_t clock_ns(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Wall time, plus this thread's CPU time: on a shared 2-core machine the CPU time is the steadier
 * number (it excludes time other processes held the core, but not their cache pollution). */
static uint64_t now_ns(void) { return clock_ns(CLOCK_MONOTONIC); }
static uint64_t cpu_ns(void) { return clock_ns(CLOCK_THREAD_CPUTIME_ID); }

/* Incompressible bytes that depend on the key, so a get can be checked cheaply. */
static void make_value(int64_t key, unsigned char *out)
{
    uint64_t h = (uint64_t)key;
    for (size_t i = 0; i < VLEN; i += 8) {
        h = mix(h);
        memcpy(out + i, &h, VLEN - i < 8 ? VLEN - i : 8);
    }
}

static int rm_cb(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)st, (void)flag, (void)f;
    return remove(p);
}

static void print_pair(void *arg, const char *name, const char *value)
{
    printf("  %s%s = %s\n", (const char *)arg, name, value);
}

static int bench(const kv_engine_ops *ops, const kv_option *opts, size_t nopts, size_t n, size_t gets,
                 const char *base)
{
    char dir[4096], err[512] = "";
    snprintf(dir, sizeof(dir), "%s/kvmicro-%s-XXXXXX", base, ops->name);
    if (!mkdtemp(dir))
        return fprintf(stderr, "mkdtemp %s failed\n", dir), 1;
    kv_config cfg = {.dir = dir, .durability = KV_DUR_NONE, .expected_keys = n, .value_size = VLEN,
                     .threads = 1, .opts = opts, .nopts = nopts};
    kv_engine *e = NULL;
    kv_session *s = NULL;
    int rc = kv_engine_open(ops, &cfg, &e, err, sizeof(err));
    if (rc != KV_OK)
        return fprintf(stderr, "%s: open: %s\n", ops->name, err), 1;
    if ((rc = ops->session_open(e, &s)) != KV_OK)
        return fprintf(stderr, "%s: session: %s\n", ops->name, e->err), 1;
    int64_t *keys = malloc(n * sizeof(*keys));
    unsigned char val[VLEN];
    for (size_t i = 0; i < n; i++)
        keys[i] = (int64_t)mix(i * 2654435761u + 1); /* mix is a bijection: keys are distinct */

    uint64_t c0 = cpu_ns(), t0 = now_ns();
    for (size_t i = 0; i < n && rc == KV_OK; i++) {
        make_value(keys[i], val);
        rc = ops->put(s, keys[i], val, VLEN);
    }
    uint64_t t1 = now_ns(), c1 = cpu_ns();
    if (rc != KV_OK)
        return fprintf(stderr, "%s: put: %s\n", ops->name, s->err), 1;

    size_t bad = 0;
    uint64_t c2 = cpu_ns(), t2 = now_ns();
    for (size_t i = 0; i < gets; i++) {
        int64_t k = keys[mix(i ^ 0x5555) % n];
        kv_slice v;
        rc = ops->get(s, k, &v);
        if (rc == KV_OK) {
            uint64_t h = mix((uint64_t)k); /* first 8 bytes of make_value(k) */
            if (v.len != VLEN || memcmp(v.data, &h, 8) != 0)
                bad++;
        } else if (!(ops->caps & KV_CAP_DISCARDS)) {
            bad++;
        }
    }
    uint64_t t3 = now_ns(), c3 = cpu_ns();
    uint64_t disk = 0;
    if (ops->disk_bytes)
        ops->disk_bytes(e, &disk);
    printf("%-8s load %7.0f ns/op (cpu %7.0f)  get %6.0f ns/op (cpu %6.0f)  keys %zu gets %zu  disk %.1f MiB"
           "  bad %zu  [%s]\n",
           ops->name, (double)(t1 - t0) / (double)n, (double)(c1 - c0) / (double)n,
           (double)(t3 - t2) / (double)gets, (double)(c3 - c2) / (double)gets, n, gets,
           (double)disk / 1048576.0, bad, ops->lib_version());
    for (size_t i = 0; i < nopts; i++)
        printf("  option %s=%s\n", opts[i].key, opts[i].value);
    if (getenv("MICRO_VERBOSE")) {
        ops->describe(e, print_pair, "knob ");
        if (ops->stats)
            ops->stats(e, print_pair, "stat ");
    }
    fflush(stdout);
    ops->session_close(s);
    rc = ops->close(e);
    free(keys);
    nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    return bad || rc != KV_OK;
}

int main(int argc, char **argv)
{
    size_t n = 1000000, gets = 1000000;
    const char *base = "/tmp";
    const kv_engine_ops *sel[32];
    kv_option opts[32][MAXOPTS];
    size_t nopts[32] = {0}, nsel = 0;
    int opt;
    while ((opt = getopt(argc, argv, "+n:g:d:")) != -1) {
        if (opt == 'n') n = strtoull(optarg, NULL, 10);
        else if (opt == 'g') gets = strtoull(optarg, NULL, 10);
        else if (opt == 'd') base = optarg;
        else
            return fprintf(stderr, "usage: %s [-n keys] [-g gets] [-d dir] [engine [-o k=v]...]...\n", argv[0]),
                   2;
    }
    for (int i = optind; i < argc; i++) {
        if (strcmp(argv[i], "-o") == 0 && i + 1 < argc && nsel > 0 && nopts[nsel - 1] < MAXOPTS) {
            char *eq = strchr(argv[++i], '=');
            if (!eq)
                return fprintf(stderr, "-o wants key=value, got %s\n", argv[i]), 2;
            *eq = '\0';
            opts[nsel - 1][nopts[nsel - 1]++] = (kv_option){argv[i], eq + 1};
        } else if (nsel < 32) {
            if (!(sel[nsel] = kv_engine_find(argv[i])))
                return fprintf(stderr, "no engine named %s\n", argv[i]), 2;
            nsel++;
        }
    }
    if (n == 0 || gets == 0)
        return fprintf(stderr, "-n and -g must be > 0\n"), 2;
    if (nsel == 0)
        for (size_t i = 0; kv_engines[i] && nsel < 32; i++)
            sel[nsel++] = kv_engines[i];
    int failed = 0;
    for (size_t i = 0; i < nsel; i++)
        failed |= bench(sel[i], opts[i], nopts[i], n, gets, base);
    return failed;
}
