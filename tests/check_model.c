/* check_model.c — the model builder: M2 initialisation, the M4 identity at
 * init (I-Norm output = layernorm(x W_exᵀ)), routing per M8, .npy output. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ein/linalg.h"
#include "ein/model.h"
#include "ein/ops.h"
#include "ein/optim.h"
#include "testutil.h"

static ein_model *build(ein_fwd_norm fwd, ein_bwd_norm bwd, int n_in, int ne, int batch)
{
    ein_cell_config cfg;
    ein_config_defaults(&cfg);
    cfg.train.seed = 7;
    for (int l = 0; l < cfg.n_hidden; l++) {
        cfg.hidden[l].ne = ne;
        cfg.hidden[l].fwd = fwd;
        cfg.hidden[l].bwd = bwd;
    }
    if (fwd == EIN_FWD_INORM || fwd == EIN_FWD_INORM_SUB)
        cfg.losses[cfg.n_losses++] = (ein_loss_config){ .kind = EIN_LOSS_INORM, .weight = -1,
                                                        .groups = EIN_GROUPS_DEFAULT };
    ein_model *m = NULL;
    ein_err err = { 0 };
    ck_assert_msg(ein_model_build(&cfg, n_in, 10, batch, false, &m, &err) == EIN_OK, "%s", err.msg);
    ck_assert_msg(ein_model_init(m, &err) == EIN_OK, "%s", err.msg);
    return m;
}

static void random_input(ein_model *m, int batch, unsigned seed)
{
    ein_rng rng;
    ein_rng_init(&rng, seed, 99);
    for (int k = 0; k < batch * m->n_in; k++)
        m->x->val[k] = (ein_real)ein_rng_uniform(&rng);
    int32_t *labels = ein_graph_labels(m->graph);
    for (int b = 0; b < batch; b++)
        labels[b] = b % 10;
    ein_graph_set_batch(m->graph, batch);
}

START_TEST(m2_initialisation)
{
    int n_in = 200, ne = 100;
    ein_model *m = build(EIN_FWD_NONE, EIN_BWD_NONE, n_in, ne, 8);
    ein_layer *L = &m->hidden[0];
    double s = sqrt(2.0 * ne / (n_in * (ne - 1.0))), sum = 0, sum2 = 0;
    long n = (long)ne * n_in;
    for (long k = 0; k < n; k++) {
        ck_assert(L->W_ex->val[k] > 0);
        sum += L->W_ex->val[k];
        sum2 += (double)L->W_ex->val[k] * L->W_ex->val[k];
    }
    double mean = sum / n, var = sum2 / n - mean * mean;
    ck_assert_msg(fabs(mean - s) < 0.05 * s, "W_ex mean %g, want %g", mean, s);
    ck_assert_msg(fabs(var - s * s) < 0.25 * s * s, "W_ex var %g, want %g", var, s * s);
    ck_assert_int_eq(L->cfg.ni, 10);
    for (int r = 0; r < ne; r++) {             /* W_ei rows sum to 1 */
        double row = 0;
        for (int c = 0; c < L->cfg.ni; c++)
            row += L->W_ei->val[r * L->cfg.ni + c];
        ck_assert(fabs(row - 1) < 1e-5);
    }
    for (int c = 0; c < n_in; c++) {           /* W_ix rows = column mean of W_ex */
        double col = 0;
        for (int r = 0; r < ne; r++)
            col += L->W_ex->val[r * n_in + c];
        for (int i = 0; i < L->cfg.ni; i++)
            ck_assert(fabs(L->W_ix->val[i * n_in + c] - col / ne) < 1e-5);
    }
    for (int k = 0; k < ne; k++)
        ck_assert(L->b->val[k] == 0);
    ein_model_free(m);
}
END_TEST

/* (M4) at init an I-Norm layer computes layernorm(x W_exᵀ) exactly. */
START_TEST(inorm_is_layernorm_at_init)
{
    int n_in = 60, ne = 40, batch = 5;
    ein_model *m = build(EIN_FWD_INORM, EIN_BWD_NONE, n_in, ne, batch);
    random_input(m, batch, 3);
    ein_graph_forward(m->graph, m->eval_plan);
    ein_layer *L = &m->hidden[0];
    for (int b = 0; b < batch; b++) {
        double h[64], mu = 0, var = 0;
        for (int r = 0; r < ne; r++) {
            h[r] = 0;
            for (int c = 0; c < n_in; c++)
                h[r] += (double)m->x->val[b * n_in + c] * L->W_ex->val[r * n_in + c];
            mu += h[r] / ne;
        }
        for (int r = 0; r < ne; r++)
            var += (h[r] - mu) * (h[r] - mu) / ne;
        for (int r = 0; r < ne; r++) {
            double want = (h[r] - mu) / sqrt(var + EIN_LN_EPS);
            ck_assert_msg(fabs(L->z->val[b * ne + r] - want) < 1e-3, "b %d unit %d: %g vs %g", b, r,
                          (double)L->z->val[b * ne + r], want);
        }
    }
    ein_model_free(m);
}
END_TEST

/* The M4 SVD: rows become s_k v_kᵀ, orthogonal, by decreasing norm, with AᵀA
 * (= V S² Vᵀ) unchanged; a hand example; wrong shapes are errors. */
