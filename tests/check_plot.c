/* check_plot.c — `einrun plot` for real: a tiny grid trained by the real
 * einrun, its figures drawn by the real gnuplot (PNG header sizes, SVG sizes,
 * the data and the script next to every image, redrawing without ein), the
 * figure settings and the errors that name what a folder lacks. */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ein/data.h"
#include "ein/figure.h"
#include "ein/results.h"
#include "testutil.h"

static char *dir;

/* Tiny learnable IDX data (label = bright row) and a 2 × 2 × 2 grid with one
 * figure of each kind; trained once for the whole suite. */
static void make_results(void)
{
    dir = tu_mkdtemp();
    int n = 60, dim = 784;
    uint8_t *px = calloc((size_t)n * (size_t)dim, 1), *lab = calloc((size_t)n, 1);
    for (int i = 0; i < n; i++) {
        lab[i] = (uint8_t)(i % 10);
        for (int j = 0; j < 28; j++)
            px[(size_t)i * (size_t)dim + (size_t)(lab[i] * 2) * 28 + (size_t)j] = 200;
    }
    char a[600], b[600];
    ein_err err = {0};
    snprintf(a, sizeof a, "%s/train-images-idx3-ubyte", dir);
    snprintf(b, sizeof b, "%s/train-labels-idx1-ubyte", dir);
    ck_assert_int_eq(ein_idx_write(a, false, n, 28, 28, px, b, lab, &err), EIN_OK);
    snprintf(a, sizeof a, "%s/t10k-images-idx3-ubyte", dir);
    snprintf(b, sizeof b, "%s/t10k-labels-idx1-ubyte", dir);
    ck_assert_int_eq(ein_idx_write(a, false, 40, 28, 28, px, b, lab, &err), EIN_OK);
    free(px);
    free(lab);
    char text[4096];
    snprintf(text, sizeof text,
             "experiment tiny {\n"
             "  data = idx(dir = \"%s\", batch = 10, eps = eps)\n"
             "  network {\n    input 784\n    hidden ei(ne = 32, fwd = variant) x 2\n"
             "    output ei(ne = 10, ni = 1, act = none, fwd = none, bwd = none)\n  }\n"
             "  train { epochs = 3  lr = 0.05  seed = seed }\n"
             "  grid {\n    eps in [0, 0.5]\n    variant in [layernorm, none]\n    seed in [1, 2]\n  }\n"
             "  report \"%s/results\" { test_acc, moments, cos_ln_out, cos_ln_grad }\n"
             "  figure pair { kind = scatter  conditions = [none, layernorm]  facet = eps }\n"
             "  figure boxes { kind = box  metric = z_var  facet = layer  top = 1 }\n"
             "  figure curves { kind = curve  facet = eps  conditions = [layernorm, none]  labels = [\"LN\", \"no norm\"] }\n"
             "  figure sweep { kind = sweep  facet = eps  formats = [png, svg, pdf] }\n"
             "}\n", dir, dir);
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

/* Width and height from a PNG's IHDR chunk; 0 when the file is not a PNG. */
static int png_size(const char *path, unsigned *w, unsigned *h)
{
    size_t len;
    unsigned char *p = (unsigned char *)tu_read_file(path, &len);
    int ok = p && len > 24 && memcmp(p, "\x89PNG\r\n\x1a\n", 8) == 0 && memcmp(p + 12, "IHDR", 4) == 0;
    if (ok) {
        *w = (unsigned)p[16] << 24 | (unsigned)p[17] << 16 | (unsigned)p[18] << 8 | p[19];
        *h = (unsigned)p[20] << 24 | (unsigned)p[21] << 16 | (unsigned)p[22] << 8 | p[23];
    }
    free(p);
    return ok;
}

static char *slurp(const char *fmt, const char *name)
{
    char path[1200];
    snprintf(path, sizeof path, fmt, dir, name);
    size_t len;
    char *s = tu_read_file(path, &len);
    ck_assert_msg(s != NULL, "missing %s", path);
    return s;
}

static int plot(const char *args, char **out)
{
    char cmd[2000];
    snprintf(cmd, sizeof cmd, "%s plot %s", tu_einrun(), args);
    return tu_run(cmd, out);
}

START_TEST(every_kind_draws_png_svg_with_data_and_script)
{
    char args[1200], *out = NULL;
    snprintf(args, sizeof args, "%s/grid.ein size=320,240", dir);
    int rc = plot(args, &out);
    ck_assert_msg(rc == 0, "rc %d: %s", rc, out);
    const char *names[] = { "pair", "boxes", "curves", "sweep" };
    for (int i = 0; i < 4; i++) {
        char path[1200];
        unsigned w = 0, h = 0;
        snprintf(path, sizeof path, "%s/results/figures/%s.png", dir, names[i]);
        ck_assert_msg(png_size(path, &w, &h), "%s is not a PNG", path);
        ck_assert_msg(w == 320 && h == 240, "%s: %ux%u", path, w, h);
        ck_assert_msg(strstr(out, path) != NULL, "not listed: %s in %s", path, out);
        char *svg = slurp("%s/results/figures/%s.svg", names[i]);
        ck_assert_msg(strstr(svg, "width=\"320\" height=\"240\"") != NULL, "%s.svg size", names[i]);
        free(svg);
        char *gp = slurp("%s/results/figures/%s.gp", names[i]);
        char want[128];
        snprintf(want, sizeof want, "'%s.dat'", names[i]);
        ck_assert_msg(strstr(gp, want) != NULL, "%s.gp does not read %s", names[i], want);
        free(gp);
        free(slurp("%s/results/figures/%s.dat", names[i]));
    }
    char *pdf = slurp("%s/results/figures/%s.pdf", "sweep");
    ck_assert(strncmp(pdf, "%PDF", 4) == 0);
    free(pdf);
    free(out);
}
END_TEST

/* The scatter pairs cells by every other binding and counts wins from the
 * recorded final accuracies. */
START_TEST(scatter_pairs_recorded_accuracies)
{
    char args[1200], *out = NULL;
    snprintf(args, sizeof args, "%s/grid.ein --figure pair --out %s/only", dir, dir);
    ck_assert_int_eq(plot(args, &out), 0);
    free(out);
    char rdir[1100];
    snprintf(rdir, sizeof rdir, "%s/results", dir);
    ein_record_list l;
    ein_err err = {0};
    ck_assert_int_eq(ein_results_read(rdir, &l, &err), EIN_OK);
    ck_assert_int_eq(l.n, 8);
    char *dat = slurp("%s/only/%s.dat", "pair"), *gp = slurp("%s/only/%s.gp", "pair");
    const char *eps[] = { "0", "0.5" };
    for (int e = 0; e < 2; e++) {
        int wins = 0;
        for (int seed = 1; seed <= 2; seed++) {
            double acc[2] = { NAN, NAN };
            for (int i = 0; i < l.n; i++) {
                const ein_record *r = &l.rec[i];
                if (strcmp(ein_record_binding(r, "eps", NULL), eps[e]) || atoi(ein_record_binding(r, "seed", NULL)) != seed)
                    continue;
                acc[strcmp(ein_record_binding(r, "variant", NULL), "layernorm") == 0] = r->final_test_acc;
            }
            char line[200];
            snprintf(line, sizeof line, "%.10g %.10g \"eps=%s,seed=%d\"\n", acc[0], acc[1], eps[e], seed);
            ck_assert_msg(strstr(dat, line) != NULL, "missing pair line %s in\n%s", line, dat);
            wins += acc[1] > acc[0];
        }
        char title[200];
        snprintf(title, sizeof title, "\"eps = %s: layernorm above the diagonal in %d of 2\"", eps[e], wins);
        ck_assert_msg(strstr(gp, title) != NULL, "missing %s in\n%s", title, gp);
    }
    ck_assert_msg(strstr(gp, "set terminal pdfcairo") && strstr(gp, "formats = \"png svg\""), "%s", gp);
    free(dat);
    free(gp);
    ein_record_list_free(&l);
}
END_TEST

/* The script stands alone: gnuplot redraws the figure from NAME.dat. */
START_TEST(script_redraws_without_ein)
{
    char args[1200], *out = NULL;
    snprintf(args, sizeof args, "%s/grid.ein --figure boxes --out %s/redraw", dir, dir);
    ck_assert_int_eq(plot(args, &out), 0);
    free(out);
    char cmd[1200], path[1200];
    snprintf(path, sizeof path, "%s/redraw/boxes.png", dir);
    ck_assert_int_eq(remove(path), 0);
    snprintf(cmd, sizeof cmd, "cd %s/redraw && sed -i 's/^W = 800/W = 500/' boxes.gp && gnuplot boxes.gp", dir);
    ck_assert_int_eq(tu_run(cmd, &out), 0);
    free(out);
    unsigned w, h;
    ck_assert(png_size(path, &w, &h));
    ck_assert_uint_eq(w, 500);
    ck_assert_uint_eq(h, 600);
    /* top = 1: one cell per condition and layer (the best by final accuracy) */
    char *dat = slurp("%s/redraw/%s.dat", "boxes");
    ck_assert_msg(strstr(dat, "# block 0: layer=0, variant=layernorm, 1 cells (top by final test accuracy)"),
                  "%s", dat);
    free(dat);
}
END_TEST

START_TEST(missing_condition_is_named)
{
    char args[1200], *out = NULL;
    snprintf(args, sizeof args, "%s/results kind=scatter conditions=layernorm,inorm_gn facet=eps", dir);
    int rc = plot(args, &out);
    char want[1200];
    snprintf(want, sizeof want, "einrun: plot: figure figure: no finished cells with variant=inorm_gn in "
             "%s/results (found variant: layernorm, none)\n", dir);
    ck_assert_msg(rc == 65 && strcmp(out, want) == 0, "rc %d: %s", rc, out);
    free(out);
    snprintf(args, sizeof args, "%s/results kind=box facet=eps facets=0,0.75", dir);
    rc = plot(args, &out);
    snprintf(want, sizeof want, "einrun: plot: figure figure: no finished cells with eps=0.75 in "
             "%s/results (found: 0, 0.5)\n", dir);
    ck_assert_msg(rc == 65 && strcmp(out, want) == 0, "rc %d: %s", rc, out);
    free(out);
    snprintf(args, sizeof args, "%s/nowhere kind=box", dir);
    rc = plot(args, &out);
    ck_assert_msg(rc == 74 && strstr(out, "nowhere: No such file or directory"), "rc %d: %s", rc, out);
    free(out);
    snprintf(args, sizeof args, "%s/results kind=scatter", dir);
    rc = plot(args, &out);
    ck_assert_msg(rc == 64 && strstr(out, "a scatter needs conditions = [X, Y]"), "rc %d: %s", rc, out);
    free(out);
}
END_TEST

/* Figure blocks are checked like the rest of the file: located errors. */
START_TEST(figure_block_errors_are_located)
{
    char path[1200], *out = NULL;
    snprintf(path, sizeof path, "%s/bad.ein", dir);
    const char *text = "experiment e {\n  figure f {\n    kind = scater\n    colour = red\n"
                       "    size = [10, 20, 30]\n    conditions = [a]\n  }\n}\n";
    ck_assert_int_eq(tu_write_file(path, text, strlen(text)), 0);
    char cmd[1400];
    snprintf(cmd, sizeof cmd, "%s --check %s", tu_einrun(), path);
    int rc = tu_run(cmd, &out);
    ck_assert_int_eq(rc, 2);
    char want[1400];
    snprintf(want, sizeof want, "%s:3:12: error: unknown figure kind 'scater' (valid: scatter, box, curve, sweep)", path);
    ck_assert_msg(strstr(out, want), "%s", out);
    snprintf(want, sizeof want, "%s:4:5: error: unknown figure setting 'colour'", path);
    ck_assert_msg(strstr(out, want), "%s", out);
    snprintf(want, sizeof want, "%s:5:12: error: figure size needs width and height", path);
    ck_assert_msg(strstr(out, want), "%s", out);
    free(out);
}
END_TEST

START_TEST(settings_from_words)
{
    ein_figure f;
    char msg[512];
    ein_figure_defaults(&f, "x");
    const char *w1[] = { "a,b" }, *w2[] = { "640", "480" }, *w3[] = { "jpeg" };
    ck_assert(ein_figure_set(&f, "conditions", w1, 1, msg, sizeof msg));
    ck_assert_int_eq(f.n_conditions, 2);
    ck_assert_str_eq(f.conditions[1], "b");
    ck_assert(ein_figure_set(&f, "size", w2, 2, msg, sizeof msg));
    ck_assert_int_eq(f.width * 1000 + f.height, 640480);
    ck_assert(!ein_figure_set(&f, "formats", w3, 1, msg, sizeof msg));
    ck_assert_str_eq(msg, "unknown figure format 'jpeg' (valid: png, svg, pdf)");
    ck_assert(ein_figure_set(&f, "kind", (const char *[]){ "sweep" }, 1, msg, sizeof msg));
    ck_assert(!ein_figure_validate(&f, msg, sizeof msg));
    ck_assert_str_eq(msg, "figure x: a sweep needs facet = AXIS, the x axis (e.g. eps)");
    ck_assert(ein_figure_set(&f, "metric", (const char *[]){ "test_acc" }, 1, msg, sizeof msg));
    ck_assert(!ein_figure_set(&f, "metric", (const char *[]){ "acc" }, 1, msg, sizeof msg));
    ck_assert_msg(strncmp(msg, "unknown figure metric 'acc' (valid: test_acc, ", 46) == 0, "%s", msg);
}
END_TEST

Suite *ein_test_suite(void)
{
    Suite *s = suite_create("plot");
    TCase *tc = tcase_create("gnuplot");
    tcase_add_unchecked_fixture(tc, make_results, drop_results);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, every_kind_draws_png_svg_with_data_and_script);
    tcase_add_test(tc, scatter_pairs_recorded_accuracies);
    tcase_add_test(tc, script_redraws_without_ein);
    tcase_add_test(tc, missing_condition_is_named);
    tcase_add_test(tc, figure_block_errors_are_located);
    suite_add_tcase(s, tc);
    TCase *set = tcase_create("settings");
    tcase_add_test(set, settings_from_words);
    suite_add_tcase(s, set);
    return s;
}
