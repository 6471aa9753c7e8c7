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

size_t kvb_engine_opts(const kvb_opts *o, const kv_engine_ops *e, kv_option *out)
{
    size_t n = 0, len = strlen(e->name);
    for (size_t i = 0; i < o->nopts; i++) {
        const char *k = o->opts[i].key, *dot = strchr(k, '.');
        if (!dot)
            out[n++] = o->opts[i];
        else if ((size_t)(dot - k) == len && strncmp(k, e->name, len) == 0)
            out[n++] = (kv_option){dot + 1, o->opts[i].value};
    }
    return n;
}
