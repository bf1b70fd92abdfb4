/* check_optim.c — parameter groups and optimizers (model.md M8): SGD plain,
 * with momentum (torch convention), decoupled weight decay, Adam, two steps
 * each against numbers computed independently (pure python, float64); the
 * Dale clamp after a step that would push weights negative; frozen groups and
 * unrouted parameters that never move; the M8 settings from a cell config. */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "ein/graph.h"
#include "ein/model.h"
#include "ein/ops.h"
#include "ein/optim.h"

#ifdef EIN_REAL_DOUBLE
#define TOL 1e-13
#else
#define TOL 2e-6
#endif

/* w0 = (1, −0.5, 2), gradients g1 then g2, lr 0.1; Adam β = (0.9, 0.999), ε = 1e-8;
 * decay 0.5 where named; momentum 0.9 where named. */
static const double W0[3] = { 1, -0.5, 2 };
static const double G1[3] = { 0.5, -1, 0.25 };
static const double G2[3] = { -0.2, 0.4, 1 };
static const double SGD_PLAIN[2][3] = { { 0.94999999999999996, -0.40000000000000002, 1.9750000000000001 }, { 0.96999999999999997, -0.44000000000000006, 1.875 } };
static const double SGD_MOMENTUM[2][3] = { { 0.94999999999999996, -0.40000000000000002, 1.9750000000000001 }, { 0.92499999999999993, -0.35000000000000003, 1.8525 } };
static const double SGD_DECAY[2][3] = { { 0.89999999999999991, -0.375, 1.875 }, { 0.87499999999999989, -0.39624999999999999, 1.6812499999999999 } };
static const double SGD_MOMENTUM_DECAY[2][3] = { { 0.89999999999999991, -0.375, 1.875 }, { 0.82999999999999985, -0.30624999999999997, 1.6587499999999999 } };
static const double ADAM[2][3] = { { 0.90000000199999997, -0.40000000099999999, 1.9000000039999998 }, { 0.86543941811651082, -0.36543941666262597, 1.8115623561554877 } };
static const double ADAM_DECAY[2][3] = { { 0.85000000199999992, -0.37500000099999997, 1.8000000039999997 }, { 0.77293941801651078, -0.32168941661262596, 1.6215623559554875 } };

typedef struct rig {
    ein_graph *g;
    ein_node *w;        /* group under test */
    ein_node *other;    /* a second group (bias) with its own settings */
    ein_optim *opt;
} rig;

static void settings_zero(ein_group_settings s[EIN_GROUP_COUNT])
{
    memset(s, 0, sizeof(ein_group_settings) * EIN_GROUP_COUNT);
}

static void rig_new(rig *r, ein_group group, ein_optimizer kind, const ein_group_settings s[EIN_GROUP_COUNT])
{
    r->g = ein_graph_new(1);
    r->w = ein_graph_param(r->g, "w", 1, 3, group);
    r->other = ein_graph_param(r->g, "o", 1, 3, group == EIN_GROUP_BIAS ? EIN_GROUP_WIX : EIN_GROUP_BIAS);
    ein_err err = { 0 };
    ck_assert_int_eq(ein_graph_compile(r->g, &err), EIN_OK);
    for (int i = 0; i < 3; i++) {
        r->w->val[i] = (ein_real)W0[i];
        r->other->val[i] = (ein_real)W0[i];
    }
    r->opt = ein_optim_new(r->g, kind, s, 0.9, 0.999, 1e-8, &err);
    ck_assert_msg(r->opt != NULL, "%s", err.msg);
}

static void rig_free(rig *r)
{
    ein_optim_free(r->opt);
    ein_graph_free(r->g);
}

static void set_grad(ein_node *n, const double *g)
{
    for (int i = 0; i < 3; i++)
        n->grad[i] = (ein_real)g[i];
}

static void expect_row(const ein_node *n, const double *want, const char *what, int step)
{
    for (int i = 0; i < 3; i++)
        ck_assert_msg(fabs(n->val[i] - want[i]) <= TOL * (1 + fabs(want[i])), "%s step %d [%d]: %.17g, expected %.17g",
                      what, step, i, (double)n->val[i], want[i]);
}

/* Two steps of one configuration on group wex; `other` (bias, lr 0) must not move. */
static void two_steps(ein_optimizer kind, double momentum, double decay, const double want[2][3], const char *what)
{
    ein_group_settings s[EIN_GROUP_COUNT];
    settings_zero(s);
    s[EIN_GROUP_WEX] = (ein_group_settings){ .lr = 0.1, .momentum = momentum, .weight_decay = decay };
    rig r;
    rig_new(&r, EIN_GROUP_WEX, kind, s);
    set_grad(r.w, G1);
    set_grad(r.other, G1);
    ein_optim_step(r.opt);
    expect_row(r.w, want[0], what, 1);
    set_grad(r.w, G2);
    set_grad(r.other, G2);
    ein_optim_step(r.opt);
    expect_row(r.w, want[1], what, 2);
    expect_row(r.other, W0, "lr-0 group", 2);
    rig_free(&r);
}

