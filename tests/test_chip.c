/*
 * test_chip.c -- chip descriptions: the shipped chips load and give the published figures; the
 * hash sees values and only values; chip_set_param changes exactly one value; bad files of every
 * kind (tests/bad/chips) give one positioned line and exit status 2; out-of-memory is clean.
 *
 * Reference figures are worked by hand here, never taken from the code under test:
 *   trn1 BF16 per core  2 × 128 × 128 × 2.8e9 = 32768 × 2.8e9 = 91 750 400 000 000 FLOP/s
 *   trn2 BF16 per core  32768 × 2.4e9 = 78 643 200 000 000; FP8 twice that
 *   edge-npu FP8        2 × 32 × 16 × 1e9 = 1 024 000 000 000
 * and compared with AWS's published per-core/per-chip TFLOP/s within a stated tolerance.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/alloc.h"
#include "sim/chip.h"
#include "tests/testutil.h"

/* A small valid chip: every required key, nothing else. Bank = 128 B / 2 = 64 B = 16 FP32. */
static const char base_yaml[] =
	"accelsim: 1\n"
	"name: tiny\n"
	"cores: 1\n"
	"pe_array:\n"
	"  rows: 4\n"
	"  cols: 4\n"
	"  clock_ghz: 1\n"
	"  fill_cycles: 4\n"
	"  drain_cycles: 4\n"
	"  max_moving: 16\n"
	"vector: {lanes: 4, clock_ghz: 1}\n"
	"scalar: {lanes: 4, clock_ghz: 1}\n"
	"sbuf: {partitions: 4, partition_bytes: 1 KiB}\n"
	"psum: {partitions: 4, banks: 2, partition_bytes: 128}\n"
	"dma: {engines: 1, engine_gb_per_s: 1}\n"
	"hbm: {capacity_bytes: 1 MiB, bandwidth_gb_per_s: 1}\n";

static void load_text(chip *c, const char *text)
{
	asim_err e;
	asim_err_init(&e);
	int rc = chip_load_buffer(c, "t.yaml", text, strlen(text), &e);
	cr_assert_eq(rc, 0, "load failed: %s", e.msg);
}

static void load_spec(chip *c, const char *spec)
{
	asim_err e;
	asim_err_init(&e);
	int rc = chip_load(c, spec, &e);
	cr_assert_eq(rc, 0, "chip_load(%s) failed: %s", spec, e.msg);
}

static const char *const shipped[] = {"trn1", "trn2", "inf2", "edge-npu"};

Test(chip, every_shipped_chip_loads_by_name_and_from_disk_with_one_hash)
{
	cr_assert_eq(chip_builtin_count(), 4);
	cr_expect_str_eq(chip_builtin_name(0), "trn1", "the default chip is trn1");
	cr_expect_null(chip_builtin_name(4));
	for (size_t i = 0; i < 4; i++) {
		cr_expect_str_eq(chip_builtin_name(i), shipped[i]);
		chip a, b;
		load_spec(&a, shipped[i]);
		char rel[128];
		snprintf(rel, sizeof rel, "models/chips/%s.yaml", shipped[i]);
		char *path = tu_srcpath(rel);
		asim_err e;
		asim_err_init(&e);
		cr_assert_eq(chip_load_file(&b, path, &e), 0, "%s", e.msg);
		cr_expect_str_eq(a.name, shipped[i], "the name inside %s matches its file name", rel);
		cr_expect_str_eq(a.hash, b.hash, "%s: built-in and file differ", shipped[i]);
		cr_expect_eq(strlen(a.hash), 16);
		cr_expect_eq(strspn(a.hash, "0123456789abcdef"), 16);
		char want[64];
		snprintf(want, sizeof want, "built-in:%s", shipped[i]);
		cr_expect_str_eq(a.source, want);
		cr_expect_str_eq(b.source, path);
		/* the compiled-in bytes are the file's bytes: loading the file's text as a buffer agrees */
		size_t len;
		char *text = tu_read_file(path, &len);
		cr_assert_not_null(text);
		chip c;
		cr_assert_eq(chip_load_buffer(&c, "x", text, len, &e), 0, "%s", e.msg);
		cr_expect_str_eq(c.hash, a.hash);
		chip_fini(&c);
		free(text);
		free(path);
		chip_fini(&a);
		chip_fini(&b);
	}
	/* distinct chips, distinct hashes */
	chip c[4];
	for (size_t i = 0; i < 4; i++)
		load_spec(&c[i], shipped[i]);
	for (size_t i = 0; i < 4; i++)
		for (size_t j = i + 1; j < 4; j++)
			cr_expect_str_neq(c[i].hash, c[j].hash);
	for (size_t i = 0; i < 4; i++)
		chip_fini(&c[i]);
}

