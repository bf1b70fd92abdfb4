/* summary.c — see summary.h. */
#include "ein/summary.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "ein/hash.h"
#include "ein/numfmt.h"
#include "ein/stats.h"

#define CHANCE_ACC 10.0   /* 100 / EIN_DATA_CLASSES: a diverged cell without an accuracy */

/* ------------------------------------------------------------ keys -- */

/* The value of key `name` for one record: a binding, the folder, the
 * experiment, or a recorded setting; NULL when the record has none. */
static const char *key_value(const ein_record *r, const char *name)
{
    const char *v = ein_record_binding(r, name, NULL);
    if (v)
        return v;
    if (strcmp(name, "folder") == 0)
        return r->folder;
    if (strcmp(name, "experiment") == 0)
        return r->experiment;
    char type;
    v = ein_record_setting(r, name, &type);
    return v && type != 'z' ? v : NULL;
}

typedef struct keybuf {
    char *p;
    size_t len, cap;
} keybuf;

static bool kb_put(keybuf *b, const char *s, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (b->len + n > cap)
            cap *= 2;
        char *grown = realloc(b->p, cap);
        if (!grown)
            return false;
        b->p = grown;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    return true;
}

/* A record's key: its values of `keys`, each as \x01 (unbound) or \x02 and
 * the value, with \x1f after each; NUL-terminated. */
static bool put_key(keybuf *b, const ein_record *r, char (*keys)[EIN_NAME_MAX], int nk)
{
    for (int k = 0; k < nk; k++) {
        const char *v = key_value(r, keys[k]);
        if (!kb_put(b, v ? "\x02" : "\x01", 1) || (v && !kb_put(b, v, strlen(v))) || !kb_put(b, "\x1f", 1))
            return false;
    }
    return kb_put(b, "", 1);
}

/* Records grouped by their values of some keys: first[i] is the first
 * record with record i's values.  Kept while the keys stay the same, so the
 * questions about many candidates (splits) build the keys once. */
typedef struct groups {
    char (*keys)[EIN_NAME_MAX];
    int nk;
    int *first;                 /* NULL: not built */
} groups;

static void groups_free(groups *g)
{
    free(g->first);
    g->first = NULL;
}

/* Group by `keys` (unless g holds that grouping already): each key's first
 * record is found by hash, so a big folder stays linear.  False when out of
 * memory. */
static bool group_by(const ein_record_list *l, groups *g, char (*keys)[EIN_NAME_MAX], int nk)
{
    if (g->first && g->keys == keys && g->nk == nk)
        return true;
    groups_free(g);
    keybuf b = { 0 };
    size_t *at = malloc((size_t)l->n * sizeof *at);   /* where record i's key starts */
    int *first = malloc((size_t)l->n * sizeof *first);
    bool ok = at && first;
    for (int i = 0; ok && i < l->n; i++) {
        at[i] = b.len;
        ok = put_key(&b, &l->rec[i], keys, nk);
    }
    ein_name_index seen = { 0 };   /* key -> its first record */
    for (int i = 0; ok && i < l->n; i++) {
        const char *key = b.p + at[i];
        first[i] = ein_index_get(&seen, key);
        if (first[i] < 0)
            ok = ein_index_put(&seen, key, first[i] = i);
    }
    ein_index_free(&seen);
    free(b.p);
    free(at);
    if (!ok) {
        free(first);
        return false;
    }
    *g = (groups){ keys, nk, first };
    return true;
}

/* Does `cand` take two values among records that agree on every key?
 * 1 yes, 0 no, -1 out of memory.  The first pair that differs answers. */
static int splits(const ein_record_list *l, groups *g, char (*keys)[EIN_NAME_MAX], int nk,
                  const char *cand)
{
    if (l->n < 2)
        return 0;
    const char **v = group_by(l, g, keys, nk) ? malloc((size_t)l->n * sizeof *v) : NULL;
    if (!v)
        return -1;
    int rc = 0;
    for (int i = 0; i < l->n && rc == 0; i++) {     /* first[i] <= i: its value is known */
        v[i] = key_value(&l->rec[i], cand);
        const char *was = v[g->first[i]];
        rc = (was == NULL) != (v[i] == NULL) || (was && strcmp(was, v[i]) != 0);
    }
    free(v);
    return rc;
}

static bool distinct_values(const ein_record_list *l, const char *name)
{
    groups g = { 0 };
    int rc = splits(l, &g, NULL, 0, name);
    groups_free(&g);
    return rc != 0;
}

