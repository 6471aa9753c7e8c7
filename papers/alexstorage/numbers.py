#!/usr/bin/python3
"""numbers.py - every number the paper's text cites, as LaTeX macros, from the runs named in runs.txt.

Run under Debian's /usr/bin/python3 (it imports analysis/kvresults.py, which needs nothing else).
usage: numbers.py RUNS_TXT OUT_DIR [--strict]

Writes OUT_DIR/numbers.tex (\\newcommand per number), OUT_DIR/runs.tex (the run list as a table) and
OUT_DIR/tables/{headline,ycsb,keysets,engines,sync}.tex. A number whose configuration is not in the
runs becomes "n/a" and is listed on stderr; --strict makes that an error (exit 1).
"""
import json
import math
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "analysis"))
import kvresults as kv  # noqa: E402
import tables  # noqa: E402

MISSING = []
N1M, N100K, N10M = 1000000, 100000, 10000000
PEERS_BTREE = ["lmdb", "wiredtiger", "bdb", "kyotocabinet", "tkrzw", "sqlite"]
PEERS_LSM = ["rocksdb", "leveldb", "wiredtiger-lsm"]
KEYSETS = ["uniform", "lognormal", "normal", "clustered", "fb-like", "osm-like"]
YCSB = ["ycsb-a", "ycsb-b", "ycsb-c", "ycsb-d", "ycsb-e", "ycsb-f"]


def read_runs(path):
    """[(label, run dir, description)] from runs.txt: `label  path  # description`; paths relative to
    the repository root."""
    runs = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            desc = line.split("#", 1)[1].strip() if "#" in line else ""
            parts = line.split("#", 1)[0].split()
            if len(parts) != 2:
                kv.die("%s: expected `label path  # description`, got: %s" % (path, line))
            d = parts[1] if os.path.isabs(parts[1]) else os.path.join(ROOT, parts[1])
            runs.append((parts[0], d, desc))
    return runs


class Results:
    """The results of every listed run, each tagged with its run's label. A section of the paper reads
    only the runs made for it (label prefixes: bench1m, ycsb, ks-, engines, scaling), so that one configuration
    measured in two runs is never pooled across them."""

    def __init__(self, runs, prefixes=None):
        self.all_runs = runs
        label_of = {os.path.normpath(d): label for label, d, _ in runs}
        self.results, self.manifests = kv.load_run_dirs([d for _, d, _ in runs])
        kv.check_machines(self.results, False)
        for r in self.results:
            r["_label"] = label_of.get(os.path.normpath(r["_run_dir"]), "")
        self.prefixes = prefixes

    def only(self, *prefixes):
        """The same results, restricted to runs whose label starts with one of the prefixes."""
        view = Results.__new__(Results)
        view.__dict__.update(self.__dict__)
        view.prefixes = prefixes
        return view

    def selected(self):
        if not self.prefixes:
            return self.results
        return [r for r in self.results if r["_label"].startswith(self.prefixes)]

    def pick(self, engine, workload, n, durability="none", keyset="uniform", pages="huge", options=(),
             threads=1, rate=False):
        """The aggregate of the results of one configuration, or None."""
        rs = [r for r in self.selected()
              if r.get("engine") == engine and r.get("workload") == workload and r.get("n") == n
              and r.get("durability") == durability and (r.get("keyset") or "uniform") == keyset
              and (kv.pages_policy(r) or "huge") == pages and kv.engine_options(r) == sorted(options)
              and r.get("threads", 1) == threads and (r.get("rate") is not None) == rate
              and not r.get("inject_fault")]
        return kv.summarize_group(rs) if rs else None

    def engines(self):
        return sorted({r["engine"] for r in self.selected()}, key=kv.engine_sort_key)

    def hardness(self, keyset, n):
        for r in self.selected():
            info = r.get("keyset_info") or {}
            if (r.get("keyset") or "uniform") == keyset and r.get("n") == n and info.get("hardness"):
                return info["hardness"]
        return {}


