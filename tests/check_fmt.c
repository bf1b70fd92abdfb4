/* check_fmt.c — the canonical printer: parse(print(parse(f))) == parse(f)
 * and print is idempotent, for every file in examples/ and stdlib/ (listed
 * when the tests run, so new files are covered), for every ```ein block in
 * docs/language.md, and for golden layouts of messy input. */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ein/ast.h"
#include "ein/diag.h"
#include "ein/parse.h"
#include "testutil.h"

static char *print_program(const ein_program *p)
{
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    ein_program_print(p, f);
    fclose(f);
    return out;
}

/* Asserts the round trip for one source text; `what` names it in failures. */
static void round_trip(const char *what, const char *src, size_t len)
{
    ein_diag *d = ein_diag_new();
    ein_program *p1 = ein_parse_buffer(d, what, src, len, NULL);
    if (!p1)
        ein_diag_print(d, stderr);
    ck_assert_msg(p1 != NULL, "%s does not parse", what);
    char *text1 = print_program(p1);
    ein_program *p2 = ein_parse_buffer(d, "printed", text1, strlen(text1), NULL);
    if (!p2)
        ein_diag_print(d, stderr);
    ck_assert_msg(p2 != NULL, "%s: the printed form does not parse:\n%s", what, text1);
    ck_assert_msg(ein_program_equal(p1, p2), "%s: the printed form parses to a different AST:\n%s", what, text1);
    char *text2 = print_program(p2);
    ck_assert_msg(strcmp(text1, text2) == 0, "%s: printing is not idempotent:\n--- first\n%s--- second\n%s", what,
                  text1, text2);
    ck_assert_int_eq(p1->n_comments, p2->n_comments);
    free(text1);
    free(text2);
    ein_program_free(p1);
    ein_program_free(p2);
    ein_diag_free(d);
}

/* ---- examples/ and stdlib/ ---------------------------------------------- */

static int is_ein(const struct dirent *e)
{
    size_t n = strlen(e->d_name);
    return n > 4 && strcmp(e->d_name + n - 4, ".ein") == 0;
}

static const char *const dirs[] = { "examples", "stdlib" };

/* Paths of all .ein files in dirs, in a fixed order; returns the count. */
static int list_files(char ***paths)
{
    int n = 0;
    char **out = NULL;
    for (size_t k = 0; k < sizeof dirs / sizeof *dirs; k++) {
        struct dirent **list;
        int m = scandir(dirs[k], &list, is_ein, alphasort);
        for (int i = 0; i < m; i++) {
            out = realloc(out, (size_t)(n + 1) * sizeof *out);
            size_t len = strlen(dirs[k]) + strlen(list[i]->d_name) + 2;
            out[n] = malloc(len);
            snprintf(out[n++], len, "%s/%s", dirs[k], list[i]->d_name);
            free(list[i]);
        }
        if (m > 0)
            free(list);
    }
    *paths = out;
    return n;
}

static void free_paths(char **paths, int n)
{
    for (int i = 0; i < n; i++)
        free(paths[i]);
    free(paths);
}

START_TEST(repository_files_round_trip)
{
    char **paths;
    int n = list_files(&paths);
    if (n == 0) {   /* no files yet: the loop has one no-op iteration */
        free(paths);
        return;
    }
    ck_assert_int_gt(n, _i);
    size_t len;
    char *src = tu_read_file(paths[_i], &len);
    ck_assert_msg(src != NULL, "cannot read %s", paths[_i]);
    round_trip(paths[_i], src, len);
    free(src);
    free_paths(paths, n);
}
END_TEST

/* ---- docs/language.md ---------------------------------------------------- */

/* The i-th ```ein block of the reference (malloc'd), or NULL. */
static char *doc_block(const char *doc, int i)
{
    const char *p = doc;
    for (int k = 0;; k++) {
        p = strstr(p, "\n```ein\n");
        if (!p)
            return NULL;
        p += 8;
        const char *end = strstr(p, "\n```");
        if (!end)
            return NULL;
        if (k == i)
            return strndup(p, (size_t)(end - p + 1));
        p = end + 4;
    }
}

