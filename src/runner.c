/* runner.c — the worker pool (runner.h).
 *
 * Why the supervisor is the single writer: records from several workers can
 * then never interleave, a worker killed mid-write cannot tear a record, and
 * a full disk is seen (and reported) in exactly one place. */
#include "ein/blas.h"
#include "ein/runner.h"
#include "ein/hash.h"
#include "ein/graph.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Signal flags: the one piece of global state (a handler can reach nothing else). */
static volatile sig_atomic_t g_stop, g_stop_now;

static void on_signal(int sig)
{
    if (sig == SIGTERM || sig == SIGHUP || g_stop)
        g_stop_now = 1;
    g_stop = 1;
}

void ein_runner_install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);   /* no SA_RESTART: poll() wakes up with EINTR */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);   /* a closed terminal or ssh session: as SIGTERM */
}

void ein_runner_reset_signals(void) { g_stop = g_stop_now = 0; }
bool ein_runner_stop_requested(void) { return g_stop != 0; }

int ein_online_cores(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* --- worker side ------------------------------------------------------- */

enum { MSG_EPOCH = 1, MSG_RESULT = 2 };

typedef struct msg_result {
    ein_cell_result result;
    int code;                       /* ein_code of the cell function */
    char errmsg[sizeof(((ein_err *)0)->msg)];
} msg_result;

typedef struct msg_hdr {
    uint32_t type, len;
} msg_hdr;

typedef struct worker_ctx {
    int fd;
} worker_ctx;

static void send_msg(int fd, uint32_t type, const void *payload, uint32_t len)
{
    msg_hdr h = { type, len };
    char buf[sizeof h + sizeof(msg_result) + sizeof(ein_epoch_metrics)];
    memcpy(buf, &h, sizeof h);
    memcpy(buf + sizeof h, payload, len);
    size_t n = sizeof h + len, off = 0;
    while (off < n) {
        ssize_t w = write(fd, buf + off, n - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            _exit(3);               /* the supervisor is gone: nobody to report to */
        off += (size_t)w;
    }
}

static void worker_on_epoch(void *ctx, const ein_epoch_metrics *m)
{
    send_msg(((worker_ctx *)ctx)->fd, MSG_EPOCH, m, sizeof *m);
}

static void worker_main(const ein_cell *cell, const ein_run_options *opt, int fd, int threads,
                        pid_t supervisor)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != supervisor)
        _exit(3);                   /* it died before prctl took effect */
    setpgid(0, 0);                  /* Ctrl-C goes to the supervisor only; it forwards */
    g_stop = g_stop_now = 0;
    signal(SIGPIPE, SIG_DFL);
    if (opt->set_threads)
        opt->set_threads(threads);
    char weights[EIN_PATH_MAX];
    weights[0] = '\0';
    ein_cell_config cfg;
    if (opt->save_weights_dir) {
        snprintf(weights, sizeof weights, "%s/%s", opt->save_weights_dir, cell->id);
        mkdir(opt->save_weights_dir, 0777);
        mkdir(weights, 0777);
    } else if (opt->results_dir && (ein_cell_config_of(cell, &cfg)->metrics & (1u << EIN_METRIC_WEIGHTS))) {
        snprintf(weights, sizeof weights, "%s/weights", opt->results_dir);
        mkdir(weights, 0777);
        snprintf(weights, sizeof weights, "%s/weights/%s", opt->results_dir, cell->id);
    }
    worker_ctx wc = { fd };
    ein_train_hooks hooks = {
        .ctx = &wc, .on_epoch = worker_on_epoch, .on_batch = NULL,
        .stop = &g_stop, .stop_now = &g_stop_now,
        .save_weights_dir = weights[0] ? weights : NULL,
    };
    msg_result mr;
    memset(&mr, 0, sizeof mr);
    ein_err err = {0};
    double t0 = now_seconds();
    mr.code = opt->run_cell(opt->ctx, cell, &hooks, &mr.result, &err);
    if (mr.result.seconds <= 0)
        mr.result.seconds = now_seconds() - t0;
    if (mr.code != EIN_OK) {
        mr.result.status = EIN_CELL_FAILED;
        snprintf(mr.errmsg, sizeof mr.errmsg, "%s", err.msg);
        size_t n = strnlen(err.msg, sizeof mr.result.message - 1);
        memcpy(mr.result.message, err.msg, n);
        mr.result.message[n] = '\0';
    }
    send_msg(fd, MSG_RESULT, &mr, sizeof mr);
    close(fd);
    _exit(0);
}

