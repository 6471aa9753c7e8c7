/* as_checkpoint.c - index checkpoints: write the sorted (key, locator) pairs atomically; reopen from them + the log tail. */
#include "as_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#define AS_CKPT_BUF (1u << 20)

static uint64_t as_ckpt_header_sum(const as_ckpt_header *h)
{
    return XXH3_64bits(h, offsetof(as_ckpt_header, checksum));
}

static int as_ckpt_io(int e, const char *what, const char *path, char *err, size_t errlen)
{
    snprintf(err, errlen, "%s %s: %s", what, path, strerror(e));
    return as_errno_status(e);
}

/* Write all of buf at *pos and advance it; 0 or the errno. */
static int as_write_all(const as_file_ops *f, int fd, off_t *pos, const void *buf, size_t len)
{
    const unsigned char *p = buf;
    while (len) {
        ssize_t w = f->pwrite(f->ctx, fd, p, len, *pos);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return w < 0 ? errno : EIO;
        p += w;
        *pos += w;
        len -= (size_t)w;
    }
    return 0;
}

/* Serialise the index and the per-segment live-byte table into CHECKPOINT.tmp, then rename it over
 * CHECKPOINT. Under write_mu (the index cannot change; readers only read it). On failure the old
 * checkpoint stays and the temp file is removed; the store itself is unaffected. */
