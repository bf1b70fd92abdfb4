/* check_graph.c — the graph around the ops: loss routing by group and by
 * parameter (model.md M5, M8), local losses that stop at stop-gradients,
 * per-loss reachability, the M9 side gradient (ein_graph_grad_of), a smaller
 * last batch without rebuilding, plans, no allocation during steps,
 * construction errors with their source location, NaN location, Graphviz
 * output, profiling and the GEMM replay. */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ein/graph.h"
#include "ein/ops.h"

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
    ein_graph_replay_gemm(n.g);                           /* only GEMMs: matmul nodes time nothing */
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

START_TEST(blas_threads_and_core)
{
    ein_blas_set_threads(1);
    const char *core = ein_blas_corename();
    ck_assert_ptr_nonnull(core);
    ck_assert_int_gt((int)strlen(core), 0);
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
    tcase_add_test(run, blas_threads_and_core);
    suite_add_tcase(s, run);
    return s;
}
