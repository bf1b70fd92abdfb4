/* bench_step.c — one training step of the M7 network (784 → 500 → 500 → 10)
 * per variant, at batch 32 and 128, with one BLAS thread: step time, the
 * share of it inside GEMM (engine profiling), the same GEMM calls replayed
 * alone, the step's GEMM work as a share of one core's FMA peak (measured
 * here, by an FMA loop), each step against the E/I + LN step of its batch,
 * each model's arena and this benchmark's peak RSS (every variant of a batch
 * alive at once); times are this thread's CPU time, the best of 10 rounds
 * that interleave the variants.
 * Targets (issue 15, batch 32): I-Norm + GradNorm ≤ 1.6 × E/I + LN; GEMM
 * share ≥ 90 %; E/I + LN ≥ 70 % of the FMA peak; no allocation in the step;
 * peak RSS < 100 MB.  The last lines print the targets and the floors that
 * the GEMM calls alone set (no step can beat its own GEMMs).  Run by `make bench`; `bench_step [STEPS] [--batch N]
 * [--profile] [VARIANT...]` runs a subset (make bench-torch does); --profile
 * adds a line per variant: milliseconds per step of each op, over its nodes
 * (a matmul's include its GEMMs), and outside every node (the optimizer, the
 * clearing of gradients), then a line per GEMM shape (forward x·Wᵀ, error
 * dZ·W, weights dZᵀ·X) with its time and GFLOP/s inside the step, from the
 * best profiled round. */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "ein/blas.h"
#include "ein/gemm.h"
#include "ein/graph.h"
#include "ein/model.h"
#include "ein/optim.h"
#include "../src/graph_impl.h"

typedef struct variant {
    const char *name;
    ein_layer_kind kind;
    ein_fwd_norm fwd;
    ein_bwd_norm bwd;
    ein_gemm_kernel gemm;   /* AUTO: $EIN_GEMM, else ours (gemm.h) */
} variant;

static const variant variants[] = {
    { "ei_nonorm", EIN_LAYER_EI, EIN_FWD_NONE, EIN_BWD_NONE, EIN_GEMM_AUTO },
    { "ei_ln", EIN_LAYER_EI, EIN_FWD_LAYERNORM, EIN_BWD_NONE, EIN_GEMM_AUTO },
    { "e_ln", EIN_LAYER_E_ONLY, EIN_FWD_LAYERNORM, EIN_BWD_NONE, EIN_GEMM_AUTO },
    { "inorm", EIN_LAYER_EI, EIN_FWD_INORM, EIN_BWD_NONE, EIN_GEMM_AUTO },
    { "inorm_gn", EIN_LAYER_EI, EIN_FWD_INORM, EIN_BWD_FULL, EIN_GEMM_AUTO },
    { "inorm_fa_center", EIN_LAYER_EI, EIN_FWD_INORM, EIN_BWD_FA_CENTER, EIN_GEMM_AUTO },
    { "inorm_sub", EIN_LAYER_EI, EIN_FWD_INORM_SUB, EIN_BWD_NONE, EIN_GEMM_AUTO },
    /* the same steps with every product on the BLAS: what our kernels win */
    { "ei_ln/blas", EIN_LAYER_EI, EIN_FWD_LAYERNORM, EIN_BWD_NONE, EIN_GEMM_BLAS },
    { "inorm_gn/blas", EIN_LAYER_EI, EIN_FWD_INORM, EIN_BWD_FULL, EIN_GEMM_BLAS },
};
enum { V_EI_LN = 1, V_INORM_GN = 4, V_EI_LN_BLAS = 7, V_INORM_GN_BLAS = 8 };

#define ROUNDS 10

/* This thread's CPU time: the machine is shared, and other processes' time
 * slices must not count against a step (one BLAS thread runs in the caller).
 * The profiled round's GEMM share is wall time inside the engine (ein_now). */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
#define N_VARIANTS (sizeof variants / sizeof variants[0])

typedef struct result {
    double step, gemm_share, flops;      /* seconds, fraction, GEMM flops per step */
    double gemm_alone;                   /* seconds of the step's GEMM calls replayed alone */
} result;

