/* cli_check.c — `einrun --check FILE...` and `einrun fmt [--dump-ast] FILE`.
 *
 * --check parses and checks each file (check.h: imports, names, rules, grid
 * expansion); fmt only parses.  Diagnostics go to stderr in GNU form; the
 * exit status says what kind of failure it was (0 ok, 2 language error,
 * 64 usage, 74 I/O). */
#include "ein/cli.h"

#include <string.h>

#include "ein/ast.h"
#include "ein/check.h"
#include "ein/diag.h"
#include "ein/err.h"
#include "ein/parse.h"

static void print_summary(const ein_diag *d)
{
    int e = ein_diag_n_errors(d), w = ein_diag_n_warnings(d);
    if (e == 0 && w == 0)
        return;
    fprintf(stderr, "einrun: %d error%s", e, e == 1 ? "" : "s");
    if (w)
        fprintf(stderr, ", %d warning%s", w, w == 1 ? "" : "s");
    fputc('\n', stderr);
}

int ein_cli_check(int argc, char **argv)
{
    /* argv[0] is "--check" */
    if (argc < 2) {
        fputs("einrun: --check needs at least one FILE.ein\n", stderr);
        ein_cli_usage(stderr);
        return ein_exit_status(EIN_ERR_USAGE);
    }
    for (int i = 1; i < argc; i++)
        if (argv[i][0] == '-' && argv[i][1] != '\0') {
            fprintf(stderr, "einrun: unknown option '%s' for --check\n", argv[i]);
            return ein_exit_status(EIN_ERR_USAGE);
        }
    ein_diag *diag = ein_diag_new();
    if (!diag) {
        fputs("einrun: out of memory\n", stderr);
        return ein_exit_status(EIN_ERR_NOMEM);
    }
    ein_code worst = EIN_OK;
    for (int i = 1; i < argc; i++) {
        ein_err err = {0};
        ein_module *m = ein_check_file(diag, argv[i], NULL, &err);
        if (err.code != EIN_OK) {
            fprintf(stderr, "einrun: %s\n", err.msg);
            worst = err.code;   /* I/O outranks language errors */
            continue;
        }
        if (!m && worst == EIN_OK)
            worst = EIN_ERR_LANG;
        ein_module_free(m);
        if (ein_diag_full(diag))
            break;
    }
    ein_diag_print(diag, stderr);
    print_summary(diag);
    if (worst == EIN_OK && ein_diag_n_errors(diag) > 0)
        worst = EIN_ERR_LANG;
    ein_diag_free(diag);
    return ein_exit_status(worst);
}

int ein_cli_fmt(int argc, char **argv)
{
    /* argv[0] is "fmt" */
    bool dump = false;
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--dump-ast") == 0) {
            dump = true;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            fprintf(stderr, "einrun: unknown option '%s' for fmt\n", argv[i]);
            return ein_exit_status(EIN_ERR_USAGE);
        } else if (path) {
            fputs("einrun: fmt takes one FILE\n", stderr);
            return ein_exit_status(EIN_ERR_USAGE);
        } else {
            path = argv[i];
        }
    }
    if (!path) {
        fputs("einrun: usage: einrun fmt [--dump-ast] FILE.ein\n", stderr);
        return ein_exit_status(EIN_ERR_USAGE);
    }
    ein_diag *diag = ein_diag_new();
    if (!diag) {
        fputs("einrun: out of memory\n", stderr);
        return ein_exit_status(EIN_ERR_NOMEM);
    }
    ein_err err = {0};
    ein_program *p = ein_parse_file(diag, path, NULL, &err);
    int status = 0;
    if (err.code != EIN_OK) {
        fprintf(stderr, "einrun: %s\n", err.msg);
        status = ein_exit_status(err.code);
    } else if (!p) {
        ein_diag_print(diag, stderr);
        print_summary(diag);
        status = ein_exit_status(EIN_ERR_LANG);
    } else if (dump) {
        ein_program_dump(p, stdout);
    } else {
        ein_program_print(p, stdout);
    }
    if (fflush(stdout) != 0 && status == 0) {
        fputs("einrun: cannot write the output\n", stderr);
        status = ein_exit_status(EIN_ERR_IO);
    }
    ein_program_free(p);
    ein_diag_free(diag);
    return status;
}
