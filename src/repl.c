/* repl.c — `einrun` alone and `einrun -i FILE`: the REPL's front end
 * (repl_impl.h; the user's view is docs/repl.md).
 *
 * On a terminal: GNU readline (line editing, history in
 * $XDG_STATE_HOME/ein/history else ~/.ein_history, TAB completion), the
 * prompt `ein> ` and `...> ` while an input is unfinished.  Readline runs in
 * its callback mode so that Ctrl-C at the prompt only clears the line: the
 * SIGINT handler sets a flag, select() returns, the line is dropped.
 * Otherwise (a pipe, a file): the same commands, no prompts, no editing.
 * Either way the exit status is that of the first command that failed
 * (0 when none did), so a script's failure is visible. */
#include "ein/cli.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <unistd.h>

#include <readline/history.h>
#include <readline/readline.h>

#include "ein/err.h"
#include "repl_impl.h"

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
}

static void catch_sigint(bool tty)
{
    struct sigaction sa = { .sa_handler = tty ? on_sigint : SIG_DFL };
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
}

/* --- reading a line ------------------------------------------------------------ */

typedef enum { LINE_OK, LINE_EOF, LINE_CANCELLED } line_status;

/* Readline's callback mode hands the line to a function without a context
 * pointer, so the line in flight lives here until read_tty returns it. */
typedef struct pending_line {
    bool done;
    char *text;
} pending_line;
static pending_line *in_flight;

static void on_line(char *text)
{
    in_flight->done = true;
    in_flight->text = text;
    rl_callback_handler_remove();
}

static line_status read_tty(const char *prompt, char **out)
{
    pending_line pl = { false, NULL };
    in_flight = &pl;
    interrupted = 0;
    rl_callback_handler_install(prompt, on_line);
    while (!pl.done) {
        fd_set fds;
        FD_ZERO(&fds);
        FD_SET(STDIN_FILENO, &fds);
        int n = select(STDIN_FILENO + 1, &fds, NULL, NULL, NULL);
        if (interrupted) {           /* Ctrl-C: drop the line, a fresh prompt */
            interrupted = 0;
            fputs("^C", rl_outstream);     /* where the cursor is: the end of the line */
            fflush(rl_outstream);
            rl_free_line_state();
            rl_replace_line("", 0);
            rl_callback_handler_remove();
            fputc('\n', rl_outstream);
            fflush(rl_outstream);
            return LINE_CANCELLED;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rl_callback_handler_remove();
            return LINE_EOF;
        }
        rl_callback_read_char();
    }
    *out = pl.text;
    return pl.text ? LINE_OK : LINE_EOF;
}

static line_status read_plain(char **out)
{
    size_t cap = 0;
    char *line = NULL;
    ssize_t n = getline(&line, &cap, stdin);
    if (n < 0) {
        free(line);
        return LINE_EOF;
    }
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    *out = line;
    return LINE_OK;
}

/* --- history ------------------------------------------------------------------ */

static void history_path(char *buf, size_t n)
{
    const char *state = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
    buf[0] = '\0';
    if (state && *state) {
        snprintf(buf, n, "%s/ein", state);
        mkdir(state, 0700);
        mkdir(buf, 0700);
        snprintf(buf, n, "%s/ein/history", state);
    } else if (home && *home) {
        snprintf(buf, n, "%s/.ein_history", home);
    }
}

static void remember(const char *path, const char *text)
{
    char *flat = strdup(text);   /* one history entry per input, on one line */
    if (!flat)
        return;
    for (char *p = flat; *p; p++)
        if (*p == '\n')
            *p = ' ';
    add_history(flat);
    free(flat);
    if (path[0]) {
        FILE *f = fopen(path, "a");   /* append_history needs the file to exist */
        if (f)
            fclose(f);
        append_history(1, path);
    }
}

/* --- completion ------------------------------------------------------------------ */

/* Readline's completion hooks take no context: the session being completed
 * is parked here for the length of a call. */
typedef struct matches {
    char **v;
    int n, cap;
} matches;
static repl *completing;

static void add_match(void *ctx, const char *s)
{
    matches *m = ctx;
    for (int i = 0; i < m->n; i++)
        if (!strcmp(m->v[i], s))
            return;
    if (m->n + 2 > m->cap) {
        int cap = m->cap ? 2 * m->cap : 32;
        char **v = realloc(m->v, (size_t)cap * sizeof *v);
        if (!v)
            return;
        m->v = v;
        m->cap = cap;
    }
    char *c = strdup(s);
    if (c)
        m->v[m->n++] = c;
}

