# fig3b_mean.gp — drawn by `einrun plot` from fig3b_mean.dat; redraw with: gnuplot fig3b_mean.gp
# kind box, metric z_mean, conditions by variant, facet layer, top cells by final test accuracy
# results: results/quick/fig3_moments
W = 640
H = 480
labels = "EI_No-Norm I-Norm_(sub) I-Norm"
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
  set output "fig3b_mean.".fmt
  set multiplot layout 1,2 title "fig3b_mean"
  set title "hidden layer 1"
  set xrange [0.3:3.7]
  set ylabel "mean of pre-ReLU z"
  set xtics ("EI No-Norm" 1, "I-Norm (sub)" 2, "I-Norm" 3)
  plot for [c=0:2] 'fig3b_mean.dat' index (0 + c) using (c + 1):1 with boxplot lc c + 1 notitle
  unset title
  set title "hidden layer 2"
  set xrange [0.3:3.7]
  set ylabel "mean of pre-ReLU z"
  set xtics ("EI No-Norm" 1, "I-Norm (sub)" 2, "I-Norm" 3)
  plot for [c=0:2] 'fig3b_mean.dat' index (3 + c) using (c + 1):1 with boxplot lc c + 1 notitle
  unset title
  unset multiplot
  set output
}
