/* test_as_maint_threads.c - AlexStorage maintenance off the write path: the background thread and
 * as_maintain compact and checkpoint while writers and readers run; nothing is lost. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <sys/statvfs.h>

#include "alexstorage.h"
#include "as_torture.h"

#define SLOTS 64u

static as_db *open_store(const char *dir, int maintenance)
{
    as_options o;
    as_options_default(&o);
    o.segment_bytes = 32u << 10;
    o.map_chunk_bytes = 64u << 10;
    o.checkpoint_bytes = 64u << 10;
    o.compact_garbage_ratio = 0.3;
    o.maintenance = maintenance;
    as_db *db;
    char err[1024];
    int rc = as_open(dir, &o, &db, err, sizeof err);
    if (rc != AS_OK)
        fail_msg("open %s: %s", dir, err);
    return db;
}

typedef struct wctx {
    as_db *db;
    uint64_t space, ver[SLOTS];
    int ops;
} wctx;

static void *writer(void *arg)
{
    wctx *w = arg;
    as_session *s;
    if (as_session_open(w->db, &s) != AS_OK)
        return NULL;
    static unsigned char val[1 << 15];
    uint64_t r = w->space;
    for (int i = 0; i < w->ops; i++) {
        uint32_t slot = (uint32_t)ast_below(&r, SLOTS);
        int64_t key = ast_key(w->space, slot);
        uint64_t v = w->ver[slot] + 1;
        uint32_t len = ast_val_len(key, v, sizeof val);
        ast_val_make(key, v, slot, len, val);
        if (as_put(s, key, val, len) != AS_OK)
            fail_msg("put: %s", as_session_errmsg(s));
        w->ver[slot] = v;
    }
    as_session_close(s);
    return NULL;
}

static void *reader(void *arg)
{
    wctx *w = arg;
    as_session *s;
    if (as_session_open(w->db, &s) != AS_OK)
        return NULL;
    uint64_t r = w->space ^ 99;
    for (int i = 0; i < w->ops * 2; i++) {
        uint32_t slot = (uint32_t)ast_below(&r, SLOTS);
        int64_t key = ast_key(w->space, slot);
        const void *v;
        size_t len;
        uint64_t q;
        uint32_t sl;
        int rc = as_get(s, key, &v, &len);
        if (rc == AS_OK && !ast_val_check(key, v, len, &q, &sl))
            fail_msg("reader: key %lld reads a wrong value during maintenance", (long long)key);
        if (rc != AS_OK && rc != AS_NOTFOUND)
            fail_msg("reader: %s", as_session_errmsg(s));
    }
    as_session_close(s);
    return NULL;
}

static void verify(as_db *db, const wctx *w)
{
    as_session *s;
    assert_int_equal(as_session_open(db, &s), AS_OK);
    for (uint32_t slot = 0; slot < SLOTS; slot++) {
        if (!w->ver[slot])
            continue;
        int64_t key = ast_key(w->space, slot);
        const void *v;
        size_t len;
        uint64_t q;
        uint32_t sl;
        assert_int_equal(as_get(s, key, &v, &len), AS_OK);
        assert_true(ast_val_check(key, v, len, &q, &sl));
        assert_int_equal(q, w->ver[slot]);
    }
    as_session_close(s);
}

static void run_mode(int mode)
{
    char dir[512];
    assert_int_equal(ast_tmpdir(dir, sizeof dir, "as-maint"), 0);
    as_db *db = open_store(dir, mode);
    static wctx w;
    memset(&w, 0, sizeof w);
    w.db = db;
    w.space = 77 + (uint64_t)mode;
    w.ops = ast_env_flag("KV_SANITIZED") ? 1500 : 4000;
    pthread_t tw, tr;
    assert_int_equal(pthread_create(&tw, NULL, writer, &w), 0);
    assert_int_equal(pthread_create(&tr, NULL, reader, &w), 0);
    pthread_join(tw, NULL);
    pthread_join(tr, NULL);
    as_stats st;
    as_get_stats(db, &st);
    if (mode == AS_MAINT_MANUAL) { /* nothing ran on the write path */
        assert_int_equal(st.compactions, 0);
        assert_int_equal(st.checkpoints_written, 0);
        as_session *s;
        assert_int_equal(as_session_open(db, &s), AS_OK);
        assert_int_equal(as_maintain(s), AS_OK);
        as_session_close(s);
        as_get_stats(db, &st);
    } else { /* the thread catches up within a few polls */
        double t0 = ast_now();
        while ((st.compactions == 0 || st.checkpoints_written == 0) && ast_now() - t0 < 10.0) {
            struct timespec ts = {0, 20 * 1000000L};
            nanosleep(&ts, NULL);
            as_get_stats(db, &st);
        }
    }
    if (st.compactions == 0 || st.checkpoints_written == 0)
        fail_msg("maintenance %d: %llu compactions, %llu checkpoints", mode, (unsigned long long)st.compactions,
                 (unsigned long long)st.checkpoints_written);
    verify(db, &w);
    assert_int_equal(as_close(db), AS_OK);
    db = open_store(dir, AS_MAINT_INLINE);
    verify(db, &w);
    assert_int_equal(as_close(db), AS_OK);
    printf("maintenance %s: %llu compactions, %llu checkpoints off the write path\n",
           mode == AS_MAINT_THREAD ? "thread" : "manual", (unsigned long long)st.compactions,
           (unsigned long long)st.checkpoints_written);
    ast_rmtree(dir);
}

