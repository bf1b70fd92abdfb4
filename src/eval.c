/* eval.c — expression evaluation, scopes, builtins and their value rules
 * (include/ein/eval.h).  Builtin constructors (ei, e_only, idx, losses)
 * check their arguments here, so every violation is located at the argument
 * that caused it, per grid cell when it depends on an axis. */
#include "ein/eval.h"

#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "ein/config.h"
#include "ein/hash.h"
#include "ein/names.h"
#include "ein/schema.h"

#define MAX_CALL_DEPTH 64
#define MAX_RANGE 100000

typedef struct slot {
    const char *name;
    ein_loc loc;
    const ein_expr *expr;       /* lazy; NULL for a value slot */
    const ein_value *value;     /* bound or cached */
    int state;                  /* 0 pending, 1 evaluating, 2 done, 3 failed */
} slot;

struct ein_scope {
    ein_scope *parent;
    slot *slots;
    int n, cap;
    ein_name_index index;   /* name -> latest slot, once the scope is big (arena memory) */
};

/* Scopes up to this size are searched linearly (a def's parameters). */
#define SCOPE_LINEAR 16

/* ---- errors ------------------------------------------------------------ */

void ein_eval_init(ein_eval *ev, ein_diag *diag, ein_varena *arena)
{
    memset(ev, 0, sizeof *ev);
    ev->diag = diag;
    ev->arena = arena;
}

void ein_eval_fini(ein_eval *ev)
{
    free(ev->seen);
    ev->seen = NULL;
    ev->n_seen = ev->cap_seen = 0;
}

/* Returns true if this (loc, msg) is new, and remembers it. */
static bool first_time(ein_eval *ev, ein_loc loc, const char *msg)
{
    uint64_t h = ein_hash_bytes(EIN_HASH_INIT, &loc.file, sizeof loc.file);
    h = ein_hash_bytes(h, &loc.start, sizeof loc.start);
    h = ein_hash_bytes(h, msg, strlen(msg));
    for (int i = 0; i < ev->n_seen; i++)
        if (ev->seen[i] == h)
            return false;
    if (ev->n_seen == ev->cap_seen) {
        int cap = ev->cap_seen ? 2 * ev->cap_seen : 16;
        uint64_t *p = realloc(ev->seen, (size_t)cap * sizeof *p);
        if (!p)
            return true;
        ev->seen = p;
        ev->cap_seen = cap;
    }
    ev->seen[ev->n_seen++] = h;
    return true;
}

static bool verror(ein_eval *ev, ein_loc loc, const char *fmt, va_list ap)
{
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    ev->n_errors++;
    if (!first_time(ev, loc, msg))
        return false;
    ein_diag_error(ev->diag, loc, "%s", msg);
    return true;
}

void ein_eval_error(ein_eval *ev, ein_loc loc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    verror(ev, loc, fmt, ap);
    va_end(ap);
}

