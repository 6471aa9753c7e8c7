# Shared loading, grouping and statistics for kvbench result directories (results/SCHEMA.md).
"""Plain-python helpers used by report.py, compare.py and reproduce.py.

No numpy/scipy needed here: the statistics (t-interval, bootstrap, Mann-Whitney U) are implemented
directly so compare.py and reproduce.py run under any python3 >= 3.7.
"""
from collections import Counter
import glob
import json
import math
import os
import random
import sys

SCHEMA_PREFIX = "kvbench-result/"

# One fixed colour + marker per engine, used in every figure (gp_common.gp mirrors it for gnuplot with the
# nearest shape gnuplot has). The first six colours are Okabe-Ito (colour-blind safe); the library engines
# take further distinct colours (Okabe-Ito, then Paul Tol's palettes), and every engine has its own marker,
# so 13 engines stay apart in line plots even where two colours are close.
ENGINE_ORDER = ["alexstorage", "rocksdb", "sqlite", "lmdb", "leveldb", "wiredtiger", "wiredtiger-lsm", "bdb",
                "kyotocabinet", "tkrzw", "tkrzw-hash", "memory", "null"]
ENGINE_STYLE = {
    "alexstorage": ("#D55E00", "o"),
    "rocksdb": ("#0072B2", "s"),
    "sqlite": ("#009E73", "^"),
    "lmdb": ("#CC79A7", "D"),
    "leveldb": ("#56B4E9", "P"),
    "wiredtiger": ("#8C564B", "X"),
    "wiredtiger-lsm": ("#332288", "p"),
    "bdb": ("#999933", "h"),
    "kyotocabinet": ("#DDCC77", "d"),
    "tkrzw": ("#000000", "<"),
    "tkrzw-hash": ("#882255", ">"),
    "memory": ("#E69F00", "v"),
    "null": ("#7F7F7F", "x"),
}
# further engines take these in the order first drawn (one process draws every figure, so it is stable)
_EXTRA_STYLES = [("#44AA99", "H"), ("#F0E442", "*"), ("#17BECF", "8"), ("#9467BD", "1"), ("#BCBD22", "2"),
                 ("#1F77B4", "3"), ("#2CA02C", "4"), ("#E377C2", "+")]
_assigned = {}
WORKLOAD_ORDER = ["load", "read", "mixed", "update", "scan"]
OP_ORDER = ["get", "update", "insert", "delete", "scan"]
CONFIG_FIELDS = ("engine", "workload", "n", "threads", "durability", "value_size", "keyset", "access", "variant")

# The one aggregate used by every table, figure, the CLI table (harness/report.c) and the gnuplot twin.
AGGREGATE = ("latency: mean over repetitions of each repetition's mean, with its 95 % Student-t interval; "
             "percentiles: all repetitions' histograms merged; throughput: the untimed pass's ops/s, mean "
             "over repetitions")
AGGREGATE_SHORT = "mean of rep means, 95 % t-CI; percentiles of merged histograms"

# Percentile spectrum: quantiles drawn against 1/(1-q) on a log axis (p50 .. p99.99).
SPECTRUM_Q = [0.5, 0.75, 0.9, 0.95, 0.99, 0.995, 0.999, 0.9995, 0.9999]


def engine_base(engine):
    """The engine a variant (`-e NAME+LABEL`, e.g. alexstorage+btree) runs; an engine is its own base."""
    return engine.split("+", 1)[0]


def engine_style(engine):
    """(colour, marker) for an engine; a variant keeps its base engine's colour with the next unused
    marker; unknown engines get the next unused extra style."""
    if engine in ENGINE_STYLE:
        return ENGINE_STYLE[engine]
    if engine_base(engine) in ENGINE_STYLE and engine not in _assigned:
        _assigned[engine] = (ENGINE_STYLE[engine_base(engine)][0], _EXTRA_STYLES[len(_assigned) % len(_EXTRA_STYLES)][1])
    if engine not in _assigned:
        _assigned[engine] = _EXTRA_STYLES[len(_assigned) % len(_EXTRA_STYLES)]
    return _assigned[engine]