START_TEST(sgd_plain) { two_steps(EIN_OPT_SGD, 0, 0, SGD_PLAIN, "sgd"); }
END_TEST
START_TEST(sgd_momentum) { two_steps(EIN_OPT_SGD, 0.9, 0, SGD_MOMENTUM, "sgd momentum"); }
END_TEST
START_TEST(sgd_decay) { two_steps(EIN_OPT_SGD, 0, 0.5, SGD_DECAY, "sgd decay"); }
END_TEST
START_TEST(sgd_momentum_decay) { two_steps(EIN_OPT_SGD, 0.9, 0.5, SGD_MOMENTUM_DECAY, "sgd momentum decay"); }
END_TEST
START_TEST(adam_plain) { two_steps(EIN_OPT_ADAM, 0, 0, ADAM, "adam"); }
END_TEST
START_TEST(adam_decay) { two_steps(EIN_OPT_ADAM, 0, 0.5, ADAM_DECAY, "adam decay"); }
END_TEST

START_TEST(clamp_after_step)
{
    /* every update path: plain SGD (fused), momentum, Adam */
    static const double start[3] = { 0.05, 0.3, 1 }, grad[3] = { 1, -1, 0.5 };
    for (int path = 0; path < 3; path++) {
        ein_group_settings s[EIN_GROUP_COUNT];
        settings_zero(s);
        s[EIN_GROUP_WEI] = (ein_group_settings){ .lr = 0.1, .momentum = path == 1 ? 0.5 : 0, .clamp_nonneg = true };
        s[EIN_GROUP_BIAS] = (ein_group_settings){ .lr = 0.1 };   /* unconstrained: may go negative */
        rig r;
        rig_new(&r, EIN_GROUP_WEI, path == 2 ? EIN_OPT_ADAM : EIN_OPT_SGD, s);
        for (int i = 0; i < 3; i++)
            r.w->val[i] = r.other->val[i] = (ein_real)start[i];
        set_grad(r.w, grad);
        set_grad(r.other, grad);
        ein_optim_step(r.opt);
        ck_assert_msg(r.w->val[0] == 0, "path %d: %g", path, (double)r.w->val[0]);
        ck_assert(r.w->val[1] > (ein_real)0.3 && r.w->val[2] > 0 && r.w->val[2] < 1);
        ck_assert(r.other->val[0] < 0);
        for (int i = 0; i < 3; i++)
            ck_assert(r.w->val[i] >= 0);
        /* a loaded negative value is clamped by ein_optim_clamp, bias is not */
        r.w->val[1] = -3;
        r.other->val[1] = -3;
        ein_optim_clamp(r.opt);
        ck_assert(r.w->val[1] == 0 && r.other->val[1] == -3);
        rig_free(&r);
    }
}
END_TEST

START_TEST(frozen_and_unrouted_do_not_move)
{
    ein_group_settings s[EIN_GROUP_COUNT];
    settings_zero(s);
    for (int k = 0; k < EIN_GROUP_COUNT; k++)
        s[k].lr = 0.1;
    s[EIN_GROUP_BEI].frozen = true;
    s[EIN_GROUP_BEI].clamp_nonneg = true;
    for (int kind = EIN_OPT_SGD; kind <= EIN_OPT_ADAM; kind++) {
        rig r;
        rig_new(&r, EIN_GROUP_BEI, (ein_optimizer)kind, s);
        set_grad(r.w, G1);
        set_grad(r.other, G1);
        ein_optim_step(r.opt);
        ein_optim_step(r.opt);
        expect_row(r.w, W0, "frozen", 2);
        ck_assert(r.other->val[0] != (ein_real)W0[0]);
        rig_free(&r);
    }
    /* a parameter no loss may update (route 0) is skipped as well */
    ein_graph *g = ein_graph_new(1);
    ein_node *w = ein_graph_param(g, "w", 1, 3, EIN_GROUP_WEX);
    ein_node_route(w, 0);
    ck_assert_int_eq(ein_graph_compile(g, NULL), EIN_OK);
    ein_optim *opt = ein_optim_new(g, EIN_OPT_SGD, s, 0.9, 0.999, 1e-8, NULL);
    for (int i = 0; i < 3; i++)
        w->val[i] = (ein_real)W0[i];
    set_grad(w, G1);
    ein_optim_step(opt);
    expect_row(w, W0, "unrouted", 1);
    ein_optim_free(opt);
    ein_graph_free(g);
}
END_TEST