/* Like ein_eval_error; true when it was added (so notes may follow). */
static bool error_new(ein_eval *ev, ein_loc loc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static bool error_new(ein_eval *ev, ein_loc loc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    bool added = verror(ev, loc, fmt, ap);
    va_end(ap);
    return added;
}

static const ein_value *oom(ein_eval *ev, ein_loc loc)
{
    ein_eval_error(ev, loc, "out of memory");
    return NULL;
}

/* ---- builtins ---------------------------------------------------------- */

enum builtin {
    B_IDX = 0, B_EI, B_E_ONLY, B_CROSS_ENTROPY, B_INORM_LOSS,
    B_FLOOR, B_CEIL, B_ROUND, B_MIN, B_MAX, B_ABS, B_SQRT, B_LOG, B_EXP,
    B_LINSPACE, B_LOGSPACE, B_COUNT
};

#define MAX_PARAMS 16
typedef struct builtin_spec {
    const char *name;
    int n_required;
    const char *params[MAX_PARAMS];
} builtin_spec;

static const builtin_spec builtins[B_COUNT] = {
    [B_IDX] = { "idx", 0, { "dir", "train_images", "train_labels", "test_images", "test_labels",
                            "eps", "batch", "shuffle", "limit_train", "limit_test", "fixed_delta",
                            "shift_train", "shift_test", "pixels", "classes" } },
    [B_EI] = { "ei", 1, { "ne", "ni", "act", "init", "fwd", "bwd", "learn", "frozen", "lr" } },
    [B_E_ONLY] = { "e_only", 1, { "ne", "act", "init", "frozen", "lr" } },
    [B_CROSS_ENTROPY] = { "cross_entropy", 0, { "smoothing" } },
    [B_INORM_LOSS] = { "inorm_loss", 0, { NULL } },
    [B_FLOOR] = { "floor", 1, { "x" } },
    [B_CEIL] = { "ceil", 1, { "x" } },
    [B_ROUND] = { "round", 1, { "x" } },
    [B_MIN] = { "min", 2, { "a", "b" } },
    [B_MAX] = { "max", 2, { "a", "b" } },
    [B_ABS] = { "abs", 1, { "x" } },
    [B_SQRT] = { "sqrt", 1, { "x" } },
    [B_LOG] = { "log", 1, { "x" } },
    [B_EXP] = { "exp", 1, { "x" } },
    [B_LINSPACE] = { "linspace", 3, { "a", "b", "n" } },
    [B_LOGSPACE] = { "logspace", 3, { "a", "b", "n" } },
};

static int builtin_index(const char *name)
{
    for (int i = 0; i < B_COUNT; i++)
        if (strcmp(builtins[i].name, name) == 0)
            return i;
    return -1;
}

bool ein_is_builtin_function(const char *name) { return builtin_index(name) >= 0; }

/* Builtin constants: the spellings of the symbol tables (names.h): norm
 * kinds (M3, M4, M6), activations, inits (M2), optimizers and parameter
 * groups (M8), and the markers auto, inherit and none. */
bool ein_is_builtin_symbol(const char *name) { return ein_symbol_table(name) != NULL; }

size_t ein_builtin_names(const char **out, size_t max)
{
    size_t n = 0;
    for (int i = 0; i < B_COUNT && n < max; i++)
        out[n++] = builtins[i].name;
    int nt;
    const ein_names *const *t = ein_symbol_tables(&nt);
    for (int k = 0; k < nt; k++)
        n += (size_t)ein_name_spellings(t[k], out + n, (int)(max - n));
    return n;
}

unsigned ein_group_mask(const char *name)
{
    int m = ein_name_parse(&ein_group_names, name);
    return m < 0 ? 0 : (unsigned)m;
}

/* ---- value rules ------------------------------------------------------- */

static void type_error(ein_eval *ev, const ein_value *v, const char *what, const char *want)
{
    char text[64];
    ein_eval_error(ev, v->loc, "%s must be %s, got %s %s", what, want, ein_value_type(v),
                   ein_value_text(v, text, sizeof text));
}

bool ein_want_int(ein_eval *ev, const ein_value *v, const char *what, long long min, long long *out)
{
    long long i;
    if (v->kind == EIN_V_INT) {
        i = v->i;
    } else if (v->kind == EIN_V_NUM && v->n == floor(v->n) && fabs(v->n) < 9e15) {
        i = (long long)v->n;     /* 100.0 from linspace is an integer */
    } else {
        type_error(ev, v, what, "an integer");
        return false;
    }
    if (i < min) {
        ein_eval_error(ev, v->loc, "%s must be at least %lld, got %lld", what, min, i);
        return false;
    }
    if (i > INT_MAX) {
        ein_eval_error(ev, v->loc, "%s is too large (%lld)", what, i);
        return false;
    }
    *out = i;
    return true;
}

bool ein_want_num(ein_eval *ev, const ein_value *v, const char *what, double *out)
{
    if (!ein_value_number(v, out)) {
        type_error(ev, v, what, "a number");
        return false;
    }
    return true;
}

bool ein_want_bool(ein_eval *ev, const ein_value *v, const char *what, bool *out)
{
    if (v->kind != EIN_V_BOOL) {
        type_error(ev, v, what, "true or false");
        return false;
    }
    *out = v->b;
    return true;
}

bool ein_want_string(ein_eval *ev, const ein_value *v, const char *what, const char **out)
{
    if (v->kind != EIN_V_STR) {
        type_error(ev, v, what, "a string");
        return false;
    }
    *out = v->s;
    return true;
}

static void list_names(char *buf, size_t n, const char *const *names, int count)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < count && len < n; i++)
        len += (size_t)snprintf(buf + len, n - len, "%s%s", i ? ", " : "", names[i]);
}

int ein_want_choice(ein_eval *ev, const ein_value *v, const char *what,
                    const char *const *names, int n)
{
    if (v->kind == EIN_V_SYM || v->kind == EIN_V_STR)
        for (int i = 0; i < n; i++)
            if (strcmp(names[i], v->s) == 0)
                return i;
    /* only an error lists the valid names: every cell of a grid gets here */
    char valid[512], text[64];
    list_names(valid, sizeof valid, names, n);
    if (v->kind != EIN_V_SYM && v->kind != EIN_V_STR) {
        ein_eval_error(ev, v->loc, "%s must be one of %s; got %s %s", what, valid,
                       ein_value_type(v), ein_value_text(v, text, sizeof text));
        return -1;
    }
    if (v->kind == EIN_V_SYM && ein_is_builtin_symbol(v->s)) {
        ein_eval_error(ev, v->loc, "'%s' is not a valid %s (valid: %s)", v->s, what, valid);
        return -1;
    }
    if (error_new(ev, v->loc, "unknown %s '%s' (valid: %s)", what, v->s, valid))
        ein_diag_suggest(ev->diag, v->s, names, (size_t)n);
    return -1;
}

int ein_want_name(ein_eval *ev, const ein_value *v, const ein_names *t, const char *extra)
{
    const char *names[64];
    int n = 0;
    if (extra)
        names[n++] = extra;
    n += ein_name_spellings(t, names + n, 64 - n);
    int k = ein_want_choice(ev, v, t->what, names, n);
    if (k < 0)
        return -1;
    if (extra && k == 0)
        return EIN_NAME_EXTRA;
    return ein_name_parse(t, names[k]);
}

bool ein_want_groups(ein_eval *ev, const ein_value *v, const char *what, unsigned *mask)
{
    *mask = 0;
    if (v->kind == EIN_V_LIST) {
        for (int i = 0; i < v->list.n; i++) {
            unsigned m;
            if (!ein_want_groups(ev, v->list.items[i], what, &m))
                return false;
            *mask |= m;
        }
        return true;
    }
    int m = ein_want_name(ev, v, &ein_group_names, NULL);
    if (m < 0)
        return false;
    *mask = (unsigned)m;
    return true;
}

/* ---- scopes ------------------------------------------------------------ */

ein_scope *ein_scope_new(ein_eval *ev, ein_scope *parent)
{
    ein_scope *s = ein_varena_alloc(ev->arena, sizeof *s);
    if (s)
        s->parent = parent;
    return s;
}

