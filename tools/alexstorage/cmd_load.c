/* cmd_load.c - `alexstorage load DIR FILE`: bulk load a dump (either format of dump_format.h) into a
 * new or empty store. */
#include "dump_format.h"
#include "tool.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int load_run(int argc, char **argv);

const tool_cmd tool_cmd_load = {
    "load",
    "bulk load a dump file into a new or empty store",
    "alexstorage load DIR FILE\n"
    "  Reads FILE (text or binary, as written by `alexstorage dump`; keys strictly increasing) and bulk\n"
    "  loads it into DIR, which must be a new directory, an empty one, or a store holding no keys.\n",
    load_run,
};

typedef struct load_set {
    unsigned char *file;  /* the whole file; binary values point into it */
    size_t bytes;
    int64_t *keys;
    const unsigned char **vals;
    size_t *lens;
    size_t n, cap;
    unsigned char *hexbuf; /* decoded text values, all of them */
} load_set;

static int load_push(load_set *ls, int64_t key, const unsigned char *v, size_t len)
{
    if (ls->n == ls->cap) {
        size_t cap = ls->cap ? 2 * ls->cap : 1024;
        int64_t *k = realloc(ls->keys, cap * sizeof(*k));
        if (k)
            ls->keys = k;
        const unsigned char **vv = k ? realloc(ls->vals, cap * sizeof(*vv)) : NULL;
        if (vv)
            ls->vals = vv;
        size_t *l = vv ? realloc(ls->lens, cap * sizeof(*l)) : NULL;
        if (!l)
            return -1;
        ls->lens = l;
        ls->cap = cap;
    }
    ls->keys[ls->n] = key;
    ls->vals[ls->n] = v;
    ls->lens[ls->n++] = len;
    return 0;
}

static int load_read_file(load_set *ls, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "alexstorage load: cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    size_t cap = 1 << 16;
    ls->file = malloc(cap + 1);
    size_t got;
    while (ls->file && (got = fread(ls->file + ls->bytes, 1, cap - ls->bytes, f)) > 0) {
        ls->bytes += got;
        if (ls->bytes == cap) {
            unsigned char *p = realloc(ls->file, 2 * cap + 1);
            if (!p) {
                free(ls->file);
                ls->file = NULL;
            }
            ls->file = p;
            cap *= 2;
        }
    }
    int err = ferror(f);
    fclose(f);
    if (!ls->file || err) {
        fprintf(stderr, "alexstorage load: %s: %s\n", path, err ? "read error" : "out of memory");
        return -1;
    }
    ls->file[ls->bytes] = 0;
    return 0;
}

static int load_parse_binary(load_set *ls, const char *path)
{
    size_t off = DUMP_BIN_MAGIC_BYTES;
    while (off < ls->bytes) {
        int64_t key;
        uint32_t len;
        if (ls->bytes - off < 12) {
            fprintf(stderr, "alexstorage load: %s offset %zu: truncated record header\n", path, off);
            return -1;
        }
        memcpy(&key, ls->file + off, 8);
        memcpy(&len, ls->file + off + 8, 4);
        if (ls->bytes - off - 12 < len) {
            fprintf(stderr, "alexstorage load: %s offset %zu: value of %u bytes runs past the end\n", path, off, len);
            return -1;
        }
        if (load_push(ls, key, ls->file + off + 12, len) != 0)
            return -1;
        off += 12 + (size_t)len;
    }
    return 0;
}

static int hexval(int c) { return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1; }

