/* config.h — one fully bound experiment cell, as the trainer sees it.
 *
 * This is the contract between the language side (checker → lowering, grid
 * expansion) and the numeric side (model builder, trainer).  A cell config is
 * plain old data: fixed-size arrays and strings, no pointers, so it can be
 * copied, compared, hashed and handed to a forked worker as is.
 *
 * Every field has the model.md default, set by ein_config_defaults(); the
 * lowering of a `.ein` program only overwrites what the program says.
 * Fields documented "-1 = default" are resolved by ein_config_resolve()
 * (e.g. ni = max(1, floor(0.1 ne)), λ of the I-Norm loss by variant).
 */
#ifndef EIN_CONFIG_H
#define EIN_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "ein/text.h"

#define EIN_MAX_HIDDEN   16    /* hidden layers per network */
#define EIN_MAX_LOSSES   8
#define EIN_NAME_MAX     64
#define EIN_PATH_MAX     1024
#define EIN_WHERE_MAX    160   /* "file.ein:12:5" of the construct that made something */

/* Forward normalization after the layer's linear map (model.md M3, M4). */
typedef enum ein_fwd_norm {
    EIN_FWD_NONE = 0,
    EIN_FWD_LAYERNORM,      /* M3, exact backward */
    EIN_FWD_LAYERNORM_FWD,  /* M3, LN forward, identity backward */
    EIN_FWD_CENTER,         /* M3 */
    EIN_FWD_SCALE,          /* M3 */
    EIN_FWD_INORM,          /* M4 full I-Norm (subtractive + divisive) with the M5 local loss */
    EIN_FWD_INORM_SUB,      /* M5 subtractive-only I-Norm */
    EIN_FWD_COUNT
} ein_fwd_norm;

/* Backward-only transform of the error signal on z (model.md M6, GradNorm). */
typedef enum ein_bwd_norm {
    EIN_BWD_NONE = 0,
    EIN_BWD_FULL,
    EIN_BWD_CENTER,
    EIN_BWD_SCALE,
    EIN_BWD_DECORRELATE,
    EIN_BWD_FA_CENTER,
    EIN_BWD_COUNT
} ein_bwd_norm;

typedef enum ein_layer_kind {
    EIN_LAYER_EI = 0,       /* M1 E/I (DANN) layer */
    EIN_LAYER_E_ONLY        /* M3 E-only layer (z = x W_exᵀ + b, W_ex ≥ 0), always + layernorm */
} ein_layer_kind;

typedef enum ein_act { EIN_ACT_RELU = 0, EIN_ACT_NONE } ein_act;

typedef enum ein_init { EIN_INIT_LOGNORMAL = 0, EIN_INIT_EXPONENTIAL } ein_init;  /* M2 */

/* Parameter groups (model.md M8).  Bit i of a group mask is (1u << group). */
typedef enum ein_group {
    EIN_GROUP_WEX = 0,  /* W_ex, clamp ≥ 0 */
    EIN_GROUP_BIAS,     /* b */
    EIN_GROUP_WIX,      /* W_ix, clamp ≥ 0 */
    EIN_GROUP_BIX,      /* B_ix, unconstrained */
    EIN_GROUP_WEI,      /* W_ei, clamp ≥ 0 */
    EIN_GROUP_BEI,      /* B_ei, clamp ≥ 0 */
    EIN_GROUP_COUNT
} ein_group;
#define EIN_GROUPS_ALL      ((1u << EIN_GROUP_COUNT) - 1u)
#define EIN_GROUPS_DEFAULT  0x80000000u   /* "routing as model.md M8 says" */

typedef struct ein_layer_config {
    ein_layer_kind kind;
    int ne;                 /* excitatory units, ≥ 1 */
    int ni;                 /* inhibitory units; -1 = max(1, floor(0.1 ne)) (M1) */
    ein_act act;            /* hidden: relu; output: none */
    ein_init init;          /* M2 */
    ein_fwd_norm fwd;
    ein_bwd_norm bwd;
    unsigned inhib_learn;   /* groups of inhibitory params that learn in an I-Norm layer;
                               EIN_GROUPS_DEFAULT = {wix,bix} for inorm, {wix,wei} for inorm_sub (M4, M5) */
    double lr[EIN_GROUP_COUNT];/* this layer's own learning rate per group; -1 = the train block's */
    unsigned frozen;        /* groups never updated in this layer, besides train.frozen */
    char where[EIN_WHERE_MAX]; /* source location that declared this layer, for messages */
} ein_layer_config;

typedef enum ein_loss_kind { EIN_LOSS_TASK = 0, EIN_LOSS_INORM } ein_loss_kind;

typedef struct ein_loss_config {
    ein_loss_kind kind;
    char name[EIN_NAME_MAX];   /* as declared: `loss task = ...` */
    double weight;             /* task: 1; inorm: λ, -1 = 0.01 (inorm) / 0.001 (inorm_sub) (M5) */
    double label_smoothing;    /* task loss only; 0.1 (M7) */
    unsigned groups;           /* groups it may update, EIN_GROUPS_DEFAULT = M8 routing */
    char where[EIN_WHERE_MAX];
} ein_loss_config;

typedef enum ein_optimizer { EIN_OPT_SGD = 0, EIN_OPT_ADAM } ein_optimizer;

