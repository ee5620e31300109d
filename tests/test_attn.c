// SPDX-License-Identifier: MIT
/*
 * tests/test_attn.c - the fp32 attention block (whisper/nn/ops_attn.c,
 * ops_avx512.c) against a double-precision reference, and the layouts the
 * decoder gives it (keys in strips of 64, values per head, a shared prefix
 * read from another cache through kv_split) against the plain layout: the
 * same bits, at every tile height (1 to 9 query rows in one call).
 *
 * Each suite runs the AVX-512 block where the CPU has it; the "generic"
 * suite forces the portable loops (AMN_OPS=generic, read once per test
 * process).
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "whisper/nn/ops.h"

enum { NH = 3, HD = 64, DM = NH * HD, MAXQ = 9, MAXKV = 200 };

static float frand(uint32_t *x)
{
	*x = *x * 1664525u + 1013904223u;
	return (float)(*x >> 8) / 16777216.0f * 2.0f - 1.0f;
}

static void fill(float *p, size_t n, uint32_t seed, float scale)
{
	for (size_t i = 0; i < n; i++)
		p[i] = frand(&seed) * scale;
}

/* softmax(q·kᵀ/8)·v in double, rows-major q, k, v (n × DM) */
static void reference(const float *q, int nq, const float *k, const float *v, int nkv,
		      int causal, double *out)
{
	for (int h = 0; h < NH; h++)
		for (int i = 0; i < nq; i++) {
			int n = causal ? nkv - nq + i + 1 : nkv;
			double s[MAXKV], mx = -INFINITY, sum = 0.0;

			for (int j = 0; j < n; j++) {
				double t = 0.0;

				for (int c = 0; c < HD; c++)
					t += (double)q[i * DM + h * HD + c] * k[j * DM + h * HD + c];
				s[j] = t / 8.0;
				mx = s[j] > mx ? s[j] : mx;
			}
			for (int j = 0; j < n; j++)
				sum += s[j] = exp(s[j] - mx);
			for (int c = 0; c < HD; c++) {
				double o = 0.0;

				for (int j = 0; j < n; j++)
					o += s[j] * v[j * DM + h * HD + c];
				out[i * DM + h * HD + c] = o / sum;
			}
		}
}

/* the decoder's layouts of k and v: keys in strips per head, values per head */
static void to_strips(const float *k, const float *v, int nkv, float *kt, size_t ldkt,
		      float *vh)
{
	struct nn_attn a = { .k = k, .ldk = DM, .n_kv = nkv, .hd = HD };

	for (int h = 0; h < NH; h++) {
		nn_attn_pack_k_strips(&a, h, kt + (size_t)h * HD * ldkt);
		for (int j = 0; j < nkv; j++)
			memcpy(vh + ((size_t)h * nkv + j) * HD, v + (size_t)j * DM + h * HD,
			       HD * sizeof(float));
	}
}

static void run_plain(const float *q, int nq, const float *k, const float *v, int nkv,
		      int causal, float *out)
{
	struct nn_attn a = {
		.q = q, .ldq = DM, .k = k, .ldk = DM, .v = v, .ldv = DM, .out = out, .ldo = DM,
		.n_q = nq, .n_kv = nkv, .n_head = NH, .hd = HD, .causal = causal,
	};

	cr_assert_eq(nn_attention(&a, 1), 0);
}

static void run_strips(const float *q, int nq, const float *kt, const float *vh,
		       size_t ldkt, int nkv, int causal, const float *kt_lo, const float *v_lo,
		       int split, float *out)
{
	struct nn_attn a = {
		.q = q, .ldq = DM, .kt = kt, .ldkt = ldkt, .kt_strips = 1,
		.v = vh, .ldv = HD, .v_head = (size_t)nkv * HD,
		.kt_lo = kt_lo, .v_lo = v_lo, .kv_split = split,
		.out = out, .ldo = DM, .n_q = nq, .n_kv = nkv, .n_head = NH, .hd = HD,
		.causal = causal,
	};

	cr_assert_eq(nn_attention(&a, 2), 0);
}

