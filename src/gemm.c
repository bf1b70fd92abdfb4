/* gemm.c — the engine's matrix products (include/ein/gemm.h).
 *
 * A product is brought to one form, a "panel": C(i,j) = Σ_p A(i,p)·B(p,j)
 * with B's rows contiguous in j, so a vector of C's row takes one broadcast
 * of A(i,p) and one load of B's row per p (no reduction across lanes).
 *
 *   x·Wᵀ  (NT, the forward)       is computed transposed, Cᵀ = W·xᵀ: W is read
 *                                 in place as A, the batch xᵀ is packed as B;
 *   dZ·W  (NN, the input's error) is a panel as it stands;
 *   dZᵀ·X (TN, the weights' error and fused SGD update) too, with dZ's
 *                                 transpose packed as A.
 */
#include "ein/gemm.h"

#include <cblas.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define GEMM_X86 1
#include <immintrin.h>
#endif

static const char *const kernel_names[EIN_GEMM_N_KERNELS] = {
    [EIN_GEMM_AUTO] = "auto", [EIN_GEMM_BLAS] = "blas", [EIN_GEMM_SCALAR] = "scalar",
    [EIN_GEMM_AVX2] = "avx2", [EIN_GEMM_AVX512] = "avx512",
};

const char *ein_gemm_kernel_name(ein_gemm_kernel k)
{
    return (unsigned)k < EIN_GEMM_N_KERNELS ? kernel_names[k] : NULL;
}

int ein_gemm_kernel_from_name(const char *name)
{
    for (int k = 0; name != NULL && k < EIN_GEMM_N_KERNELS; k++)
        if (strcmp(name, kernel_names[k]) == 0)
            return k;
    return -1;
}

int ein_gemm_kernel_from_env(void)
{
    const char *env = getenv("EIN_GEMM");
    return env == NULL || *env == '\0' ? EIN_GEMM_AUTO : ein_gemm_kernel_from_name(env);
}

bool ein_gemm_kernel_supported(ein_gemm_kernel k)
{
    switch (k) {
    case EIN_GEMM_AUTO: case EIN_GEMM_BLAS: case EIN_GEMM_SCALAR:
        return true;
#ifdef GEMM_X86
    case EIN_GEMM_AVX2:
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case EIN_GEMM_AVX512:
        return __builtin_cpu_supports("avx512f");
#endif
    default:
        return false;
    }
}

ein_gemm_kernel ein_gemm_kernel_resolve(ein_gemm_kernel k)
{
    if (k != EIN_GEMM_AUTO)
        return k;
    if (ein_gemm_kernel_supported(EIN_GEMM_AVX512))
        return EIN_GEMM_AVX512;
    if (ein_gemm_kernel_supported(EIN_GEMM_AVX2))
        return EIN_GEMM_AVX2;
    return EIN_GEMM_SCALAR;
}

ein_gemm_kernel ein_gemm_kernel_default(void)
{
    int env = ein_gemm_kernel_from_env();
    ein_gemm_kernel k = env >= 0 && ein_gemm_kernel_supported(env) ? (ein_gemm_kernel)env : EIN_GEMM_AUTO;
    return ein_gemm_kernel_resolve(k);
}

#ifndef EIN_REAL_DOUBLE

/* C(i,j) = Σ_p A(i,p)·B(p,j) scaled into C; element (i,j) of each operand
 * at base + i·row + j·col (A: i, p; B: p, j; C: i, j). */
typedef struct gemm_panel {
    int rows, cols, depth;
    const float *a;
    ptrdiff_t a_row, a_step;
    const float *b;
    ptrdiff_t b_row, b_col;
    float *c;
    ptrdiff_t c_row, c_col;
    float alpha, beta;
    bool clamp;                 /* C at least 0 (ein_gemm_clamped) */
} gemm_panel;

/* The one way a sum becomes an element of C, in every kernel (gemm.h). */
static inline void gemm_finish(const gemm_panel *P, int i, int j, float acc)
{
    float *c = P->c + (ptrdiff_t)i * P->c_row + (ptrdiff_t)j * P->c_col;
    float v = P->beta == 0 ? P->alpha * acc : fmaf(P->alpha, acc, P->beta * *c);
    *c = P->clamp ? (v > 0 ? v : 0) : v;
}

static void panel_run_scalar(const gemm_panel *P)
{
    for (int i = 0; i < P->rows; i++)
        for (int j = 0; j < P->cols; j++) {
            const float *a = P->a + (ptrdiff_t)i * P->a_row;
            const float *b = P->b + (ptrdiff_t)j * P->b_col;
            float acc = 0;
            for (int p = 0; p < P->depth; p++)
                acc = fmaf(a[p * P->a_step], b[p * P->b_row], acc);
            gemm_finish(P, i, j, acc);
        }
}

