/* check_parser.c — source → AST: every construct, operator precedence,
 * contextual keywords, and bad input that must give an error, never a crash
 * (empty, binary garbage, NUL bytes, 10 MB, 10 000 levels of nesting). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ein/ast.h"
#include "ein/diag.h"
#include "ein/parse.h"

/* ---- helpers ------------------------------------------------------------ */

/* Fully parenthesized prefix form: shows exactly how an expression parsed. */
static void sx(FILE *f, const ein_expr *e)
{
    switch (e->kind) {
    case EIN_EXPR_INT: fprintf(f, "%lld", e->integer.value); break;
    case EIN_EXPR_REAL: fprintf(f, "%gr", e->real.value); break;
    case EIN_EXPR_STRING: fprintf(f, "\"%s\"", e->string.text); break;
    case EIN_EXPR_BOOL: fputs(e->boolean ? "true" : "false", f); break;
    case EIN_EXPR_NAME: fputs(e->name, f); break;
    case EIN_EXPR_FIELD: fputs("(. ", f); sx(f, e->field.base); fprintf(f, " %s)", e->field.name); break;
    case EIN_EXPR_CALL:
        fputs("(call ", f);
        sx(f, e->call.fn);
        for (int i = 0; i < e->call.n_args; i++) {
            fputc(' ', f);
            if (e->call.args[i].name)
                fprintf(f, "%s=", e->call.args[i].name);
            sx(f, e->call.args[i].value);
        }
        fputc(')', f);
        break;
    case EIN_EXPR_LIST:
        fputc('[', f);
        for (int i = 0; i < e->list.n_items; i++) {
            if (i)
                fputc(' ', f);
            sx(f, e->list.items[i]);
        }
        fputc(']', f);
        break;
    case EIN_EXPR_RECORD:
        fputc('{', f);
        for (int i = 0; i < e->record.n_fields; i++) {
            fprintf(f, "%s%s%s", i ? " " : "", e->record.fields[i].name, e->record.fields[i].colon ? ":" : "=");
            sx(f, e->record.fields[i].value);
        }
        fputc('}', f);
        break;
    case EIN_EXPR_RANGE: fputs("(.. ", f); sx(f, e->range.lo); fputc(' ', f); sx(f, e->range.hi); fputc(')', f); break;
    case EIN_EXPR_UNARY: fprintf(f, "(%s ", ein_unop_text(e->unary.op)); sx(f, e->unary.arg); fputc(')', f); break;
    case EIN_EXPR_BINARY:
        fprintf(f, "(%s ", ein_binop_text(e->binary.op));
        sx(f, e->binary.lhs);
        fputc(' ', f);
        sx(f, e->binary.rhs);
        fputc(')', f);
        break;
    case EIN_EXPR_IF:
        fputs("(if ", f);
        sx(f, e->cond.test);
        fputc(' ', f);
        sx(f, e->cond.then_);
        fputc(' ', f);
        sx(f, e->cond.else_);
        fputc(')', f);
        break;
    }
}

static char *sx_string(const ein_expr *e)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    sx(f, e);
    fclose(f);
    return buf;
}

static ein_program *parse(ein_diag *d, const char *src)
{
    return ein_parse_buffer(d, "t.ein", src, strlen(src), NULL);
}

/* Parse `src` that must be valid; print diagnostics if it is not. */
static ein_program *parse_ok(ein_diag *d, const char *src)
{
    ein_program *p = parse(d, src);
    if (!p)
        ein_diag_print(d, stderr);
    ck_assert_msg(p != NULL, "did not parse: %s", src);
    return p;
}

static char *first_error(const char *src, size_t len)
{
    ein_diag *d = ein_diag_new();
    ein_program *p = ein_parse_buffer(d, "t.ein", src, len, NULL);
    ck_assert_ptr_null(p);
    ck_assert_uint_ge(ein_diag_count(d), 1);
    char *out = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&out, &n);
    ein_diag_print_head(d, 0, f);
    fclose(f);
    ein_diag_free(d);
    return out;
}

/* ---- expressions -------------------------------------------------------- */

