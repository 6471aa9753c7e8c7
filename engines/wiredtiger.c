/* wiredtiger.c - WiredTiger engines (libwiredtiger 3.2): its row-store B-tree (`wiredtiger`) and its
 * LSM tree (`wiredtiger-lsm`), int64 keys in WT's order-preserving `q` format, write-ahead log with
 * WT's own group commit (log slots), periodic checkpoints. */
#include "engine.h"

#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wiredtiger.h>

typedef struct wt_engine {
    kv_engine base;
    WT_EVENT_HANDLER handler; /* keeps WiredTiger's messages off stderr; the last error goes into our messages */
    pthread_mutex_t msg_lock;
    char lastmsg[384];
    WT_CONNECTION *conn;
    WT_SESSION *admin; /* create, log_flush from close, compact */
    int lsm;
    const char *uri;
    char dir[4096];
    enum kv_durability durability;
    uint64_t cache_size, leaf_page_max, internal_page_max, checkpoint_wait, lsm_chunk, bloom_bits, dirty_trigger;
    int mmap, compact_before_read;
    char conn_config[1024];
    char table_config[512];
} wt_engine;

typedef struct wt_session {
    kv_session base;
    WT_SESSION *ws;
    WT_CURSOR *cur;
    int positioned; /* cur holds the last get's value; reset at the next call */
} wt_session;

#define WT_ROW_OVERHEAD 40      /* per-entry key + page overhead for ~100-byte values */
#define WT_MIN_CACHE (64ull << 20)
#define WT_RETRIES 1000         /* autocommit write conflicts (two sessions on one page) are retried */

static const kv_option_spec kv_wt_options[] = {
    {"cache_size", "WiredTiger cache bytes (K/M/G); default memory budget, else 6 x the data set (LSM: 2 x, min 4 x lsm_chunk), min 64M"},
    {"leaf_page_max", "maximum leaf page size in bytes (K/M/G); default 32K (WiredTiger's own)"},
    {"internal_page_max", "maximum internal page size in bytes (K/M/G); default 4K (WiredTiger's own)"},
    {"checkpoint_wait", "seconds between checkpoints (0 = only at close); default 60"},
    {"dirty_trigger", "percent of the cache that may be dirty before application threads help evict "
                      "(eviction_dirty_trigger; eviction_dirty_target is a quarter of it); default 20 (WT's own)"},
    {"mmap", "1: read files through mmap (WiredTiger default); 0: pread"},
    {"lsm_chunk", "wiredtiger-lsm only: in-memory chunk size in bytes (K/M/G); default 32M"},
    {"bloom_bits", "wiredtiger-lsm only: bloom filter bits per key on merged chunks; default 16 (WT's own)"},
    {"compact_before_read", "1: before the measured phase checkpoint the load (B-tree), or flush the chunk, "
                            "merge all chunks and checkpoint (LSM) (default); 0: measure as loaded"},
    {NULL, NULL},
};

static const char *kv_wt_lib_version(void) { return wiredtiger_version(NULL, NULL, NULL); }

static int kv_wt_status(int r)
{
    switch (r) {
    case ENOSPC: case EFBIG: return KV_ENOSPC;
    case ENOMEM: return KV_ENOMEM;
    case EINVAL: return KV_EINVAL;
    case EBUSY: return KV_EBUSY;
    case WT_ERROR: case WT_PANIC: return KV_EIO;
    default: return KV_EIO;
    }
}

/* WiredTiger reports details (file names, errno text) through the event handler, not the return code:
 * keep the last one so our message can say what went wrong, and print nothing. */
static int kv_wt_on_error(WT_EVENT_HANDLER *h, WT_SESSION *session, int error, const char *message)
{
    (void)session, (void)error;
    wt_engine *w = (wt_engine *)((char *)h - offsetof(wt_engine, handler));
    pthread_mutex_lock(&w->msg_lock);
    snprintf(w->lastmsg, sizeof(w->lastmsg), "%s", message);
    pthread_mutex_unlock(&w->msg_lock);
    return 0;
}

static int kv_wt_on_message(WT_EVENT_HANDLER *h, WT_SESSION *session, const char *message)
{
    (void)h, (void)session, (void)message; /* informational only */
    return 0;
}

static int kv_wt_err_detail(wt_engine *w, char *err, size_t errlen, int r, const char *what)
{
    char detail[400] = "";
    pthread_mutex_lock(&w->msg_lock);
    if (w->lastmsg[0])
        snprintf(detail, sizeof(detail), " (%s)", w->lastmsg);
    w->lastmsg[0] = '\0';
    pthread_mutex_unlock(&w->msg_lock);
    return kv_seterr(err, errlen, kv_wt_status(r), "wiredtiger: %s: %s%s", what, wiredtiger_strerror(r), detail);
}


