/* check_gemm.c — the engine's matrix products (include/ein/gemm.h).
 *
 * - Our kernels compute each element exactly as gemm.h defines it: the k
 *   fmas in order, then one fma with alpha and beta.  The definition is
 *   written again here, independently, and every kernel this CPU runs must
 *   give its bits, for the three shapes of a training step (x·Wᵀ, dZ·W,
 *   dZᵀ·X) at the paper's sizes and at odd ones (tails of every tile, a
 *   batch packed in several blocks, a depth too long to pack).
 * - Every kernel, ours and the BLAS, agrees with a double-precision product.
 * - beta = 0 never reads C (a NaN there stays out); leading dimensions wider
 *   than the matrix leave the rest untouched.
 * - The kernel names and $EIN_GEMM.
 * In the double build every product is the BLAS's; only the agreement with
 * the double-precision product applies there. */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ein/gemm.h"
#include "ein/real.h"

static float rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return (float)((double)(*s >> 11) / 9007199254740992.0) - 0.5f;
}

typedef struct shape {
    bool ta, tb;
    int m, n, k;
    float alpha, beta;
} shape;

static const shape shapes[] = {
    { false, true, 32, 500, 784, 1, 0 },        /* forward x·W_exᵀ, first layer */
    { false, true, 32, 50, 500, 1, 0 },         /* forward x·W_ixᵀ */
    { false, true, 32, 1, 500, 1, 0 },          /* the output layer's one inhibitory unit */
    { false, false, 32, 784, 500, 1, 1 },       /* dX += dZ·W */
    { false, false, 32, 500, 10, 1, 1 },        /* dX += dZ·W, output layer */
    { true, false, 500, 784, 32, -0.05f, 1 },   /* W −= lr·dZᵀ·X, fused SGD (M8) */
    { true, false, 50, 500, 32, 1, 1 },         /* dW_ix += dZᵀ·X */
    { false, true, 100, 37, 784, 1, 0 },        /* a batch packed in several blocks */
    { false, true, 7, 13, 40000, 1, 0 },        /* a depth too long to pack */
    { true, false, 500, 300, 128, -0.05f, 1 },  /* a batch-128 dZᵀ packed in several blocks */
    { true, false, 7, 13, 40000, 1, 0.5f },     /* a batch too long to pack: dZ read in place */
    { false, true, 17, 37, 23, 2, 0.5f },
    { false, false, 19, 41, 13, 0.5f, -1 },
    { true, false, 29, 45, 7, -2, 0.5f },
    { false, false, 1, 1, 1, 1, 0 },
    { false, true, 33, 65, 3, 1, 1 },
    { true, true, 9, 11, 5, 1, 0.5f },          /* not ours: the BLAS's */
};
#define N_SHAPES (int)(sizeof shapes / sizeof shapes[0])

typedef struct operands {
    int lda, ldb, ldc;
    ein_real *a, *b, *c0;
} operands;

/* A and B with leading dimensions 3 wider than their rows, C 2 wider; the
 * padding holds a marker that no product may touch. */
#define MARK 12345.0f
static operands make_operands(const shape *s, uint64_t seed)
{
    operands o;
    int ar = s->ta ? s->k : s->m, ac = s->ta ? s->m : s->k;
    int br = s->tb ? s->n : s->k, bc = s->tb ? s->k : s->n;
    o.lda = ac + 3;
    o.ldb = bc + 3;
    o.ldc = s->n + 2;
    o.a = malloc((size_t)ar * o.lda * sizeof *o.a);
    o.b = malloc((size_t)br * o.ldb * sizeof *o.b);
    o.c0 = malloc((size_t)s->m * o.ldc * sizeof *o.c0);
    ck_assert(o.a != NULL && o.b != NULL && o.c0 != NULL);
    for (int i = 0; i < ar * o.lda; i++)
        o.a[i] = i % o.lda < ac ? rnd(&seed) : MARK;   /* float values, exact in either build */
    for (int i = 0; i < br * o.ldb; i++)
        o.b[i] = i % o.ldb < bc ? rnd(&seed) : MARK;
    for (int i = 0; i < s->m * o.ldc; i++)
        o.c0[i] = i % o.ldc < s->n ? rnd(&seed) : MARK;
    return o;
}