#if defined(__x86_64__)
/* One core's FMA peak in ein_real flops per second: 12 independent chains of
 * FMAs in registers (enough to cover latency × throughput on every AVX2 and
 * AVX-512 core); the empty asm keeps each chain live without touching memory.
 * One body for both widths: OpenBLAS's AVX-512 kernels run where the CPU has
 * them, and a 256-bit peak would put them above 100 %. */
#define CHAINS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
#define PEAK_RUN(name, isa, V)      /* with PEAK_SET, PEAK_FMA, PEAK_ADD of V */          \
    __attribute__((target(isa))) static double name(long iters)                          \
    {                                                                                   \
        V mul = PEAK_SET((ein_real)0.999999), add = PEAK_SET((ein_real)1e-7);            \
        CHAINS(PEAK_INIT)                                                               \
        double t0 = cpu_now();                                                          \
        for (long i = 0; i < iters; i++) {                                              \
            CHAINS(PEAK_STEP)                                                           \
        }                                                                               \
        double t = cpu_now() - t0;                                                      \
        V sum = PEAK_SET(0);                                                            \
        CHAINS(PEAK_FOLD)                                                               \
        ein_real lanes[sizeof(V) / sizeof(ein_real)];                                   \
        memcpy(lanes, &sum, sizeof lanes);                                              \
        if (lanes[0] == 42)                 /* keep the chains live */                  \
            fputs("", stderr);                                                          \
        return 2.0 * (double)(sizeof(V) / sizeof(ein_real)) * 12 * (double)iters / t;   \
    }
#define PEAK_INIT(k) __typeof__(mul) a##k = PEAK_SET((ein_real)(1 + k));
#define PEAK_STEP(k) a##k = PEAK_FMA(a##k, mul, add); __asm__ volatile("" : "+v"(a##k));
#define PEAK_FOLD(k) sum = PEAK_ADD(sum, a##k);
#ifdef EIN_REAL_DOUBLE
#define PEAK_SET _mm256_set1_pd
#define PEAK_FMA _mm256_fmadd_pd
#define PEAK_ADD _mm256_add_pd
PEAK_RUN(fma_peak_run, "avx2,fma", __m256d)
#undef PEAK_SET
#undef PEAK_FMA
#undef PEAK_ADD
#define PEAK_SET _mm512_set1_pd
#define PEAK_FMA _mm512_fmadd_pd
#define PEAK_ADD _mm512_add_pd
PEAK_RUN(fma_peak512_run, "avx512f", __m512d)
#else
#define PEAK_SET _mm256_set1_ps
#define PEAK_FMA _mm256_fmadd_ps
#define PEAK_ADD _mm256_add_ps
PEAK_RUN(fma_peak_run, "avx2,fma", __m256)
#undef PEAK_SET
#undef PEAK_FMA
#undef PEAK_ADD
#define PEAK_SET _mm512_set1_ps
#define PEAK_FMA _mm512_fmadd_ps
#define PEAK_ADD _mm512_add_ps
PEAK_RUN(fma_peak512_run, "avx512f", __m512)
#endif

/* Best of ROUNDS runs of ~0.1 s (the machine is shared), with the widest
 * FMAs the CPU has; 0 without AVX2/FMA.  *width gets 256 or 512. */
static double fma_peak(int *width)
{
    __builtin_cpu_init();
    *width = 0;
    if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma"))
        return 0;
    bool wide = __builtin_cpu_supports("avx512f");
    *width = wide ? 512 : 256;
    double best = 0;
    for (int r = 0; r < 2 * ROUNDS; r++)
        best = fmax(best, wide ? fma_peak512_run(20 * 1000 * 1000) : fma_peak_run(20 * 1000 * 1000));
    return best;
}
#else
static double fma_peak(int *width) { *width = 0; return 0; }
#endif

/* Profiled seconds per step of the nodes of one op (--profile). */
typedef struct op_time {
    const char *op;
    double seconds;
} op_time;
#define MAX_OPS 32

