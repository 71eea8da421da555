/*
 * report.c -- the run summary, as text and as JSON (see report.h; docs/run.md lists every field).
 *
 * Every figure is derived from integer ticks and byte counts of the engine_result and printed
 * with fixed formats, so the same run gives the same bytes on the same platform.
 */
#include "sim/report.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "sim/alloc.h"

void report_hash(const void *data, size_t len, char out[17])
{
	const unsigned char *p = data;
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	snprintf(out, 17, "%016" PRIx64, h);
}

static double peak_flops(const chip *c)
{
	return 2.0 * c->pe.rows * c->pe.cols * c->pe.clock_ghz * 1e9 * c->pe.rate[ASIM_DT_BF16];
}

static double seconds(const engine_result *r) { return (double)r->end / r->clk.tick_hz; }

static uint64_t pe_cycles(const engine_result *r)
{
	/* core cycles: the PE clock; rounded up to whole cycles */
	double ticks_per_cycle = r->clk.period_f[ISA_CLK_PE];
	return (uint64_t)((double)r->end / ticks_per_cycle + 0.999999);
}

/* Indices of the slowest graph ops: longest span first, then lowest index. */
static size_t slowest(const engine_result *r, uint32_t *idx, size_t k)
{
	size_t n = 0;
	for (uint32_t g = 0; g < r->n_gops; g++) {
		if (r->gops[g].insts == 0)
			continue;
		uint64_t span = r->gops[g].end - r->gops[g].start;
		size_t j = n < k ? n++ : k;
		if (j == k) {
			uint64_t last = r->gops[idx[k - 1]].end - r->gops[idx[k - 1]].start;
			if (span <= last)
				continue;
			j = k - 1;
		}
		while (j > 0 && r->gops[idx[j - 1]].end - r->gops[idx[j - 1]].start < span) {
			idx[j] = idx[j - 1];
			j--;
		}
		idx[j] = g;
	}
	return n;
}

static void op_name(const report_meta *m, uint32_t g, char *buf, size_t n)
{
	if (m->gop_names && g < m->n_gop_names && m->gop_names[g])
		asim_escape(buf, n, m->gop_names[g]);
	else
		snprintf(buf, n, "op %" PRIu32, g);
}

#define TOP_MAX 64

int report_fits_budget(const report_extra *m)
{
	return !m || !m->have_budget || !m->traces || !m->traces->have_graph ||
	       m->traces->peak_hbm_bytes <= m->budget_bytes;
}

static void energy_text(outfile *f, const engine_result *r, const report_extra *m)
{
	const tracer_summary *t = m->traces;
	double tot = t->energy_total_pj, sec = seconds(r);
	outfile_printf(f, "  energy             %.3f uJ, %.4f pJ/FLOP, average power %.3f W\n", tot * 1e-6,
	               r->flops ? tot / (double)r->flops : 0.0, sec > 0 ? tot * 1e-12 / sec : 0.0);
	outfile_printf(f, "    by component    ");
	for (int k = 0; k < ENERGY_COUNT; k++)
		outfile_printf(f, " %s %.3f uJ (%.1f%%)%s", energy_names[k], t->energy_pj[k] * 1e-6,
		               tot > 0 ? 100.0 * t->energy_pj[k] / tot : 0.0, k + 1 < ENERGY_COUNT ? "," : "\n");
	outfile_printf(f, "    dynamic by dtype");
	int any = 0;
	for (int d = 0; d < ASIM_DT_COUNT; d++)
		if (t->energy_dtype_pj[d] != 0) {
			outfile_printf(f, "%s %s %.3f uJ", any ? "," : "", asim_dtype_names[d], t->energy_dtype_pj[d] * 1e-6);
			any = 1;
		}
	outfile_printf(f, "%s\n", any ? "" : " none");
}

static void memory_text(outfile *f, const engine_result *r, const report_extra *m)
{
	const tracer_summary *t = m->traces;
	if (!t->have_graph)
		return;
	outfile_printf(f, "  parameters         %" PRIu64 " bytes (all weights %" PRIu64 " bytes)\n", t->param_bytes,
	               t->weight_bytes);
	outfile_printf(f, "  peak activations   %" PRIu64 " bytes at %.3f ns (tensor liveness)\n",
	               t->peak_activation_bytes, isa_ticks_to_ns(&r->clk, t->peak_activation_tick));
	outfile_printf(f, "  peak HBM footprint %" PRIu64 " bytes (weights + peak activations) of %" PRIu64 "\n",
	               t->peak_hbm_bytes, m->hbm_capacity_bytes);
	if (m->have_budget) {
		if (report_fits_budget(m))
			outfile_printf(f, "  memory budget      %" PRIu64 " bytes: fits, %" PRIu64 " bytes to spare\n",
			               m->budget_bytes, m->budget_bytes - t->peak_hbm_bytes);
		else
			outfile_printf(f, "  memory budget      %" PRIu64 " bytes: DOES NOT FIT, %" PRIu64 " bytes over\n",
			               m->budget_bytes, t->peak_hbm_bytes - m->budget_bytes);
	}
}