def engine_sort_key(engine):
    """Known engines in ENGINE_ORDER, each variant right after its base engine, then the rest by name."""
    base = engine_base(engine)
    return (ENGINE_ORDER.index(base) if base in ENGINE_ORDER else len(ENGINE_ORDER), engine != base, engine)


def workload_sort_key(workload):
    return (WORKLOAD_ORDER.index(workload) if workload in WORKLOAD_ORDER else len(WORKLOAD_ORDER), workload)


class ResultError(Exception):
    """A run directory that cannot be read; the message names the file."""


def load_run_dirs(dirs):
    """All result JSONs from the given run directories -> (results, manifests).

    Each result gets `_file` and `_run_dir`. A directory holding run directories (e.g. results/)
    is not expanded: pass run directories explicitly.
    """
    results, manifests = [], []
    for d in dirs:
        if not os.path.isdir(d):
            raise ResultError("%s: not a directory" % d)
        mpath = os.path.join(d, "manifest.json")
        if os.path.exists(mpath):
            try:
                with open(mpath) as f:
                    m = json.load(f)
            except (OSError, ValueError) as e:
                raise ResultError("%s: %s" % (mpath, e))
            m["_run_dir"] = d
            manifests.append(m)
        found = 0
        for path in sorted(glob.glob(os.path.join(d, "*.json"))):
            if os.path.basename(path) == "manifest.json":
                continue
            try:
                with open(path) as f:
                    r = json.load(f)
            except (OSError, ValueError) as e:
                raise ResultError("%s: %s" % (path, e))
            if not isinstance(r, dict) or not str(r.get("schema", "")).startswith(SCHEMA_PREFIX):
                continue
            if isinstance(r.get("keyset"), dict):  # {"name", "file", "hardness"}: keep the name as the key
                r["keyset_info"] = r["keyset"]
                r["keyset"] = r["keyset"].get("name")
            r["_file"] = path
            r["_run_dir"] = d
            r["_run_manifest"] = manifests[-1] if os.path.exists(mpath) else {}
            results.append(r)
            found += 1
        if found == 0:
            raise ResultError("%s: no kvbench result JSON files (schema %s*)" % (d, SCHEMA_PREFIX))
    return results, manifests


def pages_policy(r):
    """The page policy a result ran under ("huge", "4k"), or "" for runs that predate --pages."""
    p = r.get("pages")
    if isinstance(p, dict) and p.get("policy"):
        return str(p["policy"])
    for m in (r.get("manifest") or {}, r.get("_run_manifest") or {}):
        if m.get("pages"):
            return str(m["pages"])
    cmd = str((r.get("manifest") or {}).get("command") or "").split()
    for i, a in enumerate(cmd):   # the per-result manifest may carry only the command line
        if a == "--pages" and i + 1 < len(cmd):
            return cmd[i + 1]
        if a.startswith("--pages="):
            return a.split("=", 1)[1]
    return ""


def engine_options(r, own=True):
    """The -o options of the command line that apply to this result's engine, e.g. ["hugepages=0"]; a
    variant (NAME+LABEL) gets NAME's scoped options too, as kvbench gives them (harness/bench.c). own=False
    leaves out the variant's own options (`-o NAME+LABEL.key=...`): they name the engine, not a setup."""
    cmd = str((r.get("manifest") or {}).get("command") or "").split()
    out = []
    for i, a in enumerate(cmd):
        opt = a[2:] if a.startswith("-o") and len(a) > 2 else (cmd[i + 1] if a == "-o" and i + 1 < len(cmd) else None)
        if not opt or "=" not in opt:
            continue
        key = opt.split("=", 1)[0]
        if "." in key:
            eng, rest = opt.split(".", 1)
            if eng not in (r.get("engine"), engine_base(str(r.get("engine")))):
                continue
            if not own and "+" in eng:  # an engine variant's own options are part of what it is
                continue
            opt = rest
        out.append(opt)
    return sorted(out)


