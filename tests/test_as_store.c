/* test_as_store.c - AlexStorage: random ops vs an oracle, reopen, segments, map growth, bulk load, lock. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "alexstorage.h"
#include "as_test_index.h"

#include <dirent.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- helpers ---- */

static uint64_t t_mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static int t_sanitized(void)
{
    const char *s = getenv("KV_SANITIZED");
    return s && strcmp(s, "1") == 0;
}

/* Deterministic value of (key, version): its length and bytes; the oracle keeps only the version. */
static size_t t_value(int64_t key, uint64_t ver, unsigned char *buf, size_t maxlen)
{
    uint64_t h = t_mix((uint64_t)key ^ t_mix(ver));
    size_t len = h % (maxlen + 1);
    for (size_t i = 0; i < len; i++)
        buf[i] = (unsigned char)(t_mix(h + i / 8) >> (8 * (i % 8)));
    return len;
}

static void t_expect_value(as_session *s, int64_t key, uint64_t ver, size_t maxlen)
{
    unsigned char want[512];
    size_t wlen = t_value(key, ver, want, maxlen);
    const void *v = NULL;
    size_t len = 0;
    int rc = as_get(s, key, &v, &len);
    if (rc != AS_OK)
        fail_msg("get %lld: %s (%s)", (long long)key, as_strerror(rc), as_session_errmsg(s));
    assert_int_equal(len, wlen);
    assert_memory_equal(v, want, wlen);
}

#include "tmpdirs.h"

static void t_mkdir(char *dir, size_t len) { t_mkdir_prefixed("as_store", dir, len); }

/* Bytes in the segment files of dir: what as_stats.disk_bytes must say. */
static uint64_t t_segment_bytes(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    uint64_t sum = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strncmp(de->d_name, "seg-", 4) != 0)
            continue;
        char p[512];
        snprintf(p, sizeof(p), "%.200s/%.200s", dir, de->d_name);
        struct stat st;
        assert_int_equal(stat(p, &st), 0);
        sum += (uint64_t)st.st_size;
    }
    closedir(d);
    return sum;
}

static as_db *t_open(const char *dir, const as_options *o)
{
    as_db *db = NULL;
    char err[1024];
    as_options io;
    if (o)
        io = *o;
    else
        as_options_default(&io);
    as_test_index(&io);
    int rc = as_open(dir, &io, &db, err, sizeof(err));
    if (rc != AS_OK)
        fail_msg("as_open %s: %s: %s", dir, as_strerror(rc), err);
    return db;
}

static as_session *t_sess(as_db *db)
{
    as_session *s = NULL;
    assert_int_equal(as_session_open(db, &s), AS_OK);
    return s;
}

static void t_put(as_session *s, int64_t key, const void *v, size_t len)
{
    int rc = as_put(s, key, v, len);
    if (rc != AS_OK)
        fail_msg("put %lld: %s (%s)", (long long)key, as_strerror(rc), as_session_errmsg(s));
}

/* ---- random ops against an oracle ---- */

#define NKEYS 4096
#define MAXLEN 300

typedef struct oracle {
    int64_t keys[NKEYS];   /* sorted, distinct, INT64_MIN and INT64_MAX included */
    uint64_t ver[NKEYS];   /* 0 = absent */
} oracle;

static int t_cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static void oracle_init(oracle *o, uint64_t seed)
{
    for (size_t i = 0; i < NKEYS; i++)
        o->keys[i] = (int64_t)t_mix(seed + i);
    o->keys[0] = INT64_MIN;
    o->keys[1] = INT64_MAX;
    o->keys[2] = 0;
    o->keys[3] = -1;
    qsort(o->keys, NKEYS, sizeof(int64_t), t_cmp_i64);
    memset(o->ver, 0, sizeof(o->ver));
}

typedef struct scan_ctx {
    const oracle *o;
    size_t pos;     /* oracle index of the next expected key */
    size_t seen;
} scan_ctx;

