/*
 * test_estimator.c -- the per-op latency estimators (est/, accelsim estimator; docs/estimators.md).
 *
 * References are derived here, independently of the code under test:
 *   - the PE-tile staircase: ⌈C_out/PF⌉ counted by hand for trn1 (PF 128) and edge-npu (PF 16);
 *   - the metrics: MAPE, share within ±10 % and Kendall τ recomputed in this file from the
 *     per-graph CSV that `validate` writes (naive O(n²) τ-b), and compared with its printed table;
 *   - the acceptance bars of issue #8 on candidates never used in training (another seed):
 *     ≥ 97 % of graphs within ±10 % of full simulation, τ ≥ 0.9, better than the FLOPs baseline
 *     on every metric; better than the lookup table of isolated per-op simulations on every
 *     metric, on trn1 and on edge-npu (a tie allowed only at 100 % within a band);
 *   - est_lowered's busy times: the sums over the instructions lower_graph emits, per op, of the
 *     timing table's occupancies (isa/timing.h).
 * Populations: 300 training and 200 validation candidates per chip (make check); under
 * AddressSanitizer (__SANITIZE_ADDRESS__) 120 and 60, because the sanitized simulator is ~10× slower.
 * The full 1,000-candidate validation is docs/examples/validate_estimators.sh, output in the docs.
 * No `.timeout` on these tests: with several timed tests in one program, Criterion 2.4.1's runner
 * leaks a 48-byte block per timed test under LeakSanitizer (seen in the --enable-asan build).
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "est/est.h"
#include "isa/lower.h"
#include "isa/timing.h"
#include "sim/alloc.h"
#include "sim/chip.h"
#include "sim/graph.h"
#include "tests/testutil.h"

#if defined(__SANITIZE_ADDRESS__)
#define N_TRAIN "120"
#define N_VAL "60"
#else
#define N_TRAIN "300"
#define N_VAL "200"
#endif

static char *path_in(const char *dir, const char *name)
{
	char *p = malloc(strlen(dir) + strlen(name) + 2);
	sprintf(p, "%s/%s", dir, name);
	return p;
}

static void run_ok(const char *const argv[])
{
	tu_result r;
	cr_assert_eq(tu_run(&r, argv), 0);
	cr_assert_eq(r.status, 0, "%s %s failed: %s", argv[1], argv[2] ? argv[2] : "", r.err);
	tu_result_free(&r);
}

/* Sample, simulate, fit: returns the model path inside dir (free it). */
static char *make_model(const char *dir, const char *chipname, const char *ntrain)
{
	char *space = tu_srcpath("models/nas/mobilenetv2_space.yaml");
	char *train = path_in(dir, "train"), *data = path_in(dir, "data.csv.gz"), *model = path_in(dir, "model.txt");
	run_ok((const char *const[]){"accelsim", "nas", "sample", space, "-n", ntrain, "-o", train, "--seed", "11", NULL});
	run_ok((const char *const[]){"accelsim", "estimator", "dataset", "--population", train, "--chip", chipname, "-o", data,
	                             NULL});
	run_ok((const char *const[]){"accelsim", "estimator", "fit", data, "-o", model, "--seed", "3", NULL});
	free(space);
	free(train);
	free(data);
	return model;
}

/* ---- features: the staircase in C_out ---------------------------------------------------- */

static double tiles_for(const chip *c, double cout)
{
	est_op o;
	memset(&o, 0, sizeof o);
	strcpy(o.type, "conv2d");
	strcpy(o.act, "none");
	o.batch = 1;
	o.c_in = 64;
	o.c_out = cout;
	o.h = o.w = o.h_out = o.w_out = 14;
	o.kh = o.kw = 1;
	o.groups = 1;
	o.elems_out = cout * 196;
	o.act_out_bytes = 2 * o.elems_out;
	est_op_kind(&o);
	double f[EST_NX];
	est_features(c, NULL, &o, NULL, f);
	return f[EST_F_pe_tiles];
}

