/* repl_cmd.c — the REPL session: statements, overrides, runs, meta-commands
 * (repl_impl.h; the user's view is docs/repl.md). */
#include "repl_impl.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ein/ast.h"
#include "ein/check.h"
#include "ein/diag.h"
#include "ein/err.h"
#include "ein/grid.h"
#include "ein/names.h"
#include "ein/parse.h"
#include "ein/progress.h"
#include "ein/results.h"
#include "ein/schema.h"
#include "ein/session.h"

#define MAX_OV 64

typedef struct source {
    char *name, *text;
    size_t len;
} source;

/* A :set (or :ablate) value: kept for the whole session, since runs refer to it. */
typedef struct override {
    char path[EIN_NAME_MAX];
    char *text;                    /* canonical value text */
    ein_program *expr;             /* the parsed value */
    char where[64];                /* "<input>:3" */
    ein_loc name_loc;              /* PATH in the input, for messages about it */
} override;

typedef struct run_cell {
    char id[EIN_ID_LEN + 1];
    char label[256];               /* its bindings, "eps=0 variant=ln" */
    char config_key[64];           /* the pairing key for :compare (label without the ablated name) */
    bool have_result, have_record;
    ein_cell_result res;           /* from this run (layers included) */
    unsigned metrics;
    int n_hidden;
} run_cell;

typedef struct run {
    int number;
    char experiment[EIN_NAME_MAX], dir[EIN_PATH_MAX];
    char what[1024];               /* the command that made it */
    char where[512];               /* its filter */
    long epochs, limit_train, jobs;
    int n_ov, ov[MAX_OV];          /* indexes into repl.pool */
    int n_cells;
    run_cell *cells;
    ein_run_totals totals;
} run;

struct repl {
    FILE *out, *log;
    ein_diag *diag;                /* this command's sink */
    const char *input;             /* this command's input line (borrowed) */
    ein_module *module;            /* the session program, checked in this command's sink */
    int n_src, cap_src;
    source *src;
    int n_prog, cap_prog;
    ein_program **prog;            /* parsed texts; they own the statements */
    int n_stmt, cap_stmt;
    ein_stmt **stmt;               /* the session program, in order */
    ein_program root;              /* a view of stmt[] for the checker */
    char base[EIN_PATH_MAX];       /* the last :load'ed file: relative imports resolve there */
    char experiment[EIN_NAME_MAX]; /* the current one: the last defined */
    int n_pool, cap_pool;
    override *pool;
    int n_ov, ov[MAX_OV];          /* active overrides (pool indexes), in :set order */
    int n_runs, cap_runs;
    run *runs;
    int baseline;                  /* the last :run (index into runs), -1 none */
    ein_data_cache *dc;
    char default_dir[EIN_PATH_MAX];/* results/repl-<date> */
};

/* --- bookkeeping ------------------------------------------------------------ */

static bool grow(void **p, int *cap, int n, size_t size)
{
    if (n < *cap)
        return true;
    int c = *cap ? 2 * *cap : 16;
    void *q = realloc(*p, (size_t)c * size);
    if (!q)
        return false;
    *p = q;
    *cap = c;
    return true;
}
#define GROW(arr, n, cap) grow((void **)&(arr), &(cap), (n), sizeof *(arr))

static int oom(repl *r)
{
    fputs("einrun: out of memory\n", r->log);
    return ein_exit_status(EIN_ERR_NOMEM);
}

repl *repl_new(FILE *out, FILE *log)
{
    repl *r = calloc(1, sizeof *r);
    if (!r || !(r->dc = ein_data_cache_new())) {
        free(r);
        return NULL;
    }
    r->out = out;
    r->log = log;
    r->baseline = -1;
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    strftime(r->default_dir, sizeof r->default_dir, "results/repl-%Y-%m-%d", &tm);
    return r;
}

static void end_command(repl *r)
{
    ein_module_free(r->module);
    r->module = NULL;
    ein_diag_free(r->diag);
    r->diag = NULL;
}

void repl_free(repl *r)
{
    if (!r)
        return;
    end_command(r);
    for (int i = 0; i < r->n_src; i++) {
        free(r->src[i].name);
        free(r->src[i].text);
    }
    for (int i = 0; i < r->n_prog; i++)
        ein_program_free(r->prog[i]);
    for (int i = 0; i < r->n_pool; i++) {
        free(r->pool[i].text);
        ein_program_free(r->pool[i].expr);
    }
    for (int i = 0; i < r->n_runs; i++)
        free(r->runs[i].cells);
    free(r->src);
    free(r->prog);
    free(r->stmt);
    free(r->pool);
    free(r->runs);
    ein_data_cache_free(r->dc);
    free(r);
}

/* A fresh sink with every kept source registered again, in order. */
static bool begin_command(repl *r)
{
    end_command(r);
    if (!(r->diag = ein_diag_new()))
        return false;
    for (int i = 0; i < r->n_src; i++)
        if (ein_diag_add_source(r->diag, r->src[i].name, r->src[i].text, r->src[i].len) != i)
            return false;
    return true;
}

/* Keep the text just parsed as source r->n_src (ein_parse_* registered it there). */
static bool keep_source(repl *r, int file)
{
    size_t len;
    const char *text = ein_diag_source_text(r->diag, file, &len);
    const char *name = ein_diag_source_name(r->diag, file);
    if (file != r->n_src || !text || !GROW(r->src, r->n_src, r->cap_src))
        return false;
    source *s = &r->src[r->n_src];
    s->name = strdup(name);
    s->text = malloc(len + 1);
    if (!s->name || !s->text) {
        free(s->name);
        free(s->text);
        return false;
    }
    memcpy(s->text, text, len + 1);
    s->len = len;
    r->n_src++;
    return true;
}

/* Errors only: in a session, "defined but never used" is the normal state. */
static void print_errors(repl *r)
{
    for (size_t i = 0; i < ein_diag_count(r->diag); i++) {
        const ein_diagnostic *d = ein_diag_get(r->diag, i);
        if (d->severity == EIN_ERROR)
            ein_diag_print_one(r->diag, d, r->log);
    }
    if (ein_diag_n_errors(r->diag) > (int)ein_diag_count(r->diag))
        fprintf(r->log, "einrun: too many errors (%d in total)\n", ein_diag_n_errors(r->diag));
}

/* `text` as it sits in the input: after line-1 newlines and col-1 spaces. */
static char *padded(const char *text, int line, int col, size_t *len)
{
    size_t n = strlen(text), pad = (size_t)(line - 1) + (size_t)(col - 1);
    char *s = malloc(pad + n + 1);
    if (!s)
        return NULL;
    memset(s, '\n', (size_t)(line - 1));
    memset(s + line - 1, ' ', (size_t)(col - 1));
    memcpy(s + pad, text, n + 1);
    *len = pad + n;
    return s;
}