static slot *add_slot(ein_eval *ev, ein_scope *s, const char *name, ein_loc loc)
{
    if (s->n == s->cap) {
        int cap = s->cap ? 2 * s->cap : 8;
        slot *p = ein_varena_alloc(ev->arena, (size_t)cap * sizeof *p);
        if (!p)
            return NULL;
        if (s->n)
            memcpy(p, s->slots, (size_t)s->n * sizeof *p);
        s->slots = p;
        s->cap = cap;
    }
    slot *sl = &s->slots[s->n++];
    memset(sl, 0, sizeof *sl);
    sl->name = name;
    sl->loc = loc;
    /* A big scope (the globals of a 100k-binding file) gets a hash index,
     * so a lookup does not scan every slot. */
    for (int i = s->n > SCOPE_LINEAR ? (s->index.n ? s->n - 1 : 0) : s->n; i < s->n; i++) {
        size_t need = ein_index_needed(&s->index);
        if (need) {
            ein_index_slot *fresh = ein_varena_alloc(ev->arena, need * sizeof *fresh);
            if (!fresh)
                return NULL;
            ein_index_grow_to(&s->index, fresh, need);   /* the old table stays in the arena */
        }
        ein_index_set(&s->index, s->slots[i].name, i);
    }
    return sl;
}

bool ein_scope_add_value(ein_eval *ev, ein_scope *s, const char *name, ein_loc loc,
                         const ein_value *v)
{
    slot *sl = add_slot(ev, s, name, loc);
    if (!sl)
        return false;
    sl->value = v;
    sl->state = 2;
    return true;
}

bool ein_scope_add_lazy(ein_eval *ev, ein_scope *s, const char *name, ein_loc loc,
                        const ein_expr *e)
{
    slot *sl = add_slot(ev, s, name, loc);
    if (!sl)
        return false;
    sl->expr = e;
    return true;
}

bool ein_scope_add_def(ein_eval *ev, ein_scope *s, const ein_stmt *def)
{
    ein_value *f = ein_varena_alloc(ev->arena, sizeof *f);
    if (!f)
        return false;
    f->kind = EIN_V_FUNC;
    f->loc = def->def.name.loc;
    f->fn.name = def->def.name.name;
    f->fn.builtin = -1;
    f->fn.def = def;
    /* the def's body evaluates in a child of s: remember s through the slot scope */
    return ein_scope_add_value(ev, s, def->def.name.name, def->def.name.loc, f);
}

static slot *find_own(const ein_scope *s, const char *name)
{
    if (s->index.n) {
        int i = ein_index_get(&s->index, name);
        return i >= 0 ? &s->slots[i] : NULL;
    }
    for (int i = s->n - 1; i >= 0; i--)
        if (strcmp(s->slots[i].name, name) == 0)
            return &s->slots[i];
    return NULL;
}

bool ein_scope_has(const ein_scope *s, const char *name) { return find_own(s, name) != NULL; }

bool ein_scope_override(ein_scope *s, const char *name, const ein_expr *e)
{
    slot *sl = find_own(s, name);
    if (!sl)
        return false;
    sl->expr = e;
    sl->value = NULL;
    sl->state = 0;
    return true;
}

static void collect_names(const ein_scope *s, const char **names, size_t *n, size_t cap)
{
    for (; s; s = s->parent)
        for (int i = 0; i < s->n && *n < cap; i++)
            names[(*n)++] = s->slots[i].name;
    *n += ein_builtin_names(names + *n, cap - *n);
}

static const ein_value *builtin_value(ein_eval *ev, const char *name, ein_loc loc)
{
    int b = builtin_index(name);
    if (b >= 0) {
        ein_value *f = ein_varena_alloc(ev->arena, sizeof *f);
        if (!f)
            return oom(ev, loc);
        f->kind = EIN_V_FUNC;
        f->loc = loc;
        f->fn.name = builtins[b].name;
        f->fn.builtin = b;
        return f;
    }
    if (ein_is_builtin_symbol(name))
        return ein_value_sym(ev->arena, name, loc);
    return NULL;
}

const ein_value *ein_scope_get(ein_eval *ev, ein_scope *s, const char *name, ein_loc loc)
{
    for (ein_scope *sc = s; sc; sc = sc->parent) {
        slot *sl = find_own(sc, name);
        if (!sl)
            continue;
        switch (sl->state) {
        case 2: return sl->value;
        case 3: return NULL;
        case 1:
            ein_eval_error(ev, loc, "'%s' is defined in terms of itself", name);
            return NULL;
        default:
            sl->state = 1;
            sl->value = ein_eval_expr(ev, sc, sl->expr);
            sl->state = sl->value ? 2 : 3;
            return sl->value;
        }
    }
    const ein_value *b = builtin_value(ev, name, loc);
    if (b)
        return b;
    if (error_new(ev, loc, "unknown name '%s'", name)) {
        const char *names[512];
        size_t n = 0;
        collect_names(s, names, &n, 512);
        ein_diag_suggest(ev->diag, name, names, n);
    }
    return NULL;
}

/* ---- arithmetic -------------------------------------------------------- */

static const ein_value *num_result(ein_eval *ev, double r, ein_loc loc)
{
    if (!isfinite(r)) {
        ein_eval_error(ev, loc, "result is not a finite number");
        return NULL;
    }
    return ein_value_num(ev->arena, r, loc);
}

static const ein_value *int_overflow(ein_eval *ev, const char *op, ein_loc loc)
{
    ein_eval_error(ev, loc, "integer overflow in %s (the result does not fit in 64 bits; "
                   "write a real such as 2.0 for real arithmetic)", op);
    return NULL;
}

/* b^e for e >= 0 by squaring: O(log e) steps, so `1 ^ 9223372036854775807`
 * is instant.  Squaring b overflows only when |b| >= 2 and a factor b^2 is
 * still to come, which then overflows the result too. */