static void check_all(void)
{
	static const int kvs[] = { 1, 5, 63, 64, 65, 130, 200 };
	float *q = malloc(MAXQ * DM * sizeof(float)), *k = malloc(MAXKV * DM * sizeof(float));
	float *v = malloc(MAXKV * DM * sizeof(float));
	float *o1 = malloc(MAXQ * DM * sizeof(float)), *o2 = malloc(MAXQ * DM * sizeof(float));
	float *o3 = malloc(MAXQ * DM * sizeof(float));
	size_t ldkt = nn_attn_ld_strips(MAXKV);
	float *kt = calloc(NH * HD * ldkt, sizeof(float)), *vh = malloc(MAXKV * DM * sizeof(float));
	float *kt2 = calloc(NH * HD * ldkt, sizeof(float)), *vh2 = malloc(MAXKV * DM * sizeof(float));
	double *ref = malloc(MAXQ * DM * sizeof(double));

	fill(q, MAXQ * DM, 1, 3.0f);   /* scores up to ~±20: a peaked softmax */
	fill(k, MAXKV * DM, 2, 1.0f);
	fill(v, MAXKV * DM, 3, 1.0f);
	for (size_t t = 0; t < sizeof(kvs) / sizeof(kvs[0]); t++)
		for (int nq = 1; nq <= MAXQ; nq++)
			for (int causal = 0; causal < 2; causal++) {
				int nkv = kvs[t];
				double worst = 0.0;

				if (causal && nq > nkv)
					continue;
				reference(q, nq, k, v, nkv, causal, ref);
				run_plain(q, nq, k, v, nkv, causal, o1);
				for (int i = 0; i < nq * DM; i++)
					worst = fmax(worst, fabs(o1[i] - ref[i]));
				cr_expect_lt(worst, 2e-6, "nkv %d, nq %d, causal %d: max error %g",
					     nkv, nq, causal, worst);
				/* row by row: the tile height does not change a row's bits */
				for (int i = 0; i < nq; i++) {
					int ni = causal ? nkv - nq + i + 1 : nkv;

					run_plain(q + i * DM, 1, k, v, ni, causal, o2 + i * DM);
				}
				cr_expect_eq(memcmp(o1, o2, (size_t)nq * DM * sizeof(float)), 0,
					     "nkv %d, nq %d, causal %d: rows alone differ", nkv, nq,
					     causal);
				/* strips and per-head values: same bits */
				to_strips(k, v, nkv, kt, ldkt, vh);
				run_strips(q, nq, kt, vh, ldkt, nkv, causal, NULL, NULL, 0, o2);
				cr_expect_eq(memcmp(o1, o2, (size_t)nq * DM * sizeof(float)), 0,
					     "nkv %d, nq %d, causal %d: strips differ", nkv, nq, causal);
				/*
				 * The positions below each whole-strip split from another
				 * cache (this one's are garbage there): same bits.
				 */
				for (int split = 64; split < nkv; split += 64) {
					memcpy(kt2, kt, NH * HD * ldkt * sizeof(float));
					memcpy(vh2, vh, (size_t)nkv * DM * sizeof(float));
					for (int h = 0; h < NH; h++) {
						for (size_t i = 0; i < (size_t)split * HD; i++)
							kt2[h * HD * ldkt + i] = NAN;
						for (size_t i = 0; i < (size_t)split * HD; i++)
							vh2[(size_t)h * nkv * HD + i] = NAN;
					}
					run_strips(q, nq, kt2, vh2, ldkt, nkv, causal, kt, vh, split, o3);
					cr_expect_eq(memcmp(o1, o3, (size_t)nq * DM * sizeof(float)), 0,
						     "nkv %d, nq %d, causal %d, split %d: differ", nkv,
						     nq, causal, split);
				}
			}
	free(q);
	free(k);
	free(v);
	free(o1);
	free(o2);
	free(o3);
	free(kt);
	free(vh);
	free(kt2);
	free(vh2);
	free(ref);
}

Test(attn, fp32_block_matches_double_and_layouts_give_the_same_bits)
{
	check_all();
}

static void force_generic(void)
{
	setenv("AMN_OPS", "generic", 1);
}

Test(attn_generic, portable_block_matches_double_and_layouts_give_the_same_bits,
     .init = force_generic)
{
	cr_assert_eq(nn_have_avx512(), 0, "AMN_OPS=generic was read too late");
	check_all();
}
