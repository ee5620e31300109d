// SPDX-License-Identifier: MIT
/*
 * tools/fwdbench/roofline.c - the ceilings of this CPU and each Whisper
 * stage's bound under them (roofline.h).
 *
 * The peaks are dependent-free chains of one instruction each (twelve
 * accumulators, more than the latency times the issue width of any x86
 * core today), so they time the execution ports and nothing else; the
 * bandwidth is STREAM's triad over arrays far larger than any cache,
 * counted as STREAM counts it (two reads and a write, no write-allocate).
 * The stage bounds are arithmetic on the model's dimensions: work over the
 * ceiling that limits it, MACs over the peak or bytes over the bandwidth,
 * whichever is longer.
 */
#include <errno.h>
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tools/fwdbench/roofline.h"

#define CHAINS 12
#define PEAK_ITERS 4000000L            /* per thread: ~0.1 s at 2 GHz-class ports */
#define TRIAD_ELEMS (16L << 20)        /* 64 MB a float array */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Each returns the multiply-adds it did; the sum goes to @sink so nothing is dropped. */
typedef double peak_fn(long iters, float *sink);

__attribute__((target("avx512f,avx512bw,avx512vnni")))
static double peak_int8(long iters, float *sink)
{
	__m512i acc[CHAINS], a = _mm512_set1_epi8(3), b = _mm512_set1_epi8(-2);

	for (int i = 0; i < CHAINS; i++)
		acc[i] = _mm512_set1_epi32(i);
	for (long n = 0; n < iters; n++)
		for (int i = 0; i < CHAINS; i++)
			acc[i] = _mm512_dpbusd_epi32(acc[i], a, b);
	for (int i = 1; i < CHAINS; i++)
		acc[0] = _mm512_add_epi32(acc[0], acc[i]);
	*sink += (float)_mm512_reduce_add_epi32(acc[0]);
	return (double)iters * CHAINS * 64.0;   /* 16 lanes × 4 byte pairs */
}

__attribute__((target("avx512f,avx512bw,avx512bf16")))
static double peak_bf16(long iters, float *sink)
{
	__m512 acc[CHAINS];
	__m512bh a = (__m512bh)_mm512_set1_epi16(0x3f80), b = (__m512bh)_mm512_set1_epi16(0x3c00);

	for (int i = 0; i < CHAINS; i++)
		acc[i] = _mm512_set1_ps((float)i);
	for (long n = 0; n < iters; n++)
		for (int i = 0; i < CHAINS; i++)
			acc[i] = _mm512_dpbf16_ps(acc[i], a, b);
	for (int i = 1; i < CHAINS; i++)
		acc[0] = _mm512_add_ps(acc[0], acc[i]);
	*sink += _mm512_reduce_add_ps(acc[0]);
	return (double)iters * CHAINS * 32.0;   /* 16 lanes × 2 pairs */
}

__attribute__((target("avx512f")))
static double peak_fp32(long iters, float *sink)
{
	__m512 acc[CHAINS], a = _mm512_set1_ps(1.0000001f), b = _mm512_set1_ps(0.999999f);

	for (int i = 0; i < CHAINS; i++)
		acc[i] = _mm512_set1_ps((float)i);
	for (long n = 0; n < iters; n++)
		for (int i = 0; i < CHAINS; i++)
			acc[i] = _mm512_fmadd_ps(acc[i], a, b);
	for (int i = 1; i < CHAINS; i++)
		acc[0] = _mm512_add_ps(acc[0], acc[i]);
	*sink += _mm512_reduce_add_ps(acc[0]);
	return (double)iters * CHAINS * 16.0;
}

struct worker {
	pthread_t tid;
	peak_fn *fn;           /* a peak loop, or NULL for the triad */
	float *a, *b, *c;      /* triad: this thread's slice */
	long n;
	double work;           /* multiply-adds or bytes done */
	double t0, t1;         /* when this thread began and ended its work */
	float sink;
	pthread_barrier_t *go;
};

