/* phase.c - starts T threads together, runs their share of a pass, and measures the wall time. */
#include "phase.h"

#include "timer.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct pass_start {
    _Atomic int ready; /* threads waiting for the start signal */
    _Atomic int go;    /* 1 = start, -1 = abandon (a thread could not be created) */
} pass_start;

typedef struct pass_thread {
    kvb_worker *w;
    const kvb_pass *pass;
    uint64_t share; /* ops of this thread */
    pass_start *start;
    int rc;
} pass_thread;

static uint64_t ns_to_ticks(uint64_t ns)
{
    return kvb_timer.use_tsc ? (uint64_t)((double)ns / kvb_timer.ns_per_tick) : ns;
}

static int run_ops(kvb_worker *w, const kvb_pass *pass, uint64_t share)
{
    if (pass->plans)
        return kvb_untimed_run(w, &pass->plans[w->thread], w->thread == 0 ? pass->progress : NULL);
    kv_op op;
    int timed = pass->timed, report = w->thread == 0 && pass->progress;
    int paced = timed && w->ol;
    uint64_t end = pass->duration_ns ? kvb_now() + ns_to_ticks(pass->duration_ns) : 0, i;
    for (i = 0; i < share; i++) {
        if (end && kvb_now() >= end) /* before drawing the op: a drawn op has already moved the versions */
            break;
        if (kv_opstream_next(w->stream, &op) != 0) {
            snprintf(w->err, sizeof(w->err),
                     "workload: the op stream of thread %d stopped after %llu ops of this pass: no key left "
                     "for the next op (insert pool used up, or every key of the thread deleted); use a "
                     "larger -n or a mix with fewer deletes", w->thread, (unsigned long long)i);
            return -1;
        }
        if (paced)
            w->intended = kvb_pacer_wait(&w->ol->pacer);
        if (kvb_worker_op(w, &op, timed) != 0)
            return -1;
        if (report && (i & 4095) == 0)
            kvb_progress_update(pass->progress, i * (uint64_t)w->nthreads);
    }
    w->intended = 0;
    w->done = i;
    return 0;
}

static int run_load(kvb_worker *w, const kvb_pass *pass)
{
    const uint64_t chunk = 65536;
    for (uint64_t from = 0; from < pass->total; from += chunk) {
        uint64_t to = from + chunk < pass->total ? from + chunk : pass->total;
        if (kvb_worker_load(w, from, to) != 0)
            return -1;
        if (w->thread == 0 && pass->progress)
            kvb_progress_update(pass->progress, to);
    }
    return 0;
}

static int pin_error(kvb_worker *w, const kvb_pass *pass)
{
    snprintf(w->err, sizeof(w->err), "cannot pin thread %d to CPU %d: %s; pass other --cpus, or --cpus none",
             w->thread, pass->cpus[w->thread % pass->ncpus], strerror(errno));
    return -1;
}

static int run_share(pass_thread *pt)
{
    return pt->pass->kind == KVB_PASS_LOAD ? run_load(pt->w, pt->pass) : run_ops(pt->w, pt->pass, pt->share);
}

/* All threads spin at the start line so they begin within microseconds of each other. */
static void *pass_main(void *arg)
{
    pass_thread *pt = arg;
    atomic_fetch_add(&pt->start->ready, 1);
    int go;
    while ((go = atomic_load(&pt->start->go)) == 0)
        sched_yield();
    cpu_set_t saved; /* the thread ends with the pass: nothing to restore */
    if (go > 0 && kvb_cpus_pin(pt->pass->cpus, pt->pass->ncpus, pt->w->thread, &saved) != 0)
        pt->rc = pin_error(pt->w, pt->pass);
    else
        pt->rc = go > 0 ? run_share(pt) : -1;
    return NULL;
}

