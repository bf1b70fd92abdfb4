/* lower.h — one experiment under one set of grid bindings → ein_cell_config.
 *
 * Lowering starts from ein_config_defaults() (model.md defaults) and
 * overwrites only what the experiment says; then ein_config_resolve() fills
 * the "-1 = default" fields, so two spellings of the same configuration
 * (ni = auto vs ni = 50) lower to identical configs and identical cell ids.
 *
 *   data = idx(...)/fashion_mnist(...)  → cfg.data, and batch/shuffle → cfg.train
 *   network { input N  hidden L [x K]  output L }
 *                                       → n_hidden, hidden[], output (input must
 *                                         equal the data's pixels, output ne its classes)
 *   norm forward/backward = KIND        → every hidden layer whose fwd/bwd is `inherit`
 *                                         (the output layer never inherits: M7)
 *   loss NAME = cross_entropy(..)/inorm_loss() [weight W] [updates G, ...]
 *                                       → losses[] (declaring any replaces the defaults: the task
 *                                         loss, plus `inorm` (λ by variant) when a hidden layer
 *                                         is an I-Norm layer, M4/M5)
 *   train { path = value }              → cfg.train (lr sets wex+bias, lr.wix wix+bix,
 *                                         lr.wei wei+bei; a single-group lr.bix wins over lr.wix)
 *   report "dir" { metrics }            → results_dir, metrics (added to the default set)
 *
 * Every value rule is reported at the expression that broke it, through the
 * evaluator's sink (deduplicated across cells).
 */
#ifndef EIN_LOWER_H
#define EIN_LOWER_H

#include <stdbool.h>
#include "ein/ast.h"
#include "ein/config.h"
#include "ein/eval.h"
#include "ein/schema.h"

/* A setting given outside the program (`einrun f.ein train.lr=0.05`, the
 * REPL's :set): applied after the program's own settings, before the cell
 * is resolved, so the cell id covers it. */
typedef struct ein_setting_override {
    ein_setting_ref ref;         /* the resolved path (schema.h) */
    const char *path;            /* as written, for messages */
    ein_loc at;                  /* the path, for errors about the setting */
    const ein_expr *value;       /* evaluated in the cell's scope */
} ein_setting_override;

/* `scope` holds the experiment's locals, axes and derived values for this
 * cell (grid.c builds it).  Every byte of *cfg is written, padding included
 * (it starts from ein_config_defaults), so equal cells are equal bytes.  Then the overrides, the resolution of the
 * "-1 = default" fields, and the rules of the whole cell: a setting that
 * does not apply where it is written, an I-Norm layer with no I-Norm loss.
 * Returns false when any rule was broken. */
bool ein_lower_experiment(ein_eval *ev, ein_scope *scope, const ein_stmt *experiment,
                          const ein_setting_override *ov, int n_ov, ein_cell_config *cfg);

#endif
