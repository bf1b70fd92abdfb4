/* check.c — imports, name resolution and the static rules of a .ein module
 * (include/ein/check.h).  Rules that need values (widths, ranges of
 * probabilities, learning rates, variant keys, zip lengths) are checked when
 * the grid is expanded and each cell lowered (grid.c, lower.c, eval.c), which
 * ein_check_* does for every experiment unless told not to. */
#include "ein/check.h"

#include <dirent.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ein/figure.h"
#include "ein/grid.h"
#include "ein/hash.h"
#include "ein/names.h"
#include "ein/parse.h"
#include "ein/schema.h"

/* ---- names ------------------------------------------------------------- */

enum { K_GLOBAL = 0, K_DEF, K_PARAM, K_LOCAL, K_AXIS, K_DERIVED };

typedef struct sname {
    const char *name;
    ein_loc loc;
    int kind;
    bool used;
    bool warn_unused;
} sname;

typedef struct frame {
    sname *names;
    int n, cap;
    ein_name_index index;   /* name -> position in names: linear-time checking of big files */
    struct frame *up;
} frame;

typedef struct checker {
    ein_diag *diag;
    ein_module *m;
    frame globals;
    bool oom;
    /* import loading */
    char **loaded;           /* realpaths of m->programs, same order */
    char *stack[64];         /* realpaths of files being loaded (cycle detection) */
    const char *stack_names[64];
    int depth;
    /* "defined in stdlib 'ei'" hints for unknown names: the stdlib's
     * top-level names, read on the first unknown name */
    bool hints_read;
    ein_diag *hint_diag;             /* holds the stdlib sources read for hints */
    ein_program *hint_progs[16];
    char hint_mods[16][64];          /* their import names, "ei" */
    int n_hint;
    ein_name_index hint_names;       /* name -> index in hint_mods */
    unsigned hinted;                 /* modules already named in a hint */
} checker;

static void read_stdlib_names(checker *c);

/* The `train { PATH = ... }` paths: the schema's train.* settings. */
static int train_paths(const char **out, int max)
{
    size_t n;
    const ein_setting_def *schema = ein_schema(&n);
    int k = 0;
    for (size_t i = 0; i < n && k < max; i++)
        if (schema[i].scope == EIN_SCOPE_CELL && !strncmp(schema[i].path, "train.", 6))
            out[k++] = schema[i].path + 6;
    return k;
}

/* Did-you-mean among the spellings of a name table. */
static void suggest_names(checker *c, const char *name, const ein_names *t)
{
    const char *names[64];
    int n = ein_name_spellings(t, names, 64);
    ein_diag_suggest(c->diag, name, names, (size_t)n);
}

static sname *frame_add(checker *c, frame *f, const char *name, ein_loc loc, int kind)
{
    if (f->n == f->cap) {
        int cap = f->cap ? 2 * f->cap : 16;
        sname *p = realloc(f->names, (size_t)cap * sizeof *p);
        if (!p) {
            c->oom = true;
            return NULL;
        }
        f->names = p;
        f->cap = cap;
    }
    /* the first definition of a name is the one found */
    if (ein_index_get(&f->index, name) < 0 && !ein_index_put(&f->index, name, f->n)) {
        c->oom = true;
        return NULL;
    }
    sname *s = &f->names[f->n++];
    *s = (sname){ .name = name, .loc = loc, .kind = kind };
    return s;
}

static sname *frame_find(frame *f, const char *name)
{
    int i = ein_index_get(&f->index, name);
    return i >= 0 ? &f->names[i] : NULL;
}

/* Add a definition, reporting a duplicate in the same frame with both places. */
static sname *define(checker *c, frame *f, const char *name, ein_loc loc, int kind)
{
    sname *old = frame_find(f, name);
    if (old) {
        ein_diag_error(c->diag, loc, "'%s' is already defined", name);
        ein_diag_note(c->diag, old->loc, "'%s' was first defined here", name);
        return NULL;
    }
    if (f == &c->globals && (ein_is_builtin_function(name) || ein_is_builtin_symbol(name))) {
        ein_diag_error(c->diag, loc, "'%s' is a builtin name and cannot be redefined", name);
        return NULL;
    }
    return frame_add(c, f, name, loc, kind);
}

static void suggest_visible(checker *c, frame *f, const char *name)
{
    const char **names = NULL;
    size_t n = 0, cap = 0;
    const size_t nb = 256;   /* room for every builtin name */
    for (frame *fr = f; fr; fr = fr->up) {
        for (int i = 0; i < fr->n; i++) {
            if (n == cap) {
                cap = cap ? 2 * cap : 64;
                const char **p = realloc(names, cap * sizeof *p);
                if (!p) {
                    free(names);
                    return;
                }
                names = p;
            }
            names[n++] = fr->names[i].name;
        }
    }
    const char **all = realloc(names, (n + nb) * sizeof *all);
    if (!all) {
        free(names);
        return;
    }
    n += ein_builtin_names(all + n, nb);
    ein_diag_suggest(c->diag, name, all, n);
    free(all);
}

