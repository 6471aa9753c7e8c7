/* leveldb.c - LevelDB engine (C API, libleveldb 1.23): LSM tree, bloom filter, LRU block cache sized
 * to the data set, compression off; its writer queue is its group commit. */
#include "engine.h"

#include <leveldb/c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct ldb_engine {
    kv_engine base;
    leveldb_t *db;
    leveldb_options_t *opts;
    leveldb_cache_t *cache;
    leveldb_filterpolicy_t *bloom;
    leveldb_readoptions_t *ropts;
    leveldb_writeoptions_t *wopts;
    leveldb_writeoptions_t *sync_wopts; /* sync=true, for sync() at any level */
    char dir[4096];
    enum kv_durability durability;
    uint64_t block_cache, write_buffer, block_size, max_file_size, bloom_bits, max_open_files;
    int compact_before_read;
} ldb_engine;

typedef struct ldb_session {
    kv_session base;
    char *val; /* the last get's value (malloc'd by leveldb_get), freed at the next call */
} ldb_session;

#define LDB_ROW_OVERHEAD 40 /* per-entry key + block/index overhead for ~100-byte values */
#define LDB_MIN_CACHE (64ull << 20)

static const kv_option_spec kv_leveldb_options[] = {
    {"block_cache", "LRU block cache bytes (K/M/G); default memory budget, else 1.5 x the data set, min 64M"},
    {"bloom_bits", "bloom filter bits per key (0 = no filter); default 10"},
    {"write_buffer", "memtable size in bytes (K/M/G); default 64M"},
    {"block_size", "data block size in bytes (K/M/G); default 4K"},
    {"max_file_size", "target SST file size in bytes (K/M/G); default 2M (LevelDB's own)"},
    {"max_open_files", "table files kept open (their index and filter stay in memory); default 10000"},
    {"compression", "only 'none' is accepted: values are incompressible"},
    {"compact_before_read", "1: before the measured phase flush the memtable and compact every level "
                            "(the steady state, as db_bench's fillrandom,compact; default); 0: measure as loaded"},
    {NULL, NULL},
};

/* LevelDB exports its version as two functions; there is no patch number at run time. */
static const char *kv_leveldb_lib_version(void)
{
    static char ver[32];
    if (!ver[0])
        snprintf(ver, sizeof(ver), "%d.%d", leveldb_major_version(), leveldb_minor_version());
    return ver;
}

/* Map a LevelDB status string to a KV code, copy it into err and free it. */
static int kv_leveldb_err(char *err, size_t errlen, char *msg, const char *what)
{
    int st = kv_status_text_err(err, errlen, "leveldb", what, msg);
    leveldb_free(msg);
    return st;
}

static int kv_leveldb_parse(const kv_config *cfg, ldb_engine *l, char *err, size_t errlen)
{
    l->block_cache = kv_cache_bytes(cfg, LDB_ROW_OVERHEAD, LDB_MIN_CACHE);
    l->bloom_bits = 10;
    l->write_buffer = 64ull << 20;
    l->block_size = 4096;
    l->max_file_size = 2ull << 20;
    l->max_open_files = 10000;
    l->compact_before_read = 1;
    int rc = kv_config_opt_u64(cfg, "block_cache", &l->block_cache, err, errlen);
    if (rc == KV_OK) rc = kv_config_opt_u64(cfg, "bloom_bits", &l->bloom_bits, err, errlen);
    if (rc == KV_OK) rc = kv_config_opt_u64(cfg, "write_buffer", &l->write_buffer, err, errlen);
    if (rc == KV_OK) rc = kv_config_opt_u64(cfg, "block_size", &l->block_size, err, errlen);
    if (rc == KV_OK) rc = kv_config_opt_u64(cfg, "max_file_size", &l->max_file_size, err, errlen);
    if (rc == KV_OK) rc = kv_config_opt_u64(cfg, "max_open_files", &l->max_open_files, err, errlen);
    if (rc == KV_OK) rc = kv_config_opt_bool(cfg, "compact_before_read", &l->compact_before_read, err, errlen);
    if (rc != KV_OK)
        return rc;
    const char *comp = kv_config_opt(cfg, "compression");
    if (comp && strcmp(comp, "none") != 0)
        return kv_seterr(err, errlen, KV_EINVAL, "leveldb: option compression=%s: only 'none' is supported", comp);
    if (l->bloom_bits > 64 || l->write_buffer < (1u << 20) || l->block_size < 256 || l->block_size > (1u << 30) ||
        l->max_file_size < (64u << 10) || l->max_open_files < 64 || l->max_open_files > (1u << 30))
        return kv_seterr(err, errlen, KV_EINVAL,
                         "leveldb: bloom_bits must be <= 64, write_buffer >= 1M, block_size 256..1G, "
                         "max_file_size >= 64K, max_open_files 64..1G");
    return KV_OK;
}

