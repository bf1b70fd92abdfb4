/* check_schema.c — the settings schema, driven by the schema itself: every
 * declared setting has a doc and a default that is the real default; for
 * every setting path a valid value given on the command line is accepted,
 * shows in the canonical configuration and changes the cell id, and an
 * invalid one is a located error at the override.  A setting added to the
 * schema is covered here without touching this file. */
#include <check.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ein/check.h"
#include "ein/data.h"
#include "ein/grid.h"
#include "ein/names.h"
#include "ein/parse.h"
#include "ein/schema.h"
#include "testutil.h"

#define BASE "experiment e { }\n"

typedef struct outcome {
    bool ok;
    char id[EIN_ID_LEN + 1];
    char *text;              /* ein_config_write with provenance (malloc'd) */
    char first[512];         /* the first error's head line */
    int first_file;          /* its source index, and the overrides' */
    int ov_file;
} outcome;

/* Expand BASE with the overrides `ov` ("PATH=VALUE"), one cell. */
static outcome run(const char *const *ov, int n_ov)
{
    outcome o = { .first_file = -1, .ov_file = -2 };
    ein_diag *d = ein_diag_new();
    ein_program *p = ein_parse_buffer(d, "t.ein", BASE, strlen(BASE), NULL);
    ein_check_options opt = { .stdlib_dir = "stdlib" };
    ein_module *m = ein_check_program(d, p, "t.ein", &opt);
    ck_assert_ptr_nonnull(m);
    ein_override ovs[8];
    ein_program *progs[8] = {0};
    for (int i = 0; i < n_ov; i++) {
        ck_assert_msg(ein_override_parse(d, "<command line>", ov[i], &ovs[i], &progs[i]), "%s", ov[i]);
        o.ov_file = ovs[i].name_loc.file;
    }
    ein_cell_list list = {0};
    o.ok = ein_grid_expand(m, NULL, ovs, n_ov, &list);
    if (o.ok) {
        ck_assert_int_eq(list.n, 1);
        strcpy(o.id, list.cells[0].id);
        size_t len;
        FILE *f = open_memstream(&o.text, &len);
        ein_config_write(f, tu_cfg(&list.cells[0]), EIN_CONFIG_PROVENANCE);
        fclose(f);
    } else {
        ck_assert_uint_ge(ein_diag_count(d), 1);
        char *head = NULL;
        size_t len;
        FILE *f = open_memstream(&head, &len);
        ein_diag_print_head(d, 0, f);
        fclose(f);
        snprintf(o.first, sizeof o.first, "%s", head);
        free(head);
        o.first_file = ein_diag_get(d, 0)->loc.file;
    }
    ein_cell_list_free(&list);
    for (int i = 0; i < n_ov; i++)
        ein_program_free(progs[i]);
    ein_module_free(m);
    ein_program_free(p);
    ein_diag_free(d);
    return o;
}

static void done(outcome *o)
{
    free(o->text);
}

/* Every full path of the schema, as ein_schema_paths lists them. */
static size_t all_paths(char (*paths)[96])
{
    return ein_schema_paths(paths, 512);
}

/* The definition a full path resolves to. */
static const ein_setting_def *def_of(const char *path, ein_setting_ref *ref)
{
    ck_assert_msg(ein_setting_lookup(path, ref, NULL, 0), "%s does not resolve", path);
    return ref->def;
}

/* An override that makes the setting apply in BASE ("" when it does), from
 * the context the schema states. */
static const char *enabling(const ein_setting_def *d)
{
    if (!d->applies)
        return "";
    if (!strcmp(d->applies, "optimizer = adam"))
        return "train.optimizer=adam";
    if (!strcmp(d->applies, "I-Norm layers"))
        return "hidden.fwd=inorm";
    return "";
}

static bool is_number(const char *s, double *x)
{
    char *end;
    *x = strtod(s, &end);
    return end != s && *end == '\0';
}

