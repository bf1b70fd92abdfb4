/* train.c — train and evaluate one cell (include/ein/train.h; model.md M7–M9).
 *
 * Everything is allocated before the first batch: the model's graph arena,
 * the optimizer state, the epoch order and the two alignment buffers.  The
 * batch loop does no allocation and no string work.
 */
#include "ein/blas.h"
#include "ein/train.h"
#include "ein/data.h"
#include "ein/model.h"
#include "ein/optim.h"
#include "ein/weights.h"
#include "graph_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A layer's own learning rates and frozen groups (hidden[i].lr.*,
 * hidden[i].frozen) on its parameters; the rest keep their group's (M8). */
static void layer_param_settings(const ein_layer *L, ein_optim *opt, const ein_group_settings groups[])
{
    ein_node *params[6] = { L->W_ex, L->b, L->W_ix, L->B_ix, L->W_ei, L->B_ei };
    for (int k = 0; k < 6; k++) {
        ein_node *n = params[k];
        if (!n)
            continue;
        ein_group_settings s = groups[n->group];
        if (L->cfg.lr[n->group] > 0)
            s.lr = L->cfg.lr[n->group];
        if (L->cfg.frozen & (1u << n->group))
            s.frozen = true;
        if (s.lr != groups[n->group].lr || s.frozen != groups[n->group].frozen)
            ein_optim_set_param(opt, n, &s);
    }
}

static void layer_settings(const ein_model *m, ein_optim *opt, const ein_group_settings groups[])
{
    for (int i = 0; i < m->n_hidden; i++)
        layer_param_settings(&m->hidden[i], opt, groups);
    layer_param_settings(&m->output, opt, groups);
}

typedef struct trainer {
    const ein_cell_config *cfg;
    const ein_dataset *train, *test;
    const ein_train_hooks *hooks;
    ein_model *m;
    ein_optim *opt;
    int32_t *order;
    ein_real *grad_ref, *grad_op;   /* M9 gradient alignment buffers */
    ein_rng shuffle_rng, shift_rng, eval_rng, align_rng;
    ein_rng shuffle_final;             /* before the last epoch drew its order */
    ein_rng eval_final, align_final;   /* where the last evaluation's streams started */
    int batch, eval_batch;
} trainer;

static int argmax(const ein_real *row, int n)
{
    int best = 0;
    for (int k = 1; k < n; k++)
        if (row[k] > row[best])
            best = k;
    return best;
}

static int count_correct(const ein_model *m, const int32_t *labels, int count)
{
    int correct = 0;
    for (int r = 0; r < count; r++)
        correct += argmax(m->logits->val + (size_t)r * m->n_classes, m->n_classes) == labels[r];
    return correct;
}

static bool stop_requested(volatile sig_atomic_t *flag) { return flag != NULL && *flag != 0; }

/* First non-finite parameter, or NULL. */
static const ein_node *nonfinite_param(const ein_model *m)
{
    int n = ein_graph_n_nodes(m->graph);
    for (int i = 0; i < n; i++) {
        const ein_node *p = ein_graph_nodes(m->graph, i);
        if (p->kind != EIN_NODE_PARAM)
            continue;
        size_t len = (size_t)p->rows * (size_t)p->cols;
        for (size_t k = 0; k < len; k++)
            if (!isfinite(p->val[k]))
                return p;
    }
    return NULL;
}

static double cosine(const ein_real *a, const ein_real *b, size_t n)
{
    double ab = 0, aa = 0, bb = 0;
    for (size_t i = 0; i < n; i++) {
        ab += (double)a[i] * b[i];
        aa += (double)a[i] * a[i];
        bb += (double)b[i] * b[i];
    }
    return aa > 0 && bb > 0 ? ab / sqrt(aa * bb) : 0.0;
}

/* (M9) moments of every hidden layer's pre-ReLU z, task loss and accuracy
 * over the whole test set. */
