/* cost.c — FLOP counts and rates for the --dry-run estimate (cost.h).
 *
 * Why a rate in FLOP/s and not seconds per cell: cells of one grid differ in
 * width and data size; the FLOP count carries those differences, the rate
 * carries the machine (BLAS, non-GEMM ops, evaluation). */
#include "ein/cost.h"

#include "ein/blas.h"
#include "ein/gemm.h"

#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "ein/data.h"
#include "ein/results.h"
#include "ein/runner.h"
#include "ein/stats.h"
#include "ein/train.h"

/* Forward FLOPs per example of one layer (M1 E/I: W_ex, W_ix, W_ei; M3
 * E-only: W_ex; M4 I-Norm adds the divisive B_ix and B_ei). */
static double layer_forward(const ein_layer_config *l, int n_in)
{
    double ne = l->ne, ni = l->ni > 0 ? l->ni : fmax(1, floor(0.1 * l->ne)), x = n_in;
    double f = 2 * x * ne;
    if (l->kind == EIN_LAYER_EI)
        f += 2 * x * ni + 2 * ni * ne;
    if (l->fwd == EIN_FWD_INORM)
        f += 2 * x * ne + 2 * ne * ne;
    return f;
}

/* Whose kernels the probes ran: "ein's avx512 and OpenBLAS Haswell kernels",
 * or "OpenBLAS Haswell kernels" under EIN_GEMM=blas (gemm.h). */
static const char *kernels_in_use(char *buf, size_t n)
{
    ein_gemm_kernel k = ein_gemm_kernel_default();   /* what the probes' graphs ran */
    if (ein_gemm_is_own(k, false, true))
        snprintf(buf, n, "ein's %s and OpenBLAS %s kernels", ein_gemm_kernel_name(k), ein_blas_corename());
    else
        snprintf(buf, n, "OpenBLAS %s kernels", ein_blas_corename());
    return buf;
}

double ein_cell_flops(const ein_cell_config *cfg, int n_in, long n_train, long n_test)
{
    ein_cell_config c = *cfg;
    ein_config_resolve(&c);
    double fwd = 0;
    int in = n_in;
    for (int i = 0; i < c.n_hidden; i++) {
        fwd += layer_forward(&c.hidden[i], in);
        in = c.hidden[i].ne;
    }
    fwd += layer_forward(&c.output, in);
    /* training: forward + gradient wrt inputs + gradient wrt weights */
    return (double)c.train.epochs * ((double)n_train * 3 * fwd + (double)n_test * fwd);
}

/* --- data sizes from the IDX headers -------------------------------------- */

typedef struct data_size {
    char images[2][EIN_PATH_MAX];
    long limit[2];
    long n[2];
    int dim;
    bool found;
} data_size;

static bool read_header(const char *path, long *n, int *dim)
{
    char gz[EIN_PATH_MAX + 4];
    gzFile f = gzopen(path, "rb");
    if (!f) {
        snprintf(gz, sizeof gz, "%s.gz", path);
        f = gzopen(gz, "rb");
    }
    if (!f)
        return false;
    unsigned char h[16];
    bool ok = gzread(f, h, sizeof h) == (int)sizeof h;
    gzclose(f);
    if (!ok)
        return false;
    unsigned long v[4];
    for (int k = 0; k < 4; k++)
        v[k] = (unsigned long)h[4 * k] << 24 | (unsigned long)h[4 * k + 1] << 16 |
               (unsigned long)h[4 * k + 2] << 8 | h[4 * k + 3];
    if (v[0] != EIN_IDX_MAGIC_IMAGES)
        return false;
    *n = (long)v[1];
    *dim = (int)(v[2] * v[3]);
    return true;
}

/* Examples per split and pixels per example of cfg's data (cached: the
 * cells of one grid mostly share their data). */
static void data_sizes(const ein_data_config *cfg, data_size *cache, long *n_train, long *n_test,
                       int *dim)
{
    char img[2][EIN_PATH_MAX], lab[EIN_PATH_MAX];
    bool same = cache->found || cache->n[0] > 0;
    for (int s = 0; s < 2; s++) {
        if (ein_data_paths(cfg, s == 0 ? EIN_SPLIT_TRAIN : EIN_SPLIT_TEST, img[s], lab, NULL) != EIN_OK)
            img[s][0] = '\0';
        same = same && strcmp(img[s], cache->images[s]) == 0;
    }
    if (!same) {
        memset(cache, 0, sizeof *cache);
        int d0 = 0, d1 = 0;
        cache->found = read_header(img[0], &cache->n[0], &d0) && read_header(img[1], &cache->n[1], &d1);
        if (!cache->found) {   /* FashionMNIST's sizes */
            cache->n[0] = 60000;
            cache->n[1] = 10000;
            d0 = 784;
        }
        cache->dim = d0;
        for (int s = 0; s < 2; s++)
            snprintf(cache->images[s], EIN_PATH_MAX, "%s", img[s]);
    }
    long lim[2] = { cfg->limit_train, cfg->limit_test };
    long n[2];
    for (int s = 0; s < 2; s++)
        n[s] = lim[s] > 0 && lim[s] < cache->n[s] ? lim[s] : cache->n[s];
    *n_train = n[0];
    *n_test = n[1];
    *dim = cache->dim;
}

