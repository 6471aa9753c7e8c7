/* test_as_tool.c - the `alexstorage` admin tool, run as a process on stores this test builds:
 * usage errors, --help, stats, check (clean and on corrupted copies), dump/load round trips,
 * compact, checkpoint, salvage, and refusal while another process holds the store. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "alexstorage.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tmpdirs.h"

#define NKEYS 3000
static char g_store[64], g_work[64];
static char g_out[8192];

/* Run the tool with args (a shell fragment), stdout+stderr into g_out; returns the exit status. */
static int tool(const char *fmt, ...)
{
    char args[2048], cmd[4096], outp[128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof(args), fmt, ap);
    va_end(ap);
    const char *b = getenv("KV_BUILD_DIR");
    snprintf(outp, sizeof(outp), "%s/tool.out", g_work);
    snprintf(cmd, sizeof(cmd), "{ %s/alexstorage %s; } > %s 2>&1", b ? b : ".", args, outp);
    int st = system(cmd);
    FILE *f = fopen(outp, "r");
    size_t n = f ? fread(g_out, 1, sizeof(g_out) - 1, f) : 0;
    g_out[n] = 0;
    if (f)
        fclose(f);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

#define EXPECT_TOOL(want, ...)                                                                       \
    do {                                                                                             \
        int rc_ = tool(__VA_ARGS__);                                                                 \
        if (rc_ != (want))                                                                           \
            fail_msg("alexstorage exit %d, want %d; output:\n%s", rc_, (want), g_out);              \
    } while (0)
#define EXPECT_OUT(s)                                                                                \
    do {                                                                                             \
        if (!strstr(g_out, (s)))                                                                     \
            fail_msg("output lacks \"%s\":\n%s", (s), g_out);                                        \
    } while (0)

static void sh(const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    assert_int_equal(system(cmd), 0);
}

static int64_t key_of(size_t i) { return (int64_t)(i * 1000003u) - 777; }

/* Several segments, updates, deletes, a checkpoint half way, then more writes; closed cleanly. */
static size_t build_store(const char *dir)
{
    as_options o;
    as_options_default(&o);
    o.segment_bytes = 64u << 10;
    o.map_chunk_bytes = 64u << 10;
    as_db *db;
    char err[1024];
    assert_int_equal(as_open(dir, &o, &db, err, sizeof(err)), AS_OK);
    as_session *s;
    assert_int_equal(as_session_open(db, &s), AS_OK);
    char v[64];
    for (size_t i = 0; i < NKEYS; i++) {
        int n = snprintf(v, sizeof(v), "value-%zu-first", i);
        assert_int_equal(as_put(s, key_of(i), v, (size_t)n), AS_OK);
    }
    assert_int_equal(as_checkpoint(s), AS_OK);
    size_t live = NKEYS;
    for (size_t i = 0; i < NKEYS; i += 3) {
        int n = snprintf(v, sizeof(v), "value-%zu-second", i);
        assert_int_equal(as_put(s, key_of(i), v, (size_t)n), AS_OK);
    }
    for (size_t i = 1; i < NKEYS; i += 7, live--)
        assert_int_equal(as_del(s, key_of(i)), AS_OK);
    as_session_close(s);
    assert_int_equal(as_close(db), AS_OK);
    return live;
}

static int setup(void **state)
{
    (void)state;
    t_mkdir_prefixed("as_tool_work", g_work, sizeof(g_work));
    t_mkdir_prefixed("as_tool_store", g_store, sizeof(g_store));
    return 0;
}

static void test_usage(void **state)
{
    (void)state;
    EXPECT_TOOL(2, "");
    EXPECT_OUT("usage: alexstorage COMMAND");
    EXPECT_TOOL(0, "--help");
    EXPECT_OUT("salvage");
    EXPECT_TOOL(2, "frobnicate %s", g_store);
    EXPECT_OUT("unknown command 'frobnicate'");
    const char *cmds[] = {"stats", "check", "dump", "load", "compact", "checkpoint", "salvage"};
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        EXPECT_TOOL(0, "%s --help", cmds[i]);
        char want[64];
        snprintf(want, sizeof(want), "usage: alexstorage %s", cmds[i]);
        EXPECT_OUT(want);
        EXPECT_TOOL(2, "%s", cmds[i]); /* missing argument */
        EXPECT_OUT("missing argument");
        if (strcmp(cmds[i], "load") != 0 && strcmp(cmds[i], "salvage") != 0) {
            EXPECT_TOOL(2, "%s %s", cmds[i], g_work); /* a directory that is not a store */
            EXPECT_OUT("is not an AlexStorage store");
        }
    }
    EXPECT_TOOL(2, "load %s %s/nothing", g_work, g_work); /* holds tool.out: neither store nor empty */
    EXPECT_OUT("neither a store nor an empty directory");
    EXPECT_TOOL(2, "dump %s --count", g_store);
    EXPECT_OUT("--count needs a value");
    EXPECT_TOOL(2, "dump %s --from x1", g_store);
    EXPECT_TOOL(2, "dump %s --bogus", g_store);
    EXPECT_OUT("unknown option '--bogus'");
}

