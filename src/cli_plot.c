/* cli_plot.c — `einrun plot`: draw the figures a .ein file declares, or one
 * figure described on the command line, from results folders (figure.h).
 * Exit status: 0 ok, 2 language error, 64 usage, 65 the results lack what a
 * figure needs, 74 I/O (no gnuplot, unwritable folder). */
#include "ein/cli.h"

#include <stdlib.h>
#include <string.h>

#include "ein/ast.h"
#include "ein/check.h"
#include "ein/diag.h"
#include "ein/err.h"
#include "ein/figure.h"
#include "ein/text.h"

static void plot_usage(FILE *out)
{
    fputs("usage: einrun plot FILE.ein [--figure NAME]... [--results DIR] [options] [KEY=VALUE ...]\n"
          "       einrun plot RESULTS_DIR... [--name NAME] [options] KEY=VALUE ...\n"
          "\n"
          "Draws with gnuplot the figures the file declares (`figure NAME { ... }` in an\n"
          "experiment), or one figure described by KEY=VALUE words, from results folders.\n"
          "Next to every image it writes NAME.dat (the numbers) and NAME.gp (the script);\n"
          "`gnuplot NAME.gp` in that folder redraws it.\n"
          "\n"
          "  --figure NAME        only this figure (repeatable; default: every figure)\n"
          "  --experiment NAME    only this experiment's figures\n"
          "  --results DIR        read this results folder instead of the experiment's\n"
          "  --out DIR            write the figures here (default: RESULTS_DIR/figures)\n"
          "  --name NAME          the file name of a command-line figure (default: figure)\n"
          "  KEY=VALUE            a figure setting, lists comma-separated; given with a file it\n"
          "                       overrides that setting in every figure (e.g. size=400,300)\n"
          "\n"
          "Settings: kind (scatter, box, curve, sweep), metric, by, conditions, labels, facet,\n"
          "facets, layer, top, size, formats, title, results.  See docs/running.md.\n", out);
}

typedef struct plot_args {
    const char *file, *experiment, *results, *out, *name;
    const char *only[16];
    int n_only;
    const char *dirs[EIN_FIG_MAX_RESULTS];
    int n_dirs;
    const char *keys[32];
    int n_keys;
} plot_args;

static int parse_args(int argc, char **argv, plot_args *a)
{
    memset(a, 0, sizeof *a);
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
#define VALUE(dst)                                                                 \
    do {                                                                           \
        if (i + 1 >= argc) {                                                       \
            fprintf(stderr, "einrun: plot: %s needs a value\n", s);                \
            return 64;                                                             \
        }                                                                          \
        dst = argv[++i];                                                           \
    } while (0)
        if (strcmp(s, "--help") == 0 || strcmp(s, "-h") == 0) {
            plot_usage(stdout);
            return 0;
        } else if (strcmp(s, "--figure") == 0) {
            if (a->n_only == 16) {
                fputs("einrun: plot: at most 16 --figure\n", stderr);
                return 64;
            }
            VALUE(a->only[a->n_only]);
            a->n_only++;
        } else if (strcmp(s, "--experiment") == 0) VALUE(a->experiment);
        else if (strcmp(s, "--results") == 0) VALUE(a->results);
        else if (strcmp(s, "--out") == 0) VALUE(a->out);
        else if (strcmp(s, "--name") == 0) VALUE(a->name);
        else if (s[0] == '-' && s[1]) {
            fprintf(stderr, "einrun: unknown option '%s' for plot\n", s);
            plot_usage(stderr);
            return 64;
        } else if (strchr(s, '=')) {
            if (a->n_keys == 32) {
                fputs("einrun: plot: at most 32 settings\n", stderr);
                return 64;
            }
            a->keys[a->n_keys++] = s;
        } else {
            size_t n = strlen(s);
            if (n > 4 && strcmp(s + n - 4, ".ein") == 0 && !a->file && a->n_dirs == 0)
                a->file = s;
            else if (a->file || a->n_dirs == EIN_FIG_MAX_RESULTS) {
                fprintf(stderr, "einrun: plot: unexpected argument '%s'\n", s);
                return 64;
            } else
                a->dirs[a->n_dirs++] = s;
        }
#undef VALUE
    }
    if (!a->file && a->n_dirs == 0) {
        plot_usage(stderr);
        return 64;
    }
    if (!a->file && a->results)
        a->dirs[a->n_dirs++] = a->results;
    return -1;
}

