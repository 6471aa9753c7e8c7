/* cmd_check.c - `alexstorage check DIR`: every record checksum, the checkpoint, and the index the
 * store builds at open, each compared with what the log itself says. */
#include "as_internal.h"
#include "tool.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

static int check_run(int argc, char **argv);

const tool_cmd tool_cmd_check = {
    "check",
    "verify every record checksum, the checkpoint and the index against the log",
    "alexstorage check DIR\n"
    "  Reads every segment file directly and verifies each header and record checksum, checks that no\n"
    "  segment is missing, verifies the CHECKPOINT file (checksums, order, every locator on a valid\n"
    "  record of its key), then opens the store read-only and compares its index, key by key and value\n"
    "  by value, with the newest record of each key in the log. Prints FILE offset OFF: PROBLEM per\n"
    "  problem. Exit 0 if clean, 1 if anything is wrong, 3 if the store is busy.\n",
    check_run,
};

static void check_report(void *arg, const char *file, uint64_t off, const char *what)
{
    (void)arg;
    printf("%s offset %llu: %s\n", file, (unsigned long long)off, what);
}

/* The valid record at (seg, off) among lg->recs (still in log order), or NULL. */
static const raw_rec *check_find_rec(const raw_log *lg, uint64_t seg, uint64_t off)
{
    size_t lo = 0, hi = lg->nrecs;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        const raw_rec *r = &lg->recs[mid];
        if (r->seg < seg || (r->seg == seg && r->off < off))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < lg->nrecs && lg->recs[lo].seg == seg && lg->recs[lo].off == off ? &lg->recs[lo] : NULL;
}

static int check_seg_dropped(const raw_log *lg, uint64_t id)
{
    for (size_t i = 0; i < lg->nrecs; i++)
        if (lg->recs[i].flags == AS_REC_SEGDROP && (uint64_t)lg->recs[i].key == id)
            return 1;
    return 0;
}

/* Pairs of the checkpoint against the raw log (before raw_log_newest reorders it). */
static size_t check_ckpt_pairs(const raw_log *lg, const char *path, const unsigned char *body, uint64_t npairs)
{
    size_t problems = 0, stale = 0;
    for (uint64_t i = 0; i < npairs; i++) {
        int64_t key;
        uint64_t loc;
        memcpy(&key, body + i * 16, 8);
        memcpy(&loc, body + i * 16 + 8, 8);
        uint64_t off = AS_CKPT_HEADER_BYTES + i * 16;
        char what[256];
        int64_t prev;
        if (i && (memcpy(&prev, body + (i - 1) * 16, 8), prev >= key)) {
            snprintf(what, sizeof(what), "pair %llu: key %lld not above the previous %lld", (unsigned long long)i,
                     (long long)key, (long long)prev);
            check_report(NULL, path, off, what), problems++;
            continue;
        }
        if (raw_log_seg(lg, as_loc_seg(loc)) < 0 && check_seg_dropped(lg, as_loc_seg(loc))) {
            stale++; /* compaction moved it after the checkpoint: the next open rescans the log */
            continue;
        }
        const raw_rec *r = check_find_rec(lg, as_loc_seg(loc), as_loc_off(loc));
        if (!r || r->key != key || r->flags != AS_REC_PUT) {
            snprintf(what, sizeof(what), "pair %llu: key %lld points to segment %llu offset %llu, which holds %s",
                     (unsigned long long)i, (long long)key, (unsigned long long)as_loc_seg(loc),
                     (unsigned long long)as_loc_off(loc), !r ? "no valid record" : "a record of another key");
            check_report(NULL, path, off, what), problems++;
        }
    }
    if (stale)
        printf("%s: note: %zu pairs point into segments compaction removed since; the next open ignores this "
               "checkpoint and scans the log\n", path, stale);
    return problems;
}

static size_t check_ckpt(const raw_log *lg, const char *dir)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s/%s", dir, AS_CKPT_NAME);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0; /* no checkpoint: the store scans its log at open */
    struct stat st;
    const unsigned char *m = MAP_FAILED;
    if (fstat(fd, &st) == 0 && st.st_size > 0)
        m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    uint64_t bytes = m == MAP_FAILED ? 0 : (uint64_t)st.st_size;
    const as_ckpt_header *h = (const void *)m;
    size_t problems = 1;
    if (bytes < AS_CKPT_HEADER_BYTES || h->magic != AS_CKPT_MAGIC)
        check_report(NULL, path, 0, "not a checkpoint (short file or bad magic)");
    else if (XXH3_64bits(h, offsetof(as_ckpt_header, checksum)) != h->checksum)
        check_report(NULL, path, 0, "header checksum mismatch");
    else if (h->num_pairs > (bytes - AS_CKPT_HEADER_BYTES) / 16 ||
             AS_CKPT_HEADER_BYTES + h->num_pairs * 16 + h->end_seg * 8 != bytes)
        check_report(NULL, path, 0, "file size does not match the header's pair and segment counts");
    else if (XXH3_64bits(m + AS_CKPT_HEADER_BYTES, bytes - AS_CKPT_HEADER_BYTES) != h->body_checksum)
        check_report(NULL, path, AS_CKPT_HEADER_BYTES, "body checksum mismatch");
    else
        problems = check_ckpt_pairs(lg, path, m + AS_CKPT_HEADER_BYTES, h->num_pairs);
    if (m != MAP_FAILED)
        munmap((void *)m, (size_t)st.st_size);
    return problems;
}