static void *work_run(void *arg)
{
	struct worker *w = arg;

	if (!w->fn)   /* first touch: the slice's pages on this thread's node */
		for (long i = 0; i < w->n; i++) {
			w->a[i] = 0.0f;
			w->b[i] = 1.0f;
			w->c[i] = 2.0f;
		}
	pthread_barrier_wait(w->go);
	w->t0 = now_s();
	if (w->fn) {
		w->work = w->fn(PEAK_ITERS, &w->sink);
	} else {
		for (long i = 0; i < w->n; i++)
			w->a[i] = w->b[i] + 3.0f * w->c[i];
		w->work = 12.0 * (double)w->n;
		w->sink = w->a[w->n / 2];
	}
	w->t1 = now_s();
	return NULL;
}

/*
 * Work a second with @threads threads, best of @rounds; @fn NULL for the
 * triad over @a, @b, @c of TRIAD_ELEMS each. Return: the rate, or -1.
 */
static double rate(peak_fn *fn, int threads, int rounds, float *a, float *b, float *c)
{
	struct worker *w = calloc((size_t)threads, sizeof(*w));
	pthread_barrier_t go;
	double best = -1.0;

	/*
	 * The threads start together at the barrier and time themselves: the
	 * span from the first start to the last end. (The main thread's clock
	 * would not do: with as many workers as cores it may run only after
	 * they are done.)
	 */
	if (!w || pthread_barrier_init(&go, NULL, (unsigned)threads)) {
		free(w);
		return -1.0;
	}
	for (int r = 0; r < rounds; r++) {
		double t0 = 1e300, t1 = 0.0, t, total = 0.0;
		int started = 0;

		for (int i = 0; i < threads; i++) {
			long per = TRIAD_ELEMS / threads, o = per * i;

			w[i] = (struct worker){ .fn = fn, .a = a ? a + o : NULL, .b = b ? b + o : NULL,
						.c = c ? c + o : NULL, .n = per, .go = &go };
			if (pthread_create(&w[i].tid, NULL, work_run, &w[i]))
				break;
			started++;
		}
		if (started < threads) {   /* cannot happen on a sane system; give up cleanly */
			fprintf(stderr, "roofline: cannot start %d threads\n", threads);
			exit(1);
		}
		for (int i = 0; i < threads; i++) {
			pthread_join(w[i].tid, NULL);
			total += w[i].work;
			t0 = w[i].t0 < t0 ? w[i].t0 : t0;
			t1 = w[i].t1 > t1 ? w[i].t1 : t1;
		}
		t = t1 - t0;
		if (t > 0.0 && total / t > best)
			best = total / t;
	}
	pthread_barrier_destroy(&go);
	free(w);
	return best;
}

int roof_measure(struct roof_ceilings *c, int threads)
{
	float *a = aligned_alloc(64, TRIAD_ELEMS * sizeof(float));
	float *b = aligned_alloc(64, TRIAD_ELEMS * sizeof(float));
	float *cc = aligned_alloc(64, TRIAD_ELEMS * sizeof(float));

	memset(c, 0, sizeof(*c));
	c->threads = threads < 1 ? 1 : threads;
	if (!a || !b || !cc) {
		free(a);
		free(b);
		free(cc);
		return -ENOMEM;
	}
	__builtin_cpu_init();
	for (int k = 0; k < 2; k++) {
		int t = k ? c->threads : 1;

		if (__builtin_cpu_supports("avx512vnni"))
			c->int8_gmacs[k] = rate(peak_int8, t, 3, NULL, NULL, NULL) / 1e9;
		if (__builtin_cpu_supports("avx512bf16"))
			c->bf16_gmacs[k] = rate(peak_bf16, t, 3, NULL, NULL, NULL) / 1e9;
		if (__builtin_cpu_supports("avx512f"))
			c->fp32_gmacs[k] = rate(peak_fp32, t, 3, NULL, NULL, NULL) / 1e9;
		c->triad_gbs[k] = rate(NULL, t, 5, a, b, cc) / 1e9;
	}
	free(a);
	free(b);
	free(cc);
	return 0;
}

