/* schema.c — the settings table and the one implementation of reading,
 * checking, storing and printing a setting (include/ein/schema.h). */
#include "ein/schema.h"

#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ein/diag.h"

/* ---- contexts: when a setting applies ----------------------------------- */

static const ein_layer_config *layer_at(const ein_cell_config *cfg, int target)
{
    return target == EIN_TARGET_OUTPUT ? &cfg->output
         : target >= 0 && target < cfg->n_hidden ? &cfg->hidden[target] : NULL;
}

static const char *sgd_only(const ein_cell_config *cfg, int target)
{
    (void)target;
    return cfg->train.optimizer == EIN_OPT_SGD ? NULL : "the optimizer is adam";
}

static const char *adam_only(const ein_cell_config *cfg, int target)
{
    (void)target;
    return cfg->train.optimizer == EIN_OPT_ADAM ? NULL : "the optimizer is sgd";
}

static const char *ei_layer_only(const ein_cell_config *cfg, int target)
{
    const ein_layer_config *l = layer_at(cfg, target);
    return !l || l->kind == EIN_LAYER_EI ? NULL : "this is an E-only layer (no inhibitory units, always layernorm)";
}

static const char *inorm_layer_only(const ein_cell_config *cfg, int target)
{
    const ein_layer_config *l = layer_at(cfg, target);
    if (!l || l->fwd == EIN_FWD_INORM || l->fwd == EIN_FWD_INORM_SUB)
        return NULL;
    return l->kind == EIN_LAYER_E_ONLY ? "this is an E-only layer, not an I-Norm layer"
         : l->fwd == EIN_FWD_LAYERNORM ? "this layer's forward norm is layernorm, not I-Norm"
         : "this layer is not an I-Norm layer (fwd is not inorm or inorm_sub)";
}

static const char *task_loss_only(const ein_cell_config *cfg, int target)
{
    return target < 0 || target >= cfg->n_losses || cfg->losses[target].kind == EIN_LOSS_TASK
               ? NULL : "this is the I-Norm loss, which has no labels";
}

/* ---- the table ---------------------------------------------------------- */

#define CELL(f)  .scope = EIN_SCOPE_CELL, .offset = offsetof(ein_cell_config, f), \
                 .size = sizeof(((ein_cell_config *)0)->f)
#define LAYER(f) .scope = EIN_SCOPE_LAYER, .offset = offsetof(ein_layer_config, f), \
                 .size = sizeof(((ein_layer_config *)0)->f)
#define LOSS(f)  .scope = EIN_SCOPE_LOSS, .offset = offsetof(ein_loss_config, f), \
                 .size = sizeof(((ein_loss_config *)0)->f)
/* The path and its length, for the lookup that runs for every setting of
 * every grid cell (ein_schema_find compares lengths first). */
#define PATH(p)  .path = p, .path_len = sizeof(p) - 1
#define GBIT(g)  (1u << (g))
#define UNBOUNDED INFINITY

/* In canonical-text order (config.h: data, network, layers, losses, train,
 * report); changing the order or a key changes every cell id. */