START_TEST(svd_rows)
{
    double hand[6] = { 3, 0, 0, 0, 4, 0 };
    ein_err err = { 0 };
    ck_assert(ein_svd_rows(hand, 2, 3, NULL, &err) == EIN_OK);
    ck_assert(fabs(fabs(hand[1]) - 4) < 1e-15 && hand[0] == 0 && hand[2] == 0);
    ck_assert(fabs(fabs(hand[3]) - 3) < 1e-15 && hand[4] == 0 && hand[5] == 0);

    enum { M = 7, N = 11 };
    double a[M * N], b[M * N];
    ein_rng rng;
    ein_rng_init(&rng, 5, 1);
    for (int k = 0; k < M * N; k++)
        a[k] = b[k] = ein_rng_normal(&rng);
    int sweeps = 0;
    ck_assert(ein_svd_rows(b, M, N, &sweeps, &err) == EIN_OK);
    ck_assert(sweeps >= 2 && sweeps < 60);
    double prev = INFINITY;
    for (int p = 0; p < M; p++) {
        double norm = 0;
        for (int k = 0; k < N; k++)
            norm += b[p * N + k] * b[p * N + k];
        ck_assert_msg(norm <= prev, "row %d norm %g after %g", p, norm, prev);
        prev = norm;
        for (int q = p + 1; q < M; q++) {
            double dot = 0;
            for (int k = 0; k < N; k++)
                dot += b[p * N + k] * b[q * N + k];
            ck_assert_msg(fabs(dot) < 1e-10, "rows %d, %d: dot %g", p, q, dot);
        }
    }
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            double ata = 0, btb = 0;
            for (int k = 0; k < M; k++) {
                ata += a[k * N + i] * a[k * N + j];
                btb += b[k * N + i] * b[k * N + j];
            }
            ck_assert_msg(fabs(ata - btb) < 1e-10, "(%d,%d): %g vs %g", i, j, ata, btb);
        }
    ck_assert(ein_svd_rows(a, N, M, NULL, &err) == EIN_ERR_USAGE);
    ck_assert_str_eq(err.msg, "SVD of a 11 x 7 matrix: needs 1 <= rows <= columns");
}
END_TEST

/* (M4) B_ix = diag(S) Vᵀ of W₀ = W_ex − W_ei W_ix: orthogonal rows of
 * decreasing norm with B_ixᵀ B_ix = W₀ᵀ W₀; B_ei = 1/ne. */
START_TEST(inorm_bix_is_svd_basis)
{
    int n_in = 30, ne = 20;
    ein_model *m = build(EIN_FWD_INORM, EIN_BWD_NONE, n_in, ne, 4);
    ein_layer *L = &m->hidden[0];
    int ni = L->cfg.ni;
    static double w0[20 * 30];
    double scale = 0;
    for (int r = 0; r < ne; r++)
        for (int c = 0; c < n_in; c++) {
            double inhib = 0;
            for (int k = 0; k < ni; k++)
                inhib += (double)L->W_ei->val[r * ni + k] * L->W_ix->val[k * n_in + c];
            w0[r * n_in + c] = L->W_ex->val[r * n_in + c] - inhib;
            scale = fmax(scale, fabs(w0[r * n_in + c]));
        }
    const ein_real *B = L->B_ix->val;
    double tol = (sizeof(ein_real) == 4 ? 1e-5 : 1e-12) * scale * scale * ne;
    double prev = INFINITY;
    for (int p = 0; p < ne; p++) {
        double norm = 0;
        for (int k = 0; k < n_in; k++)
            norm += (double)B[p * n_in + k] * B[p * n_in + k];
        ck_assert(norm <= prev + tol);
        prev = norm;
        for (int q = p + 1; q < ne; q++) {
            double dot = 0;
            for (int k = 0; k < n_in; k++)
                dot += (double)B[p * n_in + k] * B[q * n_in + k];
            ck_assert_msg(fabs(dot) < tol, "rows %d, %d: dot %g", p, q, dot);
        }
    }
    for (int i = 0; i < n_in; i++)
        for (int j = 0; j < n_in; j++) {
            double w = 0, bb = 0;
            for (int k = 0; k < ne; k++) {
                w += w0[k * n_in + i] * w0[k * n_in + j];
                bb += (double)B[k * n_in + i] * B[k * n_in + j];
            }
            ck_assert_msg(fabs(w - bb) < tol, "(%d,%d): %g vs %g", i, j, w, bb);
        }
    for (int k = 0; k < ne * ne; k++)
        ck_assert(fabs(L->B_ei->val[k] - 1.0 / ne) < 1e-7);
    ein_model_free(m);
}
END_TEST

