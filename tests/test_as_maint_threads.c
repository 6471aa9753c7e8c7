/* test_as_maint_threads.c - AlexStorage maintenance off the write path: the background thread and
 * as_maintain compact and checkpoint while writers and readers run; nothing is lost. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
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

/* ---- maintenance in tiny steps racing a writer on the same keys ----
 * Compaction copies a segment in steps and checkpoints collect their pairs in holds of a few pairs
 * (AS_FAULT compact_step / ckpt_step), with the writer updating and deleting the same few keys in
 * between: a key updated while its segment is copied keeps the newer value; a checkpoint taken while
 * puts run opens (from a copy of the files, without a clean close) to the same contents and the same
 * live bytes as the store it was taken from. */
#define RKEYS 40u
typedef struct race race;
struct race {
    as_db *db;
    uint64_t ver[RKEYS];  /* newest version written; 0 = never */
    int gone[RKEYS];      /* deleted after ver */
    _Atomic int writer_done, stop_writer;
    _Atomic uint64_t ckpts_during, maint_calls, ops, copies_checked;
    _Atomic int pause, paused;  /* the maintainer stops the writer between two ops to copy the files */
    const char *dir, *copy;
};

static void race_verify(as_db *db, const struct race *r, const char *what);

static int64_t race_key(uint32_t k) { return (int64_t)k * 7919 - 100000; }

static void *race_writer(void *arg)
{
    race *r = arg;
    as_session *s;
    if (as_session_open(r->db, &s) != AS_OK)
        return NULL;
    unsigned char val[600];
    uint64_t rng = 12345;
    for (int i = 0; !atomic_load(&r->stop_writer) && i < 20000; i++) {
        atomic_store(&r->ops, (uint64_t)i);
        while (atomic_load(&r->pause)) {
            atomic_store(&r->paused, 1);
            struct timespec ts = {0, 50000};
            nanosleep(&ts, NULL);
        }
        atomic_store(&r->paused, 0);
        if (i % 2 == 0) { /* leave maintenance time to keep up (tiny steps, a rest after each) */
            struct timespec ts = {0, 20000};
            nanosleep(&ts, NULL);
        }
        uint32_t k = (uint32_t)ast_below(&rng, RKEYS);
        int64_t key = race_key(k);
        if (ast_below(&rng, 10) == 0) {
            if (as_del(s, key) != AS_OK)
                fail_msg("del: %s", as_session_errmsg(s));
            r->gone[k] = 1;
            continue;
        }
        uint64_t v = r->ver[k] + 1;
        uint32_t len = ast_val_len(key, v, sizeof val);
        ast_val_make(key, v, k, len, val);
        if (as_put(s, key, val, len) != AS_OK)
            fail_msg("put: %s", as_session_errmsg(s));
        r->ver[k] = v;
        r->gone[k] = 0;
    }
    as_session_close(s);
    atomic_store(&r->writer_done, 1);
    return NULL;
}

/* With the writer paused right after a checkpoint it raced: the files as they are (no clean close)
 * open from that checkpoint + the log tail to the same keys, values and live bytes. */
static void race_check_copy(race *r)
{
    atomic_store(&r->pause, 1);
    while (!atomic_load(&r->paused) && !atomic_load(&r->writer_done)) {
        struct timespec ts = {0, 20000};
        nanosleep(&ts, NULL);
    }
    as_stats st, cs;
    as_get_stats(r->db, &st);
    assert_int_equal(ast_copy_dir(r->dir, r->copy), 0);
    as_options oc;
    as_options_default(&oc);
    as_db *c;
    char err[1024];
    if (as_open(r->copy, &oc, &c, err, sizeof err) != AS_OK)
        fail_msg("copy after a racing checkpoint does not open: %s", err);
    as_get_stats(c, &cs);
    assert_int_equal(cs.checkpoint_loaded, 1);
    race_verify(c, r, "copy opened from a checkpoint taken during puts");
    if (cs.live_bytes != st.live_bytes || cs.num_keys != st.num_keys)
        fail_msg("copy: %llu keys / %llu live bytes, the store had %llu / %llu (checkpoint and log tail disagree)",
                 (unsigned long long)cs.num_keys, (unsigned long long)cs.live_bytes,
                 (unsigned long long)st.num_keys, (unsigned long long)st.live_bytes);
    assert_int_equal(as_close(c), AS_OK);
    atomic_fetch_add(&r->copies_checked, 1);
    atomic_store(&r->pause, 0);
}

