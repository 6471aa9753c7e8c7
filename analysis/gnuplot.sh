#!/bin/bash
# The gnuplot twin of report.py: bars, percentile spectra and the N sweep from a run's summary.csv and
# histograms.csv (no python needed), with report.py's aggregate (kvresults.AGGREGATE):
#   bars      mean over repetitions of each repetition's mean latency (summary.csv)
#   spectra   p50 .. p99.99 of all repetitions' histograms merged (histograms.csv; per op type too)
#   sweep     p50/p99/p99.9 of the merged histograms against N; throughput = untimed pass, mean over reps
# usage: analysis/gnuplot.sh RUN_DIR [OUT_DIR]   (OUT_DIR default RUN_DIR/report-gnuplot)
# env: GP_DURABILITY (default none), GP_THREADS (default 1).
# Writes gp_*.pdf, gp_*.png and, for each, gp_*.dat: the numbers drawn (tests/test_gnuplot.sh compares
# them with report.py's figures/*.csv).
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

# awk prologue: column numbers by header name, so added columns do not break us; histograms.csv files
# written before the op column existed hold whole-phase rows only (op "all")
hdr='NR==1{for(i=1;i<=NF;i++)c[$i]=i;next}'
opof='function opof() { return ("op" in c) ? $c["op"] : "all" }'
sel="\$c[\"phase\"]==\$c[\"workload\"] && \$c[\"threads\"]==$thr && \$c[\"durability\"]==\"$dur\""
order="alexstorage rocksdb sqlite lmdb leveldb wiredtiger wiredtiger-lsm bdb kyotocabinet tkrzw tkrzw-hash memory null"
# the quantiles of kvresults.SPECTRUM_Q
spectrum_q="0.5 0.75 0.9 0.95 0.99 0.995 0.999 0.9995 0.9999"

