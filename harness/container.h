/* container.h - is this run inside a container, and which Debian packages does its image hold. */
#ifndef KVB_CONTAINER_H
#define KVB_CONTAINER_H

#include <jansson.h>

/* NULL when the process is not in a container (neither /run/.containerenv nor /.dockerenv exists).
 * Otherwise {"runtime": "podman"|"docker", "packages": {"name": "version", ...}} with the image's
 * installed packages from dpkg-query, so "the same image" can be checked later; "packages" is null
 * (and "packages_error" says why) when dpkg-query cannot be run. */
json_t *kvb_container_json(void);

#endif
