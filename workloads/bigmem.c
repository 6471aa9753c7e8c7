/* bigmem.c - zeroed, huge-page-backed allocations for the data set's random-access arrays. */
#include "wl_internal.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#define KV_HUGE (2u << 20)
#define KV_BIG (4u << 20) /* smaller arrays come from calloc: a huge page each would waste memory */

/* The arrays of a 10M-key data set are hit at random by key generation, lookups and op streams;
 * with 4 KiB pages nearly every access also misses the TLB, so the mapping is 2 MiB aligned and
 * advised for transparent huge pages (a no-op where THP is off). */
void *kv__big_alloc(size_t size)
{
    if (size < KV_BIG) {
        void *q = calloc(1, size ? size : 1);
        if (!q)
            errno = ENOMEM;
        return q;
    }
    size_t len = (size + KV_HUGE - 1) & ~(size_t)(KV_HUGE - 1);
    unsigned char *p = mmap(NULL, len + KV_HUGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        errno = ENOMEM;
        return NULL;
    }
    uintptr_t a = ((uintptr_t)p + KV_HUGE - 1) & ~(uintptr_t)(KV_HUGE - 1);
    size_t head = a - (uintptr_t)p;
    if (head)
        munmap(p, head);
    if (KV_HUGE - head)
        munmap((unsigned char *)a + len, KV_HUGE - head);
    madvise((void *)a, len, MADV_HUGEPAGE);
    return (void *)a;
}

void kv__big_free(void *p, size_t size)
{
    if (!p)
        return;
    if (size < KV_BIG) {
        free(p);
        return;
    }
    size_t len = (size + KV_HUGE - 1) & ~(size_t)(KV_HUGE - 1);
    munmap(p, len);
}
