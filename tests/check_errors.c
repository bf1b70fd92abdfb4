/* check_errors.c — the malformed-input corpus (tests/errors/NN-name.ein with
 * the exact first diagnostic line in NN-name.err), the diagnostics sink
 * (carets, notes, cap, did-you-mean) and the CLI's exit statuses. */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ein/diag.h"
#include "ein/parse.h"
#include "testutil.h"

#define ERRORS_DIR "tests/errors"

static int is_ein(const struct dirent *e)
{
    size_t n = strlen(e->d_name);
    return n > 4 && strcmp(e->d_name + n - 4, ".ein") == 0;
}

/* The corpus in name order; the count is taken when the suite is built, the
 * list again in each test (no shared state between forked tests). */
static int corpus(struct dirent ***list)
{
    return scandir(ERRORS_DIR, list, is_ein, alphasort);
}

static void free_list(struct dirent **list, int n)
{
    for (int i = 0; i < n; i++)
        free(list[i]);
    free(list);
}

START_TEST(corpus_first_diagnostic)
{
    struct dirent **list;
    int n = corpus(&list);
    ck_assert_int_gt(n, _i);
    char path[512], expect_path[512];
    snprintf(path, sizeof path, ERRORS_DIR "/%s", list[_i]->d_name);
    snprintf(expect_path, sizeof expect_path, "%.*s.err", (int)strlen(path) - 4, path);
    free_list(list, n);

    size_t len;
    char *expect = tu_read_file(expect_path, &len);
    ck_assert_msg(expect != NULL, "missing %s", expect_path);
    char *nl = strchr(expect, '\n');
    if (nl)
        nl[1] = '\0';

    ein_diag *d = ein_diag_new();
    ein_err err = {0};
    ein_parse_info info;
    ein_program *p = ein_parse_file(d, path, &info, &err);
    ck_assert_int_eq(err.code, EIN_OK);
    ck_assert_msg(p == NULL, "%s parsed without error", path);
    ck_assert_int_ge(info.n_errors, 1);
    ck_assert_uint_ge(ein_diag_count(d), 1);

    char *got = NULL;
    size_t got_len = 0;
    FILE *f = open_memstream(&got, &got_len);
    ein_diag_print_head(d, 0, f);
    fclose(f);
    ck_assert_msg(strcmp(got, expect) == 0, "%s:\n got  %s want %s", path, got, expect);
    free(got);
    free(expect);
    ein_diag_free(d);
}
END_TEST

START_TEST(corpus_is_large_enough)
{
    struct dirent **list;
    int n = corpus(&list);
    ck_assert_int_ge(n, 40);
    free_list(list, n);
}
END_TEST

/* The whole diagnostic: head, source line with gutter, caret run. */
START_TEST(caret_under_the_range)
{
    ein_diag *d = ein_diag_new();
    const char *src = "experiment e {\n\tdata fashion_mnist()\n}\n";
    ein_program *p = ein_parse_buffer(d, "f.ein", src, strlen(src), NULL);
    ck_assert_ptr_null(p);
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    ein_diag_print(d, f);
    fclose(f);
    ck_assert_str_eq(out,
                     "f.ein:2:7: error: '=' expected near 'fashion_mnist'\n"
                     "    2 | \tdata fashion_mnist()\n"
                     "      | \t     ^~~~~~~~~~~~~\n");
    free(out);
    ein_diag_free(d);
}
END_TEST

START_TEST(notes_and_suggestions)
{
    ein_diag *d = ein_diag_new();
    int file = ein_diag_add_source(d, "g.ein", "x = widht\n", 10);
    ein_loc loc = { .file = file, .line = 1, .col = 5, .end_line = 1, .end_col = 10, .start = 4, .end = 9 };
    ck_assert(ein_diag_error(d, loc, "unknown name '%s'", "widht"));
    const char *cands[] = { "depth", "width", "eps" };
    ck_assert_str_eq(ein_diag_suggest(d, "widht", cands, 3), "width");
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    ein_diag_print(d, f);
    fclose(f);
    ck_assert_str_eq(out,
                     "g.ein:1:5: error: unknown name 'widht'\n"
                     "    1 | x = widht\n"
                     "      |     ^~~~~\n"
                     "g.ein:1:5: note: did you mean 'width'?\n");
    free(out);
    char where[64];
    ck_assert_str_eq(ein_diag_where(d, loc, where, sizeof where), "g.ein:1:5");
    ck_assert_int_eq(ein_diag_n_errors(d), 1);
    ein_diag_free(d);
}
END_TEST