static void evaluate(trainer *t, ein_epoch_metrics *em)
{
    ein_model *m = t->m;
    const ein_data_config *d = &t->cfg->data;
    int32_t *labels = ein_graph_labels(m->graph);
    long correct = 0, seen = 0;
    double loss = 0, mean[EIN_MAX_HIDDEN] = { 0 }, var[EIN_MAX_HIDDEN] = { 0 }, sq[EIN_MAX_HIDDEN] = { 0 };
    for (long start = 0; start < t->test->n; start += t->eval_batch) {
        int count = ein_batch_fill(t->test, NULL, start, t->eval_batch, d->eps, d->shift_test,
                                   d->fixed_test_delta, &t->eval_rng, m->x->val, labels);
        if (count <= 0)
            break;
        ein_graph_set_batch(m->graph, count);
        ein_graph_forward(m->graph, m->eval_plan);
        correct += count_correct(m, labels, count);
        if (m->task_loss != NULL)
            loss += (double)m->task_loss->val[0] * count;
        for (int l = 0; l < m->n_hidden; l++) {
            const ein_node *z = m->hidden[l].z;
            for (int r = 0; r < count; r++) {
                const ein_real *row = z->val + (size_t)r * z->cols;
                double s = 0, ss = 0;
                for (int c = 0; c < z->cols; c++) {
                    s += row[c];
                    ss += (double)row[c] * row[c];
                }
                double mu = s / z->cols, m2 = ss / z->cols;
                mean[l] += mu;
                sq[l] += m2;
                var[l] += m2 - mu * mu;
            }
        }
        seen += count;
    }
    /* NaN, never 0, for what was not measured (results write it as null). */
    em->test_acc = seen ? 100.0 * (double)correct / (double)seen : NAN;
    em->test_loss = seen && m->task_loss != NULL ? loss / (double)seen : NAN;
    for (int l = 0; l < m->n_hidden; l++) {
        em->layer[l].mean = seen ? mean[l] / (double)seen : NAN;
        em->layer[l].var = seen ? var[l] / (double)seen : NAN;
        em->layer[l].mean_sq = seen ? sq[l] / (double)seen : NAN;
    }
}

/* (M9) output and gradient alignment on one training batch. */
static void align(trainer *t, ein_epoch_metrics *em)
{
    ein_model *m = t->m;
    for (int l = 0; l < m->n_hidden; l++)     /* not measured unless the plan runs */
        em->layer[l].cos_out = em->layer[l].cos_grad = NAN;
    if (m->align_plan == NULL)
        return;
    const ein_data_config *d = &t->cfg->data;
    int count = ein_batch_fill(t->train, t->order, 0, t->batch, d->eps, d->shift_train, NAN,
                               &t->align_rng, m->x->val, ein_graph_labels(m->graph));
    if (count <= 0)
        return;
    ein_graph_set_batch(m->graph, count);
    ein_graph_forward(m->graph, m->align_plan);
    for (int l = 0; l < m->n_hidden; l++) {
        ein_layer *L = &m->hidden[l];
        em->layer[l].cos_out = cosine(L->out_ln->val, L->out_relu->val, (size_t)count * (size_t)L->z->cols);
        ein_graph_grad_of(m->graph, L->align_ref, L->W_ex, t->grad_ref);
        ein_graph_grad_of(m->graph, L->align_op, L->W_ex, t->grad_op);
        em->layer[l].cos_grad = cosine(t->grad_ref, t->grad_op, (size_t)L->W_ex->rows * (size_t)L->W_ex->cols);
    }
}

static void set_diverged(ein_cell_result *res, const char *what, int epoch, long batch, const char *where)
{
    res->status = EIN_CELL_DIVERGED;
    snprintf(res->message, sizeof res->message, "%s at epoch %d batch %ld%s%s%s", what, epoch, batch,
             where && *where ? " (" : "", where && *where ? where : "", where && *where ? ")" : "");
}

/* A non-finite loss: name the first op whose value went non-finite in this
 * forward and the source location of its layer, e.g. "non-finite task loss,
 * first in matmul, at epoch 1 batch 2 (net.ein:4:9)". */
static void loss_diverged(ein_cell_result *res, const ein_model *m, const char *loss, int epoch, long batch)
{
    const ein_node *bad = ein_graph_first_nonfinite(m->graph, m->train_plan);
    char what[96];
    if (bad != NULL && bad->op != NULL) {
        snprintf(what, sizeof what, "non-finite %s, first in %s,", loss, bad->op->name);
        set_diverged(res, what, epoch, batch, bad->where);
    } else {
        snprintf(what, sizeof what, "non-finite %s", loss);
        set_diverged(res, what, epoch, batch, NULL);
    }
}

