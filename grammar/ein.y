/* ein.y — the grammar of .ein programs (docs/language.md has it in EBNF).
 *
 * A pure (reentrant) LALR(1) parser: all state lives in an ein_pstate the
 * caller passes in.  Semantic values point into the program's arena (ast.h),
 * so a value dropped during error recovery needs no destructor: the arena is
 * freed in one call whether the parse succeeds or not.
 *
 * Newlines are plain whitespace.  Statements need no terminator because no
 * statement can start with a token that could continue the previous one; the
 * names a statement may start with are therefore restricted where that
 * matters (local_name below).  Contextual keywords (data, network, norm, ...)
 * are tokens here, but every `name` position accepts them as identifiers.
 */
%define api.pure full
%define api.prefix {ein_yy}
%define api.location.type {ein_loc}
%define parse.error custom
%define parse.lac full
%locations
%expect 0
%param {void *scanner}
%parse-param {ein_pstate *st}

%code requires {
#include <stdbool.h>
#include "ein/ast.h"
#include "ein/diag.h"

/* Shared by the scanner (ein.l), the parser and src/parse.c. */
typedef struct ein_bracket {
    char open;                 /* ( [ { */
    ein_loc loc;
    int after;                 /* the token before it (TRAIN for `train {`) */
} ein_bracket;

typedef struct ein_pstate {
    ein_diag *diag;
    ein_program *prog;
    int file;
    const char *text;          /* the source, len bytes (the sink's copy) */
    size_t len;
    /* scanner position */
    uint32_t off;
    int line, col;
    /* open brackets, for "'}' expected (to close '{' at line 3)" and the depth limit */
    ein_bracket brackets[EIN_AST_MAX_DEPTH + 1];
    int n_brackets;
    int last_token_bracket;    /* +1: the last token opened a bracket, -1: closed one */
    ein_bracket last_popped;
    /* comments, collected for the formatter (malloc'd; parse.c copies them) */
    ein_comment *comments;
    int n_comments, cap_comments;
    ein_loc last_end;          /* just past the last token: where end of file is reported */
    int cur_tok, prev_tok;     /* the last two tokens returned, for did-you-mean hints */
    ein_loc cur_loc, prev_loc;
    int tokens_since_lex_error;/* a syntax error right after a lexical one is its echo */
    int n_errors;              /* reported for this text */
    int start_token;           /* START_EXPR, handed out once; 0 for a file */
    bool stop;                 /* fatal (too deep, error cap): the scanner returns end of file */
    bool incomplete;           /* the first error was at end of input */
    bool nomem;
} ein_pstate;

#define YYLLOC_DEFAULT(Cur, Rhs, N)                                          \
    do {                                                                     \
        if (N) {                                                             \
            (Cur) = YYRHSLOC(Rhs, 1);                                        \
            (Cur).end = YYRHSLOC(Rhs, N).end;                                \
            (Cur).end_line = YYRHSLOC(Rhs, N).end_line;                      \
            (Cur).end_col = YYRHSLOC(Rhs, N).end_col;                        \
        } else {                                                             \
            (Cur) = YYRHSLOC(Rhs, 0);                                        \
            (Cur).start = (Cur).end;                                         \
            (Cur).line = (Cur).end_line;                                     \
            (Cur).col = (Cur).end_col;                                       \
        }                                                                    \
    } while (0)

/* Bison's stack holds one state per open construct; 10 000 is far beyond any
 * real program and keeps a pathological input (ten thousand unary minuses)
 * to a bounded heap allocation and a clean "nesting too deep" error. */
#define YYMAXDEPTH 10000
}

%union {
    const char *str;
    ein_expr *expr;
    ein_stmt *stmt;
    struct ein_vec *vec;
    int num;
}

