/*
 * test_nas.c -- NAS search spaces and `accelsim nas sample` (sim/nas.h, docs/estimators.md).
 *
 * References are derived here, not read from the sampler:
 *   - a space whose every list has one choice, the MobileNetV2 table of Sandler et al. 2018, must
 *     build the network of models/graphs/mobilenet_v2.yaml (written by gen_graphs.py, a separate
 *     implementation): same ops, same per-op MACs and tensor shapes, same totals; the same with the
 *     first five expanding blocks fused against mobilenet_v2_fused.yaml;
 *   - a tiny space whose MACs and parameters are counted by hand below fixes the constraint
 *     thresholds, so the accepted set is known without running the sampler;
 *   - marginal frequencies are checked against binomial bounds computed here;
 *   - index.csv is checked against the files it describes, read back through the graph loader
 *     and against the graph's own structure (op names, weight shapes).
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sim/alloc.h"
#include "sim/graph.h"
#include "sim/nas.h"
#include "tests/testutil.h"

/* ---- helpers -------------------------------------------------------------------------------- */

static void load_spec(nas_spec *s, const char *text)
{
	asim_err e;
	asim_err_init(&e);
	int rc = nas_spec_load_buffer(s, "t.yaml", text, strlen(text), &e);
	cr_assert_eq(rc, 0, "%s", e.msg);
}

static void load_text(graph *g, const nas_candidate *c)
{
	asim_err e;
	asim_err_init(&e);
	int rc = graph_load_buffer(g, "cand.yaml", c->text, c->len, &e);
	cr_assert_eq(rc, 0, "%s", e.msg);
}

static const graph_op *find_op(const graph *g, const char *name)
{
	for (size_t i = 0; i < g->n_ops; i++)
		if (strcmp(g->ops[i].name, name) == 0)
			return &g->ops[i];
	return NULL;
}

static const graph_tensor *find_tensor(const graph *g, const char *name)
{
	int64_t i = graph_find_tensor(g, name);
	return i < 0 ? NULL : &g->tensors[i];
}

static char *write_spec(const char *dir, const char *name, const char *text)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = malloc(n);
	snprintf(p, n, "%s/%s", dir, name);
	cr_assert_eq(tu_write_file(p, text, strlen(text)), 0);
	return p;
}

static char *join(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = malloc(n);
	snprintf(p, n, "%s/%s", dir, name);
	return p;
}

static tu_result sample(const char *spec, const char *n, const char *out, const char *seed)
{
	const char *argv[] = {"accelsim", "nas", "sample", spec, "-n", n, "-o", out, "--seed", seed, NULL};
	tu_result r;
	cr_assert_eq(tu_run(&r, argv), 0);
	return r;
}

static size_t count_entries(const char *dir)
{
	DIR *dp = opendir(dir);
	if (dp == NULL)
		return 0;
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(dp)) != NULL)
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(dp);
	return n;
}

/* ---- the MobileNetV2 base ------------------------------------------------------------------ */

/* Sandler et al. 2018, Table 2: t, c, n, s per stage; every list one choice. */
static const char mnv2_base[] =
	"nas: 1\n"
	"name: mnv2_base\n"
	"batch: [1]\n"
	"resolution: [224]\n"
	"stem: {channels: [32], kernel: 3, stride: 2}\n"
	"stages:\n"
	"  - {expansion: [1], kernel: [3], channels: [16],  depth: [1], stride: 1, block: [%s]}\n"
	"  - {expansion: [6], kernel: [3], channels: [24],  depth: [2], stride: 2, block: [%s]}\n"
	"  - {expansion: [6], kernel: [3], channels: [32],  depth: [3], stride: 2, block: [%s]}\n"
	"  - {expansion: [6], kernel: [3], channels: [64],  depth: [4], stride: 2, block: [mbconv]}\n"
	"  - {expansion: [6], kernel: [3], channels: [96],  depth: [3], stride: 1, block: [mbconv]}\n"
	"  - {expansion: [6], kernel: [3], channels: [160], depth: [3], stride: 2, block: [mbconv]}\n"
	"  - {expansion: [6], kernel: [3], channels: [320], depth: [1], stride: 1, block: [mbconv]}\n"
	"head: {channels: [1280], classes: 1000}\n";