static int doc_blocks(void)
{
    size_t len;
    char *doc = tu_read_file("docs/language.md", &len);
    int n = 0;
    char *b;
    while (doc && (b = doc_block(doc, n)) != NULL) {
        free(b);
        n++;
    }
    free(doc);
    return n;
}

START_TEST(documentation_examples_round_trip)
{
    size_t len;
    char *doc = tu_read_file("docs/language.md", &len);
    ck_assert_ptr_nonnull(doc);
    char *block = doc_block(doc, _i);
    ck_assert_ptr_nonnull(block);
    char what[64];
    snprintf(what, sizeof what, "docs/language.md block %d", _i + 1);
    round_trip(what, block, strlen(block));
    free(block);
    free(doc);
}
END_TEST

START_TEST(documentation_has_examples)
{
    ck_assert_int_ge(doc_blocks(), 10);
}
END_TEST

/* ---- golden layouts ------------------------------------------------------ */

static void expect_format(const char *src, const char *want)
{
    ein_diag *d = ein_diag_new();
    ein_program *p = ein_parse_buffer(d, "g.ein", src, strlen(src), NULL);
    if (!p)
        ein_diag_print(d, stderr);
    ck_assert_ptr_nonnull(p);
    char *got = print_program(p);
    ck_assert_msg(strcmp(got, want) == 0, "got:\n%s\nwant:\n%s", got, want);
    free(got);
    ein_program_free(p);
    ein_diag_free(d);
    round_trip("golden", src, strlen(src));
}

START_TEST(canonical_layout)
{
    expect_format("import   \"ei\"\nw=500 # width\n\n\n\nlr=(0.1)\ndef f( a,b=(1+2)*3 )=a^(b^c)\n",
                  "import \"ei\"\n"
                  "w = 500  # width\n"
                  "\n"
                  "lr = 0.1\n"
                  "def f(a, b = (1 + 2) * 3) = a ^ b ^ c\n");
    expect_format("x = (a ^ b) ^ c - (d - e) + -(f + g) * (not h)\n",
                  "x = (a ^ b) ^ c - (d - e) + -(f + g) * (not h)\n");
    expect_format("x = (if a then 1 else 2) + (1 .. 3 == r)\n",
                  "x = (if a then 1 else 2) + (1..3 == r)\n");
    expect_format("s = \"tab\\there \\\"q\\\" back\\\\slash\\n\"\n",
                  "s = \"tab\\there \\\"q\\\" back\\\\slash\\n\"\n");
}
END_TEST

START_TEST(blocks_and_comments)
{
    expect_format(
        "# header\n"
        "experiment  e{   # opens\n"
        "  data=f( a=1 )\n"
        "  network{ input 784 hidden h x 2\n"
        "  output o }\n"
        "  # about the loss\n"
        "  loss t=ce()   weight 2 updates wex,bias\n"
        "  train{lr=1 lr.wix=2}\n"
        "  grid{\n"
        "    v in {\n"
        "      a: 1,  # first\n"
        "      b: [1,\n"
        "          2]\n"
        "    }\n"
        "    zip{ p in [1] q in [2] }\n"
        "    c in sample 3 seed 4 { lr ~ u(1, 2) }\n"
        "    t in table(x, y) { 1, 2   3, -4 }\n"
        "    where v==\"a\"\n"
        "    /* the end\n"
        "       of the grid */\n"
        "  }\n"
        "  report{test_acc,moments}\n"
        "} # trailing\n"
        "# footer\n",
        "# header\n"
        "experiment e {  # opens\n"
        "  data = f(a = 1)\n"
        "  network {\n"
        "    input 784\n"
        "    hidden h x 2\n"
        "    output o\n"
        "  }\n"
        "  # about the loss\n"
        "  loss t = ce() weight 2 updates wex, bias\n"
        "  train {\n"
        "    lr = 1\n"
        "    lr.wix = 2\n"
        "  }\n"
        "  grid {\n"
        "    v in {\n"
        "      a: 1,  # first\n"
        "      b: [\n"
        "        1,\n"
        "        2,\n"
        "      ],\n"
        "    }\n"
        "    zip {\n"
        "      p in [1]\n"
        "      q in [2]\n"
        "    }\n"
        "    c in sample 3 seed 4 {\n"
        "      lr ~ u(1, 2)\n"
        "    }\n"
        "    t in table(x, y) {\n"
        "      1, 2\n"
        "      3, -4\n"
        "    }\n"
        "    where v == \"a\"\n"
        "    /* the end\n"
        "       of the grid */\n"
        "  }\n"
        "  report { test_acc, moments }\n"
        "}  # trailing\n"
        "# footer\n");
}
END_TEST

