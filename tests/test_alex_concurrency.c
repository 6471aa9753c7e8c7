/* test_alex_concurrency.c - lock-free ALEX readers beside the writer: gets and scans while the writer
 * overwrites, inserts (splits sideways and down, expansions), erases (merges, contractions), grows
 * the key domain (root expansion and repair) and repacks the leaf heap. A key present throughout is
 * always found with one of its payloads, scans are ascending and skip no such key. Runs under TSan. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "alex_internal.h" /* white-box: the heap's compaction count */

#define NREADERS 2
#define NAPPEND 4096 /* keys appended beyond each end of the domain */

static uint64_t mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* A payload names its key (high half) and a generation (low half). */
static uint64_t pay_of(int64_t key, uint32_t gen) { return (mix64((uint64_t)key) & 0xffffffff00000000ull) | gen; }
static int pay_ok(int64_t key, uint64_t pay) { return (pay & 0xffffffff00000000ull) == (mix64((uint64_t)key) & 0xffffffff00000000ull); }

typedef struct shared {
    alex_index *ix;
    int64_t *stable; /* sorted; present for the whole run */
    size_t nstable;
    int64_t *churn;  /* inserted and erased in rounds */
    size_t nchurn;
    int rounds;
    _Atomic size_t appended; /* appended keys [0, appended) of each side are present */
    _Atomic int stop;
    _Atomic uint64_t gets, scans, scanned, errors;
    char first_error[256];
    pthread_mutex_t mu;
} shared;

static int64_t append_key(size_t j, int high) { return high ? ((int64_t)1 << 61) + (int64_t)j * 1000003 : -((int64_t)1 << 61) - (int64_t)j * 1000003; }