/* A valid value different from the default, from the type and range. */
static void valid_value(const ein_setting_def *d, const char *def, char *buf, size_t n)
{
    double x, v;
    bool num = is_number(def, &x);
    switch (d->type) {
    case EIN_TYPE_INT:
        snprintf(buf, n, "%.0f", num && x + 1 <= d->max ? x + 1 : d->min + 7);
        return;
    case EIN_TYPE_NUM:
        v = num ? x * 0.5 : NAN;
        if (!(num && v != x && v > d->min && v < d->max))
            v = isinf(d->max) ? (num ? x + 1 : 2) : (d->min + d->max) / 2;
        if (num && v == x)
            v = d->min + (d->max - d->min) / 4;
        snprintf(buf, n, "%.17g", v);
        return;
    case EIN_TYPE_BOOL:
        snprintf(buf, n, "%s", strcmp(def, "true") ? "true" : "false");
        return;
    case EIN_TYPE_STR:
        snprintf(buf, n, "\"/elsewhere\"");
        return;
    case EIN_TYPE_NAME:
        for (int i = 0; i < d->names->n; i++)
            if (!d->names->v[i].alias && strcmp(d->names->v[i].name, def)) {
                snprintf(buf, n, "%s", d->names->v[i].name);
                return;
            }
        break;
    case EIN_TYPE_SET:
        for (int i = 0; i < d->names->n; i++)
            if (!d->names->v[i].alias && !strstr(def, d->names->v[i].name)) {
                const char *q = ein_symbol_table(d->names->v[i].name) ? "" : "\"";
                snprintf(buf, n, "[%s%s%s]", q, d->names->v[i].name, q);
                return;
            }
        break;
    }
    ck_abort_msg("no valid value for %s", d->path);
}

/* A value the type or range refuses. */
static void invalid_value(const ein_setting_def *d, char *buf, size_t n)
{
    switch (d->type) {
    case EIN_TYPE_INT: snprintf(buf, n, "%.0f", d->min - 1); break;
    case EIN_TYPE_NUM: snprintf(buf, n, "%.17g", d->flags & EIN_SF_MIN_OPEN ? d->min : d->min - 1); break;
    case EIN_TYPE_BOOL: snprintf(buf, n, "3"); break;
    case EIN_TYPE_STR: snprintf(buf, n, "3"); break;
    case EIN_TYPE_NAME: snprintf(buf, n, "no_such_name"); break;
    case EIN_TYPE_SET: snprintf(buf, n, "[no_such_name]"); break;
    }
}

static const char *default_for(const ein_setting_def *d, const char *path)
{
    return !strncmp(path, "output.", 7) && d->def_output ? d->def_output : d->def;
}

/* A default as an override value: names that are not symbols of the
 * language (metrics) are written as strings. */
static void default_value(const ein_setting_def *d, const char *path, char *buf, size_t n)
{
    const char *def = default_for(d, path);
    if (!d->names || ein_symbol_table(d->names->v[0].name)) {
        snprintf(buf, n, "%s", def);
        return;
    }
    size_t len = 0;
    for (const char *p = def; *p && len + 2 < n; p++) {
        bool start = (*p >= 'a' && *p <= 'z') && (p == def || p[-1] == '[' || p[-1] == ' ');
        bool end = (*p >= 'a' && *p <= 'z') && !(p[1] >= 'a' && p[1] <= 'z') && p[1] != '_';
        if (start)
            buf[len++] = '"';
        buf[len++] = *p;
        if (end)
            buf[len++] = '"';
    }
    buf[len] = '\0';
}

/* The canonical key of a path's first instance ("hidden.0.ne", "train.lr.wex"). */
static void key_of(const ein_setting_ref *ref, char *buf, size_t n)
{
    const ein_setting_def *d = ref->def;
    if (d->scope == EIN_SCOPE_CELL)
        snprintf(buf, n, "%s =", d->key ? d->key : d->path);
    else if (d->scope == EIN_SCOPE_LOSS)
        snprintf(buf, n, "losses.0.%s =", d->path);
    else if (ref->target == EIN_TARGET_OUTPUT)
        snprintf(buf, n, "output.%s =", d->path);
    else
        snprintf(buf, n, "hidden.%d.%s =", ref->target < 0 ? 0 : ref->target, d->path);
}

