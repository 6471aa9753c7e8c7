/* test_as_concurrency.c - AlexStorage: readers beside a writer (verified, never older versions), group commit. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "alexstorage.h"

#include <ftw.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NKEYS 2000
#define VLEN 100

static int t_rm(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

static char g_dir[64]; /* the running test's store; removed by the teardown even after a failure */

static int t_teardown(void **state)
{
    (void)state;
    if (g_dir[0])
        nftw(g_dir, t_rm, 16, FTW_DEPTH | FTW_PHYS);
    g_dir[0] = 0;
    return 0;
}

static void t_mkdir(char *dir, size_t len)
{
    snprintf(dir, len, "/tmp/as_conc_XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(g_dir, sizeof(g_dir), "%s", dir);
}

static double t_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double t_seconds(void)
{
    const char *s = getenv("KV_SANITIZED");
    return s && strcmp(s, "1") == 0 ? 1.0 : 2.0;
}

static uint64_t t_mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* value = key | version | bytes derived from both: any mix-up shows */
static void t_make_value(int64_t key, uint64_t ver, unsigned char *v)
{
    memcpy(v, &key, 8);
    memcpy(v + 8, &ver, 8);
    for (int i = 16; i < VLEN; i++)
        v[i] = (unsigned char)(t_mix((uint64_t)key * 1000003u + ver) >> (i % 8 * 8));
}

/* Returns the version in a value, or 0 if the value is not one that was ever written for key. */
static uint64_t t_value_version(int64_t key, const void *val, size_t len)
{
    if (len != VLEN)
        return 0;
    uint64_t ver;
    memcpy(&ver, (const unsigned char *)val + 8, 8);
    unsigned char want[VLEN];
    t_make_value(key, ver, want);
    return memcmp(want, val, VLEN) == 0 ? ver : 0;
}

typedef struct shared {
    as_db *db;
    atomic_int stop;
    atomic_ullong reads, found, bad, backwards, scans;
} shared;

static void *t_writer(void *arg)
{
    shared *sh = arg;
    as_session *s;
    if (as_session_open(sh->db, &s) != AS_OK) {
        atomic_fetch_add(&sh->bad, 1);
        return NULL;
    }
    unsigned char v[VLEN];
    uint64_t ver = 0, rng = 1;
    double end = t_now() + t_seconds();
    while (t_now() < end) {
        for (int i = 0; i < 256; i++) {
            int64_t key = (int64_t)(t_mix(rng++) % NKEYS);
            int rc;
            if (rng % 16 == 0) {
                rc = as_del(s, key);
            } else {
                t_make_value(key, ++ver, v);
                rc = as_put(s, key, v, VLEN);
            }
            if (rc != AS_OK)
                atomic_fetch_add(&sh->bad, 1);
        }
    }
    atomic_store(&sh->stop, 1);
    as_session_close(s);
    return NULL;
}

typedef struct scan_state {
    shared *sh;
    uint64_t *seen;
    int64_t last;
} scan_state;

static int t_scan_cb(void *arg, int64_t key, const void *val, size_t len)
{
    scan_state *st = arg;
    uint64_t ver = t_value_version(key, val, len);
    if (!ver || key <= st->last || key < 0 || key >= NKEYS)
        atomic_fetch_add(&st->sh->bad, 1);
    else if (ver < st->seen[key])
        atomic_fetch_add(&st->sh->backwards, 1);
    else
        st->seen[key] = ver;
    st->last = key;
    return 0;
}

static void *t_reader(void *arg)
{
    shared *sh = arg;
    as_session *s;
    uint64_t *seen = calloc(NKEYS, sizeof(*seen)); /* newest version this reader saw per key */
    if (!seen || as_session_open(sh->db, &s) != AS_OK) {
        atomic_fetch_add(&sh->bad, 1);
        free(seen);
        return NULL;
    }
    uint64_t rng = (uint64_t)(uintptr_t)seen;
    while (!atomic_load(&sh->stop)) {
        uint64_t r = t_mix(rng++);
        int64_t key = (int64_t)(r % NKEYS);
        if (r % 64 == 0) {
            scan_state st = {sh, seen, -1};
            size_t visited;
            if (as_scan(s, key, 50, t_scan_cb, &st, &visited) != AS_OK)
                atomic_fetch_add(&sh->bad, 1);
            atomic_fetch_add(&sh->scans, 1);
            continue;
        }
        const void *v;
        size_t len;
        int rc = as_get(s, key, &v, &len);
        atomic_fetch_add(&sh->reads, 1);
        if (rc == AS_NOTFOUND)
            continue;
        uint64_t ver = rc == AS_OK ? t_value_version(key, v, len) : 0;
        if (!ver) {
            atomic_fetch_add(&sh->bad, 1);
            continue;
        }
        atomic_fetch_add(&sh->found, 1);
        if (ver < seen[key])
            atomic_fetch_add(&sh->backwards, 1);
        seen[key] = ver;
    }
    as_session_close(s);
    free(seen);
    return NULL;
}

static void test_readers_beside_writer(void **state)
{
    (void)state;
    char dir[64];
    t_mkdir(dir, sizeof(dir));
    as_options o;
    as_options_default(&o);
    o.segment_bytes = 1 << 20; /* rotation happens while readers run */
    o.map_chunk_bytes = 64 << 10;
    shared sh = {0};
    char err[1024];
    assert_int_equal(as_open(dir, &o, &sh.db, err, sizeof(err)), AS_OK);
    pthread_t w, r[2];
    assert_int_equal(pthread_create(&w, NULL, t_writer, &sh), 0);
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&r[i], NULL, t_reader, &sh), 0);
    pthread_join(w, NULL);
    for (int i = 0; i < 2; i++)
        pthread_join(r[i], NULL);
    print_message("reads %llu (found %llu), scans %llu, bad %llu, backwards %llu\n",
                  (unsigned long long)sh.reads, (unsigned long long)sh.found, (unsigned long long)sh.scans,
                  (unsigned long long)sh.bad, (unsigned long long)sh.backwards);
    assert_int_equal(sh.bad, 0);
    assert_int_equal(sh.backwards, 0);
    assert_true(sh.found > 0);
    as_stats st;
    assert_int_equal(as_get_stats(sh.db, &st), AS_OK);
    /* the writer crossed segment boundaries; automatic compaction may have removed the old ones */
    assert_true(st.num_segments > 1 || st.compactions > 0);
    assert_int_equal(as_close(sh.db), AS_OK);
}