#ifdef GEMM_X86
/* n rounded up to whole tiles of `tile` (gemm_tile.h's choice of tile). */
static inline long padded(int n, int tile) { return (long)(n + tile - 1) / tile * tile; }

/* ---- AVX2 + FMA: 8 lanes ---- */
#define ISA(name) name##_avx2
#define KATTR __attribute__((target("avx2,fma")))
#define VEC __m256
#define MASK __m256i
#define VL 8
#define V_ZERO() _mm256_setzero_ps()
#define V_SET(x) _mm256_set1_ps(x)
#define V_BCAST(p) _mm256_broadcast_ss(p)
#define V_LOAD(p) _mm256_loadu_ps(p)
#define V_STORE(p, v) _mm256_storeu_ps(p, v)
#define V_MLOAD(p, m) _mm256_maskload_ps(p, m)
#define V_MSTORE(p, m, v) _mm256_maskstore_ps(p, m, v)
#define V_FMA(a, b, c) _mm256_fmadd_ps(a, b, c)
#define V_MUL(a, b) _mm256_mul_ps(a, b)
#define V_CLAMP(v) _mm256_max_ps(v, _mm256_setzero_ps())
#define V_MASK(n) _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7))
#define V_UNPACKLO(a, b) _mm256_unpacklo_ps(a, b)
#define V_UNPACKHI(a, b) _mm256_unpackhi_ps(a, b)
#define V_SHUFFLE(a, b, imm) _mm256_shuffle_ps(a, b, imm)
/* the two 128-bit halves: r[q] takes the low ones of r[q] and r[4 + q], r[4 + q] the high */
#define V_JOIN_LANES(r)                                                                      \
    for (int q = 0; q < 4; q++) {                                                            \
        __m256 lo = r[q], hi = r[4 + q];                                                     \
        r[q] = _mm256_permute2f128_ps(lo, hi, 0x20);                                         \
        r[4 + q] = _mm256_permute2f128_ps(lo, hi, 0x31);                                     \
    }
#define WIDE_MR 6
#define WIDE_NV 2
#define EVEN_MR 4
#define EVEN_NV 3
#define TALL_MR 3
#define TALL_NV 4
#define TAIL_MR 1
#include "gemm_tile.h"
#undef ISA
#undef KATTR
#undef VEC
#undef MASK
#undef VL
#undef V_ZERO
#undef V_SET
#undef V_BCAST
#undef V_LOAD
#undef V_STORE
#undef V_MLOAD
#undef V_MSTORE
#undef V_FMA
#undef V_MUL
#undef V_CLAMP
#undef V_MASK
#undef V_UNPACKLO
#undef V_UNPACKHI
#undef V_SHUFFLE
#undef V_JOIN_LANES
#undef WIDE_MR
#undef WIDE_NV
#undef EVEN_MR
#undef EVEN_NV
#undef TALL_MR
#undef TALL_NV
#undef TAIL_MR

/* ---- AVX-512F: 16 lanes ---- */
#define ISA(name) name##_avx512
#define KATTR __attribute__((target("avx512f")))
#define VEC __m512
#define MASK __mmask16
#define VL 16
#define V_ZERO() _mm512_setzero_ps()
#define V_SET(x) _mm512_set1_ps(x)
#define V_BCAST(p) _mm512_set1_ps(*(p))
#define V_LOAD(p) _mm512_loadu_ps(p)
#define V_STORE(p, v) _mm512_storeu_ps(p, v)
#define V_MLOAD(p, m) _mm512_maskz_loadu_ps(m, p)
#define V_MSTORE(p, m, v) _mm512_mask_storeu_ps(p, m, v)
#define V_FMA(a, b, c) _mm512_fmadd_ps(a, b, c)
#define V_MUL(a, b) _mm512_mul_ps(a, b)
#define V_CLAMP(v) _mm512_max_ps(v, _mm512_setzero_ps())
#define V_MASK(n) ((__mmask16)((1u << (n)) - 1u))
#define V_UNPACKLO(a, b) _mm512_unpacklo_ps(a, b)
#define V_UNPACKHI(a, b) _mm512_unpackhi_ps(a, b)
#define V_SHUFFLE(a, b, imm) _mm512_shuffle_ps(a, b, imm)
/* the four 128-bit lanes of the four row groups: lane L of r[4g + q] goes to lane g of r[4L + q] */
#define V_JOIN_LANES(r)                                                                      \
    for (int q = 0; q < 4; q++) {                                                            \
        __m512 x0 = _mm512_shuffle_f32x4(r[q], r[4 + q], 0x88);                              \
        __m512 x1 = _mm512_shuffle_f32x4(r[q], r[4 + q], 0xDD);                              \
        __m512 y0 = _mm512_shuffle_f32x4(r[8 + q], r[12 + q], 0x88);                         \
        __m512 y1 = _mm512_shuffle_f32x4(r[8 + q], r[12 + q], 0xDD);                         \
        r[q] = _mm512_shuffle_f32x4(x0, y0, 0x88);                                           \
        r[4 + q] = _mm512_shuffle_f32x4(x1, y1, 0x88);                                       \
        r[8 + q] = _mm512_shuffle_f32x4(x0, y0, 0xDD);                                       \
        r[12 + q] = _mm512_shuffle_f32x4(x1, y1, 0xDD);                                      \
    }
