/* config.c — defaults and names for a cell configuration (include/ein/config.h). */
#include "ein/config.h"
#include "ein/names.h"
#include "ein/numfmt.h"
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

/* ---- canonical text (ein_config_text_against) -------------------------
 *
 * Every cell id writes every setting of its cell (grid.c), so the text goes
 * into a text buffer the caller keeps, without stdio or printf (numfmt.h
 * says why printf costs so much here). */

/* A setting's value, as ein_setting_format cuts it. */
#define VALUE_MAX (EIN_PATH_MAX + 64)

static void put_int(ein_textbuf *b, long long v)
{
    char t[24];
    ein_format_integer(v, t, sizeof t);
    ein_textbuf_puts(b, t);
}

/* "prefix" "key" " = " "value" "\n" */
static void put_line(ein_textbuf *b, const char *prefix, const char *key, const char *eq,
                     const char *value)
{
    ein_textbuf_puts(b, prefix);
    ein_textbuf_puts(b, key);
    ein_textbuf_puts(b, eq);
    ein_textbuf_puts(b, value);
    ein_textbuf_put(b, "\n", 1);
}

/* One `key = value` line of setting d, unless it stays out of this text.
 * `def` is the default configuration, for settings added after ids existed
 * (EIN_SF_NEW): at their default they leave every id as it was. */
static void put_setting(ein_textbuf *b, const ein_setting_def *d, const char *prefix,
                        const ein_cell_config *cfg, const ein_cell_config *def, int target, unsigned flags)
{
    if ((d->flags & EIN_SF_ALIAS) || ((d->flags & EIN_SF_NO_ID) && !(flags & EIN_CONFIG_PROVENANCE)))
        return;
    char val[VALUE_MAX];
    ein_setting_format(d, cfg, target, val, sizeof val);
    if (d->flags & EIN_SF_NEW) {
        char dv[VALUE_MAX];
        int dt = d->scope == EIN_SCOPE_LAYER && target != EIN_TARGET_OUTPUT ? 0 : target;
        ein_setting_format(d, def, d->scope == EIN_SCOPE_LOSS ? 0 : dt, dv, sizeof dv);
        if (!strcmp(val, dv))
            return;
    }
    /* sets are " a b" (empty: nothing after '='); scalars " = value" */
    put_line(b, prefix, d->key ? d->key : d->path, d->type == EIN_TYPE_SET ? " =" : " = ", val);
}

/* The cell settings whose path starts with `section` ("data.", "train."). */
static void put_section(ein_textbuf *b, const char *section, const ein_cell_config *cfg,
                        const ein_cell_config *def, unsigned flags)
{
    size_t n, len = strlen(section);
    const ein_setting_def *schema = ein_schema(&n);
    for (size_t i = 0; i < n; i++) {
        const ein_setting_def *d = &schema[i];
        /* the recorded length and the first letter rule out most entries */
        if (d->scope == EIN_SCOPE_CELL && d->path_len > len && d->path[0] == section[0] &&
            !memcmp(d->path, section, len))
            put_setting(b, d, "", cfg, def, 0, flags);
    }
}

static void put_scope(ein_textbuf *b, ein_setting_scope scope, const char *prefix, const ein_cell_config *cfg,
                      const ein_cell_config *def, int target, unsigned flags)
{
    size_t n;
    const ein_setting_def *schema = ein_schema(&n);
    for (size_t i = 0; i < n; i++)
        if (schema[i].scope == scope)
            put_setting(b, &schema[i], prefix, cfg, def, target, flags);
}

/* "hidden." "3" "." into prefix[32]. */
static void numbered_prefix(char prefix[32], const char *head, int i)
{
    char num[24];
    ein_format_integer(i, num, sizeof num);
    size_t h = strlen(head), k = strlen(num);
    memcpy(prefix, head, h);
    memcpy(prefix + h, num, k);
    prefix[h + k] = '.';
    prefix[h + k + 1] = '\0';
}

static void put_layers(ein_textbuf *b, const ein_cell_config *cfg, const ein_cell_config *def, unsigned flags)
{
    for (int i = 0; i < cfg->n_hidden && i < EIN_MAX_HIDDEN; i++) {
        char prefix[32];
        numbered_prefix(prefix, "hidden.", i);
        put_scope(b, EIN_SCOPE_LAYER, prefix, cfg, def, i, flags);
        if (flags & EIN_CONFIG_PROVENANCE)
            put_line(b, prefix, "where", " = ", cfg->hidden[i].where);
    }
    put_scope(b, EIN_SCOPE_LAYER, "output.", cfg, def, EIN_TARGET_OUTPUT, flags);
    if (flags & EIN_CONFIG_PROVENANCE)
        put_line(b, "output.", "where", " = ", cfg->output.where);
}

static void put_losses(ein_textbuf *b, const ein_cell_config *cfg, const ein_cell_config *def, unsigned flags)
{
    ein_textbuf_puts(b, "losses = ");
    put_int(b, cfg->n_losses);
    ein_textbuf_put(b, "\n", 1);
    for (int i = 0; i < cfg->n_losses && i < EIN_MAX_LOSSES; i++) {
        const ein_loss_config *l = &cfg->losses[i];
        char prefix[32];
        numbered_prefix(prefix, "losses.", i);
        put_line(b, prefix, "kind", " = ", ein_name_of(&ein_loss_kind_names, (int)l->kind));
        put_line(b, prefix, "name", " = ", l->name);
        put_scope(b, EIN_SCOPE_LOSS, prefix, cfg, def, i, flags);
        if (flags & EIN_CONFIG_PROVENANCE)
            put_line(b, prefix, "where", " = ", l->where);
    }
}

void ein_config_text_against(ein_textbuf *b, const ein_cell_config *cfg, const ein_cell_config *def,
                             unsigned flags)
{
    put_section(b, "data.", cfg, def, flags);
    ein_textbuf_puts(b, "network.hidden = ");
    put_int(b, cfg->n_hidden);
    ein_textbuf_put(b, "\n", 1);
    put_section(b, "network.", cfg, def, flags);
    put_layers(b, cfg, def, flags);
    put_losses(b, cfg, def, flags);
    put_section(b, "train.", cfg, def, flags);
    put_section(b, "report.", cfg, def, flags);
}

void ein_config_write_against(FILE *out, const ein_cell_config *cfg, const ein_cell_config *defaults,
                              unsigned flags)
{
    ein_textbuf b = { 0 };
    ein_config_text_against(&b, cfg, defaults, flags);
    if (!b.oom && b.len)
        fwrite(b.p, 1, b.len, out);
    ein_textbuf_free(&b);
}

void ein_config_write(FILE *out, const ein_cell_config *cfg, unsigned flags)
{
    ein_cell_config *def = malloc(sizeof *def);
    if (!def)
        return;
    ein_config_defaults(def);
    ein_config_resolve(def);
    ein_config_write_against(out, cfg, def, flags);
    free(def);
}