static const struct { const char *src, *want; } exprs[] = {
    { "1 + 2 * 3", "(+ 1 (* 2 3))" },
    { "(1 + 2) * 3", "(* (+ 1 2) 3)" },
    { "1 - 2 - 3", "(- (- 1 2) 3)" },
    { "2 ^ 3 ^ 2", "(^ 2 (^ 3 2))" },
    { "-2 ^ 2", "(- (^ 2 2))" },
    { "2 ^ -1", "(^ 2 (- 1))" },
    { "-a * b", "(* (- a) b)" },
    { "a % b / c", "(/ (% a b) c)" },
    { "a or b and c", "(or a (and b c))" },
    { "not a == b", "(not (== a b))" },
    { "not a and b", "(and (not a) b)" },
    { "a < b + 1", "(< a (+ b 1))" },
    { "a != b or c >= d", "(or (!= a b) (>= c d))" },
    { "1..n + 1", "(.. 1 (+ n 1))" },
    { "if a then b else c + 1", "(if a b (+ c 1))" },
    { "1 + (if a then 2 else 3)", "(+ 1 (if a 2 3))" },
    { "variant.fwd", "(. variant fwd)" },
    { "a.b.c(1)(2)", "(call (call (. (. a b) c) 1) 2)" },
    { "ei(500, ne = w, fwd = layernorm,)", "(call ei 500 ne=w fwd=layernorm)" },
    { "f()", "(call f)" },
    { "[1, 2.5, \"s\", true, false,]", "[1 2.5r \"s\" true false]" },
    { "[]", "[]" },
    { "{ ln: { fwd = layernorm }, gn: 2 }", "{ln:{fwd=layernorm} gn:2}" },
    { "{}", "{}" },
    { "500", "500" },
    { "500.0", "500r" },
    { "1e-3", "0.001r" },
    { "\"a\\nb\"", "\"a\nb\"" },
    { "logspace(-3, -1, 5)", "(call logspace (- 3) (- 1) 5)" },
    { "data.batch + loss.weight", "(+ (. data batch) (. loss weight))" },
    { "x * x", "(* x x)" },
    { "table(1)", "(call table 1)" },
    { "sample + seed", "(+ sample seed)" },
};

START_TEST(expression_shapes)
{
    char src[256];
    snprintf(src, sizeof src, "v = %s\n", exprs[_i].src);
    ein_diag *d = ein_diag_new();
    ein_program *p = parse_ok(d, src);
    ck_assert_int_eq(p->n_stmts, 1);
    ck_assert_int_eq(p->stmts[0]->kind, EIN_STMT_BIND);
    char *got = sx_string(p->stmts[0]->bind.value);
    ck_assert_msg(strcmp(got, exprs[_i].want) == 0, "%s:\n got  %s\n want %s", exprs[_i].src, got, exprs[_i].want);
    free(got);
    ein_program_free(p);
    ein_diag_free(d);
}
END_TEST

START_TEST(numbers_keep_kind_and_spelling)
{
    ein_diag *d = ein_diag_new();
    ein_program *p = parse_ok(d, "a = 500\nb = 500.0\nc = .50\n");
    ck_assert_int_eq(p->stmts[0]->bind.value->kind, EIN_EXPR_INT);
    ck_assert_int_eq(p->stmts[0]->bind.value->integer.value, 500);
    ck_assert_int_eq(p->stmts[1]->bind.value->kind, EIN_EXPR_REAL);
    ck_assert_str_eq(p->stmts[1]->bind.value->real.text, "500.0");
    ck_assert_str_eq(p->stmts[2]->bind.value->real.text, ".50");
    ck_assert(p->stmts[2]->bind.value->real.value == 0.5);
    ck_assert_int_eq(p->stmts[0]->bind.value->depth, 1);
    ein_program_free(p);
    ein_diag_free(d);
}
END_TEST

/* ---- statements --------------------------------------------------------- */

