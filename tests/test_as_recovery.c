/* test_as_recovery.c - AlexStorage recovery: torn tails, corrupt records/headers, missing segments, read-only. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "alexstorage.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Layout facts the tests rely on (FORMAT.md): 64-byte segment header, 32-byte record header,
 * records padded to 8 bytes. With 100-byte values every record is 136 bytes. */
#define SEG_HDR 64
#define REC_HDR 32
#define VLEN 100
#define REC_BYTES 136

#include "tmpdirs.h"

static void t_mkdir(char *dir, size_t len) { t_mkdir_prefixed("as_recov", dir, len); }

static void t_fill(int64_t key, unsigned char *v)
{
    for (int i = 0; i < VLEN; i++)
        v[i] = (unsigned char)(key * 31 + i);
    memcpy(v, &key, sizeof(key));
}

static void t_check(as_session *s, int64_t key)
{
    unsigned char want[VLEN];
    t_fill(key, want);
    const void *v;
    size_t len;
    int rc = as_get(s, key, &v, &len);
    if (rc != AS_OK)
        fail_msg("get %lld: %s (%s)", (long long)key, as_strerror(rc), as_session_errmsg(s));
    assert_int_equal(len, VLEN);
    assert_memory_equal(v, want, VLEN);
}

/* Create a store with keys 0..n-1 (100-byte values), in segments of seg_bytes. */
static void t_make(const char *dir, int n, uint64_t seg_bytes)
{
    as_options o;
    as_options_default(&o);
    o.segment_bytes = seg_bytes;
    as_db *db;
    char err[1024];
    assert_int_equal(as_open(dir, &o, &db, err, sizeof(err)), AS_OK);
    as_session *s;
    assert_int_equal(as_session_open(db, &s), AS_OK);
    unsigned char v[VLEN];
    for (int k = 0; k < n; k++) {
        t_fill(k, v);
        assert_int_equal(as_put(s, k, v, VLEN), AS_OK);
    }
    as_session_close(s);
    assert_int_equal(as_close(db), AS_OK);
    /* These tests exercise the log scan; the close also wrote an index checkpoint, which would let the
     * next open skip the scan (checkpoint recovery is tested in test_as_corruption / test_as_crash). */
    char ck[4200];
    snprintf(ck, sizeof(ck), "%s/CHECKPOINT", dir);
    assert_int_equal(unlink(ck), 0);
}

static void t_path(char *out, size_t len, const char *dir, int seg)
{
    snprintf(out, len, "%s/seg-%06d.log", dir, seg);
}

static off_t t_size(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_size;
}

static void t_poke(const char *path, off_t off, const void *bytes, size_t len)
{
    int fd = open(path, O_WRONLY);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, bytes, len, off), (ssize_t)len);
    close(fd);
}

static void t_flip(const char *path, off_t off)
{
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    unsigned char b;
    assert_int_equal(pread(fd, &b, 1, off), 1);
    b ^= 0x10;
    assert_int_equal(pwrite(fd, &b, 1, off), 1);
    close(fd);
}

static int t_open(const char *dir, const as_options *o, as_db **db, char *err, size_t errlen)
{
    *db = NULL;
    return as_open(dir, o, db, err, errlen);
}


/* ---- log_prealloc: the zero-filled head (sync modes) ---- */

static void t_copy_file(const char *from, const char *to)
{
    int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(in >= 0 && out >= 0);
    static char buf[1 << 16];
    ssize_t r;
    while ((r = read(in, buf, sizeof(buf))) > 0)
        assert_int_equal(write(out, buf, (size_t)r), r);
    close(in);
    close(out);
}

/* At AS_SYNC_EACH with log_prealloc the head segment runs zero-filled ahead of its last record while
 * the store is open; sealed segments and a closed store have none; the files copied from an open
 * store (a crash) open with the zero tail cut as a preallocated tail and every record there. */
