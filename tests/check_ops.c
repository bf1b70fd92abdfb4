/* check_ops.c — every op's backward against central finite differences, and
 * layernorm, softmax-CE and the GradNorm transforms (model.md M3, M6, M7)
 * against numbers computed independently (pure python, see the constants).
 *
 * Gradient check: for an op y = f(leaves), the scalar L = Σ y ⊙ R with a
 * fixed random R; analytic ∂L/∂leaf from ein_graph_backward() against
 * (L(θ+h) − L(θ−h)) / 2h per element, compared norm-wise:
 * ‖a − n‖ / max(‖a‖, ‖n‖) < 1e-6 (double) or 1e-2 (float). */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ein/graph.h"
#include "ein/ops.h"
#include "testutil.h"

#ifdef EIN_REAL_DOUBLE
#define FD_H 1e-5
#define FD_TOL 1e-6
#define HAND_TOL 1e-12
#else
#define FD_H 4e-3
#define FD_TOL 1e-2
#define HAND_TOL 2e-6
#endif

/* ---- deterministic test randomness (state on the stack, no globals) ------ */
static double rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return (double)(*s >> 11) / 9007199254740992.0;
}

/* ---- gradient-check harness ------------------------------------------------ */
#define GC_MAX_LEAVES 4

typedef struct gc {
    ein_graph *g;
    ein_node *leaf[GC_MAX_LEAVES];
    double lo[GC_MAX_LEAVES], hi[GC_MAX_LEAVES], gap[GC_MAX_LEAVES];
    int n;
    int batch;              /* rows used at run time (≤ capacity) */
    uint64_t seed;
} gc;

static void gc_begin(gc *c, int cap, int batch, uint64_t seed)
{
    memset(c, 0, sizeof *c);
    c->g = ein_graph_new(cap);
    ck_assert_ptr_nonnull(c->g);
    c->batch = batch;
    c->seed = seed;
}

/* values uniform in [lo, hi]; with gap > 0, magnitudes in [gap, hi] with a
 * random sign (keeps ReLU/clamp inputs away from their kinks). */
static void gc_leaf(gc *c, ein_node *n, double lo, double hi, double gap)
{
    ck_assert_ptr_nonnull(n);
    ck_assert_int_lt(c->n, GC_MAX_LEAVES);
    c->leaf[c->n] = n;
    c->lo[c->n] = lo;
    c->hi[c->n] = hi;
    c->gap[c->n] = gap;
    c->n++;
}

static ein_node *gc_input(gc *c, int cols, double lo, double hi, double gap)
{
    ein_node *n = ein_graph_input(c->g, "x", cols);
    ck_assert_ptr_nonnull(n);
    n->requires_grad = true;
    gc_leaf(c, n, lo, hi, gap);
    return n;
}

static ein_node *gc_param(gc *c, int rows, int cols, double lo, double hi, double gap)
{
    ein_node *n = ein_graph_param(c->g, "w", rows, cols, EIN_GROUP_WEX);
    gc_leaf(c, n, lo, hi, gap);
    return n;
}

static double loss_value(ein_graph *g, ein_node *loss)
{
    ein_graph_forward(g, NULL);
    return (double)loss->val[0];
}

static size_t node_len(const ein_node *n) { return (size_t)n->rows * (size_t)n->cols; }

/* Wrap `out` into L = Σ out ⊙ R, compile, and compare gradients. */
static void gc_run(gc *c, ein_node *out)
{
    ein_graph *g = c->g;
    ck_assert_ptr_nonnull(out);
    ein_node *r;
    if (out->per_example) {
        r = ein_graph_input(g, "r", out->cols);
    } else {
        r = ein_graph_param(g, "r", out->fixed_rows, out->cols, EIN_GROUP_BIAS);
        ein_node_route(r, 0);
    }
    ein_node *loss = ein_sum(g, ein_mul(g, out, r));
    ck_assert_int_eq(ein_graph_add_loss(g, loss, 1.0, EIN_GROUPS_ALL), 0);
    ein_err err = { 0 };
    ck_assert_msg(ein_graph_compile(g, &err) == EIN_OK, "%s", err.msg);
    ein_graph_set_batch(g, c->batch);

    uint64_t s = c->seed;
    for (int i = 0; i < c->n; i++) {
        ein_node *n = c->leaf[i];
        size_t len = node_len(n);
        for (size_t k = 0; k < len; k++) {
            double u = rnd(&s), v;
            if (c->gap[i] > 0)
                v = (rnd(&s) < 0.5 ? -1 : 1) * (c->gap[i] + u * (c->hi[i] - c->gap[i]));
            else
                v = c->lo[i] + u * (c->hi[i] - c->lo[i]);
            n->val[k] = (ein_real)v;
        }
    }
    for (size_t k = 0; k < node_len(r); k++)
        r->val[k] = (ein_real)(rnd(&s) * 2 - 1);
    int32_t *labels = ein_graph_labels(g);
    for (int b = 0; b < c->batch; b++)
        labels[b] = (int32_t)(rnd(&s) * 1000) % 3;

    ein_graph_forward(g, NULL);
    ein_graph_backward(g);
    for (int i = 0; i < c->n; i++) {
        ein_node *n = c->leaf[i];
        size_t len = node_len(n);
        double *analytic = malloc(len * sizeof *analytic);
        ck_assert_ptr_nonnull(analytic);
        for (size_t k = 0; k < len; k++)
            analytic[k] = (double)n->grad[k];
        double diff2 = 0, a2 = 0, n2 = 0;
        for (size_t k = 0; k < len; k++) {
            ein_real saved = n->val[k];
            n->val[k] = (ein_real)(saved + FD_H);
            double up = loss_value(g, loss);
            n->val[k] = (ein_real)(saved - FD_H);
            double down = loss_value(g, loss);
            n->val[k] = saved;
            /* the actual step after rounding to ein_real */
            double h2 = (double)(ein_real)(saved + FD_H) - (double)(ein_real)(saved - FD_H);
            double num = (up - down) / h2;
            diff2 += (analytic[k] - num) * (analytic[k] - num);
            a2 += analytic[k] * analytic[k];
            n2 += num * num;
        }
        double scale = sqrt(a2 > n2 ? a2 : n2);
        double rel = scale > 0 ? sqrt(diff2) / scale : 0;
        ck_assert_msg(scale > 0, "%s: leaf %d has an all-zero gradient", out->op->name, i);
        ck_assert_msg(rel < FD_TOL, "%s: leaf %d (%d x %d) relative gradient error %.3g", out->op->name, i,
                      n->rows, n->cols, rel);
        free(analytic);
    }
    ein_graph_free(g);
}

