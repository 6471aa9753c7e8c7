/* engine.h - the kvbench engine vtable: one static kv_engine_ops per engine file, listed in registry.c.
 *
 * Conventions (read before writing an engine):
 * 1. Every hook returns an int status: KV_OK (0), KV_NOTFOUND (1, get only), or a negative KV_E* code.
 *    On a negative code the engine writes a message the user can act on into the handle's `err`
 *    (engine or session), e.g. "rocksdb: open /data/x: IO error: No space left on device".
 * 2. No engine calls exit(), abort() or prints; the harness decides what to do with an error.
 * 3. Handles subclass the base structs: an engine's own struct has `kv_engine base;` (or
 *    `kv_session base;`) as its FIRST member, and the hooks cast.
 * 4. A hook left NULL means "not supported"; the matching KV_CAP_* bit must then be clear.
 * 5. New hooks are only ever appended, after a version marker; `abi_version` and `struct_size`
 *    tell the registry which hooks a table has (SQLite's sqlite3_io_methods is the model).
 */
#ifndef KV_ENGINE_H
#define KV_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#define KV_ENGINE_ABI 2 /* tables may declare 1 (no hooks below the v1 marker) or 2 */

/* Status codes. Non-negative: outcomes; negative: errors (kv_strerror names them). */
enum kv_status {
    KV_OK = 0,
    KV_NOTFOUND = 1,   /* get/scan start: key absent (not an error) */
    KV_EINVAL = -1,    /* bad argument or option: fix the command line */
    KV_EIO = -2,       /* I/O error from the OS or the library */
    KV_ENOTSUP = -3,   /* the engine cannot do this (e.g. a durability level it cannot honour) */
    KV_ECORRUPT = -4,  /* stored data failed a checksum or format check */
    KV_ENOMEM = -5,    /* out of memory */
    KV_ENOSPC = -6,    /* disk full or file size limit */
    KV_EBUSY = -7,     /* the store is locked by another process */
    KV_EINTERNAL = -8, /* a bug: an invariant did not hold */
};
const char *kv_strerror(int status);

/* Durability levels, mapped by each engine to its own knobs (see engines/README.md). */
enum kv_durability {
    KV_DUR_NONE = 0,  /* no fsync; writes survive a process crash where the engine allows */
    KV_DUR_SYNC = 1,  /* each acknowledged write survives power loss */
    KV_DUR_GROUP = 2, /* concurrent writers share one sync (group commit) */
};
const char *kv_durability_name(enum kv_durability d);
int kv_durability_parse(const char *s, enum kv_durability *out); /* KV_OK or KV_EINVAL */

/* Capability bits, one per line. */
#define KV_CAP_SCAN       (1ull << 0) /* scan() returns keys >= from in ascending order */
#define KV_CAP_BULK_LOAD  (1ull << 1) /* bulk_load() of sorted, distinct keys */
#define KV_CAP_THREADS    (1ull << 2) /* several sessions may be used at once from different threads */
#define KV_CAP_ZERO_COPY  (1ull << 3) /* get() returns a pointer into the engine's own memory */
#define KV_CAP_PERSISTENT (1ull << 4) /* data survives close + reopen of the same directory */
#define KV_CAP_DUR_NONE   (1ull << 5) /* honours KV_DUR_NONE */
#define KV_CAP_DUR_SYNC   (1ull << 6) /* honours KV_DUR_SYNC */
#define KV_CAP_DUR_GROUP  (1ull << 7) /* honours KV_DUR_GROUP */
#define KV_CAP_DISCARDS   (1ull << 8) /* stores nothing (null engine): reads are not verified */
#define KV_CAP_DUR(d) (KV_CAP_DUR_NONE << (d))

/* A byte range owned by someone else (engine memory or a session buffer). */
typedef struct kv_slice {
    const void *data;
    size_t len;
} kv_slice;

typedef struct kv_option {
    const char *key;
    const char *value;
} kv_option;

/* Declared per engine: the -o keys it accepts; the registry rejects any other key before open. */
typedef struct kv_option_spec {
    const char *key;
    const char *help; /* one line: meaning, unit, default */
} kv_option_spec;

