/* train.h — train and evaluate one cell (model.md M7–M9).
 *
 * The trainer builds the cell's graph from its ein_cell_config, trains for
 * cfg->train.epochs, evaluates on the test set after every epoch and reports
 * through hooks.  It allocates the cell's arena once and frees it before
 * returning; nothing it returns needs freeing.  Data sets are loaded once by
 * the caller and shared read-only (data.h).
 */
#ifndef EIN_TRAIN_H
#define EIN_TRAIN_H

#include <signal.h>
#include "ein/config.h"
#include "ein/err.h"

struct ein_dataset;   /* data.h */

typedef struct ein_layer_metrics {   /* M9, one hidden layer, pre-ReLU output z */
    double mean;        /* mean over examples of mean(z) */
    double var;         /* mean over examples of var(z) */
    double mean_sq;     /* mean over examples of mean(z²) */
    double cos_out;     /* output alignment vs LN; NaN unless cos_ln_out or cos_ln_grad is reported */
    double cos_grad;    /* gradient alignment vs LN; NaN unless cos_ln_out or cos_ln_grad is reported */
} ein_layer_metrics;

/* A metric that was not measured is NaN, never 0: results write it as null. */

typedef struct ein_epoch_metrics {
    int epoch;                       /* 1-based */
    double train_acc, test_acc;      /* percent */
    double task_loss;                /* mean over the epoch's training batches */
    double inorm_loss;               /* mean over batches, summed over layers; NaN if none */
    double test_loss;                /* task loss on the test set */
    int n_hidden;
    ein_layer_metrics layer[EIN_MAX_HIDDEN];
    double seconds;                  /* wall time of this epoch incl. evaluation */
} ein_epoch_metrics;

typedef enum ein_cell_status {
    EIN_CELL_OK = 0,
    EIN_CELL_DIVERGED,               /* NaN/Inf in a loss or parameter: stopped, not crashed */
    EIN_CELL_INTERRUPTED,            /* stop requested */
    EIN_CELL_FAILED                  /* an error (err says which) */
} ein_cell_status;

const char *ein_cell_status_name(ein_cell_status s);   /* "ok", "diverged", ... */

typedef struct ein_cell_result {
    ein_cell_status status;
    int epochs_done;
    ein_epoch_metrics final;         /* last completed epoch */
    ein_epoch_metrics best;          /* epoch with the best test accuracy */
    double seconds;
    char message[256];               /* why diverged/failed, e.g. "NaN in task loss at epoch 3 batch 112 (layer at fig5.ein:9:5)" */
} ein_cell_result;

typedef struct ein_train_hooks {
    void *ctx;
    void (*on_epoch)(void *ctx, const ein_epoch_metrics *m);            /* may be NULL */
    void (*on_batch)(void *ctx, int epoch, long batch, long n_batches); /* may be NULL; keep cheap */
    volatile sig_atomic_t *stop;     /* non-zero: finish the current epoch, then stop (interrupted) */
    volatile sig_atomic_t *stop_now; /* non-zero: stop at the next batch */
    const char *save_weights_dir;    /* non-NULL: save the trained cell there at the end (weights.h) */
    const char *resume_dir;          /* non-NULL: start from the cell saved there (weights.h) and
                                        train on to cfg->train.epochs */
    bool eval_only;                  /* with resume_dir: no training, one evaluation as the saved
                                        cell's last one (same random Δ unless a fixed one is set) */
    int blas_threads;                /* > 0: run OpenBLAS with this many threads; 0: leave the
                                        count the caller set (the runner sets it per worker) */
} ein_train_hooks;

/* Train one cell.  OpenBLAS threads: hooks->blas_threads if > 0; with no
 * hooks, one thread (a cell is then bit-for-bit reproducible), unless
 * $OPENBLAS_NUM_THREADS asks for a count.  Returns EIN_OK when the cell ran to a status (ok, diverged
 * and interrupted are results, not errors); an error code (with err filled)
 * only when it could not run (bad config, out of memory, I/O). */
ein_code ein_train_cell(const ein_cell_config *cfg,
                        const struct ein_dataset *train, const struct ein_dataset *test,
                        const ein_train_hooks *hooks, ein_cell_result *result, ein_err *err);

#endif
