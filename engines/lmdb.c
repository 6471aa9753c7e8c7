/* lmdb.c - LMDB engine: one env, one B+tree, one write txn per put/del, session-owned read txn. */
#include "engine.h"

#include <errno.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct lmdb_engine {
    kv_engine base;
    MDB_env *env;
    MDB_dbi dbi;
    uint64_t mapsize;
    int integerkey;  /* 1: native uint64 + MDB_INTEGERKEY; 0: big-endian + memcmp */
    int reuse_txn;   /* 1: keep the read txn while no write committed; 0: reset+renew every read */
    int writemap;    /* 1: MDB_WRITEMAP, commits write into the shared map instead of write() */
    unsigned envflags;
    unsigned maxreaders;
    enum kv_durability durability;
    enum kv_pages pages;
    char pages_note[400]; /* which mappings got which advice, or why none */
} lmdb_engine;

typedef struct lmdb_session {
    kv_session base;
    MDB_txn *rtxn;   /* read txn, reset between uses; NULL until the first read */
    int rtxn_live;   /* renewed and not yet reset */
    MDB_cursor *cur; /* scan cursor bound to rtxn */
    uint64_t keybuf;
} lmdb_session;

#define LMDB_DEFAULT_MAPSIZE (1ull << 40) /* address space only: the file grows with the data */

static const kv_option_spec kv_lmdb_options[] = {
    {"mapsize", "maximum database size in bytes (K/M/G); address space only, the file stays sparse; "
                "default 1T"},
    {"integerkey", "1: sign-flipped native uint64 keys with MDB_INTEGERKEY (default); 0: big-endian keys "
                   "compared with memcmp; fixed when the store is created"},
    {"reuse_txn", "1: a session keeps its read txn until another txn commits (default); 0: reset+renew "
                  "on every read"},
    {"writemap", "1: MDB_WRITEMAP, commits are stores into the shared map (the file is sized to mapsize, "
                 "sparse); 0: write() per dirty page. Default 1 at durability none, 0 otherwise"},
    {NULL, NULL},
};

static const char *kv_lmdb_lib_version(void) { return mdb_version(NULL, NULL, NULL); }

/* Order-preserving key encoding: flipping the sign bit maps INT64_MIN..INT64_MAX onto 0..UINT64_MAX. */
static inline uint64_t kv_lmdb_enc(const lmdb_engine *l, int64_t k)
{
    uint64_t u = (uint64_t)k ^ (1ull << 63);
    return l->integerkey ? u : __builtin_bswap64(u);
}

static inline int64_t kv_lmdb_dec(const lmdb_engine *l, const void *p)
{
    uint64_t u;
    memcpy(&u, p, 8);
    if (!l->integerkey)
        u = __builtin_bswap64(u);
    return (int64_t)(u ^ (1ull << 63));
}

static int kv_lmdb_status(int rc)
{
    switch (rc) {
    case MDB_MAP_FULL: case ENOSPC: case EFBIG: return KV_ENOSPC;
    case ENOMEM: return KV_ENOMEM;
    case MDB_CORRUPTED: case MDB_PAGE_NOTFOUND: case MDB_INVALID: case MDB_VERSION_MISMATCH:
        return KV_ECORRUPT;
    case EINVAL: case MDB_INCOMPATIBLE: case MDB_BAD_VALSIZE: return KV_EINVAL;
    case EAGAIN: case EBUSY: return KV_EBUSY;
    default: return KV_EIO;
    }
}

static int kv_lmdb_err(char *err, size_t errlen, int rc, const char *what, const char *dir)
{
    const char *hint = rc == MDB_MAP_FULL ? " (raise -o mapsize)" :
                       rc == MDB_INCOMPATIBLE ? " (the store was created with another integerkey setting)" : "";
    return kv_seterr(err, errlen, kv_lmdb_status(rc), "lmdb: %s%s%s: %s%s", what, dir ? " " : "",
                     dir ? dir : "", mdb_strerror(rc), hint);
}