static void free_operands(operands *o)
{
    free(o->a);
    free(o->b);
    free(o->c0);
}

static ein_real op_a(const shape *s, const operands *o, int i, int p)
{
    return s->ta ? o->a[(size_t)p * o->lda + i] : o->a[(size_t)i * o->lda + p];
}

static ein_real op_b(const shape *s, const operands *o, int p, int j)
{
    return s->tb ? o->b[(size_t)j * o->ldb + p] : o->b[(size_t)p * o->ldb + j];
}

#ifndef EIN_REAL_DOUBLE
/* gemm.h's definition of one element, written out. */
static float defined_element(const shape *s, const operands *o, int i, int j)
{
    float acc = 0;
    for (int p = 0; p < s->k; p++)
        acc = fmaf(op_a(s, o, i, p), op_b(s, o, p, j), acc);
    float c = o->c0[(size_t)i * o->ldc + j];
    return s->beta == 0 ? s->alpha * acc : fmaf(s->alpha, acc, s->beta * c);
}
#endif

static double double_element(const shape *s, const operands *o, int i, int j, double *scale)
{
    double acc = 0, mag = 0;
    for (int p = 0; p < s->k; p++) {
        double t = (double)op_a(s, o, i, p) * op_b(s, o, p, j);
        acc += t;
        mag += fabs(t);
    }
    double c = o->c0[(size_t)i * o->ldc + j];
    *scale = fabs(s->alpha) * mag + fabs(s->beta * c);
    return s->alpha * acc + (s->beta == 0 ? 0 : s->beta * c);
}

static ein_real *run_maybe_clamped(ein_gemm_kernel kernel, const shape *s, const operands *o, bool clamp)
{
    ein_real *c = malloc((size_t)s->m * o->ldc * sizeof *c);
    ck_assert(c != NULL);
    memcpy(c, o->c0, (size_t)s->m * o->ldc * sizeof *c);
    if (clamp)
        ein_gemm_clamped(kernel, s->ta, s->tb, s->m, s->n, s->k, s->alpha, o->a, o->lda, o->b, o->ldb, s->beta, c,
                         o->ldc);
    else
        ein_gemm(kernel, s->ta, s->tb, s->m, s->n, s->k, s->alpha, o->a, o->lda, o->b, o->ldb, s->beta, c, o->ldc);
    for (int i = 0; i < s->m; i++)
        for (int j = s->n; j < o->ldc; j++)
            ck_assert_msg(c[(size_t)i * o->ldc + j] == MARK, "padding of C written at (%d, %d)", i, j);
    return c;
}

static ein_real *run(ein_gemm_kernel kernel, const shape *s, const operands *o)
{
    return run_maybe_clamped(kernel, s, o, false);
}

#ifndef EIN_REAL_DOUBLE
START_TEST(own_kernels_compute_the_definition)
{
    const shape *s = &shapes[_i];
    operands o = make_operands(s, 0x9E3779B97F4A7C15ull + (uint64_t)_i);
    int checked = 0;
    for (int kernel = EIN_GEMM_AUTO; kernel < EIN_GEMM_N_KERNELS; kernel++) {
        if (!ein_gemm_kernel_supported(kernel) || !ein_gemm_is_own(kernel, s->ta, s->tb))
            continue;
        float *c = run(kernel, s, &o);
        for (int i = 0; i < s->m; i++)
            for (int j = 0; j < s->n; j++) {
                float want = defined_element(s, &o, i, j), got = c[(size_t)i * o.ldc + j];
                ck_assert_msg(memcmp(&want, &got, sizeof got) == 0,
                              "%s, shape %d (%dx%dx%d): C(%d,%d) = %.9g, defined %.9g",
                              ein_gemm_kernel_name(kernel), _i, s->m, s->n, s->k, i, j, got, want);
            }
        free(c);
        checked++;
    }
    /* scalar and auto always; blas is never ours; TT never is */
    ck_assert_int_eq(checked, s->ta && s->tb ? 0 : 2 + ein_gemm_kernel_supported(EIN_GEMM_AVX2) +
                                                    ein_gemm_kernel_supported(EIN_GEMM_AVX512));
    free_operands(&o);
}
END_TEST

