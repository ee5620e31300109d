/* SPDX-License-Identifier: MIT */
/*
 * tests/test_tile_job.c - the batch ABI (tiler/tile_job.h): field offsets
 * and sizes as documented, bytes read back at those offsets, and a round
 * trip (pack, run, unpack) that gives the bits of tile_matmul_s8/f32.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "tiler/tile.h"
#include "tiler/tile_job.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)rng;
}

Test(tile_job, layout_is_the_documented_abi)
{
	cr_assert_eq(sizeof(struct tile_batch_hdr), 64);
	cr_assert_eq(sizeof(struct tile_job_desc), 64);
	cr_assert_eq(offsetof(struct tile_batch_hdr, magic), 0);
	cr_assert_eq(offsetof(struct tile_batch_hdr, version), 4);
	cr_assert_eq(offsetof(struct tile_batch_hdr, hdr_size), 6);
	cr_assert_eq(offsetof(struct tile_batch_hdr, job_size), 8);
	cr_assert_eq(offsetof(struct tile_batch_hdr, njobs), 10);
	cr_assert_eq(offsetof(struct tile_batch_hdr, flags), 12);
	cr_assert_eq(offsetof(struct tile_batch_hdr, jobs_off), 16);
	cr_assert_eq(offsetof(struct tile_batch_hdr, a_off), 24);
	cr_assert_eq(offsetof(struct tile_batch_hdr, a_size), 32);
	cr_assert_eq(offsetof(struct tile_batch_hdr, c_off), 40);
	cr_assert_eq(offsetof(struct tile_batch_hdr, c_size), 48);
	cr_assert_eq(offsetof(struct tile_batch_hdr, size), 56);
	cr_assert_eq(offsetof(struct tile_job_desc, weights), 0);
	cr_assert_eq(offsetof(struct tile_job_desc, kind), 4);
	cr_assert_eq(offsetof(struct tile_job_desc, rows), 6);
	cr_assert_eq(offsetof(struct tile_job_desc, k), 8);
	cr_assert_eq(offsetof(struct tile_job_desc, kp), 12);
	cr_assert_eq(offsetof(struct tile_job_desc, kb), 16);
	cr_assert_eq(offsetof(struct tile_job_desc, n0), 20);
	cr_assert_eq(offsetof(struct tile_job_desc, cols), 24);
	cr_assert_eq(offsetof(struct tile_job_desc, panel_off), 32);
	cr_assert_eq(offsetof(struct tile_job_desc, rowsum_off), 40);
	cr_assert_eq(offsetof(struct tile_job_desc, sa_off), 48);
	cr_assert_eq(offsetof(struct tile_job_desc, c_off), 56);
	cr_assert_eq(TILE_BATCH_VERSION, 1);
	cr_assert_eq(TILE_BATCH_MAGIC, 0x31544254u);
}

static uint64_t le(const unsigned char *p, int n)
{
	uint64_t v = 0;

	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

struct fixture {
	int M, K, N;
	int8_t *a8, *b8;
	float *af, *bf, *bias;
	struct tile_weights *w8, *wf;
};

static void make(struct fixture *f, int M, int K, int N)
{
	f->M = M;
	f->K = K;
	f->N = N;
	f->a8 = malloc((size_t)M * K);
	f->b8 = malloc((size_t)K * N);
	f->af = malloc((size_t)M * K * 4);
	f->bf = malloc((size_t)K * N * 4);
	f->bias = malloc((size_t)N * 4);
	for (int i = 0; i < M * K; i++) {
		f->a8[i] = (int8_t)next();
		f->af[i] = (float)(int32_t)next() / 2147483648.0f;
	}
	for (int i = 0; i < K * N; i++) {
		f->b8[i] = (int8_t)next();
		f->bf[i] = (float)(int32_t)next() / 2147483648.0f;
	}
	for (int n = 0; n < N; n++)
		f->bias[n] = (float)(int32_t)next() / 2147483648.0f;
	cr_assert_eq(tile_weights_pack_s8(&f->w8, f->b8, K, N, N, TILE_W_ROW_MAJOR_KN), 0);
	cr_assert_eq(tile_weights_pack_f32(&f->wf, f->bf, K, N, N, TILE_W_ROW_MAJOR_KN), 0);
}

static void unmake(struct fixture *f)
{
	tile_weights_free(f->w8);
	tile_weights_free(f->wf);
	free(f->a8);
	free(f->b8);
	free(f->af);
	free(f->bf);
	free(f->bias);
}

/* Both kinds in one batch: rows in jobs of <= 64, columns in two ranges. */
static void round_trip(int M, int K, int N)
{
	struct fixture f;
	const struct tile_weights *table[2];
	struct tile_job_desc jobs[64];
	struct tile_batch_hdr h;
	unsigned nj = 0;
	int split = N > 1 ? N / 3 : N;
	int32_t *c8 = malloc((size_t)M * N * 4), *r8 = malloc((size_t)M * N * 4);
	float *cf = malloc((size_t)M * N * 4), *rf = malloc((size_t)M * N * 4);
	long long size;
	void *buf;

	make(&f, M, K, N);
	table[0] = f.w8;
	table[1] = f.wf;
	for (int kind = 0; kind < 2; kind++)
		for (int m0 = 0; m0 < M; m0 += 64)
			for (int part = 0; part < 2; part++) {
				int rows = M - m0 < 64 ? M - m0 : 64;
				int n0 = part ? split : 0, cols = part ? N - split : split;

				if (cols < 1)
					continue;
				cr_assert_eq(tile_job_init(&jobs[nj++], (uint32_t)kind, table[kind],
							   kind ? TILE_JOB_F32 : TILE_JOB_S8,
							   rows, n0, cols), 0);
			}
	size = tile_batch_layout(&h, jobs, nj);
	cr_assert_gt(size, 0);
	cr_assert_eq((uint64_t)size, h.size);
	buf = aligned_alloc(64, (size_t)size);
	memset(buf, 0xa5, (size_t)size);
	cr_assert_eq(tile_batch_write(buf, &h, jobs), 0);
	cr_assert_eq(tile_batch_check(buf, (size_t)size), 0);
	for (unsigned i = 0; i < nj; i++) {
		const unsigned char *jb = (const unsigned char *)buf + 64 + 64 * i;
		int m0 = 0;

		/* the bytes at the documented offsets are the descriptor */
		cr_assert_eq(le(jb + 6, 2), jobs[i].rows);
		cr_assert_eq(le(jb + 20, 4), jobs[i].n0);
		cr_assert_eq(le(jb + 32, 8) % 64, 0);
		cr_assert_eq(le(jb + 56, 8), jobs[i].c_off);
		for (unsigned p = 0; p < i; p++)
			if (jobs[p].kind == jobs[i].kind && jobs[p].n0 == jobs[i].n0)
				m0 += jobs[p].rows;
		if (jobs[i].kind == TILE_JOB_F32)
			cr_assert_eq(tile_batch_pack_a(buf, i, f.af + (size_t)m0 * K, K), 0);
		else
			cr_assert_eq(tile_batch_pack_a(buf, i, f.a8 + (size_t)m0 * K, K), 0);
	}
	cr_assert_eq(le(buf, 4), TILE_BATCH_MAGIC);
	cr_assert_eq(le((unsigned char *)buf + 10, 2), nj);
	cr_assert_eq(le((unsigned char *)buf + 56, 8), (uint64_t)size);
	cr_assert_eq(tile_batch_run(buf, (size_t)size, table, 2), 0);
	for (unsigned i = 0, m8 = 0, mf = 0; i < nj; i++) {
		int f32 = jobs[i].kind == TILE_JOB_F32;
		unsigned *m = f32 ? &mf : &m8;
		size_t at = (size_t)*m * N + jobs[i].n0;

		cr_assert_eq(tile_batch_unpack_c(buf, i, f32 ? (void *)(cf + at) : (void *)(c8 + at),
						 N, f32 ? f.bias : NULL), 0);
		if (jobs[i].n0 + jobs[i].cols == (uint32_t)N)
			*m += jobs[i].rows;
	}
	cr_assert_eq(tile_matmul_s8(f.a8, M, K, K, f.w8, r8, N, NULL), 0);
	cr_assert_eq(tile_matmul_f32(f.af, M, K, K, f.wf, f.bias, rf, N, NULL), 0);
	cr_assert_eq(memcmp(c8, r8, (size_t)M * N * 4), 0, "s8 M%d K%d N%d", M, K, N);
	cr_assert_eq(memcmp(cf, rf, (size_t)M * N * 4), 0, "f32 M%d K%d N%d", M, K, N);
	free(buf);
	free(c8);
	free(r8);
	free(cf);
	free(rf);
	unmake(&f);
}

