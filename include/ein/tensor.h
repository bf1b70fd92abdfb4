/* tensor.h — memory for tensors: a bump arena owned by one graph.
 *
 * A graph sizes every buffer it needs while it is being built and then takes
 * one block from the arena when it is compiled (llm.c's "malloc and point").
 * Nothing is freed individually: ein_arena_free() releases everything.  The
 * arena counts its growths so a test can assert that a training step
 * allocates nothing.
 */
#ifndef EIN_TENSOR_H
#define EIN_TENSOR_H

#include <stddef.h>
#include "ein/real.h"
#include "ein/err.h"

typedef struct ein_arena_block ein_arena_block;

typedef struct ein_arena {
    ein_arena_block *head;   /* newest block first */
    size_t bytes;            /* total bytes handed out */
    long n_blocks;           /* allocations made from the system (growth count) */
} ein_arena;

/* Zeroed, 64-byte aligned memory for `bytes`; NULL (and err set) when out of memory. */
void *ein_arena_alloc(ein_arena *arena, size_t bytes, ein_err *err);

/* Release every block.  The arena can be reused afterwards. */
void ein_arena_free(ein_arena *arena);

/* Row-major 2-D view into arena memory: rows × cols, a 1-D vector is 1 × n. */
typedef struct ein_tensor {
    int rows, cols;
    ein_real *data;
} ein_tensor;

static inline ein_real *ein_tensor_row(const ein_tensor *t, int r) { return t->data + (size_t)r * t->cols; }

#endif