static const ein_value *int_pow(ein_eval *ev, long long b, long long e, ein_loc loc)
{
    long long r = 1;
    while (e > 0) {
        if ((e & 1) && __builtin_mul_overflow(r, b, &r))
            return int_overflow(ev, "'^'", loc);
        e >>= 1;
        if (e > 0 && __builtin_mul_overflow(b, b, &b))
            return int_overflow(ev, "'^'", loc);
    }
    return ein_value_int(ev->arena, r, loc);
}

static const ein_value *arith(ein_eval *ev, ein_binop op, const ein_value *a, const ein_value *b,
                              ein_loc loc)
{
    if (op == EIN_OP_ADD && a->kind == EIN_V_STR && b->kind == EIN_V_STR) {
        size_t la = strlen(a->s), lb = strlen(b->s);
        char *s = ein_varena_alloc(ev->arena, la + lb + 1);
        if (!s)
            return oom(ev, loc);
        memcpy(s, a->s, la);
        memcpy(s + la, b->s, lb + 1);
        return ein_value_str(ev->arena, s, loc);
    }
    double x, y;
    if (!ein_value_number(a, &x) || !ein_value_number(b, &y)) {
        const ein_value *bad = ein_value_number(a, &x) ? b : a;
        ein_eval_error(ev, bad->loc, "operator '%s' needs numbers, got %s", ein_binop_text(op),
                       ein_value_type(bad));
        return NULL;
    }
    if (a->kind == EIN_V_INT && b->kind == EIN_V_INT) {
        long long r;
        switch (op) {
        case EIN_OP_ADD:
            if (__builtin_add_overflow(a->i, b->i, &r))
                return int_overflow(ev, "'+'", loc);
            return ein_value_int(ev->arena, r, loc);
        case EIN_OP_SUB:
            if (__builtin_sub_overflow(a->i, b->i, &r))
                return int_overflow(ev, "'-'", loc);
            return ein_value_int(ev->arena, r, loc);
        case EIN_OP_MUL:
            if (__builtin_mul_overflow(a->i, b->i, &r))
                return int_overflow(ev, "'*'", loc);
            return ein_value_int(ev->arena, r, loc);
        case EIN_OP_MOD:
            if (b->i == 0) {
                ein_eval_error(ev, b->loc, "division by zero");
                return NULL;
            }
            /* C defines a % b through the quotient a / b, and LLONG_MIN / -1
             * does not fit (the CPU traps: SIGFPE), so it is the same
             * located overflow as LLONG_MIN * -1 (issue 16, row 1) */
            if (a->i == LLONG_MIN && b->i == -1)
                return int_overflow(ev, "'%'", loc);
            return ein_value_int(ev->arena, a->i % b->i, loc);
        case EIN_OP_POW:
            if (b->i >= 0)
                return int_pow(ev, a->i, b->i, loc);
            break;
        default:
            break;
        }
    }
    switch (op) {
    case EIN_OP_ADD: return num_result(ev, x + y, loc);
    case EIN_OP_SUB: return num_result(ev, x - y, loc);
    case EIN_OP_MUL: return num_result(ev, x * y, loc);
    case EIN_OP_DIV:
    case EIN_OP_MOD:
        if (y == 0) {
            ein_eval_error(ev, b->loc, "division by zero");
            return NULL;
        }
        return num_result(ev, op == EIN_OP_DIV ? x / y : fmod(x, y), loc);
    default: return num_result(ev, pow(x, y), loc);
    }
}

static const ein_value *compare(ein_eval *ev, ein_binop op, const ein_value *a,
                                const ein_value *b, ein_loc loc)
{
    if (op == EIN_OP_EQ || op == EIN_OP_NE) {
        bool eq = ein_value_equal(a, b);
        return ein_value_bool(ev->arena, op == EIN_OP_EQ ? eq : !eq, loc);
    }
    int c;
    double x, y;
    if (ein_value_number(a, &x) && ein_value_number(b, &y)) {
        c = x < y ? -1 : x > y;
    } else if (a->kind == EIN_V_STR && b->kind == EIN_V_STR) {
        c = strcmp(a->s, b->s);
    } else {
        ein_eval_error(ev, loc, "cannot order %s and %s with '%s'", ein_value_type(a),
                       ein_value_type(b), ein_binop_text(op));
        return NULL;
    }
    bool r = op == EIN_OP_LT ? c < 0 : op == EIN_OP_LE ? c <= 0 : op == EIN_OP_GT ? c > 0 : c >= 0;
    return ein_value_bool(ev->arena, r, loc);
}

static const ein_value *want_cond(ein_eval *ev, ein_scope *s, const ein_expr *e, const char *what)
{
    const ein_value *v = ein_eval_expr(ev, s, e);
    if (v && v->kind != EIN_V_BOOL) {
        ein_eval_error(ev, v->loc, "%s must be true or false, got %s", what, ein_value_type(v));
        return NULL;
    }
    return v;
}

/* ---- calls ------------------------------------------------------------- */

typedef struct bound_args {
    const ein_value *v[MAX_PARAMS];
} bound_args;

/* Bind a call's arguments to parameter names (evaluated in the caller's scope). */
static bool bind_args(ein_eval *ev, ein_scope *s, const ein_expr *call, const char *fname,
                      const char *const *params, int n_params, int n_required, bound_args *out)
{
    memset(out, 0, sizeof *out);
    bool ok = true;
    int positional = 0;
    for (int i = 0; i < call->call.n_args; i++) {
        const ein_arg *arg = &call->call.args[i];
        int k;
        ein_loc at = arg->name ? arg->name_loc : arg->value->loc;
        if (arg->name) {
            for (k = 0; k < n_params; k++)
                if (strcmp(params[k], arg->name) == 0)
                    break;
            if (k == n_params) {
                if (error_new(ev, at, "'%s' has no parameter '%s'", fname, arg->name))
                    ein_diag_suggest(ev->diag, arg->name, params, (size_t)n_params);
                ok = false;
                continue;
            }
        } else {
            k = positional++;
            if (k >= n_params) {
                ein_eval_error(ev, at, "'%s' takes at most %d argument%s", fname, n_params,
                               n_params == 1 ? "" : "s");
                ok = false;
                continue;
            }
        }
        if (out->v[k]) {
            ein_eval_error(ev, at, "parameter '%s' of '%s' is given twice", params[k], fname);
            ok = false;
            continue;
        }
        out->v[k] = ein_eval_expr(ev, s, arg->value);
        if (!out->v[k])
            ok = false;
    }
    if (!ok)
        return false;
    for (int k = 0; k < n_required; k++)
        if (!out->v[k]) {
            ein_eval_error(ev, call->loc, "missing argument '%s' in call of '%s'", params[k], fname);
            return false;
        }
    return true;
}