/* One variant's model at one batch and its best times so far. */
typedef struct rig {
    const variant *v;
    ein_model *m;
    ein_optim *opt;
    long allocs;
    double step, profiled, gemm_in_step, gemm_alone, flops;
    op_time ops[MAX_OPS];               /* the best profiled round's, by op */
    int n_ops;
    double outside;                     /* its seconds per step outside every node */
    ein_gemm_shape_time shapes[EIN_GRAPH_GEMM_SHAPES];   /* its GEMMs by shape, by time */
    int n_shapes;
} rig;

static void rig_setup(rig *r, const variant *v, int batch)
{
    ein_cell_config cfg;
    ein_config_defaults(&cfg);
    cfg.train.batch = batch;
    for (int l = 0; l < cfg.n_hidden; l++) {
        cfg.hidden[l].kind = v->kind;
        cfg.hidden[l].fwd = v->fwd;
        cfg.hidden[l].bwd = v->bwd;
    }
    if (v->fwd == EIN_FWD_INORM || v->fwd == EIN_FWD_INORM_SUB)
        cfg.losses[cfg.n_losses++] = (ein_loss_config){ .kind = EIN_LOSS_INORM, .weight = -1, .groups = EIN_GROUPS_DEFAULT };
    ein_err err = { 0 };
    *r = (rig){ .v = v, .step = INFINITY, .profiled = INFINITY, .gemm_alone = INFINITY };
    if (ein_model_build(&cfg, 784, 10, batch, false, &r->m, &err) != EIN_OK || ein_model_init(r->m, &err) != EIN_OK) {
        fprintf(stderr, "bench_step: %s\n", err.msg);
        exit(1);
    }
    if (v->gemm != EIN_GEMM_AUTO)
        ein_graph_set_gemm(r->m->graph, v->gemm);
    ein_group_settings groups[EIN_GROUP_COUNT];
    ein_group_settings_from_config(&r->m->cfg.train, groups);
    r->opt = ein_optim_new(r->m->graph, EIN_OPT_SGD, groups, 0.9, 0.999, 1e-8, &err);
    ein_rng rng;
    ein_rng_init(&rng, 1, 1);
    for (int k = 0; k < batch * 784; k++)
        r->m->x->val[k] = (ein_real)ein_rng_uniform(&rng);
    int32_t *labels = ein_graph_labels(r->m->graph);
    for (int b = 0; b < batch; b++)
        labels[b] = b % 10;
    ein_graph_set_batch(r->m->graph, batch);
    for (int s = 0; s < 10; s++) {                 /* warm up caches and BLAS buffers */
        ein_graph_forward(r->m->graph, r->m->train_plan);
        ein_optim_backward_step(r->opt);
    }
    r->allocs = ein_graph_alloc_count(r->m->graph);
}

static void steps_of(rig *r, int n)
{
    for (int s = 0; s < n; s++) {
        ein_graph_forward(r->m->graph, r->m->train_plan);
        ein_optim_backward_step(r->opt);
    }
}

/* One round of each measurement; a rig keeps its best (least disturbed) one.
 * Each round first runs WARM steps untimed: the other rigs' rounds have
 * pushed this one's arena out of the caches, and a worker training one cell
 * never pays that (the cost grows with the arena: an I-Norm rig's is 2.4×
 * an LN rig's). */
#define WARM 2

static void round_step(rig *r, int n)
{
    steps_of(r, WARM);
    double t0 = cpu_now();
    steps_of(r, n);
    r->step = fmin(r->step, (cpu_now() - t0) / n);
}

/* qsort orders for the profile tables: more seconds first. */
static int slower_first(double a, double b) { return (a < b) - (a > b); }
static int op_slower_first(const void *a, const void *b)
{
    return slower_first(((const op_time *)a)->seconds, ((const op_time *)b)->seconds);
}
static int shape_slower_first(const void *a, const void *b)
{
    return slower_first(((const ein_gemm_shape_time *)a)->seconds, ((const ein_gemm_shape_time *)b)->seconds);
}

