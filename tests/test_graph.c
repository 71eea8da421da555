/*
 * test_graph.c -- the graph loader: shape inference of every op family against shapes worked by
 * hand, MACs/FLOPs of small cases worked by hand, numerics overrides, fusion groups, the content
 * hash's independence of formatting, out-of-memory paths, and the bad-input corpus
 * tests/bad/graphs/ (every file must fail with exit status 2 and its expected one-line message).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/alloc.h"
#include "sim/graph.h"
#include "tests/testutil.h"

/* A graph from YAML text; `tensors` and `ops` are the bodies of the two lists. */
static int load(graph *g, asim_err *e, const char *text)
{
	asim_err_init(e);
	return graph_load_buffer(g, "t.yaml", text, strlen(text), e);
}

static char doc[8192];
static const char *mk(const char *tensors, const char *ops)
{
	snprintf(doc, sizeof doc, "accelsim: 1\ndtype: bf16\ntensors:%s%sops:%s%s", *tensors ? "\n" : " []\n",
	         tensors, *ops ? "\n" : " []\n", ops);
	return doc;
}

static const graph_tensor *tensor(const graph *g, const char *name)
{
	int64_t i = graph_find_tensor(g, name);
	cr_assert_geq(i, 0, "no tensor %s", name);
	return &g->tensors[i];
}

static void expect_shape(const graph *g, const char *name, uint32_t rank, const uint64_t *dims)
{
	const graph_tensor *t = tensor(g, name);
	cr_expect_eq(t->rank, rank, "%s: rank %u, want %u", name, t->rank, rank);
	for (uint32_t i = 0; i < rank && i < t->rank; i++)
		cr_expect_eq(t->shape[i], dims[i], "%s: dim %u is %llu, want %llu", name, i,
		             (unsigned long long)t->shape[i], (unsigned long long)dims[i]);
}
#define SHAPE(g, name, ...) do { \
	const uint64_t dims_[] = {__VA_ARGS__}; \
	expect_shape((g), (name), sizeof dims_ / sizeof dims_[0], dims_); \
} while (0)

static void ok(graph *g, const char *tensors, const char *ops)
{
	asim_err e;
	int rc = load(g, &e, mk(tensors, ops));
	cr_assert_eq(rc, 0, "load failed: %s\n%s", e.msg, doc);
}

static void fails(const char *tensors, const char *ops, const char *needle)
{
	graph g;
	asim_err e;
	int rc = load(&g, &e, mk(tensors, ops));
	cr_expect_neq(rc, 0, "accepted:\n%s", doc);
	cr_expect_eq(asim_exit_status(rc), 2, "exit status for %s", e.msg);
	cr_expect_not_null(strstr(e.msg, needle), "message '%s' lacks '%s'", e.msg, needle);
	cr_expect_eq(strncmp(e.msg, "t.yaml:", 7), 0, "%s", e.msg);
	graph_fini(&g);
}

/* ---- convolution and pooling --------------------------------------------------------------- */

Test(graph, conv2d_shapes_and_macs_worked_by_hand)
{
	graph g;
	ok(&g,
	   "  - {name: x, kind: input, shape: [1, 3, 224, 224]}\n"
	   "  - {name: w, kind: weight, shape: [32, 3, 3, 3]}\n"
	   "  - {name: b, kind: weight, shape: [32]}\n"
	   "  - {name: y}\n"
	   "  - {name: wd, kind: weight, shape: [32, 1, 3, 3]}\n"
	   "  - {name: z}\n"
	   "  - {name: wdil, kind: weight, shape: [16, 32, 3, 3]}\n"
	   "  - {name: u, kind: output}\n",
	   "  - {name: c1, type: conv2d, inputs: [x, w, b], outputs: [y], stride: 2, padding: 1, activation: relu6}\n"
	   "  - {name: dw, type: conv2d, inputs: [y, wd], outputs: [z], padding: 1, groups: 32}\n"
	   "  - {name: dil, type: conv2d, inputs: [z, wdil], outputs: [u], padding: 2, dilation: 2}\n");
	/* (224 + 2 - 3) / 2 + 1 = 112 */
	SHAPE(&g, "y", 1, 32, 112, 112);
	SHAPE(&g, "z", 1, 32, 112, 112);
	/* effective kernel 2*(3-1)+1 = 5; (112 + 4 - 5) / 1 + 1 = 112 */
	SHAPE(&g, "u", 1, 16, 112, 112);
	/* MACs = N*Co*Ho*Wo*(Ci/g)*KH*KW */
	cr_expect_eq(g.ops[0].macs, 112ull * 112 * 32 * 3 * 9);              /* 10,838,016 */
	cr_expect_eq(g.ops[1].macs, 112ull * 112 * 32 * 1 * 9);              /* depthwise: 3,612,672 */
	cr_expect_eq(g.ops[2].macs, 112ull * 112 * 16 * 32 * 9);
	/* FLOPs = 2 MACs + bias + activation elements */
	cr_expect_eq(g.ops[0].flops, 2 * 10838016ull + 2 * 32ull * 112 * 112);
	cr_expect_eq(g.ops[1].flops, 2 * 3612672ull);
	cr_expect_eq(g.total_macs, g.ops[0].macs + g.ops[1].macs + g.ops[2].macs);
	cr_expect_eq(g.param_count, 32 * 27 + 32 + 32 * 9 + 16 * 32 * 9);
	cr_expect_eq(g.param_bytes, 2 * g.param_count);
	cr_expect_eq(tensor(&g, "u")->bytes, 2ull * 16 * 112 * 112);
	graph_fini(&g);
}

