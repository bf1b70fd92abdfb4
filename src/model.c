/* model.c — the paper's E/I network as an engine graph (include/ein/model.h).
 * Every equation is composed from ops.h; the tags (M1...) cite model.md. */
#include "ein/model.h"
#include "ein/linalg.h"
#include "ein/ops.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static bool is_inorm(ein_fwd_norm f) { return f == EIN_FWD_INORM || f == EIN_FWD_INORM_SUB; }

static ein_node *param(ein_graph *g, const char *prefix, const char *name, int rows, int cols, ein_group group)
{
    char full[64];
    snprintf(full, sizeof full, "%s.%s", prefix, name);
    return ein_graph_param(g, full, rows, cols, group);
}

/* (M1) z = x W_exᵀ − (x W_ixᵀ) W_eiᵀ + b */
static ein_node *ei_linear(ein_graph *g, ein_layer *L, ein_node *x)
{
    ein_node *h = ein_matmul(g, x, L->W_ex, false, true);
    ein_node *inhib = ein_matmul(g, ein_matmul(g, x, L->W_ix, false, true), L->W_ei, false, true);
    return ein_add(g, ein_sub(g, h, inhib), L->b);
}

static ein_norm_mode norm_mode(ein_fwd_norm f)
{
    switch (f) {
    case EIN_FWD_CENTER: return EIN_NORM_CENTER;
    case EIN_FWD_SCALE: return EIN_NORM_SCALE;
    case EIN_FWD_LAYERNORM_FWD: return EIN_NORM_LAYERNORM_FWD;
    default: return EIN_NORM_LAYERNORM;
    }
}

/* The two drives of an I-Norm layer, shared by both variants: the excitatory
 * h_E = x W_exᵀ + b (M4a) and the subtractive i = (sg(x) W_ixᵀ) W_eiᵀ (M4b). */
static void inorm_drives(ein_graph *g, ein_layer *L, ein_node *x, ein_node **h, ein_node **i)
{
    *h = ein_add(g, ein_matmul(g, x, L->W_ex, false, true), L->b);
    *i = ein_matmul(g, ein_matmul(g, ein_stop_grad(g, x), L->W_ix, false, true), L->W_ei, false, true);
}

/* (M8) B_ei is frozen in the cell or not among the layer's learning groups:
 * nothing ever moves it from its uniform initialisation (M4). */
static bool bei_fixed(const ein_layer *L)
{
    return L->bei_frozen || !(L->cfg.inhib_learn >> EIN_GROUP_BEI & 1u);
}

/* (M4) full I-Norm: returns z; sets L->local_loss (M5) */
static ein_node *inorm_full(ein_graph *g, ein_layer *L, ein_node *x)
{
    ein_node *h, *i;
    inorm_drives(g, L, x, &h, &i);
    ein_node *xs = ein_stop_grad(g, x);
    ein_node *s = ein_matmul(g, xs, L->B_ix, false, true);
    /* (M4c) d = sqrt(s² B_eiᵀ + ε).  A B_ei that never learns keeps its uniform
     * initialisation 1/ne, so d is one number per example: no ne × ne GEMM. */
    ein_node *mix = bei_fixed(L) ? ein_squares_uniform(g, s, L->B_ei)
                                 : ein_matmul(g, ein_square(g, s), L->B_ei, false, true);
    ein_node *d = ein_sqrt(g, ein_add_scalar(g, mix, EIN_LN_EPS));
    ein_node *z = ein_sub_div(g, h, ein_stop_grad(g, i), ein_stop_grad(g, d));                   /* (M4d) */
    /* (M5) u = (sg(h_E) − i) / d; L = mean_b(mean(u)² + (var(u) − 1)²) */
    ein_node *u = ein_sub_div(g, ein_stop_grad(g, h), i, d);
    L->local_loss = ein_mean(g, ein_moment_penalty(g, u, 0.0, 1.0));
    return z;
}