/* One epoch of training.  Returns false when the cell must stop now. */
static bool train_epoch(trainer *t, int epoch, ein_epoch_metrics *em, ein_cell_result *res)
{
    ein_model *m = t->m;
    const ein_data_config *d = &t->cfg->data;
    int32_t *labels = ein_graph_labels(m->graph);
    ein_epoch_order(t->order, t->train->n, t->cfg->train.shuffle, &t->shuffle_rng);
    long n_batches = (t->train->n + t->batch - 1) / t->batch;
    double task_sum = 0, inorm_sum = 0;
    long correct = 0, seen = 0;
    for (long b = 0; b < n_batches; b++) {
        int count = ein_batch_fill(t->train, t->order, b * t->batch, t->batch, d->eps, d->shift_train, NAN,
                                   &t->shift_rng, m->x->val, labels);
        ein_graph_set_batch(m->graph, count);
        ein_graph_forward(m->graph, m->train_plan);
        double task = m->task_loss ? (double)m->task_loss->val[0] : 0;
        double inorm = m->inorm_loss ? (double)m->inorm_loss->val[0] : 0;
        if (!isfinite(task) || !isfinite(inorm)) {
            loss_diverged(res, m, isfinite(task) ? "I-Norm loss" : "task loss", epoch, b + 1);
            return false;
        }
        task_sum += task * count;
        inorm_sum += inorm * count;
        correct += count_correct(m, labels, count);
        seen += count;
        ein_optim_backward_step(t->opt);
        if (t->hooks && t->hooks->on_batch)
            t->hooks->on_batch(t->hooks->ctx, epoch, b + 1, n_batches);
        if (t->hooks && stop_requested(t->hooks->stop_now)) {
            res->status = EIN_CELL_INTERRUPTED;
            snprintf(res->message, sizeof res->message, "interrupted at epoch %d batch %ld", epoch, b + 1);
            return false;
        }
    }
    const ein_node *bad = nonfinite_param(m);
    if (bad != NULL) {
        char what[96];
        snprintf(what, sizeof what, "non-finite parameter %s", bad->name);
        set_diverged(res, what, epoch, n_batches, bad->where);
        return false;
    }
    em->train_acc = seen ? 100.0 * (double)correct / (double)seen : NAN;
    em->task_loss = seen && m->task_loss ? task_sum / (double)seen : NAN;
    em->inorm_loss = seen && m->inorm_loss ? inorm_sum / (double)seen : NAN;   /* no I-Norm loss */
    return true;
}

/* Start from a saved cell: its parameters and random streams.  With
 * eval_only, evaluate once from the streams its last evaluation started
 * from, which reproduces that evaluation (a fixed Δ replaces the draws). */
static ein_code resume(trainer *t, const char *dir, bool eval_only, ein_cell_result *res, ein_err *err)
{
    ein_train_state st;
    ein_code rc = ein_weights_load(dir, t->m, &st, err);
    if (rc != EIN_OK)
        return rc;
    t->shuffle_rng = st.shuffle;
    t->shift_rng = st.shift;
    t->eval_rng = eval_only ? st.eval_final : st.eval;
    t->align_rng = eval_only ? st.align_final : st.align;
    t->shuffle_final = st.shuffle_final;
    t->eval_final = st.eval_final;
    t->align_final = st.align_final;
    res->epochs_done = st.epochs;
    if (!eval_only)
        return EIN_OK;
    double t0 = ein_now();
    ein_rng order_rng = st.shuffle_final;   /* the last epoch's order: the alignment batch */
    ein_epoch_order(t->order, t->train->n, t->cfg->train.shuffle, &order_rng);
    ein_epoch_metrics em;
    memset(&em, 0, sizeof em);
    em.epoch = st.epochs;
    em.n_hidden = t->m->n_hidden;
    em.train_acc = em.task_loss = em.inorm_loss = NAN;   /* nothing was trained */
    evaluate(t, &em);
    align(t, &em);
    em.seconds = ein_now() - t0;
    res->final = res->best = em;
    return EIN_OK;
}

