/* workload.h - what kvbench asks of an engine: key sets, access distributions, verifiable values and
 * deterministic operation streams. Knows nothing of engines or results: the harness joins the two.
 *
 * Determinism: everything here is a pure function of (parameters, seed). Two runs with the same
 * arguments produce the same keys, the same values and the same operation sequence on every engine.
 */
#ifndef KV_WORKLOAD_H
#define KV_WORKLOAD_H

#include <stddef.h>
#include <stdint.h>

/* ---------- random numbers ---------- */

/* splitmix64: the project's one PRNG (fast, 2^64 period, good enough for workload generation). */
typedef struct kv_rng {
    uint64_t s;
} kv_rng;
void kv_rng_seed(kv_rng *r, uint64_t seed);
uint64_t kv_rng_next(kv_rng *r);
/* Uniform in [0, bound) without modulo bias; bound > 0. */
uint64_t kv_rng_below(kv_rng *r, uint64_t bound);
/* Uniform double in [0, 1). */
double kv_rng_double(kv_rng *r);
/* A 64-bit mixing function (bijective), used to scramble ranks and derive sub-seeds. */
uint64_t kv_mix64(uint64_t x);

/* Zipf sampler over ranks [0, n): rejection-inversion (Hormann & Derflinger), O(1) set-up. */
typedef struct kv_zipf {
    uint64_t n;
    double theta, h_x1, h_n, s;
} kv_zipf;
int kv_zipf_init(kv_zipf *z, uint64_t n, double theta); /* n >= 1, theta > 0, != 1 handled too */
uint64_t kv_zipf_next(const kv_zipf *z, kv_rng *r);     /* rank in [0, n); rank 0 is the hottest */

/* ---------- key sets ---------- */

enum kv_keyset {
    KV_KEYS_UNIFORM = 0,   /* distinct keys uniform over [1, INT64_MAX - 1] (default) */
    KV_KEYS_SEQUENTIAL,    /* 1, 2, 3, ... n */
    KV_KEYS_CLUSTERED,     /* dense clusters with lognormal gaps between keys and between clusters:
                              locally non-linear, hard for a learned index */
    KV_KEYS_LOGNORMAL,     /* SOSD's lognormal(0, 2), scaled by 1e9 */
    KV_KEYS_NORMAL,        /* normal around 2^61, sd 2^50 */
    KV_KEYS_FB_LIKE,       /* runs of ids with their own density, heavy-tailed gaps, far outliers */
    KV_KEYS_OSM_LIKE,      /* quadtree-clustered cell ids: empty and dense regions at every scale */
    KV_KEYS__COUNT,        /* the number of generated key sets above */
    KV_KEYS_FILE = 64,     /* keys read from a file (--keys file:PATH; kv_dataset_create_from) */
};
const char *kv_keyset_name(enum kv_keyset k);
int kv_keyset_parse(const char *s, enum kv_keyset *out); /* 0 or -1 */

/* ---------- key files (SOSD's format) ---------- */

/* SHA-256 (FIPS 180-4), streaming. */
typedef struct kv_sha256 {
    uint32_t h[8];
    uint64_t len;
    unsigned char buf[64];
    size_t fill;
} kv_sha256;
void kv_sha256_init(kv_sha256 *s);
void kv_sha256_update(kv_sha256 *s, const void *data, size_t len);
void kv_sha256_final(kv_sha256 *s, char hex[65]); /* lowercase hex digest */

/* What a key file held and how it was read. */
typedef struct kv_keyfile_info {
    char path[1024];
    uint64_t size;            /* bytes */
    char sha256[65];          /* of the whole file */
    int width;                /* 64: uint64 keys; 32: uint32 keys (SOSD's *_uint32 files) */
    uint64_t count;           /* keys the header announces */
    uint64_t duplicates;      /* keys dropped as equal to another key */
    int shifted;              /* 1: keys >= 2^63 present, every key mapped to key - 2^63 */
} kv_keyfile_info;

/* Read a key file in SOSD's format: a little-endian uint64 count, then `count` little-endian keys,
 * uint64 when the size is 8 + 8 * count, uint32 when it is 8 + 4 * count. Returns the distinct keys
 * ascending in *keys (malloc'd; caller frees) and their number in *n. uint64 keys map to int64
 * order-preservingly: unchanged when all are below 2^63, else all shifted down by 2^63 (info->shifted).
 * 0, or -1 with a message naming the file and the problem in err. */
