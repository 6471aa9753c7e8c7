/* alex_internal.h - ALEX node layouts, the one shared routing function and cross-file internals. */
#ifndef ALEX_INTERNAL_H
#define ALEX_INTERNAL_H

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "alex_index.h"

/* Cost model weights (ALEX paper / reference implementation). */
#define ALEX_W_SEARCH 20.0     /* per log2 search iteration */
#define ALEX_W_SHIFT 0.5       /* per shifted slot on insert */
#define ALEX_W_TRAVERSE 20.0   /* one more tree level */
#define ALEX_W_MODEL_BYTE 5e-7 /* per byte of model nodes */
#define ALEX_MAX_DEPTH 128     /* hard bound on the path array; fanout >= 16 keeps depth far lower */
#define ALEX_MIN_CAP 8         /* smallest data node capacity */
#define ALEX_OOD_TRIGGER 64 /* out-of-domain inserts on one side before the root expands */
#define ALEX_STRIPES 8       /* lookup-counter stripes (threads hash onto them) */
#define ALEX_LOOKUP_SAMPLE 16 /* a leaf counts every 16th lookup of a thread (a power of two) */
#define ALEX_RUN_DRIFT 32    /* placement: a run this far behind its keys' predictions ... */
#define ALEX_RUN_GAP 4       /* ... leaves a gap before every 4th key (alex__place) */
#define ALEX_FIT_RETRY 60.0  /* a leaf fit costlier than this also tries fits without outliers */

typedef struct alex_node {
    uint8_t is_leaf;
    uint8_t dup; /* log2 of the aligned run of pointer slots this node owns in its parent */
} alex_node;

/* Inner node: a linear model routes a key to one of num_children (a power of two) pointers. */
typedef struct alex_model_node {
    alex_node hdr;
    uint32_t num_children;
    double a, b;
    int64_t base; /* the model predicts on key - base, so precision is kept for large keys */
    alex_node **children;
} alex_model_node;

/* Leaf: a gapped array; a gap holds a copy of the nearest real key to its right (INT64_MAX at the
 * tail), so keys[] is non-decreasing and a search needs no bitmap. */
typedef struct alex_data_node {
    alex_node hdr;
    int32_t cap;
    /* seqlock of the arrays' contents (alex_sync.c): odd while the writer inserts or erases in place;
     * the fields up to bitmap change only inside a structural change, which readers never overlap */
    uint32_t ver;
    double a, b;
    int64_t base;
    int64_t *keys;
    uint64_t *payloads;
    uint64_t *bitmap;
    int32_t num_keys;
    int32_t num_right_ood; /* inserts above max_key since the last rebuild */
    int32_t num_left_ood;
    int64_t min_key, max_key; /* extremes seen since the last rebuild (empty: max < min) */
    struct alex_data_node *prev, *next;
    /* empirical cost counters since the last rebuild (writer only) */
    uint64_t num_inserts, num_shifts, num_search_iters;
    double expected_cost;  /* per insert, search and shift parts together */
    double expected_shift; /* its shift part, weighted (scaled by the insert fraction) */
    /* sampled lookups since the last rebuild and their search steps: concurrent readers bump them
     * with relaxed atomic load + store (a lost sample under a race, never a data race); they sit
     * after the fields a lookup reads, so a sample rarely dirties the line readers share */
    uint64_t num_lookups, num_lookup_iters;
} alex_data_node;