/* One stage: its work, the ceiling that bounds it and the time that gives. */
static double stage(const char *name, double macs, double gmacs, double bytes, double gbs)
{
	double tm = gmacs > 0.0 ? macs / (gmacs * 1e6) : 0.0;    /* ms */
	double tb = gbs > 0.0 ? bytes / (gbs * 1e6) : 0.0;
	double t = tm > tb ? tm : tb;

	printf("| %s | %.3f | %.1f | %.2f | %s |\n", name, macs / 1e9, bytes / 1e6, t,
	       tm >= tb ? "MACs" : "memory");
	return t;
}

void roof_report(const struct roof_ceilings *c, const struct wsp_hparams *hp, double enc_ms,
		 double step_ms, int beams, int n_past)
{
	double E = hp->n_audio_state, T = hp->n_audio_ctx, Le = hp->n_audio_layer;
	double D = hp->n_text_state, Ld = hp->n_text_layer, V = hp->n_vocab;
	double i8 = c->int8_gmacs[1], att = c->bf16_gmacs[1] > 0 ? c->bf16_gmacs[1] : c->fp32_gmacs[1];
	double f32 = c->fp32_gmacs[1], bw = c->triad_gbs[1], enc = 0.0, step = 0.0;
	/* INT8 weights: a byte each, and a float scale per 128 inputs */
	double wbytes = (Ld * 14.0 * D * D + V * D) * (1.0 + 4.0 / 128.0);

	printf("ceilings (1 thread / %d threads): INT8 %.1f / %.1f GMAC/s, bf16 %.1f / %.1f, "
	       "fp32 %.1f / %.1f, triad %.1f / %.1f GB/s\n", c->threads,
	       c->int8_gmacs[0], c->int8_gmacs[1], c->bf16_gmacs[0], c->bf16_gmacs[1],
	       c->fp32_gmacs[0], c->fp32_gmacs[1], c->triad_gbs[0], c->triad_gbs[1]);
	printf("\n| stage (one 30 s window) | GMAC | MB moved | bound ms | bound by |\n");
	printf("|---|---:|---:|---:|---|\n");
	enc += stage("encoder convolutions (INT8)",
		     2 * T * 3 * hp->n_mels * E + T * 3 * E * E, i8, 0, bw);
	enc += stage("encoder linears (INT8)", Le * T * 12 * E * E, i8, 0, bw);
	enc += stage(c->bf16_gmacs[1] > 0 ? "encoder attention (bf16)" : "encoder attention (fp32)",
		     Le * 2 * T * T * E, att, 0, bw);
	stage("decoder cross keys and values, once (INT8)", Ld * T * 2 * D * D, i8, 0, bw);
	step += stage("decoder step: weights (INT8, read once for all rows)", beams * wbytes, i8,
		      wbytes, bw);
	step += stage("decoder step: self attention (fp32)", beams * Ld * 2 * n_past * D, f32,
		      beams * Ld * 2 * n_past * D * 4, bw);
	step += stage("decoder step: cross attention (fp32, read once for all rows)",
		      beams * Ld * 2 * T * D, f32, Ld * 2 * T * D * 4, bw);
	printf("\nencoder: bound %.1f ms, measured %.1f ms (%.0f %% of the bound's speed)\n", enc,
	       enc_ms, enc_ms > 0 ? 100.0 * enc / enc_ms : 0.0);
	printf("decoder step, %d row(s), %d cached tokens: bound %.2f ms, measured %.2f ms "
	       "(%.0f %%)\n", beams, n_past, step, step_ms, step_ms > 0 ? 100.0 * step / step_ms : 0.0);
}
