/*
 * test_graph_models.c -- the shipped graphs (models/graphs/NAME.yaml): they load; their MAC and
 * parameter counts agree with the published figures within stated tolerances, and exactly with
 * counts derived here from the architectures' tables (written independently of the generator);
 * and the generator, run again, reproduces every shipped file byte for byte.
 *
 * Published figures (docs/graph-format.md, "Shipped graphs"):
 *   ResNet-50     25.6 M parameters, 4.1 G MACs at 224x224 (He et al. 2016 print "3.8 x 10^9
 *                 FLOPs", multiply-adds of the original stride placement; torchvision's v1.5 is
 *                 the commonly cited 4.1 G)
 *   MobileNetV2   3.4 M parameters, 300 M multiply-adds (Sandler et al. 2018, Table 4)
 *   BERT-base     one layer: 4·768² + 4·768 + 2·768·3072 + 3072 + 768 + 2·2·768 = 7,087,872
 *   Llama-2-7B    6,738,415,616 parameters in all (32 layers + embedding + LM head + final norm)
 * Inference graphs fold batch-norm into the convolution bias: one parameter per BN channel where
 * the frameworks count two (gamma, beta).
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/graph.h"
#include "tests/testutil.h"

static void load_model(graph *g, const char *file)
{
	char rel[256];
	snprintf(rel, sizeof rel, "models/graphs/%s", file);
	char *path = tu_srcpath(rel);
	asim_err e;
	asim_err_init(&e);
	int rc = graph_load_file(g, path, &e);
	cr_assert_eq(rc, 0, "%s: %s", file, e.msg);
	free(path);
}

static void within(double got, double want, double tol, const char *what)
{
	double rel = fabs(got - want) / want;
	cr_expect(rel <= tol, "%s: %.0f is %.2f%% from the published %.0f (tolerance %.1f%%)", what, got,
	          100 * rel, want, 100 * tol);
}

/* ---- ResNet-50 from its table (He et al. 2016, Table 1) ------------------------------------ */

struct count { uint64_t params, macs, bn_channels; };

/* a convolution (+ folded-BN bias) at output size ho x wo */
static void conv(struct count *c, uint64_t cin, uint64_t cout, uint64_t k, uint64_t ho, uint64_t groups)
{
	c->params += cout * (cin / groups) * k * k + cout;
	c->macs += ho * ho * cout * (cin / groups) * k * k;
	c->bn_channels += cout;
}

static struct count resnet50_count(int v1)
{
	struct count c = {0, 0, 0};
	conv(&c, 3, 64, 7, 112, 1);
	uint64_t cin = 64, size = 56;                 /* after the 3x3/2 max pool */
	const uint64_t blocks[4] = {3, 4, 6, 3}, width[4] = {64, 128, 256, 512};
	for (int s = 0; s < 4; s++)
		for (uint64_t b = 0; b < blocks[s]; b++) {
			uint64_t in_size = size, out_size = (s > 0 && b == 0) ? size / 2 : size;
			uint64_t w = width[s];
			conv(&c, cin, w, 1, v1 ? out_size : in_size, 1);
			conv(&c, w, w, 3, out_size, 1);
			conv(&c, w, 4 * w, 1, out_size, 1);
			if (b == 0)
				conv(&c, cin, 4 * w, 1, out_size, 1);
			cin = 4 * w;
			size = out_size;
		}
	c.params += 2048 * 1000 + 1000;
	c.macs += 2048 * 1000;
	return c;
}

Test(models, resnet50_matches_published_counts)
{
	graph g;
	load_model(&g, "resnet50.yaml");
	struct count c = resnet50_count(0);
	cr_expect_eq(g.param_count, c.params, "params %llu, derived %llu", (unsigned long long)g.param_count,
	             (unsigned long long)c.params);
	cr_expect_eq(g.total_macs, c.macs, "MACs %llu, derived %llu", (unsigned long long)g.total_macs,
	             (unsigned long long)c.macs);
	/* torchvision counts 25,557,032 with BN's gamma and beta: 2 per channel instead of 1 */
	cr_expect_eq(g.param_count + c.bn_channels, 25557032ull);
	within((double)g.param_count, 25.6e6, 0.01, "ResNet-50 parameters");
	within((double)g.total_macs, 4.1e9, 0.01, "ResNet-50 MACs");
	cr_expect_eq(g.param_bytes, 2 * g.param_count);           /* bf16 */
	cr_expect_eq(g.n_ops, 1 + 1 + 16 * 4 + 4 + 3);             /* stem, pool, blocks, downsamples, head */
	graph_fini(&g);
	/* He et al.'s original placement of the stride (on the first 1x1) gives their 3.8 G */
	struct count v1 = resnet50_count(1);
	within((double)v1.macs, 3.8e9, 0.03, "ResNet-50 v1 MACs");
}

