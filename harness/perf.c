/* perf.c - per-phase perf_event_open counters read as deltas, with multiplexing detection. */
#include "perf.h"

#include <errno.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static const struct {
    const char *name;
    uint32_t type;
    uint64_t config;
} kvb_perf_defs[KVB_PERF__COUNT] = {
    [KVB_PERF_CYCLES] = {"cycles", PERF_TYPE_HARDWARE, PERF_COUNT_HW_CPU_CYCLES},
    [KVB_PERF_INSTRUCTIONS] = {"instructions", PERF_TYPE_HARDWARE, PERF_COUNT_HW_INSTRUCTIONS},
    [KVB_PERF_CACHE_MISSES] = {"cache_misses", PERF_TYPE_HARDWARE, PERF_COUNT_HW_CACHE_MISSES},
    [KVB_PERF_BRANCH_MISSES] = {"branch_misses", PERF_TYPE_HARDWARE, PERF_COUNT_HW_BRANCH_MISSES},
    [KVB_PERF_DTLB_MISSES] = {"dtlb_misses", PERF_TYPE_HW_CACHE,
                              PERF_COUNT_HW_CACHE_DTLB | (PERF_COUNT_HW_CACHE_OP_READ << 8) |
                                  (PERF_COUNT_HW_CACHE_RESULT_MISS << 16)},
    [KVB_PERF_TASK_CLOCK] = {"task_clock_ns", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_TASK_CLOCK},
    [KVB_PERF_PAGE_FAULTS] = {"page_faults", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS},
    [KVB_PERF_CONTEXT_SWITCHES] = {"context_switches", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CONTEXT_SWITCHES},
    [KVB_PERF_CPU_MIGRATIONS] = {"cpu_migrations", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CPU_MIGRATIONS},
};

const char *kvb_perf_name(enum kvb_perf_id id)
{
    return (unsigned)id < KVB_PERF__COUNT ? kvb_perf_defs[id].name : "unknown";
}

static int perf_open_one(uint32_t type, uint64_t config, int exclude_kernel)
{
    struct perf_event_attr a;
    memset(&a, 0, sizeof(a));
    a.size = sizeof(a);
    a.type = type;
    a.config = config;
    a.inherit = 1;
    a.exclude_kernel = (unsigned)exclude_kernel;
    a.exclude_hv = 1;
    a.read_format = PERF_FORMAT_TOTAL_TIME_ENABLED | PERF_FORMAT_TOTAL_TIME_RUNNING;
    return (int)syscall(SYS_perf_event_open, &a, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
}

int kvb_perf_open(kvb_perf *p)
{
    memset(p, 0, sizeof(*p));
    for (int i = 0; i < KVB_PERF__COUNT; i++) {
        int fd = perf_open_one(kvb_perf_defs[i].type, kvb_perf_defs[i].config, 0);
        if (fd < 0 && (errno == EACCES || errno == EPERM)) /* perf_event_paranoid >= 2: user space only */
            fd = perf_open_one(kvb_perf_defs[i].type, kvb_perf_defs[i].config, 1);
        if (fd < 0)
            snprintf(p->reason[i], sizeof(p->reason[i]), "perf_event_open: %s", strerror(errno));
        p->fd[i] = fd;
    }
    return 0;
}

static int perf_read(int fd, kvb_perf_raw *r)
{
    uint64_t buf[3];
    if (read(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
        return -1;
    r->value = buf[0], r->enabled = buf[1], r->running = buf[2];
    return 0;
}

int kvb_perf_begin(kvb_perf *p)
{
    for (int i = 0; i < KVB_PERF__COUNT; i++)
        if (p->fd[i] >= 0 && perf_read(p->fd[i], &p->start[i]) != 0)
            memset(&p->start[i], 0, sizeof(p->start[i]));
    return 0;
}

int kvb_perf_end(kvb_perf *p, kvb_perf_value out[KVB_PERF__COUNT])
{
    for (int i = 0; i < KVB_PERF__COUNT; i++) {
        kvb_perf_value *o = &out[i];
        memset(o, 0, sizeof(*o));
        kvb_perf_raw now;
        if (p->fd[i] < 0) {
            o->reason = p->reason[i];
            continue;
        }
        if (perf_read(p->fd[i], &now) != 0) {
            snprintf(p->reason[i], sizeof(p->reason[i]), "read of perf counter failed: %s", strerror(errno));
            o->reason = p->reason[i];
            continue;
        }
        uint64_t v = now.value - p->start[i].value;
        uint64_t en = now.enabled - p->start[i].enabled, run = now.running - p->start[i].running;
        if (run == 0 && en > 0) { /* never scheduled on the PMU: no information */
            snprintf(p->reason[i], sizeof(p->reason[i]), "counter never scheduled (PMU busy)");
            o->reason = p->reason[i];
            continue;
        }
        o->available = 1;
        if (run < en) {
            o->scaled = 1;
            v = (uint64_t)((double)v * (double)en / (double)run);
        }
        o->value = v;
    }
    return 0;
}

void kvb_perf_close(kvb_perf *p)
{
    for (int i = 0; i < KVB_PERF__COUNT; i++)
        if (p->fd[i] >= 0) {
            close(p->fd[i]);
            p->fd[i] = -1;
        }
}
