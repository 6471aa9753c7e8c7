/* test_as_corruption.c - damage AlexStorage files at random; every damage is detected or harmless, never a wrong value. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <inttypes.h>

#include "alexstorage.h"
#include "as_torture.h"

#define NSLOTS 256u
#define NGOLD 4
#define MAXFILES 256
/* The write check_repaired adds after a repair (newer than anything in a golden store). */
#define REPAIR_SLOT 7u
#define REPAIR_SEQ (1ull << 40)
#define C_UNEXPLAINED (-2)

static int g_quiet; /* set while check_repaired re-reads a store it expects to differ from its golden */
static int g_verbose; /* KV_CORRUPT_VERBOSE=1: say what each trial did */

enum { W_PUT = 1, W_DEL = 2 };
typedef struct wrec {
    uint32_t type, slot;
    uint64_t seq;
} wrec;

/* A clean store and the writes that built it (in order). */
typedef struct golden {
    char dir[512];
    uint64_t space;
    wrec *log;
    size_t nlog;
    uint64_t seq[NSLOTS]; /* final state */
    uint8_t live[NSLOTS];
} golden;

enum kind { K_FLIP, K_BURST, K_TRUNC, K_HEADER, K_ZERO_PAGE, K_APPEND, K_DELETE, K__N };
static const char *const kind_name[K__N] = {"bitflip", "burst", "truncate", "header", "zero-page", "append",
                                            "delete-file"};

enum cls {
    C_REJECTED,      /* open failed with AS_ECORRUPT naming the file */
    C_DROPPED,       /* open reported dropped bytes; everything returned is valid */
    C_READ_DETECTED, /* a get or scan returned AS_ECORRUPT */
    C_HARMLESS,      /* every key reads back exactly as written */
    C_TAIL_LOSS,     /* newest writes gone without a report, the rest intact: a clean cut at a record
                        boundary, undetectable without a record of where the log ended */
    C_CKPT_REJECTED, /* the index checkpoint was refused and the log scanned instead; all values right */
    C__N
};
static const char *const cls_name[C__N] = {"open-rejected", "dropped-reported", "read-detected", "harmless",
                                           "silent-tail-cut", "ckpt-rescanned"};

/* What one open of a damaged store showed, per slot: -1 corrupt on read, 0 absent, else value seq. */
typedef struct observed {
    int64_t state[NSLOTS];
    uint64_t dropped;
    uint64_t ckpt_rejected;
} observed;

static void gold_options(as_options *o, int g)
{
    as_options_default(o);
    o->sync_mode = AS_SYNC_NONE;
    if (g == 1 || g == 3)
        o->segment_bytes = 64u << 10; /* several segments */
    o->map_chunk_bytes = 64u << 10;
}

static void build_golden(golden *gd, int g, uint64_t seed)
{
    assert_int_equal(ast_tmpdir(gd->dir, sizeof gd->dir, "as-gold"), 0);
    gd->space = ast_mix(seed + (uint64_t)g);
    size_t nwrites = g == 2 ? 40 : g == 3 ? 900 : 500;
    gd->log = calloc(nwrites, sizeof *gd->log);
    assert_non_null(gd->log);
    as_options o;
    gold_options(&o, g);
    as_db *db = NULL;
    char err[512];
    int rc = as_open(gd->dir, &o, &db, err, sizeof err);
    if (rc != AS_OK)
        fail_msg("golden open: %s: %s", as_strerror(rc), err);
    as_session *s;
    assert_int_equal(as_session_open(db, &s), AS_OK);
    uint64_t r = seed ^ 77;
    static unsigned char val[1 << 16];
    for (size_t i = 0; i < nwrites; i++) {
        uint32_t slot = (uint32_t)ast_below(&r, NSLOTS);
        int64_t key = ast_key(gd->space, slot);
        uint64_t seq = i + 1;
        int del = gd->live[slot] && ast_below(&r, 6) == 0;
        if (del) {
            assert_int_equal(as_del(s, key), AS_OK);
        } else {
            uint32_t len = ast_val_len(key, seq, sizeof val);
            ast_val_make(key, seq, slot, len, val);
            rc = as_put(s, key, val, len);
            if (rc != AS_OK)
                fail_msg("golden put: %s: %s", as_strerror(rc), as_session_errmsg(s));
        }
        gd->log[gd->nlog++] = (wrec){del ? W_DEL : W_PUT, slot, seq};
        gd->live[slot] = !del;
        gd->seq[slot] = seq;
    }
    as_session_close(s);
    assert_int_equal(as_close(db), AS_OK);
}

