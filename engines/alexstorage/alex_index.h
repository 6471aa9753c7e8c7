/* alex_index.h - ALEX, the updatable adaptive learned index (Ding et al., SIGMOD 2020), in C:
 * int64 keys -> uint64 payloads (AlexStorage stores record locators).
 *
 * Threads: one writer at a time (the caller serialises insert/upsert/erase/bulk load). Any number of
 * threads may read beside it through alex_find_shared / alex_scan_shared, each with its own
 * alex_reader, taking no lock: a leaf's contents are read under its seqlock (retried if the writer
 * changed them meanwhile), and structural changes wait until no reader is inside a lookup (readers
 * arriving meanwhile wait for the change to end; alex_sync.c). alex_find and the iterators are for
 * the writer's thread (or when no writer runs).
 *
 * The whole int64 range is valid as keys, INT64_MIN and INT64_MAX included. Keys are unique.
 */
#ifndef ALEX_INDEX_H
#define ALEX_INDEX_H

#include <stddef.h>
#include <stdint.h>

enum alex_status {
    ALEX_OK = 0,
    ALEX_NOTFOUND = 1,
    ALEX_EXISTS = 2,      /* insert of a key already present */
    ALEX_ENOMEM = -1,
    ALEX_EINVAL = -2,     /* e.g. bulk load of unsorted or duplicate keys, or into a non-empty index */
    ALEX_ECORRUPT = -3,   /* validate() found a broken invariant */
};

typedef struct alex_index alex_index;

typedef struct alex_params {
    size_t max_data_node_slots;  /* cap on a data node's slots (default 1 << 14) */
    unsigned max_fanout_log2;    /* cap on a model node's children, log2 (default 16) */
    double density_init;         /* density after bulk load / expand (default 0.7) */
    double density_max;          /* expand or split above this (default 0.8) */
    double density_min;          /* contract below this (default 0.6) */
    int huge_pages;              /* leaf-array heap regions: 1 MADV_HUGEPAGE (default), 0 MADV_NOHUGEPAGE */
} alex_params;

/* Defaults as documented above. */
void alex_params_default(alex_params *p);

int alex_create(alex_index **out, const alex_params *p /* NULL = defaults */);
void alex_destroy(alex_index *ix);

/* Load n sorted, strictly increasing keys into an empty index. */
int alex_bulk_load(alex_index *ix, const int64_t *keys, const uint64_t *payloads, size_t n);
/* ALEX_OK, or ALEX_EXISTS (payload left unchanged). */
int alex_insert(alex_index *ix, int64_t key, uint64_t payload);
/* Insert, or overwrite the payload of an existing key; *old (may be NULL) gets the previous payload
 * and *existed (may be NULL) says whether there was one. */
int alex_upsert(alex_index *ix, int64_t key, uint64_t payload, uint64_t *old, int *existed);
/* ALEX_OK and *payload, or ALEX_NOTFOUND. */
int alex_find(const alex_index *ix, int64_t key, uint64_t *payload);
/* ALEX_OK (and *old = removed payload, may be NULL) or ALEX_NOTFOUND. */
int alex_erase(alex_index *ix, int64_t key, uint64_t *old);
size_t alex_size(const alex_index *ix);

/* Ordered iteration: an iterator is (data node, slot) and is invalidated by any modification. */
typedef struct alex_iter {
    const void *leaf;
    int slot;
} alex_iter;
/* Position at the first key >= key. */
void alex_lower_bound(const alex_index *ix, int64_t key, alex_iter *it);
void alex_first(const alex_index *ix, alex_iter *it);
int alex_iter_valid(const alex_iter *it);
void alex_iter_next(alex_iter *it);
int64_t alex_iter_key(const alex_iter *it);
uint64_t alex_iter_payload(const alex_iter *it);

/* A reading thread's handle for the lock-free reads (one per thread; opened and closed while no
 * read of that thread runs). ALEX_OK or ALEX_ENOMEM. */
typedef struct alex_reader alex_reader;
int alex_reader_open(alex_index *ix, alex_reader **out);
void alex_reader_close(alex_reader *r);
/* The writer's several changes seen by shared readers all or none: between the two calls no shared
 * read runs (those in flight are waited out, new ones wait). */
void alex_exclude_readers(alex_index *ix);
void alex_admit_readers(alex_index *ix);
/* alex_find for any thread, beside the writer. */
int alex_find_shared(const alex_index *ix, alex_reader *r, int64_t key, uint64_t *payload);
/* Up to max pairs with key >= from, ascending, beside the writer: each leaf's pairs are copied under its
 * seqlock (never a torn pair); a key present throughout the call is never skipped. Returns how many. */
size_t alex_scan_shared(const alex_index *ix, alex_reader *r, int64_t from, int64_t *keys, uint64_t *payloads,
                        size_t max);

typedef struct alex_stats {
    uint64_t num_keys;
    uint64_t num_model_nodes;
    uint64_t num_data_nodes;
    uint64_t max_depth;          /* root = depth 0 */
    double avg_depth;            /* key-weighted depth of data nodes */
    uint64_t index_bytes;        /* model nodes + data nodes incl. gaps, bitmaps and payload arrays */
    double bytes_per_key;
    uint64_t num_lookups;        /* counters since creation */
    uint64_t num_search_steps;   /* exponential + binary search iterations over all lookups */
    uint64_t num_inserts;
    uint64_t num_shifts;         /* slots moved by inserts */
    uint64_t num_insert_steps;   /* search iterations of inserts (locating the slot) */
    uint64_t num_expansions;     /* expand + retrain of a data node */
    uint64_t num_splits_sideways;
    uint64_t num_splits_down;
    uint64_t num_contractions;
    uint64_t num_root_expansions; /* key-domain growth for out-of-range keys */
    uint64_t heap_bytes;         /* huge-page heap footprint (arrays + size-class rounding + free lists) */
    uint64_t heap_free_bytes;    /* of which on free lists, waiting for reuse */
    uint64_t num_smo;            /* structural sections (readers excluded while one runs) */
    uint64_t num_smo_waits;      /* of them, ones that found a reader inside and waited for it */
} alex_stats;
void alex_get_stats(const alex_index *ix, alex_stats *st);

/* Check every structural invariant (keys non-decreasing over all slots, bitmap == occupancy,
 * gap keys == right neighbour, child pointer runs aligned and covering, leaf chain == in-order
 * walk, counts). ALEX_OK, or ALEX_ECORRUPT with a description in err. O(size). */
int alex_validate(const alex_index *ix, char *err, size_t errlen);

#endif
