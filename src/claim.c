/* claim.c — claims on cells of a shared results folder (claim.h).
 *
 * Why O_EXCL and rename, not flock: both are atomic on NFS, flock across
 * nodes is not reliable.  Why the pid's start time and the boot id: a pid is
 * reused after its process dies and after a reboot, so "pid 1234 runs" alone
 * does not prove that the claim's owner runs. */
#include "ein/claim.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ein/config.h"

struct ein_claims {
    char dir[EIN_PATH_MAX];         /* RESULTS/claims */
    char run[48];
    char host[64], boot[40];
    long pid;
    unsigned long long pid_start;
    double beat_every, last_beat;
    int n, cap;
    char (*held)[EIN_ID_LEN + 1];
};

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

double ein_claim_timeout(void)
{
    const char *s = getenv("EIN_CLAIM_TIMEOUT");
    double t = s ? strtod(s, NULL) : 0;
    return t > 0 ? t : 300;
}

void ein_host_name(char *buf, size_t cap)
{
    char h[256] = "";
    if (gethostname(h, sizeof h - 1) != 0 || !h[0])
        snprintf(h, sizeof h, "localhost");
    size_t k = 0;
    for (const char *p = h; *p && *p != '.' && k + 1 < cap && k < 40; p++)
        buf[k++] = isalnum((unsigned char)*p) || *p == '-' || *p == '_' ? *p : '_';
    buf[k] = '\0';
}

static void read_boot_id(char *buf, size_t cap)
{
    buf[0] = '\0';
    FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");
    if (!f)
        return;
    if (fgets(buf, (int)cap, f))
        buf[strcspn(buf, "\n")] = '\0';
    fclose(f);
}

/* Field 22 of /proc/PID/stat (start time in clock ticks); 0 if the pid does not run. */
static unsigned long long pid_start_time(long pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');   /* the command name may hold spaces and parentheses */
    if (!p)
        return 0;
    p++;
    for (int field = 3; field < 22 && p; field++) {
        p = strchr(p + 1, ' ');
    }
    return p ? strtoull(p + 1, NULL, 10) : 0;
}

static void claim_path(const char *claims_dir, const char *id, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%s.claim", claims_dir, id);
}

/* Parse "key=value ..." claim text; false if it is not a claim. */
static bool parse_claim(const char *text, ein_claim_info *ci)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", text);
    bool any = false;
    for (char *save = NULL, *t = strtok_r(buf, " \n", &save); t; t = strtok_r(NULL, " \n", &save)) {
        if (strcmp(t, "done") == 0) {
            ci->done = any = true;
            continue;
        }
        char *eq = strchr(t, '=');
        if (!eq)
            continue;
        *eq++ = '\0';
        if (strcmp(t, "host") == 0) snprintf(ci->host, sizeof ci->host, "%s", eq), any = true;
        else if (strcmp(t, "pid") == 0) ci->pid = strtol(eq, NULL, 10);
        else if (strcmp(t, "pid_start") == 0) ci->pid_start = strtoull(eq, NULL, 10);
        else if (strcmp(t, "boot") == 0) snprintf(ci->boot, sizeof ci->boot, "%s", eq);
        else if (strcmp(t, "run") == 0) snprintf(ci->run, sizeof ci->run, "%s", eq);
        else if (strcmp(t, "claimed") == 0) ci->claimed = strtod(eq, NULL);
        else if (strcmp(t, "status") == 0) snprintf(ci->status, sizeof ci->status, "%s", eq);
    }
    return any && ci->host[0];
}

/* Judge whether the owner of a (not done) claim is gone. */
static void judge(ein_claim_info *ci, bool parsed, double age)
{
    double timeout = ein_claim_timeout();
    char host[64], boot[40];
    ein_host_name(host, sizeof host);
    read_boot_id(boot, sizeof boot);
    ci->stale = false;
    ci->why[0] = '\0';
    if (ci->done)
        return;
    if (!parsed) {   /* created but never written: its writer died at once, or is writing now */
        ci->stale = age > timeout;
        if (ci->stale)
            snprintf(ci->why, sizeof ci->why, "unreadable claim, untouched for %.0f s", age);
        return;
    }
    if (strcmp(ci->host, host) == 0) {
        if (ci->boot[0] && strcmp(ci->boot, "-") != 0 && boot[0] && strcmp(ci->boot, boot) != 0) {
            ci->stale = true;
            snprintf(ci->why, sizeof ci->why, "host %s rebooted since", host);
            return;
        }
        unsigned long long st = pid_start_time(ci->pid);
        if (st == 0) {
            ci->stale = true;
            snprintf(ci->why, sizeof ci->why, "pid %ld on %s is gone", ci->pid, host);
        } else if (ci->pid_start && st != ci->pid_start) {
            ci->stale = true;
            snprintf(ci->why, sizeof ci->why, "pid %ld on %s is another process now", ci->pid, host);
        }
        return;
    }
    if (age > timeout) {
        ci->stale = true;
        snprintf(ci->why, sizeof ci->why, "no heartbeat from %s for %.0f s (timeout %.0f s)",
                 ci->host, age, timeout);
    }
}

