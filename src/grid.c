/* grid.c — grid expansion into lowered, identified cells (include/ein/grid.h).
 *
 * Domains (lists, variants, samples, tables) are evaluated once, in a scope
 * with the experiment's locals but no axes; then for every combination a
 * fresh cell scope binds the axes, re-evaluates locals and derived values,
 * applies the `where` filters and lowers the experiment.  Values made for a
 * cell live in a per-cell arena, released once its bindings are copied out. */
#include "ein/grid.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ein/hash.h"
#include "ein/lower.h"
#include "ein/model.h"
#include "ein/names.h"
#include "ein/parse.h"
#include "ein/schema.h"

/* ---- ids and random numbers -------------------------------------------- */

uint64_t ein_splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in [0, 1) with 53 random bits. */
static double unit(uint64_t *state)
{
    return (double)(ein_splitmix64(state) >> 11) * 0x1.0p-53;
}

/* What cell ids reuse from one cell to the next: the buffer of the
 * canonical text. */
typedef struct id_maker {
    ein_textbuf text;
} id_maker;

static void id_maker_free(id_maker *im)
{
    ein_textbuf_free(&im->text);
}

/* "%016llx" of the finalized hash, without printf (one per cell). */
static void id_text(uint64_t h, char out[EIN_ID_LEN + 1])
{
    uint64_t mixed = ein_splitmix64(&h);   /* finalize: FNV's low bits diffuse poorly */
    for (int i = EIN_ID_LEN - 1; i >= 0; i--, mixed >>= 4)
        out[i] = "0123456789abcdef"[mixed & 15];
    out[EIN_ID_LEN] = '\0';
}

/* The id against the resolved defaults (the canonical text leaves out
 * settings still at a default that was added later, EIN_SF_NEW).  False
 * when out of memory. */
static bool cell_id(id_maker *im, const char *experiment, const ein_cell_config *cfg,
                    const ein_cell_config *defaults, char out[EIN_ID_LEN + 1])
{
    im->text.len = 0;
    ein_textbuf_puts(&im->text, experiment);
    ein_textbuf_put(&im->text, "\n", 1);
    ein_config_text_against(&im->text, cfg, defaults, 0);
    if (im->text.oom)
        return false;
    id_text(ein_hash_bytes(EIN_HASH_INIT, im->text.p, im->text.len), out);
    return true;
}

void ein_cell_id(const char *experiment, const ein_cell_config *cfg, char out[EIN_ID_LEN + 1])
{
    ein_cell_config *def = malloc(sizeof *def);
    id_maker im = { 0 };
    bool ok = def != NULL;
    if (ok) {
        ein_config_defaults(def);
        ein_config_resolve(def);
        ok = cell_id(&im, experiment, cfg, def, out);
    }
    if (!ok)
        id_text(EIN_HASH_INIT, out);   /* out of memory: the id of no text, as it always was */
    id_maker_free(&im);
    free(def);
}

/* ---- dimensions -------------------------------------------------------- */

typedef struct dim {
    const ein_axis *axis;        /* IN, SAMPLE, TABLE; for ZIP the group */
    int n_members;               /* 1, or the zip's member count */
    const char *names[32];
    int n_values;
    const ein_value **values;    /* n_values × n_members, row-major */
} dim;

typedef struct expander {
    const ein_module *m;
    const ein_stmt *x;
    ein_eval ev;
    ein_varena *arena;           /* globals, domains */
    ein_scope *globals;
    ein_scope *domain;           /* locals over globals, no axes */
    dim dims[64];
    int n_dims;
    const ein_axis *derived[64];
    int n_derived;
    const ein_expr *derived_expr[64];
    const ein_axis *wheres[64];
    int n_wheres;
    const ein_override *ov;
    int n_ov;
    bool *ov_used;
    ein_setting_override sov[64];    /* overrides of settings (paths), for the lowering */
    int n_sov;
    ein_axis sweep[64];              /* `train.lr=[...]`: an axis named by the path */
    ein_expr sweep_value[64];        /* the name that reads the sweep axis in a cell */
    int n_sweep;
} expander;

static const ein_expr *override_for(expander *E, const char *name)
{
    for (int i = 0; i < E->n_ov; i++)
        if (!strcmp(E->ov[i].name, name)) {
            E->ov_used[i] = true;
            return E->ov[i].value;
        }
    return NULL;
}

/* A named-variant record: the fields of `v` plus name = key. */
static const ein_value *variant(expander *E, const char *key, const ein_value *v, ein_loc loc)
{
    int n = v->rec.n + (ein_value_field(v, "name") ? 0 : 1);
    ein_value *r = ein_value_record(E->arena, v->rec.tag, n, v->loc);
    if (!r)
        return NULL;
    int k = 0;
    for (int i = 0; i < v->rec.n; i++)
        if (strcmp(v->rec.fields[i].name, "name") != 0)
            r->rec.fields[k++] = v->rec.fields[i];
    r->rec.fields[k].name = "name";
    r->rec.fields[k].loc = loc;
    r->rec.fields[k].value = ein_value_str(E->arena, key, loc);
    r->rec.named = true;
    return r->rec.fields[k].value ? r : NULL;
}