class Named:
    """A generated table: a name (file stem) and an analysis/tables.py Table."""

    def __init__(self, name, caption, cols, rows, label):
        self.name = name
        self.table = tables.Table([tables.Col("c%d" % i, h, u, k) for i, (h, u, k) in enumerate(cols)], caption, label)
        for row in rows:
            self.table.add(**{"c%d" % i: v for i, v in enumerate(row)})

    def latex(self):
        return self.table.latex(source="papers/alexstorage/numbers.py")


def fmt_int(v):
    return "n/a" if v is None else "{:,}".format(int(round(v))).replace(",", "{,}")


def fmt_ratio(v):
    return "n/a" if v is None else "%.2f" % v


def fmt_us(v):
    return "n/a" if v is None else "%.1f" % (v / 1000.0)


def ratio(a, b):
    return a / b if a is not None and b not in (None, 0) else None


def mean_of(s):
    return s["mean_ns"] if s else None


def p50_of(s):
    return s["p50_ns"] if s else None


class Macros:
    def __init__(self):
        self.defs = []

    def add(self, name, value, source):
        if value is None or value == "n/a":
            MISSING.append("%s (%s)" % (name, source))
            value = "n/a"
        self.defs.append((name, value, source))

    def tex(self):
        out = ["% generated by papers/alexstorage/numbers.py from runs.txt; do not edit"]
        for name, value, source in self.defs:
            out.append("\\newcommand{\\%s}{%s}%% %s" % (name, value, source))
        return "\n".join(out) + "\n"


def cname(s):
    """A LaTeX command name part from an engine/workload/keyset name: letters only."""
    words = {"0": "Zero", "1": "One", "2": "Two", "3": "Three", "4": "Four", "5": "Five", "6": "Six", "7": "Seven",
             "8": "Eight", "9": "Nine"}
    return "".join(words.get(c, c) if c.isdigit() else c for c in s.title() if c.isalnum())


def word_cmp(r, faster="faster", slower="slower"):
    return None if r is None else (faster if r < 1 else slower)


