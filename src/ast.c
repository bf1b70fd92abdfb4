/* ast.c — the program arena, node constructors, structural equality, the
 * canonical printer (`einrun fmt`) and the debug dump. */
#include "ein/ast.h"

#include "ein/numfmt.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- arena -------------------------------------------------------------- */

/* Chunks of at least 64 KiB; everything a program points to lives here, so
 * freeing a program (or abandoning a failed parse) is one walk over chunks. */
typedef struct ein_chunk {
    struct ein_chunk *next;
    size_t used, size;
    max_align_t data[];
} ein_chunk;

struct ein_arena {
    ein_chunk *head;
};

#define CHUNK_MIN (64u * 1024u)

void *ein_program_alloc(ein_program *p, size_t size)
{
    struct ein_arena *a = p->arena;
    size = (size + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
    if (size == 0)
        size = sizeof(max_align_t);
    ein_chunk *c = a->head;
    if (!c || c->size - c->used < size) {
        size_t cap = size > CHUNK_MIN ? size : CHUNK_MIN;
        c = malloc(sizeof(ein_chunk) + cap);
        if (!c)
            return NULL;
        c->used = 0;
        c->size = cap;
        c->next = a->head;
        a->head = c;
    }
    void *mem = (char *)c->data + c->used;
    c->used += size;
    memset(mem, 0, size);
    return mem;
}

char *ein_program_strndup(ein_program *p, const char *s, size_t len)
{
    char *d = ein_program_alloc(p, len + 1);
    if (d) {
        if (len)
            memcpy(d, s, len);
        d[len] = '\0';
    }
    return d;
}

ein_program *ein_program_new(int file, const char *name)
{
    struct ein_arena *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    ein_program tmp = { .arena = a };
    ein_program *p = ein_program_alloc(&tmp, sizeof *p);
    if (!p) {
        free(a);
        return NULL;
    }
    p->arena = a;
    p->file = file;
    p->name = ein_program_strndup(p, name ? name : "<input>", strlen(name ? name : "<input>"));
    if (!p->name) {
        ein_program_free(p);
        return NULL;
    }
    return p;
}

void ein_program_free(ein_program *p)
{
    if (!p)
        return;
    struct ein_arena *a = p->arena;   /* p itself lives in the arena */
    for (ein_chunk *c = a->head, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    free(a);
}

ein_expr *ein_expr_new(ein_program *p, ein_expr_kind kind, ein_loc loc)
{
    ein_expr *e = ein_program_alloc(p, sizeof *e);
    if (e) {
        e->kind = kind;
        e->loc = loc;
    }
    return e;
}

ein_stmt *ein_stmt_new(ein_program *p, ein_stmt_kind kind, ein_loc loc)
{
    ein_stmt *s = ein_program_alloc(p, sizeof *s);
    if (s) {
        s->kind = kind;
        s->loc = loc;
    }
    return s;
}

/* ---- names -------------------------------------------------------------- */

const char *ein_binop_text(ein_binop op)
{
    static const char *const t[] = { "+", "-", "*", "/", "%", "^", "==", "!=", "<", "<=",
                                     ">", ">=", "and", "or" };
    return (unsigned)op < sizeof t / sizeof *t ? t[op] : "?";
}

const char *ein_unop_text(ein_unop op) { return op == EIN_OP_NOT ? "not" : "-"; }

const char *ein_expr_kind_name(ein_expr_kind k)
{
    static const char *const t[] = { "int", "real", "string", "bool", "name", "field", "call",
                                     "list", "record", "range", "unary", "binary", "if" };
    return (unsigned)k < sizeof t / sizeof *t ? t[k] : "?";
}

const char *ein_stmt_kind_name(ein_stmt_kind k)
{
    static const char *const t[] = { "import", "bind", "def", "experiment", "data", "network",
                                     "norm", "loss", "train", "grid", "report", "figure" };
    return (unsigned)k < sizeof t / sizeof *t ? t[k] : "?";
}

/* ---- equality ----------------------------------------------------------- */

static bool str_eq(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static bool ident_eq(const ein_ident *a, const ein_ident *b) { return str_eq(a->name, b->name); }

static bool opt_expr_eq(const ein_expr *a, const ein_expr *b)
{
    return (!a && !b) || (a && b && ein_expr_equal(a, b));
}

bool ein_expr_equal(const ein_expr *a, const ein_expr *b)
{
    if (a->kind != b->kind)
        return false;
    switch (a->kind) {
    case EIN_EXPR_INT: return a->integer.value == b->integer.value;
    case EIN_EXPR_REAL: return a->real.value == b->real.value;
    case EIN_EXPR_STRING:
        return a->string.len == b->string.len && memcmp(a->string.text, b->string.text, a->string.len) == 0;
    case EIN_EXPR_BOOL: return a->boolean == b->boolean;
    case EIN_EXPR_NAME: return str_eq(a->name, b->name);
    case EIN_EXPR_FIELD: return str_eq(a->field.name, b->field.name) && ein_expr_equal(a->field.base, b->field.base);
    case EIN_EXPR_CALL:
        if (a->call.n_args != b->call.n_args || !ein_expr_equal(a->call.fn, b->call.fn))
            return false;
        for (int i = 0; i < a->call.n_args; i++)
            if (!str_eq(a->call.args[i].name, b->call.args[i].name) ||
                !ein_expr_equal(a->call.args[i].value, b->call.args[i].value))
                return false;
        return true;
    case EIN_EXPR_LIST:
        if (a->list.n_items != b->list.n_items)
            return false;
        for (int i = 0; i < a->list.n_items; i++)
            if (!ein_expr_equal(a->list.items[i], b->list.items[i]))
                return false;
        return true;
    case EIN_EXPR_RECORD:
        if (a->record.n_fields != b->record.n_fields)
            return false;
        for (int i = 0; i < a->record.n_fields; i++)
            if (!str_eq(a->record.fields[i].name, b->record.fields[i].name) ||
                a->record.fields[i].colon != b->record.fields[i].colon ||
                !ein_expr_equal(a->record.fields[i].value, b->record.fields[i].value))
                return false;
        return true;
    case EIN_EXPR_RANGE: return ein_expr_equal(a->range.lo, b->range.lo) && ein_expr_equal(a->range.hi, b->range.hi);
    case EIN_EXPR_UNARY: return a->unary.op == b->unary.op && ein_expr_equal(a->unary.arg, b->unary.arg);
    case EIN_EXPR_BINARY:
        return a->binary.op == b->binary.op && ein_expr_equal(a->binary.lhs, b->binary.lhs) &&
               ein_expr_equal(a->binary.rhs, b->binary.rhs);
    case EIN_EXPR_IF:
        return ein_expr_equal(a->cond.test, b->cond.test) && ein_expr_equal(a->cond.then_, b->cond.then_) &&
               ein_expr_equal(a->cond.else_, b->cond.else_);
    }
    return false;
}

static bool axis_eq(const ein_axis *a, const ein_axis *b)
{
    if (a->kind != b->kind || !ident_eq(&a->name, &b->name) || !opt_expr_eq(a->value, b->value) ||
        !opt_expr_eq(a->count, b->count) || !opt_expr_eq(a->seed, b->seed) || a->n_zip != b->n_zip ||
        a->n_draws != b->n_draws || a->n_columns != b->n_columns || a->n_rows != b->n_rows)
        return false;
    for (int i = 0; i < a->n_zip; i++)
        if (!axis_eq(&a->zip[i], &b->zip[i]))
            return false;
    for (int i = 0; i < a->n_draws; i++)
        if (!ident_eq(&a->draws[i].name, &b->draws[i].name) || !ein_expr_equal(a->draws[i].dist, b->draws[i].dist))
            return false;
    for (int i = 0; i < a->n_columns; i++)
        if (!ident_eq(&a->columns[i], &b->columns[i]))
            return false;
    for (int i = 0; i < a->n_rows; i++) {
        if (a->rows[i].n_values != b->rows[i].n_values)
            return false;
        for (int j = 0; j < a->rows[i].n_values; j++)
            if (!ein_expr_equal(a->rows[i].values[j], b->rows[i].values[j]))
                return false;
    }
    return true;
}

static bool settings_eq(const ein_setting *a, int na, const ein_setting *b, int nb)
{
    if (na != nb)
        return false;
    for (int i = 0; i < na; i++) {
        if (a[i].n_path != b[i].n_path || !ein_expr_equal(a[i].value, b[i].value))
            return false;
        for (int j = 0; j < a[i].n_path; j++)
            if (!ident_eq(&a[i].path[j], &b[i].path[j]))
                return false;
    }
    return true;
}

static bool stmt_eq(const ein_stmt *a, const ein_stmt *b)
{
    if (a->kind != b->kind)
        return false;
    switch (a->kind) {
    case EIN_STMT_IMPORT: return str_eq(a->import.path, b->import.path);
    case EIN_STMT_BIND: return ident_eq(&a->bind.name, &b->bind.name) && ein_expr_equal(a->bind.value, b->bind.value);
    case EIN_STMT_DEF:
        if (!ident_eq(&a->def.name, &b->def.name) || a->def.n_params != b->def.n_params ||
            !ein_expr_equal(a->def.body, b->def.body))
            return false;
        for (int i = 0; i < a->def.n_params; i++)
            if (!ident_eq(&a->def.params[i].name, &b->def.params[i].name) ||
                !opt_expr_eq(a->def.params[i].default_value, b->def.params[i].default_value))
                return false;
        return true;
    case EIN_STMT_EXPERIMENT:
        if (!ident_eq(&a->experiment.name, &b->experiment.name) || a->experiment.n_stmts != b->experiment.n_stmts)
            return false;
        for (int i = 0; i < a->experiment.n_stmts; i++)
            if (!stmt_eq(a->experiment.stmts[i], b->experiment.stmts[i]))
                return false;
        return true;
    case EIN_STMT_DATA: return ein_expr_equal(a->data.value, b->data.value);
    case EIN_STMT_NETWORK:
        if (a->network.n_layers != b->network.n_layers)
            return false;
        for (int i = 0; i < a->network.n_layers; i++) {
            const ein_layer_decl *x = &a->network.layers[i], *y = &b->network.layers[i];
            if (x->role != y->role || !ein_expr_equal(x->value, y->value) || !opt_expr_eq(x->repeat, y->repeat))
                return false;
        }
        return true;
    case EIN_STMT_NORM: return a->norm.dir == b->norm.dir && ein_expr_equal(a->norm.value, b->norm.value);
    case EIN_STMT_LOSS:
        if (!ident_eq(&a->loss.name, &b->loss.name) || !ein_expr_equal(a->loss.value, b->loss.value) ||
            !opt_expr_eq(a->loss.weight, b->loss.weight) || a->loss.n_updates != b->loss.n_updates)
            return false;
        for (int i = 0; i < a->loss.n_updates; i++)
            if (!ident_eq(&a->loss.updates[i], &b->loss.updates[i]))
                return false;
        return true;
    case EIN_STMT_TRAIN:
        return settings_eq(a->train.settings, a->train.n_settings, b->train.settings, b->train.n_settings);
    case EIN_STMT_FIGURE:
        return ident_eq(&a->figure.name, &b->figure.name) &&
               settings_eq(a->figure.settings, a->figure.n_settings, b->figure.settings, b->figure.n_settings);
    case EIN_STMT_GRID:
        if (a->grid.n_axes != b->grid.n_axes)
            return false;
        for (int i = 0; i < a->grid.n_axes; i++)
            if (!axis_eq(&a->grid.axes[i], &b->grid.axes[i]))
                return false;
        return true;
    case EIN_STMT_REPORT:
        if (!str_eq(a->report.path, b->report.path) || a->report.n_metrics != b->report.n_metrics)
            return false;
        for (int i = 0; i < a->report.n_metrics; i++)
            if (!ident_eq(&a->report.metrics[i], &b->report.metrics[i]))
                return false;
        return true;
    }
    return false;
}

bool ein_program_equal(const ein_program *a, const ein_program *b)
{
    if (a->n_stmts != b->n_stmts || !opt_expr_eq(a->expr, b->expr))
        return false;
    for (int i = 0; i < a->n_stmts; i++)
        if (!stmt_eq(a->stmts[i], b->stmts[i]))
            return false;
    return true;
}

/* ---- printer ------------------------------------------------------------ */

/* Binding strength, loosest first; a subexpression printed where a tighter
 * one is required gets parentheses.  Mirrors the %left/%right lines of
 * grammar/ein.y. */
enum {
    PREC_IF = 1, PREC_OR, PREC_AND, PREC_NOT, PREC_CMP, PREC_RANGE,
    PREC_ADD, PREC_MUL, PREC_NEG, PREC_POW, PREC_POSTFIX
};

static int binop_prec(ein_binop op)
{
    switch (op) {
    case EIN_OP_ADD: case EIN_OP_SUB: return PREC_ADD;
    case EIN_OP_MUL: case EIN_OP_DIV: case EIN_OP_MOD: return PREC_MUL;
    case EIN_OP_POW: return PREC_POW;
    case EIN_OP_AND: return PREC_AND;
    case EIN_OP_OR: return PREC_OR;
    default: return PREC_CMP;
    }
}

static int expr_prec(const ein_expr *e)
{
    switch (e->kind) {
    case EIN_EXPR_IF: return PREC_IF;
    case EIN_EXPR_RANGE: return PREC_RANGE;
    case EIN_EXPR_UNARY: return e->unary.op == EIN_OP_NOT ? PREC_NOT : PREC_NEG;
    case EIN_EXPR_BINARY: return binop_prec(e->binary.op);
    default: return PREC_POSTFIX;
    }
}

/* Trailing comments are printed after this marker, which cannot occur in
 * valid UTF-8 output; a last pass replaces it with the padding that aligns
 * the comments of consecutive lines (as gofmt does). */
#define TRAIL 0xFF

typedef struct printer {
    FILE *out;
    const ein_program *prog;   /* NULL: no comments, everything inline */
    int next_comment;
    int indent;
    int last_line;             /* source line of the last thing emitted */
    bool block_start;          /* nothing emitted yet in the current block */
} printer;

static void put_indent(printer *pr)
{
    for (int i = 0; i < pr->indent; i++)
        fputs("  ", pr->out);
}

static void print_string(FILE *out, const char *s, size_t len)
{
    fputc('"', out);
    for (size_t i = 0; i < len; i++) {
        switch (s[i]) {
        case '"': fputs("\\\"", out); break;
        case '\\': fputs("\\\\", out); break;
        case '\n': fputs("\\n", out); break;
        case '\t': fputs("\\t", out); break;
        default: fputc(s[i], out);
        }
    }
    fputc('"', out);
}

static void print_real(FILE *out, double v)
{
    char buf[64];
    ein_format_double(v, buf, sizeof buf);
    fputs(buf, out);
    if (!strpbrk(buf, ".eEn"))   /* keep it a real: 2 → 2.0 */
        fputs(".0", out);
}

static void print_expr(printer *pr, const ein_expr *e, int min_prec);

/* Comments that start before `offset` go on their own lines, before the
 * item that follows them. */
static void flush_comments(printer *pr, uint32_t offset)
{
    if (!pr->prog)
        return;
    while (pr->next_comment < pr->prog->n_comments &&
           pr->prog->comments[pr->next_comment].loc.start < offset) {
        const ein_comment *c = &pr->prog->comments[pr->next_comment++];
        if (!pr->block_start && c->loc.line > pr->last_line + 1)
            fputc('\n', pr->out);
        put_indent(pr);
        fprintf(pr->out, "%s\n", c->text);
        pr->last_line = c->loc.end_line;
        pr->block_start = false;
    }
}

/* Start a line-level item: leading comments, one blank line if the source
 * had any, the indentation. */
static void begin_item(printer *pr, ein_loc loc)
{
    if (pr->prog && loc.file >= 0) {
        flush_comments(pr, loc.start);
        if (!pr->block_start && loc.line > pr->last_line + 1)
            fputc('\n', pr->out);
    }
    put_indent(pr);
    pr->block_start = false;
}

/* End a line-level item: a comment on its last line stays there; comments
 * from inside an item printed on one line follow it on their own lines. */
static void end_item(printer *pr, ein_loc loc)
{
    bool newline_done = false;
    if (pr->prog && loc.file >= 0) {
        while (pr->next_comment < pr->prog->n_comments) {
            const ein_comment *c = &pr->prog->comments[pr->next_comment];
            if (!(c->loc.start < loc.end || c->loc.line == loc.end_line))
                break;
            pr->next_comment++;
            if (!newline_done && c->loc.line == c->loc.end_line) {
                fputc(TRAIL, pr->out);
                fprintf(pr->out, "%s\n", c->text);
            } else {
                if (!newline_done)
                    fputc('\n', pr->out);
                put_indent(pr);
                fprintf(pr->out, "%s\n", c->text);
            }
            newline_done = true;
            if (c->loc.end_line > loc.end_line)
                loc.end_line = c->loc.end_line;
        }
        pr->last_line = loc.end_line;
    }
    if (!newline_done)
        fputc('\n', pr->out);
}

/* A comment on the line of an opening bracket, before the first element,
 * stays there. */
static void opener_comment(printer *pr, int line, uint32_t first_start)
{
    if (!pr->prog || pr->next_comment >= pr->prog->n_comments)
        return;
    const ein_comment *c = &pr->prog->comments[pr->next_comment];
    if (c->loc.line == line && c->loc.end_line == line && c->loc.start < first_start) {
        fputs("  ", pr->out);   /* not aligned with the lines inside */
        fputs(c->text, pr->out);
        pr->next_comment++;
    }
}

/* Open a block after its '{' has been printed. */
static void open_block(printer *pr, ein_loc opener, uint32_t first_start)
{
    fputs("{", pr->out);
    if (opener.file >= 0)
        opener_comment(pr, opener.line, first_start);
    fputc('\n', pr->out);
    pr->indent++;
    pr->block_start = true;
    if (opener.file >= 0)
        pr->last_line = opener.line;
}

/* Close a block: comments before its '}' (at `end`, exclusive), then '}'. */
static void close_block(printer *pr, uint32_t end)
{
    if (pr->prog && end > 0)
        flush_comments(pr, end - 1);
    pr->indent--;
    put_indent(pr);
    fputc('}', pr->out);
    pr->block_start = false;
}

static bool spans_lines(const printer *pr, ein_loc loc)
{
    return pr->prog && loc.file >= 0 && loc.end_line > loc.line;
}

static void print_arg(printer *pr, const ein_arg *a)
{
    if (a->name)
        fprintf(pr->out, "%s = ", a->name);
    print_expr(pr, a->value, PREC_IF);
}

static void print_field(printer *pr, const ein_field *f)
{
    fprintf(pr->out, "%s%s", f->name, f->colon ? ": " : " = ");
    print_expr(pr, f->value, PREC_IF);
}

static ein_loc arg_loc(const ein_arg *a)
{
    return a->name ? ein_loc_span(a->name_loc, a->value->loc) : a->value->loc;
}

static ein_loc field_loc(const ein_field *f) { return ein_loc_span(f->name_loc, f->value->loc); }

/* A bracketed sequence: inline `(a, b)`, or one element per line with a
 * trailing comma when it spanned several lines in the source (as gofmt
 * keeps the author's line breaks). */
static void print_seq(printer *pr, const ein_expr *e, char open, char close, int n,
                      void (*elem)(printer *, const ein_expr *, int), ein_loc (*eloc)(const ein_expr *, int))
{
    fputc(open, pr->out);
    if (n > 0 && spans_lines(pr, e->loc)) {
        opener_comment(pr, e->loc.line, eloc(e, 0).start);
        fputc('\n', pr->out);
        pr->indent++;
        pr->block_start = true;
        pr->last_line = e->loc.line;
        for (int i = 0; i < n; i++) {
            ein_loc l = eloc(e, i);
            begin_item(pr, l);
            elem(pr, e, i);
            fputc(',', pr->out);
            end_item(pr, l);
        }
        flush_comments(pr, e->loc.end - 1);
        pr->indent--;
        put_indent(pr);
    } else {
        bool pad = open == '{' && n > 0;
        if (pad)
            fputc(' ', pr->out);
        for (int i = 0; i < n; i++) {
            if (i)
                fputs(", ", pr->out);
            elem(pr, e, i);
        }
        if (pad)
            fputc(' ', pr->out);
    }
    fputc(close, pr->out);
}

static void elem_arg(printer *pr, const ein_expr *e, int i) { print_arg(pr, &e->call.args[i]); }
static ein_loc loc_arg(const ein_expr *e, int i) { return arg_loc(&e->call.args[i]); }
static void elem_item(printer *pr, const ein_expr *e, int i) { print_expr(pr, e->list.items[i], PREC_IF); }
static ein_loc loc_item(const ein_expr *e, int i) { return e->list.items[i]->loc; }
static void elem_field(printer *pr, const ein_expr *e, int i) { print_field(pr, &e->record.fields[i]); }
static ein_loc loc_field(const ein_expr *e, int i) { return field_loc(&e->record.fields[i]); }

static void print_expr(printer *pr, const ein_expr *e, int min_prec)
{
    FILE *out = pr->out;
    int prec = expr_prec(e);
    bool paren = prec < min_prec;
    if (paren)
        fputc('(', out);
    switch (e->kind) {
    case EIN_EXPR_INT:
        if (e->integer.text)
            fputs(e->integer.text, out);
        else
            fprintf(out, "%lld", e->integer.value);
        break;
    case EIN_EXPR_REAL:
        if (e->real.text)
            fputs(e->real.text, out);
        else
            print_real(out, e->real.value);
        break;
    case EIN_EXPR_STRING: print_string(out, e->string.text, e->string.len); break;
    case EIN_EXPR_BOOL: fputs(e->boolean ? "true" : "false", out); break;
    case EIN_EXPR_NAME: fputs(e->name, out); break;
    case EIN_EXPR_FIELD:
        print_expr(pr, e->field.base, PREC_POSTFIX);
        fprintf(out, ".%s", e->field.name);
        break;
    case EIN_EXPR_CALL:
        print_expr(pr, e->call.fn, PREC_POSTFIX);
        print_seq(pr, e, '(', ')', e->call.n_args, elem_arg, loc_arg);
        break;
    case EIN_EXPR_LIST: print_seq(pr, e, '[', ']', e->list.n_items, elem_item, loc_item); break;
    case EIN_EXPR_RECORD: print_seq(pr, e, '{', '}', e->record.n_fields, elem_field, loc_field); break;
    case EIN_EXPR_RANGE:
        print_expr(pr, e->range.lo, PREC_RANGE + 1);
        fputs("..", out);
        print_expr(pr, e->range.hi, PREC_RANGE + 1);
        break;
    case EIN_EXPR_UNARY:
        if (e->unary.op == EIN_OP_NOT) {
            fputs("not ", out);
            print_expr(pr, e->unary.arg, PREC_NOT);
        } else {
            fputc('-', out);
            print_expr(pr, e->unary.arg, PREC_NEG);
        }
        break;
    case EIN_EXPR_BINARY: {
        ein_binop op = e->binary.op;
        int lp = prec, rp = prec + 1;               /* left associative */
        if (op == EIN_OP_POW) {
            lp = PREC_POW + 1;                      /* right associative; -x allowed on the right */
            rp = PREC_NEG;
        } else if (prec == PREC_CMP) {
            lp = rp = PREC_CMP + 1;                 /* non associative */
        }
        print_expr(pr, e->binary.lhs, lp);
        fprintf(out, " %s ", ein_binop_text(op));
        print_expr(pr, e->binary.rhs, rp);
        break;
    }
    case EIN_EXPR_IF:
        fputs("if ", out);
        print_expr(pr, e->cond.test, PREC_IF);
        fputs(" then ", out);
        print_expr(pr, e->cond.then_, PREC_IF);
        fputs(" else ", out);
        print_expr(pr, e->cond.else_, PREC_IF);
        break;
    }
    if (paren)
        fputc(')', out);
}

static void print_idents(FILE *out, const ein_ident *ids, int n)
{
    for (int i = 0; i < n; i++)
        fprintf(out, "%s%s", i ? ", " : "", ids[i].name);
}

static void print_axis(printer *pr, const ein_axis *a)
{
    FILE *out = pr->out;
    begin_item(pr, a->loc);
    switch (a->kind) {
    case EIN_AXIS_IN:
        fprintf(out, "%s in ", a->name.name);
        print_expr(pr, a->value, PREC_IF);
        break;
    case EIN_AXIS_DERIVED:
        fprintf(out, "%s = ", a->name.name);
        print_expr(pr, a->value, PREC_IF);
        break;
    case EIN_AXIS_WHERE:
        fputs("where ", out);
        print_expr(pr, a->value, PREC_IF);
        break;
    case EIN_AXIS_ZIP:
        fputs("zip ", out);
        open_block(pr, a->loc, a->n_zip ? a->zip[0].loc.start : UINT32_MAX);
        for (int i = 0; i < a->n_zip; i++)
            print_axis(pr, &a->zip[i]);
        close_block(pr, a->loc.end);
        break;
    case EIN_AXIS_SAMPLE:
        fprintf(out, "%s in sample ", a->name.name);
        print_expr(pr, a->count, PREC_POSTFIX);
        fputs(" seed ", out);
        print_expr(pr, a->seed, PREC_POSTFIX);
        fputc(' ', out);
        open_block(pr, a->loc, a->n_draws ? a->draws[0].loc.start : UINT32_MAX);
        for (int i = 0; i < a->n_draws; i++) {
            begin_item(pr, a->draws[i].loc);
            fprintf(out, "%s ~ ", a->draws[i].name.name);
            print_expr(pr, a->draws[i].dist, PREC_IF);
            end_item(pr, a->draws[i].loc);
        }
        close_block(pr, a->loc.end);
        break;
    case EIN_AXIS_TABLE:
        fprintf(out, "%s in table(", a->name.name);
        print_idents(out, a->columns, a->n_columns);
        fputs(") ", out);
        open_block(pr, a->loc, a->n_rows ? a->rows[0].loc.start : UINT32_MAX);
        for (int i = 0; i < a->n_rows; i++) {
            begin_item(pr, a->rows[i].loc);
            for (int j = 0; j < a->rows[i].n_values; j++) {
                if (j)
                    fputs(", ", out);
                print_expr(pr, a->rows[i].values[j], PREC_NEG);
            }
            end_item(pr, a->rows[i].loc);
        }
        close_block(pr, a->loc.end);
        break;
    }
    end_item(pr, a->loc);
}

/* The value after `NAME =` or `def ...) =`: on the same line, or on the
 * next line, indented, when the source put it there. */
static void print_body(printer *pr, const ein_expr *body, int header_end_line)
{
    if (pr->prog && body->loc.file >= 0 && body->loc.line > header_end_line) {
        fputc('\n', pr->out);
        pr->indent++;
        put_indent(pr);
        print_expr(pr, body, PREC_IF);
        pr->indent--;
    } else {
        fputc(' ', pr->out);
        print_expr(pr, body, PREC_IF);
    }
}

/* `{ path = value ... }` of a train or figure block. */
static void print_settings(printer *pr, const ein_stmt *s, const ein_setting *set, int n)
{
    open_block(pr, s->loc, n ? set[0].loc.start : UINT32_MAX);
    for (int i = 0; i < n; i++) {
        const ein_setting *st = &set[i];
        begin_item(pr, st->loc);
        for (int j = 0; j < st->n_path; j++)
            fprintf(pr->out, "%s%s", j ? "." : "", st->path[j].name);
        fputs(" = ", pr->out);
        print_expr(pr, st->value, PREC_IF);
        end_item(pr, st->loc);
    }
    close_block(pr, s->loc.end);
}

static void print_stmt(printer *pr, const ein_stmt *s)
{
    FILE *out = pr->out;
    begin_item(pr, s->loc);
    switch (s->kind) {
    case EIN_STMT_IMPORT:
        fputs("import ", out);
        print_string(out, s->import.path, strlen(s->import.path));
        break;
    case EIN_STMT_BIND:
        fprintf(out, "%s =", s->bind.name.name);
        print_body(pr, s->bind.value, s->bind.name.loc.end_line);
        break;
    case EIN_STMT_DEF: {
        fprintf(out, "def %s(", s->def.name.name);
        int n = s->def.n_params, header_end = s->def.name.loc.end_line;
        if (n > 0) {
            const ein_param *last = &s->def.params[n - 1];
            header_end = last->default_value ? last->default_value->loc.end_line : last->name.loc.end_line;
        }
        /* Parameters written over several lines print one per line. */
        bool tall = pr->prog && n > 0 && s->def.params[0].name.loc.file >= 0 &&
                    header_end > s->def.params[0].name.loc.line;
        if (tall) {
            fputc('\n', out);
            pr->indent++;
            pr->block_start = true;
            pr->last_line = s->def.name.loc.line;
        }
        for (int i = 0; i < n; i++) {
            const ein_param *pm = &s->def.params[i];
            ein_loc l = pm->default_value ? ein_loc_span(pm->name.loc, pm->default_value->loc) : pm->name.loc;
            if (tall)
                begin_item(pr, l);
            fprintf(out, "%s%s", i && !tall ? ", " : "", pm->name.name);
            if (pm->default_value) {
                fputs(" = ", out);
                print_expr(pr, pm->default_value, PREC_IF);
            }
            if (tall) {
                fputc(',', out);
                end_item(pr, l);
            }
        }
        if (tall) {
            pr->indent--;
            put_indent(pr);
        }
        fputs(") =", out);
        /* the body stays beside the '=' if it was written there: one parameter
         * per line puts ") =" on a line of its own, below the last one */
        print_body(pr, s->def.body, s->def.eq_loc.file >= 0 ? s->def.eq_loc.line : header_end);
        break;
    }
    case EIN_STMT_EXPERIMENT:
        fprintf(out, "experiment %s ", s->experiment.name.name);
        open_block(pr, s->loc, s->experiment.n_stmts ? s->experiment.stmts[0]->loc.start : UINT32_MAX);
        for (int i = 0; i < s->experiment.n_stmts; i++)
            print_stmt(pr, s->experiment.stmts[i]);
        close_block(pr, s->loc.end);
        break;
    case EIN_STMT_DATA:
        fputs("data = ", out);
        print_expr(pr, s->data.value, PREC_IF);
        break;
    case EIN_STMT_NETWORK:
        fputs("network ", out);
        open_block(pr, s->loc, s->network.n_layers ? s->network.layers[0].loc.start : UINT32_MAX);
        for (int i = 0; i < s->network.n_layers; i++) {
            const ein_layer_decl *l = &s->network.layers[i];
            static const char *const role[] = { "input", "hidden", "output" };
            begin_item(pr, l->loc);
            fprintf(out, "%s ", role[l->role]);
            print_expr(pr, l->value, PREC_IF);
            if (l->repeat) {
                fputs(" x ", out);
                print_expr(pr, l->repeat, PREC_IF);
            }
            end_item(pr, l->loc);
        }
        close_block(pr, s->loc.end);
        break;
    case EIN_STMT_NORM:
        fprintf(out, "norm %s = ", s->norm.dir == EIN_NORM_FORWARD ? "forward" : "backward");
        print_expr(pr, s->norm.value, PREC_IF);
        break;
    case EIN_STMT_LOSS:
        fprintf(out, "loss %s = ", s->loss.name.name);
        print_expr(pr, s->loss.value, PREC_IF);
        if (s->loss.weight) {
            fputs(" weight ", out);
            print_expr(pr, s->loss.weight, PREC_IF);
        }
        if (s->loss.n_updates) {
            fputs(" updates ", out);
            print_idents(out, s->loss.updates, s->loss.n_updates);
        }
        break;
    case EIN_STMT_TRAIN:
        fputs("train ", out);
        print_settings(pr, s, s->train.settings, s->train.n_settings);
        break;
    case EIN_STMT_FIGURE:
        fprintf(out, "figure %s ", s->figure.name.name);
        print_settings(pr, s, s->figure.settings, s->figure.n_settings);
        break;
    case EIN_STMT_GRID:
        fputs("grid ", out);
        open_block(pr, s->loc, s->grid.n_axes ? s->grid.axes[0].loc.start : UINT32_MAX);
        for (int i = 0; i < s->grid.n_axes; i++)
            print_axis(pr, &s->grid.axes[i]);
        close_block(pr, s->loc.end);
        break;
    case EIN_STMT_REPORT:
        fputs("report ", out);
        if (s->report.path) {
            print_string(out, s->report.path, strlen(s->report.path));
            fputc(' ', out);
        }
        fputs("{ ", out);
        print_idents(out, s->report.metrics, s->report.n_metrics);
        fputs(" }", out);
        break;
    }
    end_item(pr, s->loc);
}

static size_t display_width(const char *s, size_t n)
{
    size_t w = 0;
    for (size_t i = 0; i < n; i++)
        w += ((unsigned char)s[i] & 0xC0) != 0x80;
    return w;
}

/* Replace each TRAIL marker by padding: the trailing comments of a run of
 * consecutive lines start in one column, two spaces after the longest code. */
static void align_comments(const char *text, size_t len, FILE *out)
{
    size_t i = 0;
    while (i < len) {
        size_t run_end = i, width = 0;
        /* the run of lines with a marker starting at i */
        while (run_end < len) {
            const char *nl = memchr(text + run_end, '\n', len - run_end);
            size_t eol = nl ? (size_t)(nl - text) : len;
            const char *m = memchr(text + run_end, TRAIL, eol - run_end);
            if (!m)
                break;
            size_t w = display_width(text + run_end, (size_t)(m - text) - run_end);
            if (w > width)
                width = w;
            run_end = nl ? eol + 1 : len;
        }
        if (run_end == i) {   /* a line without a comment: as is */
            const char *nl = memchr(text + i, '\n', len - i);
            size_t eol = nl ? (size_t)(nl - text) + 1 : len;
            fwrite(text + i, 1, eol - i, out);
            i = eol;
            continue;
        }
        while (i < run_end) {
            const char *m = memchr(text + i, TRAIL, run_end - i);
            size_t code = (size_t)(m - text) - i;
            fwrite(text + i, 1, code, out);
            fprintf(out, "%*s", (int)(width - display_width(text + i, code) + 2), "");
            const char *nl = memchr(m, '\n', (size_t)(text + run_end - m));
            size_t eol = nl ? (size_t)(nl - text) + 1 : run_end;
            fwrite(m + 1, 1, eol - (size_t)(m + 1 - text), out);
            i = eol;
        }
    }
}

void ein_program_print(const ein_program *p, FILE *out)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    printer pr = { .out = mem ? mem : out, .prog = p, .block_start = true };
    for (int i = 0; i < p->n_stmts; i++)
        print_stmt(&pr, p->stmts[i]);
    if (p->expr) {
        print_expr(&pr, p->expr, PREC_IF);
        fputc('\n', pr.out);
    }
    flush_comments(&pr, UINT32_MAX);
    if (mem) {
        fclose(mem);
        align_comments(buf, len, out);
        free(buf);
    }
}

void ein_expr_print(const ein_expr *e, FILE *out)
{
    printer pr = { .out = out };
    print_expr(&pr, e, PREC_IF);
}

char *ein_expr_to_string(const ein_expr *e)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return NULL;
    ein_expr_print(e, f);
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* ---- dump --------------------------------------------------------------- */

static void dump_head(FILE *out, int depth, const char *what, ein_loc loc)
{
    fprintf(out, "%*s%s @%d:%d-%d:%d", 2 * depth, "", what, loc.line, loc.col, loc.end_line, loc.end_col);
}

static void dump_expr(FILE *out, const ein_expr *e, int depth, const char *role)
{
    char what[64];
    snprintf(what, sizeof what, "%s%s%s", role ? role : "", role ? ": " : "", ein_expr_kind_name(e->kind));
    dump_head(out, depth, what, e->loc);
    switch (e->kind) {
    case EIN_EXPR_INT: fprintf(out, " %lld\n", e->integer.value); break;
    case EIN_EXPR_REAL: fprintf(out, " %.17g\n", e->real.value); break;
    case EIN_EXPR_STRING: fputc(' ', out); print_string(out, e->string.text, e->string.len); fputc('\n', out); break;
    case EIN_EXPR_BOOL: fprintf(out, " %s\n", e->boolean ? "true" : "false"); break;
    case EIN_EXPR_NAME: fprintf(out, " %s\n", e->name); break;
    case EIN_EXPR_FIELD:
        fprintf(out, " .%s\n", e->field.name);
        dump_expr(out, e->field.base, depth + 1, NULL);
        break;
    case EIN_EXPR_CALL:
        fputc('\n', out);
        dump_expr(out, e->call.fn, depth + 1, "fn");
        for (int i = 0; i < e->call.n_args; i++)
            dump_expr(out, e->call.args[i].value, depth + 1, e->call.args[i].name ? e->call.args[i].name : "arg");
        break;
    case EIN_EXPR_LIST:
        fputc('\n', out);
        for (int i = 0; i < e->list.n_items; i++)
            dump_expr(out, e->list.items[i], depth + 1, NULL);
        break;
    case EIN_EXPR_RECORD:
        fputc('\n', out);
        for (int i = 0; i < e->record.n_fields; i++)
            dump_expr(out, e->record.fields[i].value, depth + 1, e->record.fields[i].name);
        break;
    case EIN_EXPR_RANGE:
        fputc('\n', out);
        dump_expr(out, e->range.lo, depth + 1, NULL);
        dump_expr(out, e->range.hi, depth + 1, NULL);
        break;
    case EIN_EXPR_UNARY:
        fprintf(out, " %s\n", ein_unop_text(e->unary.op));
        dump_expr(out, e->unary.arg, depth + 1, NULL);
        break;
    case EIN_EXPR_BINARY:
        fprintf(out, " %s\n", ein_binop_text(e->binary.op));
        dump_expr(out, e->binary.lhs, depth + 1, NULL);
        dump_expr(out, e->binary.rhs, depth + 1, NULL);
        break;
    case EIN_EXPR_IF:
        fputc('\n', out);
        dump_expr(out, e->cond.test, depth + 1, "test");
        dump_expr(out, e->cond.then_, depth + 1, "then");
        dump_expr(out, e->cond.else_, depth + 1, "else");
        break;
    }
}

static void dump_idents(FILE *out, const ein_ident *ids, int n)
{
    for (int i = 0; i < n; i++)
        fprintf(out, "%s%s", i ? "," : " ", ids[i].name);
}

static void dump_axis(FILE *out, const ein_axis *a, int depth)
{
    static const char *const kind[] = { "in", "derived", "zip", "sample", "table", "where" };
    char what[32];
    snprintf(what, sizeof what, "axis %s", kind[a->kind]);
    dump_head(out, depth, what, a->loc);
    if (a->name.name)
        fprintf(out, " %s", a->name.name);
    dump_idents(out, a->columns, a->n_columns);
    fputc('\n', out);
    if (a->value)
        dump_expr(out, a->value, depth + 1, NULL);
    for (int i = 0; i < a->n_zip; i++)
        dump_axis(out, &a->zip[i], depth + 1);
    if (a->count)
        dump_expr(out, a->count, depth + 1, "count");
    if (a->seed)
        dump_expr(out, a->seed, depth + 1, "seed");
    for (int i = 0; i < a->n_draws; i++)
        dump_expr(out, a->draws[i].dist, depth + 1, a->draws[i].name.name);
    for (int i = 0; i < a->n_rows; i++) {
        dump_head(out, depth + 1, "row", a->rows[i].loc);
        fputc('\n', out);
        for (int j = 0; j < a->rows[i].n_values; j++)
            dump_expr(out, a->rows[i].values[j], depth + 2, NULL);
    }
}

static void dump_settings(FILE *out, const ein_setting *set, int n, int depth)
{
    for (int i = 0; i < n; i++) {
        dump_head(out, depth + 1, "set", set[i].loc);
        for (int j = 0; j < set[i].n_path; j++)
            fprintf(out, "%s%s", j ? "." : " ", set[i].path[j].name);
        fputc('\n', out);
        dump_expr(out, set[i].value, depth + 2, NULL);
    }
}

static void dump_stmt(FILE *out, const ein_stmt *s, int depth)
{
    char what[32];
    snprintf(what, sizeof what, "stmt %s", ein_stmt_kind_name(s->kind));
    dump_head(out, depth, what, s->loc);
    switch (s->kind) {
    case EIN_STMT_IMPORT: fputc(' ', out); print_string(out, s->import.path, strlen(s->import.path)); fputc('\n', out); break;
    case EIN_STMT_BIND:
        fprintf(out, " %s\n", s->bind.name.name);
        dump_expr(out, s->bind.value, depth + 1, NULL);
        break;
    case EIN_STMT_DEF:
        fprintf(out, " %s(", s->def.name.name);
        for (int i = 0; i < s->def.n_params; i++)
            fprintf(out, "%s%s%s", i ? "," : "", s->def.params[i].name.name, s->def.params[i].default_value ? "=" : "");
        fputs(")\n", out);
        for (int i = 0; i < s->def.n_params; i++)
            if (s->def.params[i].default_value)
                dump_expr(out, s->def.params[i].default_value, depth + 1, s->def.params[i].name.name);
        dump_expr(out, s->def.body, depth + 1, "body");
        break;
    case EIN_STMT_EXPERIMENT:
        fprintf(out, " %s\n", s->experiment.name.name);
        for (int i = 0; i < s->experiment.n_stmts; i++)
            dump_stmt(out, s->experiment.stmts[i], depth + 1);
        break;
    case EIN_STMT_DATA:
        fputc('\n', out);
        dump_expr(out, s->data.value, depth + 1, NULL);
        break;
    case EIN_STMT_NETWORK:
        fputc('\n', out);
        for (int i = 0; i < s->network.n_layers; i++) {
            static const char *const role[] = { "layer input", "layer hidden", "layer output" };
            const ein_layer_decl *l = &s->network.layers[i];
            dump_head(out, depth + 1, role[l->role], l->loc);
            fputc('\n', out);
            dump_expr(out, l->value, depth + 2, NULL);
            if (l->repeat)
                dump_expr(out, l->repeat, depth + 2, "repeat");
        }
        break;
    case EIN_STMT_NORM:
        fprintf(out, " %s\n", s->norm.dir == EIN_NORM_FORWARD ? "forward" : "backward");
        dump_expr(out, s->norm.value, depth + 1, NULL);
        break;
    case EIN_STMT_LOSS:
        fprintf(out, " %s", s->loss.name.name);
        if (s->loss.n_updates)
            fputs(" updates", out);
        dump_idents(out, s->loss.updates, s->loss.n_updates);
        fputc('\n', out);
        dump_expr(out, s->loss.value, depth + 1, NULL);
        if (s->loss.weight)
            dump_expr(out, s->loss.weight, depth + 1, "weight");
        break;
    case EIN_STMT_TRAIN:
        fputc('\n', out);
        dump_settings(out, s->train.settings, s->train.n_settings, depth);
        break;
    case EIN_STMT_FIGURE:
        fprintf(out, " %s\n", s->figure.name.name);
        dump_settings(out, s->figure.settings, s->figure.n_settings, depth);
        break;
    case EIN_STMT_GRID:
        fputc('\n', out);
        for (int i = 0; i < s->grid.n_axes; i++)
            dump_axis(out, &s->grid.axes[i], depth + 1);
        break;
    case EIN_STMT_REPORT:
        if (s->report.path) {
            fputc(' ', out);
            print_string(out, s->report.path, strlen(s->report.path));
        }
        dump_idents(out, s->report.metrics, s->report.n_metrics);
        fputc('\n', out);
        break;
    }
}

void ein_program_dump(const ein_program *p, FILE *out)
{
    fprintf(out, "program %s\n", p->name);
    for (int i = 0; i < p->n_stmts; i++)
        dump_stmt(out, p->stmts[i], 1);
    if (p->expr)
        dump_expr(out, p->expr, 1, "expr");
}

char *ein_setting_path_text(const ein_setting *st, char *buf, size_t n)
{
    size_t len = 0;
    if (n)
        buf[0] = '\0';
    for (int j = 0; j < st->n_path; j++) {      /* not snprintf: numfmt.h says why */
        const char *parts[2] = { j ? "." : "", st->path[j].name };
        for (int k = 0; k < 2; k++)
            for (const char *c = parts[k]; *c && len + 1 < n; c++)
                buf[len++] = *c;
    }
    if (n)
        buf[len] = '\0';
    return buf;
}
