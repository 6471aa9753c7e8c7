/* alex_index.c - the ALEX public API: create/destroy, bulk load, find, insert, upsert, erase,
 * ordered iteration through the leaf chain. */
#include <stdlib.h>

#include "alex_internal.h"

void alex_params_default(alex_params *p)
{
    /* a leaf's rebuild (expand or split) costs ~15 ns per key, page faults of its new arrays
     * included: 16K slots bound one structural change to ~0.2 ms (1 << 16 let a 25,000-key leaf
     * stall an insert 0.4-0.9 ms; PERFORMANCE.md, "Mixed at 100K") */
    p->max_data_node_slots = (size_t)1 << 14;
    p->max_fanout_log2 = 16;
    p->density_init = 0.7;
    p->density_max = 0.8;
    p->density_min = 0.6;
    p->huge_pages = 1;
}

int alex_create(alex_index **out, const alex_params *p)
{
    *out = NULL;
    alex_params d;
    alex_params_default(&d);
    if (p != NULL)
        d = *p;
    if (d.max_data_node_slots < 64 || d.max_data_node_slots > ((size_t)1 << 30) || d.max_fanout_log2 < 4 ||
        d.max_fanout_log2 > 24 || !(d.density_min > 0.0) || !(d.density_min < d.density_init) ||
        !(d.density_init < d.density_max) || !(d.density_max < 1.0))
        return ALEX_EINVAL;
    alex_index *ix = calloc(1, sizeof(*ix));
    if (ix == NULL)
        return ALEX_ENOMEM;
    ix->p = d;
    ix->arena.nohuge = !d.huge_pages;
    ix->bytes = sizeof(*ix);
    alex_data_node *leaf = alex__dn_build(ix, NULL, NULL, 0, ALEX_MIN_CAP, &(alex_lm){ 0.0, 0.0, 0 });
    if (leaf == NULL) {
        free(ix);
        return ALEX_ENOMEM;
    }
    alex__sync_init(ix);
    ix->root = (alex_node *)leaf;
    *out = ix;
    return ALEX_OK;
}

void alex_destroy(alex_index *ix)
{
    if (ix == NULL)
        return;
    alex__free_tree(ix, ix->root);
    alex__arena_close(ix);
    alex__sync_destroy(ix);
    free(ix);
}

static int alex_bulk_load_impl(alex_index *ix, const int64_t *keys, const uint64_t *payloads, size_t n);

int alex_bulk_load(alex_index *ix, const int64_t *keys, const uint64_t *payloads, size_t n)
{
    int rc = alex_bulk_load_impl(ix, keys, payloads, n);
    alex__smo_end(ix);
    return rc;
}

static int alex_bulk_load_impl(alex_index *ix, const int64_t *keys, const uint64_t *payloads, size_t n)
{
    if (ix->num_keys != 0 || (n > 0 && (keys == NULL || payloads == NULL)))
        return ALEX_EINVAL;
    for (size_t i = 1; i < n; i++)
        if (keys[i - 1] >= keys[i])
            return ALEX_EINVAL;
    if (n == 0)
        return ALEX_OK;
    alex__smo_begin(ix); /* the root is replaced and the old one freed */
    alex_data_node *f = NULL, *l = NULL;
    /* Room for the leaves' arrays: ~n / density_init slots of 16 bytes + bitmap, doubled plus slack
     * for small leaves' minimum capacity; only what is touched becomes resident. Below one huge
     * page of arrays the arena would only cost memory (a 2 MiB page for a small index). */
    size_t est = (size_t)((double)n / ix->p.density_init) * 17u;
    if (est >= ALEX_ARENA_MIN)
        alex__arena_open(ix, est * 2u + ((size_t)8 << 20));
    alex_node *root = alex__build(ix, keys, payloads, n, 0, 0, keys[0], keys[n - 1], &f, &l);
    alex__arena_seal(ix);
    if (root == NULL)
        return ALEX_ENOMEM;
    f->prev = NULL;
    l->next = NULL;
    alex__free_tree(ix, ix->root);
    root->dup = 0;
    ix->root = root;
    ix->num_keys = n;
    ix->ood_left = ix->ood_right = 0;
    return ALEX_OK;
}

static inline void alex_bump(_Atomic uint64_t *c, uint64_t v)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + v, memory_order_relaxed);
}

