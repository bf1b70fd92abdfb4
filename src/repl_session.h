/* repl_session.h — the REPL session's state and the helpers its three files
 * share (private to src/repl_*.c).
 *
 * repl_cmd.c keeps the session: the statements, the overrides of :set,
 * argument parsing, the command table, completion.  repl_runs.c makes and
 * compares runs (:run, :ablate, :compare, :runs); repl_save.c writes the
 * session back out (:save) and explains where a setting comes from (:show).
 * Every command returns an exit status (repl_impl.h). */
#ifndef EIN_REPL_SESSION_H
#define EIN_REPL_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "ein/ast.h"
#include "ein/check.h"
#include "ein/diag.h"
#include "ein/err.h"
#include "ein/grid.h"
#include "ein/names.h"
#include "ein/parse.h"
#include "ein/progress.h"
#include "ein/results.h"
#include "ein/schema.h"
#include "ein/session.h"
#include "repl_impl.h"

#define MAX_OV 64

typedef struct source {
    char *name, *text;
    size_t len;
} source;

/* A :set (or :ablate) value: kept for the whole session, since runs refer to it. */
typedef struct override {
    char path[EIN_NAME_MAX];
    char *text;                    /* canonical value text */
    ein_program *expr;             /* the parsed value */
    char where[64];                /* "<input>:3" */
    ein_loc name_loc;              /* PATH in the input, for messages about it */
} override;

typedef struct run_cell {
    char id[EIN_ID_LEN + 1];
    char label[256];               /* its bindings, "eps=0 variant=ln" */
    char config_key[64];           /* the pairing key for :compare (label without the ablated name) */
    bool have_result, have_record;
    ein_cell_result res;           /* from this run (layers included) */
    unsigned metrics;
    int n_hidden;
} run_cell;

typedef struct run {
    int number;
    char experiment[EIN_NAME_MAX], dir[EIN_PATH_MAX];
    char what[1024];               /* the command that made it */
    char where[512];               /* its filter */
    long epochs, limit_train, jobs;
    int n_ov, ov[MAX_OV];          /* indexes into repl.pool */
    int n_cells;
    run_cell *cells;
    ein_run_totals totals;
} run;

struct repl {
    FILE *out, *log;
    ein_diag *diag;                /* this command's sink */
    const char *input;             /* this command's input line (borrowed) */
    ein_module *module;            /* the session program, checked in this command's sink */
    int n_src, cap_src;
    source *src;
    int n_prog, cap_prog;
    ein_program **prog;            /* parsed texts; they own the statements */
    int n_stmt, cap_stmt;
    ein_stmt **stmt;               /* the session program, in order */
    ein_program root;              /* a view of stmt[] for the checker */
    char base[EIN_PATH_MAX];       /* the last :load'ed file: relative imports resolve there */
    char experiment[EIN_NAME_MAX]; /* the current one: the last defined */
    int n_pool, cap_pool;
    override *pool;
    int n_ov, ov[MAX_OV];          /* active overrides (pool indexes), in :set order */
    int n_runs, cap_runs;
    run *runs;
    int baseline;                  /* the last :run (index into runs), -1 none */
    ein_data_cache *dc;
    char default_dir[EIN_PATH_MAX];/* results/repl-<date> */
};

typedef struct selection_args {
    const char *experiment;        /* NULL: the current one */
    const char *where;
    long epochs, limit_train, max_cells;
    int n_ov;
    const int *ov;
} selection_args;

typedef struct run_args {
    char experiment[EIN_NAME_MAX], where[512];
    long epochs, limit_train, jobs;
    bool quiet;
} run_args;

/* Grow arr (n used, cap allocated) by one; false when out of memory. */
bool repl_grow(void **p, int *cap, int n, size_t size);
#define GROW(arr, n, cap) repl_grow((void **)&(arr), &(cap), (n), sizeof *(arr))

int repl_oom(repl *r);                              /* prints it; the exit status */
const char *repl_stmt_name(const ein_stmt *s, int *space);
int repl_select_cells(repl *r, const selection_args *a, ein_selection *sel);
void repl_trim_end(char *s);
bool repl_parse_long(const char *s, long min, long *out);
int repl_parse_assignment(repl *r, char *args, const char *cmd, int line, int col);
int repl_with_override(const repl *r, const int *ov, int n, int idx, int *out);
int repl_parse_run_args(repl *r, char *args, const char *cmd, run_args *a);

/* The meta-commands of the other files: (session, arguments, where the line starts). */
int repl_cmd_run(repl *r, char *args, int line, int col);
int repl_cmd_ablate(repl *r, char *args, int line, int col);
int repl_cmd_compare(repl *r, char *args, int line, int col);
int repl_cmd_runs(repl *r, char *args, int line, int col);
int repl_cmd_save(repl *r, char *args, int line, int col);
int repl_cmd_show(repl *r, char *args, int line, int col);

#endif
