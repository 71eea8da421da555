/*
 * cmd_numerics.c -- `accelsim numerics`: convert values between number formats (the reference
 * conversion of sim/datapath, one value at a time, for people and scripts), and run the numerics
 * regression harness (sim/datapath/harness.h).
 *
 *   accelsim numerics convert --to bf16 --round sr --sr-bits 8 --seed 1 --stream 2 1.2345 0x1p-3
 *   0x3ff3c083126e978d 0x3f9e
 *   0x3fc0000000000000 0x3e00
 *
 * One output line per VALUE: the input's binary64 bits (0x + 16 hex digits), a space, the output
 * code (0x + 2 hex digits per byte of the format). With --seed, the k-th VALUE (from 0) is element
 * index I + k of the tensor being rounded, so a list of values reproduces a tensor's rounding.
 * Errors: one line on stderr, exit 2; nothing is printed on stdout for a bad command line (all
 * values are parsed before the first is converted).
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sim/alloc.h"
#include "sim/cli.h"
#include "sim/datapath/format.h"
#include "sim/datapath/harness.h"
#include "sim/datapath/philox.h"

const char cmd_numerics_usage[] =
"usage: accelsim numerics convert --to FMT --round MODE [options] VALUE...\n"
"       accelsim numerics check SPEC.yaml [--golden FILE] [--update-golden]\n"
"\n"
"Convert values between number formats; run the numerics regression harness.\n"
"Semantics: docs/numerics.md (the numerics contract).\n"
"\n"
"convert: round each VALUE once, exactly, to FMT and print\n"
"         '<input binary64 bits> <output code>', both in hex.\n"
"  --to FMT           target format: fp32 bf16 fp16 fp8_e4m3 fp8_e5m2\n"
"  --round MODE       rne (to nearest, ties to even), rtz (toward zero), ru (toward +inf),\n"
"                     rd (toward -inf), sr (stochastic)\n"
"  --saturate         overflow gives +-max finite (default for fp8_e4m3, fp8_e5m2)\n"
"  --no-saturate      IEEE overflow: +-Inf (NaN in fp8_e4m3), or +-max for a directed mode\n"
"                     rounding toward zero (default for fp32, bf16, fp16)\n"
"  --ftz              flush subnormal results to zero of the same sign (after rounding)\n"
"  --sr-bits K        random bits of stochastic rounding, 1..32 (default 32)\n"
"  --r R              sr: the random integer, 0 <= R < 2^K (decimal or 0x-hex)\n"
"  --seed S           sr: Philox4x32-10 key, 64 bits (decimal or 0x-hex)\n"
"  --stream T         sr: stream id, 64 bits (default 0)\n"
"  --index I          sr: element index of the first VALUE (default 0); the next VALUE is I+1\n"
"  VALUE              decimal or hex-float literal (1.5, -0x1.8p-3), inf, nan (optionally\n"
"                     signed), or 0x followed by exactly 16 hex digits: raw binary64 bits.\n"
"                     A decimal is first read to the nearest binary64 (shown in the output).\n"
"\n"
"check: run every case of a numerics spec through the functional datapath, compare with a\n"
"       binary64 reference, print error statistics and a SHA-256 digest of the output bits,\n"
"       and compare with the golden file (exit 1 on a changed digest or broken tolerance).\n"
"  --golden FILE      golden file (default: the spec's 'golden' key, relative to the spec)\n"
"  --update-golden    (re)write the golden file from this run instead of comparing\n"
"  --threads N        worker threads for matmul/conv2d (default 1; results do not depend on N)\n";

/* "--name=value" or "--name value": the value, advancing *i; NULL when missing. */
static const char *opt_value(int argc, char **argv, int *i, const char *name)
{
	size_t n = strlen(name);
	const char *a = argv[*i];
	if (strncmp(a, name, n) == 0 && a[n] == '=')
		return a + n + 1;
	if (strcmp(a, name) == 0) {
		if (*i + 1 >= argc)
			return NULL;
		return argv[++*i];
	}
	return NULL;
}

static int is_opt(const char *a, const char *name)
{
	size_t n = strlen(name);
	return strncmp(a, name, n) == 0 && (a[n] == '\0' || a[n] == '=');
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

/* A VALUE: raw bits (0x + 16 hex digits), inf/nan, or a decimal/hex-float literal. */
static int parse_value(const char *s, double *out)
{
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && strlen(s) == 18) {
		uint64_t b = 0;
		int ok = 1;
		for (int i = 2; i < 18; i++) {
			int h = hexval((unsigned char)s[i]);
			if (h < 0) {
				ok = 0;
				break;
			}
			b = (b << 4) | (uint64_t)h;
		}
		if (ok) {
			memcpy(out, &b, sizeof *out);
			return ASIM_OK;
		}
	}
	const char *t = s + (s[0] == '+' || s[0] == '-');
	int neg = s[0] == '-';
	if (strcasecmp(t, "inf") == 0 || strcasecmp(t, "infinity") == 0) {
		*out = neg ? -__builtin_inf() : __builtin_inf();
		return ASIM_OK;
	}
	if (strcasecmp(t, "nan") == 0) {
		*out = neg ? -__builtin_nan("") : __builtin_nan("");
		return ASIM_OK;
	}
	/* digits, point, exponent, hex-float only: strtod's other spellings are refused */
	if (*t == '\0')
		return ASIM_ESYNTAX;
	for (const char *p = t; *p; p++)
		if (!isxdigit((unsigned char)*p) && strchr(".xXpP+-", *p) == NULL)
			return ASIM_ESYNTAX;
	return cli_parse_double(s, out);
}

