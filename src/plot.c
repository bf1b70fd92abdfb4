/* plot.c — draw a declared figure (figure.h) from results folders with
 * gnuplot: select and group the cells, write NAME.dat and NAME.gp, run
 * gnuplot in the output folder. */
#include "ein/figure.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ein/results.h"
#include "ein/stats.h"
#include "ein/text.h"

/* ---- the selected cells ------------------------------------------------ */

typedef struct cellref {
    const ein_record *rec;
    int dir;
    double acc;                        /* final test accuracy, chance for a diverged cell */
    int n_epochs;                      /* curve: values per epoch (1-based), NaN if absent */
    double *epoch_value;
} cellref;

typedef struct group {                 /* one facet value × one condition */
    cellref *cells;
    int n, cap;
} group;

typedef struct plot {
    const ein_figure *f;
    ein_record_list lists[EIN_FIG_MAX_RESULTS];
    const char *dirs[EIN_FIG_MAX_RESULTS];
    int n_dirs;
    int n_cond, n_facet;
    char cond[EIN_FIG_MAX_LIST][EIN_VALUE_TEXT_MAX];
    char facet[EIN_FIG_MAX_LIST][EIN_VALUE_TEXT_MAX];
    group *groups;                     /* n_facet × n_cond, facet-major */
    bool by_layer;                     /* facet = layer: facets are hidden-layer indices */
} plot;

static group *group_at(plot *p, int facet, int cond) { return &p->groups[facet * p->n_cond + cond]; }

static const char *label(const plot *p, int c)
{
    return c < p->f->n_labels ? p->f->labels[c] : p->cond[c];
}

static int find(char list[][EIN_VALUE_TEXT_MAX], int n, const char *s)
{
    for (int i = 0; i < n; i++)
        if (strcmp(list[i], s) == 0)
            return i;
    return -1;
}

/* Add `s` to a value list in first-seen order; -1 when full. */
static int intern(char list[][EIN_VALUE_TEXT_MAX], int *n, const char *s)
{
    int i = find(list, *n, s);
    if (i >= 0 || *n == EIN_FIG_MAX_LIST)
        return i;
    ein_text_copy(list[*n], EIN_VALUE_TEXT_MAX, s);
    return (*n)++;
}

static double chance_or(double acc) { return isnan(acc) ? 10.0 : acc; }

static bool counts(const ein_record *r)
{
    return strcmp(r->status, "ok") == 0 || strcmp(r->status, "diverged") == 0;
}

/* A final-epoch metric of a cell for `layer` (per-layer metrics only). */
static double record_metric(const ein_record *r, const char *m, int layer)
{
    if (strcmp(m, "test_acc") == 0) return strcmp(r->status, "diverged") == 0 ? chance_or(r->final_test_acc) : r->final_test_acc;
    if (strcmp(m, "best_test_acc") == 0) return r->best_test_acc;
    if (strcmp(m, "train_acc") == 0) return r->final_train_acc;
    if (strcmp(m, "task_loss") == 0) return r->final_task_loss;
    if (strcmp(m, "inorm_loss") == 0) return r->final_inorm_loss;
    if (strcmp(m, "test_loss") == 0) return r->final_test_loss;
    if (layer < 0 || layer >= r->n_final_layers)
        return NAN;
    ein_layer_metrics L = ein_record_final_layer(r, layer);
    if (strcmp(m, "z_mean") == 0) return L.mean;
    if (strcmp(m, "z_var") == 0) return L.var;
    if (strcmp(m, "z_mean_sq") == 0) return L.mean_sq;
    if (strcmp(m, "cos_ln_out") == 0) return L.cos_out;
    if (strcmp(m, "cos_ln_grad") == 0) return L.cos_grad;
    return NAN;
}

static bool push(group *g, cellref c)
{
    if (g->n == g->cap) {
        int cap = g->cap ? 2 * g->cap : 16;
        cellref *grown = realloc(g->cells, (size_t)cap * sizeof *grown);
        if (!grown)
            return false;
        g->cells = grown;
        g->cap = cap;
    }
    g->cells[g->n++] = c;
    return true;
}

static void dirs_text(const plot *p, char *buf, size_t cap)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < p->n_dirs && len < cap; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%s", i ? ", " : "", p->dirs[i]);
}