static void test_log_prealloc(void **state)
{
    (void)state;
    for (int pre = 0; pre <= 1; pre++) {
        char dir[64], copy[64], a[160], b[160], err[1024];
        t_mkdir(dir, sizeof(dir));
        t_mkdir(copy, sizeof(copy));
        as_options o;
        as_options_default(&o);
        o.sync_mode = AS_SYNC_EACH;
        o.segment_bytes = 64u << 10;
        o.log_prealloc = pre;
        as_db *db;
        assert_int_equal(t_open(dir, &o, &db, err, sizeof(err)), AS_OK);
        as_session *s;
        assert_int_equal(as_session_open(db, &s), AS_OK);
        unsigned char v[VLEN];
        const int per_seg = (int)((64u << 10) - SEG_HDR) / REC_BYTES, n = 2 * per_seg + 100;
        for (int k = 0; k < n; k++) {
            t_fill(k, v);
            assert_int_equal(as_put(s, k, v, VLEN), AS_OK);
        }
        for (int seg = 1; seg <= 2; seg++) { /* sealed: exactly its records */
            t_path(a, sizeof(a), dir, seg);
            assert_int_equal(t_size(a), SEG_HDR + per_seg * REC_BYTES);
        }
        t_path(a, sizeof(a), dir, 3);
        off_t head = SEG_HDR + 100 * REC_BYTES;
        if (pre)
            assert_int_equal(t_size(a), 64 << 10); /* zero-filled to the segment's end (< 1 MiB ahead) */
        else
            assert_int_equal(t_size(a), head);
        for (int seg = 1; seg <= 3; seg++) { /* a crash now: the files as they are */
            t_path(a, sizeof(a), dir, seg);
            t_path(b, sizeof(b), copy, seg);
            t_copy_file(a, b);
        }
        as_db *c;
        assert_int_equal(t_open(copy, NULL, &c, err, sizeof(err)), AS_OK);
        if (pre && !strstr(err, "preallocated tail cut"))
            fail_msg("open of a crashed preallocated head did not report the zero tail: %s", err);
        as_stats st;
        assert_int_equal(as_get_stats(c, &st), AS_OK);
        assert_int_equal(st.num_keys, n);
        assert_int_equal(st.records_dropped, 0);
        as_session *cs;
        assert_int_equal(as_session_open(c, &cs), AS_OK);
        for (int k = 0; k < n; k++)
            t_check(cs, k);
        t_fill(n, v); /* and takes writes after the cut */
        assert_int_equal(as_put(cs, n, v, VLEN), AS_OK);
        as_session_close(cs);
        assert_int_equal(as_close(c), AS_OK);
        t_path(b, sizeof(b), copy, 3);
        assert_int_equal(t_size(b), head + REC_BYTES);
        as_session_close(s);
        assert_int_equal(as_close(db), AS_OK);
        assert_int_equal(t_size(a), head); /* close cuts the zero tail */
        t_rmdir(dir);
        t_rmdir(copy);
    }
}

/* ---- torn tail ---- */

static void test_torn_tail(void **state)
{
    (void)state;
    char dir[64], seg[128], err[1024];
    t_mkdir(dir, sizeof(dir));
    const int n = 500;
    t_make(dir, n, 1 << 30);
    t_path(seg, sizeof(seg), dir, 1);
    off_t full = t_size(seg);
    assert_int_equal(full, SEG_HDR + n * REC_BYTES);
    /* cut the last record in half, then add garbage after it */
    assert_int_equal(truncate(seg, full - REC_BYTES / 2), 0);
    unsigned char junk[77];
    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = (unsigned char)(i * 13 + 5);
    t_poke(seg, full - REC_BYTES / 2, junk, sizeof(junk));
    uint64_t torn_bytes = REC_BYTES - REC_BYTES / 2 + sizeof(junk);

    as_db *db;
    assert_int_equal(t_open(dir, NULL, &db, err, sizeof(err)), AS_OK);
    assert_non_null(strstr(err, "torn tail cut"));
    assert_non_null(strstr(err, "seg-000001.log"));
    assert_non_null(strstr(as_errmsg(db), "torn tail cut"));
    as_stats st;
    assert_int_equal(as_get_stats(db, &st), AS_OK);
    assert_int_equal(st.bytes_dropped, torn_bytes);
    assert_int_equal(st.records_dropped, 1);
    assert_int_equal(st.num_keys, n - 1);
    assert_int_equal(t_size(seg), full - REC_BYTES); /* cut back to the last complete record */
    as_session *s;
    assert_int_equal(as_session_open(db, &s), AS_OK);
    for (int k = 0; k < n - 1; k++)
        t_check(s, k);
    const void *v;
    size_t len;
    assert_int_equal(as_get(s, n - 1, &v, &len), AS_NOTFOUND);
    /* the store keeps working after the repair */
    unsigned char val[VLEN];
    t_fill(n - 1, val);
    assert_int_equal(as_put(s, n - 1, val, VLEN), AS_OK);
    as_session_close(s);
    assert_int_equal(as_close(db), AS_OK);

    assert_int_equal(t_open(dir, NULL, &db, err, sizeof(err)), AS_OK);
    assert_int_equal(as_get_stats(db, &st), AS_OK);
    assert_int_equal(st.bytes_dropped, 0);
    assert_int_equal(st.num_keys, n);
    assert_int_equal(as_session_open(db, &s), AS_OK);
    t_check(s, n - 1);
    as_session_close(s);
    assert_int_equal(as_close(db), AS_OK);
    t_rmdir(dir);
}