static int cmd_convert(int argc, char **argv)
{
	const char *cmd = "numerics convert";
	const char *to = NULL, *round = NULL, *srbits = NULL, *rstr = NULL, *seedstr = NULL,
	           *streamstr = NULL, *indexstr = NULL;
	int sat = -1, ftz = 0, nvals = 0, only_values = 0;
	double *vals = asim_calloc((size_t)argc, sizeof *vals);
	if (vals == NULL)
		return cli_usage_error(cmd, "out of memory");
	int st = 2;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char **slot = NULL;
		const char *name = NULL;
		if (!only_values && strcmp(a, "--") == 0) {
			only_values = 1;
			continue;
		}
		if (!only_values && a[0] == '-' && a[1] == '-') {
			static const char *const names[] = {"--to", "--round", "--sr-bits", "--r",
			                                    "--seed", "--stream", "--index"};
			const char **slots[] = {&to, &round, &srbits, &rstr, &seedstr, &streamstr,
			                        &indexstr};
			for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
				if (is_opt(a, names[k])) {
					slot = slots[k];
					name = names[k];
				}
			if (slot != NULL) {
				if (*slot != NULL) {
					cli_usage_error(cmd, "%s given twice", name);
					goto out;
				}
				*slot = opt_value(argc, argv, &i, name);
				if (*slot == NULL) {
					cli_usage_error(cmd, "%s needs a value", name);
					goto out;
				}
				continue;
			}
			if (strcmp(a, "--saturate") == 0 || strcmp(a, "--no-saturate") == 0) {
				int v = strcmp(a, "--saturate") == 0;
				if (sat >= 0 && sat != v) {
					cli_usage_error(cmd, "--saturate and --no-saturate are exclusive");
					goto out;
				}
				sat = v;
				continue;
			}
			if (strcmp(a, "--ftz") == 0) {
				ftz = 1;
				continue;
			}
			char esc[128];
			asim_escape(esc, sizeof esc, a);
			cli_usage_error(cmd, "unknown option '%s'", esc);
			goto out;
		}
		if (parse_value(a, &vals[nvals]) != ASIM_OK) {
			char esc[128];
			asim_escape(esc, sizeof esc, a);
			cli_usage_error(cmd, "bad VALUE '%s' (a decimal or hex-float literal, inf, nan, "
			                "or 0x and 16 hex digits of binary64 bits)", esc);
			goto out;
		}
		nvals++;
	}
	if (to == NULL || round == NULL) {
		cli_usage_error(cmd, "%s is required", to == NULL ? "--to FMT" : "--round MODE");
		goto out;
	}
	dp_format fmt;
	dp_rmode mode;
	char esc[128];
	if (dp_format_parse(to, &fmt) != ASIM_OK) {
		asim_escape(esc, sizeof esc, to);
		cli_usage_error(cmd, "unknown format '%s' (fp32, bf16, fp16, fp8_e4m3, fp8_e5m2)", esc);
		goto out;
	}
	if (dp_rmode_parse(round, &mode) != ASIM_OK) {
		asim_escape(esc, sizeof esc, round);
		cli_usage_error(cmd, "unknown rounding mode '%s' (rne, rtz, ru, rd, sr)", esc);
		goto out;
	}
	dp_cvt c = dp_cvt_make(fmt, mode);
	if (sat >= 0)
		c.saturate = sat;
	c.ftz = ftz;
	uint64_t k = DP_SR_BITS_DEFAULT, r = 0, seed = 0, stream = 0, index = 0;
	if (mode != DP_SR && (srbits || rstr || seedstr || streamstr || indexstr)) {
		cli_usage_error(cmd, "--sr-bits, --r, --seed, --stream and --index apply to --round sr "
		                "only");
		goto out;
	}
	if (srbits && (cli_parse_u64(srbits, &k) != ASIM_OK || k < 1 || k > 32)) {
		asim_escape(esc, sizeof esc, srbits);
		cli_usage_error(cmd, "--sr-bits must be an integer in 1..32, got '%s'", esc);
		goto out;
	}
	c.sr_bits = (unsigned)k;
	if (mode == DP_SR) {
		if ((rstr == NULL) == (seedstr == NULL)) {
			cli_usage_error(cmd, "--round sr needs exactly one of --r R or --seed S");
			goto out;
		}
		if (rstr && (streamstr || indexstr)) {
			cli_usage_error(cmd, "--stream and --index go with --seed, not with --r");
			goto out;
		}
		if (rstr && (cli_parse_u64(rstr, &r) != ASIM_OK || (k < 64 && r >> k) != 0)) {
			asim_escape(esc, sizeof esc, rstr);
			cli_usage_error(cmd, "--r must be an integer in [0, 2^%u), got '%s'", (unsigned)k,
			                esc);
			goto out;
		}
		const char *const ns[] = {"--seed", "--stream", "--index"};
		const char *const vs[] = {seedstr, streamstr, indexstr};
		uint64_t *const outs[] = {&seed, &stream, &index};
		for (int j = 0; j < 3; j++) {
			if (vs[j] && cli_parse_u64(vs[j], outs[j]) != ASIM_OK) {
				asim_escape(esc, sizeof esc, vs[j]);
				cli_usage_error(cmd, "%s must be an unsigned 64-bit integer (decimal or "
				                "0x-hex), got '%s'", ns[j], esc);
				goto out;
			}
		}
	}
	if (nvals == 0) {
		cli_usage_error(cmd, "no VALUE given");
		goto out;
	}
	unsigned width = 2 * dp_format_get(fmt)->bytes;
	for (int j = 0; j < nvals; j++) {
		uint32_t rr = (uint32_t)r;
		if (mode == DP_SR && seedstr)
			rr = dp_sr_random(seed, stream, index + (uint64_t)j, c.sr_bits);
		uint64_t b;
		memcpy(&b, &vals[j], sizeof b);
		printf("0x%016" PRIx64 " 0x%0*" PRIx32 "\n", b, (int)width, dp_round_f64(&c, vals[j], rr));
	}
	st = fflush(stdout) == 0 ? 0 : 1;
