/*
 * test_isa.c -- the one instruction table and its views: names, engines, timing rules, round trip.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "isa/asm.h"
#include "isa/isa.h"
#include "isa/timing.h"
#include "sim/alloc.h"
#include "tests/testchip.h"
#include "tests/testutil.h"

Test(isa, opcode_names_are_unique_and_invert)
{
	for (int i = 0; i < ISA_OP_COUNT; i++) {
		cr_assert_not_null(isa_opcode_names[i]);
		cr_expect_gt(strlen(isa_opcode_names[i]), 0);
		cr_expect_eq(isa_opcode_from_name(isa_opcode_names[i]), i, "%s", isa_opcode_names[i]);
		for (int j = 0; j < i; j++)
			cr_expect_str_neq(isa_opcode_names[i], isa_opcode_names[j]);
	}
	cr_expect_eq(isa_opcode_from_name("nonsense"), -1);
	for (int i = 0; i < ISA_ALU_COUNT; i++)
		cr_expect_eq(isa_alu_from_name(isa_alu_names[i]), i);
}

Test(isa, every_opcode_has_an_engine_a_timing_rule_and_semantics)
{
	for (int i = 0; i < ISA_OP_COUNT; i++) {
		isa_engine e = isa_opcode_engine((isa_opcode)i);
		cr_expect_lt((int)e, ISA_ENG_COUNT);
		cr_expect_not_null(isa_time_table[i], "%s has no timing rule", isa_opcode_names[i]);
		cr_expect_gt(strlen(isa_opcode_semantics[i]), 5, "%s has no semantics", isa_opcode_names[i]);
		cr_expect_gt(strlen(isa_opcode_timing[i]), 0);
	}
	/* the timing rule of a class is the same function for every opcode of the class */
	for (int i = 0; i < ISA_OP_COUNT; i++)
		for (int j = 0; j < ISA_OP_COUNT; j++)
			if (strcmp(isa_opcode_timing[i], isa_opcode_timing[j]) == 0)
				cr_expect(isa_time_table[i] == isa_time_table[j]);
}

Test(isa, access_pattern_measures)
{
	/* 128 partitions × 8 × 16 bf16 elements: 16384 elements, 32768 bytes */
	isa_ap a = {ISA_MEM_SBUF, ASIM_DT_BF16, 128, 0, 100, 0, {8, 16}, {0, 0}};
	isa_ap_set_contiguous(&a);
	cr_expect_eq(a.stride[0], 2u);
	cr_expect_eq(a.stride[1], 16u);
	cr_expect_eq(isa_ap_elems(&a), 16384u);
	cr_expect_eq(isa_ap_bytes(&a), 32768u);
	cr_expect_eq(isa_ap_run_bytes(&a), 256u);       /* one partition's 8·16·2 bytes */
	cr_expect_eq(isa_ap_extent(&a), 100u + 256u);   /* offset + bytes per partition */
	a.stride[1] = 64;                                /* rows of 16 bytes, 64 apart */
	cr_expect_eq(isa_ap_run_bytes(&a), 16u);
	cr_expect_eq(isa_ap_extent(&a), 100u + 15 * 64 + 7 * 2 + 2);
	a.stride[0] = 4;                                 /* every other element */
	cr_expect_eq(isa_ap_run_bytes(&a), 2u);
	/* HBM rows back to back make one run */
	isa_ap h = {ISA_MEM_HBM, ASIM_DT_FP32, 4, 0, 0, 0, {10, 1}, {0, 0}};
	isa_ap_set_contiguous(&h);
	cr_expect_eq(h.pstride, 40u);
	cr_expect_eq(isa_ap_run_bytes(&h), 160u);
	h.pstride = 64;
	cr_expect_eq(isa_ap_run_bytes(&h), 40u);
	cr_expect_eq(isa_ap_extent(&h), 3 * 64 + 40u);
}

