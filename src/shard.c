/* shard.c — run tags, K/N partitions, the merged view, selection.tsv (shard.h).
 *
 * Why a merged view at all: ein reads the shards itself (results.h), but a
 * user's pandas or R script reads one cells.jsonl and one epochs.jsonl.  The
 * merged file includes its own previous lines, so rewriting it never loses a
 * record of an old single-writer folder, and two writers rewriting it at once
 * each write a complete union (their temporary files are their own). */
#include "ein/shard.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ein/claim.h"
#include "ein/hash.h"
#include "ein/progress.h"
#include "ein/results.h"

void ein_run_tag(char out[48])
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    char stamp[24], host[64];
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    ein_host_name(host, 20);
    snprintf(out, 48, "%.16s-%.19s-%d", stamp, host, (int)getpid());
}

int ein_shard_of(int position, int n_shards)
{
    return n_shards > 1 ? position % n_shards + 1 : 1;
}

ein_code ein_shard_parse(const char *s, int *k, int *n, ein_err *err)
{
    char *end;
    errno = 0;
    long kk = strtol(s, &end, 10);
    if (end != s && *end == '/') {
        const char *ns = end + 1;
        long nn = strtol(ns, &end, 10);
        if (!errno && end != ns && *end == '\0' && nn >= 1 && nn <= 1000000 && kk >= 1 && kk <= nn) {
            *k = (int)kk;
            *n = (int)nn;
            return EIN_OK;
        }
    }
    return ein_err_set(err, EIN_ERR_USAGE, "--shard needs K/N with 1 <= K <= N, got '%s'", s);
}

ein_code ein_shard_view(const ein_cell_list *selection, int k, int n, ein_cell_list *part,
                        ein_err *err)
{
    *part = *selection;
    part->n = 0;
    part->cells = malloc((size_t)(selection->n > 0 ? selection->n : 1) * sizeof *part->cells);
    if (!part->cells)
        return ein_err_set(err, EIN_ERR_NOMEM, "out of memory");
    for (int i = 0; i < selection->n; i++)
        if (ein_shard_of(i, n) == k)
            part->cells[part->n++] = selection->cells[i];
    return EIN_OK;
}

/* --- the merged view ------------------------------------------------------ */

typedef struct keyset {
    char **slot;
    size_t cap, n;
} keyset;


/* Insert `key` (copied); 1 if new, 0 if present, -1 out of memory. */
static int keyset_add(keyset *ks, const char *key)
{
    if (2 * (ks->n + 1) > ks->cap) {
        size_t cap = ks->cap ? 2 * ks->cap : 1024;
        char **slot = calloc(cap, sizeof *slot);
        if (!slot)
            return -1;
        for (size_t i = 0; i < ks->cap; i++)
            if (ks->slot[i]) {
                size_t j = ein_hash_str(ks->slot[i]) & (cap - 1);
                while (slot[j])
                    j = (j + 1) & (cap - 1);
                slot[j] = ks->slot[i];
            }
        free(ks->slot);
        ks->slot = slot;
        ks->cap = cap;
    }
    size_t j = ein_hash_str(key) & (ks->cap - 1);
    for (; ks->slot[j]; j = (j + 1) & (ks->cap - 1))
        if (strcmp(ks->slot[j], key) == 0)
            return 0;
    if (!(ks->slot[j] = strdup(key)))
        return -1;
    ks->n++;
    return 1;
}

static void keyset_free(keyset *ks)
{
    for (size_t i = 0; i < ks->cap; i++)
        free(ks->slot[i]);
    free(ks->slot);
}

/* The text of `"name":"...` or `"name":123` (first occurrence) into out. */
static bool field_text(const char *line, const char *name, char *out, size_t cap)
{
    char pat[32];
    snprintf(pat, sizeof pat, "\"%s\":", name);
    const char *p = strstr(line, pat);
    if (!p)
        return false;
    p += strlen(pat);
    size_t n = 0;
    if (*p == '"') {
        p++;
        while (p[n] && p[n] != '"')
            n++;
    } else {
        while (p[n] && p[n] != ',' && p[n] != '}')
            n++;
    }
    if (n == 0 || n >= cap)
        return false;
    memcpy(out, p, n);
    out[n] = '\0';
    return true;
}