/* 1: read (info filled and judged), 0: no such file, -1: other error. */
static int read_claim_file(const char *path, const char *id, ein_claim_info *ci)
{
    memset(ci, 0, sizeof *ci);
    snprintf(ci->id, sizeof ci->id, "%s", id);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : -1;
    struct stat st;
    char text[1024];
    ssize_t n = fstat(fd, &st) == 0 ? read(fd, text, sizeof text - 1) : -1;
    close(fd);
    if (n < 0)
        return -1;
    text[n] = '\0';
    bool parsed = parse_claim(text, ci);
    ci->heartbeat = (double)st.st_mtim.tv_sec + 1e-9 * (double)st.st_mtim.tv_nsec;
    judge(ci, parsed, wall_now() - ci->heartbeat);
    return 1;
}

int ein_claim_read(const char *results_dir, const char *id, ein_claim_info *out)
{
    char path[EIN_PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/claims/%s.claim", results_dir, id);
    return read_claim_file(path, id, out) == 1;
}

ein_claims *ein_claims_open(const char *results_dir, const char *run, ein_err *err)
{
    ein_claims *c = calloc(1, sizeof *c);
    if (!c) {
        ein_err_set(err, EIN_ERR_NOMEM, "out of memory");
        return NULL;
    }
    snprintf(c->dir, sizeof c->dir, "%s/claims", results_dir);
    if (mkdir(c->dir, 0777) != 0 && errno != EEXIST) {
        ein_err_set(err, EIN_ERR_IO, "%s: cannot create folder: %s", c->dir, strerror(errno));
        free(c);
        return NULL;
    }
    snprintf(c->run, sizeof c->run, "%s", run);
    ein_host_name(c->host, sizeof c->host);
    read_boot_id(c->boot, sizeof c->boot);
    c->pid = (long)getpid();
    c->pid_start = pid_start_time(c->pid);
    c->beat_every = ein_claim_timeout() / 10;
    if (c->beat_every < 1)
        c->beat_every = 1;
    c->last_beat = wall_now();
    return c;
}

static void forget(ein_claims *c, const char *id)
{
    for (int i = 0; i < c->n; i++)
        if (strcmp(c->held[i], id) == 0) {
            memmove(c->held[i], c->held[c->n - 1], sizeof c->held[i]);
            c->n--;
            return;
        }
}

static bool mine(const ein_claims *c, const ein_claim_info *ci)
{
    return !ci->done && strcmp(ci->run, c->run) == 0 && ci->pid == c->pid &&
           strcmp(ci->host, c->host) == 0;
}

void ein_claims_close(ein_claims *c)
{
    if (!c)
        return;
    while (c->n > 0)
        ein_claim_release(c, c->held[c->n - 1]);
    free(c->held);
    free(c);
}

static int owner_line(const ein_claims *c, char *buf, size_t cap, const char *prefix)
{
    return snprintf(buf, cap, "%shost=%s pid=%ld pid_start=%llu boot=%s run=%s claimed=%.3f\n",
                    prefix, c->host, c->pid, c->pid_start, c->boot[0] ? c->boot : "-", c->run,
                    wall_now());
}

static ein_code create_claim(ein_claims *c, const char *path, const char *id, bool *created,
                             ein_err *err)
{
    *created = false;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0)
        return errno == EEXIST ? EIN_OK
                               : ein_err_set(err, EIN_ERR_IO, "%s: cannot create: %s", path,
                                             strerror(errno));
    char line[512];
    int n = owner_line(c, line, sizeof line, "");
    bool ok = write(fd, line, (size_t)n) == n && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    if (!ok) {
        unlink(path);
        return ein_err_set(err, EIN_ERR_IO, "%s: write failed: %s", path, strerror(errno));
    }
    if (c->n == c->cap) {
        int cap = c->cap ? 2 * c->cap : 16;
        void *grown = realloc(c->held, (size_t)cap * sizeof *c->held);
        if (!grown) {
            unlink(path);
            return ein_err_set(err, EIN_ERR_NOMEM, "out of memory");
        }
        c->held = grown;
        c->cap = cap;
    }
    snprintf(c->held[c->n++], EIN_ID_LEN + 1, "%s", id);
    *created = true;
    return EIN_OK;
}