Test(estimator, pe_tiles_staircase_in_output_channels)
{
	chip c;
	asim_err e;
	asim_err_init(&e);
	cr_assert_eq(chip_load(&c, "trn1", &e), 0);
	/* trn1: PF 128, rows 128 ≥ 64 input channels, 196 pixels ≤ 512 moving: tiles = ⌈C_out/128⌉ */
	cr_assert_eq(tiles_for(&c, 128), 1);
	cr_assert_eq(tiles_for(&c, 129), 2);
	cr_assert_eq(tiles_for(&c, 256), 2);
	chip_fini(&c);
	cr_assert_eq(chip_load(&c, "edge-npu", &e), 0);
	/* edge-npu: PF 16, rows 32 → ⌈64/32⌉ = 2 row tiles; max_moving 128 → ⌈196/128⌉ = 2 chunks */
	cr_assert_eq(tiles_for(&c, 16), 1 * 2 * 2);
	cr_assert_eq(tiles_for(&c, 17), 2 * 2 * 2);
	cr_assert_eq(tiles_for(&c, 100), 7 * 2 * 2);
	chip_fini(&c);
}

Test(estimator, op_kinds)
{
	est_op o;
	memset(&o, 0, sizeof o);
	strcpy(o.type, "conv2d");
	strcpy(o.act, "relu6");
	o.c_in = o.groups = 96;
	o.kh = o.kw = 3;
	est_op_kind(&o);
	cr_assert_str_eq(o.kind, "conv2d.dw+relu6");
	o.groups = 1;
	o.kh = o.kw = 1;
	strcpy(o.act, "none");
	est_op_kind(&o);
	cr_assert_str_eq(o.kind, "conv2d.1x1");
}

/* ---- est_lowered: the busy times of the instructions the lowering emits ------------------ */

/* Lower the whole graph and sum, per op (isa_inst.gop), the occupancy of its PE, vector and
 * activation instructions by the timing table (a PE matmul that continues the previous one's
 * fold costs its continuation), and count its DMA transfers: the reference for est_lowered,
 * which derives the same from the tiling plan without emitting instructions. */
static void lowered_reference(const chip *c, const char *graph_file)
{
	asim_err e;
	asim_err_init(&e);
	graph g;
	char *path = tu_srcpath(graph_file);
	cr_assert_eq(graph_load_file(&g, path, &e), 0, "%s", e.msg);
	isa_program p;
	isa_program_init(&p);
	lower_opts lo = {0};
	cr_assert_eq(lower_graph(&g, c, &lo, &p, &e), 0, "%s", e.msg);
	isa_clock clk;
	cr_assert_eq(isa_clock_derive(c, &clk, &e), 0);
	double (*ref)[4] = calloc(g.n_ops, sizeof *ref);
	const isa_inst *prev_pe = NULL;
	for (size_t i = 0; i < p.n; i++) {
		const isa_inst *in = &p.insts[i];
		if (in->gop >= g.n_ops)
			continue;
		isa_cost k;
		isa_time_table[in->opcode](c, &clk, in, &k);
		double *r = ref[in->gop];
		if (in->engine == ISA_ENG_PE) {
			if (prev_pe && prev_pe->gop == in->gop && isa_matmul_continues(c, prev_pe, in))
				isa_time_matmul_continue(c, &clk, in, &k);
			r[0] += isa_ticks_to_ns(&clk, k.occupy);
			prev_pe = in;
		} else if (in->engine == ISA_ENG_VEC) {
			r[1] += isa_ticks_to_ns(&clk, k.occupy);
		} else if (in->engine == ISA_ENG_ACT) {
			r[2] += isa_ticks_to_ns(&clk, k.occupy);
		} else if (in->opcode == ISA_OP_DMA_COPY) {
			r[3] += 1;
		}
	}
	int convs = 0;
	for (size_t i = 0; i < g.n_ops; i++) {
		est_op o;
		est_op_from_graph(&g, i, &o);
		if (strcmp(o.type, "conv2d") != 0)
			continue;
		convs++;
		est_low l;
		est_lowered(c, &o, &l);
		double got[3] = {l.pe_ns, l.vec_ns, l.act_ns};
		for (int k = 0; k < 3; k++)
			cr_assert(fabs(got[k] - ref[i][k]) <= 1e-6 * ref[i][k] + 1.0,
			          "%s on %s, op %s, engine %d: est_lowered %.1f ns, lowering %.1f ns", graph_file,
			          c->name, g.ops[i].name, k, got[k], ref[i][k]);
		/* descriptors: exact where every band has valid rows (no empty transfer is emitted) */
		cr_assert(fabs(l.desc - ref[i][3]) <= 1, "%s on %s, op %s: %.0f descriptors vs %.0f", graph_file,
		          c->name, g.ops[i].name, l.desc, ref[i][3]);
	}
	cr_assert_gt(convs, 10);
	free(ref);
	isa_program_fini(&p);
	graph_fini(&g);
	free(path);
}