static size_t oracle_next_live(const oracle *o, size_t i)
{
    while (i < NKEYS && !o->ver[i])
        i++;
    return i;
}

static int t_scan_check(void *arg, int64_t key, const void *val, size_t len)
{
    scan_ctx *c = arg;
    c->pos = oracle_next_live(c->o, c->pos);
    assert_true(c->pos < NKEYS);
    assert_true(c->o->keys[c->pos] == key);
    unsigned char want[MAXLEN];
    size_t wlen = t_value(key, c->o->ver[c->pos], want, MAXLEN);
    assert_int_equal(len, wlen);
    assert_memory_equal(val, want, wlen);
    c->pos++;
    c->seen++;
    return 0;
}

static void oracle_scan(as_session *s, const oracle *o, size_t from_idx, size_t count)
{
    scan_ctx c = {o, from_idx, 0};
    size_t visited = 0;
    int rc = as_scan(s, o->keys[from_idx], count, t_scan_check, &c, &visited);
    if (rc != AS_OK)
        fail_msg("scan: %s (%s)", as_strerror(rc), as_session_errmsg(s));
    size_t expect = 0;
    for (size_t i = oracle_next_live(o, from_idx); i < NKEYS && expect < count; i = oracle_next_live(o, i + 1))
        expect++;
    assert_int_equal(visited, expect);
    assert_int_equal(c.seen, expect);
}

static void oracle_verify_all(as_session *s, const oracle *o)
{
    for (size_t i = 0; i < NKEYS; i++) {
        if (o->ver[i]) {
            t_expect_value(s, o->keys[i], o->ver[i], MAXLEN);
        } else {
            const void *v;
            size_t len;
            assert_int_equal(as_get(s, o->keys[i], &v, &len), AS_NOTFOUND);
        }
    }
    oracle_scan(s, o, 0, NKEYS + 1);
}

static void test_oracle_random_ops(void **state)
{
    (void)state;
    char dir[64];
    t_mkdir(dir, sizeof(dir));
    static oracle o;
    oracle_init(&o, 42);
    as_options opt;
    as_options_default(&opt);
    opt.segment_bytes = 1 << 20;
    opt.map_chunk_bytes = 256 << 10;
    as_db *db = t_open(dir, &opt);
    as_session *s = t_sess(db);
    size_t nops = t_sanitized() ? 20000 : 100000;
    uint64_t rng = 7, ver = 0;
    unsigned char buf[MAXLEN];
    for (size_t op = 0; op < nops; op++) {
        uint64_t r = t_mix(rng++);
        size_t i = (r >> 8) % NKEYS;
        unsigned kind = r % 100;
        if (kind < 50) {
            o.ver[i] = ++ver;
            size_t len = t_value(o.keys[i], o.ver[i], buf, MAXLEN);
            t_put(s, o.keys[i], buf, len);
        } else if (kind < 65) {
            assert_int_equal(as_del(s, o.keys[i]), AS_OK);
            o.ver[i] = 0;
        } else if (kind < 95) {
            if (o.ver[i]) {
                t_expect_value(s, o.keys[i], o.ver[i], MAXLEN);
            } else {
                const void *v;
                size_t len;
                assert_int_equal(as_get(s, o.keys[i], &v, &len), AS_NOTFOUND);
            }
        } else {
            oracle_scan(s, &o, i, 1 + (r >> 40) % 20);
        }
    }
    oracle_verify_all(s, &o);
    as_stats st;
    assert_int_equal(as_get_stats(db, &st), AS_OK);
    size_t live = 0;
    for (size_t i = 0; i < NKEYS; i++)
        live += o.ver[i] != 0;
    assert_int_equal(st.num_keys, live);
    assert_true(st.num_segments + st.compactions > 1); /* the log spanned segments (some compacted away) */
    assert_true(st.live_bytes > 0 && st.live_bytes < st.disk_bytes);
    assert_int_equal(st.disk_bytes, t_segment_bytes(dir));
    assert_true(st.num_puts > 0 && st.num_dels > 0 && st.num_gets > 0);
    as_session_close(s);
    assert_int_equal(as_close(db), AS_OK);

    db = t_open(dir, &opt); /* reopen: newest versions, no deleted keys */
    s = t_sess(db);
    oracle_verify_all(s, &o);
    assert_int_equal(as_get_stats(db, &st), AS_OK);
    assert_int_equal(st.num_keys, live);
    assert_int_equal(st.disk_bytes, t_segment_bytes(dir));
    assert_int_equal(st.bytes_dropped, 0);
    /* the close wrote an index checkpoint: the reopen loads it and replays only what came after */
    assert_true(st.checkpoint_loaded ? st.records_replayed == 0 : st.records_replayed >= live);
    as_session_close(s);
    assert_int_equal(as_close(db), AS_OK);
    t_rmdir(dir);
}

