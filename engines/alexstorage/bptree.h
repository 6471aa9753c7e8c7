/* bptree.h - an in-memory B+tree, int64 key -> uint64 value, written for AlexStorage as the
 * baseline its learned index is measured against (as_options.index = AS_INDEX_BTREE).
 *
 * Nodes are one allocation of node_bytes, 64-byte aligned: a 24-byte header, then the keys packed
 * together (a search touches only key lines), then the values (leaves) or child pointers (inner).
 * Leaves are chained both ways for scans. Inserts split full nodes (an append at the right edge
 * leaves the old leaf full instead of half full); deletes free a node when it empties but do not
 * merge half-empty neighbours, as many in-memory B+trees do: a delete-heavy run can leave sparse
 * leaves until the next open rebuilds the tree. Single writer; readers may run concurrently with
 * each other. Every failing call leaves the tree unchanged.
 */
#ifndef BPTREE_H
#define BPTREE_H

#include <stddef.h>
#include <stdint.h>

#define BPT_NODE_BYTES_DEFAULT 512u
#define BPT_NODE_BYTES_MIN 128u
#define BPT_NODE_BYTES_MAX 65536u
#define BPT_MAX_HEIGHT 48 /* far above any reachable height: a 128-byte tree of 2^63 keys is ~25 */

typedef struct bpt_node {
    uint32_t n;          /* keys held (an inner node has n + 1 children) */
    uint32_t leaf;
    struct bpt_node *next, *prev; /* leaf chain (NULL in inner nodes) */
    int64_t keys[];      /* cap keys, then cap values (leaf) or cap + 1 children (inner) */
} bpt_node;

typedef struct bpt_tree {
    bpt_node *root;      /* NULL when empty */
    uint32_t node_bytes, leaf_cap, inner_cap;
    unsigned height;     /* 0: the root is a leaf */
    size_t num_keys, num_leaves, num_inner;
    uint64_t num_inserts, num_splits;
} bpt_tree;

enum { BPT_OK = 0, BPT_NOTFOUND = 1, BPT_ENOMEM = -1, BPT_EINVAL = -2 };

/* node_bytes 0 = BPT_NODE_BYTES_DEFAULT; else a multiple of 64 in [MIN, MAX] (BPT_EINVAL). */
int bpt_init(bpt_tree *t, uint32_t node_bytes);
void bpt_free(bpt_tree *t);
int bpt_find(const bpt_tree *t, int64_t key, uint64_t *val);
int bpt_upsert(bpt_tree *t, int64_t key, uint64_t val, uint64_t *old, int *existed);
int bpt_erase(bpt_tree *t, int64_t key, uint64_t *old);
/* Up to max pairs with key >= from, ascending, into keys/vals; returns how many. */
size_t bpt_scan(const bpt_tree *t, int64_t from, int64_t *keys, uint64_t *vals, size_t max);
/* n strictly increasing keys into an empty tree, leaves 90% full (room for a few inserts each). */
int bpt_bulk_load(bpt_tree *t, const int64_t *keys, const uint64_t *vals, size_t n);
/* BPT_OK, or BPT_EINVAL with the broken invariant in err. O(n). */
int bpt_validate(const bpt_tree *t, char *err, size_t errlen);

/* Node layout helpers shared by bptree.c and bptree_build.c. */
static inline uint64_t *bpt_vals(const bpt_tree *t, bpt_node *x) { return (uint64_t *)(x->keys + t->leaf_cap); }
static inline bpt_node **bpt_kids(const bpt_tree *t, bpt_node *x) { return (bpt_node **)(x->keys + t->inner_cap); }
bpt_node *bpt__node_new(bpt_tree *t, int leaf);
void bpt__node_free(bpt_tree *t, bpt_node *x);

#endif
