/* check_reference.c — the model against vectors from the paper's own
 * implementation (tests/data/reference): forward values, stop-gradient
 * routing, GradNorm backward maps, the I-Norm loss, M9 alignments and whole
 * SGD steps with their clamps.  Double build: absolute error < 1e-9; float
 * build: relative error < 1e-4, where entries near zero are measured against
 * 1 % of the tensor's largest entry plus 1e-4 (float32 cannot hold a relative
 * 1e-4 on a 5e-6 bias that is the difference of O(1) numbers). */
#include <check.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ein/model.h"
#include "ein/ops.h"
#include "ein/optim.h"
#include "refdata.h"

#define REF_DIR "tests/data/reference/"

/* Compare a tensor of the model against a reference entry. */
static void expect_close(const ref_file *f, const char *name, const ein_real *got, int rows, int cols)
{
    const ref_entry *e = ref_get(f, name);
    ck_assert_msg(e != NULL, "reference has no '%s'", name);
    ck_assert_msg(e->rows == rows && e->cols == cols, "%s: shape %dx%d, model has %dx%d", name, e->rows,
                  e->cols, rows, cols);
    long n = (long)rows * cols, worst = 0;
#ifdef EIN_REAL_DOUBLE
    double err = ref_max_abs_err(got, e->v, n, &worst);
    ck_assert_msg(err < 1e-9, "%s: abs error %.3g at %ld (got %.17g, want %.17g)", name, err, worst,
                  (double)got[worst], e->v[worst]);
#else
    double scale = 0;
    for (long i = 0; i < n; i++)
        scale = fmax(scale, fabs(e->v[i]));
    double err = ref_max_rel_err(got, e->v, n, 1e-2 * scale + 1e-4, &worst);
    ck_assert_msg(err < 1e-4, "%s: rel error %.3g at %ld (got %.9g, want %.9g)", name, err, worst,
                  (double)got[worst], e->v[worst]);
#endif
}

static void load(const ref_file *f, const char *name, ein_node *n)
{
    ck_assert_msg(n != NULL, "model has no parameter for '%s'", name);
    ck_assert_msg(ref_copy(f, name, n->val, n->rows, n->cols) == 0, "cannot load '%s' (%dx%d)", name,
                  n->rows, n->cols);
}

static double cosine(const ein_real *a, const ein_real *b, long n)
{
    double ab = 0, aa = 0, bb = 0;
    for (long i = 0; i < n; i++) {
        ab += (double)a[i] * b[i];
        aa += (double)a[i] * a[i];
        bb += (double)b[i] * b[i];
    }
    return ab / sqrt(aa * bb);
}

/* ---- the fa_center gradient-alignment reference branch (M9) ------------------
 * The paper's branch is ReLU(z) with a centering backward: z's own ReLU mask,
 * then g − mean(g).  A reading with ReLU(z − mean z) masks by the centered z
 * instead.  On the reference batch the two masks agree, so the layer's bias is
 * shifted until they do not, and ein's cosine is compared with both, worked
 * in plain double from the layer's values (z = (h_E − i)/d, i and d stopped:
 * ∇_{W_ex} Σ f(z) = Σ_b (δ_b / d_b) x_b with δ = ∂f/∂z after the backward map). */

static double fa_cos_by_hand(const ein_layer *L, const double *x, const double *z, const double *d,
                             int batch, int n_in, bool centered_mask)
{
    int ne = L->cfg.ne;
    double ref_grad[64] = { 0 }, op_grad[64] = { 0 };
    for (int b = 0; b < batch; b++) {
        const double *zb = z + (long)b * ne;
        double zmean = 0;
        for (int k = 0; k < ne; k++)
            zmean += zb[k] / ne;
        double mask_ref[16], mask_op[16], ref_mean = 0, op_w = 0;
        for (int k = 0; k < ne; k++) {
            mask_ref[k] = (centered_mask ? zb[k] - zmean : zb[k]) > 0;
            mask_op[k] = zb[k] > 0;
            ref_mean += mask_ref[k] / ne;
            op_w += (double)L->gradnorm->aux[k] * mask_op[k];
        }
        for (int k = 0; k < ne; k++) {
            double dref = (mask_ref[k] - ref_mean) / d[b], dop = (mask_op[k] - op_w) / d[b];
            for (int n = 0; n < n_in; n++) {
                ref_grad[k * n_in + n] += dref * x[(long)b * n_in + n];
                op_grad[k * n_in + n] += dop * x[(long)b * n_in + n];
            }
        }
    }
    double ab = 0, aa = 0, bb = 0;
    for (int i = 0; i < ne * n_in; i++) {
        ab += ref_grad[i] * op_grad[i];
        aa += ref_grad[i] * ref_grad[i];
        bb += op_grad[i] * op_grad[i];
    }
    return ab / sqrt(aa * bb);
}

