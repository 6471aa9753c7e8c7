#!/bin/bash
# Draws bars, CDFs and the N sweep with gnuplot from a run's summary.csv + histograms.csv (no python needed).
# usage: analysis/gnuplot.sh RUN_DIR [OUT_DIR]   (OUT_DIR default RUN_DIR/report-gnuplot)
# env: GP_DURABILITY (default none), GP_THREADS (default 1). Writes gp_*.pdf and gp_*.png.
# Percentiles over repetitions are averaged per-rep values from summary.csv (the CDF merges histograms).
set -euo pipefail
run=${1:?usage: $0 RUN_DIR [OUT_DIR]}
out=${2:-$run/report-gnuplot}
dur=${GP_DURABILITY:-none}
thr=${GP_THREADS:-1}
gpdir=$(cd "$(dirname "$0")" && pwd)
summary=$run/summary.csv
hist=$run/histograms.csv
for f in "$summary" "$hist"; do [ -s "$f" ] || { echo "gnuplot.sh: missing or empty $f" >&2; exit 1; }; done
command -v gnuplot >/dev/null || { echo "gnuplot.sh: gnuplot not found (apt-get install gnuplot-nox)" >&2; exit 1; }
mkdir -p "$out"
data=$(mktemp -d)
trap 'rm -rf "$data"' EXIT

# awk prologue: column numbers by header name, so added columns do not break us
hdr='NR==1{for(i=1;i<=NF;i++)c[$i]=i;next}'
sel="\$c[\"phase\"]==\$c[\"workload\"] && \$c[\"threads\"]==$thr && \$c[\"durability\"]==\"$dur\""
order="alexstorage rocksdb sqlite lmdb leveldb wiredtiger wiredtiger-lsm bdb kyotocabinet tkrzw tkrzw-hash memory null"

# engines present, in the fixed order, then any others
present=$(awk -F, "$hdr $sel {print \$c[\"engine\"]}" "$summary" | sort -u)
engines=""
for e in $order; do grep -qx "$e" <<<"$present" && engines="$engines $e"; done
for e in $present; do [[ " $order " == *" $e "* ]] || engines="$engines $e"; done
engines=${engines# }
invalid_at() {  # engines with an invalid rep (at size $1, or any size when empty)
  awk -F, -v n="${1:-}" "$hdr $sel && (n==\"\" || \$c[\"n\"]==n) && \$c[\"valid\"]!=\"true\" {print \$c[\"engine\"]}" \
    "$summary" | sort -u | tr '\n' ' '
}
invalid=$(invalid_at "")
all_invalid=$invalid
workloads=$(awk -F, "$hdr $sel {print \$c[\"workload\"]}" "$summary" | sort -u)
sizes=$(awk -F, "$hdr $sel {print \$c[\"n\"]}" "$summary" | sort -un)
[ -n "$engines" ] || { echo "gnuplot.sh: no rows with threads=$thr durability=$dur in $summary" >&2; exit 1; }

plot() {  # plot SCRIPT OUTSTEM VARS...
  local script=$1 stem=$2; shift 2
  for fmt in pdf png; do
    gnuplot -e "GPDIR='$gpdir'; FMT='$fmt'; OUT='$out/$stem.$fmt'; ENGINES='$engines'; INVALID='$invalid'; $*" \
      "$gpdir/$script"
  done
}

for n in $sizes; do
  invalid=$(invalid_at "$n")
  # bars: one row per workload, one column per engine (mean over reps of mean_ns), '?' when missing
  awk -F, -v n="$n" -v engines="$engines" "$hdr $sel && \$c[\"n\"]==n {
      k=\$c[\"workload\"] SUBSEP \$c[\"engine\"]; s[k]+=\$c[\"mean_ns\"]; m[k]++; w[\$c[\"workload\"]]=1 }
    END { ne=split(engines, E, \" \"); for (wl in w) { line=wl;
            for (i=1;i<=ne;i++) { k=wl SUBSEP E[i]; line=line \" \" (m[k] ? s[k]/m[k] : \"?\") } print line } }" \
    "$summary" | sort > "$data/bars_$n.dat"
  ymin=$(awk '{for(i=2;i<=NF;i++) if($i!="?" && (m=="" || $i+0<m)) m=$i+0} END{print (m ? m/2 : 1)}' "$data/bars_$n.dat")
  plot bars.gp "gp_bars_n${n}_t${thr}_${dur}" "DATA='$data/bars_$n.dat'; N='$n'; YMIN=$ymin"
  for wl in $workloads; do
    for e in $engines; do
      awk -F, -v n="$n" -v e="$e" -v wl="$wl" "$hdr $sel && \$c[\"n\"]==n && \$c[\"engine\"]==e &&
          \$c[\"workload\"]==wl { cnt[\$c[\"hi_ns\"]]+=\$c[\"count\"] } END { for (h in cnt) print h, cnt[h] }" \
        "$hist" | sort -n | awk '{s+=$2; x[NR]=$1; y[NR]=s} END {for(i=1;i<=NR;i++) print x[i], y[i]/s}' \
        > "$data/cdf_$e.dat"
      [ -s "$data/cdf_$e.dat" ] || echo "1 0" > "$data/cdf_$e.dat"
    done
    plot cdf.gp "gp_cdf_${wl}_n${n}_t${thr}_${dur}" "DIR='$data'; TITLE='$wl, N=$n'"
  done
done

invalid=$all_invalid
if [ "$(wc -w <<<"$sizes")" -gt 1 ]; then
  for wl in $workloads; do
    for e in $engines; do
      awk -F, -v e="$e" -v wl="$wl" "$hdr $sel && \$c[\"engine\"]==e && \$c[\"workload\"]==wl {
          n=\$c[\"n\"]; a[n]+=\$c[\"p50_ns\"]; b[n]+=\$c[\"p99_ns\"]; d[n]+=\$c[\"p999_ns\"];
          t[n]+=\$c[\"ops_per_sec\"]; m[n]++ }
        END { for (n in m) print n, a[n]/m[n], b[n]/m[n], d[n]/m[n], t[n]/m[n] }" "$summary" | sort -n \
        > "$data/sweep_$e.dat"
      [ -s "$data/sweep_$e.dat" ] || echo "1 1 1 1 1" > "$data/sweep_$e.dat"
    done
    plot sweep.gp "gp_sweep_${wl}_t${thr}_${dur}" "DIR='$data'; TITLE='$wl: p50 solid, p99 dashed, p99.9 dotted'"
  done
fi
echo "gnuplot: $out"