/* Trailing comments of consecutive lines line up; a comment after an
 * opening bracket stays there; author's line breaks after `=` and in a
 * parameter list are kept. */
START_TEST(layout_kept_from_the_source)
{
    expect_format("experiment e {\n"
                  "  train {   # settings\n"
                  "    lr = 0.01 # wex\n"
                  "    lr.wix = 0.1  # wix\n"
                  "\n"
                  "    momentum = 0   # alone\n"
                  "  }\n"
                  "}\n",
                  "experiment e {\n"
                  "  train {  # settings\n"
                  "    lr = 0.01     # wex\n"
                  "    lr.wix = 0.1  # wix\n"
                  "\n"
                  "    momentum = 0  # alone\n"
                  "  }\n"
                  "}\n");
    expect_format("def f(a = 1,\n      b = \"\xc3\xa9\") =\n  g(a, b)\nx =\n  [1, 2] # c\ny = 1 # d\n",
                  "def f(\n"
                  "  a = 1,\n"
                  "  b = \"\xc3\xa9\",\n"
                  ") =\n"
                  "  g(a, b)\n"
                  "x =\n"
                  "  [1, 2]  # c\n"
                  "y = 1     # d\n");
}
END_TEST

/* A comment inside a one-line expression is kept, after the statement. */
START_TEST(comments_inside_expressions_are_kept)
{
    expect_format("x = f(1, # one\n  2)\ny = 3\n",
                  "x = f(\n"
                  "  1,  # one\n"
                  "  2,\n"
                  ")\n"
                  "y = 3\n");
    expect_format("x = 1 + # one\n  2\n", "x = 1 + 2  # one\n");
}
END_TEST

/* Expressions print on one line for messages and cell binding texts. */
START_TEST(expression_to_string)
{
    ein_diag *d = ein_diag_new();
    const char *src = "v = {\n  ln: { fwd = layernorm },\n  k: [1,\n 2.50],\n}\n";
    ein_program *p = ein_parse_buffer(d, "e.ein", src, strlen(src), NULL);
    ck_assert_ptr_nonnull(p);
    char *s = ein_expr_to_string(p->stmts[0]->bind.value);
    ck_assert_str_eq(s, "{ ln: { fwd = layernorm }, k: [1, 2.50] }");
    free(s);
    ein_program_free(p);
    ein_diag_free(d);

    /* Nodes built by hand (no spelling) print their values. */
    ein_program *q = ein_program_new(-1, "built");
    ein_expr *r = ein_expr_new(q, EIN_EXPR_REAL, EIN_NO_LOC);
    r->real.value = 2;
    s = ein_expr_to_string(r);
    ck_assert_str_eq(s, "2.0");
    free(s);
    r->real.value = 0.1;
    s = ein_expr_to_string(r);
    ck_assert_str_eq(s, "0.1");
    free(s);
    ein_program_free(q);
}
END_TEST

