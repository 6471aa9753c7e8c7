/* fsync_probe.c - what one fdatasync costs on this file system: a W-byte write then fdatasync, K times,
 * either appending (the file grows: size and extent metadata to commit) or overwriting blocks that were
 * zero-filled and synced first (data only). The case for as_options.log_prealloc (PERFORMANCE.md, "Log
 * preallocation at sync").
 *
 * Usage: fsync_probe FILE [K=2000] [W=136]   (FILE is created and removed) */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec * 1e-3;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int run(const char *path, int k, size_t w, int overwrite, double *lat)
{
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return -1;
    char *buf = calloc(1, w > 65536 ? w : 65536);
    if (!buf)
        return -1;
    if (overwrite) { /* real zero blocks, synced: later writes change no size and no extent */
        for (size_t off = 0; off < (size_t)k * w + 4096; off += 65536)
            if (pwrite(fd, buf, 65536, (off_t)off) != 65536)
                return -1;
        fdatasync(fd);
    }
    memset(buf, 0x5a, w);
    for (int i = 0; i < k; i++) {
        if (pwrite(fd, buf, w, (off_t)((size_t)i * w)) != (ssize_t)w)
            return -1;
        double t0 = now_us();
        fdatasync(fd);
        lat[i] = now_us() - t0;
    }
    close(fd);
    unlink(path);
    free(buf);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE [K] [W]\n", argv[0]);
        return 2;
    }
    int k = argc > 2 ? atoi(argv[2]) : 2000;
    size_t w = argc > 3 ? (size_t)atol(argv[3]) : 136;
    double *lat = malloc((size_t)k * sizeof(*lat));
    for (int round = 0; round < 2; round++)
        for (int ow = 0; ow <= 1; ow++) {
            if (run(argv[1], k, w, ow, lat) != 0) {
                perror(argv[1]);
                return 1;
            }
            double sum = 0;
            for (int i = 0; i < k; i++)
                sum += lat[i];
            qsort(lat, (size_t)k, sizeof(*lat), cmp);
            printf("%-9s %zu-byte write + fdatasync: p50 %7.1f us  mean %7.1f us  p99 %7.1f us\n",
                   ow ? "overwrite" : "append", w, lat[k / 2], sum / k, lat[(size_t)k * 99 / 100]);
        }
    free(lat);
    return 0;
}