static void check_fa_center_branch(ein_graph *g, ein_layer *L, ein_node *x, ein_node *out, int batch,
                                   int n_in)
{
    int ne = L->cfg.ne;
    ck_assert(ne <= 16 && ne * n_in <= 64 && batch <= 16);
    for (int k = 0; k < ne; k++)
        L->b->val[k] += (ein_real)0.6;    /* z's mean moves off 0: the two masks now differ */
    ein_graph_forward(g, NULL);
    double xs[16 * 64], zs[16 * 16], d[16];
    for (int i = 0; i < batch * n_in; i++)
        xs[i] = x->val[i];
    for (int b = 0; b < batch; b++) {
        /* d_b = sqrt(mean_j (x_b B_ixᵀ)_j² + ε) with B_ei uniform 1/ne (M4c) */
        double s = 0;
        for (int j = 0; j < ne; j++) {
            double u = 0;
            for (int n = 0; n < n_in; n++)
                u += (double)x->val[(long)b * n_in + n] * L->B_ix->val[(long)j * n_in + n];
            s += u * u * L->B_ei->val[j];
        }
        d[b] = sqrt(s + EIN_LN_EPS);
        for (int k = 0; k < ne; k++)
            zs[b * ne + k] = out->val[(long)b * ne + k];
    }
    double paper = fa_cos_by_hand(L, xs, zs, d, batch, n_in, false);
    double centered = fa_cos_by_hand(L, xs, zs, d, batch, n_in, true);
    ck_assert_msg(fabs(paper - centered) > 1e-2, "the shifted batch does not tell the readings apart "
                  "(%.6f vs %.6f)", paper, centered);
    ein_real ga[64], gb[64];
    ein_graph_grad_of(g, L->align_ref, L->W_ex, ga);
    ein_graph_grad_of(g, L->align_op, L->W_ex, gb);
    double got = cosine(ga, gb, (long)ne * n_in);
#ifdef EIN_REAL_DOUBLE
    ck_assert_msg(fabs(got - paper) < 1e-9, "fa_center cos_grad %.12f, the paper's branch %.12f "
                  "(ReLU(z - mean z) gives %.12f)", got, paper, centered);
#else
    ck_assert_msg(fabs(got - paper) < 1e-4, "fa_center cos_grad %.7f, the paper's branch %.7f "
                  "(ReLU(z - mean z) gives %.7f)", got, paper, centered);
#endif
}

/* ---- one layer: ei_layer.txt and inorm_layer_*.txt --------------------------- */

static const struct {
    const char *file;
    ein_fwd_norm fwd;
    ein_bwd_norm bwd;
} layer_cases[] = {
    { "ei_layer.txt", EIN_FWD_NONE, EIN_BWD_NONE },
    { "inorm_layer_none.txt", EIN_FWD_INORM, EIN_BWD_NONE },
    { "inorm_layer_full.txt", EIN_FWD_INORM, EIN_BWD_FULL },
    { "inorm_layer_center.txt", EIN_FWD_INORM, EIN_BWD_CENTER },
    { "inorm_layer_scale.txt", EIN_FWD_INORM, EIN_BWD_SCALE },
    { "inorm_layer_decorrelate.txt", EIN_FWD_INORM, EIN_BWD_DECORRELATE },
    { "inorm_layer_fa_center.txt", EIN_FWD_INORM, EIN_BWD_FA_CENTER },
};

