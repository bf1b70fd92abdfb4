/* gemm.h — the engine's matrix products: C = alpha·op(A)·op(B) + beta·C.
 *
 * Row-major, with cblas_sgemm's arguments and meaning.  In the float build the
 * three shapes a training step issues (ops.c: x·Wᵀ forward, dZ·W and dZᵀ·X
 * backward) run on kernels of our own; everything else, and every product of
 * the double build, goes to the BLAS.
 *
 * Why our own: at batch 32 the BLAS repacks the whole weight matrix for 32
 * rows of work on every call (docs/model.md, "Where the step's time goes").
 * Our kernels read the weights in place and pack only the small batch-sized
 * operand.  They are also reproducible: every element of C is
 *
 *     acc = 0;  for p = 0 .. k−1 in order:  acc = fma(A(i,p), B(p,j), acc)
 *     C(i,j) = beta == 0 ? alpha·acc : fma(alpha, acc, beta·C(i,j))
 *
 * one lane of a vector per element, whatever the vector width, so the scalar,
 * AVX2 and AVX-512 kernels give the same bits (check_gemm asserts it), and a
 * cell's numbers do not depend on which of them the machine runs.
 *
 * Nothing here allocates: the packed operand lives in a fixed stack block,
 * filled one block of rows at a time.  No state: the kernel is an argument.
 */
#ifndef EIN_GEMM_H
#define EIN_GEMM_H

#include <stdbool.h>
#include "ein/real.h"

typedef enum ein_gemm_kernel {
    EIN_GEMM_AUTO,      /* the widest of ours the CPU runs (AVX-512, AVX2, scalar) */
    EIN_GEMM_BLAS,      /* every product to the BLAS (OpenBLAS) */
    EIN_GEMM_SCALAR,    /* ours, one element at a time (C's fmaf) */
    EIN_GEMM_AVX2,      /* ours, 8 lanes (AVX2 + FMA) */
    EIN_GEMM_AVX512,    /* ours, 16 lanes (AVX-512F) */
    EIN_GEMM_N_KERNELS
} ein_gemm_kernel;

/* "auto", "blas", "scalar", "avx2", "avx512"; NULL out of range. */
const char *ein_gemm_kernel_name(ein_gemm_kernel k);
/* The kernel of that name, or -1. */
int ein_gemm_kernel_from_name(const char *name);

/* The kernel $EIN_GEMM names, or EIN_GEMM_AUTO when it is unset; -1 when it
 * names none (the caller reports it). */
int ein_gemm_kernel_from_env(void);

/* Whether this CPU runs that kernel (AUTO, BLAS and SCALAR always). */
bool ein_gemm_kernel_supported(ein_gemm_kernel k);

/* What AUTO means on this CPU: AVX512, AVX2 or SCALAR. */
ein_gemm_kernel ein_gemm_kernel_resolve(ein_gemm_kernel k);

/* The kernel a new graph runs: the one $EIN_GEMM names if this CPU runs it,
 * else AUTO; resolved (never AUTO).  einrun refuses a bad $EIN_GEMM before
 * any graph exists, so there the fallback is never taken. */
ein_gemm_kernel ein_gemm_kernel_default(void);

/* Whether `kernel` runs this product on our kernels (else on the BLAS). */
bool ein_gemm_is_own(ein_gemm_kernel kernel, bool ta, bool tb);

/* C (m × n) = alpha·op(A)·op(B) + beta·C; op(A) is m × k, op(B) is k × n.
 * `kernel` must be supported (an unsupported one runs as SCALAR). */
void ein_gemm(ein_gemm_kernel kernel, bool ta, bool tb, int m, int n, int k, ein_real alpha,
              const ein_real *a, int lda, const ein_real *b, int ldb, ein_real beta, ein_real *c, int ldc);

/* The same, then every element of C clamped at zero, v > 0 ? v : 0 (a NaN
 * becomes 0), as M8's sign constraint does after an SGD update.  Our kernels
 * clamp as they store, so a fused update (optim.h) and its clamp are one pass
 * over the weights; the BLAS path clamps after the product. */
void ein_gemm_clamped(ein_gemm_kernel kernel, bool ta, bool tb, int m, int n, int k, ein_real alpha,
                      const ein_real *a, int lda, const ein_real *b, int ldb, ein_real beta, ein_real *c, int ldc);

#endif
