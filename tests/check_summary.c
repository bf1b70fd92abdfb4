/* check_summary.c — grouped summaries, the aligned table, the CSV and
 * --compare, from hand-written cells.jsonl files; grouping by recorded
 * settings, several folders and --metric; and the real einrun on a folder
 * holding two widths of the same variant. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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
    ck_assert_int_eq(ein_summary_compute(&l, "variant,eps", NULL, 2, &s, &err), EIN_OK);
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

    ck_assert_int_eq(ein_summary_compute(&l, "nope", NULL, 10, &s, &err), EIN_ERR_USAGE);
    ck_assert_str_eq(err.msg, "--by: no cell has an axis or setting named 'nope'");
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
    ck_assert_int_eq(ein_summary_compare(&l, "variant,eps", NULL, "ln,inorm", f, &err), EIN_OK);
    fclose(f);
    ck_assert_msg(strstr(text, "variant = ln vs inorm") != NULL, "%s", text);
    ck_assert_msg(strstr(text, "eps=0: n = 3 vs 3, median 81.00 vs 86.00, U = 0, p = 0.1 (exact)") != NULL,
                  "%s", text);
    free(text);
    f = open_memstream(&text, &len);
    ck_assert_int_eq(ein_summary_compare(&l, "", NULL, "variant=ln,inorm", f, &err), EIN_OK);
    fclose(f);
    /* all eps pooled: ln {80 81 82 71 72} vs inorm {85 86 87 75 76 10} */
    ck_assert_msg(strstr(text, "n = 5 vs 6") != NULL, "%s", text);
    free(text);
    f = open_memstream(&text, &len);
    ck_assert_int_eq(ein_summary_compare(&l, "", NULL, "ln,bogus", f, &err), EIN_ERR_USAGE);
    fclose(f);
    free(text);
    ein_record_list_free(&l);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* --- settings, folders, metrics ------------------------------------------ */

static void write_text(const char *dir, const char *name, const char *text)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    ck_assert_int_eq(tu_write_file(path, text, strlen(text)), 0);
}

/* One record: variant, eps, a table axis cfg (row index + cfg.lr) and seed;
 * its config carries the width, the lr (follows cfg.lr), the seed, the
 * forward norm (follows variant) and data.eps (follows eps). */
static void put_cell(FILE *f, int id, const char *variant, double eps, int cfg, int seed, int width,
                     double acc, const char *extra_final)
{
    double lr = 0.01 * (cfg + 1);
    fprintf(f, "{\"id\":\"%016x\",\"experiment\":\"x\",\"status\":\"ok\",\"epochs\":3,"
               "\"bindings\":{\"variant\":\"%s\",\"eps\":%g,\"cfg\":%d,\"cfg.lr\":%g,\"seed\":%d},"
               "\"config\":{\"data.eps\":%g,\"hidden.0.ne\":%d,\"hidden.0.ni\":%d,"
               "\"hidden.0.fwd\":\"%s\",\"train.lr\":%g,\"train.clamp\":true,\"train.seed\":%d,"
               "\"data.fixed_test_delta\":null},"
               "\"final\":{\"test_acc\":%g,\"inorm_loss\":null%s},\"best\":{\"test_acc\":%g}}\n",
            id, variant, eps, cfg, lr, seed, eps, width, width / 10,
            strcmp(variant, "ln") == 0 ? "layernorm" : "inorm", lr, seed, acc,
            extra_final ? extra_final : "", acc + 1);
}

/* A setting that follows the pooled configuration row only given the
 * variant (ni = floor(0.1 ne), but 0 in an E-only layer) is pooled with the
 * row, not a key that leaves one cell per group (make figures' summaries). */
