/* err.c — runtime error values (see include/ein/err.h). */
#include "ein/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

ein_code ein_err_set(ein_err *err, ein_code code, const char *fmt, ...)
{
    if (err == NULL || err->code != EIN_OK)
        return code;
    err->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return code;
}

void ein_err_prefix(ein_err *err, const char *fmt, ...)
{
    if (err == NULL || err->code == EIN_OK)
        return;
    char prefix[512], old[sizeof err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    /* Truncation is acceptable here: the message is for humans. */
    size_t n = strlen(prefix);
    if (n > sizeof err->msg - 3)
        n = sizeof err->msg - 3;
    memcpy(err->msg, prefix, n);
    memcpy(err->msg + n, ": ", 2);
    size_t room = sizeof err->msg - n - 3;
    size_t m = strlen(old);
    if (m > room)
        m = room;
    memcpy(err->msg + n + 2, old, m);
    err->msg[n + 2 + m] = '\0';
}

void ein_err_suffix(ein_err *err, const char *fmt, ...)
{
    if (err == NULL || err->code == EIN_OK)
        return;
    size_t n = strlen(err->msg);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg + n, sizeof err->msg - n, fmt, ap);   /* truncated if long: for humans */
    va_end(ap);
}

void ein_err_clear(ein_err *err)
{
    if (err == NULL)
        return;
    err->code = EIN_OK;
    err->msg[0] = '\0';
}

int ein_exit_status(ein_code code)
{
    switch (code) {
    case EIN_OK:              return 0;
    case EIN_ERR_LANG:        return 2;
    case EIN_ERR_USAGE:       return 64;
    case EIN_ERR_DATA:        return 65;
    case EIN_ERR_IO:          return 74;
    case EIN_ERR_NOMEM:       return 71;
    case EIN_ERR_DIVERGED:    return 1;
    case EIN_ERR_INTERRUPTED: return 130;
    case EIN_ERR_INTERNAL:    return 70;
    }
    return 70;
}

const char *ein_code_name(ein_code code)
{
    switch (code) {
    case EIN_OK:              return "ok";
    case EIN_ERR_LANG:        return "language error";
    case EIN_ERR_USAGE:       return "usage error";
    case EIN_ERR_DATA:        return "data error";
    case EIN_ERR_IO:          return "i/o error";
    case EIN_ERR_NOMEM:       return "out of memory";
    case EIN_ERR_DIVERGED:    return "diverged";
    case EIN_ERR_INTERRUPTED: return "interrupted";
    case EIN_ERR_INTERNAL:    return "internal error";
    }
    return "internal error";
}
