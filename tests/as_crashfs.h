/* as_crashfs.h - a recording file-system layer (as_file_ops) and the crash states a power cut could leave.
 *
 * The method of ALICE / CrashMonkey (and RocksDB's FaultInjectionTestFS): the store runs on the real
 * files through a pass-through table that also records every operation in memory. From any prefix of
 * that record (the moment of the cut), a crash state is built: for each file, everything up to its
 * last fdatasync/fsync, plus any subset of its later writes, each torn at 512-byte sectors (a lost
 * sector piece reads as what was there before: zeros past the old end); directory operations
 * (create, rename, unlink) count only up to the last fsync of the directory, plus a prefix of the
 * later ones. Writes through a MAP_SHARED writable view (AS_SYNC_NONE appends) are seen at the next
 * fdatasync/fsync/msync/munmap/ftruncate of the file: the view is compared with a shadow copy of the
 * file and changed 512-byte blocks become write records there (before the sync, so they count as
 * synced by it; a cut before it loses them, which a power cut may do too).
 */
#ifndef AS_CRASHFS_H
#define AS_CRASHFS_H

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alexstorage.h"

#define CF_SECTOR 512u
#define CF_MAX_FILES 512
#define CF_MAX_FDS 1024
#define CF_MAX_MAPS 64
#define CF_NAME 64

enum cf_kind { CF_CREATE, CF_WRITE, CF_SIZE, CF_SYNC, CF_DIRSYNC, CF_RENAME, CF_UNLINK };

typedef struct cf_op {
    enum cf_kind kind;
    int file;               /* CF_CREATE/WRITE/SIZE/SYNC */
    uint64_t off, len;      /* CF_WRITE: range; CF_SIZE: new length (off = 1 when it only grows) */
    unsigned char *data;    /* CF_WRITE */
    char name[CF_NAME], to[CF_NAME]; /* CF_CREATE/UNLINK: name; CF_RENAME: name -> to */
} cf_op;

typedef struct cf_map {
    unsigned char *addr;
    size_t len;
    int file;
} cf_map;

typedef struct crashfs {
    as_file_ops ops;
    pthread_mutex_t mu;
    int dirfd;                        /* the store's directory (opened by the store; learnt on first use) */
    cf_op *log;
    size_t n, cap;
    int nfiles;
    int fd_file[CF_MAX_FDS];          /* fd -> file id + 1 */
    char ns_name[CF_MAX_FILES][CF_NAME]; /* live namespace: name of file i ("" = none) */
    unsigned char *shadow[CF_MAX_FILES]; /* what the file holds as far as recorded */
    uint64_t shadow_len[CF_MAX_FILES], shadow_cap[CF_MAX_FILES];
    cf_map maps[CF_MAX_MAPS];
    uint64_t n_mmap_writes;           /* write records found in writable views */
} crashfs;

static inline cf_op *cf_push(crashfs *c, enum cf_kind kind, int file)
{
    if (c->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 4096;
        c->log = realloc(c->log, c->cap * sizeof(*c->log));
        if (!c->log)
            abort();
    }
    cf_op *o = &c->log[c->n++];
    memset(o, 0, sizeof(*o));
    o->kind = kind;
    o->file = file;
    return o;
}

static inline void cf_shadow_size(crashfs *c, int f, uint64_t len)
{
    if (len > c->shadow_cap[f]) {
        uint64_t cap = c->shadow_cap[f] ? c->shadow_cap[f] : 65536;
        while (cap < len)
            cap *= 2;
        c->shadow[f] = realloc(c->shadow[f], cap);
        if (!c->shadow[f])
            abort();
        memset(c->shadow[f] + c->shadow_cap[f], 0, cap - c->shadow_cap[f]);
        c->shadow_cap[f] = cap;
    }
    if (len < c->shadow_len[f])
        memset(c->shadow[f] + len, 0, c->shadow_len[f] - len);
    c->shadow_len[f] = len;
}

