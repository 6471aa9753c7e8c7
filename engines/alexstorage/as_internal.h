/* as_internal.h - AlexStorage internals shared by the as_*.c files: on-disk layout, segments, the db.
 *
 * Layers, bottom up (each file calls only files on its own line's left or on lines above; no circles,
 * tools/callcycles.py-style checks in the project notes):
 *   1. as_format.c    pure encode/decode/verify of segment headers and records (no I/O; fuzz target)
 *      as_fault.c     test-only fault injection (AS_FAULT env): failing pwrite / fdatasync / sync sites
 *      as_index*.c    the in-memory index behind one ops table (ALEX, B+tree, sorted array)
 *   2. as_file.c      the file-system layer: as_file_ops, the OS's table (tests plug in a recorder)
 *   3. as_segment.c   one segment file: create/open, virtual reservation + chunked mapping, pwrite
 *                     append (over a zero-filled tail with log_prealloc), or (AS_SYNC_NONE) a copy
 *                     into a writable mapping of a fallocate'd tail
 *   4. as_table.c     segments by id, the dropped set, retired segments + reclaim, error setters
 *      as_failstop.c  every sync of the store and the failed state a failed one leads to
 *   5. as_log.c       the log head: place, rotate, append, group commit
 *      as_scan.c      reading one segment at open: records, torn tails, missing ids
 *   6. as_compact.c   compaction of sealed segments, segment-drop markers, retirement
 *      as_bulk.c      as_bulk_load: batched sequential pwrites, then one index bulk load
 *      as_checkpoint.c index checkpoints: write (atomic replace) and open from one + replay of the tail
 *   7. as_recovery.c  open-time orchestration: checkpoint or full scan, torn-tail cut, index build
 *   8. as_db.c        as_open/as_close, options, lock file, stats (the hub)
 *      as_write.c     put/del/sync and the maintenance policy (compaction, checkpoints)
 *      as_read.c      sessions, epochs, get/scan (reads through the mapping, verified)
 * FORMAT.md has the on-disk side of all of them.
 *
 * Concurrency (see as_read.c / as_write.c):
 *   - db->write_mu serialises writers (put/del/bulk_load/sync/rotation).
 *   - Index reads, ALEX (AS_IX_SHARED_READS): gets and scans take no lock. Each session owns an
 *     alex_reader (s->ixr); a lookup is a read section (one seq_cst store to the reader's own line,
 *     one load of the index's structure sequence) and searches its leaf under the leaf's seqlock,
 *     which the writer makes odd around an in-place insert or erase (a payload overwrite is one
 *     atomic store). A structural change (split, expansion, resize, merge, root growth and its
 *     repair, bulk load, heap repacking) makes the structure sequence odd and waits until no read
 *     section is in flight; readers arriving meanwhile wait for it to end. Nothing is freed or moved
 *     under a reader, so no deferred reclamation of index memory is needed (alex_sync.c has the
 *     argument). as_db_lock_all is then a no-op: a put costs the same with 1 or 64 sessions open
 *     (as_stats.reader_locks stays 0; test_as_concurrency checks it).
 *   - Index reads, B+tree and sorted array: a "big reader lock", one mutex per session. A reader takes
 *     only its own (uncontended); an index change takes every session's mutex (under db->sess_mu,
 *     which also guards the session list), counted in db->n_reader_locks. (The sorted array changes
 *     only by bulk load into an empty store and compaction's repointing.)
 *   - Either way the record append and any fdatasync happen before the index change, so readers never
 *     wait for I/O, and records are immutable once appended and a mapping never moves, so a reader
 *     dereferences a locator after its lookup. seg->size (atomic) bounds every read so a corrupt
 *     length can never fault past EOF.
 *   - Epochs: db->epoch is a global counter; a session stores the epoch it saw at the start of each
 *     call in s->epoch (0 = never called). A pointer handed out by a call stays valid until the
 *     session's next call, so the session "leaves" an epoch only when it enters the next one (or
 *     closes). Compaction retires a segment by bumping db->epoch to E (as_retire) and as_reclaim
 *     unmaps and closes it once every session has epoch 0 or >= E, or is idle (between calls:
 *     calls == done_call) holding no value from it (held_seg, set by as_sess_leave: a get hands out
 *     one segment, a write none, a scan the segments its values came from - up to AS_HELD_SEGS of
 *     them in held_set, beyond that any, until the session's next call).
 *   - Maintenance (as_maint.c, as_options.maintenance): compaction and checkpoints run inline in the
 *     put that crossed a threshold (whole, under write_mu), or on a background thread / in
 *     as_maintain / as_compact / as_checkpoint, one job at a time (maint_run_mu, taken before
 *     write_mu), in steps: each holds write_mu for about AS_MAINT_HOLD_NS, then rests
 *     (as_maint_rest), and the fdatasyncs, the unlink and the checkpoint file's I/O happen outside
 *     it. A compaction step decides, copies and repoints in one hold (a put that replaced a key
 *     between steps wins); a checkpoint is the index at its fence, with writers noting the first
 *     change to each key the collection has not reached yet (as_ckpt_note, as_checkpoint.c).
 *   - Group commit (AS_SYNC_GROUP): append + index update under write_mu, then outside it the
 *     leader/follower wait on sync_mu/sync_cv for synced_seq >= own seq. Rotation fdatasyncs the
 *     sealed segment first, so the leader only ever syncs the current one.
 *   - Failure model (as_failstop.c): every fdatasync/fsync of the store goes through as_sync_seg /
 *     as_sync_fd. A failed one, or a short write (cut back best effort), calls as_fail: db->failed is
 *     set once, with the first failure's call, file and error in db->fail_msg; synced_seq never moves
 *     again, so no write or sync is acknowledged after it (group-commit followers included: a later
 *     fdatasync would return 0 for pages whose writeback failed). Reads go on. A write refused for
 *     space with nothing written is a plain error. Reopening recovers (torn tails are cut).
 */
