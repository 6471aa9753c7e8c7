/* alex_expand.c - key-domain growth (root expansion and in-place domain growth of an inner node
 * for out-of-domain inserts) and the merging of empty leaves into their buddies. The keys whose
 * route a growth changed are moved by alex__repair (alex_index.c), which re-inserts them. */
#include <math.h>
#include <stdlib.h>

#include "alex_internal.h"

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
int alex__expand_node(alex_index *ix, alex_model_node *m, int right, double p_out, int is_root)
{
    alex__smo_begin(ix); /* model nodes and the chain change; keys move until alex__repair */
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
    if (!is_root)
        while (k > 1 && ((uint64_t)nc << k) > maxf)
            k--;
    int inplace = ((uint64_t)nc << k) <= maxf;
    if (!inplace && !is_root)
        return ALEX_OK; /* callers check nc * 2 <= max fanout first; nothing to grow */
    if (!inplace) {
        if (k > ix->p.max_fanout_log2)
            k = ix->p.max_fanout_log2;
        if (k < 1)
            k = 1;
    }
    /* allocate everything first so that ENOMEM leaves the tree untouched */
    uint32_t nleaves = inplace ? (1u << k) - 1 : k, nn = inplace ? nc << k : 1u << k;
    alex_data_node **nl = calloc(nleaves, sizeof(*nl));
    alex_node **c = inplace ? calloc(nn, sizeof(*c)) : NULL;
    alex_model_node *r = inplace ? NULL : alex__mn_new(ix, nn);
    int ok = nl != NULL && (inplace ? c != NULL : r != NULL);
    for (uint32_t j = 0; ok && j < nleaves; j++)
        ok = (nl[j] = alex__empty_leaf(ix)) != NULL;
    if (!ok) {
        for (uint32_t j = 0; nl != NULL && j < nleaves; j++)
            if (nl[j])
                alex__dn_free(ix, nl[j]);
        free(nl);
        free(c);
        if (r)
            alex__mn_free(ix, r);
        return ALEX_ENOMEM;
    }
    if (inplace) {
        /* a, b unchanged: old keys keep their slots exactly; only the clamp bound moves. On the
         * left, b shifts by an integer, which may move a boundary key by one: alex__repair. */
        uint32_t shift = right ? 0 : nn - nc;
        for (uint32_t i = 0; i < nc; i++)
            c[shift + i] = m->children[i];
        free(m->children);
        m->children = c;
        m->num_children = nn;
        ix->bytes += (uint64_t)(nn - nc) * sizeof(*c);
        if (!right)
            m->b += (double)shift;
        for (uint32_t j = 0; j < nleaves; j++) /* the new runs, nc slots each */
            alex__set_run(m, right ? nc + j * nc : j * nc, lognc, (alex_node *)nl[j]);
    } else {
        /* a new root: the old one is its first (last) child; scaling by 1/nc is exact */
        r->base = m->base;
        r->a = ldexp(m->a, -(int)lognc);
        r->b = ldexp(m->b, -(int)lognc) + (right ? 0.0 : (double)(nn - 1));
        r->children[right ? 0 : nn - 1] = (alex_node *)m;
        m->hdr.dup = 0;
        for (unsigned j = 0; j < k; j++) /* buddy runs covering the rest: [1,2),[2,4),.. or mirrored */
            alex__set_run(r, right ? (1u << j) : nn - (2u << j), j, (alex_node *)nl[j]);
        ix->root = (alex_node *)r;
    }
    free(nl);
    alex_relink(ix->root, &(alex_data_node *){ NULL });
    ix->num_root_expansions++;
    /* the node whose routing changed, for alex__repair; a second growth before the repair makes
     * it walk every leaf */
    ix->repair_at = ix->repair_pending ? NULL : inplace ? m : (alex_model_node *)ix->root;
    ix->repair_pending = 1;
    return ALEX_OK;
}

static int alex_expand_root(alex_index *ix, int right, double p_out)
{
    return alex__expand_node(ix, (alex_model_node *)ix->root, right, p_out, 1);
}

/* Count an insert that falls outside the root's domain; after ALEX_OOD_TRIGGER of them on one
 * side, expand the root until the farthest such key is inside. ALEX_OK (nothing changed),
 * ALEX_SMO_REPAIR (expanded: the caller moves misplaced keys with alex__repair) or ALEX_ENOMEM. */
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
    return ALEX_SMO_REPAIR;
}

/* An empty leaf hands its pointer run to its buddy (the other half of the aligned run twice its
 * size) when that buddy is a leaf of the same run length, and is freed; while the survivor is
 * empty this repeats upward, and a model node left with a single child is replaced by it.
 * Returns 1 if the leaf was merged away (it is freed), 0 if it stays. */
int alex__merge_empty(alex_index *ix, alex_data_node *leaf, alex_path *path)
{
    int merged = 0, depth = path->depth;
    while (depth > 0 && leaf->num_keys == 0) {
        alex_model_node *par = path->node[depth - 1];
        uint32_t run = 1u << leaf->hdr.dup;
        if (run == par->num_children) {
            alex__smo_begin(ix); /* pointer runs, the chain and freed nodes */
            /* the parent routes everything to this leaf: the leaf replaces the parent */
            if (depth == 1) {
                leaf->hdr.dup = 0;
                ix->root = (alex_node *)leaf;
            } else {
                alex_model_node *gp = path->node[depth - 2];
                uint32_t gs = alex__run_start(gp, (alex_node *)par);
                alex__set_run(gp, gs, par->hdr.dup, (alex_node *)leaf);
            }
            alex__mn_free(ix, par);
            depth--;
            merged = 1;
            continue;
        }
        uint32_t start = alex__run_start(par, (alex_node *)leaf), bs = start ^ run;
        alex_node *bn = par->children[bs];
        if (!bn->is_leaf || bn->dup != leaf->hdr.dup)
            break;
        alex__smo_begin(ix);
        alex_data_node *buddy = (alex_data_node *)bn;
        alex__set_run(par, start < bs ? start : bs, leaf->hdr.dup + 1u, bn);
        if (leaf->prev)
            leaf->prev->next = leaf->next;
        if (leaf->next)
            leaf->next->prev = leaf->prev;
        alex__dn_free(ix, leaf);
        leaf = buddy;
        merged = 1;
    }
    return merged;
}
