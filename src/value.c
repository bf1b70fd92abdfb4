/* value.c — immutable .ein values in an arena, equality and canonical text
 * (include/ein/value.h).  The canonical text feeds cell bindings (cell.h) and
 * the dry-run listing, so it must not depend on how a value was spelled. */
#include "ein/value.h"
#include "ein/names.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Chunked bump allocator: values are small and all die together. */
typedef struct chunk {
    struct chunk *next;
    size_t used, cap;
    max_align_t data[];
} chunk;

struct ein_varena {
    chunk *head;
};

ein_varena *ein_varena_new(void)
{
    return calloc(1, sizeof(ein_varena));
}

void ein_varena_free(ein_varena *a)
{
    if (!a)
        return;
    for (chunk *c = a->head, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    free(a);
}

void *ein_varena_alloc(ein_varena *a, size_t size)
{
    size_t align = sizeof(max_align_t);
    size = (size + align - 1) / align * align;
    if (size == 0)
        size = align;
    chunk *c = a->head;
    if (!c || c->cap - c->used < size) {
        size_t cap = size > 16384 ? size : 16384;
        c = malloc(sizeof(chunk) + cap);
        if (!c)
            return NULL;
        c->used = 0;
        c->cap = cap;
        c->next = a->head;
        a->head = c;
    }
    void *p = (char *)c->data + c->used;
    c->used += size;
    memset(p, 0, size);
    return p;
}

char *ein_varena_strdup(ein_varena *a, const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = ein_varena_alloc(a, n);
    if (p)
        memcpy(p, s, n);
    return p;
}

static ein_value *make(ein_varena *a, ein_vkind kind, ein_loc loc)
{
    ein_value *v = ein_varena_alloc(a, sizeof *v);
    if (v) {
        v->kind = kind;
        v->loc = loc;
    }
    return v;
}

ein_value *ein_value_int(ein_varena *a, long long i, ein_loc loc)
{
    ein_value *v = make(a, EIN_V_INT, loc);
    if (v)
        v->i = i;
    return v;
}

ein_value *ein_value_num(ein_varena *a, double n, ein_loc loc)
{
    ein_value *v = make(a, EIN_V_NUM, loc);
    if (v)
        v->n = n;
    return v;
}

ein_value *ein_value_str(ein_varena *a, const char *s, ein_loc loc)
{
    ein_value *v = make(a, EIN_V_STR, loc);
    if (v && !(v->s = ein_varena_strdup(a, s)))
        return NULL;
    return v;
}

ein_value *ein_value_sym(ein_varena *a, const char *s, ein_loc loc)
{
    ein_value *v = make(a, EIN_V_SYM, loc);
    if (v && !(v->s = ein_varena_strdup(a, s)))
        return NULL;
    return v;
}

ein_value *ein_value_bool(ein_varena *a, bool b, ein_loc loc)
{
    ein_value *v = make(a, EIN_V_BOOL, loc);
    if (v)
        v->b = b;
    return v;
}

ein_value *ein_value_list(ein_varena *a, int n, ein_loc loc)
{
    ein_value *v = make(a, EIN_V_LIST, loc);
    if (!v)
        return NULL;
    v->list.n = n;
    if (n > 0 && !(v->list.items = ein_varena_alloc(a, (size_t)n * sizeof *v->list.items)))
        return NULL;
    return v;
}

ein_value *ein_value_record(ein_varena *a, const char *tag, int n, ein_loc loc)
{
    ein_value *v = make(a, EIN_V_RECORD, loc);
    if (!v)
        return NULL;
    v->rec.tag = tag;
    v->rec.n = n;
    if (n > 0 && !(v->rec.fields = ein_varena_alloc(a, (size_t)n * sizeof *v->rec.fields)))
        return NULL;
    return v;
}

const ein_value *ein_value_field(const ein_value *rec, const char *name)
{
    if (!rec || rec->kind != EIN_V_RECORD)
        return NULL;
    for (int i = 0; i < rec->rec.n; i++)
        if (rec->rec.fields[i].name && strcmp(rec->rec.fields[i].name, name) == 0)
            return rec->rec.fields[i].value;
    return NULL;
}

bool ein_value_number(const ein_value *v, double *out)
{
    if (v && v->kind == EIN_V_INT) {
        *out = (double)v->i;
        return true;
    }
    if (v && v->kind == EIN_V_NUM) {
        *out = v->n;
        return true;
    }
    return false;
}

const char *ein_value_type(const ein_value *v)
{
    switch (v->kind) {
    case EIN_V_INT: return "integer";
    case EIN_V_NUM: return "number";
    case EIN_V_STR: return "string";
    case EIN_V_BOOL: return "boolean";
    case EIN_V_LIST: return "list";
    case EIN_V_RECORD: return v->rec.tag ? v->rec.tag : "record";
    case EIN_V_FUNC: return "function";
    case EIN_V_SYM: {
        const ein_names *t = ein_symbol_table(v->s);   /* its category (names.h) */
        return t ? t->type : "symbol";
    }
    }
    return "value";
}

/* The text a value compares as when matched against a string. */
static const char *as_text(const ein_value *v)
{
    if (v->kind == EIN_V_STR || v->kind == EIN_V_SYM)
        return v->s;
    if (v->kind == EIN_V_RECORD && v->rec.named) {
        const ein_value *name = ein_value_field(v, "name");
        return name && name->kind == EIN_V_STR ? name->s : NULL;
    }
    return NULL;
}

bool ein_value_equal(const ein_value *a, const ein_value *b)
{
    double x, y;
    if (ein_value_number(a, &x) && ein_value_number(b, &y))
        return x == y;
    bool text_a = a->kind == EIN_V_STR || a->kind == EIN_V_SYM;
    bool text_b = b->kind == EIN_V_STR || b->kind == EIN_V_SYM;
    if (text_a || text_b) {
        const char *s = as_text(a), *t = as_text(b);
        return s && t && strcmp(s, t) == 0;
    }
    if (a->kind != b->kind)
        return false;
    switch (a->kind) {
    case EIN_V_BOOL: return a->b == b->b;
    case EIN_V_LIST:
        if (a->list.n != b->list.n)
            return false;
        for (int i = 0; i < a->list.n; i++)
            if (!ein_value_equal(a->list.items[i], b->list.items[i]))
                return false;
        return true;
    case EIN_V_RECORD:
        if (a->rec.n != b->rec.n)
            return false;
        for (int i = 0; i < a->rec.n; i++) {
            const ein_value *o = ein_value_field(b, a->rec.fields[i].name);
            if (!o || !ein_value_equal(a->rec.fields[i].value, o))
                return false;
        }
        return true;
    case EIN_V_FUNC:
        return a->fn.builtin == b->fn.builtin && a->fn.def == b->fn.def;
    default:
        return false;
    }
}

static void write_string(const char *s, FILE *out)
{
    fputc('"', out);
    for (; *s; s++) {
        switch (*s) {
        case '"': fputs("\\\"", out); break;
        case '\\': fputs("\\\\", out); break;
        case '\n': fputs("\\n", out); break;
        case '\t': fputs("\\t", out); break;
        default: fputc(*s, out);
        }
    }
    fputc('"', out);
}

void ein_value_write(const ein_value *v, FILE *out)
{
    char num[40];
    switch (v->kind) {
    case EIN_V_INT: ein_format_integer(v->i, num, sizeof num); fputs(num, out); break;
    case EIN_V_NUM: ein_format_double(v->n, num, sizeof num); fputs(num, out); break;
    case EIN_V_STR: write_string(v->s, out); break;
    case EIN_V_SYM: fputs(v->s, out); break;
    case EIN_V_BOOL: fputs(v->b ? "true" : "false", out); break;
    case EIN_V_FUNC: fprintf(out, "<function %s>", v->fn.name); break;
    case EIN_V_LIST:
        fputc('[', out);
        for (int i = 0; i < v->list.n; i++) {
            if (i)
                fputs(", ", out);
            ein_value_write(v->list.items[i], out);
        }
        fputc(']', out);
        break;
    case EIN_V_RECORD:
        if (v->rec.named && as_text(v)) {
            fputs(as_text(v), out);
            break;
        }
        if (v->rec.tag)
            fputs(v->rec.tag, out);
        fputs(v->rec.n ? "{ " : "{", out);
        for (int i = 0; i < v->rec.n; i++) {
            fprintf(out, "%s%s = ", i ? ", " : "", v->rec.fields[i].name);
            ein_value_write(v->rec.fields[i].value, out);
        }
        fputs(v->rec.n ? " }" : "}", out);
        break;
    }
}

char *ein_value_text(const ein_value *v, char *buf, size_t n)
{
    if (v->kind == EIN_V_NUM && n >= 32) {   /* every grid cell's bindings: no stream */
        ein_format_double(v->n, buf, n);
        return buf;
    }
    if (v->kind == EIN_V_INT && n >= 24) {
        ein_format_integer(v->i, buf, n);
        return buf;
    }
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) {
        snprintf(buf, n, "?");
        return buf;
    }
    ein_value_write(v, f);
    fclose(f);
    if (len < n) {
        memcpy(buf, text, len + 1);
    } else if (n >= 4) {
        memcpy(buf, text, n - 4);
        memcpy(buf + n - 4, "...", 4);
    } else if (n > 0) {
        buf[0] = '\0';
    }
    free(text);
    return buf;
}
