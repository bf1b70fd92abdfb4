/* check_graph.c — the graph around the ops: loss routing by group and by
 * parameter (model.md M5, M8), local losses that stop at stop-gradients,
 * per-loss reachability, the M9 side gradient (ein_graph_grad_of), a smaller
 * last batch without rebuilding, plans, no allocation during steps,
 * construction errors with their source location, NaN location, Graphviz
 * output, profiling (GEMM time in all and by shape) and the GEMM replay.
 *
 * The "training" cases use a fuller network, an M1 E/I layer with layernorm
 * and ReLU and an output layer into softmax-CE, with a task loss and an
 * M5-like local loss on sg(x W_exᵀ) − (x W_ixᵀ) W_eiᵀ, and check routing,
 * loss weights, grad_of and allocation together with the optimizer. */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ein/blas.h"
#include "ein/graph.h"
#include "ein/ops.h"
#include "ein/optim.h"

#ifdef EIN_REAL_DOUBLE
#define TOL 1e-12
#else
#define TOL 1e-5
#endif

static void fill(ein_node *n, uint64_t seed)
{
    uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
    size_t len = (size_t)n->rows * (size_t)n->cols;
    for (size_t i = 0; i < len; i++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        n->val[i] = (ein_real)((double)(s >> 11) / 9007199254740992.0 * 2 - 1);
    }
}

static size_t len_of(const ein_node *n) { return (size_t)n->rows * (size_t)n->cols; }

static void assert_all_zero(const ein_node *n, const char *what)
{
    for (size_t i = 0; i < len_of(n); i++)
        ck_assert_msg(n->grad[i] == 0, "%s: gradient[%zu] = %g, expected exactly 0", what, i, (double)n->grad[i]);
}

static bool any_nonzero(const ein_node *n)
{
    for (size_t i = 0; i < len_of(n); i++)
        if (n->grad[i] != 0)
            return true;
    return false;
}

static void assert_close(const ein_real *a, const ein_real *b, size_t len, const char *what)
{
    for (size_t i = 0; i < len; i++)
        ck_assert_msg(fabs((double)a[i] - (double)b[i]) <= TOL * (1 + fabs((double)b[i])), "%s[%zu]: %.10g vs %.10g",
                      what, i, (double)a[i], (double)b[i]);
}

/* A small E/I-like layer: y = relu(x W_exᵀ − (x W_ixᵀ) W_eiᵀ + b) (M1), and
 * two scalars on it.  Built identically by every test that compares graphs. */
typedef struct net {
    ein_graph *g;
    ein_node *x, *wex, *wix, *wei, *b, *z, *y, *task, *other;
} net;

static void net_build(net *n, int cap)
{
    ein_graph *g = n->g = ein_graph_new(cap);
    n->x = ein_graph_input(g, "x", 5);
    n->wex = ein_graph_param(g, "W_ex", 4, 5, EIN_GROUP_WEX);
    n->wix = ein_graph_param(g, "W_ix", 2, 5, EIN_GROUP_WIX);
    n->wei = ein_graph_param(g, "W_ei", 4, 2, EIN_GROUP_WEI);
    n->b = ein_graph_param(g, "b", 1, 4, EIN_GROUP_BIAS);
    ein_node *i = ein_matmul(g, ein_matmul(g, n->x, n->wix, false, true), n->wei, false, true);
    n->z = ein_add(g, ein_sub(g, ein_matmul(g, n->x, n->wex, false, true), i), n->b);
    n->y = ein_relu(g, n->z);
    n->task = ein_mean(g, n->y);
    n->other = ein_mean(g, ein_square(g, ein_rownorm(g, n->z, EIN_NORM_CENTER, EIN_LN_EPS)));
}

static void net_run(net *n, int batch)
{
    ein_err err = { 0 };
    ck_assert_msg(ein_graph_compile(n->g, &err) == EIN_OK, "%s", err.msg);
    fill(n->wex, 1);
    fill(n->wix, 2);
    fill(n->wei, 3);
    fill(n->b, 4);
    ein_graph_set_batch(n->g, batch);
    fill(n->x, 5);
    ein_graph_forward(n->g, NULL);
    ein_graph_backward(n->g);
}

START_TEST(group_mask_leaves_other_groups_exactly_zero)
{
    net n;
    net_build(&n, 3);
    ein_graph_add_loss(n.g, n.task, 1, 1u << EIN_GROUP_WEX);
    net_run(&n, 3);
    ck_assert(any_nonzero(n.wex));
    assert_all_zero(n.b, "bias");
    assert_all_zero(n.wix, "wix");
    assert_all_zero(n.wei, "wei");
    ein_graph_free(n.g);

    net_build(&n, 3);
    ein_graph_add_loss(n.g, n.task, 1, (1u << EIN_GROUP_WIX) | (1u << EIN_GROUP_BIAS));
    net_run(&n, 3);
    ck_assert(any_nonzero(n.wix) && any_nonzero(n.b));
    assert_all_zero(n.wex, "wex");
    assert_all_zero(n.wei, "wei");
    ein_graph_free(n.g);
}
END_TEST

START_TEST(two_losses_into_one_parameter_add)
{
    net both, a, b;
    net_build(&both, 4);
    ein_graph_add_loss(both.g, both.task, 1, EIN_GROUPS_ALL);
    ein_graph_add_loss(both.g, both.other, 0.25, EIN_GROUPS_ALL);
    net_run(&both, 4);
    net_build(&a, 4);
    ein_graph_add_loss(a.g, a.task, 1, EIN_GROUPS_ALL);
    net_run(&a, 4);
    net_build(&b, 4);
    ein_graph_add_loss(b.g, b.other, 0.25, EIN_GROUPS_ALL);
    net_run(&b, 4);
    ein_node *pb[] = { both.wex, both.wix, both.wei, both.b };
    ein_node *pa[] = { a.wex, a.wix, a.wei, a.b };
    ein_node *pc[] = { b.wex, b.wix, b.wei, b.b };
    for (int k = 0; k < 4; k++) {
        ck_assert(any_nonzero(pa[k]) && any_nonzero(pc[k]));
        ein_real sum[32];
        for (size_t i = 0; i < len_of(pa[k]); i++)
            sum[i] = pa[k]->grad[i] + pc[k]->grad[i];
        assert_close(pb[k]->grad, sum, len_of(pb[k]), pb[k]->name);
    }
    /* a second backward gives the same (gradients are zeroed, not accumulated across steps) */
    ein_real first[32];
    memcpy(first, both.wex->grad, len_of(both.wex) * sizeof(ein_real));
    ein_graph_backward(both.g);
    ck_assert(memcmp(first, both.wex->grad, len_of(both.wex) * sizeof(ein_real)) == 0);
    ein_graph_free(both.g);
    ein_graph_free(a.g);
    ein_graph_free(b.g);
}
END_TEST

START_TEST(per_parameter_routing)
{
    /* the task loss (0) may update everything by group, but in this layer
     * W_ix listens to loss 1 only; loss 1 reaches W_ix only by group */
    net n, ref;
    net_build(&n, 2);
    ein_graph_add_loss(n.g, n.task, 1, EIN_GROUPS_ALL);
    ein_graph_add_loss(n.g, n.other, 1, 1u << EIN_GROUP_WIX);
    ein_node_route(n.wix, 1u << 1);
    net_run(&n, 2);
    net_build(&ref, 2);
    ein_graph_add_loss(ref.g, ref.other, 1, 1u << EIN_GROUP_WIX);
    net_run(&ref, 2);
    assert_close(n.wix->grad, ref.wix->grad, len_of(n.wix), "W_ix from loss 1 only");
    ck_assert(any_nonzero(n.wex) && any_nonzero(n.b) && any_nonzero(n.wei));
    /* a parameter routed to no loss gets nothing */
    ein_graph_free(ref.g);
    ein_graph_free(n.g);
    net_build(&n, 2);
    ein_graph_add_loss(n.g, n.task, 1, EIN_GROUPS_ALL);
    ein_node_route(n.wex, 0);
    net_run(&n, 2);
    assert_all_zero(n.wex, "unrouted W_ex");
    ck_assert(any_nonzero(n.wix));
    ein_graph_free(n.g);
}
END_TEST

