/* data.c — IDX loading and validation, luminosity shift, batches, epoch order
 * (see include/ein/data.h; model.md M7). */
#include "ein/data.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "ein/fileio.h"

/* gzread takes an unsigned count and returns an int: read in pieces. */
#define READ_CHUNK (1u << 30)

/* One open IDX file.  zlib reads plain files transparently, so every file
 * goes through gzread whether or not it is compressed. */
typedef struct idx_file {
    gzFile gz;
    char path[EIN_PATH_MAX];    /* the name that was opened, for messages */
    double bytes;               /* its size on disk; 0: unknown */
} idx_file;

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Open `path`, or `path`.gz if `path` does not exist. */
static ein_code idx_open(idx_file *f, const char *path, ein_err *err)
{
    f->gz = NULL;
    if (snprintf(f->path, sizeof f->path, "%s", path) >= (int)sizeof f->path)
        return ein_err_set(err, EIN_ERR_USAGE, "%.64s...: path longer than %d bytes", path, EIN_PATH_MAX - 1);
    const char *kind = NULL;
    int fd = ein_open_regular(f->path, &kind);
    if (fd < 0 && !kind && errno == ENOENT && !ends_with(path, ".gz")) {
        char gzpath[EIN_PATH_MAX];
        if (snprintf(gzpath, sizeof gzpath, "%s.gz", path) < (int)sizeof gzpath) {
            fd = ein_open_regular(gzpath, &kind);
            if (fd >= 0 || kind || errno != ENOENT)
                memcpy(f->path, gzpath, sizeof gzpath);
            else
                return ein_err_set(err, EIN_ERR_IO, "%s: %s (nor %s)", path, strerror(ENOENT), gzpath);
        } else {
            errno = ENOENT;
        }
    }
    /* a FIFO would block the run forever; a directory is never a data set */
    if (fd < 0 && kind)
        return ein_err_set(err, EIN_ERR_IO, "%s: it is %s, not a regular file", f->path, kind);
    if (fd < 0)
        return ein_err_set(err, EIN_ERR_IO, "%s: %s", f->path, strerror(errno));
    struct stat st;
    f->bytes = fstat(fd, &st) == 0 && st.st_size > 0 ? (double)st.st_size : 0;
    f->gz = gzdopen(fd, "rb");
    if (f->gz == NULL) {
        close(fd);
        return ein_err_set(err, EIN_ERR_NOMEM, "%s: out of memory opening the file", f->path);
    }
    gzbuffer(f->gz, 1u << 18);   /* fewer system calls on a 26 MB file */
    return EIN_OK;
}

static void idx_close(idx_file *f)
{
    if (f->gz != NULL)
        gzclose_r(f->gz);
    f->gz = NULL;
}

/* Read up to `len` bytes; *got = what was read.  A short count with
 * EIN_OK is the end of the data (the caller says what was expected); a
 * gzip stream that stops mid-way also counts as the end, flagged in
 * *gz_cut so the message can say so.  Errors: read error, corrupt gzip. */
