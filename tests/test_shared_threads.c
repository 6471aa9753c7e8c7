/* test_shared_threads.c - two threads on one shared key space and hot set (YCSB's way) against real
 * engines: every answer verifies, writes of a key commit in version order, the final state reads back,
 * and the verifier still catches an injected wrong answer. Runs under TSan too ("threads"). */
#include "phase.h"
#include "worker.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tmpdirs.h"
#include "testenv.h"

#define T 2

static int cmp_sorted(const void *a, const void *b)
{
    int64_t x = ((const kvb_sorted_key *)a)->key, y = ((const kvb_sorted_key *)b)->key;
    return (x > y) - (x < y);
}

typedef struct run_result {
    kvb_verify ver;
    uint64_t readback;
} run_result;

/* Load n keys, run `ops` ops of workload w on T threads (shared key space), read back. */
static run_result run_shared(const char *engine, const kv_workload *w, uint64_t n, uint64_t ops, enum kvb_fault fault)
{
    const kv_engine_ops *eops = kv_engine_find(engine);
    assert_non_null(eops);
    char dir[64];
    t_mkdir_prefixed("kvb_shared", dir, sizeof(dir));
    kv_dataset *ds;
    assert_int_equal(kv_dataset_create(&ds, KV_KEYS_UNIFORM, n, ops / 4 + 2000, 9, 100), 0);
    kvb_sorted_key *sorted = malloc(ds->capacity * sizeof(*sorted));
    assert_non_null(sorted);
    for (uint64_t i = 0; i < ds->capacity; i++)
        sorted[i] = (kvb_sorted_key){ds->keys[i], i};
    qsort(sorted, ds->capacity, sizeof(*sorted), cmp_sorted);
    kv_config cfg = {.dir = dir, .durability = KV_DUR_NONE, .expected_keys = n, .value_size = 100, .threads = T};
    kv_engine *e;
    char err[512] = "";
    assert_int_equal(kv_engine_open(eops, &cfg, &e, err, sizeof(err)), KV_OK);
    kvb_worker wk[T];
    memset(wk, 0, sizeof(wk));
    for (int t = 0; t < T; t++) {
        assert_int_equal(kvb_worker_init(&wk[t], 100, w->scan_len), 0);
        wk[t].ops = eops, wk[t].ds = ds, wk[t].thread = t, wk[t].nthreads = T, wk[t].seed = 9;
        wk[t].verify = 1, wk[t].shared = 1, wk[t].sorted = sorted, wk[t].nsorted = ds->capacity;
        assert_int_equal(eops->session_open(e, &wk[t].s), KV_OK);
    }
    kvb_pass load = {.kind = KVB_PASS_LOAD, .total = n, .timed = 0};
    uint64_t ns;
    assert_int_equal(kvb_pass_run(wk, T, &load, &ns), 0);
    for (int t = 0; t < T; t++)
        assert_int_equal(kv_opstream_create(&wk[t].stream, ds, w, w->access, 0.99, t, T, 9), 0);
    wk[0].fault = fault;
    kvb_pass pass = {.kind = KVB_PASS_OPS, .total = ops, .timed = 1};
    if (kvb_pass_run(wk, T, &pass, &ns) != 0)
        fail_msg("%s %s: %s / %s", engine, w->name, wk[0].err, wk[1].err);
    /* every issued version committed, in order */
    for (uint64_t i = 0; i < ds->capacity; i++)
        assert_int_equal(ds->committed[i], ds->versions[i]);
    run_result r = {{0}, 0};
    assert_int_equal(kvb_worker_readback(&wk[0], 5000, &r.readback), 0);
    for (int t = 0; t < T; t++) {
        r.ver.checked += wk[t].ver.checked, r.ver.wrong += wk[t].ver.wrong, r.ver.missing += wk[t].ver.missing;
        r.ver.stale += wk[t].ver.stale, r.ver.ghost += wk[t].ver.ghost;
        kv_opstream_free(wk[t].stream);
        eops->session_close(wk[t].s);
        kvb_worker_free(&wk[t]);
    }
    assert_int_equal(eops->close(e), KV_OK);
    free(sorted);
    kv_dataset_free(ds);
    t_rmdir(dir);
    return r;
}

static void check_clean(const char *engine, const kv_workload *w, run_result r)
{
    print_message("%s %s: %llu checked (readback %llu), %llu wrong, %llu missing, %llu stale, %llu ghost\n", engine,
                  w->name, (unsigned long long)r.ver.checked, (unsigned long long)r.readback,
                  (unsigned long long)r.ver.wrong, (unsigned long long)r.ver.missing, (unsigned long long)r.ver.stale,
                  (unsigned long long)r.ver.ghost);
    assert_true(r.ver.checked > r.readback);
    assert_int_equal(r.ver.wrong + r.ver.missing + r.ver.stale + r.ver.ghost, 0);
}

static void run_engine(const char *engine)
{
    uint64_t n = sanitized() ? 3000 : 20000, ops = sanitized() ? 6000 : 40000;
    const char *names[] = {"ycsb-a", "ycsb-d", "ycsb-e", "ycsb-f"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        const kv_workload *w = kv_workload_find(names[i]);
        assert_non_null(w);
        assert_true(w->shared_keys);
        check_clean(engine, w, run_shared(engine, w, n, names[i][5] == 'e' ? ops / 10 : ops, KVB_FAULT_NONE));
    }
    /* every op type at once, on a small hot set so that threads collide on keys, deletes included */
    kv_workload m = *kv_workload_find("ycsb-a");
    char err[256];
    assert_int_equal(kv_workload_set_mix(&m, "get=0.3,update=0.2,rmw=0.2,insert=0.1,delete=0.1,scan=0.1", err,
                                         sizeof(err)),
                     0);
    m.name = "all-op-types", m.scan_len = 20, m.scan_len_min = 1;
    check_clean(engine, &m, run_shared(engine, &m, 500, ops / 4, KVB_FAULT_NONE));
    /* the verifier of shared keys can fail */
    run_result bad = run_shared(engine, kv_workload_find("ycsb-a"), n, ops / 10, KVB_FAULT_WRONG);
    assert_true(bad.ver.wrong >= 1);
    bad = run_shared(engine, kv_workload_find("ycsb-c"), n, ops / 10, KVB_FAULT_STALE);
    assert_true(bad.ver.stale >= 1);
}

/* Under TSan only AlexStorage (built here, instrumented) runs: LMDB and RocksDB are uninstrumented
 * system libraries whose own synchronisation TSan cannot see, so it would report their internals. */
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define KV_TSAN_BUILD 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define KV_TSAN_BUILD 1
#endif

static void test_shared_alexstorage(void **st) { (void)st; run_engine("alexstorage"); }
#ifndef KV_TSAN_BUILD
static void test_shared_lmdb(void **st) { (void)st; run_engine("lmdb"); }
static void test_shared_rocksdb(void **st) { (void)st; run_engine("rocksdb"); }
#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_shared_alexstorage, t_teardown),
#ifndef KV_TSAN_BUILD
        cmocka_unit_test_teardown(test_shared_lmdb, t_teardown),
        cmocka_unit_test_teardown(test_shared_rocksdb, t_teardown),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
