#!/bin/bash
# make-runs.sh - the runs the paper needs beyond `make bench-1m`, `make bench-ycsb` and the all-engine run:
# the index ablation over key sets (AlexStorage with ALEX and with the B+tree index, LMDB, the memory
# floor; read and mixed at N keys). Writes one run directory per key set under OUT and prints them.
# usage: papers/alexstorage/make-runs.sh KVBENCH OUT   env: N (1M), REPS (2), OPS (200K), KEYSETS
# Budget on the 2-core reference VM: about a minute per key set and repetition at 1M.
set -euo pipefail
KVBENCH=${1:?usage: $0 KVBENCH OUT}
OUT=${2:?usage: $0 KVBENCH OUT}
N=${N:-1M}; REPS=${REPS:-2}; OPS=${OPS:-200K}
KEYSETS=${KEYSETS:-uniform lognormal normal clustered fb-like osm-like}
mkdir -p "$OUT"
# ALEX and the B+tree in one run (the B+tree as the variant alexstorage+btree), so their ratio is a
# same-run ratio, with cells interleaved in one shuffled order.
for ks in $KEYSETS; do
  run=$("$KVBENCH" run -e alexstorage,alexstorage+btree,lmdb,memory -o alexstorage+btree.index=btree \
        -w read,mixed -n "$N" --reps "$REPS" --ops "$OPS" --keys "$ks" --seed 42 -q --out "$OUT" |
        sed -n 's/^results: //p')
  [ -n "$run" ] || { echo "make-runs.sh: kvbench failed for $ks" >&2; exit 1; }
  echo "$run"
done
