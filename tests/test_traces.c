/*
 * test_traces.c -- the trace sinks (traces/): Perfetto JSON, per-op rows, memory, energy.
 *
 * Expectations are derived by hand in the comment above each test, from the graph written in the
 * test, the chip's published table (models/chips/trn1.yaml, quoted where used) and the engine's
 * documented timing rules — never from the code under test. The JSON trace is checked by a real
 * parser (Python's json module, strict: tests/traces/check_trace.py).
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "isa/asm.h"
#include "sim/alloc.h"
#include "sim/chip.h"
#include "sim/engine.h"
#include "traces/oprow.h"
#include "traces/textfmt.h"
#include "traces/tracer.h"
#include "tests/testchip.h"
#include "tests/testutil.h"

/* ---- helpers ------------------------------------------------------------------------------- */

static char *path_in(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = malloc(n);
	snprintf(p, n, "%s/%s", dir, name);
	return p;
}

static char *model(const char *name)
{
	char rel[256];
	snprintf(rel, sizeof rel, "models/graphs/%s", name);
	return tu_srcpath(rel);
}

/* Run accelsim with argv (NULL-terminated, argv[0] = "accelsim"); returns the exit status. */
static int run(const char *const argv[], tu_result *out)
{
	tu_result r;
	cr_assert_eq(tu_run(&r, argv), 0, "could not run accelsim");
	int st = r.status;
	if (out)
		*out = r;
	else
		tu_result_free(&r);
	return st;
}

static char *gunzip(const char *path, size_t *len)
{
	gzFile z = gzopen(path, "rb");
	cr_assert_not_null(z, "cannot open %s", path);
	size_t cap = 1 << 16, n = 0;
	char *b = malloc(cap + 1);
	int k;
	while ((k = gzread(z, b + n, (unsigned)(cap - n))) > 0) {
		n += (size_t)k;
		if (n == cap)
			b = realloc(b, (cap *= 2) + 1);
	}
	cr_assert_geq(k, 0, "gzread failed on %s", path);
	gzclose(z);
	b[n] = '\0';
	*len = n;
	return b;
}

/* The first number after "key": in a JSON text (top-level keys come first in the summary). */
static double json_num(const char *text, const char *key)
{
	char pat[128];
	snprintf(pat, sizeof pat, "\"%s\": ", key);
	const char *p = strstr(text, pat);
	cr_assert_not_null(p, "no key %s in the summary", key);
	return strtod(p + strlen(pat), NULL);
}

/* Minimal CSV (no quoted fields in the files these tests read). */
typedef struct csv {
	char *text;
	char **cell;     /* rows × cols */
	size_t rows, cols;
} csv;

static void csv_parse(csv *c, char *text)
{
	memset(c, 0, sizeof *c);
	c->text = text;
	size_t cap = 0;
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		size_t cols = 1;
		for (char *q = line; *q; q++)
			cols += *q == ',';
		if (c->cols == 0)
			c->cols = cols;
		cr_assert_eq(cols, c->cols, "row %zu has %zu fields, header %zu", c->rows, cols, c->cols);
		if ((c->rows + 1) * c->cols > cap) {
			cap = 2 * (c->rows + 1) * c->cols;
			c->cell = realloc(c->cell, cap * sizeof *c->cell);
		}
		char *f = line;
		for (size_t i = 0; i < cols; i++) {
			char *comma = strchr(f, ',');
			if (comma)
				*comma = '\0';
			c->cell[c->rows * c->cols + i] = f;
			f = comma ? comma + 1 : f + strlen(f);
		}
		c->rows++;
	}
	cr_assert_gt(c->rows, 0, "no header");
	c->rows--;   /* data rows */
}

static size_t csv_col(const csv *c, const char *name)
{
	for (size_t i = 0; i < c->cols; i++)
		if (strcmp(c->cell[i], name) == 0)
			return i;
	cr_assert_fail("no column %s", name);
	return 0;
}

static const char *csv_get(const csv *c, size_t row, const char *name)
{
	return c->cell[(row + 1) * c->cols + csv_col(c, name)];
}

static double csv_num(const csv *c, size_t row, const char *name)
{
	return strtod(csv_get(c, row, name), NULL);
}

static void csv_free(csv *c)
{
	free(c->cell);
	free(c->text);
}

/* ---- the JSON trace -------------------------------------------------------------------------- */

/* trn1 (models/chips/trn1.yaml): SBUF 128 × 192 KiB = 25165824 bytes, PSUM 128 × 16 KiB =
 * 2097152 bytes, HBM 820 GB/s. The checker parses the trace strictly, finds a process per core,
 * the pe/act/vec/q0 tracks and an op lane, one X event per instruction (as many as the summary
 * counts), each inside its op's span, op spans that never overlap on a lane, and every counter
 * within its capacity. */
