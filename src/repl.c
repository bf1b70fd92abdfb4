/* repl.c — placeholder until its module lands. */
#include "ein/cli.h"

int ein_cli_repl(int argc, char **argv) { (void)argc; (void)argv; fputs("einrun: this command is not available in this build yet\n", stderr); return 70; }
