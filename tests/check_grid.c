/* check_grid.c — grid expansion: counts, order, bindings and ids for
 * products, ranges, linspace/logspace, zips, derived values, variants,
 * samples, tables and where filters; id stability under axis reordering and
 * added values; overrides; the dry-run listing. */
#include <check.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "ein/check.h"
#include "ein/grid.h"
#include "ein/parse.h"
#include "ein/value.h"

typedef struct expansion {
    ein_cell_list list;
    char *first_error;   /* head line of the first diagnostic, or NULL */
} expansion;

/* Expand the only experiment of `src`, with optional overrides "name=EXPR". */
static expansion expand_ov(const char *src, const char *const *ov_text, int n_ov)
{
    expansion x = {0};
    ein_diag *d = ein_diag_new();
    ein_program *p = ein_parse_buffer(d, "g.ein", src, strlen(src), NULL);
    ein_check_options opt = { .stdlib_dir = "stdlib", .no_expand = true };
    ein_module *m = p ? ein_check_program(d, p, "g.ein", &opt) : NULL;
    ein_override ov[8] = { { 0 } };   /* name_loc unset: the value locates errors */
    ein_program *ovp[8] = {0};
    for (int i = 0; i < n_ov; i++) {
        const char *eq = strchr(ov_text[i], '=');
        ovp[i] = ein_parse_text(d, "override", eq + 1, strlen(eq + 1), EIN_PARSE_EXPR, NULL);
        ck_assert_ptr_nonnull(ovp[i]);
        ov[i].name = strndup(ov_text[i], (size_t)(eq - ov_text[i]));
        ov[i].value = ovp[i]->expr;
    }
    if (m)
        ein_grid_expand(m, NULL, ov, n_ov, &x.list);
    if (ein_diag_count(d) > 0) {
        size_t len;
        FILE *f = open_memstream(&x.first_error, &len);
        ein_diag_print_head(d, 0, f);
        fclose(f);
        x.first_error[strcspn(x.first_error, "\n")] = '\0';
    }
    for (int i = 0; i < n_ov; i++) {
        free((char *)ov[i].name);
        ein_program_free(ovp[i]);
    }
    ein_module_free(m);
    ein_program_free(p);
    ein_diag_free(d);
    return x;
}

static expansion expand(const char *src) { return expand_ov(src, NULL, 0); }

static void done(expansion *x)
{
    ein_cell_list_free(&x->list);
    free(x->first_error);
}

/* "name=text name=text" of a cell. */
static const char *bound(const ein_cell *c)
{
    static __thread char buf[1024];
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < c->n_bindings; i++)
        len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%s=%s", i ? " " : "",
                                c->bindings[i].name, c->bindings[i].text);
    return buf;
}

static void ok(expansion *x, int n)
{
    ck_assert_msg(x->first_error == NULL, "unexpected: %s", x->first_error);
    ck_assert_int_eq(x->list.n, n);
}

/* An experiment whose train settings use the axes a, b, c as given. */
#define EXP(train, grid) "experiment e {\n  train {\n" train "  }\n  grid {\n" grid "  }\n}\n"

START_TEST(product_in_source_order)
{
    expansion x = expand(EXP("    epochs = a\n    batch = b\n", "    a in [1, 2]\n    b in [10, 20, 30]\n"));
    ok(&x, 6);
    ck_assert_str_eq(bound(&x.list.cells[0]), "a=1 b=10");
    ck_assert_str_eq(bound(&x.list.cells[1]), "a=1 b=20");
    ck_assert_str_eq(bound(&x.list.cells[5]), "a=2 b=30");
    ck_assert_int_eq(x.list.cells[5].index, 5);
    ck_assert_int_eq(tu_cfg(&x.list.cells[4])->train.epochs, 2);
    ck_assert_int_eq(tu_cfg(&x.list.cells[4])->train.batch, 20);
    ck_assert_str_eq(x.list.experiment, "e");
    ck_assert_str_eq(x.list.source_path, "g.ein");
    const ein_binding *b = ein_cell_binding(&x.list.cells[4], "b");
    ck_assert(b && b->is_number && b->number == 20);
    ck_assert_ptr_null(ein_cell_binding(&x.list.cells[4], "c"));
    done(&x);
}
END_TEST

