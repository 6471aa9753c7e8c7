/* alexstorage.h - AlexStorage: an embedded key-value store with int64 keys and byte values.
 * Index: ALEX (learned, in memory; a B+tree or a sorted array as options, see as_options.index).
 * Records: checksummed append-only segment files, mmap'd, so a read returns a pointer into the
 * mapping (zero copy).
 *
 * Conventions:
 * 1. Every function returns an int status: AS_OK (0), AS_NOTFOUND (1), or a negative AS_E* code.
 *    as_strerror() names a code; as_errmsg() gives the last detailed message of a handle (file,
 *    offset, system error), which is what to show a user.
 * 2. Handles are opaque. An as_db is shared by all threads; each thread uses its own as_session.
 *    Threads: writes are serialised (one writer at a time). With index=alex (the default) gets and
 *    scans take no lock at all and run beside the writer: they wait only while the index changes
 *    its structure (a leaf split or rebuild, for example), never for another reader, and a put costs
 *    the same however many sessions are open. With index=btree each session has a mutex that its
 *    reads take and that every index change takes for all sessions; index=sorted is read-only.
 * 3. Values returned by as_get()/as_scan() point into the store's mapping. They stay valid until
 *    the next call on the same session (or as_session_close). Do not write through them. Between
 *    calls a session keeps only the segments its last call handed values out of (a get: one; a scan:
 *    up to 8 distinct segments, beyond that all retired ones until its next call), so an idle
 *    session does not keep compaction from giving space back.
 * 4. No global state: two stores in one process are independent.
 *
 * Caveats:
 * - AS_SYNC_GROUP: a put is visible to readers as soon as it is appended, before the shared
 *   fdatasync that acknowledges it; a power loss can take back a value another thread already read.
 * - Fail-stop: after a failed fdatasync/fsync or a short write, every later write and sync of the
 *   store fails (the first failure's call and file are in the message); reads go on. Reopen to recover.
 * - as_close frees sessions still open on the store; do not use them afterwards.
 * - Compaction retires segments: a retired segment is unmapped once no session can still hold a
 *   value from it (every session has started a later call, closed, or is between calls without a
 *   value from it: see convention 3).
 * - Reads go through a shared mapping: another process truncating a segment file of an open store
 *   makes reads of the cut pages fault (SIGBUS). The store itself only cuts torn tails at open.
 */
#ifndef ALEXSTORAGE_H
#define ALEXSTORAGE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#define AS_VERSION_MAJOR 0
#define AS_VERSION_MINOR 1
#define AS_VERSION_PATCH 0
#define AS_VERSION_STRING "0.1.0"

enum as_status {
    AS_OK = 0,
    AS_NOTFOUND = 1,
    AS_EINVAL = -30001,   /* bad argument (e.g. value too large, bad option) */
    AS_EIO = -30002,      /* an OS call failed; as_errmsg has the call, file and errno text */
    AS_ECORRUPT = -30003, /* checksum mismatch, bad magic/version, truncated file: as_errmsg has file+offset */
    AS_ENOMEM = -30004,
    AS_ENOSPC = -30005,   /* disk full or RLIMIT_FSIZE: nothing acknowledged was lost */
    AS_EBUSY = -30006,    /* another process holds the store's lock */
    AS_ERDONLY = -30007,  /* write to a store opened read-only */
    AS_EINTERNAL = -30008,
};
const char *as_strerror(int status);

/* Largest value as_put accepts (larger: AS_EINVAL). */
#define AS_MAX_VALUE_BYTES (64u << 20)

enum as_sync_mode {
    AS_SYNC_NONE = 0,  /* no fsync: survives a process crash once put returns (data is in the page cache) */
    AS_SYNC_EACH = 1,  /* put/del return after the record is durable (fdatasync) */
    AS_SYNC_GROUP = 2, /* concurrent writers share one fdatasync (group commit) */
};

/* The file-system layer (in the manner of SQLite's VFS or RocksDB's Env): every file operation the
 * store does on its directory goes through one of these tables. as_options.file_ops = NULL means the
 * operating system (as_file_ops_os()). Each member behaves like the POSIX call of the same name:
 * -1 (MAP_FAILED for mmap) with errno set on failure. Directory listing, mkdir and the LOCK file use
 * the OS directly. New members are only appended; `version` says which exist. */
#define AS_FILE_OPS_VERSION 1
typedef struct as_file_ops {
    int version; /* AS_FILE_OPS_VERSION */
    void *ctx;   /* passed to every call */
    int (*openat)(void *ctx, int dirfd, const char *name, int flags, mode_t mode);
    int (*close)(void *ctx, int fd);
    int (*fstat)(void *ctx, int fd, struct stat *st);
    ssize_t (*pwrite)(void *ctx, int fd, const void *buf, size_t len, off_t off);
    int (*fdatasync)(void *ctx, int fd);
    int (*fsync)(void *ctx, int fd); /* a file, or a directory (dirfd) to make its entries durable */
    int (*renameat)(void *ctx, int dirfd, const char *from, const char *to);
    int (*unlinkat)(void *ctx, int dirfd, const char *name);
    int (*fallocate)(void *ctx, int fd, off_t off, off_t len);
    int (*ftruncate)(void *ctx, int fd, off_t len);
    void *(*mmap)(void *ctx, void *addr, size_t len, int prot, int flags, int fd, off_t off);
    int (*munmap)(void *ctx, void *addr, size_t len);
    int (*msync)(void *ctx, void *addr, size_t len, int flags);
} as_file_ops;
/* The default table (the operating system's calls). */
const as_file_ops *as_file_ops_os(void);

