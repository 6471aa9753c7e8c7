/* alex_data_node.c - the ALEX leaf: a gapped array with model-based placement, exponential search,
 * insertion with minimal shifting toward the nearest gap, erase with back-fill, and resize. */
#include <math.h>
#include <stdlib.h>

#include "alex_internal.h"

size_t alex__dn_bytes(int cap)
{
    return sizeof(alex_data_node) + (size_t)cap * 16u + (size_t)((cap + 63) / 64) * 8u;
}

static void alex_dn_free1(alex_index *ix, void *p, size_t bytes)
{
    if (p != NULL && !alex__arena_release(ix, p, bytes))
        free(p);
}

static void alex_dn_free_arrays(alex_index *ix, alex_data_node *d)
{
    size_t words = (size_t)(d->cap + 63) / 64;
    alex_dn_free1(ix, d->keys, (size_t)d->cap * sizeof(int64_t));
    alex_dn_free1(ix, d->payloads, (size_t)d->cap * sizeof(uint64_t));
    alex_dn_free1(ix, d->bitmap, words * sizeof(uint64_t));
    d->keys = NULL;
    d->payloads = NULL;
    d->bitmap = NULL;
}

/* Allocate arrays of `cap` slots, place the sorted keys model-based (alex__place) and fill the
 * gaps, in one pass. 0 or ALEX_ENOMEM. */
static int alex_dn_fill(alex_index *ix, alex_data_node *d, const int64_t *keys, const uint64_t *pays, size_t n,
                        int cap, const alex_lm *m)
{
    /* the huge-page heap (alex_arena.c) once the index is big enough, else malloc */
    size_t words = (size_t)(cap + 63) / 64;
    int64_t *k = alex__arena_alloc(ix, (size_t)cap * sizeof(int64_t), 0);
    uint64_t *p = alex__arena_alloc(ix, (size_t)cap * sizeof(uint64_t), 0);
    uint64_t *bm = alex__arena_alloc(ix, words * sizeof(uint64_t), 1);
    if (k == NULL)
        k = malloc((size_t)cap * sizeof(int64_t));
    if (p == NULL)
        p = malloc((size_t)cap * sizeof(uint64_t));
    if (bm == NULL)
        bm = calloc(words, sizeof(uint64_t));
    if (k == NULL || p == NULL || bm == NULL) {
        alex_dn_free1(ix, k, (size_t)cap * sizeof(int64_t));
        alex_dn_free1(ix, p, (size_t)cap * sizeof(uint64_t));
        alex_dn_free1(ix, bm, words * sizeof(uint64_t));
        return ALEX_ENOMEM;
    }
    d->keys = k;
    d->payloads = p;
    d->bitmap = bm;
    d->cap = cap;
    d->a = m->a;
    d->b = m->b;
    d->base = m->base;
    long last = -1, run = 0;
    double search = 0.0, shifts = 0.0;
    alex_placer pl;
    alex__placer_init(&pl, n, cap);
    for (size_t i = 0; i < n; i++) {
        long pred = alex__route(m->a, m->b, m->base, cap, keys[i]), pos = alex__place(&pl, pred, i);
        /* the expected cost, as alex__expected_cost computes it, in the same pass */
        search += alex__log2_1p((unsigned)(pos > pred ? pos - pred : pred - pos));
        if (pos == last + 1) {
            run++;
        } else {
            shifts += (double)run * (double)run / 4.0;
            run = 1;
        }
        /* the gaps before it copy it; those before the first real key hold INT64_MIN instead, so
         * a prepend never rewrites the leading gaps (and the tail, or all of an empty leaf, holds
         * INT64_MAX, below) */
        int64_t g = last < 0 ? INT64_MIN : keys[i];
        for (long j = last + 1; j < pos; j++) {
            k[j] = g;
            p[j] = 0;
        }
        k[pos] = keys[i];
        p[pos] = pays[i];
        bm[pos >> 6] |= 1ull << (pos & 63);
        last = pos;
    }
    for (long j = last + 1; j < cap; j++) {
        k[j] = INT64_MAX;
        p[j] = 0;
    }
    d->num_keys = (int32_t)n;
    d->min_key = n ? keys[0] : INT64_MAX;
    d->max_key = n ? keys[n - 1] : INT64_MIN;
    d->num_right_ood = d->num_left_ood = 0;
    d->num_inserts = d->num_shifts = d->num_search_iters = 0;
    d->num_lookups = d->num_lookup_iters = 0;
    shifts += (double)run * (double)run / 4.0;
    d->expected_shift = n ? ALEX_W_SHIFT * shifts / (double)n : 0.0;
    d->expected_cost = n ? ALEX_W_SEARCH * search / (double)n + d->expected_shift : 0.0;
    return ALEX_OK;
}

