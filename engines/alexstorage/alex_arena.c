/* alex_arena.c - a huge-page heap for the data nodes' arrays (keys, payloads, bitmaps): lookups take
 * far fewer TLB misses when the arrays sit in 2 MiB pages (PERFORMANCE.md: alex_find ~240 -> ~140 ns
 * at 1M keys on a VM with nested paging).
 *
 * Every leaf array is made here once the index holds ALEX_ARENA_MIN bytes of them (a bulk load that
 * big turns it on at once), by inserts, resizes and splits as well as bulk loads: an index built by
 * random inserts gets huge pages too, not only one rebuilt from a checkpoint or the log. Below that,
 * malloc serves them, so a small index never costs a 2 MiB page.
 *
 * Layout: regions of >= ALEX_ARENA_REGION bytes, 2 MiB aligned, MAP_NORESERVE + MADV_HUGEPAGE (only
 * touched pages become resident). A request is rounded up to a size class (eight per power of two,
 * so at most 12.5 % rounding) and served from that class's free list, else bumped from the newest region.
 * Freed blocks go back to their class's list and are reused by later arrays of that class; a region
 * goes back to the system when an incremental repack (below) has emptied it, or when the index is
 * destroyed. Writer-only, like every mutation; a block is released and a region unmapped only inside
 * a structural section, with no shared reader in flight (alex_sync.c). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "alex_internal.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define ALEX_ARENA_POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define ALEX_ARENA_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define ALEX_ARENA_POISON(p, n) ((void)(p), (void)(n))
#define ALEX_ARENA_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define ALEX_HUGE ((size_t)2 << 20)
#define ALEX_ARENA_MIN_CLASS 64u /* arrays start on cache lines */

/* Size class of a request: 64, then eight steps per power of two (72, 80, ..., 128, 144, ...): at
 * most 12.5 % rounding. */
static unsigned alex_arena_class(size_t bytes, size_t *class_bytes)
{
    if (bytes <= ALEX_ARENA_MIN_CLASS) {
        *class_bytes = ALEX_ARENA_MIN_CLASS;
        return 0;
    }
    unsigned k = 63u - (unsigned)__builtin_clzll((unsigned long long)(bytes - 1)); /* 2^k < bytes <= 2^(k+1) */
    size_t step = (size_t)1 << (k - 3);
    size_t steps = (bytes - ((size_t)1 << k) + step - 1) / step; /* 1..8 */
    *class_bytes = ((size_t)1 << k) + steps * step;
    return (k - 6u) * 8u + (unsigned)steps; /* k >= 6 here: 64 < bytes */
}

/* Under ASan one poisoned cache line separates neighbours, so an overrun is caught. */
static size_t alex_arena_gap(void)
{
#if defined(__SANITIZE_ADDRESS__)
    return ALEX_ARENA_MIN_CLASS;
#else
    return 0;
#endif
}

static int alex_arena_add_region(alex_arena *a, size_t need)
{
    size_t bytes = need > a->region_bytes ? need : a->region_bytes;
    if (bytes < a->reserved / 2)
        bytes = a->reserved / 2; /* geometric growth: few regions, so release's search stays short */
    bytes = (bytes + ALEX_HUGE - 1) & ~(ALEX_HUGE - 1);
    if (a->nregions == ALEX_ARENA_MAX_REGIONS)
        return -1;
    size_t span = bytes + ALEX_HUGE;
    unsigned char *p = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return -1;
    uintptr_t start = ((uintptr_t)p + ALEX_HUGE - 1) & ~(uintptr_t)(ALEX_HUGE - 1);
    size_t head = start - (uintptr_t)p, tail = span - head - bytes;
    if (head)
        munmap(p, head);
    if (tail)
        munmap((unsigned char *)start + bytes, tail);
    /* a hint: without THP it is only slower */
    (void)madvise((void *)start, bytes, a->nohuge ? MADV_NOHUGEPAGE : MADV_HUGEPAGE);
    ALEX_ARENA_POISON((void *)start, bytes);
    a->region[a->nregions] = (alex_arena_region){ (unsigned char *)start, bytes, 0, 0, 0 };
    a->nregions++;
    a->bump = 0; /* the tail of the previous region stays unused: at most one class block */
    a->reserved += bytes;
    return 0;
}

/* A bulk load of about `bytes` of arrays is coming: turn the heap on and size the next region. */
void alex__arena_open(alex_index *ix, size_t bytes)
{
    alex_arena *a = &ix->arena;
    a->on = 1;
    if (bytes > a->region_bytes)
        a->region_bytes = bytes;
}

/* Index of the region holding p, or -1. */
static int alex_arena_region_of(const alex_arena *a, const void *p)
{
    const unsigned char *c = p;
    for (size_t i = 0; i < a->nregions; i++)
        if (c >= a->region[i].base && c < a->region[i].base + a->region[i].size)
            return (int)i;
    return -1;
}

