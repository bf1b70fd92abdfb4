/* cli_run.c — `einrun FILE.ein [options]` and `einrun summary RESULTS_DIR`.
 *
 * The edge of the run pipeline: parse options, check and expand the file
 * (check.h, grid.h), filter, load the data sets once (data.h), run the
 * pending cells in workers (runner.h) with a progress display (progress.h),
 * then summarize (summary.h).  Errors are printed here, once, and turned into
 * the exit status (err.h): 0 ok, 1 some cell failed, 2 language error,
 * 64 usage, 65 bad data, 74 I/O, 130 interrupted. */
#include "ein/cli.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "ein/ast.h"
#include "ein/cell.h"
#include "ein/check.h"
#include "ein/data.h"
#include "ein/model.h"
#include "ein/diag.h"
#include "ein/err.h"
#include "ein/graph.h"
#include "ein/grid.h"
#include "ein/parse.h"
#include "ein/progress.h"
#include "ein/results.h"
#include "ein/runner.h"
#include "ein/summary.h"
#include "ein/train.h"

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
          "  --save-weights DIR   write each cell's parameters as .npy files to DIR/<cell id>/\n"
          "  --results DIR        results folder (default: the file's report \"dir\", else\n"
          "                       results/<experiment>)\n"
          "  --fresh              move an existing results folder aside (DIR.<time>), start over\n"
          "  --quiet              no per-epoch lines\n"
          "  --by AXES            group the final summary by these axes (default: the main axes)\n"
          "  --top K              top-K median in the summary (default 10)\n"
          "  --help               this text\n"
          "\n"
          "Ctrl-C stops launching cells and lets running cells finish their epoch (recorded as\n"
          "interrupted); a second Ctrl-C stops at once.  See docs/running.md.\n", out);
}

