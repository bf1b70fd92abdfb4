/* cell.h — the expanded grid: one fully bound configuration per cell.
 *
 * Produced by grid expansion (grid.h, language side), consumed by the runner
 * (results, workers, summaries).  A cell list owns everything it points to —
 * cells, bindings, the stored configurations — and ein_cell_list_free()
 * releases it in one call.  A view of a list (a selection, a shard) copies
 * cells and borrows what they point to: it lives no longer than the list.
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

/* A cell's configuration is stored as the bytes in which it differs from a
 * base configuration (the grid's first cell): a grid's cells differ in a few
 * numbers, and a whole ein_cell_config is 14 kB — 100 000 of them would take
 * 1.4 GB.  ein_cell_config_of() rebuilds it.  A cell made by hand has no
 * delta: `base` is then its whole configuration (ein_cell_set_config). */
typedef struct ein_cell {
    char id[EIN_ID_LEN + 1];
    int index;                        /* position in expansion order, 0-based */
    int n_bindings;
    ein_binding *bindings;            /* owned by the list */
    const ein_cell_config *base;      /* owned by the list (or, made by hand, by its maker) */
    const unsigned char *delta;       /* owned by the list; NULL: none */
    unsigned delta_len;
} ein_cell;

struct ein_cell_store;

typedef struct ein_cell_list {
    char experiment[EIN_NAME_MAX];    /* `experiment NAME { ... }` */
    char source_path[EIN_PATH_MAX];   /* the .ein file it came from */
    int n;
    ein_cell *cells;                  /* owned */
    struct ein_cell_store *store;     /* owned: the base configuration and the deltas */
} ein_cell_list;

void ein_cell_list_free(ein_cell_list *list);   /* frees contents; list itself is caller's */

/* The cell's configuration, rebuilt into *out; returns out. */
const ein_cell_config *ein_cell_config_of(const ein_cell *cell, ein_cell_config *out);

/* A cell made by hand: `cfg` (which the caller keeps alive) is its whole
 * configuration. */
void ein_cell_set_config(ein_cell *cell, const ein_cell_config *cfg);

/* Give `cell` the configuration `cfg`, stored in `list` as its difference
 * from the list's base (the first configuration stored becomes the base).
 * False when out of memory. */
bool ein_cell_list_store_config(ein_cell_list *list, ein_cell *cell, const ein_cell_config *cfg);

/* The binding named `name`, or NULL. */
const ein_binding *ein_cell_binding(const ein_cell *cell, const char *name);

#endif