#define MAX_NAMES 128

/* What a binding is (grid.c binds a configuration row as its index plus one
 * "index.field" binding per field). */
enum { AXIS = 'a', ROW = 'r', FIELD = 'f' };

static bool integer_text(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

/* Binding names (union, first-seen order) and their kinds: ROW, the row
 * index of a sample/table axis (integer values, and some binding is
 * "name.field"); FIELD, "row.field" of a ROW; AXIS, anything else — a
 * dotted axis such as the setting sweep "train.lr" is an axis. */
static int binding_names(const ein_record_list *l, char (*names)[EIN_NAME_MAX], char *kind, int max)
{
    int n = 0;
    bool integer[MAX_NAMES];
    for (int i = 0; i < l->n; i++)
        for (int k = 0; k < l->rec[i].n_bind; k++) {
            const char *name = l->rec[i].bind[k].name;
            int j = 0;
            while (j < n && strcmp(names[j], name) != 0)
                j++;
            if (j == n && n < max) {
                snprintf(names[n], EIN_NAME_MAX, "%s", name);
                integer[n++] = true;
            }
            if (j < n)
                integer[j] = integer[j] && integer_text(l->rec[i].bind[k].text);
        }
    for (int j = 0; j < n; j++) {
        size_t len = strlen(names[j]);
        bool parent = false;
        for (int k = 0; k < n && !parent; k++)
            parent = strncmp(names[k], names[j], len) == 0 && names[k][len] == '.';
        kind[j] = parent && integer[j] ? ROW : AXIS;
    }
    for (int j = 0; j < n; j++) {
        const char *dot = strrchr(names[j], '.');
        for (int k = 0; dot && k < n && kind[j] == AXIS; k++)
            if (kind[k] == ROW && strncmp(names[k], names[j], (size_t)(dot - names[j])) == 0 &&
                names[k][dot - names[j]] == '\0')
                kind[j] = FIELD;
    }
    return n;
}

static bool is_seed(const char *path)
{
    const char *dot = strrchr(path, '.');
    return strcmp(dot ? dot + 1 : path, "seed") == 0;
}

static bool has_name(char (*names)[EIN_NAME_MAX], int n, const char *name)
{
    for (int j = 0; j < n; j++)
        if (strcmp(names[j], name) == 0)
            return true;
    return false;
}

void ein_summary_default_by(const ein_record_list *l, char *buf, size_t cap)
{
    buf[0] = '\0';
    char (*names)[EIN_NAME_MAX] = calloc(MAX_NAMES, sizeof *names);
    char (*keys)[EIN_NAME_MAX] = calloc(EIN_SUMMARY_MAX_BY, sizeof *keys);
    char (*with_row)[EIN_NAME_MAX] = calloc(EIN_SUMMARY_MAX_BY + 1, sizeof *with_row);
    char kind[MAX_NAMES];
    const char **set = NULL;
    int nset = names && keys && with_row ? ein_records_differing_settings(l, &set) : -1;
    if (nset < 0) {
        free(names);
        free(keys);
        free(with_row);
        return;
    }
    int nb = binding_names(l, names, kind, MAX_NAMES), nk = 0;
    groups by_keys = { 0 }, by_row = { 0 };
    for (int j = 0; j < nb && nk < EIN_SUMMARY_MAX_BY; j++)
        if (kind[j] == AXIS && !is_seed(names[j]))
            snprintf(keys[nk++], EIN_NAME_MAX, "%s", names[j]);
    if (nk < EIN_SUMMARY_MAX_BY && !has_name(names, nb, "folder") && distinct_values(l, "folder"))
        snprintf(keys[nk++], EIN_NAME_MAX, "%s", "folder");
    if (nk < EIN_SUMMARY_MAX_BY && !has_name(names, nb, "experiment") &&
        splits(l, &by_keys, keys, nk, "experiment") == 1)
        snprintf(keys[nk++], EIN_NAME_MAX, "%s", "experiment");
    for (int s = 0; s < nset && nk < EIN_SUMMARY_MAX_BY; s++) {
        if (is_seed(set[s]) || has_name(names, nb, set[s]) || strlen(set[s]) >= EIN_NAME_MAX)
            continue;
        /* a setting that follows a pooled sample/table axis, given the keys
         * chosen so far, is pooled with it: ni = floor(0.1 ne) follows the
         * paper's configuration row within each variant (E-only layers have
         * none), and must not split the groups into one cell each */
        bool follows = false;
        for (int j = 0; j < nb && !follows; j++)
            if (kind[j] != AXIS) {
                memcpy(with_row, keys, (size_t)nk * sizeof *keys);
                snprintf(with_row[nk], EIN_NAME_MAX, "%s", names[j]);
                groups_free(&by_row);     /* other keys each time: no cached grouping */
                follows = splits(l, &by_row, with_row, nk + 1, set[s]) == 0;
            }
        if (!follows && splits(l, &by_keys, keys, nk, set[s]) == 1)
            snprintf(keys[nk++], EIN_NAME_MAX, "%s", set[s]);
    }
    size_t n = 0;
    for (int k = 0; k < nk; k++) {
        int w = snprintf(buf + n, cap - n, "%s%s", n ? "," : "", keys[k]);
        if (w < 0 || (size_t)w >= cap - n) {
            buf[n] = '\0';
            break;
        }
        n += (size_t)w;
    }
    groups_free(&by_keys);
    groups_free(&by_row);
    free(set);
    free(names);
    free(keys);
    free(with_row);
}

static int split_axes(const char *by, char out[][EIN_NAME_MAX], int max, ein_err *err)
{
    int n = 0;
    const char *p = by ? by : "";
    while (*p) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == 0 || len >= EIN_NAME_MAX) {
            ein_err_set(err, EIN_ERR_USAGE, "--by: bad axis list '%s'", by);
            return -1;
        }
        if (n == max) {
            ein_err_set(err, EIN_ERR_USAGE, "--by: at most %d axes", max);
            return -1;
        }
        snprintf(out[n++], EIN_NAME_MAX, "%.*s", (int)len, p);
        p += len + (e ? 1 : 0);
    }
    return n;
}

