/* cell.h — the expanded grid: one fully bound configuration per cell.
 *
 * Produced by grid expansion (grid.h, language side), consumed by the runner
 * (results, workers, summaries).  A cell list owns everything it points to;
 * ein_cell_list_free() releases it in one call.
 *
 * Cell ids are stable: 16 lowercase hex digits of a 64-bit hash of the cell's
 * canonical bound configuration (its lowered ein_cell_config, serialized in a
 * fixed order, plus the experiment name).  Reordering axes or adding a value to
 * an axis leaves existing cells' ids unchanged; changing anything that changes
 * a cell's configuration gives it a new id.
 */
#ifndef EIN_CELL_H
#define EIN_CELL_H

#include "ein/config.h"

#define EIN_ID_LEN 16
#define EIN_VALUE_TEXT_MAX 256

/* One grid axis (or derived value) bound for a cell, for records and filters. */
typedef struct ein_binding {
    char name[EIN_NAME_MAX];          /* axis name; a sample/table field is "cfg.lr" */
    char text[EIN_VALUE_TEXT_MAX];    /* canonical text: 0.25, 500, "ln", [1, 2] */
    bool is_number;                   /* text is a plain number (a CSV column can be numeric) */
    double number;                    /* the value when is_number */
} ein_binding;

typedef struct ein_cell {
    char id[EIN_ID_LEN + 1];
    int index;                        /* position in expansion order, 0-based */
    int n_bindings;
    ein_binding *bindings;            /* owned by the list */
    ein_cell_config config;
} ein_cell;

typedef struct ein_cell_list {
    char experiment[EIN_NAME_MAX];    /* `experiment NAME { ... }` */
    char source_path[EIN_PATH_MAX];   /* the .ein file it came from */
    int n;
    ein_cell *cells;                  /* owned */
} ein_cell_list;

void ein_cell_list_free(ein_cell_list *list);   /* frees contents; list itself is caller's */

/* The binding named `name`, or NULL. */
const ein_binding *ein_cell_binding(const ein_cell *cell, const char *name);

#endif
