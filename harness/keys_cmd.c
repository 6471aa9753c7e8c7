/* keys_cmd.c - `kvbench keys`: the N keys a run would load, sorted, as a SOSD file, and their hardness. */
#include "keys_cmd.h"

#include "bench.h"
#include "keyinfo.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char kvb_keys_usage[] =
    "usage: kvbench keys --keys SPEC -n N [--seed S] --out FILE\n"
    "\n"
    "Writes the N keys that `kvbench run --keys SPEC -n N --seed S` would load (for a run without\n"
    "inserts), sorted, as a SOSD key file (little-endian uint64 count, then uint64 keys), and prints\n"
    "the key set's hardness: segments of an optimal eps-PLA at eps = 32 and eps = 4096 (GRE's measure).\n"
    "SPEC is a generated key set (uniform, sequential, clustered, lognormal, normal, fb-like, osm-like)\n"
    "or file:PATH (a sample of N keys of that file).\n";

static int keys_usage_error(const char *msg, const char *arg)
{
    fprintf(stderr, "kvbench: keys: %s%s%s; see `kvbench help keys`\n", msg, arg ? " " : "", arg ? arg : "");
    return KVB_EXIT_USAGE;
}

static int parse_count(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    uint64_t mul = 1;
    if (*end == 'K' || *end == 'k')
        mul = 1000, end++;
    else if (*end == 'M' || *end == 'm')
        mul = 1000000, end++;
    if (errno || end == s || *end || *s == '-' || v == 0 || v > 4000000000ULL / mul)
        return -1;
    *out = v * mul;
    return 0;
}

int kvb_keys_main(int argc, char **argv)
{
    static const struct option opts[] = {{"keys", required_argument, NULL, 'k'}, {"keys-count", required_argument, NULL, 'n'},
                                         {"seed", required_argument, NULL, 's'}, {"out", required_argument, NULL, 'o'},
                                         {"help", no_argument, NULL, 'h'},       {NULL, 0, NULL, 0}};
    kvb_opts o;
    memset(&o, 0, sizeof(o));
    o.seed = 42;
    const char *spec = NULL, *out = NULL;
    uint64_t n = 0;
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":n:", opts, NULL)) != -1) {
        switch (c) {
        case 'k': spec = optarg; break;
        case 'n':
            if (parse_count(optarg, &n) != 0)
                return keys_usage_error("-n expects a whole number of keys from 1 to 4000000000, not", optarg);
            break;
        case 's': {
            char *end;
            errno = 0;
            o.seed = strtoull(optarg, &end, 10);
            if (errno || end == optarg || *end || *optarg == '-')
                return keys_usage_error("--seed expects a whole number >= 0, not", optarg);
            break;
        }
        case 'o': out = optarg; break;
        case 'h': fputs(kvb_keys_usage, stdout); return KVB_EXIT_OK;
        case ':': return keys_usage_error("option needs a value:", argv[optind - 1]);
        default: return keys_usage_error("unknown option", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return keys_usage_error("unexpected argument", argv[optind]);
    if (!spec || !n || !out)
        return keys_usage_error("--keys, -n and --out are required", NULL);
    char err[2048];
    o.ns[0] = n, o.nns = 1;
    if (kvb_keyset_parse(&o, spec, err, sizeof(err)) != 0 || kvb_keyset_check_n(&o, err, sizeof(err)) != 0) {
        kvb_keyset_free(&o);
        fprintf(stderr, "kvbench: keys: %s\n", err);
        return KVB_EXIT_USAGE;
    }
    kv_dataset *ds = NULL;
    int rc = o.keyset == KV_KEYS_FILE ? kv_dataset_create_from(&ds, o.filekeys, o.nfilekeys, n, 0, o.seed, KV_VALUE_MIN)
                                      : kv_dataset_create(&ds, o.keyset, n, 0, o.seed, KV_VALUE_MIN);
    int64_t *sorted = rc == 0 ? kv_dataset_sorted_loaded(ds) : NULL;
    kvb_hardness h;
    int code = KVB_EXIT_OK;
    if (!sorted || kvb_hardness_compute(sorted, n, &h) != 0) {
        fprintf(stderr, "kvbench: keys: cannot build %" PRIu64 " keys of %s: out of memory\n", n, spec);
        code = KVB_EXIT_ENGINE;
    } else if (kv_keyfile_write(out, sorted, n, err, sizeof(err)) != 0) {
        fprintf(stderr, "kvbench: keys: %s; pass a writable --out\n", err);
        code = KVB_EXIT_USAGE;
    } else {
        printf("keys: %" PRIu64 " of %s (seed %" PRIu64 ") -> %s\n", n, spec, o.seed, out);
        printf("hardness: pla_segments_eps32 %" PRIu64 " pla_segments_eps4096 %" PRIu64 "\n", h.eps32, h.eps4096);
    }
    free(sorted);
    kv_dataset_free(ds);
    kvb_keyset_free(&o);
    return code;
}
