/* check_checker.c — the checker's rules (check.c, and the per-cell value rules
 * of eval.c/lower.c/grid.c it runs): each rule with a failing program and its
 * exact first diagnostic, and a passing neighbour; imports; several errors in
 * one run; every file of examples/ and stdlib/ checks clean. */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ein/check.h"
#include "ein/parse.h"

/* Parse and check `src` as tests/checker/t.ein (so relative imports find the
 * fixtures), with stdlib/ from the repository.  Returns the first diagnostic's
 * head line (malloc'd) or NULL when there is none; counts in *errors and *warnings. */
static char *check_src_opts(const char *src, const ein_check_options *opt, int *errors, int *warnings)
{
    ein_diag *d = ein_diag_new();
    ck_assert_ptr_nonnull(d);
    ein_program *p = ein_parse_buffer(d, "t.ein", src, strlen(src), NULL);
    ein_module *m = p ? ein_check_program(d, p, "tests/checker/t.ein", opt) : NULL;
    char *head = NULL;
    if (ein_diag_count(d) > 0) {
        size_t len = 0;
        FILE *f = open_memstream(&head, &len);
        ein_diag_print_head(d, 0, f);
        fclose(f);
        if (len && head[len - 1] == '\n')
            head[len - 1] = '\0';
    }
    if (errors)
        *errors = ein_diag_n_errors(d);
    if (warnings)
        *warnings = ein_diag_n_warnings(d);
    ck_assert_int_eq(m != NULL, ein_diag_n_errors(d) == 0);
    ein_module_free(m);
    ein_program_free(p);
    ein_diag_free(d);
    return head;
}

static char *check_src(const char *src, int *errors, int *warnings)
{
    ein_check_options opt = { .stdlib_dir = "stdlib" };
    return check_src_opts(src, &opt, errors, warnings);
}

/* The n-th diagnostic's notes joined, for note assertions. */
static char *note_of(const char *src, size_t which)
{
    ein_diag *d = ein_diag_new();
    ein_program *p = ein_parse_buffer(d, "t.ein", src, strlen(src), NULL);
    ein_check_options opt = { .stdlib_dir = "stdlib" };
    ein_module *m = ein_check_program(d, p, "tests/checker/t.ein", &opt);
    char *out = NULL;
    if (which < ein_diag_count(d)) {
        const ein_diagnostic *dg = ein_diag_get(d, which);
        if (dg->n_notes > 0) {
            char where[64] = "";
            if (dg->notes[0].loc.file >= 0)
                ein_diag_where(d, dg->notes[0].loc, where, sizeof where);
            size_t len = strlen(where) + strlen(dg->notes[0].msg) + 3;
            out = malloc(len);
            snprintf(out, len, "%s%s%s", where, where[0] ? ": " : "", dg->notes[0].msg);
        }
    }
    ein_module_free(m);
    ein_program_free(p);
    ein_diag_free(d);
    return out;
}

#define HDR "import \"ei\"\nimport \"fashion\"\n"
/* line 3: experiment e {, line 4: data, body from line 5 */
#define EXP(body) HDR "experiment e {\n  data = fashion_mnist()\n" body "}\n"

typedef struct rule_case {
    const char *name;
    const char *bad;        /* fails with exactly `first` */
    const char *first;
    const char *good;       /* checks with no diagnostics at all */
} rule_case;

