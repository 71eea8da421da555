#include <criterion/criterion.h>
Test(isa, placeholder) { cr_expect(1); }