/* The candidate must be the shipped graph op for op: same names, types, MACs, output shapes. */
static void check_same_network(const char *stage_blocks[3], const char *shipped, uint64_t macs,
                               uint64_t params)
{
	char text[4096];
	snprintf(text, sizeof text, mnv2_base, stage_blocks[0], stage_blocks[1], stage_blocks[2]);
	nas_spec s;
	load_spec(&s, text);
	nas_candidate c;
	asim_err e;
	asim_err_init(&e);
	cr_assert_eq(nas_sample(&s, 12345, 0, &c, &e), 0, "%s", e.msg);
	graph cand, ref;
	load_text(&cand, &c);
	char *path = tu_srcpath(shipped);
	cr_assert_eq(graph_load_file(&ref, path, &e), 0, "%s", e.msg);

	cr_expect_eq(ref.total_macs, macs, "the shipped graph is the published one (docs/graph-format.md)");
	cr_expect_eq(ref.param_count, params);
	cr_expect_eq(cand.total_macs, ref.total_macs, "MACs %lu vs %lu", (unsigned long)cand.total_macs,
	             (unsigned long)ref.total_macs);
	cr_expect_eq(cand.param_count, ref.param_count, "params %lu vs %lu", (unsigned long)cand.param_count,
	             (unsigned long)ref.param_count);
	cr_expect_eq(c.macs, ref.total_macs);
	cr_expect_eq(c.params, ref.param_count);
	cr_expect_eq(cand.n_ops, ref.n_ops);
	for (size_t i = 0; i < ref.n_ops; i++) {
		const graph_op *o = &ref.ops[i], *q = find_op(&cand, o->name);
		cr_expect_not_null(q, "op %s missing from the candidate", o->name);
		if (q == NULL)
			continue;
		cr_expect_eq(q->type, o->type, "%s", o->name);
		cr_expect_eq(q->macs, o->macs, "%s", o->name);
		cr_expect_eq(q->a.groups, o->a.groups, "%s", o->name);
		cr_expect_eq(q->a.activation, o->a.activation, "%s", o->name);
		const graph_tensor *ty = &cand.tensors[q->out[0]], *ry = &ref.tensors[o->out[0]];
		cr_expect_eq(ty->rank, ry->rank);
		cr_expect_eq(memcmp(ty->shape, ry->shape, sizeof ty->shape), 0, "%s: output shape", o->name);
	}
	/* fusion groups: stem, one per block (17), head; every op in one */
	cr_expect_eq(cand.n_groups, 19);
	for (size_t i = 0; i < cand.n_ops; i++)
		cr_expect_geq(cand.ops[i].group, 0, "op %s has no fusion group", cand.ops[i].name);
	graph_fini(&cand);
	graph_fini(&ref);
	free(path);
	nas_candidate_fini(&c);
	nas_spec_fini(&s);
}

Test(nas, fixed_space_builds_mobilenet_v2)
{
	const char *blocks[3] = {"mbconv", "mbconv", "mbconv"};
	/* 300,774,272 MACs and 3,487,816 parameters: docs/graph-format.md, checked there by hand */
	check_same_network(blocks, "models/graphs/mobilenet_v2.yaml", 300774272, 3487816);
}

Test(nas, fixed_space_with_fused_stages_builds_mobilenet_v2_fused)
{
	/* expanding blocks 1-5 = stages 2 and 3 (2 + 3 blocks) fused, as gen_graphs.py --fused-blocks 5 */
	const char *blocks[3] = {"mbconv", "fused", "fused"};
	check_same_network(blocks, "models/graphs/mobilenet_v2_fused.yaml", 491681408, 3646024);
}

/* ---- a tiny space counted by hand ---------------------------------------------------------- */

/*
 * stem 3x3/2 to 8 channels, one t=1 MBConv block (3x3 depthwise + 1x1 project, 8 → 8, residual),
 * conv_last 1x1 to 16, fc to 10 classes; input R x R, so every feature map is (R/2)^2:
 *   MACs   = (8·3·9 + 8·9 + 8·8 + 16·8)·(R/2)^2 + 16·10 = 480·(R/2)^2 + 160
 *            R = 32: 123,040   R = 64: 491,680   R = 96: 1,106,080
 *   params = (8·27 + 8) + (8·9 + 8) + (8·8 + 8) + (16·8 + 16) + (16·10 + 10) = 690
 */
