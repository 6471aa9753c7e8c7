#!/bin/bash
# analysis/report.py on the committed fixture: every figure (PDF+PNG, sizes), tables and report files exist.
set -euo pipefail
src=${KV_SOURCE_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
PY=/usr/bin/python3
"$PY" -c 'import matplotlib' 2>/dev/null || { echo "FAIL: $PY cannot import matplotlib (apt-get install python3-matplotlib)"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
run=$src/tests/fixtures/run-a
out=$tmp/rep

# the analysis is pure python: sanitizer builds gain nothing from redrawing, so they check tables only
figopt=""
[ "${KV_SANITIZED:-0}" = 1 ] && figopt=--no-figures
"$PY" "$src/analysis/report.py" --quiet $figopt --out "$out" "$run" > "$tmp/log" 2>&1 || { cat "$tmp/log"; fail "report.py exited non-zero"; }

# PNG width/height from the IHDR chunk (bytes 16..23, big-endian)
png_size() { od -An -tu1 -j16 -N8 "$1" | awk '{printf "%d %d\n", $1*16777216+$2*65536+$3*256+$4, $5*16777216+$6*65536+$7*256+$8}'; }
[ -n "$figopt" ] && figs="" || figs="bars_n100K_t1_none bars_n1M_t1_none bars_n100K_t2_none
      cdf_read_n100K_t1_none cdf_read_n1M_t1_none cdf_mixed_n100K_t1_none cdf_mixed_n1M_t1_none cdf_read_n100K_t2_none
      sweep_latency_read_t1_none sweep_latency_mixed_t1_none sweep_throughput_read_t1_none sweep_throughput_mixed_t1_none
      threads_read_n100K_none"
for f in $figs; do
  pdf=$out/figures/$f.pdf png=$out/figures/$f.png
  [ -s "$pdf" ] || fail "missing or empty $pdf"
  [ -s "$png" ] || fail "missing or empty $png"
  [ "$(head -c4 "$pdf")" = "%PDF" ] || fail "$pdf is not a PDF"
  [ "$(od -An -c -j1 -N3 "$png" | tr -d ' ')" = "PNG" ] || fail "$png is not a PNG"
  read -r w h < <(png_size "$png")
  # 3.3 in x 2.25 in at 200 dpi: one column of a two-column paper, >= 150 dpi
  [ "$w" = 660 ] && [ "$h" = 450 ] || fail "$png is ${w}x${h}, expected 660x450"
  grep -aq "FontFile2" "$pdf" || fail "$pdf has no embedded TrueType font (pdf.fonttype 42)"
  grep -aq "Type3" "$pdf" && fail "$pdf uses Type 3 fonts"
done
nfig=$(find "$out/figures" -name "*.pdf" | wc -l)
[ -n "$figopt" ] || [ "$nfig" = 13 ] || fail "expected 13 figures for the fixture, got $nfig"

for t in results load perf; do
  for ext in csv md tex; do [ -s "$out/tables/$t.$ext" ] || fail "missing table $t.$ext"; done
done
for f in report.md report.html setup.tex figures.tex figures.json; do [ -s "$out/$f" ] || fail "missing $f"; done
for e in alexstorage rocksdb lmdb; do
  for w in read mixed; do
    grep -q "^$e,$w," "$out/tables/results.csv" || fail "results.csv lacks $e/$w"
    grep -q "| $e | $w |" "$out/report.md" || fail "report.md lacks $e/$w"
    grep -q "$e & $w" "$out/tables/results.tex" || fail "results.tex lacks $e/$w"
  done
done
grep -q "^rocksdb,mixed,100000,1,none,.*,INVALID$" "$out/tables/results.csv" || fail "the invalid fixture run is not marked INVALID"
[ "$(grep -c ',INVALID$' "$out/tables/results.csv")" = 1 ] || fail "exactly one configuration should be INVALID"
grep -q "INVALID runs" "$out/report.md" || fail "report.md does not list the INVALID run"
grep -q "n/a" "$out/tables/perf.csv" || fail "unavailable perf counters not shown as n/a"
grep -q "Synthetic fixture CPU" "$out/setup.tex" || fail "setup.tex not generated from the manifest"
[ -n "$figopt" ] || grep -q 'figures/bars_n1M_t1_none.png' "$out/report.html" || fail "report.html does not show the figures"

# the aggregated mean equals the mean over the fixture's three rep JSONs (computed independently here)
want=$("$PY" -c '
import json,glob,sys
v=[]
for f in glob.glob(sys.argv[1]+"/alexstorage-read-n1000000-t1-none-r*.json"):
    r=json.load(open(f)); v+=[p["latency"]["mean_ns"] for p in r["phases"] if p["name"]=="read"]
assert len(v)==3; print("%.1f" % (sum(v)/3))' "$run")
got=$(awk -F, '$1=="alexstorage" && $2=="read" && $3==1000000 && $4==1 {print $8}' "$out/tables/results.csv")
[ "$want" = "$got" ] || fail "alexstorage read 1M mean: report $got, expected $want"

# several run dirs merge; a directory without results fails loudly
"$PY" "$src/analysis/report.py" --quiet --no-figures --out "$tmp/two" "$run" "$src/tests/fixtures/run-b" > /dev/null 2>&1 \
  || fail "report.py on two run dirs failed"
grep -q "^alexstorage,read,1000000,1,none,100,6," "$tmp/two/tables/results.csv" || fail "two runs did not pool 6 reps"
mkdir "$tmp/empty"
if "$PY" "$src/analysis/report.py" --quiet --out "$tmp/x" "$tmp/empty" > /dev/null 2>&1; then
  fail "report.py accepted a directory without results"
fi
echo "PASS: report.py ($nfig figures, tables, report.md/html)"