typedef struct as_options {
    enum as_sync_mode sync_mode;   /* default AS_SYNC_NONE */
    uint64_t segment_bytes;        /* a segment file is closed and a new one started past this (default 1 GiB) */
    uint64_t map_chunk_bytes;      /* mapping grows in chunks of this size (default 16 MiB) */
    uint64_t reserve_bytes;        /* virtual address space reserved per segment (default = segment_bytes) */
    int read_only;                 /* open without writing anything */
    int create_if_missing;         /* default 1 */
    /* ---- added after 0.1.0 (append only) ---- */
    int verify_reads;              /* check each record's checksum and key on get/scan (default 1) */
    int salvage;                   /* open past a corrupt record: skip it, keep what is valid (default 0) */
    uint64_t checkpoint_bytes;     /* write an index checkpoint once the log grew this much since the last
                                      one (default 256 MiB; 0 = only on close and as_checkpoint) */
    double compact_garbage_ratio;  /* compact a sealed segment once this share of it is garbage
                                      (default 0.3; 0 = only on as_compact) */
    int index;                     /* enum as_index_kind: the in-memory index (default AS_INDEX_ALEX). The
                                      log and checkpoint do not depend on it: a store written with one
                                      index opens with any other (the index is rebuilt at open) */
    uint32_t btree_node_bytes;     /* AS_INDEX_BTREE node size, a multiple of 64 in [128, 65536]
                                      (default 0 = 512) */
    int hugepages;                 /* 1: index heap and log views get MADV_HUGEPAGE (default); 0: the
                                      opposite, MADV_NOHUGEPAGE (4 KiB pages) */
    const as_file_ops *file_ops;   /* file-system layer (default NULL = the OS); must outlive the store */
    int maintenance;               /* enum as_maint_mode: who compacts and checkpoints (default inline) */
    int log_prealloc;              /* AS_SYNC_EACH / AS_SYNC_GROUP: 1 = the log head is kept zero-filled
                                      and fdatasync'd AS_LOG_PREALLOC_BYTES ahead of the writer, so a
                                      put's fdatasync flushes data blocks only, no size or extent
                                      metadata (FORMAT.md: a zero tail is an empty tail); 0 = each
                                      append grows the file (default: see as_options_default) */
} as_options;
void as_options_default(as_options *o);

/* Who runs compaction and checkpoints (as_options.maintenance). */
enum as_maint_mode {
    AS_MAINT_INLINE = 0, /* the put/del that crossed a threshold does it before it returns (default) */
    AS_MAINT_THREAD = 1, /* a background thread of the store: it holds the write lock about 1 ms at a
                            time (one step of a compaction or of a checkpoint's collection), then rests */
    AS_MAINT_MANUAL = 2, /* only when the embedder calls as_maintain (for embedders that want no threads) */
};

/* The in-memory index of a store. */
enum as_index_kind {
    AS_INDEX_ALEX = 0,   /* the learned index (ALEX), updatable */
    AS_INDEX_BTREE = 1,  /* an in-memory B+tree, updatable */
    AS_INDEX_SORTED = 2, /* a sorted array with binary search: read-only (as_put/as_del return
                            AS_ERDONLY; as_bulk_load into an empty store and recovery build it) */
};
/* "alex", "btree", "sorted", or NULL for an unknown kind. */
const char *as_index_kind_name(int kind);
/* AS_OK and *kind, or AS_EINVAL for a name that is none of the above. */
int as_index_kind_parse(const char *name, int *kind);

typedef struct as_db as_db;
typedef struct as_session as_session;

/* Open or create the store in directory `dir`. On failure *out is NULL; `err` (may be NULL) gets
 * the message. On success `err` and as_errmsg(db) hold the recovery report (segments, records
 * replayed, any torn tail cut with its file, offset and size). */
int as_open(const char *dir, const as_options *opt, as_db **out, char *err, size_t errlen);
/* Close: syncs according to the mode, unmaps, releases the lock. */
int as_close(as_db *db);
/* The last detailed error message on this handle (thread-local per session for session calls). */
const char *as_errmsg(const as_db *db);

int as_session_open(as_db *db, as_session **out);
void as_session_close(as_session *s);
const char *as_session_errmsg(const as_session *s);