Test(graph, padding_forms_and_same)
{
	graph g;
	ok(&g,
	   "  - {name: x, kind: input, shape: [1, 4, 225, 224]}\n"
	   "  - {name: w, kind: weight, shape: [4, 4, 3, 3]}\n"
	   "  - {name: a}\n  - {name: b}\n  - {name: c}\n  - {name: d}\n",
	   "  - {name: s, type: conv2d, inputs: [x, w], outputs: [a], stride: 2, padding: same}\n"
	   "  - {name: hw, type: conv2d, inputs: [x, w], outputs: [b], padding: [1, 0]}\n"
	   "  - {name: four, type: conv2d, inputs: [x, w], outputs: [c], padding: [0, 2, 1, 1], stride: [1, 2]}\n"
	   "  - {name: v, type: conv2d, inputs: [x, w], outputs: [d], padding: valid}\n");
	/* same: out = ceil(225/2) = 113, total pad = 112*2 + 3 - 225 = 2 -> 1 + 1;
	 *       out = ceil(224/2) = 112, total pad = 111*2 + 3 - 224 = 1 -> 0 top/left, 1 after */
	SHAPE(&g, "a", 1, 4, 113, 112);
	cr_expect_eq(g.ops[0].a.pad[0], 1);
	cr_expect_eq(g.ops[0].a.pad[1], 1);
	cr_expect_eq(g.ops[0].a.pad[2], 0);
	cr_expect_eq(g.ops[0].a.pad[3], 1);
	SHAPE(&g, "b", 1, 4, 225, 222);                 /* H: 225+2-3+1, W: 224-3+1 */
	SHAPE(&g, "c", 1, 4, 225, 112);                 /* H: 225+2-3+1, W: (224+2-3)/2+1 */
	SHAPE(&g, "d", 1, 4, 223, 222);
	graph_fini(&g);
}

Test(graph, pooling)
{
	graph g;
	ok(&g,
	   "  - {name: x, kind: input, shape: [2, 64, 112, 112]}\n"
	   "  - {name: m}\n  - {name: a}\n  - {name: gp}\n",
	   "  - {name: mp, type: maxpool, inputs: [x], outputs: [m], kernel: 3, stride: 2, padding: 1}\n"
	   "  - {name: ap, type: avgpool, inputs: [m], outputs: [a], kernel: [2, 3], stride: [2, 3]}\n"
	   "  - {name: g, type: global_avgpool, inputs: [a], outputs: [gp]}\n");
	SHAPE(&g, "m", 2, 64, 56, 56);                  /* ResNet's stem pool: (112+2-3)/2+1 */
	SHAPE(&g, "a", 2, 64, 28, 18);                  /* (56-2)/2+1, (56-3)/3+1 */
	SHAPE(&g, "gp", 2, 64, 1, 1);
	cr_expect_eq(g.ops[0].macs, 0);
	cr_expect_eq(g.ops[0].flops, 2ull * 64 * 56 * 56 * 9);  /* one per window element */
	cr_expect_eq(g.ops[2].flops, 2ull * 64 * 28 * 18);      /* one per input element */
	graph_fini(&g);
}

/* ---- matmul ------------------------------------------------------------------------------- */

Test(graph, matmul_transposes_broadcast_bias)
{
	graph g;
	ok(&g,
	   "  - {name: a, kind: input, shape: [2, 1, 4, 8]}\n"
	   "  - {name: b, kind: weight, shape: [3, 8, 5]}\n"
	   "  - {name: c}\n"
	   "  - {name: at, kind: input, shape: [8, 4]}\n"
	   "  - {name: bt, kind: weight, shape: [5, 8]}\n"
	   "  - {name: bias, kind: weight, shape: [5]}\n"
	   "  - {name: d, dtype: fp32}\n",
	   "  - {name: bmm, type: matmul, inputs: [a, b], outputs: [c]}\n"
	   "  - {name: mm, type: matmul, inputs: [at, bt, bias], outputs: [d], transpose_a: true, "
	   "transpose_b: true, activation: gelu}\n");
	SHAPE(&g, "c", 2, 3, 4, 5);
	cr_expect_eq(g.ops[0].macs, 2 * 3 * 4 * 5 * 8);          /* 960 */
	cr_expect_eq(g.ops[0].flops, 2 * 960);
	SHAPE(&g, "d", 4, 5);
	cr_expect_eq(g.ops[1].macs, 4 * 5 * 8);
	cr_expect_eq(g.ops[1].flops, 2 * 160 + 20 + 20);         /* + bias + gelu per element */
	cr_expect_eq(g.ops[1].a.activation, GRAPH_ACT_GELU);
	cr_expect_eq(tensor(&g, "d")->dtype, ASIM_DT_FP32);      /* declared dtype kept */
	cr_expect_eq(tensor(&g, "c")->dtype, ASIM_DT_BF16);
	cr_expect_eq(graph_op_class_of(g.ops[0].type), GRAPH_CLASS_PE);
	graph_fini(&g);
}