START_TEST(reference_layer)
{
    char path[256];
    snprintf(path, sizeof path, REF_DIR "%s", layer_cases[_i].file);
    ref_file *f = ref_load(path);
    ck_assert_msg(f != NULL, "cannot read %s", path);
    const ref_entry *x_ref = ref_get(f, "x"), *w_ix = ref_get(f, "W_ix");
    int batch = x_ref->rows, n_in = x_ref->cols, ne = ref_get(f, "W_ex")->rows, ni = w_ix->rows;
    bool inorm = layer_cases[_i].fwd == EIN_FWD_INORM;
    double lambda = inorm ? ref_get(f, "lambda")->v[0] : 0;

    ein_graph *g = ein_graph_new(batch);
    ein_node *x = ein_graph_input(g, "x", n_in);
    x->requires_grad = true;
    ein_node *gin = ein_graph_input(g, "g", ne);
    ein_layer L;
    memset(&L, 0, sizeof L);
    L.cfg = (ein_layer_config){ .kind = EIN_LAYER_EI, .ne = ne, .ni = ni, .act = EIN_ACT_NONE,
                                .fwd = layer_cases[_i].fwd, .bwd = layer_cases[_i].bwd,
                                .inhib_learn = EIN_GROUPS_DEFAULT };
    ein_cell_config resolve_only;
    ein_config_defaults(&resolve_only);
    resolve_only.n_hidden = 1;
    resolve_only.hidden[0] = L.cfg;
    ein_config_resolve(&resolve_only);
    L.cfg = resolve_only.hidden[0];
    ein_node *out = ein_layer_build(g, &L, 0, "L", x, n_in, 0);
    ein_node *task = ein_sum(g, ein_mul(g, out, gin));     /* sum(z ⊙ g) */
    ck_assert_int_eq(ein_graph_add_loss(g, task, 1.0, EIN_GROUPS_ALL), 0);
    if (inorm)
        ck_assert_int_eq(ein_graph_add_loss(g, L.local_loss, lambda, EIN_GROUPS_ALL), 1);
    ein_layer_route(&L);
    if (inorm)
        ein_layer_build_alignment(g, &L);
    ein_err err = { 0 };
    ck_assert_msg(ein_graph_compile(g, &err) == EIN_OK, "%s", err.msg);

    load(f, "x", x);
    load(f, "g", gin);
    load(f, "W_ex", L.W_ex);
    load(f, "W_ix", L.W_ix);
    load(f, "W_ei", L.W_ei);
    load(f, "b", L.b);
    if (inorm) {
        load(f, "B_ix", L.B_ix);
        load(f, "B_ei", L.B_ei);
    }
    if (layer_cases[_i].bwd == EIN_BWD_FA_CENTER) {
        /* loaded once: the M9 branch's transform shares the layer's weights */
        ck_assert(ref_copy(f, "fa_w", L.gradnorm->aux, 1, ne) == 0);
    }

    ein_graph_forward(g, NULL);
    ein_graph_backward(g);
    expect_close(f, "z", out->val, batch, ne);
    if (inorm) {
        ein_real l_inorm = (ein_real)(lambda * L.local_loss->val[0]);
        expect_close(f, "L_inorm", &l_inorm, 1, 1);
        expect_close(f, "grad_local.W_ix", L.W_ix->grad, ni, n_in);
        expect_close(f, "grad_local.B_ix", L.B_ix->grad, ne, n_in);
        expect_close(f, "grad_task.W_ex", L.W_ex->grad, ne, n_in);
        expect_close(f, "grad_task.b", L.b->grad, 1, ne);
        expect_close(f, "grad_task.x", x->grad, batch, n_in);
        /* frozen in I-Norm layers: no loss reaches W_ei or B_ei */
        for (int k = 0; k < ne * ni; k++)
            ck_assert(L.W_ei->grad[k] == 0);

        /* (M9) output and gradient alignment on this batch */
        long len = (long)batch * ne;
        ein_real cos_out = (ein_real)cosine(L.out_ln->val, L.out_relu->val, len);
        expect_close(f, "cos_out", &cos_out, 1, 1);
        ein_real ga[64], gb[64];
        ck_assert(ne * n_in <= 64);
        ein_real saved_grad = L.W_ex->grad[0];
        ein_graph_grad_of(g, L.align_ref, L.W_ex, ga);
        ein_graph_grad_of(g, L.align_op, L.W_ex, gb);
        ck_assert(L.W_ex->grad[0] == saved_grad);          /* training gradient untouched */
        ein_real cos_grad = (ein_real)cosine(ga, gb, (long)ne * n_in);
        expect_close(f, "cos_grad", &cos_grad, 1, 1);
        if (layer_cases[_i].bwd == EIN_BWD_FA_CENTER)
            check_fa_center_branch(g, &L, x, out, batch, n_in);
    } else {
        expect_close(f, "grad_task.W_ex", L.W_ex->grad, ne, n_in);
        expect_close(f, "grad_task.W_ix", L.W_ix->grad, ni, n_in);
        expect_close(f, "grad_task.W_ei", L.W_ei->grad, ne, ni);
        expect_close(f, "grad_task.b", L.b->grad, 1, ne);
        expect_close(f, "grad_task.x", x->grad, batch, n_in);
    }
    ein_graph_free(g);
    ref_free(f);
}
END_TEST