/* (M4, M5, M6) a 3 × 4 example worked by hand.  W_ex = B_ix = I, b = 0,
 * W_ix = ¼·1ᵀ, W_ei = 1 (so i = mean(x)), B_ei = ¼ (so d = sqrt(mean(x²) + ε)),
 * rows x = [1,−1,1,−1], [2,0,0,2], [3,1,1,3]: every centred row is ±1, so
 * with m2 = mean(x²) ∈ {1, 2, 5} and a = 1/(m2 + ε):
 *   z_b = (x_b − mean x_b)·√a_b, mean(u) = 0, var(u) = a_b;
 *   L = ⅓ Σ_b (a_b − 1)²;  ∇B_ix L = Σ_b ⅓ (1 − a_b) a_b² x_b x_bᵀ;  ∇W_ix L = 0;
 *   GradNorm full of g: δ_b = (g_b − mean g_b − a_b (g_b·e_b) e_b / 4) / √(a_b + ε)
 *   with e_b the ±1 row; the task gradient is δ_b √a_b into h = x W_exᵀ + b:
 *   ∇W_ex = Σ_b δ_b √a_b x_bᵀ, ∇b = Σ_b δ_b √a_b, ∇x_b = δ_b √a_b (W_ex = I). */
START_TEST(inorm_hand_example)
{
    enum { B = 3, N = 4 };
    const double X[B][N] = { { 1, -1, 1, -1 }, { 2, 0, 0, 2 }, { 3, 1, 1, 3 } };
    const double G[B][N] = { { 1, 0, 0, 0 }, { 0, 1, 0, 0 }, { 0, 0, 0, 1 } };
    const double eps = EIN_LN_EPS, tol = sizeof(ein_real) == 4 ? 2e-6 : 1e-13;
    ein_graph *g = ein_graph_new(B);
    ein_node *x = ein_graph_input(g, "x", N);
    x->requires_grad = true;
    ein_node *gin = ein_graph_input(g, "g", N);
    ein_layer L;
    memset(&L, 0, sizeof L);
    L.cfg = (ein_layer_config){ .kind = EIN_LAYER_EI, .ne = N, .ni = 1, .act = EIN_ACT_NONE,
                                .fwd = EIN_FWD_INORM, .bwd = EIN_BWD_FULL, .inhib_learn = EIN_GROUPS_DEFAULT };
    ein_cell_config resolve_only;
    ein_config_defaults(&resolve_only);
    resolve_only.n_hidden = 1;
    resolve_only.hidden[0] = L.cfg;
    ein_config_resolve(&resolve_only);
    L.cfg = resolve_only.hidden[0];
    ein_node *out = ein_layer_build(g, &L, 0, "L", x, N, 0);
    ck_assert_int_eq(ein_graph_add_loss(g, ein_sum(g, ein_mul(g, out, gin)), 1.0, EIN_GROUPS_ALL), 0);
    ck_assert_int_eq(ein_graph_add_loss(g, L.local_loss, 1.0, EIN_GROUPS_ALL), 1);
    ein_layer_route(&L);
    ein_err err = { 0 };
    ck_assert_msg(ein_graph_compile(g, &err) == EIN_OK, "%s", err.msg);
    for (int b = 0; b < B; b++)
        for (int k = 0; k < N; k++) {
            x->val[b * N + k] = (ein_real)X[b][k];
            gin->val[b * N + k] = (ein_real)G[b][k];
        }
    for (int j = 0; j < N; j++) {
        for (int k = 0; k < N; k++) {
            L.W_ex->val[j * N + k] = L.B_ix->val[j * N + k] = j == k;
            L.B_ei->val[j * N + k] = (ein_real)0.25;
        }
        L.W_ix->val[j] = (ein_real)0.25;
        L.W_ei->val[j] = 1;
        L.b->val[j] = 0;
    }
    ein_graph_set_batch(g, B);
    ein_graph_forward(g, NULL);
    ein_graph_backward(g);

    double loss = 0, gbix[N][N] = { { 0 } }, gwex[N][N] = { { 0 } }, gb[N] = { 0 };
    for (int b = 0; b < B; b++) {
        double mean = 0, m2 = 0;
        for (int k = 0; k < N; k++) {
            mean += X[b][k] / N;
            m2 += X[b][k] * X[b][k] / N;
        }
        double a = 1 / (m2 + eps), e[N], ge = 0, gmean = 0;
        for (int k = 0; k < N; k++) {
            e[k] = X[b][k] - mean;
            ge += G[b][k] * e[k];
            gmean += G[b][k] / N;
            ck_assert_msg(fabs(out->val[b * N + k] - e[k] * sqrt(a)) < tol, "z[%d][%d] = %.9g, want %.9g", b, k,
                          (double)out->val[b * N + k], e[k] * sqrt(a));
        }
        loss += (a - 1) * (a - 1) / B;
        for (int j = 0; j < N; j++) {
            double delta = (G[b][j] - gmean - a * ge * e[j] / N) / sqrt(a + eps) * sqrt(a);
            gb[j] += delta;
            ck_assert_msg(fabs(x->grad[b * N + j] - delta) < tol, "grad x[%d][%d] = %.9g, want %.9g", b, j,
                          (double)x->grad[b * N + j], delta);
            for (int k = 0; k < N; k++) {
                gwex[j][k] += delta * X[b][k];
                gbix[j][k] += (1 - a) * a * a / B * X[b][j] * X[b][k];
            }
        }
    }
    ck_assert_msg(fabs(L.local_loss->val[0] - loss) < tol, "L_inorm %.9g, want %.9g", (double)L.local_loss->val[0], loss);
    for (int j = 0; j < N; j++) {
        ck_assert_msg(fabs(L.b->grad[j] - gb[j]) < tol, "grad b[%d] %.9g, want %.9g", j, (double)L.b->grad[j], gb[j]);
        ck_assert_msg(fabs(L.W_ix->grad[j]) < tol, "grad W_ix[%d] = %.3g, want 0", j, (double)L.W_ix->grad[j]);
        ck_assert(L.W_ei->grad[j] == 0);                       /* frozen (M8) */
        for (int k = 0; k < N; k++) {
            ck_assert_msg(fabs(L.W_ex->grad[j * N + k] - gwex[j][k]) < tol, "grad W_ex[%d][%d] %.9g, want %.9g", j, k,
                          (double)L.W_ex->grad[j * N + k], gwex[j][k]);
            ck_assert_msg(fabs(L.B_ix->grad[j * N + k] - gbix[j][k]) < tol, "grad B_ix[%d][%d] %.9g, want %.9g", j, k,
                          (double)L.B_ix->grad[j * N + k], gbix[j][k]);
            ck_assert(L.B_ei->grad == NULL || L.B_ei->grad[j * N + k] == 0);
        }
    }
    ein_graph_free(g);
}
END_TEST

