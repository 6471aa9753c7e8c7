/* sqlite.c - SQLite engine: kv(k INTEGER PRIMARY KEY, v BLOB) in WAL mode, one connection per session. */
#include "engine.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct sqlite_engine {
    kv_engine base;
    sqlite3 *db; /* the schema connection; kept open so the WAL is checkpointed once, at close */
    char path[4096];
    enum kv_durability durability;
    int64_t cache_kib;   /* per connection */
    uint64_t data_bytes; /* expected size of the data set */
    int cache_given;     /* cache_size came from the user */
    uint64_t budget;     /* memory budget per connection; 0 = none */
    uint64_t mmap_size;  /* requested; SQLite caps it at its compile-time SQLITE_MAX_MMAP_SIZE */
    int64_t mmap_effective;
    uint64_t busy_ms;
    int zero_copy;
    int exclusive;       /* locking_mode=EXCLUSIVE: no per-transaction file locks; one session at a time */
    int sessions;
    sqlite3 *live;       /* a session's connection, for stats() when the schema connection is closed */
    char journal[16];
    enum kv_pages pages;
    int wal_frames_left;  /* after settle's checkpoint: WAL frames not copied back (0 when complete) */
    char pages_note[400]; /* what settle's madvise of the db file mapping did */
} sqlite_engine;

typedef struct sqlite_session {
    kv_session base;
    sqlite3 *db;
    sqlite3_stmt *get, *put, *del, *scan;
    sqlite3_stmt *pending; /* a stepped get whose row a caller may still be reading */
    unsigned char *buf;    /* copy mode: the last value */
    size_t bufcap;
} sqlite_session;

#define SQLITE_SMALL_CACHE (8ull << 20)
#define SQLITE_ROW_OVERHEAD 40 /* B-tree cell + page slack per ~100-byte row, measured by page count */

static const kv_option_spec kv_sqlite_options[] = {
    {"cache_size", "page cache per connection in bytes (K/M/G); default 8M while mmap covers the data set "
                   "(less if the memory budget / threads is smaller), else budget / threads or 1.5 x the "
                   "data set (min 64M)"},
    {"mmap_size", "bytes of the database file read through mmap (K/M/G); default 2 x the data set, min "
                  "256M (capped by the library's SQLITE_MAX_MMAP_SIZE)"},
    {"zero_copy", "1: get returns a pointer into SQLite's row (statement stays stepped until the next "
                  "call; default); 0: copy into a session buffer"},
    {"busy_timeout", "milliseconds a connection waits for a lock held by another session; default 10000"},
    {"exclusive", "1: locking_mode=EXCLUSIVE, WAL index in heap memory, no file lock per transaction, one "
                  "session at a time; 0: normal locking (sessions in parallel); default 1 when threads=1"},
    {NULL, NULL},
};

static const char *kv_sqlite_lib_version(void) { return sqlite3_libversion(); }

static int kv_sqlite_status(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_NOMEM: return KV_ENOMEM;
    case SQLITE_FULL: return KV_ENOSPC;
    case SQLITE_CORRUPT: case SQLITE_NOTADB: return KV_ECORRUPT;
    case SQLITE_BUSY: case SQLITE_LOCKED: return KV_EBUSY;
    case SQLITE_MISUSE: case SQLITE_RANGE: case SQLITE_TOOBIG: return KV_EINVAL;
    default: return KV_EIO;
    }
}

static int kv_sqlite_err(char *err, size_t errlen, sqlite3 *db, int rc, const char *what, const char *path)
{
    return kv_seterr(err, errlen, kv_sqlite_status(rc), "sqlite: %s%s%s: %s (%s)", what, path ? " " : "",
                     path ? path : "", db ? sqlite3_errmsg(db) : sqlite3_errstr(rc), sqlite3_errstr(rc));
}

static int kv_sqlite_exec(sqlite3 *db, const char *sql, char *err, size_t errlen)
{
    int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? KV_OK : kv_sqlite_err(err, errlen, db, rc, sql, NULL);
}

