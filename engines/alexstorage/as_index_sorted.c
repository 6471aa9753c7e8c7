/* as_index_sorted.c - a sorted array of (key, locator) pairs with binary search: the index for
 * read-only runs. The store refuses as_put/as_del on it (ops.read_only); bulk load and recovery
 * build it, and the rare upsert/erase (replaying a log tail after a checkpoint, compaction moving a
 * record) shift the array, O(n) each. */
#include "as_index.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct ix_sorted {
    as_ix_pair *a;
    size_t n, cap;
} ix_sorted;

static int ix_sorted_create(void **out, const as_options *opt)
{
    (void)opt;
    *out = calloc(1, sizeof(ix_sorted));
    return *out ? AS_IX_OK : AS_IX_ENOMEM;
}

static void ix_sorted_destroy(void *p)
{
    ix_sorted *ix = p;
    if (!ix)
        return;
    free(ix->a);
    free(ix);
}

static int ix_sorted_bulk_load(void *p, const int64_t *keys, const uint64_t *locs, size_t n)
{
    ix_sorted *ix = p;
    if (ix->n)
        return AS_IX_EINVAL;
    for (size_t i = 1; i < n; i++)
        if (keys[i] <= keys[i - 1])
            return AS_IX_EINVAL;
    as_ix_pair *a = n ? malloc(n * sizeof(*a)) : NULL;
    if (n && !a)
        return AS_IX_ENOMEM;
    for (size_t i = 0; i < n; i++)
        a[i] = (as_ix_pair){keys[i], locs[i]};
    free(ix->a);
    ix->a = a;
    ix->n = ix->cap = n;
    return AS_IX_OK;
}

/* Index of the first pair with key >= key (n if none). Branch-free halving: the loop runs log2(n)
 * times whatever the keys, and the compiler turns the step into a conditional move. */
static size_t ix_sorted_lb(const ix_sorted *ix, int64_t key)
{
    const as_ix_pair *base = ix->a;
    size_t len = ix->n;
    if (len == 0)
        return 0;
    while (len > 1) {
        size_t half = len / 2;
        base = base[half - 1].key < key ? base + half : base;
        len -= half;
    }
    return (size_t)(base - ix->a) + (base->key < key);
}

static int ix_sorted_find(const void *p, int64_t key, uint64_t *loc)
{
    const ix_sorted *ix = p;
    size_t i = ix_sorted_lb(ix, key);
    if (i == ix->n || ix->a[i].key != key)
        return AS_IX_NOTFOUND;
    *loc = ix->a[i].loc;
    return AS_IX_OK;
}

static int ix_sorted_upsert(void *p, int64_t key, uint64_t loc, uint64_t *old, int *existed)
{
    ix_sorted *ix = p;
    size_t i = ix_sorted_lb(ix, key);
    if (i < ix->n && ix->a[i].key == key) {
        if (old)
            *old = ix->a[i].loc;
        if (existed)
            *existed = 1;
        ix->a[i].loc = loc;
        return AS_IX_OK;
    }
    if (ix->n == ix->cap) {
        size_t cap = ix->cap ? ix->cap + ix->cap / 2 + 1 : 64;
        as_ix_pair *a = realloc(ix->a, cap * sizeof(*a));
        if (!a)
            return AS_IX_ENOMEM;
        ix->a = a;
        ix->cap = cap;
    }
    memmove(ix->a + i + 1, ix->a + i, (ix->n - i) * sizeof(*ix->a));
    ix->a[i] = (as_ix_pair){key, loc};
    ix->n++;
    if (existed)
        *existed = 0;
    return AS_IX_OK;
}

static int ix_sorted_erase(void *p, int64_t key, uint64_t *old)
{
    ix_sorted *ix = p;
    size_t i = ix_sorted_lb(ix, key);
    if (i == ix->n || ix->a[i].key != key)
        return AS_IX_NOTFOUND;
    if (old)
        *old = ix->a[i].loc;
    memmove(ix->a + i, ix->a + i + 1, (ix->n - i - 1) * sizeof(*ix->a));
    ix->n--;
    return AS_IX_OK;
}

static size_t ix_sorted_scan(const void *p, int64_t from, as_ix_pair *out, size_t max)
{
    const ix_sorted *ix = p;
    size_t i = ix_sorted_lb(ix, from);
    size_t n = ix->n - i < max ? ix->n - i : max;
    memcpy(out, ix->a + i, n * sizeof(*out));
    return n;
}

static size_t ix_sorted_size(const void *p) { return ((const ix_sorted *)p)->n; }

static void ix_sorted_stats(const void *p, as_index_stats *st)
{
    const ix_sorted *ix = p;
    *st = (as_index_stats){
        .num_keys = ix->n,
        .leaf_nodes = 1,
        .index_bytes = sizeof(*ix) + ix->cap * sizeof(*ix->a),
    };
    st->heap_bytes = st->index_bytes;
}

static int ix_sorted_validate(const void *p, char *err, size_t errlen)
{
    const ix_sorted *ix = p;
    for (size_t i = 1; i < ix->n; i++)
        if (ix->a[i].key <= ix->a[i - 1].key) {
            snprintf(err, errlen, "sorted index: key %lld at %zu is not above %lld", (long long)ix->a[i].key, i,
                     (long long)ix->a[i - 1].key);
            return AS_IX_EINVAL;
        }
    return AS_IX_OK;
}

const as_index_ops as_index_sorted_ops = {
    .name = "sorted",
    .read_only = 1,
    .create = ix_sorted_create,
    .destroy = ix_sorted_destroy,
    .bulk_load = ix_sorted_bulk_load,
    .find = ix_sorted_find,
    .upsert = ix_sorted_upsert,
    .erase = ix_sorted_erase,
    .scan = ix_sorted_scan,
    .size = ix_sorted_size,
    .stats = ix_sorted_stats,
    .validate = ix_sorted_validate,
};