static int kv_wt_parse(const kv_config *cfg, wt_engine *w, char *err, size_t errlen)
{
    uint64_t data = kv_data_bytes(cfg, WT_ROW_OVERHEAD);
    /* measured (engines/README.md): freshly inserted rows take several times their on-disk size in
     * cache, and application threads start evicting once 20% of the cache is dirty */
    w->cache_size = cfg->memory_budget ? cfg->memory_budget : (w->lsm ? 2 : 6) * data;
    if (w->cache_size < WT_MIN_CACHE)
        w->cache_size = WT_MIN_CACHE;
    w->leaf_page_max = 32u << 10;
    w->internal_page_max = 4u << 10;
    w->checkpoint_wait = 60;
    w->dirty_trigger = 20;
    w->mmap = 1;
    w->lsm_chunk = 32ull << 20;
    w->bloom_bits = 16;
    w->compact_before_read = 1;
    int rc = kv_config_opt_u64(cfg, "cache_size", &w->cache_size, err, errlen);
    if (rc == KV_OK) rc = kv_config_opt_u64(cfg, "leaf_page_max", &w->leaf_page_max, err, errlen);
    if (rc == KV_OK) rc = kv_config_opt_u64(cfg, "internal_page_max", &w->internal_page_max, err, errlen);
    if (rc == KV_OK) rc = kv_config_opt_u64(cfg, "checkpoint_wait", &w->checkpoint_wait, err, errlen);
    if (rc == KV_OK) rc = kv_config_opt_u64(cfg, "dirty_trigger", &w->dirty_trigger, err, errlen);
    if (rc == KV_OK && (w->dirty_trigger < 4 || w->dirty_trigger > 95))
        rc = kv_seterr(err, errlen, KV_EINVAL, "wiredtiger: dirty_trigger must be 4..95 (percent of the cache)");
    if (rc == KV_OK) rc = kv_config_opt_bool(cfg, "mmap", &w->mmap, err, errlen);
    if (rc == KV_OK) rc = kv_config_opt_u64(cfg, "lsm_chunk", &w->lsm_chunk, err, errlen);
    if (rc == KV_OK) rc = kv_config_opt_u64(cfg, "bloom_bits", &w->bloom_bits, err, errlen);
    if (rc == KV_OK) rc = kv_config_opt_bool(cfg, "compact_before_read", &w->compact_before_read, err, errlen);
    if (rc != KV_OK)
        return rc;
    /* WT refuses an LSM tree whose cache cannot hold about three chunks; size up unless told otherwise */
    if (w->lsm && !kv_config_opt(cfg, "cache_size") && w->cache_size < 4 * w->lsm_chunk)
        w->cache_size = 4 * w->lsm_chunk;
    if (!w->lsm && (kv_config_opt(cfg, "lsm_chunk") || kv_config_opt(cfg, "bloom_bits")))
        return kv_seterr(err, errlen, KV_EINVAL, "wiredtiger: lsm_chunk and bloom_bits apply to wiredtiger-lsm only");
    if (w->cache_size < (1u << 20) || w->leaf_page_max < 512 || w->leaf_page_max > (512u << 20) ||
        w->internal_page_max < 512 || w->internal_page_max > (512u << 20) || w->checkpoint_wait > 100000 ||
        w->lsm_chunk < (512u << 10) || w->lsm_chunk > (500u << 20) || w->bloom_bits < 2 || w->bloom_bits > 1000)
        return kv_seterr(err, errlen, KV_EINVAL,
                         "wiredtiger: cache_size >= 1M, page sizes 512..512M, checkpoint_wait <= 100000, "
                         "lsm_chunk 512K..500M, bloom_bits 2..1000");
    return KV_OK;
}

/* The connection string: the log is on at every level; only its sync method changes. At `none` every
 * commit still write()s its log record (method=none: no fsync), so it survives a process crash. */
