/* check_lower.c — lowering of representative programs to exact ein_cell_config
 * values: model.md defaults where the program is silent, each setting where
 * it speaks, and the canonical text the cell ids hash. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "ein/check.h"
#include "ein/grid.h"
#include "ein/parse.h"

/* The cells of the program's only experiment; fails the test on any error. */
static ein_cell_list lower_all(const char *src)
{
    ein_diag *d = ein_diag_new();
    ein_program *p = ein_parse_buffer(d, "t.ein", src, strlen(src), NULL);
    ein_check_options opt = { .stdlib_dir = "stdlib" };
    ein_module *m = p ? ein_check_program(d, p, "t.ein", &opt) : NULL;
    ein_cell_list list = {0};
    bool ok = m && ein_grid_expand(m, NULL, NULL, 0, &list);
    if (!ok)
        ein_diag_print(d, stderr);
    ck_assert_msg(ok, "program does not lower");
    ein_module_free(m);
    ein_program_free(p);
    ein_diag_free(d);
    return list;
}

static ein_cell_config lower_one(const char *src)
{
    ein_cell_list list = lower_all(src);
    ck_assert_int_eq(list.n, 1);
    ein_cell_config cfg = *tu_cfg(&list.cells[0]);
    ein_cell_list_free(&list);
    return cfg;
}

#define HDR "import \"ei\"\nimport \"fashion\"\n"
#define G(g) (1u << EIN_GROUP_##g)

START_TEST(empty_experiment_is_model_md)
{
    ein_cell_config cfg = lower_one("experiment e { }\n");
    ein_cell_config ref;
    ein_config_defaults(&ref);
    ein_config_resolve(&ref);
    /* the same configuration, apart from where the layers were declared */
    for (int i = 0; i < ref.n_hidden; i++)
        strcpy(ref.hidden[i].where, "t.ein:1:12");
    strcpy(ref.output.where, "t.ein:1:12");
    char *a = NULL, *b = NULL;
    size_t la, lb;
    FILE *fa = open_memstream(&a, &la), *fb = open_memstream(&b, &lb);
    ein_config_write(fa, &cfg, EIN_CONFIG_PROVENANCE);
    ein_config_write(fb, &ref, EIN_CONFIG_PROVENANCE);
    fclose(fa);
    fclose(fb);
    ck_assert_str_eq(a, b);
    free(a);
    free(b);
    ck_assert_int_eq(cfg.n_hidden, 2);
    ck_assert_int_eq(cfg.hidden[1].ne, 500);
    ck_assert_int_eq(cfg.hidden[1].ni, 50);
    ck_assert_int_eq(cfg.output.ne, 10);
    ck_assert_int_eq(cfg.output.ni, 1);
    ck_assert_int_eq(cfg.output.act, EIN_ACT_NONE);
    ck_assert_int_eq(cfg.train.epochs, 50);
    ck_assert_int_eq(cfg.train.batch, 32);
    ck_assert(cfg.train.lr[EIN_GROUP_WIX] == 0.1);
    ck_assert(cfg.train.frozen[EIN_GROUP_BEI]);
    ck_assert(isnan(cfg.data.fixed_test_delta));
    ck_assert_int_eq(cfg.n_losses, 1);
    ck_assert(cfg.losses[0].label_smoothing == 0.1);
    ck_assert_uint_eq(cfg.metrics, 7u);
    ck_assert_str_eq(cfg.results_dir, "");
}
END_TEST

