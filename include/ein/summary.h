/* summary.h — grid summaries over one or more results folders (model.md M9).
 *
 * Cells are grouped by the values of chosen keys (--by variant,eps); within a
 * group the statistics run over everything else (seeds, hyperparameter
 * configurations).  A key is an axis (a binding), `folder`, `experiment`, or
 * a setting path from the cells' recorded configuration ("train.epochs").
 * The value summarized is one recorded metric, by default each cell's final
 * test accuracy.  ok and diverged cells count (a diverged cell is a result:
 * its accuracy, or chance level 100/10 % when it has none); failed and
 * interrupted cells are not results and are counted as `missing`, and so are
 * cells that did not measure the metric (null in cells.jsonl).
 *
 * Ownership: ein_summary_compute fills a summary the caller frees with
 * ein_summary_free; ein_summary_read fills a record list the caller frees
 * with ein_record_list_free.
 */
#ifndef EIN_SUMMARY_H
#define EIN_SUMMARY_H

#include <stdio.h>
#include "ein/err.h"
#include "ein/results.h"

#define EIN_SUMMARY_MAX_BY 16

typedef struct ein_summary_group {
    char value[EIN_SUMMARY_MAX_BY][EIN_VALUE_TEXT_MAX];   /* one per `by` key; "NA" if unbound */
    int n;                       /* cells with a value (ok + diverged) */
    int diverged, missing;       /* missing: failed, interrupted, or the metric not measured */
    int unmeasured;              /* of missing: ok/diverged cells without the metric */
    double mean, sd, median, q1, q3, iqr;
    double top_median, top_sd;   /* over the `top` best (all when fewer) */
    double *acc;                 /* n values, owned */
} ein_summary_group;

typedef struct ein_summary {
    int n_by;
    char by[EIN_SUMMARY_MAX_BY][EIN_NAME_MAX];
    char metric[EIN_NAME_MAX];   /* canonical metric name: "final.test_acc", "best.test_acc" */
    char pooled[1024];           /* keys that vary inside some group, ", "-separated */
    int top;
    int n;
    ein_summary_group *groups;   /* owned, in first-seen order of the records */
} ein_summary;

/* Read several results folders into one list (ein_results_read each); each
 * record keeps its folder (the key `folder`), and cells of the same id in
 * two folders stay two records.  With `write_csv`, each folder's summary.csv
 * is regenerated from the records just read (so a folder is read once). */
ein_code ein_summary_read(const char *const *dirs, int n, bool write_csv, ein_record_list *out,
                          ein_err *err);

/* The default keys when --by is not given: every axis except seeds (a name
 * ending in "seed"), the row index of a sample/table axis and its fields
 * ("cfg" with integer values beside "cfg.lr"; a swept setting such as
 * "train.lr" is an axis); `folder` and `experiment` when they
 * tell the cells apart; then every setting whose value differs between the
 * cells (ein_records_differing_settings) and splits the groups formed so
 * far, except seeds (a path ending in "seed") and settings that follow a
 * pooled sample/table axis (a function of its row index or of a field).
 * So two different networks are never averaged.  First-seen order. */
void ein_summary_default_by(const ein_record_list *l, char *buf, size_t cap);

/* Group `l` by the comma-separated keys `by` ("" = one group of all) and
 * summarize `metric` (NULL = final test accuracy; "best_test_acc",
 * "train_acc", "task_loss", "inorm_loss", "test_loss", "layers.0.var",
 * "best.layers.1.cos_grad", "seconds", ...; a name without "best." is the
 * last epoch's).  A metric no cell recorded, or that none measured, is a
 * usage error that says so. */
ein_code ein_summary_compute(const ein_record_list *l, const char *by, const char *metric, int top,
                             ein_summary *out, ein_err *err);
void ein_summary_free(ein_summary *s);

/* Aligned table: keys, n, mean ± sd, median, IQR, top-k median ± sd,
 * diverged, missing; then the metric and what was pooled over. */
void ein_summary_print(const ein_summary *s, FILE *out);

/* DIR/summary_by_<keys>.csv (summary_by_all.csv without keys), atomically;
 * the file name written goes to `path` (EIN_PATH_MAX bytes) if non-NULL.
 * ein_summary_write_csv_to writes the same table to `path`. */
ein_code ein_summary_write_csv(const ein_summary *s, const char *dir, char *path, ein_err *err);
ein_code ein_summary_write_csv_to(const ein_summary *s, const char *path, ein_err *err);

/* --compare: "KEY=A,B" or "A,B" (the first axis, then folder, experiment or
 * differing setting, whose values include both).  For every group of the
 * other --by keys, a two-sided Mann–Whitney U test of `metric` (as in
 * ein_summary_compute) with KEY = A against KEY = B, printed to out. */
ein_code ein_summary_compare(const ein_record_list *l, const char *by, const char *metric,
                             const char *spec, FILE *out, ein_err *err);

#endif