static int load_parse_text(load_set *ls, const char *path)
{
    ls->hexbuf = malloc(ls->bytes / 2 + 1);
    if (!ls->hexbuf)
        return -1;
    size_t out = 0, line = 1;
    char *p = (char *)ls->file + strlen(DUMP_TEXT_HEADER);
    while (*p) {
        line++;
        char *tab = strchr(p, '\t'), *nl = strchr(p, '\n');
        if (!nl)
            nl = p + strlen(p);
        int64_t key;
        if (!tab || tab > nl || (*tab = 0, tool_parse_i64(p, &key) != 0)) {
            fprintf(stderr, "alexstorage load: %s line %zu: want KEY<TAB>HEXVALUE\n", path, line);
            return -1;
        }
        const unsigned char *v = ls->hexbuf + out;
        for (char *h = tab + 1; h < nl; h += 2) {
            int hi = hexval(h[0]), lo = h + 1 < nl ? hexval(h[1]) : -1;
            if (hi < 0 || lo < 0) {
                fprintf(stderr, "alexstorage load: %s line %zu: value is not lowercase hex\n", path, line);
                return -1;
            }
            ls->hexbuf[out++] = (unsigned char)(hi << 4 | lo);
        }
        if (load_push(ls, key, v, (size_t)(ls->hexbuf + out - v)) != 0)
            return -1;
        p = *nl ? nl + 1 : nl;
    }
    return 0;
}

static const void *load_value(void *arg, int64_t key, size_t *len)
{
    const load_set *ls = arg;
    size_t lo = 0, hi = ls->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (ls->keys[mid] < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    *len = ls->lens[lo];
    return ls->vals[lo];
}

static void load_free(load_set *ls)
{
    free(ls->file);
    free(ls->keys);
    free(ls->vals);
    free(ls->lens);
    free(ls->hexbuf);
}

static int load_parse(load_set *ls, const char *path)
{
    if (load_read_file(ls, path) != 0)
        return -1;
    int rc;
    if (ls->bytes >= DUMP_BIN_MAGIC_BYTES && memcmp(ls->file, DUMP_BIN_MAGIC, DUMP_BIN_MAGIC_BYTES) == 0) {
        rc = load_parse_binary(ls, path);
    } else if (strncmp((char *)ls->file, DUMP_TEXT_HEADER, strlen(DUMP_TEXT_HEADER)) == 0) {
        rc = load_parse_text(ls, path);
    } else {
        fprintf(stderr, "alexstorage load: %s is not an alexstorage dump (no \"%.21s\" or binary magic)\n", path,
                DUMP_TEXT_HEADER);
        return -1;
    }
    for (size_t i = 1; rc == 0 && i < ls->n; i++)
        if (ls->keys[i] <= ls->keys[i - 1]) {
            fprintf(stderr, "alexstorage load: %s: record %zu: key %lld after %lld (keys must increase)\n", path,
                    i + 1, (long long)ls->keys[i], (long long)ls->keys[i - 1]);
            rc = -1;
        }
    return rc;
}

static int load_run(int argc, char **argv)
{
    if (argc < 3)
        return tool_usage_error(&tool_cmd_load, "missing argument %s", argc < 2 ? "DIR" : "FILE");
    if (argc > 3)
        return tool_usage_error(&tool_cmd_load, "unexpected argument '%s'", argv[3]);
    const char *dir = argv[1];
    if (!tool_is_fresh_dir(dir) && !tool_is_store(dir))
        return tool_usage_error(&tool_cmd_load, "%s is neither a store nor an empty directory", dir);
    load_set ls = {0};
    if (load_parse(&ls, argv[2]) != 0) {
        load_free(&ls);
        return TOOL_FAIL;
    }
    as_db *db;
    as_session *s;
    int rc = tool_open(dir, 0, &db, &s);
    if (rc == TOOL_OK) {
        int arc = as_bulk_load(s, ls.keys, ls.n, load_value, &ls);
        if (arc != AS_OK) {
            fprintf(stderr, "alexstorage load: %s: %s\n", as_strerror(arc), as_session_errmsg(s));
            rc = TOOL_FAIL;
        }
        int crc = tool_close(db, s);
        if (rc == TOOL_OK && crc == TOOL_OK)
            printf("loaded %zu records into %s\n", ls.n, dir);
        rc = rc != TOOL_OK ? rc : crc;
    }
    load_free(&ls);
    return rc;
}
