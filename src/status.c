/* status.c — `einrun status` (status.h).
 *
 * Why read the epochs of running cells from the shards and not from the
 * claims: a claim is written once and only touched afterwards (a rename per
 * epoch would race with a takeover); the epoch lines are already on disk. */
#include "ein/status.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ein/cli.h"
#include "ein/runner.h"

#include "ein/claim.h"
#include "ein/results.h"
#include "ein/shard.h"

typedef enum cell_state { ST_NOT_STARTED = 0, ST_DONE, ST_RUNNING, ST_STALE, ST_FAILED, ST_INTERRUPTED } cell_state;

typedef struct row {
    const ein_manifest_cell *cell;
    const ein_record *rec;
    const ein_claim_info *claim;
    cell_state state;
    int epoch;                       /* last epoch recorded by the claim's run */
} row;

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* "8s", "5m12s", "2h03m", "3d04h" */
static const char *age(double s, char *buf, size_t cap)
{
    if (!isfinite(s) || s < 0)
        s = 0;
    if (s > 1e8)
        s = 1e8;                     /* three years: a clock gone wrong, not a run */
    int t = (int)(s + 0.5);
    if (t < 60)
        snprintf(buf, cap, "%ds", t);
    else if (t < 3600)
        snprintf(buf, cap, "%dm%02ds", t / 60, t % 60);
    else if (t < 86400)
        snprintf(buf, cap, "%dh%02dm", t / 3600, t % 3600 / 60);
    else
        snprintf(buf, cap, "%dd%02dh", t / 86400, t % 86400 / 3600);
    return buf;
}

/* The text after `"key":` up to the next , or } (quotes dropped). */
static bool field(const char *line, const char *key, char *out, size_t cap)
{
    const char *p = strstr(line, key);
    if (!p)
        return false;
    p += strlen(key);
    if (*p == '"')
        p++;
    size_t n = strcspn(p, "\",}");
    if (n == 0 || n >= cap)
        return false;
    memcpy(out, p, n);
    out[n] = '\0';
    return true;
}

/* The last epoch each running row's run recorded. */
static void running_epochs(const char *dir, row *rows, int n)
{
    char **paths;
    int np;
    if (ein_results_files(dir, "epochs", &paths, &np, NULL) != EIN_OK)
        return;
    char *line = NULL;
    size_t cap = 0;
    for (int f = 0; f < np; f++) {
        FILE *in = fopen(paths[f], "rb");
        if (!in)
            continue;
        while (getline(&line, &cap, in) > 0) {
            char id[32], run[64], ep[16];
            if (!field(line, "\"id\":", id, sizeof id) || !field(line, "\"run\":", run, sizeof run) ||
                !field(line, "\"epoch\":", ep, sizeof ep))
                continue;
            for (int i = 0; i < n; i++)
                if ((rows[i].state == ST_RUNNING || rows[i].state == ST_STALE) &&
                    strcmp(rows[i].cell->id, id) == 0 && strcmp(rows[i].claim->run, run) == 0 &&
                    atoi(ep) > rows[i].epoch)
                    rows[i].epoch = atoi(ep);
        }
        fclose(in);
    }
    free(line);
    ein_results_files_free(paths, np);
}

static const ein_claim_info *find_claim(const ein_claim_info *c, int n, const char *id)
{
    for (int i = 0; i < n; i++)
        if (strcmp(c[i].id, id) == 0)
            return &c[i];
    return NULL;
}

static void classify(row *r)
{
    const ein_record *rec = r->rec;
    bool result = rec && (strcmp(rec->status, "ok") == 0 || strcmp(rec->status, "diverged") == 0);
    if (result)
        r->state = ST_DONE;
    else if (r->claim && !r->claim->done)
        r->state = r->claim->stale ? ST_STALE : ST_RUNNING;
    else if (rec && strcmp(rec->status, "failed") == 0)
        r->state = ST_FAILED;
    else if (rec)
        r->state = ST_INTERRUPTED;
    else
        r->state = ST_NOT_STARTED;
}