/* --- the session program ------------------------------------------------------ */

static const char *stmt_name(const ein_stmt *s, int *space)
{
    switch (s->kind) {
    case EIN_STMT_BIND: *space = 0; return s->bind.name.name;
    case EIN_STMT_DEF: *space = 0; return s->def.name.name;
    case EIN_STMT_EXPERIMENT: *space = 1; return s->experiment.name.name;
    case EIN_STMT_IMPORT: *space = 2; return s->import.path;
    default: *space = -1; return NULL;
    }
}

static bool same_name(const ein_stmt *a, const ein_stmt *b)
{
    int sa, sb;
    const char *na = stmt_name(a, &sa), *nb = stmt_name(b, &sb);
    return na && nb && sa == sb && strcmp(na, nb) == 0;
}

/* The checked module of the session program (built once per command). */
static ein_module *session_module(repl *r)
{
    if (r->module)
        return r->module;
    r->root.stmts = r->stmt;
    r->root.n_stmts = r->n_stmt;
    r->root.name = "<session>";
    ein_check_options opt = { .no_expand = true };
    r->module = ein_check_program(r->diag, &r->root, r->base, &opt);
    return r->module;
}

/* Add a parsed program's statements: a name defined again replaces the
 * earlier definition; an import already there is not repeated.  Checks the
 * result (grids expanded when it defines an experiment); on errors the
 * session is left as it was. */
static int add_program(repl *r, ein_program *p, bool *new_experiment)
{
    int n_old = r->n_stmt;
    ein_stmt **cand = malloc((size_t)(n_old + p->n_stmts + 1) * sizeof *cand);
    if (!cand || !GROW(r->prog, r->n_prog, r->cap_prog)) {
        free(cand);
        ein_program_free(p);
        return oom(r);
    }
    int n = 0;
    *new_experiment = false;
    for (int i = 0; i < n_old; i++) {
        bool replaced = false;
        for (int j = 0; j < p->n_stmts && !replaced; j++)
            replaced = p->stmts[j]->kind != EIN_STMT_IMPORT && same_name(r->stmt[i], p->stmts[j]);
        if (!replaced)
            cand[n++] = r->stmt[i];
    }
    for (int j = 0; j < p->n_stmts; j++) {
        bool dup = false;
        for (int i = 0; i < n && !dup; i++)
            dup = p->stmts[j]->kind == EIN_STMT_IMPORT && same_name(cand[i], p->stmts[j]);
        if (!dup)
            cand[n++] = p->stmts[j];
        if (p->stmts[j]->kind == EIN_STMT_EXPERIMENT)
            *new_experiment = true;
    }
    ein_program root = { .file = p->file, .name = "<session>", .stmts = cand, .n_stmts = n };
    ein_check_options opt = { .no_expand = !*new_experiment };
    ein_module *m = ein_check_program(r->diag, &root, r->base, &opt);
    if (!m) {
        print_errors(r);
        free(cand);
        ein_program_free(p);
        return ein_exit_status(EIN_ERR_LANG);
    }
    ein_module_free(m);
    if (!keep_source(r, p->file)) {
        free(cand);
        ein_program_free(p);
        return oom(r);
    }
    free(r->stmt);
    r->stmt = cand;
    r->n_stmt = r->cap_stmt = n;
    r->root.stmts = r->stmt;
    r->root.n_stmts = r->n_stmt;
    r->root.name = "<session>";
    r->prog[r->n_prog++] = p;
    for (int j = 0; j < p->n_stmts; j++)
        if (p->stmts[j]->kind == EIN_STMT_EXPERIMENT)
            snprintf(r->experiment, sizeof r->experiment, "%s", p->stmts[j]->experiment.name.name);
    return 0;
}

/* --- selecting cells with the session's overrides ---------------------------- */

typedef struct selection_args {
    const char *experiment;        /* NULL: the current one */
    const char *where;
    long epochs, limit_train, max_cells;
    int n_ov;
    const int *ov;
} selection_args;

static int select_cells(repl *r, const selection_args *a, ein_selection *sel)
{
    const char *exp = a->experiment ? a->experiment : r->experiment;
    if (!exp[0]) {
        fputs("einrun: no experiment in the session yet (:load FILE, or type one)\n", r->log);
        return ein_exit_status(EIN_ERR_USAGE);
    }
    ein_module *m = session_module(r);
    if (!m) {
        print_errors(r);
        return ein_exit_status(EIN_ERR_LANG);
    }
    ein_override ov[MAX_OV];
    for (int i = 0; i < a->n_ov; i++) {
        ov[i].name = r->pool[a->ov[i]].path;
        ov[i].value = r->pool[a->ov[i]].expr->expr;
        ov[i].name_loc = r->pool[a->ov[i]].name_loc;
    }
    ein_select_options so = {
        .experiment = exp, .ov = ov, .n_ov = a->n_ov, .where = a->where && *a->where ? a->where : NULL,
        .max_cells = a->max_cells, .epochs = a->epochs, .limit_train = a->limit_train,
    };
    ein_err err = {0};
    ein_code c = ein_session_select(m, &so, sel, &err);
    if (c == EIN_ERR_LANG) {
        print_errors(r);
        return ein_exit_status(c);
    }
    if (c != EIN_OK) {
        fprintf(r->log, "einrun: %s\n", err.msg);
        return ein_exit_status(c);
    }
    return 0;
}

/* --- meta-command arguments -------------------------------------------------- */

static char *skip_space(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return s;
}

static void trim_end(char *s)
{
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
}

static bool parse_long(const char *s, long min, long *out)
{
    char *end;
    errno = 0;
    long v = s ? strtol(s, &end, 10) : 0;
    if (!s || errno || *end || end == s || v < min || v > INT_MAX)
        return false;
    *out = v;
    return true;
}

/* `PATH = VALUE` at column `col` of input line `line`: parse VALUE into a new
 * pool entry.  Returns its index, or -1 (reported). */
