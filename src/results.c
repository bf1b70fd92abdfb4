/* results.c — the crash-safe results store (results.h, docs/running.md).
 *
 * Why one write() per record followed by fsync: a record is either wholly on
 * disk or is the torn tail of the file, never interleaved with another one;
 * the runner is the only writer (workers send their metrics over a pipe). */
#include "ein/results.h"

#include "ein/numfmt.h"
#include "ein/text.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct ein_results {
    char dir[EIN_PATH_MAX];
    char shard[64];                 /* "" = DIR/cells.jsonl; else this writer's shard tag */
};

/* ---------------------------------------------------------------- files -- */

static ein_code mkdir_p(const char *path, ein_err *err)
{
    char buf[EIN_PATH_MAX];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; ; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (mkdir(buf, 0777) != 0 && errno != EEXIST)
                return ein_err_set(err, EIN_ERR_IO, "%s: cannot create folder: %s", buf,
                                   strerror(errno));
            *p = c;
            if (c == '\0')
                break;
        }
    }
    return EIN_OK;
}

static ein_code write_all(int fd, const char *path, const char *buf, size_t len, ein_err *err)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return ein_err_set(err, EIN_ERR_IO, "%s: write failed: %s", path, strerror(errno));
        if (n == 0)
            return ein_err_set(err, EIN_ERR_IO, "%s: write failed: no progress", path);
        buf += n;
        len -= (size_t)n;
    }
    return EIN_OK;
}

static void fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        fsync(fd);   /* best effort: some file systems refuse fsync on folders */
        close(fd);
    }
}

ein_code ein_write_file_atomic(const char *path, const char *buf, size_t len, ein_err *err)
{
    char tmp[EIN_PATH_MAX + 96], host[256] = "";
    gethostname(host, sizeof host - 1);
    snprintf(tmp, sizeof tmp, "%s.tmp.%.40s.%ld", path, host, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0)
        return ein_err_set(err, EIN_ERR_IO, "%s: cannot create: %s", tmp, strerror(errno));
    ein_code c = write_all(fd, tmp, buf, len, err);
    if (c == EIN_OK && fsync(fd) != 0)
        c = ein_err_set(err, EIN_ERR_IO, "%s: fsync failed: %s", tmp, strerror(errno));
    if (close(fd) != 0 && c == EIN_OK)
        c = ein_err_set(err, EIN_ERR_IO, "%s: write failed: %s", tmp, strerror(errno));
    if (c == EIN_OK && rename(tmp, path) != 0)
        c = ein_err_set(err, EIN_ERR_IO, "%s: cannot rename: %s", path, strerror(errno));
    if (c != EIN_OK) {
        unlink(tmp);
        return c;
    }
    char dir[EIN_PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash) {
        *slash = '\0';
        fsync_dir(dir[0] ? dir : "/");
    } else {
        fsync_dir(".");
    }
    return EIN_OK;
}

/* Cut a torn last line (no '\n' at the end): it never became a record. */
static ein_code repair_tail(const char *path, ein_err *err)
{
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? EIN_OK
                               : ein_err_set(err, EIN_ERR_IO, "%s: cannot open: %s", path,
                                             strerror(errno));
    off_t size = lseek(fd, 0, SEEK_END);
    off_t keep = size;
    char buf[4096];
    while (keep > 0) {
        off_t start = keep > (off_t)sizeof buf ? keep - (off_t)sizeof buf : 0;
        ssize_t n = pread(fd, buf, (size_t)(keep - start), start);
        if (n <= 0)
            break;
        ssize_t i = n - 1;
        while (i >= 0 && buf[i] != '\n')
            i--;
        if (i >= 0) {
            keep = start + i + 1;
            break;
        }
        keep = start;
    }
    ein_code c = EIN_OK;
    if (keep != size && (ftruncate(fd, keep) != 0 || fsync(fd) != 0))
        c = ein_err_set(err, EIN_ERR_IO, "%s: cannot repair the torn last line: %s", path,
                        strerror(errno));
    close(fd);
    return c;
}