static const char tiny_fmt[] =
	"nas: 1\n"
	"name: tiny\n"
	"batch: [1]\n"
	"resolution: [32, 64, 96]\n"
	"stem: {channels: [8]}\n"
	"stages:\n"
	"  - {expansion: [1], kernel: [3], channels: [8], depth: [1], stride: 1, block: [mbconv]}\n"
	"head: {channels: [16], classes: 10}\n"
	"%s";

static uint64_t tiny_macs(uint64_t r) { return 480 * (r / 2) * (r / 2) + 160; }

Test(nas, tiny_space_counts_match_hand_counts)
{
	char text[1024];
	snprintf(text, sizeof text, tiny_fmt, "");
	nas_spec s;
	load_spec(&s, text);
	int seen[3] = {0, 0, 0};
	for (uint64_t i = 0; i < 60; i++) {
		nas_candidate c;
		asim_err e;
		asim_err_init(&e);
		cr_assert_eq(nas_sample(&s, 3, i, &c, &e), 0, "%s", e.msg);
		uint32_t r = c.arch.resolution;
		cr_assert(r == 32 || r == 64 || r == 96);
		seen[r / 32 - 1] = 1;
		cr_expect_eq(c.macs, tiny_macs(r), "R = %u", r);
		cr_expect_eq(c.params, 690);
		cr_expect_eq(c.attempt, 0, "no constraints: the first draw is taken");
		nas_candidate_fini(&c);
	}
	cr_expect(seen[0] && seen[1] && seen[2], "60 draws of 3 choices see them all");
	nas_spec_fini(&s);
}

/* z for the binomial bounds: two-sided 5e-6 per check, so ~100 checks in this file stay below
 * 1e-3 family-wise if the sampler is right (the draws are deterministic, so no flakiness). */
#define Z 4.56

static void expect_binomial(uint64_t count, uint64_t trials, double p, const char *what)
{
	double mean = trials * p, sd = sqrt(trials * p * (1 - p));
	cr_expect(fabs((double)count - mean) <= Z * sd, "%s: %lu of %lu, expected %.1f ± %.1f", what,
	          (unsigned long)count, (unsigned long)trials, mean, Z * sd);
}

Test(nas, constraints_are_honoured_and_keep_the_draw_uniform)
{
	/* max 500,000 MACs admits R = 32 and 64 only; each then has probability 1/2 */
	char text[1024];
	snprintf(text, sizeof text, tiny_fmt, "constraints: {max_macs: 500000}\n");
	nas_spec s;
	load_spec(&s, text);
	const uint64_t N = 2000;
	uint64_t n32 = 0, n64 = 0, redraws = 0;
	for (uint64_t i = 0; i < N; i++) {
		nas_candidate c;
		asim_err e;
		asim_err_init(&e);
		cr_assert_eq(nas_sample(&s, 99, i, &c, &e), 0, "%s", e.msg);
		cr_expect_leq(c.macs, 500000);
		n32 += c.arch.resolution == 32;
		n64 += c.arch.resolution == 64;
		cr_expect_neq(c.arch.resolution, 96);
		redraws += c.attempt;
		nas_candidate_fini(&c);
	}
	cr_expect_eq(n32 + n64, N);
	expect_binomial(n32, N, 0.5, "R = 32 under max_macs");
	/* each draw is rejected with probability 1/3: redraws are geometric, mean N·(1/3)/(2/3) = N/2,
	 * variance N·(1/3)/(2/3)^2 = 3N/4 */
	cr_expect(fabs((double)redraws - N / 2.0) <= Z * sqrt(3.0 * N / 4), "redraws %lu", (unsigned long)redraws);
	nas_spec_fini(&s);

	/* a band that only R = 64 fits; and min/max on parameters that every candidate meets */
	snprintf(text, sizeof text, tiny_fmt,
	         "constraints: {min_macs: 200000, max_macs: 500000, min_params: 690, max_params: 690}\n");
	load_spec(&s, text);
	for (uint64_t i = 0; i < 50; i++) {
		nas_candidate c;
		asim_err e;
		asim_err_init(&e);
		cr_assert_eq(nas_sample(&s, 5, i, &c, &e), 0, "%s", e.msg);
		cr_expect_eq(c.arch.resolution, 64);
		nas_candidate_fini(&c);
	}
	nas_spec_fini(&s);
}