Test(tile_job, round_trip_gives_the_direct_matmul_bits)
{
	round_trip(150, 77, 130);
	round_trip(64, 384, 100);
	round_trip(1, 300, 17);
	round_trip(70, 8, 1);
}

Test(tile_job, bad_batches_are_rejected)
{
	struct fixture f;
	const struct tile_weights *table[1];
	struct tile_job_desc j;
	struct tile_batch_hdr h;
	long long size;
	unsigned char *buf;

	make(&f, 4, 64, 32);
	table[0] = f.w8;
	cr_assert_eq(tile_job_init(&j, 0, f.w8, TILE_JOB_S8, 65, 0, 32), -EINVAL);
	cr_assert_eq(tile_job_init(&j, 0, f.w8, TILE_JOB_S8, 4, 16, 17), -EINVAL);
	cr_assert_eq(tile_batch_layout(&h, &j, 0), -EINVAL);
	cr_assert_eq(tile_job_init(&j, 0, f.w8, TILE_JOB_S8, 4, 0, 32), 0);
	size = tile_batch_layout(&h, &j, 1);
	buf = aligned_alloc(64, (size_t)size);
	cr_assert_eq(tile_batch_write(buf, &h, &j), 0);
	cr_assert_eq(tile_batch_pack_a(buf, 0, f.a8, 64), 0);
	cr_assert_eq(tile_batch_run(buf, (size_t)size, table, 1), 0);
	cr_assert_eq(tile_batch_run(buf, (size_t)size, table, 0), -EINVAL);  /* no handle 0 */
	cr_assert_eq(tile_batch_check(buf, (size_t)size - 1), -EINVAL);       /* truncated */
	buf[4] = 2;                                                           /* version 2 */
	cr_assert_eq(tile_batch_check(buf, (size_t)size), -EPROTO);
	buf[4] = 1;
	buf[64 + 56] += 64;                                                   /* C past the end */
	cr_assert_eq(tile_batch_check(buf, (size_t)size), -EINVAL);
	buf[64 + 56] -= 64;
	buf[0] ^= 1;                                                          /* magic */
	cr_assert_eq(tile_batch_check(buf, (size_t)size), -EPROTO);
	free(buf);
	unmake(&f);
}
