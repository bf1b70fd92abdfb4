/* lower.c — an experiment under one cell's bindings → ein_cell_config
 * (include/ein/lower.h).  Defaults are model.md's (config.c); only what the
 * program says is overwritten. */
#include "ein/lower.h"
#include "ein/schema.h"
#include "ein/text.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#define LOWER_MAX_WRITTEN 256

typedef struct lowering {
    ein_eval *ev;
    ein_scope *scope;
    ein_cell_config *cfg;
    bool ok;
    long long pixels, classes;
    const ein_value *data_batch;     /* batch given in data = ..., or NULL */
    int data_batch_n;
    bool losses_declared;            /* the experiment has loss statements */
    ein_layer_config default_layer;  /* a hidden layer as ein_config_defaults makes it */
    ein_loc hidden_loc[EIN_MAX_HIDDEN];   /* the `hidden` line of each hidden layer */
    struct { ein_setting_ref ref; ein_loc at; } written[LOWER_MAX_WRITTEN];
    int n_written;                   /* settings with a context rule, as written */
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

/* prefix + name, cut to fit: a setting's path ("data." "eps"). */
static void join(char *dst, size_t n, const char *prefix, const char *name)
{
    ein_text_copy(dst, n, prefix);
    size_t k = strlen(dst);
    ein_text_copy(dst + k, n - k, name);
}

/* Record a setting written in the program, for the context rules that can
 * only be judged once the whole cell is known (ein_setting_check_context). */
static void written(lowering *L, const ein_setting_def *d, int target, const char *loss, ein_loc at)
{
    if (L->n_written == LOWER_MAX_WRITTEN)
        return;
    ein_setting_ref *r = &L->written[L->n_written].ref;
    r->def = d;
    r->target = target;
    ein_text_copy(r->loss, sizeof r->loss, loss ? loss : "");
    L->written[L->n_written++].at = at;
}

/* The folder of the .ein file a value was written in, into buf ("" for the
 * current folder: a file there, the command line, the REPL). */
static void folder_of(lowering *L, ein_loc written_at, char *buf, size_t n)
{
    const char *src = written_at.file >= 0 ? ein_diag_source_name(L->ev->diag, written_at.file) : NULL;
    const char *slash = src && src[0] != '<' ? strrchr(src, '/') : NULL;
    snprintf(buf, n, "%.*s", slash ? (int)(slash - src) : 0, slash ? src : "");
}

/* Data paths are kept as written (they are part of the cell's id) and read
 * from the folder of the file they are written in (data.base). */
static void resolve_base(lowering *L, ein_loc written_at)
{
    folder_of(L, written_at, L->cfg->data.base, sizeof L->cfg->data.base);
}

/* A relative path written in a .ein file is relative to that file's folder
 * (like an import); one from the command line or the REPL ("<...>" sources)
 * to the current folder.  `field` holds the path as written. */
static void resolve_path(lowering *L, ein_loc written_at, char *field, size_t n)
{
    char dir[EIN_PATH_MAX];
    folder_of(L, written_at, dir, sizeof dir);
    if (!field[0] || field[0] == '/' || !dir[0])
        return;
    const char *src = dir;
    const char *slash = dir + strlen(dir);
    char buf[EIN_PATH_MAX];
    int len = snprintf(buf, sizeof buf, "%.*s/%s", (int)(slash - src), src, field);
    if (len < 0 || (size_t)len >= n || (size_t)len >= sizeof buf) {
        ein_eval_error(L->ev, written_at, "path too long: %s/%s", src, field);
        L->ok = false;
        return;
    }
    memcpy(field, buf, (size_t)len + 1);
}

/* Store v into setting `path` of the cell through the schema; `what` names
 * it in messages. */
static bool apply(lowering *L, ein_setting_scope scope, const char *path, int target, const char *what,
                  const ein_value *v, ein_loc at)
{
    ein_setting_ref ref = { .def = ein_schema_find(scope, path), .target = target };
    if (!ref.def || !ein_setting_apply(L->ev, &ref, what, v, at, L->cfg)) {
        L->ok = false;
        return false;
    }
    if ((ref.def->flags & EIN_SF_PATH) && v->kind == EIN_V_STR && v->s[0])
        resolve_base(L, v->loc);
    if (ref.def->context)
        written(L, ref.def, target, NULL, at);
    return true;
}

static void lower_data(lowering *L, const ein_stmt *s)
{
    const ein_value *v = eval(L, s->data.value);
    if (!v || !(v = want_tag(L, v, "data", "data", "a data set (idx(...) or fashion_mnist(...))")))
        return;
    where_of(L, s->loc, L->cfg->data.where);
    double x;
    for (int i = 0; i < v->rec.n; i++) {
        const char *k = v->rec.fields[i].name;
        const ein_value *f = v->rec.fields[i].value;
        char path[64];
        join(path, sizeof path, "data.", k);
        if (!strcmp(k, "pixels") && ein_value_number(f, &x)) {
            L->pixels = (long long)x;
        } else if (!strcmp(k, "classes") && ein_value_number(f, &x)) {
            L->classes = (long long)x;
        } else if (!strcmp(k, "batch") || !strcmp(k, "shuffle")) {
            if (is_sym(f, "none"))
                continue;   /* not set here: train { } says it */
            join(path, sizeof path, "train.", k);
            if (apply(L, EIN_SCOPE_CELL, path, 0, k, f, f->loc) && !strcmp(k, "batch")) {
                L->data_batch = f;
                L->data_batch_n = L->cfg->train.batch;
            }
        } else if (ein_schema_find(EIN_SCOPE_CELL, path)) {
            apply(L, EIN_SCOPE_CELL, path, 0, k, f, f->loc);
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

/* One layer record (ei(...)/e_only(...), M1, M3) → the layer's settings.
 * `inherit` takes the network's norm; `auto` activation is ReLU in a hidden
 * layer and none in the output layer (M7). */
static void lower_layer(lowering *L, const ein_value *v, int target, ein_loc where, ein_fwd_norm net_fwd,
                        ein_bwd_norm net_bwd)
{
    bool output = target == EIN_TARGET_OUTPUT;
    ein_layer_config *l = output ? &L->cfg->output : &L->cfg->hidden[target];
    bool e_only = is_sym(ein_value_field(v, "kind"), "e_only");
    for (int i = 0; i < v->rec.n; i++) {
        const char *k = v->rec.fields[i].name;
        const ein_value *f = v->rec.fields[i].value;
        if ((!strcmp(k, "ni") || !strcmp(k, "fwd")) && e_only)
            continue;   /* no inhibitory units, always layernorm: resolved (M3) */
        if (!strcmp(k, "act") && is_sym(f, "auto"))
            l->act = output ? EIN_ACT_NONE : EIN_ACT_RELU;
        else if ((!strcmp(k, "fwd") || !strcmp(k, "bwd")) && is_sym(f, "inherit")) {
            if (k[0] == 'f')
                l->fwd = output ? EIN_FWD_NONE : net_fwd;
            else
                l->bwd = output ? EIN_BWD_NONE : net_bwd;
        } else if (!strcmp(k, "learn") && is_sym(f, "auto"))
            l->inhib_learn = EIN_GROUPS_DEFAULT;
        else if (!strcmp(k, "lr") && f->kind == EIN_V_RECORD && !f->rec.tag) {
            for (int j = 0; j < f->rec.n; j++) {   /* lr = { wix = 0.3 }: this layer's lr.wix */
                char path[64];
                join(path, sizeof path, "lr.", f->rec.fields[j].name);
                apply(L, EIN_SCOPE_LAYER, path, target, path, f->rec.fields[j].value, f->rec.fields[j].loc);
            }
        } else if (ein_schema_find(EIN_SCOPE_LAYER, k))
            apply(L, EIN_SCOPE_LAYER, k, target, k, f, f->loc);
    }
    if (e_only)
        l->ni = -1;
    where_of(L, where, l->where);
}

/* `hidden [500, 300]`: one E/I layer per width, with the defaults of
 * ei(ne = w) and the network's norms. */
static void lower_widths(lowering *L, const ein_value *v, ein_loc at, ein_fwd_norm fwd, ein_bwd_norm bwd)
{
    ein_cell_config *cfg = L->cfg;
    if (v->list.n == 0) {
        ein_eval_error(L->ev, v->loc, "hidden layer widths: the list is empty");
        L->ok = false;
        return;
    }
    if (cfg->n_hidden + v->list.n > EIN_MAX_HIDDEN) {
        ein_eval_error(L->ev, at, "too many hidden layers (at most %d)", EIN_MAX_HIDDEN);
        L->ok = false;
        return;
    }
    for (int i = 0; i < v->list.n; i++) {
        int target = cfg->n_hidden++;
        cfg->hidden[target] = L->default_layer;
        L->hidden_loc[target] = at;
        apply(L, EIN_SCOPE_LAYER, "ne", target, "hidden layer width", v->list.items[i], v->list.items[i]->loc);
        cfg->hidden[target].fwd = fwd;
        cfg->hidden[target].bwd = bwd;
        where_of(L, at, cfg->hidden[target].where);
    }
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
            cfg->input = (int)n;
            where_of(L, v->loc, cfg->input_where);
            continue;
        }
        if (d->role == EIN_ROLE_HIDDEN && v->kind == EIN_V_LIST && !d->repeat) {
            lower_widths(L, v, d->loc, fwd, bwd);   /* hidden [500, 300]: E/I layers of those widths */
            continue;
        }
        const char *what = d->role == EIN_ROLE_OUTPUT ? "output layer" : "hidden layer";
        if (!want_tag(L, v, "layer", what, "a layer (ei(...) or e_only(...)) or a list of widths"))
            continue;
        if (d->role == EIN_ROLE_OUTPUT) {
            lower_layer(L, v, EIN_TARGET_OUTPUT, d->loc, fwd, bwd);
            if (cfg->output.ne != L->classes) {
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
        for (long long r = 0; r < rep; r++) {
            cfg->hidden[cfg->n_hidden] = L->default_layer;   /* fields no record sets (lr, frozen) */
            L->hidden_loc[cfg->n_hidden] = d->loc;
            lower_layer(L, v, cfg->n_hidden++, d->loc, fwd, bwd);
        }
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
        ein_text_copy(l->name, sizeof l->name, s->loss.name.name);
        l->weight = l->kind == EIN_LOSS_TASK ? 1.0 : -1.0;   /* inorm: λ by variant (M5) */
        const ein_value *sm = ein_value_field(v, "smoothing");
        int target = cfg->n_losses - 1;
        if (sm)
            apply(L, EIN_SCOPE_LOSS, "smoothing", target, "smoothing", sm, sm->loc);
        if (s->loss.weight) {
            const ein_value *w = eval(L, s->loss.weight);
            if (w)
                apply(L, EIN_SCOPE_LOSS, "weight", target, "loss weight", w, w->loc);
            else
                L->ok = false;
        }
        l->groups = EIN_GROUPS_DEFAULT;
        if (s->loss.n_updates > 0) {
            l->groups = 0;
            for (int k = 0; k < s->loss.n_updates; k++)
                l->groups |= ein_group_mask(s->loss.updates[k].name);
        }
        where_of(L, s->loc, l->where);
    }
    L->losses_declared = any;
}

/* No loss statement: the task loss, plus the local I-Norm loss when some
 * hidden layer is an I-Norm layer (M4 comes with M5) — decided after the
 * layer overrides, so `hidden.fwd=inorm` on the command line brings its loss. */
static void default_losses(lowering *L, const ein_stmt *x)
{
    ein_cell_config *cfg = L->cfg;
    if (L->losses_declared)
        return;
    for (int i = 0; i < cfg->n_hidden; i++)
        if (cfg->hidden[i].fwd == EIN_FWD_INORM || cfg->hidden[i].fwd == EIN_FWD_INORM_SUB) {
            ein_loss_config *l = &cfg->losses[cfg->n_losses++];
            memset(l, 0, sizeof *l);
            l->kind = EIN_LOSS_INORM;
            ein_text_copy(l->name, sizeof l->name, "inorm");
            l->weight = -1.0;
            l->groups = EIN_GROUPS_DEFAULT;
            where_of(L, x->experiment.name.loc, l->where);
            break;
        }
}

/* ---- train (M7, M8) ---------------------------------------------------- */

/* One `train { PATH = VALUE }` setting through the schema (train.PATH).
 * pass 0: all but the single-group learning rates; pass 1: those, so lr.bix
 * wins over lr.wix whatever the order (M8).  `frozen` adds to the default
 * set (B_ei stays frozen unless `frozen = none`). */
static void lower_setting(lowering *L, const ein_setting *st, int pass)
{
    char p[128], path[160];
    ein_setting_path_text(st, p, sizeof p);
    join(path, sizeof path, "train.", p);
    const ein_setting_def *d = ein_schema_find(EIN_SCOPE_CELL, path);
    if (!d || (pass == 1) != ((d->flags & EIN_SF_LATE) != 0))
        return;   /* an unknown path is the checker's error */
    const ein_value *v = eval(L, st->value);
    if (!v)
        return;
    ein_train_config *t = &L->cfg->train;
    bool before[EIN_GROUP_COUNT];
    memcpy(before, t->frozen, sizeof before);
    ein_loc at = ein_loc_span(st->path[0].loc, st->path[st->n_path - 1].loc);
    if (!apply(L, EIN_SCOPE_CELL, path, 0, p, v, at))
        return;
    if (!strcmp(p, "batch") && L->data_batch && t->batch != L->data_batch_n) {
        ein_eval_error(L->ev, v->loc, "batch is %d here but %d in data", t->batch, L->data_batch_n);
        L->ok = false;
    }
    bool cleared = is_sym(v, "none") || (v->kind == EIN_V_LIST && v->list.n == 0);
    if (!strcmp(p, "frozen") && !cleared)
        for (int g = 0; g < EIN_GROUP_COUNT; g++)
            t->frozen[g] = t->frozen[g] || before[g];
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

static void lower_report(lowering *L, const ein_stmt *x)
{
    for (int i = 0; i < x->experiment.n_stmts; i++) {
        const ein_stmt *s = x->experiment.stmts[i];
        if (s->kind != EIN_STMT_REPORT)
            continue;
        if (s->report.path) {
            ein_text_copy(L->cfg->results_dir, sizeof L->cfg->results_dir, s->report.path);
            resolve_path(L, s->report.path_loc, L->cfg->results_dir, sizeof L->cfg->results_dir);
        }
        for (int k = 0; k < s->report.n_metrics; k++) {
            int m = ein_metric_parse(s->report.metrics[k].name);
            if (m >= 0)
                L->cfg->metrics |= 1u << m;
        }
    }
}

/* ---- overrides and the rules of the whole cell ------------------------ */

/* Command-line / REPL settings (`train.lr=0.05`), after the program's own
 * and in two passes like train { } (single-group learning rates last);
 * `losses` picks the loss settings (applied once the losses are known) or
 * all others. */
static void lower_overrides(lowering *L, const ein_setting_override *ov, int n_ov, bool losses)
{
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < n_ov; i++) {
            const ein_setting_override *o = &ov[i];
            if ((pass == 1) != ((o->ref.def->flags & EIN_SF_LATE) != 0) ||
                (o->ref.def->scope == EIN_SCOPE_LOSS) != losses)
                continue;
            const ein_value *v = eval(L, o->value);
            if (!v)
                continue;
            if (!ein_setting_apply(L->ev, &o->ref, o->path, v, o->at, L->cfg)) {
                L->ok = false;
                continue;
            }
            if (o->ref.def->context)
                written(L, o->ref.def, o->ref.target, o->ref.loss, o->at);
        }
}

/* Rules that need the resolved cell: a setting written where it does not
 * apply (momentum_inhib under adam, learn on a layer that is not I-Norm),
 * and an I-Norm layer that no I-Norm loss trains (M4 comes with M5). */
static void check_cell(lowering *L)
{
    const ein_cell_config *cfg = L->cfg;
    for (int i = 0; i < L->n_written; i++)
        if (!ein_setting_check_context(L->ev, &L->written[i].ref, L->written[i].at, cfg))
            L->ok = false;
    bool inorm_loss = false;
    for (int k = 0; k < cfg->n_losses; k++)
        inorm_loss |= cfg->losses[k].kind == EIN_LOSS_INORM && cfg->losses[k].weight > 0;
    for (int i = 0; i < cfg->n_hidden && !inorm_loss; i++) {
        ein_fwd_norm f = cfg->hidden[i].fwd;
        if (f != EIN_FWD_INORM && f != EIN_FWD_INORM_SUB)
            continue;
        ein_eval_error(L->ev, L->hidden_loc[i],
                       "hidden layer %d is an I-Norm layer (fwd = %s) but no I-Norm loss trains its "
                       "inhibition: add `loss inorm = inorm_loss()` (with a positive weight)",
                       i, ein_fwd_norm_name(f));
        L->ok = false;
        break;
    }
}

/* ---- the experiment ---------------------------------------------------- */

bool ein_lower_experiment(ein_eval *ev, ein_scope *scope, const ein_stmt *x,
                          const ein_setting_override *ov, int n_ov, ein_cell_config *cfg)
{
    lowering *L = malloc(sizeof *L);
    if (!L) {
        ein_eval_error(ev, x->loc, "out of memory");
        return false;
    }
    /* all but the written-settings log (25 kB, read only up to n_written):
     * this runs for every cell of a grid */
    memset(L, 0, offsetof(lowering, written));
    L->n_written = 0;
    /* field by field: a compound literal would zero and copy the 25 kB
     * struct again, for every cell of a grid */
    L->ev = ev;
    L->scope = scope;
    L->cfg = cfg;
    L->ok = true;
    L->pixels = 784;
    L->classes = 10;
    ein_config_defaults(cfg);
    L->default_layer = cfg->hidden[0];
    for (int i = 0; i < EIN_MAX_HIDDEN; i++)
        L->hidden_loc[i] = x->experiment.name.loc;
    const ein_stmt *net = NULL;
    for (int i = 0; i < x->experiment.n_stmts; i++) {
        const ein_stmt *s = x->experiment.stmts[i];
        if (s->kind == EIN_STMT_DATA)
            lower_data(L, s);
        else if (s->kind == EIN_STMT_NETWORK)
            net = s;
    }
    lower_network(L, x, net);
    lower_losses(L, x);
    lower_train(L, x);
    lower_report(L, x);
    /* locals are lowered only through their uses; evaluate them all once so a
     * broken one is reported even when nothing reads it */
    for (int i = 0; i < x->experiment.n_stmts; i++) {
        const ein_stmt *s = x->experiment.stmts[i];
        if (s->kind == EIN_STMT_BIND && !ein_scope_get(ev, scope, s->bind.name.name, s->bind.name.loc))
            L->ok = false;
    }
    lower_overrides(L, ov, n_ov, false);
    default_losses(L, x);
    lower_overrides(L, ov, n_ov, true);
    ein_config_resolve(cfg);
    if (L->ok)
        check_cell(L);
    bool ok = L->ok;
    free(L);
    return ok;
}
