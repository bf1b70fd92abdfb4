/* cli_run.c — `einrun FILE.ein [options]` and `einrun summary RESULTS_DIR...`.
 *
 * The edge of the run pipeline: parse options, check the file (check.h),
 * then select, run and summarize through session.h (the pipeline the REPL
 * drives too).  Errors are printed here, once, and turned into
 * the exit status (err.h): 0 ok, 1 some cell failed, 2 language error,
 * 64 usage, 65 bad data, 74 I/O, 130 interrupted. */
#include "ein/cli.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "ein/ast.h"
#include "ein/check.h"
#include "ein/cost.h"
#include "ein/diag.h"
#include "ein/err.h"
#include "ein/grid.h"
#include "ein/parse.h"
#include "ein/results.h"
#include "ein/session.h"
#include "ein/shard.h"
#include "ein/slurm.h"

static void run_usage(FILE *out)
{
    fputs("usage: einrun FILE.ein [NAME=EXPR ...] [options]\n"
          "\n"
          "Runs every cell of the file's grid that has not finished yet (resume is automatic;\n"
          "ok and diverged cells are kept, failed and interrupted ones run again).\n"
          "\n"
          "  NAME=EXPR            override an axis or binding, e.g. 'eps=[0, 0.5]'\n"
          "  --experiment NAME    which experiment, when the file has several\n"
          "  --dry-run            list the selected cells (id and bound values) and their count\n"
          "  --graph              write the first selected cell's computation graph (Graphviz\n"
          "                       dot) to stdout, e.g. | dot -Tsvg > net.svg\n"
          "  --where FILTER       only cells whose bindings match, e.g. 'eps=0.75,variant=inorm_gn'\n"
          "                       (different names: all must match; the same name twice: either)\n"
          "  --max-cells N        at most the first N selected cells\n"
          "  --jobs N             worker processes (default: online cores); one OpenBLAS thread\n"
          "                       per worker unless OPENBLAS_NUM_THREADS is set, so a cell's\n"
          "                       numbers do not depend on N\n"
          "  --fail-fast          stop launching cells after the first failure\n"
          "  --epochs N           override every cell's epochs (changes the cell ids)\n"
          "  --limit-train N      train on the first N images only (changes the cell ids)\n"
          "  --save-weights DIR   save every cell (parameters as .npy, reopened by einrun eval)\n"
          "                       to DIR/<cell id>/; report { weights } saves to\n"
          "                       RESULTS_DIR/weights/<cell id>/\n"
          "  --results DIR        results folder (default: the file's report \"dir\", else\n"
          "                       results/<experiment>)\n"
          "  --fresh              move an existing results folder aside (DIR.<time>), start over\n"
          "  --quiet              no per-epoch lines\n"
          "  --shard K/N          only the K-th of N disjoint shards of the selection (several\n"
          "                       einrun processes or nodes may share one results folder)\n"
          "  --slurm              submit the selection to Slurm as a job array (sbatch); with\n"
          "                       --dry-run print the script.  Passed to sbatch: --partition P,\n"
          "                       --time T, --mem M, --account A, --cpus-per-task N, --array %M\n"
          "                       (at most M tasks at once), --sbatch-arg ARG; --cells-per-task N\n"
          "                       (default: the CPUs of a task).  Submitting again resumes.\n"
          "  --by KEYS            group the final summary by these axes or settings (default: the\n"
          "                       main axes and every setting that tells the cells apart)\n"
          "  --metric NAME        summarize this metric (default test_acc; see einrun summary --help)\n"
          "  --top K              top-K median in the summary (default 10)\n"
          "  --help               this text\n"
          "\n"
          "Ctrl-C stops launching cells and lets running cells finish their epoch (recorded as\n"
          "interrupted); a second Ctrl-C stops at once.  See docs/running.md.\n", out);
}