/* ---------------------------------------------------------- metrics -- */

typedef struct metric {
    char path[EIN_NAME_MAX + 16];   /* the leaf ("final/layers/0/var"), or "" for a record field */
    char name[EIN_NAME_MAX];        /* canonical: "final.layers.0.var", "seconds", "epochs" */
    bool chance;                    /* a test accuracy: a diverged cell without one is at chance */
} metric;

/* "test_acc", "final_test_acc", "final.test_acc" → final/test_acc;
 * "best_test_acc", "best.test_acc" → best/test_acc; "best_epoch" → best/epoch;
 * "seconds", "epochs" → the record's own (whole cell). */
static void metric_resolve(const char *name, metric *m)
{
    memset(m, 0, sizeof *m);
    if (strcmp(name, "seconds") == 0 || strcmp(name, "epochs") == 0) {
        snprintf(m->name, sizeof m->name, "%s", name);
        return;
    }
    const char *stage = "final", *rest = name;
    if (strncmp(name, "final.", 6) == 0 || strncmp(name, "final_", 6) == 0)
        rest = name + 6;
    else if (strncmp(name, "best.", 5) == 0 || strncmp(name, "best_", 5) == 0) {
        stage = "best";
        rest = name + 5;
    }
    snprintf(m->name, sizeof m->name, "%s.%s", stage, rest);
    snprintf(m->path, sizeof m->path, "%s/%s", stage, rest);
    for (char *p = m->path; *p; p++)
        if (*p == '.')
            *p = '/';
    m->chance = strcmp(rest, "test_acc") == 0;
}

/* The metric of one cell.  1: a value; 0: not a result (failed,
 * interrupted); -1: a result that did not measure it (null or absent). */
static int metric_value(const ein_record *r, const metric *m, double *x)
{
    bool ok = strcmp(r->status, "ok") == 0, diverged = strcmp(r->status, "diverged") == 0;
    if (!ok && !diverged)
        return 0;
    double v = NAN;
    if (!m->path[0]) {
        v = strcmp(m->name, "seconds") == 0 ? r->seconds : (double)r->epochs;
    } else {
        char type = 0;
        const char *t = ein_record_leaf_at(r, m->path, &type);
        if (t && type == 'n')
            v = strtod(t, NULL);
    }
    if (!isfinite(v) && diverged && m->chance)
        v = CHANCE_ACC;
    if (!isfinite(v))
        return -1;
    *x = v;
    return 1;
}

