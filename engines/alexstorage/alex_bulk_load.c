/* alex_bulk_load.c - build a subtree from sorted keys: the fanout tree picks each model node's
 * fanout by the cost model, then buddy buckets are merged into children owning pointer runs. */
#include <math.h>
#include <stdlib.h>

#include "alex_internal.h"

typedef struct alex_group {
    uint32_t start;   /* first pointer slot */
    uint32_t log;     /* run length log2 */
    size_t lo, hi;    /* key index range */
    double cost;
    int big;          /* too many keys for one leaf: becomes a model node, never merged */
} alex_group;

/* The domain [lo, hi] of the node being built and the spline model mapping it onto [0, nb). */
typedef struct alex_dom {
    int64_t lo, hi;
} alex_dom;

static void alex_mn_model(const alex_dom *dm, int nb, alex_lm *m)
{
    m->base = dm->lo;
    m->a = (double)nb / (alex__rel(dm->hi, dm->lo) + 1.0);
    m->b = 0.0;
}

/* Cost of splitting into 2^L equal-width buckets; fills groups (one per bucket). */
static double alex_level_cost(alex_index *ix, const int64_t *keys, size_t n, const alex_dom *dm, int L,
                              size_t *bounds, alex_group *g)
{
    int nb = 1 << L;
    size_t leaf_max = (size_t)(ix->p.density_init * (double)ix->p.max_data_node_slots);
    alex_lm m;
    alex_mn_model(dm, nb, &m);
    alex__partition(keys, n, m.a, m.b, m.base, nb, bounds);
    double total = 0.0;
    for (int i = 0; i < nb; i++) {
        size_t cnt = bounds[i + 1] - bounds[i];
        g[i].start = (uint32_t)i;
        g[i].log = 0;
        g[i].lo = bounds[i];
        g[i].hi = bounds[i + 1];
        g[i].big = cnt > leaf_max;
        g[i].cost = alex__leaf_cost(keys + bounds[i], cnt, ix->p.density_init) + (g[i].big ? ALEX_W_TRAVERSE : 0.0);
        total += g[i].cost * (double)cnt;
    }
    return total / (double)n + ALEX_W_TRAVERSE +
           ALEX_W_MODEL_BYTE * (double)nb * (double)(sizeof(alex_data_node) + sizeof(void *));
}

/* Merge aligned buddy groups bottom-up while the merged leaf is not costlier. */
static size_t alex_merge_groups(alex_index *ix, const int64_t *keys, alex_group *g, size_t cnt, int L)
{
    size_t leaf_max = (size_t)(ix->p.density_init * (double)ix->p.max_data_node_slots);
    for (int j = 0; j + 1 < L; j++) {
        size_t out = 0;
        for (size_t i = 0; i < cnt; i++) {
            alex_group *l = &g[i], *r = i + 1 < cnt ? &g[i + 1] : NULL;
            if (r != NULL && (int)l->log == j && (int)r->log == j && l->start % (2u << j) == 0 && !l->big &&
                !r->big && r->hi - l->lo <= leaf_max) {
                size_t nl = l->hi - l->lo, nr = r->hi - r->lo, nm = nl + nr;
                double mc = alex__leaf_cost(keys + l->lo, nm, ix->p.density_init);
                if (nm <= 128 || mc * (double)nm <= l->cost * (double)nl + r->cost * (double)nr + 0.5 * (double)nm) {
                    alex_group mg = { l->start, (uint32_t)j + 1, l->lo, r->hi, mc, 0 };
                    g[out++] = mg;
                    i++;
                    continue;
                }
            }
            g[out++] = *l;
        }
        cnt = out;
    }
    return cnt;
}

static alex_node *alex_build_leaf(alex_index *ix, const int64_t *keys, const uint64_t *pays, size_t n,
                                  alex_data_node **first, alex_data_node **last)
{
    int cap = alex__cap_for(n, ix->p.density_init, ix->p.max_data_node_slots);
    alex_data_node *d = alex__dn_build(ix, keys, pays, n, cap, NULL);
    *first = *last = d;
    return (alex_node *)d;
}

/* Choose the fanout level: the cheapest of 2^L buckets, stopping after two rises in a row. */
static int alex_best_level(alex_index *ix, const int64_t *keys, size_t n, const alex_dom *dm, int L0, int Lmax,
                           double *best_cost)
{
    size_t *bounds = malloc(((size_t)1 << Lmax) * sizeof(size_t) + sizeof(size_t));
    alex_group *g = malloc(((size_t)1 << Lmax) * sizeof(alex_group));
    if (bounds == NULL || g == NULL) {
        free(bounds);
        free(g);
        return -1;
    }
    int best = L0, rises = 0;
    double prev = INFINITY;
    *best_cost = INFINITY;
    for (int L = L0; L <= Lmax; L++) {
        double c = alex_level_cost(ix, keys, n, dm, L, bounds, g);
        if (c < *best_cost) {
            *best_cost = c;
            best = L;
        }
        rises = c > prev ? rises + 1 : 0;
        prev = c;
        if (rises >= 2)
            break;
    }
    free(bounds);
    free(g);
    return best;
}

