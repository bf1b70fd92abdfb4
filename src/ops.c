/* ops.c — every op's forward and backward, side by side (include/ein/ops.h).
 *
 * Conventions: n->val = f(children); backward adds (+=) into the gradient of
 * each child that is active in the current pass (child->active), or, on the
 * pass's first write to it, assigns (ACC; every op here has `assigns`).  Shapes are
 * checked when the node is built; at run time rows may be any batch ≤ cap.
 */
#include "graph_impl.h"
#include "ein/ops.h"

#include <math.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

static inline size_t numel(const ein_node *n) { return (size_t)n->rows * (size_t)n->cols; }
static inline bool wants(const ein_node *c) { return c->active && c->grad != NULL; }

/* d += v, or d = v when `set`: the pass's first write to a fresh gradient
 * (ein_grad_take_fresh, graph.h).  The old number is loaded either way and
 * dropped by a select, never multiplied by 0, so whatever the last pass left
 * there (a NaN even) cannot leak in; 0 + v is what a zeroed buffer gave. */
#define ACC(set, d, v)                        \
    do {                                      \
        ein_real old_ = (d);                  \
        (d) = ((set) ? 0 : old_) + (v);       \
    } while (0)

/* Shape of a new node: per-example rows or fixed rows. */
static void shape_like(ein_node *n, const ein_node *like, int cols)
{
    n->per_example = like->per_example;
    n->fixed_rows = like->fixed_rows;
    n->rows = like->rows;
    n->cols = cols;
}

static void shape_fixed(ein_node *n, int rows, int cols)
{
    n->per_example = false;
    n->fixed_rows = n->rows = rows;
    n->cols = cols;
}

/* ---- matmul: C = op(A) op(B) ---------------------------------------------- */