static int64_t kv_sqlite_pragma_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st;
    int64_t v = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return -1;
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* Per-connection settings: every session connection gets the same ones. */
static int kv_sqlite_connect(sqlite_engine *q, sqlite3 **out, char *err, size_t errlen)
{
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(q->path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                             NULL);
    if (rc != SQLITE_OK) {
        kv_sqlite_err(err, errlen, db, rc, "open", q->path);
        sqlite3_close(db);
        return kv_sqlite_status(rc);
    }
    char sql[256];
    snprintf(sql, sizeof(sql),
             "PRAGMA locking_mode=%s; PRAGMA journal_mode=WAL; PRAGMA synchronous=%s; PRAGMA cache_size=-%lld; "
             "PRAGMA mmap_size=%llu; PRAGMA temp_store=MEMORY;",
             q->exclusive ? "EXCLUSIVE" : "NORMAL", q->durability == KV_DUR_NONE ? "OFF" : "FULL",
             (long long)q->cache_kib,
             (unsigned long long)q->mmap_size);
    int r = kv_sqlite_exec(db, sql, err, errlen);
    if (r == KV_OK)
        sqlite3_busy_timeout(db, (int)q->busy_ms);
    if (r != KV_OK) {
        sqlite3_close(db);
        return r;
    }
    *out = db;
    return KV_OK;
}

static int kv_sqlite_close(kv_engine *e)
{
    sqlite_engine *q = (sqlite_engine *)e;
    int rc = KV_OK;
    if (q->db) {
        int r = sqlite3_close(q->db); /* the last connection checkpoints the WAL into the db file */
        if (r != SQLITE_OK)
            rc = kv_sqlite_err(e->err, sizeof(e->err), q->db, r, "close", q->path);
    }
    free(q);
    return rc;
}

static int kv_sqlite_parse(const kv_config *cfg, sqlite_engine *q, char *err, size_t errlen)
{
    uint64_t data = kv_data_bytes(cfg, SQLITE_ROW_OVERHEAD);
    uint64_t threads = cfg->threads > 1 ? (uint64_t)cfg->threads : 1;
    /* With the data set mmap'd, the page cache only holds dirty and in-use pages; a large one made gets
     * and puts slower (bigger pcache hash, no recycling; see README), so it stays small unless the map
     * turns out not to cover the data (checked after open) or the user asked. */
    uint64_t cache = SQLITE_SMALL_CACHE;
    q->budget = cfg->memory_budget / threads;
    if (q->budget && q->budget < cache)
        cache = q->budget;
    q->cache_given = kv_config_opt(cfg, "cache_size") != NULL;
    q->data_bytes = data;
    q->mmap_size = 2 * data < (256u << 20) ? (256u << 20) : 2 * data;
    q->busy_ms = 10000;
    q->zero_copy = 1;
    q->exclusive = threads == 1;
    int rc = kv_config_opt_u64(cfg, "cache_size", &cache, err, errlen);
    if (rc == KV_OK)
        rc = kv_config_opt_u64(cfg, "mmap_size", &q->mmap_size, err, errlen);
    if (rc == KV_OK)
        rc = kv_config_opt_bool(cfg, "zero_copy", &q->zero_copy, err, errlen);
    if (rc == KV_OK)
        rc = kv_config_opt_u64(cfg, "busy_timeout", &q->busy_ms, err, errlen);
    if (rc == KV_OK)
        rc = kv_config_opt_bool(cfg, "exclusive", &q->exclusive, err, errlen);
    if (rc != KV_OK)
        return rc;
    if (q->exclusive && threads > 1)
        return kv_seterr(err, errlen, KV_EINVAL, "sqlite: exclusive=1 allows one session, but threads=%llu",
                         (unsigned long long)threads);
    if (cache < 1024 || q->busy_ms > 3600000 || q->mmap_size > (1ull << 46))
        return kv_seterr(err, errlen, KV_EINVAL,
                         "sqlite: cache_size must be >= 1K, busy_timeout <= 3600000 ms, mmap_size <= 64T");
    q->cache_kib = (int64_t)(cache >> 10);
    return KV_OK;
}