Test(graph, matmul_mismatches)
{
	const char *t = "  - {name: a, kind: input, shape: [4, 8]}\n"
	                "  - {name: b, kind: weight, shape: [7, 5]}\n"
	                "  - {name: c}\n";
	fails(t, "  - {name: mm, type: matmul, inputs: [a, b], outputs: [c]}\n",
	      "inner dimensions differ: A 'a' [4, 8] has K = 8 but B 'b' [7, 5] has K = 7");
	fails("  - {name: a, kind: input, shape: [2, 4, 8]}\n"
	      "  - {name: b, kind: weight, shape: [3, 8, 5]}\n  - {name: c}\n",
	      "  - {name: mm, type: matmul, inputs: [a, b], outputs: [c]}\n", "do not broadcast");
	fails("  - {name: a, kind: input, shape: [4, 8]}\n"
	      "  - {name: b, kind: weight, shape: [8, 5]}\n  - {name: c, shape: [4, 6]}\n",
	      "  - {name: mm, type: matmul, inputs: [a, b], outputs: [c]}\n",
	      "t.yaml:6:22: op 'mm' (matmul): output 'c' is declared with shape [4, 6], but the op "
	      "produces [4, 5]");
}

/* ---- elementwise, activations, normalisation ---------------------------------------------- */

Test(graph, broadcasting_elementwise)
{
	graph g;
	ok(&g,
	   "  - {name: a, kind: input, shape: [4, 1, 3]}\n"
	   "  - {name: b, kind: input, shape: [5, 1]}\n"
	   "  - {name: c}\n  - {name: d}\n  - {name: s, kind: input, shape: []}\n  - {name: e}\n",
	   "  - {name: add, type: add, inputs: [a, b], outputs: [c], activation: relu}\n"
	   "  - {name: sub, type: sub, inputs: [c, s], outputs: [d]}\n"
	   "  - {name: mul, type: mul, inputs: [s, d], outputs: [e]}\n");
	SHAPE(&g, "c", 4, 5, 3);
	SHAPE(&g, "d", 4, 5, 3);
	SHAPE(&g, "e", 4, 5, 3);
	cr_expect_eq(g.ops[0].flops, 2 * 60);                    /* add + fused relu */
	cr_expect_eq(g.ops[1].flops, 60);
	graph_fini(&g);
	fails("  - {name: a, kind: input, shape: [4, 3]}\n  - {name: b, kind: input, shape: [2, 4, 2]}\n"
	      "  - {name: c}\n", "  - {name: add, type: add, inputs: [a, b], outputs: [c]}\n",
	      "shapes [4, 3] of 'a' and [2, 4, 2] of 'b' do not broadcast (dimension -1 from the right: 3 vs 2)");
}

