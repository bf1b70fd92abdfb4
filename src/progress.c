/* progress.c — see progress.h. */
#include "ein/progress.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct running {
    const ein_cell *cell;
    int epoch;
} running;

struct ein_progress {
    FILE *lines, *status;
    bool tty, quiet, drawn;
    int total, epochs, done, started, failed;
    int elsewhere;                /* cells another writer finished meanwhile (claims) */
    double best;
    double t0, last_plain;
    running *run;                 /* `total` slots at most */
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

ein_progress *ein_progress_new(int total, int epochs, FILE *lines, FILE *status, bool quiet)
{
    ein_progress *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->run = calloc((size_t)(total > 0 ? total : 1), sizeof *p->run);
    if (!p->run) {
        free(p);
        return NULL;
    }
    const char *ci = getenv("CI");
    p->tty = status && isatty(fileno(status)) && !(ci && strcmp(ci, "true") == 0);
    p->lines = lines;
    p->status = status;
    p->quiet = quiet;
    p->total = total;
    p->epochs = epochs;
    p->best = NAN;
    p->t0 = p->last_plain = now();
    return p;
}

void ein_progress_on_skip(void *pp, const ein_cell *cell)
{
    ein_progress *p = pp;
    (void)cell;
    p->elsewhere++;
}

void ein_progress_free(ein_progress *p)
{
    if (p) {
        free(p->run);
        free(p);
    }
}

void ein_cell_short(const ein_cell *cell, char *buf, size_t cap)
{
    size_t n = 0;
    buf[0] = '\0';
    for (int i = 0; i < cell->n_bindings && n + 1 < cap; i++) {
        int w = snprintf(buf + n, cap - n, "%s%s=%s", i ? " " : "", cell->bindings[i].name,
                         cell->bindings[i].text);
        if (w < 0)
            break;
        n += (size_t)w;
    }
}

static void clear_status(ein_progress *p)
{
    if (p->tty && p->drawn) {
        fputs("\r\033[K", p->status);
        fflush(p->status);
        p->drawn = false;
    }
}

static void fmt_duration(double s, char *buf, size_t cap)
{
    if (!isfinite(s) || s < 0)
        snprintf(buf, cap, "?");
    else if (s < 60)
        snprintf(buf, cap, "%.0fs", s);
    else if (s < 3600)
        snprintf(buf, cap, "%dm%02ds", (int)s / 60, (int)s % 60);
    else
        snprintf(buf, cap, "%dh%02dm", (int)s / 3600, ((int)s % 3600) / 60);
}

static void draw(ein_progress *p, bool plain)
{
    if (!p->status)
        return;
    int nrun = 0, slowest = -1;
    for (int i = 0; i < p->total; i++)
        if (p->run[i].cell) {
            nrun++;
            if (slowest < 0 || p->run[i].epoch < p->run[slowest].epoch)
                slowest = i;
        }
    double el = now() - p->t0;
    double eta = p->done > 0 ? el / p->done * (p->total - p->elsewhere - p->done) : NAN;
    char e1[16], e2[16], epoch[48] = "", best[32] = "";
    fmt_duration(el, e1, sizeof e1);
    fmt_duration(eta, e2, sizeof e2);
    if (slowest >= 0) {
        /* the epoch in progress; after the last one the cell is only wrapping up */
        ein_cell_config cfg;
        int total = ein_cell_config_of(p->run[slowest].cell, &cfg)->train.epochs;
        int e = p->run[slowest].epoch + 1;
        snprintf(epoch, sizeof epoch, ", slowest at epoch %d/%d", e < total ? e : total, total);
    }
    if (isfinite(p->best))
        snprintf(best, sizeof best, ", best %.2f%%", p->best);
    char line[256];
    snprintf(line, sizeof line, "[%d/%d cells, %d running%s%s%s, %s elapsed, ETA %s]", p->done,
             p->total - p->elsewhere, nrun, epoch, best, p->failed ? ", some failed" : "", e1, e2);
    if (plain) {
        fprintf(p->status, "%s\n", line);
    } else {
        fprintf(p->status, "\r\033[K%s", line);
        p->drawn = true;
    }
    fflush(p->status);
}

static running *slot_of(ein_progress *p, const ein_cell *cell)
{
    for (int i = 0; i < p->total; i++)
        if (p->run[i].cell == cell)
            return &p->run[i];
    return NULL;
}

void ein_progress_on_start(void *ctx, const ein_cell *cell)
{
    ein_progress *p = ctx;
    running *s = slot_of(p, NULL);
    if (s) {
        s->cell = cell;
        s->epoch = 0;
    }
    p->started++;
    if (p->tty)
        draw(p, false);
}

void ein_progress_on_epoch(void *ctx, const ein_cell *cell, const ein_epoch_metrics *m)
{
    ein_progress *p = ctx;
    running *s = slot_of(p, cell);
    if (s)
        s->epoch = m->epoch;
    if (p->lines && !p->quiet) {
        clear_status(p);
        char b[160];
        ein_cell_short(cell, b, sizeof b);
        ein_cell_config cfg;
        fprintf(p->lines, "%.8s %s  epoch %d/%d  train %.2f%%  test %.2f%%  loss %.4f", cell->id, b, m->epoch,
                ein_cell_config_of(cell, &cfg)->train.epochs, m->train_acc, m->test_acc, m->task_loss);
        if (isfinite(m->inorm_loss))
            fprintf(p->lines, "  inorm %.4f", m->inorm_loss);
        fprintf(p->lines, "  %.1fs\n", m->seconds);
        fflush(p->lines);
    }
    if (p->tty)
        draw(p, false);
}

void ein_progress_on_done(void *ctx, const ein_cell *cell, const ein_cell_result *r)
{
    ein_progress *p = ctx;
    running *s = slot_of(p, cell);
    if (s)
        s->cell = NULL;
    p->done++;
    if (r->status == EIN_CELL_FAILED)
        p->failed++;
    if (r->status == EIN_CELL_OK && r->epochs_done > 0 &&
        (!isfinite(p->best) || r->final.test_acc > p->best))
        p->best = r->final.test_acc;
    if (p->lines) {
        clear_status(p);
        char b[160];
        ein_cell_short(cell, b, sizeof b);
        fprintf(p->lines, "%.8s %s  %s", cell->id, b, ein_cell_status_name(r->status));
        if (r->epochs_done > 0)
            fprintf(p->lines, "  final test %.2f%%  best %.2f%% (epoch %d)", r->final.test_acc,
                    r->best.test_acc, r->best.epoch);
        fprintf(p->lines, "  %.1fs", r->seconds);
        if (r->message[0])
            fprintf(p->lines, "  %s", r->message);
        fputc('\n', p->lines);
        fflush(p->lines);
    }
    if (p->tty)
        draw(p, false);
    else if (p->status && p->lines != p->status && (now() - p->last_plain >= 30 || p->done == p->total - p->elsewhere)) {
        draw(p, true);
        p->last_plain = now();
    }
}

void ein_progress_on_tick(void *ctx)
{
    ein_progress *p = ctx;
    if (p->tty) {
        draw(p, false);
    } else if (now() - p->last_plain >= 30) {
        draw(p, true);
        p->last_plain = now();
    }
}

void ein_progress_finish(ein_progress *p)
{
    clear_status(p);
}