/* Each op's share of the profiled round (ein_graph_op_seconds: over its
 * nodes, a matmul's including its GEMMs), largest first, what the round
 * spent outside every node, and its GEMMs by shape, slowest first. */
static void collect_ops(rig *r, int n)
{
    ein_graph *g = r->m->graph;
    r->n_ops = 0;
    for (int i = 0; i < ein_graph_n_nodes(g) && r->n_ops < MAX_OPS; i++) {
        const ein_node *node = ein_graph_nodes(g, i);
        int k = 0;
        while (node->op != NULL && k < r->n_ops && strcmp(r->ops[k].op, node->op->name) != 0)
            k++;
        if (node->op != NULL && k == r->n_ops)
            r->ops[r->n_ops++] = (op_time){ node->op->name, ein_graph_op_seconds(g, node->op->name) / n };
    }
    r->outside = r->profiled - ein_graph_op_seconds(g, NULL) / n;
    qsort(r->ops, (size_t)r->n_ops, sizeof r->ops[0], op_slower_first);
    const ein_gemm_shape_time *shapes;
    r->n_shapes = ein_graph_gemm_shapes(g, &shapes);
    memcpy(r->shapes, shapes, (size_t)r->n_shapes * sizeof *shapes);
    qsort(r->shapes, (size_t)r->n_shapes, sizeof r->shapes[0], shape_slower_first);
}

/* What a product of the step is, from its transposes (ops.c's matmul). */
static const char *gemm_role(const ein_gemm_shape_time *s)
{
    return !s->ta && s->tb ? "forward x.W^T" : !s->ta ? "error dZ.W" : !s->tb ? "weights dZ^T.X" : "other";
}

/* The step's GEMMs by shape, slowest first, down to 2 % of their time:
 * milliseconds per step and GFLOP/s inside the step (--profile). */
static void report_shapes(const rig *r, int steps)
{
    double total = 0;
    for (int k = 0; k < r->n_shapes; k++)
        total += r->shapes[k].seconds;
    for (int k = 0; k < r->n_shapes && r->shapes[k].seconds > 0 && r->shapes[k].seconds >= 0.02 * total; k++) {
        const ein_gemm_shape_time *s = &r->shapes[k];
        printf("%-16s %5s   gemm %c%c %4d x %4d x %4d  %-15s %2ld/step %7.3f ms %7.1f GFLOP/s\n", r->v->name, "",
               s->ta ? 'T' : 'N', s->tb ? 'T' : 'N', s->m, s->n, s->k, gemm_role(s), s->calls / steps,
               1e3 * s->seconds / steps, 2.0 * s->m * s->n * s->k * (double)s->calls / s->seconds * 1e-9);
    }
}

static void report_ops(const rig *r, int batch)
{
    printf("%-16s %5d", r->v->name, batch);
    for (int k = 0; k < r->n_ops; k++)
        if (1e3 * r->ops[k].seconds >= 0.0005)
            printf(" %s %.3f", r->ops[k].op, 1e3 * r->ops[k].seconds);
    printf(" (outside nodes %.3f)\n", 1e3 * r->outside);
}

static void round_profiled(rig *r, int n)
{
    ein_graph *g = r->m->graph;
    steps_of(r, WARM);
    ein_graph_profile(g, true);
    ein_graph_profile_reset(g);
    double t0 = ein_now();
    steps_of(r, n);
    double t = (ein_now() - t0) / n;
    if (t < r->profiled) {
        r->profiled = t;
        r->gemm_in_step = ein_graph_gemm_seconds(g) / n;
        r->flops = ein_graph_gemm_flops(g) / n;
        collect_ops(r, n);
    }
    ein_graph_profile(g, false);
}

static void round_replay(rig *r, int n)
{
    for (int s = 0; s < WARM; s++)
        ein_graph_replay_gemm(r->m->graph);
    double t0 = cpu_now();
    for (int s = 0; s < n; s++)
        ein_graph_replay_gemm(r->m->graph);
    r->gemm_alone = fmin(r->gemm_alone, (cpu_now() - t0) / n);
}

