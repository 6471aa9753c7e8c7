/* null.c - an engine that stores nothing: its timings are the harness's own cost per operation. */
#include "engine.h"

#include <stdlib.h>
#include <string.h>

typedef struct null_session {
    kv_session base;
    unsigned char value[16]; /* get answers KV_NOTFOUND, so this is never read; kept for symmetry */
} null_session;

static const char *kv_null_lib_version(void) { return "null 1"; }

static int kv_null_open(const kv_config *cfg, kv_engine **out, char *err, size_t errlen)
{
    (void)cfg;
    kv_engine *e = calloc(1, sizeof(*e));
    if (!e)
        return kv_seterr(err, errlen, KV_ENOMEM, "null: out of memory");
    *out = e;
    return KV_OK;
}

static int kv_null_close(kv_engine *e)
{
    free(e);
    return KV_OK;
}

static void kv_null_describe(kv_engine *e, kv_pair_cb cb, void *arg)
{
    (void)e;
    cb(arg, "stores", "nothing (get always answers not-found)");
}

static int kv_null_session_open(kv_engine *e, kv_session **out)
{
    null_session *s = calloc(1, sizeof(*s));
    if (!s)
        return kv_seterr(e->err, sizeof(e->err), KV_ENOMEM, "null: out of memory");
    s->base.engine = e;
    *out = &s->base;
    return KV_OK;
}

static void kv_null_session_close(kv_session *s) { free(s); }

static int kv_null_get(kv_session *s, int64_t key, kv_slice *val)
{
    (void)s, (void)key, (void)val;
    return KV_NOTFOUND;
}

static int kv_null_put(kv_session *s, int64_t key, const void *val, size_t len)
{
    (void)s, (void)key, (void)val, (void)len;
    return KV_OK;
}

static int kv_null_del(kv_session *s, int64_t key)
{
    (void)s, (void)key;
    return KV_OK;
}

const kv_engine_ops kv_null_ops = {
    .abi_version = KV_ENGINE_ABI,
    .struct_size = sizeof(kv_engine_ops),
    .name = "null",
    .description = "stores nothing; measures the harness's own per-operation cost",
    .caps = KV_CAP_DISCARDS | KV_CAP_DUR_NONE | KV_CAP_DUR_SYNC | KV_CAP_DUR_GROUP | KV_CAP_THREADS,
    .lib_version = kv_null_lib_version,
    .open = kv_null_open,
    .close = kv_null_close,
    .describe = kv_null_describe,
    .session_open = kv_null_session_open,
    .session_close = kv_null_session_close,
    .get = kv_null_get,
    .put = kv_null_put,
    .del = kv_null_del,
};
