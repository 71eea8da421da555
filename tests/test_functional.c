/*
 * test_functional.c -- functional mode: the values of lowered programs (sim/functional.h).
 *
 * The reference the executor is compared with is func_reference(): each graph op computed
 * directly from its definition with the datapath kernels, no tiling, in the documented orders
 * (docs/functional.md). Its independence from the program is the point: the executor only sees
 * instructions and memory images, the reference only the graph. Where the two could share a
 * mistake (the accumulation order itself), the tests pin it by hand: a 2-row contraction whose
 * FP32 sums are computed here in plain C for both orders.
 *
 * Chips: trn1 (128×128) and "tiny" chips (8 rows, 4 or 8 columns, moving ≤ 16 or 32, 16
 * partitions, 4 KiB per partition, 64-byte PSUM banks) that force many tiles of every kind.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "isa/lower.h"
#include "sim/alloc.h"
#include "sim/chip.h"
#include "sim/datapath/format.h"
#include "sim/datapath/npy.h"
#include "sim/functional.h"
#include "sim/graph.h"
#include "testutil.h"

/* the graph texts below are printf templates (numerics overrides substituted per test) */
#pragma GCC diagnostic ignored "-Wformat-nonliteral"

static const char MLP[] =
"accelsim: 1\nname: mlp_small\ndtype: bf16\n"
"tensors:\n"
"  - {name: x, kind: input, shape: [37, 300]}\n"
"  - {name: w1, kind: weight, shape: [300, 70]}\n"
"  - {name: b1, kind: weight, shape: [70]}\n"
"  - {name: h, kind: activation, shape: [37, 70]}\n"
"  - {name: w2, kind: weight, shape: [70, 19]}\n"
"  - {name: b2, kind: weight, shape: [19]}\n"
"  - {name: y, kind: activation, shape: [37, 19]}\n"
"  - {name: r, kind: input, shape: [37, 19]}\n"
"  - {name: s, kind: activation, shape: [37, 19]}\n"
"  - {name: out, kind: output, shape: [37, 19]}\n"
"ops:\n"
"  - {name: fc1, type: matmul, inputs: [x, w1, b1], outputs: [h], activation: relu%s}\n"
"  - {name: fc2, type: matmul, inputs: [h, w2, b2], outputs: [y]%s}\n"
"  - {name: res, type: add, inputs: [y, r], outputs: [s], activation: silu}\n"
"  - {name: act, type: gelu, inputs: [s], outputs: [out]}\n";

static const char CONV[] =
"accelsim: 1\nname: conv_small\ndtype: bf16\n"
"tensors:\n"
"  - {name: x, kind: input, shape: [2, 19, 9, 11]}\n"
"  - {name: w, kind: weight, shape: [7, 19, 3, 3]}\n"
"  - {name: b, kind: weight, shape: [7]}\n"
"  - {name: y, kind: activation, shape: [2, 7, 5, 6]}\n"
"  - {name: dw, kind: weight, shape: [14, 1, 3, 3]}\n"
"  - {name: db, kind: weight, shape: [14]}\n"
"  - {name: z, kind: output, shape: [2, 14, 5, 6]}\n"
"ops:\n"
"  - {name: c1, type: conv2d, inputs: [x, w, b], outputs: [y], stride: 2, padding: 1, activation: relu%s}\n"
"  - {name: c2, type: conv2d, inputs: [y, dw, db], outputs: [z], padding: 1, groups: 7, activation: relu6%s}\n";

static const char SR[] = ", rounding: sr";

static void load_graph(graph *g, const char *fmt, int sr)
{
	char buf[4096];
	snprintf(buf, sizeof buf, fmt, sr ? SR : "", sr ? SR : "");
	asim_err e;
	asim_err_init(&e);
	cr_assert_eq(graph_load_buffer(g, "test.yaml", buf, strlen(buf), &e), 0, "%s", e.msg);
}

static void set(chip *c, const char *k, const char *v)
{
	asim_err e;
	asim_err_init(&e);
	cr_assert_eq(chip_set_param(c, k, v, &e), 0, "%s=%s: %s", k, v, e.msg);
}

/* tiny chips: 8 rows; `wide` selects 8 columns and 32-column moving tiles instead of 4 and 16 */
static void tiny_chip(chip *c, int wide)
{
	asim_err e;
	asim_err_init(&e);
	cr_assert_eq(chip_load_default(c, &e), 0, "%s", e.msg);
	set(c, "vector.lanes", "16");
	set(c, "scalar.lanes", "16");
	set(c, "pe_array.rows", "8");
	set(c, "pe_array.cols", wide ? "8" : "4");
	set(c, "pe_array.max_moving", wide ? "32" : "16");
	set(c, "sbuf.partitions", "16");
	set(c, "sbuf.partition_bytes", wide ? "8 KiB" : "4 KiB");
	set(c, "psum.partitions", "16");
	set(c, "psum.banks", "4");
	set(c, "psum.partition_bytes", wide ? "512" : "256");
	set(c, "dma.engines", wide ? "5" : "3");
}

/* Lower g for c, run it functionally (inputs from seed 7 unless given) and the reference. */
static void run_both(const graph *g, const chip *c, uint64_t seed, func_order order,
                     func_vals *fv, func_vals *ref)
{
	asim_err e;
	asim_err_init(&e);
	isa_program p;
	isa_program_init(&p);
	lower_opts lo = {0};
	cr_assert_eq(lower_graph(g, c, &lo, &p, &e), 0, "%s", e.msg);
	cr_assert_eq(func_vals_init(fv, g, &e), 0);
	func_random_inputs(g, 7, fv);
	func_opts o = {seed, order};
	cr_assert_eq(func_run(g, c, &p, &o, fv, &e), 0, "%s", e.msg);
	if (ref != NULL) {
		cr_assert_eq(func_vals_init(ref, g, &e), 0);
		func_random_inputs(g, 7, ref);
		cr_assert_eq(func_reference(g, c, &o, ref, &e), 0, "%s", e.msg);
	}
	isa_program_fini(&p);
}

/* lower g for c into p and make fv's value images (inputs left zero for the caller) */
static void lower_and_init(const graph *g, const chip *c, isa_program *p, func_vals *fv)
{
	asim_err e;
	asim_err_init(&e);
	isa_program_init(p);
	lower_opts lo = {0};
	cr_assert_eq(lower_graph(g, c, &lo, p, &e), 0, "%s", e.msg);
	cr_assert_eq(func_vals_init(fv, g, &e), 0);
}

/* every tensor an op computes has identical codes in a and b; returns differing elements */
static uint64_t ndiff(const graph *g, const func_vals *a, const func_vals *b, int outputs_only)
{
	uint64_t n = 0;
	for (size_t t = 0; t < g->n_tensors; t++) {
		const graph_tensor *T = &g->tensors[t];
		if (T->producer < 0 || (outputs_only && T->kind != GRAPH_OUTPUT))
			continue;
		size_t es = asim_dtype_bytes(T->dtype);
		for (uint64_t i = 0; i < T->elems; i++)
			n += memcmp((char *)a->v[t] + i * es, (char *)b->v[t] + i * es, es) != 0;
	}
	return n;
}

static uint64_t nonzero(const graph *g, const func_vals *a)
{
	uint64_t n = 0;
	for (size_t t = 0; t < g->n_tensors; t++) {
		const graph_tensor *T = &g->tensors[t];
		for (uint64_t i = 0; T->producer >= 0 && i < T->bytes; i++)
			n += ((unsigned char *)a->v[t])[i] != 0;
	}
	return n;
}

static void equal_to_reference(const char *fmt, int sr, int tiny)
{
	graph g;
	chip c;
	asim_err e;
	asim_err_init(&e);
	load_graph(&g, fmt, sr);
	if (tiny)
		tiny_chip(&c, 0);
	else
		cr_assert_eq(chip_load_default(&c, &e), 0);
	func_vals fv, ref;
	run_both(&g, &c, 11, FUNC_ORDER_PROGRAM, &fv, &ref);
	cr_expect_gt(nonzero(&g, &fv), 1000, "the values are not trivially zero");
	cr_expect_eq(ndiff(&g, &fv, &ref, 0), 0, "functional values differ from the reference");
	func_vals_fini(&fv);
	func_vals_fini(&ref);
	chip_fini(&c);
	graph_fini(&g);
}

Test(functional, mlp_equals_reference_bit_for_bit_on_trn1) { equal_to_reference(MLP, 0, 0); }
Test(functional, mlp_equals_reference_bit_for_bit_on_a_tiny_chip) { equal_to_reference(MLP, 0, 1); }
Test(functional, conv_equals_reference_bit_for_bit_on_trn1) { equal_to_reference(CONV, 0, 0); }
Test(functional, conv_equals_reference_bit_for_bit_on_a_tiny_chip) { equal_to_reference(CONV, 0, 1); }
Test(functional, sr_mlp_equals_reference_on_a_tiny_chip) { equal_to_reference(MLP, 1, 1); }
Test(functional, sr_conv_equals_reference_on_trn1) { equal_to_reference(CONV, 1, 0); }

/* Same rows (same K tiles), different columns, moving size, SBUF, PSUM and DMA queues: every
 * op gives identical bits, with RNE and with SR (element-keyed random bits). */
static void tiling_independent(const char *fmt, int sr)
{
	graph g;
	chip a, b;
	load_graph(&g, fmt, sr);
	tiny_chip(&a, 0);
	tiny_chip(&b, 1);
	func_vals va, vb;
	run_both(&g, &a, 3, FUNC_ORDER_PROGRAM, &va, NULL);
	run_both(&g, &b, 3, FUNC_ORDER_PROGRAM, &vb, NULL);
	cr_expect_eq(ndiff(&g, &va, &vb, 0), 0, "results depend on the tiling");
	func_vals_fini(&va);
	func_vals_fini(&vb);
	chip_fini(&a);
	chip_fini(&b);
	graph_fini(&g);
}

Test(functional, identical_bits_whatever_the_tiling_mlp) { tiling_independent(MLP, 0); }
Test(functional, identical_bits_whatever_the_tiling_conv) { tiling_independent(CONV, 0); }
Test(functional, identical_sr_bits_whatever_the_tiling) { tiling_independent(MLP, 1); tiling_independent(CONV, 1); }