START_TEST(default_keys_pool_a_setting_that_follows_the_row_within_a_variant)
{
    char *dir = tu_mkdtemp();
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    int id = 1;
    for (int v = 0; v < 2; v++)
        for (int c = 0; c < 3; c++) {
            int ne = 100 + 50 * c, ni = v ? 0 : ne / 10;
            fprintf(f, "{\"id\":\"%016x\",\"experiment\":\"x\",\"status\":\"ok\",\"epochs\":3,"
                       "\"bindings\":{\"variant\":\"%s\",\"cfg\":%d,\"cfg.ne\":%d},"
                       "\"config\":{\"hidden.0.ne\":%d,\"hidden.0.ni\":%d},"
                       "\"final\":{\"test_acc\":%d}}\n",
                    id++, v ? "e_ln" : "ln", c, ne, ne, ni, 80 + v + c);
        }
    fclose(f);
    write_text(dir, "cells.jsonl", text);
    free(text);
    ein_record_list l;
    ein_err err = {0};
    ck_assert_int_eq(ein_results_read(dir, &l, &err), EIN_OK);
    ck_assert_int_eq(l.n, 6);
    char by[512];
    ein_summary_default_by(&l, by, sizeof by);
    ck_assert_str_eq(by, "variant");
    ein_record_list_free(&l);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(default_keys_add_the_settings_that_split)
{
    char *dir = tu_mkdtemp();
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    int id = 1;
    for (int v = 0; v < 2; v++)
        for (int c = 0; c < 2; c++)
            for (int seed = 1; seed <= 2; seed++)
                put_cell(f, id++, v ? "inorm" : "ln", 0.5, c, seed, 500, 80 + v + c + seed, NULL);
    /* a rerun of ln at another width: same bindings, a different network */
    for (int c = 0; c < 2; c++)
        for (int seed = 1; seed <= 2; seed++)
            put_cell(f, id++, "ln", 0.5, c, seed, 100, 60 + c + seed, NULL);
    fclose(f);
    write_text(dir, "cells.jsonl", text);
    free(text);

    ein_record_list l;
    ein_err err = {0};
    ck_assert_int_eq(ein_results_read(dir, &l, &err), EIN_OK);
    ck_assert_int_eq(l.n, 12);
    char by[512];
    ein_summary_default_by(&l, by, sizeof by);
    /* not data.eps (restates eps), hidden.0.fwd (variant), hidden.0.ni (the
     * width), train.lr (the pooled table axis), train.seed (a seed) */
    ck_assert_str_eq(by, "variant,eps,hidden.0.ne");
    ein_summary s;
    ck_assert_int_eq(ein_summary_compute(&l, by, NULL, 10, &s, &err), EIN_OK);
    ck_assert_int_eq(s.n, 3);
    ck_assert_str_eq(s.groups[0].value[2], "500");
    ck_assert_str_eq(s.groups[2].value[0], "ln");
    ck_assert_str_eq(s.groups[2].value[2], "100");
    ck_assert_int_eq(s.groups[2].n, 4);
    ck_assert(tu_close(s.groups[2].mean, 62, 0, 1e-12));   /* 61 62 62 63 */
    ck_assert_str_eq(s.pooled, "cfg, seed, train.lr, train.seed");
    char *out = NULL;
    f = open_memstream(&out, &len);
    ein_summary_print(&s, f);
    fclose(f);
    ck_assert_msg(strstr(out, "variant  eps  hidden.0.ne  n") != NULL, "%s", out);
    ck_assert_msg(strstr(out, "\nln       0.5  100          4  62.00 ± 0.82") != NULL, "%s", out);
    ck_assert_msg(strstr(out, "metric: final.test_acc\npooled over: cfg, seed, train.lr, train.seed\n")
                  != NULL, "%s", out);
    free(out);
    ein_summary_free(&s);

    /* asked to pool the widths: said so */
    ck_assert_int_eq(ein_summary_compute(&l, "variant", NULL, 10, &s, &err), EIN_OK);
    ck_assert_int_eq(s.n, 2);
    ck_assert_int_eq(s.groups[0].n, 8);
    ck_assert_str_eq(s.pooled, "cfg, seed, hidden.0.ne, hidden.0.ni, train.lr, train.seed");
    ein_summary_free(&s);
    ck_assert_int_eq(ein_summary_compute(&l, "hidden.0.ni", NULL, 10, &s, &err), EIN_OK);
    ck_assert_int_eq(s.n, 2);
    ck_assert_str_eq(s.groups[1].value[0], "10");
    ein_summary_free(&s);
    ein_record_list_free(&l);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* Exact two-sided p of the Mann–Whitney U, by enumerating every way to
 * choose which n1 of the n1 + n2 (distinct) ranks belong to the first
 * sample: p = min(1, 2 min(P(U <= u), P(U >= u))). */
static double brute_force_exact_p(int n1, int n2, double u)
{
    int n = n1 + n2, below = 0, above = 0, total = 0;
    for (unsigned mask = 0; mask < (1u << n); mask++) {
        if (__builtin_popcount(mask) != n1)
            continue;
        int rank_sum = 0;
        for (int r = 0; r < n; r++)
            if (mask & (1u << r))
                rank_sum += r + 1;
        double us = rank_sum - n1 * (n1 + 1) / 2.0;
        total++;
        below += us <= u;
        above += us >= u;
    }
    double p = 2.0 * (below < above ? below : above) / total;
    return p > 1 ? 1 : p;
}

/* U by counting pairs. */
static double count_u(const double *a, int n1, const double *b, int n2)
{
    double u = 0;
    for (int i = 0; i < n1; i++)
        for (int j = 0; j < n2; j++)
            u += a[i] > b[j] ? 1 : a[i] == b[j] ? 0.5 : 0;
    return u;
}

/* The normal approximation with tie correction and continuity correction,
 * written from the formula (as R's wilcox.test, correct = TRUE). */
static double normal_p(const double *a, int n1, const double *b, int n2)
{
    double all[64];
    int n = n1 + n2;
    for (int i = 0; i < n1; i++)
        all[i] = a[i];
    for (int j = 0; j < n2; j++)
        all[n1 + j] = b[j];
    double ties = 0;
    for (int i = 0; i < n; i++) {
        int t = 0, first = 1;
        for (int j = 0; j < n; j++) {
            t += all[j] == all[i];
            if (j < i && all[j] == all[i])
                first = 0;
        }
        if (first)
            ties += (double)t * t * t - t;
    }
    double u = count_u(a, n1, b, n2), d = u - n1 * n2 / 2.0;
    double sigma = sqrt(n1 * n2 / 12.0 * ((n + 1) - ties / ((double)n * (n - 1))));
    double z = (d - (d > 0 ? 0.5 : d < 0 ? -0.5 : 0)) / sigma;
    return erfc(fabs(z) / sqrt(2.0));
}

static char *write_folder(const char *root, const char *name, const double *ln, int nln,
                          const double *inorm, int ninorm)
{
    char *dir = malloc(600);
    snprintf(dir, 600, "%s/%s", root, name);
    ck_assert_int_eq(mkdir(dir, 0777), 0);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    for (int i = 0; i < nln; i++)      /* the same cell ids in both folders */
        put_cell(f, i + 1, "ln", 0, 0, i + 1, 500, ln[i], NULL);
    for (int i = 0; i < ninorm; i++)
        put_cell(f, 100 + i, "inorm", 0, 0, i + 1, 500, inorm[i], NULL);
    fclose(f);
    write_text(dir, "cells.jsonl", text);
    free(text);
    return dir;
}

START_TEST(two_folders_compared_with_mann_whitney)
{
    char *root = tu_mkdtemp();
    static const double a_ln[] = { 80.5, 81.25, 83, 79 }, b_ln[] = { 82, 84.5, 85, 86.25, 81.5 };
    static const double a_in[] = { 70, 71, 71, 72 }, b_in[] = { 71, 73, 74, 75, 76 };   /* ties */
    char *a = write_folder(root, "A", a_ln, 4, a_in, 4);
    char *b = write_folder(root, "B", b_ln, 5, b_in, 5);
    const char *dirs[] = { a, b };
    ein_record_list l;
    ein_err err = {0};
    ck_assert_int_eq(ein_summary_read(dirs, 2, false, &l, &err), EIN_OK);
    ck_assert_int_eq(l.n, 18);            /* the same ids in two folders stay two records */
    char by[512];
    ein_summary_default_by(&l, by, sizeof by);
    ck_assert_str_eq(by, "variant,eps,folder");

    double u_ln = count_u(a_ln, 4, b_ln, 5), u_in = count_u(a_in, 4, b_in, 5);
    ck_assert(u_ln == 2 && u_in == 2);         /* counted by hand too */
    double p_ln = brute_force_exact_p(4, 5, u_ln), p_in = normal_p(a_in, 4, b_in, 5);
    char want_ln[256], want_in[256], spec[1300];
    snprintf(want_ln, sizeof want_ln,
             "  variant=ln eps=0: n = 4 vs 5, median 80.88 vs 84.50, U = %g, p = %.4g (exact)\n", u_ln, p_ln);
    snprintf(want_in, sizeof want_in,
             "  variant=inorm eps=0: n = 4 vs 5, median 71.00 vs 74.00, U = %g, p = %.4g (normal approx.)\n",
             u_in, p_in);
    snprintf(spec, sizeof spec, "folder=%s,%s", a, b);
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    ck_assert_int_eq(ein_summary_compare(&l, by, NULL, spec, f, &err), EIN_OK);
    fclose(f);
    ck_assert_msg(strstr(out, want_ln) != NULL, "%s\nwant %s", out, want_ln);
    ck_assert_msg(strstr(out, want_in) != NULL, "%s\nwant %s", out, want_in);
    free(out);
    ein_record_list_free(&l);

    /* the command line: both folders, the folder as a column, the test */
    char cmd[2600];
    snprintf(cmd, sizeof cmd, "%s summary %s %s/ --compare '%s' --csv %s/both.csv", tu_einrun(), a, b,
             spec, root);
    ck_assert_int_eq(tu_run(cmd, &out), 0);
    char row[700];
    snprintf(row, sizeof row, "\nln       0    %s  5  83.85 ± 2.03", b);
    ck_assert_msg(strstr(out, "variant  eps  folder") != NULL && strstr(out, row) != NULL, "%s", out);
    ck_assert_msg(strstr(out, want_ln) != NULL && strstr(out, want_in) != NULL, "%s", out);
    ck_assert_msg(strstr(out, "(18 cells from 2 folders;") != NULL, "%s", out);
    free(out);
    snprintf(cmd, sizeof cmd, "%s/both.csv", root);
    char *csv = tu_read_file(cmd, NULL);
    ck_assert_ptr_nonnull(csv);
    ck_assert_msg(strncmp(csv, "variant,eps,folder,n,mean,", 26) == 0, "%s", csv);
    free(csv);
    tu_rmtree(root);
    free(root);
    free(a);
    free(b);
}
END_TEST

START_TEST(metric_choice_and_not_measured)
{
    char *dir = tu_mkdtemp();
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    put_cell(f, 1, "ln", 0, 0, 1, 500, 80, ",\"layers\":[{\"var\":0.5,\"cos_grad\":null}]");
    put_cell(f, 2, "ln", 0, 0, 2, 500, 81, ",\"layers\":[{\"var\":0.75,\"cos_grad\":null}]");
    put_cell(f, 3, "ln", 0, 0, 3, 500, 82, ",\"layers\":[{\"var\":null,\"cos_grad\":null}]");
    fclose(f);
    write_text(dir, "cells.jsonl", text);
    free(text);
    ein_record_list l;
    ein_err err = {0};
    ck_assert_int_eq(ein_results_read(dir, &l, &err), EIN_OK);
    ein_summary s;
    ck_assert_int_eq(ein_summary_compute(&l, "variant", "layers.0.var", 10, &s, &err), EIN_OK);
    ck_assert_str_eq(s.metric, "final.layers.0.var");
    ck_assert_int_eq(s.groups[0].n, 2);               /* the null is not a 0 */
    ck_assert_int_eq(s.groups[0].missing, 1);
    ck_assert_int_eq(s.groups[0].unmeasured, 1);
    ck_assert(tu_close(s.groups[0].mean, 0.625, 0, 1e-12));
    char *out = NULL;
    f = open_memstream(&out, &len);
    ein_summary_print(&s, f);
    fclose(f);
    ck_assert_msg(strstr(out, "ln       2  0.625 ± 0.1768") != NULL, "%s", out);
    ck_assert_msg(strstr(out, "metric: final.layers.0.var (not measured in 1 finished cell, counted "
                              "as missing)\n") != NULL, "%s", out);
    free(out);
    ein_summary_free(&s);
    ck_assert_int_eq(ein_summary_compute(&l, "variant", "best_test_acc", 10, &s, &err), EIN_OK);
    ck_assert(tu_close(s.groups[0].mean, 82, 0, 1e-12));
    ein_summary_free(&s);
    ck_assert_int_eq(ein_summary_compute(&l, "", "inorm_loss", 10, &s, &err), EIN_ERR_USAGE);
    ck_assert_str_eq(err.msg, "--metric final.inorm_loss: not measured in any of the 3 finished cells "
                              "(null in cells.jsonl)");
    err = (ein_err){0};
    ck_assert_int_eq(ein_summary_compute(&l, "", "layers.0.cos_grad", 10, &s, &err), EIN_ERR_USAGE);
    ck_assert_ptr_nonnull(strstr(err.msg, "not measured in any of the 3"));
    err = (ein_err){0};
    ck_assert_int_eq(ein_summary_compute(&l, "", "layers.3.var", 10, &s, &err), EIN_ERR_USAGE);
    ck_assert_msg(strncmp(err.msg, "--metric: no cell recorded a metric named 'layers.3.var' (recorded: "
                                   "seconds, epochs, test_acc, inorm_loss, layers.0.var, layers.0.cos_grad;",
                          120) == 0, "%s", err.msg);
    ein_record_list_free(&l);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* --- the real einrun: width 100 and width 500 of one variant ------------- */

/* The keys of the canonical configuration lines that differ between two
 * configs/<id>.txt files, in order (derived, so no key is spelled here). */
static int differing_keys(const char *a, const char *b, char keys[][96], int max)
{
    char *ta = tu_read_file(a, NULL), *tb = tu_read_file(b, NULL);
    ck_assert(ta && tb);
    int n = 0;
    char *sa, *sb;
    char *la = strtok_r(ta, "\n", &sa), *lb = strtok_r(tb, "\n", &sb);
    for (; la && lb && n < max; la = strtok_r(NULL, "\n", &sa), lb = strtok_r(NULL, "\n", &sb)) {
        if (la[0] == '#' || strcmp(la, lb) == 0)
            continue;
        char *eq = strstr(la, " =");
        ck_assert_ptr_nonnull(eq);
        snprintf(keys[n++], 96, "%.*s", (int)(eq - la), la);
    }
    free(ta);
    free(tb);
    return n;
}

START_TEST(einrun_two_widths_of_one_variant)
{
    char *dir = tu_mkdtemp();
    ck_assert_int_eq(tu_write_tiny_idx(dir, 60), 0);
    char text[2048];
    snprintf(text, sizeof text,
             "width = 500\n"
             "experiment tiny {\n"
             "  data = idx(dir = \"%s\", batch = 20, eps = 0)\n"
             "  network {\n    input 784\n    hidden ei(ne = width, fwd = variant) x 1\n"
             "    output ei(ne = 10, ni = 1, act = none, fwd = none, bwd = none)\n  }\n"
             "  train { epochs = 1  lr = 0.05  seed = seed }\n"
             "  grid {\n    variant in [layernorm, none]\n    seed in [1, 2]\n  }\n"
             "  report \"%s/results\" { test_acc }\n}\n", dir, dir);
    write_text(dir, "grid.ein", text);
    char cmd[1400], *out = NULL;
    snprintf(cmd, sizeof cmd, "%s %s/grid.ein --quiet --jobs 2", tu_einrun(), dir);
    ck_assert_int_eq(tu_run(cmd, &out), 0);
    free(out);
    snprintf(cmd, sizeof cmd, "%s %s/grid.ein width=100 --where variant=layernorm --quiet --jobs 2",
             tu_einrun(), dir);
    int rc = tu_run(cmd, &out);
    ck_assert_msg(rc == 0, "%s", out);
    free(out);

    char res[700];
    snprintf(res, sizeof res, "%s/results", dir);
    ein_record_list l;
    ein_err err = {0};
    ck_assert_int_eq(ein_results_read(res, &l, &err), EIN_OK);
    ck_assert_int_eq(l.n, 6);
    /* a width-500 and a width-100 layernorm cell with the same seed */
    const char *ids[2] = { NULL, NULL };
    for (int i = 0; i < l.n; i++) {
        const char *v = ein_record_binding(&l.rec[i], "variant", NULL);
        const char *seed = ein_record_binding(&l.rec[i], "seed", NULL);
        if (strcmp(v, "layernorm") == 0 && strcmp(seed, "1") == 0)
            ids[ids[0] ? 1 : 0] = l.rec[i].id;
    }
    ck_assert(ids[0] && ids[1]);
    char pa[900], pb[900], keys[8][96];
    snprintf(pa, sizeof pa, "%s/configs/%s.txt", res, ids[0]);
    snprintf(pb, sizeof pb, "%s/configs/%s.txt", res, ids[1]);
    int nk = differing_keys(pa, pb, keys, 8);
    ck_assert_int_eq(nk, 2);             /* the width and the inhibitory units that follow it */
    ein_record_list_free(&l);

    /* summary.csv has a column for each, between the axes and the status */
    snprintf(pa, sizeof pa, "%s/summary.csv", res);
    char *csv = tu_read_file(pa, NULL);
    char head[400];
    snprintf(head, sizeof head, "id,experiment,variant,seed,");
    ck_assert_msg(strncmp(csv, head, strlen(head)) == 0, "%s", csv);
    char *eol = strchr(csv, '\n');
    *eol = '\0';
    for (int k = 0; k < nk; k++) {
        char col[120];
        snprintf(col, sizeof col, ",%.96s,", keys[k]);
        ck_assert_msg(strstr(csv, col) != NULL, "no column %s in %s", keys[k], csv);
    }
    ck_assert_ptr_nonnull(strstr(csv, ",status,"));
    free(csv);

    /* einrun summary: two layernorm groups, by the width, not by what follows it */
    snprintf(cmd, sizeof cmd, "%s summary %s", tu_einrun(), res);
    ck_assert_int_eq(tu_run(cmd, &out), 0);
    char want[300];
    snprintf(want, sizeof want, "variant    %s  n", keys[0]);
    ck_assert_msg(strstr(out, want) != NULL && strstr(out, keys[1]) == NULL, "%s", out);
    int groups = 0;
    for (char *p = out; (p = strstr(p, "\nlayernorm ")) != NULL; p++)
        groups++;
    ck_assert_msg(groups == 2, "%d layernorm groups:\n%s", groups, out);
    ck_assert_msg(strstr(out, "\nnone       500") != NULL, "%s", out);
    ck_assert_msg(strstr(out, "\npooled over: seed, ") != NULL, "%s", out);
    free(out);
    /* pooling the widths only when asked, and then it says so */
    snprintf(cmd, sizeof cmd, "%s summary %s --by variant", tu_einrun(), res);
    ck_assert_int_eq(tu_run(cmd, &out), 0);
    snprintf(want, sizeof want, ", %s, %s, ", keys[0], keys[1]);
    ck_assert_msg(strstr(out, "\nlayernorm  4 ") != NULL && strstr(out, want) != NULL, "%s", out);
    free(out);

    /* metrics that were not measured: null, never 0, and --metric says so */
    snprintf(pa, sizeof pa, "%s/cells.jsonl", res);
    char *jsonl = tu_read_file(pa, NULL);
    ck_assert_ptr_nonnull(strstr(jsonl, "\"inorm_loss\":null"));
    ck_assert_ptr_nonnull(strstr(jsonl, "\"cos_grad\":null"));
    ck_assert_ptr_null(strstr(jsonl, "\"inorm_loss\":0,"));
    ck_assert_ptr_null(strstr(jsonl, "\"cos_grad\":0}"));
    free(jsonl);
    snprintf(cmd, sizeof cmd, "%s summary %s --metric inorm_loss", tu_einrun(), res);
    ck_assert_int_eq(tu_run(cmd, &out), 64);
    ck_assert_msg(strstr(out, "einrun: --metric final.inorm_loss: not measured in any of the 6 "
                              "finished cells (null in cells.jsonl)\n") != NULL, "%s", out);
    free(out);
    snprintf(cmd, sizeof cmd, "%s summary %s --metric layers.0.cos_out", tu_einrun(), res);
    ck_assert_int_eq(tu_run(cmd, &out), 64);
    ck_assert_msg(strstr(out, "final.layers.0.cos_out: not measured in any of the 6") != NULL, "%s", out);
    free(out);
    snprintf(cmd, sizeof cmd, "%s summary %s --metric best_test_acc --by ''", tu_einrun(), res);
    ck_assert_int_eq(tu_run(cmd, &out), 0);
    ck_assert_msg(strstr(out, "metric: best.test_acc\n") != NULL, "%s", out);
    free(out);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* A swept setting ('train.lr=[0.01, 0.05]' binds "train.lr") is an axis of
 * its own, not the field of a table row, so its values are never pooled. */
START_TEST(einrun_swept_setting_is_a_key)
{
    char *dir = tu_mkdtemp();
    ck_assert_int_eq(tu_write_tiny_idx(dir, 40), 0);
    char text[2048];
    snprintf(text, sizeof text,
             "experiment tiny {\n"
             "  data = idx(dir = \"%s\", batch = 20, eps = 0)\n"
             "  network {\n    input 784\n    hidden ei(ne = 16) x 1\n"
             "    output ei(ne = 10, ni = 1, act = none, fwd = none, bwd = none)\n  }\n"
             "  train { epochs = 1  lr = 0.05  lr.wix = cfg.lr_wix  seed = seed }\n"
             "  grid {\n    cfg in table(lr_wix) {\n      0.1\n      0.2\n    }\n    seed in [1, 2]\n  }\n"
             "  report \"%s/results\" { test_acc }\n}\n", dir, dir);
    write_text(dir, "grid.ein", text);
    char cmd[1400], *out = NULL;
    snprintf(cmd, sizeof cmd, "%s %s/grid.ein 'train.lr=[0.01, 0.05]' --quiet --jobs 2", tu_einrun(), dir);
    int rc = tu_run(cmd, &out);
    ck_assert_msg(rc == 0, "%s", out);
    free(out);
    snprintf(cmd, sizeof cmd, "%s summary %s/results", tu_einrun(), dir);
    ck_assert_int_eq(tu_run(cmd, &out), 0);
    ck_assert_msg(strstr(out, "train.lr  n ") != NULL && strstr(out, "\n0.01      4 ") != NULL &&
                  strstr(out, "\n0.05      4 ") != NULL, "%s", out);
    ck_assert_msg(strstr(out, "\npooled over: cfg, seed, ") != NULL, "%s", out);
    free(out);
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
    tcase_add_test(tc, default_keys_add_the_settings_that_split);
    tcase_add_test(tc, default_keys_pool_a_setting_that_follows_the_row_within_a_variant);
    tcase_add_test(tc, two_folders_compared_with_mann_whitney);
    tcase_add_test(tc, metric_choice_and_not_measured);
    suite_add_tcase(s, tc);
    TCase *cli = tcase_create("einrun");
    tcase_set_timeout(cli, 60);
    tcase_add_test(cli, einrun_two_widths_of_one_variant);
    tcase_add_test(cli, einrun_swept_setting_is_a_key);
    suite_add_tcase(s, cli);
    return s;
}
