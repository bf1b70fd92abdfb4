/* diag.h — located language diagnostics: a sink that collects errors,
 * warnings and notes, and prints them in GNU form.
 *
 * Ownership: an ein_diag owns every source text registered with it (copied
 * by ein_diag_add_source) and every diagnostic message.  One call,
 * ein_diag_free(), releases all of it.  Several programs (a file and its
 * imports, or a REPL session) share one sink, so a location's `file` index
 * names a source in that sink.
 *
 * Printing (ein_diag_print) is the caller's decision; library code only adds
 * diagnostics.  The form is
 *
 *     file.ein:12:5: error: unknown name 'widht'
 *        12 |   hidden ei(ne = widht)
 *           |                  ^~~~~
 *     file.ein:12:5: note: did you mean 'width'?
 *
 * Lines and columns are 1-based; a column counts characters (UTF-8 code
 * points), so carets line up in a terminal.  Tabs in the source line are
 * reproduced in the caret line so the alignment survives them too.
 */
#ifndef EIN_DIAG_H
#define EIN_DIAG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* A source range.  [start, end) are byte offsets into the source text;
 * (line, col) is the first character, (end_line, end_col) the position just
 * past the last one (so a one-character token has end_col == col + 1).
 * file < 0 means "no location" (EIN_NO_LOC). */
typedef struct ein_loc {
    int file;
    int line, col;
    int end_line, end_col;
    uint32_t start, end;
} ein_loc;

#define EIN_NO_LOC ((ein_loc){ .file = -1 })

/* The smallest range covering a and b (same file; a first). */
ein_loc ein_loc_span(ein_loc a, ein_loc b);

typedef enum ein_severity { EIN_ERROR = 0, EIN_WARNING, EIN_NOTE } ein_severity;

/* At most this many errors are kept per sink; later ones are counted but
 * dropped, and ein_diag_full() tells producers to stop early. */
#define EIN_DIAG_MAX_ERRORS 20
#define EIN_DIAG_MAX_WARNINGS 50

typedef struct ein_note {
    ein_loc loc;            /* file < 0: printed at its diagnostic's location */
    char *msg;
} ein_note;

typedef struct ein_diagnostic {
    ein_severity severity;  /* EIN_ERROR or EIN_WARNING */
    ein_loc loc;            /* file < 0: printed as "einrun: error: msg" */
    char *msg;              /* one line, no trailing newline, no "error:" prefix */
    int n_notes;
    ein_note *notes;
} ein_diagnostic;

typedef struct ein_diag ein_diag;

/* NULL only when out of memory. */
ein_diag *ein_diag_new(void);
void ein_diag_free(ein_diag *d);

/* Register a source text under a display name (copied; the text may hold NUL
 * bytes).  Returns its file index, or -1 when out of memory. */
int ein_diag_add_source(ein_diag *d, const char *name, const char *text, size_t len);
int ein_diag_n_sources(const ein_diag *d);
const char *ein_diag_source_name(const ein_diag *d, int file);            /* NULL if bad index */
const char *ein_diag_source_text(const ein_diag *d, int file, size_t *len); /* NUL-terminated */

/* Add a diagnostic.  Messages are printf-style, one line.  Returns true if it
 * was kept, false if dropped because the cap was reached (it is still
 * counted).  Notes attach to the most recently added diagnostic (and are
 * dropped with it). */
bool ein_diag_error(ein_diag *d, ein_loc loc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
bool ein_diag_warning(ein_diag *d, ein_loc loc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
bool ein_diag_vadd(ein_diag *d, ein_severity sev, ein_loc loc, const char *fmt, va_list ap);
void ein_diag_note(ein_diag *d, ein_loc loc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Add a "did you mean 'x'?" note to the last diagnostic when some candidate
 * is within edit distance 2 of `name` (see ein_suggest).  Returns the
 * suggestion or NULL. */
const char *ein_diag_suggest(ein_diag *d, const char *name,
                             const char *const *candidates, size_t n);

/* Counts include dropped diagnostics. */
int ein_diag_n_errors(const ein_diag *d);
int ein_diag_n_warnings(const ein_diag *d);
bool ein_diag_full(const ein_diag *d);     /* error cap reached: stop producing */

/* Kept diagnostics, in the order they were added. */
size_t ein_diag_count(const ein_diag *d);
const ein_diagnostic *ein_diag_get(const ein_diag *d, size_t i);

/* Print every kept diagnostic with source line and carets, then, if any
 * were dropped, "einrun: too many errors (N in total), stopping".  Does not
 * print a summary count; the CLI does. */
void ein_diag_print(const ein_diag *d, FILE *out);
/* One diagnostic (with its notes). */
void ein_diag_print_one(const ein_diag *d, const ein_diagnostic *dg, FILE *out);
/* Only the first line of diagnostic i: "file:line:col: error: message". */
void ein_diag_print_head(const ein_diag *d, size_t i, FILE *out);

/* "file.ein:12:5" for provenance fields such as ein_layer_config.where.
 * Writes at most n bytes (NUL-terminated) and returns buf. */
char *ein_diag_where(const ein_diag *d, ein_loc loc, char *buf, size_t n);

/* Did-you-mean: the candidate closest to `name` in Levenshtein distance,
 * if that distance is ≤ 2 and smaller than strlen(name) (so "x" does not
 * suggest "y"); ties go to the first candidate.  NULL if none. */
const char *ein_suggest(const char *name, const char *const *candidates, size_t n);
/* Levenshtein distance; gives up and returns limit + 1 once it exceeds limit. */
int ein_edit_distance(const char *a, const char *b, int limit);

#endif
