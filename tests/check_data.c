/* check_data.c — IDX loading and validation (exact messages), path
 * resolution, the IDX writer, batches with the M7 luminosity shift, epoch
 * order, and the real FashionMNIST set. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "ein/data.h"
#include "testutil.h"

/* A scratch folder with an images/labels pair in it. */
typedef struct scratch {
    char *dir;
    char img[512], lbl[512];
} scratch;

static void scratch_open(scratch *s)
{
    s->dir = tu_mkdtemp();
    ck_assert_ptr_nonnull(s->dir);
    snprintf(s->img, sizeof s->img, "%s/images-idx3-ubyte", s->dir);
    snprintf(s->lbl, sizeof s->lbl, "%s/labels-idx1-ubyte", s->dir);
}

static void scratch_close(scratch *s)
{
    tu_rmtree(s->dir);
    free(s->dir);
}

/* 5 images of 3×4 with distinct pixels, labels 0..9. */
enum { TN = 5, TR = 3, TC = 4 };
static void tiny(uint8_t px[TN * TR * TC], uint8_t lb[TN])
{
    for (int i = 0; i < TN * TR * TC; i++)
        px[i] = (uint8_t)(i * 37 + 11);
    px[0] = 0;
    px[1] = 255;
    for (int i = 0; i < TN; i++)
        lb[i] = (uint8_t)(9 - 2 * i);
}

static void write_tiny(const scratch *s, bool gz, const char *img, const char *lbl)
{
    uint8_t px[TN * TR * TC], lb[TN];
    tiny(px, lb);
    ein_err err = { 0 };
    ck_assert_int_eq(ein_idx_write(img, gz, TN, TR, TC, px, lbl, lb, &err), EIN_OK);
    (void)s;
}

/* Load and expect failure; returns the message for the caller to compare. */
static ein_err load_fail(const char *img, const char *lbl, long limit, ein_code want)
{
    ein_err err = { 0 };
    ein_dataset *d = (ein_dataset *)0x1;
    ck_assert_int_eq(ein_dataset_load_files(img, lbl, limit, &d, &err), want);
    ck_assert_int_eq(err.code, want);
    ck_assert_ptr_eq(d, (ein_dataset *)0x1);   /* *out untouched on failure */
    return err;
}

static void assert_msg(const ein_err *err, const char *fmt, const char *a, const char *b)
{
    char want[2048];
    snprintf(want, sizeof want, fmt, a, b);
    ck_assert_str_eq(err->msg, want);
}

static void check_tiny(const ein_dataset *d, long n)
{
    uint8_t px[TN * TR * TC], lb[TN];
    tiny(px, lb);
    ck_assert_int_eq(d->n, n);
    ck_assert_int_eq(d->rows, TR);
    ck_assert_int_eq(d->cols, TC);
    ck_assert_int_eq(d->dim, TR * TC);
    ck_assert_int_eq(d->classes, 10);
    ck_assert_mem_eq(d->pixels, px, (size_t)n * TR * TC);
    ck_assert_mem_eq(d->labels, lb, (size_t)n);
}

START_TEST(roundtrip_plain)
{
    scratch s;
    scratch_open(&s);
    write_tiny(&s, false, s.img, s.lbl);
    /* the file is byte for byte the IDX layout */
    size_t len;
    unsigned char *raw = (unsigned char *)tu_read_file(s.lbl, &len);
    ck_assert_uint_eq(len, 8 + TN);
    static const unsigned char head[8] = { 0, 0, 8, 1, 0, 0, 0, TN };
    ck_assert_mem_eq(raw, head, 8);
    free(raw);

    ein_err err = { 0 };
    ein_dataset *d = NULL;
    ck_assert_int_eq(ein_dataset_load_files(s.img, s.lbl, 0, &d, &err), EIN_OK);
    check_tiny(d, TN);
    ck_assert_str_eq(d->images_path, s.img);
    ck_assert_str_eq(d->labels_path, s.lbl);
    ein_dataset_free(d);
    scratch_close(&s);
}
END_TEST

/* Written compressed as NAME.gz, loaded by NAME: the loader tries NAME.gz. */
START_TEST(roundtrip_gzip)
{
    scratch s;
    scratch_open(&s);
    char img[600], lbl[600];
    snprintf(img, sizeof img, "%s.gz", s.img);
    snprintf(lbl, sizeof lbl, "%s.gz", s.lbl);
    write_tiny(&s, true, img, lbl);
    size_t len;
    unsigned char *raw = (unsigned char *)tu_read_file(img, &len);
    ck_assert(raw[0] == 0x1f && raw[1] == 0x8b);   /* really gzip */
    free(raw);

    ein_err err = { 0 };
    ein_dataset *d = NULL;
    ck_assert_int_eq(ein_dataset_load_files(s.img, s.lbl, 0, &d, &err), EIN_OK);
    check_tiny(d, TN);
    ck_assert_str_eq(d->images_path, img);
    ck_assert_str_eq(d->labels_path, lbl);
    ein_dataset_free(d);
    /* and by its full name */
    ck_assert_int_eq(ein_dataset_load_files(img, lbl, 0, &d, &err), EIN_OK);
    check_tiny(d, TN);
    ein_dataset_free(d);
    scratch_close(&s);
}
END_TEST