present=$(awk -F, "$hdr $sel {print \$c[\"engine\"]}" "$summary" | sort -u)
engines=""
for e in $order; do grep -qx "$e" <<<"$present" && engines="$engines $e"; done
for e in $present; do [[ " $order " == *" $e "* ]] || engines="$engines $e"; done
engines=${engines# }
[ -n "$engines" ] || { echo "gnuplot.sh: no rows with threads=$thr durability=$dur in $summary" >&2; exit 1; }
invalid_at() {  # engines with an invalid rep (at size $1, or any size when empty)
  awk -F, -v n="${1:-}" "$hdr $sel && (n==\"\" || \$c[\"n\"]==n) && \$c[\"valid\"]!=\"true\" {print \$c[\"engine\"]}" \
    "$summary" | sort -u | tr '\n' ' '
}
workloads=$(awk -F, "$hdr $sel {print \$c[\"workload\"]}" "$summary" | sort -u)
sizes=$(awk -F, "$hdr $sel {print \$c[\"n\"]}" "$summary" | sort -un)

plot() {  # plot SCRIPT OUTSTEM VARS...
  local script=$1 stem=$2; shift 2
  for fmt in pdf png; do
    gnuplot -e "GPDIR='$gpdir'; FMT='$fmt'; OUT='$out/$stem.$fmt'; ENGINES='$engines'; INVALID='$invalid'; $*" \
      "$gpdir/$script"
  done
}

# merged_percentiles FILTER: "engine n op q latency" rows, the percentile = hi of the bucket where the
# cumulative count first reaches ceil(q * total), over all reps' buckets (like kvresults.hist_percentile)
merged_percentiles() {
  awk -F, -v qs="$spectrum_q" "$opof $hdr $sel && ($1) {
      k=\$c[\"engine\"] SUBSEP \$c[\"n\"] SUBSEP opof(); cnt[k SUBSEP \$c[\"hi_ns\"]]+=\$c[\"count\"]; tot[k]+=\$c[\"count\"] }
    END { nq=split(qs, Q, \" \")
      for (kk in cnt) { split(kk, p, SUBSEP); print p[1], p[2], p[3], p[4], cnt[kk] }
    }" "$hist" | sort -k1,1 -k2,2n -k3,3 -k4,4n | awk -v qs="$spectrum_q" '
    function flush(   i, r, s, j) {
      if (nb == 0) return
      for (i = 1; i <= nq; i++) {
        r = Q[i] * total; rank = (r == int(r)) ? r : int(r) + 1; if (rank < 1) rank = 1
        s = 0; for (j = 1; j <= nb; j++) { s += C[j]; if (s >= rank) break }
        print key, Q[i], H[j]
      }
      nb = 0; total = 0
    }
    BEGIN { nq = split(qs, Q, " ") }
    { k = $1 " " $2 " " $3; if (k != key) { flush(); key = k } nb++; H[nb] = $4; C[nb] = $5; total += $5 }
    END { flush() }'
}

for n in $sizes; do
  invalid=$(invalid_at "$n")
  # bars: one row per workload, one column per engine: mean over reps of each rep's mean_ns; '?' when missing
  stem="gp_bars_n${n}_t${thr}_${dur}"
  awk -F, -v n="$n" -v engines="$engines" "$hdr $sel && \$c[\"n\"]==n {
      k=\$c[\"workload\"] SUBSEP \$c[\"engine\"]; s[k]+=\$c[\"mean_ns\"]; m[k]++; w[\$c[\"workload\"]]=1 }
    END { ne=split(engines, E, \" \"); print \"# workload\", engines; for (wl in w) { line=wl;
            for (i=1;i<=ne;i++) { k=wl SUBSEP E[i]; line=line \" \" (m[k] ? sprintf(\"%.1f\", s[k]/m[k]) : \"?\") }
            print line } }" "$summary" | sort > "$out/$stem.dat"
  ymin=$(awk '{for(i=2;i<=NF;i++) if($i!="?" && (m=="" || $i+0<m)) m=$i+0} END{print (m ? m/2 : 1)}' "$out/$stem.dat")
  plot bars.gp "$stem" "DATA='$out/$stem.dat'; N='$n'; YMIN=$ymin"
  # spectra: per workload, and per op type of a mixed workload
  for wl in $workloads; do
    merged_percentiles "\$c[\"n\"]==$n && \$c[\"workload\"]==\"$wl\"" > "$out/spectrum_all.tmp"
    for op in $(awk '{print $3}' "$out/spectrum_all.tmp" | sort -u); do
      [ "$op" = all ] && name=$wl || name=$wl-$op
      # an op type is drawn separately only when the workload has more than one
      if [ "$op" != all ] && [ "$(awk '$3!="all"{print $3}' "$out/spectrum_all.tmp" | sort -u | wc -l)" -lt 2 ]; then
        continue
      fi
      stem="gp_spectrum_${name}_n${n}_t${thr}_${dur}"
      : > "$out/$stem.dat"
      for e in $engines; do   # one block per engine, in the fixed order, two blank lines apart
        awk -v e="$e" -v op="$op" '$1==e && $3==op {printf "%s %s %.6g %s\n", $1, $4, 1/(1-$4), $5}' \
          "$out/spectrum_all.tmp" > "$out/block.tmp"
        if [ -s "$out/block.tmp" ]; then cat "$out/block.tmp" >> "$out/$stem.dat"; else echo "$e - - -" >> "$out/$stem.dat"; fi
        printf '\n\n' >> "$out/$stem.dat"
      done
      plot spectrum.gp "$stem" "DATA='$out/$stem.dat'; TITLE='$name, N=$n'"
    done
  done
done
rm -f "$out/spectrum_all.tmp" "$out/block.tmp"

invalid=$(invalid_at "")
if [ "$(wc -w <<<"$sizes")" -gt 1 ]; then
  for wl in $workloads; do
    stem="gp_sweep_${wl}_t${thr}_${dur}"
    merged_percentiles "\$c[\"workload\"]==\"$wl\" && opof()==\"all\"" > "$out/sweep.tmp"
    : > "$out/$stem.dat"
    for e in $engines; do   # engine n p50 p99 p999 untimed_ops_per_sec (mean over reps)
      awk -F, -v e="$e" -v wl="$wl" "$hdr $sel && \$c[\"engine\"]==e && \$c[\"workload\"]==wl {
          n=\$c[\"n\"]; u=\$c[\"ops_per_sec_untimed\"]; if (u==\"\") u=\$c[\"ops_per_sec\"]; t[n]+=u; m[n]++ }
        END { for (n in m) printf \"%s %.1f\n\", n, t[n]/m[n] }" "$summary" | sort -n > "$out/tput.tmp"
      awk -v e="$e" 'FNR==NR { t[$1]=$2; next }
          $1==e { v[$2 " " $4]=$5; ns[$2]=1 }
          END { for (n in ns) print e, n, v[n " 0.5"], v[n " 0.99"], v[n " 0.999"], (n in t ? t[n] : "?") }' \
        "$out/tput.tmp" "$out/sweep.tmp" | sort -k2,2n > "$out/block.tmp"
      if [ -s "$out/block.tmp" ]; then cat "$out/block.tmp" >> "$out/$stem.dat"; else echo "$e - - - - -" >> "$out/$stem.dat"; fi
      printf '\n\n' >> "$out/$stem.dat"
    done
    rm -f "$out/sweep.tmp" "$out/tput.tmp" "$out/block.tmp"
    plot sweep.gp "$stem" "DATA='$out/$stem.dat'; TITLE='$wl: p50 solid, p99 dashed, p99.9 dotted'"
  done
fi
echo "gnuplot: $out"