static void check_trace(const char *gname, const char *level, const char *name)
{
	char *dir = tu_mkdtemp();
	char *tr = path_in(dir, name), *sj = path_in(dir, "s.json");
	char *g = model(gname), *py = tu_srcpath("tests/traces/check_trace.py");
	const char *argv[] = {"accelsim", "run", g, "--trace", tr, "--trace-level", level, "--summary", sj, NULL};
	tu_result r;
	cr_assert_eq(run(argv, &r), 0, "run failed: %s", r.err);
	tu_result_free(&r);
	const char *pv[] = {"/usr/bin/env", "python3", py, tr, sj, "25165824", "2097152", "820", NULL};
	cr_assert_eq(tu_run(&r, pv), 0);
	cr_expect_eq(r.status, 0, "%s at level %s: %s%s", gname, level, r.out, r.err);
	cr_expect(strncmp(r.out, "OK", 2) == 0, "%s", r.out);
	tu_result_free(&r);
	tu_rmtree(dir);
	free(dir), free(tr), free(sj), free(g), free(py);
}

Test(traces, json_trace_parses_and_has_the_documented_tracks)
{
	check_trace("mlp.yaml", "inst", "t.json");
	check_trace("mobilenet_v2_fused.yaml", "inst", "t.json.gz");
	check_trace("bert_base_layer_s128.yaml", "op", "t.json");
}

/* ---- time stamps ------------------------------------------------------------------------------ */

/* trn1's tick is 1/28 GHz (LCM of 2.8, 1.4, 1.12 and 1 GHz): T = 28000 ticks per µs, and the
 * smallest d with 10^d >= 2T is 5 (10^5 >= 56000). By hand: 1 tick = 0.0000357 µs → "0.00004";
 * 14 ticks = 0.0005 µs → "0.00050"; 27999 ticks = 0.9999643 µs → "0.99996"; 28000 → "1.00000";
 * 2^40 ticks = 39268272.420571... µs → "39268272.42057". Every stamp gives its tick back. */
Test(traces, time_stamps_are_exact_at_the_tick)
{
	chip c;
	tc_trn1(&c);
	isa_clock clk;
	asim_err e;
	asim_err_init(&e);
	cr_assert_eq(isa_clock_derive(&c, &clk, &e), 0);
	textfmt_time tf;
	textfmt_time_init(&tf, &clk);
	cr_expect_eq(tf.ticks_per_us, 28000u);
	cr_expect_eq(tf.decimals, 5u);
	static const struct { uint64_t ticks; const char *s; } k[] = {
		{0, "0.00000"}, {1, "0.00004"}, {14, "0.00050"}, {27999, "0.99996"}, {28000, "1.00000"},
		{1ull << 40, "39268272.42057"},
	};
	textfmt_buf *w = malloc(sizeof *w);
	for (size_t i = 0; i < sizeof k / sizeof k[0]; i++) {
		textfmt_init(w, NULL);
		textfmt_us(w, &tf, k[i].ticks);
		w->b[w->n] = '\0';
		cr_expect_str_eq(w->b, k[i].s, "ticks %llu", (unsigned long long)k[i].ticks);
	}
	for (uint64_t t = 0; t < 200000; t += 7) {
		textfmt_init(w, NULL);
		textfmt_us(w, &tf, t);
		w->b[w->n] = '\0';
		double back = strtod(w->b, NULL) * 28000.0;
		cr_assert_eq((uint64_t)llround(back), t, "%s", w->b);
	}
	free(w);
}

/* ---- per-op rows ------------------------------------------------------------------------------ */

/* The rows account for the whole run: the FLOPs and HBM bytes the ops' instructions performed add
 * up to the summary's totals (every instruction of a lowered graph belongs to an op), and every
 * op's span lies inside [0, latency]. mlp.yaml: x[32,784]·fc1.w[784,512] + fc1.b → M 32, N 512,
 * K 784, MACs 32·512·784 = 12845056. */
