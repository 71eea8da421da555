/*
 * nas.c -- NAS search spaces: spec loading, counter-based uniform draws, graph emission,
 * rejection sampling, and the atomic output directory of `accelsim nas sample` (see nas.h).
 *
 * Emission mirrors models/graphs/gen_graphs.py (same op and tensor names, BN folded into a conv
 * bias, relu6, padding k/2, one flow-style line per tensor and op, every shape written out so that
 * loading cross-checks this file's shape arithmetic against sim/graph's inference). Each block is
 * one fusion group ("b1", "b2", ...; the stem is "stem", conv_last and the classifier "head"), so
 * a per-group predictor can decompose a candidate along the groups.
 *
 * Output directory life cycle:
 *
 *     DIR absent or empty ──► mkdtemp(parent/.DIR.tmp-XXXXXX) ──► cand_*.yaml, index.csv via outfile
 *                                        │ any error: unlink what was written, rmdir          │
 *                                        ▼                                                    ▼
 *                                   DIR untouched                         rename(tmp, DIR)
 */
#include "config.h"

#include "sim/nas.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sim/alloc.h"
#include "sim/datapath/philox.h"
#include "sim/dtype.h"
#include "sim/graph.h"
#include "sim/yamldoc.h"
#include "traces/outfile.h"

const char *const nas_block_names[NAS_BLOCK_TYPES] = {"mbconv", "fused"};

#define SPEC_NAME_MAX 64
#define CODE_MAX (NAS_MAX_STAGES * (16 + NAS_MAX_BLOCKS * 12))
#define SLOT_BATCH 0u
#define SLOT_RES 1u
#define SLOT_MULT 2u
#define SLOT_STEM 3u
#define SLOT_HEAD 4u
#define SLOT_STAGE(s) (16u + 258u * (uint32_t)(s))
#define SLOT_BLOCK(s, b) (SLOT_STAGE(s) + 2u + 4u * (uint32_t)(b))

/* ---- spec ----------------------------------------------------------------------------------- */

/* Blocks of a stage: ⌈d·m⌉ (EfficientNet's round_repeats); a product within 1e-9 of an integer
 * counts as that integer, so 5 × 1.4 is 7 blocks, not 8. */
static uint32_t stage_blocks(uint32_t depth, double mult)
{
	double b = ceil((double)depth * mult - 1e-9);
	return b < 1 ? 1u : (uint32_t)b;
}

/* A required list of integer choices in [min, max] (odd ones only when `odd`), without repeats. */
static int get_choices(const yd_doc *d, const yd_node *map, const char *key, const char *what,
                       uint32_t min, uint32_t max, int odd, nas_choices *out, asim_err *e)
{
	const yd_node *v;
	char full[160];
	snprintf(full, sizeof full, "'%s' of %s", key, what);
	int rc = yd_require(d, map, key, what, &v, e);
	if (rc)
		return rc;
	if (v->kind != YD_SEQ)
		return yd_error(d, v, e, ASIM_ESCHEMA, "%s must be a list of choices (e.g. [%u]), not a %s",
		                full, min, yd_kind_name(v->kind));
	if (v->len == 0)
		return yd_error(d, v, e, ASIM_ESCHEMA, "%s is an empty list: give at least one choice", full);
	if (v->len > NAS_MAX_CHOICES)
		return yd_error(d, v, e, ASIM_ERANGE, "%s has %zu choices; the limit is %d", full, v->len,
		                NAS_MAX_CHOICES);
	out->n = 0;
	for (size_t i = 0; i < v->len; i++) {
		const yd_node *it = yd_item(v, i);
		uint64_t u;
		if ((rc = yd_u64(d, it, full, min, max, &u, e)) != 0)
			return rc;
		if (odd && u % 2 == 0)
			return yd_error(d, it, e, ASIM_ERANGE, "%s: %" PRIu64 " is even; kernels are odd so that "
			                "padding k/2 keeps the size", full, u);
		for (size_t j = 0; j < i; j++)
			if (out->v[j] == u)
				return yd_error(d, it, e, ASIM_ESCHEMA, "%s: %" PRIu64 " is listed twice (first at "
				                "line %lu, column %lu); a repeated choice would be drawn more often",
				                full, u, yd_item(v, j)->line, yd_item(v, j)->col);
		out->v[out->n++] = (uint32_t)u;
	}
	return ASIM_OK;
}

static int get_block_types(const yd_doc *d, const yd_node *map, const char *what, nas_choices *out,
                           asim_err *e)
{
	const yd_node *v;
	char full[160];
	snprintf(full, sizeof full, "'block' of %s", what);
	int rc = yd_require(d, map, "block", what, &v, e);
	if (rc)
		return rc;
	if (v->kind != YD_SEQ)
		return yd_error(d, v, e, ASIM_ESCHEMA, "%s must be a list of choices (e.g. [mbconv, fused]), "
		                "not a %s", full, yd_kind_name(v->kind));
	if (v->len == 0)
		return yd_error(d, v, e, ASIM_ESCHEMA, "%s is an empty list: give at least one choice", full);
	if (v->len > NAS_BLOCK_TYPES)
		return yd_error(d, yd_item(v, NAS_BLOCK_TYPES), e, ASIM_ESCHEMA,
		                "%s lists more than the %d block types", full, NAS_BLOCK_TYPES);
	out->n = 0;
	for (size_t i = 0; i < v->len; i++) {
		int t;
		if ((rc = yd_enum(d, yd_item(v, i), full, nas_block_names, NAS_BLOCK_TYPES, &t, e)) != 0)
			return rc;
		for (size_t j = 0; j < i; j++)
			if (out->v[j] == (uint32_t)t)
				return yd_error(d, yd_item(v, i), e, ASIM_ESCHEMA, "%s: '%s' is listed twice",
				                full, nas_block_names[t]);
		out->v[out->n++] = (uint32_t)t;
	}
	return ASIM_OK;
}