Test(nas, empty_space_is_a_positioned_error)
{
	char text[1024];
	snprintf(text, sizeof text, tiny_fmt, "constraints: {max_params: 689}\nmax_attempts: 50\n");
	nas_spec s;
	load_spec(&s, text);
	nas_candidate c;
	asim_err e;
	asim_err_init(&e);
	int rc = nas_sample(&s, 1, 0, &c, &e);
	cr_expect_eq(rc, ASIM_ERANGE);
	cr_expect_eq(asim_exit_status(rc), 2);
	cr_expect_eq(strncmp(e.msg, "t.yaml:9:14: ", 13), 0, "%s", e.msg);
	cr_expect_not_null(strstr(e.msg, "50 above max_params"), "%s", e.msg);
	cr_expect_not_null(strstr(e.msg, "none of 50 attempts"), "%s", e.msg);
	nas_spec_fini(&s);
}

/* ---- marginal frequencies ------------------------------------------------------------------ */

static const char freq_spec[] =
	"nas: 1\n"
	"name: freq\n"
	"batch: [1, 2]\n"
	"resolution: [32, 40, 48]\n"
	"depth_multiplier: [1, 1.5]\n"
	"stem: {channels: [8, 13]}\n"
	"stages:\n"
	"  - {expansion: [1, 3, 4, 6], kernel: [3, 5, 7], channels: [8, 16, 21], depth: [1, 2, 3], stride: 2, "
	"block: [mbconv, fused]}\n"
	"  - {expansion: [3, 6], kernel: [3, 5], channels: [24, 128, 131, 136], depth: [2, 4], stride: 1, "
	"block: [mbconv, fused]}\n"
	"head: {channels: [32, 64, 96], classes: 10}\n";

static uint64_t index_of(const nas_choices *l, uint32_t v)
{
	for (uint32_t i = 0; i < l->n; i++)
		if (l->v[i] == v)
			return i;
	cr_assert_fail("value %u is not a choice", v);
	return 0;
}

Test(nas, marginal_frequencies_are_uniform)
{
	nas_spec s;
	load_spec(&s, freq_spec);
	const uint64_t N = 2000;
	uint64_t batch[2] = {0}, res[3] = {0}, mult[2] = {0}, stem[2] = {0}, head[3] = {0};
	uint64_t depth[2][4] = {{0}}, chan[2][4] = {{0}}, exp_[2][4] = {{0}}, ker[2][3] = {{0}},
		 type[2][2] = {{0}}, nblocks[2] = {0};
	for (uint64_t i = 0; i < N; i++) {
		nas_candidate c;
		asim_err e;
		asim_err_init(&e);
		cr_assert_eq(nas_sample(&s, 2024, i, &c, &e), 0, "%s", e.msg);
		const nas_arch *a = &c.arch;
		batch[index_of(&s.batch, a->batch)]++;
		res[index_of(&s.resolution, a->resolution)]++;
		mult[a->mult_idx]++;
		stem[index_of(&s.stem_channels, a->stem)]++;
		head[index_of(&s.head_channels, a->head)]++;
		for (int k = 0; k < 2; k++) {
			const nas_stage *st = &s.stages[k];
			depth[k][index_of(&st->depth, a->depth[k])]++;
			chan[k][index_of(&st->channels, a->channels[k])]++;
			/* ⌈d · m⌉, computed here */
			uint32_t want = a->mult_idx == 0 ? a->depth[k] : (a->depth[k] * 3 + 1) / 2;
			cr_expect_eq(a->blocks[k], want, "stage %d: depth %u", k + 1, a->depth[k]);
			for (uint32_t b = 0; b < a->blocks[k]; b++) {
				exp_[k][index_of(&st->expansion, a->block[k][b].expansion)]++;
				ker[k][index_of(&st->kernel, a->block[k][b].kernel)]++;
				type[k][a->block[k][b].type]++;
				nblocks[k]++;
			}
		}
		nas_candidate_fini(&c);
	}
	char what[64];
#define CHECK(arr, n, trials, label) \
	for (int j_ = 0; j_ < (n); j_++) { snprintf(what, sizeof what, "%s choice %d", label, j_); \
	                                    expect_binomial((arr)[j_], (trials), 1.0 / (n), what); }
	CHECK(batch, 2, N, "batch");
	CHECK(res, 3, N, "resolution");
	CHECK(mult, 2, N, "depth multiplier");
	CHECK(stem, 2, N, "stem");
	CHECK(head, 3, N, "head");
	for (int k = 0; k < 2; k++) {
		const nas_stage *st = &s.stages[k];
		CHECK(depth[k], (int)st->depth.n, N, "depth");
		CHECK(chan[k], (int)st->channels.n, N, "channels");
		/* per block: given the depths, every built block draws independently */
		CHECK(exp_[k], (int)st->expansion.n, nblocks[k], "expansion");
		CHECK(ker[k], (int)st->kernel.n, nblocks[k], "kernel");
		CHECK(type[k], 2, nblocks[k], "block type");
	}
#undef CHECK
	nas_spec_fini(&s);
}

