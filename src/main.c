/* main.c — the front door: dispatch to a subcommand (include/ein/cli.h). */
#include "ein/blas.h"
#include "ein/cli.h"
#include "ein/gemm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* $EIN_GEMM chooses whose kernels run the products (gemm.h); a graph takes
 * it as it is made, so a bad value is refused here, before any work. */
static bool gemm_env_ok(void)
{
    int kernel = ein_gemm_kernel_from_env();
    if (kernel < 0) {
        fprintf(stderr, "einrun: EIN_GEMM='%s' names no kernel (valid:", getenv("EIN_GEMM"));
        for (int k = 0; k < EIN_GEMM_N_KERNELS; k++)
            fprintf(stderr, "%s %s", k ? "," : "", ein_gemm_kernel_name(k));
        fputs(")\n", stderr);
    } else if (!ein_gemm_kernel_supported(kernel))
        fprintf(stderr, "einrun: EIN_GEMM='%s': this CPU does not run those kernels\n", getenv("EIN_GEMM"));
    return kernel >= 0 && ein_gemm_kernel_supported(kernel);
}

int main(int argc, char **argv)
{
    ein_blas_choose_kernels(argv);   /* may start einrun again, with kernels this CPU runs */
    if (!gemm_env_ok())
        return 64;
    if (argc < 2)
        return ein_cli_repl(argc, argv);
    const char *cmd = argv[1];
    if (strcmp(cmd, "-i") == 0)
        return ein_cli_repl(argc, argv);
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        ein_cli_usage(stdout);
        return 0;
    }
    if (strcmp(cmd, "--version") == 0) {
        printf("einrun %s\n", EIN_VERSION);
        return 0;
    }
    if (strcmp(cmd, "--check") == 0)
        return ein_cli_check(argc - 1, argv + 1);
    if (strcmp(cmd, "fmt") == 0)
        return ein_cli_fmt(argc - 1, argv + 1);
    if (strcmp(cmd, "help") == 0)
        return ein_cli_help(argc - 1, argv + 1);
    if (strcmp(cmd, "summary") == 0)
        return ein_cli_summary(argc - 1, argv + 1);
    if (strcmp(cmd, "eval") == 0)
        return ein_cli_eval(argc - 1, argv + 1);
    if (strcmp(cmd, "plot") == 0)
        return ein_cli_plot(argc - 1, argv + 1);
    if (strcmp(cmd, "status") == 0)
        return ein_cli_status(argc - 1, argv + 1);
    return ein_cli_run(argc, argv);
}