def rate_label(r):
    """Open-loop runs (--rate) are their own setup: "rate 50%" or "rate 200000/s"; "" in closed loop."""
    if r.get("rate") is None:
        return ""
    return "rate %g%%" % r["rate_pct"] if r.get("rate_pct") else "rate %.0f/s" % r["rate"]


# Set by a report that was asked to draw results of several machines (--mixed-machines): each
# machine's results then form their own variant, so no chart puts two CPUs side by side.
GROUP_BY_MACHINE = False


def machine(r):
    """The CPU a result was measured on (from its own manifest; merged runs keep one per cell)."""
    m = r.get("manifest") or {}
    return "%s x%s" % (m.get("cpu_model", "unknown CPU"), m.get("cpu_cores", "?"))


def check_machines(results, allow_mixed):
    """{machine: count}; raises ResultError when the results come from several CPUs and that was not
    asked for: a chart of two machines compares the machines, not the engines."""
    counts = Counter(machine(r) for r in results)
    if len(counts) > 1 and not allow_mixed:
        raise ResultError("the results come from %d different CPUs (%s); a chart of them would compare machines, "
                          "not engines. Report each machine's runs separately, or pass --mixed-machines to draw "
                          "each machine's results in charts of their own" % (
                              len(counts), "; ".join("%s: %d results" % mc for mc in sorted(counts.items()))))
    return dict(counts)


def variant(r):
    """What besides the configuration changed the engine's setup: page policy, -o options and, when
    results of several machines are drawn, the machine."""
    parts = [("pages " + pages_policy(r)) if pages_policy(r) else ""] + engine_options(r, own=False) + [rate_label(r)]
    if GROUP_BY_MACHINE:
        parts.append("on " + machine(r))
    return ", ".join(p for p in parts if p)


def primary_variant(results):
    """The main engine setup: the variant most results ran under; a tie goes to the one seen first (the
    first run dir given, which bench-1m makes the main run)."""
    counts, first = {}, {}
    for i, r in enumerate(results):
        v = variant(r)
        counts[v] = counts.get(v, 0) + 1
        first.setdefault(v, i)
    return sorted(counts, key=lambda v: (-counts[v], first[v]))[0]


def config_key(r):
    return tuple(variant(r) if k == "variant" else r.get(k) for k in CONFIG_FIELDS)


def config_dict(key):
    return dict(zip(CONFIG_FIELDS, key))


def group_results(results):
    """{config key: [results sorted by rep]} for every (engine, workload, n, threads, durability, ...)."""
    groups = {}
    for r in results:
        groups.setdefault(config_key(r), []).append(r)
    for k in groups:
        groups[k].sort(key=lambda r: (r.get("_run_dir", ""), r.get("rep", 0)))
    return groups


def sorted_keys(keys):
    return sorted(keys, key=lambda k: (engine_sort_key(k[0]), workload_sort_key(k[1]), k[2], k[3], str(k[4]),
                                       str(k[5:])))


def measured_phase(r):
    """The workload's measured phase: the phase named after the workload, else the last timed one."""
    phases = r.get("phases") or []
    for p in phases:
        if p.get("name") == r.get("workload"):
            return p
    timed = [p for p in phases if p.get("timed")]
    if timed:
        return timed[-1]
    raise ResultError("%s: no measured phase" % r.get("_file", "?"))


def phase_named(r, name):
    for p in r.get("phases") or []:
        if p.get("name") == name:
            return p
    return None


def is_valid(r):
    return bool(r.get("valid", False))


def invalid_reasons(rs):
    return ["%s rep %s: %s" % (os.path.basename(r.get("_file", "?")), r.get("rep"), r.get("invalid_reason"))
            for r in rs if not is_valid(r)]