def headline(res, m):
    """Reads and mixed at 1M and 100K under both page policies; ratios to LMDB and the memory floor."""
    rows = []
    for n, tag in ((N1M, "OneM"), (N100K, "HundredK")):
        for wl in ("read", "mixed"):
            for eng in sorted(set(res.engines()) | {"alexstorage", "lmdb", "memory"}, key=kv.engine_sort_key):
                s = res.pick(eng, wl, n)
                if s is None and eng not in ("alexstorage", "lmdb", "memory"):
                    continue  # an engine this size was not run for; the text cites only these three
                if s is None:
                    m.add("%s%s%s" % (cname(eng), cname(wl), tag), None, "%s %s n=%d mean ns" % (eng, wl, n))
                    m.add("%s%s%sPNN" % (cname(eng), cname(wl), tag), None, "%s %s n=%d p99 ns" % (eng, wl, n))
                    continue
                m.add("%s%s%s" % (cname(eng), cname(wl), tag), fmt_int(s["mean_ns"]), "%s %s n=%d mean ns" % (eng, wl, n))
                m.add("%s%s%sPNN" % (cname(eng), cname(wl), tag), fmt_int(s["p99_ns"]), "%s %s n=%d p99 ns" % (eng, wl, n))
                if n == N1M:
                    s4 = res.pick(eng, wl, n, pages="4k")
                    rows.append([eng, wl, s["mean_ns"], s["p99_ns"], kv.throughput(s)[0], mean_of(s4),
                                 s4["p99_ns"] if s4 else None])
            a, l = mean_of(res.pick("alexstorage", wl, n)), mean_of(res.pick("lmdb", wl, n))
            m.add("Ratio%sLmdb%s" % (cname(wl), tag), fmt_ratio(ratio(a, l)), "alexstorage/lmdb %s n=%d" % (wl, n))
            m.add("Word%sLmdb%s" % (cname(wl), tag), word_cmp(ratio(a, l)), "faster/slower than lmdb")
            m.add("RatioMedian%sLmdb%s" % (cname(wl), tag), fmt_ratio(ratio(p50_of(res.pick("alexstorage", wl, n)),
                                                                         p50_of(res.pick("lmdb", wl, n)))),
                  "alexstorage/lmdb %s n=%d, p50" % (wl, n))
            mem = mean_of(res.pick("memory", wl, n))
            m.add("Ratio%sMemory%s" % (cname(wl), tag), fmt_ratio(ratio(a, mem)), "alexstorage/memory %s n=%d" % (wl, n))
    for wl in ("read", "mixed"):
        a4, l4 = mean_of(res.pick("alexstorage", wl, N1M, pages="4k")), mean_of(res.pick("lmdb", wl, N1M, pages="4k"))
        m.add("Ratio%sLmdbFourK" % cname(wl), fmt_ratio(ratio(a4, l4)), "alexstorage/lmdb %s 1M pages 4k" % wl)
        ah = mean_of(res.pick("alexstorage", wl, N1M, options=("hugepages=0",)))
        a = mean_of(res.pick("alexstorage", wl, N1M))
        m.add("AsNoHuge%s" % cname(wl), fmt_int(ah), "alexstorage -o hugepages=0 %s 1M mean" % wl)
        m.add("AsNoHugeEffect%s" % cname(wl), fmt_ratio(ratio(ah, a)), "hugepages=0 / default %s 1M" % wl)
        m.add("AsFourK%s" % cname(wl), fmt_int(a4), "alexstorage pages 4k %s 1M mean" % wl)
    null = res.pick("null", "read", N1M)
    m.add("NullRead", fmt_int(mean_of(null)), "null engine read 1M mean ns (harness cost)")
    timer = null["timer_ns"] if null else None
    m.add("TimerCost", "n/a" if timer is None else "%.1f" % timer, "timer cost ns")
    hdr = [("engine", "", "text"), ("workload", "", "text"), ("mean", "ns", "ns"), ("p99", "ns", "ns"),
           ("untimed", "ops/s", "ops"), ("mean, 4 KiB pages", "ns", "ns"), ("p99, 4 KiB pages", "ns", "ns")]
    return Named("headline", "Reads and mixed operations at one million uniform keys, durability none: "
                        "mean and p99 latency under the huge-page policy (the default) and under 4 KiB pages. "
                        + kv.AGGREGATE_SHORT + ".", hdr, rows, "tab:headline")


def sync_table(res, m):
    rows = []
    for eng in res.engines():
        s = res.pick(eng, "mixed", N1M, durability="sync")
        if s:
            rows.append([eng, s["mean_ns"] / 1000.0, s["p99_ns"] / 1000.0])
            m.add("%sMixedSync" % cname(eng), fmt_us(s["mean_ns"]), "%s mixed sync mean us" % eng)
    if not any(r[0] == "alexstorage" for r in rows):
        m.add("AlexstorageMixedSync", None, "alexstorage mixed sync mean us")
    peers = [(r[1], r[0]) for r in rows if r[0] != "alexstorage"]
    a = next((r[1] for r in rows if r[0] == "alexstorage"), None)
    best = min(peers) if peers else (None, None)
    m.add("SyncBestPeer", best[1] or "n/a", "fastest peer at sync")
    m.add("RatioSyncBestPeer", fmt_ratio(ratio(a, best[0])), "alexstorage / best peer, mixed sync 1M")
    return Named("sync", "Mixed operations at durability sync (an acknowledged write survives power loss), one "
                 "million keys: mean and p99.", [("engine", "", "text"), ("mean", "us", "float"), ("p99", "us", "float")],
                 rows, "tab:sync")


