/* gemm_tile.h — one vector ISA's kernels for gemm.c, included once per ISA.
 *
 * The includer defines:
 *   ISA(name)        the name with this ISA's suffix
 *   KATTR            the function attribute that enables the ISA
 *   VEC, MASK, VL    vector type, lane mask type, lanes
 *   V_ZERO(), V_SET(x), V_BCAST(p), V_LOAD(p), V_MLOAD(p, m), V_MSTORE(p, m, v),
 *   V_STORE(p, v), V_FMA(a, b, c) (a·b + c, one rounding), V_MUL(a, b),
 *   V_CLAMP(v)       max(v, 0) lane by lane, a NaN or a −0 giving +0 (gemm_finish's rule)
 *   V_MASK(n)        mask of the first n lanes (0 ≤ n ≤ VL)
 *   V_UNPACKLO(a, b), V_UNPACKHI(a, b), V_SHUFFLE(a, b, imm)   the unpcklps,
 *                    unpckhps and shufps of every 128-bit lane
 *   V_JOIN_LANES(r)  the last step of a transpose: the 128-bit lanes of r[0 .. VL−1]
 *                    moved so that r[c] holds column c (see ISA(transpose))
 *   WIDE_MR, WIDE_NV the tile of rows × vectors for wide products
 *   EVEN_MR, EVEN_NV the tile for wide products whose rows EVEN_MR divides
 *   TALL_MR, TALL_NV the tile for products at most TALL_NV·VL columns wide
 *   TAIL_MR          rows of the tile for a tall product's last rows
 *
 * Every element of C is one lane that runs the k fmas in order (gemm.h), so
 * the tile shape and the ISA change the speed, never the bits (a beta of 1
 * skips its multiply: 1·c is c, bit for bit).
 */

/* A tile of MR rows × NV vectors at (i0, j0).  Rows past the panel repeat its
 * last row (their results are not stored); lanes past it are masked. */
#define UNROLL _Pragma("GCC unroll 16")
/* acc[r][v] += A(i0 + r, p)·B(p, j0 + v·VL ...) for p = 0 .. depth−1, in order;
 * LOAD_B is vector v of B's row p (bp points at it). */
#define GEMM_TILE_SUMS(MR, NV, LOAD_B)                                                        \
    for (int p = 0; p < P->depth; p++, bp += ldb) {                                           \
        VEC bv[NV];                                                                           \
        UNROLL for (int v = 0; v < NV; v++)                                                   \
            bv[v] = LOAD_B;                                                                   \
        UNROLL for (int r = 0; r < MR; r++) {                                                 \
            VEC av = V_BCAST(ap[r] + p * step);                                               \
            UNROLL for (int v = 0; v < NV; v++)                                               \
                acc[r][v] = V_FMA(av, bv[v], acc[r][v]);                                      \
        }                                                                                     \
    }