static ein_code idx_read(idx_file *f, void *buf, size_t len, size_t *got, bool *gz_cut, ein_err *err)
{
    *got = 0;
    *gz_cut = false;
    while (*got < len) {
        size_t want = len - *got;
        if (want > READ_CHUNK)
            want = READ_CHUNK;
        int n = gzread(f->gz, (char *)buf + *got, (unsigned)want);
        if (n > 0)
            *got += (size_t)n;
        if (n < (int)want) {
            int errnum = Z_OK;
            const char *msg = gzerror(f->gz, &errnum);
            if (errnum == Z_OK)
                return EIN_OK;
            if (errnum == Z_BUF_ERROR) {   /* "unexpected end of file" */
                *gz_cut = true;
                return EIN_OK;
            }
            if (errnum == Z_ERRNO)
                return ein_err_set(err, EIN_ERR_IO, "%s: read error: %s", f->path, strerror(errno));
            if (errnum == Z_MEM_ERROR)
                return ein_err_set(err, EIN_ERR_NOMEM, "%s: out of memory decompressing", f->path);
            /* zlib prefixes its message with the name it was opened by,
             * "<fd:4>" after gzdopen; we name the file ourselves. */
            const char *sep = msg[0] == '<' ? strstr(msg, ": ") : NULL;
            return ein_err_set(err, EIN_ERR_DATA, "%s: corrupt gzip data: %s", f->path,
                               sep != NULL ? sep + 2 : msg);
        }
    }
    return EIN_OK;
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static const char *cut_note(bool gz_cut)
{
    return gz_cut ? " (the gzip stream ends early)" : "";
}

/* Read and check the header: magic, then `ndims` big-endian sizes. */
static ein_code idx_header(idx_file *f, uint32_t magic, int ndims, uint32_t dims[3], ein_err *err)
{
    unsigned char h[16];
    size_t need = 4 + 4 * (size_t)ndims, got;
    bool cut;
    /* The magic first, on its own: a label file given as images (13 bytes
     * long in a tiny set) should say "bad magic", not "truncated". */
    ein_code rc = idx_read(f, h, 4, &got, &cut, err);
    if (rc != EIN_OK)
        return rc;
    uint32_t m = got == 4 ? be32(h) : 0;
    if (got == 4 && m == magic) {
        size_t more;
        if ((rc = idx_read(f, h + 4, need - 4, &more, &cut, err)) != EIN_OK)
            return rc;
        got += more;
    }
    if (got < 4 || (m == magic && got < need))
        return ein_err_set(err, EIN_ERR_DATA, "%s: truncated: header needs %zu bytes, got %zu%s",
                           f->path, need, got, cut_note(cut));
    if (m != magic) {
        uint32_t other = magic == EIN_IDX_MAGIC_IMAGES ? EIN_IDX_MAGIC_LABELS : EIN_IDX_MAGIC_IMAGES;
        return ein_err_set(err, EIN_ERR_DATA, "%s: bad magic 0x%08x (expected 0x%08x, an IDX %s file)%s",
                           f->path, (unsigned)m, (unsigned)magic,
                           magic == EIN_IDX_MAGIC_IMAGES ? "image" : "label",
                           m == other ? (magic == EIN_IDX_MAGIC_IMAGES ? "; this is a label file"
                                                                       : "; this is an image file")
                                      : "");
    }
    static const char *const names[2][3] = {
        { "image count", "rows", "cols" }, { "label count", "", "" },
    };
    for (int i = 0; i < ndims; i++) {
        dims[i] = be32(h + 4 + 4 * i);
        if (dims[i] == 0)
            return ein_err_set(err, EIN_ERR_DATA, "%s: bad header: %s is 0 (must be at least 1)",
                               f->path, names[ndims == 1][i]);
    }
    /* Orders are int32 (ein_epoch_order), so counts must fit. */
    if (dims[0] > INT32_MAX)
        return ein_err_set(err, EIN_ERR_DATA, "%s: bad header: %u %s, more than %d",
                           f->path, (unsigned)dims[0], ndims == 1 ? "labels" : "images", INT32_MAX);
    if (ndims == 3 && (uint64_t)dims[1] * dims[2] > EIN_DATA_MAX_PIXELS)
        return ein_err_set(err, EIN_ERR_DATA, "%s: bad header: %u×%u = %llu pixels per image, more than %d",
                           f->path, (unsigned)dims[1], (unsigned)dims[2],
                           (unsigned long long)dims[1] * dims[2], EIN_DATA_MAX_PIXELS);
    return EIN_OK;
}

/* The file must end here.  Reading past the end also makes zlib check the
 * gzip CRC and length.  `n` records of `unit` came before. */
static ein_code idx_end(idx_file *f, long n, const char *unit, ein_err *err)
{
    unsigned char junk[4096];
    unsigned long long extra = 0;
    for (;;) {
        size_t got;
        bool cut;
        ein_code rc = idx_read(f, junk, sizeof junk, &got, &cut, err);
        if (rc != EIN_OK)
            return rc;
        if (cut)
            return ein_err_set(err, EIN_ERR_DATA, "%s: corrupt gzip data: the stream ends early", f->path);
        extra += got;
        if (got < sizeof junk)
            break;
    }
    if (extra > 0)
        return ein_err_set(err, EIN_ERR_DATA, "%s: trailing garbage: %llu bytes after the %ld %s",
                           f->path, extra, n, unit);
    return EIN_OK;
}

static ein_code label_range(const idx_file *f, const uint8_t *labels, long from, long n, ein_err *err)
{
    for (long i = 0; i < n; i++)
        if (labels[i] >= EIN_DATA_CLASSES)
            return ein_err_set(err, EIN_ERR_DATA, "%s: label %d at index %ld is out of range 0..%d",
                               f->path, labels[i], from + i, EIN_DATA_CLASSES - 1);
    return EIN_OK;
}

/* Read the records of a file: the first `keep` of `total` (each `size`
 * bytes) into buf, then the rest through a scratch buffer, so the whole file
 * is validated whatever the limit: its length, the gzip CRC, no trailing
 * bytes, and (labels) every label.  `what` names the bytes ("pixel",
 * "label"), `unit` the records. */
static ein_code idx_records(idx_file *f, uint8_t *buf, long keep, long total, size_t size,
                            const char *what, const char *unit, ein_err *err)
{
    uint8_t scratch[1u << 16];
    bool labels = size == 1;
    size_t want = (size_t)total * size, got = 0;
    ein_code rc = EIN_OK;
    bool cut = false;
    for (long done = 0; done < total && rc == EIN_OK;) {
        /* whole records per read: the kept ones, then scratch-fulls */
        long step = done < keep ? keep - done : (long)(sizeof scratch / size);
        if (step > total - done)
            step = total - done;
        uint8_t *dst = done < keep ? buf + (size_t)done * size : scratch;
        size_t len = (size_t)step * size, n;
        if ((rc = idx_read(f, dst, len, &n, &cut, err)) != EIN_OK)
            return rc;
        got += n;
        if (n < len)
            break;
        if (labels)
            rc = label_range(f, dst, done, step, err);
        done += step;
    }
    if (rc != EIN_OK)
        return rc;
    if (got < want && labels)
        return ein_err_set(err, EIN_ERR_DATA, "%s: truncated: expected %ld %s, got %zu%s",
                           f->path, total, unit, got, cut_note(cut));
    if (got < want)
        return ein_err_set(err, EIN_ERR_DATA, "%s: truncated: expected %ld %s (%zu %s bytes), got %zu bytes (%zu whole %s)%s",
                           f->path, total, unit, want, what, got, got / size, unit, cut_note(cut));
    return idx_end(f, total, unit, err);
}

/* At most how many records of `size` bytes the file can hold: a header may
 * claim any count, and the records are read into one block allocated first.
 * Deflate expands at most 1032:1 (zlib's bound); a plain file holds its size.
 * More records than this means the file is truncated, so the read fails
 * before it needs a larger block. */
static long records_possible(const idx_file *f, size_t size)
{
    if (!(f->bytes > 0))
        return LONG_MAX;
    double ratio = gzdirect(f->gz) ? 1.0 : 1032.0;
    double n = f->bytes * ratio / (double)size + 1;
    return n < (double)LONG_MAX ? (long)n : LONG_MAX;
}

ein_code ein_dataset_load_files(const char *images_path, const char *labels_path, long limit,
                                ein_dataset **out, ein_err *err)
{
    idx_file fi = { 0 }, fl = { 0 };
    ein_dataset *d = NULL;
    uint32_t idims[3] = { 0 }, ldims[3] = { 0 };
    ein_code rc;

    if ((rc = idx_open(&fi, images_path, err)) != EIN_OK)
        goto done;
    if ((rc = idx_header(&fi, EIN_IDX_MAGIC_IMAGES, 3, idims, err)) != EIN_OK)
        goto done;
    if ((rc = idx_open(&fl, labels_path, err)) != EIN_OK)
        goto done;
    if ((rc = idx_header(&fl, EIN_IDX_MAGIC_LABELS, 1, ldims, err)) != EIN_OK)
        goto done;
    if (idims[0] != ldims[0]) {
        rc = ein_err_set(err, EIN_ERR_DATA, "%s: %u images but %s: %u labels",
                         fi.path, (unsigned)idims[0], fl.path, (unsigned)ldims[0]);
        goto done;
    }

    long total = (long)idims[0];
    long n = limit > 0 && limit < total ? limit : total;
    int dim = (int)(idims[1] * idims[2]);
    long fit = records_possible(&fi, (size_t)dim), fit_labels = records_possible(&fl, 1);
    long keep = n < fit ? n : fit;          /* keep < n: truncated, the read says so */
    if (keep > fit_labels)
        keep = fit_labels;
    size_t npix = (size_t)keep * (size_t)dim;
    /* One block: the struct, then the pixels, then the labels. */
    d = malloc(sizeof *d + npix + (size_t)keep);
    if (d == NULL) {
        rc = ein_err_set(err, EIN_ERR_NOMEM, "%s: out of memory for %ld images of %d pixels",
                         fi.path, n, dim);
        goto done;
    }
    uint8_t *pixels = (uint8_t *)(d + 1);
    uint8_t *labels = pixels + npix;
    if ((rc = idx_records(&fi, pixels, keep, total, (size_t)dim, "pixel", "images", err)) != EIN_OK)
        goto done;
    if ((rc = idx_records(&fl, labels, keep, total, 1, "label", "labels", err)) != EIN_OK)
        goto done;
    if (keep < n) {                         /* cannot happen: the bound is an upper bound */
        rc = ein_err_set(err, EIN_ERR_INTERNAL, "%s: more records than its size allows", fi.path);
        goto done;
    }

    d->n = n;
    d->rows = (int)idims[1];
    d->cols = (int)idims[2];
    d->dim = dim;
    d->classes = EIN_DATA_CLASSES;
    d->pixels = pixels;
    d->labels = labels;
    memcpy(d->images_path, fi.path, sizeof d->images_path);
    memcpy(d->labels_path, fl.path, sizeof d->labels_path);
    *out = d;
    d = NULL;
    rc = EIN_OK;
done:
    free(d);
    idx_close(&fi);
    idx_close(&fl);
    return rc;
}

ein_code ein_dataset_check_pair(const ein_dataset *train, const ein_dataset *test, ein_err *err)
{
    if (train->rows == test->rows && train->cols == test->cols)
        return EIN_OK;
    return ein_err_set(err, EIN_ERR_DATA, "%s: images of %d×%d pixels but %s: %d×%d; "
                       "the training and the test set must have the same image size",
                       train->images_path, train->rows, train->cols, test->images_path, test->rows, test->cols);
}

void ein_dataset_free(ein_dataset *d)
{
    free(d);
}

ein_code ein_data_paths(const ein_data_config *cfg, ein_split split,
                        char images[EIN_PATH_MAX], char labels[EIN_PATH_MAX], ein_err *err)
{
    const char *dir = cfg->dir;
    char based[EIN_PATH_MAX];
    if (dir[0] == '\0') {
        const char *env = getenv("EIN_DATA");
        dir = env != NULL && env[0] != '\0' ? env : EIN_DATA_DEFAULT_DIR;
    } else if (dir[0] != '/' && cfg->base[0]) {   /* relative to the .ein file it is written in */
        if (snprintf(based, sizeof based, "%s/%s", cfg->base, dir) >= (int)sizeof based)
            return ein_err_set(err, EIN_ERR_USAGE, "data folder longer than %d bytes: %.64s...",
                               EIN_PATH_MAX - 1, cfg->base);
        dir = based;
    }
    bool train = split == EIN_SPLIT_TRAIN;
    const char *given[2] = { train ? cfg->train_images : cfg->test_images,
                             train ? cfg->train_labels : cfg->test_labels };
    const char *std[2] = { train ? "train-images-idx3-ubyte" : "t10k-images-idx3-ubyte",
                           train ? "train-labels-idx1-ubyte" : "t10k-labels-idx1-ubyte" };
    char *dst[2] = { images, labels };
    for (int k = 0; k < 2; k++) {
        bool rel = given[k][0] != '\0' && given[k][0] != '/' && cfg->base[0];
        int len = given[k][0] != '\0'
                      ? snprintf(dst[k], EIN_PATH_MAX, "%s%s%s", rel ? cfg->base : "", rel ? "/" : "", given[k])
                      : snprintf(dst[k], EIN_PATH_MAX, "%s%s%s", dir,
                                 ends_with(dir, "/") ? "" : "/", std[k]);
        if (len >= EIN_PATH_MAX)
            return ein_err_set(err, EIN_ERR_USAGE, "data path for %s longer than %d bytes: %.64s...",
                               std[k], EIN_PATH_MAX - 1, dst[k]);
    }
    return EIN_OK;
}

ein_code ein_dataset_load(const ein_data_config *cfg, ein_split split,
                          ein_dataset **out, ein_err *err)
{
    char images[EIN_PATH_MAX], labels[EIN_PATH_MAX];
    ein_code rc = ein_data_paths(cfg, split, images, labels, err);
    if (rc != EIN_OK)
        return rc;
    long limit = split == EIN_SPLIT_TRAIN ? cfg->limit_train : cfg->limit_test;
    return ein_dataset_load_files(images, labels, limit, out, err);
}

/* --- writing ---------------------------------------------------------------- */

typedef struct idx_out {
    FILE *fp;
    gzFile gz;
    const char *path;
} idx_out;

static ein_code out_open(idx_out *o, const char *path, bool gzip, ein_err *err)
{
    o->path = path;
    o->fp = NULL;
    o->gz = NULL;
    errno = 0;
    if (gzip)
        o->gz = gzopen(path, "wb");
    else
        o->fp = fopen(path, "wb");
    if (o->fp == NULL && o->gz == NULL)
        return ein_err_set(err, EIN_ERR_IO, "%s: cannot create: %s", path,
                           errno != 0 ? strerror(errno) : "out of memory");
    return EIN_OK;
}

static ein_code out_write(idx_out *o, const void *buf, size_t len, ein_err *err)
{
    const char *p = buf;
    while (len > 0) {
        size_t n = len > READ_CHUNK ? READ_CHUNK : len;
        bool ok = o->gz != NULL ? gzwrite(o->gz, p, (unsigned)n) == (int)n
                                : fwrite(p, 1, n, o->fp) == n;
        if (!ok)
            return ein_err_set(err, EIN_ERR_IO, "%s: write error: %s", o->path, strerror(errno));
        p += n;
        len -= n;
    }
    return EIN_OK;
}

static ein_code out_close(idx_out *o, ein_code rc, ein_err *err)
{
    bool ok = o->gz != NULL ? gzclose_w(o->gz) == Z_OK : fclose(o->fp) == 0;
    if (!ok && rc == EIN_OK)
        rc = ein_err_set(err, EIN_ERR_IO, "%s: write error: %s", o->path, strerror(errno));
    return rc;
}

static void put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

ein_code ein_idx_write(const char *images_path, bool gzip, long n, int rows, int cols,
                       const uint8_t *pixels, const char *labels_path, const uint8_t *labels,
                       ein_err *err)
{
    if (n < 0 || rows < 0 || cols < 0 || n > (long)UINT32_MAX)
        return ein_err_set(err, EIN_ERR_USAGE, "%s: cannot write %ld×%d×%d images", images_path, n, rows, cols);
    unsigned char h[16];
    idx_out o;
    put_be32(h, EIN_IDX_MAGIC_IMAGES);
    put_be32(h + 4, (uint32_t)n);
    put_be32(h + 8, (uint32_t)rows);
    put_be32(h + 12, (uint32_t)cols);
    ein_code rc = out_open(&o, images_path, gzip, err);
    if (rc != EIN_OK)
        return rc;
    rc = out_write(&o, h, 16, err);
    if (rc == EIN_OK)
        rc = out_write(&o, pixels, (size_t)n * (size_t)rows * (size_t)cols, err);
    rc = out_close(&o, rc, err);
    if (rc != EIN_OK || labels_path == NULL)
        return rc;

    put_be32(h, EIN_IDX_MAGIC_LABELS);
    if ((rc = out_open(&o, labels_path, gzip, err)) != EIN_OK)
        return rc;
    rc = out_write(&o, h, 8, err);
    if (rc == EIN_OK)
        rc = out_write(&o, labels, (size_t)n, err);
    return out_close(&o, rc, err);
}

/* --- batches -------------------------------------------------------------- */

int ein_batch_fill(const ein_dataset *d, const int32_t *order, long start, int count,
                   double eps, bool shift, double fixed_delta, ein_rng *shift_rng,
                   ein_real *x_out, int32_t *y_out)
{
    if (start < 0 || start >= d->n || count <= 0)
        return 0;
    long m = d->n - start < count ? d->n - start : count;
    /* pixel / 255 (M7: no standardization); a division per grey level, not per pixel. */
    double level[256];
    for (int p = 0; p < 256; p++)
        level[p] = p / 255.0;
    const int dim = d->dim;
    for (long b = 0; b < m; b++) {
        long i = order != NULL ? order[start + b] : start + b;
        double delta = 0.0;
        if (!isnan(fixed_delta)) {
            delta = fixed_delta;
        } else if (shift) {
            /* M7: Δ ~ U(−ε, ε), fresh for every use of the image.  2u − 1 is
             * exact for the 53-bit u, so Δ ∈ [−ε, ε) and |Δ| < ε except for
             * the single value −ε; one draw per image even at ε = 0. */
            double u = ein_rng_uniform(shift_rng);
            delta = eps * (2.0 * u - 1.0);
        }
        const uint8_t *px = d->pixels + (size_t)i * (size_t)dim;
        ein_real *x = x_out + (size_t)b * (size_t)dim;
        if (delta == 0.0) {
            for (int j = 0; j < dim; j++)
                x[j] = (ein_real)level[px[j]];
        } else {
            /* M7: add Δ to every pixel, then clamp to [0, 1]. */
            for (int j = 0; j < dim; j++) {
                double v = level[px[j]] + delta;
                x[j] = (ein_real)(v < 0.0 ? 0.0 : v > 1.0 ? 1.0 : v);
            }
        }
        y_out[b] = d->labels[i];
    }
    return (int)m;
}

void ein_epoch_order(int32_t *order, long n, bool shuffle, ein_rng *shuffle_rng)
{
    if (shuffle) {
        ein_rng_permutation(shuffle_rng, order, n);
    } else {
        for (long i = 0; i < n; i++)
            order[i] = (int32_t)i;
    }
}
