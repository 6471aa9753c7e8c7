/* keyshapes.c - sorted key sets whose shapes are hard for learned indexes: lognormal, normal, and
 * piecewise shapes with gaps in the spirit of SOSD's fb and osm data sets. Every generator writes
 * `capacity` distinct keys in ascending order, all in [1, KV_SHAPE_MAX], as a pure function of the
 * rng state it is given. The parameters are documented in workloads/README.md. */
#include "wl_internal.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Keys stay in [1, 2^62]: far from the int64 ends that some engines treat specially, and the
 * shapes' arithmetic cannot overflow. */
#define KV_SHAPE_MAX (1ULL << 62)

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static uint64_t dedupe_sorted(uint64_t *a, uint64_t cnt)
{
    uint64_t out = 0;
    for (uint64_t i = 0; i < cnt; i++)
        if (out == 0 || a[out - 1] != a[i])
            a[out++] = a[i];
    return out;
}

typedef uint64_t (*kv_shape_draw)(kv_rng *r);

/* Draw i.i.d. keys until `capacity` distinct ones exist: draws that collide (dense regions of a
 * continuous shape rounded to integers) are replaced by further draws from the same shape. */
static int draw_distinct(uint64_t capacity, kv_rng *r, kv_shape_draw draw, int64_t *keys)
{
    uint64_t cap_alloc = capacity + capacity / 8 + 64;
    uint64_t *a = malloc(cap_alloc * sizeof(*a));
    if (!a) {
        errno = ENOMEM;
        return -1;
    }
    uint64_t have = 0;
    for (int round = 0; have < capacity; round++) {
        if (round == 64) { /* the shape cannot hold that many distinct keys */
            free(a);
            errno = EINVAL;
            return -1;
        }
        uint64_t want = capacity - have;
        want += want / 16 + 16;
        if (have + want > cap_alloc)
            want = cap_alloc - have;
        for (uint64_t i = 0; i < want; i++)
            a[have + i] = draw(r);
        qsort(a, have + want, sizeof(*a), cmp_u64);
        have = dedupe_sorted(a, have + want);
    }
    /* The last round may overshoot: keep a uniform subset of exactly `capacity` keys (selection
     * sampling, Knuth's algorithm S), still ascending. */
    uint64_t out = 0, need = capacity;
    for (uint64_t i = 0; i < have && need; i++)
        if (kv_rng_below(r, have - i) < need) {
            a[out++] = a[i];
            need--;
        }
    for (uint64_t i = 0; i < capacity; i++)
        keys[i] = (int64_t)a[i];
    free(a);
    return 0;
}

static uint64_t clamp_key(double x)
{
    if (!(x >= 1.0))
        return 1;
    if (x >= (double)KV_SHAPE_MAX)
        return KV_SHAPE_MAX;
    return (uint64_t)x;
}

/* SOSD's lognormal: exp(N(0, 2)) scaled by 1e9 so that its dense lower end still has distinct
 * integer keys. */
static uint64_t draw_lognormal(kv_rng *r) { return clamp_key(1e9 * exp(2.0 * kv__normal(r))); }

/* A normal around 2^61 with standard deviation 2^50 (sigma-9 draws stay inside the range). */
static uint64_t draw_normal(kv_rng *r) { return clamp_key(0x1p61 + 0x1p50 * kv__normal(r)); }

/* fb-like: user ids handed out in runs. Each run (1K-100K keys) has its own density (median gap
 * lognormal around 2^12 with sigma 1.5) and heavy-tailed gaps inside it (Pareto, alpha 1.5), so
 * the local slope changes at every scale; runs are separated by jumps (lognormal around 2^30), and
 * the last 0.1% of the keys are far outliers spread uniformly over the top half of the range, as in
 * fb's few huge ids. Gaps are capped so that the keys never leave the range. */
