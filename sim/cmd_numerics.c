/*
 * cmd_numerics.c -- `accelsim numerics`. Filled in by the numerics work.
 */
#include "sim/cli.h"

const char cmd_numerics_usage[] =
"usage: accelsim numerics convert --to FMT --round MODE [options] VALUE...\n"
"       accelsim numerics check SPEC.yaml [--golden FILE] [--update-golden]\n"
"\n"
"Convert values between number formats; run the numerics regression harness.\n";

int cmd_numerics(int argc, char **argv)
{
	(void)argc;
	return cli_not_yet(argv[0]);
}