int report_text(outfile *f, const chip *c, const engine_result *r, const report_meta *m)
{
	return report_text_with(f, c, r, m, NULL);
}

int report_text_with(outfile *f, const chip *c, const engine_result *r, const report_meta *m,
                     const report_extra *x)
{
	double ns = isa_ticks_to_ns(&r->clk, r->end), sec = seconds(r);
	double pk = peak_flops(c);
	uint64_t fl = m->has_model_flops ? m->model_flops : r->flops;
	double ach = sec > 0 ? (double)fl / sec : 0;
	uint64_t hbm = r->bytes_read[ISA_MEM_HBM] + r->bytes_written[ISA_MEM_HBM];
	char esc[256];
	asim_escape(esc, sizeof esc, m->input ? m->input : "-");
	outfile_printf(f, "accelsim %s: %s '%s' on chip '%s' (core 0 of %u)\n", m->version,
	               m->input_kind, esc, c->name ? c->name : "?", c->cores);
	outfile_printf(f, "  latency            %.3f ns  (%" PRIu64 " core cycles at %.3f GHz)\n", ns,
	               pe_cycles(r), c->pe.clock_ghz);
	outfile_printf(f, "  instructions       %" PRIu64 "\n", r->n_insts);
	outfile_printf(f, "  compute            %" PRIu64 " FLOP, %.3f TFLOP/s achieved of %.3f TFLOP/s peak bf16 (%.1f%%)\n",
	               fl, ach / 1e12, pk / 1e12, pk > 0 ? 100.0 * ach / pk : 0.0);
	outfile_printf(f, "  HBM traffic        %" PRIu64 " bytes (read %" PRIu64 ", written %" PRIu64 "), %.3f GB/s of %.3f GB/s\n",
	               hbm, r->bytes_read[ISA_MEM_HBM], r->bytes_written[ISA_MEM_HBM],
	               sec > 0 ? (double)hbm / sec / 1e9 : 0.0, c->hbm.bandwidth_gb_per_s);
	outfile_printf(f, "  SBUF high water    %" PRIu64 " bytes of %" PRIu64 "\n", r->sbuf_peak_bytes,
	               (uint64_t)c->sbuf.partitions * c->sbuf.partition_bytes);
	outfile_printf(f, "  PSUM high water    %" PRIu64 " bytes of %" PRIu64 "\n", r->psum_peak_bytes,
	               (uint64_t)c->psum.partitions * c->psum.partition_bytes);
	outfile_printf(f, "  engine utilisation (busy / latency; stall = waiting on a semaphore)\n");
	for (uint32_t q = 0; q < r->n_queues; q++) {
		const engine_queue_stats *s = &r->q[q];
		if (s->insts == 0 && q >= 3)
			continue;
		char name[16];
		engine_queue_name(q, name, sizeof name);
		outfile_printf(f, "    %-5s %6.1f%%  busy %.3f ns  stall %.3f ns  %" PRIu64 " instructions\n",
		               name, r->end ? 100.0 * (double)s->busy / (double)r->end : 0.0,
		               isa_ticks_to_ns(&r->clk, s->busy), isa_ticks_to_ns(&r->clk, s->stall), s->insts);
	}
	if (x && x->traces) {
		energy_text(f, r, x);
		memory_text(f, r, x);
	}
	uint32_t idx[TOP_MAX];
	size_t k = m->top_ops ? (m->top_ops > TOP_MAX ? TOP_MAX : m->top_ops) : 5;
	size_t n = slowest(r, idx, k);
	if (n > 0) {
		outfile_printf(f, "  slowest ops\n");
		for (size_t i = 0; i < n; i++) {
			const engine_gop_stats *g = &r->gops[idx[i]];
			op_name(m, idx[i], esc, sizeof esc);
			outfile_printf(f, "    %-24s %.3f ns  (from %.3f to %.3f ns, %" PRIu64 " instructions)\n", esc,
			               isa_ticks_to_ns(&r->clk, g->end - g->start), isa_ticks_to_ns(&r->clk, g->start),
			               isa_ticks_to_ns(&r->clk, g->end), g->insts);
		}
	}
	return ASIM_OK;
}