#define WIDE_MR 6
#define WIDE_NV 4
#define EVEN_MR 8
#define EVEN_NV 3
#define TALL_MR 12
#define TALL_NV 2
#define TAIL_MR 4
#include "gemm_tile.h"
#endif

static void panel_run(ein_gemm_kernel kernel, const gemm_panel *P)
{
#ifdef GEMM_X86
    if (P->b_col == 1 && kernel == EIN_GEMM_AVX512) {
        panel_run_avx512(P);
        return;
    }
    if (P->b_col == 1 && kernel == EIN_GEMM_AVX2) {
        panel_run_avx2(P);
        return;
    }
#endif
    panel_run_scalar(P);
}

/* packed[p·rows + i] = a[i·lda + p]: whole blocks of VL rows by the kernel's
 * register transpose, the rest one element at a time. */
static void pack_run(ein_gemm_kernel kernel, const float *a, ptrdiff_t lda, int rows, int k, float *packed)
{
    int done = 0;
#ifdef GEMM_X86
    if (kernel == EIN_GEMM_AVX512)
        done = pack_transposed_avx512(a, lda, rows, k, packed);
    else if (kernel == EIN_GEMM_AVX2)
        done = pack_transposed_avx2(a, lda, rows, k, packed);
#else
    (void)kernel;
#endif
    for (int i = done; i < rows; i++)
        for (int p = 0; p < k; p++)
            packed[(ptrdiff_t)p * rows + i] = a[(ptrdiff_t)i * lda + p];
}

/* The batch operand of x·Wᵀ and of dZᵀ·X, transposed a block of rows at a
 * time into this many floats on the stack (128 kB: a batch of 32 with up to
 * 1 024 inputs or units in one block). */
#define PACK_FLOATS (32 * 1024)

/* Rows of the batch-sized operand packed at once: all m if they fit in
 * PACK_FLOATS, else the most that do, in whole multiples of `whole` where
 * at least one fits (k ≤ PACK_FLOATS). */
static int pack_block_rows(int m, int k, int whole)
{
    int block = PACK_FLOATS / k;
    return block >= m ? m : block >= whole ? block - block % whole : block;
}

/* C (m×n) = alpha·A·Bᵀ + beta·C as Cᵀ = B·Aᵀ: rows of C's transpose are B's
 * rows (read in place), its columns the packed rows of A. */
static void gemm_nt(ein_gemm_kernel kernel, int m, int n, int k, float alpha, const float *a, int lda,
                    const float *b, int ldb, float beta, float *c, int ldc, bool clamp)
{
    gemm_panel P = { .rows = n, .depth = k, .a = b, .a_row = ldb, .a_step = 1,
                     .c_row = 1, .c_col = ldc, .alpha = alpha, .beta = beta, .clamp = clamp };
    if (kernel == EIN_GEMM_SCALAR || k > PACK_FLOATS) {   /* read A in place, down its rows */
        P.cols = m;
        P.b = a;
        P.b_row = 1;
        P.b_col = lda;
        P.c = c;
        panel_run_scalar(&P);
        return;
    }
    float packed[PACK_FLOATS];
    int block = pack_block_rows(m, k, 32);  /* whole tiles of 32 columns where it can */
    for (int i0 = 0; i0 < m; i0 += block) {
        int rows = m - i0 < block ? m - i0 : block;
        pack_run(kernel, a + (ptrdiff_t)i0 * lda, lda, rows, k, packed);
        P.cols = rows;
        P.b = packed;
        P.b_row = rows;
        P.b_col = 1;
        P.c = c + (ptrdiff_t)i0 * ldc;
        panel_run(kernel, &P);
    }
}

