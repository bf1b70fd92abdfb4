/* check_eval.c — saved cells reopened by `einrun eval`: the recorded final
 * test accuracy reproduced exactly with Δ drawn as in training, other
 * numbers at fixed Δ (recorded in eval/ID.csv), training continued
 * bit-for-bit as if it had never stopped, and the errors of a bad folder. */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ein/data.h"
#include "ein/results.h"
#include "testutil.h"

static char *dir;

/* One cell per epoch count (2 and 3), ε = 0.5, saved with report { weights }. */
static void make_results(void)
{
    dir = tu_mkdtemp();
    int n = 60, dim = 784;
    uint8_t *px = calloc((size_t)n * (size_t)dim, 1), *lab = calloc((size_t)n, 1);
    for (int i = 0; i < n; i++) {
        lab[i] = (uint8_t)(i % 10);
        for (int j = 0; j < 28; j++)
            px[(size_t)i * (size_t)dim + (size_t)(lab[i] * 2) * 28 + (size_t)j] = (uint8_t)(120 + 4 * j);
    }
    char a[600], b[600];
    ein_err err = {0};
    snprintf(a, sizeof a, "%s/train-images-idx3-ubyte", dir);
    snprintf(b, sizeof b, "%s/train-labels-idx1-ubyte", dir);
    ck_assert_int_eq(ein_idx_write(a, false, n, 28, 28, px, b, lab, &err), EIN_OK);
    snprintf(a, sizeof a, "%s/t10k-images-idx3-ubyte", dir);
    snprintf(b, sizeof b, "%s/t10k-labels-idx1-ubyte", dir);
    ck_assert_int_eq(ein_idx_write(a, false, 50, 28, 28, px, b, lab, &err), EIN_OK);
    free(px);
    free(lab);
    char text[2048];
    snprintf(text, sizeof text,
             "experiment saved {\n"
             "  data = idx(dir = \"%s\", batch = 10, eps = 0.5)\n"
             "  network {\n    input 784\n    hidden ei(ne = 24, fwd = inorm, bwd = full) x 2\n"
             "    output ei(ne = 10, ni = 1, act = none, fwd = none, bwd = none)\n  }\n"
             "  loss task = cross_entropy(smoothing = 0.1)\n  loss inorm = inorm_loss()\n"
             "  train { epochs = ep  lr = 0.02  lr.wix = 0.1  seed = 7 }\n"
             "  grid { ep in [2, 3] }\n"
             "  report \"%s/results\" { test_acc, moments, cos_ln_grad, weights }\n}\n", dir, dir);
    snprintf(a, sizeof a, "%s/grid.ein", dir);
    ck_assert_int_eq(tu_write_file(a, text, strlen(text)), 0);
    char cmd[1200], *out = NULL;
    snprintf(cmd, sizeof cmd, "%s %s/grid.ein --jobs 2 --quiet", tu_einrun(), dir);
    int rc = tu_run(cmd, &out);
    ck_assert_msg(rc == 0, "rc %d: %s", rc, out);
    free(out);
}

static void drop_results(void)
{
    tu_rmtree(dir);
    free(dir);
}

/* What the tests use of a record, copied out: a record's strings live in
 * its list, which record_of frees. */
typedef struct rec_copy {
    char id[EIN_ID_LEN + 1], run[48];
    int epochs;
    double final_test_acc, final_task_loss;
} rec_copy;

/* The record of the cell with ep = `ep`. */
static rec_copy record_of(int ep)
{
    char rdir[1100];
    snprintf(rdir, sizeof rdir, "%s/results", dir);
    ein_record_list l;
    ein_err err = {0};
    ck_assert_int_eq(ein_results_read(rdir, &l, &err), EIN_OK);
    rec_copy r;
    memset(&r, 0, sizeof r);
    for (int i = 0; i < l.n; i++)
        if (atoi(ein_record_binding(&l.rec[i], "ep", NULL)) == ep) {
            const ein_record *x = &l.rec[i];
            ck_assert_uint_lt(strlen(x->run), sizeof r.run);
            snprintf(r.id, sizeof r.id, "%s", x->id);
            snprintf(r.run, sizeof r.run, "%s", x->run);
            r.epochs = x->epochs;
            r.final_test_acc = x->final_test_acc;
            r.final_task_loss = x->final_task_loss;
        }
    ein_record_list_free(&l);
    ck_assert_msg(r.id[0], "no cell with ep=%d", ep);
    return r;
}

static int eval(const char *args, char **out)
{
    char cmd[2000];
    snprintf(cmd, sizeof cmd, "%s eval %s/results %s", tu_einrun(), dir, args);
    return tu_run(cmd, out);
}

