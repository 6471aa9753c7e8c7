/* cmd_salvage.c - `alexstorage salvage DIR NEWDIR`: every valid record of a damaged store, newest
 * version per key, into a fresh store; what could not be read is reported. */
#include "as_internal.h"
#include "tool.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static int salvage_run(int argc, char **argv);

const tool_cmd tool_cmd_salvage = {
    "salvage",
    "copy every valid record of a damaged store into a fresh one, report what was lost",
    "alexstorage salvage DIR NEWDIR\n"
    "  Reads DIR's segment files directly (DIR is not modified; its lock is taken shared), keeps the\n"
    "  newest valid record of each key, and bulk loads the live ones into NEWDIR (new or empty).\n"
    "  Prints each damaged region (file, offset) and a summary. A damaged region may have held newer\n"
    "  versions or deletes of keys: those keys come back with their last readable version.\n"
    "  Exit 0 if nothing was damaged, 1 if something was lost, 3 on failure.\n",
    salvage_run,
};

static void salvage_report(void *arg, const char *file, uint64_t off, const char *what)
{
    (void)arg;
    printf("lost: %s offset %llu: %s\n", file, (unsigned long long)off, what);
}

typedef struct salvage_set {
    const raw_log *lg;
    const raw_rec **live;
    size_t n;
} salvage_set;

static const void *salvage_value(void *arg, int64_t key, size_t *len)
{
    const salvage_set *ss = arg;
    size_t lo = 0, hi = ss->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (ss->live[mid]->key < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    *len = ss->live[lo]->vlen;
    return raw_rec_value(ss->lg, ss->live[lo]);
}

/* Bulk load the live newest records into newdir. */
static int salvage_write(const raw_log *lg, const char *newdir, size_t *copied)
{
    salvage_set ss = {lg, malloc((lg->nrecs + 1) * sizeof(*ss.live)), 0};
    int64_t *keys = malloc((lg->nrecs + 1) * sizeof(*keys));
    if (!ss.live || !keys) {
        free(ss.live);
        free(keys);
        fprintf(stderr, "alexstorage salvage: out of memory\n");
        return TOOL_FAIL;
    }
    for (size_t i = 0; i < lg->nrecs; i++)
        if (lg->recs[i].flags == AS_REC_PUT) {
            keys[ss.n] = lg->recs[i].key;
            ss.live[ss.n++] = &lg->recs[i];
        }
    as_db *db;
    as_session *s;
    int rc = tool_open(newdir, 0, &db, &s);
    if (rc == TOOL_OK) {
        int arc = as_bulk_load(s, keys, ss.n, salvage_value, &ss);
        if (arc != AS_OK) {
            fprintf(stderr, "alexstorage salvage: loading %s: %s: %s\n", newdir, as_strerror(arc),
                    as_session_errmsg(s));
            rc = TOOL_FAIL;
        }
        int crc = tool_close(db, s);
        rc = rc != TOOL_OK ? rc : crc;
    }
    *copied = ss.n;
    free(ss.live);
    free(keys);
    return rc;
}

static int salvage_run(int argc, char **argv)
{
    if (argc < 3)
        return tool_usage_error(&tool_cmd_salvage, "missing argument %s", argc < 2 ? "DIR" : "NEWDIR");
    if (argc > 3)
        return tool_usage_error(&tool_cmd_salvage, "unexpected argument '%s'", argv[3]);
    const char *dir = argv[1], *newdir = argv[2];
    if (!tool_is_store(dir))
        return tool_usage_error(&tool_cmd_salvage, "%s is not an AlexStorage store (no LOCK or seg-*.log)", dir);
    if (!tool_is_fresh_dir(newdir))
        return tool_usage_error(&tool_cmd_salvage, "NEWDIR %s must not exist or be empty", newdir);
    int lockfd = tool_lock_shared(dir);
    if (lockfd < 0)
        return TOOL_FAIL;
    raw_log lg;
    int rc = raw_log_read(&lg, dir, salvage_report, NULL) == 0 ? TOOL_OK : TOOL_FAIL;
    size_t valid = lg.nrecs, copied = 0;
    if (rc == TOOL_OK) {
        raw_log_newest(&lg);
        rc = salvage_write(&lg, newdir, &copied);
    }
    if (rc == TOOL_OK) {
        printf("salvaged %zu keys from %zu valid records into %s\n", copied, valid, newdir);
        if (lg.problems) {
            printf("lost: %zu damaged region(s), %llu bytes; records in them (and newer versions or deletes of "
                   "keys they held) are gone\n", lg.problems, (unsigned long long)lg.bad_bytes);
            rc = TOOL_CORRUPT;
        } else {
            printf("nothing lost: every record was valid\n");
        }
    }
    raw_log_free(&lg);
    close(lockfd);
    return rc;
}