/* einrun writes only into a folder it made: new, empty, marked with
 * EIN_RESULTS_MARKER, or (made before the marker existed) holding its
 * cells.jsonl and source.sha256.  Anything else (`report "/etc"`, a home
 * folder) is refused before a byte is written or moved. */
static bool is_entry(const char *dir, const char *name)
{
    char path[EIN_PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return access(path, F_OK) == 0;
}

static ein_code claim_folder(const char *dir, ein_err *err)
{
    struct stat st;
    if (stat(dir, &st) != 0)
        return errno == ENOENT ? EIN_OK
                               : ein_err_set(err, EIN_ERR_IO, "%s: %s", dir, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return ein_err_set(err, EIN_ERR_IO, "%s: exists and is not a folder; einrun writes results only into a folder it creates", dir);
    if (is_entry(dir, EIN_RESULTS_MARKER) || (is_entry(dir, "cells.jsonl") && is_entry(dir, "source.sha256")))
        return EIN_OK;
    DIR *d = opendir(dir);
    if (!d)
        return ein_err_set(err, EIN_ERR_IO, "%s: %s", dir, strerror(errno));
    /* the marker being written by another writer that just made the folder
     * (.einrun-results.tmp.*) counts as the marker */
    bool empty = true;
    for (struct dirent *e; empty && (e = readdir(d)) != NULL;)
        empty = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
                strncmp(e->d_name, EIN_RESULTS_MARKER, strlen(EIN_RESULTS_MARKER)) == 0;
    closedir(d);
    if (empty)
        return EIN_OK;
    return ein_err_set(err, EIN_ERR_IO, "%s: not a results folder of einrun (not empty, and no %s in it); "
                       "refusing to write there: give a new or empty folder (--results DIR)", dir, EIN_RESULTS_MARKER);
}

ein_results *ein_results_open(const char *dir, bool fresh, char *moved_to, ein_err *err)
{
    if (moved_to)
        moved_to[0] = '\0';
    if (strlen(dir) + 32 >= EIN_PATH_MAX) {
        ein_err_set(err, EIN_ERR_USAGE, "%s: results folder name too long", dir);
        return NULL;
    }
    if (claim_folder(dir, err) != EIN_OK)
        return NULL;
    struct stat st;
    if (fresh && stat(dir, &st) == 0) {
        char aside[EIN_PATH_MAX];
        time_t now = time(NULL);
        struct tm tm;
        localtime_r(&now, &tm);
        char stamp[32];
        strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
        snprintf(aside, sizeof aside, "%s.%s", dir, stamp);
        for (int k = 2; stat(aside, &st) == 0; k++)
            snprintf(aside, sizeof aside, "%s.%s-%d", dir, stamp, k);
        if (rename(dir, aside) != 0) {
            ein_err_set(err, EIN_ERR_IO, "%s: cannot move aside to %s: %s", dir, aside,
                        strerror(errno));
            return NULL;
        }
        if (moved_to)
            snprintf(moved_to, EIN_PATH_MAX, "%s", aside);
    }
    if (mkdir_p(dir, err) != EIN_OK)
        return NULL;
    char path[EIN_PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/%s", dir, EIN_RESULTS_MARKER);
    if (access(path, F_OK) != 0) {
        static const char mark[] = "This folder holds einrun results (docs/running.md); einrun writes only into folders it made.\n";
        if (ein_write_file_atomic(path, mark, sizeof mark - 1, err) != EIN_OK)
            return NULL;
    }
    snprintf(path, sizeof path, "%s/configs", dir);
    if (mkdir_p(path, err) != EIN_OK)
        return NULL;
    snprintf(path, sizeof path, "%s/cells.jsonl", dir);
    if (repair_tail(path, err) != EIN_OK)
        return NULL;
    snprintf(path, sizeof path, "%s/epochs.jsonl", dir);
    if (repair_tail(path, err) != EIN_OK)
        return NULL;
    ein_results *r = calloc(1, sizeof *r);
    if (!r) {
        ein_err_set(err, EIN_ERR_NOMEM, "out of memory");
        return NULL;
    }
    snprintf(r->dir, sizeof r->dir, "%s", dir);
    return r;
}

void ein_results_close(ein_results *r) { free(r); }

ein_code ein_results_use_shard(ein_results *r, const char *tag, ein_err *err)
{
    char path[EIN_PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/shards", r->dir);
    if (mkdir_p(path, err) != EIN_OK)
        return err ? err->code : EIN_ERR_IO;
    snprintf(r->shard, sizeof r->shard, "%s", tag);
    return EIN_OK;
}
const char *ein_results_dir(const ein_results *r) { return r->dir; }

static ein_code append_line(const ein_results *r, const char *file, const char *line, size_t len,
                            ein_err *err)
{
    char path[EIN_PATH_MAX + 128];
    if (r->shard[0])   /* "cells.jsonl" -> shards/cells.<tag>.jsonl */
        snprintf(path, sizeof path, "%s/shards/%.*s.%s.jsonl", r->dir,
                 (int)(strlen(file) - strlen(".jsonl")), file, r->shard);
    else
        snprintf(path, sizeof path, "%s/%s", r->dir, file);
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
    if (fd < 0)
        return ein_err_set(err, EIN_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    ssize_t n;
    do
        n = write(fd, line, len);   /* one write(): the record is whole or torn, never mixed */
    while (n < 0 && errno == EINTR);
    ein_code c = EIN_OK;
    if (n < 0)
        c = ein_err_set(err, EIN_ERR_IO, "%s: write failed: %s", path, strerror(errno));
    else if ((size_t)n != len) {
        /* Partial write (full disk, file-size limit): the second write gives the
         * reason; then cut the fragment so the file ends on a whole record. */
        ssize_t m = write(fd, line + n, len - (size_t)n);
        int e = m < 0 ? errno : ENOSPC;
        off_t end = lseek(fd, 0, SEEK_END);
        off_t frag = n + (m > 0 ? m : 0);
        if (end >= frag && ftruncate(fd, end - frag) != 0) { /* reading ignores a torn line */ }
        c = ein_err_set(err, EIN_ERR_IO, "%s: write failed: %s", path, strerror(e));
    } else if (fsync(fd) != 0)
        c = ein_err_set(err, EIN_ERR_IO, "%s: fsync failed: %s", path, strerror(errno));
    if (close(fd) != 0 && c == EIN_OK)
        c = ein_err_set(err, EIN_ERR_IO, "%s: write failed: %s", path, strerror(errno));
    return c;
}

/* ----------------------------------------------------------------- JSON -- */

static void sb_printf(ein_textbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(ein_textbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if (!ein_textbuf_reserve(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void ein_json_string(char *buf, size_t cap, size_t *len, const char *s)
{
    size_t n = *len;
#define PUT(c) do { if (n + 1 < cap) buf[n] = (c); n++; } while (0)
    PUT('"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': PUT('\\'); PUT('"'); break;
        case '\\': PUT('\\'); PUT('\\'); break;
        case '\n': PUT('\\'); PUT('n'); break;
        case '\r': PUT('\\'); PUT('r'); break;
        case '\t': PUT('\\'); PUT('t'); break;
        default:
            if (*p < 0x20 || *p == 0x7f) {
                char hex[8];
                snprintf(hex, sizeof hex, "\\u%04x", *p);
                for (char *h = hex; *h; h++)
                    PUT(*h);
            } else {
                PUT((char)*p);
            }
        }
    }
    PUT('"');
#undef PUT
    if (cap > 0)
        buf[n < cap ? n : cap - 1] = '\0';
    *len = n;
}

static void sb_str(ein_textbuf *b, const char *s)
{
    size_t need = 0;
    ein_json_string(NULL, 0, &need, s);
    if (ein_textbuf_reserve(b, need))
        ein_json_string(b->p, b->cap, &b->len, s);
}

/* Numbers: shortest round-trip text; NaN/Inf are not JSON, so null. */
static void sb_num(ein_textbuf *b, double x)
{
    if (!isfinite(x)) {
        sb_printf(b, "null");
        return;
    }
    char t[EIN_NUM_TEXT_MAX];
    ein_num_text(x, t);
    sb_printf(b, "%s", t);
}

/* ,"key":number */
static void sb_field(ein_textbuf *b, const char *key, double x)
{
    sb_printf(b, ",\"%s\":", key);
    sb_num(b, x);
}

static void sb_metrics(ein_textbuf *b, const ein_epoch_metrics *m)
{
    sb_printf(b, "\"epoch\":%d", m->epoch);
    sb_field(b, "train_acc", m->train_acc);
    sb_field(b, "test_acc", m->test_acc);
    sb_field(b, "task_loss", m->task_loss);
    sb_field(b, "inorm_loss", m->inorm_loss);
    sb_field(b, "test_loss", m->test_loss);
    sb_field(b, "seconds", m->seconds);
    sb_printf(b, ",\"layers\":[");
    int nh = m->n_hidden < 0 ? 0 : m->n_hidden > EIN_MAX_HIDDEN ? EIN_MAX_HIDDEN : m->n_hidden;
    for (int i = 0; i < nh; i++) {
        const ein_layer_metrics *l = &m->layer[i];
        sb_printf(b, "%s{\"mean\":", i ? "," : "");
        sb_num(b, l->mean);
        sb_field(b, "var", l->var);
        sb_field(b, "mean_sq", l->mean_sq);
        sb_field(b, "cos_out", l->cos_out);
        sb_field(b, "cos_grad", l->cos_grad);
        sb_printf(b, "}");
    }
    sb_printf(b, "]");
}

/* A binding's JSON value: numbers as numbers, a quoted string unquoted, any
 * other canonical text ([1, 2], records) as a string. */
static void sb_binding(ein_textbuf *b, const ein_binding *bd)
{
    if (bd->is_number && isfinite(bd->number)) {
        sb_num(b, bd->number);
        return;
    }
    size_t n = strlen(bd->text);
    if (n >= 2 && bd->text[0] == '"' && bd->text[n - 1] == '"') {
        /* A canonical string literal: drop the quotes and undo \" and \\. */
        char t[EIN_VALUE_TEXT_MAX];
        size_t k = 0;
        for (size_t i = 1; i + 1 < n && k + 1 < sizeof t; i++) {
            if (bd->text[i] == '\\' && i + 2 < n)
                i++;
            t[k++] = bd->text[i];
        }
        t[k] = '\0';
        sb_str(b, t);
    } else {
        sb_str(b, bd->text);
    }
}

bool ein_json_number_text(const char *s)
{
    if (*s == '-')
        s++;
    if (*s == '0')
        s++;
    else if (isdigit((unsigned char)*s))
        while (isdigit((unsigned char)*s))
            s++;
    else
        return false;
    if (*s == '.') {
        if (!isdigit((unsigned char)*++s))
            return false;
        while (isdigit((unsigned char)*s))
            s++;
    }
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '+' || *s == '-')
            s++;
        if (!isdigit((unsigned char)*s))
            return false;
        while (isdigit((unsigned char)*s))
            s++;
    }
    return *s == '\0';
}

/* ,"config":{...}: the canonical configuration text (ein_config_write, one
 * `path = value` line per setting) as one JSON member per line, so the
 * record carries whatever settings the writer knows, by their paths:
 * numbers as numbers, true/false as booleans, nan (not set) as null, any
 * other value as a string. */
static void sb_config(ein_textbuf *b, const ein_cell_config *cfg)
{
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    if (!mem) {
        b->oom = true;
        return;
    }
    ein_config_write(mem, cfg, 0);
    if (fclose(mem) != 0 || !text) {
        free(text);
        b->oom = true;
        return;
    }
    sb_printf(b, ",\"config\":{");
    int n = 0;
    for (char *line = text, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        char *eq = strstr(line, " =");
        while (eq && eq[2] != ' ' && eq[2] != '\0')
            eq = strstr(eq + 1, " =");
        if (!eq || eq == line)
            continue;
        *eq = '\0';
        const char *value = eq[2] ? eq + 3 : "";
        sb_printf(b, "%s", n++ ? "," : "");
        sb_str(b, line);
        if (ein_json_number_text(value) || strcmp(value, "true") == 0 || strcmp(value, "false") == 0)
            sb_printf(b, ":%s", value);
        else if (strcmp(value, "nan") == 0)
            sb_printf(b, ":null");
        else {
            sb_printf(b, ":");
            sb_str(b, value);
        }
    }
    sb_printf(b, "}");
    free(text);
}

static ein_code finish_line(const ein_results *r, const char *file, ein_textbuf *b, ein_err *err)
{
    sb_printf(b, "}\n");
    if (b->oom) {
        ein_textbuf_free(b);
        return ein_err_set(err, EIN_ERR_NOMEM, "out of memory");
    }
    ein_code c = append_line(r, file, b->p, b->len, err);
    ein_textbuf_free(b);
    return c;
}

ein_code ein_results_append_epoch(ein_results *r, const ein_cell *cell, const char *run,
                                  const ein_epoch_metrics *m, ein_err *err)
{
    ein_textbuf b = {0};
    sb_printf(&b, "{\"id\":");
    sb_str(&b, cell->id);
    sb_printf(&b, ",\"run\":");
    sb_str(&b, run);
    sb_printf(&b, ",");
    sb_metrics(&b, m);
    return finish_line(r, "epochs.jsonl", &b, err);
}

/* "2026-12-01T22:15:01.123Z": fixed width, so text order is time order. */
static const char *utc_stamp(char *buf, size_t cap)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char s[32];
    strftime(s, sizeof s, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, cap, "%.24s.%03dZ", s, (int)(ts.tv_nsec / 1000000) % 1000);
    return buf;
}

ein_code ein_results_append_cell(ein_results *r, const char *experiment, const ein_cell *cell,
                                 const char *run, const ein_cell_result *res, ein_err *err)
{
    char stamp[40];
    ein_textbuf b = {0};
    sb_printf(&b, "{\"id\":");
    sb_str(&b, cell->id);
    sb_printf(&b, ",\"experiment\":");
    sb_str(&b, experiment);
    sb_printf(&b, ",\"run\":");
    sb_str(&b, run);
    sb_printf(&b, ",\"finished\":");
    sb_str(&b, utc_stamp(stamp, sizeof stamp));
    sb_printf(&b, ",\"index\":%d,\"status\":\"%s\",\"epochs\":%d", cell->index,
              ein_cell_status_name(res->status), res->epochs_done);
    sb_field(&b, "seconds", res->seconds);
    sb_printf(&b, ",\"message\":");
    char msg[sizeof res->message];
    snprintf(msg, sizeof msg, "%s", res->message);
    sb_str(&b, msg);
    sb_printf(&b, ",\"bindings\":{");
    for (int i = 0; i < cell->n_bindings; i++) {
        sb_printf(&b, "%s", i ? "," : "");
        sb_str(&b, cell->bindings[i].name);
        sb_printf(&b, ":");
        sb_binding(&b, &cell->bindings[i]);
    }
    sb_printf(&b, "}");
    ein_cell_config cfg;
    sb_config(&b, ein_cell_config_of(cell, &cfg));
    if (res->epochs_done > 0) {
        sb_printf(&b, ",\"final\":{");
        sb_metrics(&b, &res->final);
        sb_printf(&b, "},\"best\":{");
        sb_metrics(&b, &res->best);
        sb_printf(&b, "}");
    }
    return finish_line(r, "cells.jsonl", &b, err);
}

ein_code ein_results_store_config(ein_results *r, const ein_cell *cell, ein_err *err)
{
    char path[EIN_PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/configs/%s.txt", r->dir, cell->id);
    if (access(path, F_OK) == 0)
        return EIN_OK;
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    if (!mem)
        return ein_err_set(err, EIN_ERR_NOMEM, "out of memory");
    fprintf(mem, "# cell %s\n", cell->id);
    for (int i = 0; i < cell->n_bindings; i++)
        fprintf(mem, "# %s = %s\n", cell->bindings[i].name, cell->bindings[i].text);
    ein_cell_config cfg;
    ein_config_write(mem, ein_cell_config_of(cell, &cfg), EIN_CONFIG_PROVENANCE);
    fclose(mem);
    ein_code c = ein_write_file_atomic(path, text, len, err);
    free(text);
    return c;
}

/* --------------------------------------------------------------- SHA-256 -- */

typedef struct sha256 {
    uint32_t h[8];
    uint64_t bytes;
    unsigned char blk[64];
    size_t n;
} sha256;

static const uint32_t K256[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha256_block(sha256 *s, const unsigned char *p)
{
    uint32_t w[64];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
               (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = s->h[0], b = s->h[1], c = s->h[2], d = s->h[3];
    uint32_t e = s->h[4], f = s->h[5], g = s->h[6], h = s->h[7];
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = h + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) + K256[i] + w[i];
        uint32_t t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        h = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
    }
    s->h[0] += a; s->h[1] += b; s->h[2] += c; s->h[3] += d;
    s->h[4] += e; s->h[5] += f; s->h[6] += g; s->h[7] += h;
}

static void sha256_hex(const unsigned char *data, size_t len, char out[65])
{
    sha256 s = { .h = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                        0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 } };
    size_t i = 0;
    for (; i + 64 <= len; i += 64)
        sha256_block(&s, data + i);
    unsigned char tail[128] = {0};
    size_t rest = len - i;
    memcpy(tail, data + i, rest);
    tail[rest] = 0x80;
    size_t total = rest + 9 <= 64 ? 64 : 128;
    uint64_t bits = (uint64_t)len * 8;
    for (int k = 0; k < 8; k++)
        tail[total - 1 - k] = (unsigned char)(bits >> (8 * k));
    sha256_block(&s, tail);
    if (total == 128)
        sha256_block(&s, tail + 64);
    for (int k = 0; k < 8; k++)
        snprintf(out + 8 * k, 9, "%08x", s.h[k]);
}

ein_code ein_results_store_source(ein_results *r, const char *path, ein_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return ein_err_set(err, EIN_ERR_IO, "%s: cannot read: %s", path, strerror(errno));
    ein_textbuf b = {0};
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0 && !b.oom)
        ein_textbuf_put(&b, chunk, n);
    bool bad = ferror(f);
    fclose(f);
    if (b.oom || bad) {
        ein_textbuf_free(&b);
        return bad ? ein_err_set(err, EIN_ERR_IO, "%s: read failed", path)
                   : ein_err_set(err, EIN_ERR_NOMEM, "out of memory");
    }
    ein_code c = ein_results_store_source_text(r, b.p ? b.p : "", b.len, err);
    ein_textbuf_free(&b);
    return c;
}

ein_code ein_results_store_source_text(ein_results *r, const char *text, size_t len, ein_err *err)
{
    char hex[65], line[128];
    sha256_hex((const unsigned char *)text, len, hex);
    snprintf(line, sizeof line, "%s  source.ein\n", hex);
    char sp[EIN_PATH_MAX + 32], hp[EIN_PATH_MAX + 32];
    snprintf(sp, sizeof sp, "%s/source.ein", r->dir);
    snprintf(hp, sizeof hp, "%s/source.sha256", r->dir);
    size_t oldlen = 0;
    char *old = NULL;
    FILE *of = fopen(hp, "rb");
    if (of) {
        old = calloc(1, 129);
        if (old)
            oldlen = fread(old, 1, 128, of);
        fclose(of);
    }
    ein_code c = EIN_OK;
    if (old && oldlen >= 64 && strncmp(old, hex, 64) != 0) {
        /* The file changed since the last run: keep the old source next to the new. */
        char keep[EIN_PATH_MAX + 64];
        snprintf(keep, sizeof keep, "%s/source.%.12s.ein", r->dir, old);
        if (rename(sp, keep) != 0 && errno != ENOENT)
            c = ein_err_set(err, EIN_ERR_IO, "%s: cannot rename: %s", sp, strerror(errno));
    }
    free(old);
    if (c == EIN_OK)
        c = ein_write_file_atomic(sp, text, len, err);
    if (c == EIN_OK)
        c = ein_write_file_atomic(hp, line, strlen(line), err);
    return c;
}
