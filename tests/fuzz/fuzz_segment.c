/* fuzz_segment.c - libFuzzer target: arbitrary bytes as AlexStorage segment files through open, recovery and reads.
 *
 * The input is split into segment files at every occurrence of the segment magic after offset 0
 * ("ALASSEG1"), so a seed made by concatenating real segments is a multi-segment store. Each run
 * opens the store read-only (which must change nothing), reads everything, then opens it read-write
 * (repairing a torn tail), reads everything again and writes one record. Any crash or sanitizer
 * report is a bug.
 * Inputs of odd length get their segment header and record checksums recomputed first (on a copy):
 * random bytes almost never pass XXH3, and without this the fuzzer would only ever explore the
 * "bad checksum" branch, never what the store does with a well-checksummed but absurd record. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xxhash.h>

#include "as_internal.h"
#include "../as_torture.h"

#define FZ_MAX_SEGS 8

static char fz_dir[512];

typedef struct fz_scan {
    as_session *s;
    uint64_t sum, n;
    int64_t last;
} fz_scan;

/* Touch every byte of every value, and check get agrees with scan. */
static int fz_scan_cb(void *arg, int64_t key, const void *val, size_t len)
{
    fz_scan *c = arg;
    const unsigned char *v = val;
    for (size_t i = 0; i < len; i++)
        c->sum += v[i];
    if (c->n && key <= c->last)
        abort(); /* scan order broken */
    c->last = key;
    c->n++;
    return 0;
}

static void fz_read_all(as_db *db, int write_one)
{
    as_session *s;
    if (as_session_open(db, &s) != AS_OK)
        return;
    fz_scan c = {.s = s};
    size_t visited = 0;
    int rc = as_scan(s, INT64_MIN, SIZE_MAX, fz_scan_cb, &c, &visited);
    if (rc != AS_OK && rc != AS_ECORRUPT)
        abort();
    /* Point reads of the keys around the scan's end and of a few fixed ones. */
    int64_t probes[] = {0, 1, -1, INT64_MIN, INT64_MAX, c.last, c.last + 1};
    for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++) {
        const void *v;
        size_t len;
        rc = as_get(s, probes[i], &v, &len);
        if (rc == AS_OK)
            for (size_t j = 0; j < len; j++)
                c.sum += ((const unsigned char *)v)[j];
        else if (rc != AS_NOTFOUND && rc != AS_ECORRUPT)
            abort();
    }
    if (write_one) {
        unsigned char val[48];
        memset(val, 0x5a, sizeof val);
        rc = as_put(s, 42, val, sizeof val);
        if (rc == AS_OK) {
            const void *v;
            size_t len;
            if (as_get(s, 42, &v, &len) != AS_OK || len != sizeof val || memcmp(v, val, len) != 0)
                abort(); /* a write the store accepted must read back */
        }
    }
    as_session_close(s);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (ast_tmpdir(fz_dir, sizeof fz_dir, "fuzz-segment") != 0)
        abort();
    return 0;
}

/* Recompute the checksums of one segment image in place (segment id = its position). */
static void fz_fix_checksums(uint8_t *p, size_t n, uint64_t id)
{
    if (n < AS_SEG_HEADER_BYTES)
        return;
    as_seg_header h;
    memcpy(&h, p, sizeof h);
    h.segment_id = id;
    h.checksum = XXH3_64bits(&h, offsetof(as_seg_header, checksum));
    memcpy(p, &h, sizeof h);
    for (size_t off = AS_SEG_HEADER_BYTES; off + AS_REC_HEADER_BYTES <= n;) {
        as_rec_header r;
        memcpy(&r, p + off, sizeof r);
        if (r.value_len > n - off - AS_REC_HEADER_BYTES)
            break;
        r.checksum = XXH3_64bits(p + off + 8, AS_REC_HEADER_BYTES - 8 + (size_t)r.value_len);
        memcpy(p + off, &r.checksum, 8);
        off += as_rec_bytes(r.value_len);
    }
}

static void fz_write_file(const char *name, const uint8_t *data, size_t size)
{
    char path[1024];
    if (ast_join(path, sizeof path, fz_dir, name))
        abort();
    FILE *f = fopen(path, "wb");
    if (!f)
        abort();
    if (size && fwrite(data, 1, size, f) != size)
        abort();
    fclose(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char magic[8] = {'A', 'L', 'A', 'S', 'S', 'E', 'G', '1'};
    static uint8_t fixed[1 << 20];
    int fix = size % 2 == 1 && size <= sizeof fixed;
    if (fix) {
        memcpy(fixed, data, size);
        data = fixed;
    }
    ast_clear_dir(fz_dir);
    size_t start = 0, nseg = 0;
    for (size_t i = 1; i + 8 <= size && nseg + 1 < FZ_MAX_SEGS; i++) {
        if (memcmp(data + i, magic, 8) != 0)
            continue;
        char name[64];
        snprintf(name, sizeof name, "seg-%06zu.log", ++nseg);
        if (fix)
            fz_fix_checksums(fixed + start, i - start, nseg);
        fz_write_file(name, data + start, i - start);
        start = i;
    }
    char name[64];
    snprintf(name, sizeof name, "seg-%06zu.log", ++nseg);
    if (fix)
        fz_fix_checksums(fixed + start, size - start, nseg);
    fz_write_file(name, data + start, size - start);

    as_options o;
    as_options_default(&o);
    o.create_if_missing = 0;
    o.read_only = 1;
    o.map_chunk_bytes = 64u << 10;
    o.segment_bytes = 1u << 20;
    as_db *db = NULL;
    char err[1024];
    uint64_t before = ast_dir_hash(fz_dir);
    if (as_open(fz_dir, &o, &db, err, sizeof err) == AS_OK) {
        fz_read_all(db, 0);
        as_close(db);
    } else if (db != NULL) {
        abort(); /* a failed open leaves nothing to close */
    }
    if (ast_dir_hash(fz_dir) != before)
        abort(); /* read-only open wrote */
    o.read_only = 0;
    db = NULL;
    if (as_open(fz_dir, &o, &db, err, sizeof err) == AS_OK) {
        fz_read_all(db, 1);
        as_close(db);
    }
    return 0;
}
