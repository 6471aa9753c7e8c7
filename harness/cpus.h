/* cpus.h - which CPUs the measuring threads run on: the --cpus list, the default choice, pinning. */
#ifndef KVB_CPUS_H
#define KVB_CPUS_H

#include <sched.h>
#include <stddef.h>

#define KVB_MAX_CPUS 256

/* Parse a list like "1", "0,1" or "0-3,6" into out[0..*n) (at most max, in the order given). Every CPU
 * must exist and be in this process's allowed set. 0, or -1 with a message in err naming --cpus. */
int kvb_cpus_parse(const char *s, int *out, int max, int *n, char *err, size_t errlen);

/* Non-idle time of each CPU so far (/proc/stat, clock ticks); ok = 0 when unreadable. */
typedef struct kvb_cpu_busy {
    unsigned long long ticks[KVB_MAX_CPUS];
    int ok;
} kvb_cpu_busy;
void kvb_cpus_busy(kvb_cpu_busy *b);

/* The default (--cpus auto): when there are fewer measuring threads than allowed CPUs, pin them to the
 * allowed CPUs that were least busy between `before` and `after` (the settle before a cell; either may
 * be NULL), ties (within a tenth of the window) broken by fewer device interrupts since boot
 * (/proc/interrupts); the other CPUs are left to the kernel, the engine's background threads and
 * everything else. Otherwise pin nothing. Returns the count chosen (0 = no pinning). */
int kvb_cpus_auto(int nthreads, const kvb_cpu_busy *before, const kvb_cpu_busy *after, int *out, int max);

/* Pin the calling thread to cpus[t % n]; the previous mask goes to *saved for kvb_cpus_restore.
 * n == 0 pins nothing. 0, or -1 with errno. */
int kvb_cpus_pin(const int *cpus, int n, int t, cpu_set_t *saved);
int kvb_cpus_restore(const cpu_set_t *saved);

/* "0,1" for the result JSON; "none" when n == 0. */
void kvb_cpus_format(const int *cpus, int n, char *buf, size_t buflen);

#endif