START_TEST(local_loss_stops_at_stop_gradient)
{
    /* M5 shape: layer 1 h = relu(x W1ᵀ); layer 2 u = sg(h) W2ᵀ; the local
     * loss on u, allowed every group, reaches W2 but never W1; the task loss
     * through layer 2 without sg reaches both. */
    ein_graph *g = ein_graph_new(3);
    ein_node *x = ein_graph_input(g, "x", 4);
    ein_node *w1 = ein_graph_param(g, "W1", 3, 4, EIN_GROUP_WEX);
    ein_node *w2 = ein_graph_param(g, "W2", 2, 3, EIN_GROUP_WIX);
    ein_node *h = ein_relu(g, ein_matmul(g, x, w1, false, true));
    ein_node *u = ein_matmul(g, ein_stop_grad(g, h), w2, false, true);
    ein_node *local = ein_mean(g, ein_square(g, u));
    ein_node *task = ein_sum(g, ein_matmul(g, h, w2, false, true));
    ein_node *side = ein_exp(g, h);            /* leads to no loss */
    int kl = ein_graph_add_loss(g, local, 1, EIN_GROUPS_ALL);
    ck_assert_int_eq(kl, 0);
    ck_assert_int_eq(ein_graph_compile(g, NULL), EIN_OK);
    fill(x, 1);
    fill(w1, 2);
    fill(w2, 3);
    ein_graph_forward(g, NULL);
    /* nodes that lead to no active leaf keep whatever their gradient held:
     * the local pass must not visit h, the task branch or `side` */
    for (size_t i = 0; i < len_of(h); i++)
        h->grad[i] = side->grad[i] = task->child[0]->grad[0] = 42;
    ein_graph_backward(g);
    assert_all_zero(w1, "W1 behind the stop-gradient");
    ck_assert(any_nonzero(w2));
    ck_assert(h->grad[0] == 42 && side->grad[0] == 42 && task->child[0]->grad[0] == 42);
    ck_assert(ein_graph_n_losses(g) == 1 && ein_graph_loss(g, 0) == local);
    ein_graph_free(g);
}
END_TEST

START_TEST(grad_of_leaves_training_gradients_untouched)
{
    /* M9: the gradient of an auxiliary scalar w.r.t. W_ex, taken between
     * backward and the optimizer step, matches a graph trained on that
     * scalar alone and leaves every parameter gradient bit-identical */
    net n, ref;
    net_build(&n, 4);
    ein_graph_add_loss(n.g, n.task, 1, EIN_GROUPS_ALL);
    net_run(&n, 3);
    ein_node *params[] = { n.wex, n.wix, n.wei, n.b };
    ein_real saved[4][32];
    for (int k = 0; k < 4; k++)
        memcpy(saved[k], params[k]->grad, len_of(params[k]) * sizeof(ein_real));
    long allocs = ein_graph_alloc_count(n.g);
    ein_real out[20];
    ein_graph_grad_of(n.g, n.other, n.wex, out);
    ck_assert_int_eq(ein_graph_alloc_count(n.g), allocs);
    for (int k = 0; k < 4; k++)
        ck_assert_msg(memcmp(saved[k], params[k]->grad, len_of(params[k]) * sizeof(ein_real)) == 0,
                      "%s gradient disturbed", params[k]->name);
    net_build(&ref, 4);
    ein_graph_add_loss(ref.g, ref.other, 1, 1u << EIN_GROUP_WEX);
    net_run(&ref, 3);
    assert_close(out, ref.wex->grad, 20, "grad_of W_ex");
    /* again: the result does not accumulate */
    ein_real again[20];
    ein_graph_grad_of(n.g, n.other, n.wex, again);
    ck_assert(memcmp(out, again, sizeof out) == 0);
    /* a scalar that does not depend on the parameter: zeros */
    ein_graph_free(ref.g);
    ein_graph_free(n.g);

    ein_graph *g = ein_graph_new(2);
    ein_node *x = ein_graph_input(g, "x", 3);
    ein_node *w = ein_graph_param(g, "w", 2, 3, EIN_GROUP_WEX);
    ein_node *v = ein_graph_param(g, "v", 2, 3, EIN_GROUP_WEX);
    ein_node *s = ein_sum(g, ein_matmul(g, x, v, false, true));
    ein_node *t = ein_sum(g, ein_matmul(g, x, w, false, true));
    ein_graph_add_loss(g, t, 1, EIN_GROUPS_ALL);
    ck_assert_int_eq(ein_graph_compile(g, NULL), EIN_OK);
    fill(x, 7);
    ein_graph_forward(g, NULL);
    ein_real z[6];
    for (int i = 0; i < 6; i++)
        z[i] = 5;
    ein_graph_grad_of(g, s, w, z);
    for (int i = 0; i < 6; i++)
        ck_assert(z[i] == 0);
    ein_graph_free(g);
}
END_TEST

START_TEST(smaller_last_batch_needs_no_rebuild)
{
    /* capacity 6 used with 2 rows equals a graph built for 2 */
    net big, small;
    net_build(&big, 6);
    ein_graph_add_loss(big.g, big.task, 1, EIN_GROUPS_ALL);
    net_run(&big, 6);
    long allocs = ein_graph_alloc_count(big.g);
    ein_graph_set_batch(big.g, 2);
    ck_assert_int_eq(ein_graph_batch(big.g), 2);
    fill(big.x, 5);
    ein_graph_forward(big.g, NULL);
    ein_graph_backward(big.g);
    ck_assert_int_eq(ein_graph_alloc_count(big.g), allocs);
    net_build(&small, 2);
    ein_graph_add_loss(small.g, small.task, 1, EIN_GROUPS_ALL);
    net_run(&small, 2);
    ck_assert_int_eq(big.y->rows, 2);
    assert_close(big.y->val, small.y->val, 8, "y");
    assert_close(big.task->val, small.task->val, 1, "loss");
    assert_close(big.wex->grad, small.wex->grad, 20, "dW_ex");
    assert_close(big.b->grad, small.b->grad, 4, "db");
    /* out-of-range batch sizes are clamped to [1, capacity] */
    ein_graph_set_batch(big.g, 100);
    ck_assert_int_eq(ein_graph_batch(big.g), 6);
    ein_graph_set_batch(big.g, 0);
    ck_assert_int_eq(ein_graph_batch(big.g), 1);
    ein_graph_free(big.g);
    ein_graph_free(small.g);
}
END_TEST

START_TEST(steps_allocate_nothing)
{
    net n;
    net_build(&n, 8);
    ein_graph_add_loss(n.g, n.task, 1, EIN_GROUPS_ALL);
    ein_graph_add_loss(n.g, n.other, 0.5, 1u << EIN_GROUP_WIX);
    ein_node *outs[] = { n.task, n.other };
    ein_plan *plan = ein_graph_plan(n.g, outs, 2);
    ck_assert_ptr_nonnull(plan);
    net_run(&n, 8);
    long allocs = ein_graph_alloc_count(n.g);
    size_t bytes = ein_graph_bytes(n.g);
    ck_assert_int_ge(allocs, 1);
    ck_assert_uint_gt(bytes, 0);
    ein_real out[20];
    for (int step = 0; step < 20; step++) {
        ein_graph_set_batch(n.g, step % 2 ? 8 : 5);
        ein_graph_forward(n.g, plan);
        ein_graph_backward(n.g);
        ein_graph_grad_of(n.g, n.other, n.wex, out);
    }
    ck_assert_int_eq(ein_graph_alloc_count(n.g), allocs);
    ck_assert_uint_eq(ein_graph_bytes(n.g), bytes);
    ein_graph_free(n.g);
}
END_TEST

