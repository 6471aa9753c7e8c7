#!/bin/bash
# The index ablation end to end: one engine and its variant (alexstorage+btree) on two key sets, two runs,
# one report: the key-set figure draws every (key set, engine) with the numbers of the results table, and
# the variant's own option does not split the main setup.
set -euo pipefail
src=${KV_SOURCE_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
KVBENCH=${KVBENCH:-$src/build/kvbench}
PY=/usr/bin/python3
"$PY" -c 'import matplotlib' 2>/dev/null || { echo "FAIL: $PY cannot import matplotlib (apt-get install python3-matplotlib)"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

for ks in uniform clustered; do
  "$KVBENCH" run -e alexstorage,alexstorage+btree,memory -o alexstorage+btree.index=btree -w read -n 3000 \
      --reps 1 --ops 3000 --keys "$ks" --seed 7 -q --out "$tmp/runs" --dir "$tmp" > "$tmp/log" 2>&1 ||
      { cat "$tmp/log"; fail "kvbench run on $ks"; }
done
figopt=""
[ "${KV_SANITIZED:-0}" = 1 ] && figopt=--no-figures
"$PY" "$src/analysis/report.py" --quiet $figopt --out "$tmp/rep" "$tmp"/runs/* > "$tmp/log" 2>&1 ||
    { cat "$tmp/log"; fail "report.py exited non-zero"; }

"$PY" - "$tmp/rep" "${figopt:-figures}" <<'PY' || fail "key-set report check"
import csv, sys
rep, mode = sys.argv[1], sys.argv[2]
rows = list(csv.DictReader(open(rep + "/tables/results.csv")))
table = {(r["engine"], r["keyset"]): r for r in rows if r["workload"] == "read"}
want = {(e, k) for e in ("alexstorage", "alexstorage+btree", "memory") for k in ("uniform", "clustered")}
assert set(table) == want, sorted(table)
# the variant's own -o is part of the engine, so every row belongs to the one main setup
assert len({r.get("variant", "") for r in rows}) == 1, {r.get("variant") for r in rows}
if mode != "--no-figures":
    drawn = {(r["engine"], r["keyset"]): r for r in csv.DictReader(open(rep + "/figures/keysets_read_n3K_t1_none.csv"))}
    assert set(drawn) == want, sorted(drawn)
    for k in want:
        assert abs(float(drawn[k]["mean_ns"]) - float(table[k]["mean_ns"])) <= 0.1, (k, drawn[k], table[k])
    import os
    # bars and spectra hold the key set fixed: one figure per key set, never two bars of one engine
    for ks in ("uniform", "clustered"):
        bars = list(csv.DictReader(open(rep + "/figures/bars_n3K_t1_none_%s.csv" % ks)))
        assert sorted(r["engine"] for r in bars) == sorted({e for e, _ in want}), bars
        for r in bars:
            assert abs(float(r["mean_ns"]) - float(table[(r["engine"], ks)]["mean_ns"])) <= 0.1, (ks, r)
        assert os.path.exists(rep + "/figures/spectrum_read_n3K_t1_none_%s.png" % ks)
print("ok: key-set figure and table agree for", len(want), "cells")
PY
echo "key-set report checks passed"
