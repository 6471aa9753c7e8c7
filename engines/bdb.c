/* bdb.c - Berkeley DB engine (libdb 5.3): one B-tree in a transactional environment (log, locks, private
 * regions), one autocommit transaction per put/del, log sync mode by durability level. */
#include "engine.h"

#include <db.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct bdb_engine {
    kv_engine base;
    DB_ENV *env;
    DB *db;
    char dir[4096];
    enum kv_durability durability;
    uint64_t cache_size, page_size, log_buffer, checkpoint_kb;
    int nosync; /* at `none`: 1 = DB_TXN_NOSYNC (log stays in the log buffer), 0 = DB_TXN_WRITE_NOSYNC */
    pthread_mutex_t msg_lock;
    char lastmsg[384]; /* Berkeley DB's last error message (errcall), for our messages */
} bdb_engine;

typedef struct bdb_session {
    kv_session base;
    unsigned char *buf; /* the last get's value (DB_DBT_USERMEM), grown on demand */
    size_t cap;
    unsigned writes;    /* since the last checkpoint check */
} bdb_session;

#define BDB_ROW_OVERHEAD 40   /* per-entry key + page overhead for ~100-byte values */
#define BDB_MIN_CACHE (64ull << 20)
#define BDB_RETRIES 1000      /* deadlocks between sessions are resolved by aborting one: retry it */
#define BDB_CHECKPOINT_EVERY 8192 /* writes per session between "is a checkpoint due" checks */

static const kv_option_spec kv_bdb_options[] = {
    {"cache_size", "memory pool bytes (K/M/G); default memory budget, else 1.5 x the data set, min 64M"},
    {"page_size", "B-tree page size in bytes (512..64K, power of two); default 4K; fixed at creation"},
    {"log_buffer", "in-memory log buffer bytes (K/M/G); default 1M"},
    {"checkpoint_kb", "checkpoint once this many KiB of log were written since the last (0 = only at close); "
                      "default 65536"},
    {"nosync_mode", "durability none: 'write' = DB_TXN_WRITE_NOSYNC, the log is write()n at each commit "
                    "(default, survives a process crash); 'buffer' = DB_TXN_NOSYNC, it stays in memory"},
    {NULL, NULL},
};

static const char *kv_bdb_lib_version(void) { return db_version(NULL, NULL, NULL); }

static int kv_bdb_status(int r)
{
    switch (r) {
    case ENOSPC: case EFBIG: return KV_ENOSPC;
    case ENOMEM: return KV_ENOMEM;
    case EINVAL: return KV_EINVAL;
    case EAGAIN: case EBUSY: case DB_LOCK_NOTGRANTED: return KV_EBUSY;
    case DB_RUNRECOVERY: return KV_ECORRUPT;
    default: return KV_EIO;
    }
}

static void kv_bdb_on_error(const DB_ENV *env, const char *prefix, const char *msg)
{
    (void)prefix;
    bdb_engine *b = env->app_private;
    pthread_mutex_lock(&b->msg_lock);
    snprintf(b->lastmsg, sizeof(b->lastmsg), "%s", msg);
    pthread_mutex_unlock(&b->msg_lock);
}

static void kv_bdb_on_message(const DB_ENV *env, const char *msg)
{
    (void)env, (void)msg; /* informational: nothing is printed */
}

static int kv_bdb_err(bdb_engine *b, char *err, size_t errlen, int r, const char *what)
{
    char detail[400] = "";
    pthread_mutex_lock(&b->msg_lock);
    if (b->lastmsg[0])
        snprintf(detail, sizeof(detail), " (%s)", b->lastmsg);
    b->lastmsg[0] = '\0';
    pthread_mutex_unlock(&b->msg_lock);
    return kv_seterr(err, errlen, kv_bdb_status(r), "bdb: %s: %s%s", what, db_strerror(r), detail);
}

