/* store_marker.h - which engine owns a data directory: a one-line marker file written at the first open,
 * so an engine never opens (and misreads or overwrites) a store another engine left behind. */
#ifndef KV_STORE_MARKER_H
#define KV_STORE_MARKER_H

#include <stddef.h>

#define KV_STORE_MARKER ".kvbench-engine"

/* Claim `dir` for engine `name`: KV_OK when the marker names it, or when the directory is empty (the
 * marker is then written and fsync'd, and *created set). KV_EINVAL with a message naming the other
 * engine when another one owns it, or when the directory holds files but no marker; KV_EIO when the
 * directory cannot be read or the marker cannot be written. */
int kv_store_marker_claim(const char *dir, const char *name, int *created, char *err, size_t errlen);

/* Undo a claim whose open failed: remove the marker if it is the only entry left in `dir`. */
void kv_store_marker_unclaim(const char *dir);

#endif