/* A parameter with settings of its own (a layer's lr, a frozen layer): it
 * steps with them, its group's other parameter with the group's. */
START_TEST(per_parameter_settings)
{
    ein_group_settings s[EIN_GROUP_COUNT];
    settings_zero(s);
    for (int k = 0; k < EIN_GROUP_COUNT; k++)
        s[k].lr = 0.1;
    ein_graph *g = ein_graph_new(1);
    ein_node *a = ein_graph_param(g, "a", 1, 2, EIN_GROUP_WEX), *b = ein_graph_param(g, "b", 1, 2, EIN_GROUP_WEX),
             *c = ein_graph_param(g, "c", 1, 2, EIN_GROUP_WEX);
    ck_assert_int_eq(ein_graph_compile(g, NULL), EIN_OK);
    ein_optim *opt = ein_optim_new(g, EIN_OPT_SGD, s, 0.9, 0.999, 1e-8, NULL);
    ein_group_settings own = s[EIN_GROUP_WEX];
    own.lr = 0.5;
    ck_assert(ein_optim_set_param(opt, b, &own));
    own.frozen = true;
    ck_assert(ein_optim_set_param(opt, c, &own));
    ck_assert(ein_optim_param(opt, b)->lr == 0.5 && ein_optim_param(opt, a)->lr == 0.1);
    ein_node *x = ein_graph_input(g, "x", 1);
    ck_assert(!ein_optim_set_param(opt, x, &own));   /* not a parameter */
    for (int i = 0; i < 2; i++) {
        a->val[i] = b->val[i] = c->val[i] = 1;
        a->grad[i] = b->grad[i] = c->grad[i] = 1;
    }
    ein_optim_step(opt);
    ck_assert(fabs(a->val[0] - 0.9) <= TOL && fabs(b->val[0] - 0.5) <= TOL && c->val[0] == 1);
    ein_optim_free(opt);
    ein_graph_free(g);
}
END_TEST

START_TEST(per_group_learning_rates)
{
    ein_group_settings s[EIN_GROUP_COUNT];
    settings_zero(s);
    s[EIN_GROUP_WIX].lr = 0.1;
    s[EIN_GROUP_BIAS].lr = 1.0;
    rig r;
    rig_new(&r, EIN_GROUP_WIX, EIN_OPT_SGD, s);
    set_grad(r.w, G1);
    set_grad(r.other, G1);
    ein_optim_step(r.opt);
    expect_row(r.w, SGD_PLAIN[0], "wix lr 0.1", 1);
    const double bias_want[3] = { W0[0] - G1[0], W0[1] - G1[1], W0[2] - G1[2] };
    expect_row(r.other, bias_want, "bias lr 1", 1);
    rig_free(&r);
}
END_TEST

START_TEST(settings_from_config_follow_m8)
{
    ein_cell_config cfg;
    ein_config_defaults(&cfg);
    ein_train_config t = cfg.train;
    for (int k = 0; k < EIN_GROUP_COUNT; k++)
        t.lr[k] = 0.01 * (k + 1);
    t.momentum = 0.9;
    t.momentum_inhib = 0.5;
    t.weight_decay = 0.1;
    t.clamp = true;
    memset(t.frozen, 0, sizeof t.frozen);
    t.frozen[EIN_GROUP_BEI] = true;
    ein_group_settings s[EIN_GROUP_COUNT];
    ein_group_settings_from_config(&t, s);
    for (int k = 0; k < EIN_GROUP_COUNT; k++) {
        bool inhib = k == EIN_GROUP_WIX || k == EIN_GROUP_BIX || k == EIN_GROUP_WEI || k == EIN_GROUP_BEI;
        ck_assert(s[k].lr == 0.01 * (k + 1));
        ck_assert(s[k].momentum == (inhib ? 0.5 : 0.9));
        ck_assert(s[k].weight_decay == (inhib ? 0 : 0.1));
        ck_assert(s[k].frozen == (k == EIN_GROUP_BEI));
        ck_assert(s[k].clamp_nonneg == (k != EIN_GROUP_BIAS && k != EIN_GROUP_BIX));
    }
    t.momentum_inhib = -1;        /* "same as momentum" */
    t.clamp = false;
    ein_group_settings_from_config(&t, s);
    for (int k = 0; k < EIN_GROUP_COUNT; k++) {
        ck_assert(s[k].momentum == 0.9);
        ck_assert(!s[k].clamp_nonneg);
    }
}
END_TEST

