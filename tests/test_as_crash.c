/* test_as_crash.c - SIGKILL a writer at random moments; every acknowledged AlexStorage write must survive. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>

#include "alexstorage.h"
#include "as_test_index.h"
#include "as_torture.h"

/* A small key space with a hot head, so most writes overwrite or delete something. */
#define NSLOTS 1024u
#define HOT_SLOTS 64u

enum { MSG_PUT = 1, MSG_DEL, MSG_ACK, MSG_OPENED, MSG_CKPT, MSG_COMPACT, MSG_MAINT_DONE };
typedef struct msg {
    uint32_t type;
    uint32_t slot;
    uint64_t seq;
} msg; /* 16 bytes < PIPE_BUF: each write to the pipe is atomic */

typedef struct model {
    uint64_t seq[NSLOTS]; /* newest acknowledged version (value seq) */
    uint8_t live[NSLOTS]; /* 1 = present */
    uint64_t space;       /* key-space seed */
} model;

typedef struct pending {
    int active;
    uint32_t type, slot;
    uint64_t seq;
} pending;

typedef struct totals {
    uint64_t ckpt_rejected, ckpt_loaded, kills_in_ckpt, kills_in_compact;
    uint64_t acked, inflight_old, inflight_new, dropped_bytes, replayed, kills_before_open;
    double max_open_s, sum_open_s;
} totals;

static void crash_options(as_options *o, enum as_sync_mode mode)
{
    as_options_default(o);
    o->sync_mode = mode;
    o->segment_bytes = 256u << 10; /* many segments: kills land on rotations too */
    o->map_chunk_bytes = 64u << 10;
    o->reserve_bytes = 0;
    as_test_index(o);
}

static void child_send(int fd, uint32_t type, uint32_t slot, uint64_t seq)
{
    msg m = {type, slot, seq};
    if (write(fd, &m, sizeof m) != (ssize_t)sizeof m)
        _exit(4);
}

/* The victim: writes until killed, reporting each intent before and each acknowledgement after. */
static void child_run(const char *dir, const model *m, uint64_t seed, uint64_t base_seq, enum as_sync_mode mode,
                      int wfd)
{
    as_options o;
    crash_options(&o, mode);
    as_db *db = NULL;
    char err[512];
    int rc = as_open(dir, &o, &db, err, sizeof err);
    if (rc != AS_OK) {
        fprintf(stderr, "crash child: as_open: %s: %s\n", as_strerror(rc), err);
        _exit(2);
    }
    as_session *s = NULL;
    if (as_session_open(db, &s) != AS_OK)
        _exit(2);
    child_send(wfd, MSG_OPENED, 0, 0);
    static unsigned char val[1 << 16];
    uint64_t r = seed, maxops = mode == AS_SYNC_EACH ? 2000 : 1000;
    for (uint64_t n = 0; n < maxops; n++) {
        uint32_t slot = (uint32_t)(ast_below(&r, 2) ? ast_below(&r, HOT_SLOTS) : ast_below(&r, NSLOTS));
        int64_t key = ast_key(m->space, slot);
        uint64_t seq = base_seq + n;
        if (ast_below(&r, 5) == 0) {
            child_send(wfd, MSG_DEL, slot, seq);
            rc = as_del(s, key);
        } else {
            uint32_t len = ast_val_len(key, seq, sizeof val);
            ast_val_make(key, seq, slot, len, val);
            child_send(wfd, MSG_PUT, slot, seq);
            rc = as_put(s, key, val, len);
        }
        if (rc != AS_OK) {
            fprintf(stderr, "crash child: write seq %" PRIu64 ": %s: %s\n", seq, as_strerror(rc),
                    as_session_errmsg(s));
            _exit(3);
        }
        child_send(wfd, MSG_ACK, slot, seq);
#if defined(AS_HAVE_CHECKPOINT) && defined(AS_HAVE_COMPACT)
        /* Maintenance under fire: kills also land inside checkpoints and compactions (besides the
         * automatic ones the small segments trigger). They change no data, so nothing is reported. */
        uint64_t dice = ast_below(&r, 100);
        if (dice < 2) {
            child_send(wfd, dice == 0 ? MSG_CKPT : MSG_COMPACT, 0, 0);
            rc = dice == 0 ? as_checkpoint(s) : as_compact(s);
            if (rc != AS_OK) {
                fprintf(stderr, "crash child: %s: %s: %s\n", dice == 0 ? "as_checkpoint" : "as_compact",
                        as_strerror(rc), as_session_errmsg(s));
                _exit(3);
            }
            child_send(wfd, MSG_MAINT_DONE, 0, 0);
        }
#endif
    }
    for (;;)
        pause(); /* wait for the kill; never close cleanly */
}

