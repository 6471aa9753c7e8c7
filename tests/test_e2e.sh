#!/usr/bin/env bash
# test_e2e.sh - kvbench end to end: every engine x workload at N=10000, then the JSON/CSV contents,
# threads, durability, and injected faults that must make a run invalid (exit 3).
set -u
. "$(dirname "$0")/lib.sh" e2e

N=10000
OPS=2000
[ "${KV_SANITIZED:-0}" = 1 ] && { N=3000; OPS=500; }
common=(-n "$N" --ops "$OPS" --warmup 200 --reps 1 -q --dir "$tmp")

# engines and their caps from `kvbench list`
"$KVBENCH" list >"$tmp/list" || { echo "FAIL: kvbench list"; exit 1; }
mapfile -t engines < <(awk '/^engines:/{s=1;next} /^workloads:/{s=0} s && /^  [a-z]/{print $1}' "$tmp/list")
mapfile -t workloads < <(awk '/^workloads:/{s=1;next} s && /^  [a-z]/{print $1}' "$tmp/list")
caps_of() { awk -v e="$1" '/^engines:/{s=1;next} /^workloads:/{s=0} s && /^  [a-z]/{cur=$1} s && /caps:/ && cur==e{print}' "$tmp/list"; }
[ ${#engines[@]} -ge 2 ] || fail "fewer than 2 engines listed"
# scans WORKLOAD: its mix (the line after its name in `kvbench list`) has scans
scans() { awk -v w="$1" '/^workloads:/{s=1;next} s && /^  [a-z]/{cur=$1;next} s && cur==w && /scan=/{f=1} END{exit !f}' "$tmp/list"; }
echo "engines: ${engines[*]}; workloads: ${workloads[*]}"

# last_run OUTFILE: the run directory from the `results: <dir>` last line
last_run() { tail -1 "$1" | sed -n 's/^results: //p'; }

runs=()
for e in "${engines[@]}"; do
    caps=$(caps_of "$e")
    wl=()
    for w in "${workloads[@]}"; do
        if scans "$w" && ! grep -qw scan <<<"$caps"; then
            "$KVBENCH" run -e "$e" -w "$w" "${common[@]}" --out "$tmp/refused" >/dev/null 2>&1
            rc=$?
            [ $rc -eq 2 ] || fail "$e has no scan cap, yet -w scan exited $rc (want 2)"
            continue
        fi
        wl+=("$w")
    done
    list=$(IFS=,; echo "${wl[*]}")
    start=$(date +%s)
    "$KVBENCH" run -e "$e" -w "$list" "${common[@]}" --out "$tmp/out" >"$tmp/run.out" 2>"$tmp/run.err"
    rc=$?
    [ $rc -eq 0 ] || { fail "run -e $e -w $list exited $rc"; cat "$tmp/run.err"; continue; }
    dir=$(last_run "$tmp/run.out")
    [ -d "$dir" ] || { fail "$e: no 'results: <dir>' line"; continue; }
    echo "ok: $e ($list) in $(( $(date +%s) - start ))s -> $dir"
    runs+=("$dir:${#wl[@]}:$e")
done

# JSON and CSV checks for every run directory
for r in "${runs[@]}"; do
    IFS=: read -r dir nwl eng <<<"$r"
    $PY - "$dir" "$nwl" "$eng" "$(caps_of "$eng")" <<'PYEOF' || fail "checks of $dir"
import csv, glob, json, os, sys
d, nwl, eng, caps = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4].split()
errors = []
def check(cond, msg):
    if not cond:
        errors.append(msg)
files = sorted(glob.glob(os.path.join(d, "*-r*.json")))
check(len(files) == nwl, f"{len(files)} result files, want {nwl}")
man = json.load(open(os.path.join(d, "manifest.json")))
for k in ("tool_version", "git_commit", "compiler", "cflags", "build_type", "allocator", "cpu_model", "cpu_cores",
          "memory_bytes", "kernel", "thp", "clocksource", "start_time", "hostname", "timer", "command", "run_id"):
    check(k in man, f"manifest.json lacks {k}")
rows_expected = 0
for f in files:
    r = json.load(open(f))
    name = os.path.basename(f)
    check(r["schema"] == "kvbench-result/1", f"{name}: schema")
    for k in ("run_id", "engine", "engine_version", "workload", "mix", "n", "ops", "rep", "threads", "durability",
              "load_durability", "keyset", "access", "zipf_theta", "value_size", "seed", "valid", "invalid_reason",
              "verification", "manifest", "phases", "engine_stats"):
        check(k in r, f"{name}: lacks {k}")
    m = r["manifest"]
    for k in ("tool", "tool_version", "git_commit", "compiler", "cflags", "build_type", "allocator", "cpu_model",
              "cpu_cores", "memory_bytes", "kernel", "thp", "clocksource", "data_dir", "data_dir_fs", "start_time",
              "hostname", "timer", "engine_config", "command"):
        check(k in m, f"{name}: manifest lacks {k}")
    check(m["timer"]["cost_ns"] > 0, f"{name}: timer cost not measured")
    check(r["valid"] is True and r["invalid_reason"] is None, f"{name}: not valid: {r['invalid_reason']}")
    v = r["verification"]
    if "discards" in caps:
        check(v["skipped"] is True, f"{name}: verification not marked skipped for a discarding engine")
    else:
        check(v["skipped"] is False, f"{name}: verification skipped")
        check(v["checked"] > 0 and v["readback"] > 0, f"{name}: nothing verified")
        check(v["wrong"] == v["missing"] == v["stale"] == v["ghost"] == 0, f"{name}: bad answers {v}")
    phases = {p["name"]: p for p in r["phases"]}
    want = ["load"] if r["workload"] == "load" else ["load", "warmup", r["workload"]]
    check(list(phases) == want, f"{name}: phases {list(phases)}, want {want}")
    rows_expected += len(r["phases"])
    for p in r["phases"]:
        check(p["elapsed_ns"] > 0 and p["ops"] > 0, f"{name}/{p['name']}: no time or ops")
        check("perf" in p and p["perf"]["task_clock_ns"]["available"], f"{name}/{p['name']}: no task clock")
        for c, pv in p["perf"].items():
            check(pv["available"] or pv.get("reason"), f"{name}/{p['name']}: {c} unavailable without reason")
        if not p["timed"]:
            continue
        lat = p["latency"]
        check(lat["count"] == p["ops"], f"{name}/{p['name']}: {lat['count']} latencies for {p['ops']} ops")
        b = lat["histogram"]["buckets"]
        check(sum(x[2] for x in b) == lat["count"], f"{name}/{p['name']}: bucket counts do not add up")
        check(all(x[0] <= x[1] for x in b), f"{name}/{p['name']}: bucket lo > hi")
        check(lat["min_ns"] <= lat["p50_ns"] <= lat["p99_ns"] <= lat["max_ns"], f"{name}/{p['name']}: percentiles out of order")
        check(sum(o["count"] for o in p["by_op"].values()) == lat["count"], f"{name}/{p['name']}: by_op counts")
        if p["name"] != "load":
            check(p["ops_per_sec_untimed"] and p["ops_per_sec_untimed"] > 0, f"{name}/{p['name']}: no untimed throughput")
with open(os.path.join(d, "summary.csv")) as fh:
    rows = list(csv.reader(fh))
header = ("engine,workload,n,rep,phase,threads,durability,keyset,access,value_size,ops,mean_ns,p50_ns,p90_ns,"
          "p99_ns,p999_ns,max_ns,ops_per_sec,ops_per_sec_untimed,valid").split(",")
check(rows[0] == header, f"summary.csv header {rows[0]}")
check(len(rows) - 1 == rows_expected, f"summary.csv has {len(rows) - 1} rows, want {rows_expected}")
with open(os.path.join(d, "histograms.csv")) as fh:
    hrows = list(csv.reader(fh))
check(hrows[0] == "engine,workload,n,rep,phase,threads,durability,lo_ns,hi_ns,count,op".split(","), "histograms.csv header")
check(len(hrows) > 1, "histograms.csv is empty")
# op "all" rows are the whole phase; the per-op-type rows of a phase add up to the same count
per = {}
for h in hrows[1:]:
    k = tuple(h[:7])
    a = per.setdefault(k, [0, 0])
    a[0 if h[10] == "all" else 1] += int(h[9])
check(all(b == 0 or a == b for a, b in per.values()), "histograms.csv: per-op rows do not add up to the op=all rows")
for e in errors:
    print("  " + e)
sys.exit(1 if errors else 0)
PYEOF
done

# pick engines by capability for the remaining cases
pick() { # pick CAP [NOTCAP]: first engine with CAP (and without NOTCAP)
    for e in "${engines[@]}"; do
        c=$(caps_of "$e")
        grep -qw "$1" <<<"$c" || continue
        [ -n "${2:-}" ] && grep -qw "$2" <<<"$c" && continue
        echo "$e"
        return
    done
}
threaded=$(pick threads discards)
persistent=""
for e in "${engines[@]}"; do
    c=$(caps_of "$e")
    if grep -qw persistent <<<"$c" && grep -qw dur_sync <<<"$c"; then persistent=$e; break; fi
done
verifying=$(pick dur_none discards)

# --threads 2: histograms merged, ops add up, verification still clean
if [ -n "$threaded" ]; then
    "$KVBENCH" run -e "$threaded" -w mixed --threads 2 "${common[@]}" --out "$tmp/t2" >"$tmp/run.out" 2>"$tmp/run.err"
    rc=$?
    if [ $rc -ne 0 ]; then fail "--threads 2 on $threaded exited $rc"; cat "$tmp/run.err"; else
        $PY - "$(last_run "$tmp/run.out")" <<'PYEOF' && echo "ok: --threads 2 on $threaded" || fail "--threads 2 checks"
import glob, json, sys
r = json.load(open(glob.glob(sys.argv[1] + "/*-t2-*.json")[0]))
p = r["phases"][-1]
assert r["threads"] == 2 and r["valid"], r["invalid_reason"]
assert p["latency"]["count"] == p["ops"], (p["latency"]["count"], p["ops"])
assert r["verification"]["checked"] > 0
PYEOF
    fi
fi

# --durability sync on a persistent engine: loads with none, measures with sync
if [ -n "$persistent" ]; then
    "$KVBENCH" run -e "$persistent" -w mixed --durability sync "${common[@]}" --ops 300 --out "$tmp/sync" >"$tmp/run.out" 2>"$tmp/run.err"
    rc=$?
    if [ $rc -ne 0 ]; then fail "--durability sync on $persistent exited $rc"; cat "$tmp/run.err"; else
        $PY - "$(last_run "$tmp/run.out")" <<'PYEOF' && echo "ok: --durability sync on $persistent" || fail "durability checks"
import glob, json, sys
r = json.load(open(glob.glob(sys.argv[1] + "/*-sync-*.json")[0]))
assert r["durability"] == "sync" and r["load_durability"] == "none" and r["valid"], r
PYEOF
    fi
fi

# injected faults: each must be caught, the run written, marked invalid, and exit 3
if [ -n "$verifying" ]; then
    # the timed pass checks each answer as it comes; the untimed pass records answers and checks them after
    for f in wrong stale missing wrong:untimed stale:untimed missing:untimed; do
        "$KVBENCH" run -e "$verifying" -w read "${common[@]}" --inject-fault $f --out "$tmp/fault" >"$tmp/run.out" 2>"$tmp/run.err"
        rc=$?
        [ $rc -eq 3 ] || { fail "--inject-fault $f on $verifying exited $rc (want 3)"; continue; }
        $PY - "$(last_run "$tmp/run.out")" $f <<'PYEOF' && echo "ok: --inject-fault $f caught" || fail "--inject-fault $f checks"
import csv, glob, json, sys
d, f = sys.argv[1], sys.argv[2]
f, _, pass_ = f.partition(":")
r = json.load(open(glob.glob(d + "/*-r0.json")[0]))
v = r["verification"]
assert r["valid"] is False and r["invalid_reason"], r["invalid_reason"]
assert r["inject_fault"] == f and r["inject_fault_pass"] == (pass_ or "timed"), (r["inject_fault"], r["inject_fault_pass"])
assert v[f] == 1, v
rows = list(csv.DictReader(open(d + "/summary.csv")))
assert rows and all(x["valid"] == "false" for x in rows)
PYEOF
    done
    # the scan verifier too, on an engine that scans
    scanner=$(pick scan discards)
    if [ -n "$scanner" ]; then
        for f in missing missing:untimed stale:untimed; do
            "$KVBENCH" run -e "$scanner" -w scan "${common[@]}" --ops 200 --inject-fault $f --out "$tmp/fault" >/dev/null 2>&1
            rc=$?
            [ $rc -eq 3 ] && echo "ok: scan fault $f caught on $scanner" || fail "scan fault $f on $scanner exited $rc (want 3)"
        done
    fi
fi

# Regression: an engine with background threads (RocksDB) must flush and compact inside the forked
# repetition. With a 1 MiB memtable, 20K keys of 100 B (2.7 MB) then 11K reads must have reached SST files by the end.
if printf '%s\n' "${engines[@]}" | grep -qx rocksdb; then
    "$KVBENCH" run -e rocksdb -w read -n 20000 --ops 5000 --warmup 1000 --reps 1 -q --dir "$tmp" -o rocksdb.write_buffer=1M --out "$tmp/flush" \
        >"$tmp/run.out" 2>"$tmp/run.err" || fail "rocksdb small-memtable run failed: $(cat "$tmp/run.err")"
    $PY - "$(last_run "$tmp/run.out")" <<'PYEOF' && echo "ok: rocksdb flushes in the child process" || fail "rocksdb never flushed (background threads lost across fork?)"
import glob, json, sys
r = json.load(open(glob.glob(sys.argv[1] + "/rocksdb-*-r0.json")[0]))
s = r["engine_stats"]
assert int(s["total-sst-files-size"]) > 0, s
PYEOF
fi

if [ $fails -ne 0 ]; then
    echo "$fails failure(s)"
    exit 1
fi
echo "all end-to-end checks passed"