/* A usage error naming what the cells did record. */
static ein_code metric_unknown(const ein_record_list *l, const char *given, ein_err *err)
{
    char list[768] = "seconds, epochs";
    size_t n = strlen(list);
    for (int i = 0; i < l->n; i++) {
        ein_record_leaf leaf;
        bool any = false;
        for (size_t pos = 0; ein_record_next_leaf(&l->rec[i], &pos, &leaf);) {
            if (strncmp(leaf.path, "final/", 6) != 0 || strcmp(leaf.path, "final/epoch") == 0 ||
                strcmp(leaf.path, "final/seconds") == 0)
                continue;
            any = true;
            char name[EIN_NAME_MAX];
            snprintf(name, sizeof name, "%s", leaf.path + 6);
            for (char *p = name; *p; p++)
                if (*p == '/')
                    *p = '.';
            int w = snprintf(list + n, sizeof list - n, ", %s", name);
            if (w > 0 && (size_t)w < sizeof list - n)
                n += (size_t)w;
        }
        if (any)
            break;
    }
    return ein_err_set(err, EIN_ERR_USAGE,
                       "--metric: no cell recorded a metric named '%s' (recorded: %s; 'best.' before a "
                       "name: at the epoch of best test accuracy)", given, list);
}

/* Resolve `name` and check that some cell measured it. */
static ein_code metric_check(const ein_record_list *l, const char *name, metric *m, ein_err *err)
{
    metric_resolve(name ? name : "test_acc", m);
    if (l->n == 0)
        return EIN_OK;
    bool recorded = !m->path[0], measured = false;
    int results = 0;
    for (int i = 0; i < l->n; i++) {
        double x;
        int v = metric_value(&l->rec[i], m, &x);
        results += v != 0;
        measured = measured || v == 1;
        recorded = recorded || ein_record_leaf_at(&l->rec[i], m->path, NULL) != NULL;
    }
    if (measured || results == 0)
        return EIN_OK;
    if (!recorded)
        return metric_unknown(l, name, err);
    return ein_err_set(err, EIN_ERR_USAGE,
                       "--metric %s: not measured in any of the %d finished cell%s (null in "
                       "cells.jsonl)",
                       m->name, results, results == 1 ? "" : "s");
}

/* ------------------------------------------------------------ reading -- */

ein_code ein_summary_read(const char *const *dirs, int n, bool write_csv, ein_record_list *out,
                          ein_err *err)
{
    memset(out, 0, sizeof *out);
    for (int d = 0; d < n; d++) {
        ein_record_list one;
        ein_code c = ein_results_read(dirs[d], &one, err);
        if (c == EIN_OK && write_csv && (c = ein_results_write_summary_csv_of(dirs[d], &one, err)) != EIN_OK)
            ein_record_list_free(&one);
        else if (c == EIN_OK && (c = ein_record_list_append(out, &one, err)) != EIN_OK)
            ein_record_list_free(&one);
        if (c != EIN_OK) {
            ein_record_list_free(out);
            return c;
        }
    }
    return EIN_OK;
}

void ein_summary_free(ein_summary *s)
{
    for (int i = 0; i < s->n; i++)
        free(s->groups[i].acc);
    free(s->groups);
    memset(s, 0, sizeof *s);
}

/* s->pooled: the keys not grouped by that vary inside some group — the
 * axes (a sample/table field only when its row index is grouped by), the
 * folder and experiment, and the differing settings. */
static ein_code find_pooled(const ein_record_list *l, ein_summary *s)
{
    char (*names)[EIN_NAME_MAX] = calloc(MAX_NAMES + 2, sizeof *names);
    char kind[MAX_NAMES];
    const char **set = NULL;
    int nset = names ? ein_records_differing_settings(l, &set) : -1;
    if (nset < 0) {
        free(names);
        return EIN_ERR_NOMEM;
    }
    int nb = binding_names(l, names, kind, MAX_NAMES), nc = nb;
    snprintf(names[nc++], EIN_NAME_MAX, "folder");
    snprintf(names[nc++], EIN_NAME_MAX, "experiment");
    size_t n = 0;
    s->pooled[0] = '\0';
    int rc = 0;
    groups by = { 0 };
    for (int c = 0; c < nc + nset && rc >= 0; c++) {
        const char *name = c < nc ? names[c] : set[c - nc];
        if (has_name(s->by, s->n_by, name) || (c >= nb && has_name(names, nb, name)))
            continue;
        const char *dot = c < nb && kind[c] == FIELD ? strrchr(name, '.') : NULL;
        if (dot) {          /* a field: reported with its row index unless that is grouped */
            char parent[EIN_NAME_MAX];
            snprintf(parent, sizeof parent, "%.*s", (int)(dot - name), name);
            if (!has_name(s->by, s->n_by, parent) && has_name(names, nb, parent))
                continue;
        }
        if ((rc = splits(l, &by, s->by, s->n_by, name)) == 1) {
            int w = snprintf(s->pooled + n, sizeof s->pooled - n, "%s%s", n ? ", " : "", name);
            if (w < 0 || (size_t)w >= sizeof s->pooled - n) {
                snprintf(s->pooled + (n > sizeof s->pooled - 6 ? sizeof s->pooled - 6 : n), 6, ", ...");
                break;
            }
            n += (size_t)w;
        }
    }
    groups_free(&by);
    free(set);
    free(names);
    return rc < 0 ? EIN_ERR_NOMEM : EIN_OK;
}

