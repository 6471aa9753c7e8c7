/* pla.c - key-set hardness: the number of segments of an optimal epsilon-PLA over sorted keys -> rank
 * (the measure of the GRE benchmark, Wongkham et al., VLDB 2022).
 *
 * A segment covers consecutive keys x_i with a line f such that |f(x_i) - i| <= eps for each of them.
 * Extending each segment for as long as some line still fits gives the fewest segments (an optimal
 * PLA), and deciding "does a line still fit" takes amortised O(1) per key with the streaming
 * algorithm of O'Rourke (1981), the one the PGM-index builds on:
 *
 * - each key is a vertical segment from its lower end (x, i - eps) to its upper end (x, i + eps);
 *   a line fits iff it passes above every lower end and below every upper end;
 * - of all fitting lines, the ones of smallest and largest slope bound the rest to the right of the
 *   keys seen so far: the next key fits iff its upper end is not below the min-slope line and its
 *   lower end not above the max-slope line;
 * - when the new upper end is below the max-slope line, the new max-slope line passes through it and
 *   touches the upper convex hull of the lower ends (the point of least slope towards it);
 *   symmetrically for the min-slope line, the new lower end and the lower convex hull of the upper
 *   ends. Hull points left of a tangent point can never be tangent again, so each scan starts there.
 *
 * All geometry is exact: coordinates are integers (keys, ranks +- eps) and the cross products fit in
 * 128 bits (x differences < 2^64, y differences < 2^34). */
#include "workload.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef struct pla_pt {
    __int128 x, y;
} pla_pt;

typedef struct pla_hull {
    pla_pt *p;
    size_t start, size, cap;
} pla_hull;

/* cross((b - a), (c - a)): > 0 when c is left of the directed line a -> b */
static inline __int128 cross3(pla_pt a, pla_pt b, pla_pt c)
{
    return (b.x - a.x) * (c.y - a.y) - (b.y - a.y) * (c.x - a.x);
}

/* slope(a -> p) < slope(b -> p), for a and b left of p */
static inline int slope_less(pla_pt a, pla_pt b, pla_pt p)
{
    return (p.y - a.y) * (p.x - b.x) < (p.y - b.y) * (p.x - a.x);
}

static int hull_push(pla_hull *h, pla_pt q, int upper)
{
    /* upper hull (lower ends): pop while the turn is not clockwise; lower hull (upper ends): while
     * it is not counter-clockwise. The tangent point at `start` is never popped. */
    while (h->size - h->start >= 2) {
        __int128 c = cross3(h->p[h->size - 2], h->p[h->size - 1], q);
        if (upper ? c >= 0 : c <= 0)
            h->size--;
        else
            break;
    }
    if (h->size == h->cap) {
        if (h->start > 0) { /* drop the dead prefix before growing */
            memmove(h->p, h->p + h->start, (h->size - h->start) * sizeof(*h->p));
            h->size -= h->start;
            h->start = 0;
        }
        if (h->size == h->cap) {
            size_t cap = h->cap ? h->cap * 2 : 64;
            pla_pt *p = realloc(h->p, cap * sizeof(*p));
            if (!p)
                return -1;
            h->p = p;
            h->cap = cap;
        }
    }
    h->p[h->size++] = q;
    return 0;
}

static void hull_reset(pla_hull *h, pla_pt q)
{
    h->start = 0;
    h->size = 1;
    h->p[0] = q;
}

int kv_pla_segments(const int64_t *sorted, uint64_t n, uint64_t eps, uint64_t *segments)
{
    *segments = 0;
    if (n == 0)
        return 0;
    if (!sorted || eps > (1ULL << 40)) {
        errno = EINVAL;
        return -1;
    }
    pla_hull lo = {0}, up = {0}; /* lower ends (upper hull), upper ends (lower hull) */
    lo.p = malloc(64 * sizeof(pla_pt));
    up.p = malloc(64 * sizeof(pla_pt));
    if (!lo.p || !up.p) {
        free(lo.p);
        free(up.p);
        errno = ENOMEM;
        return -1;
    }
    lo.cap = up.cap = 64;
    const __int128 e = (__int128)eps;
    /* rect[0] -> rect[2]: the min-slope line (an upper end, then a lower end);
     * rect[1] -> rect[3]: the max-slope line (a lower end, then an upper end). */
    pla_pt rect[4];
    uint64_t count = 0, in_seg = 0;
    int rc = 0;
    for (uint64_t i = 0; i < n; i++) {
        pla_pt pu = {sorted[i], (__int128)i + e}, pl = {sorted[i], (__int128)i - e};
        if (i > 0 && sorted[i] <= sorted[i - 1]) {
            rc = -1;
            errno = EINVAL; /* not strictly ascending */
            break;
        }
        if (in_seg == 0) {
            rect[0] = pu, rect[1] = pl;
            hull_reset(&up, pu);
            hull_reset(&lo, pl);
            count++;
            in_seg = 1;
            continue;
        }
        if (in_seg == 1) {
            rect[2] = pl, rect[3] = pu;
            if (hull_push(&up, pu, 0) != 0 || hull_push(&lo, pl, 1) != 0) {
                rc = -1;
                errno = ENOMEM;
                break;
            }
            in_seg = 2;
            continue;
        }
        /* outside: upper end below the min-slope line, or lower end above the max-slope line */
        if (cross3(rect[0], rect[2], pu) < 0 || cross3(rect[1], rect[3], pl) > 0) {
            rect[0] = pu, rect[1] = pl;
            hull_reset(&up, pu);
            hull_reset(&lo, pl);
            count++;
            in_seg = 1;
            continue;
        }
        int new_max = cross3(rect[1], rect[3], pu) < 0, new_min = cross3(rect[0], rect[2], pl) > 0;
        if (new_max) { /* least slope from a lower end to pu */
            size_t k = lo.start;
            while (k + 1 < lo.size && !slope_less(lo.p[k], lo.p[k + 1], pu))
                k++;
            rect[1] = lo.p[k], rect[3] = pu;
            lo.start = k;
        }
        if (new_min) { /* greatest slope from an upper end to pl */
            size_t k = up.start;
            while (k + 1 < up.size && !slope_less(up.p[k + 1], up.p[k], pl))
                k++;
            rect[0] = up.p[k], rect[2] = pl;
            up.start = k;
        }
        if (hull_push(&up, pu, 0) != 0 || hull_push(&lo, pl, 1) != 0) {
            rc = -1;
            errno = ENOMEM;
            break;
        }
        in_seg++;
    }
    free(lo.p);
    free(up.p);
    if (rc == 0)
        *segments = count;
    return rc;
}
