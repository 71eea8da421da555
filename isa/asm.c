/*
 * asm.c -- text assembly, canonical disassembly and the binary encoding (see asm.h, docs/isa.md).
 *
 * Grammar (one instruction per line; tokens separated by blanks; `#` starts a comment):
 *
 *     line     := [ mnemonic operand* ] [ '#' comment ]
 *     operand  := '@' engine                  pe | act | vec | qN  (DMA queue N)
 *              |  key '=' value               dst= src= src1= stat= mov= alu= func= scale= bias=
 *                                             imm= gop=
 *              |  'acc' | 'reduce' | 'gather' flags (matmul, activate, dma)
 *              |  ['wait'] 's'N '>=' V        a semaphore wait (at most two)
 *              |  'signal' 's'N               the semaphore signalled on completion
 *                                             (for the `signal` mnemonic the bare sN)
 *     ap       := mem '.' dtype '[' field (',' field)* ']'
 *     field    := 'p=' FIRST ':' END          partitions FIRST .. END-1   (sbuf, psum)
 *              |  'rows=' N | 'pstride=' B    rows and bytes between rows (hbm)
 *              |  'off=' B                    byte offset (in each partition, or in HBM)
 *              |  'n=' N0 ['x' N1]            elements per partition / row
 *              |  's=' S0 'x' S1              byte strides of the two free dimensions
 *
 * Defaults: off=0, n1=1, strides contiguous (s = esize x n0·esize), pstride = n0·n1·esize,
 * rows=1; activate: func=none scale=1 bias=0. The canonical text prints fields in the order above
 * and leaves out every field equal to its default.
 *
 * Every parsed instruction passes isa_validate_inst(); problems point at the operand's column.
 */
#include "isa/asm.h"
#include "sim/fileio.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "sim/alloc.h"
#include "sim/graph.h"

static const char *const act_names[] = {
#define X(name, str) str,
	GRAPH_ACT_LIST(X)
#undef X
};
#define N_ACT ((int)(sizeof act_names / sizeof act_names[0]))

void asm_srcmap_init(asm_srcmap *m) { memset(m, 0, sizeof *m); }

void asm_srcmap_fini(asm_srcmap *m)
{
	asim_free(m->file);
	asim_free(m->pos);
	memset(m, 0, sizeof *m);
}

/* ---- parsing ------------------------------------------------------------------------------ */

typedef struct pstate {
	const char *name;
	uint32_t line;
	asim_err *e;
} pstate;

