/* main.c - `alexstorage`: inspect and repair an AlexStorage store directory. Dispatches to one
 * command per file (cmd_*.c); this file holds the usage text and the helpers they share. */
#include "tool.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static const tool_cmd *const tool_cmds[] = {
    &tool_cmd_stats, &tool_cmd_check, &tool_cmd_dump, &tool_cmd_load, &tool_cmd_compact, &tool_cmd_checkpoint,
    &tool_cmd_salvage,
};
#define TOOL_NCMDS (sizeof(tool_cmds) / sizeof(tool_cmds[0]))

static void tool_help(FILE *f)
{
    fprintf(f, "usage: alexstorage COMMAND [ARGS]   (alexstorage COMMAND --help for one command)\n\ncommands:\n");
    for (size_t i = 0; i < TOOL_NCMDS; i++)
        fprintf(f, "  %-11s %s\n", tool_cmds[i]->name, tool_cmds[i]->summary);
    fprintf(f, "\nEvery command takes the store's lock: it refuses (exit 3) while another process has the store "
               "open.\nexit status: 0 done/clean, 1 corruption found (check) or records lost (salvage), 2 usage "
               "error\n(unknown command or option, missing argument, a directory that is not a store), 3 the "
               "command\nfailed (store busy, I/O error).\nlibrary %s\n", AS_VERSION_STRING);
}

int tool_usage_error(const tool_cmd *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "alexstorage %s: ", c->name);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nusage: %s", c->usage);
    return TOOL_USAGE;
}

int tool_wants_help(const tool_cmd *c, int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            printf("usage: %s", c->usage);
            return 1;
        }
    return 0;
}

int tool_is_store(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int found = 0;
    struct dirent *de;
    while (!found && (de = readdir(d)) != NULL)
        found = strcmp(de->d_name, "LOCK") == 0 || strncmp(de->d_name, "seg-", 4) == 0;
    closedir(d);
    return found;
}

int tool_is_fresh_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT;
    int empty = 1;
    struct dirent *de;
    while (empty && (de = readdir(d)) != NULL)
        empty = strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0;
    closedir(d);
    return empty;
}

int tool_open(const char *dir, int read_only, as_db **db, as_session **s)
{
    as_options o;
    as_options_default(&o);
    o.read_only = read_only;
    o.create_if_missing = !read_only;
    char err[2048];
    *s = NULL;
    int rc = as_open(dir, &o, db, err, sizeof(err));
    if (rc == AS_EBUSY) {
        fprintf(stderr, "alexstorage: %s is in use by another process (its lock is held); stop that process and "
                "retry\n", dir);
        return TOOL_FAIL;
    }
    if (rc != AS_OK) {
        fprintf(stderr, "alexstorage: cannot open %s: %s: %s\n", dir, as_strerror(rc), err);
        return rc == AS_ECORRUPT ? TOOL_CORRUPT : TOOL_FAIL;
    }
    rc = as_session_open(*db, s);
    if (rc != AS_OK) {
        fprintf(stderr, "alexstorage: %s: %s\n", dir, as_strerror(rc));
        as_close(*db);
        return TOOL_FAIL;
    }
    return TOOL_OK;
}

int tool_close(as_db *db, as_session *s)
{
    as_session_close(s);
    int rc = as_close(db);
    if (rc != AS_OK) {
        fprintf(stderr, "alexstorage: close: %s: %s\n", as_strerror(rc), as_errmsg(db));
        return TOOL_FAIL;
    }
    return TOOL_OK;
}

int tool_lock_shared(const char *dir)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s/LOCK", dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT)
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC); /* no LOCK file: nobody can hold it */
    if (fd < 0) {
        fprintf(stderr, "alexstorage: cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_SH | LOCK_NB) != 0) {
        fprintf(stderr, "alexstorage: %s is in use by another process (its lock is held); stop that process and "
                "retry\n", dir);
        close(fd);
        return -1;
    }
    return fd;
}

int tool_parse_i64(const char *s, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end)
        return -1;
    *out = v;
    return 0;
}

int tool_parse_u64(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    if (*s == '-')
        return -1;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end)
        return -1;
    *out = v;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        tool_help(stderr);
        return TOOL_USAGE;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
        tool_help(stdout);
        return TOOL_OK;
    }
    for (size_t i = 0; i < TOOL_NCMDS; i++)
        if (strcmp(argv[1], tool_cmds[i]->name) == 0) {
            if (tool_wants_help(tool_cmds[i], argc - 1, argv + 1))
                return TOOL_OK;
            return tool_cmds[i]->run(argc - 1, argv + 1);
        }
    fprintf(stderr, "alexstorage: unknown command '%s'\n\n", argv[1]);
    tool_help(stderr);
    return TOOL_USAGE;
}