/* The line of `text` that starts with key (empty when none). */
static void line_of(const char *text, const char *key, char *buf, size_t n)
{
    buf[0] = '\0';
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (!strncmp(p, key, strlen(key))) {
            const char *e = strchr(p, '\n');
            snprintf(buf, n, "%.*s", (int)(e ? e - p : (long)strlen(p)), p);
            return;
        }
}

START_TEST(every_setting_is_declared_completely)
{
    size_t n;
    const ein_setting_def *s = ein_schema(&n);
    ck_assert_uint_ge(n, 40);
    for (size_t i = 0; i < n; i++) {
        const ein_setting_def *d = &s[i];
        ck_assert_msg(d->path && *d->path, "setting %zu has no path", i);
        ck_assert_msg(d->doc && strlen(d->doc) > 10, "%s has no doc", d->path);
        ck_assert_msg(d->def && *d->def, "%s has no default", d->path);
        if (d->context)
            ck_assert_msg(d->applies && d->instead, "%s: a context needs 'applies' and 'instead'", d->path);
        if (d->type == EIN_TYPE_NAME || d->type == EIN_TYPE_SET)
            ck_assert_msg(d->names != NULL, "%s has no name table", d->path);
        if (d->ctype == EIN_C_ENUM || d->ctype == EIN_C_INT)
            ck_assert_msg(d->size == sizeof(int), "%s: stored in %zu bytes, not an int", d->path, d->size);
        for (size_t j = 0; j < i; j++)
            ck_assert_msg(s[j].scope != d->scope || strcmp(s[j].path, d->path), "%s declared twice", d->path);
    }
}
END_TEST

/* The default the schema documents is the one the cell gets: setting it
 * explicitly changes nothing, not even the id. */
START_TEST(documented_default_is_the_default)
{
    char paths[512][96];
    size_t n = all_paths(paths);
    outcome base = run(NULL, 0);
    ck_assert(base.ok);
    int checked = 0;
    for (size_t i = 0; i < n; i++) {
        ein_setting_ref ref;
        const ein_setting_def *d = def_of(paths[i], &ref);
        if (!strncmp(paths[i], "loss.inorm.", 11) || !strcmp(paths[i], "loss.task.weight"))
            continue;   /* BASE has no I-Norm loss; auto weight of the task loss checked below */
        char ov[512], def[256];
        default_value(d, paths[i], def, sizeof def);
        snprintf(ov, sizeof ov, "%.95s=%s", paths[i], def);
        const char *args[] = { ov };
        outcome o = run(args, 1);
        if (!o.ok && d->context && strstr(o.first, "does not apply here")) {
            done(&o);
            continue;   /* a context setting in a cell where it does not apply: below */
        }
        ck_assert_msg(o.ok, "%s: %s", ov, o.first);
        ck_assert_msg(!strcmp(o.id, base.id), "%s: the documented default changes the cell id", ov);
        done(&o);
        checked++;
    }
    ck_assert_int_ge(checked, 40);
    const char *task[] = { "loss.task.weight=1" };
    outcome o = run(task, 1);
    ck_assert_str_eq(o.id, base.id);
    done(&o);
    done(&base);
}
END_TEST

