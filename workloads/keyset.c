/* keyset.c - the generated key sets: names and deterministic generation (the hard shapes are in
 * keyshapes.c). */
#include "workload.h"
#include "wl_internal.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const kv_keyset_names[KV_KEYS__COUNT] = {"uniform",   "sequential", "clustered", "lognormal",
                                                             "normal",    "fb-like",    "osm-like"};

const char *kv_keyset_name(enum kv_keyset k)
{
    if (k == KV_KEYS_FILE)
        return "file";
    if ((unsigned)k < sizeof(kv_keyset_names) / sizeof(kv_keyset_names[0]))
        return kv_keyset_names[k];
    return "unknown";
}

int kv_keyset_parse(const char *s, enum kv_keyset *out)
{
    if (!s)
        return -1;
    for (unsigned i = 0; i < sizeof(kv_keyset_names) / sizeof(kv_keyset_names[0]); i++) {
        if (strcmp(s, kv_keyset_names[i]) == 0) {
            *out = (enum kv_keyset)i;
            return 0;
        }
    }
    if (strcmp(s, "seq") == 0) {
        *out = KV_KEYS_SEQUENTIAL;
        return 0;
    }
    return -1;
}

/* Distinct draws: all keys are drawn first (i.i.d. draws are already in random order, so no shuffle
 * is needed), then indexed in one prefetching pass; a duplicate (probability ~ capacity / 2^63 per
 * key) is replaced by a fresh draw. */
static int kv_keys_uniform(uint64_t capacity, kv_rng *r, int64_t *keys, kv__keyindex *ki)
{
    for (uint64_t i = 0; i < capacity; i++)
        keys[i] = (int64_t)(1 + kv_rng_below(r, (uint64_t)INT64_MAX - 1));
    for (uint64_t i = 0; i < capacity;) {
        i = kv__keyindex_add_range(ki, keys, i, capacity);
        if (i == capacity)
            break;
        do
            keys[i] = (int64_t)(1 + kv_rng_below(r, (uint64_t)INT64_MAX - 1));
        while (kv__keyindex_add(ki, keys, i) != 0);
        i++;
    }
    return 0;
}

#define KV_LOGN_TABLE 4096

/* Sorted clusters of 64..4096 keys. Each cluster draws its own density (a lognormal median gap),
 * keys inside it are separated by lognormal gaps around that median, and clusters are separated
 * by much larger lognormal gaps. Both kinds of gap are capped so that the largest possible key
 * stays below INT64_MAX - 1 whatever the draws. Gaps inside a cluster take their lognormal factor
 * from a seeded table of 4096 draws: one table lookup per key instead of log, cos and exp. */
static int kv_keys_clustered_sorted(uint64_t capacity, kv_rng *r, int64_t *keys)
{
    double *logn = malloc(KV_LOGN_TABLE * sizeof(*logn));
    if (!logn) {
        errno = ENOMEM;
        return -1;
    }
    for (int k = 0; k < KV_LOGN_TABLE; k++)
        logn[k] = exp(0.5 * kv__normal(r));
    uint64_t max_clusters = capacity / 64 + 2;
    uint64_t intra_cap = ((uint64_t)INT64_MAX / 4) / (capacity + 1);
    uint64_t inter_cap = ((uint64_t)INT64_MAX / 4) / max_clusters;
    uint64_t pos = 1 + kv_rng_below(r, 1ULL << 20);
    for (uint64_t i = 0; i < capacity;) {
        uint64_t size = 64 + kv_rng_below(r, 4096 - 64 + 1);
        if (size > capacity - i)
            size = capacity - i;
        double median = exp(1.0 + kv__normal(r)); /* clusters differ in density */
        for (uint64_t k = 0; k < size; k++) {
            keys[i++] = (int64_t)pos;
            double g = median * logn[kv__rng_next(r) >> 52];
            pos += 1 + (g < (double)intra_cap ? (uint64_t)g : intra_cap);
        }
        double G = exp(36.0 * 0.6931471805599453 + 2.0 * kv__normal(r)); /* median 2^36 */
        pos += 1 + (G < (double)inter_cap ? (uint64_t)G : inter_cap);
    }
    free(logn);
    return 0;
}

/* Fisher-Yates; the swap partners are drawn 16 steps ahead so their cache lines can be prefetched
 * (the draws and hence the permutation are the same as without the look-ahead). */
#define KV_SHUFFLE_AHEAD 16

void kv__keys_shuffle(uint64_t count, kv_rng *r, int64_t *keys)
{
    uint64_t ring[KV_SHUFFLE_AHEAD];
    uint64_t drawn = count; /* ring holds partners for i = count .. drawn + 1 */
    for (uint64_t i = count; i > 1; i--) {
        while (drawn > 1 && drawn + KV_SHUFFLE_AHEAD > i) {
            uint64_t j = kv_rng_below(r, drawn);
            ring[drawn % KV_SHUFFLE_AHEAD] = j;
            __builtin_prefetch(&keys[j], 1);
            drawn--;
        }
        uint64_t j = ring[i % KV_SHUFFLE_AHEAD];
        int64_t t = keys[i - 1];
        keys[i - 1] = keys[j];
        keys[j] = t;
    }
}

int kv__keys_generate(enum kv_keyset keyset, uint64_t capacity, uint64_t seed, int64_t *keys, kv__keyindex *ki)
{
    kv_rng r;
    kv_rng_seed(&r, kv_mix64(seed ^ 0x6b657973ULL) ^ (uint64_t)keyset);
    switch (keyset) {
    case KV_KEYS_UNIFORM:
        return kv_keys_uniform(capacity, &r, keys, ki);
    case KV_KEYS_SEQUENTIAL:
        for (uint64_t i = 0; i < capacity; i++)
            keys[i] = (int64_t)(i + 1);
        break;
    case KV_KEYS_CLUSTERED:
        /* Shuffling the whole sorted set and loading its first n keys leaves the insert pool spread
         * inside the same clusters, with the same local density as the loaded keys. */
        if (kv_keys_clustered_sorted(capacity, &r, keys) != 0)
            return -1;
        kv__keys_shuffle(capacity, &r, keys);
        break;
    case KV_KEYS_LOGNORMAL:
    case KV_KEYS_NORMAL:
    case KV_KEYS_FB_LIKE:
    case KV_KEYS_OSM_LIKE:
        /* as for clustered: the insert pool lies inside the same shape as the loaded keys */
        if (kv__keys_shape(keyset, capacity, &r, keys) != 0)
            return -1;
        kv__keys_shuffle(capacity, &r, keys);
        break;
    default:
        errno = EINVAL;
        return -1;
    }
    if (kv__keyindex_add_range(ki, keys, 0, capacity) != capacity) {
        errno = EINVAL; /* cannot happen: these generators are strictly increasing before the shuffle */
        return -1;
    }
    return 0;
}