static void summary_usage(FILE *out)
{
    fputs("usage: einrun summary RESULTS_DIR... [--by KEYS] [--metric NAME] [--top K]\n"
          "                      [--compare [KEY=]A,B] [--csv FILE]\n"
          "\n"
          "  --by KEYS            group by these keys, comma-separated: axes, folder, experiment,\n"
          "                       setting paths such as train.epochs (default: the main axes, the\n"
          "                       folder when there are several, and every setting that differs\n"
          "                       between the cells except seeds and settings that follow a\n"
          "                       sample/table axis; --by '' for one group)\n"
          "  --metric NAME        what to summarize (default test_acc, the last epoch's): best_test_acc,\n"
          "                       train_acc, task_loss, inorm_loss, test_loss, layers.0.mean,\n"
          "                       layers.0.var, layers.0.mean_sq, layers.0.cos_out, layers.0.cos_grad,\n"
          "                       seconds, epochs; best.NAME at the epoch of best test accuracy\n"
          "  --top K              the top-K median (default 10, model.md M9)\n"
          "  --compare [KEY=]A,B  two-sided Mann-Whitney U test of A against B, per group\n"
          "                       (e.g. variant=ln,inorm or folder=results/a,results/b)\n"
          "  --csv FILE           write the grouped table to FILE\n"
          "Regenerates each RESULTS_DIR/summary.csv; with one folder, writes\n"
          "RESULTS_DIR/summary_by_<keys>.csv unless --csv is given.  See docs/running.md.\n", out);
}

static int parse_count(const char *opt, const char *s, long min, long *out)
{
    char *end;
    errno = 0;
    long v = s ? strtol(s, &end, 10) : 0;
    if (!s || errno || *end || end == s || v < min || v > INT_MAX) {
        fprintf(stderr, "einrun: %s needs an integer >= %ld, got '%s'\n", opt, min, s ? s : "");
        return -1;
    }
    *out = v;
    return 0;
}

int ein_cli_summary(int argc, char **argv)
{
    const char *by = NULL, *metric = NULL, *compare = NULL, *csv = NULL;
    long top = 10;
    char **dirs = calloc((size_t)argc + 1, sizeof *dirs);
    int ndirs = 0, rc = 0;
    if (!dirs) {
        fputs("einrun: out of memory\n", stderr);
        return ein_exit_status(EIN_ERR_NOMEM);
    }
    for (int i = 1; i < argc && rc == 0; i++) {
        const char *a = argv[i];
        const char **opt = strcmp(a, "--by") == 0 ? &by : strcmp(a, "--compare") == 0 ? &compare
                         : strcmp(a, "--metric") == 0 ? &metric : strcmp(a, "--csv") == 0 ? &csv
                         : NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            summary_usage(stdout);
            free(dirs);
            return 0;
        } else if (opt && i + 1 < argc) {
            *opt = argv[++i];
        } else if (strcmp(a, "--top") == 0) {
            if (parse_count("--top", i + 1 < argc ? argv[++i] : NULL, 1, &top) != 0)
                rc = ein_exit_status(EIN_ERR_USAGE);
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "einrun: %s '%s' for summary\n", opt ? "missing value after" : "unknown option", a);
            summary_usage(stderr);
            rc = ein_exit_status(EIN_ERR_USAGE);
        } else {
            dirs[ndirs] = argv[i];   /* "results/a/" and "results/a" are one folder */
            for (size_t n = strlen(dirs[ndirs]); n > 1 && dirs[ndirs][n - 1] == '/'; n--)
                dirs[ndirs][n - 1] = '\0';
            ndirs++;
        }
    }
    if (rc == 0 && ndirs == 0) {
        summary_usage(stderr);
        rc = ein_exit_status(EIN_ERR_USAGE);
    }
    for (int d = 0; d < ndirs && rc == 0; d++) {   /* records: cells.jsonl or a writer's shard */
        char **paths;
        int np;
        if (ein_results_files(dirs[d], "cells", &paths, &np, NULL) != EIN_OK || np == 0) {
            fprintf(stderr, "einrun: %s/cells.jsonl: %s\n", dirs[d], strerror(ENOENT));
            rc = ein_exit_status(EIN_ERR_IO);
        }
        ein_results_files_free(paths, np);
    }
    ein_err err = {0};
    ein_summary_request q = { .dirs = (const char *const *)dirs, .n_dirs = ndirs, .by = by,
                              .metric = metric, .compare = compare, .csv = csv, .top = (int)top };
    if (rc == 0 && ein_session_summarize(&q, stdout, &err) != EIN_OK) {
        fprintf(stderr, "einrun: %s\n", err.msg);
        rc = ein_exit_status(err.code);
    }
    free(dirs);
    return rc;
}