/* What an unresolved bare name stands for, for a better message. */
enum { CTX_ANY = 0, CTX_FWD, CTX_BWD };

static void resolve(checker *c, frame *f, const char *name, ein_loc loc, int ctx)
{
    for (frame *fr = f; fr; fr = fr->up) {
        sname *s = frame_find(fr, name);
        if (s) {
            s->used = true;
            return;
        }
    }
    if (ein_is_builtin_function(name) || ein_is_builtin_symbol(name))
        return;
    char valid[256];
    if (ctx == CTX_FWD || ctx == CTX_BWD) {
        const ein_names *t = ctx == CTX_FWD ? &ein_fwd_norm_names : &ein_bwd_norm_names;
        if (ein_diag_error(c->diag, loc, "unknown %s '%s' (valid: %s)", t->what, name,
                           ein_name_list(t, valid, sizeof valid)))
            suggest_names(c, name, t);
        return;
    }
    if (!c->hints_read)
        read_stdlib_names(c);
    int home = ein_index_get(&c->hint_names, name);
    if (home >= 0 && (c->hinted & (1u << home)))
        return;   /* the missing import was reported at its first name (that error fails the check) */
    if (!ein_diag_error(c->diag, loc, "unknown name '%s'", name))
        return;
    if (home >= 0) {
        c->hinted |= 1u << home;
        ein_diag_note(c->diag, EIN_NO_LOC, "'%s' is defined in stdlib '%s': add import \"%s\"", name,
                      c->hint_mods[home], c->hint_mods[home]);
    } else {
        suggest_visible(c, f, name);
    }
}

static void walk(checker *c, frame *f, const ein_expr *e, int ctx)
{
    switch (e->kind) {
    case EIN_EXPR_NAME:
        resolve(c, f, e->name, e->loc, ctx);
        break;
    case EIN_EXPR_FIELD:
        walk(c, f, e->field.base, CTX_ANY);
        break;
    case EIN_EXPR_CALL: {
        walk(c, f, e->call.fn, CTX_ANY);
        for (int i = 0; i < e->call.n_args; i++) {
            const ein_arg *a = &e->call.args[i];
            int actx = CTX_ANY;
            if (a->name && !strcmp(a->name, "fwd"))
                actx = CTX_FWD;
            else if (a->name && !strcmp(a->name, "bwd"))
                actx = CTX_BWD;
            walk(c, f, a->value, actx);
        }
        break;
    }
    case EIN_EXPR_LIST:
        for (int i = 0; i < e->list.n_items; i++)
            walk(c, f, e->list.items[i], CTX_ANY);
        break;
    case EIN_EXPR_RECORD:
        for (int i = 0; i < e->record.n_fields; i++) {
            const ein_field *fl = &e->record.fields[i];
            for (int j = 0; j < i; j++)
                if (strcmp(e->record.fields[j].name, fl->name) == 0) {
                    ein_diag_error(c->diag, fl->name_loc, "duplicate key '%s'", fl->name);
                    ein_diag_note(c->diag, e->record.fields[j].name_loc, "'%s' was first given here",
                                  fl->name);
                    break;
                }
            int fctx = !strcmp(fl->name, "fwd") ? CTX_FWD : !strcmp(fl->name, "bwd") ? CTX_BWD : CTX_ANY;
            walk(c, f, fl->value, fctx);
        }
        break;
    case EIN_EXPR_RANGE:
        walk(c, f, e->range.lo, CTX_ANY);
        walk(c, f, e->range.hi, CTX_ANY);
        break;
    case EIN_EXPR_UNARY:
        walk(c, f, e->unary.arg, CTX_ANY);
        break;
    case EIN_EXPR_BINARY:
        walk(c, f, e->binary.lhs, CTX_ANY);
        walk(c, f, e->binary.rhs, CTX_ANY);
        break;
    case EIN_EXPR_IF:
        walk(c, f, e->cond.test, CTX_ANY);
        walk(c, f, e->cond.then_, ctx);
        walk(c, f, e->cond.else_, ctx);
        break;
    default:
        break;
    }
}

/* ---- experiments ------------------------------------------------------- */

/* Report a repeated statement or key: error at `loc`, note at `first`. */
static void duplicate(checker *c, ein_loc loc, ein_loc first, const char *what)
{
    ein_diag_error(c->diag, loc, "%s is given twice", what);
    ein_diag_note(c->diag, first, "first given here");
}

