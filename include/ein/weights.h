/* weights.h — a trained cell saved so it can be reopened (`report { weights }`,
 * `--save-weights DIR`; `einrun eval`).  One folder per cell:
 *
 *   <param>.npy   every parameter, numpy format 1.0, C order (L0.W_ex.npy, ...,
 *                 out.b.npy): numpy.load reads them as they are
 *   cell.bin      the cell's exact configuration, in this build's layout (a
 *                 magic, the layout's size, the bytes); reopening checks both
 *   config.txt    the same configuration, readable (ein_config_write)
 *   state.txt     where training stopped: epochs done and the random streams
 *                 after the last epoch, and those the last evaluation started
 *                 from (so reopening reproduces the recorded test accuracy
 *                 with Δ drawn as in training)
 *
 * The optimizer's state is not saved: plain SGD (the paper's, M8) has none,
 * so continuing a saved SGD cell is exact; momentum and Adam restart at 0.
 */
#ifndef EIN_WEIGHTS_H
#define EIN_WEIGHTS_H

#include "ein/config.h"
#include "ein/err.h"
#include "ein/rng.h"

struct ein_model;

typedef struct ein_train_state {
    int epochs;                                 /* epochs trained */
    ein_rng shuffle, shift, eval, align;        /* after the last epoch */
    ein_rng shuffle_final;                      /* before the last epoch drew its order */
    ein_rng eval_final, align_final;            /* at the start of the last evaluation */
} ein_train_state;

/* Write the folder `dir` (created; files replaced). */
ein_code ein_weights_save(const char *dir, const struct ein_model *m, const ein_train_state *st,
                          ein_err *err);

/* The configuration saved in dir/cell.bin.  EIN_ERR_DATA when it is not one
 * (or was written by a build with another layout). */
ein_code ein_weights_load_config(const char *dir, ein_cell_config *cfg, ein_err *err);

/* Every parameter of `m` from dir/<name>.npy (float32 or float64 files; the
 * shape must match) and the state from dir/state.txt. */
ein_code ein_weights_load(const char *dir, struct ein_model *m, ein_train_state *st, ein_err *err);

#endif
