/* text.h — bounded copies and a growing text buffer, the two string chores
 * every part of einrun has.
 *
 * ein_text_copy never overflows and always terminates.  An ein_textbuf owns
 * its bytes (free with ein_textbuf_free); after a failed allocation it only
 * records `oom` and ignores further writes, so a writer checks once at the
 * end.  Neither uses printf (numfmt.h says why that matters here).
 */
#ifndef EIN_TEXT_H
#define EIN_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/* src into dst[cap] (cap >= 1), cut to fit. */
void ein_text_copy(char *dst, size_t cap, const char *src);

typedef struct ein_textbuf {
    char *p;             /* NUL-terminated when len > 0 and !oom */
    size_t len, cap;
    bool oom;
} ein_textbuf;

/* Room for `more` bytes and a NUL after len; false (and oom) if it cannot. */
bool ein_textbuf_reserve(ein_textbuf *b, size_t more);
void ein_textbuf_put(ein_textbuf *b, const char *s, size_t n);
void ein_textbuf_puts(ein_textbuf *b, const char *s);
void ein_textbuf_free(ein_textbuf *b);

#endif