static void apply(model *m, uint32_t type, uint32_t slot, uint64_t seq)
{
    m->live[slot] = type == MSG_PUT;
    m->seq[slot] = seq;
}

typedef struct scan_ctx {
    const model *m;
    int64_t last;
    uint64_t n, bad;
    int first;
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
    if (!ast_val_check(key, val, len, &seq, &slot) || slot >= NSLOTS || ast_key(c->m->space, slot) != key ||
        !c->m->live[slot] || c->m->seq[slot] != seq) {
        fprintf(stderr, "scan: key %" PRId64 " len %zu: value does not match the model\n", key, len);
        c->bad++;
    }
    return 0;
}

/* Reopen after a kill and compare every slot with the model; resolves the in-flight write. */
static void verify_after_kill(const char *dir, model *m, const pending *p, uint64_t *next_seq, totals *t)
{
    as_options o;
    crash_options(&o, AS_SYNC_EACH);
    as_db *db = NULL;
    char err[512] = "";
    const char *keep = getenv("KV_CRASH_KEEP"); /* debugging: the state each reopen started from */
    if (keep && *keep)
        ast_copy_dir(dir, keep);
    double t0 = ast_now();
    int rc = as_open(dir, &o, &db, err, sizeof err);
    double dt = ast_now() - t0;
    if (rc != AS_OK)
        fail_msg("reopen after kill: %s: %s", as_strerror(rc), err);
    if (strstr(err, "checkpoint") && strstr(err, "rejected")) {
        t->ckpt_rejected++;
        if (ast_env_flag("KV_CRASH_VERBOSE"))
            fprintf(stderr, "reopen: %s\n", err);
        if (keep && *keep)
            fail_msg("stopping with the rejected state in %s", keep);
    }
    t->sum_open_s += dt;
    if (dt > t->max_open_s)
        t->max_open_s = dt;
    as_stats st;
    assert_int_equal(as_get_stats(db, &st), AS_OK);
    t->dropped_bytes += st.bytes_dropped;
    t->replayed += st.records_replayed;
#ifdef AS_HAVE_CHECKPOINT
    t->ckpt_loaded += st.checkpoint_loaded;
#endif
    as_session *s = NULL;
    assert_int_equal(as_session_open(db, &s), AS_OK);
    for (uint32_t slot = 0; slot < NSLOTS; slot++) {
        int64_t key = ast_key(m->space, slot);
        const void *v = NULL;
        size_t len = 0;
        rc = as_get(s, key, &v, &len);
        uint64_t got_seq = 0;
        uint32_t got_slot = 0;
        int got_live = rc == AS_OK;
        if (rc != AS_OK && rc != AS_NOTFOUND)
            fail_msg("get slot %u after kill: %s: %s", slot, as_strerror(rc), as_session_errmsg(s));
        if (got_live && (!ast_val_check(key, v, len, &got_seq, &got_slot) || got_slot != slot))
            fail_msg("get slot %u after kill: garbage value (len %zu)", slot, len);
        int match_old = got_live == m->live[slot] && (!got_live || got_seq == m->seq[slot]);
        int is_pending = p->active && p->slot == slot;
        int match_new = is_pending && got_live == (p->type == MSG_PUT) && (!got_live || got_seq == p->seq);
        if (match_new && !match_old) {
            apply(m, p->type, slot, p->seq);
            t->inflight_new++;
        } else if (match_old && is_pending) {
            t->inflight_old++;
        } else if (!match_old) {
            fail_msg("slot %u key %" PRId64 ": expected %s seq %" PRIu64 ", got %s seq %" PRIu64
                     " (in-flight: %s seq %" PRIu64 ")",
                     slot, key, m->live[slot] ? "live" : "absent", m->seq[slot], got_live ? "live" : "absent",
                     got_seq, is_pending ? (p->type == MSG_PUT ? "put" : "del") : "none", is_pending ? p->seq : 0);
        }
    }
    uint64_t nlive = 0;
    for (uint32_t i = 0; i < NSLOTS; i++)
        nlive += m->live[i];
    scan_ctx c = {.m = m, .first = 1};
    size_t visited = 0;
    rc = as_scan(s, INT64_MIN, SIZE_MAX, scan_cb, &c, &visited);
    if (rc != AS_OK)
        fail_msg("scan after kill: %s: %s", as_strerror(rc), as_session_errmsg(s));
    assert_int_equal(c.bad, 0);
    assert_int_equal(c.n, nlive);

    /* The recovered store takes new writes (and keeps them, checked by the next cycle). */
    static unsigned char val[1 << 16];
    for (uint32_t i = 0; i < 3; i++) {
        uint32_t slot = (uint32_t)((*next_seq * 7 + i) % NSLOTS);
        int64_t key = ast_key(m->space, slot);
        uint64_t seq = (*next_seq)++;
        if (i == 2) {
            assert_int_equal(as_del(s, key), AS_OK);
            apply(m, MSG_DEL, slot, seq);
            continue;
        }
        uint32_t len = ast_val_len(key, seq, sizeof val);
        ast_val_make(key, seq, slot, len, val);
        rc = as_put(s, key, val, len);
        if (rc != AS_OK)
            fail_msg("put after recovery: %s: %s", as_strerror(rc), as_session_errmsg(s));
        apply(m, MSG_PUT, slot, seq);
        const void *v;
        size_t l;
        uint64_t q;
        uint32_t sl;
        assert_int_equal(as_get(s, key, &v, &l), AS_OK);
        assert_true(ast_val_check(key, v, l, &q, &sl) && q == seq);
    }
    as_session_close(s);
    rc = as_close(db);
    if (rc != AS_OK)
        fail_msg("close after verify: %s", as_strerror(rc));
}

