/* as_scan.c - read one segment at open: header check, every record validated, torn tails told from damage. */
#include "as_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AS_SECTOR 512u

static int as_rscan_add(as_db *db, as_rscan *sc, const as_rec_header *h, uint64_t loc)
{
    if (h->seq > sc->max_seq)
        sc->max_seq = h->seq;
    if (h->flags == AS_REC_BATCH) /* not a key: the count of the records it commits */
        return AS_OK;
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
/* A batch header at off commits the `key` put/tombstone records after it together: AS_REC_OK when
 * all of them are there and valid, else the verdict of the first that is not, at *bad. */
static enum as_rec_verdict as_batch_check(const as_segment *sg, uint64_t off, uint64_t size, uint64_t *bad)
{
    const as_rec_header *b = (const void *)(sg->base + off);
    uint64_t p = off + as_rec_bytes(0);
    if (b->key <= 0) {
        *bad = off;
        return AS_REC_BADHDR;
    }
    for (int64_t k = 0; k < b->key; k++) {
        enum as_rec_verdict v = p < size ? as_rec_check(sg->base + p, size - p, 1) : AS_REC_SHORT;
        const as_rec_header *h = (const void *)(sg->base + p);
        if (v == AS_REC_OK && h->flags != AS_REC_PUT && h->flags != AS_REC_TOMBSTONE)
            v = AS_REC_BADHDR;
        if (v != AS_REC_OK) {
            *bad = p;
            return v;
        }
        p += as_rec_bytes(h->value_len);
    }
    return AS_REC_OK;
}

int as_scan_segment(as_db *db, as_segment *sg, uint64_t from, int is_last, as_rscan *sc, char *note,
                        size_t notelen)
{
    uint64_t size = atomic_load(&sg->size), off = from;
    while (off < size) {
        enum as_rec_verdict v = as_rec_check(sg->base + off, size - off, 1);
        /* bad: the record that fails; off: where its write began (a batch goes whole or not at all) */
        uint64_t bad = off;
        if (v == AS_REC_OK && ((const as_rec_header *)(sg->base + off))->flags == AS_REC_BATCH)
            v = as_batch_check(sg, off, size, &bad);
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
        uint64_t next = as_next_valid(sg, bad, size);
        if (is_last && (!next || as_lost_write(sg, bad, next))) {
            uint64_t after = next ? as_count_valid(sg, next, size) : 0;
            db->bytes_dropped += size - off;
            db->records_dropped += 1 + after;
            snprintf(note, notelen, "torn tail cut: %llu bytes (1 record: %s%s%s, then %llu valid records "
                     "written after it) at %.400s offset %llu", (unsigned long long)(size - off),
                     as_rec_verdict_name(v), bad != off ? ", inside an uncommitted batch" : "",
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
                                (unsigned long long)bad, as_rec_verdict_name(v),
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
int as_scan_open_segment(as_db *db, uint64_t id, uint64_t first_id, int is_last, as_segment **out, char *note,
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
     * read, by as_scan_check_ids: compaction may legitimately have removed any of them. */
    return AS_OK;
}

/* Every id from 1 to the newest must exist or have been dropped by compaction (a segment-drop marker
 * in the log, or the checkpoint's table): anything else was lost. */
int as_scan_check_ids(as_db *db, const uint64_t *ids, size_t n)
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
