/* check_runner.c — the worker pool with an injected cell function: every
 * cell recorded once, a crashing worker fails only its cell, fail-fast,
 * kill -9 then resume, Ctrl-C, a full disk, --where filters. */
#include <cblas.h>
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "ein/blas.h"
#include "ein/data.h"
#include "ein/progress.h"
#include "ein/graph.h"
#include "ein/runner.h"
#include "testutil.h"

typedef struct fake {
    int crash_index;        /* this cell abort()s; -1 none */
    int fail_index;         /* this cell returns an error; -1 none */
    int sleep_ms;           /* per epoch */
    int epochs;
} fake;

static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static ein_code fake_cell(void *ctx, const ein_cell *cell, const ein_train_hooks *hooks,
                          ein_cell_result *res, ein_err *err)
{
    const fake *f = ctx;
    memset(res, 0, sizeof *res);
    if (cell->index == f->fail_index)
        return ein_err_set(err, EIN_ERR_DATA, "cell %d: bad data", cell->index);
    for (int e = 1; e <= f->epochs; e++) {
        if (cell->index == f->crash_index && e == 2)
            abort();
        sleep_ms(f->sleep_ms);
        ein_epoch_metrics m;
        memset(&m, 0, sizeof m);
        m.epoch = e;
        m.test_acc = 50 + cell->index + e;
        m.train_acc = m.test_acc + 1;
        m.n_hidden = 1;
        m.layer[0].mean = 0.5;
        if (hooks->on_epoch)
            hooks->on_epoch(hooks->ctx, &m);
        res->epochs_done = e;
        res->final = m;
        res->best = m;
        if (*hooks->stop) {
            res->status = EIN_CELL_INTERRUPTED;
            return EIN_OK;
        }
    }
    res->status = EIN_CELL_OK;
    return EIN_OK;
}

/* Wait (up to 10 s) until DIR/FILE has at least n lines: timing-independent tests. */
/* Wait until the record files of `file` ("cells.jsonl": DIR/cells.jsonl and
 * every shard's) hold n lines. */
static void wait_lines(const char *dir, const char *file, int n)
{
    char kind[32];
    snprintf(kind, sizeof kind, "%.*s", (int)strcspn(file, "."), file);
    for (int tries = 0; tries < 1000; tries++) {
        if (tu_count_record_lines(dir, kind, NULL, NULL) >= n)
            return;
        sleep_ms(10);
    }
}

static ein_cell_list make_list(int n)
{
    ein_cell_list l;
    memset(&l, 0, sizeof l);
    snprintf(l.experiment, sizeof l.experiment, "fake");
    l.n = n;
    l.cells = calloc((size_t)n, sizeof *l.cells);
    for (int i = 0; i < n; i++) {
        ein_cell *c = &l.cells[i];
        snprintf(c->id, sizeof c->id, "%016x", 0xabc000 + i);
        c->index = i;
        c->n_bindings = 2;
        c->bindings = calloc(2, sizeof *c->bindings);
        snprintf(c->bindings[0].name, EIN_NAME_MAX, "variant");
        snprintf(c->bindings[0].text, EIN_VALUE_TEXT_MAX, "\"%s\"", i % 2 ? "inorm_gn" : "ln");
        snprintf(c->bindings[1].name, EIN_NAME_MAX, "eps");
        c->bindings[1].number = 0.25 * (i / 2);
        c->bindings[1].is_number = true;
        snprintf(c->bindings[1].text, EIN_VALUE_TEXT_MAX, "%g", c->bindings[1].number);
        ein_cell_config cfg;
        ein_config_defaults(&cfg);
        ck_assert(ein_cell_list_store_config(&l, c, &cfg));
    }
    return l;
}

static ein_run_options options(fake *f, int jobs)
{
    ein_run_options o;
    memset(&o, 0, sizeof o);
    o.jobs = jobs;
    o.blas_threads = 1;
    o.run_cell = fake_cell;
    o.ctx = f;
    return o;
}

static int all_indexes(int n, int *todo)
{
    for (int i = 0; i < n; i++)
        todo[i] = i;
    return n;
}

