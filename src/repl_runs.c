/* repl_runs.c — runs of the REPL session and their comparison: :run,
 * :ablate, :compare, :runs (repl_session.h). */
#include "repl_session.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* --- runs -------------------------------------------------------------------- */

typedef struct run_capture {
    run *run;
    const ein_cell_list *view;
} run_capture;

static run_cell *run_find(run *rn, const char *id)
{
    for (int i = 0; i < rn->n_cells; i++)
        if (strcmp(rn->cells[i].id, id) == 0)
            return &rn->cells[i];
    return NULL;
}

static void capture_done(void *ctx, const ein_cell *cell, const ein_cell_result *res)
{
    run_cell *c = run_find(((run_capture *)ctx)->run, cell->id);
    if (c) {
        c->res = *res;
        c->have_result = true;
    }
}

/* Cells already finished before this run: their record (no per-layer values). */
static void fill_from_records(run *rn)
{
    ein_record_list l;
    if (ein_results_read(rn->dir, &l, NULL) != EIN_OK)
        return;
    ein_record_finder fin;
    ein_record_finder_init(&fin, &l);
    for (int i = 0; i < rn->n_cells; i++) {
        run_cell *c = &rn->cells[i];
        const ein_record *rec = ein_record_finder_get(&fin, c->id);
        if (c->have_result || !rec)
            continue;
        c->have_record = true;
        c->res.status = !strcmp(rec->status, "ok") ? EIN_CELL_OK
                        : !strcmp(rec->status, "diverged") ? EIN_CELL_DIVERGED
                        : !strcmp(rec->status, "interrupted") ? EIN_CELL_INTERRUPTED : EIN_CELL_FAILED;
        c->res.epochs_done = rec->epochs;
        c->res.final.test_acc = rec->final_test_acc;
        c->res.best.test_acc = rec->best_test_acc;
        c->res.final.train_acc = rec->final_train_acc;
        c->res.final.task_loss = rec->final_task_loss;
        c->res.final.inorm_loss = rec->final_inorm_loss;
        c->res.final.test_loss = rec->final_test_loss;
        c->res.final.n_hidden = 0;
    }
    ein_record_finder_free(&fin);
    ein_record_list_free(&l);
}

static double nan_value(void)
{
    return (double)NAN;
}

static int start_run(repl *r, run *rn, const ein_cell_list *view, bool quiet)
{
    rn->n_cells = view->n;
    rn->cells = calloc((size_t)(view->n > 0 ? view->n : 1), sizeof *rn->cells);
    if (!rn->cells)
        return repl_oom(r);
    ein_cell_config cfg;
    for (int i = 0; i < view->n; i++) {
        run_cell *c = &rn->cells[i];
        memcpy(c->id, view->cells[i].id, sizeof c->id);
        ein_cell_short(&view->cells[i], c->label, sizeof c->label);
        ein_cell_config_of(&view->cells[i], &cfg);
        c->metrics = cfg.metrics;
        c->n_hidden = cfg.n_hidden;
        c->res.final.test_acc = c->res.best.test_acc = nan_value();
    }
    snprintf(rn->experiment, sizeof rn->experiment, "%s", view->experiment);
    /* The session's program goes with the results, as source.ein. */
    char src[] = "/tmp/einrun-session-XXXXXX";
    int fd = mkstemp(src);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (f) {
        ein_program_print(&r->root, f);
        fclose(f);
    }
    bool report_dir = view->n > 0 && ein_cell_config_of(&view->cells[0], &cfg)->results_dir[0];
    run_capture cap = { rn, view };
    ein_session_run_options ro = {
        .results = report_dir ? NULL : r->default_dir, .source = f ? src : NULL,
        .jobs = (int)rn->jobs, .quiet = quiet, .no_summary = true,
        .out = r->out, .log = r->log, .on_done = capture_done, .ctx = &cap,
    };
    ein_session_report rep;
    ein_err err = {0};
    ein_code rc = ein_session_run(view, r->dc, &ro, &rep, &err);
    if (fd >= 0)
        unlink(src);
    snprintf(rn->dir, sizeof rn->dir, "%s", rep.dir);
    rn->totals = rep.totals;
    fill_from_records(rn);
    if (rc == EIN_OK || rc == EIN_ERR_INTERRUPTED)
        ein_results_write_summary_csv(rn->dir, NULL);
    if (rc != EIN_OK) {
        fprintf(r->log, "einrun: %s\n", err.msg);
        return ein_exit_status(rc);
    }
    return rep.totals.failed > 0 ? 1 : 0;
}

