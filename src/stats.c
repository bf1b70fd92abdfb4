/* stats.c — see stats.h.  Definitions follow R (quantile type 7, wilcox.test
 * with correct = TRUE) so that numbers can be checked against R or scipy. */
#include "ein/stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

double ein_stat_mean(const double *x, size_t n)
{
    if (n == 0)
        return NAN;
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += x[i];
    return s / (double)n;
}

double ein_stat_sd(const double *x, size_t n)
{
    if (n < 2)
        return NAN;
    double m = ein_stat_mean(x, n), s = 0;
    for (size_t i = 0; i < n; i++)
        s += (x[i] - m) * (x[i] - m);
    return sqrt(s / (double)(n - 1));
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void ein_stat_sort(double *x, size_t n) { qsort(x, n, sizeof *x, cmp_double); }

double ein_stat_quantile_sorted(const double *x, size_t n, double q)
{
    if (n == 0)
        return NAN;
    double h = (double)(n - 1) * q;
    size_t lo = (size_t)floor(h);
    if (lo >= n - 1)
        return x[n - 1];
    return x[lo] + (h - (double)lo) * (x[lo + 1] - x[lo]);
}

static double *sorted_copy(const double *x, size_t n)
{
    double *c = malloc((n ? n : 1) * sizeof *c);
    if (c) {
        memcpy(c, x, n * sizeof *c);
        ein_stat_sort(c, n);
    }
    return c;
}

double ein_stat_median(const double *x, size_t n)
{
    double *c = sorted_copy(x, n);
    if (!c)
        return NAN;
    double m = ein_stat_quantile_sorted(c, n, 0.5);
    free(c);
    return m;
}

double ein_stat_iqr(const double *x, size_t n)
{
    double *c = sorted_copy(x, n);
    if (!c)
        return NAN;
    double r = ein_stat_quantile_sorted(c, n, 0.75) - ein_stat_quantile_sorted(c, n, 0.25);
    free(c);
    return r;
}

void ein_stat_topk(const double *x, size_t n, size_t k, double *median, double *sd)
{
    double *c = sorted_copy(x, n);
    if (!c) {
        *median = *sd = NAN;
        return;
    }
    size_t m = k < n ? k : n;
    const double *top = c + (n - m);     /* ascending: the k best are at the end */
    *median = ein_stat_quantile_sorted(top, m, 0.5);
    *sd = ein_stat_sd(top, m);
    free(c);
}

/* Exact null distribution of U for n1, n2 without ties: counts of
 * arrangements f(n1, n2, u) by the recurrence f(i,j,u) = f(i-1,j,u-j) + f(i,j-1,u). */
static double exact_cdf(size_t n1, size_t n2, double u, int upper)
{
    size_t umax = n1 * n2;
    /* f[j][u] for the current i, rolled over i */
    double *f = calloc((n2 + 1) * (umax + 1), sizeof *f);
    if (!f)
        return NAN;
#define F(j, v) f[(j) * (umax + 1) + (v)]
    for (size_t j = 0; j <= n2; j++)
        F(j, 0) = 1;          /* i = 0: one arrangement, U = 0 */
    for (size_t i = 1; i <= n1; i++) {
        /* j = 0: only U = 0 */
        for (size_t j = 1; j <= n2; j++)
            for (size_t v = umax; ; v--) {
                /* new f(i,j,v) = f(i-1,j,v-j) + f(i,j-1,v); F(j,.) holds i-1, F(j-1,.) holds i */
                double a = v >= j ? F(j, v - j) : 0;
                F(j, v) = a + F(j - 1, v);
                if (v == 0)
                    break;
            }
    }
    double total = 0, tail = 0;
    for (size_t v = 0; v <= umax; v++) {
        total += F(n2, v);
        if (upper ? (double)v >= u - 1e-9 : (double)v <= u + 1e-9)
            tail += F(n2, v);
    }
#undef F
    free(f);
    return tail / total;
}

int ein_mann_whitney(const double *a, size_t n1, const double *b, size_t n2, ein_mwu *out)
{
    memset(out, 0, sizeof *out);
    if (n1 == 0 || n2 == 0)
        return -1;
    size_t n = n1 + n2;
    /* Ranks with ties averaged, on the pooled sample. */
    double *v = malloc(n * sizeof *v);
    size_t *idx = malloc(n * sizeof *idx);
    if (!v || !idx) {
        free(v);
        free(idx);
        return -1;
    }
    for (size_t i = 0; i < n1; i++)
        v[i] = a[i];
    for (size_t i = 0; i < n2; i++)
        v[n1 + i] = b[i];
    for (size_t i = 0; i < n; i++)
        idx[i] = i;
    for (size_t i = 1; i < n; i++)          /* insertion sort of indices: n is small */
        for (size_t j = i; j > 0 && v[idx[j - 1]] > v[idx[j]]; j--) {
            size_t t = idx[j];
            idx[j] = idx[j - 1];
            idx[j - 1] = t;
        }
    double r1 = 0, tie_term = 0;
    int ties = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j + 1 < n && v[idx[j + 1]] == v[idx[i]])
            j++;
        double rank = (double)(i + j + 2) / 2.0;     /* 1-based average rank */
        double t = (double)(j - i + 1);
        if (t > 1) {
            ties = 1;
            tie_term += t * t * t - t;
        }
        for (size_t k = i; k <= j; k++)
            if (idx[k] < n1)
                r1 += rank;
        i = j + 1;
    }
    free(v);
    free(idx);
    double dn1 = (double)n1, dn2 = (double)n2, dn = (double)n;
    out->u = r1 - dn1 * (dn1 + 1) / 2;
    out->u2 = dn1 * dn2 - out->u;
    if (!ties && n <= 40) {
        double lo = exact_cdf(n1, n2, out->u, 0), hi = exact_cdf(n1, n2, out->u, 1);
        double p = 2 * (lo < hi ? lo : hi);
        out->p = p > 1 ? 1 : p;
        out->exact = 1;
        return 0;
    }
    double mu = dn1 * dn2 / 2;
    double var = dn1 * dn2 / 12 * ((dn + 1) - tie_term / (dn * (dn - 1)));
    double d = out->u - mu;
    double cc = d > 0 ? 0.5 : d < 0 ? -0.5 : 0;
    out->z = var > 0 ? (d - cc) / sqrt(var) : 0;
    out->p = var > 0 ? erfc(fabs(out->z) / sqrt(2.0)) : 1;
    if (out->p > 1)
        out->p = 1;
    return 0;
}
