#!/bin/bash
# Reproduces the prototype's comparison and measures what the reproduction page needs, then reports:
#   1. N=1M, every engine, read + mixed, BENCH_REPS reps, default page policy        (the main table)
#   2. N=100K, the engines of the prototype's 100K figures (+ lmdb, the memory floor)  (no "not measured")
#   3. page ablation at N=1M: every engine with --pages 4k (the main run is --pages huge), and
#      AlexStorage with -o alexstorage.hugepages=0 beside its default               (measured reasons)
#   4. mixed under durability sync (fsync per acknowledged write), BENCH_SYNC_REPS reps
# usage: harness/bench-1m.sh KVBENCH            (make bench-1m)
# Quick run: BENCH_N=100000 BENCH_REPS=1 BENCH_SYNC_OPS=2000 harness/bench-1m.sh build/kvbench
#
# Budget (20 min on the 2-core reference VM), from a timed reduced run of stage 1 (1 rep, N=1M, 300K ops;
# 2026-11-30, load average 10-15 from other jobs on the VM): 330 s wall, of which loads were 260 s
# (SQLite ~70 s, RocksDB 31-52 s, LMDB ~15 s per 1M-key load) and measured phases 50 s. Extrapolated
# under that contention: main 3 reps ~990 s, 100K ~80 s, --pages 4k 2 reps ~660 s, hugepages=0 ~30 s,
# sync 2 reps ~260 s, report ~60 s = ~35 min; on the idle VM the loads run ~2.2x faster (SQLite loaded
# at 20 us/key at 100K with little contention vs 66-72 us/key here), so ~16 min.
# Faster: BENCH_REPS=2, BENCH_ABLATION=0, BENCH_SYNC=0, or BENCH_ENGINES without sqlite.
# Exit: 0 ok; non-zero when kvbench fails, a run is invalid, or the analysis fails.
set -euo pipefail

BENCH_N=${BENCH_N:-1000000}                        # keys loaded (main, ablation and sync runs)
BENCH_OPS=${BENCH_OPS:-300000}                     # measured ops per pass (timed + as many untimed)
BENCH_REPS=${BENCH_REPS:-3}                        # repetitions (fresh process + data dir each)
BENCH_SMALL_N=${BENCH_SMALL_N:-100000}             # the prototype's 100K figures (0 skips)
BENCH_SMALL_OPS=${BENCH_SMALL_OPS:-200000}
BENCH_SMALL_ENGINES=${BENCH_SMALL_ENGINES:-alexstorage,rocksdb,lmdb,memory}
BENCH_ABLATION=${BENCH_ABLATION:-1}                # 0 skips the page ablation
BENCH_ABL_REPS=${BENCH_ABL_REPS:-2}                # repetitions of the ablation runs
BENCH_SYNC_OPS=${BENCH_SYNC_OPS:-10000}            # measured ops of the durability=sync mixed runs
BENCH_SYNC_REPS=${BENCH_SYNC_REPS:-2}              # repetitions of the sync runs (fsync-bound, each loads 1M keys)
BENCH_ENGINES=${BENCH_ENGINES:-alexstorage,rocksdb,sqlite,lmdb,memory,null}
BENCH_SYNC_ENGINES=${BENCH_SYNC_ENGINES:-alexstorage,rocksdb,sqlite,lmdb}
BENCH_OUT=${BENCH_OUT:-results}                    # results root (run dirs are created inside)
BENCH_DATA=${BENCH_DATA:-}                         # engine data directory root (empty: kvbench default)
BENCH_SYNC=${BENCH_SYNC:-1}                        # 0 skips the sync runs
BENCH_EXTRA=${BENCH_EXTRA:-}                       # extra kvbench arguments (e.g. -o engine.key=value)

KVBENCH=${1:?usage: $0 PATH/TO/kvbench}
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/analysis/bench_common.sh"
kvb_start
common=(--out "$BENCH_OUT" --seed 42)
[ -n "$BENCH_DATA" ] && common+=(--dir "$BENCH_DATA")
read -r -a extra <<< "$BENCH_EXTRA"
common+=("${extra[@]}")
log="$BENCH_OUT/bench-1m-$(date +%Y%m%d-%H%M%S)"        # kvbench output kept beside the results
timing=()
stage() {  # stage NAME START: remember how long a stage took (printed at the end, for the budget)
  timing+=("$1: $(( $(date +%s) - $2 ))s")
}

