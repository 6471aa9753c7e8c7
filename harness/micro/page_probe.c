/* page_probe.c - does this kernel and filesystem back a log file with 2 MiB page-cache folios, and what
 * does that buy a random read? The question behind AlexStorage's write path at durability none
 * (engines/alexstorage/PERFORMANCE.md, second pass).
 *
 * usage: build/page_probe [DIR [MiB]]   (default $TMPDIR or /tmp, 256 MiB)
 *
 * For each way of writing a MiB-sized file of 136-byte records it prints the write cost per record,
 * how much of a read-only mapping of it the kernel mapped with 2 MiB entries (FilePmdMapped in
 * /proc/self/smaps) and the mean latency of a random 8-byte read, timed one at a time with rdtscp
 * as kvbench times a get, in TSC ticks:
 *   pwrite   136-byte pwrite()s (4 KiB folios)
 *   sparse   file extended first, read-faulted through a MADV_HUGEPAGE mapping (2 MiB folios are
 *            made), then the same pwrite()s land in those folios
 *   mmap     fallocate, then memcpy into a MAP_SHARED, MADV_HUGEPAGE writable mapping (AlexStorage)
 * Then anonymous 4 KiB memory as a reference. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#if defined(__x86_64__)
#include <x86intrin.h>

#define REC 136u
#define HUGE ((size_t)2 << 20)

static size_t g_bytes;

static unsigned char *map_aligned(int fd, int prot, int flags)
{
    unsigned char *r = mmap(NULL, g_bytes + HUGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (r == MAP_FAILED)
        return NULL;
    unsigned char *a = (unsigned char *)(((uintptr_t)r + HUGE - 1) & ~(uintptr_t)(HUGE - 1));
    void *m = mmap(a, g_bytes, prot, flags | MAP_FIXED, fd, 0);
    return m == MAP_FAILED ? NULL : m;
}

/* kB of the mapping at `base` that smaps reports as FilePmdMapped (or AnonHugePages). */
static long pmd_kb(const void *base, const char *field)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    if (!f)
        return -1;
    char line[512], want[32];
    snprintf(want, sizeof(want), "%lx-", (unsigned long)(uintptr_t)base);
    int in = 0;
    long kb = -1;
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, want, strlen(want)) == 0) {
            in = 1;
        } else if (in && strncmp(line, field, strlen(field)) == 0) {
            kb = strtol(line + strlen(field) + 1, NULL, 10);
            break;
        }
    }
    fclose(f);
    return kb;
}

static double read_ticks(const unsigned char *base)
{
    uint64_t x = 88172645463325252ull, sum = 0, total = 0;
    const int n = 1000000;
    unsigned aux;
    for (int i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        uint64_t off = (x % (g_bytes / 64)) * 64;
        uint64_t t0 = __rdtscp(&aux);
        _mm_lfence();
        sum += *(const volatile uint64_t *)(base + off);
        uint64_t t1 = __rdtscp(&aux);
        _mm_lfence();
        total += t1 - t0;
    }
    return (double)total / n + (double)(sum & 0);
}

static double best_of_3(const unsigned char *base)
{
    double best = read_ticks(base);
    for (int r = 0; r < 2; r++) {
        double t = read_ticks(base);
        if (t < best)
            best = t;
    }
    return best;
}

static int pwrite_all(int fd, const unsigned char *rec)
{
    for (size_t off = 0; off < g_bytes; off += REC) {
        size_t len = g_bytes - off < REC ? g_bytes - off : REC;
        if (pwrite(fd, rec, len, (off_t)off) != (ssize_t)len)
            return -1;
    }
    return 0;
}

static int probe(const char *dir, const char *mode)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/page_probe.%d", dir, (int)getpid());
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) {
        fprintf(stderr, "page_probe: create %s: %s\n", path, strerror(errno));
        return -1;
    }
    unlink(path); /* gone when we exit, whatever happens */
    unsigned char rec[REC];
    memset(rec, 0x5a, sizeof(rec));
    uint64_t t0 = __rdtsc();
    int rc = 0;
    if (strcmp(mode, "pwrite") == 0) {
        rc = pwrite_all(fd, rec);
    } else if (strcmp(mode, "sparse") == 0) {
        unsigned char *r = ftruncate(fd, (off_t)g_bytes) == 0 ? map_aligned(fd, PROT_READ, MAP_SHARED) : NULL;
        if (r == NULL)
            rc = -1;
        else {
            (void)madvise(r, g_bytes, MADV_HUGEPAGE);
            for (size_t off = 0; off < g_bytes; off += HUGE)
                (void)*(const volatile unsigned char *)(r + off);
            t0 = __rdtsc();
            rc = pwrite_all(fd, rec);
            munmap(r, g_bytes);
        }
    } else {
        unsigned char *w = fallocate(fd, 0, 0, (off_t)g_bytes) == 0
                               ? map_aligned(fd, PROT_READ | PROT_WRITE, MAP_SHARED) : NULL;
        if (w == NULL)
            rc = -1;
        else {
            (void)madvise(w, g_bytes, MADV_HUGEPAGE);
            for (size_t off = 0; off + REC <= g_bytes; off += REC)
                memcpy(w + off, rec, REC);
            munmap(w, g_bytes);
        }
    }
    double write_ticks = (double)(__rdtsc() - t0) / (double)(g_bytes / REC);
    if (rc != 0) {
        fprintf(stderr, "page_probe: %s: writing the file failed: %s\n", mode, strerror(errno));
        close(fd);
        return -1;
    }
    unsigned char *m = map_aligned(fd, PROT_READ, MAP_SHARED);
    if (m == NULL) {
        fprintf(stderr, "page_probe: map: %s\n", strerror(errno));
        close(fd);
        return -1;
    }
    (void)madvise(m, g_bytes, MADV_HUGEPAGE);
    for (size_t off = 0; off < g_bytes; off += 4096)
        (void)*(const volatile unsigned char *)(m + off);
    printf("%-8s %10.0f %12ld %14.0f\n", mode, write_ticks, pmd_kb(m, "FilePmdMapped:"), best_of_3(m));
    munmap(m, g_bytes);
    close(fd);
    return 0;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    long mib = argc > 2 ? strtol(argv[2], NULL, 10) : 256;
    if (mib < 4 || mib > 65536) {
        fprintf(stderr, "usage: page_probe [DIR [MiB, 4..65536]]\n");
        return 2;
    }
    g_bytes = (size_t)mib << 20;
    printf("file of %ld MiB in %s; ticks = rdtsc ticks\n", mib, dir);
    printf("%-8s %10s %12s %14s\n", "writes", "ticks/rec", "PMD-mapped kB", "read ticks/op");
    int failed = 0;
    failed |= probe(dir, "pwrite");
    failed |= probe(dir, "sparse");
    failed |= probe(dir, "mmap");
    unsigned char *a = mmap(NULL, g_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (a != MAP_FAILED) {
        memset(a, 1, g_bytes);
        printf("%-8s %10s %12s %14.0f\n", "anon4k", "-", "-", best_of_3(a));
        munmap(a, g_bytes);
    }
    return failed ? 1 : 0;
}
#else
int main(void)
{
    fprintf(stderr, "page_probe: x86-64 only (it times reads with rdtscp)\n");
    return 2;
}
#endif
