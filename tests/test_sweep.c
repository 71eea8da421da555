#include <criterion/criterion.h>
Test(sweep, placeholder){cr_assert(1);}
