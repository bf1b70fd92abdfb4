/* status.h — `einrun status RESULTS_DIR [--watch [SECONDS]]`: how far the
 * writers of a results folder are (docs/running.md, "Watching a run").
 *
 * From selection.tsv (the cells of the last run or submission and their
 * shards), the merged records (results.h) and the claims (claim.h): per cell
 * done / running / failed / interrupted / not started, per shard, every
 * running cell with its host, pid, epoch and the age of its claim and
 * heartbeat, claims whose owner is gone, the slowest running cell and an ETA.
 */
#ifndef EIN_STATUS_H
#define EIN_STATUS_H

#include <stdbool.h>
#include <stdio.h>
#include "ein/err.h"

typedef struct ein_status_counts {
    int cells, shards;
    int ok, diverged, running, stale, failed, interrupted, not_started;
} ein_status_counts;

/* Print the status of `dir` to `out`; `counts` (may be NULL) receives the
 * totals.  EIN_ERR_IO when dir holds no results at all. */
ein_code ein_status_print(const char *dir, FILE *out, ein_status_counts *counts, ein_err *err);

#endif