/* (M5) subtractive-only I-Norm by hand: x = [1, 2] and [0, 0], W_ex = I, b = 0,
 * W_ix = [½, 0], W_ei = [1, 2]ᵀ: i = [½, 1] and 0, z = h − sg(i) = [½, 1] and 0.
 * Local loss mean_b(mean(ũ)²) = (¾² + 0)/2 = 0.28125 reaches W_ix and W_ei only:
 * ∂/∂ũ = ¾ per unit /2, so ∇W_ei = −¾·½·r = [−0.1875, −0.1875] (r = x·W_ix = ½)
 * and ∇W_ix = −¾·½·(1 + 2)·x₁ = [−1.125, −2.25].  The task loss sum(z ⊙ 1)
 * reaches W_ex, b and x only (through W_ex): ∇W_ex = [[1, 2], [1, 2]],
 * ∇b = [2, 2], ∇x = 1. */
START_TEST(inorm_sub_hand_example)
{
    ein_graph *g = ein_graph_new(2);
    ein_node *x = ein_graph_input(g, "x", 2);
    x->requires_grad = true;
    ein_node *gin = ein_graph_input(g, "g", 2);
    ein_layer L;
    memset(&L, 0, sizeof L);
    L.cfg = (ein_layer_config){ .kind = EIN_LAYER_EI, .ne = 2, .ni = 1, .act = EIN_ACT_NONE,
                                .fwd = EIN_FWD_INORM_SUB, .bwd = EIN_BWD_NONE, .inhib_learn = EIN_GROUPS_DEFAULT };
    ein_cell_config resolve_only;
    ein_config_defaults(&resolve_only);
    resolve_only.n_hidden = 1;
    resolve_only.hidden[0] = L.cfg;
    ein_config_resolve(&resolve_only);
    L.cfg = resolve_only.hidden[0];
    ein_node *out = ein_layer_build(g, &L, 0, "L", x, 2, 0);
    ck_assert(L.B_ix == NULL && L.local_loss != NULL);
    ck_assert_int_eq(ein_graph_add_loss(g, ein_sum(g, ein_mul(g, out, gin)), 1.0, EIN_GROUPS_ALL), 0);
    ck_assert_int_eq(ein_graph_add_loss(g, L.local_loss, 1.0, EIN_GROUPS_ALL), 1);
    ein_layer_route(&L);
    ein_err err = { 0 };
    ck_assert_msg(ein_graph_compile(g, &err) == EIN_OK, "%s", err.msg);
    const ein_real xs[4] = { 1, 2, 0, 0 }, wex[4] = { 1, 0, 0, 1 };
    memcpy(x->val, xs, sizeof xs);
    memcpy(L.W_ex->val, wex, sizeof wex);
    for (int k = 0; k < 4; k++)
        gin->val[k] = 1;
    L.W_ix->val[0] = (ein_real)0.5;
    L.W_ix->val[1] = 0;
    L.W_ei->val[0] = 1;
    L.W_ei->val[1] = 2;
    L.b->val[0] = L.b->val[1] = 0;
    ein_graph_set_batch(g, 2);
    ein_graph_forward(g, NULL);
    ein_graph_backward(g);
    const double z[4] = { 0.5, 1, 0, 0 }, gwex[4] = { 1, 2, 1, 2 }, gwix[2] = { -1.125, -2.25 },
                 gwei[2] = { -0.1875, -0.1875 }, gb[2] = { 2, 2 };
    for (int k = 0; k < 4; k++) {
        ck_assert_msg(fabs(out->val[k] - z[k]) < 1e-6, "z[%d] = %g", k, (double)out->val[k]);
        ck_assert_msg(fabs(L.W_ex->grad[k] - gwex[k]) < 1e-6, "grad W_ex[%d] = %g", k, (double)L.W_ex->grad[k]);
        ck_assert_msg(fabs(x->grad[k] - 1) < 1e-6, "grad x[%d] = %g", k, (double)x->grad[k]);
    }
    ck_assert_msg(fabs(L.local_loss->val[0] - 0.28125) < 1e-6, "loss %g", (double)L.local_loss->val[0]);
    for (int k = 0; k < 2; k++) {
        ck_assert_msg(fabs(L.W_ix->grad[k] - gwix[k]) < 1e-6, "grad W_ix[%d] = %g", k, (double)L.W_ix->grad[k]);
        ck_assert_msg(fabs(L.W_ei->grad[k] - gwei[k]) < 1e-6, "grad W_ei[%d] = %g", k, (double)L.W_ei->grad[k]);
        ck_assert_msg(fabs(L.b->grad[k] - gb[k]) < 1e-6, "grad b[%d] = %g", k, (double)L.b->grad[k]);
    }
    ein_graph_free(g);
}
END_TEST