static const ein_setting_def schema[] = {
    /* data (M7) */
    { PATH("data.dir"), .type = EIN_TYPE_STR, .flags = EIN_SF_PATH, .def = "\"\"", .ctype = EIN_C_STR, CELL(data.dir),
      .doc = "folder of the four IDX files (\"\": $EIN_DATA, else the FashionMNIST package); relative to the .ein file" },
    { PATH("data.train_images"), .type = EIN_TYPE_STR, .flags = EIN_SF_PATH, .def = "\"\"", .ctype = EIN_C_STR, CELL(data.train_images),
      .doc = "training images file (\"\": train-images-idx3-ubyte[.gz] in dir)" },
    { PATH("data.train_labels"), .type = EIN_TYPE_STR, .flags = EIN_SF_PATH, .def = "\"\"", .ctype = EIN_C_STR, CELL(data.train_labels),
      .doc = "training labels file (\"\": train-labels-idx1-ubyte[.gz] in dir)" },
    { PATH("data.test_images"), .type = EIN_TYPE_STR, .flags = EIN_SF_PATH, .def = "\"\"", .ctype = EIN_C_STR, CELL(data.test_images),
      .doc = "test images file (\"\": t10k-images-idx3-ubyte[.gz] in dir)" },
    { PATH("data.test_labels"), .type = EIN_TYPE_STR, .flags = EIN_SF_PATH, .def = "\"\"", .ctype = EIN_C_STR, CELL(data.test_labels),
      .doc = "test labels file (\"\": t10k-labels-idx1-ubyte[.gz] in dir)" },
    { PATH("data.eps"), .type = EIN_TYPE_NUM, .min = 0, .max = 1, .def = "0", .ctype = EIN_C_DOUBLE, CELL(data.eps),
      .doc = "luminosity shift: each image gets Delta ~ U(-eps, eps) added, then clamped to [0, 1] (M7)" },
    { PATH("data.shift_train"), .type = EIN_TYPE_BOOL, .def = "true", .ctype = EIN_C_BOOL, CELL(data.shift_train),
      .doc = "apply the shift to training images (M7)" },
    { PATH("data.shift_test"), .type = EIN_TYPE_BOOL, .def = "true", .ctype = EIN_C_BOOL, CELL(data.shift_test),
      .doc = "apply the shift to test images (M7)" },
    { PATH("data.fixed_delta"), .key = "data.fixed_test_delta", .type = EIN_TYPE_NUM, .min = -1, .max = 1,
      .flags = EIN_SF_NONE, .def = "none", .ctype = EIN_C_DOUBLE, CELL(data.fixed_test_delta),
      .doc = "evaluate with this fixed Delta for every test image instead of a random one (none: off)" },
    { PATH("data.limit_train"), .type = EIN_TYPE_INT, .min = 0, .max = 1e15, .def = "0", .ctype = EIN_C_LONG,
      CELL(data.limit_train), .doc = "train on the first N training images only (0: all)" },
    { PATH("data.limit_test"), .type = EIN_TYPE_INT, .min = 0, .max = 1e15, .def = "0", .ctype = EIN_C_LONG,
      CELL(data.limit_test), .doc = "evaluate on the first N test images only (0: all)" },
    /* network (M7) */
    { PATH("network.input"), .type = EIN_TYPE_INT, .min = 1, .max = INT_MAX, .flags = EIN_SF_NEW, .def = "784",
      .ctype = EIN_C_INT, CELL(input), .doc = "values per input image; must equal the data's pixels (28 x 28 = 784)" },
    /* layers (M1, M2, M3, M4) */
    { PATH("kind"), .type = EIN_TYPE_NAME, .names = &ein_layer_kind_names, .def = "ei", .ctype = EIN_C_ENUM,
      LAYER(kind), .doc = "ei: an E/I layer (M1); e_only: excitatory only, always followed by layernorm (M3)" },
    { PATH("ne"), .type = EIN_TYPE_INT, .min = 1, .max = INT_MAX, .def = "500", .def_output = "10",
      .ctype = EIN_C_INT, LAYER(ne), .doc = "excitatory units (the layer's width)" },
    { PATH("ni"), .type = EIN_TYPE_INT, .min = 1, .max = INT_MAX, .flags = EIN_SF_AUTO, .def = "auto",
      .def_output = "1", .ctype = EIN_C_INT, LAYER(ni), .context = ei_layer_only, .applies = "E/I layers",
      .instead = "an E-only layer has no inhibitory units", .doc = "inhibitory units; auto: max(1, floor(ne / 10)) (M1)" },
    { PATH("act"), .type = EIN_TYPE_NAME, .names = &ein_act_names, .flags = EIN_SF_AUTO, .def = "relu",
      .def_output = "none", .ctype = EIN_C_ENUM, LAYER(act), .doc = "nonlinearity after the forward norm (M7)" },
    { PATH("init"), .type = EIN_TYPE_NAME, .names = &ein_init_names, .def = "lognormal", .ctype = EIN_C_ENUM,
      LAYER(init), .doc = "weight initialisation (M2)" },
    { PATH("fwd"), .type = EIN_TYPE_NAME, .names = &ein_fwd_norm_names, .def = "none", .ctype = EIN_C_ENUM,
      LAYER(fwd), .context = ei_layer_only, .applies = "E/I layers",
      .instead = "an E-only layer is always followed by layernorm",
      .doc = "forward normalization after the linear map, before the nonlinearity (M3, M4)" },
    { PATH("bwd"), .type = EIN_TYPE_NAME, .names = &ein_bwd_norm_names, .def = "none", .ctype = EIN_C_ENUM,
      LAYER(bwd), .doc = "normalization of the error signal on z, identity forward (GradNorm, M6)" },
    { PATH("learn"), .type = EIN_TYPE_SET, .names = &ein_group_names, .flags = EIN_SF_AUTO, .def = "auto",
      .ctype = EIN_C_MASK, LAYER(inhib_learn), .context = inorm_layer_only, .applies = "I-Norm layers",
      .instead = "use train.frozen to stop a group from learning",
      .doc = "inhibitory groups that learn in an I-Norm layer; auto: wix, bix (inorm) or wix, wei (inorm_sub) (M4, M5)" },
    { PATH("frozen"), .type = EIN_TYPE_SET, .names = &ein_group_names, .flags = EIN_SF_NONE | EIN_SF_NEW,
      .def = "none", .ctype = EIN_C_MASK, LAYER(frozen),
      .doc = "groups never updated in this layer, besides train.frozen (e.g. the first layer's wex)" },
    { PATH("lr"), .type = EIN_TYPE_NUM, .min = 0, .max = UNBOUNDED,
      .flags = EIN_SF_MIN_OPEN | EIN_SF_AUTO | EIN_SF_NEW | EIN_SF_ALIAS, .def = "auto", .ctype = EIN_C_LR, LAYER(lr),
      .groups = GBIT(EIN_GROUP_WEX) | GBIT(EIN_GROUP_BIAS), .doc = "this layer's learning rate of wex and bias; auto: train.lr" },
    { PATH("lr.wex"), .type = EIN_TYPE_NUM, .min = 0, .max = UNBOUNDED,
      .flags = EIN_SF_MIN_OPEN | EIN_SF_AUTO | EIN_SF_NEW | EIN_SF_LATE, .def = "auto", .ctype = EIN_C_LR, LAYER(lr),
      .groups = GBIT(EIN_GROUP_WEX), .doc = "this layer's learning rate of wex; auto: the train block's" },
    { PATH("lr.bias"), .type = EIN_TYPE_NUM, .min = 0, .max = UNBOUNDED,
      .flags = EIN_SF_MIN_OPEN | EIN_SF_AUTO | EIN_SF_NEW | EIN_SF_LATE, .def = "auto", .ctype = EIN_C_LR, LAYER(lr),
      .groups = GBIT(EIN_GROUP_BIAS), .doc = "this layer's learning rate of the bias; auto: the train block's" },
    { PATH("lr.wix"), .type = EIN_TYPE_NUM, .min = 0, .max = UNBOUNDED,
      .flags = EIN_SF_MIN_OPEN | EIN_SF_AUTO | EIN_SF_NEW, .def = "auto", .ctype = EIN_C_LR, LAYER(lr),
      .groups = GBIT(EIN_GROUP_WIX) | GBIT(EIN_GROUP_BIX), .doc = "this layer's learning rate of wix and bix; auto: train.lr.wix" },
    { PATH("lr.bix"), .type = EIN_TYPE_NUM, .min = 0, .max = UNBOUNDED,
      .flags = EIN_SF_MIN_OPEN | EIN_SF_AUTO | EIN_SF_NEW | EIN_SF_LATE, .def = "auto", .ctype = EIN_C_LR, LAYER(lr),
      .groups = GBIT(EIN_GROUP_BIX), .doc = "this layer's learning rate of bix; auto: the train block's" },
    { PATH("lr.wei"), .type = EIN_TYPE_NUM, .min = 0, .max = UNBOUNDED,
      .flags = EIN_SF_MIN_OPEN | EIN_SF_AUTO | EIN_SF_NEW, .def = "auto", .ctype = EIN_C_LR, LAYER(lr),
      .groups = GBIT(EIN_GROUP_WEI) | GBIT(EIN_GROUP_BEI), .doc = "this layer's learning rate of wei and bei; auto: train.lr.wei" },
    { PATH("lr.bei"), .type = EIN_TYPE_NUM, .min = 0, .max = UNBOUNDED,
      .flags = EIN_SF_MIN_OPEN | EIN_SF_AUTO | EIN_SF_NEW | EIN_SF_LATE, .def = "auto", .ctype = EIN_C_LR, LAYER(lr),
      .groups = GBIT(EIN_GROUP_BEI), .doc = "this layer's learning rate of bei; auto: the train block's" },
    /* losses (M5, M7, M8) */
    { PATH("weight"), .type = EIN_TYPE_NUM, .min = 0, .max = UNBOUNDED, .flags = EIN_SF_AUTO, .def = "auto",
      .ctype = EIN_C_DOUBLE, LOSS(weight),
      .doc = "the loss's weight; auto: 1 for the task loss, lambda = 0.01 (0.001 with inorm_sub) for I-Norm (M5)" },
    { PATH("smoothing"), .type = EIN_TYPE_NUM, .min = 0, .max = 1, .flags = EIN_SF_MAX_OPEN, .def = "0.1",
      .ctype = EIN_C_DOUBLE, LOSS(label_smoothing), .context = task_loss_only, .applies = "the task loss",
      .instead = "label smoothing belongs to the cross_entropy task loss",
      .doc = "label smoothing of the cross-entropy task loss (M7)" },
    { PATH("updates"), .type = EIN_TYPE_SET, .names = &ein_group_names, .flags = EIN_SF_AUTO, .def = "auto",
      .ctype = EIN_C_MASK, LOSS(groups),
      .doc = "parameter groups the loss may update; auto: the M8 routing" },
    /* train (M7, M8) */
    { PATH("train.optimizer"), .type = EIN_TYPE_NAME, .names = &ein_optimizer_names, .def = "sgd",
      .ctype = EIN_C_ENUM, CELL(train.optimizer), .doc = "the optimizer (M8)" },
    { PATH("train.lr"), .type = EIN_TYPE_NUM, .min = 0, .max = UNBOUNDED, .flags = EIN_SF_MIN_OPEN | EIN_SF_ALIAS,
      .def = "0.01", .ctype = EIN_C_LR, CELL(train.lr), .groups = GBIT(EIN_GROUP_WEX) | GBIT(EIN_GROUP_BIAS),
      .doc = "learning rate of wex and bias (M8)" },
    { PATH("train.lr.wex"), .type = EIN_TYPE_NUM, .min = 0, .max = UNBOUNDED, .flags = EIN_SF_MIN_OPEN | EIN_SF_LATE,
      .def = "0.01", .ctype = EIN_C_LR, CELL(train.lr), .groups = GBIT(EIN_GROUP_WEX),
      .doc = "learning rate of wex alone (wins over train.lr)" },
    { PATH("train.lr.bias"), .type = EIN_TYPE_NUM, .min = 0, .max = UNBOUNDED, .flags = EIN_SF_MIN_OPEN | EIN_SF_LATE,
      .def = "0.01", .ctype = EIN_C_LR, CELL(train.lr), .groups = GBIT(EIN_GROUP_BIAS),
      .doc = "learning rate of the bias alone (wins over train.lr)" },
    { PATH("train.lr.wix"), .type = EIN_TYPE_NUM, .min = 0, .max = UNBOUNDED, .flags = EIN_SF_MIN_OPEN,
      .def = "0.1", .ctype = EIN_C_LR, CELL(train.lr), .groups = GBIT(EIN_GROUP_WIX) | GBIT(EIN_GROUP_BIX),
      .doc = "learning rate of wix and bix (M8)" },
    { PATH("train.lr.bix"), .type = EIN_TYPE_NUM, .min = 0, .max = UNBOUNDED, .flags = EIN_SF_MIN_OPEN | EIN_SF_LATE,
      .def = "0.1", .ctype = EIN_C_LR, CELL(train.lr), .groups = GBIT(EIN_GROUP_BIX),
      .doc = "learning rate of bix alone (wins over train.lr.wix)" },
    { PATH("train.lr.wei"), .type = EIN_TYPE_NUM, .min = 0, .max = UNBOUNDED, .flags = EIN_SF_MIN_OPEN,
      .def = "0.001", .ctype = EIN_C_LR, CELL(train.lr), .groups = GBIT(EIN_GROUP_WEI) | GBIT(EIN_GROUP_BEI),
      .doc = "learning rate of wei and bei (M8)" },
    { PATH("train.lr.bei"), .type = EIN_TYPE_NUM, .min = 0, .max = UNBOUNDED, .flags = EIN_SF_MIN_OPEN | EIN_SF_LATE,
      .def = "0.001", .ctype = EIN_C_LR, CELL(train.lr), .groups = GBIT(EIN_GROUP_BEI),
      .doc = "learning rate of bei alone (wins over train.lr.wei)" },
    { PATH("train.frozen"), .type = EIN_TYPE_SET, .names = &ein_group_names, .flags = EIN_SF_NONE, .def = "[bei]",
      .ctype = EIN_C_FROZEN, CELL(train.frozen),
      .doc = "groups never updated (B_ei is frozen in the paper, M8); none or [] freezes nothing" },
    { PATH("train.momentum"), .type = EIN_TYPE_NUM, .min = 0, .max = 1, .flags = EIN_SF_MAX_OPEN, .def = "0",
      .ctype = EIN_C_DOUBLE, CELL(train.momentum), .context = sgd_only, .applies = "optimizer = sgd",
      .instead = "Adam's first-moment decay is train.adam.beta1",
      .doc = "SGD momentum mu: v <- mu v + g (M8)" },
    { PATH("train.momentum_inhib"), .type = EIN_TYPE_NUM, .min = 0, .max = 1, .flags = EIN_SF_MAX_OPEN | EIN_SF_AUTO,
      .def = "auto", .ctype = EIN_C_DOUBLE, CELL(train.momentum_inhib), .context = sgd_only,
      .applies = "optimizer = sgd", .instead = "Adam's first-moment decay is train.adam.beta1",
      .doc = "SGD momentum of the inhibitory groups (wix, bix, wei, bei); auto: train.momentum" },
    { PATH("train.weight_decay"), .type = EIN_TYPE_NUM, .min = 0, .max = UNBOUNDED, .def = "0",
      .ctype = EIN_C_DOUBLE, CELL(train.weight_decay),
      .doc = "decoupled weight decay of wex and bias (theta <- theta - lr wd theta, M8)" },
    { PATH("train.adam.beta1"), .type = EIN_TYPE_NUM, .min = 0, .max = 1, .flags = EIN_SF_MAX_OPEN, .def = "0.9",
      .ctype = EIN_C_DOUBLE, CELL(train.adam_beta1), .context = adam_only, .applies = "optimizer = adam",
      .instead = "SGD's counterpart is train.momentum", .doc = "Adam's first-moment decay" },
    { PATH("train.adam.beta2"), .type = EIN_TYPE_NUM, .min = 0, .max = 1, .flags = EIN_SF_MAX_OPEN, .def = "0.999",
      .ctype = EIN_C_DOUBLE, CELL(train.adam_beta2), .context = adam_only, .applies = "optimizer = adam",
      .instead = "set train.optimizer = adam first", .doc = "Adam's second-moment decay" },
    { PATH("train.adam.eps"), .type = EIN_TYPE_NUM, .min = 0, .max = UNBOUNDED, .flags = EIN_SF_MIN_OPEN,
      .def = "1e-08", .ctype = EIN_C_DOUBLE, CELL(train.adam_eps), .context = adam_only,
      .applies = "optimizer = adam", .instead = "set train.optimizer = adam first",
      .doc = "Adam's epsilon" },
    { PATH("train.clamp"), .type = EIN_TYPE_BOOL, .def = "true", .ctype = EIN_C_BOOL, CELL(train.clamp),
      .doc = "Dale's principle: clamp wex, wix, wei, bei at 0 after every step (M1)" },
    { PATH("train.epochs"), .type = EIN_TYPE_INT, .min = 1, .max = INT_MAX, .def = "50", .ctype = EIN_C_INT,
      CELL(train.epochs), .doc = "epochs; test accuracy is measured after each (M7)" },
    { PATH("train.batch"), .type = EIN_TYPE_INT, .min = 1, .max = INT_MAX, .def = "32", .ctype = EIN_C_INT,
      CELL(train.batch), .doc = "mini-batch size (M7)" },
    { PATH("train.shuffle"), .type = EIN_TYPE_BOOL, .def = "false", .ctype = EIN_C_BOOL, CELL(train.shuffle),
      .doc = "shuffle the training set every epoch (the paper's loader does not, M7)" },
    { PATH("train.seed"), .type = EIN_TYPE_INT, .min = 0, .max = 9007199254740992.0, .def = "0",
      .ctype = EIN_C_U64, CELL(train.seed), .doc = "the seed of the initialisation, shuffle and shift streams" },
    /* report (M9) */
    { PATH("report.metrics"), .key = "metrics", .type = EIN_TYPE_SET, .names = &ein_metric_names,
      .def = "[test_acc, train_acc, task_loss]", .ctype = EIN_C_BITS, CELL(metrics),
      .doc = "metrics recorded every epoch (M9); a report { ... } list adds to the default" },
    { PATH("report.dir"), .key = "results_dir", .type = EIN_TYPE_STR, .flags = EIN_SF_NO_ID | EIN_SF_PATH, .def = "\"\"",
      .ctype = EIN_C_STR, CELL(results_dir),
      .doc = "the results folder (\"\": results/<experiment>); relative to the .ein file" },
};