START_TEST(plan_runs_only_ancestors)
{
    net n;
    net_build(&n, 2);
    ein_graph_add_loss(n.g, n.task, 1, EIN_GROUPS_ALL);
    ein_plan *task_only = ein_graph_plan(n.g, &n.task, 1);
    net_run(&n, 2);
    n.other->val[0] = -7;                       /* not an ancestor of task */
    n.task->val[0] = -7;
    ein_graph_forward(n.g, task_only);
    ck_assert(n.other->val[0] == -7);
    ck_assert(n.task->val[0] != -7);
    ein_graph_free(n.g);
}
END_TEST

START_TEST(construction_errors_are_located)
{
    ein_graph *g = ein_graph_new(2);
    ein_node *x = ein_graph_input(g, "x", 3);
    ein_graph_set_where(g, "fig5.ein:9:5");
    ein_node *w = ein_graph_param(g, "w", 2, 4, EIN_GROUP_WEX);
    ck_assert_ptr_null(ein_matmul(g, x, w, false, true));
    ein_err err = { 0 };
    ck_assert_int_eq(ein_graph_compile(g, &err), EIN_ERR_INTERNAL);
    ck_assert_msg(strcmp(err.msg, "fig5.ein:9:5: matmul: inner dimensions differ (3 vs 4)") == 0, "%s", err.msg);
    ein_graph_free(g);

    /* a loss must be a scalar */
    g = ein_graph_new(2);
    x = ein_graph_input(g, "x", 3);
    ck_assert_int_eq(ein_graph_add_loss(g, ein_relu(g, x), 1, EIN_GROUPS_ALL), -1);
    ck_assert_int_ne(ein_graph_compile(g, &err), EIN_OK);
    ein_graph_free(g);

    /* nothing may be added after compile */
    g = ein_graph_new(2);
    x = ein_graph_input(g, "x", 3);
    ck_assert_int_eq(ein_graph_compile(g, NULL), EIN_OK);
    ck_assert_ptr_null(ein_relu(g, x));
    ein_graph_free(g);

    /* empty shapes */
    g = ein_graph_new(2);
    ck_assert_ptr_null(ein_graph_param(g, "w", 0, 3, EIN_GROUP_WEX));
    ck_assert_int_ne(ein_graph_compile(g, NULL), EIN_OK);
    ein_graph_free(g);
}
END_TEST

START_TEST(nonfinite_is_reported_with_op_and_location)
{
    ein_graph *g = ein_graph_new(2);
    ein_node *x = ein_graph_input(g, "x", 3);
    ein_graph_set_where(g, "fig5.ein:12:3");
    ein_node *l = ein_log(g, x);
    ein_graph_set_where(g, "fig5.ein:13:3");
    ein_node *m = ein_mean(g, l);
    ein_plan *plan = ein_graph_plan(g, &m, 1);
    ck_assert_int_eq(ein_graph_compile(g, NULL), EIN_OK);
    for (int i = 0; i < 6; i++)
        x->val[i] = 1 + (ein_real)i;
    ein_graph_forward(g, plan);
    ck_assert_ptr_null(ein_graph_first_nonfinite(g, plan));
    ck_assert_ptr_null(ein_graph_first_nonfinite(g, NULL));
    x->val[4] = -1;                          /* log of a negative number in row 1 */
    ein_graph_forward(g, plan);
    ein_node *bad = ein_graph_first_nonfinite(g, plan);
    ck_assert_ptr_eq(bad, l);
    ck_assert_str_eq(bad->op->name, "log");
    ck_assert_str_eq(bad->where, "fig5.ein:12:3");
    ck_assert_ptr_eq(ein_graph_first_nonfinite(g, NULL), l);
    ein_graph_set_batch(g, 1);               /* the bad row is outside the batch */
    ein_graph_forward(g, plan);
    ck_assert_ptr_null(ein_graph_first_nonfinite(g, plan));
    ein_graph_free(g);
}
END_TEST

START_TEST(dot_has_nodes_edges_and_locations)
{
    ein_graph *g = ein_graph_new(4);
    ein_node *x = ein_graph_input(g, "x", 3);
    ein_node *w = ein_graph_param(g, "W_ex", 2, 3, EIN_GROUP_WEX);
    ein_graph_set_where(g, "tiny.ein:4:9");
    ein_node *z = ein_matmul(g, x, w, false, true);
    ein_node *s = ein_stop_grad(g, z);
    ein_node *loss = ein_mean(g, ein_relu(g, s));
    ein_graph_add_loss(g, loss, 0.5, EIN_GROUPS_ALL);
    ck_assert_int_eq(ein_graph_compile(g, NULL), EIN_OK);
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    ck_assert_ptr_nonnull(out);
    ein_graph_write_dot(g, out);
    fclose(out);
    const char *want[] = {
        "digraph ein {",
        "n0 [shape=box, style=rounded, label=\"x\\nB x 3\"]",
        "n1 [shape=box, style=filled, fillcolor=lightblue, label=\"W_ex\\n2 x 3\\n[wex]\"]",
        "n2 [shape=ellipse, label=\"matmul\\nB x 2\\ntiny.ein:4:9\"]",
        "n0 -> n2;", "n1 -> n2;",
        "n2 -> n3 [style=dashed];",              /* stop-gradient edge */
        "n4 [shape=ellipse, label=\"relu\\nB x 2\\ntiny.ein:4:9\"]",
        "n5 [shape=ellipse, label=\"mean\\n1 x 1\\ntiny.ein:4:9\"]",
        "loss0 [shape=doubleoctagon, label=\"loss 0\\nweight 0.5\"]",
        "n5 -> loss0;",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        ck_assert_msg(strstr(text, want[i]) != NULL, "missing %s in\n%s", want[i], text);
    ck_assert_int_eq(text[len - 2], '}');
    free(text);
    ein_graph_free(g);
}
END_TEST

START_TEST(profiling_counts_gemm_only_when_on)
{
    net n;
    net_build(&n, 16);
    ein_graph_add_loss(n.g, n.task, 1, EIN_GROUPS_ALL);
    net_run(&n, 16);
    ck_assert(ein_graph_gemm_seconds(n.g) == 0);          /* off by default */
    ck_assert(ein_graph_op_seconds(n.g, NULL) == 0);
    ein_graph_profile(n.g, true);
    for (int i = 0; i < 3; i++) {
        ein_graph_forward(n.g, NULL);
        ein_graph_backward(n.g);
    }
    double gemm = ein_graph_gemm_seconds(n.g), mm = ein_graph_op_seconds(n.g, "matmul");
    ck_assert(gemm > 0);
    ck_assert(mm >= gemm * 0.999 - 1e-9);                 /* GEMM time is inside the matmul ops' time */
    ck_assert(ein_graph_op_seconds(n.g, NULL) >= mm);
    ck_assert(ein_graph_op_seconds(n.g, "relu") > 0);
    ck_assert(ein_graph_op_seconds(n.g, "no_such_op") == 0);
    ein_graph_profile_reset(n.g);
    ck_assert(ein_graph_gemm_seconds(n.g) == 0 && ein_graph_op_seconds(n.g, NULL) == 0);
    long allocs = ein_graph_alloc_count(n.g);
    /* stale gradients where the replay's GEMMs write first: as in a sweep,
     * those writes assign (beta 0), so nothing stale survives them */
    ein_node *inner = NULL;                               /* x W_ixᵀ, which only a GEMM writes */
    for (int i = 0; i < ein_graph_n_nodes(n.g); i++) {
        ein_node *mm = ein_graph_nodes(n.g, i);
        if (mm->op != NULL && strcmp(mm->op->name, "matmul") == 0 && mm->child[1] == n.wei)
            inner = mm->child[0];
    }
    ck_assert_ptr_nonnull(inner);
    for (int k = 0; k < inner->rows * inner->cols; k++)
        inner->grad[k] = (ein_real)NAN;
    ein_graph_replay_gemm(n.g);                           /* only GEMMs: matmul nodes time nothing */
    for (int k = 0; k < inner->rows * inner->cols; k++)
        ck_assert_msg(!isnan((double)inner->grad[k]), "x W_ix^T [%d]: the replay added to a stale NaN", k);
    for (int i = 0; i < ein_graph_n_nodes(n.g); i++)
        ck_assert_msg(!ein_graph_nodes(n.g, i)->grad_fresh, "node %d left fresh by the replay", i);
    ck_assert(ein_graph_gemm_seconds(n.g) > 0);
    ck_assert(ein_graph_op_seconds(n.g, "relu") == 0);
    ck_assert_int_eq(ein_graph_alloc_count(n.g), allocs);
    ein_graph_profile(n.g, false);
    ein_graph_profile_reset(n.g);
    ein_graph_forward(n.g, NULL);
    ck_assert(ein_graph_gemm_seconds(n.g) == 0);
    ein_graph_free(n.g);
}
END_TEST

/* The entry of `shapes` for one GEMM shape, or NULL. */
static const ein_gemm_shape_time *shape_of(const ein_gemm_shape_time *shapes, int n, bool ta, bool tb, int m,
                                           int cols, int k)
{
    for (int i = 0; i < n; i++)
        if (shapes[i].ta == ta && shapes[i].tb == tb && shapes[i].m == m && shapes[i].n == cols && shapes[i].k == k)
            return &shapes[i];
    return NULL;
}

START_TEST(profiling_tells_gemm_time_by_shape)
{
    net n;
    net_build(&n, 16);
    ein_graph_add_loss(n.g, n.task, 1, EIN_GROUPS_ALL);
    net_run(&n, 16);
    const ein_gemm_shape_time *shapes;
    ck_assert_int_eq(ein_graph_gemm_shapes(n.g, &shapes), 0);   /* off by default */
    ein_graph_profile(n.g, true);
    for (int i = 0; i < 3; i++) {
        ein_graph_forward(n.g, NULL);
        ein_graph_backward(n.g);
    }
    /* x (16 × 5) is an input: no error for it, so W_ex and W_ix give their
     * forward and weight products, W_ei also the error of x·W_ixᵀ */
    static const struct { bool ta, tb; int m, n, k; } want[] = {
        { false, true, 16, 4, 5 }, { true, false, 4, 5, 16 },     /* x·W_exᵀ, dZᵀ·x */
        { false, true, 16, 2, 5 }, { true, false, 2, 5, 16 },     /* x·W_ixᵀ, dHᵀ·x */
        { false, true, 16, 4, 2 }, { true, false, 4, 2, 16 },     /* h·W_eiᵀ, dZᵀ·h */
        { false, false, 16, 2, 4 },                               /* dZ·W_ei */
    };
    int count = ein_graph_gemm_shapes(n.g, &shapes);
    ck_assert_int_eq(count, (int)(sizeof want / sizeof want[0]));
    double seconds = 0;
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const ein_gemm_shape_time *s = shape_of(shapes, count, want[i].ta, want[i].tb, want[i].m, want[i].n, want[i].k);
        ck_assert_msg(s != NULL, "no %c%c %d x %d x %d", want[i].ta ? 'T' : 'N', want[i].tb ? 'T' : 'N', want[i].m,
                      want[i].n, want[i].k);
        ck_assert_int_eq(s->calls, 3);
        seconds += s->seconds;
    }
    ck_assert(seconds > 0);
    ck_assert_double_eq_tol(seconds, ein_graph_gemm_seconds(n.g), 1e-12);
    ein_graph_profile_reset(n.g);
    ck_assert_int_eq(ein_graph_gemm_shapes(n.g, &shapes), 0);
    ein_graph_replay_gemm(n.g);                                 /* one step's products, each once */
    count = ein_graph_gemm_shapes(n.g, &shapes);
    ck_assert_int_eq(count, (int)(sizeof want / sizeof want[0]));
    for (int i = 0; i < count; i++)
        ck_assert_int_eq(shapes[i].calls, 1);
    ein_graph_free(n.g);
}
END_TEST