static double abs_sum(const ein_node *p)
{
    double total = 0;
    for (int k = 0; k < p->rows * p->cols; k++)
        total += fabs(p->grad[k]);
    return total;
}

/* The defaults with both hidden layers I-Norm + GradNorm, ne wide, and the
 * given seed; with `with_loss`, the I-Norm loss (M5) too. */
static void inorm_gn_config(ein_cell_config *cfg, int ne, uint64_t seed, bool with_loss)
{
    ein_config_defaults(cfg);
    cfg->train.seed = seed;
    for (int l = 0; l < cfg->n_hidden; l++) {
        cfg->hidden[l].ne = ne;
        cfg->hidden[l].fwd = EIN_FWD_INORM;
        cfg->hidden[l].bwd = EIN_BWD_FULL;
    }
    if (with_loss)
        cfg->losses[cfg->n_losses++] = (ein_loss_config){ .kind = EIN_LOSS_INORM, .weight = -1,
                                                          .groups = EIN_GROUPS_DEFAULT };
}

/* One forward/backward of an I-Norm + GradNorm net (seed 7, fixed input),
 * with or without the M5 loss. */
static ein_model *inorm_step(bool with_inorm_loss)
{
    ein_cell_config cfg;
    inorm_gn_config(&cfg, 20, 7, with_inorm_loss);
    ein_model *m = NULL;
    ein_err err = { 0 };
    ck_assert_msg(ein_model_build(&cfg, 30, 10, 4, false, &m, &err) == EIN_OK, "%s", err.msg);
    ck_assert(ein_model_init(m, &err) == EIN_OK);
    random_input(m, 4, 5);
    ein_graph_forward(m->graph, m->train_plan);
    ein_graph_backward(m->graph);
    return m;
}

/* (M8) in I-Norm layers the task loss reaches W_ex and b only, the I-Norm
 * loss W_ix and B_ix only; W_ei and B_ei are frozen.  Same net with and
 * without the I-Norm loss: the task loss alone leaves W_ix and B_ix at zero,
 * and adding the I-Norm loss leaves the W_ex and b gradients bit-identical. */
START_TEST(inorm_routing)
{
    ein_model *both = inorm_step(true), *task = inorm_step(false);
    for (int l = 0; l < 2; l++) {
        const ein_layer *B = &both->hidden[l], *T = &task->hidden[l];
        ck_assert_msg(abs_sum(B->W_ix) > 0 && abs_sum(B->B_ix) > 0, "layer %d: the I-Norm loss must train W_ix, B_ix", l);
        ck_assert_msg(abs_sum(T->W_ix) == 0 && abs_sum(T->B_ix) == 0, "layer %d: the task loss reached W_ix/B_ix", l);
        ck_assert(abs_sum(B->W_ei) == 0 && abs_sum(B->B_ei) == 0);
        ck_assert(abs_sum(T->W_ei) == 0 && abs_sum(T->B_ei) == 0);
        ck_assert(abs_sum(T->W_ex) > 0);
        size_t wex = (size_t)T->W_ex->rows * (size_t)T->W_ex->cols * sizeof(ein_real);
        ck_assert_msg(memcmp(B->W_ex->grad, T->W_ex->grad, wex) == 0, "layer %d: the I-Norm loss reached W_ex", l);
        ck_assert_msg(memcmp(B->b->grad, T->b->grad, (size_t)T->b->cols * sizeof(ein_real)) == 0,
                      "layer %d: the I-Norm loss reached b", l);
    }
    ein_model_free(both);
    ein_model_free(task);
}
END_TEST

/* (M4c) a B_ei that never learns stays uniform, so s² B_eiᵀ becomes one row
 * sum of squares per example (squares_uniform) instead of a square and an
 * ne × ne GEMM.  The same net
 * with B_ei learning takes the general GEMM path: forward values, both losses
 * and every other parameter's gradient agree to rounding. */
static ein_model *inorm_path(bool bei_learns)
{
    ein_cell_config cfg;
    inorm_gn_config(&cfg, 12, 11, true);
    cfg.train.frozen[EIN_GROUP_BEI] = !bei_learns;
    for (int l = 0; l < cfg.n_hidden && bei_learns; l++)
        cfg.hidden[l].inhib_learn = (1u << EIN_GROUP_WIX) | (1u << EIN_GROUP_BIX) | (1u << EIN_GROUP_BEI);
    ein_model *m = NULL;
    ein_err err = { 0 };
    ck_assert_msg(ein_model_build(&cfg, 30, 10, 5, true, &m, &err) == EIN_OK, "%s", err.msg);
    ck_assert(ein_model_init(m, &err) == EIN_OK);
    for (int l = 0; l < 2; l++) {       /* away from init, where the I-Norm loss is ~0 */
        ein_node *bix = m->hidden[l].B_ix;
        for (int k = 0; k < bix->rows * bix->cols; k++)
            bix->val[k] *= (ein_real)(1.25 + 0.01 * (k % 7));
        ein_node *wix = m->hidden[l].W_ix;
        for (int k = 0; k < wix->rows * wix->cols; k++)
            wix->val[k] *= (ein_real)(1.1 + 0.02 * (k % 5));
    }
    random_input(m, 5, 8);
    ein_graph_forward(m->graph, m->train_plan);
    ein_graph_backward(m->graph);
    return m;
}