/* AS_OK with *val and *len pointing into the mapping, or AS_NOTFOUND. */
int as_get(as_session *s, int64_t key, const void **val, size_t *len);
int as_put(as_session *s, int64_t key, const void *val, size_t len);
/* AS_OK whether or not the key existed. */
int as_del(as_session *s, int64_t key);
/* Records with key >= from, ascending, at most count; cb returns non-zero to stop. */
typedef int (*as_scan_cb)(void *arg, int64_t key, const void *val, size_t len);
int as_scan(as_session *s, int64_t from, size_t count, as_scan_cb cb, void *arg, size_t *visited);
/* Load n sorted distinct keys into an empty store; value(arg, key, &len) gives each value. */
typedef const void *(*as_value_fn)(void *arg, int64_t key, size_t *len);
int as_bulk_load(as_session *s, const int64_t *keys, size_t n, as_value_fn value, void *arg);
/* Atomic write batches: puts and deletes that commit together. After any crash either all of a
 * committed batch is there or none of it; readers see all of it or none of it. One fdatasync at
 * AS_SYNC_EACH, one group-commit wait at AS_SYNC_GROUP. A batch is used by one thread at a time and
 * can be reused after commit or as_batch_clear. Values are copied into the batch. */
typedef struct as_batch as_batch;
int as_batch_create(as_batch **out);
int as_batch_put(as_batch *b, int64_t key, const void *val, size_t len); /* AS_EINVAL, AS_ENOMEM */
int as_batch_del(as_batch *b, int64_t key); /* a tombstone is written even if the key is absent */
size_t as_batch_count(const as_batch *b);
/* The newest item of b for key: AS_OK (*deleted = 1 for a delete, else val and len point into b until
 * its next change), or AS_NOTFOUND when b has none (read-your-writes over a batch not committed yet). */
int as_batch_lookup(const as_batch *b, int64_t key, int *deleted, const void **val, size_t *len);
void as_batch_clear(as_batch *b);
void as_batch_free(as_batch *b);
/* Write every item of b as one log write, then apply them to the index; AS_OK clears b. On error
 * nothing of b is acknowledged (b is kept; the store may be in its failed state). An empty batch is
 * AS_OK. */
int as_batch_commit(as_session *s, as_batch *b);
/* One maintenance pass now: compact every segment past compact_garbage_ratio, checkpoint if due. */
int as_maintain(as_session *s);
/* Make everything acknowledged so far durable. */
int as_sync(as_session *s);
/* Write an index checkpoint now (also done on close and automatically, see checkpoint_bytes): the
 * next open loads it and replays only the log after it. Replaced atomically. */
#define AS_HAVE_CHECKPOINT 1
int as_checkpoint(as_session *s);
/* Compact every sealed segment holding garbage: live records move to the log head, the old segment
 * is deleted (its mapping is released once no session can still hold a value from it). */
#define AS_HAVE_COMPACT 1
int as_compact(as_session *s);

typedef struct as_stats {
    uint64_t num_keys;
    uint64_t num_segments;
    uint64_t disk_bytes;          /* bytes in segment files */
    uint64_t live_bytes;          /* bytes of records the index points to */
    uint64_t index_bytes;
    double index_bytes_per_key;
    uint64_t index_depth;
    uint64_t index_model_nodes;
    uint64_t index_data_nodes;
    double avg_search_steps;      /* per lookup */
    double avg_shifts;            /* per insert */
    uint64_t records_replayed;    /* at the last open */
    uint64_t bytes_dropped;       /* torn tail cut at the last open */
    /* ---- added after 0.1.0 (append only) ---- */
    uint64_t records_dropped;     /* torn records cut (or skipped by salvage) at the last open */
    uint64_t bytes_salvaged;      /* corrupt bytes skipped in the middle by the salvage option */
    uint64_t num_puts, num_dels, num_gets, num_syncs; /* since open */
    uint64_t index_lookups;       /* alex counters since open */
    uint64_t index_inserts;
    uint64_t index_expansions;
    uint64_t index_splits;        /* sideways + down */
    uint64_t checkpoint_loaded;   /* 1 when the last open started from a checkpoint */
    uint64_t checkpoint_rejected; /* 1 when a checkpoint existed but was unusable (full scan instead) */
    uint64_t checkpoints_written; /* since open */
    uint64_t compactions;         /* segments compacted since open */
    uint64_t compact_bytes_written;
    uint64_t user_bytes_written;  /* record bytes appended by put/del since open (write amp = all / this) */
    uint64_t index_heap_bytes;    /* memory the index's leaf arrays occupy in its huge-page heap, with
                                     size-class rounding and freed blocks awaiting reuse (index_bytes
                                     counts the arrays themselves) */
    uint64_t reader_locks;        /* session locks writers took to exclude readers, since open: 0 when
                                     the index reads beside its writer (index=alex); with index=btree
                                     every index change takes one per open session */
    uint64_t index_smo;           /* structural changes of the index readers waited out (index=alex) */
    uint64_t index_smo_waits;     /* of them, ones that found a lookup in flight and waited for it */
} as_stats;
int as_get_stats(as_db *db, as_stats *st);

#endif