START_TEST(beta_zero_never_reads_c)
{
    for (int q = 0; q < N_SHAPES; q++) {
        shape s = shapes[q];
        s.beta = 0;
        operands o = make_operands(&s, 77 + (uint64_t)q);
        for (int i = 0; i < s.m; i++)
            for (int j = 0; j < s.n; j++)
                o.c0[(size_t)i * o.ldc + j] = NAN;
        for (int kernel = EIN_GEMM_AUTO; kernel < EIN_GEMM_N_KERNELS; kernel++) {
            if (!ein_gemm_kernel_supported(kernel))
                continue;
            float *c = run(kernel, &s, &o);
            for (int i = 0; i < s.m; i++)
                for (int j = 0; j < s.n; j++)
                    ck_assert_msg(isfinite(c[(size_t)i * o.ldc + j]), "%s, shape %d: NaN from C at (%d, %d)",
                                  ein_gemm_kernel_name(kernel), q, i, j);
            free(c);
        }
        free_operands(&o);
    }
}
END_TEST
#endif

START_TEST(every_kernel_agrees_with_double_precision)
{
    const shape *s = &shapes[_i];
    operands o = make_operands(s, 0xC0FFEEull + (uint64_t)_i);
    for (int kernel = EIN_GEMM_AUTO; kernel < EIN_GEMM_N_KERNELS; kernel++) {
        if (!ein_gemm_kernel_supported(kernel))
            continue;
        ein_real *c = run(kernel, s, &o);
        for (int i = 0; i < s->m; i++)
            for (int j = 0; j < s->n; j++) {
                double scale, want = double_element(s, &o, i, j, &scale);
                double tol = 4 * 1.2e-7 * (s->k + 2) * (scale + 1e-30);
                ck_assert_msg(fabs(c[(size_t)i * o.ldc + j] - want) <= tol,
                              "%s, shape %d: C(%d,%d) = %.9g, double %.12g",
                              ein_gemm_kernel_name(kernel), _i, i, j, c[(size_t)i * o.ldc + j], want);
            }
        free(c);
    }
    free_operands(&o);
}
END_TEST

/* ein_gemm_clamped is ein_gemm, then v > 0 ? v : 0 (M8's clamp), bit for
 * bit: a NaN (put into C where beta ≠ 0) comes out as +0. */
START_TEST(clamped_is_the_product_then_the_clamp)
{
    const shape *s = &shapes[_i];
    operands o = make_operands(s, 0xDA1Eull + (uint64_t)_i);
    if (s->beta != 0)
        for (int i = 0; i < s->m; i++)
            o.c0[(size_t)i * o.ldc + (size_t)(i % s->n)] = NAN;   /* one NaN a row, into the sum */
    for (int kernel = EIN_GEMM_AUTO; kernel < EIN_GEMM_N_KERNELS; kernel++) {
        if (!ein_gemm_kernel_supported(kernel))
            continue;
        ein_real *plain = run(kernel, s, &o), *clamped = run_maybe_clamped(kernel, s, &o, true);
        int zeros = 0, nans = 0;
        for (int i = 0; i < s->m; i++)
            for (int j = 0; j < s->n; j++) {
                ein_real v = plain[(size_t)i * o.ldc + j], want = v > 0 ? v : 0, got = clamped[(size_t)i * o.ldc + j];
                zeros += want == 0;
                nans += isnan(v);
                ck_assert_msg(memcmp(&want, &got, sizeof got) == 0, "%s, shape %d: clamp of %.9g gave %.9g",
                              ein_gemm_kernel_name(kernel), _i, (double)v, (double)got);
            }
        ck_assert(zeros > 0);                              /* about half the entries are negative */
        ck_assert_int_eq(nans, s->beta != 0 ? s->m : 0);   /* the NaNs went in, and came out as +0 */
        free(plain);
        free(clamped);
    }
    free_operands(&o);
}
END_TEST