START_TEST(ranges_and_spaces)
{
    expansion x = expand(EXP("    seed = s\n    lr = l\n", "    s in 1..5\n    l in logspace(-3, -1, 3)\n"));
    ok(&x, 15);
    ck_assert_str_eq(bound(&x.list.cells[0]), "s=1 l=0.001");
    ck_assert_str_eq(bound(&x.list.cells[1]), "s=1 l=0.01");
    ck_assert_str_eq(bound(&x.list.cells[14]), "s=5 l=0.1");
    done(&x);
    x = expand(EXP("    momentum = m\n", "    m in linspace(0, 0.5, 3)\n"));
    ok(&x, 3);
    ck_assert_str_eq(bound(&x.list.cells[1]), "m=0.25");
    ck_assert(tu_cfg(&x.list.cells[2])->train.momentum == 0.5);
    done(&x);
}
END_TEST

START_TEST(zip_moves_together)
{
    expansion x = expand(EXP("    epochs = a\n    batch = b\n    seed = c\n",
                             "    zip {\n      a in [1, 2, 3]\n      b in [4, 5, 6]\n    }\n    c in [7, 8]\n"));
    ok(&x, 6);
    ck_assert_str_eq(bound(&x.list.cells[0]), "a=1 b=4 c=7");
    ck_assert_str_eq(bound(&x.list.cells[3]), "a=2 b=5 c=8");
    ck_assert_str_eq(bound(&x.list.cells[5]), "a=3 b=6 c=8");
    done(&x);
}
END_TEST

START_TEST(derived_values_per_cell)
{
    expansion x = expand("experiment e {\n  w = lr * 2\n  train {\n    lr = lr\n    lr.wix = lr_i\n    lr.wei = w\n  }\n"
                         "  grid {\n    lr in [0.1, 0.2]\n    lr_i = lr / 10\n  }\n}\n");
    ok(&x, 2);
    ck_assert_str_eq(bound(&x.list.cells[1]), "lr=0.2 lr_i=0.02");
    ck_assert(tu_cfg(&x.list.cells[1])->train.lr[EIN_GROUP_WIX] == 0.2 / 10);
    ck_assert(tu_cfg(&x.list.cells[1])->train.lr[EIN_GROUP_WEI] == 0.4);
    ck_assert(tu_cfg(&x.list.cells[0])->train.lr[EIN_GROUP_WEI] == 0.2);
    done(&x);
}
END_TEST

START_TEST(named_variants)
{
    expansion x = expand("import \"ei\"\n"
        "experiment e {\n  norm forward = v.fwd\n  norm backward = v.bwd\n"
        "  grid {\n    v in { ln: conditions.ln, gn: { fwd = inorm, bwd = full }, sc: { fwd = inorm, bwd = scale } }\n"
        "    eps in [0, 1]\n    where not (v == \"sc\" and eps > 0.5)\n  }\n"
        "  data = idx(eps = eps)\n"
        "  train {\n    seed = if v.name == \"gn\" then 7 else 0\n  }\n}\n");
    ok(&x, 5);
    ck_assert_str_eq(bound(&x.list.cells[0]), "v=ln eps=0");
    ck_assert_str_eq(bound(&x.list.cells[3]), "v=gn eps=1");
    ck_assert_str_eq(bound(&x.list.cells[4]), "v=sc eps=0");
    ck_assert_int_eq(tu_cfg(&x.list.cells[0])->hidden[0].fwd, EIN_FWD_LAYERNORM);
    ck_assert_int_eq(tu_cfg(&x.list.cells[2])->hidden[1].bwd, EIN_BWD_FULL);
    ck_assert_uint_eq(tu_cfg(&x.list.cells[2])->train.seed, 7);
    ck_assert_uint_eq(tu_cfg(&x.list.cells[4])->train.seed, 0);
    ck_assert_int_eq(tu_cfg(&x.list.cells[4])->hidden[0].bwd, EIN_BWD_SCALE);
    ck_assert(!ein_cell_binding(&x.list.cells[0], "v")->is_number);
    done(&x);
}
END_TEST

