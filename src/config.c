/* config.c — defaults and names for a cell configuration (include/ein/config.h). */
#include "ein/config.h"

#include <math.h>
#include <string.h>

static const char *const fwd_names[EIN_FWD_COUNT] = {
    "none", "layernorm", "layernorm_fwd", "center", "scale", "inorm", "inorm_sub",
};
static const char *const bwd_names[EIN_BWD_COUNT] = {
    "none", "full", "center", "scale", "decorrelate", "fa_center",
};
static const char *const group_names[EIN_GROUP_COUNT] = {
    "wex", "bias", "wix", "bix", "wei", "bei",
};
static const char *const metric_names[EIN_METRIC_COUNT] = {
    "test_acc", "train_acc", "task_loss", "inorm_loss", "moments", "cos_ln_out", "cos_ln_grad",
};

static int lookup(const char *const *names, int n, const char *s)
{
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], s) == 0)
            return i;
    return -1;
}

const char *ein_fwd_norm_name(ein_fwd_norm v) { return (unsigned)v < EIN_FWD_COUNT ? fwd_names[v] : "?"; }
const char *ein_bwd_norm_name(ein_bwd_norm v) { return (unsigned)v < EIN_BWD_COUNT ? bwd_names[v] : "?"; }
const char *ein_group_name(ein_group g) { return (unsigned)g < EIN_GROUP_COUNT ? group_names[g] : "?"; }
const char *ein_metric_name(ein_metric m) { return (unsigned)m < EIN_METRIC_COUNT ? metric_names[m] : "?"; }
int ein_fwd_norm_parse(const char *s) { return lookup(fwd_names, EIN_FWD_COUNT, s); }
int ein_bwd_norm_parse(const char *s) { return lookup(bwd_names, EIN_BWD_COUNT, s); }
int ein_group_parse(const char *s) { return lookup(group_names, EIN_GROUP_COUNT, s); }
int ein_metric_parse(const char *s) { return lookup(metric_names, EIN_METRIC_COUNT, s); }

static void layer_defaults(ein_layer_config *l, int ne, ein_act act)
{
    memset(l, 0, sizeof *l);
    l->kind = EIN_LAYER_EI;
    l->ne = ne;
    l->ni = -1;
    l->act = act;
    l->init = EIN_INIT_LOGNORMAL;
    l->fwd = EIN_FWD_NONE;
    l->bwd = EIN_BWD_NONE;
    l->inhib_learn = EIN_GROUPS_DEFAULT;
}

void ein_config_defaults(ein_cell_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);

    ein_data_config *d = &cfg->data;
    d->eps = 0.0;
    d->shift_train = d->shift_test = true;
    d->fixed_test_delta = NAN;

    /* M7: two hidden layers of the same width, ReLU; E/I output 10 units, ni = 1. */
    cfg->n_hidden = 2;
    for (int i = 0; i < cfg->n_hidden; i++)
        layer_defaults(&cfg->hidden[i], 500, EIN_ACT_RELU);
    layer_defaults(&cfg->output, 10, EIN_ACT_NONE);
    cfg->output.ni = 1;

    cfg->n_losses = 1;
    ein_loss_config *task = &cfg->losses[0];
    task->kind = EIN_LOSS_TASK;
    strcpy(task->name, "task");
    task->weight = 1.0;
    task->label_smoothing = 0.1;
    task->groups = EIN_GROUPS_DEFAULT;

    ein_train_config *t = &cfg->train;
    t->optimizer = EIN_OPT_SGD;
    t->lr[EIN_GROUP_WEX] = t->lr[EIN_GROUP_BIAS] = 0.01;
    t->lr[EIN_GROUP_WIX] = t->lr[EIN_GROUP_BIX] = 0.1;
    t->lr[EIN_GROUP_WEI] = t->lr[EIN_GROUP_BEI] = 0.001;
    t->frozen[EIN_GROUP_BEI] = true;          /* M8: B_ei frozen in the paper */
    t->momentum = 0.0;
    t->momentum_inhib = -1.0;
    t->weight_decay = 0.0;
    t->adam_beta1 = 0.9;
    t->adam_beta2 = 0.999;
    t->adam_eps = 1e-8;
    t->clamp = true;
    t->epochs = 50;
    t->batch = 32;
    t->shuffle = false;
    t->seed = 0;

    cfg->metrics = (1u << EIN_METRIC_TEST_ACC) | (1u << EIN_METRIC_TRAIN_ACC) |
                   (1u << EIN_METRIC_TASK_LOSS);
}

static void layer_resolve(ein_layer_config *l)
{
    if (l->ni < 0)                                   /* M1 */
        l->ni = l->ne / 10 > 1 ? l->ne / 10 : 1;
    if (l->kind == EIN_LAYER_E_ONLY) {               /* M3: E-only is always + layernorm */
        l->ni = 0;
        if (l->fwd == EIN_FWD_NONE)
            l->fwd = EIN_FWD_LAYERNORM;
    }
    if (l->inhib_learn == EIN_GROUPS_DEFAULT) {      /* M4, M5 */
        if (l->fwd == EIN_FWD_INORM)
            l->inhib_learn = (1u << EIN_GROUP_WIX) | (1u << EIN_GROUP_BIX);
        else if (l->fwd == EIN_FWD_INORM_SUB)
            l->inhib_learn = (1u << EIN_GROUP_WIX) | (1u << EIN_GROUP_WEI);
        else
            l->inhib_learn = EIN_GROUPS_ALL;
    }
}

void ein_config_resolve(ein_cell_config *cfg)
{
    bool any_sub = false;
    for (int i = 0; i < cfg->n_hidden; i++) {
        layer_resolve(&cfg->hidden[i]);
        any_sub |= cfg->hidden[i].fwd == EIN_FWD_INORM_SUB;
    }
    layer_resolve(&cfg->output);
    for (int k = 0; k < cfg->n_losses; k++) {
        ein_loss_config *loss = &cfg->losses[k];
        if (loss->kind == EIN_LOSS_INORM && loss->weight < 0)
            loss->weight = any_sub ? 0.001 : 0.01;   /* M5 */
    }
    if (cfg->train.momentum_inhib < 0)
        cfg->train.momentum_inhib = cfg->train.momentum;
}