#define N_SCHEMA (sizeof schema / sizeof schema[0])

const ein_setting_def *ein_schema(size_t *n)
{
    *n = N_SCHEMA;
    return schema;
}

const ein_setting_def *ein_schema_find(ein_setting_scope scope, const char *path)
{
    /* lengths first: the lowering looks up every setting of every cell */
    size_t n = strlen(path);
    for (size_t i = 0; i < N_SCHEMA; i++)
        if (schema[i].path_len == n && schema[i].scope == scope && !memcmp(schema[i].path, path, n))
            return &schema[i];
    return NULL;
}

char *ein_schema_subpaths(ein_setting_scope scope, const char *prefix, char *buf, size_t n)
{
    size_t len = 0, pl = strlen(prefix);
    if (n)
        buf[0] = '\0';
    for (size_t i = 0; i < N_SCHEMA && len < n; i++)
        if (schema[i].scope == scope && !strncmp(schema[i].path, prefix, pl))
            len += (size_t)snprintf(buf + len, n - len, "%s%s", len ? ", " : "", schema[i].path + pl);
    return buf;
}

/* ---- paths -------------------------------------------------------------- */

/* "hidden[3].ne" → target 3, rest "ne"; "hidden.ne" → ALL_HIDDEN; "output.ne"
 * → OUTPUT; "loss.task.weight" → loss "task", rest "weight". */
