/* alex_smo.c - structural modifications on insert: expand + retrain a leaf, split it sideways
 * (expanding the parent's pointer array if needed) or down (a new model node), and grow the root's
 * key domain for out-of-domain inserts. */
#include <math.h>
#include <stdlib.h>

#include "alex_internal.h"

alex_data_node *alex__descend(const alex_index *ix, int64_t key, alex_path *path)
{
    alex_node *n = ix->root;
    int d = 0;
    while (!n->is_leaf) {
        alex_model_node *m = (alex_model_node *)n;
        int s = alex__mroute(m, key);
        if (path != NULL && d < ALEX_MAX_DEPTH) {
            path->node[d] = m;
            path->slot[d] = s;
        }
        d++;
        n = m->children[s];
    }
    if (path != NULL)
        path->depth = d;
    return (alex_data_node *)n;
}

alex_data_node *alex__first_leaf(const alex_index *ix)
{
    alex_node *n = ix->root;
    while (!n->is_leaf)
        n = ((alex_model_node *)n)->children[0];
    return (alex_data_node *)n;
}

alex_data_node *alex__last_leaf(const alex_index *ix)
{
    alex_node *n = ix->root;
    while (!n->is_leaf) {
        alex_model_node *m = (alex_model_node *)n;
        n = m->children[m->num_children - 1];
    }
    return (alex_data_node *)n;
}

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

static void alex_set_run(alex_model_node *m, uint32_t start, unsigned log, alex_node *c)
{
    c->dup = (uint8_t)log;
    for (uint32_t s = start; s < start + (1u << log); s++)
        m->children[s] = c;
}

static alex_data_node *alex_empty_leaf(alex_index *ix)
{
    return alex__dn_build(ix, NULL, NULL, 0, ALEX_MIN_CAP, &(alex_lm){ 0.0, 0.0, 0 });
}

typedef struct alex_buf {
    int64_t *keys;
    uint64_t *pays;
    size_t n;
} alex_buf;

static int alex_collect(const alex_data_node *d, alex_buf *b)
{
    size_t n = (size_t)d->num_keys;
    b->keys = malloc((n ? n : 1) * sizeof(int64_t));
    b->pays = malloc((n ? n : 1) * sizeof(uint64_t));
    if (b->keys == NULL || b->pays == NULL) {
        free(b->keys);
        free(b->pays);
        return ALEX_ENOMEM;
    }
    b->n = alex__dn_collect(d, b->keys, b->pays);
    return ALEX_OK;
}

static void alex_buf_free(alex_buf *b)
{
    free(b->keys);
    free(b->pays);
}