/* (M5) subtractive-only I-Norm: z = h_E − sg(i); L = mean_b(mean(sg(h_E) − i)²) */
static ein_node *inorm_sub(ein_graph *g, ein_layer *L, ein_node *x)
{
    ein_node *h, *i;
    inorm_drives(g, L, x, &h, &i);
    ein_node *z = ein_sub(g, h, ein_stop_grad(g, i));
    ein_node *u = ein_sub(g, ein_stop_grad(g, h), i);
    L->local_loss = ein_mean(g, ein_square(g, ein_row_mean(g, u)));
    return z;
}

/* (M6) fixed lateral weights w ~ U[0,1), normalized to sum 1, per layer. */
static void draw_fa_weights(uint64_t seed, int layer, int ne, double *w)
{
    ein_rng rng;
    ein_rng_init(&rng, seed, EIN_STREAM_SUB(EIN_STREAM_FA, layer));
    double total = 0;
    for (int k = 0; k < ne; k++)
        total += w[k] = ein_rng_uniform(&rng);
    for (int k = 0; k < ne; k++)
        w[k] = total > 0 ? w[k] / total : 1.0 / ne;
}

/* The M6 transform of layer `index` on z (NULL weights unless fa_center). */
static ein_node *grad_norm(ein_graph *g, uint64_t seed, int index, const ein_layer *L, ein_node *z)
{
    double *w = NULL;
    if (L->cfg.bwd == EIN_BWD_FA_CENTER) {
        w = malloc((size_t)L->cfg.ne * sizeof *w);
        if (w == NULL) {
            ein_graph_fail(g, "out of memory");
            return NULL;
        }
        draw_fa_weights(seed, index, L->cfg.ne, w);
    }
    ein_node *y = ein_grad_transform(g, z, L->cfg.bwd, w, EIN_LN_EPS);
    free(w);
    return y;
}

void ein_layer_build_alignment(ein_graph *g, ein_layer *L)
{
    ein_node *z = L->z;
    L->out_ln = ein_relu(g, ein_rownorm(g, z, EIN_NORM_LAYERNORM, EIN_LN_EPS));
    L->out_relu = ein_relu(g, z);
    /* (M9) for fa_center the reference branch is the paper's `mean_norm`: ReLU of z itself
     * (identity forward, so z's own ReLU mask) with centering as its backward — not
     * ReLU(z − mean z), whose mask differs wherever 0 < z < mean z or mean z < z < 0 */
    if (L->cfg.bwd == EIN_BWD_FA_CENTER)
        L->align_ref = ein_sum(g, ein_relu(g, ein_grad_transform(g, z, EIN_BWD_CENTER, NULL,
                                                                 EIN_LN_EPS)));
    else
        L->align_ref = ein_sum(g, ein_relu(g, ein_rownorm(g, z, EIN_NORM_LAYERNORM, EIN_LN_EPS)));
    if (L->gradnorm == NULL)
        L->align_op = ein_sum(g, L->out_relu);
    else       /* G is the layer's own transform: same map, same fa_center weights */
        L->align_op = ein_sum(g, ein_relu(g, ein_grad_transform_like(g, z, L->gradnorm)));
}

