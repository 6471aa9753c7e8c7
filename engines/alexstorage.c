/* alexstorage.c - AlexStorage engine: an index (ALEX, B+tree or sorted array) + mmap'd segment log; zero-copy gets. */
#include "engine.h"

#include "alexstorage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct alexstorage_engine {
    kv_engine base;
    as_db *db;
    as_options opt;
    uint64_t batch; /* -o batch=N: puts/dels commit in atomic batches of N (0/1 = one at a time) */
    enum kv_durability durability;
    char open_note[512]; /* what recovery did at open (torn tail cut, records replayed) */
} alexstorage_engine;

typedef struct alexstorage_session {
    kv_session base;
    as_session *s;
    as_batch *batch; /* writes not committed yet (batch > 1) */
} alexstorage_session;

static const kv_option_spec kv_alexstorage_options[] = {
    {"segment_bytes", "start a new segment file past this size, bytes (K/M/G); default 1G"},
    {"map_chunk", "the mapping of a segment grows in chunks of this size, bytes (K/M/G, page multiple); "
                  "default 16M"},
    {"reserve_bytes", "virtual address space reserved per segment (K/M/G); default = segment_bytes "
                      "(at least 64M + header so any record fits)"},
    {"verify_reads", "1: check each record's checksum and key on every get/scan (default); 0: trust the index"},
    {"salvage", "1: open past corrupt records in the middle of the log, keeping what is valid; default 0"},
    {"hugepages", "1: index heap and log views on 2 MiB pages (MADV_HUGEPAGE); 0: MADV_NOHUGEPAGE; default "
                  "follows --pages (huge: 1, 4k: 0)"},
    {"index", "the in-memory index: alex (learned, default), btree (B+tree) or sorted (sorted array, "
              "read-only: load phase only); any index opens a store written with another"},
    {"btree_node", "B+tree node size in bytes (K), a multiple of 64 in [128, 64K]; default 512"},
    {"maintenance", "who compacts and checkpoints: inline (the put that crosses a threshold, default) or "
                    "thread (a background thread of the store)"},
    {"log_prealloc", "1: at durability sync/group keep the log zero-filled and fdatasync'd 1 MiB ahead of the "
                     "writer, so a put's fdatasync flushes data only, no size/extent metadata (default); 0: each "
                     "append grows the file"},
    {"batch", "commit puts and deletes in atomic batches of N (as_batch_*: one fdatasync per batch at sync, "
              "one group-commit wait at group); a write is acknowledged when its batch commits, a session reads "
              "its own pending writes; scan, sync and session close commit first; default 1 (no batching)"},
    {NULL, NULL},
};

static const char *kv_alexstorage_lib_version(void) { return "alexstorage " AS_VERSION_STRING; }

static int kv_alexstorage_status(int rc)
{
    switch (rc) {
    case AS_OK: return KV_OK;
    case AS_NOTFOUND: return KV_NOTFOUND;
    case AS_EINVAL: return KV_EINVAL;
    case AS_EIO: return KV_EIO;
    case AS_ECORRUPT: return KV_ECORRUPT;
    case AS_ENOMEM: return KV_ENOMEM;
    case AS_ENOSPC: return KV_ENOSPC;
    case AS_EBUSY: return KV_EBUSY;
    case AS_ERDONLY: return KV_ENOTSUP;
    default: return KV_EINTERNAL;
    }
}

/* Map an as_* failure on a session to KV_* with the library's message in s->err. */
static int kv_alexstorage_serr(alexstorage_session *as, int rc, const char *what)
{
    return kv_seterr(as->base.err, sizeof(as->base.err), kv_alexstorage_status(rc), "alexstorage: %s: %s: %s", what,
                     as_strerror(rc), as_session_errmsg(as->s));
}