static bool split_path(const char *path, ein_setting_scope *scope, int *target, char *loss,
                       const char **rest)
{
    *target = -1;
    loss[0] = '\0';
    if (!strncmp(path, "hidden[", 7)) {
        const char *p = path + 7;
        long t = 0;
        if (*p < '0' || *p > '9')
            return false;
        while (*p >= '0' && *p <= '9' && t < 100000)
            t = t * 10 + (*p++ - '0');
        if (p[0] != ']' || p[1] != '.')
            return false;
        *scope = EIN_SCOPE_LAYER;
        *target = (int)t;
        *rest = p + 2;
        return true;
    }
    if (!strncmp(path, "hidden.", 7)) {
        *scope = EIN_SCOPE_LAYER;
        *target = EIN_TARGET_ALL_HIDDEN;
        *rest = path + 7;
        return true;
    }
    if (!strncmp(path, "output.", 7)) {
        *scope = EIN_SCOPE_LAYER;
        *target = EIN_TARGET_OUTPUT;
        *rest = path + 7;
        return true;
    }
    if (!strncmp(path, "loss.", 5)) {
        const char *dot = strchr(path + 5, '.');
        if (!dot || dot == path + 5 || (size_t)(dot - path - 5) >= EIN_NAME_MAX)
            return false;
        snprintf(loss, EIN_NAME_MAX, "%.*s", (int)(dot - path - 5), path + 5);
        *scope = EIN_SCOPE_LOSS;
        *rest = dot + 1;
        return true;
    }
    *scope = EIN_SCOPE_CELL;
    *rest = path;
    return true;
}