Test(estimator, lowered_busy_times_match_the_lowering)
{
	const char *chips[2] = {"trn1", "edge-npu"};
	for (int k = 0; k < 2; k++) {
		chip c;
		asim_err e;
		asim_err_init(&e);
		cr_assert_eq(chip_load(&c, chips[k], &e), 0);
		lowered_reference(&c, "models/graphs/mobilenet_v2.yaml");
		lowered_reference(&c, "models/graphs/mobilenet_v2_fused.yaml");
		chip_fini(&c);
	}
}

/* ---- model files ------------------------------------------------------------------------- */

Test(estimator, fit_is_deterministic_and_files_are_checked)
{
	char *dir = tu_mkdtemp();
	char *model = make_model(dir, "trn1", "40");
	char *data = path_in(dir, "data.csv.gz"), *m2 = path_in(dir, "model2.txt");
	run_ok((const char *const[]){"accelsim", "estimator", "fit", data, "-o", m2, "--seed", "3", NULL});
	size_t l1, l2;
	char *a = tu_read_file(model, &l1), *b = tu_read_file(m2, &l2);
	cr_assert(a && b);
	cr_assert(l1 == l2 && memcmp(a, b, l1) == 0, "same data and seed must give the same model bytes");
	cr_assert(strncmp(a, "accelsim-estimator-model 2\n", 27) == 0);
	free(b);

	/* predictions: deterministic, and the printed total is the sum of the per-op lines */
	char *g = tu_srcpath("models/graphs/mobilenet_v2.yaml");
	tu_result r1, r2;
	cr_assert_eq(tu_run(&r1, (const char *const[]){"accelsim", "estimator", "predict", g, "--model", model, NULL}), 0);
	cr_assert_eq(tu_run(&r2, (const char *const[]){"accelsim", "estimator", "predict", g, "--model", model, NULL}), 0);
	cr_assert_eq(r1.status, 0, "%s", r1.err);
	cr_assert_str_eq(r1.out, r2.out);
	double sum = 0, total = -1;
	for (char *line = strtok(r1.out, "\n"); line; line = strtok(NULL, "\n")) {
		if (sscanf(line, "# total %lf", &total) == 1)
			continue;
		if (line[0] == '#' || strncmp(line, "op_index", 8) == 0)
			continue;
		const char *c = line;
		for (int k = 0; k < 3; k++)
			c = strchr(c, ',') + 1;
		sum += strtod(c, NULL);
	}
	cr_assert(total > 0 && fabs(sum - total) < 0.001 * 70, "total %f vs sum %f", total, sum);
	tu_result_free(&r1);
	tu_result_free(&r2);

	/* another format version (1: the features before est_lowered): refused at line 1, exit 2 */
	char *bad = path_in(dir, "v2.txt");
	a[25] = '1';
	tu_write_file(bad, a, l1);
	tu_result r;
	cr_assert_eq(tu_run(&r, (const char *const[]){"accelsim", "estimator", "predict", g, "--model", bad, NULL}), 0);
	cr_assert_eq(r.status, 2);
	cr_assert(strstr(r.err, "v2.txt:1:") && strstr(r.err, "version 1"), "%s", r.err);
	tu_result_free(&r);
	/* corrupted (one digit changed in the body): the checksum refuses it */
	a[25] = '2';
	char *digit = strstr(a, "coef ") + 5;
	*digit = *digit == '7' ? '8' : '7';
	tu_write_file(bad, a, l1);
	cr_assert_eq(tu_run(&r, (const char *const[]){"accelsim", "estimator", "predict", g, "--model", bad, NULL}), 0);
	cr_assert_eq(r.status, 2);
	cr_assert(strstr(r.err, "checksum mismatch"), "%s", r.err);
	tu_result_free(&r);
	/* truncated */
	tu_write_file(bad, a, l1 / 2);
	cr_assert_eq(tu_run(&r, (const char *const[]){"accelsim", "estimator", "predict", g, "--model", bad, NULL}), 0);
	cr_assert_eq(r.status, 2);
	tu_result_free(&r);
	/* a CSV without the needed columns: file:1, exit 2 */
	tu_write_file(bad, "chip,op_type\ntrn1,add\n", 22);
	cr_assert_eq(tu_run(&r, (const char *const[]){"accelsim", "estimator", "fit", bad, "-o", m2, NULL}), 0);
	cr_assert_eq(r.status, 2);
	cr_assert(strstr(r.err, "v2.txt:1:") && strstr(r.err, "missing column"), "%s", r.err);
	tu_result_free(&r);
	free(a);
	free(bad);
	free(g);
	free(data);
	free(m2);
	free(model);
	tu_rmtree(dir);
	free(dir);
}

