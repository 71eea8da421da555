/*
 * cmd_run.c -- `accelsim run`: simulate a graph or an assembly program on a chip (docs/run.md).
 *
 *     GRAPH.yaml ─ graph_load_file ─ lower_graph ─┐
 *                                                  ├─ engine_run ─ summary (stdout, --summary JSON)
 *     PROGRAM.s / .bin ─ asm_parse / asm_decode ───┘
 *
 * The chip is --chip (a shipped name or a YAML file) or the built-in default (trn1). The program
 * runs on core 0; the chip's other cores idle.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "isa/asm.h"
#include "isa/lower.h"
#include "sim/alloc.h"
#include "sim/chip.h"
#include "sim/cli.h"
#include "sim/fileio.h"
#include "sim/engine.h"
#include "sim/graph.h"
#include "sim/report.h"
#include "traces/outfile.h"

const char cmd_run_usage[] =
"usage: accelsim run GRAPH.yaml|PROGRAM.s|PROGRAM.bin [--chip CHIP] [--summary FILE.json]\n"
"                    [--seed N] [--top N]\n"
"\n"
"Simulate a graph (lowered to instructions for the chip) or a hand-written assembly program on\n"
"one core of a chip and print a summary: latency (ns and core cycles), achieved vs peak FLOP/s,\n"
"engine utilisation, HBM traffic and bandwidth, SBUF/PSUM high-water marks, the slowest ops.\n"
"\n"
"  --chip CHIP          a shipped chip name (trn1, trn2, inf2, ...) or a chip YAML file;\n"
"                       default: the built-in trn1\n"
"  --summary FILE.json  also write the summary as JSON (units in every key; docs/run.md)\n"
"  --seed N             the run's seed (recorded in the summary; default: the chip's)\n"
"  --top N              how many slowest ops to list (default 5, at most 64)\n"
"\n"
"A file ending in .s is assembly, a file starting with the program magic is a binary program\n"
"(accelsim asm assemble), anything else is a graph. Exit status: 0 ok, 2 bad input or usage\n"
"(including a program that deadlocks), 1 other failure.\n";

static int ends_with(const char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);
	return a >= b && strcmp(s + a - b, suf) == 0;
}

int cmd_run(int argc, char **argv)
{
	const char *cmd = "run";
	if (cli_wants_help(argc, argv)) {
		fputs(cmd_run_usage, stdout);
		return 0;
	}
	const char *in = NULL, *chipspec = NULL, *summary = NULL;
	uint64_t seed = 0, top = 5;
	int have_seed = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--chip") == 0 || strcmp(a, "--summary") == 0 || strcmp(a, "--seed") == 0 ||
		    strcmp(a, "--top") == 0) {
			if (i + 1 >= argc)
				return cli_usage_error(cmd, "%s needs a value", a);
			const char *v = argv[++i];
			if (strcmp(a, "--chip") == 0)
				chipspec = v;
			else if (strcmp(a, "--summary") == 0)
				summary = v;
			else if (strcmp(a, "--seed") == 0) {
				if (cli_parse_u64(v, &seed) != 0)
					return cli_usage_error(cmd, "--seed needs an unsigned 64-bit integer");
				have_seed = 1;
			} else if (cli_parse_u64(v, &top) != 0 || top < 1 || top > 64)
				return cli_usage_error(cmd, "--top needs a number from 1 to 64");
		} else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			fputs(cmd_run_usage, stdout);
			return 0;
		} else if (a[0] == '-' && a[1] != '\0') {
			char esc[64];
			asim_escape(esc, sizeof esc, a);
			return cli_usage_error(cmd, "unknown option '%s'", esc);
		} else if (in == NULL) {
			in = a;
		} else {
			return cli_usage_error(cmd, "one input file only");
		}
	}
	if (in == NULL)
		return cli_usage_error(cmd, "missing GRAPH.yaml or PROGRAM.s");

	asim_err e;
	asim_err_init(&e);
	chip c;
	memset(&c, 0, sizeof c);
	int have_chip = 0, have_graph = 0;
	isa_program p;
	isa_program_init(&p);
	engine_result r;
	memset(&r, 0, sizeof r);
	char *buf = NULL;
	size_t len = 0;
	char hash[17];
	const char *kind = "program";
	graph g;
	memset(&g, 0, sizeof g);
	int rc = asim_read_file(in, &buf, &len, &e);
	if (rc)
		goto done;
	report_hash(buf, len, hash);
	rc = chipspec ? chip_load(&c, chipspec, &e) : chip_load_default(&c, &e);
	if (rc)
		goto done;
	have_chip = 1;
	if (len >= 8 && memcmp(buf, ASM_MAGIC, 8) == 0) {
		rc = asm_decode(in, (const unsigned char *)buf, len, &p, &e);
	} else if (ends_with(in, ".s") || ends_with(in, ".asm")) {
		asm_srcmap m;
		rc = asm_parse(in, buf, len, &p, &m, &e);
		if (rc == 0) {
			rc = asm_check(&p, &m, &c, &e);
			asm_srcmap_fini(&m);
		}
	} else {
		kind = "graph";
		rc = graph_load_file(&g, in, &e);
		if (rc)
			goto done;
		have_graph = 1;
		memcpy(hash, g.hash, sizeof hash);
		lower_opts lo = {0};
		rc = lower_graph(&g, &c, &lo, &p, &e);
	}
	if (rc)
		goto done;
	if ((rc = engine_run(&c, &p, NULL, &r, &e)) != 0)
		goto done;
	{
		const char **names = NULL;
		uint32_t nnames = 0;
		if (have_graph && g.n_ops > 0) {
			names = asim_calloc(g.n_ops, sizeof *names);
			if (names)
				for (size_t i = 0; i < g.n_ops; i++)
					names[i] = g.ops[i].name;
			nnames = names ? (uint32_t)g.n_ops : 0;
		}
		report_meta meta = {PACKAGE_VERSION, in, kind, hash, have_seed ? seed : c.num.seed,
		                    names, nnames, (uint32_t)top, 0, 0};
		if (have_graph) {          /* model FLOPs: the graph's work, not what the program repeats */
			meta.has_model_flops = 1;
			meta.model_flops = g.total_flops;
		}
		outfile f;
		if (summary) {
			if ((rc = outfile_open(&f, summary, &e)) == 0) {
				report_json(&f, &c, &r, &meta);
				rc = outfile_commit(&f, &e);
			}
		}
		if (rc == 0 && (rc = outfile_open(&f, "-", &e)) == 0) {
			report_text(&f, &c, &r, &meta);
			rc = outfile_commit(&f, &e);
		}
		asim_free(names);
	}
done:
	asim_free(buf);
	engine_result_fini(&r);
	isa_program_fini(&p);
	if (have_graph)
		graph_fini(&g);
	if (have_chip)
		chip_fini(&c);
	(void)have_chip;
	(void)have_graph;
	return rc ? cli_report(cmd, &e) : 0;
}