static int kv_alexstorage_parse(const kv_config *cfg, as_options *o, char *err, size_t errlen)
{
    as_options_default(o);
    uint64_t chunk = o->map_chunk_bytes;
    int rc = kv_config_opt_u64(cfg, "segment_bytes", &o->segment_bytes, err, errlen);
    if (rc == KV_OK)
        rc = kv_config_opt_u64(cfg, "map_chunk", &chunk, err, errlen);
    if (rc == KV_OK)
        rc = kv_config_opt_u64(cfg, "reserve_bytes", &o->reserve_bytes, err, errlen);
    if (rc == KV_OK)
        rc = kv_config_opt_bool(cfg, "verify_reads", &o->verify_reads, err, errlen);
    if (rc == KV_OK)
        rc = kv_config_opt_bool(cfg, "salvage", &o->salvage, err, errlen);
    o->hugepages = cfg->pages == KV_PAGES_HUGE;
    if (rc == KV_OK)
        rc = kv_config_opt_bool(cfg, "hugepages", &o->hugepages, err, errlen);
    if (rc == KV_OK)
        rc = kv_config_opt_bool(cfg, "log_prealloc", &o->log_prealloc, err, errlen);
    uint64_t node = 0;
    if (rc == KV_OK)
        rc = kv_config_opt_u64(cfg, "btree_node", &node, err, errlen);
    if (rc != KV_OK)
        return rc;
    const char *mt = kv_config_opt(cfg, "maintenance");
    if (mt && strcmp(mt, "inline") != 0 && strcmp(mt, "thread") != 0)
        return kv_seterr(err, errlen, KV_EINVAL, "alexstorage: option maintenance=%s is not one of inline, thread",
                         mt);
    o->maintenance = mt && strcmp(mt, "thread") == 0 ? AS_MAINT_THREAD : AS_MAINT_INLINE;
    const char *ix = kv_config_opt(cfg, "index");
    if (ix && as_index_kind_parse(ix, &o->index) != AS_OK)
        return kv_seterr(err, errlen, KV_EINVAL, "alexstorage: option index=%s is not one of alex, btree, sorted", ix);
    if (node && (node < 128 || node > 65536 || node % 64))
        return kv_seterr(err, errlen, KV_EINVAL, "alexstorage: option btree_node=%llu must be a multiple of 64 in "
                         "[128, 65536]", (unsigned long long)node);
    o->btree_node_bytes = (uint32_t)node;
    o->map_chunk_bytes = chunk;
    if (chunk == 0 || chunk % 4096)
        return kv_seterr(err, errlen, KV_EINVAL, "alexstorage: option map_chunk=%llu must be a positive multiple "
                         "of 4K", (unsigned long long)chunk);
    if (o->segment_bytes < 4096)
        return kv_seterr(err, errlen, KV_EINVAL, "alexstorage: option segment_bytes=%llu is below 4K",
                         (unsigned long long)o->segment_bytes);
    switch (cfg->durability) {
    case KV_DUR_NONE: o->sync_mode = AS_SYNC_NONE; break;
    case KV_DUR_SYNC: o->sync_mode = AS_SYNC_EACH; break;
    case KV_DUR_GROUP: o->sync_mode = AS_SYNC_GROUP; break;
    }
    return KV_OK;
}

static int kv_alexstorage_open(const kv_config *cfg, kv_engine **out, char *err, size_t errlen)
{
    *out = NULL;
    alexstorage_engine *a = calloc(1, sizeof(*a));
    if (!a)
        return kv_seterr(err, errlen, KV_ENOMEM, "alexstorage: out of memory");
    int rc = kv_alexstorage_parse(cfg, &a->opt, err, errlen);
    if (rc != KV_OK) {
        free(a);
        return rc;
    }
    a->durability = cfg->durability;
    rc = kv_config_opt_u64(cfg, "batch", &a->batch, err, errlen);
    if (rc == KV_OK && a->batch > 1000000)
        rc = kv_seterr(err, errlen, KV_EINVAL, "alexstorage: option batch=%llu is above 1000000",
                       (unsigned long long)a->batch);
    if (rc != KV_OK) {
        free(a);
        return rc;
    }
    int arc = as_open(cfg->dir, &a->opt, &a->db, a->open_note, sizeof(a->open_note));
    if (arc != AS_OK) {
        rc = kv_seterr(err, errlen, kv_alexstorage_status(arc), "alexstorage: open %s: %s: %s", cfg->dir,
                       as_strerror(arc), a->open_note);
        free(a);
        return rc;
    }
    *out = &a->base;
    return KV_OK;
}

static int kv_alexstorage_close(kv_engine *e)
{
    alexstorage_engine *a = (alexstorage_engine *)e;
    int arc = as_close(a->db);
    int rc = arc == AS_OK ? KV_OK
                          : kv_seterr(e->err, sizeof(e->err), kv_alexstorage_status(arc), "alexstorage: close: %s",
                                      as_strerror(arc));
    free(a);
    return rc;
}