ein_code ein_summary_compute(const ein_record_list *l, const char *by, const char *metric_name,
                             int top, ein_summary *s, ein_err *err)
{
    memset(s, 0, sizeof *s);
    s->top = top > 0 ? top : 10;
    s->n_by = split_axes(by, s->by, EIN_SUMMARY_MAX_BY, err);
    if (s->n_by < 0)
        return EIN_ERR_USAGE;
    for (int a = 0; a < s->n_by; a++) {
        bool found = false;
        for (int i = 0; i < l->n && !found; i++)
            found = key_value(&l->rec[i], s->by[a]) != NULL;
        if (!found && l->n > 0)
            return ein_err_set(err, EIN_ERR_USAGE, "--by: no cell has an axis or setting named '%s'",
                               s->by[a]);
    }
    metric m;
    ein_code c = metric_check(l, metric_name, &m, err);
    if (c != EIN_OK)
        return c;
    snprintf(s->metric, sizeof s->metric, "%s", m.name);
    s->groups = calloc((size_t)(l->n > 0 ? l->n : 1), sizeof *s->groups);
    if (!s->groups || find_pooled(l, s) != EIN_OK) {
        ein_summary_free(s);
        return ein_err_set(err, EIN_ERR_NOMEM, "out of memory");
    }
    for (int i = 0; i < l->n; i++) {
        const ein_record *r = &l->rec[i];
        ein_summary_group key;
        for (int a = 0; a < s->n_by; a++) {
            const char *v = key_value(r, s->by[a]);
            snprintf(key.value[a], EIN_VALUE_TEXT_MAX, "%.*s", EIN_VALUE_TEXT_MAX - 1, v ? v : "NA");
        }
        int g = 0;
        for (; g < s->n; g++) {
            bool same = true;
            for (int a = 0; a < s->n_by && same; a++)
                same = strcmp(s->groups[g].value[a], key.value[a]) == 0;
            if (same)
                break;
        }
        ein_summary_group *grp = &s->groups[g];
        if (g == s->n) {
            s->n++;
            memcpy(grp->value, key.value, sizeof key.value);
            grp->acc = malloc((size_t)l->n * sizeof *grp->acc);
            if (!grp->acc) {
                ein_summary_free(s);
                return ein_err_set(err, EIN_ERR_NOMEM, "out of memory");
            }
        }
        double x;
        int v = metric_value(r, &m, &x);
        if (v == 1)
            grp->acc[grp->n++] = x;
        else
            grp->missing++;
        grp->unmeasured += v < 0;
        if (strcmp(r->status, "diverged") == 0)
            grp->diverged++;
    }
    for (int g = 0; g < s->n; g++) {
        ein_summary_group *grp = &s->groups[g];
        size_t n = (size_t)grp->n;
        ein_stat_sort(grp->acc, n);
        grp->mean = ein_stat_mean(grp->acc, n);
        grp->sd = ein_stat_sd(grp->acc, n);
        grp->median = ein_stat_quantile_sorted(grp->acc, n, 0.5);
        grp->q1 = ein_stat_quantile_sorted(grp->acc, n, 0.25);
        grp->q3 = ein_stat_quantile_sorted(grp->acc, n, 0.75);
        grp->iqr = grp->q3 - grp->q1;
        ein_stat_topk(grp->acc, n, (size_t)s->top, &grp->top_median, &grp->top_sd);
    }
    return EIN_OK;
}