static int kv_bdb_parse(const kv_config *cfg, bdb_engine *b, char *err, size_t errlen)
{
    b->cache_size = kv_cache_bytes(cfg, BDB_ROW_OVERHEAD, BDB_MIN_CACHE);
    b->page_size = 4096;
    b->log_buffer = 1u << 20;
    b->checkpoint_kb = 65536;
    int rc = kv_config_opt_u64(cfg, "cache_size", &b->cache_size, err, errlen);
    if (rc == KV_OK) rc = kv_config_opt_u64(cfg, "page_size", &b->page_size, err, errlen);
    if (rc == KV_OK) rc = kv_config_opt_u64(cfg, "log_buffer", &b->log_buffer, err, errlen);
    if (rc == KV_OK) rc = kv_config_opt_u64(cfg, "checkpoint_kb", &b->checkpoint_kb, err, errlen);
    if (rc != KV_OK)
        return rc;
    const char *mode = kv_config_opt(cfg, "nosync_mode");
    if (mode && strcmp(mode, "write") != 0 && strcmp(mode, "buffer") != 0)
        return kv_seterr(err, errlen, KV_EINVAL, "bdb: option nosync_mode=%s: expected 'write' or 'buffer'", mode);
    b->nosync = mode && strcmp(mode, "buffer") == 0;
    if (b->page_size < 512 || b->page_size > 65536 || (b->page_size & (b->page_size - 1)) ||
        b->cache_size < (1u << 20) || b->cache_size > (1ull << 40) || b->log_buffer < (64u << 10) ||
        b->log_buffer > (1u << 30) || b->checkpoint_kb > (1u << 30))
        return kv_seterr(err, errlen, KV_EINVAL, "bdb: page_size must be a power of two in 512..64K, "
                                                 "cache_size 1M..1T, log_buffer 64K..1G, checkpoint_kb <= 1G");
    return KV_OK;
}

static int kv_bdb_close(kv_engine *e)
{
    bdb_engine *b = (bdb_engine *)e;
    int rc = KV_OK, r;
    if (b->db && (r = b->db->close(b->db, 0)) != 0)
        rc = kv_bdb_err(b, e->err, sizeof(e->err), r, "close database");
    if (b->env) {
        /* a checkpoint makes the next open's recovery short; at sync levels it also flushes the log */
        if (rc == KV_OK && (r = b->env->txn_checkpoint(b->env, 0, 0, 0)) != 0)
            rc = kv_bdb_err(b, e->err, sizeof(e->err), r, "checkpoint on close");
        if ((r = b->env->close(b->env, 0)) != 0 && rc == KV_OK)
            rc = kv_seterr(e->err, sizeof(e->err), kv_bdb_status(r), "bdb: close environment: %s", db_strerror(r));
    }
    pthread_mutex_destroy(&b->msg_lock);
    free(b);
    return rc;
}