Test(chip, default_is_trn1_from_disk)
{
	chip d, f;
	asim_err e;
	asim_err_init(&e);
	cr_assert_eq(chip_load_default(&d, &e), 0, "%s", e.msg);
	char *path = tu_srcpath("models/chips/trn1.yaml");
	cr_assert_eq(chip_load_file(&f, path, &e), 0, "%s", e.msg);
	cr_expect_str_eq(d.name, "trn1");
	cr_expect_str_eq(d.hash, f.hash);
	free(path);
	chip_fini(&d);
	chip_fini(&f);
}

Test(chip, trn1_peaks_and_sizes_match_hand_computed_figures)
{
	chip c;
	load_spec(&c, "trn1");
	cr_expect_eq(c.cores, 2);
	cr_expect_eq(c.pe.rows, 128);
	cr_expect_eq(c.pe.cols, 128);
	cr_expect_eq(c.peak_flops[ASIM_DT_BF16], 91750400000000.0, "bf16 %.17g", c.peak_flops[ASIM_DT_BF16]);
	cr_expect_eq(c.peak_flops[ASIM_DT_FP16], 91750400000000.0);
	cr_expect_eq(c.peak_flops[ASIM_DT_FP32], 22937600000000.0, "fp32 is exactly a quarter");
	cr_expect_eq(c.peak_flops[ASIM_DT_INT32], 0.0);
	/* AWS: 190 BF16 TFLOP/s per trn1/inf2 chip; 2.8 GHz gives 183.5, 3.4% below */
	cr_expect_lt(fabs(c.peak_flops[ASIM_DT_BF16] * c.cores / 190e12 - 1), 0.04);
	cr_expect_eq(c.sbuf_bytes, 24u << 20, "SBUF 24 MiB");
	cr_expect_eq(c.sbuf.partition_bytes, 192u << 10);
	cr_expect_eq(c.psum_bytes, 2u << 20, "PSUM 2 MiB");
	cr_expect_eq(c.psum_bank_bytes, 2048, "16 KiB / 8 banks");
	cr_expect_eq(c.psum_bank_bytes, c.pe.max_moving * 4u, "one bank holds one moving tile of FP32");
	cr_expect_eq(c.hbm.capacity_bytes, UINT64_C(32) << 30);
	cr_expect_eq(c.hbm.bandwidth_gb_per_s, 820.0);
	cr_expect_eq(c.dma.engines, 16);
	cr_expect_float_eq(c.dma_gb_per_s, 16 * 27.2, 1e-9, "16 engines x 27.2 GB/s (Neuron DMA guide)");
	cr_expect_lt(fabs(c.hbm_bytes_per_pe_cycle - 820.0 / 2.8), 1e-9);
	cr_expect_eq(c.vector.lanes, 128);
	cr_expect_eq(c.vector.clock_ghz, 1.12);
	cr_expect_eq(c.scalar.clock_ghz, 1.4);
	cr_expect_eq(c.pe.min_ii_cycles, 64);
	cr_expect_eq(c.num.accum, ASIM_DT_FP32);
	cr_expect_eq(c.num.sr_bits, 32);
	cr_expect_eq(c.num.saturate_fp8, 1);
	cr_expect_eq(c.num.saturate_16, 0);
	chip_fini(&c);
}