static bool is_variants(const ein_value *v)
{
    if (v->kind != EIN_V_RECORD || v->rec.tag || v->rec.n == 0)
        return false;
    for (int i = 0; i < v->rec.n; i++) {
        const ein_value *f = v->rec.fields[i].value;
        if (f->kind != EIN_V_RECORD || f->rec.tag)
            return false;
    }
    return true;
}

/* The values of an `x in EXPR` domain. */
static int domain_values(expander *E, const ein_axis *a, const ein_expr *e, const ein_value ***out)
{
    const ein_value *v = ein_eval_expr(&E->ev, E->domain, e);
    if (!v)
        return -1;
    int n;
    const ein_value **vals;
    if (v->kind == EIN_V_LIST) {
        n = v->list.n;
        vals = (const ein_value **)v->list.items;
    } else if (is_variants(v)) {
        n = v->rec.n;
        vals = ein_varena_alloc(E->arena, (size_t)n * sizeof *vals);
        if (!vals)
            return -1;
        for (int i = 0; i < n; i++)
            if (!(vals[i] = variant(E, v->rec.fields[i].name, v->rec.fields[i].value,
                                    v->rec.fields[i].loc)))
                return -1;
    } else {
        n = 1;
        vals = ein_varena_alloc(E->arena, sizeof *vals);
        if (!vals)
            return -1;
        vals[0] = v;
    }
    if (n == 0) {
        ein_eval_error(&E->ev, e->loc, "axis '%s' has no values", a->name.name);
        return -1;
    }
    *out = vals;
    return n;
}

static bool draw_args(expander *E, const ein_expr *dist, double *lo, double *hi)
{
    const char *fn = dist->call.fn->name;
    if (dist->call.n_args != 2 || dist->call.args[0].name || dist->call.args[1].name) {
        ein_eval_error(&E->ev, dist->loc, "%s takes two arguments: %s(low, high)", fn, fn);
        return false;
    }
    const ein_value *a = ein_eval_expr(&E->ev, E->domain, dist->call.args[0].value);
    const ein_value *b = a ? ein_eval_expr(&E->ev, E->domain, dist->call.args[1].value) : NULL;
    if (!b || !ein_want_num(&E->ev, a, "low", lo) || !ein_want_num(&E->ev, b, "high", hi))
        return false;
    int kind = ein_name_parse(&ein_dist_names, fn);
    if (kind == EIN_DIST_RANDINT && (*lo != floor(*lo) || *hi != floor(*hi))) {
        ein_eval_error(&E->ev, dist->loc, "randint needs integer bounds");
        return false;
    }
    if (*hi < *lo) {
        ein_eval_error(&E->ev, dist->loc, "%s: high (%g) is below low (%g)", fn, *hi, *lo);
        return false;
    }
    if (kind == EIN_DIST_LOGUNIFORM && *lo <= 0) {
        ein_eval_error(&E->ev, dist->loc, "loguniform needs positive bounds, got %g", *lo);
        return false;
    }
    return true;
}

/* M10 random search: N records, drawn once, in row order then draw order. */
static int sample_values(expander *E, const ein_axis *a, const ein_value ***out)
{
    long long n = a->count->integer.value, seed = a->seed->integer.value;
    if (n < 1 || n > EIN_GRID_MAX_CELLS) {
        ein_eval_error(&E->ev, a->count->loc, "sample count must be in 1..%d, got %lld",
                       EIN_GRID_MAX_CELLS, n);
        return -1;
    }
    double lo[64], hi[64];
    if (a->n_draws > 64) {
        ein_eval_error(&E->ev, a->loc, "too many draws (at most 64)");
        return -1;
    }
    for (int d = 0; d < a->n_draws; d++)
        if (!draw_args(E, a->draws[d].dist, &lo[d], &hi[d]))
            return -1;
    const ein_value **vals = ein_varena_alloc(E->arena, (size_t)n * sizeof *vals);
    if (!vals)
        return -1;
    uint64_t state = (uint64_t)seed;
    for (long long i = 0; i < n; i++) {
        ein_value *r = ein_value_record(E->arena, NULL, a->n_draws, a->loc);
        if (!r)
            return -1;
        for (int d = 0; d < a->n_draws; d++) {
            const ein_draw *dr = &a->draws[d];
            int kind = ein_name_parse(&ein_dist_names, dr->dist->call.fn->name);
            double u = unit(&state);
            const ein_value *v;
            if (kind == EIN_DIST_RANDINT) {
                double span = hi[d] - lo[d] + 1;
                v = ein_value_int(E->arena, (long long)lo[d] + (long long)floor(u * span), dr->loc);
            } else if (kind == EIN_DIST_LOGUNIFORM) {
                v = ein_value_num(E->arena, exp(log(lo[d]) + u * (log(hi[d]) - log(lo[d]))), dr->loc);
            } else {
                v = ein_value_num(E->arena, lo[d] + u * (hi[d] - lo[d]), dr->loc);
            }
            if (!v)
                return -1;
            r->rec.fields[d] = (ein_vfield){ dr->name.name, v, dr->name.loc };
        }
        vals[i] = r;
    }
    *out = vals;
    return (int)n;
}