/* --- supervisor side --------------------------------------------------- */

typedef struct slot {
    pid_t pid;                      /* 0: free */
    int fd;                         /* -1 once EOF was seen */
    int cell;                       /* index into list->cells */
    char *buf;
    size_t len, cap;
    bool have_result;
    msg_result res;
    ein_epoch_metrics last, best;
    int epochs;
    double t0;
    bool killed;                    /* by us, for a second Ctrl-C or an I/O error */
} slot;

/* Threads per worker: the caller's number, else ein_blas_default_threads()
 * (one, unless the user set OPENBLAS_NUM_THREADS): a cell's numbers must not
 * depend on --jobs, and at batch 32 one thread per cell with cells in parallel
 * is also the fastest use of the cores. */
static int blas_threads_for(const ein_run_options *opt)
{
    return opt->blas_threads > 0 ? opt->blas_threads : ein_blas_default_threads();
}

static ein_code launch(const ein_cell_list *list, int cell, slot *s, const ein_run_options *opt,
                       int threads, ein_err *err)
{
    int p[2];
    if (pipe(p) != 0)
        return ein_err_set(err, EIN_ERR_IO, "cannot create a pipe: %s", strerror(errno));
    fflush(NULL);                   /* no buffered output duplicated into the child */
    pid_t self = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        close(p[0]);
        close(p[1]);
        return ein_err_set(err, EIN_ERR_NOMEM, "cannot start a worker: %s", strerror(errno));
    }
    if (pid == 0) {
        close(p[0]);
        worker_main(&list->cells[cell], opt, p[1], threads, self);
    }
    close(p[1]);
    fcntl(p[0], F_SETFD, FD_CLOEXEC);
    memset(s, 0, sizeof *s);
    s->pid = pid;
    s->fd = p[0];
    s->cell = cell;
    s->t0 = now_seconds();
    return EIN_OK;
}

static const char *signal_name(int sig)
{
    switch (sig) {
    case SIGSEGV: return "SIGSEGV";
    case SIGABRT: return "SIGABRT";
    case SIGBUS: return "SIGBUS";
    case SIGFPE: return "SIGFPE";
    case SIGILL: return "SIGILL";
    case SIGKILL: return "SIGKILL";
    case SIGTERM: return "SIGTERM";
    case SIGHUP: return "SIGHUP";
    case SIGINT: return "SIGINT";
    case SIGPIPE: return "SIGPIPE";
    case SIGXFSZ: return "SIGXFSZ";
    case SIGXCPU: return "SIGXCPU";
    default: return "a signal";
    }
}

/* Parse whole messages out of s->buf; returns an error only for the store. */
static ein_code drain(const ein_cell_list *list, slot *s, ein_results *store, const char *run,
                      const ein_run_options *opt, ein_err *err)
{
    ein_code c = EIN_OK;
    size_t off = 0;
    while (s->len - off >= sizeof(msg_hdr)) {
        msg_hdr h;
        memcpy(&h, s->buf + off, sizeof h);
        if (s->len - off - sizeof h < h.len)
            break;
        const char *payload = s->buf + off + sizeof h;
        const ein_cell *cell = &list->cells[s->cell];
        if (h.type == MSG_EPOCH && h.len == sizeof(ein_epoch_metrics)) {
            memcpy(&s->last, payload, sizeof s->last);
            if (s->epochs == 0 || s->last.test_acc > s->best.test_acc)
                s->best = s->last;
            s->epochs++;
            if (c == EIN_OK)
                c = ein_results_append_epoch(store, cell, run, &s->last, err);
            if (opt->events.on_epoch)
                opt->events.on_epoch(opt->events.ctx, cell, &s->last);
        } else if (h.type == MSG_RESULT && h.len == sizeof(msg_result)) {
            memcpy(&s->res, payload, sizeof s->res);
            s->have_result = true;
        }
        off += sizeof h + h.len;
    }
    memmove(s->buf, s->buf + off, s->len - off);
    s->len -= off;
    return c;
}