/* Huge-page heap for the leaves' arrays (alex_arena.c). */
#define ALEX_ARENA_MIN ((uint64_t)2 << 20)   /* index bytes before leaf arrays move to the heap */
#define ALEX_ARENA_REGION ((size_t)32 << 20) /* default region size */
#define ALEX_ARENA_CLASSES 200               /* size classes up to 2^30 bytes; larger: malloc */
#define ALEX_ARENA_MAX_REGIONS 48
typedef struct alex_arena_region {
    unsigned char *base;
    size_t size;
    size_t used;        /* bytes bumped out of it */
    size_t live_bytes;  /* footprint of its blocks handed out and not released */
    int old;            /* being emptied by a repack: no block of it is handed out again */
} alex_arena_region;
typedef struct alex_arena {
    int on;                   /* leaf arrays come from here (else malloc) */
    size_t region_bytes;      /* size of the next region (a bulk load raises it) */
    alex_arena_region region[ALEX_ARENA_MAX_REGIONS];
    size_t nregions;
    size_t bump;              /* bytes handed out of the newest region */
    void *free_list[ALEX_ARENA_CLASSES];
    size_t live;              /* blocks handed out and not released */
    size_t reserved;          /* bytes of all regions (virtual; resident once touched) */
    size_t bumped;            /* bytes ever bumped: the heap's touched footprint */
    size_t free_bytes;        /* bumped bytes not in live arrays: free lists, and garbage in old regions */
    uint64_t compactions;     /* repacks finished: every array moved out of the regions it started with */
    /* incremental repack (alex_arena.c): a few hundred KB of leaves move per mutation */
    int repacking;
    int64_t rp_key;           /* next leaf to look at: the one a descent for this key reaches */
    int rp_started;           /* rp_key is set (else the first leaf) */
    unsigned rp_passes;       /* walks over the chain in this repack */
    uint64_t rp_steps, rp_moved; /* steps taken and bytes moved, since creation */
    int nohuge;               /* regions get MADV_NOHUGEPAGE instead (alex_params.huge_pages = 0) */
} alex_arena;

struct alex_index {
    alex_node *root;
    alex_arena arena;
    alex_params p;
    uint64_t num_keys;
    uint64_t bytes;
    uint64_t num_model_nodes, num_data_nodes;
    int64_t ood_left, ood_right;        /* out-of-domain inserts at the root since last expansion */
    int64_t ood_min_key, ood_max_key;   /* extremes of those keys */
    struct alex_model_node *repair_at;  /* node whose domain grew, for alex__repair (NULL: all) */
    int repair_pending;                 /* a growth happened and alex__repair has not run yet */
    uint64_t num_inserts, num_shifts, num_insert_steps, num_expansions, num_splits_sideways, num_splits_down;
    uint64_t num_contractions, num_root_expansions;
    /* lookup counters, striped by thread so concurrent readers rarely share a cache line;
     * bumped with relaxed load + store (a lost count under a race, never a data race) */
    struct {
        _Alignas(64) _Atomic uint64_t lookups;
        _Atomic uint64_t steps;
    } stripe[ALEX_STRIPES];
    /* concurrent readers (alex_sync.c) */
    _Alignas(64) _Atomic uint64_t smo_seq; /* odd while a structural change runs (readers wait) */
    int smo_active;                        /* writer: the current operation made smo_seq odd */
    int smo_hold;                          /* writer: alex_exclude_readers keeps it odd across operations */
    uint64_t num_smo, num_smo_waits;       /* structural sections; of them, ones that waited for a reader */
    pthread_mutex_t readers_mu;            /* the reader list and the closed readers' counters */
    struct alex_reader *readers;
    uint64_t closed_lookups, closed_steps;
};

/* A reading thread's registration (alex_sync.c): its own cache line, written by it alone except the
 * list link. */
struct alex_reader {
    _Alignas(64) _Atomic uint64_t active; /* 1 inside a read section */
    _Atomic uint64_t lookups, steps;      /* this reader's lookups and their search steps */
    unsigned tick;                        /* samples leaf lookups (every ALEX_LOOKUP_SAMPLE-th) */
    alex_index *ix;
    struct alex_reader *next;             /* ix->readers (under readers_mu) */
};

/* Relaxed atomic access to words a reader may load while the writer changes them in place (a leaf's
 * keys, payloads and bitmap): plain moves on x86, and no data race in the C11 (and TSan) sense. */
#define ALEX_LD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define ALEX_ST(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)

/* key - base as a double without int64 overflow. */
static inline double alex__rel(int64_t key, int64_t base)
{
    uint64_t d = (uint64_t)key - (uint64_t)base;
    return key >= base ? (double)d : -(double)((uint64_t)0 - d);
}