Test(graph, activations_softmax_norms)
{
	graph g;
	ok(&g,
	   "  - {name: x, kind: input, shape: [2, 16, 64]}\n"
	   "  - {name: gam, kind: weight, shape: [64]}\n"
	   "  - {name: bet, kind: weight, shape: [64]}\n"
	   "  - {name: gam2, kind: weight, shape: [16, 64]}\n"
	   "  - {name: a1}\n  - {name: a2}\n  - {name: a3}\n  - {name: a4}\n  - {name: a5}\n"
	   "  - {name: a6}\n  - {name: a7}\n  - {name: sm}\n  - {name: ln}\n  - {name: rn}\n  - {name: ln2}\n",
	   "  - {name: r, type: relu, inputs: [x], outputs: [a1]}\n"
	   "  - {name: r6, type: relu6, inputs: [a1], outputs: [a2]}\n"
	   "  - {name: ge, type: gelu, inputs: [a2], outputs: [a3]}\n"
	   "  - {name: si, type: silu, inputs: [a3], outputs: [a4]}\n"
	   "  - {name: sg, type: sigmoid, inputs: [a4], outputs: [a5]}\n"
	   "  - {name: th, type: tanh, inputs: [a5], outputs: [a6]}\n"
	   "  - {name: ex, type: exp, inputs: [a6], outputs: [a7]}\n"
	   "  - {name: smx, type: softmax, inputs: [a7], outputs: [sm], axis: 1}\n"
	   "  - {name: lnorm, type: layernorm, inputs: [sm, gam, bet], outputs: [ln], epsilon: 1e-12}\n"
	   "  - {name: rnorm, type: rmsnorm, inputs: [ln, gam], outputs: [rn]}\n"
	   "  - {name: lnorm2, type: layernorm, inputs: [rn, gam2], outputs: [ln2], axis: -2}\n");
	for (int i = 0; i < 7; i++) {
		cr_expect_eq(g.ops[i].flops, 2048, "op %d", i);
		cr_expect_eq(graph_op_class_of(g.ops[i].type), GRAPH_CLASS_ACT);
	}
	SHAPE(&g, "sm", 2, 16, 64);
	cr_expect_eq(g.ops[7].a.axis, 1);
	cr_expect_eq(g.ops[7].flops, 5 * 2048);
	cr_expect_eq(g.ops[8].a.axis, 2);                        /* default -1, normalised */
	cr_expect(g.ops[8].a.epsilon == 1e-12);
	cr_expect_eq(g.ops[8].flops, (5 + 2) * 2048);
	cr_expect_eq(g.ops[9].flops, (3 + 1) * 2048);
	cr_expect_eq(g.ops[10].a.axis, 1);
	graph_fini(&g);
	fails("  - {name: x, kind: input, shape: [2, 64]}\n  - {name: gam, kind: weight, shape: [32]}\n"
	      "  - {name: y}\n", "  - {name: ln, type: layernorm, inputs: [x, gam], outputs: [y]}\n",
	      "gamma 'gam' has shape [32]; it must be [64]");
	fails("  - {name: x, kind: input, shape: [2, 64]}\n  - {name: y}\n",
	      "  - {name: sm, type: softmax, inputs: [x], outputs: [y], axis: 2}\n",
	      "axis 2 is out of range for rank 2");
}

/* ---- data movement ------------------------------------------------------------------------ */

Test(graph, transpose_reshape_concat_embedding)
{
	graph g;
	ok(&g,
	   "  - {name: x, kind: input, shape: [2, 3, 4]}\n"
	   "  - {name: t}\n  - {name: r}\n  - {name: r2}\n"
	   "  - {name: y, kind: input, shape: [2, 5, 4]}\n  - {name: c}\n"
	   "  - {name: table, kind: weight, shape: [30522, 768]}\n"
	   "  - {name: ids, kind: input, dtype: int32, shape: [2, 128]}\n  - {name: emb}\n"
	   "  - {name: ids2}\n",
	   "  - {name: tr, type: transpose, inputs: [x], outputs: [t], perm: [2, 0, 1]}\n"
	   "  - {name: rs, type: reshape, inputs: [t], outputs: [r], shape: [-1, 6]}\n"
	   "  - {name: rs2, type: reshape, inputs: [r], outputs: [r2], shape: [2, -1, 3]}\n"
	   "  - {name: cat, type: concat, inputs: [x, y], outputs: [c], axis: -2}\n"
	   "  - {name: gather, type: embedding, inputs: [table, ids], outputs: [emb]}\n"
	   "  - {name: ri, type: reshape, inputs: [ids], outputs: [ids2], shape: [256]}\n");
	SHAPE(&g, "t", 4, 2, 3);
	SHAPE(&g, "r", 4, 6);
	SHAPE(&g, "r2", 2, 4, 3);
	SHAPE(&g, "c", 2, 8, 4);
	cr_expect_eq(g.ops[3].a.axis, 1);
	SHAPE(&g, "emb", 2, 128, 768);
	cr_expect_eq(tensor(&g, "emb")->dtype, ASIM_DT_BF16);
	cr_expect_eq(tensor(&g, "ids2")->dtype, ASIM_DT_INT32);  /* data movement keeps the type */
	for (int i = 0; i < 6; i++)
		cr_expect_eq(g.ops[i].flops, 0);
	graph_fini(&g);
	fails("  - {name: x, kind: input, shape: [2, 3, 4]}\n  - {name: r}\n",
	      "  - {name: rs, type: reshape, inputs: [x], outputs: [r], shape: [5, -1]}\n",
	      "cannot reshape 'x' [2, 3, 4] (24 elements): 24 is not divisible by the product 5");
	fails("  - {name: x, kind: input, shape: [2, 3, 4]}\n  - {name: r}\n",
	      "  - {name: rs, type: reshape, inputs: [x], outputs: [r], shape: [5, 5]}\n",
	      "to [5, 5] (25 elements)");
	fails("  - {name: x, kind: input, shape: [2, 3, 4]}\n  - {name: r}\n",
	      "  - {name: rs, type: reshape, inputs: [x], outputs: [r], shape: [-1, -1]}\n",
	      "more than one -1");
	fails("  - {name: x, kind: input, shape: [2, 3, 4]}\n  - {name: r}\n",
	      "  - {name: tr, type: transpose, inputs: [x], outputs: [r], perm: [0, 0, 1]}\n",
	      "perm must be a permutation of 0..2");
	fails("  - {name: table, kind: weight, shape: [10, 4]}\n  - {name: ids, kind: input, shape: [3]}\n"
	      "  - {name: e}\n", "  - {name: g, type: embedding, inputs: [table, ids], outputs: [e]}\n",
	      "indices 'ids' must be int32, not bf16");
	fails("  - {name: ids, kind: input, dtype: int32, shape: [3]}\n  - {name: e}\n",
	      "  - {name: r, type: relu, inputs: [ids], outputs: [e]}\n",
	      "computes on floating-point values, but input 'ids' is int32");
}