typedef struct kv_config {
    const char *dir;                 /* data directory; exists; empty or holding this engine's store */
    enum kv_durability durability;
    uint64_t expected_keys;          /* sizing hint (caches, maps); 0 = unknown */
    size_t value_size;               /* sizing hint */
    uint64_t memory_budget;          /* bytes the engine may use for caches; 0 = size for the data set */
    int threads;                     /* number of sessions that will run at once (>= 1) */
    const kv_option *opts;           /* engine-specific -o key=value, already checked against options[] */
    size_t nopts;
    /* Appended fields (a zeroed kv_config keeps the old meaning). */
    /* Page policy of the run (--pages): KV_PAGES_HUGE asks the engine to back the memory it owns or can
     * reach (heap, tables, file mappings) with 2 MiB pages where the kernel allows; KV_PAGES_4K asks it to
     * keep 4 KiB pages (MADV_NOHUGEPAGE where the kernel would otherwise give huge ones). */
    enum kv_pages { KV_PAGES_4K = 0, KV_PAGES_HUGE = 1 } pages;
} kv_config;

/* Base handles; engines embed these as their first member. */
typedef struct kv_engine {
    const struct kv_engine_ops *ops;
    char err[512];
} kv_engine;

typedef struct kv_session {
    kv_engine *engine;
    char err[512];
} kv_session;

/* Receives one (name, value) string pair: effective configuration and statistics. */
typedef void (*kv_pair_cb)(void *arg, const char *name, const char *value);
/* One scanned record; return 0 to continue, non-zero to stop early. */
typedef int (*kv_scan_cb)(void *arg, int64_t key, kv_slice value);
/* Value for key `key` during bulk_load; the returned bytes stay valid until the next call. */
typedef kv_slice (*kv_value_fn)(void *arg, int64_t key);

typedef struct kv_engine_ops {
    uint32_t abi_version;  /* KV_ENGINE_ABI */
    uint32_t struct_size;  /* sizeof(kv_engine_ops) at build time */
    const char *name;      /* what -e takes */
    const char *description;
    uint64_t caps;         /* KV_CAP_* */
    const kv_option_spec *options; /* {NULL, NULL}-terminated; NULL = no options */

    /* The library's own version string, asked of the library at run time. Cannot fail. */
    const char *(*lib_version)(void);

    /* Open (creating if needed) the store in cfg->dir. On failure *out is NULL and err holds why. */
    int (*open)(const kv_config *cfg, kv_engine **out, char *err, size_t errlen);
    /* Close and free. Flushes according to the durability level. Returns an error if that failed. */
    int (*close)(kv_engine *e);
    /* Report every knob the engine set (for the manifest): cb(arg, "block_cache_bytes", "1073741824"). */
    void (*describe)(kv_engine *e, kv_pair_cb cb, void *arg);

    /* Per-thread handle; the hot path allocates nothing. */
    int (*session_open)(kv_engine *e, kv_session **out);
    void (*session_close)(kv_session *s);

    /* KV_OK and *val set, KV_NOTFOUND, or an error. *val stays valid until the next call on `s`. */
    int (*get)(kv_session *s, int64_t key, kv_slice *val);
    /* Insert or overwrite. Durable per the configured level when it returns KV_OK. */
    int (*put)(kv_session *s, int64_t key, const void *val, size_t len);
    /* Remove; removing an absent key is KV_OK. */
    int (*del)(kv_session *s, int64_t key);
    /* Up to `count` records with key >= from, ascending; *visited = records passed to cb. Optional. */
    int (*scan)(kv_session *s, int64_t from, size_t count, kv_scan_cb cb, void *arg, size_t *visited);
    /* Load n sorted, distinct keys into an empty store. Optional. */
    int (*bulk_load)(kv_session *s, const int64_t *keys, size_t n, kv_value_fn value, void *arg);
    /* Make every acknowledged write durable now. Optional (NULL = nothing to do). */
    int (*sync)(kv_session *s);
    /* Engine statistics as name/value pairs (sizes, cache hits, compactions, depth...). Optional. */
    void (*stats)(kv_engine *e, kv_pair_cb cb, void *arg);
    /* Bytes used on disk by the store (0 for RAM engines). Optional. */
    int (*disk_bytes)(kv_engine *e, uint64_t *bytes);
    /* ---- methods above are ABI version 1 ---- */

    /* Bring the store to its steady state before a measured phase: what a long-running deployment
     * would have reached by itself (flushed memtables, finished compactions, checkpointed WAL), and
     * wait until background work is done. Untimed. Optional (NULL = already steady). */
    int (*settle)(kv_engine *e);
    /* ---- methods above are ABI version 2 ---- */
} kv_engine_ops;

