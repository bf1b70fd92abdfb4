/* session.c — the run pipeline of `einrun FILE.ein` and the REPL (session.h). */
#include "ein/blas.h"
#include "ein/session.h"
#include "ein/hash.h"

#include <stdlib.h>
#include <string.h>

#include "ein/data.h"
#include "ein/graph.h"
#include "ein/model.h"
#include "ein/progress.h"
#include "ein/results.h"
#include "ein/shard.h"
#include "ein/summary.h"
#include "ein/train.h"

/* --- data sets ----------------------------------------------------------- */

typedef struct data_entry {
    ein_data_config key;           /* a copy: the cache outlives the cell lists */
    ein_dataset *train, *test;
} data_entry;

struct ein_data_cache {
    int n, cap;
    data_entry *e;
};

ein_data_cache *ein_data_cache_new(void)
{
    return calloc(1, sizeof(ein_data_cache));
}

void ein_data_cache_free(ein_data_cache *dc)
{
    if (!dc)
        return;
    for (int i = 0; i < dc->n; i++) {
        ein_dataset_free(dc->e[i].train);
        ein_dataset_free(dc->e[i].test);
    }
    free(dc->e);
    free(dc);
}

int ein_data_cache_count(const ein_data_cache *dc)
{
    return dc ? dc->n : 0;
}

/* The fields that decide which images are loaded (eps and the shifts act per
 * batch, so cells that differ only there share one copy). */
static bool same_data(const ein_data_config *a, const ein_data_config *b)
{
    return strcmp(a->dir, b->dir) == 0 && strcmp(a->base, b->base) == 0 &&
           strcmp(a->train_images, b->train_images) == 0 &&
           strcmp(a->train_labels, b->train_labels) == 0 &&
           strcmp(a->test_images, b->test_images) == 0 &&
           strcmp(a->test_labels, b->test_labels) == 0 && a->limit_train == b->limit_train &&
           a->limit_test == b->limit_test;
}

static data_entry *data_find(const ein_data_cache *dc, const ein_data_config *cfg)
{
    for (int i = 0; i < dc->n; i++)
        if (same_data(&dc->e[i].key, cfg))
            return &dc->e[i];
    return NULL;
}

/* A network whose input is not the images' pixel count would train on a
 * prefix of each image (or read past it): stop before any cell starts. */
static ein_code check_input(const ein_cell_config *cfg, const ein_dataset *d, ein_err *err)
{
    if (cfg->input == d->dim)
        return EIN_OK;
    return ein_err_set(err, EIN_ERR_DATA, "%s: images have %d values (%d x %d) but the network's input is %d (%s)",
                       d->images_path, d->dim, d->rows, d->cols, cfg->input,
                       cfg->input_where[0] ? cfg->input_where : "the default network: input 784");
}

ein_code ein_data_cache_load(ein_data_cache *dc, const ein_cell_list *list, const int *todo,
                             int n, ein_err *err)
{
    for (int i = 0; i < n; i++) {
        ein_cell_config cell_buf;
        const ein_cell_config *cell = ein_cell_config_of(&list->cells[todo[i]], &cell_buf);
        const ein_data_config *cfg = &cell->data;
        const data_entry *have = data_find(dc, cfg);
        if (have) {
            ein_code c = check_input(cell, have->train, err);
            if (c != EIN_OK)
                return c;
            continue;
        }
        if (dc->n == dc->cap) {
            int cap = dc->cap ? 2 * dc->cap : 4;
            data_entry *e = realloc(dc->e, (size_t)cap * sizeof *e);
            if (!e)
                return ein_err_set(err, EIN_ERR_NOMEM, "out of memory");
            dc->e = e;
            dc->cap = cap;
        }
        data_entry *e = &dc->e[dc->n];
        memset(e, 0, sizeof *e);
        e->key = *cfg;
        ein_code c = ein_dataset_load(cfg, EIN_SPLIT_TRAIN, &e->train, err);
        if (c == EIN_OK)
            c = ein_dataset_load(cfg, EIN_SPLIT_TEST, &e->test, err);
        if (c != EIN_OK && cfg->where[0])   /* which .ein line asked for these files */
            ein_err_suffix(err, " (data = ... at %s)", cfg->where);
        if (c == EIN_OK)
            c = ein_dataset_check_pair(e->train, e->test, err);
        if (c == EIN_OK)
            c = check_input(cell, e->train, err);
        if (c != EIN_OK) {
            ein_dataset_free(e->test);
            ein_dataset_free(e->train);
            e->train = e->test = NULL;
            return c;
        }
        dc->n++;
    }
    return EIN_OK;
}