/* ---- training ops --------------------------------------------------------------------------- */

Test(graph, backward_ops_and_optimizers)
{
	graph g;
	ok(&g,
	   "  - {name: x, kind: input, shape: [8, 3, 224, 224]}\n"
	   "  - {name: w, kind: weight, shape: [32, 3, 3, 3]}\n"
	   "  - {name: dy, kind: input, shape: [8, 32, 112, 112]}\n"
	   "  - {name: dx}\n  - {name: dx2, shape: [8, 3, 224, 224]}\n  - {name: dw}\n  - {name: dw2, shape: [32, 3, 3, 3]}\n"
	   "  - {name: a, kind: input, shape: [4, 16, 64]}\n"
	   "  - {name: b, kind: weight, shape: [64, 32]}\n"
	   "  - {name: g, kind: input, shape: [4, 16, 32]}\n"
	   "  - {name: da}\n  - {name: db}\n  - {name: db3, shape: [4, 64, 32]}\n"
	   "  - {name: m, kind: weight, shape: [64, 32]}\n  - {name: v, kind: weight, shape: [64, 32]}\n"
	   "  - {name: b1, kind: output}\n  - {name: m1, kind: output}\n"
	   "  - {name: b2, kind: output}\n  - {name: m2, kind: output}\n  - {name: v2, kind: output}\n"
	   "  - {name: y, kind: input, shape: [4, 16, 32]}\n  - {name: dr}\n",
	   "  - {name: cbd, type: conv2d_backward_data, inputs: [dy, w], outputs: [dx], stride: 2, padding: 1}\n"
	   "  - {name: cbd2, type: conv2d_backward_data, inputs: [dy, w], outputs: [dx2], stride: 2, padding: 1}\n"
	   "  - {name: cbw, type: conv2d_backward_weight, inputs: [x, dy], outputs: [dw], stride: 2, padding: 1, kernel: 3}\n"
	   "  - {name: cbw2, type: conv2d_backward_weight, inputs: [x, dy], outputs: [dw2], stride: 2, padding: 1}\n"
	   "  - {name: mbd, type: matmul_backward_data, inputs: [g, b], outputs: [da]}\n"
	   "  - {name: mbw, type: matmul_backward_weight, inputs: [a, g], outputs: [db]}\n"
	   "  - {name: mbw3, type: matmul_backward_weight, inputs: [a, g], outputs: [db3]}\n"
	   "  - {name: sgd, type: sgd_update, inputs: [b, db, m], outputs: [b1, m1], lr: 0.1, momentum: 0.9, rounding: sr, sr_bits: 8}\n"
	   "  - {name: adam, type: adam_update, inputs: [b, db, m, v], outputs: [b2, m2, v2], lr: 0.001, weight_decay: 0.01}\n"
	   "  - {name: rb, type: relu_backward, inputs: [g, y], outputs: [dr]}\n");
	/* smallest H with (H + 2 - 3)/2 + 1 = 112: 111*2 + 3 - 2 = 223 */
	SHAPE(&g, "dx", 8, 3, 223, 223);
	SHAPE(&g, "dx2", 8, 3, 224, 224);
	SHAPE(&g, "dw", 32, 3, 3, 3);
	const uint64_t conv_macs = 8ull * 32 * 112 * 112 * 3 * 9;
	for (int i = 0; i < 4; i++) {
		cr_expect_eq(g.ops[i].macs, conv_macs, "op %d", i);
		cr_expect_eq(g.ops[i].flops, 2 * conv_macs);
	}
	SHAPE(&g, "da", 4, 16, 64);
	SHAPE(&g, "db", 64, 32);                                 /* summed over the batch */
	cr_expect_eq(g.ops[4].macs, 4 * 16 * 32 * 64);
	cr_expect_eq(g.ops[5].macs, 4 * 16 * 32 * 64);
	cr_expect_eq(g.ops[6].macs, 4 * 16 * 32 * 64);
	cr_expect_eq(g.ops[7].flops, 4 * 64 * 32);               /* 4 per element */
	cr_expect_eq(g.ops[7].num.rounding, ASIM_RND_SR);
	cr_expect_eq(g.ops[7].num.sr_bits, 8);
	cr_expect(g.ops[7].a.momentum == 0.9);
	cr_expect_eq(g.ops[8].flops, (12 + 2) * 64 * 32);        /* 12 per element + 2 for decay */
	cr_expect(g.ops[8].a.beta1 == 0.9 && g.ops[8].a.beta2 == 0.999 && g.ops[8].a.epsilon == 1e-8);
	cr_expect_eq(g.ops[9].flops, 4 * 16 * 32);
	/* optimizer state (m, v) is not counted as parameters */
	cr_expect_eq(g.param_count, 32 * 27 + 64 * 32);
	graph_fini(&g);
	fails("  - {name: dy, kind: input, shape: [1, 8, 10, 10]}\n  - {name: w, kind: weight, shape: [8, 4, 3, 3]}\n"
	      "  - {name: dx, shape: [1, 4, 13, 10]}\n",
	      "  - {name: c, type: conv2d_backward_data, inputs: [dy, w], outputs: [dx]}\n",
	      "whose forward convolution gives 11 x 8, not dY's 10 x 10");
	fails("  - {name: x, kind: input, shape: [1, 4, 10, 10]}\n  - {name: dy, kind: input, shape: [1, 8, 8, 8]}\n"
	      "  - {name: dw}\n", "  - {name: c, type: conv2d_backward_weight, inputs: [x, dy], outputs: [dw]}\n",
	      "give 'kernel: [KH, KW]' or declare the shape of output 'dw'");
}