/* --- rates ---------------------------------------------------------------- */

#define PROBE_STEPS 26
#define PROBE_WINDOW 4

typedef struct step_clock {
    double start;                    /* when the cell began: before its model was built */
    double t[PROBE_STEPS + 1];       /* t[b]: when training step b had finished */
    long n;
    volatile sig_atomic_t stop;
} step_clock;

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void probe_batch(void *ctx, int epoch, long batch, long n_batches)
{
    step_clock *c = ctx;
    (void)epoch;
    if (batch <= PROBE_STEPS) {
        c->t[batch] = mono_now();
        c->n = batch;
    }
    if (batch >= n_batches)
        c->stop = 1;
}

/* Seconds per step: the median over every window of PROBE_WINDOW consecutive
 * steps after two warm-up steps.  Not the fastest window: on a shared
 * machine that is a lucky moment, and cells ran 5–35 % slower than it
 * (docs/running.md); the median is what a step takes most of the time. */
static double step_seconds(const step_clock *c)
{
    double w[PROBE_STEPS];
    int n = 0;
    for (long i = 2; i + PROBE_WINDOW <= c->n; i++) {
        double s = (c->t[i + PROBE_WINDOW] - c->t[i]) / PROBE_WINDOW;
        if (s > 0)
            w[n++] = s;
    }
    if (n == 0)
        return 0;
    ein_stat_sort(w, (size_t)n);
    return ein_stat_quantile_sorted(w, (size_t)n, 0.5);
}

/* Train `cfg` for a few steps on synthetic data (n_in pixels) and return the
 * FLOP/s of its training steps (one BLAS thread, as in a worker), and in
 * *setup the seconds a cell spends before its first step (building the graph,
 * the initialisation: I-Norm's SVD of each layer, M4); 0 if the cell cannot
 * be built.  Evaluation runs at the same rate (it is the forward part of the
 * same GEMMs). */
static double measure_rate(const ein_cell_config *cfg, int n_in, long *n_steps, double *setup)
{
    ein_cell_config c = *cfg;
    c.train.epochs = 1;
    long n_train = (long)c.train.batch * PROBE_STEPS, n_test = 1;
    size_t bytes = sizeof(ein_dataset) * 2 + (size_t)(n_train + n_test) * ((size_t)n_in + 1);
    unsigned char *mem = calloc(1, bytes);
    if (!mem)
        return 0;
    ein_dataset *tr = (ein_dataset *)mem, *te = tr + 1;
    uint8_t *px = mem + sizeof(ein_dataset) * 2;
    uint64_t s = 88172645463325252ull;
    for (size_t i = 0; i < (size_t)(n_train + n_test) * ((size_t)n_in + 1); i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        px[i] = (uint8_t)(s >> 24);
    }
    uint8_t *labels = px + (size_t)(n_train + n_test) * (size_t)n_in;
    for (long i = 0; i < n_train + n_test; i++)
        labels[i] %= EIN_DATA_CLASSES;
    *tr = (ein_dataset){ .n = n_train, .rows = 1, .cols = n_in, .dim = n_in,
                         .classes = EIN_DATA_CLASSES, .pixels = px, .labels = labels };
    *te = (ein_dataset){ .n = n_test, .rows = 1, .cols = n_in, .dim = n_in,
                         .classes = EIN_DATA_CLASSES, .pixels = px + (size_t)n_train * (size_t)n_in,
                         .labels = labels + n_train };
    step_clock clk = { 0 };
    ein_train_hooks hooks = { .ctx = &clk, .on_batch = probe_batch, .stop_now = &clk.stop,
                              .blas_threads = 1 };
    ein_cell_result res;
    double rate = 0;
    double per_step = 0;
    clk.start = mono_now();
    if (ein_train_cell(&c, tr, te, &hooks, &res, NULL) == EIN_OK && (per_step = step_seconds(&clk)) > 0) {
        /* one step's FLOPs: a whole 1-epoch cell of `batch` training examples, no test set */
        rate = ein_cell_flops(&c, n_in, c.train.batch, 0) / per_step;
        *n_steps = clk.n;
        *setup = fmax(0, clk.t[1] - clk.start - per_step);
    }
    free(mem);
    return rate;
}