static void json_str(outfile *f, const char *s)
{
	outfile_puts(f, "\"");
	for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
		if (*p == '"' || *p == '\\')
			outfile_printf(f, "\\%c", *p);
		else if (*p < 0x20 || *p >= 0x7f)
			outfile_printf(f, "\\u%04x", *p);
		else
			outfile_printf(f, "%c", *p);
	}
	outfile_puts(f, "\"");
}

int report_json(outfile *f, const chip *c, const engine_result *r, const report_meta *m)
{
	return report_json_with(f, c, r, m, NULL);
}

int report_json_with(outfile *f, const chip *c, const engine_result *r, const report_meta *m,
                     const report_extra *x)
{
	double sec = seconds(r), pk = peak_flops(c);
	uint64_t fl = m->has_model_flops ? m->model_flops : r->flops;
	double ach = sec > 0 ? (double)fl / sec : 0;
	uint64_t hbm = r->bytes_read[ISA_MEM_HBM] + r->bytes_written[ISA_MEM_HBM];
	outfile_puts(f, "{\n  \"accelsim_version\": ");
	json_str(f, m->version);
	outfile_puts(f, ",\n  \"chip\": ");
	json_str(f, c->name);
	outfile_puts(f, ",\n  \"chip_hash\": ");
	json_str(f, c->hash);
	outfile_printf(f, ",\n  \"input_kind\": ");
	json_str(f, m->input_kind);
	outfile_puts(f, ",\n  \"input\": ");
	json_str(f, m->input);
	outfile_printf(f, ",\n  \"%s_hash\": ", strcmp(m->input_kind ? m->input_kind : "", "graph") == 0 ? "graph" : "program");
	json_str(f, m->input_hash);
	outfile_printf(f, ",\n  \"seed\": %" PRIu64 ",\n", m->seed);
	outfile_printf(f, "  \"core\": 0,\n  \"cores\": %u,\n", c->cores);
	outfile_printf(f, "  \"tick_hz\": %.0f,\n", r->clk.tick_hz);
	outfile_printf(f, "  \"latency_ticks\": %" PRIu64 ",\n", r->end);
	outfile_printf(f, "  \"latency_ns\": %.3f,\n", isa_ticks_to_ns(&r->clk, r->end));
	outfile_printf(f, "  \"latency_core_cycles\": %" PRIu64 ",\n", pe_cycles(r));
	outfile_printf(f, "  \"instructions\": %" PRIu64 ",\n", r->n_insts);
	outfile_printf(f, "  \"macs\": %" PRIu64 ",\n  \"flops\": %" PRIu64 ",\n", r->macs, fl);
	outfile_printf(f, "  \"executed_flops\": %" PRIu64 ",\n", r->flops);
	outfile_printf(f, "  \"achieved_flops_per_s\": %.6e,\n  \"peak_bf16_flops_per_s\": %.6e,\n", ach, pk);
	outfile_printf(f, "  \"flops_utilisation_fraction\": %.6f,\n", pk > 0 ? ach / pk : 0.0);
	outfile_printf(f, "  \"hbm_read_bytes\": %" PRIu64 ",\n  \"hbm_write_bytes\": %" PRIu64 ",\n",
	               r->bytes_read[ISA_MEM_HBM], r->bytes_written[ISA_MEM_HBM]);
	outfile_printf(f, "  \"hbm_bandwidth_bytes_per_s\": %.6e,\n  \"hbm_peak_bytes_per_s\": %.6e,\n",
	               sec > 0 ? (double)hbm / sec : 0.0, c->hbm.bandwidth_gb_per_s * 1e9);
	outfile_printf(f, "  \"sbuf_read_bytes\": %" PRIu64 ",\n  \"sbuf_write_bytes\": %" PRIu64 ",\n",
	               r->bytes_read[ISA_MEM_SBUF], r->bytes_written[ISA_MEM_SBUF]);
	outfile_printf(f, "  \"psum_read_bytes\": %" PRIu64 ",\n  \"psum_write_bytes\": %" PRIu64 ",\n",
	               r->bytes_read[ISA_MEM_PSUM], r->bytes_written[ISA_MEM_PSUM]);
	outfile_printf(f, "  \"sbuf_peak_bytes\": %" PRIu64 ",\n  \"psum_peak_bytes\": %" PRIu64 ",\n",
	               r->sbuf_peak_bytes, r->psum_peak_bytes);
	if (x && x->traces) {
		const tracer_summary *t = x->traces;
		outfile_puts(f, "  \"energy_pj\": {");
		for (int k = 0; k < ENERGY_COUNT; k++)
			outfile_printf(f, "\"%s\": %.3f, ", energy_names[k], t->energy_pj[k]);
		outfile_printf(f, "\"total\": %.3f},\n", t->energy_total_pj);
		outfile_puts(f, "  \"energy_by_dtype_pj\": {");
		const char *s2 = "";
		for (int d = 0; d < ASIM_DT_COUNT; d++)
			if (t->energy_dtype_pj[d] != 0) {
				outfile_printf(f, "%s\"%s\": %.3f", s2, asim_dtype_names[d], t->energy_dtype_pj[d]);
				s2 = ", ";
			}
		outfile_puts(f, "},\n");
		outfile_printf(f, "  \"energy_per_flop_pj\": %.6f,\n  \"average_power_w\": %.6f,\n",
		               r->flops ? t->energy_total_pj / (double)r->flops : 0.0,
		               sec > 0 ? t->energy_total_pj * 1e-12 / sec : 0.0);
		outfile_printf(f, "  \"sbuf_occupancy_peak_bytes\": %" PRIu64 ",\n  \"psum_occupancy_peak_bytes\": %" PRIu64 ",\n",
		               t->sbuf_occupancy_peak_bytes, t->psum_occupancy_peak_bytes);
		if (t->have_graph) {
			outfile_printf(f, "  \"param_bytes\": %" PRIu64 ",\n  \"weight_bytes\": %" PRIu64 ",\n",
			               t->param_bytes, t->weight_bytes);
			outfile_printf(f, "  \"peak_activation_bytes\": %" PRIu64 ",\n  \"peak_activation_ns\": %.3f,\n",
			               t->peak_activation_bytes, isa_ticks_to_ns(&r->clk, t->peak_activation_tick));
			outfile_printf(f, "  \"peak_hbm_bytes\": %" PRIu64 ",\n  \"hbm_capacity_bytes\": %" PRIu64 ",\n",
			               t->peak_hbm_bytes, x->hbm_capacity_bytes);
			if (x->have_budget) {
				int fits = report_fits_budget(x);
				outfile_printf(f, "  \"memory_budget_bytes\": %" PRIu64 ",\n  \"fits_memory_budget\": %s,\n"
				               "  \"memory_budget_over_bytes\": %" PRIu64 ",\n",
				               x->budget_bytes, fits ? "true" : "false",
				               fits ? 0 : t->peak_hbm_bytes - x->budget_bytes);
			}
		}
	}
	outfile_puts(f, "  \"engines\": [");
	const char *sep = "\n";
	for (uint32_t q = 0; q < r->n_queues; q++) {
		const engine_queue_stats *s = &r->q[q];
		char name[16];
		engine_queue_name(q, name, sizeof name);
		outfile_printf(f, "%s    {\"engine\": \"%s\", \"instructions\": %" PRIu64 ", \"busy_ns\": %.3f, "
		               "\"stall_ns\": %.3f, \"busy_cycles\": %" PRIu64 ", \"utilisation_fraction\": %.6f}",
		               sep, name, s->insts, isa_ticks_to_ns(&r->clk, s->busy),
		               isa_ticks_to_ns(&r->clk, s->stall), s->cycles,
		               r->end ? (double)s->busy / (double)r->end : 0.0);
		sep = ",\n";
	}
	outfile_puts(f, "\n  ],\n  \"slowest_ops\": [");
	uint32_t idx[TOP_MAX];
	size_t k = m->top_ops ? (m->top_ops > TOP_MAX ? TOP_MAX : m->top_ops) : 5;
	size_t n = slowest(r, idx, k);
	sep = "\n";
	for (size_t i = 0; i < n; i++) {
		const engine_gop_stats *g = &r->gops[idx[i]];
		char name[256];
		op_name(m, idx[i], name, sizeof name);
		outfile_printf(f, "%s    {\"op\": %" PRIu32 ", \"name\": ", sep, idx[i]);
		json_str(f, name);
		outfile_printf(f, ", \"start_ns\": %.3f, \"end_ns\": %.3f, \"latency_ns\": %.3f, \"busy_ns\": %.3f, "
		               "\"instructions\": %" PRIu64 ", \"flops\": %" PRIu64 ", \"hbm_bytes\": %" PRIu64 "}",
		               isa_ticks_to_ns(&r->clk, g->start), isa_ticks_to_ns(&r->clk, g->end),
		               isa_ticks_to_ns(&r->clk, g->end - g->start), isa_ticks_to_ns(&r->clk, g->busy),
		               g->insts, g->flops, g->hbm_bytes);
		sep = ",\n";
	}
	outfile_puts(f, n ? "\n  ]\n}\n" : "]\n}\n");
	return ASIM_OK;
}
