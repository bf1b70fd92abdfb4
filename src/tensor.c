/* tensor.c — the bump arena (include/ein/tensor.h). */
#include "ein/tensor.h"

#include <stdlib.h>
#include <string.h>

struct ein_arena_block {
    ein_arena_block *next;
    size_t size;
};

#define EIN_ALIGN 64

void *ein_arena_alloc(ein_arena *arena, size_t bytes, ein_err *err)
{
    /* One system allocation per request: the graph asks once per category,
     * so blocks stay few and every buffer is individually aligned. */
    size_t header = (sizeof(ein_arena_block) + EIN_ALIGN - 1) / EIN_ALIGN * EIN_ALIGN;
    size_t size = (bytes + EIN_ALIGN - 1) / EIN_ALIGN * EIN_ALIGN;
    void *mem = NULL;
    if (posix_memalign(&mem, EIN_ALIGN, header + (size ? size : EIN_ALIGN)) != 0 || mem == NULL) {
        ein_err_set(err, EIN_ERR_NOMEM, "out of memory allocating %zu bytes for tensors", bytes);
        return NULL;
    }
    memset(mem, 0, header + (size ? size : EIN_ALIGN));
    ein_arena_block *block = mem;
    block->size = size;
    block->next = arena->head;
    arena->head = block;
    arena->bytes += size;
    arena->n_blocks++;
    return (char *)mem + header;
}

void ein_arena_free(ein_arena *arena)
{
    ein_arena_block *b = arena->head;
    while (b != NULL) {
        ein_arena_block *next = b->next;
        free(b);
        b = next;
    }
    arena->head = NULL;
    arena->bytes = 0;
    arena->n_blocks = 0;
}