/* --- einrun FILE.ein ---------------------------------------------------- */

typedef struct run_args {
    const char *file, *experiment, *where, *save_weights, *results, *by, *metric, *shard;
    long max_cells, jobs, epochs, limit_train, top;
    bool dry_run, graph, fail_fast, fresh, quiet;
    ein_slurm_options slurm;
    int n_ov;
    const char *ov_text[64];
} run_args;

static int parse_run_args(int argc, char **argv, run_args *a)
{
    memset(a, 0, sizeof *a);
    a->max_cells = -1;
    a->top = 10;
    ein_err perr = {0};
    for (int i = 1, k; i < argc; i++) {
        const char *s = argv[i];
        const char *next = i + 1 < argc ? argv[i + 1] : NULL;
#define VALUE(dst) do { if (!next) { fprintf(stderr, "einrun: %s needs a value\n", s); return -1; } \
                        (dst) = next; i++; } while (0)
#define COUNT(dst, min) do { if (parse_count(s, next, (min), &(dst)) != 0) return -1; i++; } while (0)
        if (strcmp(s, "--help") == 0 || strcmp(s, "-h") == 0)
            return 1;
        else if (strcmp(s, "--dry-run") == 0) a->dry_run = true;
        else if (strcmp(s, "--graph") == 0) a->graph = true;
        else if (strcmp(s, "--fail-fast") == 0) a->fail_fast = true;
        else if (strcmp(s, "--fresh") == 0) a->fresh = true;
        else if (strcmp(s, "--quiet") == 0 || strcmp(s, "-q") == 0) a->quiet = true;
        else if (strcmp(s, "--where") == 0) VALUE(a->where);
        else if (strcmp(s, "--experiment") == 0) VALUE(a->experiment);
        else if (strcmp(s, "--save-weights") == 0) VALUE(a->save_weights);
        else if (strcmp(s, "--results") == 0) VALUE(a->results);
        else if (strcmp(s, "--by") == 0) VALUE(a->by);
        else if (strcmp(s, "--metric") == 0) VALUE(a->metric);
        else if (strcmp(s, "--shard") == 0) VALUE(a->shard);
        else if (strcmp(s, "--max-cells") == 0) COUNT(a->max_cells, 0);
        else if (strcmp(s, "--jobs") == 0 || strcmp(s, "-j") == 0) COUNT(a->jobs, 1);
        else if (strcmp(s, "--epochs") == 0) COUNT(a->epochs, 1);
        else if (strcmp(s, "--limit-train") == 0) COUNT(a->limit_train, 1);
        else if (strcmp(s, "--top") == 0) COUNT(a->top, 1);
        else if ((k = ein_slurm_parse_arg(&a->slurm, argc, argv, i, &perr)) != 0) {
            if (k < 0) {
                fprintf(stderr, "einrun: %s\n", perr.msg);
                return -1;
            }
            i += k - 1;
        } else if (s[0] == '-' && s[1]) {
            fprintf(stderr, "einrun: unknown option '%s' (einrun FILE.ein --help lists them)\n", s);
            return -1;
        } else if (strchr(s, '=') && a->file) {
            if (a->n_ov == 64) {
                fputs("einrun: at most 64 NAME=EXPR overrides\n", stderr);
                return -1;
            }
            a->ov_text[a->n_ov++] = s;
        } else if (!a->file) {
            a->file = s;
        } else {
            fprintf(stderr, "einrun: unexpected argument '%s' (one FILE.ein per run)\n", s);
            return -1;
        }
#undef VALUE
#undef COUNT
    }
    if (!a->file) {
        fputs("einrun: no FILE.ein given\n", stderr);
        return -1;
    }
    if (a->slurm.first_given && !a->slurm.enabled) {
        fprintf(stderr, "einrun: %s is an option of --slurm\n", a->slurm.first_given);
        return -1;
    }
    if (a->slurm.enabled && (a->shard || a->graph)) {
        fprintf(stderr, "einrun: --slurm gives every array task its own shard; no %s with it\n",
                a->shard ? "--shard" : "--graph");
        return -1;
    }
    return 0;
}

