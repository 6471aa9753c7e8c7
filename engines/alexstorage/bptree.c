/* bptree.c - the B+tree's point operations: find, upsert (with node splits) and erase (freeing
 * emptied nodes), and ordered scans through the leaf chain. Bulk load and checks: bptree_build.c. */
#include "bptree.h"

#include <stdlib.h>
#include <string.h>

int bpt_init(bpt_tree *t, uint32_t node_bytes)
{
    memset(t, 0, sizeof(*t));
    if (node_bytes == 0)
        node_bytes = BPT_NODE_BYTES_DEFAULT;
    if (node_bytes < BPT_NODE_BYTES_MIN || node_bytes > BPT_NODE_BYTES_MAX || node_bytes % 64)
        return BPT_EINVAL;
    t->node_bytes = node_bytes;
    t->leaf_cap = (node_bytes - (uint32_t)sizeof(bpt_node)) / 16;
    t->inner_cap = (node_bytes - (uint32_t)sizeof(bpt_node) - 8) / 16;
    return BPT_OK;
}

bpt_node *bpt__node_new(bpt_tree *t, int leaf)
{
    bpt_node *x = aligned_alloc(64, t->node_bytes);
    if (!x)
        return NULL;
    x->n = 0;
    x->leaf = (uint32_t)leaf;
    x->next = x->prev = NULL;
    if (leaf)
        t->num_leaves++;
    else
        t->num_inner++;
    return x;
}

void bpt__node_free(bpt_tree *t, bpt_node *x)
{
    if (x->leaf)
        t->num_leaves--;
    else
        t->num_inner--;
    free(x);
}

static void bpt_free_sub(bpt_tree *t, bpt_node *x)
{
    if (!x->leaf)
        for (uint32_t i = 0; i <= x->n; i++)
            bpt_free_sub(t, bpt_kids(t, x)[i]);
    bpt__node_free(t, x);
}

void bpt_free(bpt_tree *t)
{
    if (t->root)
        bpt_free_sub(t, t->root);
    t->root = NULL;
    t->num_keys = 0;
    t->height = 0;
}

/* First i with k[i] >= key (n if none): a fixed number of halvings, conditional moves inside. */
static inline uint32_t bpt_lower(const int64_t *k, uint32_t n, int64_t key)
{
    const int64_t *base = k;
    uint32_t len = n;
    while (len > 1) {
        uint32_t half = len / 2;
        base = base[half - 1] < key ? base + half : base;
        len -= half;
    }
    return (uint32_t)(base - k) + (len == 1 && *base < key);
}

/* Child to follow in an inner node: the number of separators <= key. */
static inline uint32_t bpt_route(const int64_t *k, uint32_t n, int64_t key)
{
    const int64_t *base = k;
    uint32_t len = n;
    while (len > 1) {
        uint32_t half = len / 2;
        base = base[half - 1] <= key ? base + half : base;
        len -= half;
    }
    return (uint32_t)(base - k) + (len == 1 && *base <= key);
}

static bpt_node *bpt_leaf_for(const bpt_tree *t, int64_t key)
{
    bpt_node *x = t->root;
    while (!x->leaf)
        x = bpt_kids(t, x)[bpt_route(x->keys, x->n, key)];
    return x;
}

int bpt_find(const bpt_tree *t, int64_t key, uint64_t *val)
{
    if (!t->root)
        return BPT_NOTFOUND;
    bpt_node *x = bpt_leaf_for(t, key);
    uint32_t i = bpt_lower(x->keys, x->n, key);
    if (i == x->n || x->keys[i] != key)
        return BPT_NOTFOUND;
    *val = bpt_vals(t, x)[i];
    return BPT_OK;
}

size_t bpt_scan(const bpt_tree *t, int64_t from, int64_t *keys, uint64_t *vals, size_t max)
{
    if (!t->root || max == 0)
        return 0;
    bpt_node *x = bpt_leaf_for(t, from);
    uint32_t i = bpt_lower(x->keys, x->n, from);
    size_t n = 0;
    while (x && n < max) {
        for (; i < x->n && n < max; i++, n++) {
            keys[n] = x->keys[i];
            vals[n] = bpt_vals(t, x)[i];
        }
        x = x->next;
        i = 0;
    }
    return n;
}

/* Make room at i in a node of `n` used entries, keys plus `slots` (values or children) from sidx. */
static void bpt_open_key(int64_t *k, uint32_t n, uint32_t i)
{
    memmove(k + i + 1, k + i, (size_t)(n - i) * sizeof(*k));
}