static const char *full_program =
    "import \"ei\"\n"
    "width = 500\n"
    "def hidden_layer(ne, fwd = none) = ei(ne = ne, fwd = fwd)\n"
    "experiment fig5 {\n"
    "  data = fashion_mnist(eps = eps, batch = 32)\n"
    "  network {\n"
    "    input 784\n"
    "    hidden hidden_layer(width) x depth\n"
    "    hidden e_only(ne = 100)\n"
    "    output ei(ne = 10, ni = 1)\n"
    "  }\n"
    "  norm forward = variant.fwd\n"
    "  norm backward = variant.bwd\n"
    "  loss task = cross_entropy(smoothing = 0.1)\n"
    "  loss inorm = inorm_loss() weight 0.01 updates wix, bix\n"
    "  loss other = inorm_loss() updates inhibitory\n"
    "  lr_i = lr / 10\n"
    "  train {\n"
    "    optimizer = sgd\n"
    "    lr.wix = lr_i\n"
    "    seed = 1\n"
    "  }\n"
    "  grid {\n"
    "    eps in [0, 0.25]\n"
    "    depth in 1..3\n"
    "    lr = 0.1 / depth\n"
    "    zip {\n"
    "      a in [1, 2]\n"
    "      b in [3, 4]\n"
    "    }\n"
    "    cfg in sample 30 seed 7 {\n"
    "      lr ~ loguniform(1e-4, 1e-1)\n"
    "      ne ~ randint(100, 500)\n"
    "    }\n"
    "    row in table(lr, ne, name) {\n"
    "      0.1, 500, \"a\"\n"
    "      1e-3, -250, b\n"
    "    }\n"
    "    variant in { ln: { fwd = layernorm, bwd = none } }\n"
    "    where not (variant == \"ln\" and eps > 0.5)\n"
    "  }\n"
    "  report \"results/fig5\" { test_acc, moments }\n"
    "  report { cos_ln_out }\n"
    "}\n";

