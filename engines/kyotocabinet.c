/* kyotocabinet.c - Kyoto Cabinet engine (C API, libkyotocabinet 1.2): the file B+ tree `TreeDB` (.kct),
 * tuned through the path string; a hard transaction per write at sync. */
#include "engine.h"

#include <kclangc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct kc_engine {
    kv_engine base;
    KCDB *db;
    char dir[4096];
    char path[4600]; /* file name + #tuning parameters, as kcdbopen takes them */
    enum kv_durability durability;
    uint64_t bnum, psiz, pccap, msiz;
    int linear; /* opts=l: linear collision chaining in the page hash */
} kc_engine;

typedef struct kc_session {
    kv_session base;
    char *buf; /* the last get's value (kcdbgetbuf copies into it), grown on demand */
    size_t cap;
} kc_session;

#define KC_ROW_OVERHEAD 40 /* per-record key + page overhead for ~100-byte values */
#define KC_MIN_CACHE (64ull << 20)

static const kv_option_spec kv_kc_options[] = {
    {"pccap", "page cache bytes (K/M/G); default memory budget, else 1.5 x the data set, min 64M"},
    {"psiz", "B+ tree page size in bytes (K/M/G); default 8K (Kyoto Cabinet's own)"},
    {"bnum", "buckets of the page hash table; default pages of the data set x 2, min 64K"},
    {"msiz", "bytes of the file mapped into memory (K/M/G); default 1.5 x the data set, min 64M"},
    {"linear", "1: opts=l, linear collision chaining (less memory, slower); 0: tree chaining (default)"},
    {NULL, NULL},
};

/* KCVERSION is a variable inside libkyotocabinet, so this is the library that runs. */
static const char *kv_kc_lib_version(void) { return KCVERSION; }

static int kv_kc_status(int32_t code, const char *msg)
{
    if (msg && (strstr(msg, "No space") || strstr(msg, "ENOSPC")))
        return KV_ENOSPC;
    switch (code) {
    case KCEINVALID: case KCENOIMPL: return KV_EINVAL;
    case KCEBROKEN: return KV_ECORRUPT;
    case KCENOPERM: case KCESYSTEM: return KV_EIO;
    default: return KV_EIO;
    }
}

static int kv_kc_err(KCDB *db, char *err, size_t errlen, const char *what)
{
    int32_t code = kcdbecode(db);
    const char *msg = kcdbemsg(db);
    return kv_seterr(err, errlen, kv_kc_status(code, msg), "kyotocabinet: %s: %s (%s)", what, kcecodename(code),
                     msg ? msg : "no detail");
}

static int kv_kc_parse(const kv_config *cfg, kc_engine *k, char *err, size_t errlen)
{
    uint64_t data = kv_data_bytes(cfg, KC_ROW_OVERHEAD);
    k->pccap = kv_cache_bytes(cfg, KC_ROW_OVERHEAD, KC_MIN_CACHE);
    k->msiz = data + data / 2 < KC_MIN_CACHE ? KC_MIN_CACHE : data + data / 2;
    k->psiz = 8192;
    int rc = kv_config_opt_u64(cfg, "psiz", &k->psiz, err, errlen);
    if (rc != KV_OK)
        return rc;
    if (k->psiz < 256 || k->psiz > (1u << 24))
        return kv_seterr(err, errlen, KV_EINVAL, "kyotocabinet: psiz must be 256..16M");
    k->bnum = 2 * (data / k->psiz + 1);
    if (k->bnum < 65536)
        k->bnum = 65536;
    rc = kv_config_opt_u64(cfg, "pccap", &k->pccap, err, errlen);
    if (rc == KV_OK) rc = kv_config_opt_u64(cfg, "bnum", &k->bnum, err, errlen);
    if (rc == KV_OK) rc = kv_config_opt_u64(cfg, "msiz", &k->msiz, err, errlen);
    if (rc == KV_OK) rc = kv_config_opt_bool(cfg, "linear", &k->linear, err, errlen);
    if (rc != KV_OK)
        return rc;
    if (k->pccap < (1u << 20) || k->bnum < 1 || k->bnum > (1ull << 40) || k->msiz > (1ull << 44))
        return kv_seterr(err, errlen, KV_EINVAL, "kyotocabinet: pccap >= 1M, bnum 1..2^40, msiz <= 16T");
    return KV_OK;
}

static int kv_kc_close(kv_engine *e)
{
    kc_engine *k = (kc_engine *)e;
    int rc = KV_OK;
    if (k->db) {
        /* close writes the cached dirty pages; at sync levels every write is already on disk */
        if (!kcdbclose(k->db))
            rc = kv_kc_err(k->db, e->err, sizeof(e->err), "close");
        kcdbdel(k->db);
    }
    free(k);
    return rc;
}