START_TEST(limit_reads_the_first_n)
{
    scratch s;
    scratch_open(&s);
    write_tiny(&s, false, s.img, s.lbl);
    ein_err err = { 0 };
    ein_dataset *d = NULL;
    ck_assert_int_eq(ein_dataset_load_files(s.img, s.lbl, 3, &d, &err), EIN_OK);
    check_tiny(d, 3);
    ein_dataset_free(d);
    ck_assert_int_eq(ein_dataset_load_files(s.img, s.lbl, 100, &d, &err), EIN_OK);
    check_tiny(d, TN);
    ein_dataset_free(d);
    scratch_close(&s);
}
END_TEST

START_TEST(missing_file)
{
    scratch s;
    scratch_open(&s);
    ein_err err = load_fail(s.img, s.lbl, 0, EIN_ERR_IO);
    assert_msg(&err, "%s: No such file or directory (nor %s.gz)", s.img, s.img);
    ck_assert_int_eq(ein_exit_status(err.code), 74);
    /* images there, labels missing */
    write_tiny(&s, false, s.img, NULL);
    err = load_fail(s.img, s.lbl, 0, EIN_ERR_IO);
    assert_msg(&err, "%s: No such file or directory (nor %s.gz)", s.lbl, s.lbl);
    /* a name ending in .gz is tried only as given */
    char gz[600];
    snprintf(gz, sizeof gz, "%s/x.gz", s.dir);
    err = load_fail(gz, s.lbl, 0, EIN_ERR_IO);
    assert_msg(&err, "%s: No such file or directory%s", gz, "");
    /* a folder is not a file */
    err = load_fail(s.dir, s.lbl, 0, EIN_ERR_IO);
    assert_msg(&err, "%s: it is a directory, not a regular file%s", s.dir, "");
    /* nor is a FIFO: it would block the run forever (issue 16 row 12) */
    char fifo[600];
    snprintf(fifo, sizeof fifo, "%s/fifo", s.dir);
    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
    err = load_fail(fifo, s.lbl, 0, EIN_ERR_IO);
    assert_msg(&err, "%s: it is a FIFO, not a regular file%s", fifo, "");
    unlink(fifo);
    scratch_close(&s);
}
END_TEST

START_TEST(bad_magic)
{
    scratch s;
    scratch_open(&s);
    write_tiny(&s, false, s.img, s.lbl);
    /* swapped: the label file where images belong */
    ein_err err = load_fail(s.lbl, s.img, 0, EIN_ERR_DATA);
    assert_msg(&err, "%s: bad magic 0x00000801 (expected 0x00000803, an IDX image file); this is a label file%s",
               s.lbl, "");
    /* an image file where labels belong */
    err = load_fail(s.img, s.img, 0, EIN_ERR_DATA);
    assert_msg(&err, "%s: bad magic 0x00000803 (expected 0x00000801, an IDX label file); this is an image file%s",
               s.img, "");
    /* a wrong element type (0x08 ubyte expected) */
    static const unsigned char head[16] = { 0, 0, 8, 2, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1 };
    tu_write_file(s.img, head, sizeof head);
    err = load_fail(s.img, s.lbl, 0, EIN_ERR_DATA);
    assert_msg(&err, "%s: bad magic 0x00000802 (expected 0x00000803, an IDX image file)%s", s.img, "");
    scratch_close(&s);
}
END_TEST