/* Lines of cells.jsonl that hold `id` and `"status":"<st>"`. */
static int count_records(const char *dir, const char *id, const char *st)
{
    char path[512], pat[64];
    snprintf(path, sizeof path, "%s/cells.jsonl", dir);
    snprintf(pat, sizeof pat, "\"status\":\"%s\"", st);
    char *t = tu_read_file(path, NULL);
    int n = 0;
    for (char *line = t; line && *line;) {
        char *nl = strchr(line, '\n');
        if (!nl)
            break;
        *nl = '\0';
        if (strstr(line, id) && strstr(line, pat))
            n++;
        line = nl + 1;
    }
    free(t);
    return n;
}

START_TEST(runs_every_cell_once)
{
    char *dir = tu_mkdtemp();
    ein_cell_list l = make_list(6);
    fake f = { -1, -1, 5, 3 };
    ein_run_options o = options(&f, 2);
    ein_err err = {0};
    ein_results *r = ein_results_open(dir, false, NULL, &err);
    int todo[6];
    ein_run_totals t;
    ck_assert_int_eq(ein_runner_run(&l, todo, all_indexes(6, todo), r, &o, &t, &err), EIN_OK);
    ck_assert_int_eq(t.ok, 6);
    for (int i = 0; i < 6; i++)
        ck_assert_int_eq(count_records(dir, l.cells[i].id, "ok"), 1);
    ein_record_list rec;
    ck_assert_int_eq(ein_results_read(dir, &rec, &err), EIN_OK);
    const ein_record *x = ein_record_find(&rec, l.cells[4].id);
    ck_assert(x->final_test_acc == 50 + 4 + 3);
    ck_assert_int_eq(x->epochs, 3);
    ck_assert_str_eq(x->run, t.run);
    ck_assert_int_eq(ein_runner_pending(&l, &rec, todo), 0);
    ein_record_list_free(&rec);
    char path[512];
    snprintf(path, sizeof path, "%s/epochs.jsonl", dir);
    char *e = tu_read_file(path, NULL);
    int lines = 0;
    for (char *p = e; *p; p++)
        lines += *p == '\n';
    ck_assert_int_eq(lines, 18);
    free(e);
    snprintf(path, sizeof path, "%s/configs/%s.txt", dir, l.cells[0].id);
    ck_assert_int_eq(access(path, F_OK), 0);
    ein_results_close(r);
    ein_cell_list_free(&l);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* A cell that reports, as its accuracy, the OpenBLAS threads it runs with. */
static ein_code threads_cell(void *ctx, const ein_cell *cell, const ein_train_hooks *hooks,
                             ein_cell_result *res, ein_err *err)
{
    (void)ctx, (void)cell, (void)hooks, (void)err;
    memset(res, 0, sizeof *res);
    res->status = EIN_CELL_OK;
    res->epochs_done = 1;
    res->final.epoch = res->best.epoch = 1;
    res->final.test_acc = res->best.test_acc = openblas_get_num_threads();
    return EIN_OK;
}

/* One BLAS thread per worker whatever --jobs is, so a cell's numbers do not
 * depend on how many cells run beside it (issue 4); the user's explicit
 * OPENBLAS_NUM_THREADS wins. */
START_TEST(one_blas_thread_per_worker)
{
    unsetenv("OPENBLAS_NUM_THREADS");
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1)
            setenv("OPENBLAS_NUM_THREADS", "2", 1);
        char *dir = tu_mkdtemp();
        ein_cell_list l = make_list(2);
        ein_run_options o;
        memset(&o, 0, sizeof o);
        o.jobs = 1;
        o.run_cell = threads_cell;
        o.set_threads = ein_blas_set_threads;
        ein_err err = {0};
        ein_results *r = ein_results_open(dir, false, NULL, &err);
        int todo[2];
        ein_run_totals t;
        ck_assert_int_eq(ein_runner_run(&l, todo, all_indexes(2, todo), r, &o, &t, &err), EIN_OK);
        ein_record_list rec;
        ck_assert_int_eq(ein_results_read(dir, &rec, &err), EIN_OK);
        for (int i = 0; i < 2; i++)
            ck_assert_msg(ein_record_find(&rec, l.cells[i].id)->final_test_acc == (pass == 0 ? 1 : 2),
                          "pass %d: worker ran with %g BLAS threads", pass,
                          ein_record_find(&rec, l.cells[i].id)->final_test_acc);
        ein_record_list_free(&rec);
        ein_results_close(r);
        ein_cell_list_free(&l);
        tu_rmtree(dir);
        free(dir);
    }
}
END_TEST