static int count_op(const ein_model *m, const char *name)
{
    int count = 0;
    for (int i = 0; i < ein_graph_n_nodes(m->graph); i++) {
        const ein_node *n = ein_graph_nodes(m->graph, i);
        count += n->op != NULL && strcmp(n->op->name, name) == 0;
    }
    return count;
}

static void expect_same(const ein_real *a, const ein_real *b, size_t len, const char *what)
{
    const double tol = sizeof(ein_real) == 4 ? 2e-5 : 1e-12;
    double scale = 0;
    for (size_t k = 0; k < len; k++)
        scale = fmax(scale, fabs((double)b[k]));
    ck_assert_msg(scale > 0, "%s is all zero", what);
    for (size_t k = 0; k < len; k++)
        ck_assert_msg(fabs((double)a[k] - b[k]) <= tol * scale, "%s[%zu]: row-sum path %.9g, GEMM path %.9g",
                      what, k, (double)a[k], (double)b[k]);
}

START_TEST(inorm_uniform_bei_equals_gemm)
{
    ein_model *fast = inorm_path(false), *general = inorm_path(true);
    ck_assert_int_eq(count_op(fast, "squares_uniform"), 2);
    ck_assert_int_eq(count_op(general, "squares_uniform"), 0);
    ck_assert_int_eq(count_op(general, "matmul") - count_op(fast, "matmul"), 2);
    ck_assert_int_eq(count_op(general, "square") - count_op(fast, "square"), 2);
    expect_same(fast->logits->val, general->logits->val, 5 * 10, "logits");
    expect_same(fast->task_loss->val, general->task_loss->val, 1, "task loss");
    expect_same(fast->inorm_loss->val, general->inorm_loss->val, 1, "I-Norm loss");
    expect_same(fast->x->grad, general->x->grad, 5 * 30, "grad x");
    const char *names[] = { "W_ex", "b", "W_ix", "B_ix" };
    for (int l = 0; l < 2; l++) {
        const ein_layer *F = &fast->hidden[l], *G = &general->hidden[l];
        expect_same(F->z->val, G->z->val, 5 * 12, "z");
        const ein_node *fp[] = { F->W_ex, F->b, F->W_ix, F->B_ix }, *gp[] = { G->W_ex, G->b, G->W_ix, G->B_ix };
        for (int k = 0; k < 4; k++)
            expect_same(fp[k]->grad, gp[k]->grad, (size_t)fp[k]->rows * (size_t)fp[k]->cols, names[k]);
        ck_assert(abs_sum(G->B_ei) > 0);            /* the general path really trains B_ei */
    }
    ein_model_free(fast);
    ein_model_free(general);
}
END_TEST

/* A cell evaluates in batches bigger than it trains (ein_train_cell: 256 vs
 * 32): gradients are held for train.batch rows only, which shrinks the arena,
 * and training on those rows is bit-identical to a graph sized for them. */
static ein_model *sized(int cap, int train_batch)
{
    ein_cell_config cfg;
    inorm_gn_config(&cfg, 12, 5, true);
    cfg.train.batch = train_batch;
    ein_model *m = NULL;
    ein_err err = { 0 };
    ck_assert_msg(ein_model_build(&cfg, 30, 10, cap, false, &m, &err) == EIN_OK, "%s", err.msg);
    ck_assert(ein_model_init(m, &err) == EIN_OK);
    return m;
}

START_TEST(gradients_only_for_training_rows)
{
    ein_model *big = sized(40, 8), *full = sized(40, 40), *small = sized(8, 8);
    ck_assert_msg(ein_graph_bytes(big->graph) < ein_graph_bytes(full->graph), "%zu vs %zu bytes",
                  ein_graph_bytes(big->graph), ein_graph_bytes(full->graph));
    random_input(big, 40, 3);
    ein_graph_set_batch(big->graph, 40);                 /* evaluation: all 40 rows, forward only */
    ein_graph_forward(big->graph, big->eval_plan);
    random_input(big, 8, 4);
    random_input(small, 8, 4);
    ein_graph_set_batch(big->graph, 8);
    ein_graph_set_batch(small->graph, 8);
    ein_graph_forward(big->graph, big->train_plan);
    ein_graph_forward(small->graph, small->train_plan);
    ein_graph_backward(big->graph);
    ein_graph_backward(small->graph);
    for (int i = 0; i < ein_graph_n_nodes(big->graph); i++) {
        const ein_node *a = ein_graph_nodes(big->graph, i), *b = ein_graph_nodes(small->graph, i);
        if (a->kind == EIN_NODE_PARAM)
            ck_assert_msg(memcmp(a->grad, b->grad, (size_t)a->rows * (size_t)a->cols * sizeof(ein_real)) == 0,
                          "%s: gradient differs", a->name);
    }
    ein_model_free(big);
    ein_model_free(full);
    ein_model_free(small);
}
END_TEST

