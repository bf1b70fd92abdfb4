/* ast.h — the syntax tree of a .ein program, its canonical printer, a debug
 * dump and structural comparison.
 *
 * Ownership: an ein_program owns every node, array and string reachable from
 * it (one arena); ein_program_free() releases all of it in one call.  Nothing
 * inside may be freed on its own.  Nodes are plain structs: read them
 * directly.  Arrays are (pointer, count) pairs; a count of 0 may come with a
 * NULL pointer.
 *
 * Every node carries an ein_loc (diag.h) whose `file` is the source index in
 * the ein_diag the program was parsed with.
 *
 * Guarantees of a successfully parsed program (parse.h):
 *   - no expression is nested deeper than EIN_AST_MAX_DEPTH, so recursive
 *     walkers need no depth checks of their own;
 *   - every table row has exactly as many values as the table has columns;
 *   - statements of kind DATA..REPORT occur only inside an experiment, and
 *     IMPORT/DEF/EXPERIMENT only at top level; BIND occurs in both places.
 * The parser does not check names, types or duplicates: that is check.c.
 */
#ifndef EIN_AST_H
#define EIN_AST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include "ein/diag.h"

#define EIN_AST_MAX_DEPTH 200   /* expression / bracket nesting limit */

typedef struct ein_expr ein_expr;
typedef struct ein_stmt ein_stmt;

/* A name with its location: binding names, parameters, metrics, groups. */
typedef struct ein_ident {
    const char *name;
    ein_loc loc;
} ein_ident;

/* ---- expressions ------------------------------------------------------- */

typedef enum ein_expr_kind {
    EIN_EXPR_INT,      /* 500                integer: value, text (as spelled) */
    EIN_EXPR_REAL,     /* 0.5  .5  1e-3      real: value, text (as spelled)    */
    EIN_EXPR_STRING,   /* "a\n"              string: text (escapes decoded), len */
    EIN_EXPR_BOOL,     /* true false         boolean                            */
    EIN_EXPR_NAME,     /* width              name                               */
    EIN_EXPR_FIELD,    /* variant.fwd        field: base, name, name_loc        */
    EIN_EXPR_CALL,     /* f(a, k = v)        call: fn, args                     */
    EIN_EXPR_LIST,     /* [a, b]             list: items                        */
    EIN_EXPR_RECORD,   /* {k = v, m: w}      record: fields                     */
    EIN_EXPR_RANGE,    /* 1..5 (inclusive)   range: lo, hi                      */
    EIN_EXPR_UNARY,    /* -a  not a          unary: op, arg                     */
    EIN_EXPR_BINARY,   /* a + b  a and b     binary: op, lhs, rhs               */
    EIN_EXPR_IF        /* if c then a else b cond: test, then_, else_           */
} ein_expr_kind;

typedef enum ein_unop { EIN_OP_NEG = 0, EIN_OP_NOT } ein_unop;

typedef enum ein_binop {
    EIN_OP_ADD = 0, EIN_OP_SUB, EIN_OP_MUL, EIN_OP_DIV, EIN_OP_MOD, EIN_OP_POW,
    EIN_OP_EQ, EIN_OP_NE, EIN_OP_LT, EIN_OP_LE, EIN_OP_GT, EIN_OP_GE,
    EIN_OP_AND, EIN_OP_OR
} ein_binop;

/* A call argument; name == NULL for a positional one. */
typedef struct ein_arg {
    const char *name;
    ein_loc name_loc;
    ein_expr *value;
} ein_arg;

/* A record field `name = value` or `name: value` (colon remembers the
 * spelling so fmt keeps it; both mean the same). */
typedef struct ein_field {
    const char *name;
    ein_loc name_loc;
    ein_expr *value;
    bool colon;
} ein_field;

struct ein_expr {
    ein_expr_kind kind;
    ein_loc loc;               /* the whole expression */
    int depth;                 /* nesting depth, 1 for a leaf (set by the parser; 0 = unknown) */
    union {
        struct { long long value; const char *text; } integer;   /* 0 ≤ value ≤ INT64_MAX */
        struct { double value; const char *text; } real;         /* finite */
        struct { const char *text; size_t len; } string;         /* NUL-terminated too */
        bool boolean;
        const char *name;
        struct { ein_expr *base; const char *name; ein_loc name_loc; } field;
        struct { ein_expr *fn; ein_arg *args; int n_args; } call;
        struct { ein_expr **items; int n_items; } list;
        struct { ein_field *fields; int n_fields; } record;
        struct { ein_expr *lo, *hi; } range;
        struct { ein_unop op; ein_expr *arg; } unary;
        struct { ein_binop op; ein_expr *lhs, *rhs; } binary;
        struct { ein_expr *test, *then_, *else_; } cond;
    };
};

