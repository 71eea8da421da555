/*
 * cmd_run.c -- `accelsim run`. Filled in by the simulator-core work.
 */
#include "sim/cli.h"

const char cmd_run_usage[] =
"usage: accelsim run GRAPH.yaml|PROGRAM.s [--chip CHIP.yaml] [options]\n"
"\n"
"Simulate a graph (or a hand-written assembly program) on a chip and print a summary.\n"
"Without --chip the built-in default chip (trn1) is used.\n";

int cmd_run(int argc, char **argv)
{
	(void)argc;
	return cli_not_yet(argv[0]);
}
