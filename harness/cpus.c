/* cpus.c - parses --cpus, chooses the default CPUs from interrupt counts, pins measuring threads. */
#include "cpus.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int allowed(cpu_set_t *set)
{
    CPU_ZERO(set);
    return sched_getaffinity(0, sizeof(*set), set);
}

static void allowed_list(const cpu_set_t *set, char *buf, size_t buflen)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int c = 0; c < CPU_SETSIZE && used < buflen; c++)
        if (CPU_ISSET(c, set))
            used += (size_t)snprintf(buf + used, buflen - used, "%s%d", used ? "," : "", c);
}

static int parse_cpu(const char **p, long *out)
{
    if (!isdigit((unsigned char)**p))
        return -1;
    char *end;
    errno = 0;
    *out = strtol(*p, &end, 10);
    if (errno || *out < 0 || *out >= CPU_SETSIZE)
        return -1;
    *p = end;
    return 0;
}

int kvb_cpus_parse(const char *s, int *out, int max, int *n, char *err, size_t errlen)
{
    cpu_set_t ok;
    long online = sysconf(_SC_NPROCESSORS_CONF);
    if (allowed(&ok) != 0) {
        snprintf(err, errlen, "--cpus: cannot read this process's CPU affinity: %s", strerror(errno));
        return -1;
    }
    *n = 0;
    const char *p = s;
    while (p && *p) {
        long lo, hi;
        if (parse_cpu(&p, &lo) != 0)
            goto bad;
        hi = lo;
        if (*p == '-') {
            p++;
            if (parse_cpu(&p, &hi) != 0 || hi < lo)
                goto bad;
        }
        if (*p == ',' && p[1])
            p++;
        else if (*p)
            goto bad;
        for (long c = lo; c <= hi; c++) {
            if (c >= online || !CPU_ISSET((int)c, &ok)) {
                char may[256];
                allowed_list(&ok, may, sizeof(may));
                snprintf(err, errlen, "--cpus '%s': CPU %ld %s; this process may use CPUs %s", s, c,
                         c >= online ? "does not exist" : "is not in this process's allowed set", may);
                return -1;
            }
            if (*n == max) {
                snprintf(err, errlen, "--cpus '%s': more than %d CPUs", s, max);
                return -1;
            }
            out[(*n)++] = (int)c;
        }
    }
    if (*n)
        return 0;
bad:
    snprintf(err, errlen, "--cpus '%s': expected a CPU list such as 1, 0,1 or 0-1 (or auto, or none)", s ? s : "");
    return -1;
}

/* Device interrupts per CPU: the numbered lines of /proc/interrupts (not the LOC/RES/... summaries,
 * which every CPU takes alike). counts[c] stays 0 when unreadable. */
static void interrupt_counts(unsigned long long *counts, int ncpu)
{
    FILE *f = fopen("/proc/interrupts", "r");
    if (!f)
        return;
    char line[4096];
    int cols[KVB_MAX_CPUS], ncols = 0;
    if (fgets(line, sizeof(line), f)) {
        for (char *tok = strtok(line, " \t\n"); tok && ncols < KVB_MAX_CPUS; tok = strtok(NULL, " \t\n"))
            if (strncmp(tok, "CPU", 3) == 0)
                cols[ncols++] = atoi(tok + 3);
    }
    while (fgets(line, sizeof(line), f)) {
        char *p = line + strspn(line, " ");
        if (!isdigit((unsigned char)*p))
            continue;
        p = strchr(p, ':');
        if (!p)
            continue;
        p++;
        for (int i = 0; i < ncols; i++) {
            char *end;
            unsigned long long v = strtoull(p, &end, 10);
            if (end == p)
                break;
            if (cols[i] >= 0 && cols[i] < ncpu)
                counts[cols[i]] += v;
            p = end;
        }
    }
    fclose(f);
}

void kvb_cpus_busy(kvb_cpu_busy *b)
{
    memset(b, 0, sizeof(*b));
    FILE *f = fopen("/proc/stat", "r");
    if (!f)
        return;
    char line[1024];
    while (fgets(line, sizeof(line), f)) {
        int cpu, used;
        unsigned long long v[8] = {0}; /* user nice system idle iowait irq softirq steal */
        if (strncmp(line, "cpu", 3) != 0 || !isdigit((unsigned char)line[3]))
            continue;
        if (sscanf(line, "cpu%d %llu %llu %llu %llu %llu %llu %llu %llu%n", &cpu, &v[0], &v[1], &v[2], &v[3], &v[4],
                   &v[5], &v[6], &v[7], &used) < 5 || cpu < 0 || cpu >= KVB_MAX_CPUS)
            continue;
        /* steal counts as busy: in a VM it is another guest on our CPU */
        b->ticks[cpu] = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
        b->ok = 1;
    }
    fclose(f);
}

int kvb_cpus_auto(int nthreads, const kvb_cpu_busy *before, const kvb_cpu_busy *after, int *out, int max)
{
    cpu_set_t ok;
    if (allowed(&ok) != 0)
        return 0;
    int cand[KVB_MAX_CPUS], ncand = 0;
    for (int c = 0; c < KVB_MAX_CPUS && c < CPU_SETSIZE; c++)
        if (CPU_ISSET(c, &ok))
            cand[ncand++] = c;
    if (nthreads >= ncand || nthreads > max)
        return 0;
    unsigned long long irqs[KVB_MAX_CPUS] = {0}, busy[KVB_MAX_CPUS] = {0}, window = 0;
    interrupt_counts(irqs, KVB_MAX_CPUS);
    if (before && after && before->ok && after->ok)
        for (int i = 0; i < ncand; i++) {
            int c = cand[i];
            busy[c] = after->ticks[c] >= before->ticks[c] ? after->ticks[c] - before->ticks[c] : 0;
            window = busy[c] > window ? busy[c] : window;
        }
    /* busy time in coarse steps, so clock-tick jitter between idle CPUs does not decide */
    unsigned long long step = window / 10 > 2 ? window / 10 : 2;
    for (int i = 1; i < ncand; i++)
        for (int j = i; j > 0; j--) {
            int a = cand[j - 1], b = cand[j];
            unsigned long long ka = busy[a] / step, kb = busy[b] / step;
            if (kb > ka || (kb == ka && irqs[b] >= irqs[a]))
                break;
            cand[j - 1] = b, cand[j] = a;
        }
    for (int t = 0; t < nthreads; t++)
        out[t] = cand[t];
    return nthreads;
}

int kvb_cpus_pin(const int *cpus, int n, int t, cpu_set_t *saved)
{
    if (allowed(saved) != 0)
        return -1;
    if (n == 0)
        return 0;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpus[t % n], &one);
    return sched_setaffinity(0, sizeof(one), &one);
}

int kvb_cpus_restore(const cpu_set_t *saved)
{
    return sched_setaffinity(0, sizeof(*saved), saved);
}

void kvb_cpus_format(const int *cpus, int n, char *buf, size_t buflen)
{
    size_t used = 0;
    buf[0] = '\0';
    if (n == 0)
        snprintf(buf, buflen, "none");
    for (int i = 0; i < n && used < buflen; i++)
        used += (size_t)snprintf(buf + used, buflen - used, "%s%d", i ? "," : "", cpus[i]);
}
