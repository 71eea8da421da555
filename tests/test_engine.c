#include <criterion/criterion.h>
Test(engine, placeholder) { cr_expect(1); }
