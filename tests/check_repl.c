/* check_repl.c — the REPL for real: a scripted session through stdin on a
 * tiny IDX set, errors in the middle of a script, and the real terminal
 * driven through tmux (prompt, history, completion, Ctrl-C). */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ein/results.h"
#include "testutil.h"

/* The tests run einrun in their scratch folder: an absolute path to it. */
static const char *einrun(void)
{
    static char path[4096];
    if (!realpath(tu_einrun(), path))
        snprintf(path, sizeof path, "%s", tu_einrun());
    return path;
}

/* The experiment of the tests, typed over several lines (continuation). */
static void write_session(const char *dir, const char *name, const char *extra)
{
    char text[4096], path[4200];
    snprintf(text, sizeof text,
             "n = 32\n"
             "experiment tiny {\n"
             "  data = idx(dir = \"%s\", batch = 10)\n"
             "  network {\n"
             "    input 784\n"
             "    hidden ei(ne = n, fwd = variant) x 1\n"
             "    output ei(ne = 10, ni = 1, act = none, fwd = none, bwd = none)\n"
             "  }\n"
             "  train { epochs = 1  lr = 0.002  seed = 1 }\n"
             "  grid { variant in [layernorm, none] }\n"
             "  report \"%s/results\" { test_acc, train_acc, task_loss, moments }\n"
             "}\n"
             "%s", dir, dir, extra);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    ck_assert_int_eq(tu_write_file(path, text, strlen(text)), 0);
}

/* The three numbers of a comparison row "    final test acc (%)  A  B  D". */
static void comparison_row(const char *out, const char *label, double v[3])
{
    const char *p = strstr(out, label);
    ck_assert_msg(p != NULL, "no '%s' row in:\n%s", label, out);
    ck_assert_int_eq(sscanf(p + strlen(label), "%lf %lf %lf", &v[0], &v[1], &v[2]), 3);
}

