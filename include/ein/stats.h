/* stats.h — grid statistics (model.md M9): quantiles, top-k, Mann–Whitney U.
 * Pure functions on caller-owned arrays; nothing to free.  NaN inputs must be
 * filtered out by the caller (a failed cell has no accuracy). */
#ifndef EIN_STATS_H
#define EIN_STATS_H

#include <stddef.h>

double ein_stat_mean(const double *x, size_t n);            /* NaN for n = 0 */
double ein_stat_sd(const double *x, size_t n);              /* sample sd (n-1); NaN for n < 2 */
void ein_stat_sort(double *x, size_t n);                    /* ascending, in place */
/* Quantile q in [0,1] of sorted x, linear interpolation between order
 * statistics (R type 7, numpy's default): h = (n-1) q. */
double ein_stat_quantile_sorted(const double *x, size_t n, double q);
double ein_stat_median(const double *x, size_t n);          /* copies, sorts, quantile 0.5 */
double ein_stat_iqr(const double *x, size_t n);             /* Q3 - Q1, type 7 */
/* M9 "top-k median": the k largest values (all when n < k), their median and sd. */
void ein_stat_topk(const double *x, size_t n, size_t k, double *median, double *sd);

typedef struct ein_mwu {
    double u;        /* U of the first sample: #(a > b) + 0.5 #(a = b) */
    double u2;       /* n1 n2 - u */
    double z;        /* normal approximation (0 when exact) */
    double p;        /* two-sided p */
    int exact;       /* 1: exact null distribution (no ties, n1 + n2 <= 40) */
} ein_mwu;

/* Two-sided Mann–Whitney U test.  Exact when there are no ties and
 * n1 + n2 <= 40 (p = min(1, 2 min(P(U <= u), P(U >= u)))); otherwise the
 * normal approximation with tie correction and continuity correction 0.5.
 * Returns -1 when a sample is empty. */
int ein_mann_whitney(const double *a, size_t n1, const double *b, size_t n2, ein_mwu *out);

#endif