static _Thread_local unsigned alex_tls_tick; /* its address picks the stripe; its value, the samples */

/* The slot of key in leaf d (its payload in *pay), or -1: predict the slot, prefetch the payload line
 * for it so its miss overlaps the key array's, search, then confirm by key alone. The bitmap is not
 * read: a gap holds its right neighbour's key (alex_validate checks it), so the last slot whose key
 * equals `key` is a gap only if it is a tail gap holding INT64_MAX - the one key that takes the
 * bitmap-checking alex__dn_find. Loads of the arrays are relaxed atomics: a shared reader validates
 * the leaf's version around this. */
static inline int alex_leaf_lookup(const alex_data_node *d, int64_t key, uint64_t *it, uint64_t *pay)
{
    int s;
    if (key != INT64_MAX && key != INT64_MIN) { /* the gap sentinels take the bitmap check */
        int m = alex__route(d->a, d->b, d->base, d->cap, key);
        __builtin_prefetch(&d->payloads[m]);
        int ub = alex__dn_ub_from(d, key, m, it);
        s = ub > 0 && ALEX_LD(d->keys[ub - 1]) == key ? ub - 1 : -1;
    } else {
        s = alex__dn_find(d, key, it);
    }
    if (s >= 0)
        *pay = ALEX_LD(d->payloads[s]);
    return s;
}

/* The leaf's cost model counts lookups too (alex__dn_empirical_cost), sampled so that the read path
 * rarely writes the leaf. */
static inline void alex_sample_leaf(const alex_data_node *d, unsigned tick, uint64_t it)
{
    if ((tick & (ALEX_LOOKUP_SAMPLE - 1)) != 0)
        return;
    alex_data_node *w = (alex_data_node *)d;
    __atomic_store_n(&w->num_lookups, __atomic_load_n(&w->num_lookups, __ATOMIC_RELAXED) + 1, __ATOMIC_RELAXED);
    __atomic_store_n(&w->num_lookup_iters, __atomic_load_n(&w->num_lookup_iters, __ATOMIC_RELAXED) + it,
                     __ATOMIC_RELAXED);
}

static inline const alex_data_node *alex_route_to_leaf(const alex_index *ix, int64_t key)
{
    const alex_node *n = ix->root;
    while (!n->is_leaf) {
        const alex_model_node *m = (const alex_model_node *)n;
        n = m->children[alex__mroute(m, key)];
    }
    return (const alex_data_node *)n;
}

/* Lookup for the writer's thread: route through the model nodes, then alex_leaf_lookup. */
int alex_find(const alex_index *ix, int64_t key, uint64_t *payload)
{
    const alex_data_node *d = alex_route_to_leaf(ix, key);
    uint64_t it = 0, pay = 0;
    int s = alex_leaf_lookup(d, key, &it, &pay);
    unsigned st = (unsigned)(((uintptr_t)&alex_tls_tick * 0x9e3779b97f4a7c15ull) >> 61) % ALEX_STRIPES;
    alex_index *mix = (alex_index *)ix;
    alex_bump(&mix->stripe[st].lookups, 1);
    alex_bump(&mix->stripe[st].steps, it);
    alex_sample_leaf(d, ++alex_tls_tick, it);
    if (s < 0)
        return ALEX_NOTFOUND;
    if (payload)
        *payload = pay;
    return ALEX_OK;
}

/* Lookup beside the writer: inside a read section (no structural change runs), the leaf is searched
 * under its seqlock and searched again if the writer changed it meanwhile. The counters are the
 * reader's own (no cache line shared with another reader). */
int alex_find_shared(const alex_index *ix, alex_reader *r, int64_t key, uint64_t *payload)
{
    alex__read_enter(ix, r);
    const alex_data_node *d = alex_route_to_leaf(ix, key);
    uint64_t it, pay = 0;
    int s;
    for (;;) {
        uint32_t v = alex__leaf_read_begin(d);
        it = 0;
        s = alex_leaf_lookup(d, key, &it, &pay);
        if (alex__leaf_read_valid(d, v))
            break;
    }
    alex_bump(&r->lookups, 1);
    alex_bump(&r->steps, it);
    alex_sample_leaf(d, ++r->tick, it);
    alex__read_leave(r);
    if (s < 0)
        return ALEX_NOTFOUND;
    if (payload)
        *payload = pay;
    return ALEX_OK;
}

