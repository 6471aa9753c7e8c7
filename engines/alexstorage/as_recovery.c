/* as_recovery.c - open-time rebuild: validate every segment and record, cut a torn tail, bulk load the index. */
#include "as_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int as_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Segment ids present in the directory, sorted. */
static int as_list_segments(as_db *db, uint64_t **ids, size_t *n)
{
    *ids = NULL;
    *n = 0;
    int fd = dup(db->dirfd);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        if (fd >= 0)
            close(fd);
        return as_db_seterr(db, AS_EIO, "list store directory %s: %s", db->dir, strerror(errno));
    }
    rewinddir(d);
    size_t cap = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        unsigned long long id;
        char canon[64];
        if (strncmp(de->d_name, "seg-", 4) != 0 || de->d_name[4] < '0' || de->d_name[4] > '9' ||
            sscanf(de->d_name, "seg-%llu.log", &id) != 1)
            continue;
        snprintf(canon, sizeof(canon), AS_SEG_NAME_FMT, id);
        if (strcmp(canon, de->d_name) != 0)
            continue; /* only names this code writes: no duplicate ids from "seg-1.log" next to seg-000001.log */
        if (*n == cap) {
            cap = cap ? 2 * cap : 64;
            uint64_t *p = realloc(*ids, cap * sizeof(*p));
            if (!p) {
                closedir(d);
                return as_db_seterr(db, AS_ENOMEM, "out of memory listing %s", db->dir);
            }
            *ids = p;
        }
        (*ids)[(*n)++] = id;
    }
    closedir(d);
    if (*n)
        qsort(*ids, *n, sizeof(**ids), as_cmp_u64);
    return AS_OK;
}

static int as_rscan_add(as_db *db, as_rscan *sc, const as_rec_header *h, uint64_t loc)
{
    if (h->seq > sc->max_seq)
        sc->max_seq = h->seq;
    if (h->flags == AS_REC_SEGDROP) /* not a key: the id of a segment compaction removed */
        return h->key > 0 && as_db_mark_dropped(db, (uint64_t)h->key) != AS_OK
                   ? as_db_seterr(db, AS_ENOMEM, "out of memory scanning %s", db->dir)
                   : AS_OK;
    if (sc->n == sc->cap) {
        size_t cap = sc->cap ? 2 * sc->cap : 1 << 16;
        as_rentry *p = realloc(sc->e, cap * sizeof(*p));
        if (!p)
            return as_db_seterr(db, AS_ENOMEM, "out of memory scanning %s (%zu records)", db->dir, sc->n);
        sc->e = p;
        sc->cap = cap;
    }
    sc->e[sc->n++] = (as_rentry){h->key, h->seq, loc, (uint32_t)as_rec_bytes(h->value_len), h->flags};
    if (h->seq > sc->max_seq)
        sc->max_seq = h->seq;
    return AS_OK;
}