int kv_keyfile_read(const char *path, int64_t **keys, uint64_t *n, kv_keyfile_info *info, char *err, size_t errlen);
/* Write sorted distinct keys as a SOSD uint64 file (the inverse mapping of kv_keyfile_read: keys
 * unchanged when none is negative, else all shifted up by 2^63). 0, or -1 with a message. */
int kv_keyfile_write(const char *path, const int64_t *sorted, uint64_t n, char *err, size_t errlen);

/* Hardness of a key set: the number of segments of an optimal eps-PLA (piecewise linear approximation
 * with maximum error eps) of sorted key -> rank, as the GRE benchmark measures it; O(n) time.
 * keys strictly ascending. 0, or -1 with errno (EINVAL: not ascending; ENOMEM). */
int kv_pla_segments(const int64_t *sorted, uint64_t n, uint64_t eps, uint64_t *segments);

/* ---------- values ---------- */

/* A value is self-describing: a 16-byte header {int64 key, uint32 version, uint32 check} followed
 * by bytes derived from (seed, key, version). The harness verifies any returned value without
 * keeping a copy. Values shorter than KV_VALUE_MIN cannot carry the header and are not allowed in
 * benchmark runs (the conformance tests use their own values). */
#define KV_VALUE_MIN 16

enum kv_verdict {
    KV_VALUE_OK = 0,
    KV_VALUE_WRONG,   /* bytes do not verify, wrong length, or the value of another key */
    KV_VALUE_STALE,   /* a valid value of this key, but an older version than the newest written */
    KV_VALUE_MISSING, /* the engine said not-found for a key that is present */
    KV_VALUE_GHOST,   /* the engine returned a value for a key that is absent (deleted / never written) */
};
const char *kv_verdict_name(enum kv_verdict v);

/* Value sizes (--value-size): fixed, uniform over [min, max], or zipfian over [min, max] (theta 0.99,
 * the smallest size the most frequent). The length of the value of (key, version) is a pure function
 * of (seed, key, version), so every reader can tell the expected length without keeping it. */
enum kv_valsize_kind { KV_VSIZE_FIXED = 0, KV_VSIZE_UNIFORM, KV_VSIZE_ZIPF };
typedef struct kv_valsize {
    enum kv_valsize_kind kind;
    uint32_t min, max;
    kv_zipf zipf; /* KV_VSIZE_ZIPF: ranks over [0, max - min] */
} kv_valsize;
/* "100", "uniform:16-1024" or "zipf:16-4096". 0, or -1 with a message (sizes below KV_VALUE_MIN or
 * above max_size are refused). */
int kv_valsize_parse(const char *s, uint32_t max_size, kv_valsize *out, char *err, size_t errlen);
void kv_valsize_fixed(kv_valsize *vs, uint32_t size);
const char *kv_valsize_str(const kv_valsize *vs, char *buf, size_t len);
size_t kv_value_len_slow(const kv_valsize *vs, uint64_t seed, int64_t key, uint32_t version);
static inline size_t kv_value_len(const kv_valsize *vs, uint64_t seed, int64_t key, uint32_t version)
{
    return vs->kind == KV_VSIZE_FIXED ? vs->min : kv_value_len_slow(vs, seed, key, version);
}
/* kv_value_check / kv_value_check_range with the expected length taken from vs for the version the
 * value's header names (so an older version of another length is told apart as stale, not wrong). */
enum kv_verdict kv_value_check_vs(uint64_t seed, int64_t key, uint32_t expected_version, const kv_valsize *vs,
                                  const void *buf, size_t len);
enum kv_verdict kv_value_check_range_vs(uint64_t seed, int64_t key, uint32_t lo, uint32_t hi, const kv_valsize *vs,
                                        const void *buf, size_t len);

/* Write the value of (key, version) into buf[0..len), len >= KV_VALUE_MIN. */
void kv_value_make(uint64_t seed, int64_t key, uint32_t version, void *buf, size_t len);
/* Check a returned value against the expected (key, version, len). Reads every byte. */
enum kv_verdict kv_value_check(uint64_t seed, int64_t key, uint32_t expected_version, size_t expected_len,
                               const void *buf, size_t len);