static void values_text(char list[][EIN_VALUE_TEXT_MAX], int n, char *buf, size_t cap)
{
    size_t len = 0;
    snprintf(buf, cap, "none");
    for (int i = 0; i < n && len < cap; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%s", i ? ", " : "", list[i]);
}

static bool numeric(const char *s)
{
    char *end;
    strtod(s, &end);
    return end != s && *end == '\0';
}

/* Facet values found, in ascending order when all are numbers (ε). */
static void sort_facets(plot *p)
{
    for (int i = 0; i < p->n_facet; i++)
        if (!numeric(p->facet[i]))
            return;
    for (int i = 1; i < p->n_facet; i++)
        for (int j = i; j > 0 && strtod(p->facet[j - 1], NULL) > strtod(p->facet[j], NULL); j--) {
            char t[EIN_VALUE_TEXT_MAX];
            memcpy(t, p->facet[j], sizeof t);
            memcpy(p->facet[j], p->facet[j - 1], sizeof t);
            memcpy(p->facet[j - 1], t, sizeof t);
        }
}

static int by_acc_desc(const void *a, const void *b)
{
    double x = ((const cellref *)a)->acc, y = ((const cellref *)b)->acc;
    return (x < y) - (x > y);
}

/* Read the folders, find the conditions and facets, sort cells into groups.
 * A requested condition or facet without cells is an error naming it. */
static ein_code select_cells(plot *p, ein_err *err)
{
    const ein_figure *f = p->f;
    p->by_layer = strcmp(f->facet, "layer") == 0;
    for (int i = 0; i < f->n_conditions; i++)
        intern(p->cond, &p->n_cond, f->conditions[i]);
    for (int i = 0; i < f->n_facets; i++)
        intern(p->facet, &p->n_facet, f->facets[i]);
    int found_cond = 0, found_facet = 0;
    char seen_cond[EIN_FIG_MAX_LIST][EIN_VALUE_TEXT_MAX], seen_facet[EIN_FIG_MAX_LIST][EIN_VALUE_TEXT_MAX];
    int max_layers = 0;
    for (int d = 0; d < p->n_dirs; d++)
        for (int i = 0; i < p->lists[d].n; i++) {
            const ein_record *r = &p->lists[d].rec[i];
            const char *c = ein_record_binding(r, f->by, NULL);
            if (!c || !counts(r))
                continue;
            intern(seen_cond, &found_cond, c);
            const char *fv = f->facet[0] && !p->by_layer ? ein_record_binding(r, f->facet, NULL) : "";
            if (fv && f->facet[0] && !p->by_layer)
                intern(seen_facet, &found_facet, fv);
            if (r->n_final_layers > max_layers)
                max_layers = r->n_final_layers;
        }
    char dirs[512], found[1024];
    dirs_text(p, dirs, sizeof dirs);
    if (found_cond == 0)
        return ein_err_set(err, EIN_ERR_DATA, "figure %s: no finished cells with a '%s' binding in %s",
                           f->name, f->by, dirs);
    for (int i = 0; i < p->n_cond; i++)
        if (find(seen_cond, found_cond, p->cond[i]) < 0) {
            values_text(seen_cond, found_cond, found, sizeof found);
            return ein_err_set(err, EIN_ERR_DATA, "figure %s: no finished cells with %s=%s in %s (found %s: %s)",
                               f->name, f->by, p->cond[i], dirs, f->by, found);
        }
    if (p->n_cond == 0)
        for (int i = 0; i < found_cond; i++)
            intern(p->cond, &p->n_cond, seen_cond[i]);
    if (p->by_layer) {
        if (max_layers == 0)
            return ein_err_set(err, EIN_ERR_DATA, "figure %s: the cells in %s have no per-layer metrics "
                               "(report { moments, cos_ln_out, cos_ln_grad })", f->name, dirs);
        for (int l = 0; l < max_layers && l < EIN_FIG_MAX_LIST; l++) {
            char t[16];
            snprintf(t, sizeof t, "%d", l);
            intern(p->facet, &p->n_facet, t);
        }
    } else if (f->facet[0]) {
        if (found_facet == 0)
            return ein_err_set(err, EIN_ERR_DATA, "figure %s: no cells in %s have a '%s' binding (facet)",
                               f->name, dirs, f->facet);
        for (int i = 0; i < p->n_facet; i++)
            if (find(seen_facet, found_facet, p->facet[i]) < 0) {
                values_text(seen_facet, found_facet, found, sizeof found);
                return ein_err_set(err, EIN_ERR_DATA, "figure %s: no finished cells with %s=%s in %s (found: %s)",
                                   f->name, f->facet, p->facet[i], dirs, found);
            }
        if (p->n_facet == 0) {
            for (int i = 0; i < found_facet; i++)
                intern(p->facet, &p->n_facet, seen_facet[i]);
            sort_facets(p);
        }
    } else {
        p->n_facet = 1;
        snprintf(p->facet[0], sizeof p->facet[0], "all");
    }
    p->groups = calloc((size_t)(p->n_facet * p->n_cond), sizeof *p->groups);
    if (!p->groups)
        return ein_err_set(err, EIN_ERR_NOMEM, "out of memory");
    for (int d = 0; d < p->n_dirs; d++)
        for (int i = 0; i < p->lists[d].n; i++) {
            const ein_record *r = &p->lists[d].rec[i];
            const char *c = ein_record_binding(r, f->by, NULL);
            int ci = c && counts(r) ? find(p->cond, p->n_cond, c) : -1;
            if (ci < 0)
                continue;
            int fi = 0;
            if (f->facet[0] && !p->by_layer) {
                const char *fv = ein_record_binding(r, f->facet, NULL);
                fi = fv ? find(p->facet, p->n_facet, fv) : -1;
                if (fi < 0)
                    continue;
            }
            cellref cr = { .rec = r, .dir = d, .acc = chance_or(r->final_test_acc) };
            if (!push(group_at(p, fi, ci), cr))
                return ein_err_set(err, EIN_ERR_NOMEM, "out of memory");
        }
    int real_facets = p->by_layer ? 1 : p->n_facet;
    for (int fi = 0; fi < real_facets; fi++)
        for (int ci = 0; ci < p->n_cond; ci++) {
            group *g = group_at(p, fi, ci);
            if (g->n == 0)
                return ein_err_set(err, EIN_ERR_DATA, "figure %s: no finished cells with %s=%s and %s=%s in %s",
                                   f->name, f->by, p->cond[ci], f->facet, p->facet[fi], dirs);
            if (f->top > 0 && f->kind != EIN_FIG_SCATTER && g->n > f->top) {
                qsort(g->cells, (size_t)g->n, sizeof *g->cells, by_acc_desc);
                g->n = f->top;
            }
        }
    return EIN_OK;
}

/* ---- learning curves: epochs.jsonl --------------------------------------- */

typedef struct epoch_line {
    char id[EIN_ID_LEN + 1], run[48];
    int epoch;
    double value;
    char want[64];                     /* the JSON path of the value, "test_acc", "layers/0/var" */
} epoch_line;

static void fill_epoch(void *ctx, const char *path, const char *text, bool is_string, bool is_null)
{
    epoch_line *e = ctx;
    if (strcmp(path, "id") == 0) ein_text_copy(e->id, sizeof e->id, text);
    else if (strcmp(path, "run") == 0) ein_text_copy(e->run, sizeof e->run, text);
    else if (strcmp(path, "epoch") == 0) e->epoch = atoi(text);
    else if (strcmp(path, e->want) == 0 && !is_string && !is_null) e->value = strtod(text, NULL);
}

static void epoch_path(const ein_figure *f, char *buf, size_t cap)
{
    static const char *const layer_keys[][2] = {
        { "z_mean", "mean" }, { "z_var", "var" }, { "z_mean_sq", "mean_sq" },
        { "cos_ln_out", "cos_out" }, { "cos_ln_grad", "cos_grad" },
    };
    ein_text_copy(buf, cap, f->metric);
    for (size_t i = 0; i < sizeof layer_keys / sizeof layer_keys[0]; i++)
        if (strcmp(f->metric, layer_keys[i][0]) == 0)
            snprintf(buf, cap, "layers/%d/%s", f->layer, layer_keys[i][1]);
}

static cellref *find_cell(plot *p, int dir, const char *id, const char *run)
{
    for (int g = 0; g < p->n_facet * p->n_cond; g++)
        for (int i = 0; i < p->groups[g].n; i++) {
            cellref *c = &p->groups[g].cells[i];
            if (c->dir == dir && strcmp(c->rec->id, id) == 0 && strcmp(c->rec->run, run) == 0)
                return c;
        }
    return NULL;
}

/* One epochs file of folder d (the merged view or a shard: results.h). */
static ein_code read_epoch_file(plot *p, int d, const char *path, epoch_line *ep, ein_err *err)
{
    epoch_line e = *ep;
    FILE *in = fopen(path, "rb");
    if (!in)
        return ein_err_set(err, EIN_ERR_IO, "%s: cannot read: %s", path, strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, in)) > 0) {
        e.id[0] = e.run[0] = '\0';
        e.epoch = 0;
        e.value = NAN;
        if (line[n - 1] != '\n' || !ein_json_walk(line, (size_t)n, fill_epoch, &e) || e.epoch < 1 ||
            e.epoch > 100000)
            continue;
        cellref *c = find_cell(p, d, e.id, e.run);
        if (!c)
            continue;
        if (e.epoch > c->n_epochs) {
            double *grown = realloc(c->epoch_value, (size_t)e.epoch * sizeof *grown);
            if (!grown) {
                free(line);
                fclose(in);
                return ein_err_set(err, EIN_ERR_NOMEM, "out of memory");
            }
            for (int k = c->n_epochs; k < e.epoch; k++)
                grown[k] = NAN;
            c->epoch_value = grown;
            c->n_epochs = e.epoch;
        }
        c->epoch_value[e.epoch - 1] = e.value;   /* a line in a shard and the merged view: the same value */
    }
    free(line);
    fclose(in);
    return EIN_OK;
}