START_TEST(edit_distance)
{
    ck_assert_int_eq(ein_edit_distance("width", "width", 2), 0);
    ck_assert_int_eq(ein_edit_distance("widht", "width", 2), 2);
    ck_assert_int_eq(ein_edit_distance("lr", "lr_", 2), 1);
    ck_assert_int_eq(ein_edit_distance("layernorm", "center", 2), 3);
    ck_assert_int_eq(ein_edit_distance("", "abc", 5), 3);
    const char *norms[] = { "none", "layernorm", "layernorm_fwd", "center", "scale", "inorm", "inorm_sub" };
    ck_assert_str_eq(ein_suggest("layrnorm", norms, 7), "layernorm");
    ck_assert_str_eq(ein_suggest("inrom", norms, 7), "inorm");
    ck_assert_ptr_null(ein_suggest("gradnorm", norms, 7));
    const char *one[] = { "y" };
    ck_assert_ptr_null(ein_suggest("x", one, 1));   /* too short to guess */
}
END_TEST

/* At most EIN_DIAG_MAX_ERRORS are kept; the rest are counted and said. */
START_TEST(error_cap)
{
    ein_diag *d = ein_diag_new();
    for (int i = 0; i < 25; i++)
        ein_diag_error(d, EIN_NO_LOC, "error %d", i);
    ck_assert(ein_diag_full(d));
    ck_assert_int_eq(ein_diag_n_errors(d), 25);
    ck_assert_uint_eq(ein_diag_count(d), 20);
    ein_diag_warning(d, EIN_NO_LOC, "unused definition 'w'");
    ck_assert_int_eq(ein_diag_n_warnings(d), 1);
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    ein_diag_print(d, f);
    fclose(f);
    ck_assert_ptr_nonnull(strstr(out, "einrun: error: error 19\neinrun: warning: unused definition 'w'\n"
                                      "einrun: too many errors (25 in total), stopping\n"));
    ck_assert_ptr_null(strstr(out, "error 20"));
    free(out);
    ein_diag_free(d);

    /* The parser stops at the cap too: 30 bad lines, 20 reports. */
    d = ein_diag_new();
    char src[400] = "";
    for (int i = 0; i < 30; i++)
        strcat(src, "x = @\n");
    ck_assert_ptr_null(ein_parse_buffer(d, "c.ein", src, strlen(src), NULL));
    ck_assert_uint_eq(ein_diag_count(d), 20);
    ein_diag_free(d);
}
END_TEST

/* Several errors in one file are all reported, each at its place. */
START_TEST(recovery_reports_several)
{
    const char *src = "experiment e {\n"
                      "  data fashion()\n"
                      "  network { input 784 hidden }\n"
                      "  loss task = cross_entropy()\n"
                      "  grid { eps on [0] }\n"
                      "}\n";
    ein_diag *d = ein_diag_new();
    ck_assert_ptr_null(ein_parse_buffer(d, "r.ein", src, strlen(src), NULL));
    ck_assert_uint_eq(ein_diag_count(d), 3);
    ck_assert_int_eq(ein_diag_get(d, 0)->loc.line, 2);
    ck_assert_int_eq(ein_diag_get(d, 1)->loc.line, 3);
    ck_assert_int_eq(ein_diag_get(d, 2)->loc.line, 5);
    ck_assert_str_eq(ein_diag_get(d, 2)->msg, "'in' or '=' expected near 'on'");
    ein_diag_free(d);
}
END_TEST

/* A misspelled keyword gets a "did you mean" note, at the misspelling. */
START_TEST(keyword_suggestions)
{
    static const struct { const char *src, *want; } cases[] = {
        { "experiment e {\n  netwrk {\n    input 784\n  }\n}\n",
          "k.ein:2:10: error: '=' expected near '{'\n"
          "    2 |   netwrk {\n"
          "      |          ^\n"
          "k.ein:2:3: note: did you mean 'network'?\n"
          "    2 |   netwrk {\n"
          "      |   ^~~~~~\n" },
        { "experiment e {\n  norm forwrd = x\n}\n",
          "k.ein:2:8: error: 'forward' or 'backward' expected near 'forwrd'\n"
          "    2 |   norm forwrd = x\n"
          "      |        ^~~~~~\n"
          "k.ein:2:8: note: did you mean 'forward'?\n" },
        { "experment e {\n}\n",
          "k.ein:1:11: error: '=' expected near 'e'\n"
          "    1 | experment e {\n"
          "      |           ^\n"
          "k.ein:1:1: note: did you mean 'experiment'?\n"
          "    1 | experment e {\n"
          "      | ^~~~~~~~~\n" },
        { "x = 1 +\n", "k.ein:1:8: error: expression expected near end of file\n"
                        "    1 | x = 1 +\n"
                        "      |        ^\n" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        ein_diag *d = ein_diag_new();
        ck_assert_ptr_null(ein_parse_buffer(d, "k.ein", cases[i].src, strlen(cases[i].src), NULL));
        char *out = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&out, &len);
        ein_diag_print(d, f);
        fclose(f);
        ck_assert_str_eq(out, cases[i].want);
        free(out);
        ein_diag_free(d);
    }
}
END_TEST

