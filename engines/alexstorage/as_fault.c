/* as_fault.c - test-only fault injection: make the Nth pwrite or fdatasync of one store fail (env AS_FAULT). */
#include "as_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *const as_sync_site_names[AS_SITE__N] = {"write", "group", "rotate", "newseg", "ckptlog",
                                                    "ckptfile", "compact", "bulk", "sync", "close"};

/* "sync@<site>=N" (or "=+N"): arm the Nth sync at one site (enum as_sync_site). */
static void as_fault_parse_sites(as_fault *f, const char *e)
{
    for (int k = 0; k < AS_SITE__N; k++) {
        char name[32];
        snprintf(name, sizeof(name), "sync@%s=", as_sync_site_names[k]);
        const char *p = strstr(e, name);
        if (!p)
            continue;
        p += strlen(name);
        if (*p == '+') {
            f->site_sticky[k] = 1;
            p++;
        }
        atomic_store(&f->site_left[k], strtoll(p, NULL, 10));
        f->site_armed[k] = 1;
        f->armed = 1;
    }
}

/* AS_FAULT="write=N,sync=M,errno=E": the Nth segment pwrite / Mth fdatasync counted from as_open fails
 * with errno E (default EIO); "sync=+M" fails the Mth and every later one (a disk that went bad);
 * "sync@rotate=N" counts only the syncs at one site (names in as_sync_site_names); "delay_us=D" makes
 * every sync take D microseconds longer (a slow device, for group-commit tests on tmpfs);
 * "compact_step=BYTES" / "ckpt_step=PAIRS" make background maintenance's steps tiny (tests: many holds).
 * Unset (the normal case) costs one branch per call. Read once per as_open: per store, no globals. */
void as_fault_init(as_fault *f)
{
    memset(f, 0, sizeof(*f));
    f->err = EIO;
    const char *e = getenv("AS_FAULT");
    if (!e || !*e)
        return;
    const char *names[AS_FAULT__N] = {"write=", "sync="};
    for (int k = 0; k < AS_FAULT__N; k++) {
        const char *p = strstr(e, names[k]);
        while (p && p > e && p[-1] == '@') /* "sync@site=" is not "sync=" */
            p = strstr(p + 1, names[k]);
        if (!p)
            continue;
        p += strlen(names[k]);
        if (*p == '+') {
            f->sticky[k] = 1;
            p++;
        }
        atomic_store(&f->left[k], strtoll(p, NULL, 10));
        f->armed = 1;
    }
    as_fault_parse_sites(f, e);
    const char *cs = strstr(e, "compact_step="), *ks = strstr(e, "ckpt_step=");
    if (cs)
        f->compact_step = strtoull(cs + 13, NULL, 10);
    if (ks)
        f->ckpt_step = strtoull(ks + 10, NULL, 10);
    const char *d = strstr(e, "delay_us=");
    if (d) {
        f->sync_delay_us = atoi(d + 9);
        f->armed = 1;
    }
    const char *p = strstr(e, "errno=");
    if (p)
        f->err = atoi(p + 6);
}

int as_fault_hit(as_fault *f, int kind)
{
    if (!f || !f->armed)
        return 0;
    int64_t left = atomic_fetch_sub(&f->left[kind], 1) - 1;
    if (left == 0 || (left < 0 && f->sticky[kind])) {
        atomic_fetch_add(&f->fired, 1);
        return f->err;
    }
    return 0;
}

int as_fault_hit_site(as_fault *f, enum as_sync_site site)
{
    if (!f || !f->armed)
        return 0;
    if (f->sync_delay_us) /* a slow device, so that concurrent writers meet in group commit */
        usleep((useconds_t)f->sync_delay_us);
    if (!f->site_armed[site])
        return 0;
    int64_t left = atomic_fetch_sub(&f->site_left[site], 1) - 1;
    if (left == 0 || (left < 0 && f->site_sticky[site])) {
        atomic_fetch_add(&f->fired, 1);
        return f->err;
    }
    return 0;
}