#ifndef AS_INTERNAL_H
#define AS_INTERNAL_H

#include "alexstorage.h"
#include "as_index.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "AlexStorage's on-disk format is little-endian and read in place; big-endian hosts are not supported"
#endif

/* ---- on-disk format (FORMAT.md is the spec; keep both in step) ---- */

#define AS_SEG_MAGIC 0x3147455353414c41ull /* "ALASSEG1" read as little-endian bytes */
#define AS_FORMAT_VERSION 1u
#define AS_SEG_HEADER_BYTES 64u
#define AS_REC_HEADER_BYTES 32u
#define AS_REC_ALIGN 8u
#define AS_REC_PUT 1u
#define AS_REC_TOMBSTONE 2u
#define AS_REC_SEGDROP 3u /* key = id of a segment compaction removed; no value (see as_compact.c) */
#define AS_REC_BATCH 4u   /* key = number of records that follow and commit together; no value */
#define AS_SEG_NAME_FMT "seg-%06llu.log"
#define AS_LOCK_NAME "LOCK"

typedef struct as_seg_header {
    uint64_t magic;        /* AS_SEG_MAGIC */
    uint32_t version;      /* AS_FORMAT_VERSION */
    uint32_t header_bytes; /* AS_SEG_HEADER_BYTES: where the first record starts */
    uint64_t segment_id;   /* must equal the id in the file name */
    uint64_t first_seq;    /* sequence the store was at when the segment was created (informational) */
    uint32_t flags;        /* 0 today; LATER: AS_SEG_COMPACTED for segments written by compaction */
    uint32_t reserved0;
    uint64_t oldest_seg;   /* oldest segment id the store needed when this one was created: ids
                            * [oldest_seg, segment_id) must exist (catches a lost first segment) */
    uint64_t reserved1;    /* zero; room for a later field without a version bump */
    uint64_t checksum;     /* XXH3-64 of the 56 bytes before it */
} as_seg_header;

typedef struct as_rec_header {
    uint64_t checksum;  /* XXH3-64 of bytes [8, 32 + value_len): the rest of the header + value */
    uint32_t value_len; /* bytes of value after the header; 0 for a tombstone */
    uint16_t flags;     /* AS_REC_PUT or AS_REC_TOMBSTONE */
    uint16_t reserved;  /* zero */
    int64_t key;
    uint64_t seq;       /* store-wide, strictly increasing in append order */
} as_rec_header;

/* Index checkpoint file (as_checkpoint.c): header, num_pairs x {int64 key, uint64 locator} sorted by
 * key, then end_seg x uint64 live bytes of segments 1..end_seg (AS_CKPT_DROPPED = removed). */
