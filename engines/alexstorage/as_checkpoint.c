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

/* ---- the snapshot a checkpoint writes ----
 *
 * A checkpoint is the index as it was at its fence: the log position (end_seg, end_off) and sequence
 * taken in the first hold of write_mu, with the per-segment live-byte table of that moment. The pairs
 * are then collected in key order; with yield = 1 for about AS_MAINT_HOLD_NS per hold of write_mu,
 * and in between writers run (the pairs go to the file meanwhile, then as_maint_rest). A writer that changes a key the collection has not reached yet first notes the key's
 * locator at the fence (as_ckpt_note: the first change wins; 0 = the key was absent), and the
 * collection takes the noted value instead of the index's. Keys present at the fence and deleted
 * since are no longer in the index: a list keeps them and they are merged in key order. So the file
 * holds exactly the index at the fence, every locator in it points at or before the fence (the log
 * is fdatasync'd up to there before the file is renamed in), and recovery = the file + a replay of
 * the log after the fence, as before. Compaction never runs beside a checkpoint (maint_run_mu). */

#define AS_CKPT_CHUNK 4096u /* pairs per index scan call; the clock is read between two */

typedef struct as_snap_slot {
    int64_t key;
    uint64_t old; /* locator at the fence; 0 = absent */
    int used;
} as_snap_slot;

struct as_ckpt_snap {
    int started;           /* keys <= cursor are collected: writers no longer note them */
    int64_t cursor;
    as_snap_slot *tab;     /* open addressing, cap a power of two, at most half full */
    size_t cap, n;
    int64_t *gone;         /* keys present at the fence that a delete removed (duplicates allowed) */
    size_t ngone, gone_cap;
    int oom;               /* a note could not be kept: this checkpoint fails (the store is unaffected) */
};

static size_t as_snap_hash(int64_t key, size_t cap)
{
    uint64_t x = (uint64_t)key * 0x9E3779B97F4A7C15ull;
    return (size_t)(x ^ (x >> 29)) & (cap - 1);
}

static as_snap_slot *as_snap_find(as_snap_slot *tab, size_t cap, int64_t key)
{
    size_t i = as_snap_hash(key, cap);
    while (tab[i].used && tab[i].key != key)
        i = (i + 1) & (cap - 1);
    return &tab[i];
}

static const as_snap_slot *as_snap_get(const struct as_ckpt_snap *sn, int64_t key)
{
    if (!sn->n)
        return NULL;
    const as_snap_slot *sl = as_snap_find(sn->tab, sn->cap, key);
    return sl->used ? sl : NULL;
}

static int as_snap_grow(struct as_ckpt_snap *sn)
{
    size_t cap = sn->cap ? 2 * sn->cap : 1024;
    as_snap_slot *t = calloc(cap, sizeof(*t));
    if (!t)
        return AS_ENOMEM;
    for (size_t i = 0; i < sn->cap; i++)
        if (sn->tab[i].used)
            *as_snap_find(t, cap, sn->tab[i].key) = sn->tab[i];
    free(sn->tab);
    sn->tab = t;
    sn->cap = cap;
    return AS_OK;
}

void as_ckpt_note_slow(as_db *db, int64_t key, uint64_t old, int erased)
{
    struct as_ckpt_snap *sn = db->ckpt_snap;
    if (sn->oom || (sn->started && key <= sn->cursor))
        return;
    if (2 * (sn->n + 1) > sn->cap && as_snap_grow(sn) != AS_OK) {
        sn->oom = 1;
        return;
    }
    as_snap_slot *sl = as_snap_find(sn->tab, sn->cap, key);
    if (!sl->used) {
        *sl = (as_snap_slot){key, old, 1};
        sn->n++;
    }
    if (erased && sl->old) {
        if (sn->ngone == sn->gone_cap) {
            size_t cap = sn->gone_cap ? 2 * sn->gone_cap : 256;
            int64_t *g = realloc(sn->gone, cap * sizeof(*g));
            if (!g) {
                sn->oom = 1;
                return;
            }
            sn->gone = g;
            sn->gone_cap = cap;
        }
        sn->gone[sn->ngone++] = key;
    }
}

static int as_pair_cmp(const void *a, const void *b)
{
    int64_t x = ((const as_ix_pair *)a)->key, y = ((const as_ix_pair *)b)->key;
    return x < y ? -1 : x > y;
}

/* The collection's state between holds of write_mu. */
typedef struct as_ckpt_coll {
    struct as_ckpt_snap sn;
    as_ix_pair *in, *out, *extra;
    size_t nout, cap_in, cap_extra;
    int done;
} as_ckpt_coll;

