/* alex_validate.c - structural invariant checker and statistics walk of an ALEX index. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>

#include "alex_internal.h"

typedef struct alex_vstate {
    const alex_index *ix;
    char *err;
    size_t errlen;
    const alex_data_node *prev_leaf; /* in-order predecessor, to check the chain */
    int64_t last_key;
    int have_last;
    uint64_t keys, model_nodes, data_nodes, bytes;
} alex_vstate;

static int alex_vfail(alex_vstate *v, const char *fmt, ...)
{
    if (v->err != NULL && v->errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(v->err, v->errlen, fmt, ap);
        va_end(ap);
    }
    return ALEX_ECORRUPT;
}

static int alex_vleaf(alex_vstate *v, const alex_data_node *d, unsigned depth)
{
    if (d->cap < 1 || d->num_keys < 0 || d->num_keys > d->cap)
        return alex_vfail(v, "leaf %p: cap %d num_keys %d", (const void *)d, d->cap, d->num_keys);
    if ((size_t)d->cap > v->ix->p.max_data_node_slots && d->cap > ALEX_MIN_CAP)
        return alex_vfail(v, "leaf %p: cap %d over max_data_node_slots %zu", (const void *)d, d->cap,
                          v->ix->p.max_data_node_slots);
    if (d->prev != v->prev_leaf)
        return alex_vfail(v, "leaf %p at depth %u: prev link %p, in-order predecessor %p", (const void *)d,
                          depth, (const void *)d->prev, (const void *)v->prev_leaf);
    if (v->prev_leaf != NULL && v->prev_leaf->next != d)
        return alex_vfail(v, "leaf %p: next link does not match the in-order walk", (const void *)v->prev_leaf);
    int nw = (d->cap + 63) / 64, count = 0;
    for (int w = 0; w < nw; w++) {
        uint64_t word = d->bitmap[w];
        if (w == nw - 1 && (d->cap & 63))
            if (word >> (d->cap & 63))
                return alex_vfail(v, "leaf %p: bitmap bits set beyond cap %d", (const void *)d, d->cap);
        count += __builtin_popcountll(word);
    }
    if (count != d->num_keys)
        return alex_vfail(v, "leaf %p: bitmap has %d bits, num_keys %d", (const void *)d, count, d->num_keys);
    int first = alex__dn_next_set(d, 0);
    for (int i = 0; i < d->cap; i++) {
        int64_t right = i + 1 < d->cap ? d->keys[i + 1] : INT64_MAX;
        if (i + 1 < d->cap && d->keys[i] > right)
            return alex_vfail(v, "leaf %p: keys decrease at slot %d", (const void *)d, i);
        if (!alex__bit(d, i)) {
            if (i < first && first < d->cap)
                right = INT64_MIN; /* a leading gap holds the head sentinel */
            if (d->keys[i] != right)
                return alex_vfail(v, "leaf %p: gap slot %d holds %lld, expected %lld", (const void *)d, i,
                                  (long long)d->keys[i], (long long)right);
            continue;
        }
        int64_t k = d->keys[i];
        if (v->have_last && k <= v->last_key)
            return alex_vfail(v, "leaf %p slot %d: key %lld not above previous key %lld", (const void *)d, i,
                              (long long)k, (long long)v->last_key);
        v->last_key = k;
        v->have_last = 1;
        if (alex__descend(v->ix, k, NULL) != d)
            return alex_vfail(v, "leaf %p slot %d: key %lld routes to another leaf", (const void *)d, i,
                              (long long)k);
    }
    v->keys += (uint64_t)d->num_keys;
    v->data_nodes++;
    v->bytes += alex__dn_bytes(d->cap);
    v->prev_leaf = d;
    return ALEX_OK;
}

static int alex_vnode(alex_vstate *v, const alex_node *n, unsigned depth)
{
    if (depth >= ALEX_MAX_DEPTH)
        return alex_vfail(v, "depth %u exceeds %d", depth, ALEX_MAX_DEPTH);
    if (n->is_leaf)
        return alex_vleaf(v, (const alex_data_node *)n, depth);
    const alex_model_node *m = (const alex_model_node *)n;
    uint32_t nc = m->num_children;
    if (nc == 0 || (nc & (nc - 1)) != 0)
        return alex_vfail(v, "model node %p: %u children, not a power of two", (const void *)m, nc);
    if (!isfinite(m->a) || !isfinite(m->b) || m->a < 0.0)
        return alex_vfail(v, "model node %p: bad model a=%g b=%g", (const void *)m, m->a, m->b);
    v->model_nodes++;
    v->bytes += sizeof(*m) + (uint64_t)nc * sizeof(alex_node *);
    for (uint32_t i = 0; i < nc;) {
        const alex_node *c = m->children[i];
        if (c == NULL)
            return alex_vfail(v, "model node %p: null child at slot %u", (const void *)m, i);
        uint32_t run = 1u << c->dup;
        if (c->dup > 31 || i % run != 0 || i + run > nc)
            return alex_vfail(v, "model node %p: child at slot %u has misaligned run of %u", (const void *)m, i, run);
        for (uint32_t j = i; j < i + run; j++)
            if (m->children[j] != c)
                return alex_vfail(v, "model node %p: run of slot %u broken at %u", (const void *)m, i, j);
        int rc = alex_vnode(v, c, depth + 1);
        if (rc != ALEX_OK)
            return rc;
        i += run;
    }
    return ALEX_OK;
}

