/* hash.c — FNV-1a and the name table (include/ein/hash.h): open addressing
 * with linear probing, at most half full. */
#include "ein/hash.h"

#include <stdlib.h>
#include <string.h>

uint64_t ein_hash_bytes(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

uint64_t ein_hash_str(const char *s)
{
    return ein_hash_bytes(EIN_HASH_INIT, s, strlen(s));
}

/* The slot holding key, or the empty slot where it would go. */
static ein_index_slot *probe(const ein_name_index *t, const char *key, uint64_t h)
{
    size_t mask = t->cap - 1;
    for (size_t i = (size_t)(h ^ h >> 29) & mask;; i = (i + 1) & mask) {
        ein_index_slot *s = &t->slots[i];
        if (!s->key || (s->hash == h && strcmp(s->key, key) == 0))
            return s;
    }
}

int ein_index_get(const ein_name_index *t, const char *key)
{
    if (t->cap == 0)
        return -1;
    const ein_index_slot *s = probe(t, key, ein_hash_str(key));
    return s->key ? s->value : -1;
}

size_t ein_index_needed(const ein_name_index *t)
{
    if (2 * (t->n + 1) <= t->cap)
        return 0;
    return t->cap ? 2 * t->cap : 16;
}

ein_index_slot *ein_index_grow_to(ein_name_index *t, ein_index_slot *fresh, size_t cap)
{
    ein_index_slot *old = t->slots;
    size_t old_cap = t->cap;
    t->slots = fresh;
    t->cap = cap;
    for (size_t i = 0; i < old_cap; i++)
        if (old[i].key)
            *probe(t, old[i].key, old[i].hash) = old[i];
    return old;
}

void ein_index_set(ein_name_index *t, const char *key, int value)
{
    uint64_t h = ein_hash_str(key);
    ein_index_slot *s = probe(t, key, h);
    if (!s->key)
        t->n++;
    *s = (ein_index_slot){ .key = key, .hash = h, .value = value };
}

bool ein_index_put(ein_name_index *t, const char *key, int value)
{
    size_t cap = ein_index_needed(t);
    if (cap) {
        ein_index_slot *fresh = calloc(cap, sizeof *fresh);
        if (!fresh)
            return false;
        free(ein_index_grow_to(t, fresh, cap));
    }
    ein_index_set(t, key, value);
    return true;
}

void ein_index_free(ein_name_index *t)
{
    free(t->slots);
    *t = (ein_name_index){ 0 };
}