static void define_axes(checker *c, frame *ex, const ein_axis *axes, int n)
{
    for (int i = 0; i < n; i++) {
        const ein_axis *a = &axes[i];
        switch (a->kind) {
        case EIN_AXIS_ZIP:
            define_axes(c, ex, a->zip, a->n_zip);
            break;
        case EIN_AXIS_WHERE:
            break;
        case EIN_AXIS_DERIVED: {
            sname *s = define(c, ex, a->name.name, a->name.loc, K_DERIVED);
            if (s)
                s->warn_unused = true;
            break;
        }
        default:
            define(c, ex, a->name.name, a->name.loc, K_AXIS);
        }
    }
}

static void walk_axes(checker *c, frame *ex, const ein_axis *axes, int n)
{
    for (int i = 0; i < n; i++) {
        const ein_axis *a = &axes[i];
        switch (a->kind) {
        case EIN_AXIS_IN:
        case EIN_AXIS_DERIVED:
        case EIN_AXIS_WHERE:
            walk(c, ex, a->value, CTX_ANY);
            break;
        case EIN_AXIS_ZIP:
            if (a->n_zip == 0)
                ein_diag_error(c->diag, a->loc, "zip group has no axes");
            walk_axes(c, ex, a->zip, a->n_zip);
            break;
        case EIN_AXIS_SAMPLE:
            if (a->n_draws == 0)
                ein_diag_error(c->diag, a->loc, "sample axis '%s' draws nothing", a->name.name);
            for (int d = 0; d < a->n_draws; d++) {
                const ein_draw *dr = &a->draws[d];
                for (int k = 0; k < d; k++)
                    if (!strcmp(a->draws[k].name.name, dr->name.name)) {
                        ein_diag_error(c->diag, dr->name.loc, "'%s' is already drawn in this sample",
                                       dr->name.name);
                        ein_diag_note(c->diag, a->draws[k].name.loc, "first drawn here");
                    }
                const ein_expr *dist = dr->dist;
                char valid[64];
                ein_name_list(&ein_dist_names, valid, sizeof valid);
                if (dist->kind != EIN_EXPR_CALL || dist->call.fn->kind != EIN_EXPR_NAME) {
                    ein_diag_error(c->diag, dist->loc, "a draw must be a distribution (%s)", valid);
                    continue;
                }
                const char *fn = dist->call.fn->name;
                if (ein_name_parse(&ein_dist_names, fn) < 0) {
                    if (ein_diag_error(c->diag, dist->call.fn->loc,
                                       "unknown distribution '%s' (valid: %s)", fn, valid))
                        suggest_names(c, fn, &ein_dist_names);
                    continue;
                }
                for (int k = 0; k < dist->call.n_args; k++)
                    walk(c, ex, dist->call.args[k].value, CTX_ANY);
            }
            break;
        case EIN_AXIS_TABLE:
            for (int k = 0; k < a->n_columns; k++)
                for (int j = 0; j < k; j++)
                    if (!strcmp(a->columns[j].name, a->columns[k].name)) {
                        ein_diag_error(c->diag, a->columns[k].loc, "duplicate column '%s'",
                                       a->columns[k].name);
                        ein_diag_note(c->diag, a->columns[j].loc, "first given here");
                    }
            if (a->n_rows == 0)
                ein_diag_error(c->diag, a->loc, "table axis '%s' has no rows", a->name.name);
            for (int r = 0; r < a->n_rows; r++)
                for (int k = 0; k < a->rows[r].n_values; k++)
                    walk(c, ex, a->rows[r].values[k], CTX_ANY);
            break;
        }
    }
}

/* What an experiment's statements have declared so far, for duplicates. */
typedef struct experiment_seen {
    frame ex;                                  /* the experiment's names */
    const ein_stmt *data, *net, *norm[2], *report_path;
    const ein_setting *settings[64];
    int n_settings;
    const ein_stmt *losses[EIN_MAX_LOSSES * 4];
    int n_losses;
    const ein_ident *metrics[64];
    int n_metrics;
} experiment_seen;

/* Locals and axes first: a statement may use one defined after it. */
static void define_experiment_names(checker *c, experiment_seen *e, const ein_stmt *x)
{
    for (int i = 0; i < x->experiment.n_stmts; i++) {
        const ein_stmt *s = x->experiment.stmts[i];
        if (s->kind == EIN_STMT_BIND) {
            sname *n = define(c, &e->ex, s->bind.name.name, s->bind.name.loc, K_LOCAL);
            if (n)
                n->warn_unused = true;
        } else if (s->kind == EIN_STMT_GRID) {
            define_axes(c, &e->ex, s->grid.axes, s->grid.n_axes);
        }
    }
}

