/*
 * cmd_run.c -- `accelsim run`: simulate a graph or an assembly program on a chip (docs/run.md).
 *
 *     GRAPH.yaml ─ graph_load_file ─ rungraph (lower; stream if large) ─┐
 *                                                                      ├─ engine ─ summary (stdout,
 *     PROGRAM.s / .bin ─ asm_parse / asm_decode ─────────────── engine_run ┘   --summary JSON), traces
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
#include "sim/datapath/sha256.h"
#include "sim/fileio.h"
#include "sim/engine.h"
#include "sim/functional.h"
#include "sim/graph.h"
#include "sim/report.h"
#include "sim/rungraph.h"
#include "traces/outfile.h"
#include "traces/tracer.h"

const char cmd_run_usage[] =
"usage: accelsim run GRAPH.yaml|PROGRAM.s|PROGRAM.bin [--chip CHIP] [--summary FILE.json]\n"
"                    [--seed N] [--top N] [--trace FILE.json[.gz]] [--trace-level op|inst]\n"
"                    [--ops FILE.csv[.gz]] [--memory FILE.csv[.gz]] [--memory-budget SIZE]\n"
"                    [--functional [--inputs DIR] [--outputs DIR] [--raw-bits] [--check-reference]]\n"
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
"  --functional         also execute the program's values with the datapath numerics (graphs\n"
"                       only; docs/functional.md) and print a digest per output tensor\n"
"  --inputs DIR         functional inputs and weights from DIR/<tensor>.npy (default: seeded\n"
"                       uniform values in [-1, 1) from --seed)\n"
"  --outputs DIR        write DIR/<output tensor>.npy (float32 values)\n"
"  --raw-bits           ... as raw codes instead (uint16 / uint8; fp32 as float32 bits)\n"
"  --check-reference    compare every computed tensor with the direct reference (exit 1 if\n"
"                       one differs in a bit)\n"
"\n"
"A file ending in .s is assembly, a file starting with the program magic is a binary program\n"
"(accelsim asm assemble), anything else is a graph. Exit status: 0 ok, 2 bad input or usage\n"
"(including a program that deadlocks), 3 the graph does not fit --memory-budget, 1 other failure.\n"
"Output files are written to a temporary name and renamed when complete (docs/traces.md).\n";

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

/* --functional: values through the same program, .npy files, the reference check. Runs before
 * anything is printed, so a bad input file leaves no partial output. */
typedef struct run_func {
	func_vals fv, ref;
	int check_ref;
} run_func;

static int run_functional(run_func *F, const graph *g, const chip *c, const isa_program *p,
                          uint64_t seed, const char *inputs, const char *outputs, int raw_bits,
                          asim_err *e)
{
	func_opts fo = {seed, FUNC_ORDER_PROGRAM};
	int rc = func_vals_init(&F->fv, g, e);
	if (rc)
		return rc;
	if (inputs)
		rc = func_load_inputs(g, inputs, &F->fv, e);
	else
		func_random_inputs(g, seed, &F->fv);
	if (rc == 0)
		rc = func_run(g, c, p, &fo, &F->fv, e);
	if (rc == 0 && F->check_ref && (rc = func_vals_init(&F->ref, g, e)) == 0) {
		for (size_t t = 0; t < g->n_tensors; t++)
			if (g->tensors[t].producer < 0)
				memcpy(F->ref.v[t], F->fv.v[t], g->tensors[t].bytes);
		rc = func_reference(g, c, &fo, &F->ref, e);
	}
	if (rc == 0 && outputs)
		rc = func_write_outputs(g, outputs, &F->fv, raw_bits, e);
	return rc;
}

