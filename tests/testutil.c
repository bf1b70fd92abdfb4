/* testutil.c — see testutil.h. */
#include "testutil.h"
#include "ein/data.h"
#include "ein/results.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <stdint.h>
#include <sys/wait.h>
#include "ein/data.h"

char *tu_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (n + 1 >= cap) {
            cap *= 2;
            char *grown = realloc(buf, cap);
            if (grown == NULL) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = grown;
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        if (got == 0)
            break;
        n += got;
    }
    fclose(f);
    buf[n] = '\0';
    if (len != NULL)
        *len = n;
    return buf;
}

int tu_write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        return -1;
    size_t put = fwrite(data, 1, len, f);
    int rc = fclose(f);
    return put == len && rc == 0 ? 0 : -1;
}

char *tu_mkdtemp(void)
{
    const char *base = getenv("TMPDIR");
    if (base == NULL || *base == '\0')
        base = "/tmp";
    size_t n = strlen(base) + 32;
    char *path = malloc(n);
    snprintf(path, n, "%s/ein-test-XXXXXX", base);
    if (mkdtemp(path) == NULL) {
        free(path);
        return NULL;
    }
    return path;
}

void tu_rmtree(const char *path)
{
    if (path == NULL || strstr(path, "ein-test-") == NULL)
        return;                      /* refuse to remove anything we did not make */
    size_t n = strlen(path) + 16;
    char *cmd = malloc(n);
    snprintf(cmd, n, "rm -rf '%s'", path);
    if (system(cmd) != 0) { /* scratch only; nothing to do */ }
    free(cmd);
}

int tu_run(const char *cmd, char **out)
{
    size_t n = strlen(cmd) + 16;
    char *full = malloc(n);
    snprintf(full, n, "%s 2>&1", cmd);
    FILE *p = popen(full, "r");
    free(full);
    if (p == NULL)
        return -1;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t got;
    while ((got = fread(buf + len, 1, cap - len - 1, p)) > 0) {
        len += got;
        if (len + 1 >= cap) {
            cap *= 2;
            buf = realloc(buf, cap);
        }
    }
    buf[len] = '\0';
    int status = pclose(p);
    if (out != NULL)
        *out = buf;
    else
        free(buf);
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return -1;
}

const char *tu_einrun(void)
{
    const char *path = getenv("EIN_EINRUN");
    return path != NULL && *path != '\0' ? path : "build/float/einrun";
}

int tu_close(double a, double b, double rtol, double atol)
{
    if (isnan(a) || isnan(b))
        return 0;
    return fabs(a - b) <= atol + rtol * fabs(b);
}

int tu_count_record_lines(const char *dir, const char *kind, const char *needle1, const char *needle2)
{
    char **paths;
    int np, n = 0;
    if (ein_results_files(dir, kind, &paths, &np, NULL) != EIN_OK)
        return -1;
    for (int i = 0; i < np; i++) {
        char *t = tu_read_file(paths[i], NULL);
        for (char *line = t; line && *line;) {
            char *nl = strchr(line, '\n');
            if (!nl)
                break;
            *nl = '\0';
            if ((!needle1 || strstr(line, needle1)) && (!needle2 || strstr(line, needle2)))
                n++;
            line = nl + 1;
        }
        free(t);
    }
    ein_results_files_free(paths, np);
    return n;
}

int tu_write_tiny_idx(const char *dir, int n_train)
{
    ein_err err = {0};
    int dim = 784;
    uint8_t *px = calloc((size_t)n_train * (size_t)dim, 1), *lab = calloc((size_t)n_train, 1);
    if (px == NULL || lab == NULL) {
        free(px);
        free(lab);
        return -1;
    }
    for (int i = 0; i < n_train; i++) {
        lab[i] = (uint8_t)(i % 10);
        for (int j = 0; j < 28; j++)
            px[(size_t)i * (size_t)dim + (size_t)(lab[i] * 2) * 28 + (size_t)j] = 200;
    }
    char a[1200], b[1200];
    snprintf(a, sizeof a, "%s/train-images-idx3-ubyte", dir);
    snprintf(b, sizeof b, "%s/train-labels-idx1-ubyte", dir);
    int rc = ein_idx_write(a, false, n_train, 28, 28, px, b, lab, &err) == EIN_OK ? 0 : -1;
    snprintf(a, sizeof a, "%s/t10k-images-idx3-ubyte", dir);
    snprintf(b, sizeof b, "%s/t10k-labels-idx1-ubyte", dir);
    if (rc == 0 && ein_idx_write(a, false, n_train < 50 ? n_train : 50, 28, 28, px, b, lab, &err) != EIN_OK)
        rc = -1;
    free(px);
    free(lab);
    return rc;
}

int tu_write_tiny_grid(const char *dir, int n_train, int epochs, const char *results)
{
    if (tu_write_tiny_idx(dir, n_train) != 0)
        return -1;
    char text[4096], res[1200], path[1200];
    snprintf(res, sizeof res, "%s", results ? results : "");
    if (!results)
        snprintf(res, sizeof res, "%s/results", dir);
    snprintf(text, sizeof text,
             "experiment tiny {\n"
             "  data = idx(dir = \"%s\", batch = 10, eps = eps)\n"
             "  network {\n    input 784\n    hidden ei(ne = 64, fwd = variant) x 1\n"
             "    output ei(ne = 10, ni = 1, act = none, fwd = none, bwd = none)\n  }\n"
             "  train { epochs = %d  lr = 0.05  seed = seed }\n"
             "  grid {\n    eps in [0, 0.5]\n    variant in [layernorm, none]\n    seed in [1, 2]\n  }\n"
             "  report \"%s\" { test_acc }\n}\n", dir, epochs, res);
    snprintf(path, sizeof path, "%s/grid.ein", dir);
    return tu_write_file(path, text, strlen(text)) != 0 ? -1 : 0;
}

const ein_cell_config *tu_cfg(const ein_cell *cell)
{
    static ein_cell_config ring[8];   /* test code: a few alive at once in one assertion */
    static int next;
    ein_cell_config *out = &ring[next++ % 8];
    return ein_cell_config_of(cell, out);
}

long tu_poison_gradients(ein_graph *g)
{
    long poisoned = 0;
    for (int i = 0; i < ein_graph_n_nodes(g); i++) {
        ein_node *n = ein_graph_nodes(g, i);
        if (n->op != NULL && n->grad != NULL)
            for (int k = 0; k < n->rows * n->cols; k++, poisoned++)
                n->grad[k] = (ein_real)NAN;
    }
    return poisoned;
}
