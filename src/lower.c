/* lower.c — an experiment under one cell's bindings → ein_cell_config
 * (include/ein/lower.h).  Defaults are model.md's (config.c); only what the
 * program says is overwritten. */
#include "ein/lower.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

typedef struct lowering {
    ein_eval *ev;
    ein_scope *scope;
    ein_cell_config *cfg;
    bool ok;
    long long pixels, classes;
    const ein_value *data_batch;     /* batch given in data = ..., or NULL */
} lowering;

static void where_of(lowering *L, ein_loc loc, char *buf)
{
    ein_diag_where(L->ev->diag, loc, buf, EIN_WHERE_MAX);
}

static const ein_value *eval(lowering *L, const ein_expr *e)
{
    const ein_value *v = ein_eval_expr(L->ev, L->scope, e);
    if (!v)
        L->ok = false;
    return v;
}

static bool is_sym(const ein_value *v, const char *s)
{
    return v->kind == EIN_V_SYM && !strcmp(v->s, s);
}

static const ein_value *want_tag(lowering *L, const ein_value *v, const char *tag, const char *what,
                                 const char *hint)
{
    if (v->kind == EIN_V_RECORD && v->rec.tag && !strcmp(v->rec.tag, tag))
        return v;
    char text[64];
    ein_eval_error(L->ev, v->loc, "%s must be %s, got %s %s", what, hint, ein_value_type(v),
                   ein_value_text(v, text, sizeof text));
    L->ok = false;
    return NULL;
}

/* ---- data (M7) --------------------------------------------------------- */

static void copy_str(char *dst, size_t n, const char *src) { snprintf(dst, n, "%s", src); }

static void lower_data(lowering *L, const ein_stmt *s)
{
    const ein_value *v = eval(L, s->data.value);
    if (!v || !(v = want_tag(L, v, "data", "data", "a data set (idx(...) or fashion_mnist(...))")))
        return;
    ein_data_config *d = &L->cfg->data;
    double x;
    for (int i = 0; i < v->rec.n; i++) {
        const char *k = v->rec.fields[i].name;
        const ein_value *f = v->rec.fields[i].value;
        if (!strcmp(k, "dir")) copy_str(d->dir, sizeof d->dir, f->s);
        else if (!strcmp(k, "train_images")) copy_str(d->train_images, sizeof d->train_images, f->s);
        else if (!strcmp(k, "train_labels")) copy_str(d->train_labels, sizeof d->train_labels, f->s);
        else if (!strcmp(k, "test_images")) copy_str(d->test_images, sizeof d->test_images, f->s);
        else if (!strcmp(k, "test_labels")) copy_str(d->test_labels, sizeof d->test_labels, f->s);
        else if (!strcmp(k, "eps") && ein_value_number(f, &x)) d->eps = x;
        else if (!strcmp(k, "shift_train")) d->shift_train = f->b;
        else if (!strcmp(k, "shift_test")) d->shift_test = f->b;
        else if (!strcmp(k, "limit_train") && ein_value_number(f, &x)) d->limit_train = (long)x;
        else if (!strcmp(k, "limit_test") && ein_value_number(f, &x)) d->limit_test = (long)x;
        else if (!strcmp(k, "fixed_delta") && ein_value_number(f, &x)) d->fixed_test_delta = x;
        else if (!strcmp(k, "pixels") && ein_value_number(f, &x)) L->pixels = (long long)x;
        else if (!strcmp(k, "classes") && ein_value_number(f, &x)) L->classes = (long long)x;
        else if (!strcmp(k, "batch") && ein_value_number(f, &x)) {
            L->cfg->train.batch = (int)x;
            L->data_batch = f;
        } else if (!strcmp(k, "shuffle") && f->kind == EIN_V_BOOL) {
            L->cfg->train.shuffle = f->b;
        }
    }
}

/* ---- network (M1, M3, M7) ---------------------------------------------- */

