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
#include "sim/engine.h"
#include "sim/graph.h"
#include "sim/report.h"
#include "traces/outfile.h"
#include "traces/tracer.h"

const char cmd_run_usage[] =
"usage: accelsim run GRAPH.yaml|PROGRAM.s|PROGRAM.bin [--chip CHIP] [--summary FILE.json]\n"
"                    [--seed N] [--top N] [--trace FILE.json[.gz]] [--trace-level op|inst]\n"
"                    [--ops FILE.csv[.gz]] [--memory FILE.csv[.gz]] [--memory-budget SIZE]\n"
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
"  --trace FILE.json    Chrome trace-event JSON for Perfetto / chrome://tracing: a track per\n"
"                       engine and DMA queue, an event per instruction, op spans, counters\n"
"                       (SBUF, PSUM, HBM footprint, HBM bandwidth, power); .gz compresses\n"
"  --trace-level L      inst (default): every instruction; op: op spans and counters only\n"
"  --ops FILE.csv       one row per graph op: features, latency, busy, stalls, bytes, energy\n"
"  --memory FILE.csv    SBUF / PSUM / HBM occupancy over time\n"
"  --memory-budget SIZE does weights + peak activations fit in SIZE (bytes, or with a unit:\n"
"                       KB MB GB TB = 10^3.., KiB MiB GiB TiB = 2^10..; e.g. 24GiB)? A graph\n"
"                       that does not fit exits with status 3 (outputs are still written)\n"
"\n"
"A file ending in .s is assembly, a file starting with the program magic is a binary program\n"
"(accelsim asm assemble), anything else is a graph. Exit status: 0 ok, 2 bad input or usage\n"
"(including a program that deadlocks), 3 the graph does not fit --memory-budget, 1 other failure.\n"
"Output files are written to a temporary name and renamed when complete (docs/traces.md).\n";

static int read_all(const char *path, unsigned char **buf, size_t *len, asim_err *e)
{
	char esc[256];
	asim_escape(esc, sizeof esc, path);
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return asim_errorf(e, ASIM_ENOENT, "%s: cannot open", esc);
	size_t cap = 1 << 16, n = 0;
	unsigned char *b = asim_malloc(cap);
	while (b != NULL) {
		n += fread(b + n, 1, cap - n, f);
		if (n < cap)
			break;
		unsigned char *nb = asim_realloc(b, cap * 2);
		if (nb == NULL)
			asim_free(b);
		b = nb;
		cap *= 2;
	}
	int bad = ferror(f);
	fclose(f);
	if (b == NULL)
		return asim_errorf(e, ASIM_ENOMEM, "out of memory reading %s", esc);
	if (bad) {
		asim_free(b);
		return asim_errorf(e, ASIM_EIO, "%s: read error", esc);
	}
	*buf = b;
	*len = n;
	return ASIM_OK;
}

