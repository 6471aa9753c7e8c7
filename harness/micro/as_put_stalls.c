/* as_put_stalls.c - where AlexStorage's largest put latencies come from: N random puts, then U updates
 * of those keys, AS_SYNC_NONE; every put slower than T ms is printed with the store's counters at that
 * moment (segments, compactions, checkpoints), so a stall lines up with a rotation, a maintenance job,
 * or nothing in the store (the index, or the scheduler). PERFORMANCE.md, "Maintenance latency".
 *
 * Usage: as_put_stalls DIR [N=10000000] [U=3000000] [maintenance: 0 inline, 1 thread, 2 manual = 1]
 *                      [segment MiB = 128] [T ms = 5]
 * DIR must not exist or be empty. */
#include "alexstorage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s DIR [N] [U] [maintenance 0|1|2] [segment MiB] [threshold ms]\n", argv[0]);
        return 2;
    }
    long n = argc > 2 ? atol(argv[2]) : 10000000, upd = argc > 3 ? atol(argv[3]) : 3000000;
    as_options o;
    as_options_default(&o);
    o.maintenance = argc > 4 ? atoi(argv[4]) : AS_MAINT_THREAD;
    o.segment_bytes = (argc > 5 ? strtoull(argv[5], NULL, 10) : 128) << 20;
    double thr = (argc > 6 ? atof(argv[6]) : 5.0) * 1e-3;
    as_db *db;
    char err[1024];
    if (as_open(argv[1], &o, &db, err, sizeof err) != AS_OK) {
        fprintf(stderr, "open: %s\n", err);
        return 1;
    }
    as_session *s;
    if (as_session_open(db, &s) != AS_OK)
        return 1;
    unsigned char v[100];
    memset(v, 1, sizeof v);
    uint64_t x = 88172645463325252ull;
    double worst = 0;
    for (long i = 0; i < n + upd; i++) {
        uint64_t slot = (uint64_t)i;
        if (i >= n) { /* xorshift: a uniform key that was loaded */
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            slot = x % (uint64_t)n;
        }
        int64_t key = (int64_t)((slot * 0x9E3779B97F4A7C15ull) >> 1);
        double t0 = now_s();
        if (as_put(s, key, v, sizeof v) != AS_OK) {
            fprintf(stderr, "put: %s\n", as_session_errmsg(s));
            return 1;
        }
        double dt = now_s() - t0;
        worst = dt > worst ? dt : worst;
        if (dt > thr) {
            as_stats st;
            as_get_stats(db, &st);
            printf("op %ld (%s) %.1f ms segments=%llu compactions=%llu checkpoints=%llu\n", i, i < n ? "load" : "update",
                   dt * 1e3, (unsigned long long)st.num_segments, (unsigned long long)st.compactions,
                   (unsigned long long)st.checkpoints_written);
        }
    }
    printf("worst put %.1f ms\n", worst * 1e3);
    as_session_close(s);
    return as_close(db) == AS_OK ? 0 : 1;
}
