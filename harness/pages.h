/* pages.h - the run's page policy applied to the process (allocator, THP switch) and what the kernel gave. */
#ifndef KVB_PAGES_H
#define KVB_PAGES_H

#include "engine.h"

#include <stdint.h>

/* 2 MiB-mapped memory of this process, from /proc/self/smaps_rollup (kB). */
typedef struct kvb_pages_sample {
    int ok; /* 0: smaps_rollup unreadable (counters are 0) */
    uint64_t anon_huge_kb, file_pmd_kb, shmem_pmd_kb;
} kvb_pages_sample;

/* Read the three counters now. Returns 0, or -1 (out->ok = 0) when /proc cannot tell. */
int kvb_pages_sample_now(kvb_pages_sample *out);

/* jemalloc reads its THP setting once, at start-up, so the policy must be in MALLOC_CONF before the
 * process starts: when jemalloc runs with another setting, re-execute this program (/proc/self/exe,
 * argv unchanged) with MALLOC_CONF extended by thp:always,metadata_thp:always (huge) or thp:never (4k).
 * Returns only when no re-execution is needed or possible (then the result records what jemalloc ran
 * with); argv must be the untouched original. */
void kvb_pages_apply_allocator(enum kv_pages p, char **argv);

/* In a repetition's process, before the engine opens: under 4k, PR_SET_THP_DISABLE, so no mapping of
 * this process gets a PMD (anonymous, shmem or file) whatever the engine asks. Returns 0 or -1. */
int kvb_pages_enter_rep(enum kv_pages p);

/* What the allocator does with THP: jemalloc's opt.thp ("always", "never", "default"), or why unknown. */
const char *kvb_pages_malloc_thp(void);

#endif
