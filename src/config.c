/* config.c — defaults and names for a cell configuration (include/ein/config.h). */
#include "ein/config.h"
#include "ein/names.h"
#include "ein/schema.h"

#include <math.h>
#include <string.h>
#include <stdlib.h>

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
    for (int g = 0; g < EIN_GROUP_COUNT; g++)
        l->lr[g] = -1;   /* the train block's (M8) */
    l->frozen = 0;
}

void ein_config_defaults(ein_cell_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);

    ein_data_config *d = &cfg->data;
    d->eps = 0.0;
    d->shift_train = d->shift_test = true;
    d->fixed_test_delta = NAN;

    /* M7: two hidden layers of the same width, ReLU; E/I output 10 units, ni = 1. */
    cfg->input = 784;
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
        if (loss->weight < 0)   /* auto: 1 for the task loss, λ by variant (M5) */
            loss->weight = loss->kind == EIN_LOSS_TASK ? 1.0 : any_sub ? 0.001 : 0.01;
    }
    if (cfg->train.momentum_inhib < 0)
        cfg->train.momentum_inhib = cfg->train.momentum;
}

/* ---- canonical text (ein_config_write) --------------------------------- */

static void write_config(FILE *out, const ein_cell_config *cfg, const ein_cell_config *def, unsigned flags);

/* One `key = value` line of setting d, unless it stays out of this text.
 * `def` is the default configuration, for settings added after ids existed
 * (EIN_SF_NEW): at their default they leave every id as it was. */
static void put_setting(FILE *out, const ein_setting_def *d, const char *prefix,
                        const ein_cell_config *cfg, const ein_cell_config *def, int target, unsigned flags)
{
    if ((d->flags & EIN_SF_ALIAS) || ((d->flags & EIN_SF_NO_ID) && !(flags & EIN_CONFIG_PROVENANCE)))
        return;
    char val[EIN_PATH_MAX + 64];
    ein_setting_format(d, cfg, target, val, sizeof val);
    if (d->flags & EIN_SF_NEW) {
        char dv[EIN_PATH_MAX + 64];
        int dt = d->scope == EIN_SCOPE_LAYER && target != EIN_TARGET_OUTPUT ? 0 : target;
        ein_setting_format(d, def, d->scope == EIN_SCOPE_LOSS ? 0 : dt, dv, sizeof dv);
        if (!strcmp(val, dv))
            return;
    }
    /* sets are " a b" (empty: nothing after '='); scalars " = value" */
    /* one write, not fprintf: every cell id writes every setting */
    const char *parts[4] = { prefix, d->key ? d->key : d->path, d->type == EIN_TYPE_SET ? " =" : " = ", val };
    char line[sizeof val + 160];
    size_t len = 0;
    for (int i = 0; i < 4; i++) {
        size_t k = strlen(parts[i]);
        if (k > sizeof line - 1 - len)
            k = sizeof line - 1 - len;
        memcpy(line + len, parts[i], k);
        len += k;
    }
    line[len++] = '\n';
    fwrite(line, 1, len, out);
}

static void put_section(FILE *out, const char *section, const ein_cell_config *cfg,
                        const ein_cell_config *def, unsigned flags)
{
    size_t n;
    const ein_setting_def *schema = ein_schema(&n);
    for (size_t i = 0; i < n; i++)
        if (schema[i].scope == EIN_SCOPE_CELL && !strncmp(schema[i].path, section, strlen(section)))
            put_setting(out, &schema[i], "", cfg, def, 0, flags);
}

static void put_scope(FILE *out, ein_setting_scope scope, const char *prefix, const ein_cell_config *cfg,
                      const ein_cell_config *def, int target, unsigned flags)
{
    size_t n;
    const ein_setting_def *schema = ein_schema(&n);
    for (size_t i = 0; i < n; i++)
        if (schema[i].scope == scope)
            put_setting(out, &schema[i], prefix, cfg, def, target, flags);
}

void ein_config_write(FILE *out, const ein_cell_config *cfg, unsigned flags)
{
    ein_cell_config *def = malloc(sizeof *def);
    if (!def)
        return;
    ein_config_defaults(def);
    ein_config_resolve(def);
    write_config(out, cfg, def, flags);
    free(def);
}

void ein_config_write_against(FILE *out, const ein_cell_config *cfg, const ein_cell_config *defaults,
                              unsigned flags)
{
    write_config(out, cfg, defaults, flags);
}

static void write_config(FILE *out, const ein_cell_config *cfg, const ein_cell_config *def, unsigned flags)
{
    put_section(out, "data.", cfg, def, flags);
    fprintf(out, "network.hidden = %d\n", cfg->n_hidden);
    put_section(out, "network.", cfg, def, flags);
    for (int i = 0; i < cfg->n_hidden && i < EIN_MAX_HIDDEN; i++) {
        char prefix[32];
        snprintf(prefix, sizeof prefix, "hidden.%d.", i);
        put_scope(out, EIN_SCOPE_LAYER, prefix, cfg, def, i, flags);
        if (flags & EIN_CONFIG_PROVENANCE)
            fprintf(out, "%swhere = %s\n", prefix, cfg->hidden[i].where);
    }
    put_scope(out, EIN_SCOPE_LAYER, "output.", cfg, def, EIN_TARGET_OUTPUT, flags);
    if (flags & EIN_CONFIG_PROVENANCE)
        fprintf(out, "output.where = %s\n", cfg->output.where);
    fprintf(out, "losses = %d\n", cfg->n_losses);
    for (int i = 0; i < cfg->n_losses && i < EIN_MAX_LOSSES; i++) {
        const ein_loss_config *l = &cfg->losses[i];
        char prefix[32];
        snprintf(prefix, sizeof prefix, "losses.%d.", i);
        fprintf(out, "%skind = %s\n%sname = %s\n", prefix, ein_name_of(&ein_loss_kind_names, (int)l->kind),
                prefix, l->name);
        put_scope(out, EIN_SCOPE_LOSS, prefix, cfg, def, i, flags);
        if (flags & EIN_CONFIG_PROVENANCE)
            fprintf(out, "%swhere = %s\n", prefix, l->where);
    }
    put_section(out, "train.", cfg, def, flags);
    put_section(out, "report.", cfg, def, flags);
}
