/* seedgen.c - writes the fuzz seed corpora (tests/fuzz/corpus/<target>/) from real AlexStorage stores.
 * Build and run: make fuzz-corpus  (re-run after an on-disk format change). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alexstorage.h"
#include "fuzz_store.h"

static void die(const char *what, int rc, const char *msg)
{
    fprintf(stderr, "seedgen: %s: %s: %s\n", what, as_strerror(rc), msg ? msg : "");
    exit(1);
}

/* Build a store in dir: n writes over `keys` keys, values of 8..maxlen bytes, every 5th a delete. */
static void build(const char *dir, int n, int keys, uint32_t maxlen, uint64_t seg_bytes)
{
    as_options o;
    as_options_default(&o);
    o.map_chunk_bytes = 64u << 10;
    if (seg_bytes)
        o.segment_bytes = seg_bytes;
    as_db *db;
    char err[512];
    int rc = as_open(dir, &o, &db, err, sizeof err);
    if (rc != AS_OK)
        die("open", rc, err);
    as_session *s;
    if (as_session_open(db, &s) != AS_OK)
        die("session", AS_ENOMEM, NULL);
    uint64_t r = 7;
    unsigned char v[4096];
    for (int i = 0; i < n; i++) {
        int64_t key = (int64_t)ast_below(&r, (uint64_t)keys) - keys / 4;
        if (i % 5 == 4) {
            rc = as_del(s, key);
        } else {
            uint32_t len = 8 + (uint32_t)ast_below(&r, maxlen - 7);
            for (uint32_t j = 0; j < len; j++)
                v[j] = (unsigned char)(key + j);
            rc = as_put(s, key, v, len);
        }
        if (rc != AS_OK)
            die("write", rc, as_session_errmsg(s));
    }
    as_session_close(s);
    if ((rc = as_close(db)) != AS_OK)
        die("close", rc, NULL);
}

/* Concatenate the files of dir whose name starts with prefix into out (sorted by name). */
static void concat(const char *dir, const char *prefix, const char *out, long cut)
{
    ast_file f[64];
    int n = ast_list_files(dir, f, 64);
    FILE *o = fopen(out, "wb");
    if (!o)
        die(out, AS_EIO, "fopen");
    static unsigned char buf[1 << 20];
    size_t total = 0;
    for (int i = 0; i < n; i++) {
        if (strncmp(f[i].name, prefix, strlen(prefix)) != 0)
            continue;
        char p[1200];
        if (ast_join(p, sizeof p, dir, f[i].name))
            continue;
        FILE *in = fopen(p, "rb");
        size_t r;
        while (in && (r = fread(buf, 1, sizeof buf, in)) > 0) {
            fwrite(buf, 1, r, o);
            total += r;
        }
        if (in)
            fclose(in);
    }
    fclose(o);
    if (cut > 0 && (size_t)cut < total && truncate(out, (off_t)(total - (size_t)cut)) != 0)
        die(out, AS_EIO, "truncate");
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: seedgen <corpus root, e.g. tests/fuzz/corpus>\n");
        return 2;
    }
    char seg[1024], ck[1024], dir[512], out[1200];
    snprintf(seg, sizeof seg, "%s/fuzz_segment", argv[1]);
    snprintf(ck, sizeof ck, "%s/fuzz_checkpoint", argv[1]);
    mkdir(argv[1], 0755);
    mkdir(seg, 0755);
    mkdir(ck, 0755);
    struct {
        const char *name;
        int n, keys;
        uint32_t maxlen;
        uint64_t seg_bytes;
        long cut;
    } sp[] = {
        {"empty", 0, 1, 16, 0, 0},          {"few", 6, 100, 40, 0, 0},
        {"updates", 40, 8, 120, 0, 0},      {"multiseg", 60, 30, 300, 4096, 0},
        {"torn", 12, 50, 64, 0, 5},         {"bigval", 4, 4, 3000, 0, 0},
    };
    for (size_t i = 0; i < sizeof sp / sizeof sp[0]; i++) {
        if (ast_tmpdir(dir, sizeof dir, "seedgen") != 0)
            die("mkdtemp", AS_EIO, NULL);
        build(dir, sp[i].n, sp[i].keys, sp[i].maxlen, sp[i].seg_bytes);
        snprintf(out, sizeof out, "%s/%s", seg, sp[i].name);
        concat(dir, "seg-", out, sp[i].cut);
        ast_rmtree(dir);
    }
    /* checkpoint seeds: the CHECKPOINT of the store fuzz_checkpoint pairs them with, as written (even
     * length: used raw) and with one byte more (odd length: the fuzzer recomputes its checksums) */
    if (ast_tmpdir(dir, sizeof dir, "seedgen") != 0 || fz_build_store(dir) != AS_OK)
        die("fuzz store", AS_EIO, dir);
    snprintf(out, sizeof out, "%s/valid", ck);
    concat(dir, "CHECKPOINT", out, 0);
    snprintf(out, sizeof out, "%s/valid_plus_one", ck);
    concat(dir, "CHECKPOINT", out, 0);
    FILE *f = fopen(out, "ab");
    if (!f || fputc(0, f) == EOF)
        die(out, AS_EIO, "append");
    fclose(f);
    ast_rmtree(dir);
    return 0;
}