static void print_pct(FILE *out, double v)
{
    if (isnan(v))
        fprintf(out, " %10s", "-");
    else
        fprintf(out, " %8.2f %%", v);
}

static void print_run_cells(repl *r, const run *rn)
{
    fprintf(r->out, "run #%d  %s  %s  (%s)\n", rn->number, rn->experiment, rn->what, rn->dir);
    for (int i = 0; i < rn->n_cells; i++) {
        const run_cell *c = &rn->cells[i];
        fprintf(r->out, "  %s  %-12s", c->id, ein_cell_status_name(c->res.status));
        fputs(" final", r->out);
        print_pct(r->out, c->res.final.test_acc);
        fputs("  best", r->out);
        print_pct(r->out, c->res.best.test_acc);
        fprintf(r->out, "  %s\n", c->label);
    }
}

/* --- side by side (:ablate, :compare) ---------------------------------------- */

static void row(FILE *out, const char *what, double a, double b, bool pct)
{
    if (isnan(a) && isnan(b))
        return;
    fprintf(out, "    %-22s", what);
    const char *f = pct ? " %10.2f" : " %10.4f";
    if (isnan(a)) fprintf(out, " %10s", "-"); else fprintf(out, f, a);
    if (isnan(b)) fprintf(out, " %10s", "-"); else fprintf(out, f, b);
    if (isnan(a) || isnan(b))
        fprintf(out, " %10s\n", "-");
    else
        fprintf(out, pct ? " %+10.2f\n" : " %+10.4f\n", b - a);
}

static double layer_value(const run_cell *c, int l, int k)
{
    if (!c->have_result || l >= c->res.final.n_hidden)
        return nan_value();
    const ein_layer_metrics *m = &c->res.final.layer[l];
    double v[5] = { m->mean, m->var, m->mean_sq, m->cos_out, m->cos_grad };
    return v[k];
}

static void compare_cells(FILE *out, const run_cell *a, const run_cell *b)
{
    unsigned mt = a->metrics | b->metrics;
    double nan = nan_value();
    row(out, "final test acc (%)", a->res.final.test_acc, b->res.final.test_acc, true);
    row(out, "best test acc (%)", a->res.best.test_acc, b->res.best.test_acc, true);
    if (mt & (1u << EIN_METRIC_TRAIN_ACC))
        row(out, "final train acc (%)", a->res.final.train_acc, b->res.final.train_acc, true);
    row(out, "task loss", a->res.final.task_loss, b->res.final.task_loss, false);
    if (mt & (1u << EIN_METRIC_INORM_LOSS))
        row(out, "inorm loss", a->res.final.inorm_loss, b->res.final.inorm_loss, false);
    row(out, "test loss", a->res.final.test_loss, b->res.final.test_loss, false);
    static const struct { unsigned metric; int k; const char *name; } per_layer[] = {
        { EIN_METRIC_MOMENTS, 0, "mean(z)" },
        { EIN_METRIC_MOMENTS, 1, "var(z)" },
        { EIN_METRIC_MOMENTS, 2, "mean(z^2)" },
        { EIN_METRIC_COS_LN_OUT, 3, "cos out vs LN" },
        { EIN_METRIC_COS_LN_GRAD, 4, "cos grad vs LN" },
    };
    int nl = a->n_hidden > b->n_hidden ? a->n_hidden : b->n_hidden;
    for (int l = 0; l < nl; l++)
        for (size_t k = 0; k < sizeof per_layer / sizeof *per_layer; k++) {
            if (!(mt & (1u << per_layer[k].metric)))
                continue;
            char what[64];
            snprintf(what, sizeof what, "layer %d %s", l + 1, per_layer[k].name);
            double va = layer_value(a, l, per_layer[k].k), vb = layer_value(b, l, per_layer[k].k);
            row(out, what, isnan(va) && !isnan(vb) ? nan : va, vb, false);
        }
}