static void test_thread(void **state)
{
    (void)state;
    run_mode(AS_MAINT_THREAD);
}

static void test_manual(void **state)
{
    (void)state;
    run_mode(AS_MAINT_MANUAL);
}

static void test_bad_option(void **state)
{
    (void)state;
    char dir[512];
    assert_int_equal(ast_tmpdir(dir, sizeof dir, "as-maint-bad"), 0);
    as_options o;
    as_options_default(&o);
    o.maintenance = 7;
    as_db *db;
    char err[512];
    assert_int_equal(as_open(dir, &o, &db, err, sizeof err), AS_EINVAL);
    assert_non_null(strstr(err, "maintenance"));
    ast_rmtree(dir);
}

/* Does this process still map or hold open a file whose path contains `name`? (Its disk space can only
 * be freed once neither is left.) */
static int still_held(const char *name)
{
    char line[4096];
    FILE *f = fopen("/proc/self/maps", "r");
    int held = 0;
    while (f && fgets(line, sizeof line, f))
        held |= strstr(line, name) != NULL;
    if (f)
        fclose(f);
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        char p[300], t[4096];
        snprintf(p, sizeof p, "/proc/self/fd/%s", e->d_name);
        ssize_t n = readlink(p, t, sizeof t - 1);
        if (n > 0) {
            t[n] = 0;
            held |= strstr(t, name) != NULL;
        }
    }
    if (d)
        closedir(d);
    return held;
}

static uint64_t free_bytes(const char *dir)
{
    struct statvfs v;
    assert_int_equal(statvfs(dir, &v), 0);
    return (uint64_t)v.f_bavail * v.f_frsize;
}

typedef struct held_val {
    const void *v[64];
    size_t len[64];
    int64_t key[64];
    int n;
} held_val;

static int keep_cb(void *arg, int64_t key, const void *val, size_t len)
{
    held_val *h = arg;
    if (h->n < 64) {
        h->v[h->n] = val;
        h->len[h->n] = len;
        h->key[h->n] = key;
        h->n++;
    }
    return 0;
}

/* Each value a call handed out still holds its bytes (key & 0xff). */
static void check_held(const held_val *h)
{
    for (int j = 0; j < h->n; j++) {
        int b = (int)(h->key[j] & 0xff);
        assert_int_equal(h->len[j], 1000);
        for (size_t i = 0; i < h->len[j]; i++)
            assert_int_equal(((const unsigned char *)h->v[j])[i], b);
    }
}

/* An idle session (between calls, last values read from another segment, by a get or by a scan of
 * several segments) does not keep a compacted segment: its file is unmapped and closed, and the file
 * system gets the space back. A session whose last call was a scan that handed out values of the
 * compacted segment keeps it (those values stay valid until its next call), and lets it go then. */
