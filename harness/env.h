/* env.h - the machine / build / run manifest recorded with every result. */
#ifndef KVB_ENV_H
#define KVB_ENV_H

#include <jansson.h>

/* Build the manifest object: tool, build, machine, kernel, THP, clock source, timer, data dir and its
 * filesystem, start time (now), hostname and command. data_dir and command may be NULL. Fields the
 * machine cannot tell are "unknown"; returns NULL only when out of memory. kvb_timer_init() first. */
json_t *kvb_env_manifest(const char *data_dir, const char *command);
/* Name of the filesystem holding path ("ext4", "tmpfs", ...; "unknown (0x...)" otherwise). */
const char *kvb_env_fs_name(const char *path, char *buf, size_t buflen);
/* 1 when path is on tmpfs, ramfs or an overlay (fsync reaches no disk of its own); name gets the
 * filesystem's name either way. */
int kvb_env_fs_volatile(const char *path, char *name, size_t namelen);
/* The 1, 5 and 15 minute load averages from /proc/loadavg. 0, or -1 (then all three are -1). */
int kvb_env_loadavg(double out[3]);
/* UTC ISO 8601 time of now, e.g. 2026-11-25T10:15:00Z. */
void kvb_env_utc_now(char *buf, size_t buflen);

#endif