static void kv_leveldb_tune(ldb_engine *l)
{
    l->opts = leveldb_options_create();
    l->cache = leveldb_cache_create_lru((size_t)l->block_cache);
    leveldb_options_set_cache(l->opts, l->cache);
    if (l->bloom_bits) { /* the options only borrow the policy: it is destroyed after the db */
        l->bloom = leveldb_filterpolicy_create_bloom((int)l->bloom_bits);
        leveldb_options_set_filter_policy(l->opts, l->bloom);
    }
    leveldb_options_set_create_if_missing(l->opts, 1);
    leveldb_options_set_compression(l->opts, leveldb_no_compression);
    leveldb_options_set_write_buffer_size(l->opts, (size_t)l->write_buffer);
    leveldb_options_set_block_size(l->opts, (size_t)l->block_size);
    leveldb_options_set_max_file_size(l->opts, (size_t)l->max_file_size);
    leveldb_options_set_max_open_files(l->opts, (int)l->max_open_files);
    l->ropts = leveldb_readoptions_create();
    l->wopts = leveldb_writeoptions_create();
    leveldb_writeoptions_set_sync(l->wopts, l->durability != KV_DUR_NONE);
    l->sync_wopts = leveldb_writeoptions_create();
    leveldb_writeoptions_set_sync(l->sync_wopts, 1);
}

static int kv_leveldb_close(kv_engine *e)
{
    ldb_engine *l = (ldb_engine *)e;
    if (l->db)
        leveldb_close(l->db); /* every write already reached the log file (write() per put) */
    if (l->ropts) leveldb_readoptions_destroy(l->ropts);
    if (l->wopts) leveldb_writeoptions_destroy(l->wopts);
    if (l->sync_wopts) leveldb_writeoptions_destroy(l->sync_wopts);
    if (l->opts) leveldb_options_destroy(l->opts);
    if (l->bloom) leveldb_filterpolicy_destroy(l->bloom);
    if (l->cache) leveldb_cache_destroy(l->cache);
    free(l);
    return KV_OK;
}

static int kv_leveldb_open(const kv_config *cfg, kv_engine **out, char *err, size_t errlen)
{
    ldb_engine *l = calloc(1, sizeof(*l));
    if (!l)
        return kv_seterr(err, errlen, KV_ENOMEM, "leveldb: out of memory");
    int rc = kv_leveldb_parse(cfg, l, err, errlen);
    if (rc != KV_OK) {
        free(l);
        return rc;
    }
    l->durability = cfg->durability;
    snprintf(l->dir, sizeof(l->dir), "%s", cfg->dir);
    kv_leveldb_tune(l);
    char *msg = NULL;
    l->db = leveldb_open(l->opts, cfg->dir, &msg);
    if (msg) {
        char what[4200];
        snprintf(what, sizeof(what), "open %s", cfg->dir);
        rc = kv_leveldb_err(err, errlen, msg, what);
        l->db = NULL;
        kv_leveldb_close(&l->base);
        return rc;
    }
    *out = &l->base;
    return KV_OK;
}

static void kv_leveldb_describe(kv_engine *e, kv_pair_cb cb, void *arg)
{
    ldb_engine *l = (ldb_engine *)e;
    kv_describe_u64(cb, arg, "block_cache_bytes", l->block_cache);
    kv_describe_u64(cb, arg, "block_size", l->block_size);
    kv_describe_u64(cb, arg, "bloom_bits_per_key", l->bloom_bits);
    cb(arg, "bloom_kind", l->bloom_bits ? "leveldb_filterpolicy_create_bloom (per table)" : "off");
    cb(arg, "compression", "none (values are incompressible)");
    kv_describe_u64(cb, arg, "write_buffer_size", l->write_buffer);
    kv_describe_u64(cb, arg, "max_file_size", l->max_file_size);
    kv_describe_u64(cb, arg, "max_open_files", l->max_open_files);
    cb(arg, "compact_before_read", l->compact_before_read ? "1 (memtable flushed, CompactRange over all keys)" : "0");
    cb(arg, "paranoid_checks", "off (default)");
    cb(arg, "read_options", "defaults (verify_checksums off, fill_cache on)");
    cb(arg, "key_encoding", "8-byte big-endian, sign bit flipped, bytewise comparator");
    cb(arg, "get", "leveldb_get: the C API returns a malloc'd copy, freed at the session's next call");
    cb(arg, "log", "on (always, write() per write batch)");
    cb(arg, "write_sync", l->durability == KV_DUR_NONE ? "false" : "true");
    cb(arg, "group_commit", l->durability == KV_DUR_GROUP
                                ? "LevelDB writer queue (the front writer logs and syncs the batches queued behind it)"
                                : "n/a");
}