static void kv_wt_configure(wt_engine *w, int threads)
{
    const char *sync = w->durability == KV_DUR_NONE ? "enabled=true,method=none" : "enabled=true,method=fsync";
    snprintf(w->conn_config, sizeof(w->conn_config),
             "create,cache_size=%llu,session_max=%d,mmap=%s,log=(enabled=true,archive=true),"
             "transaction_sync=(%s),checkpoint=(wait=%llu),statistics=(none),"
             "eviction_dirty_trigger=%llu,eviction_dirty_target=%llu%s",
             (unsigned long long)w->cache_size, threads + 40, w->mmap ? "true" : "false", sync,
             (unsigned long long)w->checkpoint_wait, (unsigned long long)w->dirty_trigger,
             (unsigned long long)(w->dirty_trigger / 4 ? w->dirty_trigger / 4 : 1),
             w->lsm ? ",lsm_manager=(worker_thread_max=3)" : "");
    int n = snprintf(w->table_config, sizeof(w->table_config),
                     "key_format=q,value_format=u,leaf_page_max=%llu,internal_page_max=%llu",
                     (unsigned long long)w->leaf_page_max, (unsigned long long)w->internal_page_max);
    if (w->lsm)
        snprintf(w->table_config + n, sizeof(w->table_config) - (size_t)n,
                 ",lsm=(chunk_size=%llu,bloom=true,bloom_bit_count=%llu,bloom_hash_count=%llu)",
                 (unsigned long long)w->lsm_chunk, (unsigned long long)w->bloom_bits,
                 (unsigned long long)(w->bloom_bits * 7 / 10 ? w->bloom_bits * 7 / 10 : 2));
}

static int kv_wt_close(kv_engine *e)
{
    wt_engine *w = (wt_engine *)e;
    int rc = KV_OK;
    if (w->conn) {
        /* close writes a final checkpoint; at sync levels the log is already on disk */
        int r = w->conn->close(w->conn, NULL);
        if (r != 0)
            rc = kv_wt_err_detail(w, e->err, sizeof(e->err), r, "close");
    }
    pthread_mutex_destroy(&w->msg_lock);
    free(w);
    return rc;
}

static int kv_wt_open_common(const kv_config *cfg, int lsm, kv_engine **out, char *err, size_t errlen)
{
    wt_engine *w = calloc(1, sizeof(*w));
    if (!w)
        return kv_seterr(err, errlen, KV_ENOMEM, "wiredtiger: out of memory");
    w->lsm = lsm;
    pthread_mutex_init(&w->msg_lock, NULL);
    w->handler.handle_error = kv_wt_on_error;
    w->handler.handle_message = kv_wt_on_message;
    w->uri = lsm ? "lsm:kv" : "table:kv";
    int rc = kv_wt_parse(cfg, w, err, errlen);
    if (rc != KV_OK) {
        free(w);
        return rc;
    }
    w->durability = cfg->durability;
    snprintf(w->dir, sizeof(w->dir), "%s", cfg->dir);
    kv_wt_configure(w, cfg->threads > 0 ? cfg->threads : 1);
    char what[4200];
    int r = wiredtiger_open(cfg->dir, &w->handler, w->conn_config, &w->conn);
    snprintf(what, sizeof(what), "open %s", cfg->dir);
    if (r == 0) {
        r = w->conn->open_session(w->conn, NULL, NULL, &w->admin);
        snprintf(what, sizeof(what), "open session in %s", cfg->dir);
    }
    if (r == 0) {
        r = w->admin->create(w->admin, w->uri, w->table_config); /* no-op when it exists */
        snprintf(what, sizeof(what), "create %s in %s", w->uri, cfg->dir);
    }
    if (r != 0) {
        rc = kv_wt_err_detail(w, err, errlen, r, what);
        if (w->conn)
            w->conn->close(w->conn, NULL);
        pthread_mutex_destroy(&w->msg_lock);
        free(w);
        return rc;
    }
    *out = &w->base;
    return KV_OK;
}

static int kv_wt_open(const kv_config *cfg, kv_engine **out, char *err, size_t errlen)
{
    return kv_wt_open_common(cfg, 0, out, err, errlen);
}

static int kv_wt_lsm_open(const kv_config *cfg, kv_engine **out, char *err, size_t errlen)
{
    return kv_wt_open_common(cfg, 1, out, err, errlen);
}

