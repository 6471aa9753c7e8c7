/* memory.c - RAM-only floor of a point lookup: open-addressing hash whose slots hold key and value together. */
#include "engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* A slot is a header and the value's bytes in one cache-line-aligned stride (128 bytes for 100-byte
 * values: two adjacent lines, fetched as a pair), so a hit costs one memory round trip. A value longer
 * than the slot's inline room lives in an arena chunk and the slot holds its address. */
typedef struct mem_slot {
    int64_t key;
    uint32_t len;
    uint32_t state; /* MEM_EMPTY, MEM_INLINE or MEM_OUTLINE */
    unsigned char data[]; /* inline bytes, or a mem_outline */
} mem_slot;

enum { MEM_EMPTY = 0, MEM_INLINE = 1, MEM_OUTLINE = 2 };

typedef struct mem_outline {
    unsigned char *val;
    uint64_t cap; /* bytes reserved at val; an update that fits is written in place */
} mem_outline;

/* Memory straight from mmap, so the page policy (2 MiB or 4 KiB pages) applies to all of it. */
typedef struct mem_map {
    void *base;
    size_t len;
} mem_map;

typedef struct mem_chunk {
    struct mem_chunk *next;
    mem_map map;
    size_t used;
    unsigned char data[];
} mem_chunk;

typedef struct mem_engine {
    kv_engine base;
    mem_map table;
    unsigned char *slots; /* capacity x stride bytes, 2 MiB-aligned */
    size_t stride, inline_cap, mask, count;
    mem_chunk *chunks;
    uint64_t arena_bytes, arena_waste, resizes, outline_values;
    size_t chunk_size;
    enum kv_pages pages;
    int sessions;
    char pages_note[160]; /* what madvise answered, for describe() */
} mem_engine;

typedef struct mem_session {
    kv_session base;
} mem_session;

#define MEM_MAX_LOAD_NUM 7 /* resize above 70% full: linear probing stays short */
#define MEM_MAX_LOAD_DEN 10
#define MEM_CHUNK_DEFAULT (64u << 20)
#define MEM_MAX_INLINE 240 /* larger values go out of line: a slot stays within four cache lines */
#define MEM_HUGE ((size_t)2 << 20)

static const kv_option_spec kv_memory_options[] = {
    {"capacity", "initial slot count (rounded up to a power of two); default expected keys / 0.7, min 1024"},
    {"chunk", "arena chunk size in bytes for values longer than a slot holds (K/M/G); default 64M"},
    {"inline", "1: values up to value_size (<= 240 bytes) live in the slot (default); 0: every value in the "
               "arena, the slot holding its address"},
    {NULL, NULL},
};

static const char *kv_memory_lib_version(void) { return "memory 2 (built in)"; }

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

