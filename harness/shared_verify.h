/* shared_verify.h - verification of answers about keys that other threads write at the same time
 * (a shared key space): each answer must fit the key's history during the op. */
#ifndef KVB_SHARED_VERIFY_H
#define KVB_SHARED_VERIFY_H

#include "workload.h"

/* What was committed for a key when a read started. */
typedef struct kvb_window {
    uint32_t committed;
    int deleted;
} kvb_window;

kvb_window kvb_window_open(const kv_dataset *ds, uint64_t idx);
/* A get's answer (rc KV_OK with the value, or KV_NOTFOUND), read after the window opened: a value of
 * a version from the one committed at the start to the one a writer may be putting at the end
 * (committed at the end + 1: writers of a key run one at a time, in version order); not-found only
 * when the key was deleted at the start or end, or a delete of it has started. */
enum kv_verdict kvb_window_check(const kv_dataset *ds, uint64_t seed, const kv_valsize *vs, const kv_op *op,
                                 kvb_window win, int rc, const void *data, size_t len);
/* A scanned record of keys[idx]: its bytes, a version no newer than a writer may be putting now
 * (the version it started from is not known: any earlier one is accepted). stale_fault: the harness
 * self-test, which demands a version newer than any, so that the genuine answer looks stale. */
enum kv_verdict kvb_shared_scan_rec(const kv_dataset *ds, uint64_t seed, const kv_valsize *vs, int64_t key, uint64_t idx,
                                    const void *data, size_t len, int stale_fault);
/* Must a scan over keys[idx] have returned it? Loaded keys that no delete ever touched (inserted keys
 * may have been inserted while the scan ran, and are not held against it). */
int kvb_shared_must_see(const kv_dataset *ds, uint64_t idx);

#endif
