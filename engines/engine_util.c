/* engine_util.c - status names, durability names and option parsing shared by every engine file. */
#include "engine.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>

const char *kv_strerror(int status)
{
    switch (status) {
    case KV_OK: return "KV_OK: success";
    case KV_NOTFOUND: return "KV_NOTFOUND: key not found";
    case KV_EINVAL: return "KV_EINVAL: invalid argument or option";
    case KV_EIO: return "KV_EIO: I/O error";
    case KV_ENOTSUP: return "KV_ENOTSUP: not supported by this engine";
    case KV_ECORRUPT: return "KV_ECORRUPT: stored data is corrupt";
    case KV_ENOMEM: return "KV_ENOMEM: out of memory";
    case KV_ENOSPC: return "KV_ENOSPC: no space left (disk full or file size limit)";
    case KV_EBUSY: return "KV_EBUSY: store is locked by another process";
    case KV_EINTERNAL: return "KV_EINTERNAL: internal error (a bug)";
    default: return "unknown status";
    }
}

const char *kv_durability_name(enum kv_durability d)
{
    switch (d) {
    case KV_DUR_NONE: return "none";
    case KV_DUR_SYNC: return "sync";
    case KV_DUR_GROUP: return "group";
    }
    return "invalid";
}

int kv_durability_parse(const char *s, enum kv_durability *out)
{
    static const enum kv_durability all[] = {KV_DUR_NONE, KV_DUR_SYNC, KV_DUR_GROUP};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        if (strcmp(s, kv_durability_name(all[i])) == 0) {
            *out = all[i];
            return KV_OK;
        }
    return KV_EINVAL;
}

const char *kv_pages_name(enum kv_pages p)
{
    return p == KV_PAGES_HUGE ? "huge" : "4k";
}

int kv_pages_parse(const char *s, enum kv_pages *out)
{
    if (strcmp(s, "huge") == 0)
        *out = KV_PAGES_HUGE;
    else if (strcmp(s, "4k") == 0)
        *out = KV_PAGES_4K;
    else
        return KV_EINVAL;
    return KV_OK;
}

int kv_pages_advise(void *addr, size_t len, enum kv_pages p, char *err, size_t errlen)
{
    const uintptr_t huge = (uintptr_t)2 << 20, page = 4096;
    uintptr_t lo = (uintptr_t)addr, hi = lo + len;
    if (p == KV_PAGES_HUGE)
        lo = (lo + huge - 1) & ~(huge - 1), hi &= ~(huge - 1);
    else
        lo &= ~(page - 1);
    if (hi <= lo)
        return KV_OK; /* no 2 MiB-aligned stretch: nothing a PMD could map */
    if (madvise((void *)lo, hi - lo, p == KV_PAGES_HUGE ? MADV_HUGEPAGE : MADV_NOHUGEPAGE) != 0)
        return kv_seterr(err, errlen, KV_EIO, "madvise(%s) of %zu bytes: %s",
                         p == KV_PAGES_HUGE ? "MADV_HUGEPAGE" : "MADV_NOHUGEPAGE", (size_t)(hi - lo),
                         strerror(errno));
    return KV_OK;
}

int kv_pages_advise_file(const char *path, enum kv_pages p, int *nmaps, char *err, size_t errlen)
{
    *nmaps = 0;
    char real[4096];
    if (!realpath(path, real))
        return kv_seterr(err, errlen, KV_EIO, "realpath %s: %s", path, strerror(errno));
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f)
        return kv_seterr(err, errlen, KV_EIO, "open /proc/self/maps: %s", strerror(errno));
    char line[4096 + 128];
    int rc = KV_OK;
    while (rc == KV_OK && fgets(line, sizeof(line), f)) {
        unsigned long lo, hi;
        int name_at = 0;
        if (sscanf(line, "%lx-%lx %*s %*s %*s %*s %n", &lo, &hi, &name_at) != 2 || !name_at)
            continue;
        char *name = line + name_at;
        name[strcspn(name, "\n")] = '\0';
        if (strcmp(name, real) != 0)
            continue;
        rc = kv_pages_advise((void *)lo, hi - lo, p, err, errlen);
        if (rc == KV_OK)
            (*nmaps)++;
    }
    fclose(f);
    return rc;
}

const char *kv_config_opt(const kv_config *cfg, const char *key)
{
    const char *v = NULL;
    for (size_t i = 0; i < cfg->nopts; i++) /* the last -o wins, as on most command lines */
        if (strcmp(cfg->opts[i].key, key) == 0)
            v = cfg->opts[i].value;
    return v;
}