Test(nas, uniform_draw_is_exact_over_a_small_range)
{
	/* nas_uniform over n = 3 for 30,000 counters: each value 1/3 (and never out of range) */
	uint64_t cnt[3] = {0};
	for (uint32_t slot = 0; slot < 30000; slot++) {
		uint32_t v = nas_uniform(7, 1, 0, slot, 3);
		cr_assert_lt(v, 3);
		cnt[v]++;
	}
	for (int i = 0; i < 3; i++)
		expect_binomial(cnt[i], 30000, 1.0 / 3, "nas_uniform");
	cr_expect_eq(nas_uniform(7, 1, 0, 5, 1), 0);
}

/* ---- the command: files, index, determinism --------------------------------------------------- */

static char *read_in(const char *dir, const char *name, size_t *len)
{
	char *p = join(dir, name);
	char *t = tu_read_file(p, len);
	free(p);
	return t;
}

/* Split a CSV line (no quoting: the index never needs it) into fields; returns the count. */
static size_t split(char *line, char **f, size_t max)
{
	size_t n = 0;
	for (char *p = line; n < max;) {
		f[n++] = p;
		char *c = strchr(p, ',');
		if (c == NULL)
			break;
		*c = '\0';
		p = c + 1;
	}
	return n;
}

static long col(char **hdr, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(hdr[i], name) == 0)
			return (long)i;
	cr_assert_fail("index.csv has no column %s", name);
	return -1;
}

/* Check one index row against its file, loaded through graph_load_file. */
static void check_row(const char *dir, char **h, size_t nh, char **f, size_t nf, size_t n_stages)
{
	cr_assert_eq(nf, nh, "row of %zu fields under a header of %zu", nf, nh);
	char *path = join(dir, f[col(h, nh, "file")]);
	graph g;
	asim_err e;
	asim_err_init(&e);
	cr_assert_eq(graph_load_file(&g, path, &e), 0, "%s", e.msg);
	cr_expect_str_eq(f[col(h, nh, "hash")], g.hash);
	cr_expect_eq(strtoull(f[col(h, nh, "macs")], NULL, 10), g.total_macs);
	cr_expect_eq(strtoull(f[col(h, nh, "params")], NULL, 10), g.param_count);
	cr_expect_eq(strtoull(f[col(h, nh, "ops")], NULL, 10), g.n_ops);
	const graph_tensor *img = find_tensor(&g, "image");
	cr_assert_not_null(img);
	cr_expect_eq(img->shape[0], strtoull(f[col(h, nh, "batch")], NULL, 10));
	cr_expect_eq(img->shape[2], strtoull(f[col(h, nh, "resolution")], NULL, 10));
	cr_expect_eq(find_tensor(&g, "conv0.w")->shape[0], strtoull(f[col(h, nh, "stem_channels")], NULL, 10));
	cr_expect_eq(find_tensor(&g, "conv_last.w")->shape[0],
	             strtoull(f[col(h, nh, "head_channels")], NULL, 10));
	/* the architecture code, block by block, against the graph's ops and weights */
	char *arch = strdup(f[col(h, nh, "arch")]);
	uint64_t blk = 0, cin = find_tensor(&g, "conv0.w")->shape[0];
	size_t stage = 0;
	for (char *sp, *st = strtok_r(arch, "/", &sp); st; st = strtok_r(NULL, "/", &sp), stage++) {
		uint64_t chans = strtoull(st, NULL, 10), in_stage = 0;
		char key[32];
		snprintf(key, sizeof key, "s%zu_channels", stage + 1);
		cr_expect_eq(chans, strtoull(f[col(h, nh, key)], NULL, 10));
		char *bl = strchr(st, ':') + 1;
		for (char *bp, *b = strtok_r(bl, "+", &bp); b; b = strtok_r(NULL, "+", &bp)) {
			char kind;
			unsigned t, k;
			cr_assert_eq(sscanf(b, "%c%uk%u", &kind, &t, &k), 3, "block code %s", b);
			blk++;
			in_stage++;
			char nm[64];
			const graph_tensor *w;
			if (kind == 'F') {
				snprintf(nm, sizeof nm, "b%lu.fused.w", (unsigned long)blk);
				cr_assert_not_null(w = find_tensor(&g, nm), "%s", nm);
				cr_expect_eq(w->shape[0], t == 1 ? chans : cin * t, "%s", nm);
				cr_expect_eq(w->shape[1], cin);
			} else {
				snprintf(nm, sizeof nm, "b%lu.expand.w", (unsigned long)blk);
				cr_expect_eq(find_tensor(&g, nm) != NULL, t != 1, "%s", nm);
				snprintf(nm, sizeof nm, "b%lu.dw.w", (unsigned long)blk);
				cr_assert_not_null(w = find_tensor(&g, nm), "%s", nm);
				cr_expect_eq(w->shape[0], cin * t, "%s", nm);
				cr_expect_eq(w->shape[1], 1, "%s: depthwise", nm);
			}
			cr_expect_eq(w->shape[2], k, "%s", nm);
			cr_expect_eq(w->shape[3], k, "%s", nm);
			cin = chans;
		}
		snprintf(key, sizeof key, "s%zu_blocks", stage + 1);
		cr_expect_eq(in_stage, strtoull(f[col(h, nh, key)], NULL, 10));
	}
	cr_expect_eq(stage, n_stages);
	cr_expect_eq(blk, strtoull(f[col(h, nh, "blocks")], NULL, 10));
	cr_expect_eq(g.n_groups, blk + 2, "stem, one group per block, head");
	/* the description records the choices */
	char *text = tu_read_file(path, NULL);
	cr_expect_not_null(strstr(text, f[col(h, nh, "arch")]), "the description holds the arch code");
	free(text);
	free(arch);
	graph_fini(&g);
	free(path);
}