/* one line per output (every computed tensor with --check-reference); 1 if one differs */
static int print_functional(const run_func *F, const graph *g)
{
	size_t ndiff = 0;
	for (size_t t = 0; t < g->n_tensors; t++) {
		const graph_tensor *T = &g->tensors[t];
		if (T->producer < 0 || (T->kind != GRAPH_OUTPUT && !F->check_ref))
			continue;
		char hex[65], esc[128];
		dp_sha256_hex(F->fv.v[t], T->bytes, hex);
		asim_escape(esc, sizeof esc, T->name);
		hex[16] = '\0';
		printf("functional %s '%s' %s [", T->kind == GRAPH_OUTPUT ? "output" : "tensor", esc,
		       asim_dtype_names[T->dtype]);
		for (uint32_t d = 0; d < T->rank; d++)
			printf("%s%llu", d ? ", " : "", (unsigned long long)T->shape[d]);
		printf("] sha256 %s", hex);
		if (F->check_ref) {
			uint64_t nd = 0, es = asim_dtype_bytes(T->dtype);
			for (uint64_t i = 0; i < T->elems; i++)
				nd += memcmp((char *)F->fv.v[t] + i * es, (char *)F->ref.v[t] + i * es, es) != 0;
			if (nd)
				printf(" reference: %llu of %llu elements differ", (unsigned long long)nd,
				       (unsigned long long)T->elems);
			else
				printf(" reference: bit-identical");
			ndiff += nd != 0;
		}
		printf("\n");
	}
	return ndiff != 0;
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
	int have_seed = 0, have_budget = 0, functional = 0, raw_bits = 0, check_ref = 0;
	const char *inputs = NULL, *outputs = NULL;
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
		} else if (strcmp(a, "--inputs") == 0 || strcmp(a, "--outputs") == 0) {
			if (i + 1 >= argc)
				return cli_usage_error(cmd, "%s needs a directory", a);
			*(a[2] == 'i' ? &inputs : &outputs) = argv[++i];
		} else if (strcmp(a, "--functional") == 0) {
			functional = 1;
		} else if (strcmp(a, "--raw-bits") == 0) {
			raw_bits = 1;
		} else if (strcmp(a, "--check-reference") == 0) {
			check_ref = 1;
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
	if (!functional && (inputs || outputs || raw_bits || check_ref))
		return cli_usage_error(cmd, "--inputs, --outputs, --raw-bits and --check-reference need "
		                       "--functional");
	if (raw_bits && !outputs)
		return cli_usage_error(cmd, "--raw-bits needs --outputs");
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
	char *buf = NULL;
	size_t len = 0;
	char hash[17];
	const char *kind = "program";
	graph g;
	memset(&g, 0, sizeof g);
	tracer *tr = NULL;
	rungraph *rg = NULL;
	int unfit = 0;
	run_func F;
	memset(&F, 0, sizeof F);
	F.check_ref = check_ref;
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
		if (functional && (rc = func_check_graph(&g, &e)) != 0)
			goto done;
	}
	if (rc)
		goto done;
	if (have_budget && !have_graph) {
		rc = cli_usage_error(cmd, "--memory-budget needs a graph (tensor liveness), not a program");
		goto done_usage;
	}
	if (functional && !have_graph) {
		rc = asim_errorf(&e, ASIM_EUSAGE, "--functional needs a graph (the tensors it reads and "
		                 "writes), not a program");
		goto done;
	}
	to.version = PACKAGE_VERSION;
	to.input_name = have_graph ? g.name : in;
	to.input_hash = hash;
	if (have_graph) {
		/* lower once, the tracer seeing every instruction; large programs then stream */
		if ((rc = tracer_open(&tr, &c, &g, 0, &to, &e)) != 0)
			goto done;
		rungraph_opts ro;
		memset(&ro, 0, sizeof ro);
		ro.resident_max = functional ? UINT64_MAX : 0;   /* functional mode reads the program */
		ro.scan = tracer_scan_cb;
		ro.scan_ud = tr;
		lower_opts lo = {0};
		if ((rc = rungraph_prepare(&rg, &g, &c, &lo, &ro, &e)) != 0 || (rc = tracer_start(tr, &e)) != 0)
			goto done;
		if (functional && (rc = run_functional(&F, &g, &c, rungraph_program(rg),
		                                       have_seed ? seed : c.num.seed, inputs, outputs,
		                                       raw_bits, &e)) != 0)
			goto done;
	} else if ((rc = tracer_new(&tr, &c, &p, NULL, &to, &e)) != 0) {
		goto done;
	}
	{
		event_sink sink = tracer_sink(tr);
		rc = have_graph ? rungraph_run(rg, &sink, &r, &e) : engine_run(&c, &p, &sink, &r, &e);
		if (rc)
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
		                    names, nnames, (uint32_t)top, 0, 0};
		if (have_graph) {          /* model FLOPs: the graph's work, not what the program repeats */
			meta.has_model_flops = 1;
			meta.model_flops = g.total_flops;
		}
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
	if (rc == 0 && functional && print_functional(&F, &g))
		rc = asim_errorf(&e, ASIM_ECHECK, "--check-reference: the functional values differ from "
		                 "the reference");
done:
	if (rc)
		rc = cli_report(cmd, &e);
	else if (unfit)
		rc = 3;
done_usage:
	tracer_free(tr);
	rungraph_free(rg);
	func_vals_fini(&F.fv);
	func_vals_fini(&F.ref);
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
