/* as_segment.c - one segment file: a fixed virtual reservation, chunked read-only mapping, appends by
 * pwrite or (AS_SYNC_NONE) by copying into a writable shared mapping of a preallocated tail. */
#include "as_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int as_errno_status(int e)
{
    switch (e) {
    case ENOSPC:
    case EFBIG:
    case EDQUOT: return AS_ENOSPC;
    case ENOMEM: return AS_ENOMEM;
    default: return AS_EIO;
    }
}

static uint64_t as_round_up(uint64_t v, uint64_t to) { return (v + to - 1) / to * to; }

/* A 2 MiB page: file offset 0 sits at a 2 MiB-aligned address so the kernel can map each 2 MiB
 * page-cache folio of the log with one page-table entry (a TLB miss on a record is the largest
 * single cost of a get on a VM with nested paging; PERFORMANCE.md). */
#define AS_HUGE_BYTES (2ull << 20)
/* Appends through the writable view start writeback of each full AS_SEG_WRITEBACK_BYTES behind them
 * (sync_file_range WRITE, RocksDB's bytes_per_sync): the fdatasync that seals a segment at rotation,
 * under write_mu, then finds a few MiB dirty instead of the whole segment (60-170 ms per 128 MiB
 * segment on this VM's disk: the largest put latencies at AS_SYNC_NONE). Only a hint, no durability
 * meaning: done on the OS's file layer only, outside as_file_ops. */
#define AS_SEG_WRITEBACK_BYTES (8ull << 20)