/* Clamp in double (NaN -> 0) before converting: (int) of an out-of-range double is UB. */
static inline int alex__clamp_pos(double p, int n)
{
    if (!(p >= 0.0))
        return 0;
    if (p >= (double)n)
        return n - 1;
    return (int)p;
}

/* THE routing function: lookup, bulk-load partitioning, splits and expansion all call this. */
static inline int alex__route(double a, double b, int64_t base, int n, int64_t key)
{
    return alex__clamp_pos(a * alex__rel(key, base) + b, n);
}

static inline int alex__mroute(const alex_model_node *m, int64_t key)
{
    return alex__route(m->a, m->b, m->base, (int)m->num_children, key);
}

/* A linear model key -> position, predicting on key - base. */
typedef struct alex_lm {
    double a, b;
    int64_t base;
} alex_lm;

static inline int alex__bit(const alex_data_node *d, int i)
{
    return (int)((ALEX_LD(d->bitmap[i >> 6]) >> (i & 63)) & 1u);
}

/* log2(d + 1), piecewise linear between powers of two (error < 0.09): cheap and stateless. */
static inline double alex__log2_1p(unsigned d)
{
    uint64_t x = (uint64_t)d + 1u;
    int e = 63 - __builtin_clzll(x);
    return (double)e + (double)(x - (1ull << e)) / (double)(1ull << e);
}

/* Model-based placement of n sorted keys into cap slots: the one rule alex__dn_build uses and
 * alex__expected_cost prices. A key goes to its predicted slot when that lies past the previous
 * key's slot, else right after it; but once such a run has fallen ALEX_RUN_DRIFT slots behind its
 * keys' predictions (a dense cluster that the leaf's one linear model maps onto a few slots),
 * every ALEX_RUN_GAP-th key leaves a gap before it. Packed, a cluster of m keys is one run of m
 * filled slots and every insert into it shifts ~m/4 of them (osm-like leaves held runs of 9,000);
 * with the gaps an insert finds one within a few slots, for keys a quarter further from their
 * prediction. Runs the model nearly resolves (uniform keys at density 0.7) stay as they were.
 * The last keys are packed at the end when the slots left run out. */
typedef struct alex_placer {
    long last, cap; /* slot of the previous key */
    long run;       /* keys placed right after the previous one, in a row */
    size_t n;
} alex_placer;

static inline void alex__placer_init(alex_placer *pl, size_t n, int cap)
{
    pl->last = -1;
    pl->cap = cap;
    pl->run = 0;
    pl->n = n;
}

/* Slot of the i-th key (0-based, in order), predicted at slot pred. */
static inline long alex__place(alex_placer *pl, long pred, size_t i)
{
    long pos;
    if (pred > pl->last) {
        pos = pred;
        pl->run = 0;
    } else if (++pl->run >= ALEX_RUN_GAP && pl->last + 1 - pred >= ALEX_RUN_DRIFT) {
        pos = pl->last + 2;
        pl->run = 0;
    } else {
        pos = pl->last + 1;
    }
    long room = pl->cap - (long)(pl->n - i);
    if (pos > room)
        pos = room;
    pl->last = pos;
    return pos;
}

/* First slot whose key is > key (cap if none): exponential search from the predicted slot m
 * toward the key, then binary search inside the last bracket. Adds the steps taken to *iters. */
static inline int alex__dn_ub_from(const alex_data_node *d, int64_t key, int m, uint64_t *iters)
{
    const int64_t *k = d->keys;
    int cap = d->cap;
    int lo, hi;
    unsigned it = 0;
    if (ALEX_LD(k[m]) > key) {
        int bound = 1;
        while (bound <= m && ALEX_LD(k[m - bound]) > key) {
            bound <<= 1;
            it++;
        }
        lo = bound <= m ? m - bound + 1 : 0;
        hi = m - (bound >> 1);
    } else {
        int bound = 1;
        while (m + bound < cap && ALEX_LD(k[m + bound]) <= key) {
            bound <<= 1;
            it++;
        }
        lo = m + (bound >> 1) + 1;
        hi = m + bound < cap ? m + bound : cap;
    }
    while (lo < hi) {
        int mid = lo + ((hi - lo) >> 1);
        if (ALEX_LD(k[mid]) > key)
            hi = mid;
        else
            lo = mid + 1;
        it++;
    }
    *iters += it;
    return lo;
}

