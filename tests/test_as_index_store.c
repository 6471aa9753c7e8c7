/* test_as_index_store.c - the store under each index kind: a store written with one index opens with
 * any other (the index is rebuilt from the checkpoint and the log tail), and the sorted index is
 * read-only (puts and deletes refused with a message naming it; bulk load and reopen build it). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "alexstorage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tmpdirs.h"

#define NKEYS 3000

static int64_t key_of(size_t i) { return (int64_t)(i * 7919u) - 5000000; }

static as_db *open_kind(const char *dir, int kind)
{
    as_options o;
    as_options_default(&o);
    o.index = kind;
    o.segment_bytes = 64u << 10;
    o.map_chunk_bytes = 64u << 10;
    as_db *db = NULL;
    char err[1024];
    int rc = as_open(dir, &o, &db, err, sizeof(err));
    if (rc != AS_OK)
        fail_msg("open %s with index %s: %s: %s", dir, as_index_kind_name(kind), as_strerror(rc), err);
    return db;
}

static as_session *sess(as_db *db)
{
    as_session *s = NULL;
    assert_int_equal(as_session_open(db, &s), AS_OK);
    return s;
}

/* Key i holds "v<i>-<ver>" when ver[i] != 0, is absent when 0. */
static void put_ver(as_session *s, size_t i, unsigned ver)
{
    char v[32];
    int n = snprintf(v, sizeof(v), "v%zu-%u", i, ver);
    assert_int_equal(as_put(s, key_of(i), v, (size_t)n), AS_OK);
}

typedef struct scan_state {
    const unsigned *ver;
    size_t next, seen;
} scan_state;

static int scan_cb(void *arg, int64_t key, const void *val, size_t len)
{
    scan_state *st = arg;
    while (st->next < NKEYS && !st->ver[st->next])
        st->next++;
    assert_true(st->next < NKEYS);
    assert_true(key == key_of(st->next));
    char want[32];
    int n = snprintf(want, sizeof(want), "v%zu-%u", st->next, st->ver[st->next]);
    assert_int_equal(len, (size_t)n);
    assert_memory_equal(val, want, len);
    st->next++;
    st->seen++;
    return 0;
}

static void expect_contents(as_db *db, const unsigned *ver)
{
    as_session *s = sess(db);
    size_t live = 0;
    for (size_t i = 0; i < NKEYS; i++) {
        const void *v;
        size_t len;
        int rc = as_get(s, key_of(i), &v, &len);
        assert_int_equal(rc, ver[i] ? AS_OK : AS_NOTFOUND);
        live += ver[i] != 0;
    }
    scan_state st = {ver, 0, 0};
    size_t visited = 0;
    assert_int_equal(as_scan(s, INT64_MIN, SIZE_MAX, scan_cb, &st, &visited), AS_OK);
    assert_int_equal(st.seen, live);
    as_stats stats;
    assert_int_equal(as_get_stats(db, &stats), AS_OK);
    assert_int_equal(stats.num_keys, live);
    as_session_close(s);
}

/* A child writes with `from`, checkpoints half way and dies without closing, so the next open loads
 * the checkpoint and replays a log tail into whichever index it uses. */
