/* cmd_maint.c - `alexstorage compact DIR` and `alexstorage checkpoint DIR`: the store's own
 * maintenance, run on demand with the store opened for writing (exclusive lock). */
#include "tool.h"

#include <stdio.h>
#include <string.h>

static int maint_run(const tool_cmd *c, int argc, char **argv, int (*op)(as_session *))
{
    if (argc < 2)
        return tool_usage_error(c, "missing argument DIR");
    if (argc > 2)
        return tool_usage_error(c, "unexpected argument '%s'", argv[2]);
    if (!tool_is_store(argv[1]))
        return tool_usage_error(c, "%s is not an AlexStorage store (no LOCK or seg-*.log)", argv[1]);
    as_db *db;
    as_session *s;
    int rc = tool_open(argv[1], 0, &db, &s);
    if (rc != TOOL_OK)
        return rc;
    as_stats before, after;
    as_get_stats(db, &before);
    int arc = op(s);
    if (arc != AS_OK) {
        fprintf(stderr, "alexstorage %s: %s: %s\n", c->name, as_strerror(arc), as_session_errmsg(s));
        tool_close(db, s);
        return TOOL_FAIL;
    }
    as_get_stats(db, &after);
    if (strcmp(c->name, "compact") == 0)
        printf("compacted %llu segment(s): disk bytes %llu -> %llu, %llu bytes copied\n",
               (unsigned long long)after.compactions, (unsigned long long)before.disk_bytes,
               (unsigned long long)after.disk_bytes, (unsigned long long)after.compact_bytes_written);
    else
        printf("checkpoint written: %llu keys\n", (unsigned long long)after.num_keys);
    return tool_close(db, s);
}

static int compact_run(int argc, char **argv) { return maint_run(&tool_cmd_compact, argc, argv, as_compact); }
static int checkpoint_run(int argc, char **argv) { return maint_run(&tool_cmd_checkpoint, argc, argv, as_checkpoint); }

const tool_cmd tool_cmd_compact = {
    "compact",
    "rewrite sealed segments holding garbage; deletes the old files",
    "alexstorage compact DIR\n"
    "  Opens DIR for writing (exclusive lock) and compacts every sealed segment holding garbage: live\n"
    "  records move to the log head and the old segment file is deleted.\n",
    compact_run,
};

const tool_cmd tool_cmd_checkpoint = {
    "checkpoint",
    "write an index checkpoint now (the next open loads it instead of scanning)",
    "alexstorage checkpoint DIR\n"
    "  Opens DIR for writing (exclusive lock) and writes the index checkpoint (replaced atomically).\n",
    checkpoint_run,
};