static int table_values(expander *E, const ein_axis *a, const ein_value ***out)
{
    const ein_value **vals = ein_varena_alloc(E->arena, (size_t)a->n_rows * sizeof *vals);
    if (!vals)
        return -1;
    for (int i = 0; i < a->n_rows; i++) {
        const ein_table_row *row = &a->rows[i];
        ein_value *r = ein_value_record(E->arena, NULL, a->n_columns, row->loc);
        if (!r)
            return -1;
        for (int k = 0; k < a->n_columns && k < row->n_values; k++) {
            const ein_value *v = ein_eval_expr(&E->ev, E->domain, row->values[k]);
            if (!v)
                return -1;
            r->rec.fields[k] = (ein_vfield){ a->columns[k].name, v, row->values[k]->loc };
        }
        vals[i] = r;
    }
    *out = vals;
    return a->n_rows;
}

/* ---- variant keys ------------------------------------------------------ */

typedef struct key_use {
    const char *axis;
    const ein_value *const *variants;
    int n;
    expander *E;
} key_use;

/* Every `AXIS.key` in the experiment must name a key of every variant. */
static void check_keys(key_use *k, const ein_expr *e)
{
    if (!e)
        return;
    switch (e->kind) {
    case EIN_EXPR_FIELD:
        if (e->field.base->kind == EIN_EXPR_NAME && !strcmp(e->field.base->name, k->axis)) {
            for (int i = 0; i < k->n; i++) {
                const ein_value *v = k->variants[i];
                if (ein_value_field(v, e->field.name))
                    continue;
                const char *key = ein_value_field(v, "name")->s;
                int n0 = k->E->ev.n_seen;
                ein_eval_error(&k->E->ev, e->field.name_loc,
                               "'%s' is not defined in every variant of '%s': variant '%s' lacks it",
                               e->field.name, k->axis, key);
                if (k->E->ev.n_seen > n0)
                    ein_diag_note(k->E->ev.diag, v->loc, "variant '%s' is defined here", key);
                break;
            }
        }
        check_keys(k, e->field.base);
        break;
    case EIN_EXPR_CALL:
        check_keys(k, e->call.fn);
        for (int i = 0; i < e->call.n_args; i++)
            check_keys(k, e->call.args[i].value);
        break;
    case EIN_EXPR_LIST:
        for (int i = 0; i < e->list.n_items; i++)
            check_keys(k, e->list.items[i]);
        break;
    case EIN_EXPR_RECORD:
        for (int i = 0; i < e->record.n_fields; i++)
            check_keys(k, e->record.fields[i].value);
        break;
    case EIN_EXPR_RANGE:
        check_keys(k, e->range.lo);
        check_keys(k, e->range.hi);
        break;
    case EIN_EXPR_UNARY:
        check_keys(k, e->unary.arg);
        break;
    case EIN_EXPR_BINARY:
        check_keys(k, e->binary.lhs);
        check_keys(k, e->binary.rhs);
        break;
    case EIN_EXPR_IF:
        check_keys(k, e->cond.test);
        check_keys(k, e->cond.then_);
        check_keys(k, e->cond.else_);
        break;
    default:
        break;
    }
}

static void check_keys_axes(key_use *k, const ein_axis *axes, int n)
{
    for (int i = 0; i < n; i++) {
        const ein_axis *a = &axes[i];
        if (a->kind == EIN_AXIS_DERIVED || a->kind == EIN_AXIS_WHERE)
            check_keys(k, a->value);
    }
}

/* False when some key is missing (then cells are not built: every use of
 * the key would fail again, less clearly). */
static bool check_variant_keys(expander *E, const char *axis, const ein_value *const *vals, int n)
{
    if (n == 0 || !(vals[0]->kind == EIN_V_RECORD && vals[0]->rec.named))
        return true;
    int errors = E->ev.n_errors;
    key_use k = { axis, vals, n, E };
    const ein_stmt *x = E->x;
    for (int i = 0; i < x->experiment.n_stmts; i++) {
        const ein_stmt *s = x->experiment.stmts[i];
        switch (s->kind) {
        case EIN_STMT_BIND: check_keys(&k, s->bind.value); break;
        case EIN_STMT_DATA: check_keys(&k, s->data.value); break;
        case EIN_STMT_NORM: check_keys(&k, s->norm.value); break;
        case EIN_STMT_LOSS:
            check_keys(&k, s->loss.value);
            check_keys(&k, s->loss.weight);
            break;
        case EIN_STMT_NETWORK:
            for (int j = 0; j < s->network.n_layers; j++) {
                check_keys(&k, s->network.layers[j].value);
                check_keys(&k, s->network.layers[j].repeat);
            }
            break;
        case EIN_STMT_TRAIN:
            for (int j = 0; j < s->train.n_settings; j++)
                check_keys(&k, s->train.settings[j].value);
            break;
        case EIN_STMT_GRID: check_keys_axes(&k, s->grid.axes, s->grid.n_axes); break;
        default: break;
        }
    }
    return E->ev.n_errors == errors;
}

