/*
 * testchip.h -- chips built in C for the engine and ISA tests (no YAML loader needed).
 *
 * tc_trn1() fills a chip with the public NeuronCore-v2 / trn1 figures of design.md §2:
 *   PE array 128 × 128 at 2.8 GHz, bf16 rate 1, fp32 rate ¼, min II 64 cycles, moving ≤ 512;
 *   vector engine 128 lanes at 1.12 GHz; scalar (activation) engine 128 lanes at 1.4 GHz;
 *   SBUF 128 partitions × 192 KiB; PSUM 128 partitions × 16 KiB in 8 banks (2 KiB per bank);
 *   16 DMA engines per core; HBM 32 GiB at 820 GB/s per chip (2 cores).
 * Figures design.md does not give (fill/drain, fixed overheads, DMA engine peak and fixed cost)
 * are set to round test values here, and every test that depends on them says so and derives
 * its expectation from them by hand. The chip is static data: never chip_fini() it.
 */
#ifndef ASIM_TESTCHIP_H
#define ASIM_TESTCHIP_H

#include <string.h>

#include "sim/chip.h"

static inline void tc_trn1(chip *c)
{
	static char name[] = "trn1-test";
	static char source[] = "tests/testchip.h";
	memset(c, 0, sizeof *c);
	c->name = name;
	c->source = source;
	c->cores = 2;
	c->pe.rows = 128;
	c->pe.cols = 128;
	c->pe.dataflow = CHIP_WEIGHT_STATIONARY;
	c->pe.mode = CHIP_PE_PIPELINED;
	c->pe.clock_ghz = 2.8;
	c->pe.rate[ASIM_DT_BF16] = 1;
	c->pe.rate[ASIM_DT_FP16] = 1;
	c->pe.rate[ASIM_DT_FP8_E4M3] = 1;
	c->pe.rate[ASIM_DT_FP8_E5M2] = 1;
	c->pe.rate[ASIM_DT_FP32] = 0.25;
	c->pe.min_ii_cycles = 64;
	c->pe.fill_cycles = 128;
	c->pe.drain_cycles = 128;
	c->pe.max_moving = 512;
	c->vector = (chip_engine){128, 1.12, 1.0, 64, 64};
	c->scalar = (chip_engine){128, 1.4, 1.0, 64, 64};
	c->sbuf.partitions = 128;
	c->sbuf.partition_bytes = 192 * 1024;
	c->psum.partitions = 128;
	c->psum.banks = 8;
	c->psum.partition_bytes = 16 * 1024;
	c->dma.engines = 16;
	c->dma.engine_gb_per_s = 28.0;
	c->dma.fixed_ns = 100.0;
	c->dma.efficient_bytes = 512;
	c->hbm.capacity_bytes = 32ull << 30;
	c->hbm.bandwidth_gb_per_s = 820.0;
	c->hbm.latency_ns = 0.0;
	c->num.accum = ASIM_DT_FP32;
	c->num.rounding = ASIM_RND_RNE;
	c->num.sr_bits = 32;
	c->num.seed = 0;
	c->peak_flops[ASIM_DT_BF16] = 2.0 * 128 * 128 * 2.8e9;
	c->peak_flops[ASIM_DT_FP32] = 0.25 * 2.0 * 128 * 128 * 2.8e9;
	c->sbuf_bytes = 128ull * 192 * 1024;
	c->psum_bytes = 128ull * 16 * 1024;
	c->psum_bank_bytes = 2048;
	memcpy(c->hash, "0123456789abcdef", 17);
}

#endif
