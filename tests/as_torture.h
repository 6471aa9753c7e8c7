/* as_torture.h - shared helpers of the AlexStorage durability tests: PRNG, self-verifying values, temp dirs. */
#ifndef AS_TORTURE_H
#define AS_TORTURE_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---------- PRNG (splitmix64; the tests stay independent of the workload library) ---------- */

static inline uint64_t ast_mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}
static inline uint64_t ast_rand(uint64_t *s)
{
    *s += 0x9e3779b97f4a7c15ull;
    uint64_t x = *s;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}
static inline uint64_t ast_below(uint64_t *s, uint64_t n) { return n ? ast_rand(s) % n : 0; }

/* Key of slot i of a test's key space: distinct, scattered, a tenth of them negative. */
static inline int64_t ast_key(uint64_t space_seed, uint32_t i)
{
    uint64_t h = ast_mix(space_seed ^ ((uint64_t)i << 20));
    int64_t k = (int64_t)(h >> 24) << 20 | (int64_t)i; /* low bits = slot: distinct by construction */
    return (h & 0xf) == 0 ? -k : k;
}

/* ---------- self-verifying values ----------
 * [0] int64 key  [8] uint64 seq  [16] uint32 len  [20] uint32 slot  [24] uint64 check  [32..len) payload
 * The length and payload are pure functions of (key, seq), so a reader checks any value it gets back
 * without keeping a copy; `check` hashes the header so a flipped byte there cannot pass either. */
#define AST_VAL_MIN 32u

static inline uint32_t ast_val_len(int64_t key, uint64_t seq, uint32_t max_len)
{
    uint64_t h = ast_mix((uint64_t)key * 31 + seq);
    uint32_t len;
    if (h % 64 == 0)
        len = 4096 + (uint32_t)((h >> 8) % 28000); /* sometimes a record spanning pages */
    else
        len = AST_VAL_MIN + (uint32_t)((h >> 8) % 480);
    return len > max_len ? max_len : len;
}
static inline uint64_t ast_val_sum(const unsigned char *v)
{
    uint64_t a, b, c;
    memcpy(&a, v, 8);
    memcpy(&b, v + 8, 8);
    memcpy(&c, v + 16, 8);
    return ast_mix(a ^ ast_mix(b ^ ast_mix(c)));
}
static inline void ast_val_make(int64_t key, uint64_t seq, uint32_t slot, uint32_t len, unsigned char *v)
{
    memcpy(v, &key, 8);
    memcpy(v + 8, &seq, 8);
    memcpy(v + 16, &len, 4);
    memcpy(v + 20, &slot, 4);
    uint64_t sum = ast_val_sum(v);
    memcpy(v + 24, &sum, 8);
    uint64_t s = ast_mix((uint64_t)key ^ (seq << 1));
    for (uint32_t i = AST_VAL_MIN; i < len; i += 8) {
        uint64_t w = ast_rand(&s);
        memcpy(v + i, &w, len - i < 8 ? len - i : 8);
    }
}
/* 1 when (v, len) is a value written for `key` (any version); *seq and *slot get its fields. */
static inline int ast_val_check(int64_t key, const void *val, size_t len, uint64_t *seq, uint32_t *slot)
{
    const unsigned char *v = val;
    if (!v || len < AST_VAL_MIN)
        return 0;
    int64_t k;
    uint64_t q, sum;
    uint32_t l, sl;
    memcpy(&k, v, 8);
    memcpy(&q, v + 8, 8);
    memcpy(&l, v + 16, 4);
    memcpy(&sl, v + 20, 4);
    memcpy(&sum, v + 24, 8);
    if (k != key || l != len || sum != ast_val_sum(v))
        return 0;
    uint64_t s = ast_mix((uint64_t)key ^ (q << 1));
    for (uint32_t i = AST_VAL_MIN; i < len; i += 8) {
        uint64_t w = ast_rand(&s);
        if (memcmp(v + i, &w, len - i < 8 ? len - i : 8) != 0)
            return 0;
    }
    *seq = q;
    *slot = sl;
    return 1;
}

/* ---------- environment ---------- */

static inline int ast_env_flag(const char *name)
{
    const char *e = getenv(name);
    return e && *e && strcmp(e, "0") != 0;
}
static inline long ast_env_long(const char *name, long dflt)
{
    const char *e = getenv(name);
    return e && *e ? strtol(e, NULL, 10) : dflt;
}
static inline double ast_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* ---------- directories ---------- */

