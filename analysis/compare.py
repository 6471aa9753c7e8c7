#!/usr/bin/env python3
# Compares two kvbench runs: per engine/workload/metric ratio B/A, bootstrap CI, Mann-Whitney U, verdict.
"""usage: compare.py [--metrics m1,m2] [--alpha 0.05] [--csv FILE] [--fail-on-slower] RUN_A RUN_B

For every configuration (engine, workload, N, threads, durability, ...) present in both runs and every
metric (default mean_ns, p50_ns, p99_ns, ops_per_sec) of the measured phase, over repetitions:
  ratio      mean(B) / mean(A)
  CI         95 % percentile bootstrap of that ratio, resampling each side's reps (exact enumeration of
             all resamples for small rep counts, else 4,000 seeded resamples)
  p          two-sided Mann-Whitney U test (exact for small tie-free samples, else normal approx.)
  verdict    "B faster" / "B slower" / "no significant difference"
A difference is significant when the CI excludes 1 and p < alpha. With 3 vs 3 repetitions the exact
U test cannot go below p = 0.10; then a two-sided Welch t-test on log values (p < alpha) replaces it
and the verdict says so.
For latency metrics lower is faster; for ops_per_sec* higher is faster.
Invalid repetitions are excluded from the statistics and the row is flagged INVALID.
Exit: 0 done, 1 unreadable input, 3 with --fail-on-slower when some B is significantly slower.
Plain python3 (no numpy/scipy needed).
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kvresults as kv  # noqa: E402
from tables import Col, Table  # noqa: E402

DEFAULT_METRICS = ["mean_ns", "p50_ns", "p99_ns", "ops_per_sec"]


def rep_values(rs, name):
    vals = []
    for r in rs:
        if not kv.is_valid(r):
            continue
        v = kv.metric(kv.measured_phase(r), name)
        if v is not None:
            vals.append(v)
    return vals


def compare(groups_a, groups_b, metrics, alpha):
    rows = []
    for key in kv.sorted_keys(set(groups_a) & set(groups_b)):
        ra, rb = groups_a[key], groups_b[key]
        flag = "" if all(kv.is_valid(r) for r in ra + rb) else "INVALID reps excluded"
        for m in metrics:
            a, b = rep_values(ra, m), rep_values(rb, m)
            row = dict(kv.config_dict(key), metric=m, n_a=len(a), n_b=len(b), flag=flag)
            if not a or not b or kv.mean(a) <= 0:
                row.update(mean_a=None, mean_b=None, ratio=None, ci_lo=None, ci_hi=None, p=None, p_welch=None,
                           test="n/a", verdict="not comparable (no valid reps)")
                rows.append(row)
                continue
            ratio = kv.mean(b) / kv.mean(a)
            lo, hi = kv.bootstrap_ratio_ci(a, b)
            _, p, method = kv.mann_whitney_u(a, b)
            ci_excl = lo is not None and (lo > 1.0 or hi < 1.0)
            u_can = kv.min_attainable_p(len(a), len(b)) < alpha or method != "exact"
            p_t = None if u_can else kv.welch_t_test(a, b)
            significant = ci_excl and (p < alpha if u_can else (p_t is not None and p_t < alpha))
            if significant:
                worse = ratio > 1.0 if m not in kv.HIGHER_IS_BETTER else ratio < 1.0
                verdict = "B slower" if worse else "B faster"
                if not u_can:
                    verdict += " (CI + Welch t p=%.3f; U test cannot reach alpha)" % p_t
            else:
                verdict = "no significant difference"
            row.update(mean_a=kv.mean(a), mean_b=kv.mean(b), ratio=ratio, ci_lo=lo, ci_hi=hi, p=p, test=method,
                       p_welch=p_t, verdict=verdict)
            rows.append(row)
    return rows


def main():
    ap = argparse.ArgumentParser(description="Compare two kvbench run directories (B relative to A).")
    ap.add_argument("run_a")
    ap.add_argument("run_b")
    ap.add_argument("--metrics", default=",".join(DEFAULT_METRICS),
                    help="comma list of mean_ns,p50_ns,p90_ns,p99_ns,p999_ns,max_ns,ops_per_sec,"
                         "ops_per_sec_untimed (default %(default)s)")
    ap.add_argument("--alpha", type=float, default=0.05)
    ap.add_argument("--csv", help="also write the table as CSV to this file")
    ap.add_argument("--fail-on-slower", action="store_true", help="exit 3 if B is significantly slower anywhere")
    a = ap.parse_args()
    try:
        res_a, _ = kv.load_run_dirs([a.run_a])
        res_b, _ = kv.load_run_dirs([a.run_b])
    except kv.ResultError as e:
        kv.die(str(e))
    ga, gb = kv.group_results(res_a), kv.group_results(res_b)
    only_a = set(ga) - set(gb)
    only_b = set(gb) - set(ga)
    rows = compare(ga, gb, [m.strip() for m in a.metrics.split(",") if m.strip()], a.alpha)
    if not rows:
        kv.die("the two runs have no configuration in common")
    print("A = %s\nB = %s\n" % (a.run_a, a.run_b))
    cfg = [Col(f, f, kind="int" if f in ("n", "threads", "value_size") else "text") for f in kv.CONFIG_FIELDS]
    shown = Table([c for c in cfg if c.key in ("engine", "workload", "n", "threads", "durability")] + [
        Col("metric", "metric"), Col("mean_a", "mean A", kind="ops"), Col("mean_b", "mean B", kind="ops"),
        Col("ratio", "B/A", kind="ratio"), Col("ci", "95% CI of B/A"), Col("p", "p(U)", kind="ratio"),
        Col("verdict_flag", "verdict")])
    for r in rows:
        shown.add(**r, ci="-" if r["ratio"] is None else "[%.3f, %.3f]" % (r["ci_lo"], r["ci_hi"]),
                  verdict_flag=r["verdict"] + ("  [%s]" % r["flag"] if r["flag"] else ""))
    print(shown.text(), end="")
    for k in kv.sorted_keys(only_a):
        print("only in A: %s" % "/".join(str(x) for x in k))
    for k in kv.sorted_keys(only_b):
        print("only in B: %s" % "/".join(str(x) for x in k))
    if a.csv:
        raw = Table([Col(k, k) for k in rows[0].keys()])
        raw.rows = rows
        with open(a.csv, "w", newline="") as f:
            f.write(raw.csv_text())
    slower = [r for r in rows if r["verdict"].startswith("B slower")]
    print("\n%d comparisons: %d B slower, %d B faster, %d no significant difference" % (
        len(rows), len(slower), sum(r["verdict"].startswith("B faster") for r in rows),
        sum(r["verdict"] == "no significant difference" for r in rows)))
    if a.fail_on_slower and slower:
        sys.exit(3)


if __name__ == "__main__":
    main()