ein_code ein_data_cache_train(void *ctx, const ein_cell *cell, const ein_train_hooks *hooks,
                              ein_cell_result *result, ein_err *err)
{
    ein_cell_config *cfg = malloc(sizeof *cfg);
    if (!cfg)
        return ein_err_set(err, EIN_ERR_NOMEM, "cell %s: out of memory", cell->id);
    ein_cell_config_of(cell, cfg);
    data_entry *e = data_find(ctx, &cfg->data);
    ein_code rc = e ? ein_train_cell(cfg, e->train, e->test, hooks, result, err)
                    : ein_err_set(err, EIN_ERR_INTERNAL, "cell %s: its data set was not loaded", cell->id);
    free(cfg);
    return rc;
}

/* --- selecting cells ------------------------------------------------------ */

/* A --where name no cell binds is a typo, not an empty selection. */
static ein_code check_where_names(const ein_cell_list *list, const char *where, ein_err *err)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", where);
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        while (*t == ' ')
            t++;
        char *eq = strchr(t, '=');
        if (!eq)
            break;   /* ein_cell_matches reports the malformed term */
        while (eq > t && eq[-1] == ' ')
            eq--;
        *eq = '\0';
        bool any = list->n == 0;
        for (int i = 0; i < list->n && !any; i++)
            any = ein_cell_binding(&list->cells[i], t) != NULL;
        if (!any) {
            char names[512] = "";
            size_t len = 0;
            for (int k = 0; k < list->cells[0].n_bindings && len < sizeof names; k++)
                len += (size_t)snprintf(names + len, sizeof names - len, " %s",
                                        list->cells[0].bindings[k].name);
            return ein_err_set(err, EIN_ERR_USAGE, "--where: no axis named '%s'; the cells bind:%s",
                               t, names);
        }
    }
    return EIN_OK;
}

ein_code ein_session_select(const ein_module *m, const ein_select_options *opt,
                            ein_selection *out, ein_err *err)
{
    memset(out, 0, sizeof *out);
    ein_cell_list *list = &out->list, *view = &out->view;
    /* --epochs / --limit-train are the settings train.epochs and
     * data.limit_train: part of a cell's configuration and of its id (grid.c
     * computes ids after every override), so a quick run never passes for
     * the full one. */
    ein_override ov[66];
    ein_program *extra[2] = { NULL, NULL };
    int n_ov = 0;
    for (int i = 0; i < opt->n_ov && n_ov < 64; i++)
        ov[n_ov++] = opt->ov[i];
    struct { long n; const char *path, *source; } sugar[2] = {
        { opt->epochs, "train.epochs", "--epochs" }, { opt->limit_train, "data.limit_train", "--limit-train" },
    };
    bool ok = true;
    for (int k = 0; k < 2 && ok; k++)
        if (sugar[k].n > 0) {
            char text[64];
            snprintf(text, sizeof text, "%s=%ld", sugar[k].path, sugar[k].n);
            ok = ein_override_parse(m->diag, sugar[k].source, text, &ov[n_ov], &extra[k]);
            n_ov += ok;
        }
    ok = ok && ein_grid_expand(m, opt->experiment, ov, n_ov, list);
    ein_program_free(extra[0]);
    ein_program_free(extra[1]);
    if (!ok)
        return EIN_ERR_LANG;
    *view = *list;
    view->n = 0;
    view->cells = calloc((size_t)(list->n > 0 ? list->n : 1), sizeof *view->cells);
    if (!view->cells) {
        ein_selection_free(out);
        return ein_err_set(err, EIN_ERR_NOMEM, "out of memory");
    }
    ein_code c = opt->where ? check_where_names(list, opt->where, err) : EIN_OK;
    for (int i = 0; i < list->n && c == EIN_OK; i++) {
        int mt = ein_cell_matches(&list->cells[i], opt->where, err);
        if (mt < 0)
            c = err ? err->code : EIN_ERR_USAGE;
        else if (mt && (opt->max_cells < 0 || view->n < opt->max_cells))
            view->cells[view->n++] = list->cells[i];
    }
    if (c != EIN_OK)
        ein_selection_free(out);
    return c;
}

