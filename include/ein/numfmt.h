/* numfmt.h — the one number formatter: numbers as text, without printf.
 *
 * Cell ids hash the text of every setting, bindings print every axis value,
 * and messages name every source location; with OpenBLAS's libquadmath
 * loaded (it registers printf extensions) every glibc printf call takes its
 * slow generic path, about a microsecond.  These write into the caller's
 * buffer and allocate nothing.
 */
#ifndef EIN_NUMFMT_H
#define EIN_NUMFMT_H

#include <stddef.h>

/* Shortest "%.Ng" that reads back as exactly d (N = 15..17), the same text
 * printf gives; "nan", "inf", "-inf". */
void ein_format_double(double d, char *buf, size_t n);

/* "%lld" of v, cut to fit n. */
void ein_format_integer(long long v, char *buf, size_t n);

#endif
