/* figure.c — a figure's settings: defaults, one setter shared by the `figure`
 * block and the `einrun plot KEY=VALUE` command line, validation
 * (include/ein/figure.h). */
#include "ein/figure.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ein/ast.h"
#include "ein/diag.h"
#include "ein/text.h"

static const char *const kind_names[EIN_FIG_KIND_COUNT + 1] = { "scatter", "box", "curve", "sweep", NULL };

/* Final-epoch values of a cell (results.h); the per-layer ones are M9's. */
const char *const ein_figure_metric_names[] = {
    "test_acc", "best_test_acc", "train_acc", "task_loss", "inorm_loss", "test_loss",
    "z_mean", "z_var", "z_mean_sq", "cos_ln_out", "cos_ln_grad", NULL
};
#define FIRST_LAYER_METRIC 6

const char *const ein_figure_setting_names[] = {
    "kind", "metric", "by", "conditions", "labels", "facet", "facets", "layer", "top",
    "size", "formats", "title", "results", NULL
};

const char *ein_figure_kind_name(ein_figure_kind k)
{
    return k >= 0 && k < EIN_FIG_KIND_COUNT ? kind_names[k] : "?";
}

static int lookup(const char *const *names, const char *s)
{
    for (int i = 0; names[i]; i++)
        if (strcmp(names[i], s) == 0)
            return i;
    return -1;
}

bool ein_figure_metric_per_layer(const char *metric)
{
    int m = lookup(ein_figure_metric_names, metric);
    return m >= FIRST_LAYER_METRIC;
}

void ein_figure_defaults(ein_figure *f, const char *name)
{
    memset(f, 0, sizeof *f);
    ein_text_copy(f->name, sizeof f->name, name ? name : "figure");
    f->kind = EIN_FIG_BOX;
    snprintf(f->metric, sizeof f->metric, "test_acc");
    snprintf(f->by, sizeof f->by, "variant");
    f->width = 800;
    f->height = 600;
    f->formats = EIN_FIG_PNG | EIN_FIG_SVG;
}

/* "a, b, c" (valid names) for a message. */
static void join(char *buf, size_t cap, const char *const *names)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; names[i] && len < cap; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%s", i ? ", " : "", names[i]);
}

static bool fail(char *msg, size_t cap, const char *fmt, const char *a, const char *b)
{
    snprintf(msg, cap, fmt, a, b);
    return false;
}

/* The command line writes a list as one word "a,b,c": split it. */
static int split(const char *const *words, int n, char out[][EIN_VALUE_TEXT_MAX], int max)
{
    int k = 0;
    for (int i = 0; i < n; i++) {
        const char *s = words[i];
        for (;;) {
            const char *comma = strchr(s, ',');
            size_t len = comma ? (size_t)(comma - s) : strlen(s);
            if (k == max)
                return -1;
            snprintf(out[k], EIN_VALUE_TEXT_MAX, "%.*s", (int)len, s);
            k++;
            if (!comma)
                break;
            s = comma + 1;
        }
    }
    return k;
}

static bool parse_int(const char *s, long lo, long hi, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return false;
    *out = (int)v;
    return true;
}

static bool one_word(int n, const char *key, char *msg, size_t cap)
{
    if (n == 1)
        return true;
    return fail(msg, cap, "figure setting '%s' takes one value%s", key, "");
}