static void kv_wt_describe(kv_engine *e, kv_pair_cb cb, void *arg)
{
    wt_engine *w = (wt_engine *)e;
    cb(arg, "connection_config", w->conn_config);
    cb(arg, "table_uri", w->uri);
    cb(arg, "table_config", w->table_config);
    kv_describe_u64(cb, arg, "cache_size", w->cache_size);
    kv_describe_u64(cb, arg, "leaf_page_max", w->leaf_page_max);
    kv_describe_u64(cb, arg, "internal_page_max", w->internal_page_max);
    kv_describe_u64(cb, arg, "checkpoint_wait_s", w->checkpoint_wait);
    cb(arg, "mmap", w->mmap ? "on" : "off");
    cb(arg, "compact_before_read", !w->compact_before_read ? "0"
                                   : w->lsm ? "1 (WT_SESSION::compact merges all chunks, then a checkpoint)"
                                            : "1 (a checkpoint writes the loaded pages)");
    if (w->lsm) {
        kv_describe_u64(cb, arg, "lsm_chunk_size", w->lsm_chunk);
        kv_describe_u64(cb, arg, "lsm_bloom_bits", w->bloom_bits);
    }
    cb(arg, "compression", "none (WiredTiger default block_compressor; values are incompressible)");
    cb(arg, "key_encoding", "key_format=q (WiredTiger's order-preserving packed int64)");
    cb(arg, "transactions", "autocommit: one transaction per put/del; write conflicts retried");
    cb(arg, "get", "zero copy: the cursor's value item, valid until the session's next call");
    cb(arg, "log", w->durability == KV_DUR_NONE ? "on, transaction_sync method=none (write() per commit, no fsync)"
                                                : "on, transaction_sync method=fsync (fsync per commit)");
    cb(arg, "group_commit", w->durability == KV_DUR_GROUP
                                ? "WiredTiger log slots (concurrent commits share one write and one fsync)"
                                : "n/a");
}

static int kv_wt_session_open(kv_engine *e, kv_session **out)
{
    wt_engine *w = (wt_engine *)e;
    wt_session *s = calloc(1, sizeof(*s));
    if (!s)
        return kv_seterr(e->err, sizeof(e->err), KV_ENOMEM, "wiredtiger: out of memory");
    int r = w->conn->open_session(w->conn, NULL, NULL, &s->ws);
    if (r == 0)
        r = s->ws->open_cursor(s->ws, w->uri, NULL, "overwrite=true", &s->cur);
    if (r != 0) {
        if (s->ws)
            s->ws->close(s->ws, NULL);
        free(s);
        return kv_wt_err_detail((wt_engine *)e, e->err, sizeof(e->err), r, "open session/cursor");
    }
    s->base.engine = e;
    *out = &s->base;
    return KV_OK;
}

static void kv_wt_session_close(kv_session *ss)
{
    wt_session *s = (wt_session *)ss;
    s->ws->close(s->ws, NULL); /* closes the cursor too */
    free(s);
}

static inline void kv_wt_release(wt_session *s)
{
    if (s->positioned) { /* drops the snapshot and page pin that kept the last value valid */
        s->cur->reset(s->cur);
        s->positioned = 0;
    }
}

static int kv_wt_get(kv_session *ss, int64_t key, kv_slice *val)
{
    wt_session *s = (wt_session *)ss;
    kv_wt_release(s);
    WT_CURSOR *c = s->cur;
    c->set_key(c, key);
    int r = c->search(c);
    if (r == WT_NOTFOUND)
        return KV_NOTFOUND;
    WT_ITEM item;
    if (r == 0)
        r = c->get_value(c, &item);
    if (r != 0) {
        c->reset(c);
        return kv_wt_err_detail((wt_engine *)ss->engine, ss->err, sizeof(ss->err), r, "get");
    }
    s->positioned = 1;
    val->data = item.size ? item.data : (const void *)"";
    val->len = item.size;
    return KV_OK;
}

static int kv_wt_put(kv_session *ss, int64_t key, const void *v, size_t len)
{
    wt_session *s = (wt_session *)ss;
    kv_wt_release(s);
    WT_CURSOR *c = s->cur;
    WT_ITEM item = {.data = len ? v : "", .size = len};
    int r;
    for (int i = 0; i < WT_RETRIES; i++) {
        c->set_key(c, key);
        c->set_value(c, &item);
        if ((r = c->insert(c)) != WT_ROLLBACK)
            break;
    }
    c->reset(c);
    return r == 0 ? KV_OK : kv_wt_err_detail((wt_engine *)ss->engine, ss->err, sizeof(ss->err), r, "put");
}

static int kv_wt_del(kv_session *ss, int64_t key)
{
    wt_session *s = (wt_session *)ss;
    kv_wt_release(s);
    WT_CURSOR *c = s->cur;
    int r;
    for (int i = 0; i < WT_RETRIES; i++) {
        c->set_key(c, key);
        if ((r = c->remove(c)) != WT_ROLLBACK)
            break;
    }
    c->reset(c);
    return r == 0 || r == WT_NOTFOUND ? KV_OK : kv_wt_err_detail((wt_engine *)ss->engine, ss->err, sizeof(ss->err), r, "del");
}