/* KEY=VALUE words onto a figure. */
static bool apply_keys(ein_figure *f, const plot_args *a)
{
    for (int i = 0; i < a->n_keys; i++) {
        char key[EIN_NAME_MAX];
        const char *eq = strchr(a->keys[i], '=');
        snprintf(key, sizeof key, "%.*s", (int)(eq - a->keys[i]), a->keys[i]);
        const char *value = eq + 1;
        char msg[512];
        if (!ein_figure_set(f, key, &value, 1, msg, sizeof msg)) {
            fprintf(stderr, "einrun: plot: %s\n", msg);
            return false;
        }
    }
    return true;
}

static int draw(const ein_figure *f, const char *const *dirs, int n_dirs, const char *out_arg)
{
    char out[EIN_PATH_MAX + 16];
    const char *first = f->n_results ? f->results[0] : dirs[0];
    if (out_arg)
        ein_text_copy(out, sizeof out, out_arg);
    else
        snprintf(out, sizeof out, "%s/figures", first);
    ein_err err = {0};
    if (ein_figure_draw(f, dirs, n_dirs, out, stdout, &err) != EIN_OK) {
        fprintf(stderr, "einrun: plot: %s\n", err.msg);
        return ein_exit_status(err.code);
    }
    return 0;
}

static bool wanted(const plot_args *a, const char *name)
{
    if (a->n_only == 0)
        return true;
    for (int i = 0; i < a->n_only; i++)
        if (strcmp(a->only[i], name) == 0)
            return true;
    return false;
}

/* The folder an experiment's results go to: its `report "dir"`, else results/NAME. */
static void results_dir(const ein_stmt *e, char *buf, size_t cap)
{
    snprintf(buf, cap, "results/%s", e->experiment.name.name);
    for (int i = 0; i < e->experiment.n_stmts; i++) {
        const ein_stmt *s = e->experiment.stmts[i];
        if (s->kind == EIN_STMT_REPORT && s->report.path)
            ein_text_copy(buf, cap, s->report.path);
    }
}

static int plot_file(const plot_args *a)
{
    ein_diag *diag = ein_diag_new();
    if (!diag)
        return ein_exit_status(EIN_ERR_NOMEM);
    ein_err err = {0};
    ein_check_options opt = { .no_expand = true };
    ein_module *m = ein_check_file(diag, a->file, &opt, &err);
    ein_diag_print(diag, stderr);
    if (!m) {
        if (err.code != EIN_OK)
            fprintf(stderr, "einrun: %s\n", err.msg);
        ein_diag_free(diag);
        return ein_exit_status(err.code != EIN_OK ? err.code : EIN_ERR_LANG);
    }
    const ein_stmt *exps[64];
    int n_exp = ein_module_experiments(m, exps, 64), drawn = 0, status = 0;
    char names[64][EIN_NAME_MAX];
    int n_names = 0;
    for (int e = 0; e < n_exp && status == 0; e++) {
        if (a->experiment && strcmp(exps[e]->experiment.name.name, a->experiment) != 0)
            continue;
        char dir[EIN_PATH_MAX];
        if (a->results)
            ein_text_copy(dir, sizeof dir, a->results);
        else
            results_dir(exps[e], dir, sizeof dir);
        const char *dirs[1] = { dir };
        for (int i = 0; i < exps[e]->experiment.n_stmts && status == 0; i++) {
            const ein_stmt *s = exps[e]->experiment.stmts[i];
            if (s->kind != EIN_STMT_FIGURE || !wanted(a, s->figure.name.name))
                continue;
            for (int k = 0; k < n_names; k++)
                if (strcmp(names[k], s->figure.name.name) == 0) {
                    fprintf(stderr, "einrun: plot: %s: two figures named '%s' (their files would collide)\n",
                            a->file, names[k]);
                    status = 64;
                }
            if (n_names < 64)
                ein_text_copy(names[n_names++], EIN_NAME_MAX, s->figure.name.name);
            ein_figure f;
            ein_figure_from_stmt(s, &f, diag);   /* checked already: no errors here */
            if (status == 0 && !apply_keys(&f, a))
                status = 64;
            if (status == 0)
                status = draw(&f, dirs, 1, a->out);
            drawn++;
        }
    }
    if (status == 0 && drawn == 0) {
        fprintf(stderr, "einrun: plot: %s declares no figure%s%s\n", a->file, a->n_only ? " named " : "",
                a->n_only ? a->only[0] : "");
        status = 64;
    }
    ein_module_free(m);
    ein_diag_free(diag);
    return status;
}

int ein_cli_plot(int argc, char **argv)
{
    plot_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc >= 0)
        return rc;
    if (a.file)
        return plot_file(&a);
    ein_figure f;
    ein_figure_defaults(&f, a.name ? a.name : "figure");
    if (!apply_keys(&f, &a))
        return 64;
    return draw(&f, a.dirs, a.n_dirs, a.out);
}