static const rule_case rules[] = {
    { "unknown name",
      "width = 500\nexperiment e {\n  network {\n    hidden ei(ne = widht)\n    output ei(ne = 10)\n  }\n}\n",
      "t.ein:4:20: error: unknown name 'widht'",
      "width = 500\nexperiment e {\n  network {\n    hidden ei(ne = width)\n    output ei(ne = 10)\n  }\n}\n" },
    { "duplicate definition",
      "a = 1\nb = a\na = 2\nexperiment e { train { epochs = b } }\n",
      "t.ein:3:1: error: 'a' is already defined",
      "a = 1\nb = a\nexperiment e { train { epochs = b } }\n" },
    { "builtin redefined",
      "relu = 1\nexperiment e { train { epochs = relu } }\n",
      "t.ein:1:1: error: 'relu' is a builtin name and cannot be redefined",
      "my_relu = 1\nexperiment e { train { epochs = my_relu } }\n" },
    { "missing import",
      "import \"nowhere\"\nexperiment e { }\n",
      "t.ein:1:8: error: cannot find import 'nowhere' (searched: tests/checker, stdlib; EIN_PATH adds folders)",
      "import \"local_lib\"\nexperiment e { train { epochs = local_width } }\n" },
    { "import cycle",
      "import \"cycle_a\"\nexperiment e { train { epochs = a_value } }\n",
      "tests/checker/cycle_b.ein:2:8: error: import cycle: cycle_a.ein -> cycle_b.ein -> cycle_a.ein",
      "import \"diamond_a\"\nexperiment e { train { epochs = da + db } }\n" },
    { "unknown metric",
      EXP("  report { test_acc, tst_acc }\n"),
      "t.ein:5:22: error: unknown metric 'tst_acc' (valid: test_acc, train_acc, task_loss, inorm_loss, moments, cos_ln_out, cos_ln_grad, weights)",
      EXP("  report { test_acc, cos_ln_grad }\n") },
    { "unknown forward norm",
      EXP("  norm forward = layrnorm\n"),
      "t.ein:5:18: error: unknown forward norm 'layrnorm' (valid: none, layernorm, layernorm_fwd, center, scale, inorm, inorm_sub)",
      EXP("  norm forward = layernorm\n") },
    { "backward norm used forward",
      EXP("  norm forward = full\n"),
      "t.ein:5:18: error: 'full' is not a valid forward norm (valid: none, layernorm, layernorm_fwd, center, scale, inorm, inorm_sub)",
      EXP("  norm backward = full\n") },
    { "unknown backward norm in a layer",
      EXP("  network {\n    hidden ei(ne = 100, bwd = gradnrm)\n    output ei_output()\n  }\n"),
      "t.ein:6:31: error: unknown backward norm 'gradnrm' (valid: none, full, gradnorm, center, scale, decorrelate, fa_center)",
      EXP("  network {\n    hidden ei(ne = 100, bwd = gradnorm)\n    output ei_output()\n  }\n") },
    { "loss routed to a missing group",
      EXP("  loss inorm = inorm_loss() updates wix, bxi\n"),
      "t.ein:5:42: error: loss 'inorm' updates parameter group 'bxi', which does not exist (valid: wex, bias, wix, bix, wei, bei, all, excitatory, inhibitory)",
      EXP("  loss inorm = inorm_loss() updates wix, bix\n") },
    { "duplicate group in updates",
      EXP("  loss task = cross_entropy() updates wex, wex\n"),
      "t.ein:5:44: error: group 'wex' is given twice",
      EXP("  loss task = cross_entropy() updates excitatory\n") },
    { "unknown train setting",
      EXP("  train {\n    lr.wx = 0.1\n  }\n"),
      "t.ein:6:5: error: unknown train setting 'lr.wx'",
      EXP("  train {\n    lr.wix = 0.1\n  }\n") },
    { "duplicate train setting",
      EXP("  train {\n    lr = 0.1\n  }\n  train {\n    lr = 0.2\n  }\n"),
      "t.ein:9:5: error: setting 'lr' is given twice",
      EXP("  train {\n    lr = 0.1\n  }\n  train {\n    lr.wix = 0.2\n  }\n") },
    { "duplicate record key",
      "p = { fwd = none, fwd = full }\nexperiment e { norm forward = p.fwd }\n",
      "t.ein:1:19: error: duplicate key 'fwd'",
      "p = { fwd = none, bwd = full }\nexperiment e { norm forward = p.fwd  norm backward = p.bwd }\n" },
    { "duplicate loss",
      EXP("  loss task = cross_entropy()\n  loss task = inorm_loss()\n"),
      "t.ein:6:8: error: loss 'task' is given twice",
      EXP("  loss task = cross_entropy()\n  loss inorm = inorm_loss()\n") },
    { "duplicate data",
      EXP("  data = fashion_mnist(eps = 0.5)\n"),
      "t.ein:5:3: error: data is given twice",
      EXP("  train {\n    epochs = 2\n  }\n") },
    { "duplicate axis",
      EXP("  grid {\n    eps in [0]\n    eps in [1]\n  }\n  train {\n    epochs = eps + 1\n  }\n"),
      "t.ein:7:5: error: 'eps' is already defined",
      EXP("  grid {\n    eps in [0]\n    ep in [1]\n  }\n  train {\n    epochs = eps + ep\n  }\n") },
    { "axis never used",
      EXP("  grid {\n    seed in 1..3\n  }\n"),
      "t.ein:6:5: error: grid axis 'seed' is never used (its cells would all be the same)",
      EXP("  grid {\n    seed in 1..3\n  }\n  train {\n    seed = seed\n  }\n") },
    { "variant key not in every variant",
      EXP("  norm forward = v.fwd\n  grid {\n    v in { a: { fwd = none }, b: { bwd = full } }\n  }\n"),
      "t.ein:5:20: error: 'fwd' is not defined in every variant of 'v': variant 'b' lacks it",
      EXP("  norm forward = v.fwd\n  grid {\n    v in { a: { fwd = none }, b: { fwd = center } }\n  }\n") },
    { "zip of unequal lengths",
      EXP("  grid {\n    zip {\n      a in [1, 2]\n      b in [1, 2, 3]\n    }\n  }\n  train {\n    epochs = a\n    batch = b\n  }\n"),
      "t.ein:8:7: error: zip axes have different lengths: 'a' has 2 values, 'b' has 3",
      EXP("  grid {\n    zip {\n      a in [1, 2]\n      b in [1, 2]\n    }\n  }\n  train {\n    epochs = a\n    batch = b\n  }\n") },
    { "width below 1",
      EXP("  network {\n    hidden ei_hidden(ne = 0)\n    output ei_output()\n  }\n"),
      "t.ein:6:27: error: ne must be at least 1, got 0",
      EXP("  network {\n    hidden ei_hidden(ne = 1)\n    output ei_output()\n  }\n") },
    { "ni below 1",
      EXP("  network {\n    hidden ei(ne = 10, ni = 0)\n    output ei_output()\n  }\n"),
      "t.ein:6:29: error: ni must be at least 1, got 0",
      EXP("  network {\n    hidden ei(ne = 10, ni = 1)\n    output ei_output()\n  }\n") },
    { "width not an integer",
      EXP("  network {\n    hidden ei(ne = 2.5)\n    output ei_output()\n  }\n"),
      "t.ein:6:20: error: ne must be an integer, got number 2.5",
      EXP("  network {\n    hidden ei(ne = 2.0)\n    output ei_output()\n  }\n") },
    { "eps above 1 (per cell)",
      HDR "experiment e {\n  data = fashion_mnist(eps = eps)\n  grid {\n    eps in [0.5, 1.5]\n  }\n}\n",
      "t.ein:6:18: error: eps must be in [0, 1], got 1.5",
      HDR "experiment e {\n  data = fashion_mnist(eps = eps)\n  grid {\n    eps in [0, 1]\n  }\n}\n" },
    { "negative eps",
      HDR "experiment e {\n  data = fashion_mnist(eps = -0.25)\n}\n",
      "t.ein:4:30: error: eps must be in [0, 1], got -0.25",
      HDR "experiment e {\n  data = fashion_mnist(eps = 0.25)\n}\n" },
    { "smoothing is a probability",
      EXP("  loss task = cross_entropy(smoothing = 1)\n"),
      "t.ein:5:41: error: smoothing must be in [0, 1), got 1",
      EXP("  loss task = cross_entropy(smoothing = 0.99)\n") },
    { "momentum is a probability",
      EXP("  train {\n    momentum = 1.5\n  }\n"),
      "t.ein:6:16: error: momentum must be in [0, 1), got 1.5",
      EXP("  train {\n    momentum = 0.9\n  }\n") },
    { "momentum_inhib under adam does not apply (schema context)",
      EXP("  train {\n    optimizer = adam\n    momentum_inhib = 0.5\n  }\n"),
      "t.ein:7:5: error: 'train.momentum_inhib' does not apply here: the optimizer is adam "
      "(it applies to optimizer = sgd); Adam's first-moment decay is train.adam.beta1",
      EXP("  train {\n    optimizer = sgd\n    momentum_inhib = 0.5\n  }\n") },
    { "adam.beta1 under sgd does not apply",
      EXP("  train {\n    adam.beta1 = 0.8\n  }\n"),
      "t.ein:6:5: error: 'train.adam.beta1' does not apply here: the optimizer is sgd "
      "(it applies to optimizer = adam); SGD's counterpart is train.momentum",
      EXP("  train {\n    optimizer = adam\n    adam.beta1 = 0.8\n  }\n") },
    { "learn on a LayerNorm layer does not apply",
      EXP("  network {\n    hidden ei(ne = 100, fwd = layernorm, learn = [wix])\n    output ei_output()\n  }\n"),
      "t.ein:6:50: error: 'hidden[0].learn' does not apply here: this layer's forward norm is layernorm, "
      "not I-Norm (it applies to I-Norm layers); use train.frozen to stop a group from learning",
      EXP("  network {\n    hidden ei(ne = 100, fwd = inorm, learn = [wix])\n    output ei_output()\n  }\n") },
    { "a layer's lr names groups from the schema",
      EXP("  network {\n    hidden ei(ne = 100, lr = { wux = 0.3 })\n    output ei_output()\n  }\n"),
      "t.ein:6:32: error: lr has no group 'wux' (valid: wex, bias, wix, bix, wei, bei)",
      EXP("  network {\n    hidden ei(ne = 100, lr = { wix = 0.3 })\n    output ei_output()\n  }\n") },
    { "an I-Norm layer needs its I-Norm loss",
      EXP("  network {\n    hidden ei(ne = 100, fwd = inorm)\n    output ei_output()\n  }\n"
          "  loss task = cross_entropy()\n"),
      "t.ein:6:5: error: hidden layer 0 is an I-Norm layer (fwd = inorm) but no I-Norm loss trains its "
      "inhibition: add `loss inorm = inorm_loss()` (with a positive weight)",
      EXP("  network {\n    hidden ei(ne = 100, fwd = inorm)\n    output ei_output()\n  }\n"
          "  loss task = cross_entropy()\n  loss inorm = inorm_loss()\n") },
    { "learning rate must be positive",
      EXP("  train {\n    lr.wix = 0\n  }\n"),
      "t.ein:6:14: error: lr.wix must be positive, got 0",
      EXP("  train {\n    lr.wix = 0.5\n  }\n") },
    { "epochs at least 1",
      EXP("  train {\n    epochs = 0\n  }\n"),
      "t.ein:6:14: error: epochs must be at least 1, got 0",
      EXP("  train {\n    epochs = 1\n  }\n") },
    { "batch at least 1",
      EXP("  train {\n    batch = 0\n  }\n"),
      "t.ein:6:13: error: batch must be at least 1, got 0",
      EXP("  train {\n    batch = 1\n  }\n") },
    { "batch set twice",
      HDR "experiment e {\n  data = fashion_mnist(batch = 32)\n  train {\n    batch = 64\n  }\n}\n",
      "t.ein:6:13: error: batch is 64 here but 32 in data",
      HDR "experiment e {\n  data = fashion_mnist(batch = 64)\n  train {\n    batch = 64\n  }\n}\n" },
    { "input size mismatch",
      EXP("  network {\n    input 100\n    output ei_output()\n  }\n"),
      "t.ein:6:11: error: input size 100 does not match the data (784 values per image)",
      HDR "experiment e {\n  data = idx(dir = \"d\", pixels = 100)\n  network {\n    input 100\n    output ei_output()\n  }\n}\n" },
    { "output classes mismatch",
      EXP("  network {\n    output ei_output(classes = 5)\n  }\n"),
      "t.ein:6:12: error: output layer has 5 units but the data has 10 classes",
      HDR "experiment e {\n  data = idx(dir = \"d\", classes = 5)\n  network {\n    output ei_output(classes = 5)\n  }\n}\n" },
    { "data of the wrong type",
      "experiment e {\n  data = 3\n}\n",
      "t.ein:2:10: error: data must be a data set (idx(...) or fashion_mnist(...)), got integer 3",
      "experiment e {\n  data = idx()\n}\n" },
    { "hidden layer of the wrong type",
      EXP("  network {\n    hidden 500\n    output ei_output()\n  }\n"),
      "t.ein:6:12: error: hidden layer must be a layer (ei(...) or e_only(...)) or a list of widths, got integer 500",
      EXP("  network {\n    hidden e_only_hidden(500)\n    output ei_output()\n  }\n") },
    { "repetition below 1",
      EXP("  network {\n    hidden ei(ne = 10) x 0\n    output ei_output()\n  }\n"),
      "t.ein:6:26: error: repetition count must be at least 1, got 0",
      EXP("  network {\n    hidden ei(ne = 10) x 16\n    output ei_output()\n  }\n") },
    { "too many hidden layers",
      EXP("  network {\n    hidden ei(ne = 10) x 17\n    output ei_output()\n  }\n"),
      "t.ein:6:5: error: too many hidden layers (at most 16)",
      EXP("  network {\n    hidden ei(ne = 10) x 8\n    hidden ei(ne = 10) x 8\n    output ei_output()\n  }\n") },
    { "unknown parameter",
      EXP("  network {\n    hidden ei_hidden(ne = 10, fwdd = center)\n    output ei_output()\n  }\n"),
      "t.ein:6:31: error: 'ei_hidden' has no parameter 'fwdd'",
      EXP("  network {\n    hidden ei_hidden(ne = 10, fwd = center)\n    output ei_output()\n  }\n") },
    { "missing argument",
      EXP("  network {\n    hidden ei_hidden()\n    output ei_output()\n  }\n"),
      "t.ein:6:12: error: missing argument 'ne' in call of 'ei_hidden'",
      EXP("  network {\n    hidden ei_hidden(10)\n    output ei_output()\n  }\n") },
    { "too many arguments",
      "w = floor(1, 2)\nexperiment e { train { epochs = w } }\n",
      "t.ein:1:14: error: 'floor' takes at most 1 argument",
      "w = floor(1.5)\nexperiment e { train { epochs = w } }\n" },
    { "definition cycle",
      "a = b + 1\nb = a\nexperiment e { train { epochs = b } }\n",
      "t.ein:2:5: error: 'a' is defined in terms of itself",
      "a = 1\nb = a\nexperiment e { train { epochs = b } }\n" },
    { "runaway recursion",
      "def f(n) = f(n + 1)\nexperiment e { train { epochs = f(1) } }\n",
      "t.ein:1:12: error: calls nested too deeply (recursion in 'f'?)",
      "def f(n, m = n * 2) = if n > 3 then m else f(n + 1)\nexperiment e { train { epochs = f(1) } }\n" },
    { "unused definition (warning)",
      "width = 500\nheight = 3\nexperiment e { train { epochs = width } }\n",
      "t.ein:2:1: warning: 'height' is defined but never used",
      "width = 500\n_height = 3\nexperiment e { train { epochs = width } }\n" },
    { "unused local (warning)",
      EXP("  lr_i = 0.1\n"),
      "t.ein:5:3: warning: 'lr_i' is defined but never used",
      EXP("  lr_i = 0.1\n  train {\n    lr.wix = lr_i\n  }\n") },
    { "where must be boolean",
      EXP("  grid {\n    eps in [0, 1]\n    where eps\n  }\n"),
      "t.ein:7:11: error: a where filter must be true or false, got integer",
      EXP("  grid {\n    eps in [0, 1]\n    where eps > 0\n  }\n") },
    { "every cell excluded",
      EXP("  grid {\n    eps in [0, 1]\n    where eps > 1\n  }\n"),
      "t.ein:5:3: error: every cell is excluded by the where filters",
      EXP("  grid {\n    eps in [0, 1]\n    where eps >= 1\n  }\n") },
    { "unknown distribution",
      EXP("  grid {\n    cfg in sample 3 seed 1 {\n      lr ~ lognormal(1, 2)\n    }\n  }\n  train {\n    lr = cfg.lr\n  }\n"),
      "t.ein:7:12: error: unknown distribution 'lognormal' (valid: loguniform, uniform, randint)",
      EXP("  grid {\n    cfg in sample 3 seed 1 {\n      lr ~ loguniform(1e-3, 1e-2)\n    }\n  }\n  train {\n    lr = cfg.lr\n  }\n") },
    { "division by zero",
      "w = 1 / 0\nexperiment e { train { epochs = w } }\n",
      "t.ein:1:9: error: division by zero",
      "w = 2 / 1\nexperiment e { train { epochs = w } }\n" },
    { "identical cells",
      EXP("  norm forward = v.fwd\n  grid {\n    v in { a: { fwd = center }, b: { fwd = center } }\n  }\n"),
      "t.ein:6:3: error: two cells have the same configuration (v=a and v=b)",
      EXP("  norm forward = v.fwd\n  grid {\n    v in { a: { fwd = center }, b: { fwd = scale } }\n  }\n") },
    { "unknown field",
      "p = { fwd = none }\nexperiment e { norm forward = p.fdw }\n",
      "t.ein:2:33: error: record has no field 'fdw'",
      "p = { fwd = none }\nexperiment e { norm forward = p.fwd }\n" },
    { "statement outside an experiment (REPL form)",
      "experiment e { train { epochs = 1.5 } }\n",
      "t.ein:1:33: error: epochs must be an integer, got number 1.5",
      "experiment e { train { epochs = 3 } }\n" },
    { "duplicate experiment",
      "experiment e { }\nexperiment e { }\n",
      "t.ein:2:12: error: experiment 'e' is given twice",
      "experiment e { }\nexperiment f { }\n" },
    { "learn groups",
      EXP("  network {\n    hidden ei(ne = 10, fwd = inorm, learn = [wix, bias, wxi])\n    output ei_output()\n  }\n"),
      "t.ein:6:57: error: unknown name 'wxi'",
      EXP("  network {\n    hidden ei(ne = 10, fwd = inorm, learn = [wix, bix, wei])\n    output ei_output()\n  }\n") },
    { "optimizer",
      EXP("  train {\n    optimizer = adamw\n  }\n"),
      "t.ein:6:17: error: unknown name 'adamw'",
      EXP("  train {\n    optimizer = adam\n  }\n") },
    { "optimizer of the wrong kind",
      EXP("  train {\n    optimizer = relu\n  }\n"),
      "t.ein:6:17: error: 'relu' is not a valid optimizer (valid: sgd, adam)",
      EXP("  train {\n    optimizer = sgd\n  }\n") },
};