int as_ckpt_write(as_db *db, char *err, size_t errlen)
{
    if (db->opt.read_only)
        return AS_OK;
    /* The log a checkpoint covers must survive any power loss the checkpoint survives. */
    int rc = as_sync_log(db, AS_SITE_CKPT_LOG, err, errlen);
    if (rc != AS_OK)
        return rc;
    char tmp[4200], fin[4200];
    snprintf(tmp, sizeof(tmp), "%s/%s", db->dir, AS_CKPT_TMP);
    snprintf(fin, sizeof(fin), "%s/%s", db->dir, AS_CKPT_NAME);
    int fd = db->fops->openat(db->fops->ctx, db->dirfd, AS_CKPT_TMP, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    off_t pos = 0;
    if (fd < 0)
        return as_ckpt_io(errno, "create", tmp, err, errlen);
    unsigned char *buf = malloc(AS_CKPT_BUF);
    XXH3_state_t *xs = XXH3_createState();
    as_ckpt_header h;
    memset(&h, 0, sizeof(h));
    h.magic = AS_CKPT_MAGIC;
    h.version = AS_FORMAT_VERSION;
    h.header_bytes = AS_CKPT_HEADER_BYTES;
    h.end_seg = atomic_load(&db->last_seg);
    h.end_off = atomic_load(&as_db_seg(db, h.end_seg)->size);
    h.seq = db->seq;
    int e = 0;
    if (!buf || !xs) {
        rc = AS_ENOMEM;
        snprintf(err, errlen, "out of memory writing %s", tmp);
        goto out;
    }
    XXH3_64bits_reset(xs);
    e = as_write_all(db->fops, fd, &pos, &h, sizeof(h)); /* placeholder, rewritten once the sums are known */
    size_t fill = 0;
    as_ix_cursor it;
    as_ix_pair pr;
    uint64_t n = 0;
    for (as_ix_cursor_init(&it, db->index); !e && as_ix_cursor_next(&it, &pr);) {
        memcpy(buf + fill, &pr.key, 8);
        memcpy(buf + fill + 8, &pr.loc, 8);
        fill += 16;
        n++;
        if (fill == AS_CKPT_BUF) {
            XXH3_64bits_update(xs, buf, fill);
            e = as_write_all(db->fops, fd, &pos, buf, fill);
            fill = 0;
        }
    }
    /* live bytes of segments 1..end_seg (AS_CKPT_DROPPED for ids that no longer exist) */
    for (uint64_t id = 1; !e && id <= h.end_seg; id++) {
        as_segment *sg = as_db_seg(db, id);
        uint64_t live = sg && !sg->retired ? atomic_load(&sg->live) : AS_CKPT_DROPPED;
        memcpy(buf + fill, &live, 8);
        fill += 8;
        if (fill == AS_CKPT_BUF) {
            XXH3_64bits_update(xs, buf, fill);
            e = as_write_all(db->fops, fd, &pos, buf, fill);
            fill = 0;
        }
    }
    if (!e && fill) {
        XXH3_64bits_update(xs, buf, fill);
        e = as_write_all(db->fops, fd, &pos, buf, fill);
    }
    if (e) {
        rc = as_ckpt_io(e, "write", tmp, err, errlen);
        goto out;
    }
    h.num_pairs = n;
    h.first_seg = db->first_seg;
    h.body_checksum = XXH3_64bits_digest(xs);
    h.checksum = as_ckpt_header_sum(&h);
    if (db->fops->pwrite(db->fops->ctx, fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h)) {
        rc = as_ckpt_io(errno ? errno : EIO, "write header of", tmp, err, errlen);
        goto out;
    }
    if ((rc = as_sync_fd(db, fd, tmp, 0, AS_SITE_CKPT_FILE, err, errlen)) != AS_OK)
        goto out;
    if (db->fops->renameat(db->fops->ctx, db->dirfd, AS_CKPT_TMP, AS_CKPT_NAME) != 0) {
        rc = as_ckpt_io(errno, "rename to", fin, err, errlen);
        goto out;
    }
    if ((rc = as_sync_dir(db, AS_SITE_CKPT_FILE, err, errlen)) != AS_OK)
        goto out;
    db->ckpt_end_seg = h.end_seg;
    db->ckpt_end_off = h.end_off;
    atomic_store(&db->log_bytes_since_ckpt, 0);
    atomic_fetch_add(&db->n_checkpoints, 1);
    rc = AS_OK;
out:
    db->fops->close(db->fops->ctx, fd);
    if (rc != AS_OK)
        db->fops->unlinkat(db->fops->ctx, db->dirfd, AS_CKPT_TMP);
    free(buf);
    if (xs)
        XXH3_freeState(xs);
    return rc;
}

int as_checkpoint(as_session *s)
{
    as_db *db = s->db;
    as_sess_enter(s);
    int rc = as_write_check(s, 0, NULL);
    if (rc != AS_OK)
        return rc;
    pthread_mutex_lock(&db->write_mu);
    rc = as_ckpt_write(db, s->err, sizeof(s->err));
    pthread_mutex_unlock(&db->write_mu);
    return rc;
}

/* ---------------- loading ---------------- */

/* The checkpoint file, mapped and checked (checksums, sizes, key order). AS_OK, AS_NOTFOUND when
 * there is none, or AS_ECORRUPT with the reason in why. */
typedef struct as_ckpt_map {
    const as_ckpt_header *h;
    const unsigned char *body; /* pairs, then the segment table */
    size_t bytes;
} as_ckpt_map;

static int as_ckpt_map_open(as_db *db, as_ckpt_map *m, char *why, size_t whylen)
{
    memset(m, 0, sizeof(*m));
    const as_file_ops *f = db->fops;
    int fd = f->openat(f->ctx, db->dirfd, AS_CKPT_NAME, O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0) {
        if (errno == ENOENT)
            return AS_NOTFOUND;
        snprintf(why, whylen, "open: %s", strerror(errno));
        return AS_EIO;
    }
    struct stat st;
    if (f->fstat(f->ctx, fd, &st) != 0 || st.st_size < (off_t)AS_CKPT_HEADER_BYTES) {
        f->close(f->ctx, fd);
        snprintf(why, whylen, "file has %lld bytes, shorter than the %u-byte header", (long long)st.st_size,
                 AS_CKPT_HEADER_BYTES);
        return AS_ECORRUPT;
    }
    void *p = f->mmap(f->ctx, NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    f->close(f->ctx, fd);
    if (p == MAP_FAILED) {
        snprintf(why, whylen, "mmap: %s", strerror(errno));
        return AS_EIO;
    }
    madvise(p, (size_t)st.st_size, MADV_SEQUENTIAL);
    m->h = p;
    m->bytes = (size_t)st.st_size;
    m->body = (const unsigned char *)p + AS_CKPT_HEADER_BYTES;
    const as_ckpt_header *h = m->h;
    if (h->magic != AS_CKPT_MAGIC)
        return snprintf(why, whylen, "offset 0: bad magic"), AS_ECORRUPT;
    if (h->checksum != as_ckpt_header_sum(h))
        return snprintf(why, whylen, "offset 0: header checksum mismatch"), AS_ECORRUPT;
    if (h->version != AS_FORMAT_VERSION || h->header_bytes != AS_CKPT_HEADER_BYTES)
        return snprintf(why, whylen, "offset 0: version %u / header size %u not supported", h->version,
                        h->header_bytes), AS_ECORRUPT;
    if (h->end_seg == 0 || h->end_seg > AS_LOC_MAX_SEG || h->first_seg > h->end_seg || h->num_pairs > (1ull << 40) ||
        h->end_off < AS_SEG_HEADER_BYTES || h->end_off > AS_LOC_MAX_OFF)
        return snprintf(why, whylen, "offset 0: impossible header fields"), AS_ECORRUPT;
    uint64_t want = AS_CKPT_HEADER_BYTES + h->num_pairs * 16 + h->end_seg * 8;
    if (want != m->bytes)
        return snprintf(why, whylen, "file has %zu bytes, header says %llu", m->bytes, (unsigned long long)want),
               AS_ECORRUPT;
    if (XXH3_64bits(m->body, m->bytes - AS_CKPT_HEADER_BYTES) != h->body_checksum)
        return snprintf(why, whylen, "body checksum mismatch"), AS_ECORRUPT;
    return AS_OK;
}

static void as_ckpt_map_close(as_db *db, as_ckpt_map *m)
{
    if (m->h)
        db->fops->munmap(db->fops->ctx, (void *)m->h, m->bytes);
    m->h = NULL;
}

/* The header of the record a locator names, or NULL when it is not inside a live segment. */
static const as_rec_header *as_loc_header(as_db *db, uint64_t loc)
{
    as_segment *sg = as_db_seg(db, as_loc_seg(loc));
    uint64_t off = as_loc_off(loc);
    if (!sg || sg->retired || off < AS_SEG_HEADER_BYTES || off + AS_REC_HEADER_BYTES > atomic_load(&sg->size) ||
        off % AS_REC_ALIGN)
        return NULL;
    return (const as_rec_header *)(sg->base + off);
}

/* Apply the log records after the checkpoint, in log order, to the loaded index. */
static int as_ckpt_apply_tail(as_db *db, const as_rscan *sc)
{
    for (size_t i = 0; i < sc->n; i++) {
        const as_rentry *e = &sc->e[i];
        uint64_t old;
        const as_rec_header *oh = NULL;
        if (as_index_find(db->index, e->key, &old) == AS_IX_OK)
            oh = as_loc_header(db, old);
        if (oh && oh->seq > e->seq)
            continue; /* the index already holds a newer version */
        if (oh) {
            as_segment *os = as_db_seg(db, as_loc_seg(old));
            atomic_fetch_sub(&os->live, as_rec_bytes(oh->value_len));
        }
        if (e->flags == AS_REC_PUT) {
            if (as_index_upsert(db->index, e->key, e->loc, NULL, NULL) != AS_IX_OK)
                return as_db_seterr(db, AS_ENOMEM, "out of memory replaying %s", db->dir);
            atomic_fetch_add(&as_db_seg(db, as_loc_seg(e->loc))->live, e->bytes);
        } else {
            (void)as_index_erase(db->index, e->key, NULL);
        }
    }
    return AS_OK;
}

/* Every locator must fall inside a live segment; else the checkpoint and the log disagree (e.g.
 * compaction removed a segment it still points into) and a full scan decides. Records are not
 * touched (that would fault in the whole log): reads verify each record anyway. Total live bytes
 * come from the per-segment table as adjusted by the replay. */
static int as_ckpt_check_locs(as_db *db, char *why, size_t whylen)
{
    as_ix_cursor it;
    as_ix_pair pr;
    for (as_ix_cursor_init(&it, db->index); as_ix_cursor_next(&it, &pr);) {
        uint64_t loc = pr.loc;
        as_segment *sg = as_db_seg(db, as_loc_seg(loc));
        uint64_t off = as_loc_off(loc);
        if (!sg || sg->retired || off < AS_SEG_HEADER_BYTES || off % AS_REC_ALIGN ||
            off + AS_REC_HEADER_BYTES > atomic_load(&sg->size)) {
            snprintf(why, whylen, "key %lld points to segment %llu offset %llu, which the log does not have",
                     (long long)pr.key, (unsigned long long)as_loc_seg(loc), (unsigned long long)off);
            return AS_ECORRUPT;
        }
    }
    uint64_t live = 0, last = atomic_load(&db->last_seg);
    for (uint64_t id = 1; id <= last; id++) {
        as_segment *sg = as_db_seg(db, id);
        if (sg && !sg->retired)
            live += atomic_load(&sg->live);
    }
    atomic_store(&db->live_bytes, live);
    return AS_OK;
}

/* Open the store from CHECKPOINT: bulk load its pairs, open every segment without reading records
 * before the checkpoint's log position, replay the records after it. AS_OK; AS_NOTFOUND = no usable
 * checkpoint, fall back to a full scan (why says what was wrong; the caller resets the db); other
 * codes are hard errors (the log itself is damaged). */
int as_ckpt_recover(as_db *db, const uint64_t *ids, size_t n, char *why, size_t whylen, char *note,
                    size_t notelen)
{
    as_ckpt_map m;
    int rc = as_ckpt_map_open(db, &m, why, whylen);
    if (rc == AS_NOTFOUND) {
        snprintf(why, whylen, "no checkpoint");
        return AS_NOTFOUND;
    }
    if (rc != AS_OK) {
        as_ckpt_map_close(db, &m);
        db->ckpt_rejected = 1;
        return AS_NOTFOUND;
    }
    const as_ckpt_header *h = m.h;
    const unsigned char *pairs = m.body;
    const unsigned char *table = m.body + h->num_pairs * 16;
    /* keys strictly increasing (bulk load needs it; a checksummed but wrong file must not get further) */
    int64_t *keys = malloc((h->num_pairs ? h->num_pairs : 1) * sizeof(*keys));
    uint64_t *locs = malloc((h->num_pairs ? h->num_pairs : 1) * sizeof(*locs));
    if (!keys || !locs) {
        free(keys);
        free(locs);
        as_ckpt_map_close(db, &m);
        return as_db_seterr(db, AS_ENOMEM, "out of memory loading the checkpoint of %s", db->dir);
    }
    for (uint64_t i = 0; i < h->num_pairs; i++) {
        memcpy(&keys[i], pairs + i * 16, 8);
        memcpy(&locs[i], pairs + i * 16 + 8, 8);
        if (i && keys[i] <= keys[i - 1]) {
            snprintf(why, whylen, "keys out of order at pair %llu", (unsigned long long)i);
            rc = AS_ECORRUPT;
            break;
        }
    }
    /* segments the checkpoint knows were dropped */
    for (uint64_t id = 1; rc == AS_OK && id <= h->end_seg; id++) {
        uint64_t live;
        memcpy(&live, table + (id - 1) * 8, 8);
        if (live == AS_CKPT_DROPPED && as_db_mark_dropped(db, id) != AS_OK)
            rc = AS_ENOMEM;
    }
    if (rc == AS_OK && as_index_bulk_load(db->index, keys, locs, h->num_pairs) != AS_IX_OK) {
        snprintf(why, whylen, "bulk load of %llu pairs failed", (unsigned long long)h->num_pairs);
        rc = AS_ECORRUPT;
    }
    free(keys);
    free(locs);
    if (rc != AS_OK) {
        as_ckpt_map_close(db, &m);
        db->ckpt_rejected = 1;
        return rc == AS_ENOMEM ? as_db_seterr(db, AS_ENOMEM, "out of memory loading %s", db->dir) : AS_NOTFOUND;
    }
    /* Open every segment; read records only after the checkpoint's position. */
    as_rscan sc = {0};
    uint64_t end_seg = h->end_seg, end_off = h->end_off, ck_seq = h->seq;
    for (size_t i = 0; i < n && rc == AS_OK; i++) {
        if (as_db_is_dropped(db, ids[i]))
            continue; /* leftover of a compaction that crashed before the unlink: removed later */
        as_segment *sg = NULL;
        int is_last = i + 1 == n;
        rc = as_scan_open_segment(db, ids[i], ids[0], is_last, &sg, note, notelen);
        if (rc == AS_OK && sg && as_db_seg_put(db, sg) != AS_OK) {
            as_seg_close(sg);
            rc = as_db_seterr(db, AS_ENOMEM, "out of memory");
        }
        if (rc != AS_OK) {
            if (sg && as_db_seg(db, ids[i]) != sg)
                as_seg_close(sg);
            break;
        }
        if (!sg)
            continue;
        if (ids[i] <= end_seg) {
            uint64_t live;
            memcpy(&live, table + (ids[i] - 1) * 8, 8);
            atomic_store(&sg->live, live == AS_CKPT_DROPPED ? 0 : live);
        }
        if (ids[i] < end_seg) {
            atomic_fetch_add(&db->disk_bytes, atomic_load(&sg->size));
            continue;
        }
        uint64_t from = AS_SEG_HEADER_BYTES;
        if (ids[i] == end_seg) {
            if (atomic_load(&sg->size) < end_off) {
                rc = as_db_seterr(db, AS_ECORRUPT, "%s offset %llu: the segment ends before the %llu bytes the "
                                  "checkpoint covers (truncated?)", sg->path,
                                  (unsigned long long)atomic_load(&sg->size), (unsigned long long)end_off);
                break;
            }
            from = end_off;
        }
        rc = as_scan_segment(db, sg, from, is_last, &sc, note, notelen);
        if (rc == AS_OK)
            atomic_fetch_add(&db->disk_bytes, atomic_load(&sg->size));
    }
    as_ckpt_map_close(db, &m);
    if (rc == AS_OK && (n == 0 || ids[n - 1] < end_seg) && !as_db_is_dropped(db, end_seg))
        rc = as_db_seterr(db, AS_ECORRUPT, "%s: missing segment " AS_SEG_NAME_FMT " (the checkpoint covers it)",
                          db->dir, (unsigned long long)end_seg);
    if (rc == AS_OK) /* a missing segment is damage to the log, not a reason to distrust the checkpoint */
        rc = as_scan_check_ids(db, ids, n);
    if (rc == AS_OK)
        rc = as_ckpt_apply_tail(db, &sc);
    if (rc == AS_OK) {
        db->seq = sc.max_seq > ck_seq ? sc.max_seq : ck_seq;
        db->records_replayed = sc.n;
        atomic_store(&db->last_seg, n ? ids[n - 1] : 0);
        if (as_ckpt_check_locs(db, why, whylen) != AS_OK) {
            db->ckpt_rejected = 1;
            rc = AS_NOTFOUND;
        }
    }
    free(sc.e);
    if (rc == AS_OK) {
        db->ckpt_loaded = 1;
        db->ckpt_end_seg = end_seg;
        db->ckpt_end_off = end_off;
    }
    return rc;
}
