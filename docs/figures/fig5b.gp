# fig5b.gp — drawn by `einrun plot` from fig5b.dat; redraw with: gnuplot fig5b.gp
# kind box, metric cos_ln_grad, conditions by variant, facet layer
# results: results/quick/fig5_gradnorm
W = 640
H = 480
labels = "I-Norm_+_GradNorm center scale decorrelate fa_center"
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
  set output "fig5b.".fmt
  set multiplot layout 1,2 title "fig5b"
  set title "hidden layer 1"
  set xrange [0.3:5.7]
  set ylabel "gradient cosine vs LN"
  set xtics ("I-Norm + GradNorm" 1, "center" 2, "scale" 3, "decorrelate" 4, "fa_center" 5)
  plot for [c=0:4] 'fig5b.dat' index (0 + c) using (c + 1):1 with boxplot lc c + 1 notitle
  unset title
  set title "hidden layer 2"
  set xrange [0.3:5.7]
  set ylabel "gradient cosine vs LN"
  set xtics ("I-Norm + GradNorm" 1, "center" 2, "scale" 3, "decorrelate" 4, "fa_center" 5)
  plot for [c=0:4] 'fig5b.dat' index (5 + c) using (c + 1):1 with boxplot lc c + 1 notitle
  unset title
  unset multiplot
  set output
}