static inline void cf_record_write(crashfs *c, int f, uint64_t off, const void *buf, uint64_t len)
{
    cf_op *o = cf_push(c, CF_WRITE, f);
    o->off = off;
    o->len = len;
    o->data = malloc(len ? len : 1);
    if (!o->data)
        abort();
    memcpy(o->data, buf, len);
    if (off + len > c->shadow_len[f])
        cf_shadow_size(c, f, off + len);
    /* from the recorded copy, not from buf again: buf may be a writable view that a writer changes
     * meanwhile (a background sync scans it beside the writer), and a shadow newer than the record
     * would hide that change from every later scan, so a crash state would keep a half-written
     * record that a real fdatasync (the page dirtied again) would have written whole */
    memcpy(c->shadow[f] + off, o->data, len);
}

/* Writes made through writable views of file f (or of every file, f < 0) become write records. */
static inline void cf_scan_maps(crashfs *c, int f)
{
    for (int m = 0; m < CF_MAX_MAPS; m++) {
        cf_map *mp = &c->maps[m];
        if (!mp->addr || (f >= 0 && mp->file != f))
            continue;
        uint64_t lim = c->shadow_len[mp->file] < mp->len ? c->shadow_len[mp->file] : mp->len;
        for (uint64_t b = 0; b < lim;) {
            uint64_t e = b + CF_SECTOR < lim ? b + CF_SECTOR : lim;
            if (memcmp(mp->addr + b, c->shadow[mp->file] + b, e - b) == 0) {
                b = e;
                continue;
            }
            uint64_t s = b; /* a run of changed blocks is one write */
            while (b < lim) {
                e = b + CF_SECTOR < lim ? b + CF_SECTOR : lim;
                if (memcmp(mp->addr + b, c->shadow[mp->file] + b, e - b) == 0)
                    break;
                b = e;
            }
            cf_record_write(c, mp->file, s, mp->addr + s, b - s);
            c->n_mmap_writes++;
        }
    }
}

static inline int cf_lookup(crashfs *c, const char *name)
{
    for (int i = 0; i < c->nfiles; i++)
        if (strcmp(c->ns_name[i], name) == 0)
            return i;
    return -1;
}

static inline int cf_file_of(crashfs *c, int fd) { return fd >= 0 && fd < CF_MAX_FDS ? c->fd_file[fd] - 1 : -1; }

static int cf_openat(void *ctx, int dirfd, const char *name, int flags, mode_t mode)
{
    crashfs *c = ctx;
    int fd = openat(dirfd, name, flags, mode);
    if (fd < 0)
        return fd;
    pthread_mutex_lock(&c->mu);
    c->dirfd = dirfd;
    int f = cf_lookup(c, name);
    if (f < 0 && (flags & O_CREAT)) {
        f = c->nfiles++;
        if (f >= CF_MAX_FILES)
            abort();
        snprintf(c->ns_name[f], CF_NAME, "%s", name);
        snprintf(cf_push(c, CF_CREATE, f)->name, CF_NAME, "%s", name);
    } else if (f >= 0 && (flags & O_TRUNC)) {
        cf_push(c, CF_SIZE, f)->len = 0;
        cf_shadow_size(c, f, 0);
    }
    if (fd < CF_MAX_FDS)
        c->fd_file[fd] = f + 1;
    pthread_mutex_unlock(&c->mu);
    return fd;
}

static int cf_close(void *ctx, int fd)
{
    crashfs *c = ctx;
    pthread_mutex_lock(&c->mu);
    if (fd >= 0 && fd < CF_MAX_FDS)
        c->fd_file[fd] = 0;
    pthread_mutex_unlock(&c->mu);
    return close(fd);
}

static int cf_fstat(void *ctx, int fd, struct stat *st)
{
    (void)ctx;
    return fstat(fd, st);
}

static ssize_t cf_pwrite(void *ctx, int fd, const void *buf, size_t len, off_t off)
{
    crashfs *c = ctx;
    pthread_mutex_lock(&c->mu); /* held across the call: the record keeps the order the file saw */
    ssize_t n = pwrite(fd, buf, len, off);
    int f = cf_file_of(c, fd);
    if (n > 0 && f >= 0)
        cf_record_write(c, f, (uint64_t)off, buf, (uint64_t)n);
    pthread_mutex_unlock(&c->mu);
    return n;
}