static int as_all_zero(const unsigned char *p, uint64_t n)
{
    uint64_t i = 0;
    for (; i < n && ((uintptr_t)(p + i) & 7); i++)
        if (p[i])
            return 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        if (w)
            return 0;
    }
    for (; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

/* First offset > off where a complete, checksum-valid record starts, or 0 if none: tells a torn
 * tail (nothing valid follows) from damage in the middle (valid records follow). */
static uint64_t as_next_valid(const as_segment *sg, uint64_t off, uint64_t size)
{
    for (uint64_t p = off + AS_REC_ALIGN; p + AS_REC_HEADER_BYTES <= size; p += AS_REC_ALIGN)
        if (as_rec_check(sg->base + p, size - p, 1) == AS_REC_OK)
            return p;
    return 0;
}

#define AS_SECTOR 512u

/* Does the bad record at off show a write that a power cut lost? Devices persist whole 512-byte
 * sectors, and appended space reads as zeros until written, so a lost part of a write is a zero run
 * from the record's start, or from a sector boundary inside it, to the next sector boundary or the
 * record's end. A flipped bit leaves no such run (unless the value itself is zero there; then the
 * records after it are cut and reported, not refused). `end` bounds the record (next valid or EOF). */
static int as_lost_write(const as_segment *sg, uint64_t off, uint64_t end)
{
    const as_rec_header *h = (const void *)(sg->base + off);
    uint64_t rec_end = end;
    if (off + AS_REC_HEADER_BYTES <= end && h->value_len <= AS_MAX_VALUE_BYTES && off + as_rec_bytes(h->value_len) < end)
        rec_end = off + as_rec_bytes(h->value_len);
    for (uint64_t p = off; p < rec_end; p = (p / AS_SECTOR + 1) * AS_SECTOR) {
        uint64_t q = (p / AS_SECTOR + 1) * AS_SECTOR;
        if (q > rec_end)
            q = rec_end;
        if (q - p >= AS_REC_ALIGN && as_all_zero(sg->base + p, q - p))
            return 1;
    }
    return 0;
}

/* Records that pass their checks from `from` on (what cutting there drops besides the torn one). */
static uint64_t as_count_valid(const as_segment *sg, uint64_t from, uint64_t size)
{
    uint64_t n = 0;
    while (from) {
        n++;
        const as_rec_header *h = (const void *)(sg->base + from);
        uint64_t p = from + as_rec_bytes(h->value_len);
        from = p < size && as_rec_check(sg->base + p, size - p, 1) == AS_REC_OK ? p : as_next_valid(sg, from, size);
    }
    return n;
}

/* Walk one segment's records. A bad record in the last segment is a torn tail (cut there) when nothing
 * valid follows it, or when it shows a write lost in a power cut (as_lost_write: then the records
 * after it were written after it, so none of them was acknowledged in a sync mode: an fdatasync
 * covering them would have covered the lost one). Anywhere else it is corruption (or skipped with
 * opt.salvage). */
int as_rec_scan_segment(as_db *db, as_segment *sg, uint64_t from, int is_last, as_rscan *sc, char *note,
                        size_t notelen)
{
    uint64_t size = atomic_load(&sg->size), off = from;
    while (off < size) {
        enum as_rec_verdict v = as_rec_check(sg->base + off, size - off, 1);
        if (v == AS_REC_OK) {
            const as_rec_header *h = (const void *)(sg->base + off);
            int rc = as_rscan_add(db, sc, h, as_loc_make(sg->id, off));
            if (rc != AS_OK)
                return rc;
            off += as_rec_bytes(h->value_len);
            continue;
        }
        if (is_last && as_all_zero(sg->base + off, size - off)) {
            /* A crash left the preallocated tail of as_seg_store: no record was ever there. */
            snprintf(note, notelen, "preallocated tail cut: %llu zero bytes at %.400s offset %llu",
                     (unsigned long long)(size - off), sg->path, (unsigned long long)off);
            if (db->opt.read_only) {
                atomic_store(&sg->size, off);
                return AS_OK;
            }
            return as_seg_truncate(sg, off, db->err, sizeof(db->err));
        }
        uint64_t next = as_next_valid(sg, off, size);
        if (is_last && (!next || as_lost_write(sg, off, next))) {
            uint64_t after = next ? as_count_valid(sg, next, size) : 0;
            db->bytes_dropped += size - off;
            db->records_dropped += 1 + after;
            snprintf(note, notelen, "torn tail cut: %llu bytes (1 record: %s%s, then %llu valid records written "
                     "after it) at %.400s offset %llu", (unsigned long long)(size - off), as_rec_verdict_name(v),
                     next ? ", a write lost in a power cut" : "", (unsigned long long)after, sg->path,
                     (unsigned long long)off);
            if (db->opt.read_only) {
                atomic_store(&sg->size, off); /* ignore it in memory; the file stays untouched */
                return AS_OK;
            }
            return as_seg_truncate(sg, off, db->err, sizeof(db->err));
        }
        if (!db->opt.salvage)
            return as_db_seterr(db, AS_ECORRUPT,
                                "%s offset %llu: %s (%s); open with the salvage option to skip it", sg->path,
                                (unsigned long long)off, as_rec_verdict_name(v),
                                next ? "valid records follow, so this is not a torn tail"
                                     : "in a segment that is not the last one");
        uint64_t end = next ? next : size;
        db->bytes_salvaged += end - off;
        db->records_dropped += 1;
        snprintf(note, notelen, "salvage skipped %llu corrupt bytes at %.400s offset %llu",
                 (unsigned long long)(end - off), sg->path, (unsigned long long)off);
        if (!next) {
            atomic_store(&sg->size, off); /* sealed segment: never appended to again */
            return AS_OK;
        }
        off = next;
    }
    return AS_OK;
}

/* Stable LSD radix sort by key, 11-bit digits (sign bit flipped so INT64_MIN sorts first); all six
 * histograms come from one pass, and a digit that is the same for every key is skipped. */
#define AS_RADIX_BITS 11
#define AS_RADIX_PASSES 6
static inline unsigned as_digit(const as_rentry *e, int pass)
{
    return (unsigned)((((uint64_t)e->key ^ (1ull << 63)) >> (pass * AS_RADIX_BITS)) & ((1u << AS_RADIX_BITS) - 1));
}

static int as_sort_entries(as_rscan *sc)
{
    if (sc->n < 2)
        return AS_OK;
    size_t(*count)[1u << AS_RADIX_BITS] = calloc(AS_RADIX_PASSES, sizeof(*count));
    as_rentry *tmp = malloc(sc->n * sizeof(*tmp));
    if (!tmp || !count) {
        free(tmp);
        free(count);
        return AS_ENOMEM;
    }
    for (size_t i = 0; i < sc->n; i++)
        for (int p = 0; p < AS_RADIX_PASSES; p++)
            count[p][as_digit(&sc->e[i], p)]++;
    as_rentry *src = sc->e, *dst = tmp;
    for (int p = 0; p < AS_RADIX_PASSES; p++) {
        if (count[p][as_digit(&src[0], p)] == sc->n)
            continue;
        size_t sum = 0;
        for (unsigned b = 0; b < (1u << AS_RADIX_BITS); b++) {
            size_t c = count[p][b];
            count[p][b] = sum;
            sum += c;
        }
        for (size_t i = 0; i < sc->n; i++)
            dst[count[p][as_digit(&src[i], p)]++] = src[i];
        as_rentry *t = src;
        src = dst;
        dst = t;
    }
    if (src != sc->e)
        memcpy(sc->e, src, sc->n * sizeof(*src));
    free(tmp);
    free(count);
    return AS_OK;
}

/* Newest sequence per key wins; tombstones remove; then one bulk load. */
static int as_build_index(as_db *db, as_rscan *sc)
{
    if (db->ndropped) { /* records of a dropped segment still on disk are copies or garbage */
        size_t k = 0;
        for (size_t i = 0; i < sc->n; i++)
            if (!as_db_is_dropped(db, as_loc_seg(sc->e[i].loc)))
                sc->e[k++] = sc->e[i];
        sc->n = k;
    }
    if (as_sort_entries(sc) != AS_OK)
        return as_db_seterr(db, AS_ENOMEM, "out of memory sorting %zu records of %s", sc->n, db->dir);
    int64_t *keys = malloc((sc->n ? sc->n : 1) * sizeof(*keys));
    uint64_t *locs = malloc((sc->n ? sc->n : 1) * sizeof(*locs));
    if (!keys || !locs) {
        free(keys);
        free(locs);
        return as_db_seterr(db, AS_ENOMEM, "out of memory building the index of %s", db->dir);
    }
    size_t n = 0;
    uint64_t live = 0;
    for (size_t i = 0; i < sc->n;) {
        size_t best = i, j = i + 1;
        for (; j < sc->n && sc->e[j].key == sc->e[i].key; j++)
            if (sc->e[j].seq > sc->e[best].seq)
                best = j;
        if (sc->e[best].flags == AS_REC_PUT) {
            keys[n] = sc->e[best].key;
            locs[n++] = sc->e[best].loc;
            live += sc->e[best].bytes;
            atomic_fetch_add(&as_db_seg(db, as_loc_seg(sc->e[best].loc))->live, sc->e[best].bytes);
        }
        i = j;
    }
    int arc = as_index_bulk_load(db->index, keys, locs, n);
    free(keys);
    free(locs);
    if (arc != AS_IX_OK)
        return as_db_seterr(db, arc == AS_IX_ENOMEM ? AS_ENOMEM : AS_EINTERNAL,
                            "bulk load of %zu keys into the index failed (index status %d)", n, arc);
    atomic_store(&db->live_bytes, live);
    return AS_OK;
}

/* A last segment shorter than its header, or with a zeroed one, was torn while being created: start
 * it again. */
static int as_redo_torn_header(as_db *db, as_segment **sgp, uint64_t id, uint64_t first_id, char *note,
                               size_t notelen)
{
    as_segment *sg = *sgp;
    uint64_t size = atomic_load(&sg->size);
    db->bytes_dropped += size;
    snprintf(note, notelen, "torn segment header: %.400s (%llu bytes) created again", sg->path,
             (unsigned long long)size);
    if (db->opt.read_only)
        return AS_OK;
    const char *name = strrchr(sg->path, '/') + 1;
    if (db->fops->unlinkat(db->fops->ctx, db->dirfd, name) != 0)
        return as_db_seterr(db, AS_EIO, "remove torn segment %s: %s", sg->path, strerror(errno));
    as_seg_close(sg);
    *sgp = NULL;
    return as_seg_create(sgp, db->fops, db->dirfd, db->dir, id, db->seq, first_id, as_db_reserve_bytes(db),
                         db->opt.map_chunk_bytes, 1, db->err, sizeof(db->err));
}

/* Open segment `id` and check its header; first_id is the oldest segment present in the directory. */
int as_rec_open_segment(as_db *db, uint64_t id, uint64_t first_id, int is_last, as_segment **out, char *note,
                        size_t notelen)
{
    int writable = is_last && !db->opt.read_only;
    uint64_t reserve = writable ? as_db_reserve_bytes(db) : 0;
    int rc = as_seg_open(out, db->fops, db->dirfd, db->dir, id, writable, reserve, db->opt.map_chunk_bytes, db->err,
                         sizeof(db->err));
    if (rc != AS_OK)
        return rc;
    as_segment *sg = *out;
    /* A zeroed header: the header write of a new segment was lost in a power cut. Rotation syncs the
     * header and the directory before the first record goes in, so nothing in it was acknowledged. */
    int zeroed = atomic_load(&sg->size) >= AS_SEG_HEADER_BYTES && as_all_zero(sg->base, AS_SEG_HEADER_BYTES);
    if (atomic_load(&sg->size) < AS_SEG_HEADER_BYTES || (zeroed && is_last)) {
        if (is_last)
            return as_redo_torn_header(db, out, id, first_id, note, notelen);
        return as_db_seterr(db, AS_ECORRUPT, "%s offset 0: file has %llu bytes, shorter than the %u-byte header",
                            sg->path, (unsigned long long)atomic_load(&sg->size), AS_SEG_HEADER_BYTES);
    }
    char why[256];
    const as_seg_header *h = (const as_seg_header *)sg->base;
    if (as_seg_header_check(h, id, why, sizeof(why)) != AS_OK)
        return as_db_seterr(db, AS_ECORRUPT, "%s offset 0: %s", sg->path, why);
    /* Missing segments (h->oldest_seg says where the store started) are checked once the whole log is
     * read, by as_rec_check_ids: compaction may legitimately have removed any of them. */
    return AS_OK;
}

/* Every id from 1 to the newest must exist or have been dropped by compaction (a segment-drop marker
 * in the log, or the checkpoint's table): anything else was lost. */
int as_rec_check_ids(as_db *db, const uint64_t *ids, size_t n)
{
    size_t j = 0;
    for (uint64_t id = 1; n && id <= ids[n - 1]; id++) {
        if (j < n && ids[j] == id) {
            j++;
            continue;
        }
        if (!as_db_is_dropped(db, id))
            return as_db_seterr(db, AS_ECORRUPT, "%s: missing segment " AS_SEG_NAME_FMT " (no compaction removed "
                                "it; the newest is " AS_SEG_NAME_FMT ")", db->dir, (unsigned long long)id,
                                (unsigned long long)ids[n - 1]);
    }
    return AS_OK;
}

/* Segments compaction dropped whose file survived a crash before the unlink: forget them (writable
 * opens finish the removal). */
static void as_drop_leftovers(as_db *db)
{
    for (size_t i = 0; i < db->ndropped; i++) {
        as_segment *sg = as_db_seg(db, db->dropped[i]);
        if (!sg)
            continue;
        atomic_fetch_sub(&db->disk_bytes, atomic_load(&sg->size));
        as_db_seg_remove(db, sg->id);
        if (!db->opt.read_only)
            db->fops->unlinkat(db->fops->ctx, db->dirfd, strrchr(sg->path, '/') + 1);
        as_seg_close(sg);
    }
}

/* Undo a checkpoint load that turned out unusable, before the full scan. */
static int as_recover_reset(as_db *db)
{
    as_db_close_segments(db);
    atomic_store(&db->num_segments, 0);
    atomic_store(&db->disk_bytes, 0);
    atomic_store(&db->live_bytes, 0);
    db->ndropped = 0;
    db->seq = 0;
    db->records_replayed = 0;
    as_index_destroy(db->index);
    db->index = NULL;
    char why[256];
    int rc = as_index_create(&db->index, &db->opt, why, sizeof(why));
    if (rc != AS_OK)
        return as_db_seterr(db, rc, "open %s: %s", db->dir, why);
    return AS_OK;
}

static int as_scan_all(as_db *db, const uint64_t *ids, size_t n, as_rscan *sc, char *note, size_t notelen)
{
    for (size_t i = 0; i < n; i++) {
        as_segment *sg = NULL;
        int is_last = i + 1 == n;
        int rc = as_rec_open_segment(db, ids[i], ids[0], is_last, &sg, note, notelen);
        if (rc == AS_OK && sg)
            rc = as_db_seg_put(db, sg) == AS_OK ? AS_OK : as_db_seterr(db, AS_ENOMEM, "out of memory");
        if (rc != AS_OK) {
            if (sg && as_db_seg(db, ids[i]) != sg)
                as_seg_close(sg);
            return rc;
        }
        if (!sg)
            continue;
        rc = as_rec_scan_segment(db, sg, AS_SEG_HEADER_BYTES, is_last, sc, note, notelen);
        if (rc != AS_OK)
            return rc;
        atomic_fetch_add(&db->disk_bytes, atomic_load(&sg->size));
    }
    return AS_OK;
}

int as_recover(as_db *db)
{
    uint64_t *ids;
    size_t n;
    int rc = as_list_segments(db, &ids, &n);
    if (rc != AS_OK)
        return rc;
    if (n && ids[n - 1] > AS_LOC_MAX_SEG)
        rc = as_db_seterr(db, AS_ECORRUPT, "%s: segment id %llu is beyond the largest (%llu)", db->dir,
                          (unsigned long long)ids[n - 1], (unsigned long long)AS_LOC_MAX_SEG);
    as_rscan sc = {0};
    char note[700] = "", why[400] = "";
    int from_ckpt = 0;
    if (rc == AS_OK) {
        rc = as_ckpt_recover(db, ids, n, why, sizeof(why), note, sizeof(note));
        from_ckpt = rc == AS_OK;
    }
    if (rc == AS_NOTFOUND) {
        rc = as_recover_reset(db);
        if (rc == AS_OK)
            rc = as_scan_all(db, ids, n, &sc, note, sizeof(note));
        if (rc == AS_OK) {
            db->seq = sc.max_seq;
            db->records_replayed = sc.n;
            rc = as_build_index(db, &sc);
        }
    }
    if (rc == AS_OK) {
        atomic_store(&db->appended_seq, db->seq);
        db->synced_seq = db->seq;
        atomic_store(&db->last_seg, n ? ids[n - 1] : 0);
        as_drop_leftovers(db);
        rc = as_rec_check_ids(db, ids, n);
        db->first_seg = 0;
        for (size_t i = 0; i < n && !db->first_seg; i++)
            if (as_db_seg(db, ids[i]))
                db->first_seg = ids[i];
        atomic_store(&db->log_bytes_since_ckpt, from_ckpt ? 0 : atomic_load(&db->disk_bytes));
    }
    if (rc == AS_OK && n == 0 && !db->opt.read_only) {
        as_segment *sg;
        rc = as_seg_create(&sg, db->fops, db->dirfd, db->dir, 1, 0, 1, as_db_reserve_bytes(db), db->opt.map_chunk_bytes,
                           db->opt.sync_mode != AS_SYNC_NONE, db->err, sizeof(db->err));
        if (rc == AS_OK && as_db_seg_put(db, sg) != AS_OK) {
            as_seg_close(sg);
            rc = as_db_seterr(db, AS_ENOMEM, "out of memory");
        }
        if (rc == AS_OK) {
            db->first_seg = 1;
            atomic_store(&db->last_seg, 1);
            atomic_fetch_add(&db->disk_bytes, AS_SEG_HEADER_BYTES);
        }
    }
    if (rc == AS_OK)
        as_db_seterr(db, AS_OK, "opened %s: %zu segments, %s, %llu records replayed, %zu keys%s%s", db->dir, n,
                     from_ckpt ? "from the index checkpoint" : db->ckpt_rejected ? "full scan (checkpoint rejected: "
                     "see below)" : "full scan", (unsigned long long)db->records_replayed, as_index_size(db->index),
                     note[0] ? "; " : "", note);
    if (rc == AS_OK && db->ckpt_rejected) {
        size_t len = strlen(db->err);
        snprintf(db->err + len, sizeof(db->err) - len, "; checkpoint %s/%s rejected: %s", db->dir, AS_CKPT_NAME, why);
    }
    free(sc.e);
    free(ids);
    return rc;
}
