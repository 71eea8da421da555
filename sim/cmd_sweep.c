/*
 * cmd_sweep.c -- `accelsim sweep`: a per-operator latency dataset from a sweep spec
 * (docs/datasets.md), and `accelsim sweep --merge` of shard outputs.
 *
 *     SPEC.yaml ─ sweep_spec_load ─ sweep_run (threads, journal) ─► DATA.csv[.gz]
 *     PART*.csv[.gz] ─ sweep_merge ─────────────────────────────► DATA.csv[.gz]
 *
 * Shards: --shard I/N, else SLURM_ARRAY_TASK_ID − SLURM_ARRAY_TASK_MIN (MIN 0 when unset) of
 * SLURM_ARRAY_TASK_COUNT when those are set; a malformed value is a one-line error, exit 2.
 * --jobs: default the number of CPUs this process may run on (sched_getaffinity, so a Slurm
 * allocation's CPU count, not the node's).
 */
#define _GNU_SOURCE 1
#include "config.h"

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim/alloc.h"
#include "sim/cli.h"
#include "sim/sweep.h"

const char cmd_sweep_usage[] =
"usage: accelsim sweep SPEC.yaml -o DATA.csv[.gz] [--chip CHIP] [--jobs N] [--shard I/N]\n"
"                      [--resume] [--seed S] [--checkpoint K] [--no-progress]\n"
"       accelsim sweep --merge -o DATA.csv[.gz] PART.csv[.gz]...\n"
"\n"
"Generate a per-operator latency dataset: one CSV row per sample of the spec's axes (the cross\n"
"product in spec order, minus the samples a constraint rejects), each simulated on the chip.\n"
"\n"
"  -o FILE          output CSV; .gz compresses; '-' is standard output (no journal, no --resume)\n"
"  --chip CHIP      a shipped chip name or chip YAML file; default: the spec's `chip:`, else trn1\n"
"  --jobs N         worker threads (default: the CPUs this process may use); the output is the\n"
"                   same bytes for any N\n"
"  --shard I/N      run only the samples whose index is I modulo N (0 <= I < N). Default from\n"
"                   SLURM_ARRAY_TASK_ID (minus SLURM_ARRAY_TASK_MIN) / SLURM_ARRAY_TASK_COUNT\n"
"  --resume         continue an interrupted run from its journal FILE.journal\n"
"  --seed S         seed of the random axes (default: the spec's `seed:`, else 0)\n"
"  --checkpoint K   flush the journal every K rows (default 64)\n"
"  --no-progress    no progress bar (drawn on stderr only when it is a terminal)\n"
"  --merge          merge shard outputs into one file, equal byte for byte to a single run;\n"
"                   checks that the parts come from one sweep and hold every sample once\n"
"\n"
"Exit status: 0 ok, 2 bad spec, usage or parts, 1 other failure. docs/datasets.md.\n";

static uint32_t default_jobs(void)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	if (sched_getaffinity(0, sizeof set, &set) == 0) {
		int n = CPU_COUNT(&set);
		if (n >= 1)
			return n > 256 ? 256 : (uint32_t)n;
	}
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n >= 1 ? (n > 256 ? 256 : (uint32_t)n) : 1;
}

static int parse_shard(const char *s, uint64_t *i, uint64_t *n)
{
	const char *slash = strchr(s, '/');
	if (slash == NULL || slash == s)
		return -1;
	char a[32];
	size_t la = (size_t)(slash - s);
	if (la >= sizeof a)
		return -1;
	memcpy(a, s, la);
	a[la] = '\0';
	if (cli_parse_u64(a, i) != 0 || cli_parse_u64(slash + 1, n) != 0 || *n == 0 || *i >= *n)
		return -1;
	return 0;
}

/* Shard defaults from a Slurm job array. Returns 0 (set or absent) or prints the error and
 * returns 2. */
static int slurm_shard(const char *cmd, uint64_t *i, uint64_t *n, int *have)
{
	const char *id = getenv("SLURM_ARRAY_TASK_ID"), *count = getenv("SLURM_ARRAY_TASK_COUNT");
	const char *min = getenv("SLURM_ARRAY_TASK_MIN");
	if (id == NULL && count == NULL)
		return 0;
	uint64_t vi, vn, vm = 0;
	char esc[64], esc2[64];
	asim_escape(esc, sizeof esc, id ? id : "(unset)");
	asim_escape(esc2, sizeof esc2, count ? count : "(unset)");
	if (id == NULL || count == NULL || cli_parse_u64(id, &vi) != 0 || cli_parse_u64(count, &vn) != 0 ||
	    vn == 0 || (min != NULL && cli_parse_u64(min, &vm) != 0) || vi < vm || vi - vm >= vn) {
		fprintf(stderr, "accelsim %s: bad Slurm array variables: SLURM_ARRAY_TASK_ID=%s "
		        "SLURM_ARRAY_TASK_COUNT=%s (need 0 <= ID - SLURM_ARRAY_TASK_MIN < COUNT; or pass --shard I/N)\n",
		        cmd, esc, esc2);
		return 2;
	}
	*i = vi - vm;
	*n = vn;
	*have = 1;
	return 0;
}