/* ---- value sizes ---- */

static void test_empty_and_large_values(void **state)
{
    (void)state;
    char dir[64];
    t_mkdir(dir, sizeof(dir));
    as_db *db = t_open(dir, NULL);
    as_session *s = t_sess(db);
    static unsigned char big[64 << 10];
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (unsigned char)t_mix(i);
    t_put(s, 1, "", 0);
    t_put(s, 2, big, sizeof(big));
    t_put(s, 3, NULL, 0);
    for (int pass = 0; pass < 2; pass++) {
        const void *v;
        size_t len = 99;
        assert_int_equal(as_get(s, 1, &v, &len), AS_OK);
        assert_int_equal(len, 0);
        assert_int_equal(as_get(s, 3, &v, &len), AS_OK);
        assert_int_equal(len, 0);
        assert_int_equal(as_get(s, 2, &v, &len), AS_OK);
        assert_int_equal(len, sizeof(big));
        assert_memory_equal(v, big, sizeof(big));
        if (pass == 0) {
            as_session_close(s);
            assert_int_equal(as_close(db), AS_OK);
            db = t_open(dir, NULL);
            s = t_sess(db);
        }
    }
    assert_int_equal(as_put(s, 4, big, (size_t)AS_MAX_VALUE_BYTES + 1), AS_EINVAL);
    assert_non_null(strstr(as_session_errmsg(s), "limit"));
    assert_int_equal(as_put(s, 4, NULL, 5), AS_EINVAL);
    as_session_close(s);
    assert_int_equal(as_close(db), AS_OK);
    t_rmdir(dir);
}

/* ---- many small segments ---- */

static void test_many_segments(void **state)
{
    (void)state;
    char dir[64];
    t_mkdir(dir, sizeof(dir));
    as_options opt;
    as_options_default(&opt);
    opt.segment_bytes = 4096;
    opt.map_chunk_bytes = 4096;
    as_db *db = t_open(dir, &opt);
    as_session *s = t_sess(db);
    unsigned char buf[MAXLEN];
    const int n = 3000;
    for (int k = 0; k < n; k++) {
        size_t len = t_value(k, 1, buf, 200);
        t_put(s, k, buf, len);
    }
    for (int k = 0; k < n; k += 3)
        assert_int_equal(as_del(s, k), AS_OK);
    as_stats st;
    assert_int_equal(as_get_stats(db, &st), AS_OK);
    assert_true(st.num_segments > 50);
    as_session_close(s);
    assert_int_equal(as_close(db), AS_OK);
    db = t_open(dir, &opt);
    s = t_sess(db);
    for (int k = 0; k < n; k++) {
        if (k % 3 == 0) {
            const void *v;
            size_t len;
            assert_int_equal(as_get(s, k, &v, &len), AS_NOTFOUND);
        } else {
            t_expect_value(s, k, 1, 200);
        }
    }
    assert_int_equal(as_get_stats(db, &st), AS_OK);
    assert_int_equal(st.num_keys, (uint64_t)(n - (n + 2) / 3));
    as_session_close(s);
    assert_int_equal(as_close(db), AS_OK);
    t_rmdir(dir);
}

