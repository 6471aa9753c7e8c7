/* tkrzw.c - Tkrzw engines (C API, libtkrzw 1.0): the B+ tree `TreeDBM` (`tkrzw`, ordered, big-endian keys)
 * and the hash table `HashDBM` (`tkrzw-hash`, no scan), both on a memory-mapped file. */
#include "engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tkrzw_langc.h>

typedef struct tkrzw_engine {
    kv_engine base;
    TkrzwDBM *dbm;
    int hash; /* 1: HashDBM, 0: TreeDBM */
    char dir[4096];
    char path[4200];
    char params[512];
    enum kv_durability durability;
    uint64_t cached_pages, page_size, buckets;
    int mmap;
    int append; /* HashDBM update_mode=UPDATE_APPENDING */
} tkrzw_engine;

typedef struct tkrzw_session {
    kv_session base;
    unsigned char *buf; /* the last get's value, copied out inside the record callback */
    size_t cap, len;
    int found, oom;
} tkrzw_session;

#define TKRZW_ROW_OVERHEAD 40 /* per-record key + page overhead for ~100-byte values */

static const kv_option_spec kv_tkrzw_options[] = {
    {"cached_pages", "tkrzw (TreeDBM): B+ tree pages kept in its page cache; default the data set x 1.5 / "
                     "page_size, min 10000"},
    {"page_size", "tkrzw (TreeDBM): max_page_size in bytes (K/M/G); default 8K (Tkrzw's own)"},
    {"buckets", "tkrzw-hash (HashDBM): hash buckets; default 2 x expected keys, min 1M"},
    {"append", "tkrzw-hash (HashDBM): 1: update_mode=UPDATE_APPENDING; 0: update in place (default)"},
    {"mmap", "1: MemoryMapParallelFile (Tkrzw default); 0: PositionalParallelFile (pread/pwrite)"},
    {NULL, NULL},
};

/* TKRZW_PACKAGE_VERSION is a variable inside libtkrzw, so this is the library that runs. */
static const char *kv_tkrzw_lib_version(void) { return TKRZW_PACKAGE_VERSION; }

static int kv_tkrzw_status(int32_t code)
{
    switch (code) {
    case TKRZW_STATUS_SUCCESS: return KV_OK;
    case TKRZW_STATUS_NOT_FOUND_ERROR: return KV_NOTFOUND;
    case TKRZW_STATUS_INVALID_ARGUMENT_ERROR: case TKRZW_STATUS_NOT_IMPLEMENTED_ERROR:
        return KV_EINVAL;
    case TKRZW_STATUS_BROKEN_DATA_ERROR: return KV_ECORRUPT;
    case TKRZW_STATUS_INFEASIBLE_ERROR: return KV_EBUSY;
    default: return KV_EIO;
    }
}

/* The last status is per thread inside the C API: read it right after the failing call. */
static int kv_tkrzw_err(char *err, size_t errlen, const char *what)
{
    int32_t code = tkrzw_get_last_status_code();
    const char *msg = tkrzw_get_last_status_message();
    int st = kv_tkrzw_status(code);
    if (st == KV_OK || st == KV_NOTFOUND)
        st = KV_EIO;
    if (msg && (strstr(msg, "No space") || strstr(msg, "ENOSPC")))
        st = KV_ENOSPC;
    return kv_seterr(err, errlen, st, "tkrzw: %s: %s (%s)", what, tkrzw_status_code_name(code),
                     msg && msg[0] ? msg : "no detail");
}