static void check_network_stmt(checker *c, experiment_seen *e, const ein_stmt *s)
{
    if (e->net)
        duplicate(c, s->loc, e->net->loc, "network");
    e->net = s;
    const ein_layer_decl *in = NULL, *out = NULL;
    for (int k = 0; k < s->network.n_layers; k++) {
        const ein_layer_decl *l = &s->network.layers[k];
        if (l->role == EIN_ROLE_INPUT) {
            if (in)
                duplicate(c, l->loc, in->loc, "input");
            in = l;
        } else if (l->role == EIN_ROLE_OUTPUT) {
            if (out)
                duplicate(c, l->loc, out->loc, "output");
            out = l;
        } else if (out) {
            ein_diag_error(c->diag, l->loc, "hidden layer after the output layer");
        }
        walk(c, &e->ex, l->value, CTX_ANY);
        if (l->repeat)
            walk(c, &e->ex, l->repeat, CTX_ANY);
    }
}

static void check_loss_stmt(checker *c, experiment_seen *e, const ein_stmt *s)
{
    for (int k = 0; k < e->n_losses; k++)
        if (!strcmp(e->losses[k]->loss.name.name, s->loss.name.name)) {
            char what[96];
            snprintf(what, sizeof what, "loss '%s'", s->loss.name.name);
            duplicate(c, s->loss.name.loc, e->losses[k]->loss.name.loc, what);
            break;
        }
    if (e->n_losses < (int)(sizeof e->losses / sizeof e->losses[0]))
        e->losses[e->n_losses++] = s;
    walk(c, &e->ex, s->loss.value, CTX_ANY);
    if (s->loss.weight)
        walk(c, &e->ex, s->loss.weight, CTX_ANY);
    for (int k = 0; k < s->loss.n_updates; k++) {
        const ein_ident *g = &s->loss.updates[k];
        if (!ein_group_mask(g->name)) {
            char valid[128];
            if (ein_diag_error(c->diag, g->loc,
                               "loss '%s' updates parameter group '%s', which does not exist (valid: %s)",
                               s->loss.name.name, g->name, ein_name_list(&ein_group_names, valid, sizeof valid)))
                suggest_names(c, g->name, &ein_group_names);
        }
        for (int j = 0; j < k; j++)
            if (!strcmp(s->loss.updates[j].name, g->name)) {
                char what[96];
                snprintf(what, sizeof what, "group '%s'", g->name);
                duplicate(c, g->loc, s->loss.updates[j].loc, what);
            }
    }
}

/* Every `train { PATH = ... }` path is a setting of the schema, once. */
static void check_train_stmt(checker *c, experiment_seen *e, const ein_stmt *s)
{
    for (int k = 0; k < s->train.n_settings; k++) {
        const ein_setting *st = &s->train.settings[k];
        char path[128], full[160];
        ein_setting_path_text(st, path, sizeof path);
        snprintf(full, sizeof full, "train.%s", path);
        ein_loc ploc = ein_loc_span(st->path[0].loc, st->path[st->n_path - 1].loc);
        if (!ein_schema_find(EIN_SCOPE_CELL, full)) {
            const char *known[64];
            int nk = train_paths(known, 64);
            if (ein_diag_error(c->diag, ploc, "unknown train setting '%s'", path))
                ein_diag_suggest(c->diag, path, known, (size_t)nk);
        }
        for (int j = 0; j < e->n_settings; j++) {
            const ein_setting *o = e->settings[j];
            bool same = o->n_path == st->n_path;
            for (int q = 0; same && q < st->n_path; q++)
                same = !strcmp(o->path[q].name, st->path[q].name);
            if (same) {
                char what[160];
                snprintf(what, sizeof what, "setting '%s'", path);
                duplicate(c, ploc, o->loc, what);
                break;
            }
        }
        if (e->n_settings < 64)
            e->settings[e->n_settings++] = st;
        walk(c, &e->ex, st->value, CTX_ANY);
    }
}

static void check_report_stmt(checker *c, experiment_seen *e, const ein_stmt *s)
{
    if (s->report.path) {
        if (e->report_path)
            duplicate(c, s->report.path_loc, e->report_path->report.path_loc, "the report folder");
        e->report_path = s;
    }
    for (int k = 0; k < s->report.n_metrics; k++) {
        const ein_ident *mt = &s->report.metrics[k];
        if (ein_metric_parse(mt->name) < 0) {
            char valid[256];
            if (ein_diag_error(c->diag, mt->loc, "unknown metric '%s' (valid: %s)", mt->name,
                               ein_name_list(&ein_metric_names, valid, sizeof valid)))
                suggest_names(c, mt->name, &ein_metric_names);
        }
        for (int j = 0; j < e->n_metrics; j++)
            if (!strcmp(e->metrics[j]->name, mt->name)) {
                char what[96];
                snprintf(what, sizeof what, "metric '%s'", mt->name);
                duplicate(c, mt->loc, e->metrics[j]->loc, what);
                break;
            }
        if (e->n_metrics < 64)
            e->metrics[e->n_metrics++] = mt;
    }
}

