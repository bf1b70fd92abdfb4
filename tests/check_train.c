/* check_train.c — training end to end on FashionMNIST (model.md M7–M9).
 *
 * The one-epoch full-data run is the integration test; it runs in
 * the float build (a few seconds) and is skipped in the double and sanitizer
 * builds, where it would only repeat the same code slower. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ein/blas.h"
#include "ein/data.h"
#include "ein/graph.h"
#include "ein/model.h"
#include "ein/ops.h"
#include "ein/optim.h"
#include "ein/train.h"
#include "testutil.h"

static bool slow_build(void)
{
#ifdef EIN_REAL_DOUBLE
    return true;
#else
    const char *v = getenv("EIN_VARIANT");
    return v != NULL && strstr(v, "san") != NULL;
#endif
}

static void load(const ein_cell_config *cfg, ein_dataset **train, ein_dataset **test)
{
    ein_err err = { 0 };
    ck_assert_msg(ein_dataset_load(&cfg->data, EIN_SPLIT_TRAIN, train, &err) == EIN_OK, "%s", err.msg);
    ck_assert_msg(ein_dataset_load(&cfg->data, EIN_SPLIT_TEST, test, &err) == EIN_OK, "%s", err.msg);
}

static void small_cell(ein_cell_config *cfg, int width, long n_train, long n_test)
{
    ein_config_defaults(cfg);
    for (int l = 0; l < cfg->n_hidden; l++)
        cfg->hidden[l].ne = width;
    cfg->train.epochs = 1;
    cfg->data.limit_train = n_train;
    cfg->data.limit_test = n_test;
}

START_TEST(ln_one_epoch_full_data)
{
    if (slow_build())
        return;
    ein_blas_set_threads(1);
    ein_cell_config cfg;
    ein_config_defaults(&cfg);                     /* width 500, batch 32, SGD lr 0.01, ε = 0 */
    for (int l = 0; l < cfg.n_hidden; l++)
        cfg.hidden[l].fwd = EIN_FWD_LAYERNORM;
    cfg.train.epochs = 1;
    ein_dataset *train, *test;
    load(&cfg, &train, &test);
    ck_assert_int_eq(train->n, 60000);
    ein_cell_result res;
    ein_err err = { 0 };
    ck_assert_msg(ein_train_cell(&cfg, train, test, NULL, &res, &err) == EIN_OK, "%s", err.msg);
    ck_assert_str_eq(ein_cell_status_name(res.status), "ok");
    ck_assert_int_eq(res.epochs_done, 1);
    ck_assert_msg(res.final.test_acc >= 60.0, "test accuracy %.2f%% after one epoch", res.final.test_acc);
    ck_assert(res.final.train_acc > 50.0 && res.final.task_loss < 1.5);
    ein_dataset_free(train);
    ein_dataset_free(test);
}
END_TEST

/* Same cell twice: identical accuracies, losses and weights, bit for bit. */
START_TEST(cell_is_deterministic)
{
    ein_blas_set_threads(1);
    ein_cell_config cfg;
    small_cell(&cfg, 64, 1024, 256);
    cfg.train.shuffle = true;
    cfg.data.eps = 0.5;
    for (int l = 0; l < cfg.n_hidden; l++) {
        cfg.hidden[l].fwd = EIN_FWD_INORM;
        cfg.hidden[l].bwd = EIN_BWD_FA_CENTER;
    }
    cfg.losses[cfg.n_losses++] = (ein_loss_config){ .kind = EIN_LOSS_INORM, .weight = -1, .groups = EIN_GROUPS_DEFAULT };
    ein_dataset *train, *test;
    load(&cfg, &train, &test);
    char *dirs[2] = { tu_mkdtemp(), tu_mkdtemp() };
    ein_cell_result res[2];
    for (int k = 0; k < 2; k++) {
        ein_train_hooks hooks = { .save_weights_dir = dirs[k] };
        ein_err err = { 0 };
        ck_assert_msg(ein_train_cell(&cfg, train, test, &hooks, &res[k], &err) == EIN_OK, "%s", err.msg);
    }
    ck_assert(res[0].final.test_acc == res[1].final.test_acc);
    ck_assert(res[0].final.task_loss == res[1].final.task_loss);
    ck_assert(res[0].final.inorm_loss == res[1].final.inorm_loss);
    const char *names[] = { "L0.W_ex", "L0.W_ix", "L0.B_ix", "L1.W_ex", "out.W_ei", "out.b" };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char a[512], b[512];
        snprintf(a, sizeof a, "%s/%s.npy", dirs[0], names[i]);
        snprintf(b, sizeof b, "%s/%s.npy", dirs[1], names[i]);
        size_t la = 0, lb = 0;
        char *da = tu_read_file(a, &la), *db = tu_read_file(b, &lb);
        ck_assert_msg(da != NULL && db != NULL, "missing %s", names[i]);
        ck_assert_msg(la == lb && memcmp(da, db, la) == 0, "%s differs between two runs", names[i]);
        free(da);
        free(db);
    }
    /* a different seed gives different weights */
    cfg.train.seed = 1;
    ein_cell_result other;
    ein_err err = { 0 };
    ck_assert(ein_train_cell(&cfg, train, test, NULL, &other, &err) == EIN_OK);
    ck_assert(other.final.task_loss != res[0].final.task_loss);
    for (int k = 0; k < 2; k++) {
        tu_rmtree(dirs[k]);
        free(dirs[k]);
    }
    ein_dataset_free(train);
    ein_dataset_free(test);
}
END_TEST

