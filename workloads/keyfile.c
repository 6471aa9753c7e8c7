/* keyfile.c - key files in SOSD's binary format: read (with SHA-256, uint32 files, duplicates) and write. */
#include "workload.h"
#include "wl_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int kf_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int kf_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* little-endian decode, whatever the host */
static uint64_t le64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static uint32_t le32(const unsigned char *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }

int kv_keyfile_read(const char *path, int64_t **keys, uint64_t *n, kv_keyfile_info *info, char *err, size_t errlen)
{
    *keys = NULL;
    *n = 0;
    memset(info, 0, sizeof(*info));
    snprintf(info->path, sizeof(info->path), "%s", path);
    FILE *f = fopen(path, "rb");
    if (!f)
        return kf_err(err, errlen, "key file %s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return kf_err(err, errlen, "key file %s: not a regular file", path);
    }
    info->size = (uint64_t)st.st_size;
    unsigned char hdr[8];
    if (info->size < 8 || fread(hdr, 1, 8, f) != 8) {
        fclose(f);
        return kf_err(err, errlen, "key file %s: %llu bytes, too short for the 8-byte key count of SOSD's format",
                      path, (unsigned long long)info->size);
    }
    uint64_t count = le64(hdr);
    info->count = count;
    uint64_t body = info->size - 8;
    if (count <= body / 8 && body == 8 * count)
        info->width = 64;
    else if (count <= body / 4 && body == 4 * count)
        info->width = 32;
    else {
        fclose(f);
        return kf_err(err, errlen,
                      "key file %s: header says %llu keys, but the file has %llu bytes (expected %llu for uint64 "
                      "keys or %llu for uint32 keys): truncated or not in SOSD's format",
                      path, (unsigned long long)count, (unsigned long long)info->size,
                      count <= UINT64_MAX / 8 - 1 ? (unsigned long long)(8 + 8 * count) : 0ULL,
                      count <= UINT64_MAX / 4 - 2 ? (unsigned long long)(8 + 4 * count) : 0ULL);
    }
    uint64_t *u = malloc((count ? count : 1) * sizeof(*u));
    unsigned char *buf = malloc(1 << 20);
    if (!u || !buf) {
        free(u);
        free(buf);
        fclose(f);
        return kf_err(err, errlen, "key file %s: out of memory for %llu keys", path, (unsigned long long)count);
    }
    kv_sha256 sha;
    kv_sha256_init(&sha);
    kv_sha256_update(&sha, hdr, 8);
    size_t w = (size_t)info->width / 8;
    uint64_t got = 0;
    while (got < count) {
        size_t want = (size_t)((count - got) * w < (1u << 20) ? (count - got) * w : (1u << 20));
        size_t r = fread(buf, 1, want, f);
        if (r != want) {
            int e = ferror(f) ? errno : 0;
            free(u);
            free(buf);
            fclose(f);
            return kf_err(err, errlen, "key file %s: read failed after %llu keys: %s", path, (unsigned long long)got,
                          e ? strerror(e) : "unexpected end of file");
        }
        kv_sha256_update(&sha, buf, r);
        for (size_t i = 0; i < r; i += w)
            u[got++] = w == 8 ? le64(buf + i) : le32(buf + i);
    }
    free(buf);
    fclose(f);
    kv_sha256_final(&sha, info->sha256);
    /* SOSD files are sorted, but nothing here depends on it */
    int sorted = 1;
    for (uint64_t i = 1; i < count && sorted; i++)
        sorted = u[i - 1] <= u[i];
    if (!sorted)
        qsort(u, count, sizeof(*u), cmp_u64);
    uint64_t out = 0;
    for (uint64_t i = 0; i < count; i++)
        if (out == 0 || u[out - 1] != u[i])
            u[out++] = u[i];
    info->duplicates = count - out;
    info->shifted = out && u[out - 1] > (uint64_t)INT64_MAX;
    int64_t *k = (int64_t *)u; /* in place: same size */
    for (uint64_t i = 0; i < out; i++)
        k[i] = info->shifted ? (int64_t)(u[i] ^ (1ULL << 63)) : (int64_t)u[i];
    *keys = k;
    *n = out;
    return 0;
}

int kv_keyfile_write(const char *path, const int64_t *sorted, uint64_t n, char *err, size_t errlen)
{
    int shift = n && sorted[0] < 0;
    char tmp[1100];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    if (!f)
        return kf_err(err, errlen, "%s: cannot create: %s", tmp, strerror(errno));
    unsigned char b[8];
    uint64_t v = n;
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(v >> (8 * i));
    int ok = fwrite(b, 1, 8, f) == 8;
    for (uint64_t k = 0; k < n && ok; k++) {
        v = shift ? (uint64_t)sorted[k] ^ (1ULL << 63) : (uint64_t)sorted[k];
        for (int i = 0; i < 8; i++)
            b[i] = (unsigned char)(v >> (8 * i));
        ok = fwrite(b, 1, 8, f) == 8;
    }
    int e = errno;
    if (fclose(f) != 0 && ok) {
        ok = 0;
        e = errno;
    }
    if (!ok || rename(tmp, path) != 0) {
        if (ok)
            e = errno;
        remove(tmp);
        return kf_err(err, errlen, "%s: write failed: %s", path, strerror(e));
    }
    return 0;
}
