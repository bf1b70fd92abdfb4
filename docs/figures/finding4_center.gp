# finding4_center.gp — drawn by `einrun plot` from finding4_center.dat; redraw with: gnuplot finding4_center.gp
# kind scatter, metric test_acc, conditions by variant, facet eps
# results: /work/long/results
W = 800
H = 600
labels = "LN+ GradNorm_center"
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
  set output "finding4_center.".fmt
  set title "eps = 0.75: GradNorm center above the diagonal in 2 of 8"
  set xrange [82.535:86.245]
  set yrange [82.535:86.245]
  set size ratio -1
  set xlabel "LN+"
  set ylabel "GradNorm center"
  plot 'finding4_center.dat' index 0 using 1:2 with points pt 7 ps 0.8 lc rgb '#1f77b4' notitle, \
       x with lines dt 2 lc rgb '#555555' notitle
  unset title
  set output
}