Test(traces, op_rows_add_up_to_the_summary)
{
	char *dir = tu_mkdtemp();
	char *ops = path_in(dir, "ops.csv"), *sj = path_in(dir, "s.json");
	char *g = model("mlp.yaml");
	const char *argv[] = {"accelsim", "run", g, "--ops", ops, "--summary", sj, NULL};
	cr_assert_eq(run(argv, NULL), 0);
	char *s = tu_read_file(sj, NULL);
	csv c;
	csv_parse(&c, tu_read_file(ops, NULL));
	cr_assert_eq(c.rows, 3, "one row per op");
	cr_expect_eq(c.cols, oprow_ncols);
	double flops = 0, hr = 0, hw = 0, lat = json_num(s, "latency_ns");
	for (size_t i = 0; i < c.rows; i++) {
		flops += csv_num(&c, i, "exec_flops");
		hr += csv_num(&c, i, "hbm_read_bytes");
		hw += csv_num(&c, i, "hbm_write_bytes");
		double a = csv_num(&c, i, "start_ns"), b = csv_num(&c, i, "end_ns");
		cr_expect(a >= 0 && a <= b && b <= lat, "op %zu spans [%g, %g] of %g", i, a, b, lat);
		cr_expect_str_eq(csv_get(&c, i, "chip"), "trn1");
		cr_expect_str_eq(csv_get(&c, i, "graph"), "mlp");
	}
	cr_expect_eq(flops, json_num(s, "flops"));
	cr_expect_eq(hr, json_num(s, "hbm_read_bytes"));
	cr_expect_eq(hw, json_num(s, "hbm_write_bytes"));
	cr_expect_str_eq(csv_get(&c, 0, "op_name"), "fc1");
	cr_expect_str_eq(csv_get(&c, 0, "fused_activation"), "relu");
	cr_expect_str_eq(csv_get(&c, 0, "in_shapes"), "32x784;784x512;512");
	cr_expect_str_eq(csv_get(&c, 0, "m"), "32");
	cr_expect_str_eq(csv_get(&c, 0, "n"), "512");
	cr_expect_str_eq(csv_get(&c, 0, "k"), "784");
	cr_expect_str_eq(csv_get(&c, 0, "macs"), "12845056");
	cr_expect_str_eq(csv_get(&c, 0, "kh"), "", "conv columns are empty for a matmul");
	/* weights of fc1: 784·512·2 + 512·2 = 803840 bytes (bf16) */
	cr_expect_str_eq(csv_get(&c, 0, "weight_bytes"), "803840");
	csv_free(&c);
	free(s);
	tu_rmtree(dir);
	free(dir), free(ops), free(sj), free(g);
}

/* A convolution's geometry, by hand: x [1, 3, 32, 32], w [16, 3, 3, 3], stride 2, padding 1 →
 * y [1, 16, 16, 16]; MACs = 16·16·16 outputs × 3·3·3 = 110592. */
Test(traces, op_rows_carry_the_convolution_geometry)
{
	char *dir = tu_mkdtemp();
	char *gp = path_in(dir, "conv.yaml"), *ops = path_in(dir, "ops.csv");
	const char *yaml =
		"accelsim: 1\nname: conv\ndtype: bf16\ntensors:\n"
		"  - {name: x, kind: input, shape: [1, 3, 32, 32]}\n"
		"  - {name: w, kind: weight, shape: [16, 3, 3, 3]}\n"
		"  - {name: y, kind: output, shape: [1, 16, 16, 16]}\n"
		"ops:\n  - {name: c1, type: conv2d, inputs: [x, w], outputs: [y], stride: 2, padding: 1, activation: relu6}\n";
	cr_assert_eq(tu_write_file(gp, yaml, strlen(yaml)), 0);
	const char *argv[] = {"accelsim", "run", gp, "--ops", ops, NULL};
	tu_result r;
	cr_assert_eq(run(argv, &r), 0, "%s", r.err);
	tu_result_free(&r);
	csv c;
	csv_parse(&c, tu_read_file(ops, NULL));
	cr_assert_eq(c.rows, 1);
	static const char *const want[][2] = {
		{"op_type", "conv2d"}, {"fused_activation", "relu6"}, {"batch", "1"}, {"c_in", "3"},
		{"h", "32"}, {"w", "32"}, {"c_out", "16"}, {"h_out", "16"}, {"w_out", "16"}, {"kh", "3"},
		{"kw", "3"}, {"stride_h", "2"}, {"stride_w", "2"}, {"pad_top", "1"}, {"pad_right", "1"},
		{"dilation_h", "1"}, {"groups", "1"}, {"macs", "110592"}, {"m", ""}, {"k", ""},
		{"in_shapes", "1x3x32x32;16x3x3x3"}, {"out_shapes", "1x16x16x16"}, {"dtype", "bf16"},
	};
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
		cr_expect_str_eq(csv_get(&c, 0, want[i][0]), want[i][1], "column %s", want[i][0]);
	csv_free(&c);
	tu_rmtree(dir);
	free(dir), free(gp), free(ops);
}