/* ---- numerics, groups, defaults ------------------------------------------------------------ */

Test(graph, numerics_overrides_and_groups)
{
	graph g;
	ok(&g,
	   "  - {name: a, kind: input, shape: [4, 8]}\n  - {name: b, kind: weight, shape: [8, 8]}\n"
	   "  - {name: c}\n  - {name: d}\n  - {name: e, kind: output}\n",
	   "  - {name: mm, type: matmul, inputs: [a, b], outputs: [c], dtype: fp8_e4m3, accum: fp32, "
	   "rounding: rtz, saturate: true, group: blk}\n"
	   "  - {name: r, type: relu, inputs: [c], outputs: [d], group: blk}\n"
	   "  - {name: s, type: sigmoid, inputs: [d], outputs: [e]}\n");
	cr_expect_eq(g.ops[0].num.dtype, ASIM_DT_FP8_E4M3);
	cr_expect_eq(g.ops[0].num.accum, ASIM_DT_FP32);
	cr_expect_eq(g.ops[0].num.rounding, ASIM_RND_RTZ);
	cr_expect_eq(g.ops[0].num.saturate, 1);
	cr_expect_eq(g.ops[1].num.dtype, -1);
	cr_expect_eq(g.ops[1].num.rounding, -1);
	cr_expect_eq(g.ops[1].num.saturate, -1);
	cr_expect_eq(g.n_groups, 1);
	cr_expect_str_eq(g.groups[0], "blk");
	cr_expect_eq(g.ops[0].group, 0);
	cr_expect_eq(g.ops[1].group, 0);
	cr_expect_eq(g.ops[2].group, -1);
	cr_expect_str_eq(g.name, "t");                            /* no name: the file's base name */
	cr_expect_str_eq(g.source, "t.yaml");
	graph_fini(&g);
	const char *t = "  - {name: a, kind: input, shape: [4]}\n  - {name: b}\n  - {name: c}\n  - {name: d}\n";
	fails(t, "  - {name: x, type: relu, inputs: [a], outputs: [b], group: g}\n"
	         "  - {name: y, type: relu, inputs: [b], outputs: [c]}\n"
	         "  - {name: z, type: relu, inputs: [c], outputs: [d], group: g}\n",
	      "fusion group 'g' is interrupted: op 'z' follows op 'y'");
	fails(t, "  - {name: x, type: relu, inputs: [a], outputs: [b], sr_bits: 4}\n",
	      "sr_bits applies to stochastic rounding only");
	fails(t, "  - {name: x, type: reshape, inputs: [a], outputs: [b], shape: [4], rounding: sr}\n",
	      "'rounding' does not apply to op 'x': a reshape op only moves data");
	fails(t, "  - {name: x, type: relu, inputs: [a], outputs: [b], accum: int32}\n",
	      "accum must be a floating-point type, not int32");
}

