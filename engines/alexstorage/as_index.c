/* as_index.c - choosing the store's index: kind names, and create/destroy through the ops table. */
#include "as_index.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const as_index_names[] = {
    [AS_INDEX_ALEX] = "alex",
    [AS_INDEX_BTREE] = "btree",
    [AS_INDEX_SORTED] = "sorted",
};
#define AS_INDEX_NKINDS (sizeof(as_index_names) / sizeof(as_index_names[0]))

const char *as_index_kind_name(int kind)
{
    return kind >= 0 && (size_t)kind < AS_INDEX_NKINDS ? as_index_names[kind] : NULL;
}

int as_index_kind_parse(const char *name, int *kind)
{
    for (size_t i = 0; name && i < AS_INDEX_NKINDS; i++)
        if (strcmp(name, as_index_names[i]) == 0) {
            *kind = (int)i;
            return AS_OK;
        }
    return AS_EINVAL;
}

const as_index_ops *as_index_ops_for(int kind)
{
    switch (kind) {
    case AS_INDEX_ALEX: return &as_index_alex_ops;
    case AS_INDEX_BTREE: return &as_index_btree_ops;
    case AS_INDEX_SORTED: return &as_index_sorted_ops;
    default: return NULL;
    }
}

int as_index_create(as_index **out, const as_options *opt, char *err, size_t errlen)
{
    *out = NULL;
    const as_index_ops *ops = as_index_ops_for(opt->index);
    if (!ops) {
        snprintf(err, errlen, "index kind %d is not one of alex (0), btree (1), sorted (2)", opt->index);
        return AS_EINVAL;
    }
    as_index *ix = calloc(1, sizeof(*ix));
    if (!ix) {
        snprintf(err, errlen, "out of memory creating the %s index", ops->name);
        return AS_ENOMEM;
    }
    ix->ops = ops;
    int rc = ops->create(&ix->impl, opt);
    if (rc != AS_IX_OK) {
        free(ix);
        snprintf(err, errlen, "cannot create the %s index: %s", ops->name,
                 rc == AS_IX_ENOMEM ? "out of memory" : "invalid index options (see as_options)");
        return rc == AS_IX_ENOMEM ? AS_ENOMEM : AS_EINVAL;
    }
    *out = ix;
    return AS_OK;
}

void as_index_destroy(as_index *ix)
{
    if (!ix)
        return;
    ix->ops->destroy(ix->impl);
    free(ix);
}

void as_ix_cursor_init(as_ix_cursor *c, const as_index *ix)
{
    c->ix = ix;
    c->n = c->i = 0;
    c->from = INT64_MIN;
    c->done = 0;
}

int as_ix_cursor_next(as_ix_cursor *c, as_ix_pair *p)
{
    if (c->i == c->n) {
        if (c->done)
            return 0;
        c->n = as_index_scan(c->ix, c->from, c->buf, AS_IX_CURSOR_BATCH);
        c->i = 0;
        if (c->n < AS_IX_CURSOR_BATCH || c->buf[c->n - 1].key == INT64_MAX)
            c->done = 1;
        else
            c->from = c->buf[c->n - 1].key + 1;
        if (c->n == 0)
            return 0;
    }
    *p = c->buf[c->i++];
    return 1;
}
