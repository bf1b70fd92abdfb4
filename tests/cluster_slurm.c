/* cluster_slurm.c — the real scheduler (make check-slurm; tools/check-slurm.sh
 * boots a one-node cluster with tools/slurm-up.sh and sets SLURM_CONF).
 *
 * A grid of 8 tiny cells goes to Slurm as a job array throttled to 2 tasks at
 * a time and is waited for with squeue; the merged results equal a local
 * --jobs 1 run of the same cells bit for bit.  Then an array task is
 * cancelled with scancel mid-run, and the same submit command again completes
 * the grid with no duplicates. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "ein/results.h"
#include "ein/shard.h"
#include "testutil.h"

static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* Run `einrun FILE ARGS`; its output in *out; the job id it printed (a line
 * of digits) into id. */
static int submit(const char *file, const char *args, char *id, size_t cap, char **out)
{
    char cmd[2000];
    snprintf(cmd, sizeof cmd, "%s %s %s", tu_einrun(), file, args);
    int rc = tu_run(cmd, out);
    id[0] = '\0';
    for (char *line = *out; line && *line;) {
        size_t n = strcspn(line, "\n");
        if (n > 0 && n < cap && strspn(line, "0123456789") == n) {
            memcpy(id, line, n);
            id[n] = '\0';
        }
        line += n + (line[n] == '\n');
    }
    return rc;
}

/* squeue's lines for job `id` in states `states` (e.g. "PD,R,CG"); -1 on error. */
static int squeue_count(const char *id, const char *states, char *first, size_t cap)
{
    char cmd[300], *out = NULL;
    snprintf(cmd, sizeof cmd, "squeue -h -j %s -t %s -o %%i", id, states);
    int rc = tu_run(cmd, &out);
    int n = 0;
    if (first)
        first[0] = '\0';
    for (char *line = out; rc == 0 && line && *line;) {
        size_t k = strcspn(line, "\n");
        if (k > 0) {
            if (n == 0 && first && k < cap) {
                memcpy(first, line, k);
                first[k] = '\0';
            }
            n++;
        }
        line += k + (line[k] == '\n');
    }
    free(out);
    return rc == 0 ? n : -1;
}

/* Wait until job `id` has left the queue (at most `seconds`). */
static void wait_job(const char *id, int seconds)
{
    for (int t = 0; t < seconds * 5; t++) {
        int n = squeue_count(id, "PD,R,CG,S,CF", NULL, 0);
        if (n <= 0)
            return;
        sleep_ms(200);
    }
    ck_abort_msg("job %s still queued after %d s", id, seconds);
}

/* Lines of cells.jsonl + shards holding the id with status st. */
static int status_lines(const char *res, const char *id, const char *st)
{
    char a[64], b[64];
    snprintf(a, sizeof a, "\"id\":\"%s\"", id);
    snprintf(b, sizeof b, "\"status\":\"%s\"", st);
    return tu_count_record_lines(res, "cells", a, b);
}

/* Every one of the 8 cells ok, one ok attempt each (once in its shard, once in the merged view). */
static void assert_complete(const char *res)
{
    ein_record_list l;
    ein_err err = {0};
    ck_assert_int_eq(ein_results_read(res, &l, &err), EIN_OK);
    ck_assert_int_eq(l.n, 8);
    for (int i = 0; i < l.n; i++) {
        ck_assert_msg(strcmp(l.rec[i].status, "ok") == 0, "cell %s: %s", l.rec[i].id, l.rec[i].status);
        ck_assert_msg(status_lines(res, l.rec[i].id, "ok") == 2, "cell %s: %d ok lines (want shard + merged)",
                      l.rec[i].id, status_lines(res, l.rec[i].id, "ok"));
    }
    ein_record_list_free(&l);
}

/* The tiny grid with 256-wide layers (about 50 ms an epoch on 2000 images):
 * with AVX-512 GEMMs the 64-wide cells end before squeue or scancel sees
 * them running. */
