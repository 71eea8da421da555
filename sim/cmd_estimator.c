/*
 * cmd_estimator.c -- `accelsim estimator`. Filled in by the estimator work.
 */
#include "sim/cli.h"

const char cmd_estimator_usage[] =
"usage: accelsim estimator fit DATA.csv[.gz]... -o MODEL\n"
"       accelsim estimator predict GRAPH.yaml --model MODEL\n"
"       accelsim estimator validate --model MODEL (GRAPH.yaml... | --population DIR)\n"
"\n"
"Fit, apply and validate per-operator latency estimators.\n";

int cmd_estimator(int argc, char **argv)
{
	(void)argc;
	return cli_not_yet(argv[0]);
}