/* A new leaf from sorted keys; model NULL = fit one (alex__fit_leaf). NULL on ENOMEM. */
alex_data_node *alex__dn_build(alex_index *ix, const int64_t *keys, const uint64_t *pays, size_t n,
                               int cap, const alex_lm *model)
{
    alex_data_node *d = calloc(1, sizeof(*d));
    if (d == NULL)
        return NULL;
    d->hdr.is_leaf = 1;
    alex_lm m;
    if (model == NULL)
        alex__fit_leaf(keys, n, cap, &m);
    else
        m = *model;
    if (alex_dn_fill(ix, d, keys, pays, n, cap, &m) != ALEX_OK) {
        free(d);
        return NULL;
    }
    ix->bytes += alex__dn_bytes(cap);
    ix->num_data_nodes++;
    return d;
}

void alex__dn_free(alex_index *ix, alex_data_node *d)
{
    ix->bytes -= alex__dn_bytes(d->cap);
    ix->num_data_nodes--;
    alex_dn_free_arrays(ix, d);
    free(d);
}

int alex__dn_next_set(const alex_data_node *d, int i)
{
    if (i >= d->cap)
        return d->cap;
    int w = i >> 6, nw = (d->cap + 63) >> 6;
    uint64_t word = ALEX_LD(d->bitmap[w]) & (~0ull << (i & 63));
    while (word == 0) {
        if (++w >= nw)
            return d->cap;
        word = ALEX_LD(d->bitmap[w]);
    }
    int r = (w << 6) + __builtin_ctzll(word);
    return r < d->cap ? r : d->cap;
}

int alex__dn_prev_set(const alex_data_node *d, int i)
{
    if (i < 0)
        return -1;
    int w = i >> 6;
    uint64_t word = ALEX_LD(d->bitmap[w]) & (~0ull >> (63 - (i & 63)));
    while (word == 0) {
        if (--w < 0)
            return -1;
        word = ALEX_LD(d->bitmap[w]);
    }
    return (w << 6) + 63 - __builtin_clzll(word);
}

/* First gap >= i, or -1. */
static int alex_dn_next_gap(const alex_data_node *d, int i)
{
    if (i >= d->cap)
        return -1;
    int w = i >> 6, nw = (d->cap + 63) >> 6;
    uint64_t word = ~d->bitmap[w] & (~0ull << (i & 63));
    while (word == 0) {
        if (++w >= nw)
            return -1;
        word = ~d->bitmap[w];
    }
    int r = (w << 6) + __builtin_ctzll(word);
    return r < d->cap ? r : -1;
}

/* Last gap <= i, or -1. */
static int alex_dn_prev_gap(const alex_data_node *d, int i)
{
    if (i < 0)
        return -1;
    int w = i >> 6;
    uint64_t word = ~d->bitmap[w] & (~0ull >> (63 - (i & 63)));
    while (word == 0) {
        if (--w < 0)
            return -1;
        word = ~d->bitmap[w];
    }
    return (w << 6) + 63 - __builtin_clzll(word);
}

