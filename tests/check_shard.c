/* check_shard.c — many writers on one results folder: claims (take, busy,
 * done, stale on this host and on another, pid reuse), the one loading
 * function merging shards, the merged view, --shard K/N partitions of every
 * example, two and three einrun processes at once, and kill -9 of a writer
 * mid-cell taken over by another. */
#include <check.h>
#include <limits.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "ein/blas.h"
#include "ein/claim.h"
#include "ein/config.h"
#include "ein/cost.h"
#include "ein/results.h"
#include "ein/runner.h"
#include "ein/shard.h"
#include "testutil.h"

static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static void write_text(const char *dir, const char *name, const char *text)
{
    char path[2400];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    ck_assert_int_eq(tu_write_file(path, text, strlen(text)), 0);
}

/* --- claims ------------------------------------------------------------- */

#define ID_A "00000000000000aa"

START_TEST(claim_take_busy_done_release)
{
    char *dir = tu_mkdtemp();
    ein_err err = {0};
    ein_claims *a = ein_claims_open(dir, "runA", &err), *b = ein_claims_open(dir, "runB", &err);
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    ein_claim_state st;
    ein_claim_info who;
    ck_assert_int_eq(ein_claim_take(a, ID_A, &st, &who, &err), EIN_OK);
    ck_assert_int_eq(st, EIN_CLAIM_MINE);
    ck_assert(!who.stale);
    /* b (this very process is alive, so the claim is not stale) must wait */
    ck_assert_int_eq(ein_claim_take(b, ID_A, &st, &who, &err), EIN_OK);
    ck_assert_int_eq(st, EIN_CLAIM_BUSY);
    ck_assert_str_eq(who.run, "runA");
    ck_assert_int_eq(who.pid, (long)getpid());
    /* released (a failed cell): b gets it */
    ein_claim_release(a, ID_A);
    ck_assert_int_eq(ein_claim_take(b, ID_A, &st, &who, &err), EIN_OK);
    ck_assert_int_eq(st, EIN_CLAIM_MINE);
    /* a's release of a claim that is no longer its own removes nothing */
    ein_claim_release(a, ID_A);
    ein_claim_info ci;
    ck_assert_int_eq(ein_claim_read(dir, ID_A, &ci), 1);
    ck_assert_str_eq(ci.run, "runB");
    /* done: nobody starts it again, and the marker says how it ended */
    ck_assert_int_eq(ein_claim_done(b, ID_A, "diverged", &err), EIN_OK);
    ck_assert_int_eq(ein_claim_take(a, ID_A, &st, &who, &err), EIN_OK);
    ck_assert_int_eq(st, EIN_CLAIM_DONE);
    ck_assert(who.done);
    ck_assert_str_eq(who.status, "diverged");
    /* close releases what is still held */
    ck_assert_int_eq(ein_claim_take(a, "00000000000000bb", &st, NULL, &err), EIN_OK);
    ck_assert_int_eq(st, EIN_CLAIM_MINE);
    ein_claims_close(a);
    ck_assert_int_eq(ein_claim_read(dir, "00000000000000bb", &ci), 0);
    ein_claims_close(b);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* A pid that ran and is gone now. */
static long dead_pid(void)
{
    pid_t p = fork();
    if (p == 0)
        _exit(0);
    waitpid(p, NULL, 0);
    return (long)p;
}

START_TEST(claim_stale_on_this_host_is_taken_over)
{
    char *dir = tu_mkdtemp();
    ein_err err = {0};
    ein_claims *c = ein_claims_open(dir, "runC", &err);
    char host[64], line[512], name[64];
    ein_host_name(host, sizeof host);
    /* 1. its pid is gone */
    snprintf(line, sizeof line, "host=%s pid=%ld pid_start=1 boot=- run=old claimed=1\n", host, dead_pid());
    snprintf(name, sizeof name, "claims/%s.claim", ID_A);
    write_text(dir, name, line);
    ein_claim_state st;
    ein_claim_info who;
    ck_assert_int_eq(ein_claim_take(c, ID_A, &st, &who, &err), EIN_OK);
    ck_assert_int_eq(st, EIN_CLAIM_MINE);
    ck_assert(who.stale);
    ck_assert_msg(strstr(who.why, "is gone") != NULL, "%s", who.why);
    ein_claim_info ci;
    ck_assert_int_eq(ein_claim_read(dir, ID_A, &ci), 1);
    ck_assert_str_eq(ci.run, "runC");
    /* 2. its pid runs, but is another process now (pid reuse): our own pid, wrong start time */
    snprintf(line, sizeof line, "host=%s pid=%ld pid_start=1 boot=- run=old2 claimed=1\n", host,
             (long)getpid());
    snprintf(name, sizeof name, "claims/%s.claim", "00000000000000bb");
    write_text(dir, name, line);
    ck_assert_int_eq(ein_claim_take(c, "00000000000000bb", &st, &who, &err), EIN_OK);
    ck_assert_int_eq(st, EIN_CLAIM_MINE);
    ck_assert_msg(strstr(who.why, "another process now") != NULL, "%s", who.why);
    /* no stale files left behind */
    char path[700];
    snprintf(path, sizeof path, "%s/claims/%s.claim.stale.runC", dir, ID_A);
    ck_assert_int_ne(access(path, F_OK), 0);
    ein_claims_close(c);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(claim_of_another_host_goes_stale_without_heartbeat)
{
    char *dir = tu_mkdtemp();
    ein_err err = {0};
    setenv("EIN_CLAIM_TIMEOUT", "60", 1);
    ein_claims *c = ein_claims_open(dir, "runD", &err);
    char name[64], path[700];
    snprintf(name, sizeof name, "claims/%s.claim", ID_A);
    write_text(dir, name, "host=othernode pid=1 pid_start=5 boot=x run=far claimed=1\n");
    ein_claim_state st;
    ein_claim_info who;
    ck_assert_int_eq(ein_claim_take(c, ID_A, &st, &who, &err), EIN_OK);
    ck_assert_int_eq(st, EIN_CLAIM_BUSY);             /* fresh heartbeat: alive */
    ck_assert_str_eq(who.host, "othernode");
    /* 59 s without a heartbeat: still alive; 61 s: stale */
    snprintf(path, sizeof path, "%s/%s", dir, name);
    struct timespec ts[2];
    clock_gettime(CLOCK_REALTIME, &ts[0]);
    ts[0].tv_sec -= 59;
    ts[1] = ts[0];
    ck_assert_int_eq(utimensat(AT_FDCWD, path, ts, 0), 0);
    ck_assert_int_eq(ein_claim_take(c, ID_A, &st, &who, &err), EIN_OK);
    ck_assert_int_eq(st, EIN_CLAIM_BUSY);
    ts[0].tv_sec -= 2;
    ts[1] = ts[0];
    ck_assert_int_eq(utimensat(AT_FDCWD, path, ts, 0), 0);
    ck_assert_int_eq(ein_claim_take(c, ID_A, &st, &who, &err), EIN_OK);
    ck_assert_int_eq(st, EIN_CLAIM_MINE);
    ck_assert_msg(strstr(who.why, "no heartbeat from othernode for 61 s") != NULL, "%s", who.why);
    /* our heartbeat keeps our own claim fresh (every timeout/10, at least every second) */
    ein_claims_close(c);
    setenv("EIN_CLAIM_TIMEOUT", "5", 1);
    c = ein_claims_open(dir, "runD2", &err);
    ck_assert_int_eq(ein_claim_take(c, "00000000000000cc", &st, NULL, &err), EIN_OK);
    ck_assert_int_eq(st, EIN_CLAIM_MINE);
    snprintf(path, sizeof path, "%s/claims/00000000000000cc.claim", dir);
    clock_gettime(CLOCK_REALTIME, &ts[0]);
    ts[0].tv_sec -= 30;
    ts[1] = ts[0];
    ck_assert_int_eq(utimensat(AT_FDCWD, path, ts, 0), 0);
    ein_claims_heartbeat(c);                           /* not due yet: untouched */
    struct stat sb;
    ck_assert_int_eq(stat(path, &sb), 0);
    ck_assert_int_ge(time(NULL) - sb.st_mtime, 29);
    sleep_ms(1100);
    ein_claims_heartbeat(c);
    ck_assert_int_eq(stat(path, &sb), 0);
    ck_assert_msg(time(NULL) - sb.st_mtime <= 2, "heartbeat did not touch the claim");
    ein_claims_close(c);
    unsetenv("EIN_CLAIM_TIMEOUT");
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* A cell function that must not run. */
static ein_code never_cell(void *ctx, const ein_cell *cell, const ein_train_hooks *hooks,
                           ein_cell_result *res, ein_err *err)
{
    (void)ctx; (void)cell; (void)hooks; (void)err;
    memset(res, 0, sizeof *res);
    res->status = EIN_CELL_FAILED;
    snprintf(res->message, sizeof res->message, "ran a finished cell");
    return EIN_OK;
}

/* The owner recorded the result, then died before marking its claim done:
 * the writer that takes the claim over sees the record and does not rerun. */
START_TEST(takeover_of_a_recorded_cell_does_not_rerun_it)
{
    char *dir = tu_mkdtemp();
    ein_err err = {0};
    ein_cell_list l;
    memset(&l, 0, sizeof l);
    snprintf(l.experiment, sizeof l.experiment, "fake");
    l.n = 1;
    l.cells = calloc(1, sizeof *l.cells);
    snprintf(l.cells[0].id, sizeof l.cells[0].id, "%s", ID_A);
    ein_cell_config cfg;
    ein_config_defaults(&cfg);
    ein_cell_set_config(&l.cells[0], &cfg);
    ein_results *store = ein_results_open(dir, false, NULL, &err);
    ck_assert_int_eq(ein_results_use_shard(store, "dead-writer", &err), EIN_OK);
    ein_cell_result r;
    memset(&r, 0, sizeof r);
    r.status = EIN_CELL_OK;
    r.epochs_done = 1;
    r.final.epoch = r.best.epoch = 1;
    r.final.test_acc = r.best.test_acc = 90;
    ck_assert_int_eq(ein_results_append_cell(store, "fake", &l.cells[0], "dead-writer", &r, &err), EIN_OK);
    char host[64], line[512], name[64];
    ein_host_name(host, sizeof host);
    snprintf(line, sizeof line, "host=%s pid=%ld pid_start=1 boot=- run=dead-writer claimed=1\n", host, dead_pid());
    snprintf(name, sizeof name, "claims/%s.claim", ID_A);
    ein_claims *c = ein_claims_open(dir, "runF", &err);   /* creates claims/ */
    write_text(dir, name, line);
    ein_run_options o = { .jobs = 1, .run_cell = never_cell, .claims = c, .run_tag = "runF" };
    int todo[1] = { 0 };
    ein_run_totals t;
    ck_assert_int_eq(ein_runner_run(&l, todo, 1, store, &o, &t, &err), EIN_OK);
    ck_assert_int_eq(t.ok + t.failed, 0);
    ck_assert_int_eq(t.elsewhere, 1);
    ein_claim_info ci;
    ck_assert_int_eq(ein_claim_read(dir, ID_A, &ci), 1);
    ck_assert(ci.done);
    ck_assert_str_eq(ci.status, "ok");
    ein_claims_close(c);
    ein_results_close(store);
    /* only a shard, no cells.jsonl (every writer was killed): summary reads it
     * and writes the merged view */
    char cmd[900], *out = NULL, path[800];
    snprintf(cmd, sizeof cmd, "%s summary %s --by ''", tu_einrun(), dir);
    int rc = tu_run(cmd, &out);
    ck_assert_msg(rc == 0 && strstr(out, "(1 cell; ") != NULL, "rc %d: %s", rc, out);
    free(out);
    snprintf(path, sizeof path, "%s/cells.jsonl", dir);
    ck_assert_int_eq(tu_count_record_lines(dir, "cells", ID_A, "\"status\":\"ok\""), 2);
    ck_assert_int_eq(access(path, F_OK), 0);
    free(l.cells);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* --- the one loading function and the merged view ------------------------ */

static const char *rec(char *buf, size_t cap, const char *id, const char *run, const char *finished,
                       const char *status, double acc)
{
    snprintf(buf, cap,
             "{\"id\":\"%s\",\"experiment\":\"x\",\"run\":\"%s\"%s%s%s,\"index\":0,\"status\":\"%s\","
             "\"epochs\":1,\"seconds\":1,\"message\":\"\",\"bindings\":{\"eps\":0},"
             "\"final\":{\"epoch\":1,\"test_acc\":%g}}\n",
             id, run, finished ? ",\"finished\":\"" : "", finished ? finished : "",
             finished ? "\"" : "", status, acc);
    return buf;
}

START_TEST(read_merges_legacy_file_and_shards)
{
    char *dir = tu_mkdtemp();
    char a[512], b[512], c[512], legacy[2048], shard1[2048], shard2[2048];
    /* legacy single-writer file: A failed then ok (later line wins), B interrupted */
    snprintf(legacy, sizeof legacy, "%s%s%s",
             rec(a, sizeof a, "000000000000000a", "r0", NULL, "failed", 0),
             rec(b, sizeof b, "000000000000000a", "r1", NULL, "ok", 81),
             rec(c, sizeof c, "000000000000000b", "r1", NULL, "interrupted", 0));
    write_text(dir, "cells.jsonl", legacy);
    mkdir(strcat(strcpy(a, dir), "/shards"), 0777);
    /* shard 1: B ok (a result beats the legacy non-result); C failed at 10:00 */
    snprintf(shard1, sizeof shard1, "%s%s",
             rec(a, sizeof a, "000000000000000b", "r2", "2026-12-01T10:00:00.000Z", "ok", 70),
             rec(b, sizeof b, "000000000000000c", "r2", "2026-12-01T10:00:00.000Z", "failed", 0));
    write_text(dir, "shards/cells.r2.jsonl", shard1);
    /* shard 2 (sorts after): C ok at 09:00 — a result wins over the later failure;
     * D failed at 11:00 after D interrupted at 12:00 in shard 1? no: later time wins */
    snprintf(shard2, sizeof shard2, "%s%s%s",
             rec(a, sizeof a, "000000000000000c", "r3", "2026-12-01T09:00:00.000Z", "ok", 60),
             rec(b, sizeof b, "000000000000000d", "r3", "2026-12-01T12:00:00.000Z", "failed", 0),
             "{\"id\":\"torn");
    write_text(dir, "shards/cells.r3.jsonl", shard2);
    write_text(dir, "shards/cells.r4.jsonl",
               rec(a, sizeof a, "000000000000000d", "r4", "2026-12-01T11:00:00.000Z", "interrupted", 0));
    ein_record_list l;
    ein_err err = {0};
    ck_assert_int_eq(ein_results_read(dir, &l, &err), EIN_OK);
    ck_assert_int_eq(l.n, 4);
    ck_assert_int_eq(l.n_bad, 1);
    const ein_record *r = ein_record_find(&l, "000000000000000a");
    ck_assert_str_eq(r->status, "ok");
    ck_assert(r->final_test_acc == 81);
    r = ein_record_find(&l, "000000000000000b");
    ck_assert_str_eq(r->status, "ok");
    ck_assert_str_eq(r->finished, "2026-12-01T10:00:00.000Z");
    r = ein_record_find(&l, "000000000000000c");
    ck_assert_str_eq(r->status, "ok");
    ck_assert(r->final_test_acc == 60);
    r = ein_record_find(&l, "000000000000000d");
    ck_assert_str_eq(r->status, "failed");
    ck_assert_str_eq(r->run, "r3");
    ein_record_list_free(&l);

    /* The merged view: every attempt once, the legacy lines kept, torn lines
     * dropped; rewriting it again changes nothing; reading it with the
     * shards gives the same records. */
    ck_assert_int_eq(ein_results_write_merged(dir, &err), EIN_OK);
    char path[700];
    snprintf(path, sizeof path, "%s/cells.jsonl", dir);
    char *merged = tu_read_file(path, NULL);
    int lines = 0;
    for (char *p = merged; *p; p++)
        lines += *p == '\n';
    ck_assert_int_eq(lines, 3 + 2 + 2 + 1);
    ck_assert_msg(strncmp(merged, legacy, strlen(legacy)) == 0, "legacy lines first, unchanged");
    ck_assert_int_eq(ein_results_write_merged(dir, &err), EIN_OK);
    char *again = tu_read_file(path, NULL);
    ck_assert_str_eq(again, merged);
    ck_assert_int_eq(ein_results_read(dir, &l, &err), EIN_OK);
    ck_assert_int_eq(l.n, 4);
    ck_assert_str_eq(ein_record_find(&l, "000000000000000d")->run, "r3");
    ck_assert_str_eq(ein_record_find(&l, "000000000000000a")->status, "ok");
    ein_record_list_free(&l);
    free(merged);
    free(again);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(shard_parse_and_partition)
{
    int k, n;
    ein_err err = {0};
    ck_assert_int_eq(ein_shard_parse("3/5", &k, &n, &err), EIN_OK);
    ck_assert_int_eq(k, 3);
    ck_assert_int_eq(n, 5);
    const char *bad[] = { "0/3", "4/3", "3", "a/b", "1/0", "2/3x", "" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ein_err e = {0};
        ck_assert_int_eq(ein_shard_parse(bad[i], &k, &n, &e), EIN_ERR_USAGE);
        ck_assert_msg(strstr(e.msg, "--shard needs K/N with 1 <= K <= N") != NULL, "%s", e.msg);
    }
    for (int nn = 1; nn <= 5; nn++) {
        int count[6] = { 0 };
        for (int i = 0; i < 23; i++)
            count[ein_shard_of(i, nn)]++;
        for (int s = 1; s <= nn; s++)   /* balanced within one cell */
            ck_assert_int_ge(count[s], 23 / nn);
    }
}
END_TEST

/* --- the real einrun ------------------------------------------------------ */

/* The ids `einrun ARGS --dry-run` lists (16 hex digits at the start of a line). */
static int dry_run_ids(const char *args, char (*ids)[17], int cap)
{
    char cmd[1200], *out = NULL;
    snprintf(cmd, sizeof cmd, "EIN_NO_ESTIMATE=1 %s %s --dry-run", tu_einrun(), args);
    int rc = tu_run(cmd, &out);
    ck_assert_msg(rc == 0, "%s: %s", cmd, out);
    int n = 0;
    for (char *line = out; line && *line;) {
        char *nl = strchr(line, '\n');
        if (strspn(line, "0123456789abcdef") == 16 && line[16] == ' ') {
            ck_assert_int_lt(n, cap);
            memcpy(ids[n], line, 16);
            ids[n++][16] = '\0';
        }
        line = nl ? nl + 1 : NULL;
    }
    free(out);
    return n;
}

START_TEST(shards_partition_every_example)
{
    const char *ex[] = { "examples/fig2_ln.ein", "examples/fig3_moments.ein", "examples/fig4_forward.ein",
                         "examples/fig5_gradnorm.ein", "examples/quickstart.ein", "examples/search.ein",
                         "examples/slice_fig4_5.ein" };
    enum { CAP = 2000 };
    char (*all)[17] = calloc(CAP, 17), (*part)[17] = calloc(CAP, 17);
    int *seen = calloc(CAP, sizeof *seen);
    for (size_t e = 0; e < sizeof ex / sizeof ex[0]; e++) {
        int n = dry_run_ids(ex[e], all, CAP);
        ck_assert_msg(n > 0, "%s: no cells", ex[e]);
        for (int nn = 1; nn <= 5; nn++) {
            memset(seen, 0, CAP * sizeof *seen);
            for (int k = 1; k <= nn; k++) {
                char args[300];
                snprintf(args, sizeof args, "%s --shard %d/%d", ex[e], k, nn);
                int m = dry_run_ids(args, part, CAP);
                for (int j = 0; j < m; j++) {
                    int at = -1;
                    for (int i = 0; i < n && at < 0; i++)
                        if (strcmp(all[i], part[j]) == 0)
                            at = i;
                    ck_assert_msg(at >= 0, "%s shard %d/%d: %s not in the selection", ex[e], k, nn, part[j]);
                    ck_assert_msg(ein_shard_of(at, nn) == k, "%s: %s in shard %d", ex[e], part[j], k);
                    seen[at]++;
                }
            }
            for (int i = 0; i < n; i++)
                ck_assert_msg(seen[i] == 1, "%s N=%d: cell %s in %d shards", ex[e], nn, all[i], seen[i]);
        }
    }
    /* --where and --max-cells select first, then the shards split the selection */
    int n = dry_run_ids("examples/fig5_gradnorm.ein --where eps=0.75 --max-cells 7", all, CAP);
    ck_assert_int_eq(n, 7);
    int m = dry_run_ids("examples/fig5_gradnorm.ein --where eps=0.75 --max-cells 7 --shard 2/3", part, CAP);
    ck_assert_int_eq(m, 2);
    ck_assert_str_eq(part[0], all[1]);
    ck_assert_str_eq(part[1], all[4]);
    char *out = NULL;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "%s examples/fig5_gradnorm.ein --dry-run --shard 4/3", tu_einrun());
    ck_assert_int_eq(tu_run(cmd, &out), 64);
    ck_assert_msg(strstr(out, "einrun: --shard needs K/N with 1 <= K <= N, got '4/3'") != NULL, "%s", out);
    free(out);
    free(all);
    free(part);
    free(seen);
}
END_TEST

/* Start einrun FILE ARGS in the background, output to LOG. */
static pid_t start_einrun(const char *file, const char *args, const char *log)
{
    pid_t pid = fork();
    if (pid == 0) {
        char cmd[1600];
        snprintf(cmd, sizeof cmd, "exec %s %s %s >%s 2>&1", tu_einrun(), file, args, log);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    return pid;
}

static int wait_status(pid_t pid)
{
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* `einrun summary DIR` without its last line (which names DIR). */
static char *summary_table(const char *dir)
{
    char cmd[800], *out = NULL;
    snprintf(cmd, sizeof cmd, "%s summary %s --by eps,variant", tu_einrun(), dir);
    ck_assert_int_eq(tu_run(cmd, &out), 0);
    char *last = strstr(out, "\n(8 cells;");
    ck_assert_msg(last != NULL, "%s", out);
    last[1] = '\0';
    return out;
}

/* Every cell of the 8 recorded ok exactly once (over all shards), and the
 * merged cells.jsonl holds each once too. */
static void assert_each_ok_once(const char *res, char ids[8][17])
{
    ein_record_list l;
    ein_err err = {0};
    ck_assert_int_eq(ein_results_read(res, &l, &err), EIN_OK);
    ck_assert_int_eq(l.n, 8);
    char path[700];
    snprintf(path, sizeof path, "%s/cells.jsonl", res);
    char *merged = tu_read_file(path, NULL);
    ck_assert_ptr_nonnull(merged);
    for (int i = 0; i < 8; i++) {
        ck_assert_str_eq(l.rec[i].status, "ok");
        if (ids)
            snprintf(ids[i], 17, "%s", l.rec[i].id);
        char pat[40];
        snprintf(pat, sizeof pat, "\"id\":\"%s\"", l.rec[i].id);
        int shards = 0;
        for (char *p = merged; (p = strstr(p, pat)) != NULL; p++)
            shards++;
        ck_assert_msg(shards == 1, "cell %s: %d lines in the merged cells.jsonl", l.rec[i].id, shards);
        int all = tu_count_record_lines(res, "cells", pat, NULL);
        ck_assert_msg(all == 2, "cell %s: %d lines in cells.jsonl + shards (want 1 + 1)", l.rec[i].id, all);
    }
    free(merged);
    ein_record_list_free(&l);
}

static void concurrent_writers(int writers)
{
    char *dir = tu_mkdtemp();
    ck_assert_int_eq(tu_write_tiny_grid(dir, 200, 3, NULL), 0);
    char file[700], res[700], single[700], log[800];
    snprintf(file, sizeof file, "%s/grid.ein", dir);
    snprintf(res, sizeof res, "%s/results", dir);
    snprintf(single, sizeof single, "%s/single", dir);
    pid_t pid[3];
    for (int w = 0; w < writers; w++) {
        snprintf(log, sizeof log, "%s/w%d.log", dir, w);
        pid[w] = start_einrun(file, "--jobs 1 --quiet", log);
    }
    for (int w = 0; w < writers; w++) {
        int rc = wait_status(pid[w]);
        snprintf(log, sizeof log, "%s/w%d.log", dir, w);
        char *text = tu_read_file(log, NULL);
        ck_assert_msg(rc == 0, "writer %d: exit %d\n%s", w, rc, text);
        free(text);
    }
    assert_each_ok_once(res, NULL);
    char args[800], *st = NULL;
    snprintf(args, sizeof args, "%s status %s", tu_einrun(), res);
    ck_assert_int_eq(tu_run(args, &st), 0);
    ck_assert_msg(strstr(st, "8 cells: 8 done (8 ok, 0 diverged), 0 running, 0 failed, 0 interrupted, "
                             "0 not started") && strstr(st, "all cells finished"), "%s", st);
    free(st);
    snprintf(args, sizeof args, "--jobs 1 --quiet --results %s", single);
    snprintf(log, sizeof log, "%s/single.log", dir);
    ck_assert_int_eq(wait_status(start_einrun(file, args, log)), 0);
    char *a = summary_table(res), *b = summary_table(single);
    ck_assert_str_eq(a, b);
    free(a);
    free(b);
    ein_record_list l1, l2;
    ein_err err = {0};
    ck_assert_int_eq(ein_results_read(res, &l1, &err), EIN_OK);
    ck_assert_int_eq(ein_results_read(single, &l2, &err), EIN_OK);
    for (int i = 0; i < l2.n; i++) {
        const ein_record *r = ein_record_find(&l1, l2.rec[i].id);
        ck_assert_ptr_nonnull(r);
        ck_assert(r->final_test_acc == l2.rec[i].final_test_acc);
        ck_assert(r->final_task_loss == l2.rec[i].final_task_loss);
    }
    ein_record_list_free(&l1);
    ein_record_list_free(&l2);
    tu_rmtree(dir);
    free(dir);
}

START_TEST(two_writers_at_once)
{
    concurrent_writers(2);
}
END_TEST

START_TEST(three_writers_at_once)
{
    concurrent_writers(3);
}
END_TEST

/* The claim files of DIR held by a live (not done) writer with run tag
 * containing `pidtext`. */
static int claims_held_by(const char *res, long pid)
{
    ein_claim_info *ci;
    int n, k = 0;
    ck_assert_int_eq(ein_claims_list(res, &ci, &n, NULL), EIN_OK);
    for (int i = 0; i < n; i++)
        k += !ci[i].done && ci[i].pid == pid;
    free(ci);
    return k;
}

/* A cell that writer `pid` holds and is in the middle of: 1 to epochs-3
 * epochs recorded, no result yet (so a kill now surely interrupts it). */
static bool mid_cell(const char *res, long pid, int epochs, char id[EIN_ID_LEN + 1])
{
    ein_claim_info *ci;
    int n;
    bool found = false;
    if (ein_claims_list(res, &ci, &n, NULL) != EIN_OK)
        return false;
    for (int i = 0; i < n && !found; i++) {
        if (ci[i].done || ci[i].pid != pid)
            continue;
        char pat[40];
        snprintf(pat, sizeof pat, "\"id\":\"%s\"", ci[i].id);
        int ep = tu_count_record_lines(res, "epochs", pat, NULL);
        if (ep >= 1 && ep <= epochs - 3 && tu_count_record_lines(res, "cells", pat, NULL) == 0) {
            snprintf(id, EIN_ID_LEN + 1, "%s", ci[i].id);
            found = true;
        }
    }
    free(ci);
    return found;
}

START_TEST(kill9_writer_mid_cell_is_taken_over)
{
    char *dir = tu_mkdtemp();
    ck_assert_int_eq(tu_write_tiny_grid(dir, 2000, 20, NULL), 0);
    char file[700], res[700], la[800], lb[800], victim[EIN_ID_LEN + 1];
    snprintf(file, sizeof file, "%s/grid.ein", dir);
    snprintf(res, sizeof res, "%s/results", dir);
    snprintf(la, sizeof la, "%s/a.log", dir);
    snprintf(lb, sizeof lb, "%s/b.log", dir);
    setenv("EIN_CLAIM_TIMEOUT", "5", 1);   /* only for an unreadable claim; the pid check is instant */
    pid_t a = start_einrun(file, "--jobs 1 --quiet", la);
    pid_t b = start_einrun(file, "--jobs 1 --quiet", lb);
    int tries = 0;
    while (!mid_cell(res, (long)a, 20, victim) && tries++ < 3000)
        sleep_ms(5);
    ck_assert_msg(tries < 3000, "writer A was never caught mid-cell");
    /* status sees A at work */
    char cmd[900], *st = NULL, want_pid[64];
    snprintf(cmd, sizeof cmd, "%s status %s", tu_einrun(), res);
    ck_assert_int_eq(tu_run(cmd, &st), 0);
    snprintf(want_pid, sizeof want_pid, " pid %ld  epoch ", (long)a);
    ck_assert_msg(strstr(st, "8 cells: ") && strstr(st, "running:\n") && strstr(st, want_pid) &&
                  strstr(st, "/20  claimed ") && strstr(st, "slowest running: ") && strstr(st, "ETA: "),
                  "%s", st);
    free(st);
    tries = 0;
    while (!mid_cell(res, (long)a, 20, victim) && tries++ < 3000)
        sleep_ms(5);
    kill(a, SIGKILL);
    ck_assert_int_eq(wait_status(a), 128 + SIGKILL);
    int rc = wait_status(b);
    char *text = tu_read_file(lb, NULL);
    ck_assert_msg(rc == 0, "writer B: exit %d\n%s", rc, text);
    char want[128];
    snprintf(want, sizeof want, "einrun: cell %s: taking over the claim of ", victim);
    ck_assert_msg(strstr(text, want) != NULL && strstr(text, "is gone") != NULL, "%s", text);
    free(text);
    unsetenv("EIN_CLAIM_TIMEOUT");
    assert_each_ok_once(res, NULL);
    ck_assert_int_eq(claims_held_by(res, (long)a), 0);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* The script --slurm --dry-run prints: sbatch options, the selection options
 * passed on, the run options the tasks set themselves dropped; run by hand as
 * two array tasks it computes the selection. */
START_TEST(slurm_dry_run_script_runs_the_selection)
{
    char *dir = tu_mkdtemp();
    ck_assert_int_eq(tu_write_tiny_grid(dir, 100, 2, NULL), 0);
    char cmd[6000], *out = NULL, res[700], path[800], exe[1024];
    char full[PATH_MAX];
    ck_assert_ptr_nonnull(realpath(tu_einrun(), full));   /* the commands run in DIR */
    snprintf(exe, sizeof exe, "%.1000s", full);
    snprintf(res, sizeof res, "%s/results", dir);
    snprintf(cmd, sizeof cmd,
             "cd %s && { %s grid.ein --slurm --dry-run --where eps=0 --partition short --time 0:30:00 "
             "--mem 2G --account lab --cpus-per-task 2 --array %%3 --sbatch-arg=--qos=low "
             "--sbatch-arg --constraint=avx2 --jobs 7 --fresh >script.sh; }", dir, exe);
    ck_assert_int_eq(tu_run(cmd, &out), 0);
    ck_assert_msg(strstr(out, "einrun: --dry-run: not submitted (2 of 2 array tasks, 4 cells to run)"), "%s", out);
    free(out);
    snprintf(path, sizeof path, "%s/script.sh", dir);
    char *script = tu_read_file(path, NULL);
    const char *want[] = {
        "#!/bin/sh\n", "experiment tiny, 4 cells in 2 array tasks", "#SBATCH --job-name=ein-tiny\n",
        "#SBATCH --array=1-2%3\n", "#SBATCH --cpus-per-task=2\n", "#SBATCH --time=0:30:00\n",
        "#SBATCH --mem=2G\n", "#SBATCH --partition=short\n", "#SBATCH --account=lab\n",
        "#SBATCH --qos=low\n", "#SBATCH --constraint=avx2\n", "/slurm/%A_%a.out\n",
        "export OPENBLAS_NUM_THREADS=\"${OPENBLAS_NUM_THREADS:-1}\"\n", "/grid.ein' '--where' 'eps=0'",
        "--shard \"$SLURM_ARRAY_TASK_ID/2\" --jobs \"${SLURM_CPUS_PER_TASK:-1}\" --quiet\n",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        ck_assert_msg(strstr(script, want[i]) != NULL, "no '%s' in\n%s", want[i], script);
    const char *not[] = { "'--fresh'", "'--jobs' '7'", "'--dry-run'", "'--slurm'", "'--partition'", "'--array'" };
    for (size_t i = 0; i < sizeof not / sizeof not[0]; i++)
        ck_assert_msg(strstr(script, not[i]) == NULL, "'%s' in\n%s", not[i], script);
    free(script);
    ck_assert_int_ne(access(res, F_OK), 0);                 /* a dry run writes nothing */
    /* the two array tasks by hand */
    for (int k = 1; k <= 2; k++) {
        snprintf(cmd, sizeof cmd, "cd %s && SLURM_ARRAY_TASK_ID=%d SLURM_CPUS_PER_TASK=1 sh script.sh", dir, k);
        int rc = tu_run(cmd, &out);
        ck_assert_msg(rc == 0, "task %d: %s", k, out);
        free(out);
    }
    ein_record_list l;
    ein_err err = {0};
    ck_assert_int_eq(ein_results_read(res, &l, &err), EIN_OK);
    ck_assert_int_eq(l.n, 4);
    for (int i = 0; i < l.n; i++) {
        ck_assert_str_eq(l.rec[i].status, "ok");
        ck_assert_str_eq(ein_record_binding(&l.rec[i], "eps", NULL), "0");
    }
    ein_record_list_free(&l);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(slurm_option_errors_and_no_sbatch)
{
    char *dir = tu_mkdtemp();
    ck_assert_int_eq(tu_write_tiny_grid(dir, 20, 1, NULL), 0);
    char cmd[1500], *out = NULL;
    struct { const char *args, *msg; } bad[] = {
        { "--partition x", "einrun: --partition is an option of --slurm" },
        { "--slurm --shard 1/2", "einrun: --slurm gives every array task its own shard; no --shard with it" },
        { "--slurm --cpus-per-task 0", "einrun: --cpus-per-task needs a count >= 1, got '0'" },
        { "--slurm --array %x", "einrun: --array needs a count >= 1, got 'x'" },
        { "--slurm --time", "einrun: --time needs a value" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(cmd, sizeof cmd, "%s %s/grid.ein %s", tu_einrun(), dir, bad[i].args);
        ck_assert_int_eq(tu_run(cmd, &out), 64);
        ck_assert_msg(strstr(out, bad[i].msg) != NULL, "%s: %s", bad[i].args, out);
        free(out);
    }
    /* no sbatch on PATH: exit 74, the script kept for a look */
    snprintf(cmd, sizeof cmd, "PATH=/nonexistent EIN_NO_ESTIMATE=1 %s %s/grid.ein --slurm", tu_einrun(), dir);
    ck_assert_int_eq(tu_run(cmd, &out), 74);
    ck_assert_msg(strstr(out, "einrun: sbatch not found (is Slurm installed here?); the script is ") &&
                  strstr(out, "/results/slurm.sh"), "%s", out);
    free(out);
    char path[800];
    snprintf(path, sizeof path, "%s/results/slurm.sh", dir);
    ck_assert_int_eq(access(path, X_OK), 0);
    snprintf(path, sizeof path, "%s/results/selection.tsv", dir);
    ck_assert_int_eq(access(path, F_OK), 0);
    /* status of a folder whose cells never ran: all not started, a stale claim named */
    char host[64], line[300];
    ein_host_name(host, sizeof host);
    ein_manifest man;
    ein_err err = {0};
    snprintf(path, sizeof path, "%s/results", dir);
    ck_assert_int_eq(ein_manifest_read(path, &man, &err), EIN_OK);
    ck_assert_int_eq(man.n, 8);
    ck_assert_int_eq(man.n_shards, 8);
    snprintf(line, sizeof line, "host=%s pid=%ld pid_start=1 boot=- run=gone claimed=1\n", host, dead_pid());
    mkdir(strcat(strcpy(cmd, path), "/claims"), 0777);
    snprintf(cmd, sizeof cmd, "results/claims/%s.claim", man.cell[3].id);
    write_text(dir, cmd, line);
    snprintf(cmd, sizeof cmd, "%s status %s/results", tu_einrun(), dir);
    ck_assert_int_eq(tu_run(cmd, &out), 0);
    ck_assert_msg(strstr(out, "8 cells in 8 shards: 0 done (0 ok, 0 diverged), 1 running, 0 failed, "
                              "0 interrupted, 7 not started") &&
                  strstr(out, "claims whose owner is gone (the next writer takes them over):\n") &&
                  strstr(out, man.cell[3].id) && strstr(out, "is gone") && strstr(out, "shards: 0 of 8 finished") &&
                  strstr(out, "ETA: unknown (8 cells left, none running"), "%s", out);
    free(out);
    ein_manifest_free(&man);
    snprintf(cmd, sizeof cmd, "%s status %s/nothing", tu_einrun(), dir);
    ck_assert_int_eq(tu_run(cmd, &out), 74);
    ck_assert_msg(strstr(out, "/nothing: no results here") != NULL, "%s", out);
    free(out);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* FLOPs of a cell worked by hand: input 784, one E/I hidden layer of 64
 * (ni = floor(6.4) = 6), the E/I output of 10 with ni = 1. */
START_TEST(cell_flops_by_hand)
{
    ein_cell_config c;
    ein_config_defaults(&c);
    c.n_hidden = 1;
    c.hidden[0].kind = EIN_LAYER_EI;
    c.hidden[0].ne = 64;
    c.hidden[0].ni = -1;
    c.hidden[0].fwd = EIN_FWD_NONE;
    c.output.kind = EIN_LAYER_EI;
    c.output.ne = 10;
    c.output.ni = 1;
    c.train.epochs = 3;
    double hidden = 2.0 * 784 * 64 + 2.0 * 784 * 6 + 2.0 * 6 * 64;      /* W_ex, W_ix, W_ei */
    double out = 2.0 * 64 * 10 + 2.0 * 64 * 1 + 2.0 * 1 * 10;
    /* 3 epochs of 200 training examples (3 passes) and 50 test examples (1) */
    ck_assert(ein_cell_flops(&c, 784, 200, 50) == 3 * (200 * 3 + 50) * (hidden + out));
    c.hidden[0].fwd = EIN_FWD_LAYERNORM;                                  /* LN: no GEMM */
    ck_assert(ein_cell_flops(&c, 784, 200, 50) == 3 * (200 * 3 + 50) * (hidden + out));
    c.hidden[0].fwd = EIN_FWD_INORM;                                      /* + B_ix, B_ei */
    double inorm = hidden + 2.0 * 784 * 64 + 2.0 * 64 * 64;
    ck_assert(ein_cell_flops(&c, 784, 200, 50) == 3 * (200 * 3 + 50) * (inorm + out));
    c.hidden[0].kind = EIN_LAYER_E_ONLY;
    c.hidden[0].fwd = EIN_FWD_LAYERNORM;
    ck_assert(ein_cell_flops(&c, 784, 200, 50) == 3 * (200 * 3 + 50) * (2.0 * 784 * 64 + out));
}
END_TEST

/* A cell's estimate includes what it spends before its first step: an I-Norm
 * layer of width 400 takes the SVD of its 400 × 784 W₀ (M4) at build time,
 * far more than the one training step of 10 examples that this cell trains. */
START_TEST(estimate_counts_setup)
{
    char *dir = tu_mkdtemp();
    ck_assert_int_eq(tu_write_tiny_idx(dir, 10), 0);
    char text[1024], path[1200], cmd[1500], *out = NULL;
    snprintf(text, sizeof text,
             "experiment wide {\n"
             "  data = idx(dir = \"%s\", batch = 10)\n"
             "  network {\n    input 784\n    hidden ei(ne = 400, fwd = inorm, bwd = full) x 1\n"
             "    output ei(ne = 10, ni = 1, act = none, fwd = none, bwd = none)\n  }\n"
             "  train { epochs = 1  lr = 0.05 }\n}\n", dir);
    snprintf(path, sizeof path, "%s/wide.ein", dir);
    ck_assert_int_eq(tu_write_file(path, text, strlen(text)), 0);
    snprintf(cmd, sizeof cmd, "%s %s --dry-run --results %s/results", tu_einrun(), path, dir);
    ck_assert_int_eq(tu_run(cmd, &out), 0);
    const char *at = strstr(out, "core-hours (");
    ck_assert_msg(at != NULL, "%s", out);
    double seconds = strtod(at + strlen("core-hours ("), NULL);
    ck_assert_msg(seconds >= 0.1 && strstr(out, "training steps plus the set-up, "), "%s", out);
    free(out);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* --dry-run's estimate: measured here, then from the folder's finished cells. */
START_TEST(dry_run_estimate)
{
    char *dir = tu_mkdtemp();
    ck_assert_int_eq(tu_write_tiny_grid(dir, 100, 2, NULL), 0);
    char cmd[1500], *out = NULL;
    snprintf(cmd, sizeof cmd, "%s %s/grid.ein --dry-run", tu_einrun(), dir);
    ck_assert_int_eq(tu_run(cmd, &out), 0);
    ck_assert_msg(strstr(out, "estimate: 8 cells, ") && strstr(out, " GFLOP/s per core on average, measured on "
                  "this machine (the median 4-step window of 26 training steps plus the set-up, 1 BLAS thread, ") &&
                  strstr(out, " kernels, of one cell of each of 2 kinds of network)") && strstr(out, "this machine (") &&
                  !strstr(out, "too big"), "%s", out);
    /* einrun runs the best kernels this CPU has when OpenBLAS falls back to
     * SSE3 ones (it does not know every CPU), and an explicit choice stands */
    if (getenv("OPENBLAS_CORETYPE") == NULL && ein_blas_best_coretype() != NULL)
        ck_assert_msg(!strstr(out, "OpenBLAS Prescott kernels"), "%s", out);
    free(out);
    snprintf(cmd, sizeof cmd, "OPENBLAS_CORETYPE=Prescott %s %s/grid.ein --dry-run", tu_einrun(), dir);
    ck_assert_int_eq(tu_run(cmd, &out), 0);
#ifdef EIN_REAL_DOUBLE /* every product of the double build is OpenBLAS's (gemm.h) */
    ck_assert_msg(strstr(out, "1 BLAS thread, OpenBLAS Prescott kernels, of one cell"), "%s", out);
#else
    ck_assert_msg(strstr(out, " and OpenBLAS Prescott kernels, of one cell"), "%s", out);
#endif
    free(out);
    /* every product on OpenBLAS (docs/running.md) */
    snprintf(cmd, sizeof cmd, "EIN_GEMM=blas OPENBLAS_CORETYPE=Prescott %s %s/grid.ein --dry-run", tu_einrun(), dir);
    ck_assert_int_eq(tu_run(cmd, &out), 0);
    ck_assert_msg(strstr(out, "1 BLAS thread, OpenBLAS Prescott kernels, of one cell"), "%s", out);
    free(out);
    snprintf(cmd, sizeof cmd, "EIN_GEMM=fast %s %s/grid.ein --dry-run", tu_einrun(), dir);
    ck_assert_int_eq(tu_run(cmd, &out), 64);
    ck_assert_str_eq(out, "einrun: EIN_GEMM='fast' names no kernel (valid: auto, blas, scalar, avx2, avx512)\n");
    free(out);
    snprintf(cmd, sizeof cmd, "EIN_NO_ESTIMATE=1 %s %s/grid.ein --dry-run", tu_einrun(), dir);
    ck_assert_int_eq(tu_run(cmd, &out), 0);
    ck_assert_msg(strstr(out, "tiny: 8 cells") && !strstr(out, "estimate"), "%s", out);
    free(out);
    snprintf(cmd, sizeof cmd, "%s %s/grid.ein --jobs 2 --quiet --max-cells 3", tu_einrun(), dir);
    ck_assert_int_eq(tu_run(cmd, &out), 0);
    free(out);
    snprintf(cmd, sizeof cmd, "%s %s/grid.ein --dry-run", tu_einrun(), dir);
    ck_assert_int_eq(tu_run(cmd, &out), 0);
    ck_assert_msg(strstr(out, "/results: 3 of 8 cells already finished)") && strstr(out, "estimate: 5 cells, ") &&
                  strstr(out, "from 3 finished cells of "), "%s", out);
    free(out);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

Suite *ein_test_suite(void)
{
    Suite *s = suite_create("shard");
    TCase *tc = tcase_create("claims");
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, claim_take_busy_done_release);
    tcase_add_test(tc, claim_stale_on_this_host_is_taken_over);
    tcase_add_test(tc, claim_of_another_host_goes_stale_without_heartbeat);
    tcase_add_test(tc, takeover_of_a_recorded_cell_does_not_rerun_it);
    tcase_add_test(tc, read_merges_legacy_file_and_shards);
    tcase_add_test(tc, shard_parse_and_partition);
    tcase_add_test(tc, cell_flops_by_hand);
    suite_add_tcase(s, tc);
    TCase *cli = tcase_create("einrun");
    tcase_set_timeout(cli, 120);
    tcase_add_test(cli, shards_partition_every_example);
    tcase_add_test(cli, two_writers_at_once);
    tcase_add_test(cli, three_writers_at_once);
    tcase_add_test(cli, kill9_writer_mid_cell_is_taken_over);
    tcase_add_test(cli, slurm_dry_run_script_runs_the_selection);
    tcase_add_test(cli, slurm_option_errors_and_no_sbatch);
    tcase_add_test(cli, dry_run_estimate);
    tcase_add_test(cli, estimate_counts_setup);
    suite_add_tcase(s, cli);
    return s;
}