void ein_selection_free(ein_selection *s)
{
    free(s->view.cells);
    ein_cell_list_free(&s->list);
    memset(s, 0, sizeof *s);
}

/* --- running -------------------------------------------------------------- */

ein_code ein_session_summarize(const ein_summary_request *q, FILE *out, ein_err *err)
{
    ein_code c = EIN_OK;
    for (int d = 0; d < q->n_dirs && c == EIN_OK; d++)
        c = ein_results_write_merged(q->dirs[d], err);
    if (c != EIN_OK)
        return c;
    ein_record_list l;     /* and each folder's summary.csv from what was read */
    if ((c = ein_summary_read(q->dirs, q->n_dirs, true, &l, err)) != EIN_OK)
        return c;
    if (q->only) {
        /* the selected ids hashed once: linear for 100k records */
        ein_name_index sel = { 0 };
        for (int j = 0; j < q->only->n; j++)
            if (!ein_index_put(&sel, q->only->cells[j].id, j)) {
                ein_index_free(&sel);
                ein_record_list_free(&l);
                return ein_err_set(err, EIN_ERR_NOMEM, "out of memory");
            }
        int k = 0;
        for (int i = 0; i < l.n; i++)
            if (ein_index_get(&sel, l.rec[i].id) >= 0)
                l.rec[k++] = l.rec[i];
        l.n = k;
        ein_index_free(&sel);
    }
    char defby[2048];
    const char *by = q->by;
    if (!by) {
        ein_summary_default_by(&l, defby, sizeof defby);
        by = defby;
    }
    ein_summary s;
    c = ein_summary_compute(&l, by, q->metric, q->top, &s, err);
    if (c == EIN_OK) {
        char path[EIN_PATH_MAX] = "";
        ein_summary_print(&s, out);
        if (q->csv) {
            c = ein_summary_write_csv_to(&s, q->csv, err);
            snprintf(path, sizeof path, "%s", q->csv);
        } else if (q->n_dirs == 1) {
            c = ein_summary_write_csv(&s, q->dirs[0], path, err);
        }
        if (c == EIN_OK && q->n_dirs == 1)
            fprintf(out, "(%d cell%s; %s/summary.csv, %s)\n", l.n, l.n == 1 ? "" : "s", q->dirs[0], path);
        else if (c == EIN_OK)
            fprintf(out, "(%d cell%s from %d folders; summary.csv in each%s%s)\n", l.n,
                    l.n == 1 ? "" : "s", q->n_dirs, path[0] ? ", " : "", path);
        ein_summary_free(&s);
    }
    if (c == EIN_OK && q->compare)
        c = ein_summary_compare(&l, by, q->metric, q->compare, out, err);
    ein_record_list_free(&l);
    return c;
}

ein_code ein_session_summary(const char *dir, const char *by, int top, const char *compare,
                             const ein_cell_list *only, FILE *out, ein_err *err)
{
    const char *dirs[1] = { dir };
    ein_summary_request q = { .dirs = dirs, .n_dirs = 1, .by = by, .top = top, .compare = compare,
                              .only = only };
    return ein_session_summarize(&q, out, err);
}

