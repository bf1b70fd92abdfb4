/* refdata.c — see refdata.h. */
#include "refdata.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int push(ref_file *f, const char *name, int rows, int cols)
{
    ref_entry *grown = realloc(f->e, (size_t)(f->n + 1) * sizeof *grown);
    if (grown == NULL)
        return -1;
    f->e = grown;
    ref_entry *e = &f->e[f->n++];
    memset(e, 0, sizeof *e);
    snprintf(e->name, sizeof e->name, "%s", name);
    e->rows = rows;
    e->cols = cols;
    e->v = calloc((size_t)rows * (size_t)cols, sizeof *e->v);
    return e->v == NULL ? -1 : 0;
}

ref_file *ref_load(const char *path)
{
    FILE *in = fopen(path, "r");
    if (in == NULL)
        return NULL;
    ref_file *f = calloc(1, sizeof *f);
    char word[64], name[64];
    int ok = 1;
    while (ok && fscanf(in, "%63s", word) == 1) {
        if (word[0] == '#') {
            int c;
            while ((c = fgetc(in)) != EOF && c != '\n')
                ;
        } else if (strcmp(word, "scalar") == 0) {
            double v;
            ok = fscanf(in, "%63s %lf", name, &v) == 2 && push(f, name, 1, 1) == 0;
            if (ok)
                f->e[f->n - 1].v[0] = v;
        } else if (strcmp(word, "tensor") == 0) {
            int rows, cols;
            ok = fscanf(in, "%63s %d %d", name, &rows, &cols) == 3 && rows > 0 && cols > 0 &&
                 push(f, name, rows, cols) == 0;
            for (long i = 0; ok && i < (long)rows * cols; i++)
                ok = fscanf(in, "%lf", &f->e[f->n - 1].v[i]) == 1;
        } else {
            ok = 0;
        }
    }
    fclose(in);
    if (!ok) {
        ref_free(f);
        return NULL;
    }
    return f;
}

void ref_free(ref_file *f)
{
    if (f == NULL)
        return;
    for (int i = 0; i < f->n; i++)
        free(f->e[i].v);
    free(f->e);
    free(f);
}

const ref_entry *ref_get(const ref_file *f, const char *name)
{
    for (int i = 0; i < f->n; i++)
        if (strcmp(f->e[i].name, name) == 0)
            return &f->e[i];
    return NULL;
}

int ref_copy(const ref_file *f, const char *name, ein_real *dst, int rows, int cols)
{
    const ref_entry *e = ref_get(f, name);
    if (e == NULL || e->rows != rows || e->cols != cols)
        return -1;
    for (long i = 0; i < (long)rows * cols; i++)
        dst[i] = (ein_real)e->v[i];
    return 0;
}

double ref_max_rel_err(const ein_real *a, const double *b, long n, double floor, long *worst)
{
    double m = 0;
    for (long i = 0; i < n; i++) {
        double e = fabs((double)a[i] - b[i]) / (fabs(b[i]) + floor);
        if (!(e <= m)) {
            m = e;
            if (worst)
                *worst = i;
        }
    }
    return m;
}

double ref_max_abs_err(const ein_real *a, const double *b, long n, long *worst)
{
    double m = 0;
    for (long i = 0; i < n; i++) {
        double e = fabs((double)a[i] - b[i]);
        if (!(e <= m)) {
            m = e;
            if (worst)
                *worst = i;
        }
    }
    return m;
}