static void test_torn_segment_header(void **state)
{
    (void)state;
    char dir[64], seg[128], err[1024];
    t_mkdir(dir, sizeof(dir));
    t_make(dir, 300, 16384); /* several segments */
    int last = 1;
    for (;; last++) {
        t_path(seg, sizeof(seg), dir, last + 1);
        if (access(seg, F_OK) != 0)
            break;
    }
    assert_true(last > 1);
    t_path(seg, sizeof(seg), dir, last + 1); /* a segment whose creation was cut short */
    int fd = open(seg, O_CREAT | O_WRONLY, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "ALAS", 4), 4);
    close(fd);
    as_db *db;
    assert_int_equal(t_open(dir, NULL, &db, err, sizeof(err)), AS_OK);
    assert_non_null(strstr(err, "torn segment header"));
    as_session *s;
    assert_int_equal(as_session_open(db, &s), AS_OK);
    for (int k = 0; k < 300; k++)
        t_check(s, k);
    as_session_close(s);
    assert_int_equal(as_close(db), AS_OK);
    assert_int_equal(t_size(seg), SEG_HDR); /* header written again */
    t_rmdir(dir);
}

/* ---- corruption in the middle ---- */

static void test_flipped_middle_record(void **state)
{
    (void)state;
    char dir[64], seg[128], err[1024];
    t_mkdir(dir, sizeof(dir));
    t_make(dir, 100, 1 << 30);
    t_path(seg, sizeof(seg), dir, 1);
    off_t rec50 = SEG_HDR + 50 * REC_BYTES;
    t_flip(seg, rec50 + REC_HDR + 40); /* a value byte of key 50 */
    as_db *db;
    assert_int_equal(t_open(dir, NULL, &db, err, sizeof(err)), AS_ECORRUPT);
    assert_null(db);
    char want[64];
    snprintf(want, sizeof(want), "offset %lld", (long long)rec50);
    assert_non_null(strstr(err, "seg-000001.log"));
    assert_non_null(strstr(err, want));
    assert_non_null(strstr(err, "checksum"));

    as_options o;
    as_options_default(&o);
    o.salvage = 1; /* keeps every valid record */
    assert_int_equal(t_open(dir, &o, &db, err, sizeof(err)), AS_OK);
    assert_non_null(strstr(err, "salvage"));
    as_stats st;
    assert_int_equal(as_get_stats(db, &st), AS_OK);
    assert_int_equal(st.records_dropped, 1);
    assert_int_equal(st.bytes_salvaged, REC_BYTES);
    assert_int_equal(st.num_keys, 99);
    as_session *s;
    assert_int_equal(as_session_open(db, &s), AS_OK);
    for (int k = 0; k < 100; k++) {
        const void *v;
        size_t len;
        if (k == 50)
            assert_int_equal(as_get(s, k, &v, &len), AS_NOTFOUND);
        else
            t_check(s, k);
    }
    as_session_close(s);
    assert_int_equal(as_close(db), AS_OK);
    t_rmdir(dir);
}

/* Damage after open is caught by the read-time check: an error, never a wrong value. */
static void test_corruption_found_on_get(void **state)
{
    (void)state;
    char dir[64], seg[128], err[1024];
    t_mkdir(dir, sizeof(dir));
    t_make(dir, 20, 1 << 30);
    t_path(seg, sizeof(seg), dir, 1);
    as_db *db;
    assert_int_equal(t_open(dir, NULL, &db, err, sizeof(err)), AS_OK);
    as_session *s;
    assert_int_equal(as_session_open(db, &s), AS_OK);
    off_t rec7 = SEG_HDR + 7 * REC_BYTES;
    t_flip(seg, rec7 + REC_HDR + 3); /* the mapping is shared, so the store sees this */
    const void *v = NULL;
    size_t len;
    assert_int_equal(as_get(s, 7, &v, &len), AS_ECORRUPT);
    char want[64];
    snprintf(want, sizeof(want), "offset %lld", (long long)rec7);
    assert_non_null(strstr(as_session_errmsg(s), "seg-000001.log"));
    assert_non_null(strstr(as_session_errmsg(s), want));
    t_check(s, 6);
    t_check(s, 8);
    as_session_close(s);
    assert_int_equal(as_close(db), AS_OK);
    t_rmdir(dir);
}

