#!/usr/bin/env bash
# test_cli.sh - every bad kvbench invocation exits 2 with a message and writes nothing; list/env/help work.
set -u
. "$(dirname "$0")/lib.sh" cli
out="$tmp/out"

# expect_usage DESCRIPTION WORD-IN-MESSAGE ARGS...: exit 2, a "kvbench:" message naming WORD, no results.
expect_usage() {
    check_usage "$@" && echo "ok: $1 -> $(head -1 "$tmp/stderr")"
}

base=(run -n 1000 --reps 1 --ops 1000 --out "$out" -q)
expect_usage "unknown engine" "unknown engine" run -e nosuch -w read -n 1000 --out "$out"
expect_usage "unknown workload" "unknown workload" run -e null -w nosuch -n 1000 --out "$out"
expect_usage "unknown YCSB letter" "ycsb-g" run -e null -w ycsb-g -n 1000 --out "$out"
expect_usage "value sizes below 16 bytes" "--value-size" "${base[@]}" -e null -w read --value-size uniform:8-100
expect_usage "zipf value sizes below 16 bytes" "--value-size" "${base[@]}" -e null -w read --value-size zipf:0-4096
expect_usage "fixed value size below 16 bytes" "--value-size" "${base[@]}" -e null -w read --value-size 15
expect_usage "value size range reversed" "--value-size" "${base[@]}" -e null -w read --value-size uniform:100-50
expect_usage "unknown value-size distribution" "--value-size" "${base[@]}" -e null -w read --value-size pareto:16-100
expect_usage "bad --key-space" "--key-space" "${base[@]}" -e null -w read --key-space mine
expect_usage "-n abc" "-n" run -e null -w read -n abc --out "$out"
expect_usage "-n 0" "-n" run -e null -w read -n 0 --out "$out"
expect_usage "-n 5X" "-n" run -e null -w read -n 5X --out "$out"
expect_usage "--reps 0" "--reps" "${base[@]}" -e null -w read --reps 0
expect_usage "bad --pages" "--pages" "${base[@]}" -e null -w read --pages 2m
expect_usage "bad --durability" "durability" "${base[@]}" -e null -w read --durability maybe
expect_usage "durability the engine lacks" "cannot honour" "${base[@]}" -e memory -w read --durability sync
expect_usage "unknown -o key" "option" "${base[@]}" -e null -w read -o nosuchkey=1
expect_usage "bad -o value (checked by a pre-flight open)" "capacity" "${base[@]}" -e memory -w read -o capacity=abc
expect_usage "-o scoped to an engine not given" "not one of the engines" "${base[@]}" -e null -w read -o memory.capacity=4096
expect_usage "-o scoped, unknown key" "no option" "${base[@]}" -e null,memory -w read -o memory.nosuch=1
expect_usage "-o without =" "key=value" "${base[@]}" -e null -w read -o justakey
expect_usage "variant of an unknown engine" "unknown engine 'nosuch'" "${base[@]}" -e nosuch+x -w read
expect_usage "variant with a bad label" "ENGINE+LABEL" "${base[@]}" -e memory+Big/Label -w read
expect_usage "variant with an empty label" "ENGINE+LABEL" "${base[@]}" -e memory+ -w read
expect_usage "the same engine twice" "given twice" "${base[@]}" -e memory,memory -w read
expect_usage "-o scoped to a variant not given" "not one of the engines" "${base[@]}" -e memory -w read -o memory+b.capacity=4096
expect_usage "variant: bad value of its own option" "capacity" "${base[@]}" -e memory,memory+b -w read -o memory+b.capacity=abc
# every library engine: an unknown -o key and a bad value of a real key are usage errors
for e in leveldb wiredtiger wiredtiger-lsm bdb kyotocabinet tkrzw tkrzw-hash; do
    expect_usage "$e: unknown -o key" "no option" "${base[@]}" -e "$e" -w read -o "$e.nosuch=1"