%code {
#include <stdlib.h>
#include <string.h>

int ein_yylex(EIN_YYSTYPE *lval, ein_loc *lloc, void *scanner);
static void ein_yyerror(ein_loc *lloc, void *scanner, ein_pstate *st, const char *msg);

/* A growable array in the arena; elements are stored by value. */
typedef struct ein_vec {
    void *items;
    int n, cap;
    size_t size;
} ein_vec;

static ein_vec *vec_new(ein_pstate *st, size_t size)
{
    ein_vec *v = ein_program_alloc(st->prog, sizeof *v);
    if (!v) {
        st->nomem = true;
        return NULL;
    }
    v->size = size;
    return v;
}

static ein_vec *vec_push(ein_pstate *st, ein_vec *v, const void *elem)
{
    if (!v)
        return NULL;
    if (v->n == v->cap) {
        int cap = v->cap ? 2 * v->cap : 4;
        void *items = ein_program_alloc(st->prog, (size_t)cap * v->size);
        if (!items) {
            st->nomem = true;
            return v;
        }
        if (v->n)
            memcpy(items, v->items, (size_t)v->n * v->size);
        v->items = items;
        v->cap = cap;
    }
    memcpy((char *)v->items + (size_t)v->n * v->size, elem, v->size);
    v->n++;
    return v;
}

#define VEC_ITEMS(v) ((v) ? (v)->items : NULL)
#define VEC_N(v) ((v) ? (v)->n : 0)

static ein_ident ident(const char *name, ein_loc loc) { return (ein_ident){ .name = name, .loc = loc }; }

/* Every expression constructor goes through here: it sets the depth and
 * enforces EIN_AST_MAX_DEPTH, so consumers can recurse freely. */
static ein_expr *finish(ein_pstate *st, ein_expr *e, int child_depth)
{
    if (!e) {
        st->nomem = true;
        return NULL;
    }
    e->depth = child_depth + 1;
    if (e->depth > EIN_AST_MAX_DEPTH && !st->stop) {
        ein_diag_error(st->diag, e->loc, "expression nested too deeply (more than %d levels)",
                       EIN_AST_MAX_DEPTH);
        st->n_errors++;
        st->stop = true;
    }
    return e;
}

static int depth_of(const ein_expr *e) { return e ? e->depth : 0; }
static int max2(int a, int b) { return a > b ? a : b; }

static ein_expr *mk_binary(ein_pstate *st, ein_loc loc, ein_binop op, ein_expr *l, ein_expr *r)
{
    ein_expr *e = ein_expr_new(st->prog, EIN_EXPR_BINARY, loc);
    if (e) {
        e->binary.op = op;
        e->binary.lhs = l;
        e->binary.rhs = r;
    }
    return finish(st, e, max2(depth_of(l), depth_of(r)));
}

static ein_expr *mk_unary(ein_pstate *st, ein_loc loc, ein_unop op, ein_expr *a)
{
    ein_expr *e = ein_expr_new(st->prog, EIN_EXPR_UNARY, loc);
    if (e) {
        e->unary.op = op;
        e->unary.arg = a;
    }
    return finish(st, e, depth_of(a));
}

static ein_expr *mk_name(ein_pstate *st, ein_loc loc, const char *name)
{
    ein_expr *e = ein_expr_new(st->prog, EIN_EXPR_NAME, loc);
    if (e)
        e->name = name;
    return finish(st, e, 0);
}

static ein_stmt *mk_stmt(ein_pstate *st, ein_stmt_kind kind, ein_loc loc)
{
    ein_stmt *s = ein_stmt_new(st->prog, kind, loc);
    if (!s)
        st->nomem = true;
    return s;
}

static void syntax_error(ein_pstate *st, ein_loc loc, const char *fmt, const char *arg)
{
    if (st->stop)
        return;
    if (st->n_errors == 0 && loc.start >= st->len)
        st->incomplete = true;
    st->n_errors++;
    ein_diag_error(st->diag, loc, fmt, arg);
    if (ein_diag_full(st->diag))
        st->stop = true;
}
}

%token END 0 "end of file"
%token <str> IDENT "name"
%token <expr> INT "integer" REAL "number" STRING "string"
%token IMPORT "import" EXPERIMENT "experiment" DEF "def" IN "in"
%token TRUE "true" FALSE "false" AND "and" OR "or" NOT "not" IF "if" THEN "then" ELSE "else"
%token <str> DATA "data" NETWORK "network" NORM "norm" LOSS "loss" TRAIN "train" GRID "grid"
%token <str> REPORT "report" INPUT "input" HIDDEN "hidden" OUTPUT "output" FORWARD "forward"
%token <str> BACKWARD "backward" WEIGHT "weight" UPDATES "updates" ZIP "zip" SAMPLE "sample"
%token <str> TABLE "table" WHERE "where" SEED "seed" X "x" FIGURE "figure"
%token DOTDOT ".." EQ "==" NE "!=" LE "<=" GE ">="
%token START_EXPR    /* first token, chosen by the parse mode (never in the source) */

%precedence IF_ELSE
%left OR
%left AND
%precedence NOT
%nonassoc EQ NE '<' LE '>' GE
%nonassoc DOTDOT
%left '+' '-'
%left '*' '/' '%'
%precedence NEG
%right '^'

%type <str> name local_name
%type <expr> expr postfix primary cell opt_weight
%type <stmt> item decl estmt
%type <vec> items estmts args arglist list_items fields fieldlist params paramlist
%type <vec> layers settings path axes zip_axes draws rows row metrics name_list opt_updates expr_list
%type <num> norm_dir

%%

program
    : items                     { st->prog->stmts = VEC_ITEMS($1); st->prog->n_stmts = VEC_N($1); }
    | START_EXPR expr           { st->prog->expr = $2; }
    ;

items
    : %empty                    { $$ = vec_new(st, sizeof(ein_stmt *)); }
    | items item                { $$ = $2 ? vec_push(st, $1, &$2) : $1; }
    ;

/* ---- top level ---------------------------------------------------------- */

item
    : decl
    | name '=' expr
        { $$ = mk_stmt(st, EIN_STMT_BIND, @$);
          if ($$) { $$->bind.name = ident($1, @1); $$->bind.value = $3; } }
    | error                     { $$ = NULL; }
    ;

decl
    : IMPORT STRING
        { $$ = mk_stmt(st, EIN_STMT_IMPORT, @$);
          if ($$) { $$->import.path = $2->string.text; $$->import.path_loc = @2; } }
    | DEF name '(' params ')' '=' expr
        { $$ = mk_stmt(st, EIN_STMT_DEF, @$);
          if ($$) { $$->def.name = ident($2, @2); $$->def.params = VEC_ITEMS($4);
                    $$->def.n_params = VEC_N($4); $$->def.body = $7; $$->def.eq_loc = @6; } }
    | EXPERIMENT name '{' estmts '}'
        { $$ = mk_stmt(st, EIN_STMT_EXPERIMENT, @$);
          if ($$) { $$->experiment.name = ident($2, @2); $$->experiment.stmts = VEC_ITEMS($4);
                    $$->experiment.n_stmts = VEC_N($4); } }
    ;

