/* results.h — the results store of one experiment: a folder of append-only,
 * crash-safe files (docs/running.md describes them for users).
 *
 *   cells.jsonl    one JSON object per finished cell attempt (ok, diverged,
 *                  interrupted, failed) with its bindings, its whole
 *                  configuration ("config", one member per line of
 *                  ein_config_write) and metrics (null when not measured);
 *                  a rerun of a cell appends a new record and the last
 *                  record of an id wins
 *   epochs.jsonl   one JSON object per cell per epoch, tagged with the run
 *   summary.csv    one row per cell (last record), regenerated from
 *                  cells.jsonl by write-to-temp + fsync + rename
 *   source.ein     the exact .ein source, source.sha256 its SHA-256
 *   configs/ID.txt the operative configuration of each cell, with provenance
 *
 * Durability: within one writer (an einrun process) the runner process is
 * the single writer.  Every record is one line written with a single write()
 * and then fsync'ed, so after a crash the file holds whole records plus at
 * most one torn last line.  Opening the store truncates a torn last line (it
 * holds no complete result) and reading ignores any line that does not parse.
 *
 * Many writers (shard.h, claim.h): a store switched to a shard with
 * ein_results_use_shard appends to shards/cells.<tag>.jsonl and
 * shards/epochs.<tag>.jsonl instead, one pair per writer, so writers on
 * several nodes never share a file.  Every reader goes through
 * ein_results_read, which merges DIR/cells.jsonl (a single-writer folder's
 * records, or the merged view of shard.h) with every shard.
 *
 * Ownership: ein_results_open returns a store the caller frees with
 * ein_results_close; ein_results_read fills a record list the caller frees
 * with ein_record_list_free.  Everything a record points to (its strings,
 * bindings and leaves) lives in blocks the list owns and never
 * moves, so records copy, move and drop freely within the list's lifetime,
 * and ein_record_list_append hands the blocks on with the records.
 */
#ifndef EIN_RESULTS_H
#define EIN_RESULTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "ein/cell.h"
#include "ein/err.h"
#include "ein/hash.h"
#include "ein/train.h"

typedef struct ein_results ein_results;

/* The file that marks a folder as einrun's own results folder. */
#define EIN_RESULTS_MARKER ".einrun-results"

/* Open (creating it and its parents) the folder `dir`.  With `fresh`, an
 * existing non-empty folder is first renamed to DIR.YYYYmmdd-HHMMSS (never
 * deleted); `moved_to` (may be NULL, EIN_PATH_MAX bytes) receives that name
 * or "".  Only a new or empty folder, or one einrun made (it holds
 * EIN_RESULTS_MARKER, or cells.jsonl and source.sha256 from before the
 * marker), is used; any other is refused (EIN_ERR_IO) before anything is
 * written or moved. */
ein_results *ein_results_open(const char *dir, bool fresh, char *moved_to, ein_err *err);
void ein_results_close(ein_results *r);
/* From now on append this writer's records to shards/{cells,epochs}.<tag>.jsonl
 * (creates shards/).  `tag` is the writer's run tag (ein_run_tag, shard.h). */
ein_code ein_results_use_shard(ein_results *r, const char *tag, ein_err *err);
const char *ein_results_dir(const ein_results *r);

/* Copy the .ein source verbatim to source.ein and its SHA-256 to
 * source.sha256 ("<hex>  source.ein\n", sha256sum format).  When a different
 * source was stored before, the old pair is kept as source.<hash12>.ein. */
ein_code ein_results_store_source(ein_results *r, const char *path, ein_err *err);
/* The same from the text itself (the text that was checked: a file read
 * once, standard input included). */
ein_code ein_results_store_source_text(ein_results *r, const char *text, size_t len, ein_err *err);

/* configs/<id>.txt: ein_config_write with provenance (skipped if present). */
ein_code ein_results_store_config(ein_results *r, const ein_cell *cell, ein_err *err);

/* One epochs.jsonl line: {"id","run","epoch",train_acc,...,"layers":[...]}. */
ein_code ein_results_append_epoch(ein_results *r, const ein_cell *cell, const char *run,
                                  const ein_epoch_metrics *m, ein_err *err);