Test(chip, trn2_inf2_edge_peaks_match_hand_computed_and_published_figures)
{
	chip c;
	load_spec(&c, "trn2");
	cr_expect_eq(c.cores, 8);
	cr_expect_eq(c.peak_flops[ASIM_DT_BF16], 78643200000000.0);
	cr_expect_eq(c.peak_flops[ASIM_DT_FP8_E4M3], 2 * 78643200000000.0, "FP8 at 2x BF16");
	cr_expect_eq(c.peak_flops[ASIM_DT_FP8_E5M2], 2 * 78643200000000.0);
	/* AWS NeuronCore-v3: 79 BF16 and 158 FP8 TFLOP/s per core */
	cr_expect_lt(fabs(c.peak_flops[ASIM_DT_BF16] / 79e12 - 1), 0.01);
	cr_expect_lt(fabs(c.peak_flops[ASIM_DT_FP8_E4M3] / 158e12 - 1), 0.01);
	cr_expect_eq(c.sbuf_bytes, 28u << 20, "SBUF 28 MiB per core");
	cr_expect_eq(c.hbm.capacity_bytes, UINT64_C(96) << 30);
	cr_expect_eq(c.hbm.bandwidth_gb_per_s, 2900.0);
	chip_fini(&c);

	load_spec(&c, "inf2");
	cr_expect_eq(c.cores, 2);
	cr_expect_eq(c.peak_flops[ASIM_DT_BF16], 91750400000000.0);
	/* AWS Inferentia2: 47.5 FP32 TFLOP/s per chip = a quarter of 190 */
	cr_expect_lt(fabs(c.peak_flops[ASIM_DT_FP32] * c.cores / 47.5e12 - 1), 0.04);
	cr_expect_eq(c.hbm.capacity_bytes, UINT64_C(32) << 30);
	cr_expect_eq(c.hbm.bandwidth_gb_per_s, 820.0);
	chip_fini(&c);

	load_spec(&c, "edge-npu");
	cr_expect_eq(c.pe.rows * c.pe.cols, 512, "512 MACs per cycle, Ethos-U65-512 class");
	cr_expect_eq(c.peak_flops[ASIM_DT_FP8_E4M3], 1024000000000.0);
	cr_expect_eq(c.peak_flops[ASIM_DT_BF16], 512000000000.0, "16-bit at half rate");
	cr_expect_eq(c.sbuf_bytes, 512u << 10);
	cr_expect_eq(c.hbm.bandwidth_gb_per_s, 3.75);
	chip_fini(&c);
}

/* Strip YAML comments (a '#' at line start or after a space; no value here contains '#'). */
static char *strip_comments(const char *s)
{
	char *out = malloc(strlen(s) + 1), *o = out;
	int skip = 0;
	for (const char *p = s; *p; p++) {
		if (*p == '\n')
			skip = 0;
		else if (*p == '#' && (p == s || p[-1] == ' ' || p[-1] == '\n'))
			skip = 1;
		if (!skip)
			*o++ = *p;
	}
	*o = '\0';
	return out;
}

Test(chip, hash_ignores_formatting_comments_order_and_spelling)
{
	chip a, b, c;
	load_text(&a, base_yaml);
	/* The same values: flow style, keys reordered, comments, other spellings of the same numbers
	 * (hex, exponents, trailing zeros, sizes in other units), and defaults stated explicitly. */
	load_text(&b,
	          "# a comment\n"
	          "hbm: {bandwidth_gb_per_s: 1.000, capacity_bytes: 1024 KiB}   # 1 MiB\n"
	          "dma: {engine_gb_per_s: 1e0, engines: 0x1, fixed_ns: 0, efficient_bytes: 1}\n"
	          "psum: {partition_bytes: 128 B, banks: 2, partitions: 4}\n"
	          "sbuf: {partition_bytes: 0.0009765625 MiB, partitions: 4}\n"
	          "scalar: {clock_ghz: 10e-1, lanes: 4}\n"
	          "vector:\n"
	          "  clock_ghz: +1\n"
	          "  lanes: 4\n"
	          "  elems_per_cycle: 1\n"
	          "pe_array: {max_moving: 16, drain_cycles: 4, fill_cycles: 4, clock_ghz: 1.0, cols: 4,\n"
	          "           rows: 4, dataflow: weight_stationary, mode: pipelined,\n"
	          "           macs_per_cycle_per_pe: {fp32: 0.25, bf16: 1}}\n"
	          "numerics: {rounding: rne, sr_bits: 32, seed: 0, saturate_fp8: true}\n"
	          "energy: {static_w: 0, hbm_pj_per_bit: 20.3}\n"
	          "cores: 1\n"
	          "name: 'tiny'\n"
	          "accelsim: 1\n");
	cr_expect_str_eq(a.hash, b.hash);
	/* the shipped trn1 with every comment removed hashes the same */
	char *path = tu_srcpath("models/chips/trn1.yaml");
	char *text = tu_read_file(path, NULL);
	cr_assert_not_null(text);
	char *bare = strip_comments(text);
	cr_assert_neq(strlen(bare), strlen(text), "trn1.yaml has comments to strip");
	load_text(&c, bare);
	chip t;
	load_spec(&t, "trn1");
	cr_expect_str_eq(c.hash, t.hash);
	chip_fini(&t);
	free(bare);
	free(text);
	free(path);
	chip_fini(&a);
	chip_fini(&b);
	chip_fini(&c);
}

