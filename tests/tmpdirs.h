/* tmpdirs.h - temporary store directories for cmocka tests, removed by the teardown even after a failed
 * assertion. Header-only (static functions): include it in one test file. */
#ifndef KV_TESTS_TMPDIRS_H
#define KV_TESTS_TMPDIRS_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

static int t_rm(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

/* Directories made by the running test (at most 4 at once). */
static char g_dirs[4][64];

/* mkdtemp("/tmp/<prefix>_XXXXXX") into dir and remember it for t_teardown. */
static void t_mkdir_prefixed(const char *prefix, char *dir, size_t len)
{
    snprintf(dir, len, "/tmp/%s_XXXXXX", prefix);
    assert_non_null(mkdtemp(dir));
    for (int i = 0; i < 4; i++)
        if (!g_dirs[i][0]) {
            snprintf(g_dirs[i], sizeof(g_dirs[i]), "%s", dir);
            break;
        }
}

static void t_rmdir(const char *dir) { nftw(dir, t_rm, 16, FTW_DEPTH | FTW_PHYS); }

static int t_teardown(void **state)
{
    (void)state;
    for (int i = 0; i < 4; i++)
        if (g_dirs[i][0]) {
            t_rmdir(g_dirs[i]);
            g_dirs[i][0] = 0;
        }
    return 0;
}

#endif