START_TEST(every_setting_from_the_command_line)
{
    char paths[512][96];
    size_t n = all_paths(paths);
    int checked = 0, no_context = 0, skipped = 0;
    for (size_t i = 0; i < n; i++) {
        ein_setting_ref ref;
        const ein_setting_def *d = def_of(paths[i], &ref);
        if (!strncmp(paths[i], "loss.inorm.", 11)) {
            skipped++;
            continue;   /* BASE has no I-Norm loss: the located "no loss" error is tested below */
        }
        const char *en = enabling(d);
        outcome base = *en ? run(&en, 1) : run(NULL, 0);
        ck_assert_msg(base.ok, "%s: %s", en, base.first);
        char value[128], ov[512];
        valid_value(d, default_for(d, paths[i]), value, sizeof value);
        snprintf(ov, sizeof ov, "%.95s=%s", paths[i], value);
        const char *args[2] = { ov, en };
        outcome o = run(args, *en ? 2 : 1);
        if (!o.ok && d->context && strstr(o.first, "does not apply here")) {
            /* output.learn, output.kind: never apply; the error names the path */
            char want[128];
            snprintf(want, sizeof want, "error: '%.95s' does not apply here", paths[i]);
            ck_assert_msg(strstr(o.first, want), "%s: %s", ov, o.first);
            done(&o);
            done(&base);
            no_context++;
            continue;
        }
        ck_assert_msg(o.ok, "%s: %s", ov, o.first);
        if (d->flags & EIN_SF_NO_ID)
            ck_assert_msg(!strcmp(o.id, base.id), "%s: changes the id but is not part of it", ov);
        else
            ck_assert_msg(strcmp(o.id, base.id), "%s: the cell id did not change", ov);
        if (!(d->flags & EIN_SF_ALIAS)) {
            char key[128], was[512], now[512];
            key_of(&ref, key, sizeof key);
            line_of(base.text, key, was, sizeof was);
            line_of(o.text, key, now, sizeof now);
            ck_assert_msg(now[0] && strcmp(was, now), "%s: '%s' in the configuration did not change (%s)", ov,
                          key, now);
        }
        done(&o);
        /* an invalid value: a located error at the override that names it */
        char bad[128];
        invalid_value(d, bad, sizeof bad);
        snprintf(ov, sizeof ov, "%.95s=%s", paths[i], bad);
        o = run(args, *en ? 2 : 1);
        ck_assert_msg(!o.ok, "%s was accepted", ov);
        ck_assert_msg(o.first_file == o.ov_file || strstr(o.first, "<command line>"),
                      "%s: error not at the override: %s", ov, o.first);
        ck_assert_msg(strstr(o.first, "<command line>:1:"), "%s: %s", ov, o.first);
        done(&o);
        done(&base);
        checked++;
    }
    ck_assert_int_eq(checked + no_context + skipped, (int)n);
    ck_assert_int_le(no_context, 2);   /* output.kind and output.learn never apply */
    ck_assert_int_ge(checked, 55);
}
END_TEST

START_TEST(override_errors_are_located_and_explained)
{
    const char *a[] = { "train.lrr=0.05" };
    outcome o = run(a, 1);
    ck_assert_str_eq(o.first, "<command line>:1:1: error: unknown setting 'train.lrr'\n");
    const char *b[] = { "loss.inorm.weight=0.5" };
    o = run(b, 1);
    ck_assert_str_eq(o.first, "<command line>:1:1: error: no loss named 'inorm' in this cell (its losses: task)\n");
    const char *c[] = { "hidden[2].ne=10" };
    o = run(c, 1);
    ck_assert_str_eq(o.first, "<command line>:1:1: error: no hidden layer 2: the network has 2 hidden layers "
                              "(hidden[0] .. hidden[1])\n");
    const char *e[] = { "output.learn=[wix]" };
    o = run(e, 1);
    ck_assert_str_eq(o.first, "<command line>:1:1: error: 'output.learn' does not apply here: this layer is not an "
                              "I-Norm layer (fwd is not inorm or inorm_sub) (it applies to I-Norm layers); use "
                              "train.frozen to stop a group from learning\n");
    const char *f[] = { "train.momentum=0.5", "train.optimizer=adam" };
    o = run(f, 2);
    ck_assert_str_eq(o.first, "<command line>:1:1: error: 'train.momentum' does not apply here: the optimizer is "
                              "adam (it applies to optimizer = sgd); Adam's first-moment decay is train.adam.beta1\n");
    const char *g[] = { "train.epochs = 0" };
    o = run(g, 1);
    ck_assert_str_eq(o.first, "<command line>:1:16: error: train.epochs must be at least 1, got 0\n");
    /* hidden.fwd=inorm brings the I-Norm loss when the program declares none (M4 with M5) */
    const char *h[] = { "hidden.fwd=inorm", "loss.inorm.weight=0.5" };
    o = run(h, 2);
    ck_assert_msg(o.ok, "%s", o.first);
    ck_assert_ptr_nonnull(strstr(o.text, "losses.1.kind = inorm\nlosses.1.name = inorm\nlosses.1.weight = 0.5\n"));
    done(&o);
}
END_TEST