/* PROT_NONE reservation of len bytes starting at a 2 MiB boundary, or MAP_FAILED. */
static void *as_reserve_aligned(uint64_t len)
{
    unsigned char *p = mmap(NULL, len + AS_HUGE_BYTES, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return MAP_FAILED;
    unsigned char *a = (unsigned char *)as_round_up((uintptr_t)p, AS_HUGE_BYTES);
    if (a > p)
        munmap(p, (size_t)(a - p));
    unsigned char *end = p + len + AS_HUGE_BYTES;
    if (end > a + len)
        munmap(a + len, (size_t)(end - (a + len)));
    return a;
}

/* Reserve the whole virtual range once so later chunks land at fixed addresses after it. */
static int as_seg_reserve(as_segment *sg, uint64_t reserve, char *err, size_t errlen)
{
    sg->reserved_bytes = as_round_up(reserve ? reserve : sg->chunk_bytes, sg->chunk_bytes);
    void *p = as_reserve_aligned(sg->reserved_bytes);
    if (p == MAP_FAILED) {
        int e = errno;
        snprintf(err, errlen, "mmap reserve %llu bytes for %s: %s", (unsigned long long)sg->reserved_bytes,
                 sg->path, strerror(e));
        return e == ENOMEM ? AS_ENOMEM : AS_EIO;
    }
    sg->base = p;
    sg->mapped_bytes = 0;
    return AS_OK;
}

void as_seg_set_hugepages(as_segment *sg, int on)
{
    sg->nohuge = !on;
    int advice = on ? MADV_HUGEPAGE : MADV_NOHUGEPAGE;
    if (sg->mapped_bytes)
        (void)madvise(sg->base, sg->mapped_bytes, advice);
    if (sg->wbase)
        (void)madvise(sg->wbase, sg->wbytes, advice);
}

int as_seg_map_to(as_segment *sg, uint64_t end, char *err, size_t errlen)
{
    if (end <= sg->mapped_bytes)
        return AS_OK;
    uint64_t want = as_round_up(end, sg->chunk_bytes);
    if (want > sg->reserved_bytes)
        want = sg->reserved_bytes;
    if (end > want) {
        snprintf(err, errlen, "%s: %llu bytes do not fit its %llu-byte address reservation", sg->path,
                 (unsigned long long)end, (unsigned long long)sg->reserved_bytes);
        return AS_EINTERNAL;
    }
    /* Only the new tail is mapped: pages already handed to readers keep their mapping. */
    void *p = sg->fops->mmap(sg->fops->ctx, sg->base + sg->mapped_bytes, want - sg->mapped_bytes, PROT_READ,
                             MAP_SHARED | MAP_FIXED, sg->fd, (off_t)sg->mapped_bytes);
    if (p == MAP_FAILED) {
        int e = errno;
        snprintf(err, errlen, "mmap %s at offset %llu (+%llu bytes): %s", sg->path,
                 (unsigned long long)sg->mapped_bytes, (unsigned long long)(want - sg->mapped_bytes),
                 strerror(e));
        return e == ENOMEM ? AS_ENOMEM : AS_EIO;
    }
    /* Pages read in after a cold open come as 2 MiB folios too; a hint, so failure is harmless. */
    (void)madvise(p, want - sg->mapped_bytes, sg->nohuge ? MADV_NOHUGEPAGE : MADV_HUGEPAGE);
    sg->mapped_bytes = want;
    return AS_OK;
}

static as_segment *as_seg_new(const as_file_ops *fops, const char *dir, uint64_t id, uint64_t chunk)
{
    as_segment *sg = calloc(1, sizeof(*sg));
    if (!sg)
        return NULL;
    sg->id = id;
    sg->fops = fops;
    sg->fd = -1;
    sg->chunk_bytes = chunk;
    char name[64];
    snprintf(name, sizeof(name), AS_SEG_NAME_FMT, (unsigned long long)id);
    snprintf(sg->path, sizeof(sg->path), "%s/%s", dir, name);
    return sg;
}

int as_seg_create(as_segment **out, const as_file_ops *fops, int dirfd, const char *dir, uint64_t id, uint64_t first_seq, uint64_t oldest_seg,
                  uint64_t reserve, uint64_t chunk, int sync_dir, char *err, size_t errlen)
{
    *out = NULL;
    as_segment *sg = as_seg_new(fops, dir, id, chunk);
    if (!sg) {
        snprintf(err, errlen, "out of memory creating segment %llu", (unsigned long long)id);
        return AS_ENOMEM;
    }
    const char *name = strrchr(sg->path, '/') + 1;
    sg->fd = fops->openat(fops->ctx, dirfd, name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (sg->fd < 0) {
        int e = errno;
        snprintf(err, errlen, "create %s: %s", sg->path, strerror(e));
        free(sg);
        return as_errno_status(e);
    }
    as_seg_header h;
    as_seg_header_encode(&h, id, first_seq, oldest_seg);
    int stuck = 0;
    int rc = as_seg_write(sg, 0, &h, sizeof(h), &stuck, err, errlen);
    if (rc == AS_OK && sync_dir) {
        rc = as_seg_sync(sg, err, errlen);
        if (rc == AS_OK && fops->fsync(fops->ctx, dirfd) != 0) {
            int e = errno;
            snprintf(err, errlen, "fsync directory %s: %s", dir, strerror(e));
            rc = AS_EIO;
        }
    }
    if (rc == AS_OK)
        rc = as_seg_reserve(sg, reserve, err, errlen);
    if (rc == AS_OK)
        rc = as_seg_map_to(sg, sizeof(h), err, errlen);
    if (rc != AS_OK) {
        fops->unlinkat(fops->ctx, dirfd, name); /* an unfinished segment would be read as a torn one: remove it */
        as_seg_close(sg);
        return rc;
    }
    atomic_store_explicit(&sg->size, sizeof(h), memory_order_release);
    atomic_store(&sg->file_bytes, sizeof(h));
    *out = sg;
    return AS_OK;
}

int as_seg_open(as_segment **out, const as_file_ops *fops, int dirfd, const char *dir, uint64_t id, int writable,
                uint64_t reserve, uint64_t chunk, char *err, size_t errlen)
{
    *out = NULL;
    as_segment *sg = as_seg_new(fops, dir, id, chunk);
    if (!sg) {
        snprintf(err, errlen, "out of memory opening segment %llu", (unsigned long long)id);
        return AS_ENOMEM;
    }
    const char *name = strrchr(sg->path, '/') + 1;
    sg->fd = fops->openat(fops->ctx, dirfd, name, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC, 0);
    struct stat st;
    if (sg->fd < 0 || fops->fstat(fops->ctx, sg->fd, &st) != 0) {
        int e = errno;
        snprintf(err, errlen, "open %s: %s", sg->path, strerror(e));
        as_seg_close(sg);
        return as_errno_status(e);
    }
    uint64_t size = (uint64_t)st.st_size;
    if (size > AS_LOC_MAX_OFF) {
        snprintf(err, errlen, "%s: %llu bytes is larger than a segment can be", sg->path,
                 (unsigned long long)size);
        as_seg_close(sg);
        return AS_ECORRUPT;
    }
    int rc = as_seg_reserve(sg, reserve > size ? reserve : size, err, errlen);
    if (rc == AS_OK && size)
        rc = as_seg_map_to(sg, size, err, errlen);
    if (rc != AS_OK) {
        as_seg_close(sg);
        return rc;
    }
    /* Recovery lowers this to the end of the last valid record. */
    atomic_store_explicit(&sg->size, size, memory_order_release);
    atomic_store(&sg->file_bytes, size);
    *out = sg;
    return AS_OK;
}

int as_seg_write(as_segment *sg, uint64_t off, const void *buf, size_t len, int *stuck, char *err,
                 size_t errlen)
{
    const unsigned char *p = buf;
    size_t done = 0;
    while (done < len) {
        int fe = as_fault_hit(sg->fault, AS_FAULT_WRITE);
        ssize_t n = fe ? (errno = fe, -1) : sg->fops->pwrite(sg->fops->ctx, sg->fd, p + done, len - done,
                                                                   (off_t)(off + done));
        if (n > 0) {
            done += (size_t)n;
            if (off + done > atomic_load(&sg->file_bytes))
                atomic_store(&sg->file_bytes, off + done);
            continue;
        }
        int e = n < 0 ? errno : ENOSPC; /* pwrite returning 0 for a non-empty write: treat as full */
        if (e == EINTR)
            continue;
        snprintf(err, errlen, "write %s at offset %llu (%zu bytes): %s", sg->path,
                 (unsigned long long)(off + done), len - done, strerror(e));
        if (done && sg->fops->ftruncate(sg->fops->ctx, sg->fd, (off_t)off) != 0) {
            size_t l = strlen(err);
            snprintf(err + l, errlen - l, "; then cutting the partial record failed: %s", strerror(errno));
        } else if (done) {
            atomic_store(&sg->file_bytes, off);
        }
        *stuck = done > 0;
        return as_errno_status(e);
    }
    return AS_OK;
}

int as_seg_zero_to(as_segment *sg, uint64_t end, char *err, size_t errlen)
{
    static const unsigned char zeros[64u << 10];
    uint64_t cur = atomic_load(&sg->file_bytes);
    while (cur < end) {
        size_t n = end - cur < sizeof(zeros) ? (size_t)(end - cur) : sizeof(zeros);
        int fe = as_fault_hit(sg->fault, AS_FAULT_WRITE);
        ssize_t w = fe ? (errno = fe, -1) : sg->fops->pwrite(sg->fops->ctx, sg->fd, zeros, n, (off_t)cur);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) { /* a partial zero tail is still an empty tail: nothing to undo */
            int e = w < 0 ? errno : ENOSPC;
            snprintf(err, errlen, "zero-fill %s at offset %llu (%llu bytes ahead of the log): %s", sg->path,
                     (unsigned long long)cur, (unsigned long long)(end - cur), strerror(e));
            return as_errno_status(e);
        }
        cur += (uint64_t)w;
        atomic_store(&sg->file_bytes, cur);
    }
    return AS_OK;
}

int as_seg_sync(as_segment *sg, char *err, size_t errlen)
{
    int fe = as_fault_hit(sg->fault, AS_FAULT_SYNC);
    if (fe || sg->fops->fdatasync(sg->fops->ctx, sg->fd) != 0) {
        int e = fe ? fe : errno;
        snprintf(err, errlen, "fdatasync %s: %s", sg->path, strerror(e));
        return as_errno_status(e);
    }
    return AS_OK;
}

int as_seg_truncate(as_segment *sg, uint64_t len, char *err, size_t errlen)
{
    if (sg->fops->ftruncate(sg->fops->ctx, sg->fd, (off_t)len) != 0 || sg->fops->fsync(sg->fops->ctx, sg->fd) != 0) {
        int e = errno;
        snprintf(err, errlen, "cut %s to %llu bytes: %s", sg->path, (unsigned long long)len, strerror(e));
        return as_errno_status(e);
    }
    atomic_store_explicit(&sg->size, len, memory_order_release);
    atomic_store(&sg->file_bytes, len);
    return AS_OK;
}

void as_seg_wmap_open(as_segment *sg)
{
    if (sg->wbase || sg->no_wmap)
        return;
    sg->no_wmap = 1; /* until the view exists: any failure below means pwrite, not an error */
    void *a = as_reserve_aligned(sg->reserved_bytes);
    if (a == MAP_FAILED)
        return;
    void *p = sg->fops->mmap(sg->fops->ctx, a, sg->reserved_bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
                             sg->fd, 0);
    if (p == MAP_FAILED) {
        munmap(a, sg->reserved_bytes);
        return;
    }
    (void)madvise(p, sg->reserved_bytes, sg->nohuge ? MADV_NOHUGEPAGE : MADV_HUGEPAGE);
    sg->wbase = p;
    sg->wbytes = sg->reserved_bytes;
    sg->no_wmap = 0;
}

/* Grow the file to `end` bytes with allocated blocks; 0 or the errno. */
static int as_seg_prealloc(as_segment *sg, uint64_t end)
{
    uint64_t cur = atomic_load(&sg->file_bytes);
    int r;
    do
        r = sg->fops->fallocate(sg->fops->ctx, sg->fd, (off_t)cur, (off_t)(end - cur));
    while (r != 0 && errno == EINTR);
    if (r != 0)
        return errno;
    atomic_store(&sg->file_bytes, end);
    return 0;
}

int as_seg_store(as_segment *sg, uint64_t off, const void *buf, size_t len, char *err, size_t errlen)
{
    int fe = as_fault_hit(sg->fault, AS_FAULT_WRITE);
    if (fe) {
        snprintf(err, errlen, "write %s at offset %llu (%zu bytes): %s", sg->path, (unsigned long long)off, len,
                 strerror(fe));
        return as_errno_status(fe);
    }
    uint64_t end = off + len;
    if (end > sg->wbytes) {
        snprintf(err, errlen, "%s: %llu bytes do not fit its %llu-byte writable view", sg->path,
                 (unsigned long long)end, (unsigned long long)sg->wbytes);
        return AS_EINTERNAL;
    }
    if (end > atomic_load(&sg->file_bytes)) {
        uint64_t want = as_round_up(end, AS_HUGE_BYTES);
        int e = as_seg_prealloc(sg, want < sg->wbytes ? want : sg->wbytes);
        if (e == ENOSPC || e == EFBIG || e == EDQUOT)
            e = as_seg_prealloc(sg, end); /* the room for this record may still be there */
        if (e == EOPNOTSUPP) {
            as_seg_wmap_close(sg, err, errlen);
            sg->no_wmap = 1;
            return AS_SEG_FALLBACK;
        }
        if (e) {
            snprintf(err, errlen, "preallocate %s to %llu bytes: %s", sg->path, (unsigned long long)end, strerror(e));
            return as_errno_status(e);
        }
    }
    /* The first record's header goes in last. memcpy stores in no promised order (glibc's vector loop
     * writes the first bytes last, others the last bytes first), so a process killed inside a copy of
     * several records (a batch, a compaction step) could leave later records whole after a hole, which
     * recovery must call corruption. With the header last, a copy cut short shows a zero header at
     * its start: a lost write, cut as a torn tail with everything after it (FORMAT.md, "Power loss"). */
    if (len > AS_REC_HEADER_BYTES) {
        memcpy(sg->wbase + off + AS_REC_HEADER_BYTES, (const unsigned char *)buf + AS_REC_HEADER_BYTES,
               len - AS_REC_HEADER_BYTES);
        atomic_signal_fence(memory_order_seq_cst); /* the compiler keeps the order: no reordered stores */
    }
    memcpy(sg->wbase + off, buf, len < AS_REC_HEADER_BYTES ? len : AS_REC_HEADER_BYTES);
    if (off / AS_SEG_WRITEBACK_BYTES != end / AS_SEG_WRITEBACK_BYTES && sg->fops == as_file_ops_os()) {
        uint64_t to = end / AS_SEG_WRITEBACK_BYTES * AS_SEG_WRITEBACK_BYTES;
        (void)sync_file_range(sg->fd, (off_t)(to - AS_SEG_WRITEBACK_BYTES), AS_SEG_WRITEBACK_BYTES,
                              SYNC_FILE_RANGE_WRITE);
    }
    return AS_OK;
}

int as_seg_wmap_close(as_segment *sg, char *err, size_t errlen)
{
    if (sg->wbase) {
        sg->fops->munmap(sg->fops->ctx, sg->wbase, sg->wbytes);
        sg->wbase = NULL;
        sg->wbytes = 0;
    }
    uint64_t size = atomic_load(&sg->size);
    if (sg->fd < 0 || atomic_load(&sg->file_bytes) <= size)
        return AS_OK;
    if (sg->fops->ftruncate(sg->fops->ctx, sg->fd, (off_t)size) != 0) {
        int e = errno;
        snprintf(err, errlen, "cut the preallocated tail of %s at %llu bytes: %s", sg->path,
                 (unsigned long long)size, strerror(e));
        return as_errno_status(e);
    }
    atomic_store(&sg->file_bytes, size);
    return AS_OK;
}

void as_seg_close(as_segment *sg)
{
    if (!sg)
        return;
    if (sg->wbase)
        sg->fops->munmap(sg->fops->ctx, sg->wbase, sg->wbytes);
    if (sg->base)
        sg->fops->munmap(sg->fops->ctx, sg->base, sg->reserved_bytes);
    if (sg->fd >= 0)
        sg->fops->close(sg->fops->ctx, sg->fd);
    free(sg);
}
