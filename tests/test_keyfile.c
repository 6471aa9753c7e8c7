/* test_keyfile.c - SHA-256 against FIPS 180-4's examples; SOSD key files: uint64 and uint32 keys,
 * duplicates, the int64 mapping, bad sizes; key files as data sets. */
#include "workload.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

static void sha_hex(const void *p, size_t len, char hex[65])
{
    kv_sha256 s;
    kv_sha256_init(&s);
    kv_sha256_update(&s, p, len);
    kv_sha256_final(&s, hex);
}

static void test_sha256(void **st)
{
    (void)st;
    char hex[65];
    sha_hex("abc", 3, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    sha_hex("", 0, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"; /* two blocks after padding */
    sha_hex(two, strlen(two), hex);
    assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    /* fed in odd pieces: the same digest */
    char *mil = malloc(1000000);
    assert_non_null(mil);
    memset(mil, 'a', 1000000);
    kv_sha256 s;
    kv_sha256_init(&s);
    for (size_t off = 0, step = 1; off < 1000000; off += step, step = step * 3 % 1000 + 1)
        kv_sha256_update(&s, mil + off, off + step <= 1000000 ? step : 1000000 - off);
    kv_sha256_final(&s, hex);
    assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    free(mil);
}

static char dir[] = "/tmp/kvb-keyfile-XXXXXX";

static void write_raw(const char *path, uint64_t count, const void *keys, size_t keybytes)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(&count, 8, 1, f), 1); /* the tests run on little-endian hosts */
    if (keybytes)
        assert_int_equal(fwrite(keys, 1, keybytes, f), keybytes);
    assert_int_equal(fclose(f), 0);
}

static void test_keyfile_formats(void **st)
{
    (void)st;
    char path[256], err[2048];
    kv_keyfile_info info;
    int64_t *keys;
    uint64_t n;
    /* uint64 with duplicates and unsorted */
    uint64_t k64[] = {50, 10, 30, 10, 20, 50};
    snprintf(path, sizeof(path), "%s/u64", dir);
    write_raw(path, 6, k64, sizeof(k64));
    assert_int_equal(kv_keyfile_read(path, &keys, &n, &info, err, sizeof(err)), 0);
    assert_int_equal(n, 4);
    assert_int_equal(info.duplicates, 2);
    assert_int_equal(info.width, 64);
    assert_int_equal(info.count, 6);
    assert_int_equal(info.size, 8 + 48);
    assert_int_equal(info.shifted, 0);
    assert_true(keys[0] == 10 && keys[1] == 20 && keys[2] == 30 && keys[3] == 50);
    free(keys);
    /* uint32 keys: size 8 + 4 * count */
    uint32_t k32[] = {7, 3, 4000000000u, 9, 11};
    snprintf(path, sizeof(path), "%s/u32", dir);
    write_raw(path, 5, k32, sizeof(k32));
    assert_int_equal(kv_keyfile_read(path, &keys, &n, &info, err, sizeof(err)), 0);
    assert_int_equal(info.width, 32);
    assert_int_equal(n, 5);
    assert_true(keys[0] == 3 && keys[4] == 4000000000LL);
    free(keys);
    /* keys >= 2^63: all shifted down by 2^63, order kept */
    uint64_t big[] = {1, 1ULL << 63, UINT64_MAX};
    snprintf(path, sizeof(path), "%s/big", dir);
    write_raw(path, 3, big, sizeof(big));
    assert_int_equal(kv_keyfile_read(path, &keys, &n, &info, err, sizeof(err)), 0);
    assert_int_equal(info.shifted, 1);
    assert_true(keys[0] == INT64_MIN + 1 && keys[1] == 0 && keys[2] == INT64_MAX);
    /* and written back: the same file */
    char back[256];
    snprintf(back, sizeof(back), "%s/back", dir);
    assert_int_equal(kv_keyfile_write(back, keys, n, err, sizeof(err)), 0);
    kv_keyfile_info info2;
    free(keys);
    assert_int_equal(kv_keyfile_read(back, &keys, &n, &info2, err, sizeof(err)), 0);
    assert_string_equal(info.sha256, info2.sha256);
    free(keys);
    /* bad: count that matches neither width; too short; missing */
    snprintf(path, sizeof(path), "%s/bad", dir);
    write_raw(path, 7, k64, sizeof(k64));
    assert_int_equal(kv_keyfile_read(path, &keys, &n, &info, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "header says 7 keys"));
    assert_null(keys);
    snprintf(path, sizeof(path), "%s/short", dir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs("abc", f);
    fclose(f);
    assert_int_equal(kv_keyfile_read(path, &keys, &n, &info, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "too short"));
    snprintf(path, sizeof(path), "%s/missing", dir);
    assert_int_equal(kv_keyfile_read(path, &keys, &n, &info, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "cannot open"));
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* A data set from file keys: loaded keys and pool are file keys (a shuffle), completed by fresh keys
 * inside the file's range when the file is too small; all distinct and findable. */
static void test_dataset_from_file_keys(void **st)
{
    (void)st;
    const uint64_t count = 5000;
    int64_t *src = malloc(count * sizeof(*src));
    assert_non_null(src);
    for (uint64_t i = 0; i < count; i++)
        src[i] = INT64_MIN + 1000 + (int64_t)(i * i); /* negative keys too */
    kv_dataset *ds;
    assert_int_equal(kv_dataset_create_from(&ds, src, count, 3000, 4000, 1, 100), 0);
    assert_int_equal(ds->keyset, KV_KEYS_FILE);
    int64_t *all = malloc(ds->capacity * sizeof(*all));
    assert_non_null(all);
    memcpy(all, ds->keys, ds->capacity * sizeof(*all));
    qsort(all, ds->capacity, sizeof(*all), cmp_i64);
    for (uint64_t i = 1; i < ds->capacity; i++)
        assert_true(all[i - 1] < all[i]);
    uint64_t from_file = 0;
    for (uint64_t i = 0; i < ds->capacity; i++) {
        assert_int_equal(kv_dataset_find(ds, ds->keys[i]), (int64_t)i);
        from_file += bsearch(&ds->keys[i], src, count, sizeof(*src), cmp_i64) != NULL;
        if (i < 3000 + 2000) /* the first `count` keys are the file's */
            assert_non_null(bsearch(&ds->keys[i], src, count, sizeof(*src), cmp_i64));
        assert_true(ds->keys[i] >= src[0] && ds->keys[i] <= src[count - 1]);
    }
    assert_int_equal(from_file, count);
    int64_t *sl = kv_dataset_sorted_loaded(ds); /* the radix sort handles negative keys */
    assert_non_null(sl);
    for (uint64_t i = 1; i < 3000; i++)
        assert_true(sl[i - 1] < sl[i]);
    free(sl);
    free(all);
    kv_dataset_free(ds);
    assert_int_equal(kv_dataset_create_from(&ds, src, count, count + 1, 0, 1, 100), -1);
    free(src);
}

static int setup(void **st)
{
    (void)st;
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **st)
{
    (void)st;
    const char *names[] = {"u64", "u32", "big", "back", "bad", "short"};
    char path[256];
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        unlink(path);
    }
    return rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256),
        cmocka_unit_test(test_keyfile_formats),
        cmocka_unit_test(test_dataset_from_file_keys),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
