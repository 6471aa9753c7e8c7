/* test_conformance.c - the behaviour every registered engine must show, run against each of kv_engines[]. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "engine.h"

#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Every failure names the engine, the line and what differed. */
#define EXPECT(cond, ...)                                                                      \
    do {                                                                                       \
        if (!(cond)) {                                                                         \
            print_error("[engine %s] %s:%d: %s: ", cur_engine, __FILE__, __LINE__, #cond);     \
            print_error(__VA_ARGS__);                                                          \
            print_error("\n");                                                                 \
            fail();                                                                            \
        }                                                                                      \
    } while (0)
#define EXPECT_RC(want, call, errsrc)                                                          \
    do {                                                                                       \
        int rc_ = (call);                                                                      \
        EXPECT(rc_ == (want), "%s returned %d (%s), want %d; err: %s", #call, rc_,             \
               kv_strerror(rc_), (want), (errsrc));                                            \
    } while (0)

static const char *cur_engine = "?";
/* `test_conformance ENGINE key=value...`: engine options for every open (e.g. index=btree). */
#define MAX_CONF_OPTS 8
static kv_option conf_opts[MAX_CONF_OPTS];
static char conf_opt_buf[MAX_CONF_OPTS][128];
static size_t conf_nopts;

typedef struct fixture {
    const kv_engine_ops *ops;
    char dir[64];
    kv_engine *e;
    kv_session *s;
    kv_config cfg;
    char err[512];
} fixture;

static size_t scaled(size_t n) /* sanitizer builds run the same checks on fewer keys */
{
    const char *s = getenv("KV_SANITIZED");
    return s && strcmp(s, "1") == 0 ? n / 5 : n;
}

static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* A value that depends on (key, version), so a stale or foreign value cannot pass. */
static void make_value(int64_t key, unsigned version, unsigned char *out, size_t len)
{
    uint64_t h = mix((uint64_t)key * 31 + version);
    for (size_t i = 0; i < len; i++) {
        if (i % 8 == 0)
            h = mix(h);
        out[i] = (unsigned char)(h >> (8 * (i % 8)));
    }
}

static int rm_cb(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)st, (void)flag, (void)f;
    return remove(p);
}

static void fx_open(fixture *fx, enum kv_durability d)
{
    fx->cfg.dir = fx->dir;
    fx->cfg.durability = d;
    fx->cfg.expected_keys = 20000;
    fx->cfg.opts = conf_nopts ? conf_opts : NULL;
    fx->cfg.nopts = conf_nopts;
    fx->cfg.value_size = 100;
    fx->cfg.threads = 2;
    if (!(fx->ops->caps & KV_CAP_THREADS))
        fx->cfg.threads = 1;
    EXPECT_RC(KV_OK, kv_engine_open(fx->ops, &fx->cfg, &fx->e, fx->err, sizeof(fx->err)), fx->err);
    EXPECT_RC(KV_OK, fx->ops->session_open(fx->e, &fx->s), fx->e->err);
}

static void fx_close(fixture *fx)
{
    if (fx->s)
        fx->ops->session_close(fx->s);
    fx->s = NULL;
    if (fx->e) {
        kv_engine *e = fx->e;
        fx->e = NULL;
        int rc = fx->ops->close(e);
        EXPECT(rc == KV_OK, "close returned %d", rc);
    }
}

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof(*fx));
    fx->ops = *state;
    cur_engine = fx->ops->name;
    snprintf(fx->dir, sizeof(fx->dir), "/tmp/kvconf-%s-XXXXXX", fx->ops->name);
    if (!mkdtemp(fx->dir)) {
        free(fx);
        return -1;
    }
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    if (fx->s)
        fx->ops->session_close(fx->s);
    if (fx->e)
        fx->ops->close(fx->e);
    nftw(fx->dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    free(fx);
    return 0;
}

static int discards(const fixture *fx) { return (fx->ops->caps & KV_CAP_DISCARDS) != 0; }