static void write_wide_grid(const char *dir, int n_train, int epochs)
{
    ck_assert_int_eq(tu_write_tiny_grid(dir, n_train, epochs, NULL), 0);
    char file[700];
    snprintf(file, sizeof file, "%s/grid.ein", dir);
    size_t len;
    char *text = tu_read_file(file, &len);
    ck_assert_ptr_nonnull(text);
    char *ne = strstr(text, "ne = 64");
    ck_assert_ptr_nonnull(ne);
    char wider[8192];
    int n = snprintf(wider, sizeof wider, "%.*sne = 256%s", (int)(ne - text), text, ne + strlen("ne = 64"));
    ck_assert(n > 0 && (size_t)n < sizeof wider && len < sizeof wider);
    ck_assert_int_eq(tu_write_file(file, wider, (size_t)n), 0);
    free(text);
}

START_TEST(job_array_equals_a_local_run)
{
    char *dir = tu_mkdtemp();
    write_wide_grid(dir, 2000, 6);      /* tasks that live long enough for squeue to see */
    char file[700], res[700], local[700], id[64], args[2400], *out = NULL;
    snprintf(file, sizeof file, "%s/grid.ein", dir);
    snprintf(res, sizeof res, "%s/results", dir);
    snprintf(local, sizeof local, "%s/local", dir);
    int rc = submit(file, "--slurm --array %2 --cpus-per-task 1 --time 10", id, sizeof id, &out);
    ck_assert_msg(rc == 0 && id[0], "rc %d: %s", rc, out);
    ck_assert_msg(strstr(out, "8 array tasks (8 cells to run") != NULL, "%s", out);
    free(out);
    /* the throttle holds: never more than 2 tasks running */
    int most = 0;
    for (int t = 0; t < 1500; t++) {
        int running = squeue_count(id, "R", NULL, 0), queued = squeue_count(id, "PD,R,CG,S,CF", NULL, 0);
        most = running > most ? running : most;
        if (queued <= 0)
            break;
        sleep_ms(50);
    }
    wait_job(id, 10);
    ck_assert_int_le(most, 2);
    ck_assert_int_ge(most, 1);
    assert_complete(res);
    snprintf(args, sizeof args, "%s %s --jobs 1 --quiet --results %s", tu_einrun(), file, local);
    ck_assert_int_eq(tu_run(args, &out), 0);
    free(out);
    ein_record_list a, b;
    ein_err err = {0};
    ck_assert_int_eq(ein_results_read(res, &a, &err), EIN_OK);
    ck_assert_int_eq(ein_results_read(local, &b, &err), EIN_OK);
    ck_assert_int_eq(a.n, b.n);
    for (int i = 0; i < b.n; i++) {   /* the same ids, in the same order, the same numbers */
        ck_assert_str_eq(a.rec[i].id, b.rec[i].id);
        ck_assert(a.rec[i].final_test_acc == b.rec[i].final_test_acc);
        ck_assert(a.rec[i].best_test_acc == b.rec[i].best_test_acc);
        ck_assert(a.rec[i].final_train_acc == b.rec[i].final_train_acc);
        ck_assert(a.rec[i].final_task_loss == b.rec[i].final_task_loss);
        ck_assert(a.rec[i].final_test_loss == b.rec[i].final_test_loss);
    }
    ein_record_list_free(&a);
    ein_record_list_free(&b);
    /* the generated script is in the folder; status sees the finished grid */
    snprintf(args, sizeof args, "%s/slurm.sh", res);
    ck_assert_int_eq(access(args, X_OK), 0);
    snprintf(args, sizeof args, "%s status %s", tu_einrun(), res);
    ck_assert_int_eq(tu_run(args, &out), 0);
    ck_assert_msg(strstr(out, "8 cells in 8 shards: 8 done (8 ok, 0 diverged), 0 running") != NULL &&
                  strstr(out, "all cells finished") != NULL, "%s", out);
    free(out);
    /* submitting again: nothing left */
    rc = submit(file, "--slurm --array %2 --cpus-per-task 1", id, sizeof id, &out);
    ck_assert_msg(rc == 0 && !id[0] && strstr(out, "all 8 selected cells are finished; nothing to submit"),
                  "rc %d: %s", rc, out);
    free(out);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(scancel_then_resubmit_completes_without_duplicates)
{
    char *dir = tu_mkdtemp();
    write_wide_grid(dir, 2000, 30);     /* ~50 ms an epoch: scancel lands mid-cell */
    char file[700], res[700], id[64], id2[64], task[64], *out = NULL;
    snprintf(file, sizeof file, "%s/grid.ein", dir);
    snprintf(res, sizeof res, "%s/results", dir);
    const char *args = "--slurm --array %2 --cpus-per-task 1";
    int rc = submit(file, args, id, sizeof id, &out);
    ck_assert_msg(rc == 0 && id[0], "rc %d: %s", rc, out);
    free(out);
    /* a running task whose cell is mid-run: some epochs, no record yet */
    ein_manifest man;
    ein_err err = {0};
    bool cancelled = false;
    char victim[EIN_ID_LEN + 1] = "";
    for (int t = 0; t < 1500 && !cancelled; t++, sleep_ms(100)) {
        if (squeue_count(id, "R", task, sizeof task) <= 0)
            continue;
        const char *us = strchr(task, '_');
        int k = us ? atoi(us + 1) : 0;
        ck_assert_int_eq(ein_manifest_read(res, &man, &err), EIN_OK);
        for (int i = 0; i < man.n; i++)
            if (man.cell[i].shard == k)
                snprintf(victim, sizeof victim, "%s", man.cell[i].id);
        ein_manifest_free(&man);
        char pat[64];
        snprintf(pat, sizeof pat, "\"id\":\"%s\"", victim);
        if (victim[0] && tu_count_record_lines(res, "epochs", pat, NULL) >= 2 &&
            tu_count_record_lines(res, "cells", pat, NULL) == 0) {
            char cmd[200];
            snprintf(cmd, sizeof cmd, "scancel %s", task);
            ck_assert_int_eq(tu_run(cmd, NULL), 0);
            cancelled = true;
        }
    }
    ck_assert_msg(cancelled, "no task was caught mid-cell");
    wait_job(id, 300);
    /* its interrupted record: in the task's shard and in the merged view */
    ck_assert_msg(status_lines(res, victim, "interrupted") == 2, "cell %s: %d interrupted lines", victim,
                  status_lines(res, victim, "interrupted"));
    ck_assert_int_eq(status_lines(res, victim, "ok"), 0);
    /* status before the resubmission: the interrupted cell is left */
    char cmd[900];
    snprintf(cmd, sizeof cmd, "%s status %s", tu_einrun(), res);
    ck_assert_int_eq(tu_run(cmd, &out), 0);
    ck_assert_msg(strstr(out, "7 done (7 ok, 0 diverged), 0 running, 0 failed, 1 interrupted, 0 not started"),
                  "%s", out);
    free(out);
    rc = submit(file, args, id2, sizeof id2, &out);
    ck_assert_msg(rc == 0 && id2[0] && strstr(out, "1 array task (1 cell to run"), "rc %d: %s", rc, out);
    free(out);
    wait_job(id2, 300);
    assert_complete(res);
    ck_assert_int_eq(status_lines(res, victim, "interrupted"), 2);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

Suite *ein_test_suite(void)
{
    Suite *s = suite_create("slurm");
    TCase *tc = tcase_create("cluster");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, job_array_equals_a_local_run);
    tcase_add_test(tc, scancel_then_resubmit_completes_without_duplicates);
    suite_add_tcase(s, tc);
    return s;
}