START_TEST(sweep_of_a_setting_is_an_axis)
{
    const char *a[] = { "train.lr=[0.01, 0.05]" };   /* a set's list is a value: train.frozen=[wix] */
    ein_diag *d = ein_diag_new();
    ein_program *p = ein_parse_buffer(d, "t.ein", BASE, strlen(BASE), NULL);
    ein_check_options opt = { .stdlib_dir = "stdlib" };
    ein_module *m = ein_check_program(d, p, "t.ein", &opt);
    ein_override ov;
    ein_program *op;
    ck_assert(ein_override_parse(d, "<command line>", a[0], &ov, &op));
    ein_cell_list list = {0};
    ck_assert(ein_grid_expand(m, NULL, &ov, 1, &list));
    ck_assert_int_eq(list.n, 2);
    ck_assert_str_eq(ein_cell_binding(&list.cells[1], "train.lr")->text, "0.05");
    ck_assert(tu_cfg(&list.cells[0])->train.lr[EIN_GROUP_WEX] == 0.01);
    ck_assert(tu_cfg(&list.cells[1])->train.lr[EIN_GROUP_BIAS] == 0.05);
    ck_assert_str_ne(list.cells[0].id, list.cells[1].id);
    ein_cell_list_free(&list);
    ein_program_free(op);
    ein_module_free(m);
    ein_program_free(p);
    ein_diag_free(d);
}
END_TEST

START_TEST(help_settings_prints_the_schema)
{
    char *out = NULL;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "%s help settings train.momentum_inhib", getenv("EIN_EINRUN") ? getenv("EIN_EINRUN")
                                                                                     : "build/float/einrun");
    FILE *f = popen(cmd, "r");
    ck_assert_ptr_nonnull(f);
    size_t cap = 4096, len = 0;
    out = calloc(cap, 1);
    len = fread(out, 1, cap - 1, f);
    out[len] = '\0';
    ck_assert_int_eq(pclose(f), 0);
    ck_assert_str_eq(out, "train.momentum_inhib\n"
                          "    SGD momentum of the inhibitory groups (wix, bix, wei, bei); auto: train.momentum\n"
                          "    type: number in [0, 1), or auto\n"
                          "    default: auto\n"
                          "    applies to: optimizer = sgd\n");
    free(out);
}
END_TEST

/* `input 784` against 10 x 10 images: stopped before any cell, naming the
 * data file and the input line (it used to train "ok" on 100 inputs). */