/* ---- prediction: the fast path gives the reference's values bit for bit -------------------- */

/* The model as docs/estimators.md defines it, walked node by node: linear part in feature
 * order, then the trees' leaves in tree order, at least 0. */
static double ref_eval(const est_kind *k, const double *f)
{
	double s = 0;
	for (int j = 0; j < EST_NF; j++)
		s += k->coef[j] * f[j];
	for (uint32_t t = 0; t < k->n_trees; t++) {
		const est_node *nd = &k->nodes[k->roots[t]];
		while (nd->feat >= 0)
			nd = &k->nodes[f[nd->feat] <= nd->thr ? nd->left : nd->right];
		s += nd->value;
	}
	return s < 0 ? 0 : s;
}

static void ref_predict_matches(const est_model *m, const chip *c, const char *path)
{
	asim_err e;
	asim_err_init(&e);
	graph g;
	cr_assert_eq(graph_load_file(&g, path, &e), 0, "%s", e.msg);
	size_t n = g.n_ops;
	est_op *ops = calloc(n, sizeof *ops);
	double *pred = calloc(n, sizeof *pred), *pred2 = calloc(n, sizeof *pred2);
	unsigned char *oor = calloc(n, 1), *oor2 = calloc(n, 1);
	double total = est_predict_graph(m, c, &g, ops, pred, oor);
	double total2 = est_predict_graph(m, c, &g, NULL, pred2, NULL);   /* own scratch, no oor */
	double ref_total = 0;
	for (size_t i = 0; i < n; i++)
		est_op_from_graph(&g, i, &ops[i]);
	for (size_t i = 0; i < n; i++) {
		double f[EST_NX];
		est_features(c, i ? &ops[i - 1] : NULL, &ops[i], i + 1 < n ? &ops[i + 1] : NULL, f);
		const est_kind *k = est_model_find(m, ops[i].kind);
		int out = k == NULL;
		k = k ? k : &m->kinds[0];
		for (int j = 0; j < EST_NX; j++)
			out |= f[j] < k->lo[j] || f[j] > k->hi[j];
		double r = ref_eval(k, f);
		cr_assert(memcmp(&r, &pred[i], sizeof r) == 0 && memcmp(&r, &pred2[i], sizeof r) == 0,
		          "%s op %zu (%s): %.17g, reference %.17g", path, i, ops[i].kind, pred[i], r);
		cr_assert_eq(oor[i], out, "%s op %zu", path, i);
		ref_total += r;
	}
	cr_assert(memcmp(&ref_total, &total, sizeof total) == 0 && memcmp(&ref_total, &total2, sizeof total) == 0,
	          "%s: total %.17g, reference %.17g", path, total, ref_total);
	free(ops);
	free(pred);
	free(pred2);
	free(oor);
	free(oor2);
	graph_fini(&g);
}

Test(estimator, prediction_equals_the_reference_bit_for_bit)
{
	char *dir = tu_mkdtemp();
	char *model = make_model(dir, "trn1", "40");
	asim_err e;
	asim_err_init(&e);
	est_model m;
	chip c;
	cr_assert_eq(est_model_read(&m, model, &e), 0, "%s", e.msg);
	cr_assert_eq(chip_load(&c, "trn1", &e), 0, "%s", e.msg);
	for (size_t k = 0; k < m.n_kinds; k++)
		cr_assert(m.kinds[k].flat != NULL, "kind %s not flattened", m.kinds[k].name);
	/* the training candidates (NAS shapes, repeated blocks) and shipped graphs of every kind */
	for (int i = 0; i < 40; i += 3) {
		char name[64];
		snprintf(name, sizeof name, "train/cand_%05d.yaml", i);
		char *p = path_in(dir, name);
		ref_predict_matches(&m, &c, p);
		free(p);
	}
	static const char *const shipped[] = {"mobilenet_v2", "mobilenet_v2_fused", "resnet50", "bert_base_layer_s128",
	                                      "mlp_train_step"};
	for (size_t i = 0; i < sizeof shipped / sizeof shipped[0]; i++) {
		char rel[128];
		snprintf(rel, sizeof rel, "models/graphs/%s.yaml", shipped[i]);
		char *p = tu_srcpath(rel);
		ref_predict_matches(&m, &c, p);
		free(p);
	}
	est_model_fini(&m);
	chip_fini(&c);
	free(model);
	tu_rmtree(dir);
	free(dir);
}