/* ---- matmul ---------------------------------------------------------------- */

START_TEST(fd_matmul_all_transposes)
{
    /* x (B × 5) · W (3 × 5)ᵀ and x · V (5 × 3), batch 4 of capacity 6 and batch 1 */
    for (int batch = 1; batch <= 4; batch += 3) {
        gc c;
        gc_begin(&c, 6, batch, 11 + (uint64_t)batch);
        ein_node *x = gc_input(&c, 5, -1, 1, 0);
        ein_node *w = gc_param(&c, 3, 5, -1, 1, 0);
        gc_run(&c, ein_matmul(c.g, x, w, false, true));

        gc_begin(&c, 6, batch, 21 + (uint64_t)batch);
        x = gc_input(&c, 5, -1, 1, 0);
        ein_node *v = gc_param(&c, 5, 3, -1, 1, 0);
        gc_run(&c, ein_matmul(c.g, x, v, false, false));
    }
    /* fixed-shape operands: Aᵀ B and Aᵀ Bᵀ (non-square) */
    gc c;
    gc_begin(&c, 2, 2, 31);
    ein_node *a = gc_param(&c, 4, 3, -1, 1, 0);
    ein_node *b = gc_param(&c, 4, 2, -1, 1, 0);
    gc_run(&c, ein_matmul(c.g, a, b, true, false));
    gc_begin(&c, 2, 2, 32);
    a = gc_param(&c, 4, 3, -1, 1, 0);
    b = gc_param(&c, 2, 4, -1, 1, 0);
    gc_run(&c, ein_matmul(c.g, a, b, true, true));
}
END_TEST

START_TEST(fd_shared_nodes_and_fixed_rows)
{
    /* gradients that meet: W and x feed two paths each, z is used twice
     * (h = relu(z) + b and out = h ⊙ z), so every contribution must add */
    for (int batch = 1; batch <= 3; batch += 2) {
        gc c;
        gc_begin(&c, 4, batch, 1300 + (uint64_t)batch);
        ein_node *x = gc_input(&c, 5, -1, 1, 0);
        ein_node *w = gc_param(&c, 4, 5, -1, 1, 0);
        ein_node *b = gc_param(&c, 1, 4, -0.5, 0.5, 0);
        ein_node *z = ein_matmul(c.g, x, w, false, true);
        ein_node *z2 = ein_matmul(c.g, ein_scale(c.g, x, 0.5), w, false, true);
        ein_node *h = ein_add(c.g, ein_relu(c.g, ein_add(c.g, z, z2)), b);
        gc_run(&c, ein_mul(c.g, h, ein_exp(c.g, ein_scale(c.g, z, 0.3))));
    }
    /* row-wise ops on a fixed (parameter) matrix */
    for (int mode = EIN_NORM_LAYERNORM; mode <= EIN_NORM_SCALE; mode++) {
        gc c;
        gc_begin(&c, 2, 2, 1400 + (uint64_t)mode);
        ein_node *w = gc_param(&c, 3, 6, -2, 2, 0);
        gc_run(&c, ein_rownorm(c.g, w, (ein_norm_mode)mode, EIN_LN_EPS));
    }
    gc c;
    gc_begin(&c, 2, 2, 1410);
    ein_node *w = gc_param(&c, 3, 6, -1, 1, 0);
    gc_run(&c, ein_row_mean(c.g, w));
    /* the I-Norm shape of M4/M5 in small: u = (a − c) / sqrt(row_var-like d + ε),
     * loss mean(row_mean(u)² + (row_var(u) − 1)²) — every op composed */
    gc_begin(&c, 5, 4, 1420);
    ein_node *a = gc_input(&c, 6, -1, 1, 0);
    ein_node *cc = gc_input(&c, 6, -1, 1, 0);
    ein_node *d = gc_input(&c, 1, 0.5, 2, 0);
    ein_node *u = ein_div(c.g, ein_sub(c.g, a, cc), ein_sqrt(c.g, ein_add_scalar(c.g, d, 1e-5)));
    ein_node *m2 = ein_square(c.g, ein_row_mean(c.g, u));
    ein_node *v2 = ein_square(c.g, ein_add_scalar(c.g, ein_row_var(c.g, u), -1));
    gc_run(&c, ein_add(c.g, m2, v2));
    /* grad_transform none is the identity both ways: a plain derivative */
    gc_begin(&c, 3, 2, 1430);
    ein_node *x = gc_input(&c, 4, -1, 1, 0);
    gc_run(&c, ein_square(c.g, ein_grad_transform(c.g, x, EIN_BWD_NONE, NULL, EIN_LN_EPS)));
}
END_TEST

START_TEST(matmul_forward_values)
{
    ein_graph *g = ein_graph_new(2);
    ein_node *x = ein_graph_input(g, "x", 3);
    ein_node *w = ein_graph_param(g, "w", 2, 3, EIN_GROUP_WEX);
    ein_node *y = ein_matmul(g, x, w, false, true);
    ck_assert_int_eq(ein_graph_compile(g, NULL), EIN_OK);
    const ein_real xv[6] = { 1, 2, 3, 4, 5, 6 }, wv[6] = { 1, 0, -1, 2, 1, 0 };
    memcpy(x->val, xv, sizeof xv);
    memcpy(w->val, wv, sizeof wv);
    ein_graph_forward(g, NULL);
    /* rows of x against rows of w: [1-3, 2+2], [4-6, 8+5] */
    ck_assert(y->val[0] == -2 && y->val[1] == 4 && y->val[2] == -2 && y->val[3] == 13);
    ck_assert_int_eq(y->rows, 2);
    ck_assert_int_eq(y->cols, 2);
    ein_graph_free(g);
}
END_TEST

/* ---- binary ops with each broadcast ---------------------------------------- */

typedef ein_node *(*binop)(ein_graph *, ein_node *, ein_node *);

