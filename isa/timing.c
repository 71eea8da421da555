/*
 * timing.c -- the per-instruction timing rules (see timing.h and docs/timing-model.md).
 *
 * Rules, in the engine's own cycles (C = cycles, ticks = C × period of the engine's clock):
 *
 *   matmul, pipelined PE (trn1; AWS Neuron "NKI performance guide", cost of nc_matmul):
 *       K = partitions of the stationary = of the moving operand (contraction)
 *       M = elements per partition of the stationary (N_stationary, ≤ pe.cols)
 *       N = elements per partition of the moving     (N_moving,     ≤ pe.max_moving)
 *       occupy  = ceil( max(min(pe.min_ii, M), N) / rate )      rate = pe.rate[dtype], fp32 ¼
 *       latency = occupy + pe.fill + pe.drain                   (pipeline depth, hidden in a stream)
 *   matmul, serial folds (SCALE-Sim, weight stationary: 2·Sr + Sc + T − 2 cycles per fold):
 *       occupy  = latency = pe.fill + ceil(N / rate) + pe.drain
 *   vec / act (vector and scalar engines; Neuron docs: one element per lane per cycle, a fixed
 *   per-instruction overhead, a minimum initiation interval):
 *       passes  = ceil(partitions / lanes),  E = largest elements-per-partition of the operands
 *       occupy  = latency = max(min_ii, fixed + ceil(passes · E / elems_per_cycle))
 *   dma: fixed phase = dma.fixed_ns per descriptor (one instruction = one descriptor; a gather, one
 *       per destination row) + hbm.latency_ns
 *       when HBM is read or written; then max(src, dst) bytes at up to
 *       engine_gb_per_s × min(1, run / efficient_bytes), run = the shorter contiguous run of the
 *       two access patterns; the engine shares HBM among the transfers in flight.
 *       Descriptor prefetch (dma.descriptors_in_flight = D > 1): in a burst of back-to-back
 *       descriptors of one queue, descriptor i's fixed phase starts when descriptor i-D+1
 *       enters its data phase (the DMA engine reads ahead in its descriptor ring and has its
 *       HBM requests outstanding), so only max(0, fixed - elapsed since then) is paid.
 *   sync (wait / signal): zero time; the engine accounts for the waiting.
 */
#include "isa/timing.h"

#include <math.h>
#include <string.h>

const isa_time_fn isa_time_table[ISA_OP_COUNT] = {
#define OPCODE(name, mnem, engine, timing, sem) isa_time_##timing,
#include "isa/opcodes.def"
#undef OPCODE
};

#define FALLBACK_KHZ 1000000000000ull   /* 1 fs tick */

static uint64_t gcd_u64(uint64_t a, uint64_t b)
{
	while (b) {
		uint64_t t = a % b;
		a = b;
		b = t;
	}
	return a;
}

/* The clock in kHz when it is a whole number of kHz (to 1e-6 kHz: a decimal GHz figure such as
 * 2.8 is 2800000.0000000005 kHz in a double), else 0. */
static uint64_t whole_khz(double ghz)
{
	double khz = ghz * 1e6;
	double r = nearbyint(khz);
	if (r < 1 || r > 1e12 || fabs(khz - r) > 1e-6)
		return 0;
	return (uint64_t)r;
}

int isa_clock_derive(const chip *c, isa_clock *clk, asim_err *e)
{
	memset(clk, 0, sizeof *clk);
	clk->clock_ghz[ISA_CLK_PE] = c->pe.clock_ghz;
	clk->clock_ghz[ISA_CLK_ACT] = c->scalar.clock_ghz;
	clk->clock_ghz[ISA_CLK_VEC] = c->vector.clock_ghz;
	uint64_t lcm = 1000000;   /* 1 GHz: whole nanoseconds are whole ticks */
	int exact = 1;
	for (int d = 0; d < ISA_CLK_COUNT; d++) {
		if (!(clk->clock_ghz[d] > 0) || !isfinite(clk->clock_ghz[d]))
			return asim_errorf(e, ASIM_ERANGE, "chip '%s': clock of domain %d is %g GHz",
			                   c->name ? c->name : "?", d, clk->clock_ghz[d]);
		uint64_t k = whole_khz(clk->clock_ghz[d]);
		if (k == 0) {
			exact = 0;
			continue;
		}
		if (!exact)
			continue;
		uint64_t g = gcd_u64(lcm, k);
		uint64_t m = k / g;
		if (lcm > FALLBACK_KHZ / m)
			exact = 0;
		else
			lcm *= m;
	}
	clk->exact = exact;
	clk->tick_khz = exact ? lcm : FALLBACK_KHZ;
	clk->tick_hz = (double)clk->tick_khz * 1e3;
	for (int d = 0; d < ISA_CLK_COUNT; d++) {
		if (exact) {
			uint64_t k = whole_khz(clk->clock_ghz[d]);
			ASIM_ASSERT(clk->tick_khz % k == 0);
			clk->period[d] = clk->tick_khz / k;
			clk->period_f[d] = (double)clk->period[d];
		} else {
			clk->period_f[d] = clk->tick_hz / (clk->clock_ghz[d] * 1e9);
		}
	}
	return ASIM_OK;
}