/* get(key) must be KV_OK with exactly the (key, version) value of length len. */
static void check_value(fixture *fx, kv_session *s, int64_t key, unsigned version, size_t len)
{
    static unsigned char want[65536];
    kv_slice v = {0};
    int rc = fx->ops->get(s, key, &v);
    if (discards(fx)) {
        EXPECT(rc == KV_OK || rc == KV_NOTFOUND, "get(%lld) = %d: %s", (long long)key, rc, s->err);
        return;
    }
    EXPECT(rc == KV_OK, "get(%lld) = %d (%s), want KV_OK: %s", (long long)key, rc, kv_strerror(rc), s->err);
    EXPECT(v.len == len, "get(%lld): length %zu, want %zu", (long long)key, v.len, len);
    EXPECT(len == 0 || v.data != NULL, "get(%lld): NULL data", (long long)key);
    make_value(key, version, want, len);
    EXPECT(len == 0 || memcmp(v.data, want, len) == 0, "get(%lld): wrong bytes (version %u)", (long long)key,
           version);
}

static void check_absent(fixture *fx, kv_session *s, int64_t key)
{
    kv_slice v;
    int rc = fx->ops->get(s, key, &v);
    EXPECT(rc == KV_NOTFOUND, "get(%lld) of an absent key = %d (%s): %s", (long long)key, rc, kv_strerror(rc),
           s->err);
}

static void put_value(fixture *fx, kv_session *s, int64_t key, unsigned version, size_t len)
{
    static unsigned char buf[65536];
    make_value(key, version, buf, len);
    EXPECT_RC(KV_OK, fx->ops->put(s, key, buf, len), s->err);
}

static void test_basic(void **state)
{
    fixture *fx = *state;
    fx_open(fx, KV_DUR_NONE);
    EXPECT(fx->ops->lib_version() && fx->ops->lib_version()[0], "empty lib_version");
    check_absent(fx, fx->s, 42);
    put_value(fx, fx->s, 42, 1, 100);
    check_value(fx, fx->s, 42, 1, 100);
    put_value(fx, fx->s, 42, 2, 100); /* update, same size */
    check_value(fx, fx->s, 42, 2, 100);
    put_value(fx, fx->s, 42, 3, 300); /* update, larger */
    check_value(fx, fx->s, 42, 3, 300);
    put_value(fx, fx->s, 42, 4, 10); /* update, smaller */
    check_value(fx, fx->s, 42, 4, 10);
    put_value(fx, fx->s, 43, 1, 100);
    EXPECT_RC(KV_OK, fx->ops->del(fx->s, 42), fx->s->err);
    if (!discards(fx))
        check_absent(fx, fx->s, 42);
    check_value(fx, fx->s, 43, 1, 100); /* a neighbour survives the delete */
    EXPECT_RC(KV_OK, fx->ops->del(fx->s, 42), fx->s->err); /* deleting an absent key is fine */
    EXPECT_RC(KV_OK, fx->ops->del(fx->s, 999999), fx->s->err);
    if (!discards(fx)) {
        check_absent(fx, fx->s, 44);
        check_absent(fx, fx->s, -43);
    }
    put_value(fx, fx->s, 42, 5, 100); /* reinsert after delete */
    check_value(fx, fx->s, 42, 5, 100);
    fx_close(fx);
}

static const int64_t edge_keys[] = {INT64_MIN, INT64_MIN + 1, -1, 0, 1, INT64_MAX - 1, INT64_MAX};
#define NEDGE (sizeof(edge_keys) / sizeof(edge_keys[0]))

typedef struct scan_acc {
    int64_t *keys;
    size_t n, cap;
    int bad_value;
    int64_t first_bad;
    size_t vlen;
    int check_values;
} scan_acc;

