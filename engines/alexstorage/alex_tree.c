/* alex_tree.c - the tree's shared plumbing, below every structural change: model-node allocation,
 * descending to a leaf (with the path), first/last leaf, pointer runs in a model node, empty
 * leaves, and copying a leaf's keys out. Uses only the data node and the arena. */
#include <stdlib.h>

#include "alex_internal.h"

alex_model_node *alex__mn_new(alex_index *ix, uint32_t nchildren)
{
    alex_model_node *m = calloc(1, sizeof(*m));
    alex_node **c = calloc(nchildren, sizeof(*c));
    if (m == NULL || c == NULL) {
        free(m);
        free(c);
        return NULL;
    }
    m->children = c;
    m->num_children = nchildren;
    ix->bytes += sizeof(*m) + (uint64_t)nchildren * sizeof(*c);
    ix->num_model_nodes++;
    return m;
}

void alex__mn_free(alex_index *ix, alex_model_node *m)
{
    ix->bytes -= sizeof(*m) + (uint64_t)m->num_children * sizeof(alex_node *);
    ix->num_model_nodes--;
    free(m->children);
    free(m);
}

void alex__free_tree(alex_index *ix, alex_node *n)
{
    if (n == NULL)
        return;
    if (n->is_leaf) {
        alex__dn_free(ix, (alex_data_node *)n);
        return;
    }
    alex_model_node *m = (alex_model_node *)n;
    for (uint32_t i = 0; i < m->num_children;) {
        alex_node *c = m->children[i];
        if (c == NULL) {
            i++;
            continue;
        }
        i += 1u << c->dup;
        alex__free_tree(ix, c);
    }
    alex__mn_free(ix, m);
}

alex_data_node *alex__descend(const alex_index *ix, int64_t key, alex_path *path)
{
    alex_node *n = ix->root;
    int d = 0;
    while (!n->is_leaf) {
        alex_model_node *m = (alex_model_node *)n;
        int s = alex__mroute(m, key);
        if (path != NULL && d < ALEX_MAX_DEPTH) {
            path->node[d] = m;
            path->slot[d] = s;
        }
        d++;
        n = m->children[s];
    }
    if (path != NULL)
        path->depth = d;
    return (alex_data_node *)n;
}

alex_data_node *alex__first_leaf(const alex_index *ix)
{
    alex_node *n = ix->root;
    while (!n->is_leaf)
        n = ((alex_model_node *)n)->children[0];
    return (alex_data_node *)n;
}

alex_data_node *alex__last_leaf(const alex_index *ix)
{
    alex_node *n = ix->root;
    while (!n->is_leaf) {
        alex_model_node *m = (alex_model_node *)n;
        n = m->children[m->num_children - 1];
    }
    return (alex_data_node *)n;
}

void alex__set_run(alex_model_node *m, uint32_t start, unsigned log, alex_node *c)
{
    c->dup = (uint8_t)log;
    for (uint32_t s = start; s < start + (1u << log); s++)
        m->children[s] = c;
}

alex_data_node *alex__empty_leaf(alex_index *ix)
{
    return alex__dn_build(ix, NULL, NULL, 0, ALEX_MIN_CAP, &(alex_lm){ 0.0, 0.0, 0 });
}

int alex__collect(const alex_data_node *d, alex_buf *b)
{
    size_t n = (size_t)d->num_keys;
    b->keys = malloc((n ? n : 1) * sizeof(int64_t));
    b->pays = malloc((n ? n : 1) * sizeof(uint64_t));
    if (b->keys == NULL || b->pays == NULL) {
        free(b->keys);
        free(b->pays);
        return ALEX_ENOMEM;
    }
    b->n = alex__dn_collect(d, b->keys, b->pays);
    return ALEX_OK;
}

void alex__buf_free(alex_buf *b)
{
    free(b->keys);
    free(b->pays);
}

uint32_t alex__run_start(const alex_model_node *m, const alex_node *c)
{
    uint32_t s = 0;
    while (m->children[s] != c)
        s += 1u << m->children[s]->dup;
    return s;
}
