#!/usr/bin/env bash
# test_load_report.sh - the reports of this issue's runs: harness/bench-ycsb.sh (tiny N, three engines) writes
# ycsb.md with a row per engine and workload, one figure per workload and the hard-key-set section; the
# full report draws the latency-vs-offered-load curve and the per-interval timelines of --rate/--interval runs.
set -u
. "$(dirname "$0")/lib.sh" lr
if ! "$PY" -c 'import matplotlib' 2>/dev/null; then
    echo "FAIL: $PY cannot import matplotlib (install python3-matplotlib)"; exit 1
fi

# 1. make bench-ycsb's script, shrunk
BENCH_N=3000 BENCH_OPS=1000 BENCH_ENGINES=null,memory,lmdb BENCH_OUT="$tmp/out" BENCH_DATA="$tmp" \
    KV_PYTHON="$PY" bash "$SRC/harness/bench-ycsb.sh" "$KVBENCH" >"$tmp/bench.log" 2>&1 \
    || { fail "bench-ycsb.sh exit $?"; tail -20 "$tmp/bench.log"; }
run=$(sed -n 's/^results: //p' "$tmp/bench.log" | tail -1)
md="$run/report/ycsb.md"
if [ -f "$md" ]; then
    for w in a b c d f; do
        for e in null memory lmdb; do
            grep -q "^| ycsb-$w | uniform | $e | " "$md" || fail "ycsb.md has no row for ycsb-$w on $e"
        done
        [ -s "$run/report/figures/ycsb_ycsb-$w.png" ] || fail "no figure for ycsb-$w"
    done
    grep -q "^| ycsb-e | uniform | lmdb | " "$md" || fail "ycsb.md has no ycsb-e row for lmdb (it scans)"
    grep -q "^| ycsb-e | uniform | memory | " "$md" && fail "ycsb-e ran on memory, which cannot scan"
    grep -q "^## Hard key set" "$md" || fail "ycsb.md has no hard-key-set section"
    grep -q "^| ycsb-c | osm-like | lmdb | " "$md" || fail "no hard-key-set row for lmdb"
    grep -q "NO" <(grep '^| ycsb' "$md" | awk -F'|' '{print $10}') && fail "a bench-ycsb cell is invalid"
    [ -f "$run/report/full/report.md" ] || fail "no full report"
    echo "ok: bench-ycsb report ($(grep -c '^| ycsb' "$md") rows)"
else
    fail "no $md"
fi

# 2. open-loop curve and timelines in the full report
"$KVBENCH" run -e null,lmdb -w ycsb-a -n 3000 --ops 3000 --reps 1 -q --dir "$tmp" --out "$tmp/ol" \
    --rate 20%,60%,300% --interval 5 >"$tmp/ol.log" 2>&1 || fail "open-loop run exit $?"
d=$(sed -n 's/^results: //p' "$tmp/ol.log" | tail -1)
"$PY" "$SRC/analysis/report.py" --quiet --out "$tmp/rep" "$d" >"$tmp/rep.log" 2>&1 || { fail "report.py"; cat "$tmp/rep.log"; }
"$PY" - "$tmp/rep" "$d" <<'PYEOF' || fail "open-loop figures"
import csv, glob, json, os, sys
rep, run = sys.argv[1], sys.argv[2]
curve = glob.glob(rep + "/figures/load_curve_ycsb-a_n3000_*.csv")
assert len(curve) == 1 and os.path.exists(curve[0][:-4] + ".png"), curve
rows = list(csv.DictReader(open(curve[0])))
assert sorted({r["engine"] for r in rows}) == ["lmdb", "null"], rows
assert len(rows) == 6, len(rows)
for r in rows:
    assert int(float(r["p99_response_ns"])) >= int(float(r["p99_service_ns"])), r
# the CSV holds what the results say
res = [json.load(open(f)) for f in glob.glob(run + "/*rate*.json")]
for r in rows:
    match = [x for x in res if x["engine"] == r["engine"] and abs(x["rate"] - float(r["offered_ops_per_sec"])) < 1e-3]
    assert len(match) == 1, r
    p = [ph for ph in match[0]["phases"] if ph["name"] == "ycsb-a"][0]
    assert int(float(r["p99_response_ns"])) == p["latency_response"]["p99_ns"], r
    assert (r["saturated"] == "True") == p["open_loop"]["saturated"], r
tl = glob.glob(rep + "/figures/timeline_ycsb-a_n3000_*.csv")
assert len(tl) == 4, tl  # closed + 3 rates
for f in tl:
    rows = list(csv.DictReader(open(f)))
    assert {r["engine"] for r in rows} == {"lmdb", "null"} and all(int(r["ops"]) >= 0 for r in rows), f
figs = json.load(open(rep + "/figures.json"))
assert any(x["name"].startswith("load_curve_") for x in figs)
print("ok: load curve (%d points) and %d timelines" % (6, len(tl)))
PYEOF

if [ $fails -ne 0 ]; then
    echo "$fails failure(s)"
    exit 1
fi
echo "all load-report checks passed"