static void kv_alexstorage_describe(kv_engine *e, kv_pair_cb cb, void *arg)
{
    alexstorage_engine *a = (alexstorage_engine *)e;
    kv_describe_u64(cb, arg, "segment_bytes", a->opt.segment_bytes);
    kv_describe_u64(cb, arg, "map_chunk", a->opt.map_chunk_bytes);
    kv_describe_u64(cb, arg, "reserve_bytes", a->opt.reserve_bytes ? a->opt.reserve_bytes : a->opt.segment_bytes);
    kv_describe_u64(cb, arg, "verify_reads", (uint64_t)a->opt.verify_reads);
    kv_describe_u64(cb, arg, "salvage", (uint64_t)a->opt.salvage);
    kv_describe_u64(cb, arg, "batch", a->batch > 1 ? a->batch : 1);
    cb(arg, "maintenance", a->opt.maintenance == AS_MAINT_THREAD ? "thread" : "inline");
    kv_describe_u64(cb, arg, "log_prealloc", (uint64_t)a->opt.log_prealloc);
    cb(arg, "hugepages", a->opt.hugepages ? "1 (index heap and log views MADV_HUGEPAGE)"
                                          : "0 (index heap and log views MADV_NOHUGEPAGE)");
    kv_describe_u64(cb, arg, "max_value_bytes", AS_MAX_VALUE_BYTES);
    cb(arg, "sync_mode", a->opt.sync_mode == AS_SYNC_NONE ? "none: pwrite only, no fsync"
                         : a->opt.sync_mode == AS_SYNC_EACH ? "each: fdatasync before every put/del returns"
                                                            : "group: concurrent writers share one fdatasync");
    cb(arg, "index", a->opt.index == AS_INDEX_BTREE    ? "btree: in-memory B+tree, key -> (segment, offset)"
                     : a->opt.index == AS_INDEX_SORTED ? "sorted: sorted array + binary search (read-only), "
                                                         "key -> (segment, offset)"
                                                       : "alex: ALEX (learned, in memory), key -> (segment, offset)");
    if (a->opt.index == AS_INDEX_BTREE)
        kv_describe_u64(cb, arg, "btree_node", a->opt.btree_node_bytes ? a->opt.btree_node_bytes : 512);
    cb(arg, "record_checksum", "XXH3-64 over header and value");
    cb(arg, "get", "zero copy (pointer into the read-only shared mapping)");
    cb(arg, "concurrency", "one writer (mutex) + readers under per-session locks; append and fsync outside them");
    cb(arg, "open_report", a->open_note);
}

static void kv_alexstorage_stats(kv_engine *e, kv_pair_cb cb, void *arg)
{
    alexstorage_engine *a = (alexstorage_engine *)e;
    as_stats st;
    if (as_get_stats(a->db, &st) != AS_OK)
        return;
    char buf[64];
    kv_describe_u64(cb, arg, "num_keys", st.num_keys);
    kv_describe_u64(cb, arg, "num_segments", st.num_segments);
    kv_describe_u64(cb, arg, "disk_bytes", st.disk_bytes);
    kv_describe_u64(cb, arg, "live_bytes", st.live_bytes);
    kv_describe_u64(cb, arg, "index_bytes", st.index_bytes);
    snprintf(buf, sizeof(buf), "%.2f", st.index_bytes_per_key);
    cb(arg, "index_bytes_per_key", buf);
    kv_describe_u64(cb, arg, "index_heap_bytes", st.index_heap_bytes);
    snprintf(buf, sizeof(buf), "%.2f", st.num_keys ? (double)st.index_heap_bytes / (double)st.num_keys : 0.0);
    cb(arg, "index_heap_bytes_per_key", buf);
    kv_describe_u64(cb, arg, "index_depth", st.index_depth);
    kv_describe_u64(cb, arg, "index_model_nodes", st.index_model_nodes);
    kv_describe_u64(cb, arg, "index_data_nodes", st.index_data_nodes);
    snprintf(buf, sizeof(buf), "%.3f", st.avg_search_steps);
    cb(arg, "avg_search_steps", buf);
    snprintf(buf, sizeof(buf), "%.3f", st.avg_shifts);
    cb(arg, "avg_shifts", buf);
    kv_describe_u64(cb, arg, "index_lookups", st.index_lookups);
    kv_describe_u64(cb, arg, "index_inserts", st.index_inserts);
    kv_describe_u64(cb, arg, "index_expansions", st.index_expansions);
    kv_describe_u64(cb, arg, "index_splits", st.index_splits);
    kv_describe_u64(cb, arg, "records_replayed", st.records_replayed);
    kv_describe_u64(cb, arg, "records_dropped", st.records_dropped);
    kv_describe_u64(cb, arg, "bytes_dropped", st.bytes_dropped);
    kv_describe_u64(cb, arg, "bytes_salvaged", st.bytes_salvaged);
    kv_describe_u64(cb, arg, "puts", st.num_puts);
    kv_describe_u64(cb, arg, "dels", st.num_dels);
    kv_describe_u64(cb, arg, "gets", st.num_gets);
    kv_describe_u64(cb, arg, "fdatasyncs", st.num_syncs);
    kv_describe_u64(cb, arg, "checkpoints_written", st.checkpoints_written);
    kv_describe_u64(cb, arg, "compactions", st.compactions);
    kv_describe_u64(cb, arg, "compact_bytes_written", st.compact_bytes_written);
}