/* A new valid value for every field of the base chip. numerics.accum has a single legal value
 * (fp32), so it cannot change; every other canonical key must appear here (checked below). */
static const struct { const char *key, *value; } changes[] = {
	{"name", "tiny2"}, {"cores", "2"},
	{"pe_array.rows", "3"}, {"pe_array.cols", "3"}, {"pe_array.dataflow", "output_stationary"},
	{"pe_array.mode", "serial_folds"}, {"pe_array.clock_ghz", "1.5"},
	{"pe_array.macs_per_cycle_per_pe.fp32", "0.5"}, {"pe_array.macs_per_cycle_per_pe.bf16", "2"},
	{"pe_array.macs_per_cycle_per_pe.fp16", "2"}, {"pe_array.macs_per_cycle_per_pe.fp8_e4m3", "2"},
	{"pe_array.macs_per_cycle_per_pe.fp8_e5m2", "4"}, {"pe_array.min_ii_cycles", "2"},
	{"pe_array.fill_cycles", "5"}, {"pe_array.drain_cycles", "6"}, {"pe_array.max_moving", "8"},
	{"vector.lanes", "2"}, {"vector.clock_ghz", "2"}, {"vector.elems_per_cycle", "2"},
	{"vector.fixed_cycles", "1"}, {"vector.min_ii_cycles", "2"},
	{"scalar.lanes", "2"}, {"scalar.clock_ghz", "2"}, {"scalar.elems_per_cycle", "2"},
	{"scalar.fixed_cycles", "1"}, {"scalar.min_ii_cycles", "2"},
	{"sbuf.partitions", "8"}, {"sbuf.partition_bytes", "2 KiB"},
	{"psum.partitions", "8"}, {"psum.banks", "1"}, {"psum.partition_bytes", "256"},
	{"dma.engines", "2"}, {"dma.engine_gb_per_s", "2"}, {"dma.fixed_ns", "1"},
	{"dma.descriptors_in_flight", "2"},
	{"dma.efficient_bytes", "64"},
	{"hbm.capacity_bytes", "2 MiB"}, {"hbm.bandwidth_gb_per_s", "2"}, {"hbm.latency_ns", "1"},
	{"numerics.rounding", "sr"}, {"numerics.sr_bits", "16"}, {"numerics.seed", "0xdeadbeef"},
	{"numerics.saturate_fp8", "false"}, {"numerics.saturate_16bit", "true"},
	{"energy.mac_pj.fp32", "0.123"}, {"energy.mac_pj.bf16", "0.124"}, {"energy.mac_pj.fp16", "0.125"},
	{"energy.mac_pj.fp8_e4m3", "0.126"}, {"energy.mac_pj.fp8_e5m2", "0.127"},
	{"energy.sbuf_pj_per_byte", "0.128"}, {"energy.psum_pj_per_byte", "0.129"},
	{"energy.hbm_pj_per_bit", "0.13"}, {"energy.static_w", "0.131"},
};
#define NCHANGES (sizeof changes / sizeof changes[0])