static int kv_sqlite_open(const kv_config *cfg, kv_engine **out, char *err, size_t errlen)
{
    sqlite_engine *q = calloc(1, sizeof(*q));
    if (!q)
        return kv_seterr(err, errlen, KV_ENOMEM, "sqlite: out of memory");
    int rc = kv_sqlite_parse(cfg, q, err, errlen);
    if (rc == KV_OK && (size_t)snprintf(q->path, sizeof(q->path), "%s/kv.sqlite", cfg->dir) >= sizeof(q->path))
        rc = kv_seterr(err, errlen, KV_EINVAL, "sqlite: directory path too long: %s", cfg->dir);
    q->durability = cfg->durability;
    q->pages = cfg->pages;
    q->wal_frames_left = -1;
    if (rc == KV_OK)
        rc = kv_sqlite_connect(q, &q->db, err, errlen);
    if (rc == KV_OK)
        rc = kv_sqlite_exec(q->db, "CREATE TABLE IF NOT EXISTS kv(k INTEGER PRIMARY KEY, v BLOB NOT NULL)",
                            err, errlen);
    if (rc != KV_OK) {
        kv_sqlite_close(&q->base);
        return rc;
    }
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(q->db, "PRAGMA journal_mode", -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW)
            snprintf(q->journal, sizeof(q->journal), "%s", (const char *)sqlite3_column_text(st, 0));
        sqlite3_finalize(st);
    }
    q->mmap_effective = kv_sqlite_pragma_int(q->db, "PRAGMA mmap_size");
    if (!q->cache_given && (uint64_t)(q->mmap_effective < 0 ? 0 : q->mmap_effective) < q->data_bytes) {
        uint64_t cache = q->data_bytes + q->data_bytes / 2; /* reads go through the page cache */
        if (cache < (64u << 20))
            cache = 64u << 20;
        q->cache_kib = (int64_t)((q->budget ? q->budget : cache) >> 10);
    }
    if (q->exclusive) { /* the session connection will hold the only lock */
        sqlite3_close(q->db);
        q->db = NULL;
    }
    *out = &q->base;
    return KV_OK;
}

static void kv_sqlite_describe(kv_engine *e, kv_pair_cb cb, void *arg)
{
    sqlite_engine *q = (sqlite_engine *)e;
    cb(arg, "schema", "kv(k INTEGER PRIMARY KEY, v BLOB NOT NULL): k is the rowid B-tree key");
    cb(arg, "journal_mode", q->journal);
    cb(arg, "locking_mode", q->exclusive ? "EXCLUSIVE (WAL index in heap, one session at a time)" : "NORMAL");
    cb(arg, "synchronous", q->durability == KV_DUR_NONE ? "OFF" : "FULL");
    kv_describe_u64(cb, arg, "cache_size_bytes_per_connection", (uint64_t)q->cache_kib << 10);
    kv_describe_u64(cb, arg, "mmap_size_requested", q->mmap_size);
    kv_describe_u64(cb, arg, "mmap_size_effective", (uint64_t)(q->mmap_effective < 0 ? 0 : q->mmap_effective));
    kv_describe_u64(cb, arg, "busy_timeout_ms", q->busy_ms);
    cb(arg, "connection", "one per session, SQLITE_OPEN_NOMUTEX, prepared statements");
    cb(arg, "put", "INSERT OR REPLACE, autocommit (one transaction per write)");
    cb(arg, "get", q->zero_copy ? "zero copy (row pointer; statement reset at the next call)"
                                : "copy into a session buffer");
    cb(arg, "wal_autocheckpoint_pages", "1000 (default)");
    cb(arg, "settle", "wal_checkpoint(TRUNCATE) before the measured phase: reads come from the mapped db file, "
                      "with no WAL frames to look up first");
    if (q->pages_note[0])
        cb(arg, "pages", q->pages_note);
}