/* Every column of the row is documented in docs/traces.md (as `name`), and names are unique. */
Test(traces, every_op_row_column_is_documented)
{
	char *doc_path = tu_srcpath("docs/traces.md");
	char *doc = tu_read_file(doc_path, NULL);
	cr_assert_not_null(doc, "docs/traces.md is missing");
	for (size_t i = 0; i < oprow_ncols; i++) {
		char pat[96];
		snprintf(pat, sizeof pat, "`%s`", oprow_col_names[i]);
		cr_expect_not_null(strstr(doc, pat), "column %s is not documented", oprow_col_names[i]);
		for (size_t j = 0; j < i; j++)
			cr_expect_str_neq(oprow_col_names[i], oprow_col_names[j]);
	}
	free(doc);
	free(doc_path);
}

/* ---- compression and determinism --------------------------------------------------------------- */

static void run_outputs(const char *dir, const char *suffix, const char *gname)
{
	char tr[64], ops[64], mem[64];
	snprintf(tr, sizeof tr, "t.json%s", suffix);
	snprintf(ops, sizeof ops, "o.csv%s", suffix);
	snprintf(mem, sizeof mem, "m.csv%s", suffix);
	char *a = path_in(dir, tr), *b = path_in(dir, ops), *c = path_in(dir, mem), *g = model(gname);
	const char *argv[] = {"accelsim", "run", g, "--trace", a, "--ops", b, "--memory", c, NULL};
	cr_assert_eq(run(argv, NULL), 0);
	free(a), free(b), free(c), free(g);
}

static int same_file(const char *x, const char *y, int gz_y)
{
	size_t n1, n2;
	char *a = tu_read_file(x, &n1);
	char *b = gz_y ? gunzip(y, &n2) : tu_read_file(y, &n2);
	int same = a && b && n1 == n2 && memcmp(a, b, n1) == 0;
	free(a);
	free(b);
	return same;
}

/* .gz output decompresses to exactly the plain output; two runs give byte-identical files. */
Test(traces, gzip_and_plain_hold_the_same_bytes_and_runs_are_deterministic)
{
	char *d1 = tu_mkdtemp(), *d2 = tu_mkdtemp();
	run_outputs(d1, "", "mobilenet_v2_fused.yaml");
	run_outputs(d1, ".gz", "mobilenet_v2_fused.yaml");
	run_outputs(d2, "", "mobilenet_v2_fused.yaml");
	run_outputs(d2, ".gz", "mobilenet_v2_fused.yaml");
	static const char *const names[] = {"t.json", "o.csv", "m.csv"};
	for (int i = 0; i < 3; i++) {
		char gzname[32];
		snprintf(gzname, sizeof gzname, "%s.gz", names[i]);
		char *p1 = path_in(d1, names[i]), *z1 = path_in(d1, gzname);
		char *p2 = path_in(d2, names[i]), *z2 = path_in(d2, gzname);
		cr_expect(same_file(p1, z1, 1), "%s: gzip differs from plain", names[i]);
		cr_expect(same_file(p1, p2, 0), "%s: two runs differ", names[i]);
		cr_expect(same_file(z1, z2, 0), "%s.gz: two runs differ (compressed bytes)", names[i]);
		free(p1), free(z1), free(p2), free(z2);
	}
	tu_rmtree(d1);
	tu_rmtree(d2);
	free(d1), free(d2);
}

/* ---- memory: liveness by hand ------------------------------------------------------------------- */

/* The graph (fp32, 4 bytes per element):
 *     x  input   [64, 256]  65536 bytes      w  weight  [256, 64]  65536 bytes
 *     a = matmul(x, w)  [64, 64]  16384      b = relu(a)  [64, 64]  16384
 *     c = add(a, b)     [64, 64]  16384  (output)
 * Liveness: x [0, end mm); a [start mm, end add); b [start relu, end add); c [start add, end).
 * relu and add both wait for mm's last store of a; whether add's first instruction starts with
 * relu's or only later is a scheduling detail, so the phase "relu running, add not yet started"
 * may or may not appear. Live non-weight bytes:
 *     during mm:                   x + a       = 65536 + 16384    = 81920   ← the peak
 *     relu started, add not yet:   a + b       = 2 · 16384        = 32768   (may not appear)
 *     relu and add:                a + b + c   = 3 · 16384        = 49152
 *     after:                       c                              = 16384
 * Peak HBM footprint = weights 65536 + 81920 = 147456; parameters 65536. */
