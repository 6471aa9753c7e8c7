/* alex_arena.c - one huge-page region per bulk load for the data nodes' arrays: lookups then take far
 * fewer TLB misses (measured in PERFORMANCE.md: alex_find ~240 -> ~140 ns at 1M keys).
 *
 * Why only bulk load: it builds every leaf once, in one pass, with a known key count, so a bump
 * allocator with no free list fits it exactly. Arrays made later (inserts, resizes, splits) come from
 * malloc; when a bulk-loaded array is replaced its arena bytes are not reused, and the region is
 * unmapped once no array in it is live. The waste is therefore bounded by one bulk load's arrays. */
#include <stdint.h>
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
#define ALEX_ARENA_ALIGN 64u /* arrays start on cache lines; under ASan one poisoned line separates them */

static size_t alex_arena_gap(void)
{
#if defined(__SANITIZE_ADDRESS__)
    return ALEX_ARENA_ALIGN;
#else
    return 0;
#endif
}

/* Reserve (virtual only: MAP_NORESERVE, untouched pages cost nothing) a 2 MiB-aligned region. A
 * failed mmap or madvise just leaves the arena off: malloc serves every array as before. */
void alex__arena_open(alex_index *ix, size_t bytes)
{
    alex_arena *a = &ix->arena;
    if (a->base != NULL || bytes < ALEX_HUGE)
        return;
    bytes = (bytes + ALEX_HUGE - 1) & ~(ALEX_HUGE - 1);
    size_t span = bytes + ALEX_HUGE;
    unsigned char *p = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return;
    uintptr_t start = ((uintptr_t)p + ALEX_HUGE - 1) & ~(uintptr_t)(ALEX_HUGE - 1);
    size_t head = start - (uintptr_t)p, tail = span - head - bytes;
    if (head)
        munmap(p, head);
    if (tail)
        munmap((unsigned char *)start + bytes, tail);
    (void)madvise((void *)start, bytes, MADV_HUGEPAGE); /* a hint: without THP it is only slower */
    a->base = (unsigned char *)start;
    a->size = bytes;
    a->used = 0;
    a->live = 0;
    a->open = 1;
    ALEX_ARENA_POISON(a->base, a->size);
}

static void alex_arena_unmap(alex_arena *a)
{
    if (a->base == NULL)
        return;
    ALEX_ARENA_UNPOISON(a->base, a->size);
    munmap(a->base, a->size);
    a->base = NULL;
    a->size = a->used = a->live = 0;
    a->open = 0;
}

/* Zeroed bytes from the open arena, or NULL (closed or full: the caller mallocs). */
void *alex__arena_alloc(alex_index *ix, size_t bytes)
{
    alex_arena *a = &ix->arena;
    if (!a->open || bytes == 0)
        return NULL;
    size_t need = (bytes + ALEX_ARENA_ALIGN - 1) & ~(size_t)(ALEX_ARENA_ALIGN - 1);
    if (need > a->size - a->used || a->size - a->used - need < alex_arena_gap())
        return NULL;
    void *p = a->base + a->used;
    a->used += need + alex_arena_gap();
    a->live++;
    ALEX_ARENA_UNPOISON(p, bytes);
    return p; /* fresh anonymous pages are zero and the arena never hands bytes out twice */
}

/* 1 if p was arena memory (and is now released), 0 if the caller must free() it. */
int alex__arena_release(alex_index *ix, const void *p)
{
    alex_arena *a = &ix->arena;
    const unsigned char *c = p;
    if (a->base == NULL || c < a->base || c >= a->base + a->size)
        return 0;
    a->live--;
    if (a->live == 0 && !a->open)
        alex_arena_unmap(a);
    return 1;
}

/* End of the bulk load: no more allocations; unmap now if nothing ended up in it. */
void alex__arena_seal(alex_index *ix)
{
    alex_arena *a = &ix->arena;
    a->open = 0;
    if (a->live == 0)
        alex_arena_unmap(a);
}

void alex__arena_close(alex_index *ix) { alex_arena_unmap(&ix->arena); }
