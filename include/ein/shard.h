/* shard.h — many writers, one results folder (docs/running.md, "Many
 * writers"): run tags, K/N partitions of a selection, the merged view of the
 * shards, and the selection manifest that `einrun status` reads.
 *
 * Layout of a results folder with several writers:
 *   shards/cells.<tag>.jsonl, shards/epochs.<tag>.jsonl
 *                   each writer's own records (results.h), never shared
 *   claims/<id>.claim   who runs which cell (claim.h)
 *   cells.jsonl, epochs.jsonl
 *                   the merged view: every line of the old single-writer
 *                   files and of every shard, each attempt once, rewritten
 *                   (atomically) at the end of every run and by `einrun
 *                   summary`, for pandas and R.  Readers inside ein never
 *                   rely on it: ein_results_read merges the shards itself.
 *   selection.tsv   the cells of the last run or submission and their shard
 *
 * Ownership: ein_manifest_read fills a struct freed by ein_manifest_free.
 */
#ifndef EIN_SHARD_H
#define EIN_SHARD_H

#include <stdbool.h>
#include "ein/cell.h"
#include "ein/err.h"

/* "20261201T221501Z-node3-12345": UTC start time, host, pid.  Unique per
 * writer across the nodes of a cluster; text order is start order. */
void ein_run_tag(char out[48]);

/* Which shard (1..n_shards) the cell at 0-based `position` of a selection
 * belongs to: round-robin, so the shards are disjoint, cover the selection,
 * and each gets a mix of the grid's axes (similar cost). */
int ein_shard_of(int position, int n_shards);

/* Parse "K/N" (1 <= K <= N).  EIN_ERR_USAGE with a message otherwise. */
ein_code ein_shard_parse(const char *s, int *k, int *n, ein_err *err);

/* The cells of shard k of n of `selection` into *part, which borrows the
 * cells' bindings; the caller frees part->cells. */
ein_code ein_shard_view(const ein_cell_list *selection, int k, int n, ein_cell_list *part,
                        ein_err *err);

/* Rewrite DIR/cells.jsonl and DIR/epochs.jsonl as the union of their own
 * lines and every shard's (each attempt once: cells by id and run, epochs by
 * id, run and epoch; torn lines dropped), in merge order.  A folder without
 * shards is left as it is. */
ein_code ein_results_write_merged(const char *dir, ein_err *err);

/* --- selection.tsv ------------------------------------------------------ */

typedef struct ein_manifest_cell {
    char id[EIN_ID_LEN + 1];
    int shard;                       /* 1..n_shards */
    int epochs;
    char label[200];                 /* "eps=0.5 variant=ln seed=1" */
} ein_manifest_cell;

typedef struct ein_manifest {
    int n, n_shards;
    ein_manifest_cell *cell;        /* owned */
} ein_manifest;

/* Write DIR/selection.tsv for the cells of `view` split into n_shards. */
ein_code ein_manifest_write(const char *dir, const ein_cell_list *view, int n_shards, ein_err *err);
/* Read it back; a missing file gives n = 0 and EIN_OK. */
ein_code ein_manifest_read(const char *dir, ein_manifest *out, ein_err *err);
void ein_manifest_free(ein_manifest *s);

#endif
