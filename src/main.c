/* main.c — the front door: dispatch to a subcommand (include/ein/cli.h). */
#include "ein/cli.h"

#include <stdio.h>
#include <string.h>

void ein_cli_usage(FILE *out)
{
    fputs("usage: einrun                        the REPL (docs/repl.md)\n"
          "       einrun -i FILE.ein            the REPL with FILE loaded\n"
          "       einrun FILE.ein [options]     run every cell of the file's grid\n"
          "       einrun --check FILE...        parse and check only\n"
          "       einrun fmt FILE               print FILE in canonical layout\n"
          "       einrun summary RESULTS_DIR... summarize finished cells (--by, --metric, --compare)\n"
          "       einrun plot FILE.ein | DIR... draw figures with gnuplot\n"
          "       einrun eval DIR --cell ID     reopen a saved cell: evaluate or train on\n"
          "       einrun help [TOPIC]           settings, norms, groups, metrics (generated references)\n"
          "       einrun status RESULTS_DIR     how far the writers of a results folder are\n"
          "       einrun --help | --version\n"
          "\n"
          "Run `einrun FILE.ein --help` for the options of a run.\n", out);
}

int main(int argc, char **argv)
{
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
