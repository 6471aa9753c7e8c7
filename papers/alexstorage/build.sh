#!/bin/bash
# Builds papers/alexstorage/build/paper.pdf from the runs named in papers/alexstorage/runs.txt (make paper).
# usage: papers/alexstorage/build.sh [RUNS_TXT]
# 1. numbers.py turns the runs into gen/numbers.tex (every number the text cites) and gen/tables/*.tex;
# 2. report.py draws the figures and writes setup.tex / figures.tex from the headline runs (bench1m*);
# 3. lint.py refuses a TODO or a typed-in number in the prose; 4. latexmk.
# The run directories live in papers/alexstorage/runs/ (committed), so a fresh clone rebuilds the
# same paper; to move it to new results, copy the run directories there and edit runs.txt.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$root/analysis/bench_common.sh"
PY=$(kvb_python)
command -v latexmk >/dev/null || { echo "build.sh: latexmk missing (make paper installs it)" >&2; exit 1; }
list=${1:-$here/runs.txt}
[ -f "$list" ] || { echo "build.sh: $list not found: it names the runs the paper is made from" >&2; exit 1; }
mapfile -t runs < <(sed -e 's/#.*//' "$list" | awk 'NF == 2 {print $2}' \
                    | while read -r d; do case "$d" in /*) echo "$d";; *) echo "$root/$d";; esac; done)
[ ${#runs[@]} -gt 0 ] || { echo "build.sh: $list names no runs" >&2; exit 1; }
for d in "${runs[@]}"; do [ -f "$d/manifest.json" ] || { echo "build.sh: $d is not a run directory" >&2; exit 1; }; done
echo "build.sh: paper from ${#runs[@]} runs in $list"
"$PY" "$here/lint.py" "$here/paper.tex" || { echo "build.sh: paper.tex has a TODO or a typed-in number (above)" >&2; exit 1; }
build="$here/build"
rm -rf "$build/gen"
mkdir -p "$build/gen"
"$PY" "$here/numbers.py" "$list" "$build/gen"
# figures from the headline runs (labels bench1m*); the other sections are tables, since one chart of
# every workload and engine of every run would be unreadable
mapfile -t fig_runs < <(sed -e 's/#.*//' "$list" | awk 'NF == 2 && $1 ~ /^bench1m/ {print $2}' \
                        | while read -r d; do case "$d" in /*) echo "$d";; *) echo "$root/$d";; esac; done)
[ ${#fig_runs[@]} -gt 0 ] || fig_runs=("${runs[@]}")
"$PY" "$root/analysis/report.py" --quiet --out "$build/gen" "${fig_runs[@]}"
# the index ablation's figures (one bar per engine and index per key set) from the key-set runs (ks-*)
mapfile -t ks_runs < <(sed -e 's/#.*//' "$list" | awk 'NF == 2 && $1 ~ /^ks-/ {print $2}' \
                       | while read -r d; do case "$d" in /*) echo "$d";; *) echo "$root/$d";; esac; done)
: > "$build/gen/keyset-figures.tex"
if [ ${#ks_runs[@]} -gt 0 ]; then
  "$PY" "$root/analysis/report.py" --quiet --out "$build/gen/ks" "${ks_runs[@]}"
  # keep report.py's figure blocks of the key-set charts, their paths relative to gen/
  awk 'BEGIN {RS = ""; ORS = "\n\n"} /keysets_/ {gsub(/includegraphics\[width=\\columnwidth\]\{figures\//,
       "includegraphics[width=\\columnwidth]{ks/figures/"); print}' "$build/gen/ks/figures.tex" \
    > "$build/gen/keyset-figures.tex"
fi
cp "$here/paper.tex" "$build/"
cd "$build"
latexmk -pdf -interaction=nonstopmode -halt-on-error paper.tex > latexmk.log 2>&1 \
  || { tail -40 latexmk.log >&2; echo "build.sh: latexmk failed; full log $build/latexmk.log" >&2; exit 1; }
if grep -q "TODO" paper.tex; then echo "build.sh: TODO left in the paper" >&2; exit 1; fi
echo "paper: $build/paper.pdf ($(pdfinfo paper.pdf 2>/dev/null | awk '/^Pages/{print $2}') pages)"