#define SAMPLE_EXP(seed, extra)                                                     \
    "experiment e {\n  data = idx(eps = eps)\n  network {\n    hidden ei(ne = cfg.ne)\n"  \
    "    output ei(ne = 10)\n  }\n  train {\n    lr = cfg.lr\n    momentum = cfg.m\n  }\n" \
    "  grid {\n    cfg in sample 20 seed " seed " {\n      lr ~ loguniform(0.001, 0.01)\n" \
    "      m ~ uniform(0, 0.5)\n      ne ~ randint(100, 102)\n    }\n" extra "  }\n}\n"

START_TEST(sample_same_draws_for_every_other_axis)
{
    expansion x = expand(SAMPLE_EXP("3", "    eps in [0, 0.5]\n"));
    ok(&x, 40);
    bool seen[3] = { false, false, false };
    for (int i = 0; i < 20; i++) {
        const ein_cell *c0 = &x.list.cells[2 * i], *c1 = &x.list.cells[2 * i + 1];
        ck_assert_str_eq(ein_cell_binding(c0, "cfg.lr")->text, ein_cell_binding(c1, "cfg.lr")->text);
        ck_assert_str_eq(ein_cell_binding(c0, "cfg.ne")->text, ein_cell_binding(c1, "cfg.ne")->text);
        ck_assert(ein_cell_binding(c0, "cfg")->number == i);
        double lr = tu_cfg(c0)->train.lr[EIN_GROUP_WEX], m = tu_cfg(c0)->train.momentum;
        int ne = tu_cfg(c0)->hidden[0].ne;
        ck_assert(lr >= 0.001 && lr < 0.01);
        ck_assert(m >= 0 && m < 0.5);
        ck_assert(ne >= 100 && ne <= 102);
        seen[ne - 100] = true;
    }
    ck_assert(seen[0] && seen[1] && seen[2]);   /* randint includes both ends */
    /* draws are fixed by the seed: same seed, same draws; another seed, others */
    expansion y = expand(SAMPLE_EXP("3", "    eps in [0]\n"));
    expansion z = expand(SAMPLE_EXP("4", "    eps in [0]\n"));
    ok(&y, 20);
    ok(&z, 20);
    ck_assert_str_eq(ein_cell_binding(&y.list.cells[7], "cfg.lr")->text,
                     ein_cell_binding(&x.list.cells[14], "cfg.lr")->text);
    ck_assert_str_ne(ein_cell_binding(&y.list.cells[7], "cfg.lr")->text,
                     ein_cell_binding(&z.list.cells[7], "cfg.lr")->text);
    done(&x);
    done(&y);
    done(&z);
}
END_TEST

START_TEST(splitmix64_reference)
{
    uint64_t s = 0;
    ck_assert_uint_eq(ein_splitmix64(&s), 0xe220a8397b1dcdafull);
    ck_assert_uint_eq(ein_splitmix64(&s), 0x6e789e6aa1b965f4ull);
}
END_TEST

START_TEST(table_rows)
{
    expansion x = expand("experiment e {\n  network {\n    hidden ei(ne = cfg.ne, fwd = cfg.norm)\n    output ei(ne = 10)\n  }\n"
                         "  train {\n    lr = cfg.lr\n  }\n  grid {\n    cfg in table(lr, ne, norm) {\n"
                         "      0.1, 500, layernorm\n      0.05, 250, center\n      1e-3, 100, none\n    }\n  }\n}\n");
    ok(&x, 3);
    ck_assert_str_eq(bound(&x.list.cells[1]), "cfg=1 cfg.lr=0.05 cfg.ne=250 cfg.norm=center");
    ck_assert_int_eq(tu_cfg(&x.list.cells[1])->hidden[0].ne, 250);
    ck_assert_int_eq(tu_cfg(&x.list.cells[0])->hidden[0].fwd, EIN_FWD_LAYERNORM);
    ck_assert(tu_cfg(&x.list.cells[2])->train.lr[EIN_GROUP_WEX] == 0.001);
    done(&x);
}
END_TEST