ein_code ein_train_cell(const ein_cell_config *cfg, const ein_dataset *train, const ein_dataset *test,
                        const ein_train_hooks *hooks, ein_cell_result *res, ein_err *err)
{
    memset(res, 0, sizeof *res);
    res->status = EIN_CELL_FAILED;
    double t_start = ein_now();
    if (train == NULL || test == NULL || train->n < 1 || test->n < 1)
        return ein_err_set(err, EIN_ERR_DATA, "training needs a non-empty training and test set");
    if (train->dim != test->dim)
        return ein_err_set(err, EIN_ERR_DATA, "training images have %d pixels but test images %d",
                           train->dim, test->dim);
    if (cfg->train.batch < 1 || cfg->train.epochs < 1)
        return ein_err_set(err, EIN_ERR_LANG, "batch and epochs must be at least 1");

    if (hooks != NULL && hooks->blas_threads > 0)
        ein_blas_set_threads(hooks->blas_threads);
    else if (hooks == NULL)
        ein_blas_set_threads(ein_blas_default_threads());

    trainer t = { .cfg = cfg, .train = train, .test = test, .hooks = hooks };
    t.batch = cfg->train.batch;
    t.eval_batch = t.batch > 256 ? t.batch : 256;    /* evaluation: bigger GEMMs, same result */
    ein_code rc = ein_model_build(cfg, train->dim, train->classes, t.eval_batch, false, &t.m, err);
    if (rc != EIN_OK)
        return rc;
    rc = ein_model_init(t.m, err);
    if (rc != EIN_OK) {
        ein_model_free(t.m);
        return rc;
    }
    ein_group_settings groups[EIN_GROUP_COUNT];
    ein_group_settings_from_config(&t.m->cfg.train, groups);
    const ein_train_config *tc = &t.m->cfg.train;
    t.opt = ein_optim_new(t.m->graph, tc->optimizer, groups, tc->adam_beta1, tc->adam_beta2, tc->adam_eps, err);
    if (t.opt)
        layer_settings(t.m, t.opt, groups);
    size_t max_wex = 0;
    for (int l = 0; l < t.m->n_hidden; l++) {
        size_t len = (size_t)t.m->hidden[l].W_ex->rows * (size_t)t.m->hidden[l].W_ex->cols;
        max_wex = len > max_wex ? len : max_wex;
    }
    t.order = malloc((size_t)train->n * sizeof *t.order);
    t.grad_ref = malloc((max_wex + 1) * sizeof(ein_real));
    t.grad_op = malloc((max_wex + 1) * sizeof(ein_real));
    if (t.opt == NULL || t.order == NULL || t.grad_ref == NULL || t.grad_op == NULL) {
        rc = ein_err_set(err, EIN_ERR_NOMEM, "out of memory preparing the cell");
        goto done;
    }
    uint64_t seed = tc->seed;
    ein_rng_init(&t.shuffle_rng, seed, EIN_STREAM_SHUFFLE);
    ein_rng_init(&t.shift_rng, seed, EIN_STREAM_SHIFT);
    ein_rng_init(&t.eval_rng, seed, EIN_STREAM_EVAL);
    ein_rng_init(&t.align_rng, seed, EIN_STREAM_SUB(EIN_STREAM_EVAL, 1));

    res->status = EIN_CELL_OK;
    int first_epoch = 1;
    if (hooks && hooks->resume_dir) {
        rc = resume(&t, hooks->resume_dir, hooks->eval_only, res, err);
        if (rc != EIN_OK || hooks->eval_only)
            goto done;
        first_epoch = res->epochs_done + 1;
    }
    for (int epoch = first_epoch; epoch <= tc->epochs; epoch++) {
        double t0 = ein_now();
        ein_epoch_metrics em;
        memset(&em, 0, sizeof em);
        em.epoch = epoch;
        em.n_hidden = t.m->n_hidden;
        t.shuffle_final = t.shuffle_rng;
        if (!train_epoch(&t, epoch, &em, res))
            break;
        t.eval_final = t.eval_rng;
        t.align_final = t.align_rng;
        evaluate(&t, &em);
        align(&t, &em);
        em.seconds = ein_now() - t0;
        res->epochs_done = epoch;
        res->final = em;
        if (epoch == first_epoch || em.test_acc > res->best.test_acc)
            res->best = em;
        if (hooks && hooks->on_epoch)
            hooks->on_epoch(hooks->ctx, &em);
        if (hooks && stop_requested(hooks->stop) && epoch < tc->epochs) {
            res->status = EIN_CELL_INTERRUPTED;
            snprintf(res->message, sizeof res->message, "interrupted after epoch %d", epoch);
            break;
        }
    }
    if (hooks && hooks->save_weights_dir) {
        ein_train_state st = { res->epochs_done, t.shuffle_rng, t.shift_rng, t.eval_rng, t.align_rng,
                               t.shuffle_final, t.eval_final, t.align_final };
        rc = ein_weights_save(hooks->save_weights_dir, t.m, &st, err);
        if (rc != EIN_OK)
            res->status = EIN_CELL_FAILED;
    }
done:
    res->seconds = ein_now() - t_start;
    free(t.order);
    free(t.grad_ref);
    free(t.grad_op);
    ein_optim_free(t.opt);
    ein_model_free(t.m);
    return rc;
}