/* Slot of key, or -1. The last slot holding a value is a real key except for the INT64_MAX tail
 * sentinel, so INT64_MAX is looked up as the last real key, and a hit still checks the bitmap. */
int alex__dn_find(const alex_data_node *d, int64_t key, uint64_t *iters)
{
    if (key == INT64_MAX) {
        int s = alex__dn_prev_set(d, d->cap - 1);
        return s >= 0 && ALEX_LD(d->keys[s]) == key ? s : -1;
    }
    if (key == INT64_MIN) { /* the leading gaps' sentinel: only the first real slot can hold it */
        int s = alex__dn_next_set(d, 0);
        return s < d->cap && ALEX_LD(d->keys[s]) == key ? s : -1;
    }
    int ub = alex__dn_upper_bound(d, key, iters);
    if (ub > 0 && ALEX_LD(d->keys[ub - 1]) == key && alex__bit(d, ub - 1))
        return ub - 1;
    return -1;
}

/* Writes to a leaf's arrays in place (insert, erase) are relaxed atomic stores inside the leaf's
 * seqlock (alex__dn_wbegin/wend): readers load them beside the writer (alex_sync.c). */
static inline void alex_dn_set(alex_data_node *d, int i)
{
    ALEX_ST(d->bitmap[i >> 6], d->bitmap[i >> 6] | 1ull << (i & 63));
}

/* memmove of n words from src to dst, word by word with atomic stores. */
static void alex_dn_move(uint64_t *dst, const uint64_t *src, int n)
{
    if (dst < src) {
        for (int i = 0; i < n; i++)
            ALEX_ST(dst[i], src[i]);
    } else {
        for (int i = n - 1; i >= 0; i--)
            ALEX_ST(dst[i], src[i]);
    }
}

/* Insert an absent key; the caller guarantees num_keys < cap. ub_hint: the key's upper bound in
 * this node if the caller just searched it (its iterations in hint_iters), else -1. Model-based: into a gap as near the
 * prediction as order allows, else shift toward the nearest gap. Returns the slots shifted. */
int alex__dn_insert(alex_data_node *d, int64_t key, uint64_t payload, int ub_hint, uint64_t hint_iters)
{
    uint64_t it = hint_iters;
    int ub = ub_hint >= 0          ? ub_hint
             : key == INT64_MAX ? alex__dn_prev_set(d, d->cap - 1) + 1
                                : alex__dn_upper_bound(d, key, &it);
    int nr = alex__dn_next_set(d, ub);
    int pos, shifts = 0;
    alex__dn_wbegin(d);
    if (ub == nr && ub > 0 && ub < d->cap && !alex__bit(d, ub - 1)) {
        /* below the first real key, into the leading gaps (they hold INT64_MIN, so ub passed
         * them): next to that key unless the model predicts further left; only the gaps between
         * the new key and the old first key are rewritten, so a run of prepends costs O(1) each */
        double raw = d->a * alex__rel(key, d->base) + d->b;
        pos = raw < 0.0 ? ub - 1 : alex__clamp_pos(raw, ub);
        for (int i = pos + 1; i < ub; i++)
            ALEX_ST(d->keys[i], d->keys[ub]);
    } else if (ub < nr) {
        /* A prediction past either end (append/prepend beyond the model) goes next to the existing
         * keys, so the gaps beyond stay free for the following appends instead of piling up. */
        double raw = d->a * alex__rel(key, d->base) + d->b;
        int pred = alex__clamp_pos(raw, d->cap);
        if (!(raw < (double)d->cap))
            pred = ub;
        else if (raw < 0.0)
            pred = nr - 1;
        pos = pred < ub ? ub : (pred >= nr ? nr - 1 : pred);
        /* ub == 0 here only in an empty leaf: the gaps before its first key are leading gaps */
        int64_t left = ub == 0 ? INT64_MIN : key;
        for (int i = pos - 1; i >= ub; i--)
            ALEX_ST(d->keys[i], left);
    } else {
        int gr = alex_dn_next_gap(d, ub), gl = alex_dn_prev_gap(d, ub - 1);
        if (gr >= 0 && (gl < 0 || gr - ub <= ub - 1 - gl)) {
            alex_dn_move((uint64_t *)d->keys + ub + 1, (uint64_t *)d->keys + ub, gr - ub);
            alex_dn_move(d->payloads + ub + 1, d->payloads + ub, gr - ub);
            alex_dn_set(d, gr);
            pos = ub;
            shifts = gr - ub;
        } else {
            alex_dn_move((uint64_t *)d->keys + gl, (uint64_t *)d->keys + gl + 1, ub - 1 - gl);
            alex_dn_move(d->payloads + gl, d->payloads + gl + 1, ub - 1 - gl);
            alex_dn_set(d, gl);
            pos = ub - 1;
            shifts = ub - 1 - gl;
        }
    }
    ALEX_ST(d->keys[pos], key);
    ALEX_ST(d->payloads[pos], payload);
    alex_dn_set(d, pos);
    alex__dn_wend(d);
    d->num_keys++;
    if (key > d->max_key) {
        d->max_key = key;
        d->num_right_ood++;
    }
    if (key < d->min_key) {
        d->min_key = key;
        d->num_left_ood++;
    }
    d->num_inserts++;
    d->num_shifts += (uint64_t)shifts;
    d->num_search_iters += it;
    return shifts;
}

