# The make bench-ycsb report: one table (mean, p99, untimed ops/s per engine and workload), one figure per
# YCSB workload, and the hard-key-set run beside the same workload on uniform keys.
"""Usage: bench_ycsb.py --out DIR --main RUN_DIR [--main RUN_DIR...] --hard RUN_DIR [--note TEXT]

Writes DIR/ycsb.md, DIR/ycsb.csv and DIR/figures/ycsb_<workload>.{png,pdf}; prints the table.
Values follow the project's one aggregate (kvresults.AGGREGATE): latency mean = mean over repetitions of each
repetition's mean, p99 from all repetitions' histograms merged, untimed ops/s = mean over repetitions.
"""
import argparse
import csv
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import kvresults as kv  # noqa: E402

FIG_W, FIG_H = 6.6, 2.0


def cells(results):
    """{(workload, keyset, engine): row dict} aggregated over repetitions as everywhere (kv.summarize_group)."""
    groups = {}
    for r in results:
        groups.setdefault((r["workload"], r.get("keyset"), r["engine"]), []).append(r)
    out = {}
    for key, rs in groups.items():
        ph = [kv.measured_phase(r) for r in rs]
        load = [kv.phase_named(r, "load") for r in rs]
        info = rs[0].get("keyset_info") or {}
        agg = kv.summarize_group(rs)
        out[key] = {
            "workload": key[0], "keyset": key[1], "engine": key[2], "n": rs[0]["n"], "reps": len(rs),
            "ops": rs[0]["ops"],
            "mean_ns": agg["mean_ns"], "p99_ns": agg["p99_ns"], "untimed_ops_s": agg["ops_per_sec_untimed"],
            "load_ns_key": kv.median_present([lp.get("ns_per_op") for lp in load if lp]),
            "valid": all(kv.is_valid(r) for r in rs),
            "pla32": (info.get("hardness") or {}).get("pla_segments_eps32"),
            "pla4096": (info.get("hardness") or {}).get("pla_segments_eps4096"),
        }
    return out


def fmt(v, digits=0):
    return "" if v is None else ("{:,.%df}" % digits).format(v)


def table(rows):
    head = "| workload | keys | engine | mean us | p99 us | untimed ops/s | load us/key | ops | valid |"
    lines = [head, "|---|---|---|---|---|---|---|---|---|"]
    for c in rows:
        lines.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            c["workload"], c["keyset"], c["engine"], fmt(c["mean_ns"] / 1e3, 2), fmt(c["p99_ns"] / 1e3, 1),
            fmt(c["untimed_ops_s"]), fmt(c["load_ns_key"] / 1e3 if c["load_ns_key"] else None, 2),
            fmt(c["ops"]), "yes" if c["valid"] else "**NO**"))
    return "\n".join(lines)


def order(c):
    return (c["workload"], str(c["keyset"]), kv.engine_sort_key(c["engine"]))