/* trn1 (128 rows) and the tiny chip (8 rows): the conv's second op (depthwise, on the vector
 * engine) never depends on the rows; the first (C_in = 19 > 8) does, by the documented order. */
Test(functional, different_pe_depths_agree_exactly_where_the_order_agrees)
{
	graph g;
	chip t, big;
	asim_err e;
	asim_err_init(&e);
	char txt[4096];
	snprintf(txt, sizeof txt, CONV, "", "");
	memcpy(strstr(txt, "dtype: bf16") + 7, "fp32", 4);   /* FP32 results show every sum bit */
	cr_assert_eq(graph_load_buffer(&g, "fp32.yaml", txt, strlen(txt), &e), 0, "%s", e.msg);
	tiny_chip(&t, 0);
	cr_assert_eq(chip_load_default(&big, &e), 0);
	func_vals a, b;
	run_both(&g, &t, 1, FUNC_ORDER_PROGRAM, &a, NULL);
	run_both(&g, &big, 1, FUNC_ORDER_PROGRAM, &b, NULL);
	/* y (conv over 19 channels): 3 C_in tiles on the tiny chip, 1 on trn1: the sums differ
	 * somewhere (with these inputs), and equal each chip's own reference (tests above) */
	int64_t y = graph_find_tensor(&g, "y");
	cr_assert_geq(y, 0);
	cr_expect_neq(memcmp(a.v[y], b.v[y], g.tensors[y].bytes), 0);
	func_vals_fini(&a);
	func_vals_fini(&b);
	graph_fini(&g);
	/* a conv with C_in = 5 ≤ 8: the same (C_in tile, tap) passes on both chips */
	static const char SMALL[] =
	"accelsim: 1\nname: c5\ndtype: fp32\ntensors:\n"
	"  - {name: x, kind: input, shape: [1, 5, 13, 11]}\n"
	"  - {name: w, kind: weight, shape: [9, 5, 3, 3]}\n"
	"  - {name: y, kind: output, shape: [1, 9, 7, 6]}\n"
	"  - {name: a, kind: input, shape: [23, 8]}\n"
	"  - {name: m, kind: weight, shape: [8, 13]}\n"
	"  - {name: p, kind: output, shape: [23, 13]}\n"
	"ops:\n"
	"  - {name: c, type: conv2d, inputs: [x, w], outputs: [y], stride: 2, padding: 1}\n"
	"  - {name: mm, type: matmul, inputs: [a, m], outputs: [p]}\n";
	cr_assert_eq(graph_load_buffer(&g, "small.yaml", SMALL, strlen(SMALL), &e), 0, "%s", e.msg);
	run_both(&g, &t, 1, FUNC_ORDER_PROGRAM, &a, NULL);
	run_both(&g, &big, 1, FUNC_ORDER_PROGRAM, &b, NULL);
	cr_expect_eq(ndiff(&g, &a, &b, 0), 0);
	func_vals_fini(&a);
	func_vals_fini(&b);
	graph_fini(&g);
	chip_fini(&t);
	chip_fini(&big);
}

Test(functional, sr_same_seed_same_bits_other_seed_other_bits)
{
	graph g;
	chip c;
	load_graph(&g, MLP, 1);
	tiny_chip(&c, 0);
	func_vals a, b, d;
	run_both(&g, &c, 5, FUNC_ORDER_PROGRAM, &a, NULL);
	run_both(&g, &c, 5, FUNC_ORDER_PROGRAM, &b, NULL);
	run_both(&g, &c, 6, FUNC_ORDER_PROGRAM, &d, NULL);
	cr_expect_eq(ndiff(&g, &a, &b, 0), 0);
	/* SR changes roughly half of the inexact roundings: far more than a handful */
	cr_expect_gt(ndiff(&g, &a, &d, 0), 100);
	func_vals_fini(&a);
	func_vals_fini(&b);
	func_vals_fini(&d);
	chip_fini(&c);
	graph_fini(&g);
}

/* The accumulation order, by hand, with a = [1, 2^-24, 2^-24, 2^-24], b = ones (FP32):
 *   2 rows:  tile 0 = (+0 + 1) + 2^-24 = 1 (tie, to even); tile 1 = (+0 + 2^-24) + 2^-24 = 2^-23;
 *            PSUM = 1, then 1 + 2^-23 (exact)                              -> 1 + 2^-23
 *   4 rows:  one pass ((((+0 + 1) + 2^-24) + 2^-24) + 2^-24) = 1 (each a tie to even) -> 1 */
/* the FP32 graph `text` (tensors 0 and 1: four inputs each, tensor 2: one output) on the tiny
 * chip with `rows` PE rows, inputs a and b: the functional output; and the reference's in *ref
 * unless NULL */
static float four_term_result(const char *text, const char *rows, const float a[4], const float b[4],
                              float *ref)
{
	graph g;
	chip c;
	asim_err e;
	asim_err_init(&e);
	cr_assert_eq(graph_load_buffer(&g, "four.yaml", text, strlen(text), &e), 0, "%s", e.msg);
	tiny_chip(&c, 0);
	set(&c, "pe_array.rows", rows);
	isa_program p;
	func_vals fv;
	lower_and_init(&g, &c, &p, &fv);
	memcpy(fv.v[0], a, 4 * sizeof *a);
	memcpy(fv.v[1], b, 4 * sizeof *b);
	func_opts o = {0, FUNC_ORDER_PROGRAM};
	cr_assert_eq(func_run(&g, &c, &p, &o, &fv, &e), 0, "%s", e.msg);
	float y;
	memcpy(&y, fv.v[2], sizeof y);
	if (ref != NULL) {
		func_vals rv;
		cr_assert_eq(func_vals_init(&rv, &g, &e), 0);
		memcpy(rv.v[0], a, 4 * sizeof *a);
		memcpy(rv.v[1], b, 4 * sizeof *b);
		cr_assert_eq(func_reference(&g, &c, &o, &rv, &e), 0, "%s", e.msg);
		memcpy(ref, rv.v[2], sizeof *ref);
		func_vals_fini(&rv);
	}
	func_vals_fini(&fv);
	isa_program_fini(&p);
	chip_fini(&c);
	graph_fini(&g);
	return y;
}

static float k4_result(const char *rows)
{
	static const char G[] =
	"accelsim: 1\nname: k4\ndtype: fp32\ntensors:\n"
	"  - {name: a, kind: input, shape: [1, 4]}\n"
	"  - {name: b, kind: weight, shape: [4, 1]}\n"
	"  - {name: y, kind: output, shape: [1, 1]}\n"
	"ops:\n  - {name: mm, type: matmul, inputs: [a, b], outputs: [y]}\n";
	const float a[4] = {1.0f, 0x1p-24f, 0x1p-24f, 0x1p-24f}, b[4] = {1.0f, 1.0f, 1.0f, 1.0f};
	return four_term_result(G, rows, a, b, NULL);
}

Test(functional, matmul_k_tiles_accumulate_in_psum_in_ascending_k)
{
	float y2 = k4_result("2"), y4 = k4_result("4");
	cr_expect_eq(y2, 1.0f + 0x1p-23f, "2 rows: got %a", (double)y2);
	cr_expect_eq(y4, 1.0f, "4 rows: got %a", (double)y4);
}

Test(functional, refuses_ops_it_cannot_execute_naming_them)
{
	static const char G[] =
	"accelsim: 1\nname: acc\ndtype: bf16\ntensors:\n"
	"  - {name: a, kind: input, shape: [4, 8]}\n"
	"  - {name: b, kind: weight, shape: [8, 3]}\n"
	"  - {name: y, kind: output, shape: [4, 3]}\n"
	"ops:\n  - {name: probs, type: matmul, inputs: [a, b], outputs: [y], accum: bf16}\n";
	static const char B[] =
	"accelsim: 1\nname: bc\ndtype: bf16\ntensors:\n"
	"  - {name: dy, kind: input, shape: [4, 8]}\n"
	"  - {name: b, kind: weight, shape: [5, 8]}\n"
	"  - {name: da, kind: output, shape: [5, 4]}\n"
	"ops:\n  - {name: step, type: matmul_backward_data, inputs: [dy, b], outputs: [da], transpose_a: true, dtype: fp8_e4m3}\n";
	static const char W[] =
	"accelsim: 1\nname: cw\ndtype: bf16\ntensors:\n"
	"  - {name: x, kind: input, shape: [1, 3, 6, 6]}\n"
	"  - {name: dy, kind: input, shape: [1, 4, 6, 6]}\n"
	"  - {name: dw, kind: activation, shape: [4, 3, 3, 3]}\n"
	"  - {name: w, kind: weight, shape: [4, 3, 3, 3]}\n"
	"  - {name: w1, kind: output, shape: [4, 3, 3, 3]}\n"
	"ops:\n  - {name: gw, type: conv2d_backward_weight, inputs: [x, dy], outputs: [dw], padding: 1}\n"
	"  - {name: upd, type: sub, inputs: [w, dw], outputs: [w1]}\n";
	const char *src[3] = {G, B, W};
	const char *name[3] = {"'probs' (matmul)", "'step' (matmul_backward_data): a numerics 'dtype' override",
	                       "'gw' (conv2d_backward_weight): its dW (stored in the PE-ready"};
	for (int k = 0; k < 3; k++) {
		graph g;
		asim_err e;
		asim_err_init(&e);
		cr_assert_eq(graph_load_buffer(&g, "r.yaml", src[k], strlen(src[k]), &e), 0, "%s", e.msg);
		cr_expect_eq(func_check_graph(&g, &e), ASIM_EUNSUPPORTED);
		cr_expect(strstr(e.msg, name[k]) != NULL, "%s", e.msg);
		cr_expect(strstr(e.msg, "r.yaml:") == e.msg, "%s", e.msg);
		graph_fini(&g);
	}
}

/* ---- the command line --------------------------------------------------------------------- */

static char *path2(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = malloc(n);
	snprintf(p, n, "%s/%s", dir, name);
	return p;
}