static void *race_maintainer(void *arg)
{
    race *r = arg;
    as_session *s;
    if (as_session_open(r->db, &s) != AS_OK)
        return NULL;
    for (uint64_t i = 0; !atomic_load(&r->writer_done); i++) {
        uint64_t before = atomic_load(&r->ops);
        int rc = i % 4 ? as_checkpoint(s) : as_maintain(s);
        if (rc != AS_OK)
            fail_msg("maintenance: %s", as_session_errmsg(s));
        atomic_fetch_add(&r->maint_calls, 1);
        /* a checkpoint during which the writer moved on: every other one is checked from a copy */
        if (i % 4 && atomic_load(&r->ops) != before) {
            if (atomic_fetch_add(&r->ckpts_during, 1) % 2 == 0)
                race_check_copy(r);
            if (atomic_load(&r->ckpts_during) >= 20)
                atomic_store(&r->stop_writer, 1);
        }
    }
    as_session_close(s);
    return NULL;
}

static void race_verify(as_db *db, const struct race *r, const char *what)
{
    as_session *s;
    assert_int_equal(as_session_open(db, &s), AS_OK);
    for (uint32_t k = 0; k < RKEYS; k++) {
        int64_t key = race_key(k);
        const void *v;
        size_t len;
        uint64_t q = 0;
        uint32_t sl;
        int rc = as_get(s, key, &v, &len);
        if (r->gone[k] || !r->ver[k]) {
            if (rc != AS_NOTFOUND)
                fail_msg("%s: key %u was deleted but reads %s", what, k, as_strerror(rc));
            continue;
        }
        if (rc != AS_OK || !ast_val_check(key, v, len, &q, &sl) || q != r->ver[k])
            fail_msg("%s: key %u reads %s version %llu, wrote %llu", what, k, as_strerror(rc),
                     (unsigned long long)q, (unsigned long long)r->ver[k]);
    }
    as_session_close(s);
}

static void test_race_same_keys(void **state)
{
    (void)state;
    char dir[512], copy[600];
    assert_int_equal(ast_tmpdir(dir, sizeof dir, "as-race"), 0);
    snprintf(copy, sizeof copy, "%s-copy", dir);
    assert_int_equal(mkdir(copy, 0755), 0);
    setenv("AS_FAULT", "compact_step=700,ckpt_step=3", 1); /* a few records / pairs per hold */
    as_options o;
    as_options_default(&o);
    o.segment_bytes = 8u << 10;
    o.map_chunk_bytes = 64u << 10;
    o.checkpoint_bytes = 4u << 10;
    o.compact_garbage_ratio = 0.3;
    o.maintenance = AS_MAINT_MANUAL;
    static race r;
    memset(&r, 0, sizeof r);
    r.dir = dir;
    r.copy = copy;
    char err[1024];
    assert_int_equal(as_open(dir, &o, &r.db, err, sizeof err), AS_OK);
    unsetenv("AS_FAULT");
    as_options oc;
    as_options_default(&oc);
    as_db *c;
    pthread_t tw, tm;
    assert_int_equal(pthread_create(&tw, NULL, race_writer, &r), 0);
    assert_int_equal(pthread_create(&tm, NULL, race_maintainer, &r), 0);
    pthread_join(tw, NULL);
    pthread_join(tm, NULL);
    as_stats st;
    as_get_stats(r.db, &st);
    if (st.compactions < 5 || atomic_load(&r.copies_checked) < 5)
        fail_msg("race: %llu compactions, %llu checkpoints: too few to test anything",
                 (unsigned long long)st.compactions, (unsigned long long)st.checkpoints_written);
    race_verify(r.db, &r, "open store");
    assert_int_equal(as_close(r.db), AS_OK);
    assert_int_equal(as_open(dir, &oc, &c, err, sizeof err), AS_OK);
    race_verify(c, &r, "reopened store");
    assert_int_equal(as_close(c), AS_OK);
    printf("race: %llu compactions and %llu checkpoints in tiny steps (%llu during puts) beside a writer of the "
           "same %u keys; %llu copies opened from a racing checkpoint with the store's keys, values, live bytes\n",
           (unsigned long long)st.compactions, (unsigned long long)st.checkpoints_written,
           (unsigned long long)atomic_load(&r.ckpts_during), RKEYS, (unsigned long long)atomic_load(&r.copies_checked));
    ast_rmtree(dir);
    ast_rmtree(copy);
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
        cmocka_unit_test(test_race_same_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