START_TEST(drawn_delta_reproduces_the_record)
{
    rec_copy r = record_of(2);
    char args[200], *out = NULL, line[200];
    snprintf(args, sizeof args, "--cell %s --fixed-delta -0.75,0,0.75", r.id);
    int rc = eval(args, &out);
    ck_assert_msg(rc == 0, "rc %d: %s", rc, out);
    snprintf(line, sizeof line, "drawn    %9.2f", r.final_test_acc);
    ck_assert_msg(strstr(out, line) && strstr(out, "(the same)"), "%s", out);
    char *csv = NULL;
    size_t len;
    char path[1200];
    snprintf(path, sizeof path, "%s/results/eval/%s.csv", dir, r.id);
    csv = tu_read_file(path, &len);
    ck_assert_msg(csv != NULL, "no %s", path);
    ck_assert(strncmp(csv, "delta,test_acc,test_loss,recorded_test_acc\n", 43) == 0);
    char want[200];
    snprintf(want, sizeof want, "\ndrawn,%.10g,", r.final_test_acc);
    ck_assert_msg(strstr(csv, want), "%s", csv);
    /* at Δ = -0.75 (most pixels dark) the accuracy is not the drawn one */
    char *fixed = strstr(csv, "\n-0.75,");
    ck_assert_msg(fixed != NULL, "%s", csv);
    double acc = strtod(fixed + 7, NULL);
    ck_assert_msg(acc != r.final_test_acc, "fixed delta gave the drawn accuracy %.4f", acc);
    ck_assert(strstr(csv, "\n0,") && strstr(csv, "\n0.75,"));
    free(csv);
    free(out);
}
END_TEST

/* Continuing the 2-epoch cell to 3 epochs is the 3-epoch cell: the same id
 * (its configuration is the same) and the same final test accuracy. */
START_TEST(continued_training_is_exact)
{
    rec_copy two = record_of(2), three = record_of(3);
    char args[200], *out = NULL;
    snprintf(args, sizeof args, "--cell %.8s --epochs 3", two.id);
    int rc = eval(args, &out);
    ck_assert_msg(rc == 0, "rc %d: %s", rc, out);
    char want[200];
    snprintf(want, sizeof want, "cell %s: %s continued from epoch 2 to 3\n", three.id, two.id);
    ck_assert_msg(strstr(out, want), "want %s in %s", want, out);
    snprintf(want, sizeof want, "final test accuracy %.2f%%", three.final_test_acc);
    ck_assert_msg(strstr(out, want), "%s", out);
    ck_assert_msg(strstr(out, "  epoch 3  ") && !strstr(out, "  epoch 2  "), "%s", out);
    rec_copy again = record_of(3);
    ck_assert_str_eq(again.id, three.id);
    ck_assert_msg(strncmp(again.run, "continue-", 9) == 0, "%s", again.run);
    ck_assert(again.final_test_acc == three.final_test_acc);
    ck_assert(again.final_task_loss == three.final_task_loss);
    ck_assert_int_eq(again.epochs, 3);
    free(out);
}
END_TEST

START_TEST(bad_requests_are_named)
{
    char *out = NULL;
    int rc = eval("--cell ffffffff", &out);
    ck_assert_msg(rc == 64 && strstr(out, "no cell 'ffffffff' in"), "rc %d: %s", rc, out);
    free(out);
    rec_copy r = record_of(2);
    char args[200];
    snprintf(args, sizeof args, "--cell %s --fixed-delta 0.5,2", r.id);
    rc = eval(args, &out);
    ck_assert_msg(rc == 64 && strstr(out, "--fixed-delta: '2' is not a shift in [-1, 1]"), "rc %d: %s", rc, out);
    free(out);
    snprintf(args, sizeof args, "--cell %s --epochs 2", r.id);
    rc = eval(args, &out);
    ck_assert_msg(rc == 64 && strstr(out, "has 2 epochs already"), "rc %d: %s", rc, out);
    free(out);
    /* a corrupt parameter file: located, exit 65 */
    char path[1200];
    snprintf(path, sizeof path, "%s/results/weights/%s/L0.W_ex.npy", dir, r.id);
    ck_assert_int_eq(tu_write_file(path, "\x93NUMPY\x01\x00\x10\x00{'descr': '<f4'", 24), 0);
    snprintf(args, sizeof args, "--cell %s", r.id);
    rc = eval(args, &out);
    ck_assert_msg(rc == 65 && strstr(out, "L0.W_ex.npy: not a float32/float64 C-order .npy file"), "rc %d: %s", rc,
                  out);
    free(out);
    snprintf(path, sizeof path, "%s/results/weights/%s/cell.bin", dir, r.id);
    ck_assert_int_eq(tu_write_file(path, "EINCELL1\x01\0\0\0\0\0\0\0", 16), 0);
    rc = eval(args, &out);
    ck_assert_msg(rc == 65 && strstr(out, "saved by an einrun build with another configuration layout"), "rc %d: %s",
                  rc, out);
    free(out);
}
END_TEST

Suite *ein_test_suite(void)
{
    Suite *s = suite_create("eval");
    TCase *tc = tcase_create("saved");
    tcase_add_unchecked_fixture(tc, make_results, drop_results);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, drawn_delta_reproduces_the_record);
    tcase_add_test(tc, continued_training_is_exact);
    tcase_add_test(tc, bad_requests_are_named);
    suite_add_tcase(s, tc);
    return s;
}