/* Lines of a canonical text that differ from another's (both have the same keys in order). */
static int diff_lines(const char *a, const char *b, char *first, size_t n)
{
	int diffs = 0;
	while (*a && *b) {
		size_t la = strcspn(a, "\n"), lb = strcspn(b, "\n");
		if (la != lb || memcmp(a, b, la) != 0) {
			if (diffs++ == 0)
				snprintf(first, n, "%.*s", (int)strcspn(a, " "), a);
		}
		a += la + (a[la] == '\n');
		b += lb + (b[lb] == '\n');
	}
	return diffs + (*a != *b);
}

Test(chip, set_param_changes_exactly_the_named_value_and_the_hash)
{
	chip base;
	load_text(&base, base_yaml);
	char *canon0;
	cr_assert_eq(chip_canonical(&base, &canon0, NULL), 0);
	/* every canonical key but numerics.accum is exercised */
	size_t keys = 0;
	for (const char *p = canon0; *p; p = strchr(p, '\n') + 1) {
		char key[96];
		snprintf(key, sizeof key, "%.*s", (int)strcspn(p, " "), p);
		keys++;
		if (strcmp(key, "accelsim") == 0 || strcmp(key, "numerics.accum") == 0)
			continue;
		size_t j;
		for (j = 0; j < NCHANGES; j++)
			if (strcmp(changes[j].key, key) == 0)
				break;
		cr_expect_lt(j, NCHANGES, "no test change for %s", key);
	}
	cr_expect_eq(keys, NCHANGES + 2);

	char hashes[NCHANGES][17];
	for (size_t i = 0; i < NCHANGES; i++) {
		chip c;
		cr_assert_eq(chip_copy(&c, &base), 0);
		asim_err e;
		asim_err_init(&e);
		cr_assert_eq(chip_set_param(&c, changes[i].key, changes[i].value, &e), 0, "%s=%s: %s",
		             changes[i].key, changes[i].value, e.msg);
		char *canon, first[96] = "";
		cr_assert_eq(chip_canonical(&c, &canon, NULL), 0);
		cr_expect_eq(diff_lines(canon0, canon, first, sizeof first), 1, "%s changed more than itself",
		             changes[i].key);
		cr_expect_str_eq(first, changes[i].key);
		cr_expect_str_neq(c.hash, base.hash, "%s does not change the hash", changes[i].key);
		memcpy(hashes[i], c.hash, 17);
		asim_free(canon);
		chip_fini(&c);
	}
	for (size_t i = 0; i < NCHANGES; i++)
		for (size_t j = i + 1; j < NCHANGES; j++)
			cr_expect_str_neq(hashes[i], hashes[j], "%s and %s collide", changes[i].key, changes[j].key);
	asim_free(canon0);
	chip_fini(&base);
}

Test(chip, set_param_rederives_and_accepts_file_spellings)
{
	chip c;
	load_spec(&c, "trn1");
	char h0[17];
	memcpy(h0, c.hash, 17);
	asim_err e;
	asim_err_init(&e);
	cr_assert_eq(chip_set_param(&c, "pe_array.cols", "64", &e), 0, "%s", e.msg);
	cr_expect_eq(c.pe.cols, 64);
	cr_expect_eq(c.peak_flops[ASIM_DT_BF16], 91750400000000.0 / 2, "half the columns, half the peak");
	cr_assert_eq(chip_set_param(&c, "pe_array.cols", "128", &e), 0, "%s", e.msg);
	cr_expect_str_eq(c.hash, h0, "back to the same values, back to the same hash");
	cr_assert_eq(chip_set_param(&c, "sbuf.partition_bytes", "96 KiB", &e), 0, "%s", e.msg);
	cr_expect_eq(c.sbuf.partition_bytes, 98304);
	cr_expect_eq(c.sbuf_bytes, 128u * 98304);
	cr_assert_eq(chip_set_param(&c, "sbuf.partition_bytes", "196608", &e), 0, "%s", e.msg);
	cr_expect_str_eq(c.hash, h0);
	cr_assert_eq(chip_set_param(&c, "hbm.bandwidth_gb_per_s", "1640", &e), 0, "%s", e.msg);
	cr_expect_lt(fabs(c.hbm_bytes_per_pe_cycle - 1640 / 2.8), 1e-9);
	cr_assert_eq(chip_set_param(&c, "pe_array.clock_ghz", "1.4", &e), 0, "%s", e.msg);
	cr_expect_eq(c.peak_flops[ASIM_DT_BF16], 2.0 * 128 * 128 * 1.4e9);
	cr_assert_eq(chip_set_param(&c, "name", "trn1-fast-hbm", &e), 0, "%s", e.msg);
	cr_expect_str_eq(c.name, "trn1-fast-hbm");
	chip_fini(&c);
}

