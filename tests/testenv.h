/* testenv.h - the small helpers several C tests share. Header-only (static inline): include it in a
 * test file. */
#ifndef KV_TESTS_TESTENV_H
#define KV_TESTS_TESTENV_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ctest sets KV_SANITIZED=1 in the ASan and TSan builds: tests shrink their sizes there so the whole
 * `make test` stays within its time budget. */
static inline int sanitized(void)
{
    const char *s = getenv("KV_SANITIZED");
    return s && strcmp(s, "1") == 0;
}

/* splitmix64: a fast, seeded generator of test keys; *s is its state. */
static inline uint64_t rnd(uint64_t *s)
{
    uint64_t x = (*s += 0x9e3779b97f4a7c15ull);
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

#endif