static void write_inputs_npy(const graph *g, const func_vals *fv, const char *dir)
{
	asim_err e;
	asim_err_init(&e);
	for (size_t t = 0; t < g->n_tensors; t++) {
		const graph_tensor *T = &g->tensors[t];
		if (T->kind != GRAPH_INPUT && T->kind != GRAPH_WEIGHT)
			continue;
		float *x = calloc(T->elems, sizeof *x);
		for (uint64_t i = 0; i < T->elems; i++)   /* bf16 -> float32: exact, by hand */
			x[i] = (float)dp_decode(DP_FMT_BF16, dp_code_load(DP_FMT_BF16, fv->v[t], i));
		size_t shape[8];
		for (uint32_t d = 0; d < T->rank; d++)
			shape[d] = T->shape[d];
		char name[128];
		snprintf(name, sizeof name, "%s.npy", T->name);
		char *p = path2(dir, name);
		cr_assert_eq(dp_npy_write(p, DP_NPY_F32, shape, T->rank, x, &e), 0, "%s", e.msg);
		free(p);
		free(x);
	}
}

Test(functional, npy_round_trip_through_the_cli)
{
	graph g;
	chip c;
	asim_err e;
	asim_err_init(&e);
	load_graph(&g, CONV, 1);
	cr_assert_eq(chip_load_default(&c, &e), 0);
	func_vals fv;
	run_both(&g, &c, 42, FUNC_ORDER_PROGRAM, &fv, NULL);   /* inputs from seed 7, SR seed 42 */
	char *dir = tu_mkdtemp(), *in = path2(dir, "in"), *out = path2(dir, "out"),
	     *raw = path2(dir, "raw"), *gp = path2(dir, "g.yaml");
	char buf[4096];
	snprintf(buf, sizeof buf, CONV, SR, SR);
	cr_assert_eq(tu_write_file(gp, buf, strlen(buf)), 0);
	cr_assert_eq(mkdir(in, 0777), 0);
	write_inputs_npy(&g, &fv, in);
	tu_result r;
	const char *argv[] = {"accelsim", "run", gp, "--functional", "--seed", "42", "--inputs", in,
	                      "--outputs", out, "--check-reference", NULL};
	cr_assert_eq(tu_run(&r, argv), 0);
	cr_expect_eq(r.status, 0, "%s", r.err);
	cr_expect(strstr(r.out, "functional output 'z' bf16 [2, 14, 5, 6]") != NULL, "%s", r.out);
	cr_expect(strstr(r.out, "differ") == NULL, "%s", r.out);
	tu_result_free(&r);
	const char *argv2[] = {"accelsim", "run", gp, "--functional", "--seed", "42", "--inputs", in,
	                       "--outputs", raw, "--raw-bits", NULL};
	cr_assert_eq(tu_run(&r, argv2), 0);
	cr_expect_eq(r.status, 0, "%s", r.err);
	tu_result_free(&r);
	int64_t z = graph_find_tensor(&g, "z");
	char *zf = path2(out, "z.npy"), *zr = path2(raw, "z.npy");
	dp_npy a, b;
	cr_assert_eq(dp_npy_read(zf, &a, &e), 0, "%s", e.msg);
	cr_assert_eq(dp_npy_read(zr, &b, &e), 0, "%s", e.msg);
	cr_expect_eq(a.dtype, DP_NPY_F32);
	cr_expect_eq(b.dtype, DP_NPY_U16);
	cr_expect_eq(a.ndim, 4);
	cr_assert_eq(a.count, g.tensors[z].elems);
	cr_assert_eq(b.count, g.tensors[z].elems);
	cr_expect_eq(memcmp(b.data, fv.v[z], b.count * 2), 0, "raw bits differ from the library's");
	uint64_t bad = 0;
	for (size_t i = 0; i < a.count; i++) {
		float v = ((float *)a.data)[i];
		float w = (float)dp_decode(DP_FMT_BF16, ((uint16_t *)b.data)[i]);
		bad += memcmp(&v, &w, sizeof v) != 0;
	}
	cr_expect_eq(bad, 0);
	dp_npy_free(&a);
	dp_npy_free(&b);
	free(zf);
	free(zr);
	tu_rmtree(dir);
	free(dir);
	free(in);
	free(out);
	free(raw);
	free(gp);
	func_vals_fini(&fv);
	chip_fini(&c);
	graph_fini(&g);
}

/* Bad inputs: one line on stderr naming the file, exit status 2, nothing on stdout. */
Test(functional, bad_input_files_are_one_line_errors_with_status_2)
{
	graph g;
	chip c;
	asim_err e;
	asim_err_init(&e);
	load_graph(&g, MLP, 0);
	cr_assert_eq(chip_load_default(&c, &e), 0);
	func_vals fv;
	cr_assert_eq(func_vals_init(&fv, &g, &e), 0);
	func_random_inputs(&g, 1, &fv);
	char *dir = tu_mkdtemp(), *in = path2(dir, "in"), *gp = path2(dir, "g.yaml");
	char buf[4096];
	snprintf(buf, sizeof buf, MLP, "", "");
	cr_assert_eq(tu_write_file(gp, buf, strlen(buf)), 0);
	cr_assert_eq(mkdir(in, 0777), 0);
	write_inputs_npy(&g, &fv, in);
	char *xp = path2(in, "x.npy"), *bp = path2(in, "b1.npy");
	size_t shape[2] = {37, 301};
	float *junk = calloc(37 * 301, sizeof *junk);
	uint8_t codes[70] = {0};
	struct { const char *what, *expect; } cases[] = {
		{"missing", "x.npy: cannot open the values of input 'x'"},
		{"shape", "x.npy: shape (37, 301) does not match tensor 'x' [37, 300]"},
		{"dtype", "b1.npy: uint8 data cannot hold tensor 'b1' (bf16)"},
	};
	for (int k = 0; k < 3; k++) {
		if (k == 0)
			remove(xp);
		if (k == 1)
			cr_assert_eq(dp_npy_write(xp, DP_NPY_F32, shape, 2, junk, &e), 0);
		if (k == 2) {
			shape[1] = 300;
			cr_assert_eq(dp_npy_write(xp, DP_NPY_F32, shape, 2, junk, &e), 0);
			size_t s1 = 70;
			cr_assert_eq(dp_npy_write(bp, DP_NPY_U8, &s1, 1, codes, &e), 0);
		}
		tu_result r;
		const char *argv[] = {"accelsim", "run", gp, "--functional", "--inputs", in, NULL};
		cr_assert_eq(tu_run(&r, argv), 0);
		cr_expect_eq(r.status, 2, "%s: %d %s", cases[k].what, r.status, r.err);
		cr_expect_eq(tu_count_lines(r.err), 1, "%s: %s", cases[k].what, r.err);
		cr_expect(strstr(r.err, cases[k].expect) != NULL, "%s: %s", cases[k].what, r.err);
		cr_expect_eq(r.outlen, 0, "%s: %s", cases[k].what, r.out);
		tu_result_free(&r);
	}
	/* an op functional mode does not cover: refused by name, before anything runs */
	static const char SM[] =
	"accelsim: 1\nname: acc\ndtype: bf16\ntensors:\n"
	"  - {name: a, kind: input, shape: [4, 8]}\n"
	"  - {name: b, kind: weight, shape: [8, 3]}\n"
	"  - {name: y, kind: output, shape: [4, 3]}\n"
	"ops:\n  - {name: probs, type: matmul, inputs: [a, b], outputs: [y], accum: bf16}\n";
	cr_assert_eq(tu_write_file(gp, SM, strlen(SM)), 0);
	tu_result r;
	const char *argv[] = {"accelsim", "run", gp, "--functional", NULL};
	cr_assert_eq(tu_run(&r, argv), 0);
	cr_expect_eq(r.status, 2);
	cr_expect_eq(tu_count_lines(r.err), 1, "%s", r.err);
	cr_expect(strstr(r.err, "op 'probs' (matmul)") != NULL, "%s", r.err);
	cr_expect_eq(r.outlen, 0);
	tu_result_free(&r);
	free(junk);
	free(xp);
	free(bp);
	tu_rmtree(dir);
	free(dir);
	free(in);
	free(gp);
	func_vals_fini(&fv);
	chip_fini(&c);
	graph_fini(&g);
}

/* ---- ops beyond matmul/conv: each graph against the reference, bit for bit ------------------
 * Templates take the dtype, then the numerics suffix of every op ("" or ", rounding: sr"). */

static const char BCAST[] =
"accelsim: 1\nname: bcast\ndtype: %s\ntensors:\n"
"  - {name: x, kind: input, shape: [37, 19]}\n"
"  - {name: b, kind: weight, shape: [19]}\n"
"  - {name: y1, kind: output, shape: [37, 19]}\n"
"  - {name: p, kind: input, shape: [4, 1, 3]}\n"
"  - {name: q, kind: input, shape: [5, 1]}\n"
"  - {name: y2, kind: output, shape: [4, 5, 3]}\n"
"  - {name: f, kind: input, shape: [2, 7, 5, 6]}\n"
"  - {name: s, kind: weight, shape: [7, 1, 1]}\n"
"  - {name: y3, kind: output, shape: [2, 7, 5, 6]}\n"
"  - {name: sc, kind: input, shape: [3, 20, 21]}\n"
"  - {name: m, kind: input, shape: [1, 1, 21]}\n"
"  - {name: y4, kind: output, shape: [3, 20, 21]}\n"
"  - {name: one, kind: weight, shape: [1]}\n"
"  - {name: y5, kind: output, shape: [37, 19]}\n"
"  - {name: w, kind: input, shape: [3, 1700]}\n"
"  - {name: v, kind: weight, shape: [1700]}\n"
"  - {name: y6, kind: output, shape: [3, 1700]}\n"
"ops:\n"
"  - {name: bias, type: add, inputs: [x, b], outputs: [y1]%s}\n"
"  - {name: outer, type: sub, inputs: [p, q], outputs: [y2]%s}\n"
"  - {name: chan, type: mul, inputs: [f, s], outputs: [y3]%s}\n"
"  - {name: mask, type: add, inputs: [sc, m], outputs: [y4], activation: gelu%s}\n"
"  - {name: scal, type: sub, inputs: [one, x], outputs: [y5]%s}\n"
"  - {name: long, type: mul, inputs: [w, v], outputs: [y6]%s}\n";

static uint64_t nonzero(const graph *g, const func_vals *a);