params
    : %empty                    { $$ = vec_new(st, sizeof(ein_param)); }
    | paramlist opt_comma       { $$ = $1; }
    ;

paramlist
    : name
        { ein_param p = { .name = ident($1, @1) }; $$ = vec_push(st, vec_new(st, sizeof p), &p); }
    | name '=' expr
        { ein_param p = { .name = ident($1, @1), .default_value = $3 };
          $$ = vec_push(st, vec_new(st, sizeof p), &p); }
    | paramlist ',' name
        { ein_param p = { .name = ident($3, @3) }; $$ = vec_push(st, $1, &p); }
    | paramlist ',' name '=' expr
        { ein_param p = { .name = ident($3, @3), .default_value = $5 }; $$ = vec_push(st, $1, &p); }
    ;

opt_comma: %empty | ',' ;

/* ---- experiment statements --------------------------------------------- */

estmts
    : %empty                    { $$ = vec_new(st, sizeof(ein_stmt *)); }
    | estmts estmt              { $$ = $2 ? vec_push(st, $1, &$2) : $1; }
    ;

estmt
    : DATA '=' expr
        { $$ = mk_stmt(st, EIN_STMT_DATA, @$); if ($$) $$->data.value = $3; }
    | NETWORK '{' layers '}'
        { $$ = mk_stmt(st, EIN_STMT_NETWORK, @$);
          if ($$) { $$->network.layers = VEC_ITEMS($3); $$->network.n_layers = VEC_N($3); } }
    | NORM norm_dir '=' expr
        { $$ = mk_stmt(st, EIN_STMT_NORM, @$);
          if ($$) { $$->norm.dir = (ein_norm_dir)$2; $$->norm.value = $4; } }
    | LOSS name '=' expr opt_weight opt_updates
        { $$ = mk_stmt(st, EIN_STMT_LOSS, @$);
          if ($$) { $$->loss.name = ident($2, @2); $$->loss.value = $4; $$->loss.weight = $5;
                    $$->loss.updates = VEC_ITEMS($6); $$->loss.n_updates = VEC_N($6); } }
    | TRAIN '{' settings '}'
        { $$ = mk_stmt(st, EIN_STMT_TRAIN, @$);
          if ($$) { $$->train.settings = VEC_ITEMS($3); $$->train.n_settings = VEC_N($3); } }
    | GRID '{' axes '}'
        { $$ = mk_stmt(st, EIN_STMT_GRID, @$);
          if ($$) { $$->grid.axes = VEC_ITEMS($3); $$->grid.n_axes = VEC_N($3); } }
    | REPORT '{' metrics '}'
        { $$ = mk_stmt(st, EIN_STMT_REPORT, @$);
          if ($$) { $$->report.metrics = VEC_ITEMS($3); $$->report.n_metrics = VEC_N($3); } }
    | REPORT STRING '{' metrics '}'
        { $$ = mk_stmt(st, EIN_STMT_REPORT, @$);
          if ($$) { $$->report.path = $2->string.text; $$->report.path_loc = @2;
                    $$->report.metrics = VEC_ITEMS($4); $$->report.n_metrics = VEC_N($4); } }
    | FIGURE name '{' settings '}'
        { $$ = mk_stmt(st, EIN_STMT_FIGURE, @$);
          if ($$) { $$->figure.name = ident($2, @2); $$->figure.settings = VEC_ITEMS($4);
                    $$->figure.n_settings = VEC_N($4); } }
    | local_name '=' expr
        { $$ = mk_stmt(st, EIN_STMT_BIND, @$);
          if ($$) { $$->bind.name = ident($1, @1); $$->bind.value = $3; } }
    | error                     { $$ = NULL; }
    ;

norm_dir
    : FORWARD                   { $$ = EIN_NORM_FORWARD; }
    | BACKWARD                  { $$ = EIN_NORM_BACKWARD; }
    ;

opt_weight
    : %empty                    { $$ = NULL; }
    | WEIGHT expr               { $$ = $2; }
    ;

opt_updates
    : %empty                    { $$ = NULL; }
    | UPDATES name_list         { $$ = $2; }
    ;

name_list
    : name                      { ein_ident id = ident($1, @1); $$ = vec_push(st, vec_new(st, sizeof id), &id); }
    | name_list ',' name        { ein_ident id = ident($3, @3); $$ = vec_push(st, $1, &id); }
    ;

metrics
    : name_list opt_comma       { $$ = $1; }
    ;

layers
    : %empty                    { $$ = vec_new(st, sizeof(ein_layer_decl)); }
    | layers INPUT expr
        { ein_layer_decl l = { .role = EIN_ROLE_INPUT, .loc = ein_loc_span(@2, @3), .value = $3 };
          $$ = vec_push(st, $1, &l); }
    | layers HIDDEN expr
        { ein_layer_decl l = { .role = EIN_ROLE_HIDDEN, .loc = ein_loc_span(@2, @3), .value = $3 };
          $$ = vec_push(st, $1, &l); }
    | layers HIDDEN expr X expr
        { ein_layer_decl l = { .role = EIN_ROLE_HIDDEN, .loc = ein_loc_span(@2, @5), .value = $3, .repeat = $5 };
          $$ = vec_push(st, $1, &l); }
    | layers OUTPUT expr
        { ein_layer_decl l = { .role = EIN_ROLE_OUTPUT, .loc = ein_loc_span(@2, @3), .value = $3 };
          $$ = vec_push(st, $1, &l); }
    | layers error              { $$ = $1; }
    ;

