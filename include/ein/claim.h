/* claim.h — claims: which writer runs which cell of a shared results folder.
 *
 * Before a writer (an einrun process) starts a cell it claims it by creating
 * RESULTS/claims/<id>.claim with O_CREAT|O_EXCL — atomic on a local file
 * system and on NFS (v3 and later), so no flock is needed across nodes.  The
 * file holds one line: the writer's host, pid, the pid's start time (so a
 * reused pid is not mistaken for the owner), the boot id, the run tag and the
 * time of the claim.  While the cell runs, the writer touches the file (its
 * mtime is the heartbeat).  When the cell ends the claim is either released
 * (failed, interrupted: the cell may run again) or turned into a "done"
 * marker (ok, diverged: no writer will start it again).
 *
 * A claim whose owner is gone is stale and is taken over: on the owner's own
 * host when its pid no longer runs (or is another process now, or the host
 * rebooted); on another host when its heartbeat is older than the claim
 * timeout (ein_claim_timeout()).  Taking over renames the stale file aside
 * (only one taker can win that rename) and creates a fresh claim.
 *
 * Records stay the truth (results.h): a "done" claim is written only after
 * the cell's record is on disk, and a claim only decides who runs what.
 *
 * Ownership: ein_claims_open returns an object freed by ein_claims_close
 * (which releases any claim still held); ein_claims_list fills an array the
 * caller frees with free().
 */
#ifndef EIN_CLAIM_H
#define EIN_CLAIM_H

#include <stdbool.h>
#include "ein/cell.h"
#include "ein/err.h"

typedef struct ein_claims ein_claims;

typedef enum ein_claim_state {
    EIN_CLAIM_MINE = 0,     /* created (or taken over): this writer runs the cell */
    EIN_CLAIM_BUSY,         /* a live writer holds it */
    EIN_CLAIM_DONE          /* some writer finished it ok or diverged */
} ein_claim_state;

typedef struct ein_claim_info {
    char id[EIN_ID_LEN + 1];
    char host[64];
    long pid;
    unsigned long long pid_start;   /* /proc/PID/stat start time, clock ticks since boot */
    char boot[40];                  /* /proc/sys/kernel/random/boot_id of the owner's host */
    char run[48];                   /* the owner's run tag (its records carry it) */
    double claimed;                 /* Unix time of the claim */
    double heartbeat;               /* Unix time of the last heartbeat (the file's mtime) */
    bool done;                      /* a done marker: status says how it ended */
    char status[16];
    bool stale;                     /* the owner is gone (why says how we know) */
    char why[160];
} ein_claim_info;

/* Seconds without a heartbeat after which a claim from another host is
 * stale: $EIN_CLAIM_TIMEOUT if set (> 0), else 300.  Heartbeats come every
 * timeout/10 seconds (at least every second). */
double ein_claim_timeout(void);

/* This host's short name, as claims and run tags spell it ([A-Za-z0-9._-]). */
void ein_host_name(char *buf, size_t cap);

/* A writer's claims on folder `results_dir` (creates results_dir/claims);
 * `run` is the writer's run tag.  NULL with err set on failure. */
ein_claims *ein_claims_open(const char *results_dir, const char *run, ein_err *err);
/* Releases every claim still held, then frees. */
void ein_claims_close(ein_claims *c);

/* Try to claim cell `id`.  *state says what happened; for BUSY and DONE,
 * `holder` (may be NULL) receives the claim that stands in the way.  An error
 * only for I/O trouble other than the claim existing. */
ein_code ein_claim_take(ein_claims *c, const char *id, ein_claim_state *state,
                        ein_claim_info *holder, ein_err *err);
/* The cell ended with a result (status "ok" or "diverged"): the claim becomes a done marker. */
ein_code ein_claim_done(ein_claims *c, const char *id, const char *status, ein_err *err);
/* The cell ended without a result (failed, interrupted): remove the claim. */
void ein_claim_release(ein_claims *c, const char *id);
/* Touch every held claim if a heartbeat is due (cheap to call often). */
void ein_claims_heartbeat(ein_claims *c);

/* Read the claim of `id` in results_dir (1: found, 0: none), judging staleness. */
int ein_claim_read(const char *results_dir, const char *id, ein_claim_info *out);
/* Every claim of the folder (done markers included), in no particular order. */
ein_code ein_claims_list(const char *results_dir, ein_claim_info **out, int *n, ein_err *err);

#endif