bool ein_figure_set(ein_figure *f, const char *key, const char *const *words, int n,
                    char *msg, size_t cap)
{
    char list[EIN_FIG_MAX_LIST + 1][EIN_VALUE_TEXT_MAX];
    int k = lookup(ein_figure_setting_names, key);
    if (k < 0) {
        char valid[256];
        join(valid, sizeof valid, ein_figure_setting_names);
        return fail(msg, cap, "unknown figure setting '%s' (valid: %s)", key, valid);
    }
    if (n < 1)
        return fail(msg, cap, "figure setting '%s' needs a value%s", key, "");
    if (strcmp(key, "kind") == 0 || strcmp(key, "metric") == 0 || strcmp(key, "by") == 0 ||
        strcmp(key, "facet") == 0 || strcmp(key, "layer") == 0 || strcmp(key, "top") == 0 ||
        strcmp(key, "title") == 0) {
        if (!one_word(n, key, msg, cap))
            return false;
    }
    const char *w = words[0];
    if (strcmp(key, "kind") == 0) {
        int v = lookup(kind_names, w);
        if (v < 0) {
            char valid[128];
            join(valid, sizeof valid, kind_names);
            return fail(msg, cap, "unknown figure kind '%s' (valid: %s)", w, valid);
        }
        f->kind = (ein_figure_kind)v;
    } else if (strcmp(key, "metric") == 0) {
        if (lookup(ein_figure_metric_names, w) < 0) {
            char valid[256];
            join(valid, sizeof valid, ein_figure_metric_names);
            return fail(msg, cap, "unknown figure metric '%s' (valid: %s)", w, valid);
        }
        ein_text_copy(f->metric, sizeof f->metric, w);
    } else if (strcmp(key, "by") == 0) {
        ein_text_copy(f->by, sizeof f->by, w);
    } else if (strcmp(key, "facet") == 0) {
        ein_text_copy(f->facet, sizeof f->facet, strcmp(w, "none") == 0 ? "" : w);
    } else if (strcmp(key, "title") == 0) {
        ein_text_copy(f->title, sizeof f->title, w);
    } else if (strcmp(key, "layer") == 0) {
        if (!parse_int(w, 0, EIN_MAX_HIDDEN - 1, &f->layer))
            return fail(msg, cap, "figure layer '%s' is not a hidden layer index (0..%s)", w, "15");
    } else if (strcmp(key, "top") == 0) {
        if (!parse_int(w, 0, 1000000, &f->top))
            return fail(msg, cap, "figure top '%s' is not a count >= 0%s", w, "");
    } else if (strcmp(key, "size") == 0) {
        int m = split(words, n, list, 2);
        if (m != 2 || !parse_int(list[0], 16, 10000, &f->width) ||
            !parse_int(list[1], 16, 10000, &f->height))
            return fail(msg, cap, "figure size needs width and height in pixels, 16..10000, "
                        "e.g. [800, 600]%s%s", "", "");
    } else if (strcmp(key, "formats") == 0) {
        int m = split(words, n, list, 3);
        if (m < 1)
            return fail(msg, cap, "figure formats: at most png, svg, pdf%s%s", "", "");
        f->formats = 0;
        for (int i = 0; i < m; i++) {
            if (strcmp(list[i], "png") == 0) f->formats |= EIN_FIG_PNG;
            else if (strcmp(list[i], "svg") == 0) f->formats |= EIN_FIG_SVG;
            else if (strcmp(list[i], "pdf") == 0) f->formats |= EIN_FIG_PDF;
            else return fail(msg, cap, "unknown figure format '%s' (valid: png, svg, pdf)%s", list[i], "");
        }
    } else {
        int m = split(words, n, list, EIN_FIG_MAX_LIST);
        if (m < 0)
            return fail(msg, cap, "figure setting '%s': at most %s values", key, "16");
        if (strcmp(key, "conditions") == 0) {
            f->n_conditions = m;
            memcpy(f->conditions, list, sizeof list[0] * (size_t)m);
        } else if (strcmp(key, "labels") == 0) {
            f->n_labels = m;
            for (int i = 0; i < m; i++)
                ein_text_copy(f->labels[i], sizeof f->labels[i], list[i]);
        } else if (strcmp(key, "facets") == 0) {
            f->n_facets = m;
            memcpy(f->facets, list, sizeof list[0] * (size_t)m);
        } else {   /* results */
            if (m > EIN_FIG_MAX_RESULTS)
                return fail(msg, cap, "figure results: at most %s folders%s", "8", "");
            f->n_results = m;
            for (int i = 0; i < m; i++)
                ein_text_copy(f->results[i], sizeof f->results[i], list[i]);
        }
    }
    return true;
}

bool ein_figure_validate(const ein_figure *f, char *msg, size_t cap)
{
    if (f->kind == EIN_FIG_SCATTER && f->n_conditions != 2)
        return fail(msg, cap, "figure %s: a scatter needs conditions = [X, Y] (two values of '%s')",
                    f->name, f->by);
    if (f->n_labels && f->n_labels != f->n_conditions)
        return fail(msg, cap, "figure %s: labels must pair with conditions (one label each)%s",
                    f->name, "");
    if (f->kind == EIN_FIG_SWEEP && !f->facet[0])
        return fail(msg, cap, "figure %s: a sweep needs facet = AXIS, the x axis (e.g. eps)%s",
                    f->name, "");
    if (strcmp(f->facet, "layer") == 0 && !ein_figure_metric_per_layer(f->metric))
        return fail(msg, cap, "figure %s: facet = layer needs a per-layer metric, not '%s'",
                    f->name, f->metric);
    if (f->kind == EIN_FIG_CURVE && strcmp(f->metric, "best_test_acc") == 0)
        return fail(msg, cap, "figure %s: a curve shows a per-epoch metric, not '%s'", f->name, f->metric);
    if (f->kind == EIN_FIG_CURVE && ein_figure_metric_per_layer(f->metric) &&
        strcmp(f->facet, "layer") == 0)
        return fail(msg, cap, "figure %s: a curve of '%s' takes layer = N, not facet = layer",
                    f->name, f->metric);
    return true;
}

