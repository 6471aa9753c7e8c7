/* memory.c - RAM-only floor of a point lookup: open-addressing hash of int64 -> value bytes in an arena. */
#include "engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One slot: val == NULL means empty. Values live in arena chunks that never move, so a slice handed out
 * by get stays valid across a table resize. */
typedef struct mem_slot {
    int64_t key;
    uint32_t len;
    uint32_t cap; /* bytes reserved at val; an update that fits is written in place */
    unsigned char *val;
} mem_slot;

typedef struct mem_chunk {
    struct mem_chunk *next;
    size_t used, size;
    unsigned char data[];
} mem_chunk;

typedef struct mem_engine {
    kv_engine base;
    mem_slot *slots;
    size_t mask; /* capacity - 1; capacity is a power of two */
    size_t count;
    mem_chunk *chunks;
    uint64_t arena_bytes, arena_waste; /* reserved bytes; bytes left behind by deletes and growth */
    uint64_t resizes;
    size_t chunk_size;
    int sessions;
} mem_engine;

typedef struct mem_session {
    kv_session base;
} mem_session;

#define MEM_MAX_LOAD_NUM 7 /* resize above 70% full: linear probing stays short */
#define MEM_MAX_LOAD_DEN 10
#define MEM_CHUNK_DEFAULT (64u << 20)

static const kv_option_spec kv_memory_options[] = {
    {"capacity", "initial slot count (rounded up to a power of two); default 2 x expected keys, min 1024"},
    {"chunk", "value arena chunk size in bytes (K/M/G); default 64M"},
    {NULL, NULL},
};

static const char *kv_memory_lib_version(void) { return "memory 1 (built in)"; }

/* splitmix64 finalizer: sequential and strided int64 keys spread evenly over the slots. */
static inline uint64_t kv_memory_hash(int64_t key)
{
    uint64_t x = (uint64_t)key;
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x;
}

static size_t kv_memory_pow2(uint64_t n)
{
    size_t c = 1024;
    while (c < n)
        c <<= 1;
    return c;
}

static unsigned char *kv_memory_alloc(mem_engine *m, size_t len, uint32_t *cap)
{
    size_t need = (len + 7) & ~(size_t)7;
    if (need == 0)
        need = 8; /* a non-NULL pointer marks the slot used, even for an empty value */
    mem_chunk *c = m->chunks;
    if (!c || c->size - c->used < need) {
        size_t size = need > m->chunk_size ? need : m->chunk_size;
        c = malloc(sizeof(*c) + size);
        if (!c)
            return NULL;
        c->size = size;
        c->used = 0;
        c->next = m->chunks;
        if (m->chunks)
            m->arena_waste += m->chunks->size - m->chunks->used;
        m->chunks = c;
        m->arena_bytes += size;
    }
    unsigned char *p = c->data + c->used;
    c->used += need;
    *cap = (uint32_t)need;
    return p;
}

/* Index of the slot holding key, or of the empty slot where it would go. */
static inline size_t kv_memory_find(const mem_engine *m, int64_t key)
{
    size_t i = (size_t)kv_memory_hash(key) & m->mask;
    while (m->slots[i].val && m->slots[i].key != key)
        i = (i + 1) & m->mask;
    return i;
}

static int kv_memory_resize(mem_engine *m, size_t capacity)
{
    mem_slot *old = m->slots;
    size_t oldcap = m->mask + 1;
    mem_slot *ns = calloc(capacity, sizeof(*ns));
    if (!ns)
        return kv_seterr(m->base.err, sizeof(m->base.err), KV_ENOMEM,
                         "memory: out of memory growing the table to %zu slots", capacity);
    m->slots = ns;
    m->mask = capacity - 1;
    for (size_t i = 0; old && i < oldcap; i++)
        if (old[i].val)
            m->slots[kv_memory_find(m, old[i].key)] = old[i];
    free(old);
    m->resizes++;
    return KV_OK;
}

static int kv_memory_close(kv_engine *e)
{
    mem_engine *m = (mem_engine *)e;
    for (mem_chunk *c = m->chunks, *n; c; c = n) {
        n = c->next;
        free(c);
    }
    free(m->slots);
    free(m);
    return KV_OK;
}

static int kv_memory_open(const kv_config *cfg, kv_engine **out, char *err, size_t errlen)
{
    uint64_t capacity = cfg->expected_keys * 2, chunk = MEM_CHUNK_DEFAULT;
    int rc = kv_config_opt_u64(cfg, "capacity", &capacity, err, errlen);
    if (rc == KV_OK)
        rc = kv_config_opt_u64(cfg, "chunk", &chunk, err, errlen);
    if (rc != KV_OK)
        return rc;
    if (capacity > (1ull << 40) || chunk < 4096 || chunk > (1ull << 32))
        return kv_seterr(err, errlen, KV_EINVAL,
                         "memory: capacity must be <= 2^40 and chunk between 4K and 4G (got %llu, %llu)",
                         (unsigned long long)capacity, (unsigned long long)chunk);
    mem_engine *m = calloc(1, sizeof(*m));
    if (!m)
        return kv_seterr(err, errlen, KV_ENOMEM, "memory: out of memory");
    m->chunk_size = (size_t)chunk;
    m->mask = 0;
    rc = kv_memory_resize(m, kv_memory_pow2(capacity));
    if (rc != KV_OK) {
        kv_seterr(err, errlen, rc, "%s", m->base.err);
        kv_memory_close(&m->base);
        return rc;
    }
    m->resizes = 0;
    *out = &m->base;
    return KV_OK;
}