START_TEST(short_files)
{
    scratch s;
    scratch_open(&s);
    write_tiny(&s, false, s.img, s.lbl);
    size_t len;
    char *raw = tu_read_file(s.img, &len);
    ck_assert_uint_eq(len, 16 + TN * TR * TC);
    /* cut inside the pixels */
    tu_write_file(s.img, raw, 16 + 10);
    ein_err err = load_fail(s.img, s.lbl, 0, EIN_ERR_DATA);
    assert_msg(&err, "%s: truncated: expected 5 images (60 pixel bytes), got 10 bytes (0 whole images)%s", s.img, "");
    /* a limit keeps the first records but validates the whole file (issue 16 row 4) */
    err = load_fail(s.img, s.lbl, 2, EIN_ERR_DATA);
    assert_msg(&err, "%s: truncated: expected 5 images (60 pixel bytes), got 10 bytes (0 whole images)%s", s.img, "");
    /* cut inside the header */
    tu_write_file(s.img, raw, 7);
    err = load_fail(s.img, s.lbl, 0, EIN_ERR_DATA);
    assert_msg(&err, "%s: truncated: header needs 16 bytes, got 7%s", s.img, "");
    tu_write_file(s.img, raw, 0);
    err = load_fail(s.img, s.lbl, 0, EIN_ERR_DATA);
    assert_msg(&err, "%s: truncated: header needs 16 bytes, got 0%s", s.img, "");
    /* labels cut short */
    tu_write_file(s.img, raw, len);
    char *lraw = tu_read_file(s.lbl, &len);
    tu_write_file(s.lbl, lraw, len - 2);
    err = load_fail(s.img, s.lbl, 0, EIN_ERR_DATA);
    assert_msg(&err, "%s: truncated: expected 5 labels, got 3%s", s.lbl, "");
    free(lraw);
    free(raw);
    scratch_close(&s);
}
END_TEST

START_TEST(trailing_garbage)
{
    scratch s;
    scratch_open(&s);
    write_tiny(&s, false, s.img, s.lbl);
    size_t len;
    char *raw = tu_read_file(s.lbl, &len);
    char *more = malloc(len + 3);
    memcpy(more, raw, len);
    memcpy(more + len, "xyz", 3);
    tu_write_file(s.lbl, more, len + 3);
    ein_err err = load_fail(s.img, s.lbl, 0, EIN_ERR_DATA);
    assert_msg(&err, "%s: trailing garbage: 3 bytes after the 5 labels%s", s.lbl, "");
    /* a limited load reads to the end all the same (issue 16 row 4) */
    err = load_fail(s.img, s.lbl, 4, EIN_ERR_DATA);
    assert_msg(&err, "%s: trailing garbage: 3 bytes after the 5 labels%s", s.lbl, "");
    free(more);
    free(raw);
    scratch_close(&s);
}
END_TEST

START_TEST(count_mismatch)
{
    scratch s;
    scratch_open(&s);
    uint8_t px[TN * TR * TC], lb[TN];
    tiny(px, lb);
    ein_err err = { 0 };
    char junk[600];
    snprintf(junk, sizeof junk, "%s/junk", s.dir);
    ck_assert_int_eq(ein_idx_write(s.img, false, TN, TR, TC, px, NULL, NULL, &err), EIN_OK);
    ck_assert_int_eq(ein_idx_write(junk, false, TN - 1, TR, TC, px, s.lbl, lb, &err), EIN_OK);
    err = load_fail(s.img, s.lbl, 0, EIN_ERR_DATA);
    char want[2048];
    snprintf(want, sizeof want, "%s: 5 images but %s: 4 labels", s.img, s.lbl);
    ck_assert_str_eq(err.msg, want);
    /* checked before any limit applies */
    err = load_fail(s.img, s.lbl, 2, EIN_ERR_DATA);
    ck_assert_str_eq(err.msg, want);
    scratch_close(&s);
}
END_TEST

START_TEST(label_out_of_range)
{
    scratch s;
    scratch_open(&s);
    uint8_t px[TN * TR * TC], lb[TN];
    tiny(px, lb);
    lb[3] = 12;
    ein_err err = { 0 };
    ck_assert_int_eq(ein_idx_write(s.img, false, TN, TR, TC, px, s.lbl, lb, &err), EIN_OK);
    err = load_fail(s.img, s.lbl, 0, EIN_ERR_DATA);
    assert_msg(&err, "%s: label 12 at index 3 is out of range 0..9%s", s.lbl, "");
    ck_assert_int_eq(ein_exit_status(err.code), 65);
    /* 10 is the first bad value */
    lb[3] = 9;
    lb[4] = 10;
    ck_assert_int_eq(ein_idx_write(s.img, false, TN, TR, TC, px, s.lbl, lb, &err), EIN_OK);
    err = load_fail(s.img, s.lbl, 0, EIN_ERR_DATA);
    assert_msg(&err, "%s: label 10 at index 4 is out of range 0..9%s", s.lbl, "");
    /* ... and past a limit it is found all the same (issue 16 row 4) */
    err = load_fail(s.img, s.lbl, 4, EIN_ERR_DATA);
    assert_msg(&err, "%s: label 10 at index 4 is out of range 0..9%s", s.lbl, "");
    scratch_close(&s);
}
END_TEST