/* Equality must see every difference that matters, and only those. */
START_TEST(equality_sees_differences)
{
    static const struct { const char *a, *b; bool equal; } cases[] = {
        { "x = 1", "x = 2", false },
        { "x = 1", "y = 1", false },
        { "x = 1", "x = 1.0", false },
        { "x = 0.50", "x = .5", true },
        { "x = a - b - c", "x = a - (b - c)", false },
        { "x = (a - b) - c", "x = a - b - c", true },
        { "x = f(a)", "x = f(k = a)", false },
        { "x = { a = 1 }", "x = { a: 1 }", false },
        { "x = \"a\"", "x = \"b\"", false },
        { "x = [1, 2]", "x = [1, 2,]", true },
        { "experiment e { loss t = f() weight 1 }", "experiment e { loss t = f() }", false },
        { "experiment e { loss t = f() updates wex }", "experiment e { loss t = f() updates bias }", false },
        { "experiment e { network { hidden a x 2 } }", "experiment e { network { hidden a } }", false },
        { "experiment e { grid { a in [1] } }", "experiment e { grid { a = [1] } }", false },
        { "experiment e { report { a } }", "experiment e { report \"d\" { a } }", false },
        { "x = 1 # c", "x = 1", true },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        ein_diag *d = ein_diag_new();
        ein_program *a = ein_parse_buffer(d, "a", cases[i].a, strlen(cases[i].a), NULL);
        ein_program *b = ein_parse_buffer(d, "b", cases[i].b, strlen(cases[i].b), NULL);
        ck_assert_ptr_nonnull(a);
        ck_assert_ptr_nonnull(b);
        ck_assert_msg(ein_program_equal(a, b) == cases[i].equal, "'%s' vs '%s'", cases[i].a, cases[i].b);
        ein_program_free(a);
        ein_program_free(b);
        ein_diag_free(d);
    }
}
END_TEST

START_TEST(fmt_command_prints_the_canonical_form)
{
    char *dir = tu_mkdtemp();
    char path[1024], cmd[2048];
    snprintf(path, sizeof path, "%s/a.ein", dir);
    const char *src = "experiment e{data=f(  )}\n";
    ck_assert_int_eq(tu_write_file(path, src, strlen(src)), 0);
    snprintf(cmd, sizeof cmd, "%s fmt %s", tu_einrun(), path);
    char *out = NULL;
    ck_assert_int_eq(tu_run(cmd, &out), 0);
    ck_assert_str_eq(out, "experiment e {\n  data = f()\n}\n");
    free(out);
    snprintf(cmd, sizeof cmd, "%s fmt --dump-ast %s", tu_einrun(), path);
    ck_assert_int_eq(tu_run(cmd, &out), 0);
    ck_assert_ptr_nonnull(strstr(out, "  stmt experiment @1:1-1:25 e\n    stmt data @1:14-1:24\n"));
    free(out);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

Suite *ein_test_suite(void)
{
    Suite *s = suite_create("fmt");
    TCase *tc = tcase_create("round_trip");
    char **paths;
    int n = list_files(&paths);
    free_paths(paths, n);
    tcase_add_loop_test(tc, repository_files_round_trip, 0, n > 0 ? n : 1);
    int nb = doc_blocks();
    if (nb > 0)
        tcase_add_loop_test(tc, documentation_examples_round_trip, 0, nb);
    tcase_add_test(tc, documentation_has_examples);
    suite_add_tcase(s, tc);

    TCase *tg = tcase_create("golden");
    tcase_add_test(tg, canonical_layout);
    tcase_add_test(tg, blocks_and_comments);
    tcase_add_test(tg, comments_inside_expressions_are_kept);
    tcase_add_test(tg, layout_kept_from_the_source);
    tcase_add_test(tg, expression_to_string);
    tcase_add_test(tg, equality_sees_differences);
    tcase_add_test(tg, fmt_command_prints_the_canonical_form);
    suite_add_tcase(s, tg);
    return s;
}