void ein_session_results_dir(const ein_cell_list *view, const char *given, char dir[EIN_PATH_MAX])
{
    ein_cell_config first;
    if (given)
        snprintf(dir, EIN_PATH_MAX, "%s", given);
    else if (view->n > 0 && ein_cell_config_of(&view->cells[0], &first)->results_dir[0])
        snprintf(dir, EIN_PATH_MAX, "%s", first.results_dir);
    else
        snprintf(dir, EIN_PATH_MAX, "results/%.*s", EIN_NAME_MAX, view->experiment);
}

/* The runner's events: the progress display, then the caller's on_done. */
typedef struct run_events {
    ein_progress *prog;
    const ein_session_run_options *opt;
} run_events;

static void events_start(void *ctx, const ein_cell *cell)
{
    ein_progress_on_start(((run_events *)ctx)->prog, cell);
}

static void events_epoch(void *ctx, const ein_cell *cell, const ein_epoch_metrics *m)
{
    ein_progress_on_epoch(((run_events *)ctx)->prog, cell, m);
}

static void events_done(void *ctx, const ein_cell *cell, const ein_cell_result *r)
{
    run_events *ev = ctx;
    ein_progress_on_done(ev->prog, cell, r);
    if (ev->opt->on_done)
        ev->opt->on_done(ev->opt->ctx, cell, r);
}

static void events_tick(void *ctx)
{
    ein_progress_on_tick(((run_events *)ctx)->prog);
}

static void events_skip(void *ctx, const ein_cell *cell)
{
    ein_progress_on_skip(((run_events *)ctx)->prog, cell);
}

/* Run the pending cells (todo) through the runner with progress. */
static ein_code run_pending(const ein_cell_list *view, const int *todo, int n_todo,
                            ein_results *store, ein_claims *claims, const char *tag,
                            ein_data_cache *dc, const ein_session_run_options *opt,
                            ein_session_report *rep, ein_err *err)
{
    /* Data sets: loaded once, here, so a missing file stops the run before
     * any cell starts, and the workers share the pages. */
    ein_code rc = ein_data_cache_load(dc, view, todo, n_todo, err);
    if (rc != EIN_OK)
        return rc;
    int jobs = opt->jobs > 0 ? opt->jobs : ein_online_cores();
    ein_cell_config first;
    int epochs = ein_cell_config_of(&view->cells[todo[0]], &first)->train.epochs;
    ein_progress *prog = ein_progress_new(n_todo, epochs, opt->out, opt->log, opt->quiet);
    if (!prog)
        return ein_err_set(err, EIN_ERR_NOMEM, "out of memory");
    run_events ev = { prog, opt };
    ein_run_options ro = {
        .jobs = jobs, .blas_threads = 0, .set_threads = ein_blas_set_threads,
        .fail_fast = opt->fail_fast, .save_weights_dir = opt->save_weights,
        .results_dir = ein_results_dir(store),
        .run_cell = ein_data_cache_train, .ctx = dc,
        .events = { &ev, events_start, events_epoch, events_done, events_tick, events_skip },
        .claims = claims, .run_tag = tag,
    };
    ein_runner_reset_signals();
    ein_runner_install_signals();
    ein_run_totals *tot = &rep->totals;
    rc = ein_runner_run(view, todo, n_todo, store, &ro, tot, err);
    ein_progress_finish(prog);
    ein_progress_free(prog);
    fprintf(opt->log, "einrun: %d ok, %d diverged, %d failed, %d interrupted, %d not started\n",
            tot->ok, tot->diverged, tot->failed, tot->interrupted, tot->not_started);
    if (tot->elsewhere > 0)
        fprintf(opt->log, "einrun: %d cell%s finished by another writer meanwhile\n",
                tot->elsewhere, tot->elsewhere == 1 ? "" : "s");
    return rc;
}