static int norm_kind(lowering *L, const ein_value *v, bool backward)
{
    int k = ein_want_name(L->ev, v, backward ? &ein_bwd_norm_names : &ein_fwd_norm_names, NULL);
    if (k < 0) {
        L->ok = false;
        return 0;
    }
    return k;   /* aliases (gradnorm = full, M6) parse to their value */
}

static void lower_layer(lowering *L, const ein_value *v, ein_layer_config *l, ein_loc where,
                        bool output, ein_fwd_norm net_fwd, ein_bwd_norm net_bwd)
{
    double x;
    const ein_value *f;
    l->kind = is_sym(ein_value_field(v, "kind"), "e_only") ? EIN_LAYER_E_ONLY : EIN_LAYER_EI;
    ein_value_number(ein_value_field(v, "ne"), &x);
    l->ne = (int)x;
    f = ein_value_field(v, "ni");
    l->ni = ein_value_number(f, &x) ? (int)x : -1;
    if (l->kind == EIN_LAYER_E_ONLY)
        l->ni = -1;
    f = ein_value_field(v, "act");
    if (is_sym(f, "auto"))   /* M7: ReLU after hidden layers, none after the output */
        l->act = output ? EIN_ACT_NONE : EIN_ACT_RELU;
    else
        l->act = is_sym(f, "none") ? EIN_ACT_NONE : EIN_ACT_RELU;
    l->init = is_sym(ein_value_field(v, "init"), "exponential") ? EIN_INIT_EXPONENTIAL : EIN_INIT_LOGNORMAL;
    f = ein_value_field(v, "fwd");
    if (is_sym(f, "inherit"))
        l->fwd = output ? EIN_FWD_NONE : net_fwd;
    else
        l->fwd = (ein_fwd_norm)norm_kind(L, f, false);
    f = ein_value_field(v, "bwd");
    if (is_sym(f, "inherit"))
        l->bwd = output ? EIN_BWD_NONE : net_bwd;
    else
        l->bwd = (ein_bwd_norm)norm_kind(L, f, true);
    f = ein_value_field(v, "learn");
    l->inhib_learn = EIN_GROUPS_DEFAULT;
    if (f && !is_sym(f, "auto")) {
        unsigned m;
        if (ein_want_groups(L->ev, f, "group", &m))
            l->inhib_learn = m;
        else
            L->ok = false;
    }
    where_of(L, where, l->where);
}