typedef struct check_idx {
    const raw_log *lg; /* after raw_log_newest: one record per key, key order */
    size_t j, problems, keys;
} check_idx;

static void check_idx_problem(check_idx *c, const raw_rec *r, const char *what)
{
    char file[4300];
    long si = raw_log_seg(c->lg, r->seg);
    snprintf(file, sizeof(file), "%s", si >= 0 ? c->lg->segs[si].path : "?");
    check_report(NULL, file, r->off, what);
    c->problems++;
}

/* Live keys of the log below `key` that the index skipped. */
static void check_idx_missing(check_idx *c, int have_key, int64_t key)
{
    for (; c->j < c->lg->nrecs && (!have_key || c->lg->recs[c->j].key < key); c->j++) {
        const raw_rec *r = &c->lg->recs[c->j];
        if (r->flags != AS_REC_PUT)
            continue;
        char what[160];
        snprintf(what, sizeof(what), "index: key %lld is live in the log (this record) but missing from the index",
                 (long long)r->key);
        check_idx_problem(c, r, what);
    }
}

static int check_idx_one(void *arg, int64_t key, const void *val, size_t len)
{
    check_idx *c = arg;
    c->keys++;
    check_idx_missing(c, 1, key);
    const raw_rec *r = c->j < c->lg->nrecs && c->lg->recs[c->j].key == key ? &c->lg->recs[c->j] : NULL;
    char what[200];
    if (!r || r->flags != AS_REC_PUT) {
        printf("index: key %lld is in the index but %s\n", (long long)key,
               r ? "its newest record in the log is a delete" : "no valid record of it is in the log");
        c->problems++;
    } else if (r->vlen != len || memcmp(raw_rec_value(c->lg, r), val, len) != 0) {
        snprintf(what, sizeof(what), "index: key %lld returns a value other than its newest record's (this one)",
                 (long long)key);
        check_idx_problem(c, r, what);
    }
    if (r)
        c->j++;
    return 0;
}

static size_t check_index(const raw_log *lg, as_session *s)
{
    check_idx c = {lg, 0, 0, 0};
    size_t visited;
    int rc = as_scan(s, INT64_MIN, SIZE_MAX, check_idx_one, &c, &visited);
    if (rc != AS_OK) {
        printf("index: scan stopped after %zu keys: %s: %s\n", visited, as_strerror(rc), as_session_errmsg(s));
        return c.problems + 1;
    }
    check_idx_missing(&c, 0, 0);
    return c.problems;
}

static int check_run(int argc, char **argv)
{
    if (argc < 2)
        return tool_usage_error(&tool_cmd_check, "missing argument DIR");
    if (argc > 2)
        return tool_usage_error(&tool_cmd_check, "unexpected argument '%s'", argv[2]);
    const char *dir = argv[1];
    if (!tool_is_store(dir))
        return tool_usage_error(&tool_cmd_check, "%s is not an AlexStorage store (no LOCK or seg-*.log)", dir);
    as_db *db = NULL;
    as_session *s = NULL;
    size_t problems = 0;
    int lockfd = -1, orc = tool_open(dir, 1, &db, &s);
    if (orc == TOOL_FAIL)
        return TOOL_FAIL;
    if (orc != TOOL_OK) { /* the store refuses to open: still read what is there, under the lock */
        problems++;
        if ((lockfd = tool_lock_shared(dir)) < 0)
            return TOOL_FAIL;
    }
    raw_log lg;
    if (raw_log_read(&lg, dir, check_report, NULL) != 0) {
        raw_log_free(&lg);
        if (db)
            tool_close(db, s);
        return TOOL_FAIL;
    }
    problems += lg.problems;
    size_t nrecs = lg.nrecs, nsegs = lg.nsegs;
    problems += check_ckpt(&lg, dir);
    size_t nkeys = raw_log_newest(&lg);
    if (db)
        problems += check_index(&lg, s);
    raw_log_free(&lg);
    if (db && tool_close(db, s) != TOOL_OK)
        problems++;
    if (lockfd >= 0)
        close(lockfd);
    if (problems) {
        printf("%s: %zu problem(s) found (%zu valid records in %zu segments)\n", dir, problems, nrecs, nsegs);
        return TOOL_CORRUPT;
    }
    printf("%s: clean: %zu valid records in %zu segments, %zu distinct keys, index matches the log\n", dir, nrecs,
           nsegs, nkeys);
    return TOOL_OK;
}
