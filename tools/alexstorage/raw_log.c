/* raw_log.c - read a store's segment files directly (no recovery, nothing written): every header
 * and record checksum verified, damage reported with file and offset and skipped. */
#include "as_internal.h"
#include "tool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static int raw_cmp_seg(const void *a, const void *b)
{
    uint64_t x = ((const raw_seg *)a)->id, y = ((const raw_seg *)b)->id;
    return (x > y) - (x < y);
}

/* Every seg-NNNNNN.log in dir, sorted by id, mapped read-only. */
static int raw_list(raw_log *lg, const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "alexstorage: cannot list %s: %s\n", dir, strerror(errno));
        return -1;
    }
    size_t cap = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        unsigned long long id;
        char tail[8];
        if (sscanf(de->d_name, "seg-%llu.%7s", &id, tail) != 2 || strcmp(tail, "log") != 0)
            continue;
        if (lg->nsegs == cap) {
            cap = cap ? 2 * cap : 16;
            raw_seg *p = realloc(lg->segs, cap * sizeof(*p));
            if (!p) {
                closedir(d);
                fprintf(stderr, "alexstorage: out of memory listing %s\n", dir);
                return -1;
            }
            lg->segs = p;
        }
        raw_seg *sg = &lg->segs[lg->nsegs++];
        memset(sg, 0, sizeof(*sg));
        sg->id = id;
        snprintf(sg->path, sizeof(sg->path), "%s/%s", dir, de->d_name);
    }
    closedir(d);
    if (lg->nsegs)
        qsort(lg->segs, lg->nsegs, sizeof(*lg->segs), raw_cmp_seg);
    return 0;
}

static void raw_map(raw_seg *sg, raw_report_fn report, void *arg)
{
    int fd = open(sg->path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        report(arg, sg->path, 0, strerror(errno));
        if (fd >= 0)
            close(fd);
        return;
    }
    sg->size = (uint64_t)st.st_size;
    if (sg->size) {
        void *p = mmap(NULL, sg->size, PROT_READ, MAP_SHARED, fd, 0);
        if (p == MAP_FAILED) {
            report(arg, sg->path, 0, strerror(errno));
            sg->size = 0;
        } else {
            sg->base = p;
        }
    }
    close(fd);
}

static int raw_add(raw_log *lg, const raw_seg *sg, uint64_t off)
{
    const as_rec_header *h = (const void *)(sg->base + off);
    if (lg->nrecs == lg->cap) {
        size_t cap = lg->cap ? 2 * lg->cap : 4096;
        raw_rec *p = realloc(lg->recs, cap * sizeof(*p));
        if (!p)
            return -1;
        lg->recs = p;
        lg->cap = cap;
    }
    lg->recs[lg->nrecs++] = (raw_rec){h->key, h->seq, sg->id, off, h->value_len, h->flags};
    return 0;
}

