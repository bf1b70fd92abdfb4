/* ops.h — op constructors.  Each returns a new node of graph g (owned by
 * it), or NULL with the error recorded in g (see graph.h).  Forward and
 * backward of every op live side by side in ops.c.
 *
 * Broadcasting for the binary elementwise ops: b has a's shape, or is a
 * 1 × cols row (bias), or a rows × 1 column (one number per example), or 1 × 1.
 */
#ifndef EIN_OPS_H
#define EIN_OPS_H

#include "ein/graph.h"

#define EIN_LN_EPS 1e-5   /* ε_ln of model.md */

ein_node *ein_matmul(ein_graph *g, ein_node *a, ein_node *b, bool trans_a, bool trans_b);
/* a bᵀ for a fixed b whose entries all equal b[0][0] (the caller's promise,
 * e.g. a frozen uniform B_ei, model.md M4): b[0][0]·Σ_k a_k, one number per
 * row (rows × 1); b gets no gradient. */
ein_node *ein_matmul_uniform(ein_graph *g, ein_node *a, ein_node *b);
/* (a ⊙ a) bᵀ for such a b, in one node: b[0][0]·Σ_k a_k² (M4c's divisive term). */
ein_node *ein_squares_uniform(ein_graph *g, ein_node *a, ein_node *b);
ein_node *ein_add(ein_graph *g, ein_node *a, ein_node *b);
ein_node *ein_sub(ein_graph *g, ein_node *a, ein_node *b);
ein_node *ein_mul(ein_graph *g, ein_node *a, ein_node *b);
ein_node *ein_div(ein_graph *g, ein_node *a, ein_node *b);
/* (a − b) / c in one node: b has a's shape, c has it too or is a column
 * (one number per row).  I-Norm's z and u (model.md M4d, M5). */
ein_node *ein_sub_div(ein_graph *g, ein_node *a, ein_node *b, ein_node *c);
ein_node *ein_scale(ein_graph *g, ein_node *a, double s);        /* s · a */
ein_node *ein_add_scalar(ein_graph *g, ein_node *a, double s);   /* a + s */
ein_node *ein_square(ein_graph *g, ein_node *a);
ein_node *ein_sqrt(ein_graph *g, ein_node *a);
ein_node *ein_exp(ein_graph *g, ein_node *a);
ein_node *ein_log(ein_graph *g, ein_node *a);
ein_node *ein_relu(ein_graph *g, ein_node *a);
ein_node *ein_clamp(ein_graph *g, ein_node *a, double lo, double hi);
ein_node *ein_row_mean(ein_graph *g, ein_node *a);   /* rows × 1 */
ein_node *ein_row_var(ein_graph *g, ein_node *a);    /* rows × 1, population variance (÷ D) */
/* (row_mean(a) − mean_target)² + (row_var(a) − var_target)², rows × 1, in
 * one pass each way: the I-Norm loss's terms (model.md M5). */
ein_node *ein_moment_penalty(ein_graph *g, ein_node *a, double mean_target, double var_target);
ein_node *ein_sum(ein_graph *g, ein_node *a);        /* 1 × 1 */
ein_node *ein_mean(ein_graph *g, ein_node *a);       /* 1 × 1 */
ein_node *ein_stop_grad(ein_graph *g, ein_node *a);  /* identity forward, no gradient */

/* Row-wise normalization without affine parameters (model.md M3). */
typedef enum ein_norm_mode {
    EIN_NORM_LAYERNORM = 0,  /* (z − mean)/sqrt(var + ε), exact backward */
    EIN_NORM_CENTER,         /* z − mean, exact backward */
    EIN_NORM_SCALE,          /* z / sqrt(var + ε), exact backward */
    EIN_NORM_LAYERNORM_FWD   /* layernorm forward, identity backward */
} ein_norm_mode;
ein_node *ein_rownorm(ein_graph *g, ein_node *z, ein_norm_mode mode, double eps);

/* Backward-only transform (model.md M6, GradNorm): identity forward; the
 * backward maps the incoming error g, per row, using z = the forward value.
 * `fa_weights` (z->cols values, copied) is used by EIN_BWD_FA_CENTER only. */
ein_node *ein_grad_transform(ein_graph *g, ein_node *z, ein_bwd_norm kind,
                             const double *fa_weights, double eps);

/* Another transform like `like` (same kind and ε) on z, sharing — not
 * copying — its fixed fa_center weights, so both always apply the same map. */
ein_node *ein_grad_transform_like(ein_graph *g, ein_node *z, const ein_node *like);

/* Softmax cross-entropy against ein_graph_labels() with label smoothing s
 * (target (1−s)·onehot + s/K), mean over the batch → 1 × 1.  The softmax
 * probabilities of the last forward are kept in node->aux (rows × K). */
ein_node *ein_softmax_ce(ein_graph *g, ein_node *logits, double smoothing);

#endif