static void roundtrip_text(const char *text)
{
	isa_program p, q, r;
	asim_err e;
	asim_err_init(&e);
	cr_assert_eq(asm_parse("a.s", text, strlen(text), &p, NULL, &e), 0, "%s", e.msg);
	unsigned char *b1, *b2;
	size_t n1, n2;
	cr_assert_eq(asm_encode(&p, &b1, &n1), 0);
	cr_expect_eq(n1, ASM_HEADER_BYTES + p.n * ASM_RECORD_BYTES);
	cr_assert_eq(asm_decode("a.bin", b1, n1, &q, &e), 0, "%s", e.msg);
	/* disassemble: canonical text */
	size_t cap = 1 << 16, len = 0;
	char *canon = calloc(cap, 1);
	for (size_t i = 0; i < q.n; i++) {
		len += asm_format_inst(&q.insts[i], canon + len, cap - len);
		canon[len++] = '\n';
	}
	cr_assert_eq(asm_parse("b.s", canon, len, &r, NULL, &e), 0, "%s\n%s", e.msg, canon);
	cr_assert_eq(asm_encode(&r, &b2, &n2), 0);
	cr_expect_eq(n1, n2);
	cr_expect(memcmp(b1, b2, n1) == 0, "re-assembled bytes differ:\n%s", canon);
	/* the canonical text is a fixed point */
	for (size_t i = 0; i < r.n; i++) {
		char a1[1024], a2[1024];
		asm_format_inst(&q.insts[i], a1, sizeof a1);
		asm_format_inst(&r.insts[i], a2, sizeof a2);
		cr_expect_str_eq(a1, a2);
	}
	free(canon);
	asim_free(b1);
	asim_free(b2);
	isa_program_fini(&p);
	isa_program_fini(&q);
	isa_program_fini(&r);
}

Test(isa, every_opcode_survives_assemble_disassemble_assemble)
{
	char *path = tu_srcpath("tests/asm/every_opcode.s");
	size_t len;
	char *text = tu_read_file(path, &len);
	cr_assert_not_null(text);
	isa_program p;
	asim_err e;
	asim_err_init(&e);
	cr_assert_eq(asm_parse(path, text, len, &p, NULL, &e), 0, "%s", e.msg);
	int seen[ISA_OP_COUNT] = {0};
	for (size_t i = 0; i < p.n; i++)
		seen[p.insts[i].opcode] = 1;
	for (int i = 0; i < ISA_OP_COUNT; i++)
		cr_expect(seen[i], "every_opcode.s lacks '%s'", isa_opcode_names[i]);
	/* it also fits trn1 */
	chip c;
	tc_trn1(&c);
	cr_expect_eq(asm_check(&p, NULL, &c, &e), 0, "%s", e.msg);
	isa_program_fini(&p);
	roundtrip_text(text);
	free(text);
	free(path);
}

Test(isa, canonical_text_leaves_out_defaults_and_keeps_the_rest)
{
	const char *in = "dma   @q3  src=hbm.bf16[n=64,off=0,rows=1]   dst=sbuf.bf16[n=64x1,p=0:1]  # x\n";
	isa_program p;
	asim_err e;
	asim_err_init(&e);
	cr_assert_eq(asm_parse("a.s", in, strlen(in), &p, NULL, &e), 0, "%s", e.msg);
	char buf[512];
	asm_format_inst(&p.insts[0], buf, sizeof buf);
	cr_expect_str_eq(buf, "dma @q3 dst=sbuf.bf16[p=0:1,n=64] src=hbm.bf16[n=64]");
	isa_program_fini(&p);
	roundtrip_text("tensor_scalar alu=sub imm=0.100000001 dst=sbuf.fp32[p=3:5,off=8,n=2x3,s=8x48] src=psum.fp32[p=0:2,n=6]\n"
	               "activate func=silu dst=sbuf.bf16[p=0:1,n=1] src=sbuf.bf16[p=0:1,off=2,n=1] wait s65534>=4294967295\n");
}

