/* check_hardening.c — the hostile inputs of issue 16, one test per row of
 * its table (the row number is in each test's name), each with its exact
 * message or exit status: integer overflow, the evaluation budget, data
 * validation, big files and grids, folder safety, FIFOs, stdin, long names,
 * NUL bytes and BOMs, signals, selections that select nothing, unclosed
 * blocks, missing imports. */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ein/check.h"
#include "ein/data.h"
#include "ein/real.h"
#include "ein/results.h"
#include "ein/runner.h"
#include "ein/diag.h"
#include "ein/parse.h"
#include "testutil.h"

/* Expected texts name the scratch folder once or twice: one argument list fits all. */
#pragma GCC diagnostic ignored "-Wformat-extra-args"

/* Parse and check `src` as t.ein with stdlib/; returns the first
 * diagnostic's head line (malloc'd; "" when there is none) and the number of
 * errors in *errors. */
static char *first_diag(const char *src, size_t len, int *errors)
{
    ein_diag *d = ein_diag_new();
    ein_check_options opt = { .stdlib_dir = "stdlib", .ein_path = "" };
    ein_program *p = ein_parse_buffer(d, "t.ein", src, len, NULL);
    ein_module *m = p ? ein_check_program(d, p, "t.ein", &opt) : NULL;
    char *head = NULL;
    size_t hl = 0;
    FILE *f = open_memstream(&head, &hl);
    if (ein_diag_count(d) > 0)
        ein_diag_print_head(d, 0, f);
    fclose(f);
    if (hl && head[hl - 1] == '\n')
        head[hl - 1] = '\0';
    if (errors)
        *errors = ein_diag_n_errors(d);
    ein_module_free(m);
    ein_program_free(p);
    ein_diag_free(d);
    return head;
}

static void expect_first(const char *src, const char *want)
{
    char *got = first_diag(src, strlen(src), NULL);
    ck_assert_msg(strcmp(got, want) == 0, "source:\n%s\n got  %s\n want %s", src, got, want);
    free(got);
}

/* An experiment whose epochs evaluate `x` (so x is evaluated and used). */
#define USE_X "\nexperiment e { train { epochs = 1 + 0 * x } }\n"

/* ---- rows 1, 2: integer arithmetic ------------------------------------ */

START_TEST(row01_min_mod_minus_one_is_an_overflow)
{
    /* C's LLONG_MIN % -1 traps (SIGFPE); ein reports it where it is written */
    expect_first("x = (-9223372036854775807 - 1) % -1" USE_X,
                 "t.ein:1:5: error: integer overflow in '%' (the result does not fit in 64 bits; "
                 "write a real such as 2.0 for real arithmetic)");
    expect_first("x = (-9223372036854775807 - 1) % 1" USE_X, "");
    expect_first("x = 1 / ((-9223372036854775807) % -1)" USE_X, "t.ein:1:10: error: division by zero");
    expect_first("x = -7 % -1" USE_X, "");
}
END_TEST

START_TEST(row02_integer_overflow_is_an_error)
{
    expect_first("x = -(-9223372036854775807 - 1)" USE_X,
                 "t.ein:1:5: error: integer overflow in unary '-' (the result does not fit in 64 bits; "
                 "write a real such as 2.0 for real arithmetic)");
    expect_first("x = 9223372036854775807 + 1" USE_X,
                 "t.ein:1:5: error: integer overflow in '+' (the result does not fit in 64 bits; "
                 "write a real such as 2.0 for real arithmetic)");
    expect_first("x = 3037000500 * 3037000500" USE_X,
                 "t.ein:1:5: error: integer overflow in '*' (the result does not fit in 64 bits; "
                 "write a real such as 2.0 for real arithmetic)");
    expect_first("x = (-2) ^ 64" USE_X,
                 "t.ein:1:5: error: integer overflow in '^' (the result does not fit in 64 bits; "
                 "write a real such as 2.0 for real arithmetic)");
    /* the edges that fit, and powers by squaring (no loop of 2^63 steps) */
    expect_first("x = (-2) ^ 63 + 0 * (1 ^ 9223372036854775807) + 0 * ((-1) ^ 9223372036854775806)" USE_X, "");
    expect_first("x = 2.0 ^ 64" USE_X, "");
}
END_TEST

/* ---- row 6: the evaluation budget ------------------------------------- */