/* 1 when the observed state equals the state after some prefix of the write log. */
static int is_prefix_state(const golden *gd, const observed *ob)
{
    static int64_t st[NSLOTS];
    long mism = 0;
    for (uint32_t i = 0; i < NSLOTS; i++) {
        st[i] = 0;
        mism += ob->state[i] != 0;
    }
    if (mism == 0)
        return 1;
    for (size_t j = 0; j < gd->nlog; j++) {
        const wrec *w = &gd->log[j];
        int64_t nv = w->type == W_PUT ? (int64_t)w->seq : 0;
        mism -= st[w->slot] != ob->state[w->slot];
        st[w->slot] = nv;
        mism += st[w->slot] != ob->state[w->slot];
        if (mism == 0)
            return 1;
    }
    return 0;
}

typedef struct scan_ctx {
    const golden *gd;
    const observed *ob;
    int64_t last;
    int first;
    uint64_t bad, n;
} scan_ctx;

static int scan_cb(void *arg, int64_t key, const void *val, size_t len)
{
    scan_ctx *c = arg;
    uint64_t seq;
    uint32_t slot;
    if (!c->first && key <= c->last)
        c->bad++;
    c->first = 0;
    c->last = key;
    c->n++;
    if (!ast_val_check(key, val, len, &seq, &slot) || slot >= NSLOTS || ast_key(c->gd->space, slot) != key) {
        fprintf(stderr, "  scan returned a wrong value for key %" PRId64 " (len %zu)\n", key, len);
        c->bad++;
    } else if (c->ob->state[slot] >= 0 && c->ob->state[slot] != (int64_t)seq) {
        fprintf(stderr, "  scan and get disagree on key %" PRId64 "\n", key);
        c->bad++;
    }
    return 0;
}

/* Open the damaged store and read everything. Returns the class, or -1 on a failure (printed). */
static int examine(const golden *gd, const char *dir, int read_only, const char *target, observed *ob,
                   as_db **keep)
{
    as_options o;
    as_options_default(&o);
    o.read_only = read_only;
    o.create_if_missing = 0;
    o.map_chunk_bytes = 64u << 10;
    as_db *db = NULL;
    char err[1024] = "";
    int rc = as_open(dir, &o, &db, err, sizeof err);
    memset(ob, 0, sizeof *ob);
    if (rc != AS_OK) {
        if (rc == AS_ECORRUPT && strstr(err, target))
            return C_REJECTED;
        fprintf(stderr, "  open%s failed with %s and a message not naming %s: %s\n", read_only ? " (read-only)" : "",
                as_strerror(rc), target, err);
        return -1;
    }
    as_stats st;
    assert_int_equal(as_get_stats(db, &st), AS_OK);
    ob->dropped = st.bytes_dropped;
#ifdef AS_HAVE_CHECKPOINT
    ob->ckpt_rejected = st.checkpoint_rejected;
#endif
    as_session *s;
    assert_int_equal(as_session_open(db, &s), AS_OK);
    int wrong = 0, lost = 0, read_corrupt = 0;
    for (uint32_t slot = 0; slot < NSLOTS; slot++) {
        int64_t key = ast_key(gd->space, slot);
        const void *v;
        size_t len;
        rc = as_get(s, key, &v, &len);
        uint64_t seq = 0;
        uint32_t sl = 0;
        if (rc == AS_ECORRUPT) {
            read_corrupt = 1;
            ob->state[slot] = -1;
            continue;
        }
        if (rc == AS_NOTFOUND) {
            lost += gd->live[slot];
            continue;
        }
        if (rc != AS_OK) {
            fprintf(stderr, "  get: unexpected %s: %s\n", as_strerror(rc), as_session_errmsg(s));
            wrong++;
            continue;
        }
        if (!ast_val_check(key, v, len, &seq, &sl) || sl != slot ||
            (seq > gd->seq[slot] && !(slot == REPAIR_SLOT && seq == REPAIR_SEQ))) {
            fprintf(stderr, "  get returned a WRONG value for slot %u (len %zu)\n", slot, len);
            wrong++;
            continue;
        }
        ob->state[slot] = (int64_t)seq;
        lost += !gd->live[slot] || seq != gd->seq[slot]; /* resurrected or stale */
    }
    scan_ctx c = {.gd = gd, .ob = ob, .first = 1};
    size_t visited;
    rc = as_scan(s, INT64_MIN, SIZE_MAX, scan_cb, &c, &visited);
    if (rc == AS_ECORRUPT)
        read_corrupt = 1;
    else if (rc != AS_OK) {
        fprintf(stderr, "  scan: unexpected %s: %s\n", as_strerror(rc), as_session_errmsg(s));
        wrong++;
    }
    uint64_t present = 0;
    for (uint32_t i = 0; i < NSLOTS; i++)
        present += ob->state[i] > 0;
    if (rc == AS_OK && !read_corrupt && c.n != present) {
        fprintf(stderr, "  scan saw %" PRIu64 " keys, get saw %" PRIu64 "\n", c.n, present);
        wrong++;
    }
    wrong += (int)c.bad;
    as_session_close(s);
    if (keep)
        *keep = db;
    else
        as_close(db);
    if (wrong)
        return -1;
    if (read_corrupt)
        return C_READ_DETECTED;
    if (ob->dropped)
        return C_DROPPED;
    if (!lost)
        return ob->ckpt_rejected ? C_CKPT_REJECTED : C_HARMLESS;
    if (is_prefix_state(gd, ob)) {
        if (g_verbose)
            fprintf(stderr, "  silent tail cut: %d keys lost\n", lost);
        return C_TAIL_LOSS;
    }
    if (!g_quiet)
        fprintf(stderr, "  %d keys lost or stale with nothing reported\n", lost);
    return C_UNEXPLAINED;
}