/* Copy leaf d's pairs with key >= from (slots from `start` on) into keys/pays from index n, at most max
 * in all, under its seqlock; the new count. */
static size_t alex_scan_leaf(const alex_data_node *d, int start, int64_t from, int64_t *keys, uint64_t *pays,
                             size_t n, size_t max)
{
    for (;;) {
        uint32_t v = alex__leaf_read_begin(d);
        size_t k = n;
        int i = start;
        if (i < 0) { /* first slot whose key is >= from */
            uint64_t it = 0;
            i = from == INT64_MIN ? 0 : alex__dn_upper_bound(d, from - 1, &it);
        }
        for (i = alex__dn_next_set(d, i); i < d->cap && k < max; i = alex__dn_next_set(d, i + 1)) {
            int64_t key = ALEX_LD(d->keys[i]);
            if (key < from)
                continue;
            keys[k] = key;
            pays[k] = ALEX_LD(d->payloads[i]);
            k++;
        }
        if (alex__leaf_read_valid(d, v))
            return k;
    }
}

size_t alex_scan_shared(const alex_index *ix, alex_reader *r, int64_t from, int64_t *keys, uint64_t *payloads,
                        size_t max)
{
    if (max == 0)
        return 0;
    alex__read_enter(ix, r);
    size_t n = 0;
    int start = -1;
    /* the chain only changes in structural changes, which this read section excludes */
    for (const alex_data_node *d = alex__descend(ix, from, NULL); d != NULL && n < max; d = d->next) {
        n = alex_scan_leaf(d, start, from, keys, payloads, n, max);
        start = 0;
    }
    alex__read_leave(r);
    return n;
}

/* Move the keys at one end of leaf l that no longer route to l into b (side 0: its first keys,
 * 1: its last). 0, or ALEX_ENOMEM. */
static int alex_repair_end(alex_index *ix, alex_data_node *l, int side, alex_buf *b, size_t *capb)
{
    while (l->num_keys > 0) {
        int s = side == 0 ? alex__dn_next_set(l, 0) : alex__dn_prev_set(l, l->cap - 1);
        if (alex__descend(ix, l->keys[s], NULL) == l)
            break;
        if (b->n == *capb) {
            *capb = *capb ? *capb * 2 : 256;
            int64_t *nk = realloc(b->keys, *capb * sizeof(int64_t));
            if (nk)
                b->keys = nk;
            uint64_t *np = realloc(b->pays, *capb * sizeof(uint64_t));
            if (np)
                b->pays = np;
            if (nk == NULL || np == NULL)
                return ALEX_ENOMEM;
        }
        b->keys[b->n] = l->keys[s];
        b->pays[b->n] = l->payloads[s];
        b->n++;
        alex__dn_erase_slot(l, s);
        ix->num_keys--;
    }
    return ALEX_OK;
}

/* Routing changed only in the model node m (its domain grew): a key can only have crossed from one
 * of m's children to a neighbour, so it sits at an end of that child's key range - in its first or
 * last leaf, or further in when those leaves drain completely. Two leaves per child, not every leaf. */
static int alex_repair_under(alex_index *ix, alex_model_node *m, alex_buf *b, size_t *capb)
{
    for (uint32_t i = 0; i < m->num_children; i += 1u << m->children[i]->dup) {
        alex_node *c = m->children[i], *f = c, *e = c;
        while (!f->is_leaf)
            f = ((alex_model_node *)f)->children[0];
        while (!e->is_leaf)
            e = ((alex_model_node *)e)->children[((alex_model_node *)e)->num_children - 1];
        for (alex_data_node *l = (alex_data_node *)f; l != NULL; l = l->next) {
            if (alex_repair_end(ix, l, 0, b, capb) != ALEX_OK)
                return ALEX_ENOMEM;
            if (l->num_keys > 0)
                break;
        }
        for (alex_data_node *l = (alex_data_node *)e; l != NULL; l = l->prev) {
            if (alex_repair_end(ix, l, 1, b, capb) != ALEX_OK)
                return ALEX_ENOMEM;
            if (l->num_keys > 0)
                break;
        }
    }
    return ALEX_OK;
}

/* Move keys that no longer route to the leaf holding them after a key domain grew
 * (alex__expand_node): under the node it names, or through every leaf when several growths
 * happened before this repair; nothing when nothing grew. Re-inserts them. */