static ein_value *record_of(ein_eval *ev, const char *tag, const char *const *names,
                            const ein_value *const *values, int n, ein_loc loc)
{
    ein_value *r = ein_value_record(ev->arena, tag, n, loc);
    if (!r)
        return NULL;
    for (int i = 0; i < n; i++) {
        r->rec.fields[i].name = names[i];
        r->rec.fields[i].value = values[i];
        r->rec.fields[i].loc = values[i]->loc;
    }
    return r;
}

/* The schema's rule for the layer setting `name` (schema.h). */
static bool layer_rule(ein_eval *ev, const char *name, const ein_value *v)
{
    return ein_setting_validate(ev, ein_schema_find(EIN_SCOPE_LAYER, name), name, v);
}

/* A layer's own learning rates: a number (wex and bias, like train.lr) or a
 * record of groups ({ wix = 0.3 }, like train.lr.wix); auto: the train block's. */
static bool layer_lr_rule(ein_eval *ev, const ein_value *v)
{
    if (v->kind != EIN_V_RECORD || v->rec.tag)
        return layer_rule(ev, "lr", v);
    bool ok = true;
    for (int i = 0; i < v->rec.n; i++) {
        char path[64];
        snprintf(path, sizeof path, "lr.%s", v->rec.fields[i].name);
        if (!ein_schema_find(EIN_SCOPE_LAYER, path)) {
            char valid[128];
            ein_eval_error(ev, v->rec.fields[i].loc, "lr has no group '%s' (valid: %s)", v->rec.fields[i].name,
                           ein_schema_subpaths(EIN_SCOPE_LAYER, "lr.", valid, sizeof valid));
            ok = false;
        } else {
            ok &= layer_rule(ev, path, v->rec.fields[i].value);
        }
    }
    return ok;
}

/* ei(...) / e_only(...) → a "layer" record with every field filled (M1, M2, M3). */
static const ein_value *make_layer(ein_eval *ev, int b, const bound_args *a, ein_loc loc)
{
    static const char *const names[] = { "kind", "ne", "ni", "act", "init", "fwd", "bwd", "learn", "frozen", "lr" };
    const ein_value *f[10];
    bool ok = true;
    f[0] = ein_value_sym(ev->arena, b == B_EI ? "ei" : "e_only", loc);
    f[1] = a->v[0];
    ok &= layer_rule(ev, "ne", a->v[0]);
    if (b == B_EI) {
        f[2] = a->v[1] ? a->v[1] : ein_value_sym(ev->arena, "auto", loc);
        ok &= layer_rule(ev, "ni", f[2]);
    } else {
        f[2] = ein_value_int(ev->arena, 0, loc);
    }
    int act_i = b == B_EI ? 2 : 1, init_i = act_i + 1;
    /* auto: relu in a hidden layer, none in the output layer (M7) */
    f[3] = a->v[act_i] ? a->v[act_i] : ein_value_sym(ev->arena, "auto", loc);
    if (a->v[act_i])
        ok &= layer_rule(ev, "act", f[3]);
    f[4] = a->v[init_i] ? a->v[init_i] : ein_value_sym(ev->arena, "lognormal", loc);
    ok &= layer_rule(ev, "init", f[4]);
    if (b == B_EI) {
        f[5] = a->v[4] ? a->v[4] : ein_value_sym(ev->arena, "inherit", loc);
        ok &= ein_want_name(ev, f[5], &ein_fwd_norm_names, "inherit") != -1;
        f[6] = a->v[5] ? a->v[5] : ein_value_sym(ev->arena, "inherit", loc);
        ok &= ein_want_name(ev, f[6], &ein_bwd_norm_names, "inherit") != -1;
        f[7] = a->v[6] ? a->v[6] : ein_value_sym(ev->arena, "auto", loc);
        ok &= layer_rule(ev, "learn", f[7]);
    } else {
        /* M3: an E-only layer is always followed by layernorm */
        f[5] = ein_value_sym(ev->arena, "layernorm", loc);
        f[6] = ein_value_sym(ev->arena, "inherit", loc);
        f[7] = ein_value_sym(ev->arena, "auto", loc);
    }
    /* per-layer freezing and learning rates (beyond the paper's per-group M8) */
    int frozen_i = b == B_EI ? 7 : 3, lr_i = frozen_i + 1;
    f[8] = a->v[frozen_i] ? a->v[frozen_i] : ein_value_sym(ev->arena, "none", loc);
    f[9] = a->v[lr_i] ? a->v[lr_i] : ein_value_sym(ev->arena, "auto", loc);
    if (f[8] && a->v[frozen_i])
        ok &= layer_rule(ev, "frozen", f[8]);
    if (f[9] && a->v[lr_i])
        ok &= layer_lr_rule(ev, f[9]);
    for (int k = 0; k < 10; k++)
        if (!f[k])
            return oom(ev, loc);
    if (!ok)
        return NULL;
    ein_value *r = record_of(ev, "layer", names, f, 10, loc);
    return r ? r : oom(ev, loc);
}

