# Percentile spectrum (gnuplot): latency at p50 .. p99.99 against 1/(1-q), log-log, one line per engine.
# Vars: DATA (blocks per engine, in ENGINES order: engine q x latency_ns; "-" when absent), ENGINES,
# INVALID, TITLE, FMT, OUT.
load GPDIR."/gp_common.gp"
set logscale xy
set xtics ("p50" 2, "p90" 10, "p99" 100, "p99.9" 1000, "p99.99" 10000)
set format y "10^{%L}"
set xlabel "percentile (log scale of 1/(1-q))"
set ylabel "latency (ns, log scale)"
set title TITLE font ",7"
set datafile missing "-"
plot for [i=1:words(ENGINES)] DATA index (i-1) using 3:4 with linespoints pt marker(word(ENGINES,i)) ps 0.6 \
     dt 1+isinvalid(word(ENGINES,i)) lc rgb color(word(ENGINES,i)) title label(word(ENGINES,i))