/* Accuracies (percent) with two decimals, other metrics (losses, moments,
 * cosines) with four significant digits. */
static void fmt(char *buf, size_t cap, double x, bool percent)
{
    if (!isfinite(x))
        snprintf(buf, cap, "NA");
    else if (percent)
        snprintf(buf, cap, "%.2f", x);
    else
        snprintf(buf, cap, "%.4g", x);
}

static void fmt_pm(char *buf, size_t cap, double m, double sd, bool percent)
{
    char a[32], b[32];
    fmt(a, sizeof a, m, percent);
    fmt(b, sizeof b, sd, percent);
    if (isfinite(sd))
        snprintf(buf, cap, "%s ± %s", a, b);
    else
        snprintf(buf, cap, "%s", a);
}

static bool is_percent(const char *metric)
{
    size_t n = strlen(metric);
    return n >= 4 && strcmp(metric + n - 4, "_acc") == 0;
}

/* Display width of UTF-8 text (± is two bytes, one column). */
static int width(const char *s)
{
    int w = 0;
    for (; *s; s++)
        w += ((unsigned char)*s & 0xc0) != 0x80;
    return w;
}

void ein_summary_print(const ein_summary *s, FILE *out)
{
    enum { NCOL_FIXED = 7 };
    int ncol = s->n_by + NCOL_FIXED;
    char topname[32];
    snprintf(topname, sizeof topname, "top-%d median", s->top);
    const char *fixed[NCOL_FIXED] = { "n", "mean ± sd", "median", "IQR", topname, "diverged",
                                      "missing" };
    int rows = s->n + 1;
    char (*cell)[EIN_VALUE_TEXT_MAX] = calloc((size_t)(rows * ncol), sizeof *cell);
    int *w = calloc((size_t)ncol, sizeof *w);
    if (!cell || !w) {
        free(cell);
        free(w);
        return;
    }
#define CELL(r, c) cell[(r) * ncol + (c)]
    for (int a = 0; a < s->n_by; a++)
        snprintf(CELL(0, a), EIN_VALUE_TEXT_MAX, "%s", s->by[a]);
    for (int c = 0; c < NCOL_FIXED; c++)
        snprintf(CELL(0, s->n_by + c), EIN_VALUE_TEXT_MAX, "%s", fixed[c]);
    for (int g = 0; g < s->n; g++) {
        const ein_summary_group *grp = &s->groups[g];
        int r = g + 1, c = s->n_by;
        for (int a = 0; a < s->n_by; a++)
            snprintf(CELL(r, a), EIN_VALUE_TEXT_MAX, "%s", grp->value[a]);
        snprintf(CELL(r, c), EIN_VALUE_TEXT_MAX, "%d", grp->n);
        bool pct = is_percent(s->metric);
        fmt_pm(CELL(r, c + 1), EIN_VALUE_TEXT_MAX, grp->mean, grp->sd, pct);
        fmt(CELL(r, c + 2), EIN_VALUE_TEXT_MAX, grp->median, pct);
        fmt(CELL(r, c + 3), EIN_VALUE_TEXT_MAX, grp->iqr, pct);
        fmt_pm(CELL(r, c + 4), EIN_VALUE_TEXT_MAX, grp->top_median, grp->top_sd, pct);
        snprintf(CELL(r, c + 5), EIN_VALUE_TEXT_MAX, "%d", grp->diverged);
        snprintf(CELL(r, c + 6), EIN_VALUE_TEXT_MAX, "%d", grp->missing);
    }
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < ncol; c++)
            if (width(CELL(r, c)) > w[c])
                w[c] = width(CELL(r, c));
    for (int r = 0; r < rows; r++) {
        for (int c = 0; c < ncol; c++) {
            int pad = w[c] - width(CELL(r, c));
            bool left = c < s->n_by;      /* axis values left, numbers right */
            if (c)
                fputs("  ", out);
            if (!left)
                fprintf(out, "%*s", pad, "");
            fputs(CELL(r, c), out);
            if (left && c + 1 < ncol)
                fprintf(out, "%*s", pad, "");
        }
        fputc('\n', out);
    }
#undef CELL
    free(cell);
    free(w);
    int unmeasured = 0;
    for (int g = 0; g < s->n; g++)
        unmeasured += s->groups[g].unmeasured;
    fprintf(out, "metric: %s", s->metric);
    if (unmeasured)
        fprintf(out, " (not measured in %d finished cell%s, counted as missing)", unmeasured,
                unmeasured == 1 ? "" : "s");
    fprintf(out, "\npooled over: %s\n", s->pooled[0] ? s->pooled : "nothing");
}

