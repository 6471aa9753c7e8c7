#!/usr/bin/env bash
# test_pages.sh - --pages huge|4k: the manifest names the policy, every result records the 2 MiB-mapped
# memory after load and after the measured phase, and the memory engine really gets 2 MiB pages under
# huge and none under 4k wherever the kernel offers THP (asserted the other way where it does not).
# Also: RocksDB's settle leaves no L0 file and records the LSM shape; engines without settle say so.
set -u
. "$(dirname "$0")/lib.sh" pages

thp_file=/sys/kernel/mm/transparent_hugepage/enabled
thp=unavailable
if [ -r "$thp_file" ]; then
    thp=$(sed -n 's/.*\[\(.*\)\].*/\1/p' "$thp_file")
fi
# madvise or always: MADV_HUGEPAGE on a 2 MiB-aligned anonymous range gets huge pages; never/missing: none
case "$thp" in always|madvise) expect_huge=1 ;; *) expect_huge=0 ;; esac
echo "THP mode: $thp (expect 2 MiB pages under --pages huge: $expect_huge)"

# 100K keys: the memory engine's table is 32 MiB, far more than one 2 MiB page
N=100000
for policy in huge 4k; do
    out="$tmp/out-$policy"
    if ! "$KVBENCH" run -e memory,rocksdb,sqlite -w read -n "$N" --ops 20000 --warmup 2000 --reps 1 -q \
            --pages "$policy" --dir "$tmp" --out "$out" -o rocksdb.write_buffer=1M >"$tmp/run.out" 2>"$tmp/run.err"; then
        fail "run --pages $policy exited non-zero"; cat "$tmp/run.err"; continue
    fi
    dir=$(tail -1 "$tmp/run.out" | sed -n 's/^results: //p')
    python3 - "$dir" "$policy" "$expect_huge" <<'PYEOF' || fail "checks of --pages $policy ($dir)"
import glob, json, os, sys
d, policy, expect_huge = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
errors = []
def check(cond, msg):
    if not cond:
        errors.append(msg)
man = json.load(open(os.path.join(d, "manifest.json")))
check(man.get("pages") == policy, "manifest pages %r, want %r" % (man.get("pages"), policy))
results = {}
for f in glob.glob(os.path.join(d, "*-r*.json")):
    r = json.load(open(f))
    results[r["engine"]] = r
check(sorted(results) == ["memory", "rocksdb", "sqlite"], "engines %s" % sorted(results))
for eng, r in results.items():
    p = r.get("pages")
    check(isinstance(p, dict) and p.get("policy") == policy, "%s: pages.policy %r" % (eng, p and p.get("policy")))
    if not isinstance(p, dict):
        continue
    for when in ("after_load", "after_measured"):
        s = p.get(when)
        check(isinstance(s, dict), "%s: pages.%s missing" % (eng, when))
        if isinstance(s, dict):
            for k in ("anon_huge_kb", "file_pmd_kb", "shmem_pmd_kb"):
                check(isinstance(s.get(k), int) and s[k] >= 0, "%s: pages.%s.%s = %r" % (eng, when, k, s.get(k)))
            total = sum(s.get(k, 0) for k in ("anon_huge_kb", "file_pmd_kb", "shmem_pmd_kb"))
            if policy == "4k":
                check(total == 0, "%s: --pages 4k yet %s has %d kB on 2 MiB pages" % (eng, when, total))
mem = results.get("memory", {}).get("pages", {}).get("after_measured") or {}
if policy == "huge" and expect_huge:
    check(mem.get("anon_huge_kb", 0) > 0, "memory engine under --pages huge got no 2 MiB pages: %r" % mem)
if not expect_huge:
    check(mem.get("anon_huge_kb", 0) == 0, "THP unavailable, yet anon_huge_kb = %r" % mem.get("anon_huge_kb"))
# steady state: RocksDB compacted (no L0 file, data somewhere below), settle timed; memory has no settle
rk = results.get("rocksdb", {})
lsm = rk.get("lsm")
check(isinstance(lsm, list) and lsm, "rocksdb: no lsm array")
if isinstance(lsm, list) and lsm:
    check(all(set(l) == {"level", "files", "bytes"} for l in lsm), "rocksdb: lsm entries %r" % lsm[0])
    check(lsm[0]["level"] == 0 and lsm[0]["files"] == 0, "rocksdb: L0 not empty after settle: %r" % lsm[0])
    check(sum(l["files"] for l in lsm) >= 1 and sum(l["bytes"] for l in lsm) > 0, "rocksdb: empty tree %r" % lsm)
check(isinstance(rk.get("settle_ns"), int) and rk["settle_ns"] > 0, "rocksdb: settle_ns %r" % rk.get("settle_ns"))
check(results.get("sqlite", {}).get("engine_stats", {}).get("settle_wal_frames_left") == "0",
      "sqlite: WAL not fully checkpointed by settle")
check("lsm" not in results.get("memory", {}), "memory engine has an lsm record")
check(results.get("memory", {}).get("settle_ns", 0) is None, "memory engine: settle_ns should be null")
for e in errors:
    print("  " + e)
print("ok: --pages %s: memory %s" % (policy, mem) if not errors else "")
sys.exit(1 if errors else 0)
PYEOF
done

# AlexStorage's own switch: -o hugepages=0 is recorded (and the run stays valid)
if "$KVBENCH" run -e alexstorage -w read -n 20000 --ops 2000 --reps 1 -q --dir "$tmp" --out "$tmp/out-as" \
        -o hugepages=0 >"$tmp/run.out" 2>"$tmp/run.err"; then
    f=$(ls "$(tail -1 "$tmp/run.out" | sed -n 's/^results: //p')"/alexstorage-read-*.json)
    python3 -c 'import json,sys; c=json.load(open(sys.argv[1]))["manifest"]["engine_config"]; sys.exit(0 if c["hugepages"].startswith("0") else 1)' "$f" \
        && echo "ok: alexstorage -o hugepages=0 recorded" || fail "alexstorage -o hugepages=0 not in engine_config"
else
    fail "alexstorage -o hugepages=0 run failed"; cat "$tmp/run.err"
fi

[ $fails -eq 0 ] && echo "all page-policy checks passed" || echo "$fails failure(s)"
exit $((fails > 0))