static int get_u32(const yd_doc *d, const yd_node *map, const char *key, const char *what,
                   uint32_t min, uint32_t max, int odd, uint32_t dflt, uint32_t *out, asim_err *e)
{
	const yd_node *v = yd_get(map, key);
	if (v == NULL) {
		if (dflt == 0)
			return yd_require(d, map, key, what, &v, e);
		*out = dflt;
		return ASIM_OK;
	}
	char full[160];
	snprintf(full, sizeof full, "'%s' of %s", key, what);
	uint64_t u;
	int rc = yd_u64(d, v, full, min, max, &u, e);
	if (rc)
		return rc;
	if (odd && u % 2 == 0)
		return yd_error(d, v, e, ASIM_ERANGE, "%s: %" PRIu64 " is even; kernels are odd so that "
		                "padding k/2 keeps the size", full, u);
	*out = (uint32_t)u;
	return ASIM_OK;
}

static int load_mults(const yd_doc *d, const yd_node *root, nas_spec *s, asim_err *e)
{
	const yd_node *v = yd_get(root, "depth_multiplier");
	if (v == NULL) {
		s->n_mult = 1;
		s->mult[0] = 1.0;
		strcpy(s->mult_text[0], "1");
		return ASIM_OK;
	}
	const char *what = "'depth_multiplier'";
	if (v->kind != YD_SEQ)
		return yd_error(d, v, e, ASIM_ESCHEMA, "%s must be a list of choices (e.g. [1.0]), not a %s",
		                what, yd_kind_name(v->kind));
	if (v->len == 0)
		return yd_error(d, v, e, ASIM_ESCHEMA, "%s is an empty list: give at least one choice", what);
	if (v->len > NAS_MAX_CHOICES)
		return yd_error(d, v, e, ASIM_ERANGE, "%s has %zu choices; the limit is %d", what, v->len,
		                NAS_MAX_CHOICES);
	for (size_t i = 0; i < v->len; i++) {
		const yd_node *it = yd_item(v, i);
		double m;
		int rc = yd_f64(d, it, what, 0.0, 8.0, &m, e);
		if (rc)
			return rc;
		if (m <= 0)
			return yd_error(d, it, e, ASIM_ERANGE, "%s must be above 0", what);
		if (it->len >= sizeof s->mult_text[0])
			return yd_error(d, it, e, ASIM_ERANGE, "%s: write the number in at most %zu characters",
			                what, sizeof s->mult_text[0] - 1);
		for (size_t j = 0; j < i; j++)
			if (s->mult[j] == m)
				return yd_error(d, it, e, ASIM_ESCHEMA, "%s: %s is listed twice (first at line %lu, "
				                "column %lu)", what, it->str, yd_item(v, j)->line, yd_item(v, j)->col);
		s->mult[i] = m;
		memcpy(s->mult_text[i], it->str, it->len + 1);
	}
	s->n_mult = (uint32_t)v->len;
	return ASIM_OK;
}

static int load_stage(const yd_doc *d, const yd_node *m, uint32_t si, nas_spec *s, asim_err *e)
{
	static const char *const keys[] = {"expansion", "kernel", "channels", "depth", "stride", "block"};
	char what[32];
	snprintf(what, sizeof what, "stage %u", si + 1);
	nas_stage *st = &s->stages[si];
	int rc;
	if ((rc = yd_expect(d, m, YD_MAP, what, e)) != 0 ||
	    (rc = yd_check_keys(d, m, keys, sizeof keys / sizeof keys[0], what, e)) != 0 ||
	    (rc = get_choices(d, m, "expansion", what, 1, 16, 0, &st->expansion, e)) != 0 ||
	    (rc = get_choices(d, m, "kernel", what, 1, 15, 1, &st->kernel, e)) != 0 ||
	    (rc = get_choices(d, m, "channels", what, 1, 8192, 0, &st->channels, e)) != 0 ||
	    (rc = get_choices(d, m, "depth", what, 1, NAS_MAX_BLOCKS, 0, &st->depth, e)) != 0 ||
	    (rc = get_u32(d, m, "stride", what, 1, 4, 0, 0, &st->stride, e)) != 0 ||
	    (rc = get_block_types(d, m, what, &st->block, e)) != 0)
		return rc;
	st->max_blocks = 0;
	for (uint32_t i = 0; i < st->depth.n; i++)
		for (uint32_t j = 0; j < s->n_mult; j++) {
			uint32_t b = stage_blocks(st->depth.v[i], s->mult[j]);
			if (b > NAS_MAX_BLOCKS)
				return yd_error(d, yd_item(yd_get(m, "depth"), i), e, ASIM_ERANGE,
				                "%s: depth %u with depth multiplier %s gives %u blocks; the limit is %d",
				                what, st->depth.v[i], s->mult_text[j], b, NAS_MAX_BLOCKS);
			if (b > st->max_blocks)
				st->max_blocks = b;
		}
	return ASIM_OK;
}