static int kv_bdb_open(const kv_config *cfg, kv_engine **out, char *err, size_t errlen)
{
    bdb_engine *b = calloc(1, sizeof(*b));
    if (!b)
        return kv_seterr(err, errlen, KV_ENOMEM, "bdb: out of memory");
    pthread_mutex_init(&b->msg_lock, NULL);
    int rc = kv_bdb_parse(cfg, b, err, errlen);
    if (rc != KV_OK) {
        pthread_mutex_destroy(&b->msg_lock);
        free(b);
        return rc;
    }
    b->durability = cfg->durability;
    snprintf(b->dir, sizeof(b->dir), "%s", cfg->dir);
    const char *what = "create environment";
    int r = db_env_create(&b->env, 0);
    if (r == 0) {
        b->env->app_private = b;
        b->env->set_errcall(b->env, kv_bdb_on_error);
        b->env->set_msgcall(b->env, kv_bdb_on_message);
        what = "configure environment";
        r = b->env->set_cachesize(b->env, (uint32_t)(b->cache_size >> 30), (uint32_t)(b->cache_size & ((1u << 30) - 1)), 1);
    }
    if (r == 0) r = b->env->set_lg_bsize(b->env, (uint32_t)b->log_buffer);
    if (r == 0) r = b->env->set_lg_max(b->env, 64u << 20);
    if (r == 0) r = b->env->set_lk_detect(b->env, DB_LOCK_DEFAULT); /* a blocked lock request runs detection */
    if (r == 0) r = b->env->log_set_config(b->env, DB_LOG_AUTO_REMOVE, 1);
    if (r == 0) r = b->env->set_flags(b->env, DB_AUTO_COMMIT, 1);
    if (r == 0 && cfg->durability == KV_DUR_NONE)
        r = b->env->set_flags(b->env, b->nosync ? DB_TXN_NOSYNC : DB_TXN_WRITE_NOSYNC, 1);
    if (r == 0) {
        what = "open environment";
        /* PRIVATE: regions in this process's heap, no __db.* files (one process uses the store).
         * RECOVER: replay the log after an unclean stop; cheap after a clean close (checkpoint). */
        r = b->env->open(b->env, cfg->dir,
                         DB_CREATE | DB_INIT_MPOOL | DB_INIT_TXN | DB_INIT_LOG | DB_INIT_LOCK | DB_THREAD |
                             DB_PRIVATE | DB_RECOVER, 0644);
    }
    if (r == 0) {
        what = "create database handle";
        r = db_create(&b->db, b->env, 0);
    }
    if (r == 0) r = b->db->set_pagesize(b->db, (uint32_t)b->page_size); /* ignored for an existing file */
    if (r == 0) {
        what = "open kv.db";
        r = b->db->open(b->db, NULL, "kv.db", NULL, DB_BTREE, DB_CREATE | DB_THREAD | DB_AUTO_COMMIT, 0644);
    }
    if (r != 0) {
        char msg[4400];
        snprintf(msg, sizeof(msg), "%s in %s", what, cfg->dir);
        rc = kv_bdb_err(b, err, errlen, r, msg);
        if (b->db)
            b->db->close(b->db, 0);
        if (b->env)
            b->env->close(b->env, 0);
        pthread_mutex_destroy(&b->msg_lock);
        free(b);
        return rc;
    }
    *out = &b->base;
    return KV_OK;
}

static void kv_bdb_describe(kv_engine *e, kv_pair_cb cb, void *arg)
{
    bdb_engine *b = (bdb_engine *)e;
    uint32_t ps = 0;
    b->db->get_pagesize(b->db, &ps);
    kv_describe_u64(cb, arg, "cache_size", b->cache_size);
    kv_describe_u64(cb, arg, "page_size", ps);
    kv_describe_u64(cb, arg, "log_buffer", b->log_buffer);
    kv_describe_u64(cb, arg, "log_file_max", 64u << 20);
    kv_describe_u64(cb, arg, "checkpoint_kb", b->checkpoint_kb);
    cb(arg, "access_method", "DB_BTREE, default lexical compare");
    cb(arg, "key_encoding", "8-byte big-endian, sign bit flipped");
    cb(arg, "env_flags", "DB_INIT_MPOOL|DB_INIT_TXN|DB_INIT_LOG|DB_INIT_LOCK|DB_THREAD|DB_PRIVATE|DB_RECOVER, "
                         "DB_AUTO_COMMIT, DB_LOG_AUTO_REMOVE, lk_detect DB_LOCK_DEFAULT");
    cb(arg, "transactions", "autocommit: one per put/del; deadlock victims retried");
    cb(arg, "settle", "txn_checkpoint(DB_FORCE) before the measured phase");
    cb(arg, "get", "copied into a session buffer (DB_DBT_USERMEM)");
    cb(arg, "durability", b->durability != KV_DUR_NONE ? "sync: log fsync per commit (Berkeley DB default)"
                          : b->nosync ? "none: DB_TXN_NOSYNC (log buffer written when full)"
                                      : "none: DB_TXN_WRITE_NOSYNC (log write() per commit, no fsync)");
    cb(arg, "group_commit", b->durability == KV_DUR_GROUP
                                ? "Berkeley DB log flush: a committer whose record another flush covered does not fsync"
                                : "n/a");
}

