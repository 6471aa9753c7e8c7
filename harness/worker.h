/* worker.h - one thread's session: executes ops (timed or not), reads every returned byte, verifies. */
#ifndef KVB_WORKER_H
#define KVB_WORKER_H

#include "bench.h"
#include "hist.h"
#include "intervals.h"
#include "openloop.h"

#include <stdint.h>

typedef struct kvb_verify {
    uint64_t checked, wrong, missing, stale, ghost;
} kvb_verify;

/* Every key of the data set (loaded and insert pool) sorted, to verify scans. */
typedef struct kvb_sorted_key {
    int64_t key;
    uint64_t index;
} kvb_sorted_key;

typedef struct kvb_scan_rec {
    int64_t key;
    size_t len; /* length the engine returned */
    size_t off; /* copy in the worker's scan buffer (min(len, value_size) bytes) */
} kvb_scan_rec;

/* What a get returned in the untimed pass, checked after it: the value's length (KVB_ANSWER_NOTFOUND
 * for not-found), the version its header claims, and a digest of every byte. */
#define KVB_ANSWER_NOTFOUND UINT32_MAX
typedef struct kvb_answer {
    uint64_t digest;
    uint32_t len;
    uint32_t version;
} kvb_answer;

typedef struct kvb_worker {
    const kv_engine_ops *ops;
    kv_session *s;
    kv_dataset *ds;
    kv_opstream *stream;
    int thread, nthreads;
    uint64_t seed;
    size_t value_size;           /* the largest value: buffers hold this much */
    kv_valsize vsize;            /* value sizes (fixed value_size unless the run says otherwise) */
    size_t put_len;              /* length of the value in valbuf */
    int verify;                  /* 0 for KV_CAP_DISCARDS engines */
    enum kvb_fault fault;        /* pending injected fault, applied once */
    const kvb_sorted_key *sorted; /* NULL unless the workload scans */
    uint64_t nsorted;
    unsigned char *valbuf;       /* value to put; also the copy a "wrong" fault corrupts */
    unsigned char *readbuf;      /* the value a read-modify-write read */
    size_t rmw_len;              /* its length (0: not found) */
    uint32_t rmw_wrote;          /* the version the read-modify-write derived and wrote */
    int rmw_was_deleted;         /* shared keys: the key was deleted when the rmw's turn came */
    int shared;                  /* the workload shares its key space between threads (see workload.h) */
    unsigned char *scanbuf;      /* scan record copies */
    kvb_scan_rec *recs;
    size_t reccap, nrec;
    kvb_hist *all;               /* NULL in untimed passes */
    kvb_hist *by_op[KV_OP__COUNT];
    kvb_openloop *ol;            /* NULL in closed loop */
    uint64_t intended;           /* intended start of the op about to run (ticks); 0 = not paced */
    kvb_intervals *iv;           /* time series being recorded, or NULL */
    uint64_t done;               /* ops this thread ran in its last ops pass */
    kvb_verify ver;
    uint64_t sink;               /* sum of value words, so reading values cannot be optimised away */
    char err[768];               /* set when an engine call failed */
} kvb_worker;

/* Allocate buffers and histograms; scan_len = the largest scan. 0, or -1 on ENOMEM. */
int kvb_worker_init(kvb_worker *w, size_t value_size, uint32_t scan_len);
void kvb_worker_free(kvb_worker *w);
/* Empty the histograms. */
void kvb_worker_reset_hists(kvb_worker *w);
/* Run one op; timed = 1 records its latency into w->all and w->by_op. 0, or -1 on an engine error
 * (message in w->err). */
int kvb_worker_op(kvb_worker *w, const kv_op *op, int timed);
/* Untimed pass: run op without timing or checking. Writes put `value` (NULL: made here). A get reads
 * every byte into ans's digest; a scan leaves its records in w->recs / w->scanbuf. 0, or -1 on an
 * engine error (message in w->err). */
int kvb_worker_op_untimed(kvb_worker *w, const kv_op *op, const unsigned char *value, kvb_answer *ans);
/* Position-sensitive 64-bit digest of every byte (Fletcher-style sums over 8-byte words; not cryptographic). */
uint64_t kvb_value_digest(const void *p, size_t len);
/* Count one verdict into w->ver. */
void kvb_worker_count(kvb_worker *w, enum kv_verdict v);
/* Check the scan records in w->recs / w->scanbuf for op against w->ds as it is now (w->fault applies). */
void kvb_worker_check_scan(kvb_worker *w, const kv_op *op);
/* After all phases (no other thread running): get about `limit` keys spread over the whole data set,
 * expecting the newest version of live keys and not-found for deleted or never-inserted ones (ghosts).
 * Counts into w->ver; *checked = keys read. 0, or -1 on an engine error. */
int kvb_worker_readback(kvb_worker *w, uint64_t limit, uint64_t *checked);
/* Put keys[i] (version 1) for i in [from, to) with i % nthreads == thread, timed when w->all is set. */
int kvb_worker_load(kvb_worker *w, uint64_t from, uint64_t to);

#endif