/* idx(...) → a "data" record (M7); fields not given keep their defaults. */
static const ein_value *make_data(ein_eval *ev, const bound_args *a, ein_loc loc)
{
    const builtin_spec *sp = &builtins[B_IDX];
    const ein_value *f[MAX_PARAMS];
    const char *names[MAX_PARAMS];
    int n = 0;
    bool ok = true;
    for (int k = 0; k < MAX_PARAMS && sp->params[k]; k++) {
        const ein_value *v = a->v[k];
        const char *p = sp->params[k];
        if (!v) {
            if (k <= 4)
                v = ein_value_str(ev->arena, "", loc);
            else if (!strcmp(p, "eps") || !strcmp(p, "limit_train") || !strcmp(p, "limit_test"))
                v = ein_value_int(ev->arena, 0, loc);
            else if (!strcmp(p, "shift_train") || !strcmp(p, "shift_test"))
                v = ein_value_bool(ev->arena, true, loc);
            else if (!strcmp(p, "pixels"))
                v = ein_value_int(ev->arena, 784, loc);
            else if (!strcmp(p, "classes"))
                v = ein_value_int(ev->arena, 10, loc);
            else   /* batch, shuffle, fixed_delta: none = not set here */
                v = ein_value_sym(ev->arena, "none", loc);
            if (!v)
                return oom(ev, loc);
        } else {
            /* the schema's rule for each setting (data.eps, data.limit_train, ...;
             * batch and shuffle are train.batch and train.shuffle) */
            char path[32];
            snprintf(path, sizeof path, "%s.%s", !strcmp(p, "batch") || !strcmp(p, "shuffle") ? "train" : "data", p);
            const ein_setting_def *d = ein_schema_find(EIN_SCOPE_CELL, path);
            bool is_none = v->kind == EIN_V_SYM && strcmp(v->s, "none") == 0;
            bool optional = !strcmp(p, "batch") || !strcmp(p, "shuffle");
            long long i;
            if (is_none && optional)
                ;   /* none: not set here (batch and shuffle then come from train) */
            else if (d)
                ok &= ein_setting_validate(ev, d, p, v);
            else   /* pixels, classes: checked against the network, not settings */
                ok &= ein_want_int(ev, v, p, strcmp(p, "pixels") ? 2 : 1, &i);
        }
        names[n] = p;
        f[n++] = v;
    }
    if (!ok)
        return NULL;
    ein_value *r = record_of(ev, "data", names, f, n, loc);
    return r ? r : oom(ev, loc);
}

static const ein_value *make_loss(ein_eval *ev, int b, const bound_args *a, ein_loc loc)
{
    static const char *const names[] = { "kind", "smoothing" };
    const ein_value *f[2];
    f[0] = ein_value_sym(ev->arena, b == B_CROSS_ENTROPY ? "task" : "inorm", loc);
    f[1] = b == B_CROSS_ENTROPY && a->v[0] ? a->v[0] : ein_value_num(ev->arena, 0.1, loc);
    if (!f[0] || !f[1])
        return oom(ev, loc);
    if (b == B_CROSS_ENTROPY && a->v[0] &&
        !ein_setting_validate(ev, ein_schema_find(EIN_SCOPE_LOSS, "smoothing"), "smoothing", f[1]))
        return NULL;
    ein_value *r = record_of(ev, "loss", names, f, b == B_CROSS_ENTROPY ? 2 : 1, loc);
    return r ? r : oom(ev, loc);
}

static const ein_value *space(ein_eval *ev, int b, const bound_args *a, ein_loc loc)
{
    double lo, hi;
    long long n;
    if (!ein_want_num(ev, a->v[0], "a", &lo) || !ein_want_num(ev, a->v[1], "b", &hi) ||
        !ein_want_int(ev, a->v[2], "n", 1, &n))
        return NULL;
    if (n > MAX_RANGE) {
        ein_eval_error(ev, a->v[2]->loc, "n is too large (at most %d values)", MAX_RANGE);
        return NULL;
    }
    ein_value *l = ein_value_list(ev->arena, (int)n, loc);
    if (!l)
        return oom(ev, loc);
    for (long long i = 0; i < n; i++) {
        double t = n == 1 ? lo : i == n - 1 ? hi : lo + (hi - lo) * (double)i / (double)(n - 1);
        if (b == B_LOGSPACE)
            t = pow(10.0, t);
        if (!(l->list.items[i] = num_result(ev, t, loc)))
            return NULL;
    }
    return l;
}

static const ein_value *to_int(ein_eval *ev, double d, ein_loc loc)
{
    if (!(fabs(d) < 9.2e18)) {
        ein_eval_error(ev, loc, "result is out of the integer range");
        return NULL;
    }
    return ein_value_int(ev->arena, (long long)d, loc);
}