START_TEST(rule_fails_with_exact_first_line)
{
    const rule_case *c = &rules[_i];
    char *head = check_src(c->bad, NULL, NULL);
    ck_assert_msg(head != NULL, "%s: no diagnostic", c->name);
    ck_assert_msg(strcmp(head, c->first) == 0, "%s:\n  got  %s\n  want %s", c->name, head, c->first);
    free(head);
}
END_TEST

START_TEST(rule_passes_clean)
{
    const rule_case *c = &rules[_i];
    int errors = -1, warnings = -1;
    char *head = check_src(c->good, &errors, &warnings);
    ck_assert_msg(head == NULL, "%s: unexpected %s", c->name, head);
    ck_assert_int_eq(errors, 0);
    ck_assert_int_eq(warnings, 0);
}
END_TEST

START_TEST(did_you_mean_notes)
{
    char *n = note_of("width = 500\nexperiment e { train { epochs = widht } }\n", 0);
    ck_assert_str_eq(n, "did you mean 'width'?");
    free(n);
    n = note_of(EXP("  report { test_acc, tst_acc }\n"), 0);
    ck_assert_str_eq(n, "did you mean 'test_acc'?");
    free(n);
    n = note_of(EXP("  train {\n    lr.wx = 0.1\n  }\n"), 0);
    ck_assert_str_eq(n, "did you mean 'lr.wex'?");
    free(n);
    n = note_of(EXP("  network {\n    hidden ei_hidden(ne = 10, fwdd = center)\n    output ei_output()\n  }\n"), 0);
    ck_assert_str_eq(n, "did you mean 'fwd'?");
    free(n);
}
END_TEST