static void kv_leveldb_stats(kv_engine *e, kv_pair_cb cb, void *arg)
{
    ldb_engine *l = (ldb_engine *)e;
    char name[64], *v;
    for (int level = 0; level < 7; level++) {
        snprintf(name, sizeof(name), "leveldb.num-files-at-level%d", level);
        if ((v = leveldb_property_value(l->db, name)) != NULL) {
            cb(arg, name + 8, v);
            leveldb_free(v);
        }
    }
    if ((v = leveldb_property_value(l->db, "leveldb.approximate-memory-usage")) != NULL) {
        cb(arg, "approximate-memory-usage", v);
        leveldb_free(v);
    }
    /* the compaction table: one line per level with files, size and compaction time/bytes */
    if ((v = leveldb_property_value(l->db, "leveldb.stats")) != NULL) {
        char *save = NULL;
        for (char *line = strtok_r(v, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
            int level, files;
            double mb;
            if (sscanf(line, "%d %d %lf", &level, &files, &mb) == 3 && level >= 0 && level < 7) {
                /* the shape of the tree for the result's "lsm" array (sizes at the table's 1 MB resolution) */
                snprintf(name, sizeof(name), "lsm.L%d.files", level);
                kv_describe_u64(cb, arg, name, (uint64_t)files);
                snprintf(name, sizeof(name), "lsm.L%d.bytes", level);
                kv_describe_u64(cb, arg, name, (uint64_t)(mb * 1048576.0));
            }
            if (sscanf(line, "%d ", &level) == 1 && level >= 0 && level < 7) {
                snprintf(name, sizeof(name), "compaction-level%d (files size_mb time_s read_mb write_mb)", level);
                while (*line == ' ')
                    line++;
                cb(arg, name, line);
            }
        }
        leveldb_free(v);
    }
}

static int kv_leveldb_session_open(kv_engine *e, kv_session **out)
{
    ldb_session *s = calloc(1, sizeof(*s));
    if (!s)
        return kv_seterr(e->err, sizeof(e->err), KV_ENOMEM, "leveldb: out of memory");
    s->base.engine = e;
    *out = &s->base;
    return KV_OK;
}

static inline void kv_leveldb_release(ldb_session *s)
{
    if (s->val) {
        leveldb_free(s->val);
        s->val = NULL;
    }
}

static void kv_leveldb_session_close(kv_session *ss)
{
    kv_leveldb_release((ldb_session *)ss);
    free(ss);
}

static int kv_leveldb_get(kv_session *ss, int64_t key, kv_slice *val)
{
    ldb_session *s = (ldb_session *)ss;
    ldb_engine *l = (ldb_engine *)ss->engine;
    kv_leveldb_release(s);
    unsigned char k[8];
    kv_key_be_encode(k, key);
    char *msg = NULL;
    size_t n = 0;
    s->val = leveldb_get(l->db, l->ropts, (const char *)k, 8, &n, &msg);
    if (msg)
        return kv_leveldb_err(ss->err, sizeof(ss->err), msg, "get");
    if (!s->val) /* an empty value is a malloc(0) copy, not NULL: NULL means absent */
        return KV_NOTFOUND;
    val->data = s->val;
    val->len = n;
    return KV_OK;
}

static int kv_leveldb_put(kv_session *ss, int64_t key, const void *val, size_t len)
{
    ldb_session *s = (ldb_session *)ss;
    ldb_engine *l = (ldb_engine *)ss->engine;
    kv_leveldb_release(s);
    unsigned char k[8];
    kv_key_be_encode(k, key);
    char *msg = NULL;
    leveldb_put(l->db, l->wopts, (const char *)k, 8, len ? val : "", len, &msg);
    return msg ? kv_leveldb_err(ss->err, sizeof(ss->err), msg, "put") : KV_OK;
}

static int kv_leveldb_del(kv_session *ss, int64_t key)
{
    ldb_session *s = (ldb_session *)ss;
    ldb_engine *l = (ldb_engine *)ss->engine;
    kv_leveldb_release(s);
    unsigned char k[8];
    kv_key_be_encode(k, key);
    char *msg = NULL;
    leveldb_delete(l->db, l->wopts, (const char *)k, 8, &msg);
    return msg ? kv_leveldb_err(ss->err, sizeof(ss->err), msg, "del") : KV_OK;
}

static int kv_leveldb_scan(kv_session *ss, int64_t from, size_t count, kv_scan_cb cb, void *arg,
                           size_t *visited)
{
    ldb_session *s = (ldb_session *)ss;
    ldb_engine *l = (ldb_engine *)ss->engine;
    kv_leveldb_release(s);
    *visited = 0;
    unsigned char k[8];
    kv_key_be_encode(k, from);
    leveldb_iterator_t *it = leveldb_create_iterator(l->db, l->ropts);
    for (leveldb_iter_seek(it, (const char *)k, 8); *visited < count && leveldb_iter_valid(it);
         leveldb_iter_next(it)) {
        size_t kl, vl;
        const char *kp = leveldb_iter_key(it, &kl);
        const char *vp = leveldb_iter_value(it, &vl);
        if (kl != 8) {
            leveldb_iter_destroy(it);
            return kv_seterr(ss->err, sizeof(ss->err), KV_ECORRUPT, "leveldb: scan: key of %zu bytes (want 8)",
                             kl);
        }
        (*visited)++;
        if (cb(arg, kv_key_be_decode(kp), (kv_slice){vp ? (const void *)vp : (const void *)"", vl}))
            break;
    }
    char *msg = NULL;
    leveldb_iter_get_error(it, &msg);
    leveldb_iter_destroy(it);
    return msg ? kv_leveldb_err(ss->err, sizeof(ss->err), msg, "scan") : KV_OK;
}

/* LevelDB has no "sync the log" call: an empty batch written with sync=true fsyncs the log file,
 * which holds every earlier write. */
static int kv_leveldb_sync(kv_session *ss)
{
    ldb_engine *l = (ldb_engine *)ss->engine;
    leveldb_writebatch_t *b = leveldb_writebatch_create();
    char *msg = NULL;
    leveldb_write(l->db, l->sync_wopts, b, &msg);
    leveldb_writebatch_destroy(b);
    return msg ? kv_leveldb_err(ss->err, sizeof(ss->err), msg, "sync log") : KV_OK;
}

/* The steady state before a measured phase: CompactRange over everything flushes the memtable and
 * compacts level by level; LevelDB runs it in the caller's thread and returns when it is done. */
static int kv_leveldb_settle(kv_engine *e)
{
    ldb_engine *l = (ldb_engine *)e;
    if (l->compact_before_read)
        leveldb_compact_range(l->db, NULL, 0, NULL, 0);
    return KV_OK;
}

static int kv_leveldb_disk_bytes(kv_engine *e, uint64_t *bytes)
{
    ldb_engine *l = (ldb_engine *)e;
    *bytes = 0;
    if (kv_dir_bytes(l->dir, bytes) != KV_OK)
        return kv_seterr(e->err, sizeof(e->err), KV_EIO, "leveldb: cannot measure %s", l->dir);
    return KV_OK;
}

const kv_engine_ops kv_leveldb_ops = {
    .abi_version = KV_ENGINE_ABI,
    .struct_size = sizeof(kv_engine_ops),
    .name = "leveldb",
    .description = "LevelDB LSM tree: bloom filter, block cache sized to the data set, compression off",
    .caps = KV_CAP_SCAN | KV_CAP_THREADS | KV_CAP_PERSISTENT | KV_CAP_DUR_NONE | KV_CAP_DUR_SYNC |
            KV_CAP_DUR_GROUP,
    .options = kv_leveldb_options,
    .lib_version = kv_leveldb_lib_version,
    .open = kv_leveldb_open,
    .close = kv_leveldb_close,
    .describe = kv_leveldb_describe,
    .session_open = kv_leveldb_session_open,
    .session_close = kv_leveldb_session_close,
    .get = kv_leveldb_get,
    .put = kv_leveldb_put,
    .del = kv_leveldb_del,
    .scan = kv_leveldb_scan,
    .sync = kv_leveldb_sync,
    .stats = kv_leveldb_stats,
    .disk_bytes = kv_leveldb_disk_bytes,
    .settle = kv_leveldb_settle,
};