static size_t count_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = 0;
    int c;
    while ((c = getc(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}

static void test_commands_on_a_clean_store(void **state)
{
    (void)state;
    size_t live = build_store(g_store);
    char want[128];
    EXPECT_TOOL(0, "stats %s", g_store);
    snprintf(want, sizeof(want), "keys             %zu\n", live);
    EXPECT_OUT(want);
    EXPECT_OUT("index_bytes/key");
    EXPECT_OUT("recovery ");
    EXPECT_TOOL(0, "check %s", g_store);
    EXPECT_OUT("clean");
    /* dump: text and binary, loaded back into fresh stores, dumped again: identical */
    EXPECT_TOOL(0, "dump %s > %s/d.txt", g_store, g_work);
    assert_int_equal(count_lines(strcat(strcpy(want, g_work), "/d.txt")), live + 1);
    EXPECT_TOOL(0, "dump %s --binary > %s/d.bin", g_store, g_work);
    EXPECT_TOOL(0, "load %s/l1 %s/d.txt", g_work, g_work);
    EXPECT_TOOL(0, "load %s/l2 %s/d.bin", g_work, g_work);
    EXPECT_TOOL(0, "dump %s/l1 > %s/d1.txt", g_work, g_work);
    EXPECT_TOOL(0, "dump %s/l2 > %s/d2.txt", g_work, g_work);
    sh("cmp -s %s/d.txt %s/d1.txt && cmp -s %s/d.txt %s/d2.txt", g_work, g_work, g_work, g_work);
    EXPECT_TOOL(0, "check %s/l1", g_work);
    EXPECT_TOOL(3, "load %s/l1 %s/d.txt", g_work, g_work); /* not empty any more */
    EXPECT_OUT("empty store");
    sh("printf 'not a dump\\n' > %s/junk", g_work);
    EXPECT_TOOL(3, "load %s/l3 %s/junk", g_work, g_work);
    EXPECT_OUT("not an alexstorage dump");
    /* --from / --count */
    EXPECT_TOOL(0, "dump %s --from %lld --count 5", g_store, (long long)key_of(100) - 1);
    snprintf(want, sizeof(want), "\n%lld\t", (long long)key_of(100));
    EXPECT_OUT(want);
    size_t lines = 0;
    for (const char *p = g_out; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, 6);
    /* maintenance keeps the contents */
    EXPECT_TOOL(0, "compact %s", g_store);
    EXPECT_OUT("compacted");
    EXPECT_TOOL(0, "checkpoint %s", g_store);
    snprintf(want, sizeof(want), "checkpoint written: %zu keys", live);
    EXPECT_OUT(want);
    EXPECT_TOOL(0, "check %s", g_store);
    EXPECT_TOOL(0, "dump %s > %s/d3.txt", g_store, g_work);
    sh("cmp -s %s/d.txt %s/d3.txt", g_work, g_work);
    /* salvage of a clean store copies everything */
    EXPECT_TOOL(0, "salvage %s %s/sv", g_store, g_work);
    EXPECT_OUT("nothing lost");
    EXPECT_TOOL(0, "dump %s/sv > %s/d4.txt", g_work, g_work);
    sh("cmp -s %s/d.txt %s/d4.txt", g_work, g_work);
    EXPECT_TOOL(2, "salvage %s %s/sv", g_store, g_work); /* NEWDIR not empty */
}

static void test_refuses_while_held(void **state)
{
    (void)state;
    build_store(g_store);
    int go[2], done[2];
    assert_int_equal(pipe(go), 0);
    assert_int_equal(pipe(done), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) { /* another process with the store open for writing */
        as_db *db;
        char err[512], c = 0;
        if (as_open(g_store, NULL, &db, err, sizeof(err)) != AS_OK)
            _exit(1);
        if (write(go[1], "x", 1) != 1 || read(done[0], &c, 1) != 1)
            _exit(2);
        _exit(as_close(db) == AS_OK ? 0 : 3);
    }
    char c;
    assert_int_equal(read(go[0], &c, 1), 1);
    const char *cmds[] = {"stats %s", "check %s", "dump %s", "compact %s", "checkpoint %s", "salvage %s %s/sv2"};
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        EXPECT_TOOL(3, cmds[i], g_store, g_work);
        EXPECT_OUT("in use by another process");
    }
    assert_int_equal(write(done[1], "x", 1), 1);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    EXPECT_TOOL(0, "stats %s", g_store);
}

/* File name of the oldest segment of dir. */
static void oldest_segment(const char *dir, char *name, size_t len)
{
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "ls %s | grep '^seg-' | sort | head -1", dir);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    assert_non_null(fgets(name, (int)len, p));
    name[strcspn(name, "\n")] = 0;
    pclose(p);
}

