/* test_as_batch.c - AlexStorage write batches: contents, one fdatasync per batch, reopen, refusals. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "alexstorage.h"
#include "as_torture.h"

static as_db *open_store(const char *dir, enum as_sync_mode mode)
{
    as_options o;
    as_options_default(&o);
    o.sync_mode = mode;
    o.segment_bytes = 64u << 10;
    o.map_chunk_bytes = 64u << 10;
    as_db *db;
    char err[1024];
    int rc = as_open(dir, &o, &db, err, sizeof err);
    if (rc != AS_OK)
        fail_msg("open %s: %s", dir, err);
    return db;
}

static void expect(as_session *s, int64_t key, int present, unsigned char fill, size_t len)
{
    const void *v;
    size_t l;
    int rc = as_get(s, key, &v, &l);
    if (!present) {
        assert_int_equal(rc, AS_NOTFOUND);
        return;
    }
    assert_int_equal(rc, AS_OK);
    assert_int_equal(l, len);
    for (size_t i = 0; i < l; i++)
        assert_int_equal(((const unsigned char *)v)[i], fill);
}

static void test_batch_contents_and_reopen(void **state)
{
    (void)state;
    char dir[512];
    assert_int_equal(ast_tmpdir(dir, sizeof dir, "as-batch"), 0);
    as_db *db = open_store(dir, AS_SYNC_EACH);
    as_session *s;
    assert_int_equal(as_session_open(db, &s), AS_OK);
    as_batch *b;
    assert_int_equal(as_batch_create(&b), AS_OK);
    assert_int_equal(as_batch_commit(s, b), AS_OK); /* empty: nothing to do */
    unsigned char v[3000];
    for (int64_t k = 0; k < 200; k++) { /* spans several 64 KiB segments over the rounds below */
        memset(v, (int)(k & 0x7f), sizeof v);
        assert_int_equal(as_batch_put(b, k, v, 40 + (size_t)k * 10), AS_OK);
    }
    assert_int_equal(as_batch_count(b), 200);
    as_stats st0, st1;
    as_get_stats(db, &st0);
    assert_int_equal(as_batch_commit(s, b), AS_OK);
    as_get_stats(db, &st1);
    assert_int_equal(as_batch_count(b), 0); /* cleared by a successful commit */
    /* One fdatasync for the batch (plus the ones a rotation before it needs: seal, new header, dir). */
    assert_true(st1.num_syncs - st0.num_syncs >= 1 && st1.num_syncs - st0.num_syncs <= 4);
    for (int64_t k = 0; k < 200; k++)
        expect(s, k, 1, (unsigned char)(k & 0x7f), 40 + (size_t)k * 10);
    /* deletes (also of an absent key) and a key twice: the later item wins */
    memset(v, 0x55, sizeof v);
    assert_int_equal(as_batch_del(b, 3), AS_OK);
    assert_int_equal(as_batch_del(b, 100000), AS_OK);
    assert_int_equal(as_batch_put(b, 4, v, 10), AS_OK);
    assert_int_equal(as_batch_put(b, 4, v, 20), AS_OK);
    assert_int_equal(as_batch_put(b, 3, v, 5), AS_OK);
    assert_int_equal(as_batch_del(b, 5), AS_OK);
    assert_int_equal(as_batch_commit(s, b), AS_OK);
    expect(s, 3, 1, 0x55, 5);
    expect(s, 4, 1, 0x55, 20);
    expect(s, 5, 0, 0, 0);
    expect(s, 100000, 0, 0, 0);
    /* bad input is refused before anything is written */
    assert_int_equal(as_batch_put(b, 9, NULL, 4), AS_EINVAL);
    assert_int_equal(as_batch_count(b), 0);
    as_session_close(s);
    assert_int_equal(as_close(db), AS_OK);

    db = open_store(dir, AS_SYNC_GROUP);
    assert_int_equal(as_session_open(db, &s), AS_OK);
    expect(s, 3, 1, 0x55, 5);
    expect(s, 4, 1, 0x55, 20);
    expect(s, 5, 0, 0, 0);
    for (int64_t k = 6; k < 200; k++)
        expect(s, k, 1, (unsigned char)(k & 0x7f), 40 + (size_t)k * 10);
    assert_int_equal(as_compact(s), AS_OK); /* batch headers are dropped, their records kept */
    for (int64_t k = 6; k < 200; k++)
        expect(s, k, 1, (unsigned char)(k & 0x7f), 40 + (size_t)k * 10);
    as_session_close(s);
    assert_int_equal(as_close(db), AS_OK);

    as_options o;
    as_options_default(&o);
    o.read_only = 1;
    char err[512];
    assert_int_equal(as_open(dir, &o, &db, err, sizeof err), AS_OK);
    assert_int_equal(as_session_open(db, &s), AS_OK);
    assert_int_equal(as_batch_put(b, 1, v, 8), AS_OK);
    assert_int_equal(as_batch_commit(s, b), AS_ERDONLY);
    assert_int_equal(as_batch_count(b), 1); /* kept for a retry elsewhere */
    as_session_close(s);
    assert_int_equal(as_close(db), AS_OK);
    as_batch_free(b);
    as_batch_free(NULL);
    ast_rmtree(dir);
}

static void test_batch_too_large(void **state)
{
    (void)state;
    char dir[512];
    assert_int_equal(ast_tmpdir(dir, sizeof dir, "as-batch-big"), 0);
    as_options o;
    as_options_default(&o);
    o.segment_bytes = 64u << 10;
    o.reserve_bytes = 0;
    as_db *db;
    char err[512];
    assert_int_equal(as_open(dir, &o, &db, err, sizeof err), AS_OK);
    as_session *s;
    assert_int_equal(as_session_open(db, &s), AS_OK);
    as_batch *b;
    assert_int_equal(as_batch_create(&b), AS_OK);
    static unsigned char v[1 << 20];
    for (int i = 0; i < 80; i++) /* 80 MiB: more than a segment's reservation (64 MiB + a record) */
        assert_int_equal(as_batch_put(b, i, v, sizeof v), AS_OK);
    assert_int_equal(as_batch_commit(s, b), AS_EINVAL);
    assert_non_null(strstr(as_session_errmsg(s), "split it"));
    const void *g;
    size_t len;
    assert_int_equal(as_get(s, 0, &g, &len), AS_NOTFOUND);
    as_batch_free(b);
    as_session_close(s);
    assert_int_equal(as_close(db), AS_OK);
    ast_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batch_contents_and_reopen),
        cmocka_unit_test(test_batch_too_large),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
