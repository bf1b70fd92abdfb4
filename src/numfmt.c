/* numfmt.c — numbers as text (include/ein/numfmt.h). */
#include "ein/numfmt.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

/* The text of a number with at most 15 significant digits that is d, in
 * [1e-4, 1e15): what "%.15g" prints for it, without printf.  A decimal m/10^k
 * (m < 10^15) rounds to one double, and that double's nearest 15-digit decimal
 * is m/10^k again (15-digit decimals are farther apart than two doubles), so
 * when m / 10^k == d — one correctly rounded division of two exact doubles,
 * as strtod would round — the digits of m are those of "%.15g".  The smallest
 * such k leaves no trailing zero in the fraction, as %g drops them.  False
 * when d needs 16 or 17 digits or is out of that range. */
static bool short_decimal(double d, char *buf, size_t n)
{
    static const double pow10[] = { 1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8,
                                    1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15 };
    double a = fabs(d);
    if (!(a >= 1e-4 && a < 1e15) || n < 24)
        return false;
    for (int k = 0; k < 16; k++) {
        double m = nearbyint(a * pow10[k]);
        if (m >= 1e15)
            return false;
        if (m / pow10[k] != a)
            continue;
        char digits[24];                    /* least significant first */
        int len = 0;
        for (unsigned long long u = (unsigned long long)m; u; u /= 10)
            digits[len++] = (char)('0' + u % 10);
        while (len <= k)
            digits[len++] = '0';            /* 0.00025: the zeros before the digits */
        char *p = buf;
        if (d < 0)
            *p++ = '-';
        for (int i = len - 1; i >= k; i--)
            *p++ = digits[i];
        if (k > 0)
            *p++ = '.';
        for (int i = k - 1; i >= 0; i--)
            *p++ = digits[i];
        *p = '\0';
        return true;
    }
    return false;
}

void ein_format_integer(long long v, char *buf, size_t n)
{
    char digits[24];
    int len = 0;
    unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
    do
        digits[len++] = (char)('0' + u % 10);
    while ((u /= 10) != 0);
    if (v < 0)
        digits[len++] = '-';
    size_t at = 0;
    while (len > 0 && at + 1 < n)
        buf[at++] = digits[--len];
    if (n > 0)
        buf[at] = '\0';
}

void ein_format_double(double d, char *buf, size_t n)
{
    if (isnan(d)) {
        snprintf(buf, n, "nan");
        return;
    }
    if (isinf(d)) {
        snprintf(buf, n, d > 0 ? "inf" : "-inf");
        return;
    }
    if (short_decimal(d, buf, n))
        return;
    /* the shortest of 15, 16, 17 significant digits that reads back as d */
    static const char *const fmt[] = { "%.15g", "%.16g", "%.17g" };
    for (int i = 0; i < 3; i++) {
        snprintf(buf, n, fmt[i], d);
        if (strtod(buf, NULL) == d)
            return;
    }
}