/* The worker is gone: settle its cell's result and record it. */
static ein_code settle(const ein_cell_list *list, slot *s, ein_results *store, const char *run,
                       const ein_run_options *opt, ein_run_totals *tot, int *failures, ein_err *err)
{
    int status = 0;
    while (waitpid(s->pid, &status, 0) < 0 && errno == EINTR)
        ;
    ein_cell_result r;
    if (s->have_result) {
        r = s->res.result;
    } else {
        memset(&r, 0, sizeof r);
        r.epochs_done = s->epochs;
        r.final = s->last;
        r.best = s->best;
        r.seconds = now_seconds() - s->t0;
        if (s->killed) {
            r.status = EIN_CELL_INTERRUPTED;
            snprintf(r.message, sizeof r.message, "stopped at once (worker killed) after %d epoch%s",
                     s->epochs, s->epochs == 1 ? "" : "s");
        } else if (WIFSIGNALED(status)) {
            r.status = EIN_CELL_FAILED;
            snprintf(r.message, sizeof r.message, "worker killed by %s (signal %d) after %d epoch%s",
                     signal_name(WTERMSIG(status)), WTERMSIG(status), s->epochs,
                     s->epochs == 1 ? "" : "s");
        } else {
            r.status = EIN_CELL_FAILED;
            snprintf(r.message, sizeof r.message, "worker exited with status %d without a result",
                     WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        }
    }
    switch (r.status) {
    case EIN_CELL_OK: tot->ok++; break;
    case EIN_CELL_DIVERGED: tot->diverged++; break;
    case EIN_CELL_INTERRUPTED: tot->interrupted++; break;
    case EIN_CELL_FAILED: tot->failed++; (*failures)++; break;
    }
    const ein_cell *cell = &list->cells[s->cell];
    ein_code c = ein_results_append_cell(store, list->experiment, cell, run, &r, err);
    if (opt->claims) {   /* the record is on disk first: a done claim implies a record */
        bool result = r.status == EIN_CELL_OK || r.status == EIN_CELL_DIVERGED;
        if (c == EIN_OK && result)
            c = ein_claim_done(opt->claims, cell->id, ein_cell_status_name(r.status), err);
        else
            ein_claim_release(opt->claims, cell->id);
    }
    if (opt->events.on_done)
        opt->events.on_done(opt->events.ctx, cell, &r);
    free(s->buf);
    memset(s, 0, sizeof *s);
    s->fd = -1;
    return c;
}

/* --- the queue, with claims ------------------------------------------- */

enum { Q_QUEUED = 0, Q_BUSY, Q_LAUNCHED, Q_SKIPPED };

typedef struct queue {
    char *state;                    /* per todo entry */
    int next;                       /* first entry that may still be Q_QUEUED */
    int waiting;                    /* entries in Q_BUSY */
    double last_look;               /* when the busy entries were last looked at */
} queue;

/* The status of the cell's result ("ok", "diverged") if one is on disk, else NULL. */
static const char *recorded_result(ein_results *store, const char *id, char *buf, size_t cap,
                                   ein_code *io, ein_err *err)
{
    ein_record_list l;
    if ((*io = ein_results_read(ein_results_dir(store), &l, err)) != EIN_OK)
        return NULL;
    const ein_record *r = ein_record_find(&l, id);
    bool result = r && (strcmp(r->status, "ok") == 0 || strcmp(r->status, "diverged") == 0);
    if (result)
        snprintf(buf, cap, "%s", r->status);
    ein_record_list_free(&l);
    return result ? buf : NULL;
}

/* Claim todo entry k.  1: ours, run it; 0: not now (busy or done elsewhere). */
static int try_claim(const ein_cell_list *list, const int *todo, int k, queue *q,
                     ein_results *store, const ein_run_options *opt, ein_run_totals *tot,
                     ein_code *io, ein_err *err)
{
    const ein_cell *cell = &list->cells[todo[k]];
    if (!opt->claims)
        return 1;
    ein_claim_state st;
    ein_claim_info holder;
    *io = ein_claim_take(opt->claims, cell->id, &st, &holder, err);
    if (*io != EIN_OK)
        return 0;
    if (q->state[k] == Q_BUSY && st != EIN_CLAIM_BUSY)
        q->waiting--;
    char status[16];
    if (st == EIN_CLAIM_MINE && holder.stale &&
        recorded_result(store, cell->id, status, sizeof status, io, err)) {
        /* Its owner recorded the result and died before marking the claim
         * done: the cell is finished, not to be run again. */
        *io = ein_claim_done(opt->claims, cell->id, status, err);
        st = EIN_CLAIM_DONE;
    }
    if (*io != EIN_OK)
        return 0;
    if (st == EIN_CLAIM_MINE) {
        if (holder.stale) {
            tot->taken_over++;
            fprintf(stderr, "einrun: cell %s: taking over the claim of %s pid %ld (%s)\n", cell->id,
                    holder.host, holder.pid, holder.why);
        }
        return 1;
    }
    if (st == EIN_CLAIM_DONE) {
        q->state[k] = Q_SKIPPED;
        tot->elsewhere++;
        if (opt->events.on_skip)
            opt->events.on_skip(opt->events.ctx, cell);
    } else if (q->state[k] != Q_BUSY) {
        q->state[k] = Q_BUSY;
        q->waiting++;
    }
    return 0;
}

/* The next todo entry to launch (claimed), or -1.  Entries another writer
 * holds are looked at again about once a second, once nothing else is left. */
static int pick_next(const ein_cell_list *list, const int *todo, int n_todo, queue *q,
                     ein_results *store, const ein_run_options *opt, ein_run_totals *tot,
                     ein_code *io, ein_err *err)
{
    for (; q->next < n_todo; q->next++) {
        if (q->state[q->next] != Q_QUEUED)
            continue;
        if (try_claim(list, todo, q->next, q, store, opt, tot, io, err))
            return q->next++;
        if (*io != EIN_OK)
            return -1;
    }
    double t = now_seconds();
    if (q->waiting == 0 || t - q->last_look < 1.0)
        return -1;
    q->last_look = t;
    for (int k = 0; k < n_todo; k++) {
        if (q->state[k] != Q_BUSY)
            continue;
        if (try_claim(list, todo, k, q, store, opt, tot, io, err))
            return k;
        if (*io != EIN_OK)
            return -1;
    }
    return -1;
}

/* The supervisor's state over one run: the workers' slots, the queue, and
 * the first error (after which nothing more is launched and every running
 * worker is killed). */
typedef struct supervisor {
    const ein_cell_list *list;
    const int *todo;
    int n_todo;
    ein_results *store;
    const ein_run_options *opt;
    ein_run_totals *tot;
    ein_err *err;
    int jobs, threads;
    slot *slots;
    struct pollfd *pfd;
    queue q;
    ein_code io;                    /* first store/launch error: stop everything */
    int running, failures;
    bool forwarded, killed_all;
} supervisor;

static void name_run(ein_run_totals *tot, const ein_run_options *opt)
{
    if (opt->run_tag) {
        snprintf(tot->run, sizeof tot->run, "%s", opt->run_tag);
        return;
    }
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    char stamp[24];
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    snprintf(tot->run, sizeof tot->run, "%s-%ld", stamp, (long)getpid());
}

/* A second Ctrl-C (or an error) kills every worker; the first one asks them
 * to finish their epoch. */
static void signal_workers(supervisor *sv)
{
    if ((g_stop_now || sv->io != EIN_OK) && !sv->killed_all) {
        for (int i = 0; i < sv->jobs; i++)
            if (sv->slots[i].pid > 0) {
                kill(sv->slots[i].pid, SIGKILL);
                sv->slots[i].killed = true;
            }
        sv->killed_all = true;
    }
    if (g_stop && !sv->forwarded) {
        for (int i = 0; i < sv->jobs; i++)
            if (sv->slots[i].pid > 0)
                kill(sv->slots[i].pid, SIGINT);
        sv->forwarded = true;
    }
}

/* Fill the free slots with claimed cells, each with its config stored first. */
static void launch_ready(supervisor *sv)
{
    const ein_run_options *opt = sv->opt;
    for (int i = 0; i < sv->jobs; i++) {
        if (sv->slots[i].pid != 0)
            continue;
        int k = pick_next(sv->list, sv->todo, sv->n_todo, &sv->q, sv->store, opt, sv->tot, &sv->io, sv->err);
        if (k < 0)
            break;
        const ein_cell *cell = &sv->list->cells[sv->todo[k]];
        sv->io = ein_results_store_config(sv->store, cell, sv->err);
        if (sv->io == EIN_OK)
            sv->io = launch(sv->list, sv->todo[k], &sv->slots[i], opt, sv->threads, sv->err);
        if (sv->io != EIN_OK) {
            if (opt->claims)
                ein_claim_release(opt->claims, cell->id);
            break;
        }
        sv->q.state[k] = Q_LAUNCHED;
        if (opt->events.on_start)
            opt->events.on_start(opt->events.ctx, cell);
        sv->running++;
    }
}

/* Read what worker `s` sent; at its end of file, settle its cell. */
static void read_worker(supervisor *sv, slot *s)
{
    if (s->cap - s->len < 8192) {
        size_t cap = s->cap ? 2 * s->cap : 16384;
        char *grown = realloc(s->buf, cap);
        if (!grown) {
            sv->io = ein_err_set(sv->err, EIN_ERR_NOMEM, "out of memory");
            return;
        }
        s->buf = grown;
        s->cap = cap;
    }
    ssize_t n = read(s->fd, s->buf + s->len, s->cap - s->len);
    if (n < 0 && errno == EINTR)
        return;
    ein_err *err = sv->io == EIN_OK ? sv->err : NULL;   /* keep the first error's message */
    ein_code c;
    if (n > 0) {
        s->len += (size_t)n;
        c = drain(sv->list, s, sv->store, sv->tot->run, sv->opt, err);
    } else {
        close(s->fd);               /* EOF (or error): the worker has finished or died */
        s->fd = -1;
        c = settle(sv->list, s, sv->store, sv->tot->run, sv->opt, sv->tot, &sv->failures, err);
        sv->running--;
    }
    if (sv->io == EIN_OK)
        sv->io = c;
}

/* Wait up to 200 ms for the workers' pipes and read the ready ones. */
static void poll_workers(supervisor *sv)
{
    int np = 0;
    for (int i = 0; i < sv->jobs; i++)
        if (sv->slots[i].pid > 0 && sv->slots[i].fd >= 0) {
            sv->pfd[np] = (struct pollfd){ .fd = sv->slots[i].fd, .events = POLLIN };
            np++;
        }
    int pr = poll(sv->pfd, (nfds_t)np, 200);
    if (pr < 0 && errno != EINTR) {
        sv->io = ein_err_set(sv->err, EIN_ERR_INTERNAL, "poll failed: %s", strerror(errno));
        return;
    }
    for (int i = 0; i < sv->jobs; i++) {
        slot *s = &sv->slots[i];
        if (s->pid <= 0 || s->fd < 0)
            continue;
        int k = 0;
        while (k < np && sv->pfd[k].fd != s->fd)
            k++;
        if (k < np && (sv->pfd[k].revents & (POLLIN | POLLHUP | POLLERR)))
            read_worker(sv, s);
    }
}

static void supervise(supervisor *sv)
{
    double last_tick = 0;
    for (;;) {
        signal_workers(sv);
        bool may_launch = !g_stop && sv->io == EIN_OK && !(sv->opt->fail_fast && sv->failures > 0);
        if (may_launch)
            launch_ready(sv);
        if (sv->opt->claims)
            ein_claims_heartbeat(sv->opt->claims);
        if (sv->running == 0 && !(may_launch && sv->io == EIN_OK && sv->q.waiting > 0))
            break;
        if (sv->io != EIN_OK && !sv->killed_all)
            continue;               /* kill the running workers first */
        poll_workers(sv);
        double t = now_seconds();
        if (sv->opt->events.on_tick && t - last_tick >= 0.2) {
            sv->opt->events.on_tick(sv->opt->events.ctx);
            last_tick = t;
        }
    }
}

ein_code ein_runner_run(const ein_cell_list *list, const int *todo, int n_todo,
                        ein_results *store, const ein_run_options *opt,
                        ein_run_totals *tot, ein_err *err)
{
    memset(tot, 0, sizeof *tot);
    name_run(tot, opt);
    supervisor sv = { .list = list, .todo = todo, .n_todo = n_todo, .store = store, .opt = opt,
                      .tot = tot, .err = err, .io = EIN_OK };
    sv.jobs = opt->jobs > 0 ? opt->jobs : 1;
    if (sv.jobs > n_todo)
        sv.jobs = n_todo > 0 ? n_todo : 1;
    sv.threads = blas_threads_for(opt);
    sv.slots = calloc((size_t)sv.jobs, sizeof *sv.slots);
    sv.pfd = calloc((size_t)sv.jobs, sizeof *sv.pfd);
    sv.q.state = calloc((size_t)(n_todo > 0 ? n_todo : 1), 1);
    if (!sv.slots || !sv.pfd || !sv.q.state) {
        free(sv.slots);
        free(sv.pfd);
        free(sv.q.state);
        return ein_err_set(err, EIN_ERR_NOMEM, "out of memory");
    }
    for (int i = 0; i < sv.jobs; i++)
        sv.slots[i].fd = -1;
    /* A worker that dies makes its pipe's write end close; never let that kill us. */
    struct sigaction ign, old_pipe;
    memset(&ign, 0, sizeof ign);
    ign.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &ign, &old_pipe);
    supervise(&sv);
    for (int k = 0; k < n_todo; k++)
        tot->not_started += sv.q.state[k] == Q_QUEUED || sv.q.state[k] == Q_BUSY;
    free(sv.q.state);
    sigaction(SIGPIPE, &old_pipe, NULL);
    for (int i = 0; i < sv.jobs; i++)
        free(sv.slots[i].buf);
    free(sv.slots);
    free(sv.pfd);
    if (sv.io != EIN_OK)
        return sv.io;
    if (g_stop)
        return ein_err_set(err, EIN_ERR_INTERRUPTED, "interrupted: %d cell%s recorded as interrupted, "
                           "%d not started; run the same command again to resume",
                           tot->interrupted, tot->interrupted == 1 ? "" : "s", tot->not_started);
    return EIN_OK;
}

