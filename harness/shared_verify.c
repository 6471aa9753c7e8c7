/* shared_verify.c - answers about shared keys checked against windows of their version history. */
#include "shared_verify.h"

#include "engine.h"

kvb_window kvb_window_open(const kv_dataset *ds, uint64_t idx)
{
    kvb_window w;
    w.committed = kv_shared_committed(ds, idx); /* acquire: the deleted flag below is at least as new */
    w.deleted = kv_shared_deleted(ds, idx);
    return w;
}

enum kv_verdict kvb_window_check(const kv_dataset *ds, uint64_t seed, const kv_valsize *vs, const kv_op *op,
                                 kvb_window win, int rc, const void *data, size_t len)
{
    uint32_t end = kv_shared_committed(ds, op->index);
    if (rc == KV_NOTFOUND)
        return win.deleted || kv_shared_deleted(ds, op->index) || kv_shared_ever_deleted(ds, op->index)
                   ? KV_VALUE_OK
                   : KV_VALUE_MISSING;
    return kv_value_check_range_vs(seed, op->key, win.committed, end + 1, vs, data, len);
}

enum kv_verdict kvb_shared_scan_rec(const kv_dataset *ds, uint64_t seed, const kv_valsize *vs, int64_t key, uint64_t idx,
                                    const void *data, size_t len, int stale_fault)
{
    uint32_t end = kv_shared_committed(ds, idx);
    if (end == 0 && __atomic_load_n(&ds->versions[idx], __ATOMIC_RELAXED) == 0)
        return KV_VALUE_GHOST; /* never issued: no writer could have put it */
    return kv_value_check_range_vs(seed, key, stale_fault ? end + 2 : 1, end + 1, vs, data, len);
}

int kvb_shared_must_see(const kv_dataset *ds, uint64_t idx)
{
    return idx < ds->n && !kv_shared_ever_deleted(ds, idx);
}