static int kv_tkrzw_parse(const kv_config *cfg, tkrzw_engine *t, char *err, size_t errlen)
{
    uint64_t data = kv_data_bytes(cfg, TKRZW_ROW_OVERHEAD);
    t->page_size = 8192;
    t->mmap = 1;
    int rc = kv_config_opt_u64(cfg, "page_size", &t->page_size, err, errlen);
    if (rc == KV_OK && (t->page_size < 512 || t->page_size > (1u << 24)))
        rc = kv_seterr(err, errlen, KV_EINVAL, "tkrzw: page_size must be 512..16M");
    if (rc != KV_OK)
        return rc;
    t->cached_pages = (cfg->memory_budget ? cfg->memory_budget : data + data / 2) / t->page_size;
    if (t->cached_pages < 10000)
        t->cached_pages = 10000;
    t->buckets = 2 * cfg->expected_keys;
    if (t->buckets < (1u << 20))
        t->buckets = 1u << 20;
    rc = kv_config_opt_u64(cfg, "cached_pages", &t->cached_pages, err, errlen);
    if (rc == KV_OK) rc = kv_config_opt_u64(cfg, "buckets", &t->buckets, err, errlen);
    if (rc == KV_OK) rc = kv_config_opt_bool(cfg, "append", &t->append, err, errlen);
    if (rc == KV_OK) rc = kv_config_opt_bool(cfg, "mmap", &t->mmap, err, errlen);
    if (rc != KV_OK)
        return rc;
    int tree_only = kv_config_opt(cfg, "cached_pages") || kv_config_opt(cfg, "page_size");
    int hash_only = kv_config_opt(cfg, "buckets") || kv_config_opt(cfg, "append");
    if ((t->hash && tree_only) || (!t->hash && hash_only))
        return kv_seterr(err, errlen, KV_EINVAL, "tkrzw: cached_pages and page_size apply to tkrzw (TreeDBM), "
                                                 "buckets and append to tkrzw-hash (HashDBM)");
    if (t->cached_pages < 1 || t->cached_pages > (1ull << 31) || t->buckets < 1 || t->buckets > (1ull << 40))
        return kv_seterr(err, errlen, KV_EINVAL, "tkrzw: cached_pages 1..2^31, buckets 1..2^40");
    return KV_OK;
}

static int kv_tkrzw_close(kv_engine *e)
{
    tkrzw_engine *t = (tkrzw_engine *)e;
    int rc = KV_OK;
    /* close writes the dirty pages of its cache and the header; sync_hard (at sync levels) fsyncs them */
    if (t->dbm && !tkrzw_dbm_close(t->dbm))
        rc = kv_tkrzw_err(e->err, sizeof(e->err), "close");
    free(t);
    return rc;
}

static int kv_tkrzw_open_common(const kv_config *cfg, int hash, kv_engine **out, char *err, size_t errlen)
{
    tkrzw_engine *t = calloc(1, sizeof(*t));
    if (!t)
        return kv_seterr(err, errlen, KV_ENOMEM, "tkrzw: out of memory");
    t->hash = hash;
    int rc = kv_tkrzw_parse(cfg, t, err, errlen);
    if (rc != KV_OK) {
        free(t);
        return rc;
    }
    t->durability = cfg->durability;
    snprintf(t->dir, sizeof(t->dir), "%s", cfg->dir);
    snprintf(t->path, sizeof(t->path), "%s/%s", cfg->dir, hash ? "kv.tkh" : "kv.tkt");
    const char *file = t->mmap ? "MemoryMapParallelFile" : "PositionalParallelFile";
    const char *hard = cfg->durability == KV_DUR_NONE ? "false" : "true";
    if (hash)
        snprintf(t->params, sizeof(t->params),
                 "dbm=HashDBM,file=%s,num_buckets=%llu,update_mode=%s,record_comp_mode=NONE,sync_hard=%s",
                 file, (unsigned long long)t->buckets, t->append ? "UPDATE_APPENDING" : "UPDATE_IN_PLACE", hard);
    else
        snprintf(t->params, sizeof(t->params),
                 "dbm=TreeDBM,file=%s,max_page_size=%llu,max_cached_pages=%llu,key_comparator=LexicalKeyComparator,"
                 "record_comp_mode=NONE,sync_hard=%s",
                 file, (unsigned long long)t->page_size, (unsigned long long)t->cached_pages, hard);
    t->dbm = tkrzw_dbm_open(t->path, true, t->params);
    if (!t->dbm) {
        char what[4300];
        snprintf(what, sizeof(what), "open %s", t->path);
        rc = kv_tkrzw_err(err, errlen, what);
        free(t);
        return rc;
    }
    *out = &t->base;
    return KV_OK;
}