static void check_experiment_stmt(checker *c, experiment_seen *e, const ein_stmt *s)
{
    switch (s->kind) {
    case EIN_STMT_BIND:
        walk(c, &e->ex, s->bind.value, CTX_ANY);
        break;
    case EIN_STMT_DATA:
        if (e->data)
            duplicate(c, s->loc, e->data->loc, "data");
        e->data = s;
        walk(c, &e->ex, s->data.value, CTX_ANY);
        break;
    case EIN_STMT_NETWORK:
        check_network_stmt(c, e, s);
        break;
    case EIN_STMT_NORM: {
        int d = s->norm.dir == EIN_NORM_BACKWARD;
        if (e->norm[d])
            duplicate(c, s->loc, e->norm[d]->loc, d ? "norm backward" : "norm forward");
        e->norm[d] = s;
        walk(c, &e->ex, s->norm.value, d ? CTX_BWD : CTX_FWD);
        break;
    }
    case EIN_STMT_LOSS:
        check_loss_stmt(c, e, s);
        break;
    case EIN_STMT_TRAIN:
        check_train_stmt(c, e, s);
        break;
    case EIN_STMT_GRID:
        walk_axes(c, &e->ex, s->grid.axes, s->grid.n_axes);
        break;
    case EIN_STMT_FIGURE: {
        ein_figure unused;
        ein_figure_from_stmt(s, &unused, c->diag);
        break;
    }
    case EIN_STMT_REPORT:
        check_report_stmt(c, e, s);
        break;
    default:
        break;
    }
}

/* An axis nobody reads makes identical cells (an error); an unused local,
 * a warning. */
static void report_unused(checker *c, const frame *ex)
{
    for (int i = 0; i < ex->n; i++) {
        const sname *s = &ex->names[i];
        if (s->used)
            continue;
        if (s->kind == K_AXIS)
            ein_diag_error(c->diag, s->loc,
                           "grid axis '%s' is never used (its cells would all be the same)", s->name);
        else if (s->warn_unused && s->name[0] != '_')
            ein_diag_warning(c->diag, s->loc, "'%s' is defined but never used", s->name);
    }
}

static void check_experiment(checker *c, const ein_stmt *x)
{
    experiment_seen *e = calloc(1, sizeof *e);
    if (!e) {
        ein_diag_error(c->diag, x->loc, "out of memory");
        return;
    }
    e->ex.up = &c->globals;
    define_experiment_names(c, e, x);
    for (int i = 0; i < x->experiment.n_stmts; i++)
        check_experiment_stmt(c, e, x->experiment.stmts[i]);
    report_unused(c, &e->ex);
    free(e->ex.names);
    ein_index_free(&e->ex.index);
    free(e);
}

/* ---- imports ----------------------------------------------------------- */

static bool is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static bool is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static void dir_of(const char *path, char *buf, size_t n)
{
    const char *slash = path ? strrchr(path, '/') : NULL;
    if (!slash)
        snprintf(buf, n, ".");
    else if (slash == path)
        snprintf(buf, n, "/");
    else
        snprintf(buf, n, "%.*s", (int)(slash - path), path);
}

static const char *base_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

static void read_stdlib_names(checker *c)
{
    c->hints_read = true;
    char dir[EIN_PATH_MAX];
    if (!ein_stdlib_dir(&c->m->options, dir, sizeof dir) || !(c->hint_diag = ein_diag_new()))
        return;
    DIR *d = opendir(dir);
    for (struct dirent *e; d && c->n_hint < 16 && (e = readdir(d)) != NULL;) {
        size_t len = strlen(e->d_name);
        char path[EIN_PATH_MAX + 256];
        if (len < 5 || len >= 64 + 4 || strcmp(e->d_name + len - 4, ".ein") != 0 ||
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= (int)sizeof path)
            continue;
        ein_program *p = ein_parse_file(c->hint_diag, path, NULL, NULL);
        if (!p)
            continue;
        int k = c->n_hint++;
        c->hint_progs[k] = p;
        snprintf(c->hint_mods[k], sizeof c->hint_mods[k], "%.*s", (int)(len - 4), e->d_name);
        for (int i = 0; i < p->n_stmts; i++) {
            const ein_stmt *st = p->stmts[i];
            const char *name = st->kind == EIN_STMT_BIND  ? st->bind.name.name
                               : st->kind == EIN_STMT_DEF ? st->def.name.name
                                                          : NULL;
            if (name && ein_index_get(&c->hint_names, name) < 0 && !ein_index_put(&c->hint_names, name, k))
                c->oom = true;
        }
    }
    if (d)
        closedir(d);
}