/* Build a subtree over n sorted keys at tree depth `depth`. force_model: the root must be a model
 * node with >= 2 children holding keys on both sides (split-down uses it, so it always makes
 * progress). lo/hi: the key range the root's model spans (lo <= keys[0], hi >= keys[n-1]); a
 * split-down passes its slot range so later inserts there spread over the new children.
 * first/last get the subtree's leftmost/rightmost leaf, linked to each other through the chain.
 * Below depth 8 the fanout is forced to the maximum so that every level cuts the key range by
 * 2^max_fanout_log2, and small key sets become leaves whatever their cost: depth stays bounded. */
alex_node *alex__build(alex_index *ix, const int64_t *keys, const uint64_t *pays, size_t n,
                       int force_model, unsigned depth, int64_t lo, int64_t hi, alex_data_node **first,
                       alex_data_node **last)
{
    size_t leaf_max = (size_t)(ix->p.density_init * (double)ix->p.max_data_node_slots);
    int deep = depth >= 8;
    if (n < 2 || (!force_model && n <= leaf_max)) {
        if (n < 2 || n < 64 || deep || alex__leaf_cost(keys, n, ix->p.density_init) < ALEX_W_TRAVERSE)
            return alex_build_leaf(ix, keys, pays, n, first, last);
    }
    if (lo > keys[0])
        lo = keys[0];
    if (hi < keys[n - 1])
        hi = keys[n - 1];
    alex_dom dm = { lo, hi };
    int Lmax = (int)ix->p.max_fanout_log2;
    int lg = 0;
    while (((size_t)1 << lg) < n && lg < 62)
        lg++;
    if (Lmax > lg - 3 && !deep) /* at least ~8 keys per pointer: the child array costs <= 1 byte/key */
        Lmax = lg - 3;
    if (Lmax < 1)
        Lmax = 1;
    int L0 = 1;
    while (L0 < Lmax && ((size_t)1 << L0) * leaf_max < n)
        L0++;
    if (deep)
        L0 = Lmax;
    double best_cost;
    int L = alex_best_level(ix, keys, n, &dm, L0, Lmax, &best_cost);
    if (L < 0)
        return NULL;
    if (!force_model && n <= leaf_max) {
        double c0 = alex__leaf_cost(keys, n, ix->p.density_init);
        if (c0 <= best_cost)
            return alex_build_leaf(ix, keys, pays, n, first, last);
    }
    int nb = 1 << L;
    size_t *bounds = malloc(((size_t)nb + 1) * sizeof(size_t));
    alex_group *g = malloc((size_t)nb * sizeof(alex_group));
    alex_model_node *m = alex__mn_new(ix, (uint32_t)nb);
    if (bounds == NULL || g == NULL || m == NULL) {
        free(bounds);
        free(g);
        if (m)
            alex__mn_free(ix, m);
        return NULL;
    }
    alex_lm lm;
    alex_mn_model(&dm, nb, &lm);
    m->a = lm.a;
    m->b = lm.b;
    m->base = lm.base;
    alex_level_cost(ix, keys, n, &dm, L, bounds, g);
    size_t cnt = alex_merge_groups(ix, keys, g, (size_t)nb, L);
    alex_data_node *prev_last = NULL;
    int ok = 1;
    for (size_t i = 0; i < cnt; i++) {
        alex_data_node *f = NULL, *l = NULL;
        size_t cn = g[i].hi - g[i].lo;
        alex_node *c = NULL;
        if (ok)
            c = alex__build(ix, keys + g[i].lo, pays + g[i].lo, cn, 0, depth + 1, cn ? keys[g[i].lo] : 0,
                            cn ? keys[g[i].hi - 1] : 0, &f, &l);
        if (c == NULL) {
            ok = 0;
            continue;
        }
        c->dup = (uint8_t)g[i].log;
        for (uint32_t s = g[i].start; s < g[i].start + (1u << g[i].log); s++)
            m->children[s] = c;
        if (prev_last) {
            prev_last->next = f;
            f->prev = prev_last;
        } else {
            *first = f;
        }
        prev_last = l;
    }
    free(bounds);
    free(g);
    if (!ok) {
        alex__free_tree(ix, (alex_node *)m);
        return NULL;
    }
    *last = prev_last;
    return (alex_node *)m;
}