/* ---- growth across map chunks while older pointers are held ---- */

static void test_growth_keeps_pointers(void **state)
{
    (void)state;
    char dir[64];
    t_mkdir(dir, sizeof(dir));
    as_options opt;
    as_options_default(&opt);
    opt.segment_bytes = 64 << 20;
    opt.map_chunk_bytes = 64 << 10; /* tiny chunks: many growth steps */
    as_db *db = t_open(dir, &opt);
    as_session *w = t_sess(db);
    enum { HOLD = 16 };
    as_session *r[HOLD];
    const void *held[HOLD];
    size_t held_len[HOLD];
    unsigned char buf[4096];
    int64_t key = 0;
    for (int h = 0; h < HOLD; h++) {
        r[h] = t_sess(db);
        for (int i = 0; i < 200; i++, key++) { /* ~800 KiB per round: crosses chunk boundaries */
            memset(buf, (int)(key & 0xff), sizeof(buf));
            memcpy(buf, &key, sizeof(key));
            t_put(w, key, buf, sizeof(buf));
        }
        assert_int_equal(as_get(r[h], key - 1, &held[h], &held_len[h]), AS_OK);
    }
    for (int h = 0; h < HOLD; h++) { /* every held pointer still reads its own record */
        int64_t k = (h + 1) * 200 - 1;
        assert_int_equal(held_len[h], sizeof(buf));
        assert_memory_equal(held[h], &k, sizeof(k));
        assert_int_equal(((const unsigned char *)held[h])[sizeof(buf) - 1], (unsigned char)(k & 0xff));
        const void *again;
        size_t len;
        assert_int_equal(as_get(w, k, &again, &len), AS_OK);
        assert_ptr_equal(again, held[h]); /* addresses never move */
        as_session_close(r[h]);
    }
    as_session_close(w);
    assert_int_equal(as_close(db), AS_OK);
    t_rmdir(dir);
}

/* ---- bulk load ---- */

static const void *t_bulk_value(void *arg, int64_t key, size_t *len)
{
    unsigned char *buf = arg;
    *len = t_value(key, 1, buf, 120);
    return buf;
}

typedef struct count_ctx {
    int64_t last;
    size_t n;
} count_ctx;

static int t_count_cb(void *arg, int64_t key, const void *val, size_t len)
{
    count_ctx *c = arg;
    unsigned char want[MAXLEN];
    size_t wlen = t_value(key, 1, want, 120);
    assert_int_equal(len, wlen);
    assert_memory_equal(val, want, wlen);
    if (c->n)
        assert_true(key > c->last);
    c->last = key;
    c->n++;
    return 0;
}

static void test_bulk_load_reopen(void **state)
{
    (void)state;
    char dir[64];
    t_mkdir(dir, sizeof(dir));
    size_t n = t_sanitized() ? 20000 : 100000;
    int64_t *keys = malloc(n * sizeof(*keys));
    assert_non_null(keys);
    for (size_t i = 0; i < n; i++)
        keys[i] = (int64_t)t_mix(i + 1000);
    keys[0] = INT64_MIN;
    keys[1] = INT64_MAX;
    qsort(keys, n, sizeof(*keys), t_cmp_i64);
    as_options opt;
    as_options_default(&opt);
    opt.segment_bytes = 512 << 10; /* the load spans several segments */
    as_db *db = t_open(dir, &opt);
    as_session *s = t_sess(db);
    unsigned char buf[MAXLEN];
    int64_t bad[3] = {1, 3, 2};
    assert_int_equal(as_bulk_load(s, bad, 3, t_bulk_value, buf), AS_EINVAL);
    assert_int_equal(as_bulk_load(s, keys, n, t_bulk_value, buf), AS_OK);
    assert_int_equal(as_bulk_load(s, keys, 1, t_bulk_value, buf), AS_EINVAL); /* not empty any more */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < n; i += 7)
            t_expect_value(s, keys[i], 1, 120);
        t_expect_value(s, INT64_MAX, 1, 120);
        count_ctx c = {0, 0};
        size_t visited;
        assert_int_equal(as_scan(s, INT64_MIN, n + 10, t_count_cb, &c, &visited), AS_OK);
        assert_int_equal(c.n, n);
        assert_int_equal(visited, n);
        as_stats st;
        assert_int_equal(as_get_stats(db, &st), AS_OK);
        assert_int_equal(st.num_keys, n);
        assert_true(st.num_segments > 2);
        as_session_close(s);
        assert_int_equal(as_close(db), AS_OK);
        db = t_open(dir, &opt);
        s = t_sess(db);
    }
    as_session_close(s);
    assert_int_equal(as_close(db), AS_OK);
    free(keys);
    t_rmdir(dir);
}