/* Shapes past the table's size still count in the totals, never in a slot. */
START_TEST(profiling_shapes_past_the_table_count_in_totals)
{
    enum { PRODUCTS = EIN_GRAPH_GEMM_SHAPES + 3 };
    ein_graph *g = ein_graph_new(2);
    ein_node *x = ein_graph_input(g, "x", 3);
    ein_node *total = NULL;
    for (int j = 1; j <= PRODUCTS; j++) {   /* x·W_jᵀ with W_j j × 3: PRODUCTS shapes */
        char name[16];
        snprintf(name, sizeof name, "W%d", j);
        ein_node *y = ein_mean(g, ein_matmul(g, x, ein_graph_param(g, name, j, 3, EIN_GROUP_WEX), false, true));
        total = total == NULL ? y : ein_add(g, total, y);
    }
    ein_err err = { 0 };
    ck_assert_msg(ein_graph_compile(g, &err) == EIN_OK, "%s", err.msg);
    ein_graph_set_batch(g, 2);
    ein_graph_profile(g, true);
    ein_graph_forward(g, NULL);
    const ein_gemm_shape_time *shapes;
    int count = ein_graph_gemm_shapes(g, &shapes);
    ck_assert_int_eq(count, EIN_GRAPH_GEMM_SHAPES);
    double seconds = 0;
    for (int i = 0; i < count; i++) {   /* W_1 .. W_64 in the order run; W_65 .. W_67 in no slot */
        ck_assert(!shapes[i].ta && shapes[i].tb && shapes[i].m == 2 && shapes[i].k == 3);
        ck_assert_int_eq(shapes[i].n, i + 1);
        ck_assert_int_eq(shapes[i].calls, 1);
        seconds += shapes[i].seconds;
    }
    ck_assert_double_eq(ein_graph_gemm_flops(g), 2.0 * 2 * 3 * (PRODUCTS * (PRODUCTS + 1) / 2));
    ck_assert(seconds <= ein_graph_gemm_seconds(g));
    ein_graph_free(g);
}
END_TEST

START_TEST(blas_threads_and_core)
{
    ein_blas_set_threads(1);
    const char *core = ein_blas_corename();
    ck_assert_ptr_nonnull(core);
    ck_assert_int_gt((int)strlen(core), 0);
}
END_TEST

/* ---- a fuller network: routing, weights, grad_of and the optimizer together ---- */

#define SUM_TOL TOL

#define N_IN 6
#define N_E 5
#define N_I 2
#define N_OUT 3

static double rnd_u(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return (double)(*s >> 11) / 9007199254740992.0;
}

typedef struct ei_net {
    ein_graph *g;
    ein_node *x, *wex, *wix, *wei, *b, *wout;
    ein_node *z, *h, *logits, *task, *local;
    int task_k, local_k;      /* loss indices, -1 when not registered */
} ei_net;

enum { WITH_TASK = 1, WITH_LOCAL = 2 };

static void fill_u(ein_node *n, double lo, double hi, uint64_t *s)
{
    for (size_t k = 0; k < len_of(n); k++)
        n->val[k] = (ein_real)(lo + (hi - lo) * rnd_u(s));
}

/* Build (not compile) the network; losses as `which` says, with weights and
 * group masks given. */
