/*
 * cmd_chips.c -- `accelsim chips`: the built-in chips (and any chip files given) with their
 * headline numbers, or every resolved value of one chip.
 *
 *     accelsim chips [CHIP...]            table: built-in chips, then each CHIP given
 *     accelsim chips --values CHIP...     every field (defaults filled in) and the hash
 *
 * CHIP is a file or a built-in name (chip_load). Every chip is loaded and validated before anything
 * is printed, so a bad file gives one line on stderr, exit status 2 and nothing on stdout.
 *
 * Table columns (docs/chip-format.md, "accelsim chips"): peaks in TFLOP/s (10^12 FLOP/s, a
 * multiply-accumulate counting 2) per core and per chip; SBUF and PSUM per core; HBM capacity and
 * bandwidth (GB/s = 10^9 bytes/s) per chip; the content hash; where the chip came from.
 */
#include "sim/alloc.h"
#include "sim/chip.h"
#include "sim/cli.h"

#include <stdio.h>
#include <string.h>

const char cmd_chips_usage[] =
"usage: accelsim chips [CHIP...]\n"
"       accelsim chips --values CHIP...\n"
"\n"
"List the built-in chips, then each CHIP given (a chip YAML file, or a built-in name), with\n"
"their headline numbers: cores; PE array rows x cols; PE clock (GHz); peak BF16, FP8 (e4m3) and\n"
"FP32 TFLOP/s per core and per chip; SBUF and PSUM per core; HBM capacity and bandwidth (GB/s,\n"
"10^9 bytes/s) per chip; the 16-hex-digit content hash; the source.\n"
"\n"
"  --values   print every field of each CHIP as `key = value` (defaults filled in, sizes in\n"
"             bytes): the canonical text the hash is computed over\n"
"\n"
"A chip file is checked strictly: any error is one line `file:line:column: message` on stderr,\n"
"exit status 2. The format is described in docs/chip-format.md.\n";

static void fmt_size(char *buf, size_t n, uint64_t bytes)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
	double v = (double)bytes;
	size_t u = 0;
	while (u + 1 < sizeof units / sizeof units[0] && v >= 1024) {
		v /= 1024;
		u++;
	}
	snprintf(buf, n, "%.4g %s", v, units[u]);
}

static void print_header(void)
{
	printf("%-10s %5s %9s %6s %8s %8s %8s %8s %8s %8s %9s %9s %9s %9s  %-16s  %s\n", "name", "cores",
	       "pe_array", "pe_ghz", "bf16/c", "bf16/chip", "fp8/c", "fp8/chip", "fp32/c", "fp32/chip",
	       "sbuf/c", "psum/c", "hbm", "hbm_GB/s", "hash", "source");
}

static void print_row(const chip *c)
{
	char pe[32], sbuf[32], psum[32], hbm[32];
	snprintf(pe, sizeof pe, "%ux%u", (unsigned)c->pe.rows, (unsigned)c->pe.cols);
	fmt_size(sbuf, sizeof sbuf, c->sbuf_bytes);
	fmt_size(psum, sizeof psum, c->psum_bytes);
	fmt_size(hbm, sizeof hbm, c->hbm.capacity_bytes);
	const double t = 1e12;
	printf("%-10s %5u %9s %6.4g %8.2f %8.2f %8.2f %8.2f %8.2f %8.2f %9s %9s %9s %9.6g  %-16s  %s\n",
	       c->name, (unsigned)c->cores, pe, c->pe.clock_ghz,
	       c->peak_flops[ASIM_DT_BF16] / t, c->peak_flops[ASIM_DT_BF16] * c->cores / t,
	       c->peak_flops[ASIM_DT_FP8_E4M3] / t, c->peak_flops[ASIM_DT_FP8_E4M3] * c->cores / t,
	       c->peak_flops[ASIM_DT_FP32] / t, c->peak_flops[ASIM_DT_FP32] * c->cores / t, sbuf, psum,
	       hbm, c->hbm.bandwidth_gb_per_s, c->hash, c->source);
}

int cmd_chips(int argc, char **argv)
{
	if (cli_wants_help(argc, argv)) {
		fputs(cmd_chips_usage, stdout);
		return 0;
	}
	int values = 0, first = 1;
	if (argc > 1 && strcmp(argv[1], "--values") == 0) {
		values = 1;
		first = 2;
		if (argc < 3)
			return cli_usage_error(argv[0], "--values needs at least one CHIP");
	}
	for (int i = first; i < argc; i++)
		if (argv[i][0] == '-' && argv[i][1] != '\0') {
			char esc[64];
			asim_escape(esc, sizeof esc, argv[i]);
			return cli_usage_error(argv[0], "unknown option '%s'", esc);
		}

	size_t nbuiltin = values ? 0 : chip_builtin_count();
	size_t n = nbuiltin + (size_t)(argc - first);
	chip *chips = asim_calloc(n ? n : 1, sizeof *chips);
	if (chips == NULL) {
		fprintf(stderr, "accelsim %s: out of memory\n", argv[0]);
		return 1;
	}
	asim_err e;
	asim_err_init(&e);
	int rc = 0;
	size_t loaded = 0;
	for (size_t i = 0; i < n && rc == 0; i++, loaded++) {
		const char *spec = i < nbuiltin ? chip_builtin_name(i) : argv[first + (int)(i - nbuiltin)];
		rc = chip_load(&chips[i], spec, &e);
	}
	int status = 0;
	if (rc != 0) {
		status = cli_report(argv[0], &e);
	} else if (values) {
		for (size_t i = 0; i < n; i++) {
			char *text;
			if (chip_canonical(&chips[i], &text, NULL) != 0) {
				fprintf(stderr, "accelsim %s: out of memory\n", argv[0]);
				status = 1;
				break;
			}
			printf("%s# %s from %s, hash %s\n%s", i ? "\n" : "", chips[i].name, chips[i].source,
			       chips[i].hash, text);
			asim_free(text);
		}
	} else {
		print_header();
		for (size_t i = 0; i < n; i++)
			print_row(&chips[i]);
		printf("# TFLOP/s = 10^12 FLOP/s (a MAC is 2 FLOPs); /c = per core; sbuf, psum per core; "
		       "hbm per chip\n");
	}
	for (size_t i = 0; i < loaded; i++)
		chip_fini(&chips[i]);
	asim_free(chips);
	if (status == 0 && fflush(stdout) != 0) {
		fprintf(stderr, "accelsim %s: cannot write the output\n", argv[0]);
		status = 1;
	}
	return status;
}