/* The index's next pairs from `from`, AS_CKPT_CHUNK per scan, until the deadline or `cap` pairs (0 =
 * none) or the end; without a deadline (nobody waits: the whole collection runs in one hold) one
 * chunk per call. How many in *np, *last = 1 at the end. */
static int as_ckpt_scan(as_db *db, as_ckpt_coll *c, int64_t from, uint64_t deadline, uint64_t cap, size_t *np,
                        int *last)
{
    size_t n = 0;
    *last = 0;
    for (;;) {
        if (n + AS_CKPT_CHUNK > c->cap_in) {
            size_t cap_in = c->cap_in ? 2 * c->cap_in : 4 * AS_CKPT_CHUNK;
            as_ix_pair *p = realloc(c->in, cap_in * sizeof(*p));
            if (!p)
                return AS_ENOMEM;
            c->in = p;
            c->cap_in = cap_in;
        }
        size_t want = cap && cap - n < AS_CKPT_CHUNK ? cap - n : AS_CKPT_CHUNK;
        size_t got = as_index_scan(db->index, from, c->in + n, want);
        n += got;
        if (got < want || (n && c->in[n - 1].key == INT64_MAX)) {
            *last = 1;
            break;
        }
        from = c->in[n - 1].key + 1;
        if ((cap && n >= cap) || (deadline && as_now_ns() >= deadline) || !deadline)
            break;
    }
    *np = n;
    return AS_OK;
}

/* Collect the next pairs in key order into c->out (as they were at the fence). Under write_mu. */
static int as_ckpt_collect(as_db *db, as_ckpt_coll *c, uint64_t deadline, uint64_t cap)
{
    struct as_ckpt_snap *sn = &c->sn;
    int64_t from = sn->started ? sn->cursor + 1 : INT64_MIN;
    size_t n = 0;
    int last = 0;
    if (as_ckpt_scan(db, c, from, deadline, cap, &n, &last) != AS_OK)
        return AS_ENOMEM;
    int64_t hi = last ? INT64_MAX : c->in[n - 1].key;
    /* keys present at the fence, deleted since, in [from, hi] */
    size_t ne = 0;
    for (size_t g = 0; g < sn->ngone;) {
        int64_t k = sn->gone[g];
        if (k < from || k > hi) {
            g++;
            continue;
        }
        sn->gone[g] = sn->gone[--sn->ngone];
        uint64_t cur;
        const as_snap_slot *sl = as_snap_get(sn, k);
        if (!sl || !sl->old || as_index_find(db->index, k, &cur) == AS_IX_OK)
            continue; /* back in the index: taken with the index's pairs below */
        if (ne == c->cap_extra) {
            size_t cap = c->cap_extra ? 2 * c->cap_extra : 256;
            as_ix_pair *p = realloc(c->extra, cap * sizeof(*p));
            if (!p)
                return AS_ENOMEM;
            c->extra = p;
            c->cap_extra = cap;
        }
        c->extra[ne++] = (as_ix_pair){k, sl->old};
    }
    if (ne > 1)
        qsort(c->extra, ne, sizeof(*c->extra), as_pair_cmp);
    as_ix_pair *out = realloc(c->out, (n + ne + 1) * sizeof(*out));
    if (!out)
        return AS_ENOMEM;
    c->out = out;
    size_t i = 0, e = 0, o = 0;
    while (i < n || e < ne) {
        if (e < ne && (i == n || c->extra[e].key < c->in[i].key)) {
            if (!o || out[o - 1].key != c->extra[e].key) /* the list may hold a key twice */
                out[o++] = c->extra[e];
            e++;
            continue;
        }
        as_ix_pair p = c->in[i++];
        const as_snap_slot *sl = as_snap_get(sn, p.key);
        if (sl && !sl->old)
            continue; /* inserted after the fence */
        if (sl)
            p.loc = sl->old;
        out[o++] = p;
    }
    c->nout = o;
    sn->started = 1;
    sn->cursor = hi;
    c->done = last;
    return sn->oom ? AS_ENOMEM : AS_OK;
}

/* Stop the writers' notes (under write_mu) and free the collection. */
static void as_ckpt_coll_end(as_db *db, as_ckpt_coll *c)
{
    if (db->ckpt_snap == &c->sn)
        db->ckpt_snap = NULL;
    free(c->sn.tab);
    free(c->sn.gone);
    free(c->in);
    free(c->out);
    free(c->extra);
    memset(c, 0, sizeof(*c));
}

