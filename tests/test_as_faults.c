/* test_as_faults.c - AlexStorage under a full disk (RLIMIT_FSIZE): errors are returned, nothing acknowledged is lost. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <inttypes.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "alexstorage.h"
#include "as_torture.h"

#define NSLOTS 512u

/* Shared with the child through a MAP_SHARED page, so the parent knows what was acknowledged. */
typedef struct shared {
    uint64_t space;
    uint64_t seq[NSLOTS];
    uint8_t live[NSLOTS];
    uint64_t next_seq;
    uint64_t acked;          /* writes acknowledged in the last round */
    int failed_rc;           /* status of the write that hit the limit */
    uint32_t failed_slot;    /* that write (it must not be visible afterwards) */
    uint64_t failed_seq;
    char msg[512];
} shared;

static void opts(as_options *o, enum as_sync_mode mode, uint64_t chunk)
{
    as_options_default(o);
    o->sync_mode = mode;
    o->map_chunk_bytes = chunk;
}

/* Largest regular file of dir (RLIMIT_FSIZE limits each file, so the active segment is what counts). */
static uint64_t largest_file(const char *dir)
{
    ast_file f[256];
    int n = ast_list_files(dir, f, 256);
    uint64_t m = 0;
    for (int i = 0; i < n; i++)
        if (f[i].size > m)
            m = f[i].size;
    return m;
}

/* Child: open, lower the file size limit, write until the store refuses; check the store is still
 * readable and consistent, close. Exit status 0 = every check passed (else sh->msg says why). */
static void child_fill(const char *dir, shared *sh, enum as_sync_mode mode, uint64_t chunk, uint64_t slack,
                       uint64_t seed)
{
    signal(SIGXFSZ, SIG_IGN); /* the write gets EFBIG instead of a fatal signal */
    as_options o;
    opts(&o, mode, chunk);
    as_db *db;
    char err[512];
    int rc = as_open(dir, &o, &db, err, sizeof err);
    if (rc != AS_OK) {
        if (snprintf(sh->msg, sizeof sh->msg, "open: %s: %s", as_strerror(rc), err) < 0)
            sh->msg[0] = 0;
        _exit(2);
    }
    struct rlimit rl = {largest_file(dir) + slack, RLIM_INFINITY};
    if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
        _exit(2);
    as_session *s;
    if (as_session_open(db, &s) != AS_OK)
        _exit(2);
    static unsigned char val[1 << 16];
    uint64_t r = seed;
    for (int n = 0;; n++) {
        if (n > 200000) {
            snprintf(sh->msg, sizeof sh->msg, "the file size limit never stopped a write");
            _exit(3);
        }
        uint32_t slot = (uint32_t)ast_below(&r, NSLOTS);
        int64_t key = ast_key(sh->space, slot);
        uint64_t seq = sh->next_seq++;
        int del = sh->live[slot] && ast_below(&r, 8) == 0;
        if (del) {
            rc = as_del(s, key);
        } else {
            uint32_t len = ast_val_len(key, seq, sizeof val);
            ast_val_make(key, seq, slot, len, val);
            rc = as_put(s, key, val, len);
        }
        if (rc != AS_OK) {
            sh->failed_rc = rc;
            sh->failed_slot = slot;
            sh->failed_seq = seq;
            snprintf(sh->msg, sizeof sh->msg, "%s", as_session_errmsg(s));
            break;
        }
        sh->live[slot] = !del;
        sh->seq[slot] = seq;
        sh->acked++;
    }
    if (sh->failed_rc != AS_ENOSPC)
        _exit(4);
    /* Still consistent in this process: every acknowledged write reads back. */
    for (uint32_t slot = 0; slot < NSLOTS; slot++) {
        const void *v;
        size_t len;
        uint64_t q;
        uint32_t sl;
        int64_t key = ast_key(sh->space, slot);
        rc = as_get(s, key, &v, &len);
        int ok = sh->live[slot] ? rc == AS_OK && ast_val_check(key, v, len, &q, &sl) && q == sh->seq[slot]
                                : rc == AS_NOTFOUND;
        if (!ok) {
            snprintf(sh->msg, sizeof sh->msg, "after ENOSPC, slot %u reads %s", slot, as_strerror(rc));
            _exit(5);
        }
    }
    /* A second write still fails cleanly (or fits); either way no crash and a real status. */
    int64_t key = ast_key(sh->space, 0);
    uint64_t seq = sh->next_seq++;
    uint32_t len = 20000;
    ast_val_make(key, seq, 0, len, val);
    rc = as_put(s, key, val, len);
    if (rc == AS_OK) {
        sh->live[0] = 1;
        sh->seq[0] = seq;
    } else if (rc != AS_ENOSPC) {
        snprintf(sh->msg, sizeof sh->msg, "second write after ENOSPC: %s", as_strerror(rc));
        _exit(6);
    }
    as_session_close(s);
    as_close(db); /* may report the failed sync; must not crash */
    _exit(0);
}

