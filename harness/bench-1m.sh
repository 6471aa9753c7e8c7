#!/bin/bash
# Reproduces the prototype's 1M comparison (read + mixed, 6 engines, 3 reps; mixed under fsync) and reports.
# usage: harness/bench-1m.sh KVBENCH            (make bench-1m)
# Quick run: BENCH_N=100000 BENCH_REPS=1 BENCH_SYNC_OPS=2000 harness/bench-1m.sh build/kvbench
# Budget: 36 + 12 runs, each loading 1M keys in a fresh process; the loads dominate. Measured on the
# shared 2-core reference VM (2026-11-26, load average 3-8 from other jobs): 43 min, of which the
# SQLite loads (~130 us/key, ~2.3 min per run, 9 runs) were ~21 min; without SQLite about 20 min.
# The sync mixed runs are fsync-bound (~2 ms per write here), hence the smaller op count.
# Faster: BENCH_REPS=2, or BENCH_ENGINES / BENCH_SYNC_ENGINES without sqlite.
# Exit: 0 ok; non-zero when kvbench fails, a run is invalid, or the analysis fails.
set -euo pipefail

BENCH_N=${BENCH_N:-1000000}                        # keys loaded
BENCH_OPS=${BENCH_OPS:-500000}                     # measured ops per pass (timed + as many untimed); fits the 20 min budget
BENCH_REPS=${BENCH_REPS:-3}                        # repetitions (fresh process + data dir each)
BENCH_SYNC_OPS=${BENCH_SYNC_OPS:-10000}            # measured ops of the durability=sync mixed runs
BENCH_ENGINES=${BENCH_ENGINES:-alexstorage,rocksdb,sqlite,lmdb,memory,null}
BENCH_SYNC_ENGINES=${BENCH_SYNC_ENGINES:-alexstorage,rocksdb,sqlite,lmdb}
BENCH_OUT=${BENCH_OUT:-results}                    # results root (a run dir is created inside)
BENCH_DATA=${BENCH_DATA:-}                         # engine data directory root (empty: kvbench default)
BENCH_SYNC=${BENCH_SYNC:-1}                        # 0 skips the sync runs
BENCH_EXTRA=${BENCH_EXTRA:-}                       # extra kvbench arguments (e.g. -o engine.key=value)

KVBENCH=${1:?usage: $0 PATH/TO/kvbench}
[ -x "$KVBENCH" ] || { echo "FAILED: $KVBENCH is not an executable (build it: make build)" >&2; exit 1; }
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/analysis/bench_common.sh"
PY=$(kvb_python)
mkdir -p "$BENCH_OUT"
start=$(date +%s)
common=(-n "$BENCH_N" --reps "$BENCH_REPS" --out "$BENCH_OUT" --seed 42)
[ -n "$BENCH_DATA" ] && common+=(--dir "$BENCH_DATA")
read -r -a extra <<< "$BENCH_EXTRA"
common+=("${extra[@]}")
log="$BENCH_OUT/bench-1m-$(date +%Y%m%d-%H%M%S)"        # kvbench output kept beside the results

ops=()
[ -n "$BENCH_OPS" ] && ops=(--ops "$BENCH_OPS")
run_none=$(kvb_run "$log-none.log" run -e "$BENCH_ENGINES" -w read,mixed "${common[@]}" "${ops[@]}" --durability none)
runs=("$run_none")
if [ "$BENCH_SYNC" = 1 ]; then
  run_sync=$(kvb_run "$log-sync.log" run -e "$BENCH_SYNC_ENGINES" -w mixed "${common[@]}" --ops "$BENCH_SYNC_OPS" \
             --durability sync)
  runs+=("$run_sync")
fi
kvb_check_valid "${runs[@]}"
bench_s=$(( $(date +%s) - start ))

rep="$run_none/report"
mkdir -p "$rep"
printf '%s\n' "${runs[@]}" > "$rep/runs.txt"
echo "=== Results (all runs) ==="
"$PY" "$here/analysis/report.py" --out "$rep" "${runs[@]}"
echo
echo "=== Reproduction of the prototype's published numbers (N=$BENCH_N, $BENCH_REPS reps) ==="
"$PY" "$here/analysis/reproduce.py" --md "$rep/reproduction.md" --tex "$rep/reproduction.tex" "${runs[@]}"
echo
echo "bench-1m: benchmarks took ${bench_s}s, total $(( $(date +%s) - start ))s"
echo "report: $rep/report.md (html: $rep/report.html)"
echo "results: $run_none"