Test(isa, binary_decoder_refuses_damaged_files)
{
	const char *text = "signal @pe s0\nwait @act s0>=1\n";
	isa_program p, q;
	asim_err e;
	asim_err_init(&e);
	cr_assert_eq(asm_parse("a.s", text, strlen(text), &p, NULL, &e), 0);
	unsigned char *b;
	size_t n;
	cr_assert_eq(asm_encode(&p, &b, &n), 0);
	cr_expect_eq(n, 40u + 2 * 170u);
	cr_expect(memcmp(b, "ASIMPRG\0", 8) == 0);
	cr_expect_eq(b[8], 1);          /* version 1, little-endian */
	cr_expect_eq(b[16], 2);         /* two instructions */
	cr_expect_eq(b[24], 1);         /* one semaphore */
	/* the first record: opcode SEM_SIGNAL (index 9 in the table), engine 0 (pe), signal 0 */
	cr_expect_eq(b[40] | b[41] << 8, ISA_OP_SEM_SIGNAL);
	cr_expect_eq(b[42], ISA_ENG_PE);
	cr_expect_eq(b[46] | b[47] << 8, 0);
	asim_err_init(&e);
	cr_expect_eq(asm_decode("x", b, n - 1, &q, &e), ASIM_ESYNTAX);   /* truncated */
	b[100] ^= 1;
	asim_err_init(&e);
	cr_expect_eq(asm_decode("x", b, n, &q, &e), ASIM_ESYNTAX);
	cr_expect_not_null(strstr(e.msg, "CRC"), "%s", e.msg);
	b[100] ^= 1;
	b[8] = 2;
	asim_err_init(&e);
	cr_expect_eq(asm_decode("x", b, n, &q, &e), ASIM_EUNSUPPORTED);
	cr_expect_not_null(strstr(e.msg, "version 2"), "%s", e.msg);
	b[0] = 'X';
	asim_err_init(&e);
	cr_expect_eq(asm_decode("x", b, n, &q, &e), ASIM_ESYNTAX);
	asim_free(b);
	isa_program_fini(&p);
}

#include "isa/lower.h"
#include "sim/graph.h"

/* Programs the lowering produces survive the binary round trip and re-assemble to identical bytes
 * (so every field the lowering sets has a text form), and they pass the chip check. */
Test(isa, lowered_programs_round_trip_through_text)
{
	static const char *const graphs[] = {"models/graphs/mlp.yaml", "models/graphs/mobilenet_v2.yaml",
	                                     "models/graphs/bert_base_layer_s128.yaml"};
	chip c;
	asim_err e;
	asim_err_init(&e);
	cr_assert_eq(chip_load_default(&c, &e), 0, "%s", e.msg);
	for (size_t k = 0; k < sizeof graphs / sizeof graphs[0]; k++) {
		char *path = tu_srcpath(graphs[k]);
		graph g;
		isa_program p, q;
		cr_assert_eq(graph_load_file(&g, path, &e), 0, "%s", e.msg);
		lower_opts lo = {0};
		isa_program_init(&p);   /* lower_graph (main at 6b9e676) appends to an initialised program */
		cr_assert_eq(lower_graph(&g, &c, &lo, &p, &e), 0, "%s", e.msg);
		cr_expect_eq(asm_check(&p, NULL, &c, &e), 0, "%s: %s", graphs[k], e.msg);
		unsigned char *b1, *b2;
		size_t n1, n2;
		cr_assert_eq(asm_encode(&p, &b1, &n1), 0);
		size_t cap = p.n * 600 + 1, len = 0;
		char *text = malloc(cap);
		for (size_t i = 0; i < p.n; i++) {
			len += asm_format_inst(&p.insts[i], text + len, cap - len);
			text[len++] = '\n';
		}
		cr_assert_lt(len, cap);
		cr_assert_eq(asm_parse("lowered.s", text, len, &q, NULL, &e), 0, "%s: %s", graphs[k], e.msg);
		q.nsems = p.nsems;          /* the lowering may declare semaphores it never uses */
		q.dma_queues = p.dma_queues;
		cr_assert_eq(asm_encode(&q, &b2, &n2), 0);
		cr_expect_eq(n1, n2, "%s: %zu vs %zu bytes", graphs[k], n1, n2);
		size_t at = ASM_HEADER_BYTES;   /* records first: the header's CRC follows from them */
		while (n1 == n2 && at < n1 && b1[at] == b2[at])
			at++;
		cr_expect(n1 == n2 && at == n1 && memcmp(b1, b2, ASM_HEADER_BYTES) == 0,
		          "%s: re-assembled bytes differ at byte %zu (instruction %zu, record byte %zu)",
		          graphs[k], at, (at - ASM_HEADER_BYTES) / ASM_RECORD_BYTES, (at - ASM_HEADER_BYTES) % ASM_RECORD_BYTES);
		free(text);
		asim_free(b1);
		asim_free(b2);
		isa_program_fini(&p);
		isa_program_fini(&q);
		graph_fini(&g);
		free(path);
	}
	chip_fini(&c);
}