def ycsb_table(res, m):
    rows = []
    for wl in YCSB:
        for eng in res.engines():
            s = res.pick(eng, wl, N1M)
            if s:
                rows.append([wl, eng, s["mean_ns"], s["p99_ns"], kv.throughput(s)[0]])
        a, l = mean_of(res.pick("alexstorage", wl, N1M)), mean_of(res.pick("lmdb", wl, N1M))
        m.add("Ratio%sLmdb" % cname(wl), fmt_ratio(ratio(a, l)), "alexstorage/lmdb %s 1M" % wl)
        r_ = mean_of(res.pick("rocksdb", wl, N1M))
        m.add("Ratio%sRocks" % cname(wl), fmt_ratio(ratio(a, r_)), "alexstorage/rocksdb %s 1M" % wl)
    wins = [wl for wl in YCSB if (lambda a, l: a is not None and l is not None and a < l)(
        mean_of(res.pick("alexstorage", wl, N1M)), mean_of(res.pick("lmdb", wl, N1M)))]
    measured = [wl for wl in YCSB if res.pick("alexstorage", wl, N1M) and res.pick("lmdb", wl, N1M)]
    m.add("YcsbWins", str(len(wins)) if measured else None, "YCSB workloads where alexstorage beats lmdb")
    m.add("YcsbMeasured", str(len(measured)) if measured else None, "YCSB workloads measured for both")
    m.add("YcsbLosses", ", ".join(w.upper().replace("YCSB-", "") for w in measured if w not in wins) or "none",
          "YCSB workloads where lmdb is faster")
    return Named("ycsb", "YCSB core workloads at one million keys (zipfian 0.99 where YCSB uses it): mean and p99 "
                 "latency and untimed throughput. " + kv.AGGREGATE_SHORT + ".",
                 [("workload", "", "text"), ("engine", "", "text"), ("mean", "ns", "ns"), ("p99", "ns", "ns"),
                  ("untimed", "ops/s", "ops")], rows, "tab:ycsb")


BTREE = "alexstorage+btree"  # the B+tree index as a kvbench variant (-e alexstorage+btree)


def index_bpk(res, engine, ks, n):
    """Index bytes per key after the read phase (engine_stats.index_bytes_per_key), mean over repetitions."""
    v = [float(r["engine_stats"]["index_bytes_per_key"]) for r in res.selected()
         if r.get("engine") == engine and r.get("workload") == "read" and r.get("n") == n
         and (r.get("keyset") or "uniform") == ks and isinstance(r.get("engine_stats"), dict)
         and r["engine_stats"].get("index_bytes_per_key") not in (None, "")]
    return sum(v) / len(v) if v else None


def pick_btree(res, workload, ks, n=N1M):
    """AlexStorage with the B+tree index: the variant, or (runs made before variants) the engine itself."""
    return (res.pick(BTREE, workload, n, keyset=ks, options=("index=btree",))
            or res.pick("alexstorage", workload, n, keyset=ks, options=("index=btree",)))


