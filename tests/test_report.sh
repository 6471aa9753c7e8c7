#!/bin/bash
# analysis/report.py on the committed fixture: every figure (PDF+PNG, sizes), tables and report files exist.
set -euo pipefail
src=${KV_SOURCE_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
PY=/usr/bin/python3
"$PY" -c 'import matplotlib' 2>/dev/null || { echo "FAIL: $PY cannot import matplotlib (apt-get install python3-matplotlib)"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
run=$src/tests/fixtures/run-a
out=$tmp/rep

# the analysis is pure python: sanitizer builds gain nothing from redrawing, so they check tables only
figopt=""
[ "${KV_SANITIZED:-0}" = 1 ] && figopt=--no-figures
"$PY" "$src/analysis/report.py" --quiet $figopt --out "$out" "$run" > "$tmp/log" 2>&1 || { cat "$tmp/log"; fail "report.py exited non-zero"; }

# PNG width/height from the IHDR chunk (bytes 16..23, big-endian)
png_size() { od -An -tu1 -j16 -N8 "$1" | awk '{printf "%d %d\n", $1*16777216+$2*65536+$3*256+$4, $5*16777216+$6*65536+$7*256+$8}'; }
[ -n "$figopt" ] && figs="" || figs="bars_n100K_t1_none bars_n1M_t1_none bars_n100K_t2_none
      spectrum_read_n100K_t1_none spectrum_read_n1M_t1_none spectrum_mixed_n100K_t1_none spectrum_mixed_n1M_t1_none
      spectrum_read_n100K_t2_none
      sweep_latency_read_t1_none sweep_latency_mixed_t1_none sweep_throughput_read_t1_none sweep_throughput_mixed_t1_none
      threads_read_n100K_none"
for f in $figs; do
  pdf=$out/figures/$f.pdf png=$out/figures/$f.png
  [ -s "$pdf" ] || fail "missing or empty $pdf"
  [ -s "$png" ] || fail "missing or empty $png"
  [ "$(head -c4 "$pdf")" = "%PDF" ] || fail "$pdf is not a PDF"
  [ "$(od -An -c -j1 -N3 "$png" | tr -d ' ')" = "PNG" ] || fail "$png is not a PNG"
  read -r w h < <(png_size "$png")
  # 3.3 in x 2.25 in at 200 dpi: one column of a two-column paper, >= 150 dpi
  [ "$w" = 660 ] && [ "$h" = 450 ] || fail "$png is ${w}x${h}, expected 660x450"
  grep -aq "FontFile2" "$pdf" || fail "$pdf has no embedded TrueType font (pdf.fonttype 42)"
  grep -aq "Type3" "$pdf" && fail "$pdf uses Type 3 fonts"
  [ -s "$out/figures/$f.csv" ] || fail "missing $f.csv (the numbers drawn)"
done
nfig=$(find "$out/figures" -name "*.pdf" | wc -l)
[ -n "$figopt" ] || [ "$nfig" = 13 ] || fail "expected 13 figures for the fixture, got $nfig"

for t in results load perf; do
  for ext in csv md tex; do [ -s "$out/tables/$t.$ext" ] || fail "missing table $t.$ext"; done
done
for f in report.md report.html setup.tex figures.tex figures.json; do [ -s "$out/$f" ] || fail "missing $f"; done
for e in alexstorage rocksdb lmdb; do
  for w in read mixed; do
    grep -q "^$e,$w," "$out/tables/results.csv" || fail "results.csv lacks $e/$w"
    grep -q "| $e | $w |" "$out/report.md" || fail "report.md lacks $e/$w"
    grep -q "$e & $w" "$out/tables/results.tex" || fail "results.tex lacks $e/$w"
  done
done
grep -q "^rocksdb,mixed,100000,1,none,.*,INVALID$" "$out/tables/results.csv" || fail "the invalid fixture run is not marked INVALID"
[ "$(grep -c ',INVALID$' "$out/tables/results.csv")" = 1 ] || fail "exactly one configuration should be INVALID"
grep -q "INVALID runs" "$out/report.md" || fail "report.md does not list the INVALID run"
grep -q "n/a" "$out/tables/perf.csv" || fail "unavailable perf counters not shown as n/a"
grep -q "Synthetic fixture CPU" "$out/setup.tex" || fail "setup.tex not generated from the manifest"
[ -n "$figopt" ] || grep -q 'figures/bars_n1M_t1_none.png' "$out/report.html" || fail "report.html does not show the figures"

# the aggregated mean equals the mean over the fixture's three rep JSONs (computed independently here)
want=$("$PY" -c '
import json,glob,sys
v=[]
for f in glob.glob(sys.argv[1]+"/alexstorage-read-n1000000-t1-none-r*.json"):
    r=json.load(open(f)); v+=[p["latency"]["mean_ns"] for p in r["phases"] if p["name"]=="read"]
assert len(v)==3; print("%.1f" % (sum(v)/3))' "$run")
got=$(awk -F, 'NR==1 {for (i = 1; i <= NF; i++) col[$i] = i; next}
  $1=="alexstorage" && $2=="read" && $3==1000000 && $4==1 {print $col["mean_ns"]}' "$out/tables/results.csv")
[ "$want" = "$got" ] || fail "alexstorage read 1M mean: report $got, expected $want"

# tables: booktabs LaTeX with the unit in the header, ns printed as ns ("1,124", never "1.12k"/"1.47M"),
# the aggregate and the timer cost named
tex=$out/tables/results.tex
for rule in toprule midrule bottomrule; do grep -qF "\\$rule" "$tex" || fail "results.tex lacks \\$rule"; done
grep -q '\\hline' "$tex" && fail "results.tex still uses \\hline"
grep -q 'Mean $\\pm$ 95\\% CI (ns) & p50 (ns) & p99 (ns)' "$tex" || fail "results.tex header lacks units per column"
grep -q "| alexstorage | read | 1,000,000 | 1 | none | 3 | 1,124 ± 95 | 959 | 7,167 | 13,311 | 9.8 |" "$out/tables/results.md" \
  || fail "results.md row not in ns with thousands separators, or timer cost missing"
grep -E '^\|.*[0-9.]+[kM] ' "$out/tables/results.md" && fail "results.md abbreviates numbers (k/M)"
grep -q "Timer cost: 9.8 ns" "$out/report.md" || fail "report.md does not show the timer cost"
grep -q "mean over repetitions of each repetition's mean" "$out/report.md" || fail "report.md does not name the aggregate"
[ -n "$figopt" ] || "$PY" - "$out/figures.json" <<'PYEOF' || fail "a figure caption does not name its aggregate"
import json, sys
for f in json.load(open(sys.argv[1])):
    c = f["caption"]
    assert ("each repetition's mean" in c or "histograms merged" in c or "mean over repetitions" in c), f["name"]
    if f["name"].startswith(("sweep_throughput", "threads")):
        assert "untimed pass" in c, f["name"]
PYEOF

# fields of newer runs: per-op latencies (by_op), pages, RocksDB's LSM shape, a container manifest
ext=$tmp/ext
cp -r "$run" "$ext"
"$PY" - "$ext" <<'PYEOF' || fail "could not build the extended fixture"
import glob, json, os, sys
d = sys.argv[1]
for f in glob.glob(os.path.join(d, "*-r[0-9].json")):
    r = json.load(open(f))
    if r["workload"] == "mixed":
        ph = [p for p in r["phases"] if p["name"] == "mixed"][0]
        get = ph["by_op"]["get"]
        b = get["histogram"]["buckets"]
        upd = dict(get, histogram=dict(get["histogram"], buckets=[[lo * 4, hi * 4 + 3, c] for lo, hi, c in b[:12]]))
        upd["mean_ns"] = get["mean_ns"] * 4
        ph["by_op"]["update"] = upd
    r["pages"] = {"policy": "huge", "after_load": {"anon_huge_kb": 4096, "file_pmd_kb": 2048, "shmem_pmd_kb": 0},
                  "after_measured": {"anon_huge_kb": 6144, "file_pmd_kb": 2048, "shmem_pmd_kb": 0}}
    if r["engine"] == "rocksdb":
        r["lsm"] = [{"level": 0, "files": 0, "bytes": 0}, {"level": 1, "files": 3, "bytes": 52428800}]
    json.dump(r, open(f, "w"))
m = json.load(open(os.path.join(d, "manifest.json")))
m["container"] = {"runtime": "podman", "packages": {"libc6": "2.36-9+deb12u14", "librocksdb7.8": "7.8.3-2"}}
json.dump(m, open(os.path.join(d, "manifest.json"), "w"))
PYEOF
"$PY" "$src/analysis/report.py" --quiet $figopt --out "$tmp/extrep" "$ext" > "$tmp/log" 2>&1 || { cat "$tmp/log"; fail "report.py failed on the extended fixture"; }
grep -q "^alexstorage,mixed,1000000,1,none,update,[0-9]*,[0-9.]*," "$tmp/extrep/tables/by_op.csv" \
  || fail "by_op.csv lacks alexstorage's update latencies"
grep -q "podman container" "$tmp/extrep/report.md" || fail "report.md does not mark the container run"
grep -q "2 Debian package" "$tmp/extrep/report.md" || fail "report.md does not count the container's packages"
grep -q "^alexstorage,read,1000000,1,none,huge,4.0,2.0,0.0,6.0," "$tmp/extrep/tables/pages.csv" || fail "pages.csv wrong"
grep -q '^rocksdb,read,1000000,1,none,"L1: 3 files, 50.0 MiB",3,50.0,' "$tmp/extrep/tables/lsm.csv" || fail "lsm.csv lacks L1"
grep -q "## Pages each engine got" "$tmp/extrep/report.md" || fail "report.md has no pages section"
grep -q "## RocksDB LSM shape" "$tmp/extrep/report.md" || fail "report.md has no LSM section"
if [ -z "$figopt" ]; then
  [ -s "$tmp/extrep/figures/spectrum_mixed-update_n1M_t1_none.pdf" ] || fail "no per-op (update) spectrum"
  grep -q "^alexstorage,mixed,update," "$tmp/extrep/figures/bars_n1M_t1_none.csv" || fail "bars lack the update op"
fi

# several run dirs merge; a directory without results fails loudly
"$PY" "$src/analysis/report.py" --quiet --no-figures --out "$tmp/two" "$run" "$src/tests/fixtures/run-b" > /dev/null 2>&1 \
  || fail "report.py on two run dirs failed"
grep -q "^alexstorage,read,1000000,1,none,100,6," "$tmp/two/tables/results.csv" || fail "two runs did not pool 6 reps"
mkdir "$tmp/empty"
if "$PY" "$src/analysis/report.py" --quiet --out "$tmp/x" "$tmp/empty" > /dev/null 2>&1; then
  fail "report.py accepted a directory without results"
fi
echo "PASS: report.py ($nfig figures, tables, report.md/html)"