/* Hand-made trees: uneven depths, a tree deeper than the flat layout takes (the kind then walks
 * its nodes), NaN and boundary features. */
Test(estimator, flat_trees_equal_the_node_walk)
{
	for (int deep = 0; deep < 2; deep++) {
		est_kind k;
		memset(&k, 0, sizeof k);
		k.coef[0] = -5;
		k.coef[EST_F_pe_ns] = 0.25;
		int depth = deep ? EST_FLAT_DEPTH_MAX + 1 : 3;
		/* tree 0: a left spine of `depth` splits on features 1.. with thresholds 1, 2, ...;
		 * tree 1: one leaf; tree 2: one split; trees 3..8: copies of tree 2 (a remainder of 1
		 * after the groups of four) */
		est_node nodes[64];
		uint32_t roots[9];
		int nn = 0;
		roots[0] = 0;
		for (int d = 0; d < depth; d++) {
			nodes[nn] = (est_node){1 + d % 5, nn + 2, nn + 1, 1.0 + d, 0};
			nodes[nn + 1] = (est_node){-1, -1, -1, 0, 100.0 * (d + 1)};
			nn += 2;
		}
		nodes[nn++] = (est_node){-1, -1, -1, 0, -7.5};
		roots[1] = (uint32_t)nn;
		nodes[nn++] = (est_node){-1, -1, -1, 0, 0.125};
		for (int t = 2; t < 9; t++) {
			roots[t] = (uint32_t)nn;
			nodes[nn] = (est_node){EST_NF + EST_R_c_out, nn + 1, nn + 2, 64.0 + t, 0};
			nodes[nn + 1] = (est_node){-1, -1, -1, 0, 1.0 / 3 * t};
			nodes[nn + 2] = (est_node){-1, -1, -1, 0, -0.1 * t};
			nn += 3;
		}
		k.nodes = nodes;
		k.roots = roots;
		k.n_nodes = (size_t)nn;
		k.n_trees = 9;
		est_kind_flatten(&k);
		cr_assert_eq(k.flat == NULL, deep, "depth %d", depth);
		static const double vals[] = {-1, 0, 0.5, 1, 1.5, 2, 3, 4, 5, 6, 7, 8, 64, 66, 67, 70, 1e300, NAN};
		int nv = (int)(sizeof vals / sizeof vals[0]);
		for (int a = 0; a < 500; a++) {
			double f[EST_NX];
			for (int j = 0; j < EST_NX; j++)
				f[j] = vals[(a * 7 + j * (a % 5 + 1)) % nv];
			f[0] = 1;
			double x = est_kind_eval(&k, f), r = ref_eval(&k, f);
			cr_assert(memcmp(&x, &r, sizeof x) == 0, "case %d: %.17g vs %.17g", a, x, r);
		}
		asim_free(k.flat);
		asim_free(k.flat_feat);
	}
}

/* ---- validation -------------------------------------------------------------------------- */

typedef struct vres {
	double est[3], lut[3], flops[3];    /* within_10, mape, tau */
	double tbl[6][3];                   /* the printed table: rows × (est, lut, flops) */
} vres;

static double kendall(const double *a, const double *b, int n)
{
	double nc = 0, nd = 0, ta = 0, tb = 0;
	for (int i = 0; i < n; i++)
		for (int j = i + 1; j < n; j++) {
			double x = a[i] - a[j], y = b[i] - b[j];
			if (x == 0 && y == 0)
				continue;
			if (x == 0)
				ta++;
			else if (y == 0)
				tb++;
			else if (x * y > 0)
				nc++;
			else
				nd++;
		}
	return (nc - nd) / sqrt((nc + nd + ta) * (nc + nd + tb));
}

