/* alex_smo.c - structural modifications on insert: expand + retrain a leaf, or split it sideways
 * (expanding the parent's pointer array if needed) or down (a new model node); the cost-model
 * decision between them. Domain growth and empty-leaf merging live in alex_expand.c. */
#include <math.h>
#include <stdlib.h>

#include "alex_internal.h"

static void alex_link_before(alex_data_node *at, alex_data_node *d)
{
    d->prev = at->prev;
    d->next = at;
    if (at->prev)
        at->prev->next = d;
    at->prev = d;
}

static void alex_link_after(alex_data_node *at, alex_data_node *d)
{
    d->next = at->next;
    d->prev = at;
    if (at->next)
        at->next->prev = d;
    at->next = d;
}

/* Replace the chain segment `old` by first..last. */
static void alex_link_replace(alex_data_node *old, alex_data_node *first, alex_data_node *last)
{
    first->prev = old->prev;
    last->next = old->next;
    if (old->prev)
        old->prev->next = first;
    if (old->next)
        old->next->prev = last;
}

/* The key where the model node's prediction reaches pos, clamped to int64 (approximate: only
 * used to choose a new node's domain, never for routing). */
static int64_t alex_key_at(const alex_model_node *m, double pos)
{
    double v = (double)m->base + (pos - m->b) / m->a;
    if (!(v > -9.2e18))
        return INT64_MIN;
    if (v > 9.2e18)
        return INT64_MAX;
    return (int64_t)v;
}

/* Replace leaf (owning its run in parent, or the root) by a new model node over its keys. The new
 * node's domain is the leaf's slot range in the parent (the keys' range on an open edge). */
static int alex_split_down(alex_index *ix, alex_data_node *leaf, alex_model_node *parent, unsigned depth,
                           const alex_buf *b)
{
    alex_data_node *f = NULL, *l = NULL;
    int64_t lo = b->keys[0], hi = b->keys[b->n - 1];
    if (parent != NULL && parent->a > 0.0) {
        uint32_t s = alex__run_start(parent, (alex_node *)leaf), e = s + (1u << leaf->hdr.dup);
        if (s > 0)
            lo = alex_key_at(parent, (double)s);
        if (e < parent->num_children)
            hi = alex_key_at(parent, (double)e);
    }
    /* an open edge (the root, or an edge run of the parent) leaves room for as much again */
    double w = alex__rel(hi, lo);
    if (parent == NULL || alex__run_start(parent, (alex_node *)leaf) + (1u << leaf->hdr.dup) == parent->num_children) {
        double h = (double)hi + w;
        hi = h > 9.2e18 ? INT64_MAX : (int64_t)h;
    }
    if (parent == NULL || alex__run_start(parent, (alex_node *)leaf) == 0) {
        double l = (double)lo - w;
        lo = l < -9.2e18 ? INT64_MIN : (int64_t)l;
    }
    alex_node *sub = alex__build(ix, b->keys, b->pays, b->n, 1, depth, lo, hi, &f, &l);
    if (sub == NULL)
        return ALEX_ENOMEM;
    alex_link_replace(leaf, f, l);
    if (parent == NULL) {
        sub->dup = 0;
        ix->root = sub;
    } else {
        alex__set_run(parent, alex__run_start(parent, (alex_node *)leaf), leaf->hdr.dup, sub);
    }
    alex__dn_free(ix, leaf);
    ix->num_splits_down++;
    return ALEX_OK;
}

/* Multiply the parent's pointer array by 2^k: every pointer repeated, model scaled exactly. */
static int alex_expand_model(alex_index *ix, alex_model_node *m, unsigned k)
{
    uint32_t nc = m->num_children << k;
    alex_node **c = malloc((size_t)nc * sizeof(*c));
    if (c == NULL)
        return ALEX_ENOMEM;
    for (uint32_t i = 0; i < nc; i++)
        c[i] = m->children[i >> k];
    for (uint32_t i = 0; i < m->num_children;) {
        alex_node *ch = m->children[i];
        i += 1u << ch->dup;
        ch->dup = (uint8_t)(ch->dup + k);
    }
    ix->bytes += (uint64_t)(nc - m->num_children) * sizeof(*c);
    free(m->children);
    m->children = c;
    m->num_children = nc;
    m->a = ldexp(m->a, (int)k);
    m->b = ldexp(m->b, (int)k);
    return ALEX_OK;
}


