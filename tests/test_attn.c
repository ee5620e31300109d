// SPDX-License-Identifier: MIT
/*
 * tests/test_attn.c - the fp32 attention block (whisper/nn/ops_attn.c,
 * ops_avx512.c) against a double-precision reference, and the layouts the
 * decoder gives it (keys in strips of 64, values per head, a shared prefix
 * read from another cache through kv_split) against the plain layout: the
 * same bits, at every tile height (1 to 9 query rows in one call); the
 * compact form (int16 keys, half-float values) and the half-float
 * conversions it is built from.
 *
 * Each suite runs the AVX-512 block where the CPU has it; the "generic"
 * suite forces the portable loops (AMN_OPS=generic, read once per test
 * process).
 */
#include <criterion/criterion.h>
#include <errno.h>
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

/*
 * Compact keys and values (struct nn_attn.kt_i16, the decoder's cross
 * attention on the INT8 path): int16 keys with a scale per head and
 * channel, half-float values. The block must compute exactly attention on
 * the values they stand for (against double, as the fp32 block), and stay
 * within a small distance of attention on the floats they came from.
 */
Test(attn, compact_keys_and_values_match_double_of_what_they_hold)
{
	static const int kvs[] = { 1, 63, 64, 65, 200 };
	size_t ldkt = nn_attn_ld_strips(MAXKV);
	float *q = malloc(MAXQ * DM * sizeof(float)), *k = malloc(MAXKV * DM * sizeof(float));
	float *v = malloc(MAXKV * DM * sizeof(float)), *o = malloc(MAXQ * DM * sizeof(float));
	float *kd = malloc(MAXKV * DM * sizeof(float)), *vd = malloc(MAXKV * DM * sizeof(float));
	float *kt = calloc(NH * HD * ldkt, sizeof(float)), *vh = malloc(MAXKV * DM * sizeof(float));
	int16_t *k16 = calloc(NH * HD * ldkt, sizeof(int16_t));
	uint16_t *v16 = malloc(MAXKV * DM * sizeof(uint16_t));
	float kscale[NH * HD];
	double *ref = malloc(MAXQ * DM * sizeof(double)), *exact = malloc(MAXQ * DM * sizeof(double));

	if (!nn_have_avx512())
		cr_skip_test("compact keys and values need AVX-512");
	fill(q, MAXQ * DM, 1, 3.0f);
	fill(k, MAXKV * DM, 2, 1.0f);
	fill(v, MAXKV * DM, 3, 1.0f);
	for (int c = 0; c < DM; c++)   /* channels of different sizes, one all zero */
		for (int j = 0; j < MAXKV; j++)
			k[j * DM + c] *= c == 5 ? 0.0f : 0.05f + (float)(c % 7);
	for (size_t t = 0; t < sizeof(kvs) / sizeof(kvs[0]); t++) {
		int nkv = kvs[t];

		/* the decoder's quantization: absmax / 32767 per (head, channel) */
		for (int c = 0; c < DM; c++) {
			float mx = 0.0f;

			for (int j = 0; j < nkv; j++)
				mx = fmaxf(mx, fabsf(k[j * DM + c]));
			kscale[c] = mx / 32767.0f;
			for (int j = 0; j < nkv; j++)
				kd[j * DM + c] = mx > 0.0f ?
					(float)lrintf(k[j * DM + c] * (32767.0f / mx)) : 0.0f;
		}
		to_strips(kd, v, nkv, kt, ldkt, vh);
		for (size_t i = 0; i < (size_t)NH * HD * ldkt; i++)
			k16[i] = (int16_t)kt[i];
		nn_f32_to_f16(v16, vh, (size_t)nkv * DM);
		/* what they hold, as floats, for the references */
		for (int j = 0; j < nkv; j++)
			for (int c = 0; c < DM; c++)
				kd[j * DM + c] *= kscale[c];
		for (int h = 0; h < NH; h++) {
			float row[HD];

			for (int j = 0; j < nkv; j++) {
				nn_f16_to_f32(row, v16 + ((size_t)h * nkv + j) * HD, HD);
				memcpy(vd + (size_t)j * DM + h * HD, row, sizeof(row));
			}
		}
		for (int nq = 1; nq <= MAXQ; nq += 4) {
			struct nn_attn a = {
				.q = q, .ldq = DM, .kt_i16 = k16, .k_scale = kscale, .ldkt = ldkt,
				.kt_strips = 1, .v_f16 = v16, .ldv = HD, .v_head = (size_t)nkv * HD,
				.out = o, .ldo = DM, .n_q = nq, .n_kv = nkv, .n_head = NH, .hd = HD,
			};
			double worst = 0.0, drift = 0.0;

			cr_assert_eq(nn_attention(&a, 2), 0);
			reference(q, nq, kd, vd, nkv, 0, ref);
			reference(q, nq, k, v, nkv, 0, exact);
			for (int i = 0; i < nq * DM; i++) {
				worst = fmax(worst, fabs(o[i] - ref[i]));
				drift = fmax(drift, fabs(o[i] - exact[i]));
			}
			cr_expect_lt(worst, 4e-6, "nkv %d, nq %d: max error %g", nkv, nq, worst);
			cr_expect_lt(drift, 2e-3, "nkv %d, nq %d: %g from the floats", nkv, nq, drift);
		}
	}
	/* outside its one form: refused, not misread */
	{
		struct nn_attn a = {
			.q = q, .ldq = DM, .kt_i16 = k16, .k_scale = kscale, .ldkt = ldkt,
			.kt_strips = 1, .v_f16 = v16, .ldv = HD, .out = o, .ldo = DM,
			.n_q = 1, .n_kv = 64, .n_head = NH, .hd = HD,
		};

		a.k_scale = NULL;
		cr_expect_eq(nn_attention(&a, 1), -EINVAL, "no scales");
		a.k_scale = kscale;
		a.kt_strips = 0;
		cr_expect_eq(nn_attention(&a, 1), -EINVAL, "not in strips");
		a.kt_strips = 1;
		a.kv_split = 64;
		cr_expect_eq(nn_attention(&a, 1), -EINVAL, "with a split");
	}
	free(q);
	free(k);
	free(v);
	free(o);
	free(kd);
	free(vd);
	free(kt);
	free(vh);
	free(k16);
	free(v16);
	free(ref);
	free(exact);
}