/* Parent side: open the store in `mode` (64 KiB chunks) and a session, or fail the test with why. */
static as_session *parent_open(const char *dir, enum as_sync_mode mode, const char *label, as_db **db)
{
    as_options o;
    opts(&o, mode, 64u << 10);
    char err[512];
    int rc = as_open(dir, &o, db, err, sizeof err);
    if (rc != AS_OK)
        fail_msg("%s: open: %s: %s", label, as_strerror(rc), err);
    as_session *s;
    assert_int_equal(as_session_open(*db, &s), AS_OK);
    return s;
}

/* Parent side: reopen without a limit and compare with the acknowledged state. */
static void verify_reopen(const char *dir, shared *sh, const char *label)
{
    as_db *db;
    as_session *s = parent_open(dir, AS_SYNC_EACH, label, &db);
    int rc;
    for (uint32_t slot = 0; slot < NSLOTS; slot++) {
        const void *v;
        size_t len;
        uint64_t q = 0;
        uint32_t sl;
        int64_t key = ast_key(sh->space, slot);
        rc = as_get(s, key, &v, &len);
        int valid = rc == AS_OK && ast_val_check(key, v, len, &q, &sl);
        int ok = sh->live[slot] ? valid && q == sh->seq[slot] : rc == AS_NOTFOUND;
        if (!ok)
            fail_msg("%s: slot %u: want %s seq %" PRIu64 ", got %s seq %" PRIu64 "%s", label, slot,
                     sh->live[slot] ? "live" : "absent", sh->seq[slot], as_strerror(rc), q,
                     slot == sh->failed_slot && q == sh->failed_seq ? " (the write that failed!)" : "");
    }
    /* Space is back: the store takes writes again. */
    static unsigned char val[4096];
    int64_t key = ast_key(sh->space, 1);
    uint64_t seq = sh->next_seq++;
    ast_val_make(key, seq, 1, 100, val);
    rc = as_put(s, key, val, 100);
    if (rc != AS_OK)
        fail_msg("%s: put after reopen: %s: %s", label, as_strerror(rc), as_session_errmsg(s));
    sh->live[1] = 1;
    sh->seq[1] = seq;
    as_session_close(s);
    assert_int_equal(as_close(db), AS_OK);
}

static void test_enospc_rounds(void **state)
{
    (void)state;
    int rounds = ast_env_flag("KV_TEST_LONG") ? 60 : ast_env_flag("KV_SANITIZED") ? 8 : 16;
    char dir[512];
    assert_int_equal(ast_tmpdir(dir, sizeof dir, "as-faults"), 0);
    shared *sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(sh != MAP_FAILED);
    memset(sh, 0, sizeof *sh);
    sh->space = 99;
    sh->next_seq = 1;
    uint64_t r = 31337, total_acked = 0;
    for (int round = 0; round < rounds; round++) {
        enum as_sync_mode mode = (enum as_sync_mode)(round % 3);
        uint64_t chunk = round % 2 ? 64u << 10 : 16u << 20;
        uint64_t slack = 1 + ast_below(&r, round % 4 == 0 ? 200 : 120000);
        sh->acked = 0;
        sh->failed_rc = 0;
        sh->msg[0] = 0;
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0)
            child_fill(dir, sh, mode, chunk, slack, ast_rand(&r) + (uint64_t)round);
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        (void)ast_rand(&r);
        char label[128];
        snprintf(label, sizeof label, "round %d (mode %d, chunk %" PRIu64 ", slack %" PRIu64 ")", round, mode, chunk,
                 slack);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            fail_msg("%s: child status 0x%x, failed write %s: %s", label, status, as_strerror(sh->failed_rc),
                     sh->msg);
        assert_int_equal(sh->failed_rc, AS_ENOSPC);
        total_acked += sh->acked;
        verify_reopen(dir, sh, label);
    }
    printf("faults: %d ENOSPC rounds, %" PRIu64 " acknowledged writes all found after reopen; last error text: %s\n",
           rounds, total_acked, sh->msg);
    munmap(sh, sizeof *sh);
    ast_rmtree(dir);
}

