/* blas.c — OpenBLAS's threads and kernels (include/ein/blas.h). */
#include "ein/blas.h"

#include <cblas.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHOSEN_ENV "EIN_OPENBLAS_CORETYPE_AUTO"

int ein_blas_default_threads(void)
{
    const char *env = getenv("OPENBLAS_NUM_THREADS");
    int n = env != NULL ? atoi(env) : 0;
    return n > 0 ? n : 1;
}

void ein_blas_set_threads(int n)
{
    openblas_set_num_threads(n > 0 ? n : 1);
}

const char *ein_blas_corename(void)
{
    return openblas_get_corename();
}

const char *ein_blas_best_coretype(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                  __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
    if (avx512 && __builtin_cpu_supports("avx512bf16"))
        return "Cooperlake";
    if (avx512)
        return "SkylakeX";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return "Haswell";
#endif
    return NULL;
}

/* The families OpenBLAS falls back to when it does not know the CPU; on a CPU
 * it knows, its own choice stands (it may know better, e.g. Zen). */
static bool is_fallback(const char *core)
{
    static const char *const fallback[] = { "Prescott", "Core2", "Penryn", "Nehalem", "Sandybridge" };
    for (size_t i = 0; i < sizeof fallback / sizeof fallback[0]; i++)
        if (strcmp(core, fallback[i]) == 0)
            return true;
    return false;
}

void ein_blas_choose_kernels(char **argv)
{
    if (getenv("OPENBLAS_CORETYPE") != NULL)
        return;
    const char *best = ein_blas_best_coretype();
    const char *core = ein_blas_corename();
    if (best == NULL || core == NULL || !is_fallback(core))
        return;
    if (setenv("OPENBLAS_CORETYPE", best, 1) != 0 || setenv(CHOSEN_ENV, best, 1) != 0)
        return;
    execv("/proc/self/exe", argv);
    unsetenv("OPENBLAS_CORETYPE");   /* exec failed: go on with the fallback */
    unsetenv(CHOSEN_ENV);
}

void ein_blas_forget_chosen_kernels(void)
{
    const char *chosen = getenv(CHOSEN_ENV);
    const char *set = getenv("OPENBLAS_CORETYPE");
    if (chosen != NULL && set != NULL && strcmp(chosen, set) == 0)
        unsetenv("OPENBLAS_CORETYPE");
    unsetenv(CHOSEN_ENV);
}
