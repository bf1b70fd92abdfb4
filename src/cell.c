/* cell.c — the expanded cell list (include/ein/cell.h). */
#include "ein/cell.h"

#include <stdlib.h>
#include <string.h>

void ein_cell_list_free(ein_cell_list *list)
{
    if (!list)
        return;
    for (int i = 0; i < list->n; i++)
        free(list->cells[i].bindings);
    free(list->cells);
    list->cells = NULL;
    list->n = 0;
}

const ein_binding *ein_cell_binding(const ein_cell *cell, const char *name)
{
    for (int i = 0; i < cell->n_bindings; i++)
        if (strcmp(cell->bindings[i].name, name) == 0)
            return &cell->bindings[i];
    return NULL;
}
