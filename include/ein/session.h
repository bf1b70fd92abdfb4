/* session.h — the run pipeline shared by `einrun FILE.ein` (cli_run.c) and
 * the REPL (repl.c): select cells (expand a checked module's grid with
 * overrides, apply --epochs/--limit-train, filter), keep data sets loaded
 * across runs, run the pending cells in workers with a progress display, and
 * print the summary table.
 *
 * Printing: ein_session_run and ein_session_summary write the progress, the
 * per-run totals ("einrun: 2 ok, ...") and the summary to the given streams,
 * as a run of `einrun FILE.ein` does; every other function reports through
 * diag (language errors) or err only.
 *
 * Ownership: a data cache copies the data configurations it is keyed by, so
 * it outlives the cell lists it was loaded for; free it with
 * ein_data_cache_free.  ein_session_select fills two lists the caller frees
 * with ein_selection_free (view borrows list's bindings). */
#ifndef EIN_SESSION_H
#define EIN_SESSION_H

#include <stdbool.h>
#include <stdio.h>
#include "ein/cell.h"
#include "ein/check.h"
#include "ein/err.h"
#include "ein/grid.h"
#include "ein/runner.h"

/* --- data sets loaded once, before the workers fork ---------------------- */

typedef struct ein_data_cache ein_data_cache;

ein_data_cache *ein_data_cache_new(void);                 /* NULL: out of memory */
void ein_data_cache_free(ein_data_cache *dc);            /* NULL is fine */
/* Load every data set list->cells[todo[i]] needs that is not loaded yet. */
ein_code ein_data_cache_load(ein_data_cache *dc, const ein_cell_list *list, const int *todo,
                             int n, ein_err *err);
int ein_data_cache_count(const ein_data_cache *dc);      /* data sets held */
/* An ein_cell_fn for the runner: ctx is the cache, which must hold the cell's data. */
ein_code ein_data_cache_train(void *ctx, const ein_cell *cell, const ein_train_hooks *hooks,
                              ein_cell_result *result, ein_err *err);

/* --- selecting cells ------------------------------------------------------ */

typedef struct ein_select_options {
    const char *experiment;        /* NULL: the module's only experiment */
    const ein_override *ov;        /* borrowed */
    int n_ov;
    const char *where;             /* --where filter (runner.h), NULL: all */
    long max_cells;                /* < 0: no limit */
    long epochs, limit_train;      /* > 0: override every cell's (changes the ids) */
} ein_select_options;

typedef struct ein_selection {
    ein_cell_list list;            /* the whole grid */
    ein_cell_list view;            /* the selected cells (bindings borrowed from list) */
} ein_selection;

/* EIN_OK; EIN_ERR_LANG (errors in m->diag); EIN_ERR_USAGE (a malformed
 * filter, or one naming an axis no cell binds: err lists the ones they do). */
ein_code ein_session_select(const ein_module *m, const ein_select_options *opt,
                            ein_selection *out, ein_err *err);
void ein_selection_free(ein_selection *s);

/* --- running -------------------------------------------------------------- */

typedef struct ein_session_run_options {
    const char *results;           /* folder; NULL: the cells' report "dir", else results/<experiment> */
    const char *source;            /* .ein file stored as source.ein; NULL: none */
    const char *source_text;       /* or its text, as checked (wins over source; stdin is read once) */
    size_t source_len;
    bool fresh;                    /* move an existing folder aside */
    int jobs;                      /* <= 0: online cores */
    bool fail_fast, quiet;
    const char *save_weights;      /* NULL: none */
    const char *by;                /* summary grouping; NULL: the default keys (summary.h) */
    const char *metric;            /* summarized metric; NULL: final test accuracy */
    int top;                       /* top-K median; <= 0: 10 */
    bool no_summary;               /* skip the summary table */
    FILE *out, *log;               /* summary and per-epoch lines / progress and messages */
    /* Called for each cell that finished in this run (after the progress
     * display saw it); may be NULL.  The REPL keeps the results (:ablate). */
    void (*on_done)(void *ctx, const ein_cell *cell, const ein_cell_result *r);
    void *ctx;
    /* The view is shard K of n_shards (shard.h) of `selection`, the whole
     * selection that selection.tsv records; NULL / 0: the view is all of it. */
    const ein_cell_list *selection;
    int n_shards;
} ein_session_run_options;

typedef struct ein_session_report {
    char dir[EIN_PATH_MAX];        /* the results folder used */
    int n_selected, n_todo;        /* selected cells, of which pending */
    ein_run_totals totals;         /* zero when nothing ran */
} ein_session_report;

/* Run the view's pending cells (resume: finished ones are kept) through the
 * runner with SIGINT/SIGTERM handling installed, as one of possibly many
 * writers of the folder (its own shard of records, claims: shard.h,
 * claim.h), then print the summary of
 * the view.  Returns the runner's code (EIN_ERR_INTERRUPTED after Ctrl-C)
 * or the first I/O / data error; cells that failed are counted in
 * report->totals.failed, not an error. */
ein_code ein_session_run(const ein_cell_list *view, ein_data_cache *dc,
                         const ein_session_run_options *opt, ein_session_report *report,
                         ein_err *err);

/* What `einrun summary` prints: the records of one or more folders. */
typedef struct ein_summary_request {
    const char *const *dirs;       /* borrowed */
    int n_dirs;
    const char *by;                /* NULL: the default keys (summary.h) */
    const char *metric;            /* NULL: final test accuracy */
    const char *compare;           /* NULL: no Mann-Whitney comparison */
    const char *csv;               /* the grouped table's file; NULL: DIR/summary_by_<keys>.csv
                                      with one folder, none with several */
    int top;                       /* <= 0: 10 */
    const ein_cell_list *only;     /* NULL, or just these cells */
} ein_summary_request;

/* Regenerate each DIR/summary.csv and print the summary table of the
 * folders' records, with an optional Mann-Whitney comparison (summary.h). */
ein_code ein_session_summarize(const ein_summary_request *q, FILE *out, ein_err *err);
/* The same for one folder. */
ein_code ein_session_summary(const char *dir, const char *by, int top, const char *compare,
                             const ein_cell_list *only, FILE *out, ein_err *err);

/* The results folder a run of `view` uses: `given` (--results), else the
 * cells' report "dir", else results/<experiment>. */
void ein_session_results_dir(const ein_cell_list *view, const char *given, char dir[EIN_PATH_MAX]);

/* One cell's computation graph in Graphviz dot (data dimensions from the
 * first test image). */
ein_code ein_session_write_graph(const ein_cell *cell, FILE *out, ein_err *err);

#endif