START_TEST(scripted_session_runs_ablates_and_saves)
{
    char *dir = tu_mkdtemp();
    ck_assert_int_eq(tu_write_tiny_idx(dir, 200), 0);
    write_session(dir, "script.txt",
                  ":set n = 16\n"
                  ":set train.epochs = 2\n"
                  ":cells\n"
                  ":run variant=layernorm --jobs 1\n"
                  ":ablate n = 48\n"
                  ":runs\n"
                  ":save saved.ein\n"
                  ":quit\n"
                  ":show n\n");
    char cmd[9000], *out = NULL;
    snprintf(cmd, sizeof cmd, "cd %s && %s < script.txt", dir, einrun());
    int rc = tu_run(cmd, &out);
    ck_assert_msg(rc == 0, "rc %d:\n%s", rc, out);
    ck_assert_msg(strstr(out, "experiment tiny: 2 cells\n") != NULL, "%s", out);
    /* :quit ends the session: the line after it never ran */
    ck_assert_msg(strstr(out, "# <input>:1:1") == NULL, "%s", out);

    /* The comparison against the records both runs wrote. */
    char res[4200];
    snprintf(res, sizeof res, "%s/results", dir);
    ein_record_list l;
    ck_assert_int_eq(ein_results_read(res, &l, NULL), EIN_OK);
    ck_assert_int_eq(l.n, 2);
    ck_assert_str_eq(l.rec[0].status, "ok");
    ck_assert_str_eq(l.rec[1].status, "ok");
    ck_assert_int_eq(l.rec[0].epochs, 2);   /* :set train.epochs = 2 */
    ck_assert_int_eq(l.rec[1].epochs, 2);   /* and the ablation kept it */
    double acc[3], loss[3];
    comparison_row(out, "final test acc (%)", acc);
    ck_assert_msg(fabs(acc[0] - l.rec[0].final_test_acc) < 0.006, "%g vs %g", acc[0], l.rec[0].final_test_acc);
    ck_assert_msg(fabs(acc[1] - l.rec[1].final_test_acc) < 0.006, "%g vs %g", acc[1], l.rec[1].final_test_acc);
    ck_assert_msg(fabs(acc[2] - (l.rec[1].final_test_acc - l.rec[0].final_test_acc)) < 0.011, "diff %g", acc[2]);
    comparison_row(out, "task loss", loss);
    ck_assert_msg(fabs(loss[0] - l.rec[0].final_task_loss) < 6e-5, "%g vs %g", loss[0], l.rec[0].final_task_loss);
    ck_assert_msg(fabs(loss[2] - (loss[1] - loss[0])) < 2e-4, "%s", out);
    ck_assert_msg(strstr(out, "layer 1 var(z)") != NULL, "%s", out);   /* the moments, per layer */
    ck_assert_msg(strstr(out, "#2  tiny  1 cell") != NULL && strstr(out, "      n = 48") != NULL, "%s", out);

    /* The saved program checks and reruns run #1 to the same numbers. */
    snprintf(cmd, sizeof cmd, "cd %s && %s --check saved.ein", dir, einrun());
    free(out);
    ck_assert_int_eq(tu_run(cmd, &out), 0);
    snprintf(cmd, sizeof cmd, "cd %s && %s saved.ein --where variant=layernorm --jobs 1 --quiet "
             "--results rerun", dir, einrun());
    free(out);
    rc = tu_run(cmd, &out);
    ck_assert_msg(rc == 0, "rc %d:\n%s", rc, out);
    snprintf(res, sizeof res, "%s/rerun", dir);
    ein_record_list again;
    ck_assert_int_eq(ein_results_read(res, &again, NULL), EIN_OK);
    ck_assert_int_eq(again.n, 1);
    ck_assert_str_eq(again.rec[0].id, l.rec[0].id);
    ck_assert(again.rec[0].final_test_acc == l.rec[0].final_test_acc);
    ck_assert(again.rec[0].final_task_loss == l.rec[0].final_task_loss);
    ein_record_list_free(&again);
    ein_record_list_free(&l);
    free(out);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(errors_mid_script_are_located_and_the_session_goes_on)
{
    char *dir = tu_mkdtemp();
    char path[4200], cmd[9000], *out = NULL;
    const char *script =
        "a = 1\n"
        "b = a +* 2\n"
        ":show a\n"
        "\n"
        "c = [1,\n"
        "     unknown_name]\n"
        ":sett x = 1\n"
        ":set a = (2\n"
        ":unset nope\n"
        "d = a + 1\n"
        ":set train.lrr = 1\n"
        ":show d\n";
    snprintf(path, sizeof path, "%s/s.txt", dir);
    ck_assert_int_eq(tu_write_file(path, script, strlen(script)), 0);
    snprintf(cmd, sizeof cmd, "cd %s && %s < s.txt", dir, einrun());
    int rc = tu_run(cmd, &out);
    ck_assert_msg(rc == 2, "rc %d:\n%s", rc, out);   /* the first failure: a language error */
    ck_assert_msg(strstr(out, "<input>:2:8: error:") != NULL, "%s", out);
    ck_assert_msg(strstr(out, "<input>:6:6: error: unknown name 'unknown_name'") != NULL, "%s", out);
    ck_assert_msg(strstr(out, "<input>:7:1: error: unknown command ':sett'; did you mean ':set'?") != NULL,
                  "%s", out);
    ck_assert_msg(strstr(out, "<input>:8:12: error:") != NULL, "%s", out);
    ck_assert_msg(strstr(out, "    8 | :set a = (2\n") != NULL, "%s", out);   /* the line as typed */
    ck_assert_msg(strstr(out, "<input>:11:6: error: unknown setting 'train.lrr'") != NULL &&
                  strstr(out, "did you mean 'train.lr'?") != NULL, "%s", out);
    ck_assert_msg(strstr(out, "einrun: :unset: 'nope' is not set") != NULL, "%s", out);
    /* what was fine still happened, after the errors */
    ck_assert_msg(strstr(out, "# <input>:1:1\na = 1\n") != NULL, "%s", out);
    ck_assert_msg(strstr(out, "# <input>:10:1\nd = a + 1\n") != NULL, "%s", out);
    free(out);
    /* A script without errors exits 0; an unfinished input at the end is an error. */
    snprintf(cmd, sizeof cmd, "printf 'x = 1\\n:show x\\n' | %s", einrun());
    ck_assert_int_eq(tu_run(cmd, &out), 0);
    free(out);
    snprintf(cmd, sizeof cmd, "printf 'x = [1,\\n2,\\n' | %s", einrun());
    rc = tu_run(cmd, &out);
    ck_assert_msg(rc == 2 && strstr(out, "<input>:2:3: error:") != NULL, "rc %d: %s", rc, out);
    free(out);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* --- the real terminal, through tmux --------------------------------------- */

typedef struct term {
    char sock[4200], target[64];
} term;

static char *capture(const term *t)
{
    char cmd[9000], *out = NULL;
    snprintf(cmd, sizeof cmd, "tmux -S %s capture-pane -p -t %s", t->sock, t->target);
    tu_run(cmd, &out);
    return out;
}

static void keys(const term *t, const char *k)
{
    char cmd[9000];
    snprintf(cmd, sizeof cmd, "tmux -S %s send-keys -t %s %s", t->sock, t->target, k);
    ck_assert_int_eq(tu_run(cmd, NULL), 0);
}

/* Wait (up to `seconds`) until the screen's last non-empty line ends with
 * `tail` and, if given, the screen contains `also`; returns the screen. */
static char *wait_screen(const term *t, const char *tail, const char *also, double seconds)
{
    char *s = NULL;
    for (int i = 0; i < (int)(seconds * 20); i++) {
        free(s);
        s = capture(t);
        if (!s)
            continue;
        size_t n = strlen(s);
        while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' '))
            n--;
        size_t start = n;
        while (start > 0 && s[start - 1] != '\n')
            start--;
        size_t tl = strlen(tail);
        char last[512];
        snprintf(last, sizeof last, "%.*s", (int)(n - start), s + start);
        size_t ll = strlen(last);
        bool tail_ok = ll >= tl && strcmp(last + ll - tl, tail) == 0;
        if (tail_ok && (!also || strstr(s, also)))
            return s;
        usleep(50000);
    }
    ck_abort_msg("the terminal never showed '%s'%s%s; screen:\n%s", tail, also ? " with " : "",
                 also ? also : "", s ? s : "");
    return s;
}