/* ---- from the AST --------------------------------------------------------- */

/* The words of a literal value; false (with nothing added) for anything else. */
static bool literal_words(const ein_expr *e, char words[][EIN_VALUE_TEXT_MAX], int *n, bool top)
{
    if (*n == EIN_FIG_MAX_LIST)
        return false;
    switch (e->kind) {
    case EIN_EXPR_NAME: ein_text_copy(words[(*n)++], EIN_VALUE_TEXT_MAX, e->name); return true;
    case EIN_EXPR_STRING: ein_text_copy(words[(*n)++], EIN_VALUE_TEXT_MAX, e->string.text); return true;
    case EIN_EXPR_INT: ein_text_copy(words[(*n)++], EIN_VALUE_TEXT_MAX, e->integer.text); return true;
    case EIN_EXPR_REAL: ein_text_copy(words[(*n)++], EIN_VALUE_TEXT_MAX, e->real.text); return true;
    case EIN_EXPR_BOOL: ein_text_copy(words[(*n)++], EIN_VALUE_TEXT_MAX, e->boolean ? "true" : "false"); return true;
    case EIN_EXPR_UNARY:
        if (e->unary.op == EIN_OP_NEG && (e->unary.arg->kind == EIN_EXPR_INT || e->unary.arg->kind == EIN_EXPR_REAL)) {
            snprintf(words[(*n)++], EIN_VALUE_TEXT_MAX, "-%s", e->unary.arg->kind == EIN_EXPR_INT ?
                     e->unary.arg->integer.text : e->unary.arg->real.text);
            return true;
        }
        return false;
    case EIN_EXPR_LIST:
        if (!top)
            return false;
        for (int i = 0; i < e->list.n_items; i++)
            if (!literal_words(e->list.items[i], words, n, false))
                return false;
        return true;
    default:
        return false;
    }
}

bool ein_figure_from_stmt(const ein_stmt *s, ein_figure *f, ein_diag *diag)
{
    ein_figure_defaults(f, s->figure.name.name);
    bool ok = true;
    unsigned seen = 0;
    for (int i = 0; i < s->figure.n_settings; i++) {
        const ein_setting *st = &s->figure.settings[i];
        ein_loc ploc = ein_loc_span(st->path[0].loc, st->path[st->n_path - 1].loc);
        const char *key = st->path[0].name;
        int k = lookup(ein_figure_setting_names, key);
        if (st->n_path != 1 || k < 0) {
            int n_names = 0;
            while (ein_figure_setting_names[n_names])
                n_names++;
            char valid[256];
            join(valid, sizeof valid, ein_figure_setting_names);
            if (ein_diag_error(diag, ploc, "unknown figure setting '%s' (valid: %s)", key, valid))
                ein_diag_suggest(diag, key, ein_figure_setting_names, (size_t)n_names);
            ok = false;
            continue;
        }
        if (seen & (1u << k)) {
            ein_diag_error(diag, ploc, "figure setting '%s' is given twice", key);
            ok = false;
            continue;
        }
        seen |= 1u << k;
        char words[EIN_FIG_MAX_LIST][EIN_VALUE_TEXT_MAX];
        const char *ptr[EIN_FIG_MAX_LIST];
        int n = 0;
        if (!literal_words(st->value, words, &n, true)) {
            ein_diag_error(diag, st->value->loc, "figure setting '%s' takes a name, a string, a number "
                           "or a list of at most 16 of them", key);
            ok = false;
            continue;
        }
        for (int j = 0; j < n; j++)
            ptr[j] = words[j];
        char msg[512];
        if (!ein_figure_set(f, key, ptr, n, msg, sizeof msg)) {
            ein_diag_error(diag, st->value->loc, "%s", msg);
            ok = false;
        }
    }
    char msg[512];
    if (ok && !ein_figure_validate(f, msg, sizeof msg)) {
        ein_diag_error(diag, s->figure.name.loc, "%s", msg);
        ok = false;
    }
    return ok;
}
