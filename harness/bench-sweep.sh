#!/bin/bash
# Scale sweep: every engine (13 by default: AlexStorage, 10 library engines, the memory and null floors)
# over N = 100K, 1M, 10M (read + mixed, 3 reps), then the report.
# usage: harness/bench-sweep.sh KVBENCH        (make bench-sweep)
# Budget: dominated by the 10M loads (a fresh load per engine x workload x rep); with 13 engines expect
# several hours on 2 cores at the defaults (the slow loaders, per-put-transaction B-trees, dominate).
# Fewer engines: BENCH_ENGINES=alexstorage,rocksdb,lmdb. Quick run: BENCH_SIZES=10000,100000 BENCH_REPS=1
# harness/bench-sweep.sh build/kvbench
set -euo pipefail

BENCH_SIZES=${BENCH_SIZES:-100000,1000000,10000000}
BENCH_REPS=${BENCH_REPS:-3}
BENCH_OPS=${BENCH_OPS:-}                           # measured ops (empty: kvbench default min(max(N,100K),1M))
BENCH_ENGINES=${BENCH_ENGINES:-alexstorage,rocksdb,sqlite,lmdb,leveldb,wiredtiger,wiredtiger-lsm,bdb,kyotocabinet,tkrzw,tkrzw-hash,memory,null}
BENCH_OUT=${BENCH_OUT:-results}
BENCH_DATA=${BENCH_DATA:-}
BENCH_EXTRA=${BENCH_EXTRA:-}                       # extra kvbench arguments

KVBENCH=${1:?usage: $0 PATH/TO/kvbench}
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/analysis/bench_common.sh"
kvb_start
args=(sweep -e "$BENCH_ENGINES" -w read,mixed -n "$BENCH_SIZES" --reps "$BENCH_REPS" --out "$BENCH_OUT"
      --seed 42 --durability none)
[ -n "$BENCH_OPS" ] && args+=(--ops "$BENCH_OPS")
[ -n "$BENCH_DATA" ] && args+=(--dir "$BENCH_DATA")
read -r -a extra <<< "$BENCH_EXTRA"
args+=("${extra[@]}")
log="$BENCH_OUT/bench-sweep-$(date +%Y%m%d-%H%M%S).log"   # kvbench output kept beside the results
run=$(kvb_run "$log" "${args[@]}")
kvb_check_valid "$run"
rep="$run/report"
mkdir -p "$rep"
echo "$run" > "$rep/runs.txt"
"$PY" "$here/analysis/report.py" --out "$rep" "$run"
"$PY" "$here/analysis/reproduce.py" --md "$rep/reproduction.md" --tex "$rep/reproduction.tex" "$run"
echo "bench-sweep: total $(( $(date +%s) - start ))s"
echo "report: $rep/report.md"
echo "results: $run"
