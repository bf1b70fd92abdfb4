/* schema.h — every setting of a cell, declared once.
 *
 * A setting has a path in the language (`train.lr.wix`, `data.eps`,
 * `hidden[0].fwd`, `output.ne`, `loss.inorm.weight`), a type and range, a
 * default, a one-line doc, and the context in which it applies
 * (`train.momentum_inhib`: optimizer sgd only; `hidden[i].learn`: I-Norm
 * layers only).  Every stage reads this one table:
 *   - the checker validates `train { PATH = ... }` paths against it;
 *   - the lowering stores every value through ein_setting_apply() and, once
 *     the cell is resolved, reports settings written where they do not
 *     apply (ein_setting_check_context);
 *   - the command line (`einrun f.ein train.lr=0.05 'hidden[0].fwd=layernorm'`)
 *     and the REPL's :set address settings by path (ein_setting_lookup);
 *   - ein_config_write() produces the canonical text (cell ids, configs/<id>.txt,
 *     the results' "config" object) from it;
 *   - `einrun help settings` prints it (ein_schema_print).
 *
 * Settings live in one of four scopes: the cell (data.*, network.*, train.*,
 * report.*), a layer (hidden[i].* — `hidden.*` means every hidden layer —
 * and output.*), or a loss (loss.NAME.*, NAME as declared by `loss NAME = ...`).
 *
 * The table is constant data; nothing here allocates.
 */
#ifndef EIN_SCHEMA_H
#define EIN_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "ein/config.h"
#include "ein/eval.h"
#include "ein/names.h"
#include "ein/value.h"

typedef enum ein_setting_scope {
    EIN_SCOPE_CELL = 0,    /* one per cell */
    EIN_SCOPE_LAYER,       /* one per hidden layer and one for the output layer */
    EIN_SCOPE_LOSS         /* one per loss */
} ein_setting_scope;

typedef enum ein_setting_type {
    EIN_TYPE_INT = 0,      /* an integer in [min, max] */
    EIN_TYPE_NUM,          /* a number in the range given by min, max and the OPEN flags */
    EIN_TYPE_BOOL,
    EIN_TYPE_STR,
    EIN_TYPE_NAME,         /* one of a name table (names) */
    EIN_TYPE_SET           /* a set of names of a table: a name or a list of names */
} ein_setting_type;

/* Flags of a setting. */
#define EIN_SF_MIN_OPEN  0x01u   /* value > min (else >= min) */
#define EIN_SF_MAX_OPEN  0x02u   /* value < max (else <= max) */
#define EIN_SF_AUTO      0x04u   /* `auto` is a value: the default that depends on other settings */
#define EIN_SF_NONE      0x08u   /* `none` is a value (unset / off) */
#define EIN_SF_LATE      0x10u   /* applied after the others of its scope (lr.bix beats lr.wix, M8) */
#define EIN_SF_ALIAS     0x20u   /* writes other settings; not in the canonical text */
#define EIN_SF_NEW       0x40u   /* in the canonical text only when not at its default, so
                                    adding it changed no existing cell id */
#define EIN_SF_NO_ID     0x80u   /* in configs/<id>.txt only, never in the id (results folder) */
#define EIN_SF_PATH      0x100u  /* a file or folder: relative to the .ein file it is written in
                                    (command-line values: to the current folder) */

/* Where a setting is stored: a field of the scope's struct (ein_cell_config,
 * ein_layer_config, ein_loss_config) of one C type. */
typedef enum ein_setting_ctype {
    EIN_C_INT = 0, EIN_C_LONG, EIN_C_U64, EIN_C_DOUBLE, EIN_C_BOOL,
    EIN_C_ENUM,            /* an int-sized enum or int: the name table's value */
    EIN_C_MASK,            /* unsigned bit set; names with mask values (groups) */
    EIN_C_BITS,            /* unsigned bit set; bit (1 << value) per name (metrics) */
    EIN_C_STR,             /* char[size] */
    EIN_C_LR,              /* double[EIN_GROUP_COUNT] indexed by group: every group in `groups` */
    EIN_C_FROZEN           /* bool[EIN_GROUP_COUNT] as a mask */
} ein_setting_ctype;

typedef struct ein_setting_def ein_setting_def;

/* Why a setting does not apply to this cell (layer `target` for a layer
 * setting, loss `target` for a loss setting), or NULL when it applies. */
typedef const char *(*ein_setting_context)(const ein_cell_config *cfg, int target);