int alex__repair(alex_index *ix)
{
    alex_buf b = { NULL, NULL, 0 };
    size_t capb = 0;
    alex_model_node *m = ix->repair_at;
    int rc = ALEX_OK;
    if (!ix->repair_pending)
        return ALEX_OK; /* nothing grew */
    alex__smo_begin(ix); /* already begun by the growth: keys move between leaves */
    ix->repair_at = NULL;
    ix->repair_pending = 0;
    if (m != NULL) {
        rc = alex_repair_under(ix, m, &b, &capb);
    } else {
        for (alex_data_node *l = alex__first_leaf(ix); l != NULL && rc == ALEX_OK; l = l->next) {
            rc = alex_repair_end(ix, l, 0, &b, &capb);
            if (rc == ALEX_OK)
                rc = alex_repair_end(ix, l, 1, &b, &capb);
        }
    }
    int collect_rc = rc; /* on ENOMEM the keys already taken out still go back */
    rc = ALEX_OK;
    for (size_t i = 0; i < b.n && rc == ALEX_OK; i++)
        rc = alex__insert_impl(ix, b.keys[i], b.pays[i]);
    alex__buf_free(&b);
    return rc != ALEX_OK ? rc : collect_rc;
}

int alex__insert_impl(alex_index *ix, int64_t key, uint64_t payload)
{
    alex_path path;
    alex_data_node *leaf = alex__descend(ix, key, &path);
    uint64_t it = 0;
    int ub = -1;
    if (key != INT64_MAX) {
        /* overlap the payload and bitmap misses with the key array's (as alex_find does) */
        int m = alex__route(leaf->a, leaf->b, leaf->base, leaf->cap, key);
        __builtin_prefetch(&leaf->payloads[m], 1);
        __builtin_prefetch(&leaf->bitmap[m >> 6], 1);
        ub = alex__dn_ub_from(leaf, key, m, &it);
        if (ub > 0 && leaf->keys[ub - 1] == key && alex__bit(leaf, ub - 1))
            return ALEX_EXISTS;
    } else if (alex__dn_find(leaf, key, &it) >= 0) {
        return ALEX_EXISTS;
    }
    if (!ix->root->is_leaf) {
        int rc = alex__root_expand_maybe(ix, key);
        if (rc == ALEX_SMO_REPAIR) {
            rc = alex__repair(ix);
            leaf = alex__descend(ix, key, &path);
            ub = -1;
        }
        if (rc != ALEX_OK)
            return rc;
    }
    int edge_tried = 0;
    for (int guard = 0;; guard++) {
        int full = leaf->num_keys >= leaf->cap ||
                   (double)(leaf->num_keys + 1) > ix->p.density_max * (double)leaf->cap;
        int cata = (leaf->num_inserts & 63) == 63 && leaf->num_shifts > 100 * leaf->num_inserts;
        int edge = 0;
        if (edge_tried)
            edge = 0;
        else if (leaf->num_keys > 0 && key > leaf->max_key && alex__bit(leaf, leaf->cap - 1))
            edge = 1;
        else if (leaf->num_keys > 0 && key < leaf->min_key && alex__bit(leaf, 0))
            edge = -1;
        if (!full && !cata && !edge)
            break;
        if (guard > 200)
            return ALEX_ECORRUPT;
        edge_tried |= edge != 0;
        int rc = alex__insert_full(ix, leaf, &path, edge, full || cata);
        if (rc == ALEX_SMO_INSERT)
            break;
        if (rc == ALEX_SMO_REPAIR)
            rc = alex__repair(ix);
        if (rc != ALEX_SMO_RETRY)
            return rc;
        leaf = alex__descend(ix, key, &path);
        ub = -1;
    }
    uint64_t steps0 = leaf->num_search_iters;
    int shifts = alex__dn_insert(leaf, key, payload, ub, ub >= 0 ? it : 0);
    ix->num_insert_steps += leaf->num_search_iters - steps0;
    ix->num_keys++;
    ix->num_inserts++;
    ix->num_shifts += (uint64_t)shifts;
    return ALEX_OK;
}

int alex_insert(alex_index *ix, int64_t key, uint64_t payload)
{
    int rc = alex__insert_impl(ix, key, payload);
    alex__arena_maybe_compact(ix);
    alex__smo_end(ix);
    return rc;
}

