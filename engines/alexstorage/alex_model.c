/* alex_model.c - linear regression, the expected-cost model of a data node, and partitioning of
 * sorted keys by the shared routing function. */
#include <math.h>

#include "alex_internal.h"

/* Least squares of rank on (key - base), scaled by `scale` slots per rank. Two-pass (centred) so
 * that large keys do not cancel catastrophically. A non-positive or non-finite slope falls back
 * to the min->max spline; a single key or all-equal doubles give slope 0. */
void alex__fit(const int64_t *keys, size_t n, int64_t base, double scale, double *a, double *b)
{
    *a = 0.0;
    *b = 0.0;
    if (n <= 1)
        return;
    double mx = 0.0;
    for (size_t i = 0; i < n; i++)
        mx += alex__rel(keys[i], base);
    mx /= (double)n;
    double my = (double)(n - 1) / 2.0, sxx = 0.0, sxy = 0.0;
    for (size_t i = 0; i < n; i++) {
        double dx = alex__rel(keys[i], base) - mx;
        sxx += dx * dx;
        sxy += dx * ((double)i - my);
    }
    double slope = sxx > 0.0 ? sxy / sxx : 0.0;
    if (!(slope > 0.0) || !isfinite(slope)) {
        double span = alex__rel(keys[n - 1], base) - alex__rel(keys[0], base);
        if (!(span > 0.0))
            return;
        slope = (double)(n - 1) / span;
        *a = slope * scale;
        *b = -alex__rel(keys[0], base) * slope * scale;
        return;
    }
    *a = slope * scale;
    *b = (my - slope * mx) * scale;
    if (!isfinite(*b)) {
        *a = 0.0;
        *b = 0.0;
    }
}

/* Expected cost of a data node of `cap` slots holding keys placed model-based, exactly as
 * alex__dn_build places them (alex__place): search error plus shifts (each run of L filled slots
 * costs L^2/4). */
double alex__expected_cost(const int64_t *keys, size_t n, double a, double b, int64_t base, int cap)
{
    if (n == 0)
        return 0.0;
    long last = -1, run = 0;
    double search = 0.0, shifts = 0.0;
    alex_placer pl;
    alex__placer_init(&pl, n, cap);
    for (size_t i = 0; i < n; i++) {
        long pred = alex__route(a, b, base, cap, keys[i]);
        long pos = alex__place(&pl, pred, i);
        long err = pos > pred ? pos - pred : pred - pos;
        search += alex__log2_1p((unsigned)err);
        if (pos == last + 1) {
            run++;
        } else {
            shifts += (double)run * (double)run / 4.0;
            run = 1;
        }
        last = pos;
    }
    shifts += (double)run * (double)run / 4.0;
    return ALEX_W_SEARCH * search / (double)n + ALEX_W_SHIFT * shifts / (double)n;
}

/* The model of a leaf of cap slots over sorted keys (predicting on key - keys[0]): least squares
 * of rank on key, as in the reference. A few keys far from the rest pull that line flat over the
 * others: one outlier beside a dense cluster maps the cluster onto a few slots in the middle of the
 * node, where it is packed into one run (the room at the end exhausted: the whole cluster), and
 * every insert into it shifts thousands of slots. So when that fit places the keys badly (expected
 * cost above ALEX_FIT_RETRY on an evenly strided sample of ~1024 keys: cheap next to the O(n)
 * rebuild), the fits without the outermost n/64 keys on the left, on the right and on both sides
 * are priced on the sample too (their ranks kept, so the trimmed keys fall off that end of the
 * model, clamped to the first or last slot) and the cheapest is kept (fitted on the sample). */
void alex__fit_leaf(const int64_t *keys, size_t n, int cap, alex_lm *m)
{
    m->base = n ? keys[0] : 0;
    double scale = n ? (double)cap / (double)n : 0.0;
    alex__fit(keys, n, m->base, scale, &m->a, &m->b);
    if (n < 256)
        return;
    int64_t smp[1024];
    size_t stride = (n + 1023) / 1024, ns = 0;
    for (size_t i = 0; i < n; i += stride)
        smp[ns++] = keys[i];
    double f = (double)ns / (double)n; /* the sample as a node of cap * f slots */
    int caps = (int)((double)cap * f);
    if (caps < (int)ns + 1)
        caps = (int)ns + 1;
    double best = alex__expected_cost(smp, ns, m->a * f, m->b * f, m->base, caps);
    if (!(best > ALEX_FIT_RETRY))
        return;
    size_t t = ns / 64;
    for (int side = 1; side <= 3; side++) {
        size_t lo = side & 1 ? t : 0, hi = side & 2 ? ns - t : ns;
        alex_lm c = { 0.0, 0.0, m->base };
        alex__fit(smp + lo, hi - lo, c.base, scale * (double)stride, &c.a, &c.b);
        c.b += (double)(lo * stride) * scale;
        double cost = alex__expected_cost(smp, ns, c.a * f, c.b * f, c.base, caps);
        if (cost < best) {
            best = cost;
            *m = c;
        }
    }
}

int alex__cap_for(size_t n, double density, size_t max_slots)
{
    size_t cap = (size_t)((double)n / density);
    if (cap < n + 1)
        cap = n + 1;
    if (cap < ALEX_MIN_CAP)
        cap = ALEX_MIN_CAP;
    if (cap > max_slots && max_slots >= n + 1)
        cap = max_slots;
    return (int)cap;
}

/* Expected cost of one data node built from these keys at this density. Large key sets are
 * estimated on an evenly strided sample of ~1024 keys (the reference implementation also
 * approximates), which keeps the fanout tree's many cost evaluations cheap. */
double alex__leaf_cost(const int64_t *keys, size_t n, double density)
{
    if (n == 0)
        return 0.0;
    if (n > 2048) {
        int64_t sample[2048];
        size_t stride = n / 1024, ns = 0;
        for (size_t i = 0; i < n && ns < 2048; i += stride)
            sample[ns++] = keys[i];
        return alex__leaf_cost(sample, ns, density);
    }
    int cap = alex__cap_for(n, density, (size_t)1 << 30);
    double a, b;
    alex__fit(keys, n, keys[0], (double)cap / (double)n, &a, &b);
    return alex__expected_cost(keys, n, a, b, keys[0], cap);
}

/* bounds[i] = first index whose key routes to bucket >= i; bounds[0] = 0, bounds[nb] = n. Routing
 * is monotone in the key, so each bucket is a contiguous index range. */
void alex__partition(const int64_t *keys, size_t n, double a, double b, int64_t base, int nb,
                     size_t *bounds)
{
    bounds[0] = 0;
    if ((size_t)nb * 4 >= n) {
        int filled = 0;
        for (size_t i = 0; i < n; i++) {
            int r = alex__route(a, b, base, nb, keys[i]);
            while (filled < r)
                bounds[++filled] = i;
        }
        while (filled < nb)
            bounds[++filled] = n;
        return;
    }
    for (int bk = 1; bk < nb; bk++) {
        size_t lo = bounds[bk - 1], hi = n;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (alex__route(a, b, base, nb, keys[mid]) >= bk)
                hi = mid;
            else
                lo = mid + 1;
        }
        bounds[bk] = lo;
    }
    bounds[nb] = n;
}
