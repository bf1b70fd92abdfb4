/* cli_eval.c — `einrun eval RESULTS_DIR --cell ID`: reopen a saved cell
 * (weights.h) and evaluate it without training — with Δ drawn as in
 * training (the recorded final test accuracy, reproduced) and at fixed
 * shifts Δ — or continue its training to more epochs as a new cell of the
 * same folder.  Exit status: 0 ok, 64 usage, 65 bad saved files, 74 I/O. */
#include "ein/blas.h"
#include "ein/cli.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ein/data.h"
#include "ein/graph.h"
#include "ein/grid.h"
#include "ein/results.h"
#include "ein/train.h"
#include "ein/weights.h"

#define MAX_DELTAS 64

static void eval_usage(FILE *out)
{
    fputs("usage: einrun eval RESULTS_DIR --cell ID [--fixed-delta LIST] [--epochs N]\n"
          "\n"
          "Reopens a cell saved with `report { weights }` (RESULTS_DIR/weights/ID/) and\n"
          "evaluates it on the test set without training: first with the shift Delta drawn as\n"
          "in training (this reproduces the recorded final test accuracy), then at each\n"
          "fixed Delta of LIST.  The table goes to stdout and RESULTS_DIR/eval/ID.csv.\n"
          "\n"
          "  --cell ID            the cell (its id, or a unique prefix of at least 4 characters)\n"
          "  --fixed-delta LIST   shifts to evaluate at, e.g. -0.75,-0.5,0,0.5,0.75\n"
          "  --epochs N           instead: continue training the saved cell to N epochs in all;\n"
          "                       the result is a new cell (its configuration says N epochs)\n"
          "                       recorded in RESULTS_DIR like any other\n", out);
}

typedef struct eval_args {
    const char *dir, *cell, *deltas;
    long epochs;
} eval_args;

static int parse_args(int argc, char **argv, eval_args *a)
{
    memset(a, 0, sizeof *a);
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        bool has = i + 1 < argc;
        if (strcmp(s, "--help") == 0 || strcmp(s, "-h") == 0) {
            eval_usage(stdout);
            return 0;
        } else if (strcmp(s, "--cell") == 0 && has) {
            a->cell = argv[++i];
        } else if (strcmp(s, "--fixed-delta") == 0 && has) {
            a->deltas = argv[++i];
        } else if (strcmp(s, "--epochs") == 0 && has) {
            char *end;
            a->epochs = strtol(argv[++i], &end, 10);
            if (*end || a->epochs < 1 || a->epochs > 100000) {
                fprintf(stderr, "einrun: eval: --epochs needs a count >= 1, not '%s'\n", argv[i]);
                return 64;
            }
        } else if (s[0] == '-' && s[1]) {
            fprintf(stderr, "einrun: unknown option '%s' for eval%s\n", s, has ? "" : " (or it needs a value)");
            eval_usage(stderr);
            return 64;
        } else if (a->dir) {
            fputs("einrun: eval takes one RESULTS_DIR\n", stderr);
            return 64;
        } else {
            a->dir = s;
        }
    }
    if (!a->dir || !a->cell) {
        eval_usage(stderr);
        return 64;
    }
    if (a->deltas && a->epochs) {
        fputs("einrun: eval: --fixed-delta evaluates, --epochs trains: one at a time\n", stderr);
        return 64;
    }
    return -1;
}

/* "-0.75,0,0.75" → values; false with a message for a bad entry. */
static bool parse_deltas(const char *s, double *out, int *n)
{
    *n = 0;
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", s);
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        char *end;
        double d = strtod(t, &end);
        while (*end == ' ')
            end++;
        if (end == t || *end || !isfinite(d) || d < -1 || d > 1 || *n == MAX_DELTAS) {
            fprintf(stderr, "einrun: eval: --fixed-delta: '%s' is not a shift in [-1, 1] (at most %d)\n", t,
                    MAX_DELTAS);
            return false;
        }
        out[(*n)++] = d;
    }
    if (*n == 0) {
        fputs("einrun: eval: --fixed-delta needs at least one shift\n", stderr);
        return false;
    }
    return true;
}

/* The record of `id` or of the one cell whose id starts with it. */
static const ein_record *find_cell(const ein_record_list *l, const char *id, const char *dir)
{
    const ein_record *hit = NULL;
    size_t n = strlen(id);
    int count = 0;
    for (int i = 0; i < l->n && n >= 4; i++)
        if (strncmp(l->rec[i].id, id, n) == 0) {
            hit = &l->rec[i];
            count++;
        }
    if (count == 1)
        return hit;
    if (count > 1)
        fprintf(stderr, "einrun: eval: '%s' is the start of %d cell ids in %s; give more of it\n", id, count, dir);
    else
        fprintf(stderr, "einrun: eval: no cell '%s' in %s/cells.jsonl\n", id, dir);
    return NULL;
}