/* ---- collecting the grid ----------------------------------------------- */

static bool add_dim(expander *E, const ein_axis *a)
{
    if (E->n_dims == 64) {
        ein_eval_error(&E->ev, a->loc, "too many grid axes (at most 64)");
        return false;
    }
    dim *d = &E->dims[E->n_dims];
    memset(d, 0, sizeof *d);
    d->axis = a;
    d->n_members = 1;
    const ein_value **vals = NULL;
    int n;
    if (a->kind == EIN_AXIS_IN) {
        d->names[0] = a->name.name;
        const ein_expr *e = override_for(E, a->name.name);
        n = domain_values(E, a, e ? e : a->value, &vals);
        if (n > 0 && !check_variant_keys(E, a->name.name, vals, n))
            n = -1;
    } else if ((a->kind == EIN_AXIS_SAMPLE || a->kind == EIN_AXIS_TABLE) &&
               override_for(E, a->name.name)) {
        /* an override replaces the whole axis by the values it gives */
        d->names[0] = a->name.name;
        n = domain_values(E, a, override_for(E, a->name.name), &vals);
    } else if (a->kind == EIN_AXIS_SAMPLE) {
        d->names[0] = a->name.name;
        n = sample_values(E, a, &vals);
    } else if (a->kind == EIN_AXIS_TABLE) {
        d->names[0] = a->name.name;
        n = table_values(E, a, &vals);
    } else {   /* ZIP */
        if (a->n_zip > 32) {
            ein_eval_error(&E->ev, a->loc, "too many axes in one zip (at most 32)");
            return false;
        }
        d->n_members = a->n_zip;
        n = -1;
        const ein_value **cols[32];
        int lens[32];
        for (int k = 0; k < a->n_zip; k++) {
            const ein_axis *z = &a->zip[k];
            d->names[k] = z->name.name;
            const ein_expr *e = override_for(E, z->name.name);
            lens[k] = domain_values(E, z, e ? e : z->value, &cols[k]);
            if (lens[k] < 0)
                return false;
            if (!check_variant_keys(E, z->name.name, cols[k], lens[k]))
                return false;
            if (k > 0 && lens[k] != lens[0]) {
                ein_eval_error(&E->ev, z->name.loc,
                               "zip axes have different lengths: '%s' has %d values, '%s' has %d",
                               a->zip[0].name.name, lens[0], z->name.name, lens[k]);
                return false;
            }
        }
        n = a->n_zip ? lens[0] : 0;
        vals = ein_varena_alloc(E->arena, (size_t)(n * a->n_zip + 1) * sizeof *vals);
        if (!vals)
            return false;
        for (int i = 0; i < n; i++)
            for (int k = 0; k < a->n_zip; k++)
                vals[i * a->n_zip + k] = cols[k][i];
    }
    if (n <= 0)
        return false;
    d->n_values = n;
    d->values = vals;
    E->n_dims++;
    return true;
}

static bool collect(expander *E, const ein_axis *axes, int n)
{
    bool ok = true;
    for (int i = 0; i < n; i++) {
        const ein_axis *a = &axes[i];
        if (a->kind == EIN_AXIS_DERIVED) {
            if (E->n_derived == 64) {
                ein_eval_error(&E->ev, a->loc, "too many derived values (at most 64)");
                return false;
            }
            const ein_expr *o = override_for(E, a->name.name);
            E->derived_expr[E->n_derived] = o ? o : a->value;
            E->derived[E->n_derived++] = a;
        } else if (a->kind == EIN_AXIS_WHERE) {
            if (E->n_wheres == 64) {
                ein_eval_error(&E->ev, a->loc, "too many where filters (at most 64)");
                return false;
            }
            E->wheres[E->n_wheres++] = a;
        } else {
            ok &= add_dim(E, a);
        }
    }
    return ok;
}

/* ---- overrides of settings ------------------------------------------- */

static ein_loc override_loc(const ein_override *o)
{
    return o->name_loc.line > 0 ? o->name_loc : o->value->loc;
}

