/* container.h - is this run inside a container, and which Debian packages does its image hold. */
#ifndef KVB_CONTAINER_H
#define KVB_CONTAINER_H

#include <jansson.h>

/* NULL when the process is not in a container (neither /run/.containerenv nor /.dockerenv exists),
 * else {"runtime": "podman"|"docker"}. Cheap: every result's manifest carries it. */
json_t *kvb_container_json(void);

/* Add the image's installed packages to a container object from kvb_container_json, as "packages":
 * {"name": "version", ...} from dpkg-query, so "the same image" can be checked later; "packages" is
 * null and "packages_error" says why when dpkg-query cannot be run. Only the run's manifest.json gets
 * this (it takes a dpkg-query and ~1,000 entries). No-op when container is NULL. */
void kvb_container_add_packages(json_t *container);

#endif