Test(graph, references_and_order)
{
	const char *t = "  - {name: a, kind: input, shape: [4]}\n  - {name: b}\n  - {name: c}\n";
	fails(t, "  - {name: x, type: relu, inputs: [c], outputs: [b]}\n"
	         "  - {name: y, type: relu, inputs: [b], outputs: [c]}\n",
	      "t.yaml:8:36: op 'x' (relu): uses tensor 'c' before it is defined: op 'y' (line 9)");
	fails(t, "  - {name: x, type: relu, inputs: [aa], outputs: [b]}\n",
	      "names tensor 'aa', which is not declared (did you mean 'a'?)");
	fails(t, "  - {name: x, type: relu, inputs: [a], outputs: [b]}\n"
	         "  - {name: y, type: relu, inputs: [a], outputs: [b]}\n",
	      "tensor 'b' is produced twice: by op 'x' (line 8) and by op 'y'");
	fails(t, "  - {name: x, type: relu, inputs: [b], outputs: [b]}\n  - {name: y, type: relu, inputs: [a], outputs: [c]}\n",
	      "reads its own output 'b'");
	fails(t, "  - {name: x, type: relu, inputs: [b], outputs: [a]}\n",
	      "writes tensor 'a', which is declared as an input");
	fails(t, "  - {name: x, type: relu, inputs: [a], outputs: [b]}\n",
	      "t.yaml:6:5: tensor 'c' is an activation, but no op produces it");
	fails(t, "  - {name: x, type: relu, inputs: [a], outputs: [b]}\n  - {name: x, type: relu, inputs: [b], outputs: [c]}\n",
	      "duplicate op name 'x' (first used at line 8)");
	fails(t, "  - {name: x, type: add, inputs: [a], outputs: [b]}\n  - {name: y, type: relu, inputs: [b], outputs: [c]}\n",
	      "op 'x' takes 2 inputs, not 1");
	fails(t, "  - {name: x, type: relu, inputs: [a], outputs: [b], stride: 2}\n",
	      "attribute 'stride' does not apply to op 'x', a relu op (it takes no attributes)");
	fails(t, "  - {name: x, type: rleu, inputs: [a], outputs: [b]}\n", "(did you mean 'relu'?)");
	fails(t, "  - {name: x, type: relu, input: [a], outputs: [b]}\n", "(did you mean 'inputs'?)");
}

Test(graph, version_and_top_level)
{
	graph g;
	asim_err e;
	int rc = load(&g, &e, "accelsim: 2\ntensors: []\nops: []\n");
	cr_expect_eq(rc, ASIM_EUNSUPPORTED);
	cr_expect_str_eq(e.msg, "t.yaml:1:11: graph format version 2 is not supported: this accelsim reads version 1");
	rc = load(&g, &e, "tensors: []\nops: []\n");
	cr_expect_eq(asim_exit_status(rc), 2);
	cr_expect_not_null(strstr(e.msg, "missing key 'accelsim'"));
	rc = load(&g, &e, "accelsim: 1\nname: empty\ntensors: []\nops: []\n");
	cr_expect_eq(rc, 0, "%s", e.msg);
	cr_expect_eq(g.n_ops, 0);
	cr_expect_str_eq(g.name, "empty");
	cr_expect_eq(strlen(g.hash), 16);
	graph_fini(&g);
}

Test(graph, limits_rank_zero_dims_overflow)
{
	fails("  - {name: a, kind: input, shape: [1, 1, 1, 1, 1, 1, 1]}\n", "",
	      "shape of tensor 'a' has rank 7; the limit is 6");
	fails("  - {name: a, kind: input, shape: [4, 0]}\n", "", "dimension 1 of the shape is 0");
	fails("  - {name: a, kind: input, shape: [4, -2]}\n", "", "is negative");
	fails("  - {name: a, kind: input, shape: [4294967296, 4294967296]}\n", "",
	      "has more than 2^64 elements");
	fails("  - {name: a, kind: input, shape: [4294967296, 2147483648]}\n", "",
	      "larger than 2^64 bytes");
	/* embedding of rank-6 indices would give rank 7 */
	fails("  - {name: t, kind: weight, shape: [4, 4]}\n"
	      "  - {name: i, kind: input, dtype: int32, shape: [1, 1, 1, 1, 1, 1]}\n  - {name: e}\n",
	      "  - {name: g, type: embedding, inputs: [t, i], outputs: [e]}\n",
	      "output 'e' would have rank 7");
	/* MACs beyond 2^64 */
	fails("  - {name: a, kind: input, shape: [4294967296, 1073741824]}\n"
	      "  - {name: b, kind: weight, shape: [1073741824, 16]}\n  - {name: c, dtype: fp8_e4m3}\n",
	      "  - {name: m, type: matmul, inputs: [a, b], outputs: [c]}\n", "exceeds 2^64");
}

/* ---- content hash --------------------------------------------------------------------------- */

static void hash_of(const char *text, char out[17])
{
	graph g;
	asim_err e;
	int rc = load(&g, &e, text);
	cr_assert_eq(rc, 0, "%s", e.msg);
	memcpy(out, g.hash, 17);
	graph_fini(&g);
}

