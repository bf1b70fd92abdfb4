/* cost.h — what a selection costs before it runs (`einrun FILE --dry-run`).
 *
 * A cell's cost is its FLOP count — per training example the three GEMM
 * passes (forward, two backward) of every weight matrix, per test example one
 * forward, every epoch (model.md M1, M4; element-wise ops and evaluation
 * metrics are in the rate, not the count) — divided by a rate in FLOP/s that
 * is either taken from the folder's finished cells (their FLOPs over their
 * seconds: the real machine that ran them, load included) or measured here:
 * 26 training steps on synthetic data, with one BLAS thread as a worker has,
 * of one cell of each kind of network in the selection (layer kinds and
 * norms: GradNorm and I-Norm do element-wise work the count leaves out), the
 * fastest window of 4 steps counting (what the machine does unshared).  One
 * cell uses one core, so seconds are core-seconds.
 */
#ifndef EIN_COST_H
#define EIN_COST_H

#include <stdio.h>
#include "ein/cell.h"
#include "ein/err.h"

typedef struct ein_cost {
    int n_cells;                /* cells estimated */
    double flops;               /* all of them */
    double rate;                /* FLOP/s per core on average: flops / core_seconds */
    double core_seconds;        /* Σ flops / rate of each cell, plus its set-up (cost.c) */
    double max_cell_seconds;    /* the longest cell */
    char basis[320];            /* where the rate comes from, for the printout */
} ein_cost;

/* FLOPs of one whole cell (all epochs) on n_train / n_test examples of n_in pixels. */
double ein_cell_flops(const ein_cell_config *cfg, int n_in, long n_train, long n_test);

/* Estimate list->cells[todo[i]], i < n; `results_dir` (may be NULL, or a
 * folder that does not exist): its finished ok cells of this list give the
 * rate when there are any.  Fails only for lack of memory. */
ein_code ein_cost_estimate(const ein_cell_list *list, const int *todo, int n,
                           const char *results_dir, ein_cost *out, ein_err *err);

/* "estimate: 720 cells, 1234.5 core-hours ..." and, when the selection needs
 * more than a day on `cores` cores, a line that says so. */
void ein_cost_print(const ein_cost *c, int cores, FILE *out);

/* The estimate of the view's cells that `results_dir` has not finished,
 * printed to `out` for this machine's online cores (with how many are
 * finished already), and returned in *cost.  Skipped (*cost zero) when
 * $EIN_NO_ESTIMATE is set and not "0". */
ein_code ein_cost_report(const ein_cell_list *view, const char *results_dir, FILE *out,
                         ein_cost *cost, ein_err *err);

#endif