static void lower_network(lowering *L, const ein_stmt *x, const ein_stmt *net)
{
    ein_cell_config *cfg = L->cfg;
    ein_fwd_norm fwd = EIN_FWD_NONE;
    ein_bwd_norm bwd = EIN_BWD_NONE;
    for (int i = 0; i < x->experiment.n_stmts; i++) {
        const ein_stmt *s = x->experiment.stmts[i];
        if (s->kind != EIN_STMT_NORM)
            continue;
        const ein_value *v = eval(L, s->norm.value);
        if (!v)
            continue;
        if (s->norm.dir == EIN_NORM_FORWARD)
            fwd = (ein_fwd_norm)norm_kind(L, v, false);
        else
            bwd = (ein_bwd_norm)norm_kind(L, v, true);
    }
    if (!net) {   /* M7 default network, with the experiment's norms */
        for (int i = 0; i < cfg->n_hidden; i++) {
            cfg->hidden[i].fwd = fwd;
            cfg->hidden[i].bwd = bwd;
            where_of(L, x->experiment.name.loc, cfg->hidden[i].where);
        }
        where_of(L, x->experiment.name.loc, cfg->output.where);
        return;
    }
    cfg->n_hidden = 0;
    bool have_output = false;
    for (int k = 0; k < net->network.n_layers; k++) {
        const ein_layer_decl *d = &net->network.layers[k];
        const ein_value *v = eval(L, d->value);
        if (!v)
            continue;
        long long n;
        if (d->role == EIN_ROLE_INPUT) {
            if (!ein_want_int(L->ev, v, "input size", 1, &n)) {
                L->ok = false;
            } else if (n != L->pixels) {
                ein_eval_error(L->ev, v->loc, "input size %lld does not match the data (%lld values per image)",
                               n, L->pixels);
                L->ok = false;
            }
            continue;
        }
        const char *what = d->role == EIN_ROLE_OUTPUT ? "output layer" : "hidden layer";
        if (!want_tag(L, v, "layer", what, "a layer (ei(...) or e_only(...))"))
            continue;
        if (d->role == EIN_ROLE_OUTPUT) {
            lower_layer(L, v, &cfg->output, d->loc, true, fwd, bwd);
            if (cfg->output.kind != EIN_LAYER_EI) {
                ein_eval_error(L->ev, d->value->loc, "the output layer must be an E/I layer (ei(...))");
                L->ok = false;
            } else if (cfg->output.ne != L->classes) {
                ein_eval_error(L->ev, d->value->loc, "output layer has %d units but the data has %lld classes",
                               cfg->output.ne, L->classes);
                L->ok = false;
            }
            have_output = true;
            continue;
        }
        long long rep = 1;
        if (d->repeat) {
            const ein_value *r = eval(L, d->repeat);
            if (!r || !ein_want_int(L->ev, r, "repetition count", 1, &rep)) {
                L->ok = false;
                continue;
            }
        }
        if (cfg->n_hidden + rep > EIN_MAX_HIDDEN) {
            ein_eval_error(L->ev, d->loc, "too many hidden layers (at most %d)", EIN_MAX_HIDDEN);
            L->ok = false;
            continue;
        }
        for (long long r = 0; r < rep; r++)
            lower_layer(L, v, &cfg->hidden[cfg->n_hidden++], d->loc, false, fwd, bwd);
    }
    if (!have_output)
        where_of(L, net->loc, cfg->output.where);
}

/* ---- losses (M5, M7, M8) ----------------------------------------------- */

static void lower_losses(lowering *L, const ein_stmt *x)
{
    ein_cell_config *cfg = L->cfg;
    bool any = false;
    for (int i = 0; i < x->experiment.n_stmts; i++) {
        const ein_stmt *s = x->experiment.stmts[i];
        if (s->kind != EIN_STMT_LOSS)
            continue;
        if (!any)
            cfg->n_losses = 0;
        any = true;
        const ein_value *v = eval(L, s->loss.value);
        if (!v || !want_tag(L, v, "loss", "a loss", "a loss (cross_entropy(...) or inorm_loss())"))
            continue;
        if (cfg->n_losses == EIN_MAX_LOSSES) {
            ein_eval_error(L->ev, s->loc, "too many losses (at most %d)", EIN_MAX_LOSSES);
            L->ok = false;
            return;
        }
        ein_loss_config *l = &cfg->losses[cfg->n_losses++];
        memset(l, 0, sizeof *l);
        l->kind = is_sym(ein_value_field(v, "kind"), "inorm") ? EIN_LOSS_INORM : EIN_LOSS_TASK;
        copy_str(l->name, sizeof l->name, s->loss.name.name);
        l->weight = l->kind == EIN_LOSS_TASK ? 1.0 : -1.0;   /* inorm: λ by variant (M5) */
        const ein_value *sm = ein_value_field(v, "smoothing");
        double d;
        l->label_smoothing = sm && ein_value_number(sm, &d) ? d : 0.0;
        if (s->loss.weight) {
            const ein_value *w = eval(L, s->loss.weight);
            if (w && ein_want_num(L->ev, w, "loss weight", &d)) {
                if (d < 0) {
                    ein_eval_error(L->ev, w->loc, "loss weight must not be negative, got %g", d);
                    L->ok = false;
                }
                l->weight = d;
            } else {
                L->ok = false;
            }
        }
        l->groups = EIN_GROUPS_DEFAULT;
        if (s->loss.n_updates > 0) {
            l->groups = 0;
            for (int k = 0; k < s->loss.n_updates; k++)
                l->groups |= ein_group_mask(s->loss.updates[k].name);
        }
        where_of(L, s->loc, l->where);
    }
    if (any)
        return;
    /* No loss statement: the task loss, plus the local I-Norm loss when some
     * hidden layer is an I-Norm layer (M4 comes with M5). */
    for (int i = 0; i < cfg->n_hidden; i++)
        if (cfg->hidden[i].fwd == EIN_FWD_INORM || cfg->hidden[i].fwd == EIN_FWD_INORM_SUB) {
            ein_loss_config *l = &cfg->losses[cfg->n_losses++];
            memset(l, 0, sizeof *l);
            l->kind = EIN_LOSS_INORM;
            copy_str(l->name, sizeof l->name, "inorm");
            l->weight = -1.0;
            l->groups = EIN_GROUPS_DEFAULT;
            where_of(L, x->experiment.name.loc, l->where);
            break;
        }
}

