# finding4_pairs.gp — drawn by `einrun plot` from finding4_pairs.dat; redraw with: gnuplot finding4_pairs.gp
# kind scatter, metric test_acc, conditions by variant, facet eps
# results: /work/long/results
W = 800
H = 600
labels = "LN+ I-Norm_+_GradNorm"
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
  set output "finding4_pairs.".fmt
  set title "eps = 0.75: I-Norm + GradNorm above the diagonal in 5 of 8"
  set xrange [83.7813:86.2087]
  set yrange [83.7813:86.2087]
  set size ratio -1
  set xlabel "LN+"
  set ylabel "I-Norm + GradNorm"
  plot 'finding4_pairs.dat' index 0 using 1:2 with points pt 7 ps 0.8 lc rgb '#1f77b4' notitle, \
       x with lines dt 2 lc rgb '#555555' notitle
  unset title
  set output
}
