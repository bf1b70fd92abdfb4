/* diag.c — the diagnostics sink: sources, located messages, GNU-style
 * printing with a caret run, and the did-you-mean helper. */
#include "ein/diag.h"

#include "ein/numfmt.h"

#include <stdlib.h>
#include <string.h>

typedef struct ein_source {
    char *name;
    char *text;          /* len bytes + NUL */
    size_t len;
    uint32_t *lines;     /* byte offset of each line start; lines[0] = 0 */
    int n_lines;
} ein_source;

struct ein_diag {
    ein_source *sources;
    int n_sources, cap_sources;
    ein_diagnostic *items;
    size_t n_items, cap_items;
    int n_errors, n_warnings;          /* all, including dropped */
    int kept_errors, kept_warnings;
    bool last_kept;                    /* notes attach only to a kept diagnostic */
};

ein_loc ein_loc_span(ein_loc a, ein_loc b)
{
    if (a.file < 0)
        return b;
    if (b.file < 0 || b.file != a.file)
        return a;
    ein_loc r = a;
    if (b.start < r.start) {
        r.start = b.start;
        r.line = b.line;
        r.col = b.col;
    }
    if (b.end > r.end) {
        r.end = b.end;
        r.end_line = b.end_line;
        r.end_col = b.end_col;
    }
    return r;
}

ein_diag *ein_diag_new(void)
{
    return calloc(1, sizeof(ein_diag));
}

void ein_diag_free(ein_diag *d)
{
    if (!d)
        return;
    for (int i = 0; i < d->n_sources; i++) {
        free(d->sources[i].name);
        free(d->sources[i].text);
        free(d->sources[i].lines);
    }
    free(d->sources);
    for (size_t i = 0; i < d->n_items; i++) {
        free(d->items[i].msg);
        for (int j = 0; j < d->items[i].n_notes; j++)
            free(d->items[i].notes[j].msg);
        free(d->items[i].notes);
    }
    free(d->items);
    free(d);
}

int ein_diag_add_source(ein_diag *d, const char *name, const char *text, size_t len)
{
    if (d->n_sources == d->cap_sources) {
        int cap = d->cap_sources ? 2 * d->cap_sources : 4;
        ein_source *s = realloc(d->sources, (size_t)cap * sizeof *s);
        if (!s)
            return -1;
        d->sources = s;
        d->cap_sources = cap;
    }
    ein_source src = {0};
    src.name = strdup(name ? name : "<input>");
    src.text = malloc(len + 1);
    int n_lines = 1;
    for (size_t i = 0; i < len; i++)
        n_lines += text[i] == '\n';
    src.lines = malloc((size_t)n_lines * sizeof *src.lines);
    if (!src.name || !src.text || !src.lines) {
        free(src.name);
        free(src.text);
        free(src.lines);
        return -1;
    }
    if (len)
        memcpy(src.text, text, len);
    src.text[len] = '\0';
    src.len = len;
    src.lines[0] = 0;
    src.n_lines = 1;
    for (size_t i = 0; i < len; i++)
        if (text[i] == '\n')
            src.lines[src.n_lines++] = (uint32_t)(i + 1);
    d->sources[d->n_sources] = src;
    return d->n_sources++;
}

int ein_diag_n_sources(const ein_diag *d) { return d->n_sources; }

const char *ein_diag_source_name(const ein_diag *d, int file)
{
    return file >= 0 && file < d->n_sources ? d->sources[file].name : NULL;
}

const char *ein_diag_source_text(const ein_diag *d, int file, size_t *len)
{
    if (file < 0 || file >= d->n_sources)
        return NULL;
    if (len)
        *len = d->sources[file].len;
    return d->sources[file].text;
}

static char *vformat(const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return NULL;
    char *s = malloc((size_t)n + 1);
    if (s)
        vsnprintf(s, (size_t)n + 1, fmt, ap);
    return s;
}

bool ein_diag_vadd(ein_diag *d, ein_severity sev, ein_loc loc, const char *fmt, va_list ap)
{
    d->last_kept = false;
    if (sev == EIN_NOTE)
        return false;
    if (sev == EIN_ERROR) {
        d->n_errors++;
        if (d->kept_errors >= EIN_DIAG_MAX_ERRORS)
            return false;
    } else {
        d->n_warnings++;
        if (d->kept_warnings >= EIN_DIAG_MAX_WARNINGS)
            return false;
    }
    if (d->n_items == d->cap_items) {
        size_t cap = d->cap_items ? 2 * d->cap_items : 8;
        ein_diagnostic *it = realloc(d->items, cap * sizeof *it);
        if (!it)
            return false;
        d->items = it;
        d->cap_items = cap;
    }
    char *msg = vformat(fmt, ap);
    if (!msg)
        return false;
    d->items[d->n_items++] = (ein_diagnostic){ .severity = sev, .loc = loc, .msg = msg };
    if (sev == EIN_ERROR)
        d->kept_errors++;
    else
        d->kept_warnings++;
    d->last_kept = true;
    return true;
}