/* ---- MobileNetV2 from its table (Sandler et al. 2018, Table 2) ----------------------------- */

static const struct { uint64_t t, c, n, s; } mbv2[7] = {
	{1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 3, 2}, {6, 64, 4, 2}, {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1},
};

static struct count mobilenet_v2_count(int fused_blocks)
{
	struct count c = {0, 0, 0};
	conv(&c, 3, 32, 3, 112, 1);
	uint64_t cin = 32, size = 112;
	int expanding = 0;
	for (int i = 0; i < 7; i++)
		for (uint64_t r = 0; r < mbv2[i].n; r++) {
			uint64_t stride = r == 0 ? mbv2[i].s : 1, out = size / stride, hid = cin * mbv2[i].t;
			if (mbv2[i].t != 1 && ++expanding <= fused_blocks) {
				conv(&c, cin, hid, 3, out, 1);                       /* Fused-MBConv */
			} else {
				if (mbv2[i].t != 1)
					conv(&c, cin, hid, 1, size, 1);
				conv(&c, hid, hid, 3, out, hid);                     /* depthwise */
			}
			conv(&c, hid, mbv2[i].c, 1, out, 1);
			cin = mbv2[i].c;
			size = out;
		}
	conv(&c, 320, 1280, 1, 7, 1);
	c.params += 1280 * 1000 + 1000;
	c.macs += 1280 * 1000;
	return c;
}

Test(models, mobilenet_v2_matches_published_counts)
{
	graph g;
	load_model(&g, "mobilenet_v2.yaml");
	struct count c = mobilenet_v2_count(0);
	cr_expect_eq(g.param_count, c.params);
	cr_expect_eq(g.total_macs, c.macs);
	cr_expect_eq(g.param_count + c.bn_channels, 3504872ull);  /* torchvision, with BN gamma+beta */
	within((double)g.param_count, 3.4e6, 0.03, "MobileNetV2 parameters");
	within((double)g.total_macs, 300e6, 0.01, "MobileNetV2 MACs");
	uint64_t plain_macs = g.total_macs;
	graph_fini(&g);

	load_model(&g, "mobilenet_v2_fused.yaml");
	struct count f = mobilenet_v2_count(5);
	cr_expect_eq(g.param_count, f.params);
	cr_expect_eq(g.total_macs, f.macs);
	/* fusing trades FLOPs for fewer, larger ops: more MACs, fewer ops */
	cr_expect_gt(g.total_macs, plain_macs);
	cr_expect_eq(g.n_ops, 65 - 5);
	graph_fini(&g);
}

/* ---- transformer layers --------------------------------------------------------------------- */

Test(models, bert_base_layer_counts)
{
	const uint64_t d = 768, f = 3072;
	const uint64_t params = 4 * d * d + 4 * d + 2 * d * f + f + d + 2 * 2 * d;
	cr_expect_eq(params, 7087872ull);
	const char *files[2] = {"bert_base_layer_s128.yaml", "bert_base_layer_s512.yaml"};
	const uint64_t seqs[2] = {128, 512};
	for (int i = 0; i < 2; i++) {
		graph g;
		load_model(&g, files[i]);
		uint64_t s = seqs[i];
		cr_expect_eq(g.param_count, params, "%s", files[i]);
		/* Q, K, V, output projections + QK^T and PV + the two FFN matmuls */
		uint64_t macs = 4 * s * d * d + 2 * s * s * d + 2 * s * d * f;
		cr_expect_eq(g.total_macs, macs, "%s: %llu vs %llu", files[i], (unsigned long long)g.total_macs,
		             (unsigned long long)macs);
		graph_fini(&g);
	}
}

Test(models, llama2_7b_layer_counts)
{
	const uint64_t d = 4096, f = 11008, vocab = 32000, layers = 32;
	const uint64_t layer_params = 4 * d * d + 3 * d * f + 2 * d;
	/* the whole model: layers, token embedding, LM head, final norm = the published 6.74 B */
	cr_expect_eq(layers * layer_params + 2 * vocab * d + d, 6738415616ull);
	graph g;
	load_model(&g, "llama2_7b_layer_prefill_s2048.yaml");
	const uint64_t s = 2048;
	cr_expect_eq(g.param_count, layer_params);
	cr_expect_eq(g.total_macs, s * (4 * d * d + 3 * d * f) + 2 * s * s * d);
	graph_fini(&g);
	load_model(&g, "llama2_7b_layer_decode_kv2048.yaml");
	const uint64_t ctx = 2048 + 1;
	cr_expect_eq(g.param_count, layer_params);
	cr_expect_eq(g.total_macs, (4 * d * d + 3 * d * f) + 2 * ctx * d);
	int64_t kc = graph_find_tensor(&g, "k_cache.new");
	cr_assert_geq(kc, 0);
	cr_expect_eq(g.tensors[kc].shape[2], ctx);
	cr_expect_eq(g.tensors[kc].kind, GRAPH_OUTPUT);
	graph_fini(&g);
}