static int gen_fb_like(uint64_t capacity, kv_rng *r, int64_t *keys)
{
    uint64_t outliers = capacity / 1000;
    uint64_t body = capacity - outliers;
    uint64_t top = KV_SHAPE_MAX / 2;
    uint64_t gap_cap = (top / 4) / (body + 1);
    uint64_t pos = 1 + kv_rng_below(r, 1ULL << 20);
    for (uint64_t i = 0; i < body;) {
        uint64_t run = 1000 + kv_rng_below(r, 99001);
        if (run > body - i)
            run = body - i;
        double median = exp(12.0 * 0.6931471805599453 + 1.5 * kv__normal(r));
        for (uint64_t k = 0; k < run; k++) {
            keys[i++] = (int64_t)pos;
            double u = 1.0 - kv__rng_double(r);
            double g = median * (pow(u, -1.0 / 1.5) - 0.5);
            pos += 1 + (g < (double)gap_cap ? (uint64_t)g : gap_cap);
        }
        double jump = exp(30.0 * 0.6931471805599453 + 1.0 * kv__normal(r));
        pos += 1 + (jump < (double)gap_cap ? (uint64_t)jump : gap_cap);
    }
    /* outliers: distinct, ascending, above every body key */
    uint64_t lo = pos > top ? pos : top, span = KV_SHAPE_MAX - lo;
    for (uint64_t k = 0; k < outliers; k++) {
        /* stratified: one key per slice keeps them distinct and sorted */
        uint64_t slice = span / outliers;
        keys[body + k] = (int64_t)(lo + k * slice + kv_rng_below(r, slice ? slice : 1));
    }
    return 0;
}

/* osm-like: cell ids of points on a space-filling curve. The range is split like a quadtree, four
 * children per level; each child takes a share of its parent's keys drawn from lognormal weights
 * (sigma 1.5), so some children are empty (gaps: sea, desert) and others dense (cities), at every
 * level. A node with at most 64 keys places them evenly with jitter. The recursion runs with an
 * explicit stack, children in key order, so keys come out ascending. */
#define OSM_LEAF 64
#define OSM_DEPTH 40

typedef struct osm_node {
    uint64_t lo, span, count;
} osm_node;

static int gen_osm_like(uint64_t capacity, kv_rng *r, int64_t *keys)
{
    osm_node stack[OSM_DEPTH * 4];
    int sp = 0;
    stack[sp++] = (osm_node){1, KV_SHAPE_MAX - 1, capacity};
    uint64_t out = 0;
    while (sp > 0) {
        osm_node nd = stack[--sp];
        if (nd.count == 0)
            continue;
        if (nd.count <= OSM_LEAF || nd.span / 4 < nd.count * 2 || sp + 4 > OSM_DEPTH * 4) {
            double step = (double)nd.span / (double)nd.count;
            for (uint64_t k = 0; k < nd.count; k++) {
                uint64_t off = (uint64_t)(((double)k + kv__rng_double(r)) * step);
                uint64_t key = nd.lo + off;
                if (out && key <= (uint64_t)keys[out - 1]) /* rounding: keep strictly ascending */
                    key = (uint64_t)keys[out - 1] + 1;
                keys[out++] = (int64_t)key;
            }
            continue;
        }
        double w[4], sum = 0;
        for (int c = 0; c < 4; c++)
            sum += w[c] = exp(1.5 * kv__normal(r));
        uint64_t cnt[4], given = 0;
        for (int c = 0; c < 4; c++) {
            cnt[c] = (uint64_t)((double)nd.count * w[c] / sum);
            given += cnt[c];
        }
        /* the rounding remainder goes to the heaviest child */
        int heavy = 0;
        for (int c = 1; c < 4; c++)
            if (w[c] > w[heavy])
                heavy = c;
        cnt[heavy] += nd.count - given;
        /* q >= 2 * count (checked above), so every child has room for its share */
        uint64_t q = nd.span / 4;
        for (int c = 3; c >= 0; c--) /* pushed in reverse so the lowest child is handled first */
            stack[sp++] = (osm_node){nd.lo + (uint64_t)c * q, c == 3 ? nd.span - 3 * q : q, cnt[c]};
    }
    if (out != capacity) {
        errno = EINVAL;
        return -1;
    }
    return 0;
}

int kv__keys_shape(enum kv_keyset keyset, uint64_t capacity, kv_rng *r, int64_t *keys)
{
    switch (keyset) {
    case KV_KEYS_LOGNORMAL: return draw_distinct(capacity, r, draw_lognormal, keys);
    case KV_KEYS_NORMAL: return draw_distinct(capacity, r, draw_normal, keys);
    case KV_KEYS_FB_LIKE: return gen_fb_like(capacity, r, keys);
    case KV_KEYS_OSM_LIKE: return gen_osm_like(capacity, r, keys);
    default: errno = EINVAL; return -1;
    }
}