def keyset_table(res, m):
    rows = []
    maxbpk = 0.0
    for n, tag in ((N1M, ""), (N10M, "TenM")):
        worst = (None, None)
        for ks in KEYSETS:
            h = res.hardness(ks, n)
            # the B+tree index runs as the variant alexstorage+btree in the same run as ALEX (make-runs.sh),
            # so means compare within one run, as everywhere else in the paper
            alex = mean_of(res.pick("alexstorage", "read", n, keyset=ks))
            btree = mean_of(pick_btree(res, "read", ks, n))
            lmdb = mean_of(res.pick("lmdb", "read", n, keyset=ks))
            mem = mean_of(res.pick("memory", "read", n, keyset=ks))
            amix = mean_of(res.pick("alexstorage", "mixed", n, keyset=ks))
            bmix = mean_of(pick_btree(res, "mixed", ks, n))
            if alex is None:
                continue
            abpk, bbpk = index_bpk(res, "alexstorage", ks, n), index_bpk(res, BTREE, ks, n)
            rows.append([ks, kv.fmt_n(n), h.get("pla_segments_eps32"), alex, btree, lmdb, mem, ratio(alex, btree),
                         ratio(alex, lmdb), ratio(amix, bmix), abpk, bbpk])
            maxbpk = max(maxbpk, abpk or 0)
            c = cname(ks) + tag
            m.add("Pla%s" % c, fmt_int(h.get("pla_segments_eps32")), "%s PLA segments eps=32 at %s" % (ks, kv.fmt_n(n)))
            m.add("RatioAlexBtree%s" % c, fmt_ratio(ratio(alex, btree)), "alex/btree read %s %s" % (ks, kv.fmt_n(n)))
            m.add("RatioAlexLmdb%s" % c, fmt_ratio(ratio(alex, lmdb)), "alex/lmdb read %s %s" % (ks, kv.fmt_n(n)))
            m.add("RatioMixAlexBtree%s" % c, fmt_ratio(ratio(amix, bmix)), "alex/btree mixed %s %s" % (ks, kv.fmt_n(n)))
            r = ratio(alex, btree)
            if r is not None and (worst[0] is None or r > worst[0]):
                worst = (r, ks)
        m.add("WorstKeysetForAlex" + tag, worst[1] or "n/a", "key set with the highest alex/btree read ratio, %s"
              % kv.fmt_n(n))
        m.add("WorstKeysetRatio" + tag, fmt_ratio(worst[0]), "its alex/btree ratio")
    m.add("MaxAlexIndexBytesPerKey", ("%.1f" % maxbpk) if maxbpk else None,
          "largest ALEX index bytes per key over the key sets")
    return Named("keysets", "Key sets at one and ten million keys: hardness (segments of an optimal epsilon-PLA at "
                 "epsilon = 32), mean read latency of AlexStorage with the ALEX and the B+tree index (the same "
                 "store, one run per key set and N, cells interleaved) beside LMDB and the memory floor, the "
                 "mixed workload's alex/btree ratio of means, and each index's bytes per key. " + kv.AGGREGATE_SHORT + ".",
                 [("key set", "", "text"), ("N", "", "text"), ("PLA 32", "", "int"), ("alex", "ns", "ns"),
                  ("btree", "ns", "ns"), ("lmdb", "ns", "ns"), ("memory", "ns", "ns"), ("alex/btree", "", "ratio"),
                  ("alex/lmdb", "", "ratio"), ("mixed alex/btree", "", "ratio"), ("alex index", "B/key", "float"),
                  ("btree index", "B/key", "float")], rows, "tab:keysets")


def scaling(res, m):
    """Read throughput (untimed pass, mean over reps) at 1, 2 and 4 threads on the two cores: AlexStorage's
    lock-free gets beside LMDB's, in the same runs."""
    for eng, tag in (("alexstorage", "Alex"), ("lmdb", "Lmdb")):
        ops = {}
        for t in (1, 2, 4):
            s = res.pick(eng, "read", N1M, threads=t)
            ops[t] = kv.throughput(s)[0] if s else None
        m.add("Scale%sOne" % tag, fmt_int(ops[1]), "%s read ops/s, 1 thread" % eng)
        m.add("Scale%sTwoVsOne" % tag, fmt_ratio(ratio(ops[2], ops[1])), "%s read throughput 2 threads / 1" % eng)
        m.add("Scale%sFourVsTwo" % tag, fmt_ratio(ratio(ops[4], ops[2])), "%s read throughput 4 threads / 2" % eng)