START_TEST(bad_dimensions)
{
    scratch s;
    scratch_open(&s);
    uint8_t px[8200] = { 0 }, lb[2] = { 0 };
    ein_err err = { 0 };
    ck_assert_int_eq(ein_idx_write(s.img, false, 2, 0, 4, px, s.lbl, lb, &err), EIN_OK);
    err = load_fail(s.img, s.lbl, 0, EIN_ERR_DATA);
    assert_msg(&err, "%s: bad header: rows is 0 (must be at least 1)%s", s.img, "");
    ck_assert_int_eq(ein_idx_write(s.img, false, 2, 4, 0, px, s.lbl, lb, &err), EIN_OK);
    err = load_fail(s.img, s.lbl, 0, EIN_ERR_DATA);
    assert_msg(&err, "%s: bad header: cols is 0 (must be at least 1)%s", s.img, "");
    ck_assert_int_eq(ein_idx_write(s.img, false, 0, 4, 4, px, s.lbl, lb, &err), EIN_OK);
    err = load_fail(s.img, s.lbl, 0, EIN_ERR_DATA);
    assert_msg(&err, "%s: bad header: image count is 0 (must be at least 1)%s", s.img, "");
    /* the image header is fine, the label file says 0 */
    char junk[600];
    snprintf(junk, sizeof junk, "%s/junk", s.dir);
    ck_assert_int_eq(ein_idx_write(s.img, false, 2, 4, 4, px, NULL, NULL, &err), EIN_OK);
    ck_assert_int_eq(ein_idx_write(junk, false, 0, 4, 4, px, s.lbl, lb, &err), EIN_OK);
    err = load_fail(s.img, s.lbl, 0, EIN_ERR_DATA);
    assert_msg(&err, "%s: bad header: label count is 0 (must be at least 1)%s", s.lbl, "");
    /* 65 × 65 > 4096 pixels */
    ck_assert_int_eq(ein_idx_write(s.img, false, 1, 65, 65, px, s.lbl, lb, &err), EIN_OK);
    err = load_fail(s.img, s.lbl, 0, EIN_ERR_DATA);
    assert_msg(&err, "%s: bad header: 65×65 = 4225 pixels per image, more than 4096%s", s.img, "");
    /* 64 × 64 is allowed */
    ck_assert_int_eq(ein_idx_write(s.img, false, 2, 64, 64, px, s.lbl, lb, &err), EIN_OK);
    ein_dataset *d = NULL;
    ck_assert_int_eq(ein_dataset_load_files(s.img, s.lbl, 0, &d, &err), EIN_OK);
    ck_assert_int_eq(d->dim, 4096);
    ein_dataset_free(d);
    scratch_close(&s);
}
END_TEST

/* Pseudo-random pixels compress badly, so the gzip stream is long enough to
 * cut or damage in the middle of the pixel data. */
static void write_noise(const char *img, const char *lbl, bool gz, int n)
{
    uint8_t *px = malloc((size_t)n * 784), *lb = malloc((size_t)n);
    ein_rng r;
    ein_rng_init(&r, 1, 0);
    for (long i = 0; i < (long)n * 784; i++)
        px[i] = (uint8_t)ein_rng_below(&r, 256);
    for (int i = 0; i < n; i++)
        lb[i] = (uint8_t)ein_rng_below(&r, 10);
    ein_err err = { 0 };
    ck_assert_int_eq(ein_idx_write(img, gz, n, 28, 28, px, lbl, lb, &err), EIN_OK);
    free(px);
    free(lb);
}

START_TEST(truncated_gzip)
{
    scratch s;
    scratch_open(&s);
    char img[600];
    snprintf(img, sizeof img, "%s.gz", s.img);
    write_noise(img, s.lbl, true, 50);
    size_t len;
    char *raw = tu_read_file(img, &len);
    ck_assert_uint_gt(len, 30000);
    tu_write_file(img, raw, len / 2);
    ein_err err = load_fail(s.img, s.lbl, 0, EIN_ERR_DATA);
    char want[1200];
    snprintf(want, sizeof want, "%s: truncated: expected 50 images (39200 pixel bytes), got ", img);
    ck_assert_msg(strncmp(err.msg, want, strlen(want)) == 0, "got: %s", err.msg);
    ck_assert_msg(strstr(err.msg, " (the gzip stream ends early)") != NULL, "got: %s", err.msg);
    /* only the 8-byte gzip trailer (CRC, length) missing */
    tu_write_file(img, raw, len - 8);
    err = load_fail(s.img, s.lbl, 0, EIN_ERR_DATA);
    assert_msg(&err, "%s: corrupt gzip data: the stream ends early%s", img, "");
    free(raw);
    scratch_close(&s);
}
END_TEST