static void count(ein_status_counts *c, const row *r)
{
    switch (r->state) {
    case ST_DONE:
        if (strcmp(r->rec->status, "ok") == 0)
            c->ok++;
        else
            c->diverged++;
        break;
    case ST_RUNNING: c->running++; break;
    case ST_STALE: c->stale++; break;
    case ST_FAILED: c->failed++; break;
    case ST_INTERRUPTED: c->interrupted++; break;
    case ST_NOT_STARTED: c->not_started++; break;
    }
}

static void print_shards(FILE *out, const row *rows, int n, int n_shards)
{
    ein_status_counts *per = calloc((size_t)n_shards + 1, sizeof *per);
    if (!per)
        return;
    for (int i = 0; i < n; i++) {
        int s = rows[i].cell->shard >= 1 && rows[i].cell->shard <= n_shards ? rows[i].cell->shard : 0;
        per[s].cells++;
        count(&per[s], &rows[i]);
    }
    int finished = 0, shown = 0;
    for (int s = 1; s <= n_shards; s++)
        finished += per[s].ok + per[s].diverged == per[s].cells;
    fprintf(out, "shards: %d of %d finished\n", finished, n_shards);
    fputs("shard   cells  done  running  failed  interrupted  not started\n", out);
    for (int s = 1; s <= n_shards && shown < 40; s++) {
        const ein_status_counts *c = &per[s];
        if (c->ok + c->diverged == c->cells && n_shards > 8)
            continue;                /* many shards: only the unfinished ones */
        fprintf(out, "%5d  %6d  %4d  %7d  %6d  %11d  %11d\n", s, c->cells, c->ok + c->diverged,
                c->running + c->stale, c->failed, c->interrupted, c->not_started);
        shown++;
    }
    if (shown == 40)
        fputs("  ... (more unfinished shards)\n", out);
    free(per);
}

/* What `einrun status` reads of a folder: its manifest, records and claims,
 * and one row per cell joining them. */
typedef struct folder_status {
    ein_manifest man;
    ein_record_list recs;
    ein_claim_info *claims;
    int n_claims;
    ein_manifest_cell *synth;    /* the rows' cells when there is no selection.tsv */
    row *rows;
    int n;
    bool from_records;
    ein_status_counts tot;
} folder_status;

static void folder_status_free(folder_status *st)
{
    free(st->rows);
    free(st->synth);
    ein_manifest_free(&st->man);
    ein_record_list_free(&st->recs);
    free(st->claims);
}

/* One row per cell, classified and counted.  Without selection.tsv (an older
 * folder) the rows are the records. */
static ein_code join_rows(folder_status *st, ein_err *err)
{
    st->from_records = st->man.n == 0;
    int n = st->n = st->from_records ? st->recs.n : st->man.n;
    st->synth = st->from_records ? calloc((size_t)(n > 0 ? n : 1), sizeof *st->synth) : NULL;
    st->rows = calloc((size_t)(n > 0 ? n : 1), sizeof *st->rows);
    if (!st->rows || (st->from_records && !st->synth))
        return ein_err_set(err, EIN_ERR_NOMEM, "out of memory");
    ein_record_finder fin;
    ein_record_finder_init(&fin, &st->recs);
    for (int i = 0; i < n; i++) {
        row *r = &st->rows[i];
        if (st->from_records) {
            snprintf(st->synth[i].id, sizeof st->synth[i].id, "%s", st->recs.rec[i].id);
            st->synth[i].shard = 1;
            st->synth[i].epochs = st->recs.rec[i].epochs;
        }
        r->cell = st->from_records ? &st->synth[i] : &st->man.cell[i];
        r->rec = ein_record_finder_get(&fin, r->cell->id);
        r->claim = find_claim(st->claims, st->n_claims, r->cell->id);
        classify(r);
        count(&st->tot, r);
    }
    ein_record_finder_free(&fin);
    st->tot.cells = n;
    st->tot.shards = st->from_records ? 1 : st->man.n_shards;
    return EIN_OK;
}