static void check_binary(binop f, double blo, double bhi, uint64_t seed)
{
    gc c;
    /* same shape, both per example, batch 3 of 5 */
    gc_begin(&c, 5, 3, seed);
    ein_node *a = gc_input(&c, 4, -1, 1, 0);
    ein_node *b = gc_input(&c, 4, blo, bhi, 0);
    gc_run(&c, f(c.g, a, b));
    /* a 1 × n row against B × n (bias-like) */
    gc_begin(&c, 5, 5, seed + 1);
    a = gc_input(&c, 4, -1, 1, 0);
    b = gc_param(&c, 1, 4, blo, bhi, 0);
    gc_run(&c, f(c.g, a, b));
    /* a B × 1 column (one number per example, I-Norm's d) against B × n */
    gc_begin(&c, 5, 4, seed + 2);
    a = gc_input(&c, 3, -1, 1, 0);
    b = gc_input(&c, 1, blo, bhi, 0);
    gc_run(&c, f(c.g, a, b));
    /* the same with a and b used again after it: their gradients already hold
     * the later use's part when the op's backward runs, and it must add to it */
    gc_begin(&c, 5, 4, seed + 6);
    a = gc_input(&c, 3, -1, 1, 0);
    b = gc_input(&c, 1, blo, bhi, 0);
    ein_node *first = f(c.g, a, b);           /* built first, so its backward runs last */
    gc_run(&c, ein_add(c.g, first, ein_mul(c.g, ein_scale(c.g, a, 0.7), b)));
    /* a 1 × 1 scalar against a fixed matrix, batch 1 graph */
    gc_begin(&c, 1, 1, seed + 3);
    a = gc_param(&c, 2, 3, -1, 1, 0);
    b = gc_param(&c, 1, 1, blo, bhi, 0);
    gc_run(&c, f(c.g, a, b));
    /* batch 1, same shape */
    gc_begin(&c, 3, 1, seed + 4);
    a = gc_input(&c, 6, -1, 1, 0);
    b = gc_input(&c, 6, blo, bhi, 0);
    gc_run(&c, f(c.g, a, b));
    /* fixed matrices: a 3 × 1 column against 3 × 4, and same shape */
    gc_begin(&c, 2, 2, seed + 5);
    a = gc_param(&c, 3, 4, -1, 1, 0);
    b = gc_param(&c, 3, 1, blo, bhi, 0);
    gc_run(&c, f(c.g, a, b));
    gc_begin(&c, 2, 2, seed + 6);
    a = gc_param(&c, 3, 4, -1, 1, 0);
    b = gc_param(&c, 3, 4, blo, bhi, 0);
    gc_run(&c, f(c.g, a, b));
    /* a 1 × 1 scalar against a batch, one row short of capacity */
    gc_begin(&c, 4, 3, seed + 7);
    a = gc_input(&c, 5, -1, 1, 0);
    b = gc_param(&c, 1, 1, blo, bhi, 0);
    gc_run(&c, f(c.g, a, b));
}

START_TEST(fd_add) { check_binary(ein_add, -1, 1, 100); }
END_TEST
START_TEST(fd_sub) { check_binary(ein_sub, -1, 1, 200); }
END_TEST
START_TEST(fd_mul) { check_binary(ein_mul, -1, 1, 300); }
END_TEST
START_TEST(fd_div) { check_binary(ein_div, 0.5, 1.5, 400); }
END_TEST

START_TEST(broadcast_rejects_mismatch)
{
    ein_graph *g = ein_graph_new(4);
    ein_graph_set_where(g, "t.ein:3:7");
    ein_node *a = ein_graph_input(g, "a", 4);
    ein_node *b = ein_graph_param(g, "b", 2, 4, EIN_GROUP_BIAS);
    ck_assert_ptr_null(ein_add(g, a, b));
    /* the error carries the location; later constructors chain the NULL */
    ck_assert_ptr_null(ein_relu(g, ein_add(g, a, b)));
    ein_err err = { 0 };
    ck_assert_int_ne(ein_graph_compile(g, &err), EIN_OK);
    ck_assert_msg(strstr(err.msg, "t.ein:3:7: add: shapes do not broadcast") != NULL, "%s", err.msg);
    ein_graph_free(g);

    g = ein_graph_new(4);
    a = ein_graph_input(g, "a", 4);
    ein_node *w = ein_graph_param(g, "w", 3, 5, EIN_GROUP_WEX);
    ck_assert_ptr_null(ein_matmul(g, a, w, false, true));
    ck_assert_int_ne(ein_graph_compile(g, &err), EIN_OK);
    ein_graph_free(g);
}
END_TEST

/* ---- unary ops ------------------------------------------------------------ */

START_TEST(fd_unary)
{
    struct { const char *name; double lo, hi, gap; } spec[] = {
        { "scale", -1, 1, 0 }, { "add_scalar", -1, 1, 0 }, { "square", -2, 2, 0 },
        { "sqrt", 0.3, 2, 0 }, { "exp", -2, 1, 0 }, { "log", 0.3, 3, 0 },
        { "relu", 0, 1, 0.1 }, { "clamp", 0, 1, 0.1 },
    };
    for (int k = 0; k < 8; k++) {
        for (int batch = 1; batch <= 3; batch += 2) {
            gc c;
            gc_begin(&c, 3, batch, 500 + 10 * (uint64_t)k + (uint64_t)batch);
            ein_node *x = gc_input(&c, 5, spec[k].lo, spec[k].hi, spec[k].gap);
            ein_node *y = NULL;
            switch (k) {
            case 0: y = ein_scale(c.g, x, -1.7); break;
            case 1: y = ein_add_scalar(c.g, x, 0.4); break;
            case 2: y = ein_square(c.g, x); break;
            case 3: y = ein_sqrt(c.g, x); break;
            case 4: y = ein_exp(c.g, x); break;
            case 5: y = ein_log(c.g, x); break;
            case 6: y = ein_relu(c.g, x); break;
            default:
                /* bounds ±0.5; inputs have |x| ≥ 0.1, keep them off ±0.5 too by
                 * scaling: 0.45·x lies in [0.045, 0.45] and [-0.45, -0.045] */
                y = ein_clamp(c.g, ein_scale(c.g, x, 0.45), -0.3, 0.3);
                break;
            }
            ck_assert_str_eq(y->op->name, spec[k].name);
            gc_run(&c, y);
        }
    }
}
END_TEST