/* Replace leaf (owning its run in parent, or the root) by a new model node over its keys. */
static int alex_split_down(alex_index *ix, alex_data_node *leaf, alex_model_node *parent, const alex_buf *b)
{
    alex_data_node *f = NULL, *l = NULL;
    alex_node *sub = alex__build(ix, b->keys, b->pays, b->n, 1, &f, &l);
    if (sub == NULL)
        return ALEX_ENOMEM;
    alex_link_replace(leaf, f, l);
    if (parent == NULL) {
        sub->dup = 0;
        ix->root = sub;
    } else {
        uint32_t run = 1u << leaf->hdr.dup;
        uint32_t s = 0;
        while (parent->children[s] != (alex_node *)leaf)
            s += 1u << parent->children[s]->dup;
        alex_set_run(parent, s, leaf->hdr.dup, sub);
        (void)run;
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

static uint32_t alex_run_start(const alex_model_node *m, const alex_node *c)
{
    uint32_t s = 0;
    while (m->children[s] != c)
        s += 1u << m->children[s]->dup;
    return s;
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
    alex_buf b;
    int rc = alex_collect(leaf, &b);
    if (rc != ALEX_OK)
        return rc;
    if (path->depth == 0) {
        rc = alex_split_down(ix, leaf, NULL, &b);
        alex_buf_free(&b);
        return rc;
    }
    alex_model_node *par = path->node[path->depth - 1];
    uint32_t start = alex_run_start(par, (alex_node *)leaf);
    for (;;) {
        unsigned dup = leaf->hdr.dup;
        if (dup == 0) {
            unsigned k = 0;
            int s0 = alex__mroute(par, b.keys[0]);
            double p0 = par->a * alex__rel(b.keys[0], par->base) + par->b;
            double p1 = par->a * alex__rel(b.keys[b.n - 1], par->base) + par->b;
            (void)s0;
            for (unsigned t = 1; (par->num_children << t) <= (1u << ix->p.max_fanout_log2) && t < 31; t++) {
                int n2 = (int)(par->num_children << t);
                if (alex__clamp_pos(ldexp(p0, (int)t), n2) != alex__clamp_pos(ldexp(p1, (int)t), n2)) {
                    k = t;
                    break;
                }
            }
            if (k == 0) {
                rc = alex_split_down(ix, leaf, par, &b);
                alex_buf_free(&b);
                return rc;
            }
            rc = alex_expand_model(ix, par, k);
            if (rc != ALEX_OK) {
                alex_buf_free(&b);
                return rc;
            }
            start <<= k;
            continue;
        }
        uint32_t half = 1u << (dup - 1), mid = start + half;
        size_t idx = alex_bound_in(par, &b, mid);
        if (idx == 0 || idx == b.n) {
            alex_data_node *e = alex_empty_leaf(ix);
            if (e == NULL) {
                alex_buf_free(&b);
                return ALEX_ENOMEM;
            }
            if (idx == 0) {
                alex_set_run(par, start, dup - 1, (alex_node *)e);
                alex_link_before(leaf, e);
                start = mid;
            } else {
                alex_set_run(par, mid, dup - 1, (alex_node *)e);
                alex_link_after(leaf, e);
            }
            leaf->hdr.dup = (uint8_t)(dup - 1);
            continue;
        }
        int capl = alex__cap_for(idx, ix->p.density_init, ix->p.max_data_node_slots);
        int capr = alex__cap_for(b.n - idx, ix->p.density_init, ix->p.max_data_node_slots);
        alex_data_node *l = alex__dn_build(ix, b.keys, b.pays, idx, capl, NULL);
        alex_data_node *r = alex__dn_build(ix, b.keys + idx, b.pays + idx, b.n - idx, capr, NULL);
        alex_buf_free(&b);
        if (l == NULL || r == NULL) {
            if (l)
                alex__dn_free(ix, l);
            if (r)
                alex__dn_free(ix, r);
            return ALEX_ENOMEM;
        }
        alex_set_run(par, start, dup - 1, (alex_node *)l);
        alex_set_run(par, mid, dup - 1, (alex_node *)r);
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
    if (alex_collect(leaf, &b) != ALEX_OK)
        return 0;
    double ce = alex__leaf_cost(b.keys, b.n, ix->p.density_min);
    size_t h = b.n / 2;
    double cs = (alex__leaf_cost(b.keys, h, ix->p.density_init) * (double)h +
                 alex__leaf_cost(b.keys + h, b.n - h, ix->p.density_init) * (double)(b.n - h)) /
                (double)b.n;
    if (depth == 0)
        cs += ALEX_W_TRAVERSE;
    alex_buf_free(&b);
    return cs < ce;
}

/* The leaf cannot take another key as it is: expand + retrain it, or split it. */
int alex__insert_full(alex_index *ix, alex_data_node *leaf, alex_path *path, int edge, int must)
{
    size_t n = (size_t)leaf->num_keys;
    double emp = alex__dn_empirical_cost(leaf);
    int catastrophic = leaf->num_inserts >= 64 && leaf->num_shifts > 100 * leaf->num_inserts;
    int deviation = leaf->a != 0.0 && emp > ALEX_W_SEARCH && emp > 1.5 * leaf->expected_cost;
    int can_expand = (double)(n + 1) < ix->p.density_min * (double)ix->p.max_data_node_slots &&
                     (size_t)alex__cap_for(n + 1, ix->p.density_min, ix->p.max_data_node_slots) > n + 1;
    int split = 0;
    if (edge != 0 && can_expand && leaf->a > 0.0 && n >= 2 &&
        alex__cap_for(n, ix->p.density_min, ix->p.max_data_node_slots) > leaf->cap) {
        /* append (prepend) with no free slot beyond the last (first) key: grow on that side */
        ix->num_expansions++;
        return alex__dn_resize(ix, leaf, ix->p.density_min, edge > 0 ? ALEX_RESIZE_KEEP_LEFT : ALEX_RESIZE_KEEP_RIGHT);
    }
    if (!must)
        return 1; /* nothing to do: insert with shifting */
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

/* Move keys that no longer route to the leaf holding them (after the root's domain changed). */
static int alex_repair(alex_index *ix)
{
    alex_buf b = { NULL, NULL, 0 };
    size_t capb = 0;
    for (alex_data_node *l = alex__first_leaf(ix); l != NULL; l = l->next) {
        for (int side = 0; side < 2; side++) {
            while (l->num_keys > 0) {
                int s = side == 0 ? alex__dn_next_set(l, 0) : alex__dn_prev_set(l, l->cap - 1);
                if (alex__descend(ix, l->keys[s], NULL) == l)
                    break;
                if (b.n == capb) {
                    capb = capb ? capb * 2 : 256;
                    int64_t *nk = realloc(b.keys, capb * sizeof(int64_t));
                    if (nk)
                        b.keys = nk;
                    uint64_t *np = realloc(b.pays, capb * sizeof(uint64_t));
                    if (np)
                        b.pays = np;
                    if (nk == NULL || np == NULL) {
                        alex_buf_free(&b);
                        return ALEX_ENOMEM;
                    }
                }
                b.keys[b.n] = l->keys[s];
                b.pays[b.n] = l->payloads[s];
                b.n++;
                alex__dn_erase_slot(l, s);
                ix->num_keys--;
            }
        }
    }
    int rc = ALEX_OK;
    for (size_t i = 0; i < b.n && rc == ALEX_OK; i++)
        rc = alex__insert_impl(ix, b.keys[i], b.pays[i]);
    alex_buf_free(&b);
    return rc;
}

/* Rebuild the leaf chain by an in-order walk (after root expansion added leaves at the ends). */
static void alex_relink(alex_node *n, alex_data_node **prev)
{
    if (n->is_leaf) {
        alex_data_node *d = (alex_data_node *)n;
        d->prev = *prev;
        d->next = NULL;
        if (*prev)
            (*prev)->next = d;
        *prev = d;
        return;
    }
    alex_model_node *m = (alex_model_node *)n;
    for (uint32_t i = 0; i < m->num_children; i += 1u << m->children[i]->dup)
        alex_relink(m->children[i], prev);
}

/* Grow the root's key domain 2^k-fold toward the out-of-domain side: in place while the pointer
 * array stays within max fanout (new pointer runs get new empty leaves), else under a new root. */
static int alex_expand_root(alex_index *ix, int right, double p_out)
{
    alex_model_node *m = (alex_model_node *)ix->root;
    uint32_t nc = m->num_children, maxf = 1u << ix->p.max_fanout_log2;
    unsigned k = 1;
    if (right) {
        while (k < 30 && (double)nc * ldexp(1.0, (int)k) <= p_out)
            k++;
    } else {
        while (k < 30 && -(double)nc * (ldexp(1.0, (int)k) - 1.0) > p_out)
            k++;
    }
    unsigned lognc = (unsigned)__builtin_ctz(nc);
    if ((uint64_t)nc << k <= maxf) {
        uint32_t nn = nc << k, shift = right ? 0 : nn - nc;
        alex_node **c = calloc(nn, sizeof(*c));
        if (c == NULL)
            return ALEX_ENOMEM;
        for (uint32_t i = 0; i < nc; i++)
            c[shift + i] = m->children[i];
        alex_node **old = m->children;
        m->children = c;
        m->num_children = nn;
        ix->bytes += (uint64_t)(nn - nc) * sizeof(*c);
        if (!right)
            m->b += (double)shift;
        free(old);
        /* the new runs, nc slots each */
        for (uint32_t j = 0; j + 1 < (1u << k); j++) {
            uint32_t st = right ? nc + j * nc : j * nc;
            alex_data_node *e = alex_empty_leaf(ix);
            if (e == NULL)
                return ALEX_ENOMEM;
            alex_set_run(m, st, lognc, (alex_node *)e);
        }
    } else {
        if (k > ix->p.max_fanout_log2)
            k = ix->p.max_fanout_log2;
        if (k < 1)
            k = 1;
        uint32_t nb = 1u << k;
        alex_model_node *r = alex__mn_new(ix, nb);
        if (r == NULL)
            return ALEX_ENOMEM;
        r->base = m->base;
        r->a = ldexp(m->a, -(int)lognc);
        r->b = ldexp(m->b, -(int)lognc) + (right ? 0.0 : (double)(nb - 1));
        uint32_t old_slot = right ? 0 : nb - 1;
        r->children[old_slot] = (alex_node *)m;
        m->hdr.dup = 0;
        /* buddy runs covering the rest: [1,2),[2,4),.. or mirrored */
        for (unsigned j = 0; j < k; j++) {
            uint32_t st = right ? (1u << j) : nb - (2u << j);
            alex_data_node *e = alex_empty_leaf(ix);
            if (e == NULL)
                return ALEX_ENOMEM;
            alex_set_run(r, st, j, (alex_node *)e);
        }
        ix->root = (alex_node *)r;
    }
    alex_relink(ix->root, &(alex_data_node *){ NULL });
    ix->num_root_expansions++;
    return ALEX_OK;
}

/* Count an insert that falls outside the root's domain; after ALEX_OOD_TRIGGER of them on one
 * side, expand the root until the farthest such key is inside, then move misplaced keys. */
int alex__root_expand_maybe(alex_index *ix, int64_t key)
{
    if (ix->root->is_leaf)
        return ALEX_OK;
    alex_model_node *m = (alex_model_node *)ix->root;
    double p = m->a * alex__rel(key, m->base) + m->b;
    if (p >= (double)m->num_children) {
        if (ix->ood_right == 0 || key > ix->ood_max_key)
            ix->ood_max_key = key;
        ix->ood_right++;
    } else if (p < 0.0) {
        if (ix->ood_left == 0 || key < ix->ood_min_key)
            ix->ood_min_key = key;
        ix->ood_left++;
    }
    int right = ix->ood_right >= ALEX_OOD_TRIGGER, left = ix->ood_left >= ALEX_OOD_TRIGGER;
    if (!right && !left)
        return ALEX_OK;
    int64_t far = right ? ix->ood_max_key : ix->ood_min_key;
    if (right)
        ix->ood_right = 0;
    else
        ix->ood_left = 0;
    for (int guard = 0; guard < 16; guard++) {
        m = (alex_model_node *)ix->root;
        double pf = m->a * alex__rel(far, m->base) + m->b;
        if (right ? !(pf >= (double)m->num_children) : !(pf < 0.0))
            break;
        if (!(m->a > 0.0))
            break;
        int rc = alex_expand_root(ix, right, pf);
        if (rc != ALEX_OK)
            return rc;
    }
    return alex_repair(ix);
}
