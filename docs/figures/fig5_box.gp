# fig5_box.gp — drawn by `einrun plot` from fig5_box.dat; redraw with: gnuplot fig5_box.gp
# kind box, metric test_acc, conditions by variant, facet eps, top cells by final test accuracy
# results: results/quick/fig5_gradnorm
W = 640
H = 480
labels = "LN+ GradNorm center scale decorrelate fa_center"
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
  set output "fig5_box.".fmt
  set multiplot layout 1,2 title "fig5_box"
  set title "eps = 0"
  set xrange [0.3:6.7]
  set ylabel "final test accuracy (%)"
  set xtics ("LN+" 1, "GradNorm" 2, "center" 3, "scale" 4, "decorrelate" 5, "fa_center" 6)
  plot for [c=0:5] 'fig5_box.dat' index (0 + c) using (c + 1):1 with boxplot lc c + 1 notitle
  unset title
  set title "eps = 0.75"
  set xrange [0.3:6.7]
  set ylabel "final test accuracy (%)"
  set xtics ("LN+" 1, "GradNorm" 2, "center" 3, "scale" 4, "decorrelate" 5, "fa_center" 6)
  plot for [c=0:5] 'fig5_box.dat' index (6 + c) using (c + 1):1 with boxplot lc c + 1 notitle
  unset title
  unset multiplot
  set output
}