static int kv_alexstorage_session_open(kv_engine *e, kv_session **out)
{
    alexstorage_engine *a = (alexstorage_engine *)e;
    alexstorage_session *as = calloc(1, sizeof(*as));
    if (!as)
        return kv_seterr(e->err, sizeof(e->err), KV_ENOMEM, "alexstorage: out of memory");
    int arc = as_session_open(a->db, &as->s);
    if (arc != AS_OK) {
        free(as);
        return kv_seterr(e->err, sizeof(e->err), kv_alexstorage_status(arc), "alexstorage: session: %s",
                         as_errmsg(a->db));
    }
    if (a->batch > 1 && as_batch_create(&as->batch) != AS_OK) {
        as_session_close(as->s);
        free(as);
        return kv_seterr(e->err, sizeof(e->err), KV_ENOMEM, "alexstorage: out of memory");
    }
    as->base.engine = e;
    *out = &as->base;
    return KV_OK;
}

/* Commit the session's pending batch (a no-op without one). */
static int kv_alexstorage_flush(alexstorage_session *as)
{
    if (!as->batch || !as_batch_count(as->batch))
        return KV_OK;
    int rc = as_batch_commit(as->s, as->batch);
    return rc == AS_OK ? KV_OK : kv_alexstorage_serr(as, rc, "batch commit");
}

/* After adding to the pending batch: commit it once it holds `batch` writes. */
static int kv_alexstorage_batch_added(alexstorage_session *as, int rc, const char *what)
{
    if (rc != AS_OK)
        return kv_alexstorage_serr(as, rc, what);
    alexstorage_engine *a = (alexstorage_engine *)as->base.engine;
    return as_batch_count(as->batch) >= a->batch ? kv_alexstorage_flush(as) : KV_OK;
}

static void kv_alexstorage_session_close(kv_session *s)
{
    alexstorage_session *as = (alexstorage_session *)s;
    if (kv_alexstorage_flush(as) != KV_OK) /* no status to return here: keep the reason on the engine */
        snprintf(s->engine->err, sizeof(s->engine->err), "%s", as->base.err);
    as_batch_free(as->batch);
    as_session_close(as->s);
    free(as);
}

static int kv_alexstorage_get(kv_session *s, int64_t key, kv_slice *val)
{
    alexstorage_session *as = (alexstorage_session *)s;
    int deleted = 0;
    if (as->batch && as_batch_lookup(as->batch, key, &deleted, &val->data, &val->len) == AS_OK)
        return deleted ? KV_NOTFOUND : KV_OK;
    int rc = as_get(as->s, key, &val->data, &val->len);
    if (rc == AS_OK || rc == AS_NOTFOUND)
        return rc == AS_OK ? KV_OK : KV_NOTFOUND;
    return kv_alexstorage_serr(as, rc, "get");
}

static int kv_alexstorage_put(kv_session *s, int64_t key, const void *val, size_t len)
{
    alexstorage_session *as = (alexstorage_session *)s;
    if (as->batch)
        return kv_alexstorage_batch_added(as, as_batch_put(as->batch, key, val, len), "batch put");
    int rc = as_put(as->s, key, val, len);
    return rc == AS_OK ? KV_OK : kv_alexstorage_serr(as, rc, "put");
}

