/* slurm.c — the selection as a Slurm job array (slurm.h).
 *
 * Why the tasks get --shard K/N of the whole selection and not a list of
 * pending cells: the partition is then a pure function of the command line,
 * the same at every submission, so a resubmission's task K works on exactly
 * the cells the first submission's task K had (and finds the finished ones
 * recorded); claims keep two tasks that overlap in time from duplicating. */
#include "ein/slurm.h"

#include "ein/blas.h"
#include "ein/runner.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ein/cost.h"
#include "ein/results.h"
#include "ein/shard.h"

/* --- options ------------------------------------------------------------- */

static int count_value(const char *opt, const char *v, int *out, ein_err *err)
{
    char *end;
    errno = 0;
    long n = v ? strtol(v, &end, 10) : 0;
    if (!v || errno || end == v || *end || n < 1 || n > 100000)
        return ein_err_set(err, EIN_ERR_USAGE, "%s needs a count >= 1, got '%s'", opt, v ? v : ""), -1;
    *out = (int)n;
    return 0;
}

int ein_slurm_parse_arg(ein_slurm_options *o, int argc, char **argv, int i, ein_err *err)
{
    static const char *const names[] = { "--partition", "--time", "--mem", "--account",
                                         "--cpus-per-task", "--cells-per-task", "--array",
                                         "--sbatch-arg" };
    const char *s = argv[i];
    if (strcmp(s, "--slurm") == 0) {
        o->enabled = true;
        return 1;
    }
    int k = -1;
    size_t len = 0;
    for (int j = 0; j < (int)(sizeof names / sizeof names[0]) && k < 0; j++) {
        len = strlen(names[j]);
        if (strncmp(s, names[j], len) == 0 && (s[len] == '\0' || s[len] == '='))
            k = j;
    }
    if (k < 0)
        return 0;
    const char *v = s[len] == '=' ? s + len + 1 : i + 1 < argc ? argv[i + 1] : NULL;
    int used = s[len] == '=' ? 1 : 2;
    if (!v || !*v || strchr(v, '\n'))
        return ein_err_set(err, EIN_ERR_USAGE, "%s needs a value", names[k]), -1;
    switch (k) {
    case 0: o->partition = v; break;
    case 1: o->time = v; break;
    case 2: o->mem = v; break;
    case 3: o->account = v; break;
    case 4: if (count_value(names[k], v, &o->cpus_per_task, err) != 0) return -1; break;
    case 5: if (count_value(names[k], v, &o->cells_per_task, err) != 0) return -1; break;
    case 6: if (count_value(names[k], v[0] == '%' ? v + 1 : v, &o->throttle, err) != 0) return -1; break;
    default:
        if (o->n_extra == EIN_SLURM_MAX_EXTRA)
            return ein_err_set(err, EIN_ERR_USAGE, "at most %d --sbatch-arg", EIN_SLURM_MAX_EXTRA), -1;
        o->extra[o->n_extra++] = v;
    }
    if (!o->first_given)
        o->first_given = names[k];
    return used;
}

/* --- the script ------------------------------------------------------------ */

/* 'text' for sh, with ' as '\'' */
static void sh_quote(FILE *f, const char *s)
{
    fputc('\'', f);
    for (; *s; s++) {
        if (*s == '\'')
            fputs("'\\''", f);
        else
            fputc(*s, f);
    }
    fputc('\'', f);
}

static void absolute(const char *path, char *out, size_t cap)
{
    char cwd[PATH_MAX];
    if (path[0] == '/' || !getcwd(cwd, sizeof cwd))
        snprintf(out, cap, "%s", path);
    else
        snprintf(out, cap, "%s/%s", cwd, path);
}

/* Is argv[j] one of the options the tasks set themselves?  How many to skip. */
static int dropped(int argc, char **argv, int j)
{
    static const char *const flags[] = { "--dry-run", "--fresh", "--quiet", "-q", "--graph" };
    static const char *const valued[] = { "--jobs", "-j", "--results", "--shard" };
    for (size_t k = 0; k < sizeof flags / sizeof flags[0]; k++)
        if (strcmp(argv[j], flags[k]) == 0)
            return 1;
    for (size_t k = 0; k < sizeof valued / sizeof valued[0]; k++)
        if (strcmp(argv[j], valued[k]) == 0)
            return j + 1 < argc ? 2 : 1;
    ein_slurm_options scratch;
    memset(&scratch, 0, sizeof scratch);
    int n = ein_slurm_parse_arg(&scratch, argc, argv, j, NULL);
    return n > 0 ? n : 0;
}