static const ein_value *call_builtin(ein_eval *ev, ein_scope *s, int b, const ein_expr *call)
{
    const builtin_spec *sp = &builtins[b];
    int n_params = 0;
    while (n_params < MAX_PARAMS && sp->params[n_params])
        n_params++;
    bound_args a;
    if (!bind_args(ev, s, call, sp->name, sp->params, n_params, sp->n_required, &a))
        return NULL;
    ein_loc loc = call->loc;
    double x, y;
    switch (b) {
    case B_IDX: return make_data(ev, &a, loc);
    case B_EI:
    case B_E_ONLY: return make_layer(ev, b, &a, loc);
    case B_CROSS_ENTROPY:
    case B_INORM_LOSS: return make_loss(ev, b, &a, loc);
    case B_LINSPACE:
    case B_LOGSPACE: return space(ev, b, &a, loc);
    case B_MIN:
    case B_MAX: {
        if (!ein_want_num(ev, a.v[0], "a", &x) || !ein_want_num(ev, a.v[1], "b", &y))
            return NULL;
        bool first = b == B_MIN ? x <= y : x >= y;
        return first ? a.v[0] : a.v[1];
    }
    default:
        break;
    }
    if (!ein_want_num(ev, a.v[0], "x", &x))
        return NULL;
    switch (b) {
    case B_FLOOR: return to_int(ev, floor(x), loc);
    case B_CEIL: return to_int(ev, ceil(x), loc);
    case B_ROUND: return to_int(ev, round(x), loc);
    case B_ABS:
        return a.v[0]->kind == EIN_V_INT && a.v[0]->i != LLONG_MIN
            ? ein_value_int(ev->arena, llabs(a.v[0]->i), loc) : num_result(ev, fabs(x), loc);
    case B_SQRT:
        if (x < 0) {
            ein_eval_error(ev, a.v[0]->loc, "sqrt of a negative number (%g)", x);
            return NULL;
        }
        return num_result(ev, sqrt(x), loc);
    case B_LOG:
        if (x <= 0) {
            ein_eval_error(ev, a.v[0]->loc, "log of a number that is not positive (%g)", x);
            return NULL;
        }
        return num_result(ev, log(x), loc);
    default: return num_result(ev, exp(x), loc);
    }
}

static const ein_value *call_def(ein_eval *ev, ein_scope *s, const ein_value *f, const ein_expr *call,
                                 ein_scope *home)
{
    const ein_stmt *def = f->fn.def;
    int np = def->def.n_params;
    if (np > MAX_PARAMS) {
        ein_eval_error(ev, def->loc, "'%s' has more than %d parameters", f->fn.name, MAX_PARAMS);
        return NULL;
    }
    const char *params[MAX_PARAMS];
    int n_required = 0;
    for (int i = 0; i < np; i++) {
        params[i] = def->def.params[i].name.name;
        if (!def->def.params[i].default_value)
            n_required = i + 1;
    }
    bound_args a;
    if (!bind_args(ev, s, call, f->fn.name, params, np, 0, &a))
        return NULL;
    for (int i = 0; i < n_required; i++)
        if (!a.v[i] && !def->def.params[i].default_value) {
            ein_eval_error(ev, call->loc, "missing argument '%s' in call of '%s'", params[i],
                           f->fn.name);
            return NULL;
        }
    if (ev->call_depth >= MAX_CALL_DEPTH) {
        ein_eval_error(ev, call->loc, "calls nested too deeply (recursion in '%s'?)", f->fn.name);
        return NULL;
    }
    /* The evaluation budget: an outermost call may make at most
     * EIN_EVAL_MAX_CALLS calls in all, so `f_i(a) = f_{i-1}(a) + f_{i-1}(a)`
     * stops with an error instead of running for 2^40 calls. */
    if (ev->call_depth == 0)
        ev->calls = 0;
    if (++ev->calls > EIN_EVAL_MAX_CALLS) {
        ein_eval_error(ev, call->loc, "evaluation budget exceeded: more than %d def calls "
                       "in one evaluation (exponential recursion in '%s'?)", EIN_EVAL_MAX_CALLS, f->fn.name);
        return NULL;
    }
    ein_scope *local = ein_scope_new(ev, home);
    if (!local)
        return oom(ev, call->loc);
    ev->call_depth++;
    const ein_value *r = NULL;
    bool ok = true;
    for (int i = 0; i < np && ok; i++) {
        const ein_value *v = a.v[i] ? a.v[i] : ein_eval_expr(ev, local, def->def.params[i].default_value);
        ok = v && ein_scope_add_value(ev, local, params[i], def->def.params[i].name.loc, v);
    }
    if (ok)
        r = ein_eval_expr(ev, local, def->def.body);
    ev->call_depth--;
    return r;
}

/* The scope holding the slot that a def's function value came from. */
static ein_scope *def_home(ein_scope *s, const ein_value *f)
{
    for (ein_scope *sc = s; sc; sc = sc->parent)
        for (int i = 0; i < sc->n; i++)
            if (sc->slots[i].state == 2 && sc->slots[i].value &&
                sc->slots[i].value->kind == EIN_V_FUNC && sc->slots[i].value->fn.def == f->fn.def)
                return sc;
    return NULL;
}

static const ein_value *eval_call(ein_eval *ev, ein_scope *s, const ein_expr *e)
{
    const ein_value *f = ein_eval_expr(ev, s, e->call.fn);
    if (!f)
        return NULL;
    if (f->kind != EIN_V_FUNC) {
        char text[64];
        ein_eval_error(ev, e->call.fn->loc, "%s %s is not a function", ein_value_type(f),
                       ein_value_text(f, text, sizeof text));
        return NULL;
    }
    if (f->fn.builtin >= 0)
        return call_builtin(ev, s, f->fn.builtin, e);
    ein_scope *home = def_home(s, f);
    return call_def(ev, s, f, e, home ? home : s);
}

/* ---- expressions ------------------------------------------------------- */

static const ein_value *eval_field(ein_eval *ev, ein_scope *s, const ein_expr *e)
{
    const ein_value *base = ein_eval_expr(ev, s, e->field.base);
    if (!base)
        return NULL;
    if (base->kind != EIN_V_RECORD) {
        ein_eval_error(ev, e->field.name_loc, "%s has no fields (looking for '%s')",
                       ein_value_type(base), e->field.name);
        return NULL;
    }
    const ein_value *v = ein_value_field(base, e->field.name);
    if (v)
        return v;
    char what[80];
    if (base->rec.named)
        snprintf(what, sizeof what, "variant '%s'", ein_value_field(base, "name")->s);
    else
        snprintf(what, sizeof what, "%s", ein_value_type(base));
    if (error_new(ev, e->field.name_loc, "%s has no field '%s'", what, e->field.name)) {
        const char *names[64];
        size_t n = 0;
        for (int i = 0; i < base->rec.n && n < 64; i++)
            names[n++] = base->rec.fields[i].name;
        ein_diag_suggest(ev->diag, e->field.name, names, n);
    }
    return NULL;
}