static ein_code read_epochs(plot *p, ein_err *err)
{
    epoch_line e;
    epoch_path(p->f, e.want, sizeof e.want);
    for (int d = 0; d < p->n_dirs; d++) {
        char **paths;
        int np;
        ein_code c = ein_results_files(p->dirs[d], "epochs", &paths, &np, err);
        if (c == EIN_OK && np == 0)
            c = ein_err_set(err, EIN_ERR_IO, "%s/epochs.jsonl: cannot read: %s", p->dirs[d], strerror(ENOENT));
        for (int i = 0; c == EIN_OK && i < np; i++)
            c = read_epoch_file(p, d, paths[i], &e, err);
        ein_results_files_free(paths, np);
        if (c != EIN_OK)
            return c;
    }
    return EIN_OK;
}

/* ---- data files ------------------------------------------------------------ */

/* Median, quartiles of the finite values in v (sorted in place); n kept. */
static int quartiles(double *v, int n, double *med, double *q1, double *q3)
{
    int k = 0;
    for (int i = 0; i < n; i++)
        if (isfinite(v[i]))
            v[k++] = v[i];
    if (k == 0) {
        *med = *q1 = *q3 = NAN;
        return 0;
    }
    ein_stat_sort(v, (size_t)k);
    *med = ein_stat_quantile_sorted(v, (size_t)k, 0.5);
    *q1 = ein_stat_quantile_sorted(v, (size_t)k, 0.25);
    *q3 = ein_stat_quantile_sorted(v, (size_t)k, 0.75);
    return k;
}