static void kv_bdb_stats(kv_engine *e, kv_pair_cb cb, void *arg)
{
    bdb_engine *b = (bdb_engine *)e;
    DB_BTREE_STAT *st = NULL;
    if (b->db->stat(b->db, NULL, &st, DB_FAST_STAT) == 0 && st) {
        kv_describe_u64(cb, arg, "levels", st->bt_levels);
        kv_describe_u64(cb, arg, "leaf_pages", st->bt_leaf_pg);
        kv_describe_u64(cb, arg, "internal_pages", st->bt_int_pg);
        kv_describe_u64(cb, arg, "overflow_pages", st->bt_over_pg);
        kv_describe_u64(cb, arg, "page_size", st->bt_pagesize);
        free(st);
    }
    DB_MPOOL_STAT *mp = NULL;
    if (b->env->memp_stat(b->env, &mp, NULL, 0) == 0 && mp) {
        kv_describe_u64(cb, arg, "cache_hit", mp->st_cache_hit);
        kv_describe_u64(cb, arg, "cache_miss", mp->st_cache_miss);
        kv_describe_u64(cb, arg, "pages_in_cache", mp->st_pages);
        kv_describe_u64(cb, arg, "dirty_pages", mp->st_page_dirty);
        free(mp);
    }
    DB_LOCK_STAT *lk = NULL;
    if (b->env->lock_stat(b->env, &lk, 0) == 0 && lk) {
        kv_describe_u64(cb, arg, "deadlocks", lk->st_ndeadlocks);
        free(lk);
    }
}

static int kv_bdb_session_open(kv_engine *e, kv_session **out)
{
    bdb_session *s = calloc(1, sizeof(*s));
    if (!s)
        return kv_seterr(e->err, sizeof(e->err), KV_ENOMEM, "bdb: out of memory");
    s->cap = 256;
    s->buf = malloc(s->cap);
    if (!s->buf) {
        free(s);
        return kv_seterr(e->err, sizeof(e->err), KV_ENOMEM, "bdb: out of memory");
    }
    s->base.engine = e;
    *out = &s->base;
    return KV_OK;
}

static void kv_bdb_session_close(kv_session *ss)
{
    bdb_session *s = (bdb_session *)ss;
    free(s->buf);
    free(s);
}

static int kv_bdb_grow(bdb_session *s, size_t need)
{
    size_t cap = s->cap;
    while (cap < need)
        cap *= 2;
    unsigned char *p = realloc(s->buf, cap);
    if (!p)
        return kv_seterr(s->base.err, sizeof(s->base.err), KV_ENOMEM, "bdb: out of memory for a %zu-byte value", need);
    s->buf = p;
    s->cap = cap;
    return KV_OK;
}

static int kv_bdb_get(kv_session *ss, int64_t key, kv_slice *val)
{
    bdb_session *s = (bdb_session *)ss;
    bdb_engine *b = (bdb_engine *)ss->engine;
    unsigned char k[8];
    kv_key_be_encode(k, key);
    for (int i = 0; i < BDB_RETRIES; i++) {
        DBT dk = {.data = k, .size = 8}, dv = {.data = s->buf, .ulen = (uint32_t)s->cap, .flags = DB_DBT_USERMEM};
        int r = b->db->get(b->db, NULL, &dk, &dv, 0);
        if (r == 0) {
            val->data = dv.size ? (const void *)s->buf : (const void *)"";
            val->len = dv.size;
            return KV_OK;
        }
        if (r == DB_NOTFOUND)
            return KV_NOTFOUND;
        if (r == DB_BUFFER_SMALL) {
            if (kv_bdb_grow(s, dv.size) != KV_OK)
                return KV_ENOMEM;
            continue;
        }
        if (r != DB_LOCK_DEADLOCK)
            return kv_bdb_err(b, ss->err, sizeof(ss->err), r, "get");
    }
    return kv_seterr(ss->err, sizeof(ss->err), KV_EBUSY, "bdb: get: still deadlocked after %d retries", BDB_RETRIES);
}