/* the graph template t in dtype dt, every op rounding with RNE (sr = 0) or SR */
static void load_typed(graph *g, const char *t, const char *dt, int sr)
{
	char buf[8192];
	const char *r = sr ? SR : "";
	snprintf(buf, sizeof buf, t, dt, r, r, r, r, r, r, r, r, r, r, r, r);
	asim_err e;
	asim_err_init(&e);
	cr_assert_eq(graph_load_buffer(g, "typed.yaml", buf, strlen(buf), &e), 0, "%s", e.msg);
}

static void load_chip(chip *c, const char *name)
{
	asim_err e;
	asim_err_init(&e);
	if (strcmp(name, "tiny") == 0 || strcmp(name, "tiny-wide") == 0) {
		tiny_chip(c, name[4] != '\0');
		return;
	}
	cr_assert_eq(chip_load(c, name, &e), 0, "%s: %s", name, e.msg);
}

/* the chip `name` made a serial-fold array with the given dataflow */
static void fold_chip(chip *c, const char *name, const char *dataflow)
{
	load_chip(c, name);
	set(c, "pe_array.mode", "serial_folds");
	set(c, "pe_array.dataflow", dataflow);
}

/* every computed tensor equals the reference on each chip (made serial-fold with dataflow
 * `flow` unless NULL), in each dtype, with RNE and SR; and the values are not trivially zero */
static void equal_reference_on(const char *t, uint64_t min_nonzero, const char *const *chips,
                               int nc, const char *const *dts, int nd, const char *flow)
{
	for (int ci = 0; ci < nc; ci++)
		for (int di = 0; di < nd; di++)
			for (int sr = 0; sr < 2; sr++) {
				graph g;
				chip c;
				load_typed(&g, t, dts[di], sr);
				if (flow)
					fold_chip(&c, chips[ci], flow);
				else
					load_chip(&c, chips[ci]);
				func_vals fv, ref;
				run_both(&g, &c, 11, FUNC_ORDER_PROGRAM, &fv, &ref);
				cr_expect_gt(nonzero(&g, &fv), min_nonzero, "%s %s %s sr=%d: trivially zero",
				             chips[ci], flow ? flow : "", dts[di], sr);
				cr_expect_eq(ndiff(&g, &fv, &ref, 0), 0, "%s %s %s sr=%d: differs from the reference",
				             chips[ci], flow ? flow : "", dts[di], sr);
				func_vals_fini(&fv);
				func_vals_fini(&ref);
				chip_fini(&c);
				graph_fini(&g);
			}
}

/* the same on the chips made serial-fold weight- and input-stationary arrays */
static void equal_reference_ws_is(const char *t, uint64_t min_nonzero, const char *const *chips,
                                  int nc, const char *const *dts, int nd)
{
	equal_reference_on(t, min_nonzero, chips, nc, dts, nd, "weight_stationary");
	equal_reference_on(t, min_nonzero, chips, nc, dts, nd, "input_stationary");
}

/* on trn1, edge-npu and both tiny chips, in bf16, fp32 and fp8_e4m3 */
static void typed_equals_reference(const char *t, uint64_t min_nonzero)
{
	static const char *const chips[] = {"trn1", "edge-npu", "tiny", "tiny-wide"};
	static const char *const dts[] = {"bf16", "fp32", "fp8_e4m3"};
	equal_reference_on(t, min_nonzero, chips, 4, dts, 3, NULL);
}

Test(functional, broadcasting_elementwise_equals_reference) { typed_equals_reference(BCAST, 1000); }

/* by hand, fp32: y2[i][j][k] = p[i][0][k] − q[j][0], y3[n][c][h][w] = f[n][c][h][w] · s[c] */
Test(functional, broadcast_indices_by_hand)
{
	graph g;
	chip c;
	load_typed(&g, BCAST, "fp32", 0);
	tiny_chip(&c, 0);
	func_vals fv;
	run_both(&g, &c, 1, FUNC_ORDER_PROGRAM, &fv, NULL);
	const float *p = fv.v[graph_find_tensor(&g, "p")], *q = fv.v[graph_find_tensor(&g, "q")];
	const float *y2 = fv.v[graph_find_tensor(&g, "y2")];
	const float *f = fv.v[graph_find_tensor(&g, "f")], *s = fv.v[graph_find_tensor(&g, "s")];
	const float *y3 = fv.v[graph_find_tensor(&g, "y3")];
	int bad = 0;
	for (int i = 0; i < 4; i++)
		for (int j = 0; j < 5; j++)
			for (int k = 0; k < 3; k++)
				bad += y2[(i * 5 + j) * 3 + k] != p[i * 3 + k] - q[j];
	for (int i = 0; i < 2 * 7 * 30; i++)
		bad += y3[i] != f[i] * s[(i / 30) % 7];
	cr_expect_eq(bad, 0);
	func_vals_fini(&fv);
	chip_fini(&c);
	graph_fini(&g);
}

static const char POOL[] =
"accelsim: 1\nname: pool\ndtype: %s\ntensors:\n"
"  - {name: x, kind: input, shape: [2, 5, 13, 11]}\n"
"  - {name: mp, kind: output, shape: [2, 5, 7, 6]}\n"
"  - {name: ap, kind: output, shape: [2, 5, 7, 6]}\n"
"  - {name: a2, kind: output, shape: [2, 5, 12, 10]}\n"
"  - {name: gp, kind: output, shape: [2, 5, 1, 1]}\n"
"  - {name: big, kind: input, shape: [1, 3, 40, 50]}\n"
"  - {name: bg, kind: output, shape: [1, 3, 1, 1]}\n"
"  - {name: bm, kind: output, shape: [1, 3, 20, 25]}\n"
"ops:\n"
"  - {name: maxp, type: maxpool, inputs: [x], outputs: [mp], kernel: 3, stride: 2, padding: 1%s}\n"
"  - {name: avgp, type: avgpool, inputs: [x], outputs: [ap], kernel: 3, stride: 2, padding: 1%s}\n"
"  - {name: avg2, type: avgpool, inputs: [x], outputs: [a2], kernel: 2%s}\n"
"  - {name: gap, type: global_avgpool, inputs: [x], outputs: [gp]%s}\n"
"  - {name: gapb, type: global_avgpool, inputs: [big], outputs: [bg]%s}\n"
"  - {name: maxb, type: maxpool, inputs: [big], outputs: [bm], kernel: 3, stride: 2, padding: 1%s}\n";

static const char MOVE[] =
"accelsim: 1\nname: move\ndtype: %s\ntensors:\n"
"  - {name: t, kind: input, shape: [3, 37, 19]}\n"
"  - {name: tt, kind: output, shape: [3, 19, 37]}\n"
"  - {name: tg, kind: output, shape: [19, 3, 37]}\n"
"  - {name: a, kind: input, shape: [3, 5, 19]}\n"
"  - {name: b, kind: input, shape: [3, 7, 19]}\n"
"  - {name: c1, kind: output, shape: [3, 12, 19]}\n"
"  - {name: d, kind: input, shape: [3, 5, 4]}\n"
"  - {name: c2, kind: output, shape: [3, 5, 23]}\n"
"ops:\n"
"  - {name: swap, type: transpose, inputs: [t], outputs: [tt], perm: [0, 2, 1]}\n"
"  - {name: perm, type: transpose, inputs: [t], outputs: [tg], perm: [2, 0, 1]}\n"
"  - {name: cat1, type: concat, inputs: [a, b], outputs: [c1], axis: 1}\n"
"  - {name: cat2, type: concat, inputs: [a, d], outputs: [c2], axis: -1}\n";

Test(functional, pooling_equals_reference) { typed_equals_reference(POOL, 300); }
Test(functional, transpose_and_concat_equal_reference) { typed_equals_reference(MOVE, 1000); }

/* by hand, fp32: a 2×2 average of a 1×1×2×2 input is ((x0 + x1) + x2) + x3 times 0.25; a 2×2
 * max with a NaN is the canonical NaN; global average of 3 values: ((+0 + x0) + x1 + x2)·fl(1/3) */
Test(functional, pooling_by_hand)
{
	static const char G[] =
	"accelsim: 1\nname: p\ndtype: fp32\ntensors:\n"
	"  - {name: x, kind: input, shape: [1, 1, 2, 2]}\n"
	"  - {name: a, kind: output, shape: [1, 1, 1, 1]}\n"
	"  - {name: m, kind: output, shape: [1, 1, 1, 1]}\n"
	"  - {name: z, kind: input, shape: [1, 1, 1, 3]}\n"
	"  - {name: g, kind: output, shape: [1, 1, 1, 1]}\n"
	"ops:\n"
	"  - {name: av, type: avgpool, inputs: [x], outputs: [a], kernel: 2}\n"
	"  - {name: mx, type: maxpool, inputs: [x], outputs: [m], kernel: 2}\n"
	"  - {name: gp, type: global_avgpool, inputs: [z], outputs: [g]}\n";
	graph g;
	chip c;
	asim_err e;
	asim_err_init(&e);
	cr_assert_eq(graph_load_buffer(&g, "p.yaml", G, strlen(G), &e), 0, "%s", e.msg);
	cr_assert_eq(chip_load_default(&c, &e), 0);
	isa_program p;
	isa_program_init(&p);
	lower_opts lo = {0};
	cr_assert_eq(lower_graph(&g, &c, &lo, &p, &e), 0, "%s", e.msg);
	for (int k = 0; k < 2; k++) {
		func_vals fv;
		cr_assert_eq(func_vals_init(&fv, &g, &e), 0);
		float x[4] = {1.0f, 0x1p-24f, 0x1p-24f, 3.0f}, z[3] = {0.1f, 0.2f, 0.3f};
		if (k)
			x[1] = NAN;
		memcpy(fv.v[0], x, sizeof x);
		memcpy(fv.v[3], z, sizeof z);
		func_opts o = {0, FUNC_ORDER_PROGRAM};
		cr_assert_eq(func_run(&g, &c, &p, &o, &fv, &e), 0, "%s", e.msg);
		float a = *(float *)fv.v[1], m = *(float *)fv.v[2], gg = *(float *)fv.v[4];
		uint32_t mb;
		memcpy(&mb, &m, 4);
		if (k == 0) {
			/* (1 + 2^-24) = 1 (tie to even), + 2^-24 = 1, + 3 = 4; · 0.25 = 1 */
			cr_expect_eq(a, 1.0f, "%a", (double)a);
			cr_expect_eq(m, 3.0f);
			volatile float s = 0.0f;
			s = s + 0.1f;
			s = s + 0.2f;
			s = s + 0.3f;
			cr_expect_eq(gg, s * (float)(1.0 / 3.0), "%a", (double)gg);
		} else {
			cr_expect_eq(mb, 0x7fc00000u, "max with a NaN: %08x", mb);
		}
		func_vals_fini(&fv);
	}
	isa_program_fini(&p);
	chip_fini(&c);
	graph_fini(&g);
}