START_TEST(row06_exponential_defs_hit_the_budget)
{
    char *src = malloc(64 * 1024);
    size_t n = (size_t)sprintf(src, "def f_0(a) = a\n");
    for (int i = 1; i <= 40; i++)
        n += (size_t)sprintf(src + n, "def f_%d(a) = f_%d(a) + f_%d(a)\n", i, i - 1, i - 1);
    sprintf(src + n, "experiment e { train { epochs = 1 + 0 * f_40(1) } }\n");
    int errors = 0;
    char *got = first_diag(src, strlen(src), &errors);
    ck_assert_str_eq(got, "t.ein:3:14: error: evaluation budget exceeded: more than 1000000 def calls "
                          "in one evaluation (exponential recursion in 'f_1'?)");
    ck_assert_int_eq(errors, 1);
    free(got);
    /* 15 levels (65 535 calls) is within the budget */
    sprintf(src + n, "experiment e { train { epochs = 1 + 0 * f_15(1) } }\n");
    got = first_diag(src, strlen(src), &errors);
    ck_assert_int_eq(errors, 0);
    free(got);
    free(src);
}
END_TEST

/* ---- row 15: NUL bytes and the BOM ------------------------------------ */

START_TEST(row15_nul_in_a_comment_is_an_error)
{
    static const char src[] = "x = 1  # before \0 after\n" USE_X;
    char *got = first_diag(src, sizeof src - 1, NULL);
    ck_assert_str_eq(got, "t.ein:1:17: error: unexpected NUL byte");
    free(got);
    static const char block[] = "/* a \0 b */ x = 1\n" USE_X;
    got = first_diag(block, sizeof block - 1, NULL);
    ck_assert_str_eq(got, "t.ein:1:6: error: unexpected NUL byte");
    free(got);
}
END_TEST

START_TEST(row15_leading_bom_is_skipped)
{
    /* columns count from after the BOM */
    expect_first("\xEF\xBB\xBFx = widht" USE_X, "t.ein:1:5: error: unknown name 'widht'");
    expect_first("\xEF\xBB\xBF" "x = 1" USE_X, "");
    expect_first("x = 1 \xEF\xBB\xBF" USE_X,
                 "t.ein:1:7: error: unexpected byte order mark (U+FEFF); one is allowed only at the start of the file");
}
END_TEST

/* ---- row 7: hashed scopes --------------------------------------------- */

/* 200 000 chained top-level bindings: the linear scope lookup took over
 * seven minutes; hashed scopes check them in seconds (the timeout below is
 * twenty times that). */
START_TEST(row07_two_hundred_thousand_bindings)
{
    enum { N = 200000 };
    char *src = malloc((size_t)N * 32 + 128);
    size_t n = (size_t)sprintf(src, "b0 = 1\n");
    for (int i = 1; i < N; i++)
        n += (size_t)sprintf(src + n, "b%d = b%d + 0\n", i, i - 1);
    sprintf(src + n, "experiment e { train { epochs = b%d } }\nb%d = 2\n", N - 1, N / 2);
    int errors = 0;
    char *got = first_diag(src, strlen(src), &errors);
    /* the duplicate is found through the hash too, with both places */
    ck_assert_str_eq(got, "t.ein:200002:1: error: 'b100000' is already defined");
    ck_assert_int_eq(errors, 1);
    free(got);
    free(src);
}
END_TEST

/* ---- the command line: a tiny data set and a four-cell grid ------------ */

/* DIR/{train,t10k}-{images,labels}: n training and 10 test images of
 * rows×28 (test: 28×28), labels i % 10, label `bad` at index bad_at of the
 * training labels when bad_at >= 0; gzip when gz. */
static void write_data(const char *dir, int n, int rows, bool gz, int bad_at, int bad)
{
    ein_err err = { 0 };
    uint8_t *px = calloc((size_t)n * 28 * 28, 1), lab[64];
    for (int i = 0; i < n && i < 64; i++)
        lab[i] = (uint8_t)(i % 10);
    if (bad_at >= 0)
        lab[bad_at] = (uint8_t)bad;
    char a[600], b[600];
    snprintf(a, sizeof a, "%s/train-images-idx3-ubyte%s", dir, gz ? ".gz" : "");
    snprintf(b, sizeof b, "%s/train-labels-idx1-ubyte", dir);
    ck_assert_int_eq(ein_idx_write(a, gz, n, rows, 28, px, b, lab, &err), EIN_OK);
    snprintf(a, sizeof a, "%s/t10k-images-idx3-ubyte", dir);
    snprintf(b, sizeof b, "%s/t10k-labels-idx1-ubyte", dir);
    ck_assert_int_eq(ein_idx_write(a, false, 10, 28, 28, px, b, lab, &err), EIN_OK);
    free(px);
}

/* DIR/g.ein: 4 cells (eps × seed), one epoch, results in DIR/results. */
static void write_grid(const char *dir)
{
    char text[2048], path[600];
    snprintf(text, sizeof text,
             "experiment tiny {\n"
             "  data = idx(dir = \"%s\", batch = 5, eps = eps)\n"
             "  network {\n    input 784\n    hidden ei(ne = 8) x 1\n"
             "    output ei(ne = 10, ni = 1, act = none, fwd = none, bwd = none)\n  }\n"
             "  train { epochs = 1  lr = 0.05  seed = seed }\n"
             "  grid {\n    eps in [0, 0.5]\n    seed in [1, 2]\n  }\n"
             "  report \"%s/results\" { test_acc }\n}\n", dir, dir);
    snprintf(path, sizeof path, "%s/g.ein", dir);
    ck_assert_int_eq(tu_write_file(path, text, strlen(text)), 0);
}

