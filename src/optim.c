/* optim.c — SGD (momentum, decoupled weight decay), Adam, sign clamps (model.md M8). */
#include "ein/optim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct param_state {
    ein_node *node;
    ein_group_settings s;   /* its group's settings, unless given its own (per-layer settings) */
    ein_real *m, *v;        /* momentum / Adam first moment; Adam second moment */
    bool fused;             /* plain SGD inside its gradient GEMM (ein_optim_backward_step) */
} param_state;

struct ein_optim {
    ein_graph *graph;
    int n_fused;
    ein_optimizer kind;
    ein_group_settings group[EIN_GROUP_COUNT];
    double beta1, beta2, eps;
    long t;                 /* Adam step count */
    int n;
    param_state *params;
    ein_real *state;        /* one block for every m and v */
};

static bool is_inhibitory(ein_group g)
{
    return g == EIN_GROUP_WIX || g == EIN_GROUP_BIX || g == EIN_GROUP_WEI || g == EIN_GROUP_BEI;
}

void ein_group_settings_from_config(const ein_train_config *t, ein_group_settings out[EIN_GROUP_COUNT])
{
    for (int g = 0; g < EIN_GROUP_COUNT; g++) {
        bool inhib = is_inhibitory((ein_group)g);
        out[g].lr = t->lr[g];
        out[g].momentum = inhib && t->momentum_inhib >= 0 ? t->momentum_inhib : t->momentum;
        out[g].weight_decay = inhib ? 0 : t->weight_decay;
        out[g].frozen = t->frozen[g];
        out[g].clamp_nonneg = t->clamp && g != EIN_GROUP_BIAS && g != EIN_GROUP_BIX;
    }
}

/* Plain SGD (no momentum, no decay, not frozen) on a parameter whose
 * gradient is one GEMM (graph.h) is done inside that GEMM. */
static void mark_fused(ein_optim *opt, param_state *ps)
{
    ein_node *n = ps->node;
    const ein_group_settings *gs = &ps->s;
    if (opt->kind != EIN_OPT_SGD || gs->momentum != 0 || gs->weight_decay != 0 || gs->frozen ||
        n->loss_route == 0 || !(gs->lr > 0) || !ein_graph_fusable(opt->graph, n))
        return;
    ps->fused = true;
    n->fused_lr = gs->lr;
    n->fused_clamp = gs->clamp_nonneg;
    opt->n_fused++;
}

ein_optim *ein_optim_new(ein_graph *g, ein_optimizer kind, const ein_group_settings groups[EIN_GROUP_COUNT],
                         double adam_beta1, double adam_beta2, double adam_eps, ein_err *err)
{
    ein_optim *opt = calloc(1, sizeof *opt);
    if (opt == NULL) {
        ein_err_set(err, EIN_ERR_NOMEM, "out of memory creating the optimizer");
        return NULL;
    }
    opt->kind = kind;
    opt->graph = g;
    memcpy(opt->group, groups, sizeof opt->group);
    opt->beta1 = adam_beta1;
    opt->beta2 = adam_beta2;
    opt->eps = adam_eps;
    int n_nodes = ein_graph_n_nodes(g);
    size_t total = 0;
    for (int i = 0; i < n_nodes; i++) {
        ein_node *n = ein_graph_nodes(g, i);
        if (n->kind == EIN_NODE_PARAM) {
            opt->n++;
            total += (size_t)n->rows * (size_t)n->cols;
        }
    }
    opt->params = calloc((size_t)opt->n + 1, sizeof *opt->params);
    int per_param = kind == EIN_OPT_ADAM ? 2 : 1;
    opt->state = calloc(total * (size_t)per_param + 1, sizeof(ein_real));
    if (opt->params == NULL || opt->state == NULL) {
        ein_optim_free(opt);
        ein_err_set(err, EIN_ERR_NOMEM, "out of memory creating the optimizer");
        return NULL;
    }
    ein_real *p = opt->state;
    int k = 0;
    for (int i = 0; i < n_nodes; i++) {
        ein_node *n = ein_graph_nodes(g, i);
        if (n->kind != EIN_NODE_PARAM)
            continue;
        size_t len = (size_t)n->rows * (size_t)n->cols;
        opt->params[k].node = n;
        opt->params[k].s = opt->group[n->group];
        opt->params[k].m = p;
        p += len;
        if (kind == EIN_OPT_ADAM) {
            opt->params[k].v = p;
            p += len;
        }
        mark_fused(opt, &opt->params[k]);
        k++;
    }
    return opt;
}