bool ein_diag_error(ein_diag *d, ein_loc loc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    bool kept = ein_diag_vadd(d, EIN_ERROR, loc, fmt, ap);
    va_end(ap);
    return kept;
}

bool ein_diag_warning(ein_diag *d, ein_loc loc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    bool kept = ein_diag_vadd(d, EIN_WARNING, loc, fmt, ap);
    va_end(ap);
    return kept;
}

void ein_diag_note(ein_diag *d, ein_loc loc, const char *fmt, ...)
{
    if (!d->last_kept || d->n_items == 0)
        return;
    ein_diagnostic *dg = &d->items[d->n_items - 1];
    ein_note *notes = realloc(dg->notes, (size_t)(dg->n_notes + 1) * sizeof *notes);
    if (!notes)
        return;
    dg->notes = notes;
    va_list ap;
    va_start(ap, fmt);
    char *msg = vformat(fmt, ap);
    va_end(ap);
    if (!msg)
        return;
    dg->notes[dg->n_notes++] = (ein_note){ .loc = loc, .msg = msg };
}

int ein_diag_n_errors(const ein_diag *d) { return d->n_errors; }
int ein_diag_n_warnings(const ein_diag *d) { return d->n_warnings; }
bool ein_diag_full(const ein_diag *d) { return d->n_errors >= EIN_DIAG_MAX_ERRORS; }
size_t ein_diag_count(const ein_diag *d) { return d->n_items; }

const ein_diagnostic *ein_diag_get(const ein_diag *d, size_t i)
{
    return i < d->n_items ? &d->items[i] : NULL;
}

/* ---- printing ----------------------------------------------------------- */

static const char *severity_name(ein_severity s)
{
    return s == EIN_ERROR ? "error" : s == EIN_WARNING ? "warning" : "note";
}

static void print_head(const ein_diag *d, ein_loc loc, ein_severity sev, const char *msg, FILE *out)
{
    const char *name = ein_diag_source_name(d, loc.file);
    if (name)
        fprintf(out, "%s:%d:%d: %s: %s\n", name, loc.line, loc.col, severity_name(sev), msg);
    else
        fprintf(out, "einrun: %s: %s\n", severity_name(sev), msg);
}

/* Length in bytes of the UTF-8 sequence starting at s (1 for anything
 * malformed, so a bad byte is one column, shown as '?'). */
static size_t utf8_len(const unsigned char *s, const unsigned char *end)
{
    unsigned c = s[0];
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
    if (n > (size_t)(end - s))
        return 1;
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 1;
    return n;
}

/* The source line and a caret run.  Very long lines (a 10 MB one-liner) are
 * shown as a window around the column, so a message stays readable. */
#define WINDOW_BEFORE 60
#define WINDOW_WIDTH 160

static void print_excerpt(const ein_diag *d, ein_loc loc, FILE *out)
{
    if (loc.file < 0 || loc.file >= d->n_sources || loc.line < 1)
        return;
    const ein_source *src = &d->sources[loc.file];
    if (loc.line > src->n_lines)
        return;
    const unsigned char *p = (const unsigned char *)src->text + src->lines[loc.line - 1];
    const unsigned char *end = (const unsigned char *)src->text + src->len;
    const unsigned char *eol = p;
    while (eol < end && *eol != '\n')
        eol++;
    if (eol > p && eol[-1] == '\r')
        eol--;
    int first = loc.col - WINDOW_BEFORE > 1 ? loc.col - WINDOW_BEFORE : 1;
    int last_excl = first + WINDOW_WIDTH;
    int caret_end = loc.end_line == loc.line && loc.end_col > loc.col ? loc.end_col : loc.col + 1;
    if (caret_end > last_excl)
        caret_end = last_excl;

    char gutter[16];
    int gw = snprintf(gutter, sizeof gutter, "%5d", loc.line);
    fprintf(out, "%s | %s", gutter, first > 1 ? "..." : "");
    /* pass 1: the line; pass 2: the carets, with tabs copied for alignment */
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1)
            fprintf(out, "%*s | %s", gw, "", first > 1 ? "   " : "");
        int col = 1;
        for (const unsigned char *q = p; q < eol && col < last_excl; col++) {
            size_t n = utf8_len(q, eol);
            if (col >= first) {
                if (pass == 0) {
                    if (n == 1 && (*q < 0x20 || *q >= 0x7F))
                        fputc(*q == '\t' ? '\t' : '?', out);
                    else
                        fwrite(q, 1, n, out);
                } else if (col < loc.col) {
                    fputc(*q == '\t' ? '\t' : ' ', out);
                } else if (col < caret_end) {
                    fputc(col == loc.col ? '^' : '~', out);
                }
            }
            q += n;
        }
        if (pass == 0 && eol - p > 0 && col >= last_excl)
            fputs("...", out);
        if (pass == 1 && col <= loc.col)   /* caret past the end of the line (EOF, newline) */
            fputc('^', out);
        fputc('\n', out);
    }
}