/* ---- train (M7, M8) ---------------------------------------------------- */

static bool want_prob(lowering *L, const ein_value *v, const char *what, double *out)
{
    if (!ein_want_num(L->ev, v, what, out))
        return false;
    if (!(*out >= 0 && *out < 1)) {
        ein_eval_error(L->ev, v->loc, "%s must be in [0, 1), got %g", what, *out);
        return false;
    }
    return true;
}

static bool want_positive(lowering *L, const ein_value *v, const char *what, double *out)
{
    if (!ein_want_num(L->ev, v, what, out))
        return false;
    if (!(*out > 0)) {
        ein_eval_error(L->ev, v->loc, "%s must be positive, got %g", what, *out);
        return false;
    }
    return true;
}

static void setting_path(const ein_setting *st, char *buf, size_t n)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int j = 0; j < st->n_path && len < n; j++)
        len += (size_t)snprintf(buf + len, n - len, "%s%s", j ? "." : "", st->path[j].name);
}

/* pass 0: everything except the single-group learning rates; pass 1: those,
 * so lr.bix wins over lr.wix whatever the order (M8). */
static void lower_setting(lowering *L, const ein_setting *st, int pass)
{
    ein_train_config *t = &L->cfg->train;
    char p[128];
    setting_path(st, p, sizeof p);
    bool single = !strcmp(p, "lr.wex") || !strcmp(p, "lr.bias") || !strcmp(p, "lr.bix") ||
                  !strcmp(p, "lr.bei");
    if ((pass == 1) != single)
        return;
    const ein_value *v = eval(L, st->value);
    if (!v)
        return;
    double d;
    long long i;
    bool b, ok = true;
    if (!strcmp(p, "optimizer")) {
        int k = ein_want_name(L->ev, v, &ein_optimizer_names, NULL);
        ok = k >= 0;
        if (ok)
            t->optimizer = (ein_optimizer)k;
    } else if (!strncmp(p, "lr", 2)) {
        if ((ok = want_positive(L, v, p, &d))) {
            if (!strcmp(p, "lr"))
                t->lr[EIN_GROUP_WEX] = t->lr[EIN_GROUP_BIAS] = d;
            else if (!strcmp(p, "lr.wix"))
                t->lr[EIN_GROUP_WIX] = t->lr[EIN_GROUP_BIX] = d;
            else if (!strcmp(p, "lr.wei"))
                t->lr[EIN_GROUP_WEI] = t->lr[EIN_GROUP_BEI] = d;
            else
                t->lr[ein_group_parse(p + 3)] = d;
        }
    } else if (!strcmp(p, "momentum")) {
        ok = want_prob(L, v, p, &t->momentum);
    } else if (!strcmp(p, "momentum_inhib")) {
        ok = want_prob(L, v, p, &t->momentum_inhib);
    } else if (!strcmp(p, "weight_decay")) {
        if ((ok = ein_want_num(L->ev, v, p, &d)) && d < 0) {
            ein_eval_error(L->ev, v->loc, "weight_decay must not be negative, got %g", d);
            ok = false;
        }
        t->weight_decay = d;
    } else if (!strcmp(p, "adam.beta1")) {
        ok = want_prob(L, v, p, &t->adam_beta1);
    } else if (!strcmp(p, "adam.beta2")) {
        ok = want_prob(L, v, p, &t->adam_beta2);
    } else if (!strcmp(p, "adam.eps")) {
        ok = want_positive(L, v, p, &t->adam_eps);
    } else if (!strcmp(p, "epochs")) {
        if ((ok = ein_want_int(L->ev, v, p, 1, &i)))
            t->epochs = (int)i;
    } else if (!strcmp(p, "batch")) {
        if ((ok = ein_want_int(L->ev, v, p, 1, &i))) {
            if (L->data_batch && i != t->batch) {
                ein_eval_error(L->ev, v->loc, "batch is %lld here but %d in data", i, t->batch);
                ok = false;
            }
            t->batch = (int)i;
        }
    } else if (!strcmp(p, "shuffle")) {
        if ((ok = ein_want_bool(L->ev, v, p, &b)))
            t->shuffle = b;
    } else if (!strcmp(p, "clamp")) {
        if ((ok = ein_want_bool(L->ev, v, p, &b)))
            t->clamp = b;
    } else if (!strcmp(p, "seed")) {
        if ((ok = ein_want_int(L->ev, v, p, 0, &i)))
            t->seed = (uint64_t)i;
    } else if (!strcmp(p, "frozen")) {
        unsigned m = 0;
        bool none = is_sym(v, "none") || (v->kind == EIN_V_LIST && v->list.n == 0);
        if (none || (ok = ein_want_groups(L->ev, v, "group", &m)))
            for (int g = 0; g < EIN_GROUP_COUNT; g++)
                t->frozen[g] = (m >> g) & 1u;
    }
    if (!ok)
        L->ok = false;
}

