/* fuzz_checkpoint.c - libFuzzer target: arbitrary bytes as AlexStorage's index CHECKPOINT beside a fixed valid log.
 *
 * Each run copies the segments of a small store built once (fuzz_store.h) into a work directory,
 * writes the input as CHECKPOINT, opens read-only (must change nothing) and, for one input in eight
 * (a hash of the input decides; its close fsyncs a new checkpoint, which is slow), read-write; reads
 * everything. Whatever the checkpoint says, a value returned must be one the store really holds for
 * that key: every value of the fixed store is derived from its key (byte j = key * 31 + j), so a
 * checkpoint pointing a key at another key's record, or anything else, is caught here. Inputs of odd
 * length get their header and body checksums recomputed first, so the fuzzer also explores
 * well-checksummed but inconsistent checkpoints (the interesting ones). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xxhash.h>

#include "as_internal.h"
#include "fuzz_store.h"

static char fz_tmpl[512], fz_dir[512];

static int fz_value_ok(int64_t key, const void *val, size_t len)
{
    const unsigned char *v = val;
    if (len < 8 || len > 207)
        return 0;
    for (size_t j = 0; j < len; j++)
        if (v[j] != (unsigned char)(key * 31 + (int64_t)j))
            return 0;
    return 1;
}

static int fz_scan_cb(void *arg, int64_t key, const void *val, size_t len)
{
    int64_t *last = arg;
    if (key <= *last && *last != INT64_MIN)
        abort(); /* scan order broken */
    *last = key;
    if (!fz_value_ok(key, val, len))
        abort(); /* a wrong value */
    return 0;
}

static void fz_read_all(as_db *db)
{
    as_session *s;
    if (as_session_open(db, &s) != AS_OK)
        return;
    int64_t last = INT64_MIN;
    size_t visited;
    int rc = as_scan(s, INT64_MIN, SIZE_MAX, fz_scan_cb, &last, &visited);
    if (rc != AS_OK && rc != AS_ECORRUPT)
        abort();
    for (int64_t key = -12; key < 52; key++) {
        const void *v;
        size_t len;
        rc = as_get(s, key, &v, &len);
        if (rc == AS_OK && !fz_value_ok(key, v, len))
            abort();
        if (rc != AS_OK && rc != AS_NOTFOUND && rc != AS_ECORRUPT)
            abort();
    }
    as_session_close(s);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (ast_tmpdir(fz_tmpl, sizeof fz_tmpl, "fuzz-ckpt-tmpl") != 0 || ast_tmpdir(fz_dir, sizeof fz_dir, "fuzz-ckpt") != 0)
        abort();
    if (fz_build_store(fz_tmpl) != AS_OK)
        abort();
    char p[1024];
    if (ast_join(p, sizeof p, fz_tmpl, AS_CKPT_NAME) == 0)
        unlink(p); /* the input takes its place */
    return 0;
}

static void fz_fix_checksums(uint8_t *p, size_t n)
{
    if (n < AS_CKPT_HEADER_BYTES)
        return;
    as_ckpt_header h;
    memcpy(&h, p, sizeof h);
    h.body_checksum = XXH3_64bits(p + AS_CKPT_HEADER_BYTES, n - AS_CKPT_HEADER_BYTES);
    h.checksum = XXH3_64bits(&h, offsetof(as_ckpt_header, checksum));
    memcpy(p, &h, sizeof h);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t fixed[1 << 20];
    if (size % 2 == 1 && size <= sizeof fixed) {
        memcpy(fixed, data, size);
        fz_fix_checksums(fixed, size);
        data = fixed;
    }
    if (ast_copy_dir(fz_tmpl, fz_dir) != 0)
        abort();
    char p[1024];
    if (ast_join(p, sizeof p, fz_dir, AS_CKPT_NAME))
        abort();
    FILE *f = fopen(p, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size))
        abort();
    fclose(f);
    as_options o;
    as_options_default(&o);
    o.create_if_missing = 0;
    o.read_only = 1;
    o.map_chunk_bytes = 64u << 10;
    o.segment_bytes = 4096;
    o.checkpoint_bytes = 0;
    o.compact_garbage_ratio = 0;
    as_db *db = NULL;
    char err[1024];
    uint64_t before = ast_dir_hash(fz_dir);
    if (as_open(fz_dir, &o, &db, err, sizeof err) == AS_OK) {
        fz_read_all(db);
        as_close(db);
    } else if (db != NULL) {
        abort();
    }
    if (ast_dir_hash(fz_dir) != before)
        abort(); /* read-only open wrote */
    if (XXH3_64bits(data, size) % 8 != 0)
        return 0; /* the writable open (which fsyncs a new checkpoint on close) only for 1 input in 8 */
    o.read_only = 0;
    db = NULL;
    if (as_open(fz_dir, &o, &db, err, sizeof err) == AS_OK) {
        fz_read_all(db);
        as_close(db);
    }
    return 0;
}
