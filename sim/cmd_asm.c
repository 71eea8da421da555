/*
 * cmd_asm.c -- `accelsim asm`: assemble, disassemble and check instruction programs (docs/isa.md).
 *
 *     accelsim asm assemble FILE.s -o FILE.bin     text → versioned little-endian binary
 *     accelsim asm disassemble FILE.bin [-o OUT.s] binary → canonical text (stdout by default)
 *     accelsim asm check FILE.s|FILE.bin [--chip CHIP]   validate against a chip (default trn1)
 *
 * Errors in the input: one line `file:line:column: message` on stderr, exit 2. Output files go
 * through traces/outfile (temporary name, renamed when complete).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "isa/asm.h"
#include "sim/alloc.h"
#include "sim/chip.h"
#include "sim/cli.h"
#include "sim/fileio.h"
#include "traces/outfile.h"

const char cmd_asm_usage[] =
"usage: accelsim asm assemble FILE.s -o FILE.bin\n"
"       accelsim asm disassemble FILE.bin [-o FILE.s]\n"
"       accelsim asm check FILE.s|FILE.bin [--chip CHIP]\n"
"\n"
"Assemble, disassemble or check an instruction program (the assembly is described in docs/isa.md).\n"
"\n"
"  assemble     parse FILE.s and write the binary encoding (version 1, little-endian) to -o FILE.bin\n"
"  disassemble  print the canonical text of FILE.bin (or write it to -o FILE.s); assembling that\n"
"               text again gives identical bytes\n"
"  check        validate a program against a chip (default: the built-in trn1): regions inside\n"
"               SBUF/PSUM/HBM, matmul limits (K <= rows, M <= cols, N <= max moving), dtypes,\n"
"               DMA queues, and waits that can never be met (certain deadlock)\n"
"\n"
"  -o FILE      output file\n"
"  --chip CHIP  a shipped chip name (trn1, trn2, ...) or a chip YAML file\n"
"\n"
"Exit status: 0 ok, 2 bad usage or a bad program (one line 'file:line:column: message' on stderr).\n";

/* Load a program from text (.s, or anything not starting with the binary magic) or binary. */
static int load_program(const char *path, isa_program *p, asm_srcmap *m, asim_err *e)
{
	char *buf = NULL;
	size_t len = 0;
	int rc = asim_read_file(path, &buf, &len, e);
	if (rc)
		return rc;
	if (len >= 8 && memcmp(buf, ASM_MAGIC, 8) == 0)
		rc = asm_decode(path, (const unsigned char *)buf, len, p, e);
	else
		rc = asm_parse(path, (const char *)buf, len, p, m, e);
	asim_free(buf);
	return rc;
}

static int load_chip(chip *c, const char *spec, asim_err *e)
{
	return spec ? chip_load(c, spec, e) : chip_load_default(c, e);
}

static void unload_chip(chip *c)
{
	chip_fini(c);
}

int cmd_asm(int argc, char **argv)
{
	const char *cmd = "asm";
	if (cli_wants_help(argc, argv)) {
		fputs(cmd_asm_usage, stdout);
		return 0;
	}
	if (argc < 2)
		return cli_usage_error(cmd, "missing action: assemble, disassemble or check");
	const char *action = argv[1], *in = NULL, *out = NULL, *chipspec = NULL;
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "-o") == 0 || strcmp(argv[i], "--output") == 0) {
			if (++i >= argc)
				return cli_usage_error(cmd, "-o needs a file name");
			out = argv[i];
		} else if (strcmp(argv[i], "--chip") == 0) {
			if (++i >= argc)
				return cli_usage_error(cmd, "--chip needs a chip name or file");
			chipspec = argv[i];
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			fputs(cmd_asm_usage, stdout);
			return 0;
		} else if (argv[i][0] == '-' && argv[i][1] != '\0') {
			char esc[64];
			asim_escape(esc, sizeof esc, argv[i]);
			return cli_usage_error(cmd, "unknown option '%s'", esc);
		} else if (in == NULL) {
			in = argv[i];
		} else {
			return cli_usage_error(cmd, "one input file only");
		}
	}
	int is_asm = strcmp(action, "assemble") == 0, is_dis = strcmp(action, "disassemble") == 0;
	int is_chk = strcmp(action, "check") == 0;
	if (!is_asm && !is_dis && !is_chk) {
		char esc[64];
		asim_escape(esc, sizeof esc, action);
		return cli_usage_error(cmd, "unknown action '%s' (assemble, disassemble or check)", esc);
	}
	if (in == NULL)
		return cli_usage_error(cmd, "missing input file");
	if (is_asm && out == NULL)
		return cli_usage_error(cmd, "assemble needs -o FILE.bin");
	if (!is_chk && chipspec)
		return cli_usage_error(cmd, "--chip belongs to check");
	if (is_chk && out)
		return cli_usage_error(cmd, "check writes no file");
	asim_err e;
	asim_err_init(&e);
	isa_program p;
	asm_srcmap m;
	asm_srcmap_init(&m);
	int rc = load_program(in, &p, &m, &e);
	if (rc)
		return cli_report(cmd, &e);
	if (is_asm) {
		unsigned char *bin;
		size_t len;
		if ((rc = asm_encode(&p, &bin, &len)) != 0) {
			asim_errorf(&e, rc, "cannot encode the program");
		} else {
			outfile f;
			if ((rc = outfile_open(&f, out, &e)) == 0) {
				outfile_write(&f, bin, len);
				rc = outfile_commit(&f, &e);
			}
			asim_free(bin);
		}
	} else if (is_dis) {
		outfile f;
		if ((rc = outfile_open(&f, out ? out : "-", &e)) == 0) {
			char line[2048];
			outfile_printf(&f, "# accelsim asm: %zu instructions, %u semaphores\n", p.n, p.nsems);
			for (size_t i = 0; i < p.n; i++) {
				size_t need = asm_format_inst(&p.insts[i], line, sizeof line);
				ASIM_ASSERT(need < sizeof line);
				outfile_printf(&f, "%s\n", line);
			}
			rc = outfile_commit(&f, &e);
		}
	} else {
		chip c;
		memset(&c, 0, sizeof c);
		if ((rc = load_chip(&c, chipspec, &e)) == 0) {
			rc = asm_check(&p, m.n == p.n ? &m : NULL, &c, &e);
			if (rc == 0)
				printf("%s: ok: %zu instructions fit chip '%s'\n", in, p.n, c.name ? c.name : "?");
			unload_chip(&c);
		}
	}
	isa_program_fini(&p);
	asm_srcmap_fini(&m);
	return rc ? cli_report(cmd, &e) : 0;
}
