# finding4_curves.gp — drawn by `einrun plot` from finding4_curves.dat; redraw with: gnuplot finding4_curves.gp
# kind curve, metric test_acc, conditions by variant, facet none
# results: /work/long/results
W = 800
H = 600
labels = "LN+ I-Norm I-Norm_+_GradNorm GradNorm_center"
formats = "png svg"
set encoding utf8
set grid
set style fill solid 0.35 border -1
set style boxplot outliers pointtype 7
set style data lines
do for [fmt in formats] {
  if (fmt eq "png") { set terminal pngcairo size W,H noenhanced font "sans,10" }
  if (fmt eq "svg") { set terminal svg size W,H noenhanced font "sans,10" background rgb "white" }
  if (fmt eq "pdf") { set terminal pdfcairo size (W/100.0),(H/100.0) noenhanced font "sans,7" }
  set output "finding4_curves.".fmt
  set title "finding4_curves"
  set xlabel "epoch"
  set ylabel "test accuracy (%)"
  set key bottom right
  plot for [c=0:3] 'finding4_curves.dat' index (0 + c) using 1:3:4 with filledcurves fs transparent solid 0.2 noborder lc c + 1 notitle, \
       for [c=0:3] 'finding4_curves.dat' index (0 + c) using 1:2 with lines lw 2 lc c + 1 title word(labels, c + 1)
  unset title
  set output
}