def figure(out, workload, rows, plt):
    """Mean, p99 (us) and untimed ops/s per engine for one workload: three panels of bars."""
    fig, axes = plt.subplots(1, 3, figsize=(FIG_W, FIG_H))
    engines = [c["engine"] for c in rows]
    for ax, (field, label, scale) in zip(axes, (("mean_ns", "mean latency (us)", 1e3),
                                                ("p99_ns", "p99 latency (us)", 1e3),
                                                ("untimed_ops_s", "untimed throughput (ops/s)", 1))):
        vals = [(c[field] or 0) / scale for c in rows]
        ax.bar(range(len(rows)), vals, color=[kv.engine_style(e)[0] for e in engines],
               hatch=None, edgecolor=["red" if not c["valid"] else "none" for c in rows])
        ax.set_xticks(range(len(rows)))
        ax.set_xticklabels(engines, rotation=45, ha="right", fontsize=6)
        ax.set_yscale("log")
        ax.set_title(label, fontsize=7)
        ax.tick_params(labelsize=6)
    fig.suptitle("%s, N=%s, keys %s" % (workload, kv.fmt_n(rows[0]["n"]), rows[0]["keyset"]), fontsize=8)
    fig.tight_layout()
    base = os.path.join(out, "figures", "ycsb_%s" % workload)
    fig.savefig(base + ".png", dpi=200)
    fig.savefig(base + ".pdf")
    plt.close(fig)
    return "figures/ycsb_%s.png" % workload


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--main", action="append", required=True, help="run dirs of YCSB A-F on uniform keys")
    ap.add_argument("--hard", action="append", default=[], help="run dirs on a hard key set")
    ap.add_argument("--note", default="")
    ap.add_argument("--bench-seconds", type=int, default=None)
    a = ap.parse_args()
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    os.makedirs(os.path.join(a.out, "figures"), exist_ok=True)
    try:
        main_res, _ = kv.load_run_dirs(a.main)
        hard_res, _ = kv.load_run_dirs(a.hard) if a.hard else ([], [])
    except kv.ResultError as e:
        kv.die(str(e))
    main_rows = sorted(cells(main_res).values(), key=order)
    hard_rows = sorted(cells(hard_res).values(), key=order)
    md = ["# make bench-ycsb", "",
          "YCSB core workloads (definitions and sources: workloads/README.md) on every engine, then one workload on "
          "a hard key set. Latencies are service times of the timed pass; untimed ops/s is the same op count "
          "again without per-op timing. Aggregate: " + kv.AGGREGATE + "; load: median over repetitions.", ""]
    if a.note:
        md += ["Setup: " + a.note + ".", ""]
    if a.bench_seconds is not None:
        md += ["Benchmarks took %d s (%.1f min) on this machine; other jobs may have shared it (see each "
               "result's `design.loadavg_before`)." % (a.bench_seconds, a.bench_seconds / 60), ""]
    md += ["Loads with per-key puts (SQLite ~30-130 us/key here) dominate the budget, so each (engine, repetition) "
           "loads once and runs the YCSB workloads in sequence on that store (`kvbench run --share-load`; the load "
           "column is filled on the first workload of each sequence, whose result holds the load phase); every "
           "cell runs one repetition with a moderate op count, and the hard-key-set "
           "run is limited to the learned index, a B+tree, an LSM and the floors (unless BENCH_HARD_ENGINES says "
           "otherwise). Figures from one repetition carry no confidence interval: treat differences under ~10% as "
           "noise.",
           "", "## Table", "", table(main_rows), ""]
    if hard_rows:
        w = hard_rows[0]["workload"]
        uni = [c for c in main_rows if c["workload"] == w and c["engine"] in {h["engine"] for h in hard_rows}]
        md += ["## Hard key set", "",
               "Key set `%s` (optimal PLA segments: %s at eps=32, %s at eps=4096) against the uniform keys "
               "(%s / %s) of the table above, workload %s." % (
                   hard_rows[0]["keyset"], hard_rows[0]["pla32"], hard_rows[0]["pla4096"],
                   uni[0]["pla32"] if uni else "?", uni[0]["pla4096"] if uni else "?", w), "",
               table(sorted(uni + hard_rows, key=order)), ""]
    md += ["## Figures", ""]
    for w in sorted({c["workload"] for c in main_rows}):
        rows = [c for c in main_rows if c["workload"] == w]
        md += ["### %s" % w, "", "![%s](%s)" % (w, figure(a.out, w, rows, plt)), ""]
    if hard_rows:
        png = figure(a.out, "%s-%s" % (hard_rows[0]["workload"], hard_rows[0]["keyset"]), hard_rows, plt)
        md += ["### %s on %s keys" % (hard_rows[0]["workload"], hard_rows[0]["keyset"]), "", "![hard](%s)" % png, ""]
    with open(os.path.join(a.out, "ycsb.md"), "w") as f:
        f.write("\n".join(md))
    with open(os.path.join(a.out, "ycsb.csv"), "w", newline="") as f:
        cols = ["workload", "keyset", "engine", "n", "reps", "ops", "mean_ns", "p99_ns", "untimed_ops_s",
                "load_ns_key", "valid", "pla32", "pla4096"]
        wr = csv.DictWriter(f, fieldnames=cols, lineterminator="\n")
        wr.writeheader()
        for c in main_rows + hard_rows:
            wr.writerow({k: c[k] for k in cols})
    print(table(main_rows + hard_rows))
    print("ycsb report: %s" % os.path.join(a.out, "ycsb.md"))


if __name__ == "__main__":
    main()
