/* records.c — reading a results folder back (results.h, "reading back"): the
 * JSON reader, the record list, and summary.csv.
 *
 * Why records are small and point into blocks: a folder of 100 000 cells is
 * read at once (einrun summary, the runner's resume check), and records that
 * held their strings in arrays of their own were 13 kB each.  A record now
 * holds numbers and pointers; its strings, bindings and leaf texts live in
 * blocks the list owns, and what every record repeats (leaf paths, setting
 * values, binding names and values, run tags, statuses, the folder) is
 * stored once per read, found by its content while the folder is read. */
#include "ein/results.h"
#include "ein/hash.h"
#include "ein/numfmt.h"
#include "ein/text.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---------------------------------------------------------------- blocks -- */

/* A list's storage: blocks that never move, so records can point in. */
struct ein_leaf_block {
    struct ein_leaf_block *next;
    size_t used, cap;
    char data[];
};

#define BLOCK_BYTES 65536

/* The bytes to skip from address p to the next multiple of `align`. */
static size_t pad_for(uintptr_t p, size_t align)
{
    return (align - p % align) % align;
}

/* n bytes aligned to `align` from the block *cur, or from a new block of l
 * (which becomes *cur); NULL when out of memory.  A reader keeps two current
 * blocks (see reader), so what lookups walk lies apart from the leaf texts. */
static void *blocks_alloc(ein_record_list *l, struct ein_leaf_block **cur, size_t n, size_t align)
{
    struct ein_leaf_block *b = *cur;
    if (b && b->cap - b->used >= n + pad_for((uintptr_t)(b->data + b->used), align)) {
        char *p = b->data + b->used + pad_for((uintptr_t)(b->data + b->used), align);
        b->used = (size_t)(p - b->data) + n;
        return p;
    }
    /* A request too big for a block gets one of its own; the current block
     * goes on serving the small ones. */
    bool own = n + align > BLOCK_BYTES / 4;
    size_t cap = own ? n + align : BLOCK_BYTES;
    struct ein_leaf_block *nb = malloc(sizeof *nb + cap);
    if (!nb)
        return NULL;
    char *p = nb->data + pad_for((uintptr_t)nb->data, align);
    nb->cap = cap;
    nb->used = (size_t)(p - nb->data) + n;
    nb->next = l->blocks;
    l->blocks = nb;
    if (!own)
        *cur = nb;
    return p;
}

/* ---------------------------------------------------------------- intern -- */

/* What a list already stores, found by content while a folder is read, so a
 * string or shape that every record repeats is stored once.  Only a lookup:
 * the bytes live in the list's blocks, and the set is dropped after the read
 * (a list appended to another keeps its records' pointers valid). */
typedef struct intern_slot {
    const void *key;            /* NULL: empty */
    size_t len;
    uint64_t hash;
    const void *value;          /* what the key stands for: the string itself, or its shape */
} intern_slot;

typedef struct intern_set {
    intern_slot *slot;
    size_t cap, n;              /* cap 0 or a power of two; at most half full */
} intern_set;

static size_t slot_of(uint64_t h, size_t mask) { return (size_t)(h ^ h >> 29) & mask; }

