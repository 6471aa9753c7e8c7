/* bench.c - the helpers of bench.h that the runner (parent) and the repetition (child) both use. */
#include "bench.h"

#include <string.h>

uint64_t kvb_ops_for(const kvb_opts *o, uint64_t n)
{
    if (o->ops)
        return o->ops;
    uint64_t v = n > 100000 ? n : 100000;
    return v < 1000000 ? v : 1000000;
}

uint64_t kvb_warmup_for(const kvb_opts *o, uint64_t n)
{
    return o->warmup != UINT64_MAX ? o->warmup : kvb_ops_for(o, n) / 10;
}

uint64_t kvb_rep_seed(uint64_t seed, int rep)
{
    return rep == 0 ? seed : kv_mix64(seed ^ kv_mix64(0x7265700000000000ull + (uint64_t)rep));
}

int kvb_engine_scope(const char *engine, const char *scope, size_t len)
{
    if (strlen(engine) == len && strncmp(engine, scope, len) == 0)
        return 2;
    const char *plus = strchr(engine, '+');
    return plus && (size_t)(plus - engine) == len && strncmp(engine, scope, len) == 0;
}

size_t kvb_engine_opts(const kvb_opts *o, const kv_engine_ops *e, kv_option *out)
{
    size_t n = 0;
    /* unscoped, then the base engine's, then the variant's own: an engine that reads its options in order
     * lets the narrower scope win */
    for (int want = 0; want <= 2; want++)
        for (size_t i = 0; i < o->nopts; i++) {
            const char *k = o->opts[i].key, *dot = strchr(k, '.');
            if (!dot && want == 0)
                out[n++] = o->opts[i];
            else if (dot && want > 0 && kvb_engine_scope(e->name, k, (size_t)(dot - k)) == want)
                out[n++] = (kv_option){dot + 1, o->opts[i].value};
        }
    return n;
}