/* ---- experiment pieces ------------------------------------------------- */

typedef enum ein_layer_role { EIN_ROLE_INPUT = 0, EIN_ROLE_HIDDEN, EIN_ROLE_OUTPUT } ein_layer_role;

/* One line of `network { ... }`: `input 784`, `hidden ei(ne = 500) x 2`. */
typedef struct ein_layer_decl {
    ein_layer_role role;
    ein_loc loc;               /* from the role keyword to the end */
    ein_expr *value;
    ein_expr *repeat;          /* `x N`; NULL = once (hidden only) */
} ein_layer_decl;

/* One line of `train { ... }`: `lr.wix = 0.1` has path {"lr", "wix"}. */
typedef struct ein_setting {
    ein_ident *path;
    int n_path;                /* ≥ 1 */
    ein_expr *value;
    ein_loc loc;
} ein_setting;

typedef enum ein_axis_kind {
    EIN_AXIS_IN = 0,   /* eps in [0, 0.5]                  name, value            */
    EIN_AXIS_DERIVED,  /* lr_i = lr / 10                    name, value            */
    EIN_AXIS_ZIP,      /* zip { a in [..]  b in [..] }      zip (EIN_AXIS_IN only) */
    EIN_AXIS_SAMPLE,   /* cfg in sample 30 seed 1 { lr ~ loguniform(1e-4, 1e-1) }
                                                            name, count, seed, draws */
    EIN_AXIS_TABLE,    /* cfg in table(lr, ne) { 0.1, 500  0.01, 250 }
                                                            name, columns, rows    */
    EIN_AXIS_WHERE     /* where not (eps > 0.5)             value (the condition)  */
} ein_axis_kind;

/* `lr ~ loguniform(1e-4, 1e-1)` inside a sample axis. */
typedef struct ein_draw {
    ein_ident name;
    ein_expr *dist;
    ein_loc loc;
} ein_draw;

typedef struct ein_table_row {
    ein_expr **values;         /* n_values == the axis's n_columns */
    int n_values;
    ein_loc loc;
} ein_table_row;

typedef struct ein_axis {
    ein_axis_kind kind;
    ein_loc loc;
    ein_ident name;                      /* IN DERIVED SAMPLE TABLE */
    ein_expr *value;                     /* IN DERIVED WHERE */
    struct ein_axis *zip; int n_zip;     /* ZIP */
    ein_expr *count, *seed;              /* SAMPLE: integer literals */
    ein_draw *draws; int n_draws;        /* SAMPLE */
    ein_ident *columns; int n_columns;   /* TABLE */
    ein_table_row *rows; int n_rows;     /* TABLE */
} ein_axis;

/* ---- statements -------------------------------------------------------- */

typedef enum ein_stmt_kind {
    /* top level */
    EIN_STMT_IMPORT = 0,  /* import "ei"                          import            */
    EIN_STMT_BIND,        /* width = 500 (also experiment-local)  bind              */
    EIN_STMT_DEF,         /* def f(a, b = 1) = expr               def               */
    EIN_STMT_EXPERIMENT,  /* experiment name { ... }              experiment        */
    /* inside an experiment */
    EIN_STMT_DATA,        /* data = expr                          data              */
    EIN_STMT_NETWORK,     /* network { input .. hidden .. x N output .. }  network  */
    EIN_STMT_NORM,        /* norm forward = expr                  norm              */
    EIN_STMT_LOSS,        /* loss task = expr weight w updates wix, bix     loss    */
    EIN_STMT_TRAIN,       /* train { lr.wix = 0.1 }               train             */
    EIN_STMT_GRID,        /* grid { axis... }                     grid              */
    EIN_STMT_REPORT,      /* report "dir" { test_acc, moments }   report            */
    EIN_STMT_FIGURE       /* figure fig5a { kind = scatter }      figure            */
} ein_stmt_kind;

typedef enum ein_norm_dir { EIN_NORM_FORWARD = 0, EIN_NORM_BACKWARD } ein_norm_dir;

typedef struct ein_param {
    ein_ident name;
    ein_expr *default_value;   /* NULL = required */
} ein_param;