void ein_diag_print_one(const ein_diag *d, const ein_diagnostic *dg, FILE *out)
{
    print_head(d, dg->loc, dg->severity, dg->msg, out);
    print_excerpt(d, dg->loc, out);
    for (int i = 0; i < dg->n_notes; i++) {
        ein_loc nl = dg->notes[i].loc.file >= 0 ? dg->notes[i].loc : dg->loc;
        print_head(d, nl, EIN_NOTE, dg->notes[i].msg, out);
        bool same = nl.file == dg->loc.file && nl.start == dg->loc.start && nl.end == dg->loc.end;
        if (dg->notes[i].loc.file >= 0 && !same)   /* the same caret twice says nothing */
            print_excerpt(d, nl, out);
    }
}

void ein_diag_print(const ein_diag *d, FILE *out)
{
    for (size_t i = 0; i < d->n_items; i++)
        ein_diag_print_one(d, &d->items[i], out);
    if (d->n_errors > d->kept_errors)
        fprintf(out, "einrun: too many errors (%d in total), stopping\n", d->n_errors);
}

void ein_diag_print_head(const ein_diag *d, size_t i, FILE *out)
{
    if (i < d->n_items)
        print_head(d, d->items[i].loc, d->items[i].severity, d->items[i].msg, out);
}

char *ein_diag_where(const ein_diag *d, ein_loc loc, char *buf, size_t n)
{
    const char *name = ein_diag_source_name(d, loc.file);
    if (n == 0)
        return buf;
    if (!name) {
        snprintf(buf, n, "<unknown>");
        return buf;
    }
    /* "name:line:col" without printf: the lowering names where every layer
     * and loss of every grid cell was declared (numfmt.h says why) */
    char line[24], col[24];
    ein_format_integer(loc.line, line, sizeof line);
    ein_format_integer(loc.col, col, sizeof col);
    const char *parts[5] = { name, ":", line, ":", col };
    size_t at = 0;
    for (int i = 0; i < 5; i++)
        for (const char *c = parts[i]; *c && at + 1 < n; c++)
            buf[at++] = *c;
    buf[at] = '\0';
    return buf;
}

/* ---- did you mean ------------------------------------------------------- */

int ein_edit_distance(const char *a, const char *b, int limit)
{
    size_t la = strlen(a), lb = strlen(b);
    if ((la > lb ? la - lb : lb - la) > (size_t)limit)
        return limit + 1;
    if (lb > 255 || la > 255)
        return strcmp(a, b) == 0 ? 0 : limit + 1;
    int row[256];
    for (size_t j = 0; j <= lb; j++)
        row[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        int diag = row[0], best = (int)i;
        row[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int up = row[j];
            int v = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < v)
                v = up + 1;
            if (row[j - 1] + 1 < v)
                v = row[j - 1] + 1;
            row[j] = v;
            diag = up;
            if (v < best)
                best = v;
        }
        if (best > limit)
            return limit + 1;
    }
    return row[lb] > limit ? limit + 1 : row[lb];
}

const char *ein_suggest(const char *name, const char *const *candidates, size_t n)
{
    const char *best = NULL;
    int best_d = 3;
    int len = (int)strlen(name);
    for (size_t i = 0; i < n; i++) {
        if (!candidates[i] || strcmp(candidates[i], name) == 0)
            continue;
        int dist = ein_edit_distance(name, candidates[i], 2);
        if (dist < best_d && dist < len) {
            best = candidates[i];
            best_d = dist;
        }
    }
    return best;
}

const char *ein_diag_suggest(ein_diag *d, const char *name, const char *const *candidates, size_t n)
{
    const char *s = ein_suggest(name, candidates, n);
    if (s)
        ein_diag_note(d, EIN_NO_LOC, "did you mean '%s'?", s);
    return s;
}
