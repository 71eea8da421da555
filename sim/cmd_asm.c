/*
 * cmd_asm.c -- `accelsim asm`. Filled in by the simulator-core work.
 */
#include "sim/cli.h"

const char cmd_asm_usage[] =
"usage: accelsim asm (assemble|disassemble|check) FILE [-o OUT]\n"
"\n"
"Assemble, disassemble or check an instruction program.\n";

int cmd_asm(int argc, char **argv)
{
	(void)argc;
	return cli_not_yet(argv[0]);
}