static int kv_lmdb_parse(const kv_config *cfg, lmdb_engine *l, char *err, size_t errlen)
{
    l->mapsize = LMDB_DEFAULT_MAPSIZE;
    l->integerkey = 1;
    l->reuse_txn = 1;
    int rc = kv_config_opt_u64(cfg, "mapsize", &l->mapsize, err, errlen);
    if (rc == KV_OK)
        rc = kv_config_opt_bool(cfg, "integerkey", &l->integerkey, err, errlen);
    if (rc == KV_OK)
        rc = kv_config_opt_bool(cfg, "reuse_txn", &l->reuse_txn, err, errlen);
    l->writemap = cfg->durability == KV_DUR_NONE;
    if (rc == KV_OK)
        rc = kv_config_opt_bool(cfg, "writemap", &l->writemap, err, errlen);
    if (rc == KV_OK && l->mapsize < (1u << 20))
        rc = kv_seterr(err, errlen, KV_EINVAL, "lmdb: option mapsize=%llu is below 1M",
                       (unsigned long long)l->mapsize);
    return rc;
}

static int kv_lmdb_close(kv_engine *e)
{
    lmdb_engine *l = (lmdb_engine *)e;
    int rc = KV_OK;
    if (l->env) {
        if (l->durability != KV_DUR_NONE) {
            int r = mdb_env_sync(l->env, 1);
            if (r != 0)
                rc = kv_lmdb_err(e->err, sizeof(e->err), r, "sync on close", NULL);
        }
        mdb_env_close(l->env);
    }
    free(l);
    return rc;
}

/* The page policy on the map LMDB owns. mdb_env_info's me_mapaddr is only set with MDB_FIXEDMAP, so
 * the map is found by its file in /proc/self/maps. The advice sets the mapping's VM_HUGEPAGE /
 * VM_NOHUGEPAGE: page-cache folios faulted in through it afterwards (reads after a cold open; every
 * new page under MDB_WRITEMAP) may then be 2 MiB and mapped by one PMD. */
static void kv_lmdb_advise_map(lmdb_engine *l, const char *dir)
{
    char path[4200], err[200] = "";
    snprintf(path, sizeof(path), "%s/data.mdb", dir);
    int n = 0;
    int rc = kv_pages_advise_file(path, l->pages, &n, err, sizeof(err));
    snprintf(l->pages_note, sizeof(l->pages_note), "%s on %d mapping(s) of data.mdb%s%s",
             l->pages == KV_PAGES_HUGE ? "MADV_HUGEPAGE" : "MADV_NOHUGEPAGE", n, rc == KV_OK ? "" : ": ",
             rc == KV_OK ? "" : err);
}