ein_node *ein_layer_build(ein_graph *g, ein_layer *L, int index, const char *prefix,
                          ein_node *x, int n_in, uint64_t seed)
{
    const ein_layer_config *c = &L->cfg;
    L->n_in = n_in;
    ein_graph_set_where(g, c->where[0] ? c->where : NULL);
    L->W_ex = param(g, prefix, "W_ex", c->ne, n_in, EIN_GROUP_WEX);
    L->b = param(g, prefix, "b", 1, c->ne, EIN_GROUP_BIAS);
    if (c->kind == EIN_LAYER_EI) {
        L->W_ix = param(g, prefix, "W_ix", c->ni, n_in, EIN_GROUP_WIX);
        L->W_ei = param(g, prefix, "W_ei", c->ne, c->ni, EIN_GROUP_WEI);
    }
    if (c->fwd == EIN_FWD_INORM) {
        if (n_in < c->ne) {
            ein_graph_fail(g, "I-Norm needs at least as many inputs as excitatory units "
                              "(n_in %d < ne %d) for its divisive initialisation (M4)", n_in, c->ne);
            return NULL;
        }
        L->B_ix = param(g, prefix, "B_ix", c->ne, n_in, EIN_GROUP_BIX);
        L->B_ei = param(g, prefix, "B_ei", c->ne, c->ne, EIN_GROUP_BEI);
    }

    ein_node *z, *normed;
    if (c->kind == EIN_LAYER_E_ONLY) {                      /* (M3) z = x W_exᵀ + b */
        z = ein_add(g, ein_matmul(g, x, L->W_ex, false, true), L->b);
        normed = ein_rownorm(g, z, norm_mode(c->fwd == EIN_FWD_NONE ? EIN_FWD_LAYERNORM : c->fwd), EIN_LN_EPS);
    } else if (c->fwd == EIN_FWD_INORM) {
        normed = z = inorm_full(g, L, x);
    } else if (c->fwd == EIN_FWD_INORM_SUB) {
        normed = z = inorm_sub(g, L, x);
    } else {
        z = ei_linear(g, L, x);
        normed = c->fwd == EIN_FWD_NONE ? z : ein_rownorm(g, z, norm_mode(c->fwd), EIN_LN_EPS);
    }
    L->z = z;
    ein_node *y = normed;
    if (c->bwd != EIN_BWD_NONE)
        y = L->gradnorm = grad_norm(g, seed, index, L, normed);
    L->out = c->act == EIN_ACT_RELU ? ein_relu(g, y) : y;
    return L->out;
}

/* (M8) Inhibitory parameters of hidden I-Norm layers that do not learn get no
 * gradient from any loss; everything else is routed by the losses' group masks
 * and by the stop-gradients of M4/M5. */
void ein_layer_route(ein_layer *L)
{
    if (!is_inorm(L->cfg.fwd))
        return;
    unsigned learn = L->cfg.inhib_learn;
    ein_node *nodes[4] = { L->W_ix, L->B_ix, L->W_ei, L->B_ei };
    ein_group groups[4] = { EIN_GROUP_WIX, EIN_GROUP_BIX, EIN_GROUP_WEI, EIN_GROUP_BEI };
    for (int k = 0; k < 4; k++)
        if (nodes[k] != NULL && !(learn >> groups[k] & 1u))
            ein_node_route(nodes[k], 0);
}

static unsigned loss_groups(unsigned groups)
{
    return groups == EIN_GROUPS_DEFAULT ? EIN_GROUPS_ALL : groups;
}

/* Doubles, so widths near INT_MAX cannot wrap the estimate itself.  Per
 * layer: W_ex, W_ix, W_ei and biases, each with its gradient and up to two
 * optimizer moments (Adam); activations of the larger evaluation batch, about
 * eight buffers of the layer's width per row, each with a gradient. */
ein_code ein_model_check_size(const ein_cell_config *cfg, int n_in, double *bytes, ein_err *err)
{
    double params = 0, acts = 0, biggest = 0, in = n_in;
    int batch = cfg->train.batch > 256 ? cfg->train.batch : 256;
    for (int l = 0; l <= cfg->n_hidden; l++) {
        const ein_layer_config *L = l < cfg->n_hidden ? &cfg->hidden[l] : &cfg->output;
        double ne = L->ne, ni = L->ni > 0 ? L->ni : 1;
        double m[3] = { ne * in, ni * in, ne * ni };
        for (int k = 0; k < 3; k++)
            if (m[k] > biggest)
                biggest = m[k];
        params += m[0] + m[1] + m[2] + ne + ni;
        acts += (double)batch * (ne + ni) * 8;
        in = ne;
    }
    *bytes = (params * 4 + acts * 2) * (double)sizeof(ein_real);
    if (biggest > (double)INT_MAX)
        return ein_err_set(err, EIN_ERR_NOMEM, "a weight matrix of %.3g entries (more than %d): the widths are too large",
                           biggest, INT_MAX);
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    double phys = pages > 0 && page > 0 ? (double)pages * (double)page : 0;
    if (phys > 0 && *bytes > phys)
        return ein_err_set(err, EIN_ERR_NOMEM, "a cell needs about %.3g GB (%.3g weights), more than this machine's %.3g GB",
                           *bytes / 1e9, params, phys / 1e9);
    return EIN_OK;
}