typedef struct loaded {
    ein_dataset *train, *test;
} loaded;

static ein_code load_data(const ein_cell_config *cfg, loaded *d, ein_err *err)
{
    ein_code rc = ein_dataset_load(&cfg->data, EIN_SPLIT_TRAIN, &d->train, err);
    if (rc == EIN_OK)
        rc = ein_dataset_load(&cfg->data, EIN_SPLIT_TEST, &d->test, err);
    return rc;
}

static int fail(const ein_err *err)
{
    fprintf(stderr, "einrun: eval: %s\n", err->msg);
    return ein_exit_status(err->code);
}

/* Evaluate: Δ drawn as in training, then each fixed Δ; print and record. */
static int evaluate(const eval_args *a, const ein_record *rec, ein_cell_config *cfg, const char *wdir,
                    const loaded *d)
{
    double deltas[MAX_DELTAS + 1];
    int n = 0;
    if (a->deltas && !parse_deltas(a->deltas, deltas + 1, &n))
        return 64;
    deltas[0] = NAN;
    n++;
    ein_train_hooks hooks = { .resume_dir = wdir, .eval_only = true, .blas_threads = ein_blas_default_threads() };
    char csv[16384];
    size_t len = (size_t)snprintf(csv, sizeof csv, "delta,test_acc,test_loss,recorded_test_acc\n");
    printf("cell %s (%s), %d epochs, eps %g\n", rec->id, rec->experiment, rec->epochs, cfg->data.eps);
    printf("%-8s %9s %10s\n", "delta", "test_acc", "test_loss");
    for (int i = 0; i < n; i++) {
        cfg->data.fixed_test_delta = deltas[i];
        ein_cell_result res;
        ein_err err = {0};
        if (ein_train_cell(cfg, d->train, d->test, &hooks, &res, &err) != EIN_OK)
            return fail(&err);
        bool drawn = isnan(deltas[i]);
        char name[32];
        if (drawn)
            snprintf(name, sizeof name, "drawn");
        else
            snprintf(name, sizeof name, "%g", deltas[i]);
        printf("%-8s %9.2f %10.4f", name, res.final.test_acc, res.final.test_loss);
        if (drawn)
            printf("   recorded %.2f%s", rec->final_test_acc,
                   res.final.test_acc == rec->final_test_acc ? " (the same)" : " (DIFFERENT)");
        putchar('\n');
        if (len < sizeof csv)
            len += (size_t)snprintf(csv + len, sizeof csv - len, "%s,%.10g,%.10g,%.10g\n", name,
                                    res.final.test_acc, res.final.test_loss, drawn ? rec->final_test_acc : NAN);
    }
    char path[EIN_PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/eval", a->dir);
    if (mkdir(path, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "einrun: eval: %s: %s\n", path, strerror(errno));
        return 74;
    }
    snprintf(path, sizeof path, "%s/eval/%s.csv", a->dir, rec->id);
    ein_err err = {0};
    if (ein_write_file_atomic(path, csv, len < sizeof csv ? len : sizeof csv - 1, &err) != EIN_OK)
        return fail(&err);
    printf("written: %s\n", path);
    return 0;
}

/* --epochs: continue the saved cell to N epochs, recorded as a new cell. */
typedef struct cont_ctx {
    ein_results *store;
    ein_cell *cell;
    const char *run;
    ein_code io;
    ein_err err;
} cont_ctx;

static void on_epoch(void *ctx, const ein_epoch_metrics *m)
{
    cont_ctx *c = ctx;
    printf("%s  epoch %d  train %.2f%%  test %.2f%%  loss %.4f\n", c->cell->id, m->epoch, m->train_acc,
           m->test_acc, m->task_loss);
    fflush(stdout);
    if (c->io == EIN_OK)
        c->io = ein_results_append_epoch(c->store, c->cell, c->run, m, &c->err);
}

static int cont(const eval_args *a, const ein_record_list *all, const ein_record *rec,
                const ein_cell_config *saved, const char *wdir, const loaded *d, int saved_epochs)
{
    const ein_record *rec_binds = rec;
    if (a->epochs <= saved_epochs) {
        fprintf(stderr, "einrun: eval: the saved cell has %d epochs already; --epochs must be more\n",
                saved_epochs);
        return 64;
    }
    ein_cell cell;
    memset(&cell, 0, sizeof cell);
    ein_cell_config cfg = *saved;
    cfg.train.epochs = (int)a->epochs;
    ein_cell_set_config(&cell, &cfg);
    ein_cell_id(rec->experiment, &cfg, cell.id);
    /* Bindings: those of the grid's own cell with this configuration when the
     * folder has one (continuing ep=2 to 3 epochs is the ep=3 cell), else the
     * saved cell's with the new length and where it came from. */
    const ein_record *same = ein_record_find(all, cell.id);
    bool own = same == NULL;
    if (same)
        rec_binds = same;
    ein_binding bind[EIN_RECORD_MAX_BIND + 2];
    for (int i = 0; i < rec_binds->n_bind; i++) {
        memset(&bind[i], 0, sizeof bind[i]);
        const ein_record_bind *rb = &rec_binds->bind[i];
        snprintf(bind[i].name, sizeof bind[i].name, "%s", rb->name);
        const char *text = rb->text;
        bool quote = !rb->is_number && text[0] != '[' && text[0] != '{';
        snprintf(bind[i].text, sizeof bind[i].text, quote ? "\"%.250s\"" : "%.250s", text);
        bind[i].is_number = rb->is_number;
        bind[i].number = bind[i].is_number ? strtod(text, NULL) : 0;
    }
    int nb = rec_binds->n_bind;
    if (own && nb + 2 <= EIN_RECORD_MAX_BIND) {
        bind[nb] = (ein_binding){ .name = "train.epochs", .is_number = true, .number = (double)a->epochs };
        snprintf(bind[nb++].text, sizeof bind[0].text, "%ld", a->epochs);
        bind[nb] = (ein_binding){ .name = "continued_from" };
        snprintf(bind[nb++].text, sizeof bind[0].text, "\"%s\"", rec->id);
    }
    cell.bindings = bind;
    cell.n_bindings = nb;
    ein_err err = {0};
    ein_results *store = ein_results_open(a->dir, false, NULL, &err);
    if (!store || ein_results_store_config(store, &cell, &err) != EIN_OK) {
        ein_results_close(store);
        return fail(&err);
    }
    char run[48], out_dir[EIN_PATH_MAX + 64];
    snprintf(run, sizeof run, "continue-%.16s", rec->id);
    snprintf(out_dir, sizeof out_dir, "%s/weights/%s", a->dir, cell.id);
    cont_ctx cc = { store, &cell, run, EIN_OK, { 0 } };
    ein_train_hooks hooks = { .ctx = &cc, .on_epoch = on_epoch, .resume_dir = wdir,
                              .save_weights_dir = out_dir, .blas_threads = ein_blas_default_threads() };
    printf("cell %s: %s continued from epoch %d to %ld\n", cell.id, rec->id, saved_epochs, a->epochs);
    ein_cell_result res;
    ein_code rc = ein_train_cell(&cfg, d->train, d->test, &hooks, &res, &err);
    if (rc == EIN_OK && cc.io != EIN_OK) {
        rc = cc.io;
        err = cc.err;
    }
    if (rc == EIN_OK)
        rc = ein_results_append_cell(store, rec->experiment, &cell, run, &res, &err);
    if (rc == EIN_OK)
        rc = ein_results_write_summary_csv(a->dir, &err);
    ein_results_close(store);
    if (rc != EIN_OK)
        return fail(&err);
    printf("cell %s: %s, final test accuracy %.2f%% (saved in %s)\n", cell.id, ein_cell_status_name(res.status),
           res.final.test_acc, out_dir);
    return res.status == EIN_CELL_OK ? 0 : 1;
}

int ein_cli_eval(int argc, char **argv)
{
    eval_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc >= 0)
        return rc;
    ein_record_list l;
    ein_err err = {0};
    char path[EIN_PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/cells.jsonl", a.dir);
    struct stat sb;
    if (stat(path, &sb) != 0) {
        fprintf(stderr, "einrun: eval: %s: %s\n", path, strerror(errno));
        return 74;
    }
    if (ein_results_read(a.dir, &l, &err) != EIN_OK)
        return fail(&err);
    const ein_record *rec = find_cell(&l, a.cell, a.dir);
    if (!rec) {
        ein_record_list_free(&l);
        return 64;
    }
    char wdir[EIN_PATH_MAX + 64];
    snprintf(wdir, sizeof wdir, "%s/weights/%s", a.dir, rec->id);
    ein_cell_config cfg;
    char id[EIN_ID_LEN + 1];
    loaded d = { 0 };
    if (ein_weights_load_config(wdir, &cfg, &err) != EIN_OK) {
        rc = fail(&err);
        goto out;
    }
    ein_cell_id(rec->experiment, &cfg, id);
    if (strcmp(id, rec->id) != 0) {
        fprintf(stderr, "einrun: eval: %s/cell.bin holds the configuration of cell %s, not %s\n", wdir, id, rec->id);
        rc = 65;
        goto out;
    }
    if (load_data(&cfg, &d, &err) != EIN_OK) {
        rc = fail(&err);
        goto out;
    }
    if (a.epochs)
        rc = cont(&a, &l, rec, &cfg, wdir, &d, rec->epochs);
    else
        rc = evaluate(&a, rec, &cfg, wdir, &d);
out:
    ein_dataset_free(d.train);
    ein_dataset_free(d.test);
    ein_record_list_free(&l);
    if (fflush(stdout) != 0 && rc == 0)
        rc = 74;
    return rc;
}