static int kv_lmdb_open(const kv_config *cfg, kv_engine **out, char *err, size_t errlen)
{
    lmdb_engine *l = calloc(1, sizeof(*l));
    if (!l)
        return kv_seterr(err, errlen, KV_ENOMEM, "lmdb: out of memory");
    int rc = kv_lmdb_parse(cfg, l, err, errlen);
    if (rc != KV_OK) {
        free(l);
        return rc;
    }
    l->durability = cfg->durability;
    l->pages = cfg->pages;
    /* NOTLS: read txns belong to sessions, not threads. NORDAHEAD: random point reads would only waste
     * page cache on readahead. NOSYNC|NOMETASYNC for 'none': commits still go through write(), so they
     * survive a process crash, but nothing is fsync'd. */
    l->envflags = MDB_NOTLS | MDB_NORDAHEAD;
    if (cfg->durability == KV_DUR_NONE)
        l->envflags |= MDB_NOSYNC | MDB_NOMETASYNC;
    /* WRITEMAP at 'none': a commit becomes stores into the shared map (still in the page cache once
     * put returns, so it survives a process crash), the same mechanism AlexStorage uses at 'none'.
     * With fsync per commit it would msync whole dirty pages; there write() stays the default. */
    if (l->writemap)
        l->envflags |= MDB_WRITEMAP;
    int r = mdb_env_create(&l->env);
    if (r == 0)
        r = mdb_env_set_mapsize(l->env, (size_t)l->mapsize);
    l->maxreaders = 126 + (unsigned)(cfg->threads > 0 ? cfg->threads : 1); /* LMDB default + one per session */
    if (r == 0)
        r = mdb_env_set_maxreaders(l->env, l->maxreaders);
    if (r == 0)
        r = mdb_env_open(l->env, cfg->dir, l->envflags, 0644);
    MDB_txn *txn = NULL;
    if (r == 0)
        r = mdb_txn_begin(l->env, NULL, 0, &txn);
    if (r == 0)
        r = mdb_dbi_open(txn, NULL, MDB_CREATE | (l->integerkey ? MDB_INTEGERKEY : 0), &l->dbi);
    if (r == 0) {
        r = mdb_txn_commit(txn);
        txn = NULL;
    }
    if (r != 0) {
        if (txn)
            mdb_txn_abort(txn);
        kv_lmdb_err(err, errlen, r, "open", cfg->dir);
        kv_lmdb_close(&l->base);
        return kv_lmdb_status(r);
    }
    kv_lmdb_advise_map(l, cfg->dir);
    *out = &l->base;
    return KV_OK;
}

static void kv_lmdb_describe(kv_engine *e, kv_pair_cb cb, void *arg)
{
    lmdb_engine *l = (lmdb_engine *)e;
    kv_describe_u64(cb, arg, "mapsize", l->mapsize);
    kv_describe_u64(cb, arg, "maxreaders", l->maxreaders);
    cb(arg, "db", "main DB, no MDB_DUPSORT; file mode 0644; mdb_put flags 0");
    cb(arg, "key_encoding", l->integerkey ? "sign-flipped native uint64, MDB_INTEGERKEY"
                                          : "sign-flipped big-endian uint64, memcmp");
    char flags[128];
    snprintf(flags, sizeof(flags), "MDB_NOTLS|MDB_NORDAHEAD%s%s",
             l->durability == KV_DUR_NONE ? "|MDB_NOSYNC|MDB_NOMETASYNC" : "", l->writemap ? "|MDB_WRITEMAP" : "");
    cb(arg, "env_flags", flags);
    cb(arg, "write_txn", "one per put/del");
    cb(arg, "read_txn", l->reuse_txn ? "per session, renewed only when a newer txn committed"
                                     : "per session, reset+renew on every read");
    cb(arg, "get", "zero copy (pointer into the map)");
    cb(arg, "pages", l->pages_note);
    cb(arg, "durability", l->durability != KV_DUR_NONE ? "sync: fsync per commit (LMDB default)"
                          : l->writemap ? "none: commit = stores into the shared map, no fsync"
                                        : "none: write() per commit, no fsync");
}

static void kv_lmdb_stats(kv_engine *e, kv_pair_cb cb, void *arg)
{
    lmdb_engine *l = (lmdb_engine *)e;
    MDB_envinfo info;
    MDB_stat st;
    MDB_txn *txn;
    if (mdb_env_info(l->env, &info) == 0) {
        kv_describe_u64(cb, arg, "last_txnid", info.me_last_txnid);
        kv_describe_u64(cb, arg, "last_pgno", info.me_last_pgno);
        kv_describe_u64(cb, arg, "readers_used", info.me_numreaders);
    }
    if (mdb_txn_begin(l->env, NULL, MDB_RDONLY, &txn) != 0)
        return;
    if (mdb_stat(txn, l->dbi, &st) == 0) {
        kv_describe_u64(cb, arg, "entries", st.ms_entries);
        kv_describe_u64(cb, arg, "depth", st.ms_depth);
        kv_describe_u64(cb, arg, "page_size", st.ms_psize);
        kv_describe_u64(cb, arg, "branch_pages", st.ms_branch_pages);
        kv_describe_u64(cb, arg, "leaf_pages", st.ms_leaf_pages);
        kv_describe_u64(cb, arg, "overflow_pages", st.ms_overflow_pages);
    }
    mdb_txn_abort(txn);
}