/* distance of a layer's pre-ReLU moments from mean 0 / variance 1 on a batch */
static double moment_distance(const ein_node *z, int rows)
{
    double dist = 0;
    for (int r = 0; r < rows; r++) {
        const ein_real *row = z->val + (size_t)r * z->cols;
        double s = 0, ss = 0;
        for (int c = 0; c < z->cols; c++) {
            s += row[c];
            ss += (double)row[c] * row[c];
        }
        double mu = s / z->cols, var = ss / z->cols - mu * mu;
        dist += mu * mu + (var - 1) * (var - 1);
    }
    return dist / rows;
}

/* Train one epoch from an init whose divisive inhibition is 3× too strong;
 * distances of each hidden layer's moments before and after, on a test batch. */
static void inorm_epoch(double lambda, double before[], double after[])
{
    ein_cell_config cfg;
    small_cell(&cfg, 100, 6400, 64);
    for (int l = 0; l < cfg.n_hidden; l++)
        cfg.hidden[l].fwd = EIN_FWD_INORM;
    cfg.train.lr[EIN_GROUP_WIX] = cfg.train.lr[EIN_GROUP_BIX] = 0.5;   /* within the paper's draws (M10) */
    cfg.losses[cfg.n_losses++] = (ein_loss_config){ .kind = EIN_LOSS_INORM, .weight = lambda,
                                                    .groups = EIN_GROUPS_DEFAULT };
    ein_dataset *train, *test;
    load(&cfg, &train, &test);
    ein_model *m = NULL;
    ein_err err = { 0 };
    ck_assert(ein_model_build(&cfg, train->dim, 10, 32, false, &m, &err) == EIN_OK);
    ck_assert(ein_model_init(m, &err) == EIN_OK);
    for (int l = 0; l < m->n_hidden; l++) {
        ein_node *B = m->hidden[l].B_ix;
        for (int k = 0; k < B->rows * B->cols; k++)
            B->val[k] *= 3;
    }
    ein_group_settings groups[EIN_GROUP_COUNT];
    ein_group_settings_from_config(&m->cfg.train, groups);
    ein_optim *opt = ein_optim_new(m->graph, EIN_OPT_SGD, groups, 0.9, 0.999, 1e-8, &err);
    int32_t *labels = ein_graph_labels(m->graph);
    ck_assert_int_eq(ein_batch_fill(test, NULL, 0, 32, 0, false, NAN, NULL, m->x->val, labels), 32);
    ein_graph_set_batch(m->graph, 32);
    ein_graph_forward(m->graph, m->eval_plan);
    for (int l = 0; l < m->n_hidden; l++)
        before[l] = moment_distance(m->hidden[l].z, 32);
    for (long start = 0; start < train->n; start += 32) {
        int n = ein_batch_fill(train, NULL, start, 32, 0, false, NAN, NULL, m->x->val, labels);
        ein_graph_set_batch(m->graph, n);
        ein_graph_forward(m->graph, m->train_plan);
        ein_graph_backward(m->graph);
        ein_optim_step(opt);
    }
    ein_batch_fill(test, NULL, 0, 32, 0, false, NAN, NULL, m->x->val, labels);
    ein_graph_set_batch(m->graph, 32);
    ein_graph_forward(m->graph, m->eval_plan);
    for (int l = 0; l < m->n_hidden; l++)
        after[l] = moment_distance(m->hidden[l].z, 32);
    ein_optim_free(opt);
    ein_model_free(m);
    ein_dataset_free(train);
    ein_dataset_free(test);
}