settings
    : %empty                    { $$ = vec_new(st, sizeof(ein_setting)); }
    | settings path '=' expr
        { ein_setting s = { .path = VEC_ITEMS($2), .n_path = VEC_N($2), .value = $4,
                            .loc = ein_loc_span(@2, @4) };
          $$ = vec_push(st, $1, &s); }
    | settings error            { $$ = $1; }
    ;

path
    : name                      { ein_ident id = ident($1, @1); $$ = vec_push(st, vec_new(st, sizeof id), &id); }
    | path '.' name             { ein_ident id = ident($3, @3); $$ = vec_push(st, $1, &id); }
    ;

/* ---- grid --------------------------------------------------------------- */

axes
    : %empty                    { $$ = vec_new(st, sizeof(ein_axis)); }
    | axes name IN expr
        { ein_axis a = { .kind = EIN_AXIS_IN, .loc = ein_loc_span(@2, @4), .name = ident($2, @2), .value = $4 };
          $$ = vec_push(st, $1, &a); }
    | axes name '=' expr
        { ein_axis a = { .kind = EIN_AXIS_DERIVED, .loc = ein_loc_span(@2, @4), .name = ident($2, @2), .value = $4 };
          $$ = vec_push(st, $1, &a); }
    | axes WHERE expr
        { ein_axis a = { .kind = EIN_AXIS_WHERE, .loc = ein_loc_span(@2, @3), .value = $3 };
          $$ = vec_push(st, $1, &a); }
    | axes ZIP '{' zip_axes '}'
        { ein_axis a = { .kind = EIN_AXIS_ZIP, .loc = ein_loc_span(@2, @5),
                         .zip = VEC_ITEMS($4), .n_zip = VEC_N($4) };
          $$ = vec_push(st, $1, &a); }
    | axes name IN SAMPLE INT SEED INT '{' draws '}'
        { ein_axis a = { .kind = EIN_AXIS_SAMPLE, .loc = ein_loc_span(@2, @10), .name = ident($2, @2),
                         .count = $5, .seed = $7, .draws = VEC_ITEMS($9), .n_draws = VEC_N($9) };
          $$ = vec_push(st, $1, &a); }
    | axes name IN expr '{' rows '}'
        { /* `cfg in table(lr, ne) { ... }`: the head parses as a call so that
             `table` stays an ordinary name elsewhere; check its shape here. */
          ein_axis a = { .kind = EIN_AXIS_TABLE, .loc = ein_loc_span(@2, @7), .name = ident($2, @2) };
          ein_expr *h = $4;
          bool ok = h && h->kind == EIN_EXPR_CALL && h->call.fn->kind == EIN_EXPR_NAME &&
                    strcmp(h->call.fn->name, "table") == 0 && h->call.n_args > 0;
          for (int i = 0; ok && i < h->call.n_args; i++)
              ok = !h->call.args[i].name && h->call.args[i].value->kind == EIN_EXPR_NAME;
          if (!ok) {
              syntax_error(st, @4, "%s", "a table axis is written 'NAME in table(COLUMN, ...) { rows }'");
          } else {
              a.n_columns = h->call.n_args;
              a.columns = ein_program_alloc(st->prog, (size_t)a.n_columns * sizeof *a.columns);
              if (!a.columns)
                  st->nomem = true;
              for (int i = 0; a.columns && i < a.n_columns; i++)
                  a.columns[i] = ident(h->call.args[i].value->name, h->call.args[i].value->loc);
              a.rows = VEC_ITEMS($6);
              a.n_rows = VEC_N($6);
              for (int i = 0; i < a.n_rows; i++)
                  if (a.rows[i].n_values != a.n_columns) {
                      char msg[96];
                      snprintf(msg, sizeof msg, "table row has %d value%s but the table has %d column%s",
                               a.rows[i].n_values, a.rows[i].n_values == 1 ? "" : "s",
                               a.n_columns, a.n_columns == 1 ? "" : "s");
                      syntax_error(st, a.rows[i].loc, "%s", msg);
                  }
          }
          $$ = vec_push(st, $1, &a); }
    | axes error                { $$ = $1; }
    ;

zip_axes
    : %empty                    { $$ = vec_new(st, sizeof(ein_axis)); }
    | zip_axes name IN expr
        { ein_axis a = { .kind = EIN_AXIS_IN, .loc = ein_loc_span(@2, @4), .name = ident($2, @2), .value = $4 };
          $$ = vec_push(st, $1, &a); }
    | zip_axes error            { $$ = $1; }
    ;

draws
    : %empty                    { $$ = vec_new(st, sizeof(ein_draw)); }
    | draws name '~' expr
        { ein_draw d = { .name = ident($2, @2), .dist = $4, .loc = ein_loc_span(@2, @4) };
          $$ = vec_push(st, $1, &d); }
    | draws error               { $$ = $1; }
    ;

rows
    : %empty                    { $$ = vec_new(st, sizeof(ein_table_row)); }
    | rows row
        { ein_table_row r = { .values = VEC_ITEMS($2), .n_values = VEC_N($2), .loc = @2 };
          $$ = vec_push(st, $1, &r); }
    ;

/* A row is values separated by commas; the next value without a comma
 * starts the next row, so rows need no terminator. */
