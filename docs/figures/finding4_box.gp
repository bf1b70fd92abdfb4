# finding4_box.gp — drawn by `einrun plot` from finding4_box.dat; redraw with: gnuplot finding4_box.gp
# kind box, metric test_acc, conditions by variant, facet none
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
  set output "finding4_box.".fmt
  set title "finding4_box"
  set xrange [0.3:4.7]
  set ylabel "final test accuracy (%)"
  set xtics ("LN+" 1, "I-Norm" 2, "I-Norm + GradNorm" 3, "GradNorm center" 4)
  plot for [c=0:3] 'finding4_box.dat' index (0 + c) using (c + 1):1 with boxplot lc c + 1 notitle
  unset title
  set output
}
