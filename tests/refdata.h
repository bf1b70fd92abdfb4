/* refdata.h — reader for tests/data/reference/ files (vectors from the paper's
 * own PyTorch implementation; format in tests/data/reference/README.md). */
#ifndef EIN_REFDATA_H
#define EIN_REFDATA_H

#include "ein/real.h"

typedef struct ref_entry {
    char name[64];
    int rows, cols;          /* a scalar is 1 × 1 */
    double *v;
} ref_entry;

typedef struct ref_file {
    int n;
    ref_entry *e;
} ref_file;

/* Load a whole file; NULL if it cannot be read or parsed.  Free with ref_free(). */
ref_file *ref_load(const char *path);
void ref_free(ref_file *f);
/* The entry called `name`, or NULL. */
const ref_entry *ref_get(const ref_file *f, const char *name);
/* Copy an entry into a buffer of rows × cols reals; 0 on success, -1 if absent or the size differs. */
int ref_copy(const ref_file *f, const char *name, ein_real *dst, int rows, int cols);
/* Largest |a − b| / (|b| + floor) over n values; index of the worst in *worst. */
double ref_max_rel_err(const ein_real *a, const double *b, long n, double floor, long *worst);
double ref_max_abs_err(const ein_real *a, const double *b, long n, long *worst);

#endif