static void free_stdlib_names(checker *c)
{
    for (int k = 0; k < c->n_hint; k++)
        ein_program_free(c->hint_progs[k]);
    ein_index_free(&c->hint_names);
    ein_diag_free(c->hint_diag);
}

char *ein_stdlib_dir(const ein_check_options *opt, char *buf, size_t n)
{
    if (opt && opt->stdlib_dir) {
        snprintf(buf, n, "%s", opt->stdlib_dir);
        return is_dir(buf) ? buf : NULL;
    }
    char exe[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len > 0) {
        exe[len] = '\0';
        char bindir[PATH_MAX];
        dir_of(exe, bindir, sizeof bindir);
        static const char *const rel[] = { "/stdlib", "/../../stdlib", "/../../../stdlib",
                                           "/../share/ein/stdlib" };
        for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
            char probe[PATH_MAX + 64];
            snprintf(buf, n, "%s%s", bindir, rel[i]);
            snprintf(probe, sizeof probe, "%s/ei.ein", buf);
            if (is_file(probe)) {
                char *real = realpath(buf, NULL);   /* ".../bin/../share" reads badly in messages */
                if (real && strlen(real) < n)
                    snprintf(buf, n, "%s", real);
                free(real);
                return buf;
            }
        }
    }
    snprintf(buf, n, "stdlib");
    return is_dir(buf) ? buf : NULL;
}

/* Find the file for `import "name"` from a file in folder `dir`. */
static bool find_import(const ein_check_options *opt, const char *dir, const char *name,
                        char *out, size_t n, char *searched, size_t sn)
{
    size_t nl = strlen(name);
    const char *ext = nl > 4 && !strcmp(name + nl - 4, ".ein") ? "" : ".ein";
    size_t slen = 0;
    searched[0] = '\0';
#define TRY(folder)                                                                     \
    do {                                                                                \
        if (snprintf(out, n, "%s/%s%s", (folder), name, ext) < (int)n && is_file(out))  \
            return true;                                                                \
        if (slen < sn)                                                                  \
            slen += (size_t)snprintf(searched + slen, sn - slen, "%s%s", slen ? ", " : "", (folder)); \
    } while (0)
    if (name[0] == '/') {
        snprintf(searched, sn, "/");
        return snprintf(out, n, "%s%s", name, ext) < (int)n && is_file(out);
    }
    TRY(dir);
    const char *path = opt && opt->ein_path ? opt->ein_path : getenv("EIN_PATH");
    if (path) {
        char buf[EIN_PATH_MAX];
        for (const char *p = path; *p;) {
            const char *colon = strchr(p, ':');
            size_t len = colon ? (size_t)(colon - p) : strlen(p);
            if (len > 0 && len < sizeof buf) {
                memcpy(buf, p, len);
                buf[len] = '\0';
                TRY(buf);
            }
            p += len + (colon != NULL);
        }
    }
    char lib[EIN_PATH_MAX];
    if (ein_stdlib_dir(opt, lib, sizeof lib))
        TRY(lib);
#undef TRY
    return false;
}

/* "did you mean 'ei' (stdlib)?" for an import that is one edit away from a
 * stdlib file. */
static void suggest_stdlib(checker *c, const char *name, ein_loc at)
{
    char lib[EIN_PATH_MAX];
    if (!ein_stdlib_dir(&c->m->options, lib, sizeof lib))
        return;
    DIR *d = opendir(lib);
    if (!d)
        return;
    char names[64][EIN_NAME_MAX];
    const char *cand[64];
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) && n < 64;) {
        size_t len = strlen(e->d_name);
        if (len > 4 && len - 4 < EIN_NAME_MAX && !strcmp(e->d_name + len - 4, ".ein")) {
            snprintf(names[n], EIN_NAME_MAX, "%.*s", (int)(len - 4), e->d_name);
            cand[n] = names[n];
            n++;
        }
    }
    closedir(d);
    const char *near = ein_suggest(name, cand, (size_t)n);
    if (near)
        ein_diag_note(c->diag, at, "did you mean '%s' (stdlib %s/%s.ein)?", near, lib, near);
}

