# finding4_grad.gp — drawn by `einrun plot` from finding4_grad.dat; redraw with: gnuplot finding4_grad.gp
# kind box, metric cos_ln_grad, conditions by variant, facet layer
# results: /work/long/results
W = 800
H = 600
labels = "I-Norm I-Norm_+_GradNorm GradNorm_center"
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
  set output "finding4_grad.".fmt
  set multiplot layout 1,2 title "finding4_grad"
  set title "hidden layer 1"
  set xrange [0.3:3.7]
  set ylabel "gradient cosine vs LN"
  set xtics ("I-Norm" 1, "I-Norm + GradNorm" 2, "GradNorm center" 3)
  plot for [c=0:2] 'finding4_grad.dat' index (0 + c) using (c + 1):1 with boxplot lc c + 1 notitle
  unset title
  set title "hidden layer 2"
  set xrange [0.3:3.7]
  set ylabel "gradient cosine vs LN"
  set xtics ("I-Norm" 1, "I-Norm + GradNorm" 2, "GradNorm center" 3)
  plot for [c=0:2] 'finding4_grad.dat' index (3 + c) using (c + 1):1 with boxplot lc c + 1 notitle
  unset title
  unset multiplot
  set output
}