/* True when the first error is located in a command-line override: a bad
 * command line (64), not a bad file (2). */
static bool override_error(const ein_diag *diag, const ein_override *ov, int n_ov)
{
    for (size_t i = 0; i < ein_diag_count(diag); i++) {
        const ein_diagnostic *dg = ein_diag_get(diag, i);
        if (dg->severity != EIN_ERROR)
            continue;
        for (int k = 0; k < n_ov; k++)
            if (dg->loc.file == ov[k].name_loc.file)
                return true;
        return false;
    }
    return false;
}

/* "einrun: MSG" and the documented exit status of `code`. */
static int report_error(const ein_err *err, ein_code code)
{
    fprintf(stderr, "einrun: %s\n", err->msg);
    return ein_exit_status(code);
}

/* --dry-run (the cells and what they cost) or --slurm (the job array,
 * slurm.h): nothing trains here. */
static int plan_cells(const run_args *a, const ein_cell_list *view, const ein_selection *sel, int argc, char **argv)
{
    char dir[EIN_PATH_MAX];
    ein_err err = {0};
    ein_session_results_dir(view, a->results, dir);
    ein_slurm_request rq = { .selection = view, .results_dir = dir, .file = a->file, .argc = argc,
                             .argv = argv, .dry_run = a->dry_run };
    ein_code cc;
    if (a->slurm.enabled) {
        cc = ein_slurm_submit(&a->slurm, &rq, stdout, stderr, &err);
    } else {
        ein_cost cost;
        ein_grid_print(view, stdout);
        if (view->n != sel->list.n)
            printf("(%d of %d cells selected%s%s)\n", view->n, sel->list.n, a->shard ? ", shard " : "",
                   a->shard ? a->shard : "");
        cc = ein_cost_report(view, dir, stdout, &cost, &err);
    }
    return cc != EIN_OK ? report_error(&err, cc) : 0;
}

/* --graph: the first selected cell's computation graph as Graphviz dot. */
static int write_graph(const ein_cell_list *view)
{
    ein_err err = {0};
    if (view->n > 1)
        fprintf(stderr, "einrun: graph of cell %s, the first of %d selected (--where picks another)\n",
                view->cells[0].id, view->n);
    return ein_session_write_graph(&view->cells[0], stdout, &err) != EIN_OK ? report_error(&err, err.code) : 0;
}

/* Train the cells of `view` (this writer's part of `sel`) into the results
 * folder; source.ein is the text that was checked (a file is read once,
 * stdin too). */
static int run_cells(const run_args *a, const ein_cell_list *view, const ein_selection *sel, ein_diag *diag,
                     const ein_module *m, int shard_n)
{
    ein_err err = {0};
    ein_data_cache *dc = ein_data_cache_new();
    if (!dc) {
        fputs("einrun: out of memory\n", stderr);
        return ein_exit_status(EIN_ERR_NOMEM);
    }
    size_t src_len = 0;
    const char *src_text = ein_diag_source_text(diag, m->root->file, &src_len);
    ein_session_run_options ro = {
        .results = a->results, .source = a->file, .fresh = a->fresh, .jobs = (int)a->jobs,
        .source_text = src_text, .source_len = src_len,
        .fail_fast = a->fail_fast, .quiet = a->quiet, .save_weights = a->save_weights,
        .by = a->by, .metric = a->metric, .top = (int)a->top, .out = stdout, .log = stderr,
        .selection = &sel->view, .n_shards = shard_n,
    };
    ein_session_report rep;
    ein_code rc = ein_session_run(view, dc, &ro, &rep, &err);
    ein_data_cache_free(dc);
    if (rc != EIN_OK)
        return report_error(&err, rc);
    if (rep.totals.failed > 0) {
        fprintf(stderr, "einrun: %d cell%s failed; run the same command again to retry them\n",
                rep.totals.failed, rep.totals.failed == 1 ? "" : "s");
        return 1;
    }
    return 0;
}