START_TEST(corrupt_gzip)
{
    scratch s;
    scratch_open(&s);
    char img[600];
    snprintf(img, sizeof img, "%s.gz", s.img);
    write_noise(img, s.lbl, true, 50);
    size_t len;
    char *raw = tu_read_file(img, &len);
    /* flip a byte in the middle: the data decodes, the CRC does not match */
    raw[len / 2] ^= 0x55;
    tu_write_file(img, raw, len);
    ein_err err = load_fail(s.img, s.lbl, 0, EIN_ERR_DATA);
    assert_msg(&err, "%s: corrupt gzip data: incorrect data check%s", img, "");
    /* undo that, and damage the first deflate block header (right after the
     * 10-byte gzip header) instead: block type 3 does not exist */
    raw[len / 2] ^= 0x55;
    raw[10] = (char)0xff;
    tu_write_file(img, raw, len);
    err = load_fail(s.img, s.lbl, 0, EIN_ERR_DATA);
    assert_msg(&err, "%s: corrupt gzip data: invalid block type%s", img, "");
    free(raw);
    scratch_close(&s);
}
END_TEST

START_TEST(paths_resolve_in_order)
{
    ein_cell_config cfg;
    ein_config_defaults(&cfg);
    ein_data_config *dc = &cfg.data;
    char img[EIN_PATH_MAX], lbl[EIN_PATH_MAX];
    ein_err err = { 0 };
    unsetenv("EIN_DATA");
    ck_assert_int_eq(ein_data_paths(dc, EIN_SPLIT_TRAIN, img, lbl, &err), EIN_OK);
    ck_assert_str_eq(img, "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte");
    ck_assert_str_eq(lbl, "/usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte");
    setenv("EIN_DATA", "/env/mnist", 1);
    ck_assert_int_eq(ein_data_paths(dc, EIN_SPLIT_TEST, img, lbl, &err), EIN_OK);
    ck_assert_str_eq(img, "/env/mnist/t10k-images-idx3-ubyte");
    ck_assert_str_eq(lbl, "/env/mnist/t10k-labels-idx1-ubyte");
    strcpy(dc->dir, "/cfg/kmnist/");
    ck_assert_int_eq(ein_data_paths(dc, EIN_SPLIT_TEST, img, lbl, &err), EIN_OK);
    ck_assert_str_eq(img, "/cfg/kmnist/t10k-images-idx3-ubyte");
    strcpy(dc->test_labels, "my/labels.gz");
    ck_assert_int_eq(ein_data_paths(dc, EIN_SPLIT_TEST, img, lbl, &err), EIN_OK);
    ck_assert_str_eq(img, "/cfg/kmnist/t10k-images-idx3-ubyte");
    ck_assert_str_eq(lbl, "my/labels.gz");
    ck_assert_int_eq(ein_data_paths(dc, EIN_SPLIT_TRAIN, img, lbl, &err), EIN_OK);
    ck_assert_str_eq(lbl, "/cfg/kmnist/train-labels-idx1-ubyte");
    /* a folder name so long the file name no longer fits */
    memset(dc->dir, 'a', EIN_PATH_MAX - 1);
    dc->dir[EIN_PATH_MAX - 1] = '\0';
    ck_assert_int_eq(ein_data_paths(dc, EIN_SPLIT_TRAIN, img, lbl, &err), EIN_ERR_USAGE);
    ck_assert_msg(strncmp(err.msg, "data path for train-images-idx3-ubyte longer than 1023 bytes: aaa", 65) == 0,
                  "got: %s", err.msg);
}
END_TEST

/* ein_dataset_load with a folder from the config holding gzipped standard names. */
START_TEST(load_from_config_dir)
{
    scratch s;
    scratch_open(&s);
    char img[600], lbl[600];
    snprintf(img, sizeof img, "%s/t10k-images-idx3-ubyte.gz", s.dir);
    snprintf(lbl, sizeof lbl, "%s/t10k-labels-idx1-ubyte.gz", s.dir);
    write_tiny(&s, true, img, lbl);
    ein_cell_config cfg;
    ein_config_defaults(&cfg);
    strcpy(cfg.data.dir, s.dir);
    cfg.data.limit_test = 2;
    cfg.data.limit_train = 1;
    setenv("EIN_DATA", "/nowhere", 1);
    ein_err err = { 0 };
    ein_dataset *d = NULL;
    ck_assert_int_eq(ein_dataset_load(&cfg.data, EIN_SPLIT_TEST, &d, &err), EIN_OK);
    check_tiny(d, 2);
    ck_assert_str_eq(d->images_path, img);
    ein_dataset_free(d);
    /* no training files there */
    ck_assert_int_eq(ein_dataset_load(&cfg.data, EIN_SPLIT_TRAIN, &d, &err), EIN_ERR_IO);
    char want[2048];
    snprintf(want, sizeof want, "%s/train-images-idx3-ubyte: No such file or directory (nor %s/train-images-idx3-ubyte.gz)",
             s.dir, s.dir);
    ck_assert_str_eq(err.msg, want);
    ein_dataset_free(NULL);
    scratch_close(&s);
}
END_TEST