/* "1-3,5,9-12" from sorted task numbers. */
static void array_spec(const int *task, int n, FILE *f)
{
    for (int i = 0; i < n;) {
        int j = i;
        while (j + 1 < n && task[j + 1] == task[j] + 1)
            j++;
        fprintf(f, "%s%d", i ? "," : "", task[i]);
        if (j > i)
            fprintf(f, "-%d", task[j]);
        i = j + 1;
    }
}

/* Slurm's [D-]HH:MM:SS, rounded up to a minute. */
static void slurm_time(double seconds, char *buf, size_t cap)
{
    long m = (long)ceil(seconds / 60);
    long d = m / 1440, h = m % 1440 / 60;
    m %= 60;
    if (d > 0)
        snprintf(buf, cap, "%ld-%02ld:%02ld:00", d, h, m);
    else
        snprintf(buf, cap, "%02ld:%02ld:00", h, m);
}

typedef struct plan {
    int n_tasks, cells_per_task, cpus;
    int n_pending;
    int *task;                       /* tasks with a pending cell, ascending */
    int n_submit;
} plan;

static ein_code make_plan(const ein_slurm_options *o, const ein_slurm_request *req, plan *p,
                          ein_err *err)
{
    const ein_cell_list *sel = req->selection;
    memset(p, 0, sizeof *p);
    p->cpus = o->cpus_per_task > 0 ? o->cpus_per_task : 1;
    int cpt = o->cells_per_task > 0 ? o->cells_per_task : p->cpus;
    if ((sel->n + cpt - 1) / cpt > EIN_SLURM_MAX_TASKS)
        cpt = (sel->n + EIN_SLURM_MAX_TASKS - 1) / EIN_SLURM_MAX_TASKS;
    p->cells_per_task = cpt;
    p->n_tasks = (sel->n + cpt - 1) / cpt;
    p->task = calloc((size_t)(p->n_tasks > 0 ? p->n_tasks : 1), sizeof *p->task);
    bool *pending = calloc((size_t)(p->n_tasks + 1), sizeof *pending);
    if (!p->task || !pending) {
        free(p->task);
        free(pending);
        return ein_err_set(err, EIN_ERR_NOMEM, "out of memory");
    }
    ein_record_list done;
    ein_code c = ein_results_read(req->results_dir, &done, err);
    if (c != EIN_OK) {
        free(p->task);
        free(pending);
        return c;
    }
    /* the runner's rule for what is left to run, so resubmitting resumes */
    int *todo = malloc((size_t)(sel->n > 0 ? sel->n : 1) * sizeof *todo);
    if (!todo) {
        ein_record_list_free(&done);
        free(p->task);
        free(pending);
        return ein_err_set(err, EIN_ERR_NOMEM, "out of memory");
    }
    p->n_pending = ein_runner_pending(sel, &done, todo);
    for (int k = 0; k < p->n_pending; k++)
        pending[ein_shard_of(todo[k], p->n_tasks)] = true;
    free(todo);
    ein_record_list_free(&done);
    for (int t = 1; t <= p->n_tasks; t++)
        if (pending[t])
            p->task[p->n_submit++] = t;
    free(pending);
    return EIN_OK;
}