/* The checked file's cells under the command line's overrides, filters and
 * limits; 0, or the exit status of what went wrong (reported). */
static int select_cells(const run_args *a, ein_diag *diag, const ein_module *m, ein_override *ov,
                        ein_program **ovp, ein_selection *sel)
{
    ein_err err = {0};
    /* Command-line overrides NAME=EXPR and PATH=EXPR (grid.h). */
    for (int i = 0; i < a->n_ov; i++)
        if (!ein_override_parse(diag, "<command line>", a->ov_text[i], &ov[i], &ovp[i])) {
            ein_diag_print(diag, stderr);
            return ein_exit_status(EIN_ERR_USAGE);
        }
    ein_select_options so = {
        .experiment = a->experiment, .ov = ov, .n_ov = a->n_ov, .where = a->where,
        .max_cells = a->max_cells, .epochs = a->epochs, .limit_train = a->limit_train,
    };
    ein_code sc = ein_session_select(m, &so, sel, &err);
    if (sc == EIN_ERR_LANG) {
        ein_diag_print(diag, stderr);
        return ein_exit_status(override_error(diag, ov, a->n_ov) ? EIN_ERR_USAGE : EIN_ERR_LANG);
    }
    return sc != EIN_OK ? report_error(&err, sc) : 0;
}

int ein_cli_run(int argc, char **argv)
{
    run_args a;
    int pr = parse_run_args(argc, argv, &a);
    if (pr != 0) {
        run_usage(pr > 0 ? stdout : stderr);
        return pr > 0 ? 0 : ein_exit_status(EIN_ERR_USAGE);
    }
    ein_err err = {0};
    ein_program *ovp[64] = {0};
    ein_override ov[64];
    ein_selection sel = {0};
    ein_cell_list part = {0};
    int status, shard_k = 1, shard_n = 1;
    ein_diag *diag = ein_diag_new();
    if (!diag) {
        fputs("einrun: out of memory\n", stderr);
        return ein_exit_status(EIN_ERR_NOMEM);
    }
    ein_check_options copt = { .no_expand = true };
    ein_module *m = ein_check_file(diag, a.file, &copt, &err);
    if (!m) {
        ein_diag_print(diag, stderr);
        if (err.code != EIN_OK)
            fprintf(stderr, "einrun: %s\n", err.msg);
        status = ein_exit_status(err.code != EIN_OK ? err.code : EIN_ERR_LANG);
        goto out;
    }
    if ((status = select_cells(&a, diag, m, ov, ovp, &sel)) != 0)
        goto out;
    const ein_cell_list *view = &sel.view;
    if (a.shard) {   /* --shard K/N: this writer's part of the selection */
        if (ein_shard_parse(a.shard, &shard_k, &shard_n, &err) != EIN_OK ||
            ein_shard_view(&sel.view, shard_k, shard_n, &part, &err) != EIN_OK) {
            status = report_error(&err, err.code);
            goto out;
        }
        view = &part;
    }
    if (sel.view.n == 0) {
        /* a filter that selects nothing is a mistake on the command line (an
         * empty shard of a non-empty selection is not) */
        fprintf(stderr, "einrun: no cell selected (%d in the grid)\n", sel.list.n);
        status = ein_exit_status(EIN_ERR_USAGE);
    } else if (a.dry_run || a.slurm.enabled) {
        status = plan_cells(&a, view, &sel, argc, argv);
    } else if (a.graph) {
        status = write_graph(view);
    } else {
        status = run_cells(&a, view, &sel, diag, m, shard_n);
    }
out:
    if (fflush(stdout) != 0 && status == 0) {
        fputs("einrun: cannot write the output\n", stderr);
        status = ein_exit_status(EIN_ERR_IO);
    }
    free(part.cells);
    ein_selection_free(&sel);
    for (int i = 0; i < a.n_ov; i++)
        ein_program_free(ovp[i]);
    ein_module_free(m);
    ein_diag_free(diag);
    return status;
}
