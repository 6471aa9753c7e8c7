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
        int rc = as_scan_open_segment(db, ids[i], ids[0], is_last, &sg, note, notelen);
        if (rc == AS_OK && sg)
            rc = as_db_seg_put(db, sg) == AS_OK ? AS_OK : as_db_seterr(db, AS_ENOMEM, "out of memory");
        if (rc != AS_OK) {
            if (sg && as_db_seg(db, ids[i]) != sg)
                as_seg_close(sg);
            return rc;
        }
        if (!sg)
            continue;
        rc = as_scan_segment(db, sg, AS_SEG_HEADER_BYTES, is_last, sc, note, notelen);
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
        rc = as_scan_check_ids(db, ids, n);
        db->first_seg = 0;
        for (size_t i = 0; i < n && !db->first_seg; i++)
            if (as_db_seg(db, ids[i]))
                db->first_seg = ids[i];
        atomic_store(&db->log_bytes_since_ckpt, from_ckpt ? 0 : atomic_load(&db->disk_bytes));
    }
    if (rc == AS_OK && n == 0 && !db->opt.read_only) {
        /* Header and directory entry synced in every mode, as rotation does: at AS_SYNC_NONE an as_sync
         * before the first rotation fdatasyncs the segment, and its records must not then be lost
         * with an unsynced directory entry (test_as_powerloss, "none, as_sync every 25"). */
        as_segment *sg;
        rc = as_seg_create(&sg, db->fops, db->dirfd, db->dir, 1, 0, 1, as_db_reserve_bytes(db), db->opt.map_chunk_bytes,
                           1, db->err, sizeof(db->err));
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