START_TEST(kernel_names_and_environment)
{
    for (int k = 0; k < EIN_GEMM_N_KERNELS; k++)
        ck_assert_int_eq(ein_gemm_kernel_from_name(ein_gemm_kernel_name(k)), k);
    ck_assert_str_eq(ein_gemm_kernel_name(EIN_GEMM_AVX512), "avx512");
    ck_assert_ptr_null(ein_gemm_kernel_name(EIN_GEMM_N_KERNELS));
    ck_assert_int_eq(ein_gemm_kernel_from_name("AVX2"), -1);
    ck_assert_int_eq(ein_gemm_kernel_from_name(NULL), -1);
    unsetenv("EIN_GEMM");
    ck_assert_int_eq(ein_gemm_kernel_from_env(), EIN_GEMM_AUTO);
    setenv("EIN_GEMM", "blas", 1);
    ck_assert_int_eq(ein_gemm_kernel_from_env(), EIN_GEMM_BLAS);
    setenv("EIN_GEMM", "fast", 1);
    ck_assert_int_eq(ein_gemm_kernel_from_env(), -1);
    unsetenv("EIN_GEMM");
    ein_gemm_kernel best = ein_gemm_kernel_resolve(EIN_GEMM_AUTO);
    ck_assert(best == EIN_GEMM_AVX512 || best == EIN_GEMM_AVX2 || best == EIN_GEMM_SCALAR);
    ck_assert(ein_gemm_kernel_supported(best));
    ck_assert_int_eq(ein_gemm_kernel_resolve(EIN_GEMM_BLAS), EIN_GEMM_BLAS);
    /* what a new graph runs: $EIN_GEMM if this CPU runs it, else AUTO, resolved */
    ck_assert_int_eq(ein_gemm_kernel_default(), best);
    setenv("EIN_GEMM", "scalar", 1);
    ck_assert_int_eq(ein_gemm_kernel_default(), EIN_GEMM_SCALAR);
    setenv("EIN_GEMM", "blas", 1);
    ck_assert_int_eq(ein_gemm_kernel_default(), EIN_GEMM_BLAS);
    setenv("EIN_GEMM", "fast", 1);
    ck_assert_int_eq(ein_gemm_kernel_default(), best);
    unsetenv("EIN_GEMM");
#ifdef EIN_REAL_DOUBLE
    ck_assert(!ein_gemm_is_own(EIN_GEMM_SCALAR, false, true));
#else
    ck_assert(ein_gemm_is_own(EIN_GEMM_AUTO, false, true));
    ck_assert(ein_gemm_is_own(EIN_GEMM_SCALAR, true, false));
    ck_assert(!ein_gemm_is_own(EIN_GEMM_BLAS, false, false));
    ck_assert(!ein_gemm_is_own(EIN_GEMM_AVX2, true, true));
#endif
}
END_TEST

Suite *ein_test_suite(void)
{
    Suite *s = suite_create("gemm");
    TCase *tc = tcase_create("products");
    tcase_set_timeout(tc, 60);
#ifndef EIN_REAL_DOUBLE
    tcase_add_loop_test(tc, own_kernels_compute_the_definition, 0, N_SHAPES);
    tcase_add_test(tc, beta_zero_never_reads_c);
#endif
    tcase_add_loop_test(tc, every_kernel_agrees_with_double_precision, 0, N_SHAPES);
    tcase_add_loop_test(tc, clamped_is_the_product_then_the_clamp, 0, N_SHAPES);
    tcase_add_test(tc, kernel_names_and_environment);
    suite_add_tcase(s, tc);
    return s;
}
