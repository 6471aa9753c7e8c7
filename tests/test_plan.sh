#!/usr/bin/env bash
# test_plan.sh - a sweep written as a plan, run locally cell by cell (no Slurm), merged; merge refuses
# missing cells (naming them) unless --partial, mixed schema versions and duplicate cells.
set -u
. "$(dirname "$0")/lib.sh" plan
passes=0
ok() { echo "ok: $*"; passes=$((passes + 1)); }

# rows of summary.csv files without their headers, sorted: what a merge must preserve
rows() { for f in "$@"; do tail -n +2 "$f"; done | sort; }

sweep=(sweep -e null,memory -w read -n 1000,3000 --reps 2 --ops 2000 --seed 7 -q)

# 1. plan: 2 engines x 1 workload x 2 N x 2 reps = 8 cells, one command line each, seeded order
"$KVBENCH" "${sweep[@]}" --plan "$tmp/plan" 2>"$tmp/err" || fail "writing the plan: exit $?: $(cat "$tmp/err")"
n=$(wc -l < "$tmp/plan/cells.txt")
[ "$n" = 8 ] && ok "plan has 8 cells" || fail "plan has $n cells, want 8"
"$PY" - "$tmp/plan/plan.json" <<'PYEOF' || fail "plan.json does not describe the 8 cells"
import json, sys
p = json.load(open(sys.argv[1]))
assert p["schema"] == "kvbench-plan/1"
cells = p["cells"]
assert [c["id"] for c in cells] == list(range(8))
assert sorted((c["engine"], c["n"], c["rep"]) for c in cells) == sorted(
    (e, n, r) for e in ("null", "memory") for n in (1000, 3000) for r in (0, 1))
for c in cells:
    a = c["args"]
    assert a[:3] == ["run", "-e", c["engine"]] and "--rep-index" in a and a[a.index("--rep-index") + 1] == str(c["rep"])
    assert "--plan" not in a and "--out" not in a and "--seed" in a
PYEOF
grep -q -- "--rep-index" "$tmp/plan/cells.txt" && ok "cells.txt holds runnable command lines" || fail "cells.txt"
"$KVBENCH" "${sweep[@]}" --plan "$tmp/plan2" 2>/dev/null
cmp -s "$tmp/plan/cells.txt" "$tmp/plan2/cells.txt" && ok "same seed, same cell order" || fail "cell order not reproducible"
"$KVBENCH" "${sweep[@]}" --seed 8 --plan "$tmp/plan3" 2>/dev/null
cmp -s <(sed 's/--seed [0-9]*//' "$tmp/plan/cells.txt") <(sed 's/--seed [0-9]*//' "$tmp/plan3/cells.txt")  \
  && fail "another seed gave the same cell order" || ok "another seed, another cell order"

# 2. bad usage
"$KVBENCH" "${sweep[@]}" --plan "$tmp/plan" 2>"$tmp/err"; rc=$?
[ $rc = 2 ] && grep -q "already holds a plan" "$tmp/err" && ok "plan directory reused -> exit 2" || fail "reuse: exit $rc"
"$KVBENCH" run -e null -w read -n 1000 --plan "$tmp/p4" 2>"$tmp/err"; rc=$?
[ $rc = 2 ] && grep -q -- "--plan" "$tmp/err" && ok "--plan with run -> exit 2" || fail "--plan with run: exit $rc"
"$KVBENCH" "${sweep[@]}" --run-local 2>"$tmp/err"; rc=$?
[ $rc = 2 ] && grep -q -- "--run-local" "$tmp/err" && ok "--run-local without --plan -> exit 2" || fail "--run-local: exit $rc"
"$KVBENCH" cell "$tmp/plan" 99 2>"$tmp/err"; rc=$?
[ $rc = 2 ] && grep -q "ID" "$tmp/err" && ok "cell id out of range -> exit 2" || fail "cell 99: exit $rc"

# 3. run the plan here, cell by cell, and merge into one run
mkdir -p "$tmp/data"
"$KVBENCH" sweep --plan "$tmp/plan" --run-local --dir "$tmp/data" --out "$tmp/merged" >"$tmp/local.out" 2>"$tmp/err" \
  || fail "run-local: exit $?: $(tail -3 "$tmp/err")"
run=$(sed -n 's/^results: //p' "$tmp/local.out" | tail -1)
[ -f "$run/summary.csv" ] && ok "merged run $run" || fail "no merged run directory"
cells=$(ls -d "$tmp"/plan/cells/*/*/ | wc -l)
[ "$cells" = 8 ] && ok "8 cell run directories copied back" || fail "$cells cell run directories, want 8"
if cmp -s <(rows "$tmp"/plan/cells/*/*/summary.csv) <(rows "$run/summary.csv"); then
  ok "merged summary.csv = union of the cells' rows"