static const ein_value *eval_range(ein_eval *ev, ein_scope *s, const ein_expr *e)
{
    const ein_value *lo = ein_eval_expr(ev, s, e->range.lo);
    const ein_value *hi = lo ? ein_eval_expr(ev, s, e->range.hi) : NULL;
    long long a, b;
    if (!hi || !ein_want_int(ev, lo, "a range bound", LLONG_MIN, &a) ||
        !ein_want_int(ev, hi, "a range bound", LLONG_MIN, &b))
        return NULL;
    if (b < a) {
        ein_eval_error(ev, e->loc, "empty range %lld..%lld (ranges include both ends and count up)", a, b);
        return NULL;
    }
    if (b - a >= MAX_RANGE) {
        ein_eval_error(ev, e->loc, "range is too long (at most %d values)", MAX_RANGE);
        return NULL;
    }
    ein_value *l = ein_value_list(ev->arena, (int)(b - a + 1), e->loc);
    if (!l)
        return oom(ev, e->loc);
    for (long long i = a; i <= b; i++)
        if (!(l->list.items[i - a] = ein_value_int(ev->arena, i, e->loc)))
            return oom(ev, e->loc);
    return l;
}

const ein_value *ein_eval_expr(ein_eval *ev, ein_scope *s, const ein_expr *e)
{
    ein_varena *A = ev->arena;
    const ein_value *v = NULL;
    switch (e->kind) {
    case EIN_EXPR_INT: v = ein_value_int(A, e->integer.value, e->loc); break;
    case EIN_EXPR_REAL: v = ein_value_num(A, e->real.value, e->loc); break;
    case EIN_EXPR_STRING: v = ein_value_str(A, e->string.text, e->loc); break;
    case EIN_EXPR_BOOL: v = ein_value_bool(A, e->boolean, e->loc); break;
    case EIN_EXPR_NAME: return ein_scope_get(ev, s, e->name, e->loc);
    case EIN_EXPR_FIELD: return eval_field(ev, s, e);
    case EIN_EXPR_CALL: return eval_call(ev, s, e);
    case EIN_EXPR_RANGE: return eval_range(ev, s, e);
    case EIN_EXPR_LIST: {
        ein_value *l = ein_value_list(A, e->list.n_items, e->loc);
        if (!l)
            return oom(ev, e->loc);
        for (int i = 0; i < e->list.n_items; i++)
            if (!(l->list.items[i] = ein_eval_expr(ev, s, e->list.items[i])))
                return NULL;
        return l;
    }
    case EIN_EXPR_RECORD: {
        ein_value *r = ein_value_record(A, NULL, e->record.n_fields, e->loc);
        if (!r)
            return oom(ev, e->loc);
        for (int i = 0; i < e->record.n_fields; i++) {
            const ein_field *f = &e->record.fields[i];
            r->rec.fields[i].name = f->name;
            r->rec.fields[i].loc = f->name_loc;
            if (!(r->rec.fields[i].value = ein_eval_expr(ev, s, f->value)))
                return NULL;
        }
        return r;
    }
    case EIN_EXPR_UNARY: {
        const ein_value *a = ein_eval_expr(ev, s, e->unary.arg);
        if (!a)
            return NULL;
        if (e->unary.op == EIN_OP_NOT) {
            if (a->kind != EIN_V_BOOL) {
                ein_eval_error(ev, a->loc, "'not' needs true or false, got %s", ein_value_type(a));
                return NULL;
            }
            return ein_value_bool(A, !a->b, e->loc);
        }
        if (a->kind == EIN_V_INT && a->i == LLONG_MIN)
            return int_overflow(ev, "unary '-'", e->loc);
        if (a->kind == EIN_V_INT)
            return ein_value_int(A, -a->i, e->loc);
        if (a->kind == EIN_V_NUM)
            return ein_value_num(A, -a->n, e->loc);
        ein_eval_error(ev, a->loc, "unary '-' needs a number, got %s", ein_value_type(a));
        return NULL;
    }
    case EIN_EXPR_BINARY: {
        ein_binop op = e->binary.op;
        if (op == EIN_OP_AND || op == EIN_OP_OR) {
            const ein_value *a = want_cond(ev, s, e->binary.lhs, ein_binop_text(op));
            if (!a)
                return NULL;
            if (a->b == (op == EIN_OP_OR))
                return ein_value_bool(A, a->b, e->loc);
            const ein_value *b = want_cond(ev, s, e->binary.rhs, ein_binop_text(op));
            return b ? ein_value_bool(A, b->b, e->loc) : NULL;
        }
        const ein_value *a = ein_eval_expr(ev, s, e->binary.lhs);
        const ein_value *b = a ? ein_eval_expr(ev, s, e->binary.rhs) : NULL;
        if (!b)
            return NULL;
        if (op >= EIN_OP_EQ)
            return compare(ev, op, a, b, e->loc);
        return arith(ev, op, a, b, e->loc);
    }
    case EIN_EXPR_IF: {
        const ein_value *c = want_cond(ev, s, e->cond.test, "the condition of 'if'");
        if (!c)
            return NULL;
        return ein_eval_expr(ev, s, c->b ? e->cond.then_ : e->cond.else_);
    }
    }
    return v ? v : oom(ev, e->loc);
}
