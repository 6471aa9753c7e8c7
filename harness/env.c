/* env.c - collects the manifest: build definitions, CPU, memory, kernel, THP, clock source, filesystem. */
#include "env.h"

#include "container.h"
#include "timer.h"

#include <stdio.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#ifndef KV_VERSION
#define KV_VERSION "unknown"
#endif
#include "kv_git_commit.h" /* generated at build time: KV_GIT_COMMIT */
#ifndef KV_GIT_COMMIT
#define KV_GIT_COMMIT "unknown"
#endif
#ifndef KV_COMPILER
#define KV_COMPILER "unknown"
#endif
#ifndef KV_CFLAGS
#define KV_CFLAGS "unknown"
#endif
#ifndef KV_BUILD_TYPE
#define KV_BUILD_TYPE "unknown"
#endif
#ifndef KV_ALLOCATOR
#define KV_ALLOCATOR "unknown"
#endif

/* First line of a small file, newline stripped; "unknown" when unreadable. */
static void read_line(const char *path, char *buf, size_t buflen)
{
    FILE *f = fopen(path, "r");
    if (!f || !fgets(buf, (int)buflen, f))
        snprintf(buf, buflen, "unknown");
    else
        buf[strcspn(buf, "\n")] = '\0';
    if (f)
        fclose(f);
}

static void cpu_model(char *buf, size_t buflen)
{
    snprintf(buf, buflen, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return;
    char line[1024];
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, "model name", 10) != 0)
            continue;
        char *colon = strchr(line, ':');
        if (colon) {
            colon += strspn(colon + 1, " \t") + 1;
            colon[strcspn(colon, "\n")] = '\0';
            snprintf(buf, buflen, "%s", colon);
        }
        break;
    }
    fclose(f);
}

const char *kvb_env_fs_name(const char *path, char *buf, size_t buflen)
{
    static const struct {
        unsigned long magic;
        const char *name;
    } fs[] = {
        {0xEF53, "ext4"}, {0x01021994, "tmpfs"}, {0x58465342, "xfs"}, {0x9123683E, "btrfs"},
        {0x794C7630, "overlayfs"}, {0x2FC12FC1, "zfs"}, {0x6969, "nfs"}, {0xF2F52010, "f2fs"},
        {0x65735546, "fuse"}, {0x858458F6, "ramfs"}, {0x01021997, "9p"}, {0x73717368, "squashfs"},
        {0x4d44, "vfat"}, {0x5346544e, "ntfs"}, {0xFF534D42, "cifs"}, {0x62656572, "sysfs"},
    };
    struct statfs st;
    if (!path || statfs(path, &st) != 0) {
        snprintf(buf, buflen, "unknown");
        return buf;
    }
    for (size_t i = 0; i < sizeof(fs) / sizeof(fs[0]); i++)
        if ((unsigned long)st.f_type == fs[i].magic) {
            snprintf(buf, buflen, "%s", fs[i].name);
            return buf;
        }
    snprintf(buf, buflen, "unknown (0x%lx)", (unsigned long)st.f_type);
    return buf;
}

int kvb_env_fs_volatile(const char *path, char *name, size_t namelen)
{
    kvb_env_fs_name(path, name, namelen);
    return strcmp(name, "tmpfs") == 0 || strcmp(name, "ramfs") == 0 || strcmp(name, "overlayfs") == 0;
}

int kvb_env_loadavg(double out[3])
{
    FILE *f = fopen("/proc/loadavg", "r");
    int n = f ? fscanf(f, "%lf %lf %lf", &out[0], &out[1], &out[2]) : 0;
    if (f)
        fclose(f);
    if (n == 3)
        return 0;
    out[0] = out[1] = out[2] = -1;
    return -1;
}

/* Like read_line, but "unavailable" when the file is absent (a VM without cpufreq, a kernel without SMT
 * control): these are facts about the machine, not failures. */
static json_t *sys_value(const char *path)
{
    char buf[256];
    read_line(path, buf, sizeof(buf));
    return json_string(strcmp(buf, "unknown") == 0 ? "unavailable" : buf);
}