static void summary_usage(FILE *out)
{
    fputs("usage: einrun summary RESULTS_DIR [--by AXES] [--top K] [--compare [AXIS=]A,B]\n"
          "\n"
          "  --by AXES            group by these axes, comma-separated (default: the main axes;\n"
          "                       --by '' for one group)\n"
          "  --top K              the top-K median (default 10, model.md M9)\n"
          "  --compare [AXIS=]A,B two-sided Mann-Whitney U test of A against B, per group\n"
          "Regenerates RESULTS_DIR/summary.csv and writes RESULTS_DIR/summary_by_<axes>.csv.\n", out);
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

/* --- data sets: loaded once, before the workers fork ------------------- */

typedef struct data_entry {
    const ein_data_config *key;
    ein_dataset *train, *test;
} data_entry;

typedef struct data_cache {
    int n;
    data_entry *e;
} data_cache;

static bool same_data(const ein_data_config *a, const ein_data_config *b)
{
    return strcmp(a->dir, b->dir) == 0 && strcmp(a->train_images, b->train_images) == 0 &&
           strcmp(a->train_labels, b->train_labels) == 0 &&
           strcmp(a->test_images, b->test_images) == 0 &&
           strcmp(a->test_labels, b->test_labels) == 0 && a->limit_train == b->limit_train &&
           a->limit_test == b->limit_test;
}

static data_entry *data_find(data_cache *dc, const ein_data_config *cfg)
{
    for (int i = 0; i < dc->n; i++)
        if (same_data(dc->e[i].key, cfg))
            return &dc->e[i];
    return NULL;
}

static ein_code data_load_all(data_cache *dc, const ein_cell_list *l, const int *todo, int n,
                              ein_err *err)
{
    dc->e = calloc((size_t)(n > 0 ? n : 1), sizeof *dc->e);
    if (!dc->e)
        return ein_err_set(err, EIN_ERR_NOMEM, "out of memory");
    for (int i = 0; i < n; i++) {
        const ein_data_config *cfg = &l->cells[todo[i]].config.data;
        if (data_find(dc, cfg))
            continue;
        data_entry *e = &dc->e[dc->n];
        e->key = cfg;
        ein_code c = ein_dataset_load(cfg, EIN_SPLIT_TRAIN, &e->train, err);
        if (c == EIN_OK)
            c = ein_dataset_load(cfg, EIN_SPLIT_TEST, &e->test, err);
        if (c != EIN_OK) {
            ein_dataset_free(e->train);
            e->train = NULL;
            return c;
        }
        dc->n++;
    }
    return EIN_OK;
}

static void data_free(data_cache *dc)
{
    for (int i = 0; i < dc->n; i++) {
        ein_dataset_free(dc->e[i].train);
        ein_dataset_free(dc->e[i].test);
    }
    free(dc->e);
}

static ein_code train_one(void *ctx, const ein_cell *cell, const ein_train_hooks *hooks,
                          ein_cell_result *result, ein_err *err)
{
    data_entry *e = data_find(ctx, &cell->config.data);
    if (!e)
        return ein_err_set(err, EIN_ERR_INTERNAL, "cell %s: its data set was not loaded", cell->id);
    return ein_train_cell(&cell->config, e->train, e->test, hooks, result, err);
}

/* --- the end-of-run / `einrun summary` table ---------------------------- */

/* `only` (may be NULL): summarize just these cells — at the end of a run,
 * the selected grid, not whatever else the folder holds. */
static ein_code print_summary(const char *dir, const char *by, int top, const char *compare,
                              const ein_cell_list *only, FILE *out, ein_err *err)
{
    ein_code c = ein_results_write_summary_csv(dir, err);
    if (c != EIN_OK)
        return c;
    ein_record_list l;
    if ((c = ein_results_read(dir, &l, err)) != EIN_OK)
        return c;
    if (only) {
        int k = 0;
        for (int i = 0; i < l.n; i++) {
            bool keep = false;
            for (int j = 0; j < only->n && !keep; j++)
                keep = strcmp(only->cells[j].id, l.rec[i].id) == 0;
            if (keep)
                l.rec[k++] = l.rec[i];
        }
        l.n = k;
    }
    char defby[512];
    if (!by) {
        ein_summary_default_by(&l, defby, sizeof defby);
        by = defby;
    }
    ein_summary s;
    c = ein_summary_compute(&l, by, top, &s, err);
    if (c == EIN_OK) {
        char path[EIN_PATH_MAX];
        ein_summary_print(&s, out);
        c = ein_summary_write_csv(&s, dir, path, err);
        if (c == EIN_OK)
            fprintf(out, "(%d cell%s; %s/summary.csv, %s)\n", l.n, l.n == 1 ? "" : "s", dir, path);
        ein_summary_free(&s);
    }
    if (c == EIN_OK && compare)
        c = ein_summary_compare(&l, by, compare, out, err);
    ein_record_list_free(&l);
    return c;
}

int ein_cli_summary(int argc, char **argv)
{
    const char *dir = NULL, *by = NULL, *compare = NULL;
    long top = 10;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            summary_usage(stdout);
            return 0;
        } else if (strcmp(a, "--by") == 0 && i + 1 < argc) {
            by = argv[++i];
        } else if (strcmp(a, "--compare") == 0 && i + 1 < argc) {
            compare = argv[++i];
        } else if (strcmp(a, "--top") == 0) {
            if (parse_count("--top", i + 1 < argc ? argv[++i] : NULL, 1, &top) != 0)
                return ein_exit_status(EIN_ERR_USAGE);
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "einrun: unknown option '%s' for summary\n", a);
            summary_usage(stderr);
            return ein_exit_status(EIN_ERR_USAGE);
        } else if (dir) {
            fputs("einrun: summary takes one RESULTS_DIR\n", stderr);
            return ein_exit_status(EIN_ERR_USAGE);
        } else {
            dir = a;
        }
    }
    if (!dir) {
        summary_usage(stderr);
        return ein_exit_status(EIN_ERR_USAGE);
    }
    char path[EIN_PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/cells.jsonl", dir);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "einrun: %s: %s\n", path, strerror(errno));
        return ein_exit_status(EIN_ERR_IO);
    }
    fclose(f);
    ein_err err = {0};
    if (print_summary(dir, by, (int)top, compare, NULL, stdout, &err) != EIN_OK) {
        fprintf(stderr, "einrun: %s\n", err.msg);
        return ein_exit_status(err.code);
    }
    return 0;
}