/* (M5) the I-Norm loss pulls the layer's moments towards mean 0 / var 1,
 * and it is the I-Norm loss that does it: λ = 0 (same task training) does not. */
START_TEST(inorm_loss_normalizes_activity)
{
    ein_blas_set_threads(1);
    double before[EIN_MAX_HIDDEN], after[EIN_MAX_HIDDEN], ctl_before[EIN_MAX_HIDDEN], ctl_after[EIN_MAX_HIDDEN];
    inorm_epoch(0.01, before, after);
    inorm_epoch(0.0, ctl_before, ctl_after);
    /* Layer 0 sees 784 pixels, layer 1 100 small ReLU outputs: its B_ix
     * gradient is ~100× smaller, so in one epoch it moves less, but it must
     * still move towards normal more than without the loss. */
    ck_assert_msg(before[0] > 0.5, "layer 0 starts at distance %g", before[0]);
    ck_assert_msg(after[0] < 0.6 * before[0], "layer 0: distance %g -> %g", before[0], after[0]);
    for (int l = 0; l < 2; l++)
        ck_assert_msg(after[l] < ctl_after[l] && (l > 0 || after[l] < 0.7 * ctl_after[l]),
                      "layer %d: %g with the I-Norm loss, %g without", l, after[l], ctl_after[l]);
}
END_TEST

START_TEST(divergence_is_a_status)
{
    ein_cell_config cfg;
    small_cell(&cfg, 32, 512, 64);
    cfg.train.lr[EIN_GROUP_WEX] = cfg.train.lr[EIN_GROUP_BIAS] = 1e300;   /* overflows float and double */
    snprintf(cfg.losses[0].where, sizeof cfg.losses[0].where, "x.ein:9:3");
    for (int l = 0; l < cfg.n_hidden; l++)
        snprintf(cfg.hidden[l].where, sizeof cfg.hidden[l].where, "x.ein:%d:5", 4 + l);
    snprintf(cfg.output.where, sizeof cfg.output.where, "x.ein:6:5");
    ein_dataset *train, *test;
    load(&cfg, &train, &test);
    ein_cell_result res;
    ein_err err = { 0 };
    ck_assert_int_eq(ein_train_cell(&cfg, train, test, NULL, &res, &err), EIN_OK);
    ck_assert_str_eq(ein_cell_status_name(res.status), "diverged");
    /* the message names the loss, the first op that went non-finite and its layer */
    ck_assert_msg(strncmp(res.message, "non-finite task loss, first in ", 31) == 0 &&
                  strstr(res.message, " at epoch 1 batch ") != NULL && strstr(res.message, " (x.ein:") != NULL,
                  "%s", res.message);
    ck_assert_int_eq(res.epochs_done, 0);
    ein_dataset_free(train);
    ein_dataset_free(test);
}
END_TEST

static void count_epochs(void *ctx, const ein_epoch_metrics *m)
{
    (void)m;
    ++*(int *)ctx;
}

START_TEST(stop_finishes_the_epoch)
{
    ein_cell_config cfg;
    small_cell(&cfg, 32, 256, 64);
    cfg.train.epochs = 5;
    ein_dataset *train, *test;
    load(&cfg, &train, &test);
    volatile sig_atomic_t stop = 1;
    int epochs = 0;
    ein_train_hooks hooks = { .ctx = &epochs, .on_epoch = count_epochs, .stop = &stop };
    ein_cell_result res;
    ein_err err = { 0 };
    ck_assert_int_eq(ein_train_cell(&cfg, train, test, &hooks, &res, &err), EIN_OK);
    ck_assert_str_eq(ein_cell_status_name(res.status), "interrupted");
    ck_assert_int_eq(res.epochs_done, 1);
    ck_assert_int_eq(epochs, 1);
    ein_dataset_free(train);
    ein_dataset_free(test);
}
END_TEST

Suite *ein_test_suite(void)
{
    Suite *s = suite_create("train");
    TCase *tc = tcase_create("fashion-mnist");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, ln_one_epoch_full_data);
    tcase_add_test(tc, cell_is_deterministic);
    tcase_add_test(tc, inorm_loss_normalizes_activity);
    tcase_add_test(tc, divergence_is_a_status);
    tcase_add_test(tc, stop_finishes_the_epoch);
    suite_add_tcase(s, tc);
    return s;
}
