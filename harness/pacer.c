/* pacer.c - intended start times (uniform or Poisson) and the spin-wait until each one. */
#include "pacer.h"

#include "timer.h"

#include <math.h>
#include <string.h>

const char *kvb_arrival_name(enum kvb_arrival a)
{
    return a == KVB_ARRIVAL_POISSON ? "poisson" : "uniform";
}

int kvb_arrival_parse(const char *s, enum kvb_arrival *out)
{
    if (strcmp(s, "uniform") == 0)
        *out = KVB_ARRIVAL_UNIFORM;
    else if (strcmp(s, "poisson") == 0)
        *out = KVB_ARRIVAL_POISSON;
    else
        return -1;
    return 0;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __asm__ __volatile__("pause" ::: "memory");
#elif defined(__aarch64__)
    __asm__ __volatile__("yield" ::: "memory");
#endif
}

/* Uniform in (0, 1]: never 0, so -log() stays finite. */
static double unit_open(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return ((double)(z >> 11) + 1.0) / 9007199254740992.0;
}

void kvb_pacer_init(kvb_pacer *p, double ops_per_sec, enum kvb_arrival a, int thread, int nthreads,
                    uint64_t seed)
{
    memset(p, 0, sizeof(*p));
    p->arrival = a;
    double ns = 1e9 / ops_per_sec;
    p->gap_ticks = kvb_timer.use_tsc ? ns / kvb_timer.ns_per_tick : ns;
    p->rng = seed ^ (0xa0761d6478bd642full * (uint64_t)(thread + 1));
    p->stagger = a == KVB_ARRIVAL_UNIFORM ? p->gap_ticks * thread / (nthreads > 0 ? nthreads : 1) : 0;
    p->offset = p->stagger;
}

void kvb_pacer_restart(kvb_pacer *p)
{
    p->start = 0;
    p->k = 0;
    p->offset = p->stagger;
}

/* Ticks from the anchor to the k-th intended start. Uniform spacing is computed from k, not summed,
 * so rounding never accumulates over millions of ops. */
static double next_offset(kvb_pacer *p)
{
    if (p->arrival == KVB_ARRIVAL_UNIFORM)
        return p->stagger + p->gap_ticks * (double)p->k;
    double at = p->offset;
    p->offset += -log(unit_open(&p->rng)) * p->gap_ticks;
    return at;
}

uint64_t kvb_pacer_wait(kvb_pacer *p)
{
    uint64_t now = kvb_now();
    if (!p->start)
        p->start = now;
    uint64_t due = p->start + (uint64_t)next_offset(p);
    p->k++;
    while (now < due) {
        cpu_relax();
        now = kvb_now();
    }
    return due;
}