/* ---- group commit: several writers share fdatasyncs ---- */

typedef struct gc_arg {
    as_db *db;
    int id, n;
    atomic_int *bad;
} gc_arg;

static void *t_group_writer(void *p)
{
    gc_arg *a = p;
    as_session *s;
    if (as_session_open(a->db, &s) != AS_OK) {
        atomic_fetch_add(a->bad, 1);
        return NULL;
    }
    unsigned char v[VLEN];
    for (int i = 0; i < a->n; i++) {
        int64_t key = (int64_t)a->id * 100000 + i;
        t_make_value(key, 1, v);
        if (as_put(s, key, v, VLEN) != AS_OK)
            atomic_fetch_add(a->bad, 1);
    }
    as_session_close(s);
    return NULL;
}

static void test_group_commit(void **state)
{
    (void)state;
    char dir[64];
    t_mkdir(dir, sizeof(dir));
    as_options o;
    as_options_default(&o);
    o.sync_mode = AS_SYNC_GROUP;
    o.segment_bytes = 64 << 10;
    as_db *db;
    char err[1024];
    assert_int_equal(as_open(dir, &o, &db, err, sizeof(err)), AS_OK);
    enum { W = 4, N = 300 };
    atomic_int bad = 0;
    gc_arg args[W];
    pthread_t th[W];
    for (int i = 0; i < W; i++) {
        args[i] = (gc_arg){db, i, N, &bad};
        assert_int_equal(pthread_create(&th[i], NULL, t_group_writer, &args[i]), 0);
    }
    for (int i = 0; i < W; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(bad, 0);
    as_stats st;
    assert_int_equal(as_get_stats(db, &st), AS_OK);
    print_message("group commit: %llu puts, %llu fdatasyncs\n", (unsigned long long)st.num_puts,
                  (unsigned long long)st.num_syncs);
    assert_int_equal(st.num_puts, W * N);
    assert_true(st.num_syncs <= st.num_puts);
    assert_int_equal(as_close(db), AS_OK);
    assert_int_equal(as_open(dir, &o, &db, err, sizeof(err)), AS_OK);
    as_session *s;
    assert_int_equal(as_session_open(db, &s), AS_OK);
    for (int w = 0; w < W; w++)
        for (int i = 0; i < N; i++) {
            const void *v;
            size_t len;
            int64_t key = (int64_t)w * 100000 + i;
            assert_int_equal(as_get(s, key, &v, &len), AS_OK);
            assert_int_equal(t_value_version(key, v, len), 1);
        }
    as_session_close(s);
    assert_int_equal(as_close(db), AS_OK);
}

/* ---- a put's cost does not grow with the sessions open: readers take no lock a writer takes ---- */

/* Session locks writers took for `puts` puts (and a delete each) with S sessions open, each of
 * which has read. */
static uint64_t t_reader_locks_for(const char *index, int puts, int S)
{
    char dir[64];
    t_mkdir(dir, sizeof(dir));
    as_options o;
    as_options_default(&o);
    if (strcmp(index, "btree") == 0)
        o.index = AS_INDEX_BTREE;
    as_db *db;
    char err[1024];
    assert_int_equal(as_open(dir, &o, &db, err, sizeof(err)), AS_OK);
    as_session *ss[64];
    assert_true(S <= 64);
    unsigned char v[VLEN];
    for (int i = 0; i < S; i++) {
        assert_int_equal(as_session_open(db, &ss[i]), AS_OK);
        const void *val;
        size_t len;
        assert_int_equal(as_get(ss[i], 12345, &val, &len), AS_NOTFOUND);
    }
    for (int i = 0; i < puts; i++) {
        t_make_value(i, 1, v);
        assert_int_equal(as_put(ss[i % S], i, v, VLEN), AS_OK);
    }
    for (int i = 0; i < puts; i += 2)
        assert_int_equal(as_del(ss[0], i), AS_OK);
    for (int i = 0; i < puts; i++) {
        const void *val;
        size_t len;
        assert_int_equal(as_get(ss[(i * 7) % S], i, &val, &len), i % 2 ? AS_OK : AS_NOTFOUND);
    }
    as_stats st;
    assert_int_equal(as_get_stats(db, &st), AS_OK);
    print_message("index=%s: %d puts with %d sessions took %llu session locks; %llu structural changes\n", index,
                  puts, S, (unsigned long long)st.reader_locks, (unsigned long long)st.index_smo);
    for (int i = 0; i < S; i++)
        as_session_close(ss[i]);
    assert_int_equal(as_close(db), AS_OK);
    t_teardown(NULL);
    return st.reader_locks;
}

static void test_put_takes_no_reader_lock(void **state)
{
    (void)state;
    /* index=alex: readers run beside the writer, so a put takes no session's lock (the old scheme
     * took all 64 per put) */
    assert_int_equal(t_reader_locks_for("alex", 3000, 64), 0);
    /* index=btree keeps the big reader lock: every index change takes every session's lock (8
     * sessions: TSan's lock-order detector aborts past 64 locks held at once) */
    assert_true(t_reader_locks_for("btree", 300, 8) >= 300 * 8);
}

/* ---- a batch is seen whole: a scan (one index read) never shows part of one ---- */

#define BKEYS 64 /* one scan batch of the store: one lock-free index read */

typedef struct bshared {
    as_db *db;
    atomic_int stop;
    atomic_ullong scans, torn, bad;
} bshared;

static void *t_batch_writer(void *arg)
{
    bshared *sh = arg;
    as_session *s;
    as_batch *b;
    if (as_session_open(sh->db, &s) != AS_OK || as_batch_create(&b) != AS_OK) {
        atomic_fetch_add(&sh->bad, 1);
        return NULL;
    }
    unsigned char v[VLEN];
    double end = t_now() + t_seconds();
    for (uint64_t g = 2; t_now() < end; g++) {
        for (int64_t k = 0; k < BKEYS; k++) {
            t_make_value(k, g, v);
            if (as_batch_put(b, k, v, VLEN) != AS_OK)
                atomic_fetch_add(&sh->bad, 1);
        }
        if (as_batch_commit(s, b) != AS_OK)
            atomic_fetch_add(&sh->bad, 1);
        for (int i = 0; i < 16; i++) { /* single puts elsewhere: leaf inserts, splits */
            int64_t k = 1000 + (int64_t)(t_mix(g * 16 + (uint64_t)i) % 1000000);
            t_make_value(k, 1, v);
            if (as_put(s, k, v, VLEN) != AS_OK)
                atomic_fetch_add(&sh->bad, 1);
        }
    }
    atomic_store(&sh->stop, 1);
    as_batch_free(b);
    as_session_close(s);
    return NULL;
}

typedef struct bscan {
    uint64_t ver[BKEYS];
    int n, bad;
} bscan;

static int t_bscan_cb(void *arg, int64_t key, const void *val, size_t len)
{
    bscan *c = arg;
    uint64_t ver = t_value_version(key, val, len);
    if (ver == 0 || key != c->n)
        c->bad = 1;
    c->ver[c->n++] = ver;
    return 0;
}

static void *t_batch_reader(void *arg)
{
    bshared *sh = arg;
    as_session *s;
    if (as_session_open(sh->db, &s) != AS_OK) {
        atomic_fetch_add(&sh->bad, 1);
        return NULL;
    }
    while (!atomic_load(&sh->stop)) {
        bscan c = {.n = 0};
        size_t visited;
        if (as_scan(s, 0, BKEYS, t_bscan_cb, &c, &visited) != AS_OK || visited != BKEYS || c.bad)
            atomic_fetch_add(&sh->bad, 1);
        for (int i = 1; i < c.n; i++)
            if (c.ver[i] != c.ver[0]) {
                atomic_fetch_add(&sh->torn, 1);
                break;
            }
        atomic_fetch_add(&sh->scans, 1);
    }
    as_session_close(s);
    return NULL;
}

static void test_batch_seen_whole(void **state)
{
    (void)state;
    char dir[64];
    t_mkdir(dir, sizeof(dir));
    bshared sh = {0};
    char err[1024];
    assert_int_equal(as_open(dir, NULL, &sh.db, err, sizeof(err)), AS_OK);
    as_session *s;
    assert_int_equal(as_session_open(sh.db, &s), AS_OK);
    unsigned char v[VLEN];
    for (int64_t k = 0; k < BKEYS; k++) {
        t_make_value(k, 1, v);
        assert_int_equal(as_put(s, k, v, VLEN), AS_OK);
    }
    as_session_close(s);
    pthread_t w, r[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&r[i], NULL, t_batch_reader, &sh), 0);
    assert_int_equal(pthread_create(&w, NULL, t_batch_writer, &sh), 0);
    pthread_join(w, NULL);
    for (int i = 0; i < 2; i++)
        pthread_join(r[i], NULL);
    print_message("batches of %d beside scanning readers: %llu scans, %llu torn, %llu bad\n", BKEYS,
                  (unsigned long long)sh.scans, (unsigned long long)sh.torn, (unsigned long long)sh.bad);
    assert_int_equal(sh.bad, 0);
    assert_int_equal(sh.torn, 0);
    assert_int_equal(as_close(sh.db), AS_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_readers_beside_writer, t_teardown),
        cmocka_unit_test_teardown(test_group_commit, t_teardown),
        cmocka_unit_test_teardown(test_put_takes_no_reader_lock, t_teardown),
        cmocka_unit_test_teardown(test_batch_seen_whole, t_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