static void bpt_leaf_put(const bpt_tree *t, bpt_node *x, uint32_t i, int64_t key, uint64_t val)
{
    bpt_open_key(x->keys, x->n, i);
    uint64_t *v = bpt_vals(t, x);
    memmove(v + i + 1, v + i, (size_t)(x->n - i) * sizeof(*v));
    x->keys[i] = key;
    v[i] = val;
    x->n++;
}

/* Separator sep at key position i with its right child r at child position i + 1. */
static void bpt_inner_put(const bpt_tree *t, bpt_node *x, uint32_t i, int64_t sep, bpt_node *r)
{
    bpt_open_key(x->keys, x->n, i);
    bpt_node **c = bpt_kids(t, x);
    memmove(c + i + 2, c + i + 1, (size_t)(x->n - i) * sizeof(*c));
    x->keys[i] = sep;
    c[i + 1] = r;
    x->n++;
}

/* Split full leaf x into x and r while inserting (key, val) at i; returns r's first key. An insert
 * past the end of the rightmost leaf (appends) leaves x full and starts r with the new key alone. */
static int64_t bpt_split_leaf(bpt_tree *t, bpt_node *x, bpt_node *r, uint32_t i, int64_t key, uint64_t val)
{
    uint32_t cap = t->leaf_cap, mid = (i == cap && !x->next) ? cap : cap / 2;
    memcpy(r->keys, x->keys + mid, (size_t)(cap - mid) * sizeof(int64_t));
    memcpy(bpt_vals(t, r), bpt_vals(t, x) + mid, (size_t)(cap - mid) * sizeof(uint64_t));
    r->n = cap - mid;
    x->n = mid;
    r->next = x->next;
    r->prev = x;
    if (x->next)
        x->next->prev = r;
    x->next = r;
    if (i <= mid && mid < cap)
        bpt_leaf_put(t, x, i, key, val);
    else
        bpt_leaf_put(t, r, i - mid, key, val);
    return r->keys[0];
}

/* Split full inner x into x and r while inserting separator sep (right child c) at key position i;
 * returns the separator that moves up. The cases keep the combined order keys[0..i) sep keys[i..). */
static int64_t bpt_split_inner(bpt_tree *t, bpt_node *x, bpt_node *r, uint32_t i, int64_t sep, bpt_node *c)
{
    uint32_t cap = t->inner_cap, m = cap / 2;
    bpt_node **xk = bpt_kids(t, x), **rk = bpt_kids(t, r);
    int64_t up;
    if (i < m) {
        up = x->keys[m - 1];
        memcpy(r->keys, x->keys + m, (size_t)(cap - m) * sizeof(int64_t));
        memcpy(rk, xk + m, (size_t)(cap - m + 1) * sizeof(*rk));
        r->n = cap - m;
        x->n = m - 1;
        bpt_inner_put(t, x, i, sep, c);
    } else if (i == m) {
        up = sep;
        memcpy(r->keys, x->keys + m, (size_t)(cap - m) * sizeof(int64_t));
        rk[0] = c;
        memcpy(rk + 1, xk + m + 1, (size_t)(cap - m) * sizeof(*rk));
        r->n = cap - m;
        x->n = m;
    } else {
        up = x->keys[m];
        memcpy(r->keys, x->keys + m + 1, (size_t)(cap - m - 1) * sizeof(int64_t));
        memcpy(rk, xk + m + 1, (size_t)(cap - m) * sizeof(*rk));
        r->n = cap - m - 1;
        x->n = m;
        bpt_inner_put(t, r, i - m - 1, sep, c);
    }
    return up;
}

typedef struct bpt_path {
    bpt_node *node[BPT_MAX_HEIGHT];
    uint32_t idx[BPT_MAX_HEIGHT]; /* child taken at each inner level */
    unsigned depth;
} bpt_path;

static bpt_node *bpt_descend(const bpt_tree *t, int64_t key, bpt_path *p)
{
    bpt_node *x = t->root;
    p->depth = 0;
    while (!x->leaf) {
        uint32_t i = bpt_route(x->keys, x->n, key);
        p->node[p->depth] = x;
        p->idx[p->depth++] = i;
        x = bpt_kids(t, x)[i];
    }
    return x;
}

