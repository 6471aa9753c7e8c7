#!/usr/bin/env python3
# Figures (PDF+PNG), tables (LaTeX/Markdown/CSV) and report.md/.html from one or more kvbench run dirs.
"""usage: report.py [--out DIR] [--quiet] [--no-figures] RUN_DIR [RUN_DIR ...]

Writes DIR (default <first run dir>/report/):
  figures/*.pdf, figures/*.png      bars, CDFs, sweep, threads figures (3.3 x 2.25 in, PNG 200 dpi)
  tables/results.{csv,md,tex}       measured-phase results per engine/workload/N/threads/durability
  tables/load.{csv,md,tex}          load-phase results
  tables/perf.{csv,md,tex}          perf counters per operation (n/a where unavailable)
  setup.tex, figures.tex            for the paper (\\input)
  report.md, report.html, figures.json
Several run dirs are merged: the same configuration in two runs pools its repetitions.
"""
import os
import sys

PREFERRED_PYTHON = "/usr/bin/python3"


def _ensure_matplotlib():
    """Re-exec under the system python when this interpreter cannot import matplotlib."""
    try:
        import matplotlib  # noqa: F401
        return
    except ImportError:
        pass
    if os.path.realpath(sys.executable) != os.path.realpath(PREFERRED_PYTHON) and os.access(PREFERRED_PYTHON,
                                                                                              os.X_OK):
        os.execv(PREFERRED_PYTHON, [PREFERRED_PYTHON] + sys.argv)
    sys.stderr.write("error: report.py needs matplotlib, and neither %s nor %s can import it.\n"
                     "       On Debian: apt-get install python3-matplotlib\n" % (sys.executable, PREFERRED_PYTHON))
    sys.exit(1)


_ensure_matplotlib()

import argparse  # noqa: E402
import csv  # noqa: E402
import html  # noqa: E402
import json  # noqa: E402

import matplotlib  # noqa: E402
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import EngFormatter, LogLocator  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kvresults as kv  # noqa: E402

FIG_W = 3.3          # inches: one column of a two-column paper
FIG_H = 2.25
DPI = 200
matplotlib.rcParams.update({
    "pdf.fonttype": 42, "ps.fonttype": 42,          # TrueType fonts embedded, editable text
    "font.size": 7, "axes.titlesize": 7, "axes.labelsize": 7, "legend.fontsize": 6,
    "xtick.labelsize": 6, "ytick.labelsize": 6, "lines.linewidth": 1.0, "lines.markersize": 3.5,
    "axes.grid": True, "grid.alpha": 0.3, "grid.linewidth": 0.4, "savefig.dpi": DPI,
    "figure.dpi": DPI, "hatch.linewidth": 0.6,
})
INVALID_HATCH = "////"


