/*
 * test_alloc.c -- the allocation hook: installed hooks are used, overflow is refused, and an
 * out-of-memory hook makes the helpers fail cleanly.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sim/alloc.h"
#include "sim/error.h"

struct counting { long allocs, frees, fail_after; };

static void *counting_alloc(void *ud, void *ptr, size_t size)
{
	struct counting *c = ud;
	if (size == 0) {
		if (ptr != NULL)
			c->frees++;
		free(ptr);
		return NULL;
	}
	if (c->fail_after >= 0 && c->allocs >= c->fail_after)
		return NULL;
	if (ptr == NULL)
		c->allocs++;
	return realloc(ptr, size);
}

Test(alloc, hook_sees_every_allocation_and_free)
{
	struct counting c = {0, 0, -1};
	asim_set_allocator(counting_alloc, &c);
	char *s = asim_strdup("hello");
	int *v = asim_calloc(10, sizeof *v);
	cr_assert_not_null(s);
	cr_assert_not_null(v);
	for (int i = 0; i < 10; i++)
		cr_expect_eq(v[i], 0);
	cr_expect_str_eq(s, "hello");
	asim_free(s);
	asim_free(v);
	asim_free(NULL);
	asim_set_allocator(NULL, NULL);
	cr_expect_eq(c.allocs, 2);
	cr_expect_eq(c.frees, 2);
}

Test(alloc, multiplication_overflow_is_refused)
{
	cr_expect_null(asim_calloc(SIZE_MAX / 2, 3));
	cr_expect_null(asim_reallocarray(NULL, SIZE_MAX / 4, 8));
}

Test(alloc, grow_doubles_and_reports_out_of_memory)
{
	struct counting c = {0, 0, 1};  /* the first allocation succeeds, then nothing */
	asim_set_allocator(counting_alloc, &c);
	int *a = NULL;
	size_t cap = 0;
	cr_expect_eq(asim_grow((void **)&a, &cap, 5, sizeof *a), ASIM_OK);
	cr_expect_geq(cap, 5);
	size_t before = cap;
	a[4] = 42;
	/* a realloc of an existing block is not a new allocation, so make the hook refuse it too */
	c.fail_after = 0;
	cr_expect_eq(asim_grow((void **)&a, &cap, before * 4, sizeof *a), ASIM_ENOMEM);
	cr_expect_eq(cap, before);
	cr_expect_eq(a[4], 42);
	cr_expect_null(asim_strdup("x"));
	asim_free(a);
	asim_set_allocator(NULL, NULL);
}
