/* summary.h — grid summaries over a results folder (model.md M9).
 *
 * Cells are grouped by the values of chosen axes (--by variant,eps); within a
 * group the statistics run over everything else (seeds, hyperparameter
 * configurations).  The value summarized is each cell's final test accuracy.
 * ok and diverged cells count (a diverged cell is a result: its final
 * accuracy, or chance level 100/10 % when it has none); failed and
 * interrupted cells are not results and are counted as `missing`.
 *
 * Ownership: ein_summary_compute fills a summary the caller frees with
 * ein_summary_free.
 */
#ifndef EIN_SUMMARY_H
#define EIN_SUMMARY_H

#include <stdio.h>
#include "ein/err.h"
#include "ein/results.h"

#define EIN_SUMMARY_MAX_BY 8

typedef struct ein_summary_group {
    char value[EIN_SUMMARY_MAX_BY][EIN_VALUE_TEXT_MAX];   /* one per `by` axis; "NA" if unbound */
    int n;                       /* cells with an accuracy (ok + diverged) */
    int diverged, missing;
    double mean, sd, median, q1, q3, iqr;
    double top_median, top_sd;   /* over the `top` best (all when fewer) */
    double *acc;                 /* n accuracies, owned */
} ein_summary_group;

typedef struct ein_summary {
    int n_by;
    char by[EIN_SUMMARY_MAX_BY][EIN_NAME_MAX];
    int top;
    int n;
    ein_summary_group *groups;   /* owned, in first-seen order of the records */
} ein_summary;

/* The default axes when --by is not given: every binding name without a dot
 * except "seed" and the row index of a sample/table axis (a name that has
 * dotted fields, "cfg" beside "cfg.lr"), in first-seen order. */
void ein_summary_default_by(const ein_record_list *l, char *buf, size_t cap);

/* Group `l` by the comma-separated axes `by` ("" = one group of all). */
ein_code ein_summary_compute(const ein_record_list *l, const char *by, int top,
                             ein_summary *out, ein_err *err);
void ein_summary_free(ein_summary *s);

/* Aligned table: axes, n, mean ± sd, median, IQR, top-k median ± sd, diverged, missing. */
void ein_summary_print(const ein_summary *s, FILE *out);

/* DIR/summary_by_<axes>.csv (summary_by_all.csv without axes), atomically;
 * the file name written goes to `path` (EIN_PATH_MAX bytes) if non-NULL. */
ein_code ein_summary_write_csv(const ein_summary *s, const char *dir, char *path, ein_err *err);

/* --compare: "axis=A,B" or "A,B" (the axis whose values include both).
 * For every group of the other --by axes, a two-sided Mann–Whitney U test of
 * the final test accuracies with axis = A against axis = B, printed to out. */
ein_code ein_summary_compare(const ein_record_list *l, const char *by, const char *spec,
                             FILE *out, ein_err *err);

#endif