START_TEST(paper_configurations)
{
    expansion x = expand("import \"paper\"\nexperiment e {\n  data = idx(eps = eps)\n"
                         "  network {\n    hidden ei(ne = cfg.ne) x 2\n    output ei(ne = 10)\n  }\n"
                         "  train {\n    lr = cfg.lr\n    lr.wix = cfg.lr_wix\n    lr.wei = cfg.lr_wei\n  }\n"
                         "  grid {\n    cfg in paper_configs\n    eps in paper_eps\n  }\n}\n");
    ok(&x, 120);
    const ein_cell *c = &x.list.cells[4 * 29 + 3];
    ck_assert_str_eq(bound(c), "cfg=29 cfg.lr=0.00225427 cfg.lr_wei=0.00620318 cfg.lr_wix=0.0892954 cfg.ne=332 eps=0.75");
    ck_assert_int_eq(tu_cfg(c)->hidden[1].ne, 332);
    ck_assert_int_eq(tu_cfg(c)->hidden[1].ni, 33);
    done(&x);
}
END_TEST

START_TEST(where_exclusions)
{
    expansion x = expand(EXP("    epochs = a\n    batch = b\n",
                             "    a in 1..4\n    b in 1..4\n    where a < b\n    where not (a == 1 and b == 4)\n"));
    ok(&x, 5);
    ck_assert_str_eq(bound(&x.list.cells[0]), "a=1 b=2");
    ck_assert_str_eq(bound(&x.list.cells[2]), "a=2 b=3");
    ck_assert_str_eq(bound(&x.list.cells[4]), "a=3 b=4");
    done(&x);
}
END_TEST

static int find_id(const ein_cell_list *l, const char *id)
{
    for (int i = 0; i < l->n; i++)
        if (!strcmp(l->cells[i].id, id))
            return i;
    return -1;
}

START_TEST(ids_stable_under_reordering_and_new_values)
{
    expansion x = expand(EXP("    epochs = a\n    batch = b\n", "    a in [1, 2]\n    b in [10, 20]\n"));
    expansion y = expand(EXP("    batch = b\n    epochs = a\n", "    b in [20, 10]\n    a in [2, 1]\n"));
    expansion z = expand(EXP("    epochs = a\n    batch = b\n", "    a in [1, 2, 3]\n    b in [10, 15, 20]\n"));
    ok(&x, 4);
    ok(&y, 4);
    ok(&z, 9);
    for (int i = 0; i < 4; i++) {
        const ein_cell *c = &x.list.cells[i];
        int j = find_id(&y.list, c->id), k = find_id(&z.list, c->id);
        ck_assert_int_ge(j, 0);
        ck_assert_int_ge(k, 0);
        ck_assert_str_eq(ein_cell_binding(c, "a")->text, ein_cell_binding(&y.list.cells[j], "a")->text);
        ck_assert_str_eq(ein_cell_binding(c, "b")->text, ein_cell_binding(&z.list.cells[k], "b")->text);
    }
    /* all ids distinct */
    for (int i = 0; i < z.list.n; i++)
        ck_assert_int_eq(find_id(&z.list, z.list.cells[i].id), i);
    done(&x);
    done(&y);
    done(&z);
}
END_TEST

START_TEST(overrides)
{
    const char *src = "width = 100\nexperiment e {\n  data = idx(eps = eps)\n  network {\n    hidden ei(ne = width)\n"
                      "    output ei(ne = 10)\n  }\n  grid {\n    eps in [0, 0.25, 0.5]\n  }\n}\n";
    const char *ov1[] = { "eps=[0.75]", "width=300" };
    expansion x = expand_ov(src, ov1, 2);
    ok(&x, 1);
    ck_assert_str_eq(bound(&x.list.cells[0]), "eps=0.75");
    ck_assert_int_eq(tu_cfg(&x.list.cells[0])->hidden[0].ne, 300);
    done(&x);
    /* a sample axis replaced by a list of records */
    const char *ov3[] = { "cfg=[{ lr = 0.5, m = 0.1, ne = 7 }]", "eps=0" };
    x = expand_ov(SAMPLE_EXP("3", "    eps in [0, 0.5]\n"), ov3, 2);
    ok(&x, 1);
    ck_assert_str_eq(bound(&x.list.cells[0]), "cfg=0 cfg.lr=0.5 cfg.m=0.1 cfg.ne=7 eps=0");
    done(&x);
    const char *ov2[] = { "epss=[1]" };
    x = expand_ov(src, ov2, 1);
    ck_assert_str_eq(x.first_error, "override:1:1: error: no axis, binding or setting named 'epss' to override");
    ck_assert_int_eq(x.list.n, 0);
    done(&x);
}
END_TEST