def engines_table(res, m):
    rows = []
    for eng in res.engines():
        r, x = res.pick(eng, "read", N1M), res.pick(eng, "mixed", N1M)
        if r is None and x is None:
            continue
        rows.append([eng, mean_of(r), r["p99_ns"] if r else None, mean_of(x), x["p99_ns"] if x else None,
                     kv.throughput(r)[0] if r else None])
    m.add("EnginesMeasured", str(len(rows)) if rows else None, "engines with a 1M read or mixed result")
    a = mean_of(res.pick("alexstorage", "read", N1M))
    for tag, peers in (("Btree", PEERS_BTREE), ("Lsm", PEERS_LSM)):
        best = min(((mean_of(res.pick(p, "read", N1M)), p) for p in peers if res.pick(p, "read", N1M)), default=None)
        m.add("BestRead%s" % tag, best[1] if best else None, "fastest %s peer for 1M reads" % tag)
        m.add("RatioReadBest%s" % tag, fmt_ratio(ratio(a, best[0]) if best else None),
              "alexstorage / best %s peer read 1M" % tag)
    return Named("engines", "Every engine at one million uniform keys, durability none: read and mixed mean "
                 "and p99, untimed read throughput. " + kv.AGGREGATE_SHORT + ".",
                 [("engine", "", "text"), ("read", "ns", "ns"), ("read p99", "ns", "ns"), ("mixed", "ns", "ns"),
                  ("mixed p99", "ns", "ns"), ("read", "ops/s", "ops")], rows, "tab:engines")


def runs_table(runs, res):
    rows = []
    for label, d, desc in runs:
        man = next((x for x in res.manifests if os.path.normpath(x.get("_run_dir", "")) == os.path.normpath(d)), {})
        rows.append([label, os.path.relpath(d, ROOT), desc, (man.get("start_time") or "?")[:16],
                     (man.get("git_commit") or "?")[:12]])
    return Named("runs", "The runs this paper is generated from (papers/alexstorage/runs.txt).",
                 [("label", "", "text"), ("directory", "", "text"), ("what", "", "text"), ("started", "UTC", "text"),
                  ("commit", "", "text")], rows, "tab:runs")


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    strict = "--strict" in sys.argv
    if len(args) != 2:
        kv.die(__doc__.strip().splitlines()[2], 2)
    runs = read_runs(args[0])
    out = args[1]
    os.makedirs(os.path.join(out, "tables"), exist_ok=True)
    res = Results(runs)
    m = Macros()
    man = res.manifests[0] if res.manifests else {}
    m.add("CpuModel", (man.get("cpu_model") or "unknown").replace("_", " "), "CPU of the runs")
    m.add("CpuCores", str(man.get("cpu_cores", "?")), "cores")
    m.add("NumRuns", str(len(runs)), "runs listed in runs.txt")
    m.add("NumResults", fmt_int(len(res.results)), "result files")
    m.add("NumKeysetRuns", str(len([1 for label, _, _ in runs if label.startswith("ks-")])), "key-set runs")
    scaling(res.only("scaling"), m)
    tabs = [headline(res.only("bench1m"), m), sync_table(res.only("bench1m"), m), ycsb_table(res.only("ycsb"), m),
            keyset_table(res.only("ks-"), m), engines_table(res.only("engines"), m), runs_table(runs, res)]
    for t in tabs:
        with open(os.path.join(out, "tables", t.name + ".tex"), "w") as f:
            f.write(t.latex())
    with open(os.path.join(out, "numbers.tex"), "w") as f:
        f.write(m.tex())
    with open(os.path.join(out, "numbers.json"), "w") as f:
        json.dump({n: v for n, v, _ in m.defs}, f, indent=1)
    for x in MISSING:
        print("numbers.py: not in the runs: " + x, file=sys.stderr)
    print("numbers.py: %d macros (%d n/a), %d tables -> %s" % (len(m.defs), len(MISSING), len(tabs), out))
    if strict and MISSING:
        sys.exit(1)


if __name__ == "__main__":
    try:
        main()
    except kv.ResultError as e:
        kv.die("numbers.py: %s" % e)
