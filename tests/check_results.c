/* check_results.c — the results store: append and read back, torn lines,
 * JSON escaping, summary.csv, the source hash and a full disk. */
#include <check.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "ein/numfmt.h"
#include "ein/results.h"
#include "testutil.h"

/* `cfg` is the cell's configuration, kept by the caller (cell.h). */
static void make_cell(ein_cell *c, ein_cell_config *cfg, int index, const char *variant, double eps)
{
    memset(c, 0, sizeof *c);
    snprintf(c->id, sizeof c->id, "%016x", 0xc0ffee00 + index);
    c->index = index;
    c->n_bindings = 2;
    c->bindings = calloc(2, sizeof *c->bindings);
    snprintf(c->bindings[0].name, EIN_NAME_MAX, "variant");
    snprintf(c->bindings[0].text, EIN_VALUE_TEXT_MAX, "\"%s\"", variant);
    snprintf(c->bindings[1].name, EIN_NAME_MAX, "eps");
    snprintf(c->bindings[1].text, EIN_VALUE_TEXT_MAX, "%g", eps);
    c->bindings[1].is_number = true;
    c->bindings[1].number = eps;
    ein_config_defaults(cfg);
    ein_cell_set_config(c, cfg);
}

static ein_cell_result make_result(ein_cell_status st, double final_acc, double best_acc)
{
    ein_cell_result r;
    memset(&r, 0, sizeof r);
    r.status = st;
    r.epochs_done = 3;
    r.final.epoch = 3;
    r.final.test_acc = final_acc;
    r.final.train_acc = final_acc + 1;
    r.final.task_loss = 0.5;
    r.final.n_hidden = 2;
    r.final.layer[1].cos_out = 0.25;
    r.best = r.final;
    r.best.epoch = 2;
    r.best.test_acc = best_acc;
    r.seconds = 1.5;
    return r;
}

static size_t count_lines(const char *path)
{
    char *t = tu_read_file(path, NULL);
    size_t n = 0;
    for (char *p = t; p && *p; p++)
        n += *p == '\n';
    free(t);
    return n;
}