/* C (m×n) = alpha·Aᵀ·B + beta·C with A k×m: the weights' error dZᵀ·X, k the
 * batch.  Read in place, a tile's broadcasts of A(p, i) take a cache line of
 * A for every p; Aᵀ packed a block of rows at a time (a multiple of 24 rows,
 * which every tile's height divides) reads each row of the tile in order
 * instead: 500 × 500 at batch 128 runs 1.3× faster.  The pack pays only when
 * each element of A serves a wide row of B (narrower than PACK_MIN_COLS,
 * 500 × 50 is slower packed).  Only A's elements move, so the bits are those
 * of the product in place. */
#define PACK_MIN_COLS 256
static void gemm_tn(ein_gemm_kernel kernel, int m, int n, int k, float alpha, const float *a, int lda,
                    const float *b, int ldb, float beta, float *c, int ldc, bool clamp)
{
    gemm_panel P = { .rows = m, .cols = n, .depth = k, .a = a, .a_row = 1, .a_step = lda,
                     .b = b, .b_row = ldb, .b_col = 1, .c = c, .c_row = ldc, .c_col = 1,
                     .alpha = alpha, .beta = beta, .clamp = clamp };
    if (kernel == EIN_GEMM_SCALAR || k > PACK_FLOATS || n < PACK_MIN_COLS) {   /* A in place, down its columns */
        panel_run(kernel, &P);
        return;
    }
    float packed[PACK_FLOATS];
    int block = pack_block_rows(m, k, 24);
    P.a_row = k;
    P.a_step = 1;
    for (int i0 = 0; i0 < m; i0 += block) {
        int rows = m - i0 < block ? m - i0 : block;
        pack_run(kernel, a + i0, lda, k, rows, packed);     /* packed[i·k + p] = A(p, i0 + i) */
        P.rows = rows;
        P.a = packed;
        P.c = c + (ptrdiff_t)i0 * ldc;
        panel_run(kernel, &P);
    }
}

#endif /* !EIN_REAL_DOUBLE */

bool ein_gemm_is_own(ein_gemm_kernel kernel, bool ta, bool tb)
{
#ifdef EIN_REAL_DOUBLE
    (void)kernel, (void)ta, (void)tb;
    return false;
#else
    return kernel != EIN_GEMM_BLAS && !(ta && tb);
#endif
}

static void gemm_run(ein_gemm_kernel kernel, bool ta, bool tb, int m, int n, int k, ein_real alpha,
                     const ein_real *a, int lda, const ein_real *b, int ldb, ein_real beta, ein_real *c, int ldc,
                     bool clamp)
{
    if (m <= 0 || n <= 0)
        return;
#ifndef EIN_REAL_DOUBLE
    kernel = ein_gemm_kernel_resolve(kernel);
    if (!ein_gemm_kernel_supported(kernel))
        kernel = EIN_GEMM_SCALAR;
    if (k > 0 && ein_gemm_is_own(kernel, ta, tb)) {
        if (tb) {
            gemm_nt(kernel, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, clamp);
            return;
        }
        if (ta) {
            gemm_tn(kernel, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, clamp);
            return;
        }
        gemm_panel P = { .rows = m, .cols = n, .depth = k, .a = a, .a_row = lda, .a_step = 1,
                         .b = b, .b_row = ldb, .b_col = 1, .c = c, .c_row = ldc, .c_col = 1,
                         .alpha = alpha, .beta = beta, .clamp = clamp };
        panel_run(kernel, &P);
        return;
    }
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
#else
    (void)kernel;
    cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
#endif
    for (int i = 0; clamp && i < m; i++)
        for (int j = 0; j < n; j++) {
            ein_real v = c[(ptrdiff_t)i * ldc + j];
            c[(ptrdiff_t)i * ldc + j] = v > 0 ? v : 0;
        }
}

void ein_gemm(ein_gemm_kernel kernel, bool ta, bool tb, int m, int n, int k, ein_real alpha,
              const ein_real *a, int lda, const ein_real *b, int ldb, ein_real beta, ein_real *c, int ldc)
{
    gemm_run(kernel, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, false);
}

void ein_gemm_clamped(ein_gemm_kernel kernel, bool ta, bool tb, int m, int n, int k, ein_real alpha,
                      const ein_real *a, int lda, const ein_real *b, int ldb, ein_real beta, ein_real *c, int ldc)
{
    gemm_run(kernel, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, true);
}