static void load_imports(checker *c, const ein_program *p, const char *dir)
{
    ein_module *m = c->m;
    for (int i = 0; i < p->n_stmts && !c->oom; i++) {
        const ein_stmt *s = p->stmts[i];
        if (s->kind != EIN_STMT_IMPORT)
            continue;
        char path[EIN_PATH_MAX], searched[2048];
        if (!find_import(&m->options, dir, s->import.path, path, sizeof path, searched, sizeof searched)) {
            if (ein_diag_error(c->diag, s->import.path_loc,
                               "cannot find import '%s' (searched: %s; EIN_PATH adds folders)",
                               s->import.path, searched))
                suggest_stdlib(c, s->import.path, s->import.path_loc);
            continue;
        }
        char *real = realpath(path, NULL);
        if (!real) {
            c->oom = true;
            return;
        }
        /* A symlink may lead anywhere: read only .ein files, and never quote
         * the lines of anything else in a message. */
        size_t rl = strlen(real);
        if (rl < 4 || strcmp(real + rl - 4, ".ein") != 0) {
            ein_diag_error(c->diag, s->import.path_loc, "cannot import '%s': %s leads to %s, which is not a .ein file",
                           s->import.path, path, real);
            free(real);
            continue;
        }
        int on_stack = -1;
        for (int k = 0; k < c->depth; k++)
            if (!strcmp(c->stack[k], real))
                on_stack = k;
        if (on_stack >= 0) {
            char cycle[1024];
            size_t len = 0;
            for (int k = on_stack; k < c->depth && len < sizeof cycle; k++)
                len += (size_t)snprintf(cycle + len, sizeof cycle - len, "%s -> ",
                                        base_of(c->stack_names[k]));
            if (len < sizeof cycle)
                snprintf(cycle + len, sizeof cycle - len, "%s", base_of(path));
            ein_diag_error(c->diag, s->import.path_loc, "import cycle: %s", cycle);
            free(real);
            continue;
        }
        bool done = false;
        for (int k = 0; k < m->n_programs && !done; k++)
            done = !strcmp(c->loaded[k], real);
        if (done) {
            free(real);
            continue;
        }
        if (c->depth >= 64) {
            ein_diag_error(c->diag, s->import.path_loc, "imports nested too deeply");
            free(real);
            continue;
        }
        ein_err err = {0};
        ein_program *q = ein_parse_file(c->diag, path, NULL, &err);
        if (!q) {
            if (err.code != EIN_OK)
                ein_diag_error(c->diag, s->import.path_loc, "cannot import '%s': %s", s->import.path, err.msg);
            free(real);
            continue;
        }
        char qdir[EIN_PATH_MAX];
        dir_of(path, qdir, sizeof qdir);
        c->stack[c->depth] = real;
        c->stack_names[c->depth] = ein_diag_source_name(c->diag, q->file);
        c->depth++;
        load_imports(c, q, qdir);
        c->depth--;
        ein_program **progs = realloc(m->programs, (size_t)(m->n_programs + 1) * sizeof *progs);
        char **loaded = realloc(c->loaded, (size_t)(m->n_programs + 1) * sizeof *loaded);
        if (progs)
            m->programs = progs;
        if (loaded)
            c->loaded = loaded;
        if (!progs || !loaded) {
            ein_program_free(q);
            free(real);
            c->oom = true;
            return;
        }
        m->programs[m->n_programs] = q;
        c->loaded[m->n_programs] = real;
        m->n_programs++;
    }
}

/* ---- the module -------------------------------------------------------- */

static bool has_experiment(const ein_program *p)
{
    for (int i = 0; i < p->n_stmts; i++)
        if (p->stmts[i]->kind == EIN_STMT_EXPERIMENT)
            return true;
    return false;
}