static void ei_build(ei_net *t, int cap, int which, double w_task, unsigned g_task, double w_local, unsigned g_local)
{
    memset(t, 0, sizeof *t);
    t->task_k = t->local_k = -1;
    ein_graph *g = t->g = ein_graph_new(cap);
    ck_assert_ptr_nonnull(g);
    t->x = ein_graph_input(g, "x", N_IN);
    t->x->requires_grad = true;
    t->wex = ein_graph_param(g, "W_ex", N_E, N_IN, EIN_GROUP_WEX);
    t->wix = ein_graph_param(g, "W_ix", N_I, N_IN, EIN_GROUP_WIX);
    t->wei = ein_graph_param(g, "W_ei", N_E, N_I, EIN_GROUP_WEI);
    t->b = ein_graph_param(g, "b", 1, N_E, EIN_GROUP_BIAS);
    t->wout = ein_graph_param(g, "W_out", N_OUT, N_E, EIN_GROUP_WEX);
    ein_node *he = ein_matmul(g, t->x, t->wex, false, true);
    ein_node *inh = ein_matmul(g, ein_matmul(g, t->x, t->wix, false, true), t->wei, false, true);
    t->z = ein_add(g, ein_sub(g, he, inh), t->b);
    t->h = ein_relu(g, ein_rownorm(g, t->z, EIN_NORM_LAYERNORM, EIN_LN_EPS));
    t->logits = ein_matmul(g, t->h, t->wout, false, true);
    t->task = ein_softmax_ce(g, t->logits, 0.1);
    t->local = ein_mean(g, ein_square(g, ein_sub(g, ein_stop_grad(g, he), inh)));
    ck_assert_ptr_nonnull(t->task);
    ck_assert_ptr_nonnull(t->local);
    if (which & WITH_TASK)
        t->task_k = ein_graph_add_loss(g, t->task, w_task, g_task);
    if (which & WITH_LOCAL)
        t->local_k = ein_graph_add_loss(g, t->local, w_local, g_local);
}

static void ei_compile_fill(ei_net *t, uint64_t seed)
{
    ein_err err = { 0 };
    ck_assert_msg(ein_graph_compile(t->g, &err) == EIN_OK, "%s", err.msg);
    uint64_t s = seed;
    fill_u(t->x, -1, 1, &s);
    fill_u(t->wex, 0, 0.8, &s);
    fill_u(t->wix, 0, 0.5, &s);
    fill_u(t->wei, 0, 0.5, &s);
    fill_u(t->b, -0.2, 0.2, &s);
    fill_u(t->wout, 0, 0.8, &s);
    int32_t *labels = ein_graph_labels(t->g);
    int cap = ein_graph_batch(t->g);
    for (int r = 0; r < cap; r++)
        labels[r] = (int32_t)(rnd_u(&s) * N_OUT) % N_OUT;
}

static void ei_step(ei_net *t)
{
    ein_graph_forward(t->g, NULL);
    ein_graph_backward(t->g);
}

/* the five parameters, in a fixed order */
static void ei_params(const ei_net *t, ein_node *p[5])
{
    p[0] = t->wex;
    p[1] = t->wix;
    p[2] = t->wei;
    p[3] = t->b;
    p[4] = t->wout;
}

static bool all_zero(const ein_node *n)
{
    for (size_t k = 0; k < len_of(n); k++)
        if (n->grad[k] != 0)
            return false;
    return true;
}

static double norm_of(const ein_real *v, size_t n)
{
    double s = 0;
    for (size_t k = 0; k < n; k++)
        s += (double)v[k] * v[k];
    return sqrt(s);
}

/* ‖a − b‖ ≤ tol · max(‖a‖, ‖b‖), with both non-zero */
static void expect_near(const ein_real *a, const double *b, size_t n, double tol, const char *what)
{
    double d = 0, na = 0, nb = 0;
    for (size_t k = 0; k < n; k++) {
        d += ((double)a[k] - b[k]) * ((double)a[k] - b[k]);
        na += (double)a[k] * a[k];
        nb += b[k] * b[k];
    }
    ck_assert_msg(na > 0 && nb > 0, "%s: a zero gradient (%g, %g)", what, na, nb);
    double rel = sqrt(d) / sqrt(na > nb ? na : nb);
    ck_assert_msg(rel <= tol, "%s: relative difference %.3g", what, rel);
}

static double *copy_grad(const ein_node *n)
{
    double *c = malloc(len_of(n) * sizeof *c);
    ck_assert_ptr_nonnull(c);
    for (size_t k = 0; k < len_of(n); k++)
        c[k] = n->grad[k];
    return c;
}

/* ---- routing -------------------------------------------------------------- */

START_TEST(group_mask_on_a_full_network)
{
    /* the task loss may update wex and bias only: wix, wei get exactly zero,
     * while the same loss with every group does reach them */
    unsigned only = 1u << EIN_GROUP_WEX | 1u << EIN_GROUP_BIAS;
    ei_net a, all;
    ei_build(&a, 4, WITH_TASK, 1, only, 0, 0);
    ei_compile_fill(&a, 7);
    ei_build(&all, 4, WITH_TASK, 1, EIN_GROUPS_ALL, 0, 0);
    ei_compile_fill(&all, 7);
    /* garbage in the gradients first: backward must overwrite, not keep it */
    for (size_t k = 0; k < len_of(a.wix); k++)
        a.wix->grad[k] = 123;
    ei_step(&a);
    ei_step(&all);
    ck_assert(all_zero(a.wix));
    ck_assert(all_zero(a.wei));
    ck_assert(!all_zero(all.wix));
    ck_assert(!all_zero(all.wei));
    /* the allowed groups get the same gradient as without the mask */
    ein_node *pa[3] = { a.wex, a.b, a.wout }, *pf[3] = { all.wex, all.b, all.wout };
    for (int i = 0; i < 3; i++) {
        ck_assert(!all_zero(pa[i]));
        ck_assert_int_eq(memcmp(pa[i]->grad, pf[i]->grad, len_of(pa[i]) * sizeof(ein_real)), 0);
    }
    /* and the input gradient (requires_grad) is there either way */
    ck_assert(!all_zero(a.x));

    /* an optimizer step then leaves the excluded groups where they were */
    ein_group_settings s[EIN_GROUP_COUNT];
    memset(s, 0, sizeof s);
    for (int k = 0; k < EIN_GROUP_COUNT; k++)
        s[k].lr = 0.5;
    ein_optim *opt = ein_optim_new(a.g, EIN_OPT_SGD, s, 0.9, 0.999, 1e-8, NULL);
    ck_assert_ptr_nonnull(opt);
    ein_real wix0 = a.wix->val[0], wex0 = a.wex->val[0];
    ein_optim_step(opt);
    ck_assert(a.wix->val[0] == wix0);
    ck_assert(a.wex->val[0] != wex0);
    ein_optim_free(opt);
    ein_graph_free(a.g);
    ein_graph_free(all.g);
}
END_TEST

START_TEST(local_loss_reaches_its_groups_only)
{
    /* M5: the local loss, allowed wix/wei, with sg(x W_exᵀ) inside: W_ex, b and
     * W_out get nothing from it, although W_ex is an ancestor */
    ei_net t;
    ei_build(&t, 3, WITH_LOCAL, 1, 0, 1, EIN_GROUPS_ALL);
    ei_compile_fill(&t, 8);
    ei_step(&t);
    ck_assert(all_zero(t.wex));
    ck_assert(all_zero(t.b));
    ck_assert(all_zero(t.wout));
    ck_assert(!all_zero(t.wix));
    ck_assert(!all_zero(t.wei));
    ein_graph_free(t.g);
}
END_TEST

START_TEST(route_zero_freezes_for_every_loss)
{
    ei_net t;
    ei_build(&t, 4, WITH_TASK | WITH_LOCAL, 1, EIN_GROUPS_ALL, 1, EIN_GROUPS_ALL);
    ein_node_route(t.wix, 0);
    ein_node_route(t.b, 1u << 1);     /* b: the second loss only (which cannot reach it) */
    ei_compile_fill(&t, 9);
    ei_step(&t);
    ck_assert(all_zero(t.wix));
    ck_assert(all_zero(t.b));
    ck_assert(!all_zero(t.wei));      /* reached by both losses */
    ck_assert(!all_zero(t.wex));

    /* the optimizer skips a route-0 parameter even with a stale gradient */
    for (size_t k = 0; k < len_of(t.wix); k++)
        t.wix->grad[k] = 1;
    ein_group_settings s[EIN_GROUP_COUNT];
    memset(s, 0, sizeof s);
    for (int k = 0; k < EIN_GROUP_COUNT; k++)
        s[k].lr = 0.1;
    ein_optim *opt = ein_optim_new(t.g, EIN_OPT_SGD, s, 0.9, 0.999, 1e-8, NULL);
    ein_real before = t.wix->val[1];
    ein_optim_step(opt);
    ck_assert(t.wix->val[1] == before);
    ein_optim_free(opt);
    ein_graph_free(t.g);
}
END_TEST