START_TEST(crashing_worker_fails_only_its_cell)
{
    char *dir = tu_mkdtemp();
    ein_cell_list l = make_list(5);
    fake f = { 2, 3, 5, 3 };
    ein_run_options o = options(&f, 2);
    ein_err err = {0};
    ein_results *r = ein_results_open(dir, false, NULL, &err);
    int todo[5];
    ein_run_totals t;
    ck_assert_int_eq(ein_runner_run(&l, todo, all_indexes(5, todo), r, &o, &t, &err), EIN_OK);
    ck_assert_int_eq(t.ok, 3);
    ck_assert_int_eq(t.failed, 2);
    ein_record_list rec;
    ein_results_read(dir, &rec, &err);
    const ein_record *c2 = ein_record_find(&rec, l.cells[2].id);
    ck_assert_str_eq(c2->status, "failed");
    ck_assert_msg(strstr(c2->message, "worker killed by SIGABRT") != NULL, "%s", c2->message);
    ck_assert_int_eq(c2->epochs, 1);                 /* the epoch it finished is kept */
    const ein_record *c3 = ein_record_find(&rec, l.cells[3].id);
    ck_assert_str_eq(c3->status, "failed");
    ck_assert_str_eq(c3->message, "cell 3: bad data");
    ck_assert_str_eq(ein_record_find(&rec, l.cells[4].id)->status, "ok");
    /* resume reruns exactly the failed ones */
    ck_assert_int_eq(ein_runner_pending(&l, &rec, todo), 2);
    ck_assert_int_eq(todo[0], 2);
    ck_assert_int_eq(todo[1], 3);
    ein_record_list_free(&rec);
    ein_results_close(r);
    ein_cell_list_free(&l);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(fail_fast_stops_launching)
{
    char *dir = tu_mkdtemp();
    ein_cell_list l = make_list(4);
    fake f = { -1, 0, 1, 1 };
    ein_run_options o = options(&f, 1);
    o.fail_fast = true;
    ein_err err = {0};
    ein_results *r = ein_results_open(dir, false, NULL, &err);
    int todo[4];
    ein_run_totals t;
    ck_assert_int_eq(ein_runner_run(&l, todo, all_indexes(4, todo), r, &o, &t, &err), EIN_OK);
    ck_assert_int_eq(t.failed, 1);
    ck_assert_int_eq(t.ok, 0);
    ck_assert_int_eq(t.not_started, 3);
    ein_results_close(r);
    ein_cell_list_free(&l);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(kill9_then_resume_loses_and_duplicates_nothing)
{
    char *dir = tu_mkdtemp();
    ein_cell_list l = make_list(8);
    fake f = { -1, -1, 40, 3 };
    int todo[8];
    pid_t pid = fork();
    if (pid == 0) {
        ein_err err = {0};
        ein_results *r = ein_results_open(dir, false, NULL, &err);
        ein_run_options o = options(&f, 2);
        ein_run_totals t;
        ein_runner_run(&l, todo, all_indexes(8, todo), r, &o, &t, &err);
        _exit(0);
    }
    wait_lines(dir, "cells.jsonl", 3);   /* some cells done, two running */
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    ck_assert(WIFSIGNALED(status));
    sleep_ms(50);           /* the workers die with their supervisor */
    ein_err err = {0};
    ein_results *r = ein_results_open(dir, false, NULL, &err);
    ein_record_list rec;
    ein_results_read(dir, &rec, &err);
    int before = rec.n;
    ck_assert_msg(before > 0 && before < 8, "%d cells were recorded before the kill", before);
    int n = ein_runner_pending(&l, &rec, todo);
    ck_assert_int_eq(n, 8 - before);
    ein_record_list_free(&rec);
    ein_run_options o = options(&f, 2);
    ein_run_totals t;
    ck_assert_int_eq(ein_runner_run(&l, todo, n, r, &o, &t, &err), EIN_OK);
    ck_assert_int_eq(t.ok, 8 - before);
    for (int i = 0; i < 8; i++)
        ck_assert_int_eq(count_records(dir, l.cells[i].id, "ok"), 1);
    ein_results_read(dir, &rec, &err);
    ck_assert_int_eq(rec.n, 8);
    ck_assert_int_eq(rec.n_bad, 0);
    ein_record_list_free(&rec);
    ein_results_close(r);
    ein_cell_list_free(&l);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* Run the grid in a child with the signal handlers; send `nsig` SIGINTs. */
static void interrupt_run(int nsig, int sig, ein_run_totals *out_t, int *out_rc, char *dir)
{
    ein_cell_list l = make_list(6);
    fake f = { -1, -1, 100, 5 };
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        ein_runner_install_signals();
        ein_err err = {0};
        ein_results *r = ein_results_open(dir, false, NULL, &err);
        ein_run_options o = options(&f, 2);
        ein_run_totals t;
        int todo[6];
        ein_code c = ein_runner_run(&l, todo, all_indexes(6, todo), r, &o, &t, &err);
        if (write(p[1], &t, sizeof t) < 0) { /* the parent's read then fails */ }
        _exit(ein_exit_status(c));
    }
    close(p[1]);
    wait_lines(dir, "epochs.jsonl", 2);  /* both workers past epoch 1 */
    for (int i = 0; i < nsig; i++) {
        kill(pid, sig);
        sleep_ms(20);
    }
    ck_assert_int_eq(read(p[0], out_t, sizeof *out_t), (ssize_t)sizeof *out_t);
    close(p[0]);
    int status;
    waitpid(pid, &status, 0);
    *out_rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    ein_cell_list_free(&l);
}

START_TEST(ctrl_c_finishes_the_epoch_and_records_interrupted)
{
    char *dir = tu_mkdtemp();
    ein_run_totals t;
    int rc;
    interrupt_run(1, SIGINT, &t, &rc, dir);
    ck_assert_int_eq(rc, 130);
    ck_assert_int_eq(t.interrupted, 2);
    ck_assert_int_eq(t.not_started, 4);
    ein_err err = {0};
    ein_record_list rec;
    ein_results_read(dir, &rec, &err);
    ck_assert_int_eq(rec.n, 2);
    for (int i = 0; i < rec.n; i++) {
        ck_assert_str_eq(rec.rec[i].status, "interrupted");
        /* it finished the epoch it was in, and no more */
        ck_assert(rec.rec[i].epochs >= 1 && rec.rec[i].epochs <= 3);
    }
    ein_record_list_free(&rec);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(second_ctrl_c_stops_at_once)
{
    char *dir = tu_mkdtemp();
    ein_run_totals t;
    int rc;
    interrupt_run(2, SIGINT, &t, &rc, dir);
    ck_assert_int_eq(rc, 130);
    ck_assert_int_eq(t.interrupted, 2);
    ein_err err = {0};
    ein_record_list rec;
    ein_results_read(dir, &rec, &err);
    ck_assert_int_eq(rec.n, 2);
    ck_assert_str_eq(rec.rec[0].status, "interrupted");
    ck_assert(rec.rec[0].epochs < 5);               /* killed mid-cell */
    ck_assert_ptr_nonnull(strstr(rec.rec[0].message, "worker killed"));
    ein_record_list_free(&rec);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(sigterm_stops_at_once)
{
    char *dir = tu_mkdtemp();
    ein_run_totals t;
    int rc;
    interrupt_run(1, SIGTERM, &t, &rc, dir);
    ck_assert_int_eq(rc, 130);
    ck_assert_int_eq(t.interrupted, 2);
    ck_assert_int_eq(t.not_started, 4);
    ein_err err = {0};
    ein_record_list rec;
    ein_results_read(dir, &rec, &err);
    ck_assert_int_eq(rec.n, 2);
    ck_assert_ptr_nonnull(strstr(rec.rec[1].message, "worker killed"));
    ein_record_list_free(&rec);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* issue 16 row 16: a hang-up (terminal or ssh session closed) is SIGTERM:
 * the running cells are recorded interrupted and einrun exits 130 (it used
 * to die of the signal, 129, with no record of the running cells). */
START_TEST(sighup_stops_at_once_like_sigterm)
{
    char *dir = tu_mkdtemp();
    ein_run_totals t;
    int rc;
    interrupt_run(1, SIGHUP, &t, &rc, dir);
    ck_assert_int_eq(rc, 130);
    ck_assert_int_eq(t.interrupted, 2);
    ck_assert_int_eq(t.not_started, 4);
    ein_err err = {0};
    ein_record_list rec;
    ein_results_read(dir, &rec, &err);
    ck_assert_int_eq(rec.n, 2);
    ck_assert_str_eq(rec.rec[0].status, "interrupted");
    ck_assert_str_eq(rec.rec[1].status, "interrupted");
    ein_record_list_free(&rec);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(full_disk_stops_with_io_error)
{
    char *dir = tu_mkdtemp();
    ein_cell_list l = make_list(6);
    fake f = { -1, -1, 1, 3 };
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit rl = { 3000, 3000 };      /* a few records fit, then the disk is "full" */
        setrlimit(RLIMIT_FSIZE, &rl);
        ein_err err = {0};
        ein_results *r = ein_results_open(dir, false, NULL, &err);
        ein_run_options o = options(&f, 1);
        ein_run_totals t;
        int todo[6];
        ein_code c = ein_runner_run(&l, todo, all_indexes(6, todo), r, &o, &t, &err);
        if (write(p[1], err.msg, strlen(err.msg) + 1) < 0) { /* parent's read fails */ }
        _exit(ein_exit_status(c));
    }
    close(p[1]);
    char msg[1024] = "";
    ck_assert(read(p[0], msg, sizeof msg - 1) > 0);
    close(p[0]);
    int status;
    waitpid(pid, &status, 0);
    ck_assert(WIFEXITED(status));
    ck_assert_int_eq(WEXITSTATUS(status), 74);
    ck_assert_msg(strstr(msg, ".jsonl: write failed: File too large") != NULL, "%s", msg);
    ein_err err = {0};
    ein_record_list rec;
    ck_assert_int_eq(ein_results_read(dir, &rec, &err), EIN_OK);
    ck_assert_int_eq(rec.n_bad, 0);                  /* whole records only */
    ck_assert(rec.n < 6);
    int ok = 0;
    for (int i = 0; i < rec.n; i++) {
        ok += strcmp(rec.rec[i].status, "ok") == 0;
        /* the running cell is stopped with the run and recorded if its record still fits */
        ck_assert(strcmp(rec.rec[i].status, "ok") == 0 || strcmp(rec.rec[i].status, "interrupted") == 0);
    }
    ck_assert_int_ge(ok, 1);
    ein_record_list_free(&rec);
    ein_cell_list_free(&l);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(where_filters)
{
    ein_cell_list l = make_list(6);   /* variant ln/inorm_gn alternating, eps 0 0 .25 .25 .5 .5 */
    ein_err err = {0};
    int hits = 0;
    for (int i = 0; i < 6; i++)
        hits += ein_cell_matches(&l.cells[i], "eps=0.25,variant=inorm_gn", &err);
    ck_assert_int_eq(hits, 1);
    ck_assert_int_eq(ein_cell_matches(&l.cells[3], "eps=0.250, variant=\"inorm_gn\"", &err), 1);
    ck_assert_int_eq(ein_cell_matches(&l.cells[2], "eps=0.25,eps=0.5", &err), 1);
    ck_assert_int_eq(ein_cell_matches(&l.cells[4], "eps=0.25,eps=0.5", &err), 1);
    ck_assert_int_eq(ein_cell_matches(&l.cells[0], "eps=0.25,eps=0.5", &err), 0);
    ck_assert_int_eq(ein_cell_matches(&l.cells[0], "seed=1", &err), 0);
    ck_assert_int_eq(ein_cell_matches(&l.cells[0], "eps", &err), -1);
    ck_assert_str_eq(err.msg, "--where: expected name=value, got 'eps'");
    ein_cell_list_free(&l);
}
END_TEST

START_TEST(progress_lines_in_a_pipe)
{
    ein_cell_list l = make_list(2);
    ein_cell_config cfg;
    ein_config_defaults(&cfg);
    cfg.train.epochs = 4;
    ck_assert(ein_cell_list_store_config(&l, &l.cells[1], &cfg));
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    ein_progress *p = ein_progress_new(2, 4, f, NULL, false);
    ein_progress_on_start(p, &l.cells[1]);
    ein_epoch_metrics m;
    memset(&m, 0, sizeof m);
    m.epoch = 2;
    m.train_acc = 81.25;
    m.test_acc = 80.5;
    m.task_loss = 0.51234;
    m.inorm_loss = 0.25;
    m.seconds = 3.21;
    ein_progress_on_epoch(p, &l.cells[1], &m);
    ein_cell_result r;
    memset(&r, 0, sizeof r);
    r.status = EIN_CELL_FAILED;
    snprintf(r.message, sizeof r.message, "worker killed by SIGSEGV (signal 11) after 0 epochs");
    r.seconds = 0.5;
    ein_progress_on_done(p, &l.cells[1], &r);
    ein_progress_finish(p);
    ein_progress_free(p);
    fclose(f);
    ck_assert_str_eq(text,
        "00000000 variant=\"inorm_gn\" eps=0  epoch 2/4  train 81.25%  test 80.50%  loss 0.5123"
        "  inorm 0.2500  3.2s\n"
        "00000000 variant=\"inorm_gn\" eps=0  failed  0.5s  worker killed by SIGSEGV (signal 11) after 0 epochs\n");
    free(text);
    ein_cell_list_free(&l);
}
END_TEST

/* --- the real einrun on tiny synthetic IDX data ------------------------ */

static void write_tiny_grid(const char *dir, int n_train, int epochs)
{
    ck_assert_int_eq(tu_write_tiny_grid(dir, n_train, epochs, NULL), 0);
}

START_TEST(einrun_kill9_then_rerun)
{
    char *dir = tu_mkdtemp();
    write_tiny_grid(dir, 600, 12);
    char file[700], res[600];
    snprintf(file, sizeof file, "%s/grid.ein", dir);
    snprintf(res, sizeof res, "%s/results", dir);
    pid_t pid = fork();
    if (pid == 0) {
        freopen("/dev/null", "w", stdout);
        freopen("/dev/null", "w", stderr);
        execl(tu_einrun(), "einrun", file, "--jobs", "2", (char *)NULL);
        _exit(127);
    }
    wait_lines(res, "cells.jsonl", 2);
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    ck_assert_msg(WIFSIGNALED(status), "einrun finished before the kill: make the cells longer");
    ein_err err = {0};
    ein_record_list rec;
    ein_results_read(res, &rec, &err);
    int before = rec.n;
    ein_record_list_free(&rec);
    ck_assert_msg(before >= 2 && before < 8, "%d cells recorded before the kill", before);
    char cmd[1400], *out = NULL;
    snprintf(cmd, sizeof cmd, "%s %s --jobs 2 --quiet", tu_einrun(), file);
    int rc = tu_run(cmd, &out);
    ck_assert_msg(rc == 0, "%s", out);
    char want[64];
    snprintf(want, sizeof want, "%d of 8 cells already finished, %d to run", before, 8 - before);
    ck_assert_msg(strstr(out, want) != NULL, "%s", out);
    free(out);
    ck_assert_int_eq(ein_results_read(res, &rec, &err), EIN_OK);
    ck_assert_int_eq(rec.n, 8);
    ck_assert_int_eq(rec.n_bad, 0);
    for (int i = 0; i < 8; i++) {
        ck_assert_str_eq(rec.rec[i].status, "ok");
        ck_assert_int_eq(count_records(res, rec.rec[i].id, "ok"), 1);
        ck_assert_int_eq(rec.rec[i].epochs, 12);
    }
    ein_record_list_free(&rec);
    /* summary.csv: header plus 8 rows */
    snprintf(file, sizeof file, "%s/summary.csv", res);
    char *csv = tu_read_file(file, NULL);
    ck_assert_ptr_nonnull(csv);
    /* the axes, then the settings they change (issue 11: never pool configurations) */
    const char *head = "id,experiment,eps,variant,seed,data.eps,hidden.0.fwd,train.seed,status,epochs,"
                       "final_test_acc,";
    ck_assert_msg(strncmp(csv, head, strlen(head)) == 0, "%s", csv);
    int lines = 0;
    for (char *p = csv; *p; p++)
        lines += *p == '\n';
    ck_assert_int_eq(lines, 9);
    free(csv);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(einrun_dry_run_where_and_missing_data)
{
    char *dir = tu_mkdtemp();
    write_tiny_grid(dir, 20, 1);
    char cmd[1400], *out = NULL;
    snprintf(cmd, sizeof cmd, "%s %s/grid.ein --dry-run --where 'eps=0.5,variant=none'",
             tu_einrun(), dir);
    ck_assert_int_eq(tu_run(cmd, &out), 0);
    ck_assert_msg(strstr(out, "tiny: 2 cells\n") && strstr(out, "(2 of 8 cells selected)"), "%s", out);
    ck_assert_ptr_null(strstr(out, "variant=layernorm"));
    free(out);
    snprintf(cmd, sizeof cmd, "%s %s/grid.ein --dry-run --where 'epz=0.5'", tu_einrun(), dir);
    ck_assert_int_eq(tu_run(cmd, &out), 64);
    ck_assert_msg(strstr(out, "--where: no axis named 'epz'; the cells bind: eps variant seed") != NULL,
                  "%s", out);
    free(out);
    snprintf(cmd, sizeof cmd, "%s %s/grid.ein --dry-run --max-cells 3", tu_einrun(), dir);
    ck_assert_int_eq(tu_run(cmd, &out), 0);
    ck_assert_ptr_nonnull(strstr(out, "tiny: 3 cells"));
    free(out);
    /* a missing data file: the data error, before any cell runs */
    char path[600];
    snprintf(path, sizeof path, "%s/t10k-labels-idx1-ubyte", dir);
    unlink(path);
    snprintf(cmd, sizeof cmd, "%s %s/grid.ein --jobs 1", tu_einrun(), dir);
    int rc = tu_run(cmd, &out);
    ck_assert_msg(rc == 74 && strstr(out, "t10k-labels-idx1-ubyte") != NULL, "rc %d: %s", rc, out);
    free(out);
    snprintf(path, sizeof path, "%s/results/cells.jsonl", dir);
    ck_assert_int_ne(access(path, F_OK), 0);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

Suite *ein_test_suite(void)
{
    Suite *s = suite_create("runner");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, runs_every_cell_once);
    tcase_add_test(tc, one_blas_thread_per_worker);
    tcase_add_test(tc, crashing_worker_fails_only_its_cell);
    tcase_add_test(tc, fail_fast_stops_launching);
    tcase_add_test(tc, kill9_then_resume_loses_and_duplicates_nothing);
    tcase_add_test(tc, ctrl_c_finishes_the_epoch_and_records_interrupted);
    tcase_add_test(tc, second_ctrl_c_stops_at_once);
    tcase_add_test(tc, sigterm_stops_at_once);
    tcase_add_test(tc, sighup_stops_at_once_like_sigterm);
    tcase_add_test(tc, full_disk_stops_with_io_error);
    tcase_add_test(tc, where_filters);
    tcase_add_test(tc, progress_lines_in_a_pipe);
    suite_add_tcase(s, tc);
    TCase *cli = tcase_create("einrun");
    tcase_set_timeout(cli, 60);
    tcase_add_test(cli, einrun_kill9_then_rerun);
    tcase_add_test(cli, einrun_dry_run_where_and_missing_data);
    suite_add_tcase(s, cli);
    return s;
}