ein_code ein_claim_take(ein_claims *c, const char *id, ein_claim_state *state,
                        ein_claim_info *holder, ein_err *err)
{
    char path[EIN_PATH_MAX + 64], aside[EIN_PATH_MAX + 128];
    claim_path(c->dir, id, path, sizeof path);
    ein_claim_info ci, scratch;
    if (!holder)
        holder = &scratch;
    memset(holder, 0, sizeof *holder);
    *state = EIN_CLAIM_BUSY;
    /* A few rounds: the claim may vanish or be taken over between our steps. */
    for (int round = 0; round < 4; round++) {
        bool created;
        ein_code rc = create_claim(c, path, id, &created, err);
        if (rc != EIN_OK)
            return rc;
        if (created) {
            *state = EIN_CLAIM_MINE;
            return EIN_OK;
        }
        int r = read_claim_file(path, id, &ci);
        if (r < 0)
            return ein_err_set(err, EIN_ERR_IO, "%s: cannot read: %s", path, strerror(errno));
        if (r == 0)
            continue;                  /* released meanwhile: try again */
        *holder = ci;
        if (ci.done) {
            *state = EIN_CLAIM_DONE;
            return EIN_OK;
        }
        if (!ci.stale) {
            *state = EIN_CLAIM_BUSY;
            return EIN_OK;
        }
        /* Stale: move it aside.  Only one taker wins the rename; if what we
         * moved is not the claim we judged (someone took over first and made
         * a fresh claim), put it back. */
        snprintf(aside, sizeof aside, "%s.stale.%s", path, c->run);
        if (rename(path, aside) != 0) {
            if (errno == ENOENT)
                continue;
            return ein_err_set(err, EIN_ERR_IO, "%s: cannot take over: %s", path, strerror(errno));
        }
        ein_claim_info moved;
        if (read_claim_file(aside, id, &moved) == 1 && strcmp(moved.run, ci.run) == 0 &&
            moved.pid == ci.pid && moved.claimed == ci.claimed) {
            unlink(aside);
            holder->stale = true;      /* the claim we replace (the caller may say so) */
            continue;
        }
        if (link(aside, path) != 0 && errno != EEXIST) { /* nothing better to do: it is gone */ }
        unlink(aside);
        *state = EIN_CLAIM_BUSY;
        return EIN_OK;
    }
    return EIN_OK;                     /* contended throughout: treat as busy, look again later */
}

ein_code ein_claim_done(ein_claims *c, const char *id, const char *status, ein_err *err)
{
    char path[EIN_PATH_MAX + 64], tmp[EIN_PATH_MAX + 128], line[600], prefix[64];
    claim_path(c->dir, id, path, sizeof path);
    snprintf(tmp, sizeof tmp, "%s.tmp.%s", path, c->run);
    snprintf(prefix, sizeof prefix, "done status=%s ", status);
    int n = owner_line(c, line, sizeof line, prefix);
    forget(c, id);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return ein_err_set(err, EIN_ERR_IO, "%s: cannot create: %s", tmp, strerror(errno));
    bool ok = write(fd, line, (size_t)n) == n && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return ein_err_set(err, EIN_ERR_IO, "%s: cannot mark done: %s", path, strerror(e));
    }
    return EIN_OK;
}

void ein_claim_release(ein_claims *c, const char *id)
{
    char path[EIN_PATH_MAX + 64];
    claim_path(c->dir, id, path, sizeof path);
    forget(c, id);
    ein_claim_info ci;
    /* Only our own claim: a writer that took it over (we looked stale) keeps its own. */
    if (read_claim_file(path, id, &ci) == 1 && mine(c, &ci))
        unlink(path);
}

void ein_claims_heartbeat(ein_claims *c)
{
    double now = wall_now();
    if (now - c->last_beat < c->beat_every)
        return;
    c->last_beat = now;
    char path[EIN_PATH_MAX + 64];
    for (int i = 0; i < c->n; i++) {
        claim_path(c->dir, c->held[i], path, sizeof path);
        utimensat(AT_FDCWD, path, NULL, 0);
    }
}

ein_code ein_claims_list(const char *results_dir, ein_claim_info **out, int *n, ein_err *err)
{
    *out = NULL;
    *n = 0;
    char dir[EIN_PATH_MAX + 16];
    snprintf(dir, sizeof dir, "%s/claims", results_dir);
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? EIN_OK
                               : ein_err_set(err, EIN_ERR_IO, "%s: cannot read: %s", dir,
                                             strerror(errno));
    int cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len != EIN_ID_LEN + 6 || strcmp(e->d_name + EIN_ID_LEN, ".claim") != 0)
            continue;
        char id[EIN_ID_LEN + 1], path[EIN_PATH_MAX + 64];
        snprintf(id, sizeof id, "%.*s", EIN_ID_LEN, e->d_name);
        snprintf(path, sizeof path, "%s/%.*s", dir, EIN_ID_LEN + 6, e->d_name);   /* the name is ID.claim */
        if (*n == cap) {
            cap = cap ? 2 * cap : 64;
            ein_claim_info *grown = realloc(*out, (size_t)cap * sizeof *grown);
            if (!grown) {
                closedir(d);
                free(*out);
                *out = NULL;
                *n = 0;
                return ein_err_set(err, EIN_ERR_NOMEM, "out of memory");
            }
            *out = grown;
        }
        if (read_claim_file(path, id, &(*out)[*n]) == 1)
            (*n)++;
    }
    closedir(d);
    return EIN_OK;
}