/* One cells.jsonl line for a finished attempt of `cell`. */
ein_code ein_results_append_cell(ein_results *r, const char *experiment, const ein_cell *cell,
                                 const char *run, const ein_cell_result *res, ein_err *err);

/* --- reading back ------------------------------------------------------- */

#define EIN_RECORD_MAX_BIND 32

/* One binding of a record: the axis name and its value as written. */
typedef struct ein_record_bind {
    const char *name, *text;           /* strings unquoted */
    bool is_number;
} ein_record_bind;

struct ein_record_shape;               /* the leaf paths records share (records.c) */

/* One record of cells.jsonl.  Small and of fixed size (100 000 of them are
 * read at once): every string and array it points to lives in the blocks of
 * the record list it was read into and belongs to that list, so a record
 * (and any copy of it) is valid as long as that list is, or the list its
 * blocks were appended to; keep a copy of what must outlive it.  The
 * strings are never NULL; "" when absent. */
typedef struct ein_record {
    char id[EIN_ID_LEN + 1];
    int index;                         /* the cell's position in its grid's expansion order */
    const char *experiment, *run;
    const char *finished;              /* "2026-12-01T22:15:01.123Z", "" in older records */
    const char *status;                /* "ok", "diverged", "interrupted", "failed" */
    const char *message;
    const char *folder;                /* the folder it was read from (one string per folder) */
    int epochs;
    double seconds;
    int n_bind;                        /* at most EIN_RECORD_MAX_BIND */
    const ein_record_bind *bind;       /* n_bind of them, in the record's order */
    double final_test_acc, best_test_acc, final_train_acc;     /* NaN if absent */
    double final_task_loss, final_inorm_loss, final_test_loss;
    int best_epoch;
    int n_final_layers;                /* hidden layers with M9 metrics at the final epoch
                                          (ein_record_final_layer) */
    int n_config;                      /* settings in its "config"; 0 in older records */
    /* The config/, final/ and best/ leaves (ein_record_next_leaf): their paths
     * in `shape`, shared by every record with the same paths; per leaf, in
     * that order, its type and then its text (a setting's value is shared by
     * the records of the list with the same one); shape is NULL for a record
     * without leaves. */
    const struct ein_record_shape *shape;
    const char *const *leaf;
} ein_record;

/* One leaf of a record: `path` as in the JSON with '/' between the levels
 * ("config/train.epochs", "final/test_acc", "final/layers/0/var"), `text` the
 * value as written (strings unquoted), `type` 's' string, 'n' number,
 * 'b' true/false, 'z' null.  Both strings belong to the record's list. */
typedef struct ein_record_leaf {
    const char *path, *text;
    char type;
} ein_record_leaf;

struct ein_leaf_block;

typedef struct ein_record_list {
    struct ein_leaf_block *blocks;     /* owned: every string and array the records point to */
    int n;
    ein_record *rec;                   /* owned; one record per id, in expansion order (index),
                                          first seen first among equal indexes */
    int n_lines, n_bad;                /* lines read, lines ignored (torn or malformed) */
} ein_record_list;

/* The one loading function: every record of DIR — DIR/cells.jsonl, then
 * the shards in name order (a missing file is an empty list).  Per cell id
 * one record counts: a result (ok, diverged) over a non-result (failed,
 * interrupted), then the later `finished` time, then the later line; a line
 * seen twice (the same id and run, e.g. in a shard and in the merged view)
 * counts once.  The list is in expansion order, so it does not depend on
 * which writer finished what first. */
ein_code ein_results_read(const char *dir, ein_record_list *out, ein_err *err);
void ein_record_list_free(ein_record_list *l);
/* Move every record of `src`, and the blocks everything they point to lives
 * in, to the end of `dst`: the records' pointers stay valid, now owned by
 * `dst`; `src` is left empty.  EIN_ERR_NOMEM leaves both as they were. */
ein_code ein_record_list_append(ein_record_list *dst, ein_record_list *src, ein_err *err);
const ein_record *ein_record_find(const ein_record_list *l, const char *id);
/* Many lookups in one list (a cell of a 100 000-cell grid each): the ids
 * hashed once.  The list must not change while the finder is in use; out of
 * memory, it finds by search (the same answers, slower). */