#define AS_CKPT_NAME "CHECKPOINT"
#define AS_CKPT_TMP "CHECKPOINT.tmp"
#define AS_CKPT_MAGIC 0x31504b4353414c41ull /* "ALASCKP1" */
#define AS_CKPT_HEADER_BYTES 128u
#define AS_CKPT_DROPPED UINT64_MAX
typedef struct as_ckpt_header {
    uint64_t magic;         /* AS_CKPT_MAGIC */
    uint32_t version;       /* AS_FORMAT_VERSION */
    uint32_t header_bytes;  /* AS_CKPT_HEADER_BYTES */
    uint64_t num_pairs;
    uint64_t first_seg;     /* oldest segment present when written */
    uint64_t end_seg;       /* log position covered: every record before (end_seg, end_off) */
    uint64_t end_off;
    uint64_t seq;           /* last sequence covered */
    uint64_t body_checksum; /* XXH3-64 of everything after the header */
    uint64_t reserved[7];   /* zero */
    uint64_t checksum;      /* XXH3-64 of the 120 bytes before it */
} as_ckpt_header;
_Static_assert(sizeof(as_ckpt_header) == AS_CKPT_HEADER_BYTES, "checkpoint header layout");

_Static_assert(sizeof(as_seg_header) == AS_SEG_HEADER_BYTES, "segment header layout");
_Static_assert(sizeof(as_rec_header) == AS_REC_HEADER_BYTES, "record header layout");

/* Locator = segment id (high 24 bits) | byte offset in the segment (low 40 bits). */
#define AS_LOC_OFF_BITS 40
#define AS_LOC_MAX_SEG ((1ull << (64 - AS_LOC_OFF_BITS)) - 1)
#define AS_LOC_MAX_OFF ((1ull << AS_LOC_OFF_BITS) - 1)
static inline uint64_t as_loc_make(uint64_t seg, uint64_t off) { return (seg << AS_LOC_OFF_BITS) | off; }
static inline uint64_t as_loc_seg(uint64_t loc) { return loc >> AS_LOC_OFF_BITS; }
static inline uint64_t as_loc_off(uint64_t loc) { return loc & AS_LOC_MAX_OFF; }

static inline uint64_t as_rec_bytes(uint64_t value_len)
{
    return (AS_REC_HEADER_BYTES + value_len + AS_REC_ALIGN - 1) & ~(uint64_t)(AS_REC_ALIGN - 1);
}

/* ---- as_format.c ---- */

enum as_rec_verdict {
    AS_REC_OK = 0,
    AS_REC_SHORT = 1,    /* header or value runs past the bytes available (torn tail candidate) */
    AS_REC_BADHDR = 2,   /* impossible flags/length/reserved bits */
    AS_REC_BADSUM = 3,   /* checksum mismatch */
};
void as_seg_header_encode(as_seg_header *h, uint64_t seg_id, uint64_t first_seq, uint64_t oldest_seg);
/* AS_OK or AS_ECORRUPT with the reason in why (magic, version, checksum, id mismatch). */
int as_seg_header_check(const as_seg_header *h, uint64_t expect_id, char *why, size_t whylen);
/* Fill header + value + zero padding into dst (as_rec_bytes(len) bytes); returns that size. */
size_t as_rec_encode(void *dst, int64_t key, uint64_t seq, unsigned flags, const void *val, uint32_t len);
/* Check the record at p with `avail` readable bytes; verify_sum = 0 skips the checksum. */
enum as_rec_verdict as_rec_check(const void *p, uint64_t avail, int verify_sum);
const char *as_rec_verdict_name(enum as_rec_verdict v);

/* ---- as_fault.c: test-only fault injection (see AS_FAULT there) ---- */
enum { AS_FAULT_WRITE = 0, AS_FAULT_SYNC = 1, AS_FAULT__N };
/* Where the store syncs (as_failstop.c); AS_FAULT="sync@<name>=N" fails the Nth sync at one of them. */
enum as_sync_site {
    AS_SITE_WRITE = 0,  /* "write": a put's own fdatasync at AS_SYNC_EACH */
    AS_SITE_GROUP,      /* "group": the group-commit leader's fdatasync */
    AS_SITE_ROTATE,     /* "rotate": sealing the full segment */
    AS_SITE_NEWSEG,     /* "newseg": a new segment's header and the directory */
    AS_SITE_CKPT_LOG,   /* "ckptlog": the log a checkpoint covers */
    AS_SITE_CKPT_FILE,  /* "ckptfile": the checkpoint file and the directory after its rename */
    AS_SITE_COMPACT,    /* "compact": compaction's copies, and the directory after the unlink */
    AS_SITE_BULK,       /* "bulk": the end of a bulk load */
    AS_SITE_SYNC,       /* "sync": as_sync */
    AS_SITE_CLOSE,      /* "close": as_close */
    AS_SITE__N
};
typedef struct as_fault {
    int armed;
    int sticky[AS_FAULT__N];
    _Atomic int64_t left[AS_FAULT__N]; /* calls until the one that fails */
    int site_armed[AS_SITE__N], site_sticky[AS_SITE__N];
    _Atomic int64_t site_left[AS_SITE__N];
    _Atomic uint64_t fired;                /* faults injected so far (tests check theirs happened) */
    int err;
    int sync_delay_us;
    uint64_t compact_step;  /* "compact_step=BYTES": cap on victim bytes per compaction step (tests) */
    uint64_t ckpt_step;     /* "ckpt_step=PAIRS": cap on pairs per checkpoint hold (tests) */
} as_fault;
void as_fault_init(as_fault *f);
/* 0, or the errno the caller must fail with. */
int as_fault_hit(as_fault *f, int kind);
int as_fault_hit_site(as_fault *f, enum as_sync_site site);
extern const char *const as_sync_site_names[AS_SITE__N];