static int scan_cb(void *arg, int64_t key, kv_slice value)
{
    scan_acc *a = arg;
    if (a->n < a->cap)
        a->keys[a->n] = key;
    a->n++;
    if (a->check_values) {
        unsigned char want[128];
        make_value(key, 1, want, a->vlen);
        if (value.len != a->vlen || memcmp(value.data, want, a->vlen) != 0) {
            if (!a->bad_value)
                a->first_bad = key;
            a->bad_value = 1;
        }
    }
    return 0;
}

static void test_edge_keys(void **state)
{
    fixture *fx = *state;
    fx_open(fx, KV_DUR_NONE);
    for (size_t i = 0; i < NEDGE; i++)
        put_value(fx, fx->s, edge_keys[i], 1, 16);
    for (size_t i = 0; i < NEDGE; i++)
        check_value(fx, fx->s, edge_keys[i], 1, 16);
    if (!discards(fx)) {
        check_absent(fx, fx->s, -2);
        check_absent(fx, fx->s, INT64_MIN + 2);
        check_absent(fx, fx->s, INT64_MAX - 2);
    }
    if ((fx->ops->caps & KV_CAP_SCAN) && !discards(fx)) {
        int64_t got[16];
        scan_acc a = {.keys = got, .cap = 16, .vlen = 16};
        size_t visited = 0;
        EXPECT_RC(KV_OK, fx->ops->scan(fx->s, INT64_MIN, 100, scan_cb, &a, &visited), fx->s->err);
        EXPECT(a.n == NEDGE && visited == NEDGE, "scan from INT64_MIN saw %zu (visited %zu), want %zu", a.n,
               visited, NEDGE);
        for (size_t i = 0; i < NEDGE && i < a.n; i++)
            EXPECT(got[i] == edge_keys[i], "scan position %zu: key %lld, want %lld", i, (long long)got[i],
                   (long long)edge_keys[i]);
        a.n = 0;
        EXPECT_RC(KV_OK, fx->ops->scan(fx->s, -2, 100, scan_cb, &a, &visited), fx->s->err);
        EXPECT(a.n == 5 && got[0] == -1, "scan from -2 saw %zu keys starting %lld, want 5 from -1", a.n,
               (long long)(a.n ? got[0] : 0));
        a.n = 0;
        EXPECT_RC(KV_OK, fx->ops->scan(fx->s, INT64_MAX, 100, scan_cb, &a, &visited), fx->s->err);
        EXPECT(a.n == 1 && got[0] == INT64_MAX, "scan from INT64_MAX saw %zu keys", a.n);
    }
    fx_close(fx);
}