static void test_bad_header(void **state)
{
    (void)state;
    char dir[64], seg[128], err[1024];
    t_mkdir(dir, sizeof(dir));
    t_make(dir, 10, 1 << 30);
    t_path(seg, sizeof(seg), dir, 1);
    t_poke(seg, 0, "NOTASEG!", 8);
    as_db *db;
    assert_int_equal(t_open(dir, NULL, &db, err, sizeof(err)), AS_ECORRUPT);
    assert_non_null(strstr(err, "seg-000001.log"));
    assert_non_null(strstr(err, "offset 0"));
    assert_non_null(strstr(err, "magic"));
    t_rmdir(dir);

    t_mkdir(dir, sizeof(dir));
    t_make(dir, 10, 1 << 30);
    t_path(seg, sizeof(seg), dir, 1);
    unsigned char ver = 9;
    t_poke(seg, 8, &ver, 1); /* the version byte: the header checksum no longer matches */
    assert_int_equal(t_open(dir, NULL, &db, err, sizeof(err)), AS_ECORRUPT);
    assert_non_null(strstr(err, "header checksum"));
    t_rmdir(dir);
}

static void test_missing_segment(void **state)
{
    (void)state;
    char dir[64], seg[128], err[1024];
    t_mkdir(dir, sizeof(dir));
    t_make(dir, 300, 8192);
    t_path(seg, sizeof(seg), dir, 2);
    assert_int_equal(unlink(seg), 0);
    as_db *db;
    assert_int_equal(t_open(dir, NULL, &db, err, sizeof(err)), AS_ECORRUPT);
    assert_non_null(strstr(err, "missing segment seg-000002.log"));
    t_rmdir(dir);

    t_mkdir(dir, sizeof(dir)); /* the first segment lost: the others' headers say the store starts at 1 */
    t_make(dir, 300, 8192);
    t_path(seg, sizeof(seg), dir, 1);
    assert_int_equal(unlink(seg), 0);
    assert_int_equal(t_open(dir, NULL, &db, err, sizeof(err)), AS_ECORRUPT);
    assert_non_null(strstr(err, "missing segment seg-000001.log"));
    t_rmdir(dir);
}

/* ---- a sealed segment truncated behind a checkpoint: corruption, not a rescan that loses keys ---- */

/* Keys 0..299 in 8 KiB segments, then the first h records of segment 2 overwritten (garbage there);
 * closed, so a checkpoint covers everything. No compaction: segment 2 must stay as it is. */
static void t_make_ckpt_garbage(const char *dir, int *seg2_first, int *seg2_n, int *h)
{
    as_options o;
    as_options_default(&o);
    o.segment_bytes = 8192;
    o.compact_garbage_ratio = 0;
    as_db *db;
    char err[1024], seg[128];
    assert_int_equal(as_open(dir, &o, &db, err, sizeof(err)), AS_OK);
    as_session *s;
    assert_int_equal(as_session_open(db, &s), AS_OK);
    unsigned char v[VLEN];
    for (int k = 0; k < 300; k++) {
        t_fill(k, v);
        assert_int_equal(as_put(s, k, v, VLEN), AS_OK);
    }
    t_path(seg, sizeof(seg), dir, 1);
    *seg2_first = (int)((t_size(seg) - SEG_HDR) / REC_BYTES);
    t_path(seg, sizeof(seg), dir, 2);
    *seg2_n = (int)((t_size(seg) - SEG_HDR) / REC_BYTES);
    *h = *seg2_n / 2 + 1;
    for (int k = *seg2_first; k < *seg2_first + *h; k++) { /* same value: only the locator moves */
        t_fill(k, v);
        assert_int_equal(as_put(s, k, v, VLEN), AS_OK);
    }
    as_session_close(s);
    assert_int_equal(as_close(db), AS_OK);
}