/* Offset of the k-th record of a segment file (walking the headers). */
static long record_offset(const char *path, int k)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    long off = 64;
    for (int i = 0; i < k; i++) {
        uint32_t len;
        assert_int_equal(fseek(f, off + 8, SEEK_SET), 0);
        assert_int_equal(fread(&len, 4, 1, f), 1);
        off += (long)((32 + len + 7) & ~7u);
    }
    fclose(f);
    return off;
}

static void flip_byte(const char *path, long off)
{
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    unsigned char b;
    assert_int_equal(pread(fd, &b, 1, off), 1);
    b ^= 0x5a;
    assert_int_equal(pwrite(fd, &b, 1, off), 1);
    close(fd);
}

static void test_check_and_salvage_on_corrupted_copies(void **state)
{
    (void)state;
    build_store(g_store);
    char seg1[256], want[300];
    /* a record in the middle of the first (sealed) segment */
    sh("rm -rf %s/c1 && cp -r %s %s/c1", g_work, g_store, g_work);
    char name[64];
    oldest_segment(g_store, name, sizeof(name)); /* compaction may have removed the first ones */
    snprintf(seg1, sizeof(seg1), "%s/c1/%s", g_work, name);
    long off = record_offset(seg1, 40);
    flip_byte(seg1, off + 20); /* inside the key: checksum mismatch */
    EXPECT_TOOL(1, "check %s/c1", g_work);
    snprintf(want, sizeof(want), "%s offset %ld: corrupt record", name, off);
    EXPECT_OUT(want);
    EXPECT_TOOL(1, "salvage %s/c1 %s/s1", g_work, g_work);
    EXPECT_OUT("lost: ");
    EXPECT_TOOL(0, "check %s/s1", g_work);
    EXPECT_TOOL(0, "stats %s/s1", g_work);
    /* the checkpoint */
    sh("rm -rf %s/c2 && cp -r %s %s/c2", g_work, g_store, g_work);
    char ck[256];
    snprintf(ck, sizeof(ck), "%s/c2/CHECKPOINT", g_work);
    flip_byte(ck, 200);
    EXPECT_TOOL(1, "check %s/c2", g_work);
    EXPECT_OUT("CHECKPOINT offset");
    /* a missing segment in the middle */
    sh("rm -rf %s/c3 && cp -r %s %s/c3 && rm $(ls %s/c3/seg-*.log | sort | tail -2 | head -1)", g_work, g_store,
       g_work, g_work);
    EXPECT_TOOL(1, "check %s/c3", g_work);
    EXPECT_OUT(".log offset 0: segment ");
    EXPECT_OUT(" is missing and no segment-drop record explains it");
    /* garbage after the last record of the newest segment */
    sh("rm -rf %s/c4 && cp -r %s %s/c4 && f=$(ls %s/c4/seg-*.log | tail -1) && printf 'garbage!garbage!garbage!"
       "garbage!garbage!' >> $f", g_work, g_store, g_work, g_work);
    EXPECT_TOOL(1, "check %s/c4", g_work);
    EXPECT_OUT("torn tail");
    /* the original is untouched by all of this */
    EXPECT_TOOL(0, "check %s", g_store);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_usage, setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_commands_on_a_clean_store, setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_refuses_while_held, setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_check_and_salvage_on_corrupted_copies, setup, t_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