/* out = a/b; -1 when it does not fit. */
static inline int ast_join(char *out, size_t cap, const char *a, const char *b)
{
    int n = snprintf(out, cap, "%s/%s", a, b);
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

/* mkdtemp under $TMPDIR (or /tmp); returns 0 or -1. */
static inline int ast_tmpdir(char *out, size_t cap, const char *tag)
{
    const char *base = getenv("TMPDIR");
    if (!base || !*base)
        base = "/tmp";
    snprintf(out, cap, "%s/%s-XXXXXX", base, tag);
    return mkdtemp(out) ? 0 : -1;
}
static inline int ast_rm_cb(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(p);
}
static inline void ast_rmtree(const char *dir) { nftw(dir, ast_rm_cb, 16, FTW_DEPTH | FTW_PHYS); }
/* Empty `dir` but keep it. */
static inline void ast_clear_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    char p[4200];
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' && (e->d_name[1] == 0 || (e->d_name[1] == '.' && e->d_name[2] == 0)))
            continue;
        if (ast_join(p, sizeof p, dir, e->d_name))
            continue;
        ast_rmtree(p);
    }
    closedir(d);
}

/* Copy every regular file of src into dst (existing, emptied first). 0 or -1. */
static inline int ast_copy_dir(const char *src, const char *dst)
{
    ast_clear_dir(dst);
    DIR *d = opendir(src);
    if (!d)
        return -1;
    struct dirent *e;
    int rc = 0;
    static char buf[1 << 16];
    while (rc == 0 && (e = readdir(d))) {
        char a[4200], b[4200];
        if (ast_join(a, sizeof a, src, e->d_name) || ast_join(b, sizeof b, dst, e->d_name))
            continue;
        struct stat st;
        if (lstat(a, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        int in = open(a, O_RDONLY), out = open(b, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (in < 0 || out < 0)
            rc = -1;
        ssize_t n;
        while (rc == 0 && (n = read(in, buf, sizeof buf)) > 0)
            if (write(out, buf, (size_t)n) != n)
                rc = -1;
        if (in >= 0)
            close(in);
        if (out >= 0)
            close(out);
    }
    closedir(d);
    return rc;
}

/* Regular files of dir with their sizes (names sorted); returns the count (<= cap) or -1. */
typedef struct ast_file {
    char name[256];
    uint64_t size;
} ast_file;
static inline int ast_file_cmp(const void *a, const void *b)
{
    return strcmp(((const ast_file *)a)->name, ((const ast_file *)b)->name);
}
static inline int ast_list_files(const char *dir, ast_file *out, int cap)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d)) && n < cap) {
        char p[4200];
        struct stat st;
        if (ast_join(p, sizeof p, dir, e->d_name))
            continue;
        if (lstat(p, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        snprintf(out[n].name, sizeof out[n].name, "%s", e->d_name);
        out[n].size = (uint64_t)st.st_size;
        n++;
    }
    closedir(d);
    qsort(out, (size_t)n, sizeof *out, ast_file_cmp);
    return n;
}

/* A cheap content hash of every regular file in dir (names included), to prove read-only opens
 * write nothing. */
static inline uint64_t ast_dir_hash(const char *dir)
{
    ast_file f[512];
    int n = ast_list_files(dir, f, 512);
    uint64_t h = 0x1234;
    static unsigned char buf[1 << 16];
    for (int i = 0; i < n; i++) {
        char p[4200];
        if (ast_join(p, sizeof p, dir, f[i].name))
            continue;
        for (const char *c = f[i].name; *c; c++)
            h = ast_mix(h ^ (unsigned char)*c);
        int fd = open(p, O_RDONLY);
        if (fd < 0)
            continue;
        ssize_t r;
        while ((r = read(fd, buf, sizeof buf)) > 0)
            for (ssize_t j = 0; j < r; j += 8) {
                uint64_t w = 0;
                memcpy(&w, buf + j, r - j < 8 ? (size_t)(r - j) : 8);
                h = ast_mix(h ^ w);
            }
        close(fd);
        h = ast_mix(h ^ f[i].size);
    }
    return h;
}

#endif