/* The same with any version in [lo, hi] accepted (a read racing writes of a shared key): WRONG when
 * the bytes do not verify or the version is above hi, STALE when it is below lo. */
enum kv_verdict kv_value_check_range(uint64_t seed, int64_t key, uint32_t lo, uint32_t hi, size_t expected_len,
                                     const void *buf, size_t len);

/* ---------- data set: the keys of one run, shared by all threads ---------- */

typedef struct kv_dataset {
    enum kv_keyset keyset;
    uint64_t seed;
    size_t value_size;
    uint64_t n;          /* keys loaded before the measured phases: keys[0..n) in insertion order */
    uint64_t capacity;   /* n + keys reserved for inserts: keys[n..capacity), distinct from all others */
    int64_t *keys;       /* [capacity] */
    uint32_t *versions;  /* [capacity] newest version written for keys[i]; 0 = never written */
    uint8_t *deleted;    /* [capacity] 1 while keys[i] is deleted */
    void *lookup;        /* private: key -> index hash */
    /* Shared key space (kv_workload.shared_keys): versions[] is then the newest version *issued* (by
     * the op streams, atomically), committed[] the newest version whose engine call has returned,
     * and deleted[] is set at commit. Writers of a key commit in version order (kv_shared_*). */
    uint32_t *committed;     /* [capacity] */
    uint8_t *ever_deleted;   /* [capacity] 1 once a delete of keys[i] has started */
    uint64_t inserts_issued; /* inserts issued by all streams (atomic): the recency of "latest" */
} kv_dataset;

/* Build the key set: n loaded keys + max_inserts fresh keys, all distinct, in a seeded order
 * (random order for uniform and clustered, ascending for sequential). Returns 0 or -1 (ENOMEM / EINVAL). */
int kv_dataset_create(kv_dataset **out, enum kv_keyset keyset, uint64_t n, uint64_t max_inserts,
                      uint64_t seed, size_t value_size);
/* The same from given keys (a key file's): sorted distinct keys[0..count). The loaded keys are the first
 * n of a seeded shuffle of them, the insert pool the rest of the shuffle; when count < n + max_inserts
 * the pool is completed with seeded uniform keys inside [keys[0], keys[count - 1]] (anywhere in int64
 * when that range is full) that are not in the file. 0 or -1 (ENOMEM / EINVAL, e.g. count < n). */
int kv_dataset_create_from(kv_dataset **out, const int64_t *sorted, uint64_t count, uint64_t n, uint64_t max_inserts,
                           uint64_t seed, size_t value_size);
/* The same from keys[0..n + max_inserts) already in data set order (a key cache written from an
 * earlier data set's keys): no shuffle. keyset names the generator they came from. 0, or -1 (EINVAL:
 * duplicate keys; ENOMEM). */
int kv_dataset_create_ordered(kv_dataset **out, enum kv_keyset keyset, const int64_t *keys, uint64_t n,
                              uint64_t max_inserts, uint64_t seed, size_t value_size);
void kv_dataset_free(kv_dataset *ds);
/* Index in ds->keys of `key`, or -1 when the key is not in the data set. O(1) on average
 * (an open-addressing hash built by kv_dataset_create). Used to verify scans. */
int64_t kv_dataset_find(const kv_dataset *ds, int64_t key);
/* The loaded keys sorted ascending (for bulk load); caller frees. NULL on ENOMEM. */
int64_t *kv_dataset_sorted_loaded(const kv_dataset *ds);
/* Record that keys[0..n) were loaded at version 1 (for runners that bulk-load instead of running the
 * "load" op stream, which sets them itself). Op streams of other workloads also treat a loaded key
 * still at version 0 as loaded at version 1 when they are created. */
void kv_dataset_mark_loaded(kv_dataset *ds);

/* ---------- workloads ---------- */

/* RMW: get, then put of the next version derived from the value read; timed as one op. */
enum kv_optype { KV_OP_GET = 0, KV_OP_UPDATE, KV_OP_INSERT, KV_OP_DELETE, KV_OP_SCAN, KV_OP_RMW, KV_OP__COUNT };
const char *kv_optype_name(enum kv_optype t);