static void kv_sqlite_stats(kv_engine *e, kv_pair_cb cb, void *arg)
{
    sqlite_engine *q = (sqlite_engine *)e;
    sqlite3 *db = q->db ? q->db : q->live;
    if (db) {
        kv_describe_u64(cb, arg, "page_size", (uint64_t)kv_sqlite_pragma_int(db, "PRAGMA page_size"));
        kv_describe_u64(cb, arg, "page_count", (uint64_t)kv_sqlite_pragma_int(db, "PRAGMA page_count"));
        kv_describe_u64(cb, arg, "freelist_count", (uint64_t)kv_sqlite_pragma_int(db, "PRAGMA freelist_count"));
    }
    if (q->wal_frames_left >= 0)
        kv_describe_u64(cb, arg, "settle_wal_frames_left", (uint64_t)q->wal_frames_left);
    sqlite3_int64 cur = 0, hi = 0;
    sqlite3_status64(SQLITE_STATUS_MEMORY_USED, &cur, &hi, 0);
    kv_describe_u64(cb, arg, "library_memory_used", (uint64_t)cur);
}

static int kv_sqlite_session_prepare(sqlite_session *s)
{
    static const char *sql[4] = {
        "SELECT v FROM kv WHERE k=?1",
        "INSERT OR REPLACE INTO kv(k, v) VALUES(?1, ?2)",
        "DELETE FROM kv WHERE k=?1",
        "SELECT k, v FROM kv WHERE k>=?1 ORDER BY k LIMIT ?2",
    };
    sqlite3_stmt **st[4] = {&s->get, &s->put, &s->del, &s->scan};
    for (int i = 0; i < 4; i++) {
        int rc = sqlite3_prepare_v3(s->db, sql[i], -1, SQLITE_PREPARE_PERSISTENT, st[i], NULL);
        if (rc != SQLITE_OK)
            return kv_sqlite_err(s->base.engine->err, sizeof(s->base.engine->err), s->db, rc, sql[i], NULL);
    }
    return KV_OK;
}

static void kv_sqlite_session_close(kv_session *ss)
{
    sqlite_session *s = (sqlite_session *)ss;
    sqlite3_finalize(s->get);
    sqlite3_finalize(s->put);
    sqlite3_finalize(s->del);
    sqlite3_finalize(s->scan);
    sqlite_engine *q = (sqlite_engine *)ss->engine;
    if (q->live == s->db)
        q->live = NULL;
    if (s->db)
        q->sessions--;
    sqlite3_close(s->db);
    free(s->buf);
    free(s);
}

static int kv_sqlite_session_open(kv_engine *e, kv_session **out)
{
    sqlite_engine *q = (sqlite_engine *)e;
    sqlite_session *s = calloc(1, sizeof(*s));
    if (!s)
        return kv_seterr(e->err, sizeof(e->err), KV_ENOMEM, "sqlite: out of memory");
    s->base.engine = e;
    if (q->exclusive && q->sessions > 0) {
        free(s);
        return kv_seterr(e->err, sizeof(e->err), KV_ENOTSUP,
                         "sqlite: exclusive locking allows one session at a time (use -o exclusive=0)");
    }
    int rc = kv_sqlite_connect(q, &s->db, e->err, sizeof(e->err));
    if (rc == KV_OK) {
        q->sessions++;
        q->live = s->db;
    }
    if (rc == KV_OK)
        rc = kv_sqlite_session_prepare(s);
    if (rc != KV_OK) {
        kv_sqlite_session_close(&s->base);
        return rc;
    }
    *out = &s->base;
    return KV_OK;
}

/* A get left its statement on a row so the caller could read the blob in place; finish it now so the
 * read transaction ends before this session does anything else. */
static inline void kv_sqlite_release(sqlite_session *s)
{
    if (s->pending) {
        sqlite3_reset(s->pending);
        s->pending = NULL;
    }
}

