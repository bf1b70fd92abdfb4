/* progress.h — what a running grid shows (docs/running.md).
 *
 * stdout: one line per cell per epoch (cell id, its bindings, epoch, train
 * and test accuracy, losses, time) and one line per finished cell — the
 * record of the run, meant for logs and pipes.
 * stderr: the status — cells done/total, running, the current epoch of each
 * running cell (the slowest when several), ETA, best test accuracy so far.
 * On a terminal (isatty(stderr) and CI is not "true") it is one line redrawn
 * in place; otherwise a plain line at most every 30 s.
 *
 * The functions match ein_runner_events (pass the progress as ctx).
 * ein_progress_new returns an object the caller frees with ein_progress_free.
 */
#ifndef EIN_PROGRESS_H
#define EIN_PROGRESS_H

#include <stdbool.h>
#include <stdio.h>
#include "ein/cell.h"
#include "ein/train.h"

typedef struct ein_progress ein_progress;

/* `total`: cells in this run; `epochs`: unused beyond bookkeeping (each
 * line shows its own cell's epochs); quiet: no per-epoch lines (cell lines
 * and the status remain). */
ein_progress *ein_progress_new(int total, int epochs, FILE *lines, FILE *status, bool quiet);
void ein_progress_free(ein_progress *p);

void ein_progress_on_start(void *p, const ein_cell *cell);
void ein_progress_on_epoch(void *p, const ein_cell *cell, const ein_epoch_metrics *m);
void ein_progress_on_done(void *p, const ein_cell *cell, const ein_cell_result *r);
void ein_progress_on_tick(void *p);
void ein_progress_on_skip(void *p, const ein_cell *cell);   /* another writer finished it */
void ein_progress_finish(ein_progress *p);     /* clear the status line */

/* "eps=0.75 variant=ln" (at most `cap` bytes). */
void ein_cell_short(const ein_cell *cell, char *buf, size_t cap);

#endif