/* ---- as_file.c: the file-system layer (as_file_ops in alexstorage.h) ---- */
/* AS_OK, or AS_EINVAL with the reason (wrong version, a NULL member). */
int as_file_ops_check(const as_file_ops *f, char *why, size_t whylen);

/* ---- as_segment.c ---- */

typedef struct as_segment {
    uint64_t id;
    const as_file_ops *fops;  /* the store's file-system layer */
    int fd;
    char path[4096];
    unsigned char *base;      /* start of the reserved range; never moves */
    uint64_t reserved_bytes;  /* length of the reservation */
    uint64_t mapped_bytes;    /* prefix mapped from the file (writer-only; readers use size) */
    _Atomic uint64_t size;    /* valid bytes (header + complete records); readers never go past it */
    uint64_t chunk_bytes;
    _Atomic uint64_t live;    /* bytes of records the index points to (compaction's garbage ratio) */
    as_fault *fault;          /* the store's fault injection (set when the segment joins the table) */
    _Atomic uint64_t file_bytes; /* file length: size plus any preallocated tail (see as_seg_store) */
    unsigned char *wbase;     /* writable shared mapping for AS_SYNC_NONE appends (writer), or NULL */
    uint64_t wbytes;          /* its length (= reserved_bytes when it was made) */
    int no_wmap;              /* preallocation is not supported here: appends use pwrite */
    int retired;              /* compacted: file gone, mapping kept until no session can use it (writer) */
    int compact_failed;       /* automatic compaction hit an error here: do not retry it on every write */
    int nohuge;               /* as_options.hugepages = 0: views get MADV_NOHUGEPAGE (as_seg_set_hugepages) */
} as_segment;

/* Create a new segment file (O_EXCL), write its header; sync_dir=1 fsyncs file and directory. */
int as_seg_create(as_segment **out, const as_file_ops *fops, int dirfd, const char *dir, uint64_t id, uint64_t first_seq, uint64_t oldest_seg,
                  uint64_t reserve, uint64_t chunk, int sync_dir, char *err, size_t errlen);
/* Open an existing segment, map its current file size. writable=0 opens O_RDONLY. */
int as_seg_open(as_segment **out, const as_file_ops *fops, int dirfd, const char *dir, uint64_t id, int writable,
                uint64_t reserve, uint64_t chunk, char *err, size_t errlen);
/* The store's page choice (as_options.hugepages), applied to the views mapped so far and to later ones. */
void as_seg_set_hugepages(as_segment *sg, int on);
/* Make [0, end) mapped, growing by whole chunks inside the reservation. */
int as_seg_map_to(as_segment *sg, uint64_t end, char *err, size_t errlen);
/* pwrite buf at off (looping over short writes). On failure the file is cut back to `off` (best
 * effort) and *stuck = 1 when part of buf was written: a short write, which the caller treats as
 * fail-stop (as_fail); *stuck = 0 when nothing was written. */
int as_seg_write(as_segment *sg, uint64_t off, const void *buf, size_t len, int *stuck, char *err,
                 size_t errlen);
int as_seg_sync(as_segment *sg, char *err, size_t errlen);
/* Grow the file to `end` bytes by writing zeros (real blocks, not fallocate's unwritten extents) past
 * file_bytes (as_options.log_prealloc); no sync. A zero tail reads as an empty tail (FORMAT.md). */
