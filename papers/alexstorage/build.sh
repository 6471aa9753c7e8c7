#!/bin/bash
# Builds papers/alexstorage/build/paper.pdf from the newest results run (or the committed fixture when none).
# usage: papers/alexstorage/build.sh [RUN_DIR ...]    (make paper)
# Picks, in order: the run dirs given; the runs listed in the newest results/*/report/runs.txt (written
# by bench-1m/bench-sweep); the newest results/*/ run dir; tests/fixtures/run-a.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$root/analysis/bench_common.sh"
PY=$(kvb_python)
command -v latexmk >/dev/null || { echo "build.sh: latexmk missing (make paper installs it)" >&2; exit 1; }
runs=("$@")
if [ ${#runs[@]} = 0 ]; then
  newest_list=$(ls -1t "$root"/results/*/report/runs.txt 2>/dev/null | head -1 || true)
  newest_run=$(ls -1td "$root"/results/*/ 2>/dev/null | while read -r d; do
                 [ -f "$d/manifest.json" ] && { echo "${d%/}"; break; }; done || true)
  if [ -n "$newest_list" ]; then mapfile -t runs < "$newest_list"
  elif [ -n "$newest_run" ]; then runs=("$newest_run")
  else runs=("$root/tests/fixtures/run-a"); echo "build.sh: no results run; using the fixture (synthetic numbers)"
  fi
fi
# run dirs listed relative to the repo root (bench scripts run there)
for i in "${!runs[@]}"; do [ -d "${runs[$i]}" ] || runs[$i]="$root/${runs[$i]}"; done
echo "build.sh: paper from ${runs[*]}"
build="$here/build"
rm -rf "$build/gen"
mkdir -p "$build/gen"
"$PY" "$root/analysis/report.py" --quiet --out "$build/gen" "${runs[@]}"
"$PY" "$root/analysis/reproduce.py" --allow-invalid --tex "$build/gen/reproduction.tex" \
  --md "$build/gen/reproduction.md" "${runs[@]}" > /dev/null
cp "$here/paper.tex" "$build/"
cd "$build"
latexmk -pdf -interaction=nonstopmode -halt-on-error paper.tex > latexmk.log 2>&1 \
  || { tail -40 latexmk.log >&2; echo "build.sh: latexmk failed; full log $build/latexmk.log" >&2; exit 1; }
echo "paper: $build/paper.pdf ($(pdfinfo paper.pdf 2>/dev/null | awk '/^Pages/{print $2}') pages)"