/* Every so many writes, a checkpoint if enough log accumulated: keeps recovery and the log bounded. */
static int kv_bdb_after_write(bdb_session *s)
{
    bdb_engine *b = (bdb_engine *)s->base.engine;
    if (++s->writes < BDB_CHECKPOINT_EVERY || !b->checkpoint_kb)
        return KV_OK;
    s->writes = 0;
    int r = b->env->txn_checkpoint(b->env, (uint32_t)b->checkpoint_kb, 0, 0);
    return r == 0 ? KV_OK : kv_bdb_err(b, s->base.err, sizeof(s->base.err), r, "checkpoint");
}

static int kv_bdb_put(kv_session *ss, int64_t key, const void *val, size_t len)
{
    bdb_session *s = (bdb_session *)ss;
    bdb_engine *b = (bdb_engine *)ss->engine;
    if (len > UINT32_MAX)
        return kv_seterr(ss->err, sizeof(ss->err), KV_EINVAL, "bdb: put: value of %zu bytes is too large", len);
    unsigned char k[8];
    kv_key_be_encode(k, key);
    int r = DB_LOCK_DEADLOCK;
    for (int i = 0; i < BDB_RETRIES && r == DB_LOCK_DEADLOCK; i++) {
        DBT dk = {.data = k, .size = 8}, dv = {.data = (void *)(len ? val : ""), .size = (uint32_t)len};
        r = b->db->put(b->db, NULL, &dk, &dv, 0);
    }
    if (r != 0)
        return kv_bdb_err(b, ss->err, sizeof(ss->err), r, "put");
    return kv_bdb_after_write(s);
}

static int kv_bdb_del(kv_session *ss, int64_t key)
{
    bdb_session *s = (bdb_session *)ss;
    bdb_engine *b = (bdb_engine *)ss->engine;
    unsigned char k[8];
    kv_key_be_encode(k, key);
    int r = DB_LOCK_DEADLOCK;
    for (int i = 0; i < BDB_RETRIES && r == DB_LOCK_DEADLOCK; i++) {
        DBT dk = {.data = k, .size = 8};
        r = b->db->del(b->db, NULL, &dk, 0);
    }
    if (r != 0 && r != DB_NOTFOUND)
        return kv_bdb_err(b, ss->err, sizeof(ss->err), r, "del");
    return kv_bdb_after_write(s);
}

