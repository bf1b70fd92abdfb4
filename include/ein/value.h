/* value.h — the values a .ein expression evaluates to, and their canonical text.
 *
 * Values are immutable and live in an ein_varena: every value, list, record
 * and string made while evaluating belongs to the arena it was made in, and
 * ein_varena_free() releases all of it at once.  Nothing is freed alone, so
 * values may share parts freely (a record field may point at a global).
 *
 * Kinds:  integer (500), number (0.5), string ("a"), boolean, list, record
 * ({ k = v }; `tag` marks the builtin-made ones: "layer", "data", "loss"),
 * symbol (a builtin constant spelled as a name: layernorm, relu, sgd, wix,
 * auto, inherit, none) and function (a builtin or a `def`).
 * A record made for a named-variant axis value has `named` set and a field
 * `name` holding its key (string); it compares equal to that string.
 */
#ifndef EIN_VALUE_H
#define EIN_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include "ein/diag.h"
#include "ein/numfmt.h"

typedef enum ein_vkind {
    EIN_V_INT = 0, EIN_V_NUM, EIN_V_STR, EIN_V_BOOL, EIN_V_LIST, EIN_V_RECORD, EIN_V_SYM, EIN_V_FUNC
} ein_vkind;

typedef struct ein_value ein_value;

typedef struct ein_vfield {
    const char *name;
    const ein_value *value;
    ein_loc loc;                /* where the field was written (EIN_NO_LOC if made) */
} ein_vfield;

struct ein_value {
    ein_vkind kind;
    ein_loc loc;                /* the expression that made it, for messages */
    union {
        long long i;            /* INT */
        double n;               /* NUM */
        const char *s;          /* STR, SYM (the symbol's spelling) */
        bool b;                 /* BOOL */
        struct { const ein_value **items; int n; } list;
        struct { const char *tag; bool named; ein_vfield *fields; int n; } rec;
        struct { const char *name; int builtin; const void *def; } fn;  /* builtin ≥ 0, else def */
    };
};

typedef struct ein_varena ein_varena;

ein_varena *ein_varena_new(void);            /* NULL when out of memory */
void ein_varena_free(ein_varena *a);         /* NULL is fine */
/* Zeroed memory in the arena; NULL when out of memory. */
void *ein_varena_alloc(ein_varena *a, size_t size);
char *ein_varena_strdup(ein_varena *a, const char *s);

/* Constructors (NULL when out of memory). */
ein_value *ein_value_int(ein_varena *a, long long i, ein_loc loc);
ein_value *ein_value_num(ein_varena *a, double n, ein_loc loc);
ein_value *ein_value_str(ein_varena *a, const char *s, ein_loc loc);
ein_value *ein_value_sym(ein_varena *a, const char *s, ein_loc loc);
ein_value *ein_value_bool(ein_varena *a, bool b, ein_loc loc);
/* A list/record with room for n items/fields, to be filled by the caller. */
ein_value *ein_value_list(ein_varena *a, int n, ein_loc loc);
ein_value *ein_value_record(ein_varena *a, const char *tag, int n, ein_loc loc);

/* The field `name` of a record, or NULL. */
const ein_value *ein_value_field(const ein_value *rec, const char *name);

/* True for INT and NUM; *out gets the value as a double. */
bool ein_value_number(const ein_value *v, double *out);

/* The type name used in messages: "integer", "number", "string", "boolean",
 * "list", "record", "layer", "data", "loss", "function", or a symbol's
 * category ("norm kind", "optimizer", "activation", "init", "group", "symbol"). */
const char *ein_value_type(const ein_value *v);

/* Structural equality; numbers compare by value (1 == 1.0), a symbol equals the
 * string with its spelling, a named record equals the string of its name. */
bool ein_value_equal(const ein_value *a, const ein_value *b);

/* Canonical text: 500, 0.25 (shortest round-trip), "ln" (quoted, escaped),
 * true, layernorm, [1, 2], { fwd = layernorm, bwd = none }; a named record
 * prints as its key alone (ln).  Functions print as <function NAME>. */
void ein_value_write(const ein_value *v, FILE *out);
/* The same into buf (truncated with "..." when longer than n-1); returns buf. */
char *ein_value_text(const ein_value *v, char *buf, size_t n);



#endif
