# Grouped bars (gnuplot): mean latency of the measured phase per workload, one bar per engine.
# Vars: YMIN (y axis start), DATA (rows: workload, then one mean-ns column per engine in ENGINES order), ENGINES, INVALID, N, FMT, OUT.
load GPDIR."/gp_common.gp"
set style data histogram
set style histogram clustered gap 1
set boxwidth 0.9
set ylabel "mean latency (ns/op)"
set xlabel "workload (measured phase), N = ".N
set logscale y
set yrange [YMIN:*]
set format y "10^{%L}"
nE = words(ENGINES)
set datafile missing "?"
# invalid engines: hatched (pattern 4) instead of solid (pattern 3) and "(INVALID)" in the key
plot for [i=1:nE] DATA using (column(i+1)):xtic(1) title label(word(ENGINES,i)) \
     lc rgb color(word(ENGINES,i)) fs pattern (isinvalid(word(ENGINES,i)) ? 4 : 3) border lc rgb "black"
