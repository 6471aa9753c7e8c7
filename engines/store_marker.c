/* store_marker.c - the engine-ownership marker of a data directory (see store_marker.h). */
#include "store_marker.h"

#include "engine.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define MARKER_MAX 64 /* engine names are short; a longer marker is not ours */

/* Entries of `dir` other than ".", ".." and the marker, or -1 with errno set. */
static int count_foreign_entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0 &&
            strcmp(de->d_name, KV_STORE_MARKER) != 0)
            n++;
    closedir(d);
    return n;
}

/* Write the marker and make it durable: a store that survives power loss must keep its owner too. */
static int write_marker(const char *dir, const char *path, const char *name, char *err, size_t errlen)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0)
        return kv_seterr(err, errlen, errno == ENOSPC ? KV_ENOSPC : KV_EIO, "cannot create %s: %s", path,
                         strerror(errno));
    char line[MARKER_MAX + 2];
    int len = snprintf(line, sizeof(line), "%s\n", name);
    int ok = write(fd, line, (size_t)len) == len && fsync(fd) == 0;
    int saved = errno;
    close(fd);
    if (ok) {
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ok = dfd >= 0 && fsync(dfd) == 0;
        saved = errno;
        if (dfd >= 0)
            close(dfd);
    }
    if (!ok) {
        unlink(path);
        return kv_seterr(err, errlen, saved == ENOSPC ? KV_ENOSPC : KV_EIO, "cannot write %s: %s", path,
                         strerror(saved));
    }
    return KV_OK;
}

int kv_store_marker_claim(const char *dir, const char *name, int *created, char *err, size_t errlen)
{
    *created = 0;
    char path[4200];
    snprintf(path, sizeof(path), "%s/%s", dir, KV_STORE_MARKER);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        char owner[MARKER_MAX + 2] = "";
        ssize_t n = read(fd, owner, sizeof(owner) - 1);
        close(fd);
        if (n < 0)
            return kv_seterr(err, errlen, KV_EIO, "cannot read %s: %s", path, strerror(errno));
        owner[n] = '\0';
        owner[strcspn(owner, "\n")] = '\0';
        if (strcmp(owner, name) == 0)
            return KV_OK;
        return kv_seterr(err, errlen, KV_EINVAL,
                         "directory %s holds a store of engine '%s' (per %s), not of '%s': open it with -e %s, "
                         "or give %s an empty directory", dir, owner[0] ? owner : "(unreadable marker)",
                         KV_STORE_MARKER, name, owner[0] ? owner : "?", name);
    }
    if (errno != ENOENT)
        return kv_seterr(err, errlen, KV_EIO, "cannot read %s: %s", path, strerror(errno));
    int foreign = count_foreign_entries(dir);
    if (foreign < 0)
        return kv_seterr(err, errlen, KV_EIO, "cannot list data directory %s: %s", dir, strerror(errno));
    if (foreign > 0)
        return kv_seterr(err, errlen, KV_EINVAL,
                         "directory %s is not empty and has no %s marker, so no kvbench engine wrote it: "
                         "engine '%s' needs an empty directory or one it created", dir, KV_STORE_MARKER, name);
    int rc = write_marker(dir, path, name, err, errlen);
    if (rc == KV_OK)
        *created = 1;
    return rc;
}

void kv_store_marker_unclaim(const char *dir)
{
    if (count_foreign_entries(dir) != 0)
        return; /* the engine left files: the marker stays to say whose they are */
    char path[4200];
    snprintf(path, sizeof(path), "%s/%s", dir, KV_STORE_MARKER);
    unlink(path);
}