static ein_code read_folder_status(const char *dir, folder_status *st, ein_err *err)
{
    memset(st, 0, sizeof *st);
    ein_code c = ein_manifest_read(dir, &st->man, err);
    if (c != EIN_OK)
        return c;
    if ((c = ein_results_read(dir, &st->recs, err)) != EIN_OK ||
        (c = ein_claims_list(dir, &st->claims, &st->n_claims, err)) != EIN_OK) {
        ein_manifest_free(&st->man);
        ein_record_list_free(&st->recs);   /* a failed read leaves it empty */
        return c;
    }
    if (st->man.n == 0 && st->recs.n == 0 && st->n_claims == 0)
        c = ein_err_set(err, EIN_ERR_IO, "%s: no results here (no selection.tsv, records or claims)", dir);
    else
        c = join_rows(st, err);
    if (c != EIN_OK)
        folder_status_free(st);
    return c;
}

/* The running cells, then the stale claims; returns the running cell with
 * the smallest share of its epochs done (-1: none) and sets that share. */
static int print_claims(FILE *out, const row *rows, int n, double now, double *slow_frac)
{
    char a1[32], a2[32];
    int slowest = -1;
    *slow_frac = 2;
    for (int pass = 0; pass < 2; pass++) {
        bool header = false;
        for (int i = 0; i < n; i++) {
            const row *r = &rows[i];
            if (r->state != (pass == 0 ? ST_RUNNING : ST_STALE))
                continue;
            if (!header)
                fputs(pass == 0 ? "running:\n" : "claims whose owner is gone (the next writer takes them over):\n", out);
            header = true;
            fprintf(out, "  %s  %-28.28s  %s pid %ld  epoch %d/%d  claimed %s ago, heartbeat %s ago%s%s\n",
                    r->cell->id, r->cell->label, r->claim->host, r->claim->pid, r->epoch,
                    r->cell->epochs, age(now - r->claim->claimed, a1, sizeof a1),
                    age(now - r->claim->heartbeat, a2, sizeof a2), pass ? ": " : "",
                    pass ? r->claim->why : "");
            double frac = r->cell->epochs > 0 ? (double)r->epoch / r->cell->epochs : 0;
            if (pass == 0 && frac < *slow_frac) {
                *slow_frac = frac;
                slowest = i;
            }
        }
    }
    return slowest;
}

/* ETA: the cells still to run at the mean time of a finished cell (or of a
 * running one, projected from its epochs), spread over the writers running
 * now. */
static void print_eta(FILE *out, const row *rows, int n, const ein_status_counts *tot, int slowest,
                      double slow_frac, double now)
{
    char a1[32], a2[32];
    double sum = 0;
    int done = 0;
    for (int i = 0; i < n; i++)
        if (rows[i].state == ST_DONE && rows[i].rec->seconds > 0) {
            sum += rows[i].rec->seconds;
            done++;
        }
    double per_cell = done > 0 ? sum / done : NAN;
    if (!(per_cell > 0) && slowest >= 0 && rows[slowest].epoch > 0)
        per_cell = (now - rows[slowest].claim->claimed) / slow_frac;
    int left = tot->not_started + tot->failed + tot->interrupted + tot->stale;
    if (tot->running + left == 0) {
        fputs("all cells finished\n", out);
    } else if (per_cell > 0 && tot->running > 0) {
        double work = left * per_cell;
        for (int i = 0; i < n; i++)
            if (rows[i].state == ST_RUNNING)
                work += per_cell * (1 - (rows[i].cell->epochs > 0 ? (double)rows[i].epoch / rows[i].cell->epochs : 0));
        fprintf(out, "ETA: %s (%s a cell%s, %d running at once)\n", age(work / tot->running, a1, sizeof a1),
                age(per_cell, a2, sizeof a2), done > 0 ? " on average" : ", projected", tot->running);
    } else {
        fprintf(out, "ETA: unknown (%d cells left, none running: run or resubmit the command)\n", left);
    }
}