uint64_t isa_cycles_to_ticks(const isa_clock *clk, isa_clock_domain d, uint64_t cycles)
{
	if (clk->exact)
		return cycles * clk->period[d];
	return (uint64_t)llround((double)cycles * clk->period_f[d]);
}

uint64_t isa_ns_to_ticks(const isa_clock *clk, double ns)
{
	if (!(ns > 0))
		return 0;
	return (uint64_t)llround(ns * clk->tick_hz * 1e-9);
}

double isa_ticks_to_ns(const isa_clock *clk, uint64_t ticks)
{
	return (double)ticks * 1e9 / clk->tick_hz;
}

double isa_dma_efficiency(const chip *c, uint64_t run)
{
	if (c->dma.efficient_bytes == 0 || run >= c->dma.efficient_bytes)
		return 1.0;
	if (run == 0)
		return 1.0;
	return (double)run / (double)c->dma.efficient_bytes;
}

uint64_t isa_dma_fixed_left(const chip *c, uint64_t fixed, uint64_t since)
{
	if (c->dma.descriptors_in_flight <= 1)
		return fixed;
	return since >= fixed ? 0 : fixed - since;
}

void isa_time_dma(const chip *c, const isa_clock *clk, const isa_inst *in, isa_cost *out)
{
	memset(out, 0, sizeof *out);
	const isa_ap *s = &in->src[0], *d = &in->dst;
	uint64_t sb = isa_ap_bytes(s), db = isa_ap_bytes(d);
	uint64_t rs = isa_ap_run_bytes(s), rd = isa_ap_run_bytes(d);
	uint64_t run = rs < rd ? rs : rd;
	out->hbm = (s->mem == ISA_MEM_HBM || d->mem == ISA_MEM_HBM);
	/* a gather is one descriptor per destination row (its addresses are not adjacent) */
	double ndesc = (in->flags & ISA_F_GATHER) ? (double)d->nparts : 1.0;
	if (in->flags & ISA_F_GATHER) {
		uint64_t row = isa_ap_free_elems(d) * asim_dtype_bytes((asim_dtype)d->dtype);
		if (row < run)
			run = row;
	}
	double fixed_ns = c->dma.fixed_ns * ndesc + (out->hbm ? c->hbm.latency_ns : 0.0);
	out->latency = isa_ns_to_ticks(clk, fixed_ns);
	out->occupy = out->latency;
	out->bytes = (double)(sb > db ? sb : db);
	out->peak = c->dma.engine_gb_per_s * 1e9 / clk->tick_hz * isa_dma_efficiency(c, run);
}

void isa_time_matmul(const chip *c, const isa_clock *clk, const isa_inst *in, isa_cost *out)
{
	memset(out, 0, sizeof *out);
	const isa_ap *st = &in->src[0], *mv = &in->src[1];
	uint64_t K = st->nparts, M = isa_ap_free_elems(st), N = isa_ap_free_elems(mv);
	double rs = c->pe.rate[st->dtype], rm = c->pe.rate[mv->dtype];
	double rate = rs < rm ? rs : rm;
	ASIM_ASSERT(rate > 0);   /* isa_check refuses dtypes the PE array cannot multiply */
	uint64_t cyc;
	if (c->pe.mode == CHIP_PE_SERIAL_FOLDS) {
		/* the streamed dimension: moving columns (WS, IS), the contraction (OS) */
		uint64_t T = c->pe.dataflow == CHIP_OUTPUT_STATIONARY ? K : N;
		cyc = (uint64_t)c->pe.fill_cycles + isa_ceil_div((double)T, rate) + c->pe.drain_cycles;
		out->occupy = out->latency = isa_cycles_to_ticks(clk, ISA_CLK_PE, cyc);
	} else {
		uint64_t m = M < c->pe.min_ii_cycles ? M : c->pe.min_ii_cycles;
		uint64_t base = m > N ? m : N;
		cyc = isa_ceil_div((double)base, rate);
		out->occupy = isa_cycles_to_ticks(clk, ISA_CLK_PE, cyc);
		out->latency = isa_cycles_to_ticks(clk, ISA_CLK_PE,
		                                   cyc + c->pe.fill_cycles + c->pe.drain_cycles);
	}
	out->cycles = cyc;
	out->macs = K * M * N;
	out->flops = 2 * out->macs;
}