ein_code ein_session_run(const ein_cell_list *view, ein_data_cache *dc,
                         const ein_session_run_options *opt, ein_session_report *rep,
                         ein_err *err)
{
    memset(rep, 0, sizeof *rep);
    rep->n_selected = view->n;
    int top = opt->top > 0 ? opt->top : 10;
    ein_session_results_dir(view, opt->results, rep->dir);
    char moved[EIN_PATH_MAX];
    ein_results *store = ein_results_open(rep->dir, opt->fresh, moved, err);
    if (!store)
        return err ? err->code : EIN_ERR_IO;
    ein_code rc = opt->source_text ? ein_results_store_source_text(store, opt->source_text, opt->source_len, err)
                : opt->source     ? ein_results_store_source(store, opt->source, err)
                                  : EIN_OK;
    /* Each writer appends to its own shard and claims a cell before running
     * it, so any number of einrun processes may share the folder (shard.h). */
    char tag[48];
    ein_run_tag(tag);
    ein_claims *claims = NULL;
    if (rc == EIN_OK)
        rc = ein_results_use_shard(store, tag, err);
    if (rc == EIN_OK)
        rc = ein_manifest_write(rep->dir, opt->selection ? opt->selection : view,
                                opt->n_shards > 0 ? opt->n_shards : 1, err);
    if (rc == EIN_OK && !(claims = ein_claims_open(rep->dir, tag, err)))
        rc = err ? err->code : EIN_ERR_IO;
    if (rc != EIN_OK)
        goto out;
    if (moved[0])
        fprintf(opt->log, "einrun: previous results moved to %s\n", moved);
    ein_record_list done;
    if ((rc = ein_results_read(rep->dir, &done, err)) != EIN_OK)
        goto out;
    int *todo = calloc((size_t)(view->n > 0 ? view->n : 1), sizeof *todo);
    if (!todo) {
        ein_record_list_free(&done);
        rc = ein_err_set(err, EIN_ERR_NOMEM, "out of memory");
        goto out;
    }
    int n_todo = rep->n_todo = ein_runner_pending(view, &done, todo);
    ein_record_list_free(&done);
    if (n_todo < view->n)
        fprintf(opt->log, "einrun: %s: %d of %d cells already finished, %d to run\n", rep->dir,
                view->n - n_todo, view->n, n_todo);
    if (n_todo > 0)
        rc = run_pending(view, todo, n_todo, store, claims, tag, dc, opt, rep, err);
    free(todo);
    /* The summary is regenerated whatever happened: it is derived from the
     * records, which are all on disk already. */
    if (rc != EIN_ERR_IO && rc != EIN_ERR_DATA && !opt->no_summary) {   /* data errors stop before any cell */
        ein_err serr = {0};
        const char *dirs[1] = { rep->dir };
        ein_summary_request q = { .dirs = dirs, .n_dirs = 1, .by = opt->by, .metric = opt->metric,
                                  .top = top, .only = view };
        ein_code sc = ein_session_summarize(&q, opt->out, &serr);
        if (sc != EIN_OK && rc == EIN_OK)
            rc = ein_err_set(err, sc, "%s", serr.msg);
        else if (sc != EIN_OK)
            fprintf(opt->log, "einrun: %s\n", serr.msg);
    }
out:
    ein_claims_close(claims);
    ein_results_close(store);
    return rc;
}

ein_code ein_session_write_graph(const ein_cell *cell, FILE *out, ein_err *err)
{
    ein_cell_config *cfg = malloc(sizeof *cfg);
    if (!cfg)
        return ein_err_set(err, EIN_ERR_NOMEM, "out of memory");
    ein_cell_config_of(cell, cfg);
    ein_data_config probe = cfg->data;
    probe.limit_test = 1;
    ein_dataset *test = NULL;
    ein_code rc = ein_dataset_load(&probe, EIN_SPLIT_TEST, &test, err);
    ein_model *m = NULL;
    if (rc == EIN_OK)
        rc = ein_model_build(cfg, test->dim, test->classes, cfg->train.batch, false, &m, err);
    free(cfg);
    ein_dataset_free(test);
    if (rc != EIN_OK)
        return rc;
    ein_graph_write_dot(m->graph, out);
    ein_model_free(m);
    return EIN_OK;
}
