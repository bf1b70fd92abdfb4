/* hash.h — the one hash of the code base (64-bit FNV-1a) and a table from
 * names to indices built on it.
 *
 * The table maps a NUL-terminated key to an int (an index into the caller's
 * own array).  Keys are borrowed, not copied: they must outlive the table
 * (AST strings, record ids).  Putting a key again replaces its value, so a
 * scope that allows shadowing finds the latest definition.
 *
 * Storage: ein_index_put grows the table with malloc; ein_index_free
 * releases it.  Arena users (eval.c) call ein_index_grow_to with memory of
 * their own and never free. */
#ifndef EIN_HASH_H
#define EIN_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EIN_HASH_INIT 0xcbf29ce484222325ull

/* FNV-1a of n bytes, continuing from h (EIN_HASH_INIT to start). */
uint64_t ein_hash_bytes(uint64_t h, const void *p, size_t n);
uint64_t ein_hash_str(const char *s);

typedef struct ein_index_slot {
    const char *key;     /* NULL: empty */
    uint64_t hash;
    int value;
} ein_index_slot;

typedef struct ein_name_index {
    ein_index_slot *slots;
    size_t cap;          /* 0 or a power of two */
    size_t n;
} ein_name_index;

/* The value of key, or -1. */
int ein_index_get(const ein_name_index *t, const char *key);

/* Set key's value (replacing an old one).  false when out of memory. */
bool ein_index_put(ein_name_index *t, const char *key, int value);

/* The capacity the table needs before one more key, or 0 if it has room. */
size_t ein_index_needed(const ein_name_index *t);
/* Move the entries into `fresh` (cap zeroed slots, cap a power of two
 * larger than n); returns the old slot array for the caller to release. */
ein_index_slot *ein_index_grow_to(ein_name_index *t, ein_index_slot *fresh, size_t cap);
/* Set with room already ensured (ein_index_needed returned 0). */
void ein_index_set(ein_name_index *t, const char *key, int value);

void ein_index_free(ein_name_index *t);

#endif
