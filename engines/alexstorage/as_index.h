/* as_index.h - the store's in-memory ordered index, behind an ops table: int64 key -> uint64 record
 * locator. The store never calls an index implementation directly, so the index can be swapped
 * (as_options.index: ALEX, a B+tree, or a read-only sorted array) with everything else unchanged.
 *
 * Contract of every implementation:
 * - single writer, no internal locking (the store serialises writers and guards readers), unless the
 *   index sets AS_IX_SHARED_READS: then find_shared/scan_shared, each with a reader handle of its own
 *   thread, run beside the writer and the store takes no lock for them (ALEX: alex_sync.c);
 * - the whole int64 range is valid, keys are unique;
 * - find/scan never modify the structure (counters excepted), so readers may run concurrently with
 *   each other;
 * - after a failed call the index is unchanged (an ENOMEM in the middle of an insert leaves every
 *   key it held before).
 */
#ifndef AS_INDEX_H
#define AS_INDEX_H

#include "alexstorage.h"

#include <stddef.h>
#include <stdint.h>

enum as_ix_status {
    AS_IX_OK = 0,
    AS_IX_NOTFOUND = 1,
    AS_IX_ENOMEM = -1,
    AS_IX_EINVAL = -2, /* bulk load of unsorted/duplicate keys or into a non-empty index */
};

typedef struct as_ix_pair {
    int64_t key;
    uint64_t loc;
} as_ix_pair;

typedef struct as_index_stats {
    uint64_t num_keys;
    uint64_t inner_nodes;      /* ALEX model nodes, B+tree inner nodes */
    uint64_t leaf_nodes;       /* ALEX data nodes, B+tree leaves, 1 for the sorted array */
    uint64_t max_depth;        /* root = 0 */
    uint64_t index_bytes;      /* every byte the structure allocated for itself */
    uint64_t heap_bytes;       /* allocator footprint when the index has its own heap, else = index_bytes */
    uint64_t num_lookups;      /* counters since creation; 0 where an index does not count */
    uint64_t num_search_steps;
    uint64_t num_inserts;
    uint64_t num_shifts;
    uint64_t num_expansions;
    uint64_t num_splits;
    uint64_t num_smo;          /* structural sections readers waited out (shared reads; else 0) */
    uint64_t num_smo_waits;    /* of them, ones that waited for a reader in flight */
} as_index_stats;

/* as_index_ops.flags */
enum {
    AS_IX_SHARED_READS = 1u << 0, /* reader_open/find_shared/scan_shared: readers beside the writer */
};

typedef struct as_index_ops {
    const char *name;
    /* Writes other than recovery/bulk load are refused by the store (as_put/as_del). */
    int read_only;
    unsigned flags; /* AS_IX_* capability bits */
    int (*create)(void **out, const as_options *opt);
    void (*destroy)(void *ix);
    /* n strictly increasing keys into an empty index. */
    int (*bulk_load)(void *ix, const int64_t *keys, const uint64_t *locs, size_t n);
    int (*find)(const void *ix, int64_t key, uint64_t *loc);
    /* Insert or overwrite; *old (may be NULL) = previous locator, *existed (may be NULL) = 1 if any. */
    int (*upsert)(void *ix, int64_t key, uint64_t loc, uint64_t *old, int *existed);
    int (*erase)(void *ix, int64_t key, uint64_t *old);
    /* Copy up to max pairs with key >= from, ascending; returns how many. */
    size_t (*scan)(const void *ix, int64_t from, as_ix_pair *out, size_t max);
    size_t (*size)(const void *ix);
    void (*stats)(const void *ix, as_index_stats *st);
    /* AS_IX_OK, or AS_IX_EINVAL with the broken invariant in err. */
    int (*validate)(const void *ix, char *err, size_t errlen);
    /* With AS_IX_SHARED_READS only: a reader handle per thread (AS_IX_OK or AS_IX_ENOMEM), and find/scan
     * through it from any thread while the writer runs. */
    int (*reader_open)(void *ix, void **reader);
    void (*reader_close)(void *reader);
    int (*find_shared)(const void *ix, void *reader, int64_t key, uint64_t *loc);
    size_t (*scan_shared)(const void *ix, void *reader, int64_t from, as_ix_pair *out, size_t max);
    /* Between the two no shared read runs (a batch's changes are seen all or none). */
    void (*exclude_readers)(void *ix);
    void (*admit_readers)(void *ix);
} as_index_ops;

typedef struct as_index {
    const as_index_ops *ops;
    void *impl;
} as_index;

extern const as_index_ops as_index_alex_ops;
extern const as_index_ops as_index_btree_ops;
extern const as_index_ops as_index_sorted_ops;

/* The ops for an as_index_kind, or NULL for an unknown kind. */
const as_index_ops *as_index_ops_for(int kind);
/* AS_OK, AS_EINVAL (unknown kind, message in err) or AS_ENOMEM. */
int as_index_create(as_index **out, const as_options *opt, char *err, size_t errlen);
void as_index_destroy(as_index *ix);

static inline int as_index_bulk_load(as_index *ix, const int64_t *keys, const uint64_t *locs, size_t n)
{
    return ix->ops->bulk_load(ix->impl, keys, locs, n);
}
static inline int as_index_find(const as_index *ix, int64_t key, uint64_t *loc)
{
    return ix->ops->find(ix->impl, key, loc);
}
static inline int as_index_upsert(as_index *ix, int64_t key, uint64_t loc, uint64_t *old, int *existed)
{
    return ix->ops->upsert(ix->impl, key, loc, old, existed);
}
static inline int as_index_erase(as_index *ix, int64_t key, uint64_t *old)
{
    return ix->ops->erase(ix->impl, key, old);
}
static inline size_t as_index_scan(const as_index *ix, int64_t from, as_ix_pair *out, size_t max)
{
    return ix->ops->scan(ix->impl, from, out, max);
}
static inline size_t as_index_size(const as_index *ix) { return ix->ops->size(ix->impl); }
static inline int as_index_shared_reads(const as_index *ix) { return (ix->ops->flags & AS_IX_SHARED_READS) != 0; }
static inline int as_index_find_shared(const as_index *ix, void *r, int64_t key, uint64_t *loc)
{
    return ix->ops->find_shared(ix->impl, r, key, loc);
}
static inline size_t as_index_scan_shared(const as_index *ix, void *r, int64_t from, as_ix_pair *out, size_t max)
{
    return ix->ops->scan_shared(ix->impl, r, from, out, max);
}
static inline void as_index_stats_get(const as_index *ix, as_index_stats *st) { ix->ops->stats(ix->impl, st); }
/* Every pair in key order, a batch at a time (for checkpoints and checks; the index must not change
 * while a cursor is in use). */
#define AS_IX_CURSOR_BATCH 256
typedef struct as_ix_cursor {
    const as_index *ix;
    as_ix_pair buf[AS_IX_CURSOR_BATCH];
    size_t n, i;
    int64_t from;
    int done;
} as_ix_cursor;
void as_ix_cursor_init(as_ix_cursor *c, const as_index *ix);
/* 1 and the next pair in *p, or 0 at the end. */
int as_ix_cursor_next(as_ix_cursor *c, as_ix_pair *p);

static inline const char *as_index_name(const as_index *ix) { return ix->ops->name; }

#endif
