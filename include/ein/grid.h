/* grid.h — grid expansion: an experiment's axes → a list of bound cells.
 *
 * Axes, in source order (the first one varies slowest):
 *   x in EXPR        one dimension: a list, an inclusive range 1..5,
 *                    linspace/logspace, a record of records (named variants:
 *                    each value gets `name` = its key and compares equal to
 *                    that string), or any other single value (one cell);
 *   zip { a in .. b in .. }   one dimension whose members move together
 *                    (lengths must match);
 *   cfg in sample N seed S { x ~ loguniform(a, b) | uniform(a, b) | randint(a, b) }
 *                    N records drawn once with splitmix64 seeded by S, so every
 *                    other axis value sees the same draws (model.md M10);
 *                    randint includes both ends;
 *   cfg in table(c1, c2, ...) { rows }   one record per row;
 *   y = EXPR         derived value, re-evaluated per cell (not a dimension);
 *   where EXPR       keep only cells where EXPR is true.
 * Experiment-local bindings are re-evaluated per cell too.
 *
 * Each cell is lowered (lower.h); its id is ein_cell_id() of the experiment
 * name and the lowered config, so it depends on what the cell computes, not
 * on axis order, other cells, source locations or the results folder.  Two
 * cells with the same id are an error.  Bindings (cell.h) list, in axis
 * order, each axis value, each zip member, a sample/table axis as its row
 * index plus one "cfg.field" per field, and each derived value.
 *
 * Errors (and the checker's per-cell value rules) go to m->diag, located at
 * the offending expression and reported once however many cells hit them.
 */
#ifndef EIN_GRID_H
#define EIN_GRID_H

#include <stdbool.h>
#include <stdio.h>
#include "ein/ast.h"
#include "ein/cell.h"
#include "ein/module.h"

#define EIN_GRID_MAX_CELLS 100000

/* A command-line override `NAME=EXPR`: replaces the domain of the axis (or
 * zip member) NAME, else the value of a derived value, experiment-local or
 * top-level binding called NAME.  A NAME with a '.' or '[' is a setting path
 * (schema.h: `train.lr=0.05`, `hidden[0].fwd=layernorm`) set in every cell
 * after the program's own settings; with a list value (`train.lr=[0.01,
 * 0.05]`) it becomes a grid axis of that name, varying fastest.  Either way
 * it is applied before cell ids are computed.  Strings and the expression
 * are borrowed; name_loc (line 0: none) puts carets under the name. */
typedef struct ein_override {
    const char *name;
    const ein_expr *value;
    ein_loc name_loc;
} ein_override;

/* Parse "NAME=EXPR" (spaces around '=' allowed) shown as `source` in
 * messages ("<command line>").  On success *prog owns the expression and
 * the name (free it with ein_program_free after the expansion); false after
 * a located error in diag. */
bool ein_override_parse(ein_diag *diag, const char *source, const char *text, ein_override *ov,
                        ein_program **prog);

/* Expand `experiment` (NULL: the file's only experiment) into `out` (zeroed
 * by the caller or freshly freed).  Returns true on success; on failure
 * out is left empty and the errors are in m->diag.  Free with
 * ein_cell_list_free(). */
bool ein_grid_expand(const ein_module *m, const char *experiment, const ein_override *ov,
                     int n_ov, ein_cell_list *out);

/* The `--dry-run` listing:
 *     quickstart: 2 cells
 *     3f9c2a1b0d4e5f67  eps=0 variant=ln
 *     ...                                                                  */
void ein_grid_print(const ein_cell_list *list, FILE *out);

/* 16 hex digits: 64-bit FNV-1a of "experiment\n" + ein_config_write(cfg, 0),
 * finalized with the splitmix64 mixer. */
void ein_cell_id(const char *experiment, const ein_cell_config *cfg, char out[EIN_ID_LEN + 1]);

/* The random stream of sample axes (splitmix64), exposed for tests. */
uint64_t ein_splitmix64(uint64_t *state);

#endif