typedef struct ein_train_config {
    ein_optimizer optimizer;
    double lr[EIN_GROUP_COUNT];  /* per group (M8): wex,bias = lr; wix,bix = lr_wix; wei,bei = lr_wei */
    bool frozen[EIN_GROUP_COUNT];/* group never updated (bei frozen by default, M8) */
    double momentum;             /* 0 (M8); torch convention v ← μ v + g */
    double momentum_inhib;       /* μ for wix,bix,wei,bei; -1 = same as momentum */
    double weight_decay;         /* 0; decoupled, non-inhibitory groups only */
    double adam_beta1, adam_beta2, adam_eps;
    bool clamp;                  /* Dale: clamp sign-constrained groups at 0 after each step */
    int epochs;                  /* 50 (M7) */
    int batch;                   /* 32 (M7) */
    bool shuffle;                /* false: the reference loader does not shuffle (M7) */
    uint64_t seed;               /* one seed; init/shuffle/shift streams derive from it */
} ein_train_config;

typedef struct ein_data_config {
    char dir[EIN_PATH_MAX];        /* folder with the four IDX files; "" = $EIN_DATA or
                                      /usr/share/datasets/fashion-mnist */
    char train_images[EIN_PATH_MAX], train_labels[EIN_PATH_MAX];  /* "" = standard names in dir */
    char test_images[EIN_PATH_MAX],  test_labels[EIN_PATH_MAX];   /* (.gz tried as well) */
    double eps;                    /* luminosity shift Δ ~ U(-eps, eps) per image, clamp [0,1] (M7) */
    bool shift_train, shift_test;  /* both true (M7) */
    double fixed_test_delta;       /* NaN = off; else evaluate with this fixed Δ for every image */
    long limit_train, limit_test;  /* 0 = all images; else the first N */
    char base[EIN_PATH_MAX];       /* folder that relative paths above are read from: the .ein
                                      file's where they were written ("" = the current folder);
                                      not part of the cell's id (where the data lives is not
                                      what the cell computes) */
    char where[EIN_WHERE_MAX];     /* the `data = ...` statement, for messages */
} ein_data_config;

/* Metrics (model.md M9) as a bit set. */
typedef enum ein_metric {
    EIN_METRIC_TEST_ACC = 0,
    EIN_METRIC_TRAIN_ACC,
    EIN_METRIC_TASK_LOSS,
    EIN_METRIC_INORM_LOSS,
    EIN_METRIC_MOMENTS,        /* per hidden layer: mean(z), var(z), mean(z²) of pre-ReLU z */
    EIN_METRIC_COS_LN_OUT,     /* per hidden layer: output alignment vs LN */
    EIN_METRIC_COS_LN_GRAD,    /* per hidden layer: gradient alignment vs LN */
    EIN_METRIC_WEIGHTS,        /* not a metric: save the trained cell (weights.h) */
    EIN_METRIC_COUNT
} ein_metric;

typedef struct ein_cell_config {
    ein_data_config data;
    int input;                     /* values per image the network takes (M7: 784) */
    char input_where[EIN_WHERE_MAX];/* the `input N` line, for a mismatch with the data */
    int n_hidden;
    ein_layer_config hidden[EIN_MAX_HIDDEN];
    ein_layer_config output;       /* M7: E/I, ne = 10, ni = 1, no norm, no nonlinearity */
    int n_losses;
    ein_loss_config losses[EIN_MAX_LOSSES];
    ein_train_config train;
    unsigned metrics;              /* bit set of (1u << ein_metric) */
    char results_dir[EIN_PATH_MAX];/* from `report "dir"`; "" = results/<experiment> */
} ein_cell_config;

/* The model.md defaults: FashionMNIST, two hidden E/I layers of 500, no norm,
 * task loss with label smoothing 0.1, SGD, batch 32, 50 epochs, no shuffle. */
void ein_config_defaults(ein_cell_config *cfg);

/* Fill every "-1 = default" field from the ones it depends on (ni from ne,
 * λ from the forward norm, inhibitory learning sets).  Idempotent. */
void ein_config_resolve(ein_cell_config *cfg);

/* Names as the language spells them ("layernorm", "fa_center", "wix", "test_acc"),
 * read off the tables of names.h.  The *_parse functions return -1 for an
 * unknown name; aliases parse (gradnorm = full); ein_group_parse takes one
 * group, not a set. */
const char *ein_fwd_norm_name(ein_fwd_norm v);
const char *ein_bwd_norm_name(ein_bwd_norm v);
const char *ein_group_name(ein_group g);
const char *ein_metric_name(ein_metric m);
int ein_fwd_norm_parse(const char *s);
int ein_bwd_norm_parse(const char *s);
int ein_group_parse(const char *s);
int ein_metric_parse(const char *s);

/* Canonical text of a configuration: one `key = value` line per setting of
 * the schema (schema.h), in its order (data, network, hidden.N, output,
 * losses.N, train, metrics), numbers as shortest round-trip decimals, names
 * as the language spells them.  Equal configs give equal text; cell ids hash
 * it (grid.h).  Without EIN_CONFIG_PROVENANCE it leaves out what does not
 * change a cell's computation: the `where` source locations and the results
 * folder. */
#define EIN_CONFIG_PROVENANCE 1u
void ein_config_write(FILE *out, const ein_cell_config *cfg, unsigned flags);
/* The same against `defaults` (ein_config_defaults then ein_config_resolve),
 * made once by a caller that writes many configurations. */
void ein_config_write_against(FILE *out, const ein_cell_config *cfg, const ein_cell_config *defaults,
                              unsigned flags);
/* The one implementation of the two above: the text appended to `b` (which
 * the caller owns, frees and may reuse across configurations; b->oom after a
 * failed allocation).  No stdio: cell ids make it for every cell of a grid. */
void ein_config_text_against(ein_textbuf *b, const ein_cell_config *cfg, const ein_cell_config *defaults,
                             unsigned flags);

#endif