START_TEST(two_losses_add_and_weights_scale)
{
    /* W_ix and W_ei get gradients from both losses: both = task alone + local alone */
    ei_net both, ta, lo;
    ei_build(&both, 4, WITH_TASK | WITH_LOCAL, 1, EIN_GROUPS_ALL, 0.75, EIN_GROUPS_ALL);
    ei_build(&ta, 4, WITH_TASK, 1, EIN_GROUPS_ALL, 0, 0);
    ei_build(&lo, 4, WITH_LOCAL, 0, 0, 0.75, EIN_GROUPS_ALL);
    ei_compile_fill(&both, 10);
    ei_compile_fill(&ta, 10);
    ei_compile_fill(&lo, 10);
    ein_graph_set_batch(both.g, 3);
    ein_graph_set_batch(ta.g, 3);
    ein_graph_set_batch(lo.g, 3);
    ei_step(&both);
    ei_step(&ta);
    ei_step(&lo);
    ein_node *pb[5], *pt[5], *pl[5];
    ei_params(&both, pb);
    ei_params(&ta, pt);
    ei_params(&lo, pl);
    for (int i = 0; i < 5; i++) {
        size_t n = len_of(pb[i]);
        double *sum = malloc(n * sizeof *sum);
        for (size_t k = 0; k < n; k++)
            sum[k] = (double)pt[i]->grad[k] + (double)pl[i]->grad[k];
        expect_near(pb[i]->grad, sum, n, SUM_TOL, pb[i]->name);
        free(sum);
    }
    /* the local loss did contribute to W_ix (not only the task loss) */
    ck_assert(!all_zero(lo.wix) && !all_zero(ta.wix));
    ck_assert(norm_of(lo.wix->grad, len_of(lo.wix)) > 1e-3 * norm_of(ta.wix->grad, len_of(ta.wix)));
    ein_graph_free(both.g);
    ein_graph_free(ta.g);
    ein_graph_free(lo.g);

    /* loss weights: task weight 4 is 4× the weight-1 gradient (exact: a power
     * of two), weight 0.3 is 0.3× to rounding */
    ei_net w1, w4, w03;
    ei_build(&w1, 4, WITH_TASK, 1, EIN_GROUPS_ALL, 0, 0);
    ei_build(&w4, 4, WITH_TASK, 4, EIN_GROUPS_ALL, 0, 0);
    ei_build(&w03, 4, WITH_TASK, 0.3, EIN_GROUPS_ALL, 0, 0);
    ei_compile_fill(&w1, 11);
    ei_compile_fill(&w4, 11);
    ei_compile_fill(&w03, 11);
    ei_step(&w1);
    ei_step(&w4);
    ei_step(&w03);
    ein_node *p1[6] = { w1.wex, w1.wix, w1.wei, w1.b, w1.wout, w1.x };
    ein_node *p4[6] = { w4.wex, w4.wix, w4.wei, w4.b, w4.wout, w4.x };
    ein_node *p03[6] = { w03.wex, w03.wix, w03.wei, w03.b, w03.wout, w03.x };
    for (int i = 0; i < 6; i++) {
        size_t n = len_of(p1[i]);
        double *want = malloc(n * sizeof *want);
        for (size_t k = 0; k < n; k++) {
            ck_assert_msg(p4[i]->grad[k] == 4 * p1[i]->grad[k], "%s[%zu]: %.9g vs 4 x %.9g", p1[i]->name, k,
                          (double)p4[i]->grad[k], (double)p1[i]->grad[k]);
            want[k] = 0.3 * (double)p1[i]->grad[k];
        }
        expect_near(p03[i]->grad, want, n, SUM_TOL, "weight 0.3");
        free(want);
    }
    /* the loss value itself is not weighted */
    ck_assert(w4.task->val[0] == w1.task->val[0]);
    ein_graph_free(w1.g);
    ein_graph_free(w4.g);
    ein_graph_free(w03.g);
}
END_TEST

START_TEST(stop_grad_blocks_a_path)
{
    /* y = sg(x W1ᵀ) W2ᵀ: W1 gets nothing, W2 does; the value passes unchanged */
    ein_graph *g = ein_graph_new(3);
    ein_node *x = ein_graph_input(g, "x", 4);
    ein_node *w1 = ein_graph_param(g, "W1", 3, 4, EIN_GROUP_WEX);
    ein_node *w2 = ein_graph_param(g, "W2", 2, 3, EIN_GROUP_WEX);
    ein_node *h = ein_matmul(g, x, w1, false, true);
    ein_node *sh = ein_stop_grad(g, h);
    ein_node *loss = ein_sum(g, ein_square(g, ein_matmul(g, sh, w2, false, true)));
    ein_graph_add_loss(g, loss, 1, EIN_GROUPS_ALL);
    ck_assert_int_eq(ein_graph_compile(g, NULL), EIN_OK);
    uint64_t s = 12;
    fill_u(x, -1, 1, &s);
    fill_u(w1, -1, 1, &s);
    fill_u(w2, -1, 1, &s);
    ei_step(&(ei_net){ .g = g });
    for (size_t k = 0; k < len_of(h); k++)
        ck_assert(sh->val[k] == h->val[k]);
    ck_assert(all_zero(w1));
    ck_assert(!all_zero(w2));
    ein_graph_free(g);
}
END_TEST

/* ---- ein_graph_grad_of ------------------------------------------------------ */

START_TEST(grad_of_leaves_training_gradients_alone)
{
    /* training: task + local; auxiliary scalar: Σ z ⊙ R (M9-like, a fixed R) */
    ei_net t, alone;
    for (int pass = 0; pass < 2; pass++) {
        ei_net *u = pass == 0 ? &t : &alone;
        ei_build(u, 5, pass == 0 ? WITH_TASK | WITH_LOCAL : 0, 1, EIN_GROUPS_ALL, 0.5, EIN_GROUPS_ALL);
        ein_node *r = ein_graph_input(u->g, "R", N_E);
        ein_node *aux = ein_sum(u->g, ein_mul(u->g, ein_relu(u->g, u->z), r));
        ck_assert_ptr_nonnull(aux);
        if (pass == 1)
            ein_graph_add_loss(u->g, aux, 1, EIN_GROUPS_ALL);
        ei_compile_fill(u, 13);
        uint64_t s = 99;
        fill_u(r, -1, 1, &s);
        ein_graph_set_batch(u->g, 4);
        ei_step(u);
        if (pass == 1)
            break;

        /* snapshot every training gradient, then grad_of twice */
        ein_node *p[5];
        ei_params(u, p);
        ein_real *snap[6];
        for (int i = 0; i < 5; i++) {
            snap[i] = malloc(len_of(p[i]) * sizeof(ein_real));
            memcpy(snap[i], p[i]->grad, len_of(p[i]) * sizeof(ein_real));
        }
        snap[5] = malloc(len_of(u->x) * sizeof(ein_real));
        memcpy(snap[5], u->x->grad, len_of(u->x) * sizeof(ein_real));
        ein_real out1[N_E * N_IN], out2[N_E * N_IN], outb[N_E], outw[N_OUT * N_E];
        ein_graph_grad_of(u->g, aux, u->wex, out1);
        ein_graph_grad_of(u->g, aux, u->b, outb);
        ein_graph_grad_of(u->g, aux, u->wout, outw);   /* not an ancestor of aux: zero */
        ein_graph_grad_of(u->g, aux, u->wex, out2);
        for (int i = 0; i < 5; i++) {
            ck_assert_msg(memcmp(snap[i], p[i]->grad, len_of(p[i]) * sizeof(ein_real)) == 0,
                          "grad_of changed the training gradient of %s", p[i]->name);
            free(snap[i]);
        }
        ck_assert(memcmp(snap[5], u->x->grad, len_of(u->x) * sizeof(ein_real)) == 0);
        free(snap[5]);
        ck_assert(memcmp(out1, out2, sizeof out1) == 0);
        for (int k = 0; k < N_OUT * N_E; k++)
            ck_assert(outw[k] == 0);
        /* aux's gradient differs from the training one (a real second pass) */
        ck_assert(memcmp(out1, u->wex->grad, sizeof out1) != 0);
    }
    /* the separate backward of aux alone, same values: same gradient */
    {
        ein_real w_of[N_E * N_IN], b_of[N_E];
        ein_node *aux_t = NULL;
        for (int i = ein_graph_n_nodes(t.g) - 1; i >= 0; i--)
            if (ein_graph_nodes(t.g, i)->op && strcmp(ein_graph_nodes(t.g, i)->op->name, "sum") == 0) {
                aux_t = ein_graph_nodes(t.g, i);
                break;
            }
        ck_assert_ptr_nonnull(aux_t);
        ein_graph_grad_of(t.g, aux_t, t.wex, w_of);
        ein_graph_grad_of(t.g, aux_t, t.b, b_of);
        double want_w[N_E * N_IN], want_b[N_E];
        for (int k = 0; k < N_E * N_IN; k++)
            want_w[k] = alone.wex->grad[k];
        for (int k = 0; k < N_E; k++)
            want_b[k] = alone.b->grad[k];
        expect_near(w_of, want_w, N_E * N_IN, SUM_TOL, "grad_of W_ex vs backward");
        expect_near(b_of, want_b, N_E, SUM_TOL, "grad_of b vs backward");
    }
    ein_graph_free(t.g);
    ein_graph_free(alone.g);
}
END_TEST

