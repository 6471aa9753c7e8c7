#!/usr/bin/env bash
# test_share_load.sh - `kvbench run --share-load`: each (engine, rep) loads once and runs the -w workloads
# in order on that store; one valid result per workload, the load phase only in the first, exact
# verification across workloads that insert (ycsb-d, mixed, ycsb-e; partitioned and shared key spaces,
# 2 threads), an injected fault caught in the last workload, and bad combinations exit 2.
set -u
. "$(dirname "$0")/lib.sh" share
mkdir -p "$tmp/dir"
common=(-n 20001 --ops 4000 --dir "$tmp/dir" --settle-ms 0 -q --seed 9)

# check RUN_DIR ENGINES WORKLOADS REPS EXPECT_VALID(1/0 per workload, or "all"): one result per
# (engine, workload, rep), the sequence recorded, the load phase only at position 0, answers checked
check() {
    "$PY" - "$@" <<'EOF'
import glob, json, os, sys
run, engines, workloads, reps, expect = sys.argv[1], sys.argv[2].split(","), sys.argv[3].split(","), int(sys.argv[4]), sys.argv[5]
bad = []
files = sorted(glob.glob(os.path.join(run, "*-r[0-9]*.json")))
if len(files) != len(engines) * len(workloads) * reps:
    bad.append("want %d result files, got %d" % (len(engines) * len(workloads) * reps, len(files)))
man = json.load(open(os.path.join(run, "manifest.json")))
if man.get("share_load") is not True:
    bad.append("manifest share_load is not true")
if len(man["cell_order"]) != len(engines) * reps:
    bad.append("manifest has %d cells, want one per (engine, rep): %d" % (len(man["cell_order"]), len(engines) * reps))
for c in man["cell_order"]:
    if c.get("shared_load") != workloads:
        bad.append("cell %s: shared_load %s" % (c, c.get("shared_load")))
for e in engines:
    for rep in range(reps):
        loads = 0
        for pos, w in enumerate(workloads):
            path = glob.glob(os.path.join(run, "%s-%s-n*-r%d.json" % (e, w, rep)))
            if len(path) != 1:
                bad.append("%s %s r%d: %d result files" % (e, w, rep, len(path)))
                continue
            r = json.load(open(path[0]))
            sl = r.get("shared_load") or {}
            if r.get("schema") != "kvbench-result/1" or r.get("workload") != w:
                bad.append("%s: schema/workload %s/%s" % (path[0], r.get("schema"), r.get("workload")))
            if sl.get("workloads") != workloads or sl.get("position") != pos:
                bad.append("%s: shared_load %s" % (path[0], sl))
            if not sl.get("load_result", "").startswith("%s-%s-" % (e, workloads[0])):
                bad.append("%s: load_result %s" % (path[0], sl.get("load_result")))
            names = [p["name"] for p in r["phases"]]
            load = [p for p in r["phases"] if p["name"] == "load"]
            loads += len(load)
            if pos == 0 and (len(load) != 1 or load[0]["ops"] != r["n"] or not load[0]["elapsed_ns"] > 0):
                bad.append("%s: first workload must hold one load phase of n keys: %s" % (path[0], load))
            if pos > 0 and load:
                bad.append("%s: a later workload has a load phase (the store was loaded again?)" % path[0])
            if w not in names:
                bad.append("%s: no measured phase %s in %s" % (path[0], w, names))
            v = r["verification"]
            want = expect == "all" or expect.split(",")[pos] == "1"
            if bool(r["valid"]) != want:
                bad.append("%s: valid %s, want %s (%s)" % (path[0], r["valid"], want, v))
            if v["checked"] <= v["readback"] or v["readback"] <= 0:
                bad.append("%s: nothing checked besides the read-back: %s" % (path[0], v))
            if want and (v["wrong"] or v["missing"] or v["stale"] or v["ghost"]):
                bad.append("%s: wrong answers in a clean workload: %s" % (path[0], v))
        if loads != 1:
            bad.append("%s r%d: %d load phases in the sequence, want 1" % (e, rep, loads))
for b in bad:
    print("  " + b)
sys.exit(1 if bad else 0)
EOF
}

run_dir() { tail -1 "$1" | sed -n 's/^results: //p'; }

