/* fuzz_store.h - the small deterministic store the checkpoint fuzzer (and seedgen) pair checkpoints with. */
#ifndef FUZZ_STORE_H
#define FUZZ_STORE_H

#include "alexstorage.h"
#include "../as_torture.h"

/* Segment files of a fixed store in dir: 300 writes over 60 keys (puts, updates, deletes), 4 KiB
 * segments, one compaction; the close writes CHECKPOINT. Returns AS_OK or the failing status. */
static inline int fz_build_store(const char *dir)
{
    as_options o;
    as_options_default(&o);
    o.segment_bytes = 4096;
    o.map_chunk_bytes = 64u << 10;
    o.checkpoint_bytes = 0;
    o.compact_garbage_ratio = 0;
    as_db *db;
    char err[512];
    int rc = as_open(dir, &o, &db, err, sizeof err);
    if (rc != AS_OK)
        return rc;
    as_session *s;
    if ((rc = as_session_open(db, &s)) != AS_OK) {
        as_close(db);
        return rc;
    }
    uint64_t r = 11;
    unsigned char v[256];
    for (int i = 0; i < 300 && rc == AS_OK; i++) {
        int64_t key = (int64_t)ast_below(&r, 60) - 10;
        if (i % 7 == 6) {
            rc = as_del(s, key);
        } else {
            uint32_t len = 8 + (uint32_t)ast_below(&r, 200);
            for (uint32_t j = 0; j < len; j++)
                v[j] = (unsigned char)(key * 31 + j);
            rc = as_put(s, key, v, len);
        }
        if (rc == AS_OK && i == 200)
            rc = as_compact(s);
    }
    as_session_close(s);
    int crc = as_close(db);
    return rc != AS_OK ? rc : crc;
}

#endif