static void expect_refused(chip *c, const char *key, const char *value, const char *needle)
{
	char before[17];
	memcpy(before, c->hash, 17);
	char *canon0, *canon1;
	cr_assert_eq(chip_canonical(c, &canon0, NULL), 0);
	asim_err e;
	asim_err_init(&e);
	int rc = chip_set_param(c, key, value, &e);
	cr_expect_lt(rc, 0, "%s=%s accepted", key, value);
	cr_expect_not_null(strstr(e.msg, needle), "%s=%s: message '%s' lacks '%s'", key, value, e.msg, needle);
	cr_expect_null(strchr(e.msg, '\n'));
	cr_expect_str_eq(c->hash, before, "a refused value changed the chip");
	cr_assert_eq(chip_canonical(c, &canon1, NULL), 0);
	cr_expect_str_eq(canon0, canon1);
	asim_free(canon0);
	asim_free(canon1);
}

Test(chip, set_param_refuses_unknown_keys_and_bad_values_leaving_the_chip_unchanged)
{
	chip c;
	load_spec(&c, "trn1");
	expect_refused(&c, "pe_array.colz", "64", "unknown chip parameter 'pe_array.colz' (did you mean 'pe_array.cols'?)");
	expect_refused(&c, "pe_array", "64", "unknown chip parameter");
	expect_refused(&c, "accelsim", "2", "unknown chip parameter");
	expect_refused(&c, "nonsense.key.here", "1", "unknown chip parameter");
	expect_refused(&c, "pe_array.cols", "0", "pe_array.cols must be from 1 to 4096, not '0'");
	expect_refused(&c, "pe_array.cols", "-1", "pe_array.cols must be a whole number");
	expect_refused(&c, "pe_array.cols", "abc", "pe_array.cols must be a whole number");
	expect_refused(&c, "pe_array.cols", "99999999999999999999999", "must be from 1 to 4096");
	expect_refused(&c, "pe_array.cols", "[1, 2]", "must be a scalar");
	expect_refused(&c, "pe_array.cols", "1\nx: 2", "one line");
	expect_refused(&c, "pe_array.cols", "", "one line");
	expect_refused(&c, "pe_array.clock_ghz", "1e400", "pe_array.clock_ghz must be from");
	expect_refused(&c, "pe_array.clock_ghz", "nan", "must be a number");
	expect_refused(&c, "pe_array.dataflow", "weight_stationery", "did you mean 'weight_stationary'?");
	expect_refused(&c, "sbuf.partition_bytes", "1.5 B", "not a whole number of bytes");
	expect_refused(&c, "hbm.capacity_bytes", "2048 TiB", "must be from 1 to");
	expect_refused(&c, "numerics.sr_bits", "33", "from 1 to 32");
	expect_refused(&c, "name", "a b", "name must be 1 to 64");
	/* valid alone, impossible with the rest of the chip: the cross-field rules name the fix */
	expect_refused(&c, "pe_array.max_moving", "1024", "lower pe_array.max_moving to 512");
	expect_refused(&c, "sbuf.partitions", "64", "sbuf.partitions (64) must be at least pe_array.rows (128)");
	expect_refused(&c, "psum.banks", "3", "multiple of 3");
	expect_refused(&c, "vector.lanes", "256", "vector.lanes (256) must not exceed sbuf.partitions (128)");
	chip_fini(&c);
}

