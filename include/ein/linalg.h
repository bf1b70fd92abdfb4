/* linalg.h — the small dense linear algebra that model initialisation needs.
 *
 * Only what M4's divisive initialisation asks for: the SVD W₀ = U S Vᵀ of a
 * wide matrix, delivered as diag(S) Vᵀ (= Uᵀ W₀), by one-sided (Hestenes)
 * Jacobi rotations of the rows.  Double precision, caller-owned buffers, no
 * allocation beyond one scratch array freed before returning.
 */
#ifndef EIN_LINALG_H
#define EIN_LINALG_H

#include "ein/err.h"

/* In place: A (m × n, row-major, 1 ≤ m ≤ n) becomes diag(S) Vᵀ of its SVD
 * A = U S Vᵀ, i.e. row k is s_k·v_kᵀ, rows in order of decreasing singular
 * value s_k (their norms).  Rows are rotated pairwise until every pair is
 * orthogonal to relative precision 1e-12 (at most 60 sweeps); the rotations
 * are orthogonal, so ‖A x‖ is preserved for every x whether or not the last
 * sweep converged.  *sweeps_out (may be NULL) gets the sweeps used.
 * Fails only with EIN_ERR_USAGE (m > n or m < 1) or EIN_ERR_NOMEM. */
ein_code ein_svd_rows(double *A, int m, int n, int *sweeps_out, ein_err *err);

#endif