START_TEST(every_statement)
{
    ein_diag *d = ein_diag_new();
    ein_program *p = parse_ok(d, full_program);
    ck_assert_int_eq(p->n_stmts, 4);
    ck_assert_int_eq(p->stmts[0]->kind, EIN_STMT_IMPORT);
    ck_assert_str_eq(p->stmts[0]->import.path, "ei");
    ck_assert_int_eq(p->stmts[0]->import.path_loc.col, 8);

    const ein_stmt *def = p->stmts[2];
    ck_assert_int_eq(def->kind, EIN_STMT_DEF);
    ck_assert_str_eq(def->def.name.name, "hidden_layer");
    ck_assert_int_eq(def->def.n_params, 2);
    ck_assert_ptr_null(def->def.params[0].default_value);
    ck_assert_str_eq(def->def.params[1].default_value->name, "none");

    const ein_stmt *ex = p->stmts[3];
    ck_assert_int_eq(ex->kind, EIN_STMT_EXPERIMENT);
    ck_assert_str_eq(ex->experiment.name.name, "fig5");
    ck_assert_int_eq(ex->loc.line, 4);
    ck_assert_int_eq(ex->loc.end_line, 44);
    ck_assert_int_eq(ex->experiment.n_stmts, 12);
    static const ein_stmt_kind kinds[] = { EIN_STMT_DATA, EIN_STMT_NETWORK, EIN_STMT_NORM, EIN_STMT_NORM,
                                           EIN_STMT_LOSS, EIN_STMT_LOSS, EIN_STMT_LOSS, EIN_STMT_BIND,
                                           EIN_STMT_TRAIN, EIN_STMT_GRID, EIN_STMT_REPORT, EIN_STMT_REPORT };
    for (int i = 0; i < 12; i++)
        ck_assert_int_eq(ex->experiment.stmts[i]->kind, kinds[i]);
    ein_stmt **s = ex->experiment.stmts;

    ck_assert_int_eq(s[1]->network.n_layers, 4);
    ck_assert_int_eq(s[1]->network.layers[0].role, EIN_ROLE_INPUT);
    ck_assert_int_eq(s[1]->network.layers[1].role, EIN_ROLE_HIDDEN);
    ck_assert_str_eq(s[1]->network.layers[1].repeat->name, "depth");
    ck_assert_int_eq(s[1]->network.layers[1].loc.line, 8);
    ck_assert_int_eq(s[1]->network.layers[1].loc.col, 5);
    ck_assert_ptr_null(s[1]->network.layers[2].repeat);
    ck_assert_int_eq(s[1]->network.layers[3].role, EIN_ROLE_OUTPUT);

    ck_assert_int_eq(s[2]->norm.dir, EIN_NORM_FORWARD);
    ck_assert_int_eq(s[3]->norm.dir, EIN_NORM_BACKWARD);

    ck_assert_ptr_null(s[4]->loss.weight);
    ck_assert_int_eq(s[4]->loss.n_updates, 0);
    ck_assert_str_eq(s[5]->loss.name.name, "inorm");
    ck_assert_str_eq(s[5]->loss.weight->real.text, "0.01");
    ck_assert_int_eq(s[5]->loss.n_updates, 2);
    ck_assert_str_eq(s[5]->loss.updates[1].name, "bix");
    ck_assert_int_eq(s[5]->loss.updates[1].loc.col, 54);
    ck_assert_ptr_null(s[6]->loss.weight);
    ck_assert_str_eq(s[6]->loss.updates[0].name, "inhibitory");

    ck_assert_int_eq(s[8]->train.n_settings, 3);
    ck_assert_int_eq(s[8]->train.settings[1].n_path, 2);
    ck_assert_str_eq(s[8]->train.settings[1].path[1].name, "wix");
    ck_assert_str_eq(s[8]->train.settings[2].path[0].name, "seed");

    const ein_stmt *g = s[9];
    ck_assert_int_eq(g->grid.n_axes, 8);
    ck_assert_int_eq(g->grid.axes[0].kind, EIN_AXIS_IN);
    ck_assert_int_eq(g->grid.axes[1].value->kind, EIN_EXPR_RANGE);
    ck_assert_int_eq(g->grid.axes[2].kind, EIN_AXIS_DERIVED);
    ck_assert_int_eq(g->grid.axes[3].kind, EIN_AXIS_ZIP);
    ck_assert_int_eq(g->grid.axes[3].n_zip, 2);
    ck_assert_str_eq(g->grid.axes[3].zip[1].name.name, "b");
    const ein_axis *sm = &g->grid.axes[4];
    ck_assert_int_eq(sm->kind, EIN_AXIS_SAMPLE);
    ck_assert_int_eq(sm->count->integer.value, 30);
    ck_assert_int_eq(sm->seed->integer.value, 7);
    ck_assert_int_eq(sm->n_draws, 2);
    ck_assert_str_eq(sm->draws[1].name.name, "ne");
    const ein_axis *tb = &g->grid.axes[5];
    ck_assert_int_eq(tb->kind, EIN_AXIS_TABLE);
    ck_assert_int_eq(tb->n_columns, 3);
    ck_assert_str_eq(tb->columns[2].name, "name");
    ck_assert_int_eq(tb->n_rows, 2);
    ck_assert_int_eq(tb->rows[1].n_values, 3);
    ck_assert_int_eq(tb->rows[1].values[1]->kind, EIN_EXPR_UNARY);
    ck_assert_int_eq(tb->rows[1].loc.line, 37);
    ck_assert_int_eq(g->grid.axes[6].value->kind, EIN_EXPR_RECORD);
    ck_assert_int_eq(g->grid.axes[7].kind, EIN_AXIS_WHERE);

    ck_assert_str_eq(s[10]->report.path, "results/fig5");
    ck_assert_int_eq(s[10]->report.n_metrics, 2);
    ck_assert_ptr_null(s[11]->report.path);
    ck_assert_str_eq(s[11]->report.metrics[0].name, "cos_ln_out");
    ein_program_free(p);
    ein_diag_free(d);
}
END_TEST

/* The golden dump pins locations and node shapes. */
START_TEST(dump_format)
{
    ein_diag *d = ein_diag_new();
    ein_program *p = parse_ok(d, "w = f(a, k = -1.5)\n");
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    ein_program_dump(p, f);
    fclose(f);
    ck_assert_str_eq(out, "program t.ein\n"
                          "  stmt bind @1:1-1:19 w\n"
                          "    call @1:5-1:19\n"
                          "      fn: name @1:5-1:6 f\n"
                          "      arg: name @1:7-1:8 a\n"
                          "      k: unary @1:14-1:18 -\n"
                          "        real @1:15-1:18 1.5\n");
    free(out);
    ein_program_free(p);
    ein_diag_free(d);
}
END_TEST