/* A data set built in memory: image i has every grey level 0..255 once
 * (16 × 16), rotated by i, label i % 10. */
static ein_dataset *levels_set(scratch *s, int n)
{
    uint8_t *px = malloc((size_t)n * 256), *lb = malloc((size_t)n);
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < 256; j++)
            px[(size_t)i * 256 + j] = (uint8_t)((j + i) % 256);
        lb[i] = (uint8_t)(i % 10);
    }
    ein_err err = { 0 };
    ck_assert_int_eq(ein_idx_write(s->img, false, n, 16, 16, px, s->lbl, lb, &err), EIN_OK);
    free(px);
    free(lb);
    ein_dataset *d = NULL;
    ck_assert_int_eq(ein_dataset_load_files(s->img, s->lbl, 0, &d, &err), EIN_OK);
    return d;
}

START_TEST(batch_converts_pixels)
{
    scratch s;
    scratch_open(&s);
    ein_dataset *d = levels_set(&s, 7);
    ein_real x[4 * 256];
    int32_t y[4];
    /* no shift: exactly pixel / 255 */
    ck_assert_int_eq(ein_batch_fill(d, NULL, 0, 4, 0.5, false, NAN, NULL, x, y), 4);
    ck_assert(x[0] == (ein_real)0.0);        /* image 0, pixel 0 = grey 0 */
    ck_assert(x[255] == (ein_real)1.0);      /* grey 255 */
    ck_assert(x[51] == (ein_real)0.2);       /* 51 / 255 */
    ck_assert(x[256 + 0] == (ein_real)(1 / 255.0));   /* image 1 starts at grey 1 */
    ck_assert(x[256 + 254] == (ein_real)1.0);
    ck_assert(x[256 + 255] == (ein_real)0.0);
    for (int b = 0; b < 4; b++)
        ck_assert_int_eq(y[b], b);
    /* an order picks the images; the last batch is short */
    int32_t order[7] = { 6, 5, 4, 3, 2, 1, 0 };
    ck_assert_int_eq(ein_batch_fill(d, order, 4, 4, 0, false, NAN, NULL, x, y), 3);
    ck_assert_int_eq(y[0], 2);
    ck_assert_int_eq(y[2], 0);
    ck_assert(x[0] == (ein_real)(2 / 255.0));
    ck_assert(x[2 * 256 + 255] == (ein_real)1.0);
    ck_assert_int_eq(ein_batch_fill(d, order, 7, 4, 0, false, NAN, NULL, x, y), 0);
    ein_dataset_free(d);
    scratch_close(&s);
}
END_TEST

/* Recover an image's Δ: x = clamp(p/255 + Δ) with one Δ per image, and
 * check that every pixel agrees with it.  The checks count instead of
 * asserting per pixel: each Check assertion is a write to a pipe, and a
 * million of them would take seconds.  Returns NaN if a pixel disagrees. */
static double image_delta(const ein_real *x, int first_grey)
{
    double delta = NAN;
    for (int j = 0; j < 256 && isnan(delta); j++)
        if (x[j] > 0.0 && x[j] < 1.0)
            delta = x[j] - ((j + first_grey) % 256) / 255.0;
    int bad = 0;
    for (int j = 0; j < 256; j++) {
        double want = ((j + first_grey) % 256) / 255.0 + delta;
        /* float32 x: within 1e-6 of the exact value; clamped exactly */
        double clamped = want < 0.0 ? 0.0 : want > 1.0 ? 1.0 : want;
        if (x[j] < 0.0 || x[j] > 1.0 || fabs(x[j] - clamped) > 1e-6)
            bad++;
        if ((want <= -1e-6 && x[j] != 0.0) || (want >= 1.0 + 1e-6 && x[j] != 1.0))
            bad++;
    }
    return bad == 0 ? delta : NAN;
}

