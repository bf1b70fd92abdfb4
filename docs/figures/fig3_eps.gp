# fig3_eps.gp — drawn by `einrun plot` from fig3_eps.dat; redraw with: gnuplot fig3_eps.gp
# kind sweep, metric test_acc, conditions by variant, facet eps, top cells by final test accuracy
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
  set output "fig3_eps.".fmt
  set title "fig3_eps"
  set xlabel "eps"
  set ylabel "final test accuracy (%)"
  set key bottom left
  plot for [c=0:2] 'fig3_eps.dat' index c using 1:2:3:4 with yerrorlines lw 2 pt 7 lc c + 1 title word(labels, c + 1)
  unset title
  set output
}
