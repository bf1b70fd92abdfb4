/* err.h — runtime errors as values.
 *
 * Library code never prints and never exits: a function that can fail takes an
 * `ein_err *` (may be NULL), fills it on failure and returns the error code.
 * Only the edges (main.c, the REPL, the runner) print `err.msg` and choose the
 * exit status with ein_exit_status().  Language diagnostics with source
 * locations live in diag.h; this type is for everything after checking
 * (I/O, data files, numerics, resources).
 */
#ifndef EIN_ERR_H
#define EIN_ERR_H

typedef enum ein_code {
    EIN_OK = 0,
    EIN_ERR_LANG,      /* malformed or ill-typed .ein program          exit 2  */
    EIN_ERR_USAGE,     /* bad command line                             exit 64 */
    EIN_ERR_DATA,      /* data file present but malformed              exit 65 */
    EIN_ERR_IO,        /* cannot open/read/write/fsync a file          exit 74 */
    EIN_ERR_NOMEM,     /* allocation failed                            exit 71 */
    EIN_ERR_DIVERGED,  /* NaN/Inf in a loss or a parameter             exit 1  */
    EIN_ERR_INTERRUPTED, /* stopped by a signal                        exit 130 */
    EIN_ERR_INTERNAL   /* a bug in ein                                 exit 70 */
} ein_code;

typedef struct ein_err {
    ein_code code;
    char msg[1024];    /* one line, no trailing newline, e.g. "train-images...: bad magic 0x00000802" */
} ein_err;

/* Record an error (printf-style message) and return `code`.  `err` may be NULL.
 * If `err` already holds an error, the first one is kept (the root cause). */
ein_code ein_err_set(ein_err *err, ein_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefix the held message with "context: " (e.g. the file or cell being processed). */
void ein_err_prefix(ein_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Append to the held message (e.g. " (data = ... at f.ein:3:5)", where it came from). */
void ein_err_suffix(ein_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void ein_err_clear(ein_err *err);

/* Process exit status for an error code (sysexits.h values where they exist). */
int ein_exit_status(ein_code code);

const char *ein_code_name(ein_code code);

#endif
