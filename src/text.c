/* text.c — bounded copies and a growing buffer (include/ein/text.h). */
#include "ein/text.h"

#include <stdlib.h>
#include <string.h>

void ein_text_copy(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

bool ein_textbuf_reserve(ein_textbuf *b, size_t more)
{
    if (b->oom)
        return false;
    if (b->len + more + 1 <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 1024;
    while (cap < b->len + more + 1)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
        b->oom = true;
        return false;
    }
    b->p = p;
    b->cap = cap;
    return true;
}

void ein_textbuf_put(ein_textbuf *b, const char *s, size_t n)
{
    if (!ein_textbuf_reserve(b, n))
        return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void ein_textbuf_puts(ein_textbuf *b, const char *s)
{
    ein_textbuf_put(b, s, strlen(s));
}

void ein_textbuf_free(ein_textbuf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
    b->oom = false;
}