static int kv_kc_open(const kv_config *cfg, kv_engine **out, char *err, size_t errlen)
{
    kc_engine *k = calloc(1, sizeof(*k));
    if (!k)
        return kv_seterr(err, errlen, KV_ENOMEM, "kyotocabinet: out of memory");
    int rc = kv_kc_parse(cfg, k, err, errlen);
    if (rc != KV_OK) {
        free(k);
        return rc;
    }
    if (strchr(cfg->dir, '#')) { /* '#' starts the tuning parameters inside a Kyoto Cabinet path */
        free(k);
        return kv_seterr(err, errlen, KV_EINVAL, "kyotocabinet: data directory %s contains '#', which Kyoto "
                                                 "Cabinet reads as a tuning parameter: use another --dir", cfg->dir);
    }
    k->durability = cfg->durability;
    snprintf(k->dir, sizeof(k->dir), "%s", cfg->dir);
    snprintf(k->path, sizeof(k->path), "%s/kv.kct#bnum=%llu#psiz=%llu#pccap=%llu#msiz=%llu#rcomp=lex%s", cfg->dir,
             (unsigned long long)k->bnum, (unsigned long long)k->psiz, (unsigned long long)k->pccap,
             (unsigned long long)k->msiz, k->linear ? "#opts=l" : "");
    k->db = kcdbnew();
    if (!k->db) {
        free(k);
        return kv_seterr(err, errlen, KV_ENOMEM, "kyotocabinet: out of memory");
    }
    if (!kcdbopen(k->db, k->path, KCOWRITER | KCOCREATE)) {
        char what[4700];
        snprintf(what, sizeof(what), "open %s", k->path);
        rc = kv_kc_err(k->db, err, errlen, what);
        kcdbdel(k->db);
        free(k);
        return rc;
    }
    *out = &k->base;
    return KV_OK;
}

static void kv_kc_describe(kv_engine *e, kv_pair_cb cb, void *arg)
{
    kc_engine *k = (kc_engine *)e;
    cb(arg, "path", k->path);
    kv_describe_u64(cb, arg, "bnum", k->bnum);
    kv_describe_u64(cb, arg, "psiz", k->psiz);
    kv_describe_u64(cb, arg, "pccap", k->pccap);
    kv_describe_u64(cb, arg, "msiz", k->msiz);
    cb(arg, "opts", k->linear ? "l (linear chaining)" : "none (tree chaining, no compression)");
    cb(arg, "compression", "none (values are incompressible)");
    cb(arg, "key_encoding", "8-byte big-endian, sign bit flipped, rcomp=lex");
    cb(arg, "open_mode", "KCOWRITER|KCOCREATE");
    cb(arg, "get", "kcdbgetbuf: copied into a session buffer");
    cb(arg, "durability", k->durability == KV_DUR_NONE
                              ? "none: no transaction; dirty pages stay in the page cache until close"
                              : "sync: kcdbbegintran(hard)/kcdbendtran per put/del (WAL + fsync)");
    cb(arg, "group_commit", "n/a (one transaction at a time)");
}

