/* targets.c — the fuzz targets (targets.h). */
#define _GNU_SOURCE   /* memfd_create */
#include "targets.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ein/ast.h"
#include "ein/check.h"
#include "ein/data.h"
#include "ein/diag.h"
#include "ein/parse.h"

int ein_fuzz_check(const uint8_t *data, size_t size)
{
    const char *stdlib_dir = getenv("EIN_FUZZ_STDLIB");
    ein_check_options opt = { .stdlib_dir = stdlib_dir ? stdlib_dir : "stdlib", .ein_path = "" };
    ein_diag *d = ein_diag_new();
    if (!d)
        return 0;
    ein_program *p = ein_parse_buffer(d, "fuzz.ein", (const char *)data, size, NULL);
    ein_module *m = p ? ein_check_program(d, p, "fuzz.ein", &opt) : NULL;
    /* Printing exercises the caret and did-you-mean code on whatever the
     * locations are. */
    FILE *devnull = fopen("/dev/null", "w");
    if (devnull) {
        ein_diag_print(d, devnull);
        fclose(devnull);
    }
    ein_module_free(m);
    ein_program_free(p);
    ein_diag_free(d);
    return 0;
}

/* One in-memory file per role, made once per process; the path
 * /proc/self/fd/N goes through the loader's ordinary open(). */
static int mem_file(int *fd, const char *name, char path[64])
{
    if (*fd < 0)
        *fd = memfd_create(name, 0);
    if (*fd < 0)
        return -1;
    snprintf(path, 64, "/proc/self/fd/%d", *fd);
    return 0;
}

static int fill(int fd, const uint8_t *p, size_t n)
{
    if (ftruncate(fd, 0) != 0)
        return -1;
    size_t off = 0;
    while (off < n) {
        ssize_t w = pwrite(fd, p + off, n - off, (off_t)off);
        if (w <= 0)
            return -1;
        off += (size_t)w;
    }
    return 0;
}

int ein_fuzz_idx(const uint8_t *data, size_t size)
{
    static int fd_images = -1, fd_labels = -1;
    char images[64], labels[64];
    if (size < 1 || mem_file(&fd_images, "images", images) != 0 ||
        mem_file(&fd_labels, "labels", labels) != 0)
        return 0;
    /* data[0]: low 6 bits place the cut between the two files (in 64ths of
     * the rest), high 2 bits pick the limit: all, 1, 2, 5 records. */
    static const long limits[4] = { 0, 1, 2, 5 };
    long limit = limits[data[0] >> 6];
    size_t rest = size - 1;
    size_t cut = rest * (data[0] & 63u) / 63u;
    if (fill(fd_images, data + 1, cut) != 0 || fill(fd_labels, data + 1 + cut, rest - cut) != 0)
        return 0;
    ein_dataset *ds = NULL;
    ein_err err = { 0 };
    if (ein_dataset_load_files(images, labels, limit, &ds, &err) == EIN_OK) {
        if (ds->n < 1 || ds->dim < 1 || ds->dim > EIN_DATA_MAX_PIXELS)
            abort();
        ein_real *x = malloc((size_t)ds->dim * 4 * sizeof *x);
        int32_t y[4];
        if (x) {
            int got = ein_batch_fill(ds, NULL, ds->n > 4 ? ds->n - 4 : 0, 4, 0.5, false, 0.25, NULL, x, y);
            for (int i = 0; i < got; i++)
                if (y[i] < 0 || y[i] >= ds->classes)
                    abort();
            free(x);
        }
        ein_dataset_free(ds);
    } else if (err.code == EIN_OK || err.msg[0] == '\0') {
        abort();   /* a failure must say what failed */
    }
    return 0;
}

static char *print_to_string(const ein_program *p)
{
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    if (!f)
        return NULL;
    ein_program_print(p, f);
    fclose(f);
    return out;
}

static void violated(const char *what, const char *text)
{
    fprintf(stderr, "fmt property violated: %s\n--- printed\n%s--- end\n", what, text ? text : "(null)");
    abort();
}

int ein_fuzz_fmt(const uint8_t *data, size_t size)
{
    ein_diag *d = ein_diag_new();
    if (!d)
        return 0;
    ein_program *p1 = ein_parse_buffer(d, "fuzz.ein", (const char *)data, size, NULL);
    if (p1) {
        char *t1 = print_to_string(p1);
        ein_program *p2 = t1 ? ein_parse_buffer(d, "printed", t1, strlen(t1), NULL) : NULL;
        if (t1 && !p2)
            violated("the printed form does not parse", t1);
        if (p2 && !ein_program_equal(p1, p2))
            violated("the printed form parses to a different AST", t1);
        if (p2 && p1->n_comments != p2->n_comments)
            violated("comments were lost or added", t1);
        char *t2 = p2 ? print_to_string(p2) : NULL;
        if (t2 && strcmp(t1, t2) != 0)
            violated("printing is not a fixed point", t1);
        free(t2);
        ein_program_free(p2);
        free(t1);
        ein_program_free(p1);
    }
    ein_diag_free(d);
    return 0;
}