size_t ein_schema_paths(char (*out)[96], size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < N_SCHEMA && n < max; i++) {
        const ein_setting_def *d = &schema[i];
        if (d->scope == EIN_SCOPE_CELL) {
            snprintf(out[n++], 96, "%s", d->path);
        } else if (d->scope == EIN_SCOPE_LAYER) {
            static const char *const prefix[] = { "hidden[0].", "hidden.", "output." };
            for (int k = 0; k < 3 && n < max; k++)
                snprintf(out[n++], 96, "%s%s", prefix[k], d->path);
        } else {
            static const char *const prefix[] = { "loss.task.", "loss.inorm." };
            for (int k = 0; k < 2 && n < max; k++)
                snprintf(out[n++], 96, "%s%s", prefix[k], d->path);
        }
    }
    return n;
}

bool ein_setting_lookup(const char *path, ein_setting_ref *ref, char *suggest, size_t n)
{
    memset(ref, 0, sizeof *ref);
    if (suggest && n)
        suggest[0] = '\0';
    ein_setting_scope scope;
    const char *rest;
    if (split_path(path, &scope, &ref->target, ref->loss, &rest))
        for (size_t i = 0; i < N_SCHEMA; i++)
            if (schema[i].scope == scope && !strcmp(schema[i].path, rest)) {
                ref->def = &schema[i];
                return true;
            }
    if (suggest && n) {
        char paths[256][96];
        const char *cand[256];
        size_t np = ein_schema_paths(paths, 256);
        for (size_t i = 0; i < np; i++)
            cand[i] = paths[i];
        const char *s = ein_suggest(path, cand, np);
        if (s)
            snprintf(suggest, n, "%s", s);
    }
    return false;
}

/* ---- values --------------------------------------------------------------- */

