/* openloop.c - open-loop recorders: allocation, merging across threads, and the saturation verdict. */
#include "openloop.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int kvb_openloop_init(kvb_openloop *ol)
{
    memset(ol, 0, sizeof(*ol));
    ol->response = malloc(sizeof(kvb_hist));
    ol->lag = malloc(sizeof(kvb_hist));
    int ok = ol->response && ol->lag;
    for (int t = 0; t < KV_OP__COUNT; t++)
        ok = (ol->response_by_op[t] = malloc(sizeof(kvb_hist))) && ok;
    if (!ok)
        return -1;
    kvb_openloop_reset(ol);
    return 0;
}

void kvb_openloop_free(kvb_openloop *ol)
{
    free(ol->response);
    free(ol->lag);
    for (int t = 0; t < KV_OP__COUNT; t++)
        free(ol->response_by_op[t]);
    memset(ol, 0, sizeof(*ol));
}

void kvb_openloop_reset(kvb_openloop *ol)
{
    kvb_hist_reset(ol->response);
    kvb_hist_reset(ol->lag);
    for (int t = 0; t < KV_OP__COUNT; t++)
        kvb_hist_reset(ol->response_by_op[t]);
    ol->below_service = 0;
    ol->lag_recent_ns = 0;
    kvb_pacer_restart(&ol->pacer);
}

static kvb_hist *new_hist(void)
{
    kvb_hist *h = malloc(sizeof(kvb_hist));
    if (h)
        kvb_hist_reset(h);
    return h;
}

static void judge(kvb_ol_summary *s)
{
    double ratio = s->offered > 0 ? s->achieved / s->offered : 0;
    double intended_ns = s->offered > 0 ? (double)s->ops / s->offered * 1e9 : 0;
    double lag_limit = intended_ns * KVB_SATURATION_LAG_SHARE;
    if (lag_limit < (double)KVB_SATURATION_LAG_FLOOR_NS)
        lag_limit = (double)KVB_SATURATION_LAG_FLOOR_NS;
    if (ratio < KVB_SATURATION_MIN_RATIO) {
        s->saturated = 1;
        snprintf(s->reason, sizeof(s->reason), "achieved %.0f ops/s is %.1f%% of the offered %.0f (< %.0f%%)",
                 s->achieved, ratio * 100, s->offered, KVB_SATURATION_MIN_RATIO * 100);
    } else if ((double)s->lag_end_ns > lag_limit) {
        s->saturated = 1;
        snprintf(s->reason, sizeof(s->reason), "start lag still %.3f ms at the end of the pass (limit %.3f ms): "
                 "a backlog was building", (double)s->lag_end_ns / 1e6, lag_limit / 1e6);
    } else {
        snprintf(s->reason, sizeof(s->reason), "achieved %.1f%% of the offered rate, end lag %.3f ms",
                 ratio * 100, (double)s->lag_end_ns / 1e6);
    }
}

int kvb_openloop_summarize(kvb_ol_summary *s, kvb_openloop *const *per_thread, int nthreads, double offered,
                           enum kvb_arrival arrival, uint64_t ops, uint64_t elapsed_ns)
{
    memset(s, 0, sizeof(*s));
    s->offered = offered, s->arrival = arrival, s->threads = nthreads, s->ops = ops, s->elapsed_ns = elapsed_ns;
    s->achieved = elapsed_ns ? (double)ops * 1e9 / (double)elapsed_ns : 0;
    s->response = new_hist();
    s->lag = new_hist();
    if (!s->response || !s->lag)
        return -1;
    for (int t = 0; t < nthreads; t++) {
        const kvb_openloop *ol = per_thread[t];
        kvb_hist_merge(s->response, ol->response);
        kvb_hist_merge(s->lag, ol->lag);
        s->below_service += ol->below_service;
        if (ol->lag_recent_ns > (double)s->lag_end_ns)
            s->lag_end_ns = (uint64_t)ol->lag_recent_ns;
        for (int k = 0; k < KV_OP__COUNT; k++) {
            if (!ol->response_by_op[k]->count)
                continue;
            if (!s->response_by_op[k] && !(s->response_by_op[k] = new_hist()))
                return -1;
            kvb_hist_merge(s->response_by_op[k], ol->response_by_op[k]);
        }
    }
    judge(s);
    return 0;
}

void kvb_ol_summary_free(kvb_ol_summary *s)
{
    free(s->response);
    free(s->lag);
    for (int k = 0; k < KV_OP__COUNT; k++)
        free(s->response_by_op[k]);
    memset(s, 0, sizeof(*s));
}
