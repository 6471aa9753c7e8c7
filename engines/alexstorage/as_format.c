/* as_format.c - encode and verify segment headers and records (pure functions, no I/O). */
#include "as_internal.h"

#include <stdio.h>
#include <string.h>
#include <xxhash.h>

void as_seg_header_encode(as_seg_header *h, uint64_t seg_id, uint64_t first_seq, uint64_t oldest_seg)
{
    memset(h, 0, sizeof(*h));
    h->magic = AS_SEG_MAGIC;
    h->version = AS_FORMAT_VERSION;
    h->header_bytes = AS_SEG_HEADER_BYTES;
    h->segment_id = seg_id;
    h->first_seq = first_seq;
    h->oldest_seg = oldest_seg;
    h->checksum = XXH3_64bits(h, offsetof(as_seg_header, checksum));
}

int as_seg_header_check(const as_seg_header *h, uint64_t expect_id, char *why, size_t whylen)
{
    if (h->magic != AS_SEG_MAGIC) {
        snprintf(why, whylen, "bad magic 0x%016llx (want 0x%016llx): not an AlexStorage segment",
                 (unsigned long long)h->magic, (unsigned long long)AS_SEG_MAGIC);
        return AS_ECORRUPT;
    }
    if (h->checksum != XXH3_64bits(h, offsetof(as_seg_header, checksum))) {
        snprintf(why, whylen, "segment header checksum mismatch");
        return AS_ECORRUPT;
    }
    if (h->version != AS_FORMAT_VERSION) {
        snprintf(why, whylen, "format version %u, this build reads version %u", h->version,
                 AS_FORMAT_VERSION);
        return AS_ECORRUPT;
    }
    if (h->header_bytes != AS_SEG_HEADER_BYTES) {
        snprintf(why, whylen, "header size %u (want %u)", h->header_bytes, AS_SEG_HEADER_BYTES);
        return AS_ECORRUPT;
    }
    if (h->segment_id != expect_id) {
        snprintf(why, whylen, "header says segment %llu but the file name says %llu",
                 (unsigned long long)h->segment_id, (unsigned long long)expect_id);
        return AS_ECORRUPT;
    }
    if (h->oldest_seg < 1 || h->oldest_seg > h->segment_id) {
        snprintf(why, whylen, "oldest segment %llu is not in 1..%llu", (unsigned long long)h->oldest_seg,
                 (unsigned long long)h->segment_id);
        return AS_ECORRUPT;
    }
    return AS_OK;
}

size_t as_rec_encode(void *dst, int64_t key, uint64_t seq, unsigned flags, const void *val, uint32_t len)
{
    as_rec_header *h = dst;
    size_t total = as_rec_bytes(len);
    h->value_len = len;
    h->flags = (uint16_t)flags;
    h->reserved = 0;
    h->key = key;
    h->seq = seq;
    if (len)
        memcpy((unsigned char *)dst + AS_REC_HEADER_BYTES, val, len);
    memset((unsigned char *)dst + AS_REC_HEADER_BYTES + len, 0, total - AS_REC_HEADER_BYTES - len);
    h->checksum = XXH3_64bits((const unsigned char *)dst + 8, AS_REC_HEADER_BYTES - 8 + (size_t)len);
    return total;
}

enum as_rec_verdict as_rec_check(const void *p, uint64_t avail, int verify_sum)
{
    const as_rec_header *h = p;
    if (avail < AS_REC_HEADER_BYTES)
        return AS_REC_SHORT;
    if ((h->flags != AS_REC_PUT && h->flags != AS_REC_TOMBSTONE && h->flags != AS_REC_SEGDROP &&
         h->flags != AS_REC_BATCH) ||
        h->reserved != 0 || h->value_len > AS_MAX_VALUE_BYTES || (h->flags != AS_REC_PUT && h->value_len != 0))
        return AS_REC_BADHDR;
    if (as_rec_bytes(h->value_len) > avail)
        return AS_REC_SHORT;
    if (verify_sum &&
        h->checksum != XXH3_64bits((const unsigned char *)p + 8, AS_REC_HEADER_BYTES - 8 + (size_t)h->value_len))
        return AS_REC_BADSUM;
    return AS_REC_OK;
}

const char *as_rec_verdict_name(enum as_rec_verdict v)
{
    switch (v) {
    case AS_REC_OK: return "ok";
    case AS_REC_SHORT: return "record runs past the end of the file (torn)";
    case AS_REC_BADHDR: return "impossible record header (flags/length)";
    case AS_REC_BADSUM: return "record checksum mismatch";
    }
    return "?";
}