START_TEST(dry_run_listing)
{
    expansion x = expand(EXP("    epochs = a\n", "    a in [1, 2]\n"));
    ok(&x, 2);
    char *text = NULL;
    size_t len;
    FILE *f = open_memstream(&text, &len);
    ein_grid_print(&x.list, f);
    fclose(f);
    char want[256];
    snprintf(want, sizeof want, "e: 2 cells\n%s  a=1\n%s  a=2\n", x.list.cells[0].id, x.list.cells[1].id);
    ck_assert_str_eq(text, want);
    free(text);
    done(&x);
}
END_TEST

START_TEST(experiment_selection)
{
    expansion x = expand("experiment a { }\nexperiment b { }\n");
    ck_assert_str_eq(x.first_error, "einrun: error: g.ein has several experiments; choose one");
    done(&x);
    x = expand("w = 1\n");
    ck_assert_str_eq(x.first_error, "einrun: error: g.ein has no experiment");
    done(&x);
    x = expand("experiment only { }\n");
    ok(&x, 1);
    ck_assert_int_eq(x.list.cells[0].n_bindings, 0);
    done(&x);
}
END_TEST

START_TEST(too_many_cells)
{
    expansion x = expand(EXP("    epochs = a\n    batch = b\n    seed = c\n",
                             "    a in 1..100\n    b in 1..100\n    c in 1..11\n"));
    ck_assert_str_eq(x.first_error, "g.ein:7:3: error: the grid has more than 100000 cells");
    ck_assert_int_eq(x.list.n, 0);
    done(&x);
}
END_TEST

/* Cell ids hash the settings' text, numbers as the shortest of "%.15g",
 * "%.16g", "%.17g" that reads back; ein_format_double prints the common
 * ≤ 15-digit ones without printf, and must print exactly what printf did (or
 * every id changes).  Decimals m/10^k, random bit patterns, spans of
 * magnitudes, negatives and the edges of the fast range. */
static void printf_shortest(double d, char *buf, size_t n)
{
    static const char *const fmt[] = { "%.15g", "%.16g", "%.17g" };
    for (int i = 0; i < 3; i++) {
        snprintf(buf, n, fmt[i], d);
        if (strtod(buf, NULL) == d)
            return;
    }
}

START_TEST(number_text_is_printfs)
{
    static const double edges[] = { 0.0, -0.0, 1e-4, 9.9999999999999e-5, 1e15, 999999999999999.0,
                                    1e15 - 0.5, 0.1, 0.010000000000000002, 123456789012345.0,
                                    1234567890123456.0, 5e-324, 1.7976931348623157e308, 0.3, 2.5e-4,
                                    /* the scientific texts below 1e-4 (adam's 1e-08) and the
                                     * long fixed ones just above it */
                                    1e-8, 2.5e-7, 1e-5, 9.9999e-5, 1.23456789012345e-10, 1e-22,
                                    9.99999999999999e-23, 1.5e-23, 0.000123456789012345,
                                    1.00000000000001e-5, 3e-21 };
    char got[64], want[64];
    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++) {
        for (int sign = 0; sign < 2; sign++) {
            double d = sign ? -edges[i] : edges[i];
            ein_format_double(d, got, sizeof got);
            printf_shortest(d, want, sizeof want);
            ck_assert_msg(strcmp(got, want) == 0, "%.17g: %s, printf %s", d, got, want);
        }
    }
    static const long long ints[] = { 0, 1, -1, 9, 10, -10, 1234567890123LL, INT_MIN, INT_MAX,
                                      LLONG_MAX, LLONG_MIN };
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        ein_format_integer(ints[i], got, sizeof got);
        snprintf(want, sizeof want, "%lld", ints[i]);
        ck_assert_str_eq(got, want);
        ein_format_integer(ints[i], got, 4);                   /* cut to fit, as snprintf */
        snprintf(want, 4, "%lld", ints[i]);
        ck_assert_str_eq(got, want);
    }
    uint64_t s = 88172645463325252ull;
    for (int i = 0; i < 400000; i++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        double d;
        switch (i % 3) {
        case 0: d = (double)(long long)(s % 1000000000000000ull) / pow(10, (int)(s >> 58) % 19); break;
        case 1: memcpy(&d, &s, sizeof d); break;
        default: d = (double)(s >> 11) * 0x1p-53 * pow(10, (int)((s >> 3) % 24) - 8); break;
        }
        if (!isfinite(d))
            continue;
        ein_format_double(d, got, sizeof got);
        printf_shortest(d, want, sizeof want);
        ck_assert_msg(strcmp(got, want) == 0, "%.17g: %s, printf %s", d, got, want);
    }
    for (int i = 0; i < 100000; i++) {          /* m/10^k, k to 30: fixed and scientific */
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        long long m = (long long)(s % (1ull << 50)) % (long long)pow(10, 1 + (int)(s >> 59) % 15);
        double d = (double)m / pow(10, (int)((s >> 52) % 31));
        ein_format_double(d, got, sizeof got);
        printf_shortest(d, want, sizeof want);
        ck_assert_msg(strcmp(got, want) == 0, "%.17g: %s, printf %s", d, got, want);
    }
}
END_TEST

