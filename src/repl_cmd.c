/* repl_cmd.c — the REPL session: statements, overrides, arguments, the command
 * table, completion (repl_session.h; the user's view is docs/repl.md). */
#include "repl_session.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* --- bookkeeping ------------------------------------------------------------ */

bool repl_grow(void **p, int *cap, int n, size_t size)
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

int repl_oom(repl *r)
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

const char *repl_stmt_name(const ein_stmt *s, int *space)
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
    const char *na = repl_stmt_name(a, &sa), *nb = repl_stmt_name(b, &sb);
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
        return repl_oom(r);
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
        return repl_oom(r);
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

int repl_select_cells(repl *r, const selection_args *a, ein_selection *sel)
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

void repl_trim_end(char *s)
{
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
}

bool repl_parse_long(const char *s, long min, long *out)
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
int repl_parse_assignment(repl *r, char *args, const char *cmd, int line, int col)
{
    char *eq = strchr(args, '=');
    if (!eq) {
        fprintf(r->log, "einrun: usage: %s PATH = VALUE\n", cmd);
        return -1;
    }
    char path[EIN_NAME_MAX];
    snprintf(path, sizeof path, "%.*s", (int)(eq - args), args);
    repl_trim_end(path);
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
int repl_with_override(const repl *r, const int *ov, int n, int idx, int *out)
{
    int k = 0;
    for (int i = 0; i < n; i++)
        if (strcmp(r->pool[ov[i]].path, r->pool[idx].path) != 0)
            out[k++] = ov[i];
    if (idx >= 0 && k < MAX_OV)
        out[k++] = idx;
    return k;
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

int repl_parse_run_args(repl *r, char *args, const char *cmd, run_args *a)
{
    memset(a, 0, sizeof *a);
    squeeze_equals(args);
    char *save = NULL;
    for (char *t = strtok_r(args, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
        long *count = !strcmp(t, "--epochs") ? &a->epochs : !strcmp(t, "--limit-train") ? &a->limit_train
                      : !strcmp(t, "--jobs") ? &a->jobs : NULL;
        if (count) {
            char *v = strtok_r(NULL, " \t", &save);
            if (!repl_parse_long(v, 1, count)) {
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

/* --- :set :unset :cells :graph ------------------------------------------------ */

static int cmd_set(repl *r, char *args, int line, int col)
{
    int idx = repl_parse_assignment(r, args, ":set", line, col);
    if (idx < 0)
        return ein_exit_status(EIN_ERR_LANG);
    int ov[MAX_OV], n = repl_with_override(r, r->ov, r->n_ov, idx, ov);
    if (n == r->n_ov && n == MAX_OV) {
        fprintf(r->log, "einrun: :set: at most %d settings\n", MAX_OV);
        return ein_exit_status(EIN_ERR_USAGE);
    }
    if (r->experiment[0]) {   /* check it now, against the current experiment */
        selection_args sa = { .max_cells = -1, .n_ov = n, .ov = ov };
        ein_selection sel;
        int st = repl_select_cells(r, &sa, &sel);
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
    repl_trim_end(args);
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
    int st = repl_parse_run_args(r, args, ":cells", &a);
    if (st != 0)
        return st;
    selection_args sa = { .experiment = a.experiment[0] ? a.experiment : NULL, .where = a.where,
                          .epochs = a.epochs, .limit_train = a.limit_train, .max_cells = -1,
                          .n_ov = r->n_ov, .ov = r->ov };
    ein_selection sel;
    if ((st = repl_select_cells(r, &sa, &sel)) != 0)
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
    int st = repl_parse_run_args(r, filter, ":graph", &a);
    if (st != 0)
        return st;
    selection_args sa = { .experiment = a.experiment[0] ? a.experiment : NULL, .where = a.where,
                          .max_cells = 1, .n_ov = r->n_ov, .ov = r->ov };
    ein_selection sel;
    if ((st = repl_select_cells(r, &sa, &sel)) != 0)
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

/* --- statements and :load ------------------------------------------------------ */

/* After a new experiment: how many cells it has with the current settings. */
static void announce(repl *r, const char *origin)
{
    selection_args sa = { .max_cells = -1, .n_ov = r->n_ov, .ov = r->ov };
    ein_selection sel;
    if (repl_select_cells(r, &sa, &sel) != 0)
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
        return repl_oom(r);
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
    repl_trim_end(args);
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
    cmd_load, cmd_set, cmd_unset, repl_cmd_show, cmd_cells, repl_cmd_run, repl_cmd_ablate,
    repl_cmd_runs, repl_cmd_compare, cmd_graph, repl_cmd_save, cmd_help, cmd_quit,
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
    repl_trim_end(args);
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
        return repl_oom(r);
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
        return repl_oom(r);
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
        const char *n = repl_stmt_name(r->stmt[i], &space);
        if (space == 0 || space == 1)
            offer(c, n);
    }
    ein_module *m = r->diag ? session_module(r) : NULL;
    for (int p = 0; m && p < m->n_programs; p++)
        for (int i = 0; i < m->programs[p]->n_stmts; i++) {
            int space;
            const char *n = repl_stmt_name(m->programs[p]->stmts[i], &space);
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
    if (repl_select_cells(r, &sa, &sel) == 0) {
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