static inline int alex__dn_upper_bound(const alex_data_node *d, int64_t key, uint64_t *iters)
{
    return alex__dn_ub_from(d, key, alex__route(d->a, d->b, d->base, d->cap, key), iters);
}

/* alex_model.c */
void alex__fit(const int64_t *keys, size_t n, int64_t base, double scale, double *a, double *b);
double alex__expected_cost(const int64_t *keys, size_t n, double a, double b, int64_t base, int cap);
double alex__leaf_cost(const int64_t *keys, size_t n, double density);
void alex__fit_leaf(const int64_t *keys, size_t n, int cap, alex_lm *m);
void alex__partition(const int64_t *keys, size_t n, double a, double b, int64_t base, int nb,
                     size_t *bounds);
int alex__cap_for(size_t n, double density, size_t max_slots);

/* alex_data_node.c */
alex_data_node *alex__dn_build(alex_index *ix, const int64_t *keys, const uint64_t *pays, size_t n,
                               int cap, const alex_lm *model);
void alex__dn_free(alex_index *ix, alex_data_node *d);
int alex__dn_find(const alex_data_node *d, int64_t key, uint64_t *iters);
int alex__dn_next_set(const alex_data_node *d, int i);
int alex__dn_prev_set(const alex_data_node *d, int i);
int alex__dn_insert(alex_data_node *d, int64_t key, uint64_t payload, int ub_hint, uint64_t hint_iters);
void alex__dn_erase_slot(alex_data_node *d, int slot);
size_t alex__dn_collect(const alex_data_node *d, int64_t *keys, uint64_t *pays);
enum { ALEX_RESIZE_AUTO = 0, ALEX_RESIZE_RETRAIN = 1, ALEX_RESIZE_KEEP_LEFT = 2, ALEX_RESIZE_KEEP_RIGHT = 3 };
int alex__dn_resize(alex_index *ix, alex_data_node *d, double density, int mode);
double alex__dn_empirical_cost(const alex_data_node *d);
double alex__dn_expected_cost(const alex_data_node *d);
size_t alex__dn_bytes(int cap);

/* alex_sync.c: structural changes against concurrent readers. The writer calls alex__smo_begin before
 * it changes anything a reader may read without a leaf's seqlock (model nodes, the root, a leaf's
 * header or chain links, freeing a node or array); it returns once no reader is inside a read
 * section, and readers that arrive wait until alex__smo_end (at the end of the public operation). */
void alex__smo_begin(alex_index *ix);
void alex__smo_end(alex_index *ix);
void alex__sync_init(alex_index *ix);
void alex__sync_destroy(alex_index *ix);
/* A short spin, then yielding the CPU (the thread waited for may be preempted on a busy machine). */
static inline void alex__pause(unsigned *spins)
{
    if (++*spins < 128) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
    } else {
        sched_yield();
    }
}
/* A leaf's seqlock, read side: the even version to read under (waiting out an insert in place), and
 * whether what was read since is still valid (no insert or erase touched the leaf meanwhile). */