/* ---- MLPs ----------------------------------------------------------------------------------- */

Test(models, mlp_and_train_step)
{
	graph g;
	load_model(&g, "mlp.yaml");
	const uint64_t w = 784 * 512 + 512 * 512 + 512 * 10, b = 512 + 512 + 10, n = 32;
	cr_expect_eq(g.param_count, w + b);
	cr_expect_eq(g.total_macs, n * w);
	/* 2 per MAC + a bias add per output + ReLU on the two hidden layers */
	cr_expect_eq(g.total_flops, 2 * n * w + n * b + 2 * n * 512);
	cr_expect_str_eq(g.name, "mlp");
	graph_fini(&g);

	load_model(&g, "mlp_train_step.yaml");
	cr_expect_eq(g.param_count, w);                          /* momentum is optimizer state */
	/* forward n·w, weight gradients n·w, data gradients of layers 2 and 3 */
	cr_expect_eq(g.total_macs, n * w + n * w + n * (512 * 512 + 512 * 10));
	int sgd = 0;
	for (size_t i = 0; i < g.n_ops; i++)
		if (g.ops[i].type == GRAPH_OP_SGD_UPDATE) {
			sgd++;
			cr_expect_eq(g.ops[i].num.rounding, ASIM_RND_SR);
			cr_expect_eq(g.tensors[g.ops[i].out[0]].dtype, ASIM_DT_BF16);
		}
	cr_expect_eq(sgd, 3);
	graph_fini(&g);
}

/* ---- every shipped file loads, deterministically -------------------------------------------- */

Test(models, all_load_twice_with_the_same_hash)
{
	char *dir = tu_srcpath("models/graphs");
	size_t n = 0;
	char **names = tu_list_dir(dir, ".yaml", &n);
	cr_assert_not_null(names, "%s", dir);
	cr_expect_geq(n, 9);
	for (size_t i = 0; i < n; i++) {
		graph a, b;
		load_model(&a, names[i]);
		load_model(&b, names[i]);
		cr_expect_str_eq(a.hash, b.hash, "%s", names[i]);
		cr_expect_eq(a.total_flops, b.total_flops);
		char base[128];
		snprintf(base, sizeof base, "%.*s", (int)(strlen(names[i]) - 5), names[i]);
		cr_expect_str_eq(a.name, base, "the name inside %s", names[i]);
		graph_fini(&a);
		graph_fini(&b);
	}
	tu_list_free(names);
	free(dir);
}

/* ---- the generator reproduces the shipped files ------------------------------------------- */

Test(models, generator_reproduces_shipped_files, .timeout = 120)
{
	char *tmp = tu_mkdtemp();
	char *script = tu_srcpath("models/graphs/gen_graphs.py");
	const char *argv[] = {"/usr/bin/env", "python3", script, "--out-dir", tmp, NULL};
	tu_result r;
	cr_assert_eq(tu_run(&r, argv), 0);
	cr_assert_eq(r.status, 0, "gen_graphs.py failed: %s", r.err);
	tu_result_free(&r);
	char *dir = tu_srcpath("models/graphs");
	size_t ns = 0, nm = 0;
	char **shipped = tu_list_dir(dir, ".yaml", &ns);
	cr_assert_not_null(shipped, "%s", dir);
	char **made = tu_list_dir(tmp, ".yaml", &nm);
	cr_assert_not_null(made, "%s", tmp);
	cr_expect_eq(ns, nm, "%zu shipped files, %zu generated", ns, nm);
	for (size_t i = 0; i < ns && i < nm; i++) {
		cr_expect_str_eq(shipped[i], made[i]);
		char a[1024], b[1024];
		snprintf(a, sizeof a, "%s/%s", dir, shipped[i]);
		snprintf(b, sizeof b, "%s/%s", tmp, made[i]);
		size_t la, lb;
		char *ta = tu_read_file(a, &la), *tb = tu_read_file(b, &lb);
		cr_assert(ta && tb);
		cr_expect(la == lb && memcmp(ta, tb, la) == 0,
		          "%s differs from what gen_graphs.py writes: regenerate with "
		          "python3 models/graphs/gen_graphs.py --out-dir models/graphs", shipped[i]);
		free(ta);
		free(tb);
	}
	tu_list_free(shipped);
	tu_list_free(made);
	tu_rmtree(tmp);
	free(tmp);
	free(dir);
	free(script);
}