static char *script_text(const ein_slurm_options *o, const ein_slurm_request *req, const plan *p,
                         const char *dir_abs, const ein_cost *cost, const char *estimate, size_t *len)
{
    char *text = NULL, exe[PATH_MAX] = "einrun", file[PATH_MAX + 8], cwd[PATH_MAX] = ".";
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0)
        exe[n] = '\0';
    absolute(req->file, file, sizeof file);
    if (!getcwd(cwd, sizeof cwd))
        snprintf(cwd, sizeof cwd, ".");
    FILE *f = open_memstream(&text, len);
    if (!f)
        return NULL;
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    char stamp[32];
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
    fprintf(f, "#!/bin/sh\n"
               "# Generated by einrun --slurm at %s: experiment %s, %d cells in %d array tasks\n"
               "# of at most %d cell%s (task K runs shard K/%d).  %d cells still to run, in %d tasks.\n"
               "# Submit the same einrun command again to resume: finished cells are skipped.\n",
            stamp, req->selection->experiment, req->selection->n, p->n_tasks, p->cells_per_task,
            p->cells_per_task == 1 ? "" : "s", p->n_tasks, p->n_pending, p->n_submit);
    for (const char *e = estimate; e && *e;) {   /* the estimate, as comments */
        size_t k = strcspn(e, "\n");
        fprintf(f, "# %.*s\n", (int)k, e);
        e += k + (e[k] == '\n');
    }
    fprintf(f, "#SBATCH --job-name=ein-%s\n#SBATCH --array=", req->selection->experiment);
    array_spec(p->task, p->n_submit, f);
    if (o->throttle > 0)
        fprintf(f, "%%%d", o->throttle);
    fprintf(f, "\n#SBATCH --ntasks=1\n#SBATCH --cpus-per-task=%d\n", p->cpus);
    char tbuf[32];
    if (o->time) {
        fprintf(f, "#SBATCH --time=%s\n", o->time);
    } else if (cost->max_cell_seconds > 0) {
        /* waves of cells one task runs, 1.5 times the estimate plus 5 minutes */
        int waves = (p->cells_per_task + p->cpus - 1) / p->cpus;
        slurm_time(waves * cost->max_cell_seconds * 1.5 + 300, tbuf, sizeof tbuf);
        fprintf(f, "#SBATCH --time=%s\n", tbuf);
    }
    if (o->mem)
        fprintf(f, "#SBATCH --mem=%s\n", o->mem);
    if (o->partition)
        fprintf(f, "#SBATCH --partition=%s\n", o->partition);
    if (o->account)
        fprintf(f, "#SBATCH --account=%s\n", o->account);
    fprintf(f, "#SBATCH --output=%s/slurm/%%A_%%a.out\n", dir_abs);
    for (int i = 0; i < o->n_extra; i++)
        fprintf(f, "#SBATCH %s\n", o->extra[i]);
    fputs("\nset -u\ncd ", f);
    sh_quote(f, cwd);
    fputs(" || exit 1\n"
          "# one OpenBLAS thread per worker (a cell's numbers then do not depend on --jobs)\n"
          "export OPENBLAS_NUM_THREADS=\"${OPENBLAS_NUM_THREADS:-1}\"\n"
          "exec ", f);
    sh_quote(f, exe);
    for (int j = 1; j < req->argc;) {
        int skip = dropped(req->argc, req->argv, j);
        if (skip > 0) {
            j += skip;
            continue;
        }
        fputc(' ', f);
        sh_quote(f, req->argv[j] == req->file ? file : req->argv[j]);
        j++;
    }
    fputs(" \\\n    --results ", f);
    sh_quote(f, dir_abs);
    fprintf(f, " --shard \"$SLURM_ARRAY_TASK_ID/%d\" --jobs \"${SLURM_CPUS_PER_TASK:-1}\" --quiet\n",
            p->n_tasks);
    fclose(f);
    return text;
}

/* sbatch --parsable SCRIPT: the job id into `id`. */
static ein_code run_sbatch(const char *script, char *id, size_t cap, ein_err *err)
{
    int fd[2];
    if (pipe(fd) != 0)
        return ein_err_set(err, EIN_ERR_IO, "cannot create a pipe: %s", strerror(errno));
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(fd[0]);
        close(fd[1]);
        return ein_err_set(err, EIN_ERR_IO, "cannot start sbatch: %s", strerror(errno));
    }
    if (pid == 0) {
        dup2(fd[1], 1);
        close(fd[0]);
        close(fd[1]);
        ein_blas_forget_chosen_kernels();   /* the array tasks choose on their own nodes */
        execlp("sbatch", "sbatch", "--parsable", script, (char *)NULL);
        _exit(127);
    }
    close(fd[1]);
    size_t got = 0;
    ssize_t n;
    while (got + 1 < cap && (n = read(fd[0], id + got, cap - 1 - got)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            break;
        got += (size_t)n;
    }
    id[got] = '\0';
    id[strcspn(id, ";\n")] = '\0';   /* "123" or "123;cluster" */
    close(fd[0]);
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (WIFEXITED(st) && WEXITSTATUS(st) == 127)
        return ein_err_set(err, EIN_ERR_IO, "sbatch not found (is Slurm installed here?); the script is %s",
                           script);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || !id[0])
        return ein_err_set(err, EIN_ERR_IO, "sbatch %s failed (exit status %d)", script,
                           WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
    return EIN_OK;
}