/* The readline form: [0] the longest common prefix, then the matches, NULL. */
static char **as_readline_matches(matches *m)
{
    if (m->n == 0) {
        free(m->v);
        return NULL;
    }
    char **v = malloc((size_t)(m->n + 2) * sizeof *v);
    if (!v)
        return NULL;
    size_t common = strlen(m->v[0]);
    for (int i = 1; i < m->n; i++) {
        size_t k = 0;
        while (k < common && m->v[i][k] == m->v[0][k])
            k++;
        common = k;
    }
    v[0] = strndup(m->v[0], common);
    memcpy(v + 1, m->v, (size_t)m->n * sizeof *v);
    v[m->n + 1] = NULL;
    free(m->v);
    return v;
}

static char **complete(const char *word, int start, int end)
{
    (void)end;
    bool files;
    matches m = {0};
    repl_complete(completing, rl_line_buffer, start, word, add_match, &m, &files);
    if (files) {
        free(m.v);
        return NULL;   /* readline's own file-name completion */
    }
    rl_attempted_completion_over = 1;
    /* settings and names are whole words: `:se` → `:set `, `train.epo` → `train.epochs ` */
    return as_readline_matches(&m);
}

static void setup_readline(repl *r)
{
    completing = r;
    rl_readline_name = "einrun";
    rl_catch_signals = 0;
    rl_attempted_completion_function = complete;
    rl_basic_word_break_characters = " \t\n=,(){}\"'";
    rl_completer_word_break_characters = (char *)rl_basic_word_break_characters;
}

/* --- the loop --------------------------------------------------------------------- */

static bool blank(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return *s == '\0' || *s == '#';
}

static bool is_command(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return *s == ':';
}

static int append(char **buf, size_t *len, const char *line)
{
    size_t n = strlen(line);
    char *b = realloc(*buf, *len + n + 2);
    if (!b)
        return -1;
    if (*len)
        b[(*len)++] = '\n';
    memcpy(b + *len, line, n + 1);
    *len += n;
    *buf = b;
    return 0;
}

typedef struct loop_state {
    repl *r;
    bool tty;
    char history[4096];
    int status;                /* the first failure's */
    int line;                  /* input lines read */
} loop_state;

static bool run_input(loop_state *st, const char *text, int line)
{
    bool quit = false;
    int rc = repl_execute(st->r, text, line, &quit);
    if (rc != 0 && st->status == 0)
        st->status = rc;
    fflush(stdout);
    catch_sigint(st->tty);     /* a :run installed the runner's handlers */
    return quit;
}

static void loop(loop_state *st)
{
    char *buf = NULL;
    size_t len = 0;
    int first = 0;
    for (;;) {
        char *line = NULL;
        line_status ls = st->tty ? read_tty(len ? "...> " : "ein> ", &line) : read_plain(&line);
        if (ls == LINE_CANCELLED) {
            free(buf);
            buf = NULL;
            len = 0;
            continue;
        }
        if (ls == LINE_EOF) {
            if (len)           /* an unfinished input: say what is missing */
                run_input(st, buf, first);
            if (st->tty)
                fputc('\n', stdout);
            break;
        }
        st->line++;
        if (!len && blank(line)) {
            free(line);
            continue;
        }
        if (!len && is_command(line)) {
            if (st->tty)
                remember(st->history, line);
            bool quit = run_input(st, line, st->line);
            free(line);
            if (quit)
                break;
            continue;
        }
        if (!len)
            first = st->line;
        int ap = append(&buf, &len, line);
        free(line);
        if (ap != 0 || repl_incomplete(buf))
            continue;
        if (st->tty)
            remember(st->history, buf);
        run_input(st, buf, first);
        free(buf);
        buf = NULL;
        len = 0;
    }
    free(buf);
}

static void repl_usage(FILE *out)
{
    fputs("usage: einrun              the REPL (commands from stdin when it is not a terminal)\n"
          "       einrun -i FILE.ein  the REPL with FILE loaded\n"
          "Inside, :help lists the commands.  See docs/repl.md.\n", out);
}

int ein_cli_repl(int argc, char **argv)
{
    const char *file = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-i") && i + 1 < argc && !file) {
            file = argv[++i];
        } else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            repl_usage(stdout);
            return 0;
        } else {
            repl_usage(stderr);
            return ein_exit_status(EIN_ERR_USAGE);
        }
    }
    loop_state st = { .tty = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO) };
    if (!(st.r = repl_new(stdout, stderr))) {
        fputs("einrun: out of memory\n", stderr);
        return ein_exit_status(EIN_ERR_NOMEM);
    }
    catch_sigint(st.tty);
    if (st.tty) {
        setup_readline(st.r);
        using_history();
        history_path(st.history, sizeof st.history);
        if (st.history[0])
            read_history(st.history);
        printf("einrun %s — statements or :commands; :help lists them, Ctrl-D leaves\n", EIN_VERSION);
    }
    bool quit = false;
    if (file) {
        char cmd[4200];
        snprintf(cmd, sizeof cmd, ":load %s", file);
        quit = run_input(&st, cmd, 1);
    }
    if (!quit)
        loop(&st);
    if (st.tty && st.history[0])
        history_truncate_file(st.history, 1000);
    repl_free(st.r);
    return st.status;
}
