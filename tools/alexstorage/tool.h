/* tool.h - the `alexstorage` admin tool: commands, exit codes, and the helpers they share. */
#ifndef AS_TOOL_H
#define AS_TOOL_H

#include "alexstorage.h"

#include <stddef.h>
#include <stdint.h>

/* Exit codes (also in `alexstorage --help`). */
enum {
    TOOL_OK = 0,      /* done; `check`: the store is clean; `salvage`: nothing was lost */
    TOOL_CORRUPT = 1, /* `check` found problems; `salvage` could not copy everything */
    TOOL_USAGE = 2,   /* unknown command or option, missing argument, directory that is not a store */
    TOOL_FAIL = 3,    /* the command could not run: store busy (locked by another process), I/O error */
};

typedef struct tool_cmd {
    const char *name;
    const char *summary;
    const char *usage; /* printed by `alexstorage CMD --help` and on a usage error */
    int (*run)(int argc, char **argv); /* argv[0] is the command name */
} tool_cmd;

extern const tool_cmd tool_cmd_stats, tool_cmd_check, tool_cmd_dump, tool_cmd_load, tool_cmd_compact,
    tool_cmd_checkpoint, tool_cmd_salvage;

/* Print "alexstorage CMD: msg" + the command's usage to stderr; returns TOOL_USAGE. */
int tool_usage_error(const tool_cmd *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* 1 if argv holds -h/--help (then the usage went to stdout). */
int tool_wants_help(const tool_cmd *c, int argc, char **argv);
/* 1 if dir holds an AlexStorage store (a LOCK file or a segment file), 0 if not. */
int tool_is_store(const char *dir);
/* 1 if dir does not exist or is an empty directory. */
int tool_is_fresh_dir(const char *dir);
/* Open the store at dir (read_only or for writing, any index). On failure prints why and returns
 * TOOL_FAIL (busy, I/O) or TOOL_CORRUPT (the store refuses to open because of damage). */
int tool_open(const char *dir, int read_only, as_db **db, as_session **s);
int tool_close(as_db *db, as_session *s);
/* Take dir's LOCK shared (as a read-only open does) without opening the store, for commands that
 * read damaged stores the library refuses. The fd (close it to release), or -1 after a message
 * (busy: another process has the store open for writing). */
int tool_lock_shared(const char *dir);
/* Parse a decimal int64 / size; 0 ok, -1 bad. */
int tool_parse_i64(const char *s, int64_t *out);
int tool_parse_u64(const char *s, uint64_t *out);

/* ---- raw_log.c: the segment files read directly, without the store's recovery ---- */

typedef struct raw_rec {
    int64_t key;
    uint64_t seq;
    uint64_t seg, off;
    uint32_t vlen;
    uint16_t flags; /* AS_REC_PUT / TOMBSTONE / SEGDROP (as_internal.h) */
} raw_rec;

typedef struct raw_seg {
    uint64_t id;
    char path[4200];
    const unsigned char *base; /* whole file mapped read-only (NULL for an empty file) */
    uint64_t size;
} raw_seg;

typedef struct raw_log {
    raw_seg *segs;
    size_t nsegs;
    raw_rec *recs;   /* valid records, in log order */
    size_t nrecs, cap;
    size_t problems; /* damage found (each printed once by the report callback) */
    uint64_t bad_bytes;
} raw_log;

/* Called once per problem with the file, the byte offset and what is wrong. */
typedef void (*raw_report_fn)(void *arg, const char *file, uint64_t off, const char *what);

/* Map and walk every seg-*.log in dir: check each segment header and each record's checksum; skip
 * damage by searching for the next valid record (8-byte steps), report missing segment ids. 0 or -1
 * (out of memory / cannot list the directory; message printed). */
int raw_log_read(raw_log *lg, const char *dir, raw_report_fn report, void *arg);
void raw_log_free(raw_log *lg);
/* The value bytes of a valid record. */
const void *raw_rec_value(const raw_log *lg, const raw_rec *r);
/* Sort newest-first per key and keep one record per key: the newest (seq order) put or tombstone.
 * Returns the number of keys left in lg->recs (tombstones included: check r->flags). */
size_t raw_log_newest(raw_log *lg);
/* Index of segment id in lg->segs, or -1. */
long raw_log_seg(const raw_log *lg, uint64_t id);

#endif
