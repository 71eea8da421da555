/*
 * asm.h -- the text assembly and the binary encoding of programs (docs/isa.md).
 *
 * Text: one instruction per line, `#` to end of line is a comment:
 *
 *     dma    @q0 dst=sbuf.bf16[p=0:128,n=512] src=hbm.bf16[rows=128,n=512] signal s0
 *     matmul acc dst=psum.fp32[p=0:128,n=512] stat=sbuf.bf16[p=0:128,n=128] \
 *            mov=sbuf.bf16[p=0:128,off=1024,n=512] wait s0>=1 signal s1      (one line really)
 *
 * Binary (version 1, little-endian throughout):
 *
 *     offset  size  field
 *          0     8  magic "ASIMPRG\0"
 *          8     4  version = 1
 *         12     4  record size in bytes (= 170)
 *         16     8  instruction count
 *         24     4  semaphores (nsems)
 *         28     4  DMA queues used
 *         32     4  CRC-32 (zlib) of all records
 *         36     4  reserved, 0
 *         40     …  records, one per instruction:
 *
 *     +0 opcode u16 | +2 engine u8 | +3 queue u8 | +4 func u8 | +5 flags u8 | +6 signal u16
 *     +8 wait_sem[0] u16 | +10 wait_sem[1] u16 | +12 wait_val[0] u32 | +16 wait_val[1] u32
 *     +20 gop u32 | +24 scale f32 | +28 bias f32 | +32 dst | +78 src0 | +124 src1   (170 bytes)
 *     access pattern (46 bytes): mem u8 | dtype u8 | nparts u16 | part u16 | offset u64 |
 *                                pstride u64 | n[0] u32 | n[1] u32 | stride[0] u64 | stride[1] u64
 *
 * Source lines are not encoded; scale and bias are encoded only for the opcodes that use them
 * (activate; tensor_scalar's imm), 0 otherwise. disassemble(assemble(x)) is the canonical text of x, and
 * assembling that again gives identical bytes.
 */
#ifndef ASIM_ASM_H
#define ASIM_ASM_H

#include <stddef.h>
#include <stdint.h>

#include "isa/isa.h"
#include "sim/chip.h"

#define ASM_MAGIC "ASIMPRG"
#define ASM_VERSION 1u
#define ASM_HEADER_BYTES 40u
#define ASM_RECORD_BYTES 170u

/* Where each instruction and its operands are in the source (1-based; 0 when absent). */
typedef struct asm_pos {
	uint32_t line;
	uint32_t col[ISA_ROLE_COUNT];
} asm_pos;

typedef struct asm_srcmap {
	char *file;                /* owned */
	asm_pos *pos;              /* owned, one per instruction */
	size_t n, cap;
} asm_srcmap;

void asm_srcmap_init(asm_srcmap *m);
void asm_srcmap_fini(asm_srcmap *m);

/* Parse assembly text. `name` is used in messages. On success *p (and *m unless NULL) hold the
 * program; on failure they are empty and `e` holds `name:line:col: message`. */
int asm_parse(const char *name, const char *text, size_t len, isa_program *p /* OUT */,
              asm_srcmap *m /* OUT, may be NULL */, asim_err *e);
int asm_parse_file(const char *path, isa_program *p /* OUT */, asm_srcmap *m /* OUT, may be NULL */,
                   asim_err *e);

/* isa_check() with positions: `file:line:col: message`. */
int asm_check(const isa_program *p, const asm_srcmap *m, const chip *c, asim_err *e);

/* Canonical text of one instruction (no newline). Returns the length it needs (snprintf-like). */
size_t asm_format_inst(const isa_inst *in, char *buf, size_t n);

/* Binary encoding. asm_encode allocates *buf (asim_free it). asm_decode validates every field
 * (magic, version, sizes, CRC, each instruction as isa_validate_inst does). */
int asm_encode(const isa_program *p, unsigned char **buf /* OUT */, size_t *len /* OUT */);
int asm_decode(const char *name, const unsigned char *buf, size_t len, isa_program *p /* OUT */,
               asim_err *e);

#endif
