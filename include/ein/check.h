/* check.h — the checker: imports, scopes and names, the experiment rules,
 * and (by expanding every experiment's grid) the per-cell value rules.
 *
 * A module is a root program plus every program it imports, transitively,
 * loaded once each.  All top-level bindings and defs of all of them form one
 * global namespace (a name defined twice is an error showing both places).
 *
 * `import "name"` looks for name.ein (or name itself when it ends in .ein) in
 *   1. the folder of the importing file,
 *   2. each folder of $EIN_PATH (colon-separated; options.ein_path overrides),
 *   3. the stdlib folder: options.stdlib_dir, else <dir of einrun>/stdlib,
 *      <dir of einrun>/../../stdlib (a build tree), <dir>/../share/ein/stdlib,
 *      and ./stdlib.
 * An import cycle is an error naming the whole cycle.
 *
 * Everything is reported through the diag sink (file:line:col, carets,
 * did-you-mean notes).  Warnings: definitions never used, in files that hold
 * an experiment (a library file's definitions are its exports).
 *
 * Ownership: a module owns the imported programs; the root program is the
 * module's when it was loaded by ein_check_file, else the caller's.  The sink
 * is the caller's and must outlive the module.  ein_module_free releases all.
 */
#ifndef EIN_CHECK_H
#define EIN_CHECK_H

#include <stdbool.h>
#include "ein/ast.h"
#include "ein/config.h"
#include "ein/diag.h"
#include "ein/err.h"
#include "ein/eval.h"
#include "ein/module.h"

/* Parse and check a file.  Returns the module when it has no errors; NULL
 * when it has (all reported in diag) or when the file cannot be read (err
 * set, EIN_ERR_IO, nothing in diag). */
ein_module *ein_check_file(ein_diag *diag, const char *path, const ein_check_options *opt,
                           ein_err *err);

/* Check an already parsed program (borrowed; it must outlive the module).
 * `path` locates relative imports ("" or NULL: the current folder). */
ein_module *ein_check_program(ein_diag *diag, ein_program *root, const char *path,
                              const ein_check_options *opt);

/* The stdlib folder the checker would use (options, then the search above);
 * writes it to buf and returns buf, or NULL when none exists. */
char *ein_stdlib_dir(const ein_check_options *opt, char *buf, size_t n);

#endif