static int run_threads(pass_thread *pts, int nthreads, uint64_t *elapsed_ns)
{
    pass_start start;
    atomic_init(&start.ready, 0);
    atomic_init(&start.go, 0);
    pthread_t tid[nthreads];
    int started = 0;
    for (; started < nthreads; started++) {
        pts[started].start = &start;
        if (pthread_create(&tid[started], NULL, pass_main, &pts[started]) != 0)
            break;
    }
    if (started < nthreads) {
        atomic_store(&start.go, -1);
        for (int t = 0; t < started; t++)
            pthread_join(tid[t], NULL);
        snprintf(pts[0].w->err, sizeof(pts[0].w->err), "cannot create %d threads (pthread_create failed)",
                 nthreads);
        return -1;
    }
    while (atomic_load(&start.ready) < nthreads)
        sched_yield();
    uint64_t t0 = kvb_monotonic_ns();
    atomic_store(&start.go, 1);
    for (int t = 0; t < nthreads; t++)
        pthread_join(tid[t], NULL);
    *elapsed_ns = kvb_monotonic_ns() - t0;
    for (int t = 0; t < nthreads; t++)
        if (pts[t].rc != 0)
            return -1;
    return 0;
}

int kvb_pass_run(kvb_worker *workers, int nthreads, const kvb_pass *pass, uint64_t *elapsed_ns)
{
    pass_thread pts[nthreads];
    kvb_hist *saved[nthreads];
    for (int t = 0; t < nthreads; t++) {
        pts[t] = (pass_thread){.w = &workers[t], .pass = pass, .rc = 0};
        pts[t].share = kvb_share_of(pass->total, nthreads, t);
        saved[t] = workers[t].all;
        if (pass->timed)
            kvb_worker_reset_hists(&workers[t]);
        else
            workers[t].all = NULL; /* untimed loads record nothing */
    }
    int rc;
    *elapsed_ns = 0;
    if (nthreads == 1) {
        cpu_set_t saved; /* the main thread goes back to its mask: engine threads it starts later inherit it */
        if (kvb_cpus_pin(pass->cpus, pass->ncpus, 0, &saved) != 0) {
            rc = pin_error(&workers[0], pass);
        } else {
            uint64_t t0 = kvb_monotonic_ns();
            rc = run_share(&pts[0]);
            *elapsed_ns = kvb_monotonic_ns() - t0;
            kvb_cpus_restore(&saved);
        }
    } else {
        rc = run_threads(pts, nthreads, elapsed_ns);
    }
    for (int t = 0; t < nthreads; t++)
        workers[t].all = saved[t];
    if (pass->progress)
        kvb_progress_finish(pass->progress);
    return rc;
}

int kvb_phase_take_hists(kvb_phase_result *r, kvb_worker *workers, int nthreads)
{
    r->all = malloc(sizeof(kvb_hist));
    if (!r->all)
        return -1;
    kvb_hist_reset(r->all);
    for (int t = 0; t < nthreads; t++)
        kvb_hist_merge(r->all, workers[t].all);
    for (int k = 0; k < KV_OP__COUNT; k++) {
        r->by_op[k] = NULL;
        uint64_t n = 0;
        for (int t = 0; t < nthreads; t++)
            n += workers[t].by_op[k]->count;
        if (!n)
            continue;
        r->by_op[k] = malloc(sizeof(kvb_hist));
        if (!r->by_op[k])
            return -1;
        kvb_hist_reset(r->by_op[k]);
        for (int t = 0; t < nthreads; t++)
            kvb_hist_merge(r->by_op[k], workers[t].by_op[k]);
    }
    return 0;
}

void kvb_phase_free(kvb_phase_result *r)
{
    free(r->all);
    r->all = NULL;
    for (int k = 0; k < KV_OP__COUNT; k++) {
        free(r->by_op[k]);
        r->by_op[k] = NULL;
    }
    if (r->series) {
        free(r->series->rows);
        free(r->series);
        r->series = NULL;
    }
    if (r->open_loop) {
        kvb_ol_summary_free(r->open_loop);
        free(r->open_loop);
        r->open_loop = NULL;
    }
}