START_TEST(real_terminal_through_tmux)
{
    char *dir = tu_mkdtemp();
    ck_assert_int_eq(tu_write_tiny_idx(dir, 3000), 0);
    write_session(dir, "tiny.ein", "");
    term t;
    snprintf(t.sock, sizeof t.sock, "%s/tmux.sock", dir);
    snprintf(t.target, sizeof t.target, "repl");
    char cmd[9000], *s;
    snprintf(cmd, sizeof cmd,
             "cd %s && tmux -S %s -f /dev/null new-session -d -s repl -x 160 -y 50 "
             "\"env HOME=%s XDG_STATE_HOME=%s/state TERM=xterm INPUTRC=/dev/null %s -i tiny.ein; "
             "echo einrun-exit=\\$?; sleep 30\"", dir, t.sock, dir, dir, einrun());
    ck_assert_int_eq(tu_run(cmd, NULL), 0);

    /* the prompt, after -i loaded the file */
    s = wait_screen(&t, "ein>", "experiment tiny: 2 cells", 10);
    free(s);
    /* tab completion: :se → :set, then a setting path */
    keys(&t, "':se' Tab");
    free(wait_screen(&t, "ein> :set", NULL, 5));
    keys(&t, "'train.epo' Tab");
    free(wait_screen(&t, "ein> :set train.epochs", NULL, 5));
    /* Ctrl-C at the prompt clears the line */
    keys(&t, "C-c");
    s = wait_screen(&t, "ein>", "train.epochs ^C", 5);
    free(s);
    /* history: the up arrow brings back the last input */
    keys(&t, "':set n = 8' Enter");
    free(wait_screen(&t, "ein>", ":set n = 8\n", 5));
    keys(&t, "Up");
    free(wait_screen(&t, "ein> :set n = 8", NULL, 5));
    keys(&t, "C-c");
    free(wait_screen(&t, "ein>", NULL, 5));
    /* Ctrl-C during :run stops the run and returns to the prompt */
    keys(&t, "':run variant=layernorm --epochs 500 --jobs 1' Enter");
    free(wait_screen(&t, "", "epoch 2/500", 30));
    keys(&t, "C-c");
    s = wait_screen(&t, "ein>", "1 interrupted", 30);
    ck_assert_msg(strstr(s, "interrupted") != NULL, "%s", s);
    free(s);
    keys(&t, "':runs' Enter");
    free(wait_screen(&t, "ein>", "#1  tiny  1 cell  0 ok, 0 diverged, 0 failed, 1 interrupted", 5));
    /* Ctrl-D quits; the exit status is the interrupted run's */
    keys(&t, "C-d");
    free(wait_screen(&t, "einrun-exit=130", NULL, 10));
    snprintf(cmd, sizeof cmd, "tmux -S %s kill-server", t.sock);
    tu_run(cmd, NULL);

    /* the history persisted */
    char hist[4200];
    snprintf(hist, sizeof hist, "%s/state/ein/history", dir);
    char *h = tu_read_file(hist, NULL);
    ck_assert_msg(h && strstr(h, ":set n = 8\n") && strstr(h, ":runs\n"), "%s", h ? h : "(none)");
    free(h);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

Suite *ein_test_suite(void)
{
    Suite *s = suite_create("repl");
    TCase *tc = tcase_create("stdin");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, scripted_session_runs_ablates_and_saves);
    tcase_add_test(tc, errors_mid_script_are_located_and_the_session_goes_on);
    suite_add_tcase(s, tc);
    TCase *term = tcase_create("terminal");
    tcase_set_timeout(term, 120);
    tcase_add_test(term, real_terminal_through_tmux);
    suite_add_tcase(s, term);
    return s;
}
