/* pages.c - applies the run's page policy to the process and reads what the kernel really gave it. */
#include "pages.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

/* jemalloc's control interface; absent (NULL) when the build uses another allocator (sanitizers). */
extern int mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen)
    __attribute__((weak));

#define KVB_PAGES_ENV "KVBENCH_PAGES_EXEC" /* the thp setting asked for by a re-execution: never loop */

int kvb_pages_sample_now(kvb_pages_sample *out)
{
    memset(out, 0, sizeof(*out));
    FILE *f = fopen("/proc/self/smaps_rollup", "r");
    if (!f)
        return -1;
    char line[256];
    while (fgets(line, sizeof(line), f)) {
        unsigned long long kb;
        if (sscanf(line, "AnonHugePages: %llu kB", &kb) == 1)
            out->anon_huge_kb = kb;
        else if (sscanf(line, "FilePmdMapped: %llu kB", &kb) == 1)
            out->file_pmd_kb = kb;
        else if (sscanf(line, "ShmemPmdMapped: %llu kB", &kb) == 1)
            out->shmem_pmd_kb = kb;
    }
    fclose(f);
    /* kernels without THP print none of these lines: zero is then the truth, and still a reading */
    out->ok = 1;
    return 0;
}

const char *kvb_pages_malloc_thp(void)
{
    if (!mallctl)
        return "not jemalloc (sanitizer build): the heap follows the kernel's THP mode";
    const char *v = NULL;
    size_t len = sizeof(v);
    if (mallctl("opt.thp", &v, &len, NULL, 0) != 0 || !v)
        return "unknown (jemalloc has no opt.thp)";
    return v;
}

void kvb_pages_apply_allocator(enum kv_pages p, char **argv)
{
    const char *want = p == KV_PAGES_HUGE ? "always" : "never";
    const char *have = kvb_pages_malloc_thp();
    const char *tried = getenv(KVB_PAGES_ENV); /* this policy was already asked for: do not loop */
    if (!mallctl || strcmp(have, want) == 0 || (tried && strcmp(tried, want) == 0))
        return;
    if (access("/sys/kernel/mm/transparent_hugepage/enabled", F_OK) != 0)
        return; /* no THP in this kernel: jemalloc cannot honour either setting */
    const char *old = getenv("MALLOC_CONF");
    char conf[1024];
    /* later keys win in jemalloc's option parsing: the user's own settings stay, ours decide THP */
    snprintf(conf, sizeof(conf), "%s%sthp:%s,metadata_thp:%s", old && *old ? old : "", old && *old ? "," : "",
             want, p == KV_PAGES_HUGE ? "always" : "disabled");
    if (setenv("MALLOC_CONF", conf, 1) != 0 || setenv(KVB_PAGES_ENV, want, 1) != 0)
        return;
    fflush(stdout);
    fflush(stderr);
    execv("/proc/self/exe", argv);
    /* exec failed (no /proc?): go on with the heap as it is; results record opt.thp */
    fprintf(stderr, "kvbench: note: cannot re-execute to set jemalloc thp:%s (%s); the heap keeps thp:%s\n",
            want, strerror(errno), have);
}

int kvb_pages_enter_rep(enum kv_pages p)
{
    if (p != KV_PAGES_4K)
        return 0;
    return prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) == 0 ? 0 : -1;
}
