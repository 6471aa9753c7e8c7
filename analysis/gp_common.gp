# Shared gnuplot settings: the fixed engine colours/markers (same as kvresults.py) and the output terminal.
# Expects FMT ("pdf" or "png") and OUT (file name) to be set with -e.
color(e) = e eq "alexstorage" ? "#D55E00" : e eq "rocksdb" ? "#0072B2" : e eq "sqlite" ? "#009E73" : \
           e eq "lmdb" ? "#CC79A7" : e eq "leveldb" ? "#56B4E9" : e eq "wiredtiger" ? "#8C564B" : \
           e eq "wiredtiger-lsm" ? "#332288" : e eq "bdb" ? "#999933" : e eq "kyotocabinet" ? "#DDCC77" : \
           e eq "tkrzw" ? "#000000" : e eq "tkrzw-hash" ? "#882255" : \
           e eq "memory" ? "#E69F00" : e eq "null" ? "#7F7F7F" : "#44AA99"
marker(e) = e eq "alexstorage" ? 7 : e eq "rocksdb" ? 5 : e eq "sqlite" ? 9 : e eq "lmdb" ? 13 : \
            e eq "leveldb" ? 1 : e eq "wiredtiger" ? 3 : e eq "wiredtiger-lsm" ? 15 : e eq "bdb" ? 14 : \
            e eq "kyotocabinet" ? 12 : e eq "tkrzw" ? 8 : e eq "tkrzw-hash" ? 10 : \
            e eq "memory" ? 11 : e eq "null" ? 2 : 6
isinvalid(e) = strstrt(" ".INVALID." ", " ".e." ") > 0
label(e) = isinvalid(e) ? e." (INVALID)" : e
if (FMT eq "pdf") { set terminal pdfcairo size 3.3in,2.3in font "Sans,7" linewidth 1 } \
else { set terminal pngcairo size 660,460 font "Sans,8" linewidth 1 }
set output OUT
set key top center horizontal outside font ",6" samplen 2
set grid lc rgb "#dddddd"