/* ---- lock ---- */

static void test_lock_busy(void **state)
{
    (void)state;
    char dir[64];
    t_mkdir(dir, sizeof(dir));
    as_db *db = t_open(dir, NULL);
    as_db *db2 = (as_db *)0x1;
    char err[1024];
    assert_int_equal(as_open(dir, NULL, &db2, err, sizeof(err)), AS_EBUSY);
    assert_null(db2);
    assert_non_null(strstr(err, "is locked by another process"));
    assert_non_null(strstr(err, dir));
    as_options ro;
    as_options_default(&ro);
    ro.read_only = 1;
    assert_int_equal(as_open(dir, &ro, &db2, err, sizeof(err)), AS_EBUSY); /* not beside a writer either */
    assert_int_equal(as_close(db), AS_OK);
    db = t_open(dir, &ro); /* readers share the lock... */
    db2 = t_open(dir, &ro);
    as_db *db3;
    assert_int_equal(as_open(dir, NULL, &db3, err, sizeof(err)), AS_EBUSY); /* ...and keep writers out */
    assert_int_equal(as_close(db2), AS_OK);
    assert_int_equal(as_close(db), AS_OK);
    db = t_open(dir, NULL); /* the lock goes with close */
    assert_int_equal(as_close(db), AS_OK);
    t_rmdir(dir);
}

/* ---- extreme keys, read-only, sync modes ---- */

static int t_collect(void *arg, int64_t key, const void *val, size_t len)
{
    int64_t *out = arg;
    assert_int_equal(len, sizeof(int64_t));
    assert_memory_equal(val, &key, sizeof(key));
    for (int i = 0; i < 8; i++)
        if (out[i] == 0x5a5a) {
            out[i] = key;
            break;
        }
    return 0;
}

static int t_stop_after_3(void *arg, int64_t key, const void *val, size_t len)
{
    int *n = arg;
    (void)key, (void)val, (void)len;
    return ++*n == 3;
}