/* FLOP/s from the folder's finished ok cells that belong to `list`. */
static double folder_rate(const ein_cell_list *list, const char *dir, data_size *cache, int *n_used)
{
    *n_used = 0;
    ein_record_list l;
    if (!dir || ein_results_read(dir, &l, NULL) != EIN_OK)
        return 0;
    double flops = 0, secs = 0;
    ein_record_finder fin;
    ein_record_finder_init(&fin, &l);
    for (int i = 0; i < list->n; i++) {
        const ein_record *r = ein_record_finder_get(&fin, list->cells[i].id);
        ein_cell_config cfg_buf;
        const ein_cell_config *cfg = ein_cell_config_of(&list->cells[i], &cfg_buf);
        if (!r || strcmp(r->status, "ok") != 0 || !(r->seconds > 0) || r->epochs < 1)
            continue;
        long n_train, n_test;
        int dim;
        data_sizes(&cfg->data, cache, &n_train, &n_test, &dim);
        flops += ein_cell_flops(cfg, dim, n_train, n_test) * r->epochs / cfg->train.epochs;
        secs += r->seconds;
        (*n_used)++;
    }
    ein_record_finder_free(&fin);
    ein_record_list_free(&l);
    return secs > 0 ? flops / secs : 0;
}

/* What the rate depends on besides the FLOP count: the kind and the norms of
 * each layer (GradNorm and I-Norm add element-wise work that GEMMs do not
 * count). */
static void arch_key(const ein_cell_config *c, char *key, size_t cap)
{
    size_t n = 0;
    key[0] = '\0';
    for (int i = 0; i < c->n_hidden && n + 16 < cap; i++)
        n += (size_t)snprintf(key + n, cap - n, "%d/%d/%d,", (int)c->hidden[i].kind,
                              (int)c->hidden[i].fwd, (int)c->hidden[i].bwd);
}

#define MAX_PROBES 8

typedef struct probe {
    char key[128];
    double rate, setup;         /* FLOP/s of its steps; seconds before the first */
} probe;

/* The probe of this kind of network; a kind not probed: the mean of all. */
static probe probe_of(const probe *p, int n, const char *key)
{
    probe mean = { .rate = 0 };
    for (int i = 0; i < n; i++) {
        if (strcmp(p[i].key, key) == 0)
            return p[i];
        mean.rate += p[i].rate / n;
        mean.setup += p[i].setup / n;
    }
    return mean;
}

ein_code ein_cost_estimate(const ein_cell_list *list, const int *todo, int n,
                           const char *results_dir, ein_cost *out, ein_err *err)
{
    (void)err;
    memset(out, 0, sizeof *out);
    out->n_cells = n;
    if (n == 0)
        return EIN_OK;
    data_size cache;
    memset(&cache, 0, sizeof cache);
    int used, n_probes = 0, kinds = 0;
    probe probes[MAX_PROBES];
    long n_probe = 0;
    double folder = folder_rate(list, results_dir, &cache, &used);
    if (folder > 0) {
        snprintf(out->basis, sizeof out->basis, "from %d finished cell%s of %s", used,
                 used == 1 ? "" : "s", results_dir);
    } else {
        /* one probe per kind of network in the selection */
        for (int i = 0; i < n; i++) {
            ein_cell_config cfg_buf;
            const ein_cell_config *cfg = ein_cell_config_of(&list->cells[todo[i]], &cfg_buf);
            char key[128];
            arch_key(cfg, key, sizeof key);
            bool seen = false;
            for (int k = 0; k < n_probes && !seen; k++)
                seen = strcmp(probes[k].key, key) == 0;
            if (seen)
                continue;
            kinds++;
            if (n_probes == MAX_PROBES)
                continue;
            long n_train, n_test;
            int dim;
            data_sizes(&cfg->data, &cache, &n_train, &n_test, &dim);
            double setup = 0, r = measure_rate(cfg, dim, &n_probe, &setup);
            if (r > 0) {
                snprintf(probes[n_probes].key, sizeof probes[n_probes].key, "%s", key);
                probes[n_probes].setup = setup;
                probes[n_probes++].rate = r;
            }
        }
        char kernels[64];
        snprintf(out->basis, sizeof out->basis,
                 "measured on this machine (the median %d-step window of %ld training steps plus the set-up, "
                 "1 BLAS thread, %s, of one cell of each of %d kind%s of network%s)%s", PROBE_WINDOW, n_probe,
                 kernels_in_use(kernels, sizeof kernels), n_probes, n_probes == 1 ? "" : "s",
                 kinds > n_probes ? "; the others at their mean" : "",
                 cache.found ? "" : "; data files not found: FashionMNIST's sizes assumed");
    }
    for (int i = 0; i < n; i++) {
        ein_cell_config cfg_buf;
        const ein_cell_config *cfg = ein_cell_config_of(&list->cells[todo[i]], &cfg_buf);
        long n_train, n_test;
        int dim;
        char key[128];
        data_sizes(&cfg->data, &cache, &n_train, &n_test, &dim);
        arch_key(cfg, key, sizeof key);
        double f = ein_cell_flops(cfg, dim, n_train, n_test);
        /* a finished cell's seconds include its set-up: the folder's rate does too */
        probe p = folder > 0 ? (probe){ .rate = folder } : probe_of(probes, n_probes, key);
        if (!(p.rate > 0)) {
            out->core_seconds = NAN;
            break;
        }
        double secs = f / p.rate + p.setup;
        out->flops += f;
        out->core_seconds += secs;
        if (secs > out->max_cell_seconds)
            out->max_cell_seconds = secs;
    }
    out->rate = out->core_seconds > 0 ? out->flops / out->core_seconds : 0;
    return EIN_OK;
}

