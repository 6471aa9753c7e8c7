/* as_file.c - the file-system layer's default table: every file operation of the store, as the OS does it. */
#include "as_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static int as_os_openat(void *ctx, int dirfd, const char *name, int flags, mode_t mode)
{
    (void)ctx;
    return openat(dirfd, name, flags, mode);
}
static int as_os_close(void *ctx, int fd)
{
    (void)ctx;
    return close(fd);
}
static int as_os_fstat(void *ctx, int fd, struct stat *st)
{
    (void)ctx;
    return fstat(fd, st);
}
static ssize_t as_os_pwrite(void *ctx, int fd, const void *buf, size_t len, off_t off)
{
    (void)ctx;
    return pwrite(fd, buf, len, off);
}
static int as_os_fdatasync(void *ctx, int fd)
{
    (void)ctx;
    return fdatasync(fd);
}
static int as_os_fsync(void *ctx, int fd)
{
    (void)ctx;
    return fsync(fd);
}
static int as_os_renameat(void *ctx, int dirfd, const char *from, const char *to)
{
    (void)ctx;
    return renameat(dirfd, from, dirfd, to);
}
static int as_os_unlinkat(void *ctx, int dirfd, const char *name)
{
    (void)ctx;
    return unlinkat(dirfd, name, 0);
}
static int as_os_fallocate(void *ctx, int fd, off_t off, off_t len)
{
    (void)ctx;
    int r;
    do
        r = fallocate(fd, 0, off, len);
    while (r != 0 && errno == EINTR);
    return r;
}
static int as_os_ftruncate(void *ctx, int fd, off_t len)
{
    (void)ctx;
    return ftruncate(fd, len);
}
static void *as_os_mmap(void *ctx, void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    (void)ctx;
    return mmap(addr, len, prot, flags, fd, off);
}
static int as_os_munmap(void *ctx, void *addr, size_t len)
{
    (void)ctx;
    return munmap(addr, len);
}
static int as_os_msync(void *ctx, void *addr, size_t len, int flags)
{
    (void)ctx;
    return msync(addr, len, flags);
}

static const as_file_ops as_file_os = {
    .version = AS_FILE_OPS_VERSION,
    .ctx = NULL,
    .openat = as_os_openat,
    .close = as_os_close,
    .fstat = as_os_fstat,
    .pwrite = as_os_pwrite,
    .fdatasync = as_os_fdatasync,
    .fsync = as_os_fsync,
    .renameat = as_os_renameat,
    .unlinkat = as_os_unlinkat,
    .fallocate = as_os_fallocate,
    .ftruncate = as_os_ftruncate,
    .mmap = as_os_mmap,
    .munmap = as_os_munmap,
    .msync = as_os_msync,
};

const as_file_ops *as_file_ops_os(void) { return &as_file_os; }

int as_file_ops_check(const as_file_ops *f, char *why, size_t whylen)
{
    if (f->version != AS_FILE_OPS_VERSION) {
        snprintf(why, whylen, "file_ops version %d is not %d", f->version, AS_FILE_OPS_VERSION);
        return AS_EINVAL;
    }
    if (!f->openat || !f->close || !f->fstat || !f->pwrite || !f->fdatasync || !f->fsync || !f->renameat ||
        !f->unlinkat || !f->fallocate || !f->ftruncate || !f->mmap || !f->munmap || !f->msync) {
        snprintf(why, whylen, "file_ops has a NULL member (every operation is required)");
        return AS_EINVAL;
    }
    return AS_OK;
}
