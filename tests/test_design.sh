#!/usr/bin/env bash
# test_design.sh - experiment design: cells in a seeded shuffled order (reproducible), --seed-per-rep,
# --cpus (pinning recorded; bad lists exit 2), the sync-on-tmpfs refusal, and the manifest's machine facts.
set -u
. "$(dirname "$0")/lib.sh" design

# expect_usage DESCRIPTION WORD... -- ARGS: exit 2 and a message naming every WORD
expect_usage() {
    local what=$1
    shift
    local words=()
    while [ "$1" != -- ]; do words+=("$1"); shift; done
    shift
    "$KVBENCH" "$@" >"$tmp/stdout" 2>"$tmp/stderr"
    local rc=$?
    [ $rc -eq 2 ] || { fail "$what: exit $rc, want 2"; cat "$tmp/stderr"; return; }
    for w in "${words[@]}"; do
        grep -q -- "$w" "$tmp/stderr" || { fail "$what: message does not name '$w':"; cat "$tmp/stderr"; return; }
    done
    echo "ok: $what -> $(head -1 "$tmp/stderr")"
}

small=(run -n 2000 --ops 500 --warmup 50 -q --settle-ms 0 --dir "$tmp" --out "$tmp/out")
expect_usage "--cpus 99 (no such CPU)" --cpus 99 -- "${small[@]}" -e null -w read --cpus 99
expect_usage "--cpus 0-x (malformed)" --cpus -- "${small[@]}" -e null -w read --cpus 0-x
expect_usage "--cpus 1,,2 (malformed)" --cpus -- "${small[@]}" -e null -w read --cpus 1,,2
expect_usage "--cpus 3-1 (reversed range)" --cpus -- "${small[@]}" -e null -w read --cpus 3-1
expect_usage "--settle-ms abc" --settle-ms -- "${small[@]}" -e null -w read --settle-ms abc
expect_usage "--inject-fault wrong:sometimes" --inject-fault -- "${small[@]}" -e null -w read --inject-fault wrong:sometimes

# sync on a RAM filesystem is refused unless --allow-volatile
if [ "$(stat -f -c %T /dev/shm 2>/dev/null)" != tmpfs ]; then
    fail "/dev/shm is not tmpfs on this machine; the volatile-filesystem check has nothing to test against"
else
    shm=$(mktemp -d /dev/shm/kvb-design-XXXXXX)
    trap 'rm -rf "$tmp" "$shm"' EXIT
    expect_usage "--durability sync on tmpfs" tmpfs --allow-volatile --durability -- \
        run -e alexstorage -w read -n 2000 --ops 500 -q --durability sync --dir "$shm" --out "$tmp/out"
    expect_usage "--durability group on tmpfs" tmpfs --allow-volatile -- \
        run -e alexstorage -w read -n 2000 --ops 500 -q --durability group --dir "$shm" --out "$tmp/out"
    if "$KVBENCH" run -e alexstorage -w mixed -n 2000 --ops 300 --warmup 30 --reps 1 -q --settle-ms 0 --durability sync \
        --dir "$shm" --allow-volatile --out "$tmp/vol" >"$tmp/run.out" 2>"$tmp/run.err"; then
        $PY - "$(last_run "$tmp/run.out")" <<'PYEOF' && echo "ok: --allow-volatile runs and records tmpfs" || fail "--allow-volatile records"
import glob, json, sys
d = sys.argv[1]
m = json.load(open(d + "/manifest.json"))
assert m["data_dir_fs"] == "tmpfs" and m["allow_volatile"] is True, (m["data_dir_fs"], m["allow_volatile"])
r = json.load(open(glob.glob(d + "/*-r0.json")[0]))
assert r["valid"] and r["durability"] == "sync" and r["manifest"]["data_dir_fs"] == "tmpfs"
PYEOF
    else
        fail "--allow-volatile run exited non-zero: $(cat "$tmp/run.err")"
    fi
fi

