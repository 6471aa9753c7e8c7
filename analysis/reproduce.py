#!/usr/bin/env python3
# Prints each measured figure beside the prototype's published one (analysis/prototype.json), with reasons.
"""usage: reproduce.py [--prototype FILE] [--tolerance 0.25] [--md FILE] [--tex FILE] [--allow-invalid] RUN_DIR...

For every published figure (engine, workload, N; single thread, durability none): our mean latency of
the measured phase (kvresults.AGGREGATE: mean of the repetitions' means, 95 % t-interval over valid
reps), measured/published, and whether it reproduces within the tolerance. Then the engine-vs-engine
speedups claimed vs measured (bootstrap CI), and the durability=sync runs beside the published numbers.

Reasons are of two kinds, and the page says which:
  measured    an ablation in the same runs: the figure under another page policy (--pages 4k) or engine
              option (-o alexstorage.hugepages=0) beside the main setup, ratio with bootstrap CI; the
              sync run beside the none run
  conjecture  everything else (prototype.json's reasons and general reasons), marked so
The main setup is the variant (page policy + engine options) most results ran under.
Exit 0 when done (a figure not reproducing is a finding, not an error); 1 unreadable input;
2 if a configuration used has an invalid repetition (unless --allow-invalid). Plain python3.
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kvresults as kv  # noqa: E402
from tables import Col, Table  # noqa: E402


class Runs:
    def __init__(self, results):
        self.groups = kv.group_results(results)
        self.primary = kv.primary_variant(results)
        self.invalid = []

    def find(self, engine, workload, n, durability, variant=None):
        """Valid per-rep mean latencies of (engine, workload, n, 1 thread, durability, variant)."""
        variant = self.primary if variant is None else variant
        rs = [r for k, g in self.groups.items() for r in g
              if k[:5] == (engine, workload, n, 1, durability) and k[8] == variant]
        self.invalid += kv.invalid_reasons(rs)
        vals = [kv.metric(kv.measured_phase(r), "mean_ns") for r in rs if kv.is_valid(r)]
        return [v for v in vals if v is not None]

    def other_variants(self, engine, workload, n, durability="none"):
        return sorted({k[8] for k in self.groups
                       if k[:5] == (engine, workload, n, 1, durability) and k[8] != self.primary})

    def measured_effects(self, engine, workload, n):
        """[(text, ratio)] for every ablation of this figure in the runs: variant vs the main setup."""
        base = self.find(engine, workload, n, "none")
        out = []
        if not base:
            return out
        for v in self.other_variants(engine, workload, n):
            alt = self.find(engine, workload, n, "none", v)
            if not alt:
                continue
            ratio = kv.mean(alt) / kv.mean(base)
            lo, hi = kv.bootstrap_ratio_ci(base, alt)
            out.append(("with `%s` the mean is %.0f ns vs %.0f ns with `%s`: x%.2f [95%% CI %.2f, %.2f], %s" % (
                v, kv.mean(alt), kv.mean(base), self.primary or "default", ratio, lo, hi,
                "its CI includes 1 (within noise)" if lo <= 1.0 <= hi else "its CI excludes 1"), ratio))
        sync = self.find(engine, workload, n, "sync")
        if sync and workload != "read":
            out.append(("at durability sync (fsync before each acknowledged write) the mean is %.0f ns, x%.2f of "
                        "durability none" % (kv.mean(sync), kv.mean(sync) / kv.mean(base)),
                        kv.mean(sync) / kv.mean(base)))
        return out


def verdict(ratio, tol):
    if ratio is None:
        return "not measured"
    if abs(ratio - 1.0) <= tol:
        return "reproduces"
    return "%s than published (x%.2f)" % ("slower" if ratio > 1 else "faster", ratio)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description="Compare measured kvbench numbers with the prototype's published ones.")
    ap.add_argument("run_dirs", nargs="+")
    ap.add_argument("--prototype", default=os.path.join(here, "prototype.json"))
    ap.add_argument("--tolerance", type=float, help="relative tolerance (default from prototype.json)")
    ap.add_argument("--md", help="also write the page as Markdown here")
    ap.add_argument("--tex", help="also write a LaTeX table (for \\input) here")
    ap.add_argument("--allow-invalid", action="store_true")
    a = ap.parse_args()
    with open(a.prototype) as f:
        proto = json.load(f)
    tol = a.tolerance if a.tolerance is not None else proto.get("tolerance", 0.25)
    try:
        results, _ = kv.load_run_dirs(a.run_dirs)
    except kv.ResultError as e:
        kv.die(str(e))
    runs = Runs(results)
    lines = []
    out = lines.append

    out("Reproduction of %s, published %s; tolerance +-%d %%. Ours: %s; 1 thread, durability none, "
        "engine setup `%s`." % (proto["source"], proto["date"], round(tol * 100), kv.AGGREGATE,
                                runs.primary or "default"))
    out("")
    figs = Table([Col("id", "Figure"), Col("engine", "Engine"), Col("workload", "Workload"), Col("n", "N"),
                  Col("pub", "Published", "ns", "ns"),
                  Col("mean", "Measured ± 95% CI", "ns", "ns_ci", ci_key="ci"), Col("reps", "Reps", kind="int"),
                  Col("ratio", "Measured/published", kind="ratio"), Col("verdict", "Verdict")],
                 "Published prototype figures (%s) vs. our measurements (mean of repetition means, 95%% "
                 "t-interval; reproduces = within ±%d%%)." % (proto["date"], round(tol * 100)), "tab:repro")
    notes = []
    for fig in proto["figures"]:
        vals = runs.find(fig["engine"], fig["workload"], fig["n"], "none")
        bad = kv.invalid_reasons([r for k, g in runs.groups.items() for r in g
                                  if k[:5] == (fig["engine"], fig["workload"], fig["n"], 1, "none")])
        m, hw = kv.t_interval(vals)
        ratio = m / fig["ns"] if m else None
        v = verdict(ratio, tol)
        figs.add(id=fig["id"], engine=fig["engine"], workload=fig["workload"], n=kv.fmt_n(fig["n"]), pub=fig["ns"],
                 mean=m, ci=hw if len(vals) > 1 else None, reps=len(vals), ratio=ratio,
                 verdict=v + (" [INVALID reps]" if bad else ""))
        if ratio is not None and v != "reproduces":
            reasons = ["measured: " + t for t, _ in runs.measured_effects(fig["engine"], fig["workload"], fig["n"])]
            reasons += ["conjecture: " + r for r in fig.get("reasons", [])]
            notes.append(("%s (%s, %s, N=%s; source: %s): measured %.0f ns vs published %s ns (x%.2f)." % (
                fig["id"], fig["engine"], fig["workload"], kv.fmt_n(fig["n"]), fig["section"], m,
                "{:,}".format(fig["ns"]), ratio), reasons))
    out(figs.markdown())
    measured_n = sorted({k[2] for k in runs.groups if k[4] == "none" and k[3] == 1})
    proto_n = sorted({f["n"] for f in proto["figures"]})
    if not set(measured_n) & set(proto_n):
        out("Note: no measurement at the prototype's N (%s); this run measured N = %s, so nothing can be compared."
            % (", ".join(kv.fmt_n(n) for n in proto_n), ", ".join(kv.fmt_n(n) for n in measured_n) or "none"))
        out("")
    if notes:
        out("Figures that do not reproduce within +-%d %%. Reasons marked *measured* come from ablations in "
            "these runs; reasons marked *conjecture* were not measured:" % round(tol * 100))
        out("")
        for head, reasons in notes:
            out("- " + head)
            for r in reasons or ["conjecture: see the general reasons below"]:
                kind, text = r.split(": ", 1)
                out("  - *%s*: %s" % (kind, text))
        out("")
        out("General reasons our numbers can differ from the prototype's (all *conjecture*: not measured):")
        for g in proto["generic_reasons"]:
            out("- *conjecture*: " + g)
        for w, t in proto.get("workload_notes", {}).items():
            out("- workload %s: %s" % (w, t))
        out("")

    # every ablation in the runs, whether or not a published figure needs it
    abl = Table([Col("engine", "Engine"), Col("workload", "Workload"), Col("n", "N"), Col("variant", "Setup"),
                 Col("mean", "Mean ± 95% CI", "ns", "ns_ci", ci_key="ci"), Col("ratio", "vs main setup", kind="ratio"),
                 Col("ci_txt", "Ratio 95% CI")],
                "Measured ablations: the same figure under another page policy or engine option, beside the main "
                "setup `%s` (ratio = other / main; bootstrap CI over repetitions)." % (runs.primary or "default"),
                "tab:ablation")
    for k in kv.sorted_keys(runs.groups):
        if k[3] != 1 or k[4] != "none" or k[8] == runs.primary:
            continue
        base = runs.find(k[0], k[1], k[2], "none")
        alt = runs.find(k[0], k[1], k[2], "none", k[8])
        if not base or not alt:
            continue
        lo, hi = kv.bootstrap_ratio_ci(base, alt)
        m, hw = kv.t_interval(alt)
        abl.add(engine=k[0], workload=k[1], n=kv.fmt_n(k[2]), variant=k[8], mean=m, ci=hw if len(alt) > 1 else None,
                ratio=kv.mean(alt) / kv.mean(base), ci_txt="[%.2f, %.2f]" % (lo, hi))
    if abl.rows:
        out("Measured ablations (same machine, same run series; ratio > 1: slower than the main setup `%s`):"
            % (runs.primary or "default"))
        out("")
        out(abl.markdown())

    out("Engine vs engine (speedup = slower engine's mean latency / faster engine's; CI: bootstrap over reps)")
    out("")
    claims = Table([Col("label", "Claim"), Col("workload", "Workload"), Col("n", "N"),
                    Col("claimed", "Claimed speedup", "x", "ratio"), Col("measured", "Measured speedup", "x", "ratio"),
                    Col("ci_txt", "95% CI"), Col("verdict", "Verdict")],
                   "Speedups claimed by the prototype vs measured.", "tab:claims")
    for c in proto["claims"]:
        fa = runs.find(c["faster"], c["workload"], c["n"], "none")
        sl = runs.find(c["slower"], c["workload"], c["n"], "none")
        label = "%s vs %s" % (c["faster"], c["slower"])
        if not fa or not sl:
            claims.add(label=label, workload=c["workload"], n=kv.fmt_n(c["n"]), claimed=c["speedup"],
                       measured=None, ci_txt="n/a", verdict="not measured")
            continue
        sp = kv.mean(sl) / kv.mean(fa)
        lo, hi = kv.bootstrap_ratio_ci(fa, sl)
        if lo <= c["speedup"] <= hi or abs(sp / c["speedup"] - 1) <= tol:
            v = "reproduces"
        elif sp < 1.0:
            v = "reversed: %s is faster" % c["slower"]
        else:
            v = "%s (%.0f %% of the claim)" % ("smaller" if sp < c["speedup"] else "larger", 100 * sp / c["speedup"])
        claims.add(label=label, workload=c["workload"], n=kv.fmt_n(c["n"]), claimed=c["speedup"], measured=sp,
                   ci_txt="[%.2f, %.2f]" % (lo, hi), verdict=v)
    out(claims.markdown())

    sync = Table([Col("engine", "Engine"), Col("workload", "Workload"), Col("n", "N"),
                  Col("sync", "Sync ± 95% CI", "ns", "ns_ci", ci_key="ci"), Col("none", "None", "ns", "ns"),
                  Col("pub", "Published", "ns", "ns"), Col("closer", "Published is closer to")],
                 "Durability sync (fsync before every acknowledged write) beside our none figure and the "
                 "published one.", "tab:sync")
    for k in kv.sorted_keys(runs.groups):
        if k[4] == "sync" and k[3] == 1 and k[8] == runs.primary:
            vals = runs.find(k[0], k[1], k[2], "sync")
            m, hw = kv.t_interval(vals)
            pub = next((f for f in proto["figures"] if (f["engine"], f["workload"], f["n"]) == k[:3]), None)
            none_vals = runs.find(k[0], k[1], k[2], "none")
            none_m = kv.mean(none_vals) if none_vals else None
            closer = "-"
            if pub and m and none_m:
                closer = "sync" if abs(m - pub["ns"]) < abs(none_m - pub["ns"]) else "none"
            sync.add(engine=k[0], workload=k[1], n=kv.fmt_n(k[2]), sync=m, ci=hw if len(vals) > 1 else None,
                     none=none_m, pub=pub["ns"] if pub else None, closer=closer)
    if sync.rows:
        out("Durability sync (fsync before every acknowledged write), beside the published and our `none` figure:")
        out("")
        out(sync.markdown())
    invalid = sorted(set(runs.invalid))
    if invalid:
        out("INVALID repetitions among the configurations used:")
        for x in invalid:
            out("- " + x)
    text = "\n".join(lines)
    print(text)
    if a.md:
        with open(a.md, "w") as f:
            f.write("# Reproduction of the prototype's published numbers\n\n" + text + "\n")
    if a.tex:
        with open(a.tex, "w") as f:
            f.write(figs.latex("analysis/reproduce.py"))
            f.write(claims.latex())
            if abl.rows:
                f.write(abl.latex())
    if invalid and not a.allow_invalid:
        sys.stderr.write("reproduce: %d invalid repetition(s) among the configurations used (see above)\n"
                         % len(invalid))
        sys.exit(2)


if __name__ == "__main__":
    main()