#define GEMM_DEFINE_TILE(NAME, MR, NV)                                                        \
    static KATTR void NAME(const gemm_panel *P, int i0, int j0)                               \
    {                                                                                         \
        VEC acc[MR][NV];                                                                      \
        const float *ap[MR];                                                                  \
        MASK mask[NV];                                                                        \
        int lanes[NV];                                                                        \
        bool full = true;                                                                     \
        UNROLL for (int v = 0; v < NV; v++) {                                                 \
            int left = P->cols - j0 - v * VL;                                                 \
            lanes[v] = left < 0 ? 0 : left > VL ? VL : left;                                  \
            mask[v] = V_MASK(lanes[v]);                                                       \
            full = full && lanes[v] == VL;                                                    \
        }                                                                                     \
        UNROLL for (int r = 0; r < MR; r++) {                                                 \
            int i = i0 + r < P->rows ? i0 + r : P->rows - 1;                                  \
            ap[r] = P->a + (ptrdiff_t)i * P->a_row;                                           \
            UNROLL for (int v = 0; v < NV; v++)                                               \
                acc[r][v] = V_ZERO();                                                         \
        }                                                                                     \
        const float *bp = P->b + j0;                                                          \
        const ptrdiff_t step = P->a_step, ldb = P->b_row;                                     \
        if (full) { /* the same loop twice: full tiles skip the masks */                      \
            GEMM_TILE_SUMS(MR, NV, V_LOAD(bp + v * VL))                                       \
        } else {                                                                              \
            GEMM_TILE_SUMS(MR, NV, V_MLOAD(bp + v * VL, mask[v]))                             \
        }                                                                                     \
        int mr = P->rows - i0 < MR ? P->rows - i0 : MR;                                       \
        if (P->c_col == 1) {                                                                  \
            VEC alpha = V_SET(P->alpha), beta = V_SET(P->beta);                               \
            UNROLL for (int r = 0; r < MR; r++) {                                             \
                if (r >= mr)                                                                  \
                    break;                                                                    \
                float *cp = P->c + (ptrdiff_t)(i0 + r) * P->c_row + j0;                       \
                UNROLL for (int v = 0; v < NV; v++) {                                         \
                    if (lanes[v] == 0)                                                        \
                        continue;                                                             \
                    VEC out = P->beta == 0 ? V_MUL(alpha, acc[r][v])                          \
                            : P->beta == 1 ? V_FMA(alpha, acc[r][v], V_MLOAD(cp + v * VL, mask[v])) \
                                           : V_FMA(alpha, acc[r][v],                          \
                                                   V_MUL(beta, V_MLOAD(cp + v * VL, mask[v]))); \
                    if (P->clamp)                                                             \
                        out = V_CLAMP(out);                                                   \
                    V_MSTORE(cp + v * VL, mask[v], out);                                      \
                }                                                                             \
            }                                                                                 \
        } else { /* C transposed (x·Wᵀ computed as W·xᵀ): the tile through a buffer,          \
                    one row of C (a column of the tile) at a time */                          \
            float tile[MR][NV * VL];                                                          \
            UNROLL for (int r = 0; r < MR; r++)                                               \
                UNROLL for (int v = 0; v < NV; v++)                                           \
                    V_STORE(&tile[r][v * VL], acc[r][v]);                                     \
            int nc = P->cols - j0 < NV * VL ? P->cols - j0 : NV * VL;                         \
            if (P->beta == 0 && !P->clamp && P->c_row == 1) {                                 \
                for (int j = 0; j < nc; j++) {                                                \
                    float *cp = P->c + (ptrdiff_t)i0 + (ptrdiff_t)(j0 + j) * P->c_col;        \
                    for (int r = 0; r < mr; r++)                                              \
                        cp[r] = P->alpha * tile[r][j];                                        \
                }                                                                             \
            } else {                                                                          \
                for (int j = 0; j < nc; j++)                                                  \
                    for (int r = 0; r < mr; r++)                                              \
                        gemm_finish(P, i0 + r, j0 + j, tile[r][j]);                           \
            }                                                                                 \
        }                                                                                     \
    }

GEMM_DEFINE_TILE(ISA(tile_wide), WIDE_MR, WIDE_NV)
GEMM_DEFINE_TILE(ISA(tile_even), EVEN_MR, EVEN_NV)
GEMM_DEFINE_TILE(ISA(tile_tall), TALL_MR, TALL_NV)
GEMM_DEFINE_TILE(ISA(tile_tail), TAIL_MR, TALL_NV)

/* r[c] becomes column c of the VL × VL block whose rows were r[0 .. VL−1].
 * Within each 128-bit lane, pairs of rows are interleaved and then quads
 * gathered, so lane L of r[4g + q] holds column 4L + q of rows 4g .. 4g+3;
 * V_JOIN_LANES brings those lanes together (24 shuffles for 8 × 8, 64 for
 * 16 × 16). */
