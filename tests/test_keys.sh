#!/usr/bin/env bash
# test_keys.sh - `kvbench keys` writes SOSD files that `--keys file:` reads back (same bytes, same
# hardness); results and the manifest carry the file's name, size, SHA-256 and hardness; every bad
# key file exits 2 with a message and starts no work.
set -u
. "$(dirname "$0")/lib.sh" keys
out="$tmp/out"

# expect_usage DESCRIPTION WORD ARGS...: check_usage (exit 2, message, no results) and no data directory.
expect_usage() {
    check_usage "$@" || return
    if ls -d "$tmp"/dir/kvbench-memory-* >/dev/null 2>&1; then fail "$1: created a data directory"; return; fi
    echo "ok: $1 -> $(head -1 "$tmp/stderr")"
}

mkdir -p "$tmp/dir"
# every generated key set: keys -> file -> keys again gives the same bytes and the same hardness
for ks in uniform sequential clustered lognormal normal fb-like osm-like; do
    "$KVBENCH" keys --keys "$ks" -n 20000 --seed 7 --out "$tmp/$ks.sosd" >"$tmp/k1" 2>&1 || { fail "keys $ks"; cat "$tmp/k1"; continue; }
    size=$(stat -c %s "$tmp/$ks.sosd")
    [ "$size" -eq $((8 + 8 * 20000)) ] || fail "$ks: file size $size, want $((8 + 8 * 20000))"
    "$KVBENCH" keys --keys "file:$tmp/$ks.sosd" -n 20000 --out "$tmp/$ks.again" >"$tmp/k2" 2>&1 || { fail "keys file:$ks"; cat "$tmp/k2"; continue; }
    cmp -s "$tmp/$ks.sosd" "$tmp/$ks.again" || fail "$ks: round trip changed the file"
    h1=$(grep '^hardness:' "$tmp/k1"); h2=$(grep '^hardness:' "$tmp/k2")
    [ -n "$h1" ] && [ "$h1" = "$h2" ] || fail "$ks: hardness '$h1' vs '$h2'"
    echo "ok: $ks $h1"
done
# a harder shape needs more segments than uniform at eps 32
seg() { sed -n 's/^hardness: pla_segments_eps32 \([0-9]*\).*/\1/p' "$1"; }
"$KVBENCH" keys --keys uniform -n 20000 --out "$tmp/u" >"$tmp/hu" && "$KVBENCH" keys --keys osm-like -n 20000 --out "$tmp/o" >"$tmp/ho" || fail "keys"
[ "$(seg "$tmp/ho")" -gt "$(seg "$tmp/hu")" ] || fail "osm-like ($(seg "$tmp/ho")) not harder than uniform ($(seg "$tmp/hu"))"

# a run on a key file records its fingerprint and hardness; a second run reuses the cached hardness
"$KVBENCH" run -e memory -w read -n 5000 --ops 2000 -r 2 -q --keys "file:$tmp/fb-like.sosd" --dir "$tmp/dir" --out "$out" >"$tmp/run" 2>&1 \
    || { fail "run on a key file"; cat "$tmp/run"; }
sum=$(sha256sum "$tmp/fb-like.sosd" | cut -d' ' -f1)
$PY - "$out" "$sum" "$tmp/fb-like.sosd" <<'PYEOF' || fail "keyset JSON"
import glob, json, os, sys
out, sha, path = sys.argv[1], sys.argv[2], sys.argv[3]
res = [json.load(open(f)) for f in glob.glob(out + "/*/*.json") if not f.endswith("manifest.json")]
man = [json.load(open(f)) for f in glob.glob(out + "/*/manifest.json")]
assert len(res) == 2 and len(man) == 1, (len(res), len(man))
for r in res + [man[0]]:
    k = r["keyset"]
    assert k["name"] == "file", k
    assert k["file"]["sha256"] == sha, k
    assert k["file"]["size"] == os.path.getsize(path), k
    assert k["file"]["path"] == path, k
    assert k["file"]["duplicates"] == 0
for r in res:
    h = r["keyset"]["hardness"]
    assert h["pla_segments_eps32"] >= h["pla_segments_eps4096"] >= 1, h
cached = sorted(r["keyset"]["hardness"]["cached"] for r in res)
assert cached == [False, True], cached
print("ok: results and manifest carry sha256, size, path; hardness", res[0]["keyset"]["hardness"])
PYEOF
rm -rf "$out"

# generated keys are cached under --dir: the second run reads them (same keys, same hardness); a
# damaged cache file is regenerated, not trusted
gen() { "$KVBENCH" run -e memory -w read -n 5000 --ops 2000 -r 1 -q --keys fb-like --dir "$tmp/dir" --out "$1" >/dev/null 2>&1 || fail "run with fb-like keys"; }
gen "$tmp/g1"; gen "$tmp/g2"
cache=$(ls "$tmp"/dir/kvbench-keycache/keys-*fb-like* 2>/dev/null | head -1)
[ -n "$cache" ] || fail "no key cache file written"
[ -n "$cache" ] && head -c 100 "$cache" >"$cache.cut" && mv "$cache.cut" "$cache"
gen "$tmp/g3"
$PY - "$tmp" <<'PYEOF' || fail "key cache"
import glob, json, sys
t = sys.argv[1]
ks = [json.load(open(f))["keyset"] for g in ("g1", "g2", "g3") for f in glob.glob(t + "/" + g + "/*/memory-*.json")]
assert [k["keys_cached"] for k in ks] == [False, True, False], ks
assert len({json.dumps(k["hardness"]["pla_segments_eps32"]) for k in ks}) == 1, ks
print("ok: key cache reused, damaged cache regenerated, hardness", ks[0]["hardness"])
PYEOF

# bad key files: exit 2, a message naming the problem, no work started
expect_usage "missing key file" "cannot open" run -e memory -w read -n 100 --keys "file:$tmp/nosuch" --dir "$tmp/dir" --out "$out"
expect_usage "key file that is a directory" "not a regular file" run -e memory -w read -n 100 --keys "file:$tmp/dir" --dir "$tmp/dir" --out "$out"
if [ "$(id -u)" -ne 0 ]; then
    cp "$tmp/uniform.sosd" "$tmp/noread"; chmod 000 "$tmp/noread"
    expect_usage "unreadable key file" "cannot open" run -e memory -w read -n 100 --keys "file:$tmp/noread" --dir "$tmp/dir" --out "$out"
fi
head -c 1000 "$tmp/uniform.sosd" >"$tmp/trunc"
expect_usage "count not matching size" "header says 20000 keys" run -e memory -w read -n 100 --keys "file:$tmp/trunc" --dir "$tmp/dir" --out "$out"
expect_usage "fewer keys than -n" "fewer than -n 20001" run -e memory -w read -n 20001 --keys "file:$tmp/uniform.sosd" --dir "$tmp/dir" --out "$out"
expect_usage "keys: fewer keys than -n" "fewer than -n" keys --keys "file:$tmp/uniform.sosd" -n 30000 --out "$tmp/x"
expect_usage "file: without a path" "needs a path" run -e memory -w read -n 100 --keys file: --dir "$tmp/dir" --out "$out"
expect_usage "unknown key set" "--keys" run -e memory -w read -n 100 --keys bogus --dir "$tmp/dir" --out "$out"
expect_usage "keys without --out" "required" keys --keys uniform -n 10

[ $fails -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "all key-file checks passed"