START_TEST(duplicates_show_both_places)
{
    char *n = note_of("a = 1\nb = a\na = 2\nexperiment e { train { epochs = b } }\n", 0);
    ck_assert_str_eq(n, "t.ein:1:1: 'a' was first defined here");
    free(n);
    n = note_of(EXP("  train {\n    lr = 0.1\n  }\n  train {\n    lr = 0.2\n  }\n"), 0);
    ck_assert_str_eq(n, "t.ein:6:5: first given here");
    free(n);
    n = note_of(EXP("  norm forward = v.fwd\n  grid {\n    v in { a: { fwd = none }, b: { bwd = full } }\n  }\n"), 0);
    ck_assert_str_eq(n, "t.ein:7:34: variant 'b' is defined here");
    free(n);
}
END_TEST

START_TEST(several_errors_per_run)
{
    int errors = 0;
    char *head = check_src(EXP("  report { tst_acc }\n  norm forward = centre\n  train {\n    lr.wx = 1\n  }\n"),
                           &errors, NULL);
    ck_assert_str_eq(head, "t.ein:5:12: error: unknown metric 'tst_acc' (valid: test_acc, train_acc, task_loss, inorm_loss, moments, cos_ln_out, cos_ln_grad, weights)");
    ck_assert_int_eq(errors, 3);
    free(head);
    /* per-cell value rules: one report per place, however many cells break it */
    head = check_src(HDR "experiment e {\n  data = fashion_mnist(eps = eps)\n  train {\n    epochs = n\n  }\n"
                     "  grid {\n    eps in [2, 3, 4]\n    n in [0, 1]\n  }\n}\n", &errors, NULL);
    ck_assert_str_eq(head, "t.ein:9:13: error: eps must be in [0, 1], got 2");
    ck_assert_int_eq(errors, 4);   /* eps 2, 3, 4 (each in two cells) and epochs 0 (in three) */
    free(head);
}
END_TEST

