/* alex_sync.c - readers beside the writer: reader registration, read sections, and the structural
 * sections that exclude them. Below every other ALEX file (it calls none of them).
 *
 * Scheme. A reader brackets each lookup or scan batch with a read section: it sets its own `active`
 * word (seq_cst), then checks ix->smo_seq; odd means a structural change runs, so it clears `active`
 * and waits for smo_seq to turn even. The writer, before a structural change (split, expansion,
 * resize, merge, root growth, repair, bulk load, heap compaction: anything that changes model nodes,
 * the root, a leaf's header or chain links, or frees memory), makes smo_seq odd (seq_cst) and then
 * waits until every registered reader's `active` is 0. The two seq_cst orders make the handshake a
 * Dekker pair: either the reader sees the odd smo_seq, or the writer sees its `active` and waits. So
 * no read section overlaps a structural change, and nothing a reader may hold is ever freed or moved
 * under it: no deferred freeing is needed. The writer keeps smo_seq odd to the end of the public
 * operation (alex__smo_end), so a multi-step change (a domain growth and its repair) is seen whole.
 *
 * Everything else the writer does is an in-place insert, erase or payload overwrite in one leaf. Those
 * take the leaf's seqlock (alex_data_node.ver, odd while it runs) and store the words they change with
 * relaxed atomics; a reader loads those words relaxed and retries the leaf when the version moved. A
 * payload overwrite is one atomic store and needs no version: a reader sees the old or the new value.
 *
 * Costs. A read section is one seq_cst store (xchg) and a load of smo_seq, on lines no other thread
 * writes in the common case; the writer's common case (an in-place change) touches no reader's line.
 * A structural change costs one pass over the readers, and waits only for the lookups in flight. */
#include <stdlib.h>

#include "alex_internal.h"

void alex__sync_init(alex_index *ix)
{
    pthread_mutex_init(&ix->readers_mu, NULL);
}

void alex__sync_destroy(alex_index *ix)
{
    pthread_mutex_destroy(&ix->readers_mu);
}

void alex__read_wait(const alex_index *ix)
{
    unsigned spins = 0;
    while (atomic_load_explicit(&ix->smo_seq, memory_order_acquire) & 1)
        alex__pause(&spins);
}

void alex__smo_begin(alex_index *ix)
{
    if (ix->smo_active)
        return;
    ix->smo_active = 1;
    ix->num_smo++;
    atomic_store_explicit(&ix->smo_seq, atomic_load_explicit(&ix->smo_seq, memory_order_relaxed) + 1,
                          memory_order_seq_cst);
    int waited = 0;
    pthread_mutex_lock(&ix->readers_mu);
    for (struct alex_reader *r = ix->readers; r != NULL; r = r->next) {
        unsigned spins = 0;
        while (atomic_load_explicit(&r->active, memory_order_seq_cst)) {
            waited = 1;
            alex__pause(&spins);
        }
    }
    pthread_mutex_unlock(&ix->readers_mu);
    ix->num_smo_waits += (uint64_t)waited;
}

void alex__smo_end(alex_index *ix)
{
    if (!ix->smo_active || ix->smo_hold)
        return;
    ix->smo_active = 0;
    atomic_store_explicit(&ix->smo_seq, atomic_load_explicit(&ix->smo_seq, memory_order_relaxed) + 1,
                          memory_order_release);
}

void alex_exclude_readers(alex_index *ix)
{
    alex__smo_begin(ix);
    ix->smo_hold = 1;
}

void alex_admit_readers(alex_index *ix)
{
    ix->smo_hold = 0;
    alex__smo_end(ix);
}

int alex_reader_open(alex_index *ix, alex_reader **out)
{
    alex_reader *r = aligned_alloc(64, sizeof(*r));
    *out = NULL;
    if (r == NULL)
        return ALEX_ENOMEM;
    atomic_init(&r->active, 0);
    atomic_init(&r->lookups, 0);
    atomic_init(&r->steps, 0);
    r->tick = 0;
    r->ix = ix;
    pthread_mutex_lock(&ix->readers_mu);
    r->next = ix->readers;
    ix->readers = r;
    pthread_mutex_unlock(&ix->readers_mu);
    *out = r;
    return ALEX_OK;
}

void alex_reader_close(alex_reader *r)
{
    if (r == NULL)
        return;
    alex_index *ix = r->ix;
    pthread_mutex_lock(&ix->readers_mu);
    for (alex_reader **p = &ix->readers; *p != NULL; p = &(*p)->next)
        if (*p == r) {
            *p = r->next;
            break;
        }
    ix->closed_lookups += atomic_load_explicit(&r->lookups, memory_order_relaxed);
    ix->closed_steps += atomic_load_explicit(&r->steps, memory_order_relaxed);
    pthread_mutex_unlock(&ix->readers_mu);
    free(r);
}