int alex_validate(const alex_index *ix, char *err, size_t errlen)
{
    alex_vstate v = { ix, err, errlen, NULL, 0, 0, 0, 0, 0, sizeof(*ix) };
    if (err && errlen)
        err[0] = '\0';
    if (ix->root == NULL)
        return alex_vfail(&v, "no root");
    if (ix->root->dup != 0)
        return alex_vfail(&v, "root has dup %u", ix->root->dup);
    int rc = alex_vnode(&v, ix->root, 0);
    if (rc != ALEX_OK)
        return rc;
    if (v.prev_leaf != NULL && v.prev_leaf->next != NULL)
        return alex_vfail(&v, "last leaf has a next link");
    if (v.keys != ix->num_keys)
        return alex_vfail(&v, "leaves hold %llu keys, index counts %llu", (unsigned long long)v.keys,
                          (unsigned long long)ix->num_keys);
    if (v.model_nodes != ix->num_model_nodes || v.data_nodes != ix->num_data_nodes)
        return alex_vfail(&v, "node counts: walked %llu model / %llu data, counted %llu / %llu",
                          (unsigned long long)v.model_nodes, (unsigned long long)v.data_nodes,
                          (unsigned long long)ix->num_model_nodes, (unsigned long long)ix->num_data_nodes);
    if (v.bytes != ix->bytes)
        return alex_vfail(&v, "bytes: walked %llu, counted %llu", (unsigned long long)v.bytes,
                          (unsigned long long)ix->bytes);
    return ALEX_OK;
}

static void alex_stats_walk(const alex_node *n, unsigned depth, alex_stats *st, double *wdepth)
{
    if (depth > st->max_depth)
        st->max_depth = depth;
    if (n->is_leaf) {
        *wdepth += (double)depth * (double)((const alex_data_node *)n)->num_keys;
        return;
    }
    const alex_model_node *m = (const alex_model_node *)n;
    for (uint32_t i = 0; i < m->num_children; i += 1u << m->children[i]->dup)
        alex_stats_walk(m->children[i], depth + 1, st, wdepth);
}

void alex_get_stats(const alex_index *ix, alex_stats *st)
{
    *st = (alex_stats){ 0 };
    st->num_keys = ix->num_keys;
    st->num_model_nodes = ix->num_model_nodes;
    st->num_data_nodes = ix->num_data_nodes;
    double wd = 0.0;
    alex_stats_walk(ix->root, 0, st, &wd);
    st->avg_depth = ix->num_keys ? wd / (double)ix->num_keys : 0.0;
    st->index_bytes = ix->bytes;
    st->bytes_per_key = ix->num_keys ? (double)ix->bytes / (double)ix->num_keys : 0.0;
    alex_index *mix = (alex_index *)ix;
    for (int i = 0; i < ALEX_STRIPES; i++) {
        st->num_lookups += atomic_load_explicit(&mix->stripe[i].lookups, memory_order_relaxed);
        st->num_search_steps += atomic_load_explicit(&mix->stripe[i].steps, memory_order_relaxed);
    }
    pthread_mutex_lock(&mix->readers_mu);
    st->num_lookups += ix->closed_lookups;
    st->num_search_steps += ix->closed_steps;
    for (const struct alex_reader *r = ix->readers; r != NULL; r = r->next) {
        st->num_lookups += atomic_load_explicit(&r->lookups, memory_order_relaxed);
        st->num_search_steps += atomic_load_explicit(&r->steps, memory_order_relaxed);
    }
    pthread_mutex_unlock(&mix->readers_mu);
    st->num_smo = ix->num_smo;
    st->num_smo_waits = ix->num_smo_waits;
    st->num_inserts = ix->num_inserts;
    st->num_shifts = ix->num_shifts;
    st->num_insert_steps = ix->num_insert_steps;
    st->num_expansions = ix->num_expansions;
    st->num_splits_sideways = ix->num_splits_sideways;
    st->num_splits_down = ix->num_splits_down;
    st->num_contractions = ix->num_contractions;
    st->num_root_expansions = ix->num_root_expansions;
    st->heap_bytes = ix->arena.bumped;
    st->heap_free_bytes = ix->arena.free_bytes;
}