static void test_truncated_sealed_segment(void **state)
{
    (void)state;
    char dir[64], seg[128], err[1024];
    int first, n, h;
    as_db *db;
    /* cut to its header: fewer record bytes than the checkpoint's live bytes for it */
    t_mkdir(dir, sizeof(dir));
    t_make_ckpt_garbage(dir, &first, &n, &h);
    assert_true(n > 10);
    t_path(seg, sizeof(seg), dir, 2);
    assert_int_equal(truncate(seg, SEG_HDR), 0);
    assert_int_equal(t_open(dir, NULL, &db, err, sizeof(err)), AS_ECORRUPT);
    assert_non_null(strstr(err, "seg-000002.log"));
    assert_non_null(strstr(err, "truncated"));
    t_rmdir(dir);

    /* cut at a record boundary after its garbage: the live bytes still fit, but live keys point past the
     * end (a rescan would open the store without them and say nothing) */
    t_mkdir(dir, sizeof(dir));
    t_make_ckpt_garbage(dir, &first, &n, &h);
    t_path(seg, sizeof(seg), dir, 2);
    assert_int_equal(truncate(seg, SEG_HDR + (off_t)h * REC_BYTES), 0);
    assert_int_equal(t_open(dir, NULL, &db, err, sizeof(err)), AS_ECORRUPT);
    assert_non_null(strstr(err, "seg-000002.log"));
    assert_non_null(strstr(err, "truncated"));
    t_rmdir(dir);
}

/* ---- read-only open writes nothing ---- */

typedef struct fsnap {
    char name[64];
    off_t size;
    struct timespec mtime;
} fsnap;

static size_t t_snapshot(const char *dir, fsnap *out, size_t max)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL && n < max) {
        if (de->d_name[0] == '.')
            continue;
        char p[512];
        snprintf(p, sizeof(p), "%.200s/%.200s", dir, de->d_name);
        struct stat st;
        assert_int_equal(stat(p, &st), 0);
        snprintf(out[n].name, sizeof(out[n].name), "%.60s", de->d_name);
        out[n].size = st.st_size;
        out[n].mtime = st.st_mtim;
        n++;
    }
    closedir(d);
    return n;
}

static void t_same_snapshot(const fsnap *a, size_t na, const fsnap *b, size_t nb)
{
    assert_int_equal(na, nb);
    for (size_t i = 0; i < na; i++) {
        size_t j = 0;
        while (j < nb && strcmp(a[i].name, b[j].name) != 0)
            j++;
        assert_true(j < nb);
        assert_int_equal(a[i].size, b[j].size);
        assert_int_equal(a[i].mtime.tv_sec, b[j].mtime.tv_sec);
        assert_int_equal(a[i].mtime.tv_nsec, b[j].mtime.tv_nsec);
    }
}

static void test_read_only_writes_nothing(void **state)
{
    (void)state;
    char dir[64], seg[128], err[1024];
    t_mkdir(dir, sizeof(dir));
    t_make(dir, 200, 8192);
    int last = 1;
    for (;; last++) {
        t_path(seg, sizeof(seg), dir, last + 1);
        if (access(seg, F_OK) != 0)
            break;
    }
    t_path(seg, sizeof(seg), dir, last);
    assert_int_equal(truncate(seg, t_size(seg) - 5), 0); /* a torn tail that a writer would cut */
    fsnap before[64], after[64];
    size_t nb = t_snapshot(dir, before, 64);
    usleep(20000); /* so that any write would show as a different mtime */

    as_options o;
    as_options_default(&o);
    o.read_only = 1;
    as_db *db;
    assert_int_equal(t_open(dir, &o, &db, err, sizeof(err)), AS_OK);
    assert_non_null(strstr(err, "torn tail"));
    as_session *s;
    assert_int_equal(as_session_open(db, &s), AS_OK);
    for (int k = 0; k < 199; k++)
        t_check(s, k);
    unsigned char v[VLEN] = {0};
    assert_int_equal(as_put(s, 1, v, VLEN), AS_ERDONLY);
    assert_int_equal(as_sync(s), AS_OK);
    as_session_close(s);
    assert_int_equal(as_close(db), AS_OK);
    size_t na = t_snapshot(dir, after, 64);
    t_same_snapshot(before, nb, after, na);
    t_rmdir(dir);

    /* a read-only open of a directory that does not exist creates nothing */
    char none[128];
    snprintf(none, sizeof(none), "%s-does-not-exist", dir);
    assert_int_not_equal(t_open(none, &o, &db, err, sizeof(err)), AS_OK);
    assert_int_not_equal(access(none, F_OK), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_torn_tail, t_teardown),
        cmocka_unit_test_teardown(test_log_prealloc, t_teardown),
        cmocka_unit_test_teardown(test_torn_segment_header, t_teardown),
        cmocka_unit_test_teardown(test_flipped_middle_record, t_teardown),
        cmocka_unit_test_teardown(test_corruption_found_on_get, t_teardown),
        cmocka_unit_test_teardown(test_bad_header, t_teardown),
        cmocka_unit_test_teardown(test_missing_segment, t_teardown),
        cmocka_unit_test_teardown(test_truncated_sealed_segment, t_teardown),
        cmocka_unit_test_teardown(test_read_only_writes_nothing, t_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