static int load_constraints(const yd_doc *d, const yd_node *root, nas_spec *s, asim_err *e)
{
	static const char *const keys[] = {"min_macs", "max_macs", "min_params", "max_params"};
	s->min_macs = s->min_params = 0;
	s->max_macs = s->max_params = UINT64_MAX;
	s->cons_line = root->line;
	s->cons_col = root->col;
	const yd_node *c = yd_get(root, "constraints");
	if (c == NULL)
		return ASIM_OK;
	s->cons_line = c->line;
	s->cons_col = c->col;
	int rc;
	if ((rc = yd_expect(d, c, YD_MAP, "'constraints'", e)) != 0 ||
	    (rc = yd_check_keys(d, c, keys, 4, "'constraints'", e)) != 0)
		return rc;
	uint64_t *dst[4] = {&s->min_macs, &s->max_macs, &s->min_params, &s->max_params};
	for (int i = 0; i < 4; i++) {
		const yd_node *v = yd_get(c, keys[i]);
		char what[64];
		snprintf(what, sizeof what, "'%s'", keys[i]);
		if (v != NULL && (rc = yd_u64(d, v, what, 0, UINT64_MAX, dst[i], e)) != 0)
			return rc;
	}
	for (int i = 0; i < 4; i += 2)
		if (*dst[i] > *dst[i + 1])
			return yd_error(d, yd_get(c, keys[i]), e, ASIM_ERANGE, "%s %" PRIu64 " is above %s %"
			                PRIu64 ": no candidate can satisfy both", keys[i], *dst[i], keys[i + 1],
			                *dst[i + 1]);
	return ASIM_OK;
}

static int load_doc(const yd_doc *d, nas_spec *s, asim_err *e)
{
	static const char *const top[] = {"nas", "name", "description", "dtype", "batch", "resolution",
		"depth_multiplier", "stem", "stages", "head", "constraints", "max_attempts"};
	static const char *const stem_keys[] = {"channels", "kernel", "stride"};
	static const char *const head_keys[] = {"channels", "classes"};
	const yd_node *root = d->root, *v;
	int rc;
	if ((rc = yd_expect(d, root, YD_MAP, "a NAS search space", e)) != 0)
		return rc;
	if (yd_get(root, "nas") == NULL) {
		if (yd_get(root, "accelsim") != NULL)
			return yd_error(d, root, e, ASIM_ESCHEMA, "this is a graph, not a NAS search space "
			                "(which starts with 'nas: 1')");
		return yd_error(d, root, e, ASIM_ESCHEMA, "missing key 'nas' (the format version: 'nas: 1')");
	}
	uint64_t ver;
	if ((rc = yd_u64(d, yd_get(root, "nas"), "'nas' (the format version)", 0, UINT64_MAX, &ver, e)) != 0)
		return rc;
	if (ver != 1)
		return yd_error(d, yd_get(root, "nas"), e, ASIM_EUNSUPPORTED,
		                "NAS spec format version %" PRIu64 " is not supported (this accelsim reads 1)", ver);
	if ((rc = yd_check_keys(d, root, top, sizeof top / sizeof top[0], "the NAS search space", e)) != 0)
		return rc;

	const char *name;
	if ((rc = yd_require(d, root, "name", "the NAS search space", &v, e)) != 0 ||
	    (rc = yd_str(d, v, "'name'", &name, e)) != 0)
		return rc;
	if (v->len == 0 || v->len > SPEC_NAME_MAX)
		return yd_error(d, v, e, ASIM_ERANGE, "'name' must be 1 to %d characters", SPEC_NAME_MAX);
	for (size_t i = 0; i < v->len; i++) {
		char ch = name[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		      ch == '_' || ch == '.' || ch == '-')) {
			char esc[96];
			asim_escape(esc, sizeof esc, name);
			return yd_error(d, v, e, ASIM_ESCHEMA, "'name' '%s' may use letters, digits and _ . - only",
			                esc);
		}
	}
	if ((s->name = asim_strdup(name)) == NULL)
		return asim_errorf(e, ASIM_ENOMEM, "out of memory");
	if ((v = yd_get(root, "description")) != NULL && (rc = yd_str(d, v, "'description'", &name, e)) != 0)
		return rc;

	strcpy(s->dtype, "bf16");
	if ((v = yd_get(root, "dtype")) != NULL) {
		int t;
		if ((rc = yd_enum(d, v, "'dtype'", asim_dtype_names, ASIM_DT_COUNT, &t, e)) != 0)
			return rc;
		if (!asim_dtype_is_float((asim_dtype)t))
			return yd_error(d, v, e, ASIM_ERANGE, "'dtype' must be a floating-point type, not %s",
			                asim_dtype_names[t]);
		snprintf(s->dtype, sizeof s->dtype, "%s", asim_dtype_names[t]);
	}
	if ((rc = get_choices(d, root, "batch", "the NAS search space", 1, 4096, 0, &s->batch, e)) != 0 ||
	    (rc = get_choices(d, root, "resolution", "the NAS search space", 1, 4096, 0, &s->resolution,
	                      e)) != 0 ||
	    (rc = load_mults(d, root, s, e)) != 0)
		return rc;

	const yd_node *stem;
	if ((rc = yd_require(d, root, "stem", "the NAS search space", &stem, e)) != 0 ||
	    (rc = yd_expect(d, stem, YD_MAP, "'stem'", e)) != 0 ||
	    (rc = yd_check_keys(d, stem, stem_keys, 3, "'stem'", e)) != 0 ||
	    (rc = get_choices(d, stem, "channels", "'stem'", 1, 8192, 0, &s->stem_channels, e)) != 0 ||
	    (rc = get_u32(d, stem, "kernel", "'stem'", 1, 15, 1, 3, &s->stem_kernel, e)) != 0 ||
	    (rc = get_u32(d, stem, "stride", "'stem'", 1, 4, 0, 2, &s->stem_stride, e)) != 0)
		return rc;

	const yd_node *stages;
	if ((rc = yd_require(d, root, "stages", "the NAS search space", &stages, e)) != 0 ||
	    (rc = yd_expect(d, stages, YD_SEQ, "'stages'", e)) != 0)
		return rc;
	if (stages->len == 0 || stages->len > NAS_MAX_STAGES)
		return yd_error(d, stages, e, ASIM_ERANGE, "'stages' has %zu stages; give 1 to %d",
		                stages->len, NAS_MAX_STAGES);
	if ((s->stages = asim_calloc(stages->len, sizeof *s->stages)) == NULL)
		return asim_errorf(e, ASIM_ENOMEM, "out of memory");
	s->n_stages = (uint32_t)stages->len;
	for (uint32_t i = 0; i < s->n_stages; i++)
		if ((rc = load_stage(d, yd_item(stages, i), i, s, e)) != 0)
			return rc;

	const yd_node *head;
	if ((rc = yd_require(d, root, "head", "the NAS search space", &head, e)) != 0 ||
	    (rc = yd_expect(d, head, YD_MAP, "'head'", e)) != 0 ||
	    (rc = yd_check_keys(d, head, head_keys, 2, "'head'", e)) != 0 ||
	    (rc = get_choices(d, head, "channels", "'head'", 1, 16384, 0, &s->head_channels, e)) != 0 ||
	    (rc = get_u32(d, head, "classes", "'head'", 1, 1000000, 0, 0, &s->classes, e)) != 0)
		return rc;

	if ((rc = load_constraints(d, root, s, e)) != 0)
		return rc;
	if ((rc = get_u32(d, root, "max_attempts", "the NAS search space", 1, 1000000, 0, 1000,
	                  &s->max_attempts, e)) != 0)
		return rc;
	return ASIM_OK;
}

