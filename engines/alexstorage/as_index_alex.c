/* as_index_alex.c - the ALEX learned index (alex_index.h) behind the store's index ops table. */
#include "alex_index.h"
#include "as_index.h"

static int ix_alex_status(int arc)
{
    switch (arc) {
    case ALEX_OK: return AS_IX_OK;
    case ALEX_NOTFOUND: return AS_IX_NOTFOUND;
    case ALEX_ENOMEM: return AS_IX_ENOMEM;
    default: return AS_IX_EINVAL;
    }
}

static int ix_alex_create(void **out, const as_options *opt)
{
    alex_params p;
    alex_params_default(&p);
    p.huge_pages = opt->hugepages;
    alex_index *ix;
    int rc = ix_alex_status(alex_create(&ix, &p));
    *out = rc == AS_IX_OK ? ix : NULL;
    return rc;
}

static void ix_alex_destroy(void *ix) { alex_destroy(ix); }

static int ix_alex_bulk_load(void *ix, const int64_t *keys, const uint64_t *locs, size_t n)
{
    return ix_alex_status(alex_bulk_load(ix, keys, locs, n));
}

static int ix_alex_find(const void *ix, int64_t key, uint64_t *loc)
{
    return ix_alex_status(alex_find(ix, key, loc));
}

static int ix_alex_upsert(void *ix, int64_t key, uint64_t loc, uint64_t *old, int *existed)
{
    return ix_alex_status(alex_upsert(ix, key, loc, old, existed));
}

static int ix_alex_erase(void *ix, int64_t key, uint64_t *old) { return ix_alex_status(alex_erase(ix, key, old)); }

static size_t ix_alex_scan(const void *ix, int64_t from, as_ix_pair *out, size_t max)
{
    alex_iter it;
    size_t n = 0;
    for (alex_lower_bound(ix, from, &it); n < max && alex_iter_valid(&it); alex_iter_next(&it))
        out[n++] = (as_ix_pair){alex_iter_key(&it), alex_iter_payload(&it)};
    return n;
}

static int ix_alex_reader_open(void *ix, void **reader)
{
    alex_reader *r;
    int rc = ix_alex_status(alex_reader_open(ix, &r));
    *reader = rc == AS_IX_OK ? r : NULL;
    return rc;
}

static void ix_alex_reader_close(void *reader) { alex_reader_close(reader); }

static int ix_alex_find_shared(const void *ix, void *reader, int64_t key, uint64_t *loc)
{
    return ix_alex_status(alex_find_shared(ix, reader, key, loc));
}

/* as_ix_pair is {int64 key, uint64 loc}: the scan fills two arrays on the stack, then pairs them. */
static size_t ix_alex_scan_shared(const void *ix, void *reader, int64_t from, as_ix_pair *out, size_t max)
{
    int64_t keys[256];
    uint64_t locs[256];
    size_t done = 0;
    while (done < max) {
        size_t want = max - done < 256 ? max - done : 256;
        size_t n = alex_scan_shared(ix, reader, from, keys, locs, want);
        for (size_t i = 0; i < n; i++)
            out[done + i] = (as_ix_pair){keys[i], locs[i]};
        done += n;
        if (n < want || keys[n - 1] == INT64_MAX)
            break;
        from = keys[n - 1] + 1;
    }
    return done;
}

static void ix_alex_exclude_readers(void *ix) { alex_exclude_readers(ix); }
static void ix_alex_admit_readers(void *ix) { alex_admit_readers(ix); }

static size_t ix_alex_size(const void *ix) { return alex_size(ix); }

static void ix_alex_stats(const void *ix, as_index_stats *st)
{
    alex_stats ax;
    alex_get_stats(ix, &ax);
    *st = (as_index_stats){
        .num_keys = ax.num_keys,
        .inner_nodes = ax.num_model_nodes,
        .leaf_nodes = ax.num_data_nodes,
        .max_depth = ax.max_depth,
        .index_bytes = ax.index_bytes,
        .heap_bytes = ax.heap_bytes,
        .num_lookups = ax.num_lookups,
        .num_search_steps = ax.num_search_steps,
        .num_inserts = ax.num_inserts,
        .num_shifts = ax.num_shifts,
        .num_expansions = ax.num_expansions,
        .num_splits = ax.num_splits_sideways + ax.num_splits_down,
        .num_smo = ax.num_smo,
        .num_smo_waits = ax.num_smo_waits,
    };
}

static int ix_alex_validate(const void *ix, char *err, size_t errlen)
{
    return alex_validate(ix, err, errlen) == ALEX_OK ? AS_IX_OK : AS_IX_EINVAL;
}

const as_index_ops as_index_alex_ops = {
    .name = "alex",
    .read_only = 0,
    .flags = AS_IX_SHARED_READS,
    .create = ix_alex_create,
    .destroy = ix_alex_destroy,
    .bulk_load = ix_alex_bulk_load,
    .find = ix_alex_find,
    .upsert = ix_alex_upsert,
    .erase = ix_alex_erase,
    .scan = ix_alex_scan,
    .size = ix_alex_size,
    .stats = ix_alex_stats,
    .validate = ix_alex_validate,
    .reader_open = ix_alex_reader_open,
    .reader_close = ix_alex_reader_close,
    .find_shared = ix_alex_find_shared,
    .scan_shared = ix_alex_scan_shared,
    .exclude_readers = ix_alex_exclude_readers,
    .admit_readers = ix_alex_admit_readers,
};