ein_code ein_status_print(const char *dir, FILE *out, ein_status_counts *counts, ein_err *err)
{
    folder_status st;
    ein_code c = read_folder_status(dir, &st, err);
    if (c != EIN_OK)
        return c;
    const ein_status_counts *tot = &st.tot;
    running_epochs(dir, st.rows, st.n);
    fprintf(out, "%s: %d cells%s%.0d%s: %d done (%d ok, %d diverged), %d running, %d failed, "
                 "%d interrupted, %d not started\n",
            dir, st.n, tot->shards > 1 ? " in " : "", tot->shards > 1 ? tot->shards : 0,
            tot->shards > 1 ? " shards" : "", tot->ok + tot->diverged, tot->ok, tot->diverged,
            tot->running + tot->stale, tot->failed, tot->interrupted, tot->not_started);
    if (st.from_records)
        fprintf(out, "(no selection.tsv: the cells with records only)\n");
    double now = wall_now(), slow_frac;
    int slowest = print_claims(out, st.rows, st.n, now, &slow_frac);
    if (tot->shards > 1)
        print_shards(out, st.rows, st.n, tot->shards);
    if (slowest >= 0) {
        char a1[32];
        fprintf(out, "slowest running: %s at epoch %d/%d after %s\n", st.rows[slowest].cell->id,
                st.rows[slowest].epoch, st.rows[slowest].cell->epochs,
                age(now - st.rows[slowest].claim->claimed, a1, sizeof a1));
    }
    print_eta(out, st.rows, st.n, tot, slowest, slow_frac, now);
    if (counts)
        *counts = *tot;
    folder_status_free(&st);
    return EIN_OK;
}

/* --- einrun status RESULTS_DIR [--watch [SECONDS]] --------------------------- */

static void status_usage(FILE *out)
{
    fputs("usage: einrun status RESULTS_DIR [--watch [SECONDS]]\n"
          "\n"
          "How far the writers of RESULTS_DIR are: cells done / running (host, pid, epoch, age of\n"
          "each claim) / failed / interrupted / not started, per shard, the slowest running cell\n"
          "and an ETA.  --watch redraws every SECONDS (default 5) until every cell is finished\n"
          "or Ctrl-C.\n", out);
}

int ein_cli_status(int argc, char **argv)
{
    const char *dir = NULL;
    double every = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            status_usage(stdout);
            return 0;
        } else if (strcmp(a, "--watch") == 0) {
            every = 5;
            char *end;
            if (i + 1 < argc && argv[i + 1][0] != '-' && (strtod(argv[i + 1], &end), *end == '\0')) {
                every = strtod(argv[++i], NULL);
                if (!(every >= 0.2 && every <= 86400)) {
                    fprintf(stderr, "einrun: --watch needs seconds between 0.2 and 86400, got '%s'\n", argv[i]);
                    return ein_exit_status(EIN_ERR_USAGE);
                }
            }
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "einrun: unknown option '%s' for status\n", a);
            status_usage(stderr);
            return ein_exit_status(EIN_ERR_USAGE);
        } else if (dir) {
            fputs("einrun: status takes one RESULTS_DIR\n", stderr);
            return ein_exit_status(EIN_ERR_USAGE);
        } else {
            dir = a;
        }
    }
    if (!dir) {
        status_usage(stderr);
        return ein_exit_status(EIN_ERR_USAGE);
    }
    bool tty = isatty(fileno(stdout));
    ein_runner_reset_signals();
    if (every > 0)
        ein_runner_install_signals();
    for (;;) {
        ein_err err = {0};
        ein_status_counts n;
        char *text = NULL;
        size_t len = 0;
        FILE *mem = open_memstream(&text, &len);
        ein_code c = mem ? ein_status_print(dir, mem, &n, &err) : EIN_ERR_NOMEM;
        if (mem)
            fclose(mem);
        if (c != EIN_OK) {
            free(text);
            fprintf(stderr, "einrun: %s\n", c == EIN_ERR_NOMEM && !err.msg[0] ? "out of memory" : err.msg);
            return ein_exit_status(c);
        }
        if (every > 0 && tty)
            fputs("\033[H\033[2J", stdout);   /* redraw in place */
        fwrite(text, 1, len, stdout);
        free(text);
        fflush(stdout);
        bool finished = n.running + n.stale + n.not_started + n.failed + n.interrupted == 0;
        if (every <= 0 || finished)
            return 0;
        for (double slept = 0; slept < every && !ein_runner_stop_requested(); slept += 0.1)
            usleep(100000);
        if (ein_runner_stop_requested())
            return 0;
        if (!tty)
            fputc('\n', stdout);
    }
}