ein_code ein_model_build(const ein_cell_config *cfg_in, int n_in, int n_classes, int cap_batch,
                         bool want_grad_x, ein_model **out, ein_err *err)
{
    *out = NULL;
    ein_model *m = calloc(1, sizeof *m);
    if (m == NULL)
        return ein_err_set(err, EIN_ERR_NOMEM, "out of memory building the model");
    m->cfg = *cfg_in;
    ein_config_resolve(&m->cfg);
    m->n_in = n_in;
    m->n_classes = n_classes;
    m->cap_batch = cap_batch;
    m->task_index = m->inorm_index = -1;
    m->graph = ein_graph_new(cap_batch);
    if (m->graph == NULL) {
        free(m);
        return ein_err_set(err, EIN_ERR_NOMEM, "out of memory building the model");
    }
    ein_graph *g = m->graph;
    if (m->cfg.train.batch > 0 && m->cfg.train.batch < cap_batch)   /* eval batches need no gradients */
        ein_graph_set_grad_rows(g, m->cfg.train.batch);
    if (m->cfg.output.ne != n_classes) {
        ein_err_set(err, EIN_ERR_LANG, "%s%soutput layer has %d units but the data has %d classes",
                    m->cfg.output.where, m->cfg.output.where[0] ? ": " : "", m->cfg.output.ne, n_classes);
        ein_model_free(m);
        return EIN_ERR_LANG;
    }

    m->x = ein_graph_input(g, "x", n_in);
    if (m->x != NULL)
        m->x->requires_grad = want_grad_x;
    ein_node *h = m->x;
    int width = n_in;
    m->n_hidden = m->cfg.n_hidden;
    for (int l = 0; l < m->n_hidden; l++) {
        char prefix[16];
        snprintf(prefix, sizeof prefix, "L%d", l);
        m->hidden[l].cfg = m->cfg.hidden[l];
        m->hidden[l].bei_frozen = m->cfg.train.frozen[EIN_GROUP_BEI];
        h = ein_layer_build(g, &m->hidden[l], l, prefix, h, width, m->cfg.train.seed);
        width = m->cfg.hidden[l].ne;
    }
    m->output.cfg = m->cfg.output;
    m->output.bei_frozen = m->cfg.train.frozen[EIN_GROUP_BEI];
    m->logits = ein_layer_build(g, &m->output, m->n_hidden, "out", h, width, m->cfg.train.seed);

    /* losses (M5, M7) */
    ein_graph_set_where(g, NULL);
    ein_node *outputs[2 + 4 * EIN_MAX_HIDDEN + 2];
    int n_out = 0;
    for (int k = 0; k < m->cfg.n_losses; k++) {
        const ein_loss_config *lc = &m->cfg.losses[k];
        ein_graph_set_where(g, lc->where[0] ? lc->where : NULL);
        if (lc->kind == EIN_LOSS_TASK && m->task_loss == NULL) {
            m->task_loss = ein_softmax_ce(g, m->logits, lc->label_smoothing);
            m->task_index = ein_graph_add_loss(g, m->task_loss, lc->weight, loss_groups(lc->groups));
            outputs[n_out++] = m->task_loss;
        } else if (lc->kind == EIN_LOSS_INORM && m->inorm_loss == NULL) {
            ein_node *total = NULL;
            for (int l = 0; l < m->n_hidden; l++)
                if (m->hidden[l].local_loss != NULL)
                    total = total == NULL ? m->hidden[l].local_loss : ein_add(g, total, m->hidden[l].local_loss);
            if (total != NULL) {
                m->inorm_loss = total;
                m->inorm_index = ein_graph_add_loss(g, total, lc->weight, loss_groups(lc->groups));
                outputs[n_out++] = total;
            }
        }
    }
    for (int l = 0; l < m->n_hidden; l++)
        ein_layer_route(&m->hidden[l]);

    ein_graph_set_where(g, NULL);
    unsigned metrics = m->cfg.metrics;
    bool align = metrics & ((1u << EIN_METRIC_COS_LN_OUT) | (1u << EIN_METRIC_COS_LN_GRAD));
    ein_node *eval_out[2 + EIN_MAX_HIDDEN];
    int n_eval = 0;
    eval_out[n_eval++] = m->logits;
    if (m->task_loss != NULL)
        eval_out[n_eval++] = m->task_loss;
    for (int l = 0; l < m->n_hidden; l++)
        eval_out[n_eval++] = m->hidden[l].z;
    ein_node *align_out[4 * EIN_MAX_HIDDEN + 1];
    int n_align = 0;
    if (align) {
        for (int l = 0; l < m->n_hidden; l++) {
            ein_layer *L = &m->hidden[l];
            ein_layer_build_alignment(g, L);
            align_out[n_align++] = L->out_ln;
            align_out[n_align++] = L->out_relu;
            align_out[n_align++] = L->align_ref;
            align_out[n_align++] = L->align_op;
        }
    }
    if (n_out == 0)
        outputs[n_out++] = m->logits;
    m->train_plan = ein_graph_plan(g, outputs, n_out);
    m->eval_plan = ein_graph_plan(g, eval_out, n_eval);
    m->align_plan = align ? ein_graph_plan(g, align_out, n_align) : NULL;

    ein_code rc = ein_graph_compile(g, err);
    if (rc != EIN_OK) {
        ein_model_free(m);
        return rc;
    }
    *out = m;
    return EIN_OK;
}

