#!/bin/bash
# YCSB A-F at 1M keys on every engine, one YCSB C run on a hard key set, and the report (make bench-ycsb).
# usage: harness/bench-ycsb.sh KVBENCH
# Quick run: BENCH_N=100000 BENCH_OPS=20000 harness/bench-ycsb.sh build/kvbench
# Load once, run in sequence (kvbench run --share-load, as YCSB itself does): each (engine, rep) cell loads
# BENCH_N keys once with per-key puts, then runs YCSB A, B, C, F, D and, on the engines that scan, E on that
# store, in this order for every engine (E last, so the engines without scans run the same A-D). Each
# workload gets its own warm-up, settle, BENCH_OPS timed + as many untimed ops and its own result file;
# later workloads start from the store earlier ones left (A, B, F update values; D and E insert keys),
# which is YCSB's own sequence. One repetition by default.
# Budget (20 min on the shared 2-core VM): 13 engines -> 13 loads + 5 (hard key set) instead of 88 loads.
# Before --share-load the run took 32 min (88 cells at ~22 s, mostly 1M-key loads, load average ~14).
# Measured 2026-11-30 with --share-load on the same busy VM (see the commit message for the breakdown):
# the sequence runs ~25-45 s per engine (SQLite, LevelDB, Berkeley DB the slowest loaders), the hard
# key-set run ~2 min, the report ~1 min. BENCH_ENGINES (fewer engines) is the lever if a busier machine
# needs it. The report states these choices.
# Exit: 0 ok; non-zero when kvbench fails, a run is invalid, or the analysis fails.
set -euo pipefail

BENCH_N=${BENCH_N:-1000000}                  # keys loaded
BENCH_OPS=${BENCH_OPS:-100000}               # measured ops per pass (timed, then as many untimed)
BENCH_REPS=${BENCH_REPS:-1}                  # repetitions per cell
BENCH_ENGINES=${BENCH_ENGINES:-}             # default: every engine `kvbench list` shows
BENCH_HARD_KEYS=${BENCH_HARD_KEYS:-osm-like} # key set of the hard run (see `kvbench help run`, --keys)
BENCH_HARD_WORKLOAD=${BENCH_HARD_WORKLOAD:-ycsb-c}
BENCH_HARD_ENGINES=${BENCH_HARD_ENGINES:-}   # default: null,memory,alexstorage,lmdb,rocksdb (those selected)
BENCH_OUT=${BENCH_OUT:-results}              # results root (run dirs are created inside)
BENCH_DATA=${BENCH_DATA:-}                   # engine data directory root (empty: kvbench default)
BENCH_EXTRA=${BENCH_EXTRA:-}                 # extra kvbench arguments

KVBENCH=${1:?usage: $0 PATH/TO/kvbench}
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/analysis/bench_common.sh"
kvb_start

# engines from `kvbench list`, and which of them can scan (YCSB E)
list=$("$KVBENCH" list)
all_engines=$(awk '/^engines:/{s=1;next} /^workloads:/{s=0} s && /^  [a-z]/{print $1}' <<<"$list" | paste -sd, -)
scanners=$(awk '/^engines:/{s=1;next} /^workloads:/{s=0} s && /^  [a-z]/{cur=$1} s && /caps:/ && / scan/{print cur}' \
           <<<"$list" | paste -sd, -)
engines=${BENCH_ENGINES:-$all_engines}
scan_engines=$(tr , '\n' <<<"$engines" | grep -Fx -f <(tr , '\n' <<<"$scanners") | paste -sd, - || true)
hard_engines=${BENCH_HARD_ENGINES:-$(tr , '\n' <<<"$engines" | grep -Fx -e null -e memory -e alexstorage -e lmdb \
               -e rocksdb | paste -sd, -)}

common=(-n "$BENCH_N" --reps "$BENCH_REPS" --out "$BENCH_OUT" --seed 42)
[ -n "$BENCH_DATA" ] && common+=(--dir "$BENCH_DATA")
read -r -a extra <<< "$BENCH_EXTRA"
common+=("${extra[@]}")
log="$BENCH_OUT/bench-ycsb-$(date +%Y%m%d-%H%M%S)"

# YCSB's order after the load: A, B, C, F, D, then E (the engines that scan); one load per (engine, rep)
seq=ycsb-a,ycsb-b,ycsb-c,ycsb-f,ycsb-d
other_engines=$(tr , '\n' <<<"$engines" | grep -vFx -f <(tr , '\n' <<<"${scan_engines:-none}") | paste -sd, - || true)
runs=()
stage() { echo "bench-ycsb: stage $1 took $(( $(date +%s) - $2 ))s" >&2; }
if [ -n "$scan_engines" ]; then
  t0=$(date +%s)
  run_main=$(kvb_run "$log-ycsb.log" run -e "$scan_engines" -w "$seq,ycsb-e" --share-load "${common[@]}" \
             --ops "$BENCH_OPS")
  runs+=("$run_main")
  stage "A-F on $scan_engines" "$t0"
fi
if [ -n "$other_engines" ]; then
  t0=$(date +%s)
  run_e=$(kvb_run "$log-ycsb-noscan.log" run -e "$other_engines" -w "$seq" --share-load "${common[@]}" \
          --ops "$BENCH_OPS")
  runs+=("$run_e")
  stage "A-D, F on $other_engines (no scans)" "$t0"
fi
main_args=()
for r in "${runs[@]}"; do main_args+=(--main "$r"); done
run_main=${runs[0]}
t0=$(date +%s)
run_hard=$(kvb_run "$log-hard.log" run -e "$hard_engines" -w "$BENCH_HARD_WORKLOAD" --keys "$BENCH_HARD_KEYS" \
           "${common[@]}" --ops "$BENCH_OPS")
runs+=("$run_hard")
stage "hard key set $BENCH_HARD_KEYS" "$t0"
kvb_check_valid "${runs[@]}"
bench_s=$(( $(date +%s) - start ))

rep="$run_main/report"
mkdir -p "$rep"
printf '%s\n' "${runs[@]}" > "$rep/runs.txt"
"$PY" "$here/analysis/bench_ycsb.py" --out "$rep" --bench-seconds "$bench_s" \
    --note "N=$BENCH_N, $BENCH_REPS repetition(s), $BENCH_OPS timed + $BENCH_OPS untimed ops per workload; each (engine, repetition) loads once and runs A, B, C, F, D, E in this order on that store (--share-load, as YCSB does: later workloads see earlier ones' updates and inserts); engines: $engines; YCSB E on the engines that scan: ${scan_engines:-none}; hard key set $BENCH_HARD_KEYS ($BENCH_HARD_WORKLOAD, its own load) on: $hard_engines" \
    "${main_args[@]}" --hard "$run_hard"
echo
"$PY" "$here/analysis/report.py" --quiet --out "$rep/full" "${runs[@]}"
echo "bench-ycsb: benchmarks took ${bench_s}s, total $(( $(date +%s) - start ))s"
echo "report: $rep/ycsb.md (all figures and tables: $rep/full/report.md)"
echo "results: $run_main"