static int perr(pstate *ps, int code, uint32_t col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int perr(pstate *ps, int code, uint32_t col, const char *fmt, ...)
{
	char msg[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return asim_error_at(ps->e, code, ps->name, ps->line, col, "%s", msg);
}

/* Parse an unsigned integer (decimal or 0x hex) at *s, advancing it. */
static int parse_uint_base(const char **s, uint64_t max, uint64_t *out, int allow_hex)
{
	const char *p = *s;
	if (*p < '0' || *p > '9')
		return ASIM_ESYNTAX;
	int base = (allow_hex && p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) ? 16 : 10;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(p, &end, base);
	if (end == p || (base == 16 && end == p + 2))
		return ASIM_ESYNTAX;
	if (errno == ERANGE || v > max)
		return ASIM_ERANGE;
	*out = v;
	*s = end;
	return ASIM_OK;
}

static char *escaped(char *buf, size_t n, const char *s, size_t len)
{
	char tmp[128];
	if (len >= sizeof tmp)
		len = sizeof tmp - 1;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	asim_escape(buf, n, tmp);
	return buf;
}

static int parse_uint(const char **s, uint64_t max, uint64_t *out)
{
	return parse_uint_base(s, max, out, 1);
}

/* Access pattern in [tok, tok+len) starting at column col. */
static int parse_ap(pstate *ps, const char *tok, size_t len, uint32_t col, isa_ap *a)
{
	char esc[160];
	memset(a, 0, sizeof *a);
	const char *end = tok + len;
	const char *dot = memchr(tok, '.', len);
	const char *br = memchr(tok, '[', len);
	if (dot == NULL || br == NULL || br < dot || end[-1] != ']')
		return perr(ps, ASIM_ESYNTAX, col,
		            "expected an access pattern MEM.DTYPE[fields], e.g. sbuf.bf16[p=0:128,n=512], got '%s'",
		            escaped(esc, sizeof esc, tok, len));
	char word[32];
	size_t wl = (size_t)(dot - tok);
	if (wl >= sizeof word)
		wl = sizeof word - 1;
	memcpy(word, tok, wl);
	word[wl] = '\0';
	int mem = isa_mem_from_name(word);
	if (mem <= 0) {
		static const char *const mems[] = {"hbm", "sbuf", "psum"};
		const char *hint = asim_suggest(word, mems, 3);
		return perr(ps, ASIM_ESYNTAX, col, "unknown memory '%s'%s%s%s (hbm, sbuf or psum)",
		            escaped(esc, sizeof esc, tok, wl), hint ? " (did you mean '" : "",
		            hint ? hint : "", hint ? "'?)" : "");
	}
	wl = (size_t)(br - dot - 1);
	if (wl >= sizeof word)
		wl = sizeof word - 1;
	memcpy(word, dot + 1, wl);
	word[wl] = '\0';
	int dt = asim_dtype_from_name(word);
	if (dt < 0) {
		const char *hint = asim_suggest(word, asim_dtype_names, ASIM_DT_COUNT);
		return perr(ps, ASIM_ESYNTAX, col + (uint32_t)(dot + 1 - tok), "unknown dtype '%s'%s%s%s",
		            escaped(esc, sizeof esc, dot + 1, wl), hint ? " (did you mean '" : "",
		            hint ? hint : "", hint ? "'?)" : "");
	}
	a->mem = (uint8_t)mem;
	a->dtype = (uint8_t)dt;
	uint64_t esz = asim_dtype_bytes((asim_dtype)dt);
	int have_p = 0, have_rows = 0, have_n = 0, have_s = 0, have_pstride = 0, have_off = 0;
	uint64_t s0 = 0, s1 = 0, pstride = 0;
	a->nparts = 1;
	const char *f = br + 1;
	while (f < end - 1) {
		const char *fe = memchr(f, ',', (size_t)(end - 1 - f));
		if (fe == NULL)
			fe = end - 1;
		uint32_t fcol = col + (uint32_t)(f - tok);
		const char *eq = memchr(f, '=', (size_t)(fe - f));
		if (eq == NULL)
			return perr(ps, ASIM_ESYNTAX, fcol, "expected key=value in an access pattern, got '%s'",
			            escaped(esc, sizeof esc, f, (size_t)(fe - f)));
		size_t kl = (size_t)(eq - f);
		const char *v = eq + 1;
		uint32_t vcol = col + (uint32_t)(v - tok);
		uint64_t x = 0, y = 0;
		int rc = 0;
#define KEY(s) (kl == sizeof(s) - 1 && memcmp(f, s, kl) == 0)
#define NUM(max, dst)                                                                       \
	do {                                                                                    \
		rc = parse_uint(&v, (max), &(dst));                                                 \
		if (rc)                                                                             \
			return perr(ps, rc, (uint32_t)(col + (v - tok)),                                \
			            rc == ASIM_ERANGE ? "number out of range (at most %llu)"              \
			                              : "expected a number%.0llu",                        \
			            (unsigned long long)(max));                                          \
	} while (0)
#define DEC(max, dst)                                                                       \
	do {                                                                                    \
		rc = parse_uint_base(&v, (max), &(dst), 0);                                         \
		if (rc)                                                                             \
			return perr(ps, rc, (uint32_t)(col + (v - tok)),                                \
			            rc == ASIM_ERANGE ? "number out of range (at most %llu)"              \
			                              : "expected a decimal number%.0llu",                \
			            (unsigned long long)(max));                                          \
	} while (0)
		int dup = 0;
		if (KEY("p")) {
			if (mem == ISA_MEM_HBM)
				return perr(ps, ASIM_ESYNTAX, fcol, "p= (partitions) belongs to sbuf and psum; HBM has rows=");
			dup = have_p++;
			NUM(65535, x);
			if (*v != ':')
				return perr(ps, ASIM_ESYNTAX, (uint32_t)(col + (v - tok)),
				            "expected p=FIRST:END (partitions FIRST to END-1)");
			v++;
			NUM(65536, y);
			if (y <= x)
				return perr(ps, ASIM_ERANGE, vcol, "empty partition range %llu:%llu",
				            (unsigned long long)x, (unsigned long long)y);
			if (y - x > 65535)
				return perr(ps, ASIM_ERANGE, vcol, "at most 65535 partitions");
			a->part = (uint16_t)x;
			a->nparts = (uint16_t)(y - x);
		} else if (KEY("rows")) {
			if (mem != ISA_MEM_HBM)
				return perr(ps, ASIM_ESYNTAX, fcol, "rows= belongs to hbm; sbuf and psum have p=");
			dup = have_rows++;
			NUM(65535, x);
			if (x == 0)
				return perr(ps, ASIM_ERANGE, vcol, "rows must be at least 1");
			a->nparts = (uint16_t)x;
		} else if (KEY("pstride")) {
			if (mem != ISA_MEM_HBM)
				return perr(ps, ASIM_ESYNTAX, fcol, "pstride= belongs to hbm");
			dup = have_pstride++;
			NUM(UINT64_MAX >> 8, pstride);
		} else if (KEY("off")) {
			dup = have_off++;
			NUM(UINT64_MAX >> 8, a->offset);
		} else if (KEY("n")) {
			dup = have_n++;
			DEC(UINT32_MAX, x);   /* decimal: 'x' separates the dimensions */
			y = 1;
			if (*v == 'x') {
				v++;
				DEC(UINT32_MAX, y);
			}
			if (x == 0 || y == 0)
				return perr(ps, ASIM_ERANGE, vcol, "n must be at least 1 in each dimension");
			a->n[0] = (uint32_t)x;
			a->n[1] = (uint32_t)y;
		} else if (KEY("s")) {
			dup = have_s++;
			DEC(UINT64_MAX >> 8, s0);   /* decimal: s=0x4 is strides 0 and 4 */
			if (*v != 'x')
				return perr(ps, ASIM_ESYNTAX, (uint32_t)(col + (v - tok)),
				            "expected s=STRIDE0xSTRIDE1 (bytes)");
			v++;
			DEC(UINT64_MAX >> 8, s1);
		} else {
			static const char *const keys[] = {"p", "rows", "pstride", "off", "n", "s"};
			char k[32];
			escaped(k, sizeof k, f, kl);
			const char *hint = asim_suggest(k, keys, 6);
			return perr(ps, ASIM_ESYNTAX, fcol, "unknown access-pattern field '%s'%s%s%s", k,
			            hint ? " (did you mean '" : "", hint ? hint : "", hint ? "'?)" : "");
		}
#undef NUM
#undef DEC
#undef KEY
		if (dup)
			return perr(ps, ASIM_ESYNTAX, fcol, "field given twice");
		if (v != fe)
			return perr(ps, ASIM_ESYNTAX, (uint32_t)(col + (v - tok)), "unexpected '%s'",
			            escaped(esc, sizeof esc, v, (size_t)(fe - v)));
		f = fe + 1;
	}
	if (!have_n)
		return perr(ps, ASIM_ESYNTAX, col, "access pattern without n= (elements per %s)",
		            mem == ISA_MEM_HBM ? "row" : "partition");
	if (mem != ISA_MEM_HBM && !have_p)
		return perr(ps, ASIM_ESYNTAX, col, "%s access pattern without p=FIRST:END", isa_mem_names[mem]);
	(void)have_rows;
	isa_ap_set_contiguous(a);
	if (have_s) {
		a->stride[0] = s0;
		a->stride[1] = s1;
	}
	if (have_pstride)
		a->pstride = pstride;
	(void)esz;
	return ASIM_OK;
}

static int parse_sem(pstate *ps, const char *t, size_t len, uint32_t col, int want_cond,
                     uint16_t *sem, uint32_t *val)
{
	char esc[96];
	const char *v = t + 1;
	uint64_t x, y = 0;
	if (len < 2 || t[0] != 's' || parse_uint(&v, 65534, &x) != ASIM_OK)
		return perr(ps, ASIM_ESYNTAX, col, want_cond ? "expected a wait condition sN>=V, got '%s'"
		                                            : "expected a semaphore sN, got '%s'",
		            escaped(esc, sizeof esc, t, len));
	if (want_cond) {
		if ((size_t)(v - t) + 2 > len || v[0] != '>' || v[1] != '=')
			return perr(ps, ASIM_ESYNTAX, col + (uint32_t)(v - t), "expected '>=' in sN>=V");
		v += 2;
		int rc = parse_uint(&v, UINT32_MAX, &y);
		if (rc)
			return perr(ps, rc, col + (uint32_t)(v - t), "expected a value V (0 .. 4294967295) in sN>=V");
	}
	if (v != t + len)
		return perr(ps, ASIM_ESYNTAX, col + (uint32_t)(v - t), "unexpected '%s'",
		            escaped(esc, sizeof esc, v, (size_t)(t + len - v)));
	*sem = (uint16_t)x;
	*val = (uint32_t)y;
	return ASIM_OK;
}

static int parse_float(pstate *ps, const char *v, size_t len, uint32_t col, float *out)
{
	char buf[64], esc[80];
	if (len == 0 || len >= sizeof buf)
		return perr(ps, ASIM_ESYNTAX, col, "expected a number");
	memcpy(buf, v, len);
	buf[len] = '\0';
	char *end;
	errno = 0;
	float f = strtof(buf, &end);
	if (end != buf + len || !isfinite(f) || buf[0] == ' ')
		return perr(ps, ASIM_ESYNTAX, col, "expected a finite number, got '%s'",
		            escaped(esc, sizeof esc, v, len));
	*out = f;
	return ASIM_OK;
}

typedef struct tok {
	const char *s;
	size_t len;
	uint32_t col;
} tok;

#define MAX_TOKS 32

static int uses_alu(int op)
{
	return op == ISA_OP_TENSOR_TENSOR || op == ISA_OP_TENSOR_SCALAR || op == ISA_OP_TENSOR_REDUCE;
}

static int parse_line(pstate *ps, tok *t, size_t nt, isa_inst *in, asm_pos *pos)
{
	char esc[96];
	memset(in, 0, sizeof *in);
	memset(pos, 0, sizeof *pos);
	in->signal = ISA_NO_SEM;
	in->wait_sem[0] = in->wait_sem[1] = ISA_NO_SEM;
	in->gop = ISA_NO_GOP;
	in->line = ps->line;
	pos->line = ps->line;
	char mn[32];
	escaped(mn, sizeof mn, t[0].s, t[0].len);
	int op = (t[0].len < sizeof mn) ? isa_opcode_from_name(mn) : -1;
	if (op < 0) {
		const char *hint = asim_suggest(mn, isa_opcode_names, ISA_OP_COUNT);
		return perr(ps, ASIM_ESYNTAX, t[0].col, "unknown instruction '%s'%s%s%s", mn,
		            hint ? " (did you mean '" : "", hint ? hint : "", hint ? "'?)" : "");
	}
	in->opcode = (uint16_t)op;
	pos->col[ISA_ROLE_INST] = t[0].col;
	pos->col[ISA_ROLE_ENGINE] = t[0].col;
	isa_engine eng = isa_opcode_engine((isa_opcode)op);
	int have_eng = 0, nwait = 0, have_sig = 0, have_gop = 0, have_func = 0;
	int have_scale = 0, have_bias = 0, have_imm = 0;
	int have_ap[3] = {0, 0, 0};
	if (op == ISA_OP_ACTIVATE)
		in->scale = 1.0f;
	for (size_t i = 1; i < nt; i++) {
		const char *s = t[i].s;
		size_t len = t[i].len;
		uint32_t col = t[i].col;
		const char *eq = memchr(s, '=', len);
		if (s[0] == '@') {
			if (have_eng++)
				return perr(ps, ASIM_ESYNTAX, col, "engine given twice");
			pos->col[ISA_ROLE_ENGINE] = col;
			isa_engine ge;
			uint64_t qn = 0;
			if (len == 3 && memcmp(s, "@pe", 3) == 0)
				ge = ISA_ENG_PE;
			else if (len == 4 && memcmp(s, "@act", 4) == 0)
				ge = ISA_ENG_ACT;
			else if (len == 4 && memcmp(s, "@vec", 4) == 0)
				ge = ISA_ENG_VEC;
			else if (len >= 3 && s[1] == 'q') {
				const char *v = s + 2;
				int rc = parse_uint(&v, 255, &qn);
				if (rc || v != s + len)
					return perr(ps, rc ? rc : ASIM_ESYNTAX, col, "expected a DMA queue @q0 .. @q255");
				ge = ISA_ENG_DMA;
			} else
				return perr(ps, ASIM_ESYNTAX, col, "unknown engine '%s' (@pe, @act, @vec or @qN)",
				            escaped(esc, sizeof esc, s, len));
			if (eng != ISA_ENG_ANY && ge != eng)
				return perr(ps, ASIM_ESYNTAX, col, "'%s' runs on %s, not on %s",
				            isa_opcode_names[op], eng == ISA_ENG_DMA ? "a DMA queue @qN" : isa_engine_names[eng],
				            escaped(esc, sizeof esc, s + 1, len - 1));
			in->engine = (uint8_t)ge;
			in->queue = (uint8_t)qn;
		} else if (eq == NULL && len == 4 && memcmp(s, "wait", 4) == 0) {
			if (i + 1 >= nt)
				return perr(ps, ASIM_ESYNTAX, col + 4, "'wait' needs a condition sN>=V");
			i++;
			goto wait_cond;
		} else if (eq == NULL && len == 6 && memcmp(s, "signal", 6) == 0) {
			if (i + 1 >= nt)
				return perr(ps, ASIM_ESYNTAX, col + 6, "'signal' needs a semaphore sN");
			i++;
			goto signal_sem;
		} else if (s[0] == 's' && len > 1 && s[1] >= '0' && s[1] <= '9' && memchr(s, '>', len) != NULL) {
		wait_cond:
			if (nwait >= 2)
				return perr(ps, ASIM_ESYNTAX, t[i].col, "at most two waits per instruction");
			pos->col[nwait ? ISA_ROLE_WAIT1 : ISA_ROLE_WAIT0] = t[i].col;
			int rc = parse_sem(ps, t[i].s, t[i].len, t[i].col, 1, &in->wait_sem[nwait], &in->wait_val[nwait]);
			if (rc)
				return rc;
			nwait++;
		} else if (eq == NULL && s[0] == 's' && len > 1 && s[1] >= '0' && s[1] <= '9' &&
		           op == ISA_OP_SEM_SIGNAL) {
		signal_sem:
			if (have_sig++)
				return perr(ps, ASIM_ESYNTAX, t[i].col, "one signal per instruction");
			pos->col[ISA_ROLE_SIGNAL] = t[i].col;
			uint32_t dummy;
			int rc = parse_sem(ps, t[i].s, t[i].len, t[i].col, 0, &in->signal, &dummy);
			if (rc)
				return rc;
		} else if (eq == NULL && len == 3 && memcmp(s, "acc", 3) == 0) {
			if (op != ISA_OP_MATMUL)
				return perr(ps, ASIM_ESYNTAX, col, "'acc' belongs to matmul");
			in->flags |= ISA_F_ACCUMULATE;
		} else if (eq == NULL && len == 6 && memcmp(s, "gather", 6) == 0) {
			if (op != ISA_OP_DMA_COPY)
				return perr(ps, ASIM_ESYNTAX, col, "'gather' belongs to dma");
			in->flags |= ISA_F_GATHER;
		} else if (eq != NULL) {
			size_t kl = (size_t)(eq - s);
			const char *v = eq + 1;
			size_t vl = len - kl - 1;
			uint32_t vcol = col + (uint32_t)kl + 1;
#define KEY(k) (kl == sizeof(k) - 1 && memcmp(s, k, kl) == 0)
			int slot = -1;
			if (KEY("dst"))
				slot = 0;
			else if (KEY("src") || KEY("stat"))
				slot = 1;
			else if (KEY("src1") || KEY("mov"))
				slot = 2;
			if (slot >= 0) {
				int is_mm = (op == ISA_OP_MATMUL);
				if (slot > 0 && is_mm != (KEY("stat") || KEY("mov")))
					return perr(ps, ASIM_ESYNTAX, col, is_mm ? "matmul takes stat= and mov= operands"
					                                        : "stat= and mov= belong to matmul (use src= / src1=)");
				if (have_ap[slot]++)
					return perr(ps, ASIM_ESYNTAX, col, "operand given twice");
				isa_ap *a = slot == 0 ? &in->dst : &in->src[slot - 1];
				pos->col[slot == 0 ? ISA_ROLE_DST : slot == 1 ? ISA_ROLE_SRC0 : ISA_ROLE_SRC1] = vcol;
				int rc = parse_ap(ps, v, vl, vcol, a);
				if (rc)
					return rc;
			} else if (KEY("alu")) {
				if (isa_opcode_engine((isa_opcode)op) != ISA_ENG_VEC)
					return perr(ps, ASIM_ESYNTAX, col, "'%s' takes no alu=", isa_opcode_names[op]);
				char w[32];
				escaped(w, sizeof w, v, vl);
				int a = vl < sizeof w ? isa_alu_from_name(w) : -1;
				if (a < 0)
					return perr(ps, ASIM_ESYNTAX, vcol, "unknown ALU operation '%s'", w);
				if (have_func++)
					return perr(ps, ASIM_ESYNTAX, col, "alu= given twice");
				in->func = (uint8_t)a;
			} else if (KEY("func")) {
				if (op != ISA_OP_ACTIVATE)
					return perr(ps, ASIM_ESYNTAX, col, "func= belongs to activate");
				char w[32];
				escaped(w, sizeof w, v, vl);
				int a = -1;
				for (int k = 0; k < N_ACT && vl < sizeof w; k++)
					if (strcmp(act_names[k], w) == 0)
						a = k;
				if (a < 0) {
					const char *hint = asim_suggest(w, act_names, N_ACT);
					return perr(ps, ASIM_ESYNTAX, vcol, "unknown activation function '%s'%s%s%s", w,
					            hint ? " (did you mean '" : "", hint ? hint : "", hint ? "'?)" : "");
				}
				if (have_func++)
					return perr(ps, ASIM_ESYNTAX, col, "func= given twice");
				in->func = (uint8_t)a;
			} else if (KEY("scale") || KEY("bias")) {
				if (op != ISA_OP_ACTIVATE)
					return perr(ps, ASIM_ESYNTAX, col, "scale= and bias= belong to activate");
				int *h = KEY("scale") ? &have_scale : &have_bias;
				if ((*h)++)
					return perr(ps, ASIM_ESYNTAX, col, "given twice");
				int rc = parse_float(ps, v, vl, vcol, KEY("scale") ? &in->scale : &in->bias);
				if (rc)
					return rc;
			} else if (KEY("imm")) {
				if (op != ISA_OP_TENSOR_SCALAR)
					return perr(ps, ASIM_ESYNTAX, col, "imm= belongs to tensor_scalar");
				if (have_imm++)
					return perr(ps, ASIM_ESYNTAX, col, "imm= given twice");
				int rc = parse_float(ps, v, vl, vcol, &in->scale);
				if (rc)
					return rc;
			} else if (KEY("gop")) {
				uint64_t g;
				const char *vv = v;
				int rc = parse_uint(&vv, (1u << 24) - 1, &g);
				if (rc || vv != v + vl)
					return perr(ps, rc ? rc : ASIM_ESYNTAX, vcol, "expected a graph-op index 0 .. 16777215");
				if (have_gop++)
					return perr(ps, ASIM_ESYNTAX, col, "gop= given twice");
				in->gop = (uint32_t)g;
			} else {
				static const char *const keys[] = {"dst", "src", "src1", "stat", "mov", "alu",
				                                   "func", "scale", "bias", "imm", "gop"};
				char k[32];
				escaped(k, sizeof k, s, kl);
				const char *hint = asim_suggest(k, keys, sizeof keys / sizeof keys[0]);
				return perr(ps, ASIM_ESYNTAX, col, "unknown operand '%s='%s%s%s", k,
				            hint ? " (did you mean '" : "", hint ? hint : "", hint ? "='?)" : "");
			}
#undef KEY
		} else {
			return perr(ps, ASIM_ESYNTAX, col, "unexpected '%s'", escaped(esc, sizeof esc, s, len));
		}
	}
	if (eng != ISA_ENG_ANY && eng != ISA_ENG_DMA)
		in->engine = (uint8_t)eng;
	if (!have_eng && (eng == ISA_ENG_ANY || eng == ISA_ENG_DMA))
		return perr(ps, ASIM_ESYNTAX, t[0].col + (uint32_t)t[0].len, "'%s' needs an engine: %s",
		            isa_opcode_names[op], eng == ISA_ENG_DMA ? "a DMA queue @q0, @q1, ..." : "@pe, @act, @vec or @qN");
	if (uses_alu(op) && !have_func)
		return perr(ps, ASIM_ESYNTAX, t[0].col, "'%s' needs alu=%s", isa_opcode_names[op],
		            op == ISA_OP_TENSOR_REDUCE ? "add|max|..." : "add|mul|...");
	if (op == ISA_OP_TENSOR_SCALAR && !have_imm)
		return perr(ps, ASIM_ESYNTAX, t[0].col, "tensor_scalar needs imm=");
	isa_problem pb;
	int rc = isa_validate_inst(in, &pb);
	if (rc) {
		uint32_t col = pos->col[pb.role] ? pos->col[pb.role] : t[0].col;
		return perr(ps, rc, col, "%s", pb.msg);
	}
	return ASIM_OK;
}

int asm_parse(const char *name, const char *text, size_t len, isa_program *p, asm_srcmap *m,
              asim_err *e)
{
	isa_program_init(p);
	asm_srcmap tmp;
	asm_srcmap *map = m ? m : &tmp;
	asm_srcmap_init(map);
	pstate ps = {name, 0, e};
	int rc = ASIM_OK;
	p->source = asim_strdup(name);
	map->file = asim_strdup(name);
	if (p->source == NULL || map->file == NULL) {
		rc = asim_errorf(e, ASIM_ENOMEM, "out of memory");
		goto fail;
	}
	uint32_t maxsem = 0, maxq = 0;
	int any_sem = 0, any_q = 0;
	const char *s = text, *end = text + len;
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		const char *le = nl ? nl : end;
		ps.line++;
		tok t[MAX_TOKS];
		size_t nt = 0;
		for (const char *c = s; c < le;) {
			unsigned char ch = (unsigned char)*c;
			if (ch == ' ' || ch == '\t' || ch == '\r') {
				c++;
				continue;
			}
			if (ch == '#')
				break;
			if (ch < 0x20 || ch >= 0x7f) {
				rc = perr(&ps, ASIM_ESYNTAX, (uint32_t)(c - s + 1),
				          "unexpected byte 0x%02x (assembly is ASCII text)", ch);
				goto fail;
			}
			const char *b = c;
			while (c < le && *c != ' ' && *c != '\t' && *c != '\r' && *c != '#')
				c++;
			if (nt == MAX_TOKS) {
				rc = perr(&ps, ASIM_ESYNTAX, (uint32_t)(b - s + 1), "too many operands (at most %d)",
				          MAX_TOKS - 1);
				goto fail;
			}
			t[nt++] = (tok){b, (size_t)(c - b), (uint32_t)(b - s + 1)};
		}
		s = nl ? nl + 1 : end;
		if (nt == 0)
			continue;
		isa_inst in;
		asm_pos pos;
		if ((rc = parse_line(&ps, t, nt, &in, &pos)) != 0)
			goto fail;
		if (isa_program_push(p, &in) != ASIM_OK) {
			rc = asim_errorf(e, ASIM_ENOMEM, "out of memory");
			goto fail;
		}
		if (map->n == map->cap) {
			void *v = map->pos;
			if (asim_grow(&v, &map->cap, map->n + 1, sizeof *map->pos)) {
				rc = asim_errorf(e, ASIM_ENOMEM, "out of memory");
				goto fail;
			}
			map->pos = v;
		}
		map->pos[map->n++] = pos;
		const uint16_t sems[3] = {in.signal, in.wait_sem[0], in.wait_sem[1]};
		for (int k = 0; k < 3; k++)
			if (sems[k] != ISA_NO_SEM) {
				any_sem = 1;
				if (sems[k] > maxsem)
					maxsem = sems[k];
			}
		if (in.engine == ISA_ENG_DMA) {
			any_q = 1;
			if (in.queue > maxq)
				maxq = in.queue;
		}
	}
	p->nsems = any_sem ? maxsem + 1 : 0;
	p->dma_queues = any_q ? maxq + 1 : 0;
	if (m == NULL)
		asm_srcmap_fini(&tmp);
	return ASIM_OK;
fail:
	isa_program_fini(p);
	asm_srcmap_fini(map);
	return rc;
}

int asm_parse_file(const char *path, isa_program *p, asm_srcmap *m, asim_err *e)
{
	char *buf;
	size_t len;
	isa_program_init(p);
	if (m)
		asm_srcmap_init(m);
	int rc = asim_read_file(path, &buf, &len, e);
	if (rc)
		return rc;
	rc = asm_parse(path, buf, len, p, m, e);
	asim_free(buf);
	return rc;
}

int asm_check(const isa_program *p, const asm_srcmap *m, const chip *c, asim_err *e)
{
	isa_problem pb;
	int rc = isa_check(p, c, &pb);
	if (rc == ASIM_OK)
		return ASIM_OK;
	const char *file = (m && m->file) ? m->file : (p->source ? p->source : "program");
	if (m && pb.inst < m->n) {
		const asm_pos *ps = &m->pos[pb.inst];
		uint32_t col = ps->col[pb.role] ? ps->col[pb.role] : ps->col[ISA_ROLE_INST];
		return asim_error_at(e, rc, file, ps->line, col, "%s", pb.msg);
	}
	return asim_errorf(e, rc, "%s: instruction %zu: %s", file, pb.inst, pb.msg);
}

/* ---- canonical text ----------------------------------------------------------------------- */

typedef struct sbuf_ {
	char *b;
	size_t n, len;
} strbuf;

static void sb_printf(strbuf *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(strbuf *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int k = vsnprintf(s->len < s->n ? s->b + s->len : NULL, s->len < s->n ? s->n - s->len : 0, fmt, ap);
	va_end(ap);
	if (k > 0)
		s->len += (size_t)k;
}

static void format_ap(strbuf *s, const char *key, const isa_ap *a)
{
	isa_ap def = *a;
	isa_ap_set_contiguous(&def);
	sb_printf(s, " %s=%s.%s[", key, a->mem < ISA_MEM_COUNT ? isa_mem_names[a->mem] : "?",
	          a->dtype < ASIM_DT_COUNT ? asim_dtype_names[a->dtype] : "?");
	const char *sep = "";
	if (a->mem == ISA_MEM_HBM) {
		if (a->nparts != 1) {
			sb_printf(s, "rows=%u", a->nparts);
			sep = ",";
		}
		if (a->pstride != def.pstride) {
			sb_printf(s, "%spstride=%llu", sep, (unsigned long long)a->pstride);
			sep = ",";
		}
	} else {
		sb_printf(s, "p=%u:%u", a->part, (unsigned)a->part + a->nparts);
		sep = ",";
	}
	if (a->offset) {
		sb_printf(s, "%soff=%llu", sep, (unsigned long long)a->offset);
		sep = ",";
	}
	if (a->n[1] != 1)
		sb_printf(s, "%sn=%ux%u", sep, a->n[0], a->n[1]);
	else
		sb_printf(s, "%sn=%u", sep, a->n[0]);
	if (a->stride[0] != def.stride[0] || a->stride[1] != def.stride[1])
		sb_printf(s, ",s=%llux%llu", (unsigned long long)a->stride[0], (unsigned long long)a->stride[1]);
	sb_printf(s, "]");
}

size_t asm_format_inst(const isa_inst *in, char *buf, size_t n)
{
	strbuf s = {buf, n, 0};
	if (n)
		buf[0] = '\0';
	int op = in->opcode;
	sb_printf(&s, "%s", op < ISA_OP_COUNT ? isa_opcode_names[op] : "?");
	isa_engine eng = op < ISA_OP_COUNT ? isa_opcode_engine((isa_opcode)op) : ISA_ENG_ANY;
	if (eng == ISA_ENG_ANY || eng == ISA_ENG_DMA) {
		if (in->engine == ISA_ENG_DMA)
			sb_printf(&s, " @q%u", in->queue);
		else
			sb_printf(&s, " @%s", in->engine < ISA_ENG_COUNT ? isa_engine_names[in->engine] : "?");
	}
	if (op == ISA_OP_SEM_WAIT)
		for (int k = 0; k < 2; k++)
			if (in->wait_sem[k] != ISA_NO_SEM)
				sb_printf(&s, " s%u>=%u", in->wait_sem[k], in->wait_val[k]);
	if (op == ISA_OP_SEM_SIGNAL)
		sb_printf(&s, " s%u", in->signal);
	if (uses_alu(op) || (op < ISA_OP_COUNT && isa_opcode_engine((isa_opcode)op) == ISA_ENG_VEC && in->func))
		sb_printf(&s, " alu=%s", in->func < ISA_ALU_COUNT ? isa_alu_names[in->func] : "?");
	if (op == ISA_OP_ACTIVATE) {
		sb_printf(&s, " func=%s", in->func < N_ACT ? act_names[in->func] : "?");
		if (in->scale != 1.0f)
			sb_printf(&s, " scale=%.9g", (double)in->scale);
		if (in->bias != 0.0f)
			sb_printf(&s, " bias=%.9g", (double)in->bias);
	}
	if (op == ISA_OP_TENSOR_SCALAR)
		sb_printf(&s, " imm=%.9g", (double)in->scale);
	if (in->flags & ISA_F_ACCUMULATE)
		sb_printf(&s, " acc");
	if (in->flags & ISA_F_GATHER)
		sb_printf(&s, " gather");
	if (in->dst.mem != ISA_MEM_NONE)
		format_ap(&s, "dst", &in->dst);
	if (in->src[0].mem != ISA_MEM_NONE)
		format_ap(&s, op == ISA_OP_MATMUL ? "stat" : "src", &in->src[0]);
	if (in->src[1].mem != ISA_MEM_NONE)
		format_ap(&s, op == ISA_OP_MATMUL ? "mov" : "src1", &in->src[1]);
	if (op != ISA_OP_SEM_WAIT)
		for (int k = 0; k < 2; k++)
			if (in->wait_sem[k] != ISA_NO_SEM)
				sb_printf(&s, " wait s%u>=%u", in->wait_sem[k], in->wait_val[k]);
	if (op != ISA_OP_SEM_SIGNAL && in->signal != ISA_NO_SEM)
		sb_printf(&s, " signal s%u", in->signal);
	if (in->gop != ISA_NO_GOP)
		sb_printf(&s, " gop=%u", in->gop);
	return s.len;
}

/* ---- binary ------------------------------------------------------------------------------- */

static void put16(unsigned char *p, uint16_t v) { p[0] = (unsigned char)v; p[1] = (unsigned char)(v >> 8); }
static void put32(unsigned char *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i)); }
static void put64(unsigned char *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i)); }
static uint16_t get16(const unsigned char *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t get64(const unsigned char *p) { return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32; }
static uint32_t fbits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static float bitsf(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

static void put_ap(unsigned char *p, const isa_ap *a)
{
	p[0] = a->mem;
	p[1] = a->dtype;
	put16(p + 2, a->nparts);
	put16(p + 4, a->part);
	put64(p + 6, a->offset);
	put64(p + 14, a->pstride);
	put32(p + 22, a->n[0]);
	put32(p + 26, a->n[1]);
	put64(p + 30, a->stride[0]);
	put64(p + 38, a->stride[1]);
}

static void get_ap(const unsigned char *p, isa_ap *a)
{
	memset(a, 0, sizeof *a);
	a->mem = p[0];
	a->dtype = p[1];
	a->nparts = get16(p + 2);
	a->part = get16(p + 4);
	a->offset = get64(p + 6);
	a->pstride = get64(p + 14);
	a->n[0] = get32(p + 22);
	a->n[1] = get32(p + 26);
	a->stride[0] = get64(p + 30);
	a->stride[1] = get64(p + 38);
}

int asm_encode(const isa_program *p, unsigned char **out, size_t *outlen)
{
	if (p->n > (SIZE_MAX - ASM_HEADER_BYTES) / ASM_RECORD_BYTES)
		return ASIM_ENOMEM;
	size_t len = ASM_HEADER_BYTES + p->n * ASM_RECORD_BYTES;
	unsigned char *b = asim_calloc(len, 1);
	if (b == NULL)
		return ASIM_ENOMEM;
	memcpy(b, ASM_MAGIC, 8);
	put32(b + 8, ASM_VERSION);
	put32(b + 12, ASM_RECORD_BYTES);
	put64(b + 16, p->n);
	put32(b + 24, p->nsems);
	put32(b + 28, p->dma_queues);
	for (size_t i = 0; i < p->n; i++) {
		const isa_inst *in = &p->insts[i];
		unsigned char *r = b + ASM_HEADER_BYTES + i * ASM_RECORD_BYTES;
		put16(r, in->opcode);
		r[2] = in->engine;
		r[3] = in->queue;
		r[4] = in->func;
		r[5] = in->flags;
		put16(r + 6, in->signal);
		put16(r + 8, in->wait_sem[0]);
		put16(r + 10, in->wait_sem[1]);
		put32(r + 12, in->wait_val[0]);
		put32(r + 16, in->wait_val[1]);
		put32(r + 20, in->gop);
		/* fields an opcode does not use are encoded as 0, so the encoding is canonical */
		int sc = in->opcode == ISA_OP_ACTIVATE || in->opcode == ISA_OP_TENSOR_SCALAR;
		put32(r + 24, sc ? fbits(in->scale) : 0);
		put32(r + 28, in->opcode == ISA_OP_ACTIVATE ? fbits(in->bias) : 0);
		put_ap(r + 32, &in->dst);
		put_ap(r + 78, &in->src[0]);
		put_ap(r + 124, &in->src[1]);
	}
	uLong crc = crc32(0L, Z_NULL, 0);
	const unsigned char *rec = b + ASM_HEADER_BYTES;
	for (size_t left = p->n * ASM_RECORD_BYTES; left > 0;) {
		uInt chunk = left > (1u << 30) ? (1u << 30) : (uInt)left;
		crc = crc32(crc, rec, chunk);
		rec += chunk;
		left -= chunk;
	}
	put32(b + 32, (uint32_t)crc);
	*out = b;
	*outlen = len;
	return ASIM_OK;
}

int asm_decode(const char *name, const unsigned char *b, size_t len, isa_program *p, asim_err *e)
{
	isa_program_init(p);
	if (len < ASM_HEADER_BYTES || memcmp(b, ASM_MAGIC, 8) != 0)
		return asim_errorf(e, ASIM_ESYNTAX, "%s: not an accelsim program binary (bad magic)", name);
	uint32_t ver = get32(b + 8);
	if (ver != ASM_VERSION)
		return asim_errorf(e, ASIM_EUNSUPPORTED, "%s: binary version %u, this accelsim reads version %u",
		                   name, ver, ASM_VERSION);
	if (get32(b + 12) != ASM_RECORD_BYTES)
		return asim_errorf(e, ASIM_ESYNTAX, "%s: record size %u, expected %u", name, get32(b + 12),
		                   ASM_RECORD_BYTES);
	uint64_t n = get64(b + 16);
	if (n > (len - ASM_HEADER_BYTES) / ASM_RECORD_BYTES || len != ASM_HEADER_BYTES + n * ASM_RECORD_BYTES)
		return asim_errorf(e, ASIM_ESYNTAX, "%s: %zu bytes, but the header announces %llu instructions "
		                   "(%llu bytes)", name, len, (unsigned long long)n,
		                   (unsigned long long)(ASM_HEADER_BYTES + n * (uint64_t)ASM_RECORD_BYTES));
	uLong crc = crc32(0L, Z_NULL, 0);
	const unsigned char *rec = b + ASM_HEADER_BYTES;
	for (size_t left = (size_t)n * ASM_RECORD_BYTES; left > 0;) {
		uInt chunk = left > (1u << 30) ? (1u << 30) : (uInt)left;
		crc = crc32(crc, rec, chunk);
		rec += chunk;
		left -= chunk;
	}
	if ((uint32_t)crc != get32(b + 32))
		return asim_errorf(e, ASIM_ESYNTAX, "%s: CRC mismatch: the file is damaged", name);
	if (get32(b + 36) != 0)
		return asim_errorf(e, ASIM_ESYNTAX, "%s: reserved header field is not zero", name);
	p->nsems = get32(b + 24);
	p->dma_queues = get32(b + 28);
	if (p->nsems > ISA_NO_SEM || p->dma_queues > 256)
		return asim_errorf(e, ASIM_ESYNTAX, "%s: %u semaphores, %u DMA queues: out of range", name,
		                   p->nsems, p->dma_queues);
	p->source = asim_strdup(name);
	if (p->source == NULL)
		return asim_errorf(e, ASIM_ENOMEM, "out of memory");
	for (uint64_t i = 0; i < n; i++) {
		const unsigned char *r = b + ASM_HEADER_BYTES + i * ASM_RECORD_BYTES;
		isa_inst in;
		memset(&in, 0, sizeof in);
		in.opcode = get16(r);
		in.engine = r[2];
		in.queue = r[3];
		in.func = r[4];
		in.flags = r[5];
		in.signal = get16(r + 6);
		in.wait_sem[0] = get16(r + 8);
		in.wait_sem[1] = get16(r + 10);
		in.wait_val[0] = get32(r + 12);
		in.wait_val[1] = get32(r + 16);
		in.gop = get32(r + 20);
		in.scale = bitsf(get32(r + 24));
		in.bias = bitsf(get32(r + 28));
		get_ap(r + 32, &in.dst);
		get_ap(r + 78, &in.src[0]);
		get_ap(r + 124, &in.src[1]);
		isa_problem pb;
		int rc = isa_validate_inst(&in, &pb);
		const uint16_t sems[3] = {in.signal, in.wait_sem[0], in.wait_sem[1]};
		for (int k = 0; k < 3 && rc == 0; k++)
			if (sems[k] != ISA_NO_SEM && sems[k] >= p->nsems) {
				rc = ASIM_ESYNTAX;
				snprintf(pb.msg, sizeof pb.msg, "semaphore s%u beyond the header's %u", sems[k], p->nsems);
			}
		if (rc == 0 && (!isfinite(in.scale) || !isfinite(in.bias))) {
			rc = ASIM_ESYNTAX;
			snprintf(pb.msg, sizeof pb.msg, "non-finite scale or bias");
		}
		if (rc == 0 && in.engine == ISA_ENG_DMA && in.queue >= p->dma_queues) {
			rc = ASIM_ESYNTAX;
			snprintf(pb.msg, sizeof pb.msg, "DMA queue %u beyond the header's %u", in.queue, p->dma_queues);
		}
		if (rc == 0 && in.gop != ISA_NO_GOP && in.gop >= (1u << 24)) {
			rc = ASIM_ESYNTAX;
			snprintf(pb.msg, sizeof pb.msg, "graph-op index %u out of range", in.gop);
		}
		if (rc == 0 && isa_program_push(p, &in) != ASIM_OK)
			rc = ASIM_ENOMEM, snprintf(pb.msg, sizeof pb.msg, "out of memory");
		if (rc) {
			isa_program_fini(p);
			return asim_errorf(e, rc, "%s: instruction %llu (byte %llu): %s", name, (unsigned long long)i,
			                   (unsigned long long)(ASM_HEADER_BYTES + i * ASM_RECORD_BYTES), pb.msg);
		}
	}
	return ASIM_OK;
}