Test(chip, load_by_unknown_name_lists_the_builtins)
{
	chip c;
	asim_err e;
	asim_err_init(&e);
	int rc = chip_load(&c, "trn3", &e);
	cr_expect_eq(rc, ASIM_ENOENT);
	cr_expect_not_null(strstr(e.msg, "'trn3' is neither a chip file nor a built-in chip"), "%s", e.msg);
	cr_expect_not_null(strstr(e.msg, "did you mean"), "%s", e.msg);
	cr_expect_not_null(strstr(e.msg, "trn1, trn2, inf2, edge-npu"), "%s", e.msg);
	cr_expect_null(c.name);
	chip_fini(&c);
	asim_err_init(&e);
	cr_expect_eq(chip_load(&c, "/nonexistent/dir/chip.yaml", &e), ASIM_ENOENT);
	cr_expect_not_null(strstr(e.msg, "/nonexistent/dir/chip.yaml: cannot open: "), "%s", e.msg);
	chip_fini(&c);
}

Test(chip, copy_is_deep)
{
	chip a, b;
	load_spec(&a, "trn2");
	cr_assert_eq(chip_copy(&b, &a), 0);
	cr_expect_str_eq(a.hash, b.hash);
	cr_expect_neq(a.name, b.name);
	chip_fini(&a);
	cr_expect_str_eq(b.name, "trn2");
	chip_fini(&b);
}

/* ---- out of memory ------------------------------------------------------------------------- */

struct budget { long left; };

static void *budget_alloc(void *ud, void *ptr, size_t size)
{
	struct budget *b = ud;
	if (size == 0) {
		free(ptr);
		return NULL;
	}
	if (b->left-- <= 0)
		return NULL;
	return realloc(ptr, size);
}

Test(chip, out_of_memory_at_every_allocation_fails_cleanly)
{
	size_t len;
	char *path = tu_srcpath("models/chips/trn1.yaml");
	char *text = tu_read_file(path, &len);
	cr_assert_not_null(text);
	int succeeded = 0;
	long n;
	for (n = 0; n < 10000 && !succeeded; n++) {
		struct budget b = {n};
		asim_set_allocator(budget_alloc, &b);
		chip c, d;
		asim_err e;
		asim_err_init(&e);
		int rc = chip_load_buffer(&c, "trn1.yaml", text, len, &e);
		if (rc == 0) {
			rc = chip_copy(&d, &c);
			if (rc == 0) {
				rc = chip_set_param(&d, "name", "other", &e);
				if (rc == 0)
					succeeded = 1;
				chip_fini(&d);
			}
		} else {
			cr_expect_null(c.name);
			cr_expect_null(c.source);
		}
		asim_set_allocator(NULL, NULL);
		if (!succeeded)
			cr_expect_eq(rc, ASIM_ENOMEM, "budget %ld: rc %d (%s)", n, rc, e.msg);
		chip_fini(&c);
	}
	cr_expect(succeeded);
	cr_expect_gt(n, 10, "only %ld allocations: the hook is not in use", n);
	free(text);
	free(path);
}

/* ---- the command ------------------------------------------------------------------------------ */

Test(chip, chips_command_lists_every_builtin_deterministically)
{
	tu_result r, r2;
	cr_assert_eq(tu_run(&r, (const char *const[]){"accelsim", "chips", NULL}), 0);
	cr_expect_eq(r.status, 0, "%s", r.err);
	cr_expect_eq(r.errlen, 0);
	cr_expect_eq(tu_count_lines(r.out), 6, "header, 4 chips, footnote:\n%s", r.out);
	for (size_t i = 0; i < 4; i++) {
		char want[64];
		snprintf(want, sizeof want, "\n%s ", shipped[i]);
		cr_expect_not_null(strstr(r.out, want), "no row for %s", shipped[i]);
	}
	/* trn2 row: 78.64 BF16 per core, 629.15 per chip, 157.29 FP8 per core, 1258.29 per chip */
	cr_expect_not_null(strstr(r.out, "78.64"));
	cr_expect_not_null(strstr(r.out, "629.15"));
	cr_expect_not_null(strstr(r.out, "1258.29"));
	cr_expect_not_null(strstr(r.out, "24 MiB"));
	cr_expect_not_null(strstr(r.out, "96 GiB"));
	cr_assert_eq(tu_run(&r2, (const char *const[]){"accelsim", "chips", NULL}), 0);
	cr_expect_str_eq(r.out, r2.out);
	tu_result_free(&r);
	tu_result_free(&r2);
}