START_TEST(npy_files)
{
    ein_model *m = build(EIN_FWD_LAYERNORM, EIN_BWD_NONE, 12, 6, 2);
    char *dir = tu_mkdtemp();
    ein_err err = { 0 };
    ck_assert_msg(ein_model_save_npy(m, dir, &err) == EIN_OK, "%s", err.msg);
    char path[512];
    snprintf(path, sizeof path, "%s/L0.W_ex.npy", dir);
    size_t len = 0;
    char *data = tu_read_file(path, &len);
    ck_assert(data != NULL);
    ck_assert(memcmp(data, "\x93NUMPY\x01\x00", 8) == 0);
    size_t header = 10 + (unsigned char)data[8] + 256u * (unsigned char)data[9];
    ck_assert_uint_eq(header % 64, 0);
    ck_assert(strstr(data + 10, "'shape': (6, 12)") != NULL);
    ck_assert_uint_eq(len, header + 6 * 12 * sizeof(ein_real));
    ck_assert(memcmp(data + header, m->hidden[0].W_ex->val, 6 * 12 * sizeof(ein_real)) == 0);
    free(data);
    snprintf(path, sizeof path, "%s/out.b.npy", dir);
    data = tu_read_file(path, NULL);
    ck_assert(data != NULL && strstr(data + 10, "'shape': (10,)") != NULL);
    free(data);
    tu_rmtree(dir);
    free(dir);
    ein_model_free(m);
}
END_TEST

START_TEST(output_must_match_classes)
{
    ein_cell_config cfg;
    ein_config_defaults(&cfg);
    snprintf(cfg.output.where, sizeof cfg.output.where, "net.ein:7:3");
    cfg.output.ne = 12;
    ein_model *m = NULL;
    ein_err err = { 0 };
    ck_assert_int_eq(ein_model_build(&cfg, 784, 10, 4, false, &m, &err), EIN_ERR_LANG);
    ck_assert_str_eq(err.msg, "net.ein:7:3: output layer has 12 units but the data has 10 classes");
    ck_assert(m == NULL);
}
END_TEST

/* (M4) the SVD init needs n_in ≥ ne: a wider I-Norm layer is an error that
 * names the layer's source location, not a crash. */
START_TEST(inorm_needs_enough_inputs)
{
    ein_cell_config cfg;
    ein_config_defaults(&cfg);
    for (int l = 0; l < cfg.n_hidden; l++) {
        cfg.hidden[l].fwd = EIN_FWD_INORM;
        cfg.hidden[l].ne = l == 0 ? 40 : 50;
        snprintf(cfg.hidden[l].where, sizeof cfg.hidden[l].where, "net.ein:%d:5", 4 + l);
    }
    ein_model *m = NULL;
    ein_err err = { 0 };
    ck_assert_int_ne(ein_model_build(&cfg, 784, 10, 4, false, &m, &err), EIN_OK);
    ck_assert(m == NULL);
    ck_assert_msg(strstr(err.msg, "net.ein:5:5") != NULL &&
                  strstr(err.msg, "I-Norm needs at least as many inputs as excitatory units "
                                  "(n_in 40 < ne 50)") != NULL, "%s", err.msg);
}
END_TEST

/* einrun --graph: the cell's graph in dot, ops labelled with their source line. */
START_TEST(einrun_graph_dot)
{
    char cmd[512], *out = NULL;
    snprintf(cmd, sizeof cmd, "%s examples/quickstart.ein --graph --where variant=inorm_gn", tu_einrun());
    ck_assert_int_eq(tu_run(cmd, &out), 0);
    ck_assert_msg(strncmp(out, "digraph ein {", 13) == 0, "%.200s", out);
    ck_assert(strstr(out, "label=\"L0.B_ix\\n500 x 784\\n[bix]\"") != NULL);
    ck_assert(strstr(out, "grad_transform") != NULL);          /* GradNorm (M6) is in the graph */
    ck_assert(strstr(out, "examples/quickstart.ein:13:5") != NULL);
    ck_assert(strstr(out, "doubleoctagon") != NULL);           /* the losses */
    free(out);
    snprintf(cmd, sizeof cmd, "%s examples/quickstart.ein --graph --where variant=ln", tu_einrun());
    ck_assert_int_eq(tu_run(cmd, &out), 0);
    ck_assert(strstr(out, "B_ix") == NULL && strstr(out, "rownorm") != NULL);
    free(out);
}
END_TEST

/* No sweep zeroes the intermediates' gradients (docs/engine.md): whatever a
 * step left in them, NaN even, must not change training.  Two copies of an
 * I-Norm + GradNorm net with its local losses (three backward sweeps, fused
 * SGD updates) take the same steps, one with every intermediate gradient
 * set to NaN before each step and before each alignment gradient (M9,
 * ein_graph_grad_of); parameters and alignment gradients stay identical. */
