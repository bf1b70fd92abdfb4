/* config.c — defaults and names for a cell configuration (include/ein/config.h). */
#include "ein/config.h"

#include <math.h>
#include <string.h>
#include <stdlib.h>

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

/* ---- canonical text (ein_config_write) --------------------------------- */

static void put_num(FILE *out, const char *key, double d)
{
    char buf[40];
    if (isnan(d)) {
        snprintf(buf, sizeof buf, "nan");
    } else {
        for (int prec = 15; prec <= 17; prec++) {
            snprintf(buf, sizeof buf, "%.*g", prec, d);
            if (strtod(buf, NULL) == d)
                break;
        }
    }
    fprintf(out, "%s = %s\n", key, buf);
}

static void put_groups(FILE *out, const char *key, unsigned mask)
{
    fprintf(out, "%s =", key);
    if (mask == EIN_GROUPS_DEFAULT) {
        fputs(" default\n", out);
        return;
    }
    for (int g = 0; g < EIN_GROUP_COUNT; g++)
        if (mask & (1u << g))
            fprintf(out, " %s", group_names[g]);
    fputc('\n', out);
}

static void put_layer(FILE *out, const char *prefix, const ein_layer_config *l, unsigned flags)
{
    fprintf(out, "%s.kind = %s\n", prefix, l->kind == EIN_LAYER_EI ? "ei" : "e_only");
    fprintf(out, "%s.ne = %d\n%s.ni = %d\n", prefix, l->ne, prefix, l->ni);
    fprintf(out, "%s.act = %s\n", prefix, l->act == EIN_ACT_RELU ? "relu" : "none");
    fprintf(out, "%s.init = %s\n", prefix, l->init == EIN_INIT_LOGNORMAL ? "lognormal" : "exponential");
    fprintf(out, "%s.fwd = %s\n%s.bwd = %s\n", prefix, ein_fwd_norm_name(l->fwd), prefix,
            ein_bwd_norm_name(l->bwd));
    char key[80];
    snprintf(key, sizeof key, "%s.learn", prefix);
    put_groups(out, key, l->inhib_learn);
    if (flags & EIN_CONFIG_PROVENANCE)
        fprintf(out, "%s.where = %s\n", prefix, l->where);
}

void ein_config_write(FILE *out, const ein_cell_config *cfg, unsigned flags)
{
    const ein_data_config *d = &cfg->data;
    fprintf(out, "data.dir = %s\n", d->dir);
    fprintf(out, "data.train_images = %s\ndata.train_labels = %s\n", d->train_images, d->train_labels);
    fprintf(out, "data.test_images = %s\ndata.test_labels = %s\n", d->test_images, d->test_labels);
    put_num(out, "data.eps", d->eps);
    fprintf(out, "data.shift_train = %s\ndata.shift_test = %s\n", d->shift_train ? "true" : "false",
            d->shift_test ? "true" : "false");
    put_num(out, "data.fixed_test_delta", d->fixed_test_delta);
    fprintf(out, "data.limit_train = %ld\ndata.limit_test = %ld\n", d->limit_train, d->limit_test);
    fprintf(out, "network.hidden = %d\n", cfg->n_hidden);
    for (int i = 0; i < cfg->n_hidden && i < EIN_MAX_HIDDEN; i++) {
        char prefix[32];
        snprintf(prefix, sizeof prefix, "hidden.%d", i);
        put_layer(out, prefix, &cfg->hidden[i], flags);
    }
    put_layer(out, "output", &cfg->output, flags);
    fprintf(out, "losses = %d\n", cfg->n_losses);
    for (int i = 0; i < cfg->n_losses && i < EIN_MAX_LOSSES; i++) {
        const ein_loss_config *l = &cfg->losses[i];
        char key[64];
        fprintf(out, "losses.%d.kind = %s\n", i, l->kind == EIN_LOSS_TASK ? "task" : "inorm");
        fprintf(out, "losses.%d.name = %s\n", i, l->name);
        snprintf(key, sizeof key, "losses.%d.weight", i);
        put_num(out, key, l->weight);
        snprintf(key, sizeof key, "losses.%d.smoothing", i);
        put_num(out, key, l->label_smoothing);
        snprintf(key, sizeof key, "losses.%d.updates", i);
        put_groups(out, key, l->groups);
        if (flags & EIN_CONFIG_PROVENANCE)
            fprintf(out, "losses.%d.where = %s\n", i, l->where);
    }
    const ein_train_config *t = &cfg->train;
    fprintf(out, "train.optimizer = %s\n", t->optimizer == EIN_OPT_SGD ? "sgd" : "adam");
    for (int g = 0; g < EIN_GROUP_COUNT; g++) {
        char key[32];
        snprintf(key, sizeof key, "train.lr.%s", group_names[g]);
        put_num(out, key, t->lr[g]);
    }
    unsigned frozen = 0;
    for (int g = 0; g < EIN_GROUP_COUNT; g++)
        frozen |= t->frozen[g] ? 1u << g : 0u;
    put_groups(out, "train.frozen", frozen);
    put_num(out, "train.momentum", t->momentum);
    put_num(out, "train.momentum_inhib", t->momentum_inhib);
    put_num(out, "train.weight_decay", t->weight_decay);
    put_num(out, "train.adam.beta1", t->adam_beta1);
    put_num(out, "train.adam.beta2", t->adam_beta2);
    put_num(out, "train.adam.eps", t->adam_eps);
    fprintf(out, "train.clamp = %s\n", t->clamp ? "true" : "false");
    fprintf(out, "train.epochs = %d\ntrain.batch = %d\n", t->epochs, t->batch);
    fprintf(out, "train.shuffle = %s\n", t->shuffle ? "true" : "false");
    fprintf(out, "train.seed = %llu\n", (unsigned long long)t->seed);
    fputs("metrics =", out);
    for (int m = 0; m < EIN_METRIC_COUNT; m++)
        if (cfg->metrics & (1u << m))
            fprintf(out, " %s", metric_names[m]);
    fputc('\n', out);
    if (flags & EIN_CONFIG_PROVENANCE)
        fprintf(out, "results_dir = %s\n", cfg->results_dir);
}