START_TEST(unary_forward_values)
{
    ein_graph *g = ein_graph_new(1);
    ein_node *x = ein_graph_input(g, "x", 4);
    ein_node *r = ein_relu(g, x), *cl = ein_clamp(g, x, -1, 0.5), *sq = ein_square(g, x);
    ein_node *sc = ein_scale(g, x, 3), *as = ein_add_scalar(g, x, -2);
    ck_assert_int_eq(ein_graph_compile(g, NULL), EIN_OK);
    const ein_real xv[4] = { -2, -0.5, 0.25, 3 };
    memcpy(x->val, xv, sizeof xv);
    ein_graph_forward(g, NULL);
    const ein_real re[4] = { 0, 0, 0.25, 3 }, ce[4] = { -1, -0.5, 0.25, 0.5 }, se[4] = { 4, 0.25, 0.0625, 9 };
    for (int i = 0; i < 4; i++) {
        ck_assert(r->val[i] == re[i]);
        ck_assert(cl->val[i] == ce[i]);
        ck_assert(sq->val[i] == se[i]);
        ck_assert(sc->val[i] == 3 * xv[i]);
        ck_assert(as->val[i] == xv[i] - 2);
    }
    ein_graph_free(g);
}
END_TEST

/* ---- reductions ------------------------------------------------------------- */

START_TEST(fd_reductions)
{
    for (int k = 0; k < 4; k++) {
        for (int batch = 1; batch <= 4; batch += 3) {
            gc c;
            gc_begin(&c, 4, batch, 700 + 10 * (uint64_t)k + (uint64_t)batch);
            ein_node *x = gc_input(&c, 6, -1, 1, 0);
            ein_node *y = k == 0 ? ein_row_mean(c.g, x) : k == 1 ? ein_row_var(c.g, x)
                        : k == 2 ? ein_sum(c.g, x) : ein_mean(c.g, x);
            gc_run(&c, y);
        }
    }
    /* on a fixed (parameter) matrix as well */
    gc c;
    gc_begin(&c, 2, 2, 777);
    ein_node *w = gc_param(&c, 3, 5, -1, 1, 0);
    gc_run(&c, ein_row_var(c.g, w));
}
END_TEST

START_TEST(reduction_values)
{
    ein_graph *g = ein_graph_new(2);
    ein_node *x = ein_graph_input(g, "x", 4);
    ein_node *m = ein_row_mean(g, x), *v = ein_row_var(g, x), *s = ein_sum(g, x), *mu = ein_mean(g, x);
    ck_assert_int_eq(ein_graph_compile(g, NULL), EIN_OK);
    const ein_real xv[8] = { 1, 2, 3, 6, -1, -1, 1, 1 };
    memcpy(x->val, xv, sizeof xv);
    ein_graph_forward(g, NULL);
    ck_assert(m->val[0] == 3 && m->val[1] == 0);
    /* population variance: ((−2)² + 1 + 0 + 9) / 4 = 3.5 and 1 */
    ck_assert(v->val[0] == (ein_real)3.5 && v->val[1] == 1);
    ck_assert(s->val[0] == 12 && mu->val[0] == (ein_real)1.5);
    ein_graph_set_batch(g, 1);           /* a smaller last batch: only row 0 */
    ein_graph_forward(g, NULL);
    ck_assert(s->val[0] == 12 && mu->val[0] == 3);
    ein_graph_free(g);
}
END_TEST

/* ---- row normalization and softmax-CE ---------------------------------------- */

START_TEST(fd_rownorm)
{
    for (int mode = EIN_NORM_LAYERNORM; mode <= EIN_NORM_SCALE; mode++) {
        for (int batch = 1; batch <= 3; batch += 2) {
            gc c;
            gc_begin(&c, 3, batch, 900 + 10 * (uint64_t)mode + (uint64_t)batch);
            ein_node *x = gc_input(&c, 7, -2, 2, 0);
            gc_run(&c, ein_rownorm(c.g, x, (ein_norm_mode)mode, EIN_LN_EPS));
        }
    }
}
END_TEST

START_TEST(fd_softmax_ce)
{
    for (int batch = 1; batch <= 5; batch += 4) {
        gc c;
        gc_begin(&c, 5, batch, 1000 + (uint64_t)batch);
        ein_node *x = gc_input(&c, 3, -2, 2, 0);
        gc_run(&c, ein_softmax_ce(c.g, x, 0.1));
        gc_begin(&c, 5, batch, 1100 + (uint64_t)batch);
        x = gc_input(&c, 3, -2, 2, 0);
        gc_run(&c, ein_softmax_ce(c.g, x, 0));
    }
    /* composed: a whole small layer, x Wᵀ + b → ReLU → logits → CE */
    gc c;
    gc_begin(&c, 4, 4, 1200);
    ein_node *x = gc_input(&c, 5, -1, 1, 0);
    ein_node *w = gc_param(&c, 3, 5, -1, 1, 0);
    ein_node *b = gc_param(&c, 1, 3, -0.5, 0.5, 0);
    ein_node *h = ein_add(c.g, ein_matmul(c.g, x, w, false, true), b);
    gc_run(&c, ein_softmax_ce(c.g, ein_exp(c.g, ein_scale(c.g, h, 0.5)), 0.1));
}
END_TEST

/* Reference numbers for the 2 x 4 example, computed independently in pure
 * python (float64) from the formulas of model.md M3/M6/M7:
 * z = Z_IN, incoming error g = G_IN, eps = 1e-5, fa_center w = (.1,.2,.3,.4),
 * softmax-CE labels (2, 0), smoothing 0.1, mean over the batch. */
static const double Z_IN[2][4] = { { 1, 2, 4, -1 }, { 0.5, -0.5, 3, 2 } };
static const double G_IN[2][4] = { { 0.1, -0.2, 0.3, 0.4 }, { -1, 0.5, 0.25, 0 } };
static const double LN_Y[2][4] = {
    { -0.27734967142114059, 0.27734967142114059, 1.3867483571057031, -1.3867483571057031 },
    { -0.557084477748509, -1.2998637814131877, 1.2998637814131877, 0.557084477748509 } };
static const double LN_DZ[2][4] = {
    { -0.036268776927965193, -0.18561096020894727, 0.1258739503555979, 0.096005786781314592 },
    { -0.67234346769443221, 0.47384166045752463, 0.17609023024906931, 0.022411576987838366 } };