START_TEST(step_after_backward_allocates_nothing)
{
    /* a tiny regression trained for a few steps: the loss falls, the arena
     * does not grow, and the optimizer reads the gradients backward left */
    ein_graph *g = ein_graph_new(4);
    ein_node *x = ein_graph_input(g, "x", 2);
    ein_node *w = ein_graph_param(g, "w", 1, 2, EIN_GROUP_WEX);
    ein_node *t = ein_graph_input(g, "t", 1);
    ein_node *loss = ein_mean(g, ein_square(g, ein_sub(g, ein_matmul(g, x, w, false, true), t)));
    ein_graph_add_loss(g, loss, 1, EIN_GROUPS_ALL);
    ck_assert_int_eq(ein_graph_compile(g, NULL), EIN_OK);
    ein_group_settings s[EIN_GROUP_COUNT];
    settings_zero(s);
    s[EIN_GROUP_WEX] = (ein_group_settings){ .lr = 0.2, .momentum = 0.5, .clamp_nonneg = true };
    ein_optim *opt = ein_optim_new(g, EIN_OPT_SGD, s, 0.9, 0.999, 1e-8, NULL);
    const ein_real xv[8] = { 1, 0, 0, 1, 1, 1, 2, -1 };
    memcpy(x->val, xv, sizeof xv);
    for (int b = 0; b < 4; b++)           /* target weights (2, 0.5) */
        t->val[b] = 2 * xv[2 * b] + (ein_real)0.5 * xv[2 * b + 1];
    long allocs = ein_graph_alloc_count(g);
    double first = -1, last = 0;
    for (int step = 0; step < 60; step++) {
        ein_graph_forward(g, NULL);
        if (first < 0)
            first = loss->val[0];
        last = loss->val[0];
        ein_graph_backward(g);
        ein_optim_step(opt);
    }
    ck_assert_int_eq(ein_graph_alloc_count(g), allocs);
    ck_assert_msg(last < 1e-3 * first, "loss %g -> %g", first, last);
    ck_assert(fabs(w->val[0] - 2) < 0.05 && fabs(w->val[1] - 0.5) < 0.05);
    ein_optim_free(opt);
    ein_graph_free(g);
}
END_TEST

/* ---- an independent double-precision reference ------------------------------
 * The update rules of model.md M8 / torch written out again in plain double
 * arithmetic, run on a 3 × 4 parameter with random gradients for three steps
 * and compared with the engine after every step, for each update path with
 * and without the clamp. */
typedef struct ref_cfg {
    ein_optimizer kind;
    double lr, momentum, decay;
    bool clamp;
} ref_cfg;

static double rnd_o(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return (double)(*s >> 11) / 9007199254740992.0;
}

static void reference_step(const ref_cfg *c, int t, double *w, double *m, double *v, const double *g, int n)
{
    const double b1 = 0.9, b2 = 0.999, eps = 1e-8;
    for (int i = 0; i < n; i++) {
        w[i] = w[i] - c->lr * c->decay * w[i];
        if (c->kind == EIN_OPT_ADAM) {
            m[i] = b1 * m[i] + (1 - b1) * g[i];
            v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
            double mhat = m[i] / (1 - pow(b1, t)), vhat = v[i] / (1 - pow(b2, t));
            w[i] = w[i] - c->lr * mhat / (sqrt(vhat) + eps);
        } else {
            m[i] = c->momentum * m[i] + g[i];
            w[i] = w[i] - c->lr * m[i];
        }
        if (c->clamp && w[i] < 0)
            w[i] = 0;
    }
}

