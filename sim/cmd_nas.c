/*
 * cmd_nas.c -- `accelsim nas sample`: candidate graphs from a NAS search space (sim/nas.h,
 * docs/estimators.md "NAS candidates").
 *
 *     SPEC.yaml ─ nas_spec_load_file (validated whole) ─ nas_write ─► DIR/cand_00000.yaml ...
 *                                                                     DIR/index.csv
 *
 * The spec is checked completely before anything is written; DIR appears only when every file is
 * complete (it is built in a temporary directory beside it and renamed).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "sim/cli.h"
#include "sim/nas.h"

const char cmd_nas_usage[] =
"usage: accelsim nas sample SPEC.yaml -n N -o DIR --seed S\n"
"\n"
"Sample N candidate graphs, uniformly, from a neural-architecture search space (a MobileNetV2-style\n"
"space of expansion ratios, kernel sizes, channels, depths, block types, resolution and batch; see\n"
"models/nas/mobilenetv2_space.yaml and docs/estimators.md, \"NAS candidates\").\n"
"\n"
"  -n N        how many candidates (1 to 100000)\n"
"  -o DIR      output directory; must not exist or be empty. It receives cand_00000.yaml, ...\n"
"              (graph YAML, one fusion group per block) and index.csv (one row per candidate:\n"
"              the choices, MACs, parameters, graph hash)\n"
"  --seed S    the sampling seed (unsigned 64-bit): the same seed gives the same files\n"
"\n"
"Candidates that break the spec's constraints (MAC and parameter bounds) are redrawn, at most\n"
"max_attempts times each. Exit status: 0 ok, 2 bad spec or usage (then DIR is not created),\n"
"1 other failure.\n";

int cmd_nas(int argc, char **argv)
{
	const char *cmd = "nas";
	if (cli_wants_help(argc, argv) || argc < 2) {
		if (argc < 2)
			return cli_usage_error(cmd, "missing subcommand 'sample'");
		fputs(cmd_nas_usage, stdout);
		return 0;
	}
	if (strcmp(argv[1], "sample") != 0) {
		char esc[64];
		asim_escape(esc, sizeof esc, argv[1]);
		return cli_usage_error(cmd, "unknown subcommand '%s' (the one subcommand is 'sample')", esc);
	}
	const char *spec = NULL, *dir = NULL;
	uint64_t n = 0, seed = 0;
	int have_n = 0, have_seed = 0;
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "-n") == 0 || strcmp(a, "-o") == 0 || strcmp(a, "--seed") == 0) {
			if (i + 1 >= argc)
				return cli_usage_error(cmd, "%s needs a value", a);
			const char *v = argv[++i];
			if (strcmp(a, "-o") == 0) {
				dir = v;
			} else if (strcmp(a, "-n") == 0) {
				if (cli_parse_u64(v, &n) != 0 || n < 1 || n > NAS_MAX_N)
					return cli_usage_error(cmd, "-n needs a number from 1 to %d", NAS_MAX_N);
				have_n = 1;
			} else {
				if (cli_parse_u64(v, &seed) != 0)
					return cli_usage_error(cmd, "--seed needs an unsigned 64-bit integer");
				have_seed = 1;
			}
		} else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			fputs(cmd_nas_usage, stdout);
			return 0;
		} else if (a[0] == '-' && a[1] != '\0') {
			char esc[64];
			asim_escape(esc, sizeof esc, a);
			return cli_usage_error(cmd, "unknown option '%s'", esc);
		} else if (spec == NULL) {
			spec = a;
		} else {
			return cli_usage_error(cmd, "one spec file only");
		}
	}
	if (spec == NULL)
		return cli_usage_error(cmd, "missing SPEC.yaml");
	if (!have_n)
		return cli_usage_error(cmd, "missing -n N");
	if (dir == NULL)
		return cli_usage_error(cmd, "missing -o DIR");
	if (!have_seed)
		return cli_usage_error(cmd, "missing --seed S (the seed is part of the result: state it)");

	asim_err e;
	asim_err_init(&e);
	nas_spec s;
	int rc = nas_spec_load_file(&s, spec, &e);
	if (rc == 0)
		rc = nas_write(&s, seed, n, dir, &e);
	nas_spec_fini(&s);
	if (rc)
		return cli_report(cmd, &e);
	return 0;
}