static int cf_sync_common(crashfs *c, int fd, int datasync)
{
    pthread_mutex_lock(&c->mu);
    int f = cf_file_of(c, fd);
    if (f >= 0)
        cf_scan_maps(c, f);
    int r = datasync ? fdatasync(fd) : fsync(fd);
    if (r == 0) {
        if (f >= 0)
            cf_push(c, CF_SYNC, f);
        else if (fd == c->dirfd)
            cf_push(c, CF_DIRSYNC, -1);
    }
    pthread_mutex_unlock(&c->mu);
    return r;
}
static int cf_fdatasync(void *ctx, int fd) { return cf_sync_common(ctx, fd, 1); }
static int cf_fsync(void *ctx, int fd) { return cf_sync_common(ctx, fd, 0); }

static int cf_renameat(void *ctx, int dirfd, const char *from, const char *to)
{
    crashfs *c = ctx;
    pthread_mutex_lock(&c->mu);
    int r = renameat(dirfd, from, dirfd, to);
    if (r == 0) {
        int f = cf_lookup(c, from), g = cf_lookup(c, to);
        if (g >= 0)
            c->ns_name[g][0] = 0;
        if (f >= 0)
            snprintf(c->ns_name[f], CF_NAME, "%s", to);
        cf_op *o = cf_push(c, CF_RENAME, f);
        snprintf(o->name, CF_NAME, "%s", from);
        snprintf(o->to, CF_NAME, "%s", to);
    }
    pthread_mutex_unlock(&c->mu);
    return r;
}

static int cf_unlinkat(void *ctx, int dirfd, const char *name)
{
    crashfs *c = ctx;
    pthread_mutex_lock(&c->mu);
    int r = unlinkat(dirfd, name, 0);
    if (r == 0) {
        int f = cf_lookup(c, name);
        if (f >= 0)
            c->ns_name[f][0] = 0;
        snprintf(cf_push(c, CF_UNLINK, f)->name, CF_NAME, "%s", name);
    }
    pthread_mutex_unlock(&c->mu);
    return r;
}

static int cf_fallocate(void *ctx, int fd, off_t off, off_t len)
{
    crashfs *c = ctx;
    pthread_mutex_lock(&c->mu);
    int r = fallocate(fd, 0, off, len);
    int f = cf_file_of(c, fd);
    if (r == 0 && f >= 0 && (uint64_t)(off + len) > c->shadow_len[f]) {
        cf_op *o = cf_push(c, CF_SIZE, f);
        o->len = (uint64_t)(off + len);
        o->off = 1;
        cf_shadow_size(c, f, o->len);
    }
    pthread_mutex_unlock(&c->mu);
    return r;
}

static int cf_ftruncate(void *ctx, int fd, off_t len)
{
    crashfs *c = ctx;
    pthread_mutex_lock(&c->mu);
    int f = cf_file_of(c, fd);
    if (f >= 0)
        cf_scan_maps(c, f);
    int r = ftruncate(fd, len);
    if (r == 0 && f >= 0) {
        cf_push(c, CF_SIZE, f)->len = (uint64_t)len;
        cf_shadow_size(c, f, (uint64_t)len);
    }
    pthread_mutex_unlock(&c->mu);
    return r;
}

static void *cf_mmap(void *ctx, void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    crashfs *c = ctx;
    void *p = mmap(addr, len, prot, flags, fd, off);
    if (p == MAP_FAILED || !(prot & PROT_WRITE) || !(flags & MAP_SHARED))
        return p;
    pthread_mutex_lock(&c->mu);
    int f = cf_file_of(c, fd);
    for (int m = 0; f >= 0 && off == 0 && m < CF_MAX_MAPS; m++)
        if (!c->maps[m].addr) {
            c->maps[m] = (cf_map){p, len, f};
            break;
        }
    pthread_mutex_unlock(&c->mu);
    return p;
}

