/* graph.c — building, compiling and running the graph (include/ein/graph.h).
 * The ops themselves (forward and backward side by side) are in ops.c. */
#include "graph_impl.h"

#include <cblas.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

double ein_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void *ein_graph_keep(ein_graph *g, size_t bytes)
{
    if (g->n_strings == g->cap_strings) {
        int cap = g->cap_strings ? 2 * g->cap_strings : 64;
        char **grown = realloc(g->strings, (size_t)cap * sizeof *grown);
        if (grown == NULL) {
            ein_err_set(&g->err, EIN_ERR_NOMEM, "out of memory building the graph");
            return NULL;
        }
        g->strings = grown;
        g->cap_strings = cap;
    }
    char *mem = calloc(1, bytes ? bytes : 1);
    if (mem == NULL) {
        ein_err_set(&g->err, EIN_ERR_NOMEM, "out of memory building the graph");
        return NULL;
    }
    g->strings[g->n_strings++] = mem;
    return mem;
}

static const char *graph_strdup(ein_graph *g, const char *s)
{
    if (s == NULL)
        return NULL;
    char *copy = ein_graph_keep(g, strlen(s) + 1);
    if (copy != NULL)
        memcpy(copy, s, strlen(s) + 1);
    return copy;
}

ein_graph *ein_graph_new(int cap_batch)
{
    ein_graph *g = calloc(1, sizeof *g);
    if (g == NULL)
        return NULL;
    g->cap_batch = cap_batch > 0 ? cap_batch : 1;
    g->batch = g->grad_rows = g->cap_batch;
    g->gemm = ein_gemm_kernel_default();
    return g;
}

void ein_graph_free(ein_graph *g)
{
    if (g == NULL)
        return;
    for (int i = 0; i < g->n_nodes; i++)
        free(g->nodes[i]);
    free(g->nodes);
    for (ein_plan *p = g->plans, *next; p != NULL; p = next) {
        next = p->next;
        free(p->nodes);
        free(p);
    }
    for (int k = 0; k < g->n_losses; k++)
        free(g->loss[k].active);
    for (int i = 0; i < g->n_strings; i++)
        free(g->strings[i]);
    free(g->strings);
    free(g->mark);
    free(g->trained);
    ein_arena_free(&g->arena);
    free(g);
}

void ein_graph_set_where(ein_graph *g, const char *where)
{
    g->where = graph_strdup(g, where);
}