/* A cell keeps only the words of its configuration that differ from the
 * list's first: each comes back byte for byte, whichever words differ (the
 * first, the last, a string's tail, all of them). */
START_TEST(configs_come_back_from_their_deltas)
{
    static ein_cell_config want[5];
    for (int i = 0; i < 5; i++)
        ein_config_defaults(&want[i]);
    want[1].data.eps = 0.5;                                       /* near the front */
    snprintf(want[2].results_dir, sizeof want[2].results_dir, "%0*d", (int)sizeof want[2].results_dir - 1, 7);
    want[3].train.seed = 99;
    want[3].hidden[0].ne = 321;
    memset(&want[4], 0xa5, sizeof want[4]);                       /* every word */
    ein_cell_list l = {0};
    ein_cell cells[5];
    memset(cells, 0, sizeof cells);
    for (int i = 0; i < 5; i++)
        ck_assert(ein_cell_list_store_config(&l, &cells[i], &want[i]));
    ck_assert_uint_eq(cells[0].delta_len, 0);                      /* the base */
    ck_assert_uint_eq(cells[1].delta_len, 4 + 8);                  /* one word */
    ck_assert_uint_eq(cells[4].delta_len, 4 + sizeof(ein_cell_config));
    for (int i = 0; i < 5; i++) {
        ein_cell_config got;
        memset(&got, 0x5a, sizeof got);
        ein_cell_config_of(&cells[i], &got);
        ck_assert_msg(memcmp(&got, &want[i], sizeof got) == 0, "config %d", i);
    }
    ein_cell_list_free(&l);
}
END_TEST

Suite *ein_test_suite(void)
{
    Suite *s = suite_create("grid");
    TCase *tc = tcase_create("grid");
    tcase_add_test(tc, product_in_source_order);
    tcase_add_test(tc, ranges_and_spaces);
    tcase_add_test(tc, zip_moves_together);
    tcase_add_test(tc, derived_values_per_cell);
    tcase_add_test(tc, named_variants);
    tcase_add_test(tc, sample_same_draws_for_every_other_axis);
    tcase_add_test(tc, splitmix64_reference);
    tcase_add_test(tc, configs_come_back_from_their_deltas);
    tcase_add_test(tc, table_rows);
    tcase_add_test(tc, paper_configurations);
    tcase_add_test(tc, where_exclusions);
    tcase_add_test(tc, ids_stable_under_reordering_and_new_values);
    tcase_add_test(tc, overrides);
    tcase_add_test(tc, dry_run_listing);
    tcase_add_test(tc, experiment_selection);
    tcase_add_test(tc, too_many_cells);
    suite_add_tcase(s, tc);
    TCase *num = tcase_create("numbers");   /* 400 000 numbers: minutes under ASan on a busy machine */
    tcase_set_timeout(num, 300);
    tcase_add_test(num, number_text_is_printfs);
    suite_add_tcase(s, num);
    return s;
}