row
    : cell                      { $$ = vec_push(st, vec_new(st, sizeof(ein_expr *)), &$1); }
    | row ',' cell              { $$ = vec_push(st, $1, &$3); }
    ;

cell
    : INT                       { $$ = $1; }
    | REAL                      { $$ = $1; }
    | STRING                    { $$ = $1; }
    | '-' INT                   { $$ = mk_unary(st, @$, EIN_OP_NEG, $2); }
    | '-' REAL                  { $$ = mk_unary(st, @$, EIN_OP_NEG, $2); }
    | TRUE                      { $$ = finish(st, ein_expr_new(st->prog, EIN_EXPR_BOOL, @$), 0); if ($$) $$->boolean = true; }
    | FALSE                     { $$ = finish(st, ein_expr_new(st->prog, EIN_EXPR_BOOL, @$), 0); }
    | name                      { $$ = mk_name(st, @$, $1); }
    ;

/* ---- names -------------------------------------------------------------- */

/* Any identifier, contextual keywords included. */
name
    : local_name
    | DATA | NETWORK | NORM | LOSS | TRAIN | GRID | REPORT | WEIGHT | UPDATES | FIGURE
    ;

/* Names that may start an experiment statement `NAME = expr`: not the
 * statement keywords, and not `weight`/`updates`, which would be read as the
 * continuation of a preceding loss statement. */
local_name
    : IDENT | INPUT | HIDDEN | OUTPUT | FORWARD | BACKWARD | ZIP | SAMPLE | TABLE | WHERE | SEED | X
    ;

/* ---- expressions -------------------------------------------------------- */

expr
    : postfix
    | expr OR expr              { $$ = mk_binary(st, @$, EIN_OP_OR, $1, $3); }
    | expr AND expr             { $$ = mk_binary(st, @$, EIN_OP_AND, $1, $3); }
    | NOT expr                  { $$ = mk_unary(st, @$, EIN_OP_NOT, $2); }
    | expr EQ expr              { $$ = mk_binary(st, @$, EIN_OP_EQ, $1, $3); }
    | expr NE expr              { $$ = mk_binary(st, @$, EIN_OP_NE, $1, $3); }
    | expr '<' expr             { $$ = mk_binary(st, @$, EIN_OP_LT, $1, $3); }
    | expr LE expr              { $$ = mk_binary(st, @$, EIN_OP_LE, $1, $3); }
    | expr '>' expr             { $$ = mk_binary(st, @$, EIN_OP_GT, $1, $3); }
    | expr GE expr              { $$ = mk_binary(st, @$, EIN_OP_GE, $1, $3); }
    | expr DOTDOT expr
        { $$ = ein_expr_new(st->prog, EIN_EXPR_RANGE, @$);
          if ($$) { $$->range.lo = $1; $$->range.hi = $3; }
          $$ = finish(st, $$, max2(depth_of($1), depth_of($3))); }
    | expr '+' expr             { $$ = mk_binary(st, @$, EIN_OP_ADD, $1, $3); }
    | expr '-' expr             { $$ = mk_binary(st, @$, EIN_OP_SUB, $1, $3); }
    | expr '*' expr             { $$ = mk_binary(st, @$, EIN_OP_MUL, $1, $3); }
    | expr '/' expr             { $$ = mk_binary(st, @$, EIN_OP_DIV, $1, $3); }
    | expr '%' expr             { $$ = mk_binary(st, @$, EIN_OP_MOD, $1, $3); }
    | expr '^' expr             { $$ = mk_binary(st, @$, EIN_OP_POW, $1, $3); }
    | '-' expr %prec NEG        { $$ = mk_unary(st, @$, EIN_OP_NEG, $2); }
    | IF expr THEN expr ELSE expr %prec IF_ELSE
        { $$ = ein_expr_new(st->prog, EIN_EXPR_IF, @$);
          if ($$) { $$->cond.test = $2; $$->cond.then_ = $4; $$->cond.else_ = $6; }
          $$ = finish(st, $$, max2(depth_of($2), max2(depth_of($4), depth_of($6)))); }
    ;

postfix
    : primary
    | postfix '.' name
        { $$ = ein_expr_new(st->prog, EIN_EXPR_FIELD, @$);
          if ($$) { $$->field.base = $1; $$->field.name = $3; $$->field.name_loc = @3; }
          $$ = finish(st, $$, depth_of($1)); }
    | postfix '(' args ')'
        { $$ = ein_expr_new(st->prog, EIN_EXPR_CALL, @$);
          int d = depth_of($1);
          if ($$) { $$->call.fn = $1; $$->call.args = VEC_ITEMS($3); $$->call.n_args = VEC_N($3);
                    for (int i = 0; i < $$->call.n_args; i++) d = max2(d, depth_of($$->call.args[i].value)); }
          $$ = finish(st, $$, d); }
    ;