START_TEST(matches_double_reference)
{
    const ref_cfg cfgs[] = {
        { EIN_OPT_SGD, 0.3, 0, 0, false },    { EIN_OPT_SGD, 0.3, 0, 0, true },
        { EIN_OPT_SGD, 0.2, 0.9, 0, true },   { EIN_OPT_SGD, 0.2, 0.5, 0.1, false },
        { EIN_OPT_SGD, 0.2, 0.5, 0.1, true }, { EIN_OPT_ADAM, 0.05, 0, 0, false },
        { EIN_OPT_ADAM, 0.05, 0, 0.2, true },
    };
    enum { R = 3, C = 4, N = R * C };
    for (size_t k = 0; k < sizeof cfgs / sizeof *cfgs; k++) {
        const ref_cfg *c = &cfgs[k];
        ein_group_settings s[EIN_GROUP_COUNT];
        settings_zero(s);
        s[EIN_GROUP_WIX] = (ein_group_settings){ .lr = c->lr, .momentum = c->momentum, .weight_decay = c->decay,
                                                 .clamp_nonneg = c->clamp };
        ein_graph *g = ein_graph_new(1);
        ein_node *w = ein_graph_param(g, "w", R, C, EIN_GROUP_WIX);
        ck_assert_int_eq(ein_graph_compile(g, NULL), EIN_OK);
        ein_optim *opt = ein_optim_new(g, c->kind, s, 0.9, 0.999, 1e-8, NULL);
        ck_assert_ptr_nonnull(opt);
        uint64_t seed = 1234 + k;
        double ref[N], m[N] = { 0 }, v[N] = { 0 }, grad[N];
        for (int i = 0; i < N; i++) {
            w->val[i] = (ein_real)(rnd_o(&seed) * 0.4);       /* small: some steps cross zero */
            ref[i] = w->val[i];
        }
        bool clamped = false;
        for (int t = 1; t <= 3; t++) {
            for (int i = 0; i < N; i++) {
                grad[i] = (double)(ein_real)(rnd_o(&seed) * 2 - 0.6);
                w->grad[i] = (ein_real)grad[i];
            }
            ein_optim_step(opt);
            reference_step(c, t, ref, m, v, grad, N);
            for (int i = 0; i < N; i++) {
                ck_assert_msg(fabs(w->val[i] - ref[i]) <= 5 * TOL * (1 + fabs(ref[i])),
                              "case %zu step %d [%d]: %.17g, reference %.17g", k, t, i, (double)w->val[i], ref[i]);
                if (c->clamp) {
                    ck_assert(w->val[i] >= 0);
                    clamped |= ref[i] == 0;
                }
            }
        }
        if (c->clamp)
            ck_assert_msg(clamped, "case %zu: no step reached the clamp", k);
        ein_optim_free(opt);
        ein_graph_free(g);
    }
}
END_TEST

START_TEST(default_config_is_the_paper_setup)
{
    /* ein_config_defaults: plain SGD, lr 0.01 (wex, bias), 0.1 (wix, bix),
     * 0.001 (wei, bei), bei frozen, no momentum or decay, Dale clamps on the
     * four W groups and B_ei, not on bias and B_ix (model.md M8) */
    ein_cell_config cfg;
    ein_config_defaults(&cfg);
    ck_assert_int_eq(cfg.train.optimizer, EIN_OPT_SGD);
    ein_group_settings s[EIN_GROUP_COUNT];
    ein_group_settings_from_config(&cfg.train, s);
    const double lr[EIN_GROUP_COUNT] = { [EIN_GROUP_WEX] = 0.01, [EIN_GROUP_BIAS] = 0.01, [EIN_GROUP_WIX] = 0.1,
                                         [EIN_GROUP_BIX] = 0.1,  [EIN_GROUP_WEI] = 0.001, [EIN_GROUP_BEI] = 0.001 };
    for (int k = 0; k < EIN_GROUP_COUNT; k++) {
        ck_assert_msg(s[k].lr == lr[k], "%s lr %g", ein_group_name((ein_group)k), s[k].lr);
        ck_assert(s[k].momentum == 0 && s[k].weight_decay == 0);
        ck_assert_msg(s[k].frozen == (k == EIN_GROUP_BEI), "%s frozen", ein_group_name((ein_group)k));
        ck_assert(s[k].clamp_nonneg == (k != EIN_GROUP_BIAS && k != EIN_GROUP_BIX));
    }
    /* a decay asked for every group still spares the inhibitory ones, and a
     * separate inhibitory momentum reaches wix, bix, wei and bei only */
    cfg.train.weight_decay = 0.25;
    cfg.train.momentum = 0.7;
    cfg.train.momentum_inhib = 0;
    ein_group_settings_from_config(&cfg.train, s);
    ck_assert(s[EIN_GROUP_WEX].weight_decay == 0.25 && s[EIN_GROUP_BIAS].weight_decay == 0.25);
    ck_assert(s[EIN_GROUP_WEX].momentum == 0.7 && s[EIN_GROUP_BIAS].momentum == 0.7);
    for (int k = EIN_GROUP_WIX; k <= EIN_GROUP_BEI; k++)
        ck_assert(s[k].weight_decay == 0 && s[k].momentum == 0);

    /* and through an optimizer: one SGD step with these settings, gradient 1
     * everywhere — wex decays and moves, wix moves at its own lr without
     * decay, bei stays */
    ein_graph *g = ein_graph_new(1);
    ein_node *p[EIN_GROUP_COUNT];
    for (int k = 0; k < EIN_GROUP_COUNT; k++)
        p[k] = ein_graph_param(g, ein_group_name((ein_group)k), 1, 2, (ein_group)k);
    ck_assert_int_eq(ein_graph_compile(g, NULL), EIN_OK);
    ein_optim *opt = ein_optim_new(g, EIN_OPT_SGD, s, 0.9, 0.999, 1e-8, NULL);
    for (int k = 0; k < EIN_GROUP_COUNT; k++)
        for (int i = 0; i < 2; i++) {
            p[k]->val[i] = 1;
            p[k]->grad[i] = 1;
        }
    ein_optim_step(opt);
    for (int k = 0; k < EIN_GROUP_COUNT; k++) {
        bool inhib = k >= EIN_GROUP_WIX;
        double want = k == EIN_GROUP_BEI ? 1 : (1 - (inhib ? 0 : lr[k] * 0.25)) - lr[k];
        ck_assert_msg(fabs(p[k]->val[0] - want) <= TOL, "%s: %.9g, expected %.9g", ein_group_name((ein_group)k),
                      (double)p[k]->val[0], want);
    }
    ein_optim_free(opt);
    ein_graph_free(g);
}
END_TEST

