/* weights.c — save and reopen a trained cell (include/ein/weights.h). */
#include "ein/weights.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ein/graph.h"
#include "ein/model.h"
#include "graph_impl.h"

static const char cell_magic[8] = { 'E', 'I', 'N', 'C', 'E', 'L', 'L', '1' };

static ein_code write_cell(const char *dir, const ein_cell_config *cfg, ein_err *err)
{
    char path[EIN_PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/cell.bin", dir);
    FILE *f = fopen(path, "wb");
    if (!f)
        return ein_err_set(err, EIN_ERR_IO, "%s: %s", path, strerror(errno));
    uint64_t size = sizeof *cfg;
    bool ok = fwrite(cell_magic, 1, sizeof cell_magic, f) == sizeof cell_magic &&
              fwrite(&size, sizeof size, 1, f) == 1 && fwrite(cfg, sizeof *cfg, 1, f) == 1;
    if (fclose(f) != 0 || !ok)
        return ein_err_set(err, EIN_ERR_IO, "%s: write failed", path);
    snprintf(path, sizeof path, "%s/config.txt", dir);
    f = fopen(path, "w");
    if (!f)
        return ein_err_set(err, EIN_ERR_IO, "%s: %s", path, strerror(errno));
    ein_config_write(f, cfg, EIN_CONFIG_PROVENANCE);
    if (fclose(f) != 0)
        return ein_err_set(err, EIN_ERR_IO, "%s: write failed", path);
    return EIN_OK;
}

static void put_rng(FILE *f, const char *name, const ein_rng *r)
{
    fprintf(f, "%s = %016" PRIx64 " %016" PRIx64 " %016" PRIx64 " %016" PRIx64 " %d %a\n", name, r->s[0],
            r->s[1], r->s[2], r->s[3], r->has_spare, r->spare);
}

static ein_code write_state(const char *dir, const ein_train_state *st, ein_err *err)
{
    char path[EIN_PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/state.txt", dir);
    FILE *f = fopen(path, "w");
    if (!f)
        return ein_err_set(err, EIN_ERR_IO, "%s: %s", path, strerror(errno));
    fprintf(f, "epochs = %d\n", st->epochs);
    put_rng(f, "rng.shuffle", &st->shuffle);
    put_rng(f, "rng.shift", &st->shift);
    put_rng(f, "rng.eval", &st->eval);
    put_rng(f, "rng.align", &st->align);
    put_rng(f, "rng.shuffle_final", &st->shuffle_final);
    put_rng(f, "rng.eval_final", &st->eval_final);
    put_rng(f, "rng.align_final", &st->align_final);
    if (fclose(f) != 0)
        return ein_err_set(err, EIN_ERR_IO, "%s: write failed", path);
    return EIN_OK;
}

ein_code ein_weights_save(const char *dir, const ein_model *m, const ein_train_state *st, ein_err *err)
{
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        return ein_err_set(err, EIN_ERR_IO, "%s: %s", dir, strerror(errno));
    ein_code rc = ein_model_save_npy(m, dir, err);
    if (rc == EIN_OK)
        rc = write_cell(dir, &m->cfg, err);
    if (rc == EIN_OK)
        rc = write_state(dir, st, err);
    return rc;
}

ein_code ein_weights_load_config(const char *dir, ein_cell_config *cfg, ein_err *err)
{
    char path[EIN_PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/cell.bin", dir);
    FILE *f = fopen(path, "rb");
    if (!f)
        return ein_err_set(err, EIN_ERR_IO, "%s: %s (was the cell run with report { weights }?)", path,
                           strerror(errno));
    char magic[8];
    uint64_t size = 0;
    bool ok = fread(magic, 1, sizeof magic, f) == sizeof magic && memcmp(magic, cell_magic, sizeof magic) == 0 &&
              fread(&size, sizeof size, 1, f) == 1;
    bool same = ok && size == sizeof *cfg && fread(cfg, sizeof *cfg, 1, f) == 1 && fgetc(f) == EOF;
    fclose(f);
    if (!ok)
        return ein_err_set(err, EIN_ERR_DATA, "%s: not a saved ein cell", path);
    if (!same)
        return ein_err_set(err, EIN_ERR_DATA, "%s: saved by an einrun build with another configuration "
                           "layout (%" PRIu64 " bytes, this one has %zu); run the cell again", path, size,
                           sizeof *cfg);
    return EIN_OK;
}

/* ---- .npy input ---------------------------------------------------------- */

/* Parse the header dict: descr, fortran_order False, shape (r,) or (r, c). */
static bool npy_header(const char *dict, int *elem, long *rows, long *cols)
{
    const char *d = strstr(dict, "'descr':");
    if (!d || !strstr(dict, "'fortran_order': False"))
        return false;
    if (strstr(d, "'<f4'"))
        *elem = 4;
    else if (strstr(d, "'<f8'"))
        *elem = 8;
    else
        return false;
    const char *s = strstr(dict, "'shape': (");
    if (!s)
        return false;
    s += 10;
    char *end;
    *rows = strtol(s, &end, 10);
    if (end == s || *rows < 1)
        return false;
    *cols = -1;                       /* (n,) is one row of n */
    while (*end == ' ' || *end == ',')
        end++;
    if (*end != ')') {
        s = end;
        *cols = strtol(s, &end, 10);
        if (end == s || *cols < 1)
            return false;
    }
    if (*cols < 0) {
        *cols = *rows;
        *rows = 1;
    }
    return true;
}

static ein_code read_npy(const char *path, ein_node *n, ein_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return ein_err_set(err, EIN_ERR_IO, "%s: %s", path, strerror(errno));
    unsigned char head[10];
    char dict[4096];
    int elem = 0;
    long rows = 0, cols = 0;
    bool ok = fread(head, 1, sizeof head, f) == sizeof head && memcmp(head, "\x93NUMPY", 6) == 0 && head[6] == 1;
    size_t hlen = ok ? (size_t)head[8] | (size_t)head[9] << 8 : 0;
    ok = ok && hlen < sizeof dict && fread(dict, 1, hlen, f) == hlen;
    if (ok) {
        dict[hlen] = '\0';
        ok = npy_header(dict, &elem, &rows, &cols);
    }
    if (!ok) {
        fclose(f);
        return ein_err_set(err, EIN_ERR_DATA, "%s: not a float32/float64 C-order .npy file", path);
    }
    if (rows != n->rows || cols != n->cols) {
        fclose(f);
        return ein_err_set(err, EIN_ERR_DATA, "%s: shape (%ld, %ld), the model's %s is (%d, %d)", path, rows,
                           cols, n->name, n->rows, n->cols);
    }
    size_t count = (size_t)rows * (size_t)cols;
    for (size_t i = 0; i < count && ok; i++) {
        float x4;
        double x8;
        if (elem == 4) {
            ok = fread(&x4, 4, 1, f) == 1;
            n->val[i] = (ein_real)x4;
        } else {
            ok = fread(&x8, 8, 1, f) == 1;
            n->val[i] = (ein_real)x8;
        }
    }
    ok = ok && fgetc(f) == EOF;
    fclose(f);
    if (!ok)
        return ein_err_set(err, EIN_ERR_DATA, "%s: expected %zu values of %d bytes, the file has another length",
                           path, count, elem);
    return EIN_OK;
}

static bool get_rng(const char *line, const char *name, ein_rng *r)
{
    size_t n = strlen(name);
    if (strncmp(line, name, n) != 0 || strncmp(line + n, " = ", 3) != 0)
        return false;
    return sscanf(line + n + 3, "%" SCNx64 " %" SCNx64 " %" SCNx64 " %" SCNx64 " %d %la", &r->s[0], &r->s[1],
                  &r->s[2], &r->s[3], &r->has_spare, &r->spare) == 6;
}

static ein_code read_state(const char *dir, ein_train_state *st, ein_err *err)
{
    char path[EIN_PATH_MAX + 16], line[256];
    snprintf(path, sizeof path, "%s/state.txt", dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return ein_err_set(err, EIN_ERR_IO, "%s: %s", path, strerror(errno));
    memset(st, 0, sizeof *st);
    int found = 0;
    st->epochs = -1;
    while (fgets(line, sizeof line, f)) {
        found += get_rng(line, "rng.shuffle", &st->shuffle) + get_rng(line, "rng.shift", &st->shift) +
                 get_rng(line, "rng.eval", &st->eval) + get_rng(line, "rng.align", &st->align) +
                 get_rng(line, "rng.shuffle_final", &st->shuffle_final) +
                 get_rng(line, "rng.eval_final", &st->eval_final) +
                 get_rng(line, "rng.align_final", &st->align_final);
        if (sscanf(line, "epochs = %d", &st->epochs) == 1)
            found++;
    }
    fclose(f);
    if (found != 8 || st->epochs < 0)
        return ein_err_set(err, EIN_ERR_DATA, "%s: incomplete training state (%d of 8 entries)", path, found);
    return EIN_OK;
}

ein_code ein_weights_load(const char *dir, ein_model *m, ein_train_state *st, ein_err *err)
{
    int n = ein_graph_n_nodes(m->graph);
    for (int i = 0; i < n; i++) {
        ein_node *node = (ein_node *)ein_graph_nodes(m->graph, i);
        if (node->kind != EIN_NODE_PARAM)
            continue;
        char path[EIN_PATH_MAX + 80];
        snprintf(path, sizeof path, "%s/%s.npy", dir, node->name);
        ein_code rc = read_npy(path, node, err);
        if (rc != EIN_OK)
            return rc;
    }
    return read_state(dir, st, err);
}