int alex_upsert(alex_index *ix, int64_t key, uint64_t payload, uint64_t *old, int *existed)
{
    alex_data_node *leaf = alex__descend(ix, key, NULL);
    uint64_t it = 0;
    int s = alex__dn_find(leaf, key, &it);
    if (s >= 0) {
        if (old)
            *old = leaf->payloads[s];
        if (existed)
            *existed = 1;
        ALEX_ST(leaf->payloads[s], payload); /* one atomic store: a reader sees the old or the new */
        return ALEX_OK;
    }
    if (existed)
        *existed = 0;
    int rc = alex__insert_impl(ix, key, payload);
    alex__arena_maybe_compact(ix);
    alex__smo_end(ix);
    return rc;
}

static int alex_erase_impl(alex_index *ix, int64_t key, uint64_t *old);

int alex_erase(alex_index *ix, int64_t key, uint64_t *old)
{
    int rc = alex_erase_impl(ix, key, old);
    alex__smo_end(ix);
    return rc;
}

static int alex_erase_impl(alex_index *ix, int64_t key, uint64_t *old)
{
    alex_path path;
    alex_data_node *leaf = alex__descend(ix, key, &path);
    uint64_t it = 0;
    int s = alex__dn_find(leaf, key, &it);
    if (s < 0)
        return ALEX_NOTFOUND;
    if (old)
        *old = leaf->payloads[s];
    alex__dn_erase_slot(leaf, s);
    ix->num_keys--;
    /* An empty leaf merges into its buddy leaf; one that cannot (its buddy is a subtree or has
     * another run length) shrinks to the minimum capacity and stays as the owner of its key range.
     * Non-empty leaves contract below 3/4 of the minimum density (hysteresis: expansion leaves
     * density_min, so contracting right at it would thrash). Failure to shrink is harmless. */
    if (leaf->num_keys == 0 && alex__merge_empty(ix, leaf, &path)) {
        alex__arena_maybe_compact(ix);
        return ALEX_OK;
    }
    if (leaf->num_keys == 0 && leaf->cap > ALEX_MIN_CAP) {
        if (alex__dn_resize(ix, leaf, ix->p.density_init, ALEX_RESIZE_RETRAIN) == ALEX_OK)
            ix->num_contractions++;
    } else if (leaf->cap > 64 && (double)leaf->num_keys < 0.75 * ix->p.density_min * (double)leaf->cap) {
        if (alex__dn_resize(ix, leaf, ix->p.density_init, ALEX_RESIZE_AUTO) == ALEX_OK)
            ix->num_contractions++;
    }
    alex__arena_maybe_compact(ix);
    return ALEX_OK;
}

size_t alex_size(const alex_index *ix)
{
    return (size_t)ix->num_keys;
}

/* Move to the first real slot at or after (leaf, slot), following the chain over empty leaves. */
static void alex_iter_settle(alex_iter *it, const alex_data_node *d, int slot)
{
    while (d != NULL) {
        int s = alex__dn_next_set(d, slot);
        if (s < d->cap) {
            it->leaf = d;
            it->slot = s;
            return;
        }
        d = d->next;
        slot = 0;
    }
    it->leaf = NULL;
    it->slot = 0;
}

void alex_lower_bound(const alex_index *ix, int64_t key, alex_iter *it)
{
    const alex_data_node *d = alex__descend(ix, key, NULL);
    uint64_t iters = 0;
    int s = alex__dn_find(d, key, &iters);
    if (s >= 0) {
        it->leaf = d;
        it->slot = s;
        return;
    }
    int ub = key == INT64_MAX ? d->cap : alex__dn_upper_bound(d, key, &iters);
    alex_iter_settle(it, d, ub);
}

void alex_first(const alex_index *ix, alex_iter *it)
{
    alex_iter_settle(it, alex__first_leaf(ix), 0);
}

int alex_iter_valid(const alex_iter *it)
{
    return it->leaf != NULL;
}

void alex_iter_next(alex_iter *it)
{
    if (it->leaf == NULL)
        return;
    alex_iter_settle(it, (const alex_data_node *)it->leaf, it->slot + 1);
}

int64_t alex_iter_key(const alex_iter *it)
{
    return ((const alex_data_node *)it->leaf)->keys[it->slot];
}

uint64_t alex_iter_payload(const alex_iter *it)
{
    return ((const alex_data_node *)it->leaf)->payloads[it->slot];
}
