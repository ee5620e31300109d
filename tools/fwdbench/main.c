// SPDX-License-Identifier: MIT
/*
 * tools/fwdbench/main.c - time the Whisper forward pass: one 30 s encode and
 * single-token decoder steps, INT8 and fp32, next to CTranslate2's encode of
 * the same window measured in the same run (a Python one-liner), so that the
 * ratio is meaningful on a shared, noisy machine.
 *
 * usage: fwdbench [-m MODEL] [-i MEL.f32] [-t THREADS] [-n REPS] [-s STEPS]
 *                 [-g 0|1] [-T TENANT: 0 direct, 1 cpu engine] [-C] (skip CT2)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sched/npu.h"
#include "whisper/forward.h"

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_d);
	return n ? v[n / 2] : 0.0;
}

static double bench_encode(const struct wsp_model *m, const struct wsp_exec *x,
			   const float *mel, float *out, int reps, double *best)
{
	double t[64];

	*best = 1e30;
	for (int i = 0; i < reps; i++) {
		double t0 = now_ms();

		if (wsp_encode(m, x, mel, out)) {
			fprintf(stderr, "fwdbench: encode failed\n");
			return -1.0;
		}
		t[i] = now_ms() - t0;
		*best = t[i] < *best ? t[i] : *best;
	}
	return median(t, reps);
}

/* Prompt of 3 tokens, then @steps single-token steps; median step time. */
static double bench_decode(const struct wsp_model *m, const struct wsp_exec *x,
			   const float *enc, int n_seq, int steps, double *best)
{
	const struct wsp_hparams *hp = wsp_model_hparams(m);
	struct wsp_decoder *d;
	int32_t prompt[3 * 16], tok[16];
	float *logits = malloc((size_t)n_seq * hp->n_vocab * sizeof(float));
	double t[256];

	*best = 1e30;
	if (!logits || wsp_decoder_new(m, x, enc, n_seq, &d)) {
		free(logits);
		return -1.0;
	}
	for (int s = 0; s < n_seq; s++) {
		prompt[3 * s] = 50257;
		prompt[3 * s + 1] = 50362;
		prompt[3 * s + 2] = 50362;
	}
	if (wsp_decoder_step(d, prompt, 3, 2, logits))
		steps = 0;
	for (int i = 0; i < steps; i++) {
		double t0;

		for (int s = 0; s < n_seq; s++)
			tok[s] = 400 + 7 * i + s;
		t0 = now_ms();
		if (wsp_decoder_step(d, tok, 1, 0, logits))
			break;
		t[i] = now_ms() - t0;
		*best = t[i] < *best ? t[i] : *best;
	}
	wsp_decoder_free(d);
	free(logits);
	return steps ? median(t, steps) : -1.0;
}

static double ct2_run(const char *model, const char *mel, const char *ctype, int threads,
		      int reps)
{
	char cmd[2048];
	double ms = -1.0;
	FILE *p;

	snprintf(cmd, sizeof(cmd),
		 "python3 -c \"import sys,time,numpy as np,ctranslate2 as c\n"
		 "m=c.models.Whisper('%s',device='cpu',compute_type='%s',intra_threads=%d)\n"
		 "x=np.fromfile('%s',np.float32).reshape(1,-1,3000)\n"
		 "s=c.StorageView.from_array(x);m.encode(s);t=[]\n"
		 "for i in range(%d):\n t0=time.perf_counter();m.encode(s);t.append(time.perf_counter()-t0)\n"
		 "t.sort();print(t[len(t)//2]*1e3)\" 2>/dev/null",
		 model, ctype, threads, mel, reps);
	p = popen(cmd, "r");
	if (!p)
		return -1.0;
	if (fscanf(p, "%lf", &ms) != 1)
		ms = -1.0;
	pclose(p);
	return ms;
}