static int kv_tkrzw_tree_open(const kv_config *cfg, kv_engine **out, char *err, size_t errlen)
{
    return kv_tkrzw_open_common(cfg, 0, out, err, errlen);
}

static int kv_tkrzw_hash_open(const kv_config *cfg, kv_engine **out, char *err, size_t errlen)
{
    return kv_tkrzw_open_common(cfg, 1, out, err, errlen);
}

static void kv_tkrzw_describe(kv_engine *e, kv_pair_cb cb, void *arg)
{
    tkrzw_engine *t = (tkrzw_engine *)e;
    cb(arg, "open_params", t->params);
    if (t->hash) {
        kv_describe_u64(cb, arg, "num_buckets", t->buckets);
        cb(arg, "update_mode", t->append ? "UPDATE_APPENDING" : "UPDATE_IN_PLACE");
        cb(arg, "key_encoding", "8-byte big-endian, sign bit flipped (hashed: order is not kept)");
    } else {
        kv_describe_u64(cb, arg, "max_page_size", t->page_size);
        kv_describe_u64(cb, arg, "max_cached_pages", t->cached_pages);
        cb(arg, "key_encoding", "8-byte big-endian, sign bit flipped, LexicalKeyComparator");
    }
    cb(arg, "file", t->mmap ? "MemoryMapParallelFile" : "PositionalParallelFile");
    cb(arg, "compression", "none (record_comp_mode=NONE; values are incompressible)");
    cb(arg, "get", "tkrzw_dbm_process: the value is copied into a session buffer inside the callback");
    cb(arg, "durability", t->durability == KV_DUR_NONE
                              ? "none: no synchronize; TreeDBM keeps dirty pages in its own cache until close"
                              : "sync: tkrzw_dbm_synchronize(hard=true) after every put/del");
    cb(arg, "group_commit", "n/a (no group commit in Tkrzw)");
}

static void kv_tkrzw_stats(kv_engine *e, kv_pair_cb cb, void *arg)
{
    tkrzw_engine *t = (tkrzw_engine *)e;
    int32_t n = 0;
    TkrzwKeyValuePair *kv = tkrzw_dbm_inspect(t->dbm, &n);
    if (!kv)
        return;
    for (int32_t i = 0; i < n; i++) {
        char name[128], value[256];
        snprintf(name, sizeof(name), "%.*s", kv[i].key_size, kv[i].key_ptr);
        snprintf(value, sizeof(value), "%.*s", kv[i].value_size, kv[i].value_ptr);
        if (name[0])
            cb(arg, name, value);
    }
    tkrzw_free_str_map(kv, n);
}

static int kv_tkrzw_session_open(kv_engine *e, kv_session **out)
{
    tkrzw_session *s = calloc(1, sizeof(*s));
    if (!s)
        return kv_seterr(e->err, sizeof(e->err), KV_ENOMEM, "tkrzw: out of memory");
    s->base.engine = e;
    *out = &s->base;
    return KV_OK;
}

static void kv_tkrzw_session_close(kv_session *ss)
{
    tkrzw_session *s = (tkrzw_session *)ss;
    free(s->buf);
    free(s);
}

/* Runs under the record's lock: copy the value out and change nothing. */
static const char *kv_tkrzw_copy_value(void *arg, const char *key, int32_t ksize, const char *value,
                                       int32_t vsize, int32_t *new_size)
{
    (void)key, (void)ksize, (void)new_size;
    tkrzw_session *s = arg;
    s->found = value != NULL;
    if (!value)
        return TKRZW_REC_PROC_NOOP;
    size_t n = (size_t)vsize;
    if (n > s->cap) {
        size_t cap = s->cap ? s->cap : 256;
        while (cap < n)
            cap *= 2;
        unsigned char *p = realloc(s->buf, cap);
        if (!p) {
            s->oom = 1;
            return TKRZW_REC_PROC_NOOP;
        }
        s->buf = p;
        s->cap = cap;
    }
    if (n)
        memcpy(s->buf, value, n);
    s->len = n;
    return TKRZW_REC_PROC_NOOP;
}