/* ---- convolution on serial-fold weight-/input-stationary arrays: im2col folds -------------- */

static const char FOLDCONV[] =
"accelsim: 1\nname: foldconv\ndtype: %s\ntensors:\n"
"  - {name: x, kind: input, shape: [2, 13, 12, 11]}\n"
"  - {name: w3, kind: weight, shape: [6, 13, 3, 3]}\n"
"  - {name: y3, kind: output, shape: [2, 6, 12, 11]}\n"
"  - {name: w5, kind: weight, shape: [5, 13, 5, 5]}\n"
"  - {name: b5, kind: weight, shape: [5]}\n"
"  - {name: y5, kind: output, shape: [2, 5, 6, 6]}\n"
"  - {name: wg, kind: weight, shape: [4, 13, 3, 3]}\n"
"  - {name: yg, kind: output, shape: [2, 4, 5, 5]}\n"
"ops:\n"
"  - {name: c3, type: conv2d, inputs: [x, w3], outputs: [y3], padding: 1%s}\n"
"  - {name: c5, type: conv2d, inputs: [x, w5, b5], outputs: [y5], stride: 2, padding: 2, activation: relu%s}\n"
"  - {name: c5n, type: conv2d, inputs: [x, wg], outputs: [yg], stride: 2%s}\n";

/* the FP32 sums of a 3×3 and 5×5 conv (K = 117 and 325 im2col rows: several K tiles of 8, 32 or
 * 128 rows) equal the reference's im2col order bit for bit, WS and IS (c3 and c5n have no bias,
 * so they take IS's own mapping), bf16 and fp32, RNE and SR */
Test(functional, serial_fold_ws_and_is_conv_equal_reference)
{
	static const char *const chips[] = {"edge-npu", "tiny", "trn1"};
	static const char *const dts[] = {"fp32", "bf16"};
	equal_reference_ws_is(FOLDCONV, 1000, chips, 3, dts, 2);
}

/* ---- softmax, layernorm, rmsnorm ---------------------------------------------------------- */

/* rows of 19 (not a divisor of 16 or 128 partitions: 37·3 = 111 rows), a softmax over a middle
 * axis (rows = outer × inner, strided), norms over the last two dims (gamma [5, 19]) and with γ
 * only / nothing, and rows of 3000 elements: longer than an SBUF chunk on edge-npu and on the
 * tiny chips, so streamed in chunks over several passes */
static const char ROWWISE[] =
"accelsim: 1\nname: rowwise\ndtype: %s\ntensors:\n"
"  - {name: x, kind: input, shape: [3, 37, 19]}\n"
"  - {name: s1, kind: output, shape: [3, 37, 19]}\n"
"  - {name: s2, kind: output, shape: [3, 37, 19]}\n"
"  - {name: g, kind: weight, shape: [19]}\n"
"  - {name: b, kind: weight, shape: [19]}\n"
"  - {name: l1, kind: output, shape: [3, 37, 19]}\n"
"  - {name: r1, kind: output, shape: [3, 37, 19]}\n"
"  - {name: r2, kind: output, shape: [3, 37, 19]}\n"
"  - {name: z, kind: input, shape: [7, 5, 19]}\n"
"  - {name: g2, kind: weight, shape: [5, 19]}\n"
"  - {name: b2, kind: weight, shape: [5, 19]}\n"
"  - {name: l2, kind: output, shape: [7, 5, 19]}\n"
"  - {name: l3, kind: output, shape: [7, 5, 19]}\n"
"  - {name: w, kind: input, shape: [5, 3000]}\n"
"  - {name: gw, kind: weight, shape: [3000]}\n"
"  - {name: bw, kind: weight, shape: [3000]}\n"
"  - {name: s3, kind: output, shape: [5, 3000]}\n"
"  - {name: l4, kind: output, shape: [5, 3000]}\n"
"  - {name: r3, kind: output, shape: [5, 3000]}\n"
"ops:\n"
"  - {name: sm1, type: softmax, inputs: [x], outputs: [s1]%s}\n"
"  - {name: sm2, type: softmax, inputs: [x], outputs: [s2], axis: 1%s}\n"
"  - {name: ln1, type: layernorm, inputs: [x, g, b], outputs: [l1], epsilon: 0.001%s}\n"
"  - {name: rn1, type: rmsnorm, inputs: [x, g], outputs: [r1]%s}\n"
"  - {name: rn2, type: rmsnorm, inputs: [x], outputs: [r2]%s}\n"
"  - {name: ln2, type: layernorm, inputs: [z, g2, b2], outputs: [l2], axis: -2%s}\n"
"  - {name: ln3, type: layernorm, inputs: [z], outputs: [l3]%s}\n"
"  - {name: sm3, type: softmax, inputs: [w], outputs: [s3]%s}\n"
"  - {name: ln4, type: layernorm, inputs: [w, gw, bw], outputs: [l4]%s}\n"
"  - {name: rn3, type: rmsnorm, inputs: [w, gw], outputs: [r3]%s}\n";

Test(functional, softmax_and_norms_equal_reference) { typed_equals_reference(ROWWISE, 20000); }

/* The lowered programs are race-free: a different valid interleaving of the queues gives the
 * same values (a missing semaphore would let a reader run before its writer here). */
Test(functional, any_valid_interleaving_gives_the_same_values)
{
	for (int k = 0; k < 3; k++) {      /* mlp, conv, row-wise ops (chunked rows, SR) */
		graph g;
		chip c;
		if (k < 2)
			load_graph(&g, k ? CONV : MLP, 0);
		else
			load_typed(&g, ROWWISE, "bf16", 1);
		tiny_chip(&c, k == 1);
		func_vals a, b;
		run_both(&g, &c, 1, FUNC_ORDER_PROGRAM, &a, NULL);
		run_both(&g, &c, 1, FUNC_ORDER_QUEUE_DESC, &b, NULL);
		cr_expect_eq(ndiff(&g, &a, &b, 0), 0, "graph %d", k);
		func_vals_fini(&a);
		func_vals_fini(&b);
		chip_fini(&c);
		graph_fini(&g);
	}
}

/* by hand, fp32, rows of 1024 (in chunks on the tiny chip, whole on trn1):
 *   softmax of a constant row: e = 1, s = 1024 exactly, y = 2^-10;
 *   layernorm of 10001, 9999, 10001, ...: Σx = 10240000 (exact), mean = Σx · 2^-10 = 10000,
 *   d = ±1, var = 1024 · 2^-10 = 1, y = ±fl32(pow(fl32(1 + fl32(1e-5)), −½)) -- the centred
 *   variance; Σx² − mean² would lose everything (x² = 100020001 is not an FP32 value). */
Test(functional, softmax_and_layernorm_by_hand)
{
	static const char G[] =
	"accelsim: 1\nname: h\ndtype: fp32\ntensors:\n"
	"  - {name: a, kind: input, shape: [2, 1024]}\n"
	"  - {name: s, kind: output, shape: [2, 1024]}\n"
	"  - {name: l, kind: output, shape: [2, 1024]}\n"
	"ops:\n"
	"  - {name: sm, type: softmax, inputs: [a], outputs: [s]}\n"
	"  - {name: ln, type: layernorm, inputs: [a], outputs: [l], epsilon: 1e-5}\n";
	for (int k = 0; k < 2; k++) {
		graph g;
		chip c;
		asim_err e;
		asim_err_init(&e);
		cr_assert_eq(graph_load_buffer(&g, "h.yaml", G, strlen(G), &e), 0, "%s", e.msg);
		if (k)
			tiny_chip(&c, 0);
		else
			cr_assert_eq(chip_load_default(&c, &e), 0);
		isa_program p;
		func_vals fv;
		lower_and_init(&g, &c, &p, &fv);
		float *a = fv.v[0];
		for (int i = 0; i < 1024; i++) {
			a[i] = 0.75f;
			a[1024 + i] = i % 2 ? 9999.0f : 10001.0f;
		}
		func_opts o = {0, FUNC_ORDER_PROGRAM};
		cr_assert_eq(func_run(&g, &c, &p, &o, &fv, &e), 0, "%s", e.msg);
		const float *s = fv.v[1], *l = fv.v[2];
		float rstd = (float)pow((double)(1.0f + 1e-5f), -0.5);
		int bad = 0;
		for (int i = 0; i < 1024; i++)
			bad += s[i] != 0x1p-10f || l[1024 + i] != (i % 2 ? -rstd : rstd);
		cr_expect_eq(bad, 0, "%s: s[0] %a l[1024] %a", k ? "tiny" : "trn1", (double)s[0],
		             (double)l[1024]);
		func_vals_fini(&fv);
		isa_program_fini(&p);
		chip_fini(&c);
		graph_fini(&g);
	}
}

/* ---- embedding: rows gathered at the indices --------------------------------------------
 * 139 indices into 23 rows (repeated and out of order; 139 rows fill neither 128 nor 16
 * partitions), and 5 indices into rows of 3000 elements (moved in pieces on the tiny chips). */
static const char EMBED[] =
"accelsim: 1\nname: embed\ndtype: %s\ntensors:\n"
"  - {name: t, kind: weight, shape: [23, 19]}\n"
"  - {name: i, kind: input, shape: [139], dtype: int32}\n"
"  - {name: y, kind: output, shape: [139, 19]}\n"
"  - {name: u, kind: weight, shape: [9, 3000]}\n"
"  - {name: j, kind: input, shape: [5, 1], dtype: int32}\n"
"  - {name: z, kind: output, shape: [5, 1, 3000]}\n"
"ops:\n"
"  - {name: e1, type: embedding, inputs: [t, i], outputs: [y]}\n"
"  - {name: e2, type: embedding, inputs: [u, j], outputs: [z]}\n";

Test(functional, embedding_equals_reference) { typed_equals_reference(EMBED, 2000); }