static result report(rig *r, int batch, double peak, double ln_step)
{
    char of_peak[16] = "-", vs_ln[16] = "-";
    if (peak > 0)
        snprintf(of_peak, sizeof of_peak, "%.1f%%", 100 * r->flops / r->step / peak);
    if (ln_step > 0)
        snprintf(vs_ln, sizeof vs_ln, "%.2fx", r->step / ln_step);
    printf("%-16s %5d %9.3f %9.3f %9.3f %9.1f%% %9.1f%% %8.1f %8s %7s %8.1f %s\n", r->v->name, batch, 1e3 * r->step,
           1e3 * r->gemm_in_step, 1e3 * r->gemm_alone, 100 * r->gemm_in_step / r->profiled,
           100 * r->gemm_alone / r->step, 1e-9 * r->flops / r->step, of_peak, vs_ln,
           ein_graph_bytes(r->m->graph) / 1e6,
           ein_graph_alloc_count(r->m->graph) == r->allocs ? "" : "ALLOCATED IN STEP");
    return (result){ r->step, r->gemm_in_step / r->profiled, r->flops, r->gemm_alone };
}

static bool wanted(const char *name, int argc, char **argv)
{
    bool any = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--batch") == 0) {
            i++;
            continue;
        }
        if (strcmp(argv[i], "--profile") == 0)
            continue;
        if (atoi(argv[i]) > 0)
            continue;
        any = true;
        if (strcmp(argv[i], name) == 0)
            return true;
    }
    return !any;
}