/* Run `einrun ARGS` (a printf format; DIR is the first argument); returns
 * the exit status, output in *out. */
static int einrun(char **out, const char *fmt, const char *dir)
{
    char args[2048], cmd[2600];
    snprintf(args, sizeof args, fmt, dir, dir, dir);
    snprintf(cmd, sizeof cmd, "%s %s", tu_einrun(), args);
    return tu_run(cmd, out);
}

static bool exists(const char *dir, const char *name)
{
    char path[700];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return access(path, F_OK) == 0;
}

#define EXPECT_RUN(want_rc, want_text, fmt, dir)                                           \
    do {                                                                                   \
        char *out_ = NULL;                                                                 \
        int rc_ = einrun(&out_, fmt, dir);                                                 \
        char want_[1200];                                                                  \
        snprintf(want_, sizeof want_, want_text, dir, dir, dir);                           \
        ck_assert_msg(rc_ == (want_rc) && strstr(out_, want_) != NULL,                     \
                      "rc %d (want %d), output:\n%s\nwant it to hold:\n%s", rc_, want_rc, out_, want_); \
        free(out_);                                                                        \
    } while (0)

START_TEST(row04_label_past_the_limit_is_found)
{
    char *dir = tu_mkdtemp();
    write_data(dir, 20, 28, false, 15, 12);
    write_grid(dir);
    EXPECT_RUN(65, "einrun: %s/train-labels-idx1-ubyte: label 12 at index 15 is out of range 0..9 "
               "(data = ... at %s/g.ein:2:3)\n",
               "%s/g.ein --limit-train 5 --quiet", dir);
    ck_assert(!exists(dir, "results/cells.jsonl"));
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(row04_truncated_gzip_with_a_limit)
{
    char *dir = tu_mkdtemp();
    write_data(dir, 20, 28, true, -1, 0);
    write_grid(dir);
    char path[700];
    snprintf(path, sizeof path, "%s/train-images-idx3-ubyte.gz", dir);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(truncate(path, st.st_size - 12), 0);   /* the CRC and length, and a bit */
    EXPECT_RUN(65, "einrun: %s/train-images-idx3-ubyte.gz: truncated: expected 20 images (15680 pixel bytes), got ",
               "%s/g.ein --limit-train 5 --quiet", dir);
    ck_assert(!exists(dir, "results/cells.jsonl"));
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(row05_train_and_test_sizes_differ)
{
    char *dir = tu_mkdtemp();
    write_data(dir, 20, 27, false, -1, 0);   /* 756 pixels; the test set has 784 */
    write_grid(dir);
    EXPECT_RUN(65, "einrun: %s/train-images-idx3-ubyte: images of 27×28 pixels but %s/t10k-images-idx3-ubyte: "
                   "28×28; the training and the test set must have the same image size\n",
               "%s/g.ein --quiet", dir);
    ck_assert(!exists(dir, "results/cells.jsonl"));
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(row09_full_disk_while_writing_the_summary)
{
    char *dir = tu_mkdtemp();
    write_data(dir, 20, 28, false, -1, 0);
    write_grid(dir);
    EXPECT_RUN(0, "4 ok, 0 diverged, 0 failed", "%s/g.ein --quiet", dir);
    /* a 512-byte file-size limit: summary.csv (800 bytes) cannot be written */
    char cmd[1400], *out = NULL;
    snprintf(cmd, sizeof cmd, "sh -c 'trap \"\" XFSZ; ulimit -f 1; rm %s/results/summary.csv; exec %s summary %s/results'",
             dir, tu_einrun(), dir);
    int rc = tu_run(cmd, &out);
    /* the first file written fails (the merged view of the shards, or summary.csv) */
    ck_assert_msg(rc == 74 && strstr(out, "write failed: File too large"), "rc %d: %s", rc, out);
    free(out);
    ck_assert(!exists(dir, "results/summary.csv"));
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(row10_a_folder_einrun_did_not_make_is_refused)
{
    char *dir = tu_mkdtemp();
    write_data(dir, 20, 28, false, -1, 0);
    write_grid(dir);
    /* the data folder itself: not empty, not einrun's */
    EXPECT_RUN(74, "einrun: %s: not a results folder of einrun (not empty, and no .einrun-results in it); "
                   "refusing to write there: give a new or empty folder (--results DIR)\n",
               "%s/g.ein --quiet --results %s", dir);
    ck_assert(!exists(dir, "summary.csv") && !exists(dir, "source.ein") && !exists(dir, ".einrun-results"));
    EXPECT_RUN(74, "einrun: %s: not a results folder of einrun", "%s/g.ein --quiet --fresh --results %s", dir);
    ck_assert(exists(dir, "g.ein"));   /* --fresh did not move it aside either */
    /* a file is not a folder */
    EXPECT_RUN(74, "einrun: %s/g.ein: exists and is not a folder", "%s/g.ein --quiet --results %s/g.ein", dir);
    /* a new folder is made and marked; an empty one is taken */
    EXPECT_RUN(0, "4 ok", "%s/g.ein --quiet", dir);
    ck_assert(exists(dir, "results/.einrun-results"));
    char path[700];
    snprintf(path, sizeof path, "%s/empty", dir);
    ck_assert_int_eq(mkdir(path, 0777), 0);
    EXPECT_RUN(0, "4 ok", "%s/g.ein --quiet --results %s/empty", dir);
    /* a folder from before the marker (cells.jsonl and source.sha256) is still einrun's */
    snprintf(path, sizeof path, "%s/results/.einrun-results", dir);
    ck_assert_int_eq(unlink(path), 0);
    EXPECT_RUN(0, "4 of 4 cells already finished", "%s/g.ein --quiet", dir);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(row12_a_fifo_is_refused_not_waited_for)
{
    char *dir = tu_mkdtemp();
    char path[700];
    snprintf(path, sizeof path, "%s/f.ein", dir);
    ck_assert_int_eq(mkfifo(path, 0600), 0);
    EXPECT_RUN(74, "einrun: cannot read '%s/f.ein': it is a FIFO, not a regular file (use - to read standard input)\n",
               "--check %s/f.ein", dir);
    EXPECT_RUN(74, "einrun: cannot read '%s/f.ein': it is a FIFO", "%s/f.ein --dry-run", dir);
    EXPECT_RUN(74, "einrun: cannot read '%s/f.ein': it is a FIFO", "fmt %s/f.ein", dir);
    /* a data file that is a FIFO */
    write_data(dir, 20, 28, false, -1, 0);
    write_grid(dir);
    snprintf(path, sizeof path, "%s/t10k-labels-idx1-ubyte", dir);
    ck_assert_int_eq(unlink(path), 0);
    ck_assert_int_eq(mkfifo(path, 0600), 0);
    EXPECT_RUN(74, "einrun: %s/t10k-labels-idx1-ubyte: it is a FIFO, not a regular file (data = ... at %s/g.ein:2:3)\n",
               "%s/g.ein --quiet", dir);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(row13_stdin_is_read_once)
{
    char *dir = tu_mkdtemp();
    write_data(dir, 20, 28, false, -1, 0);
    write_grid(dir);
    EXPECT_RUN(0, "4 ok", "- --quiet < %s/g.ein", dir);
    char path[700];
    snprintf(path, sizeof path, "%s/g.ein", dir);
    char *want = tu_read_file(path, NULL);
    snprintf(path, sizeof path, "%s/results/source.ein", dir);
    char *got = tu_read_file(path, NULL);
    ck_assert_ptr_nonnull(got);
    ck_assert_str_eq(got, want);
    free(got);
    free(want);
    /* diagnostics name it <stdin>; /dev/stdin from a pipe is a FIFO: refused with the hint */
    char cmd[1400], *out = NULL;
    snprintf(cmd, sizeof cmd, "printf 'x = widht\\n' | %s --check -", tu_einrun());
    ck_assert_int_eq(tu_run(cmd, &out), 2);
    ck_assert_msg(strstr(out, "<stdin>:1:5: error: unknown name 'widht'\n") != NULL, "%s", out);
    free(out);
    snprintf(cmd, sizeof cmd, "cat %s/g.ein | %s /dev/stdin --dry-run", dir, tu_einrun());
    ck_assert_int_eq(tu_run(cmd, &out), 74);
    ck_assert_msg(strstr(out, "einrun: cannot read '/dev/stdin': it is a FIFO, not a regular file (use - to read standard input)\n"),
                  "%s", out);
    free(out);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(row17_a_selection_of_nothing_fails)
{
    char *dir = tu_mkdtemp();
    write_data(dir, 20, 28, false, -1, 0);
    write_grid(dir);
    EXPECT_RUN(64, "einrun: no cell selected (4 in the grid)\n", "%s/g.ein --where eps=0.3", dir);
    EXPECT_RUN(64, "einrun: no cell selected (4 in the grid)\n", "%s/g.ein --where eps=0.3 --dry-run", dir);
    ck_assert(!exists(dir, "results"));
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* ---- row 3: widths that cannot fit --------------------------------------- */

#define NET(hidden) "import \"ei\"\nimport \"fashion\"\nexperiment e {\n  data = fashion_mnist()\n" \
                    "  network {\n    input 784\n" hidden "    output ei_output()\n  }\n}\n"

START_TEST(row03_widths_that_cannot_fit_are_errors_of_the_file)
{
    /* 2144323552 × 1075321872 wrapped the graph's buffer sizes (a worker SIGSEGV) */
    expect_first(NET("    hidden e_only_hidden(ne = 2144323552)\n    hidden e_only_hidden(ne = 1075321872)\n"),
                 "t.ein:5:3: error: a weight matrix of 2.31e+18 entries (more than 2147483647): the widths are too large");
    /* every matrix indexable, but eight of them need hundreds of GB */
    char *got = first_diag(NET("    hidden e_only_hidden(ne = 46000) x 8\n"),
                           strlen(NET("    hidden e_only_hidden(ne = 46000) x 8\n")), NULL);
    /* 244 GB in float, 487 GB in double */
    const char *want = sizeof(ein_real) == 4
                           ? "t.ein:5:3: error: a cell needs about 244 GB (1.48e+10 weights), more than this machine's "
                           : "t.ein:5:3: error: a cell needs about 487 GB (1.48e+10 weights), more than this machine's ";
    ck_assert_msg(strncmp(got, want, strlen(want)) == 0, "got %s", got);
    free(got);
    expect_first(NET("    hidden e_only_hidden(ne = 500) x 2\n"), "");
}
END_TEST

/* ---- row 8: 100 000 records -------------------------------------------- */

/* Reading a folder looked every record up by a linear search (quadratic: 159 s
 * for 100k records); now hashed.  100 000 lines, each cell twice: the later
 * attempt wins; the pending-cell scan is hashed too.  (The timing lives in the
 * closing note; the suite runs under ASan on a busy machine.) */
START_TEST(row08_records_found_by_hashed_id)
{
    enum { N = 50000 };
    char *dir = tu_mkdtemp();
    char path[700];
    snprintf(path, sizeof path, "%s/cells.jsonl", dir);
    FILE *f = fopen(path, "w");
    for (int round = 0; round < 2; round++)
        for (int i = 0; i < N; i++)
            fprintf(f, "{\"id\":\"%016x\",\"run\":\"r%d\",\"status\":\"%s\",\"epochs\":%d}\n", i * 2654435761u,
                    round, round ? (i % 2 ? "failed" : "ok") : "interrupted", round);
    fclose(f);
    ein_record_list l;
    ein_err err = { 0 };
    ck_assert_int_eq(ein_results_read(dir, &l, &err), EIN_OK);
    ck_assert_int_eq(l.n, N);
    ck_assert_int_eq(l.n_lines, 2 * N);
    ck_assert_str_eq(l.rec[7].status, "failed");
    ck_assert_int_eq(l.rec[7].epochs, 1);
    enum { M = 10000 };   /* ids only: the pending-cell scan reads nothing else */
    ein_cell_list cells = { .n = M, .cells = calloc(M, sizeof(ein_cell)) };
    for (int i = 0; i < M; i++)
        snprintf(cells.cells[i].id, sizeof cells.cells[i].id, "%016x", i * 2654435761u);
    int *todo = malloc(M * sizeof *todo);
    ck_assert_int_eq(ein_runner_pending(&cells, &l, todo), M / 2);   /* the failed half */
    ck_assert_int_eq(todo[0], 1);
    free(todo);
    free(cells.cells);
    ein_record_list_free(&l);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* Row 8, the values: what a big folder reads back is what was written, to
 * the byte and to the bit — bindings, long texts with escapes, the folder,
 * settings of every type, final metrics — also after the records moved to
 * another list (ein_record_list_append) and their first list is gone. */
enum { VALUES_N = 6000 };

/* Record i's binding text and message: 200 and 250 characters for every
 * 7th, with quotes, backslashes, commas, newlines and tabs in them. */
static void value_texts(int i, char bind[256], char msg[256])
{
    static const char b[] = "ab\"c\\d,e\nf\tg ";
    static const char m[] = "NaN in \"task\" loss \\ at, epoch\n";
    if (i % 7 == 0) {
        for (int k = 0; k < 200; k++)
            bind[k] = b[(i + k) % (sizeof b - 1)];
        bind[200] = '\0';
        for (int k = 0; k < 250; k++)
            msg[k] = m[(i + 3 * k) % (sizeof m - 1)];
        msg[250] = '\0';
    } else {
        snprintf(bind, 256, "v%d", i % 11);
        snprintf(msg, 256, i % 3 ? "" : "diverged at epoch %d", i % 5);
    }
}

/* Value k of record i: doubles that take all 17 digits. */
static double value_of(int i, int k)
{
    return (i * 7919.0 + k * 104729.0) / 30011.0 + k * 1e-9;
}

static void put_json(FILE *f, const char *key, const char *s)
{
    char buf[1200];
    size_t n = 0;
    ein_json_string(buf, sizeof buf, &n, s);
    fprintf(f, ",\"%s\":%s", key, buf);
}

static void write_value_record(FILE *f, int i)
{
    char bind[256], msg[256];
    value_texts(i, bind, msg);
    fprintf(f, "{\"id\":\"%016x\",\"experiment\":\"exp%d\",\"run\":\"r%d\",\"finished\":\"2026-12-01T22:%02d:%02d.%03dZ\","
            "\"index\":%d,\"status\":\"%s\",\"epochs\":%d,\"seconds\":%.17g",
            i * 2654435761u, i % 3, i % 5, i / 3600, i / 60 % 60, i % 1000, VALUES_N - 1 - i,
            i % 4 == 3 ? "diverged" : "ok", i % 9, value_of(i, 0));
    put_json(f, "message", msg);
    fprintf(f, ",\"bindings\":{\"eps\":%.17g", value_of(i, 1));
    put_json(f, "name", bind);
    char set[32];      /* every other one the previous one's beginning */
    snprintf(set, sizeof set, i % 2 ? "/data/set" : "/data/set%d", i % 4);
    fprintf(f, ",\"seed\":%d},\"config\":{\"data.eps\":%.17g,\"data.dir\":\"%s\",\"train.seed\":%d,"
            "\"train.shuffle\":%s,\"data.fixed_test_delta\":null", i, value_of(i, 1), set, i,
            i % 2 ? "true" : "false");
    put_json(f, "hidden.0.learn", bind);
    fprintf(f, "},\"final\":{\"epoch\":%d,\"train_acc\":%.17g,\"test_acc\":%.17g,\"task_loss\":%.17g,"
            "\"inorm_loss\":null,\"test_loss\":%.17g,\"layers\":[", i % 9, value_of(i, 2), value_of(i, 3),
            value_of(i, 4), value_of(i, 5));
    for (int L = 0; L < 2; L++)
        fprintf(f, "%s{\"mean\":%.17g,\"var\":%.17g,\"mean_sq\":%.17g,\"cos_out\":null,\"cos_grad\":null}",
                L ? "," : "", value_of(i, 10 + 3 * L), value_of(i, 11 + 3 * L), value_of(i, 12 + 3 * L));
    fprintf(f, "]},\"best\":{\"epoch\":%d,\"test_acc\":%.17g}}\n", 1 + i % 4, value_of(i, 6));
}

static void check_text(const char *got, const char *want, int i, const char *what)
{
    ck_assert_msg(got && strcmp(got, want) == 0, "record %d, %s: '%s', want '%s'", i, what, got ? got : "(none)",
                  want);
}

static void check_setting(const ein_record *r, int i, const char *path, const char *want, char want_type)
{
    char type = 0;
    check_text(ein_record_setting(r, path, &type), want, i, path);
    ck_assert_msg(type == want_type, "record %d, %s: type %c", i, path, type);
}

static void check_value_record(const ein_record *r, int i, const char *dir)
{
    char want[256], bind[256], msg[256];
    value_texts(i, bind, msg);
    snprintf(want, sizeof want, "%016x", i * 2654435761u);
    check_text(r->id, want, i, "id");
    snprintf(want, sizeof want, "exp%d", i % 3);
    check_text(r->experiment, want, i, "experiment");
    snprintf(want, sizeof want, "r%d", i % 5);
    check_text(r->run, want, i, "run");
    snprintf(want, sizeof want, "2026-12-01T22:%02d:%02d.%03dZ", i / 3600, i / 60 % 60, i % 1000);
    check_text(r->finished, want, i, "finished");
    check_text(r->status, i % 4 == 3 ? "diverged" : "ok", i, "status");
    check_text(r->message, msg, i, "message");
    check_text(r->folder, dir, i, "folder");
    ck_assert_int_eq(r->epochs, i % 9);
    ck_assert(r->seconds == value_of(i, 0));
    ck_assert_int_eq(r->n_bind, 3);
    snprintf(want, sizeof want, "%.17g", value_of(i, 1));
    check_text(r->bind[0].name, "eps", i, "binding 0");
    check_text(r->bind[0].text, want, i, "eps");
    ck_assert(r->bind[0].is_number && !r->bind[1].is_number && r->bind[2].is_number);
    bool num = true;
    check_text(ein_record_binding(r, "name", &num), bind, i, "binding name");
    ck_assert(!num);
    snprintf(want, sizeof want, "%d", i);
    check_text(ein_record_binding(r, "seed", NULL), want, i, "binding seed");
    ck_assert_int_eq(r->n_config, 6);
    snprintf(want, sizeof want, "%.17g", value_of(i, 1));
    check_setting(r, i, "data.eps", want, 'n');
    snprintf(want, sizeof want, i % 2 ? "/data/set" : "/data/set%d", i % 4);
    check_setting(r, i, "data.dir", want, 's');
    snprintf(want, sizeof want, "%d", i);
    check_setting(r, i, "train.seed", want, 'n');
    check_setting(r, i, "train.shuffle", i % 2 ? "true" : "false", 'b');
    check_setting(r, i, "data.fixed_test_delta", "null", 'z');
    check_setting(r, i, "hidden.0.learn", bind, 's');
    ck_assert_ptr_null(ein_record_setting(r, "data.eps2", NULL));
    ck_assert(r->final_train_acc == value_of(i, 2) && r->final_test_acc == value_of(i, 3));
    ck_assert(r->final_task_loss == value_of(i, 4) && r->final_test_loss == value_of(i, 5));
    ck_assert(isnan(r->final_inorm_loss));
    ck_assert(r->best_test_acc == value_of(i, 6));
    ck_assert_int_eq(r->best_epoch, 1 + i % 4);
    ck_assert_int_eq(r->n_final_layers, 2);
    for (int L = 0; L < 2; L++) {
        ein_layer_metrics m = ein_record_final_layer(r, L);
        ck_assert(m.mean == value_of(i, 10 + 3 * L) && m.var == value_of(i, 11 + 3 * L));
        ck_assert(m.mean_sq == value_of(i, 12 + 3 * L) && isnan(m.cos_out) && isnan(m.cos_grad));
    }
    snprintf(want, sizeof want, "%.17g", value_of(i, 14));
    check_text(ein_record_leaf_at(r, "final/layers/1/var", NULL), want, i, "final/layers/1/var");
}

START_TEST(row08_record_values_read_back_exact)
{
    char *dir = tu_mkdtemp();
    char path[700];
    snprintf(path, sizeof path, "%s/cells.jsonl", dir);
    FILE *f = fopen(path, "w");
    for (int i = 0; i < VALUES_N; i++)
        write_value_record(f, i);
    fclose(f);
    ein_record_list a, b, all = { 0 };
    ein_err err = { 0 };
    ck_assert_int_eq(ein_results_read(dir, &a, &err), EIN_OK);
    ck_assert_int_eq(ein_results_read(dir, &b, &err), EIN_OK);
    ck_assert_int_eq(a.n, VALUES_N);
    ck_assert_int_eq(a.n_bad, 0);
    for (int j = 0; j < a.n; j++) {       /* in expansion order: the file had it reversed */
        ck_assert_int_eq(a.rec[j].index, j);
        check_value_record(&a.rec[j], VALUES_N - 1 - j, dir);
    }
    ck_assert_int_eq(ein_record_list_append(&all, &a, &err), EIN_OK);
    ck_assert_int_eq(ein_record_list_append(&all, &b, &err), EIN_OK);
    ck_assert_int_eq(a.n + b.n, 0);
    ck_assert_int_eq(all.n, 2 * VALUES_N);
    for (int j = 0; j < all.n; j++)
        check_value_record(&all.rec[j], VALUES_N - 1 - j % VALUES_N, dir);
    ein_record_list_free(&all);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* ---- row 11: an import that leads elsewhere ----------------------------- */

START_TEST(row11_import_symlink_to_a_non_ein_file)
{
    char *dir = tu_mkdtemp();
    char link_path[700], src_path[700];
    snprintf(link_path, sizeof link_path, "%s/evil.ein", dir);
    ck_assert_int_eq(symlink("/etc/passwd", link_path), 0);
    snprintf(src_path, sizeof src_path, "%s/t.ein", dir);
    const char *src = "import \"evil\"\nexperiment e { }\n";
    ck_assert_int_eq(tu_write_file(src_path, src, strlen(src)), 0);
    char *out = NULL;
    int rc = einrun(&out, "--check %s/t.ein", dir);
    char want[1600];
    snprintf(want, sizeof want, "%s/t.ein:1:8: error: cannot import 'evil': %s/evil.ein leads to /etc/passwd, "
             "which is not a .ein file\n", dir, dir);
    ck_assert_msg(rc == 2 && strncmp(out, want, strlen(want)) == 0, "rc %d:\n%s", rc, out);
    ck_assert_ptr_null(strstr(out, "root:"));   /* none of its lines quoted */
    free(out);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* ---- rows 14, 18, 19: names and messages ------------------------------ */

START_TEST(row14_long_names_are_an_error_not_cut)
{
    /* 63 characters is the longest; two 64-character axes no longer merge */
    char name[80];
    memset(name, 'a', 63);
    name[63] = '\0';
    char src[512];
    snprintf(src, sizeof src, "%s = 1\nexperiment e { train { epochs = %s } }\n", name, name);
    expect_first(src, "");
    snprintf(src, sizeof src, "%sb = 1\n%sc = 2\nexperiment e { train { epochs = %sb + %sc } }\n", name, name, name, name);
    int errors = 0;
    char *got = first_diag(src, strlen(src), &errors);
    ck_assert_str_eq(got, "t.ein:1:1: error: name 'aaaaaaaaaaaaaaaaaaaa...' is 64 characters long (at most 63)");
    ck_assert_int_eq(errors, 4);
    free(got);
}
END_TEST

START_TEST(row18_unclosed_block_named_once)
{
    const char *src = "import \"ei\"\nimport \"fashion\"\nexperiment e {\n  data = fashion_mnist()\n"
                      "  train {\n    epochs = 1\n    lr = 0.01\n\n  grid {\n    eps in [0, 0.5]\n  }\n}\n";
    int errors = 0;
    char *got = first_diag(src, strlen(src), &errors);
    ck_assert_str_eq(got, "t.ein:9:3: error: '}' expected to close 'train {' at line 5 (before 'grid {')");
    ck_assert_int_eq(errors, 1);   /* no follow-on errors, no did-you-mean */
    free(got);
}
END_TEST

/* Diagnostics of src, all of them, as printed. */
static char *all_diags(const char *src)
{
    ein_diag *d = ein_diag_new();
    ein_check_options opt = { .stdlib_dir = "stdlib", .ein_path = "" };
    ein_program *p = ein_parse_buffer(d, "t.ein", src, strlen(src), NULL);
    ein_module *m = p ? ein_check_program(d, p, "t.ein", &opt) : NULL;
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    ein_diag_print(d, f);
    fclose(f);
    ein_module_free(m);
    ein_program_free(p);
    ein_diag_free(d);
    return out;
}

START_TEST(row19_missing_import_reported_once_with_the_fix)
{
    char *got = all_diags("import \"fashion\"\nexperiment e {\n  data = fashion_mnist()\n  network {\n"
                          "    input 784\n    hidden ei_hidden(ne = 10) x 2\n    hidden ei_hidden(ne = 5)\n"
                          "    output ei_output()\n  }\n}\n");
    ck_assert_str_eq(got, "t.ein:6:12: error: unknown name 'ei_hidden'\n"
                          "    6 |     hidden ei_hidden(ne = 10) x 2\n"
                          "      |            ^~~~~~~~~\n"
                          "t.ein:6:12: note: 'ei_hidden' is defined in stdlib 'ei': add import \"ei\"\n");
    free(got);
    /* a name defined nowhere keeps its did-you-mean */
    expect_first("import \"ei\"\nexperiment e { network { input 784\n hidden ei_hiden(ne = 3)\n output ei_output() } }\n",
                 "t.ein:3:9: error: unknown name 'ei_hiden'");
}
END_TEST

Suite *ein_test_suite(void);

Suite *ein_test_suite(void)
{
    Suite *s = suite_create("hardening");
    TCase *tc = tcase_create("rows");
    tcase_set_timeout(tc, 120);   /* 200k bindings and 100k records, under ASan on a shared machine */
    tcase_add_test(tc, row01_min_mod_minus_one_is_an_overflow);
    tcase_add_test(tc, row02_integer_overflow_is_an_error);
    tcase_add_test(tc, row06_exponential_defs_hit_the_budget);
    tcase_add_test(tc, row07_two_hundred_thousand_bindings);
    tcase_add_test(tc, row15_nul_in_a_comment_is_an_error);
    tcase_add_test(tc, row04_label_past_the_limit_is_found);
    tcase_add_test(tc, row04_truncated_gzip_with_a_limit);
    tcase_add_test(tc, row05_train_and_test_sizes_differ);
    tcase_add_test(tc, row09_full_disk_while_writing_the_summary);
    tcase_add_test(tc, row10_a_folder_einrun_did_not_make_is_refused);
    tcase_add_test(tc, row12_a_fifo_is_refused_not_waited_for);
    tcase_add_test(tc, row13_stdin_is_read_once);
    tcase_add_test(tc, row17_a_selection_of_nothing_fails);
    tcase_add_test(tc, row03_widths_that_cannot_fit_are_errors_of_the_file);
    tcase_add_test(tc, row08_records_found_by_hashed_id);
    tcase_add_test(tc, row08_record_values_read_back_exact);
    tcase_add_test(tc, row11_import_symlink_to_a_non_ein_file);
    tcase_add_test(tc, row14_long_names_are_an_error_not_cut);
    tcase_add_test(tc, row18_unclosed_block_named_once);
    tcase_add_test(tc, row19_missing_import_reported_once_with_the_fix);
    tcase_add_test(tc, row15_leading_bom_is_skipped);
    suite_add_tcase(s, tc);
    return s;
}