else
  fail "merged summary.csv differs from the union of the cells"; diff <(rows "$tmp"/plan/cells/*/*/summary.csv) <(rows "$run/summary.csv") | head
fi
cmp -s <(rows "$tmp"/plan/cells/*/*/histograms.csv) <(rows "$run/histograms.csv") \
  && ok "merged histograms.csv = union" || fail "merged histograms.csv differs"
"$PY" - "$run" <<'PYEOF' || fail "merged manifest"
import json, os, sys
m = json.load(open(os.path.join(sys.argv[1], "manifest.json")))
mg = m["merged"]
assert mg["schema"] == "kvbench-merge/1" and not mg["partial"] and mg["missing"] == []
assert len(mg["manifests"]) == 8 and len(mg["machines"]) == 1 and len(mg["machines"][0]["sources"]) == 8
for f in mg["manifests"].values():
    assert os.path.isfile(os.path.join(sys.argv[1], f))
assert len([f for f in os.listdir(sys.argv[1]) if f.endswith(".json") and f != "manifest.json"]) == 8
PYEOF

# 4. a missing cell is named, and refused unless --partial
victim=$(ls -d "$tmp"/plan/cells/3/*/)
mv "$victim" "$tmp/saved-cell"
"$KVBENCH" merge --out "$tmp/m2" "$tmp/plan" >/dev/null 2>"$tmp/err"; rc=$?
[ $rc != 0 ] && grep -q "missing cell 3 " "$tmp/err" && [ ! -d "$tmp/m2" ] \
  && ok "missing cell named, exit $rc, nothing written" || { fail "missing cell: exit $rc"; cat "$tmp/err"; }
"$KVBENCH" merge --partial --out "$tmp/m3" "$tmp/plan" >"$tmp/out" 2>"$tmp/err"; rc=$?
run3=$(sed -n 's/^results: //p' "$tmp/out")
[ $rc = 0 ] && [ "$(tail -n +2 "$run3/summary.csv" | cut -d, -f1-4 | sort -u | wc -l)" = 7 ] \
  && ok "--partial merges the 7 present cells" || fail "--partial: exit $rc"
mv "$tmp/saved-cell" "$victim"

# 5. the report refuses to chart results of different CPUs unless asked, then keeps them apart
cp -r "$run" "$tmp/twomachines"
for f in "$tmp"/twomachines/memory-read-*.json; do
  "$PY" - "$f" <<'PYEOF'
import json, sys
r = json.load(open(sys.argv[1])); r["manifest"]["cpu_model"] = "Other CPU 9000"; json.dump(r, open(sys.argv[1], "w"))
PYEOF
done
"$PY" "$(dirname "$0")/../analysis/report.py" --no-figures --quiet --out "$tmp/rep1" "$tmp/twomachines" >/dev/null 2>"$tmp/err"; rc=$?
[ $rc != 0 ] && grep -q "different CPUs" "$tmp/err" && ok "report refuses two CPUs in one chart (exit $rc)" \
  || { fail "report with two CPUs: exit $rc"; cat "$tmp/err"; }
"$PY" "$(dirname "$0")/../analysis/report.py" --no-figures --quiet --mixed-machines --out "$tmp/rep2" "$tmp/twomachines" \
  >/dev/null 2>"$tmp/err" && grep -q "Results of 2 machines" "$tmp/rep2/report.md" \
  && ok "--mixed-machines: the report names both machines" || { fail "--mixed-machines"; cat "$tmp/err"; }

# 6. different schema versions are never merged; the same cell twice is refused
cp -r "$run" "$tmp/other"
f=$(ls "$tmp/other"/null-read-*.json | head -1)
sed -i 's#"kvbench-result/1"#"kvbench-result/0"#' "$f"
"$KVBENCH" merge --out "$tmp/m4" "$run" "$tmp/other" >/dev/null 2>"$tmp/err"; rc=$?
[ $rc = 2 ] && grep -q "different schema versions" "$tmp/err" && ok "mixed schema versions -> exit 2" \
  || { fail "mixed schemas: exit $rc"; cat "$tmp/err"; }
"$KVBENCH" merge --out "$tmp/m5" "$run" "$run" >/dev/null 2>"$tmp/err"; rc=$?
[ $rc = 2 ] && grep -q "merge each cell once" "$tmp/err" && ok "duplicate cells -> exit 2" || fail "duplicates: exit $rc"
"$KVBENCH" merge --out "$tmp/m6" "$tmp/nosuch" >/dev/null 2>"$tmp/err"; rc=$?
[ $rc = 2 ] && ok "not a plan or run directory -> exit 2" || fail "bad source: exit $rc"

echo "$passes passed, $fails failed"
[ $fails = 0 ]