static void test_value_sizes(void **state)
{
    fixture *fx = *state;
    fx_open(fx, KV_DUR_NONE);
    put_value(fx, fx->s, 7, 1, 0);
    put_value(fx, fx->s, 8, 1, 65536);
    put_value(fx, fx->s, 9, 1, 1);
    check_value(fx, fx->s, 7, 1, 0);
    check_value(fx, fx->s, 8, 1, 65536);
    check_value(fx, fx->s, 9, 1, 1);
    put_value(fx, fx->s, 8, 2, 0); /* 64 KiB -> empty */
    check_value(fx, fx->s, 8, 2, 0);
    put_value(fx, fx->s, 7, 2, 65536); /* empty -> 64 KiB */
    check_value(fx, fx->s, 7, 2, 65536);
    fx_close(fx);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Lower bound of `from` in the sorted key array. */
static size_t lower_bound(const int64_t *k, size_t n, int64_t from)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (k[mid] < from)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void check_scan(fixture *fx, const int64_t *sorted, size_t n, int64_t from, size_t count)
{
    size_t start = lower_bound(sorted, n, from);
    size_t want = n - start < count ? n - start : count;
    int64_t *got = calloc(want + 1, sizeof(*got));
    scan_acc a = {.keys = got, .cap = want + 1, .vlen = 100, .check_values = 1};
    size_t visited = 0;
    EXPECT_RC(KV_OK, fx->ops->scan(fx->s, from, count, scan_cb, &a, &visited), fx->s->err);
    EXPECT(a.n == want && visited == want, "scan(from %lld, count %zu): %zu records (visited %zu), want %zu",
           (long long)from, count, a.n, visited, want);
    for (size_t i = 0; i < want; i++)
        EXPECT(got[i] == sorted[start + i], "scan(from %lld): position %zu key %lld, want %lld",
               (long long)from, i, (long long)got[i], (long long)sorted[start + i]);
    EXPECT(!a.bad_value, "scan(from %lld): wrong value for key %lld", (long long)from, (long long)a.first_bad);
    free(got);
}

typedef struct stop_acc {
    size_t seen;
} stop_acc;

static int stop_after_3(void *arg, int64_t key, kv_slice v)
{
    (void)key, (void)v;
    return ++((stop_acc *)arg)->seen >= 3;
}

static void test_random_keys(void **state)
{
    fixture *fx = *state;
    size_t n = scaled(10000);
    int64_t *keys = malloc(n * sizeof(*keys));
    fx_open(fx, KV_DUR_NONE);
    for (size_t i = 0; i < n; i++) {
        /* half the keys small and clustered, half spread over the whole int64 range */
        uint64_t r = mix(i + 12345);
        keys[i] = (i & 1) ? (int64_t)r : (int64_t)(r % 40000) - 20000;
        put_value(fx, fx->s, keys[i], 1, 100);
    }
    qsort(keys, n, sizeof(*keys), cmp_i64);
    size_t u = 0; /* the clustered half repeats keys: later puts of the same key wrote the same value */
    for (size_t i = 0; i < n; i++)
        if (u == 0 || keys[i] != keys[u - 1])
            keys[u++] = keys[i];
    for (size_t i = 0; i < u; i++)
        check_value(fx, fx->s, keys[i], 1, 100);
    if ((fx->ops->caps & KV_CAP_SCAN) && !discards(fx)) {
        check_scan(fx, keys, u, INT64_MIN, u + 10);
        check_scan(fx, keys, u, -20000, 50);
        check_scan(fx, keys, u, -7, 1000);
        check_scan(fx, keys, u, keys[u / 2], 100); /* start exactly on a key */
        check_scan(fx, keys, u, keys[u / 3] + 1, 100);
        check_scan(fx, keys, u, keys[u - 1], 10);
        check_scan(fx, keys, u, keys[u - 1] + 1, 10); /* past the end: nothing */
        check_scan(fx, keys, u, INT64_MIN / 2, 1);
        check_scan(fx, keys, u, 0, 0);
        stop_acc st = {0};
        size_t visited = 0;
        EXPECT_RC(KV_OK, fx->ops->scan(fx->s, INT64_MIN, 100, stop_after_3, &st, &visited), fx->s->err);
        EXPECT(st.seen == 3 && visited == 3, "scan stopped by callback: seen %zu, visited %zu, want 3", st.seen,
               visited);
        /* deleted keys disappear from scans */
        EXPECT_RC(KV_OK, fx->ops->del(fx->s, keys[u / 2]), fx->s->err);
        memmove(&keys[u / 2], &keys[u / 2 + 1], (u - u / 2 - 1) * sizeof(*keys));
        u--;
        check_scan(fx, keys, u, keys[u / 2 - 2], 10);
    }
    fx_close(fx);
    free(keys);
}

static void count_pair(void *arg, const char *name, const char *value)
{
    EXPECT(name && name[0] && value, "describe/stats gave an empty name or NULL value");
    (*(size_t *)arg)++;
}

static void test_introspection(void **state)
{
    fixture *fx = *state;
    char err[512];
    EXPECT_RC(KV_OK, kv_engine_check(fx->ops, err, sizeof(err)), err);
    EXPECT(fx->ops->description && fx->ops->description[0], "no description");
    fx_open(fx, KV_DUR_NONE);
    put_value(fx, fx->s, 1, 1, 100);
    size_t n = 0;
    fx->ops->describe(fx->e, count_pair, &n);
    EXPECT(n > 0, "describe reported no knobs");
    if (fx->ops->stats) {
        n = 0;
        fx->ops->stats(fx->e, count_pair, &n);
        EXPECT(n > 0, "stats reported nothing");
    }
    if (fx->ops->sync)
        EXPECT_RC(KV_OK, fx->ops->sync(fx->s), fx->s->err);
    int (*settle)(kv_engine *) = KV_ENGINE_SETTLE(fx->ops);
    if (settle) { /* the steady state keeps every record and leaves the store writable */
        EXPECT_RC(KV_OK, settle(fx->e), fx->e->err);
        check_value(fx, fx->s, 1, 1, 100);
        put_value(fx, fx->s, 2, 1, 100);
        check_value(fx, fx->s, 2, 1, 100);
    }
    if (fx->ops->disk_bytes) {
        uint64_t bytes = 0;
        EXPECT_RC(KV_OK, fx->ops->disk_bytes(fx->e, &bytes), fx->e->err);
        EXPECT(!(fx->ops->caps & KV_CAP_PERSISTENT) || bytes > 0, "disk_bytes = 0 for a persistent engine");
    }
    fx_close(fx);
}

static void test_persistence(void **state)
{
    fixture *fx = *state;
    if (!(fx->ops->caps & KV_CAP_PERSISTENT) || discards(fx))
        skip();
    size_t n = scaled(2000);
    fx_open(fx, KV_DUR_NONE);
    for (size_t i = 0; i < n; i++)
        put_value(fx, fx->s, (int64_t)mix(i), 1, 100);
    put_value(fx, fx->s, 5, 1, 100);
    EXPECT_RC(KV_OK, fx->ops->del(fx->s, 5), fx->s->err);
    fx_close(fx);
    fx_open(fx, KV_DUR_NONE);
    for (size_t i = 0; i < n; i++)
        check_value(fx, fx->s, (int64_t)mix(i), 1, 100);
    check_absent(fx, fx->s, 5);
    put_value(fx, fx->s, 6, 2, 100); /* still writable after reopen */
    fx_close(fx);
    fx_open(fx, (fx->ops->caps & KV_CAP_DUR_SYNC) ? KV_DUR_SYNC : KV_DUR_NONE); /* reopen at another level */
    check_value(fx, fx->s, 6, 2, 100);
    check_value(fx, fx->s, (int64_t)mix(0), 1, 100);
    fx_close(fx);
}

typedef struct writer_arg {
    fixture *fx;
    kv_session *s;
    int64_t base;
    size_t n;
    int rc;
    char err[512];
} writer_arg;

static void *writer(void *p)
{
    writer_arg *w = p;
    unsigned char buf[100];
    for (size_t i = 0; i < w->n && w->rc == KV_OK; i++) {
        make_value(w->base + (int64_t)i, 1, buf, sizeof(buf));
        w->rc = w->fx->ops->put(w->s, w->base + (int64_t)i, buf, sizeof(buf));
        kv_slice v;
        if (w->rc == KV_OK && !(w->fx->ops->caps & KV_CAP_DISCARDS)) {
            int g = w->fx->ops->get(w->s, w->base + (int64_t)i, &v);
            if (g != KV_OK || v.len != 100 || memcmp(v.data, buf, 100) != 0)
                w->rc = g == KV_OK ? KV_EINTERNAL : (g == KV_NOTFOUND ? KV_EINTERNAL : g);
        }
    }
    if (w->rc != KV_OK)
        snprintf(w->err, sizeof(w->err), "%s", w->s->err);
    return NULL;
}

static void test_two_sessions(void **state)
{
    fixture *fx = *state;
    if (!(fx->ops->caps & KV_CAP_THREADS))
        skip();
    fx_open(fx, KV_DUR_NONE);
    kv_session *s2 = NULL;
    EXPECT_RC(KV_OK, fx->ops->session_open(fx->e, &s2), fx->e->err);
    if (!discards(fx)) {
        put_value(fx, fx->s, 100, 1, 100);
        check_value(fx, s2, 100, 1, 100); /* s2 sees s1's write */
        check_value(fx, fx->s, 100, 1, 100);
        put_value(fx, s2, 100, 2, 100);
        check_value(fx, fx->s, 100, 2, 100); /* s1 sees s2's update after having read the old one */
        EXPECT_RC(KV_OK, fx->ops->del(s2, 100), s2->err);
        check_absent(fx, fx->s, 100);
    }
    /* two threads writing and reading back at once */
    size_t n = scaled(2000);
    writer_arg w[2] = {{fx, fx->s, 1000000, n, KV_OK, ""}, {fx, s2, -1000000, n, KV_OK, ""}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        EXPECT(pthread_create(&t[i], NULL, writer, &w[i]) == 0, "pthread_create");
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < 2; i++)
        EXPECT(w[i].rc == KV_OK, "concurrent writer %d: %d (%s) %s", i, w[i].rc, kv_strerror(w[i].rc),
               w[i].err);
    if (!discards(fx))
        for (size_t i = 0; i < n; i += 97) {
            check_value(fx, s2, 1000000 + (int64_t)i, 1, 100);
            check_value(fx, fx->s, -1000000 + (int64_t)i, 1, 100);
        }
    fx->ops->session_close(s2);
    fx_close(fx);
}

static void test_durability_levels(void **state)
{
    fixture *fx = *state;
    for (int d = KV_DUR_NONE; d <= KV_DUR_GROUP; d++) {
        kv_config cfg = {.dir = fx->dir, .durability = (enum kv_durability)d, .expected_keys = 1000,
                         .value_size = 100, .threads = 1};
        kv_engine *e = NULL;
        char err[512] = "";
        int rc = kv_engine_open(fx->ops, &cfg, &e, err, sizeof(err));
        if (fx->ops->caps & KV_CAP_DUR(d)) {
            EXPECT(rc == KV_OK, "durability %s is in caps but open gave %d: %s", kv_durability_name(d), rc,
                   err);
            kv_session *s = NULL;
            EXPECT_RC(KV_OK, fx->ops->session_open(e, &s), e->err);
            fx->e = e; /* so a failed check below still closes it in teardown */
            fx->s = s;
            put_value(fx, s, d, 1, 100);
            check_value(fx, s, d, 1, 100);
            if (fx->ops->sync)
                EXPECT_RC(KV_OK, fx->ops->sync(s), s->err);
            fx_close(fx);
        } else {
            EXPECT(rc == KV_ENOTSUP, "durability %s not in caps: open gave %d, want KV_ENOTSUP",
                   kv_durability_name(d), rc);
            EXPECT(e == NULL, "failed open left a handle");
            EXPECT(err[0] != '\0', "no message for an unsupported durability level");
        }
    }
}

static void test_bad_options(void **state)
{
    fixture *fx = *state;
    kv_option bad = {"no_such_option_xyz", "1"};
    kv_config cfg = {.dir = fx->dir, .durability = KV_DUR_NONE, .threads = 1, .opts = &bad, .nopts = 1};
    kv_engine *e = NULL;
    char err[512] = "";
    int rc = kv_engine_open(fx->ops, &cfg, &e, err, sizeof(err));
    EXPECT(rc == KV_EINVAL, "unknown option: open gave %d, want KV_EINVAL", rc);
    EXPECT(strstr(err, "no_such_option_xyz") != NULL, "message does not name the bad key: '%s'", err);
    EXPECT(e == NULL, "failed open left a handle");
    /* every declared option rejects a value that no option can mean */
    for (const kv_option_spec *o = fx->ops->options; o && o->key; o++) {
        EXPECT(o->help && o->help[0], "option %s has no help string", o->key);
        kv_option badv = {o->key, "?bogus-value?"};
        cfg.opts = &badv;
        err[0] = '\0';
        rc = kv_engine_open(fx->ops, &cfg, &e, err, sizeof(err));
        if (rc == KV_OK) {
            fx->ops->close(e);
            e = NULL;
        }
        EXPECT(rc == KV_EINVAL, "option %s=?bogus-value?: open gave %d, want KV_EINVAL", o->key, rc);
        EXPECT(err[0] != '\0', "option %s: no message", o->key);
        EXPECT(e == NULL, "failed open left a handle");
    }
}

static void test_bad_directory(void **state)
{
    fixture *fx = *state;
    if (!(fx->ops->caps & KV_CAP_PERSISTENT) || discards(fx))
        skip();
    char file[128], sub[160];
    snprintf(file, sizeof(file), "%s/regular-file", fx->dir);
    FILE *f = fopen(file, "w");
    EXPECT(f != NULL, "cannot create %s", file);
    fputs("not a directory\n", f);
    fclose(f);
    snprintf(sub, sizeof(sub), "%s/store", file); /* a path under a regular file: ENOTDIR even for root */
    kv_config cfg = {.dir = sub, .durability = KV_DUR_NONE, .threads = 1, .expected_keys = 1000,
                     .value_size = 100};
    kv_engine *e = NULL;
    char err[512] = "";
    int rc = kv_engine_open(fx->ops, &cfg, &e, err, sizeof(err));
    if (rc == KV_OK && e)
        fx->ops->close(e);
    EXPECT(rc < 0, "open of %s gave %d, want a negative status", sub, rc);
    EXPECT(err[0] != '\0', "open of an unusable directory left no message");
    EXPECT(rc == KV_OK || e == NULL, "failed open left a handle");
}

/* A store left by this engine, opened by every other persistent engine: a clear refusal naming the owner,
 * no crash, and the store still intact for its own engine afterwards. A directory with stray files and
 * no owner is refused as well. */
static void test_foreign_store(void **state)
{
    fixture *fx = *state;
    if (!(fx->ops->caps & KV_CAP_PERSISTENT) || discards(fx))
        skip();
    fx_open(fx, KV_DUR_NONE);
    put_value(fx, fx->s, 77, 1, 100);
    fx_close(fx);
    for (size_t i = 0; kv_engines[i]; i++) {
        const kv_engine_ops *other = kv_engines[i];
        if (other == fx->ops || !(other->caps & KV_CAP_PERSISTENT))
            continue;
        kv_config cfg = {.dir = fx->dir, .durability = KV_DUR_NONE, .threads = 1, .expected_keys = 1000,
                         .value_size = 100};
        kv_engine *e = NULL;
        char err[512] = "";
        int rc = kv_engine_open(other, &cfg, &e, err, sizeof(err));
        if (rc == KV_OK && e)
            other->close(e);
        EXPECT(rc == KV_EINVAL, "%s opening a %s store gave %d (%s), want KV_EINVAL", other->name, fx->ops->name,
               rc, kv_strerror(rc));
        EXPECT(rc == KV_OK || e == NULL, "failed open left a handle");
        EXPECT(strstr(err, fx->ops->name) != NULL, "%s's refusal does not name the owner %s: '%s'", other->name,
               fx->ops->name, err);
    }
    fx_open(fx, KV_DUR_NONE); /* nothing was touched */
    check_value(fx, fx->s, 77, 1, 100);
    fx_close(fx);

    char stray_dir[160], stray[200];
    snprintf(stray_dir, sizeof(stray_dir), "%s/stray", fx->dir);
    EXPECT(mkdir(stray_dir, 0755) == 0, "mkdir %s", stray_dir);
    snprintf(stray, sizeof(stray), "%s/data.bin", stray_dir);
    FILE *f = fopen(stray, "w");
    EXPECT(f != NULL, "cannot create %s", stray);
    fputs("not a store\n", f);
    fclose(f);
    kv_config cfg = {.dir = stray_dir, .durability = KV_DUR_NONE, .threads = 1, .expected_keys = 1000,
                     .value_size = 100};
    kv_engine *e = NULL;
    char err[512] = "";
    int rc = kv_engine_open(fx->ops, &cfg, &e, err, sizeof(err));
    if (rc == KV_OK && e)
        fx->ops->close(e);
    EXPECT(rc == KV_EINVAL && strstr(err, "not empty") != NULL,
           "open of a directory with stray files gave %d: '%s', want KV_EINVAL naming it", rc, err);
}

static int run_engine(const kv_engine_ops *ops)
{
    void *st = (void *)ops;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_prestate_setup_teardown(test_introspection, setup, teardown, st),
        cmocka_unit_test_prestate_setup_teardown(test_basic, setup, teardown, st),
        cmocka_unit_test_prestate_setup_teardown(test_edge_keys, setup, teardown, st),
        cmocka_unit_test_prestate_setup_teardown(test_value_sizes, setup, teardown, st),
        cmocka_unit_test_prestate_setup_teardown(test_random_keys, setup, teardown, st),
        cmocka_unit_test_prestate_setup_teardown(test_persistence, setup, teardown, st),
        cmocka_unit_test_prestate_setup_teardown(test_two_sessions, setup, teardown, st),
        cmocka_unit_test_prestate_setup_teardown(test_durability_levels, setup, teardown, st),
        cmocka_unit_test_prestate_setup_teardown(test_bad_options, setup, teardown, st),
        cmocka_unit_test_prestate_setup_teardown(test_bad_directory, setup, teardown, st),
        cmocka_unit_test_prestate_setup_teardown(test_foreign_store, setup, teardown, st),
    };
    char name[96];
    snprintf(name, sizeof(name), "conformance[%s]", ops->name);
    fprintf(stderr, "[ ENGINE   ] %s (%s)\n", ops->name, ops->lib_version());
    return _cmocka_run_group_tests(name, tests, sizeof(tests) / sizeof(tests[0]), NULL, NULL);
}