static void unknown_override(expander *E, const ein_override *o)
{
    ein_eval_error(&E->ev, override_loc(o), "no axis, binding or setting named '%s' to override", o->name);
    /* `lr` for train.lr: the setting whose path ends with the name */
    char paths[256][96];
    size_t n = ein_schema_paths(paths, 256), len = strlen(o->name);
    for (int pass = 0; pass < 2; pass++)   /* a cell setting (train.lr) before a layer's */
        for (size_t i = 0; i < n; i++) {
            size_t pl = strlen(paths[i]);
            bool scoped = !strncmp(paths[i], "hidden", 6) || !strncmp(paths[i], "output.", 7) ||
                          !strncmp(paths[i], "loss.", 5);
            if (scoped == (pass == 0))
                continue;
            if (pl > len && paths[i][pl - len - 1] == '.' && !strcmp(paths[i] + pl - len, o->name)) {
                ein_diag_note(E->ev.diag, override_loc(o), "did you mean the setting '%s'?", paths[i]);
                return;
            }
        }
}

/* A list (or range) of values is a sweep; for a setting whose value is
 * itself a list (a set of groups or metrics), a list of lists. */
static bool is_sweep(const ein_setting_def *d, const ein_expr *e)
{
    if (e->kind == EIN_EXPR_RANGE)
        return true;
    if (e->kind != EIN_EXPR_LIST)
        return false;
    if (d->type != EIN_TYPE_SET)
        return true;
    return e->list.n_items > 0 && e->list.items[0]->kind == EIN_EXPR_LIST;
}

static bool is_setting_path(const char *name)
{
    return strchr(name, '.') || strchr(name, '[');
}

/* Overrides whose name is a setting path: resolved against the schema,
 * lists turned into sweep axes.  Bare names are left for the axes and
 * bindings (override_for). */
static bool setting_overrides(expander *E)
{
    for (int i = 0; i < E->n_ov; i++) {
        const ein_override *o = &E->ov[i];
        if (!is_setting_path(o->name))
            continue;
        E->ov_used[i] = true;
        ein_setting_override *so = &E->sov[E->n_sov];
        char near[96];
        if (E->n_sov == 64) {
            ein_eval_error(&E->ev, override_loc(o), "too many setting overrides (at most 64)");
            return false;
        }
        if (!ein_setting_lookup(o->name, &so->ref, near, sizeof near)) {
            ein_eval_error(&E->ev, override_loc(o), "unknown setting '%s'", o->name);
            if (near[0])
                ein_diag_note(E->ev.diag, override_loc(o), "did you mean '%s'? (einrun help settings lists them)",
                              near);
            return false;
        }
        so->path = o->name;
        so->at = override_loc(o);
        so->value = o->value;
        if (is_sweep(so->ref.def, o->value)) {
            if (E->n_sweep == 64) {
                ein_eval_error(&E->ev, override_loc(o), "too many swept settings (at most 64)");
                return false;
            }
            ein_axis *a = &E->sweep[E->n_sweep];
            ein_expr *read = &E->sweep_value[E->n_sweep++];
            *a = (ein_axis){ .kind = EIN_AXIS_IN, .loc = so->at, .value = (ein_expr *)o->value };
            a->name = (ein_ident){ .name = o->name, .loc = so->at };
            *read = (ein_expr){ .kind = EIN_EXPR_NAME, .loc = o->value->loc, .name = o->name };
            so->value = read;
        }
        E->n_sov++;
    }
    return true;
}

/* ---- cells ------------------------------------------------------------- */

typedef struct cell_vec {
    ein_cell *cells;
    int n, cap;
} cell_vec;

static void binding_set(ein_binding *b, const char *name, const char *suffix, const ein_value *v)
{
    memset(b, 0, sizeof *b);
    if (suffix)
        snprintf(b->name, sizeof b->name, "%s.%s", name, suffix);
    else
        snprintf(b->name, sizeof b->name, "%s", name);
    ein_value_text(v, b->text, sizeof b->text);
    b->is_number = ein_value_number(v, &b->number);
}

/* A configuration row (sample, table, or a plain record from a list such as
 * paper_configs): bound as its index plus one binding per field. */
static bool row_like(const dim *d, const ein_value *v)
{
    if (d->axis->kind == EIN_AXIS_SAMPLE || d->axis->kind == EIN_AXIS_TABLE)
        return true;
    return d->axis->kind == EIN_AXIS_IN && v->kind == EIN_V_RECORD && !v->rec.named && !v->rec.tag;
}