/* Golden dump of the block statements: node kinds, fields and ranges. */
START_TEST(dump_blocks)
{
    const char *src =
        "experiment e {\n"
        "  network {\n"
        "    hidden h x 2\n"
        "  }\n"
        "  loss t = f() weight 0.5 updates wex, bias\n"
        "  train {\n"
        "    lr.wix = 1\n"
        "  }\n"
        "  grid {\n"
        "    zip {\n"
        "      a in [1]\n"
        "    }\n"
        "    c in sample 3 seed 4 {\n"
        "      lr ~ u(1, 2)\n"
        "    }\n"
        "    t in table(p, q) {\n"
        "      1, -2\n"
        "    }\n"
        "    d = a * 2\n"
        "    where a != 1\n"
        "  }\n"
        "  report \"out\" { test_acc }\n"
        "}\n";
    const char *want =
        "program g.ein\n"
        "  stmt experiment @1:1-23:2 e\n"
        "    stmt network @2:3-4:4\n"
        "      layer hidden @3:5-3:17\n"
        "        name @3:12-3:13 h\n"
        "        repeat: int @3:16-3:17 2\n"
        "    stmt loss @5:3-5:44 t updates wex,bias\n"
        "      call @5:12-5:15\n"
        "        fn: name @5:12-5:13 f\n"
        "      weight: real @5:23-5:26 0.5\n"
        "    stmt train @6:3-8:4\n"
        "      set @7:5-7:15 lr.wix\n"
        "        int @7:14-7:15 1\n"
        "    stmt grid @9:3-21:4\n"
        "      axis zip @10:5-12:6\n"
        "        axis in @11:7-11:15 a\n"
        "          list @11:12-11:15\n"
        "            int @11:13-11:14 1\n"
        "      axis sample @13:5-15:6 c\n"
        "        count: int @13:17-13:18 3\n"
        "        seed: int @13:24-13:25 4\n"
        "        lr: call @14:12-14:19\n"
        "          fn: name @14:12-14:13 u\n"
        "          arg: int @14:14-14:15 1\n"
        "          arg: int @14:17-14:18 2\n"
        "      axis table @16:5-18:6 t p,q\n"
        "        row @17:7-17:12\n"
        "          int @17:7-17:8 1\n"
        "          unary @17:10-17:12 -\n"
        "            int @17:11-17:12 2\n"
        "      axis derived @19:5-19:14 d\n"
        "        binary @19:9-19:14 *\n"
        "          name @19:9-19:10 a\n"
        "          int @19:13-19:14 2\n"
        "      axis where @20:5-20:17\n"
        "        binary @20:11-20:17 !=\n"
        "          name @20:11-20:12 a\n"
        "          int @20:16-20:17 1\n"
        "    stmt report @22:3-22:28 \"out\" test_acc\n";
    ein_diag *d = ein_diag_new();
    ein_program *p = ein_parse_buffer(d, "g.ein", src, strlen(src), NULL);
    ck_assert_ptr_nonnull(p);
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    ein_program_dump(p, f);
    fclose(f);
    ck_assert_str_eq(out, want);
    free(out);
    ein_program_free(p);
    ein_diag_free(d);
}
END_TEST

/* Contextual keywords are names everywhere a statement cannot start. */
START_TEST(contextual_keywords_are_names)
{
    ein_diag *d = ein_diag_new();
    ein_program *p = parse_ok(d,
        "data = 1\nnetwork = 2\nloss = data + network\nx = x\n"
        "def f(weight, updates = 1, grid = 2) = weight * updates\n"
        "r = { report = 1, train: 2, where = 3, zip = 4 }\n"
        "c = f(data = 1, input = 2).hidden\n"
        "experiment data {\n"
        "  input = 3\n"
        "  where = input\n"
        "  grid { zip in [1]  where = 2  sample in [3]  table in [4]  where zip > 1 }\n"
        "  train { weight = 1  updates.x = 2 }\n"
        "}\n");
    ck_assert_int_eq(p->n_stmts, 8);
    ck_assert_str_eq(p->stmts[0]->bind.name.name, "data");
    ck_assert_str_eq(p->stmts[3]->bind.value->name, "x");
    ck_assert_str_eq(p->stmts[4]->def.params[0].name.name, "weight");
    const ein_stmt *ex = p->stmts[7];
    ck_assert_str_eq(ex->experiment.name.name, "data");
    ck_assert_int_eq(ex->experiment.n_stmts, 4);
    const ein_stmt *g = ex->experiment.stmts[2];
    ck_assert_int_eq(g->grid.n_axes, 5);
    ck_assert_str_eq(g->grid.axes[0].name.name, "zip");
    ck_assert_int_eq(g->grid.axes[1].kind, EIN_AXIS_DERIVED);
    ck_assert_int_eq(g->grid.axes[4].kind, EIN_AXIS_WHERE);
    ein_program_free(p);
    ein_diag_free(d);
}
END_TEST