static int kv_lmdb_session_open(kv_engine *e, kv_session **out)
{
    lmdb_session *s = calloc(1, sizeof(*s));
    if (!s)
        return kv_seterr(e->err, sizeof(e->err), KV_ENOMEM, "lmdb: out of memory");
    lmdb_engine *l = (lmdb_engine *)e;
    int r = mdb_txn_begin(l->env, NULL, MDB_RDONLY, &s->rtxn);
    if (r == 0)
        r = mdb_cursor_open(s->rtxn, l->dbi, &s->cur);
    if (r != 0) {
        if (s->rtxn)
            mdb_txn_abort(s->rtxn);
        free(s);
        return kv_lmdb_err(e->err, sizeof(e->err), r, "begin read txn", NULL);
    }
    mdb_txn_reset(s->rtxn); /* holds no snapshot while idle */
    s->base.engine = e;
    *out = &s->base;
    return KV_OK;
}

static void kv_lmdb_session_close(kv_session *ss)
{
    lmdb_session *s = (lmdb_session *)ss;
    mdb_cursor_close(s->cur);
    mdb_txn_abort(s->rtxn);
    free(s);
}

/* Make the session's read txn see the latest commit. mdb_env_info reads the last txnid from the
 * shared meta page without a lock, so an unchanged snapshot costs no reader-table traffic. */
static int kv_lmdb_begin_read(lmdb_session *s)
{
    lmdb_engine *l = (lmdb_engine *)s->base.engine;
    if (s->rtxn_live) {
        if (l->reuse_txn) {
            MDB_envinfo info;
            mdb_env_info(l->env, &info);
            if (info.me_last_txnid == mdb_txn_id(s->rtxn))
                return KV_OK;
        }
        mdb_txn_reset(s->rtxn);
        s->rtxn_live = 0;
    }
    int r = mdb_txn_renew(s->rtxn);
    if (r == 0)
        r = mdb_cursor_renew(s->rtxn, s->cur);
    if (r != 0)
        return kv_lmdb_err(s->base.err, sizeof(s->base.err), r, "renew read txn", NULL);
    s->rtxn_live = 1;
    return KV_OK;
}

static int kv_lmdb_get(kv_session *ss, int64_t key, kv_slice *val)
{
    lmdb_session *s = (lmdb_session *)ss;
    lmdb_engine *l = (lmdb_engine *)ss->engine;
    int rc = kv_lmdb_begin_read(s);
    if (rc != KV_OK)
        return rc;
    s->keybuf = kv_lmdb_enc(l, key);
    MDB_val k = {8, &s->keybuf}, v;
    int r = mdb_get(s->rtxn, l->dbi, &k, &v);
    if (r == MDB_NOTFOUND)
        return KV_NOTFOUND;
    if (r != 0)
        return kv_lmdb_err(ss->err, sizeof(ss->err), r, "get", NULL);
    val->data = v.mv_data;
    val->len = v.mv_size;
    return KV_OK;
}

/* One write txn per call: each acknowledged write stands alone. */
static int kv_lmdb_write(kv_session *ss, int64_t key, const void *data, size_t len, int del)
{
    lmdb_engine *l = (lmdb_engine *)ss->engine;
    uint64_t kb = kv_lmdb_enc(l, key);
    MDB_val k = {8, &kb}, v = {len, (void *)data};
    MDB_txn *txn;
    int r = mdb_txn_begin(l->env, NULL, 0, &txn);
    if (r != 0)
        return kv_lmdb_err(ss->err, sizeof(ss->err), r, "begin write txn", NULL);
    r = del ? mdb_del(txn, l->dbi, &k, NULL) : mdb_put(txn, l->dbi, &k, &v, 0);
    if (del && r == MDB_NOTFOUND) {
        mdb_txn_abort(txn);
        return KV_OK;
    }
    if (r != 0) {
        mdb_txn_abort(txn);
        return kv_lmdb_err(ss->err, sizeof(ss->err), r, del ? "del" : "put", NULL);
    }
    r = mdb_txn_commit(txn);
    if (r != 0)
        return kv_lmdb_err(ss->err, sizeof(ss->err), r, "commit", NULL);
    return KV_OK;
}

