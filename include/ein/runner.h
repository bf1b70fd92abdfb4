/* runner.h — run a list of cells in forked worker processes, recording every
 * result in a results store (results.h).
 *
 * Process model (docs/running.md): the calling process is the supervisor and
 * the single writer of the results folder.  Each cell runs in a fresh forked
 * child, which inherits everything loaded before (the data sets: shared
 * copy-on-write pages) and sends its per-epoch metrics and its final result
 * as fixed-size binary messages over its own pipe.  A child that dies
 * without a result (signal, abort, exit) marks only its cell failed, with the
 * signal's name.  Children die with the supervisor (PR_SET_PDEATHSIG), so a
 * kill -9 of einrun leaves no orphans; cells without a record simply run
 * again on the next start.
 *
 * Signals: ein_runner_install_signals() makes SIGINT/SIGTERM set flags (the
 * only global state here).  The first SIGINT stops launching and forwards
 * SIGINT to the workers, which finish their current epoch and report
 * "interrupted"; a second SIGINT, or SIGTERM, kills the workers at once and
 * records their cells as interrupted.  Children sit in their own process
 * group, so a terminal's Ctrl-C reaches only the supervisor, which decides.
 */
#ifndef EIN_RUNNER_H
#define EIN_RUNNER_H

#include <stdbool.h>
#include "ein/cell.h"
#include "ein/claim.h"
#include "ein/err.h"
#include "ein/results.h"
#include "ein/train.h"

/* Runs one cell inside a worker: production passes a wrapper around
 * ein_train_cell (data sets in ctx), tests a fake.  Same contract as
 * ein_train_cell: EIN_OK when the cell ran to a status. */
typedef ein_code (*ein_cell_fn)(void *ctx, const ein_cell *cell, const ein_train_hooks *hooks,
                                ein_cell_result *result, ein_err *err);

/* Supervisor-side notifications (progress display, per-epoch lines); any may be NULL. */
typedef struct ein_runner_events {
    void *ctx;
    void (*on_start)(void *ctx, const ein_cell *cell);
    void (*on_epoch)(void *ctx, const ein_cell *cell, const ein_epoch_metrics *m);
    void (*on_done)(void *ctx, const ein_cell *cell, const ein_cell_result *r);
    void (*on_tick)(void *ctx);              /* about every 200 ms */
    void (*on_skip)(void *ctx, const ein_cell *cell);   /* another writer finished it */
} ein_runner_events;

typedef struct ein_run_options {
    int jobs;                      /* worker processes, >= 1 */
    int blas_threads;              /* per worker; 0 = $OPENBLAS_NUM_THREADS if set, else 1
                                      (results must not depend on --jobs) */
    void (*set_threads)(int n);    /* called in each worker (ein_blas_set_threads); may be NULL */
    bool fail_fast;                /* stop launching after the first failed cell */
    const char *save_weights_dir;  /* each cell writes to DIR/<id>/; NULL = none */
    const char *results_dir;       /* cells with `report { weights }` save to DIR/weights/<id>/ */
    ein_cell_fn run_cell;
    void *ctx;
    ein_runner_events events;
    /* Many writers (claim.h): claim each cell before it starts; a cell another
     * live writer holds waits (and is taken over if that writer dies), one it
     * finished is skipped.  NULL: this process is the folder's only writer. */
    ein_claims *claims;
    const char *run_tag;           /* the run tag for the records; NULL: make one */
} ein_run_options;

typedef struct ein_run_totals {
    int ok, diverged, interrupted, failed;
    int not_started;               /* left in the queue (stop, fail-fast, error) */
    int elsewhere;                 /* finished by another writer meanwhile (claims) */
    int taken_over;                /* claims of dead writers this run took over */
    char run[48];                  /* this run's tag in the records */
} ein_run_totals;

/* Run list->cells[todo[i]] for i < n_todo.  Returns EIN_OK when every
 * launched cell was recorded (whatever its status), EIN_ERR_INTERRUPTED when
 * a signal stopped the run, or the store's error (EIN_ERR_IO: full disk...);
 * records written before an error stay intact. */
ein_code ein_runner_run(const ein_cell_list *list, const int *todo, int n_todo,
                        ein_results *store, const ein_run_options *opt,
                        ein_run_totals *totals, ein_err *err);

/* Resume: write into `todo` (list->n ints) the indexes of the cells that
 * still need to run — no record, or a last record that is failed or
 * interrupted.  ok and diverged are results and are kept.  Returns the count. */
int ein_runner_pending(const ein_cell_list *list, const ein_record_list *done, int *todo);

/* --where filter: "name=value,name=value".  Terms with different names must
 * all hold, terms with the same name are alternatives (eps=0.5,eps=0.75).  A
 * value matches a binding's canonical text (string quotes optional) or, when
 * both are numbers, its numeric value (0.50 matches 0.5).  A cell without a
 * binding of that name does not match.  Returns -1 (err set) for a
 * malformed filter, else whether the cell matches. */
int ein_cell_matches(const ein_cell *cell, const char *where, ein_err *err);

void ein_runner_install_signals(void);
void ein_runner_reset_signals(void);   /* clear the flags (tests, the REPL) */
bool ein_runner_stop_requested(void);

int ein_online_cores(void);

#endif