/* Creating a store where not even a segment header fits: a clean AS_ENOSPC, and the directory
 * opens normally once the limit is gone. */
static void test_enospc_at_create(void **state)
{
    (void)state;
    char dir[512];
    assert_int_equal(ast_tmpdir(dir, sizeof dir, "as-faults0"), 0);
    for (int limit = 0; limit < 80; limit += 16) {
        ast_clear_dir(dir);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            signal(SIGXFSZ, SIG_IGN);
            struct rlimit rl = {(rlim_t)limit, RLIM_INFINITY};
            if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
                _exit(2);
            as_options o;
            opts(&o, AS_SYNC_EACH, 64u << 10);
            as_db *db = NULL;
            char err[512] = "";
            int rc = as_open(dir, &o, &db, err, sizeof err);
            if (rc == AS_OK) { /* the header fitted: then the first write must hit the limit cleanly */
                as_session *s;
                unsigned char v[4096];
                memset(v, 1, sizeof v);
                if (as_session_open(db, &s) != AS_OK)
                    _exit(3);
                rc = as_put(s, 1, v, sizeof v);
                as_session_close(s);
                as_close(db);
                _exit(rc == AS_ENOSPC ? 0 : 4);
            }
            if (db != NULL)
                _exit(5);
            if (rc != AS_ENOSPC) {
                fprintf(stderr, "open under a %d-byte limit: %s: %s\n", limit, as_strerror(rc), err);
                _exit(6);
            }
            _exit(0);
        }
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            fail_msg("limit %d: child status 0x%x", limit, status);
        char label[64];
        snprintf(label, sizeof label, "limit %d: after the failed create", limit);
        as_db *db;
        as_session *s = parent_open(dir, AS_SYNC_EACH, label, &db);
        unsigned char v[64];
        memset(v, 2, sizeof v);
        assert_int_equal(as_put(s, 5, v, sizeof v), AS_OK);
        const void *g;
        size_t len;
        assert_int_equal(as_get(s, 5, &g, &len), AS_OK);
        assert_int_equal(len, sizeof v);
        as_session_close(s);
        assert_int_equal(as_close(db), AS_OK);
    }
    ast_rmtree(dir);
}

#ifdef AS_HAVE_CHECKPOINT
/* Child under AS_FAULT (the store's test-only injection): a pwrite or fdatasync fails with EIO. */
static void child_eio(const char *dir, shared *sh, enum as_sync_mode mode, int sync_fault, uint64_t seed)
{
    as_options o;
    opts(&o, mode, 64u << 10);
    as_db *db;
    char err[512];
    int rc = as_open(dir, &o, &db, err, sizeof err);
    if (rc != AS_OK) {
        if (snprintf(sh->msg, sizeof sh->msg, "open: %s: %s", as_strerror(rc), err) < 0)
            sh->msg[0] = 0;
        _exit(2);
    }
    as_session *s;
    if (as_session_open(db, &s) != AS_OK)
        _exit(2);
    static unsigned char val[1 << 16];
    uint64_t r = seed;
    int failures = 0;
    for (int n = 0; n < 3000; n++) {
        uint32_t slot = (uint32_t)ast_below(&r, NSLOTS);
        int64_t key = ast_key(sh->space, slot);
        uint64_t seq = sh->next_seq++;
        uint32_t len = ast_val_len(key, seq, sizeof val);
        ast_val_make(key, seq, slot, len, val);
        rc = as_put(s, key, val, len);
        if (rc == AS_OK) {
            if (sync_fault && failures) {
                snprintf(sh->msg, sizeof sh->msg, "a write succeeded after a failed fdatasync");
                _exit(7);
            }
            sh->live[slot] = 1;
            sh->seq[slot] = seq;
            sh->acked++;
            continue;
        }
        if (rc != AS_EIO) {
            snprintf(sh->msg, sizeof sh->msg, "injected EIO came back as %s: %s", as_strerror(rc),
                     as_session_errmsg(s));
            _exit(4);
        }
        if (failures++ == 0) {
            sh->failed_rc = rc;
            sh->failed_slot = slot;
            sh->failed_seq = seq;
            snprintf(sh->msg, sizeof sh->msg, "%s", as_session_errmsg(s));
        }
        if (failures > 3)
            break; /* a failed fdatasync is sticky: the store refuses writes until reopened */
    }
    as_session_close(s);
    as_close(db);
    _exit(failures ? 0 : 3);
}