static int spec_finish(nas_spec *s, yd_doc *d, int rc, asim_err *e)
{
	if (rc == 0)
		rc = load_doc(d, s, e);
	if (rc == 0 && (s->file = asim_strdup(d->file)) == NULL)
		rc = asim_errorf(e, ASIM_ENOMEM, "out of memory");
	yd_free(d);
	if (rc)
		nas_spec_fini(s);
	return rc;
}

int nas_spec_load_file(nas_spec *s, const char *path, asim_err *e)
{
	memset(s, 0, sizeof *s);
	yd_doc d;
	int rc = yd_load_file(&d, path, e);
	return spec_finish(s, &d, rc, e);
}

int nas_spec_load_buffer(nas_spec *s, const char *name, const char *buf, size_t len, asim_err *e)
{
	memset(s, 0, sizeof *s);
	yd_doc d;
	int rc = yd_load_buffer(&d, name, buf, len, e);
	return spec_finish(s, &d, rc, e);
}

void nas_spec_fini(nas_spec *s)
{
	asim_free(s->file);
	asim_free(s->name);
	asim_free(s->stages);
	memset(s, 0, sizeof *s);
}

/* ---- drawing -------------------------------------------------------------------------------- */

uint32_t nas_uniform(uint64_t seed, uint64_t cand, uint32_t attempt, uint32_t slot, uint32_t n)
{
	ASIM_ASSERT(n >= 1 && attempt < (1u << 24) && slot < (1u << 28));
	if (n == 1)
		return 0;
	uint64_t limit = (UINT64_C(1) << 32) / n * n;   /* words below it map uniformly */
	for (uint64_t r = 0; r < 4096; r++) {
		uint32_t w = dp_philox_word(seed, cand, ((uint64_t)attempt << 40) | ((uint64_t)slot << 12) | r);
		if (w < limit)
			return w % n;
	}
	/* 4096 rejections in a row have probability below (n / 2^32)^4096: never */
	asim_panic(__FILE__, __LINE__, "nas_uniform: no word accepted");
}