/* Read every message the child sent until `deadline` (or EOF when deadline < 0). */
static int drain(int rfd, msg *buf, size_t cap, size_t *n, double deadline, int *opened_at)
{
    for (;;) {
        int timeout = -1;
        if (deadline >= 0) {
            double left = deadline - ast_now();
            if (left <= 0)
                return 0;
            timeout = (int)(left * 1000) + 1;
        }
        struct pollfd pf = {.fd = rfd, .events = POLLIN};
        int pr = poll(&pf, 1, timeout);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr == 0)
            continue;
        if (*n >= cap)
            return -1;
        ssize_t r = read(rfd, buf + *n, (cap - *n) * sizeof *buf);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return 0; /* EOF: the child is gone */
        size_t before = *n;
        *n += (size_t)r / sizeof *buf; /* messages are atomic, so r is a multiple of 16 */
        for (size_t i = before; i < *n; i++)
            if (buf[i].type == MSG_OPENED && *opened_at < 0)
                return 1; /* let the caller re-arm the deadline from the open */
    }
}

static void test_crash_cycles(void **state)
{
    (void)state;
    long cycles = ast_env_flag("KV_TEST_LONG") ? 2000 : ast_env_flag("KV_SANITIZED") ? 150 : 200;
    cycles = ast_env_long("KV_CRASH_CYCLES", cycles);
    uint64_t seed = (uint64_t)ast_env_long("KV_CRASH_SEED", 20261126);
    char dir[512];
    assert_int_equal(ast_tmpdir(dir, sizeof dir, "as-crash"), 0);
    static model m;
    memset(&m, 0, sizeof m);
    m.space = seed;
    totals t = {0};
    uint64_t rng = seed, next_seq = 1;
    enum { MSG_CAP = 1 << 16 };
    msg *buf = malloc(MSG_CAP * sizeof *buf);
    assert_non_null(buf);
    double t_start = ast_now();
    for (long cycle = 0; cycle < cycles; cycle++) {
        if (cycle > 0 && cycle % 500 == 0) { /* bound replay time in long runs: start a fresh store */
            ast_clear_dir(dir);
            memset(&m, 0, sizeof m);
            m.space = ast_rand(&rng);
        }
        enum as_sync_mode mode = cycle % 4 == 3 ? AS_SYNC_NONE : AS_SYNC_EACH;
        int early = ast_below(&rng, 100) < 12; /* kill during open/recovery itself */
        double delay = early ? (double)ast_below(&rng, 4000) * 1e-6 : (double)ast_below(&rng, 25000) * 1e-6;
        int fds[2];
        assert_int_equal(pipe(fds), 0);
        uint64_t child_seed = ast_rand(&rng);
        fflush(stderr);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(fds[0]);
            child_run(dir, &m, child_seed, next_seq, mode, fds[1]);
            _exit(5);
        }
        close(fds[1]);
        size_t n = 0;
        int opened_at = early ? 1 : -1; /* early kills ignore the open message */
        double t0 = ast_now();
        int dr = drain(fds[0], buf, MSG_CAP, &n, t0 + (early ? delay : 30.0), &opened_at);
        if (dr == 1 && !early) {
            opened_at = 1;
            dr = drain(fds[0], buf, MSG_CAP, &n, ast_now() + delay, &opened_at);
        }
        kill(pid, SIGKILL);
        int status = 0;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        opened_at = 1;
        assert_true(drain(fds[0], buf, MSG_CAP, &n, -1, &opened_at) >= 0);
        close(fds[0]);
        if (!(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL))
            fail_msg("cycle %ld: the writer died on its own (status 0x%x): a write failed", cycle, status);

        pending p = {0};
        int saw_open = 0;
        for (size_t i = 0; i < n; i++) {
            msg *q = &buf[i];
            if (q->type == MSG_OPENED) {
                saw_open = 1;
            } else if (q->type == MSG_PUT || q->type == MSG_DEL) {
                p = (pending){1, q->type, q->slot, q->seq};
                if (q->seq >= next_seq)
                    next_seq = q->seq + 1;
            } else if (q->type == MSG_ACK) {
                assert_true(p.active && p.seq == q->seq);
                apply(&m, p.type, p.slot, p.seq);
                p.active = 0;
                t.acked++;
            }
        }
        t.kills_before_open += !saw_open;
        if (n && (buf[n - 1].type == MSG_CKPT || buf[n - 1].type == MSG_COMPACT)) {
            t.kills_in_ckpt += buf[n - 1].type == MSG_CKPT;
            t.kills_in_compact += buf[n - 1].type == MSG_COMPACT;
        }
        verify_after_kill(dir, &m, &p, &next_seq, &t);
    }
    double secs = ast_now() - t_start;
    printf("crash: %ld kill cycles in %.1f s: %" PRIu64 " acknowledged writes verified, in-flight write found "
           "old %" PRIu64 " / new %" PRIu64 ", %" PRIu64 " kills before open finished, torn bytes dropped %" PRIu64
           ", records replayed %" PRIu64 ", reopen avg %.2f ms max %.2f ms\n",
           cycles, secs, t.acked, t.inflight_old, t.inflight_new, t.kills_before_open, t.dropped_bytes, t.replayed,
           t.sum_open_s * 1e3 / (double)(cycles ? cycles : 1), t.max_open_s * 1e3);
    printf("crash: reopens from a checkpoint %" PRIu64 ", checkpoints rejected (torn or stale, full scan) %" PRIu64
           "; kills inside an explicit as_checkpoint %" PRIu64 " / as_compact %" PRIu64 " (automatic compactions "
           "run inside puts as well)\n",
           t.ckpt_loaded, t.ckpt_rejected, t.kills_in_ckpt, t.kills_in_compact);
    free(buf);
    ast_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crash_cycles),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