static int raw_all_zero(const unsigned char *p, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

static void raw_problem(raw_log *lg, raw_report_fn report, void *arg, const char *file, uint64_t off, uint64_t bytes,
                        const char *what)
{
    lg->problems++;
    lg->bad_bytes += bytes;
    report(arg, file, off, what);
}

/* Walk the records of one mapped segment; is_last says whether a bad tail may be a torn write. */
static int raw_walk(raw_log *lg, const raw_seg *sg, int is_last, raw_report_fn report, void *arg)
{
    uint64_t off = AS_SEG_HEADER_BYTES;
    while (off < sg->size) {
        enum as_rec_verdict v = as_rec_check(sg->base + off, sg->size - off, 1);
        if (v == AS_REC_OK) {
            if (raw_add(lg, sg, off) != 0)
                return -1;
            off += as_rec_bytes(((const as_rec_header *)(sg->base + off))->value_len);
            continue;
        }
        if (is_last && raw_all_zero(sg->base + off, sg->size - off))
            return 0; /* the preallocated tail of a store that was not closed: no record was there */
        uint64_t next = 0;
        for (uint64_t p = off + AS_REC_ALIGN; !next && p + AS_REC_HEADER_BYTES <= sg->size; p += AS_REC_ALIGN)
            if (as_rec_check(sg->base + p, sg->size - p, 1) == AS_REC_OK)
                next = p;
        uint64_t end = next ? next : sg->size;
        char what[256];
        if (!next && is_last)
            snprintf(what, sizeof(what), "torn tail: %llu bytes (%s) after the last valid record; a writable open "
                     "cuts it", (unsigned long long)(end - off), as_rec_verdict_name(v));
        else
            snprintf(what, sizeof(what), "corrupt record (%s): %llu bytes unreadable", as_rec_verdict_name(v),
                     (unsigned long long)(end - off));
        raw_problem(lg, report, arg, sg->path, off, end - off, what);
        off = end;
    }
    return 0;
}

static int raw_dropped(const raw_log *lg, uint64_t id)
{
    for (size_t i = 0; i < lg->nrecs; i++)
        if (lg->recs[i].flags == AS_REC_SEGDROP && (uint64_t)lg->recs[i].key == id)
            return 1;
    return 0;
}

/* Ids between the oldest one the newest header still needs and the newest must exist or have
 * been dropped by compaction (a segment-drop record says so). */
static void raw_check_ids(raw_log *lg, const char *dir, uint64_t oldest, raw_report_fn report, void *arg)
{
    if (!lg->nsegs)
        return;
    uint64_t last = lg->segs[lg->nsegs - 1].id;
    for (uint64_t id = oldest ? oldest : lg->segs[0].id; id < last; id++) {
        if (raw_log_seg(lg, id) >= 0 || raw_dropped(lg, id))
            continue;
        char file[4200], what[160];
        snprintf(file, sizeof(file), "%s/" AS_SEG_NAME_FMT, dir, (unsigned long long)id);
        snprintf(what, sizeof(what), "segment %llu is missing and no segment-drop record explains it",
                 (unsigned long long)id);
        raw_problem(lg, report, arg, file, 0, 0, what);
    }
}

int raw_log_read(raw_log *lg, const char *dir, raw_report_fn report, void *arg)
{
    memset(lg, 0, sizeof(*lg));
    if (raw_list(lg, dir) != 0)
        return -1;
    uint64_t oldest = 0;
    for (size_t i = 0; i < lg->nsegs; i++) {
        raw_seg *sg = &lg->segs[i];
        raw_map(sg, report, arg);
        char why[256];
        if (sg->size < AS_SEG_HEADER_BYTES ||
            as_seg_header_check((const as_seg_header *)sg->base, sg->id, why, sizeof(why)) != AS_OK) {
            if (sg->size < AS_SEG_HEADER_BYTES)
                snprintf(why, sizeof(why), "file of %llu bytes is shorter than a segment header",
                         (unsigned long long)sg->size);
            char what[300];
            snprintf(what, sizeof(what), "segment header: %s (records still read)", why);
            raw_problem(lg, report, arg, sg->path, 0, AS_SEG_HEADER_BYTES, what);
        } else if (i == lg->nsegs - 1) {
            oldest = ((const as_seg_header *)sg->base)->oldest_seg;
        }
        if (sg->size > AS_SEG_HEADER_BYTES && raw_walk(lg, sg, i == lg->nsegs - 1, report, arg) != 0) {
            fprintf(stderr, "alexstorage: out of memory reading %s\n", sg->path);
            return -1;
        }
    }
    raw_check_ids(lg, dir, oldest, report, arg);
    return 0;
}

void raw_log_free(raw_log *lg)
{
    for (size_t i = 0; i < lg->nsegs; i++)
        if (lg->segs[i].base)
            munmap((void *)lg->segs[i].base, lg->segs[i].size);
    free(lg->segs);
    free(lg->recs);
    memset(lg, 0, sizeof(*lg));
}

long raw_log_seg(const raw_log *lg, uint64_t id)
{
    size_t lo = 0, hi = lg->nsegs;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (lg->segs[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < lg->nsegs && lg->segs[lo].id == id ? (long)lo : -1;
}

const void *raw_rec_value(const raw_log *lg, const raw_rec *r)
{
    long i = raw_log_seg(lg, r->seg);
    return lg->segs[i].base + r->off + AS_REC_HEADER_BYTES;
}

static int raw_cmp_key_seq(const void *a, const void *b)
{
    const raw_rec *x = a, *y = b;
    if (x->key != y->key)
        return (x->key > y->key) - (x->key < y->key);
    return (x->seq < y->seq) - (x->seq > y->seq); /* newest first */
}

size_t raw_log_newest(raw_log *lg)
{
    size_t w = 0;
    for (size_t i = 0; i < lg->nrecs; i++) /* segment-drop markers are not keys */
        if (lg->recs[i].flags != AS_REC_SEGDROP)
            lg->recs[w++] = lg->recs[i];
    lg->nrecs = w;
    if (w)
        qsort(lg->recs, w, sizeof(*lg->recs), raw_cmp_key_seq);
    w = 0;
    for (size_t i = 0; i < lg->nrecs; i++)
        if (i == 0 || lg->recs[i].key != lg->recs[i - 1].key)
            lg->recs[w++] = lg->recs[i];
    lg->nrecs = w;
    return w;
}