static void lower_train(lowering *L, const ein_stmt *x)
{
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < x->experiment.n_stmts; i++) {
            const ein_stmt *s = x->experiment.stmts[i];
            if (s->kind == EIN_STMT_TRAIN)
                for (int k = 0; k < s->train.n_settings; k++)
                    lower_setting(L, &s->train.settings[k], pass);
        }
}

/* ---- the experiment ---------------------------------------------------- */

bool ein_lower_experiment(ein_eval *ev, ein_scope *scope, const ein_stmt *x, ein_cell_config *cfg)
{
    lowering L = { .ev = ev, .scope = scope, .cfg = cfg, .ok = true, .pixels = 784, .classes = 10 };
    ein_config_defaults(cfg);
    const ein_stmt *net = NULL;
    for (int i = 0; i < x->experiment.n_stmts; i++) {
        const ein_stmt *s = x->experiment.stmts[i];
        if (s->kind == EIN_STMT_DATA)
            lower_data(&L, s);
        else if (s->kind == EIN_STMT_NETWORK)
            net = s;
    }
    lower_network(&L, x, net);
    lower_losses(&L, x);
    lower_train(&L, x);
    for (int i = 0; i < x->experiment.n_stmts; i++) {
        const ein_stmt *s = x->experiment.stmts[i];
        if (s->kind != EIN_STMT_REPORT)
            continue;
        if (s->report.path)
            copy_str(cfg->results_dir, sizeof cfg->results_dir, s->report.path);
        for (int k = 0; k < s->report.n_metrics; k++) {
            int m = ein_metric_parse(s->report.metrics[k].name);
            if (m >= 0)
                cfg->metrics |= 1u << m;
        }
    }
    /* locals are lowered only through their uses; evaluate them all once so a
     * broken one is reported even when nothing reads it */
    for (int i = 0; i < x->experiment.n_stmts; i++) {
        const ein_stmt *s = x->experiment.stmts[i];
        if (s->kind == EIN_STMT_BIND && !ein_scope_get(ev, scope, s->bind.name.name, s->bind.name.loc))
            L.ok = false;
    }
    ein_config_resolve(cfg);
    return L.ok;
}