static void test_extreme_keys(void **state)
{
    (void)state;
    char dir[64];
    t_mkdir(dir, sizeof(dir));
    as_db *db = t_open(dir, NULL);
    as_session *s = t_sess(db);
    const int64_t ks[] = {INT64_MAX, 0, INT64_MIN, -1, INT64_MIN + 1, INT64_MAX - 1};
    for (size_t i = 0; i < 6; i++)
        t_put(s, ks[i], &ks[i], sizeof(ks[i]));
    int64_t got[8];
    for (int i = 0; i < 8; i++)
        got[i] = 0x5a5a;
    size_t visited;
    assert_int_equal(as_scan(s, INT64_MIN, 100, t_collect, got, &visited), AS_OK);
    assert_int_equal(visited, 6);
    const int64_t sorted[] = {INT64_MIN, INT64_MIN + 1, -1, 0, INT64_MAX - 1, INT64_MAX};
    assert_memory_equal(got, sorted, sizeof(sorted));
    for (int i = 0; i < 8; i++)
        got[i] = 0x5a5a;
    assert_int_equal(as_scan(s, INT64_MAX, 100, t_collect, got, &visited), AS_OK);
    assert_int_equal(visited, 1);
    assert_true(got[0] == INT64_MAX);
    int stop_n = 0;
    assert_int_equal(as_scan(s, INT64_MIN, 100, t_stop_after_3, &stop_n, &visited), AS_OK);
    assert_int_equal(visited, 3); /* the record whose callback said stop counts as visited */
    assert_int_equal(as_scan(s, 1, 0, t_collect, got, &visited), AS_OK);
    assert_int_equal(visited, 0);
    assert_int_equal(as_del(s, INT64_MIN), AS_OK);
    assert_int_equal(as_del(s, INT64_MIN), AS_OK); /* absent: still OK */
    as_session_close(s);
    assert_int_equal(as_close(db), AS_OK);

    as_options ro;
    as_options_default(&ro);
    ro.read_only = 1;
    db = t_open(dir, &ro);
    s = t_sess(db);
    const void *v;
    size_t len;
    assert_int_equal(as_get(s, INT64_MIN, &v, &len), AS_NOTFOUND);
    assert_int_equal(as_get(s, INT64_MAX, &v, &len), AS_OK);
    assert_int_equal(as_put(s, 5, "x", 1), AS_ERDONLY);
    assert_int_equal(as_del(s, 0), AS_ERDONLY);
    as_session_close(s);
    assert_int_equal(as_close(db), AS_OK);
    t_rmdir(dir);
}

static void test_sync_modes(void **state)
{
    (void)state;
    const enum as_sync_mode modes[] = {AS_SYNC_EACH, AS_SYNC_GROUP, AS_SYNC_NONE};
    for (int m = 0; m < 3; m++) {
        char dir[64];
        t_mkdir(dir, sizeof(dir));
        as_options opt;
        as_options_default(&opt);
        opt.sync_mode = modes[m];
        opt.segment_bytes = 8192;
        as_db *db = t_open(dir, &opt);
        as_session *s = t_sess(db);
        unsigned char buf[MAXLEN];
        for (int k = 0; k < 100; k++)
            t_put(s, k, buf, t_value(k, 2, buf, 200));
        assert_int_equal(as_sync(s), AS_OK);
        as_stats st;
        assert_int_equal(as_get_stats(db, &st), AS_OK);
        assert_true(st.num_syncs >= (modes[m] == AS_SYNC_NONE ? 1u : 2u));
        as_session_close(s);
        assert_int_equal(as_close(db), AS_OK);
        db = t_open(dir, &opt);
        s = t_sess(db);
        for (int k = 0; k < 100; k++)
            t_expect_value(s, k, 2, 200);
        as_session_close(s);
        assert_int_equal(as_close(db), AS_OK);
        t_rmdir(dir);
    }
}

static void test_bad_options(void **state)
{
    (void)state;
    char dir[64];
    t_mkdir(dir, sizeof(dir));
    as_options opt;
    as_options_default(&opt);
    opt.map_chunk_bytes = 1000;
    as_db *db = (as_db *)0x1;
    char err[512];
    assert_int_equal(as_open(dir, &opt, &db, err, sizeof(err)), AS_EINVAL);
    assert_null(db);
    assert_non_null(strstr(err, "map_chunk_bytes"));
    t_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_oracle_random_ops, t_teardown),
        cmocka_unit_test_teardown(test_empty_and_large_values, t_teardown),
        cmocka_unit_test_teardown(test_many_segments, t_teardown),
        cmocka_unit_test_teardown(test_growth_keeps_pointers, t_teardown),
        cmocka_unit_test_teardown(test_bulk_load_reopen, t_teardown),
        cmocka_unit_test_teardown(test_lock_busy, t_teardown),
        cmocka_unit_test_teardown(test_extreme_keys, t_teardown),
        cmocka_unit_test_teardown(test_sync_modes, t_teardown),
        cmocka_unit_test_teardown(test_bad_options, t_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
