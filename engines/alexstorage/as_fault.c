/* as_fault.c - test-only fault injection: make the Nth pwrite or fdatasync of one store fail (env AS_FAULT). */
#include "as_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* AS_FAULT="write=N,sync=M,errno=E": the Nth segment pwrite / Mth fdatasync counted from as_open fails
 * with errno E (default EIO); "sync=+M" fails the Mth and every later one (a disk that went bad).
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
    const char *p = strstr(e, "errno=");
    if (p)
        f->err = atoi(p + 6);
}

int as_fault_hit(as_fault *f, int kind)
{
    if (!f || !f->armed)
        return 0;
    int64_t left = atomic_fetch_sub(&f->left[kind], 1) - 1;
    if (left == 0 || (left < 0 && f->sticky[kind]))
        return f->err;
    return 0;
}
