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
 * Freed blocks go back to their class's list and are reused by later arrays of that class; regions
 * are returned to the system only when the index is destroyed. Writer-only, like every mutation. */
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
    a->region[a->nregions].base = (unsigned char *)start;
    a->region[a->nregions].size = bytes;
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
    unsigned char *p = a->free_list[c];
    int fresh = 0;
    if (p != NULL) {
        ALEX_ARENA_UNPOISON(p, sizeof(void *));
        memcpy(&a->free_list[c], p, sizeof(void *));
        a->free_bytes -= cb;
    } else {
        size_t need = cb + alex_arena_gap();
        alex_arena_region *r = a->nregions ? &a->region[a->nregions - 1] : NULL;
        if (r == NULL || r->size - a->bump < need) {
            if (alex_arena_add_region(a, need) != 0)
                return NULL;
            r = &a->region[a->nregions - 1];
        }
        p = r->base + a->bump;
        a->bump += need;
        a->bumped += need;
        fresh = 1; /* never handed out before: still the zero pages mmap gave */
    }
    ALEX_ARENA_UNPOISON(p, bytes);
    if (zero && !fresh)
        memset(p, 0, bytes);
    a->live++;
    return p;
}

/* 1 if p lies in one of the n regions r. */
static int alex_arena_owns(const alex_arena_region *r, size_t n, const void *p)
{
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++)
        if (c >= r[i].base && c < r[i].base + r[i].size)
            return 1;
    return 0;
}

/* 1 if p (an array of `bytes`) was heap memory and is now on its free list, 0 if the caller must
 * free() it. */
int alex__arena_release(alex_index *ix, void *p, size_t bytes)
{
    alex_arena *a = &ix->arena;
    unsigned char *c = p;
    if (!alex_arena_owns(a->region, a->nregions, c))
        return 0;
    size_t cb;
    unsigned k = alex_arena_class(bytes, &cb);
    ALEX_ARENA_POISON(c, cb);
    ALEX_ARENA_UNPOISON(c, sizeof(void *));
    memcpy(c, &a->free_list[k], sizeof(void *));
    ALEX_ARENA_POISON(c, sizeof(void *));
    a->free_list[k] = c;
    a->free_bytes += cb;
    a->live--;
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

/* ---- compaction: the load's resizes free arrays of every size on the way up, and blocks of a
 * class nobody asks for again would sit on free lists forever (measured: a 1M-key index built by
 * random inserts held 64 heap bytes per key for 25 bytes of arrays). Once a fifth of the heap is
 * free, every leaf's arrays move into one new region, packed, and the old regions are unmapped.
 * Each byte moved pays for at least a quarter byte freed, so the copying stays a fraction of the
 * work that freed it. Runs inside a mutation, so readers are already excluded. */

#define ALEX_ARENA_COMPACT_MIN ((size_t)4 << 20) /* below this much garbage it is not worth a copy */

static const alex_data_node *alex_arena_first_leaf(const alex_index *ix)
{
    const alex_node *n = ix->root;
    while (n != NULL && !n->is_leaf)
        n = ((const alex_model_node *)n)->children[0];
    return (const alex_data_node *)n;
}

/* Bytes the moved copy of an array of `bytes` takes in the new region (class size + ASan gap). */
static size_t alex_arena_footprint(size_t bytes)
{
    size_t cb;
    (void)alex_arena_class(bytes, &cb);
    return cb + alex_arena_gap();
}

/* Move one array (if it is heap memory) into the new region; 0, or -1 if it had to stay. */
static int alex_arena_move(alex_index *ix, const alex_arena *old, void **arr, size_t bytes)
{
    if (*arr == NULL || !alex_arena_owns(old->region, old->nregions, *arr))
        return 0;
    void *np = alex__arena_alloc(ix, bytes, 0);
    if (np == NULL)
        return -1;
    memcpy(np, *arr, bytes);
    *arr = np;
    return 0;
}

static void alex_arena_compact(alex_index *ix)
{
    alex__smo_begin(ix); /* every leaf's arrays move and the old regions are unmapped */
    alex_arena *a = &ix->arena;
    size_t need = 0;
    for (const alex_data_node *d = alex_arena_first_leaf(ix); d != NULL; d = d->next) {
        size_t cap = (size_t)d->cap, words = (cap + 63) / 64;
        need += alex_arena_owns(a->region, a->nregions, d->keys) ? alex_arena_footprint(cap * 8u) : 0;
        need += alex_arena_owns(a->region, a->nregions, d->payloads) ? alex_arena_footprint(cap * 8u) : 0;
        need += alex_arena_owns(a->region, a->nregions, d->bitmap) ? alex_arena_footprint(words * 8u) : 0;
    }
    alex_arena old = *a;
    memset(a->free_list, 0, sizeof(a->free_list));
    a->nregions = 0;
    a->bump = a->reserved = a->bumped = a->free_bytes = a->live = 0;
    a->region_bytes = need;
    if (need == 0 || alex_arena_add_region(a, need) != 0) {
        *a = old; /* no room for the copy: keep everything where it is */
        return;
    }
    a->region_bytes = ALEX_ARENA_REGION;
    int stuck = 0;
    for (alex_data_node *d = (alex_data_node *)alex_arena_first_leaf(ix); d != NULL; d = d->next) {
        size_t cap = (size_t)d->cap, words = (cap + 63) / 64;
        stuck |= alex_arena_move(ix, &old, (void **)&d->keys, cap * 8u);
        stuck |= alex_arena_move(ix, &old, (void **)&d->payloads, cap * 8u);
        stuck |= alex_arena_move(ix, &old, (void **)&d->bitmap, words * 8u);
    }
    if (stuck && a->nregions + old.nregions <= ALEX_ARENA_MAX_REGIONS) {
        /* cannot happen with `need` computed above; if it did, the arrays left behind stay valid */
        for (size_t i = 0; i < old.nregions; i++)
            a->region[a->nregions++] = old.region[i];
        a->reserved += old.reserved;
        return;
    }
    for (size_t i = 0; i < old.nregions; i++) {
        ALEX_ARENA_UNPOISON(old.region[i].base, old.region[i].size);
        munmap(old.region[i].base, old.region[i].size);
    }
    a->compactions = old.compactions + 1;
}

void alex__arena_maybe_compact(alex_index *ix)
{
    alex_arena *a = &ix->arena;
    if (a->free_bytes >= ALEX_ARENA_COMPACT_MIN && a->free_bytes * 5 >= a->bumped)
        alex_arena_compact(ix);
}