int kv_seterr(char *err, size_t errlen, int status, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return status;
}

int kv_config_opt_u64(const kv_config *cfg, const char *key, uint64_t *out, char *err, size_t errlen)
{
    const char *v = kv_config_opt(cfg, key);
    if (!v)
        return KV_OK;
    char *end = NULL;
    errno = 0;
    if (*v == '-' || *v == '\0')
        goto bad;
    unsigned long long x = strtoull(v, &end, 10);
    if (errno || end == v)
        goto bad;
    unsigned long long mul = 1;
    if (*end == 'K' || *end == 'k') mul = 1ull << 10, end++;
    else if (*end == 'M' || *end == 'm') mul = 1ull << 20, end++;
    else if (*end == 'G' || *end == 'g') mul = 1ull << 30, end++;
    if (*end != '\0' || (x && mul > UINT64_MAX / x))
        goto bad;
    *out = (uint64_t)(x * mul);
    return KV_OK;
bad:
    return kv_seterr(err, errlen, KV_EINVAL, "option %s=%s: expected a non-negative integer (K/M/G suffix allowed)",
                     key, v);
}

int kv_config_opt_bool(const kv_config *cfg, const char *key, int *out, char *err, size_t errlen)
{
    const char *v = kv_config_opt(cfg, key);
    if (!v)
        return KV_OK;
    static const char *yes[] = {"1", "true", "on", "yes"}, *no[] = {"0", "false", "off", "no"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(v, yes[i]) == 0) return *out = 1, KV_OK;
        if (strcasecmp(v, no[i]) == 0) return *out = 0, KV_OK;
    }
    return kv_seterr(err, errlen, KV_EINVAL, "option %s=%s: expected a boolean (1/0, true/false, on/off)", key, v);
}

void kv_describe_u64(kv_pair_cb cb, void *arg, const char *name, uint64_t v)
{
    char buf[32];
    snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v);
    cb(arg, name, buf);
}

int kv_dir_bytes(const char *dir, uint64_t *bytes)
{
    DIR *d = opendir(dir);
    if (!d)
        return KV_EIO;
    int rc = KV_OK;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        struct stat st;
        if (lstat(path, &st) != 0)
            continue; /* a file removed by background work between readdir and stat */
        if (S_ISDIR(st.st_mode))
            rc = kv_dir_bytes(path, bytes);
        else if (S_ISREG(st.st_mode))
            *bytes += (uint64_t)st.st_blocks * 512u;
        if (rc != KV_OK)
            break;
    }
    closedir(d);
    return rc;
}

void kv_key_be_encode(unsigned char out[8], int64_t key)
{
    uint64_t u = (uint64_t)key ^ (1ull << 63);
    for (int i = 7; i >= 0; i--, u >>= 8)
        out[i] = (unsigned char)u;
}

int64_t kv_key_be_decode(const void *in)
{
    const unsigned char *p = in;
    uint64_t u = 0;
    for (int i = 0; i < 8; i++)
        u = u << 8 | p[i];
    return (int64_t)(u ^ (1ull << 63));
}

uint64_t kv_data_bytes(const kv_config *cfg, uint64_t row_overhead)
{
    return cfg->expected_keys * ((cfg->value_size ? cfg->value_size : 100) + row_overhead);
}

uint64_t kv_cache_bytes(const kv_config *cfg, uint64_t row_overhead, uint64_t min_bytes)
{
    uint64_t data = kv_data_bytes(cfg, row_overhead);
    uint64_t bytes = cfg->memory_budget ? cfg->memory_budget : data + data / 2;
    return bytes < min_bytes ? min_bytes : bytes;
}

int kv_status_text_err(char *err, size_t errlen, const char *engine, const char *what, const char *msg)
{
    int st = KV_EIO;
    if (strstr(msg, "No space left") || strstr(msg, "NoSpace"))
        st = KV_ENOSPC;
    else if (strstr(msg, "lock") && strstr(msg, "IO error"))
        st = KV_EBUSY; /* the LOCK file held by another process */
    else if (strncmp(msg, "Corruption", 10) == 0)
        st = KV_ECORRUPT;
    else if (strncmp(msg, "Invalid argument", 16) == 0)
        st = KV_EINVAL;
    return kv_seterr(err, errlen, st, "%s: %s: %s", engine, what, msg);
}