static int cf_munmap(void *ctx, void *addr, size_t len)
{
    crashfs *c = ctx;
    pthread_mutex_lock(&c->mu);
    for (int m = 0; m < CF_MAX_MAPS; m++) {
        cf_map *mp = &c->maps[m];
        if (mp->addr && mp->addr >= (unsigned char *)addr && mp->addr < (unsigned char *)addr + len) {
            cf_scan_maps(c, mp->file);
            mp->addr = NULL;
        }
    }
    int r = munmap(addr, len);
    pthread_mutex_unlock(&c->mu);
    return r;
}

static int cf_msync(void *ctx, void *addr, size_t len, int flags)
{
    crashfs *c = ctx;
    pthread_mutex_lock(&c->mu);
    int r = msync(addr, len, flags);
    for (int m = 0; r == 0 && m < CF_MAX_MAPS; m++) {
        cf_map *mp = &c->maps[m];
        if (mp->addr && mp->addr <= (unsigned char *)addr && (unsigned char *)addr < mp->addr + mp->len) {
            cf_scan_maps(c, mp->file);
            if (flags & MS_SYNC)
                cf_push(c, CF_SYNC, mp->file);
        }
    }
    pthread_mutex_unlock(&c->mu);
    return r;
}

static inline void crashfs_init(crashfs *c)
{
    memset(c, 0, sizeof(*c));
    pthread_mutex_init(&c->mu, NULL);
    c->dirfd = -1;
    c->ops = (as_file_ops){
        .version = AS_FILE_OPS_VERSION, .ctx = c, .openat = cf_openat, .close = cf_close, .fstat = cf_fstat,
        .pwrite = cf_pwrite, .fdatasync = cf_fdatasync, .fsync = cf_fsync, .renameat = cf_renameat,
        .unlinkat = cf_unlinkat, .fallocate = cf_fallocate, .ftruncate = cf_ftruncate, .mmap = cf_mmap,
        .munmap = cf_munmap, .msync = cf_msync,
    };
}

static inline void crashfs_free(crashfs *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->log[i].data);
    free(c->log);
    for (int f = 0; f < CF_MAX_FILES; f++)
        free(c->shadow[f]);
    pthread_mutex_destroy(&c->mu);
}

/* Position in the record now (an acknowledgement taken after a call returned covers everything
 * before it). */
static inline size_t crashfs_mark(crashfs *c)
{
    pthread_mutex_lock(&c->mu);
    size_t n = c->n;
    pthread_mutex_unlock(&c->mu);
    return n;
}

/* ---------- building one crash state ---------- */

typedef struct cf_file_state {
    unsigned char *data;
    uint64_t len, cap;
} cf_file_state;

static inline void cf_fs_size(cf_file_state *s, uint64_t len)
{
    if (len > s->cap) {
        uint64_t cap = s->cap ? s->cap : 65536;
        while (cap < len)
            cap *= 2;
        s->data = realloc(s->data, cap);
        if (!s->data)
            abort();
        memset(s->data + s->cap, 0, cap - s->cap);
        s->cap = cap;
    }
    if (len < s->len)
        memset(s->data + len, 0, s->len - len);
    s->len = len;
}

/* Apply op o to file state s; keep_sector(i) says whether sector piece i of a write persists. */
static inline void cf_apply(cf_file_state *s, const cf_op *o, uint64_t *rng, int torn)
{
    if (o->kind == CF_SIZE) {
        if (!o->off || o->len > s->len)
            cf_fs_size(s, o->len);
        return;
    }
    if (o->kind != CF_WRITE)
        return;
    uint64_t end = o->off + o->len;
    for (uint64_t p = o->off; p < end;) {
        uint64_t q = (p / CF_SECTOR + 1) * CF_SECTOR;
        if (q > end)
            q = end;
        if (!torn || ast_below(rng, 4) != 0) { /* a torn write loses about a quarter of its pieces */
            if (q > s->len)
                cf_fs_size(s, q);
            memcpy(s->data + p, o->data + (p - o->off), q - p);
        }
        p = q;
    }
}