static const double CENTER_DZ[2][4] = {
    { -0.049999999999999989, -0.34999999999999998, 0.14999999999999999, 0.25 },
    { -0.9375, 0.5625, 0.3125, 0.0625 } };
static const double SCALE_DZ[2][4] = {
    { 0.066137196516542041, -0.12160713080077018, 0.11307349169111475, 0.27521604829848212 },
    { -0.7427793036646787, 0.37138965183233935, 0.18569482591616968, 0 } };
static const double GT_NONE[2][4] = {
    { 0.10000000000000001, -0.20000000000000001, 0.29999999999999999, 0.40000000000000002 },
    { -1, 0.5, 0.25, 0 } };
static const double GT_FULL[2][4] = {
    { -0.097072384997399189, -0.33281960570536867, -0.19414476999479835, 0.20801225356585545 },
    { -0.69635559718563633, 0.41781335831138178, 0.2321185323952121, 0.046423706479042419 } };
static const double GT_CENTER[2][4] = {
    { -0.049999999999999989, -0.34999999999999998, 0.14999999999999999, 0.25 },
    { -0.9375, 0.5625, 0.3125, 0.0625 } };
static const double GT_SCALE[2][4] = {
    { 0.055469934284228126, -0.11093986856845625, 0.16640980285268436, 0.2218797371369125 },
    { -0.7427793036646787, 0.37138965183233935, 0.18569482591616968, 0 } };
static const double GT_DECORRELATE[2][4] = {
    { -0.024999999999999967, -0.44999999999999996, -0.1999999999999999, 0.52500000000000002 },
    { -1, 0.5, 0.25, 0 } };
static const double GT_FA_CENTER[2][4] = {
    { -0.12000000000000002, -0.42000000000000004, 0.07999999999999996, 0.17999999999999999 },
    { -1.075, 0.42499999999999999, 0.17499999999999999, -0.074999999999999997 } };
static const double CE_LOSS = 1.6213333922137438;
static const double CE_DZ[2][4] = {
    { 0.0083862852576752286, 0.044274809679950622, -0.042987746268733917, -0.009673348668891836 },
    { -0.43477161336810538, -0.0022992966212728987, 0.32530090268310768, 0.11177000730627043 } };

/* Build z (2 × 4 input, gradient wanted) → op → L = Σ op ⊙ G and run it. */
typedef struct hand {
    ein_graph *g;
    ein_node *z, *out;
} hand;

static ein_node *hand_begin(hand *h)
{
    h->g = ein_graph_new(2);
    h->z = ein_graph_input(h->g, "z", 4);
    h->z->requires_grad = true;
    return h->z;
}

static void hand_run(hand *h, ein_node *out)
{
    ck_assert_ptr_nonnull(out);
    h->out = out;
    ein_node *gin = ein_graph_input(h->g, "g", 4);
    ein_graph_add_loss(h->g, ein_sum(h->g, ein_mul(h->g, out, gin)), 1, EIN_GROUPS_ALL);
    ein_err err = { 0 };
    ck_assert_msg(ein_graph_compile(h->g, &err) == EIN_OK, "%s", err.msg);
    for (int r = 0; r < 2; r++)
        for (int c = 0; c < 4; c++) {
            h->z->val[r * 4 + c] = (ein_real)Z_IN[r][c];
            gin->val[r * 4 + c] = (ein_real)G_IN[r][c];
        }
    ein_graph_forward(h->g, NULL);
    ein_graph_backward(h->g);
}

static void expect(const ein_real *got, const double want[2][4], const char *what)
{
    for (int r = 0; r < 2; r++)
        for (int c = 0; c < 4; c++) {
            double a = got[r * 4 + c], b = want[r][c];
            ck_assert_msg(fabs(a - b) <= HAND_TOL * (1 + fabs(b)), "%s[%d][%d]: %.17g, expected %.17g", what, r, c,
                          a, b);
        }
}

START_TEST(hand_layernorm)
{
    hand h;
    hand_run(&h, ein_rownorm(h.g, hand_begin(&h), EIN_NORM_LAYERNORM, EIN_LN_EPS));
    expect(h.out->val, LN_Y, "layernorm y");
    expect(h.z->grad, LN_DZ, "layernorm dz");
    ein_graph_free(h.g);

    hand_run(&h, ein_rownorm(h.g, hand_begin(&h), EIN_NORM_CENTER, EIN_LN_EPS));
    expect(h.z->grad, CENTER_DZ, "center dz");
    ein_graph_free(h.g);

    hand_run(&h, ein_rownorm(h.g, hand_begin(&h), EIN_NORM_SCALE, EIN_LN_EPS));
    expect(h.z->grad, SCALE_DZ, "scale dz");
    ein_graph_free(h.g);

    /* LN forward only: the same values, the incoming error passes unchanged (M3) */
    hand_run(&h, ein_rownorm(h.g, hand_begin(&h), EIN_NORM_LAYERNORM_FWD, EIN_LN_EPS));
    expect(h.out->val, LN_Y, "layernorm_fwd y");
    expect(h.z->grad, G_IN, "layernorm_fwd dz");
    ein_graph_free(h.g);
}
END_TEST

START_TEST(hand_grad_transforms)
{
    static const double fa_w[4] = { 0.1, 0.2, 0.3, 0.4 };
    const struct { ein_bwd_norm kind; const double (*want)[4]; const char *name; } cases[] = {
        { EIN_BWD_NONE, GT_NONE, "none" },
        { EIN_BWD_FULL, GT_FULL, "full" },
        { EIN_BWD_CENTER, GT_CENTER, "center" },
        { EIN_BWD_SCALE, GT_SCALE, "scale" },
        { EIN_BWD_DECORRELATE, GT_DECORRELATE, "decorrelate" },
        { EIN_BWD_FA_CENTER, GT_FA_CENTER, "fa_center" },
    };
    for (int k = 0; k < 6; k++) {
        hand h;
        ein_node *z = hand_begin(&h);
        hand_run(&h, ein_grad_transform(h.g, z, cases[k].kind, fa_w, EIN_LN_EPS));
        expect(h.out->val, Z_IN, cases[k].name);      /* identity forward */
        expect(h.z->grad, cases[k].want, cases[k].name);
        ein_graph_free(h.g);
    }
    /* fa_center without weights is a located construction error */
    ein_graph *g = ein_graph_new(2);
    ein_node *z = ein_graph_input(g, "z", 4);
    ck_assert_ptr_null(ein_grad_transform(g, z, EIN_BWD_FA_CENTER, NULL, EIN_LN_EPS));
    ck_assert_int_ne(ein_graph_compile(g, NULL), EIN_OK);
    ein_graph_free(g);
}
END_TEST