static void write_and_die(const char *dir, int from, unsigned *ver)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    for (size_t i = 0; i < NKEYS; i++)
        ver[i] = i % 3 ? 1 : 0;
    for (size_t i = 0; i < NKEYS; i += 5)
        ver[i] = ver[i] ? 2 : 0;
    for (size_t i = 1; i < NKEYS; i += 11)
        ver[i] = 0;
    if (pid == 0) {
        as_db *db = open_kind(dir, from);
        as_session *s = sess(db);
        for (size_t i = 0; i < NKEYS; i++)
            if (i % 3)
                put_ver(s, i, 1);
        if (as_checkpoint(s) != AS_OK)
            _exit(3);
        for (size_t i = 0; i < NKEYS; i += 5)
            if (i % 3)
                put_ver(s, i, 2);
        for (size_t i = 1; i < NKEYS; i += 11)
            if (as_del(s, key_of(i)) != AS_OK)
                _exit(4);
        _exit(0); /* no as_close: the tail after the checkpoint must be replayed */
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void test_reopen_with_another_index(void **state)
{
    (void)state;
    static unsigned ver[NKEYS];
    for (int from = 0; from < 3; from++) {
        if (from == AS_INDEX_SORTED)
            continue; /* cannot write */
        for (int to = 0; to < 3; to++) {
            char dir[64];
            t_mkdir_prefixed("as_ixstore", dir, sizeof(dir));
            write_and_die(dir, from, ver);
            as_db *db = open_kind(dir, to);
            as_stats st;
            assert_int_equal(as_get_stats(db, &st), AS_OK);
            assert_int_equal(st.checkpoint_loaded, 1);
            expect_contents(db, ver);
            assert_int_equal(as_close(db), AS_OK);
            db = open_kind(dir, from); /* and back, from the checkpoint the close wrote */
            expect_contents(db, ver);
            assert_int_equal(as_close(db), AS_OK);
            t_rmdir(dir);
        }
    }
}

static const void *bulk_value(void *arg, int64_t key, size_t *len)
{
    static __thread char buf[32];
    (void)arg;
    for (size_t i = 0; i < NKEYS; i++)
        if (key_of(i) == key) {
            *len = (size_t)snprintf(buf, sizeof(buf), "v%zu-%u", i, 1u);
            return buf;
        }
    *len = 0;
    return buf;
}

static void test_sorted_is_read_only(void **state)
{
    (void)state;
    static unsigned ver[NKEYS];
    char dir[64];
    t_mkdir_prefixed("as_ixsorted", dir, sizeof(dir));
    as_db *db = open_kind(dir, AS_INDEX_SORTED);
    as_session *s = sess(db);
    assert_int_equal(as_put(s, 1, "x", 1), AS_ERDONLY);
    assert_non_null(strstr(as_session_errmsg(s), "index=sorted"));
    assert_non_null(strstr(as_session_errmsg(s), "read-only"));
    assert_int_equal(as_del(s, 1), AS_ERDONLY);
    int64_t *keys = malloc(NKEYS * sizeof(*keys));
    assert_non_null(keys);
    for (size_t i = 0; i < NKEYS; i++) {
        keys[i] = key_of(i);
        ver[i] = 1;
    }
    assert_int_equal(as_bulk_load(s, keys, NKEYS, bulk_value, NULL), AS_OK);
    free(keys);
    as_session_close(s);
    expect_contents(db, ver);
    assert_int_equal(as_close(db), AS_OK);
    db = open_kind(dir, AS_INDEX_SORTED); /* rebuilt from the checkpoint */
    expect_contents(db, ver);
    assert_int_equal(as_close(db), AS_OK);
    db = open_kind(dir, AS_INDEX_BTREE); /* the same store takes writes under an updatable index */
    s = sess(db);
    put_ver(s, 0, 2);
    ver[0] = 2;
    as_session_close(s);
    expect_contents(db, ver);
    assert_int_equal(as_close(db), AS_OK);
    t_rmdir(dir);
}

static void test_bad_index_option(void **state)
{
    (void)state;
    char dir[64];
    t_mkdir_prefixed("as_ixbad", dir, sizeof(dir));
    as_options o;
    as_options_default(&o);
    o.index = 9;
    as_db *db = (as_db *)0x1;
    char err[512] = "";
    assert_int_equal(as_open(dir, &o, &db, err, sizeof(err)), AS_EINVAL);
    assert_null(db);
    assert_non_null(strstr(err, "index kind 9"));
    o.index = AS_INDEX_BTREE;
    o.btree_node_bytes = 96;
    assert_int_equal(as_open(dir, &o, &db, err, sizeof(err)), AS_EINVAL);
    assert_non_null(strstr(err, "btree"));
    t_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_bad_index_option, t_teardown),
        cmocka_unit_test_teardown(test_sorted_is_read_only, t_teardown),
        cmocka_unit_test_teardown(test_reopen_with_another_index, t_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
