/*
 * alloc.h -- the one allocation hook.
 *
 * All heap memory of libaccelsim goes through asim_malloc/asim_calloc/asim_realloc/asim_free, which
 * call the allocator installed with asim_set_allocator() (the C library's by default). Tests
 * install a failing allocator to check that every out-of-memory path returns ASIM_ENOMEM cleanly
 * instead of crashing (zlib's zalloc, Lua's lua_Alloc).
 *
 * Contract of the hook (one function, as Lua's):
 *     ptr == NULL, size > 0   allocate `size` bytes
 *     ptr != NULL, size > 0   resize to `size` bytes (contents kept up to the smaller size)
 *     size == 0               free `ptr` (may be NULL) and return NULL
 * It returns NULL when it cannot allocate; the original block then stays valid.
 * Install it before any other call into the library and before threads start: the hook itself is
 * a process-wide setting read without locks, so it must be thread-safe.
 *
 * The helpers check multiplication overflow: asim_calloc(n, sz) and asim_reallocarray(p, n, sz)
 * return NULL when n*sz does not fit in size_t.
 */
#ifndef ASIM_ALLOC_H
#define ASIM_ALLOC_H

#include <stddef.h>

typedef void *(*asim_alloc_fn)(void *ud, void *ptr, size_t size);

/* Install `fn` with its user data `ud`; NULL restores the C library's allocator. */
void asim_set_allocator(asim_alloc_fn fn, void *ud);

void *asim_malloc(size_t size);
void *asim_calloc(size_t n, size_t size);                   /* zero-filled */
void *asim_realloc(void *ptr, size_t size);
void *asim_reallocarray(void *ptr, size_t n, size_t size);
void asim_free(void *ptr);
char *asim_strdup(const char *s);
char *asim_strndup(const char *s, size_t n);

/* Grow an array held in (*ptr, *cap) so it holds at least `need` elements of `elem` bytes,
 * doubling the capacity. Returns 0 or ASIM_ENOMEM (the array is unchanged then). */
int asim_grow(void **ptr, size_t *cap, size_t need, size_t elem);

#endif
