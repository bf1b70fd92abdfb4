/* numfmt.c — numbers as text (include/ein/numfmt.h). */
#include "ein/numfmt.h"
#include "ein/text.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The powers of ten a double holds exactly. */
static const double pow10[] = { 1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
                                1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22 };

/* m and k with m / 10^k == a (m < 10^15 an integer, 10^k exact), k the
 * smallest; -1 when a needs 16 or 17 digits or is out of reach.  A decimal
 * m/10^k (m < 10^15) rounds to one double, and that double's nearest 15-digit
 * decimal is m/10^k again (15-digit decimals are farther apart than two
 * doubles), so when m / 10^k == d — one correctly rounded division of two
 * exact doubles, as strtod would round — the digits of m are those of
 * "%.15g".  The smallest k leaves no trailing zero after the point, as %g
 * drops them. */
static int decimal_of(double a, unsigned long long *m)
{
    for (int k = 0; k < (int)(sizeof pow10 / sizeof pow10[0]); k++) {
        double x = nearbyint(a * pow10[k]);
        if (x >= 1e15)
            return -1;
        if (x / pow10[k] == a) {
            *m = (unsigned long long)x;
            return k;
        }
    }
    return -1;
}

/* Digits of u, least significant first; returns their count. */
static int digits_of(unsigned long long u, char digits[24])
{
    int len = 0;
    for (; u; u /= 10)
        digits[len++] = (char)('0' + u % 10);
    return len;
}

/* "%.15g" of m/10^k in fixed notation (exponent -4 .. 14). */
static void put_fixed(char *p, unsigned long long m, int k)
{
    char digits[24];
    int len = digits_of(m, digits);
    while (len <= k)
        digits[len++] = '0';            /* 0.00025: the zeros before the digits */
    for (int i = len - 1; i >= k; i--)
        *p++ = digits[i];
    if (k > 0)
        *p++ = '.';
    for (int i = k - 1; i >= 0; i--)
        *p++ = digits[i];
    *p = '\0';
}

/* "%.15g" of m/10^k below 1e-4: d.ddde-XX (m has no trailing zero, and the
 * exponent is -5 .. -22, two digits). */
static void put_scientific(char *p, unsigned long long m, int k)
{
    char digits[24];
    int len = digits_of(m, digits);
    int exp = k - (len - 1);            /* the value is d.ddd × 10^-exp */
    *p++ = digits[len - 1];
    if (len > 1)
        *p++ = '.';
    for (int i = len - 2; i >= 0; i--)
        *p++ = digits[i];
    *p++ = 'e';
    *p++ = '-';
    *p++ = (char)('0' + exp / 10);
    *p++ = (char)('0' + exp % 10);
    *p = '\0';
}

/* The text of a number with at most 15 significant digits that is d, in
 * [1e-22, 1e15), or of a zero: what "%.15g" prints for it, without printf.
 * Zeros and the small values (train.adam.eps = 1e-08) are in every cell's
 * canonical text.  False when d needs 16 or 17 digits or is out of that
 * range. */