/* argv[2..] as key=value engine options; 0, or 2 after a message for a malformed one. */
static int parse_conf_opts(int argc, char **argv)
{
    for (int i = 2; i < argc; i++) {
        char *b = conf_opt_buf[conf_nopts], *eq;
        snprintf(b, sizeof(conf_opt_buf[0]), "%s", argv[i]);
        if (conf_nopts == MAX_CONF_OPTS || !(eq = strchr(b, '=')) || eq == b) {
            fprintf(stderr, "test_conformance: option '%s' is not key=value (at most %d)\n", argv[i], MAX_CONF_OPTS);
            return 2;
        }
        *eq = '\0';
        conf_opts[conf_nopts++] = (kv_option){b, eq + 1};
    }
    return 0;
}

int main(int argc, char **argv)
{
    int failed = 0, ran = 0;
    if (parse_conf_opts(argc, argv))
        return 2;
    char failing[512] = "";
    for (size_t i = 0; kv_engines[i]; i++) {
        if (argc > 1 && strcmp(argv[1], kv_engines[i]->name) != 0)
            continue; /* `test_conformance <engine>` runs one engine */
        int f = run_engine(kv_engines[i]);
        if (f) {
            size_t used = strlen(failing);
            snprintf(failing + used, sizeof(failing) - used, " %s(%d)", kv_engines[i]->name, f);
        }
        failed += f;
        ran++;
    }
    fprintf(stderr, "[ SUMMARY  ] %d engine(s) tested; failing tests per engine:%s\n", ran,
            failed ? failing : " none");
    if (argc > 1 && ran == 0) {
        fprintf(stderr, "test_conformance: no engine named '%s'\n", argv[1]);
        return 2;
    }
    return failed ? 1 : 0;
}
