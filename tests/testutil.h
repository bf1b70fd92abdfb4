/* testutil.h — small helpers shared by the Check suites and benchmarks.
 * Suites run with the repository root as the working directory. */
#ifndef EIN_TESTUTIL_H
#define EIN_TESTUTIL_H

#include "ein/cell.h"
#include "ein/graph.h"
#include <stddef.h>

/* Whole file as a NUL-terminated malloc'd buffer (caller frees); NULL on error. */
char *tu_read_file(const char *path, size_t *len);

/* Write `len` bytes to `path`; 0 on success. */
int tu_write_file(const char *path, const void *data, size_t len);

/* A fresh directory under $TMPDIR or /tmp (malloc'd path, caller frees). */
char *tu_mkdtemp(void);

/* rm -rf path (test scratch only). */
void tu_rmtree(const char *path);

/* Run a shell command, capturing stdout and stderr together into *out
 * (malloc'd, caller frees; may be NULL).  Returns the exit status, or
 * 128 + signal number if the command was killed. */
int tu_run(const char *cmd, char **out);

/* Every op node's gradient set to NaN, as if an earlier pass had left
 * garbage there (no pass zeroes them first: graph.h, grad_fresh); returns
 * the number of numbers poisoned. */
long tu_poison_gradients(ein_graph *g);

/* Path of the einrun binary under test ($EIN_EINRUN, else build/float/einrun). */
const char *tu_einrun(void);

/* DIR/{train,t10k}-{images,labels}-idx{3,1}-ubyte: n_train 28×28 images
 * (n_test = min(n_train, 50) for the test set), learnable: label i % 10,
 * row 2·label bright.  0 on success. */
int tu_write_tiny_idx(const char *dir, int n_train);

/* Writes DIR/{train,t10k}-*-ubyte (n_train × 28×28, learnable: label = bright
 * row) and DIR/grid.ein with 8 cells (eps × variant × seed) of `epochs`
 * epochs, results in DIR/results unless `results` names another folder.
 * 0 on success. */
int tu_write_tiny_grid(const char *dir, int n_train, int epochs, const char *results);

/* Lines of the record files of `kind` ("cells", "epochs": DIR/<kind>.jsonl
 * and every shard, results.h) that contain both needles (NULL: any). */
int tu_count_record_lines(const char *dir, const char *kind, const char *needle1, const char *needle2);

/* |a - b| <= atol + rtol |b| */
int tu_close(double a, double b, double rtol, double atol);

/* A cell's configuration (cell.h stores it as a delta), rebuilt into one of
 * 8 buffers used in turn: valid until 8 more calls. */
const ein_cell_config *tu_cfg(const ein_cell *cell);

#endif
