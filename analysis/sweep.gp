# Percentiles vs N (gnuplot), log-log: p50 solid, p99 dashed, p99.9 dotted, one colour per engine.
# Vars: DIR (holds sweep_<engine>.dat: n p50 p99 p999 ops_per_sec), ENGINES, INVALID, TITLE, FMT, OUT.
load GPDIR."/gp_common.gp"
set logscale xy
set format x "10^{%L}"
set format y "10^{%L}"
set xlabel "number of keys N (log scale)"
set ylabel "latency (ns, log scale)"
set title TITLE font ",7"
plot for [e in ENGINES] sprintf("%s/sweep_%s.dat", DIR, e) using 1:2 with linespoints pt marker(e) ps 0.6 \
       lc rgb color(e) dt 1 title label(e), \
     for [e in ENGINES] sprintf("%s/sweep_%s.dat", DIR, e) using 1:3 with linespoints pt marker(e) ps 0.6 \
       lc rgb color(e) dt 2 notitle, \
     for [e in ENGINES] sprintf("%s/sweep_%s.dat", DIR, e) using 1:4 with linespoints pt marker(e) ps 0.6 \
       lc rgb color(e) dt 3 notitle