START_TEST(import_search_order)
{
    /* EIN_PATH (here through the options) after the file's own folder */
    ein_check_options opt = { .stdlib_dir = "stdlib", .ein_path = "tests/nowhere:tests/checker/path" };
    char *head = check_src_opts("import \"path_lib\"\nexperiment e { train { epochs = path_width } }\n",
                                &opt, NULL, NULL);
    ck_assert_ptr_null(head);
    ein_check_options no_path = { .stdlib_dir = "stdlib", .ein_path = "" };
    head = check_src_opts("import \"path_lib\"\nexperiment e { train { epochs = path_width } }\n",
                          &no_path, NULL, NULL);
    ck_assert_str_eq(head, "t.ein:1:8: error: cannot find import 'path_lib' (searched: tests/checker, stdlib; EIN_PATH adds folders)");
    free(head);
    /* $EIN_PATH itself when the options leave it out */
    setenv("EIN_PATH", "tests/checker/path", 1);
    head = check_src("import \"path_lib\"\nexperiment e { train { epochs = path_width } }\n", NULL, NULL);
    unsetenv("EIN_PATH");
    ck_assert_ptr_null(head);
    /* a name ending in .ein is taken as is */
    head = check_src("import \"local_lib.ein\"\nexperiment e { train { epochs = local_width } }\n", NULL, NULL);
    ck_assert_ptr_null(head);
}
END_TEST

