/* graph.h — the computation graph and reverse-mode autodiff engine.
 *
 * A graph is built once per cell: leaves (inputs, parameters) and op nodes
 * made by the constructors in ops.h.  Children always exist before their
 * parents, so creation order is a topological order (no sort needed).
 * Constructors infer shapes; a shape error is recorded in the graph (first
 * one wins, with the node's `where` location) and the constructor returns
 * NULL; any constructor given a NULL child returns NULL, so a builder can
 * chain calls and check once, at ein_graph_compile().
 *
 * Memory: the graph owns every node and buffer.  ein_graph_compile() sizes
 * and allocates all values, gradients and op scratch from the graph's arena
 * in one go; after that, forward/backward/optimizer steps allocate nothing.
 * ein_graph_free() releases everything.
 *
 * Batch: nodes whose rows are examples ("per-example") are allocated for
 * `cap_batch` rows; ein_graph_set_batch() picks how many rows the next
 * forward/backward uses (≤ cap_batch), so a smaller last batch needs no
 * rebuild.
 *
 * Losses and routing (model.md M5, M8): several scalar losses, each with a
 * weight and a mask of parameter groups it may update; a parameter may also
 * exclude individual losses (ein_node_route).  Each loss gets its own
 * backward pass over the nodes that lead from it to a parameter it may
 * update; gradients of different losses into one parameter add.
 */
#ifndef EIN_GRAPH_H
#define EIN_GRAPH_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "ein/config.h"
#include "ein/tensor.h"
#include "ein/err.h"
#include "ein/gemm.h"

#define EIN_MAX_CHILDREN 3
#define EIN_GRAPH_MAX_LOSSES 8

typedef struct ein_node ein_node;
typedef struct ein_graph ein_graph;
typedef struct ein_plan ein_plan;

typedef enum ein_node_kind {
    EIN_NODE_INPUT = 0,   /* set by the caller each step (data batch) */
    EIN_NODE_PARAM,       /* trainable; belongs to a group */
    EIN_NODE_OP
} ein_node_kind;

/* An op: its forward and backward side by side (ops.c).  `backward` adds
 * (+=) into the gradient of each child that is active in the current pass.
 * An intermediate's gradient starts each pass "fresh" (node->grad_fresh):
 * its buffer still holds the last pass's numbers and reads as zero.  An op
 * with `assigns` writes a fresh child's gradient with "=" and clears the flag
 * (ein_grad_take_fresh), so no pass over the buffer zeroes it first; for any
 * other op the graph zeroes a fresh child just before that op's backward. */
typedef struct ein_op {
    const char *name;
    unsigned diff_children;           /* bit i: gradient flows to child i */
    bool alias_value;                 /* forward is the identity: value shares child 0's buffer */
    void (*forward)(ein_node *n);
    void (*backward)(ein_node *n);
    bool assigns;                     /* backward honours grad_fresh (above) */
} ein_op;

struct ein_node {
    const ein_op *op;                 /* NULL for leaves */
    ein_node_kind kind;
    int id;                           /* creation index = topological position */
    int rows, cols;                   /* current shape */
    int fixed_rows;                   /* rows when not per-example */
    bool per_example;                 /* rows follow the batch */
    ein_real *val, *grad;             /* grad is NULL for nodes that can never get one */
    int n_child;
    ein_node *child[EIN_MAX_CHILDREN];
    double arg[4];                    /* op parameters (eps, smoothing, scalars, ...) */
    int iarg[4];                      /* op integer parameters (transposes, modes, broadcast) */
    ein_real *aux;                    /* op scratch, `aux_per_row` × the node's rows (cap rows
                                         when per example) + `aux_fixed` */
    int aux_per_row, aux_fixed;
    ein_graph *graph;
    /* parameters */
    ein_group group;
    unsigned loss_route;              /* bit k: loss k may update this parameter */
    bool requires_grad;               /* inputs: a gradient w.r.t. this input is wanted */
    bool active;                      /* in the current backward pass */
    bool grad_fresh;                  /* this pass has not written grad yet: it reads as zero */
    const char *name;                 /* copied into the graph; may be NULL */
    const char *where;                /* source location of the construct that made it */
    double seconds;                   /* cumulative forward+backward time when profiling */
    double fused_lr;                  /* > 0: ein_graph_backward_update() applies plain SGD with
                                         this rate inside the parameter's one gradient GEMM */
    bool fused_clamp;                 /* with fused_lr: that GEMM also clamps at 0 (M8's sign
                                         constraint; ein_gemm_clamped) */
};