static void validate(const char *chipname, vres *v)
{
	char *dir = tu_mkdtemp();
	char *model = make_model(dir, chipname, N_TRAIN);
	char *space = tu_srcpath("models/nas/mobilenetv2_space.yaml");
	char *val = path_in(dir, "val"), *res = path_in(dir, "results.csv");
	run_ok((const char *const[]){"accelsim", "nas", "sample", space, "-n", N_VAL, "-o", val, "--seed", "12", NULL});
	tu_result r;
	cr_assert_eq(tu_run(&r, (const char *const[]){"accelsim", "estimator", "validate", "--model", model, "--population",
	                                              val, "-o", res, NULL}), 0);
	cr_assert_eq(r.status, 0, "%s", r.err);
	const char *names[6] = {"within_5_pct", "within_10_pct", "mape_pct", "rmspe_pct", "kendall_tau", "spearman_rho"};
	for (int k = 0; k < 6; k++) {
		const char *at = strstr(r.out, names[k]);
		cr_assert(at, "no %s in %s", names[k], r.out);
		cr_assert_eq(sscanf(at + strlen(names[k]), "%lf %lf %lf", &v->tbl[k][0], &v->tbl[k][1], &v->tbl[k][2]), 3);
	}
	printf("%s (%s train, %s validation):\n%s", chipname, N_TRAIN, N_VAL, r.out);
	tu_result_free(&r);
	/* recompute from the per-graph CSV */
	char *csv = tu_read_file(res, NULL);
	cr_assert(csv);
	int n = 0;
	double sim[1000], p[3][1000];
	char *save = NULL;
	for (char *line = strtok_r(csv, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "file,", 5) == 0)
			continue;
		double f[11];
		char *c = line;
		for (int k = 0; k < 11; k++) {
			f[k] = k >= 2 ? strtod(c, NULL) : 0;
			c = strchr(c, ',');
			if (c)
				c++;
			else
				break;
		}
		cr_assert(n < 1000);
		sim[n] = f[4];
		p[0][n] = f[5];
		p[1][n] = f[7];
		p[2][n] = f[9];
		n++;
	}
	cr_assert_eq(n, atoi(N_VAL));
	double *out[3] = {v->est, v->lut, v->flops};
	for (int k = 0; k < 3; k++) {
		double w10 = 0, ape = 0;
		for (int i = 0; i < n; i++) {
			double rel = (p[k][i] - sim[i]) / sim[i];
			w10 += fabs(rel) <= 0.10 + 1e-9;
			ape += fabs(rel);
		}
		out[k][0] = 100 * w10 / n;
		out[k][1] = 100 * ape / n;
		out[k][2] = kendall(sim, p[k], n);
		/* the printed table agrees with the reference computation (CSV rounding allowed) */
		cr_assert(fabs(out[k][0] - v->tbl[1][k]) <= 100.0 / n + 1e-9, "within_10 %f vs %f", out[k][0], v->tbl[1][k]);
		cr_assert(fabs(out[k][1] - v->tbl[2][k]) < 0.01, "mape %f vs %f", out[k][1], v->tbl[2][k]);
		cr_assert(fabs(out[k][2] - v->tbl[4][k]) < 2e-3, "tau %f vs %f", out[k][2], v->tbl[4][k]);
	}
	free(csv);
	free(space);
	free(val);
	free(res);
	free(model);
	tu_rmtree(dir);
	free(dir);
}

static void check_bars(const vres *v, int beat_lut)
{
	/* issue #8: >= 97 % within +-10 %, tau >= 0.9 */
	cr_assert_geq(v->est[0], 97.0);
	cr_assert_geq(v->est[2], 0.9);
	/* better than a baseline on every metric; a tie only at 100 % within a band */
	for (int b = 1; b <= 2; b++) {
		if (b == 1 && !beat_lut)
			continue;
		cr_assert(v->tbl[0][0] > v->tbl[0][b] || v->tbl[0][0] == 100.0, "within 5 %%: %f vs %f", v->tbl[0][0], v->tbl[0][b]);
		cr_assert(v->tbl[1][0] > v->tbl[1][b] || v->tbl[1][0] == 100.0, "within 10 %%: %f vs %f", v->tbl[1][0], v->tbl[1][b]);
		cr_assert_lt(v->tbl[2][0], v->tbl[2][b]);
		cr_assert_lt(v->tbl[3][0], v->tbl[3][b]);
		cr_assert_gt(v->tbl[4][0], v->tbl[4][b]);
		cr_assert_gt(v->tbl[5][0], v->tbl[5][b]);
	}
}

Test(estimator_validation, trn1_unseen_candidates)
{
	vres v;
	validate("trn1", &v);
	check_bars(&v, 1);
}