enum kv_access {
    KV_ACCESS_UNIFORM = 0, /* every present key equally likely */
    KV_ACCESS_ZIPF,        /* zipfian over ranks (theta, default 0.99), ranks scrambled over keys */
    KV_ACCESS_LATEST,      /* zipfian over recency: the newest inserted keys are the hottest */
    KV_ACCESS_SEQ,         /* keys in insertion order, wrapping around */
};
const char *kv_access_name(enum kv_access a);
int kv_access_parse(const char *s, enum kv_access *out); /* 0 or -1 */

typedef struct kv_workload {
    const char *name;        /* "load", "read", "mixed", "scan", "ycsb-a" ... */
    const char *description;
    double mix[KV_OP__COUNT]; /* fraction of each op type; sums to 1 (load: all inserts) */
    uint32_t scan_len;       /* records per scan (the largest, when scan_len_min is set) */
    uint32_t scan_len_min;   /* 0: every scan reads scan_len; else uniform in [scan_len_min, scan_len] */
    int has_access;          /* 1: the workload defines its access distribution (YCSB's); the
                                harness also sets it from --dist, so that `access` is the one used */
    enum kv_access access;
    int shared_keys;         /* 1: all threads draw from one key space and one hot set (YCSB's way);
                                0: thread t of T owns the keys i % T == t */
} kv_workload;

/* NULL-terminated list of named workloads. */
extern const kv_workload *const kv_workloads[];
const kv_workload *kv_workload_find(const char *name);
/* Override the mix from a spec like "read=0.8,update=0.1,insert=0.1" (must sum to 1 within 1e-9).
 * Returns 0 or -1 with a message in err. */
int kv_workload_set_mix(kv_workload *w, const char *spec, char *err, size_t errlen);


/* One operation. For GET/UPDATE/DELETE the key is present (not deleted) when the op is generated;
 * for INSERT it has never been written. `version` is the version to write (UPDATE/INSERT) or the
 * version expected back (GET). `index` is the key's index in ds->keys. */
typedef struct kv_op {
    enum kv_optype type;
    uint32_t version;
    uint32_t scan_len;
    int64_t key;
    uint64_t index;
} kv_op;

/* A per-thread stream. Partitioned (w->shared_keys == 0): thread t of T owns key indexes i with
 * i % T == t (loaded and inserted), and only ever touches those, so the expected version of every key
 * it reads is exact; next() updates ds->versions / ds->deleted for the ops it emits, assuming the
 * engine applies them.
 * Shared (w->shared_keys == 1): every thread picks among all present keys (one hot set; present =
 * committed and not deleted); writes take the key's next version from ds->versions atomically, so
 * the versions of a key are issued in one order, and the executor commits them in that order
 * (kv_shared_write_begin/end). Inserts take fresh keys from the thread's own part of the insert pool
 * (indexes n + t + j*T). A get's expected version is not known at generation (op->version is 0). */
typedef struct kv_opstream kv_opstream;
int kv_opstream_create(kv_opstream **out, kv_dataset *ds, const kv_workload *w, enum kv_access access,
                       double zipf_theta, int thread, int nthreads, uint64_t seed);
void kv_opstream_free(kv_opstream *s);
/* Next op; returns 0, or -1 when the stream cannot continue (insert pool of this thread exhausted). */
int kv_opstream_next(kv_opstream *s, kv_op *op);

/* Executing a write of a shared key space (update, rmw, delete, insert): begin waits until every
 * earlier version of the key has committed (its own version is then the only one allowed to run;
 * the wait is bounded because the writer of each earlier version was generated earlier and runs
 * its ops in order); end records the commit (and the key's deleted state). Writes of one thread
 * must execute in the order its stream issued them. */
void kv_shared_write_begin(kv_dataset *ds, const kv_op *op);
void kv_shared_write_end(kv_dataset *ds, const kv_op *op);
/* The newest committed version of keys[i] and whether it is deleted, for verification windows. */
static inline uint32_t kv_shared_committed(const kv_dataset *ds, uint64_t i)
{
    return __atomic_load_n(&ds->committed[i], __ATOMIC_ACQUIRE);
}
static inline int kv_shared_deleted(const kv_dataset *ds, uint64_t i)
{
    return __atomic_load_n(&ds->deleted[i], __ATOMIC_ACQUIRE) != 0;
}
static inline int kv_shared_ever_deleted(const kv_dataset *ds, uint64_t i)
{
    return __atomic_load_n(&ds->ever_deleted[i], __ATOMIC_ACQUIRE) != 0;
}

#endif