/* The settle hook of a table, or NULL when the table predates it or has none. */
#define KV_ENGINE_SETTLE(ops) ((ops)->abi_version >= 2 && \
    (ops)->struct_size >= offsetof(kv_engine_ops, settle) + sizeof((ops)->settle) ? (ops)->settle : NULL)

/* ---- registry (registry.c) ---- */

/* NULL-terminated list of every built-in engine. */
extern const kv_engine_ops *const kv_engines[];

/* The engine named `name`, or NULL. */
const kv_engine_ops *kv_engine_find(const char *name);
/* Check a table's version, required hooks and capability/hook agreement. KV_OK or KV_EINVAL + msg. */
int kv_engine_check(const kv_engine_ops *ops, char *err, size_t errlen);
/* Check options against ops->options and durability against caps, then call ops->open. */
int kv_engine_open(const kv_engine_ops *ops, const kv_config *cfg, kv_engine **out, char *err,
                   size_t errlen);

/* ---- helpers for engine files (engine_util.c) ---- */

/* The value of option `key`, or NULL when it was not given. */
const char *kv_config_opt(const kv_config *cfg, const char *key);
/* Parse option `key` as an unsigned integer with optional K/M/G suffix (powers of 1024) into *out;
 * leaves *out unchanged when absent. KV_OK or KV_EINVAL with a message in err. */
int kv_config_opt_u64(const kv_config *cfg, const char *key, uint64_t *out, char *err, size_t errlen);
/* Parse option `key` as a boolean (1/0, true/false, on/off, yes/no). */
int kv_config_opt_bool(const kv_config *cfg, const char *key, int *out, char *err, size_t errlen);
/* "4k" or "huge". */
const char *kv_pages_name(enum kv_pages p);
int kv_pages_parse(const char *s, enum kv_pages *out); /* KV_OK or KV_EINVAL */
/* Apply the page policy to a mapping the engine owns or can reach: MADV_HUGEPAGE under KV_PAGES_HUGE,
 * MADV_NOHUGEPAGE under KV_PAGES_4K, on the 2 MiB-aligned part of [addr, addr+len) for huge (the only
 * part a PMD can map) and on all of it for 4k. KV_OK, or KV_EIO with the reason in err (e.g. a kernel
 * without THP: EINVAL), which callers may treat as "policy not applicable" and report. */
int kv_pages_advise(void *addr, size_t len, enum kv_pages p, char *err, size_t errlen);
/* kv_pages_advise on every mapping of the file `path` in this process (found in /proc/self/maps), for
 * libraries that map their files without telling where. *nmaps = mappings advised. KV_OK, or KV_EIO
 * with the reason in err. */
int kv_pages_advise_file(const char *path, enum kv_pages p, int *nmaps, char *err, size_t errlen);
/* snprintf into a handle's err buffer; returns `status` so callers can `return kv_seterr(...)`. */
int kv_seterr(char *err, size_t errlen, int status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Convenience for describe(): cb(arg, name, "%llu"). */
void kv_describe_u64(kv_pair_cb cb, void *arg, const char *name, uint64_t v);
/* Recursive size of the regular files under dir. */
int kv_dir_bytes(const char *dir, uint64_t *bytes);
/* Order-preserving key encoding for byte-comparing libraries: 8 bytes big-endian with the sign bit
 * flipped, so memcmp order is signed numeric order (INT64_MIN -> 00..00, INT64_MAX -> ff..ff). */
void kv_key_be_encode(unsigned char out[8], int64_t key);
int64_t kv_key_be_decode(const void *in);
/* Bytes the data set takes: expected_keys rows of value_size (100 when unset) plus the engine's
 * measured per-row overhead. */
uint64_t kv_data_bytes(const kv_config *cfg, uint64_t row_overhead);
/* Default cache for engines that cache the data set: the memory budget when given, else 1.5x
 * kv_data_bytes (room for index and churn), never below min_bytes. */
uint64_t kv_cache_bytes(const kv_config *cfg, uint64_t row_overhead, uint64_t min_bytes);
/* Map a LevelDB/RocksDB-style status string ("IO error: ...", "Corruption: ...") to a KV code and
 * write "<engine>: <what>: <msg>" into err; returns the code. The caller frees msg. */
int kv_status_text_err(char *err, size_t errlen, const char *engine, const char *what, const char *msg);

#endif