def metric(phase, name):
    """One scalar of a phase: mean_ns/p50_ns/... from latency, ops_per_sec*, ns_per_op."""
    if name in ("ops_per_sec", "ops_per_sec_untimed", "ns_per_op", "elapsed_ns", "ops"):
        v = phase.get(name)
    else:
        v = (phase.get("latency") or {}).get(name)
    return None if v is None else float(v)


HIGHER_IS_BETTER = {"ops_per_sec", "ops_per_sec_untimed"}


# ---------------------------------------------------------------- histograms

def merge_histograms(latencies):
    """Add counts of equal buckets of several latency objects -> sorted [[lo, hi, count], ...]."""
    acc = {}
    for lat in latencies:
        for lo, hi, c in ((lat or {}).get("histogram") or {}).get("buckets", []):
            acc[(lo, hi)] = acc.get((lo, hi), 0) + c
    return [[lo, hi, c] for (lo, hi), c in sorted(acc.items())]


def hist_percentile(buckets, q):
    """Percentile q in [0,1] of a bucket list: the bucket's hi (never under-reported)."""
    total = sum(b[2] for b in buckets)
    if total == 0:
        return None
    rank = max(1, math.ceil(q * total))
    seen = 0
    for lo, hi, c in buckets:
        seen += c
        if seen >= rank:
            return hi
    return buckets[-1][1]


def hist_cdf(buckets):
    """(x, F(x)) points: at each bucket's hi the fraction of ops <= hi."""
    total = float(sum(b[2] for b in buckets))
    xs, ys, seen = [], [], 0
    for lo, hi, c in buckets:
        seen += c
        xs.append(max(hi, 1))
        ys.append(seen / total)
    return xs, ys


# ---------------------------------------------------------------- statistics

# two-sided 95 % Student t quantiles for df = 1..30
_T95 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145,
        2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048,
        2.045, 2.042]


def mean(xs):
    return sum(xs) / len(xs)


def median(xs):
    s = sorted(xs)
    m = len(s) // 2
    return s[m] if len(s) % 2 else 0.5 * (s[m - 1] + s[m])


def median_present(xs):
    """Median of the values that are not None; None when there are none (a metric the results lack)."""
    s = [x for x in xs if x is not None]
    return median(s) if s else None


def stdev(xs):
    if len(xs) < 2:
        return 0.0
    m = mean(xs)
    return math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1))


def t_interval(xs):
    """(mean, half-width) of the 95 % Student t confidence interval; half-width None for one sample
    (no interval can be given, and "+- 0" would claim one)."""
    if not xs:
        return None, None
    if len(xs) < 2:
        return mean(xs), None
    df = len(xs) - 1
    t = _T95[df - 1] if df <= len(_T95) else 1.96
    return mean(xs), t * stdev(xs) / math.sqrt(len(xs))


def _quantile(sorted_xs, q):
    if not sorted_xs:
        return None
    pos = q * (len(sorted_xs) - 1)
    lo = int(math.floor(pos))
    hi = min(lo + 1, len(sorted_xs) - 1)
    return sorted_xs[lo] + (sorted_xs[hi] - sorted_xs[lo]) * (pos - lo)


def _compositions(n, k):
    """All ways to put n draws into k slots (multiplicity vectors), i.e. the distinct resamples."""
    if k == 1:
        yield (n,)
        return
    for i in range(n, -1, -1):
        for rest in _compositions(n - i, k - 1):
            yield (i,) + rest


def _bootstrap_mean_dist(xs):
    """Exact distribution of the bootstrap mean of xs: [(mean, probability)] over all n^n resamples."""
    n = len(xs)
    out = []
    for comp in _compositions(n, n):
        w = math.factorial(n)
        for c in comp:
            w //= math.factorial(c)
        out.append((sum(c * x for c, x in zip(comp, xs)) / n, w / float(n ** n)))
    return out


def _weighted_quantile(pairs, q):
    """Quantile of a discrete distribution [(value, prob)] sorted by value (lower value at ties)."""
    acc = 0.0
    for v, p in pairs:
        acc += p
        if acc >= q - 1e-12:
            return v
    return pairs[-1][0]


