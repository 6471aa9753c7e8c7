#!/bin/bash
# analysis/compare.py finds the fixture's built-in 1.5x alexstorage read slowdown and nothing between a run and itself.
set -euo pipefail
src=${KV_SOURCE_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
PY=/usr/bin/python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
a=$src/tests/fixtures/run-a b=$src/tests/fixtures/run-b

# statistics against values computed by hand
"$PY" - "$src/analysis" <<'PYEOF' || fail "statistics self-check"
import sys, math
sys.path.insert(0, sys.argv[1])
import kvresults as kv
# exact U: complete separation of 3 vs 3 -> p = 2/20; 5 vs 5 -> 2/252
assert abs(kv.mann_whitney_u([1, 2, 3], [4, 5, 6])[1] - 0.1) < 1e-12
assert abs(kv.mann_whitney_u([1, 2, 3, 4, 5], [6, 7, 8, 9, 10])[1] - 2 / 252) < 1e-12
# U = 4 of 3x3 (one inversion): P(U<=1) = 2/20 -> two-sided p = 0.2
u, p, m = kv.mann_whitney_u([1, 2, 4], [3, 5, 6])
assert u == 1 and abs(p - 0.2) < 1e-12, (u, p)
# identical samples: p = 1
assert kv.mann_whitney_u([5, 5, 5], [5, 5, 5])[1] == 1.0
# t quantile: 95 % half-width of [1,2,3] = 4.303 * 1 / sqrt(3)
m_, hw = kv.t_interval([1.0, 2.0, 3.0])
assert m_ == 2.0 and abs(hw - 4.303 / math.sqrt(3)) < 1e-9
# incomplete beta: I_0.5(a, a) = 0.5; Welch p of equal samples = 1
assert abs(kv.betainc_reg(3.0, 3.0, 0.5) - 0.5) < 1e-12
assert kv.welch_t_test([1.0, 2.0, 3.0], [1.0, 2.0, 3.0]) == 1.0
try:
    from scipy import stats
    import random
    rng = random.Random(7)
    for n1, n2 in ((3, 4), (6, 6), (12, 15), (30, 25)):
        x = [rng.random() for _ in range(n1)]
        y = [rng.random() + 0.2 for _ in range(n2)]
        ref = stats.mannwhitneyu(x, y, alternative="two-sided",
                                 method="exact" if n1 + n2 <= 40 else "asymptotic").pvalue
        assert abs(kv.mann_whitney_u(x, y)[1] - ref) < 1e-9, (n1, n2)
        lx, ly = [math.log(v + 1) for v in x], [math.log(v + 1) for v in y]
        ref = stats.ttest_ind(lx, ly, equal_var=False).pvalue
        assert abs(kv.welch_t_test([v + 1 for v in x], [v + 1 for v in y]) - ref) < 1e-9
    print("statistics match scipy")
except ImportError:
    print("scipy absent: hand-computed checks only")
PYEOF

"$PY" "$src/analysis/compare.py" --csv "$tmp/ab.csv" "$a" "$b" > "$tmp/ab.txt" || fail "compare A B failed"
"$PY" - "$tmp/ab.csv" <<'PYEOF' || fail "A vs B verdicts"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
hits = [r for r in rows if r["engine"] == "alexstorage" and r["workload"] == "read" and r["metric"] == "mean_ns"]
assert len(hits) == 3, len(hits)        # n=100K t1, n=100K t2, n=1M t1
for r in hits:
    ratio, lo, hi = float(r["ratio"]), float(r["ci_lo"]), float(r["ci_hi"])
    assert r["verdict"].startswith("B slower"), r
    assert lo <= ratio <= hi and lo > 1.0, r
    assert abs(ratio - 1.5) < 0.15, r
tp = [r for r in rows if r["engine"] == "alexstorage" and r["workload"] == "read" and r["metric"] == "ops_per_sec"]
assert all(r["verdict"].startswith("B slower") and float(r["ratio"]) < 0.8 for r in tp), tp
# unchanged engine/workloads: the bulk shows no significant difference
same = [r for r in rows if not (r["engine"] == "alexstorage" and r["workload"] == "read") and r["metric"] == "mean_ns"]
ns = sum(r["verdict"] == "no significant difference" for r in same)
assert ns >= len(same) - 2, [(r["engine"], r["workload"], r["n"], r["verdict"]) for r in same]
inv = [r for r in rows if r["engine"] == "rocksdb" and r["workload"] == "mixed" and r["n"] == "100000"]
assert inv and all("INVALID" in r["flag"] and r["n_a"] == "2" for r in inv), inv
print("A vs B: %d comparisons ok" % len(rows))
PYEOF

"$PY" "$src/analysis/compare.py" --csv "$tmp/aa.csv" "$a" "$a" > /dev/null || fail "compare A A failed"
if grep -v "no significant difference" "$tmp/aa.csv" | tail -n +2 | grep -q .; then
  fail "a run compared with itself shows a difference"
fi
rc=0; "$PY" "$src/analysis/compare.py" --fail-on-slower "$a" "$b" > /dev/null || rc=$?
[ "$rc" = 3 ] || fail "--fail-on-slower should exit 3, got $rc"
rc=0; "$PY" "$src/analysis/compare.py" "$a" "$tmp" > /dev/null 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "a directory without results should exit 1, got $rc"
# reproduce.py: the prototype table from the fixture; run-a has an invalid rep among the figures used
"$PY" "$src/analysis/reproduce.py" --tex "$tmp/r.tex" "$b" > "$tmp/rb.txt" || fail "reproduce.py on run-b failed"
grep -q "^| as-read-1m | alexstorage | read | 1M | 905 | .* | 3 | .* | slower than published" "$tmp/rb.txt" \
  || fail "reproduce.py: as-read-1m row (run-b's alexstorage read is ~1.7 us, published 905 ns)"
grep -q "^| alexstorage vs rocksdb | read | 1M | 4.23 | " "$tmp/rb.txt" || fail "reproduce.py: speedup claim row missing"
grep -q "sqlite-read-1m .* not measured" "$tmp/rb.txt" || fail "reproduce.py: unmeasured engine not reported"
grep -q 'begin{table\*}' "$tmp/r.tex" || fail "reproduce.py --tex wrote no table"
rc=0; "$PY" "$src/analysis/reproduce.py" "$a" > /dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "reproduce.py should exit 2 on run-a's invalid rep, got $rc"
# measured reasons: run-b relabelled as a --pages 4k run is an ablation of run-a; its 1.5x slower
# alexstorage read must show up as a *measured* reason, the prototype's own reasons as *conjecture*
cp -r "$b" "$tmp/b4k"
"$PY" -c 'import json,sys; p=sys.argv[1]+"/manifest.json"; m=json.load(open(p)); m["pages"]="4k"; json.dump(m,open(p,"w"))' "$tmp/b4k"
"$PY" "$src/analysis/reproduce.py" --allow-invalid "$a" "$tmp/b4k" > "$tmp/abl.txt" || fail "reproduce.py with an ablation run failed"
grep -q '^  - \*measured\*: with `pages 4k` the mean is .*, its CI excludes 1' "$tmp/abl.txt" \
  || fail "reproduce.py: no measured reason from the --pages 4k ablation"
grep -q '^  - \*conjecture\*: ' "$tmp/abl.txt" || fail "reproduce.py: prototype reasons not marked conjecture"
grep -q '^| alexstorage | read | 1M | pages 4k | ' "$tmp/abl.txt" || fail "reproduce.py: ablation table row missing"
grep -qi 'checksums the 100-byte value\|RocksDB PinnableSlice, SQLite column blob' "$tmp/abl.txt" \
  && fail "reproduce.py still prints reasons that contradict engines/README.md"
echo "PASS: compare"