static void csv_num(FILE *f, double x)
{
    if (!isfinite(x)) {
        fputs(",NA", f);
        return;
    }
    char t[EIN_NUM_TEXT_MAX];
    ein_num_text(x, t);
    fprintf(f, ",%s", t);
}

ein_code ein_summary_write_csv(const ein_summary *s, const char *dir, char *path_out, ein_err *err)
{
    char name[512] = "summary_by_";
    size_t n = strlen(name);
    for (int a = 0; a < s->n_by; a++)
        for (const char *p = s->by[a]; *p && n + 2 < sizeof name - 8; p++) {
            if (p == s->by[a] && a)
                name[n++] = '_';
            name[n++] = (*p == '.' || *p == '/') ? '-' : *p;
        }
    if (s->n_by == 0) {
        memcpy(name + n, "all", 3);
        n += 3;
    }
    memcpy(name + n, ".csv", 5);
    char path[EIN_PATH_MAX + 600];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    ein_code c = ein_summary_write_csv_to(s, path, err);
    if (c == EIN_OK && path_out)
        snprintf(path_out, EIN_PATH_MAX, "%.*s", EIN_PATH_MAX - 1, path);
    return c;
}

ein_code ein_summary_write_csv_to(const ein_summary *s, const char *path, ein_err *err)
{
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    if (!mem)
        return ein_err_set(err, EIN_ERR_NOMEM, "out of memory");
    for (int a = 0; a < s->n_by; a++) {
        ein_csv_field(mem, s->by[a]);
        fputc(',', mem);
    }
    fputs("n,mean,sd,median,q1,q3,iqr,top_k,top_median,top_sd,diverged,missing\n", mem);
    for (int g = 0; g < s->n; g++) {
        const ein_summary_group *grp = &s->groups[g];
        for (int a = 0; a < s->n_by; a++) {
            ein_csv_field(mem, grp->value[a]);
            fputc(',', mem);
        }
        fprintf(mem, "%d", grp->n);
        csv_num(mem, grp->mean);
        csv_num(mem, grp->sd);
        csv_num(mem, grp->median);
        csv_num(mem, grp->q1);
        csv_num(mem, grp->q3);
        csv_num(mem, grp->iqr);
        fprintf(mem, ",%d", grp->n < s->top ? grp->n : s->top);
        csv_num(mem, grp->top_median);
        csv_num(mem, grp->top_sd);
        fprintf(mem, ",%d,%d\n", grp->diverged, grp->missing);
    }
    fclose(mem);
    ein_code c = ein_write_file_atomic(path, text, len, err);
    free(text);
    return c;
}

static bool some_cell_has(const ein_record_list *l, const char *key, const char *value)
{
    for (int i = 0; i < l->n; i++) {
        const char *v = key_value(&l->rec[i], key);
        if (v && strcmp(v, value) == 0)
            return true;
    }
    return false;
}

/* The first key on which some cell has A and some cell has B: an axis,
 * then folder, experiment, a differing setting. */
static void find_compare_key(const ein_record_list *l, const char *va, const char *vb, char *key)
{
    char (*names)[EIN_NAME_MAX] = calloc(MAX_NAMES + 2, sizeof *names);
    char kind[MAX_NAMES];
    const char **set = NULL;
    int nset = names ? ein_records_differing_settings(l, &set) : -1;
    key[0] = '\0';
    if (nset >= 0) {
        int nc = binding_names(l, names, kind, MAX_NAMES);
        snprintf(names[nc++], EIN_NAME_MAX, "folder");
        snprintf(names[nc++], EIN_NAME_MAX, "experiment");
        for (int c = 0; c < nc + nset && !key[0]; c++) {
            const char *name = c < nc ? names[c] : set[c - nc];
            if (strlen(name) < EIN_NAME_MAX && some_cell_has(l, name, va) && some_cell_has(l, name, vb))
                snprintf(key, EIN_NAME_MAX, "%s", name);
        }
    }
    free(set);
    free(names);
}