static const char live_yaml[] =
	"accelsim: 1\nname: live\ndtype: fp32\ntensors:\n"
	"  - {name: x, kind: input, shape: [64, 256]}\n"
	"  - {name: w, kind: weight, shape: [256, 64]}\n"
	"  - {name: a, kind: activation, shape: [64, 64]}\n"
	"  - {name: b, kind: activation, shape: [64, 64]}\n"
	"  - {name: c, kind: output, shape: [64, 64]}\n"
	"ops:\n"
	"  - {name: mm, type: matmul, inputs: [x, w], outputs: [a]}\n"
	"  - {name: r, type: relu, inputs: [a], outputs: [b]}\n"
	"  - {name: s, type: add, inputs: [a, b], outputs: [c]}\n";

Test(traces, peak_activation_memory_matches_liveness_by_hand)
{
	char *dir = tu_mkdtemp();
	char *gp = path_in(dir, "live.yaml"), *sj = path_in(dir, "s.json"), *mem = path_in(dir, "m.csv");
	cr_assert_eq(tu_write_file(gp, live_yaml, strlen(live_yaml)), 0);
	const char *argv[] = {"accelsim", "run", gp, "--summary", sj, "--memory", mem, NULL};
	tu_result r;
	cr_assert_eq(run(argv, &r), 0, "%s", r.err);
	cr_expect(strstr(r.out, "peak activations   81920 bytes") != NULL, "%s", r.out);
	tu_result_free(&r);
	char *s = tu_read_file(sj, NULL);
	cr_expect_eq(json_num(s, "param_bytes"), 65536);
	cr_expect_eq(json_num(s, "peak_activation_bytes"), 81920);
	cr_expect_eq(json_num(s, "peak_hbm_bytes"), 147456);
	cr_expect_eq(json_num(s, "peak_activation_ns"), 0, "the peak is reached when mm starts");
	csv c;
	csv_parse(&c, tu_read_file(mem, NULL));
	double mx = 0;
	int saw_add = 0;
	for (size_t i = 0; i < c.rows; i++) {
		double v = csv_num(&c, i, "hbm_activation_bytes");
		mx = v > mx ? v : mx;
		saw_add |= v == 49152;
		cr_expect(v == 81920 || v == 49152 || v == 32768 || v == 16384, "live bytes %g match no phase", v);
		cr_expect_eq(csv_num(&c, i, "hbm_weight_bytes"), 65536);
		cr_expect_leq(csv_num(&c, i, "sbuf_bytes"), 25165824);
		cr_expect_leq(csv_num(&c, i, "psum_bytes"), 2097152);
	}
	cr_expect_eq(mx, 81920);
	cr_expect(saw_add, "the relu + add phase (49152) appears");
	cr_expect_eq(csv_num(&c, c.rows - 1, "hbm_activation_bytes"), 16384, "only the output is left");
	csv_free(&c);
	free(s);
	tu_rmtree(dir);
	free(dir), free(gp), free(sj), free(mem);
}

/* --memory-budget: the footprint is 147456 bytes (above). 100KiB = 102400 → does not fit, 45056
 * bytes over, exit status 3; 144KiB = 147456 → fits with 0 to spare; a malformed size is a usage
 * error (2); a program has no liveness (2). */
Test(traces, memory_budget_verdict_and_exit_status)
{
	char *dir = tu_mkdtemp();
	char *gp = path_in(dir, "live.yaml"), *sj = path_in(dir, "s.json");
	cr_assert_eq(tu_write_file(gp, live_yaml, strlen(live_yaml)), 0);
	tu_result r;
	const char *a1[] = {"accelsim", "run", gp, "--memory-budget", "100KiB", "--summary", sj, NULL};
	cr_expect_eq(run(a1, &r), 3);
	cr_expect(strstr(r.out, "DOES NOT FIT, 45056 bytes over") != NULL, "%s", r.out);
	tu_result_free(&r);
	char *s = tu_read_file(sj, NULL);
	cr_assert_not_null(s, "the summary is written even when the model does not fit");
	cr_expect(strstr(s, "\"fits_memory_budget\": false") != NULL);
	cr_expect_eq(json_num(s, "memory_budget_over_bytes"), 45056);
	free(s);
	const char *a2[] = {"accelsim", "run", gp, "--memory-budget", "144KiB", NULL};
	cr_expect_eq(run(a2, &r), 0);
	cr_expect(strstr(r.out, "147456 bytes: fits, 0 bytes to spare") != NULL, "%s", r.out);
	tu_result_free(&r);
	const char *a3[] = {"accelsim", "run", gp, "--memory-budget", "24GiB", NULL};
	cr_expect_eq(run(a3, &r), 0);
	cr_expect(strstr(r.out, "25769803776 bytes: fits") != NULL, "%s", r.out);
	tu_result_free(&r);
	const char *a4[] = {"accelsim", "run", gp, "--memory-budget", "12XB", NULL};
	cr_expect_eq(run(a4, NULL), 2);
	char *prog = tu_srcpath("tests/asm/every_opcode.s");
	const char *a5[] = {"accelsim", "run", prog, "--memory-budget", "1GB", NULL};
	cr_expect_eq(run(a5, NULL), 2);
	free(prog);
	tu_rmtree(dir);
	free(dir), free(gp), free(sj);
}

