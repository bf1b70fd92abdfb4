/* repl_save.c — the REPL session written back out (:save, with the :set
 * values baked into the program) and where a setting comes from (:show)
 * (repl_session.h). */
#include "repl_session.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

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

int repl_cmd_save(repl *r, char *args, int line, int col)
{
    (void)line, (void)col;
    repl_trim_end(args);
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
    int st = repl_select_cells(r, &sa, &sel);
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
        return repl_oom(r);
    }
    ein_cell_config cfg;
    ein_config_write(mem, ein_cell_config_of(cell, &cfg), EIN_CONFIG_PROVENANCE);
    fclose(mem);
    char *config = text ? strdup(text) : NULL;
    if (!config) {
        free(text);
        ein_selection_free(&sel);
        return repl_oom(r);
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

int repl_cmd_show(repl *r, char *args, int line, int col)
{
    (void)line, (void)col;
    repl_trim_end(args);
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
        const char *name = repl_stmt_name(r->stmt[i], &space);
        if (name && space < 2 && !strcmp(name, args)) {
            show_stmt(r, r->stmt[i]);
            return 0;
        }
    }
    return show_path(r, args);
}