static ein_code merge_kind(const char *dir, const char *kind, ein_err *err)
{
    char **paths;
    int np;
    ein_code c = ein_results_files(dir, kind, &paths, &np, err);
    if (c != EIN_OK)
        return c;
    bool any_shard = false;
    for (int i = 0; i < np; i++)
        any_shard = any_shard || strstr(paths[i], "/shards/") != NULL;
    if (!any_shard) {
        ein_results_files_free(paths, np);
        return EIN_OK;
    }
    bool epochs = strcmp(kind, "epochs") == 0;
    keyset ks = {0};
    char *text = NULL, *line = NULL;
    size_t len = 0, cap = 0;
    FILE *mem = open_memstream(&text, &len);
    if (!mem)
        c = ein_err_set(err, EIN_ERR_NOMEM, "out of memory");
    for (int i = 0; c == EIN_OK && i < np; i++) {
        FILE *f = fopen(paths[i], "rb");
        if (!f) {
            if (errno != ENOENT)
                c = ein_err_set(err, EIN_ERR_IO, "%s: cannot read: %s", paths[i], strerror(errno));
            continue;
        }
        ssize_t n;
        while (c == EIN_OK && (n = getline(&line, &cap, f)) > 0) {
            char id[64], run[64], ep[32] = "", key[200];
            if (line[n - 1] != '\n' || !field_text(line, "id", id, sizeof id) ||
                !field_text(line, "run", run, sizeof run) ||
                (epochs && !field_text(line, "epoch", ep, sizeof ep)))
                continue;       /* torn or foreign */
            snprintf(key, sizeof key, "%s %s %s", id, run, ep);
            int added = keyset_add(&ks, key);
            if (added < 0)
                c = ein_err_set(err, EIN_ERR_NOMEM, "out of memory");
            else if (added)
                fwrite(line, 1, (size_t)n, mem);
        }
        if (ferror(f) && c == EIN_OK)
            c = ein_err_set(err, EIN_ERR_IO, "%s: read failed", paths[i]);
        fclose(f);
    }
    if (mem)
        fclose(mem);
    if (c == EIN_OK) {
        char path[EIN_PATH_MAX + 32];
        snprintf(path, sizeof path, "%s/%s.jsonl", dir, kind);
        c = ein_write_file_atomic(path, text ? text : "", len, err);
    }
    free(line);
    free(text);
    keyset_free(&ks);
    ein_results_files_free(paths, np);
    return c;
}

ein_code ein_results_write_merged(const char *dir, ein_err *err)
{
    ein_code c = merge_kind(dir, "cells", err);
    return c == EIN_OK ? merge_kind(dir, "epochs", err) : c;
}

/* --- selection.tsv ---------------------------------------------------------- */

ein_code ein_manifest_write(const char *dir, const ein_cell_list *view, int n_shards, ein_err *err)
{
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    if (!mem)
        return ein_err_set(err, EIN_ERR_NOMEM, "out of memory");
    fprintf(mem, "# einrun selection: %d cells, %d shards, experiment %s\n", view->n, n_shards,
            view->experiment);
    fputs("id\tshard\tepochs\tcell\n", mem);
    for (int i = 0; i < view->n; i++) {
        char label[200];
        ein_cell_short(&view->cells[i], label, sizeof label);
        for (char *p = label; *p; p++)
            if (*p == '\t' || *p == '\n')
                *p = ' ';
        ein_cell_config cfg;
        fprintf(mem, "%s\t%d\t%d\t%s\n", view->cells[i].id, ein_shard_of(i, n_shards),
                ein_cell_config_of(&view->cells[i], &cfg)->train.epochs, label);
    }
    fclose(mem);
    char path[EIN_PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/selection.tsv", dir);
    ein_code c = ein_write_file_atomic(path, text, len, err);
    free(text);
    return c;
}

ein_code ein_manifest_read(const char *dir, ein_manifest *out, ein_err *err)
{
    memset(out, 0, sizeof *out);
    out->n_shards = 1;
    char path[EIN_PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/selection.tsv", dir);
    FILE *f = fopen(path, "rb");
    if (!f)
        return errno == ENOENT ? EIN_OK
                               : ein_err_set(err, EIN_ERR_IO, "%s: cannot read: %s", path,
                                             strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    int vcap = 0;
    ein_code c = EIN_OK;
    while (c == EIN_OK && getline(&line, &cap, f) > 0) {
        line[strcspn(line, "\n")] = '\0';
        int cells, shards;
        if (sscanf(line, "# einrun selection: %d cells, %d shards", &cells, &shards) == 2) {
            out->n_shards = shards > 0 ? shards : 1;
            continue;
        }
        ein_manifest_cell sc;
        memset(&sc, 0, sizeof sc);
        char *tab1 = strchr(line, '\t');
        if (!tab1 || tab1 - line != EIN_ID_LEN)
            continue;             /* the header, or a foreign line */
        memcpy(sc.id, line, EIN_ID_LEN);
        char *rest;
        sc.shard = (int)strtol(tab1 + 1, &rest, 10);
        if (*rest != '\t')
            continue;
        sc.epochs = (int)strtol(rest + 1, &rest, 10);
        if (*rest == '\t')
            snprintf(sc.label, sizeof sc.label, "%s", rest + 1);
        if (out->n == vcap) {
            vcap = vcap ? 2 * vcap : 64;
            ein_manifest_cell *grown = realloc(out->cell, (size_t)vcap * sizeof *grown);
            if (!grown) {
                c = ein_err_set(err, EIN_ERR_NOMEM, "out of memory");
                break;
            }
            out->cell = grown;
        }
        out->cell[out->n++] = sc;
    }
    free(line);
    fclose(f);
    if (c != EIN_OK)
        ein_manifest_free(out);
    return c;
}

void ein_manifest_free(ein_manifest *s)
{
    free(s->cell);
    memset(s, 0, sizeof *s);
}