static void num(FILE *out, double x)
{
    if (isfinite(x))
        fprintf(out, " %.10g", x);
    else
        fputs(" NaN", out);
}

static double cell_value(const plot *p, const cellref *c, int facet)
{
    return record_metric(c->rec, p->f->metric, p->by_layer ? facet : p->f->layer);
}

/* The pairing key of a cell: every binding except the condition axis (and its fields). */
static void pair_key(const ein_record *r, const char *by, char *buf, size_t cap)
{
    size_t len = 0, bl = strlen(by);
    buf[0] = '\0';
    for (int i = 0; i < r->n_bind && len < cap; i++) {
        const char *name = r->bind[i].name;
        if (strcmp(name, by) == 0 || (strncmp(name, by, bl) == 0 && name[bl] == '.'))
            continue;
        len += (size_t)snprintf(buf + len, cap - len, "%s%s=%s", len ? "," : "", name, r->bind[i].text);
    }
}

typedef struct scatter_stats { int n, wins; double lo, hi; } scatter_stats;

static void write_scatter(plot *p, FILE *out, scatter_stats *st)
{
    st->lo = INFINITY;
    st->hi = -INFINITY;
    for (int fi = 0; fi < p->n_facet; fi++) {
        group *gx = group_at(p, p->by_layer ? 0 : fi, 0), *gy = group_at(p, p->by_layer ? 0 : fi, 1);
        st[fi + 1].n = st[fi + 1].wins = 0;
        fprintf(out, "# %s=%s: %s (x) against %s (y), one line per paired cell\n", p->f->facet[0] ? p->f->facet : "all",
                p->facet[fi], p->cond[0], p->cond[1]);
        fprintf(out, "# x y pair\n");
        for (int i = 0; i < gx->n; i++) {
            char kx[4096], ky[4096];
            pair_key(gx->cells[i].rec, p->f->by, kx, sizeof kx);
            for (int j = 0; j < gy->n; j++) {
                pair_key(gy->cells[j].rec, p->f->by, ky, sizeof ky);
                if (strcmp(kx, ky) != 0)
                    continue;
                double x = cell_value(p, &gx->cells[i], fi), y = cell_value(p, &gy->cells[j], fi);
                if (!isfinite(x) || !isfinite(y))
                    break;
                fprintf(out, "%.10g %.10g \"%s\"\n", x, y, kx);
                st[fi + 1].n++;
                st[fi + 1].wins += y > x;
                st->lo = fmin(st->lo, fmin(x, y));
                st->hi = fmax(st->hi, fmax(x, y));
                break;
            }
        }
        if (st[fi + 1].n == 0)
            fputs("NaN NaN \"none\"\n", out);    /* keeps the block, so index numbers hold */
        fputs("\n\n", out);
    }
}