static void kv_kc_stats(kv_engine *e, kv_pair_cb cb, void *arg)
{
    kc_engine *k = (kc_engine *)e;
    char *st = kcdbstatus(k->db); /* "name\tvalue\n" lines */
    if (!st)
        return;
    char *save = NULL;
    for (char *line = strtok_r(st, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *tab = strchr(line, '\t');
        if (!tab || tab == line)
            continue;
        *tab = '\0';
        if (strcmp(line, "path") != 0) /* the path is in describe() already */
            cb(arg, line, tab + 1);
    }
    kcfree(st);
}

static int kv_kc_session_open(kv_engine *e, kv_session **out)
{
    kc_session *s = calloc(1, sizeof(*s));
    if (s) {
        s->cap = 256;
        s->buf = malloc(s->cap);
    }
    if (!s || !s->buf) {
        free(s);
        return kv_seterr(e->err, sizeof(e->err), KV_ENOMEM, "kyotocabinet: out of memory");
    }
    s->base.engine = e;
    *out = &s->base;
    return KV_OK;
}

static void kv_kc_session_close(kv_session *ss)
{
    kc_session *s = (kc_session *)ss;
    free(s->buf);
    free(s);
}

static int kv_kc_get(kv_session *ss, int64_t key, kv_slice *val)
{
    kc_session *s = (kc_session *)ss;
    kc_engine *k = (kc_engine *)ss->engine;
    char kb[8];
    kv_key_be_encode((unsigned char *)kb, key);
    for (;;) {
        int32_t n = kcdbgetbuf(k->db, kb, 8, s->buf, s->cap);
        if (n < 0)
            return kcdbecode(k->db) == KCENOREC ? KV_NOTFOUND : kv_kc_err(k->db, ss->err, sizeof(ss->err), "get");
        if ((size_t)n <= s->cap) {
            val->data = n ? (const void *)s->buf : (const void *)"";
            val->len = (size_t)n;
            return KV_OK;
        }
        size_t cap = s->cap; /* the value was cut at cap bytes: grow and read it again */
        while (cap < (size_t)n)
            cap *= 2;
        char *p = realloc(s->buf, cap);
        if (!p)
            return kv_seterr(ss->err, sizeof(ss->err), KV_ENOMEM, "kyotocabinet: out of memory for a %d-byte value", n);
        s->buf = p;
        s->cap = cap;
    }
}

/* At sync levels each write is one hard transaction: its WAL and the file are fsync'd at commit. */
static int kv_kc_write(kv_session *ss, int64_t key, const void *val, size_t len, int is_del)
{
    kc_engine *k = (kc_engine *)ss->engine;
    char kb[8];
    kv_key_be_encode((unsigned char *)kb, key);
    int tran = k->durability != KV_DUR_NONE;
    if (tran && !kcdbbegintran(k->db, 1))
        return kv_kc_err(k->db, ss->err, sizeof(ss->err), "begin transaction");
    int ok = is_del ? kcdbremove(k->db, kb, 8) || kcdbecode(k->db) == KCENOREC
                    : kcdbset(k->db, kb, 8, len ? (const char *)val : "", len);
    int rc = ok ? KV_OK : kv_kc_err(k->db, ss->err, sizeof(ss->err), is_del ? "del" : "put");
    if (tran && !kcdbendtran(k->db, ok) && rc == KV_OK)
        rc = kv_kc_err(k->db, ss->err, sizeof(ss->err), "commit transaction");
    return rc;
}

static int kv_kc_put(kv_session *ss, int64_t key, const void *val, size_t len)
{
    return kv_kc_write(ss, key, val, len, 0);
}

static int kv_kc_del(kv_session *ss, int64_t key) { return kv_kc_write(ss, key, NULL, 0, 1); }

static int kv_kc_scan(kv_session *ss, int64_t from, size_t count, kv_scan_cb cb, void *arg, size_t *visited)
{
    kc_engine *k = (kc_engine *)ss->engine;
    *visited = 0;
    if (count == 0)
        return KV_OK;
    KCCUR *cur = kcdbcursor(k->db);
    if (!cur)
        return kv_kc_err(k->db, ss->err, sizeof(ss->err), "scan: cursor");
    char kb[8];
    kv_key_be_encode((unsigned char *)kb, from);
    int rc = KV_OK;
    if (kccurjumpkey(cur, kb, 8)) { /* TreeDB: the first record >= kb */
        while (*visited < count) {
            size_t ks = 0, vs = 0;
            const char *vp = NULL;
            char *kp = kccurget(cur, &ks, &vp, &vs, 1);
            if (!kp)
                break;
            int stop = 0;
            if (ks != 8)
                rc = kv_seterr(ss->err, sizeof(ss->err), KV_ECORRUPT, "kyotocabinet: scan: key of %zu bytes", ks);
            else {
                (*visited)++;
                stop = cb(arg, kv_key_be_decode(kp), (kv_slice){vs ? (const void *)vp : (const void *)"", vs});
            }
            kcfree(kp);
            if (rc != KV_OK || stop)
                break;
        }
    }
    if (rc == KV_OK && *visited < count && kccurecode(cur) != KCENOREC && kccurecode(cur) != KCESUCCESS)
        rc = kv_seterr(ss->err, sizeof(ss->err), KV_EIO, "kyotocabinet: scan: %s (%s)", kcecodename(kccurecode(cur)),
                       kccuremsg(cur));
    kccurdel(cur);
    return rc;
}

static int kv_kc_sync(kv_session *ss)
{
    kc_engine *k = (kc_engine *)ss->engine;
    if (!kcdbsync(k->db, 1, NULL, NULL))
        return kv_kc_err(k->db, ss->err, sizeof(ss->err), "sync(hard)");
    return KV_OK;
}

static int kv_kc_disk_bytes(kv_engine *e, uint64_t *bytes)
{
    kc_engine *k = (kc_engine *)e;
    *bytes = 0;
    if (kv_dir_bytes(k->dir, bytes) != KV_OK)
        return kv_seterr(e->err, sizeof(e->err), KV_EIO, "kyotocabinet: cannot measure %s", k->dir);
    return KV_OK;
}

const kv_engine_ops kv_kyotocabinet_ops = {
    .abi_version = KV_ENGINE_ABI,
    .struct_size = sizeof(kv_engine_ops),
    .name = "kyotocabinet",
    .description = "Kyoto Cabinet TreeDB: file B+ tree, page cache and file map sized to the data set",
    .caps = KV_CAP_SCAN | KV_CAP_THREADS | KV_CAP_PERSISTENT | KV_CAP_DUR_NONE | KV_CAP_DUR_SYNC,
    .options = kv_kc_options,
    .lib_version = kv_kc_lib_version,
    .open = kv_kc_open,
    .close = kv_kc_close,
    .describe = kv_kc_describe,
    .session_open = kv_kc_session_open,
    .session_close = kv_kc_session_close,
    .get = kv_kc_get,
    .put = kv_kc_put,
    .del = kv_kc_del,
    .scan = kv_kc_scan,
    .sync = kv_kc_sync,
    .stats = kv_kc_stats,
    .disk_bytes = kv_kc_disk_bytes,
};
