/*
 * alloc.c -- the allocation hook (see alloc.h).
 */
#include "sim/alloc.h"
#include "sim/error.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void *libc_alloc(void *ud, void *ptr, size_t size)
{
	(void)ud;
	if (size == 0) {
		free(ptr);
		return NULL;
	}
	return realloc(ptr, size);
}

static asim_alloc_fn hook = libc_alloc;
static void *hook_ud;

void asim_set_allocator(asim_alloc_fn fn, void *ud)
{
	hook = fn ? fn : libc_alloc;
	hook_ud = fn ? ud : NULL;
}

void *asim_malloc(size_t size)
{
	return hook(hook_ud, NULL, size ? size : 1);
}

void *asim_calloc(size_t n, size_t size)
{
	if (size != 0 && n > SIZE_MAX / size)
		return NULL;
	size_t total = n * size;
	void *p = asim_malloc(total);
	if (p != NULL)
		memset(p, 0, total ? total : 1);
	return p;
}

void *asim_realloc(void *ptr, size_t size)
{
	return hook(hook_ud, ptr, size ? size : 1);
}

void *asim_reallocarray(void *ptr, size_t n, size_t size)
{
	if (size != 0 && n > SIZE_MAX / size)
		return NULL;
	return asim_realloc(ptr, n * size);
}

void asim_free(void *ptr)
{
	if (ptr != NULL)
		hook(hook_ud, ptr, 0);
}

char *asim_strndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *d = asim_malloc(len + 1);
	if (d != NULL) {
		memcpy(d, s, len);
		d[len] = '\0';
	}
	return d;
}

char *asim_strdup(const char *s)
{
	return asim_strndup(s, SIZE_MAX);
}

int asim_grow(void **ptr, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return ASIM_OK;
	size_t ncap = *cap ? *cap : 8;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2)
			return ASIM_ENOMEM;
		ncap *= 2;
	}
	void *p = asim_reallocarray(*ptr, ncap, elem);
	if (p == NULL)
		return ASIM_ENOMEM;
	*ptr = p;
	*cap = ncap;
	return ASIM_OK;
}