START_TEST(hand_softmax_ce)
{
    hand h;
    ein_node *z = hand_begin(&h);
    h.out = ein_softmax_ce(h.g, z, 0.1);
    ein_graph_add_loss(h.g, h.out, 1, EIN_GROUPS_ALL);
    ck_assert_int_eq(ein_graph_compile(h.g, NULL), EIN_OK);
    for (int r = 0; r < 2; r++)
        for (int c = 0; c < 4; c++)
            z->val[r * 4 + c] = (ein_real)Z_IN[r][c];
    ein_graph_labels(h.g)[0] = 2;
    ein_graph_labels(h.g)[1] = 0;
    ein_graph_forward(h.g, NULL);
    ein_graph_backward(h.g);
    ck_assert_msg(fabs(h.out->val[0] - CE_LOSS) <= HAND_TOL * CE_LOSS, "loss %.17g", (double)h.out->val[0]);
    expect(z->grad, CE_DZ, "softmax_ce dz");
    ein_graph_free(h.g);

    /* bad smoothing is a construction error */
    ein_graph *g = ein_graph_new(2);
    ck_assert_ptr_null(ein_softmax_ce(g, ein_graph_input(g, "z", 4), 1.0));
    ck_assert_int_ne(ein_graph_compile(g, NULL), EIN_OK);
    ein_graph_free(g);
}
END_TEST

START_TEST(stop_grad_blocks)
{
    /* y = x ⊙ sg(x): dL/dx = g ⊙ x only (not 2 g ⊙ x) */
    hand h;
    ein_node *z = hand_begin(&h);
    hand_run(&h, ein_mul(h.g, z, ein_stop_grad(h.g, z)));
    for (int r = 0; r < 2; r++)
        for (int c = 0; c < 4; c++) {
            ck_assert(h.out->val[r * 4 + c] == (ein_real)(Z_IN[r][c] * Z_IN[r][c]));
            ck_assert(h.z->grad[r * 4 + c] == (ein_real)G_IN[r][c] * (ein_real)Z_IN[r][c]);
        }
    ein_graph_free(h.g);
}
END_TEST

/* ---- the fused I-Norm ops (model.md M4c, M4d, M5) ------------------------- */

START_TEST(fd_sub_div)
{
    for (int batch = 1; batch <= 4; batch += 3) {
        /* c a column (one number per example, I-Norm's d) and c of a's shape */
        for (int col = 0; col < 2; col++) {
            gc c;
            gc_begin(&c, 5, batch, 1500 + 10 * (uint64_t)col + (uint64_t)batch);
            ein_node *a = gc_input(&c, 6, -1, 1, 0);
            ein_node *b = gc_input(&c, 6, -1, 1, 0);
            ein_node *d = gc_input(&c, col ? 1 : 6, 0.5, 2, 0);
            gc_run(&c, ein_sub_div(c.g, a, b, d));
        }
    }
    /* a, b and c used again after it: its backward must add to what is there */
    gc c;
    gc_begin(&c, 4, 3, 1530);
    ein_node *a = gc_input(&c, 5, -1, 1, 0);
    ein_node *b = gc_input(&c, 5, -1, 1, 0);
    ein_node *d = gc_input(&c, 1, 0.5, 2, 0);
    ein_node *first = ein_sub_div(c.g, a, b, d);
    gc_run(&c, ein_add(c.g, first, ein_mul(c.g, ein_mul(c.g, a, b), d)));
    /* fixed matrices */
    gc_begin(&c, 2, 2, 1540);
    a = gc_param(&c, 3, 4, -1, 1, 0);
    b = gc_param(&c, 3, 4, -1, 1, 0);
    d = gc_param(&c, 3, 1, 0.5, 2, 0);
    gc_run(&c, ein_sub_div(c.g, a, b, d));
}
END_TEST

START_TEST(fd_moment_penalty)
{
    for (int batch = 1; batch <= 4; batch += 3) {
        gc c;
        gc_begin(&c, 5, batch, 1600 + (uint64_t)batch);
        ein_node *x = gc_input(&c, 7, -2, 2, 0);
        gc_run(&c, ein_moment_penalty(c.g, x, 0, 1));
        gc_begin(&c, 5, batch, 1610 + (uint64_t)batch);
        x = gc_input(&c, 7, -1, 1.5, 0);
        gc_run(&c, ein_moment_penalty(c.g, x, 0.3, 0.25));
    }
    gc c;
    gc_begin(&c, 2, 2, 1620);
    ein_node *w = gc_param(&c, 3, 5, -1, 1, 0);
    gc_run(&c, ein_moment_penalty(c.g, w, -0.2, 2));
}
END_TEST

/* Each fused op against the ops it replaces, on the same numbers: values and
 * every gradient agree to rounding.  The composed forms are checked against
 * finite differences above; this also covers squares_uniform, whose uniform
 * B the finite-difference harness cannot hold fixed. */
typedef struct fused_pair {
    ein_graph *g;
    ein_node *a, *b, *c, *bu, *loss;
} fused_pair;

