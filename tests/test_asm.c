#include <criterion/criterion.h>
Test(asm, placeholder) { cr_expect(1); }