/* `bytes` of heap memory (zeroed if zero is set), or NULL: the caller mallocs (heap off or no room). */
void *alex__arena_alloc(alex_index *ix, size_t bytes, int zero)
{
    alex_arena *a = &ix->arena;
    if (!a->on && ix->bytes >= ALEX_ARENA_MIN)
        a->on = 1;
    if (!a->on || bytes == 0)
        return NULL;
    if (a->region_bytes == 0)
        a->region_bytes = ALEX_ARENA_REGION;
    size_t cb;
    unsigned c = alex_arena_class(bytes, &cb);
    if (c >= ALEX_ARENA_CLASSES)
        return NULL;
    size_t fp = cb + alex_arena_gap();
    unsigned char *p = a->free_list[c];
    int fresh = 0;
    alex_arena_region *r;
    if (p != NULL) {
        ALEX_ARENA_UNPOISON(p, sizeof(void *));
        memcpy(&a->free_list[c], p, sizeof(void *));
        a->free_bytes -= fp;
        r = &a->region[alex_arena_region_of(a, p)];
    } else {
        r = a->nregions ? &a->region[a->nregions - 1] : NULL;
        if (r == NULL || r->old || r->size - a->bump < fp) {
            if (alex_arena_add_region(a, fp) != 0)
                return NULL;
            r = &a->region[a->nregions - 1];
        }
        p = r->base + a->bump;
        a->bump += fp;
        a->bumped += fp;
        r->used += fp;
        fresh = 1; /* never handed out before: still the zero pages mmap gave */
    }
    r->live_bytes += fp;
    ALEX_ARENA_UNPOISON(p, bytes);
    if (zero && !fresh)
        memset(p, 0, bytes);
    a->live++;
    return p;
}

/* Unmap region i (an old one with nothing live left): its bytes leave the footprint. */
static void alex_arena_drop_region(alex_arena *a, size_t i)
{
    alex_arena_region r = a->region[i];
    ALEX_ARENA_UNPOISON(r.base, r.size);
    munmap(r.base, r.size);
    a->bumped -= r.used;
    a->free_bytes -= r.used;
    a->reserved -= r.size;
    for (size_t j = i + 1; j < a->nregions; j++) /* the newest (bump) region stays last */
        a->region[j - 1] = a->region[j];
    a->nregions--;
}

/* 1 if p (an array of `bytes`) was heap memory and is now released (on its free list, or garbage of
 * an old region, which is unmapped once nothing of it is live), 0 if the caller must free() it.
 * Concurrent readers: only ever called inside a structural section (alex_sync.c). */
int alex__arena_release(alex_index *ix, void *p, size_t bytes)
{
    alex_arena *a = &ix->arena;
    unsigned char *c = p;
    int i = alex_arena_region_of(a, c);
    if (i < 0)
        return 0;
    size_t cb;
    unsigned k = alex_arena_class(bytes, &cb);
    size_t fp = cb + alex_arena_gap();
    alex_arena_region *r = &a->region[i];
    r->live_bytes -= fp;
    a->free_bytes += fp;
    a->live--;
    ALEX_ARENA_POISON(c, cb);
    if (r->old) {
        if (r->live_bytes == 0)
            alex_arena_drop_region(a, (size_t)i);
        return 1;
    }
    ALEX_ARENA_UNPOISON(c, sizeof(void *));
    memcpy(c, &a->free_list[k], sizeof(void *));
    ALEX_ARENA_POISON(c, sizeof(void *));
    a->free_list[k] = c;
    return 1;
}

/* End of a bulk load: later regions go back to the default size. */
void alex__arena_seal(alex_index *ix) { ix->arena.region_bytes = ALEX_ARENA_REGION; }

void alex__arena_close(alex_index *ix)
{
    alex_arena *a = &ix->arena;
    for (size_t i = 0; i < a->nregions; i++) {
        ALEX_ARENA_UNPOISON(a->region[i].base, a->region[i].size);
        munmap(a->region[i].base, a->region[i].size);
    }
    memset(a, 0, sizeof(*a));
}

/* ---- repacking: the load's resizes free arrays of every size on the way up, and blocks of a
 * class nobody asks for again would sit on free lists forever (measured: a 1M-key index built by
 * random inserts held 64 heap bytes per key for 25 bytes of arrays). Once a fifth of the heap is
 * free, a repack starts: every region there is becomes old (its free lists are dropped, nothing is
 * handed out of it again), a fresh region takes new arrays, and each mutation after that moves the
 * arrays of a few leaves (ALEX_ARENA_STEP_BYTES) out of old regions, in key order from a cursor.
 * An old region is unmapped as soon as nothing in it is live (moved or freed). Each byte moved pays
 * for at least a quarter byte freed, so the copying stays a fraction of the work that freed it, and
 * no single mutation copies more than a step (the whole-heap copy of one put is gone: about 250 MB at
 * 10M keys). A step changes leaves' array pointers, so it runs as a structural section: readers
 * are waited out for the few tens of microseconds it takes. */

#define ALEX_ARENA_COMPACT_MIN ((size_t)4 << 20) /* below this much garbage it is not worth a copy */
#define ALEX_ARENA_STEP_BYTES ((size_t)256 << 10) /* array bytes moved per mutation while repacking */
#define ALEX_ARENA_STEP_LEAVES 1024u              /* leaves looked at per step at most */

