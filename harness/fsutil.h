/* fsutil.h - small file-system and process helpers shared by the runner, plans and merges. */
#ifndef KVB_FSUTIL_H
#define KVB_FSUTIL_H

#include <stddef.h>

/* mkdir -p. 0, or -1 with errno (ENOTDIR when a component is not a directory). */
int kvb_mkdirs(const char *path);
/* rm -r (no symlinks followed). 0, or -1 with errno. */
int kvb_rm_tree(const char *dir);
/* Copy the regular files and directories under src into dst (created), recursively. 0, or -1 with a
 * message naming the file in err. */
int kvb_copy_tree(const char *src, const char *dst, char *err, size_t errlen);
/* The arguments joined into one shell-quoted command line (malloc'd; NULL when out of memory):
 * plain words as they are, anything else in single quotes. */
char *kvb_shell_join(int argc, char *const *argv);
/* Run argv[0] (looked up in PATH unless it holds a '/') with argv, wait for it; its standard output
 * goes to the file stdout_path (created) when that is not NULL. Returns its exit status (0-255),
 * 128 + signal when it was killed, or -1 with errno when it could not be started. */
int kvb_spawn_wait(char *const *argv, const char *stdout_path);

#endif