def bootstrap_ratio_ci(a, b, iters=4000, seed=12345, level=0.95):
    """Percentile bootstrap CI of mean(b)/mean(a), resampling each side's reps independently.

    Small samples (the usual 3-5 repetitions) get the exact bootstrap distribution (every resample,
    weighted), so the answer is deterministic; larger ones a seeded Monte Carlo with `iters` resamples.
    """
    alpha = (1.0 - level) / 2.0
    na, nb = len(a), len(b)
    if math.comb(2 * na - 1, na) * math.comb(2 * nb - 1, nb) <= 20000:
        da = [(m, p) for m, p in _bootstrap_mean_dist(a) if m > 0]
        db = _bootstrap_mean_dist(b)
        pairs = sorted((mb / ma, pa * pb) for ma, pa in da for mb, pb in db)
        total = sum(p for _, p in pairs)
        pairs = [(v, p / total) for v, p in pairs]
        return _weighted_quantile(pairs, alpha), _weighted_quantile(pairs, 1.0 - alpha)
    rng = random.Random(seed)
    ratios = []
    for _ in range(iters):
        ma = sum(rng.choices(a, k=na)) / na
        mb = sum(rng.choices(b, k=nb)) / nb
        if ma > 0:
            ratios.append(mb / ma)
    ratios.sort()
    return _quantile(ratios, alpha), _quantile(ratios, 1.0 - alpha)


def _ranks(values):
    """Average ranks (1-based) with ties sharing the mean rank; also the tie-group sizes."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    ties = []
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        r = (i + j) / 2.0 + 1.0
        for k in range(i, j + 1):
            ranks[order[k]] = r
        ties.append(j - i + 1)
        i = j + 1
    return ranks, ties


def _u_exact_counts(n1, n2):
    """Number of arrangements giving each U value (no ties): counts[u], sum = C(n1+n2, n1)."""
    # f(i, j) = distribution of U for i x's and j y's; recurrence on the largest element.
    prev = {}
    for i in range(n1 + 1):
        cur = {}
        for j in range(n2 + 1):
            if i == 0 or j == 0:
                cur[j] = [1]
                continue
            a = cur[j - 1]          # largest is a y: U unchanged
            b = prev[j]             # largest is an x: U grows by j
            size = i * j + 1
            d = [0] * size
            for u, c in enumerate(a):
                d[u] += c
            for u, c in enumerate(b):
                d[u + j] += c
            cur[j] = d
        prev = cur
    return prev[n2]


def mann_whitney_u(a, b):
    """Two-sided Mann-Whitney U test -> (U of a, p-value, method). Exact when small and tie-free."""
    n1, n2 = len(a), len(b)
    if n1 == 0 or n2 == 0:
        return None, None, "n/a"
    ranks, ties = _ranks(list(a) + list(b))
    r1 = sum(ranks[:n1])
    u1 = r1 - n1 * (n1 + 1) / 2.0
    u2 = n1 * n2 - u1
    if n1 + n2 <= 40 and all(t == 1 for t in ties):
        counts = _u_exact_counts(n1, n2)
        total = float(sum(counts))
        umin = int(round(min(u1, u2)))
        p = 2.0 * sum(counts[:umin + 1]) / total
        return u1, min(1.0, p), "exact"
    mu = n1 * n2 / 2.0
    nn = n1 + n2
    tie_term = sum(t ** 3 - t for t in ties) / (nn * (nn - 1))
    var = n1 * n2 / 12.0 * ((nn + 1) - tie_term)
    if var <= 0:
        return u1, 1.0, "normal"
    z = (abs(u1 - mu) - 0.5) / math.sqrt(var)     # continuity correction
    p = math.erfc(max(z, 0.0) / math.sqrt(2.0))
    return u1, min(1.0, p), "normal"


def _betacf(a, b, x):
    """Continued fraction of the regularized incomplete beta function (modified Lentz)."""
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 300):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        de = d * c
        h *= de
        if abs(de - 1.0) < 1e-12:
            break
    return h


def betainc_reg(a, b, x):
    """Regularized incomplete beta I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    lbt = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log(1.0 - x)
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(lbt) * _betacf(a, b, x) / a
    return 1.0 - math.exp(lbt) * _betacf(b, a, 1.0 - x) / b


