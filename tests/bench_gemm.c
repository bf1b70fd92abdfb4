/* bench_gemm.c — the GEMM calls of one M7 training step (784 → 500 → 500 → 10,
 * E/I layers, model.md M1/M7) timed alone with one OpenBLAS thread: per call
 * shape, transposes, time and GFLOP/s, at batch 32 and 128.
 *
 * OpenBLAS picks its kernels (the "core type") when the library loads, from
 * OPENBLAS_CORETYPE or CPU detection, so a different core type needs a new
 * process: after its own run the benchmark re-executes itself once per
 * alternative (variable unset, SkylakeX, Zen, Cooperlake) and each run
 * reports the core OpenBLAS actually chose.  `bench_gemm --one` runs once.
 * Run by `make bench`. */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ein/graph.h"
#include "ein/real.h"

#ifdef EIN_REAL_DOUBLE
#define GEMM cblas_dgemm
#define GEMM_NAME "dgemm"
#else
#define GEMM cblas_sgemm
#define GEMM_NAME "sgemm"
#endif

double ein_now(void);   /* graph.c: monotonic seconds */

typedef struct call {
    char what[48];
    bool ta, tb;
    int m, n, k;
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
static double time_call(const call *c)
{
    unsigned seed = 7;
    int lda = c->ta ? c->m : c->k, ldb = c->tb ? c->k : c->n;
    ein_real *a = random_matrix((size_t)c->m * c->k, &seed);
    ein_real *b = random_matrix((size_t)c->k * c->n, &seed);
    ein_real *out = random_matrix((size_t)c->m * c->n, &seed);
    CBLAS_TRANSPOSE ta = c->ta ? CblasTrans : CblasNoTrans, tb = c->tb ? CblasTrans : CblasNoTrans;
    GEMM(CblasRowMajor, ta, tb, c->m, c->n, c->k, 1, a, lda, b, ldb, 0, out, c->n);   /* warm up */
    double best = 1e30;
    for (int round = 0; round < 5; round++) {
        int reps = 0;
        double t0 = ein_now(), t;
        do {
            GEMM(CblasRowMajor, ta, tb, c->m, c->n, c->k, 1, a, lda, b, ldb, 1, out, c->n);
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

static void run_once(void)
{
    ein_blas_set_threads(1);
    const char *forced = getenv("OPENBLAS_CORETYPE");
    printf("-- OpenBLAS core %s (OPENBLAS_CORETYPE=%s), 1 thread, %s\n", ein_blas_corename(),
           forced ? forced : "unset", GEMM_NAME);
    for (int B = 32; B <= 128; B *= 4) {
        call calls[MAX_CALLS];
        int n = step_calls(B, calls);
        double total_t = 0, total_flop = 0;
        printf("batch %d\n  %-22s %2s %5s %5s %5s %10s %8s\n", B, "call", "op", "m", "n", "k", "us", "GFLOP/s");
        for (int i = 0; i < n; i++) {
            double t = time_call(&calls[i]), flop = 2.0 * calls[i].m * calls[i].n * calls[i].k;
            total_t += t;
            total_flop += flop;
            printf("  %-22s %c%c %5d %5d %5d %10.1f %8.1f\n", calls[i].what, calls[i].ta ? 'T' : 'N',
                   calls[i].tb ? 'T' : 'N', calls[i].m, calls[i].n, calls[i].k, 1e6 * t, flop / t * 1e-9);
        }
        printf("  total: %d calls, %.3f ms per step, %.1f GFLOP/s\n", n, 1e3 * total_t, total_flop / total_t * 1e-9);
        printf("summary core=%s coretype=%s batch=%d step_gemm_ms=%.3f gflops=%.1f\n", ein_blas_corename(),
               forced ? forced : "unset", B, 1e3 * total_t, total_flop / total_t * 1e-9);
    }
    fflush(stdout);
}

/* Re-run this program with OPENBLAS_CORETYPE changed (NULL = unset). */
static void rerun(const char *coretype)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        perror("bench_gemm: fork");
        return;
    }
    if (pid == 0) {
        if (coretype)
            setenv("OPENBLAS_CORETYPE", coretype, 1);
        else
            unsetenv("OPENBLAS_CORETYPE");
        char *argv[] = { "bench_gemm", "--one", NULL };
        execv("/proc/self/exe", argv);
        perror("bench_gemm: exec");
        _exit(127);
    }
    int status;
    waitpid(pid, &status, 0);
}

int main(int argc, char **argv)
{
    bool one = argc > 1 && strcmp(argv[1], "--one") == 0;
    if (!one)
        printf("bench_gemm: the GEMMs of one M7 E/I training step (784-500-500-10), timed alone\n");
    run_once();
    if (one)
        return 0;
    const char *now = getenv("OPENBLAS_CORETYPE");
    const char *alternatives[] = { NULL, "SkylakeX", "Zen", "Cooperlake" };
    for (size_t i = 0; i < sizeof alternatives / sizeof alternatives[0]; i++) {
        if ((alternatives[i] == NULL && now == NULL) || (alternatives[i] && now && strcmp(now, alternatives[i]) == 0))
            continue;
        rerun(alternatives[i]);
    }
    return 0;
}
