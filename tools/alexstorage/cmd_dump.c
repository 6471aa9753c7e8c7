/* cmd_dump.c - `alexstorage dump DIR [--from K] [--count N] [--binary]`: records in key order to
 * stdout, in the text or binary format of dump_format.h. */
#include "dump_format.h"
#include "tool.h"

#include <stdio.h>
#include <string.h>

static int dump_run(int argc, char **argv);

const tool_cmd tool_cmd_dump = {
    "dump",
    "write records in key order to stdout (text or binary; `load` reads it back)",
    "alexstorage dump DIR [--from K] [--count N] [--binary]\n"
    "  Opens DIR read-only and writes the records with key >= K (default: the smallest), at most N of\n"
    "  them (default: all), in key order to stdout.\n"
    "  text (default): a line \"# alexstorage dump v1\", then \"KEY<TAB>HEXVALUE\" per record.\n"
    "  --binary: \"ASDUMP1\\n\", then per record int64 key, uint32 length (little-endian), value bytes.\n",
    dump_run,
};

typedef struct dump_ctx {
    FILE *out;
    int binary;
    int failed;
} dump_ctx;

static int dump_one(void *arg, int64_t key, const void *val, size_t len)
{
    dump_ctx *d = arg;
    const unsigned char *v = val;
    if (d->binary) {
        uint32_t n = (uint32_t)len;
        d->failed |= fwrite(&key, 8, 1, d->out) != 1 || fwrite(&n, 4, 1, d->out) != 1 ||
                     (len && fwrite(v, len, 1, d->out) != 1);
    } else {
        static const char hex[] = "0123456789abcdef";
        d->failed |= fprintf(d->out, "%lld\t", (long long)key) < 0;
        for (size_t i = 0; i < len && !d->failed; i++)
            d->failed |= putc(hex[v[i] >> 4], d->out) == EOF || putc(hex[v[i] & 15], d->out) == EOF;
        d->failed |= putc('\n', d->out) == EOF;
    }
    return d->failed;
}

static int dump_run(int argc, char **argv)
{
    const char *dir = NULL;
    int64_t from = INT64_MIN;
    uint64_t count = UINT64_MAX;
    dump_ctx d = {stdout, 0, 0};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--from") == 0 || strcmp(argv[i], "--count") == 0) {
            if (i + 1 >= argc)
                return tool_usage_error(&tool_cmd_dump, "%s needs a value", argv[i]);
            int bad = argv[i][2] == 'f' ? tool_parse_i64(argv[i + 1], &from) : tool_parse_u64(argv[i + 1], &count);
            if (bad)
                return tool_usage_error(&tool_cmd_dump, "%s %s: not a%s integer", argv[i], argv[i + 1],
                                        argv[i][2] == 'f' ? " 64-bit" : " non-negative");
            i++;
        } else if (strcmp(argv[i], "--binary") == 0) {
            d.binary = 1;
        } else if (argv[i][0] == '-') {
            return tool_usage_error(&tool_cmd_dump, "unknown option '%s'", argv[i]);
        } else if (!dir) {
            dir = argv[i];
        } else {
            return tool_usage_error(&tool_cmd_dump, "unexpected argument '%s'", argv[i]);
        }
    }
    if (!dir)
        return tool_usage_error(&tool_cmd_dump, "missing argument DIR");
    if (!tool_is_store(dir))
        return tool_usage_error(&tool_cmd_dump, "%s is not an AlexStorage store (no LOCK or seg-*.log)", dir);
    as_db *db;
    as_session *s;
    int rc = tool_open(dir, 1, &db, &s);
    if (rc != TOOL_OK)
        return rc;
    if (d.binary)
        d.failed = fwrite(DUMP_BIN_MAGIC, DUMP_BIN_MAGIC_BYTES, 1, stdout) != 1;
    else
        d.failed = fputs(DUMP_TEXT_HEADER, stdout) == EOF;
    size_t visited = 0;
    int arc = d.failed ? AS_OK : as_scan(s, from, (size_t)count, dump_one, &d, &visited);
    if (fflush(stdout) != 0)
        d.failed = 1;
    if (arc != AS_OK)
        fprintf(stderr, "alexstorage dump: stopped after %zu records: %s: %s\n", visited, as_strerror(arc),
                as_session_errmsg(s));
    if (d.failed)
        fprintf(stderr, "alexstorage dump: writing to stdout failed after %zu records\n", visited);
    int crc = tool_close(db, s);
    return arc == AS_ECORRUPT ? TOOL_CORRUPT : arc != AS_OK || d.failed ? TOOL_FAIL : crc;
}