static void gemm_run(const ein_graph *g, bool ta, bool tb, int m, int n, int k, ein_real alpha,
                     const ein_real *a, int lda, const ein_real *b, int ldb, ein_real beta, ein_real *c, int ldc,
                     bool clamp)
{
    ein_graph *mg = (ein_graph *)g;
    double t0 = g->profile ? ein_now() : 0;
    if (clamp)
        ein_gemm_clamped(g->gemm, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    else
        ein_gemm(g->gemm, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    if (g->profile)
        ein_graph_gemm_timed(mg, ta, tb, m, n, k, ein_now() - t0);
}

static void gemm(const ein_graph *g, bool ta, bool tb, int m, int n, int k,
                 const ein_real *a, int lda, const ein_real *b, int ldb, ein_real beta, ein_real *c, int ldc)
{
    gemm_run(g, ta, tb, m, n, k, 1, a, lda, b, ldb, beta, c, ldc, false);
}

/* Dimensions of op(A) (m × k) and op(B) (k × n). */
static void matmul_dims(const ein_node *nd, int *m, int *n, int *k)
{
    const ein_node *a = nd->child[0], *b = nd->child[1];
    bool ta = nd->iarg[0], tb = nd->iarg[1];
    *m = ta ? a->cols : a->rows;
    *k = ta ? a->rows : a->cols;
    *n = tb ? b->rows : b->cols;
}

static void matmul_forward(ein_node *nd)
{
    const ein_node *a = nd->child[0], *b = nd->child[1];
    int m, n, k;
    matmul_dims(nd, &m, &n, &k);
    gemm(nd->graph, nd->iarg[0], nd->iarg[1], m, n, k, a->val, a->cols, b->val, b->cols, 0, nd->val, nd->cols);
}

/* Where a child's gradient GEMM goes: its gradient (alpha 1; beta 0 on the
 * pass's first write, else 1), or, for a fused-SGD parameter inside
 * ein_graph_backward_update(), its value with alpha = −lr and beta = 1,
 * clamped if the parameter is (graph.h). */
static ein_real *grad_target(ein_node *c, ein_real *alpha, ein_real *beta, bool *clamp)
{
    *beta = 1;
    if (c->graph->updating && c->fused_lr > 0) {
        *alpha = (ein_real)-c->fused_lr;
        *clamp = c->fused_clamp;
        return c->val;
    }
    *alpha = 1;
    *clamp = false;
    if (ein_grad_take_fresh(c))
        *beta = 0;
    return c->grad;
}

static void matmul_backward_a(ein_node *nd, int m, int n, int k)
{
    ein_node *a = nd->child[0], *b = nd->child[1];
    bool ta = nd->iarg[0], tb = nd->iarg[1];
    bool clamp;
    ein_real alpha, beta, *da = grad_target(a, &alpha, &beta, &clamp);
    if (!ta)          /* dA (m×k) += dC (m×n) · op(B)ᵀ */
        gemm_run(nd->graph, false, !tb, m, k, n, alpha, nd->grad, nd->cols, b->val, b->cols, beta, da, a->cols, clamp);
    else              /* dA (k×m) += op(B) (k×n) · dCᵀ */
        gemm_run(nd->graph, tb, true, k, m, n, alpha, b->val, b->cols, nd->grad, nd->cols, beta, da, a->cols, clamp);
}

static void matmul_backward_b(ein_node *nd, int m, int n, int k)
{
    ein_node *a = nd->child[0], *b = nd->child[1];
    bool ta = nd->iarg[0], tb = nd->iarg[1];
    bool clamp;
    ein_real alpha, beta, *db = grad_target(b, &alpha, &beta, &clamp);
    if (!tb)          /* dB (k×n) += op(A)ᵀ · dC */
        gemm_run(nd->graph, !ta, false, k, n, m, alpha, a->val, a->cols, nd->grad, nd->cols, beta, db, b->cols, clamp);
    else              /* dB (n×k) += dCᵀ · op(A) */
        gemm_run(nd->graph, true, ta, n, k, m, alpha, nd->grad, nd->cols, a->val, a->cols, beta, db, b->cols, clamp);
}

static void matmul_backward(ein_node *nd)
{
    ein_node *a = nd->child[0], *b = nd->child[1];
    int m, n, k;
    matmul_dims(nd, &m, &n, &k);
    /* a fused update of one operand comes last: the other's gradient reads its value */
    bool a_last = nd->graph->updating && a->fused_lr > 0;
    if (wants(a) && !a_last)
        matmul_backward_a(nd, m, n, k);
    if (wants(b))
        matmul_backward_b(nd, m, n, k);
    if (wants(a) && a_last)
        matmul_backward_a(nd, m, n, k);
}

static const ein_op op_matmul = { "matmul", 3u, false, matmul_forward, matmul_backward, true };

bool ein_op_is_matmul(const ein_node *n) { return n != NULL && n->op == &op_matmul; }

ein_node *ein_matmul(ein_graph *g, ein_node *a, ein_node *b, bool trans_a, bool trans_b)
{
    ein_node *ch[2] = { a, b };
    ein_node *n = ein_graph_node(g, &op_matmul, 2, ch);
    if (n == NULL)
        return NULL;
    if (b->per_example || (trans_a && a->per_example)) {
        ein_graph_fail(g, "matmul: only the left operand may be batch-shaped, untransposed");
        return NULL;
    }
    int ak = trans_a ? a->fixed_rows : a->cols;
    int bk = trans_b ? b->cols : b->fixed_rows;
    if (ak != bk) {
        ein_graph_fail(g, "matmul: inner dimensions differ (%d vs %d)", ak, bk);
        return NULL;
    }
    n->iarg[0] = trans_a;
    n->iarg[1] = trans_b;
    int cols = trans_b ? b->fixed_rows : b->cols;
    if (trans_a)
        shape_fixed(n, a->cols, cols);
    else
        shape_like(n, a, cols);
    return n;
}

void ein_graph_replay_gemm(ein_graph *g)
{
    /* as in a sweep, an intermediate's first write assigns (GEMM beta 0) */
    for (int i = 0; i < g->n_nodes; i++)
        g->nodes[i]->grad_fresh = g->nodes[i]->op != NULL && g->trained[i];
    for (int i = 0; i < g->n_nodes; i++) {
        ein_node *nd = g->nodes[i];
        if (nd->op != &op_matmul)
            continue;
        matmul_forward(nd);
        if (!g->trained[i])
            continue;
        /* the backward GEMMs training would run for this node */
        for (int c = 0; c < 2; c++)
            nd->child[c]->active = g->trained[nd->child[c]->id];
        matmul_backward(nd);
        nd->child[0]->active = nd->child[1]->active = false;
    }
    for (int i = 0; i < g->n_nodes; i++)
        g->nodes[i]->grad_fresh = false;
}

/* ELEMENTWISE: a row's statistics (mean, variance, Σg, Σg⊙y) are summed in
 * double; the per-element work that uses them runs in ein_real, rounded
 * once per row, as the paper's PyTorch does in float32: four floats per SSE
 * vector instead of two doubles and two conversions each way. */

/* ---- row reductions in double lanes --------------------------------------
 * A sum over a row runs in LANES double lanes: lane k sums the elements
 * c ≡ k (mod LANES) in order, the tail joins lane 0, and the lanes fold
 * pairwise.  A single accumulator is a chain of dependent adds, bound by the
 * FP add latency (4 cycles an element); LANES chains in 2-wide vectors
 * (GCC/clang vector extensions, SSE2 or wider; only the float load is an
 * intrinsic) cover that latency.  The bits do not depend on the vector width. */
typedef double lanes2 __attribute__((vector_size(2 * sizeof(double))));
enum { LANES = 8, VECS = LANES / 2 };

static inline lanes2 load2(const ein_real *x)
{
#ifdef EIN_REAL_DOUBLE
    lanes2 v;
    memcpy(&v, x, sizeof v);
    return v;
#elif defined(__SSE2__)     /* one cvtps2pd from memory (the generic form below is two scalar converts) */
    return (lanes2)_mm_cvtps_pd(_mm_loadl_pi(_mm_setzero_ps(), (const __m64 *)(const void *)x));
#else
    typedef float floats2 __attribute__((vector_size(2 * sizeof(float))));
    floats2 f;
    memcpy(&f, x, sizeof f);
    return __builtin_convertvector(f, lanes2);
#endif
}

/* ((0 + 1) + (2 + 3)) + ((4 + 5) + (6 + 7)), lane 0 given apart (it took the tail) */
static inline double fold(const lanes2 s[VECS], double lane0)
{
    return ((lane0 + s[0][1]) + (s[1][0] + s[1][1])) + ((s[2][0] + s[2][1]) + (s[3][0] + s[3][1]));
}

/* Sums of (x − shift) and of its square. */
static void row_sums(const ein_real *x, int D, double shift, double *sum, double *sum_sq)
{
    lanes2 s[VECS] = { { 0, 0 } }, q[VECS] = { { 0, 0 } };
    int c = 0;
    for (; c + LANES <= D; c += LANES)
        for (int k = 0; k < VECS; k++) {
            lanes2 v = load2(x + c + 2 * k) - shift;
            s[k] += v;
            q[k] += v * v;
        }
    double s0 = s[0][0], q0 = q[0][0];
    for (; c < D; c++) {
        double v = x[c] - shift;
        s0 += v;
        q0 += v * v;
    }
    *sum = fold(s, s0);
    *sum_sq = fold(q, q0);
}

/* A row's mean and population variance (clamped at 0) from one pass over
 * x − x[0]: shifting by a sample keeps Σv² − (Σv)²/D free of the
 * cancellation that the raw moments would suffer. */
static void row_mean_var(const ein_real *x, int D, double *mean, double *var)
{
    double dev, dev2;
    row_sums(x, D, x[0], &dev, &dev2);
    double v = (dev2 - dev * dev / D) / D;
    *mean = x[0] + dev / D;
    *var = v > 0 ? v : 0;
}

/* Σ g and Σ g⊙y. */
static void row_dots(const ein_real *g, const ein_real *y, int D, double *sum_g, double *sum_gy)
{
    lanes2 s[VECS] = { { 0, 0 } }, p[VECS] = { { 0, 0 } };
    int c = 0;
    for (; c + LANES <= D; c += LANES)
        for (int k = 0; k < VECS; k++) {
            lanes2 gv = load2(g + c + 2 * k);
            s[k] += gv;
            p[k] += gv * load2(y + c + 2 * k);
        }
    double s0 = s[0][0], p0 = p[0][0];
    for (; c < D; c++) {
        s0 += g[c];
        p0 += (double)g[c] * y[c];
    }
    *sum_g = fold(s, s0);
    *sum_gy = fold(p, p0);
}

/* ---- binary elementwise ops with broadcasting ----------------------------- */

enum { BC_SAME = 0, BC_ROW, BC_COL, BC_SCALAR };
/* Visit every element pair (i in a, bi in b) with the broadcast mode's own
 * loop, so each body compiles to a plain (vectorizable) loop. */
#define FOR_PAIRS(BODY)                                                              \
    do {                                                                             \
        switch (mode) {                                                              \
        case BC_SAME:                                                                \
            for (size_t i = 0; i < len; i++) { size_t bi = i; BODY; }                \
            break;                                                                   \
        case BC_ROW:                                                                 \
            for (int r = 0; r < rows; r++)                                           \
                for (int c = 0; c < cols; c++) {                                     \
                    size_t i = (size_t)r * (size_t)cols + (size_t)c, bi = (size_t)c; \
                    BODY;                                                            \
                }                                                                    \
            break;                                                                   \
        case BC_COL:                                                                 \
            for (int r = 0; r < rows; r++)                                           \
                for (int c = 0; c < cols; c++) {                                     \
                    size_t i = (size_t)r * (size_t)cols + (size_t)c, bi = (size_t)r; \
                    BODY;                                                            \
                }                                                                    \
            break;                                                                   \
        default:                                                                     \
            for (size_t i = 0; i < len; i++) { size_t bi = 0; BODY; }                \
            break;                                                                   \
        }                                                                            \
    } while (0)

enum { BIN_ADD, BIN_SUB, BIN_MUL, BIN_DIV };

/* out = x / b row by row (b a column; `add`: out += x / b) as x times one
 * reciprocal a row, rounded once (within 1.5 ulp of the quotient): I-Norm
 * divides every row by its d (M4d) four times a layer and step, and a
 * division an element made that its costliest elementwise op. */
static void scale_rows(const ein_real *x, const ein_real *b, int rows, int cols, ein_real *out, bool add)
{
    for (int r = 0; r < rows; r++) {
        ein_real inv = (ein_real)(1 / (double)b[r]);
        const ein_real *xr = x + (size_t)r * (size_t)cols;
        ein_real *o = out + (size_t)r * (size_t)cols;
        if (add)
            for (int c = 0; c < cols; c++)
                o[c] += xr[c] * inv;
        else
            for (int c = 0; c < cols; c++)
                o[c] = xr[c] * inv;
    }
}

static void binary_forward(ein_node *nd)
{
    const ein_real *a = nd->child[0]->val, *b = nd->child[1]->val;
    ein_real *y = nd->val;
    int mode = nd->iarg[0], rows = nd->rows, cols = nd->cols;
    size_t len = numel(nd);
    switch (nd->iarg[1]) {
    case BIN_ADD: FOR_PAIRS(y[i] = a[i] + b[bi]); break;
    case BIN_SUB: FOR_PAIRS(y[i] = a[i] - b[bi]); break;
    case BIN_MUL: FOR_PAIRS(y[i] = a[i] * b[bi]); break;
    default:
        if (mode == BC_COL)
            scale_rows(a, b, rows, cols, y, false);
        else
            FOR_PAIRS(y[i] = a[i] / b[bi]);
        break;
    }
}

/* The gradient of a column b (one number per row, broadcast along it): a sum
 * over the row, in double lanes (row_dots), added once — not a chain of
 * dependent float updates of db[r], which made I-Norm's divide by d (M4d)
 * its costliest elementwise op. */
static void column_backward(ein_node *nd)
{
    ein_node *an = nd->child[0], *bn = nd->child[1];
    int cols = nd->cols;
    bool set = ein_grad_take_fresh(bn);
    for (int r = 0; r < nd->rows; r++) {
        const ein_real *g = nd->grad + (size_t)r * cols, *a = an->val + (size_t)r * cols;
        double sum_g, sum_ga;
        row_dots(g, a, cols, &sum_g, &sum_ga);
        double b = bn->val[r], d;
        switch (nd->iarg[1]) {
        case BIN_ADD: d = sum_g; break;
        case BIN_SUB: d = -sum_g; break;
        case BIN_MUL: d = sum_ga; break;
        default:      d = -sum_ga / (b * b); break;
        }
        ACC(set, bn->grad[r], (ein_real)d);
    }
}

static void binary_backward(ein_node *nd)
{
    ein_node *an = nd->child[0], *bn = nd->child[1];
    const ein_real *a = an->val, *b = bn->val, *g = nd->grad;
    int mode = nd->iarg[0], rows = nd->rows, cols = nd->cols;
    size_t len = numel(nd);
    if (wants(an)) {
        ein_real *da = an->grad;
        bool set = ein_grad_take_fresh(an);
        switch (nd->iarg[1]) {
        case BIN_ADD: case BIN_SUB: for (size_t i = 0; i < len; i++) ACC(set, da[i], g[i]); break;
        case BIN_MUL: FOR_PAIRS(ACC(set, da[i], g[i] * b[bi])); break;
        default:
            if (mode == BC_COL)
                scale_rows(g, b, rows, cols, da, !set);
            else
                FOR_PAIRS(ACC(set, da[i], g[i] / b[bi]));
            break;
        }
    }
    if (wants(bn) && mode == BC_COL)
        column_backward(nd);
    else if (wants(bn)) {
        ein_real *db = bn->grad;
        bool set = ein_grad_take_fresh(bn);
        if (set && mode != BC_SAME) {   /* a row or a scalar sums many elements: zeroed, then added to */
            memset(db, 0, numel(bn) * sizeof *db);
            set = false;
        }
        switch (nd->iarg[1]) {
        case BIN_ADD: FOR_PAIRS(ACC(set, db[bi], g[i])); break;
        case BIN_SUB: FOR_PAIRS(ACC(set, db[bi], -g[i])); break;
        case BIN_MUL: FOR_PAIRS(ACC(set, db[bi], g[i] * a[i])); break;
        default:      FOR_PAIRS(ACC(set, db[bi], -(g[i] * a[i] / (b[bi] * b[bi])))); break;
        }
    }
}

static const ein_op op_add = { "add", 3u, false, binary_forward, binary_backward, true };
static const ein_op op_sub = { "sub", 3u, false, binary_forward, binary_backward, true };
static const ein_op op_mul = { "mul", 3u, false, binary_forward, binary_backward, true };
static const ein_op op_div = { "div", 3u, false, binary_forward, binary_backward, true };

/* a and b have the same rows: both per example, or the same fixed count. */
static bool same_rows(const ein_node *a, const ein_node *b)
{
    return a->per_example == b->per_example && (a->per_example || a->fixed_rows == b->fixed_rows);
}

static ein_node *binary(ein_graph *g, const ein_op *op, int kind, ein_node *a, ein_node *b)
{
    ein_node *ch[2] = { a, b };
    ein_node *n = ein_graph_node(g, op, 2, ch);
    if (n == NULL)
        return NULL;
    int mode;
    if (same_rows(a, b) && a->cols == b->cols)
        mode = BC_SAME;
    else if (!b->per_example && b->fixed_rows == 1 && b->cols == a->cols)
        mode = BC_ROW;
    else if (same_rows(a, b) && b->cols == 1)
        mode = BC_COL;
    else if (!b->per_example && b->fixed_rows == 1 && b->cols == 1)
        mode = BC_SCALAR;
    else {
        ein_graph_fail(g, "%s: shapes do not broadcast (%s%d x %d and %s%d x %d)", op->name,
                       a->per_example ? "B=" : "", a->rows, a->cols, b->per_example ? "B=" : "", b->rows, b->cols);
        return NULL;
    }
    n->iarg[0] = mode;
    n->iarg[1] = kind;
    shape_like(n, a, a->cols);
    return n;
}

ein_node *ein_add(ein_graph *g, ein_node *a, ein_node *b) { return binary(g, &op_add, BIN_ADD, a, b); }
ein_node *ein_sub(ein_graph *g, ein_node *a, ein_node *b) { return binary(g, &op_sub, BIN_SUB, a, b); }
ein_node *ein_mul(ein_graph *g, ein_node *a, ein_node *b) { return binary(g, &op_mul, BIN_MUL, a, b); }
ein_node *ein_div(ein_graph *g, ein_node *a, ein_node *b) { return binary(g, &op_div, BIN_DIV, a, b); }

/* ---- (a − b) / c in one node ------------------------------------------------
 * I-Norm's layer output z = (h_E − sg(i)) / sg(d) (M4d) and its local loss's
 * u = (sg(h_E) − i) / d (M5) are each a difference over d.  One node where a
 * sub and a div were saves a pass over the batch each way, and a buffer and
 * its gradient.  b has a's shape; c has it too, or is a column (one number
 * per row, divided as a row's one reciprocal, like ein_div).
 * Backward, with y = (a − b)/c: da += g/c, db −= g/c, dc −= g·y/c (a
 * column: summed over the row). */

static void sub_div_forward(ein_node *nd)
{
    const ein_real *a = nd->child[0]->val, *b = nd->child[1]->val, *c = nd->child[2]->val;
    ein_real *y = nd->val;
    int rows = nd->rows, cols = nd->cols;
    for (int r = 0; r < rows; r++) {
        size_t o = (size_t)r * (size_t)cols;
        if (nd->iarg[0] == BC_COL) {
            ein_real inv = (ein_real)(1 / (double)c[r]);
            for (int k = 0; k < cols; k++)
                y[o + k] = (a[o + k] - b[o + k]) * inv;
        } else {
            for (int k = 0; k < cols; k++)
                y[o + k] = (a[o + k] - b[o + k]) / c[o + k];
        }
    }
}

/* The quotient's gradient g/c into a (sign +1) or b (−1), row by row. */
static void sub_div_operand(ein_node *nd, ein_node *x, ein_real sign)
{
    const ein_real *c = nd->child[2]->val, *g = nd->grad;
    ein_real *dx = x->grad;
    bool set = ein_grad_take_fresh(x);
    int rows = nd->rows, cols = nd->cols;
    for (int r = 0; r < rows; r++) {
        size_t o = (size_t)r * (size_t)cols;
        if (nd->iarg[0] == BC_COL) {
            ein_real inv = sign * (ein_real)(1 / (double)c[r]);
            for (int k = 0; k < cols; k++)
                ACC(set, dx[o + k], g[o + k] * inv);
        } else {
            for (int k = 0; k < cols; k++)
                ACC(set, dx[o + k], sign * (g[o + k] / c[o + k]));
        }
    }
}

static void sub_div_backward(ein_node *nd)
{
    ein_node *an = nd->child[0], *bn = nd->child[1], *cn = nd->child[2];
    if (wants(an))
        sub_div_operand(nd, an, 1);
    if (wants(bn))
        sub_div_operand(nd, bn, -1);
    if (!wants(cn))
        return;
    const ein_real *c = cn->val, *g = nd->grad, *y = nd->val;
    ein_real *dc = cn->grad;
    bool set = ein_grad_take_fresh(cn);
    int rows = nd->rows, cols = nd->cols;
    for (int r = 0; r < rows; r++) {
        size_t o = (size_t)r * (size_t)cols;
        if (nd->iarg[0] == BC_COL) {
            double unused, sum_gy;
            row_dots(g + o, y + o, cols, &unused, &sum_gy);
            ACC(set, dc[r], (ein_real)(-sum_gy / c[r]));
        } else {
            for (int k = 0; k < cols; k++)
                ACC(set, dc[o + k], -(g[o + k] * y[o + k] / c[o + k]));
        }
    }
}

static const ein_op op_sub_div = { "sub_div", 7u, false, sub_div_forward, sub_div_backward, true };

ein_node *ein_sub_div(ein_graph *g, ein_node *a, ein_node *b, ein_node *c)
{
    ein_node *ch[3] = { a, b, c };
    ein_node *n = ein_graph_node(g, &op_sub_div, 3, ch);
    if (n == NULL)
        return NULL;
    if (!same_rows(a, b) || b->cols != a->cols || !same_rows(a, c) || (c->cols != a->cols && c->cols != 1)) {
        ein_graph_fail(g, "sub_div: b must have a's shape and c a's shape or one column "
                          "(%s%d x %d, %s%d x %d, %s%d x %d)",
                       a->per_example ? "B=" : "", a->rows, a->cols, b->per_example ? "B=" : "", b->rows, b->cols,
                       c->per_example ? "B=" : "", c->rows, c->cols);
        return NULL;
    }
    n->iarg[0] = c->cols == a->cols ? BC_SAME : BC_COL;
    shape_like(n, a, a->cols);
    return n;
}

/* ---- unary elementwise ops ------------------------------------------------ */

enum { UN_SCALE, UN_ADDS, UN_SQUARE, UN_SQRT, UN_EXP, UN_LOG, UN_RELU, UN_CLAMP };

static void unary_forward(ein_node *nd)
{
    const ein_node *a = nd->child[0];
    size_t len = numel(nd);
    ein_real s = (ein_real)nd->arg[0], hi = (ein_real)nd->arg[1];
    const ein_real *x = a->val;
    ein_real *y = nd->val;
    switch (nd->iarg[0]) {
    case UN_SCALE:  for (size_t i = 0; i < len; i++) y[i] = s * x[i]; break;
    case UN_ADDS:   for (size_t i = 0; i < len; i++) y[i] = x[i] + s; break;
    case UN_SQUARE: for (size_t i = 0; i < len; i++) y[i] = x[i] * x[i]; break;
    case UN_SQRT:   for (size_t i = 0; i < len; i++) y[i] = (ein_real)sqrt(x[i]); break;
    case UN_EXP:    for (size_t i = 0; i < len; i++) y[i] = (ein_real)exp(x[i]); break;
    case UN_LOG:    for (size_t i = 0; i < len; i++) y[i] = (ein_real)log(x[i]); break;
    case UN_RELU:   for (size_t i = 0; i < len; i++) y[i] = x[i] > 0 ? x[i] : 0; break;
    default:        for (size_t i = 0; i < len; i++) y[i] = x[i] < s ? s : x[i] > hi ? hi : x[i]; break;
    }
}

static void unary_backward(ein_node *nd)
{
    ein_node *a = nd->child[0];
    if (!wants(a))
        return;
    size_t len = numel(nd);
    ein_real s = (ein_real)nd->arg[0], hi = (ein_real)nd->arg[1];
    const ein_real *x = a->val, *y = nd->val, *g = nd->grad;
    ein_real *dx = a->grad;
    bool set = ein_grad_take_fresh(a);
    switch (nd->iarg[0]) {
    case UN_SCALE:  for (size_t i = 0; i < len; i++) ACC(set, dx[i], s * g[i]); break;
    case UN_ADDS:   for (size_t i = 0; i < len; i++) ACC(set, dx[i], g[i]); break;
    case UN_SQUARE: for (size_t i = 0; i < len; i++) ACC(set, dx[i], 2 * x[i] * g[i]); break;
    case UN_SQRT:   for (size_t i = 0; i < len; i++) ACC(set, dx[i], g[i] / (2 * y[i])); break;
    case UN_EXP:    for (size_t i = 0; i < len; i++) ACC(set, dx[i], g[i] * y[i]); break;
    case UN_LOG:    for (size_t i = 0; i < len; i++) ACC(set, dx[i], g[i] / x[i]); break;
    /* ReLU and clamp load g[i] unconditionally and select: a conditional
     * load keeps the loop scalar and branchy (random signs mispredict),
     * which made ReLU's backward the largest non-GEMM cost of a step. */
    case UN_RELU:
        for (size_t i = 0; i < len; i++) {
            ein_real gi = g[i];
            ACC(set, dx[i], x[i] > 0 ? gi : 0);
        }
        break;
    default:
        for (size_t i = 0; i < len; i++) {
            ein_real gi = g[i];
            ACC(set, dx[i], x[i] >= s && x[i] <= hi ? gi : 0);
        }
        break;
    }
}

static const ein_op op_scale = { "scale", 1u, false, unary_forward, unary_backward, true };
static const ein_op op_adds = { "add_scalar", 1u, false, unary_forward, unary_backward, true };
static const ein_op op_square = { "square", 1u, false, unary_forward, unary_backward, true };
static const ein_op op_sqrt = { "sqrt", 1u, false, unary_forward, unary_backward, true };
static const ein_op op_exp = { "exp", 1u, false, unary_forward, unary_backward, true };
static const ein_op op_log = { "log", 1u, false, unary_forward, unary_backward, true };
static const ein_op op_relu = { "relu", 1u, false, unary_forward, unary_backward, true };
static const ein_op op_clamp = { "clamp", 1u, false, unary_forward, unary_backward, true };

static ein_node *unary(ein_graph *g, const ein_op *op, int kind, ein_node *a, double s, double hi)
{
    ein_node *n = ein_graph_node(g, op, 1, &a);
    if (n == NULL)
        return NULL;
    n->iarg[0] = kind;
    n->arg[0] = s;
    n->arg[1] = hi;
    shape_like(n, a, a->cols);
    return n;
}

ein_node *ein_scale(ein_graph *g, ein_node *a, double s) { return unary(g, &op_scale, UN_SCALE, a, s, 0); }
ein_node *ein_add_scalar(ein_graph *g, ein_node *a, double s) { return unary(g, &op_adds, UN_ADDS, a, s, 0); }
ein_node *ein_square(ein_graph *g, ein_node *a) { return unary(g, &op_square, UN_SQUARE, a, 0, 0); }
ein_node *ein_sqrt(ein_graph *g, ein_node *a) { return unary(g, &op_sqrt, UN_SQRT, a, 0, 0); }
ein_node *ein_exp(ein_graph *g, ein_node *a) { return unary(g, &op_exp, UN_EXP, a, 0, 0); }
ein_node *ein_log(ein_graph *g, ein_node *a) { return unary(g, &op_log, UN_LOG, a, 0, 0); }
ein_node *ein_relu(ein_graph *g, ein_node *a) { return unary(g, &op_relu, UN_RELU, a, 0, 0); }
ein_node *ein_clamp(ein_graph *g, ein_node *a, double lo, double hi)
{
    if (!(lo <= hi)) {
        ein_graph_fail(g, "clamp: lower bound %g above upper bound %g", lo, hi);
        return NULL;
    }
    return unary(g, &op_clamp, UN_CLAMP, a, lo, hi);
}

/* ---- stop-gradient: identity forward (shared buffer), no gradient -------- */

static void nothing(ein_node *nd) { (void)nd; }
static const ein_op op_stop_grad = { "stop_grad", 0u, true, nothing, nothing, true };

ein_node *ein_stop_grad(ein_graph *g, ein_node *a)
{
    ein_node *n = ein_graph_node(g, &op_stop_grad, 1, &a);
    if (n != NULL)
        shape_like(n, a, a->cols);
    return n;
}

/* row_dots(g, x) and row_sums(x, shift) in one pass over the row (the same
 * lanes, so the same four sums): GradNorm's backward needs all of them. */
static void row_moments(const ein_real *g, const ein_real *x, int D, double shift, double out[4])
{
    lanes2 sg[VECS] = { { 0, 0 } }, sgx[VECS] = { { 0, 0 } }, sx[VECS] = { { 0, 0 } }, sxx[VECS] = { { 0, 0 } };
    int c = 0;
    for (; c + LANES <= D; c += LANES)
        for (int k = 0; k < VECS; k++) {
            lanes2 gv = load2(g + c + 2 * k), xv = load2(x + c + 2 * k);
            sg[k] += gv;
            sgx[k] += gv * xv;
            xv -= shift;
            sx[k] += xv;
            sxx[k] += xv * xv;
        }
    double g0 = sg[0][0], gx0 = sgx[0][0], x0 = sx[0][0], xx0 = sxx[0][0];
    for (; c < D; c++) {
        double v = x[c] - shift;
        g0 += g[c];
        gx0 += (double)g[c] * x[c];
        x0 += v;
        xx0 += v * v;
    }
    out[0] = fold(sg, g0);
    out[1] = fold(sgx, gx0);
    out[2] = fold(sx, x0);
    out[3] = fold(sxx, xx0);
}

/* ---- a Bᵀ for a B whose entries are all equal ------------------------------
 * (model.md M4) B_ei frozen at its uniform initialisation makes q B_eiᵀ one
 * number per example, B[0][0]·Σ_k q_k: rows × 1 (consumers broadcast it),
 * no ne × ne GEMM forward or backward.  The caller guarantees uniformity
 * (a parameter no loss and no optimizer step may change); B gets no gradient.
 * iarg[0] = 1 takes the squares of a (M4c's (sg(x) B_ixᵀ)² B_eiᵀ), so the
 * square is no pass of its own either way: B[0][0]·Σ_k a_k². */

static void matmul_uniform_forward(ein_node *nd)
{
    const ein_node *a = nd->child[0];
    double c = nd->child[1]->val[0];
    for (int r = 0; r < nd->rows; r++) {
        double s, ss;
        row_sums(a->val + (size_t)r * a->cols, a->cols, 0, &s, &ss);
        nd->val[r] = (ein_real)(c * (nd->iarg[0] ? ss : s));
    }
}

static void matmul_uniform_backward(ein_node *nd)
{
    ein_node *a = nd->child[0];
    if (!wants(a))
        return;
    ein_real c = nd->child[1]->val[0];
    bool set = ein_grad_take_fresh(a);
    for (int r = 0; r < nd->rows; r++) {
        ein_real g = c * nd->grad[r];
        ein_real *da = a->grad + (size_t)r * a->cols;
        const ein_real *x = a->val + (size_t)r * a->cols;
        if (nd->iarg[0])          /* d(c·Σ a_k²)/da_k = 2c·a_k */
            for (int k = 0; k < a->cols; k++)
                ACC(set, da[k], (2 * g) * x[k]);
        else
            for (int k = 0; k < a->cols; k++)
                ACC(set, da[k], g);
    }
}

static const ein_op op_matmul_uniform = { "matmul_uniform", 1u, false, matmul_uniform_forward,
                                          matmul_uniform_backward, true };
static const ein_op op_squares_uniform = { "squares_uniform", 1u, false, matmul_uniform_forward,
                                           matmul_uniform_backward, true };

static ein_node *uniform(ein_graph *g, const ein_op *op, ein_node *a, ein_node *b, int squares)
{
    ein_node *ch[2] = { a, b };
    ein_node *n = ein_graph_node(g, op, 2, ch);
    if (n == NULL)
        return NULL;
    if (b->per_example || b->cols != a->cols) {
        ein_graph_fail(g, "%s: B must be a fixed matrix with %d columns", op->name, a->cols);
        return NULL;
    }
    n->iarg[0] = squares;
    shape_like(n, a, 1);
    return n;
}

ein_node *ein_matmul_uniform(ein_graph *g, ein_node *a, ein_node *b) { return uniform(g, &op_matmul_uniform, a, b, 0); }
ein_node *ein_squares_uniform(ein_graph *g, ein_node *a, ein_node *b) { return uniform(g, &op_squares_uniform, a, b, 1); }

/* ---- reductions ------------------------------------------------------------ */

static void row_mean_forward(ein_node *nd)
{
    const ein_node *a = nd->child[0];
    for (int r = 0; r < nd->rows; r++) {
        double s, ss;
        row_sums(a->val + (size_t)r * a->cols, a->cols, 0, &s, &ss);
        nd->val[r] = (ein_real)(s / a->cols);
    }
}

static void row_mean_backward(ein_node *nd)
{
    ein_node *a = nd->child[0];
    if (!wants(a))
        return;
    bool set = ein_grad_take_fresh(a);
    for (int r = 0; r < nd->rows; r++) {
        ein_real g = nd->grad[r] / (ein_real)a->cols;
        ein_real *dx = a->grad + (size_t)r * a->cols;
        for (int c = 0; c < a->cols; c++)
            ACC(set, dx[c], g);
    }
}

/* population variance per row; aux holds the row mean for the backward */
static void row_var_forward(ein_node *nd)
{
    const ein_node *a = nd->child[0];
    for (int r = 0; r < nd->rows; r++) {
        double mean, var;
        row_mean_var(a->val + (size_t)r * a->cols, a->cols, &mean, &var);
        nd->aux[r] = (ein_real)mean;
        nd->val[r] = (ein_real)var;
    }
}

static void row_var_backward(ein_node *nd)
{
    ein_node *a = nd->child[0];
    if (!wants(a))
        return;
    bool set = ein_grad_take_fresh(a);
    for (int r = 0; r < nd->rows; r++) {
        const ein_real *x = a->val + (size_t)r * a->cols;
        ein_real *dx = a->grad + (size_t)r * a->cols;
        ein_real k = 2 * nd->grad[r] / (ein_real)a->cols, mu = nd->aux[r];
        for (int c = 0; c < a->cols; c++)
            ACC(set, dx[c], k * (x[c] - mu));
    }
}

static void sum_forward(ein_node *nd)
{
    const ein_node *a = nd->child[0];
    size_t len = numel(a);
    double s = 0;
    for (size_t i = 0; i < len; i++)
        s += a->val[i];
    nd->val[0] = (ein_real)(nd->iarg[0] ? s / (double)len : s);
}

static void sum_backward(ein_node *nd)
{
    ein_node *a = nd->child[0];
    if (!wants(a))
        return;
    size_t len = numel(a);
    ein_real g = nd->iarg[0] ? nd->grad[0] / (ein_real)len : nd->grad[0];
    bool set = ein_grad_take_fresh(a);
    for (size_t i = 0; i < len; i++)
        ACC(set, a->grad[i], g);
}

static const ein_op op_row_mean = { "row_mean", 1u, false, row_mean_forward, row_mean_backward, true };
static const ein_op op_row_var = { "row_var", 1u, false, row_var_forward, row_var_backward, true };
static const ein_op op_sum = { "sum", 1u, false, sum_forward, sum_backward, true };
static const ein_op op_mean = { "mean", 1u, false, sum_forward, sum_backward, true };

ein_node *ein_row_mean(ein_graph *g, ein_node *a)
{
    ein_node *n = ein_graph_node(g, &op_row_mean, 1, &a);
    if (n != NULL)
        shape_like(n, a, 1);
    return n;
}

ein_node *ein_row_var(ein_graph *g, ein_node *a)
{
    ein_node *n = ein_graph_node(g, &op_row_var, 1, &a);
    if (n != NULL) {
        shape_like(n, a, 1);
        n->aux_per_row = 1;
    }
    return n;
}

/* (mean(x) − m₀)² + (var(x) − v₀)² per row, the population variance (÷ D):
 * the I-Norm loss's two terms (model.md M5, m₀ = 0, v₀ = 1) from one pass
 * over the row, and one pass back, where row_mean, row_var and the squares
 * made two each.  aux per row: the mean and the variance.  Backward:
 * dx += g·(2(mean − m₀) + 4(var − v₀)(x − mean)) / D. */
static void moment_penalty_forward(ein_node *nd)
{
    const ein_node *a = nd->child[0];
    double m0 = nd->arg[0], v0 = nd->arg[1];
    for (int r = 0; r < nd->rows; r++) {
        double mean, var;
        row_mean_var(a->val + (size_t)r * a->cols, a->cols, &mean, &var);
        nd->aux[2 * r] = (ein_real)mean;
        nd->aux[2 * r + 1] = (ein_real)var;
        nd->val[r] = (ein_real)((mean - m0) * (mean - m0) + (var - v0) * (var - v0));
    }
}

static void moment_penalty_backward(ein_node *nd)
{
    ein_node *a = nd->child[0];
    if (!wants(a))
        return;
    double m0 = nd->arg[0], v0 = nd->arg[1], D = a->cols;
    bool set = ein_grad_take_fresh(a);
    for (int r = 0; r < nd->rows; r++) {
        const ein_real *x = a->val + (size_t)r * a->cols;
        ein_real *dx = a->grad + (size_t)r * a->cols;
        double g = nd->grad[r], mean = nd->aux[2 * r], var = nd->aux[2 * r + 1];
        ein_real shift = (ein_real)(2 * g * (mean - m0) / D), slope = (ein_real)(4 * g * (var - v0) / D);
        ein_real mu = (ein_real)mean;
        for (int c = 0; c < a->cols; c++)
            ACC(set, dx[c], shift + slope * (x[c] - mu));
    }
}

static const ein_op op_moment_penalty = { "moment_penalty", 1u, false, moment_penalty_forward,
                                          moment_penalty_backward, true };

ein_node *ein_moment_penalty(ein_graph *g, ein_node *a, double mean_target, double var_target)
{
    ein_node *n = ein_graph_node(g, &op_moment_penalty, 1, &a);
    if (n != NULL) {
        shape_like(n, a, 1);
        n->arg[0] = mean_target;
        n->arg[1] = var_target;
        n->aux_per_row = 2;
    }
    return n;
}

static ein_node *reduce_all(ein_graph *g, const ein_op *op, ein_node *a, int mean)
{
    ein_node *n = ein_graph_node(g, op, 1, &a);
    if (n != NULL) {
        shape_fixed(n, 1, 1);
        n->iarg[0] = mean;
    }
    return n;
}

ein_node *ein_sum(ein_graph *g, ein_node *a) { return reduce_all(g, &op_sum, a, 0); }
ein_node *ein_mean(ein_graph *g, ein_node *a) { return reduce_all(g, &op_mean, a, 1); }

/* ---- row normalization (model.md M3) ---------------------------------------
 * aux per row: [mean, sigma] with sigma = sqrt(var + eps).                   */

static void rownorm_forward(ein_node *nd)
{
    const ein_node *z = nd->child[0];
    int mode = nd->iarg[0], D = z->cols;
    double eps = nd->arg[0];
    for (int r = 0; r < nd->rows; r++) {
        const ein_real *x = z->val + (size_t)r * D;
        ein_real *y = nd->val + (size_t)r * D;
        double mu, var;
        row_mean_var(x, D, &mu, &var);
        double sigma = sqrt(var + eps);
        nd->aux[2 * r] = (ein_real)mu;
        nd->aux[2 * r + 1] = (ein_real)sigma;
        /* the row's statistics in double, the elements in ein_real (see ELEMENTWISE) */
        ein_real m = (ein_real)mu, inv = (ein_real)(1 / sigma);
        switch (mode) {
        case EIN_NORM_CENTER:
            for (int c = 0; c < D; c++)
                y[c] = x[c] - m;
            break;
        case EIN_NORM_SCALE:
            for (int c = 0; c < D; c++)
                y[c] = x[c] * inv;
            break;
        default:
            for (int c = 0; c < D; c++)
                y[c] = (x[c] - m) * inv;
            break;
        }
    }
}

static void rownorm_backward(ein_node *nd)
{
    ein_node *z = nd->child[0];
    if (!wants(z))
        return;
    int mode = nd->iarg[0], D = z->cols;
    bool set = ein_grad_take_fresh(z);
    for (int r = 0; r < nd->rows; r++) {
        const ein_real *g = nd->grad + (size_t)r * D, *y = nd->val + (size_t)r * D;
        const ein_real *x = z->val + (size_t)r * D;
        ein_real *dz = z->grad + (size_t)r * D;
        double sum_g, sum_gy;
        row_dots(g, y, D, &sum_g, &sum_gy);
        ein_real mu = nd->aux[2 * r], inv = (ein_real)(1 / (double)nd->aux[2 * r + 1]);
        ein_real mg = (ein_real)(sum_g / D), mgy = (ein_real)(sum_gy / D);
        switch (mode) {
        case EIN_NORM_LAYERNORM:     /* (g − mean g − y·mean(g⊙y)) / σ */
            for (int c = 0; c < D; c++)
                ACC(set, dz[c], (g[c] - mg - y[c] * mgy) * inv);
            break;
        case EIN_NORM_CENTER:        /* g − mean g */
            for (int c = 0; c < D; c++)
                ACC(set, dz[c], g[c] - mg);
            break;
        case EIN_NORM_SCALE:         /* (g − mean(g⊙y)·(z − μ)/σ) / σ */
            for (int c = 0; c < D; c++)
                ACC(set, dz[c], (g[c] - mgy * (x[c] - mu) * inv) * inv);
            break;
        default:                     /* LN forward only: identity backward */
            for (int c = 0; c < D; c++)
                ACC(set, dz[c], g[c]);
            break;
        }
    }
}

static const ein_op op_rownorm = { "rownorm", 1u, false, rownorm_forward, rownorm_backward, true };

ein_node *ein_rownorm(ein_graph *g, ein_node *z, ein_norm_mode mode, double eps)
{
    ein_node *n = ein_graph_node(g, &op_rownorm, 1, &z);
    if (n == NULL)
        return NULL;
    shape_like(n, z, z->cols);
    n->iarg[0] = mode;
    n->arg[0] = eps;
    n->aux_per_row = 2;
    return n;
}

/* ---- backward-only transform, GradNorm (model.md M6) ------------------------
 * Forward: identity (value shared with z).  Backward, per row, with z the
 * forward value and g the incoming error:
 *   full        (g − mean g − z·mean(g⊙z)) / sqrt(var z + ε)
 *   center      g − mean g
 *   scale       g / sqrt(var z + ε)
 *   decorrelate g − z·mean(g⊙z)
 *   fa_center   g − Σ_k w_k g_k            (w fixed, in aux)
 * Deliberately not the derivative of the forward.                            */

/* (M6) the GradNorm backward maps; the forward is the identity. */
static void grad_transform_backward(ein_node *nd)
{
    ein_node *z = nd->child[0];
    if (!wants(z))
        return;
    int kind = nd->iarg[0], D = z->cols;
    double eps = nd->arg[0];
    bool set = ein_grad_take_fresh(z);
    for (int r = 0; r < nd->rows; r++) {
        const ein_real *g = nd->grad + (size_t)r * D, *x = z->val + (size_t)r * D;
        ein_real *dz = z->grad + (size_t)r * D;
        double m[4];          /* Σ g, Σ g⊙z, and Σ of z − z[0] and its square (see row_sums) */
        row_moments(g, x, D, x[0], m);
        double dev = m[2], dev2 = m[3];
        double var = (dev2 - dev * dev / D) / D;
        /* the row's statistics in double, the elements in ein_real (see ELEMENTWISE) */
        ein_real mg = (ein_real)(m[0] / D), mgz = (ein_real)(m[1] / D);
        ein_real inv = (ein_real)(1 / sqrt((var > 0 ? var : 0) + eps));
        switch (kind) {
        case EIN_BWD_FULL:           /* (g − mean g − z·mean(g⊙z)) / std(z) */
            for (int c = 0; c < D; c++)
                ACC(set, dz[c], (g[c] - mg - x[c] * mgz) * inv);
            break;
        case EIN_BWD_CENTER:
            for (int c = 0; c < D; c++)
                ACC(set, dz[c], g[c] - mg);
            break;
        case EIN_BWD_SCALE:
            for (int c = 0; c < D; c++)
                ACC(set, dz[c], g[c] * inv);
            break;
        case EIN_BWD_DECORRELATE:
            for (int c = 0; c < D; c++)
                ACC(set, dz[c], g[c] - x[c] * mgz);
            break;
        case EIN_BWD_FA_CENTER: {    /* g − Σ_k w_k g_k */
            double unused, sum_wg;
            row_dots(g, nd->aux, D, &unused, &sum_wg);
            ein_real wg = (ein_real)sum_wg;
            for (int c = 0; c < D; c++)
                ACC(set, dz[c], g[c] - wg);
            break;
        }
        default:
            for (int c = 0; c < D; c++)
                ACC(set, dz[c], g[c]);
            break;
        }
    }
}

static const ein_op op_grad_transform = { "grad_transform", 1u, true, nothing, grad_transform_backward, true };

ein_node *ein_grad_transform(ein_graph *g, ein_node *z, ein_bwd_norm kind, const double *fa_weights, double eps)
{
    ein_node *n = ein_graph_node(g, &op_grad_transform, 1, &z);
    if (n == NULL)
        return NULL;
    shape_like(n, z, z->cols);
    n->iarg[0] = kind;
    n->arg[0] = eps;
    if (kind == EIN_BWD_FA_CENTER) {
        if (fa_weights == NULL) {
            ein_graph_fail(g, "grad_transform fa_center needs its weight vector");
            return NULL;
        }
        /* the fixed lateral weights live outside the arena, owned by the graph */
        n->aux = ein_graph_keep(g, (size_t)z->cols * sizeof(ein_real));
        if (n->aux == NULL)
            return NULL;
        for (int c = 0; c < z->cols; c++)
            n->aux[c] = (ein_real)fa_weights[c];
    }
    return n;
}

ein_node *ein_grad_transform_like(ein_graph *g, ein_node *z, const ein_node *like)
{
    if (like == NULL || z == NULL)
        return NULL;
    if (like->op != &op_grad_transform || like->cols != z->cols) {
        ein_graph_fail(g, "grad_transform_like: the model is not a transform of %d units", z->cols);
        return NULL;
    }
    ein_node *n = ein_graph_node(g, &op_grad_transform, 1, &z);
    if (n == NULL)
        return NULL;
    shape_like(n, z, z->cols);
    n->iarg[0] = like->iarg[0];
    n->arg[0] = like->arg[0];
    n->aux = like->aux;           /* fa_center's weights: graph-owned, shared, not copied */
    return n;
}

/* ---- softmax cross-entropy with label smoothing ------------------------------
 * loss = mean_b −Σ_k q_bk log p_bk, q = (1−s)·onehot(y) + s/K;
 * d logits = (p − q) / B.   aux = p (rows × K).                                */

static void softmax_ce_forward(ein_node *nd)
{
    const ein_node *z = nd->child[0];
    const int32_t *labels = nd->graph->labels;
    int K = z->cols, B = z->rows;
    double s = nd->arg[0], total = 0;
    for (int r = 0; r < B; r++) {
        const ein_real *x = z->val + (size_t)r * K;
        ein_real *p = nd->aux + (size_t)r * K;
        double mx = x[0];
        for (int c = 1; c < K; c++)
            if (x[c] > mx)
                mx = x[c];
        double se = 0;
        for (int c = 0; c < K; c++)
            se += exp(x[c] - mx);
        double lse = mx + log(se);
        double loss = 0;
        for (int c = 0; c < K; c++) {
            double logp = x[c] - lse;
            p[c] = (ein_real)exp(logp);
            double q = s / K + (c == labels[r] ? 1 - s : 0);
            loss -= q * logp;
        }
        total += loss;
    }
    nd->val[0] = (ein_real)(total / B);
}

static void softmax_ce_backward(ein_node *nd)
{
    ein_node *z = nd->child[0];
    if (!wants(z))
        return;
    const int32_t *labels = nd->graph->labels;
    int K = z->cols, B = z->rows;
    double s = nd->arg[0];
    ein_real scale = nd->grad[0] / (ein_real)B;
    bool set = ein_grad_take_fresh(z);
    for (int r = 0; r < B; r++) {
        const ein_real *p = nd->aux + (size_t)r * K;
        ein_real *dz = z->grad + (size_t)r * K;
        for (int c = 0; c < K; c++) {
            double q = s / K + (c == labels[r] ? 1 - s : 0);
            ACC(set, dz[c], scale * (ein_real)(p[c] - q));
        }
    }
}

static const ein_op op_softmax_ce = { "softmax_ce", 1u, false, softmax_ce_forward, softmax_ce_backward, true };

ein_node *ein_softmax_ce(ein_graph *g, ein_node *logits, double smoothing)
{
    ein_node *n = ein_graph_node(g, &op_softmax_ce, 1, &logits);
    if (n == NULL)
        return NULL;
    if (!logits->per_example) {
        ein_graph_fail(g, "softmax_ce: logits must have one row per example");
        return NULL;
    }
    if (!(smoothing >= 0 && smoothing < 1)) {
        ein_graph_fail(g, "softmax_ce: label smoothing %g outside [0, 1)", smoothing);
        return NULL;
    }
    shape_fixed(n, 1, 1);
    n->arg[0] = smoothing;
    /* the node is 1 × 1 but keeps the batch's probabilities: size by the batch */
    n->aux_fixed = g->cap_batch * logits->cols;
    return n;
}