/* Bindings of one cell, in axis order (cell.h). */
static ein_binding *cell_bindings(expander *E, const int *idx, ein_scope *scope, int *count)
{
    int n = 0;
    for (int i = 0; i < E->n_dims; i++) {
        const dim *d = &E->dims[i];
        if (row_like(d, d->values[idx[i]]))
            n += 1 + d->values[idx[i]]->rec.n;
        else
            n += d->n_members;
    }
    n += E->n_derived;
    ein_binding *b = calloc((size_t)(n ? n : 1), sizeof *b);
    if (!b)
        return NULL;
    int k = 0;
    for (int i = 0; i < E->n_dims; i++) {
        const dim *d = &E->dims[i];
        if (row_like(d, d->values[idx[i]])) {
            const ein_value *r = d->values[idx[i]];
            ein_binding *ib = &b[k++];
            memset(ib, 0, sizeof *ib);
            snprintf(ib->name, sizeof ib->name, "%s", d->names[0]);
            snprintf(ib->text, sizeof ib->text, "%d", idx[i]);
            ib->is_number = true;
            ib->number = idx[i];
            for (int f = 0; f < r->rec.n; f++)
                binding_set(&b[k++], d->names[0], r->rec.fields[f].name, r->rec.fields[f].value);
        } else {
            for (int mbr = 0; mbr < d->n_members; mbr++)
                binding_set(&b[k++], d->names[mbr], NULL, d->values[idx[i] * d->n_members + mbr]);
        }
    }
    for (int i = 0; i < E->n_derived; i++) {
        const ein_axis *a = E->derived[i];
        const ein_value *v = ein_scope_get(&E->ev, scope, a->name.name, a->name.loc);
        if (!v) {
            free(b);
            return NULL;
        }
        binding_set(&b[k++], a->name.name, NULL, v);
    }
    *count = k;
    return b;
}

/* Build the scope of one cell: locals, axis values, derived values. */
static ein_scope *cell_scope(expander *E, const int *idx)
{
    ein_scope *s = ein_scope_new(&E->ev, E->globals);
    if (!s)
        return NULL;
    const ein_stmt *x = E->x;
    for (int i = 0; i < x->experiment.n_stmts; i++) {
        const ein_stmt *st = x->experiment.stmts[i];
        if (st->kind != EIN_STMT_BIND)
            continue;
        const ein_expr *o = override_for(E, st->bind.name.name);
        if (!ein_scope_add_lazy(&E->ev, s, st->bind.name.name, st->bind.name.loc,
                                o ? o : st->bind.value))
            return NULL;
    }
    for (int i = 0; i < E->n_dims; i++) {
        const dim *d = &E->dims[i];
        for (int mbr = 0; mbr < d->n_members; mbr++) {
            const ein_axis *a = d->axis->kind == EIN_AXIS_ZIP ? &d->axis->zip[mbr] : d->axis;
            if (!ein_scope_add_value(&E->ev, s, d->names[mbr], a->name.loc,
                                     d->values[idx[i] * d->n_members + mbr]))
                return NULL;
        }
    }
    for (int i = 0; i < E->n_derived; i++)
        if (!ein_scope_add_lazy(&E->ev, s, E->derived[i]->name.name, E->derived[i]->name.loc,
                                E->derived_expr[i]))
            return NULL;
    return s;
}

/* 1 keep, 0 excluded, -1 error. */
static int keep_cell(expander *E, ein_scope *s)
{
    for (int i = 0; i < E->n_wheres; i++) {
        const ein_value *v = ein_eval_expr(&E->ev, s, E->wheres[i]->value);
        if (!v)
            return -1;
        if (v->kind != EIN_V_BOOL) {
            ein_eval_error(&E->ev, E->wheres[i]->value->loc, "a where filter must be true or false, got %s",
                           ein_value_type(v));
            return -1;
        }
        if (!v->b)
            return 0;
    }
    return 1;
}

static bool push_cell(cell_vec *cv, ein_cell *c)
{
    if (cv->n == cv->cap) {
        int cap = cv->cap ? 2 * cv->cap : 16;
        ein_cell *p = realloc(cv->cells, (size_t)cap * sizeof *p);
        if (!p)
            return false;
        cv->cells = p;
        cv->cap = cap;
    }
    cv->cells[cv->n++] = *c;
    return true;
}

static int cmp_id(const void *a, const void *b)
{
    const ein_cell *x = *(ein_cell *const *)a, *y = *(ein_cell *const *)b;
    int c = strcmp(x->id, y->id);
    return c ? c : x->index - y->index;
}

static void bindings_text(const ein_cell *c, char *buf, size_t n)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < c->n_bindings && len < n; i++)
        len += (size_t)snprintf(buf + len, n - len, "%s%s=%s", i ? " " : "", c->bindings[i].name,
                                c->bindings[i].text);
}

static bool check_duplicates(expander *E, cell_vec *cv, ein_loc at)
{
    ein_cell **order = malloc((size_t)(cv->n ? cv->n : 1) * sizeof *order);
    if (!order)
        return false;
    for (int i = 0; i < cv->n; i++)
        order[i] = &cv->cells[i];
    qsort(order, (size_t)cv->n, sizeof *order, cmp_id);
    bool ok = true;
    for (int i = 1; i < cv->n && ok; i++)
        if (!strcmp(order[i - 1]->id, order[i]->id)) {
            char a[512], b[512];
            bindings_text(order[i - 1], a, sizeof a);
            bindings_text(order[i], b, sizeof b);
            ein_eval_error(&E->ev, at, "two cells have the same configuration (%s and %s)", a, b);
            ok = false;
        }
    free(order);
    return ok;
}

/* A cell whose model cannot fit in memory (or whose matrices overflow int
 * indexing) is an error of the file, at its network statement. */