/* First index in b whose key routes to slot >= mid in parent. */
static size_t alex_bound_in(const alex_model_node *m, const alex_buf *b, uint32_t mid)
{
    size_t lo = 0, hi = b->n;
    while (lo < hi) {
        size_t md = lo + (hi - lo) / 2;
        if ((uint32_t)alex__mroute(m, b->keys[md]) >= mid)
            hi = md;
        else
            lo = md + 1;
    }
    return lo;
}


/* Split a leaf sideways into two leaves with keys on both sides. Parts of its run that receive no
 * keys become empty leaves; a single-slot run first doubles the parent (enough times to separate
 * the leaf's min and max key) or, past max fanout, splits down instead. */
static int alex_split(alex_index *ix, alex_data_node *leaf, alex_path *path)
{
    alex__smo_begin(ix); /* every way out below changes model nodes, leaves or the chain */
    alex_buf b;
    int rc = alex__collect(leaf, &b);
    if (rc != ALEX_OK)
        return rc;
    if (path->depth == 0) {
        rc = alex_split_down(ix, leaf, NULL, 0, &b);
        alex__buf_free(&b);
        return rc;
    }
    alex_model_node *par = path->node[path->depth - 1];
    uint32_t start = alex__run_start(par, (alex_node *)leaf);
    for (;;) {
        unsigned dup = leaf->hdr.dup;
        if (dup == 0 && par->a > 0.0 && (par->num_children << 1) <= (1u << ix->p.max_fanout_log2)) {
            /* most keys lie beyond the parent's domain (appends/prepends clamped into its edge
             * child): grow the parent's domain in place, as root expansion does, instead of
             * splitting down into an ever deeper chain */
            double pm = par->a * alex__rel(b.keys[b.n / 2], par->base) + par->b;
            int right = pm >= (double)par->num_children, left = pm < 0.0;
            if (right || left) {
                double pe = par->a * alex__rel(b.keys[right ? b.n - 1 : 0], par->base) + par->b;
                alex__buf_free(&b);
                rc = alex__expand_node(ix, par, right, pe, par == (alex_model_node *)ix->root);
                return rc != ALEX_OK ? rc : ALEX_SMO_REPAIR;
            }
        }
        if (dup == 0) {
            unsigned k = 0;
            double p0 = par->a * alex__rel(b.keys[0], par->base) + par->b;
            double p1 = par->a * alex__rel(b.keys[b.n - 1], par->base) + par->b;
            for (unsigned t = 1; (par->num_children << t) <= (1u << ix->p.max_fanout_log2) && t < 31; t++) {
                int n2 = (int)(par->num_children << t);
                if (alex__clamp_pos(ldexp(p0, (int)t), n2) != alex__clamp_pos(ldexp(p1, (int)t), n2)) {
                    k = t;
                    break;
                }
            }
            if (k == 0) {
                rc = alex_split_down(ix, leaf, par, (unsigned)path->depth, &b);
                alex__buf_free(&b);
                return rc;
            }
            rc = alex_expand_model(ix, par, k);
            if (rc != ALEX_OK) {
                alex__buf_free(&b);
                return rc;
            }
            start <<= k;
            continue;
        }
        uint32_t half = 1u << (dup - 1), mid = start + half;
        size_t idx = alex_bound_in(par, &b, mid);
        if (idx == 0 || idx == b.n) {
            alex_data_node *e = alex__empty_leaf(ix);
            if (e == NULL) {
                alex__buf_free(&b);
                return ALEX_ENOMEM;
            }
            if (idx == 0) {
                alex__set_run(par, start, dup - 1, (alex_node *)e);
                alex_link_before(leaf, e);
                start = mid;
            } else {
                alex__set_run(par, mid, dup - 1, (alex_node *)e);
                alex_link_after(leaf, e);
            }
            leaf->hdr.dup = (uint8_t)(dup - 1);
            continue;
        }
        int capl = alex__cap_for(idx, ix->p.density_init, ix->p.max_data_node_slots);
        int capr = alex__cap_for(b.n - idx, ix->p.density_init, ix->p.max_data_node_slots);
        alex_data_node *l = alex__dn_build(ix, b.keys, b.pays, idx, capl, NULL);
        alex_data_node *r = alex__dn_build(ix, b.keys + idx, b.pays + idx, b.n - idx, capr, NULL);
        alex__buf_free(&b);
        if (l == NULL || r == NULL) {
            if (l)
                alex__dn_free(ix, l);
            if (r)
                alex__dn_free(ix, r);
            return ALEX_ENOMEM;
        }
        alex__set_run(par, start, dup - 1, (alex_node *)l);
        alex__set_run(par, mid, dup - 1, (alex_node *)r);
        l->next = r;
        r->prev = l;
        alex_link_replace(leaf, l, r);
        alex__dn_free(ix, leaf);
        ix->num_splits_sideways++;
        return ALEX_OK;
    }
}