START_TEST(stdlib_found_without_options)
{
    char buf[4096];
    ck_assert_ptr_nonnull(ein_stdlib_dir(NULL, buf, sizeof buf));
    ein_check_options bad = { .stdlib_dir = "tests/no-such-stdlib" };
    ck_assert_ptr_null(ein_stdlib_dir(&bad, buf, sizeof buf));
}
END_TEST

START_TEST(check_file_io_error)
{
    ein_diag *d = ein_diag_new();
    ein_err err = {0};
    ck_assert_ptr_null(ein_check_file(d, "tests/checker/missing.ein", NULL, &err));
    ck_assert_int_eq(err.code, EIN_ERR_IO);
    ck_assert_int_eq((int)ein_diag_count(d), 0);
    ein_diag_free(d);
}
END_TEST

/* Every .ein file in a folder checks with no error and no warning. */
static void check_folder_clean(const char *dir)
{
    DIR *dp = opendir(dir);
    ck_assert_ptr_nonnull(dp);
    int files = 0;
    struct dirent *de;
    while ((de = readdir(dp))) {
        size_t n = strlen(de->d_name);
        if (n < 5 || strcmp(de->d_name + n - 4, ".ein"))
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        ein_diag *d = ein_diag_new();
        ein_err err = {0};
        ein_check_options opt = { .stdlib_dir = "stdlib" };
        ein_module *m = ein_check_file(d, path, &opt, &err);
        if (ein_diag_count(d) > 0)
            ein_diag_print(d, stderr);
        ck_assert_msg(m != NULL, "%s does not check", path);
        ck_assert_msg(ein_diag_count(d) == 0, "%s has diagnostics", path);
        ein_module_free(m);
        ein_diag_free(d);
        files++;
    }
    closedir(dp);
    ck_assert_int_gt(files, 0);
}

START_TEST(examples_check_clean) { check_folder_clean("examples"); }
END_TEST

START_TEST(stdlib_checks_clean) { check_folder_clean("stdlib"); }
END_TEST

Suite *ein_test_suite(void)
{
    Suite *s = suite_create("checker");
    TCase *tc = tcase_create("rules");
    int n = (int)(sizeof rules / sizeof rules[0]);
    tcase_add_loop_test(tc, rule_fails_with_exact_first_line, 0, n);
    tcase_add_loop_test(tc, rule_passes_clean, 0, n);
    tcase_add_test(tc, did_you_mean_notes);
    tcase_add_test(tc, duplicates_show_both_places);
    tcase_add_test(tc, several_errors_per_run);
    suite_add_tcase(s, tc);
    TCase *ti = tcase_create("imports");
    tcase_add_test(ti, import_search_order);
    tcase_add_test(ti, stdlib_found_without_options);
    tcase_add_test(ti, check_file_io_error);
    suite_add_tcase(s, ti);
    TCase *tf = tcase_create("files");
    tcase_set_timeout(tf, 20);
    tcase_add_test(tf, examples_check_clean);
    tcase_add_test(tf, stdlib_checks_clean);
    suite_add_tcase(s, tf);
    return s;
}