static intern_slot *intern_probe(const intern_set *s, const void *key, size_t len, uint64_t h)
{
    for (size_t i = slot_of(h, s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
        intern_slot *e = &s->slot[i];
        if (!e->key || (e->hash == h && e->len == len && memcmp(e->key, key, len) == 0))
            return e;
    }
}

/* Room for one more entry (slots found before are stale then); false when
 * out of memory. */
static bool intern_room(intern_set *s)
{
    if (2 * (s->n + 1) <= s->cap)
        return true;
    size_t cap = s->cap ? 2 * s->cap : 256;
    intern_set grown = { calloc(cap, sizeof *grown.slot), cap, s->n };
    if (!grown.slot)
        return false;
    for (size_t i = 0; i < s->cap; i++)
        if (s->slot[i].key)
            *intern_probe(&grown, s->slot[i].key, s->slot[i].len, s->slot[i].hash) = s->slot[i];
    free(s->slot);
    *s = grown;
    return true;
}

/* ------------------------------------------------------------------ JSON -- */

/* A minimal JSON reader for our own records: walks one object and hands
 * every leaf to a visitor.  It works in place, in the line's own buffer:
 * strings are unescaped where they stand and every value is NUL-terminated
 * there, so a 100 000-line folder is read without copying a value twice.
 * Any syntax error rejects the whole line (a torn or foreign line is
 * ignored, never half-read). */
#define JR_PATH_MAX 256
#define JR_DEPTH_MAX 16
#define JR_SCALAR_MAX 1024      /* a longer number or word is no JSON of ours */

typedef struct jr_leaf {
    const char *path, *text;    /* NUL-terminated; the text only during the visit */
    size_t path_len, text_len;
    char type;                  /* 's' string, 'n' number, 'b' true/false, 'z' null */
} jr_leaf;

typedef void (*jr_visit)(void *ctx, const jr_leaf *leaf);

typedef struct jr {
    char *p, *end;              /* *end is writable (the line's NUL) */
    jr_visit visit;
    void *ctx;
    size_t plen;
    char path[JR_PATH_MAX];     /* the keys down to the current value, '/' between */
} jr;

/* isspace and isalnum as the C locale has them (einrun never changes it),
 * without a call per character. */
static bool jr_space(char c)
{
    return c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* A character of a number or a word (true, null, nan, 1e5). */
static bool jr_word_char(char c)
{
    char lower = (char)(c | 0x20);
    return (c >= '0' && c <= '9') || (lower >= 'a' && lower <= 'z') || c == '+' || c == '-' ||
           c == '.';
}

static void jr_ws(jr *j)
{
    while (j->p < j->end && jr_space(*j->p))
        j->p++;
}

static int hex_digit(char c)
{
    return c >= '0' && c <= '9' ? c - '0'
         : c >= 'a' && c <= 'f' ? c - 'a' + 10
         : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* The character of the escape after a backslash at j->p, or -1. */
static int jr_escape(jr *j)
{
    if (j->p >= j->end)
        return -1;
    char e = *j->p++;
    switch (e) {
    case 'n': return '\n';
    case 't': return '\t';
    case 'r': return '\r';
    case 'b': return '\b';
    case 'f': return '\f';
    case 'u': {
        if (j->end - j->p < 4)
            return -1;
        int u = 0;
        for (int i = 0; i < 4; i++) {
            int d = hex_digit(j->p[i]);
            if (d < 0)
                return -1;
            u = 16 * u + d;
        }
        j->p += 4;
        return u < 0x80 ? u : '?';      /* we only escape controls */
    }
    default: return (unsigned char)e;
    }
}

/* The string at j->p, unescaped in place and NUL-terminated there; its
 * length ends at an escaped NUL (\u0000). */
static bool jr_string(jr *j, char **out, size_t *len)
{
    if (j->p >= j->end || *j->p != '"')
        return false;
    char *s = ++j->p, *q = s;
    while (q < j->end && *q != '"' && *q != '\\')     /* short texts: no memchr calls */
        q++;
    if (q == j->end)
        return false;
    if (*q == '"') {            /* nearly always: nothing to undo */
        *q = '\0';
        j->p = q + 1;
        *out = s;
        *len = (size_t)(q - s);     /* no NUL in it: jr_walk refuses a line with one */
        return true;
    }
    q = s;
    while (j->p < j->end && *j->p != '"') {
        int c = (unsigned char)*j->p++;
        if (c == '\\' && (c = jr_escape(j)) < 0)
            return false;
        *q++ = (char)c;
    }
    if (j->p >= j->end)
        return false;
    j->p++;
    *q = '\0';
    *out = s;
    *len = strnlen(s, (size_t)(q - s));
    return true;
}

/* Put `key` (n bytes) below the first `keep` bytes of the path. */
static bool jr_push(jr *j, size_t keep, const char *key, size_t n)
{
    size_t at = keep ? keep + 1 : 0;
    if (at + n >= sizeof j->path)
        return false;           /* deeper than any record of ours */
    if (keep)
        j->path[keep] = '/';
    memcpy(j->path + at, key, n);
    j->path[at + n] = '\0';
    j->plen = at + n;
    return true;
}

static bool jr_key(jr *j, size_t keep)
{
    char *key;
    size_t n;
    if (!jr_string(j, &key, &n))
        return false;
    jr_ws(j);
    if (j->p >= j->end || *j->p++ != ':')
        return false;
    return jr_push(j, keep, key, n);
}

static bool jr_index(jr *j, size_t keep, int idx)
{
    char digits[16];
    int n = 0;
    do
        digits[sizeof digits - 1 - n++] = (char)('0' + idx % 10);
    while ((idx /= 10) > 0);
    return jr_push(j, keep, digits + sizeof digits - n, (size_t)n);
}

/* What a number or word is: 'n', 'b', 'z', or 0 for none (`s` NUL-terminated).
 * Anything strtod reads whole counts as a number, as it always did. */
static char jr_scalar_type(const char *s)
{
    if (ein_json_number_text(s))
        return 'n';
    if (strcmp(s, "null") == 0)
        return 'z';
    if (strcmp(s, "true") == 0 || strcmp(s, "false") == 0)
        return 'b';
    char *end;
    strtod(s, &end);
    return *end == '\0' ? 'n' : 0;
}

/* The end of the JSON number at s (RFC 8259 grammar), or s when none starts there. */
static char *json_number_end(char *s, const char *end)
{
    char *p = s + (s < end && *s == '-');
    char *digits = p;
    while (p < end && *p >= '0' && *p <= '9')
        p++;
    if (p == digits || (*digits == '0' && p - digits > 1))
        return s;
    if (p < end && *p == '.') {
        char *frac = ++p;
        while (p < end && *p >= '0' && *p <= '9')
            p++;
        if (p == frac)
            return s;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p += p + 1 < end && (p[1] == '+' || p[1] == '-');
        char *exp = ++p;
        while (p < end && *p >= '0' && *p <= '9')
            p++;
        if (p == exp)
            return s;
    }
    return p;
}

static bool jr_scalar(jr *j, jr_leaf *leaf)
{
    char *s = j->p, *e = json_number_end(s, j->end);
    bool number = e > s && (e == j->end || !jr_word_char(*e));    /* the usual case, checked once */
    j->p = number ? e : s;
    while (!number && j->p < j->end && jr_word_char(*j->p))
        j->p++;
    size_t n = (size_t)(j->p - s);
    if (n == 0 || n >= JR_SCALAR_MAX)
        return false;
    char after = *j->p;         /* the value is NUL-terminated for the visit only */
    *j->p = '\0';
    leaf->type = number ? 'n' : jr_scalar_type(s);
    leaf->text = s;
    leaf->text_len = n;
    if (leaf->type)
        j->visit(j->ctx, leaf);
    *j->p = after;
    return leaf->type != 0;
}

static bool jr_value(jr *j, int depth);

/* The members of an object or the elements of an array, each under its key. */
static bool jr_container(jr *j, int depth)
{
    char close = *j->p == '{' ? '}' : ']';
    j->p++;
    jr_ws(j);
    if (j->p < j->end && *j->p == close) {
        j->p++;
        return true;
    }
    size_t keep = j->plen;
    for (int idx = 0;; idx++) {
        jr_ws(j);
        if (!(close == '}' ? jr_key(j, keep) : jr_index(j, keep, idx)) || !jr_value(j, depth + 1))
            return false;
        j->plen = keep;
        j->path[keep] = '\0';
        jr_ws(j);
        if (j->p >= j->end)
            return false;
        char c = *j->p++;
        if (c == close)
            return true;
        if (c != ',')
            return false;
    }
}

static bool jr_value(jr *j, int depth)
{
    jr_ws(j);
    if (j->p >= j->end || depth > JR_DEPTH_MAX)
        return false;
    if (*j->p == '{' || *j->p == '[')
        return jr_container(j, depth);
    jr_leaf leaf = { .path = j->path, .path_len = j->plen };
    if (*j->p != '"')
        return jr_scalar(j, &leaf);
    char *text;
    if (!jr_string(j, &text, &leaf.text_len))
        return false;
    leaf.text = text;
    leaf.type = 's';
    j->visit(j->ctx, &leaf);
    return true;
}

static bool jr_walk(char *line, size_t len, jr_visit visit, void *ctx)
{
    if (memchr(line, '\0', len))
        return false;           /* a NUL byte is no JSON (and would cut a text short) */
    jr j = { .p = line, .end = line + len, .visit = visit, .ctx = ctx };
    jr_ws(&j);
    if (j.p >= j.end || *j.p != '{' || !jr_value(&j, 0))
        return false;
    jr_ws(&j);
    return j.p == j.end;
}

typedef struct walk_ctx {
    ein_json_visit visit;
    void *ctx;
} walk_ctx;

static void walk_leaf(void *ctx, const jr_leaf *leaf)
{
    const walk_ctx *w = ctx;
    w->visit(w->ctx, leaf->path, leaf->text, leaf->type == 's', leaf->type == 'z');
}

bool ein_json_walk(char *line, size_t len, ein_json_visit visit, void *ctx)
{
    walk_ctx w = { visit, ctx };
    return jr_walk(line, len, walk_leaf, &w);
}

/* --------------------------------------------------------------- records -- */

/* The leaf paths of a record, shared by every record with the same paths in
 * the same order (those of one experiment, usually), with a table to find a
 * leaf by its path. */
struct ein_record_shape {
    int n;                      /* leaves */
    const char *const *path;    /* their paths (the list's copies), in the records' order */
    const int *len;             /* their lengths */
    size_t mask;                /* lookup slots - 1 (their count is a power of two) */
    const int *slot;            /* a leaf's index + 1 at the hash of its path; 0 empty */
};

/* The state of reading one folder: what the list holds already, and the line
 * being read. */
typedef struct reader {
    ein_record_list *l;
    /* Where it stores: `hot` for what lookups over many records read (the
     * repeated strings, bindings, shapes), `cold` for the leaf texts
     * and time stamps, which are most of the bytes. */
    struct ein_leaf_block *hot, *cold;
    const char *folder;         /* the list's copy of the folder name */
    intern_set strings, shapes;
    const struct ein_record_shape *last;    /* the previous record's: most records repeat it */
    const char *const *last_leaf;           /* its leaves: most of its settings repeat too */
    ein_record *r;              /* the record of the line */
    ein_textbuf text;           /* its leaves that are not settings: type, text, NUL each */
    ein_textbuf value;          /* a setting's type and text, to be looked up */
    const char **path;          /* per leaf: its path (the list's copy) */
    const char **setting;       /* per leaf: a setting's type and text (the list's copy), or NULL */
    size_t *off;                /* per leaf that is no setting: where it starts in `text` */
    int n, cap;
    ein_record_bind bind[EIN_RECORD_MAX_BIND];
    bool oom;
} reader;

static void reader_free(reader *rd)
{
    free(rd->strings.slot);
    free(rd->shapes.slot);
    ein_textbuf_free(&rd->text);
    ein_textbuf_free(&rd->value);
    free(rd->path);
    free(rd->setting);
    free(rd->off);
}

/* The list's copy of s (n bytes, no NUL among them), stored once per read;
 * "" (and rd->oom) when out of memory. */
static const char *keep_str(reader *rd, const char *s, size_t n)
{
    uint64_t h = ein_hash_bytes(EIN_HASH_INIT, s, n);
    if (!intern_room(&rd->strings)) {
        rd->oom = true;
        return "";
    }
    intern_slot *e = intern_probe(&rd->strings, s, n, h);
    if (!e->key) {
        char *copy = blocks_alloc(rd->l, &rd->hot, n + 1, 1);
        if (!copy) {
            rd->oom = true;
            return "";
        }
        memcpy(copy, s, n);
        copy[n] = '\0';
        *e = (intern_slot){ copy, n, h, copy };
        rd->strings.n++;
    }
    return e->value;
}

/* The list's copy of s (n bytes) for a string no other record has (a time
 * stamp): not worth looking up.  "" (and rd->oom) when out of memory. */
static const char *copy_str(reader *rd, const char *s, size_t n)
{
    char *copy = blocks_alloc(rd->l, &rd->cold, n + 1, 1);
    if (!copy) {
        rd->oom = true;
        return "";
    }
    memcpy(copy, s, n);
    copy[n] = '\0';
    return copy;
}

/* The list's copy of leaf k's path: nearly always the path at the same place
 * in the previous record, so checked against that before it is looked up. */
static const char *leaf_path(reader *rd, int k, const char *p, size_t n)
{
    const struct ein_record_shape *s = rd->last;
    if (s && k < s->n && (size_t)s->len[k] == n && memcmp(s->path[k], p, n) == 0)
        return s->path[k];
    return keep_str(rd, p, n);
}

static bool grow_leaves(reader *rd)
{
    int cap = rd->cap ? 2 * rd->cap : 128;
    const char **path = realloc(rd->path, (size_t)cap * sizeof *path);
    if (path)
        rd->path = path;
    const char **setting = path ? realloc(rd->setting, (size_t)cap * sizeof *setting) : NULL;
    if (setting)
        rd->setting = setting;
    size_t *off = setting ? realloc(rd->off, (size_t)cap * sizeof *off) : NULL;
    if (!off) {
        rd->oom = true;
        return false;
    }
    rd->off = off;
    rd->cap = cap;
    return true;
}

/* The list's copy of setting leaf k's type and text.  Settings repeat from
 * record to record, so each distinct one is stored once, which also lets
 * ein_records_differing_settings compare pointers instead of texts; the
 * previous record's setting at the same place is checked before looking. */
static const char *setting_value(reader *rd, int k, const jr_leaf *lf)
{
    const char *last = rd->last && k < rd->last->n ? rd->last_leaf[k] : NULL;
    if (last && last[0] == lf->type && strncmp(last + 1, lf->text, lf->text_len) == 0 &&
        last[1 + lf->text_len] == '\0')
        return last;
    rd->value.len = 0;
    ein_textbuf_put(&rd->value, &lf->type, 1);
    ein_textbuf_put(&rd->value, lf->text, lf->text_len);
    if (rd->value.oom) {
        rd->oom = true;
        return "";
    }
    return keep_str(rd, rd->value.p, rd->value.len);
}

/* Leaf k: its path, and its type and text, a setting's looked up, any
 * other's into the line's own text. */
static void keep_leaf(reader *rd, const jr_leaf *lf, bool setting)
{
    if (rd->n == rd->cap && !grow_leaves(rd))
        return;
    int k = rd->n++;
    rd->path[k] = leaf_path(rd, k, lf->path, lf->path_len);
    rd->setting[k] = setting ? setting_value(rd, k, lf) : NULL;
    if (setting)
        return;
    rd->off[k] = rd->text.len;
    ein_textbuf_put(&rd->text, &lf->type, 1);
    ein_textbuf_put(&rd->text, lf->text, lf->text_len + 1);   /* with its NUL */
    rd->oom |= rd->text.oom;
}

/* The number a leaf of `type` holds: NaN for a string or null (true and
 * false read as 0, as strtod reads them). */
static double number_in(char type, const char *text)
{
    return type == 's' || type == 'z' ? NAN : ein_num_parse(text);
}

static double leaf_number(const jr_leaf *lf)
{
    return number_in(lf->type, lf->text);
}

/* "N/..." of final/layers: hidden layer N has final metrics (read from the
 * leaves when asked for, ein_record_final_layer: most readers never ask). */
static void count_layer(ein_record *r, const char *path)
{
    char *end;
    long k = strtol(path, &end, 10);
    if (end == path || *end != '/' || k < 0 || k >= EIN_MAX_HIDDEN)
        return;
    if (k >= r->n_final_layers)
        r->n_final_layers = (int)k + 1;
}

/* The record's field for final/KEY, or NULL (34 leaves a record: no strcmp
 * chain for each). */
static double *final_field(ein_record *r, const char *key)
{
    switch (key[0]) {
    case 't':
        return strcmp(key, "test_acc") == 0 ? &r->final_test_acc
             : strcmp(key, "train_acc") == 0 ? &r->final_train_acc
             : strcmp(key, "task_loss") == 0 ? &r->final_task_loss
             : strcmp(key, "test_loss") == 0 ? &r->final_test_loss : NULL;
    case 'i':
        return strcmp(key, "inorm_loss") == 0 ? &r->final_inorm_loss : NULL;
    default:
        return NULL;
    }
}

/* A final/ or best/ leaf that the record also holds as a number. */
static void fill_metric(reader *rd, const jr_leaf *lf)
{
    ein_record *r = rd->r;
    if (lf->path[0] == 'f') {
        const char *key = lf->path + 6;
        double *x = final_field(r, key);
        if (x)
            *x = leaf_number(lf);
        else if (strncmp(key, "layers/", 7) == 0)
            count_layer(r, key + 7);
    } else if (strcmp(lf->path, "best/test_acc") == 0) {
        r->best_test_acc = leaf_number(lf);
    } else if (strcmp(lf->path, "best/epoch") == 0) {
        r->best_epoch = (int)leaf_number(lf);
    }
}

static void fill_binding(reader *rd, const jr_leaf *lf)
{
    ein_record *r = rd->r;
    if (r->n_bind >= EIN_RECORD_MAX_BIND)
        return;
    ein_record_bind *b = &rd->bind[r->n_bind++];
    b->name = keep_str(rd, lf->path + 9, lf->path_len - 9);
    b->text = keep_str(rd, lf->text, lf->text_len);
    b->is_number = lf->type == 'n' || lf->type == 'b';
}

/* A member of the record itself ("id", "status", "seconds", ...). */
static void fill_top(reader *rd, const jr_leaf *lf)
{
    ein_record *r = rd->r;
    const char *p = lf->path, *t = lf->text;
    size_t n = lf->text_len;
    if (strcmp(p, "id") == 0) {
        bool ok = n == EIN_ID_LEN;
        memcpy(r->id, ok ? t : "", ok ? EIN_ID_LEN + 1 : 1);
    }
    else if (strcmp(p, "experiment") == 0) r->experiment = keep_str(rd, t, n);
    else if (strcmp(p, "run") == 0) r->run = keep_str(rd, t, n);
    else if (strcmp(p, "finished") == 0) r->finished = copy_str(rd, t, n);
    else if (strcmp(p, "status") == 0) r->status = keep_str(rd, t, n);
    else if (strcmp(p, "message") == 0) r->message = keep_str(rd, t, n);
    else if (strcmp(p, "epochs") == 0) r->epochs = (int)leaf_number(lf);
    else if (strcmp(p, "index") == 0) r->index = (int)leaf_number(lf);
    else if (strcmp(p, "seconds") == 0) r->seconds = leaf_number(lf);
}

static void fill_record(void *ctx, const jr_leaf *lf)
{
    reader *rd = ctx;
    if (rd->oom)
        return;
    const char *p = lf->path;
    if (memcmp(p, "config/", 7) == 0) {      /* inside jr's path buffer: never past its end */
        keep_leaf(rd, lf, true);
        rd->r->n_config++;
    } else if (memcmp(p, "final/", 6) == 0 || memcmp(p, "best/", 5) == 0) {
        keep_leaf(rd, lf, false);
        fill_metric(rd, lf);
    } else if (memcmp(p, "bindings/", 9) == 0) {
        fill_binding(rd, lf);
    } else {
        fill_top(rd, lf);
    }
}

/* A new shape for the leaves just read, in the list's blocks; NULL when out
 * of memory. */
static struct ein_record_shape *shape_new(reader *rd)
{
    size_t cap = 16, n = (size_t)rd->n;
    while (cap < 2 * n)
        cap *= 2;
    struct ein_record_shape *s = blocks_alloc(rd->l, &rd->hot, sizeof *s, alignof(struct ein_record_shape));
    const char **path = blocks_alloc(rd->l, &rd->hot, n * sizeof *path, alignof(const char *));
    int *len = blocks_alloc(rd->l, &rd->hot, n * sizeof *len, alignof(int));
    int *slot = blocks_alloc(rd->l, &rd->hot, cap * sizeof *slot, alignof(int));
    if (!s || !path || !len || !slot)
        return NULL;
    memcpy(path, rd->path, n * sizeof *path);
    memset(slot, 0, cap * sizeof *slot);
    for (int k = 0; k < rd->n; k++) {      /* a path given twice: the first counts */
        len[k] = (int)strlen(path[k]);
        size_t i = slot_of(ein_hash_str(path[k]), cap - 1);
        while (slot[i] && strcmp(path[slot[i] - 1], path[k]) != 0)
            i = (i + 1) & (cap - 1);
        if (!slot[i])
            slot[i] = k + 1;
    }
    *s = (struct ein_record_shape){ rd->n, path, len, cap - 1, slot };
    return s;
}

/* The shape of the leaves just read (rd->path): the previous record's, or
 * one made once per distinct list of paths; NULL when out of memory. */
static const struct ein_record_shape *shape_of(reader *rd)
{
    size_t bytes = (size_t)rd->n * sizeof *rd->path;
    const struct ein_record_shape *last = rd->last;
    if (last && last->n == rd->n && memcmp(last->path, rd->path, bytes) == 0)
        return last;
    uint64_t h = ein_hash_bytes(EIN_HASH_INIT, rd->path, bytes);
    if (!intern_room(&rd->shapes))
        return NULL;
    intern_slot *e = intern_probe(&rd->shapes, rd->path, bytes, h);
    if (!e->key) {
        struct ein_record_shape *s = shape_new(rd);
        if (!s)
            return NULL;
        *e = (intern_slot){ s->path, bytes, h, s };
        rd->shapes.n++;
    }
    rd->last = e->value;
    return rd->last;
}

/* Copy what the line's record holds in the reader into the list's blocks. */
static bool finish_record(reader *rd, ein_record *r)
{
    ein_record_list *l = rd->l;
    if (r->n_bind > 0) {
        size_t n = (size_t)r->n_bind * sizeof *r->bind;
        ein_record_bind *b = blocks_alloc(l, &rd->hot, n, alignof(ein_record_bind));
        if (!b)
            return false;
        r->bind = memcpy(b, rd->bind, n);
    }
    if (rd->n > 0) {
        const char **leaf = blocks_alloc(l, &rd->cold, (size_t)rd->n * sizeof *leaf, alignof(const char *));
        char *text = rd->text.len ? blocks_alloc(l, &rd->cold, rd->text.len, 1) : NULL;
        if (!leaf || (rd->text.len && !text) || !(r->shape = shape_of(rd)))
            return false;
        if (text)
            memcpy(text, rd->text.p, rd->text.len);
        for (int k = 0; k < rd->n; k++)
            leaf[k] = rd->setting[k] ? rd->setting[k] : text + rd->off[k];
        r->leaf = rd->last_leaf = leaf;
    }
    return true;
}

/* One line (line[len] writable: it is read in place) into *r.  False for a
 * line that is not a whole record, or when out of memory (rd->oom). */
static bool parse_record(reader *rd, char *line, size_t len, ein_record *r)
{
    *r = (ein_record){
        .experiment = "", .run = "", .finished = "", .status = "", .message = "",
        .folder = rd->folder, .seconds = NAN, .final_test_acc = NAN, .best_test_acc = NAN,
        .final_train_acc = NAN, .final_task_loss = NAN, .final_inorm_loss = NAN,
        .final_test_loss = NAN,
    };
    rd->r = r;
    rd->n = 0;
    rd->text.len = 0;
    bool ok = jr_walk(line, len, fill_record, rd) && r->id[0] && r->status[0];
    if (!ok || rd->oom)
        return false;
    if (!finish_record(rd, r)) {
        rd->oom = true;
        return false;
    }
    return true;
}

/* ----------------------------------------------------------------- files -- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void ein_results_files_free(char **paths, int n)
{
    for (int i = 0; i < n; i++)
        free(paths[i]);
    free(paths);
}

ein_code ein_results_files(const char *dir, const char *kind, char ***paths, int *n, ein_err *err)
{
    *paths = NULL;
    *n = 0;
    int cap = 8;
    char **v = calloc((size_t)cap, sizeof *v);
    char path[EIN_PATH_MAX + 300];
    if (!v)
        return ein_err_set(err, EIN_ERR_NOMEM, "out of memory");
    snprintf(path, sizeof path, "%s/%s.jsonl", dir, kind);
    int k = 0;
    if (access(path, F_OK) == 0 && !(v[k++] = strdup(path)))
        goto oom;
    snprintf(path, sizeof path, "%s/shards", dir);
    DIR *d = opendir(path);
    if (!d && errno != ENOENT) {
        ein_results_files_free(v, k);
        return ein_err_set(err, EIN_ERR_IO, "%s: cannot read: %s", path, strerror(errno));
    }
    size_t klen = strlen(kind);
    for (struct dirent *e; d && (e = readdir(d)) != NULL;) {
        size_t len = strlen(e->d_name);
        if (len <= klen + 7 || strncmp(e->d_name, kind, klen) != 0 || e->d_name[klen] != '.' ||
            strcmp(e->d_name + len - 6, ".jsonl") != 0)
            continue;
        if (k == cap) {
            char **grown = realloc(v, (size_t)(cap *= 2) * sizeof *v);
            if (!grown) {
                closedir(d);
                goto oom;
            }
            v = grown;
        }
        snprintf(path, sizeof path, "%s/shards/%s", dir, e->d_name);
        if (!(v[k++] = strdup(path))) {
            closedir(d);
            goto oom;
        }
    }
    if (d)
        closedir(d);
    int first_shard = k > 0 && strstr(v[0], "/shards/") == NULL ? 1 : 0;
    qsort(v + first_shard, (size_t)(k - first_shard), sizeof *v, cmp_str);
    *paths = v;
    *n = k;
    return EIN_OK;
oom:
    ein_results_files_free(v, k);
    return ein_err_set(err, EIN_ERR_NOMEM, "out of memory");
}

/* ----------------------------------------------------------------- lists -- */

static bool is_result(const ein_record *r)
{
    return strcmp(r->status, "ok") == 0 || strcmp(r->status, "diverged") == 0;
}

/* Does `rec` replace `old` as the record of its cell?  (results.h) */
static bool supersedes(const ein_record *rec, const ein_record *old)
{
    if (is_result(rec) != is_result(old))
        return is_result(rec);
    if (rec->finished[0] && old->finished[0])
        return strcmp(rec->finished, old->finished) >= 0;
    return true;    /* older records carry no time: the later line wins */
}

/* id -> position in rd->l->rec.  Its keys point into the records (those of
 * earlier shards too), so it is rebuilt whenever they move. */
static bool index_ids(ein_name_index *by_id, const ein_record_list *l)
{
    ein_index_free(by_id);
    for (int i = 0; i < l->n; i++)
        if (!ein_index_put(by_id, l->rec[i].id, i))
            return false;
    return true;
}

/* Add `rec` to the list as the record of its cell (results.h). */
static bool add_record(reader *rd, ein_name_index *by_id, int *rcap, const ein_record *rec)
{
    ein_record_list *out = rd->l;
    int at = ein_index_get(by_id, rec->id);
    if (at >= 0) {
        ein_record *slot = &out->rec[at];
        if (strcmp(slot->run, rec->run) != 0 && supersedes(rec, slot))
            *slot = *rec;   /* else the same attempt seen twice (shard and merged view) */
        return true;
    }
    if (out->n == *rcap) {
        int cap = *rcap ? 2 * *rcap : 64;
        ein_record *grown = realloc(out->rec, (size_t)cap * sizeof *grown);
        if (!grown)
            return false;
        out->rec = grown;
        *rcap = cap;
        if (!index_ids(by_id, out))
            return false;
    }
    int at_new = out->n++;
    out->rec[at_new] = *rec;
    return ein_index_put(by_id, out->rec[at_new].id, at_new);
}

static ein_code read_one(reader *rd, const char *path, int *rcap, ein_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (errno == ENOENT)
            return EIN_OK;
        return ein_err_set(err, EIN_ERR_IO, "%s: cannot read: %s", path, strerror(errno));
    }
    setvbuf(f, NULL, _IOFBF, 1 << 20);     /* a 250 MB file in 1 MB reads, not 4 kB ones */
    ein_record_list *out = rd->l;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    ein_record rec;
    ein_name_index by_id = { 0 };       /* linear in the records (a 100k-cell folder) */
    bool oom = !index_ids(&by_id, out);
    while (!oom && (n = getline(&line, &cap, f)) > 0) {
        out->n_lines++;
        if (line[n - 1] == '\n' && parse_record(rd, line, (size_t)n, &rec))
            oom = !add_record(rd, &by_id, rcap, &rec);
        else if (!(oom = rd->oom))
            out->n_bad++;     /* torn or foreign line: ignored */
    }
    ein_index_free(&by_id);
    free(line);
    bool bad = ferror(f);
    fclose(f);
    if (oom)
        return ein_err_set(err, EIN_ERR_NOMEM, "%s: out of memory", path);
    return bad ? ein_err_set(err, EIN_ERR_IO, "%s: read failed", path) : EIN_OK;
}

typedef struct rec_key {
    int index, seq;
} rec_key;

static int cmp_key(const void *a, const void *b)
{
    const rec_key *x = a, *y = b;
    if (x->index != y->index)
        return x->index < y->index ? -1 : 1;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

/* Expansion order, first seen first among equal indexes (a stable sort). */
static ein_code sort_by_index(ein_record_list *l, ein_err *err)
{
    rec_key *k = malloc((size_t)l->n * sizeof *k);
    ein_record *sorted = malloc((size_t)l->n * sizeof *sorted);
    if (!k || !sorted) {
        free(k);
        free(sorted);
        return ein_err_set(err, EIN_ERR_NOMEM, "out of memory");
    }
    for (int i = 0; i < l->n; i++)
        k[i] = (rec_key){ l->rec[i].index, i };
    qsort(k, (size_t)l->n, sizeof *k, cmp_key);
    for (int i = 0; i < l->n; i++)
        sorted[i] = l->rec[k[i].seq];
    free(k);
    free(l->rec);
    l->rec = sorted;
    return EIN_OK;
}

ein_code ein_results_read(const char *dir, ein_record_list *out, ein_err *err)
{
    memset(out, 0, sizeof *out);
    if (strlen(dir) >= EIN_PATH_MAX)
        return ein_err_set(err, EIN_ERR_USAGE, "%s: results folder name too long", dir);
    reader rd = { .l = out };
    rd.folder = keep_str(&rd, dir, strlen(dir));
    char **paths = NULL;
    int np = 0, rcap = 0;
    ein_code c = rd.oom ? ein_err_set(err, EIN_ERR_NOMEM, "out of memory")
                        : ein_results_files(dir, "cells", &paths, &np, err);
    for (int i = 0; c == EIN_OK && i < np; i++)
        c = read_one(&rd, paths[i], &rcap, err);
    ein_results_files_free(paths, np);
    reader_free(&rd);
    if (c == EIN_OK && out->n > 1)
        c = sort_by_index(out, err);
    if (c != EIN_OK)
        ein_record_list_free(out);
    return c;
}

void ein_record_list_free(ein_record_list *l)
{
    for (struct ein_leaf_block *b = l->blocks, *next; b; b = next) {
        next = b->next;
        free(b);
    }
    free(l->rec);
    memset(l, 0, sizeof *l);
}

ein_code ein_record_list_append(ein_record_list *dst, ein_record_list *src, ein_err *err)
{
    ein_record *grown = realloc(dst->rec, (size_t)(dst->n + src->n + 1) * sizeof *grown);
    if (!grown)
        return ein_err_set(err, EIN_ERR_NOMEM, "out of memory");
    dst->rec = grown;
    memcpy(dst->rec + dst->n, src->rec, (size_t)src->n * sizeof *src->rec);
    dst->n += src->n;
    dst->n_lines += src->n_lines;
    dst->n_bad += src->n_bad;
    struct ein_leaf_block **tail = &dst->blocks;
    while (*tail)
        tail = &(*tail)->next;
    *tail = src->blocks;     /* the blocks stay where they are: the records' pointers hold */
    src->blocks = NULL;
    ein_record_list_free(src);
    return EIN_OK;
}

/* --------------------------------------------------------------- a record -- */

const ein_record *ein_record_find(const ein_record_list *l, const char *id)
{
    for (int i = 0; i < l->n; i++)
        if (strcmp(l->rec[i].id, id) == 0)
            return &l->rec[i];
    return NULL;
}

void ein_record_finder_init(ein_record_finder *f, const ein_record_list *l)
{
    memset(f, 0, sizeof *f);
    f->list = l;
    f->indexed = true;
    for (int i = 0; i < l->n && f->indexed; i++)
        f->indexed = ein_index_put(&f->ids, l->rec[i].id, i);
}

const ein_record *ein_record_finder_get(const ein_record_finder *f, const char *id)
{
    if (!f->indexed)
        return ein_record_find(f->list, id);
    int at = ein_index_get(&f->ids, id);
    return at >= 0 ? &f->list->rec[at] : NULL;
}

void ein_record_finder_free(ein_record_finder *f)
{
    ein_index_free(&f->ids);
    memset(f, 0, sizeof *f);
}

const char *ein_record_binding(const ein_record *rec, const char *name, bool *is_number)
{
    for (int i = 0; i < rec->n_bind; i++)
        if (strcmp(rec->bind[i].name, name) == 0) {
            if (is_number)
                *is_number = rec->bind[i].is_number;
            return rec->bind[i].text;
        }
    return NULL;
}

static void leaf_k(const ein_record *rec, int k, ein_record_leaf *leaf)
{
    const char *t = rec->leaf[k];
    leaf->path = rec->shape->path[k];
    leaf->type = t[0];
    leaf->text = t + 1;
}

bool ein_record_next_leaf(const ein_record *rec, size_t *pos, ein_record_leaf *leaf)
{
    if (!rec->shape || *pos >= (size_t)rec->shape->n)
        return false;
    leaf_k(rec, (int)(*pos)++, leaf);
    return true;
}

/* The index of the first leaf at `prefix` `name` (the two make the path), or -1. */
static int leaf_index(const ein_record *rec, const char *prefix, const char *name)
{
    const struct ein_record_shape *s = rec->shape;
    if (!s)
        return -1;
    size_t np = strlen(prefix);
    uint64_t h = ein_hash_bytes(ein_hash_bytes(EIN_HASH_INIT, prefix, np), name, strlen(name));
    for (size_t i = slot_of(h, s->mask); s->slot[i]; i = (i + 1) & s->mask) {
        const char *p = s->path[s->slot[i] - 1];
        if (strncmp(p, prefix, np) == 0 && strcmp(p + np, name) == 0)
            return s->slot[i] - 1;
    }
    return -1;
}

static const char *leaf_text(const ein_record *rec, int k, char *type)
{
    if (k < 0)
        return NULL;
    ein_record_leaf leaf;
    leaf_k(rec, k, &leaf);
    if (type)
        *type = leaf.type;
    return leaf.text;
}

const char *ein_record_leaf_at(const ein_record *rec, const char *path, char *type)
{
    return leaf_text(rec, leaf_index(rec, "", path), type);
}

const char *ein_record_setting(const ein_record *rec, const char *path, char *type)
{
    return leaf_text(rec, leaf_index(rec, "config/", path), type);
}

ein_layer_metrics ein_record_final_layer(const ein_record *rec, int layer)
{
    ein_layer_metrics m = { NAN, NAN, NAN, NAN, NAN };
    static const char *const key[] = { "mean", "var", "mean_sq", "cos_out", "cos_grad" };
    double *value[] = { &m.mean, &m.var, &m.mean_sq, &m.cos_out, &m.cos_grad };
    for (int k = 0; k < 5 && layer >= 0 && layer < rec->n_final_layers; k++) {
        char path[64], type;
        snprintf(path, sizeof path, "layers/%d/%s", layer, key[k]);
        const char *t = leaf_text(rec, leaf_index(rec, "final/", path), &type);
        if (t)
            *value[k] = number_in(type, t);
    }
    return m;
}

/* ------------------------------------------------------ differing settings -- */

typedef struct setting_col {
    const char *path;           /* the setting */
    const char *value;          /* its type and text in the first record that has it */
    int have;                   /* records that have it */
    bool differs;
} setting_col;

typedef struct setting_cols {
    setting_col *c;
    int n, cap, with_config;    /* with_config: records that carry a "config" */
    const struct ein_record_shape *mapped;
    int *map;                   /* per leaf of `mapped`: its column, or -1 (not a setting) */
} setting_cols;

/* The column of setting `path`, added (with rec's value) when new; -1 when
 * out of memory.  `hint`: the column after the previous setting's, where
 * this one nearly always is (every record lists its settings in one order). */
static int setting_col_of(setting_cols *sc, const char *path, const char *value, int hint)
{
    int j = hint < sc->n && strcmp(sc->c[hint].path, path) == 0 ? hint : 0;
    while (j < sc->n && strcmp(sc->c[j].path, path) != 0)
        j++;
    if (j < sc->n)
        return j;
    if (sc->n == sc->cap) {
        int cap = sc->cap ? 2 * sc->cap : 128;
        setting_col *grown = realloc(sc->c, (size_t)cap * sizeof *grown);
        if (!grown)
            return -1;
        sc->c = grown;
        sc->cap = cap;
    }
    sc->c[sc->n] = (setting_col){ path, value, 0, sc->with_config > 1 };
    return sc->n++;
}

/* Columns for every leaf of rec's shape (made once per shape, not per record). */
static bool map_shape(setting_cols *sc, const ein_record *rec)
{
    const struct ein_record_shape *s = rec->shape;
    int *map = realloc(sc->map, (size_t)(s->n > 0 ? s->n : 1) * sizeof *map);
    if (!map)
        return false;
    sc->map = map;
    sc->mapped = s;
    int hint = 0;
    for (int k = 0; k < s->n; k++) {
        map[k] = -1;
        if (strncmp(s->path[k], "config/", 7) != 0)
            continue;
        if ((map[k] = setting_col_of(sc, s->path[k] + 7, rec->leaf[k], hint)) < 0)
            return false;
        hint = map[k] + 1;
    }
    return true;
}

int ein_records_differing_settings(const ein_record_list *l, const char ***out)
{
    *out = NULL;
    setting_cols sc = { 0 };
    bool oom = false;
    for (int i = 0; i < l->n && !oom; i++) {
        const ein_record *r = &l->rec[i];
        if (r->n_config == 0 || !r->shape)
            continue;
        sc.with_config++;
        if (r->shape != sc.mapped && !map_shape(&sc, r)) {
            oom = true;
            break;
        }
        for (int k = 0; k < r->shape->n && !oom; k++) {
            if (sc.map[k] < 0)
                continue;
            setting_col *c = &sc.c[sc.map[k]];    /* one folder's equal values: one pointer */
            const char *v = r->leaf[k];
            c->differs = c->differs || (v != c->value && strcmp(v, c->value) != 0);
            c->have++;
        }
    }
    const char **paths = oom ? NULL : malloc((size_t)(sc.n > 0 ? sc.n : 1) * sizeof *paths);
    int k = 0;
    for (int j = 0; paths && j < sc.n; j++)
        if (sc.c[j].differs || sc.c[j].have < sc.with_config)
            paths[k++] = sc.c[j].path;
    free(sc.c);
    free(sc.map);
    if (!paths)
        return -1;
    *out = paths;
    return k;
}

/* ------------------------------------------------------------------- CSV -- */

/* Is `s` (n bytes) a CSV field as it stands?  Not when it holds , " CR or
 * LF, or begins or ends with a space (which readers would trim). */
static bool csv_plain(const char *s, size_t n)
{
    bool edge = n > 0 && (isspace((unsigned char)s[0]) || isspace((unsigned char)s[n - 1]));
    return !edge && strpbrk(s, ",\"\r\n") == NULL;
}

void ein_csv_field(FILE *out, const char *s)
{
    if (csv_plain(s, strlen(s))) {
        fputs(s, out);
        return;
    }
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

/* summary.csv is built in memory, some 30 pieces per record: appended to a
 * buffer, not a stream, whose every call takes a lock (OpenBLAS makes
 * einrun multithreaded). */

static void tb_int(ein_textbuf *b, int v)
{
    char t[24];
    ein_format_integer(v, t, sizeof t);
    ein_textbuf_puts(b, t);
}

/* ein_csv_field into the buffer. */
static void tb_field(ein_textbuf *b, const char *s)
{
    size_t n = strlen(s);
    if (csv_plain(s, n)) {
        ein_textbuf_put(b, s, n);
        return;
    }
    ein_textbuf_put(b, "\"", 1);
    for (const char *q; (q = strchr(s, '"')) != NULL; s = q + 1) {
        ein_textbuf_put(b, s, (size_t)(q + 1 - s));
        ein_textbuf_put(b, "\"", 1);            /* a quote doubled */
    }
    ein_textbuf_puts(b, s);
    ein_textbuf_put(b, "\"", 1);
}

static void tb_num(ein_textbuf *b, double x)
{
    char t[EIN_NUM_TEXT_MAX];
    if (isfinite(x))
        ein_textbuf_put(b, t, ein_num_text(x, t));
    else
        ein_textbuf_put(b, "NA", 2);
}

/* The summary.csv columns beyond the fixed ones. */
typedef struct csv_cols {
    const char **bind;          /* binding names (the list's strings), first-seen order */
    int n_bind;
    const char **set;           /* differing settings; NULL where a binding has the name */
    int n_set;
} csv_cols;

#define CSV_MAX_BIND (EIN_RECORD_MAX_BIND * 4)

static bool csv_columns(const ein_record_list *l, csv_cols *cc)
{
    *cc = (csv_cols){ calloc(CSV_MAX_BIND, sizeof *cc->bind), 0, NULL, 0 };
    if (!cc->bind)
        return false;
    for (int i = 0; i < l->n; i++)
        for (int k = 0; k < l->rec[i].n_bind; k++) {
            const char *name = l->rec[i].bind[k].name;
            int j = 0;
            while (j < cc->n_bind && cc->bind[j] != name && strcmp(cc->bind[j], name) != 0)
                j++;
            if (j == cc->n_bind && cc->n_bind < CSV_MAX_BIND)
                cc->bind[cc->n_bind++] = name;
        }
    cc->n_set = ein_records_differing_settings(l, &cc->set);
    if (cc->n_set < 0) {
        free(cc->bind);
        return false;
    }
    for (int s = 0; s < cc->n_set; s++)
        for (int j = 0; j < cc->n_bind && cc->set[s]; j++)
            if (strcmp(cc->bind[j], cc->set[s]) == 0)
                cc->set[s] = NULL;     /* a binding of the same name has the column */
    return true;
}

static void csv_header(ein_textbuf *b, const csv_cols *cc)
{
    ein_textbuf_puts(b, "id,experiment");
    for (int j = 0; j < cc->n_bind; j++) {
        ein_textbuf_put(b, ",", 1);
        tb_field(b, cc->bind[j]);
    }
    for (int s = 0; s < cc->n_set; s++)
        if (cc->set[s]) {
            ein_textbuf_put(b, ",", 1);
            tb_field(b, cc->set[s]);
        }
    ein_textbuf_puts(b, ",status,epochs,final_test_acc,best_test_acc,best_epoch,final_train_acc,"
              "final_task_loss,final_inorm_loss,final_test_loss,seconds,message\n");
}

static void csv_row(ein_textbuf *b, const csv_cols *cc, const ein_record *r)
{
    ein_textbuf_puts(b, r->id);
    ein_textbuf_put(b, ",", 1);
    tb_field(b, r->experiment);
    for (int j = 0; j < cc->n_bind; j++) {
        const char *v = ein_record_binding(r, cc->bind[j], NULL);
        ein_textbuf_put(b, ",", 1);
        tb_field(b, v ? v : "NA");
    }
    for (int s = 0; s < cc->n_set; s++) {
        if (!cc->set[s])
            continue;
        char type;
        const char *v = ein_record_setting(r, cc->set[s], &type);
        ein_textbuf_put(b, ",", 1);
        tb_field(b, v && type != 'z' ? v : "NA");
    }
    ein_textbuf_put(b, ",", 1);
    ein_textbuf_puts(b, r->status);
    ein_textbuf_put(b, ",", 1);
    tb_int(b, r->epochs);
    double v[] = { r->final_test_acc, r->best_test_acc, NAN, r->final_train_acc, r->final_task_loss,
                   r->final_inorm_loss, r->final_test_loss, r->seconds };
    for (size_t k = 0; k < sizeof v / sizeof v[0]; k++) {
        ein_textbuf_put(b, ",", 1);
        if (k != 2)
            tb_num(b, v[k]);
        else if (r->epochs > 0 && r->best_epoch > 0)     /* best_epoch, between the accuracies */
            tb_int(b, r->best_epoch);
        else
            ein_textbuf_put(b, "NA", 2);
    }
    ein_textbuf_put(b, ",", 1);
    tb_field(b, r->message[0] ? r->message : "NA");
    ein_textbuf_put(b, "\n", 1);
}

ein_code ein_results_write_summary_csv_of(const char *dir, const ein_record_list *l, ein_err *err)
{
    csv_cols cc;
    if (!csv_columns(l, &cc))
        return ein_err_set(err, EIN_ERR_NOMEM, "out of memory");
    ein_textbuf b = { 0 };
    csv_header(&b, &cc);
    for (int i = 0; i < l->n; i++)
        csv_row(&b, &cc, &l->rec[i]);
    char path[EIN_PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/summary.csv", dir);
    ein_code c = b.oom ? ein_err_set(err, EIN_ERR_NOMEM, "out of memory")
                       : ein_write_file_atomic(path, b.p, b.len, err);
    free(cc.bind);
    free(cc.set);
    ein_textbuf_free(&b);
    return c;
}

ein_code ein_results_write_summary_csv(const char *dir, ein_err *err)
{
    ein_record_list l;
    ein_code c = ein_results_read(dir, &l, err);
    if (c != EIN_OK)
        return c;
    c = ein_results_write_summary_csv_of(dir, &l, err);
    ein_record_list_free(&l);
    return c;
}