void nas_draw(const nas_spec *s, uint64_t seed, uint64_t cand, uint32_t attempt, nas_arch *a)
{
	memset(a, 0, sizeof *a);
#define PICK(list, slot) ((list).v[nas_uniform(seed, cand, attempt, (slot), (list).n)])
	a->batch = PICK(s->batch, SLOT_BATCH);
	a->resolution = PICK(s->resolution, SLOT_RES);
	a->mult_idx = nas_uniform(seed, cand, attempt, SLOT_MULT, s->n_mult);
	a->stem = PICK(s->stem_channels, SLOT_STEM);
	a->head = PICK(s->head_channels, SLOT_HEAD);
	for (uint32_t si = 0; si < s->n_stages; si++) {
		const nas_stage *st = &s->stages[si];
		a->depth[si] = PICK(st->depth, SLOT_STAGE(si));
		a->channels[si] = PICK(st->channels, SLOT_STAGE(si) + 1);
		a->blocks[si] = stage_blocks(a->depth[si], s->mult[a->mult_idx]);
		ASIM_ASSERT(a->blocks[si] <= st->max_blocks);
		for (uint32_t b = 0; b < a->blocks[si]; b++) {
			nas_block *bl = &a->block[si][b];
			bl->expansion = PICK(st->expansion, SLOT_BLOCK(si, b));
			bl->kernel = PICK(st->kernel, SLOT_BLOCK(si, b) + 1);
			bl->type = (uint8_t)PICK(st->block, SLOT_BLOCK(si, b) + 2);
		}
	}
#undef PICK
}

size_t nas_arch_code(const nas_spec *s, const nas_arch *a, char *buf, size_t n)
{
	size_t k = 0;
#define PUT(...) do { int w_ = snprintf(buf + (k < n ? k : n), k < n ? n - k : 0, __VA_ARGS__); \
	              if (w_ > 0) k += (size_t)w_; } while (0)
	for (uint32_t si = 0; si < s->n_stages; si++) {
		PUT("%s%u:", si ? "/" : "", a->channels[si]);
		for (uint32_t b = 0; b < a->blocks[si]; b++) {
			const nas_block *bl = &a->block[si][b];
			PUT("%s%c%uk%u", b ? "+" : "", bl->type == NAS_FUSED ? 'F' : 'M', bl->expansion, bl->kernel);
		}
	}
#undef PUT
	if (n > 0 && k >= n) {
		buf[n - 1] = '\0';
		return n - 1;
	}
	return k;
}

/* ---- emission ------------------------------------------------------------------------------- */