struct ein_setting_def {
    const char *path;            /* after the scope prefix: "train.lr.wix", "fwd", "weight" */
    size_t path_len;             /* strlen(path) */
    ein_setting_scope scope;
    ein_setting_type type;
    const ein_names *names;      /* NAME and SET */
    double min, max;             /* INT and NUM */
    unsigned flags;
    const char *def;             /* the default as the language spells it */
    const char *def_output;      /* a layer setting's default in the output layer, when not def */
    const char *doc;             /* one line */
    const char *applies;         /* when it applies, for help: "optimizer = sgd"; NULL: always */
    ein_setting_context context; /* NULL: always applies */
    const char *instead;         /* the fix when it does not apply: "use train.adam.beta1" */
    const char *key;             /* its key in the canonical text, when not the path */
    ein_setting_ctype ctype;
    size_t offset, size;         /* the field in its scope's struct */
    unsigned groups;             /* EIN_C_LR: the groups it sets */
};

/* The schema, in canonical-text order. */
const ein_setting_def *ein_schema(size_t *n);

/* The setting `path` of a scope ("data.eps" in the cell, "ne" in a layer), or NULL. */
const ein_setting_def *ein_schema_find(ein_setting_scope scope, const char *path);

/* "wex, bias, ...": the paths of a scope that start with `prefix`, without
 * it (the groups a layer's lr.* can name); returns buf. */
char *ein_schema_subpaths(ein_setting_scope scope, const char *prefix, char *buf, size_t n);

/* A path resolved against a cell: which setting, and which layer or loss. */
#define EIN_TARGET_ALL_HIDDEN (-1)
#define EIN_TARGET_OUTPUT     (-2)
typedef struct ein_setting_ref {
    const ein_setting_def *def;
    int target;                  /* layer: hidden index, ALL_HIDDEN or OUTPUT; loss: -1 until
                                    bound to a cell (ein_setting_bind) */
    char loss[EIN_NAME_MAX];     /* the loss name of a loss setting */
} ein_setting_ref;

/* Parse a full path ("train.lr", "hidden[1].fwd", "hidden.fwd", "output.ne",
 * "loss.inorm.weight").  False when no setting has that path; then, if
 * `suggest` is not NULL, it gets the nearest path (or "") for a did-you-mean. */
bool ein_setting_lookup(const char *path, ein_setting_ref *ref, char *suggest, size_t n);

/* Every full path a user can write, for completion and suggestions (layer
 * settings as hidden[0].x, hidden.x and output.x; loss settings as
 * loss.task.x and loss.inorm.x).  Writes up to `max` and returns the count. */
size_t ein_schema_paths(char (*out)[96], size_t max);

/* Validate `v` for the setting (type, range) and store it into `cfg` (the
 * whole set of layers for ALL_HIDDEN).  `what` names it in messages ("lr.wix"
 * in a train block, the full path on the command line).  A loss or layer
 * that does not exist in the cell is an error.  Errors go through ev at
 * v->loc (or at `at` when the error is about the target); false then. */
bool ein_setting_apply(ein_eval *ev, const ein_setting_ref *ref, const char *what, const ein_value *v,
                       ein_loc at, ein_cell_config *cfg);

/* Only the type and range rules, reported at v->loc with `what` naming the
 * setting ("ne", "eps"): for builtins that check their arguments early. */
bool ein_setting_validate(ein_eval *ev, const ein_setting_def *d, const char *what, const ein_value *v);

/* After ein_config_resolve: when the setting does not apply to this cell,
 * report "'PATH' does not apply here: WHY; INSTEAD" at `at` and return false. */
bool ein_setting_check_context(ein_eval *ev, const ein_setting_ref *ref, ein_loc at,
                               const ein_cell_config *cfg);

/* The value of one setting instance in canonical text ("0.01", "layernorm",
 * "wix bix", "true"); `target` selects the layer or loss. */
void ein_setting_format(const ein_setting_def *d, const ein_cell_config *cfg, int target,
                        char *buf, size_t n);

/* `einrun help settings`: every setting with type, range, default, context
 * and doc; with `only` (a path or a prefix such as "train."), just those.
 * Returns the number printed. */
int ein_schema_print(FILE *out, const char *only);
/* The same as one markdown table (docs/language.md holds it verbatim between
 * <!-- settings --> markers; a test keeps the two equal). */
int ein_schema_print_markdown(FILE *out);

#endif