START_TEST(network_layers_and_norms)
{
    ein_cell_config cfg = lower_one(HDR
        "experiment e {\n"
        "  network {\n"
        "    input 784\n"
        "    hidden ei_hidden(ne = 300, fwd = center) x 2\n"
        "    hidden ei(ne = 120, ni = 7, init = exponential, bwd = fa_center)\n"
        "    hidden e_only_hidden(ne = 64)\n"
        "    output ei_output()\n"
        "  }\n"
        "  norm forward = inorm\n"
        "  norm backward = gradnorm\n"
        "}\n");
    ck_assert_int_eq(cfg.n_hidden, 4);
    ck_assert_int_eq(cfg.hidden[0].ne, 300);
    ck_assert_int_eq(cfg.hidden[0].ni, 30);
    ck_assert_int_eq(cfg.hidden[0].fwd, EIN_FWD_CENTER);        /* per-layer override */
    ck_assert_int_eq(cfg.hidden[0].bwd, EIN_BWD_FULL);          /* inherited, gradnorm = full */
    ck_assert_uint_eq(cfg.hidden[0].inhib_learn, EIN_GROUPS_ALL);
    ck_assert_str_eq(cfg.hidden[1].where, "t.ein:6:5");
    ck_assert_int_eq(cfg.hidden[2].ni, 7);
    ck_assert_int_eq(cfg.hidden[2].init, EIN_INIT_EXPONENTIAL);
    ck_assert_int_eq(cfg.hidden[2].fwd, EIN_FWD_INORM);         /* inherited */
    ck_assert_int_eq(cfg.hidden[2].bwd, EIN_BWD_FA_CENTER);
    ck_assert_uint_eq(cfg.hidden[2].inhib_learn, G(WIX) | G(BIX));  /* M4 default for inorm */
    ck_assert_int_eq(cfg.hidden[3].kind, EIN_LAYER_E_ONLY);
    ck_assert_int_eq(cfg.hidden[3].ni, 0);
    ck_assert_int_eq(cfg.hidden[3].fwd, EIN_FWD_LAYERNORM);     /* M3: always layernorm */
    ck_assert_int_eq(cfg.hidden[3].bwd, EIN_BWD_FULL);
    ck_assert_str_eq(cfg.hidden[3].where, "t.ein:8:5");
    ck_assert_int_eq(cfg.output.fwd, EIN_FWD_NONE);             /* the output never inherits */
    ck_assert_int_eq(cfg.output.bwd, EIN_BWD_NONE);
    ck_assert_int_eq(cfg.output.ni, 1);
    ck_assert_int_eq(cfg.output.act, EIN_ACT_NONE);
    ck_assert_str_eq(cfg.output.where, "t.ein:9:5");
}
END_TEST

START_TEST(inorm_sub_and_learn_sets)
{
    ein_cell_config cfg = lower_one(HDR
        "experiment e {\n"
        "  network {\n"
        "    hidden ei(ne = 100, fwd = inorm_sub) x 2\n"
        "    hidden ei(ne = 100, fwd = inorm, learn = [wix, bix, wei])\n"
        "    output ei(ne = 10, ni = 1, act = relu)\n"
        "  }\n"
        "  loss task = cross_entropy(smoothing = 0)\n"
        "  loss inorm = inorm_loss()\n"
        "}\n");
    ck_assert_uint_eq(cfg.hidden[0].inhib_learn, G(WIX) | G(WEI));   /* M5 */
    ck_assert_uint_eq(cfg.hidden[2].inhib_learn, G(WIX) | G(BIX) | G(WEI));
    ck_assert_int_eq(cfg.output.act, EIN_ACT_RELU);
    ck_assert_int_eq(cfg.n_losses, 2);
    ck_assert_int_eq(cfg.losses[0].kind, EIN_LOSS_TASK);
    ck_assert(cfg.losses[0].label_smoothing == 0.0);
    ck_assert(cfg.losses[0].weight == 1.0);
    ck_assert_int_eq(cfg.losses[1].kind, EIN_LOSS_INORM);
    ck_assert_str_eq(cfg.losses[1].name, "inorm");
    ck_assert(cfg.losses[1].weight == 0.001);                      /* λ for inorm_sub (M5) */
    ck_assert_uint_eq(cfg.losses[1].groups, EIN_GROUPS_DEFAULT);
    ck_assert_str_eq(cfg.losses[1].where, "t.ein:10:3");
}
END_TEST

START_TEST(inorm_loss_by_default)
{
    ein_cell_config cfg = lower_one("experiment e { norm forward = inorm }\n");
    ck_assert_int_eq(cfg.n_losses, 2);
    ck_assert_int_eq(cfg.losses[1].kind, EIN_LOSS_INORM);
    ck_assert_str_eq(cfg.losses[1].name, "inorm");
    ck_assert(cfg.losses[1].weight == 0.01);                       /* M5 */
    ck_assert_str_eq(cfg.losses[1].where, "t.ein:1:12");
    cfg = lower_one("experiment e { norm forward = layernorm }\n");
    ck_assert_int_eq(cfg.n_losses, 1);
    cfg = lower_one("experiment e { norm forward = inorm  loss task = cross_entropy()"
                    "  loss local = inorm_loss() weight 0.5 }\n");
    ck_assert_int_eq(cfg.n_losses, 2);                             /* declared losses are all */
    ck_assert_str_eq(cfg.losses[1].name, "local");
    ck_assert(cfg.losses[1].weight == 0.5);
}
END_TEST