/* "24GiB", "1.5 GB", "4096": bytes (decimal and binary units, B optional). -1 when malformed. */
static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	if (*s == '-' || *s == '+')
		return -1;
	double v = strtod(s, &end);
	if (end == s || !(v >= 0))
		return -1;
	while (*end == ' ')
		end++;
	static const struct { const char *u; double f; } units[] = {
		{"", 1}, {"B", 1}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12},
		{"KiB", 1024.0}, {"MiB", 1048576.0}, {"GiB", 1073741824.0}, {"TiB", 1099511627776.0},
		{"K", 1024.0}, {"M", 1048576.0}, {"G", 1073741824.0}, {"T", 1099511627776.0},
	};
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
		if (strcmp(end, units[i].u) == 0) {
			double b = v * units[i].f;
			if (b >= 18446744073709551615.0 || b != b)
				return -1;
			*out = (uint64_t)(b + 0.5);
			return 0;
		}
	return -1;
}

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
	uint64_t seed = 0, top = 5, budget = 0;
	int have_seed = 0, have_budget = 0;
	tracer_opts to;
	memset(&to, 0, sizeof to);
	to.trace_level = TRACER_LEVEL_INST;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--chip") == 0 || strcmp(a, "--summary") == 0 || strcmp(a, "--seed") == 0 ||
		    strcmp(a, "--top") == 0 || strcmp(a, "--trace") == 0 || strcmp(a, "--trace-level") == 0 ||
		    strcmp(a, "--ops") == 0 || strcmp(a, "--memory") == 0 || strcmp(a, "--memory-budget") == 0) {
			if (i + 1 >= argc)
				return cli_usage_error(cmd, "%s needs a value", a);
			const char *v = argv[++i];
			if (strcmp(a, "--trace") == 0)
				to.trace_path = v;
			else if (strcmp(a, "--ops") == 0)
				to.ops_path = v;
			else if (strcmp(a, "--memory") == 0)
				to.memory_path = v;
			else if (strcmp(a, "--trace-level") == 0) {
				if (strcmp(v, "inst") == 0)
					to.trace_level = TRACER_LEVEL_INST;
				else if (strcmp(v, "op") == 0)
					to.trace_level = TRACER_LEVEL_OP;
				else
					return cli_usage_error(cmd, "--trace-level is op or inst");
			} else if (strcmp(a, "--memory-budget") == 0) {
				if (parse_size(v, &budget) != 0)
					return cli_usage_error(cmd, "--memory-budget needs a size such as 24GiB, 32GB or 1048576");
				have_budget = 1;
			} else if (strcmp(a, "--chip") == 0)
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
	{
		const char *outs[4] = {summary, to.trace_path, to.ops_path, to.memory_path};
		for (int i = 0; i < 4; i++)
			for (int j = i + 1; j < 4; j++)
				if (outs[i] && outs[j] && strcmp(outs[i], outs[j]) == 0 && strcmp(outs[i], "-") != 0)
					return cli_usage_error(cmd, "two outputs name the same file");
	}

	asim_err e;
	asim_err_init(&e);
	chip c;
	memset(&c, 0, sizeof c);
	int have_chip = 0, have_graph = 0;
	isa_program p;
	isa_program_init(&p);
	engine_result r;
	memset(&r, 0, sizeof r);
	unsigned char *buf = NULL;
	size_t len = 0;
	char hash[17];
	const char *kind = "program";
	graph g;
	memset(&g, 0, sizeof g);
	tracer *tr = NULL;
	int unfit = 0;
	int rc = read_all(in, &buf, &len, &e);
	if (rc)
		goto done;
	report_hash(buf, len, hash);
	rc = chipspec ? chip_load(&c, chipspec, &e) : chip_load_default(&c, &e);
	if (rc)
		goto done;
	have_chip = 1;
	if (len >= 8 && memcmp(buf, ASM_MAGIC, 8) == 0) {
		rc = asm_decode(in, buf, len, &p, &e);
	} else if (ends_with(in, ".s") || ends_with(in, ".asm")) {
		asm_srcmap m;
		rc = asm_parse(in, (const char *)buf, len, &p, &m, &e);
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
	if (have_budget && !have_graph) {
		rc = cli_usage_error(cmd, "--memory-budget needs a graph (tensor liveness), not a program");
		goto done_usage;
	}
	to.version = PACKAGE_VERSION;
	to.input_name = have_graph ? g.name : in;
	to.input_hash = hash;
	if ((rc = tracer_new(&tr, &c, &p, have_graph ? &g : NULL, &to, &e)) != 0)
		goto done;
	{
		event_sink sink = tracer_sink(tr);
		if ((rc = engine_run(&c, &p, &sink, &r, &e)) != 0)
			goto done;
	}
	if ((rc = tracer_finish(tr, &r, &e)) != 0)
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
		                    names, nnames, (uint32_t)top};
		report_extra extra = {tracer_get_summary(tr), have_budget, budget, c.hbm.capacity_bytes};
		unfit = !report_fits_budget(&extra);
		outfile f;
		if (summary) {
			if ((rc = outfile_open(&f, summary, &e)) == 0) {
				report_json_with(&f, &c, &r, &meta, &extra);
				rc = outfile_commit(&f, &e);
			}
		}
		if (rc == 0 && (rc = outfile_open(&f, "-", &e)) == 0) {
			report_text_with(&f, &c, &r, &meta, &extra);
			rc = outfile_commit(&f, &e);
		}
		asim_free(names);
	}
done:
	if (rc)
		rc = cli_report(cmd, &e);
	else if (unfit)
		rc = 3;
done_usage:
	tracer_free(tr);
	asim_free(buf);
	engine_result_fini(&r);
	isa_program_fini(&p);
	if (have_graph)
		graph_fini(&g);
	if (have_chip)
		chip_fini(&c);
	(void)have_chip;
	(void)have_graph;
	return rc;
}