START_TEST(shift_is_one_delta_per_image)
{
    scratch s;
    scratch_open(&s);
    enum { NI = 2000 };
    ein_dataset *d = levels_set(&s, NI);
    ein_real *x = malloc(sizeof(ein_real) * 256 * NI);
    int32_t *y = malloc(sizeof(int32_t) * NI);
    ein_rng r;
    ein_rng_init(&r, 77, EIN_STREAM_SHIFT);
    const double eps = 0.5;
    ck_assert_int_eq(ein_batch_fill(d, NULL, 0, NI, eps, true, NAN, &r, x, y), NI);
    double sum = 0, sum2 = 0, lo = 1, hi = -1;
    double *delta = malloc(sizeof(double) * NI);
    for (int i = 0; i < NI; i++) {
        delta[i] = image_delta(x + (size_t)i * 256, i % 256);
        ck_assert_msg(fabs(delta[i]) < eps, "image %d: Δ %g", i, delta[i]);   /* NaN fails too */
        sum += delta[i];
        sum2 += delta[i] * delta[i];
        if (delta[i] < lo) lo = delta[i];
        if (delta[i] > hi) hi = delta[i];
    }
    /* U(−ε, ε): mean 0, variance ε²/3, reaching both ends */
    ck_assert_msg(fabs(sum / NI) < 0.03, "mean Δ %g", sum / NI);
    ck_assert_msg(fabs(sum2 / NI - eps * eps / 3) < 0.01, "var Δ %g", sum2 / NI);
    ck_assert(lo < -0.49 && hi > 0.49);
    /* clamping actually happened, in both directions */
    long zeros = 0, ones = 0;
    for (long k = 0; k < (long)NI * 256; k++) {
        zeros += x[k] == 0.0;
        ones += x[k] == 1.0;
    }
    ck_assert_int_gt(zeros, NI * 10);
    ck_assert_int_gt(ones, NI * 10);

    /* the next epoch: same images, fresh Δ */
    ck_assert_int_eq(ein_batch_fill(d, NULL, 0, NI, eps, true, NAN, &r, x, y), NI);
    int same = 0;
    for (int i = 0; i < NI; i++)
        same += fabs(image_delta(x + (size_t)i * 256, i % 256) - delta[i]) < 1e-6;
    ck_assert_int_lt(same, 5);

    /* the same seed reproduces the first epoch bit for bit */
    ein_real *x2 = malloc(sizeof(ein_real) * 256 * NI);
    ein_rng_init(&r, 77, EIN_STREAM_SHIFT);
    ein_batch_fill(d, NULL, 0, NI, eps, true, NAN, &r, x2, y);
    same = 0;
    for (int i = 0; i < NI; i++)
        same += fabs(image_delta(x2 + (size_t)i * 256, i % 256) - delta[i]) < 1e-6;
    ck_assert_int_eq(same, NI);

    /* ε = 0 with shift on: the data are untouched but the stream still advances */
    ein_rng a, b;
    ein_rng_init(&a, 5, EIN_STREAM_SHIFT);
    ein_rng_init(&b, 5, EIN_STREAM_SHIFT);
    ein_batch_fill(d, NULL, 0, 3, 0.0, true, NAN, &a, x, y);
    ck_assert(x[1] == (ein_real)(1 / 255.0));
    ein_rng_uniform(&b); ein_rng_uniform(&b); ein_rng_uniform(&b);
    ck_assert_uint_eq(ein_rng_u64(&a), ein_rng_u64(&b));
    free(delta);
    free(x2);
    free(x);
    free(y);
    ein_dataset_free(d);
    scratch_close(&s);
}
END_TEST

START_TEST(fixed_delta)
{
    scratch s;
    scratch_open(&s);
    ein_dataset *d = levels_set(&s, 3);
    ein_real x[3 * 256];
    int32_t y[3];
    /* fixed Δ: no generator needed, every image the same shift */
    ck_assert_int_eq(ein_batch_fill(d, NULL, 0, 3, 0.75, true, 0.25, NULL, x, y), 3);
    for (int i = 0; i < 3; i++)
        ck_assert(fabs(image_delta(x + i * 256, i) - 0.25) < 1e-6);
    ck_assert(x[0] == (ein_real)0.25);     /* grey 0 → 0.25 */
    ck_assert(x[255] == (ein_real)1.0);    /* grey 255 → clamped */
    ck_assert(x[191] == (ein_real)(191 / 255.0 + 0.25));   /* 0.999: not clamped */
    ck_assert(x[192] == (ein_real)1.0);                     /* 1.003: clamped */
    ck_assert_int_eq(ein_batch_fill(d, NULL, 0, 1, 0.0, false, -2.0, NULL, x, y), 1);
    for (int j = 0; j < 256; j++)
        ck_assert(x[j] == 0.0);
    ein_dataset_free(d);
    scratch_close(&s);
}
END_TEST