/* "3.2 s", "14 min", "2.5 h", "31.9 days" */
static void duration(double s, char *buf, size_t cap)
{
    if (!isfinite(s))
        snprintf(buf, cap, "?");
    else if (s < 90)
        snprintf(buf, cap, "%.1f s", s);
    else if (s < 5400)
        snprintf(buf, cap, "%.0f min", s / 60);
    else if (s < 2 * 86400)
        snprintf(buf, cap, "%.1f h", s / 3600);
    else
        snprintf(buf, cap, "%.1f days", s / 86400);
}

void ein_cost_print(const ein_cost *c, int cores, FILE *out)
{
    if (c->n_cells == 0) {
        fprintf(out, "estimate: nothing to run\n");
        return;
    }
    if (!(c->rate > 0)) {
        fprintf(out, "estimate: %d cell%s, %.3g FLOP; no rate (the first cell could not be built)\n",
                c->n_cells, c->n_cells == 1 ? "" : "s", c->flops);
        return;
    }
    char avg[32], longest[32], here[32];
    duration(c->core_seconds / c->n_cells, avg, sizeof avg);
    duration(c->max_cell_seconds, longest, sizeof longest);
    int k = cores > 0 ? cores : 1;
    double wall = c->core_seconds / (c->n_cells < k ? c->n_cells : k);
    if (wall < c->max_cell_seconds)
        wall = c->max_cell_seconds;
    duration(wall, here, sizeof here);
    fprintf(out, "estimate: %d cell%s, %.1f core-hours (%s a cell on average, the longest %s)\n",
            c->n_cells, c->n_cells == 1 ? "" : "s", c->core_seconds / 3600, avg, longest);
    fprintf(out, "          %.3g FLOP at %.2f GFLOP/s per core on average, %s\n", c->flops, c->rate / 1e9,
            c->basis);
    if (wall > 86400)
        fprintf(out, "          this machine (%d core%s): about %s; too big for it in a day: "
                "spread it over a cluster with --slurm (docs/running.md)\n", k, k == 1 ? "" : "s", here);
    else
        fprintf(out, "          this machine (%d core%s): about %s\n", k, k == 1 ? "" : "s", here);
}

ein_code ein_cost_report(const ein_cell_list *view, const char *results_dir, FILE *out,
                         ein_cost *cost, ein_err *err)
{
    memset(cost, 0, sizeof *cost);
    const char *skip = getenv("EIN_NO_ESTIMATE");
    if (skip && *skip && strcmp(skip, "0") != 0)
        return EIN_OK;               /* scripts that only want the cell list */
    int *todo = calloc((size_t)(view->n > 0 ? view->n : 1), sizeof *todo);
    if (!todo)
        return ein_err_set(err, EIN_ERR_NOMEM, "out of memory");
    ein_record_list done;
    ein_code c = ein_results_read(results_dir, &done, err);
    if (c == EIN_OK) {
        int n = ein_runner_pending(view, &done, todo);
        ein_record_list_free(&done);
        if (n < view->n)
            fprintf(out, "(%s: %d of %d cells already finished)\n", results_dir, view->n - n, view->n);
        c = ein_cost_estimate(view, todo, n, results_dir, cost, err);
        if (c == EIN_OK)
            ein_cost_print(cost, ein_online_cores(), out);
    }
    free(todo);
    return c;
}