static int kv_tkrzw_get(kv_session *ss, int64_t key, kv_slice *val)
{
    tkrzw_session *s = (tkrzw_session *)ss;
    tkrzw_engine *t = (tkrzw_engine *)ss->engine;
    unsigned char k[8];
    kv_key_be_encode(k, key);
    s->found = s->oom = 0;
    if (!tkrzw_dbm_process(t->dbm, (const char *)k, 8, kv_tkrzw_copy_value, s, false))
        return kv_tkrzw_err(ss->err, sizeof(ss->err), "get");
    if (s->oom)
        return kv_seterr(ss->err, sizeof(ss->err), KV_ENOMEM, "tkrzw: get: out of memory for the value");
    if (!s->found)
        return KV_NOTFOUND;
    val->data = s->len ? (const void *)s->buf : (const void *)"";
    val->len = s->len;
    return KV_OK;
}

static int kv_tkrzw_after_write(kv_session *ss, const char *what)
{
    tkrzw_engine *t = (tkrzw_engine *)ss->engine;
    if (t->durability != KV_DUR_NONE && !tkrzw_dbm_synchronize(t->dbm, true, NULL, NULL, ""))
        return kv_tkrzw_err(ss->err, sizeof(ss->err), what);
    return KV_OK;
}

static int kv_tkrzw_put(kv_session *ss, int64_t key, const void *val, size_t len)
{
    tkrzw_engine *t = (tkrzw_engine *)ss->engine;
    if (len > INT32_MAX)
        return kv_seterr(ss->err, sizeof(ss->err), KV_EINVAL, "tkrzw: put: value of %zu bytes is too large", len);
    unsigned char k[8];
    kv_key_be_encode(k, key);
    if (!tkrzw_dbm_set(t->dbm, (const char *)k, 8, len ? (const char *)val : "", (int32_t)len, true))
        return kv_tkrzw_err(ss->err, sizeof(ss->err), "put");
    return kv_tkrzw_after_write(ss, "synchronize after put");
}

static int kv_tkrzw_del(kv_session *ss, int64_t key)
{
    tkrzw_engine *t = (tkrzw_engine *)ss->engine;
    unsigned char k[8];
    kv_key_be_encode(k, key);
    if (!tkrzw_dbm_remove(t->dbm, (const char *)k, 8) && tkrzw_get_last_status_code() != TKRZW_STATUS_NOT_FOUND_ERROR)
        return kv_tkrzw_err(ss->err, sizeof(ss->err), "del");
    return kv_tkrzw_after_write(ss, "synchronize after del");
}

static int kv_tkrzw_scan(kv_session *ss, int64_t from, size_t count, kv_scan_cb cb, void *arg, size_t *visited)
{
    tkrzw_engine *t = (tkrzw_engine *)ss->engine;
    *visited = 0;
    if (count == 0)
        return KV_OK;
    unsigned char k[8];
    kv_key_be_encode(k, from);
    TkrzwDBMIter *it = tkrzw_dbm_make_iterator(t->dbm);
    if (!it)
        return kv_tkrzw_err(ss->err, sizeof(ss->err), "scan: make iterator");
    int rc = KV_OK;
    if (!tkrzw_dbm_iter_jump(it, (const char *)k, 8)) /* lower bound on an ordered DBM */
        rc = kv_tkrzw_err(ss->err, sizeof(ss->err), "scan: jump");
    while (rc == KV_OK && *visited < count) {
        char *kp = NULL, *vp = NULL;
        int32_t ks = 0, vs = 0;
        if (!tkrzw_dbm_iter_get(it, &kp, &ks, &vp, &vs)) {
            if (tkrzw_get_last_status_code() != TKRZW_STATUS_NOT_FOUND_ERROR)
                rc = kv_tkrzw_err(ss->err, sizeof(ss->err), "scan: get");
            break; /* NOT_FOUND: past the last record */
        }
        int stop = 0;
        if (ks != 8)
            rc = kv_seterr(ss->err, sizeof(ss->err), KV_ECORRUPT, "tkrzw: scan: key of %d bytes (want 8)", ks);
        else {
            (*visited)++;
            stop = cb(arg, kv_key_be_decode(kp), (kv_slice){vs ? (const void *)vp : (const void *)"", (size_t)vs});
        }
        free(kp);
        free(vp);
        if (rc != KV_OK || stop)
            break;
        if (*visited < count && !tkrzw_dbm_iter_next(it))
            rc = kv_tkrzw_err(ss->err, sizeof(ss->err), "scan: next");
    }
    tkrzw_dbm_iter_free(it);
    return rc;
}