/* len bytes of zeroed memory, 2 MiB-aligned when large enough, with the run's page policy applied. */
static int kv_memory_map(mem_engine *m, size_t len, mem_map *out)
{
    size_t want = len >= MEM_HUGE ? (len + MEM_HUGE - 1) & ~(MEM_HUGE - 1) : len;
    size_t extra = len >= MEM_HUGE ? MEM_HUGE : 0;
    unsigned char *p = mmap(NULL, want + extra, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return KV_ENOMEM;
    unsigned char *a = extra ? (unsigned char *)(((uintptr_t)p + MEM_HUGE - 1) & ~(uintptr_t)(MEM_HUGE - 1)) : p;
    if (a > p)
        munmap(p, (size_t)(a - p));
    if (p + want + extra > a + want)
        munmap(a + want, (size_t)(p + want + extra - (a + want)));
    char err[128] = "";
    if (kv_pages_advise(a, want, m->pages, err, sizeof(err)) != KV_OK && !m->pages_note[0])
        snprintf(m->pages_note, sizeof(m->pages_note), "%s", err); /* THP unavailable: still works */
    out->base = a;
    out->len = want;
    return KV_OK;
}

static inline mem_slot *kv_memory_slot(const mem_engine *m, size_t i)
{
    return (mem_slot *)(m->slots + i * m->stride);
}

static unsigned char *kv_memory_arena(mem_engine *m, size_t len, uint64_t *cap)
{
    size_t need = (len + 15) & ~(size_t)15;
    mem_chunk *c = m->chunks;
    if (!c || c->map.len - sizeof(*c) - c->used < need) {
        size_t size = need + sizeof(*c) > m->chunk_size ? need + sizeof(*c) : m->chunk_size;
        mem_map map;
        if (kv_memory_map(m, size, &map) != KV_OK)
            return NULL;
        if (m->chunks)
            m->arena_waste += m->chunks->map.len - sizeof(*c) - m->chunks->used;
        c = map.base;
        c->map = map;
        c->used = 0;
        c->next = m->chunks;
        m->chunks = c;
        m->arena_bytes += map.len;
    }
    unsigned char *p = c->data + c->used;
    c->used += need;
    *cap = need;
    return p;
}

/* Index of the slot holding key, or of the empty slot where it would go. */
static inline size_t kv_memory_find(const mem_engine *m, int64_t key)
{
    size_t i = (size_t)kv_memory_hash(key) & m->mask;
    for (;;) {
        const mem_slot *s = kv_memory_slot(m, i);
        if (s->state == MEM_EMPTY || s->key == key)
            return i;
        i = (i + 1) & m->mask;
    }
}

static int kv_memory_resize(mem_engine *m, size_t capacity)
{
    mem_map old = m->table;
    unsigned char *old_slots = m->slots;
    size_t oldcap = old_slots ? m->mask + 1 : 0;
    mem_map nt;
    if (kv_memory_map(m, capacity * m->stride, &nt) != KV_OK)
        return kv_seterr(m->base.err, sizeof(m->base.err), KV_ENOMEM,
                         "memory: out of memory growing the table to %zu slots of %zu bytes", capacity, m->stride);
    m->table = nt;
    m->slots = nt.base;
    m->mask = capacity - 1;
    for (size_t i = 0; i < oldcap; i++) {
        const mem_slot *s = (const mem_slot *)(old_slots + i * m->stride);
        if (s->state != MEM_EMPTY)
            memcpy(kv_memory_slot(m, kv_memory_find(m, s->key)), s, m->stride);
    }
    if (old.base)
        munmap(old.base, old.len);
    m->resizes++;
    return KV_OK;
}

static int kv_memory_close(kv_engine *e)
{
    mem_engine *m = (mem_engine *)e;
    for (mem_chunk *c = m->chunks, *n; c; c = n) {
        n = c->next;
        munmap(c->map.base, c->map.len);
    }
    if (m->table.base)
        munmap(m->table.base, m->table.len);
    free(m);
    return KV_OK;
}

static int kv_memory_open(const kv_config *cfg, kv_engine **out, char *err, size_t errlen)
{
    uint64_t capacity = cfg->expected_keys * MEM_MAX_LOAD_DEN / MEM_MAX_LOAD_NUM + 1, chunk = MEM_CHUNK_DEFAULT;
    int inl = 1;
    int rc = kv_config_opt_u64(cfg, "capacity", &capacity, err, errlen);
    if (rc == KV_OK)
        rc = kv_config_opt_u64(cfg, "chunk", &chunk, err, errlen);
    if (rc == KV_OK)
        rc = kv_config_opt_bool(cfg, "inline", &inl, err, errlen);
    if (rc != KV_OK)
        return rc;
    if (capacity > (1ull << 36) || chunk < 4096 || chunk > (1ull << 32))
        return kv_seterr(err, errlen, KV_EINVAL,
                         "memory: capacity must be <= 2^36 and chunk between 4K and 4G (got %llu, %llu)",
                         (unsigned long long)capacity, (unsigned long long)chunk);
    mem_engine *m = calloc(1, sizeof(*m));
    if (!m)
        return kv_seterr(err, errlen, KV_ENOMEM, "memory: out of memory");
    m->chunk_size = (size_t)chunk;
    m->pages = cfg->pages;
    size_t room = inl && cfg->value_size <= MEM_MAX_INLINE ? cfg->value_size : 0;
    if (room < sizeof(mem_outline))
        room = sizeof(mem_outline);
    m->stride = (sizeof(mem_slot) + room + 63) & ~(size_t)63;
    if (!inl || cfg->value_size > MEM_MAX_INLINE)
        m->stride = sizeof(mem_slot) + sizeof(mem_outline); /* 32 bytes: two slots per cache line */
    m->inline_cap = inl ? m->stride - sizeof(mem_slot) : 0;
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
    cb(arg, "structure", "open addressing, linear probing, splitmix64 hash, backward-shift delete; key, "
                         "length and value bytes in one slot");
    kv_describe_u64(cb, arg, "capacity_slots", m->mask + 1);
    kv_describe_u64(cb, arg, "slot_bytes", m->stride);
    kv_describe_u64(cb, arg, "inline_value_bytes", m->inline_cap);
    kv_describe_u64(cb, arg, "max_load_percent", 100 * MEM_MAX_LOAD_NUM / MEM_MAX_LOAD_DEN);
    kv_describe_u64(cb, arg, "chunk_bytes", m->chunk_size);
    cb(arg, "pages", m->pages == KV_PAGES_HUGE ? "huge: table and arena mmap'd 2 MiB-aligned, MADV_HUGEPAGE"
                                               : "4k: table and arena mmap'd, MADV_NOHUGEPAGE");
    if (m->pages_note[0])
        cb(arg, "pages_madvise", m->pages_note);
    cb(arg, "persistence", "none (RAM only)");
    cb(arg, "get", "zero copy (pointer into the slot or the arena)");
}

static void kv_memory_stats(kv_engine *e, kv_pair_cb cb, void *arg)
{
    mem_engine *m = (mem_engine *)e;
    kv_describe_u64(cb, arg, "keys", m->count);
    kv_describe_u64(cb, arg, "capacity_slots", m->mask + 1);
    kv_describe_u64(cb, arg, "table_bytes", m->table.len);
    kv_describe_u64(cb, arg, "outline_values", m->outline_values);
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

static inline const mem_outline *kv_memory_outline(const mem_slot *s)
{
    return (const mem_outline *)(const void *)s->data;
}

static int kv_memory_get(kv_session *s, int64_t key, kv_slice *val)
{
    const mem_engine *m = (const mem_engine *)s->engine;
    const mem_slot *sl = kv_memory_slot(m, kv_memory_find(m, key));
    if (sl->state == MEM_EMPTY)
        return KV_NOTFOUND;
    val->data = sl->state == MEM_INLINE ? sl->data : kv_memory_outline(sl)->val;
    val->len = sl->len;
    return KV_OK;
}

static int kv_memory_put(kv_session *s, int64_t key, const void *val, size_t len)
{
    mem_engine *m = (mem_engine *)s->engine;
    if (len > UINT32_MAX)
        return kv_seterr(s->err, sizeof(s->err), KV_EINVAL, "memory: value of %zu bytes exceeds 4 GiB", len);
    mem_slot *sl = kv_memory_slot(m, kv_memory_find(m, key));
    if (sl->state == MEM_EMPTY && (m->count + 1) * MEM_MAX_LOAD_DEN > (m->mask + 1) * MEM_MAX_LOAD_NUM) {
        int rc = kv_memory_resize(m, (m->mask + 1) * 2);
        if (rc != KV_OK)
            return kv_seterr(s->err, sizeof(s->err), rc, "%s", m->base.err);
        sl = kv_memory_slot(m, kv_memory_find(m, key));
    }
    if (sl->state == MEM_EMPTY)
        m->count++;
    if (len <= m->inline_cap) {
        if (sl->state == MEM_OUTLINE)
            m->arena_waste += kv_memory_outline(sl)->cap, m->outline_values--;
        sl->state = MEM_INLINE;
    } else if (sl->state != MEM_OUTLINE || kv_memory_outline(sl)->cap < len) {
        mem_outline o;
        o.val = kv_memory_arena(m, len, &o.cap);
        if (!o.val) {
            if (sl->state == MEM_EMPTY)
                m->count--;
            return kv_seterr(s->err, sizeof(s->err), KV_ENOMEM, "memory: out of memory storing %zu bytes", len);
        }
        if (sl->state == MEM_OUTLINE)
            m->arena_waste += kv_memory_outline(sl)->cap;
        else
            m->outline_values++;
        memcpy(sl->data, &o, sizeof(o));
        sl->state = MEM_OUTLINE;
    }
    sl->key = key;
    sl->len = (uint32_t)len;
    if (len)
        memcpy(sl->state == MEM_INLINE ? sl->data : kv_memory_outline(sl)->val, val, len);
    return KV_OK;
}

/* Backward-shift deletion keeps every probe chain unbroken without tombstones. */
static int kv_memory_del(kv_session *s, int64_t key)
{
    mem_engine *m = (mem_engine *)s->engine;
    size_t i = kv_memory_find(m, key);
    mem_slot *hole = kv_memory_slot(m, i);
    if (hole->state == MEM_EMPTY)
        return KV_OK;
    if (hole->state == MEM_OUTLINE)
        m->arena_waste += kv_memory_outline(hole)->cap, m->outline_values--;
    m->count--;
    size_t j = i;
    for (;;) {
        j = (j + 1) & m->mask;
        mem_slot *sj = kv_memory_slot(m, j);
        if (sj->state == MEM_EMPTY)
            break;
        size_t home = (size_t)kv_memory_hash(sj->key) & m->mask;
        /* move j into the hole at i unless its home lies cyclically in (i, j] */
        int stays = (i <= j) ? (home > i && home <= j) : (home > i || home <= j);
        if (!stays) {
            memcpy(kv_memory_slot(m, i), sj, m->stride);
            i = j;
        }
    }
    memset(kv_memory_slot(m, i), 0, m->stride);
    return KV_OK;
}

const kv_engine_ops kv_memory_ops = {
    .abi_version = KV_ENGINE_ABI,
    .struct_size = sizeof(kv_engine_ops),
    .name = "memory",
    .description = "RAM-only hash table (open addressing, values inline in the slot, zero copy): the floor of "
                   "a point lookup; no scan",
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