START_TEST(loss_weights_and_routing)
{
    ein_cell_config cfg = lower_one(HDR
        "experiment e {\n"
        "  network {\n"
        "    hidden ei(ne = 100, fwd = inorm)\n"
        "    output ei_output()\n"
        "  }\n"
        "  loss task = cross_entropy() updates excitatory, bix\n"
        "  loss inorm = inorm_loss() weight 0.5 updates inhibitory\n"
        "  loss extra = cross_entropy(smoothing = 0.2) weight 2 updates all\n"
        "}\n");
    ck_assert_int_eq(cfg.n_losses, 3);
    ck_assert_uint_eq(cfg.losses[0].groups, G(WEX) | G(BIAS) | G(BIX));
    ck_assert(cfg.losses[1].weight == 0.5);
    ck_assert_uint_eq(cfg.losses[1].groups, G(WIX) | G(BIX) | G(WEI) | G(BEI));
    ck_assert(cfg.losses[2].weight == 2.0);
    ck_assert(cfg.losses[2].label_smoothing == 0.2);
    ck_assert_uint_eq(cfg.losses[2].groups, EIN_GROUPS_ALL);
}
END_TEST

START_TEST(train_settings)
{
    ein_cell_config cfg = lower_one(
        "experiment e {\n"
        "  train {\n"
        "    lr.bix = 0.5\n"          /* the single group wins over lr.wix, whatever the order */
        "    lr = 0.02\n"
        "    lr.wix = 0.2\n"
        "    lr.wei = 0.003\n"
        "    lr.bei = 0.004\n"
        "    momentum = 0.9\n"
        "    momentum_inhib = 0.5\n"
        "    weight_decay = 0.0001\n"
        "    epochs = 3\n"
        "    batch = 64\n"
        "    shuffle = true\n"
        "    seed = 42\n"
        "    clamp = false\n"
        "    frozen = [wei, bei]\n"
        "  }\n"
        "}\n");
    const ein_train_config *t = &cfg.train;
    ck_assert(t->lr[EIN_GROUP_WEX] == 0.02 && t->lr[EIN_GROUP_BIAS] == 0.02);
    ck_assert(t->lr[EIN_GROUP_WIX] == 0.2);
    ck_assert(t->lr[EIN_GROUP_BIX] == 0.5);
    ck_assert(t->lr[EIN_GROUP_WEI] == 0.003);
    ck_assert(t->lr[EIN_GROUP_BEI] == 0.004);
    ck_assert_int_eq(t->optimizer, EIN_OPT_SGD);
    ck_assert(t->momentum == 0.9 && t->momentum_inhib == 0.5 && t->weight_decay == 0.0001);
    ck_assert_int_eq(t->epochs, 3);
    ck_assert_int_eq(t->batch, 64);
    ck_assert(t->shuffle);
    ck_assert_uint_eq(t->seed, 42);
    ck_assert(!t->clamp);
    ck_assert(!t->frozen[EIN_GROUP_WEX] && t->frozen[EIN_GROUP_WEI] && t->frozen[EIN_GROUP_BEI]);
    cfg = lower_one("experiment e {\n  train {\n    optimizer = adam\n    adam.beta1 = 0.8\n"
                    "    adam.beta2 = 0.99\n    adam.eps = 1e-6\n    frozen = [wix]\n  }\n}\n");
    t = &cfg.train;
    ck_assert_int_eq(t->optimizer, EIN_OPT_ADAM);
    ck_assert(t->adam_beta1 == 0.8 && t->adam_beta2 == 0.99 && t->adam_eps == 1e-6);
    /* frozen adds to the default set: B_ei stays frozen (M8) */
    ck_assert(t->frozen[EIN_GROUP_WIX] && t->frozen[EIN_GROUP_BEI] && !t->frozen[EIN_GROUP_WEX]);
}
END_TEST

/* Beyond the paper's per-group M8: hidden layers as a list of widths, a
 * layer's own learning rates and frozen groups, an E-only output layer. */