/* ---- energy ------------------------------------------------------------------------------------ */

/* trn1.yaml's energy table: sbuf 1.43 pJ/byte, psum 0.44 pJ/byte, hbm 4 pJ/bit, static 30 W.
 * From the summary's own byte counts (the engine's) and that table, by hand:
 *     sbuf = (read + written) · 1.43      psum = (read + written) · 0.44
 *     hbm  = (read + written) · 8 · 4     static = 30 W · latency
 * and the components add up to the total. */
Test(traces, energy_components_follow_the_table_and_add_up)
{
	char *dir = tu_mkdtemp();
	char *sj = path_in(dir, "s.json"), *g = model("mlp.yaml");
	const char *argv[] = {"accelsim", "run", g, "--summary", sj, NULL};
	cr_assert_eq(run(argv, NULL), 0);
	char *s = tu_read_file(sj, NULL);
	const char *e = strstr(s, "\"energy_pj\": {");
	cr_assert_not_null(e);
	double comp[5], tot;
	cr_assert_eq(sscanf(e, "\"energy_pj\": {\"mac\": %lf, \"sbuf\": %lf, \"psum\": %lf, \"hbm\": %lf, "
	                       "\"static\": %lf, \"total\": %lf}", &comp[0], &comp[1], &comp[2], &comp[3],
	                    &comp[4], &tot), 6);
	cr_expect_float_eq(comp[0] + comp[1] + comp[2] + comp[3] + comp[4], tot, 1e-3 + tot * 1e-12);
	double sb = json_num(s, "sbuf_read_bytes") + json_num(s, "sbuf_write_bytes");
	double ps = json_num(s, "psum_read_bytes") + json_num(s, "psum_write_bytes");
	double hb = json_num(s, "hbm_read_bytes") + json_num(s, "hbm_write_bytes");
	double ns = json_num(s, "latency_ns");
	cr_expect_float_eq(comp[1], sb * 1.43, 1e-3);
	cr_expect_float_eq(comp[2], ps * 0.44, 1e-3);
	cr_expect_float_eq(comp[3], hb * 32, 1e-3);
	cr_expect_float_eq(comp[4], 30.0 * ns * 1e3, 30.0 * 1e3 * 1e-3);   /* W · ns = 1e3 pJ; ns printed to 1e-3 */
	cr_expect_gt(comp[0], 0);
	cr_expect_float_eq(json_num(s, "energy_per_flop_pj"), tot / json_num(s, "flops"), 1e-6);
	free(s);
	tu_rmtree(dir);
	free(dir), free(sj), free(g);
}

/* A large matmul as the PE array sees it: 64 back-to-back 128×128×512 matmuls (K = 128 rows,
 * M = 128 stationary columns, N = 512 moving columns), operands in SBUF, results in PSUM (fp32).
 * Per matmul: MACs = 128·128·512 = 8388608, FLOPs = 16777216; SBUF read = (128·128 + 128·512)·s
 * bytes (s = 2 for bf16, 4 for fp32); PSUM written = 128·512·4 = 262144 bytes.
 * trn1.yaml: mac_pj bf16 0.5, fp32 1.15; sbuf 1.43 pJ/B; psum 0.44 pJ/B; static 30 W; the PE
 * array at 2.8 GHz issues one every max(min(64,128), 512) = 512 cycles (×4 = 2048 for fp32), and
 * the last result leaves fill + drain = 128 + 128 cycles later.
 *     bf16 dynamic = 8388608·0.5  + 163840·1.43 + 262144·0.44 = 4543938.56 pJ per matmul
 *     fp32 dynamic = 8388608·1.15 + 327680·1.43 + 262144·0.44 = 10230824.96 pJ per matmul
 *     bf16 time = (64·512 + 256) / 2.8 GHz = 11794.2857 ns → static 30 W · t = 353828571.4 pJ
 *     fp32 time = (64·2048 + 256) / 2.8 GHz = 46902.8571 ns → static = 1407085714.3 pJ
 * Energy per FLOP (÷ 64·16777216 = 1073741824 FLOPs):
 *     bf16 (290812067.84 + 353828571.43) / 1073741824 = 0.60037 pJ
 *     fp32 (654772797.44 + 1407085714.29) / 1073741824 = 1.92026 pJ      fp32/bf16 = 3.1985
 * of which dynamic alone 10230824.96 / 4543938.56 = 2.2515 (the MAC alone 1.15 / 0.5 = 2.3):
 * bf16 is "under a third" of fp32 here only because fp32 runs 4× longer and leaks 4× the
 * static energy, not because its arithmetic is that much cheaper. */