/* An override is one expression. */
START_TEST(parse_modes)
{
    ein_diag *d = ein_diag_new();
    ein_program *p;
    const char *over = "[0, 0.5] ";
    p = ein_parse_text(d, "--set eps", over, strlen(over), EIN_PARSE_EXPR, NULL);
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(p->n_stmts, 0);
    ck_assert_int_eq(p->expr->kind, EIN_EXPR_LIST);
    ck_assert_int_eq(p->expr->loc.col, 1);
    char *s = ein_expr_to_string(p->expr);
    ck_assert_str_eq(s, "[0, 0.5]");
    free(s);
    ein_program_free(p);

    size_t before = ein_diag_count(d);
    p = ein_parse_text(d, "--set eps", "0.5 x", 5, EIN_PARSE_EXPR, NULL);
    ck_assert_ptr_null(p);
    ck_assert_str_eq(ein_diag_get(d, before)->msg, "end of file expected near 'x'");
    ein_parse_info info;
    p = ein_parse_text(d, "--set eps", "", 0, EIN_PARSE_EXPR, &info);
    ck_assert_ptr_null(p);
    ck_assert(info.incomplete);
    ck_assert_str_eq(ein_diag_get(d, before + 1)->msg, "expression expected near end of file");
    ein_diag_free(d);
}
END_TEST

/* ---- robustness --------------------------------------------------------- */

START_TEST(empty_and_comment_only)
{
    ein_diag *d = ein_diag_new();
    ein_program *p = ein_parse_buffer(d, "e.ein", "", 0, NULL);
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(p->n_stmts, 0);
    ein_program_free(p);
    p = parse_ok(d, "# nothing\n/* at all */");
    ck_assert_int_eq(p->n_stmts, 0);
    ck_assert_int_eq(p->n_comments, 2);
    ck_assert_str_eq(p->comments[0].text, "# nothing");
    ein_program_free(p);
    p = parse_ok(d, "x = 1 # trailing, no newline");
    ck_assert_int_eq(p->n_stmts, 1);
    ein_program_free(p);
    ck_assert_int_eq(ein_diag_n_errors(d), 0);
    ein_diag_free(d);
}
END_TEST

START_TEST(crlf_line_endings)
{
    ein_diag *d = ein_diag_new();
    ein_program *p = parse_ok(d, "x = 1 # c\r\nexperiment e {\r\n  data = f(\r\n    a = 1)\r\n}\r\n");
    ck_assert_int_eq(p->n_stmts, 2);
    ck_assert_int_eq(p->stmts[1]->experiment.stmts[0]->loc.line, 3);
    ck_assert_str_eq(p->comments[0].text, "# c");
    ein_program_free(p);
    ein_diag_free(d);
    char *e = first_error("x = 1\r\ny = )\r\n", 14);
    ck_assert_str_eq(e, "t.ein:2:5: error: expression expected near ')'\n");
    free(e);
}
END_TEST

START_TEST(nul_bytes_and_garbage)
{
    char *e = first_error("x = 1\0\0", 7);
    ck_assert_str_eq(e, "t.ein:1:6: error: unexpected NUL byte\n");
    free(e);

    /* Deterministic binary garbage: errors, a NULL program, no crash. */
    size_t n = 1 << 16;
    unsigned char *junk = malloc(n);
    unsigned x = 12345;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        junk[i] = (unsigned char)(x >> 16);
    }
    ein_diag *d = ein_diag_new();
    ein_parse_info info;
    ck_assert_ptr_null(ein_parse_buffer(d, "junk.bin", (const char *)junk, n, &info));
    ck_assert_int_ge(info.n_errors, 1);
    ck_assert_uint_le(ein_diag_count(d), EIN_DIAG_MAX_ERRORS);
    FILE *devnull = fopen("/dev/null", "w");
    ein_diag_print(d, devnull);   /* printing garbage lines must not crash either */
    fclose(devnull);
    ein_diag_free(d);
    free(junk);
}
END_TEST