/* bench_step [STEPS] [--batch N] [VARIANT...]: all variants at batch 32 and 128 by default. */
int main(int argc, char **argv)
{
    int steps = 100, only_batch = 0;
    bool profile = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--batch") == 0 && i + 1 < argc)
            only_batch = atoi(argv[++i]);
        else if (strcmp(argv[i], "--profile") == 0)
            profile = true;
        else if (atoi(argv[i]) > 0)
            steps = atoi(argv[i]);
    }
    ein_blas_choose_kernels(argv);      /* the kernels einrun runs on this CPU */
    ein_blas_set_threads(1);
    const char *forced = getenv("EIN_OPENBLAS_CORETYPE_AUTO") ? "unset: einrun's choice, as OpenBLAS fell back to SSE3"
                                                               : getenv("OPENBLAS_CORETYPE");
    printf("bench_step: M7 net 784-500-500-10, SGD, %s, 1 BLAS thread, OpenBLAS core %s (OPENBLAS_CORETYPE=%s)\n",
           EIN_REAL_NAME, ein_blas_corename(), forced ? forced : "unset");
    int gemm = ein_gemm_kernel_from_env();
    if (gemm < 0 || !ein_gemm_kernel_supported(gemm)) {
        fprintf(stderr, "bench_step: EIN_GEMM='%s' is not a kernel this CPU runs\n", getenv("EIN_GEMM"));
        return 1;
    }
    printf("products: %s (EIN_GEMM=%s; rows named /blas: OpenBLAS's)\n",
           ein_gemm_is_own(gemm, false, true) ? "ein's own kernels" : "OpenBLAS's",
           ein_gemm_kernel_name(ein_gemm_kernel_resolve(gemm)));
    int width;
    double peak = fma_peak(&width);
    if (peak > 0)
        printf("one core's FMA peak (measured, %d-bit FMAs): %.1f GFLOP/s %s\n", width, 1e-9 * peak,
               EIN_REAL_NAME);
    else
        printf("one core's FMA peak: not measured (no AVX2/FMA)\n");
    printf("%-16s %5s %9s %9s %9s %10s %10s %8s %8s %7s %8s\n", "variant", "batch", "step ms", "gemm ms", "gemm-only",
           "gemm/step", "alone/step", "GFLOP/s", "of peak", "x ei_ln", "arena MB");
    static const int batches[2] = { 32, 128 };
    result res[N_VARIANTS][2];
    memset(res, 0, sizeof res);
    double worst_share = 1;
    for (int b = 0; b < 2; b++) {
        if (only_batch > 0 && batches[b] != only_batch)
            continue;
        /* every variant of this batch side by side, measured in interleaved
         * rounds, so a busy spell of the shared machine hits them all alike */
        rig rigs[N_VARIANTS];
        size_t order[N_VARIANTS], n = 0;
        for (size_t i = 0; i < N_VARIANTS; i++) {    /* ei_ln (index 1) first: the others' yardstick */
            size_t v = i == 0 ? 1 : i == 1 ? 0 : i;
            if (wanted(variants[v].name, argc, argv))
                rig_setup(&rigs[n], &variants[v], batches[b]), order[n++] = v;
        }
        int per_round = (batches[b] == 32 ? steps : steps / 2) / ROUNDS;
        per_round = per_round > 0 ? per_round : 1;
        for (int r = 0; r < ROUNDS; r++)
            for (size_t k = 0; k < n; k++)
                round_step(&rigs[k], per_round);
        for (int r = 0; r < ROUNDS; r++)
            for (size_t k = 0; k < n; k++)
                round_profiled(&rigs[k], per_round);
        for (int r = 0; r < ROUNDS; r++)
            for (size_t k = 0; k < n; k++)
                round_replay(&rigs[k], per_round);
        double ln_step = 0;
        for (size_t k = 0; k < n; k++) {
            res[order[k]][b] = report(&rigs[k], batches[b], peak, ln_step);
            if (profile) {
                report_ops(&rigs[k], batches[b]);
                report_shapes(&rigs[k], per_round);
            }
            if (variants[order[k]].gemm == EIN_GEMM_AUTO)
                worst_share = fmin(worst_share, res[order[k]][b].gemm_share);
            if (order[k] == V_EI_LN)
                ln_step = res[V_EI_LN][b].step;
            ein_optim_free(rigs[k].opt);
            ein_model_free(rigs[k].m);
        }
    }
    if (res[V_EI_LN][0].step > 0 && res[V_INORM_GN][0].step > 0)
        printf("targets at batch 32: inorm_gn/ei_ln %.2fx (<= 1.6), ei_ln %.1f%% of FMA peak (>= 70%%); "
               "lowest GEMM share %.1f%% (>= 90%%)\n", res[V_INORM_GN][0].step / res[V_EI_LN][0].step,
               peak > 0 ? 100 * res[V_EI_LN][0].flops / res[V_EI_LN][0].step / peak : 0, 100 * worst_share);
    /* What the BLAS alone allows: a step made only of its GEMM calls, at the
     * rate they run alone, reaches these and no better.  The ratio of the
     * GEMM work is what the step ratio comes to when both run equally fast. */
    if (res[V_EI_LN][0].gemm_alone > 0 && res[V_INORM_GN][0].gemm_alone > 0)
        printf("floors set by the GEMMs alone at batch 32: inorm_gn/ei_ln %.2fx (its GEMM work is %.2fx ei_ln's), "
               "ei_ln %.1f%% of FMA peak\n",
               res[V_INORM_GN][0].gemm_alone / res[V_EI_LN][0].gemm_alone,
               res[V_INORM_GN][0].flops / res[V_EI_LN][0].flops,
               peak > 0 ? 100 * res[V_EI_LN][0].flops / res[V_EI_LN][0].gemm_alone / peak : 0);
    if (res[V_EI_LN][0].step > 0 && res[V_EI_LN_BLAS][0].step > 0 && res[V_INORM_GN_BLAS][0].step > 0)
        printf("against every product on OpenBLAS at batch 32: ei_ln %.2fx, inorm_gn %.2fx faster "
               "(ei_ln/blas is %.1f%% of FMA peak)\n", res[V_EI_LN_BLAS][0].step / res[V_EI_LN][0].step,
               res[V_INORM_GN_BLAS][0].step / res[V_INORM_GN][0].step,
               peak > 0 ? 100 * res[V_EI_LN_BLAS][0].flops / res[V_EI_LN_BLAS][0].step / peak : 0);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("peak RSS %.1f MB (this benchmark, every variant of a batch at once)\n", ru.ru_maxrss / 1024.0);
    return 0;
}