class Report:
    def __init__(self, run_dirs, out, quiet, figures=True):
        self.draw = figures
        self.run_dirs = run_dirs
        self.out = out
        self.quiet = quiet
        self.results, self.manifests = kv.load_run_dirs(run_dirs)
        self.groups = kv.group_results(self.results)
        self.summary = {}
        for k in kv.sorted_keys(self.groups):
            s = kv.summarize_group(self.groups[k])
            if s is not None:
                self.summary[k] = s
        self.figures = []        # dicts: name, title, caption, pdf, png, width_px, height_px
        os.makedirs(os.path.join(out, "figures"), exist_ok=True)
        os.makedirs(os.path.join(out, "tables"), exist_ok=True)

    # ------------------------------------------------------------ figure plumbing
    def save(self, fig, name, title, caption):
        base = os.path.join(self.out, "figures", name)
        fig.savefig(base + ".pdf")
        fig.savefig(base + ".png", dpi=DPI)
        w, h = fig.get_size_inches()
        plt.close(fig)
        self.figures.append({"name": name, "title": title, "caption": caption, "pdf": "figures/%s.pdf" % name,
                             "png": "figures/%s.png" % name, "width_px": int(round(w * DPI)),
                             "height_px": int(round(h * DPI))})

    def configs(self, *fields):
        """Distinct values of the given config fields over all groups, sorted."""
        vals = set()
        for k in self.summary:
            d = kv.config_dict(k)
            vals.add(tuple(d[f] for f in fields))
        return sorted(vals, key=lambda t: tuple(str(x).zfill(12) if isinstance(x, int) else str(x) for x in t))

    def select(self, **want):
        out = {}
        for k, s in self.summary.items():
            d = kv.config_dict(k)
            if all(d[f] == v for f, v in want.items()):
                out[k] = s
        return out

    @staticmethod
    def legend_top(ax, handles=None, labels=None, ncol=3):
        if handles is None:
            handles, labels = ax.get_legend_handles_labels()
        if handles:
            small = {}
            if len(handles) > 6:  # up to 13 engines: at most three rows above the axes, in a smaller font
                ncol = max(ncol, -(-len(handles) // 3))
                small = {"fontsize": 5, "handlelength": 1.2, "columnspacing": 0.6}
            ax.legend(handles, labels, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=ncol, frameon=False,
                      **{"handlelength": 1.6, "columnspacing": 1.0, "borderaxespad": 0.2, **small})

    # ------------------------------------------------------------ bars
    def fig_bars(self):
        for (n, threads, dur, vsize) in self.configs("n", "threads", "durability", "value_size"):
            sel = self.select(n=n, threads=threads, durability=dur, value_size=vsize)
            workloads = sorted({k[1] for k in sel}, key=kv.workload_sort_key)
            engines = sorted({k[0] for k in sel}, key=kv.engine_sort_key)
            if not workloads:
                continue
            fig, ax = plt.subplots(figsize=(FIG_W, FIG_H), layout="constrained")
            width = 0.8 / len(engines)
            vals = [s["mean_ns"] for s in sel.values() if s["mean_ns"]]
            log = bool(vals) and max(vals) / max(min(vals), 1e-9) > 30
            for ei, e in enumerate(engines):
                colour, marker = kv.engine_style(e)
                for wi, w in enumerate(workloads):
                    s = next((s for k, s in sel.items() if k[0] == e and k[1] == w), None)
                    if s is None or s["mean_ns"] is None:
                        continue
                    x = wi - 0.4 + width * (ei + 0.5)
                    inv = not s["valid"]
                    ax.bar(x, s["mean_ns"], width * 0.92, color=colour, edgecolor="black", linewidth=0.4,
                           hatch=INVALID_HATCH if inv else None, alpha=0.55 if inv else 1.0,
                           label=e if wi == 0 or not any(k[0] == e and k[1] in workloads[:wi] for k in sel)
                           else None)
                    ci = s["mean_ci"] or 0.0
                    # the CI can reach below zero with few reps: clip it at the axis (log or linear)
                    low = min(ci, s["mean_ns"] * (0.999 if log else 1.0))
                    ax.errorbar(x, s["mean_ns"], yerr=[[low], [ci]], fmt="none", ecolor="black",
                                elinewidth=0.6, capsize=1.5)
                    if s["p50_ns"]:
                        ax.plot(x, s["p50_ns"], marker=marker, color="white", markeredgecolor="black",
                                markeredgewidth=0.5, markersize=3, linestyle="none")
                    if inv:
                        ax.text(x, s["mean_ns"] * (1.15 if log else 1.03), "INVALID", rotation=90, ha="center",
                                va="bottom", fontsize=5, color="red", fontweight="bold")
            ax.set_xticks(range(len(workloads)))
            ax.set_xticklabels(workloads)
            ax.set_xlabel("workload (measured phase)")
            ax.set_ylabel("mean latency (ns/op)")
            if log:
                ax.set_yscale("log")
                ax.set_ylim(top=ax.get_ylim()[1] * 3)
            else:
                ax.set_ylim(bottom=0, top=ax.get_ylim()[1] * 1.12)
                ax.yaxis.set_major_formatter(EngFormatter(sep=""))
            ax.grid(axis="x", visible=False)
            self.legend_top(ax, ncol=min(len(engines), 3))
            name = "bars_n%s_t%d_%s" % (kv.fmt_n(n), threads, dur)
            self.save(fig, name, "Mean latency, N=%s, %d thread(s), durability %s" % (kv.fmt_n(n), threads, dur),
                      "Mean latency per operation of the measured phase (N=%s, %d thread(s), durability %s, "
                      "%d-byte values); error bars: 95%% t-interval over repetitions; white markers: "
                      "median (p50) operation latency; hatched bars: INVALID runs." % (
                          kv.fmt_n(n), threads, dur, vsize))

    # ------------------------------------------------------------ CDFs
    def fig_cdfs(self):
        for (w, n, threads, dur) in self.configs("workload", "n", "threads", "durability"):
            sel = self.select(workload=w, n=n, threads=threads, durability=dur)
            if not sel:
                continue
            fig, ax = plt.subplots(figsize=(FIG_W, FIG_H), layout="constrained")
            for k in sorted(sel, key=lambda k: kv.engine_sort_key(k[0])):
                s = sel[k]
                if not s["histogram"]:
                    continue
                colour, marker = kv.engine_style(k[0])
                xs, ys = kv.hist_cdf(s["histogram"])
                inv = not s["valid"]
                ax.step(xs, ys, where="post", color=colour, linestyle="--" if inv else "-",
                        label=k[0] + (" (INVALID)" if inv else ""))
                for q, mk_size in ((0.5, 3.5), (0.99, 3.5), (0.999, 3.5)):
                    xq = kv.hist_percentile(s["histogram"], q)
                    ax.plot([xq], [q], marker=marker, color=colour, markersize=mk_size,
                            markerfacecolor="white" if inv else colour, linestyle="none")
            ax.set_xscale("log")
            ax.xaxis.set_major_locator(LogLocator(base=10))
            ax.set_xlabel("operation latency (ns, log scale)")
            ax.set_ylabel("fraction of operations")
            ax.set_ylim(0, 1.02)
            for q in (0.5, 0.99, 0.999):
                ax.axhline(q, color="grey", linewidth=0.3, linestyle=":")
            self.legend_top(ax, ncol=3)
            name = "cdf_%s_n%s_t%d_%s" % (w, kv.fmt_n(n), threads, dur)
            self.save(fig, name, "Latency CDF, %s, N=%s" % (w, kv.fmt_n(n)),
                      "Latency CDF of the %s phase (N=%s, %d thread(s), durability %s), all repetitions' "
                      "histograms merged; markers at p50, p99 and p99.9; dashed: INVALID." % (
                          w, kv.fmt_n(n), threads, dur))

    # ------------------------------------------------------------ sweep over N
    def fig_sweep(self):
        for (w, threads, dur) in self.configs("workload", "threads", "durability"):
            sel = self.select(workload=w, threads=threads, durability=dur)
            sizes = sorted({k[2] for k in sel})
            if len(sizes) < 2:
                continue
            engines = sorted({k[0] for k in sel}, key=kv.engine_sort_key)
            # percentiles
            fig, ax = plt.subplots(figsize=(FIG_W, FIG_H), layout="constrained")
            for e in engines:
                colour, marker = kv.engine_style(e)
                pts = sorted((k[2], s) for k, s in sel.items() if k[0] == e)
                for q, ls in (("p50_ns", "-"), ("p99_ns", "--"), ("p999_ns", ":")):
                    ax.plot([p[0] for p in pts], [p[1][q] for p in pts], color=colour, marker=marker,
                            linestyle=ls, label=e if q == "p50_ns" else None)
                for nn, s in pts:
                    if not s["valid"]:
                        ax.plot([nn], [s["p50_ns"]], marker="o", markersize=8, markerfacecolor="none",
                                markeredgecolor="red", linestyle="none")
                        ax.annotate("INVALID", (nn, s["p50_ns"]), fontsize=5, color="red", xytext=(3, -8),
                                    textcoords="offset points")
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel("number of keys N (log scale)")
            ax.set_ylabel("latency (ns, log scale)")
            h, lab = ax.get_legend_handles_labels()
            from matplotlib.lines import Line2D
            h += [Line2D([], [], color="black", linestyle=ls) for ls in ("-", "--", ":")]
            lab += ["p50", "p99", "p99.9"]
            self.legend_top(ax, h, lab, ncol=4)
            name = "sweep_latency_%s_t%d_%s" % (w, threads, dur)
            self.save(fig, name, "Latency percentiles vs N, %s" % w,
                      "p50 (solid), p99 (dashed) and p99.9 (dotted) latency of the %s phase against N "
                      "(%d thread(s), durability %s); red circles: INVALID." % (w, threads, dur))
            # throughput
            fig, ax = plt.subplots(figsize=(FIG_W, FIG_H), layout="constrained")
            for e in engines:
                colour, marker = kv.engine_style(e)
                pts = sorted((k[2], s) for k, s in sel.items() if k[0] == e and s["ops_per_sec"])
                if not pts:
                    continue
                ax.errorbar([p[0] for p in pts], [p[1]["ops_per_sec"] for p in pts],
                            yerr=[p[1]["ops_per_sec_ci"] or 0 for p in pts], color=colour, marker=marker,
                            capsize=1.5, elinewidth=0.6, label=e)
                for nn, s in pts:
                    if not s["valid"]:
                        ax.plot([nn], [s["ops_per_sec"]], marker="o", markersize=8, markerfacecolor="none",
                                markeredgecolor="red", linestyle="none")
                        ax.annotate("INVALID", (nn, s["ops_per_sec"]), fontsize=5, color="red", xytext=(3, -8),
                                    textcoords="offset points")
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel("number of keys N (log scale)")
            ax.set_ylabel("throughput (ops/s, log scale)")
            self.legend_top(ax, ncol=3)
            name = "sweep_throughput_%s_t%d_%s" % (w, threads, dur)
            self.save(fig, name, "Throughput vs N, %s" % w,
                      "Throughput of the timed %s phase against N (%d thread(s), durability %s); "
                      "error bars: 95%% t-interval over repetitions." % (w, threads, dur))

    # ------------------------------------------------------------ threads
    def fig_threads(self):
        for (w, n, dur) in self.configs("workload", "n", "durability"):
            sel = self.select(workload=w, n=n, durability=dur)
            if len({k[3] for k in sel}) < 2:
                continue
            fig, ax = plt.subplots(figsize=(FIG_W, FIG_H), layout="constrained")
            for e in sorted({k[0] for k in sel}, key=kv.engine_sort_key):
                colour, marker = kv.engine_style(e)
                pts = sorted((k[3], s) for k, s in sel.items() if k[0] == e and s["ops_per_sec"])
                ax.errorbar([p[0] for p in pts], [p[1]["ops_per_sec"] for p in pts],
                            yerr=[p[1]["ops_per_sec_ci"] or 0 for p in pts], color=colour, marker=marker,
                            capsize=1.5, elinewidth=0.6, label=e)
                for t, s in pts:
                    if not s["valid"]:
                        ax.annotate("INVALID", (t, s["ops_per_sec"]), fontsize=5, color="red")
            ax.set_xlabel("threads")
            ax.set_ylabel("throughput (ops/s)")
            ax.set_xticks(sorted({k[3] for k in sel}))
            ax.set_ylim(bottom=0)
            self.legend_top(ax, ncol=3)
            name = "threads_%s_n%s_%s" % (w, kv.fmt_n(n), dur)
            self.save(fig, name, "Throughput vs threads, %s, N=%s" % (w, kv.fmt_n(n)),
                      "Throughput of the %s phase against the number of threads (N=%s, durability %s)." % (
                          w, kv.fmt_n(n), dur))

    # ------------------------------------------------------------ tables
    def write_table(self, stem, header, rows, tex_header, tex_rows, caption, label):
        with open(os.path.join(self.out, "tables", stem + ".csv"), "w", newline="") as f:
            wr = csv.writer(f, lineterminator="\n")
            wr.writerow(header)
            wr.writerows(rows)
        with open(os.path.join(self.out, "tables", stem + ".md"), "w") as f:
            f.write("| " + " | ".join(header) + " |\n|" + "---|" * len(header) + "\n")
            for r in rows:
                f.write("| " + " | ".join(str(c) for c in r) + " |\n")
        with open(os.path.join(self.out, "tables", stem + ".tex"), "w") as f:
            f.write("%% generated by analysis/report.py from %s\n" % ", ".join(self.run_dirs))
            f.write("\\begin{table*}[t]\n\\centering\\footnotesize\n\\caption{%s}\\label{%s}\n" % (caption, label))
            # shrink to the text width only when wider (graphicx's \\width is the natural width)
            f.write("\\resizebox{\\ifdim\\width>\\textwidth\\textwidth\\else\\width\\fi}{!}{%\n")
            f.write("\\begin{tabular}{%s}\n\\hline\n" % ("l" * 2 + "r" * (len(tex_header) - 2)))
            f.write(" & ".join(tex_header) + " \\\\\n\\hline\n")
            for r in tex_rows:
                f.write(" & ".join(tex_escape(str(c)) for c in r) + " \\\\\n")
            f.write("\\hline\n\\end{tabular}}\n\\end{table*}\n")

    def tables(self):
        header = ["engine", "workload", "n", "threads", "durability", "value_size", "reps", "mean_ns",
                  "mean_ci95_ns", "p50_ns", "p99_ns", "p999_ns", "ops_per_sec", "ops_per_sec_ci95",
                  "ops_per_sec_untimed", "valid"]
        rows, tex_rows = [], []
        for k, s in self.summary.items():
            d = kv.config_dict(k)
            rows.append([d["engine"], d["workload"], d["n"], d["threads"], d["durability"], d["value_size"],
                         s["reps"], r1(s["mean_ns"]), r1(s["mean_ci"]), s["p50_ns"], s["p99_ns"], s["p999_ns"],
                         r1(s["ops_per_sec"]), r1(s["ops_per_sec_ci"]), r1(s["ops_per_sec_untimed"]),
                         "yes" if s["valid"] else "INVALID"])
            tex_rows.append([d["engine"], d["workload"], kv.fmt_n(d["n"]), d["threads"], d["durability"],
                             s["reps"], "%.0f $\\pm$ %.0f" % (s["mean_ns"], s["mean_ci"] or 0),
                             kv.fmt_num(s["p50_ns"]), kv.fmt_num(s["p99_ns"]), kv.fmt_num(s["p999_ns"]),
                             kv.fmt_num(s["ops_per_sec"]), "yes" if s["valid"] else "\\textbf{INVALID}"])
        tex_rows = [[r[i] if i in (6, 11) else r[i] for i in range(len(r))] for r in tex_rows]
        self.write_table("results", header, rows,
                         ["Engine", "Workload", "N", "Thr.", "Dur.", "Reps", "Mean (ns) $\\pm$ 95\\% CI",
                          "p50 (ns)", "p99 (ns)", "p99.9 (ns)", "ops/s", "Valid"],
                         tex_rows, "Measured-phase latency and throughput (mean over repetitions; percentiles "
                         "from the merged histograms).", "tab:results")
        # load phase
        rows, tex_rows = [], []
        for k in kv.sorted_keys(self.groups):
            s = kv.summarize_group(self.groups[k], "load")
            if s is None or k[1] == "load":
                continue
            d = kv.config_dict(k)
            rows.append([d["engine"], d["workload"], d["n"], d["threads"], d["durability"], s["reps"],
                         r1(s["mean_ns"]), r1(s["mean_ci"]), s["p99_ns"], r1(s["ops_per_sec"]),
                         "yes" if s["valid"] else "INVALID"])
            tex_rows.append([d["engine"], d["workload"], kv.fmt_n(d["n"]), d["threads"], d["durability"],
                             s["reps"], "%.0f $\\pm$ %.0f" % (s["mean_ns"] or 0, s["mean_ci"] or 0),
                             kv.fmt_num(s["p99_ns"]), kv.fmt_num(s["ops_per_sec"]),
                             "yes" if s["valid"] else "\\textbf{INVALID}"])
        self.write_table("load", ["engine", "workload", "n", "threads", "durability", "reps", "mean_ns",
                                  "mean_ci95_ns", "p99_ns", "ops_per_sec", "valid"], rows,
                         ["Engine", "Run of", "N", "Thr.", "Dur.", "Reps", "Mean (ns) $\\pm$ CI", "p99 (ns)",
                          "ops/s", "Valid"], tex_rows,
                         "Load phase (timed, never hidden) of every run.", "tab:load")
        # perf counters per op
        counters = ["instructions", "cycles", "cache_misses", "page_faults", "context_switches", "task_clock_ns"]
        rows, tex_rows = [], []
        for k, s in self.summary.items():
            d = kv.config_dict(k)
            vals = [s["perf"].get(c) for c in counters]
            rows.append([d["engine"], d["workload"], d["n"], d["threads"], d["durability"]] +
                        ["n/a" if v is None else "%.6g" % v for v in vals])
            tex_rows.append([d["engine"], d["workload"], kv.fmt_n(d["n"]), d["threads"], d["durability"]] +
                            [kv.fmt_num(v) for v in vals])
        self.write_table("perf", ["engine", "workload", "n", "threads", "durability"] +
                         [c + "_per_op" for c in counters], rows,
                         ["Engine", "Workload", "N", "Thr.", "Dur.", "Instr./op", "Cycles/op", "Cache miss/op",
                          "Page faults/op", "Ctx sw./op", "Task clock (ns/op)"], tex_rows,
                         "Performance counters per operation of the measured phase (mean over repetitions); "
                         "n/a: counter unavailable on this machine.", "tab:perf")

    # ------------------------------------------------------------ setup / paper includes
    def manifest_summary(self):
        m = dict(self.manifests[0]) if self.manifests else dict(self.results[0].get("manifest") or {})
        versions = {}
        for r in self.results:
            versions[r.get("engine")] = r.get("engine_version")
        m["_engine_versions"] = versions
        return m

    def setup_tex(self):
        m = self.manifest_summary()
        timer = m.get("timer") or {}
        engines = ", ".join("%s (%s)" % (e, v) for e, v in sorted(m["_engine_versions"].items(),
                                                                  key=lambda x: kv.engine_sort_key(x[0])))
        sizes = ", ".join(kv.fmt_n(n) for n in sorted({k[2] for k in self.summary}))
        reps = sorted({s["reps"] for s in self.summary.values()})
        durs = ", ".join(sorted({str(k[4]) for k in self.summary}))
        text = ("All measurements were taken on %s with %s cores and %.1f\\,GB of memory, running %s "
                "(transparent huge pages: %s, clock source %s). kvbench %s (commit %s) was built with %s "
                "(%s, %s build, allocator %s). The timer is %s with a measured cost of %s\\,ns per reading. "
                "Data lived in %s on %s. Engines: %s. Data set sizes: %s keys with %s-byte values; %s "
                "repetitions per configuration, each in a fresh process and data directory; durability "
                "level(s): %s. Runs started at %s.") % (
            m.get("cpu_model", "?"), m.get("cpu_cores", "?"), (m.get("memory_bytes") or 0) / 1e9,
            m.get("kernel", "?"), m.get("thp", "?"), m.get("clocksource", "?"), m.get("tool_version", "?"),
            m.get("git_commit", "?"), m.get("compiler", "?"), m.get("cflags", "?"), m.get("build_type", "?"),
            m.get("allocator", "?"), timer.get("source", "?"), fmt1(timer.get("cost_ns")),
            m.get("data_dir", "?"), m.get("data_dir_fs", "?"), engines, sizes,
            "/".join(str(v) for v in sorted({k[5] for k in self.summary})), "/".join(str(r) for r in reps),
            durs, m.get("start_time", "?"))
        with open(os.path.join(self.out, "setup.tex"), "w") as f:
            f.write("%% generated by analysis/report.py from the run manifest\n")
            f.write(tex_escape(text, keep_tex=True) + "\n")

    def figures_tex(self):
        with open(os.path.join(self.out, "figures.tex"), "w") as f:
            f.write("%% generated by analysis/report.py: one figure per generated chart\n")
            for fig in self.figures:
                f.write("\\begin{figure}[t]\n\\centering\n\\includegraphics[width=\\columnwidth]{%s}\n"
                        "\\caption{%s}\\label{fig:%s}\n\\end{figure}\n\n" % (
                            fig["pdf"][:-4], tex_escape(fig["caption"]), fig["name"]))

    # ------------------------------------------------------------ report.md / .html
    def write_reports(self):
        m = self.manifest_summary()
        invalid = [x for s in self.summary.values() for x in s["invalid"]]
        with open(os.path.join(self.out, "figures.json"), "w") as f:
            json.dump(self.figures, f, indent=1)
        md = ["# kvbench report", "", "Run directories: " + ", ".join("`%s`" % d for d in self.run_dirs), ""]
        if invalid:
            md += ["## INVALID runs", ""] + ["- " + x for x in invalid] + [""]
        md += ["## Results (measured phase)", "", read(os.path.join(self.out, "tables", "results.md")),
               "## Load phase", "", read(os.path.join(self.out, "tables", "load.md")),
               "## Perf counters per operation", "", read(os.path.join(self.out, "tables", "perf.md")),
               "## Figures", ""]
        for fig in self.figures:
            md += ["### " + fig["title"], "", "![%s](%s)" % (fig["title"], fig["png"]), "",
                   fig["caption"] + " ([PDF](%s))" % fig["pdf"], ""]
        md += ["## Manifest", "", "```json", json.dumps({k: v for k, v in m.items() if not k.startswith("_")},
                                                       indent=1, default=str), "```", "",
               "Engine versions: " + ", ".join("%s: %s" % kv_ for kv_ in sorted(m["_engine_versions"].items())), ""]
        with open(os.path.join(self.out, "report.md"), "w") as f:
            f.write("\n".join(md))
        h = ["<!DOCTYPE html><html><head><meta charset='utf-8'><title>kvbench report</title><style>"
             "body{font-family:sans-serif;max-width:1100px;margin:auto}table{border-collapse:collapse;"
             "font-size:12px}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}"
             ".bad{color:#c00;font-weight:bold}figure{display:inline-block;margin:8px;width:500px}"
             "img{width:100%}</style></head><body><h1>kvbench report</h1>",
             "<p>Run directories: %s</p>" % html.escape(", ".join(self.run_dirs))]
        if invalid:
            h.append("<h2 class='bad'>INVALID runs</h2><ul>%s</ul>" % "".join(
                "<li>%s</li>" % html.escape(x) for x in invalid))
        for stem, title in (("results", "Results (measured phase)"), ("load", "Load phase"),
                            ("perf", "Perf counters per operation")):
            h.append("<h2>%s</h2>%s" % (title, csv_to_html(os.path.join(self.out, "tables", stem + ".csv"))))
        h.append("<h2>Figures</h2>")
        for fig in self.figures:
            h.append("<figure><img src='%s' alt='%s'><figcaption>%s (<a href='%s'>PDF</a>)</figcaption></figure>"
                     % (fig["png"], html.escape(fig["title"]), html.escape(fig["caption"]), fig["pdf"]))
        h.append("<h2>Manifest</h2><pre>%s</pre></body></html>" % html.escape(
            json.dumps({k: v for k, v in m.items() if not k.startswith("_")}, indent=1, default=str)))
        with open(os.path.join(self.out, "report.html"), "w") as f:
            f.write("\n".join(h))

    def run(self):
        if self.draw:
            self.fig_bars()
            self.fig_cdfs()
            self.fig_sweep()
            self.fig_threads()
        self.tables()
        self.setup_tex()
        self.figures_tex()
        self.write_reports()
        if not self.quiet:
            print(read(os.path.join(self.out, "tables", "results.md")))
            for s in self.summary.values():
                for x in s["invalid"]:
                    print("INVALID: " + x)
        print("report: %s (%d figures)" % (self.out, len(self.figures)))


def fmt1(v):
    return "?" if not isinstance(v, (int, float)) else "%.1f" % v


def r1(v):
    return "" if v is None else round(v, 1)


def read(path):
    with open(path) as f:
        return f.read()


def csv_to_html(path):
    with open(path) as f:
        rows = list(csv.reader(f))
    out = ["<table><tr>%s</tr>" % "".join("<th>%s</th>" % html.escape(c) for c in rows[0])]
    for r in rows[1:]:
        out.append("<tr>%s</tr>" % "".join(
            "<td%s>%s</td>" % (" class='bad'" if c == "INVALID" else "", html.escape(c)) for c in r))
    return "".join(out) + "</table>"


def tex_escape(s, keep_tex=False):
    if keep_tex:
        return s.replace("_", "\\_").replace("%", "\\%").replace("#", "\\#").replace("&", "\\&")
    if "$" in s or "\\" in s:
        return s
    return (s.replace("\\", "\\textbackslash{}").replace("_", "\\_").replace("%", "\\%").replace("&", "\\&")
            .replace("#", "\\#").replace("$", "\\$").replace("~", "\\textasciitilde{}"))


def main():
    ap = argparse.ArgumentParser(description="Figures, tables and report.md/.html from kvbench run directories.")
    ap.add_argument("run_dirs", nargs="+", help="run directories (results/<run-id>)")
    ap.add_argument("--out", help="output directory (default: <first run dir>/report)")
    ap.add_argument("--quiet", action="store_true", help="print only the output path")
    ap.add_argument("--no-figures", action="store_true", help="tables and report files only (fast)")
    a = ap.parse_args()
    out = a.out or os.path.join(a.run_dirs[0], "report")
    try:
        Report(a.run_dirs, out, a.quiet, not a.no_figures).run()
    except kv.ResultError as e:
        kv.die(str(e))


if __name__ == "__main__":
    main()