void ein_graph_fail(ein_graph *g, const char *fmt, ...)
{
    if (g->err.code != EIN_OK)
        return;
    char msg[sizeof g->err.msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (g->where != NULL)
        ein_err_set(&g->err, EIN_ERR_INTERNAL, "%s: %s", g->where, msg);
    else
        ein_err_set(&g->err, EIN_ERR_INTERNAL, "%s", msg);
}

static ein_node *new_node(ein_graph *g, ein_node_kind kind)
{
    if (g->compiled) {
        ein_graph_fail(g, "node added after the graph was compiled");
        return NULL;
    }
    if (g->n_nodes == g->cap_nodes) {
        int cap = g->cap_nodes ? 2 * g->cap_nodes : 64;
        ein_node **grown = realloc(g->nodes, (size_t)cap * sizeof *grown);
        if (grown == NULL) {
            ein_err_set(&g->err, EIN_ERR_NOMEM, "out of memory building the graph");
            return NULL;
        }
        g->nodes = grown;
        g->cap_nodes = cap;
    }
    ein_node *n = calloc(1, sizeof *n);
    if (n == NULL) {
        ein_err_set(&g->err, EIN_ERR_NOMEM, "out of memory building the graph");
        return NULL;
    }
    n->kind = kind;
    n->id = g->n_nodes;
    n->graph = g;
    n->where = g->where;
    n->loss_route = ~0u;
    g->nodes[g->n_nodes++] = n;
    return n;
}

ein_node *ein_graph_input(ein_graph *g, const char *name, int cols)
{
    if (cols < 1) {
        ein_graph_fail(g, "input '%s' needs at least one column", name ? name : "?");
        return NULL;
    }
    ein_node *n = new_node(g, EIN_NODE_INPUT);
    if (n == NULL)
        return NULL;
    n->per_example = true;
    n->rows = g->batch;
    n->cols = cols;
    n->name = graph_strdup(g, name);
    return n;
}

ein_node *ein_graph_param(ein_graph *g, const char *name, int rows, int cols, ein_group group)
{
    if (rows < 1 || cols < 1) {
        ein_graph_fail(g, "parameter '%s' has an empty shape %d x %d", name ? name : "?", rows, cols);
        return NULL;
    }
    ein_node *n = new_node(g, EIN_NODE_PARAM);
    if (n == NULL)
        return NULL;
    n->fixed_rows = n->rows = rows;
    n->cols = cols;
    n->group = group;
    n->name = graph_strdup(g, name);
    return n;
}

void ein_node_route(ein_node *param, unsigned loss_mask)
{
    if (param != NULL)
        param->loss_route = loss_mask;
}

ein_node *ein_graph_node(ein_graph *g, const ein_op *op, int n_child, ein_node *const *child)
{
    if (g->err.code != EIN_OK)
        return NULL;
    for (int i = 0; i < n_child; i++)
        if (child[i] == NULL)
            return NULL;
    ein_node *n = new_node(g, EIN_NODE_OP);
    if (n == NULL)
        return NULL;
    n->op = op;
    n->n_child = n_child;
    for (int i = 0; i < n_child; i++)
        n->child[i] = child[i];
    return n;
}

int ein_graph_add_loss(ein_graph *g, ein_node *loss, double weight, unsigned group_mask)
{
    if (loss == NULL)
        return -1;
    if (loss->per_example || loss->fixed_rows != 1 || loss->cols != 1) {
        ein_graph_fail(g, "a loss must be a scalar, got %s", loss->op ? loss->op->name : "a leaf");
        return -1;
    }
    if (g->n_losses == EIN_GRAPH_MAX_LOSSES) {
        ein_graph_fail(g, "more than %d losses", EIN_GRAPH_MAX_LOSSES);
        return -1;
    }
    ein_loss_slot *s = &g->loss[g->n_losses];
    s->node = loss;
    s->weight = weight;
    s->groups = group_mask;
    return g->n_losses++;
}

/* Mark in g->mark the nodes a gradient from `root` (inclusive) can reach:
 * ancestors along differentiable edges only.  A node seen only through a
 * stop-gradient (or a label/weight operand) is left out, so a local loss's
 * backward pass (model.md M5) never runs the ops below its boundary — not
 * even with a zero gradient. */
static void mark_ancestors(ein_graph *g, const ein_node *root)
{
    memset(g->mark, 0, (size_t)g->n_nodes);
    g->mark[root->id] = 1;
    for (int i = root->id; i >= 0; i--) {
        if (!g->mark[i])
            continue;
        ein_node *n = g->nodes[i];
        for (int c = 0; c < n->n_child; c++)
            if (n->op->diff_children >> c & 1u)
                g->mark[n->child[c]->id] = 1;
    }
}

static bool op_is_active(const ein_node *n, const unsigned char *active)
{
    for (int c = 0; c < n->n_child; c++)
        if ((n->op->diff_children >> c & 1u) && active[n->child[c]->id])
            return true;
    return false;
}

/* Which nodes take part in a backward pass from `root` (kann's
 * kad_propagate_marks): an ancestor of root along differentiable edges that
 * is a wanted leaf, or an op with an active differentiable child.  Ids only
 * grow upwards, so each node's children are decided before it; `active` may
 * be g->mark itself.  A leaf is wanted when `wants_leaf(leaf, ctx)`. */
static void compute_activity(ein_graph *g, const ein_node *root, unsigned char *active,
                             bool (*wants_leaf)(const ein_node *leaf, const void *ctx), const void *ctx)
{
    mark_ancestors(g, root);
    for (int i = 0; i < g->n_nodes; i++) {
        const ein_node *n = g->nodes[i];
        if (!g->mark[i])
            active[i] = 0;
        else
            active[i] = n->op == NULL ? wants_leaf(n, ctx) : op_is_active(n, active);
    }
}

typedef struct loss_leaves { int k; unsigned groups; } loss_leaves;

/* (M8) a parameter learns from loss k if routed to it and in its groups;
 * an input only if the caller asked for its gradient. */
static bool loss_wants(const ein_node *leaf, const void *ctx)
{
    const loss_leaves *l = ctx;
    if (leaf->kind == EIN_NODE_PARAM)
        return (leaf->loss_route >> l->k & 1u) && (l->groups >> leaf->group & 1u);
    return leaf->requires_grad;
}

static bool is_the_leaf(const ein_node *leaf, const void *ctx) { return leaf == ctx; }

static void compute_loss_activity(ein_graph *g, int k)
{
    ein_loss_slot *s = &g->loss[k];
    loss_leaves leaves = { k, s->groups };
    compute_activity(g, s->node, s->active, loss_wants, &leaves);
    for (int i = 0; i < g->n_nodes; i++)
        if (s->active[i])
            g->trained[i] = 1;
}

ein_code ein_graph_compile(ein_graph *g, ein_err *err)
{
    if (g->err.code != EIN_OK)
        return ein_err_set(err, g->err.code, "%s", g->err.msg);
    if (g->compiled)
        return EIN_OK;
    g->mark = calloc((size_t)g->n_nodes + 1, 1);
    g->trained = calloc((size_t)g->n_nodes + 1, 1);
    if (g->mark == NULL || g->trained == NULL)
        return ein_err_set(err, EIN_ERR_NOMEM, "out of memory compiling the graph");
    for (int k = 0; k < g->n_losses; k++) {
        g->loss[k].active = calloc((size_t)g->n_nodes + 1, 1);
        if (g->loss[k].active == NULL)
            return ein_err_set(err, EIN_ERR_NOMEM, "out of memory compiling the graph");
        compute_loss_activity(g, k);
    }

    /* Size every buffer, then take one block (llm.c's malloc-and-point).
     * Checked arithmetic: huge widths must fail here, not wrap. */
    size_t total = 0, len, aux;
    bool wrap = false;
    for (int i = 0; i < g->n_nodes; i++) {
        ein_node *n = g->nodes[i];
        size_t rows = n->per_example ? (size_t)g->cap_batch : (size_t)n->fixed_rows;
        size_t grad_len;
        wrap |= __builtin_mul_overflow(rows, (size_t)n->cols, &len) || len > (size_t)INT_MAX * 16;
        wrap |= __builtin_mul_overflow(n->per_example ? (size_t)g->grad_rows : rows, (size_t)n->cols, &grad_len);
        wrap |= __builtin_mul_overflow((size_t)n->aux_per_row, rows, &aux) ||
                __builtin_add_overflow(aux, (size_t)n->aux_fixed, &aux) || aux > (size_t)INT_MAX * 16;
        if (wrap)
            break;
        size_t pad = 16;                      /* keep every buffer 64-byte aligned */
        if (!(n->op && n->op->alias_value))
            total += (len + pad - 1) / pad * pad;
        if (n->kind != EIN_NODE_INPUT || n->requires_grad)
            total += (grad_len + pad - 1) / pad * pad;
        total += (aux + pad - 1) / pad * pad;
        wrap |= total > SIZE_MAX / 4 / sizeof(ein_real);
    }
    if (wrap)
        return ein_err_set(err, EIN_ERR_NOMEM, "the graph's buffers are too large for this machine's memory");
    total += (size_t)g->cap_batch * sizeof(int32_t) / sizeof(ein_real) + 16;
    ein_real *block = ein_arena_alloc(&g->arena, total * sizeof(ein_real), err);
    if (block == NULL)
        return err ? err->code : EIN_ERR_NOMEM;
    ein_real *p = block;
    for (int i = 0; i < g->n_nodes; i++) {
        ein_node *n = g->nodes[i];
        size_t rows = n->per_example ? (size_t)g->cap_batch : (size_t)n->fixed_rows;
        size_t len = rows * (size_t)n->cols;
        size_t grad_len = (n->per_example ? (size_t)g->grad_rows : rows) * (size_t)n->cols;
        size_t padded = (len + 15) / 16 * 16;
        if (n->op && n->op->alias_value) {
            n->val = n->child[0]->val;
        } else {
            n->val = p;
            p += padded;
        }
        if (n->kind != EIN_NODE_INPUT || n->requires_grad) {
            n->grad = p;
            p += (grad_len + 15) / 16 * 16;
        }
        size_t aux = (size_t)n->aux_per_row * rows + (size_t)n->aux_fixed;
        if (aux > 0) {
            n->aux = p;
            p += (aux + 15) / 16 * 16;
        }
    }
    g->labels = (int32_t *)p;
    g->compiled = true;
    ein_graph_set_batch(g, g->cap_batch);
    return EIN_OK;
}

void ein_graph_set_grad_rows(ein_graph *g, int rows)
{
    if (g->compiled) {
        ein_graph_fail(g, "gradient rows set after the graph was compiled");
        return;
    }
    g->grad_rows = rows < 1 ? 1 : rows > g->cap_batch ? g->cap_batch : rows;
}

/* A backward over more rows than the gradients hold is a caller's bug that
 * would write past them: stop loudly rather than corrupt the arena. */
static void check_grad_rows(const ein_graph *g)
{
    if (g->batch > g->grad_rows) {
        fprintf(stderr, "ein: internal error: backward over %d rows, gradients held for %d\n", g->batch,
                g->grad_rows);
        abort();
    }
}

ein_plan *ein_graph_plan(ein_graph *g, ein_node *const *outputs, int n_outputs)
{
    ein_plan *plan = calloc(1, sizeof *plan);
    unsigned char *mark = calloc((size_t)g->n_nodes + 1, 1);
    if (plan == NULL || mark == NULL) {
        free(plan);
        free(mark);
        ein_err_set(&g->err, EIN_ERR_NOMEM, "out of memory planning the graph");
        return NULL;
    }
    int top = -1;
    for (int o = 0; o < n_outputs; o++) {
        if (outputs[o] == NULL)
            continue;
        mark[outputs[o]->id] = 1;
        if (outputs[o]->id > top)
            top = outputs[o]->id;
    }
    int count = 0;
    for (int i = top; i >= 0; i--) {
        if (!mark[i])
            continue;
        count++;
        ein_node *n = g->nodes[i];
        for (int c = 0; c < n->n_child; c++)
            mark[n->child[c]->id] = 1;
    }
    plan->nodes = malloc((size_t)(count ? count : 1) * sizeof *plan->nodes);
    if (plan->nodes == NULL) {
        free(plan);
        free(mark);
        ein_err_set(&g->err, EIN_ERR_NOMEM, "out of memory planning the graph");
        return NULL;
    }
    for (int i = 0; i <= top; i++)
        if (mark[i] && g->nodes[i]->op != NULL)
            plan->nodes[plan->n++] = g->nodes[i];
    free(mark);
    plan->next = g->plans;
    g->plans = plan;
    return plan;
}

void ein_graph_set_batch(ein_graph *g, int rows)
{
    if (rows < 1)
        rows = 1;
    if (rows > g->cap_batch)
        rows = g->cap_batch;
    g->batch = rows;
    for (int i = 0; i < g->n_nodes; i++) {
        ein_node *n = g->nodes[i];
        n->rows = n->per_example ? rows : n->fixed_rows;
    }
}

int ein_graph_batch(const ein_graph *g) { return g->batch; }
int32_t *ein_graph_labels(ein_graph *g) { return g->labels; }

static void run_forward(ein_graph *g, ein_node *n)
{
    if (g->profile) {
        double t0 = ein_now();
        n->op->forward(n);
        n->seconds += ein_now() - t0;
    } else {
        n->op->forward(n);
    }
}

static void zero_grad(ein_node *n)
{
    memset(n->grad, 0, (size_t)n->rows * (size_t)n->cols * sizeof(ein_real));
    n->grad_fresh = false;
}

/* Node n's incoming gradient is complete: every consumer ran.  If none wrote
 * it, it is zero.  An op without `assigns` adds into its children, so a fresh
 * child is zeroed for it here (see ein_op). */
static void run_backward(ein_graph *g, ein_node *n)
{
    if (n->grad_fresh)
        zero_grad(n);
    if (!n->op->assigns)
        for (int c = 0; c < n->n_child; c++)
            if (n->child[c]->grad_fresh && (n->op->diff_children >> c & 1u))
                zero_grad(n->child[c]);
    if (g->profile) {
        double t0 = ein_now();
        n->op->backward(n);
        n->seconds += ein_now() - t0;
    } else {
        n->op->backward(n);
    }
}

void ein_graph_forward(ein_graph *g, const ein_plan *plan)
{
    if (plan == NULL) {
        for (int i = 0; i < g->n_nodes; i++)
            if (g->nodes[i]->op != NULL)
                run_forward(g, g->nodes[i]);
        return;
    }
    for (int i = 0; i < plan->n; i++)
        run_forward(g, plan->nodes[i]);
}

/* One backward pass from `root` (seeded with `seed`) over the nodes flagged
 * in `active`.  Intermediate gradients start fresh (ein_op): each reads as
 * zero until its first write, and is zeroed at the latest when its own
 * backward runs, so after the pass none is fresh.  Leaf gradients accumulate
 * (the caller zeroes or swaps them). */
static void backward_pass(ein_graph *g, ein_node *root, double seed, const unsigned char *active)
{
    for (int i = 0; i <= root->id; i++) {
        ein_node *n = g->nodes[i];
        n->active = active[i];
        n->grad_fresh = active[i] && n->op != NULL;
    }
    if (!active[root->id])
        return;
    zero_grad(root);
    root->grad[0] = (ein_real)seed;
    for (int i = root->id; i >= 0; i--) {
        ein_node *n = g->nodes[i];
        if (n->active && n->op != NULL)
            run_backward(g, n);
    }
    for (int i = 0; i <= root->id; i++)
        g->nodes[i]->active = false;
}

void ein_graph_backward(ein_graph *g)
{
    check_grad_rows(g);
    for (int i = 0; i < g->n_nodes; i++) {
        ein_node *n = g->nodes[i];
        /* a parameter routed to no loss (a frozen B_ei: 1 MB a layer) is never
         * written and keeps the zero gradient it has from compile; a fused one
         * is updated, not accumulated */
        bool skip = (n->kind == EIN_NODE_PARAM && n->loss_route == 0) || (g->updating && n->fused_lr > 0);
        if (n->op == NULL && n->grad != NULL && !skip)
            memset(n->grad, 0, (size_t)n->rows * (size_t)n->cols * sizeof(ein_real));
    }
    for (int k = 0; k < g->n_losses; k++)
        backward_pass(g, g->loss[k].node, g->loss[k].weight, g->loss[k].active);
}

void ein_graph_backward_update(ein_graph *g)
{
    g->updating = true;
    ein_graph_backward(g);
    g->updating = false;
}

bool ein_graph_fusable(const ein_graph *g, const ein_node *param)
{
    if (!g->compiled || param->kind != EIN_NODE_PARAM || param->grad == NULL)
        return false;
    int losses = 0, uses = 0;
    for (int k = 0; k < g->n_losses; k++)
        losses += g->loss[k].active[param->id] != 0;
    const ein_node *consumer = NULL;
    for (int i = param->id + 1; i < g->n_nodes; i++)
        for (int c = 0; c < g->nodes[i]->n_child; c++)
            if (g->nodes[i]->child[c] == param) {
                uses++;
                consumer = g->nodes[i];
            }
    if (losses != 1 || uses != 1 || !ein_op_is_matmul(consumer))
        return false;
    /* the other operand must not be a parameter: at most one fused per GEMM pair */
    const ein_node *other = consumer->child[consumer->child[0] == param ? 1 : 0];
    return other->kind != EIN_NODE_PARAM;
}

void ein_graph_grad_of(ein_graph *g, ein_node *scalar, ein_node *param, ein_real *out)
{
    check_grad_rows(g);
    size_t len = (size_t)param->rows * (size_t)param->cols;
    memset(out, 0, len * sizeof(ein_real));
    compute_activity(g, scalar, g->mark, is_the_leaf, param);
    if (!g->mark[param->id])
        return;
    ein_real *saved = param->grad;
    param->grad = out;
    backward_pass(g, scalar, 1.0, g->mark);
    param->grad = saved;
}

int ein_graph_n_nodes(const ein_graph *g) { return g->n_nodes; }
ein_node *ein_graph_nodes(const ein_graph *g, int i) { return i >= 0 && i < g->n_nodes ? g->nodes[i] : NULL; }
int ein_graph_n_losses(const ein_graph *g) { return g->n_losses; }
ein_node *ein_graph_loss(const ein_graph *g, int k) { return k >= 0 && k < g->n_losses ? g->loss[k].node : NULL; }
long ein_graph_alloc_count(const ein_graph *g) { return g->arena.n_blocks; }

void ein_graph_set_gemm(ein_graph *g, ein_gemm_kernel kernel) { g->gemm = ein_gemm_kernel_resolve(kernel); }
ein_gemm_kernel ein_graph_gemm(const ein_graph *g) { return g->gemm; }
size_t ein_graph_bytes(const ein_graph *g) { return g->arena.bytes; }

static const char *group_color(ein_group grp)
{
    switch (grp) {
    case EIN_GROUP_WEX: case EIN_GROUP_BIAS: return "lightblue";
    default: return "salmon";
    }
}

void ein_graph_write_dot(const ein_graph *g, FILE *out)
{
    fprintf(out, "digraph ein {\n  rankdir=BT;\n  node [fontname=\"Helvetica\", fontsize=10];\n");
    for (int i = 0; i < g->n_nodes; i++) {
        const ein_node *n = g->nodes[i];
        const char *rows = n->per_example ? "B" : NULL;
        char shape[48];
        if (rows)
            snprintf(shape, sizeof shape, "B x %d", n->cols);
        else
            snprintf(shape, sizeof shape, "%d x %d", n->fixed_rows, n->cols);
        if (n->kind == EIN_NODE_PARAM)
            fprintf(out, "  n%d [shape=box, style=filled, fillcolor=%s, label=\"%s\\n%s\\n[%s]\"];\n",
                    i, group_color(n->group), n->name ? n->name : "param", shape, ein_group_name(n->group));
        else if (n->kind == EIN_NODE_INPUT)
            fprintf(out, "  n%d [shape=box, style=rounded, label=\"%s\\n%s\"];\n", i,
                    n->name ? n->name : "input", shape);
        else
            fprintf(out, "  n%d [shape=ellipse, label=\"%s\\n%s%s%s\"];\n", i, n->op->name, shape,
                    n->where ? "\\n" : "", n->where ? n->where : "");
        for (int c = 0; c < n->n_child; c++)
            fprintf(out, "  n%d -> n%d%s;\n", n->child[c]->id, i,
                    n->op->diff_children >> c & 1u ? "" : " [style=dashed]");
    }
    for (int k = 0; k < g->n_losses; k++)
        fprintf(out, "  loss%d [shape=doubleoctagon, label=\"loss %d\\nweight %g\"];\n  n%d -> loss%d;\n",
                k, k, g->loss[k].weight, g->loss[k].node->id, k);
    fprintf(out, "}\n");
}

static bool values_finite(const ein_node *n)
{
    size_t len = (size_t)n->rows * (size_t)n->cols;
    for (size_t i = 0; i < len; i++)
        if (!isfinite(n->val[i]))
            return false;
    return true;
}

ein_node *ein_graph_first_nonfinite(const ein_graph *g, const ein_plan *plan)
{
    if (!g->compiled)
        return NULL;
    int count = plan ? plan->n : g->n_nodes;
    for (int i = 0; i < count; i++) {
        ein_node *n = plan ? plan->nodes[i] : g->nodes[i];
        if (!values_finite(n))
            return n;
    }
    return NULL;
}

double ein_graph_op_seconds(const ein_graph *g, const char *op_name)
{
    double total = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const ein_node *n = g->nodes[i];
        if (n->op != NULL && (op_name == NULL || strcmp(n->op->name, op_name) == 0))
            total += n->seconds;
    }
    return total;
}

