/* figure.h — declared figures (`figure NAME { ... }` in a .ein file, or
 * KEY=VALUE words on the `einrun plot` command line) and their drawing with
 * gnuplot (docs/running.md, "Figures").
 *
 * A figure says what to draw, never how: a kind, the metric, the axis whose
 * values are the conditions, which conditions, the facet axis (one panel per
 * value), the top-K selection, the size and the formats.  Drawing reads the
 * results folders (results.h), writes NAME.dat (the numbers, gnuplot's
 * whitespace-separated blocks) and NAME.gp (the script that draws them) into
 * the output folder, then runs `gnuplot NAME.gp` there, so a user can restyle
 * and redraw any figure without ein.
 *
 * Kinds (the paper's, shared/design/results.md):
 *   scatter  one condition's metric against another's per paired cell (every
 *            other binding equal), with the diagonal, one panel per facet value
 *   box      box plot per condition of the metric over the (top-K) cells
 *   curve    test accuracy (or metric) per epoch: median line and IQR band
 *   sweep    the metric against the facet axis (ε): median with IQR bars
 *
 * Ownership: plain data, no pointers; nothing to free.
 */
#ifndef EIN_FIGURE_H
#define EIN_FIGURE_H

#include <stdbool.h>
#include "ein/cell.h"
#include "ein/config.h"
#include "ein/err.h"

typedef enum ein_figure_kind {
    EIN_FIG_SCATTER = 0,
    EIN_FIG_BOX,
    EIN_FIG_CURVE,
    EIN_FIG_SWEEP,
    EIN_FIG_KIND_COUNT
} ein_figure_kind;

enum { EIN_FIG_PNG = 1u, EIN_FIG_SVG = 2u, EIN_FIG_PDF = 4u };

#define EIN_FIG_MAX_LIST 16
#define EIN_FIG_MAX_RESULTS 8

typedef struct ein_figure {
    char name[EIN_NAME_MAX];
    ein_figure_kind kind;
    char metric[EIN_NAME_MAX];       /* "test_acc" (final epoch); see ein_figure_metric_names */
    char by[EIN_NAME_MAX];           /* the condition axis, "variant" */
    int n_conditions;                /* 0 = every value found (scatter needs exactly 2: x, y) */
    char conditions[EIN_FIG_MAX_LIST][EIN_VALUE_TEXT_MAX];
    int n_labels;                    /* display names, parallel to conditions */
    char labels[EIN_FIG_MAX_LIST][EIN_NAME_MAX];
    char facet[EIN_NAME_MAX];        /* one panel per value; "" = one panel; "layer" = hidden layer */
    int n_facets;                    /* 0 = every value found */
    char facets[EIN_FIG_MAX_LIST][EIN_VALUE_TEXT_MAX];
    int layer;                       /* per-layer metrics when not faceted by layer (0-based) */
    int top;                         /* 0 = all cells of a group; K = its K best by final test acc */
    int width, height;               /* pixels (SVG and PDF at the same aspect) */
    unsigned formats;                /* EIN_FIG_PNG | EIN_FIG_SVG | EIN_FIG_PDF */
    char title[EIN_VALUE_TEXT_MAX];
    int n_results;                   /* 0 = the folders given to `einrun plot` */
    char results[EIN_FIG_MAX_RESULTS][EIN_PATH_MAX];
} ein_figure;

/* The defaults: box of test_acc by variant, no facet, all cells, 800 x 600, PNG + SVG. */
void ein_figure_defaults(ein_figure *f, const char *name);

/* Set one setting from its value words (a list has n > 1 words, or one word
 * with commas from the command line).  On a bad key or value returns false
 * with a one-line reason in msg (cap bytes), e.g. "unknown figure setting
 * 'kidn' (valid: kind, metric, ...)". */
bool ein_figure_set(ein_figure *f, const char *key, const char *const *words, int n,
                    char *msg, size_t cap);

/* After all settings: a setting that needs another (scatter needs two
 * conditions) — false with the reason in msg. */
bool ein_figure_validate(const ein_figure *f, char *msg, size_t cap);

const char *ein_figure_kind_name(ein_figure_kind k);
/* The metric names a figure accepts, NULL-terminated. */
extern const char *const ein_figure_metric_names[];
extern const char *const ein_figure_setting_names[];
bool ein_figure_metric_per_layer(const char *metric);

/* Draw `f` from the results folders `dirs` (unless f names its own) into
 * `out_dir` (created).  Writes out_dir/NAME.dat, NAME.gp and runs gnuplot
 * there; the files written are listed on `log` (may be NULL).  Errors: a
 * folder without the needed conditions or facets names what is missing and
 * what was found (EIN_ERR_DATA); no gnuplot on PATH (EIN_ERR_IO, the data
 * and script are kept). */
ein_code ein_figure_draw(const ein_figure *f, const char *const *dirs, int n_dirs,
                         const char *out_dir, FILE *log, ein_err *err);

/* --- from a .ein program ------------------------------------------------ */

struct ein_stmt;
struct ein_diag;

/* Read a `figure NAME { key = value ... }` statement: every value is a name,
 * string, number or a list of them.  A bad setting is an error at its
 * location in diag; returns false when there was one.  The checker calls this
 * for every figure; `einrun plot FILE.ein` uses the result. */
bool ein_figure_from_stmt(const struct ein_stmt *s, ein_figure *f, struct ein_diag *diag);

#endif