# run_order OUTDIR ARGS...: run and print the run directory
run_dir() {
    local out=$1
    shift
    "$KVBENCH" run -e null,memory -w read,mixed -n 2000 --ops 300 --warmup 30 --reps 3 -q --settle-ms 0 --dir "$tmp" \
        --out "$tmp/$out" "$@" >"$tmp/run.out" 2>"$tmp/run.err" || { fail "run $out exited $?: $(cat "$tmp/run.err")"; return; }
    last_run "$tmp/run.out"
}
a=$(run_dir a --seed 7)
b=$(run_dir b --seed 7)
c=$(run_dir c --seed 8)
p=$(run_dir p --seed 7 --seed-per-rep --cpus 0)
n=$(run_dir n --seed 7 --cpus none)
$PY - "$a" "$b" "$c" "$p" "$n" <<'PYEOF' && echo "ok: cell order shuffled from the seed, reproducible; seeds per rep; cpus recorded" || fail "design records"
import glob, json, sys
a, b, c, p, n = sys.argv[1:]
def order(d):
    return [(x["engine"], x["workload"], x["n"], x["rep"]) for x in json.load(open(d + "/manifest.json"))["cell_order"]]
oa, ob, oc = order(a), order(b), order(c)
assert len(oa) == 2 * 2 * 3 and len(set(oa)) == len(oa), oa
assert oa == ob, "same seed, different order"
assert oa != oc, "different seed, same order"
nested = sorted(oa, key=lambda x: (["null", "memory"].index(x[0]), ["read", "mixed"].index(x[1]), x[3]))
assert oa != nested, "the order is the nested loop order: not shuffled"
ma = json.load(open(a + "/manifest.json"))
for k in ("cpu_governor", "smt", "thp_settings", "data_dir_fs"):
    assert k in ma, k
assert set(ma["thp_settings"]) == {"enabled", "defrag", "shmem_enabled"}, ma["thp_settings"]
assert ma["smt"]["state"] in ("on", "off", "unavailable"), ma["smt"]
assert all(x["loadavg_before"] is None or len(x["loadavg_before"]) == 3 for x in ma["cell_order"])
# every result knows its place in the order and the load before it
for f in glob.glob(a + "/*-r*.json"):
    r = json.load(open(f))
    d = r["design"]
    assert (r["engine"], r["workload"], r["n"], r["rep"]) == oa[d["cell"]], (f, d["cell"])
    assert r["seed"] == 7 and d["base_seed"] == 7 and d["seed_per_rep"] is False
    assert d["loadavg_before"] is None or len(d["loadavg_before"]) == 3
# --seed-per-rep: rep 0 keeps --seed, reps differ from each other, every engine gets the same seed per rep
seeds = {}
for f in glob.glob(p + "/*-r*.json"):
    r = json.load(open(f))
    assert r["design"]["seed_per_rep"] is True and r["design"]["cpus"] == [0], r["design"]
    seeds.setdefault(r["rep"], set()).add(r["seed"])
assert all(len(s) == 1 for s in seeds.values()), seeds
per_rep = [seeds[i].pop() for i in range(3)]
assert per_rep[0] == 7 and len(set(per_rep)) == 3, per_rep
mp = json.load(open(p + "/manifest.json"))
assert [x["seed"] for x in mp["cell_order"] if x["rep"] == 1][0] == per_rep[1]
assert mp["cpus"] == "0" and mp["cpus_policy"] == "list"
assert all(x["cpus"] == [0] for x in mp["cell_order"]), mp["cell_order"]
# --cpus auto (the default): a 1-thread cell on this 2-CPU machine is pinned to one allowed CPU, recorded per cell
import os
allowed = os.sched_getaffinity(0)
for x in ma["cell_order"]:
    c = x["cpus"]
    assert c == [] if len(allowed) < 2 else (len(c) == 1 and c[0] in allowed), (c, allowed)
assert ma["cpus"] == "auto" and ma["cpus_policy"] == "auto"
for f in glob.glob(a + "/*-r*.json"):
    r = json.load(open(f))
    assert r["design"]["cpus"] == ma["cell_order"][r["design"]["cell"]]["cpus"], f
for f in glob.glob(n + "/*-r*.json"):
    d = json.load(open(f))["design"]
    assert d["cpus"] == [] and d["cpus_policy"] == "none", d
PYEOF

if [ $fails -ne 0 ]; then
    echo "$fails failure(s)"
    exit 1
fi
echo "all experiment-design checks passed"
