/* real.h — the element type of every tensor.
 *
 * float32 by default; `make REAL=double` defines EIN_REAL_DOUBLE and switches
 * every tensor, op and BLAS call to float64 (gradient checks run there).
 */
#ifndef EIN_REAL_H
#define EIN_REAL_H

#ifdef EIN_REAL_DOUBLE
typedef double ein_real;
#define EIN_REAL_NAME "float64"
#define EIN_REAL_EPS 2.220446049250313e-16
#else
typedef float ein_real;
#define EIN_REAL_NAME "float32"
#define EIN_REAL_EPS 1.1920929e-07
#endif

#endif