static void matmul_energy(const chip *c, const char *dt, tracer_summary *out, engine_result *r)
{
	int s = strcmp(dt, "bf16") == 0 ? 2 : 4;
	char line[256], prog[64 * 260];
	snprintf(line, sizeof line, "matmul dst=psum.fp32[p=0:128,n=512] stat=sbuf.%s[p=0:128,n=128] "
	         "mov=sbuf.%s[p=0:128,off=%d,n=512] gop=0\n", dt, dt, 128 * s);
	prog[0] = '\0';
	for (int i = 0; i < 64; i++)
		strcat(prog, line);
	isa_program p;
	asim_err e;
	asim_err_init(&e);
	cr_assert_eq(asm_parse("mm.s", prog, strlen(prog), &p, NULL, &e), 0, "%s", e.msg);
	tracer *t;
	tracer_opts o;
	memset(&o, 0, sizeof o);
	o.version = "test";
	cr_assert_eq(tracer_new(&t, c, &p, NULL, &o, &e), 0, "%s", e.msg);
	event_sink sink = tracer_sink(t);
	cr_assert_eq(engine_run(c, &p, &sink, r, &e), 0, "%s", e.msg);
	cr_assert_eq(tracer_finish(t, r, &e), 0, "%s", e.msg);
	*out = *tracer_get_summary(t);
	tracer_free(t);
	isa_program_fini(&p);
}

Test(traces, bf16_vs_fp32_matmul_energy_per_flop_follows_the_table)
{
	chip c;
	asim_err e;
	asim_err_init(&e);
	cr_assert_eq(chip_load_default(&c, &e), 0, "%s", e.msg);
	/* the figures the derivation above uses */
	cr_assert_float_eq(c.energy.mac_pj[ASIM_DT_BF16], 0.5, 1e-12);
	cr_assert_float_eq(c.energy.mac_pj[ASIM_DT_FP32], 1.15, 1e-12);
	cr_assert_float_eq(c.energy.sbuf_pj_per_byte, 1.43, 1e-12);
	cr_assert_float_eq(c.energy.psum_pj_per_byte, 0.44, 1e-12);
	cr_assert_float_eq(c.energy.static_w, 30, 1e-12);
	cr_assert_eq(c.pe.fill_cycles + c.pe.drain_cycles, 256u);
	tracer_summary b, f;
	engine_result rb, rf;
	matmul_energy(&c, "bf16", &b, &rb);
	matmul_energy(&c, "fp32", &f, &rf);
	double flops = 64.0 * 16777216;
	cr_expect_eq(rb.flops, (uint64_t)flops);
	double dyn_b = b.energy_total_pj - b.energy_pj[ENERGY_STATIC];
	double dyn_f = f.energy_total_pj - f.energy_pj[ENERGY_STATIC];
	cr_expect_float_eq(dyn_b, 64 * 4543938.56, 1e-3);
	cr_expect_float_eq(dyn_f, 64 * 10230824.96, 1e-3);
	cr_expect_float_eq(b.energy_pj[ENERGY_STATIC], 353828571.43, 1.0);
	cr_expect_float_eq(f.energy_pj[ENERGY_STATIC], 1407085714.29, 1.0);
	cr_expect_float_eq(b.energy_total_pj / flops, 0.60037, 1e-5);
	cr_expect_float_eq(f.energy_total_pj / flops, 1.92026, 1e-5);
	cr_expect_float_eq(f.energy_total_pj / b.energy_total_pj, 3.1985, 1e-4);
	cr_expect_float_eq(dyn_f / dyn_b, 2.2515, 1e-4);
	/* by dtype: everything bf16 in one run, fp32 in the other */
	cr_expect_float_eq(b.energy_dtype_pj[ASIM_DT_BF16], dyn_b, 1e-3);
	cr_expect_float_eq(f.energy_dtype_pj[ASIM_DT_FP32], dyn_f, 1e-3);
	engine_result_fini(&rb);
	engine_result_fini(&rf);
	chip_fini(&c);
}

/* ---- stall causes ------------------------------------------------------------------------------ */

/* A load, a matmul that reads it (waits for the DMA: data), and a second load into the same SBUF
 * region that must wait until the matmul has read it (space, not data). */
