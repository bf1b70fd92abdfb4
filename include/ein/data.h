/* data.h — IDX image/label data sets, luminosity shift, batches, epoch order.
 *
 * Any MNIST-format IDX pair works (FashionMNIST, MNIST, KMNIST): an image file
 * (magic 0x00000803, big-endian dims n, rows, cols, then n·rows·cols bytes) and
 * a label file (magic 0x00000801, dim n, then n bytes), plain or gzip (zlib
 * reads either).  Images stay uint8 in memory and are converted per batch
 * (pixel / 255, model.md M7), so FashionMNIST's training set takes 47 MB.
 *
 * Ownership: ein_dataset_load* returns one allocation (struct, pixels and
 * labels together) that the caller frees with ein_dataset_free; it is never
 * modified afterwards, so the trainer and several cells may share it
 * read-only.  Batch and order functions write into caller buffers and
 * allocate nothing.
 */
#ifndef EIN_DATA_H
#define EIN_DATA_H

#include <stdbool.h>
#include <stdint.h>
#include "ein/config.h"
#include "ein/err.h"
#include "ein/real.h"
#include "ein/rng.h"

#define EIN_DATA_CLASSES      10      /* labels must be < this */
#define EIN_DATA_MAX_PIXELS   4096    /* rows·cols per image at most */
#define EIN_DATA_DEFAULT_DIR  "/usr/share/datasets/fashion-mnist"   /* Debian dataset-fashion-mnist */

#define EIN_IDX_MAGIC_IMAGES  0x00000803u
#define EIN_IDX_MAGIC_LABELS  0x00000801u

typedef enum ein_split { EIN_SPLIT_TRAIN = 0, EIN_SPLIT_TEST } ein_split;

typedef struct ein_dataset {
    long n;                 /* images (after any limit) */
    int rows, cols;
    int dim;                /* rows · cols, pixels per image */
    int classes;            /* EIN_DATA_CLASSES */
    const uint8_t *pixels;  /* n × dim, image i at pixels + i·dim, row-major */
    const uint8_t *labels;  /* n, each < classes */
    char images_path[EIN_PATH_MAX];  /* the files actually read (".gz" included if it was) */
    char labels_path[EIN_PATH_MAX];
} ein_dataset;

/* Where the files of a split are: an explicit path in cfg (train_images, …)
 * wins; otherwise the standard name (train-images-idx3-ubyte,
 * train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte)
 * in cfg->dir, else in $EIN_DATA, else in EIN_DATA_DEFAULT_DIR.  Writes the
 * paths without ".gz" (the loader tries NAME, then NAME.gz).  Fails
 * (EIN_ERR_USAGE) only if a path does not fit EIN_PATH_MAX. */
ein_code ein_data_paths(const ein_data_config *cfg, ein_split split,
                        char images[EIN_PATH_MAX], char labels[EIN_PATH_MAX], ein_err *err);

/* Load a split as cfg says (paths above; limit_train / limit_test: 0 = all,
 * else the first N images, or all if there are fewer).  *out is set only on
 * success.  Errors name the file and what is wrong:
 *   EIN_ERR_IO    "DIR/train-images-idx3-ubyte: No such file or directory (nor DIR/train-images-idx3-ubyte.gz)"
 *   EIN_ERR_DATA  "…: bad magic 0x00000802 (expected 0x00000803, an IDX image file)",
 *                 "…: truncated: expected 60000 images (47040000 pixel bytes), got 1000 bytes (1 whole images)",
 *                 "…: truncated: expected 60000 labels, got 59000",
 *                 "…: 60000 images but …: 59999 labels",
 *                 "…: label 12 at index 5 is out of range 0..9",
 *                 "…: trailing garbage: 3 bytes after the 60000 labels",
 *                 "…: bad header: rows is 0 (must be at least 1)",
 *                 "…: corrupt gzip data: invalid distance too far back"
 *   EIN_ERR_NOMEM */
ein_code ein_dataset_load(const ein_data_config *cfg, ein_split split,
                          ein_dataset **out, ein_err *err);

/* Load an explicit pair (each tried as given, then with ".gz" appended).
 * limit: 0 = all, else only the first `limit` records are kept.  The whole
 * of both files is validated whatever the limit (every record present, the
 * gzip CRC, nothing after the last record, every label in range), so a quick
 * `--limit-train` run never trains on a corrupt file. */
ein_code ein_dataset_load_files(const char *images_path, const char *labels_path, long limit,
                                ein_dataset **out, ein_err *err);

/* A training and a test set must have images of one size (EIN_ERR_DATA,
 * naming both files, otherwise): checked before any cell runs. */
ein_code ein_dataset_check_pair(const ein_dataset *train, const ein_dataset *test, ein_err *err);

void ein_dataset_free(ein_dataset *d);   /* NULL is fine */

/* Write an IDX pair (for tests and synthetic data sets): images_path gets the
 * header for n × rows × cols and n·rows·cols bytes of `pixels`; labels_path
 * (skipped if NULL) gets n bytes of `labels`.  gzip: compress both (the
 * caller chooses the names, e.g. with ".gz").  No validation of the values,
 * so tests can write out-of-range labels; dimensions must be ≥ 0. */
ein_code ein_idx_write(const char *images_path, bool gzip, long n, int rows, int cols,
                       const uint8_t *pixels, const char *labels_path, const uint8_t *labels,
                       ein_err *err);

/* Fill one batch: images order[start], …, order[start+count−1] (order NULL =
 * start, start+1, …), clipped at the end of the data set; returns the number
 * filled (count, or fewer for the last batch; 0 if start ≥ n).
 * x_out (≥ count × d->dim) gets pixel / 255 plus the image's Δ, clamped to
 * [0, 1]; y_out (≥ count) the labels.  Δ per image (model.md M7):
 *   fixed_delta if it is not NaN (the fixed-Δ evaluation option), else
 *   a fresh draw U(−eps, eps) from shift_rng if `shift` (one draw per image
 *   even when eps is 0, so the stream's position does not depend on ε), else
 *   0 (shift_rng may then be NULL). */
int ein_batch_fill(const ein_dataset *d, const int32_t *order, long start, int count,
                   double eps, bool shift, double fixed_delta, ein_rng *shift_rng,
                   ein_real *x_out, int32_t *y_out);

/* The order of one epoch in order[0..n): identity (the reference loader's
 * fixed order, M7) unless `shuffle`, then a fresh uniformly random
 * permutation drawn from shuffle_rng (the caller's EIN_STREAM_SHUFFLE
 * generator, kept across epochs so every epoch gets a new order). */
void ein_epoch_order(int32_t *order, long n, bool shuffle, ein_rng *shuffle_rng);

#endif