/*
 * Half-float conversion: round to nearest even at the edges that matter
 * (ties, the largest half, overflow, subnormals), and every finite half
 * through float and back unchanged. Run in both suites: F16C and the
 * portable form must agree on all of it.
 */
static void check_f16(void)
{
	static const struct { float f; uint16_t h; } cases[] = {
		{ 0.0f, 0x0000 }, { -0.0f, 0x8000 }, { 1.0f, 0x3c00 }, { -2.0f, 0xc000 },
		{ 1.0f + 0x1p-11f, 0x3c00 },          /* tie: to even (down) */
		{ 1.0f + 3 * 0x1p-11f, 0x3c02 },      /* tie: to even (up) */
		{ 65504.0f, 0x7bff }, { 65519.0f, 0x7bff }, { 65520.0f, 0x7c00 },
		{ 1e30f, 0x7c00 }, { -INFINITY, 0xfc00 },
		{ 0x1p-24f, 0x0001 }, { 0x1p-25f, 0x0000 }, { 3 * 0x1p-25f, 0x0002 },
		{ 0x1p-14f, 0x0400 }, { 0x1p-14f - 0x1p-25f, 0x0400 },
	};
	uint16_t h[17], back[1];
	float f[17], one;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		nn_f32_to_f16(h, &cases[i].f, 1);
		cr_expect_eq(h[0], cases[i].h, "%a -> %#06x, want %#06x", cases[i].f, h[0],
			     cases[i].h);
	}
	one = NAN;
	nn_f32_to_f16(h, &one, 1);
	cr_expect((h[0] & 0x7c00) == 0x7c00 && (h[0] & 0x3ff), "NaN -> %#06x", h[0]);
	for (uint32_t x = 0; x < 65536; x++) {
		uint16_t hx = (uint16_t)x;

		if ((hx & 0x7c00) == 0x7c00 && (hx & 0x3ff))
			continue;   /* NaNs: quieted on the way, not kept bit for bit */
		nn_f16_to_f32(f, &hx, 1);
		nn_f32_to_f16(back, f, 1);
		cr_assert_eq(back[0], hx, "%#06x -> %a -> %#06x", hx, f[0], back[0]);
	}
	/* a tail shorter than a vector, converted alone */
	for (int i = 0; i < 17; i++)
		f[i] = (float)i * 0.25f;
	nn_f32_to_f16(h, f, 17);
	nn_f16_to_f32(f, h, 17);
	for (int i = 0; i < 17; i++)
		cr_expect_eq(f[i], (float)i * 0.25f, "element %d", i);
}

Test(attn, half_floats_round_to_nearest_even)
{
	check_f16();
}

Test(attn_generic, portable_half_floats_round_to_nearest_even, .init = force_generic)
{
	cr_assert_eq(nn_have_avx512(), 0, "AMN_OPS=generic was read too late");
	check_f16();
}