/* One cursor pass from `from`; a deadlock victim restarts after the last key it passed on. */
static int kv_bdb_scan(kv_session *ss, int64_t from, size_t count, kv_scan_cb cb, void *arg, size_t *visited)
{
    bdb_session *s = (bdb_session *)ss;
    bdb_engine *b = (bdb_engine *)ss->engine;
    *visited = 0;
    int64_t next = from;
    for (int attempt = 0; attempt < BDB_RETRIES && *visited < count; attempt++) {
        DBC *c = NULL;
        int r = b->db->cursor(b->db, NULL, &c, DB_READ_COMMITTED);
        if (r != 0)
            return kv_bdb_err(b, ss->err, sizeof(ss->err), r, "scan: open cursor");
        unsigned char k[8];
        kv_key_be_encode(k, next);
        uint32_t op = DB_SET_RANGE;
        int stop = 0, done = 0;
        while (*visited < count) {
            DBT dk = {.data = k, .size = 8, .ulen = 8, .flags = DB_DBT_USERMEM};
            DBT dv = {.data = s->buf, .ulen = (uint32_t)s->cap, .flags = DB_DBT_USERMEM};
            r = c->get(c, &dk, &dv, op);
            if (r == DB_BUFFER_SMALL) {
                if (dk.size > 8) {
                    r = EINVAL;
                    break;
                }
                if (kv_bdb_grow(s, dv.size) != KV_OK) {
                    c->close(c);
                    return KV_ENOMEM;
                }
                kv_key_be_encode(k, next); /* seek again to where we are, now that the value fits */
                op = DB_SET_RANGE;
                continue;
            }
            if (r != 0)
                break;
            if (dk.size != 8) {
                c->close(c);
                return kv_seterr(ss->err, sizeof(ss->err), KV_ECORRUPT, "bdb: scan: key of %u bytes (want 8)",
                                 dk.size);
            }
            int64_t key = kv_key_be_decode(k);
            (*visited)++;
            if (cb(arg, key, (kv_slice){dv.size ? (const void *)s->buf : (const void *)"", dv.size})) {
                stop = 1;
                break;
            }
            if (key == INT64_MAX) {
                done = 1;
                break;
            }
            next = key + 1;
            op = DB_NEXT;
        }
        c->close(c);
        if (stop || done || r == DB_NOTFOUND || *visited >= count)
            return KV_OK;
        if (r != 0 && r != DB_LOCK_DEADLOCK)
            return kv_bdb_err(b, ss->err, sizeof(ss->err), r, "scan");
    }
    return *visited >= count ? KV_OK
                             : kv_seterr(ss->err, sizeof(ss->err), KV_EBUSY, "bdb: scan: still deadlocked after retries");
}

static int kv_bdb_sync(kv_session *ss)
{
    bdb_engine *b = (bdb_engine *)ss->engine;
    int r = b->env->log_flush(b->env, NULL); /* NULL: the whole log, written and fsync'd */
    return r == 0 ? KV_OK : kv_bdb_err(b, ss->err, sizeof(ss->err), r, "log_flush");
}

/* Before a measured phase: a checkpoint writes the pages the load dirtied, so that work is not charged
 * to the measured phase (the later checkpoints every checkpoint_kb of log are). */
static int kv_bdb_settle(kv_engine *e)
{
    bdb_engine *b = (bdb_engine *)e;
    int r = b->env->txn_checkpoint(b->env, 0, 0, DB_FORCE);
    return r == 0 ? KV_OK : kv_bdb_err(b, e->err, sizeof(e->err), r, "checkpoint before the measured phase");
}

static int kv_bdb_disk_bytes(kv_engine *e, uint64_t *bytes)
{
    bdb_engine *b = (bdb_engine *)e;
    *bytes = 0;
    if (kv_dir_bytes(b->dir, bytes) != KV_OK)
        return kv_seterr(e->err, sizeof(e->err), KV_EIO, "bdb: cannot measure %s", b->dir);
    return KV_OK;
}

const kv_engine_ops kv_bdb_ops = {
    .abi_version = KV_ENGINE_ABI,
    .struct_size = sizeof(kv_engine_ops),
    .name = "bdb",
    .description = "Berkeley DB B-tree in a transactional environment: cache sized to the data set, log sync "
                   "per commit at sync",
    .caps = KV_CAP_SCAN | KV_CAP_THREADS | KV_CAP_PERSISTENT | KV_CAP_DUR_NONE | KV_CAP_DUR_SYNC |
            KV_CAP_DUR_GROUP,
    .options = kv_bdb_options,
    .lib_version = kv_bdb_lib_version,
    .open = kv_bdb_open,
    .close = kv_bdb_close,
    .describe = kv_bdb_describe,
    .session_open = kv_bdb_session_open,
    .session_close = kv_bdb_session_close,
    .get = kv_bdb_get,
    .put = kv_bdb_put,
    .del = kv_bdb_del,
    .scan = kv_bdb_scan,
    .sync = kv_bdb_sync,
    .stats = kv_bdb_stats,
    .disk_bytes = kv_bdb_disk_bytes,
    .settle = kv_bdb_settle,
};