/* ---- building ---------------------------------------------------------- */

/* A new, empty graph whose per-example nodes hold up to `cap_batch` rows.
 * NULL only when out of memory.  Free with ein_graph_free(). */
ein_graph *ein_graph_new(int cap_batch);
void ein_graph_free(ein_graph *g);

/* The `where` string given to every node created from now on (copied). */
void ein_graph_set_where(ein_graph *g, const char *where);

/* A batch input of `cols` features per example. */
ein_node *ein_graph_input(ein_graph *g, const char *name, int cols);
/* A trainable parameter of fixed shape in `group`; values are zero after
 * compile until the caller fills node->val. */
ein_node *ein_graph_param(ein_graph *g, const char *name, int rows, int cols, ein_group group);
/* Restrict which losses may update a parameter (bit k = k-th loss added);
 * 0 freezes it (no loss reaches it, the optimizer skips it). */
void ein_node_route(ein_node *param, unsigned loss_mask);

/* Register a scalar (1×1) node as a loss with a weight and the groups it may
 * update (bit g = ein_group g).  Returns its index, or -1 (error recorded). */
int ein_graph_add_loss(ein_graph *g, ein_node *loss, double weight, unsigned group_mask);

/* Record a construction error (first one wins).  Used by ops.c. */
void ein_graph_fail(ein_graph *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Build-time memory owned by the graph (zeroed; freed with it).  Used by ops.c. */
void *ein_graph_keep(ein_graph *g, size_t bytes);
/* Allocate a node (ops.c); NULL if any child is NULL or after an error. */
ein_node *ein_graph_node(ein_graph *g, const ein_op *op, int n_child, ein_node *const *child);
/* For an op with `assigns`, before it writes child c's gradient: true if
 * this is the pass's first write, to be done with "=" (the buffer's old
 * numbers are not zero and must not be read into the sum), false if it adds.
 * Either way the gradient is no longer fresh afterwards, so the op must then
 * write every element (rows × cols), or zero what it does not write. */
static inline bool ein_grad_take_fresh(ein_node *c)
{
    bool fresh = c->grad_fresh;
    c->grad_fresh = false;
    return fresh;
}

/* Hold per-example gradients for `rows` ≤ cap_batch rows only (default
 * cap_batch), for a graph that evaluates in bigger batches than it trains.
 * Before compile; a backward or grad_of over more rows is a bug (abort). */
void ein_graph_set_grad_rows(ein_graph *g, int rows);

/* Allocate every buffer and compute per-loss routing.  After this, no more
 * nodes may be added.  Returns the first construction error, if any. */
ein_code ein_graph_compile(ein_graph *g, ein_err *err);

/* An evaluation plan: the ancestors of `outputs` in topological order.
 * Make plans after building, before or after compile; owned by the graph. */
ein_plan *ein_graph_plan(ein_graph *g, ein_node *const *outputs, int n_outputs);

/* ---- running ------------------------------------------------------------- */

void ein_graph_set_batch(ein_graph *g, int rows);     /* 1 ≤ rows ≤ cap_batch */
int ein_graph_batch(const ein_graph *g);
/* Class labels of the current batch (cap_batch entries), read by softmax-CE. */
int32_t *ein_graph_labels(ein_graph *g);

/* Forward over a plan (NULL = every node). */
void ein_graph_forward(ein_graph *g, const ein_plan *plan);
/* Zero every parameter gradient, then run each loss's backward pass
 * (forward must have run over the losses' ancestors).  A parameter routed
 * to no loss is never written and keeps its zero gradient from compile. */
void ein_graph_backward(ein_graph *g);
/* Gradient of the scalar node `scalar` with respect to `param` into `out`
 * (param's size, caller-owned), in a pass of its own over the nodes between
 * the two: parameter gradients from ein_graph_backward() are left untouched
 * (model.md M9 alignment), so it may run between backward and the optimizer
 * step.  It reuses the intermediate (op-node) gradient buffers, whose
 * contents after a backward are scratch.  Forward must have run over
 * `scalar`'s ancestors.  Allocates nothing. */
void ein_graph_grad_of(ein_graph *g, ein_node *scalar, ein_node *param, ein_real *out);

/* Fused SGD (the optimizer's business, optim.h).  A parameter whose whole
 * gradient in a training backward is one GEMM — it feeds exactly one node, a
 * matmul whose other operand is not a parameter, and exactly one loss
 * reaches it — can be updated inside that GEMM:
 * θ ← θ − lr·∂L/∂θ is the GEMM with alpha = −lr, beta = 1 into θ itself, so
 * the gradient is never written or read.  Only that matmul reads θ, and it
 * reads it (for its other operand's gradient) before the update.
 * ein_graph_fusable() says whether `param` qualifies (after compile). */
bool ein_graph_fusable(const ein_graph *g, const ein_node *param);
/* ein_graph_backward(), except that every parameter with fused_lr > 0 is
 * updated in place by its GEMM; its grad buffer is neither zeroed nor
 * written (stale).  ein_graph_backward() and grad_of ignore fused_lr. */
void ein_graph_backward_update(ein_graph *g);

/* ---- inspection -------------------------------------------------------- */

int ein_graph_n_nodes(const ein_graph *g);
ein_node *ein_graph_nodes(const ein_graph *g, int i);
int ein_graph_n_losses(const ein_graph *g);
ein_node *ein_graph_loss(const ein_graph *g, int k);
/* Arena growths so far: constant across training steps (tests assert it). */
long ein_graph_alloc_count(const ein_graph *g);
size_t ein_graph_bytes(const ein_graph *g);

/* The first node, in topological order, whose value holds a NaN or ±Inf
 * after a forward over `plan` (NULL = every node, leaves included; with a
 * plan, its op nodes), or NULL when all are finite.  Its op->name and
 * `where` let a divergence be reported as "row_var at fig5.ein:9:5".
 * Reads the current batch's rows only; allocates nothing. */
ein_node *ein_graph_first_nonfinite(const ein_graph *g, const ein_plan *plan);

/* Graphviz dot: leaves as boxes (parameters with their group), ops as
 * ellipses labelled with op name, shape and source location. */
void ein_graph_write_dot(const ein_graph *g, FILE *out);

/* Profiling: when on, every op's forward+backward time accumulates in
 * node->seconds and GEMM time in ein_graph_gemm_seconds().  Off by default. */
void ein_graph_profile(ein_graph *g, bool on);
/* Whose kernels run the graph's matmuls (gemm.h): ein_gemm_kernel_default()
 * when the graph is made, or as set (AUTO resolved to this CPU's).  A
 * supported kernel only; our own kernels give the same bits on each. */
void ein_graph_set_gemm(ein_graph *g, ein_gemm_kernel kernel);
ein_gemm_kernel ein_graph_gemm(const ein_graph *g);
double ein_graph_gemm_seconds(const ein_graph *g);
/* Floating-point operations (2·m·n·k per call) of the GEMMs timed so far. */
double ein_graph_gemm_flops(const ein_graph *g);
void ein_graph_profile_reset(ein_graph *g);
/* The profiled GEMMs by shape: C (m × n) = op(A)·op(B) over depth k, with
 * op(A) = Aᵀ when ta and op(B) = Bᵀ when tb (ops.c: x·Wᵀ forward is NT, the
 * error dZ·W is NN, the weights' dZᵀ·X is TN).  Which products of a step run
 * slowly, in the step itself rather than alone. */
typedef struct ein_gemm_shape_time {
    bool ta, tb;
    int m, n, k;
    long calls;
    double seconds;
} ein_gemm_shape_time;
enum { EIN_GRAPH_GEMM_SHAPES = 64 };
/* The shapes in the order first timed since the last reset, at most
 * EIN_GRAPH_GEMM_SHAPES (calls of further shapes count only in the totals
 * above); *shapes points into the graph: the next profiled pass adds to it,
 * a reset empties it, and it is freed with the graph. */
int ein_graph_gemm_shapes(const ein_graph *g, const ein_gemm_shape_time **shapes);
/* Profiled forward+backward seconds summed over the nodes whose op is named
 * `op_name` ("matmul", "rownorm", ...; NULL = every op node). */
double ein_graph_op_seconds(const ein_graph *g, const char *op_name);
/* Run exactly the GEMM calls of one forward+backward step (same shapes,
 * transposes and betas, on the graph's own buffers) — for "time in sgemm
 * alone".  It overwrites matmul values and gradients: call it only for
 * timing, never between a backward and an optimizer step. */
void ein_graph_replay_gemm(ein_graph *g);

#endif
