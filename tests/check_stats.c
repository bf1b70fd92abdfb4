/* check_stats.c — grid statistics against hand-computed values. */
#include <check.h>
#include <math.h>
#include "ein/stats.h"
#include "testutil.h"

START_TEST(median_and_iqr_type7)
{
    double x[] = { 3, 1, 4, 1, 5, 9, 2, 6 };   /* sorted 1 1 2 3 4 5 6 9 */
    ck_assert(tu_close(ein_stat_median(x, 8), 3.5, 0, 1e-12));
    /* Q1: h = 7*0.25 = 1.75 → 1 + 0.75*(2-1) = 1.75; Q3: h = 5.25 → 5 + 0.25*1 = 5.25 */
    ck_assert(tu_close(ein_stat_iqr(x, 8), 3.5, 0, 1e-12));
    ck_assert(tu_close(ein_stat_median(x, 7), 3, 0, 1e-12));     /* 3 1 4 1 5 9 2 → 3 */
    ck_assert(tu_close(ein_stat_mean(x, 8), 31.0 / 8, 0, 1e-12));
    /* sd of 1..4: var = 5/3 */
    double y[] = { 4, 2, 1, 3 };
    ck_assert(tu_close(ein_stat_sd(y, 4), sqrt(5.0 / 3), 0, 1e-12));
    ck_assert(isnan(ein_stat_median(x, 0)));
    ck_assert(isnan(ein_stat_sd(y, 1)));
}
END_TEST

START_TEST(topk_takes_the_best)
{
    double x[] = { 10, 80, 85, 20, 90, 88, 30 };
    double med, sd;
    ein_stat_topk(x, 7, 3, &med, &sd);          /* best three: 85 88 90 */
    ck_assert(tu_close(med, 88, 0, 1e-12));
    /* mean 263/3; squared deviations 64/9, 1/9, 49/9 → var = (114/9)/2 = 19/3 */
    ck_assert(tu_close(sd, sqrt(19.0 / 3), 0, 1e-12));
    ein_stat_topk(x, 7, 10, &med, &sd);         /* fewer than k: all of them */
    ck_assert(tu_close(med, 80, 0, 1e-12));
    ein_stat_topk(x, 7, 2, &med, &sd);          /* 88 90 → 89 */
    ck_assert(tu_close(med, 89, 0, 1e-12));
    ck_assert(tu_close(sd, sqrt(2.0), 0, 1e-12));
}
END_TEST

START_TEST(mann_whitney_exact)
{
    double a[] = { 1, 2, 3 }, b[] = { 4, 5, 6 };
    ein_mwu r;
    ck_assert_int_eq(ein_mann_whitney(a, 3, b, 3, &r), 0);
    ck_assert(r.exact);
    ck_assert(tu_close(r.u, 0, 0, 1e-12));
    ck_assert(tu_close(r.u2, 9, 0, 1e-12));
    ck_assert(tu_close(r.p, 0.1, 0, 1e-12));          /* 2 * 1/C(6,3) */
    /* ranks of a in the pool: 1, 3, 5 → R1 = 9, U = 3; P(U <= 3) = 7/35 */
    double c[] = { 1.5, 3.5, 5 }, d[] = { 2, 4, 6, 7 };
    ck_assert_int_eq(ein_mann_whitney(c, 3, d, 4, &r), 0);
    ck_assert(tu_close(r.u, 3, 0, 1e-12));
    ck_assert(tu_close(r.p, 0.4, 0, 1e-12));
    /* symmetric: swapping the samples gives u2 and the same p */
    ck_assert_int_eq(ein_mann_whitney(d, 4, c, 3, &r), 0);
    ck_assert(tu_close(r.u, 9, 0, 1e-12));
    ck_assert(tu_close(r.p, 0.4, 0, 1e-12));
    ck_assert_int_eq(ein_mann_whitney(a, 0, b, 3, &r), -1);
}
END_TEST

START_TEST(mann_whitney_ties_normal)
{
    /* pool 1 2 2 2 3 3 4 5: ranks 1, 3 3 3, 5.5 5.5, 7, 8; R1 = 12.5, U = 2.5;
     * var = 16/12 (9 - 30/56); z = (2.5 - 8 + 0.5)/sqrt(var) = -1.48835;
     * p = erfc(|z|/√2) = 0.136658 (R: wilcox.test(exact = FALSE, correct = TRUE)). */
    double a[] = { 1, 2, 2, 3 }, b[] = { 2, 3, 4, 5 };
    ein_mwu r;
    ck_assert_int_eq(ein_mann_whitney(a, 4, b, 4, &r), 0);
    ck_assert(!r.exact);
    ck_assert(tu_close(r.u, 2.5, 0, 1e-12));
    ck_assert(tu_close(r.z, -1.4883513944689681, 0, 1e-9));
    ck_assert(tu_close(r.p, 0.13665824773814753, 0, 1e-9));
}
END_TEST

Suite *ein_test_suite(void)
{
    Suite *s = suite_create("stats");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, median_and_iqr_type7);
    tcase_add_test(tc, topk_takes_the_best);
    tcase_add_test(tc, mann_whitney_exact);
    tcase_add_test(tc, mann_whitney_ties_normal);
    suite_add_tcase(s, tc);
    return s;
}
