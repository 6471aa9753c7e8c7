/* cmd_stats.c - `alexstorage stats DIR`: what the store holds and what opening it took. */
#include "tool.h"

#include <stdio.h>

static int stats_run(int argc, char **argv);

const tool_cmd tool_cmd_stats = {
    "stats",
    "keys, segments, live and disk bytes, index depth and bytes/key, recovery report",
    "alexstorage stats DIR\n"
    "  Opens DIR read-only (shared lock: refused while a writer has it open) and prints its statistics\n"
    "  and the report of the recovery this open performed (segments, records replayed, torn tail).\n",
    stats_run,
};

static int stats_run(int argc, char **argv)
{
    if (argc < 2)
        return tool_usage_error(&tool_cmd_stats, "missing argument DIR");
    if (argc > 2)
        return tool_usage_error(&tool_cmd_stats, "unexpected argument '%s'", argv[2]);
    if (!tool_is_store(argv[1]))
        return tool_usage_error(&tool_cmd_stats, "%s is not an AlexStorage store (no LOCK or seg-*.log)", argv[1]);
    as_db *db;
    as_session *s;
    int rc = tool_open(argv[1], 1, &db, &s);
    if (rc != TOOL_OK)
        return rc;
    char report[1024];
    snprintf(report, sizeof(report), "%s", as_errmsg(db));
    as_stats st;
    if (as_get_stats(db, &st) != AS_OK) {
        fprintf(stderr, "alexstorage stats: %s\n", as_errmsg(db));
        tool_close(db, s);
        return TOOL_FAIL;
    }
    printf("store            %s\n", argv[1]);
    printf("keys             %llu\n", (unsigned long long)st.num_keys);
    printf("segments         %llu\n", (unsigned long long)st.num_segments);
    printf("disk_bytes       %llu\n", (unsigned long long)st.disk_bytes);
    printf("live_bytes       %llu\n", (unsigned long long)st.live_bytes);
    printf("index            alex (the tool opens with the default index)\n");
    printf("index_depth      %llu\n", (unsigned long long)st.index_depth);
    printf("index_bytes      %llu\n", (unsigned long long)st.index_bytes);
    printf("index_bytes/key  %.2f\n", st.index_bytes_per_key);
    printf("index_nodes      %llu inner, %llu leaves\n", (unsigned long long)st.index_model_nodes,
           (unsigned long long)st.index_data_nodes);
    printf("checkpoint       %s\n", st.checkpoint_loaded     ? "loaded"
                                    : st.checkpoint_rejected ? "rejected (log scanned instead)"
                                                             : "none (log scanned)");
    printf("records_replayed %llu\n", (unsigned long long)st.records_replayed);
    printf("records_dropped  %llu (%llu torn bytes, %llu salvaged bytes)\n", (unsigned long long)st.records_dropped,
           (unsigned long long)st.bytes_dropped, (unsigned long long)st.bytes_salvaged);
    printf("recovery         %s\n", report);
    return tool_close(db, s);
}
