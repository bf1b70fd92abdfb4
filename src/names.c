/* names.c — the name tables (include/ein/names.h).  The enum values come from
 * config.h and train.h; these tables are the only place their spellings live. */
#include "ein/names.h"

#include <stdio.h>
#include <string.h>

#include "ein/config.h"
#include "ein/train.h"

#define TABLE(var, what_, type_, ...)                                               \
    static const ein_name var##_v[] = { __VA_ARGS__ };                             \
    const ein_names var = { what_, type_, var##_v, (int)(sizeof var##_v / sizeof var##_v[0]) }

TABLE(ein_fwd_norm_names, "forward norm", "norm kind",
      { "none", EIN_FWD_NONE, false, "no normalization: z as computed (M1)" },
      { "layernorm", EIN_FWD_LAYERNORM, false, "(z - mean z) / sqrt(var z + 1e-5), exact backward (M3)" },
      { "layernorm_fwd", EIN_FWD_LAYERNORM_FWD, false, "layernorm forward, identity backward (M3)" },
      { "center", EIN_FWD_CENTER, false, "z - mean z, exact backward (M3)" },
      { "scale", EIN_FWD_SCALE, false, "z / sqrt(var z + 1e-5), exact backward (M3)" },
      { "inorm", EIN_FWD_INORM, false, "I-Norm: subtractive and divisive inhibition learnt by the M5 loss (M4)" },
      { "inorm_sub", EIN_FWD_INORM_SUB, false, "subtractive-only I-Norm with its own local loss (M5)" });

TABLE(ein_bwd_norm_names, "backward norm", "norm kind",
      { "none", EIN_BWD_NONE, false, "the error signal passes unchanged" },
      { "full", EIN_BWD_FULL, false, "GradNorm: (g - mean g - z mean(g z)) / sqrt(var z + 1e-5) (M6)" },
      { "gradnorm", EIN_BWD_FULL, true, "another name for full (M6)" },
      { "center", EIN_BWD_CENTER, false, "g - mean g (M6)" },
      { "scale", EIN_BWD_SCALE, false, "g / sqrt(var z + 1e-5) (M6)" },
      { "decorrelate", EIN_BWD_DECORRELATE, false, "g - z mean(g z) (M6)" },
      { "fa_center", EIN_BWD_FA_CENTER, false, "g - sum_k w_k g_k with fixed random weights: lateral inhibition (M6)" });

#define G(g) (1 << (g))
TABLE(ein_group_names, "group", "group",
      { "wex", G(EIN_GROUP_WEX), false, "W_ex, excitatory weights (clamped >= 0)" },
      { "bias", G(EIN_GROUP_BIAS), false, "b, the bias" },
      { "wix", G(EIN_GROUP_WIX), false, "W_ix, input to inhibitory units (clamped >= 0)" },
      { "bix", G(EIN_GROUP_BIX), false, "B_ix, divisive inhibition from the input (I-Norm, unconstrained)" },
      { "wei", G(EIN_GROUP_WEI), false, "W_ei, inhibitory to excitatory (clamped >= 0)" },
      { "bei", G(EIN_GROUP_BEI), false, "B_ei, divisive pooling (I-Norm, clamped >= 0)" },
      { "all", (int)EIN_GROUPS_ALL, false, "every group" },
      { "excitatory", G(EIN_GROUP_WEX) | G(EIN_GROUP_BIAS), false, "wex and bias" },
      { "inhibitory", G(EIN_GROUP_WIX) | G(EIN_GROUP_BIX) | G(EIN_GROUP_WEI) | G(EIN_GROUP_BEI), false,
        "wix, bix, wei and bei" });
#undef G

TABLE(ein_optimizer_names, "optimizer", "optimizer",
      { "sgd", EIN_OPT_SGD, false, "SGD, optional momentum and decoupled weight decay (M8)" },
      { "adam", EIN_OPT_ADAM, false, "Adam" });

TABLE(ein_act_names, "activation", "activation",
      { "relu", EIN_ACT_RELU, false, "ReLU after the layer's normalization" },
      { "none", EIN_ACT_NONE, false, "no nonlinearity (the output layer, M7)" });

TABLE(ein_init_names, "init", "init",
      { "lognormal", EIN_INIT_LOGNORMAL, false, "lognormal weights with the M2 mean and variance" },
      { "exponential", EIN_INIT_EXPONENTIAL, false, "exponential weights with the M2 mean" });

TABLE(ein_layer_kind_names, "layer kind", "layer kind",
      { "ei", EIN_LAYER_EI, false, "E/I (DANN) layer (M1)" },
      { "e_only", EIN_LAYER_E_ONLY, false, "excitatory-only layer, always followed by layernorm (M3)" });

TABLE(ein_loss_kind_names, "loss kind", "loss kind",
      { "task", EIN_LOSS_TASK, false, "softmax cross-entropy with label smoothing (M7)" },
      { "inorm", EIN_LOSS_INORM, false, "the local I-Norm loss of every I-Norm layer (M5)" });

TABLE(ein_metric_names, "metric", "metric",
      { "test_acc", EIN_METRIC_TEST_ACC, false, "test accuracy (%) after every epoch" },
      { "train_acc", EIN_METRIC_TRAIN_ACC, false, "training accuracy (%) over each epoch" },
      { "task_loss", EIN_METRIC_TASK_LOSS, false, "mean task loss over each epoch's batches" },
      { "inorm_loss", EIN_METRIC_INORM_LOSS, false, "mean I-Norm loss over each epoch's batches (M5)" },
      { "moments", EIN_METRIC_MOMENTS, false, "per hidden layer: mean, var and mean square of pre-ReLU z (M9)" },
      { "cos_ln_out", EIN_METRIC_COS_LN_OUT, false, "per hidden layer: output alignment with layernorm (M9)" },
      { "cos_ln_grad", EIN_METRIC_COS_LN_GRAD, false, "per hidden layer: gradient alignment with layernorm (M9)" },
      { "weights", EIN_METRIC_WEIGHTS, false, "not a metric: save the trained cell to RESULTS_DIR/weights/<id>/ (einrun eval)" });

TABLE(ein_cell_status_names, "cell status", "cell status",
      { "ok", EIN_CELL_OK, false, "trained every epoch" },
      { "diverged", EIN_CELL_DIVERGED, false, "a loss or parameter became NaN or infinite: a result, kept" },
      { "interrupted", EIN_CELL_INTERRUPTED, false, "stopped by a signal; runs again on resume" },
      { "failed", EIN_CELL_FAILED, false, "an error or a crash; runs again on resume" });

TABLE(ein_dist_names, "distribution", "distribution",
      { "loguniform", EIN_DIST_LOGUNIFORM, false, "10^U(log10 a, log10 b)" },
      { "uniform", EIN_DIST_UNIFORM, false, "U(a, b)" },
      { "randint", EIN_DIST_RANDINT, false, "an integer in a..b, both included" });

TABLE(ein_marker_names, "marker", "symbol",
      { "auto", 0, false, "the default that depends on other settings" },
      { "inherit", 1, false, "take the network's norm forward / norm backward" },
      { "none", 2, false, "nothing (no norm, no activation, not set)" });

const char *ein_name_of(const ein_names *t, int value)
{
    for (int i = 0; i < t->n; i++)
        if (!t->v[i].alias && t->v[i].value == value)
            return t->v[i].name;
    return "?";
}

int ein_name_parse(const ein_names *t, const char *s)
{
    for (int i = 0; i < t->n; i++)
        if (strcmp(t->v[i].name, s) == 0)
            return t->v[i].value;
    return -1;
}

int ein_name_spellings(const ein_names *t, const char **out, int max)
{
    int n = 0;
    for (int i = 0; i < t->n && n < max; i++)
        out[n++] = t->v[i].name;
    return n;
}

char *ein_name_list(const ein_names *t, char *buf, size_t n)
{
    size_t len = 0;
    if (n)
        buf[0] = '\0';
    for (int i = 0; i < t->n && len < n; i++)
        len += (size_t)snprintf(buf + len, n - len, "%s%s", i ? ", " : "", t->v[i].name);
    return buf;
}

static const ein_names *const symbol_tables[] = {
    &ein_marker_names, &ein_fwd_norm_names, &ein_bwd_norm_names, &ein_act_names,
    &ein_init_names, &ein_optimizer_names, &ein_group_names,
};

const ein_names *const *ein_symbol_tables(int *n)
{
    *n = (int)(sizeof symbol_tables / sizeof symbol_tables[0]);
    return symbol_tables;
}

const ein_names *ein_symbol_table(const char *s)
{
    for (size_t i = 0; i < sizeof symbol_tables / sizeof symbol_tables[0]; i++)
        if (ein_name_parse(symbol_tables[i], s) >= 0)
            return symbol_tables[i];
    return NULL;
}

/* ---- the config.h / train.h spellings, read off the tables -------------- */

const char *ein_fwd_norm_name(ein_fwd_norm v) { return ein_name_of(&ein_fwd_norm_names, (int)v); }
const char *ein_bwd_norm_name(ein_bwd_norm v) { return ein_name_of(&ein_bwd_norm_names, (int)v); }
const char *ein_group_name(ein_group g) { return ein_name_of(&ein_group_names, 1 << g); }
const char *ein_metric_name(ein_metric m) { return ein_name_of(&ein_metric_names, (int)m); }
const char *ein_cell_status_name(ein_cell_status s) { return ein_name_of(&ein_cell_status_names, (int)s); }
int ein_fwd_norm_parse(const char *s) { return ein_name_parse(&ein_fwd_norm_names, s); }
int ein_bwd_norm_parse(const char *s) { return ein_name_parse(&ein_bwd_norm_names, s); }
int ein_metric_parse(const char *s) { return ein_name_parse(&ein_metric_names, s); }

int ein_group_parse(const char *s)
{
    int mask = ein_name_parse(&ein_group_names, s);
    for (int g = 0; g < EIN_GROUP_COUNT; g++)
        if (mask == 1 << g)
            return g;
    return -1;   /* unknown, or a set of several groups */
}
