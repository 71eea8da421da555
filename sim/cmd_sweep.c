/*
 * cmd_sweep.c -- `accelsim sweep`. Filled in by the dataset work.
 */
#include "sim/cli.h"

const char cmd_sweep_usage[] =
"usage: accelsim sweep SPEC.yaml -o DATA.csv[.gz] [--chip CHIP.yaml] [--jobs N] [--shard I/N] [--resume]\n"
"       accelsim sweep --merge -o DATA.csv[.gz] PART.csv[.gz]...\n"
"\n"
"Generate a per-operator latency dataset from a sweep spec.\n";

int cmd_sweep(int argc, char **argv)
{
	(void)argc;
	return cli_not_yet(argv[0]);
}
