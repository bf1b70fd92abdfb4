/* bench_gemm.c — the GEMM calls of one M7 training step (784 → 500 → 500 → 10,
 * E/I layers, model.md M1/M7) timed alone with one OpenBLAS thread: per call
 * shape, transposes, time and GFLOP/s, at batch 32 and 128.
 *
 * OpenBLAS picks its kernels (the "core type") when the library loads, from
 * OPENBLAS_CORETYPE or CPU detection, so a different core type needs a new
 * process: after its own run the benchmark re-executes itself once per
 * alternative (variable unset, SkylakeX, Zen, Cooperlake) and each run
 * reports the core OpenBLAS actually chose; its numbers come back on a pipe
 * and the end prints every run side by side (GFLOP/s per call, step totals,
 * speed against the environment's own core type) next to ein's own kernels
 * (gemm.h: AVX2 and AVX-512, where the CPU runs them), and what stacking the first
 * layers of cells trained in lockstep into one GEMM would gain.  `bench_gemm
 * --one` runs once.
 * Run by `make bench`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ein/blas.h"
#include "ein/gemm.h"
#include "ein/graph.h"
#include "ein/real.h"

#ifdef EIN_REAL_DOUBLE
#define GEMM_NAME "dgemm"
#else
#define GEMM_NAME "sgemm"
#endif

double ein_now(void);   /* graph.c: monotonic seconds */

typedef struct call {
    char what[48];
    bool ta, tb;
    int m, n, k;
    ein_real beta;          /* as the engine calls it: 0 forward, 1 backward (gradients add) */
} call;

#define MAX_CALLS 64

/* C (m×n) = op(A) op(B), row-major, as ops.c issues them. */
static void add_call(call *calls, int *n_calls, const char *what, int layer, bool ta, bool tb, int m, int n, int k)
{
    call *c = &calls[(*n_calls)++];
    snprintf(c->what, sizeof c->what, "L%d %s", layer, what);
    c->ta = ta;
    c->tb = tb;
    c->m = m;
    c->n = n;
    c->k = k;
    c->beta = strncmp(what, "fwd", 3) == 0 ? 0 : 1;
}

/* The products of one training step of the M7 E/I network at batch B:
 * z = x W_exᵀ − (x W_ixᵀ) W_eiᵀ + b (M1) forward, and the backward of each
 * matmul (dW and, above the first layer, dx). */
static int step_calls(int B, call *calls)
{
    const int dims[4] = { 784, 500, 500, 10 };
    int n = 0;
    for (int l = 0; l < 3; l++) {
        int nin = dims[l], ne = dims[l + 1], ni = ne / 10 > 1 ? ne / 10 : 1;
        add_call(calls, &n, "fwd x.Wex^T", l + 1, false, true, B, ne, nin);
        add_call(calls, &n, "fwd x.Wix^T", l + 1, false, true, B, ni, nin);
        add_call(calls, &n, "fwd h.Wei^T", l + 1, false, true, B, ne, ni);
        add_call(calls, &n, "bwd dWex=dz^T.x", l + 1, true, false, ne, nin, B);
        add_call(calls, &n, "bwd dh=dz.Wei", l + 1, false, false, B, ni, ne);
        add_call(calls, &n, "bwd dWei=dz^T.h", l + 1, true, false, ne, ni, B);
        add_call(calls, &n, "bwd dWix=dh^T.x", l + 1, true, false, ni, nin, B);
        if (l > 0) {
            add_call(calls, &n, "bwd dx=dz.Wex", l + 1, false, false, B, nin, ne);
            add_call(calls, &n, "bwd dx+=dh.Wix", l + 1, false, false, B, nin, ni);
        }
    }
    return n;
}