static bool cell_fits(expander *E, const ein_cell_config *cfg)
{
    double bytes;
    ein_err err = { 0 };
    if (ein_model_check_size(cfg, cfg->input, &bytes, &err) == EIN_OK)
        return true;
    ein_loc at = E->x->experiment.name.loc;
    for (int i = 0; i < E->x->experiment.n_stmts; i++)
        if (E->x->experiment.stmts[i]->kind == EIN_STMT_NETWORK)
            at = E->x->experiment.stmts[i]->loc;
    ein_eval_error(&E->ev, at, "%s", err.msg);
    return false;
}

static bool expand(expander *E, ein_cell_list *out)
{
    const ein_stmt *x = E->x;
    ein_loc grid_loc = x->experiment.name.loc;
    for (int i = 0; i < x->experiment.n_stmts; i++) {
        const ein_stmt *s = x->experiment.stmts[i];
        if (s->kind == EIN_STMT_GRID) {
            grid_loc = s->loc;
            if (!collect(E, s->grid.axes, s->grid.n_axes))
                return false;
        }
    }
    for (int i = 0; i < E->n_sweep; i++)
        if (!add_dim(E, &E->sweep[i]))
            return false;
    for (int i = 0; i < E->n_ov; i++)
        if (!E->ov_used[i] && !ein_scope_has(E->globals, E->ov[i].name)) {
            unknown_override(E, &E->ov[i]);
            return false;
        }
    long long total = 1;
    for (int i = 0; i < E->n_dims; i++) {
        total *= E->dims[i].n_values;
        if (total > EIN_GRID_MAX_CELLS) {
            ein_eval_error(&E->ev, grid_loc, "the grid has more than %d cells", EIN_GRID_MAX_CELLS);
            return false;
        }
    }
    cell_vec cv = {0};
    id_maker ids = { 0 };
    int idx[64] = {0};
    ein_cell_config *cfg = malloc(sizeof *cfg);   /* each cell's, before it is stored */
    ein_cell_config *defaults = malloc(sizeof *defaults);
    bool ok = cfg != NULL && defaults != NULL;
    if (defaults) {
        ein_config_defaults(defaults);
        ein_config_resolve(defaults);
    }
    for (long long c = 0; c < total && !ein_diag_full(E->ev.diag); c++) {
        /* odometer: the last axis varies fastest */
        long long r = c;
        for (int i = E->n_dims - 1; i >= 0; i--) {
            idx[i] = (int)(r % E->dims[i].n_values);
            r /= E->dims[i].n_values;
        }
        ein_varena *cell_arena = ein_varena_new();
        if (!cell_arena) {
            ok = false;
            break;
        }
        E->ev.arena = cell_arena;
        ein_cell cell;
        memset(&cell, 0, sizeof cell);
        ein_scope *s = cell_scope(E, idx);
        int keep = s ? keep_cell(E, s) : -1;
        if (keep == 1) {
            bool lowered = ein_lower_experiment(&E->ev, s, x, E->sov, E->n_sov, cfg) && cell_fits(E, cfg);
            cell.bindings = lowered ? cell_bindings(E, idx, s, &cell.n_bindings) : NULL;
            if (cell.bindings) {
                cell.index = cv.n;
                if (!cell_id(&ids, x->experiment.name.name, cfg, defaults, cell.id) ||
                    !ein_cell_list_store_config(out, &cell, cfg) || !push_cell(&cv, &cell)) {
                    free(cell.bindings);
                    ok = false;
                }
            } else {
                ok = false;
            }
        } else if (keep < 0) {
            ok = false;
        }
        E->ev.arena = E->arena;
        ein_varena_free(cell_arena);
    }
    id_maker_free(&ids);
    free(cfg);
    free(defaults);
    if (ok && cv.n == 0) {
        ein_eval_error(&E->ev, grid_loc, "every cell is excluded by the where filters");
        ok = false;
    }
    if (ok)
        ok = check_duplicates(E, &cv, grid_loc);
    out->n = cv.n;
    out->cells = cv.cells;
    if (!ok)
        ein_cell_list_free(out);
    return ok;
}