struct ein_stmt {
    ein_stmt_kind kind;
    ein_loc loc;               /* the whole statement, closing '}' included */
    union {
        struct { const char *path; ein_loc path_loc; } import;
        struct { ein_ident name; ein_expr *value; } bind;
        struct { ein_ident name; ein_param *params; int n_params; ein_expr *body;
                 ein_loc eq_loc; } def;                 /* eq_loc: its '=' (fmt keeps the body beside it or not) */
        struct { ein_ident name; ein_stmt **stmts; int n_stmts; } experiment;
        struct { ein_expr *value; } data;
        struct { ein_layer_decl *layers; int n_layers; } network;
        struct { ein_norm_dir dir; ein_expr *value; } norm;
        struct { ein_ident name; ein_expr *value;
                 ein_expr *weight;                       /* NULL = default */
                 ein_ident *updates; int n_updates;      /* 0 = default routing */
               } loss;
        struct { ein_setting *settings; int n_settings; } train;
        struct { ein_axis *axes; int n_axes; } grid;
        struct { const char *path;                       /* NULL = default dir */
                 ein_loc path_loc;
                 ein_ident *metrics; int n_metrics;      /* ≥ 1 */
               } report;
        struct { ein_ident name; ein_setting *settings; int n_settings; } figure;   /* figure.h */
    };
};

/* A comment as written (a "#" line without its newline, or a block comment), kept
 * so the formatter can put it back. */
typedef struct ein_comment {
    const char *text;
    ein_loc loc;
} ein_comment;

typedef struct ein_program {
    int file;                  /* source index in the ein_diag */
    const char *name;          /* display name (the path as given) */
    ein_stmt **stmts;          /* top level, in source order */
    int n_stmts;
    ein_comment *comments;     /* in source order */
    int n_comments;
    ein_expr *expr;            /* EIN_PARSE_EXPR mode (parse.h): the expression; else NULL */
    struct ein_arena *arena;   /* private: owns everything above */
} ein_program;

void ein_program_free(ein_program *p);   /* NULL is fine */

/* ---- printing ---------------------------------------------------------- */

/* Canonical layout (`einrun fmt`): two-space indentation, one statement per
 * line, spaces around binary operators and `=`, minimal parentheses,
 * comments kept, at most one blank line kept between statements.  Printing
 * the output's parse again yields the same text (idempotent) and an AST
 * equal to p's (ein_program_equal). */
void ein_program_print(const ein_program *p, FILE *out);

/* One expression in canonical form, on one line (records and lists inline).
 * Used for messages and for cell binding texts. */
void ein_expr_print(const ein_expr *e, FILE *out);
/* The same into a malloc'd string (caller frees); NULL when out of memory. */
char *ein_expr_to_string(const ein_expr *e);

/* Debug dump, one node per line, indented by depth, with locations:
 *   stmt bind @1:1-1:12 width
 *     int @1:9-1:12 500
 * Stable format for golden tests (`einrun fmt --dump-ast`). */
void ein_program_dump(const ein_program *p, FILE *out);

/* Structural equality ignoring locations, comments and spelling of numbers
 * (values compare; 0.50 equals 0.5). */
bool ein_program_equal(const ein_program *a, const ein_program *b);
bool ein_expr_equal(const ein_expr *a, const ein_expr *b);

const char *ein_binop_text(ein_binop op);     /* "+", "==", "and" */
const char *ein_unop_text(ein_unop op);       /* "-", "not" */
const char *ein_expr_kind_name(ein_expr_kind k);   /* "int", "call", ... */
const char *ein_stmt_kind_name(ein_stmt_kind k);   /* "import", "loss", ... */

/* ---- construction (the parser's; tests may use it) -------------------- */

/* An empty program whose arena is ready; NULL when out of memory. */
ein_program *ein_program_new(int file, const char *name);
/* Zeroed memory owned by p's arena; NULL when out of memory. */
void *ein_program_alloc(ein_program *p, size_t size);

/* A train setting's dotted path ("lr.wix") into buf (truncated); returns buf. */
char *ein_setting_path_text(const ein_setting *st, char *buf, size_t n);
/* A NUL-terminated copy of s[0..len) owned by p's arena. */
char *ein_program_strndup(ein_program *p, const char *s, size_t len);
/* A node of the given kind with loc set and the rest zeroed. */
ein_expr *ein_expr_new(ein_program *p, ein_expr_kind kind, ein_loc loc);
ein_stmt *ein_stmt_new(ein_program *p, ein_stmt_kind kind, ein_loc loc);

#endif