/* by hand: row r of y is row idx[r] of the table, codes and all (a NaN's sign, −0) */
Test(functional, embedding_by_hand)
{
	static const char G[] =
	"accelsim: 1\nname: eh\ndtype: bf16\ntensors:\n"
	"  - {name: t, kind: weight, shape: [4, 3]}\n"
	"  - {name: i, kind: input, shape: [6], dtype: int32}\n"
	"  - {name: y, kind: output, shape: [6, 3]}\n"
	"ops:\n  - {name: e, type: embedding, inputs: [t, i], outputs: [y]}\n";
	static const uint16_t tab[12] = {0x3f80, 0x4000, 0x4040, 0x8000, 0xffc1, 0x7f80,
	                                 0x0001, 0x0002, 0x0003, 0xc2c8, 0x4248, 0x3c00};
	static const int32_t idx[6] = {3, 3, 0, 2, 1, 3};
	for (int k = 0; k < 2; k++) {
		graph g;
		chip c;
		asim_err e;
		asim_err_init(&e);
		cr_assert_eq(graph_load_buffer(&g, "eh.yaml", G, strlen(G), &e), 0, "%s", e.msg);
		load_chip(&c, k ? "tiny" : "trn1");
		isa_program p;
		func_vals fv;
		lower_and_init(&g, &c, &p, &fv);
		memcpy(fv.v[0], tab, sizeof tab);
		memcpy(fv.v[1], idx, sizeof idx);
		func_opts o = {0, FUNC_ORDER_PROGRAM};
		cr_assert_eq(func_run(&g, &c, &p, &o, &fv, &e), 0, "%s", e.msg);
		const uint16_t *y = fv.v[2];
		int bad = 0;
		for (int r = 0; r < 6; r++)
			for (int d = 0; d < 3; d++)
				bad += y[r * 3 + d] != tab[idx[r] * 3 + d];
		cr_expect_eq(bad, 0, "%s", k ? "tiny" : "trn1");
		/* an index outside the table: an error naming the op and the index, nothing read */
		((int32_t *)fv.v[1])[4] = 4;
		asim_err_init(&e);
		cr_expect_eq(func_run(&g, &c, &p, &o, &fv, &e), ASIM_ERANGE);
		cr_expect(strstr(e.msg, "op 'e'") && strstr(e.msg, "embedding index 4 outside the "
		          "table's 4 rows"), "%s", e.msg);
		((int32_t *)fv.v[1])[4] = -1;
		asim_err_init(&e);
		func_vals ref;
		cr_assert_eq(func_vals_init(&ref, &g, &e), 0);
		memcpy(ref.v[1], fv.v[1], sizeof idx);
		cr_expect_eq(func_reference(&g, &c, &o, &ref, &e), ASIM_ERANGE);
		cr_expect(strstr(e.msg, "op 'e' (embedding): index -1 at element 4") != NULL, "%s", e.msg);
		func_vals_fini(&ref);
		func_vals_fini(&fv);
		isa_program_fini(&p);
		chip_fini(&c);
		graph_fini(&g);
	}
}