/* Start a repack: every region becomes old, a fresh one (sized for what is live) takes new arrays.
 * 0, or -1 (no room: nothing changed). */
static int alex_arena_repack_start(alex_index *ix)
{
    alex_arena *a = &ix->arena;
    size_t live = a->bumped - a->free_bytes, n = a->nregions;
    size_t keep = a->region_bytes;
    a->region_bytes = live + ALEX_HUGE;
    int rc = alex_arena_add_region(a, live + ALEX_HUGE);
    a->region_bytes = keep;
    if (rc != 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        a->region[i].old = 1;
    memset(a->free_list, 0, sizeof(a->free_list)); /* their blocks stay counted in free_bytes */
    a->repacking = 1;
    a->rp_started = 0;
    a->rp_passes = 0;
    for (size_t i = 0; i < n;) /* regions with nothing live go at once */
        if (a->region[i].live_bytes == 0) {
            alex_arena_drop_region(a, i);
            n--;
        } else {
            i++;
        }
    return 0;
}

/* Move one array out of an old region; the bytes moved (0: not in an old region, or no room). */
static size_t alex_arena_move(alex_index *ix, void **arr, size_t bytes)
{
    alex_arena *a = &ix->arena;
    int i = *arr == NULL ? -1 : alex_arena_region_of(a, *arr);
    if (i < 0 || !a->region[i].old)
        return 0;
    void *np = alex__arena_alloc(ix, bytes, 0);
    if (np == NULL)
        return 0;
    memcpy(np, *arr, bytes);
    void *op = *arr;
    *arr = np;
    alex__arena_release(ix, op, bytes);
    return bytes;
}

static size_t alex_arena_move_leaf(alex_index *ix, alex_data_node *d)
{
    size_t cap = (size_t)d->cap, words = (cap + 63) / 64;
    return alex_arena_move(ix, (void **)&d->keys, cap * 8u) + alex_arena_move(ix, (void **)&d->payloads, cap * 8u) +
           alex_arena_move(ix, (void **)&d->bitmap, words * 8u);
}

static int alex_arena_any_old(const alex_arena *a)
{
    for (size_t i = 0; i < a->nregions; i++)
        if (a->region[i].old)
            return 1;
    return 0;
}

static const alex_data_node *alex_arena_leaf_for(const alex_index *ix, int started, int64_t key)
{
    const alex_node *n = ix->root;
    while (!n->is_leaf) {
        const alex_model_node *m = (const alex_model_node *)n;
        n = m->children[started ? alex__mroute(m, key) : 0];
    }
    return (const alex_data_node *)n;
}

/* One step: from the cursor, move leaves' arrays out of old regions until a step's bytes (or
 * leaves) are done; the cursor becomes the first key of the next leaf with keys. At the end of the
 * chain, the repack ends if no old region is left, else another pass starts (a leaf whose key range
 * moved left of the cursor). */
static void alex_arena_repack_step(alex_index *ix)
{
    alex_arena *a = &ix->arena;
    alex__smo_begin(ix); /* leaves' array pointers change and old regions are unmapped */
    alex_data_node *d = (alex_data_node *)alex_arena_leaf_for(ix, a->rp_started, a->rp_key);
    size_t moved = 0;
    unsigned seen = 0;
    for (; d != NULL && moved < ALEX_ARENA_STEP_BYTES && seen < ALEX_ARENA_STEP_LEAVES; d = d->next, seen++)
        moved += alex_arena_move_leaf(ix, d);
    while (d != NULL && d->num_keys == 0) { /* the cursor needs a key that routes to its leaf */
        moved += alex_arena_move_leaf(ix, d);
        d = d->next;
    }
    a->rp_steps++;
    a->rp_moved += moved;
    if (d != NULL) {
        a->rp_key = d->keys[alex__dn_next_set(d, 0)];
        a->rp_started = 1;
        return;
    }
    a->rp_started = 0; /* the chain's end */
    if (alex_arena_any_old(a) && ++a->rp_passes < 3)
        return;
    /* done; old regions still holding something after three passes (arrays this heap cannot
     * place: out of regions) just stay, a later repack tries again */
    for (size_t i = 0; i < a->nregions; i++)
        a->region[i].old = 0;
    a->repacking = 0;
    a->compactions++;
}

/* Every old region emptied now (tests; a repack in progress runs to its end in steps). */
void alex__arena_repack_finish(alex_index *ix)
{
    while (ix->arena.repacking)
        alex_arena_repack_step(ix);
}

void alex__arena_maybe_compact(alex_index *ix)
{
    alex_arena *a = &ix->arena;
    if (a->repacking) {
        alex_arena_repack_step(ix);
        return;
    }
    if (a->free_bytes >= ALEX_ARENA_COMPACT_MIN && a->free_bytes * 5 >= a->bumped &&
        alex_arena_repack_start(ix) == 0)
        alex_arena_repack_step(ix);
}