def welch_t_test(a, b):
    """Two-sided Welch t-test on log values (ratios are what we compare) -> p-value (None if n < 2)."""
    if len(a) < 2 or len(b) < 2 or min(a + b) <= 0:
        return None
    la, lb = [math.log(x) for x in a], [math.log(x) for x in b]
    va, vb = stdev(la) ** 2 / len(la), stdev(lb) ** 2 / len(lb)
    if va + vb == 0:
        return 0.0 if mean(la) != mean(lb) else 1.0
    t = (mean(lb) - mean(la)) / math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va ** 2 / (len(la) - 1) + vb ** 2 / (len(lb) - 1))
    return betainc_reg(df / 2.0, 0.5, df / (df + t * t))


def min_attainable_p(n1, n2):
    """Smallest two-sided exact Mann-Whitney p-value for these sample sizes (2 / C(n1+n2, n1))."""
    return min(1.0, 2.0 / math.comb(n1 + n2, n1))


# ---------------------------------------------------------------- aggregated rows

def _op_summary(phases, op):
    lats = [((p.get("by_op") or {}).get(op)) for p in phases]
    lats = [x for x in lats if x]
    if not lats:
        return None
    means = [float(x["mean_ns"]) for x in lats if x.get("mean_ns") is not None]
    hist = merge_histograms(lats)
    m, hw = t_interval(means)
    return {"mean_ns": m, "mean_ci": hw, "count": sum(int(x.get("count") or 0) for x in lats), "histogram": hist,
            "p50_ns": hist_percentile(hist, 0.50), "p99_ns": hist_percentile(hist, 0.99),
            "p999_ns": hist_percentile(hist, 0.999)}


def pages_record(rs):
    """Mean over reps of the pages each process got: {"after_load": {"anon_huge_kb": ..}, ...}, or None."""
    recs = [r.get("pages") for r in rs if isinstance(r.get("pages"), dict)]
    if not recs:
        return None
    out = {"policy": recs[0].get("policy")}
    for when in ("after_load", "after_measured"):
        vals = {}
        for f in ("anon_huge_kb", "file_pmd_kb", "shmem_pmd_kb"):
            xs = [float((x.get(when) or {}).get(f)) for x in recs if (x.get(when) or {}).get(f) is not None]
            vals[f] = mean(xs) if xs else None
        out[when] = vals
    return out


def lsm_record(rs):
    """RocksDB's LSM shape of the first rep that recorded one: [{"level", "files", "bytes"}], or None."""
    for r in rs:
        lsm = r.get("lsm")
        if lsm is None:
            lsm = (r.get("engine_stats") or {}).get("lsm")
        if isinstance(lsm, list) and lsm:
            return lsm
    return None


def timer_cost(rs):
    for r in rs:
        c = ((r.get("manifest") or {}).get("timer") or {}).get("cost_ns")
        if c is not None:
            return float(c)
    return None