static char *run(const char *args, int *status)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s %s", tu_einrun(), args);
    char *out = NULL;
    *status = tu_run(cmd, &out);
    return out;
}

START_TEST(cli_exit_statuses)
{
    int st;
    char *out = run("--check tests/errors/no-such-file.ein", &st);
    ck_assert_int_eq(st, 74);
    ck_assert_str_eq(out, "einrun: cannot open 'tests/errors/no-such-file.ein': No such file or directory\n");
    free(out);

    out = run("--check", &st);
    ck_assert_int_eq(st, 64);
    free(out);

    out = run("fmt", &st);
    ck_assert_int_eq(st, 64);
    free(out);

    out = run("--check tests/errors/02-data-missing-eq.ein", &st);
    ck_assert_int_eq(st, 2);
    ck_assert_str_eq(out, "tests/errors/02-data-missing-eq.ein:2:8: error: '=' expected near 'fashion_mnist'\n"
                          "    2 |   data fashion_mnist()\n"
                          "      |        ^~~~~~~~~~~~~\n"
                          "einrun: 1 error\n");
    free(out);

    /* Every file is parsed; errors from each are reported. */
    out = run("--check tests/errors/01-empty-binding.ein tests/errors/09-char-at.ein", &st);
    ck_assert_int_eq(st, 2);
    ck_assert_ptr_nonnull(strstr(out, "tests/errors/01-empty-binding.ein:1:8: error: "));
    ck_assert_ptr_nonnull(strstr(out, "tests/errors/09-char-at.ein:1:9: error: "));
    ck_assert_ptr_nonnull(strstr(out, "einrun: 2 errors\n"));
    free(out);

    out = run("fmt tests/errors/01-empty-binding.ein", &st);
    ck_assert_int_eq(st, 2);
    free(out);

    /* --check goes on to the checker: a well-formed file with an unknown name
       fails (fmt, which only parses, accepts it). */
    char *cdir = tu_mkdtemp();
    char cpath[1024], cargs[1100];
    snprintf(cpath, sizeof cpath, "%s/unknown.ein", cdir);
    ck_assert_int_eq(tu_write_file(cpath, "x = y\n", 6), 0);
    snprintf(cargs, sizeof cargs, "--check %s", cpath);
    out = run(cargs, &st);
    ck_assert_int_eq(st, 2);
    ck_assert_ptr_nonnull(strstr(out, "unknown.ein:1:5: error: "));
    free(out);
    snprintf(cargs, sizeof cargs, "fmt %s", cpath);
    out = run(cargs, &st);
    ck_assert_int_eq(st, 0);
    ck_assert_str_eq(out, "x = y\n");
    free(out);
    tu_rmtree(cdir);
    free(cdir);

    out = run("fmt tests/errors/01-empty-binding.ein", &st);
    ck_assert_int_eq(st, 2);
    free(out);

    char *dir = tu_mkdtemp();
    char path[1024];
    snprintf(path, sizeof path, "%s/ok.ein", dir);
    ck_assert_int_eq(tu_write_file(path, "width = 500\n", 12), 0);
    char args[1100];
    snprintf(args, sizeof args, "--check %s", path);
    out = run(args, &st);
    ck_assert_int_eq(st, 0);
    ck_assert_str_eq(out, "");
    free(out);
    snprintf(args, sizeof args, "fmt %s", path);
    out = run(args, &st);
    ck_assert_int_eq(st, 0);
    ck_assert_str_eq(out, "width = 500\n");
    free(out);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

Suite *ein_test_suite(void)
{
    Suite *s = suite_create("errors");
    TCase *tc = tcase_create("corpus");
    struct dirent **list;
    int n = corpus(&list);
    if (n > 0)
        free_list(list, n);
    tcase_add_test(tc, corpus_is_large_enough);
    tcase_add_loop_test(tc, corpus_first_diagnostic, 0, n > 0 ? n : 1);
    suite_add_tcase(s, tc);

    TCase *td = tcase_create("diag");
    tcase_add_test(td, caret_under_the_range);
    tcase_add_test(td, notes_and_suggestions);
    tcase_add_test(td, edit_distance);
    tcase_add_test(td, error_cap);
    tcase_add_test(td, recovery_reports_several);
    tcase_add_test(td, keyword_suggestions);
    tcase_add_test(td, cli_exit_statuses);
    suite_add_tcase(s, td);
    return s;
}
