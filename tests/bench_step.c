/* bench_step.c — one training step of the M7 network (784 → 500 → 500 → 10)
 * per variant, at batch 32 and 128, with one BLAS thread: step time, the
 * share of it inside GEMM (engine profiling), the same GEMM calls replayed
 * alone, and peak RSS.  Targets (issue 3): ≥ 80 % of the step inside sgemm at
 * batch 128, ≥ 60 % at batch 32.  Run by `make bench`. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "ein/graph.h"
#include "ein/model.h"
#include "ein/optim.h"
#include "../src/graph_impl.h"

typedef struct variant {
    const char *name;
    ein_layer_kind kind;
    ein_fwd_norm fwd;
    ein_bwd_norm bwd;
} variant;

static const variant variants[] = {
    { "ei_nonorm", EIN_LAYER_EI, EIN_FWD_NONE, EIN_BWD_NONE },
    { "ei_ln", EIN_LAYER_EI, EIN_FWD_LAYERNORM, EIN_BWD_NONE },
    { "e_ln", EIN_LAYER_E_ONLY, EIN_FWD_LAYERNORM, EIN_BWD_NONE },
    { "inorm", EIN_LAYER_EI, EIN_FWD_INORM, EIN_BWD_NONE },
    { "inorm_gn", EIN_LAYER_EI, EIN_FWD_INORM, EIN_BWD_FULL },
    { "inorm_fa_center", EIN_LAYER_EI, EIN_FWD_INORM, EIN_BWD_FA_CENTER },
    { "inorm_sub", EIN_LAYER_EI, EIN_FWD_INORM_SUB, EIN_BWD_NONE },
};

#define ROUNDS 5

static void bench(const variant *v, int batch, int steps)
{
    ein_cell_config cfg;
    ein_config_defaults(&cfg);
    for (int l = 0; l < cfg.n_hidden; l++) {
        cfg.hidden[l].kind = v->kind;
        cfg.hidden[l].fwd = v->fwd;
        cfg.hidden[l].bwd = v->bwd;
    }
    if (v->fwd == EIN_FWD_INORM || v->fwd == EIN_FWD_INORM_SUB)
        cfg.losses[cfg.n_losses++] = (ein_loss_config){ .kind = EIN_LOSS_INORM, .weight = -1, .groups = EIN_GROUPS_DEFAULT };
    ein_model *m = NULL;
    ein_err err = { 0 };
    if (ein_model_build(&cfg, 784, 10, batch, false, &m, &err) != EIN_OK) {
        fprintf(stderr, "bench_step: %s\n", err.msg);
        exit(1);
    }
    if (ein_model_init(m, &err) != EIN_OK) {
        fprintf(stderr, "bench_step: %s\n", err.msg);
        exit(1);
    }
    ein_group_settings groups[EIN_GROUP_COUNT];
    ein_group_settings_from_config(&m->cfg.train, groups);
    ein_optim *opt = ein_optim_new(m->graph, EIN_OPT_SGD, groups, 0.9, 0.999, 1e-8, &err);
    ein_rng rng;
    ein_rng_init(&rng, 1, 1);
    for (int k = 0; k < batch * 784; k++)
        m->x->val[k] = (ein_real)ein_rng_uniform(&rng);
    int32_t *labels = ein_graph_labels(m->graph);
    for (int b = 0; b < batch; b++)
        labels[b] = b % 10;
    ein_graph_set_batch(m->graph, batch);

    for (int s = 0; s < 10; s++) {                 /* warm up caches and BLAS buffers */
        ein_graph_forward(m->graph, m->train_plan);
        ein_graph_backward(m->graph);
        ein_optim_step(opt);
    }
    /* The machine is shared: every time is the best of ROUNDS rounds (the
     * round least disturbed by other processes), each the mean of its steps. */
    long allocs = ein_graph_alloc_count(m->graph);
    int per_round = steps / ROUNDS > 0 ? steps / ROUNDS : 1;
    double step = INFINITY, profiled = INFINITY, gemm_in_step = INFINITY, gemm_alone = INFINITY;
    for (int r = 0; r < ROUNDS; r++) {
        double t0 = ein_now();
        for (int s = 0; s < per_round; s++) {
            ein_graph_forward(m->graph, m->train_plan);
            ein_graph_backward(m->graph);
            ein_optim_step(opt);
        }
        step = fmin(step, (ein_now() - t0) / per_round);
    }
    ein_graph_profile(m->graph, true);
    for (int r = 0; r < ROUNDS; r++) {
        ein_graph_profile_reset(m->graph);
        double t0 = ein_now();
        for (int s = 0; s < per_round; s++) {
            ein_graph_forward(m->graph, m->train_plan);
            ein_graph_backward(m->graph);
            ein_optim_step(opt);
        }
        double t = (ein_now() - t0) / per_round;
        if (t < profiled) {
            profiled = t;
            gemm_in_step = ein_graph_gemm_seconds(m->graph) / per_round;
        }
    }
    ein_graph_profile(m->graph, false);
    for (int r = 0; r < ROUNDS; r++) {
        double t0 = ein_now();
        for (int s = 0; s < per_round; s++)
            ein_graph_replay_gemm(m->graph);
        gemm_alone = fmin(gemm_alone, (ein_now() - t0) / per_round);
    }
    printf("%-16s %5d %10.3f %10.3f %10.3f %9.1f%% %9.1f%% %s\n", v->name, batch, 1e3 * step,
           1e3 * gemm_in_step, 1e3 * gemm_alone, 100 * gemm_in_step / profiled, 100 * gemm_alone / step,
           ein_graph_alloc_count(m->graph) == allocs ? "" : "ALLOCATED IN STEP");
    ein_optim_free(opt);
    ein_model_free(m);
}

int main(int argc, char **argv)
{
    int steps = argc > 1 ? atoi(argv[1]) : 100;
    ein_blas_set_threads(1);
    const char *forced = getenv("OPENBLAS_CORETYPE");
    printf("bench_step: M7 net 784-500-500-10, SGD, %s, 1 BLAS thread, OpenBLAS core %s (OPENBLAS_CORETYPE=%s)\n",
           EIN_REAL_NAME, ein_blas_corename(), forced ? forced : "unset");
    printf("%-16s %5s %10s %10s %10s %10s %10s\n", "variant", "batch", "step ms", "gemm ms", "gemm-only",
           "gemm/step", "alone/step");
    for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++)
        for (int batch = 32; batch <= 128; batch *= 4)
            bench(&variants[i], batch, batch == 32 ? steps : steps / 2);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("peak RSS %.1f MB\n", ru.ru_maxrss / 1024.0);
    return 0;
}