out:
	asim_free(vals);
	return st;
}

static int cmd_check(int argc, char **argv)
{
	const char *cmd = "numerics check";
	const char *spec = NULL, *golden = NULL, *thr = NULL;
	int update = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (is_opt(a, "--golden")) {
			if (golden) return cli_usage_error(cmd, "--golden given twice");
			if ((golden = opt_value(argc, argv, &i, "--golden")) == NULL)
				return cli_usage_error(cmd, "--golden needs a value");
		} else if (is_opt(a, "--threads")) {
			if (thr) return cli_usage_error(cmd, "--threads given twice");
			if ((thr = opt_value(argc, argv, &i, "--threads")) == NULL)
				return cli_usage_error(cmd, "--threads needs a value");
		} else if (strcmp(a, "--update-golden") == 0) {
			update = 1;
		} else if (a[0] == '-' && a[1] != '\0') {
			char esc[128];
			asim_escape(esc, sizeof esc, a);
			return cli_usage_error(cmd, "unknown option '%s'", esc);
		} else if (spec) {
			return cli_usage_error(cmd, "one SPEC.yaml only");
		} else {
			spec = a;
		}
	}
	if (spec == NULL)
		return cli_usage_error(cmd, "SPEC.yaml is required");
	uint64_t nthreads = 1;
	if (thr && (cli_parse_u64(thr, &nthreads) != ASIM_OK || nthreads < 1 || nthreads > 256)) {
		char esc[128];
		asim_escape(esc, sizeof esc, thr);
		return cli_usage_error(cmd, "--threads must be an integer in 1..256, got '%s'", esc);
	}
	asim_err e;
	asim_err_init(&e);
	int rc = dp_harness_check(spec, golden, update, (unsigned)nthreads, stdout, &e);
	if (rc != ASIM_OK)
		return cli_report(cmd, &e);
	return 0;
}

int cmd_numerics(int argc, char **argv)
{
	if (cli_wants_help(argc, argv) || argc < 2) {
		if (argc < 2)
			return cli_usage_error("numerics", "a subcommand is required: convert or check");
		fputs(cmd_numerics_usage, stdout);
		return 0;
	}
	if (strcmp(argv[1], "convert") == 0) {
		if (cli_wants_help(argc - 1, argv + 1)) {
			fputs(cmd_numerics_usage, stdout);
			return 0;
		}
		return cmd_convert(argc - 1, argv + 1);
	}
	if (strcmp(argv[1], "check") == 0) {
		if (cli_wants_help(argc - 1, argv + 1)) {
			fputs(cmd_numerics_usage, stdout);
			return 0;
		}
		return cmd_check(argc - 1, argv + 1);
	}
	char esc[128];
	asim_escape(esc, sizeof esc, argv[1]);
	return cli_usage_error("numerics", "unknown subcommand '%s' (convert or check)", esc);
}