/* Remove the real key at slot: it and the gaps to its left take the right neighbour's value (INT64_MIN
 * when it was the first key). */
void alex__dn_erase_slot(alex_data_node *d, int slot)
{
    int64_t v = slot + 1 < d->cap ? d->keys[slot + 1] : INT64_MAX;
    int nr = alex__dn_next_set(d, slot + 1);
    alex__dn_wbegin(d);
    if (nr < d->cap && alex__dn_prev_set(d, slot - 1) < 0) {
        /* the first key goes: it and the gaps up to the new first key become leading gaps */
        v = INT64_MIN;
        for (int i = slot + 1; i < nr; i++)
            ALEX_ST(d->keys[i], v);
    }
    ALEX_ST(d->bitmap[slot >> 6], d->bitmap[slot >> 6] & ~(1ull << (slot & 63)));
    ALEX_ST(d->keys[slot], v);
    ALEX_ST(d->payloads[slot], 0);
    /* gaps in a row hold one value: stop at the first that already holds v (leading gaps) */
    for (int i = slot - 1; i >= 0 && !alex__bit(d, i) && d->keys[i] != v; i--)
        ALEX_ST(d->keys[i], v);
    alex__dn_wend(d);
    d->num_keys--;
}

size_t alex__dn_collect(const alex_data_node *d, int64_t *keys, uint64_t *pays)
{
    size_t n = 0;
    int nw = (d->cap + 63) >> 6;
    for (int w = 0; w < nw; w++) {
        for (uint64_t word = d->bitmap[w]; word != 0; word &= word - 1) {
            int i = (w << 6) + __builtin_ctzll(word);
            keys[n] = d->keys[i];
            pays[n] = d->payloads[i];
            n++;
        }
    }
    return n;
}

/* Per operation, as the ALEX reference prices a leaf: search steps over inserts and (sampled)
 * lookups, shifts over inserts weighted by the inserts' share of the operations. A read-heavy
 * leaf whose model drifted is costly by its lookups' steps alone. The matching expected cost
 * (alex__dn_expected_cost) weights its shift part by the same share. */