static void time_lanes(const chip_engine *g, const isa_clock *clk, isa_clock_domain dom,
                       const isa_inst *in, isa_cost *out)
{
	memset(out, 0, sizeof *out);
	const isa_ap *aps[3] = {&in->dst, &in->src[0], &in->src[1]};
	uint64_t E = 0, parts = 0;
	for (int i = 0; i < 3; i++) {
		if (aps[i]->mem == ISA_MEM_NONE)
			continue;
		uint64_t f = isa_ap_free_elems(aps[i]);
		if (f > E)
			E = f;
		if (aps[i]->nparts > parts)
			parts = aps[i]->nparts;
	}
	uint64_t lanes = g->lanes ? g->lanes : 1;
	uint64_t passes = (parts + lanes - 1) / lanes;
	uint64_t data = isa_ceil_div((double)(passes * E), g->elems_per_cycle > 0 ? g->elems_per_cycle : 1);
	uint64_t cyc = g->fixed_cycles + data;
	if (cyc < g->min_ii_cycles)
		cyc = g->min_ii_cycles;
	out->cycles = cyc;
	out->occupy = out->latency = isa_cycles_to_ticks(clk, dom, cyc);
	out->flops = isa_ap_elems(&in->dst);
	if (in->opcode == ISA_OP_TENSOR_REDUCE)
		out->flops = isa_ap_elems(&in->src[0]);
	/* data movement is no arithmetic: transposes, copies and bypass moves count no FLOPs */
	if (in->opcode == ISA_OP_TRANSPOSE || in->opcode == ISA_OP_TENSOR_COPY
	    || (in->opcode != ISA_OP_ACTIVATE && in->func == ISA_ALU_BYPASS))
		out->flops = 0;
}

void isa_time_vec(const chip *c, const isa_clock *clk, const isa_inst *in, isa_cost *out)
{
	time_lanes(&c->vector, clk, ISA_CLK_VEC, in, out);
}

void isa_time_act(const chip *c, const isa_clock *clk, const isa_inst *in, isa_cost *out)
{
	time_lanes(&c->scalar, clk, ISA_CLK_ACT, in, out);
}

void isa_time_sync(const chip *c, const isa_clock *clk, const isa_inst *in, isa_cost *out)
{
	(void)c; (void)clk; (void)in;
	memset(out, 0, sizeof *out);
}

static int ap_same(const isa_ap *a, const isa_ap *b)
{
	return a->mem == b->mem && a->dtype == b->dtype && a->nparts == b->nparts && a->part == b->part
	       && a->offset == b->offset && a->pstride == b->pstride && a->n[0] == b->n[0]
	       && a->n[1] == b->n[1] && a->stride[0] == b->stride[0] && a->stride[1] == b->stride[1];
}

int isa_matmul_continues(const chip *c, const isa_inst *prev, const isa_inst *in)
{
	if (c->pe.mode != CHIP_PE_SERIAL_FOLDS || prev == NULL || prev->opcode != ISA_OP_MATMUL
	    || in->opcode != ISA_OP_MATMUL)
		return 0;
	if (c->pe.dataflow == CHIP_OUTPUT_STATIONARY)
		return (in->flags & ISA_F_ACCUMULATE) && ap_same(&prev->dst, &in->dst);
	return ap_same(&prev->src[0], &in->src[0]);
}

void isa_time_matmul_continue(const chip *c, const isa_clock *clk, const isa_inst *in, isa_cost *out)
{
	const isa_ap *st = &in->src[0], *mv = &in->src[1];
	double rs = c->pe.rate[st->dtype], rm = c->pe.rate[mv->dtype];
	double rate = rs < rm ? rs : rm;
	uint64_t T = c->pe.dataflow == CHIP_OUTPUT_STATIONARY ? st->nparts : isa_ap_free_elems(mv);
	out->cycles = isa_ceil_div((double)T, rate);
	out->occupy = out->latency = isa_cycles_to_ticks(clk, ISA_CLK_PE, out->cycles);
}
