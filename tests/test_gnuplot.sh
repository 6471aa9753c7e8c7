#!/bin/bash
# The gnuplot scripts (analysis/gnuplot.sh + *.gp) draw bars, CDFs and the sweep from the fixture's CSVs.
set -euo pipefail
src=${KV_SOURCE_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
command -v gnuplot >/dev/null || { echo "FAIL: gnuplot not installed (apt-get install gnuplot-nox)"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
bash "$src/analysis/gnuplot.sh" "$src/tests/fixtures/run-a" "$tmp" > "$tmp/log" 2>&1 || { cat "$tmp/log"; fail "gnuplot.sh failed"; }
[ -s "$tmp/log" ] && grep -iE "warning|error" "$tmp/log" && fail "gnuplot printed warnings/errors"
for n in 100000 1000000; do
  exp="gp_bars_n${n}_t1_none gp_cdf_read_n${n}_t1_none gp_cdf_mixed_n${n}_t1_none"
  for f in $exp; do
    [ -s "$tmp/$f.pdf" ] && [ "$(head -c4 "$tmp/$f.pdf")" = "%PDF" ] || fail "$f.pdf missing or not a PDF"
    [ -s "$tmp/$f.png" ] || fail "$f.png missing"
    size=$(od -An -tu1 -j16 -N8 "$tmp/$f.png" | awk '{print $1*16777216+$2*65536+$3*256+$4 "x" $5*16777216+$6*65536+$7*256+$8}')
    [ "$size" = 660x460 ] || fail "$f.png is $size, expected 660x460"
  done
done
for w in read mixed; do
  [ -s "$tmp/gp_sweep_${w}_t1_none.pdf" ] && [ -s "$tmp/gp_sweep_${w}_t1_none.png" ] || fail "sweep $w missing"
done
# a missing CSV must fail
mkdir "$tmp/empty"
if bash "$src/analysis/gnuplot.sh" "$tmp/empty" "$tmp/o" > /dev/null 2>&1; then fail "gnuplot.sh accepted an empty run"; fi
echo "PASS: gnuplot ($(ls "$tmp"/*.pdf | wc -l) PDFs)"
