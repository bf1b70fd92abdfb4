/* bench_scale.c — a grid and a results folder of 100 000 cells (issue 16,
 * row 8): `einrun FILE --dry-run` of a 100 000-cell grid and `einrun summary`
 * of a folder of 100 000 records, each timed and its peak RSS read from the
 * kernel (wait4).  Targets: each under 2 s and 300 MB.
 *
 * The records are real ones: a 4-cell grid is run on tiny synthetic data,
 * and its cells.jsonl and epochs.jsonl lines are repeated with fresh ids
 * (every record keeps its config object, bindings and metrics).  Run by
 * `make bench`; `bench_scale N` uses N cells instead. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Run `cmd` (sh -c) with its output thrown away; seconds and peak RSS (MB). */
static int timed(const char *cmd, double *seconds, double *rss_mb)
{
    fflush(stdout);                   /* or the child repeats what is buffered */
    double t0 = now();
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stdout) || !freopen("/dev/null", "w", stderr))
            _exit(126);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    int status;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) != pid)
        return -1;
    *seconds = now() - t0;
    *rss_mb = (double)ru.ru_maxrss / 1024.0;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Each line of `src` whose id is one of the 4 cells', `copies` times with
 * the id replaced by copy k's (records of copy k keep their own cell). */
static int repeat_lines(const char *src, const char *dst, int copies)
{
    FILE *in = fopen(src, "r"), *out = fopen(dst, "w");
    if (!in || !out) {
        if (in)
            fclose(in);
        if (out)
            fclose(out);
        return -1;
    }
    static char lines[64][65536];
    int n = 0;
    while (n < 64 && fgets(lines[n], sizeof lines[n], in))
        n++;
    fclose(in);
    for (int k = 0; k < copies; k++)
        for (int i = 0; i < n; i++) {
            char *id = strstr(lines[i], "\"id\":\"");
            if (!id)
                continue;
            unsigned h = 2166136261u;     /* the original id, folded: one per cell */
            for (int c = 6; c < 22; c++)
                h = (h ^ (unsigned char)id[c]) * 16777619u;
            char fresh[17];
            snprintf(fresh, sizeof fresh, "%08x%08x", (unsigned)k, h);
            fwrite(lines[i], 1, (size_t)(id + 6 - lines[i]), out);
            fputs(fresh, out);
            fputs(id + 6 + 16, out);
        }
    return fclose(out) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
    int cells = argc > 1 && atoi(argv[1]) > 0 ? atoi(argv[1]) : 100000;
    char *dir = tu_mkdtemp();
    if (!dir || tu_write_tiny_grid(dir, 100, 2, NULL) != 0)
        return 1;
    char cmd[4096], file[700];
    /* the grid: 4 x 5 x 10 x (cells / 200) cells of the paper's network */
    snprintf(file, sizeof file, "%s/big.ein", dir);
    FILE *f = fopen(file, "w");
    if (!f)
        return 1;
    fprintf(f, "import \"ei\"\nexperiment big {\n"
               "  data = idx(dir = \"%s\", batch = 32, eps = eps)\n"
               "  network {\n    input 784\n    hidden ei(ne = w, fwd = layernorm) x 2\n"
               "    output ei(ne = 10, ni = 1, act = none, fwd = none, bwd = none)\n  }\n"
               "  train { epochs = 50  lr = lr  seed = seed }\n"
               "  grid {\n    eps in [0, 0.25, 0.5, 0.75]\n    w in [100, 200, 300, 400, 500]\n"
               "    lr in [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1]\n"
               "    seed in 1..%d\n  }\n}\n", dir, cells / 200 > 0 ? cells / 200 : 1);
    fclose(f);
    double s, mb;
    snprintf(cmd, sizeof cmd, "EIN_NO_ESTIMATE=1 %s %s --dry-run", tu_einrun(), file);
    int rc = timed(cmd, &s, &mb);
    printf("bench_scale: --dry-run of a %d-cell grid: %.2f s, peak RSS %.0f MB (targets < 2 s, < 300 MB)%s\n",
           cells / 200 * 200, s, mb, rc ? " FAILED" : "");
    /* the folder: a real 4-cell run, its records repeated */
    snprintf(cmd, sizeof cmd, "%s %s/grid.ein --quiet --where variant=layernorm", tu_einrun(), dir);
    if (timed(cmd, &s, &mb) != 0) {
        fprintf(stderr, "bench_scale: the 4-cell run failed\n");
        return 1;
    }
    char src[800], dst[800];
    snprintf(cmd, sizeof cmd, "mkdir -p %s/big && cp %s/results/source.ein %s/results/source.sha256 %s/big/",
             dir, dir, dir, dir);
    if (system(cmd) != 0)
        return 1;
    for (int k = 0; k < 2; k++) {
        const char *kind = k ? "epochs" : "cells";
        snprintf(src, sizeof src, "%s/results/%s.jsonl", dir, kind);
        snprintf(dst, sizeof dst, "%s/big/%s.jsonl", dir, kind);
        if (repeat_lines(src, dst, cells / 4) != 0) {
            fprintf(stderr, "bench_scale: cannot write %s\n", dst);
            return 1;
        }
    }
    snprintf(cmd, sizeof cmd, "%s summary %s/big", tu_einrun(), dir);
    rc = timed(cmd, &s, &mb);
    printf("bench_scale: einrun summary of %d records: %.2f s, peak RSS %.0f MB (targets < 2 s, < 300 MB)%s\n",
           cells / 4 * 4, s, mb, rc ? " FAILED" : "");
    tu_rmtree(dir);
    free(dir);
    return 0;
}