typedef struct ein_record_finder {
    const ein_record_list *list;
    ein_name_index ids;
    bool indexed;
} ein_record_finder;
void ein_record_finder_init(ein_record_finder *f, const ein_record_list *l);
const ein_record *ein_record_finder_get(const ein_record_finder *f, const char *id);
void ein_record_finder_free(ein_record_finder *f);
/* The value of binding `name`, or NULL. */
const char *ein_record_binding(const ein_record *rec, const char *name, bool *is_number);
/* Walk the leaves: start with *pos = 0 (then it counts the leaves); false
 * after the last one. */
bool ein_record_next_leaf(const ein_record *rec, size_t *pos, ein_record_leaf *leaf);
/* The text of the leaf at `path` ("config/data.eps") and its type, or NULL. */
const char *ein_record_leaf_at(const ein_record *rec, const char *path, char *type);
/* The value of setting `path` ("train.epochs") from the record's "config",
 * or NULL (an older record, or a setting this configuration does not have). */
const char *ein_record_setting(const ein_record *rec, const char *path, char *type);

/* The M9 metrics of hidden layer `layer` at the final epoch, from the
 * record's final/layers leaves; NaN where not measured (or no such layer). */
ein_layer_metrics ein_record_final_layer(const ein_record *rec, int layer);

/* The settings that tell the records' configurations apart: every setting
 * path whose value differs between the records that carry a "config", or
 * that only some of them have, in the order of the canonical text.  *out
 * (malloc'd; the caller frees the array, the strings belong to the list)
 * receives the paths; returns their count, or -1 when out of memory. */
int ein_records_differing_settings(const ein_record_list *l, const char ***out);

/* Regenerate DIR/summary.csv from DIR/cells.jsonl (temp file, fsync, rename).
 * Columns: id, experiment, one per binding name (union over records, first-
 * seen order), one per differing setting (ein_records_differing_settings,
 * named by its path, unless a binding has that name), status, epochs, final_test_acc, best_test_acc, best_epoch,
 * final_train_acc, final_task_loss, final_inorm_loss, final_test_loss,
 * seconds, message.  NA for a missing value. */
ein_code ein_results_write_summary_csv(const char *dir, ein_err *err);
/* The same from `l`, the records already read from DIR (ein_results_read),
 * so a caller that needs them too reads DIR once. */
ein_code ein_results_write_summary_csv_of(const char *dir, const ein_record_list *l, ein_err *err);

/* The record files of `kind` ("cells" or "epochs") in DIR in merge order:
 * DIR/<kind>.jsonl if present, then DIR/shards/<kind>.*.jsonl sorted by name.
 * *paths (n entries) is freed with ein_results_files_free. */
ein_code ein_results_files(const char *dir, const char *kind, char ***paths, int *n, ein_err *err);
void ein_results_files_free(char **paths, int n);

/* --- helpers shared with the summary writer ------------------------------ */

/* Walk one JSON object (a line of cells.jsonl or epochs.jsonl), handing every
 * leaf to `visit` with its path ("final/layers/0/var"); false when the text is
 * not one whole object (nothing of a torn line counts as read).  The walk
 * works in place, without copying: it unescapes strings inside `line` and
 * NUL-terminates each value there, so line[len] must be writable (getline's
 * NUL) and the line is not its old text afterwards; `text` is valid during
 * the visit only. */
typedef void (*ein_json_visit)(void *ctx, const char *path, const char *text, bool is_string, bool is_null);
bool ein_json_walk(char *line, size_t len, ein_json_visit visit, void *ctx);

/* True if `s` is a JSON number (RFC 8259 grammar): a setting's text that is
 * one is written as a number, and the reader takes it without strtod. */
bool ein_json_number_text(const char *s);
/* Append `s` as a JSON string literal (quotes, escapes, \u00XX controls). */
void ein_json_string(char *buf, size_t cap, size_t *len, const char *s);
/* One CSV field: unquoted unless it holds , " CR LF or leading/trailing space. */
void ein_csv_field(FILE *out, const char *s);
/* Write all of `buf` to `path` atomically: a temporary name of this process
 * (path.tmp.<host>.<pid>, so concurrent writers never share it), fsync,
 * rename, fsync dir. */
ein_code ein_write_file_atomic(const char *path, const char *buf, size_t len, ein_err *err);

#endif