START_TEST(input_must_match_the_images)
{
    char *dir = tu_mkdtemp();
    uint8_t px[20 * 100] = {0}, lab[20];
    for (int i = 0; i < 20; i++)
        lab[i] = (uint8_t)(i % 10);
    char a[600], b[600];
    ein_err err = {0};
    snprintf(a, sizeof a, "%s/train-images-idx3-ubyte", dir);
    snprintf(b, sizeof b, "%s/train-labels-idx1-ubyte", dir);
    ck_assert_int_eq(ein_idx_write(a, false, 20, 10, 10, px, b, lab, &err), EIN_OK);
    snprintf(a, sizeof a, "%s/t10k-images-idx3-ubyte", dir);
    snprintf(b, sizeof b, "%s/t10k-labels-idx1-ubyte", dir);
    ck_assert_int_eq(ein_idx_write(a, false, 20, 10, 10, px, b, lab, &err), EIN_OK);
    char text[1024], file[700], cmd[2048];
    snprintf(text, sizeof text,
             "experiment tiny {\n  data = idx(dir = \"%s\")\n  network {\n    input 784\n"
             "    hidden ei(ne = 20) x 1\n    output ei(ne = 10, ni = 1, act = none, fwd = none, bwd = none)\n"
             "  }\n  train { epochs = 1 }\n  report \"%s/results\" { test_acc }\n}\n", dir, dir);
    snprintf(file, sizeof file, "%s/tiny.ein", dir);
    ck_assert_int_eq(tu_write_file(file, text, strlen(text)), 0);
    snprintf(cmd, sizeof cmd, "%s %s --quiet 2>&1", tu_einrun(), file);
    char *out = NULL;
    int st = tu_run(cmd, &out);
    ck_assert_int_eq(st, 65);
    char want[2048];
    snprintf(want, sizeof want, "einrun: %s/train-images-idx3-ubyte: images have 100 values (10 x 10) but the "
             "network's input is 784 (%s:4:11)\n", dir, file);
    ck_assert_str_eq(out, want);
    snprintf(a, sizeof a, "%s/results/cells.jsonl", dir);
    ck_assert_ptr_null(tu_read_file(a, NULL));   /* no cell ran */
    free(out);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* make install PREFIX=DIR: the installed einrun finds its stdlib from any
 * folder, and an unknown import names EIN_PATH. */
START_TEST(installed_einrun_finds_its_stdlib)
{
    char *dir = tu_mkdtemp();
    char cmd[2048];
    char *out = NULL;
    snprintf(cmd, sizeof cmd, "MAKEFLAGS= make -s --no-print-directory install PREFIX=%s/usr 2>&1", dir);
    ck_assert_msg(tu_run(cmd, &out) == 0, "%s", out);
    free(out);
    snprintf(cmd, sizeof cmd, "cd / && %s/usr/bin/einrun --check %s/usr/share/ein/examples/quickstart.ein 2>&1",
             dir, dir);
    int st = tu_run(cmd, &out);
    ck_assert_msg(st == 0, "%s", out);
    free(out);
    char prog[600];
    snprintf(prog, sizeof prog, "%s/p.ein", dir);
    const char *imp = "import \"fashon\"\n";
    ck_assert_int_eq(tu_write_file(prog, imp, strlen(imp)), 0);
    snprintf(cmd, sizeof cmd, "cd / && %s/usr/bin/einrun --check %s 2>&1", dir, prog);
    st = tu_run(cmd, &out);
    ck_assert_int_eq(st, 2);
    char want[2048];
    snprintf(want, sizeof want, "%s:1:8: error: cannot find import 'fashon' (searched: %s, %s/usr/share/ein/stdlib; "
             "EIN_PATH adds folders)", prog, dir, dir);
    ck_assert_msg(strstr(out, want), "%s", out);
    snprintf(want, sizeof want, "note: did you mean 'fashion' (stdlib %s/usr/share/ein/stdlib/fashion.ein)?", dir);
    ck_assert_msg(strstr(out, want), "%s", out);
    free(out);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* Paths written in a .ein file are relative to that file; the error names
 * the resolved path and the data statement. */
START_TEST(paths_are_relative_to_the_file)
{
    char *dir = tu_mkdtemp();
    char sub[600], file[700], cmd[2048];
    snprintf(sub, sizeof sub, "%s/sub", dir);
    snprintf(cmd, sizeof cmd, "mkdir -p %s", sub);
    ck_assert_int_eq(system(cmd), 0);
    snprintf(file, sizeof file, "%s/x.ein", sub);
    const char *text = "experiment x {\n  data = idx(dir = \"mydata\")\n  train { epochs = 1 }\n"
                       "  report \"out\" { test_acc }\n}\n";
    ck_assert_int_eq(tu_write_file(file, text, strlen(text)), 0);
    char *out = NULL, *einrun = realpath(tu_einrun(), NULL);
    ck_assert_ptr_nonnull(einrun);
    snprintf(cmd, sizeof cmd, "cd / && %s %s --quiet 2>&1", einrun, file);
    free(einrun);
    int st = tu_run(cmd, &out);
    ck_assert_int_eq(st, 74);
    char want[2048];
    snprintf(want, sizeof want, "einrun: %s/mydata/train-images-idx3-ubyte: No such file or directory (nor "
             "%s/mydata/train-images-idx3-ubyte.gz) (data = ... at %s:2:3)\n", sub, sub, file);
    ck_assert_str_eq(out, want);
    free(out);
    snprintf(cmd, sizeof cmd, "test -d %s/out", sub);   /* report "out": next to the file */
    ck_assert_int_eq(system(cmd), 0);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* `einrun f.ein lr=0.05` (issue 11's case): a bad command line, the caret
 * under the name, and the setting the name ends. */
START_TEST(bare_setting_name_suggests_its_path)
{
    char cmd[1024], *out = NULL;
    snprintf(cmd, sizeof cmd, "%s examples/quickstart.ein lr=0.05 --dry-run 2>&1", tu_einrun());
    ck_assert_int_eq(tu_run(cmd, &out), 64);
    ck_assert_str_eq(out, "<command line>:1:1: error: no axis, binding or setting named 'lr' to override\n"
                          "    1 | lr=0.05\n"
                          "      | ^~\n"
                          "<command line>:1:1: note: did you mean the setting 'train.lr'?\n");
    free(out);
}
END_TEST

/* docs/language.md holds the generated settings table verbatim. */
START_TEST(docs_table_is_the_schema)
{
    char *doc = tu_read_file("docs/language.md", NULL);
    ck_assert_ptr_nonnull(doc);
    const char *begin = strstr(doc, "<!-- settings:begin");
    const char *end = strstr(doc, "<!-- settings:end -->");
    ck_assert_msg(begin && end && end > begin, "docs/language.md has no settings block");
    begin = strchr(begin, '\n') + 1;
    char *gen = NULL;
    size_t len;
    FILE *f = open_memstream(&gen, &len);
    ein_schema_print_markdown(f);
    fclose(f);
    ck_assert_msg((size_t)(end - begin) == len && !strncmp(begin, gen, len),
                  "docs/language.md's settings table is not `einrun help settings --markdown`: regenerate it");
    free(gen);
    free(doc);
}
END_TEST

/* Lookups compare lengths first: every entry's length is its path's. */
START_TEST(every_path_length_is_recorded)
{
    size_t n;
    const ein_setting_def *d = ein_schema(&n);
    for (size_t i = 0; i < n; i++) {
        ck_assert_msg(d[i].path_len == strlen(d[i].path), "%s", d[i].path);
        ck_assert_ptr_eq(ein_schema_find(d[i].scope, d[i].path), &d[i]);
    }
}
END_TEST

Suite *ein_test_suite(void)
{
    Suite *s = suite_create("schema");
    TCase *tc = tcase_create("schema");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, every_setting_is_declared_completely);
    tcase_add_test(tc, every_path_length_is_recorded);
    tcase_add_test(tc, documented_default_is_the_default);
    tcase_add_test(tc, every_setting_from_the_command_line);
    tcase_add_test(tc, override_errors_are_located_and_explained);
    tcase_add_test(tc, sweep_of_a_setting_is_an_axis);
    tcase_add_test(tc, help_settings_prints_the_schema);
    tcase_add_test(tc, input_must_match_the_images);
    tcase_add_test(tc, installed_einrun_finds_its_stdlib);
    tcase_add_test(tc, paths_are_relative_to_the_file);
    tcase_add_test(tc, docs_table_is_the_schema);
    tcase_add_test(tc, bare_setting_name_suggests_its_path);
    suite_add_tcase(s, tc);
    return s;
}