void ein_model_free(ein_model *m)
{
    if (m == NULL)
        return;
    ein_graph_free(m->graph);
    free(m);
}

ein_node *ein_model_param(const ein_model *m, const char *name)
{
    int n = ein_graph_n_nodes(m->graph);
    for (int i = 0; i < n; i++) {
        ein_node *node = ein_graph_nodes(m->graph, i);
        if (node->kind == EIN_NODE_PARAM && node->name != NULL && strcmp(node->name, name) == 0)
            return node;
    }
    return NULL;
}

/* ---- initialisation (M2, M4) ----------------------------------------------- */

static double draw_positive(ein_rng *rng, ein_init kind, double s)
{
    if (kind == EIN_INIT_EXPONENTIAL)          /* mean s, variance s² */
        return ein_rng_exponential(rng, 1.0 / s);
    /* lognormal with mean s and variance s²: μ = ln(s/√2), σ = sqrt(ln 2) (M2) */
    return ein_rng_lognormal(rng, log(s / sqrt(2.0)), sqrt(log(2.0)));
}

ein_code ein_layer_init(ein_layer *L, int index, uint64_t seed, ein_err *err)
{
    ein_rng rng;
    ein_rng_init(&rng, seed, EIN_STREAM_SUB(EIN_STREAM_INIT, index));
    int ne = L->cfg.ne, n_in = L->n_in;
    double s = ne > 1 ? sqrt(2.0 * ne / ((double)n_in * (ne - 1))) : sqrt(2.0 / n_in);
    for (size_t k = 0; k < (size_t)ne * n_in; k++)
        L->W_ex->val[k] = (ein_real)draw_positive(&rng, L->cfg.init, s);
    memset(L->b->val, 0, (size_t)ne * sizeof(ein_real));
    if (L->W_ix == NULL)
        return EIN_OK;
    int ni = L->cfg.ni;
    for (int r = 0; r < ne; r++) {            /* W_ei rows sum to 1 */
        ein_real *row = L->W_ei->val + (size_t)r * ni;
        double total = 0;
        for (int c = 0; c < ni; c++)
            total += row[c] = (ein_real)draw_positive(&rng, L->cfg.init, s);
        for (int c = 0; c < ni; c++)
            row[c] = (ein_real)(row[c] / total);
    }
    for (int c = 0; c < n_in; c++) {          /* every W_ix row = column mean of W_ex */
        double mean = 0;
        for (int r = 0; r < ne; r++)
            mean += L->W_ex->val[(size_t)r * n_in + c];
        mean /= ne;
        for (int r = 0; r < ni; r++)
            L->W_ix->val[(size_t)r * n_in + c] = (ein_real)mean;
    }
    if (L->B_ix == NULL)
        return EIN_OK;
    /* (M4) B_ix = diag(S) Vᵀ from the SVD W₀ = U S Vᵀ of W₀ = W_ex − W_ei W_ix
     * (computed in double from the values the network uses); B_ei = 1/ne, so
     * d = sqrt(‖B_ix x‖²/ne + ε) = sqrt(‖W₀ x‖²/ne + ε) = the std of x W₀ᵀ, whose
     * rows are centred at init (M2): z = layernorm(x W_exᵀ). */
    double *w0 = malloc((size_t)ne * (size_t)n_in * sizeof *w0);
    if (w0 == NULL)
        return ein_err_set(err, EIN_ERR_NOMEM, "%s%sout of memory for the I-Norm initialisation",
                           L->cfg.where, L->cfg.where[0] ? ": " : "");
    for (int r = 0; r < ne; r++)
        for (int c = 0; c < n_in; c++) {
            double inhib = 0;
            for (int k = 0; k < ni; k++)
                inhib += (double)L->W_ei->val[(size_t)r * ni + k] * L->W_ix->val[(size_t)k * n_in + c];
            w0[(size_t)r * n_in + c] = (double)L->W_ex->val[(size_t)r * n_in + c] - inhib;
        }
    ein_code rc = ein_svd_rows(w0, ne, n_in, NULL, err);
    if (rc == EIN_OK)
        for (size_t k = 0; k < (size_t)ne * n_in; k++)
            L->B_ix->val[k] = (ein_real)w0[k];
    free(w0);
    for (size_t k = 0; k < (size_t)ne * ne; k++)
        L->B_ei->val[k] = (ein_real)(1.0 / ne);
    return rc;
}