START_TEST(widths_layer_rates_and_e_only_output)
{
    ein_cell_config cfg = lower_one(HDR
        "experiment e {\n"
        "  network {\n"
        "    hidden [300, 200]\n"
        "    hidden ei(ne = 100, frozen = [wex], lr = { wix = 0.3 })\n"
        "    output e_only(ne = 10)\n"
        "  }\n"
        "  norm forward = layernorm\n"
        "}\n");
    ck_assert_int_eq(cfg.n_hidden, 3);
    ck_assert_int_eq(cfg.hidden[0].ne, 300);
    ck_assert_int_eq(cfg.hidden[1].ne, 200);
    ck_assert_int_eq(cfg.hidden[1].ni, 20);                        /* M1 auto */
    ck_assert_int_eq(cfg.hidden[0].fwd, EIN_FWD_LAYERNORM);         /* the network's norm */
    ck_assert_uint_eq(cfg.hidden[2].frozen, G(WEX));
    ck_assert(cfg.hidden[2].lr[EIN_GROUP_WIX] == 0.3 && cfg.hidden[2].lr[EIN_GROUP_BIX] == 0.3);
    ck_assert(cfg.hidden[2].lr[EIN_GROUP_WEX] == -1 && cfg.hidden[0].lr[EIN_GROUP_WIX] == -1);
    ck_assert_int_eq(cfg.output.kind, EIN_LAYER_E_ONLY);
    ck_assert_int_eq(cfg.output.ni, 0);
}
END_TEST

START_TEST(momentum_inhib_follows_momentum)
{
    ein_cell_config cfg = lower_one("experiment e { train { momentum = 0.3  frozen = [] } }\n");
    ck_assert(cfg.train.momentum_inhib == 0.3);
    ck_assert(!cfg.train.frozen[EIN_GROUP_BEI]);
}
END_TEST

START_TEST(data_settings)
{
    ein_cell_config cfg = lower_one(
        "experiment e {\n"
        "  data = idx(dir = \"/data/mnist\", train_images = \"a.idx\", train_labels = \"b.idx\",\n"
        "             test_images = \"c.idx\", test_labels = \"d.idx\", eps = 0.75, batch = 16,\n"
        "             shuffle = true, limit_train = 1000, limit_test = 500, fixed_delta = -0.5,\n"
        "             shift_train = false)\n"
        "}\n");
    const ein_data_config *d = &cfg.data;
    ck_assert_str_eq(d->dir, "/data/mnist");
    ck_assert_str_eq(d->train_images, "a.idx");
    ck_assert_str_eq(d->test_labels, "d.idx");
    ck_assert(d->eps == 0.75);
    ck_assert(!d->shift_train && d->shift_test);
    ck_assert(d->fixed_test_delta == -0.5);
    ck_assert_int_eq(d->limit_train, 1000);
    ck_assert_int_eq(d->limit_test, 500);
    ck_assert_int_eq(cfg.train.batch, 16);
    ck_assert(cfg.train.shuffle);
}
END_TEST

START_TEST(fashion_mnist_from_stdlib)
{
    ein_cell_config cfg = lower_one(HDR "experiment e { data = fashion_mnist(eps = 0.25, limit_train = 100) }\n");
    ck_assert_str_eq(cfg.data.dir, "");   /* $EIN_DATA, else /usr/share/datasets/fashion-mnist */
    ck_assert(cfg.data.eps == 0.25);
    ck_assert_int_eq(cfg.data.limit_train, 100);
    ck_assert_int_eq(cfg.train.batch, 32);
    ck_assert(!cfg.train.shuffle);
}
END_TEST

START_TEST(report_and_locals)
{
    ein_cell_config cfg = lower_one(
        "base = 0.04\n"
        "def half(x) = x / 2\n"
        "experiment e {\n"
        "  lr_i = half(base) * 10\n"
        "  train { lr = base  lr.wix = lr_i }\n"
        "  report \"results/x\" { moments, cos_ln_out }\n"
        "  report { cos_ln_grad }\n"
        "}\n");
    ck_assert(cfg.train.lr[EIN_GROUP_WIX] == 0.2);
    ck_assert_str_eq(cfg.results_dir, "results/x");
    ck_assert_uint_eq(cfg.metrics, 7u | (1u << EIN_METRIC_MOMENTS) | (1u << EIN_METRIC_COS_LN_OUT) |
                                       (1u << EIN_METRIC_COS_LN_GRAD));
}
END_TEST