static void idle_frees_space(int last_call)
{
    char dir[512];
    if (access("/dev/shm", W_OK) == 0) { /* tmpfs: the space comes back at once, little other traffic */
        snprintf(dir, sizeof dir, "/dev/shm/as-idle-XXXXXX");
        assert_non_null(mkdtemp(dir));
    } else {
        assert_int_equal(ast_tmpdir(dir, sizeof dir, "as-idle"), 0);
    }
    as_options o;
    as_options_default(&o);
    o.segment_bytes = 16u << 20;
    o.compact_garbage_ratio = 0.3;
    o.maintenance = AS_MAINT_MANUAL;
    as_db *db;
    char err[1024];
    assert_int_equal(as_open(dir, &o, &db, err, sizeof err), AS_OK);
    as_session *w, *idle, *holder;
    assert_int_equal(as_session_open(db, &w), AS_OK);
    assert_int_equal(as_session_open(db, &idle), AS_OK);
    assert_int_equal(as_session_open(db, &holder), AS_OK);
    static unsigned char v[1000];
    const int per_seg = (16 << 20) / 1032;
    for (int k = 0; k < per_seg + 200; k++) { /* segment 1 full, the rest in segment 2 */
        memset(v, k & 0xff, sizeof v);
        assert_int_equal(as_put(w, k, v, sizeof v), AS_OK);
    }
    for (int k = per_seg + 200; k < 2 * per_seg + 300; k++) { /* segment 2 full, the rest in segment 3 */
        memset(v, k & 0xff, sizeof v);
        assert_int_equal(as_put(w, k, v, sizeof v), AS_OK);
    }
    held_val hv = {.n = 0}, hold = {.n = 0};
    int64_t hkey = per_seg + 100; /* lives in segment 2 */
    if (last_call == 0) {
        assert_int_equal(as_get(idle, hkey, &hv.v[0], &hv.len[0]), AS_OK);
        hv.key[0] = hkey;
        hv.n = 1;
    } else { /* a scan handing out values of segments 2 and 3 */
        size_t visited;
        assert_int_equal(as_scan(idle, 2 * per_seg - 30, 64, keep_cb, &hv, &visited), AS_OK);
        assert_int_equal(visited, 64);
    }
    if (last_call == 2) { /* another session's last call: a scan with values from segment 1 and 2 */
        size_t visited;
        assert_int_equal(as_scan(holder, per_seg - 20, 40, keep_cb, &hold, &visited), AS_OK);
        assert_int_equal(visited, 40);
    }
    /* idle from here on */
    for (int k = 0; k < per_seg - 50; k++) { /* segment 1 becomes garbage */
        memset(v, (k + 1) & 0xff, sizeof v);
        assert_int_equal(as_put(w, k, v, sizeof v), AS_OK);
    }
    assert_true(still_held("seg-000001.log"));
    uint64_t before = free_bytes(dir);
    assert_int_equal(as_compact(w), AS_OK);
    uint64_t after = free_bytes(dir);
    as_stats st;
    as_get_stats(db, &st);
    assert_true(st.compactions >= 1);
    if (last_call == 2) {
        /* the holder's values from segment 1 stay valid until its next call */
        assert_true(still_held("seg-000001.log"));
        check_held(&hold);
        const void *val;
        size_t len;
        before = free_bytes(dir); /* little came back so far: segment 1 is still mapped */
        assert_int_equal(as_get(holder, hkey, &val, &len), AS_OK); /* its next call lets them go */
        assert_int_equal(as_maintain(w), AS_OK);                   /* reclaim runs */
        after = free_bytes(dir);
    }
    if (still_held("seg-000001.log"))
        fail_msg("the compacted segment is still mapped or open while the other sessions are idle (last call: %s)",
                 last_call == 0 ? "get" : "scan");
    if (after < before + (10u << 20))
        fail_msg("compaction of a 16 MiB segment gave back %lld bytes (free %llu -> %llu)",
                 (long long)(after - before), (unsigned long long)before, (unsigned long long)after);
    /* the idle session's values (segment 2, or 2 and 3) are still there, byte for byte */
    check_held(&hv);
    printf("idle session (last call a %s): compaction freed %.1f MiB of a 16 MiB segment\n",
           last_call == 0 ? "get" : "scan", (double)(after - before) / 1048576.0);
    as_session_close(holder);
    as_session_close(idle);
    as_session_close(w);
    assert_int_equal(as_close(db), AS_OK);
    ast_rmtree(dir);
}

static void test_idle_session_frees_space(void **state)
{
    (void)state;
    idle_frees_space(0);
}

/* The same when the idle session's last call was a scan (values from two segments, not the compacted one). */
static void test_idle_scan_session_frees_space(void **state)
{
    (void)state;
    idle_frees_space(1);
}

/* A session whose last scan handed out values of the compacted segment keeps it until its next call. */
static void test_scan_values_held_until_next_call(void **state)
{
    (void)state;
    idle_frees_space(2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_thread),
        cmocka_unit_test(test_manual),
        cmocka_unit_test(test_bad_option),
        cmocka_unit_test(test_idle_session_frees_space),
        cmocka_unit_test(test_idle_scan_session_frees_space),
        cmocka_unit_test(test_scan_values_held_until_next_call),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