# 1. memory, lmdb, alexstorage: reads, partitioned inserts (mixed), shared inserts (ycsb-d), one thread
wl=read,mixed,ycsb-d
"$KVBENCH" run -e memory,lmdb,alexstorage -w $wl -r 1 --share-load --out "$tmp/o1" "${common[@]}" >"$tmp/s1" 2>&1
rc=$?
d=$(run_dir "$tmp/s1")
if [ $rc -ne 0 ] || [ -z "$d" ]; then fail "share-load run exit $rc"; cat "$tmp/s1"
elif check "$d" memory,lmdb,alexstorage $wl 1 all; then echo "ok: one load, one valid result per workload ($wl)"
else fail "share-load results ($wl)"; fi
grep -q "shared" "$tmp/s1" || fail "the table does not mark later workloads' load column as shared"

# 2. two threads, two reps, an odd N: inserts alternate between shared and partitioned key spaces
#    (ycsb-d, mixed, ycsb-e, ycsb-a) and must never collide or lose a version
wl=ycsb-d,mixed,ycsb-e,ycsb-a
"$KVBENCH" run -e lmdb,alexstorage -w $wl -r 2 -t 2 --share-load --out "$tmp/o2" "${common[@]}" >"$tmp/s2" 2>&1
rc=$?
d=$(run_dir "$tmp/s2")
if [ $rc -ne 0 ] || [ -z "$d" ]; then fail "share-load -t 2 run exit $rc"; cat "$tmp/s2"
elif check "$d" lmdb,alexstorage $wl 2 all; then echo "ok: -t 2, 2 reps, inserts across key spaces ($wl)"
else fail "share-load -t 2 results ($wl)"; fi

# 3. an injected fault lands in the last workload only: earlier ones valid, the last invalid, exit 3
wl=read,ycsb-d,mixed
for f in stale missing:untimed; do
    "$KVBENCH" run -e lmdb -w $wl -r 1 --share-load --inject-fault $f --out "$tmp/o3$f" "${common[@]}" >"$tmp/s3" 2>&1
    rc=$?
    d=$(run_dir "$tmp/s3")
    if [ $rc -ne 3 ] || [ -z "$d" ]; then fail "--inject-fault $f under --share-load: exit $rc, want 3"; cat "$tmp/s3"
    elif check "$d" lmdb $wl 1 1,1,0; then echo "ok: --inject-fault $f caught in the last workload, earlier ones valid"
    else fail "--inject-fault $f results"; fi
done

# 4. bad combinations: exit 2 with a message naming the problem, no results, no data directory
rm -rf "$tmp/dir"/* "$tmp/o4"
expect_usage() {
    local what=$1 word=$2
    shift 2
    "$KVBENCH" "$@" >"$tmp/stdout" 2>"$tmp/stderr"
    local rc=$?
    if [ $rc -ne 2 ]; then fail "$what: exit $rc, want 2"; cat "$tmp/stderr"; return; fi
    if ! grep -qi -- "$word" "$tmp/stderr"; then fail "$what: message does not mention '$word'"; cat "$tmp/stderr"; return; fi
    if [ -d "$tmp/o4" ] && [ -n "$(ls -A "$tmp/o4")" ]; then fail "$what: wrote results"; rm -rf "$tmp/o4"; fi
    if [ -n "$(ls -A "$tmp/dir")" ]; then fail "$what: created a data directory"; fi
    echo "ok: $what -> $(head -1 "$tmp/stderr")"
}
b=(-e memory -n 1000 --share-load --out "$tmp/o4" --dir "$tmp/dir" -q)
expect_usage "one workload" "two workloads" run "${b[@]}" -w read
expect_usage "the load workload" "load" run "${b[@]}" -w load,read
expect_usage "a workload twice" "twice" run "${b[@]}" -w read,mixed,read
expect_usage "with --rate" "--rate" run "${b[@]}" -w read,mixed --rate 1000
expect_usage "with --plan" "--plan" sweep "${b[@]}" -w read,mixed --plan "$tmp/plan"
"$KVBENCH" help run | grep -q -- "--share-load" || fail "kvbench help run does not document --share-load"

[ $fails -eq 0 ] && echo "PASS" || echo "$fails failure(s)"
exit $((fails > 0))
