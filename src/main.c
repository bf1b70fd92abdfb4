/* main.c — the front door: dispatch to a subcommand (include/ein/cli.h). */
#include "ein/blas.h"
#include "ein/cli.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    ein_blas_choose_kernels(argv);   /* may start einrun again, with kernels this CPU runs */
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