ein_code ein_slurm_submit(const ein_slurm_options *o, const ein_slurm_request *req, FILE *out,
                          FILE *log, ein_err *err)
{
    char dir[PATH_MAX + 8];
    absolute(req->results_dir, dir, sizeof dir);
    plan p;
    ein_code c = make_plan(o, req, &p, err);
    if (c != EIN_OK)
        return c;
    if (p.n_submit == 0) {
        fprintf(log, "einrun: %s: all %d selected cells are finished; nothing to submit\n",
                req->results_dir, req->selection->n);
        free(p.task);
        return EIN_OK;
    }
    /* The estimate of what is still to run (this machine's rate, or the
     * folder's finished cells'). */
    char *est = NULL;
    size_t est_len = 0, len = 0;
    ein_cost cost;
    FILE *mem = open_memstream(&est, &est_len);
    c = mem ? ein_cost_report(req->selection, req->results_dir, mem, &cost, err) : EIN_ERR_NOMEM;
    if (mem)
        fclose(mem);
    char *text = c == EIN_OK ? script_text(o, req, &p, dir, &cost, est, &len) : NULL;
    if (!req->dry_run && est)
        fputs(est, log);
    free(est);
    if (!text) {
        free(p.task);
        return c != EIN_OK ? c : ein_err_set(err, EIN_ERR_NOMEM, "out of memory");
    }
    if (req->dry_run) {
        fwrite(text, 1, len, out);
        fprintf(log, "einrun: --dry-run: not submitted (%d of %d array tasks, %d cells to run)\n",
                p.n_submit, p.n_tasks, p.n_pending);
        free(text);
        free(p.task);
        return EIN_OK;
    }
    /* The folder, its source and selection.tsv first: `einrun status` works
     * from the moment the job is queued. */
    char path[PATH_MAX + 64], id[64];
    ein_results *store = ein_results_open(req->results_dir, false, NULL, err);
    c = store ? ein_results_store_source(store, req->file, err) : (err ? err->code : EIN_ERR_IO);
    ein_results_close(store);
    if (c == EIN_OK)
        c = ein_manifest_write(req->results_dir, req->selection, p.n_tasks, err);
    snprintf(path, sizeof path, "%s/slurm", req->results_dir);
    if (c == EIN_OK && mkdir(path, 0777) != 0 && errno != EEXIST)
        c = ein_err_set(err, EIN_ERR_IO, "%s: cannot create folder: %s", path, strerror(errno));
    snprintf(path, sizeof path, "%s/slurm.sh", req->results_dir);
    if (c == EIN_OK)
        c = ein_write_file_atomic(path, text, len, err);
    if (c == EIN_OK)
        chmod(path, 0755);
    free(text);
    if (c == EIN_OK)
        c = run_sbatch(path, id, sizeof id, err);
    if (c == EIN_OK) {
        char at_once[48] = "";
        if (o->throttle > 0)
            snprintf(at_once, sizeof at_once, ", at most %d at once", o->throttle);
        fprintf(log, "einrun: submitted job %s: %d array task%s (%d cell%s to run, %d a task%s)\n", id,
                p.n_submit, p.n_submit == 1 ? "" : "s", p.n_pending, p.n_pending == 1 ? "" : "s",
                p.cells_per_task, at_once);
        fprintf(log, "einrun: script %s, logs %s/slurm/%s_*.out\n", path, req->results_dir, id);
        fprintf(log, "einrun: follow it with: einrun status %s --watch\n", req->results_dir);
        fprintf(out, "%s\n", id);
    }
    free(p.task);
    return c;
}