Test(nas, cli_writes_loadable_candidates_and_a_matching_index)
{
	char *tmp = tu_mkdtemp();
	char *spec = tu_srcpath("models/nas/mobilenetv2_space.yaml");
	char *out = join(tmp, "cands");
	tu_result r = sample(spec, "12", out, "42");
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_expect_eq(r.errlen, 0, "%s", r.err);
	cr_expect_eq(count_entries(out), 13, "12 candidates and the index, nothing else");
	cr_expect_eq(count_entries(tmp), 1, "no temporary directory left beside the output");
	char *idx = read_in(out, "index.csv", NULL);
	cr_assert_not_null(idx);
	char *save, *line = strtok_r(idx, "\n", &save);
	char *h[128], *f[128];
	size_t nh = split(line, h, 128);
	cr_expect_eq(nh, 8 + 3 * 7 + 6, "fixed columns + 3 per stage");
	size_t rows = 0;
	while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
		size_t nf = split(line, f, 128);
		char want[32];
		snprintf(want, sizeof want, "cand_%05zu.yaml", rows);
		cr_expect_str_eq(f[0], want);
		check_row(out, h, nh, f, nf, 7);
		/* the shipped space's constraints */
		cr_expect_leq(strtoull(f[col(h, nh, "macs")], NULL, 10), 800000000);
		cr_expect_leq(strtoull(f[col(h, nh, "params")], NULL, 10), 8000000);
		rows++;
	}
	cr_expect_eq(rows, 12);
	free(idx);
	tu_result_free(&r);
	tu_rmtree(tmp);
	free(tmp);
	free(out);
	free(spec);
}

Test(nas, runnable_by_accelsim_run)
{
	char *tmp = tu_mkdtemp();
	char *spec = tu_srcpath("models/nas/mobilenetv2_space.yaml");
	char *out = join(tmp, "c");
	tu_result r = sample(spec, "1", out, "3");
	cr_assert_eq(r.status, 0, "%s", r.err);
	tu_result_free(&r);
	char *cand = join(out, "cand_00000.yaml");
	const char *argv[] = {"accelsim", "run", cand, NULL};
	cr_assert_eq(tu_run(&r, argv), 0);
	cr_expect_eq(r.status, 0, "%s", r.err);
	cr_expect_not_null(strstr(r.out, "latency"), "%s", r.out);
	tu_result_free(&r);
	free(cand);
	tu_rmtree(tmp);
	free(tmp);
	free(out);
	free(spec);
}