static void fused_pair_build(fused_pair *p, int which, bool fused)
{
    p->g = ein_graph_new(4);
    ein_graph *g = p->g;
    p->a = ein_graph_input(g, "a", 6);
    p->b = ein_graph_input(g, "b", 6);
    p->c = ein_graph_input(g, "c", 1);
    p->bu = ein_graph_param(g, "B", 6, 6, EIN_GROUP_BEI);
    ein_node_route(p->bu, 0);
    p->a->requires_grad = p->b->requires_grad = p->c->requires_grad = true;
    ein_node *y;
    if (which == 0)
        y = fused ? ein_sub_div(g, p->a, p->b, p->c) : ein_div(g, ein_sub(g, p->a, p->b), p->c);
    else if (which == 1)
        y = fused ? ein_moment_penalty(g, p->a, 0.1, 1)
                  : ein_add(g, ein_square(g, ein_add_scalar(g, ein_row_mean(g, p->a), -0.1)),
                            ein_square(g, ein_add_scalar(g, ein_row_var(g, p->a), -1)));
    else      /* one number per row; the GEMM repeats it in every column */
        y = fused ? ein_squares_uniform(g, p->a, p->bu)
                  : ein_row_mean(g, ein_matmul(g, ein_square(g, p->a), p->bu, false, true));
    /* a loss that weighs every output element differently */
    ein_node *w = ein_graph_input(g, "w", y->cols);
    p->loss = ein_sum(g, ein_mul(g, y, w));
    ck_assert_int_eq(ein_graph_add_loss(g, p->loss, 1, EIN_GROUPS_ALL), 0);
    ck_assert_int_eq(ein_graph_compile(g, NULL), EIN_OK);
    uint64_t s = 1700 + (uint64_t)which;
    for (int k = 0; k < 4 * 6; k++) {
        p->a->val[k] = (ein_real)(rnd(&s) * 2 - 1);
        p->b->val[k] = (ein_real)(rnd(&s) * 2 - 1);
    }
    for (int k = 0; k < 4; k++)
        p->c->val[k] = (ein_real)(0.5 + rnd(&s));
    for (int k = 0; k < 36; k++)
        p->bu->val[k] = (ein_real)(1.0 / 6);
    for (int k = 0; k < 4 * w->cols; k++)
        w->val[k] = (ein_real)(rnd(&s) * 2 - 1);
    ein_graph_forward(g, NULL);
    ein_graph_backward(g);
}

static void expect_close(const ein_real *x, const ein_real *y, int len, const char *what)
{
    for (int k = 0; k < len; k++)
        ck_assert_msg(fabs((double)x[k] - y[k]) <= 8 * HAND_TOL * (1 + fabs((double)y[k])),
                      "%s[%d]: fused %.9g, composed %.9g", what, k, (double)x[k], (double)y[k]);
}

START_TEST(fused_ops_equal_composed)
{
    for (int which = 0; which < 3; which++) {
        fused_pair f, c;
        fused_pair_build(&f, which, true);
        fused_pair_build(&c, which, false);
        ck_assert_msg(f.loss->val[0] != 0, "op %d: a zero loss", which);
        expect_close(f.loss->val, c.loss->val, 1, which == 0 ? "sub_div loss" : which == 1 ? "moment_penalty loss" : "squares_uniform loss");
        expect_close(f.a->grad, c.a->grad, 4 * 6, "grad a");
        if (which == 0) {
            expect_close(f.b->grad, c.b->grad, 4 * 6, "grad b");
            expect_close(f.c->grad, c.c->grad, 4, "grad c");
        }
        ein_graph_free(f.g);
        ein_graph_free(c.g);
    }
}
END_TEST

START_TEST(fused_ops_reject_shapes)
{
    ein_graph *g = ein_graph_new(4);
    ein_node *a = ein_graph_input(g, "a", 4);
    ein_node *b = ein_graph_input(g, "b", 3);
    ein_node *d = ein_graph_input(g, "d", 1);
    ck_assert_ptr_null(ein_sub_div(g, a, b, d));
    ein_err err = { 0 };
    ck_assert_int_ne(ein_graph_compile(g, &err), EIN_OK);
    ck_assert_str_eq(err.msg, "sub_div: b must have a's shape and c a's shape or one column "
                              "(B=4 x 4, B=4 x 3, B=4 x 1)");
    ein_graph_free(g);
    g = ein_graph_new(4);
    a = ein_graph_input(g, "a", 4);
    ein_node *bu = ein_graph_param(g, "B", 3, 3, EIN_GROUP_BEI);
    ck_assert_ptr_null(ein_squares_uniform(g, a, bu));
    err = (ein_err){ 0 };
    ck_assert_int_ne(ein_graph_compile(g, &err), EIN_OK);
    ck_assert_str_eq(err.msg, "squares_uniform: B must be a fixed matrix with 4 columns");
    ein_graph_free(g);
}
END_TEST

/* ---- a pass's first write assigns (graph.h, ein_op.assigns) ---------------
 * No pass zeroes the intermediates' gradients first: they hold the last
 * pass's numbers, and the first write to each must replace them.  Fill every
 * intermediate gradient with NaN before a second backward pass: every leaf's
 * gradient must come out the same, bit for bit, for a graph with an op of
 * every kind, nodes that several ops write, and an op without `assigns`,
 * whose fresh children the graph zeroes for it. */

static void double_forward(ein_node *nd)
{
    const ein_node *a = nd->child[0];
    for (int k = 0; k < a->rows * a->cols; k++)
        nd->val[k] = 2 * a->val[k];
}

static void double_backward(ein_node *nd)          /* adds, as ops did before `assigns` */
{
    ein_node *a = nd->child[0];
    if (a->active && a->grad != NULL)
        for (int k = 0; k < a->rows * a->cols; k++)
            a->grad[k] += 2 * nd->grad[k];
}

static const ein_op op_double = { "double", 1u, false, double_forward, double_backward, false };

typedef struct stale_net {
    ein_graph *g;
    ein_node *x, *w, *bias, *bu;
} stale_net;