done
expect_usage "leveldb: bad -o value" "bloom_bits" "${base[@]}" -e leveldb -w read -o bloom_bits=lots
expect_usage "bdb: bad page size" "page_size" "${base[@]}" -e bdb -w read -o page_size=3000
expect_usage "kyotocabinet: durability it lacks" "cannot honour" "${base[@]}" -e kyotocabinet -w read --durability group
expect_usage "tkrzw-hash: no scan" "cannot scan" "${base[@]}" -e tkrzw-hash -w scan
expect_usage "tkrzw: a HashDBM option" "buckets" "${base[@]}" -e tkrzw -w read -o buckets=1000
touch "$tmp/afile"
expect_usage "--out under a regular file" "not a directory\|regular file" run -e null -w read -n 1000 --out "$tmp/afile/sub"
expect_usage "--dir missing" "--dir" "${base[@]}" -e null -w read --dir "$tmp/nosuchdir"
expect_usage "--value-size 8" "value-size" "${base[@]}" -e null -w read --value-size 8
expect_usage "unknown flag" "unknown option" "${base[@]}" -e null -w read --bogus
expect_usage "missing -e" "engine" run -w read -n 1000 --out "$out"
expect_usage "missing value" "needs a value" run -e null -w read -n
expect_usage "bad --mix" "mix" "${base[@]}" -e null -w mixed --mix get=0.5,update=0.2
expect_usage "scan on an engine without scan" "cannot scan" "${base[@]}" -e memory -w scan
expect_usage "bad --inject-fault" "inject-fault" "${base[@]}" -e null -w read --inject-fault everything
expect_usage "unknown command" "unknown command" frobnicate

# variants: one engine twice in one run, each with its own options, kept apart in every result
if "$KVBENCH" run -e alexstorage,alexstorage+btree -o alexstorage+btree.index=btree -o alexstorage.verify_reads=1 \
    -w read -n 2000 --reps 1 --ops 2000 --out "$tmp/variants" -q >"$tmp/stdout" 2>"$tmp/stderr"; then
    run=$(ls -d "$tmp/variants"/*/)
    python3 - "$run" <<'PY' || fail "variants: results do not keep alexstorage and alexstorage+btree apart"
import glob, json, sys
res = {}
for f in glob.glob(sys.argv[1] + "/*-r0.json"):
    d = json.load(open(f))
    res[d["engine"]] = d["manifest"]["engine_config"]
assert set(res) == {"alexstorage", "alexstorage+btree"}, res.keys()
assert res["alexstorage+btree"]["index"].startswith("btree"), res["alexstorage+btree"]["index"]
assert res["alexstorage"]["index"].startswith("alex"), res["alexstorage"]["index"]
for e in res:  # the base engine's scoped option reaches its variant too
    assert res[e]["verify_reads"] == "1", (e, res[e]["verify_reads"])
PY
    grep -q "^alexstorage+btree" "$tmp/stdout" || fail "variants: the CLI table lacks alexstorage+btree"
    echo "ok: variants"
else
    fail "variants: run failed: $(head -3 "$tmp/stderr")"
fi

# list: engines with versions and caps, workloads with mixes
if "$KVBENCH" list >"$tmp/list" 2>&1; then
    for want in "engines:" "null" "library:" "caps:" "workloads:" "read" "mix:" "get=1"; do
        grep -q -- "$want" "$tmp/list" || fail "list: output lacks '$want'"
    done
    echo "ok: list"
else
    fail "list: non-zero exit"
fi

# env: JSON with the manifest fields
if "$KVBENCH" env >"$tmp/env.json" 2>"$tmp/stderr"; then
    for want in '"tool_version"' '"git_commit"' '"compiler"' '"cpu_model"' '"kernel"' '"thp"' '"clocksource"' \
        '"data_dir_fs"' '"timer"' '"cost_ns"' '"start_time"' '"allocator"'; do
        grep -q -- "$want" "$tmp/env.json" || fail "env: output lacks $want"
    done
    python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$tmp/env.json" || fail "env: not valid JSON"
    echo "ok: env"
else
    fail "env: non-zero exit"
fi

# help everywhere
for args in "help" "help run" "help sweep" "help list" "help env" "run --help" "--help"; do
    # shellcheck disable=SC2086
    "$KVBENCH" $args >"$tmp/help" 2>&1 || fail "'kvbench $args' exit $?"
    grep -q "usage: kvbench" "$tmp/help" || fail "'kvbench $args' prints no usage"
done
echo "ok: help"

if [ $fails -ne 0 ]; then
    echo "$fails failure(s)"
    exit 1
fi
echo "all CLI checks passed"