static int same_file(const char *a, const char *b, const char *name)
{
	size_t la, lb;
	char *x = read_in(a, name, &la), *y = read_in(b, name, &lb);
	int same = x && y && la == lb && memcmp(x, y, la) == 0;
	free(x);
	free(y);
	return same;
}

/* The graph hashes of the index (column `hash`), joined. */
static char *hashes(const char *dir)
{
	char *idx = read_in(dir, "index.csv", NULL);
	cr_assert_not_null(idx);
	char *res = calloc(1, strlen(idx) + 1), *save;
	for (char *l = strtok_r(idx, "\n", &save); (l = strtok_r(NULL, "\n", &save)) != NULL;) {
		strcat(res, strrchr(l, ',') + 1);
		strcat(res, " ");
	}
	free(idx);
	return res;
}

Test(nas, same_seed_same_bytes_other_seed_other_candidates)
{
	char *tmp = tu_mkdtemp();
	char *spec = tu_srcpath("models/nas/mobilenetv2_space.yaml");
	char *a = join(tmp, "a"), *b = join(tmp, "b"), *c = join(tmp, "c"), *d = join(tmp, "d");
	/* b is an existing empty directory: accepted */
	char *mk = join(tmp, "b");
	cr_assert_eq(mkdir(mk, 0755), 0);
	free(mk);
	tu_result r;
	r = sample(spec, "8", a, "77"); cr_assert_eq(r.status, 0, "%s", r.err); tu_result_free(&r);
	r = sample(spec, "8", b, "77"); cr_assert_eq(r.status, 0, "%s", r.err); tu_result_free(&r);
	r = sample(spec, "8", c, "78"); cr_assert_eq(r.status, 0, "%s", r.err); tu_result_free(&r);
	r = sample(spec, "3", d, "77"); cr_assert_eq(r.status, 0, "%s", r.err); tu_result_free(&r);
	cr_expect(same_file(a, b, "index.csv"));
	int differ = 0;
	for (int i = 0; i < 8; i++) {
		char name[32];
		snprintf(name, sizeof name, "cand_%05d.yaml", i);
		cr_expect(same_file(a, b, name), "%s differs under the same seed", name);
		if (i < 3)
			cr_expect(same_file(a, d, name), "%s depends on N", name);
	}
	char *ha = hashes(a), *hc = hashes(c);
	/* different seeds: different graphs (content hashes, not just the seed in the comments) */
	char *sa, *sc;
	char *x = strtok_r(ha, " ", &sa), *y = strtok_r(hc, " ", &sc);
	for (; x && y; x = strtok_r(NULL, " ", &sa), y = strtok_r(NULL, " ", &sc))
		differ += strcmp(x, y) != 0;
	cr_expect_geq(differ, 7, "only %d of 8 candidates differ between seeds", differ);
	free(ha);
	free(hc);
	tu_rmtree(tmp);
	free(tmp);
	free(a);
	free(b);
	free(c);
	free(d);
	free(spec);
}

Test(nas, output_directory_rules_and_usage_errors)
{
	char *tmp = tu_mkdtemp();
	char *spec = tu_srcpath("models/nas/mobilenetv2_space.yaml");
	char *full = join(tmp, "full");
	cr_assert_eq(mkdir(full, 0755), 0);
	char *keep = write_spec(full, "keep.txt", "x");
	tu_result r = sample(spec, "2", full, "1");
	cr_expect_eq(r.status, 2);
	cr_expect_eq(tu_count_lines(r.err), 1, "%s", r.err);
	cr_expect_not_null(strstr(r.err, "not empty"), "%s", r.err);
	cr_expect_eq(count_entries(full), 1, "the non-empty directory is untouched");
	tu_result_free(&r);
	/* a missing parent is the user's to fix: exit 2, one line saying so */
	char *orphan = join(tmp, "no/such/dir");
	r = sample(spec, "2", orphan, "1");
	cr_expect_eq(r.status, 2, "%d %s", r.status, r.err);
	cr_expect_eq(tu_count_lines(r.err), 1, "%s", r.err);
	cr_expect_not_null(strstr(r.err, "parent directory does not exist"), "%s", r.err);
	tu_result_free(&r);
	free(orphan);
	const char *const bad[][12] = {
		{"accelsim", "nas", NULL},
		{"accelsim", "nas", "sampel", spec, NULL},
		{"accelsim", "nas", "sample", spec, "-o", full, "--seed", "1", NULL},
		{"accelsim", "nas", "sample", spec, "-n", "0", "-o", full, "--seed", "1", NULL},
		{"accelsim", "nas", "sample", spec, "-n", "100001", "-o", full, "--seed", "1", NULL},
		{"accelsim", "nas", "sample", spec, "-n", "2", "--seed", "1", NULL},
		{"accelsim", "nas", "sample", spec, "-n", "2", "-o", full, NULL},
		{"accelsim", "nas", "sample", spec, "-n", "2", "-o", full, "--seed", "-1", NULL},
		{"accelsim", "nas", "sample", "-n", "2", "-o", full, "--seed", "1", NULL},
		{"accelsim", "nas", "sample", spec, "-n", "2", "-o", full, "--seed", "1", "--bogus", NULL},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cr_assert_eq(tu_run(&r, bad[i]), 0);
		cr_expect_eq(r.status, 2, "case %zu: %d %s", i, r.status, r.err);
		cr_expect_eq(r.outlen, 0, "case %zu", i);
		cr_expect_eq(tu_count_lines(r.err), 1, "case %zu: %s", i, r.err);
		tu_result_free(&r);
	}
	const char *help[] = {"accelsim", "nas", "--help", NULL};
	cr_assert_eq(tu_run(&r, help), 0);
	cr_expect_eq(r.status, 0);
	cr_expect_not_null(strstr(r.out, "--seed"));
	tu_result_free(&r);
	free(keep);
	free(full);
	tu_rmtree(tmp);
	free(tmp);
	free(spec);
}