def summarize_group(rs, phase_name=None):
    """Per-config aggregate over reps of the measured phase (or a named phase); see AGGREGATE."""
    phases = []
    for r in rs:
        p = phase_named(r, phase_name) if phase_name else measured_phase(r)
        if p is not None:
            phases.append(p)
    if not phases:
        return None
    means = [metric(p, "mean_ns") for p in phases if metric(p, "mean_ns") is not None]
    tputs = [metric(p, "ops_per_sec") for p in phases if metric(p, "ops_per_sec") is not None]
    untimed = [metric(p, "ops_per_sec_untimed") for p in phases if metric(p, "ops_per_sec_untimed") is not None]
    hist = merge_histograms([p.get("latency") for p in phases])
    m, hw = t_interval(means)
    tm, thw = t_interval(tputs)
    um, uhw = t_interval(untimed) if untimed else (None, None)
    ops = sorted({op for p in phases for op in (p.get("by_op") or {})}, key=lambda o: OP_ORDER.index(o)
                 if o in OP_ORDER else len(OP_ORDER))
    return {
        "reps": len(phases), "phase": phases[0].get("name"),
        "mean_ns": m, "mean_ci": hw, "rep_means": means,
        "p50_ns": hist_percentile(hist, 0.50), "p99_ns": hist_percentile(hist, 0.99),
        "p999_ns": hist_percentile(hist, 0.999), "max_ns": max((metric(p, "max_ns") or 0) for p in phases),
        "ops_per_sec": tm, "ops_per_sec_ci": thw, "rep_tputs": tputs,
        "ops_per_sec_untimed": um, "ops_per_sec_untimed_ci": uhw, "rep_untimed": untimed,
        "histogram": hist,
        "by_op": {op: _op_summary(phases, op) for op in ops} if len(ops) > 1 else {},
        "valid": all(is_valid(r) for r in rs), "invalid": invalid_reasons(rs),
        "perf": perf_per_op(phases),
        "timer_ns": timer_cost(rs), "pages": pages_record(rs), "lsm": lsm_record(rs),
    }


def throughput(s):
    """(ops/s, CI half-width, which pass) for figures: the untimed pass, else the timed one (older runs)."""
    if s.get("ops_per_sec_untimed"):
        return s["ops_per_sec_untimed"], s.get("ops_per_sec_untimed_ci"), "untimed"
    return s.get("ops_per_sec"), s.get("ops_per_sec_ci"), "timed"


def spectrum(buckets):
    """[(q, latency at q)] over SPECTRUM_Q from a merged histogram (empty when there is none)."""
    if not buckets:
        return []
    return [(q, hist_percentile(buckets, q)) for q in SPECTRUM_Q]


def container_of(manifest):
    """(runtime, number of recorded packages) when the run was made in a container, else None."""
    c = (manifest or {}).get("container")
    if not isinstance(c, dict):
        return None
    return c.get("runtime") or "container", len(c.get("packages") or {})


PERF_COUNTERS = ["instructions", "cycles", "cache_misses", "branch_misses", "dtlb_misses", "page_faults",
                 "context_switches", "cpu_migrations", "task_clock_ns"]


def perf_per_op(phases):
    """{counter: value per operation averaged over reps, or None when unavailable in any rep}."""
    out = {}
    for c in PERF_COUNTERS:
        vals = []
        for p in phases:
            e = (p.get("perf") or {}).get(c)
            ops = p.get("ops") or 0
            if not e or not e.get("available") or e.get("value") is None or ops <= 0:
                vals = None
                break
            vals.append(float(e["value"]) / ops)
        out[c] = mean(vals) if vals else None
    return out


def fmt_ns(v):
    if v is None:
        return "n/a"
    if v >= 1e6:
        return "%.2f ms" % (v / 1e6)
    if v >= 1e4:
        return "%.1f us" % (v / 1e3)
    return "%.0f ns" % v


def fmt_num(v, digits=3):
    if v is None:
        return "n/a"
    if v == 0:
        return "0"
    if abs(v) >= 1e6:
        return "%.*gM" % (digits, v / 1e6)
    if abs(v) >= 1e4:
        return "%.*gk" % (digits, v / 1e3)
    if abs(v) >= 100:
        return "%.0f" % v
    return "%.*g" % (digits, v)


def fmt_n(n):
    if n is None:
        return "?"
    n = int(n)
    if n >= 1000000 and n % 1000000 == 0:
        return "%dM" % (n // 1000000)
    if n >= 1000 and n % 1000 == 0:
        return "%dK" % (n // 1000)
    return str(n)


def die(msg, code=1):
    sys.stderr.write("error: %s\n" % msg)
    sys.exit(code)