static void stale_net_build(stale_net *t)
{
    ein_graph *g = t->g = ein_graph_new(4);
    t->x = ein_graph_input(g, "x", 6);
    t->x->requires_grad = true;
    t->w = ein_graph_param(g, "w", 6, 6, EIN_GROUP_WEX);
    t->bias = ein_graph_param(g, "b", 1, 6, EIN_GROUP_BIAS);
    t->bu = ein_graph_param(g, "B", 6, 6, EIN_GROUP_BEI);
    ein_node_route(t->bu, 0);
    ein_node *h = ein_add(g, ein_matmul(g, t->x, t->w, false, true), t->bias);   /* matmul, add (row) */
    ein_node *d = ein_sqrt(g, ein_add_scalar(g, ein_squares_uniform(g, h, t->bu), 0.5));
    ein_node *col = ein_add_scalar(g, ein_matmul_uniform(g, ein_exp(g, ein_scale(g, h, 0.1)), t->bu), 1);
    ein_node *z = ein_sub_div(g, h, ein_relu(g, h), d);                           /* h written by 5 ops */
    ein_node *u = ein_div(g, ein_mul(g, ein_sub(g, z, h), z), col);               /* div by a column */
    ein_node *v = ein_div(g, ein_clamp(g, z, -0.5, 0.5), ein_add_scalar(g, ein_square(g, h), 1));
    ein_node *n = ein_grad_transform(g, ein_rownorm(g, ein_add(g, u, v), EIN_NORM_LAYERNORM, EIN_LN_EPS),
                                     EIN_BWD_FULL, NULL, EIN_LN_EPS);
    ein_node *rowsum = ein_sub(g, n, ein_scale(g, t->bias, 2));                 /* a fresh row b: summed */
    ein_node *loss = ein_add(g, ein_softmax_ce(g, rowsum, 0.1),
                             ein_mean(g, ein_add(g, ein_moment_penalty(g, z, 0, 1),
                                                 ein_log(g, ein_add_scalar(g, ein_row_var(g, u), 1)))));
    loss = ein_add(g, loss, ein_scale(g, ein_sum(g, ein_row_mean(g, ein_mul(g, n, d))), 0.01));
    /* built last, so its backward is the first to reach z, still fresh */
    ein_node *dup = ein_graph_node(g, &op_double, 1, &z);
    ck_assert_ptr_nonnull(dup);
    dup->per_example = true;
    dup->cols = z->cols;
    loss = ein_add(g, loss, ein_mean(g, ein_square(g, dup)));
    ck_assert_int_eq(ein_graph_add_loss(g, loss, 1, EIN_GROUPS_ALL), 0);
    ein_err err = { 0 };
    ck_assert_msg(ein_graph_compile(g, &err) == EIN_OK, "%s", err.msg);
    uint64_t s = 1800;
    for (int k = 0; k < 4 * 6; k++)
        t->x->val[k] = (ein_real)(rnd(&s) * 2 - 1);
    for (int k = 0; k < 36; k++) {
        t->w->val[k] = (ein_real)(rnd(&s) - 0.5);
        t->bu->val[k] = (ein_real)(1.0 / 6);
    }
    for (int k = 0; k < 6; k++)
        t->bias->val[k] = (ein_real)(rnd(&s) - 0.5);
    int32_t *labels = ein_graph_labels(g);
    for (int b = 0; b < 4; b++)
        labels[b] = b % 6;
}

START_TEST(stale_gradients_never_leak)
{
    stale_net t;
    stale_net_build(&t);
    ein_graph *g = t.g;
    ein_node *leaves[3] = { t.x, t.w, t.bias };
    ein_real first[3][36];
    ein_graph_forward(g, NULL);
    ein_graph_backward(g);
    for (int l = 0; l < 3; l++) {
        int len = leaves[l]->rows * leaves[l]->cols;
        memcpy(first[l], leaves[l]->grad, (size_t)len * sizeof(ein_real));
        double norm = 0;
        for (int k = 0; k < len; k++)
            norm += fabs((double)first[l][k]);
        ck_assert_msg(isfinite(norm) && norm > 0, "leaf %d: gradient sum %g", l, norm);
    }
    ck_assert_int_gt(tu_poison_gradients(g), 300);
    ein_graph_backward(g);
    for (int l = 0; l < 3; l++)
        for (int k = 0; k < leaves[l]->rows * leaves[l]->cols; k++)
            ck_assert_msg(memcmp(&leaves[l]->grad[k], &first[l][k], sizeof(ein_real)) == 0,
                          "leaf %d [%d]: %.9g after stale gradients, %.9g before", l, k,
                          (double)leaves[l]->grad[k], (double)first[l][k]);
    ein_graph_free(g);

    /* the op without `assigns` is the first to reach m, still fresh and
     * stale: m must be zeroed for it, and sum's later write must add to its
     * part, so dL/dx = 1 + 2 exactly */
    g = ein_graph_new(2);
    ein_node *x = ein_graph_input(g, "x", 3);
    x->requires_grad = true;
    ein_node *m = ein_scale(g, x, 1);
    ein_node *s1 = ein_sum(g, m);
    ein_node *dup = ein_graph_node(g, &op_double, 1, &m);
    ck_assert_ptr_nonnull(dup);
    dup->per_example = true;
    dup->cols = 3;
    ein_node *loss = ein_add(g, s1, ein_sum(g, dup));
    ck_assert_int_eq(ein_graph_add_loss(g, loss, 1, EIN_GROUPS_ALL), 0);
    ck_assert_int_eq(ein_graph_compile(g, NULL), EIN_OK);
    for (int k = 0; k < 6; k++) {
        x->val[k] = (ein_real)(k + 1);
        m->grad[k] = (ein_real)NAN;
    }
    ein_graph_forward(g, NULL);
    ein_graph_backward(g);
    ck_assert(loss->val[0] == 63);
    for (int k = 0; k < 6; k++)
        ck_assert_msg(x->grad[k] == 3, "dL/dx[%d] = %g, not 3", k, (double)x->grad[k]);
    ein_graph_free(g);
}
END_TEST

Suite *ein_test_suite(void)
{
    Suite *s = suite_create("ops");
    TCase *fd = tcase_create("finite_differences");
    tcase_add_test(fd, fd_matmul_all_transposes);
    tcase_add_test(fd, fd_add);
    tcase_add_test(fd, fd_sub);
    tcase_add_test(fd, fd_mul);
    tcase_add_test(fd, fd_div);
    tcase_add_test(fd, fd_unary);
    tcase_add_test(fd, fd_reductions);
    tcase_add_test(fd, fd_rownorm);
    tcase_add_test(fd, fd_softmax_ce);
    tcase_add_test(fd, fd_shared_nodes_and_fixed_rows);
    tcase_add_test(fd, fd_sub_div);
    tcase_add_test(fd, fd_moment_penalty);
    suite_add_tcase(s, fd);
    TCase *hv = tcase_create("hand_values");
    tcase_add_test(hv, matmul_forward_values);
    tcase_add_test(hv, unary_forward_values);
    tcase_add_test(hv, reduction_values);
    tcase_add_test(hv, broadcast_rejects_mismatch);
    tcase_add_test(hv, hand_layernorm);
    tcase_add_test(hv, hand_grad_transforms);
    tcase_add_test(hv, hand_softmax_ce);
    tcase_add_test(hv, stop_grad_blocks);
    tcase_add_test(hv, fused_ops_equal_composed);
    tcase_add_test(hv, fused_ops_reject_shapes);
    tcase_add_test(hv, stale_gradients_never_leak);
    suite_add_tcase(s, hv);
    return s;
}
