/* numtext.h — the text results give a number, and reading it back.
 *
 * cells.jsonl, summary.csv and summary_by_*.csv write a double as the
 * shortest "%.{p}g" text, p from 6 to 17, that strtod reads back as the same
 * double: 30 stays 30, 0.1 stays 0.1, a loss keeps all its digits. */
#ifndef EIN_NUMTEXT_H
#define EIN_NUMTEXT_H

#include <stddef.h>

#define EIN_NUM_TEXT_MAX 32

/* That text of finite x into out; returns its length. */
size_t ein_num_text(double x, char out[EIN_NUM_TEXT_MAX]);

/* strtod(s, NULL), without strtod for a short decimal (at most 15 or 16
 * digits, a small exponent): reading 100 000 records parses millions. */
double ein_num_parse(const char *s);

#endif
