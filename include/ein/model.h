/* model.h — the paper's network (model.md M1–M9) built from engine ops.
 *
 * ein_model_build() turns a resolved ein_cell_config into one engine graph:
 * E/I (M1) or E-only (M3) hidden layers with their forward normalization
 * (M3, or I-Norm M4/M5 with its local loss), the GradNorm backward transform
 * (M6), ReLU, an E/I output layer and the label-smoothed task loss (M7), with
 * parameter groups and loss routing per M8.  No op here has a hand-written
 * backward: everything is composed from ops.h.
 *
 * The model owns its graph; ein_model_free() releases both.  Parameters are
 * zero until ein_model_init() (M2 initialisation) or until the caller loads
 * values (tests load the paper's reference tensors by name).
 */
#ifndef EIN_MODEL_H
#define EIN_MODEL_H

#include "ein/config.h"
#include "ein/graph.h"
#include "ein/rng.h"

typedef struct ein_layer {
    ein_layer_config cfg;           /* resolved */
    int n_in;
    ein_node *W_ex, *W_ix, *W_ei, *b;   /* M1; W_ix/W_ei NULL for E-only layers */
    ein_node *B_ix, *B_ei;          /* M4 divisive inhibition, I-Norm layers only */
    bool bei_frozen;                /* the cell freezes B_ei (set before ein_layer_build): with
                                       B_ei outside inhib_learn, M4's d is a row sum (uniform B_ei) */
    ein_node *z;                    /* pre-ReLU output used by M9 moments: M1 z before any
                                       norm for E/I layers, the normalized z (M4d) for I-Norm */
    ein_node *gradnorm;             /* the M6 transform node, or NULL (fa_center keeps its
                                       fixed weights in gradnorm->aux) */
    ein_node *out;                  /* what the next layer sees (after norm, GradNorm, act) */
    ein_node *local_loss;           /* M5 per-layer I-Norm loss (without λ), or NULL */
    ein_node *align_ref, *align_op; /* M9: Σ ReLU(LN(z)) (fa_center: Σ ReLU(z), centering backward) and Σ ReLU(G(z)) */
    ein_node *out_ln;               /* M9: ReLU(LN(z)) for output alignment */
    ein_node *out_relu;             /* M9: ReLU(z) */
} ein_layer;

typedef struct ein_model {
    ein_graph *graph;
    ein_cell_config cfg;            /* resolved copy */
    int n_in, n_classes, cap_batch;
    ein_node *x;                    /* input batch (B × n_in) */
    int n_hidden;
    ein_layer hidden[EIN_MAX_HIDDEN];
    ein_layer output;
    ein_node *logits;
    ein_node *task_loss;            /* mean label-smoothed CE */
    ein_node *inorm_loss;           /* Σ over layers of M5 losses (without λ), or NULL */
    int task_index, inorm_index;    /* loss indices in the graph (-1 = none) */
    ein_plan *train_plan;           /* forward for a training step (losses) */
    ein_plan *eval_plan;            /* logits and every layer's z */
    ein_plan *align_plan;           /* the M9 alignment branches */
} ein_model;

/* Build and compile.  `n_in` pixels per example, `n_classes` outputs,
 * batches of up to `cap_batch` (gradients for up to cfg->train.batch of them:
 * training batches; evaluation may run bigger ones, forward only).  `want_grad_x`: keep a gradient for the input
 * (tests).  On failure returns the error code with err set (message names
 * the layer's source location) and *out = NULL. */
/* Whether a cell's model fits: every weight matrix within int indexing and
 * the estimated memory (*bytes: weights, gradients, optimizer state,
 * activations) within the machine's physical memory.  EIN_ERR_NOMEM with the
 * estimate in the message otherwise.  Checked when a grid is expanded, so a
 * width that cannot fit is an error of the file, before any cell runs. */
ein_code ein_model_check_size(const ein_cell_config *cfg, int n_in, double *bytes, ein_err *err);

ein_code ein_model_build(const ein_cell_config *cfg, int n_in, int n_classes, int cap_batch,
                         bool want_grad_x, ein_model **out, ein_err *err);
void ein_model_free(ein_model *m);

/* M2 initialisation (and M4's divisive init: B_ix from the SVD of W₀, see
 * linalg.h) from the INIT stream of `seed`; fa_center weights were drawn at
 * build time from the FA stream.  Fails only when out of memory. */
ein_code ein_model_init(ein_model *m, ein_err *err);

/* One layer on graph g from L->cfg (resolved): parameters named
 * "<prefix>.W_ex" etc., the forward of M1/M3/M4/M5, the M6 transform and the
 * activation; returns L->out.  `index` picks the layer's random streams. */
ein_node *ein_layer_build(ein_graph *g, ein_layer *L, int index, const char *prefix,
                          ein_node *x, int n_in, uint64_t seed);
/* The M9 alignment branches on L->z (L->out_ln, out_relu, align_ref, align_op). */
void ein_layer_build_alignment(ein_graph *g, ein_layer *L);
/* (M8) freeze the inhibitory parameters of an I-Norm layer that do not learn. */
void ein_layer_route(ein_layer *L);
/* (M2, M4) initialise one layer's parameters from the INIT stream. */
ein_code ein_layer_init(ein_layer *L, int index, uint64_t seed, ein_err *err);

/* A parameter by its name: "L0.W_ex", "L1.B_ix", "out.b", ... (NULL if none). */
ein_node *ein_model_param(const ein_model *m, const char *name);

/* Write every parameter as DIR/<name>.npy (numpy format 1.0, C order). */
ein_code ein_model_save_npy(const ein_model *m, const char *dir, ein_err *err);

#endif