/* --- einrun FILE.ein ---------------------------------------------------- */

typedef struct run_args {
    const char *file, *experiment, *where, *save_weights, *results, *by;
    long max_cells, jobs, epochs, limit_train, top;
    bool dry_run, graph, fail_fast, fresh, quiet;
    int n_ov;
    const char *ov_text[64];
} run_args;

static int parse_run_args(int argc, char **argv, run_args *a)
{
    memset(a, 0, sizeof *a);
    a->max_cells = -1;
    a->top = 10;
    for (int i = 1; i < argc; i++) {
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
        else if (strcmp(s, "--max-cells") == 0) COUNT(a->max_cells, 0);
        else if (strcmp(s, "--jobs") == 0 || strcmp(s, "-j") == 0) COUNT(a->jobs, 1);
        else if (strcmp(s, "--epochs") == 0) COUNT(a->epochs, 1);
        else if (strcmp(s, "--limit-train") == 0) COUNT(a->limit_train, 1);
        else if (strcmp(s, "--top") == 0) COUNT(a->top, 1);
        else if (s[0] == '-' && s[1]) {
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
    return 0;
}

/* `--graph`: build one cell's model (data dimensions from the first test
 * image) and write its graph in Graphviz dot. */
static ein_code write_graph(const ein_cell *cell, FILE *out, ein_err *err)
{
    ein_data_config probe = cell->config.data;
    probe.limit_test = 1;
    ein_dataset *test = NULL;
    ein_code rc = ein_dataset_load(&probe, EIN_SPLIT_TEST, &test, err);
    if (rc != EIN_OK)
        return rc;
    ein_model *m = NULL;
    rc = ein_model_build(&cell->config, test->dim, test->classes, cell->config.train.batch, false, &m, err);
    ein_dataset_free(test);
    if (rc != EIN_OK)
        return rc;
    ein_graph_write_dot(m->graph, out);
    ein_model_free(m);
    return EIN_OK;
}

int ein_cli_run(int argc, char **argv)
{
    run_args a;
    int pr = parse_run_args(argc, argv, &a);
    if (pr != 0) {
        run_usage(pr > 0 ? stdout : stderr);
        return pr > 0 ? 0 : ein_exit_status(EIN_ERR_USAGE);
    }
    int status = 0;
    ein_err err = {0};
    ein_diag *diag = ein_diag_new();
    ein_program *ovp[64] = {0};
    ein_override ov[64];
    char ov_names[64][EIN_NAME_MAX];
    ein_cell_list list = {0}, view = {0};
    int *todo = NULL;
    ein_results *store = NULL;
    ein_progress *prog = NULL;
    data_cache dc = {0};
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
    /* Command-line overrides NAME=EXPR. */
    for (int i = 0; i < a.n_ov; i++) {
        const char *eq = strchr(a.ov_text[i], '=');
        ovp[i] = ein_parse_text(diag, "<command line>", eq + 1, strlen(eq + 1), EIN_PARSE_EXPR, NULL);
        if (!ovp[i] || !ovp[i]->expr) {
            ein_diag_print(diag, stderr);
            status = ein_exit_status(EIN_ERR_USAGE);
            goto out;
        }
        snprintf(ov_names[i], EIN_NAME_MAX, "%.*s", (int)(eq - a.ov_text[i]), a.ov_text[i]);
        ov[i].name = ov_names[i];
        ov[i].value = ovp[i]->expr;
    }
    if (!ein_grid_expand(m, a.experiment, ov, a.n_ov, &list)) {
        ein_diag_print(diag, stderr);
        status = ein_exit_status(EIN_ERR_LANG);
        goto out;
    }
    /* --epochs / --limit-train change what a cell computes, so they are part
     * of its configuration and therefore of its id: results of a quick run
     * never pass for those of the full one. */
    for (int i = 0; i < list.n; i++) {
        ein_cell *c = &list.cells[i];
        if (a.epochs > 0)
            c->config.train.epochs = (int)a.epochs;
        if (a.limit_train > 0)
            c->config.data.limit_train = a.limit_train;
        if (a.epochs > 0 || a.limit_train > 0)
            ein_cell_id(list.experiment, &c->config, c->id);
    }
    /* Filters: --where, then --max-cells.  `view` borrows list's bindings. */
    view = list;
    view.cells = calloc((size_t)(list.n > 0 ? list.n : 1), sizeof *view.cells);
    todo = calloc((size_t)(list.n > 0 ? list.n : 1), sizeof *todo);
    if (!view.cells || !todo) {
        fputs("einrun: out of memory\n", stderr);
        status = ein_exit_status(EIN_ERR_NOMEM);
        goto out;
    }
    view.n = 0;
    if (a.where) {
        /* a name no cell binds is a typo, not an empty selection */
        char buf[1024];
        snprintf(buf, sizeof buf, "%s", a.where);
        for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
            while (*t == ' ')
                t++;
            char *eq = strchr(t, '=');
            if (!eq)
                break;   /* ein_cell_matches reports the malformed term */
            while (eq > t && eq[-1] == ' ')
                eq--;
            *eq = '\0';
            bool any = list.n == 0;
            for (int i = 0; i < list.n && !any; i++)
                any = ein_cell_binding(&list.cells[i], t) != NULL;
            if (!any) {
                fprintf(stderr, "einrun: --where: no axis named '%s'; the cells bind:", t);
                for (int k = 0; k < list.cells[0].n_bindings; k++)
                    fprintf(stderr, " %s", list.cells[0].bindings[k].name);
                fputc('\n', stderr);
                status = ein_exit_status(EIN_ERR_USAGE);
                goto out;
            }
        }
    }
    for (int i = 0; i < list.n; i++) {
        int mt = ein_cell_matches(&list.cells[i], a.where, &err);
        if (mt < 0) {
            fprintf(stderr, "einrun: %s\n", err.msg);
            status = ein_exit_status(err.code);
            goto out;
        }
        if (mt && (a.max_cells < 0 || view.n < a.max_cells))
            view.cells[view.n++] = list.cells[i];
    }
    if (a.dry_run) {
        ein_grid_print(&view, stdout);
        if (view.n != list.n)
            printf("(%d of %d cells selected)\n", view.n, list.n);
        goto out;
    }
    if (view.n == 0) {
        fprintf(stderr, "einrun: no cell selected (%d in the grid)\n", list.n);
        goto out;
    }
    if (a.graph) {
        if (view.n > 1)
            fprintf(stderr, "einrun: graph of cell %s, the first of %d selected (--where picks another)\n",
                    view.cells[0].id, view.n);
        if (write_graph(&view.cells[0], stdout, &err) != EIN_OK) {
            fprintf(stderr, "einrun: %s\n", err.msg);
            status = ein_exit_status(err.code);
        }
        goto out;
    }

    /* The results folder. */
    char dir[EIN_PATH_MAX], moved[EIN_PATH_MAX];
    if (a.results)
        snprintf(dir, sizeof dir, "%s", a.results);
    else if (view.cells[0].config.results_dir[0])
        snprintf(dir, sizeof dir, "%s", view.cells[0].config.results_dir);
    else
        snprintf(dir, sizeof dir, "results/%.*s", EIN_NAME_MAX, list.experiment);
    store = ein_results_open(dir, a.fresh, moved, &err);
    if (!store || ein_results_store_source(store, a.file, &err) != EIN_OK) {
        fprintf(stderr, "einrun: %s\n", err.msg);
        status = ein_exit_status(err.code);
        goto out;
    }
    if (moved[0])
        fprintf(stderr, "einrun: previous results moved to %s\n", moved);
    ein_record_list done;
    if (ein_results_read(dir, &done, &err) != EIN_OK) {
        fprintf(stderr, "einrun: %s\n", err.msg);
        status = ein_exit_status(err.code);
        goto out;
    }
    int n_todo = ein_runner_pending(&view, &done, todo);
    ein_record_list_free(&done);
    if (n_todo < view.n)
        fprintf(stderr, "einrun: %s: %d of %d cells already finished, %d to run\n", dir,
                view.n - n_todo, view.n, n_todo);
    if (n_todo == 0) {
        if (print_summary(dir, a.by, (int)a.top, NULL, &view, stdout, &err) != EIN_OK) {
            fprintf(stderr, "einrun: %s\n", err.msg);
            status = ein_exit_status(err.code);
        }
        goto out;
    }

    /* Data sets: loaded once, here, so a missing file stops the run before
     * any cell starts, and the workers share the pages. */
    if (data_load_all(&dc, &view, todo, n_todo, &err) != EIN_OK) {
        fprintf(stderr, "einrun: %s\n", err.msg);
        status = ein_exit_status(err.code);
        goto out;
    }
    int jobs = a.jobs > 0 ? (int)a.jobs : ein_online_cores();
    int epochs = view.cells[todo[0]].config.train.epochs;
    prog = ein_progress_new(n_todo, epochs, stdout, stderr, a.quiet);
    if (!prog) {
        fputs("einrun: out of memory\n", stderr);
        status = ein_exit_status(EIN_ERR_NOMEM);
        goto out;
    }
    ein_run_options ro = {
        .jobs = jobs, .blas_threads = 0, .set_threads = ein_blas_set_threads,
        .fail_fast = a.fail_fast, .save_weights_dir = a.save_weights,
        .run_cell = train_one, .ctx = &dc,
        .events = { prog, ein_progress_on_start, ein_progress_on_epoch, ein_progress_on_done,
                    ein_progress_on_tick },
    };
    ein_runner_reset_signals();
    ein_runner_install_signals();
    ein_run_totals tot;
    ein_code rc = ein_runner_run(&view, todo, n_todo, store, &ro, &tot, &err);
    ein_progress_finish(prog);
    fprintf(stderr, "einrun: %d ok, %d diverged, %d failed, %d interrupted, %d not started\n",
            tot.ok, tot.diverged, tot.failed, tot.interrupted, tot.not_started);
    /* The summary is regenerated whatever happened: it is derived from the
     * records, which are all on disk already. */
    ein_err serr = {0};
    if (rc != EIN_ERR_IO && print_summary(dir, a.by, (int)a.top, NULL, &view, stdout, &serr) != EIN_OK)
        fprintf(stderr, "einrun: %s\n", serr.msg);
    if (rc != EIN_OK) {
        fprintf(stderr, "einrun: %s\n", err.msg);
        status = ein_exit_status(rc);
    } else if (tot.failed > 0) {
        fprintf(stderr, "einrun: %d cell%s failed; run the same command again to retry them\n",
                tot.failed, tot.failed == 1 ? "" : "s");
        status = 1;
    }

out:
    if (fflush(stdout) != 0 && status == 0) {
        fputs("einrun: cannot write the output\n", stderr);
        status = ein_exit_status(EIN_ERR_IO);
    }
    ein_progress_free(prog);
    data_free(&dc);
    ein_results_close(store);
    free(todo);
    free(view.cells);
    ein_cell_list_free(&list);
    for (int i = 0; i < a.n_ov; i++)
        ein_program_free(ovp[i]);
    ein_module_free(m);
    ein_diag_free(diag);
    return status;
}
