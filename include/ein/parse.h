/* parse.h — .ein source text → AST (ast.h), with located syntax errors in a
 * diagnostics sink (diag.h).
 *
 * The scanner and parser are reentrant and keep no global state: any number
 * of programs may be parsed in one process, in any order, with one sink or
 * several.  The source text is registered with the sink (copied), so carets
 * can be printed later; the returned program is independent of the caller's
 * buffer.
 *
 * Ownership: a returned program is the caller's (ein_program_free); the sink
 * stays the caller's too and must outlive any printing of diagnostics that
 * refer to the program's file index.
 */
#ifndef EIN_PARSE_H
#define EIN_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include "ein/ast.h"
#include "ein/diag.h"
#include "ein/err.h"

/* Files larger than this are refused with a located error (not I/O). */
#define EIN_PARSE_MAX_BYTES (64u * 1024u * 1024u)

typedef struct ein_parse_info {
    int file;          /* source index registered in the sink, -1 if none */
    int n_errors;      /* syntax errors found in this text */
    bool incomplete;   /* the first error was at end of input (an unclosed
                          bracket, a missing expression): more lines could
                          complete it — the REPL shows a continuation prompt */
} ein_parse_info;

/* Parse `len` bytes of `text` (may contain NUL bytes, which are errors)
 * under the display name `name`.  Returns the program, or NULL when any
 * syntax error was reported (all of them are in `diag`, up to its cap) or
 * memory ran out.  `info` may be NULL. */
ein_program *ein_parse_buffer(ein_diag *diag, const char *name,
                              const char *text, size_t len, ein_parse_info *info);

/* What a text is parsed as. */
typedef enum ein_parse_mode {
    EIN_PARSE_PROGRAM = 0, /* a file, or REPL input: imports, bindings, defs, experiments */
    EIN_PARSE_EXPR         /* exactly one expression, in program->expr (command-line
                              overrides such as `eps=[0, 0.5]`) */
} ein_parse_mode;

/* ein_parse_buffer with a mode. */
ein_program *ein_parse_text(ein_diag *diag, const char *name, const char *text, size_t len,
                            ein_parse_mode mode, ein_parse_info *info);

/* A command-line override "PATH=EXPR" (or the REPL's ":set PATH = EXPR"):
 * the whole text is registered as the source, so an error about the name
 * can put its caret under the name, and EXPR — text[value_at, len) — is
 * parsed as one expression into program->expr with locations that count
 * from the start of the text. */
ein_program *ein_parse_override(ein_diag *diag, const char *name, const char *text, size_t len,
                                size_t value_at, ein_parse_info *info);

/* Read and parse a file.  When the file cannot be read, returns NULL with
 * `err` set to EIN_ERR_IO and a message such as
 *   "cannot open 'x.ein': No such file or directory"
 * and adds nothing to `diag`.  Otherwise as ein_parse_buffer, with `path` as
 * the display name.  `err` and `info` may be NULL. */
ein_program *ein_parse_file(ein_diag *diag, const char *path,
                            ein_parse_info *info, ein_err *err);

#endif
