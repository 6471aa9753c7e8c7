# Percentiles vs N (gnuplot), log-log: p50 solid, p99 dashed, p99.9 dotted, one colour per engine.
# Vars: DATA (blocks per engine, in ENGINES order: engine n p50 p99 p999 ops_per_sec; "-" when absent),
# ENGINES, INVALID, TITLE, FMT, OUT.
load GPDIR."/gp_common.gp"
set logscale xy
set format x "10^{%L}"
set format y "10^{%L}"
set xlabel "number of keys N (log scale)"
set ylabel "latency (ns, merged histograms, log scale)"
set title TITLE font ",7"
set datafile missing "-"
nE = words(ENGINES)
plot for [i=1:nE] DATA index (i-1) using 2:3 with linespoints pt marker(word(ENGINES,i)) ps 0.6 \
       lc rgb color(word(ENGINES,i)) dt 1 title label(word(ENGINES,i)), \
     for [i=1:nE] DATA index (i-1) using 2:4 with linespoints pt marker(word(ENGINES,i)) ps 0.6 \
       lc rgb color(word(ENGINES,i)) dt 2 notitle, \
     for [i=1:nE] DATA index (i-1) using 2:5 with linespoints pt marker(word(ENGINES,i)) ps 0.6 \
       lc rgb color(word(ENGINES,i)) dt 3 notitle
