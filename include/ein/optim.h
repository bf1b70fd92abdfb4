/* optim.h — parameter groups and optimizers (model.md M8).
 *
 * An optimizer holds, per parameter group, a learning rate, momentum,
 * decoupled weight decay, a frozen flag and the Dale sign clamp; and per
 * parameter its state (momentum or Adam moments), allocated once by
 * ein_optim_new().  A step is one flat loop per parameter: no allocation.
 * Free with ein_optim_free(); the graph must outlive the optimizer.
 */
#ifndef EIN_OPTIM_H
#define EIN_OPTIM_H

#include "ein/config.h"
#include "ein/graph.h"

typedef struct ein_group_settings {
    double lr;
    double momentum;        /* SGD: v ← μ v + g; θ ← θ − lr v (torch convention) */
    double weight_decay;    /* decoupled: θ ← θ − lr·wd·θ (model.md M8: non-inhibitory groups only) */
    bool frozen;            /* never updated */
    bool clamp_nonneg;      /* clamp at 0 after every step (Dale's principle) */
} ein_group_settings;

typedef struct ein_optim ein_optim;

/* The model.md M8 settings of a cell: lr per group, momentum (momentum_inhib
 * for wix, bix, wei, bei), weight decay for wex and bias only, frozen groups,
 * clamps for wex, wix, wei, bei when train.clamp is on. */
void ein_group_settings_from_config(const ein_train_config *t, ein_group_settings out[EIN_GROUP_COUNT]);

/* An optimizer over every parameter of a compiled graph.  NULL on failure (err set). */
ein_optim *ein_optim_new(ein_graph *g, ein_optimizer kind, const ein_group_settings groups[EIN_GROUP_COUNT],
                         double adam_beta1, double adam_beta2, double adam_eps, ein_err *err);
void ein_optim_free(ein_optim *opt);

/* Give one parameter settings of its own instead of its group's (a layer's
 * own learning rate, a frozen layer); false when `node` is not one of the
 * optimizer's parameters.  The settings a parameter steps with, or NULL. */
bool ein_optim_set_param(ein_optim *opt, const ein_node *node, const ein_group_settings *s);
const ein_group_settings *ein_optim_param(const ein_optim *opt, const ein_node *node);

/* One update from the parameter gradients left by ein_graph_backward(),
 * then the sign clamps. */
void ein_optim_step(ein_optim *opt);

/* Backward and update in one: the same as ein_graph_backward() then
 * ein_optim_step(), to rounding, except that a parameter under plain SGD
 * whose gradient is one GEMM (ein_graph_fusable) is updated inside that
 * GEMM (alpha = −lr, beta = 1), then clamped; its gradient buffer is left
 * stale.  Training uses this; tests that read gradients use the two calls. */
void ein_optim_backward_step(ein_optim *opt);
/* How many parameters ein_optim_backward_step() updates inside a GEMM. */
int ein_optim_n_fused(const ein_optim *opt);

/* Apply only the sign clamps (e.g. after loading parameters). */
void ein_optim_clamp(ein_optim *opt);

#endif
