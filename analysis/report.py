#!/usr/bin/env python3
# Figures (PDF+PNG), tables (LaTeX/Markdown/CSV) and report.md/.html from one or more kvbench run dirs.
"""usage: report.py [--out DIR] [--quiet] [--no-figures] RUN_DIR [RUN_DIR ...]

Writes DIR (default <first run dir>/report/):
  figures/*.pdf, *.png, *.csv       bars, percentile spectra, sweep, threads, page-ablation figures
                                    (3.3 x 2.25 in, PNG 200 dpi); each .csv holds the numbers drawn
  tables/results.{csv,md,tex}       measured phase per engine/workload/N/threads/durability/variant
  tables/by_op.{csv,md,tex}         per op type of mixed workloads (get, update, insert, ...)
  tables/load.{csv,md,tex}          load phase
  tables/perf.{csv,md,tex}          perf counters per operation (n/a where unavailable)
  tables/pages.{csv,md,tex}         2 MiB pages each engine's process got (when recorded)
  tables/lsm.{csv,md,tex}           RocksDB's LSM shape before the measured phase (when recorded)
  setup.tex, figures.tex            for the paper (\\input)
  report.md, report.html, figures.json
Several run dirs are merged: the same configuration in two runs pools its repetitions. The aggregate
is kvresults.AGGREGATE everywhere (named in every caption and table header).
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
import re  # noqa: E402

import matplotlib  # noqa: E402
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.ticker import EngFormatter, FixedLocator, FuncFormatter, NullLocator  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kvresults as kv  # noqa: E402
from tables import Col, Table  # noqa: E402

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
SPECTRUM_TICKS = [(0.5, "p50"), (0.9, "p90"), (0.99, "p99"), (0.999, "p99.9"), (0.9999, "p99.99")]
OP_HATCH = {"get": None, "update": "...", "insert": "xxx", "delete": "\\\\\\", "scan": "ooo"}
SOURCE = "analysis/report.py"


def slug(text):
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-")


class Report:
    def __init__(self, run_dirs, out, quiet, figures=True, mixed_machines=False):
        self.draw = figures
        self.run_dirs = run_dirs
        self.out = out
        self.quiet = quiet
        self.results, self.manifests = kv.load_run_dirs(run_dirs)
        self.machines = kv.check_machines(self.results, mixed_machines)
        kv.GROUP_BY_MACHINE = len(self.machines) > 1
        self.groups = kv.group_results(self.results)
        self.summary = {}
        for k in kv.sorted_keys(self.groups):
            s = kv.summarize_group(self.groups[k])
            if s is not None:
                self.summary[k] = s
        # the variant most results ran under draws the main figures; the others go to the ablation figures
        self.primary = kv.primary_variant(self.results)
        self.variants = sorted({kv.variant(r) for r in self.results}, key=lambda v: (v != self.primary, v))
        # in every table the main setup's row comes first, then the ablations of the same configuration
        vrank = {v: i for i, v in enumerate(self.variants)}
        self.summary = {k: self.summary[k] for k in sorted(
            self.summary, key=lambda k: (kv.engine_sort_key(k[0]), kv.workload_sort_key(k[1]), k[2], k[3],
                                         str(k[4]), str(k[5:8]), vrank.get(k[8], 99)))}
        self.figures = []        # dicts: name, title, caption, pdf, png, data, width_px, height_px
        os.makedirs(os.path.join(out, "figures"), exist_ok=True)
        os.makedirs(os.path.join(out, "tables"), exist_ok=True)

    # ------------------------------------------------------------ figure plumbing
    def save(self, fig, name, title, caption, data_header, data_rows):
        """PDF + PNG, and the numbers drawn as CSV (the gnuplot twin's test compares against them)."""
        base = os.path.join(self.out, "figures", name)
        fig.savefig(base + ".pdf")
        fig.savefig(base + ".png", dpi=DPI)
        w, h = fig.get_size_inches()
        plt.close(fig)
        with open(base + ".csv", "w", newline="") as f:
            wr = csv.writer(f, lineterminator="\n")
            wr.writerow(data_header)
            wr.writerows(data_rows)
        self.figures.append({"name": name, "title": title, "caption": caption, "pdf": "figures/%s.pdf" % name,
                             "png": "figures/%s.png" % name, "data": "figures/%s.csv" % name,
                             "width_px": int(round(w * DPI)), "height_px": int(round(h * DPI))})

    def configs(self, *fields, variant=None):
        """Distinct values of the given config fields over the groups (of one variant), sorted."""
        vals = set()
        for k in self.summary:
            d = kv.config_dict(k)
            if variant is None or d["variant"] == variant:
                vals.add(tuple(d[f] for f in fields))
        return sorted(vals, key=lambda t: tuple(str(x).zfill(12) if isinstance(x, int) else str(x) for x in t))

    def select(self, **want):
        want.setdefault("variant", self.primary)
        out = {}
        for k, s in self.summary.items():
            d = kv.config_dict(k)
            if all(d[f] == v for f, v in want.items()):
                out[k] = s
        return out

    def varies(self, field):
        """Whether the runs hold more than one value of a config field (key set, access pattern...)."""
        return len({kv.config_dict(k)[field] for k in self.summary}) > 1

    def keys_suffix(self, ks, acc):
        """A figure name's tail when the runs hold several key sets or access patterns (else empty, so a
        plain run's figure names stay as they are)."""
        return ("_%s" % ks if self.varies("keyset") else "") + ("_%s" % acc if self.varies("access") else "")

    def keys_title(self, ks, acc):
        """The same as keys_suffix, for a title: ", keys clustered, access zipf"."""
        return (", keys %s" % ks if self.varies("keyset") else "") + (", access %s" % acc if self.varies("access") else "")

    def variant_note(self):
        return "" if len(self.variants) < 2 else "; engine setup: %s" % (self.primary or "default")

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

    # ------------------------------------------------------------ bars (whole phase and per op type)
    def fig_bars(self):
        for (n, threads, dur, vsize, ks, acc) in self.configs("n", "threads", "durability", "value_size", "keyset",
                                                              "access", variant=self.primary):
            sel = self.select(n=n, threads=threads, durability=dur, value_size=vsize, keyset=ks, access=acc)
            workloads = sorted({k[1] for k in sel}, key=kv.workload_sort_key)
            engines = sorted({k[0] for k in sel}, key=kv.engine_sort_key)
            if not workloads:
                continue
            # x groups: each workload, then each op type of a mixed workload ("mixed: get", ...)
            groups = []
            for w in workloads:
                groups.append((w, None))
                ops = sorted({op for k, s in sel.items() if k[1] == w for op in s["by_op"]},
                             key=lambda o: kv.OP_ORDER.index(o) if o in kv.OP_ORDER else 99)
                groups += [(w, op) for op in ops]
            fig, ax = plt.subplots(figsize=(FIG_W if len(groups) <= 3 else FIG_W * 1.0, FIG_H),
                                   layout="constrained")
            width = 0.8 / len(engines)
            vals, tops = [], []
            for s in sel.values():
                for src in [s] + [o for o in s["by_op"].values() if o]:
                    if src["mean_ns"]:
                        vals.append(src["mean_ns"])
                        tops.append(src["mean_ns"] + (src["mean_ci"] or 0))
            # log when bars (or their error bars, wide with 2 reps) span more than 30x
            log = bool(vals) and max(tops) / max(min(vals), 1e-9) > 30
            data = []
            seen = set()
            for ei, e in enumerate(engines):
                colour, marker = kv.engine_style(e)
                for gi, (w, op) in enumerate(groups):
                    s = next((s for k, s in sel.items() if k[0] == e and k[1] == w), None)
                    if s is None:
                        continue
                    src = s if op is None else s["by_op"].get(op)
                    if not src or src["mean_ns"] is None:
                        continue
                    x = gi - 0.4 + width * (ei + 0.5)
                    inv = not s["valid"]
                    ax.bar(x, src["mean_ns"], width * 0.92, color=colour, edgecolor="black", linewidth=0.4,
                           hatch=INVALID_HATCH if inv else OP_HATCH.get(op), alpha=0.55 if inv else 1.0,
                           label=e if e not in seen else None)
                    seen.add(e)
                    ci = src["mean_ci"] or 0.0
                    # the CI can reach below zero with few reps: clip it at the axis (log or linear)
                    low = min(ci, src["mean_ns"] * (0.999 if log else 1.0))
                    ax.errorbar(x, src["mean_ns"], yerr=[[low], [ci]], fmt="none", ecolor="black",
                                elinewidth=0.6, capsize=1.5)
                    if src["p50_ns"]:
                        ax.plot(x, src["p50_ns"], marker=marker, color="white", markeredgecolor="black",
                                markeredgewidth=0.5, markersize=3, linestyle="none")
                    if inv:
                        ax.text(x, src["mean_ns"] * (1.15 if log else 1.03), "INVALID", rotation=90, ha="center",
                                va="bottom", fontsize=5, color="red", fontweight="bold")
                    data.append([e, w, op or "all", r1(src["mean_ns"]), r1(ci), src["p50_ns"]])
            ax.set_xticks(range(len(groups)))
            ax.set_xticklabels([w if op is None else "%s:\n%s" % (w, op) for w, op in groups],
                               fontsize=6 if len(groups) <= 4 else 5)
            ax.set_xlabel("workload (measured phase); op type")
            ax.set_ylabel("mean latency (ns/op)")
            if log:
                ax.set_yscale("log")
                # an error bar reaching below zero would pull the axis to 1e-1: start a bit under the lowest bar
                ax.set_ylim(bottom=min(vals) / 3, top=ax.get_ylim()[1] * 3)
            else:
                ax.set_ylim(bottom=0, top=ax.get_ylim()[1] * 1.12)
                ax.yaxis.set_major_formatter(EngFormatter(sep=""))
            ax.grid(axis="x", visible=False)
            self.legend_top(ax, ncol=min(len(engines), 4))
            name = "bars_n%s_t%d_%s%s" % (kv.fmt_n(n), threads, dur, self.keys_suffix(ks, acc))
            self.save(fig, name, "Mean latency, N=%s, %d thread(s), durability %s%s" % (
                          kv.fmt_n(n), threads, dur, self.keys_title(ks, acc)),
                      "Mean latency per operation of the measured phase, and of each op type of a mixed workload "
                      "(N=%s, %d thread(s), durability %s, %d-byte values%s). Bar: mean over repetitions of each "
                      "repetition's mean; error bars: its 95%% t-interval; white markers: p50 of the merged "
                      "histograms; hatched bars: INVALID runs." % (kv.fmt_n(n), threads, dur, vsize,
                                                                   self.keys_title(ks, acc) + self.variant_note()),
                      ["engine", "workload", "op", "mean_ns", "ci95_ns", "p50_ns"], data)

    # ------------------------------------------------------------ percentile spectra
    def fig_spectra(self):
        for (w, n, threads, dur, ks, acc) in sorted(self.configs("workload", "n", "threads", "durability", "keyset",
                                                                 "access", variant=self.primary),
                                                    key=lambda c: (kv.workload_sort_key(c[0]),) + c[1:]):
            sel = self.select(workload=w, n=n, threads=threads, durability=dur, keyset=ks, access=acc)
            ops = sorted({op for s in sel.values() for op in s["by_op"]},
                         key=lambda o: kv.OP_ORDER.index(o) if o in kv.OP_ORDER else 99)
            for op in [None] + ops:
                fig, ax = plt.subplots(figsize=(FIG_W, FIG_H), layout="constrained")
                data = []
                for k in sorted(sel, key=lambda k: kv.engine_sort_key(k[0])):
                    s = sel[k]
                    src = s if op is None else s["by_op"].get(op)
                    if not src or not src["histogram"]:
                        continue
                    colour, marker = kv.engine_style(k[0])
                    pts = kv.spectrum(src["histogram"])
                    inv = not s["valid"]
                    ax.plot([1.0 / (1.0 - q) for q, _ in pts], [v for _, v in pts], color=colour, marker=marker,
                            markersize=2.5, linestyle="--" if inv else "-",
                            markerfacecolor="white" if inv else colour, label=k[0] + (" (INVALID)" if inv else ""))
                    data += [[k[0], op or "all", q, "%.6g" % (1.0 / (1.0 - q)), v] for q, v in pts]
                if not data:
                    plt.close(fig)
                    continue
                ax.set_xscale("log")
                ax.set_yscale("log")
                ax.xaxis.set_major_locator(FixedLocator([1.0 / (1.0 - q) for q, _ in SPECTRUM_TICKS]))
                ax.xaxis.set_major_formatter(FuncFormatter(
                    lambda x, _pos: dict((round(1.0 / (1.0 - q)), t) for q, t in SPECTRUM_TICKS).get(round(x), "")))
                ax.xaxis.set_minor_locator(NullLocator())
                ax.yaxis.set_major_formatter(EngFormatter(unit="", sep=""))
                ax.set_xlabel("percentile (log scale of 1/(1-q))")
                ax.set_ylabel("latency (ns, log scale)")
                self.legend_top(ax, ncol=4)
                what = w if op is None else "%s, %s ops" % (w, op)
                name = "spectrum_%s%s_n%s_t%d_%s%s" % (w, "" if op is None else "-" + op, kv.fmt_n(n), threads, dur,
                                                       self.keys_suffix(ks, acc))
                self.save(fig, name, "Latency percentiles, %s, N=%s, %d thread(s), durability %s%s" % (
                    what, kv.fmt_n(n), threads, dur, self.keys_title(ks, acc)),
                          "Latency percentile spectrum of the %s phase%s (N=%s, %d thread(s), durability %s%s): "
                          "latency at p50 ... p99.99 against 1/(1-q) on a log axis, from all repetitions' "
                          "histograms merged (bucket upper bounds); dashed: INVALID." % (
                              w, "" if op is None else " (%s operations only)" % op, kv.fmt_n(n), threads, dur,
                              self.variant_note()),
                          ["engine", "op", "q", "x", "latency_ns"], data)

    # ------------------------------------------------------------ sweep over N
    def fig_sweep(self):
        # one curve per engine needs one point per N: everything but N fixed (key set, access, value size too)
        for (w, threads, dur, ks, acc, vs) in self.configs("workload", "threads", "durability", "keyset", "access",
                                                           "value_size", variant=self.primary):
            sel = self.select(workload=w, threads=threads, durability=dur, keyset=ks, access=acc, value_size=vs)
            sizes = sorted({k[2] for k in sel})
            if len(sizes) < 2:
                continue
            engines = sorted({k[0] for k in sel}, key=kv.engine_sort_key)
            fig, ax = plt.subplots(figsize=(FIG_W, FIG_H), layout="constrained")
            data = []
            for e in engines:
                colour, marker = kv.engine_style(e)
                pts = sorted(((k[2], s) for k, s in sel.items() if k[0] == e), key=lambda p: p[0])
                for q, ls in (("p50_ns", "-"), ("p99_ns", "--"), ("p999_ns", ":")):
                    ax.plot([p[0] for p in pts], [p[1][q] for p in pts], color=colour, marker=marker,
                            linestyle=ls, label=e if q == "p50_ns" else None)
                for nn, s in pts:
                    data.append([e, nn, s["p50_ns"], s["p99_ns"], s["p999_ns"]])
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
            h += [Line2D([], [], color="black", linestyle=ls) for ls in ("-", "--", ":")]
            lab += ["p50", "p99", "p99.9"]
            self.legend_top(ax, h, lab, ncol=4)
            name = "sweep_latency_%s_t%d_%s" % (w, threads, dur)
            self.save(fig, name, "Latency percentiles vs N, %s, %d thread(s), durability %s" % (w, threads, dur),
                      "p50 (solid), p99 (dashed) and p99.9 (dotted) latency of the %s phase against N, from all "
                      "repetitions' histograms merged (%d thread(s), durability %s%s); red circles: INVALID." % (
                          w, threads, dur, self.variant_note()),
                      ["engine", "n", "p50_ns", "p99_ns", "p999_ns"], data)
            # throughput of the untimed pass (the engine, not the harness's timer and checks)
            fig, ax = plt.subplots(figsize=(FIG_W, FIG_H), layout="constrained")
            data = []
            passes = set()
            for e in engines:
                colour, marker = kv.engine_style(e)
                pts = sorted((k[2], s) + kv.throughput(s) for k, s in sel.items() if k[0] == e)
                pts = [p for p in pts if p[2]]
                if not pts:
                    continue
                passes |= {p[4] for p in pts}
                ax.errorbar([p[0] for p in pts], [p[2] for p in pts], yerr=[p[3] or 0 for p in pts], color=colour,
                            marker=marker, capsize=1.5, elinewidth=0.6, label=e)
                for nn, s, t, ci, which in pts:
                    data.append([e, nn, r1(t), r1(ci), which])
                    if not s["valid"]:
                        ax.plot([nn], [t], marker="o", markersize=8, markerfacecolor="none",
                                markeredgecolor="red", linestyle="none")
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel("number of keys N (log scale)")
            ax.set_ylabel("throughput (ops/s, %s pass, log)" % "/".join(sorted(passes)))
            self.legend_top(ax, ncol=4)
            name = "sweep_throughput_%s_t%d_%s" % (w, threads, dur)
            self.save(fig, name, "Throughput vs N, %s, %d thread(s), durability %s" % (w, threads, dur),
                      "Throughput of the %s phase's untimed pass (no per-op timer%s) against N (%d thread(s), "
                      "durability %s%s): mean over repetitions, error bars its 95%% t-interval." % (
                          w, "; older runs without one: timed pass" if "timed" in passes else "", threads, dur,
                          self.variant_note()),
                      ["engine", "n", "ops_per_sec", "ci95", "pass"], data)

    # ------------------------------------------------------------ threads
    def fig_threads(self):
        for (w, n, dur) in self.configs("workload", "n", "durability", variant=self.primary):
            sel = self.select(workload=w, n=n, durability=dur)
            if len({k[3] for k in sel}) < 2:
                continue
            fig, ax = plt.subplots(figsize=(FIG_W, FIG_H), layout="constrained")
            data = []
            for e in sorted({k[0] for k in sel}, key=kv.engine_sort_key):
                colour, marker = kv.engine_style(e)
                pts = [(k[3], s) + kv.throughput(s) for k, s in sel.items() if k[0] == e]
                pts = sorted(p for p in pts if p[2])
                ax.errorbar([p[0] for p in pts], [p[2] for p in pts], yerr=[p[3] or 0 for p in pts], color=colour,
                            marker=marker, capsize=1.5, elinewidth=0.6, label=e)
                for t, s, tp, ci, which in pts:
                    data.append([e, t, r1(tp), r1(ci), which])
                    if not s["valid"]:
                        ax.annotate("INVALID", (t, tp), fontsize=5, color="red")
            ax.set_xlabel("threads")
            ax.set_ylabel("throughput (ops/s, untimed pass)")
            ax.set_xticks(sorted({k[3] for k in sel}))
            ax.set_ylim(bottom=0)
            ax.yaxis.set_major_formatter(EngFormatter(sep=""))
            self.legend_top(ax, ncol=4)
            name = "threads_%s_n%s_%s" % (w, kv.fmt_n(n), dur)
            self.save(fig, name, "Throughput vs threads, %s, N=%s" % (w, kv.fmt_n(n)),
                      "Throughput of the %s phase's untimed pass against the number of threads (N=%s, durability "
                      "%s%s): mean over repetitions, error bars its 95%% t-interval." % (
                          w, kv.fmt_n(n), dur, self.variant_note()),
                      ["engine", "threads", "ops_per_sec", "ci95", "pass"], data)

    # ------------------------------------------------------------ page-policy / option ablation
    def fig_ablation(self):
        if len(self.variants) < 2:
            return
        for (w, n, threads, dur) in self.configs("workload", "n", "threads", "durability"):
            sel = {k: s for k, s in self.summary.items() if k[1:5] == (w, n, threads, dur)}
            if len({k[8] for k in sel}) < 2:
                continue
            engines = sorted({k[0] for k in sel}, key=kv.engine_sort_key)
            variants = [v for v in self.variants if any(k[8] == v for k in sel)]
            fig, ax = plt.subplots(figsize=(FIG_W, FIG_H), layout="constrained")
            width = 0.8 / len(variants)
            greys = ["#FFFFFF", "#BBBBBB", "#666666", "#333333"]
            hatches = [None, "////", "...", "xxx"]
            data = []
            for vi, v in enumerate(variants):
                for ei, e in enumerate(engines):
                    s = next((s for k, s in sel.items() if k[0] == e and k[8] == v), None)
                    if s is None or s["mean_ns"] is None:
                        continue
                    colour, _ = kv.engine_style(e)
                    x = ei - 0.4 + width * (vi + 0.5)
                    ax.bar(x, s["mean_ns"], width * 0.92, color=colour, edgecolor="black", linewidth=0.4,
                           hatch=hatches[vi % len(hatches)], alpha=1.0 if s["valid"] else 0.5)
                    ax.errorbar(x, s["mean_ns"], yerr=[[min(s["mean_ci"] or 0, s["mean_ns"] * 0.999)],
                                                       [s["mean_ci"] or 0]],
                                fmt="none", ecolor="black", elinewidth=0.6, capsize=1.5)
                    data.append([e, v or "default", r1(s["mean_ns"]), r1(s["mean_ci"])])
            ax.set_xticks(range(len(engines)))
            ax.set_xticklabels(engines, rotation=30 if len(engines) > 4 else 0, fontsize=6)
            ax.set_yscale("log")
            lows = [float(r[2]) for r in data if r[2] != ""]
            if lows:   # error bars reaching below zero (2 reps) must not stretch the axis to 1e0
                ax.set_ylim(bottom=min(lows) / 3)
            ax.set_ylabel("mean latency (ns/op, log)")
            ax.grid(axis="x", visible=False)
            handles = [matplotlib.patches.Patch(facecolor=greys[0], edgecolor="black",
                                                hatch=hatches[i % len(hatches)], label=v or "default")
                       for i, v in enumerate(variants)]
            self.legend_top(ax, handles, [h.get_label() for h in handles], ncol=2)
            name = "ablation_%s_n%s_t%d_%s" % (w, kv.fmt_n(n), threads, dur)
            self.save(fig, name, "Page policy / option ablation, %s, N=%s" % (w, kv.fmt_n(n)),
                      "Mean latency of the %s phase per engine under each page policy and engine option measured "
                      "(N=%s, %d thread(s), durability %s): mean over repetitions of each repetition's mean, error "
                      "bars its 95%% t-interval; hatching tells the variants apart." % (
                          w, kv.fmt_n(n), threads, dur),
                      ["engine", "variant", "mean_ns", "ci95_ns"], data)

    # ------------------------------------------------------------ key sets (index ablation)
    def fig_keysets(self):
        """Mean latency per key set, one bar per engine (and engine variant, e.g. alexstorage+btree): the
        index ablation when the runs hold several key sets. Drawn for the main setup only."""
        for (w, n, threads, dur) in self.configs("workload", "n", "threads", "durability", variant=self.primary):
            sel = {k: s for k, s in self.summary.items()
                   if k[1:5] == (w, n, threads, dur) and k[8] == self.primary and s["mean_ns"] is not None}
            keysets = sorted({str(k[6]) for k in sel}, key=keyset_sort_key)
            if len(keysets) < 2:
                continue
            engines = sorted({k[0] for k in sel}, key=kv.engine_sort_key)
            fig, ax = plt.subplots(figsize=(FIG_W, FIG_H), layout="constrained")
            width = 0.8 / len(engines)
            data = []
            for ei, e in enumerate(engines):
                xs, ys, cis = [], [], []
                for ki, ks in enumerate(keysets):
                    s = next((s for k, s in sel.items() if k[0] == e and str(k[6]) == ks), None)
                    if s is None:
                        continue
                    xs.append(ki - 0.4 + width * (ei + 0.5))
                    ys.append(s["mean_ns"])
                    cis.append(s["mean_ci"] or 0)
                    data.append([ks, e, r1(s["mean_ns"]), r1(s["mean_ci"]), "yes" if s["valid"] else "NO"])
                colour, _ = kv.engine_style(e)
                hatch = "////" if kv.engine_base(e) != e else None
                ax.bar(xs, ys, width * 0.92, color=colour, edgecolor="black", linewidth=0.4, hatch=hatch, label=e)
                ax.errorbar(xs, ys, yerr=[[min(c, y * 0.999) for c, y in zip(cis, ys)], cis], fmt="none",
                            ecolor="black", elinewidth=0.6, capsize=1.5)
            ax.set_xticks(range(len(keysets)))
            ax.set_xticklabels(keysets, rotation=30 if len(keysets) > 4 else 0, fontsize=6)
            ax.set_ylabel("mean latency (ns/op)")
            ax.grid(axis="x", visible=False)
            handles, labels = ax.get_legend_handles_labels()
            self.legend_top(ax, handles, labels, ncol=min(len(engines), 5))
            name = "keysets_%s_n%s_t%d_%s" % (w, kv.fmt_n(n), threads, dur)
            self.save(fig, name, "Key sets, %s, N=%s" % (w, kv.fmt_n(n)),
                      "Mean latency of the %s phase on each key set, per engine (N=%s, %d thread(s), durability %s): "
                      "mean over repetitions of each repetition's mean, error bars its 95%% t-interval. Hatched "
                      "bars are engine variants (e.g. alexstorage+btree: the same store with the B+tree index), so "
                      "an engine beside its variant is an index ablation. Compare within one key set: each key set "
                      "may come from its own run." % (w, kv.fmt_n(n), threads, dur),
                      ["keyset", "engine", "mean_ns", "ci95_ns", "valid"], data)

    # ------------------------------------------------------------ tables
    def cfg_cols(self, many):
        """Configuration columns; with several engine setups the setup sits beside them."""
        cols = [Col("engine", "Engine"), Col("workload", "Workload"), Col("n", "N", kind="int"),
                Col("threads", "Thr.", kind="int"), Col("durability", "Dur.")]
        # key set and access pattern when the runs hold more than one, so no two rows of a table look alike
        for field, head in (("keyset", "Keys"), ("access", "Access")):
            if self.varies(field):
                cols.append(Col(field, head))
        return cols + ([Col("variant", "Setup")] if many else [])

    def tables(self):
        many = len(self.variants) > 1
        agg = kv.AGGREGATE_SHORT
        cols = self.cfg_cols(many) + [
            Col("value_size", "Value", "B", "int", csv_only=True), Col("reps", "Reps", kind="int"),
            Col("mean_ns", "Mean " + "± 95% CI", "ns", "ns_ci", ci_key="mean_ci95_ns"),
            Col("p50_ns", "p50", "ns", "ns"), Col("p99_ns", "p99", "ns", "ns"), Col("p999_ns", "p99.9", "ns", "ns"),
            Col("timer_ns", "Timer", "ns", "float"),
            Col("ops_per_sec_untimed", "Untimed ± 95% CI", "ops/s", "ns_ci", ci_key="ops_per_sec_untimed_ci95"),
            Col("ops_per_sec", "Timed", "ops/s", "ops"),
            Col("variant", "Variant", csv_only=True), Col("valid", "Valid")]
        t = Table(cols, "Measured phase: latency (%s) and throughput (untimed pass; timed pass beside it). "
                        "Timer: the cost of one timer reading, included in each latency." % agg, "tab:results")
        for k, s in self.summary.items():
            d = kv.config_dict(k)
            t.add(**d, reps=s["reps"], mean_ns=s["mean_ns"], mean_ci95_ns=s["mean_ci"], p50_ns=s["p50_ns"],
                  p99_ns=s["p99_ns"], p999_ns=s["p999_ns"], timer_ns=s["timer_ns"],
                  ops_per_sec_untimed=s["ops_per_sec_untimed"], ops_per_sec_untimed_ci95=s["ops_per_sec_untimed_ci"],
                  ops_per_sec=s["ops_per_sec"], valid="yes" if s["valid"] else "INVALID")
        t.write(os.path.join(self.out, "tables"), "results", SOURCE)
        self.tab = {"results": t}
        # per op type
        t = Table(self.cfg_cols(many) + [
            Col("op", "Op"), Col("count", "Ops", kind="int"),
            Col("mean_ns", "Mean ± 95% CI", "ns", "ns_ci", ci_key="mean_ci95_ns"),
            Col("p50_ns", "p50", "ns", "ns"), Col("p99_ns", "p99", "ns", "ns"), Col("p999_ns", "p99.9", "ns", "ns"),
            Col("variant", "Variant", csv_only=True)],
            "Latency per op type of mixed workloads (%s)." % agg, "tab:byop")
        for k, s in self.summary.items():
            for op, o in s["by_op"].items():
                if o:
                    t.add(**kv.config_dict(k), op=op, count=o["count"], mean_ns=o["mean_ns"],
                          mean_ci95_ns=o["mean_ci"], p50_ns=o["p50_ns"], p99_ns=o["p99_ns"], p999_ns=o["p999_ns"])
        t.write(os.path.join(self.out, "tables"), "by_op", SOURCE)
        self.tab["by_op"] = t
        # load phase
        t = Table(self.cfg_cols(many) + [
            Col("reps", "Reps", kind="int"), Col("mean_ns", "Mean ± 95% CI", "ns", "ns_ci", ci_key="mean_ci95_ns"),
            Col("p99_ns", "p99", "ns", "ns"), Col("ops_per_sec", "Load", "ops/s", "ops"),
            Col("variant", "Variant", csv_only=True), Col("valid", "Valid")],
            "Load phase (timed, never hidden) of every run (%s)." % agg, "tab:load")
        for k in kv.sorted_keys(self.groups):
            s = kv.summarize_group(self.groups[k], "load")
            if s is None or k[1] == "load":
                continue
            t.add(**kv.config_dict(k), reps=s["reps"], mean_ns=s["mean_ns"], mean_ci95_ns=s["mean_ci"],
                  p99_ns=s["p99_ns"], ops_per_sec=s["ops_per_sec"], valid="yes" if s["valid"] else "INVALID")
        t.write(os.path.join(self.out, "tables"), "load", SOURCE)
        self.tab["load"] = t
        # perf counters per op
        counters = [("instructions", "Instr.", "per op"), ("cycles", "Cycles", "per op"),
                    ("cache_misses", "Cache misses", "per op"), ("page_faults", "Page faults", "per op"),
                    ("context_switches", "Ctx switches", "per op"), ("task_clock_ns", "Task clock", "ns/op")]
        kinds = {"task_clock_ns": "ns"}
        t = Table(self.cfg_cols(many) + [Col(c + "_per_op", h, u, kinds.get(c, "float")) for c, h, u in counters] +
                  [Col("variant", "Variant", csv_only=True)],
                  "Performance counters per operation of the measured phase (mean over repetitions); n/a: "
                  "counter unavailable on this machine.", "tab:perf")
        for k, s in self.summary.items():
            # "n/a" in the CSV too: an unavailable counter is not a missing value
            t.add(**kv.config_dict(k), **{c + "_per_op": "n/a" if s["perf"].get(c) is None else s["perf"][c]
                                          for c, _, _ in counters})
        t.write(os.path.join(self.out, "tables"), "perf", SOURCE)
        self.tab["perf"] = t
        # pages each engine's process got
        rows = [(k, s) for k, s in self.summary.items() if s["pages"]]
        if rows:
            mib = lambda v: None if v is None else v / 1024.0  # noqa: E731
            t = Table(self.cfg_cols(many) + [
                Col("policy", "Policy"),
                Col("load_anon", "Anon huge, load", "MiB", "float"), Col("load_file", "File PMD, load", "MiB", "float"),
                Col("load_shmem", "Shmem PMD, load", "MiB", "float"),
                Col("meas_anon", "Anon huge, end", "MiB", "float"), Col("meas_file", "File PMD, end", "MiB", "float"),
                Col("meas_shmem", "Shmem PMD, end", "MiB", "float"), Col("variant", "Variant", csv_only=True)],
                "Memory on 2 MiB pages in each engine's process (/proc/self/smaps_rollup AnonHugePages, "
                "FilePmdMapped, ShmemPmdMapped) after the load and at the end of the measured phase, mean over "
                "repetitions.", "tab:pages")
            for k, s in rows:
                p = s["pages"]
                al, am = p.get("after_load") or {}, p.get("after_measured") or {}
                t.add(**kv.config_dict(k), policy=p.get("policy") or "?", load_anon=mib(al.get("anon_huge_kb")),
                      load_file=mib(al.get("file_pmd_kb")), load_shmem=mib(al.get("shmem_pmd_kb")),
                      meas_anon=mib(am.get("anon_huge_kb")), meas_file=mib(am.get("file_pmd_kb")),
                      meas_shmem=mib(am.get("shmem_pmd_kb")))
            t.write(os.path.join(self.out, "tables"), "pages", SOURCE)
            self.tab["pages"] = t
        rows = [(k, s) for k, s in self.summary.items() if s["lsm"]]
        if rows:
            t = Table(self.cfg_cols(many) + [Col("shape", "Non-empty levels"), Col("files", "Files", kind="int"),
                                             Col("mib", "Size", "MiB", "float"),
                                             Col("variant", "Variant", csv_only=True)],
                      "RocksDB's LSM shape before the measured phase (first repetition): files and size of each "
                      "non-empty level, and in all.", "tab:lsm")
            for k, s in rows:
                levels = [lv for lv in s["lsm"] if lv.get("files")]
                shape = "; ".join("L%s: %d file%s, %.1f MiB" % (lv.get("level"), lv["files"],
                                                                   "" if lv["files"] == 1 else "s",
                                                                   (lv.get("bytes") or 0) / 1048576.0)
                                  for lv in levels) or "empty"
                t.add(**kv.config_dict(k), shape=shape, files=sum(lv.get("files") or 0 for lv in s["lsm"]),
                      mib=sum(lv.get("bytes") or 0 for lv in s["lsm"]) / 1048576.0)
            t.write(os.path.join(self.out, "tables"), "lsm", SOURCE)
            self.tab["lsm"] = t

    # ------------------------------------------------------------ setup / paper includes
    def manifest_summary(self):
        m = dict(self.manifests[0]) if self.manifests else dict(self.results[0].get("manifest") or {})
        versions = {}
        for r in self.results:
            versions[r.get("engine")] = r.get("engine_version")
        m["_engine_versions"] = versions
        return m

    def containers(self):
        """[(run dir, runtime, packages recorded)] for the runs made in a container."""
        out = []
        for m in self.manifests:
            c = kv.container_of(m)
            if c:
                out.append((m.get("_run_dir"), c[0], c[1]))
        return out

    def timer_text(self):
        costs = sorted({round(s["timer_ns"], 1) for s in self.summary.values() if s["timer_ns"] is not None})
        return "/".join("%.1f" % c for c in costs) if costs else "?"

    def setup_tex(self):
        m = self.manifest_summary()
        timer = m.get("timer") or {}
        engines = ", ".join("%s (%s)" % (e, v) for e, v in sorted(m["_engine_versions"].items(),
                                                                  key=lambda x: kv.engine_sort_key(x[0])))
        sizes = ", ".join(kv.fmt_n(n) for n in sorted({k[2] for k in self.summary}))
        reps = sorted({s["reps"] for s in self.summary.values()})
        durs = ", ".join(sorted({str(k[4]) for k in self.summary}))
        cont = self.containers()
        text = ("All measurements were taken on %s with %s cores and %.1f GB of memory, running %s "
                "(transparent huge pages: %s, clock source %s)%s. kvbench %s (commit %s) was built with %s "
                "(%s, %s build, allocator %s). The timer is %s with a measured cost of %s ns per reading, "
                "included in every latency. Data lived in %s on %s. Engines: %s. Data set sizes: %s keys with "
                "%s-byte values; %s repetitions per configuration, each in a fresh process and data directory; "
                "durability level(s): %s. Aggregate: %s. Runs started at %s.") % (
            m.get("cpu_model", "?"), m.get("cpu_cores", "?"), (m.get("memory_bytes") or 0) / 1e9,
            m.get("kernel", "?"), m.get("thp", "?"), m.get("clocksource", "?"),
            ", inside a %s container (its Debian package versions are in the manifest)" % cont[0][1] if cont else "",
            m.get("tool_version", "?"), m.get("git_commit", "?"), m.get("compiler", "?"), m.get("cflags", "?"),
            m.get("build_type", "?"), m.get("allocator", "?"), timer.get("source", "?"), fmt1(timer.get("cost_ns")),
            m.get("data_dir", "?"), m.get("data_dir_fs", "?"), engines, sizes,
            "/".join(str(v) for v in sorted({k[5] for k in self.summary})), "/".join(str(r) for r in reps),
            durs, kv.AGGREGATE, m.get("start_time", "?"))
        with open(os.path.join(self.out, "setup.tex"), "w") as f:
            f.write("%% generated by analysis/report.py from the run manifest\n")
            f.write(tex_text(text) + "\n")

    def figures_tex(self):
        with open(os.path.join(self.out, "figures.tex"), "w") as f:
            f.write("%% generated by analysis/report.py: one figure per generated chart\n")
            for fig in self.figures:
                f.write("\\begin{figure}[t]\n\\centering\n\\includegraphics[width=\\columnwidth]{%s}\n"
                        "\\caption{%s}\\label{fig:%s}\n\\end{figure}\n\n" % (
                            fig["pdf"][:-4], tex_text(fig["caption"]), fig["name"]))

    # ------------------------------------------------------------ report.md / .html
    def intro(self):
        """Lines every reader needs before the numbers: aggregate, timer, container, variants."""
        lines = ["Aggregate everywhere: %s." % kv.AGGREGATE,
                 "Timer cost: %s ns per reading (manifest `timer.cost_ns`), included in every latency below."
                 % self.timer_text()]
        by_kind = {}
        for d, runtime, npkg in self.containers():
            by_kind.setdefault((runtime, npkg), []).append(d)
        for (runtime, npkg), dirs in sorted(by_kind.items()):
            lines.append("%s made in a **%s container**; %s its %d Debian package versions "
                         "(`container.packages`)." % (
                             ("Run `%s` was" % dirs[0]) if len(dirs) == 1 else
                             ("All %d runs were" % len(dirs) if len(dirs) == len(self.manifests) else
                              "Runs %s were" % ", ".join("`%s`" % x for x in dirs)),
                             runtime, "its manifest records" if len(dirs) == 1 else "each manifest records", npkg))
        if len(self.machines) > 1:
            lines.append("Results of %d machines (%s): each machine's results are drawn in charts of their own "
                         "(`--mixed-machines`); compare engines within one machine only." % (
                             len(self.machines), "; ".join("%s: %d results" % m for m in sorted(self.machines.items()))))
        if len(self.variants) > 1:
            lines.append("Engine setups measured: %s. Figures show `%s`; the ablation figures and the tables "
                         "show every setup." % (", ".join("`%s`" % (v or "default") for v in self.variants),
                                                self.primary or "default"))
        return lines

    def write_reports(self):
        m = self.manifest_summary()
        invalid = [x for s in self.summary.values() for x in s["invalid"]]
        with open(os.path.join(self.out, "figures.json"), "w") as f:
            json.dump(self.figures, f, indent=1)
        sections = [("results", "Results (measured phase)"), ("by_op", "Per op type (mixed workloads)"),
                    ("pages", "Pages each engine got"), ("lsm", "RocksDB LSM shape"), ("load", "Load phase"),
                    ("perf", "Perf counters per operation")]
        sections = [(k, t) for k, t in sections if k in self.tab and self.tab[k].rows]
        md = ["# kvbench report", "", "Run directories: " + ", ".join("`%s`" % d for d in self.run_dirs), ""]
        md += ["- " + x for x in self.intro()] + [""]
        if invalid:
            md += ["## INVALID runs", ""] + ["- " + x for x in invalid] + [""]
        for key, title in sections:
            md += ["## " + title, "", self.tab[key].caption, "", self.tab[key].markdown()]
        md += ["## Figures", ""]
        for fig in self.figures:
            md += ["### " + fig["title"], "", "![%s](%s)" % (fig["title"], fig["png"]), "",
                   fig["caption"] + " ([PDF](%s), [data](%s))" % (fig["pdf"], fig["data"]), ""]
        md += ["## Manifest", "", "```json", json.dumps(manifest_for_display(m), indent=1, default=str), "```", "",
               "Engine versions: " + ", ".join("%s: %s" % kv_ for kv_ in sorted(m["_engine_versions"].items())), ""]
        with open(os.path.join(self.out, "report.md"), "w") as f:
            f.write("\n".join(md))
        h = ["<!DOCTYPE html><html><head><meta charset='utf-8'><title>kvbench report</title><style>"
             "body{font-family:sans-serif;max-width:1400px;margin:auto;padding:0 12px}"
             "table{border-collapse:collapse;font-size:12px;margin-bottom:4px}"
             "td,th{border:1px solid #ccc;padding:2px 6px;text-align:right;white-space:nowrap}"
             "td.txt{text-align:left}th{background:#f2f2f2}.wrap{overflow-x:auto}"
             ".bad{color:#c00;font-weight:bold}.note{font-size:12px;color:#444;max-width:1000px}"
             ".container{background:#fff3cd;border:1px solid #e0c060;padding:4px 8px}"
             ".figs{display:grid;grid-template-columns:repeat(auto-fill,minmax(440px,1fr));gap:12px}"
             "figure{margin:0}figcaption{font-size:11px;color:#333}img{width:100%;border:1px solid #eee}"
             "</style></head><body><h1>kvbench report</h1>",
             "<p>Run directories: %s</p><ul>" % html.escape(", ".join(self.run_dirs))]
        for line in self.intro():
            cls = " class='container'" if "container**" in line else ""
            h.append("<li%s>%s</li>" % (cls, md_inline(line)))
        h.append("</ul>")
        if invalid:
            h.append("<h2 class='bad'>INVALID runs</h2><ul>%s</ul>" % "".join(
                "<li>%s</li>" % html.escape(x) for x in invalid))
        for key, title in sections:
            h.append("<h2>%s</h2><p class='note'>%s</p><div class='wrap'>%s</div>" % (
                title, html.escape(self.tab[key].caption), self.tab[key].html()))
        h.append("<h2>Figures</h2><div class='figs'>")
        for fig in self.figures:
            h.append("<figure><img src='%s' alt='%s'><figcaption><b>%s.</b> %s (<a href='%s'>PDF</a>, "
                     "<a href='%s'>data</a>)</figcaption></figure>"
                     % (fig["png"], html.escape(fig["title"]), html.escape(fig["title"]), html.escape(fig["caption"]),
                        fig["pdf"], fig["data"]))
        h.append("</div><h2>Manifest</h2><pre>%s</pre></body></html>" % html.escape(
            json.dumps(manifest_for_display(m), indent=1, default=str)))
        with open(os.path.join(self.out, "report.html"), "w") as f:
            f.write("\n".join(h))

    def run(self):
        if self.draw:
            self.fig_bars()
            self.fig_spectra()
            self.fig_sweep()
            self.fig_threads()
            self.fig_ablation()
            self.fig_keysets()
            __import__("figures_load").add_figures(self)  # open-loop curves, time series (figures_load.py)
        self.tables()
        self.setup_tex()
        self.figures_tex()
        self.write_reports()
        if not self.quiet:
            print("\n".join(self.intro()))
            print(self.tab["results"].text())
            for s in self.summary.values():
                for x in s["invalid"]:
                    print("INVALID: " + x)
        print("report: %s (%d figures)" % (self.out, len(self.figures)))


KEYSET_ORDER = ["uniform", "sequential", "lognormal", "normal", "clustered", "fb-like", "osm-like"]


def keyset_sort_key(ks):
    """Generated key sets easiest first (kvbench keys --help), then key files by name."""
    return (KEYSET_ORDER.index(ks) if ks in KEYSET_ORDER else len(KEYSET_ORDER), ks)


def manifest_for_display(m):
    """The manifest without private keys; a container's package list shortened to its size."""
    out = {k: v for k, v in m.items() if not k.startswith("_")}
    c = out.get("container")
    if isinstance(c, dict) and isinstance(c.get("packages"), dict):
        out["container"] = dict(c, packages="%d packages (full list in manifest.json)" % len(c["packages"]))
    return out


def md_inline(text):
    """`code` and **bold** of our own intro lines -> HTML."""
    t = html.escape(text)
    t = re.sub(r"`([^`]*)`", r"<code>\1</code>", t)
    return re.sub(r"\*\*([^*]*)\*\*", r"<b>\1</b>", t)


def fmt1(v):
    return "?" if not isinstance(v, (int, float)) else "%.1f" % v


def r1(v):
    return "" if v is None else round(v, 1)


def tex_text(s):
    """Prose for LaTeX: escape the specials, keep it readable."""
    s = (s.replace("\\", "\\textbackslash{}").replace("_", "\\_").replace("%", "\\%").replace("&", "\\&")
         .replace("#", "\\#").replace("$", "\\$").replace("~", "\\textasciitilde{}"))
    return s.replace(" ns ", "\\,ns ").replace(" GB ", "\\,GB ")


def main():
    ap = argparse.ArgumentParser(description="Figures, tables and report.md/.html from kvbench run directories.")
    ap.add_argument("run_dirs", nargs="+", help="run directories (results/<run-id>)")
    ap.add_argument("--out", help="output directory (default: <first run dir>/report)")
    ap.add_argument("--quiet", action="store_true", help="print only the output path")
    ap.add_argument("--no-figures", action="store_true", help="tables and report files only (fast)")
    ap.add_argument("--mixed-machines", action="store_true",
                    help="allow results of different CPUs (merged cluster runs): each machine in charts of its own")
    a = ap.parse_args()
    out = a.out or os.path.join(a.run_dirs[0], "report")
    try:
        Report(a.run_dirs, out, a.quiet, not a.no_figures, a.mixed_machines).run()
    except kv.ResultError as e:
        kv.die(str(e))


if __name__ == "__main__":
    main()