int cmd_sweep(int argc, char **argv)
{
	const char *cmd = "sweep";
	if (cli_wants_help(argc, argv)) {
		fputs(cmd_sweep_usage, stdout);
		return 0;
	}
	const char *spec = NULL, *out = NULL, *chipspec = NULL;
	const char **parts = asim_calloc((size_t)argc + 1, sizeof *parts);
	size_t n_parts = 0;
	int merge = 0, resume = 0, have_shard = 0, have_seed = 0, have_jobs = 0, no_progress = 0, status = 0;
	uint64_t seed = 0, jobs = 0, si = 0, sn = 1, ckpt = 64;
	if (parts == NULL) {
		fprintf(stderr, "accelsim sweep: out of memory\n");
		return 1;
	}
	for (int i = 1; i < argc && status == 0; i++) {
		const char *a = argv[i];
		int takes = strcmp(a, "-o") == 0 || strcmp(a, "--chip") == 0 || strcmp(a, "--jobs") == 0 ||
		            strcmp(a, "--shard") == 0 || strcmp(a, "--seed") == 0 || strcmp(a, "--checkpoint") == 0;
		if (takes) {
			if (i + 1 >= argc) {
				status = cli_usage_error(cmd, "%s needs a value", a);
				break;
			}
			const char *v = argv[++i];
			if (strcmp(a, "-o") == 0)
				out = v;
			else if (strcmp(a, "--chip") == 0)
				chipspec = v;
			else if (strcmp(a, "--jobs") == 0) {
				if (cli_parse_u64(v, &jobs) != 0 || jobs < 1 || jobs > 256)
					status = cli_usage_error(cmd, "--jobs needs a number from 1 to 256");
				have_jobs = 1;
			} else if (strcmp(a, "--shard") == 0) {
				if (parse_shard(v, &si, &sn) != 0)
					status = cli_usage_error(cmd, "--shard needs I/N with 0 <= I < N (e.g. 0/4)");
				have_shard = 1;
			} else if (strcmp(a, "--seed") == 0) {
				if (cli_parse_u64(v, &seed) != 0)
					status = cli_usage_error(cmd, "--seed needs an unsigned 64-bit integer");
				have_seed = 1;
			} else if (cli_parse_u64(v, &ckpt) != 0 || ckpt < 1) {
				status = cli_usage_error(cmd, "--checkpoint needs a positive number of rows");
			}
		} else if (strcmp(a, "--merge") == 0) {
			merge = 1;
		} else if (strcmp(a, "--resume") == 0) {
			resume = 1;
		} else if (strcmp(a, "--no-progress") == 0) {
			no_progress = 1;
		} else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			fputs(cmd_sweep_usage, stdout);
			asim_free(parts);
			return 0;
		} else if (a[0] == '-' && a[1] != '\0') {
			char esc[64];
			asim_escape(esc, sizeof esc, a);
			status = cli_usage_error(cmd, "unknown option '%s'", esc);
		} else {
			parts[n_parts++] = a;
		}
	}
	if (status == 0 && out == NULL)
		status = cli_usage_error(cmd, "missing -o DATA.csv[.gz]");
	asim_err e;
	asim_err_init(&e);
	if (status == 0 && merge) {
		if (n_parts == 0)
			status = cli_usage_error(cmd, "--merge needs the part files");
		else if (chipspec || have_jobs || have_shard || have_seed || resume)
			status = cli_usage_error(cmd, "--merge takes only -o and the part files");
		else {
			int rc = sweep_merge(out, parts, n_parts, &e);
			status = rc ? cli_report(cmd, &e) : 0;
		}
		asim_free(parts);
		return status;
	}
	if (status == 0 && n_parts != 1)
		status = cli_usage_error(cmd, n_parts ? "one spec file only" : "missing SPEC.yaml");
	if (status == 0 && resume && strcmp(out, "-") == 0)
		status = cli_usage_error(cmd, "--resume needs an output file (not '-')");
	if (status == 0 && !have_shard)
		status = slurm_shard(cmd, &si, &sn, &have_shard);
	if (status != 0) {
		asim_free(parts);
		return status;
	}
	spec = parts[0];
	sweep_spec *sp = NULL;
	int rc = sweep_spec_load(&sp, spec, chipspec, have_seed, seed, &e);
	if (rc == 0) {
		sweep_opts o = {out, have_jobs ? (uint32_t)jobs : default_jobs(), si, sn, resume,
		                !no_progress && isatty(2), ckpt};
		rc = sweep_run(sp, &o, &e);
	}
	sweep_spec_free(sp);
	asim_free(parts);
	return rc ? cli_report(cmd, &e) : 0;
}
