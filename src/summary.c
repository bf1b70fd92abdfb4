/* summary.c — see summary.h. */
#include "ein/summary.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "ein/stats.h"

#define CHANCE_ACC 10.0   /* 100 / EIN_DATA_CLASSES: a diverged cell without an accuracy */

static bool usable(const ein_record *r, double *acc)
{
    if (strcmp(r->status, "ok") == 0 && isfinite(r->final_test_acc)) {
        *acc = r->final_test_acc;
        return true;
    }
    if (strcmp(r->status, "diverged") == 0) {
        *acc = isfinite(r->final_test_acc) ? r->final_test_acc : CHANCE_ACC;
        return true;
    }
    return false;
}

void ein_summary_default_by(const ein_record_list *l, char *buf, size_t cap)
{
    size_t n = 0;
    buf[0] = '\0';
    char seen[64][EIN_NAME_MAX];
    int ns = 0;
    for (int i = 0; i < l->n; i++)
        for (int k = 0; k < l->rec[i].n_bind; k++) {
            const char *name = l->rec[i].bind_name[k];
            if (strchr(name, '.') || strcmp(name, "seed") == 0)
                continue;
            bool dup = false;
            for (int j = 0; j < ns; j++)
                dup = dup || strcmp(seen[j], name) == 0;
            if (dup || ns == 64)
                continue;
            /* a sample/table row index: some binding is "name.field" */
            size_t len = strlen(name);
            bool parent = false;
            for (int j = 0; j < l->rec[i].n_bind; j++)
                parent = parent || (strncmp(l->rec[i].bind_name[j], name, len) == 0 &&
                                    l->rec[i].bind_name[j][len] == '.');
            snprintf(seen[ns++], EIN_NAME_MAX, "%s", name);
            if (parent)
                continue;
            int w = snprintf(buf + n, cap - n, "%s%s", n ? "," : "", name);
            if (w < 0 || (size_t)w >= cap - n)
                break;
            n += (size_t)w;
        }
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

void ein_summary_free(ein_summary *s)
{
    for (int i = 0; i < s->n; i++)
        free(s->groups[i].acc);
    free(s->groups);
    memset(s, 0, sizeof *s);
}

ein_code ein_summary_compute(const ein_record_list *l, const char *by, int top,
                             ein_summary *s, ein_err *err)
{
    memset(s, 0, sizeof *s);
    s->top = top > 0 ? top : 10;
    s->n_by = split_axes(by, s->by, EIN_SUMMARY_MAX_BY, err);
    if (s->n_by < 0)
        return EIN_ERR_USAGE;
    for (int a = 0; a < s->n_by; a++) {
        bool found = false;
        for (int i = 0; i < l->n && !found; i++)
            found = ein_record_binding(&l->rec[i], s->by[a], NULL) != NULL;
        if (!found && l->n > 0)
            return ein_err_set(err, EIN_ERR_USAGE, "--by: no cell has an axis named '%s'", s->by[a]);
    }
    s->groups = calloc((size_t)(l->n > 0 ? l->n : 1), sizeof *s->groups);
    if (!s->groups)
        return ein_err_set(err, EIN_ERR_NOMEM, "out of memory");
    for (int i = 0; i < l->n; i++) {
        const ein_record *r = &l->rec[i];
        ein_summary_group key;
        for (int a = 0; a < s->n_by; a++) {
            const char *v = ein_record_binding(r, s->by[a], NULL);
            snprintf(key.value[a], EIN_VALUE_TEXT_MAX, "%s", v ? v : "NA");
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
        double acc;
        if (usable(r, &acc))
            grp->acc[grp->n++] = acc;
        else
            grp->missing++;
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

static void fmt(char *buf, size_t cap, double x)
{
    if (isfinite(x))
        snprintf(buf, cap, "%.2f", x);
    else
        snprintf(buf, cap, "NA");
}

static void fmt_pm(char *buf, size_t cap, double m, double sd)
{
    char a[32], b[32];
    fmt(a, sizeof a, m);
    fmt(b, sizeof b, sd);
    if (isfinite(sd))
        snprintf(buf, cap, "%s ± %s", a, b);
    else
        snprintf(buf, cap, "%s", a);
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
        fmt_pm(CELL(r, c + 1), EIN_VALUE_TEXT_MAX, grp->mean, grp->sd);
        fmt(CELL(r, c + 2), EIN_VALUE_TEXT_MAX, grp->median);
        fmt(CELL(r, c + 3), EIN_VALUE_TEXT_MAX, grp->iqr);
        fmt_pm(CELL(r, c + 4), EIN_VALUE_TEXT_MAX, grp->top_median, grp->top_sd);
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
}

static void csv_num(FILE *f, double x)
{
    if (!isfinite(x)) {
        fputs(",NA", f);
        return;
    }
    char t[32];
    for (int prec = 6; prec <= 17; prec++) {   /* shortest text that reads back as x */
        snprintf(t, sizeof t, "%.*g", prec, x);
        if (strtod(t, NULL) == x)
            break;
    }
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
    if (c == EIN_OK && path_out)
        snprintf(path_out, EIN_PATH_MAX, "%.*s", EIN_PATH_MAX - 1, path);
    return c;
}

ein_code ein_summary_compare(const ein_record_list *l, const char *by, const char *spec,
                             FILE *out, ein_err *err)
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
        return ein_err_set(err, EIN_ERR_USAGE, "--compare: expected [AXIS=]A,B, got '%s'", spec);
    snprintf(va, sizeof va, "%.*s", (int)(comma - vals), vals);
    snprintf(vb, sizeof vb, "%s", comma + 1);
    if (!axis[0]) {
        /* the axis on which some cell has A and some cell has B */
        for (int i = 0; i < l->n && !axis[0]; i++)
            for (int k = 0; k < l->rec[i].n_bind && !axis[0]; k++) {
                if (strcmp(l->rec[i].bind_text[k], va) != 0)
                    continue;
                for (int j = 0; j < l->n; j++) {
                    const char *v = ein_record_binding(&l->rec[j], l->rec[i].bind_name[k], NULL);
                    if (v && strcmp(v, vb) == 0) {
                        snprintf(axis, sizeof axis, "%s", l->rec[i].bind_name[k]);
                        break;
                    }
                }
            }
        if (!axis[0])
            return ein_err_set(err, EIN_ERR_USAGE,
                               "--compare: no axis has both values '%s' and '%s'", va, vb);
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
            strcat(rest, axes[a]);   /* fits: at most 8 names of < 64 bytes */
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
        const char *v = ein_record_binding(&l->rec[i], axis, NULL);
        if (v && strcmp(v, va) == 0)
            la.rec[la.n++] = l->rec[i];
        else if (v && strcmp(v, vb) == 0)
            lb.rec[lb.n++] = l->rec[i];
    }
    ein_code c = ein_summary_compute(&la, rest, 10, &sa, err);
    if (c == EIN_OK) {
        c = ein_summary_compute(&lb, rest, 10, &sb, err);
        if (c != EIN_OK)
            ein_summary_free(&sa);
    }
    free(la.rec);
    free(lb.rec);
    if (c != EIN_OK)
        return c;
    fprintf(out, "Mann-Whitney U, two-sided: %s = %s vs %s (final test accuracy)\n", axis, va, vb);
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
        fprintf(out, "n = %d vs %d, median %.2f vs %.2f, U = %g, p = %.4g%s\n", ga->n, gb->n,
                ga->median, gb->median, r.u, r.p, r.exact ? " (exact)" : " (normal approx.)");
    }
    ein_summary_free(&sa);
    ein_summary_free(&sb);
    return EIN_OK;
}