static int kv_sqlite_copy(sqlite_session *s, const void *p, size_t n, kv_slice *val)
{
    if (n > s->bufcap) {
        size_t cap = n < 256 ? 256 : n;
        unsigned char *b = realloc(s->buf, cap); /* grows to the largest value once, then reused */
        if (!b)
            return kv_seterr(s->base.err, sizeof(s->base.err), KV_ENOMEM, "sqlite: out of memory");
        s->buf = b;
        s->bufcap = cap;
    }
    if (n)
        memcpy(s->buf, p, n);
    val->data = s->buf ? (const void *)s->buf : (const void *)"";
    val->len = n;
    return KV_OK;
}

static int kv_sqlite_get(kv_session *ss, int64_t key, kv_slice *val)
{
    sqlite_session *s = (sqlite_session *)ss;
    kv_sqlite_release(s);
    sqlite3_bind_int64(s->get, 1, key);
    int rc = sqlite3_step(s->get);
    if (rc == SQLITE_DONE) {
        sqlite3_reset(s->get);
        return KV_NOTFOUND;
    }
    if (rc != SQLITE_ROW) {
        sqlite3_reset(s->get);
        return kv_sqlite_err(ss->err, sizeof(ss->err), s->db, rc, "get", NULL);
    }
    const void *p = sqlite3_column_blob(s->get, 0);
    size_t n = (size_t)sqlite3_column_bytes(s->get, 0);
    if (!((sqlite_engine *)ss->engine)->zero_copy) {
        int r = kv_sqlite_copy(s, p, n, val);
        sqlite3_reset(s->get);
        return r;
    }
    val->data = p ? p : ""; /* SQLite answers NULL for an empty blob */
    val->len = n;
    s->pending = s->get;
    return KV_OK;
}

static int kv_sqlite_run(sqlite_session *s, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return kv_sqlite_err(s->base.err, sizeof(s->base.err), s->db, rc, what, NULL);
    return KV_OK;
}

static int kv_sqlite_put(kv_session *ss, int64_t key, const void *val, size_t len)
{
    sqlite_session *s = (sqlite_session *)ss;
    kv_sqlite_release(s);
    if (len > INT32_MAX)
        return kv_seterr(ss->err, sizeof(ss->err), KV_EINVAL, "sqlite: value of %zu bytes too large", len);
    sqlite3_bind_int64(s->put, 1, key);
    sqlite3_bind_blob(s->put, 2, len ? val : "", (int)len, SQLITE_STATIC); /* non-NULL: empty blob, not NULL */
    int rc = kv_sqlite_run(s, s->put, "put");
    sqlite3_bind_null(s->put, 2); /* drop the caller's pointer */
    return rc;
}

static int kv_sqlite_del(kv_session *ss, int64_t key)
{
    sqlite_session *s = (sqlite_session *)ss;
    kv_sqlite_release(s);
    sqlite3_bind_int64(s->del, 1, key);
    return kv_sqlite_run(s, s->del, "del");
}

static int kv_sqlite_scan(kv_session *ss, int64_t from, size_t count, kv_scan_cb cb, void *arg,
                          size_t *visited)
{
    sqlite_session *s = (sqlite_session *)ss;
    kv_sqlite_release(s);
    *visited = 0;
    sqlite3_bind_int64(s->scan, 1, from);
    sqlite3_bind_int64(s->scan, 2, count > INT64_MAX ? INT64_MAX : (sqlite3_int64)count);
    int rc;
    while ((rc = sqlite3_step(s->scan)) == SQLITE_ROW) {
        const void *p = sqlite3_column_blob(s->scan, 1);
        kv_slice v = {p ? p : "", (size_t)sqlite3_column_bytes(s->scan, 1)};
        (*visited)++;
        if (cb(arg, sqlite3_column_int64(s->scan, 0), v)) {
            rc = SQLITE_DONE;
            break;
        }
    }
    sqlite3_reset(s->scan);
    if (rc != SQLITE_DONE)
        return kv_sqlite_err(ss->err, sizeof(ss->err), s->db, rc, "scan", NULL);
    return KV_OK;
}

