/* bench_grid.c — grid throughput (issue 5): cells per minute of an 8-cell
 * grid on synthetic 28×28 IDX data at --jobs 1 and --jobs 2, run through the
 * real einrun binary; target speed-up >= 1.8x on 2 cores. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "ein/data.h"
#include "testutil.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int write_data(const char *dir, int n)
{
    ein_err err = {0};
    uint8_t *px = calloc((size_t)n * 784, 1), *lab = calloc((size_t)n, 1);
    unsigned s = 1;
    for (int i = 0; i < n; i++) {
        lab[i] = (uint8_t)(i % 10);
        for (int j = 0; j < 784; j++) {
            s = s * 1103515245u + 12345u;
            px[(size_t)i * 784 + (size_t)j] = (uint8_t)((s >> 16) % 64 + (j / 28 == lab[i] * 2 ? 150 : 0));
        }
    }
    char a[600], b[600];
    snprintf(a, sizeof a, "%s/train-images-idx3-ubyte", dir);
    snprintf(b, sizeof b, "%s/train-labels-idx1-ubyte", dir);
    ein_code c = ein_idx_write(a, false, n, 28, 28, px, b, lab, &err);
    snprintf(a, sizeof a, "%s/t10k-images-idx3-ubyte", dir);
    snprintf(b, sizeof b, "%s/t10k-labels-idx1-ubyte", dir);
    if (c == EIN_OK)
        c = ein_idx_write(a, false, n / 5, 28, 28, px, b, lab, &err);
    free(px);
    free(lab);
    if (c != EIN_OK)
        fprintf(stderr, "bench_grid: %s\n", err.msg);
    return c == EIN_OK ? 0 : -1;
}

int main(void)
{
    char *dir = tu_mkdtemp();
    if (!dir || write_data(dir, 3000) != 0)
        return 1;
    char text[2048], file[600];
    snprintf(text, sizeof text,
             "experiment bench {\n"
             "  data = idx(dir = \"%s\", batch = 32, eps = eps)\n"
             "  network {\n    input 784\n    hidden ei(ne = 200, fwd = variant) x 2\n"
             "    output ei(ne = 10, ni = 1, act = none, fwd = none, bwd = none)\n  }\n"
             "  train { epochs = 2  lr = 0.02  seed = seed }\n"
             "  grid {\n    eps in [0, 0.5]\n    variant in [layernorm, inorm]\n    seed in [1, 2]\n  }\n"
             "}\n", dir);
    snprintf(file, sizeof file, "%s/bench.ein", dir);
    if (tu_write_file(file, text, strlen(text)) != 0)
        return 1;
    /* run 0: --jobs 1 with one BLAS thread (the fair per-core baseline);
     * 1, 2: --jobs N with the default threads (cores / N), as users run it. */
    double rate[3] = {0};
    for (int run = 0; run <= 2; run++) {
        int jobs = run ? run : 1;
        char cmd[2048], *out = NULL;
        snprintf(cmd, sizeof cmd, "%s%s %s --jobs %d --quiet --fresh --results %s/results%d",
                 run ? "" : "OPENBLAS_NUM_THREADS=1 ", tu_einrun(), file, jobs, dir, run);
        double t0 = now();
        int rc = tu_run(cmd, &out);
        double dt = now() - t0;
        if (rc != 0) {
            fprintf(stderr, "bench_grid: einrun failed (%d):\n%s\n", rc, out ? out : "");
            free(out);
            return 1;
        }
        free(out);
        rate[run] = 8 / dt * 60;
        printf("grid 8 cells (2 epochs, 3000 images, 2x200 E/I), --jobs %d%s: %.2f s, %.1f cells/min\n",
               jobs, run ? "" : " OPENBLAS_NUM_THREADS=1", dt, rate[run]);
    }
    printf("speed-up --jobs 2 vs --jobs 1: %.2fx (target >= 1.8x on 2 cores); "
           "vs --jobs 1 with 1 BLAS thread: %.2fx\n", rate[2] / rate[1], rate[2] / rate[0]);
    tu_rmtree(dir);
    free(dir);
    return 0;
}