Test(estimator_validation, edge_npu_unseen_candidates)
{
	vres v;
	validate("edge-npu", &v);
	/* edge-npu: the lookup table of isolated ops is within 0.7 % there (its ops hardly overlap);
	 * the estimator beats it only since the convolutions' busy times as lowered are features
	 * (est_lowered): asserted on every metric, as on trn1 */
	check_bars(&v, 1);
}

/* ---- the same data in pandas and scikit-learn (docs/examples/fit_sklearn.py) -------------- */

Test(estimator, sklearn_example_fits_the_same_data)
{
	/* the first python3 with both packages: the one on PATH (through env: the test runner
	 * execs without a PATH search), else Debian's (a pyenv or venv python3 may lack them) */
	static const char *const pys[2][2] = {{"/usr/bin/env", "python3"}, {"/usr/bin/python3", NULL}};
	int py = -1;
	tu_result r;
	for (int i = 0; i < 2 && py < 0; i++) {
		const char *argv[] = {pys[i][0], pys[i][1] ? pys[i][1] : "-c", pys[i][1] ? "-c" : "import pandas, sklearn",
		                      pys[i][1] ? "import pandas, sklearn" : NULL, NULL};
		if (tu_run(&r, argv) == 0) {
			if (r.status == 0)
				py = i;
			tu_result_free(&r);
		}
	}
	if (py < 0)
		cr_skip_test("python3 with pandas and scikit-learn not installed (Debian: python3-pandas "
		             "python3-sklearn, in .ci/deps): docs/examples/fit_sklearn.py not run");
	char *dir = tu_mkdtemp();
	char *model = make_model(dir, "trn1", "60");
	char *data = path_in(dir, "data.csv.gz"), *script = tu_srcpath("docs/examples/fit_sklearn.py");
	const char *argv[] = {pys[py][0], pys[py][1] ? pys[py][1] : script, pys[py][1] ? script : data,
	                      pys[py][1] ? data : NULL, NULL};
	cr_assert_eq(tu_run(&r, argv), 0);
	cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
	cr_assert(strstr(r.out, "held-out graphs: MAPE"), "%s", r.out);
	tu_result_free(&r);
	free(model);
	free(data);
	free(script);
	tu_rmtree(dir);
	free(dir);
}

/* `accelsim run --ops` rows and `accelsim estimator dataset` rows are the same training data: the
 * fits on either are byte-identical models. */
Test(estimator, run_ops_rows_fit_the_same_model)
{
	char *dir = tu_mkdtemp();
	char *space = tu_srcpath("models/nas/mobilenetv2_space.yaml");
	char *cands = path_in(dir, "c"), *ds = path_in(dir, "ds.csv"), *m1 = path_in(dir, "m1"), *m2 = path_in(dir, "m2");
	run_ok((const char *const[]){"accelsim", "nas", "sample", space, "-n", "3", "-o", cands, "--seed", "4", NULL});
	char *g[3], *ops[3];
	for (int i = 0; i < 3; i++) {
		char name[64];
		snprintf(name, sizeof name, "c/cand_%05d.yaml", i);
		g[i] = path_in(dir, name);
		snprintf(name, sizeof name, "ops%d.csv.gz", i);
		ops[i] = path_in(dir, name);
		run_ok((const char *const[]){"accelsim", "run", g[i], "--chip", "edge-npu", "--ops", ops[i], NULL});
	}
	run_ok((const char *const[]){"accelsim", "estimator", "dataset", g[0], g[1], g[2], "--chip", "edge-npu", "-o", ds, NULL});
	run_ok((const char *const[]){"accelsim", "estimator", "fit", ds, "-o", m1, NULL});
	run_ok((const char *const[]){"accelsim", "estimator", "fit", ops[0], ops[1], ops[2], "-o", m2, NULL});
	size_t l1, l2;
	char *a = tu_read_file(m1, &l1), *b = tu_read_file(m2, &l2);
	cr_assert(a && b && l1 == l2 && memcmp(a, b, l1) == 0, "models from --ops rows and dataset rows differ");
	cr_assert(strstr(a, "chip edge-npu "));
	free(a);
	free(b);
	for (int i = 0; i < 3; i++) {
		free(g[i]);
		free(ops[i]);
	}
	free(space);
	free(cands);
	free(ds);
	free(m1);
	free(m2);
	tu_rmtree(dir);
	free(dir);
}
