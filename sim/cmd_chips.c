/*
 * cmd_chips.c -- `accelsim chips`. Filled in by the chip-format work.
 */
#include "sim/cli.h"

const char cmd_chips_usage[] =
"usage: accelsim chips [DIR]\n"
"\n"
"List the built-in and shipped chips with their headline numbers.\n";

int cmd_chips(int argc, char **argv)
{
	(void)argc;
	return cli_not_yet(argv[0]);
}