static ein_real *random_matrix(size_t len, unsigned *seed)
{
    ein_real *m = malloc(len * sizeof *m);
    if (m == NULL) {
        fprintf(stderr, "bench_gemm: out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < len; i++)
        m[i] = (ein_real)(rand_r(seed) % 2001 - 1000) / 1000;
    return m;
}

/* Seconds per call: best of 5 rounds of ≥ 5 ms each (the machine is shared: the minimum is the least disturbed). */
static double time_call(const call *c, ein_gemm_kernel kernel)
{
    unsigned seed = 7;
    int lda = c->ta ? c->m : c->k, ldb = c->tb ? c->k : c->n;
    ein_real *a = random_matrix((size_t)c->m * c->k, &seed);
    ein_real *b = random_matrix((size_t)c->k * c->n, &seed);
    ein_real *out = random_matrix((size_t)c->m * c->n, &seed);
    ein_gemm(kernel, c->ta, c->tb, c->m, c->n, c->k, 1, a, lda, b, ldb, 0, out, c->n);   /* warm up */
    double best = 1e30;
    for (int round = 0; round < 5; round++) {
        int reps = 0;
        double t0 = ein_now(), t;
        do {
            ein_gemm(kernel, c->ta, c->tb, c->m, c->n, c->k, 1, a, lda, b, ldb, c->beta, out, c->n);
            reps++;
        } while ((t = ein_now() - t0) < 0.005);
        if (t / reps < best)
            best = t / reps;
    }
    free(a);
    free(b);
    free(out);
    return best;
}

/* One run's results: the core OpenBLAS chose and seconds per call, per batch. */
typedef struct run_result {
    char coretype[32];      /* OPENBLAS_CORETYPE as set for the run ("unset"), or "ein" */
    char core[32];          /* ein_blas_corename() inside the run, or our kernel's name */
    int n_calls;
    double sec[2][MAX_CALLS];
    bool ok;
} run_result;

static const int BATCHES[2] = { 32, 128 };

/* Every call on `kernel`: the BLAS (as the environment set it up) or ours. */
static void run_once(run_result *r, ein_gemm_kernel kernel)
{
    ein_blas_set_threads(1);
    const char *forced = getenv("OPENBLAS_CORETYPE");
    memset(r, 0, sizeof *r);
    if (kernel == EIN_GEMM_BLAS) {
        snprintf(r->coretype, sizeof r->coretype, "%s", forced ? forced : "unset");
        snprintf(r->core, sizeof r->core, "%s", ein_blas_corename());
        printf("-- OpenBLAS core %s (OPENBLAS_CORETYPE=%s), 1 thread, %s\n", r->core, r->coretype, GEMM_NAME);
    } else {
        snprintf(r->coretype, sizeof r->coretype, "ein");
        snprintf(r->core, sizeof r->core, "%s", ein_gemm_kernel_name(kernel));
        printf("-- ein's own %s kernels (gemm.h; the BLAS for what they do not run), %s\n", r->core, GEMM_NAME);
    }
    for (int bi = 0; bi < 2; bi++) {
        int B = BATCHES[bi];
        call calls[MAX_CALLS];
        int n = step_calls(B, calls);
        double total_t = 0, total_flop = 0;
        printf("batch %d\n  %-22s %2s %5s %5s %5s %10s %8s\n", B, "call", "op", "m", "n", "k", "us", "GFLOP/s");
        for (int i = 0; i < n; i++) {
            double t = time_call(&calls[i], kernel), flop = 2.0 * calls[i].m * calls[i].n * calls[i].k;
            r->sec[bi][i] = t;
            total_t += t;
            total_flop += flop;
            printf("  %-22s %c%c %5d %5d %5d %10.1f %8.1f\n", calls[i].what, calls[i].ta ? 'T' : 'N',
                   calls[i].tb ? 'T' : 'N', calls[i].m, calls[i].n, calls[i].k, 1e6 * t, flop / t * 1e-9);
        }
        r->n_calls = n;
        printf("  total: %d calls, %.3f ms per step, %.1f GFLOP/s\n", n, 1e3 * total_t, total_flop / total_t * 1e-9);
        printf("summary core=%s coretype=%s batch=%d step_gemm_ms=%.3f gflops=%.1f\n", r->core, r->coretype, B,
               1e3 * total_t, total_flop / total_t * 1e-9);
    }
    r->ok = true;
    fflush(stdout);
}

/* The GEMM side of issue 15's "cells in lockstep" lever: k cells that see
 * the same batch could put their first layers' W_ex side by side, one GEMM
 * with N = k × 500 instead of k GEMMs with N = 500 (forward x W_exᵀ and the
 * weight gradient dzᵀ x, 784 inputs).  Prints seconds of both ways and the
 * speed-up, the most lockstep could win on these products. */
static void stacked_cells(void)
{
    static const int CELLS[] = { 2, 4, 11 };
    printf("\nlockstep: k first layers (784 -> 500) as one GEMM of k x 500 columns, against k GEMMs\n");
    printf("  %-22s %5s %3s %12s %12s %9s\n", "call", "batch", "k", "k calls us", "stacked us", "speed-up");
    for (int bi = 0; bi < 2; bi++)
        for (int ci = 0; ci < (int)(sizeof CELLS / sizeof CELLS[0]); ci++)
            for (int dir = 0; dir < 2; dir++) {
                int B = BATCHES[bi], k = CELLS[ci];
                call one = dir ? (call){ "bwd dWex=dz^T.x", true, false, 500, 784, B, 1 }
                               : (call){ "fwd x.Wex^T", false, true, B, 500, 784, 0 };
                call all = one;
                if (dir)
                    all.m *= k;
                else
                    all.n *= k;
                double apart = k * time_call(&one, EIN_GEMM_BLAS), together = time_call(&all, EIN_GEMM_BLAS);
                printf("  %-22s %5d %3d %12.1f %12.1f %8.2fx\n", one.what, B, k, 1e6 * apart, 1e6 * together,
                       apart / together);
            }
}

/* The child's results for the parent, one line each, on the report pipe. */
static void write_report(FILE *f, const run_result *r)
{
    fprintf(f, "core %s\ncoretype %s\nn %d\n", r->core, r->coretype, r->n_calls);
    for (int bi = 0; bi < 2; bi++)
        for (int i = 0; i < r->n_calls; i++)
            fprintf(f, "t %d %d %.9e\n", bi, i, r->sec[bi][i]);
}

static void read_report(FILE *f, run_result *r)
{
    char line[128];
    int count = 0;
    while (fgets(line, sizeof line, f) != NULL) {
        int bi, i;
        double t;
        if (strncmp(line, "core ", 5) == 0)
            sscanf(line + 5, "%31s", r->core);
        else if (strncmp(line, "coretype ", 9) == 0)
            sscanf(line + 9, "%31s", r->coretype);
        else if (strncmp(line, "n ", 2) == 0)
            sscanf(line + 2, "%d", &r->n_calls);
        else if (sscanf(line, "t %d %d %lf", &bi, &i, &t) == 3 && bi >= 0 && bi < 2 && i >= 0 && i < MAX_CALLS) {
            r->sec[bi][i] = t;
            count++;
        }
    }
    r->ok = r->n_calls > 0 && count == 2 * r->n_calls;
}

/* Re-run this program with OPENBLAS_CORETYPE changed (NULL = unset); its
 * detailed table goes to our stdout, its numbers come back on a pipe. */
static void rerun(const char *coretype, run_result *r)
{
    memset(r, 0, sizeof *r);
    snprintf(r->coretype, sizeof r->coretype, "%s", coretype ? coretype : "unset");
    snprintf(r->core, sizeof r->core, "?");
    fflush(stdout);
    int fd[2];
    if (pipe(fd) != 0) {
        perror("bench_gemm: pipe");
        return;
    }
    pid_t pid = fork();
    if (pid < 0) {
        perror("bench_gemm: fork");
        close(fd[0]);
        close(fd[1]);
        return;
    }
    if (pid == 0) {
        close(fd[0]);
        if (fd[1] != 3) {
            dup2(fd[1], 3);
            close(fd[1]);
        }
        if (coretype)
            setenv("OPENBLAS_CORETYPE", coretype, 1);
        else
            unsetenv("OPENBLAS_CORETYPE");
        char *argv[] = { "bench_gemm", "--one", "--report", NULL };
        execv("/proc/self/exe", argv);
        perror("bench_gemm: exec");
        _exit(127);
    }
    close(fd[1]);
    FILE *f = fdopen(fd[0], "r");
    if (f != NULL) {
        read_report(f, r);
        fclose(f);
    } else {
        close(fd[0]);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
        r->ok = false;
        if (WIFSIGNALED(status))
            printf("-- OPENBLAS_CORETYPE=%s: killed by signal %d\n", r->coretype, WTERMSIG(status));
        else
            printf("-- OPENBLAS_CORETYPE=%s: exit status %d\n", r->coretype, WEXITSTATUS(status));
    }
}

/* Every run's GFLOP/s per call, one column per run, then the step totals. */
static void side_by_side(const run_result *runs, int n_runs)
{
    printf("\nside by side: GFLOP/s per call (%s, 1 thread); columns are OPENBLAS_CORETYPE -> core chosen,\n"
           "or ein -> our own kernels\n", GEMM_NAME);
    for (int bi = 0; bi < 2; bi++) {
        call calls[MAX_CALLS];
        int n = step_calls(BATCHES[bi], calls);
        printf("batch %d\n  %-22s %-17s", BATCHES[bi], "call", "m x n x k");
        for (int r = 0; r < n_runs; r++) {
            char label[80];
            snprintf(label, sizeof label, "%.31s->%.31s", runs[r].coretype, runs[r].core);
            printf(" %22s", label);
        }
        printf("\n");
        double total_t[8] = { 0 }, flop_all = 0;
        for (int i = 0; i < n; i++) {
            char shape[32];
            double flop = 2.0 * calls[i].m * calls[i].n * calls[i].k;
            flop_all += flop;
            snprintf(shape, sizeof shape, "%dx%dx%d", calls[i].m, calls[i].n, calls[i].k);
            printf("  %-22s %-17s", calls[i].what, shape);
            for (int r = 0; r < n_runs; r++) {
                if (runs[r].ok && runs[r].n_calls == n) {
                    printf(" %22.1f", flop / runs[r].sec[bi][i] * 1e-9);
                    total_t[r] += runs[r].sec[bi][i];
                } else {
                    printf(" %22s", "-");
                }
            }
            printf("\n");
        }
        printf("  %-40s", "step GEMMs, ms");
        for (int r = 0; r < n_runs; r++)
            if (runs[r].ok)
                printf(" %22.3f", 1e3 * total_t[r]);
            else
                printf(" %22s", "failed");
        printf("\n  %-40s", "step GEMMs, GFLOP/s");
        for (int r = 0; r < n_runs; r++)
            if (runs[r].ok)
                printf(" %22.1f", flop_all / total_t[r] * 1e-9);
            else
                printf(" %22s", "-");
        printf("\n  %-40s", "speed vs first column");
        for (int r = 0; r < n_runs; r++)
            if (runs[r].ok && runs[0].ok)
                printf(" %21.2fx", total_t[0] / total_t[r]);
            else
                printf(" %22s", "-");
        printf("\n");
    }
}

int main(int argc, char **argv)
{
    bool one = argc > 1 && strcmp(argv[1], "--one") == 0;
    bool report = one && argc > 2 && strcmp(argv[2], "--report") == 0;
    if (!one)
        printf("bench_gemm: the GEMMs of one M7 E/I training step (784-500-500-10), timed alone\n");
    run_result runs[8];
    int n_runs = 0;
    run_once(&runs[n_runs++], EIN_GEMM_BLAS);
    if (report) {
        FILE *f = fdopen(3, "w");
        if (f == NULL) {
            perror("bench_gemm: report");
            return 1;
        }
        write_report(f, &runs[0]);
        return fclose(f) == 0 ? 0 : 1;
    }
    if (one)
        return 0;
    stacked_cells();
    /* OpenBLAS's own detection first (the variable unset), then kernels
     * named explicitly; the environment's own choice is the first column */
    const char *now = getenv("OPENBLAS_CORETYPE");
    const char *alternatives[] = { NULL, "SkylakeX", "Zen", "Cooperlake" };
    for (size_t i = 0; i < sizeof alternatives / sizeof alternatives[0]; i++) {
        if ((alternatives[i] == NULL && now == NULL) || (alternatives[i] && now && strcmp(now, alternatives[i]) == 0))
            continue;
        rerun(alternatives[i], &runs[n_runs++]);
    }
    /* ours do not depend on OpenBLAS's core type: once each, in this process */
    const ein_gemm_kernel own[] = { EIN_GEMM_AVX2, EIN_GEMM_AVX512 };
    for (size_t i = 0; i < sizeof own / sizeof own[0]; i++)
        if (ein_gemm_is_own(own[i], false, true) && ein_gemm_kernel_supported(own[i]))
            run_once(&runs[n_runs++], own[i]);
    side_by_side(runs, n_runs);
    return 0;
}
