# Figures of offered load and time: the latency-vs-offered-load curve (--rate) and throughput/p99 over
# time (--interval). report.py calls add_figures(report); run alone it prints the open-loop table.
"""Open-loop and time-series figures for kvbench reports (results/SCHEMA.md, "Open loop" and "Duration").

add_figures(report) draws, into report.save():
  load_curve_<workload>_n<N>   p50/p99 response time against offered load, per engine; saturated points
                               marked. Left: offered ops/s; right: percent of the engine's closed-loop
                               throughput (when the rates were given as percentages).
  timeline_<workload>_n<N>...  throughput and p99 per interval over the timed pass, per engine (first rep).

`python3 analysis/figures_load.py RUN_DIR...` prints the open-loop table as Markdown.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import kvresults as kv  # noqa: E402

FIG_W, FIG_H = 3.3, 2.25
SAT_COLOUR = "#C00000"


def measured(r):
    try:
        return kv.measured_phase(r)
    except kv.ResultError:
        return None


def curve_key(r):
    """Results on one curve figure share everything but the engine and the rate."""
    return (r.get("workload"), r.get("n"), r.get("threads"), r.get("durability"), r.get("keyset"),
            r.get("arrival") or "uniform")


def open_loop_points(results):
    """{curve key: {engine: [point]}}; a point = one offered rate, medians over its repetitions."""
    cells = {}
    for r in results:
        p = measured(r)
        if r.get("rate") is None or not p or not p.get("latency_response"):
            continue
        cells.setdefault((curve_key(r), r["engine"], r["rate_pct"] or r["rate"]), []).append((r, p))
    curves = {}
    for (ck, eng, _), rs in cells.items():
        resp = [p["latency_response"] for _, p in rs]
        ol = [p["open_loop"] for _, p in rs]
        pt = {"rate": kv.median_present([r["rate"] for r, _ in rs]), "pct": rs[0][0].get("rate_pct"),
              "achieved": kv.median_present([o["achieved_ops_per_sec"] for o in ol]),
              "p50": kv.median_present([h["p50_ns"] for h in resp]),
              "p99": kv.median_present([h["p99_ns"] for h in resp]),
              "svc_p99": kv.median_present([p["latency"]["p99_ns"] for _, p in rs]),
              "lag_p99": kv.median_present([o["lag"]["p99_ns"] for o in ol]),
              "saturated": any(o["saturated"] for o in ol), "reps": len(rs)}
        curves.setdefault(ck, {}).setdefault(eng, []).append(pt)
    for ck in curves:
        for eng in curves[ck]:
            curves[ck][eng].sort(key=lambda q: q["rate"])
    return curves


def _draw_curve(ax, pts, eng, x_of):
    colour, marker = kv.engine_style(eng)
    xs = [x_of(q) for q in pts]
    ax.plot(xs, [q["p99"] / 1e3 for q in pts], color=colour, marker=marker, label="%s p99" % eng)
    ax.plot(xs, [q["p50"] / 1e3 for q in pts], color=colour, marker=marker, linestyle="--", fillstyle="none",
            label="%s p50" % eng)
    sat = [q for q in pts if q["saturated"]]
    if sat:
        ax.scatter([x_of(q) for q in sat], [q["p99"] / 1e3 for q in sat], s=40, facecolors="none",
                   edgecolors=SAT_COLOUR, linewidths=0.9, zorder=5)


def fig_load_curves(rep, plt):
    for ck, by_engine in sorted(open_loop_points(rep.results).items(), key=lambda kv_: str(kv_[0])):
        workload, n, threads, dur, keyset, arrival = ck
        engines = sorted(by_engine, key=kv.engine_sort_key)
        has_pct = any(q["pct"] for e in engines for q in by_engine[e])
        ncols = 2 if has_pct else 1
        fig, axes = plt.subplots(1, ncols, figsize=(FIG_W * ncols, FIG_H + 0.4), squeeze=False)
        panels = [(axes[0][0], lambda q: q["rate"], "offered load (ops/s)", "log")]
        if has_pct:
            panels.append((axes[0][1], lambda q: q["pct"] or float("nan"), "offered load (% of own closed-loop ops/s)",
                           "linear"))
        for ax, x_of, label, xscale in panels:
            for eng in engines:
                _draw_curve(ax, by_engine[eng], eng, x_of)
            ax.set_xscale(xscale)
            ax.set_yscale("log")
            ax.set_xlabel(label)
            ax.set_ylabel("response time (us)")
        h, lab = axes[0][0].get_legend_handles_labels()
        fig.legend(h, lab, loc="upper center", ncol=min(4, len(lab)), frameon=False, fontsize=5)
        fig.tight_layout(rect=(0, 0, 1, 0.86))
        name = "load_curve_%s_n%s_t%s_%s" % (workload, n, threads, dur)
        if keyset and keyset != "uniform":
            name += "_" + str(keyset)
        rows = [[eng, q["rate"], q["pct"] if q["pct"] else "", q["achieved"], q["p50"], q["p99"], q["svc_p99"],
                 q["lag_p99"], q["saturated"], q["reps"]] for eng in engines for q in by_engine[eng]]
        rep.save(fig, name, "Latency against offered load: %s, N=%s" % (workload, kv.fmt_n(n)),
                 "Response time (from the intended start, so queueing behind a backlog counts) at each offered "
                 "rate (%s arrivals, %s threads, durability %s, keys %s): solid p99, dashed p50, median over "
                 "repetitions. Red circles: saturated cells (achieved < 95%% of offered, or a backlog at the end); "
                 "their latency is queueing, not engine speed." % (arrival, threads, dur, keyset),
                 ["engine", "offered_ops_per_sec", "offered_pct", "achieved_ops_per_sec", "p50_response_ns",
                  "p99_response_ns", "p99_service_ns", "p99_lag_ns", "saturated", "reps"], rows)


def timelines(results):
    """{(workload, n, threads, durability, keyset, rate label): {engine: intervals of its first rep}}."""
    out = {}
    for r in sorted(results, key=lambda r: (r.get("rep", 0), r.get("_file", ""))):
        p = measured(r)
        iv = p.get("intervals") if p else None
        if not iv or not iv.get("rows"):
            continue
        label = "closed" if r.get("rate") is None else (
            "%g%%" % r["rate_pct"] if r.get("rate_pct") else "%.0f" % r["rate"])
        key = (r.get("workload"), r.get("n"), r.get("threads"), r.get("durability"), r.get("keyset"), label)
        out.setdefault(key, {}).setdefault(r["engine"], iv)
    return out


def fig_timelines(rep, plt):
    for key, by_engine in sorted(timelines(rep.results).items(), key=lambda kv_: str(kv_[0])):
        workload, n, threads, dur, keyset, label = key
        engines = sorted(by_engine, key=kv.engine_sort_key)
        fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(FIG_W * 1.4, FIG_H * 1.6), sharex=True)
        rows = []
        kinds = set()
        for eng in engines:
            iv = by_engine[eng]
            cols = iv["columns"]
            t, ops_s, p99 = cols.index("t_end_s"), cols.index("ops_per_sec"), cols.index("p99_ns")
            colour, _ = kv.engine_style(eng)
            xs = [row[t] for row in iv["rows"]]
            ax1.plot(xs, [row[ops_s] for row in iv["rows"]], color=colour, label=eng)
            ax2.plot(xs, [row[p99] / 1e3 for row in iv["rows"]], color=colour, label=eng)
            kinds.add(iv["latency"])
            rows += [[eng] + list(row) for row in iv["rows"]]
        ax1.set_ylabel("throughput (ops/s)")
        ax2.set_ylabel("p99 %s (us)" % "/".join(sorted(kinds)))
        ax2.set_yscale("log")
        ax2.set_xlabel("time in the timed pass (s)")
        ax1.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=min(4, len(engines)), frameon=False)
        fig.tight_layout()
        name = "timeline_%s_n%s_t%s_%s_%s" % (workload, n, threads, dur, label.replace("%", "pct"))
        rep.save(fig, name, "Throughput and p99 over time: %s, N=%s, %s" % (workload, kv.fmt_n(n), label),
                 "Per-interval throughput (top) and p99 latency (bottom; response time under --rate, else "
                 "service time) over the timed pass, first repetition of each engine (%s threads, durability %s, "
                 "keys %s, load %s). Dips and spikes here are stalls: compactions, node splits, page faults."
                 % (threads, dur, keyset, label), ["engine"] + list(by_engine[engines[0]]["columns"]), rows)


def add_figures(rep):
    """Draw the open-loop and time-series figures of a report.Report (nothing when no result has them)."""
    import matplotlib.pyplot as plt
    fig_load_curves(rep, plt)
    fig_timelines(rep, plt)


def table_md(results):
    lines = ["| workload | N | engine | offered ops/s | % closed | achieved ops/s | p50 resp us | p99 resp us | "
             "p99 service us | p99 lag us | saturated |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for ck, by_engine in sorted(open_loop_points(results).items(), key=lambda kv_: str(kv_[0])):
        for eng in sorted(by_engine, key=kv.engine_sort_key):
            for q in by_engine[eng]:
                lines.append("| %s | %s | %s | %.0f | %s | %.0f | %.1f | %.1f | %.1f | %.1f | %s |" % (
                    ck[0], kv.fmt_n(ck[1]), eng, q["rate"], "%g" % q["pct"] if q["pct"] else "",
                    q["achieved"], q["p50"] / 1e3, q["p99"] / 1e3, q["svc_p99"] / 1e3, q["lag_p99"] / 1e3,
                    "SATURATED" if q["saturated"] else "no"))
    return "\n".join(lines)


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: figures_load.py RUN_DIR... (prints the open-loop table as Markdown)")
    try:
        results, _ = kv.load_run_dirs(sys.argv[1:])
    except kv.ResultError as e:
        kv.die(str(e))
    print(table_md(results))


if __name__ == "__main__":
    main()
