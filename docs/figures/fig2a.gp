# fig2a.gp — drawn by `einrun plot` from fig2a.dat; redraw with: gnuplot fig2a.gp
# kind scatter, metric test_acc, conditions by variant, facet eps
# results: results/quick/fig2_ln
W = 640
H = 480
labels = "EI_No-Norm EI_+_LN"
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
  set output "fig2a.".fmt
  set multiplot layout 1,2 title "fig2a"
  set title "eps = 0: EI + LN above the diagonal in 3 of 3"
  set xrange [70.4613:84.5487]
  set yrange [70.4613:84.5487]
  set size ratio -1
  set xlabel "EI No-Norm"
  set ylabel "EI + LN"
  plot 'fig2a.dat' index 0 using 1:2 with points pt 7 ps 0.8 lc rgb '#1f77b4' notitle, \
       x with lines dt 2 lc rgb '#555555' notitle
  unset title
  set title "eps = 0.75: EI + LN above the diagonal in 3 of 3"
  set xrange [70.4613:84.5487]
  set yrange [70.4613:84.5487]
  set size ratio -1
  set xlabel "EI No-Norm"
  set ylabel "EI + LN"
  plot 'fig2a.dat' index 1 using 1:2 with points pt 7 ps 0.8 lc rgb '#1f77b4' notitle, \
       x with lines dt 2 lc rgb '#555555' notitle
  unset title
  unset multiplot
  set output
}