static void *field(const ein_setting_def *d, ein_cell_config *cfg, int target)
{
    char *base;
    if (d->scope == EIN_SCOPE_CELL)
        base = (char *)cfg;
    else if (d->scope == EIN_SCOPE_LAYER)
        base = (char *)(target == EIN_TARGET_OUTPUT ? &cfg->output : &cfg->hidden[target]);
    else
        base = (char *)&cfg->losses[target];
    return base + d->offset;
}

static bool is_marker(const ein_value *v, const char *name)
{
    return v->kind == EIN_V_SYM && !strcmp(v->s, name);
}

/* The range as the messages say it: "in [0, 1)", "positive", "at least 1". */
static bool in_range(const ein_setting_def *d, double x)
{
    bool lo = d->flags & EIN_SF_MIN_OPEN ? x > d->min : x >= d->min;
    bool hi = d->flags & EIN_SF_MAX_OPEN ? x < d->max : x <= d->max;
    return lo && hi;
}

static void range_error(ein_eval *ev, const ein_setting_def *d, const char *what, const ein_value *v,
                        double x)
{
    char got[40];
    ein_format_double(x, got, sizeof got);
    if (isinf(d->max) && d->min == 0)
        ein_eval_error(ev, v->loc, d->flags & EIN_SF_MIN_OPEN ? "%s must be positive, got %s"
                                                              : "%s must not be negative, got %s", what, got);
    else
        ein_eval_error(ev, v->loc, "%s must be in [%g, %g%c, got %s", what, d->min, d->max,
                       d->flags & EIN_SF_MAX_OPEN ? ')' : ']', got);
}

/* Validate v; on success *num / *mask / *str hold the value to store. */
static bool validate(ein_eval *ev, const ein_setting_def *d, const char *what, const ein_value *v,
                     double *num, unsigned *mask, const char **str, bool *marker_auto, bool *marker_none)
{
    *marker_auto = *marker_none = false;
    if ((d->flags & EIN_SF_AUTO) && is_marker(v, "auto")) {
        *marker_auto = true;
        return true;
    }
    if ((d->flags & EIN_SF_NONE) && is_marker(v, "none")) {
        *marker_none = true;
        return true;
    }
    long long i;
    bool b;
    switch (d->type) {
    case EIN_TYPE_INT:
        if (!ein_want_int(ev, v, what, (long long)d->min, &i))
            return false;
        if ((double)i > d->max) {
            ein_eval_error(ev, v->loc, "%s must be at most %.0f, got %lld", what, d->max, i);
            return false;
        }
        *num = (double)i;
        return true;
    case EIN_TYPE_NUM:
        if (!ein_want_num(ev, v, what, num))
            return false;
        if (!in_range(d, *num)) {
            range_error(ev, d, what, v, *num);
            return false;
        }
        return true;
    case EIN_TYPE_BOOL:
        if (!ein_want_bool(ev, v, what, &b))
            return false;
        *num = b;
        return true;
    case EIN_TYPE_STR:
        return ein_want_string(ev, v, what, str);
    case EIN_TYPE_NAME: {
        /* `kind = e_only` names the builtin of that layer kind */
        int k = v->kind == EIN_V_FUNC && v->fn.builtin >= 0 ? ein_name_parse(d->names, v->fn.name) : -1;
        if (k < 0)
            k = ein_want_name(ev, v, d->names, NULL);
        if (k < 0)
            return false;
        *num = k;
        return true;
    }
    case EIN_TYPE_SET: {
        *mask = 0;
        if (v->kind == EIN_V_LIST) {
            for (int j = 0; j < v->list.n; j++) {
                unsigned m;
                bool a, n;
                double x;
                const char *s;
                if (!validate(ev, d, what, v->list.items[j], &x, &m, &s, &a, &n) || a || n)
                    return false;
                *mask |= m;
            }
            return true;
        }
        int k = ein_want_name(ev, v, d->names, NULL);
        if (k < 0)
            return false;
        *mask = d->ctype == EIN_C_BITS ? 1u << k : (unsigned)k;
        return true;
    }
    }
    return false;
}

/* Text into buf, cut to fit: the setting formatter runs for every setting
 * of every cell id, and printf costs a microsecond a call here. */
static size_t put_text(char *buf, size_t n, size_t at, const char *s)
{
    while (*s && at + 1 < n)
        buf[at++] = *s++;
    if (at < n)
        buf[at] = '\0';
    return at;
}

static void store(const ein_setting_def *d, void *p, double num, unsigned mask, const char *str,
                  bool is_auto, bool is_none)
{
    if (is_auto)
        num = -1;   /* "-1 = default" fields (config.h), resolved by ein_config_resolve */
    if (is_none)
        num = NAN;
    switch (d->ctype) {
    case EIN_C_INT: *(int *)p = (int)num; break;
    case EIN_C_LONG: *(long *)p = (long)num; break;
    case EIN_C_U64: *(uint64_t *)p = (uint64_t)num; break;
    case EIN_C_DOUBLE: *(double *)p = num; break;
    case EIN_C_BOOL: *(bool *)p = num != 0; break;
    case EIN_C_ENUM: *(int *)p = (int)num; break;
    case EIN_C_MASK: *(unsigned *)p = is_auto ? EIN_GROUPS_DEFAULT : mask; break;
    case EIN_C_BITS: *(unsigned *)p = mask; break;
    case EIN_C_STR: put_text((char *)p, d->size, 0, str ? str : ""); break;
    case EIN_C_LR:
        for (int g = 0; g < EIN_GROUP_COUNT; g++)
            if (d->groups & (1u << g))
                ((double *)p)[g] = num;
        break;
    case EIN_C_FROZEN:
        for (int g = 0; g < EIN_GROUP_COUNT; g++)
            ((bool *)p)[g] = !is_none && ((mask >> g) & 1u);
        break;
    }
}