/* Insert into full leaf x: every node a split needs is allocated first, so ENOMEM changes nothing. */
static int bpt_insert_split(bpt_tree *t, bpt_path *p, bpt_node *x, uint32_t i, int64_t key, uint64_t val)
{
    unsigned need = 1, d = p->depth;
    while (d > 0 && p->node[d - 1]->n == t->inner_cap)
        need++, d--;
    bpt_node *fresh[BPT_MAX_HEIGHT + 1];
    unsigned nf = 0;
    for (unsigned j = 0; j <= need; j++) { /* need splits, plus a new root if they reach the top */
        if (j == need && d > 0)
            break;
        fresh[nf] = bpt__node_new(t, j == 0);
        if (!fresh[nf]) {
            while (nf > 0)
                bpt__node_free(t, fresh[--nf]);
            return BPT_ENOMEM;
        }
        nf++;
    }
    bpt_node *right = fresh[0];
    int64_t sep = bpt_split_leaf(t, x, right, i, key, val);
    unsigned used = 1;
    for (d = p->depth; d > 0; d--) {
        bpt_node *up = p->node[d - 1];
        if (up->n < t->inner_cap) {
            bpt_inner_put(t, up, p->idx[d - 1], sep, right);
            return BPT_OK;
        }
        bpt_node *r = fresh[used++];
        sep = bpt_split_inner(t, up, r, p->idx[d - 1], sep, right);
        right = r;
    }
    bpt_node *root = fresh[used];
    root->keys[0] = sep;
    bpt_kids(t, root)[0] = t->root;
    bpt_kids(t, root)[1] = right;
    root->n = 1;
    t->root = root;
    t->height++;
    return BPT_OK;
}

int bpt_upsert(bpt_tree *t, int64_t key, uint64_t val, uint64_t *old, int *existed)
{
    if (existed)
        *existed = 0;
    if (!t->root) {
        t->root = bpt__node_new(t, 1);
        if (!t->root)
            return BPT_ENOMEM;
    }
    bpt_path p;
    bpt_node *x = bpt_descend(t, key, &p);
    uint32_t i = bpt_lower(x->keys, x->n, key);
    if (i < x->n && x->keys[i] == key) {
        if (old)
            *old = bpt_vals(t, x)[i];
        if (existed)
            *existed = 1;
        bpt_vals(t, x)[i] = val;
        return BPT_OK;
    }
    if (x->n < t->leaf_cap) {
        bpt_leaf_put(t, x, i, key, val);
    } else {
        int rc = bpt_insert_split(t, &p, x, i, key, val);
        if (rc != BPT_OK)
            return rc;
        t->num_splits++;
    }
    t->num_keys++;
    t->num_inserts++;
    return BPT_OK;
}

/* Remove child i (and one separator) from inner node x, which has at least two children. */
static void bpt_inner_drop(const bpt_tree *t, bpt_node *x, uint32_t i)
{
    uint32_t k = i ? i - 1 : 0;
    bpt_node **c = bpt_kids(t, x);
    memmove(x->keys + k, x->keys + k + 1, (size_t)(x->n - k - 1) * sizeof(int64_t));
    memmove(c + i, c + i + 1, (size_t)(x->n - i) * sizeof(*c));
    x->n--;
}

/* Leaf x emptied: unlink it, then drop it from its parents, freeing every parent left childless. */
static void bpt_drop_leaf(bpt_tree *t, bpt_path *p, bpt_node *x)
{
    if (x->prev)
        x->prev->next = x->next;
    if (x->next)
        x->next->prev = x->prev;
    bpt__node_free(t, x);
    unsigned d = p->depth;
    while (d > 0 && p->node[d - 1]->n == 0) { /* its only child is gone */
        bpt__node_free(t, p->node[--d]);
    }
    if (d == 0) {
        t->root = NULL;
        t->height = 0;
        return;
    }
    bpt_inner_drop(t, p->node[d - 1], p->idx[d - 1]);
    while (!t->root->leaf && t->root->n == 0) { /* a root with one child hands over to it */
        bpt_node *only = bpt_kids(t, t->root)[0];
        bpt__node_free(t, t->root);
        t->root = only;
        t->height--;
    }
}

int bpt_erase(bpt_tree *t, int64_t key, uint64_t *old)
{
    if (!t->root)
        return BPT_NOTFOUND;
    bpt_path p;
    bpt_node *x = bpt_descend(t, key, &p);
    uint32_t i = bpt_lower(x->keys, x->n, key);
    if (i == x->n || x->keys[i] != key)
        return BPT_NOTFOUND;
    uint64_t *v = bpt_vals(t, x);
    if (old)
        *old = v[i];
    memmove(x->keys + i, x->keys + i + 1, (size_t)(x->n - i - 1) * sizeof(int64_t));
    memmove(v + i, v + i + 1, (size_t)(x->n - i - 1) * sizeof(*v));
    x->n--;
    t->num_keys--;
    if (x->n == 0)
        bpt_drop_leaf(t, &p, x);
    return BPT_OK;
}
