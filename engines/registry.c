/* registry.c - the table of built-in engines and the checks every engine table must pass. */
#include "engine.h"
#include "store_marker.h"

#include <stdio.h>
#include <string.h>

#define KV_ENGINE(n) extern const kv_engine_ops kv_##n##_ops;
#include "engines.def"
#undef KV_ENGINE

const kv_engine_ops *const kv_engines[] = {
#define KV_ENGINE(n) &kv_##n##_ops,
#include "engines.def"
#undef KV_ENGINE
    NULL,
};

const kv_engine_ops *kv_engine_find(const char *name)
{
    for (size_t i = 0; kv_engines[i]; i++)
        if (strcmp(kv_engines[i]->name, name) == 0)
            return kv_engines[i];
    return NULL;
}

int kv_engine_check(const kv_engine_ops *ops, char *err, size_t errlen)
{
    const char *name = ops->name ? ops->name : "(unnamed)";
    if (ops->abi_version < 1 || ops->abi_version > KV_ENGINE_ABI)
        return kv_seterr(err, errlen, KV_EINVAL, "engine %s: bad ABI version %u (want 1 to %u)", name,
                         ops->abi_version, KV_ENGINE_ABI);
    if (ops->struct_size < offsetof(kv_engine_ops, disk_bytes) + sizeof(ops->disk_bytes))
        return kv_seterr(err, errlen, KV_EINVAL, "engine %s: table too small (%u bytes)", name,
                         ops->struct_size);
    if (!ops->name || !ops->lib_version || !ops->open || !ops->close || !ops->describe ||
        !ops->session_open || !ops->session_close || !ops->get || !ops->put || !ops->del)
        return kv_seterr(err, errlen, KV_EINVAL,
                         "engine %s: a required hook (name, lib_version, open, close, describe, "
                         "session_open/close, get, put, del) is missing", name);
    if (!!(ops->caps & KV_CAP_SCAN) != !!ops->scan)
        return kv_seterr(err, errlen, KV_EINVAL, "engine %s: KV_CAP_SCAN disagrees with scan hook", name);
    if (!!(ops->caps & KV_CAP_BULK_LOAD) != !!ops->bulk_load)
        return kv_seterr(err, errlen, KV_EINVAL, "engine %s: KV_CAP_BULK_LOAD disagrees with bulk_load hook",
                         name);
    if (!(ops->caps & (KV_CAP_DUR_NONE | KV_CAP_DUR_SYNC | KV_CAP_DUR_GROUP)))
        return kv_seterr(err, errlen, KV_EINVAL, "engine %s: declares no durability level", name);
    return KV_OK;
}

static int check_options(const kv_engine_ops *ops, const kv_config *cfg, char *err, size_t errlen)
{
    for (size_t i = 0; i < cfg->nopts; i++) {
        const char *key = cfg->opts[i].key;
        int known = 0;
        for (const kv_option_spec *o = ops->options; o && o->key; o++)
            if (strcmp(o->key, key) == 0)
                known = 1;
        if (known)
            continue;
        char list[384] = "";
        size_t used = 0;
        for (const kv_option_spec *o = ops->options; o && o->key && used < sizeof(list); o++)
            used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s", used ? ", " : "", o->key);
        return kv_seterr(err, errlen, KV_EINVAL, "engine %s: unknown option '%s' (accepted: %s)", ops->name,
                         key, used ? list : "none");
    }
    return KV_OK;
}

int kv_engine_open(const kv_engine_ops *ops, const kv_config *cfg, kv_engine **out, char *err,
                   size_t errlen)
{
    *out = NULL;
    int rc = kv_engine_check(ops, err, errlen);
    if (rc != KV_OK)
        return rc;
    rc = check_options(ops, cfg, err, errlen);
    if (rc != KV_OK)
        return rc;
    if ((unsigned)cfg->durability > KV_DUR_GROUP)
        return kv_seterr(err, errlen, KV_EINVAL, "engine %s: bad durability level %d", ops->name,
                         (int)cfg->durability);
    if (!(ops->caps & KV_CAP_DUR(cfg->durability)))
        return kv_seterr(err, errlen, KV_ENOTSUP,
                         "engine %s cannot honour durability '%s'; choose a level it supports "
                         "(see `kvbench list`)", ops->name, kv_durability_name(cfg->durability));
    if (cfg->threads > 1 && !(ops->caps & KV_CAP_THREADS))
        return kv_seterr(err, errlen, KV_ENOTSUP, "engine %s does not support several threads", ops->name);
    /* A persistent engine's directory is claimed first: opening another engine's store could misread
     * it, crash inside the library or overwrite it. */
    int persistent = (ops->caps & KV_CAP_PERSISTENT) != 0, created = 0;
    if (persistent && (rc = kv_store_marker_claim(cfg->dir, ops->name, &created, err, errlen)) != KV_OK)
        return rc;
    rc = ops->open(cfg, out, err, errlen);
    if (rc == KV_OK && *out)
        (*out)->ops = ops;
    else if (created)
        kv_store_marker_unclaim(cfg->dir);
    return rc;
}