/* An fdatasync failure makes the store refuse writes until reopened; a pwrite failure is cut back
 * and the store goes on. Either way every acknowledged write is there after reopen. */
static void test_eio_injection(void **state)
{
    (void)state;
    char dir[512];
    assert_int_equal(ast_tmpdir(dir, sizeof dir, "as-eio"), 0);
    shared *sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(sh != MAP_FAILED);
    memset(sh, 0, sizeof *sh);
    sh->space = 7;
    sh->next_seq = 1;
    uint64_t r = 4711, total = 0;
    int rounds = ast_env_flag("KV_SANITIZED") ? 8 : 16;
    for (int round = 0; round < rounds; round++) {
        int sync_fault = round % 2 == 0;
        enum as_sync_mode mode = sync_fault ? (round % 4 == 0 ? AS_SYNC_EACH : AS_SYNC_GROUP)
                                            : (round % 4 == 1 ? AS_SYNC_NONE : AS_SYNC_EACH);
        char spec[64];
        snprintf(spec, sizeof spec, "%s=%s%d", sync_fault ? "sync" : "write", round % 3 == 0 ? "+" : "",
                 2 + (int)ast_below(&r, 150));
        sh->acked = 0;
        sh->failed_rc = 0;
        sh->msg[0] = 0;
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            setenv("AS_FAULT", spec, 1);
            child_eio(dir, sh, mode, sync_fault, ast_rand(&r) + (uint64_t)round);
        }
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        (void)ast_rand(&r);
        char label[128];
        snprintf(label, sizeof label, "eio round %d (AS_FAULT=%s, mode %d)", round, spec, mode);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            fail_msg("%s: child status 0x%x: %s", label, status, sh->msg);
        total += sh->acked;
        /* The failed write of a failed fdatasync may have reached the disk anyway (old or new is fine);
         * a failed pwrite was cut back, so its key must read the old value: verify_reopen checks that. */
        if (sync_fault && sh->failed_rc) {
            as_db *db;
            as_session *s = parent_open(dir, AS_SYNC_NONE, label, &db);
            const void *v;
            size_t len;
            uint64_t q;
            uint32_t sl;
            int64_t key = ast_key(sh->space, sh->failed_slot);
            if (as_get(s, key, &v, &len) == AS_OK && ast_val_check(key, v, len, &q, &sl) && q == sh->failed_seq) {
                sh->live[sh->failed_slot] = 1; /* it made it: the model follows */
                sh->seq[sh->failed_slot] = q;
            }
            as_session_close(s);
            assert_int_equal(as_close(db), AS_OK);
        }
        verify_reopen(dir, sh, label);
    }
    printf("faults: %d injected-EIO rounds (pwrite and fdatasync), %" PRIu64 " acknowledged writes all found; last "
           "error text: %s\n", rounds, total, sh->msg);
    munmap(sh, sizeof *sh);
    ast_rmtree(dir);
}
#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_enospc_at_create),
        cmocka_unit_test(test_enospc_rounds),
#ifdef AS_HAVE_CHECKPOINT
        cmocka_unit_test(test_eio_injection),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