/* ---- one whole SGD step of the 8 → 6 → 6 → 10 network ------------------------ */

static const struct {
    const char *file;
    ein_layer_kind kind;
    ein_fwd_norm fwd;
    ein_bwd_norm bwd;
} step_cases[] = {
    { "step_ei_nonorm.txt", EIN_LAYER_EI, EIN_FWD_NONE, EIN_BWD_NONE },
    { "step_ei_ln.txt", EIN_LAYER_EI, EIN_FWD_LAYERNORM, EIN_BWD_NONE },
    { "step_e_ln.txt", EIN_LAYER_E_ONLY, EIN_FWD_LAYERNORM, EIN_BWD_NONE },
    { "step_inorm.txt", EIN_LAYER_EI, EIN_FWD_INORM, EIN_BWD_NONE },
    { "step_inorm_gn.txt", EIN_LAYER_EI, EIN_FWD_INORM, EIN_BWD_FULL },
    { "step_center.txt", EIN_LAYER_EI, EIN_FWD_INORM, EIN_BWD_CENTER },
    { "step_scale.txt", EIN_LAYER_EI, EIN_FWD_INORM, EIN_BWD_SCALE },
    { "step_decorrelate.txt", EIN_LAYER_EI, EIN_FWD_INORM, EIN_BWD_DECORRELATE },
    { "step_fa_center.txt", EIN_LAYER_EI, EIN_FWD_INORM, EIN_BWD_FA_CENTER },
};

static const char *const layer_names[] = { "L0", "L1", "out" };
static const char *const param_names[] = { "W_ex", "W_ix", "W_ei", "B_ix", "B_ei", "b" };

/* `fused`: the training path, plain SGD inside the weight-gradient GEMMs
 * (ein_optim_backward_step); otherwise backward, then the optimizer step. */