int as_seg_zero_to(as_segment *sg, uint64_t end, char *err, size_t errlen);
/* Appends through memory instead of pwrite (used at AS_SYNC_NONE, where no fdatasync follows each
 * write): a MAP_SHARED writable view of the file, 2 MiB aligned with MADV_HUGEPAGE so the kernel
 * backs it with 2 MiB page-cache folios, which the read mapping then maps with one TLB entry per
 * 2 MiB. Best effort: sg->wbase is set, or sg->no_wmap when the fallback is pwrite. */
void as_seg_wmap_open(as_segment *sg);
/* Copy buf to off through the writable view, first growing the file in 2 MiB steps with fallocate
 * (so a full disk is an error returned here, never a SIGBUS on the copy). AS_OK; AS_SEG_FALLBACK
 * (nothing written: preallocation unsupported, use as_seg_write); or an error (nothing written). */
#define AS_SEG_FALLBACK 1
int as_seg_store(as_segment *sg, uint64_t off, const void *buf, size_t len, char *err, size_t errlen);
/* Drop the writable view and cut the preallocated tail (file back to `size` bytes; no fsync). */
int as_seg_wmap_close(as_segment *sg, char *err, size_t errlen);
/* Cut the file to `len` bytes (torn-tail repair); fsyncs the file. */
int as_seg_truncate(as_segment *sg, uint64_t len, char *err, size_t errlen);
void as_seg_close(as_segment *sg);
/* Map an errno from a write path to an AS_* status (ENOSPC/EFBIG/EDQUOT -> AS_ENOSPC). */
int as_errno_status(int e);

/* ---- the store ---- */

#define AS_SEGDIR_BITS 12 /* two-level segment table: 4096 x 4096 slots = every 24-bit id */
#define AS_SEGDIR_SIZE (1u << AS_SEGDIR_BITS)

struct as_session {
    pthread_mutex_t lock;        /* this session's share of the big reader lock (indexes without shared reads) */
    void *ixr;                   /* the index's reader handle (AS_IX_SHARED_READS), else NULL */
    as_db *db;
    struct as_session *next;     /* db->sessions list (guarded by db->sess_mu) */
    _Atomic uint64_t epoch;      /* db epoch at the start of the latest call; 0 = idle/closed */
    _Atomic uint64_t n_gets;     /* per session so readers share no written cache line */
    uint64_t last_seq;           /* sequence of this session's latest record write (its own thread) */
    _Atomic uint64_t calls;      /* calls started (as_sess_enter) */
    _Atomic uint64_t done_call;  /* = calls once the latest call returned (as_sess_leave) */
    _Atomic uint64_t held_seg;   /* what that call handed out: 0 nothing, a segment id, AS_HELD_SET (the
                                  * ids in held_set), AS_HELD_ANY (values from more segments than that) */
    _Atomic uint64_t held_set[8]; /* AS_HELD_SEGS distinct segment ids a scan handed values out of (0: unused) */
    char err[512];
} __attribute__((aligned(64)));

struct as_db {
    as_options opt;
    const as_file_ops *fops;      /* opt.file_ops or the OS's */
    char dir[4096];
    int dirfd;
    int lockfd;

    /* segments: table by id; only the writer adds entries (atomic so readers need no lock) */
    _Atomic(as_segment *) *_Atomic segdir[AS_SEGDIR_SIZE];
    uint64_t first_seg;            /* ids present: [first_seg, last_seg] */
    _Atomic uint64_t last_seg;     /* the segment appended to (changed by the writer only) */
    uint64_t unsynced_seg;         /* first segment that may hold data not yet fdatasync'd (writer) */
    _Atomic uint64_t num_segments;

    as_index *index;              /* ops table chosen by opt.index (as_index.h) */

    pthread_mutex_t write_mu;     /* one writer at a time */
    pthread_mutex_t sess_mu;      /* session list + taking all reader locks */
    as_session *sessions;
    _Atomic uint64_t epoch;

    uint64_t seq;                 /* last sequence used (writer) */
    _Atomic int failed;           /* sticky failure (as_failstop.c): a sync failed or a write was short */
    char fail_msg[512];           /* the first failure: call, file, error (written once, before failed) */
    uint64_t fail_synced_seq;     /* under sync_mu: synced_seq when the store failed (tests check acks) */
    unsigned char *wbuf;          /* writer's record buffer (under write_mu) */
    size_t wbuf_cap;

