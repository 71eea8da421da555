/*
 * test_datapath_io.c -- SHA-256 against the FIPS 180-2 known answers; .npy round trips and a
 * fuzz-ish sweep of malformed files (every truncation, every single-byte corruption of the
 * header, hand-written bad headers): each gives an error, never a crash (run under ASan too).
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/alloc.h"
#include "sim/datapath/npy.h"
#include "sim/datapath/sha256.h"
#include "tests/testutil.h"

Test(datapath_io, sha256_fips_180_2_known_answers)
{
	char h[65];
	dp_sha256_hex("abc", 3, h);
	cr_expect_str_eq(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	dp_sha256_hex("", 0, h);
	cr_expect_str_eq(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	dp_sha256_hex(two, strlen(two), h);
	cr_expect_str_eq(h, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	/* one million 'a', fed in uneven pieces */
	dp_sha256 s;
	dp_sha256_init(&s);
	char a[997];
	memset(a, 'a', sizeof a);
	size_t left = 1000000;
	while (left) {
		size_t n = left < 997 ? left : 997 - left % 13;
		dp_sha256_update(&s, a, n);
		left -= n;
	}
	uint8_t d[32];
	dp_sha256_final(&s, d);
	char hx[65];
	for (int i = 0; i < 32; i++)
		snprintf(hx + 2 * i, 3, "%02x", d[i]);
	cr_expect_str_eq(hx, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

Test(datapath_io, npy_round_trip)
{
	char *dir = tu_mkdtemp();
	char path[4096];
	snprintf(path, sizeof path, "%s/a.npy", dir);
	float f[6] = {1.5f, -2.0f, 0.0f, 3.25f, 1e-40f, -0.0f};
	size_t shape[2] = {2, 3};
	asim_err e;
	asim_err_init(&e);
	cr_assert_eq(dp_npy_write(path, DP_NPY_F32, shape, 2, f, &e), 0, "%s", e.msg);
	size_t len;
	char *raw = tu_read_file(path, &len);
	cr_assert_not_null(raw);
	cr_expect_eq(len, 128 + 24, "payload starts at a multiple of 64");
	cr_expect(memcmp(raw, "\x93NUMPY\x01\x00", 8) == 0);
	cr_expect_not_null(strstr(raw + 10, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"));
	/* little-endian payload: 1.5f = 0x3fc00000 */
	cr_expect(memcmp(raw + 128, "\x00\x00\xc0\x3f", 4) == 0);
	free(raw);
	dp_npy a;
	cr_assert_eq(dp_npy_read(path, &a, &e), 0, "%s", e.msg);
	cr_expect_eq(a.dtype, DP_NPY_F32);
	cr_expect_eq(a.ndim, 2);
	cr_expect_eq(a.shape[0], 2);
	cr_expect_eq(a.shape[1], 3);
	cr_expect(memcmp(a.data, f, sizeof f) == 0);
	dp_npy_free(&a);
	/* 1-d uint16 and 0-d float64 */
	uint16_t u[3] = {1, 0x3f80, 0xffff};
	size_t s1 = 3;
	cr_assert_eq(dp_npy_write(path, DP_NPY_U16, &s1, 1, u, &e), 0);
	cr_assert_eq(dp_npy_read(path, &a, &e), 0, "%s", e.msg);
	cr_expect_eq(a.ndim, 1);
	cr_expect(memcmp(a.data, u, sizeof u) == 0);
	dp_npy_free(&a);
	double x = 2.5;
	cr_assert_eq(dp_npy_write(path, DP_NPY_F64, NULL, 0, &x, &e), 0);
	cr_assert_eq(dp_npy_read(path, &a, &e), 0, "%s", e.msg);
	cr_expect_eq(a.ndim, 0);
	cr_expect_eq(a.count, 1);
	cr_expect_eq(((double *)a.data)[0], 2.5);
	dp_npy_free(&a);
	tu_rmtree(dir);
	free(dir);
}

static size_t mk(unsigned char *buf, const char *dict, size_t payload)
{
	size_t n = strlen(dict);
	memcpy(buf, "\x93NUMPY\x01\x00", 8);
	buf[8] = (unsigned char)(n & 0xff);
	buf[9] = (unsigned char)(n >> 8);
	memcpy(buf + 10, dict, n);
	memset(buf + 10 + n, 0, payload);
	return 10 + n + payload;
}

Test(datapath_io, npy_malformed_headers_are_errors)
{
	static const char *const bad[] = {
		"{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }",            /* no newline */
		"{'descr': '<i2', 'fortran_order': False, 'shape': (2,), }\n",          /* dtype */
		"{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }\n",          /* big-endian */
		"{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }\n",
		"{'descr': '<f4', 'shape': (2,), }\n",                                  /* missing key */
		"{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}\n",
		"{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,)}\n",
		"{'descr': '<f4', 'fortran_order': False, 'shape': (2), }\n",           /* 1-d no comma */
		"{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }\n",
		"{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999,), }\n",
		"{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }\n",
		"{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1), }\n",
		"{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }\n",          /* payload short */
		"{'descr': '<f4', 'fortran_order': False, 'shape': (2,), } x\n",
		"{'descr: '<f4', 'fortran_order': False, 'shape': (2,), }\n",
		"",
	};
	unsigned char buf[512];
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		size_t len = mk(buf, bad[i], 8);
		dp_npy a;
		asim_err e;
		asim_err_init(&e);
		cr_expect_neq(dp_npy_parse(buf, len, "t.npy", &a, &e), 0, "case %zu accepted", i);
		cr_expect(strncmp(e.msg, "t.npy: ", 7) == 0, "case %zu: %s", i, e.msg);
		dp_npy_free(&a);
	}
	/* The good one parses; every truncation of it and every corruption of a header byte is
	 * handled (an error, or, for harmless bytes like spaces, a correct parse). */
	const char *good = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }          \n";
	size_t len = mk(buf, good, 8);
	dp_npy a;
	asim_err e;
	asim_err_init(&e);
	cr_assert_eq(dp_npy_parse(buf, len, "t.npy", &a, &e), 0, "%s", e.msg);
	dp_npy_free(&a);
	for (size_t cut = 0; cut < len; cut++) {
		unsigned char *copy = asim_malloc(cut + 1);   /* exact size: ASan sees overreads */
		memcpy(copy, buf, cut);
		asim_err_init(&e);
		cr_expect_neq(dp_npy_parse(copy, cut, "t.npy", &a, &e), 0, "truncation %zu", cut);
		dp_npy_free(&a);
		asim_free(copy);
	}
	for (size_t pos = 0; pos < len - 8; pos++)
		for (int v = 0; v < 256; v += 7) {
			unsigned char *copy = asim_malloc(len);
			memcpy(copy, buf, len);
			copy[pos] = (unsigned char)v;
			asim_err_init(&e);
			if (dp_npy_parse(copy, len, "t.npy", &a, &e) == 0)
				cr_expect_eq(a.count * 4, len - 10 - (size_t)(copy[8] | copy[9] << 8));
			dp_npy_free(&a);
			asim_free(copy);
		}
}
