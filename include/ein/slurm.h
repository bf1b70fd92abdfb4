/* slurm.h — `einrun FILE --slurm [options]`: the selection as a Slurm job
 * array (docs/running.md, "Running on a cluster").
 *
 * One array task per chunk of cells: task K of N runs
 *   einrun FILE [the same selection options] --results DIR --shard K/N
 *          --jobs $SLURM_CPUS_PER_TASK --quiet
 * with one OpenBLAS thread per worker.  The script is written to
 * DIR/slurm.sh (task logs to DIR/slurm/<job>_<task>.out) and submitted with
 * `sbatch --parsable`; --dry-run prints it instead.  Only the tasks whose
 * shard still has a pending cell are submitted, so submitting the same
 * command again resumes; the writers share the folder through shards and
 * claims (shard.h, claim.h).
 */
#ifndef EIN_SLURM_H
#define EIN_SLURM_H

#include <stdbool.h>
#include <stdio.h>
#include "ein/cell.h"
#include "ein/err.h"

#define EIN_SLURM_MAX_EXTRA 16
#define EIN_SLURM_MAX_TASKS 1000     /* Slurm's default MaxArraySize is 1001 */

typedef struct ein_slurm_options {
    bool enabled;                    /* --slurm */
    const char *partition, *time, *mem, *account;   /* NULL: the cluster's defaults */
    int cpus_per_task;               /* --cpus-per-task; 0: 1 */
    int cells_per_task;              /* --cells-per-task; 0: cpus (one wave per task), more if
                                        needed to stay within EIN_SLURM_MAX_TASKS */
    int throttle;                    /* --array %M: at most M tasks at once; 0: no limit */
    int n_extra;
    const char *extra[EIN_SLURM_MAX_EXTRA];   /* --sbatch-arg, verbatim #SBATCH lines */
    const char *first_given;         /* the first option other than --slurm (for "needs --slurm") */
} ein_slurm_options;

/* If argv[i] is a Slurm option, record it and return how many arguments it
 * took (1 or 2); 0 if it is not one; -1 (err set, EIN_ERR_USAGE) if it is
 * malformed.  The options: --slurm, --partition P, --time T, --mem M,
 * --account A, --cpus-per-task N, --cells-per-task N, --array %M (or M),
 * --sbatch-arg ARG (repeatable). */
int ein_slurm_parse_arg(ein_slurm_options *o, int argc, char **argv, int i, ein_err *err);

/* What to submit. */
typedef struct ein_slurm_request {
    const ein_cell_list *selection;  /* the selected cells (the whole selection) */
    const char *results_dir;         /* as the run would use it */
    const char *file;                /* the .ein file */
    int argc;                        /* the einrun command line, argv[0] first; every */
    char **argv;                     /* argument that is not a Slurm, --jobs, --results, */
                                     /* --fresh, --dry-run or --quiet one is passed on */
    bool dry_run;                    /* print the script, write and submit nothing */
} ein_slurm_request;

/* Estimate the pending cells (cost.h: the estimate goes into the script as
 * comments, and sets --time when none is given), write the script (or with
 * dry_run print it to `out`) and submit it, saying what it did on `log`; the
 * job id goes to `out`.  EIN_OK also when nothing is left to run. */
ein_code ein_slurm_submit(const ein_slurm_options *o, const ein_slurm_request *req, FILE *out,
                          FILE *log, ein_err *err);

#endif