/* Damage one file of dir; writes the file name into target. */
static int damage(const char *dir, uint64_t *r, char *target, size_t tcap, char *what, size_t wcap)
{
    ast_file f[MAXFILES];
    int n = ast_list_files(dir, f, MAXFILES), cand[MAXFILES], nc = 0;
    for (int i = 0; i < n; i++)
        if (f[i].size > 0)
            cand[nc++] = i;
    if (nc == 0)
        return -1;
    ast_file *t = &f[cand[ast_below(r, (uint64_t)nc)]];
    snprintf(target, tcap, "%s", t->name);
    char path[4200];
    if (ast_join(path, sizeof path, dir, t->name))
        return -1;
    int kind = (int)ast_below(r, 100);
    kind = kind < 38 ? K_FLIP : kind < 48 ? K_BURST : kind < 66 ? K_TRUNC : kind < 80 ? K_HEADER
         : kind < 88 ? K_ZERO_PAGE : kind < 94 ? K_APPEND : K_DELETE;
    if (kind == K_DELETE) {
        snprintf(what, wcap, "delete %s", t->name);
        return unlink(path) == 0 ? kind : -1;
    }
    int fd = open(path, O_RDWR);
    if (fd < 0)
        return -1;
    uint64_t sz = t->size, off = ast_below(r, sz);
    unsigned char b[4096];
    int ok = 1;
    switch (kind) {
    case K_FLIP:
    case K_HEADER:
        if (kind == K_HEADER)
            off = ast_below(r, sz < 64 ? sz : 64);
        if (kind == K_HEADER && ast_below(r, 4) == 0) { /* wipe the whole header */
            size_t len = sz < 64 ? (size_t)sz : 64;
            memset(b, ast_below(r, 2) ? 0 : 0xff, len);
            ok = pwrite(fd, b, len, 0) == (ssize_t)len;
            snprintf(what, wcap, "wipe header of %s", t->name);
            break;
        }
        ok = pread(fd, b, 1, (off_t)off) == 1;
        b[0] ^= (unsigned char)(1u << ast_below(r, 8));
        ok = ok && pwrite(fd, b, 1, (off_t)off) == 1;
        snprintf(what, wcap, "flip a bit of %s at %" PRIu64, t->name, off);
        break;
    case K_BURST: {
        size_t len = 2 + (size_t)ast_below(r, 15);
        if (off + len > sz)
            len = (size_t)(sz - off);
        for (size_t i = 0; i < len; i++)
            b[i] = (unsigned char)ast_rand(r);
        ok = pwrite(fd, b, len, (off_t)off) == (ssize_t)len;
        snprintf(what, wcap, "overwrite %zu bytes of %s at %" PRIu64, len, t->name, off);
        break;
    }
    case K_TRUNC:
        ok = ftruncate(fd, (off_t)off) == 0;
        snprintf(what, wcap, "truncate %s to %" PRIu64 " of %" PRIu64, t->name, off, sz);
        break;
    case K_ZERO_PAGE: {
        off &= ~(uint64_t)4095;
        size_t len = sz - off < 4096 ? (size_t)(sz - off) : 4096;
        memset(b, 0, len);
        ok = pwrite(fd, b, len, (off_t)off) == (ssize_t)len;
        snprintf(what, wcap, "zero %zu bytes of %s at %" PRIu64, len, t->name, off);
        break;
    }
    case K_APPEND: {
        size_t len = 1 + (size_t)ast_below(r, sizeof b);
        int zeros = ast_below(r, 2) == 0;
        for (size_t i = 0; i < len; i++)
            b[i] = zeros ? 0 : (unsigned char)ast_rand(r);
        ok = pwrite(fd, b, len, (off_t)sz) == (ssize_t)len;
        snprintf(what, wcap, "append %zu %s bytes to %s", len, zeros ? "zero" : "random", t->name);
        break;
    }
    }
    close(fd);
    return ok ? kind : -1;
}