static int parse_assignment(repl *r, char *args, const char *cmd, int line, int col)
{
    char *eq = strchr(args, '=');
    if (!eq) {
        fprintf(r->log, "einrun: usage: %s PATH = VALUE\n", cmd);
        return -1;
    }
    char path[EIN_NAME_MAX];
    snprintf(path, sizeof path, "%.*s", (int)(eq - args), args);
    trim_end(path);
    for (const char *c = path; *c; c++)
        if (!isalnum((unsigned char)*c) && !strchr("_.[]", *c)) {
            fprintf(r->log, "einrun: %s: '%s' is not a setting path or name\n", cmd, path);
            return -1;
        }
    if (!path[0] || !GROW(r->pool, r->n_pool, r->cap_pool)) {
        fprintf(r->log, "einrun: usage: %s PATH = VALUE\n", cmd);
        return -1;
    }
    /* The whole input line is the source (as einrun's command-line overrides
     * do, grid.h), after line-1 newlines: carets show what was typed. */
    const char *in = r->input ? r->input : args;
    size_t pad = (size_t)(line - 1), eq_at = (size_t)(col - 1) + (size_t)(eq - args);
    size_t name_end = eq_at;
    while (name_end > 0 && (in[name_end - 1] == ' ' || in[name_end - 1] == '\t'))
        name_end--;
    size_t len;
    char *text = padded(in, line, 1, &len);
    ein_parse_info info;
    ein_program *p = text && eq_at < strlen(in)
                     ? ein_parse_override(r->diag, "<input>", text, len, pad + eq_at + 1, &info) : NULL;
    free(text);
    if (!p || !p->expr) {
        print_errors(r);
        ein_program_free(p);
        return -1;
    }
    override *o = &r->pool[r->n_pool];
    memset(o, 0, sizeof *o);
    snprintf(o->path, sizeof o->path, "%s", path);
    o->expr = p;
    o->text = ein_expr_to_string(p->expr);
    snprintf(o->where, sizeof o->where, "<input>:%d", line);
    o->name_loc = (ein_loc){ .file = info.file, .line = line, .col = col, .end_line = line,
                             .end_col = col + (int)(name_end - (size_t)(col - 1)),
                             .start = (uint32_t)(pad + (size_t)(col - 1)), .end = (uint32_t)(pad + name_end) };
    char near[96] = "";
    ein_setting_ref ref;
    if (strpbrk(path, ".[") && !ein_setting_lookup(path, &ref, near, sizeof near)) {
        /* a setting path is checked at once, experiment or not */
        ein_diag_error(r->diag, o->name_loc, "unknown setting '%s'", path);
        if (near[0])
            ein_diag_note(r->diag, EIN_NO_LOC, "did you mean '%s'? (einrun help settings lists them)", near);
        print_errors(r);
        free(o->text);
        ein_program_free(p);
        return -1;
    }
    if (!o->text || !keep_source(r, info.file)) {
        free(o->text);
        ein_program_free(p);
        return -1;
    }
    return r->n_pool++;
}

/* A copy of an override list with `idx` in place of an entry of the same path. */
static int with_override(const repl *r, const int *ov, int n, int idx, int *out)
{
    int k = 0;
    for (int i = 0; i < n; i++)
        if (strcmp(r->pool[ov[i]].path, r->pool[idx].path) != 0)
            out[k++] = ov[i];
    if (idx >= 0 && k < MAX_OV)
        out[k++] = idx;
    return k;
}

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
        return oom(r);
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

/* "variant = ln" → "variant=ln": filter terms are single words. */
static void squeeze_equals(char *s)
{
    char *w = s;
    for (char *p = s; *p; p++) {
        if (*p == ' ' || *p == '\t') {
            char *q = p;
            while (*q == ' ' || *q == '\t')
                q++;
            if (*q == '=' || (w > s && w[-1] == '=')) {
                p = q - 1;
                continue;
            }
        }
        *w++ = *p;
    }
    *w = '\0';
}

typedef struct run_args {
    char experiment[EIN_NAME_MAX], where[512];
    long epochs, limit_train, jobs;
    bool quiet;
} run_args;