/* Fused SGD (optim.h): a parameter is updated inside its gradient GEMM only
 * when that GEMM is its whole gradient — one matmul consumer whose other
 * operand is not a parameter, one loss — and under plain SGD. */
START_TEST(fused_only_for_one_gemm)
{
    ein_graph *g = ein_graph_new(3);
    ein_node *x = ein_graph_input(g, "x", 4);
    ein_node *once = ein_graph_param(g, "once", 2, 4, EIN_GROUP_WEX);
    ein_node *twice = ein_graph_param(g, "twice", 2, 4, EIN_GROUP_WEX);
    ein_node *two_losses = ein_graph_param(g, "two_losses", 2, 4, EIN_GROUP_WEX);
    ein_node *bias = ein_graph_param(g, "bias", 1, 2, EIN_GROUP_BIAS);
    ein_node *left = ein_graph_param(g, "left", 3, 2, EIN_GROUP_WIX);
    ein_node *right = ein_graph_param(g, "right", 2, 2, EIN_GROUP_WIX);
    ein_node *h = ein_add(g, ein_matmul(g, x, once, false, true), bias);
    h = ein_add(g, h, ein_matmul(g, x, twice, false, true));
    h = ein_add(g, h, ein_matmul(g, ein_scale(g, x, 2), twice, false, true));
    ein_node *shared = ein_matmul(g, x, two_losses, false, true);
    ein_node *pp = ein_sum(g, ein_matmul(g, left, right, false, false));   /* param × param */
    ein_graph_add_loss(g, ein_add(g, ein_sum(g, ein_mul(g, h, shared)), pp), 1, EIN_GROUPS_ALL);
    ein_graph_add_loss(g, ein_sum(g, ein_square(g, shared)), 1, EIN_GROUPS_ALL);
    ck_assert_int_eq(ein_graph_compile(g, NULL), EIN_OK);
    ck_assert(ein_graph_fusable(g, once));
    ck_assert(!ein_graph_fusable(g, twice));       /* two consumers: two gradient GEMMs */
    ck_assert(!ein_graph_fusable(g, two_losses));  /* two backward passes reach it */
    ck_assert(!ein_graph_fusable(g, bias));        /* its gradient is a column sum */
    ck_assert(!ein_graph_fusable(g, left) && !ein_graph_fusable(g, right));
    ck_assert(!ein_graph_fusable(g, x));

    ein_group_settings s[EIN_GROUP_COUNT];
    settings_zero(s);
    s[EIN_GROUP_WEX].lr = s[EIN_GROUP_BIAS].lr = s[EIN_GROUP_WIX].lr = 0.1;
    ein_optim *opt = ein_optim_new(g, EIN_OPT_SGD, s, 0.9, 0.999, 1e-8, NULL);
    ck_assert_int_eq(ein_optim_n_fused(opt), 1);
    ck_assert(once->fused_lr == 0.1);
    ein_optim_free(opt);
    ck_assert(once->fused_lr == 0);                 /* the graph forgets a freed optimizer */
    ein_optim *adam = ein_optim_new(g, EIN_OPT_ADAM, s, 0.9, 0.999, 1e-8, NULL);
    ck_assert_int_eq(ein_optim_n_fused(adam), 0);
    ein_optim_free(adam);
    const char *why[] = { "momentum", "weight decay", "frozen", "lr 0" };
    for (int k = 0; k < 4; k++) {
        ein_group_settings t[EIN_GROUP_COUNT];
        memcpy(t, s, sizeof t);
        t[EIN_GROUP_WEX].momentum = k == 0 ? 0.9 : 0;
        t[EIN_GROUP_WEX].weight_decay = k == 1 ? 0.01 : 0;
        t[EIN_GROUP_WEX].frozen = k == 2;
        t[EIN_GROUP_WEX].lr = k == 3 ? 0 : 0.1;
        ein_optim *o = ein_optim_new(g, EIN_OPT_SGD, t, 0.9, 0.999, 1e-8, NULL);
        ck_assert_msg(ein_optim_n_fused(o) == 0, "fused despite %s", why[k]);
        ein_optim_free(o);
    }
    ein_graph_free(g);
}
END_TEST

