#!/bin/bash
# make-runs.sh - the runs the paper needs beyond `make bench-1m`, `make bench-ycsb` and the all-engine run:
# the index ablation over key sets: AlexStorage with ALEX and, as the variant alexstorage+btree, with the
# B+tree index, beside LMDB and the memory floor; read then mixed on one load per engine (--share-load).
# One run per key set and N, so ALEX and the B+tree compare within one run (cells interleaved).
# Writes the run directories under OUT and prints them.
# usage: papers/alexstorage/make-runs.sh KVBENCH OUT
#   env: NS ("1M 10M"), REPS_1M (2), REPS_10M (1), OPS (200K), KEYSETS
# Budget on the 2-core reference VM: about a minute per key set and repetition at 1M, three at 10M.
set -euo pipefail
KVBENCH=${1:?usage: $0 KVBENCH OUT}
OUT=${2:?usage: $0 KVBENCH OUT}
NS=${NS:-1M 10M}; OPS=${OPS:-200K}
KEYSETS=${KEYSETS:-uniform lognormal normal clustered fb-like osm-like}
mkdir -p "$OUT"
for n in $NS; do
  case $n in 1M) reps=${REPS_1M:-2};; 10M) reps=${REPS_10M:-1};; *) reps=${REPS:-1};; esac
  for ks in $KEYSETS; do
    run=$("$KVBENCH" run -e alexstorage,alexstorage+btree,lmdb,memory -o alexstorage+btree.index=btree \
          -w read,mixed --share-load -n "$n" --reps "$reps" --ops "$OPS" --keys "$ks" --seed 42 -q --out "$OUT" |
          sed -n 's/^results: //p')
    [ -n "$run" ] || { echo "make-runs.sh: kvbench failed for $ks at $n" >&2; exit 1; }
    echo "$run"
  done
done