primary
    : INT | REAL | STRING
    | TRUE                      { $$ = finish(st, ein_expr_new(st->prog, EIN_EXPR_BOOL, @$), 0); if ($$) $$->boolean = true; }
    | FALSE                     { $$ = finish(st, ein_expr_new(st->prog, EIN_EXPR_BOOL, @$), 0); }
    | name                      { $$ = mk_name(st, @$, $1); }
    | '(' expr ')'              { $$ = $2; }
    | '[' list_items ']'
        { $$ = ein_expr_new(st->prog, EIN_EXPR_LIST, @$);
          int d = 0;
          if ($$) { $$->list.items = VEC_ITEMS($2); $$->list.n_items = VEC_N($2);
                    for (int i = 0; i < $$->list.n_items; i++) d = max2(d, depth_of($$->list.items[i])); }
          $$ = finish(st, $$, d); }
    | '{' fields '}'
        { $$ = ein_expr_new(st->prog, EIN_EXPR_RECORD, @$);
          int d = 0;
          if ($$) { $$->record.fields = VEC_ITEMS($2); $$->record.n_fields = VEC_N($2);
                    for (int i = 0; i < $$->record.n_fields; i++) d = max2(d, depth_of($$->record.fields[i].value)); }
          $$ = finish(st, $$, d); }
    | '(' error ')'             { $$ = mk_name(st, @$, "<error>"); }
    | '[' error ']'             { $$ = mk_name(st, @$, "<error>"); }
    | '{' error '}'             { $$ = mk_name(st, @$, "<error>"); }
    ;

list_items
    : %empty                    { $$ = vec_new(st, sizeof(ein_expr *)); }
    | expr_list opt_comma       { $$ = $1; }
    ;

expr_list
    : expr                      { $$ = vec_push(st, vec_new(st, sizeof(ein_expr *)), &$1); }
    | expr_list ',' expr        { $$ = vec_push(st, $1, &$3); }
    ;

args
    : %empty                    { $$ = vec_new(st, sizeof(ein_arg)); }
    | arglist opt_comma         { $$ = $1; }
    ;

arglist
    : expr                      { ein_arg a = { .value = $1 }; $$ = vec_push(st, vec_new(st, sizeof a), &a); }
    | name '=' expr             { ein_arg a = { .name = $1, .name_loc = @1, .value = $3 };
                                  $$ = vec_push(st, vec_new(st, sizeof a), &a); }
    | arglist ',' expr          { ein_arg a = { .value = $3 }; $$ = vec_push(st, $1, &a); }
    | arglist ',' name '=' expr { ein_arg a = { .name = $3, .name_loc = @3, .value = $5 }; $$ = vec_push(st, $1, &a); }
    ;

fields
    : %empty                    { $$ = vec_new(st, sizeof(ein_field)); }
    | fieldlist opt_comma       { $$ = $1; }
    ;

fieldlist
    : name '=' expr             { ein_field f = { .name = $1, .name_loc = @1, .value = $3 };
                                  $$ = vec_push(st, vec_new(st, sizeof f), &f); }
    | name ':' expr             { ein_field f = { .name = $1, .name_loc = @1, .value = $3, .colon = true };
                                  $$ = vec_push(st, vec_new(st, sizeof f), &f); }
    | fieldlist ',' name '=' expr
        { ein_field f = { .name = $3, .name_loc = @3, .value = $5 }; $$ = vec_push(st, $1, &f); }
    | fieldlist ',' name ':' expr
        { ein_field f = { .name = $3, .name_loc = @3, .value = $5, .colon = true }; $$ = vec_push(st, $1, &f); }
    ;

%%

/* ---- error messages ------------------------------------------------------ */

static const char *closer_of(char open) { return open == '(' ? "')'" : open == '[' ? "']'" : "'}'"; }

/* How a token is named in "X expected": quoted punctuation and keywords,
 * plain words for token classes. */
static const char *symbol_text(yysymbol_kind_t sym, char *buf, size_t n)
{
    switch (sym) {
    case YYSYMBOL_YYEOF: return "end of file";
    case YYSYMBOL_IDENT: return "name";
    case YYSYMBOL_INT: return "integer";
    case YYSYMBOL_REAL: return "number";
    case YYSYMBOL_STRING: return "string";
    default: break;
    }
    const char *s = yysymbol_name(sym);
    size_t len = strlen(s);
    if (s[0] == '\'')                         /* '=' is already quoted */
        snprintf(buf, n, "%s", s);
    else if (len >= 2 && s[0] == '"')         /* "import" → 'import' */
        snprintf(buf, n, "'%.*s'", (int)(len - 2), s + 1);
    else
        snprintf(buf, n, "'%s'", s);
    return buf;
}

static bool is_contextual(yysymbol_kind_t s)
{
    switch (s) {
    case YYSYMBOL_DATA: case YYSYMBOL_NETWORK: case YYSYMBOL_NORM: case YYSYMBOL_LOSS:
    case YYSYMBOL_TRAIN: case YYSYMBOL_GRID: case YYSYMBOL_REPORT: case YYSYMBOL_INPUT:
    case YYSYMBOL_HIDDEN: case YYSYMBOL_OUTPUT: case YYSYMBOL_FORWARD: case YYSYMBOL_BACKWARD:
    case YYSYMBOL_WEIGHT: case YYSYMBOL_UPDATES: case YYSYMBOL_ZIP: case YYSYMBOL_SAMPLE:
    case YYSYMBOL_TABLE: case YYSYMBOL_WHERE: case YYSYMBOL_SEED: case YYSYMBOL_X:
    case YYSYMBOL_FIGURE:
        return true;
    default:
        return false;
    }
}

/* Punctuation symbols are numbered by bison; compare their names instead. */
static bool sym_is(yysymbol_kind_t s, const char *name) { return strcmp(yysymbol_name(s), name) == 0; }

/* Tokens that only continue an expression; listing them in "expected" is
 * noise ("'+' or '*' or ... expected"). */