ein_code ein_summary_compare(const ein_record_list *l, const char *by, const char *metric_name,
                             const char *spec, FILE *out, ein_err *err)
{
    char axis[EIN_NAME_MAX] = "", va[EIN_VALUE_TEXT_MAX], vb[EIN_VALUE_TEXT_MAX];
    const char *vals = spec;
    const char *eq = strchr(spec, '=');
    if (eq) {
        snprintf(axis, sizeof axis, "%.*s", (int)(eq - spec), spec);
        vals = eq + 1;
    }
    const char *comma = strchr(vals, ',');
    if (!comma || comma == vals || !comma[1] || strchr(comma + 1, ','))
        return ein_err_set(err, EIN_ERR_USAGE, "--compare: expected [KEY=]A,B, got '%s'", spec);
    snprintf(va, sizeof va, "%.*s", (int)(comma - vals), vals);
    snprintf(vb, sizeof vb, "%s", comma + 1);
    if (!axis[0]) {
        find_compare_key(l, va, vb, axis);
        if (!axis[0])
            return ein_err_set(err, EIN_ERR_USAGE,
                               "--compare: no axis, folder or setting has both values '%s' and '%s'",
                               va, vb);
    }
    /* Group by the --by axes other than the compared one. */
    char axes[EIN_SUMMARY_MAX_BY][EIN_NAME_MAX], rest[EIN_SUMMARY_MAX_BY * EIN_NAME_MAX + 8] = "";
    int na = split_axes(by, axes, EIN_SUMMARY_MAX_BY, err);
    if (na < 0)
        return EIN_ERR_USAGE;
    for (int a = 0; a < na; a++)
        if (strcmp(axes[a], axis) != 0) {
            if (rest[0])
                strcat(rest, ",");
            strcat(rest, axes[a]);   /* fits: at most EIN_SUMMARY_MAX_BY names of < 64 bytes */
        }
    ein_summary sa, sb;
    ein_record_list la = { 0 }, lb = { 0 };
    la.rec = malloc((size_t)(l->n + 1) * sizeof *la.rec);
    lb.rec = malloc((size_t)(l->n + 1) * sizeof *lb.rec);
    if (!la.rec || !lb.rec) {
        free(la.rec);
        free(lb.rec);
        return ein_err_set(err, EIN_ERR_NOMEM, "out of memory");
    }
    for (int i = 0; i < l->n; i++) {
        const char *v = key_value(&l->rec[i], axis);
        if (v && strcmp(v, va) == 0)
            la.rec[la.n++] = l->rec[i];
        else if (v && strcmp(v, vb) == 0)
            lb.rec[lb.n++] = l->rec[i];
    }
    ein_code c = ein_summary_compute(&la, rest, metric_name, 10, &sa, err);
    if (c == EIN_OK) {
        c = ein_summary_compute(&lb, rest, metric_name, 10, &sb, err);
        if (c != EIN_OK)
            ein_summary_free(&sa);
    }
    free(la.rec);
    free(lb.rec);
    if (c != EIN_OK)
        return c;
    fprintf(out, "Mann-Whitney U, two-sided: %s = %s vs %s (%s)\n", axis, va, vb, sa.metric);
    for (int g = 0; g < sa.n; g++) {
        const ein_summary_group *ga = &sa.groups[g], *gb = NULL;
        for (int h = 0; h < sb.n && !gb; h++) {
            bool same = true;
            for (int a = 0; a < sa.n_by && same; a++)
                same = strcmp(sb.groups[h].value[a], ga->value[a]) == 0;
            if (same)
                gb = &sb.groups[h];
        }
        for (int a = 0; a < sa.n_by; a++)
            fprintf(out, "%s%s=%s", a ? " " : "  ", sa.by[a], ga->value[a]);
        fputs(sa.n_by ? ": " : "  ", out);
        ein_mwu r;
        if (!gb || ein_mann_whitney(ga->acc, (size_t)ga->n, gb->acc, (size_t)gb->n, &r) != 0) {
            fprintf(out, "n = %d vs %d: not enough cells\n", ga->n, gb ? gb->n : 0);
            continue;
        }
        char ma[32], mb[32];
        fmt(ma, sizeof ma, ga->median, is_percent(sa.metric));
        fmt(mb, sizeof mb, gb->median, is_percent(sa.metric));
        fprintf(out, "n = %d vs %d, median %s vs %s, U = %g, p = %.4g%s\n", ga->n, gb->n, ma, mb,
                r.u, r.p, r.exact ? " (exact)" : " (normal approx.)");
    }
    ein_summary_free(&sa);
    ein_summary_free(&sb);
    return EIN_OK;
}