/* --- selection ------------------------------------------------------- */

int ein_runner_pending(const ein_cell_list *list, const ein_record_list *done, int *todo)
{
    ein_record_finder fin;          /* linear for a 100k-cell grid */
    ein_record_finder_init(&fin, done);
    int n = 0;
    for (int i = 0; i < list->n; i++) {
        const ein_record *r = ein_record_finder_get(&fin, list->cells[i].id);
        if (r && (strcmp(r->status, "ok") == 0 || strcmp(r->status, "diverged") == 0))
            continue;
        todo[n++] = i;
    }
    ein_record_finder_free(&fin);
    return n;
}

/* Does binding text `text` equal the filter value `want`? */
static bool value_matches(const ein_binding *b, const char *want)
{
    char *end;
    double x = strtod(want, &end);
    if (b->is_number && end != want && *end == '\0')
        return x == b->number;
    const char *t = b->text;
    size_t n = strlen(t);
    if (n >= 2 && t[0] == '"' && t[n - 1] == '"' && strcmp(want, t) != 0)
        return strlen(want) == n - 2 && strncmp(t + 1, want, n - 2) == 0;
    return strcmp(t, want) == 0;
}

int ein_cell_matches(const ein_cell *cell, const char *where, ein_err *err)
{
    if (!where || !*where)
        return 1;
    char buf[1024];
    if (strlen(where) >= sizeof buf)
        return ein_err_set(err, EIN_ERR_USAGE, "--where: filter too long"), -1;
    /* Split into terms; for each distinct name, some term must match. */
    char *names[64], *vals[64];
    int n = 0;
    snprintf(buf, sizeof buf, "%s", where);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ')
            tok++;
        char *eq = strchr(tok, '=');
        if (!eq || eq == tok || n == 64) {
            ein_err_set(err, EIN_ERR_USAGE, "--where: expected name=value, got '%s'", tok);
            return -1;
        }
        *eq = '\0';
        char *v = eq + 1, *e = eq - 1;
        while (e > tok && *e == ' ')
            *e-- = '\0';
        while (*v == ' ')
            v++;
        names[n] = tok;
        vals[n++] = v;
    }
    if (n == 0) {
        ein_err_set(err, EIN_ERR_USAGE, "--where: empty filter");
        return -1;
    }
    for (int i = 0; i < n; i++) {
        bool seen_before = false;
        for (int k = 0; k < i; k++)
            seen_before = seen_before || strcmp(names[k], names[i]) == 0;
        if (seen_before)
            continue;
        const ein_binding *b = ein_cell_binding(cell, names[i]);
        bool any = false;
        for (int k = i; k < n && b && !any; k++)
            if (strcmp(names[k], names[i]) == 0)
                any = value_matches(b, vals[k]);
        if (!any)
            return 0;
    }
    return 1;
}