START_TEST(invalid_utf8_and_unterminated)
{
    char *e = first_error("x = \"\xc0\xaf\"\n", 8);
    ck_assert_str_eq(e, "t.ein:1:6: error: invalid UTF-8 byte 0xc0\n");
    free(e);
    e = first_error("/* \xed\xa0\x80 */", 10);   /* a UTF-16 surrogate is not UTF-8 */
    ck_assert_str_eq(e, "t.ein:1:4: error: invalid UTF-8 byte 0xed\n");
    free(e);
    e = first_error("x = \"abc\n", 9);
    ck_assert_str_eq(e, "t.ein:1:5: error: unterminated string\n");
    free(e);
    e = first_error("x = 1 /* never closed\n\n", 23);
    ck_assert_str_eq(e, "t.ein:1:7: error: unterminated comment\n");
    free(e);
    e = first_error("x = 1e999\n", 10);
    ck_assert_str_eq(e, "t.ein:1:5: error: number '1e999' is out of range\n");
    free(e);
    e = first_error("x = 99999999999999999999\n", 25);
    ck_assert_str_eq(e, "t.ein:1:5: error: integer '99999999999999999999' is out of range (largest is 9223372036854775807)\n");
    free(e);
}
END_TEST

static char *repeat3(const char *pre, const char *a, int n, const char *mid, const char *b, const char *post)
{
    size_t la = strlen(a), lb = strlen(b);
    size_t len = strlen(pre) + (size_t)n * (la + lb) + strlen(mid) + strlen(post) + 1;
    char *s = malloc(len), *o = s;
    o += sprintf(o, "%s", pre);
    for (int i = 0; i < n; i++, o += la)
        memcpy(o, a, la);
    o += sprintf(o, "%s", mid);
    for (int i = 0; i < n; i++, o += lb)
        memcpy(o, b, lb);
    sprintf(o, "%s", post);
    return s;
}

START_TEST(deep_nesting_is_an_error)
{
    static const struct { const char *open, *close, *want; } shapes[] = {
        { "(", ")", "t.ein:1:205: error: nesting too deep (more than 200 levels of brackets)\n" },
        { "[", "]", "t.ein:1:205: error: nesting too deep (more than 200 levels of brackets)\n" },
        { "{a=", "}", "t.ein:1:605: error: nesting too deep (more than 200 levels of brackets)\n" },
        { "f(", ")", "t.ein:1:406: error: nesting too deep (more than 200 levels of brackets)\n" },
        { "-", "", "t.ein:1:10000: error: nesting too deep (more than 10000 levels)\n" },
        { "not ", "", NULL },
        { "2^", "", NULL },
        { "1+", "", "t.ein:1:5: error: expression nested too deeply (more than 200 levels)\n" },
        { "if a then 1 else ", "", NULL },
    };
    char *src = repeat3("x = ", shapes[_i].open, 10000, "1", shapes[_i].close, "\n");
    char *e = first_error(src, strlen(src));
    if (shapes[_i].want)
        ck_assert_str_eq(e, shapes[_i].want);
    else
        ck_assert_msg(strstr(e, "nest") != NULL, "%s", e);
    free(e);
    free(src);
}
END_TEST

/* Nesting up to the limit is fine. */
START_TEST(nesting_at_the_limit_parses)
{
    char *src = repeat3("x = ", "(", EIN_AST_MAX_DEPTH - 1, "1", ")", "\n");
    ein_diag *d = ein_diag_new();
    ein_program *p = parse_ok(d, src);
    ein_program_free(p);
    ein_diag_free(d);
    free(src);
}
END_TEST

