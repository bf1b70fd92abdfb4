/* cell.c — the expanded cell list (include/ein/cell.h).
 *
 * A delta is a run of records, each one an 8-byte word offset (u16), a word
 * count (u16) and that many words of the configuration: the words that differ
 * from the base.  ein_cell_config holds doubles, so its size is a multiple of
 * 8 and its words are aligned; padding bytes are copied like any other, so a
 * configuration comes back byte for byte. */
#include "ein/cell.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define WORDS (sizeof(ein_cell_config) / 8)
#define BLOCK_BYTES (1u << 20)
_Static_assert(sizeof(ein_cell_config) % 8 == 0, "configs are whole words");
_Static_assert(WORDS < 65536, "a word offset fits 16 bits");

typedef struct delta_block {
    struct delta_block *next;
    size_t used, cap;
    unsigned char bytes[];
} delta_block;

struct ein_cell_store {
    ein_cell_config base;
    bool has_base;
    delta_block *blocks;              /* newest first */
};

void ein_cell_list_free(ein_cell_list *list)
{
    if (!list)
        return;
    for (int i = 0; i < list->n; i++)
        free(list->cells[i].bindings);
    free(list->cells);
    if (list->store) {
        for (delta_block *b = list->store->blocks, *next; b; b = next) {
            next = b->next;
            free(b);
        }
        free(list->store);
    }
    list->cells = NULL;
    list->store = NULL;
    list->n = 0;
}

const ein_cell_config *ein_cell_config_of(const ein_cell *cell, ein_cell_config *out)
{
    memcpy(out, cell->base, sizeof *out);
    unsigned char *words = (unsigned char *)out;
    for (unsigned at = 0; at < cell->delta_len;) {
        uint16_t off, n;
        memcpy(&off, cell->delta + at, 2);
        memcpy(&n, cell->delta + at + 2, 2);
        memcpy(words + (size_t)off * 8, cell->delta + at + 4, (size_t)n * 8);
        at += 4u + 8u * n;
    }
    return out;
}

void ein_cell_set_config(ein_cell *cell, const ein_cell_config *cfg)
{
    cell->base = cfg;
    cell->delta = NULL;
    cell->delta_len = 0;
}

/* Room for `n` bytes in the store's newest block. */
static unsigned char *store_alloc(struct ein_cell_store *s, size_t n)
{
    delta_block *b = s->blocks;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > BLOCK_BYTES ? n : BLOCK_BYTES;
        b = malloc(sizeof *b + cap);
        if (!b)
            return NULL;
        b->next = s->blocks;
        b->used = 0;
        b->cap = cap;
        s->blocks = b;
    }
    unsigned char *p = b->bytes + b->used;
    b->used += n;
    return p;
}

static bool same_word(const unsigned char *a, const unsigned char *b, size_t w)
{
    uint64_t x, y;                    /* memcpy: no alignment assumed, one load each */
    memcpy(&x, a + w * 8, 8);
    memcpy(&y, b + w * 8, 8);
    return x == y;
}

/* The delta of `cfg` against `base` into buf; returns its length.  Runs are
 * maximal, so no two touch: the longest delta is one run of every word. */
static size_t encode(const ein_cell_config *base, const ein_cell_config *cfg, unsigned char *buf)
{
    const unsigned char *a = (const unsigned char *)base, *b = (const unsigned char *)cfg;
    size_t len = 0;
    for (size_t w = 0; w < WORDS;) {
        /* most of a config equals the base: skip it 64 bytes at a time */
        if (w % 8 == 0 && w + 8 <= WORDS && memcmp(a + w * 8, b + w * 8, 64) == 0) {
            w += 8;
            continue;
        }
        if (same_word(a, b, w)) {
            w++;
            continue;
        }
        size_t end = w + 1;
        while (end < WORDS && !same_word(a, b, end))
            end++;
        uint16_t off = (uint16_t)w, n = (uint16_t)(end - w);
        memcpy(buf + len, &off, 2);
        memcpy(buf + len + 2, &n, 2);
        memcpy(buf + len + 4, b + w * 8, (size_t)n * 8);
        len += 4 + (size_t)n * 8;
        w = end;
    }
    return len;
}

bool ein_cell_list_store_config(ein_cell_list *list, ein_cell *cell, const ein_cell_config *cfg)
{
    if (!list->store) {
        list->store = calloc(1, sizeof *list->store);
        if (!list->store)
            return false;
    }
    struct ein_cell_store *s = list->store;
    if (!s->has_base) {
        memcpy(&s->base, cfg, sizeof s->base);
        s->has_base = true;
    }
    unsigned char buf[WORDS * 8 + 4];     /* the worst case: one run of every word */
    size_t len = encode(&s->base, cfg, buf);
    unsigned char *kept = len ? store_alloc(s, len) : NULL;
    if (len && !kept)
        return false;
    if (len)
        memcpy(kept, buf, len);
    cell->base = &s->base;
    cell->delta = kept;
    cell->delta_len = (unsigned)len;
    return true;
}

const ein_binding *ein_cell_binding(const ein_cell *cell, const char *name)
{
    for (int i = 0; i < cell->n_bindings; i++)
        if (strcmp(cell->bindings[i].name, name) == 0)
            return &cell->bindings[i];
    return NULL;
}