typedef struct sbuf {
	char *p;
	size_t len, cap;
	int oom;
} sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...)
{
	if (b->oom)
		return;
	for (;;) {
		va_list ap;
		va_start(ap, fmt);
		int w = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		ASIM_ASSERT(w >= 0);
		if (b->p && (size_t)w < b->cap - b->len) {
			b->len += (size_t)w;
			return;
		}
		size_t need = b->len + (size_t)w + 1;
		void *p = b->p;
		size_t cap = b->cap;
		if (asim_grow(&p, &cap, need < 4096 ? 4096 : need, 1) != 0) {
			b->oom = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
}

static void sb_append(sbuf *dst, const sbuf *src)
{
	if (src->len)
		sb_printf(dst, "%.*s", (int)src->len, src->p);
	if (src->oom)
		dst->oom = 1;
}

typedef struct emitter {
	sbuf t, o;                         /* tensor lines, op lines */
	char x[48];                        /* current activation */
	uint64_t n, c, h, w;               /* its shape */
	size_t n_ops;
} emitter;

static uint64_t conv_out(uint64_t in, uint32_t k, uint32_t stride)
{
	uint64_t pad = k / 2;
	return (in + 2 * pad - k) / stride + 1;
}

/* A conv2d with folded-BN bias: x → name.y; the emitter's current tensor becomes name.y. */
static void em_conv(emitter *m, const char *name, uint64_t cout, uint32_t k, uint32_t stride,
                    uint64_t groups, int relu6, const char *group)
{
	uint64_t ho = conv_out(m->h, k, stride), wo = conv_out(m->w, k, stride);
	sb_printf(&m->t, "  - {name: %s.w, kind: weight, shape: [%" PRIu64 ", %" PRIu64 ", %u, %u]}\n",
	          name, cout, m->c / groups, k, k);
	sb_printf(&m->t, "  - {name: %s.b, kind: weight, shape: [%" PRIu64 "]}\n", name, cout);
	sb_printf(&m->t, "  - {name: %s.y, kind: activation, shape: [%" PRIu64 ", %" PRIu64 ", %" PRIu64
	          ", %" PRIu64 "]}\n", name, m->n, cout, ho, wo);
	sb_printf(&m->o, "  - {name: %s, type: conv2d, inputs: [%s, %s.w, %s.b], outputs: [%s.y]", name,
	          m->x, name, name, name);
	if (stride != 1)
		sb_printf(&m->o, ", stride: %u", stride);
	if (k / 2)
		sb_printf(&m->o, ", padding: %u", k / 2);
	if (groups != 1)
		sb_printf(&m->o, ", groups: %" PRIu64, groups);
	if (relu6)
		sb_printf(&m->o, ", activation: relu6");
	sb_printf(&m->o, ", group: %s}\n", group);
	snprintf(m->x, sizeof m->x, "%s.y", name);
	m->c = cout;
	m->h = ho;
	m->w = wo;
	m->n_ops++;
}

static void emit(const nas_spec *s, const nas_arch *a, uint64_t seed, uint64_t cand, uint32_t attempt,
                 sbuf *out, char *code, size_t code_cap)
{
	emitter m;
	memset(&m, 0, sizeof m);
	nas_arch_code(s, a, code, code_cap);
	sb_printf(out, "# cand_%05" PRIu64 ".yaml -- generated by accelsim nas sample; do not edit.\n", cand);
	sb_printf(out, "# Space '%s', seed %" PRIu64 ", candidate %" PRIu64 ", attempt %u. "
	          "Format: docs/graph-format.md\n", s->name, seed, cand, attempt);
	sb_printf(out, "accelsim: 1\nname: %s.cand_%05" PRIu64 "\n", s->name, cand);
	sb_printf(out, "description: \"NAS candidate %" PRIu64 " of space %s (seed %" PRIu64 ", attempt %u): "
	          "batch %u, resolution %u, depth multiplier %s, stem %u, head %u, stages %s "
	          "(channels:blocks; M = inverted bottleneck, F = fused, then expansion, k kernel); "
	          "BN folded, relu6\"\n", cand, s->name, seed, attempt, a->batch, a->resolution,
	          s->mult_text[a->mult_idx], a->stem, a->head, code);
	sb_printf(out, "dtype: %s\ntensors:\n", s->dtype);

	m.n = a->batch;
	m.c = 3;
	m.h = m.w = a->resolution;
	strcpy(m.x, "image");
	sb_printf(&m.t, "  - {name: image, kind: input, shape: [%u, 3, %u, %u]}\n", a->batch, a->resolution,
	          a->resolution);
	em_conv(&m, "conv0", a->stem, s->stem_kernel, s->stem_stride, 1, 1, "stem");
	uint32_t blk = 0;
	for (uint32_t si = 0; si < s->n_stages; si++) {
		const nas_stage *st = &s->stages[si];
		uint64_t cout = a->channels[si];
		for (uint32_t b = 0; b < a->blocks[si]; b++) {
			const nas_block *bl = &a->block[si][b];
			uint32_t stride = b == 0 ? st->stride : 1;
			uint64_t cin = m.c, hidden = cin * bl->expansion, h = m.h, w = m.w;
			char p[24], nm[48], g[24], inp[48];
			snprintf(p, sizeof p, "b%u", ++blk);
			snprintf(g, sizeof g, "%s", p);
			snprintf(inp, sizeof inp, "%s", m.x);
			if (bl->type == NAS_FUSED && bl->expansion == 1) {
				snprintf(nm, sizeof nm, "%s.fused", p);
				em_conv(&m, nm, cout, bl->kernel, stride, 1, 1, g);
			} else {
				if (bl->type == NAS_FUSED) {
					snprintf(nm, sizeof nm, "%s.fused", p);
					em_conv(&m, nm, hidden, bl->kernel, stride, 1, 1, g);
				} else {
					if (bl->expansion != 1) {
						snprintf(nm, sizeof nm, "%s.expand", p);
						em_conv(&m, nm, hidden, 1, 1, 1, 1, g);
					}
					snprintf(nm, sizeof nm, "%s.dw", p);
					em_conv(&m, nm, hidden, bl->kernel, stride, hidden, 1, g);
				}
				snprintf(nm, sizeof nm, "%s.project", p);
				em_conv(&m, nm, cout, 1, 1, 1, 0, g);
			}
			if (cin == cout && m.h == h && m.w == w) {
				sb_printf(&m.t, "  - {name: %s.out, kind: activation, shape: [%" PRIu64 ", %" PRIu64
				          ", %" PRIu64 ", %" PRIu64 "]}\n", p, m.n, m.c, m.h, m.w);
				sb_printf(&m.o, "  - {name: %s.add, type: add, inputs: [%s, %s], outputs: [%s.out], "
				          "group: %s}\n", p, inp, m.x, p, g);
				snprintf(m.x, sizeof m.x, "%s.out", p);
				m.n_ops++;
			}
		}
	}
	em_conv(&m, "conv_last", a->head, 1, 1, 1, 1, "head");
	sb_printf(&m.t, "  - {name: avgpool.y, kind: activation, shape: [%" PRIu64 ", %" PRIu64 ", 1, 1]}\n",
	          m.n, m.c);
	sb_printf(&m.t, "  - {name: flatten.y, kind: activation, shape: [%" PRIu64 ", %" PRIu64 "]}\n",
	          m.n, m.c);
	sb_printf(&m.t, "  - {name: fc.w, kind: weight, shape: [%" PRIu64 ", %u]}\n", m.c, s->classes);
	sb_printf(&m.t, "  - {name: fc.b, kind: weight, shape: [%u]}\n", s->classes);
	sb_printf(&m.t, "  - {name: logits, kind: output, shape: [%" PRIu64 ", %u]}\n", m.n, s->classes);
	sb_printf(&m.o, "  - {name: avgpool, type: global_avgpool, inputs: [%s], outputs: [avgpool.y], "
	          "group: head}\n", m.x);
	sb_printf(&m.o, "  - {name: flatten, type: reshape, inputs: [avgpool.y], outputs: [flatten.y], "
	          "shape: [%" PRIu64 ", %" PRIu64 "], group: head}\n", m.n, m.c);
	sb_printf(&m.o, "  - {name: fc, type: matmul, inputs: [flatten.y, fc.w, fc.b], outputs: [logits], "
	          "group: head}\n");
	sb_append(out, &m.t);
	sb_printf(out, "ops:\n");
	sb_append(out, &m.o);
	asim_free(m.t.p);
	asim_free(m.o.p);
}

/* ---- sampling ------------------------------------------------------------------------------- */

enum { REJ_INVALID, REJ_MACS_HIGH, REJ_MACS_LOW, REJ_PARAMS_HIGH, REJ_PARAMS_LOW, REJ_COUNT };

int nas_sample(const nas_spec *s, uint64_t seed, uint64_t cand, nas_candidate *c, asim_err *e)
{
	memset(c, 0, sizeof *c);
	uint64_t rej[REJ_COUNT] = {0};
	char first_invalid[ASIM_ERR_MSG_MAX] = "";
	char fname[40];
	snprintf(fname, sizeof fname, "cand_%05" PRIu64 ".yaml", cand);
	char *code = asim_malloc(CODE_MAX);
	if (code == NULL)
		return asim_errorf(e, ASIM_ENOMEM, "out of memory");
	for (uint32_t at = 0; at < s->max_attempts; at++) {
		sbuf b = {0};
		nas_draw(s, seed, cand, at, &c->arch);
		emit(s, &c->arch, seed, cand, at, &b, code, CODE_MAX);
		if (b.oom) {
			asim_free(b.p);
			asim_free(code);
			return asim_errorf(e, ASIM_ENOMEM, "out of memory");
		}
		graph g;
		asim_err ge;
		asim_err_init(&ge);
		int rc = graph_load_buffer(&g, fname, b.p, b.len, &ge);
		if (rc == ASIM_ENOMEM) {
			asim_free(b.p);
			asim_free(code);
			return asim_errorf(e, ASIM_ENOMEM, "out of memory");
		}
		if (rc != 0) {
			if (rej[REJ_INVALID]++ == 0)
				snprintf(first_invalid, sizeof first_invalid, "%s", ge.msg);
			asim_free(b.p);
			continue;
		}
		int why = g.total_macs > s->max_macs ? REJ_MACS_HIGH : g.total_macs < s->min_macs ? REJ_MACS_LOW
		        : g.param_count > s->max_params ? REJ_PARAMS_HIGH
		        : g.param_count < s->min_params ? REJ_PARAMS_LOW : -1;
		if (why >= 0) {
			rej[why]++;
			graph_fini(&g);
			asim_free(b.p);
			continue;
		}
		c->attempt = at;
		c->text = b.p;
		c->len = b.len;
		c->macs = g.total_macs;
		c->params = g.param_count;
		c->n_ops = g.n_ops;
		memcpy(c->hash, g.hash, sizeof c->hash);
		graph_fini(&g);
		asim_free(code);
		return ASIM_OK;
	}
	asim_free(code);
	char inv[ASIM_ERR_MSG_MAX / 2] = "";
	if (rej[REJ_INVALID])
		snprintf(inv, sizeof inv, "; first invalid: %s", first_invalid);
	return asim_error_at(e, ASIM_ERANGE, s->file, s->cons_line, s->cons_col,
	                     "candidate %" PRIu64 ": none of %u attempts gave an architecture that loads and "
	                     "meets the constraints (%" PRIu64 " above max_macs, %" PRIu64 " below min_macs, %" PRIu64 " above "
	                     "max_params, %" PRIu64 " below min_params, %" PRIu64 " invalid%s): the space is "
	                     "empty or the constraints too tight (or raise max_attempts)", cand,
	                     s->max_attempts, rej[REJ_MACS_HIGH], rej[REJ_MACS_LOW], rej[REJ_PARAMS_HIGH],
	                     rej[REJ_PARAMS_LOW], rej[REJ_INVALID], inv);
}

void nas_candidate_fini(nas_candidate *c)
{
	asim_free(c->text);
	c->text = NULL;
	c->len = 0;
}

/* ---- the output directory ------------------------------------------------------------------ */

static int dir_state(const char *dir, asim_err *e)
{
	struct stat st;
	if (stat(dir, &st) != 0) {
		if (errno == ENOENT)
			return ASIM_OK;
		return asim_errorf(e, ASIM_EIO, "%s: %s", dir, strerror(errno));
	}
	if (!S_ISDIR(st.st_mode))
		return asim_errorf(e, ASIM_EUSAGE, "%s exists and is not a directory", dir);
	DIR *dp = opendir(dir);
	if (dp == NULL)
		return asim_errorf(e, ASIM_EIO, "%s: %s", dir, strerror(errno));
	struct dirent *de;
	int empty = 1;
	while ((de = readdir(dp)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
			empty = 0;
			break;
		}
	closedir(dp);
	if (!empty)
		return asim_errorf(e, ASIM_EUSAGE, "%s exists and is not empty: give a new or empty "
		                   "directory (old candidates would mix with new ones)", dir);
	return ASIM_OK;
}

static void index_header(outfile *f, const nas_spec *s)
{
	outfile_puts(f, "file,candidate,attempt,batch,resolution,depth_multiplier,stem_channels,head_channels");
	for (uint32_t i = 0; i < s->n_stages; i++)
		outfile_printf(f, ",s%u_depth,s%u_blocks,s%u_channels", i + 1, i + 1, i + 1);
	outfile_puts(f, ",arch,blocks,ops,macs,params,hash\n");
}

static void index_row(outfile *f, const nas_spec *s, uint64_t i, const nas_candidate *c, char *code)
{
	const nas_arch *a = &c->arch;
	outfile_printf(f, "cand_%05" PRIu64 ".yaml,%" PRIu64 ",%u,%u,%u,%s,%u,%u", i, i, c->attempt,
	               a->batch, a->resolution, s->mult_text[a->mult_idx], a->stem, a->head);
	uint32_t blocks = 0;
	for (uint32_t k = 0; k < s->n_stages; k++) {
		outfile_printf(f, ",%u,%u,%u", a->depth[k], a->blocks[k], a->channels[k]);
		blocks += a->blocks[k];
	}
	nas_arch_code(s, a, code, CODE_MAX);
	outfile_printf(f, ",%s,%u,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%s\n", code, blocks, c->n_ops,
	               c->macs, c->params, c->hash);
}

static char *path_join(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = asim_malloc(n);
	if (p)
		snprintf(p, n, "%s/%s", dir, name);
	return p;
}

/* Remove the temporary directory's files (the first `n` candidates and the index) and itself. */
static void remove_tmpdir(const char *tmp, uint64_t n)
{
	char name[40];
	for (uint64_t i = 0; i < n; i++) {
		snprintf(name, sizeof name, "cand_%05" PRIu64 ".yaml", i);
		char *p = path_join(tmp, name);
		if (p)
			(void)unlink(p);
		asim_free(p);
	}
	char *p = path_join(tmp, "index.csv");
	if (p)
		(void)unlink(p);
	asim_free(p);
	(void)rmdir(tmp);
}

int nas_write(const nas_spec *s, uint64_t seed, uint64_t n, const char *dir_in, asim_err *e)
{
	if (n < 1 || n > NAS_MAX_N)
		return asim_errorf(e, ASIM_EUSAGE, "-n must be from 1 to %d", NAS_MAX_N);
	size_t dl = strlen(dir_in);
	while (dl > 1 && dir_in[dl - 1] == '/')
		dl--;
	if (dl == 0)
		return asim_errorf(e, ASIM_EUSAGE, "the output directory name is empty");
	char *dir = asim_strndup(dir_in, dl), *tmp = NULL, *code = asim_malloc(CODE_MAX);
	int rc = ASIM_OK;
	uint64_t written = 0;
	int made = 0;
	outfile idx;
	memset(&idx, 0, sizeof idx);
	idx.slot = -1;
	if (dir == NULL || code == NULL) {
		rc = asim_errorf(e, ASIM_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = dir_state(dir, e)) != 0)
		goto out;
	{
		/* parent/.base.tmp-XXXXXX, in DIR's parent so that the final rename stays in one file system */
		const char *slash = strrchr(dir, '/');
		const char *base = slash ? slash + 1 : dir;
		size_t plen = slash ? (size_t)(slash - dir) + 1 : 0;
		size_t tl = plen + strlen(base) + 16;
		if ((tmp = asim_malloc(tl)) == NULL) {
			rc = asim_errorf(e, ASIM_ENOMEM, "out of memory");
			goto out;
		}
		snprintf(tmp, tl, "%.*s.%s.tmp-XXXXXX", (int)plen, dir, base);
		if (mkdtemp(tmp) == NULL) {
			int err = errno;
			if (err == ENOENT || err == ENOTDIR)   /* a user error: the parent is missing */
				rc = asim_errorf(e, ASIM_ENOENT, "%s: its parent directory does not exist: create it "
				                 "first, or choose another -o", dir);
			else
				rc = asim_errorf(e, ASIM_EIO, "%s: cannot create a temporary directory beside it: %s",
				                 dir, strerror(err));
			goto out;
		}
		made = 1;
		mode_t um = umask(0);
		umask(um);
		(void)chmod(tmp, 0777 & ~um);
	}
	char *ip = path_join(tmp, "index.csv");
	if (ip == NULL) {
		rc = asim_errorf(e, ASIM_ENOMEM, "out of memory");
		goto out;
	}
	rc = outfile_open(&idx, ip, e);
	asim_free(ip);
	if (rc)
		goto out;
	index_header(&idx, s);
	for (uint64_t i = 0; i < n; i++) {
		nas_candidate c;
		if ((rc = nas_sample(s, seed, i, &c, e)) != 0)
			goto out;
		char name[40];
		snprintf(name, sizeof name, "cand_%05" PRIu64 ".yaml", i);
		char *cp = path_join(tmp, name);
		outfile f;
		if (cp == NULL) {
			nas_candidate_fini(&c);
			rc = asim_errorf(e, ASIM_ENOMEM, "out of memory");
			goto out;
		}
		rc = outfile_open(&f, cp, e);
		asim_free(cp);
		if (rc == 0) {
			outfile_write(&f, c.text, c.len);
			rc = outfile_commit(&f, e);
		}
		if (rc == 0)
			written = i + 1;
		if (rc == 0)
			index_row(&idx, s, i, &c, code);
		nas_candidate_fini(&c);
		if (rc)
			goto out;
	}
	if ((rc = outfile_commit(&idx, e)) != 0)
		goto out;
	if (rename(tmp, dir) != 0) {
		rc = asim_errorf(e, ASIM_EIO, "%s: cannot rename %s to it: %s", dir, tmp, strerror(errno));
		goto out;
	}
	made = 0;
out:
	if (rc)
		outfile_abort(&idx);
	if (made)
		remove_tmpdir(tmp, written);
	asim_free(tmp);
	asim_free(dir);
	asim_free(code);
	return rc;
}