START_TEST(grad_of_between_backward_and_step)
{
    /* two identical runs of 5 steps, one with grad_of between backward and the
     * optimizer step: the parameters end bit-identical */
    ei_net a, b;
    ein_optim *oa, *ob;
    ein_group_settings s[EIN_GROUP_COUNT];
    memset(s, 0, sizeof s);
    for (int k = 0; k < EIN_GROUP_COUNT; k++)
        s[k] = (ein_group_settings){ .lr = 0.05, .momentum = 0.5, .clamp_nonneg = k != EIN_GROUP_BIAS };
    ei_build(&a, 4, WITH_TASK | WITH_LOCAL, 1, EIN_GROUPS_ALL, 0.1, 1u << EIN_GROUP_WIX);
    ei_build(&b, 4, WITH_TASK | WITH_LOCAL, 1, EIN_GROUPS_ALL, 0.1, 1u << EIN_GROUP_WIX);
    ei_compile_fill(&a, 14);
    ei_compile_fill(&b, 14);
    oa = ein_optim_new(a.g, EIN_OPT_SGD, s, 0.9, 0.999, 1e-8, NULL);
    ob = ein_optim_new(b.g, EIN_OPT_SGD, s, 0.9, 0.999, 1e-8, NULL);
    ein_real scratch[N_E * N_IN];
    for (int step = 0; step < 5; step++) {
        ei_step(&a);
        ei_step(&b);
        ein_graph_grad_of(b.g, b.local, b.wix, scratch);
        ein_graph_grad_of(b.g, b.task, b.wex, scratch);
        ein_optim_step(oa);
        ein_optim_step(ob);
    }
    ein_node *pa[5], *pb[5];
    ei_params(&a, pa);
    ei_params(&b, pb);
    for (int i = 0; i < 5; i++)
        ck_assert_msg(memcmp(pa[i]->val, pb[i]->val, len_of(pb[i]) * sizeof(ein_real)) == 0, "%s",
                      pb[i]->name);
    ein_optim_free(oa);
    ein_optim_free(ob);
    ein_graph_free(a.g);
    ein_graph_free(b.g);
}
END_TEST

/* ---- memory ------------------------------------------------------------------- */

START_TEST(hundred_training_steps_allocate_nothing)
{
    ei_net t;
    ei_build(&t, 8, WITH_TASK | WITH_LOCAL, 1, 1u << EIN_GROUP_WEX | 1u << EIN_GROUP_BIAS, 0.01,
              1u << EIN_GROUP_WIX);
    ein_node *gt = ein_grad_transform(t.g, t.h, EIN_BWD_FULL, NULL, EIN_LN_EPS);
    ein_node *extra = ein_mean(t.g, gt);
    ck_assert_ptr_nonnull(extra);
    ei_compile_fill(&t, 15);
    ein_group_settings s[EIN_GROUP_COUNT];
    memset(s, 0, sizeof s);
    for (int k = 0; k < EIN_GROUP_COUNT; k++)
        s[k] = (ein_group_settings){ .lr = 0.01, .momentum = 0.9, .weight_decay = 0.01, .clamp_nonneg = true };
    ein_optim *opt = ein_optim_new(t.g, EIN_OPT_ADAM, s, 0.9, 0.999, 1e-8, NULL);
    ck_assert_ptr_nonnull(opt);
    long allocs = ein_graph_alloc_count(t.g);
    size_t bytes = ein_graph_bytes(t.g);
    ck_assert_int_ge(allocs, 1);
    ein_node *ups[1] = { t.task };
    ein_plan *plan = ein_graph_plan(t.g, ups, 1);
    ck_assert_ptr_nonnull(plan);
    ein_real scratch[N_E * N_IN];
    double first = 0, last = 0;
    for (int step = 0; step < 100; step++) {
        ein_graph_set_batch(t.g, step % 3 == 2 ? 5 : 8);
        ei_step(&t);
        if (step == 0)
            first = t.task->val[0];
        last = t.task->val[0];
        ein_graph_grad_of(t.g, t.local, t.wix, scratch);
        ein_optim_step(opt);
        ein_graph_forward(t.g, plan);
    }
    ck_assert_int_eq(ein_graph_alloc_count(t.g), allocs);
    ck_assert_uint_eq(ein_graph_bytes(t.g), bytes);
    ck_assert(isfinite(last));
    ck_assert_msg(last < first, "task loss %g -> %g over 100 steps", first, last);
    ein_optim_free(opt);
    ein_graph_free(t.g);
}
END_TEST

/* ---- errors ---------------------------------------------------------------------- */

START_TEST(first_construction_error_wins)
{
    ein_graph *g = ein_graph_new(4);
    ein_graph_set_where(g, "ei_net.ein:3:1");
    ein_node *x = ein_graph_input(g, "x", 6);
    ein_node *w = ein_graph_param(g, "W", 5, 6, EIN_GROUP_WEX);
    ein_node *h = ein_matmul(g, x, w, false, true);
    ck_assert_ptr_nonnull(h);
    ck_assert_str_eq(h->where, "ei_net.ein:3:1");
    ein_graph_set_where(g, "ei_net.ein:4:9");
    ein_node *bad = ein_matmul(g, h, w, false, true);      /* 5 columns against 6 */
    ck_assert_ptr_null(bad);
    /* everything after is NULL too; a later error does not replace the first */
    ein_graph_set_where(g, "ei_net.ein:5:2");
    ck_assert_ptr_null(ein_relu(g, bad));
    ck_assert_ptr_null(ein_add(g, h, ein_graph_param(g, "c", 2, 3, EIN_GROUP_BIAS)));
    ck_assert_int_eq(ein_graph_add_loss(g, NULL, 1, EIN_GROUPS_ALL), -1);
    ein_err err = { 0 };
    ck_assert_int_ne(ein_graph_compile(g, &err), EIN_OK);
    ck_assert_int_ne(err.code, EIN_OK);
    ck_assert_msg(strstr(err.msg, "ei_net.ein:4:9") != NULL, "%s", err.msg);
    ck_assert_msg(strstr(err.msg, "matmul") != NULL, "%s", err.msg);
    ck_assert_msg(strstr(err.msg, "ei_net.ein:5:2") == NULL, "%s", err.msg);
    ein_graph_free(g);

    /* a loss that is not a scalar */
    g = ein_graph_new(2);
    ein_graph_set_where(g, "loss.ein:7:3");
    x = ein_graph_input(g, "x", 3);
    ck_assert_int_eq(ein_graph_add_loss(g, ein_row_mean(g, x), 1, EIN_GROUPS_ALL), -1);
    memset(&err, 0, sizeof err);
    ck_assert_int_ne(ein_graph_compile(g, &err), EIN_OK);
    ck_assert_msg(strstr(err.msg, "loss.ein:7:3") != NULL && strstr(err.msg, "scalar") != NULL, "%s", err.msg);
    ein_graph_free(g);

    /* nodes cannot be added after compile */
    g = ein_graph_new(2);
    x = ein_graph_input(g, "x", 3);
    ck_assert_int_eq(ein_graph_compile(g, NULL), EIN_OK);
    ck_assert_ptr_null(ein_relu(g, x));
    ein_graph_free(g);
}
END_TEST