bool ein_optim_set_param(ein_optim *opt, const ein_node *node, const ein_group_settings *s)
{
    for (int k = 0; k < opt->n; k++) {
        param_state *ps = &opt->params[k];
        if (ps->node != node)
            continue;
        if (ps->fused) {   /* decide again with the new settings */
            ps->fused = false;
            ps->node->fused_lr = 0;
            ps->node->fused_clamp = false;
            opt->n_fused--;
        }
        ps->s = *s;
        mark_fused(opt, ps);
        return true;
    }
    return false;
}

const ein_group_settings *ein_optim_param(const ein_optim *opt, const ein_node *node)
{
    for (int k = 0; k < opt->n; k++)
        if (opt->params[k].node == node)
            return &opt->params[k].s;
    return NULL;
}

void ein_optim_free(ein_optim *opt)
{
    if (opt == NULL)
        return;
    for (int k = 0; k < opt->n; k++)
        if (opt->params[k].fused) {
            opt->params[k].node->fused_lr = 0;
            opt->params[k].node->fused_clamp = false;
        }
    free(opt->params);
    free(opt->state);
    free(opt);
}

static void clamp_param(ein_node *n)
{
    size_t len = (size_t)n->rows * (size_t)n->cols;
    for (size_t i = 0; i < len; i++)
        n->val[i] = n->val[i] > 0 ? n->val[i] : 0;
}

/* The update of every parameter from its gradient; with `skip_fused`, the
 * parameters a fused backward already moved and clamped are left alone. */
static void step(ein_optim *opt, bool skip_fused)
{
    opt->t++;
    double bc1 = 1 - pow(opt->beta1, (double)opt->t), bc2 = 1 - pow(opt->beta2, (double)opt->t);
    for (int k = 0; k < opt->n; k++) {
        param_state *ps = &opt->params[k];
        ein_node *n = ps->node;
        const ein_group_settings *gs = &ps->s;
        if (gs->frozen || n->loss_route == 0)
            continue;
        if (skip_fused && ps->fused)
            continue;   /* its GEMM clamped it as it stored it (ein_gemm_clamped) */
        size_t len = (size_t)n->rows * (size_t)n->cols;
        ein_real *w = n->val;
        const ein_real *grad = n->grad;
        ein_real lr = (ein_real)gs->lr;
        if (gs->weight_decay != 0) {
            ein_real shrink = (ein_real)(1 - gs->lr * gs->weight_decay);
            for (size_t i = 0; i < len; i++)
                w[i] *= shrink;
        }
        if (opt->kind == EIN_OPT_ADAM) {
            ein_real b1 = (ein_real)opt->beta1, b2 = (ein_real)opt->beta2;
            for (size_t i = 0; i < len; i++) {
                ps->m[i] = b1 * ps->m[i] + (1 - b1) * grad[i];
                ps->v[i] = b2 * ps->v[i] + (1 - b2) * grad[i] * grad[i];
                double mhat = ps->m[i] / bc1, vhat = ps->v[i] / bc2;
                w[i] -= (ein_real)(gs->lr * mhat / (sqrt(vhat) + opt->eps));
            }
            if (gs->clamp_nonneg)
                clamp_param(n);
        } else if (gs->momentum != 0) {
            ein_real mu = (ein_real)gs->momentum;
            for (size_t i = 0; i < len; i++) {
                ps->m[i] = mu * ps->m[i] + grad[i];
                w[i] -= lr * ps->m[i];
            }
            if (gs->clamp_nonneg)
                clamp_param(n);
        } else if (gs->clamp_nonneg) {       /* the paper's case: one fused pass */
            for (size_t i = 0; i < len; i++) {
                ein_real v = w[i] - lr * grad[i];
                w[i] = v > 0 ? v : 0;
            }
        } else {
            for (size_t i = 0; i < len; i++)
                w[i] -= lr * grad[i];
        }
    }
}

void ein_optim_step(ein_optim *opt) { step(opt, false); }

void ein_optim_backward_step(ein_optim *opt)
{
    if (opt->n_fused == 0) {
        ein_graph_backward(opt->graph);
        step(opt, false);
        return;
    }
    ein_graph_backward_update(opt->graph);
    step(opt, true);
}

int ein_optim_n_fused(const ein_optim *opt) { return opt->n_fused; }

void ein_optim_clamp(ein_optim *opt)
{
    for (int k = 0; k < opt->n; k++)
        if (opt->group[opt->params[k].node->group].clamp_nonneg)
            clamp_param(opt->params[k].node);
}