bool ein_grid_expand(const ein_module *m, const char *experiment, const ein_override *ov,
                     int n_ov, ein_cell_list *out)
{
    memset(out, 0, sizeof *out);
    const ein_stmt *x = NULL;
    if (experiment) {
        x = ein_module_experiment(m, experiment);
        if (!x) {
            ein_diag_error(m->diag, EIN_NO_LOC, "no experiment named '%s' in %s", experiment,
                           m->root_path[0] ? m->root_path : "the program");
            return false;
        }
    } else {
        const ein_stmt *exps[8];
        int n = ein_module_experiments(m, exps, 8);
        if (n != 1) {
            ein_diag_error(m->diag, EIN_NO_LOC, n == 0 ? "%s has no experiment"
                           : "%s has several experiments; choose one",
                           m->root_path[0] ? m->root_path : "the program");
            return false;
        }
        x = exps[0];
    }
    expander E;
    memset(&E, 0, sizeof E);
    E.m = m;
    E.x = x;
    E.ov = ov;
    E.n_ov = n_ov;
    E.arena = ein_varena_new();
    E.ov_used = calloc((size_t)(n_ov > 0 ? n_ov : 1), sizeof *E.ov_used);
    if (!E.arena || !E.ov_used) {
        ein_varena_free(E.arena);
        free(E.ov_used);
        ein_diag_error(m->diag, EIN_NO_LOC, "out of memory");
        return false;
    }
    ein_eval_init(&E.ev, m->diag, E.arena);
    bool ok = (E.globals = ein_module_globals(m, &E.ev)) != NULL;
    /* overrides of top-level bindings, then every global evaluated once in
     * the long-lived arena (cells only read them) */
    for (int i = 0; ok && i < n_ov; i++)
        if (ein_scope_override(E.globals, ov[i].name, ov[i].value))
            E.ov_used[i] = true;
    for (int k = 0; ok && k <= m->n_programs; k++) {
        const ein_program *p = k < m->n_programs ? m->programs[k] : m->root;
        for (int i = 0; i < p->n_stmts; i++)
            if (p->stmts[i]->kind == EIN_STMT_BIND &&
                !ein_scope_get(&E.ev, E.globals, p->stmts[i]->bind.name.name, p->stmts[i]->bind.name.loc))
                ok = false;
    }
    if (ok) {
        E.domain = ein_scope_new(&E.ev, E.globals);
        ok = E.domain != NULL;
        for (int i = 0; ok && i < x->experiment.n_stmts; i++) {
            const ein_stmt *s = x->experiment.stmts[i];
            if (s->kind == EIN_STMT_BIND) {
                const ein_expr *o = NULL;
                for (int j = 0; j < n_ov && !o; j++)
                    if (!strcmp(ov[j].name, s->bind.name.name))
                        o = ov[j].value;
                ok = ein_scope_add_lazy(&E.ev, E.domain, s->bind.name.name, s->bind.name.loc,
                                        o ? o : s->bind.value);
            }
        }
    }
    if (ok)
        ok = setting_overrides(&E);
    if (ok)
        ok = expand(&E, out);
    if (ok) {
        snprintf(out->experiment, sizeof out->experiment, "%s", x->experiment.name.name);
        snprintf(out->source_path, sizeof out->source_path, "%s", m->root_path);
    }
    ein_eval_fini(&E.ev);
    ein_varena_free(E.arena);
    free(E.ov_used);
    return ok;
}

void ein_grid_print(const ein_cell_list *list, FILE *out)
{
    fprintf(out, "%s: %d cell%s\n", list->experiment, list->n, list->n == 1 ? "" : "s");
    for (int i = 0; i < list->n; i++) {
        const ein_cell *c = &list->cells[i];
        fputs(c->id, out);
        for (int k = 0; k < c->n_bindings; k++) {   /* fputs: numfmt.h says why */
            fputs(k ? " " : "  ", out);
            fputs(c->bindings[k].name, out);
            fputc('=', out);
            fputs(c->bindings[k].text, out);
        }
        fputc('\n', out);
    }
}

bool ein_override_parse(ein_diag *diag, const char *source, const char *text, ein_override *ov,
                        ein_program **prog)
{
    *prog = NULL;
    memset(ov, 0, sizeof *ov);
    size_t len = strlen(text);
    const char *eq = strchr(text, '=');
    size_t name_end = eq ? (size_t)(eq - text) : len;
    while (name_end > 0 && text[name_end - 1] == ' ')
        name_end--;
    size_t name_start = 0;
    while (name_start < name_end && text[name_start] == ' ')
        name_start++;
    ein_program *p = ein_parse_override(diag, source, text, len, eq ? (size_t)(eq - text) + 1 : len, NULL);
    int file = ein_diag_n_sources(diag) - 1;
    ein_loc name_loc = { .file = file, .line = 1, .col = (int)name_start + 1, .end_line = 1,
                         .end_col = (int)name_end + 1, .start = (uint32_t)name_start,
                         .end = (uint32_t)name_end };
    if (!eq || name_end == name_start) {
        ein_program_free(p);
        ein_diag_error(diag, name_loc, "an override is NAME=VALUE (e.g. train.lr=0.05 or 'eps=[0, 0.5]')");
        return false;
    }
    if (!p || !p->expr) {
        ein_program_free(p);
        return false;
    }
    char *name = ein_program_alloc(p, name_end - name_start + 1);
    if (!name) {
        ein_program_free(p);
        ein_diag_error(diag, name_loc, "out of memory");
        return false;
    }
    memcpy(name, text + name_start, name_end - name_start);
    name[name_end - name_start] = '\0';
    ov->name = name;
    ov->value = p->expr;
    ov->name_loc = name_loc;
    *prog = p;
    return true;
}