static bool short_decimal(double d, char *buf, size_t n)
{
    double a = fabs(d);
    if (n < 24)
        return false;
    char *p = buf;
    if (signbit(d))
        *p++ = '-';                     /* "%g" of -0.0 is "-0" */
    if (a == 0) {
        p[0] = '0';
        p[1] = '\0';
        return true;
    }
    unsigned long long m;
    int k = a >= 1e-22 && a < 1e15 ? decimal_of(a, &m) : -1;
    if (k < 0)
        return false;
    if (a >= 1e-4)
        put_fixed(p, m, k);
    else
        put_scientific(p, m, k);
    return true;
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
    if (isnan(d) || isinf(d)) {         /* every cell has one: data.fixed_test_delta = nan */
        if (n > 0)
            ein_text_copy(buf, n, isnan(d) ? "nan" : d > 0 ? "inf" : "-inf");
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

/* ---- the results' text (ein_num_text, ein_num_parse) ----------------------
 *
 * Why not the plain loop (snprintf at p = 6, 7, ... until strtod reads the
 * text back): it formats a 17-digit number twelve times, and summary.csv of
 * 100 000 cells holds 300 000 such numbers.  Here:
 *   - a 6-digit text is tried first, made without printf: a text of at most
 *     15 digits that reads back as x is the only such text of its length
 *     (two of them lie further apart than x's rounding interval is wide), so
 *     it is the one printf would make;
 *   - else one "%.16e" gives x's first 17 digits, correctly rounded, and the
 *     text at a shorter p comes from those: rounding them again is exact
 *     unless they end in a tie at p (5, then zeros), where snprintf decides;
 *   - the shortest p is found by bisection, because a text that reads back at
 *     p does at p + 1 too (it is at least as close to x) — except when x is a
 *     power of two, whose rounding interval is narrower below than above:
 *     there every p is tried in turn, as the loop did. */



/* x's first 17 significant digits: d[0].d[1..16] × 10^exp. */
typedef struct digits17 {
    bool neg;
    char d[17];
    int exp;
} digits17;

static void first_17(double x, digits17 *g)
{
    char t[40];
    snprintf(t, sizeof t, "%.16e", x);        /* [-]d.dddddddddddddddde±XX */
    const char *p = t;
    g->neg = *p == '-';
    p += g->neg;
    g->d[0] = p[0];
    memcpy(g->d + 1, p + 2, 16);
    g->exp = (int)strtol(p + 19, NULL, 10);
}

/* "%.{p}g" of the value dig[0].dig[1..p-1] × 10^exp (C11 7.21.6.1): fixed
 * notation when -4 <= exp < p, else d.ddde±XX; trailing zeros dropped, and
 * the point with them. */
static size_t g_format(char *out, bool neg, const char *dig, int p, int exp)
{
    char *o = out;
    int n = p;
    while (n > 1 && dig[n - 1] == '0')
        n--;
    if (neg)
        *o++ = '-';
    if (exp < -4 || exp >= p) {
        *o++ = dig[0];
        if (n > 1) {
            *o++ = '.';
            memcpy(o, dig + 1, (size_t)(n - 1));
            o += n - 1;
        }
        int a = exp < 0 ? -exp : exp;
        *o++ = 'e';
        *o++ = exp < 0 ? '-' : '+';
        if (a >= 100)
            *o++ = (char)('0' + a / 100);
        *o++ = (char)('0' + a / 10 % 10);
        *o++ = (char)('0' + a % 10);
        *o = '\0';
        return (size_t)(o - out);
    }
    if (exp >= 0) {
        for (int i = 0; i <= exp; i++)
            *o++ = i < n ? dig[i] : '0';
        if (n > exp + 1) {
            *o++ = '.';
            memcpy(o, dig + exp + 1, (size_t)(n - exp - 1));
            o += n - exp - 1;
        }
    } else {
        *o++ = '0';
        *o++ = '.';
        for (int i = 0; i < -exp - 1; i++)
            *o++ = '0';
        memcpy(o, dig, (size_t)n);
        o += n;
    }
    *o = '\0';
    return (size_t)(o - out);
}

/* "%.{p}g" of x (p <= 17) from its first 17 digits. */
static size_t text_at(double x, const digits17 *g, int p, char *out)
{
    char dig[17] = { 0 };
    int exp = g->exp;
    memcpy(dig, g->d, (size_t)p);
    if (p < 17) {
        bool rest_zero = true;
        for (int i = p + 1; i < 17; i++)
            rest_zero = rest_zero && g->d[i] == '0';
        if (g->d[p] == '5' && rest_zero)       /* a tie, or just off one: printf knows */
            return (size_t)snprintf(out, EIN_NUM_TEXT_MAX, "%.*g", p, x);
        if (g->d[p] >= '5') {
            int i = p - 1;
            while (i >= 0 && dig[i] == '9')
                dig[i--] = '0';
            if (i >= 0)
                dig[i]++;
            else {
                dig[0] = '1';                   /* 9.99.. rounds up to 10.0.. */
                exp++;
            }
        }
    }
    return g_format(out, g->neg, dig, p, exp);
}

/* w × 10^k with w < 2^53 and |k| <= 22 is one multiplication or division of
 * two exact doubles, so it rounds once, as strtod does (the fast path of
 * Clinger's algorithm); anything else goes to strtod. */
double ein_num_parse(const char *s)
{
    const char *p = s + (*s == '-');
    uint64_t w = 0;
    int k = 0, digits = 0;
    bool point = false;
    for (; (*p >= '0' && *p <= '9') || (*p == '.' && !point); p++) {
        if (*p == '.') {
            point = true;
            continue;
        }
        if (w >= (UINT64_C(1) << 53) / 10)
            return strtod(s, NULL);
        w = 10 * w + (uint64_t)(*p - '0');
        k -= point;
        digits++;
    }
    if (digits == 0)
        return strtod(s, NULL);
    if (*p == 'e' || *p == 'E') {
        char *end;
        long e = strtol(p + 1, &end, 10);
        if (*end || e > 22 || e < -22)
            return strtod(s, NULL);
        k += (int)e;
        p = end;
    }
    if (*p || k > 22 || k < -22)
        return strtod(s, NULL);
    double x = k < 0 ? (double)w / pow10[-k] : (double)w * pow10[k];
    return *s == '-' ? -x : x;
}

static bool reads_back(const char *t, double x)
{
    return ein_num_parse(t) == x;
}

static bool fits(double x, const digits17 *g, int p)
{
    char t[EIN_NUM_TEXT_MAX];
    text_at(x, g, p, t);
    return reads_back(t, x);
}

/* A 6-digit text of x by scaling it, or 0 when that is out of range; right
 * (see the top) whenever it reads back as x. */
static size_t six_digits(double x, char *out)
{
    double a = fabs(x);
    if (!(a >= 1e-300 && a <= 1e300))
        return 0;
    int exp = (int)floor(log10(a)), k = 5 - exp;
    if (k > 22 || k < -22)
        return 0;
    double r = nearbyint(k >= 0 ? a * pow10[k] : a / pow10[-k]);
    if (r == 1e6) {
        r = 1e5;
        exp++;
    }
    if (!(r >= 1e5 && r < 1e6))
        return 0;
    char dig[6] = { 0 };
    for (long v = (long)r, i = 5; i >= 0; i--, v /= 10)
        dig[i] = (char)('0' + v % 10);
    return g_format(out, x < 0, dig, 6, exp);
}

size_t ein_num_text(double x, char out[EIN_NUM_TEXT_MAX])
{
    size_t n = six_digits(x, out);
    if (n > 0 && reads_back(out, x))
        return n;
    digits17 g;
    first_17(x, &g);
    int e, p;
    if (fabs(frexp(x, &e)) == 0.5) {            /* a power of two */
        for (p = 6; p < 17 && !fits(x, &g, p); p++)
            ;
        return text_at(x, &g, p, out);
    }
    /* 17 digits always read back; measured values mostly need 16 or 17 */
    int lo = 6, hi = 15;
    if (!fits(x, &g, 16))
        lo = hi = 17;
    else if (!fits(x, &g, 15))
        lo = hi = 16;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (fits(x, &g, mid))
            hi = mid;
        else
            lo = mid + 1;
    }
    return text_at(x, &g, hi, out);
}