/* Keys of the leaf, split at the median, as the cost a sideways split would reach. */
static int alex_prefer_split(alex_index *ix, alex_data_node *leaf, int depth)
{
    alex_buf b;
    if (alex__collect(leaf, &b) != ALEX_OK)
        return 0;
    double ce = alex__leaf_cost(b.keys, b.n, ix->p.density_min);
    size_t h = b.n / 2;
    double cs = (alex__leaf_cost(b.keys, h, ix->p.density_init) * (double)h +
                 alex__leaf_cost(b.keys + h, b.n - h, ix->p.density_init) * (double)(b.n - h)) /
                (double)b.n;
    if (depth == 0)
        cs += ALEX_W_TRAVERSE;
    alex__buf_free(&b);
    return cs < ce;
}

/* The leaf cannot take another key as it is: expand + retrain it, or split it. ALEX_SMO_RETRY (the
 * tree changed: descend again), ALEX_SMO_INSERT (insert as is, shifting), ALEX_SMO_REPAIR (a key
 * domain grew: keys may route elsewhere now, alex__repair them), or a negative ALEX_E*. */
int alex__insert_full(alex_index *ix, alex_data_node *leaf, alex_path *path, int edge, int must)
{
    size_t n = (size_t)leaf->num_keys;
    double emp = alex__dn_empirical_cost(leaf);
    int catastrophic = leaf->num_inserts >= 64 && leaf->num_shifts > 100 * leaf->num_inserts;
    int deviation = leaf->a != 0.0 && emp > ALEX_W_SEARCH && emp > 1.5 * alex__dn_expected_cost(leaf);
    int can_expand = (double)(n + 1) < ix->p.density_min * (double)ix->p.max_data_node_slots &&
                     (size_t)alex__cap_for(n + 1, ix->p.density_min, ix->p.max_data_node_slots) > n + 1;
    int split = 0;
    if (edge != 0 && can_expand && n >= 2) {
        /* append (prepend) with no free slot beyond the last (first) key: grow on that side */
        ix->num_expansions++;
        return alex__dn_resize(ix, leaf, ix->p.density_min, edge > 0 ? ALEX_RESIZE_KEEP_LEFT : ALEX_RESIZE_KEEP_RIGHT);
    }
    if (edge != 0 && !can_expand && n >= 2)
        return alex_split(ix, leaf, path); /* an edge at max size: split instead of shifting */
    if (!must)
        return ALEX_SMO_INSERT; /* nothing to do: insert with shifting */
    if (n >= 2) {
        if (!can_expand)
            split = 1;
        else if (catastrophic && n >= 256)
            split = 1;
        else if (deviation && n >= 256)
            split = alex_prefer_split(ix, leaf, path->depth);
    }
    if (split)
        return alex_split(ix, leaf, path);
    ix->num_expansions++;
    return alex__dn_resize(ix, leaf, ix->p.density_min,
                           deviation || catastrophic ? ALEX_RESIZE_RETRAIN : ALEX_RESIZE_AUTO);
}