static void reference_step_run(int _i, bool fused)
{
    char path[256];
    snprintf(path, sizeof path, REF_DIR "%s", step_cases[_i].file);
    ref_file *f = ref_load(path);
    ck_assert_msg(f != NULL, "cannot read %s", path);
    const ref_entry *x_ref = ref_get(f, "x");
    int batch = x_ref->rows, n_in = x_ref->cols;

    ein_cell_config cfg;
    ein_config_defaults(&cfg);
    cfg.n_hidden = 2;
    for (int l = 0; l < 2; l++) {
        cfg.hidden[l].ne = 6;
        cfg.hidden[l].kind = step_cases[_i].kind;
        cfg.hidden[l].fwd = step_cases[_i].fwd;
        cfg.hidden[l].bwd = step_cases[_i].bwd;
    }
    double lr = ref_get(f, "lr")->v[0], lr_wei = ref_get(f, "lr_wei")->v[0], lr_wix = ref_get(f, "lr_wix")->v[0];
    cfg.train.lr[EIN_GROUP_WEX] = cfg.train.lr[EIN_GROUP_BIAS] = lr;
    cfg.train.lr[EIN_GROUP_WIX] = cfg.train.lr[EIN_GROUP_BIX] = lr_wix;
    cfg.train.lr[EIN_GROUP_WEI] = cfg.train.lr[EIN_GROUP_BEI] = lr_wei;
    if (step_cases[_i].fwd == EIN_FWD_INORM) {
        cfg.losses[cfg.n_losses++] = (ein_loss_config){ .kind = EIN_LOSS_INORM, .name = "inorm",
                                                        .weight = ref_get(f, "lambda")->v[0],
                                                        .groups = EIN_GROUPS_DEFAULT };
    }
    ein_model *m = NULL;
    ein_err err = { 0 };
    ck_assert_msg(ein_model_build(&cfg, n_in, 10, batch, false, &m, &err) == EIN_OK, "%s", err.msg);

    char name[64];
    for (int l = 0; l < 3; l++)
        for (int p = 0; p < 6; p++) {
            snprintf(name, sizeof name, "before.%s.%s", layer_names[l], param_names[p]);
            ein_node *node = ein_model_param(m, name + 7);
            if (ref_get(f, name) == NULL) {
                ck_assert_msg(node == NULL, "model has %s, the reference does not", name + 7);
                continue;
            }
            load(f, name, node);
        }
    if (step_cases[_i].bwd == EIN_BWD_FA_CENTER)
        for (int l = 0; l < 2; l++) {
            snprintf(name, sizeof name, "%s.fa_w", layer_names[l]);
            ck_assert(ref_copy(f, name, m->hidden[l].gradnorm->aux, 1, 6) == 0);
        }
    load(f, "x", m->x);
    const ref_entry *y = ref_get(f, "y");
    int32_t *labels = ein_graph_labels(m->graph);
    for (int b = 0; b < batch; b++)
        labels[b] = (int32_t)y->v[b];

    ein_group_settings groups[EIN_GROUP_COUNT];
    ein_group_settings_from_config(&m->cfg.train, groups);
    ein_optim *opt = ein_optim_new(m->graph, EIN_OPT_SGD, groups, 0.9, 0.999, 1e-8, &err);
    ck_assert(opt != NULL);

    ein_graph_forward(m->graph, m->train_plan);
    expect_close(f, "logits", m->logits->val, batch, 10);
    expect_close(f, "task_loss", m->task_loss->val, 1, 1);
    if (fused) {
        /* every weight matrix that learns: W_ex, W_ix, W_ei (B_ix for I-Norm,
         * whose W_ei is frozen) of the two hidden layers and the output */
        ck_assert_int_eq(ein_optim_n_fused(opt), step_cases[_i].kind == EIN_LAYER_E_ONLY ? 2 + 3 : 9);
        ein_optim_backward_step(opt);
    } else {
        ein_graph_backward(m->graph);
        ein_optim_step(opt);
    }
    for (int l = 0; l < 3; l++)
        for (int p = 0; p < 6; p++) {
            snprintf(name, sizeof name, "after.%s.%s", layer_names[l], param_names[p]);
            if (ref_get(f, name) == NULL)
                continue;
            ein_node *node = ein_model_param(m, name + 6);
            expect_close(f, name, node->val, node->rows, node->cols);
        }
    ein_optim_free(opt);
    ein_model_free(m);
    ref_free(f);
}

START_TEST(reference_step) { reference_step_run(_i, false); }
END_TEST

START_TEST(reference_step_fused) { reference_step_run(_i, true); }
END_TEST

/* Every reference file has its test: a file added to the folder without a
 * case here would otherwise be silently ignored. */
START_TEST(every_file_has_a_case)
{
    DIR *dir = opendir(REF_DIR);
    ck_assert_msg(dir != NULL, "cannot open " REF_DIR);
    int files = 0;
    for (struct dirent *e; (e = readdir(dir)) != NULL;) {
        size_t len = strlen(e->d_name);
        if (len < 4 || strcmp(e->d_name + len - 4, ".txt") != 0)
            continue;
        bool found = false;
        for (size_t k = 0; k < sizeof layer_cases / sizeof layer_cases[0]; k++)
            found |= strcmp(layer_cases[k].file, e->d_name) == 0;
        for (size_t k = 0; k < sizeof step_cases / sizeof step_cases[0]; k++)
            found |= strcmp(step_cases[k].file, e->d_name) == 0;
        ck_assert_msg(found, REF_DIR "%s has no test", e->d_name);
        files++;
    }
    closedir(dir);
    ck_assert_int_eq(files, (int)(sizeof layer_cases / sizeof layer_cases[0] + sizeof step_cases / sizeof step_cases[0]));
}
END_TEST

Suite *ein_test_suite(void)
{
    Suite *s = suite_create("reference");
    TCase *tc = tcase_create("paper implementation");
    tcase_add_loop_test(tc, reference_layer, 0, (int)(sizeof layer_cases / sizeof layer_cases[0]));
    tcase_add_loop_test(tc, reference_step, 0, (int)(sizeof step_cases / sizeof step_cases[0]));
    tcase_add_loop_test(tc, reference_step_fused, 0, (int)(sizeof step_cases / sizeof step_cases[0]));
    tcase_add_test(tc, every_file_has_a_case);
    suite_add_tcase(s, tc);
    return s;
}