START_TEST(expressions)
{
    ein_cell_config cfg = lower_one(
        "a = 2 ^ 3 - 1\n"                                  /* 7, integer */
        "b = if a > 5 and not (a == 8) then a * 10 else 0\n"  /* 70 */
        "c = max(1, floor(b / 4))\n"                        /* 17 */
        "d = [1, 2, 3]\n"
        "r = { w = 33 }\n"
        "s = \"ab\" + \"c\"\n"
        "experiment e {\n"
        "  network {\n"
        "    hidden ei(ne = c)\n"
        "    hidden ei(ne = r.w + a % 4, ni = round(2.5))\n"  /* 36, ni 3 */
        "    hidden ei(ne = abs(-5) + ceil(sqrt(16.5)))\n"    /* 10 */
        "    output ei(ne = 10)\n"
        "  }\n"
        "  train { lr = exp(log(0.5))  epochs = if s == \"abc\" then 2 else 1  batch = 3 * 2 - 1 }\n"
        "}\n");
    ck_assert_int_eq(cfg.hidden[0].ne, 17);
    ck_assert_int_eq(cfg.hidden[1].ne, 36);
    ck_assert_int_eq(cfg.hidden[1].ni, 3);
    ck_assert_int_eq(cfg.hidden[2].ne, 10);
    ck_assert(fabs(cfg.train.lr[EIN_GROUP_WEX] - 0.5) < 1e-15);
    ck_assert_int_eq(cfg.train.epochs, 2);
    ck_assert_int_eq(cfg.train.batch, 5);
}
END_TEST

START_TEST(canonical_text_and_ids)
{
    ein_cell_config a;
    ein_config_defaults(&a);
    ein_config_resolve(&a);
    char *text = NULL;
    size_t len;
    FILE *f = open_memstream(&text, &len);
    ein_config_write(f, &a, 0);
    fclose(f);
    ck_assert_ptr_nonnull(strstr(text, "hidden.0.ne = 500\nhidden.0.ni = 50\n"));
    ck_assert_ptr_nonnull(strstr(text, "train.lr.wix = 0.1\n"));
    ck_assert_ptr_nonnull(strstr(text, "train.frozen = bei\n"));
    ck_assert_ptr_nonnull(strstr(text, "data.fixed_test_delta = nan\n"));
    ck_assert_ptr_nonnull(strstr(text, "metrics = test_acc train_acc task_loss\n"));
    ck_assert_ptr_null(strstr(text, "where"));
    ck_assert_ptr_null(strstr(text, "results_dir"));
    free(text);

    char id1[EIN_ID_LEN + 1], id2[EIN_ID_LEN + 1], id3[EIN_ID_LEN + 1];
    ein_cell_id("e", &a, id1);
    ck_assert_int_eq((int)strlen(id1), 16);
    ck_assert_int_eq((int)strspn(id1, "0123456789abcdef"), 16);
    ein_cell_config b = a;
    strcpy(b.hidden[0].where, "elsewhere.ein:3:1");     /* provenance does not change the id */
    strcpy(b.results_dir, "results/other");
    ein_cell_id("e", &b, id2);
    ck_assert_str_eq(id1, id2);
    b.train.lr[EIN_GROUP_WEX] = 0.010000000000000002;    /* one ulp changes it */
    ein_cell_id("e", &b, id3);
    ck_assert_str_ne(id1, id3);
    ein_cell_id("f", &a, id3);                           /* so does the experiment */
    ck_assert_str_ne(id1, id3);
}
END_TEST

START_TEST(equal_spellings_equal_ids)
{
    ein_cell_list x = lower_all("experiment e { network { hidden ei(ne = 500, ni = auto) x 2  output ei(ne = 10) } }\n");
    ein_cell_list y = lower_all("experiment e {\n  network {\n    hidden ei(ne = 500, ni = 50)\n    hidden ei(ne = 500.0)\n    output ei(ne = 10, ni = 1, act = none, fwd = none)\n  }\n}\n");
    ck_assert_str_eq(x.cells[0].id, y.cells[0].id);
    ein_cell_list_free(&x);
    ein_cell_list_free(&y);
}
END_TEST

Suite *ein_test_suite(void)
{
    Suite *s = suite_create("lower");
    TCase *tc = tcase_create("lower");
    tcase_add_test(tc, empty_experiment_is_model_md);
    tcase_add_test(tc, network_layers_and_norms);
    tcase_add_test(tc, inorm_sub_and_learn_sets);
    tcase_add_test(tc, inorm_loss_by_default);
    tcase_add_test(tc, loss_weights_and_routing);
    tcase_add_test(tc, train_settings);
    tcase_add_test(tc, widths_layer_rates_and_e_only_output);
    tcase_add_test(tc, momentum_inhib_follows_momentum);
    tcase_add_test(tc, data_settings);
    tcase_add_test(tc, fashion_mnist_from_stdlib);
    tcase_add_test(tc, report_and_locals);
    tcase_add_test(tc, expressions);
    tcase_add_test(tc, canonical_text_and_ids);
    tcase_add_test(tc, equal_spellings_equal_ids);
    suite_add_tcase(s, tc);
    return s;
}
