/* repl_impl.h — what the REPL's two halves share (private to src/repl*.c).
 *
 * repl.c is the front end: where lines come from (GNU readline on a
 * terminal, plain stdin otherwise), continuation while brackets are open,
 * history, completion, Ctrl-C at the prompt.  repl_cmd.c, repl_runs.c and
 * repl_save.c are the session (repl_session.h): the statements entered so
 * far, the overrides of :set, this session's runs, the data cache shared by
 * every :run, and the meta-commands.
 *
 * Diagnostics point into the input: every text the session keeps (a typed
 * statement, a :set value, a :load'ed file) is a source of its own, and a
 * typed text is padded with the newlines and spaces that precede it, so its
 * locations read `<input>:LINE:COL` of the whole session.  Each command
 * starts a fresh diagnostics sink (the error cap is per command) and
 * registers the kept sources again, in order, so their indexes stay valid.
 *
 * Ownership: repl_new returns a session the caller frees with repl_free; it
 * owns everything above. */
#ifndef EIN_REPL_IMPL_H
#define EIN_REPL_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef struct repl repl;

repl *repl_new(FILE *out, FILE *log);          /* NULL: out of memory */
void repl_free(repl *r);

/* One complete input: a meta-command line (`:run ...`) or statement text
 * starting at input line `line` (1-based).  Returns the command's exit
 * status (0 ok; 2 language error, 64 usage, 74 I/O, 130 interrupted, 1
 * failed cells), and sets *quit for :quit. */
int repl_execute(repl *r, const char *text, int line, bool *quit);

/* Would `text` (statements, no meta-command) parse if more lines followed?
 * True when its only problem is an early end of input (an open bracket, a
 * missing expression): Lua's trick for continuation lines. */
bool repl_incomplete(const char *text);

/* Completion candidates for the word `word` whose line so far is
 * `line[0..start)`: calls add(ctx, candidate) for each.  `files` is set
 * when the word is a file name (the front end completes those itself). */
void repl_complete(repl *r, const char *line, int start, const char *word,
                   void (*add)(void *ctx, const char *candidate), void *ctx, bool *files);

/* The meta-command table (for :help and completion): name, arguments, one line. */
typedef struct repl_command_doc {
    const char *name, *args, *doc;
} repl_command_doc;
const repl_command_doc *repl_commands(int *n);

#endif