static int parse_run_args(repl *r, char *args, const char *cmd, run_args *a)
{
    memset(a, 0, sizeof *a);
    squeeze_equals(args);
    char *save = NULL;
    for (char *t = strtok_r(args, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
        long *count = !strcmp(t, "--epochs") ? &a->epochs : !strcmp(t, "--limit-train") ? &a->limit_train
                      : !strcmp(t, "--jobs") ? &a->jobs : NULL;
        if (count) {
            char *v = strtok_r(NULL, " \t", &save);
            if (!parse_long(v, 1, count)) {
                fprintf(r->log, "einrun: %s: %s needs an integer >= 1, got '%s'\n", cmd, t, v ? v : "");
                return ein_exit_status(EIN_ERR_USAGE);
            }
        } else if (!strcmp(t, "--quiet") || !strcmp(t, "-q")) {
            a->quiet = true;
        } else if (t[0] == '-') {
            fprintf(r->log, "einrun: %s: unknown option '%s' (:help %s)\n", cmd, t, cmd + 1);
            return ein_exit_status(EIN_ERR_USAGE);
        } else if (strchr(t, '=')) {
            size_t n = strlen(a->where);
            snprintf(a->where + n, sizeof a->where - n, "%s%s", n ? "," : "", t);
        } else if (!a->experiment[0]) {
            snprintf(a->experiment, sizeof a->experiment, "%s", t);
        } else {
            fprintf(r->log, "einrun: %s: unexpected '%s' (a filter is NAME=VALUE)\n", cmd, t);
            return ein_exit_status(EIN_ERR_USAGE);
        }
    }
    return 0;
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
    int st = select_cells(r, &sa, &sel);
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

static int cmd_run(repl *r, char *args, int line, int col)
{
    (void)line, (void)col;
    char what[512];
    snprintf(what, sizeof what, ":run%s%s", *args ? " " : "", args);
    run_args a;
    int st = parse_run_args(r, args, ":run", &a);
    run *rn = st == 0 ? new_run(r) : NULL;
    if (st != 0 || !rn)
        return st ? st : oom(r);
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

static int cmd_ablate(repl *r, char *args, int line, int col)
{
    if (r->baseline < 0) {
        fputs("einrun: :ablate: nothing to ablate yet; :run first\n", r->log);
        return ein_exit_status(EIN_ERR_USAGE);
    }
    char what[512];
    snprintf(what, sizeof what, ":ablate %s", args);
    int idx = parse_assignment(r, args, ":ablate", line, col);
    run *rn = idx >= 0 ? new_run(r) : NULL;
    if (!rn)
        return idx < 0 ? ein_exit_status(EIN_ERR_LANG) : oom(r);
    const run *base = &r->runs[r->baseline];
    int number = rn->number;
    *rn = *base;
    rn->number = number;
    rn->cells = NULL;
    rn->n_cells = 0;
    memset(&rn->totals, 0, sizeof rn->totals);
    snprintf(rn->what, sizeof rn->what, "%.400s  (run #%d with %s = %.400s)", what, base->number,
             r->pool[idx].path, r->pool[idx].text);
    rn->n_ov = with_override(r, base->ov, base->n_ov, idx, rn->ov);
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
    if (!parse_long(s, 1, &k) || k > r->n_runs) {
        fprintf(r->log, "einrun: :compare: no run '%s' (:runs lists %d)\n", s ? s : "", r->n_runs);
        return -1;
    }
    return (int)k - 1;
}

static int cmd_compare(repl *r, char *args, int line, int col)
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

static int cmd_runs(repl *r, char *args, int line, int col)
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

/* --- :set :unset :cells :graph ------------------------------------------------ */

static int cmd_set(repl *r, char *args, int line, int col)
{
    int idx = parse_assignment(r, args, ":set", line, col);
    if (idx < 0)
        return ein_exit_status(EIN_ERR_LANG);
    int ov[MAX_OV], n = with_override(r, r->ov, r->n_ov, idx, ov);
    if (n == r->n_ov && n == MAX_OV) {
        fprintf(r->log, "einrun: :set: at most %d settings\n", MAX_OV);
        return ein_exit_status(EIN_ERR_USAGE);
    }
    if (r->experiment[0]) {   /* check it now, against the current experiment */
        selection_args sa = { .max_cells = -1, .n_ov = n, .ov = ov };
        ein_selection sel;
        int st = select_cells(r, &sa, &sel);
        if (st != 0)
            return st;
        ein_selection_free(&sel);
    }
    memcpy(r->ov, ov, sizeof ov);
    r->n_ov = n;
    return 0;
}

static int cmd_unset(repl *r, char *args, int line, int col)
{
    (void)line, (void)col;
    trim_end(args);
    const char *names[MAX_OV];
    for (int i = 0; i < r->n_ov; i++) {
        names[i] = r->pool[r->ov[i]].path;
        if (strcmp(names[i], args) == 0) {
            memmove(&r->ov[i], &r->ov[i + 1], (size_t)(r->n_ov - i - 1) * sizeof *r->ov);
            r->n_ov--;
            return 0;
        }
    }
    const char *s = ein_suggest(args, names, (size_t)r->n_ov);
    fprintf(r->log, "einrun: :unset: '%s' is not set%s%s%s\n", args, s ? " (did you mean '" : "",
            s ? s : "", s ? "'?)" : "");
    return ein_exit_status(EIN_ERR_USAGE);
}

static int cmd_cells(repl *r, char *args, int line, int col)
{
    (void)line, (void)col;
    run_args a;
    int st = parse_run_args(r, args, ":cells", &a);
    if (st != 0)
        return st;
    selection_args sa = { .experiment = a.experiment[0] ? a.experiment : NULL, .where = a.where,
                          .epochs = a.epochs, .limit_train = a.limit_train, .max_cells = -1,
                          .n_ov = r->n_ov, .ov = r->ov };
    ein_selection sel;
    if ((st = select_cells(r, &sa, &sel)) != 0)
        return st;
    ein_grid_print(&sel.view, r->out);
    if (sel.view.n != sel.list.n)
        fprintf(r->out, "(%d of %d cells selected)\n", sel.view.n, sel.list.n);
    ein_selection_free(&sel);
    return 0;
}

static int cmd_graph(repl *r, char *args, int line, int col)
{
    (void)line, (void)col;
    char *save = NULL, *file = strtok_r(args, " \t", &save);
    char *rest = file ? strtok_r(NULL, "", &save) : NULL;
    if (!file) {
        fputs("einrun: usage: :graph FILE.dot [FILTER]\n", r->log);
        return ein_exit_status(EIN_ERR_USAGE);
    }
    char filter[512] = "";
    snprintf(filter, sizeof filter, "%s", rest ? rest : "");
    run_args a;
    int st = parse_run_args(r, filter, ":graph", &a);
    if (st != 0)
        return st;
    selection_args sa = { .experiment = a.experiment[0] ? a.experiment : NULL, .where = a.where,
                          .max_cells = 1, .n_ov = r->n_ov, .ov = r->ov };
    ein_selection sel;
    if ((st = select_cells(r, &sa, &sel)) != 0)
        return st;
    ein_err err = {0};
    FILE *f = sel.view.n ? fopen(file, "w") : NULL;
    ein_code c = !sel.view.n ? ein_err_set(&err, EIN_ERR_USAGE, "no cell selected")
                 : !f ? ein_err_set(&err, EIN_ERR_IO, "cannot write '%s': %s", file, strerror(errno))
                 : ein_session_write_graph(&sel.view.cells[0], f, &err);
    if (f && fclose(f) != 0 && c == EIN_OK)
        c = ein_err_set(&err, EIN_ERR_IO, "cannot write '%s'", file);
    if (c == EIN_OK)
        fprintf(r->out, "%s: the graph of cell %s (%s)\n", file, sel.view.cells[0].id, sel.view.experiment);
    else
        fprintf(r->log, "einrun: :graph: %s\n", err.msg);
    ein_selection_free(&sel);
    return c == EIN_OK ? 0 : ein_exit_status(c);
}

/* --- :save: the session's program, with the :set values written into it ------ */

static ein_stmt *copy_stmt(ein_program *arena, const ein_stmt *s)
{
    ein_stmt *c = ein_program_alloc(arena, sizeof *c);
    if (c)
        *c = *s;
    return c;
}

static void *copy_array(ein_program *arena, const void *a, int n, int extra, size_t size)
{
    void *c = ein_program_alloc(arena, (size_t)(n + extra) * size);
    if (c && n > 0)
        memcpy(c, a, (size_t)n * size);
    return c;
}

/* `train.PATH = value` into the experiment's train block (a setting replaced or added). */
static bool bake_train(ein_program *arena, ein_stmt *e, const char *path, ein_expr *value)
{
    ein_ident ids[8];
    int n = 0;
    char buf[EIN_NAME_MAX];
    snprintf(buf, sizeof buf, "%s", path);
    char *save = NULL;
    for (char *t = strtok_r(buf, ".", &save); t && n < 8; t = strtok_r(NULL, ".", &save))
        ids[n++] = (ein_ident){ .name = ein_program_strndup(arena, t, strlen(t)), .loc = EIN_NO_LOC };
    ein_stmt *train = NULL;
    for (int i = 0; i < e->experiment.n_stmts && !train; i++)
        if (e->experiment.stmts[i]->kind == EIN_STMT_TRAIN)
            train = e->experiment.stmts[i] = copy_stmt(arena, e->experiment.stmts[i]);
    if (!train) {
        ein_stmt **st = copy_array(arena, e->experiment.stmts, e->experiment.n_stmts, 1, sizeof *st);
        train = ein_stmt_new(arena, EIN_STMT_TRAIN, EIN_NO_LOC);
        if (!st || !train)
            return false;
        st[e->experiment.n_stmts++] = train;
        e->experiment.stmts = st;
    }
    for (int i = 0; i < train->train.n_settings; i++) {
        ein_setting *s = &train->train.settings[i];
        bool same = s->n_path == n;
        for (int k = 0; k < n && same; k++)
            same = strcmp(s->path[k].name, ids[k].name) == 0;
        if (same) {
            ein_setting *set = copy_array(arena, train->train.settings, train->train.n_settings, 0, sizeof *set);
            if (!set)
                return false;
            set[i].value = value;
            train->train.settings = set;
            return true;
        }
    }
    ein_setting *set = copy_array(arena, train->train.settings, train->train.n_settings, 1, sizeof *set);
    ein_ident *p = copy_array(arena, ids, n, 0, sizeof *p);
    if (!set || !p)
        return false;
    set[train->train.n_settings++] = (ein_setting){ .path = p, .n_path = n, .value = value, .loc = EIN_NO_LOC };
    train->train.settings = set;
    return true;
}

/* `name = value` as a grid axis, a derived value or an experiment-local binding. */
static bool bake_axis(ein_program *arena, ein_stmt *e, const char *name, ein_expr *value)
{
    for (int i = 0; i < e->experiment.n_stmts; i++) {
        ein_stmt *s = e->experiment.stmts[i];
        if (s->kind == EIN_STMT_BIND && !strcmp(s->bind.name.name, name)) {
            ein_stmt *c = e->experiment.stmts[i] = copy_stmt(arena, s);
            return c && (c->bind.value = value);
        }
        if (s->kind != EIN_STMT_GRID)
            continue;
        for (int k = 0; k < s->grid.n_axes; k++) {
            const ein_axis *ax = &s->grid.axes[k];
            int zk = -1;
            for (int z = 0; ax->kind == EIN_AXIS_ZIP && z < ax->n_zip; z++)
                if (!strcmp(ax->zip[z].name.name, name))
                    zk = z;
            bool hit = (ax->kind == EIN_AXIS_IN || ax->kind == EIN_AXIS_DERIVED) && ax->name.name &&
                       !strcmp(ax->name.name, name);
            if (!hit && zk < 0)
                continue;
            ein_stmt *c = e->experiment.stmts[i] = copy_stmt(arena, s);
            ein_axis *axes = c ? copy_array(arena, s->grid.axes, s->grid.n_axes, 0, sizeof *axes) : NULL;
            if (!axes)
                return false;
            c->grid.axes = axes;
            if (hit) {
                axes[k].value = value;
                return true;
            }
            ein_axis *zip = copy_array(arena, ax->zip, ax->n_zip, 0, sizeof *zip);
            if (!zip)
                return false;
            zip[zk].value = value;
            axes[k].zip = zip;
            return true;
        }
    }
    return false;
}

/* A copy of the session program (statement array and changed statements in
 * `arena`) with every active override written in.  Returns false with `why`
 * when one cannot be expressed in the language. */
static bool baked_program(repl *r, ein_program *arena, ein_program *out, char *why, size_t n)
{
    *out = r->root;
    out->stmts = copy_array(arena, r->stmt, r->n_stmt, 0, sizeof *out->stmts);
    out->n_stmts = r->n_stmt;
    if (!out->stmts)
        return snprintf(why, n, "out of memory") < 0;
    ein_stmt *exp = NULL;
    for (int i = 0; i < out->n_stmts; i++)
        if (out->stmts[i]->kind == EIN_STMT_EXPERIMENT && !strcmp(out->stmts[i]->experiment.name.name, r->experiment)) {
            exp = out->stmts[i] = copy_stmt(arena, out->stmts[i]);
            if (!exp || !(exp->experiment.stmts = copy_array(arena, exp->experiment.stmts,
                                                             exp->experiment.n_stmts, 0, sizeof(ein_stmt *))))
                return snprintf(why, n, "out of memory") < 0;
        }
    for (int k = 0; k < r->n_ov; k++) {
        const override *o = &r->pool[r->ov[k]];
        bool done = false;
        for (int i = 0; i < out->n_stmts && !done; i++)
            if (out->stmts[i]->kind == EIN_STMT_BIND && !strcmp(out->stmts[i]->bind.name.name, o->path)) {
                ein_stmt *c = out->stmts[i] = copy_stmt(arena, out->stmts[i]);
                done = c && (c->bind.value = o->expr->expr);
            }
        if (!done && exp && !strncmp(o->path, "train.", 6))
            done = bake_train(arena, exp, o->path + 6, o->expr->expr);
        else if (!done && exp)
            done = bake_axis(arena, exp, o->path, o->expr->expr);
        if (!done) {
            snprintf(why, n, "cannot write ':set %s' into the program (bindings, grid axes and "
                     "train.* settings can be); :unset it first", o->path);
            return false;
        }
    }
    return true;
}

static int cmd_save(repl *r, char *args, int line, int col)
{
    (void)line, (void)col;
    trim_end(args);
    if (!*args) {
        fputs("einrun: usage: :save FILE.ein\n", r->log);
        return ein_exit_status(EIN_ERR_USAGE);
    }
    ein_program *arena = ein_program_new(-1, "<save>");
    ein_program prog;
    char why[512];
    if (!arena || !baked_program(r, arena, &prog, why, sizeof why)) {
        fprintf(r->log, "einrun: :save: %s\n", arena ? why : "out of memory");
        ein_program_free(arena);
        return ein_exit_status(arena ? EIN_ERR_USAGE : EIN_ERR_NOMEM);
    }
    FILE *f = fopen(args, "w");
    if (f) {
        fprintf(f, "# saved from an einrun session\n");
        ein_program_print(&prog, f);
    }
    ein_program_free(arena);
    if (!f || fclose(f) != 0) {
        fprintf(r->log, "einrun: :save: cannot write '%s': %s\n", args, strerror(errno));
        return ein_exit_status(EIN_ERR_IO);
    }
    /* The file must stand on its own: check it as `einrun --check` would. */
    ein_diag *d = ein_diag_new();
    ein_err err = {0};
    ein_module *m = d ? ein_check_file(d, args, NULL, &err) : NULL;
    if (!m) {
        if (d)
            ein_diag_print(d, r->log);
        fprintf(r->log, "einrun: :save: %s does not check%s%s\n", args, err.code ? ": " : "", err.msg);
    } else {
        fprintf(r->out, "saved %s (%d statement%s; it checks)\n", args, r->n_stmt, r->n_stmt == 1 ? "" : "s");
    }
    ein_module_free(m);
    ein_diag_free(d);
    return m ? 0 : ein_exit_status(EIN_ERR_LANG);
}

/* --- :show ------------------------------------------------------------------ */

static void show_stmt(repl *r, ein_stmt *s)
{
    ein_program one = { .file = s->loc.file, .name = "<show>", .stmts = &s, .n_stmts = 1 };
    char where[EIN_PATH_MAX + 32];
    fprintf(r->out, "# %s\n", ein_diag_where(r->diag, s->loc, where, sizeof where));
    ein_program_print(&one, r->out);
}

/* The current experiment's statement (the last one), or NULL. */
static const ein_stmt *current_experiment(const repl *r)
{
    for (int i = r->n_stmt - 1; i >= 0; i--)
        if (r->stmt[i]->kind == EIN_STMT_EXPERIMENT && !strcmp(r->stmt[i]->experiment.name.name, r->experiment))
            return r->stmt[i];
    return NULL;
}

/* A `train { ... }` line that sets `key` ("train.lr.bix"): the one with that
 * path, else one whose learning-rate groups cover it (`lr.wix` sets bix, M8). */
static bool train_provenance(repl *r, const char *key, char *buf, size_t n)
{
    const ein_stmt *e = current_experiment(r);
    const ein_setting *exact = NULL, *cover = NULL;
    const char *last = strrchr(key, '.');
    int group = last ? ein_name_parse(&ein_group_names, last + 1) : -1;
    for (int i = 0; e && i < e->experiment.n_stmts; i++) {
        const ein_stmt *s = e->experiment.stmts[i];
        for (int k = 0; s->kind == EIN_STMT_TRAIN && k < s->train.n_settings; k++) {
            char path[EIN_NAME_MAX] = "train";
            size_t len = 5;
            for (int p = 0; p < s->train.settings[k].n_path; p++)
                len += (size_t)snprintf(path + len, sizeof path - len, ".%s", s->train.settings[k].path[p].name);
            ein_setting_ref ref;
            if (!strcmp(path, key))
                exact = &s->train.settings[k];
            else if (group > 0 && !strncmp(key, "train.lr.", 9) && ein_setting_lookup(path, &ref, NULL, 0) &&
                     ref.def->ctype == EIN_C_LR && (ref.def->groups & (unsigned)group))
                cover = &s->train.settings[k];
        }
    }
    const ein_setting *hit = exact ? exact : cover;
    if (hit)
        ein_diag_where(r->diag, hit->loc, buf, n);
    return hit != NULL;
}

/* Where a configuration line's value came from. */
static void provenance(repl *r, const char *key, const char *config, char *buf, size_t n)
{
    for (int k = 0; k < r->n_ov; k++) {
        const override *o = &r->pool[r->ov[k]];
        size_t len = strlen(o->path);
        if (!strncmp(key, o->path, len) && (key[len] == '\0' || key[len] == '.')) {
            snprintf(buf, n, ":set %s = %s at %s", o->path, o->text, o->where);
            return;
        }
    }
    snprintf(buf, n, "the default");
    if (!strncmp(key, "train.", 6) && train_provenance(r, key, buf, n))
        return;
    const ein_stmt *e = current_experiment(r);
    for (int i = 0; e && !strncmp(key, "data.", 5) && i < e->experiment.n_stmts; i++)
        if (e->experiment.stmts[i]->kind == EIN_STMT_DATA) {
            char at[EIN_PATH_MAX + 32];
            snprintf(buf, n, "the data statement at %s",
                     ein_diag_where(r->diag, e->experiment.stmts[i]->loc, at, sizeof at));
            return;
        }
    const char *dot = strchr(key, '.');
    if (dot && (!strncmp(key, "hidden.", 7) || !strncmp(key, "losses.", 7) || !strncmp(key, "output.", 7))) {
        /* layers and losses carry their source location */
        char want[EIN_NAME_MAX];
        const char *second = strchr(dot + 1, '.');
        snprintf(want, sizeof want, "%.*s.where = ", (int)((second ? second : dot) - key), key);
        const char *w = strstr(config, want);
        if (w) {
            w += strlen(want);
            snprintf(buf, n, "%.*s", (int)strcspn(w, "\n"), w);
        }
    }
}

static int show_path(repl *r, const char *path)
{
    char key[EIN_NAME_MAX];
    size_t k = 0;
    for (const char *p = path; *p && k + 1 < sizeof key; p++)   /* hidden[0].fwd → hidden.0.fwd */
        if (*p == '[')
            key[k++] = '.';
        else if (*p != ']')
            key[k++] = *p;
    key[k] = '\0';
    selection_args sa = { .max_cells = 1, .n_ov = r->n_ov, .ov = r->ov };
    ein_selection sel;
    int st = select_cells(r, &sa, &sel);
    if (st != 0)
        return st;
    if (sel.view.n == 0) {
        ein_selection_free(&sel);
        fputs("einrun: :show: the experiment has no cells\n", r->log);
        return ein_exit_status(EIN_ERR_USAGE);
    }
    const ein_cell *cell = &sel.view.cells[0];
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    if (!mem) {
        ein_selection_free(&sel);
        return oom(r);
    }
    ein_cell_config cfg;
    ein_config_write(mem, ein_cell_config_of(cell, &cfg), EIN_CONFIG_PROVENANCE);
    fclose(mem);
    char *config = text ? strdup(text) : NULL;
    if (!config) {
        free(text);
        ein_selection_free(&sel);
        return oom(r);
    }
    int shown = 0;
    const ein_binding *b = ein_cell_binding(cell, path);
    if (b)
        shown += fprintf(r->out, "%s = %s  (grid axis; %d cells in the experiment)\n", path, b->text,
                         sel.list.n) > 0;
    size_t kn = strlen(key);
    bool all = !strcmp(path, "cell");   /* :show cell — the whole configuration */
    for (char *save = NULL, *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        if (!all && (strncmp(l, key, kn) != 0 || (l[kn] != ' ' && l[kn] != '.')))
            continue;
        char lkey[EIN_NAME_MAX], from[EIN_PATH_MAX + 64];
        snprintf(lkey, sizeof lkey, "%.*s", (int)strcspn(l, " "), l);
        provenance(r, lkey, config, from, sizeof from);
        fprintf(r->out, "%-28s  # %s\n", l, from);
        shown++;
    }
    free(text);
    free(config);
    if (!shown)
        fprintf(r->log, "einrun: :show: no setting, binding or axis '%s' (try :show, or TAB)\n", path);
    else {
        ein_setting_ref ref;
        if (ein_setting_lookup(path, &ref, NULL, 0))
            fprintf(r->out, "# %s: %s (default %s)\n", path, ref.def->doc, ref.def->def);
        fprintf(r->out, "(cell %s of %s", cell->id, sel.view.experiment);
        for (int i = 0; i < r->n_ov; i++)
            fprintf(r->out, "%s:set %s = %s", i ? ", " : "; with ", r->pool[r->ov[i]].path, r->pool[r->ov[i]].text);
        fputs(")\n", r->out);
    }
    ein_selection_free(&sel);
    return shown ? 0 : ein_exit_status(EIN_ERR_USAGE);
}

static int cmd_show(repl *r, char *args, int line, int col)
{
    (void)line, (void)col;
    trim_end(args);
    if (!*args) {
        if (r->n_stmt == 0)
            fputs("(the session is empty: :load FILE, or type definitions)\n", r->out);
        ein_program_print(&r->root, r->out);
        for (int k = 0; k < r->n_ov; k++) {
            const override *o = &r->pool[r->ov[k]];
            fprintf(r->out, ":set %s = %s    # %s\n", o->path, o->text, o->where);
        }
        return 0;
    }
    for (int i = r->n_stmt - 1; i >= 0; i--) {
        int space;
        const char *name = stmt_name(r->stmt[i], &space);
        if (name && space < 2 && !strcmp(name, args)) {
            show_stmt(r, r->stmt[i]);
            return 0;
        }
    }
    return show_path(r, args);
}

/* --- statements and :load ------------------------------------------------------ */

/* After a new experiment: how many cells it has with the current settings. */
static void announce(repl *r, const char *origin)
{
    selection_args sa = { .max_cells = -1, .n_ov = r->n_ov, .ov = r->ov };
    ein_selection sel;
    if (select_cells(r, &sa, &sel) != 0)
        return;
    fprintf(r->out, "%s%sexperiment %s: %d cell%s\n", origin ? origin : "", origin ? ": " : "",
            sel.list.experiment, sel.list.n, sel.list.n == 1 ? "" : "s");
    ein_selection_free(&sel);
}

static int statements(repl *r, const char *text, int line)
{
    size_t len;
    char *t = padded(text, line, 1, &len);
    if (!t)
        return oom(r);
    ein_program *p = ein_parse_text(r->diag, "<input>", t, len, EIN_PARSE_PROGRAM, NULL);
    free(t);
    if (!p) {
        print_errors(r);
        return ein_exit_status(EIN_ERR_LANG);
    }
    bool exp;
    int st = add_program(r, p, &exp);
    if (st == 0 && exp)
        announce(r, NULL);
    return st;
}

static int cmd_load(repl *r, char *args, int line, int col)
{
    (void)line, (void)col;
    trim_end(args);
    if (!*args) {
        fputs("einrun: usage: :load FILE.ein\n", r->log);
        return ein_exit_status(EIN_ERR_USAGE);
    }
    ein_err err = {0};
    ein_program *p = ein_parse_file(r->diag, args, NULL, &err);
    if (!p) {
        print_errors(r);
        if (err.code != EIN_OK)
            fprintf(r->log, "einrun: :load: %s\n", err.msg);
        return ein_exit_status(err.code != EIN_OK ? err.code : EIN_ERR_LANG);
    }
    char old[EIN_PATH_MAX];
    memcpy(old, r->base, sizeof old);
    snprintf(r->base, sizeof r->base, "%s", args);
    bool exp;
    int st = add_program(r, p, &exp);
    if (st != 0)
        memcpy(r->base, old, sizeof old);
    else if (exp)
        announce(r, args);
    else
        fprintf(r->out, "%s: loaded\n", args);
    return st;
}

/* --- the command table ---------------------------------------------------------- */

typedef int (*command_fn)(repl *r, char *args, int line, int col);

static int cmd_help(repl *r, char *args, int line, int col);

static int cmd_quit(repl *r, char *args, int line, int col)
{
    (void)r, (void)args, (void)line, (void)col;
    return 0;
}

static const repl_command_doc docs[] = {
    { ":load", "FILE", "add FILE's definitions and experiments to the session (relative imports from its folder)" },
    { ":set", "PATH = VALUE", "override a setting, axis or binding for every later :run (train.epochs, eps, ...)" },
    { ":unset", "PATH", "drop a :set" },
    { ":show", "[NAME|PATH|cell]", "the session's program and settings; a definition; a setting (or the whole cell) and where each value came from" },
    { ":cells", "[FILTER]", "the cells of the current experiment with the current settings, e.g. :cells variant=ln" },
    { ":run", "[EXPERIMENT] [FILTER] [--epochs N] [--limit-train N] [--jobs N] [--quiet]",
      "run the selected cells (resumes: finished cells are kept)" },
    { ":ablate", "PATH = VALUE", "rerun the last :run's cells with one change, same seeds; compare side by side" },
    { ":runs", "", "this session's runs" },
    { ":compare", "RUN RUN", "two runs side by side with their differences (:compare 1 2)" },
    { ":graph", "FILE.dot [FILTER]", "write the first selected cell's computation graph (Graphviz dot)" },
    { ":save", "FILE", "write the session's program, with the :set values, as a canonical .ein file" },
    { ":help", "[COMMAND]", "this list, or one command" },
    { ":quit", "", "leave (Ctrl-D too)" },
};
static const command_fn fns[] = {
    cmd_load, cmd_set, cmd_unset, cmd_show, cmd_cells, cmd_run, cmd_ablate,
    cmd_runs, cmd_compare, cmd_graph, cmd_save, cmd_help, cmd_quit,
};
#define N_COMMANDS ((int)(sizeof docs / sizeof *docs))
_Static_assert(sizeof fns / sizeof *fns == sizeof docs / sizeof *docs, "one function per command");

const repl_command_doc *repl_commands(int *n)
{
    *n = N_COMMANDS;
    return docs;
}

/* The command `name` stands for: exact, else a unique prefix (":q" is :quit). */
static int find_command(const char *name, size_t len)
{
    int hit = -1, n_hits = 0;
    for (int i = 0; i < N_COMMANDS; i++) {
        if (strlen(docs[i].name) == len && !strncmp(docs[i].name, name, len))
            return i;
        if (!strncmp(docs[i].name, name, len)) {
            hit = i;
            n_hits++;
        }
    }
    return n_hits == 1 ? hit : -1;
}

static int cmd_help(repl *r, char *args, int line, int col)
{
    (void)line, (void)col;
    trim_end(args);
    if (*args) {
        char name[64];
        snprintf(name, sizeof name, "%s%s", *args == ':' ? "" : ":", args);
        int i = find_command(name, strlen(name));
        if (i < 0) {
            fprintf(r->log, "einrun: :help: no command '%s' (:help lists them)\n", args);
            return ein_exit_status(EIN_ERR_USAGE);
        }
        fprintf(r->out, "%s %s\n    %s\n", docs[i].name, docs[i].args, docs[i].doc);
        return 0;
    }
    fputs("Type statements of the language (definitions, imports, experiments); they add to the\n"
          "session, a name defined again replaces the earlier one.  Meta-commands:\n", r->out);
    for (int i = 0; i < N_COMMANDS; i++)
        fprintf(r->out, "  %-8s %-16s %s\n", docs[i].name, strlen(docs[i].args) <= 16 ? docs[i].args : "...",
                docs[i].doc);
    fputs("TAB completes commands, settings and names; Ctrl-C stops a run or clears the line.\n"
          "See docs/repl.md.\n", r->out);
    return 0;
}

int repl_execute(repl *r, const char *text, int line, bool *quit)
{
    *quit = false;
    if (!begin_command(r))
        return oom(r);
    const char *s = text;
    while (*s == ' ' || *s == '\t')
        s++;
    if (*s != ':')
        return statements(r, text, line);
    size_t len = strcspn(s, " \t\n");
    int i = find_command(s, len);
    if (i < 0) {
        const char *names[N_COMMANDS];
        for (int k = 0; k < N_COMMANDS; k++)
            names[k] = docs[k].name;
        char word[64];
        snprintf(word, sizeof word, "%.*s", (int)(len < 63 ? len : 63), s);
        const char *sug = ein_suggest(word, names, N_COMMANDS);
        fprintf(r->log, "<input>:%d:%d: error: unknown command '%s'%s%s%s (:help lists them)\n", line,
                (int)(s - text) + 1, word, sug ? "; did you mean '" : "", sug ? sug : "", sug ? "'?" : "");
        return ein_exit_status(EIN_ERR_USAGE);
    }
    char *args = strdup(skip_space((char *)s + len));
    if (!args)
        return oom(r);
    char *nl = strchr(args, '\n');
    if (nl)
        *nl = '\0';
    int col = (int)(skip_space((char *)s + len) - text) + 1;
    r->input = text;
    int st = fns[i](r, args, line, col);
    r->input = NULL;
    free(args);
    *quit = fns[i] == cmd_quit;
    return st;
}

bool repl_incomplete(const char *text)
{
    ein_diag *d = ein_diag_new();
    ein_parse_info info = {0};
    ein_program *p = d ? ein_parse_text(d, "<input>", text, strlen(text), EIN_PARSE_PROGRAM, &info) : NULL;
    bool more = !p && info.incomplete;
    ein_program_free(p);
    ein_diag_free(d);
    return more;
}

/* --- completion ------------------------------------------------------------------ */

typedef struct completer {
    const char *word;
    size_t len;
    void (*add)(void *ctx, const char *candidate);
    void *ctx;
} completer;

static void offer(const completer *c, const char *s)
{
    if (s && !strncmp(s, c->word, c->len))
        c->add(c->ctx, s);
}

/* Top-level names of the session and of what it imports. */
static void offer_names(repl *r, const completer *c)
{
    for (int i = 0; i < r->n_stmt; i++) {
        int space;
        const char *n = stmt_name(r->stmt[i], &space);
        if (space == 0 || space == 1)
            offer(c, n);
    }
    ein_module *m = r->diag ? session_module(r) : NULL;
    for (int p = 0; m && p < m->n_programs; p++)
        for (int i = 0; i < m->programs[p]->n_stmts; i++) {
            int space;
            const char *n = stmt_name(m->programs[p]->stmts[i], &space);
            if (space == 0)
                offer(c, n);
        }
}

/* Axis names of the current experiment (its first cell's bindings). */
static void offer_axes(repl *r, const completer *c)
{
    if (!r->experiment[0] || !r->diag || !session_module(r))
        return;
    selection_args sa = { .max_cells = 1, .n_ov = r->n_ov, .ov = r->ov };
    ein_selection sel;
    FILE *log = r->log;
    r->log = fopen("/dev/null", "w");   /* no messages in the middle of a line */
    if (!r->log)
        r->log = log;
    if (select_cells(r, &sa, &sel) == 0) {
        for (int k = 0; sel.view.n > 0 && k < sel.view.cells[0].n_bindings; k++)
            offer(c, sel.view.cells[0].bindings[k].name);
        ein_selection_free(&sel);
    }
    if (r->log != log)
        fclose(r->log);
    r->log = log;
}

/* Every setting path of the schema (schema.h), then the axes. */
static void offer_settings(repl *r, const completer *c)
{
    static char paths[512][96];
    size_t n = ein_schema_paths(paths, sizeof paths / sizeof *paths);
    for (size_t i = 0; i < n; i++)
        offer(c, paths[i]);
    offer_axes(r, c);
}

/* A value: every name of the language's enumerations (names.h), then names in scope. */
static void offer_values(repl *r, const completer *c)
{
    static const ein_names *const tables[] = {
        &ein_fwd_norm_names, &ein_bwd_norm_names, &ein_group_names, &ein_optimizer_names,
        &ein_act_names, &ein_init_names, &ein_layer_kind_names, &ein_metric_names, &ein_marker_names,
    };
    for (size_t t = 0; t < sizeof tables / sizeof *tables; t++)
        for (int i = 0; i < tables[t]->n; i++)
            offer(c, tables[t]->v[i].name);
    offer(c, "true");
    offer(c, "false");
    offer_names(r, c);
}

void repl_complete(repl *r, const char *line, int start, const char *word,
                   void (*add)(void *ctx, const char *candidate), void *ctx, bool *files)
{
    completer c = { word, strlen(word), add, ctx };
    *files = false;
    const char *s = line;
    while (s < line + start && (*s == ' ' || *s == '\t'))
        s++;
    if (s == line + start) {              /* the first word */
        if (*word == ':')
            for (int i = 0; i < N_COMMANDS; i++)
                offer(&c, docs[i].name);
        else
            offer_values(r, &c);
        return;
    }
    if (*s != ':') {                      /* statement text */
        offer_values(r, &c);
        return;
    }
    size_t len = strcspn(s, " \t");
    int cmd = find_command(s, len);
    const char *name = cmd >= 0 ? docs[cmd].name : "";
    bool after_eq = memchr(s, '=', (size_t)(line + start - s)) != NULL;
    if (!strcmp(name, ":load") || !strcmp(name, ":save") || !strcmp(name, ":graph"))
        *files = true;
    else if (!strcmp(name, ":help"))
        for (int i = 0; i < N_COMMANDS; i++)
            offer(&c, docs[i].name + 1);
    else if (!strcmp(name, ":unset"))
        for (int k = 0; k < r->n_ov; k++)
            offer(&c, r->pool[r->ov[k]].path);
    else if ((!strcmp(name, ":set") || !strcmp(name, ":ablate") || !strcmp(name, ":show")) && !after_eq)
        offer_settings(r, &c), offer_names(r, &c);
    else if (!strcmp(name, ":run") || !strcmp(name, ":cells")) {
        static const char *const opts[] = { "--epochs", "--limit-train", "--jobs", "--quiet" };
        for (size_t i = 0; *word == '-' && i < sizeof opts / sizeof *opts; i++)
            offer(&c, opts[i]);
        if (*word != '-')
            offer_axes(r, &c);
    } else
        offer_values(r, &c);
}
