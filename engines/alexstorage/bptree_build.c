/* bptree_build.c - the B+tree built bottom-up from sorted keys, and its invariant check. */
#include "bptree.h"

#include <stdio.h>
#include <stdlib.h>

static void bpt_free_level(bpt_tree *t, bpt_node **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        bpt__node_free(t, v[i]);
    free(v);
}

/* Split `count` items into groups of at most `per`, as evenly as possible. */
static size_t bpt_groups(size_t count, size_t per) { return (count + per - 1) / per; }

static bpt_node **bpt_build_leaves(bpt_tree *t, const int64_t *keys, const uint64_t *vals, size_t n, size_t *nl)
{
    size_t fill = t->leaf_cap - t->leaf_cap / 10, g = bpt_groups(n, fill);
    bpt_node **v = malloc(g * sizeof(*v));
    if (!v)
        return NULL;
    size_t at = 0;
    for (size_t j = 0; j < g; j++) {
        size_t take = n / g + (j < n % g);
        v[j] = bpt__node_new(t, 1);
        if (!v[j]) {
            bpt_free_level(t, v, j);
            return NULL;
        }
        for (size_t i = 0; i < take; i++) {
            v[j]->keys[i] = keys[at + i];
            bpt_vals(t, v[j])[i] = vals[at + i];
        }
        v[j]->n = (uint32_t)take;
        v[j]->prev = j ? v[j - 1] : NULL;
        if (j)
            v[j - 1]->next = v[j];
        at += take;
    }
    *nl = g;
    return v;
}

static int64_t bpt_min_key(const bpt_tree *t, bpt_node *x)
{
    while (!x->leaf)
        x = bpt_kids(t, x)[0];
    return x->keys[0];
}

/* One inner level over `below` (freed); NULL on ENOMEM (then `below`'s subtrees are freed too). */
static bpt_node **bpt_build_level(bpt_tree *t, bpt_node **below, size_t nb, size_t *nout)
{
    size_t fill = t->inner_cap + 1 - (t->inner_cap + 1) / 10, g = bpt_groups(nb, fill);
    bpt_node **v = malloc(g * sizeof(*v));
    size_t at = 0;
    for (size_t j = 0; v && j < g; j++) {
        size_t take = nb / g + (j < nb % g);
        v[j] = bpt__node_new(t, 0);
        if (!v[j]) {
            bpt_free_level(t, v, j);
            v = NULL;
            break;
        }
        for (size_t i = 0; i < take; i++) {
            bpt_kids(t, v[j])[i] = below[at + i];
            if (i)
                v[j]->keys[i - 1] = bpt_min_key(t, below[at + i]);
        }
        v[j]->n = (uint32_t)take - 1;
        at += take;
    }
    if (!v) {
        for (size_t i = 0; i < nb; i++) {
            t->root = below[i];
            bpt_free(t);
        }
    }
    free(below);
    *nout = g;
    return v;
}

int bpt_bulk_load(bpt_tree *t, const int64_t *keys, const uint64_t *vals, size_t n)
{
    if (t->root)
        return BPT_EINVAL;
    for (size_t i = 1; i < n; i++)
        if (keys[i] <= keys[i - 1])
            return BPT_EINVAL;
    if (n == 0)
        return BPT_OK;
    size_t nl;
    bpt_node **level = bpt_build_leaves(t, keys, vals, n, &nl);
    unsigned height = 0;
    while (level && nl > 1) {
        level = bpt_build_level(t, level, nl, &nl);
        height++;
    }
    if (!level)
        return BPT_ENOMEM;
    t->root = level[0];
    free(level);
    t->height = height;
    t->num_keys = n;
    return BPT_OK;
}

typedef struct bpt_check {
    const bpt_tree *t;
    bpt_node *prev_leaf;
    size_t keys;
    char *err;
    size_t errlen;
} bpt_check;

/* Keys of x's subtree lie in [lo, hi) (has_lo/has_hi say whether the bound exists). */
static int bpt_check_node(bpt_check *c, bpt_node *x, unsigned depth, int has_lo, int64_t lo, int has_hi, int64_t hi)
{
    const bpt_tree *t = c->t;
    uint32_t cap = x->leaf ? t->leaf_cap : t->inner_cap;
    if (x->n > cap || (x->leaf && x->n == 0) || (x->leaf != (depth == t->height))) {
        snprintf(c->err, c->errlen, "btree: node at depth %u: %u keys (cap %u), leaf %u, height %u", depth, x->n, cap,
                 x->leaf, t->height);
        return BPT_EINVAL;
    }
    for (uint32_t i = 0; i < x->n; i++)
        if ((i && x->keys[i] <= x->keys[i - 1]) || (has_lo && x->keys[i] < lo) || (has_hi && x->keys[i] >= hi)) {
            snprintf(c->err, c->errlen, "btree: key %lld at depth %u slot %u out of order or bounds",
                     (long long)x->keys[i], depth, i);
            return BPT_EINVAL;
        }
    if (x->leaf) {
        if (x->prev != c->prev_leaf || (c->prev_leaf && c->prev_leaf->next != x)) {
            snprintf(c->err, c->errlen, "btree: leaf chain broken at key %lld", (long long)x->keys[0]);
            return BPT_EINVAL;
        }
        c->prev_leaf = x;
        c->keys += x->n;
        return BPT_OK;
    }
    for (uint32_t i = 0; i <= x->n; i++) {
        int rc = bpt_check_node(c, bpt_kids(t, x)[i], depth + 1, i ? 1 : has_lo, i ? x->keys[i - 1] : lo,
                                i < x->n ? 1 : has_hi, i < x->n ? x->keys[i] : hi);
        if (rc != BPT_OK)
            return rc;
    }
    return BPT_OK;
}

int bpt_validate(const bpt_tree *t, char *err, size_t errlen)
{
    bpt_check c = {t, NULL, 0, err, errlen};
    if (!t->root) {
        if (t->num_keys == 0)
            return BPT_OK;
        snprintf(err, errlen, "btree: no root but %zu keys", t->num_keys);
        return BPT_EINVAL;
    }
    int rc = bpt_check_node(&c, t->root, 0, 0, 0, 0, 0);
    if (rc == BPT_OK && (c.keys != t->num_keys || (c.prev_leaf && c.prev_leaf->next))) {
        snprintf(err, errlen, "btree: %zu keys in leaves, %zu counted", c.keys, t->num_keys);
        rc = BPT_EINVAL;
    }
    return rc;
}