/* The M7 network, E/I + LN and I-Norm + GradNorm (with its local loss),
 * trained 6 steps twice from the same init: backward then step, and the
 * fused ein_optim_backward_step.  Every parameter agrees to rounding (the
 * Dale clamps included), and the fused steps allocate nothing. */
static ein_model *small_net(ein_fwd_norm fwd, ein_bwd_norm bwd)
{
    ein_cell_config cfg;
    ein_config_defaults(&cfg);
    cfg.train.seed = 3;
    for (int l = 0; l < cfg.n_hidden; l++) {
        cfg.hidden[l].ne = 12;
        cfg.hidden[l].fwd = fwd;
        cfg.hidden[l].bwd = bwd;
    }
    if (fwd == EIN_FWD_INORM)
        cfg.losses[cfg.n_losses++] = (ein_loss_config){ .kind = EIN_LOSS_INORM, .weight = -1,
                                                        .groups = EIN_GROUPS_DEFAULT };
    ein_model *m = NULL;
    ein_err err = { 0 };
    ck_assert_msg(ein_model_build(&cfg, 20, 10, 6, false, &m, &err) == EIN_OK, "%s", err.msg);
    ck_assert(ein_model_init(m, &err) == EIN_OK);
    return m;
}

static void feed(ein_model *m, int step)
{
    uint64_t s = 77 + (uint64_t)step;
    for (int k = 0; k < 6 * 20; k++) {
        s = s * 6364136223846793005u + 1442695040888963407u;
        m->x->val[k] = (ein_real)((double)(s >> 11) / 9007199254740992.0);
    }
    int32_t *labels = ein_graph_labels(m->graph);
    for (int b = 0; b < 6; b++)
        labels[b] = (b * 7 + step) % 10;
}

START_TEST(fused_step_equals_backward_then_step)
{
    const ein_fwd_norm fwd[2] = { EIN_FWD_LAYERNORM, EIN_FWD_INORM };
    const ein_bwd_norm bwd[2] = { EIN_BWD_NONE, EIN_BWD_FULL };
    const double tol = sizeof(ein_real) == 4 ? 1e-5 : 1e-13;
    /* our kernels clamp a fused update as they store it; the BLAS's after it */
    for (int v = 0; v < 4; v++) {
        ein_model *a = small_net(fwd[v % 2], bwd[v % 2]), *b = small_net(fwd[v % 2], bwd[v % 2]);
        ein_gemm_kernel kernel = v < 2 ? EIN_GEMM_AUTO : EIN_GEMM_BLAS;
        ein_graph_set_gemm(a->graph, kernel);
        ein_graph_set_gemm(b->graph, kernel);
        ein_group_settings s[EIN_GROUP_COUNT];
        ein_group_settings_from_config(&a->cfg.train, s);
        for (int k = 0; k < EIN_GROUP_COUNT; k++)
            s[k].lr *= 20;                      /* big steps, so the clamps bite */
        ein_optim *oa = ein_optim_new(a->graph, EIN_OPT_SGD, s, 0.9, 0.999, 1e-8, NULL);
        ein_optim *ob = ein_optim_new(b->graph, EIN_OPT_SGD, s, 0.9, 0.999, 1e-8, NULL);
        ck_assert_int_eq(ein_optim_n_fused(ob), 9);
        long allocs = ein_graph_alloc_count(b->graph);
        for (int step = 0; step < 6; step++) {
            feed(a, step);
            feed(b, step);
            ein_graph_forward(a->graph, a->train_plan);
            ein_graph_forward(b->graph, b->train_plan);
            ein_graph_backward(a->graph);
            ein_optim_step(oa);
            ein_optim_backward_step(ob);
        }
        ck_assert_int_eq(ein_graph_alloc_count(b->graph), allocs);
        int zeros = 0;
        for (int i = 0; i < ein_graph_n_nodes(a->graph); i++) {
            const ein_node *pa = ein_graph_nodes(a->graph, i), *pb = ein_graph_nodes(b->graph, i);
            if (pa->kind != EIN_NODE_PARAM)
                continue;
            for (int k = 0; k < pa->rows * pa->cols; k++) {
                zeros += pb->group == EIN_GROUP_WEX && pb->val[k] == 0;
                ck_assert_msg(fabs((double)pa->val[k] - pb->val[k]) <= tol * (1 + fabs((double)pa->val[k])),
                              "%s[%d]: backward+step %.9g, fused %.9g", pa->name, k, (double)pa->val[k],
                              (double)pb->val[k]);
            }
        }
        ck_assert_msg(zeros > 0, "no W_ex weight reached the clamp");
        ein_optim_free(oa);
        ein_optim_free(ob);
        ein_model_free(a);
        ein_model_free(b);
    }
}
END_TEST