typedef struct cf_state_stats {
    uint64_t unsynced_writes, kept_writes, torn_writes, dir_ops_lost;
} cf_state_stats;

/* Write into `dir` (empty) the files a power cut after the first `cut` operations could leave.
 * mode 0: only what was synced; 1: everything (no loss); 2: a random subset, torn. */
static inline int crashfs_build(const crashfs *c, size_t cut, int mode, uint64_t *rng, const char *dir,
                                cf_state_stats *st)
{
    int nf = c->nfiles;
    size_t *last_sync = calloc((size_t)nf + 1, sizeof(size_t)); /* index+1 of the file's last sync */
    cf_file_state *fs = calloc((size_t)nf + 1, sizeof(*fs));
    char(*name)[CF_NAME] = calloc((size_t)nf + 1, CF_NAME);
    if (!last_sync || !fs || !name)
        abort();
    size_t last_dirsync = 0;
    for (size_t i = 0; i < cut; i++) {
        const cf_op *o = &c->log[i];
        if (o->kind == CF_SYNC)
            last_sync[o->file] = i + 1;
        else if (o->kind == CF_DIRSYNC)
            last_dirsync = i + 1;
    }
    /* directory: durable ops, then a prefix of the later ones */
    size_t dir_end = cut;
    if (mode == 0)
        dir_end = last_dirsync;
    else if (mode == 2) {
        size_t later = 0;
        for (size_t i = last_dirsync; i < cut; i++)
            later += c->log[i].kind == CF_CREATE || c->log[i].kind == CF_RENAME || c->log[i].kind == CF_UNLINK;
        size_t keep = (size_t)ast_below(rng, later + 1), seen = 0;
        dir_end = last_dirsync;
        for (size_t i = last_dirsync; i < cut && seen < keep; i++) {
            int d = c->log[i].kind == CF_CREATE || c->log[i].kind == CF_RENAME || c->log[i].kind == CF_UNLINK;
            seen += d;
            dir_end = i + 1;
        }
        st->dir_ops_lost += later - keep;
    }
    for (size_t i = 0; i < dir_end; i++) {
        const cf_op *o = &c->log[i];
        if (o->kind == CF_CREATE)
            snprintf(name[o->file], CF_NAME, "%s", o->name);
        else if (o->kind == CF_UNLINK || o->kind == CF_RENAME) {
            for (int f = 0; f < nf; f++)
                if (strcmp(name[f], o->name) == 0 || (o->kind == CF_RENAME && strcmp(name[f], o->to) == 0))
                    name[f][0] = 0;
            if (o->kind == CF_RENAME && o->file >= 0)
                snprintf(name[o->file], CF_NAME, "%s", o->to);
        }
    }
    /* file contents: synced prefix, then (mode 1) all or (mode 2) a torn subset of the rest */
    for (size_t i = 0; i < cut; i++) {
        const cf_op *o = &c->log[i];
        if ((o->kind != CF_WRITE && o->kind != CF_SIZE) || o->file < 0)
            continue;
        if (i < last_sync[o->file]) {
            cf_apply(&fs[o->file], o, rng, 0);
            continue;
        }
        st->unsynced_writes++;
        if (mode == 0 || (mode == 2 && ast_below(rng, 3) == 0))
            continue;
        int torn = mode == 2 && ast_below(rng, 3) == 0;
        st->kept_writes++;
        st->torn_writes += torn;
        cf_apply(&fs[o->file], o, rng, torn);
    }
    int rc = 0;
    for (int f = 0; f < nf && !rc; f++) {
        if (!name[f][0])
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, name[f]);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0) {
            rc = -1;
            break;
        }
        if (fs[f].len && pwrite(fd, fs[f].data, fs[f].len, 0) != (ssize_t)fs[f].len)
            rc = -1;
        close(fd);
    }
    for (int f = 0; f < nf; f++)
        free(fs[f].data);
    free(fs);
    free(name);
    free(last_sync);
    return rc;
}

#endif
