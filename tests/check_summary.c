/* check_summary.c — grouped summaries, the aligned table, the CSV and
 * --compare, from a hand-written cells.jsonl. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ein/summary.h"
#include "testutil.h"

/* 2 variants × 2 eps × 3 configurations (cfg row index + cfg.lr); one
 * diverged cell without an accuracy and one failed cell. */
static char *write_cells(void)
{
    char *dir = tu_mkdtemp();
    static const char *variant[] = { "ln", "inorm" };
    static const double eps[] = { 0, 0.5 };
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    int k = 0;
    for (int v = 0; v < 2; v++)
        for (int e = 0; e < 2; e++)
            for (int c = 0; c < 3; c++, k++) {
                double acc = 80 + 5 * v - 10 * e + c;   /* ln eps0: 80 81 82 */
                const char *st = "ok";
                if (v == 1 && e == 1 && c == 2)
                    st = "diverged";
                if (v == 0 && e == 1 && c == 0)
                    st = "failed";
                fprintf(f, "{\"id\":\"%016x\",\"experiment\":\"x\",\"status\":\"%s\",\"epochs\":3,"
                           "\"bindings\":{\"variant\":\"%s\",\"eps\":%g,\"cfg\":%d,\"cfg.lr\":0.0%d,"
                           "\"seed\":1}",
                        k + 1, st, variant[v], eps[e], c, c + 1);
                if (strcmp(st, "ok") == 0)
                    fprintf(f, ",\"final\":{\"test_acc\":%g},\"best\":{\"test_acc\":%g}", acc, acc);
                fputs("}\n", f);
            }
    fputs("{\"id\":\"torn", f);     /* a torn last line is ignored */
    fclose(f);
    char path[512];
    snprintf(path, sizeof path, "%s/cells.jsonl", dir);
    tu_write_file(path, text, len);
    free(text);
    return dir;
}

START_TEST(default_axes_skip_seed_and_row_index)
{
    char *dir = write_cells();
    ein_record_list l;
    ein_err err = {0};
    ck_assert_int_eq(ein_results_read(dir, &l, &err), EIN_OK);
    ck_assert_int_eq(l.n, 12);
    ck_assert_int_eq(l.n_bad, 1);
    char by[256];
    ein_summary_default_by(&l, by, sizeof by);
    ck_assert_str_eq(by, "variant,eps");
    ein_record_list_free(&l);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(groups_and_statistics)
{
    char *dir = write_cells();
    ein_record_list l;
    ein_err err = {0};
    ein_results_read(dir, &l, &err);
    ein_summary s;
    ck_assert_int_eq(ein_summary_compute(&l, "variant,eps", 2, &s, &err), EIN_OK);
    ck_assert_int_eq(s.n, 4);
    /* ln, eps 0: 80 81 82 */
    ck_assert_str_eq(s.groups[0].value[0], "ln");
    ck_assert_str_eq(s.groups[0].value[1], "0");
    ck_assert_int_eq(s.groups[0].n, 3);
    ck_assert(tu_close(s.groups[0].mean, 81, 0, 1e-12));
    ck_assert(tu_close(s.groups[0].sd, 1, 0, 1e-12));
    ck_assert(tu_close(s.groups[0].median, 81, 0, 1e-12));
    ck_assert(tu_close(s.groups[0].iqr, 1, 0, 1e-12));           /* 80.5 .. 81.5 */
    ck_assert(tu_close(s.groups[0].top_median, 81.5, 0, 1e-12)); /* top 2: 81 82 */
    /* ln, eps 0.5: 70 failed, 71 72 → n 2, missing 1 */
    ck_assert_int_eq(s.groups[1].n, 2);
    ck_assert_int_eq(s.groups[1].missing, 1);
    ck_assert(tu_close(s.groups[1].mean, 71.5, 0, 1e-12));
    /* inorm, eps 0.5: 75 76 and a diverged cell at chance (10) */
    ck_assert_str_eq(s.groups[3].value[0], "inorm");
    ck_assert_int_eq(s.groups[3].n, 3);
    ck_assert_int_eq(s.groups[3].diverged, 1);
    ck_assert(tu_close(s.groups[3].median, 75, 0, 1e-12));
    ck_assert(tu_close(s.groups[3].top_median, 75.5, 0, 1e-12));

    /* the aligned table */
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    ein_summary_print(&s, f);
    fclose(f);
    ck_assert_msg(strstr(text, "variant  eps  n      mean ± sd  median    IQR  top-2 median  diverged  missing\n")
                  != NULL, "%s", text);
    ck_assert_msg(strstr(text, "ln       0    3   81.00 ± 1.00   81.00   1.00  81.50 ± 0.71         0        0\n")
                  != NULL, "%s", text);
    free(text);

    /* the CSV */
    char path[EIN_PATH_MAX];
    ck_assert_int_eq(ein_summary_write_csv(&s, dir, path, &err), EIN_OK);
    ck_assert_ptr_nonnull(strstr(path, "/summary_by_variant_eps.csv"));
    char *csv = tu_read_file(path, NULL);
    const char *want = "variant,eps,n,mean,sd,median,q1,q3,iqr,top_k,top_median,top_sd,"
                       "diverged,missing\nln,0,3,81,1,81,80.5,81.5,1,2,81.5,0.7071067811865476,0,0\n";
    ck_assert_msg(strncmp(csv, want, strlen(want)) == 0, "%s", csv);
    free(csv);
    ein_summary_free(&s);

    ck_assert_int_eq(ein_summary_compute(&l, "nope", 10, &s, &err), EIN_ERR_USAGE);
    ck_assert_str_eq(err.msg, "--by: no cell has an axis named 'nope'");
    ein_record_list_free(&l);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(compare_mann_whitney)
{
    char *dir = write_cells();
    ein_record_list l;
    ein_err err = {0};
    ein_results_read(dir, &l, &err);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    /* per eps: ln {80,81,82} vs inorm {85,86,87}: U = 0, exact p = 2/20 */
    ck_assert_int_eq(ein_summary_compare(&l, "variant,eps", "ln,inorm", f, &err), EIN_OK);
    fclose(f);
    ck_assert_msg(strstr(text, "variant = ln vs inorm") != NULL, "%s", text);
    ck_assert_msg(strstr(text, "eps=0: n = 3 vs 3, median 81.00 vs 86.00, U = 0, p = 0.1 (exact)") != NULL,
                  "%s", text);
    free(text);
    f = open_memstream(&text, &len);
    ck_assert_int_eq(ein_summary_compare(&l, "", "variant=ln,inorm", f, &err), EIN_OK);
    fclose(f);
    /* all eps pooled: ln {80 81 82 71 72} vs inorm {85 86 87 75 76 10} */
    ck_assert_msg(strstr(text, "n = 5 vs 6") != NULL, "%s", text);
    free(text);
    f = open_memstream(&text, &len);
    ck_assert_int_eq(ein_summary_compare(&l, "", "ln,bogus", f, &err), EIN_ERR_USAGE);
    fclose(f);
    free(text);
    ein_record_list_free(&l);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

Suite *ein_test_suite(void)
{
    Suite *s = suite_create("summary");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, default_axes_skip_seed_and_row_index);
    tcase_add_test(tc, groups_and_statistics);
    tcase_add_test(tc, compare_mann_whitney);
    suite_add_tcase(s, tc);
    return s;
}