#ifndef EIN_REAL_DOUBLE
/* docs/running.md: a cell has the same numbers on every kernel of ours.
 * The two networks trained 6 fused steps on each kernel this CPU runs end
 * with the same bits in every parameter; on the BLAS they do not. */
START_TEST(own_kernels_train_the_same_bits)
{
    const ein_fwd_norm fwd[2] = { EIN_FWD_LAYERNORM, EIN_FWD_INORM };
    const ein_bwd_norm bwd[2] = { EIN_BWD_NONE, EIN_BWD_FULL };
    const ein_gemm_kernel kernels[] = { EIN_GEMM_SCALAR, EIN_GEMM_AVX2, EIN_GEMM_AVX512, EIN_GEMM_BLAS };
    for (int v = 0; v < 2; v++) {
        ein_model *ref = NULL;
        int compared = 0;
        bool blas_differs = false;
        for (size_t k = 0; k < sizeof kernels / sizeof kernels[0]; k++) {
            if (!ein_gemm_kernel_supported(kernels[k]))
                continue;
            ein_model *m = small_net(fwd[v], bwd[v]);
            ein_graph_set_gemm(m->graph, kernels[k]);
            ein_group_settings s[EIN_GROUP_COUNT];
            ein_group_settings_from_config(&m->cfg.train, s);
            ein_optim *o = ein_optim_new(m->graph, EIN_OPT_SGD, s, 0.9, 0.999, 1e-8, NULL);
            for (int step = 0; step < 6; step++) {
                feed(m, step);
                ein_graph_forward(m->graph, m->train_plan);
                ein_optim_backward_step(o);
            }
            ein_optim_free(o);
            if (ref == NULL) {
                ref = m;
                continue;
            }
            bool same = true;
            for (int i = 0; i < ein_graph_n_nodes(m->graph); i++) {
                const ein_node *pr = ein_graph_nodes(ref->graph, i), *pm = ein_graph_nodes(m->graph, i);
                if (pr->kind == EIN_NODE_PARAM)
                    same = same && memcmp(pr->val, pm->val, (size_t)pr->rows * pr->cols * sizeof *pr->val) == 0;
            }
            if (kernels[k] == EIN_GEMM_BLAS)
                blas_differs = !same;
            else
                ck_assert_msg(same, "%s trains other bits than scalar", ein_gemm_kernel_name(kernels[k]));
            compared++;
            ein_model_free(m);
        }
        ck_assert_int_eq(compared, 1 + ein_gemm_kernel_supported(EIN_GEMM_AVX2) +
                                       ein_gemm_kernel_supported(EIN_GEMM_AVX512));
        ck_assert_msg(blas_differs, "the BLAS gave our bits: the comparison cannot tell kernels apart");
        ein_model_free(ref);
    }
}
END_TEST
#endif

Suite *ein_test_suite(void)
{
    Suite *s = suite_create("optim");
    TCase *tc = tcase_create("steps");
    tcase_add_test(tc, sgd_plain);
    tcase_add_test(tc, sgd_momentum);
    tcase_add_test(tc, sgd_decay);
    tcase_add_test(tc, sgd_momentum_decay);
    tcase_add_test(tc, adam_plain);
    tcase_add_test(tc, adam_decay);
    tcase_add_test(tc, clamp_after_step);
    tcase_add_test(tc, frozen_and_unrouted_do_not_move);
    tcase_add_test(tc, per_parameter_settings);
    tcase_add_test(tc, per_group_learning_rates);
    tcase_add_test(tc, settings_from_config_follow_m8);
    tcase_add_test(tc, step_after_backward_allocates_nothing);
    tcase_add_test(tc, matches_double_reference);
    tcase_add_test(tc, default_config_is_the_paper_setup);
    tcase_add_test(tc, fused_only_for_one_gemm);
    tcase_add_test(tc, fused_step_equals_backward_then_step);
#ifndef EIN_REAL_DOUBLE
    tcase_add_test(tc, own_kernels_train_the_same_bits);
#endif
    suite_add_tcase(s, tc);
    return s;
}
