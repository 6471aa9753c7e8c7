# Latency CDF (gnuplot) per engine from merged histograms, log x.
# Vars: DIR (holds cdf_<engine>.dat: hi_ns fraction), ENGINES, INVALID, TITLE, FMT, OUT.
load GPDIR."/gp_common.gp"
set logscale x
set format x "10^{%L}"
set xlabel "operation latency (ns, log scale)"
set ylabel "fraction of operations"
set yrange [0:1.02]
set title TITLE font ",7"
set arrow from graph 0, first 0.5 to graph 1, first 0.5 nohead dt 3 lc rgb "#999999"
set arrow from graph 0, first 0.99 to graph 1, first 0.99 nohead dt 3 lc rgb "#999999"
plot for [e in ENGINES] sprintf("%s/cdf_%s.dat", DIR, e) using 1:2 with steps lw 1.2 \
     dt 1+isinvalid(e) lc rgb color(e) title label(e)
