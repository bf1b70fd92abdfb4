# fig2b.gp — drawn by `einrun plot` from fig2b.dat; redraw with: gnuplot fig2b.gp
# kind box, metric test_acc, conditions by variant, facet eps, top cells by final test accuracy
# results: results/quick/fig2_ln
W = 640
H = 480
labels = "EI_No-Norm EI_+_LN LN+"
formats = "png"
set encoding utf8
set grid
set style fill solid 0.35 border -1
set style boxplot outliers pointtype 7
set style data lines
do for [fmt in formats] {
  if (fmt eq "png") { set terminal pngcairo size W,H noenhanced font "sans,10" }
  if (fmt eq "svg") { set terminal svg size W,H noenhanced font "sans,10" background rgb "white" }
  if (fmt eq "pdf") { set terminal pdfcairo size (W/100.0),(H/100.0) noenhanced font "sans,7" }
  set output "fig2b.".fmt
  set multiplot layout 1,2 title "fig2b"
  set title "eps = 0"
  set xrange [0.3:3.7]
  set ylabel "final test accuracy (%)"
  set xtics ("EI No-Norm" 1, "EI + LN" 2, "LN+" 3)
  plot for [c=0:2] 'fig2b.dat' index (0 + c) using (c + 1):1 with boxplot lc c + 1 notitle
  unset title
  set title "eps = 0.75"
  set xrange [0.3:3.7]
  set ylabel "final test accuracy (%)"
  set xtics ("EI No-Norm" 1, "EI + LN" 2, "LN+" 3)
  plot for [c=0:2] 'fig2b.dat' index (3 + c) using (c + 1):1 with boxplot lc c + 1 notitle
  unset title
  unset multiplot
  set output
}
