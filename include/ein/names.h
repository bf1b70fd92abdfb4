/* names.h — one name table per enumeration of the language.
 *
 * Every place that spells, parses, lists or suggests one of these names reads
 * the table here: the builtin symbols of the evaluator, the "(valid: ...)"
 * lists and did-you-mean notes of the checker, the lowering, the canonical
 * configuration text, the results files, `einrun help`, the REPL's
 * completion.  Adding a norm kind means adding one line below (and its op).
 *
 * A table lists canonical spellings first for each value; an alias (the
 * `gradnorm` spelling of GradNorm `full`, M6) is an extra entry with the same
 * value and is never printed as a value's name.  Group tables hold masks
 * (bit g = ein_group g) so a group and a set of groups parse alike.
 *
 * The tables are constant data; nothing here allocates or owns anything.
 */
#ifndef EIN_NAMES_H
#define EIN_NAMES_H

#include <stdbool.h>
#include <stddef.h>

/* The distributions of a `sample` axis (grid.h, model.md M10). */
typedef enum ein_dist { EIN_DIST_LOGUNIFORM = 0, EIN_DIST_UNIFORM, EIN_DIST_RANDINT } ein_dist;

typedef struct ein_name {
    const char *name;    /* as the language spells it */
    int value;           /* the enum value (a mask for groups) */
    bool alias;          /* another spelling of an earlier entry's value */
    const char *doc;     /* one line for help and docs */
} ein_name;

typedef struct ein_names {
    const char *what;    /* in messages: "forward norm", "optimizer" */
    const char *type;    /* the type of such a symbol in messages: "norm kind" */
    const ein_name *v;
    int n;               /* entries, aliases included */
} ein_names;

extern const ein_names ein_fwd_norm_names;   /* ein_fwd_norm (config.h), M3, M4 */
extern const ein_names ein_bwd_norm_names;   /* ein_bwd_norm, M6 */
extern const ein_names ein_group_names;      /* masks: wex ... bei, all, excitatory, inhibitory (M8) */
extern const ein_names ein_optimizer_names;  /* ein_optimizer */
extern const ein_names ein_act_names;        /* ein_act */
extern const ein_names ein_init_names;       /* ein_init, M2 */
extern const ein_names ein_layer_kind_names; /* ein_layer_kind: ei, e_only */
extern const ein_names ein_loss_kind_names;  /* ein_loss_kind: task, inorm */
extern const ein_names ein_metric_names;     /* ein_metric, M9 */
extern const ein_names ein_cell_status_names;/* ein_cell_status (train.h) */
extern const ein_names ein_dist_names;       /* ein_dist: sample-axis distributions (grid.h) */
extern const ein_names ein_marker_names;     /* auto, inherit, none */

/* The canonical name of `value` ("?" when no entry has it). */
const char *ein_name_of(const ein_names *t, int value);
/* The value a spelling stands for (aliases included), or -1. */
int ein_name_parse(const ein_names *t, const char *s);
/* Every spelling, aliases included, in table order, for did-you-mean:
 * writes at most `max` pointers and returns the count. */
int ein_name_spellings(const ein_names *t, const char **out, int max);
/* "a, b, c": every spelling in table order, into buf (truncated); returns buf. */
char *ein_name_list(const ein_names *t, char *buf, size_t n);

/* The symbol tables of the language, in lookup order (markers first); the
 * evaluator's builtin symbols are exactly their spellings. */
const ein_names *const *ein_symbol_tables(int *n);
/* The table a builtin symbol belongs to first, or NULL: its `type` names the
 * symbol's category in messages. */
const ein_names *ein_symbol_table(const char *s);

#endif