double alex__dn_empirical_cost(const alex_data_node *d)
{
    double lk = (double)__atomic_load_n(&d->num_lookups, __ATOMIC_RELAXED) * ALEX_LOOKUP_SAMPLE;
    double lk_it = (double)__atomic_load_n(&d->num_lookup_iters, __ATOMIC_RELAXED) * ALEX_LOOKUP_SAMPLE;
    double ops = (double)d->num_inserts + lk;
    if (!(ops > 0.0))
        return 0.0;
    return ALEX_W_SEARCH * ((double)d->num_search_iters + lk_it) / ops + ALEX_W_SHIFT * (double)d->num_shifts / ops;
}

double alex__dn_expected_cost(const alex_data_node *d)
{
    double lk = (double)__atomic_load_n(&d->num_lookups, __ATOMIC_RELAXED) * ALEX_LOOKUP_SAMPLE;
    double ins = (double)d->num_inserts;
    double frac = ins + lk > 0.0 ? ins / (ins + lk) : 1.0;
    return d->expected_cost - d->expected_shift * (1.0 - frac);
}

/* Rebuild the leaf in place at `density` (capped by max_data_node_slots). An append-mostly leaf
 * keeps its model so old keys keep their slots and the new room is on the right (mirrored for
 * prepends); otherwise the model is refitted (retrain, or few keys) or scaled to the new size. */
int alex__dn_resize(alex_index *ix, alex_data_node *d, double density, int mode)
{
    alex__smo_begin(ix); /* the leaf's header and arrays change in place */
    size_t n = (size_t)d->num_keys;
    int cap = alex__cap_for(n, density, ix->p.max_data_node_slots);
    int64_t *keys = malloc((n ? n : 1) * sizeof(int64_t));
    uint64_t *pays = malloc((n ? n : 1) * sizeof(uint64_t));
    if (keys == NULL || pays == NULL) {
        free(keys);
        free(pays);
        return ALEX_ENOMEM;
    }
    alex__dn_collect(d, keys, pays);
    alex_lm m = { d->a, d->b, d->base };
    uint64_t ins = d->num_inserts;
    int grow = cap > d->cap;
    int side = 0;
    if (mode == ALEX_RESIZE_KEEP_LEFT || (grow && ins >= 16 && (uint64_t)d->num_right_ood * 10 > ins * 9))
        side = 1;
    else if (mode == ALEX_RESIZE_KEEP_RIGHT || (grow && ins >= 16 && (uint64_t)d->num_left_ood * 10 > ins * 9))
        side = -1;
    if (n >= 2 && side != 0) {
        /* edge growth: refit so the keys fill [0, used) at the initial density; the free room,
         * a third more, goes to the growing side. Appends and prepends cost O(1) each (the
         * leading gaps hold INT64_MIN, so a prepend does not rewrite them), and the O(n) resize
         * comes after n/3 of them: amortized O(1) per key. */
        int used = alex__cap_for(n, ix->p.density_init, ix->p.max_data_node_slots);
        size_t want = (size_t)used + (size_t)used / 3 + 2;
        if ((size_t)cap < want)
            cap = (int)(want < ix->p.max_data_node_slots ? want : ix->p.max_data_node_slots);
        if (used > cap - 1)
            used = cap - 1;
        m.base = keys[0];
        alex__fit(keys, n, m.base, (double)used / (double)n, &m.a, &m.b);
        if (side < 0)
            m.b += (double)(cap - used);
    } else if (mode == ALEX_RESIZE_RETRAIN || n < 50 || !(d->a > 0.0)) {
        alex__fit_leaf(keys, n, cap, &m);
    } else {
        double s = (double)cap / (double)d->cap;
        m.a *= s;
        m.b *= s;
    }
    alex_data_node tmp = *d;
    if (alex_dn_fill(ix, &tmp, keys, pays, n, cap, &m) != ALEX_OK) {
        free(keys);
        free(pays);
        return ALEX_ENOMEM;
    }
    free(keys);
    free(pays);
    ix->bytes -= alex__dn_bytes(d->cap);
    ix->bytes += alex__dn_bytes(cap);
    alex_dn_free_arrays(ix, d);
    *d = tmp;
    return ALEX_OK;
}