Test(chip, chips_command_takes_files_and_names_from_any_directory)
{
	char *dir = tu_mkdtemp();
	char *path = tu_srcpath("models/chips/edge-npu.yaml");
	tu_result r;
	cr_assert_eq(tu_run_in(&r, dir, (const char *const[]){"accelsim", "chips", "trn2", path, NULL}), 0);
	cr_expect_eq(r.status, 0, "%s", r.err);
	cr_expect_eq(tu_count_lines(r.out), 8);
	chip c;
	load_spec(&c, "edge-npu");
	/* the file's row and the built-in row carry the same hash */
	const char *first = strstr(r.out, c.hash);
	cr_assert_not_null(first);
	cr_expect_not_null(strstr(first + 1, c.hash));
	chip_fini(&c);
	tu_result_free(&r);

	cr_assert_eq(tu_run_in(&r, dir, (const char *const[]){"accelsim", "chips", "--values", "trn1", NULL}), 0);
	cr_expect_eq(r.status, 0, "%s", r.err);
	cr_expect_not_null(strstr(r.out, "\npe_array.clock_ghz = 2.8\n"));
	cr_expect_not_null(strstr(r.out, "\nsbuf.partition_bytes = 196608\n"));
	cr_expect_not_null(strstr(r.out, "\nhbm.capacity_bytes = 34359738368\n"));
	tu_result_free(&r);

	cr_assert_eq(tu_run_in(&r, dir, (const char *const[]){"accelsim", "chips", "trn3", NULL}), 0);
	cr_expect_eq(r.status, 2);
	cr_expect_eq(r.outlen, 0);
	cr_expect_eq(tu_count_lines(r.err), 1, "%s", r.err);
	cr_expect_not_null(strstr(r.err, "accelsim chips: 'trn3' is neither"), "%s", r.err);
	tu_result_free(&r);

	cr_assert_eq(tu_run(&r, (const char *const[]){"accelsim", "chips", "--bogus", NULL}), 0);
	cr_expect_eq(r.status, 2);
	cr_expect_eq(tu_count_lines(r.err), 1);
	tu_result_free(&r);
	tu_rmtree(dir);
	free(dir);
	free(path);
}

/* ---- the corpus of bad chip files ------------------------------------------------------------- */

Test(chip, every_bad_chip_file_gives_one_positioned_line_and_exit_2, .timeout = 120)
{
	char *dir = tu_srcpath("tests/bad/chips");
	size_t count = 0;
	char **names = tu_list_dir(dir, ".yaml", &count);
	cr_assert_not_null(names, "cannot open %s", dir);
	for (size_t i = 0; i < count; i++) {
		const char *name = names[i];
		char *exp = tu_expectation(dir, name);
		cr_assert_not_null(exp, "%s has neither a '# expect:' line nor a .expect file", name);
		/* "LINE:COL: substring" */
		unsigned long line, col;
		int used = 0;
		cr_assert_eq(sscanf(exp, "%lu:%lu: %n", &line, &col, &used), 2, "%s: bad expectation '%s'",
		             name, exp);
		const char *needle = exp + used;
		char path[4096], prefix[4200];
		snprintf(path, sizeof path, "%s/%s", dir, name);
		snprintf(prefix, sizeof prefix, "%s:%lu:%lu: ", path, line, col);
		tu_result r;
		cr_assert_eq(tu_run(&r, (const char *const[]){"accelsim", "chips", path, NULL}), 0);
		cr_expect_eq(r.status, 2, "%s: exit %d, stderr %s", name, r.status, r.err);
		cr_expect_eq(r.outlen, 0, "%s: wrote to stdout", name);
		cr_expect_eq(tu_count_lines(r.err), 1, "%s: %s", name, r.err);
		cr_expect(r.errlen > 0 && r.err[r.errlen - 1] == '\n', "%s: no final newline", name);
		cr_expect_eq(strncmp(r.err, prefix, strlen(prefix)), 0, "%s: want prefix '%s', got %s",
		             name, prefix, r.err);
		cr_expect_not_null(strstr(r.err, needle), "%s: '%s' not in %s", name, needle, r.err);
		tu_result_free(&r);
		free(exp);
	}
	tu_list_free(names);
	cr_expect_geq(count, 20, "only %zu bad chip files", count);
	free(dir);
}