static void kv_memory_describe(kv_engine *e, kv_pair_cb cb, void *arg)
{
    mem_engine *m = (mem_engine *)e;
    cb(arg, "structure", "open addressing, linear probing, splitmix64 hash, backward-shift delete");
    kv_describe_u64(cb, arg, "capacity_slots", m->mask + 1);
    kv_describe_u64(cb, arg, "max_load_percent", 100 * MEM_MAX_LOAD_NUM / MEM_MAX_LOAD_DEN);
    kv_describe_u64(cb, arg, "chunk_bytes", m->chunk_size);
    cb(arg, "persistence", "none (RAM only)");
    cb(arg, "get", "zero copy (pointer into the value arena)");
}

static void kv_memory_stats(kv_engine *e, kv_pair_cb cb, void *arg)
{
    mem_engine *m = (mem_engine *)e;
    kv_describe_u64(cb, arg, "keys", m->count);
    kv_describe_u64(cb, arg, "capacity_slots", m->mask + 1);
    kv_describe_u64(cb, arg, "table_bytes", (uint64_t)(m->mask + 1) * sizeof(mem_slot));
    kv_describe_u64(cb, arg, "arena_bytes", m->arena_bytes);
    kv_describe_u64(cb, arg, "arena_waste_bytes", m->arena_waste);
    kv_describe_u64(cb, arg, "resizes", m->resizes);
}

static int kv_memory_session_open(kv_engine *e, kv_session **out)
{
    mem_engine *m = (mem_engine *)e;
    if (m->sessions > 0) /* not thread-safe: one session at a time keeps the hot path lock-free */
        return kv_seterr(e->err, sizeof(e->err), KV_ENOTSUP,
                         "memory: only one session at a time (engine has no KV_CAP_THREADS)");
    mem_session *s = calloc(1, sizeof(*s));
    if (!s)
        return kv_seterr(e->err, sizeof(e->err), KV_ENOMEM, "memory: out of memory");
    s->base.engine = e;
    m->sessions++;
    *out = &s->base;
    return KV_OK;
}

static void kv_memory_session_close(kv_session *s)
{
    ((mem_engine *)s->engine)->sessions--;
    free(s);
}

static int kv_memory_get(kv_session *s, int64_t key, kv_slice *val)
{
    const mem_engine *m = (const mem_engine *)s->engine;
    const mem_slot *sl = &m->slots[kv_memory_find(m, key)];
    if (!sl->val)
        return KV_NOTFOUND;
    val->data = sl->val;
    val->len = sl->len;
    return KV_OK;
}

static int kv_memory_put(kv_session *s, int64_t key, const void *val, size_t len)
{
    mem_engine *m = (mem_engine *)s->engine;
    if (len > UINT32_MAX)
        return kv_seterr(s->err, sizeof(s->err), KV_EINVAL, "memory: value of %zu bytes exceeds 4 GiB", len);
    size_t i = kv_memory_find(m, key);
    mem_slot *sl = &m->slots[i];
    if (sl->val && sl->cap >= len) {
        if (len)
            memcpy(sl->val, val, len);
        sl->len = (uint32_t)len;
        return KV_OK;
    }
    if (!sl->val && (m->count + 1) * MEM_MAX_LOAD_DEN > (m->mask + 1) * MEM_MAX_LOAD_NUM) {
        int rc = kv_memory_resize(m, (m->mask + 1) * 2);
        if (rc != KV_OK)
            return kv_seterr(s->err, sizeof(s->err), rc, "%s", m->base.err);
        sl = &m->slots[kv_memory_find(m, key)];
    }
    uint32_t cap;
    unsigned char *p = kv_memory_alloc(m, len, &cap);
    if (!p)
        return kv_seterr(s->err, sizeof(s->err), KV_ENOMEM, "memory: out of memory storing %zu bytes", len);
    if (len)
        memcpy(p, val, len);
    if (sl->val)
        m->arena_waste += sl->cap;
    else
        m->count++;
    sl->key = key;
    sl->val = p;
    sl->len = (uint32_t)len;
    sl->cap = cap;
    return KV_OK;
}

/* Backward-shift deletion keeps every probe chain unbroken without tombstones. */
static int kv_memory_del(kv_session *s, int64_t key)
{
    mem_engine *m = (mem_engine *)s->engine;
    size_t i = kv_memory_find(m, key);
    if (!m->slots[i].val)
        return KV_OK;
    m->arena_waste += m->slots[i].cap;
    m->count--;
    size_t j = i;
    for (;;) {
        j = (j + 1) & m->mask;
        if (!m->slots[j].val)
            break;
        size_t home = (size_t)kv_memory_hash(m->slots[j].key) & m->mask;
        /* move j into the hole at i unless its home lies cyclically in (i, j] */
        int stays = (i <= j) ? (home > i && home <= j) : (home > i || home <= j);
        if (!stays) {
            m->slots[i] = m->slots[j];
            i = j;
        }
    }
    memset(&m->slots[i], 0, sizeof(m->slots[i]));
    return KV_OK;
}

const kv_engine_ops kv_memory_ops = {
    .abi_version = KV_ENGINE_ABI,
    .struct_size = sizeof(kv_engine_ops),
    .name = "memory",
    .description = "RAM-only hash table (open addressing, zero copy): the floor of a point lookup; no scan",
    .caps = KV_CAP_ZERO_COPY | KV_CAP_DUR_NONE,
    .options = kv_memory_options,
    .lib_version = kv_memory_lib_version,
    .open = kv_memory_open,
    .close = kv_memory_close,
    .describe = kv_memory_describe,
    .session_open = kv_memory_session_open,
    .session_close = kv_memory_session_close,
    .get = kv_memory_get,
    .put = kv_memory_put,
    .del = kv_memory_del,
    .stats = kv_memory_stats,
};