    /* group commit */
    pthread_mutex_t sync_mu;
    pthread_cond_t sync_cv;
    _Atomic uint64_t appended_seq; /* last seq fully written (release after pwrite) */
    uint64_t synced_seq;           /* under sync_mu: every record <= this is durable (sync modes); only
                                    * as_durable_upto raises it, and never after the store failed */
    int sync_leader;               /* under sync_mu */
    int sync_waiters;              /* under sync_mu: sessions inside as_log_group_commit */
    int last_group;                /* under sync_mu: sessions waiting when the last group sync ended */

    /* counters (atomic: read by as_get_stats while others run) */
    _Atomic uint64_t disk_bytes, live_bytes;
    uint64_t records_replayed, records_dropped, bytes_dropped, bytes_salvaged;
    _Atomic uint64_t n_puts, n_dels, n_gets, n_syncs; /* n_gets: of closed sessions (see s->n_gets) */
    _Atomic uint64_t n_reader_locks; /* session locks taken by as_db_lock_all (0 with shared reads) */

    as_fault fault;

    /* compaction and checkpoints (as_compact.c, as_checkpoint.c; writer and open only) */
    uint64_t *dropped;             /* sorted ids of segments compaction removed */
    size_t ndropped, dropped_cap;
    struct as_retired *retired;    /* compacted segments still mapped */
    size_t nretired, retired_cap;
    int in_maintenance;
    uint64_t ckpt_end_seg, ckpt_end_off; /* log position of the newest checkpoint (0 = none) */
    uint64_t ckpt_loaded, ckpt_rejected;
    _Atomic uint64_t log_bytes_since_ckpt;
    _Atomic uint64_t n_checkpoints, n_compactions, n_compact_errors, n_ckpt_errors, compact_bytes_written, user_bytes_written;

    /* maintenance (as_maint.c) */
    _Atomic int maint_wanted;      /* a write left work for the thread / as_maintain */
    pthread_mutex_t maint_mu;      /* maint_stop + maint_cv */
    pthread_cond_t maint_cv;
    int maint_stop, maint_running;
    _Atomic int maint_stopping;    /* as_close is waiting: a pass stops between jobs */
    pthread_t maint_thread;
    pthread_mutex_t maint_run_mu;  /* one compaction or checkpoint at a time (taken before write_mu; a
                                    * put's inline maintenance only tries it) */
    struct as_ckpt_snap *ckpt_snap; /* under write_mu: a checkpoint collecting its pairs (writers note
                                    * the first change to each key it has not reached: as_ckpt_note) */
    as_session *maint_sess;        /* the thread's own session (epochs, errors) */

    char err[1024];
};

typedef struct as_retired {
    as_segment *sg;
    uint64_t epoch; /* freed once every session's epoch is past this (or idle) */
} as_retired;

/* Segment by id, or NULL. Lock-free. */
static inline as_segment *as_db_seg(as_db *db, uint64_t id)
{
    _Atomic(as_segment *) *leaf = atomic_load_explicit(&db->segdir[(id >> AS_SEGDIR_BITS) & (AS_SEGDIR_SIZE - 1)],
                                                       memory_order_acquire);
    if (!leaf || id > AS_LOC_MAX_SEG)
        return NULL;
    return atomic_load_explicit(&leaf[id & (AS_SEGDIR_SIZE - 1)], memory_order_acquire);
}
/* ---- as_batch.c: a write batch being built (committed by as_batch_commit in as_write.c) ---- */
typedef struct as_batch_item {
    int64_t key;
    size_t val_off;  /* into vals */
    uint32_t len;
    unsigned flags;  /* AS_REC_PUT or AS_REC_TOMBSTONE */
} as_batch_item;
struct as_batch {
    as_batch_item *items;
    size_t n, cap;
    unsigned char *vals;
    size_t vals_len, vals_cap;
    uint64_t bytes;  /* encoded size of the items' records */
};