static int kv_tkrzw_sync(kv_session *ss)
{
    tkrzw_engine *t = (tkrzw_engine *)ss->engine;
    if (!tkrzw_dbm_synchronize(t->dbm, true, NULL, NULL, ""))
        return kv_tkrzw_err(ss->err, sizeof(ss->err), "synchronize(hard)");
    return KV_OK;
}

static int kv_tkrzw_disk_bytes(kv_engine *e, uint64_t *bytes)
{
    tkrzw_engine *t = (tkrzw_engine *)e;
    *bytes = 0;
    if (kv_dir_bytes(t->dir, bytes) != KV_OK)
        return kv_seterr(e->err, sizeof(e->err), KV_EIO, "tkrzw: cannot measure %s", t->dir);
    return KV_OK;
}

#define KV_TKRZW_CAPS (KV_CAP_THREADS | KV_CAP_PERSISTENT | KV_CAP_DUR_NONE | KV_CAP_DUR_SYNC)

const kv_engine_ops kv_tkrzw_ops = {
    .abi_version = KV_ENGINE_ABI,
    .struct_size = sizeof(kv_engine_ops),
    .name = "tkrzw",
    .description = "Tkrzw TreeDBM: B+ tree on a memory-mapped file, page cache sized to the data set",
    .caps = KV_CAP_SCAN | KV_TKRZW_CAPS,
    .options = kv_tkrzw_options,
    .lib_version = kv_tkrzw_lib_version,
    .open = kv_tkrzw_tree_open,
    .close = kv_tkrzw_close,
    .describe = kv_tkrzw_describe,
    .session_open = kv_tkrzw_session_open,
    .session_close = kv_tkrzw_session_close,
    .get = kv_tkrzw_get,
    .put = kv_tkrzw_put,
    .del = kv_tkrzw_del,
    .scan = kv_tkrzw_scan,
    .sync = kv_tkrzw_sync,
    .stats = kv_tkrzw_stats,
    .disk_bytes = kv_tkrzw_disk_bytes,
};

const kv_engine_ops kv_tkrzw_hash_ops = {
    .abi_version = KV_ENGINE_ABI,
    .struct_size = sizeof(kv_engine_ops),
    .name = "tkrzw-hash",
    .description = "Tkrzw HashDBM: on-disk hash table on a memory-mapped file, 2 buckets per key; no scan",
    .caps = KV_TKRZW_CAPS,
    .options = kv_tkrzw_options,
    .lib_version = kv_tkrzw_lib_version,
    .open = kv_tkrzw_hash_open,
    .close = kv_tkrzw_close,
    .describe = kv_tkrzw_describe,
    .session_open = kv_tkrzw_session_open,
    .session_close = kv_tkrzw_session_close,
    .get = kv_tkrzw_get,
    .put = kv_tkrzw_put,
    .del = kv_tkrzw_del,
    .sync = kv_tkrzw_sync,
    .stats = kv_tkrzw_stats,
    .disk_bytes = kv_tkrzw_disk_bytes,
};
