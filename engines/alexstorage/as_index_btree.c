/* as_index_btree.c - the B+tree (bptree.h) behind the store's index ops table. */
#include "as_index.h"
#include "bptree.h"

#include <stdlib.h>

static int ix_bt_status(int rc)
{
    return rc == BPT_OK ? AS_IX_OK : rc == BPT_NOTFOUND ? AS_IX_NOTFOUND : rc == BPT_ENOMEM ? AS_IX_ENOMEM : AS_IX_EINVAL;
}

static int ix_bt_create(void **out, const as_options *opt)
{
    *out = NULL;
    bpt_tree *t = malloc(sizeof(*t));
    if (!t)
        return AS_IX_ENOMEM;
    int rc = bpt_init(t, opt->btree_node_bytes);
    if (rc != BPT_OK) {
        free(t);
        return ix_bt_status(rc);
    }
    *out = t;
    return AS_IX_OK;
}

static void ix_bt_destroy(void *t)
{
    if (!t)
        return;
    bpt_free(t);
    free(t);
}

static int ix_bt_bulk_load(void *t, const int64_t *keys, const uint64_t *locs, size_t n)
{
    return ix_bt_status(bpt_bulk_load(t, keys, locs, n));
}

static int ix_bt_find(const void *t, int64_t key, uint64_t *loc) { return ix_bt_status(bpt_find(t, key, loc)); }

static int ix_bt_upsert(void *t, int64_t key, uint64_t loc, uint64_t *old, int *existed)
{
    return ix_bt_status(bpt_upsert(t, key, loc, old, existed));
}

static int ix_bt_erase(void *t, int64_t key, uint64_t *old) { return ix_bt_status(bpt_erase(t, key, old)); }

static size_t ix_bt_scan(const void *t, int64_t from, as_ix_pair *out, size_t max)
{
    enum { CHUNK = 256 };
    int64_t k[CHUNK];
    uint64_t v[CHUNK];
    size_t n = 0;
    while (n < max) {
        size_t want = max - n < CHUNK ? max - n : CHUNK;
        size_t got = bpt_scan(t, from, k, v, want);
        for (size_t i = 0; i < got; i++)
            out[n + i] = (as_ix_pair){k[i], v[i]};
        n += got;
        if (got < want || k[got - 1] == INT64_MAX)
            break;
        from = k[got - 1] + 1;
    }
    return n;
}

static size_t ix_bt_size(const void *t) { return ((const bpt_tree *)t)->num_keys; }

static void ix_bt_stats(const void *p, as_index_stats *st)
{
    const bpt_tree *t = p;
    *st = (as_index_stats){
        .num_keys = t->num_keys,
        .inner_nodes = t->num_inner,
        .leaf_nodes = t->num_leaves,
        .max_depth = t->height,
        .index_bytes = sizeof(*t) + (t->num_inner + t->num_leaves) * (uint64_t)t->node_bytes,
        .num_inserts = t->num_inserts,
        .num_splits = t->num_splits,
    };
    st->heap_bytes = st->index_bytes;
}

static int ix_bt_validate(const void *t, char *err, size_t errlen)
{
    return ix_bt_status(bpt_validate(t, err, errlen));
}

const as_index_ops as_index_btree_ops = {
    .name = "btree",
    .read_only = 0,
    .create = ix_bt_create,
    .destroy = ix_bt_destroy,
    .bulk_load = ix_bt_bulk_load,
    .find = ix_bt_find,
    .upsert = ix_bt_upsert,
    .erase = ix_bt_erase,
    .scan = ix_bt_scan,
    .size = ix_bt_size,
    .stats = ix_bt_stats,
    .validate = ix_bt_validate,
};