static int kv_sqlite_sync(kv_session *ss)
{
    sqlite_session *s = (sqlite_session *)ss;
    kv_sqlite_release(s);
    /* synchronous=OFF leaves the WAL unsynced; a full checkpoint fsyncs the WAL and the db file */
    int rc = sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_FULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return kv_sqlite_err(ss->err, sizeof(ss->err), s->db, rc, "checkpoint", NULL);
    return KV_OK;
}

static int kv_sqlite_disk_bytes(kv_engine *e, uint64_t *bytes)
{
    sqlite_engine *q = (sqlite_engine *)e;
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s", q->path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    *bytes = 0;
    if (kv_dir_bytes(dir, bytes) != KV_OK)
        return kv_seterr(e->err, sizeof(e->err), KV_EIO, "sqlite: cannot measure %s", dir);
    return KV_OK;
}

/* Steady state before the measured phase: the WAL copied back into the db file and truncated (a long-
 * running store checkpoints continually), then the page policy applied to the db file's mappings. */
static int kv_sqlite_settle(kv_engine *e)
{
    sqlite_engine *q = (sqlite_engine *)e;
    sqlite3 *db = q->db ? q->db : q->live;
    if (!db)
        return KV_OK;
    /* a get's statement may still hold its row (zero copy): end that read transaction first */
    for (sqlite3_stmt *st = sqlite3_next_stmt(db, NULL); st; st = sqlite3_next_stmt(db, st))
        if (sqlite3_stmt_busy(st))
            sqlite3_reset(st);
    int log = 0, done = 0;
    int rc = sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_TRUNCATE, &log, &done);
    if (rc != SQLITE_OK)
        return kv_sqlite_err(e->err, sizeof(e->err), db, rc, "wal_checkpoint(TRUNCATE) before the measured phase",
                             q->path);
    q->wal_frames_left = log > done ? log - done : 0;
    /* one read maps the checkpointed file at its full size, so the advice covers all of it */
    int64_t top = kv_sqlite_pragma_int(db, "SELECT max(k) FROM kv");
    (void)top;
    char err[200] = "";
    int n = 0;
    rc = kv_pages_advise_file(q->path, q->pages, &n, err, sizeof(err));
    snprintf(q->pages_note, sizeof(q->pages_note), "%s on %d mapping(s) of the db file after settle%s%s",
             q->pages == KV_PAGES_HUGE ? "MADV_HUGEPAGE" : "MADV_NOHUGEPAGE", n, rc == KV_OK ? "" : ": ",
             rc == KV_OK ? "" : err);
    return KV_OK;
}

const kv_engine_ops kv_sqlite_ops = {
    .abi_version = KV_ENGINE_ABI,
    .struct_size = sizeof(kv_engine_ops),
    .name = "sqlite",
    .description = "SQLite rowid B-tree, WAL mode, one connection and prepared statements per session",
    .caps = KV_CAP_SCAN | KV_CAP_THREADS | KV_CAP_ZERO_COPY | KV_CAP_PERSISTENT | KV_CAP_DUR_NONE |
            KV_CAP_DUR_SYNC,
    .options = kv_sqlite_options,
    .lib_version = kv_sqlite_lib_version,
    .open = kv_sqlite_open,
    .close = kv_sqlite_close,
    .describe = kv_sqlite_describe,
    .session_open = kv_sqlite_session_open,
    .session_close = kv_sqlite_session_close,
    .get = kv_sqlite_get,
    .put = kv_sqlite_put,
    .del = kv_sqlite_del,
    .scan = kv_sqlite_scan,
    .sync = kv_sqlite_sync,
    .stats = kv_sqlite_stats,
    .disk_bytes = kv_sqlite_disk_bytes,
    .settle = kv_sqlite_settle,
};
