/* cli.h — the subcommands of einrun.  main.c only dispatches; each command
 * parses its own options, prints its own diagnostics and returns the process
 * exit status (0 ok, 2 language error, 64 usage, 74 I/O; see err.h). */
#ifndef EIN_CLI_H
#define EIN_CLI_H

#include <stdio.h>

int ein_cli_check(int argc, char **argv);    /* einrun --check FILE...           (src/cli_check.c) */
int ein_cli_fmt(int argc, char **argv);      /* einrun fmt FILE                   (src/cli_check.c) */
int ein_cli_run(int argc, char **argv);      /* einrun FILE.ein [options]         (src/cli_run.c)   */
int ein_cli_summary(int argc, char **argv);  /* einrun summary RESULTS_DIR        (src/cli_run.c)   */
int ein_cli_eval(int argc, char **argv);     /* einrun eval RESULTS_DIR --cell ID  (src/cli_eval.c)  */
int ein_cli_plot(int argc, char **argv);     /* einrun plot FILE.ein | RESULTS_DIR (src/cli_plot.c)  */
int ein_cli_help(int argc, char **argv);     /* einrun help [TOPIC]               (src/cli_help.c)  */
int ein_cli_repl(int argc, char **argv);     /* einrun | einrun -i FILE           (src/repl.c)      */
int ein_cli_status(int argc, char **argv);   /* einrun status RESULTS_DIR         (src/status.c)    */

void ein_cli_usage(FILE *out);               /* the --help text                   (src/cli_help.c)  */

#define EIN_VERSION "0.1.0"

#endif