/* SMT: the kernel's switch when it has one, else whether CPU 0 has a thread sibling. */
static json_t *smt_json(void)
{
    char active[64], siblings[256];
    read_line("/sys/devices/system/cpu/smt/active", active, sizeof(active));
    read_line("/sys/devices/system/cpu/cpu0/topology/thread_siblings_list", siblings, sizeof(siblings));
    const char *state = "unavailable";
    if (strcmp(active, "unknown") != 0)
        state = strcmp(active, "1") == 0 ? "on" : "off";
    else if (strcmp(siblings, "unknown") != 0)
        state = strpbrk(siblings, ",-") ? "on" : "off";
    json_t *o = json_pack("{s:s}", "state", state);
    json_object_set_new(o, "control", sys_value("/sys/devices/system/cpu/smt/control"));
    json_object_set_new(o, "cpu0_siblings", sys_value("/sys/devices/system/cpu/cpu0/topology/thread_siblings_list"));
    return o;
}

static json_t *thp_json(void)
{
    json_t *o = json_object();
    json_object_set_new(o, "enabled", sys_value("/sys/kernel/mm/transparent_hugepage/enabled"));
    json_object_set_new(o, "defrag", sys_value("/sys/kernel/mm/transparent_hugepage/defrag"));
    json_object_set_new(o, "shmem_enabled", sys_value("/sys/kernel/mm/transparent_hugepage/shmem_enabled"));
    return o;
}

void kvb_env_utc_now(char *buf, size_t buflen)
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(buf, buflen, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static json_t *timer_json(void)
{
    const kvb_timer_info *t = &kvb_timer;
    return json_pack("{s:s, s:f, s:f, s:f, s:f, s:s}", "source", t->use_tsc ? "tsc" : "clock_gettime",
                     "tsc_hz", t->tsc_hz, "cost_ns", t->cost_ns, "tsc_cost_ns", t->tsc_cost_ns,
                     "clock_gettime_cost_ns", t->clock_gettime_cost_ns, "reason", t->reason);
}

json_t *kvb_env_manifest(const char *data_dir, const char *command)
{
    char cpu[256], kernel[512], thp[256], clocksrc[128], host[256], start[64], fsname[64];
    cpu_model(cpu, sizeof(cpu));
    struct utsname u;
    if (uname(&u) == 0)
        snprintf(kernel, sizeof(kernel), "%s %s %s", u.sysname, u.release, u.machine);
    else
        snprintf(kernel, sizeof(kernel), "unknown");
    read_line("/sys/kernel/mm/transparent_hugepage/enabled", thp, sizeof(thp));
    read_line("/sys/devices/system/clocksource/clocksource0/current_clocksource", clocksrc, sizeof(clocksrc));
    if (gethostname(host, sizeof(host)) != 0)
        snprintf(host, sizeof(host), "unknown");
    host[sizeof(host) - 1] = '\0';
    kvb_env_utc_now(start, sizeof(start));
    long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
    json_int_t mem = pages > 0 && psize > 0 ? (json_int_t)pages * psize : 0;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);

    const char *cflags = KV_CFLAGS;
    cflags += strspn(cflags, " ");
    json_t *m = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:I, s:s, s:s, s:s, s:s, s:s}",
                          "tool", "kvbench", "tool_version", KV_VERSION, "git_commit", KV_GIT_COMMIT,
                          "compiler", KV_COMPILER, "cflags", cflags, "build_type", KV_BUILD_TYPE,
                          "allocator", KV_ALLOCATOR, "cpu_model", cpu, "cpu_cores", (int)cores,
                          "memory_bytes", mem, "kernel", kernel, "thp", thp, "clocksource", clocksrc,
                          "start_time", start, "hostname", host);
    if (!m)
        return NULL;
    json_object_set_new(m, "data_dir", data_dir ? json_string(data_dir) : json_null());
    json_object_set_new(m, "data_dir_fs",
                        json_string(data_dir ? kvb_env_fs_name(data_dir, fsname, sizeof(fsname)) : "unknown"));
    json_object_set_new(m, "timer", timer_json());
    json_object_set_new(m, "cpu_governor", sys_value("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor"));
    json_object_set_new(m, "smt", smt_json());
    json_object_set_new(m, "thp_settings", thp_json());
    json_object_set_new(m, "command", command ? json_string(command) : json_null());
    json_t *container = kvb_container_json(); /* absent outside a container */
    if (container)
        json_object_set_new(m, "container", container);
    return m;
}