void ein_graph_profile(ein_graph *g, bool on) { g->profile = on; }
double ein_graph_gemm_seconds(const ein_graph *g) { return g->gemm_seconds; }
double ein_graph_gemm_flops(const ein_graph *g) { return g->gemm_flops; }

void ein_graph_gemm_timed(ein_graph *g, bool ta, bool tb, int m, int n, int k, double seconds)
{
    g->gemm_seconds += seconds;
    g->gemm_flops += 2.0 * m * n * k;
    int i = 0;
    for (; i < g->n_gemm_shapes; i++) {
        const ein_gemm_shape_time *s = &g->gemm_shape[i];
        if (s->ta == ta && s->tb == tb && s->m == m && s->n == n && s->k == k)
            break;
    }
    if (i == g->n_gemm_shapes) {
        if (i == EIN_GRAPH_GEMM_SHAPES)
            return;
        g->gemm_shape[g->n_gemm_shapes++] = (ein_gemm_shape_time){ ta, tb, m, n, k, 0, 0 };
    }
    g->gemm_shape[i].calls++;
    g->gemm_shape[i].seconds += seconds;
}

int ein_graph_gemm_shapes(const ein_graph *g, const ein_gemm_shape_time **shapes)
{
    *shapes = g->gemm_shape;
    return g->n_gemm_shapes;
}

void ein_graph_profile_reset(ein_graph *g)
{
    g->gemm_seconds = g->gemm_flops = 0;
    g->n_gemm_shapes = 0;
    for (int i = 0; i < g->n_nodes; i++)
        g->nodes[i]->seconds = 0;
}
