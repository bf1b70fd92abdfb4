/* module.h — a checked program and its imports: the data the checker
 * (check.h) produces and the grid expander (grid.h) reads.  Split from the
 * checker so that grid expansion depends on the module, not on the checker
 * that runs it (check.c expands every grid to check values: check → grid →
 * module, no cycle).
 *
 * Ownership: a module owns the imported programs; the root program is the
 * module's when it was loaded by ein_check_file, else the caller's.  The
 * diagnostics sink is the caller's and must outlive the module.
 * ein_module_free releases all.
 */
#ifndef EIN_MODULE_H
#define EIN_MODULE_H

#include <stdbool.h>
#include "ein/ast.h"
#include "ein/config.h"
#include "ein/diag.h"
#include "ein/eval.h"

typedef struct ein_check_options {
    const char *stdlib_dir;   /* NULL: search as above */
    const char *ein_path;     /* NULL: $EIN_PATH */
    bool no_expand;           /* true: skip expanding grids (names and static rules only) */
} ein_check_options;

typedef struct ein_module {
    ein_diag *diag;                 /* borrowed */
    ein_program *root;
    bool owns_root;
    char root_path[EIN_PATH_MAX];   /* as given; "" for a buffer */
    int n_programs;                 /* imports, dependencies first, then... */
    ein_program **programs;         /* ...nothing else: the root is not in this array */
    ein_check_options options;
} ein_module;

void ein_module_free(ein_module *m);   /* NULL is fine */

/* The root program's experiments, in source order (count; *out points into the AST). */
int ein_module_experiments(const ein_module *m, const ein_stmt **out, int max);
/* The experiment called `name`, or NULL. */
const ein_stmt *ein_module_experiment(const ein_module *m, const char *name);

/* A scope with every top-level binding (lazy) and def of the module, imports
 * first, for evaluation (eval.h).  NULL when out of memory. */
ein_scope *ein_module_globals(const ein_module *m, ein_eval *ev);

#endif