static void check_all(checker *c)
{
    ein_module *m = c->m;
    int n = m->n_programs + 1;
    /* 1. every top-level definition, imports first */
    for (int k = 0; k < n; k++) {
        const ein_program *p = k < m->n_programs ? m->programs[k] : m->root;
        bool warn = k == m->n_programs && has_experiment(p);
        for (int i = 0; i < p->n_stmts; i++) {
            const ein_stmt *s = p->stmts[i];
            sname *d = NULL;
            if (s->kind == EIN_STMT_BIND)
                d = define(c, &c->globals, s->bind.name.name, s->bind.name.loc, K_GLOBAL);
            else if (s->kind == EIN_STMT_DEF)
                d = define(c, &c->globals, s->def.name.name, s->def.name.loc, K_DEF);
            if (d)
                d->warn_unused = warn;
        }
    }
    /* 2. every expression */
    for (int k = 0; k < n; k++) {
        const ein_program *p = k < m->n_programs ? m->programs[k] : m->root;
        const ein_stmt *exps[256];
        int n_exps = 0;
        for (int i = 0; i < p->n_stmts; i++) {
            const ein_stmt *s = p->stmts[i];
            if (s->kind == EIN_STMT_BIND) {
                walk(c, &c->globals, s->bind.value, CTX_ANY);
            } else if (s->kind == EIN_STMT_DEF) {
                frame params = { .up = &c->globals };
                for (int j = 0; j < s->def.n_params; j++) {
                    const ein_param *pa = &s->def.params[j];
                    if (pa->default_value)
                        walk(c, &params, pa->default_value, CTX_ANY);
                    define(c, &params, pa->name.name, pa->name.loc, K_PARAM);
                }
                walk(c, &params, s->def.body, CTX_ANY);
                free(params.names);
                ein_index_free(&params.index);
            } else if (s->kind == EIN_STMT_EXPERIMENT) {
                for (int j = 0; j < n_exps; j++)
                    if (!strcmp(exps[j]->experiment.name.name, s->experiment.name.name)) {
                        char what[96];
                        snprintf(what, sizeof what, "experiment '%s'", s->experiment.name.name);
                        duplicate(c, s->experiment.name.loc, exps[j]->experiment.name.loc, what);
                    }
                if (n_exps < 256)
                    exps[n_exps++] = s;
                check_experiment(c, s);
            } else if (s->kind != EIN_STMT_IMPORT) {
                ein_diag_error(c->diag, s->loc, "'%s' belongs inside an experiment",
                               ein_stmt_kind_name(s->kind));
            }
        }
    }
    for (int i = 0; i < c->globals.n; i++) {
        sname *s = &c->globals.names[i];
        if (!s->used && s->warn_unused && s->name[0] != '_')
            ein_diag_warning(c->diag, s->loc, "'%s' is defined but never used", s->name);
    }
}

/* Evaluate every top-level binding once, so value errors in libraries show
 * even when no experiment uses them. */
static void eval_globals(ein_module *m)
{
    ein_varena *arena = ein_varena_new();
    if (!arena)
        return;
    ein_eval ev;
    ein_eval_init(&ev, m->diag, arena);
    ein_scope *g = ein_module_globals(m, &ev);
    for (int k = 0; g && k <= m->n_programs; k++) {
        const ein_program *p = k < m->n_programs ? m->programs[k] : m->root;
        for (int i = 0; i < p->n_stmts && !ein_diag_full(m->diag); i++)
            if (p->stmts[i]->kind == EIN_STMT_BIND)
                ein_scope_get(&ev, g, p->stmts[i]->bind.name.name, p->stmts[i]->bind.name.loc);
    }
    ein_eval_fini(&ev);
    ein_varena_free(arena);
}

ein_module *ein_check_program(ein_diag *diag, ein_program *root, const char *path,
                              const ein_check_options *opt)
{
    ein_module *m = calloc(1, sizeof *m);
    if (!m) {
        ein_diag_error(diag, EIN_NO_LOC, "out of memory");
        return NULL;
    }
    m->diag = diag;
    m->root = root;
    if (opt)
        m->options = *opt;
    snprintf(m->root_path, sizeof m->root_path, "%s", path ? path : "");
    int errors_before = ein_diag_n_errors(diag);

    checker c = { .diag = diag, .m = m };
    char dir[EIN_PATH_MAX];
    dir_of(path && *path ? path : NULL, dir, sizeof dir);
    char *root_real = path && *path ? realpath(path, NULL) : NULL;
    if (root_real) {
        c.stack[0] = root_real;
        c.stack_names[0] = path;
        c.depth = 1;
    }
    load_imports(&c, root, dir);
    free(root_real);
    for (int i = 0; i < m->n_programs; i++)
        free(c.loaded[i]);
    free(c.loaded);
    if (!c.oom)
        check_all(&c);
    free(c.globals.names);
    ein_index_free(&c.globals.index);
    free_stdlib_names(&c);
    if (c.oom)
        ein_diag_error(diag, EIN_NO_LOC, "out of memory");

    if (ein_diag_n_errors(diag) == errors_before) {
        eval_globals(m);
        if (!m->options.no_expand && ein_diag_n_errors(diag) == errors_before) {
            const ein_stmt *exps[256];
            int n = ein_module_experiments(m, exps, 256);
            for (int i = 0; i < n && i < 256 && !ein_diag_full(diag); i++) {
                ein_cell_list list = {0};
                ein_grid_expand(m, exps[i]->experiment.name.name, NULL, 0, &list);
                ein_cell_list_free(&list);
            }
        }
    }
    if (ein_diag_n_errors(diag) != errors_before) {
        ein_module_free(m);
        return NULL;
    }
    return m;
}

ein_module *ein_check_file(ein_diag *diag, const char *path, const ein_check_options *opt,
                           ein_err *err)
{
    ein_program *p = ein_parse_file(diag, path, NULL, err);
    if (!p)
        return NULL;
    ein_module *m = ein_check_program(diag, p, path, opt);
    if (!m) {
        ein_program_free(p);
        return NULL;
    }
    m->owns_root = true;
    return m;
}