# the page ablation needs a kvbench with --pages and AlexStorage's hugepages option
# (help text captured first: grep -q closing the pipe early would fail the pipeline under pipefail)
has_pages=0; has_as_huge=0
help_text=$("$KVBENCH" run --help 2>&1 || true)
list_text=$("$KVBENCH" list 2>&1 || true)
grep -q -- '--pages' <<<"$help_text" && has_pages=1
grep -q 'hugepages' <<<"$list_text" && has_as_huge=1
pages_main=(); [ "$has_pages" = 1 ] && pages_main=(--pages huge)

t=$(date +%s)
run_main=$(kvb_run "$log-main.log" run -e "$BENCH_ENGINES" -w read,mixed -n "$BENCH_N" --reps "$BENCH_REPS" \
           --ops "$BENCH_OPS" --durability none "${pages_main[@]}" "${common[@]}")
runs=("$run_main")
stage "main N=$BENCH_N" "$t"

if [ "$BENCH_SMALL_N" != 0 ] && [ "$BENCH_SMALL_N" != "$BENCH_N" ]; then
  t=$(date +%s)
  runs+=("$(kvb_run "$log-small.log" run -e "$BENCH_SMALL_ENGINES" -w read,mixed -n "$BENCH_SMALL_N" \
            --reps "$BENCH_REPS" --ops "$BENCH_SMALL_OPS" --durability none "${pages_main[@]}" "${common[@]}")")
  stage "N=$BENCH_SMALL_N" "$t"
fi

skipped=""
if [ "$BENCH_ABLATION" = 1 ]; then
  if [ "$has_pages" = 1 ]; then
    t=$(date +%s)
    runs+=("$(kvb_run "$log-4k.log" run -e "$BENCH_ENGINES" -w read,mixed -n "$BENCH_N" --reps "$BENCH_ABL_REPS" \
              --ops "$BENCH_OPS" --durability none --pages 4k "${common[@]}")")
    stage "ablation --pages 4k" "$t"
  else
    skipped="$skipped --pages"
  fi
  if [ "$has_as_huge" = 1 ] && [[ ",$BENCH_ENGINES," == *,alexstorage,* ]]; then
    t=$(date +%s)
    runs+=("$(kvb_run "$log-as-nohuge.log" run -e alexstorage -w read,mixed -n "$BENCH_N" --reps "$BENCH_REPS" \
              --ops "$BENCH_OPS" --durability none "${pages_main[@]}" -o alexstorage.hugepages=0 "${common[@]}")")
    stage "ablation alexstorage hugepages=0" "$t"
  else
    skipped="$skipped alexstorage.hugepages"
  fi
  [ -z "$skipped" ] || echo "note: this kvbench lacks$skipped: that part of the page ablation was not run" >&2
fi

if [ "$BENCH_SYNC" = 1 ]; then
  t=$(date +%s)
  runs+=("$(kvb_run "$log-sync.log" run -e "$BENCH_SYNC_ENGINES" -w mixed -n "$BENCH_N" --reps "$BENCH_SYNC_REPS" \
            --ops "$BENCH_SYNC_OPS" --durability sync "${pages_main[@]}" "${common[@]}")")
  stage "sync" "$t"
fi
kvb_check_valid "${runs[@]}"
bench_s=$(( $(date +%s) - start ))

t=$(date +%s)
rep="$run_main/report"
mkdir -p "$rep"
printf '%s\n' "${runs[@]}" > "$rep/runs.txt"
echo "=== Results (all runs) ==="
"$PY" "$here/analysis/report.py" --out "$rep" "${runs[@]}"
echo
echo "=== Reproduction of the prototype's published numbers ==="
"$PY" "$here/analysis/reproduce.py" --md "$rep/reproduction.md" --tex "$rep/reproduction.tex" "${runs[@]}"
stage "report" "$t"
echo
printf 'bench-1m: %s\n' "${timing[@]}"
echo "bench-1m: benchmarks took ${bench_s}s, total $(( $(date +%s) - start ))s"
echo "report: $rep/report.md (html: $rep/report.html)"
echo "results: $run_main"
