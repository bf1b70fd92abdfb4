/* numfmt.h — the one number formatter: numbers as text, without printf.
 *
 * Two texts of a double: the canonical one (cell ids, bindings, `einrun
 * fmt`: at least 15 digits, as ids have always been made) and the results'
 * one (at least 6).  Cell ids hash the text of every setting, bindings print
 * every axis value, results hold millions of numbers; with OpenBLAS's libquadmath
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

/* The text results give a number (cells.jsonl, summary.csv, summary_by_*.csv):
 * the shortest "%.{p}g", p from 6 to 17, that strtod reads back as the same
 * double: 30 stays 30, 0.1 stays 0.1, a loss keeps all its digits.  Finite x
 * into out; returns its length. */
#define EIN_NUM_TEXT_MAX 32
size_t ein_num_text(double x, char out[EIN_NUM_TEXT_MAX]);

/* strtod(s, NULL), without strtod for a short decimal (at most 15 or 16
 * digits, a small exponent): reading 100 000 records parses millions. */
double ein_num_parse(const char *s);

#endif
