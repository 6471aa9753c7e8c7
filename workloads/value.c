/* value.c - self-verifying values: a 16-byte header and an incompressible body derived from the key. */
#include "workload.h"
#include "wl_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KV_GOLDEN 0x9e3779b97f4a7c15ULL

/* The seed of the body stream: any change of seed, key or version changes every body word. */
static inline uint64_t kv_value_seed(uint64_t seed, int64_t key, uint32_t version)
{
    /* two dependent mixes (not three): this chain is most of a short value's check latency */
    uint64_t x = kv__mix64(seed ^ ((uint64_t)key * 0xd1342543de82ef95ULL));
    return kv__mix64(x + (uint64_t)version * KV_GOLDEN);
}

/* Covers the length as well, so a truncated or padded copy of a valid value fails. */
static inline uint32_t kv_value_check32(uint64_t vseed, size_t len)
{
    return (uint32_t)(kv__mix64(vseed ^ ((uint64_t)len * 0xd6e8feb86659fd93ULL)) >> 32);
}

void kv_value_make(uint64_t seed, int64_t key, uint32_t version, void *buf, size_t len)
{
    unsigned char *p = buf;
    uint64_t vs = kv_value_seed(seed, key, version);
    uint32_t chk = kv_value_check32(vs, len);
    unsigned char hdr[KV_VALUE_MIN];
    memcpy(hdr, &key, 8);
    memcpy(hdr + 8, &version, 4);
    memcpy(hdr + 12, &chk, 4);
    memcpy(p, hdr, len < KV_VALUE_MIN ? len : KV_VALUE_MIN);
    size_t off = KV_VALUE_MIN;
    uint64_t s = vs;
    for (; off + 8 <= len; off += 8) {
        s += KV_GOLDEN;
        uint64_t w = kv__mix64(s);
        memcpy(p + off, &w, 8);
    }
    if (off < len) {
        s += KV_GOLDEN;
        uint64_t w = kv__mix64(s);
        memcpy(p + off, &w, len - off);
    }
}

/* The body is checked against the identity the header claims, without an early exit, so every byte
 * is read (that is the point for zero-copy engines) and a valid value of another key or of an older
 * version is told apart from corruption. */
/* The bytes verify for the identity the header claims (*hver), at this length. */
static int kv_value_bytes_ok(uint64_t seed, const unsigned char *p, size_t len, int64_t *hkey_out, uint32_t *hver_out)
{
    int64_t hkey;
    uint32_t hver, hchk;
    memcpy(&hkey, p, 8);
    memcpy(&hver, p + 8, 4);
    memcpy(&hchk, p + 12, 4);
    uint64_t vs = kv_value_seed(seed, hkey, hver);
    uint64_t diff = hchk ^ kv_value_check32(vs, len);
    size_t off = KV_VALUE_MIN;
    uint64_t s = vs;
    for (; off + 8 <= len; off += 8) {
        s += KV_GOLDEN;
        uint64_t w;
        memcpy(&w, p + off, 8);
        diff |= w ^ kv__mix64(s);
    }
    if (off < len) {
        s += KV_GOLDEN;
        uint64_t full = kv__mix64(s), want = 0, got = 0;
        memcpy(&want, &full, len - off); /* the same leading bytes make wrote */
        memcpy(&got, p + off, len - off);
        diff |= got ^ want;
    }
    *hkey_out = hkey;
    *hver_out = hver;
    return diff == 0;
}

/* The body is checked against the identity the header claims, without an early exit, so every byte
 * is read (that is the point for zero-copy engines) and a valid value of another key or of an older
 * version is told apart from corruption. The expected length is that of the header's version. */
static enum kv_verdict kv_value_verdict(uint64_t seed, int64_t key, uint32_t lo, uint32_t hi, const kv_valsize *vs,
                                        const void *buf, size_t len)
{
    if (!buf || len < KV_VALUE_MIN)
        return KV_VALUE_WRONG;
    int64_t hkey;
    uint32_t hver;
    int ok = kv_value_bytes_ok(seed, buf, len, &hkey, &hver);
    if (!ok || hkey != key || len != kv_value_len(vs, seed, key, hver))
        return KV_VALUE_WRONG;
    return hver < lo ? KV_VALUE_STALE : hver > hi ? KV_VALUE_WRONG : KV_VALUE_OK;
}

enum kv_verdict kv_value_check(uint64_t seed, int64_t key, uint32_t expected_version, size_t expected_len,
                               const void *buf, size_t len)
{
    kv_valsize vs = {.kind = KV_VSIZE_FIXED, .min = (uint32_t)expected_len, .max = (uint32_t)expected_len};
    if (expected_len > UINT32_MAX)
        return KV_VALUE_WRONG;
    return kv_value_verdict(seed, key, expected_version, expected_version, &vs, buf, len);
}

