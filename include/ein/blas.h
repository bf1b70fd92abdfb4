/* blas.h — the BLAS as a process-wide resource: its thread count and its
 * kernels.
 *
 * OpenBLAS holds both for the whole process.  Its thread count can change at
 * any time; its kernel family ("core type") is fixed when the library loads,
 * from $OPENBLAS_CORETYPE or its own CPU detection, so choosing another one
 * means starting the program again (ein_blas_choose_kernels).
 *
 * Nothing here allocates.  The only state is OpenBLAS's own and the
 * environment variables named below.
 */
#ifndef EIN_BLAS_H
#define EIN_BLAS_H

/* The thread count a cell runs with unless told otherwise: $OPENBLAS_NUM_THREADS
 * if the user set it, else 1 — so a cell's numbers do not depend on how many
 * cells run beside it (two threads sum a GEMM in another order). */
int ein_blas_default_threads(void);
void ein_blas_set_threads(int n);

/* The kernel family OpenBLAS runs ("Haswell", "SkylakeX", ...). */
const char *ein_blas_corename(void);

/* The kernel family this CPU supports best, among those OpenBLAS 0.3.21 has
 * ("Cooperlake", "SkylakeX", "Haswell"), or NULL for none of them. */
const char *ein_blas_best_coretype(void);

/* OpenBLAS falls back to its SSE3 "Prescott" kernels on an x86 CPU it does not
 * know (0.3.21 on Intel family 6 model 207, an AVX-512 CPU: 4-5x slower
 * GEMMs).  If $OPENBLAS_CORETYPE is unset and OpenBLAS chose such a fallback
 * on a CPU that runs a better family, set $OPENBLAS_CORETYPE to it (and
 * $EIN_OPENBLAS_CORETYPE_AUTO to the same value, to say ein chose it) and
 * execute the program again with the same argv; an explicit
 * $OPENBLAS_CORETYPE is always respected.  Returns only if nothing changed
 * (or the exec failed: then the program goes on, slower). */
void ein_blas_choose_kernels(char **argv);

/* Undo ein_blas_choose_kernels in the environment of a program about to start
 * on another machine (sbatch: a compute node may have another CPU). */
void ein_blas_forget_chosen_kernels(void);

#endif