static int kv_wt_scan(kv_session *ss, int64_t from, size_t count, kv_scan_cb cb, void *arg, size_t *visited)
{
    wt_session *s = (wt_session *)ss;
    kv_wt_release(s);
    *visited = 0;
    if (count == 0)
        return KV_OK;
    WT_CURSOR *c = s->cur;
    int exact = 0;
    c->set_key(c, from);
    int r = c->search_near(c, &exact);
    if (r == 0 && exact < 0) /* landed on the largest key below `from` */
        r = c->next(c);
    while (r == 0 && *visited < count) {
        int64_t k;
        WT_ITEM item;
        if ((r = c->get_key(c, &k)) != 0 || (r = c->get_value(c, &item)) != 0)
            break;
        (*visited)++;
        if (cb(arg, k, (kv_slice){item.size ? item.data : (const void *)"", item.size}))
            break;
        if (*visited < count)
            r = c->next(c);
    }
    c->reset(c);
    return r == 0 || r == WT_NOTFOUND ? KV_OK : kv_wt_err_detail((wt_engine *)ss->engine, ss->err, sizeof(ss->err), r, "scan");
}

static int kv_wt_sync(kv_session *ss)
{
    wt_session *s = (wt_session *)ss;
    kv_wt_release(s);
    int r = s->ws->log_flush(s->ws, "sync=on");
    return r == 0 ? KV_OK : kv_wt_err_detail((wt_engine *)ss->engine, ss->err, sizeof(ss->err), r, "log_flush(sync=on)");
}

/* The steady state before a measured phase. LSM: compact flushes the in-memory chunk and merges the
 * chunks (it returns when done); both: a checkpoint, so the load's dirty pages are written before,
 * not during, the measured phase. */
static int kv_wt_settle(kv_engine *e)
{
    wt_engine *w = (wt_engine *)e;
    if (!w->compact_before_read)
        return KV_OK;
    int r = 0;
    if (w->lsm && (r = w->admin->compact(w->admin, w->uri, "timeout=0")) != 0)
        return kv_wt_err_detail(w, e->err, sizeof(e->err), r, "compact before the measured phase");
    if ((r = w->admin->checkpoint(w->admin, NULL)) != 0)
        return kv_wt_err_detail(w, e->err, sizeof(e->err), r, "checkpoint before the measured phase");
    return KV_OK;
}

static int kv_wt_disk_bytes(kv_engine *e, uint64_t *bytes)
{
    wt_engine *w = (wt_engine *)e;
    *bytes = 0;
    if (kv_dir_bytes(w->dir, bytes) != KV_OK)
        return kv_seterr(e->err, sizeof(e->err), KV_EIO, "wiredtiger: cannot measure %s", w->dir);
    return KV_OK;
}

#define KV_WT_CAPS                                                                                   \
    (KV_CAP_SCAN | KV_CAP_THREADS | KV_CAP_ZERO_COPY | KV_CAP_PERSISTENT | KV_CAP_DUR_NONE |          \
     KV_CAP_DUR_SYNC | KV_CAP_DUR_GROUP)

const kv_engine_ops kv_wiredtiger_ops = {
    .abi_version = KV_ENGINE_ABI,
    .struct_size = sizeof(kv_engine_ops),
    .name = "wiredtiger",
    .description = "WiredTiger row-store B-tree: cache sized to the data set, log with group commit, checkpoints",
    .caps = KV_WT_CAPS,
    .options = kv_wt_options,
    .lib_version = kv_wt_lib_version,
    .open = kv_wt_open,
    .close = kv_wt_close,
    .describe = kv_wt_describe,
    .session_open = kv_wt_session_open,
    .session_close = kv_wt_session_close,
    .get = kv_wt_get,
    .put = kv_wt_put,
    .del = kv_wt_del,
    .scan = kv_wt_scan,
    .sync = kv_wt_sync,
    .disk_bytes = kv_wt_disk_bytes,
    .settle = kv_wt_settle,
};

const kv_engine_ops kv_wiredtiger_lsm_ops = {
    .abi_version = KV_ENGINE_ABI,
    .struct_size = sizeof(kv_engine_ops),
    .name = "wiredtiger-lsm",
    .description = "WiredTiger LSM tree: in-memory chunks merged in the background, bloom filters, log with "
                   "group commit",
    .caps = KV_WT_CAPS,
    .options = kv_wt_options,
    .lib_version = kv_wt_lib_version,
    .open = kv_wt_lsm_open,
    .close = kv_wt_close,
    .describe = kv_wt_describe,
    .session_open = kv_wt_session_open,
    .session_close = kv_wt_session_close,
    .get = kv_wt_get,
    .put = kv_wt_put,
    .del = kv_wt_del,
    .scan = kv_wt_scan,
    .sync = kv_wt_sync,
    .disk_bytes = kv_wt_disk_bytes,
    .settle = kv_wt_settle,
};