static inline uint32_t alex__leaf_read_begin(const alex_data_node *d)
{
    unsigned spins = 0;
    uint32_t v;
    while ((v = __atomic_load_n(&d->ver, __ATOMIC_ACQUIRE)) & 1)
        alex__pause(&spins);
    return v;
}
static inline int alex__leaf_read_valid(const alex_data_node *d, uint32_t v)
{
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    return __atomic_load_n(&d->ver, __ATOMIC_RELAXED) == v;
}
/* Enter / leave a read section (no structural change overlaps one). */
void alex__read_wait(const alex_index *ix);
static inline void alex__read_enter(const alex_index *ix, struct alex_reader *r)
{
    for (;;) {
        atomic_store_explicit(&r->active, 1, memory_order_seq_cst);
        if (!(atomic_load_explicit(&ix->smo_seq, memory_order_seq_cst) & 1))
            return;
        atomic_store_explicit(&r->active, 0, memory_order_release);
        alex__read_wait(ix);
    }
}
static inline void alex__read_leave(struct alex_reader *r)
{
    atomic_store_explicit(&r->active, 0, memory_order_release);
}
/* A leaf's seqlock, writer side (in-place insert/erase). */
static inline void alex__dn_wbegin(alex_data_node *d)
{
    __atomic_store_n(&d->ver, d->ver + 1, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE);
}
static inline void alex__dn_wend(alex_data_node *d)
{
    __atomic_store_n(&d->ver, d->ver + 1, __ATOMIC_RELEASE);
}

/* alex_arena.c */
void alex__arena_open(alex_index *ix, size_t bytes);
void *alex__arena_alloc(alex_index *ix, size_t bytes, int zero);
int alex__arena_release(alex_index *ix, void *p, size_t bytes);
void alex__arena_seal(alex_index *ix);
void alex__arena_close(alex_index *ix);
/* After a mutation: start repacking the heap when a fifth of it is free, or take one repack step. */
void alex__arena_maybe_compact(alex_index *ix);
/* Run a repack in progress to its end (tests). */
void alex__arena_repack_finish(alex_index *ix);

/* alex_bulk_load.c */
alex_node *alex__build(alex_index *ix, const int64_t *keys, const uint64_t *pays, size_t n,
                       int force_model, unsigned depth, int64_t lo, int64_t hi, alex_data_node **first,
                       alex_data_node **last);

/* alex_tree.c (files below call only files below them: index -> smo -> expand -> tree -> bulk
 * load / data node -> model / arena) */
typedef struct alex_path {
    alex_model_node *node[ALEX_MAX_DEPTH];
    int slot[ALEX_MAX_DEPTH];
    int depth; /* number of model nodes above the leaf */
} alex_path;
alex_model_node *alex__mn_new(alex_index *ix, uint32_t nchildren);
void alex__mn_free(alex_index *ix, alex_model_node *m);
void alex__free_tree(alex_index *ix, alex_node *n);
alex_data_node *alex__descend(const alex_index *ix, int64_t key, alex_path *path);
alex_data_node *alex__first_leaf(const alex_index *ix);
alex_data_node *alex__last_leaf(const alex_index *ix);
void alex__set_run(alex_model_node *m, uint32_t start, unsigned log, alex_node *c);
uint32_t alex__run_start(const alex_model_node *m, const alex_node *c);
alex_data_node *alex__empty_leaf(alex_index *ix);
/* A leaf's keys and payloads copied out (malloc'd; alex__buf_free). */
typedef struct alex_buf {
    int64_t *keys;
    uint64_t *pays;
    size_t n;
} alex_buf;
int alex__collect(const alex_data_node *d, alex_buf *b);
void alex__buf_free(alex_buf *b);

/* What a structural change asks its caller to do next (never confused with ALEX_NOTFOUND/EXISTS:
 * these are private and distinct from every public status). */
enum alex_smo_result {
    ALEX_SMO_RETRY = 0,   /* the tree changed: descend again and retry the insert */
    ALEX_SMO_INSERT = 10, /* nothing changed: insert into the leaf as it is, shifting */
    ALEX_SMO_REPAIR = 11, /* a key domain grew: run alex__repair, then retry */
};

/* alex_expand.c */
int alex__merge_empty(alex_index *ix, alex_data_node *leaf, alex_path *path);
int alex__expand_node(alex_index *ix, alex_model_node *m, int right, double p_out, int is_root);
int alex__root_expand_maybe(alex_index *ix, int64_t key);

/* alex_smo.c */
int alex__insert_full(alex_index *ix, alex_data_node *leaf, alex_path *path, int edge, int must);

/* alex_index.c */
int alex__insert_impl(alex_index *ix, int64_t key, uint64_t payload);
int alex__repair(alex_index *ix);

#endif