/* box: one block per facet × condition, one value per line. */
static void write_box(plot *p, FILE *out)
{
    for (int fi = 0; fi < p->n_facet; fi++)
        for (int ci = 0; ci < p->n_cond; ci++) {
            group *g = group_at(p, p->by_layer ? 0 : fi, ci);
            fprintf(out, "# block %d: %s=%s, %s=%s, %d cells%s\n# %s\n", fi * p->n_cond + ci,
                    p->f->facet[0] ? p->f->facet : "all", p->facet[fi], p->f->by, p->cond[ci], g->n,
                    p->f->top ? " (top by final test accuracy)" : "", p->f->metric);
            int k = 0;
            for (int i = 0; i < g->n; i++) {
                double v = cell_value(p, &g->cells[i], fi);
                if (isfinite(v)) {
                    fprintf(out, "%.10g\n", v);
                    k++;
                }
            }
            if (k == 0)
                fputs("NaN\n", out);
            fputs("\n\n", out);
        }
}

/* curve: one block per facet × condition: epoch median q1 q3 n. */
static ein_code write_curve(plot *p, FILE *out, ein_err *err)
{
    for (int fi = 0; fi < p->n_facet; fi++)
        for (int ci = 0; ci < p->n_cond; ci++) {
            group *g = group_at(p, fi, ci);
            int epochs = 0;
            for (int i = 0; i < g->n; i++)
                if (g->cells[i].n_epochs > epochs)
                    epochs = g->cells[i].n_epochs;
            double *v = malloc((size_t)(g->n ? g->n : 1) * sizeof *v);
            if (!v)
                return ein_err_set(err, EIN_ERR_NOMEM, "out of memory");
            fprintf(out, "# block %d: %s=%s, %s=%s, %d cells\n# epoch median q1 q3 n (%s)\n",
                    fi * p->n_cond + ci, p->f->facet[0] ? p->f->facet : "all", p->facet[fi], p->f->by,
                    p->cond[ci], g->n, p->f->metric);
            for (int e = 0; e < epochs; e++) {
                for (int i = 0; i < g->n; i++)
                    v[i] = e < g->cells[i].n_epochs ? g->cells[i].epoch_value[e] : NAN;
                double med, q1, q3;
                int k = quartiles(v, g->n, &med, &q1, &q3);
                fprintf(out, "%d", e + 1);
                num(out, med);
                num(out, q1);
                num(out, q3);
                fprintf(out, " %d\n", k);
            }
            if (epochs == 0)
                fputs("NaN NaN NaN NaN 0\n", out);
            fputs("\n\n", out);
            free(v);
        }
    return EIN_OK;
}

/* sweep: one block per condition: facet value, median q1 q3 n. */
static ein_code write_sweep(plot *p, FILE *out, ein_err *err)
{
    for (int ci = 0; ci < p->n_cond; ci++) {
        fprintf(out, "# block %d: %s=%s\n# %s median q1 q3 n (%s)\n", ci, p->f->by, p->cond[ci], p->f->facet,
                p->f->metric);
        for (int fi = 0; fi < p->n_facet; fi++) {
            group *g = group_at(p, p->by_layer ? 0 : fi, ci);
            double *v = malloc((size_t)(g->n ? g->n : 1) * sizeof *v);
            if (!v)
                return ein_err_set(err, EIN_ERR_NOMEM, "out of memory");
            for (int i = 0; i < g->n; i++)
                v[i] = cell_value(p, &g->cells[i], fi);
            double med, q1, q3;
            int k = quartiles(v, g->n, &med, &q1, &q3);
            fprintf(out, "%s", numeric(p->facet[fi]) ? p->facet[fi] : "NaN");
            num(out, med);
            num(out, q1);
            num(out, q3);
            fprintf(out, " %d\n", k);
            free(v);
        }
        fputs("\n\n", out);
    }
    return EIN_OK;
}

/* ---- the gnuplot script ---------------------------------------------------- */