int main(int argc, char **argv)
{
	const char *model = "models/tiny.en", *melpath = "build/ref/jfk.mel.f32";
	int threads = 2, reps = 5, steps = 30, beams = 1, tenant = 0, skip_ct2 = 0, opt;
	struct wsp_model *m;
	const struct wsp_hparams *hp;
	struct npu_engine *e = NULL;
	struct npu_tenant *tn = NULL;
	char err[512];
	float *mel, *enc;
	size_t nmel;
	FILE *f;
	double ct2f = -1, ct2i = -1, enc_ms[2], enc_best[2], dec_ms[2], dec_best[2];

	while ((opt = getopt(argc, argv, "m:i:t:n:s:b:TC")) != -1) {
		switch (opt) {
		case 'm': model = optarg; break;
		case 'i': melpath = optarg; break;
		case 't': threads = atoi(optarg); break;
		case 'n': reps = atoi(optarg); break;
		case 's': steps = atoi(optarg); break;
		case 'b': beams = atoi(optarg); break;
		case 'T': tenant = 1; break;
		case 'C': skip_ct2 = 1; break;
		default:
			fprintf(stderr, "usage: %s [-m MODEL] [-i MEL.f32] [-t THREADS] [-n REPS] "
				"[-s STEPS] [-b BEAMS] [-T] [-C]\n", argv[0]);
			return 2;
		}
	}
	if (reps < 1 || reps > 64 || steps < 1 || steps > 256 || beams < 1 || beams > 16) {
		fprintf(stderr, "fwdbench: -n 1..64, -s 1..256, -b 1..16\n");
		return 2;
	}
	if (wsp_model_load(&m, model, err, sizeof(err))) {
		fprintf(stderr, "fwdbench: %s\n", err);
		return 1;
	}
	hp = wsp_model_hparams(m);
	nmel = (size_t)hp->n_mels * 2 * hp->n_audio_ctx;
	mel = malloc(nmel * sizeof(float));
	enc = malloc((size_t)hp->n_audio_ctx * hp->n_audio_state * sizeof(float));
	f = fopen(melpath, "rb");
	if (!mel || !enc || !f || fread(mel, sizeof(float), nmel, f) != nmel) {
		fprintf(stderr, "fwdbench: cannot read %zu floats from %s\n", nmel, melpath);
		return 1;
	}
	fclose(f);
	if (tenant) {
		struct npu_engine_opts eo = { .backend = "cpu", .threads = threads };

		if (npu_engine_open(&e, &eo) || npu_tenant_open(e, &tn, "fwdbench", 1)) {
			fprintf(stderr, "fwdbench: cannot open the cpu engine\n");
			return 1;
		}
	}
	for (int p = 0; p < 2; p++) {
		struct wsp_exec x = { .precision = p ? WSP_FP32 : WSP_INT8,
				      .tenant = p ? NULL : tn, .threads = threads };

		enc_ms[p] = bench_encode(m, &x, mel, enc, reps, &enc_best[p]);
		dec_ms[p] = bench_decode(m, &x, enc, beams, steps, &dec_best[p]);
	}
	if (!skip_ct2) {
		ct2f = ct2_run(model, melpath, "float32", threads, reps);
		ct2i = ct2_run(model, melpath, "int8", threads, reps);
	}
	printf("fwdbench: %s, %d threads, %s, %d beam(s)\n", model, threads,
	       tenant ? "INT8 through the cpu engine" : "INT8 direct tiler", beams);
	printf("%-28s %10s %10s\n", "", "median ms", "best ms");
	printf("%-28s %10.1f %10.1f\n", "encode int8", enc_ms[0], enc_best[0]);
	printf("%-28s %10.1f %10.1f\n", "encode fp32", enc_ms[1], enc_best[1]);
	printf("%-28s %10.2f %10.2f\n", "decoder step int8", dec_ms[0], dec_best[0]);
	printf("%-28s %10.2f %10.2f\n", "decoder step fp32", dec_ms[1], dec_best[1]);
	if (ct2f > 0 && ct2i > 0) {
		printf("%-28s %10.1f\n", "encode CTranslate2 float32", ct2f);
		printf("%-28s %10.1f\n", "encode CTranslate2 int8", ct2i);
		printf("ratio CT2 int8 / our int8 encode: %.2fx (>1: we are faster)\n",
		       ct2i / enc_ms[0]);
		printf("ratio CT2 fp32 / our fp32 encode: %.2fx\n", ct2f / enc_ms[1]);
	}
	npu_tenant_close(tn);
	npu_engine_close(e);
	free(mel);
	free(enc);
	wsp_model_free(m);
	return 0;
}
