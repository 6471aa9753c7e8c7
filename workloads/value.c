/* value.c - self-verifying values: a 16-byte header and an incompressible body derived from the key. */
#include "workload.h"
#include "wl_internal.h"

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
enum kv_verdict kv_value_check(uint64_t seed, int64_t key, uint32_t expected_version, size_t expected_len,
                               const void *buf, size_t len)
{
    const unsigned char *p = buf;
    if (!p || len < KV_VALUE_MIN)
        return KV_VALUE_WRONG;
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
    if (diff != 0 || hkey != key || len != expected_len)
        return KV_VALUE_WRONG;
    if (hver == expected_version)
        return KV_VALUE_OK;
    return hver < expected_version ? KV_VALUE_STALE : KV_VALUE_WRONG;
}

enum kv_verdict kv_value_check_range(uint64_t seed, int64_t key, uint32_t lo, uint32_t hi, size_t expected_len,
                                     const void *buf, size_t len)
{
    if (!buf || len < KV_VALUE_MIN)
        return KV_VALUE_WRONG;
    uint32_t hver;
    memcpy(&hver, (const unsigned char *)buf + 8, 4);
    enum kv_verdict v = kv_value_check(seed, key, hver, expected_len, buf, len);
    if (v != KV_VALUE_OK)
        return v;
    return hver < lo ? KV_VALUE_STALE : hver > hi ? KV_VALUE_WRONG : KV_VALUE_OK;
}