static inline KATTR void ISA(transpose)(VEC r[VL])
{
    VEC t[VL];
    UNROLL for (int g = 0; g < VL / 2; g++) {
        t[2 * g] = V_UNPACKLO(r[2 * g], r[2 * g + 1]);
        t[2 * g + 1] = V_UNPACKHI(r[2 * g], r[2 * g + 1]);
    }
    UNROLL for (int g = 0; g < VL / 4; g++) {
        r[4 * g + 0] = V_SHUFFLE(t[4 * g], t[4 * g + 2], 0x44);
        r[4 * g + 1] = V_SHUFFLE(t[4 * g], t[4 * g + 2], 0xEE);
        r[4 * g + 2] = V_SHUFFLE(t[4 * g + 1], t[4 * g + 3], 0x44);
        r[4 * g + 3] = V_SHUFFLE(t[4 * g + 1], t[4 * g + 3], 0xEE);
    }
    V_JOIN_LANES(r)
}

/* packed[p·rows + i] = a[i·lda + p] (p < k) for the rows i a whole block of
 * VL covers: VL rows loaded, transposed in registers, stored as VL packed
 * rows (the batch operand of x·Wᵀ or dZᵀ·X transposed for gemm_nt and
 * gemm_tn; a copy, so the bits are the operand's).  Returns the rows done:
 * pack_run copies the rest. */
static KATTR int ISA(pack_transposed)(const float *a, ptrdiff_t lda, int rows, int k, float *packed)
{
    int i = 0;
    for (; i + VL <= rows; i += VL)
        for (int p = 0; p < k; p += VL) {
            int n = k - p < VL ? k - p : VL;
            VEC r[VL];
            const float *src = a + (ptrdiff_t)i * lda + p;
            if (n == VL) {
                UNROLL for (int q = 0; q < VL; q++)
                    r[q] = V_LOAD(src + (ptrdiff_t)q * lda);
            } else {
                MASK m = V_MASK(n);
                UNROLL for (int q = 0; q < VL; q++)
                    r[q] = V_MLOAD(src + (ptrdiff_t)q * lda, m);
            }
            ISA(transpose)(r);
            for (int c = 0; c < n; c++)
                V_STORE(packed + (ptrdiff_t)(p + c) * rows + i, r[c]);
        }
    return i;
}

/* The whole panel, tile by tile: columns outermost, so one column block of B
 * stays in cache while every row block of A passes over it.  A tile past the
 * last row repeats it and one past the last column masks it (work thrown
 * away), so the shape picks the tiles: of the wide and the even tile the one
 * that computes fewer elements in all (the even one for 32 × 500: no repeated
 * rows), and the tail tile for the last few rows of a tall panel (the 50 rows
 * of W_ix, the 1 of the output layer's). */
static KATTR void ISA(panel_run)(const gemm_panel *P)
{
    if (P->cols <= TALL_NV * VL) {
        int i0 = 0;
        for (; P->rows - i0 > TALL_MR - TAIL_MR; i0 += TALL_MR)
            ISA(tile_tall)(P, i0, 0);
        for (; i0 < P->rows; i0 += TAIL_MR)
            ISA(tile_tail)(P, i0, 0);
        return;
    }
    if (padded(P->rows, EVEN_MR) * padded(P->cols, EVEN_NV * VL) <
        padded(P->rows, WIDE_MR) * padded(P->cols, WIDE_NV * VL)) {
        for (int j0 = 0; j0 < P->cols; j0 += EVEN_NV * VL)
            for (int i0 = 0; i0 < P->rows; i0 += EVEN_MR)
                ISA(tile_even)(P, i0, j0);
        return;
    }
    for (int j0 = 0; j0 < P->cols; j0 += WIDE_NV * VL)
        for (int i0 = 0; i0 < P->rows; i0 += WIDE_MR)
            ISA(tile_wide)(P, i0, j0);
}

#undef GEMM_DEFINE_TILE
#undef GEMM_TILE_SUMS
#undef UNROLL
