/* eval.h — evaluation of .ein expressions: scopes, builtins, value rules.
 *
 * An ein_eval holds what one evaluation run needs: the diagnostics sink, the
 * arena every value is made in, and the set of errors already reported (an
 * expression evaluated once per grid cell reports a given error once).
 * Scopes chain to a parent; the outermost user scope (the globals) falls
 * back on the builtins (functions such as ei, idx, floor, linspace) and the
 * builtin symbols (layernorm, relu, sgd, wix, auto, inherit, none, ...).
 *
 * A scope slot is either a value or a lazy expression evaluated, in the
 * slot's own scope, the first time it is read (and then cached); reading a
 * slot that is being evaluated is a cycle error.  Function values made for
 * `def`s point at their ein_stmt; calling one binds arguments by position or
 * name, fills defaults, and evaluates the body in a fresh scope whose parent
 * is the scope the def was added to.
 *
 * Ownership: scopes and values live in the arena (ein_eval.arena); the
 * ein_eval does not own the arena or the sink.  Errors go to the sink with
 * the location of the offending expression; functions return NULL then.
 */
#ifndef EIN_EVAL_H
#define EIN_EVAL_H

#include <stdbool.h>
#include <stdint.h>
#include "ein/ast.h"
#include "ein/diag.h"
#include "ein/names.h"
#include "ein/value.h"

typedef struct ein_scope ein_scope;

/* At most this many def calls under one outermost call (the evaluation budget). */
#define EIN_EVAL_MAX_CALLS 1000000

typedef struct ein_eval {
    ein_diag *diag;
    ein_varena *arena;
    int call_depth;            /* def calls in progress (recursion limit) */
    long calls;                /* def calls since the outermost one began (budget) */
    uint64_t *seen;            /* hashes of reported errors (malloc'd) */
    int n_seen, cap_seen;
    int n_errors;              /* errors reported by this run (deduplicated ones too) */
} ein_eval;

void ein_eval_init(ein_eval *ev, ein_diag *diag, ein_varena *arena);
void ein_eval_fini(ein_eval *ev);   /* frees the error set, not the arena */

/* Report an error at loc unless the same message at the same place was
 * already reported by this run.  Always counts it in ev->n_errors. */
void ein_eval_error(ein_eval *ev, ein_loc loc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

ein_scope *ein_scope_new(ein_eval *ev, ein_scope *parent);
/* Add a slot; false when out of memory. Names are not copied (AST strings). */
bool ein_scope_add_value(ein_eval *ev, ein_scope *s, const char *name, ein_loc loc,
                         const ein_value *v);
bool ein_scope_add_lazy(ein_eval *ev, ein_scope *s, const char *name, ein_loc loc,
                        const ein_expr *e);
bool ein_scope_add_def(ein_eval *ev, ein_scope *s, const ein_stmt *def);
/* Replace the expression of a lazy slot (command-line override); false if absent. */
bool ein_scope_override(ein_scope *s, const char *name, const ein_expr *e);
/* True when `name` is a slot of s itself (not of a parent). */
bool ein_scope_has(const ein_scope *s, const char *name);

/* Look a name up through the chain, then builtins and symbols; evaluates a
 * lazy slot.  Reports "unknown name" (with did-you-mean) at loc when absent. */
const ein_value *ein_scope_get(ein_eval *ev, ein_scope *s, const char *name, ein_loc loc);

const ein_value *ein_eval_expr(ein_eval *ev, ein_scope *s, const ein_expr *e);

/* Builtin functions and symbols, for the checker's name resolution. */
bool ein_is_builtin_function(const char *name);
bool ein_is_builtin_symbol(const char *name);
/* Every builtin name, functions then symbols, into out[0..max); returns the count. */
size_t ein_builtin_names(const char **out, size_t max);

/* Value rules shared with lowering.  Each reports at v->loc and returns false
 * on violation.  `what` names the setting in the message ("ne", "lr.wix"). */
bool ein_want_int(ein_eval *ev, const ein_value *v, const char *what, long long min, long long *out);
bool ein_want_num(ein_eval *ev, const ein_value *v, const char *what, double *out);
bool ein_want_bool(ein_eval *ev, const ein_value *v, const char *what, bool *out);
bool ein_want_string(ein_eval *ev, const ein_value *v, const char *what, const char **out);
/* A symbol or string whose spelling is one of names[0..n); returns its index or -1. */
int ein_want_choice(ein_eval *ev, const ein_value *v, const char *what,
                    const char *const *names, int n);
/* A symbol or string spelled as one of t's names (or as `extra` when not
 * NULL, e.g. "inherit").  Returns the entry's value, EIN_NAME_EXTRA for
 * `extra`, or -1 after reporting "unknown T->what 'x' (valid: ...)". */
#define EIN_NAME_EXTRA (-2)
int ein_want_name(ein_eval *ev, const ein_value *v, const ein_names *t, const char *extra);
/* A group name or set (wex ... bei, all, excitatory, inhibitory) or a list of them → mask. */
bool ein_want_groups(ein_eval *ev, const ein_value *v, const char *what, unsigned *mask);
/* Mask of a group name or set, or 0 when unknown. */
unsigned ein_group_mask(const char *name);

#endif