START_TEST(epoch_order)
{
    enum { M = 500 };
    int32_t a[M], b[M], c[M];
    ein_epoch_order(a, M, false, NULL);
    for (int i = 0; i < M; i++)
        ck_assert_int_eq(a[i], i);
    ein_rng r, r2;
    ein_rng_init(&r, 3, EIN_STREAM_SHUFFLE);
    ein_rng_init(&r2, 3, EIN_STREAM_SHUFFLE);
    ein_epoch_order(a, M, true, &r);
    ein_epoch_order(b, M, true, &r);
    ein_epoch_order(c, M, true, &r2);
    ck_assert_mem_eq(a, c, sizeof a);      /* reproducible from the seed */
    int moved = 0, differ = 0;
    char seen[M] = { 0 };
    for (int i = 0; i < M; i++) {
        ck_assert(a[i] >= 0 && a[i] < M && !seen[a[i]]);
        seen[a[i]] = 1;
        moved += a[i] != i;
        differ += a[i] != b[i];
    }
    ck_assert_int_gt(moved, M - 10);
    ck_assert_int_gt(differ, M - 10);      /* a new order every epoch */
}
END_TEST

/* The real data set (Debian dataset-fashion-mnist). */
START_TEST(fashion_mnist_loads)
{
    unsetenv("EIN_DATA");
    ein_cell_config cfg;
    ein_config_defaults(&cfg);
    ein_err err = { 0 };
    ein_dataset *tr = NULL, *te = NULL;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ck_assert_msg(ein_dataset_load(&cfg.data, EIN_SPLIT_TRAIN, &tr, &err) == EIN_OK, "%s", err.msg);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ck_assert_msg(ein_dataset_load(&cfg.data, EIN_SPLIT_TEST, &te, &err) == EIN_OK, "%s", err.msg);
    ck_assert_str_eq(tr->images_path, "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz");
    ck_assert_int_eq(tr->n, 60000);
    ck_assert_int_eq(te->n, 10000);
    ck_assert_int_eq(tr->rows, 28);
    ck_assert_int_eq(tr->cols, 28);
    ck_assert_int_eq(te->dim, 784);
    /* FashionMNIST is balanced: 6000 / 1000 of each class; the first image of
     * each split is an ankle boot (9) */
    long count[10] = { 0 };
    for (long i = 0; i < tr->n; i++)
        count[tr->labels[i]]++;
    for (int k = 0; k < 10; k++)
        ck_assert_int_eq(count[k], 6000);
    memset(count, 0, sizeof count);
    for (long i = 0; i < te->n; i++)
        count[te->labels[i]]++;
    for (int k = 0; k < 10; k++)
        ck_assert_int_eq(count[k], 1000);
    ck_assert_int_eq(tr->labels[0], 9);
    ck_assert_int_eq(te->labels[0], 9);
    fprintf(stderr, "fashion-mnist train set loaded in %.3f s\n",
            (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) * 1e-9);
    ein_dataset_free(tr);
    ein_dataset_free(te);

    cfg.data.limit_train = 1000;
    ck_assert_int_eq(ein_dataset_load(&cfg.data, EIN_SPLIT_TRAIN, &tr, &err), EIN_OK);
    ck_assert_int_eq(tr->n, 1000);
    ck_assert_int_eq(tr->labels[0], 9);
    ein_dataset_free(tr);
}
END_TEST

Suite *ein_test_suite(void)
{
    Suite *s = suite_create("data");
    TCase *tc = tcase_create("idx");
    tcase_add_test(tc, roundtrip_plain);
    tcase_add_test(tc, roundtrip_gzip);
    tcase_add_test(tc, limit_reads_the_first_n);
    tcase_add_test(tc, missing_file);
    tcase_add_test(tc, bad_magic);
    tcase_add_test(tc, short_files);
    tcase_add_test(tc, trailing_garbage);
    tcase_add_test(tc, count_mismatch);
    tcase_add_test(tc, label_out_of_range);
    tcase_add_test(tc, bad_dimensions);
    tcase_add_test(tc, truncated_gzip);
    tcase_add_test(tc, corrupt_gzip);
    tcase_add_test(tc, paths_resolve_in_order);
    tcase_add_test(tc, load_from_config_dir);
    suite_add_tcase(s, tc);
    TCase *tb = tcase_create("batch");
    tcase_add_test(tb, batch_converts_pixels);
    tcase_add_test(tb, shift_is_one_delta_per_image);
    tcase_add_test(tb, fixed_delta);
    tcase_add_test(tb, epoch_order);
    suite_add_tcase(s, tb);
    TCase *tr = tcase_create("fashion-mnist");
    tcase_set_timeout(tr, 30);   /* two gzip files of 26 MB, on a busy machine */
    tcase_add_test(tr, fashion_mnist_loads);
    suite_add_tcase(s, tr);
    return s;
}
