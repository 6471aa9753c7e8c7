/* as_batch.c - a write batch being built: puts and deletes kept in memory until as_batch_commit (as_write.c). */
#include "as_internal.h"

#include <stdlib.h>
#include <string.h>

int as_batch_create(as_batch **out)
{
    *out = calloc(1, sizeof(**out));
    return *out ? AS_OK : AS_ENOMEM;
}

void as_batch_free(as_batch *b)
{
    if (!b)
        return;
    free(b->items);
    free(b->vals);
    free(b);
}

void as_batch_clear(as_batch *b)
{
    b->n = 0;
    b->vals_len = 0;
    b->bytes = 0;
}

size_t as_batch_count(const as_batch *b) { return b->n; }

/* Room for one more item and `len` more value bytes; AS_OK or AS_ENOMEM (the batch is unchanged). */
static int as_batch_grow(as_batch *b, size_t len)
{
    if (b->n == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 64;
        as_batch_item *p = realloc(b->items, cap * sizeof(*p));
        if (!p)
            return AS_ENOMEM;
        b->items = p;
        b->cap = cap;
    }
    if (b->vals_len + len > b->vals_cap) {
        size_t cap = b->vals_cap ? b->vals_cap : 4096;
        while (cap < b->vals_len + len)
            cap *= 2;
        unsigned char *p = realloc(b->vals, cap);
        if (!p)
            return AS_ENOMEM;
        b->vals = p;
        b->vals_cap = cap;
    }
    return AS_OK;
}

static int as_batch_add(as_batch *b, int64_t key, unsigned flags, const void *val, size_t len)
{
    if (len > AS_MAX_VALUE_BYTES || (len && !val))
        return AS_EINVAL;
    if (as_batch_grow(b, len) != AS_OK)
        return AS_ENOMEM;
    b->items[b->n++] = (as_batch_item){key, b->vals_len, (uint32_t)len, flags};
    if (len)
        memcpy(b->vals + b->vals_len, val, len);
    b->vals_len += len;
    b->bytes += as_rec_bytes(len);
    return AS_OK;
}

int as_batch_put(as_batch *b, int64_t key, const void *val, size_t len)
{
    return as_batch_add(b, key, AS_REC_PUT, val, len);
}

int as_batch_del(as_batch *b, int64_t key) { return as_batch_add(b, key, AS_REC_TOMBSTONE, NULL, 0); }

int as_batch_lookup(const as_batch *b, int64_t key, int *deleted, const void **val, size_t *len)
{
    for (size_t i = b->n; i-- > 0;) {
        const as_batch_item *it = &b->items[i];
        if (it->key != key)
            continue;
        *deleted = it->flags == AS_REC_TOMBSTONE;
        *val = b->vals + it->val_off;
        *len = it->len;
        return AS_OK;
    }
    return AS_NOTFOUND;
}