/* ---- as_table.c: segments by id, the dropped set, retired segments, error text (writer/open) ---- */
/* Publish a segment in the table (writer or open only). AS_OK or AS_ENOMEM. */
int as_db_seg_put(as_db *db, as_segment *sg);
/* Take a segment out of the table (after reclaim). */
void as_db_seg_remove(as_db *db, uint64_t id);
/* Close every segment in the table and empty it. */
void as_db_close_segments(as_db *db);
int as_db_seterr(as_db *db, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int as_sess_seterr(as_session *s, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
uint64_t as_db_reserve_bytes(const as_db *db);
/* Writer side of the big reader lock, around an index change: takes every session's lock, or nothing
 * when the index reads beside its writer (AS_IX_SHARED_READS). */
void as_db_lock_all(as_db *db);
void as_db_unlock_all(as_db *db);
/* Around several index changes that readers must see all or none (a batch): every reader is kept
 * out, whatever the index (shared reads: the index's own exclusion; else as_db_lock_all). */
void as_db_exclude_readers(as_db *db);
void as_db_admit_readers(as_db *db);
int as_db_is_dropped(const as_db *db, uint64_t id);
int as_db_mark_dropped(as_db *db, uint64_t id);
/* Mark a compacted segment retired at a new epoch (its mapping stays until as_reclaim frees it). */
int as_retire(as_db *db, as_segment *sg);
void as_reclaim(as_db *db, const as_session *self);            /* under write_mu */
/* Background maintenance (yield = 1) holds write_mu for about AS_MAINT_HOLD_NS at a time, then stays
 * out for AS_MAINT_REST_FACTOR times as long (as_maint_rest): a put waits for one hold at most. */
#define AS_MAINT_HOLD_NS 1000000ull
#define AS_MAINT_REST_FACTOR 2u
uint64_t as_now_ns(void); /* CLOCK_MONOTONIC */
void as_maint_rest(as_db *db, uint64_t held_ns, uint64_t out_since_ns);

/* ---- as_failstop.c: the failed state and every sync (a failed sync or short write is fail-stop) ---- */
/* Enter the failed state (the first failure's message is kept); returns status (AS_EIO if AS_OK). */
int as_fail(as_db *db, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* AS_OK, or the failed status with a message naming the first failure in err. */
int as_failed_check(as_db *db, char *err, size_t errlen);
/* Record that every record <= seq is durable; refused (the failed status) once the store failed. */
int as_durable_upto(as_db *db, uint64_t seq, char *err, size_t errlen);
/* fdatasync one segment / an fd (is_dir: fsync of a directory) / the directory; a failure is fail-stop. */
int as_sync_seg(as_db *db, as_segment *sg, enum as_sync_site site, char *err, size_t errlen);
int as_sync_fd(as_db *db, int fd, const char *path, int is_dir, enum as_sync_site site, char *err, size_t errlen);
int as_sync_dir(as_db *db, enum as_sync_site site, char *err, size_t errlen);
/* fdatasync every segment that may hold unsynced data, up to the head. Under write_mu. */
int as_sync_log(as_db *db, enum as_sync_site site, char *err, size_t errlen);

/* ---- as_log.c: the log head (all under write_mu unless said; errors in s->err) ---- */
#define AS_LOG_PREALLOC_BYTES (1ull << 20) /* zero-filled ahead of the writer (as_options.log_prealloc) */
/* Seal the current segment and start the next. */
int as_rotate(as_db *db, as_session *s);
/* Room for `bytes` at the log head (rotating past segment_bytes, mapping grown): the segment and the
 * offset to write at. Refused once the store failed. */
int as_place(as_db *db, as_session *s, uint64_t bytes, as_segment **sgp, uint64_t *off);
/* Write encoded bytes at (sg, off), not yet visible to readers: a copy into the writable view at
 * AS_SYNC_NONE, else pwrite (a short write is fail-stop). */
int as_log_write(as_db *db, as_session *s, as_segment *sg, uint64_t off, const void *buf, size_t len);
/* The writer's record buffer with room for `need` bytes, or NULL (out of memory). */
unsigned char *as_log_buf(as_db *db, size_t need);
/* Append `bytes` of encoded records (sequences db->seq + 1 .. + nseq) in one write at the log head,
 * synced at AS_SYNC_EACH, and publish them; *loc = where they start, s->last_seq = their last seq. */
int as_log_append_bytes(as_db *db, as_session *s, const void *buf, size_t bytes, uint64_t nseq, uint64_t *loc);
/* Append one record (synced at AS_SYNC_EACH) and publish it; *loc gets its locator, s->last_seq its seq. */
int as_log_append(as_db *db, as_session *s, int64_t key, unsigned flags, const void *val, size_t len,
                  uint64_t *loc);
/* Outside write_mu: wait until record `seq` is durable (leader/follower group commit). */
int as_log_group_commit(as_db *db, as_session *s, uint64_t seq);
/* Refuse writes on read-only/failed stores and bad values (AS_OK or error in s->err). */
int as_write_check(as_session *s, size_t len, const void *val);

/* ---- as_scan.c: reading one segment at open ---- */
/* One record seen by a recovery scan; a scan's records in log order. */
typedef struct as_rentry {
    int64_t key;
    uint64_t seq;
    uint64_t loc;
    uint32_t bytes; /* record bytes incl. padding */
    uint32_t flags;
} as_rentry;
typedef struct as_rscan {
    as_rentry *e;
    size_t n, cap;
    uint64_t max_seq;
} as_rscan;
/* Open segment id (header checked; a torn header of the last one redone); *out NULL if dropped. */
int as_scan_open_segment(as_db *db, uint64_t id, uint64_t first_id, int is_last, as_segment **out, char *note,
                         size_t notelen);
/* Read records of sg from offset `from` into sc (segment-drop markers go to db->dropped). */
int as_scan_segment(as_db *db, as_segment *sg, uint64_t from, int is_last, as_rscan *sc, char *note,
                    size_t notelen);
/* Every id 1..newest exists or was dropped by compaction; else AS_ECORRUPT naming the missing file. */
int as_scan_check_ids(as_db *db, const uint64_t *ids, size_t n);

/* ---- as_checkpoint.c ---- */
/* Write a checkpoint of the store as it is now. Under maint_run_mu and write_mu; yield = 1 releases
 * write_mu while the file is written (pairs are collected in bounded holds; see as_checkpoint.c). */
int as_ckpt_write(as_db *db, char *err, size_t errlen, int yield);
/* A writer changed key (old = its locator before, 0 = absent; erased = the change removed it) while a
 * checkpoint collects: keep the value the checkpoint must see. Under write_mu, before or after the
 * index change; one pointer test when no checkpoint runs. */
void as_ckpt_note_slow(as_db *db, int64_t key, uint64_t old, int erased);
static inline void as_ckpt_note(as_db *db, int64_t key, uint64_t old, int erased)
{
    if (db->ckpt_snap)
        as_ckpt_note_slow(db, key, old, erased);
}
/* AS_OK, AS_NOTFOUND (no usable checkpoint: why says why; the caller resets and scans), or an error. */
int as_ckpt_recover(as_db *db, const uint64_t *ids, size_t n, char *why, size_t whylen, char *note,
                    size_t notelen);

/* ---- as_compact.c ---- */
/* Under maint_run_mu and write_mu. yield = 1: write_mu is released between bounded steps and around
 * the syncs (held again on return), so writers wait for one step, not for the whole segment. */
int as_compact_segment(as_db *db, as_session *s, uint64_t id, int yield);
void as_compact_maybe(as_db *db, as_session *s, uint64_t id, int yield);  /* after a write / a pass */

/* Is sealed segment id past the garbage threshold (and not given up on)? Under write_mu. */
int as_compact_wanted(as_db *db, uint64_t id);

/* ---- as_recovery.c: scan all segments listed in the directory (or a checkpoint + tail), build the index ---- */
int as_recover(as_db *db);

#define AS_HELD_ANY UINT64_MAX /* values from more than AS_HELD_SEGS segments: reclaim waits for the next call */
#define AS_HELD_SET (UINT64_MAX - 1) /* values from the segments in s->held_set */
#define AS_HELD_SEGS 8
/* as_read.c: publish the session's epoch at the start of a call. */
static inline void as_sess_enter(as_session *s)
{
    atomic_fetch_add(&s->calls, 1); /* before the epoch: reclaim sees a call in progress */
    atomic_store_explicit(&s->epoch, atomic_load_explicit(&s->db->epoch, memory_order_acquire),
                          memory_order_release);
}
/* The end of a call that handed out values only from segment held_seg (0: none). An idle session then
 * pins nothing else: reclaim frees a retired segment it did not hand a value out of. */
static inline void as_sess_leave(as_session *s, uint64_t held_seg)
{
    _Static_assert(sizeof(s->held_set) / sizeof(s->held_set[0]) == AS_HELD_SEGS, "held_set size");
    atomic_store_explicit(&s->held_seg, held_seg, memory_order_relaxed);
    atomic_store_explicit(&s->done_call, atomic_load_explicit(&s->calls, memory_order_relaxed), memory_order_release);
}
/* as_read.c: verify and resolve a locator; AS_OK, or AS_ECORRUPT with file+offset in s->err. */
int as_resolve(as_session *s, uint64_t loc, int64_t key, const void **val, size_t *len);

/* as_maint.c: after a write (under write_mu) do or ask for compaction/checkpoint; the thread. */
void as_maint_after_write(as_db *db, as_session *s, uint64_t old);
int as_maint_start(as_db *db);
void as_maint_stop(as_db *db);

#endif
