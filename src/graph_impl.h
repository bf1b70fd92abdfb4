/* graph_impl.h — the graph's private state, shared by graph.c and ops.c only. */
#ifndef EIN_GRAPH_IMPL_H
#define EIN_GRAPH_IMPL_H

#include "ein/graph.h"

struct ein_plan {
    int n;
    ein_node **nodes;      /* topological order */
    ein_plan *next;        /* graph's list of plans, for freeing */
};

typedef struct ein_loss_slot {
    ein_node *node;
    double weight;
    unsigned groups;
    unsigned char *active; /* per node: takes part in this loss's backward pass */
} ein_loss_slot;

struct ein_graph {
    ein_arena arena;
    ein_node **nodes;
    int n_nodes, cap_nodes;
    int cap_batch, batch;
    int grad_rows;         /* rows of per-example gradients (≤ cap_batch) */
    int32_t *labels;
    ein_loss_slot loss[EIN_GRAPH_MAX_LOSSES];
    int n_losses;
    unsigned char *mark;   /* scratch, one byte per node (compile-time sized) */
    unsigned char *trained;/* per node: active in at least one loss */
    ein_plan *plans;
    char **strings;        /* copied names/locations, freed with the graph */
    int n_strings, cap_strings;
    const char *where;
    bool compiled, profile;
    ein_gemm_kernel gemm;  /* whose kernels run the matmuls (gemm.h) */
    bool updating;         /* inside ein_graph_backward_update(): honour fused_lr */
    double gemm_seconds, gemm_flops;
    ein_gemm_shape_time gemm_shape[EIN_GRAPH_GEMM_SHAPES];
    int n_gemm_shapes;
    ein_err err;           /* first construction error */
};

double ein_now(void);      /* monotonic seconds */
bool ein_op_is_matmul(const ein_node *n);   /* ops.c */
/* A profiled GEMM call of `seconds` into the totals and the shape table (graph.c). */
void ein_graph_gemm_timed(ein_graph *g, bool ta, bool tb, int m, int n, int k, double seconds);

#endif
