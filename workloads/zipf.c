/* zipf.c - zipfian ranks by rejection-inversion (Hormann & Derflinger 1996), O(1) set-up, any theta > 0.
 *
 * Rank k (1-based here) has weight h(k) = k^-theta. The sampler inverts the integral H of the
 * continuous hat function h(x) over [1.5, n + 0.5], rounds the result to the nearest integer k, and
 * accepts k when the drawn area falls under the step of height h(k) around k. `s` is a cheap squeeze
 * that accepts most draws without evaluating H. H and its inverse are written with expm1/log1p
 * ratios so that theta == 1 (H = log) and theta near 1 need no special case and lose no precision. */
#include "workload.h"
#include "wl_internal.h"

#include <errno.h>
#include <math.h>

/* log1p(x) / x, continuous at 0 */
static double kv_zipf_log1p_ratio(double x)
{
    if (fabs(x) > 1e-8)
        return log1p(x) / x;
    return 1.0 - x * (0.5 - x * (1.0 / 3.0 - 0.25 * x));
}

/* expm1(x) / x, continuous at 0 */
static double kv_zipf_expm1_ratio(double x)
{
    if (fabs(x) > 1e-8)
        return expm1(x) / x;
    return 1.0 + x * 0.5 * (1.0 + x / 3.0 * (1.0 + 0.25 * x));
}

static double kv_zipf_h(double theta, double x) { return exp(-theta * log(x)); }

/* H(x) = (x^(1-theta) - 1) / (1-theta), which tends to log(x) as theta -> 1 */
static double kv_zipf_H(double theta, double x)
{
    double lx = log(x);
    return kv_zipf_expm1_ratio((1.0 - theta) * lx) * lx;
}

static double kv_zipf_H_inv(double theta, double y)
{
    double t = y * (1.0 - theta);
    if (t < -1.0) /* rounding can push t just below the domain of log1p */
        t = -1.0;
    return exp(kv_zipf_log1p_ratio(t) * y);
}

int kv_zipf_init(kv_zipf *z, uint64_t n, double theta)
{
    if (n < 1 || !(theta > 0.0) || !isfinite(theta)) {
        errno = EINVAL;
        return -1;
    }
    z->n = n;
    z->theta = theta;
    z->h_x1 = kv_zipf_H(theta, 1.5) - 1.0;
    z->h_n = kv_zipf_H(theta, (double)n + 0.5);
    z->s = 2.0 - kv_zipf_H_inv(theta, kv_zipf_H(theta, 2.5) - kv_zipf_h(theta, 2.0));
    return 0;
}

uint64_t kv_zipf_next(const kv_zipf *z, kv_rng *r)
{
    if (z->n <= 1)
        return 0;
    for (;;) {
        double u = z->h_n + kv__rng_double(r) * (z->h_x1 - z->h_n);
        double x = kv_zipf_H_inv(z->theta, u);
        double kd = floor(x + 0.5);
        uint64_t k;
        if (!(kd >= 1.0))
            k = 1;
        else if (kd >= (double)z->n)
            k = z->n;
        else
            k = (uint64_t)kd;
        if ((double)k - x <= z->s || u >= kv_zipf_H(z->theta, (double)k + 0.5) - kv_zipf_h(z->theta, (double)k))
            return k - 1;
    }
}
