/* sha256.c - SHA-256 (FIPS 180-4, section 6.2), written from the standard, to fingerprint key files.
 *
 * The round constants and initial hash value are the standard's definitions (the first 32 bits of
 * the fractional parts of the cube roots of the first 64 primes, and of the square roots of the
 * first 8), computed once instead of typed in; tests/test_keyfile.c checks the digest against the
 * standard's examples. */
#include "workload.h"

#include <math.h>
#include <pthread.h>
#include <string.h>

static uint32_t kv_sha_k[64], kv_sha_h0[8];
static pthread_once_t kv_sha_once = PTHREAD_ONCE_INIT;

/* first 32 bits of the fractional part of x (x < 2^21 keeps 32 fraction bits exact in a double) */
static uint32_t frac32(double x) { return (uint32_t)((x - floor(x)) * 4294967296.0); }

static void kv_sha_init_tables(void)
{
    int primes[64], np = 0;
    for (int c = 2; np < 64; c++) {
        int prime = 1;
        for (int d = 2; d * d <= c; d++)
            if (c % d == 0)
                prime = 0;
        if (prime)
            primes[np++] = c;
    }
    for (int i = 0; i < 64; i++)
        kv_sha_k[i] = frac32(cbrt((double)primes[i]));
    for (int i = 0; i < 8; i++)
        kv_sha_h0[i] = frac32(sqrt((double)primes[i]));
}

static inline uint32_t rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

static void kv_sha_block(uint32_t h[8], const unsigned char *p)
{
    uint32_t w[64];
    for (int t = 0; t < 16; t++)
        w[t] = (uint32_t)p[4 * t] << 24 | (uint32_t)p[4 * t + 1] << 16 | (uint32_t)p[4 * t + 2] << 8 | p[4 * t + 3];
    for (int t = 16; t < 64; t++) {
        uint32_t s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >> 3);
        uint32_t s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >> 10);
        w[t] = w[t - 16] + s0 + w[t - 7] + s1;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (int t = 0; t < 64; t++) {
        uint32_t t1 = hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + kv_sha_k[t] + w[t];
        uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        hh = g, g = f, f = e, e = d + t1, d = c, c = b, b = a, a = t1 + t2;
    }
    h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += hh;
}

void kv_sha256_init(kv_sha256 *s)
{
    pthread_once(&kv_sha_once, kv_sha_init_tables);
    memcpy(s->h, kv_sha_h0, sizeof(s->h));
    s->len = 0;
    s->fill = 0;
}

void kv_sha256_update(kv_sha256 *s, const void *data, size_t len)
{
    const unsigned char *p = data;
    s->len += len;
    if (s->fill) {
        size_t take = 64 - s->fill < len ? 64 - s->fill : len;
        memcpy(s->buf + s->fill, p, take);
        s->fill += take, p += take, len -= take;
        if (s->fill < 64)
            return;
        kv_sha_block(s->h, s->buf);
        s->fill = 0;
    }
    for (; len >= 64; p += 64, len -= 64)
        kv_sha_block(s->h, p);
    memcpy(s->buf, p, len);
    s->fill = len;
}

void kv_sha256_final(kv_sha256 *s, char hex[65])
{
    uint64_t bits = s->len * 8;
    unsigned char pad = 0x80, zero = 0, lenbuf[8];
    kv_sha256_update(s, &pad, 1);
    while (s->fill != 56)
        kv_sha256_update(s, &zero, 1);
    for (int i = 0; i < 8; i++)
        lenbuf[i] = (unsigned char)(bits >> (56 - 8 * i));
    kv_sha256_update(s, lenbuf, 8);
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < 8; i++)
        for (int j = 0; j < 8; j++)
            hex[8 * i + j] = digits[(s->h[i] >> (28 - 4 * j)) & 0xf];
    hex[64] = '\0';
}