START_TEST(append_and_read_back)
{
    char *dir = tu_mkdtemp();
    char sub[512];
    snprintf(sub, sizeof sub, "%s/results/exp", dir);
    ein_err err = {0};
    ein_results *r = ein_results_open(sub, false, NULL, &err);
    ck_assert_msg(r != NULL, "%s", err.msg);
    ein_cell a, b;
    ein_cell_config cfg_a, cfg_b;
    make_cell(&a, &cfg_a, 0, "ln", 0.25);
    make_cell(&b, &cfg_b, 1, "inorm_gn", 0.75);
    ein_cell_result ra = make_result(EIN_CELL_FAILED, NAN, NAN);
    ra.epochs_done = 0;
    snprintf(ra.message, sizeof ra.message, "worker killed by SIGSEGV");
    ein_cell_result rb = make_result(EIN_CELL_OK, 81.25, 82.5);
    ein_cell_result ra2 = make_result(EIN_CELL_OK, 79.5, 80);
    ck_assert_int_eq(ein_results_append_cell(r, "exp", &a, "run1", &ra, &err), EIN_OK);
    ck_assert_int_eq(ein_results_append_cell(r, "exp", &b, "run1", &rb, &err), EIN_OK);
    ck_assert_int_eq(ein_results_append_cell(r, "exp", &a, "run2", &ra2, &err), EIN_OK);
    ck_assert_int_eq(ein_results_append_epoch(r, &b, "run1", &rb.final, &err), EIN_OK);
    ein_results_close(r);

    ein_record_list l;
    ck_assert_int_eq(ein_results_read(sub, &l, &err), EIN_OK);
    ck_assert_int_eq(l.n, 2);                      /* the rerun of a replaced its failure */
    ck_assert_int_eq(l.n_lines, 3);
    ck_assert_int_eq(l.n_bad, 0);
    const ein_record *x = ein_record_find(&l, a.id);
    ck_assert_ptr_nonnull(x);
    ck_assert_str_eq(x->status, "ok");
    ck_assert_str_eq(x->run, "run2");
    ck_assert(x->final_test_acc == 79.5);
    const ein_record *y = ein_record_find(&l, b.id);
    ck_assert_str_eq(y->experiment, "exp");
    ck_assert(y->best_test_acc == 82.5);
    ck_assert_int_eq(y->best_epoch, 2);
    ck_assert_int_eq(y->epochs, 3);
    bool num = true;
    ck_assert_str_eq(ein_record_binding(y, "variant", &num), "inorm_gn");
    ck_assert(!num);
    ck_assert_str_eq(ein_record_binding(y, "eps", &num), "0.75");
    ck_assert(num);
    ein_record_list_free(&l);

    /* per-layer metrics reach the files */
    char path[600];
    snprintf(path, sizeof path, "%s/cells.jsonl", sub);
    char *text = tu_read_file(path, NULL);
    ck_assert_ptr_nonnull(strstr(text, "\"cos_out\":0.25"));
    ck_assert_ptr_nonnull(strstr(text, "\"bindings\":{\"variant\":\"ln\",\"eps\":0.25}"));
    free(text);
    snprintf(path, sizeof path, "%s/epochs.jsonl", sub);
    ck_assert_uint_eq(count_lines(path), 1);
    free(a.bindings);
    free(b.bindings);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(torn_last_line_ignored_and_repaired)
{
    char *dir = tu_mkdtemp();
    ein_err err = {0};
    ein_results *r = ein_results_open(dir, false, NULL, &err);
    ein_cell a, b;
    ein_cell_config cfg_a, cfg_b;
    make_cell(&a, &cfg_a, 0, "ln", 0);
    make_cell(&b, &cfg_b, 1, "ln", 1);
    ein_cell_result ok = make_result(EIN_CELL_OK, 70, 71);
    ck_assert_int_eq(ein_results_append_cell(r, "exp", &a, "r", &ok, &err), EIN_OK);
    ein_results_close(r);
    char path[600];
    snprintf(path, sizeof path, "%s/cells.jsonl", dir);
    /* a crash in the middle of the second record */
    FILE *f = fopen(path, "ab");
    fputs("{\"id\":\"00000000c0ffee01\",\"experiment\":\"exp\",\"status\":\"o", f);
    fclose(f);
    ein_record_list l;
    ck_assert_int_eq(ein_results_read(dir, &l, &err), EIN_OK);
    ck_assert_int_eq(l.n, 1);
    ck_assert_int_eq(l.n_bad, 1);
    ein_record_list_free(&l);
    /* reopening cuts the fragment, so the next record starts on its own line */
    r = ein_results_open(dir, false, NULL, &err);
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(ein_results_append_cell(r, "exp", &b, "r", &ok, &err), EIN_OK);
    ein_results_close(r);
    ck_assert_int_eq(ein_results_read(dir, &l, &err), EIN_OK);
    ck_assert_int_eq(l.n, 2);
    ck_assert_int_eq(l.n_bad, 0);
    ein_record_list_free(&l);
    free(a.bindings);
    free(b.bindings);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(json_escaping)
{
    char buf[128];
    size_t n = 0;
    ein_json_string(buf, sizeof buf, &n, "a\"b\\c\nd\te\x01");
    ck_assert_str_eq(buf, "\"a\\\"b\\\\c\\nd\\te\\u0001\"");
    ck_assert_uint_eq(n, strlen(buf));

    char *dir = tu_mkdtemp();
    ein_err err = {0};
    ein_results *r = ein_results_open(dir, false, NULL, &err);
    ein_cell a;
    ein_cell_config cfg_a;
    make_cell(&a, &cfg_a, 0, "we\\\"ird,name", 0.5);   /* canonical text "we\"ird,name" */
    ein_cell_result res = make_result(EIN_CELL_DIVERGED, NAN, 12);
    snprintf(res.message, sizeof res.message, "NaN in \"task\" loss\nat epoch 3, batch 2");
    ck_assert_int_eq(ein_results_append_cell(r, "exp", &a, "r", &res, &err), EIN_OK);
    ein_results_close(r);
    ein_record_list l;
    ck_assert_int_eq(ein_results_read(dir, &l, &err), EIN_OK);
    ck_assert_int_eq(l.n, 1);
    ck_assert_str_eq(l.rec[0].message, res.message);
    ck_assert_str_eq(l.rec[0].status, "diverged");
    ck_assert(isnan(l.rec[0].final_test_acc));      /* NaN is written as null */
    ck_assert_str_eq(ein_record_binding(&l.rec[0], "variant", NULL), "we\"ird,name");
    ein_record_list_free(&l);
    free(a.bindings);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* The canonical configuration text as (key, value) lines, parsed here on
 * its own: "key = value", or "key =" for an empty value. */
static int config_lines(const ein_cell_config *cfg, char keys[][96], char values[][1100], int max)
{
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    ein_config_write(mem, cfg, 0);
    fclose(mem);
    int n = 0;
    for (char *line = strtok(text, "\n"); line && n < max; line = strtok(NULL, "\n")) {
        char *eq = strstr(line, " = ");
        size_t end = strlen(line);
        if (!eq && end >= 2 && strcmp(line + end - 2, " =") == 0)
            eq = line + end - 2;
        ck_assert_msg(eq != NULL, "not a key = value line: %s", line);
        snprintf(keys[n], 96, "%.*s", (int)(eq - line), line);
        snprintf(values[n], 1100, "%s", eq[2] ? eq + 3 : "");
        n++;
    }
    free(text);
    return n;
}

START_TEST(config_recorded_and_differing_settings)
{
    char *dir = tu_mkdtemp();
    ein_err err = {0};
    ein_results *r = ein_results_open(dir, false, NULL, &err);
    ein_cell a, b;
    ein_cell_config cfg_a, cfg_b;
    make_cell(&a, &cfg_a, 0, "ln", 0);
    make_cell(&b, &cfg_b, 1, "ln", 0);              /* the same bindings, a different network */
    cfg_b.hidden[0].ne = 100;
    cfg_b.train.epochs = 7;
    ein_cell_result ok = make_result(EIN_CELL_OK, 70, 71);
    ck_assert_int_eq(ein_results_append_cell(r, "exp", &a, "r", &ok, &err), EIN_OK);
    ck_assert_int_eq(ein_results_append_cell(r, "exp", &b, "r", &ok, &err), EIN_OK);
    ein_results_close(r);
    char path[600];
    snprintf(path, sizeof path, "%s/cells.jsonl", dir);
    FILE *f = fopen(path, "ab");     /* a record from before "config" existed */
    fputs("{\"id\":\"00000000c0ffee09\",\"experiment\":\"exp\",\"status\":\"ok\",\"epochs\":3,"
          "\"bindings\":{\"variant\":\"ln\",\"eps\":0},\"final\":{\"test_acc\":50}}\n", f);
    fclose(f);

    ein_record_list l;
    ck_assert_int_eq(ein_results_read(dir, &l, &err), EIN_OK);
    ck_assert_int_eq(l.n, 3);
    ck_assert_int_eq(l.n_bad, 0);
    static char keys[2][400][96], values[2][400][1100];
    int nk[2] = { config_lines(&cfg_a, keys[0], values[0], 400),
                  config_lines(&cfg_b, keys[1], values[1], 400) };
    ck_assert_int_gt(nk[0], 20);
    for (int c = 0; c < 2; c++) {
        const ein_record *rec = ein_record_find(&l, c ? b.id : a.id);
        ck_assert_int_eq(rec->n_config, nk[c]);     /* one member per line, none lost */
        for (int k = 0; k < nk[c]; k++) {
            char type = 0;
            const char *v = ein_record_setting(rec, keys[c][k], &type);
            ck_assert_msg(v != NULL, "%s missing", keys[c][k]);
            const char *want = values[c][k];
            char *end;
            double x = strtod(want, &end);
            if (strcmp(want, "nan") == 0)
                ck_assert_msg(type == 'z', "%s = nan should be null", keys[c][k]);
            else if (strcmp(want, "true") == 0 || strcmp(want, "false") == 0)
                ck_assert_msg(type == 'b' && strcmp(v, want) == 0, "%s", keys[c][k]);
            else if (*want && !*end && isfinite(x))
                ck_assert_msg(type == 'n' && strtod(v, NULL) == x, "%s = %s read %c %s", keys[c][k],
                              want, type, v);
            else
                ck_assert_msg(type == 's' && strcmp(v, want) == 0, "%s = '%s' read %c '%s'",
                              keys[c][k], want, type, v);
        }
    }
    const ein_record *old = ein_record_find(&l, "00000000c0ffee09");
    ck_assert_int_eq(old->n_config, 0);
    ck_assert(old->final_test_acc == 50);
    ck_assert_ptr_null(ein_record_setting(old, keys[0][0], NULL));

    /* the differing settings: exactly the lines that differ (the old record
     * without a configuration does not make every setting differ) */
    const char **set = NULL;
    int nset = ein_records_differing_settings(&l, &set);
    char want[1024] = "", got[1024] = "";
    ck_assert_int_eq(nk[0], nk[1]);
    for (int k = 0; k < nk[0]; k++) {
        ck_assert_str_eq(keys[0][k], keys[1][k]);
        if (strcmp(values[0][k], values[1][k]) != 0)
            strcat(strcat(want, keys[0][k]), ",");     /* a few short keys */
    }
    for (int k = 0; k < nset; k++)
        strcat(strcat(got, set[k]), ",");
    ck_assert_str_eq(got, want);
    ck_assert_int_eq(nset, 2);                       /* the width and the epochs */
    free(set);

    /* summary.csv: one column per differing setting, NA for the old record */
    ck_assert_int_eq(ein_results_write_summary_csv(dir, &err), EIN_OK);
    snprintf(path, sizeof path, "%s/summary.csv", dir);
    char *csv = tu_read_file(path, NULL);
    char head[1200], rows[3][600];
    snprintf(head, sizeof head, "id,experiment,variant,eps,%s,status,", got);
    char *p = strstr(head, ",,");
    memmove(p, p + 1, strlen(p));
    ck_assert_msg(strncmp(csv, head, strlen(head)) == 0, "%s\nwant %s", csv, head);
    snprintf(rows[0], sizeof rows[0], "\n%s,exp,ln,0,500,50,ok,", a.id);
    snprintf(rows[1], sizeof rows[1], "\n%s,exp,ln,0,100,7,ok,", b.id);
    snprintf(rows[2], sizeof rows[2], "\n00000000c0ffee09,exp,ln,0,NA,NA,ok,");
    for (int k = 0; k < 3; k++)
        ck_assert_msg(strstr(csv, rows[k]) != NULL, "%s\nwant %s", csv, rows[k] + 1);
    free(csv);
    ein_record_list_free(&l);
    free(a.bindings);
    free(b.bindings);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* Split one CSV line (RFC 4180 quoting) into fields; returns the count. */
static int csv_split(const char *line, char fields[][128], int max)
{
    int n = 0;
    const char *p = line;
    while (n < max) {
        char *o = fields[n];
        size_t k = 0;
        if (*p == '"') {
            p++;
            while (*p && !(*p == '"' && p[1] != '"')) {
                if (*p == '"')
                    p++;
                if (k < 127)
                    o[k++] = *p;
                p++;
            }
            if (*p == '"')
                p++;
        } else {
            while (*p && *p != ',' && *p != '\n') {
                if (k < 127)
                    o[k++] = *p;
                p++;
            }
        }
        o[k] = '\0';
        n++;
        if (*p != ',')
            break;
        p++;
    }
    return n;
}

START_TEST(summary_csv_columns_and_values)
{
    char *dir = tu_mkdtemp();
    ein_err err = {0};
    ein_results *r = ein_results_open(dir, false, NULL, &err);
    ein_cell a, b;
    ein_cell_config cfg_a, cfg_b;
    make_cell(&a, &cfg_a, 0, "ln", 0.25);
    make_cell(&b, &cfg_b, 1, "a,b", 0.75);
    ein_cell_result ra = make_result(EIN_CELL_OK, 81.5, 82);
    ein_cell_result rb = make_result(EIN_CELL_FAILED, 0, 0);
    rb.epochs_done = 0;
    snprintf(rb.message, sizeof rb.message, "worker killed by SIGABRT");
    ein_results_append_cell(r, "exp", &a, "r", &ra, &err);
    ein_results_append_cell(r, "exp", &b, "r", &rb, &err);
    ein_results_close(r);
    ck_assert_int_eq(ein_results_write_summary_csv(dir, &err), EIN_OK);
    char path[600];
    snprintf(path, sizeof path, "%s/summary.csv", dir);
    char *text = tu_read_file(path, NULL);
    ck_assert_ptr_nonnull(text);
    char *l1 = text, *l2 = strchr(l1, '\n') + 1, *l3 = strchr(l2, '\n') + 1;
    ck_assert_str_eq(strchr(l3, '\n') + 1, "");
    static char f[20][128];
    int n = csv_split(l1, f, 20);
    const char *want[] = { "id", "experiment", "variant", "eps", "status", "epochs",
                           "final_test_acc", "best_test_acc", "best_epoch", "final_train_acc",
                           "final_task_loss", "final_inorm_loss", "final_test_loss", "seconds",
                           "message" };
    ck_assert_int_eq(n, 15);
    for (int i = 0; i < 15; i++)
        ck_assert_str_eq(f[i], want[i]);
    ck_assert_int_eq(csv_split(l2, f, 20), 15);
    ck_assert_str_eq(f[0], a.id);
    ck_assert_str_eq(f[2], "ln");
    ck_assert_str_eq(f[3], "0.25");
    ck_assert_str_eq(f[4], "ok");
    ck_assert_str_eq(f[6], "81.5");
    ck_assert_str_eq(f[7], "82");
    ck_assert_str_eq(f[8], "2");
    ck_assert_str_eq(f[14], "NA");
    ck_assert_ptr_nonnull(strstr(l3, ",\"a,b\",0.75,failed,0,NA,NA,NA,"));
    ck_assert_int_eq(csv_split(l3, f, 20), 15);
    ck_assert_str_eq(f[2], "a,b");
    ck_assert_str_eq(f[14], "worker killed by SIGABRT");
    free(text);
    free(a.bindings);
    free(b.bindings);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(source_hash_and_fresh_moves_aside)
{
    char *dir = tu_mkdtemp();
    char src[600], sub[600], moved[EIN_PATH_MAX];
    snprintf(src, sizeof src, "%s/x.ein", dir);
    snprintf(sub, sizeof sub, "%s/res", dir);
    tu_write_file(src, "abc", 3);
    ein_err err = {0};
    ein_results *r = ein_results_open(sub, false, NULL, &err);
    ck_assert_int_eq(ein_results_store_source(r, src, &err), EIN_OK);
    ein_results_close(r);
    char path[EIN_PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/source.sha256", sub);
    char *h = tu_read_file(path, NULL);
    ck_assert_str_eq(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad  source.ein\n");
    free(h);
    /* --fresh never deletes: the old folder moves aside */
    r = ein_results_open(sub, true, moved, &err);
    ck_assert_ptr_nonnull(r);
    ein_results_close(r);
    ck_assert(strncmp(moved, sub, strlen(sub)) == 0 && moved[strlen(sub)] == '.');
    snprintf(path, sizeof path, "%s/source.ein", moved);
    ck_assert_int_eq(access(path, F_OK), 0);
    snprintf(path, sizeof path, "%s/source.ein", sub);
    ck_assert_int_ne(access(path, F_OK), 0);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(full_disk_clear_error_records_intact)
{
    char *dir = tu_mkdtemp();
    ein_err err = {0};
    ein_results *r = ein_results_open(dir, false, NULL, &err);
    ein_cell a;
    ein_cell_config cfg_a;
    make_cell(&a, &cfg_a, 0, "ln", 0.25);
    ein_cell_result ok = make_result(EIN_CELL_OK, 70, 71);
    ck_assert_int_eq(ein_results_append_cell(r, "exp", &a, "r", &ok, &err), EIN_OK);
    char path[600];
    snprintf(path, sizeof path, "%s/cells.jsonl", dir);
    struct stat st;
    stat(path, &st);
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    pid_t pid = fork();
    if (pid == 0) {
        /* A file-size limit just above what is there: the next record does not fit. */
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit rl = { (rlim_t)st.st_size + 100, (rlim_t)st.st_size + 100 };
        setrlimit(RLIMIT_FSIZE, &rl);
        ein_err e = {0};
        ein_code c = ein_results_append_cell(r, "exp", &a, "r2", &ok, &e);
        if (write(p[1], e.msg, strlen(e.msg) + 1) < 0) { /* the parent then fails */ }
        _exit(c == EIN_ERR_IO ? 0 : 1);
    }
    close(p[1]);
    char msg[1024] = "";
    ssize_t got = read(p[0], msg, sizeof msg - 1);
    ck_assert(got > 0);
    close(p[0]);
    int status;
    waitpid(pid, &status, 0);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ck_assert_msg(strstr(msg, "cells.jsonl: write failed: File too large") != NULL, "%s", msg);
    /* the earlier record is intact and the fragment was cut */
    struct stat st2;
    stat(path, &st2);
    ck_assert_int_eq(st2.st_size, st.st_size);
    ein_record_list l;
    ck_assert_int_eq(ein_results_read(dir, &l, &err), EIN_OK);
    ck_assert_int_eq(l.n, 1);
    ck_assert_int_eq(l.n_bad, 0);
    ein_record_list_free(&l);
    ein_results_close(r);
    free(a.bindings);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* ein_num_text is the loop it replaced: the shortest "%.{p}g", p from 6 to
 * 17, that reads back — for random doubles, short and long decimals and
 * their neighbours, powers of two (lopsided rounding), integers and ties;
 * and ein_num_parse reads every such text as strtod does, to the bit. */
static void check_num_text(double x)
{
    if (!isfinite(x))
        return;
    char want[32], got[EIN_NUM_TEXT_MAX];
    for (int p = 6; p <= 17; p++) {
        snprintf(want, sizeof want, "%.*g", p, x);
        if (strtod(want, NULL) == x)
            break;
    }
    size_t n = ein_num_text(x, got);
    ck_assert_msg(strcmp(got, want) == 0 && n == strlen(want), "%a: '%s', want '%s'", x, got, want);
    double back = ein_num_parse(want), ref = strtod(want, NULL);
    ck_assert_msg(memcmp(&back, &ref, sizeof back) == 0, "%s read as %a, not %a", want, back, ref);
}

START_TEST(number_text_is_the_shortest_that_reads_back)
{
    uint64_t s = 88172645463325252u;
    for (int i = 0; i < 60000; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        double x;
        memcpy(&x, &s, sizeof x);
        check_num_text(x);
        int digits = 1 + (int)(s % 17), exp10 = (int)(s >> 8 & 63) - 32;
        double d = floor(fmod((double)(s >> 11), pow(10, digits))) * pow(10, exp10);
        check_num_text(d);
        check_num_text(nextafter(d, 0));
        check_num_text(nextafter(d, INFINITY));
    }
    for (int e = -1074; e <= 1023; e++) {
        double x = ldexp(1, e);
        check_num_text(x);
        check_num_text(-x);
        check_num_text(nextafter(x, 0));
        check_num_text(nextafter(x, INFINITY));
    }
    for (int k = 0; k < 20000; k++) {
        check_num_text(k);
        check_num_text(k / 8.0);
        check_num_text(10000005.0 + 10 * k);     /* ties at 7 digits */
        check_num_text(k * 1e-7);
    }
    double edge[] = { 0.0, -0.0, 5e-324, 1.7976931348623157e308, 0.1, 1e22, 1e23, 999999.5, 9.9999995,
                      0.00009999995, 2.0573371410369874, 0.010066632000075515, 30, 32.5 };
    for (size_t k = 0; k < sizeof edge / sizeof edge[0]; k++)
        check_num_text(edge[k]);
    const char *odd[] = { "-0", "0", ".5", "5.", "-.5", "0x10", "+5", "1e+5", "1E-5", "00012", "true",
                          "1e400", "1e-400", "9007199254740993", "900719925474099.3", "0.1e23", "12e-22" };
    for (size_t k = 0; k < sizeof odd / sizeof odd[0]; k++) {
        double back = ein_num_parse(odd[k]), ref = strtod(odd[k], NULL);
        ck_assert_msg(memcmp(&back, &ref, sizeof back) == 0, "%s read as %a, not %a", odd[k], back, ref);
    }
}
END_TEST

Suite *ein_test_suite(void)
{
    Suite *s = suite_create("results");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, append_and_read_back);
    tcase_add_test(tc, torn_last_line_ignored_and_repaired);
    tcase_add_test(tc, json_escaping);
    tcase_add_test(tc, config_recorded_and_differing_settings);
    tcase_add_test(tc, summary_csv_columns_and_values);
    tcase_add_test(tc, source_hash_and_fresh_moves_aside);
    tcase_add_test(tc, full_disk_clear_error_records_intact);
    suite_add_tcase(s, tc);
    TCase *num = tcase_create("numbers");   /* 300 000 numbers: minutes under ASan on a busy machine */
    tcase_set_timeout(num, 300);
    tcase_add_test(num, number_text_is_the_shortest_that_reads_back);
    suite_add_tcase(s, num);
    return s;
}