static void report(shared *sh, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void report(shared *sh, const char *fmt, ...)
{
    pthread_mutex_lock(&sh->mu);
    if (atomic_fetch_add(&sh->errors, 1) == 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(sh->first_error, sizeof sh->first_error, fmt, ap);
        va_end(ap);
    }
    pthread_mutex_unlock(&sh->mu);
    atomic_store(&sh->stop, 1);
}

static void *writer(void *arg)
{
    shared *sh = arg;
    uint64_t r = 7;
    size_t app = 0;
    for (int round = 0; round < sh->rounds && !atomic_load(&sh->stop); round++) {
        for (size_t i = 0; i < sh->nchurn; i++) {
            if (alex_insert(sh->ix, sh->churn[i], pay_of(sh->churn[i], (uint32_t)round)) != ALEX_OK) {
                report(sh, "insert of churn key %" PRId64 " failed", sh->churn[i]);
                return NULL;
            }
            if (i % 8 == 0) { /* overwrite a stable key in place */
                int64_t k = sh->stable[mix64(r++) % sh->nstable];
                if (alex_upsert(sh->ix, k, pay_of(k, (uint32_t)i), NULL, NULL) != ALEX_OK)
                    report(sh, "upsert of stable key %" PRId64 " failed", k);
            }
            if (i % 16 == 0 && app < NAPPEND) { /* grow the key domain at both ends */
                if (alex_insert(sh->ix, append_key(app, 1), pay_of(append_key(app, 1), 0)) != ALEX_OK ||
                    alex_insert(sh->ix, append_key(app, 0), pay_of(append_key(app, 0), 0)) != ALEX_OK)
                    report(sh, "append %zu failed", app);
                atomic_store_explicit(&sh->appended, ++app, memory_order_release);
            }
        }
        for (size_t i = 0; i < sh->nchurn; i++)
            if (alex_erase(sh->ix, sh->churn[i], NULL) != ALEX_OK) {
                report(sh, "erase of churn key %" PRId64 " failed", sh->churn[i]);
                return NULL;
            }
    }
    atomic_store(&sh->stop, 1);
    return NULL;
}

/* Index of the first stable key >= k. */
static size_t stable_lb(const shared *sh, int64_t k)
{
    size_t lo = 0, hi = sh->nstable;
    while (lo < hi) {
        size_t m = lo + (hi - lo) / 2;
        if (sh->stable[m] < k)
            lo = m + 1;
        else
            hi = m;
    }
    return lo;
}

static void check_scan(shared *sh, alex_reader *rd, int64_t from)
{
    int64_t keys[48];
    uint64_t pays[48];
    size_t n = alex_scan_shared(sh->ix, rd, from, keys, pays, 48);
    size_t si = stable_lb(sh, from);
    for (size_t i = 0; i < n; i++) {
        if (keys[i] < from || (i > 0 && keys[i] <= keys[i - 1])) {
            report(sh, "scan from %" PRId64 ": key %" PRId64 " out of order", from, keys[i]);
            return;
        }
        if (!pay_ok(keys[i], pays[i])) {
            report(sh, "scan: key %" PRId64 " with payload %" PRIx64 " of another key", keys[i], pays[i]);
            return;
        }
        /* every stable key up to this one must have been returned */
        while (si < sh->nstable && sh->stable[si] < keys[i]) {
            report(sh, "scan from %" PRId64 ": stable key %" PRId64 " skipped", from, sh->stable[si]);
            return;
        }
        if (si < sh->nstable && sh->stable[si] == keys[i])
            si++;
    }
    if (n < 48 && si < sh->nstable)
        report(sh, "scan from %" PRId64 " ended after %zu keys before stable key %" PRId64, from, n, sh->stable[si]);
    atomic_fetch_add(&sh->scanned, n);
}

static void *reader(void *arg)
{
    shared *sh = arg;
    alex_reader *rd;
    if (alex_reader_open(sh->ix, &rd) != ALEX_OK) {
        report(sh, "reader_open failed");
        return NULL;
    }
    uint64_t r = (uint64_t)(uintptr_t)&rd;
    while (!atomic_load(&sh->stop)) {
        uint64_t x = mix64(r++);
        uint64_t pay;
        int64_t k;
        switch (x % 16) {
        case 0:
            check_scan(sh, rd, (int64_t)mix64(x));
            atomic_fetch_add(&sh->scans, 1);
            continue;
        case 1: case 2: { /* churn keys: either state, but never another key's payload */
            k = sh->churn[(x >> 8) % sh->nchurn];
            if (alex_find_shared(sh->ix, rd, k, &pay) == ALEX_OK && !pay_ok(k, pay))
                report(sh, "churn key %" PRId64 ": payload %" PRIx64 " of another key", k, pay);
            break;
        }
        case 3: { /* appended keys stay */
            size_t a = atomic_load_explicit(&sh->appended, memory_order_acquire);
            if (a == 0)
                continue;
            k = append_key((x >> 8) % a, (int)(x >> 40) & 1);
            if (alex_find_shared(sh->ix, rd, k, &pay) != ALEX_OK || !pay_ok(k, pay))
                report(sh, "appended key %" PRId64 " not found (or wrong payload)", k);
            break;
        }
        default:
            k = sh->stable[(x >> 8) % sh->nstable];
            if (alex_find_shared(sh->ix, rd, k, &pay) != ALEX_OK)
                report(sh, "stable key %" PRId64 " not found", k);
            else if (!pay_ok(k, pay))
                report(sh, "stable key %" PRId64 ": payload %" PRIx64 " of another key", k, pay);
        }
        atomic_fetch_add_explicit(&sh->gets, 1, memory_order_relaxed);
    }
    alex_reader_close(rd);
    return NULL;
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static void run(size_t nstable, size_t nchurn, int rounds, size_t max_slots)
{
    shared *sh = calloc(1, sizeof *sh);
    assert_non_null(sh);
    pthread_mutex_init(&sh->mu, NULL);
    alex_params p;
    alex_params_default(&p);
    p.max_data_node_slots = max_slots; /* small leaves: splits all the time */
    p.max_fanout_log2 = 8;
    assert_int_equal(alex_create(&sh->ix, &p), ALEX_OK);
    sh->nstable = nstable;
    sh->nchurn = nchurn;
    sh->rounds = rounds;
    sh->stable = malloc(nstable * sizeof(int64_t));
    sh->churn = malloc(nchurn * sizeof(int64_t));
    uint64_t *pays = malloc(nstable * sizeof(uint64_t));
    assert_true(sh->stable && sh->churn && pays);
    /* stable keys have even low bits, churn keys odd: never the same key */
    for (size_t i = 0; i < nstable; i++)
        sh->stable[i] = (int64_t)(mix64(i) >> 4) & ~(int64_t)1;
    qsort(sh->stable, nstable, sizeof(int64_t), cmp64);
    size_t u = 0;
    for (size_t i = 0; i < nstable; i++)
        if (u == 0 || sh->stable[i] != sh->stable[u - 1])
            sh->stable[u++] = sh->stable[i];
    sh->nstable = u;
    for (size_t i = 0; i < u; i++)
        pays[i] = pay_of(sh->stable[i], 0);
    for (size_t i = 0; i < nchurn; i++)
        sh->churn[i] = (int64_t)(mix64(i + 0x55555555ull) >> 4) | 1;
    assert_int_equal(alex_bulk_load(sh->ix, sh->stable, pays, u), ALEX_OK);
    pthread_t w, rd[NREADERS];
    for (int i = 0; i < NREADERS; i++)
        assert_int_equal(pthread_create(&rd[i], NULL, reader, sh), 0);
    assert_int_equal(pthread_create(&w, NULL, writer, sh), 0);
    pthread_join(w, NULL);
    for (int i = 0; i < NREADERS; i++)
        pthread_join(rd[i], NULL);
    alex_stats st;
    alex_get_stats(sh->ix, &st);
    printf("alex concurrency: %" PRIu64 " gets, %" PRIu64 " scans (%" PRIu64 " pairs); %" PRIu64
           " structural sections (%" PRIu64 " waited for a reader), %" PRIu64 " splits, %" PRIu64
           " expansions, %" PRIu64 " root expansions, %" PRIu64 " contractions, %llu heap compactions\n",
           atomic_load(&sh->gets), atomic_load(&sh->scans), atomic_load(&sh->scanned), st.num_smo, st.num_smo_waits,
           st.num_splits_sideways + st.num_splits_down, st.num_expansions, st.num_root_expansions,
           st.num_contractions, (unsigned long long)sh->ix->arena.compactions);
    if (atomic_load(&sh->errors))
        fail_msg("%" PRIu64 " violations; first: %s", atomic_load(&sh->errors), sh->first_error);
    char err[256];
    if (alex_validate(sh->ix, err, sizeof err) != ALEX_OK)
        fail_msg("invalid after the run: %s", err);
    assert_true(st.num_splits_sideways + st.num_splits_down > 0);
    assert_true(st.num_root_expansions > 0);
    assert_true(st.num_lookups >= atomic_load(&sh->gets)); /* the readers' own counters are summed */
    alex_destroy(sh->ix);
    free(pays);
    free(sh->stable);
    free(sh->churn);
    pthread_mutex_destroy(&sh->mu);
    free(sh);
}

static int sanitized(void)
{
    const char *s = getenv("KV_SANITIZED");
    return s && *s == '1';
}

/* Small leaves (splits, merges and root growth all the time). */
static void test_readers_beside_structure_changes(void **state)
{
    (void)state;
    run(20000, sanitized() ? 6000 : 30000, sanitized() ? 2 : 4, 256);
}

/* Big enough for the leaf heap, with churn that frees a fifth of it: heap compaction under readers. */
static void test_readers_beside_heap_repacking(void **state)
{
    (void)state;
    run(160000, sanitized() ? 60000 : 120000, 3, (size_t)1 << 12);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_readers_beside_structure_changes),
        cmocka_unit_test(test_readers_beside_heap_repacking),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