bool ein_setting_validate(ein_eval *ev, const ein_setting_def *d, const char *what, const ein_value *v)
{
    double num = 0;
    unsigned mask = 0;
    const char *str = NULL;
    bool a, n;
    return validate(ev, d, what, v, &num, &mask, &str, &a, &n);
}

static int find_loss(const ein_cell_config *cfg, const char *name)
{
    for (int i = 0; i < cfg->n_losses; i++)
        if (!strcmp(cfg->losses[i].name, name))
            return i;
    return -1;
}

bool ein_setting_apply(ein_eval *ev, const ein_setting_ref *ref, const char *what, const ein_value *v,
                       ein_loc at, ein_cell_config *cfg)
{
    const ein_setting_def *d = ref->def;
    int target = ref->target;
    if (d->scope == EIN_SCOPE_LOSS && ref->loss[0]) {
        target = find_loss(cfg, ref->loss);
        if (target < 0) {
            char names[256];
            size_t len = 0;
            names[0] = '\0';
            for (int i = 0; i < cfg->n_losses && len < sizeof names; i++)
                len += (size_t)snprintf(names + len, sizeof names - len, "%s%s", i ? ", " : "",
                                        cfg->losses[i].name);
            ein_eval_error(ev, at, "no loss named '%s' in this cell (its losses: %s)", ref->loss, names);
            return false;
        }
    }
    if (d->scope == EIN_SCOPE_LAYER && target >= cfg->n_hidden) {
        ein_eval_error(ev, at, "no hidden layer %d: the network has %d hidden layer%s (hidden[0] .. hidden[%d])",
                       target, cfg->n_hidden, cfg->n_hidden == 1 ? "" : "s", cfg->n_hidden - 1);
        return false;
    }
    double num = 0;
    unsigned mask = 0;
    const char *str = NULL;
    bool is_auto, is_none;
    if (!validate(ev, d, what, v, &num, &mask, &str, &is_auto, &is_none))
        return false;
    if (d->scope == EIN_SCOPE_LAYER && target == EIN_TARGET_ALL_HIDDEN) {
        for (int i = 0; i < cfg->n_hidden; i++)
            store(d, field(d, cfg, i), num, mask, str, is_auto, is_none);
    } else {
        store(d, field(d, cfg, target), num, mask, str, is_auto, is_none);
    }
    return true;
}

static void full_path(const ein_setting_ref *ref, char *buf, size_t n)
{
    const ein_setting_def *d = ref->def;
    if (d->scope == EIN_SCOPE_CELL)
        snprintf(buf, n, "%s", d->path);
    else if (d->scope == EIN_SCOPE_LOSS)
        snprintf(buf, n, "loss.%s.%s", ref->loss, d->path);
    else if (ref->target == EIN_TARGET_OUTPUT)
        snprintf(buf, n, "output.%s", d->path);
    else if (ref->target == EIN_TARGET_ALL_HIDDEN)
        snprintf(buf, n, "hidden.%s", d->path);
    else
        snprintf(buf, n, "hidden[%d].%s", ref->target, d->path);
}

bool ein_setting_check_context(ein_eval *ev, const ein_setting_ref *ref, ein_loc at,
                               const ein_cell_config *cfg)
{
    const ein_setting_def *d = ref->def;
    if (!d->context)
        return true;
    int first = ref->target, last = ref->target;
    if (d->scope == EIN_SCOPE_LOSS)
        first = last = find_loss(cfg, ref->loss);
    else if (d->scope == EIN_SCOPE_LAYER && ref->target == EIN_TARGET_ALL_HIDDEN)
        first = 0, last = cfg->n_hidden - 1;
    for (int t = first; t <= last; t++) {
        const char *why = d->context(cfg, t);
        if (why) {
            char path[128];
            full_path(ref, path, sizeof path);
            ein_eval_error(ev, at, "'%s' does not apply here: %s (it applies to %s); %s", path, why,
                           d->applies, d->instead);
            return false;
        }
    }
    return true;
}

/* ---- canonical text ------------------------------------------------------ */

static void format_set(const ein_names *t, unsigned mask, bool bits, char *buf, size_t n)
{
    size_t len = 0;
    buf[0] = '\0';
    /* single names only (for groups: the values that are one bit), in table order */
    for (int i = 0; i < t->n; i++) {
        unsigned m = bits ? 1u << t->v[i].value : (unsigned)t->v[i].value;
        if (t->v[i].alias || (m & (m - 1)) != 0)
            continue;
        if (mask & m) {
            len = put_text(buf, n, len, " ");
            len = put_text(buf, n, len, t->v[i].name);
        }
    }
}