Test(graph, hash_ignores_formatting_but_not_content)
{
	char h1[17], h2[17], h3[17], h4[17];
	hash_of("accelsim: 1\ntensors:\n"
	        "  - {name: x, kind: input, dtype: bf16, shape: [1, 3, 8, 8]}\n"
	        "  - {name: w, kind: weight, dtype: bf16, shape: [4, 3, 3, 3]}\n"
	        "  - {name: y, kind: output, dtype: bf16}\n"
	        "ops:\n  - {name: c, type: conv2d, inputs: [x, w], outputs: [y], padding: 1}\n", h1);
	/* block style, comments, other key order, explicit defaults, declared shape, default dtype */
	hash_of("# a comment\naccelsim: 1\ndtype: bf16\nops:\n"
	        "  - type: conv2d   # the only op\n    outputs: [y]\n    inputs:\n      - x\n      - w\n"
	        "    padding: [1, 1, 1, 1]\n    stride: 1\n    groups: 1\n    dilation: [1, 1]\n    name: c\n"
	        "    activation: none\n"
	        "tensors:\n  - shape: [1, 3, 8, 8]\n    name: x\n    kind: input\n"
	        "  - {shape: [4, 3, 3, 3], kind: weight, name: w}\n"
	        "  - {name: y, shape: [1, 4, 8, 8], kind: output}\n", h2);
	cr_expect_str_eq(h1, h2);
	hash_of("accelsim: 1\ntensors:\n"
	        "  - {name: x, kind: input, dtype: bf16, shape: [1, 3, 8, 8]}\n"
	        "  - {name: w, kind: weight, dtype: bf16, shape: [4, 3, 3, 3]}\n"
	        "  - {name: y, kind: output, dtype: bf16}\n"
	        "ops:\n  - {name: c, type: conv2d, inputs: [x, w], outputs: [y], padding: 1, stride: 2}\n", h3);
	cr_expect_str_neq(h1, h3);
	hash_of("accelsim: 1\ntensors:\n"
	        "  - {name: x, kind: input, dtype: fp16, shape: [1, 3, 8, 8]}\n"
	        "  - {name: w, kind: weight, dtype: bf16, shape: [4, 3, 3, 3]}\n"
	        "  - {name: y, kind: output, dtype: bf16}\n"
	        "ops:\n  - {name: c, type: conv2d, inputs: [x, w], outputs: [y], padding: 1}\n", h4);
	cr_expect_str_neq(h1, h4);
	for (int i = 0; i < 16; i++)
		cr_expect((h1[i] >= '0' && h1[i] <= '9') || (h1[i] >= 'a' && h1[i] <= 'f'));
}

/* ---- out of memory: every allocation failure is a clean ASIM_ENOMEM --------------------------- */

static long fail_after;
static void *failing_alloc(void *ud, void *ptr, size_t size)
{
	(void)ud;
	if (size == 0) {
		free(ptr);
		return NULL;
	}
	if (fail_after-- == 0)
		return NULL;
	return realloc(ptr, size);
}

Test(graph, out_of_memory_at_every_allocation)
{
	char *path = tu_srcpath("models/graphs/mlp_train_step.yaml");
	size_t len;
	char *text = tu_read_file(path, &len);
	cr_assert_not_null(text);
	int successes = 0;
	for (long n = 0; n < 100000 && successes == 0; n++) {
		graph g;
		asim_err e;
		asim_err_init(&e);
		fail_after = n;
		asim_set_allocator(failing_alloc, NULL);
		int rc = graph_load_buffer(&g, "t.yaml", text, len, &e);
		asim_set_allocator(NULL, NULL);
		if (rc == 0) {
			successes++;
			graph_fini(&g);
		} else {
			cr_assert_eq(rc, ASIM_ENOMEM, "allocation %ld: %s", n, e.msg);
		}
	}
	cr_expect_eq(successes, 1);
	free(text);
	free(path);
}

/* ---- the bad-input corpus ------------------------------------------------------------------- */

Test(graph, bad_corpus_gives_positioned_one_line_errors)
{
	char *dir = tu_srcpath("tests/bad/graphs");
	size_t n = 0;
	char **names = tu_list_dir(dir, ".yaml", &n);
	cr_assert_not_null(names, "%s", dir);
	cr_expect_geq(n, 25, "only %zu bad graphs", n);
	for (size_t i = 0; i < n; i++) {
		char path[1024];
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		char *exp = tu_expectation(dir, names[i]);
		cr_expect_not_null(exp, "%s: no expectation", names[i]);
		if (exp == NULL)
			continue;
		/* "LINE:COL: substring" */
		char *sp = strstr(exp, ": ");
		cr_assert_not_null(sp, "%s: malformed expectation '%s'", names[i], exp);
		*sp = '\0';
		const char *where = exp, *needle = sp + 2;
		graph g;
		asim_err e;
		asim_err_init(&e);
		int rc = graph_load_file(&g, path, &e);
		cr_expect_neq(rc, 0, "%s was accepted", names[i]);
		cr_expect_eq(asim_exit_status(rc), 2, "%s: exit status %d (%s)", names[i], asim_exit_status(rc),
		             e.msg);
		cr_expect_null(strchr(e.msg, '\n'), "%s: more than one line", names[i]);
		char prefix[1200];
		snprintf(prefix, sizeof prefix, "%s:%s: ", path, where);
		cr_expect_eq(strncmp(e.msg, prefix, strlen(prefix)), 0, "%s: message '%s' does not start with '%s'",
		             names[i], e.msg, prefix);
		cr_expect_not_null(strstr(e.msg, needle), "%s: message '%s' lacks '%s'", names[i], e.msg, needle);
		if (rc == 0)
			graph_fini(&g);
		free(exp);
	}
	tu_list_free(names);
	free(dir);
}