ein_code ein_model_init(ein_model *m, ein_err *err)
{
    for (int l = 0; l < m->n_hidden; l++) {
        ein_code rc = ein_layer_init(&m->hidden[l], l, m->cfg.train.seed, err);
        if (rc != EIN_OK)
            return rc;
    }
    return ein_layer_init(&m->output, m->n_hidden, m->cfg.train.seed, err);
}

/* ---- numpy .npy output ------------------------------------------------------- */

static ein_code write_npy(const char *path, const ein_node *n, ein_err *err)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        return ein_err_set(err, EIN_ERR_IO, "%s: %s", path, strerror(errno));
    char dict[128];
    int len;
    const char *descr = sizeof(ein_real) == 8 ? "<f8" : "<f4";
    if (n->rows == 1)
        len = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (%d,), }", descr, n->cols);
    else
        len = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (%d, %d), }",
                       descr, n->rows, n->cols);
    int total = 10 + len + 1;                  /* magic(6) ver(2) hlen(2) dict '\n' */
    int pad = (64 - total % 64) % 64;
    int hlen = len + pad + 1;
    unsigned char head[10] = { 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0,
                               (unsigned char)(hlen & 0xff), (unsigned char)(hlen >> 8) };
    bool ok = fwrite(head, 1, sizeof head, f) == sizeof head && fwrite(dict, 1, (size_t)len, f) == (size_t)len;
    for (int i = 0; ok && i < pad; i++)
        ok = fputc(' ', f) != EOF;
    ok = ok && fputc('\n', f) != EOF;
    size_t count = (size_t)n->rows * (size_t)n->cols;
    ok = ok && fwrite(n->val, sizeof(ein_real), count, f) == count;
    if (fclose(f) != 0 || !ok)
        return ein_err_set(err, EIN_ERR_IO, "%s: write failed: %s", path, strerror(errno ? errno : EIO));
    return EIN_OK;
}

ein_code ein_model_save_npy(const ein_model *m, const char *dir, ein_err *err)
{
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        return ein_err_set(err, EIN_ERR_IO, "%s: %s", dir, strerror(errno));
    int n = ein_graph_n_nodes(m->graph);
    for (int i = 0; i < n; i++) {
        const ein_node *node = ein_graph_nodes(m->graph, i);
        if (node->kind != EIN_NODE_PARAM)
            continue;
        char path[EIN_PATH_MAX + 80];
        snprintf(path, sizeof path, "%s/%s.npy", dir, node->name);
        ein_code rc = write_npy(path, node, err);
        if (rc != EIN_OK)
            return rc;
    }
    return EIN_OK;
}
