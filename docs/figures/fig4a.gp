# fig4a.gp — drawn by `einrun plot` from fig4a.dat; redraw with: gnuplot fig4a.gp
# kind scatter, metric test_acc, conditions by variant, facet eps
# results: results/quick/fig4_forward
W = 640
H = 480
labels = "LN+ I-Norm"
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
  set output "fig4a.".fmt
  set multiplot layout 1,2 title "fig4a"
  set title "eps = 0: I-Norm above the diagonal in 0 of 3"
  set xrange [73.6597:85.3303]
  set yrange [73.6597:85.3303]
  set size ratio -1
  set xlabel "LN+"
  set ylabel "I-Norm"
  plot 'fig4a.dat' index 0 using 1:2 with points pt 7 ps 0.8 lc rgb '#1f77b4' notitle, \
       x with lines dt 2 lc rgb '#555555' notitle
  unset title
  set title "eps = 0.75: I-Norm above the diagonal in 0 of 3"
  set xrange [73.6597:85.3303]
  set yrange [73.6597:85.3303]
  set size ratio -1
  set xlabel "LN+"
  set ylabel "I-Norm"
  plot 'fig4a.dat' index 1 using 1:2 with points pt 7 ps 0.8 lc rgb '#1f77b4' notitle, \
       x with lines dt 2 lc rgb '#555555' notitle
  unset title
  unset multiplot
  set output
}
