#!/usr/bin/env python3
# Prints each measured figure beside the prototype's published one (analysis/prototype.json), with reasons.
"""usage: reproduce.py [--prototype FILE] [--tolerance 0.25] [--md FILE] [--tex FILE] [--allow-invalid] RUN_DIR...

For every published figure (engine, workload, N; single thread): our mean latency of the measured phase
at durability `none` (95 % t-interval over valid reps), measured/published, and whether it reproduces
within the tolerance; for those that do not, the likely reasons. Then the engine-vs-engine speedups
claimed vs measured (bootstrap CI), and the durability=sync runs beside the published numbers.
Exit 0 when done (a figure not reproducing is a finding, not an error); 1 unreadable input;
2 if a configuration used has an invalid repetition (unless --allow-invalid).
Plain python3.
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kvresults as kv  # noqa: E402


def find(groups, engine, workload, n, durability):
    """Valid per-rep mean latencies and the results of (engine, workload, n, 1 thread, durability)."""
    rs = [r for k, g in groups.items() for r in g
          if k[0] == engine and k[1] == workload and k[2] == n and k[3] == 1 and k[4] == durability]
    vals = [kv.metric(kv.measured_phase(r), "mean_ns") for r in rs if kv.is_valid(r)]
    return [v for v in vals if v is not None], rs


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
    ap.add_argument("--md", help="also write the tables as Markdown here")
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
    groups = kv.group_results(results)
    invalid = []
    lines = []
    out = lines.append

    out("Reproduction of %s, published %s; tolerance +-%d %%; ours: mean of the measured phase, 1 thread, "
        "durability none, 95 %% t-interval over valid reps" % (proto["source"], proto["date"], round(tol * 100)))
    out("")
    head = "| figure | engine | workload | N | published ns | measured ns (95% CI) | reps | measured/published | verdict |"
    out(head)
    out("|---|---|---|---|---|---|---|---|---|")
    tex_rows, notes = [], []
    for fig in proto["figures"]:
        vals, rs = find(groups, fig["engine"], fig["workload"], fig["n"], "none")
        invalid += kv.invalid_reasons(rs)
        m, hw = kv.t_interval(vals)
        ratio = m / fig["ns"] if m else None
        v = verdict(ratio, tol)
        meas = "n/a" if m is None else ("%.0f +- %.0f" % (m, hw) if len(vals) > 1 else "%.0f (1 rep)" % m)
        out("| %s | %s | %s | %s | %s | %s | %d | %s | %s |" % (
            fig["id"], fig["engine"], fig["workload"], kv.fmt_n(fig["n"]), "{:,}".format(fig["ns"]), meas, len(vals),
            "-" if ratio is None else "%.2f" % ratio, v + (" [INVALID reps]" if kv.invalid_reasons(rs) else "")))
        tex_rows.append((fig["engine"], fig["workload"], kv.fmt_n(fig["n"]), "{:,}".format(fig["ns"]),
                         "n/a" if m is None else ("%.0f $\\pm$ %.0f" % (m, hw) if len(vals) > 1 else "%.0f" % m),
                         "--" if ratio is None else "%.2f" % ratio, v.replace(" than published", "")))
        if ratio is not None and v != "reproduces":
            notes.append("%s (%s, %s, N=%s; source: %s): measured %.0f ns vs published %s ns (x%.2f). Likely "
                         "reasons: %s" % (fig["id"], fig["engine"], fig["workload"], kv.fmt_n(fig["n"]),
                                          fig["section"], m, "{:,}".format(fig["ns"]), ratio,
                                          "; ".join(fig.get("reasons", []) + ["see the general reasons below"])))
    out("")
    measured_n = sorted({k[2] for k in groups if k[4] == "none" and k[3] == 1})
    proto_n = sorted({f["n"] for f in proto["figures"]})
    if not set(measured_n) & set(proto_n):
        out("Note: no measurement at the prototype's N (%s); this run measured N = %s, so nothing can be compared."
            % (", ".join(kv.fmt_n(n) for n in proto_n), ", ".join(kv.fmt_n(n) for n in measured_n) or "none"))
        out("")
    if notes:
        out("Figures that do not reproduce within +-%d %%:" % round(tol * 100))
        for n_ in notes:
            out("- " + n_)
        out("")
        out("General reasons our numbers can differ from the prototype's:")
        for g in proto["generic_reasons"]:
            out("- " + g)
        for w, t in proto.get("workload_notes", {}).items():
            out("- workload %s: %s" % (w, t))
        out("")

    out("Engine vs engine (speedup = slower engine's mean latency / faster engine's; CI: bootstrap over reps)")
    out("")
    out("| claim | workload | N | claimed speedup | measured speedup (95% CI) | verdict |")
    out("|---|---|---|---|---|---|")
    claim_tex = []
    for c in proto["claims"]:
        fa, ra = find(groups, c["faster"], c["workload"], c["n"], "none")
        sl, rb = find(groups, c["slower"], c["workload"], c["n"], "none")
        invalid += kv.invalid_reasons(ra) + kv.invalid_reasons(rb)
        label = "%s vs %s" % (c["faster"], c["slower"])
        if not fa or not sl:
            out("| %s | %s | %s | %.2fx | n/a | not measured |" % (label, c["workload"], kv.fmt_n(c["n"]), c["speedup"]))
            claim_tex.append((label, c["workload"], kv.fmt_n(c["n"]), "%.2f" % c["speedup"], "n/a", "not measured"))
            continue
        sp = kv.mean(sl) / kv.mean(fa)
        lo, hi = kv.bootstrap_ratio_ci(fa, sl)
        if lo <= c["speedup"] <= hi or abs(sp / c["speedup"] - 1) <= tol:
            v = "reproduces"
        elif sp < 1.0:
            v = "reversed: %s is faster" % c["slower"]
        else:
            v = "%s (%.0f %% of the claim)" % ("smaller" if sp < c["speedup"] else "larger", 100 * sp / c["speedup"])
        out("| %s | %s | %s | %.2fx | %.2fx [%.2f, %.2f] | %s |" % (label, c["workload"], kv.fmt_n(c["n"]),
                                                                   c["speedup"], sp, lo, hi, v))
        claim_tex.append((label, c["workload"], kv.fmt_n(c["n"]), "%.2f" % c["speedup"],
                          "%.2f [%.2f, %.2f]" % (sp, lo, hi), v))
    out("")

    sync_rows = []
    for k in kv.sorted_keys(groups):
        if k[4] == "sync" and k[3] == 1:
            vals, rs = find(groups, k[0], k[1], k[2], "sync")
            invalid += kv.invalid_reasons(rs)
            m, hw = kv.t_interval(vals)
            pub = next((f for f in proto["figures"] if (f["engine"], f["workload"], f["n"]) == k[:3]), None)
            none_vals, _ = find(groups, k[0], k[1], k[2], "none")
            sync_rows.append((k, m, hw, pub, kv.mean(none_vals) if none_vals else None))
    if sync_rows:
        out("Durability sync (fsync before every acknowledged write), beside the published and our `none` figure:")
        out("")
        out("| engine | workload | N | sync ns (95% CI) | none ns | published ns | published is closer to |")
        out("|---|---|---|---|---|---|---|")
        for k, m, hw, pub, none_m in sync_rows:
            closer = "-"
            if pub and m and none_m:
                closer = "sync" if abs(m - pub["ns"]) / pub["ns"] < abs(none_m - pub["ns"]) / pub["ns"] else "none"
            out("| %s | %s | %s | %s | %s | %s | %s |" % (
                k[0], k[1], kv.fmt_n(k[2]), "n/a" if m is None else ("%.0f +- %.0f" % (m, hw) if hw else "%.0f" % m),
                "n/a" if none_m is None else "%.0f" % none_m, "-" if not pub else "{:,}".format(pub["ns"]), closer))
        out("")
    if invalid:
        out("INVALID repetitions among the configurations used:")
        for x in sorted(set(invalid)):
            out("- " + x)
    text = "\n".join(lines)
    print(text)
    if a.md:
        with open(a.md, "w") as f:
            f.write("# Reproduction of the prototype's published numbers\n\n" + text + "\n")
    if a.tex:
        write_tex(a.tex, proto, tol, tex_rows, claim_tex)
    if invalid and not a.allow_invalid:
        sys.stderr.write("reproduce: %d invalid repetition(s) among the configurations used (see above)\n"
                         % len(set(invalid)))
        sys.exit(2)


def write_tex(path, proto, tol, rows, claims):
    with open(path, "w") as f:
        f.write("%% generated by analysis/reproduce.py\n\\begin{table*}[t]\n\\centering\\footnotesize\n")
        f.write("\\caption{Published prototype figures (%s) vs.\\ our measurements (mean ns/op, 95\\%% CI; "
                "reproduces = within $\\pm$%d\\%%).}\\label{tab:repro}\n" % (proto["date"], round(tol * 100)))
        f.write("\\setlength{\\tabcolsep}{3pt}\n"
                "\\resizebox{\\ifdim\\width>\\textwidth\\textwidth\\else\\width\\fi}{!}{%\n"
                "\\begin{tabular}{llrrrrl}\n\\hline\n"
                "Engine & Wl. & N & Publ. & Measured & Ratio & Verdict \\\\\n\\hline\n")
        for r in rows:
            f.write(" & ".join(str(c) for c in r) + " \\\\\n")
        f.write("\\hline\n\\multicolumn{3}{l}{Speedup claim} & Claimed & \\multicolumn{2}{r}{Measured [CI]} & \\\\\n"
                "\\hline\n")
        for c in claims:
            f.write("\\multicolumn{3}{l}{%s, %s, %s} & %s & \\multicolumn{2}{r}{%s} & %s \\\\\n" % (
                c[0], c[1], c[2], c[3], c[4], c[5].replace("%", "\\%")))
        f.write("\\hline\n\\end{tabular}}\n\\end{table*}\n")


if __name__ == "__main__":
    main()