Test(traces, stalls_are_classified_as_data_or_space)
{
	static const char prog[] =
		"dma @q0 dst=sbuf.bf16[p=0:128,n=512] src=hbm.bf16[rows=128,n=512] signal s0 gop=0\n"
		"matmul dst=psum.fp32[p=0:128,n=512] stat=sbuf.bf16[p=0:128,off=4096,n=128] mov=sbuf.bf16[p=0:128,n=512] wait s0>=1 signal s1 gop=0\n"
		"dma @q1 dst=sbuf.bf16[p=0:128,n=512] src=hbm.bf16[rows=128,off=131072,n=512] wait s1>=1 gop=1\n";
	chip c;
	asim_err e;
	asim_err_init(&e);
	cr_assert_eq(chip_load_default(&c, &e), 0);
	isa_program p;
	cr_assert_eq(asm_parse("st.s", prog, strlen(prog), &p, NULL, &e), 0, "%s", e.msg);
	char *dir = tu_mkdtemp(), *ops = path_in(dir, "o.csv");
	tracer *t;
	tracer_opts o;
	memset(&o, 0, sizeof o);
	o.version = "test";
	o.ops_path = ops;
	cr_assert_eq(tracer_new(&t, &c, &p, NULL, &o, &e), 0, "%s", e.msg);
	event_sink sink = tracer_sink(t);
	engine_result r;
	cr_assert_eq(engine_run(&c, &p, &sink, &r, &e), 0, "%s", e.msg);
	cr_assert_eq(tracer_finish(t, &r, &e), 0, "%s", e.msg);
	tracer_free(t);
	csv cs;
	csv_parse(&cs, tu_read_file(ops, NULL));
	cr_assert_eq(cs.rows, 2);
	cr_expect_str_eq(csv_get(&cs, 0, "stall_cause"), "dma");
	cr_expect_gt(csv_num(&cs, 0, "stall_dma_ns"), 0);
	cr_expect_str_eq(csv_get(&cs, 1, "stall_cause"), "sbuf_space");
	cr_expect_gt(csv_num(&cs, 1, "stall_sbuf_space_ns"), 0);
	cr_expect_eq(csv_num(&cs, 1, "stall_dma_ns"), 0);
	csv_free(&cs);
	engine_result_fini(&r);
	isa_program_fini(&p);
	chip_fini(&c);
	tu_rmtree(dir);
	free(dir), free(ops);
}

/* ---- interrupted runs --------------------------------------------------------------------------- */

static size_t dir_entries(const char *dir, int *tmp)
{
	DIR *d = opendir(dir);
	size_t n = 0;
	*tmp = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		n++;
		if (strstr(de->d_name, ".tmp-"))
			*tmp = 1;
	}
	closedir(d);
	return n;
}

/* Start a long run writing a trace, per-op rows and a memory series; as soon as a temporary file
 * appears, send the signal. Afterwards the directory is empty: no file under a requested name
 * (the rename never happened) and no temporary left (the handler removed them). */
static void interrupt_with(int sig)
{
	char *dir = tu_mkdtemp();
	char *tr = path_in(dir, "t.json.gz"), *ops = path_in(dir, "o.csv"), *mem = path_in(dir, "m.csv.gz");
	char *g = model("resnet50.yaml");
	char *exe = path_in(ASIM_BUILDDIR, "accelsim");
	pid_t pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		/* as from a terminal: the test runner may have the child ignore SIGINT, and the program
		 * (rightly, like nohup) keeps a signal ignored that it inherits ignored */
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		if (freopen("/dev/null", "w", stdout) == NULL)
			_exit(126);
		execl(exe, "accelsim", "run", g, "--trace", tr, "--ops", ops, "--memory", mem, (char *)NULL);
		_exit(127);
	}
	int tmp = 0, waited = 0;
	struct timespec ms = {0, 1000000};
	while (!tmp && waited < 120000) {   /* up to 2 minutes for the lowering under sanitizers */
		dir_entries(dir, &tmp);
		if (!tmp) {
			nanosleep(&ms, NULL);
			waited++;
		}
	}
	cr_assert(tmp, "no temporary file appeared");
	kill(pid, sig);
	int st;
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_expect(WIFSIGNALED(st) && WTERMSIG(st) == sig, "the run dies of the signal (status %d)", st);
	size_t n = dir_entries(dir, &tmp);
	cr_expect_eq(n, 0, "files left behind after signal %d", sig);
	tu_rmtree(dir);
	free(dir), free(tr), free(ops), free(mem), free(g), free(exe);
}

Test(traces, interrupted_run_leaves_no_partial_file, .timeout = 300)
{
	interrupt_with(SIGTERM);
	interrupt_with(SIGINT);
}
