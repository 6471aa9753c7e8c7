/* as_durability_bench.c - AlexStorage reopen cost (checkpoint vs full log scan), replay speed, space and write amplification.
 * Usage: as_durability_bench [N=1000000] [mixed_ops=N] [dir]
 *   1. puts N keys (100-byte values, sync none) and closes (the close writes the index checkpoint);
 *   2. reopens from the checkpoint, then with the checkpoint moved aside (full scan), and reports both
 *      times against the load time, plus the scan's replay speed;
 *   3. runs mixed_ops random updates/deletes/inserts with automatic compaction and reports
 *      disk bytes / live bytes (space amplification) and all bytes written / user bytes (write amplification).
 * Without dir a temporary /tmp/as_dura.<pid> is used and removed. Env AS_SEGMENT_MB: segment size (default 64). */
#include "alexstorage.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../tests/as_torture.h"

#define VAL_LEN 100

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int die(const char *what, int rc, const char *msg)
{
    fprintf(stderr, "as_durability_bench: %s: %s: %s\n", what, as_strerror(rc), msg ? msg : "");
    exit(1);
}

static as_db *open_db(const char *dir, double *secs)
{
    as_options o;
    as_options_default(&o);
    const char *seg = getenv("AS_SEGMENT_MB"); /* segment size; compaction only works on sealed segments */
    o.segment_bytes = (uint64_t)(seg && *seg ? atoll(seg) : 64) << 20;
    as_db *db;
    char err[1024];
    double t0 = now_s();
    int rc = as_open(dir, &o, &db, err, sizeof err);
    if (secs)
        *secs = now_s() - t0;
    if (rc != AS_OK)
        die("open", rc, err);
    return db;
}

static int64_t key_of(uint64_t i) { return (int64_t)ast_mix(i); } /* a bijection: distinct keys */

static void put(as_session *s, int64_t key, uint64_t ver)
{
    unsigned char v[VAL_LEN];
    ast_val_make(key, ver, 0, VAL_LEN, v);
    int rc = as_put(s, key, v, VAL_LEN);
    if (rc != AS_OK)
        die("put", rc, as_session_errmsg(s));
}

/* Read back a sample of loaded keys: every answer must verify. */
static void verify_sample(as_db *db, uint64_t n)
{
    as_session *s;
    if (as_session_open(db, &s) != AS_OK)
        die("session", AS_ENOMEM, NULL);
    uint64_t r = 5;
    for (int i = 0; i < 10000 && n; i++) {
        int64_t key = key_of(ast_below(&r, n));
        const void *v;
        size_t len;
        uint64_t q;
        uint32_t sl;
        int rc = as_get(s, key, &v, &len);
        if (rc != AS_OK || !ast_val_check(key, v, len, &q, &sl))
            die("verify after reopen", rc == AS_OK ? AS_ECORRUPT : rc, as_session_errmsg(s));
    }
    as_session_close(s);
}

static void reopen_report(const char *dir, const char *how, double load_s, uint64_t n)
{
    double secs;
    as_stats st;
    as_db *db = open_db(dir, &secs);
    as_get_stats(db, &st);
    verify_sample(db, n);
    printf("reopen %-16s %.3f s = %5.1f%% of the load; checkpoint_loaded=%" PRIu64 " rejected=%" PRIu64
           ", %" PRIu64 " keys, %" PRIu64 " records replayed",
           how, secs, 100.0 * secs / load_s, st.checkpoint_loaded, st.checkpoint_rejected, st.num_keys,
           st.records_replayed);
    if (st.checkpoint_loaded)
        printf(" (the %.1f MB log is not read)\n", (double)st.disk_bytes / 1e6);
    else
        printf(", %.1f MB log scanned -> %.0f MB/s\n", (double)st.disk_bytes / 1e6, (double)st.disk_bytes / 1e6 / secs);
    /* close without writing anything new: a read-only reopen is not enough to skip the checkpoint */
    as_close(db);
}

int main(int argc, char **argv)
{
    uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
    uint64_t mixed = argc > 2 ? strtoull(argv[2], NULL, 10) : n;
    char dir[512], path[700], aside[700];
    int tmp = argc <= 3;
    if (tmp)
        snprintf(dir, sizeof dir, "/tmp/as_dura.%d", (int)getpid());
    else
        snprintf(dir, sizeof dir, "%s", argv[3]);
    snprintf(path, sizeof path, "%s/CHECKPOINT", dir);
    snprintf(aside, sizeof aside, "%s/CHECKPOINT.aside", dir);

    /* 1. load */
    as_db *db = open_db(dir, NULL);
    as_session *s;
    if (as_session_open(db, &s) != AS_OK)
        die("session", AS_ENOMEM, NULL);
    double t0 = now_s();
    for (uint64_t i = 0; i < n; i++)
        put(s, key_of(i), 1);
    double load_s = now_s() - t0;
    as_session_close(s);
    t0 = now_s();
    int rc = as_close(db);
    double close_s = now_s() - t0;
    if (rc != AS_OK)
        die("close", rc, NULL);
    printf("load: %" PRIu64 " puts in %.3f s (%.0f ns/put); close incl. checkpoint %.3f s\n", n, load_s,
           load_s * 1e9 / (double)n, close_s);

    /* 2. reopen from the checkpoint; then without it (full scan of the log) */
    reopen_report(dir, "from checkpoint:", load_s, n);
    if (rename(path, aside) != 0)
        die("move the checkpoint aside", AS_EIO, path);
    reopen_report(dir, "full scan:", load_s, n); /* its close writes a fresh checkpoint */
    unlink(aside);

    /* 3. mixed updates / deletes / inserts with automatic compaction */
    db = open_db(dir, NULL);
    if (as_session_open(db, &s) != AS_OK)
        die("session", AS_ENOMEM, NULL);
    as_stats st0, st1;
    as_get_stats(db, &st0);
    uint64_t r = 77, next = n;
    t0 = now_s();
    for (uint64_t i = 0; i < mixed; i++) {
        uint64_t d = ast_below(&r, 10);
        if (d < 8)
            put(s, key_of(ast_below(&r, n)), 2 + i);
        else if (d == 8)
            rc = as_del(s, key_of(ast_below(&r, n)));
        else
            put(s, key_of(next++), 1);
        if (rc != AS_OK)
            die("del", rc, as_session_errmsg(s));
    }
    double mixed_s = now_s() - t0;
    as_get_stats(db, &st1);
    uint64_t user = st1.user_bytes_written, comp = st1.compact_bytes_written;
    printf("mixed: %" PRIu64 " ops (80%% update, 10%% delete, 10%% insert) in %.3f s; %" PRIu64 " compactions\n",
           mixed, mixed_s, st1.compactions);
    printf("space amplification: %.1f MB on disk / %.1f MB live = %.3f (%" PRIu64 " segments)\n",
           (double)st1.disk_bytes / 1e6, (double)st1.live_bytes / 1e6,
           (double)st1.disk_bytes / (double)(st1.live_bytes ? st1.live_bytes : 1), st1.num_segments);
    printf("write amplification (mixed phase): (%.1f MB user + %.1f MB compaction) / %.1f MB user = %.3f\n",
           (double)user / 1e6, (double)comp / 1e6, (double)user / 1e6, (double)(user + comp) / (double)(user ? user : 1));
    as_session_close(s);
    as_close(db);
    if (tmp)
        ast_rmtree(dir);
    return 0;
}