static int kv_lmdb_put(kv_session *s, int64_t key, const void *val, size_t len)
{
    static const char empty[1];
    return kv_lmdb_write(s, key, len ? val : empty, len, 0);
}

static int kv_lmdb_del(kv_session *s, int64_t key) { return kv_lmdb_write(s, key, NULL, 0, 1); }

static int kv_lmdb_scan(kv_session *ss, int64_t from, size_t count, kv_scan_cb cb, void *arg,
                        size_t *visited)
{
    lmdb_session *s = (lmdb_session *)ss;
    lmdb_engine *l = (lmdb_engine *)ss->engine;
    *visited = 0;
    int rc = kv_lmdb_begin_read(s);
    if (rc != KV_OK)
        return rc;
    s->keybuf = kv_lmdb_enc(l, from);
    MDB_val k = {8, &s->keybuf}, v;
    int r = mdb_cursor_get(s->cur, &k, &v, MDB_SET_RANGE);
    while (r == 0 && *visited < count) {
        (*visited)++;
        if (cb(arg, kv_lmdb_dec(l, k.mv_data), (kv_slice){v.mv_data, v.mv_size}))
            return KV_OK;
        r = mdb_cursor_get(s->cur, &k, &v, MDB_NEXT);
    }
    if (r != 0 && r != MDB_NOTFOUND)
        return kv_lmdb_err(ss->err, sizeof(ss->err), r, "scan", NULL);
    return KV_OK;
}

static int kv_lmdb_sync(kv_session *s)
{
    int r = mdb_env_sync(((lmdb_engine *)s->engine)->env, 1);
    return r ? kv_lmdb_err(s->err, sizeof(s->err), r, "sync", NULL) : KV_OK;
}

static int kv_lmdb_disk_bytes(kv_engine *e, uint64_t *bytes)
{
    const char *path;
    lmdb_engine *l = (lmdb_engine *)e;
    *bytes = 0;
    if (mdb_env_get_path(l->env, &path) != 0 || kv_dir_bytes(path, bytes) != KV_OK)
        return kv_seterr(e->err, sizeof(e->err), KV_EIO, "lmdb: cannot measure the store directory");
    return KV_OK;
}

const kv_engine_ops kv_lmdb_ops = {
    .abi_version = KV_ENGINE_ABI,
    .struct_size = sizeof(kv_engine_ops),
    .name = "lmdb",
    .description = "LMDB B+tree in a shared mmap; single writer, zero-copy reads",
    .caps = KV_CAP_SCAN | KV_CAP_THREADS | KV_CAP_ZERO_COPY | KV_CAP_PERSISTENT | KV_CAP_DUR_NONE |
            KV_CAP_DUR_SYNC,
    .options = kv_lmdb_options,
    .lib_version = kv_lmdb_lib_version,
    .open = kv_lmdb_open,
    .close = kv_lmdb_close,
    .describe = kv_lmdb_describe,
    .session_open = kv_lmdb_session_open,
    .session_close = kv_lmdb_session_close,
    .get = kv_lmdb_get,
    .put = kv_lmdb_put,
    .del = kv_lmdb_del,
    .scan = kv_lmdb_scan,
    .sync = kv_lmdb_sync,
    .stats = kv_lmdb_stats,
    .disk_bytes = kv_lmdb_disk_bytes,
};