/* ---- Graphviz -------------------------------------------------------------------- */

START_TEST(dot_lists_every_edge)
{
    ei_net t;
    ein_graph *g;
    ei_build(&t, 4, WITH_TASK, 1, EIN_GROUPS_ALL, 0, 0);
    g = t.g;
    ck_assert_int_eq(ein_graph_compile(g, NULL), EIN_OK);
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    ck_assert_ptr_nonnull(f);
    ein_graph_write_dot(g, f);
    fclose(f);
    ck_assert_ptr_nonnull(buf);
    ck_assert_msg(strncmp(buf, "digraph", 7) == 0, "%.40s", buf);
    ck_assert(buf[size - 2] == '}');
    const char *want[] = { "W_ex", "W_ix", "W_ei", "W_out", "matmul", "rownorm", "relu", "softmax_ce",
                           "stop_grad", "wex", "wix", "wei", "bias", "5 x 6", "B x 6" };
    for (size_t k = 0; k < sizeof want / sizeof *want; k++)
        ck_assert_msg(strstr(buf, want[k]) != NULL, "dot output lacks '%s':\n%s", want[k], buf);
    /* every edge child → parent appears */
    int edges = 0;
    for (int i = 0; i < ein_graph_n_nodes(g); i++) {
        ein_node *n = ein_graph_nodes(g, i);
        for (int c = 0; c < n->n_child; c++) {
            char e[64];
            snprintf(e, sizeof e, "n%d -> n%d", n->child[c]->id, n->id);
            ck_assert_msg(strstr(buf, e) != NULL, "dot output lacks edge '%s'", e);
            edges++;
        }
    }
    ck_assert_int_ge(edges, 15);
    /* the loss is drawn */
    char e[64];
    snprintf(e, sizeof e, "n%d -> loss0", t.task->id);
    ck_assert_msg(strstr(buf, e) != NULL, "%s", buf);
    free(buf);
    ein_graph_free(g);
}
END_TEST

/* ---- batch ------------------------------------------------------------------------- */

START_TEST(unused_rows_are_never_read)
{
    /* capacity 8, batch 3: same loss and gradients as a capacity-3 graph with
     * the same three rows, whatever the unused rows hold */
    ei_net big, small;
    ei_build(&big, 8, WITH_TASK | WITH_LOCAL, 1, EIN_GROUPS_ALL, 0.5, EIN_GROUPS_ALL);
    ei_build(&small, 3, WITH_TASK | WITH_LOCAL, 1, EIN_GROUPS_ALL, 0.5, EIN_GROUPS_ALL);
    ei_compile_fill(&big, 16);
    ei_compile_fill(&small, 17);
    /* parameters and the first three rows from big into small */
    ein_node *pbig[5], *ps[5];
    ei_params(&big, pbig);
    ei_params(&small, ps);
    for (int i = 0; i < 5; i++)
        memcpy(ps[i]->val, pbig[i]->val, len_of(ps[i]) * sizeof(ein_real));
    memcpy(small.x->val, big.x->val, 3 * N_IN * sizeof(ein_real));
    memcpy(ein_graph_labels(small.g), ein_graph_labels(big.g), 3 * sizeof(int32_t));
    for (int k = 3 * N_IN; k < 8 * N_IN; k++)
        big.x->val[k] = (ein_real)NAN;
    ein_graph_set_batch(big.g, 3);
    ck_assert_int_eq(ein_graph_batch(big.g), 3);
    ck_assert_int_eq(big.x->rows, 3);
    ck_assert_int_eq(big.z->rows, 3);
    ck_assert_int_eq(big.wex->rows, N_E);
    ei_step(&big);
    ei_step(&small);
    ck_assert(isfinite(big.task->val[0]) && isfinite(big.local->val[0]));
    double tol = SUM_TOL;
    ck_assert_msg(fabs(big.task->val[0] - small.task->val[0]) <= tol * fabs(small.task->val[0]), "%g vs %g",
                  (double)big.task->val[0], (double)small.task->val[0]);
    ck_assert(fabs(big.local->val[0] - small.local->val[0]) <= tol * fabs(small.local->val[0]));
    for (int i = 0; i < 5; i++) {
        double *want = copy_grad(ps[i]);
        expect_near(pbig[i]->grad, want, len_of(ps[i]), tol, ps[i]->name);
        free(want);
    }
    double *wx = copy_grad(small.x);
    expect_near(big.x->grad, wx, 3 * N_IN, tol, "x");
    free(wx);
    /* batch is clamped to [1, capacity] and back to the full batch works */
    ein_graph_set_batch(big.g, 100);
    ck_assert_int_eq(ein_graph_batch(big.g), 8);
    ein_graph_free(big.g);
    ein_graph_free(small.g);
}
END_TEST

Suite *ein_test_suite(void)
{
    Suite *s = suite_create("graph");
    TCase *r = tcase_create("routing");
    tcase_add_test(r, group_mask_leaves_other_groups_exactly_zero);
    tcase_add_test(r, two_losses_into_one_parameter_add);
    tcase_add_test(r, per_parameter_routing);
    tcase_add_test(r, local_loss_stops_at_stop_gradient);
    tcase_add_test(r, grad_of_leaves_training_gradients_untouched);
    suite_add_tcase(s, r);
    TCase *run = tcase_create("running");
    tcase_add_test(run, smaller_last_batch_needs_no_rebuild);
    tcase_add_test(run, steps_allocate_nothing);
    tcase_add_test(run, plan_runs_only_ancestors);
    tcase_add_test(run, construction_errors_are_located);
    tcase_add_test(run, nonfinite_is_reported_with_op_and_location);
    tcase_add_test(run, dot_has_nodes_edges_and_locations);
    tcase_add_test(run, profiling_counts_gemm_only_when_on);
    tcase_add_test(run, profiling_tells_gemm_time_by_shape);
    tcase_add_test(run, profiling_shapes_past_the_table_count_in_totals);
    tcase_add_test(run, blas_threads_and_core);
    suite_add_tcase(s, run);
    TCase *tr = tcase_create("training");
    tcase_add_test(tr, group_mask_on_a_full_network);
    tcase_add_test(tr, local_loss_reaches_its_groups_only);
    tcase_add_test(tr, route_zero_freezes_for_every_loss);
    tcase_add_test(tr, two_losses_add_and_weights_scale);
    tcase_add_test(tr, stop_grad_blocks_a_path);
    tcase_add_test(tr, grad_of_leaves_training_gradients_alone);
    tcase_add_test(tr, grad_of_between_backward_and_step);
    tcase_add_test(tr, hundred_training_steps_allocate_nothing);
    tcase_add_test(tr, first_construction_error_wins);
    tcase_add_test(tr, dot_lists_every_edge);
    tcase_add_test(tr, unused_rows_are_never_read);
    suite_add_tcase(s, tr);
    return s;
}