enum kv_verdict kv_value_check_vs(uint64_t seed, int64_t key, uint32_t expected_version, const kv_valsize *vs,
                                  const void *buf, size_t len)
{
    return kv_value_verdict(seed, key, expected_version, expected_version, vs, buf, len);
}

enum kv_verdict kv_value_check_range_vs(uint64_t seed, int64_t key, uint32_t lo, uint32_t hi, const kv_valsize *vs,
                                        const void *buf, size_t len)
{
    return kv_value_verdict(seed, key, lo, hi, vs, buf, len);
}

enum kv_verdict kv_value_check_range(uint64_t seed, int64_t key, uint32_t lo, uint32_t hi, size_t expected_len,
                                     const void *buf, size_t len)
{
    kv_valsize vs = {.kind = KV_VSIZE_FIXED, .min = (uint32_t)expected_len, .max = (uint32_t)expected_len};
    if (expected_len > UINT32_MAX)
        return KV_VALUE_WRONG;
    return kv_value_verdict(seed, key, lo, hi, &vs, buf, len);
}

/* ---------- value sizes ---------- */

void kv_valsize_fixed(kv_valsize *vs, uint32_t size)
{
    memset(vs, 0, sizeof(*vs));
    vs->kind = KV_VSIZE_FIXED;
    vs->min = vs->max = size;
}

/* Its own stream per (key, version): a seed derived like the value's, so sizes do not correlate with
 * value bytes of the same key. */
size_t kv_value_len_slow(const kv_valsize *vs, uint64_t seed, int64_t key, uint32_t version)
{
    uint64_t span = (uint64_t)vs->max - vs->min + 1;
    kv_rng r;
    kv_rng_seed(&r, kv_value_seed(seed ^ 0x73697a65ULL, key, version));
    switch (vs->kind) {
    case KV_VSIZE_UNIFORM: return vs->min + (size_t)kv_rng_below(&r, span);
    case KV_VSIZE_ZIPF: return vs->min + (size_t)kv_zipf_next(&vs->zipf, &r);
    default: return vs->min;
    }
}

static int kv_vs_err(char *err, size_t errlen, const char *spec, const char *why)
{
    if (err && errlen)
        snprintf(err, errlen, "--value-size '%s': %s", spec, why);
    errno = EINVAL;
    return -1;
}

static int kv_vs_num(const char *s, char **end, uint64_t *out)
{
    if (*s < '0' || *s > '9')
        return -1;
    errno = 0;
    unsigned long long v = strtoull(s, end, 10);
    if (errno)
        return -1;
    *out = v;
    return 0;
}

int kv_valsize_parse(const char *s, uint32_t max_size, kv_valsize *out, char *err, size_t errlen)
{
    char why[256];
    kv_valsize vs;
    memset(&vs, 0, sizeof(vs));
    const char *p = s;
    if (strncmp(s, "uniform:", 8) == 0)
        vs.kind = KV_VSIZE_UNIFORM, p = s + 8;
    else if (strncmp(s, "zipf:", 5) == 0)
        vs.kind = KV_VSIZE_ZIPF, p = s + 5;
    char *end;
    uint64_t a, b;
    if (kv_vs_num(p, &end, &a) != 0)
        return kv_vs_err(err, errlen, s, "expected a size in bytes, uniform:MIN-MAX or zipf:MIN-MAX");
    b = a;
    if (vs.kind != KV_VSIZE_FIXED) {
        if (*end != '-' || kv_vs_num(end + 1, &end, &b) != 0)
            return kv_vs_err(err, errlen, s, "expected MIN-MAX after the distribution, e.g. uniform:16-1024");
        if (b < a)
            return kv_vs_err(err, errlen, s, "MAX is below MIN");
    }
    if (*end)
        return kv_vs_err(err, errlen, s, "trailing characters; expected e.g. 100, uniform:16-1024 or zipf:16-4096");
    if (a < KV_VALUE_MIN) {
        snprintf(why, sizeof(why), "the smallest size %llu is below %d bytes, the verification header every value "
                 "carries", (unsigned long long)a, KV_VALUE_MIN);
        return kv_vs_err(err, errlen, s, why);
    }
    if (b > max_size) {
        snprintf(why, sizeof(why), "the largest size %llu is above %u bytes", (unsigned long long)b, max_size);
        return kv_vs_err(err, errlen, s, why);
    }
    vs.min = (uint32_t)a, vs.max = (uint32_t)b;
    if (vs.kind == KV_VSIZE_ZIPF && kv_zipf_init(&vs.zipf, b - a + 1, 0.99) != 0)
        return kv_vs_err(err, errlen, s, "bad range");
    *out = vs;
    return 0;
}

const char *kv_valsize_str(const kv_valsize *vs, char *buf, size_t len)
{
    if (vs->kind == KV_VSIZE_FIXED)
        snprintf(buf, len, "%u", vs->min);
    else
        snprintf(buf, len, "%s:%u-%u", vs->kind == KV_VSIZE_UNIFORM ? "uniform" : "zipf", vs->min, vs->max);
    return buf;
}