START_TEST(ten_megabytes)
{
    const char *line = "layer_%06d = ei(ne = 500, fwd = layernorm) # a comment\n";
    size_t cap = 11u << 20, len = 0;
    char *src = malloc(cap);
    int n = 0;
    while (len < 10u << 20)
        len += (size_t)sprintf(src + len, line, n++);
    ein_diag *d = ein_diag_new();
    ein_program *p = ein_parse_buffer(d, "big.ein", src, len, NULL);
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(p->n_stmts, n);
    ck_assert_int_eq(p->n_comments, n);
    ck_assert_int_eq(p->stmts[n - 1]->loc.line, n);
    ein_program_free(p);
    /* The same with one error at the very end: located on the last line. */
    len += (size_t)sprintf(src + len, "oops = )\n");
    p = ein_parse_buffer(d, "big.ein", src, len, NULL);
    ck_assert_ptr_null(p);
    ck_assert_int_eq(ein_diag_get(d, 0)->loc.line, n + 1);
    ein_diag_free(d);
    free(src);
}
END_TEST

START_TEST(several_programs_one_process)
{
    ein_diag *d = ein_diag_new();
    ein_program *a = parse_ok(d, "a = 1\n");
    ein_program *b = ein_parse_buffer(d, "b.ein", "b = (\n", 6, NULL);
    ein_program *c = parse_ok(d, "c = 3\n");
    ck_assert_ptr_null(b);
    ck_assert_int_eq(a->file, 0);
    ck_assert_int_eq(c->file, 2);
    ck_assert_str_eq(ein_diag_source_name(d, 1), "b.ein");
    ck_assert_int_eq(ein_diag_get(d, 0)->loc.file, 1);
    ck_assert_str_eq(c->stmts[0]->bind.name.name, "c");
    ein_program_free(a);
    ein_program_free(c);
    ein_diag_free(d);
}
END_TEST

START_TEST(incomplete_input_is_flagged)
{
    static const struct { const char *src; bool incomplete; } cases[] = {
        { "x = (1 +", true }, { "experiment e {\n  data = 1\n", true }, { "x = \"abc", false },
        { "/* open", true }, { "x = )", false }, { "x = 1 +* 2", false }, { "x = 1\ny", true },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        ein_diag *d = ein_diag_new();
        ein_parse_info info;
        ck_assert_ptr_null(ein_parse_buffer(d, "r", cases[i].src, strlen(cases[i].src), &info));
        ck_assert_msg(info.incomplete == cases[i].incomplete, "'%s'", cases[i].src);
        ein_diag_free(d);
    }
}
END_TEST

START_TEST(missing_file_is_io)
{
    ein_diag *d = ein_diag_new();
    ein_err err = {0};
    ck_assert_ptr_null(ein_parse_file(d, "no/such/file.ein", NULL, &err));
    ck_assert_int_eq(err.code, EIN_ERR_IO);
    ck_assert_str_eq(err.msg, "cannot open 'no/such/file.ein': No such file or directory");
    ck_assert_uint_eq(ein_diag_count(d), 0);
    ein_err err2 = {0};
    ck_assert_ptr_null(ein_parse_file(d, "tests", NULL, &err2));
    ck_assert_int_eq(err2.code, EIN_ERR_IO);
    ein_diag_free(d);
}
END_TEST

Suite *ein_test_suite(void)
{
    Suite *s = suite_create("parser");
    TCase *tc = tcase_create("constructs");
    tcase_add_loop_test(tc, expression_shapes, 0, (int)(sizeof exprs / sizeof *exprs));
    tcase_add_test(tc, numbers_keep_kind_and_spelling);
    tcase_add_test(tc, every_statement);
    tcase_add_test(tc, dump_format);
    tcase_add_test(tc, dump_blocks);
    tcase_add_test(tc, contextual_keywords_are_names);
    tcase_add_test(tc, parse_modes);
    suite_add_tcase(s, tc);

    TCase *tr = tcase_create("robustness");
    tcase_set_timeout(tr, 60);   /* the 10 MB input under ASan */
    tcase_add_test(tr, empty_and_comment_only);
    tcase_add_test(tr, crlf_line_endings);
    tcase_add_test(tr, nul_bytes_and_garbage);
    tcase_add_test(tr, invalid_utf8_and_unterminated);
    tcase_add_loop_test(tr, deep_nesting_is_an_error, 0, 9);
    tcase_add_test(tr, nesting_at_the_limit_parses);
    tcase_add_test(tr, ten_megabytes);
    tcase_add_test(tr, several_programs_one_process);
    tcase_add_test(tr, incomplete_input_is_flagged);
    tcase_add_test(tr, missing_file_is_io);
    suite_add_tcase(s, tr);
    return s;
}
