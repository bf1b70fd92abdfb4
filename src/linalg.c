/* linalg.c — one-sided Jacobi SVD (include/ein/linalg.h), for M4's B_ix init.
 *
 * Hestenes' method on rows: for each pair (p, q) with α = ‖a_p‖², β = ‖a_q‖²,
 * γ = a_p·a_q, the plane rotation with ζ = (β − α)/(2γ),
 * t = sign(ζ)/(|ζ| + √(1+ζ²)), c = 1/√(1+t²), s = c·t makes the two rows
 * orthogonal.  Applying all rotations from the left turns A into Uᵀ A, whose
 * rows, once mutually orthogonal, are s_k v_kᵀ.  The row dot products and
 * rotations are BLAS level 1 (ddot, drot). */
#include "ein/linalg.h"

#include <cblas.h>
#include <stdbool.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SVD_TOL        1e-12
#define SVD_MAX_SWEEPS 60

typedef struct row_norm { double norm2; int row; } row_norm;

static int by_norm_desc(const void *a, const void *b)
{
    const row_norm *x = a, *y = b;
    if (x->norm2 != y->norm2)
        return x->norm2 < y->norm2 ? 1 : -1;
    return x->row - y->row;      /* stable: equal norms keep their order */
}

ein_code ein_svd_rows(double *A, int m, int n, int *sweeps_out, ein_err *err)
{
    if (m < 1 || m > n)
        return ein_err_set(err, EIN_ERR_USAGE, "SVD of a %d x %d matrix: needs 1 <= rows <= columns", m, n);
    double *norm2 = malloc((size_t)m * sizeof *norm2);
    row_norm *order = malloc((size_t)m * sizeof *order);
    double *tmp = malloc((size_t)m * (size_t)n * sizeof *tmp);
    if (norm2 == NULL || order == NULL || tmp == NULL) {
        free(norm2);
        free(order);
        free(tmp);
        return ein_err_set(err, EIN_ERR_NOMEM, "out of memory for a %d x %d SVD", m, n);
    }
    int sweep = 0;
    for (bool rotated = true; rotated && sweep < SVD_MAX_SWEEPS; sweep++) {
        rotated = false;
        /* fresh norms every sweep, so the cheap updates below never drift far */
        for (int p = 0; p < m; p++)
            norm2[p] = cblas_ddot(n, A + (size_t)p * n, 1, A + (size_t)p * n, 1);
        for (int p = 0; p < m - 1; p++) {
            double *ap = A + (size_t)p * n;
            for (int q = p + 1; q < m; q++) {
                double *aq = A + (size_t)q * n;
                double alpha = norm2[p], beta = norm2[q];
                double gamma = cblas_ddot(n, ap, 1, aq, 1);
                if (gamma == 0 || fabs(gamma) <= SVD_TOL * sqrt(alpha * beta))
                    continue;
                double zeta = (beta - alpha) / (2 * gamma);
                double t = (zeta >= 0 ? 1.0 : -1.0) / (fabs(zeta) + sqrt(1 + zeta * zeta));
                double c = 1 / sqrt(1 + t * t), s = c * t;
                /* drot: a_p ← c a_p + (−s) a_q, a_q ← c a_q − (−s) a_p */
                cblas_drot(n, ap, 1, aq, 1, c, -s);
                norm2[p] = alpha - t * gamma;
                norm2[q] = beta + t * gamma;
                rotated = true;
            }
        }
    }
    for (int p = 0; p < m; p++) {
        order[p].norm2 = cblas_ddot(n, A + (size_t)p * n, 1, A + (size_t)p * n, 1);
        order[p].row = p;
    }
    qsort(order, (size_t)m, sizeof *order, by_norm_desc);
    memcpy(tmp, A, (size_t)m * (size_t)n * sizeof *tmp);
    for (int k = 0; k < m; k++)
        memcpy(A + (size_t)k * n, tmp + (size_t)order[k].row * n, (size_t)n * sizeof *A);
    if (sweeps_out != NULL)
        *sweeps_out = sweep;
    free(norm2);
    free(order);
    free(tmp);
    return EIN_OK;
}
