#!/bin/bash
# The gnuplot twin (analysis/gnuplot.sh + *.gp) draws bars, percentile spectra (per op type too) and the
# sweep, writes no placeholder rows, and its numbers equal report.py's (within the CSV's 0.1 rounding):
# on the committed fixture (histograms.csv without an op column) and on a small real mixed run.
set -euo pipefail
src=${KV_SOURCE_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
KVBENCH=${KVBENCH:-${KV_BUILD_DIR:-$src/build}/kvbench}
PY=/usr/bin/python3
command -v gnuplot >/dev/null || { echo "FAIL: gnuplot not installed (apt-get install gnuplot-nox)"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# gp_check RUN OUT: gnuplot.sh and report.py on RUN; compare every number both drew
gp_check() {
  local run=$1 out=$2
  bash "$src/analysis/gnuplot.sh" "$run" "$out/gp" > "$out.log" 2>&1 || { cat "$out.log"; fail "gnuplot.sh failed on $run"; }
  grep -iE "warning|error" "$out.log" && fail "gnuplot printed warnings/errors"
  "$PY" "$src/analysis/report.py" --quiet --out "$out/py" "$run" > /dev/null 2>&1 || fail "report.py failed on $run"
  "$PY" - "$out/gp" "$out/py/figures" "$src/analysis" <<'PYEOF' || fail "gnuplot and report.py numbers differ ($run)"
import csv, glob, os, re, sys
gp, py = sys.argv[1], sys.argv[2]
sys.path.insert(0, sys.argv[3])
import kvresults as kv
def pyname(gpname):  # gp_spectrum_mixed-get_n100000_t1_none -> spectrum_mixed-get_n100K_t1_none
    m = re.match(r"gp_(.*)_n(\d+)_(t\d+_\w+)$", gpname)
    return "%s_n%s_%s" % (m.group(1), kv.fmt_n(int(m.group(2))), m.group(3)) if m else gpname[3:]
def close(a, b, tol=0.11):
    return abs(float(a) - float(b)) <= max(tol, 1e-6 * abs(float(b)))
checked = 0
for dat in sorted(glob.glob(os.path.join(gp, "gp_*.dat"))):
    stem = os.path.basename(dat)[:-4]
    lines = [l.split() for l in open(dat) if l.strip()]
    assert lines, "%s is empty" % dat
    for l in lines:   # no placeholder rows: every data row is a real number or an explicit "-"/"?" gap
        assert l[0] != "1" and not (set(l[1:]) == {"1"}), "placeholder row in %s: %s" % (dat, l)
    def load(name):
        return list(csv.DictReader(open(os.path.join(py, name + ".csv"))))
    if stem.startswith("gp_bars"):
        rows = load(pyname(stem))
        engines = lines[0][2:]
        want = {(r["engine"], r["workload"]): r["mean_ns"] for r in rows if r["op"] == "all"}
        got = {(e, l[0]): v for l in lines[1:] for e, v in zip(engines, l[1:]) if v != "?"}
        assert set(got) == set(want), (stem, sorted(got), sorted(want))
        for k in want:
            assert close(got[k], want[k]), (stem, k, got[k], want[k])
            checked += 1
    elif stem.startswith("gp_spectrum"):
        rows = load(pyname(stem))
        want = {(r["engine"], float(r["q"])): int(r["latency_ns"]) for r in rows}
        got = {(l[0], float(l[1])): int(l[3]) for l in lines if l[1] != "-"}
        assert got == want, (stem, sorted(set(got.items()) ^ set(want.items()))[:6])
        checked += len(want)
    elif stem.startswith("gp_sweep"):
        base = pyname(stem)[len("sweep_"):]
        lat = {(r["engine"], int(r["n"])): (int(r["p50_ns"]), int(r["p99_ns"]), int(r["p999_ns"]))
               for r in load("sweep_latency_" + base)}
        tput = {(r["engine"], int(r["n"])): r["ops_per_sec"] for r in load("sweep_throughput_" + base)}
        for l in lines:
            if l[1] == "-":
                continue
            k = (l[0], int(l[1]))
            assert (int(l[2]), int(l[3]), int(l[4])) == lat[k], (stem, k, l, lat[k])
            assert close(l[5], tput[k], 0.2), (stem, k, l[5], tput[k])
            checked += 4
    else:
        raise AssertionError("unexpected data file " + dat)
assert checked > 0
print("gnuplot == report.py: %d numbers" % checked)
PYEOF
}

fx=$tmp/fixture
mkdir -p "$fx"
gp_check "$src/tests/fixtures/run-a" "$fx"
for n in 100000 1000000; do
  for f in gp_bars_n${n}_t1_none gp_spectrum_read_n${n}_t1_none gp_spectrum_mixed_n${n}_t1_none; do
    [ -s "$fx/gp/$f.pdf" ] && [ "$(head -c4 "$fx/gp/$f.pdf")" = "%PDF" ] || fail "$f.pdf missing or not a PDF"
    [ -s "$fx/gp/$f.png" ] || fail "$f.png missing"
    size=$(od -An -tu1 -j16 -N8 "$fx/gp/$f.png" | awk '{print $1*16777216+$2*65536+$3*256+$4 "x" $5*16777216+$6*65536+$7*256+$8}')
    [ "$size" = 660x460 ] || fail "$f.png is $size, expected 660x460"
  done
done
for w in read mixed; do
  [ -s "$fx/gp/gp_sweep_${w}_t1_none.pdf" ] && [ -s "$fx/gp/gp_sweep_${w}_t1_none.png" ] || fail "sweep $w missing"
done

# a real mixed run: histograms.csv has an op column, the twin draws one spectrum per op type
if [ -x "$KVBENCH" ]; then
  "$KVBENCH" run -e memory,lmdb -w mixed -n 5000 --ops 5000 --reps 2 --out "$tmp/res" -q > "$tmp/run.log" 2>&1 \
    || { cat "$tmp/run.log"; fail "kvbench run failed"; }
  run=$(sed -n 's/^results: //p' "$tmp/run.log")
  head -1 "$run/histograms.csv" | grep -q ',op$' || fail "histograms.csv has no op column"
  mkdir -p "$tmp/real"
  gp_check "$run" "$tmp/real"
  for op in get update insert; do
    [ -s "$tmp/real/gp/gp_spectrum_mixed-${op}_n5000_t1_none.pdf" ] || fail "no gnuplot spectrum for $op ops"
    [ -s "$tmp/real/py/figures/spectrum_mixed-${op}_n5K_t1_none.pdf" ] || fail "no report.py spectrum for $op ops"
  done
else
  fail "kvbench not built at $KVBENCH"
fi

# a missing CSV must fail
mkdir "$tmp/empty"
if bash "$src/analysis/gnuplot.sh" "$tmp/empty" "$tmp/o" > /dev/null 2>&1; then fail "gnuplot.sh accepted an empty run"; fi
echo "PASS: gnuplot ($(ls "$fx"/gp/*.pdf | wc -l) + $(ls "$tmp"/real/gp/*.pdf | wc -l) PDFs, numbers equal report.py's)"