/* ---- bad specs: tests/bad/nas/ ------------------------------------------------------------- */

Test(nas, bad_corpus_exit_2_one_positioned_line_and_no_output)
{
	char *dir = tu_srcpath("tests/bad/nas");
	size_t n = 0;
	char **names = tu_list_dir(dir, ".yaml", &n);
	cr_assert_not_null(names, "%s", dir);
	cr_expect_geq(n, 15, "only %zu bad specs", n);
	for (size_t i = 0; i < n; i++) {
		char *path = join(dir, names[i]);
		char *exp = tu_expectation(dir, names[i]);
		cr_assert_not_null(exp, "%s: no '# expect:' line nor .expect file", names[i]);
		char *sp = strstr(exp, ": ");
		cr_assert_not_null(sp, "%s: malformed expectation", names[i]);
		*sp = '\0';
		char *tmp = tu_mkdtemp();
		char *out = join(tmp, "out");
		tu_result r = sample(path, "3", out, "1");
		cr_expect_eq(r.status, 2, "%s: status %d: %s", names[i], r.status, r.err);
		cr_expect_eq(r.outlen, 0, "%s", names[i]);
		cr_expect_eq(tu_count_lines(r.err), 1, "%s: %s", names[i], r.err);
		char prefix[1200];
		snprintf(prefix, sizeof prefix, "%s:%s: ", path, exp);
		cr_expect_eq(strncmp(r.err, prefix, strlen(prefix)), 0, "%s: '%s' does not start with '%s'",
		             names[i], r.err, prefix);
		cr_expect_not_null(strstr(r.err, sp + 2), "%s: '%s' lacks '%s'", names[i], r.err, sp + 2);
		cr_expect_eq(count_entries(tmp), 0, "%s: something was written", names[i]);
		tu_result_free(&r);
		tu_rmtree(tmp);
		free(tmp);
		free(out);
		free(exp);
		free(path);
	}
	tu_list_free(names);
	free(dir);
}

/* ---- out of memory ------------------------------------------------------------------------- */

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

Test(nas, out_of_memory_at_every_allocation)
{
	int successes = 0;
	for (long k = 0; k < 100000 && successes == 0; k++) {
		nas_spec s;
		nas_candidate c;
		asim_err e;
		asim_err_init(&e);
		fail_after = k;
		asim_set_allocator(failing_alloc, NULL);
		int rc = nas_spec_load_buffer(&s, "t.yaml", freq_spec, strlen(freq_spec), &e);
		if (rc == 0) {
			rc = nas_sample(&s, 1, 0, &c, &e);
			if (rc == 0)
				nas_candidate_fini(&c);
			nas_spec_fini(&s);
		}
		asim_set_allocator(NULL, NULL);
		if (rc == 0)
			successes++;
		else
			cr_assert_eq(rc, ASIM_ENOMEM, "allocation %ld: %s", k, e.msg);
	}
	cr_expect_eq(successes, 1);
}