/* Pair cells by their bindings; when the grids differ in shape, by position. */
static const run_cell *partner(const run *b, const run_cell *ca, int i, const run *a)
{
    for (int j = 0; j < b->n_cells; j++)
        if (strcmp(b->cells[j].label, ca->label) == 0)
            return &b->cells[j];
    return a->n_cells == b->n_cells ? &b->cells[i] : NULL;
}

static void compare_runs(repl *r, const run *a, const run *b)
{
    fprintf(r->out, "run #%d  %s  %s\nrun #%d  %s  %s\n", a->number, a->experiment, a->what,
            b->number, b->experiment, b->what);
    char ha[16], hb[16], hd[32];
    snprintf(ha, sizeof ha, "#%d", a->number);
    snprintf(hb, sizeof hb, "#%d", b->number);
    snprintf(hd, sizeof hd, "#%d - #%d", b->number, a->number);
    int shown = 0;
    for (int i = 0; i < a->n_cells; i++) {
        const run_cell *ca = &a->cells[i], *cb = partner(b, ca, i, a);
        if (!cb)
            continue;
        if (strcmp(ca->label, cb->label) == 0)
            fprintf(r->out, "  %-24s %10s %10s %10s\n", ca->label[0] ? ca->label : ca->id, ha, hb, hd);
        else
            fprintf(r->out, "  %s | %s\n  %-24s %10s %10s %10s\n", ca->label, cb->label, "", ha, hb, hd);
        compare_cells(r->out, ca, cb);
        shown++;
    }
    if (!shown)
        fprintf(r->out, "  (no cell of run #%d has a partner in run #%d)\n", a->number, b->number);
}

/* --- :run and :ablate -------------------------------------------------------- */

static run *new_run(repl *r)
{
    if (!GROW(r->runs, r->n_runs, r->cap_runs))
        return NULL;
    run *rn = &r->runs[r->n_runs];
    memset(rn, 0, sizeof *rn);
    rn->number = r->n_runs + 1;
    return rn;
}


/* Select and run; the run is recorded (and becomes r->runs[r->n_runs - 1])
 * whenever any cell was selected. */
static int run_selection(repl *r, run *rn, bool quiet)
{
    selection_args sa = {
        .experiment = rn->experiment[0] ? rn->experiment : NULL, .where = rn->where,
        .epochs = rn->epochs, .limit_train = rn->limit_train, .max_cells = -1,
        .n_ov = rn->n_ov, .ov = rn->ov,
    };
    ein_selection sel;
    int st = repl_select_cells(r, &sa, &sel);
    if (st != 0)
        return st;
    if (sel.view.n == 0) {
        fprintf(r->log, "einrun: no cell selected (%d in the grid)\n", sel.list.n);
        ein_selection_free(&sel);
        return ein_exit_status(EIN_ERR_USAGE);
    }
    st = start_run(r, rn, &sel.view, quiet);
    ein_selection_free(&sel);
    r->n_runs++;
    return st;
}

int repl_cmd_run(repl *r, char *args, int line, int col)
{
    (void)line, (void)col;
    char what[512];
    snprintf(what, sizeof what, ":run%s%s", *args ? " " : "", args);
    run_args a;
    int st = repl_parse_run_args(r, args, ":run", &a);
    run *rn = st == 0 ? new_run(r) : NULL;
    if (st != 0 || !rn)
        return st ? st : repl_oom(r);
    snprintf(rn->what, sizeof rn->what, "%s", what);
    snprintf(rn->experiment, sizeof rn->experiment, "%s", a.experiment);
    snprintf(rn->where, sizeof rn->where, "%s", a.where);
    rn->epochs = a.epochs;
    rn->limit_train = a.limit_train;
    rn->jobs = a.jobs;
    rn->n_ov = r->n_ov;
    memcpy(rn->ov, r->ov, sizeof rn->ov);
    int n_before = r->n_runs;
    st = run_selection(r, rn, a.quiet);
    if (r->n_runs > n_before) {
        r->baseline = r->n_runs - 1;
        print_run_cells(r, &r->runs[r->baseline]);
    }
    return st;
}

/* The filter without terms naming `name` (an ablated axis must not filter
 * its own new value away). */