void ein_setting_format(const ein_setting_def *d, const ein_cell_config *cfg, int target, char *buf,
                        size_t n)
{
    const void *p = field(d, (ein_cell_config *)cfg, target);
    switch (d->ctype) {
    case EIN_C_INT: ein_format_integer(*(const int *)p, buf, n); break;
    case EIN_C_LONG: ein_format_integer(*(const long *)p, buf, n); break;
    case EIN_C_U64: {   /* the seed, in every cell's id: printf only beyond long long */
        uint64_t u = *(const uint64_t *)p;
        if (u <= (uint64_t)LLONG_MAX)
            ein_format_integer((long long)u, buf, n);
        else
            snprintf(buf, n, "%llu", (unsigned long long)u);
        break;
    }
    case EIN_C_DOUBLE: ein_format_double(*(const double *)p, buf, n); break;
    case EIN_C_BOOL: put_text(buf, n, 0, *(const bool *)p ? "true" : "false"); break;
    case EIN_C_ENUM: put_text(buf, n, 0, ein_name_of(d->names, *(const int *)p)); break;
    case EIN_C_MASK:
        if (*(const unsigned *)p == EIN_GROUPS_DEFAULT)
            put_text(buf, n, 0, " default");
        else
            format_set(d->names, *(const unsigned *)p, false, buf, n);
        break;
    case EIN_C_BITS: format_set(d->names, *(const unsigned *)p, true, buf, n); break;
    case EIN_C_STR: put_text(buf, n, 0, (const char *)p); break;
    case EIN_C_LR: {
        int g = 0;
        while (g < EIN_GROUP_COUNT && !(d->groups & (1u << g)))
            g++;
        ein_format_double(((const double *)p)[g < EIN_GROUP_COUNT ? g : 0], buf, n);
        break;
    }
    case EIN_C_FROZEN: {
        unsigned m = 0;
        for (int g = 0; g < EIN_GROUP_COUNT; g++)
            m |= ((const bool *)p)[g] ? 1u << g : 0u;
        format_set(d->names, m, false, buf, n);
        break;
    }
    }
}

/* ---- help ------------------------------------------------------------------ */

static void type_text(const ein_setting_def *d, char *buf, size_t n)
{
    char list[256];
    switch (d->type) {
    case EIN_TYPE_INT:
        if (d->max >= INT_MAX)
            snprintf(buf, n, "integer >= %.0f", d->min);
        else
            snprintf(buf, n, "integer in %.0f..%.0f", d->min, d->max);
        break;
    case EIN_TYPE_NUM:
        if (isinf(d->max))
            snprintf(buf, n, "number %s %g", d->flags & EIN_SF_MIN_OPEN ? ">" : ">=", d->min);
        else
            snprintf(buf, n, "number in [%g, %g%c", d->min, d->max, d->flags & EIN_SF_MAX_OPEN ? ')' : ']');
        break;
    case EIN_TYPE_BOOL: snprintf(buf, n, "true or false"); break;
    case EIN_TYPE_STR: snprintf(buf, n, "string"); break;
    case EIN_TYPE_NAME: snprintf(buf, n, "one of %s", ein_name_list(d->names, list, sizeof list)); break;
    case EIN_TYPE_SET: snprintf(buf, n, "a list of %s", ein_name_list(d->names, list, sizeof list)); break;
    }
    size_t len = strlen(buf);
    if (d->flags & EIN_SF_AUTO)
        snprintf(buf + len, n - len, ", or auto");
    else if (d->flags & EIN_SF_NONE)
        snprintf(buf + len, n - len, ", or none");
}

/* A markdown table row: `path` | type | default | applies to | doc. */
static void print_markdown_row(FILE *out, const ein_setting_def *d, const char *path, const char *type)
{
    fprintf(out, "| `%s` | %s | `%s`", path, type, d->def);
    if (d->def_output)
        fprintf(out, " (output `%s`)", d->def_output);
    fprintf(out, " | %s | %s |\n", d->applies ? d->applies : "", d->doc);
}

int ein_schema_print_markdown(FILE *out)
{
    fputs("| setting | type | default | applies to | meaning |\n| --- | --- | --- | --- | --- |\n", out);
    int printed = 0;
    for (size_t i = 0; i < N_SCHEMA; i++) {
        const ein_setting_def *d = &schema[i];
        char path[96], type[512];
        if (d->scope == EIN_SCOPE_CELL)
            snprintf(path, sizeof path, "%s", d->path);
        else if (d->scope == EIN_SCOPE_LAYER)
            snprintf(path, sizeof path, "hidden[i].%s", d->path);
        else
            snprintf(path, sizeof path, "loss.NAME.%s", d->path);
        type_text(d, type, sizeof type);
        for (char *p = type; *p; p++)
            if (*p == '|')
                *p = '/';
        print_markdown_row(out, d, path, type);
        printed++;
    }
    return printed;
}

int ein_schema_print(FILE *out, const char *only)
{
    int printed = 0;
    for (size_t i = 0; i < N_SCHEMA; i++) {
        const ein_setting_def *d = &schema[i];
        char path[96], type[512];
        if (d->scope == EIN_SCOPE_CELL)
            snprintf(path, sizeof path, "%s", d->path);
        else if (d->scope == EIN_SCOPE_LAYER)
            snprintf(path, sizeof path, "hidden[i].%s, output.%s", d->path, d->path);
        else
            snprintf(path, sizeof path, "loss.NAME.%s", d->path);
        if (only && *only && !strstr(path, only))
            continue;
        type_text(d, type, sizeof type);
        fprintf(out, "%s\n    %s\n    type: %s\n    default: %s", path, d->doc, type, d->def);
        if (d->def_output)
            fprintf(out, " (output layer: %s)", d->def_output);
        fputc('\n', out);
        if (d->applies)
            fprintf(out, "    applies to: %s\n", d->applies);
        printed++;
    }
    return printed;
}