static bool is_operator(yysymbol_kind_t s)
{
    static const char *const ops[] = { "'<'", "'>'", "'+'", "'-'", "'*'", "'/'", "'%'", "'^'",
                                       "'.'", "'('" };
    if (s == YYSYMBOL_OR || s == YYSYMBOL_AND || s == YYSYMBOL_EQ || s == YYSYMBOL_NE ||
        s == YYSYMBOL_LE || s == YYSYMBOL_GE || s == YYSYMBOL_DOTDOT)
        return true;
    for (size_t i = 0; i < sizeof ops / sizeof *ops; i++)
        if (sym_is(s, ops[i]))
            return true;
    return false;
}

/* Tokens that can start an expression. */
static bool starts_expr(yysymbol_kind_t s)
{
    return s == YYSYMBOL_IDENT || s == YYSYMBOL_INT || s == YYSYMBOL_REAL || s == YYSYMBOL_STRING ||
           s == YYSYMBOL_TRUE || s == YYSYMBOL_FALSE || s == YYSYMBOL_NOT || s == YYSYMBOL_IF ||
           sym_is(s, "'-'") || sym_is(s, "'['") || sym_is(s, "'{'") || sym_is(s, "'('") ||
           is_contextual(s);
}

/* "near 'x'": the offending token as written, shortened and made printable. */
static void near_text(const ein_pstate *st, ein_loc loc, char *buf, size_t n)
{
    if (loc.start >= st->len || loc.end <= loc.start) {
        snprintf(buf, n, "end of file");
        return;
    }
    size_t len = loc.end - loc.start, max = 24, o = 0;
    buf[o++] = '\'';
    for (size_t i = 0; i < len && i < max && o + 6 < n; i++) {
        unsigned char c = (unsigned char)st->text[loc.start + i];
        if (c == '\n' || c == '\r')
            break;
        if (c < 0x20 || c == 0x7F)
            o += (size_t)snprintf(buf + o, n - o, "\\x%02x", c);
        else
            buf[o++] = (char)c;
    }
    if (len > max && o + 4 < n) {
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    buf[o++] = '\'';
    buf[o] = '\0';
}

static void token_text(const ein_pstate *st, ein_loc loc, char *buf, size_t n)
{
    size_t len = loc.end > loc.start && loc.end <= st->len ? loc.end - loc.start : 0;
    if (len >= n)
        len = n - 1;
    memcpy(buf, st->text + loc.start, len);
    buf[len] = '\0';
}

/* A misspelled keyword shows up as a name: either it is the offending token
 * (`norm forwrd`: 'forward' was expected) or the name just before it
 * (`netwrk { ...`: the '{' is what fails).  Add "did you mean" for both. */
static void suggest_keyword(ein_pstate *st, yysymbol_kind_t got, ein_loc loc,
                            const yysymbol_kind_t *expected, int n)
{
    char word[64];
    const char *hit = NULL;
    ein_loc at = loc;
    if (got == YYSYMBOL_IDENT) {
        const char *plain[YYNTOKENS];
        int k = 0;
        for (int i = 0; i < n; i++) {
            const char *s = yysymbol_name(expected[i]);
            bool klass = expected[i] == YYSYMBOL_IDENT || expected[i] == YYSYMBOL_INT ||
                         expected[i] == YYSYMBOL_REAL || expected[i] == YYSYMBOL_STRING ||
                         expected[i] == YYSYMBOL_YYEOF;
            if (!klass && ((s[0] >= 'a' && s[0] <= 'z') || s[0] == '"'))   /* keywords */
                plain[k++] = s[0] == '"' ? s + 1 : s;
        }
        token_text(st, loc, word, sizeof word);
        hit = ein_suggest(word, plain, (size_t)k);
        if (hit) {
            ein_diag_note(st->diag, at, "did you mean '%s'?", hit);
            return;
        }
    }
    if (st->prev_tok == IDENT && st->prev_loc.start < loc.start) {
        static const char *const words[] = {
            "import", "experiment", "def", "data", "network", "norm", "loss", "train", "grid",
            "report", "input", "hidden", "output", "zip", "where", "sample", "seed", "table",
            "weight", "updates", "forward", "backward", "then", "else", "in", "figure",
        };
        token_text(st, st->prev_loc, word, sizeof word);
        hit = ein_suggest(word, words, sizeof words / sizeof *words);
        if (hit)
            ein_diag_note(st->diag, st->prev_loc, "did you mean '%s'?", hit);
    }
}

/* The experiment statements that open a block: `train {`, ... */
static const char *block_word(int tok)
{
    switch (tok) {
    case NETWORK: return "network";
    case TRAIN: return "train";
    case GRID: return "grid";
    case REPORT: return "report";
    case EXPERIMENT: return "experiment";
    default: return NULL;
    }
}

static int yyreport_syntax_error(const yypcontext_t *ctx, void *scanner, ein_pstate *st)
{
    (void)scanner;
    if (st->stop)
        return 0;
    ein_loc loc = *yypcontext_location(ctx);
    if (st->n_errors > 0 && st->tokens_since_lex_error <= 1) {
        st->n_errors++;   /* an echo of the lexical error just reported: count, don't show */
        return 0;
    }
    yysymbol_kind_t expected[YYNTOKENS];
    int n = yypcontext_expected_tokens(ctx, expected, YYNTOKENS);
    if (n < 0)
        n = 0;

    /* The innermost bracket open before the offending token. */
    const ein_bracket *open = NULL;
    int top = st->n_brackets - 1 - (st->last_token_bracket > 0);
    if (st->last_token_bracket < 0)
        open = &st->last_popped;
    else if (top >= 0)
        open = &st->brackets[top];

    bool want_ident = false, want_expr = false, want_closer = false;
    for (int i = 0; i < n; i++) {
        if (expected[i] == YYSYMBOL_IDENT)
            want_ident = true;
        if (expected[i] == YYSYMBOL_INT)
            want_expr = true;
    }
    /* Build the list: "expression" stands for every token that can start
     * one; contextual keywords hide behind "name"; operators are dropped
     * unless nothing else is expected (`def f x`: only '(' fits). */
    char list[256] = "", item[80], tmp[64];
    char names[8][64];
    int k = 0;
    bool overflow = false;
    if (want_expr)
        snprintf(names[k++], sizeof names[0], "expression");
    int base = k;
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < n; i++) {
            yysymbol_kind_t s = expected[i];
            if (pass == 0 && is_operator(s))
                continue;
            if (want_expr && starts_expr(s))
                continue;
            if ((want_ident || want_expr) && is_contextual(s))
                continue;
            if (k == 8) {
                overflow = true;
                break;
            }
            snprintf(names[k], sizeof names[k], "%s", symbol_text(s, tmp, sizeof tmp));
            if (open && strcmp(names[k], closer_of(open->open)) == 0)
                want_closer = true;
            k++;
        }
        if (k > base || want_expr || overflow)
            break;
    }
    /* Closers and end of file read best last: "',' or '}' expected". */
    for (int pass = 0, w = base; pass < 2; pass++)
        for (int i = base; i < k; i++) {
            bool last = strcmp(names[i], "')'") == 0 || strcmp(names[i], "']'") == 0 ||
                        strcmp(names[i], "'}'") == 0 || strcmp(names[i], "end of file") == 0;
            if (last == (pass == 1) && i != w) {
                char t[64];
                memcpy(t, names[i], sizeof t);
                memmove(names[w + 1], names[w], (size_t)(i - w) * sizeof names[0]);
                memcpy(names[w], t, sizeof t);
            }
            if (last == (pass == 1))
                w++;
        }
    yysymbol_kind_t got = yypcontext_token(ctx);
    /* `train {` left open, then `grid {`: say which block is unclosed, at the
     * statement that shows it, and stop (what follows would only echo it). */
    const char *inner = block_word(st->prev_tok), *outer = open ? block_word(open->after) : NULL;
    if (sym_is(got, "'{'") && inner && outer && open->open == '{') {
        char msg[160];
        snprintf(msg, sizeof msg, "'}' expected to close '%s {' at line %d (before '%s {')", outer,
                 open->loc.line, inner);
        syntax_error(st, st->prev_loc, "%s", msg);
        st->stop = true;
        return 0;
    }
    char nearbuf[128];
    near_text(st, loc, nearbuf, sizeof nearbuf);
    const char *hint = "";
    if (got == YYSYMBOL_EQ || got == YYSYMBOL_NE || got == YYSYMBOL_LE || got == YYSYMBOL_GE ||
        sym_is(got, "'<'") || sym_is(got, "'>'"))
        hint = " (comparisons do not chain: write 'a < b and b < c')";
    else if (got == YYSYMBOL_DOTDOT)
        hint = " (ranges do not chain)";
    else if (want_ident && (got == YYSYMBOL_IN || got == YYSYMBOL_TRUE || got == YYSYMBOL_FALSE ||
                            got == YYSYMBOL_AND || got == YYSYMBOL_OR || got == YYSYMBOL_NOT ||
                            got == YYSYMBOL_IF || got == YYSYMBOL_THEN || got == YYSYMBOL_ELSE ||
                            got == YYSYMBOL_IMPORT || got == YYSYMBOL_DEF || got == YYSYMBOL_EXPERIMENT))
        hint = " (a reserved word cannot be used as a name)";
    char closing[96] = "";
    if (want_closer && open->loc.line != loc.line)
        snprintf(closing, sizeof closing, " (to close '%c' at line %d)", open->open, open->loc.line);

    char msg[1024];
    if (k == 0 || overflow || k > 4) {
        if (want_closer && loc.start >= st->len)
            snprintf(msg, sizeof msg, "%s expected%s near end of file", closer_of(open->open), closing);
        else
            snprintf(msg, sizeof msg, "unexpected %s%s", nearbuf, hint);
    } else {
        for (int i = 0; i < k; i++) {
            snprintf(item, sizeof item, "%s%s", i == 0 ? "" : i == k - 1 ? " or " : ", ", names[i]);
            strncat(list, item, sizeof list - strlen(list) - 1);
        }
        snprintf(msg, sizeof msg, "%s expected%s near %s%s", list, closing, nearbuf, hint);
    }
    syntax_error(st, loc, "%s", msg);
    suggest_keyword(st, got, loc, expected, n);
    return 0;
}

/* Bison calls this only for stack exhaustion (syntax errors go through
 * yyreport_syntax_error): the input nests deeper than YYMAXDEPTH. */
static void ein_yyerror(ein_loc *lloc, void *scanner, ein_pstate *st, const char *msg)
{
    (void)scanner;
    if (strstr(msg, "exhausted"))
        syntax_error(st, *lloc, "nesting too deep (more than %s levels)", "10000");
    else
        syntax_error(st, *lloc, "%s", msg);
    st->stop = true;
}