static void drop_terms(char *where, const char *name)
{
    char out[512] = "", buf[512];
    snprintf(buf, sizeof buf, "%s", where);
    size_t n = strlen(name), len = 0;
    char *save = NULL;
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
        if (!(strncmp(t, name, n) == 0 && t[n] == '='))
            len += (size_t)snprintf(out + len, sizeof out - len, "%s%s", len ? "," : "", t);
    snprintf(where, 512, "%s", out);
}

int repl_cmd_ablate(repl *r, char *args, int line, int col)
{
    if (r->baseline < 0) {
        fputs("einrun: :ablate: nothing to ablate yet; :run first\n", r->log);
        return ein_exit_status(EIN_ERR_USAGE);
    }
    char what[512];
    snprintf(what, sizeof what, ":ablate %s", args);
    int idx = repl_parse_assignment(r, args, ":ablate", line, col);
    run *rn = idx >= 0 ? new_run(r) : NULL;
    if (!rn)
        return idx < 0 ? ein_exit_status(EIN_ERR_LANG) : repl_oom(r);
    const run *base = &r->runs[r->baseline];
    int number = rn->number;
    *rn = *base;
    rn->number = number;
    rn->cells = NULL;
    rn->n_cells = 0;
    memset(&rn->totals, 0, sizeof rn->totals);
    snprintf(rn->what, sizeof rn->what, "%.400s  (run #%d with %s = %.400s)", what, base->number,
             r->pool[idx].path, r->pool[idx].text);
    rn->n_ov = repl_with_override(r, base->ov, base->n_ov, idx, rn->ov);
    drop_terms(rn->where, r->pool[idx].path);
    int n_before = r->n_runs;
    int st = run_selection(r, rn, true);
    if (r->n_runs > n_before) {
        print_run_cells(r, &r->runs[r->n_runs - 1]);
        compare_runs(r, &r->runs[r->baseline], &r->runs[r->n_runs - 1]);
    }
    return st;
}

static int find_run(repl *r, const char *s)
{
    long k;
    if (s && *s == '#')
        s++;
    if (!repl_parse_long(s, 1, &k) || k > r->n_runs) {
        fprintf(r->log, "einrun: :compare: no run '%s' (:runs lists %d)\n", s ? s : "", r->n_runs);
        return -1;
    }
    return (int)k - 1;
}

int repl_cmd_compare(repl *r, char *args, int line, int col)
{
    (void)line, (void)col;
    char *save = NULL, *a = strtok_r(args, " \t", &save), *b = strtok_r(NULL, " \t", &save);
    if (!a || !b || strtok_r(NULL, " \t", &save)) {
        fputs("einrun: usage: :compare RUN RUN (numbers from :runs)\n", r->log);
        return ein_exit_status(EIN_ERR_USAGE);
    }
    int i = find_run(r, a), j = i >= 0 ? find_run(r, b) : -1;
    if (j < 0)
        return ein_exit_status(EIN_ERR_USAGE);
    compare_runs(r, &r->runs[i], &r->runs[j]);
    return 0;
}

int repl_cmd_runs(repl *r, char *args, int line, int col)
{
    (void)args, (void)line, (void)col;
    if (r->n_runs == 0)
        fputs("(no runs in this session yet)\n", r->out);
    for (int i = 0; i < r->n_runs; i++) {
        const run *rn = &r->runs[i];
        int count[4] = {0};   /* by status, cells resumed from the folder included */
        for (int k = 0; k < rn->n_cells; k++)
            if (rn->cells[k].have_result || rn->cells[k].have_record)
                count[rn->cells[k].res.status]++;
        fprintf(r->out, "#%d  %s  %d cell%s  %d ok, %d diverged, %d failed, %d interrupted  %s  (%s)\n",
                rn->number, rn->experiment, rn->n_cells, rn->n_cells == 1 ? "" : "s", count[EIN_CELL_OK],
                count[EIN_CELL_DIVERGED], count[EIN_CELL_FAILED], count[EIN_CELL_INTERRUPTED], rn->what, rn->dir);
        for (int k = 0; k < rn->n_ov; k++)
            fprintf(r->out, "      %s = %s\n", r->pool[rn->ov[k]].path, r->pool[rn->ov[k]].text);
    }
    return 0;
}