static int kv_alexstorage_del(kv_session *s, int64_t key)
{
    alexstorage_session *as = (alexstorage_session *)s;
    if (as->batch)
        return kv_alexstorage_batch_added(as, as_batch_del(as->batch, key), "batch del");
    int rc = as_del(as->s, key);
    return rc == AS_OK ? KV_OK : kv_alexstorage_serr(as, rc, "del");
}

typedef struct kv_alexstorage_scan_ctx {
    kv_scan_cb cb;
    void *arg;
} kv_alexstorage_scan_ctx;

static int kv_alexstorage_scan_cb(void *arg, int64_t key, const void *val, size_t len)
{
    kv_alexstorage_scan_ctx *c = arg;
    return c->cb(c->arg, key, (kv_slice){val, len});
}

static int kv_alexstorage_scan(kv_session *s, int64_t from, size_t count, kv_scan_cb cb, void *arg,
                               size_t *visited)
{
    alexstorage_session *as = (alexstorage_session *)s;
    kv_alexstorage_scan_ctx c = {cb, arg};
    int frc = kv_alexstorage_flush(as);
    if (frc != KV_OK)
        return frc;
    int rc = as_scan(as->s, from, count, kv_alexstorage_scan_cb, &c, visited);
    return rc == AS_OK ? KV_OK : kv_alexstorage_serr(as, rc, "scan");
}

typedef struct kv_alexstorage_bulk_ctx {
    kv_value_fn value;
    void *arg;
} kv_alexstorage_bulk_ctx;

static const void *kv_alexstorage_bulk_value(void *arg, int64_t key, size_t *len)
{
    kv_alexstorage_bulk_ctx *c = arg;
    kv_slice v = c->value(c->arg, key);
    *len = v.len;
    return v.data;
}

static int kv_alexstorage_bulk_load(kv_session *s, const int64_t *keys, size_t n, kv_value_fn value, void *arg)
{
    alexstorage_session *as = (alexstorage_session *)s;
    kv_alexstorage_bulk_ctx c = {value, arg};
    int rc = as_bulk_load(as->s, keys, n, kv_alexstorage_bulk_value, &c);
    return rc == AS_OK ? KV_OK : kv_alexstorage_serr(as, rc, "bulk_load");
}

static int kv_alexstorage_sync(kv_session *s)
{
    alexstorage_session *as = (alexstorage_session *)s;
    int frc = kv_alexstorage_flush(as);
    if (frc != KV_OK)
        return frc;
    int rc = as_sync(as->s);
    return rc == AS_OK ? KV_OK : kv_alexstorage_serr(as, rc, "sync");
}

static int kv_alexstorage_disk_bytes(kv_engine *e, uint64_t *bytes)
{
    alexstorage_engine *a = (alexstorage_engine *)e;
    as_stats st;
    int rc = as_get_stats(a->db, &st);
    if (rc != AS_OK)
        return kv_seterr(e->err, sizeof(e->err), kv_alexstorage_status(rc), "alexstorage: stats: %s",
                         as_errmsg(a->db));
    *bytes = st.disk_bytes;
    return KV_OK;
}

const kv_engine_ops kv_alexstorage_ops = {
    .abi_version = KV_ENGINE_ABI,
    .struct_size = sizeof(kv_engine_ops),
    .name = "alexstorage",
    .description = "ALEX learned index (or -o index=btree|sorted) in memory + checksummed append-only mmap'd segment "
                   "log (zero-copy gets)",
    .caps = KV_CAP_SCAN | KV_CAP_BULK_LOAD | KV_CAP_THREADS | KV_CAP_ZERO_COPY | KV_CAP_PERSISTENT |
            KV_CAP_DUR_NONE | KV_CAP_DUR_SYNC | KV_CAP_DUR_GROUP,
    .options = kv_alexstorage_options,
    .lib_version = kv_alexstorage_lib_version,
    .open = kv_alexstorage_open,
    .close = kv_alexstorage_close,
    .describe = kv_alexstorage_describe,
    .session_open = kv_alexstorage_session_open,
    .session_close = kv_alexstorage_session_close,
    .get = kv_alexstorage_get,
    .put = kv_alexstorage_put,
    .del = kv_alexstorage_del,
    .scan = kv_alexstorage_scan,
    .bulk_load = kv_alexstorage_bulk_load,
    .sync = kv_alexstorage_sync,
    .stats = kv_alexstorage_stats,
    .disk_bytes = kv_alexstorage_disk_bytes,
};