/* After a read-write open repaired what it could: a write is accepted, and the next open agrees. */
static void check_repaired(const golden *gd, as_db *db, const char *dir, const observed *ob, const char *what)
{
    as_session *s;
    assert_int_equal(as_session_open(db, &s), AS_OK);
    static unsigned char val[1 << 16];
    uint32_t slot = REPAIR_SLOT;
    int64_t key = ast_key(gd->space, slot);
    uint64_t seq = REPAIR_SEQ;
    uint32_t len = ast_val_len(key, seq, sizeof val);
    ast_val_make(key, seq, slot, len, val);
    int rc = as_put(s, key, val, len);
    as_session_close(s);
    int crc = as_close(db);
    if (rc != AS_OK || crc != AS_OK)
        fail_msg("%s: write after recovery: put %s, close %s", what, as_strerror(rc), as_strerror(crc));
    observed again;
    observed want = *ob;
    want.state[slot] = (int64_t)seq;
    as_db *db2 = NULL;
    g_quiet = 1;
    int cls = examine(gd, dir, 0, "", &again, &db2);
    g_quiet = 0;
    if (cls == -1 || !db2)
        fail_msg("%s: second open after repair failed (class %d)", what, cls);
    as_close(db2);
    if (again.dropped)
        fail_msg("%s: second open dropped %" PRIu64 " more bytes", what, again.dropped);
    for (uint32_t i = 0; i < NSLOTS; i++)
        if (want.state[i] != again.state[i])
            fail_msg("%s: slot %u read %" PRId64 " after repair, then %" PRId64 " after reopen", what, i,
                     want.state[i], again.state[i]);
}

static void test_corruption_trials(void **state)
{
    (void)state;
    long trials = ast_env_long("KV_CORRUPT_TRIALS", ast_env_flag("KV_TEST_LONG") ? 5000 : 1000);
    uint64_t seed = (uint64_t)ast_env_long("KV_CORRUPT_SEED", 4242);
    g_verbose = ast_env_flag("KV_CORRUPT_VERBOSE");
    static golden gold[NGOLD];
    for (int g = 0; g < NGOLD; g++)
        build_golden(&gold[g], g, seed + (uint64_t)g * 1000);
    char dir[512];
    assert_int_equal(ast_tmpdir(dir, sizeof dir, "as-corrupt"), 0);
    long stats[K__N][C__N] = {{0}};
    long failures = 0;
    uint64_t r = seed;
    double t0 = ast_now();
    for (long t = 0; t < trials; t++) {
        golden *gd = &gold[t % NGOLD];
        assert_int_equal(ast_copy_dir(gd->dir, dir), 0);
        char target[256], what[512];
        int kind = damage(dir, &r, target, sizeof target, what, sizeof what);
        assert_true(kind >= 0);
        observed ob;
        uint64_t h0 = ast_dir_hash(dir);
        int cro = examine(gd, dir, 1, target, &ob, NULL);
        if (ast_dir_hash(dir) != h0)
            fail_msg("trial %ld (%s): a read-only open changed the files", t, what);
        as_db *db = NULL;
        int crw = examine(gd, dir, 0, target, &ob, &db);
        if (cro < 0 || crw < 0) {
            fprintf(stderr, "trial %ld FAILED: %s (golden %ld): read-only %s, read-write %s\n", t, what, t % NGOLD,
                    cro < 0 ? "FAIL" : cls_name[cro], crw < 0 ? "FAIL" : cls_name[crw]);
            failures++;
            if (db)
                as_close(db);
            continue;
        }
        stats[kind][crw]++;
        if (g_verbose)
            fprintf(stderr, "trial %ld: %s: read-only %s, read-write %s\n", t, what, cls_name[cro], cls_name[crw]);
        if (db) {
            char label[600];
            snprintf(label, sizeof label, "trial %ld (%s)", t, what);
            check_repaired(gd, db, dir, &ob, label);
        }
    }
    printf("corruption: %ld trials in %.1f s, %ld failures (wrong value, crash-free undetected loss, bad error)\n",
           trials, ast_now() - t0, failures);
    printf("%-12s", "damage");
    for (int c = 0; c < C__N; c++)
        printf(" %16s", cls_name[c]);
    printf("\n");
    for (int k = 0; k < K__N; k++) {
        printf("%-12s", kind_name[k]);
        for (int c = 0; c < C__N; c++)
            printf(" %16ld", stats[k][c]);
        printf("\n");
    }
    ast_rmtree(dir);
    for (int g = 0; g < NGOLD; g++) {
        ast_rmtree(gold[g].dir);
        free(gold[g].log);
    }
    assert_int_equal(failures, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_corruption_trials),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