static const char *metric_title(const char *m)
{
    static const char *const t[][2] = {
        { "test_acc", "final test accuracy (%)" }, { "best_test_acc", "best test accuracy (%)" },
        { "train_acc", "train accuracy (%)" }, { "task_loss", "task loss" },
        { "inorm_loss", "I-Norm loss" }, { "test_loss", "test loss" },
        { "z_mean", "mean of pre-ReLU z" }, { "z_var", "variance of pre-ReLU z" },
        { "z_mean_sq", "mean of z^2" }, { "cos_ln_out", "output cosine vs LN" },
        { "cos_ln_grad", "gradient cosine vs LN" },
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (strcmp(t[i][0], m) == 0)
            return t[i][1];
    return m;
}

/* A gnuplot double-quoted string: backslash and quote escaped. */
static void gp_str(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

static void panel_title(const plot *p, FILE *out, int fi, const scatter_stats *st)
{
    fputs("set title ", out);
    char t[512];
    if (p->by_layer)
        snprintf(t, sizeof t, "hidden layer %d", atoi(p->facet[fi]) + 1);
    else if (p->f->facet[0])
        snprintf(t, sizeof t, "%s = %s", p->f->facet, p->facet[fi]);
    else
        ein_text_copy(t, sizeof t, p->f->title[0] ? p->f->title : p->f->name);
    if (st) {
        size_t len = strlen(t);
        snprintf(t + len, sizeof t - len, "%s%s above the diagonal in %d of %d", len ? ": " : "",
                 label(p, 1), st[fi + 1].wins, st[fi + 1].n);
    }
    gp_str(out, t);
    fputc('\n', out);
}

static void write_panels(plot *p, FILE *out, const char *dat, const scatter_stats *st)
{
    const ein_figure *f = p->f;
    int panels = f->kind == EIN_FIG_SWEEP ? 1 : p->n_facet;
    int cols = panels <= 4 ? panels : 4, rows = (panels + cols - 1) / cols;
    if (panels > 1) {
        fprintf(out, "  set multiplot layout %d,%d title ", rows, cols);
        gp_str(out, f->title[0] ? f->title : f->name);
        fputc('\n', out);
    }
    for (int fi = 0; fi < panels; fi++) {
        fputs("  ", out);
        if (f->kind == EIN_FIG_SWEEP) {
            fputs("set title ", out);
            gp_str(out, f->title[0] ? f->title : f->name);
            fputc('\n', out);
        } else {
            panel_title(p, out, fi, f->kind == EIN_FIG_SCATTER ? st : NULL);
        }
        switch (f->kind) {
        case EIN_FIG_SCATTER: {
            double pad = 0.03 * (st->hi - st->lo) + 1e-9;
            fprintf(out, "  set xrange [%.10g:%.10g]\n  set yrange [%.10g:%.10g]\n  set size ratio -1\n",
                    st->lo - pad, st->hi + pad, st->lo - pad, st->hi + pad);
            fputs("  set xlabel ", out);
            gp_str(out, label(p, 0));
            fputs("\n  set ylabel ", out);
            gp_str(out, label(p, 1));
            fprintf(out, "\n  plot '%s' index %d using 1:2 with points pt 7 ps 0.8 lc rgb '#1f77b4' notitle, \\\n"
                    "       x with lines dt 2 lc rgb '#555555' notitle\n", dat, fi);
            break;
        }
        case EIN_FIG_BOX:
            fprintf(out, "  set xrange [0.3:%d.7]\n  set ylabel ", p->n_cond);
            gp_str(out, metric_title(f->metric));
            fputs("\n  set xtics (", out);
            for (int c = 0; c < p->n_cond; c++) {
                fputs(c ? ", " : "", out);
                gp_str(out, label(p, c));
                fprintf(out, " %d", c + 1);
            }
            fputs(")\n", out);
            fprintf(out, "  plot for [c=0:%d] '%s' index (%d + c) using (c + 1):1 with boxplot lc c + 1 notitle\n",
                    p->n_cond - 1, dat, fi * p->n_cond);
            break;
        case EIN_FIG_CURVE:
            fputs("  set xlabel \"epoch\"\n  set ylabel ", out);
            gp_str(out, strcmp(f->metric, "test_acc") ? metric_title(f->metric) : "test accuracy (%)");
            fprintf(out, "\n  set key bottom right\n"
                    "  plot for [c=0:%d] '%s' index (%d + c) using 1:3:4 with filledcurves "
                    "fs transparent solid 0.2 noborder lc c + 1 notitle, \\\n"
                    "       for [c=0:%d] '%s' index (%d + c) using 1:2 with lines lw 2 lc c + 1 title word(labels, c + 1)\n",
                    p->n_cond - 1, dat, fi * p->n_cond, p->n_cond - 1, dat, fi * p->n_cond);
            break;
        case EIN_FIG_SWEEP:
            fputs("  set xlabel ", out);
            gp_str(out, f->facet);
            fputs("\n  set ylabel ", out);
            gp_str(out, metric_title(f->metric));
            fprintf(out, "\n  set key bottom left\n"
                    "  plot for [c=0:%d] '%s' index c using 1:2:3:4 with yerrorlines lw 2 pt 7 lc c + 1 "
                    "title word(labels, c + 1)\n", p->n_cond - 1, dat);
            break;
        default:
            break;
        }
        fputs("  unset title\n", out);
    }
    if (panels > 1)
        fputs("  unset multiplot\n", out);
}

static void write_script(plot *p, FILE *out, const scatter_stats *st)
{
    const ein_figure *f = p->f;
    char dat[EIN_NAME_MAX + 8];
    snprintf(dat, sizeof dat, "%s.dat", f->name);
    fprintf(out, "# %s.gp — drawn by `einrun plot` from %s; redraw with: gnuplot %s.gp\n", f->name, dat, f->name);
    fprintf(out, "# kind %s, metric %s, conditions by %s, facet %s%s\n", ein_figure_kind_name(f->kind), f->metric,
            f->by, f->facet[0] ? f->facet : "none", f->top ? ", top cells by final test accuracy" : "");
    char dirs[512];
    dirs_text(p, dirs, sizeof dirs);
    fprintf(out, "# results: %s\n", dirs);
    fprintf(out, "W = %d\nH = %d\nlabels = \"", f->width, f->height);
    for (int c = 0; c < p->n_cond; c++) {      /* word() splits on spaces: keep a label one word */
        fputs(c ? " " : "", out);
        for (const char *s = label(p, c); *s; s++)
            fputc(*s == ' ' || *s == '"' ? '_' : *s, out);
    }
    fputs("\"\nformats = \"", out);
    const char *names[] = { "png", "svg", "pdf" };
    int k = 0;
    for (int i = 0; i < 3; i++)
        if (f->formats & (1u << i))
            fprintf(out, "%s%s", k++ ? " " : "", names[i]);
    fprintf(out, "\"\nset encoding utf8\nset grid\nset style fill solid 0.35 border -1\n"
            "set style boxplot outliers pointtype 7\nset style data lines\n"
            "do for [fmt in formats] {\n"
            "  if (fmt eq \"png\") { set terminal pngcairo size W,H noenhanced font \"sans,10\" }\n"
            "  if (fmt eq \"svg\") { set terminal svg size W,H noenhanced font \"sans,10\" background rgb \"white\" }\n"
            "  if (fmt eq \"pdf\") { set terminal pdfcairo size (W/100.0),(H/100.0) noenhanced font \"sans,7\" }\n"
            "  set output \"%s.\".fmt\n", f->name);
    write_panels(p, out, dat, st);
    fputs("  set output\n}\n", out);
}

/* ---- running gnuplot -------------------------------------------------------- */

static ein_code run_gnuplot(const char *dir, const char *name, ein_err *err)
{
    char script[EIN_NAME_MAX + 8], log[EIN_PATH_MAX + EIN_NAME_MAX + 16];
    snprintf(script, sizeof script, "%s.gp", name);
    snprintf(log, sizeof log, "%s/%s.gnuplot.log", dir, name);
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return ein_err_set(err, EIN_ERR_IO, "cannot start gnuplot: %s", strerror(errno));
    if (pid == 0) {
        FILE *lf = fopen(log, "w");
        if (chdir(dir) != 0 || !lf)
            _exit(126);
        dup2(fileno(lf), 1);
        dup2(fileno(lf), 2);
        execlp("gnuplot", "gnuplot", script, (char *)NULL);
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return ein_err_set(err, EIN_ERR_IO, "gnuplot: %s", strerror(errno));
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
        return ein_err_set(err, EIN_ERR_IO, "gnuplot not found on PATH (Debian: apt-get install gnuplot-nox); "
                           "the data and the script are in %s (%s.dat, %s.gp)", dir, name, name);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        char first[256] = "";
        FILE *lf = fopen(log, "r");
        if (lf) {
            char line[256];
            while (fgets(line, sizeof line, lf))
                if (strspn(line, " \t\n") != strlen(line)) {
                    ein_text_copy(first, sizeof first, line);
                    first[strcspn(first, "\n")] = '\0';
                }
            fclose(lf);
        }
        return ein_err_set(err, EIN_ERR_IO, "gnuplot failed on %s/%s (see %s): %s", dir, script, log, first);
    }
    unlink(log);
    return EIN_OK;
}

/* ---- the whole figure ------------------------------------------------------- */

static ein_code mkdirs(const char *dir, ein_err *err)
{
    char buf[EIN_PATH_MAX];
    ein_text_copy(buf, sizeof buf, dir);
    for (char *s = buf + 1;; s++) {
        bool end = *s == '\0';
        if (*s == '/' || end) {
            *s = '\0';
            if (mkdir(buf, 0777) != 0 && errno != EEXIST)
                return ein_err_set(err, EIN_ERR_IO, "%s: cannot create: %s", buf, strerror(errno));
            if (end)
                break;
            *s = '/';
        }
    }
    return EIN_OK;
}

static ein_code write_files(plot *p, const char *out_dir, FILE *log, ein_err *err)
{
    const ein_figure *f = p->f;
    char path[EIN_PATH_MAX + EIN_NAME_MAX + 8];
    snprintf(path, sizeof path, "%s/%s.dat", out_dir, f->name);
    FILE *out = fopen(path, "w");
    if (!out)
        return ein_err_set(err, EIN_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
    fprintf(out, "# %s.dat — the numbers of figure %s (einrun plot); blocks are gnuplot indexes\n",
            f->name, f->name);
    scatter_stats st[EIN_FIG_MAX_LIST + 1];
    memset(st, 0, sizeof st);
    ein_code rc = EIN_OK;
    switch (f->kind) {
    case EIN_FIG_SCATTER: write_scatter(p, out, st); break;
    case EIN_FIG_BOX: write_box(p, out); break;
    case EIN_FIG_CURVE: rc = write_curve(p, out, err); break;
    case EIN_FIG_SWEEP: rc = write_sweep(p, out, err); break;
    default: break;
    }
    if (fclose(out) != 0 && rc == EIN_OK)
        rc = ein_err_set(err, EIN_ERR_IO, "%s: write failed", path);
    if (rc != EIN_OK)
        return rc;
    if (f->kind == EIN_FIG_SCATTER && !isfinite(st->lo))
        return ein_err_set(err, EIN_ERR_DATA, "figure %s: no cell with %s=%s pairs with one with %s=%s "
                           "(same bindings otherwise)", f->name, f->by, p->cond[0], f->by, p->cond[1]);
    if (log)
        fprintf(log, "%s\n", path);
    snprintf(path, sizeof path, "%s/%s.gp", out_dir, f->name);
    out = fopen(path, "w");
    if (!out)
        return ein_err_set(err, EIN_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
    write_script(p, out, st);
    if (fclose(out) != 0)
        return ein_err_set(err, EIN_ERR_IO, "%s: write failed", path);
    if (log)
        fprintf(log, "%s\n", path);
    return EIN_OK;
}

ein_code ein_figure_draw(const ein_figure *f, const char *const *dirs, int n_dirs, const char *out_dir,
                         FILE *log, ein_err *err)
{
    char msg[512];
    if (!ein_figure_validate(f, msg, sizeof msg))
        return ein_err_set(err, EIN_ERR_USAGE, "%s", msg);
    plot p;
    memset(&p, 0, sizeof p);
    p.f = f;
    if (f->n_results) {
        for (int i = 0; i < f->n_results; i++)
            p.dirs[p.n_dirs++] = f->results[i];
    } else {
        for (int i = 0; i < n_dirs && i < EIN_FIG_MAX_RESULTS; i++)
            p.dirs[p.n_dirs++] = dirs[i];
    }
    if (p.n_dirs == 0)
        return ein_err_set(err, EIN_ERR_USAGE, "figure %s: no results folder", f->name);
    ein_code rc = EIN_OK;
    for (int d = 0; d < p.n_dirs && rc == EIN_OK; d++) {
        struct stat sb;
        if (stat(p.dirs[d], &sb) != 0 || !S_ISDIR(sb.st_mode))
            rc = ein_err_set(err, EIN_ERR_IO, "figure %s: results folder %s: %s", f->name, p.dirs[d],
                             strerror(errno ? errno : ENOTDIR));
        else
            rc = ein_results_read(p.dirs[d], &p.lists[d], err);
    }
    if (rc == EIN_OK)
        rc = select_cells(&p, err);
    if (rc == EIN_OK && f->kind == EIN_FIG_CURVE)
        rc = read_epochs(&p, err);
    if (rc == EIN_OK)
        rc = mkdirs(out_dir, err);
    if (rc == EIN_OK)
        rc = write_files(&p, out_dir, log, err);
    if (rc == EIN_OK)
        rc = run_gnuplot(out_dir, f->name, err);
    if (rc == EIN_OK && log) {
        const char *names[] = { "png", "svg", "pdf" };
        for (int i = 0; i < 3; i++)
            if (f->formats & (1u << i))
                fprintf(log, "%s/%s.%s\n", out_dir, f->name, names[i]);
    }
    for (int g = 0; p.groups && g < p.n_facet * p.n_cond; g++) {
        for (int i = 0; i < p.groups[g].n; i++)
            free(p.groups[g].cells[i].epoch_value);
        free(p.groups[g].cells);
    }
    free(p.groups);
    for (int d = 0; d < p.n_dirs; d++)
        ein_record_list_free(&p.lists[d]);
    return rc;
}