/* fdatasync segments [from, to] (those that exist) for the checkpoint's fence. Without write_mu is
 * fine: no segment can be retired while a checkpoint runs (maint_run_mu). */
static int as_ckpt_sync_log(as_db *db, uint64_t from, uint64_t to, char *err, size_t errlen)
{
    for (uint64_t id = from; id && id <= to; id++) {
        as_segment *sg = as_db_seg(db, id);
        if (!sg || sg->retired)
            continue;
        int rc = as_sync_seg(db, sg, AS_SITE_CKPT_LOG, err, errlen);
        if (rc != AS_OK)
            return rc;
    }
    return AS_OK;
}

/* Serialise the index as it was at the fence and the per-segment live-byte table into
 * CHECKPOINT.tmp, then rename it over CHECKPOINT. Under maint_run_mu and write_mu (held again on
 * return); yield = 1 lets writers in between the holds. On failure the old checkpoint stays and the
 * temp file is removed; the store itself is unaffected (a failed sync excepted: fail-stop). */
int as_ckpt_write(as_db *db, char *err, size_t errlen, int yield)
{
    if (db->opt.read_only)
        return AS_OK;
    char tmp[4200], fin[4200];
    snprintf(tmp, sizeof(tmp), "%s/%s", db->dir, AS_CKPT_TMP);
    snprintf(fin, sizeof(fin), "%s/%s", db->dir, AS_CKPT_NAME);
    /* the fence, in this hold */
    as_ckpt_header h;
    memset(&h, 0, sizeof(h));
    h.magic = AS_CKPT_MAGIC;
    h.version = AS_FORMAT_VERSION;
    h.header_bytes = AS_CKPT_HEADER_BYTES;
    h.end_seg = atomic_load(&db->last_seg);
    h.end_off = atomic_load(&as_db_seg(db, h.end_seg)->size);
    h.seq = db->seq;
    h.first_seg = db->first_seg;
    uint64_t since = atomic_load(&db->log_bytes_since_ckpt);
    uint64_t sync_from = db->unsynced_seg && db->unsynced_seg >= db->first_seg ? db->unsynced_seg : db->first_seg;
    uint64_t *live = malloc(h.end_seg * sizeof(*live));
    unsigned char *buf = malloc(AS_CKPT_BUF);
    XXH3_state_t *xs = XXH3_createState();
    as_ckpt_coll c;
    memset(&c, 0, sizeof(c));
    int fd = -1, rc = AS_OK, e = 0, unlocked = 0;
    off_t pos = 0;
    if (!live || !buf || !xs) {
        rc = AS_ENOMEM;
        snprintf(err, errlen, "out of memory writing %s", tmp);
        goto out;
    }
    for (uint64_t id = 1; id <= h.end_seg; id++) { /* AS_CKPT_DROPPED for ids that no longer exist */
        as_segment *sg = as_db_seg(db, id);
        live[id - 1] = sg && !sg->retired ? atomic_load(&sg->live) : AS_CKPT_DROPPED;
    }
    if (yield) {
        db->ckpt_snap = &c.sn;
        pthread_mutex_unlock(&db->write_mu);
        unlocked = 1;
    }
    /* The log a checkpoint covers must survive any power loss the checkpoint survives. */
    if ((rc = as_ckpt_sync_log(db, sync_from, h.end_seg, err, errlen)) != AS_OK)
        goto out;
    fd = db->fops->openat(db->fops->ctx, db->dirfd, AS_CKPT_TMP, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        rc = as_ckpt_io(errno, "create", tmp, err, errlen);
        goto out;
    }
    XXH3_64bits_reset(xs);
    e = as_write_all(db->fops, fd, &pos, &h, sizeof(h)); /* placeholder, rewritten once the sums are known */
    size_t fill = 0;
    uint64_t n = 0, held = 0, out_since = 0;
    while (!e && !c.done) {
        uint64_t t0 = 0, t1 = 0;
        if (yield) {
            as_maint_rest(db, held, out_since);
            pthread_mutex_lock(&db->write_mu);
            t0 = as_now_ns();
        }
        rc = as_ckpt_collect(db, &c, yield ? t0 + AS_MAINT_HOLD_NS : 0, yield ? db->fault.ckpt_step : 0);
        if (yield) {
            t1 = as_now_ns();
            pthread_mutex_unlock(&db->write_mu);
            held = t1 - t0;
            out_since = t1;
        }
        if (rc != AS_OK) {
            snprintf(err, errlen, "out of memory writing %s", tmp);
            goto out;
        }
        for (size_t i = 0; i < c.nout && !e; i++) {
            memcpy(buf + fill, &c.out[i].key, 8);
            memcpy(buf + fill + 8, &c.out[i].loc, 8);
            fill += 16;
            n++;
            if (fill == AS_CKPT_BUF) {
                XXH3_64bits_update(xs, buf, fill);
                e = as_write_all(db->fops, fd, &pos, buf, fill);
                fill = 0;
            }
        }
    }
    /* live bytes of segments 1..end_seg at the fence */
    for (uint64_t id = 1; !e && id <= h.end_seg; id++) {
        memcpy(buf + fill, &live[id - 1], 8);
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
    rc = AS_OK;
out:
    if (unlocked)
        pthread_mutex_lock(&db->write_mu);
    as_ckpt_coll_end(db, &c);
    if (rc == AS_OK) {
        db->ckpt_end_seg = h.end_seg;
        db->ckpt_end_off = h.end_off;
        uint64_t now = atomic_load(&db->log_bytes_since_ckpt); /* writers add under write_mu too */
        atomic_store(&db->log_bytes_since_ckpt, now > since ? now - since : 0);
        atomic_fetch_add(&db->n_checkpoints, 1);
    }
    if (fd >= 0)
        db->fops->close(db->fops->ctx, fd);
    if (rc != AS_OK && fd >= 0)
        db->fops->unlinkat(db->fops->ctx, db->dirfd, AS_CKPT_TMP);
    free(live);
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
    pthread_mutex_lock(&db->maint_run_mu);
    pthread_mutex_lock(&db->write_mu);
    rc = as_ckpt_write(db, s->err, sizeof(s->err), 1);
    pthread_mutex_unlock(&db->write_mu);
    pthread_mutex_unlock(&db->maint_run_mu);
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
 * compaction removed a segment it still points into) and a full scan decides (AS_NOTFOUND). A
 * locator past the end of a segment that is there is another matter: the log was synced up to the
 * checkpoint's fence before the checkpoint was written, so that segment lost records it once held
 * (truncated), and a full scan would lose them silently: AS_ECORRUPT naming the file. Records are not
 * touched (that would fault in the whole log): reads verify each record anyway. Total live bytes
 * come from the per-segment table as adjusted by the replay. */
static int as_ckpt_check_locs(as_db *db, char *why, size_t whylen)
{
    as_ix_cursor it;
    as_ix_pair pr;
    for (as_ix_cursor_init(&it, db->index); as_ix_cursor_next(&it, &pr);) {
        uint64_t loc = pr.loc, off = as_loc_off(loc);
        if (as_loc_header(db, loc))
            continue;
        as_segment *sg = as_db_seg(db, as_loc_seg(loc));
        if (sg && !sg->retired && off >= AS_SEG_HEADER_BYTES && off % AS_REC_ALIGN == 0)
            return as_db_seterr(db, AS_ECORRUPT, "%s: %llu bytes, but the checkpoint has key %lld at offset %llu "
                                "(the segment lost records it held: truncated?)", sg->path,
                                (unsigned long long)atomic_load(&sg->size), (long long)pr.key,
                                (unsigned long long)off);
        snprintf(why, whylen, "key %lld points to segment %llu offset %llu, which the log does not have",
                 (long long)pr.key, (unsigned long long)as_loc_seg(loc), (unsigned long long)off);
        return AS_NOTFOUND;
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
            /* the checkpoint's live bytes of a segment must fit in it: fewer record bytes mean it lost
             * records after they were synced (a truncated segment), not a crash */
            if (ids[i] < end_seg && live != AS_CKPT_DROPPED && atomic_load(&sg->size) - AS_SEG_HEADER_BYTES < live) {
                rc = as_db_seterr(db, AS_ECORRUPT, "%s: %llu bytes of records, but the checkpoint counts %llu live "
                                  "bytes in it (truncated?)", sg->path,
                                  (unsigned long long)(atomic_load(&sg->size) - AS_SEG_HEADER_BYTES),
                                  (unsigned long long)live);
                break;
            }
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
        rc = as_ckpt_check_locs(db, why, whylen);
        if (rc == AS_NOTFOUND)
            db->ckpt_rejected = 1;
    }
    free(sc.e);
    if (rc == AS_OK) {
        db->ckpt_loaded = 1;
        db->ckpt_end_seg = end_seg;
        db->ckpt_end_off = end_off;
    }
    return rc;
}