/* --inputs: indices from int32 or int64 .npy; one outside the table is a one-line error */
Test(functional, embedding_indices_from_npy_and_a_bad_index)
{
	static const char G[] =
	"accelsim: 1\nname: en\ndtype: bf16\ntensors:\n"
	"  - {name: t, kind: weight, shape: [4, 3]}\n"
	"  - {name: i, kind: input, shape: [2, 3], dtype: int32}\n"
	"  - {name: y, kind: output, shape: [2, 3, 3]}\n"
	"ops:\n  - {name: e, type: embedding, inputs: [t, i], outputs: [y]}\n";
	char *dir = tu_mkdtemp(), *gp = path2(dir, "g.yaml"), *tp = path2(dir, "t.npy"),
	     *ip = path2(dir, "i.npy");
	asim_err e;
	asim_err_init(&e);
	cr_assert_eq(tu_write_file(gp, G, strlen(G)), 0);
	size_t ts[2] = {4, 3}, is[2] = {2, 3};
	float tab[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
	int64_t i64[6] = {2, 0, 3, 3, 1, 0};
	int32_t i32[6] = {2, 0, 3, 3, 1, 4};
	cr_assert_eq(dp_npy_write(tp, DP_NPY_F32, ts, 2, tab, &e), 0, "%s", e.msg);
	cr_assert_eq(dp_npy_write(ip, DP_NPY_I64, is, 2, i64, &e), 0, "%s", e.msg);
	tu_result r;
	const char *argv[] = {"accelsim", "run", gp, "--functional", "--inputs", dir,
	                      "--check-reference", NULL};
	cr_assert_eq(tu_run(&r, argv), 0);
	cr_expect_eq(r.status, 0, "%s", r.err);
	cr_expect(strstr(r.out, "functional output 'y' bf16 [2, 3, 3]") != NULL, "%s", r.out);
	cr_expect(strstr(r.out, "reference: bit-identical") != NULL, "%s", r.out);
	tu_result_free(&r);
	cr_assert_eq(dp_npy_write(ip, DP_NPY_I32, is, 2, i32, &e), 0, "%s", e.msg);
	cr_assert_eq(tu_run(&r, argv), 0);
	cr_expect_eq(r.status, 2, "%s", r.err);
	cr_expect_eq(tu_count_lines(r.err), 1, "%s", r.err);
	cr_expect(strstr(r.err, "i.npy: index 4 at element 5 of 'i' is outside the table's 4 rows")
	          != NULL, "%s", r.err);
	cr_expect_eq(r.outlen, 0, "%s", r.out);
	tu_result_free(&r);
	tu_rmtree(dir);
	free(dir);
	free(gp);
	free(tp);
	free(ip);
}

/* ---- optimizer updates: W', m', v' each rounded once from FP32; W' from the stored m', v' ---
 * [37, 19] does not divide the partitions; [3, 1700] is streamed in pieces on the tiny chips.
 * State in the graph's dtype and in fp32; v made non-negative by a relu. */
static const char UPDATE[] =
"accelsim: 1\nname: upd\ndtype: %s\ntensors:\n"
"  - {name: w, kind: weight, shape: [37, 19]}\n"
"  - {name: dw, kind: input, shape: [37, 19]}\n"
"  - {name: m, kind: weight, shape: [37, 19]}\n"
"  - {name: w1, kind: output, shape: [37, 19]}\n"
"  - {name: m1, kind: output, shape: [37, 19]}\n"
"  - {name: mf, kind: weight, shape: [37, 19], dtype: fp32}\n"
"  - {name: w2, kind: output, shape: [37, 19]}\n"
"  - {name: mf1, kind: output, shape: [37, 19], dtype: fp32}\n"
"  - {name: vr, kind: weight, shape: [37, 19]}\n"
"  - {name: v, kind: activation, shape: [37, 19]}\n"
"  - {name: w3, kind: output, shape: [37, 19]}\n"
"  - {name: m3, kind: output, shape: [37, 19]}\n"
"  - {name: v3, kind: output, shape: [37, 19]}\n"
"  - {name: a, kind: weight, shape: [3, 1700]}\n"
"  - {name: da, kind: input, shape: [3, 1700]}\n"
"  - {name: am, kind: weight, shape: [3, 1700], dtype: fp32}\n"
"  - {name: avr, kind: weight, shape: [3, 1700], dtype: fp32}\n"
"  - {name: av, kind: activation, shape: [3, 1700], dtype: fp32}\n"
"  - {name: a1, kind: output, shape: [3, 1700]}\n"
"  - {name: am1, kind: output, shape: [3, 1700], dtype: fp32}\n"
"  - {name: av1, kind: output, shape: [3, 1700], dtype: fp32}\n"
"ops:\n"
"  - {name: s1, type: sgd_update, inputs: [w, dw, m], outputs: [w1, m1], lr: 0.1, momentum: 0.9%s}\n"
"  - {name: s2, type: sgd_update, inputs: [w, dw, mf], outputs: [w2, mf1], lr: 0.05, momentum: 0.8, weight_decay: 0.01%s}\n"
"  - {name: r1, type: relu, inputs: [vr], outputs: [v]%s}\n"
"  - {name: ad1, type: adam_update, inputs: [w, dw, m, v], outputs: [w3, m3, v3], lr: 0.01, weight_decay: 0.1, epsilon: 0.001%s}\n"
"  - {name: r2, type: relu, inputs: [avr], outputs: [av]%s}\n"
"  - {name: ad2, type: adam_update, inputs: [a, da, am, av], outputs: [a1, am1, av1], lr: 0.001%s}\n";

Test(functional, sgd_and_adam_equal_reference) { typed_equals_reference(UPDATE, 20000); }

/* by hand, bf16, RNE: m' = 0.5·1 + 2^-9 = 0.501953125 in FP32, a tie in bf16 → 0.5 (even);
 * W' = 1 − 1·m' from the stored m' = 0.5, whereas the FP32 m' would give 0.498046875 (a bf16
 * value: the two choices are told apart). */
Test(functional, sgd_weights_from_the_stored_momentum_by_hand)
{
	static const char G[] =
	"accelsim: 1\nname: sh\ndtype: bf16\ntensors:\n"
	"  - {name: w, kind: weight, shape: [3]}\n"
	"  - {name: d, kind: input, shape: [3]}\n"
	"  - {name: m, kind: weight, shape: [3]}\n"
	"  - {name: w1, kind: output, shape: [3]}\n"
	"  - {name: m1, kind: output, shape: [3]}\n"
	"ops:\n  - {name: s, type: sgd_update, inputs: [w, d, m], outputs: [w1, m1], lr: 1, momentum: 0.5}\n";
	graph g;
	chip c;
	asim_err e;
	asim_err_init(&e);
	cr_assert_eq(graph_load_buffer(&g, "sh.yaml", G, strlen(G), &e), 0, "%s", e.msg);
	load_chip(&c, "trn1");
	isa_program p;
	func_vals fv;
	lower_and_init(&g, &c, &p, &fv);
	for (int i = 0; i < 3; i++) {
		((uint16_t *)fv.v[0])[i] = 0x3f80;   /* 1 */
		((uint16_t *)fv.v[1])[i] = 0x3b00;   /* 2^-9 */
		((uint16_t *)fv.v[2])[i] = 0x3f80;   /* 1 */
	}
	func_opts o = {0, FUNC_ORDER_PROGRAM};
	cr_assert_eq(func_run(&g, &c, &p, &o, &fv, &e), 0, "%s", e.msg);
	const uint16_t *w1 = fv.v[3], *m1 = fv.v[4];
	cr_expect_eq(m1[0], 0x3f00, "m' %04x (0.5: 0.501953125 rounded to bf16)", m1[0]);
	cr_expect_eq(w1[0], 0x3f00, "W' %04x (0.5, from the stored m')", w1[0]);
	func_vals_fini(&fv);
	isa_program_fini(&p);
	chip_fini(&c);
	graph_fini(&g);
}

/* ---- backward ops: matmul_backward_data/_weight, conv2d_backward_data/_weight --------------
 * Contractions that do not divide the array depths (trn1 128 rows, edge-npu 32): dA over N = 19
 * and N = 300 (3 and 10 K tiles), with B stored [K, N] and (transpose_b) [N, K], batched dY with a
 * broadcast 2-D B; dB over M = 37, the folded batch 2 × 37 and M = 300. */
static const char MMBWD[] =
"accelsim: 1\nname: mmbwd\ndtype: %s\ntensors:\n"
"  - {name: dy, kind: input, shape: [37, 19]}\n"
"  - {name: b, kind: weight, shape: [300, 19]}\n"
"  - {name: da, kind: output, shape: [37, 300]}\n"
"  - {name: bt, kind: weight, shape: [19, 300]}\n"
"  - {name: dat, kind: output, shape: [37, 300]}\n"
"  - {name: dyw, kind: input, shape: [37, 300]}\n"
"  - {name: bw, kind: weight, shape: [19, 300]}\n"
"  - {name: daw, kind: output, shape: [37, 19]}\n"
"  - {name: a, kind: input, shape: [37, 300]}\n"
"  - {name: db, kind: output, shape: [300, 19]}\n"
"  - {name: dy3, kind: input, shape: [2, 37, 19]}\n"
"  - {name: a3, kind: input, shape: [2, 37, 300]}\n"
"  - {name: db3, kind: output, shape: [300, 19]}\n"
"  - {name: da3, kind: output, shape: [2, 37, 300]}\n"
"  - {name: at, kind: input, shape: [300, 37]}\n"
"  - {name: dyt, kind: input, shape: [300, 19]}\n"
"  - {name: dbt, kind: output, shape: [37, 19]}\n"
"ops:\n"
"  - {name: bd, type: matmul_backward_data, inputs: [dy, b], outputs: [da]%s}\n"
"  - {name: bdt, type: matmul_backward_data, inputs: [dy, bt], outputs: [dat], transpose_b: true%s}\n"
"  - {name: bdw, type: matmul_backward_data, inputs: [dyw, bw], outputs: [daw]%s}\n"
"  - {name: bw1, type: matmul_backward_weight, inputs: [a, dy], outputs: [db]%s}\n"
"  - {name: bw3, type: matmul_backward_weight, inputs: [a3, dy3], outputs: [db3]%s}\n"
"  - {name: bd3, type: matmul_backward_data, inputs: [dy3, b], outputs: [da3]%s}\n"
"  - {name: bwt, type: matmul_backward_weight, inputs: [at, dyt], outputs: [dbt]%s}\n";

/* trn1 and edge-npu (not the tiny chips: the matmul planning is being changed there), as shipped
 * and made serial-fold weight- and input-stationary arrays, bf16 and fp32, RNE and SR */
Test(functional, matmul_backward_ops_equal_reference)
{
	static const char *const chips[] = {"trn1", "edge-npu"};
	static const char *const dts[] = {"bf16", "fp32"};
	equal_reference_on(MMBWD, 20000, chips, 2, dts, 2, NULL);
	equal_reference_ws_is(MMBWD, 20000, chips, 2, dts, 2);
}

/* The layouts the flags declare: dA stored [K, M] (transpose_a: the Y^T tiles in PSUM stored as
 * they are), A stored [K, M] for dB (transpose_a: A^T read as a [M, K]-stored moving operand), dB
 * stored [N, K] (transpose_b), both flags together; contractions of 19, 37 and 300 (several K
 * tiles on edge-npu's 32 rows, and 300 on trn1's 128); dB with batch dims (per-batch products,
 * no folding), with a broadcast 2-D A, and with transpose_a per batch; a folded batch of 2 into
 * a dB stored [N, K]. */
static const char MMBWDT[] =
"accelsim: 1\nname: mmbwdt\ndtype: %s\ntensors:\n"
"  - {name: dy, kind: input, shape: [37, 19]}\n"
"  - {name: b, kind: weight, shape: [300, 19]}\n"
"  - {name: bt, kind: weight, shape: [19, 300]}\n"
"  - {name: dyw, kind: input, shape: [37, 300]}\n"
"  - {name: dy3, kind: input, shape: [2, 37, 19]}\n"
"  - {name: at, kind: input, shape: [300, 37]}\n"
"  - {name: a, kind: input, shape: [37, 300]}\n"
"  - {name: dyt, kind: input, shape: [300, 19]}\n"
"  - {name: a3, kind: input, shape: [2, 37, 300]}\n"
"  - {name: a3t, kind: input, shape: [2, 300, 37]}\n"
"  - {name: da1, kind: output, shape: [300, 37]}\n"
"  - {name: da2, kind: output, shape: [300, 37]}\n"
"  - {name: da3, kind: output, shape: [19, 37]}\n"
"  - {name: da4, kind: output, shape: [2, 300, 37]}\n"
"  - {name: db1, kind: output, shape: [300, 19]}\n"
"  - {name: db2, kind: output, shape: [19, 300]}\n"
"  - {name: db3, kind: output, shape: [19, 300]}\n"
"  - {name: db4, kind: output, shape: [37, 19]}\n"
"  - {name: db5, kind: output, shape: [19, 300]}\n"
"  - {name: db6, kind: output, shape: [2, 300, 19]}\n"
"  - {name: db7, kind: output, shape: [2, 19, 300]}\n"
"  - {name: db8, kind: output, shape: [2, 300, 19]}\n"
"ops:\n"
"  - {name: d1, type: matmul_backward_data, inputs: [dy, b], outputs: [da1], transpose_a: true%s}\n"
"  - {name: d2, type: matmul_backward_data, inputs: [dy, bt], outputs: [da2], transpose_a: true, transpose_b: true%s}\n"
"  - {name: d3, type: matmul_backward_data, inputs: [dyw, bt], outputs: [da3], transpose_a: true%s}\n"
"  - {name: d4, type: matmul_backward_data, inputs: [dy3, b], outputs: [da4], transpose_a: true%s}\n"
"  - {name: w1, type: matmul_backward_weight, inputs: [at, dy], outputs: [db1], transpose_a: true%s}\n"
"  - {name: w2, type: matmul_backward_weight, inputs: [a, dy], outputs: [db2], transpose_b: true%s}\n"
"  - {name: w3, type: matmul_backward_weight, inputs: [at, dy], outputs: [db3], transpose_a: true, transpose_b: true%s}\n"
"  - {name: w4, type: matmul_backward_weight, inputs: [a, dyt], outputs: [db4], transpose_a: true%s}\n"
"  - {name: w5, type: matmul_backward_weight, inputs: [a3, dy3], outputs: [db5], transpose_b: true%s}\n"
"  - {name: w6, type: matmul_backward_weight, inputs: [a3, dy3], outputs: [db6]%s}\n"
"  - {name: w7, type: matmul_backward_weight, inputs: [a3t, dy3], outputs: [db7], transpose_a: true, transpose_b: true%s}\n"
"  - {name: w8, type: matmul_backward_weight, inputs: [a, dy3], outputs: [db8]%s}\n";

Test(functional, matmul_backward_ops_honour_the_transpose_flags_and_batched_db)
{
	static const char *const chips[] = {"trn1", "edge-npu"};
	static const char *const dts[] = {"bf16", "fp32"};
	equal_reference_on(MMBWDT, 40000, chips, 2, dts, 2, NULL);
	equal_reference_ws_is(MMBWDT, 40000, chips, 2, dts, 2);
}

/* by hand, fp32 (every value exact): each flag puts the values where the declared layout says (a
 * wrong layout gives another element's value, not a rounding difference). dY = [[1,0],[0,1],[1,1]]
 * (M = 3, N = 2), B = [[1,10],[100,1000]] ([K, N], K = 2): dA = dY·Bᵀ = [[1,100],[10,1000],
 * [11,1100]], stored [K, M] (transpose_a) = [[1,10,11],[100,1000,1100]]. A = [[1,2],[3,5],[5,7]]
 * stored [K, M] (transpose_a) = [[1,3,5],[2,5,7]]: dB = Aᵀ·dY = [[6,8],[9,12]], stored [N, K]
 * (transpose_b) = [[6,9],[8,12]]. */
Test(functional, matmul_backward_layouts_by_hand)
{
	static const char G[] =
	"accelsim: 1\nname: lay\ndtype: fp32\ntensors:\n"
	"  - {name: dy, kind: input, shape: [3, 2]}\n"
	"  - {name: b, kind: weight, shape: [2, 2]}\n"
	"  - {name: at, kind: input, shape: [2, 3]}\n"
	"  - {name: da, kind: output, shape: [2, 3]}\n"
	"  - {name: db, kind: output, shape: [2, 2]}\n"
	"ops:\n"
	"  - {name: d, type: matmul_backward_data, inputs: [dy, b], outputs: [da], transpose_a: true}\n"
	"  - {name: w, type: matmul_backward_weight, inputs: [at, dy], outputs: [db], transpose_a: true, transpose_b: true}\n";
	static const float dy[6] = {1, 0, 0, 1, 1, 1}, b[4] = {1, 10, 100, 1000}, at[6] = {1, 3, 5, 2, 5, 7};
	static const float da_want[6] = {1, 10, 11, 100, 1000, 1100}, db_want[4] = {6, 9, 8, 12};
	const char *const chips[2] = {"trn1", "edge-npu"};
	for (int ci = 0; ci < 2; ci++) {
		graph g;
		chip c;
		asim_err e;
		asim_err_init(&e);
		cr_assert_eq(graph_load_buffer(&g, "lay.yaml", G, strlen(G), &e), 0, "%s", e.msg);
		load_chip(&c, chips[ci]);
		isa_program p;
		func_vals fv;
		lower_and_init(&g, &c, &p, &fv);
		memcpy(fv.v[graph_find_tensor(&g, "dy")], dy, sizeof dy);
		memcpy(fv.v[graph_find_tensor(&g, "b")], b, sizeof b);
		memcpy(fv.v[graph_find_tensor(&g, "at")], at, sizeof at);
		func_opts o = {0, FUNC_ORDER_PROGRAM};
		cr_assert_eq(func_run(&g, &c, &p, &o, &fv, &e), 0, "%s", e.msg);
		const float *da = fv.v[graph_find_tensor(&g, "da")], *db = fv.v[graph_find_tensor(&g, "db")];
		for (int i = 0; i < 6; i++)
			cr_expect_eq(da[i], da_want[i], "%s: dA[%d] = %g, want %g", chips[ci], i, (double)da[i],
			             (double)da_want[i]);
		for (int i = 0; i < 4; i++)
			cr_expect_eq(db[i], db_want[i], "%s: dB[%d] = %g, want %g", chips[ci], i, (double)db[i],
			             (double)db_want[i]);
		func_vals_fini(&fv);
		isa_program_fini(&p);
		chip_fini(&c);
		graph_fini(&g);
	}
}

/* what the lowering cannot fold into one contraction is refused at the op's position, with the
 * fix: A and dY of different batch dims summed into a 2-D dB (broadcast A), and transpose_a with
 * batch dims summed into a 2-D dB */
Test(functional, matmul_backward_weight_refusals_name_the_fix)
{
	static const char B[] =
	"accelsim: 1\nname: rb\ndtype: bf16\ntensors:\n"
	"  - {name: a, kind: input, shape: [37, 300]}\n"
	"  - {name: dy, kind: input, shape: [2, 37, 19]}\n"
	"  - {name: db, kind: output, shape: [300, 19]}\n"
	"ops:\n  - {name: gw, type: matmul_backward_weight, inputs: [a, dy], outputs: [db]}\n";
	static const char T[] =
	"accelsim: 1\nname: rt\ndtype: bf16\ntensors:\n"
	"  - {name: a, kind: input, shape: [2, 300, 37]}\n"
	"  - {name: dy, kind: input, shape: [2, 37, 19]}\n"
	"  - {name: db, kind: output, shape: [300, 19]}\n"
	"ops:\n  - {name: gw, type: matmul_backward_weight, inputs: [a, dy], outputs: [db], transpose_a: true}\n";
	const char *src[2] = {B, T};
	const char *why[2] = {"A 'a' and dY 'dy' have different batch dimensions and dB is declared without them",
	                      "transpose_a with batch dimensions summed into a 2-D dB is not lowered"};
	const char *fix[2] = {"declare dB with the batch dimensions", "store A as [..., M, K] without transpose_a"};
	for (int k = 0; k < 2; k++) {
		graph g;
		chip c;
		asim_err e;
		asim_err_init(&e);
		cr_assert_eq(graph_load_buffer(&g, "r.yaml", src[k], strlen(src[k]), &e), 0, "%s", e.msg);
		cr_expect_eq(func_check_graph(&g, &e), 0, "%s", e.msg);
		load_chip(&c, "trn1");
		isa_program p;
		isa_program_init(&p);
		lower_opts lo = {0};
		cr_expect_eq(lower_graph(&g, &c, &lo, &p, &e), ASIM_EMAPPING);
		cr_expect(strncmp(e.msg, "r.yaml:9:5: op 'gw' (matmul_backward_weight)", 44) == 0, "%s", e.msg);
		cr_expect(strstr(e.msg, why[k]) != NULL, "%s", e.msg);
		cr_expect(strstr(e.msg, fix[k]) != NULL, "%s", e.msg);
		isa_program_fini(&p);
		chip_fini(&c);
		graph_fini(&g);
	}
}

/* 3×3 convolutions, C_in = 5, C_out = 7: stride 1 padding 1, stride 2 padding 1 (dX's last row
 * and column receive no dY), and a dilated 3×3 (dilation 2, padding 2) with C_out = 40 (two
 * channel tiles of edge-npu's 32 rows in backward data) over rows of 40 pixels (backward weight:
 * row segments of 32 pixels on edge-npu); a grouped backward weight (2 groups, stride 2) */
static const char CONVBWD[] =
"accelsim: 1\nname: convbwd\ndtype: %s\ntensors:\n"
"  - {name: x, kind: input, shape: [2, 5, 9, 11]}\n"
"  - {name: w, kind: weight, shape: [7, 5, 3, 3]}\n"
"  - {name: dy1, kind: input, shape: [2, 7, 9, 11]}\n"
"  - {name: dx1, kind: output, shape: [2, 5, 9, 11]}\n"
"  - {name: dw1, kind: output, shape: [7, 5, 3, 3]}\n"
"  - {name: dy2, kind: input, shape: [2, 7, 5, 6]}\n"
"  - {name: dx2, kind: output, shape: [2, 5, 9, 11]}\n"
"  - {name: dw2, kind: output, shape: [7, 5, 3, 3]}\n"
"  - {name: x3, kind: input, shape: [1, 5, 6, 40]}\n"
"  - {name: w3, kind: weight, shape: [40, 5, 3, 3]}\n"
"  - {name: dy3, kind: input, shape: [1, 40, 6, 40]}\n"
"  - {name: dx3, kind: output, shape: [1, 5, 6, 40]}\n"
"  - {name: dw3, kind: output, shape: [40, 5, 3, 3]}\n"
"  - {name: xg, kind: input, shape: [1, 6, 7, 8]}\n"
"  - {name: dyg, kind: input, shape: [1, 4, 4, 4]}\n"
"  - {name: dwg, kind: output, shape: [4, 3, 3, 3]}\n"
"ops:\n"
"  - {name: d1, type: conv2d_backward_data, inputs: [dy1, w], outputs: [dx1], padding: 1%s}\n"
"  - {name: g1, type: conv2d_backward_weight, inputs: [x, dy1], outputs: [dw1], padding: 1%s}\n"
"  - {name: d2, type: conv2d_backward_data, inputs: [dy2, w], outputs: [dx2], stride: 2, padding: 1%s}\n"
"  - {name: g2, type: conv2d_backward_weight, inputs: [x, dy2], outputs: [dw2], stride: 2, padding: 1%s}\n"
"  - {name: d3, type: conv2d_backward_data, inputs: [dy3, w3], outputs: [dx3], dilation: 2, padding: 2%s}\n"
"  - {name: g3, type: conv2d_backward_weight, inputs: [x3, dy3], outputs: [dw3], dilation: 2, padding: 2%s}\n"
"  - {name: gg, type: conv2d_backward_weight, inputs: [xg, dyg], outputs: [dwg], stride: 2, padding: 1, groups: 2%s}\n";

Test(functional, conv_backward_ops_equal_reference)
{
	static const char *const chips[] = {"trn1", "edge-npu", "tiny", "tiny-wide"};
	static const char *const dts[] = {"bf16", "fp32"};
	equal_reference_on(CONVBWD, 5000, chips, 4, dts, 2, NULL);
}

/* backward data on serial-fold weight- and input-stationary arrays: the im2col folds, with the
 * flipped filter rows */
Test(functional, conv_backward_data_im2col_folds_equal_reference)
{
	static const char *const chips[] = {"edge-npu", "trn1"};
	static const char *const dts[] = {"fp32", "bf16"};
	equal_reference_ws_is(CONVBWD, 5000, chips, 2, dts, 2);
}

/* conv2d_backward_weight's order, by hand (FP32, 1×1 filter, one channel, 2×2 pixels, products
 * x·dY = [1, +0, 2^-24, 2^-24] in row-major pixel order):
 *   2 rows: pixel tiles of one output row: (1 + 0) + ((+0 + 2^-24) + 2^-24) = 1 + 2^-23
 *   4 rows: one tile, one pass: (((+0 + 1) + 0) + 2^-24) + 2^-24 = 1 (each a tie to even) */
static float bwd_weight_result(const char *rows)
{
	static const char G[] =
	"accelsim: 1\nname: gw\ndtype: fp32\ntensors:\n"
	"  - {name: x, kind: input, shape: [1, 1, 2, 2]}\n"
	"  - {name: dy, kind: input, shape: [1, 1, 2, 2]}\n"
	"  - {name: dw, kind: output, shape: [1, 1, 1, 1]}\n"
	"ops:\n  - {name: gw, type: conv2d_backward_weight, inputs: [x, dy], outputs: [dw]}\n";
	const float x[4] = {1.0f, 0.0f, 0x1p-24f, 0x1p-24f}, dy[4] = {1.0f, 1.0f, 1.0f, 1.0f};
	float r;
	float y = four_term_result(G, rows, x, dy, &r);
	cr_expect_eq(y, r, "rows %s: functional %a, reference %a", rows, (double)y, (double)r);
	return y;
}

Test(functional, conv_backward_weight_pixel_tiles_accumulate_in_psum_by_hand)
{
	float y2 = bwd_weight_result("2"), y4 = bwd_weight_result("4");
	cr_expect_eq(y2, 1.0f + 0x1p-23f, "2 rows: got %a", (double)y2);
	cr_expect_eq(y4, 1.0f, "4 rows: got %a", (double)y4);
}

/* the shipped training step, every op covered: each computed tensor equals the reference on
 * trn1 and edge-npu (SR on the weight write-back) */
Test(functional, mlp_train_step_equals_reference)
{
	static const char *const chips[] = {"trn1", "edge-npu"};
	char *path = tu_srcpath("models/graphs/mlp_train_step.yaml");
	for (int ci = 0; ci < 2; ci++) {
		graph g;
		chip c;
		asim_err e;
		asim_err_init(&e);
		cr_assert_eq(graph_load_file(&g, path, &e), 0, "%s", e.msg);
		load_chip(&c, chips[ci]);
		func_vals fv, ref;
		run_both(&g, &c, 11, FUNC_ORDER_PROGRAM, &fv, &ref);
		cr_expect_gt(nonzero(&g, &fv), 1000000, "%s: trivially zero", chips[ci]);
		cr_expect_eq(ndiff(&g, &fv, &ref, 0), 0, "%s: differs from the reference", chips[ci]);
		func_vals_fini(&fv);
		func_vals_fini(&ref);
		chip_fini(&c);
		graph_fini(&g);
	}
	free(path);
}
