/* parse.c — the front door of the front end: register the source with the
 * diagnostics sink, run the reentrant scanner and parser over it, hand back
 * the program or NULL. */
#include "ein/parse.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ein/fileio.h"

#include "ein.tab.h"
/* the flex header names the bison types without the api.prefix */
#define YYSTYPE EIN_YYSTYPE
#define YYLTYPE ein_loc
#include "ein.yy.h"

ein_program *ein_parse_buffer(ein_diag *diag, const char *name, const char *text, size_t len,
                              ein_parse_info *info)
{
    return ein_parse_text(diag, name, text, len, EIN_PARSE_PROGRAM, info);
}

/* Parse text[start, len) in `mode`; the whole text is the registered source,
 * so locations (and carets) count from its first byte. */
static ein_program *parse_from(ein_diag *diag, const char *name, const char *text, size_t len,
                               size_t start, ein_parse_mode mode, ein_parse_info *info)
{
    ein_parse_info dummy;
    if (!info)
        info = &dummy;
    *info = (ein_parse_info){ .file = -1 };
    if (!name)
        name = "<input>";
    if (len > EIN_PARSE_MAX_BYTES) {
        /* Register only the head: enough to show where the file starts. */
        int file = ein_diag_add_source(diag, name, text, 0);
        ein_loc loc = { .file = file, .line = 1, .col = 1, .end_line = 1, .end_col = 2 };
        ein_diag_error(diag, loc, "file is too large (%zu bytes; the limit is %u)", len, EIN_PARSE_MAX_BYTES);
        info->file = file;
        info->n_errors = 1;
        return NULL;
    }
    int file = ein_diag_add_source(diag, name, text, len);
    if (file < 0)
        return NULL;
    info->file = file;
    size_t slen = 0;
    const char *src = ein_diag_source_text(diag, file, &slen);

    ein_pstate *st = calloc(1, sizeof *st);   /* the bracket stack makes it large */
    ein_program *prog = ein_program_new(file, name);
    yyscan_t scanner = NULL;
    if (!st || !prog || ein_yylex_init_extra(st, &scanner) != 0) {
        free(st);
        ein_program_free(prog);
        return NULL;
    }
    st->diag = diag;
    st->prog = prog;
    st->file = file;
    st->text = src;
    st->len = slen;
    st->line = 1;
    st->col = 1;
    if (start > slen)
        start = slen;
    for (size_t i = 0; i < start; i++) {   /* locations of the skipped head */
        if (src[i] == '\n') {
            st->line++;
            st->col = 1;
        } else if (((unsigned char)src[i] & 0xC0) != 0x80) {
            st->col++;
        }
    }
    st->off = (uint32_t)start;
    st->last_end = (ein_loc){ .file = file, .line = 1, .col = 1, .end_line = 1, .end_col = 2 };
    st->tokens_since_lex_error = 1 << 20;
    st->start_token = mode == EIN_PARSE_EXPR ? START_EXPR : 0;

    YY_BUFFER_STATE buf = ein_yy_scan_bytes(src + start, (int)(slen - start), scanner);
    int rc = buf ? ein_yyparse(scanner, st) : 2;
    if (buf)
        ein_yy_delete_buffer(buf, scanner);
    ein_yylex_destroy(scanner);

    bool ok = rc == 0 && st->n_errors == 0 && !st->nomem;
    if (ok && st->n_comments > 0) {
        prog->comments = ein_program_alloc(prog, (size_t)st->n_comments * sizeof *prog->comments);
        if (prog->comments) {
            memcpy(prog->comments, st->comments, (size_t)st->n_comments * sizeof *prog->comments);
            prog->n_comments = st->n_comments;
        } else {
            ok = false;
        }
    }
    if (rc != 0 && st->n_errors == 0 && !st->nomem) {
        /* The parser gave up without saying why (should not happen). */
        ein_loc loc = { .file = file, .line = st->line, .col = st->col, .start = st->off,
                        .end = st->off, .end_line = st->line, .end_col = st->col + 1 };
        ein_diag_error(diag, loc, "cannot parse this file");
        st->n_errors = 1;
    }
    info->n_errors = st->n_errors;
    info->incomplete = st->incomplete;
    free(st->comments);
    free(st);
    if (!ok) {
        ein_program_free(prog);
        return NULL;
    }
    return prog;
}

ein_program *ein_parse_text(ein_diag *diag, const char *name, const char *text, size_t len,
                            ein_parse_mode mode, ein_parse_info *info)
{
    return parse_from(diag, name, text, len, 0, mode, info);
}

ein_program *ein_parse_override(ein_diag *diag, const char *name, const char *text, size_t len,
                                size_t value_at, ein_parse_info *info)
{
    return parse_from(diag, name, text, len, value_at, EIN_PARSE_EXPR, info);
}

ein_program *ein_parse_file(ein_diag *diag, const char *path, ein_parse_info *info, ein_err *err)
{
    if (info)
        *info = (ein_parse_info){ .file = -1 };
    /* "-" is standard input, read once: the text is kept in the sink, so
     * nothing needs to read it again (source.ein in the results). */
    bool is_stdin = strcmp(path, "-") == 0;
    const char *kind = NULL;
    int fd = is_stdin ? dup(STDIN_FILENO) : ein_open_regular(path, &kind);
    FILE *f = fd >= 0 ? fdopen(fd, "rb") : NULL;
    if (!f) {
        if (kind)
            ein_err_set(err, EIN_ERR_IO, "cannot read '%s': it is %s, not a regular file%s", path, kind,
                        strcmp(kind, "a FIFO") == 0 ? " (use - to read standard input)" : "");
        else
            ein_err_set(err, EIN_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    if (is_stdin)
        path = "<stdin>";
    char *data = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            /* Read one byte past the limit so an oversized file is recognised. */
            if (cap > EIN_PARSE_MAX_BYTES)
                break;
            cap = cap ? 2 * cap : 65536;
            char *d = realloc(data, cap);
            if (!d) {
                free(data);
                fclose(f);
                ein_err_set(err, EIN_ERR_NOMEM, "out of memory reading '%s'", path);
                return NULL;
            }
            data = d;
        }
        size_t n = fread(data + len, 1, cap - len, f);
        len += n;
        if (n == 0)
            break;
    }
    if (ferror(f)) {
        int e = errno;
        free(data);
        fclose(f);
        ein_err_set(err, EIN_ERR_IO, "cannot read '%s': %s", path, strerror(e ? e : EIO));
        return NULL;
    }
    fclose(f);
    ein_program *p = ein_parse_buffer(diag, path, data ? data : "", len, info);
    free(data);
    return p;
}