static ein_model *stale_rig(ein_optim **opt)
{
    ein_cell_config cfg;
    inorm_gn_config(&cfg, 12, 3, true);
    cfg.metrics |= 1u << EIN_METRIC_COS_LN_GRAD;
    ein_model *m = NULL;
    ein_err err = { 0 };
    ck_assert_msg(ein_model_build(&cfg, 30, 10, 8, false, &m, &err) == EIN_OK, "%s", err.msg);
    ck_assert(ein_model_init(m, &err) == EIN_OK);
    ck_assert_ptr_nonnull(m->align_plan);
    ein_group_settings groups[EIN_GROUP_COUNT];
    ein_group_settings_from_config(&m->cfg.train, groups);
    for (int g = 0; g < EIN_GROUP_COUNT; g++)
        groups[g].lr = groups[g].lr > 0 ? groups[g].lr * 50 : groups[g].lr;   /* steps that move */
    *opt = ein_optim_new(m->graph, EIN_OPT_SGD, groups, 0.9, 0.999, 1e-8, &err);
    ck_assert_ptr_nonnull(*opt);
    ck_assert_int_gt(ein_optim_n_fused(*opt), 0);
    return m;
}

START_TEST(stale_gradients_do_not_change_training)
{
    ein_optim *opt[2];
    ein_model *m[2] = { stale_rig(&opt[0]), stale_rig(&opt[1]) };
    int ne = 12;
    ein_real align[2][12 * 30], wex0[12 * 30], wix0[2 * 30];
    ein_node *wex = m[0]->hidden[0].W_ex, *wix = m[0]->hidden[0].W_ix;
    ck_assert_int_le(wix->rows * wix->cols, 2 * 30);
    memcpy(wex0, wex->val, sizeof wex0);
    memcpy(wix0, wix->val, (size_t)(wix->rows * wix->cols) * sizeof(ein_real));
    for (int step = 0; step < 4; step++) {
        int batch = step % 2 ? 5 : 8;         /* a short batch too */
        for (int c = 0; c < 2; c++) {
            random_input(m[c], batch, 40 + (unsigned)step);
            if (c == 1)
                ck_assert_int_gt(tu_poison_gradients(m[c]->graph), 0);
            ein_graph_forward(m[c]->graph, m[c]->train_plan);
            ein_optim_backward_step(opt[c]);
            ein_graph_forward(m[c]->graph, m[c]->align_plan);
            if (c == 1)
                ck_assert_int_gt(tu_poison_gradients(m[c]->graph), 0);
            ein_graph_grad_of(m[c]->graph, m[c]->hidden[0].align_op, m[c]->hidden[0].W_ex, align[c]);
        }
        ck_assert(isfinite(m[0]->inorm_loss->val[0]) && m[0]->inorm_loss->val[0] > 0);
        for (int k = 0; k < ne * 30; k++)
            ck_assert_msg(memcmp(&align[0][k], &align[1][k], sizeof(ein_real)) == 0 && isfinite(align[0][k]),
                          "step %d: alignment gradient [%d] %.9g clean, %.9g after NaN", step, k,
                          (double)align[0][k], (double)align[1][k]);
        for (int i = 0; i < ein_graph_n_nodes(m[0]->graph); i++) {
            const ein_node *p = ein_graph_nodes(m[0]->graph, i), *q = ein_graph_nodes(m[1]->graph, i);
            if (p->kind != EIN_NODE_PARAM)
                continue;
            for (int k = 0; k < p->rows * p->cols; k++)
                ck_assert_msg(memcmp(&p->val[k], &q->val[k], sizeof(ein_real)) == 0 && isfinite(p->val[k]),
                              "step %d: %s[%d] %.9g clean, %.9g after NaN", step, p->name, k,
                              (double)p->val[k], (double)q->val[k]);
        }
    }
    /* the steps moved what the task loss (W_ex) and the I-Norm loss (W_ix) train */
    double moved_ex = 0, moved_ix = 0;
    for (int k = 0; k < ne * 30; k++)
        moved_ex += fabs((double)wex->val[k] - wex0[k]);
    for (int k = 0; k < wix->rows * wix->cols; k++)
        moved_ix += fabs((double)wix->val[k] - wix0[k]);
    ck_assert_msg(moved_ex > 0 && moved_ix > 0, "W_ex moved %g, W_ix %g", moved_ex, moved_ix);
    for (int c = 0; c < 2; c++) {
        ein_optim_free(opt[c]);
        ein_model_free(m[c]);
    }
}
END_TEST

Suite *ein_test_suite(void)
{
    Suite *s = suite_create("model");
    TCase *tc = tcase_create("builder");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, m2_initialisation);
    tcase_add_test(tc, inorm_is_layernorm_at_init);
    tcase_add_test(tc, svd_rows);
    tcase_add_test(tc, inorm_bix_is_svd_basis);
    tcase_add_test(tc, inorm_hand_example);
    tcase_add_test(tc, inorm_sub_hand_example);
    tcase_add_test(tc, inorm_routing);
    tcase_add_test(tc, inorm_uniform_bei_equals_gemm);
    tcase_add_test(tc, gradients_only_for_training_rows);
    tcase_add_test(tc, npy_files);
    tcase_add_test(tc, output_must_match_classes);
    tcase_add_test(tc, inorm_needs_enough_inputs);
    tcase_add_test(tc, einrun_graph_dot);
    tcase_add_test(tc, stale_gradients_do_not_change_training);
    suite_add_tcase(s, tc);
    return s;
}
