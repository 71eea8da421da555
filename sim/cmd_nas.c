/*
 * cmd_nas.c -- `accelsim nas`. Filled in by the estimator work.
 */
#include "sim/cli.h"

const char cmd_nas_usage[] =
"usage: accelsim nas sample SPEC.yaml -n N -o DIR --seed S\n"
"\n"
"Sample candidate graphs from a neural-architecture search space.\n";

int cmd_nas(int argc, char **argv)
{
	(void)argc;
	return cli_not_yet(argv[0]);
}
