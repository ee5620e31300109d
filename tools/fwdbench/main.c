// SPDX-License-Identifier: MIT
/*
 * tools/fwdbench/main.c - time the Whisper forward pass: one 30 s encode and
 * single-token decoder steps, INT8 and fp32, next to CTranslate2's encode of
 * the same window measured in the same run (a Python one-liner), so that the
 * ratio is meaningful on a shared, noisy machine.
 *
 * usage: fwdbench [-m MODEL] [-i MEL.f32 | -i AUDIO] [-t THREADS] [-n REPS] [-s STEPS]
 *                 [-b BEAMS] [-T] [-C] [-D] [-I] [-K] [-R]
 *   -i  the window: raw floats (n_mels × 3000), or any audio file, whose
 *       first 30 s become the window (default samples/jfk.wav)
 *   -t  threads (default: $AMN_THREADS, else the CPUs it may use)
 *   -T  INT8 matmuls through a cpu-backend engine tenant (else the tiler directly)
 *   -C  skip CTranslate2;  -D  also time wsp_encode_direct() (no job graph)
 *   -I  INT8 only (no fp32 runs)
 *   -K  decoder steps with compact cross keys/values (int16 keys, half-float
 *       values: the batched mode's, struct wsp_exec.compact_kv)
 *   -p "IDS" -e EOT  decoding prompt and end token (default tiny.en's
 *       "50257 50362" and 50256; multilingual models need their own)
 *   -R  then the roofline: this CPU's ceilings and each stage's bound under
 *       them beside the INT8 times measured here (roofline.c)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/amn_threads.h"
#include "sched/npu.h"
#include "whisper/audio/audio.h"
#include "whisper/audio/mel.h"
#include "whisper/nn/forward.h"
#include "whisper/decode/greedy.h"
#include "tools/fwdbench/roofline.h"

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

/*
 * The first 30 s of the audio file @path as one log-mel window (n_mels ×
 * 2 * n_audio_ctx floats), also written to @tmp (a mkstemp template) for
 * the CTranslate2 coprocess. Return: the window, or NULL (@err says why).
 */
static float *window_of_audio(const char *path, int n_mels, int n_frames, char *tmp,
			      char *err, size_t errlen)
{
	struct wsp_audio a;
	struct wsp_mel *mel = NULL;
	size_t n = (size_t)n_frames * WSP_HOP_LENGTH, nmel = (size_t)n_mels * n_frames;
	float *pcm = calloc(n, sizeof(float)), *out = malloc(nmel * sizeof(float));
	FILE *f = NULL;
	int fd = -1;

	if (!pcm || !out || wsp_audio_load(path, &a, err, errlen))
		goto fail;
	memcpy(pcm, a.samples, (a.n < n ? a.n : n) * sizeof(float));
	wsp_audio_free(&a);
	if (wsp_mel_new(n_mels, &mel) || wsp_mel_compute(mel, pcm, n, out)) {
		snprintf(err, errlen, "the log-mel window of %s failed", path);
		goto fail;
	}
	fd = mkstemp(tmp);
	f = fd >= 0 ? fdopen(fd, "wb") : NULL;
	if (!f || fwrite(out, sizeof(float), nmel, f) != nmel || fclose(f)) {
		snprintf(err, errlen, "cannot write the window to %s", tmp);
		f = NULL;
		goto fail;
	}
	wsp_mel_free(mel);
	free(pcm);
	return out;
fail:
	if (f)
		fclose(f);
	wsp_mel_free(mel);
	free(pcm);
	free(out);
	return NULL;
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

/*
 * CTranslate2 runs in a Python coprocess that loads the model in float32 and
 * int8 once, then times one encode per request line ("float32" or "int8") and
 * answers "wall_ms cpu_ms", so its runs interleave with ours under the same load.
 */
struct ct2 {
	pid_t pid;
	FILE *to, *from;
};

static const char ct2_script[] =
	"import sys,time,numpy as np,ctranslate2 as c\n"
	"mp,mel,th=sys.argv[1],sys.argv[2],int(sys.argv[3])\n"
	"x=np.fromfile(mel,np.float32).reshape(1,-1,3000)\n"
	"s=c.StorageView.from_array(x)\n"
	"ms={t:c.models.Whisper(mp,device='cpu',compute_type=t,intra_threads=th) for t in ('float32','int8')}\n"
	"pr=[int(t) for t in sys.argv[4].split()]\n"
	"e={t:m.encode(s) for t,m in ms.items()}\n"
	"print('ready',flush=True)\n"
	"for line in sys.stdin:\n"
	" k,t=line.split();m=ms[t];w=time.perf_counter();p=time.process_time();n=0\n"
	" if k=='enc': m.encode(s)\n"
	" else: n=len(m.generate(e[t],[pr],beam_size=1,max_length=448,suppress_blank=False,"
	"suppress_tokens=[])[0].sequences_ids[0])\n"
	" print((time.perf_counter()-w)*1e3,(time.process_time()-p)*1e3,n,flush=True)\n";

static int ct2_start(struct ct2 *c, const char *model, const char *mel, int threads,
		     const char *prompt)
{
	int in[2], out[2];
	char th[16], line[64];

	if (pipe(in) || pipe(out))
		return -errno;
	snprintf(th, sizeof(th), "%d", threads);
	c->pid = fork();
	if (c->pid < 0)
		return -errno;
	if (c->pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[1]);
		close(out[0]);
		execlp("python3", "python3", "-c", ct2_script, model, mel, th, prompt, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	c->to = fdopen(in[1], "w");
	c->from = fdopen(out[0], "r");
	if (!c->to || !c->from || !fgets(line, sizeof(line), c->from) ||
	    strncmp(line, "ready", 5)) {
		fprintf(stderr, "fwdbench: the CTranslate2 coprocess did not start "
			"(python3 with ctranslate2 and numpy needed)\n");
		return -EIO;
	}
	return 0;
}

/* @what: "enc" (one encode) or "gen" (greedy decoding of the encoder output;
 * *ntok receives the tokens generated). */
static int ct2_call(struct ct2 *c, const char *what, const char *type, double *wall,
		    double *cpu, int *ntok)
{
	int n;

	fprintf(c->to, "%s %s\n", what, type);
	fflush(c->to);
	if (fscanf(c->from, "%lf %lf %d", wall, cpu, &n) != 3)
		return -EIO;
	if (ntok)
		*ntok = n;
	return 0;
}

static void ct2_stop(struct ct2 *c)
{
	if (c->to)
		fclose(c->to);
	if (c->from)
		fclose(c->from);
	if (c->pid > 0)
		waitpid(c->pid, NULL, 0);
}

static double cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* One sample series: wall and CPU milliseconds per run. */
struct series {
	double wall[64], cpu[64];
	int n;
};

static void add(struct series *s, double wall, double cpu)
{
	s->wall[s->n] = wall;
	s->cpu[s->n] = cpu;
	s->n++;
}

static void report(const char *name, struct series *s)
{
	double best;

	if (!s->n)
		return;
	qsort(s->wall, s->n, sizeof(double), cmp_d);
	qsort(s->cpu, s->n, sizeof(double), cmp_d);
	best = s->wall[0];
	printf("%-30s %9.1f %9.1f %9.1f\n", name, median(s->wall, s->n), best,
	       median(s->cpu, s->n));
}

int main(int argc, char **argv)
{
	const char *model = "models/tiny.en", *melpath = "samples/jfk.wav";
	char tmpmel[] = "/tmp/fwdbench_mel_XXXXXX";
	int threads = amn_threads_default(), reps = 5, steps = 30, beams = 1, tenant = 0;
	int skip_ct2 = 0, direct = 0, compact_kv = 0;
	int int8_only = 0, roofline = 0, opt;
	struct wsp_model *m;
	const struct wsp_hparams *hp;
	struct npu_engine *e = NULL;
	struct npu_tenant *tn = NULL;
	struct ct2 c2 = { 0 };
	static struct series enc[2], ct[2], dir[2], gen[2], ctgen[2];
	struct wsp_encoder *encoder[2] = { NULL, NULL };
	const char *prompt_str = "50257 50362";
	int32_t prompt[8], toks[448];
	int n_prompt = 0, ntok[2] = { 0 }, ctntok[2] = { 0 }, eot = 50256;
	char err[512];
	float *mel, *out;
	size_t nmel;
	FILE *f;
	double dec_ms[2], dec_best[2];

	while ((opt = getopt(argc, argv, "m:i:t:n:s:b:TCDIKRp:e:")) != -1) {
		switch (opt) {
		case 'm': model = optarg; break;
		case 'i': melpath = optarg; break;
		case 't': threads = atoi(optarg); break;
		case 'n': reps = atoi(optarg); break;
		case 's': steps = atoi(optarg); break;
		case 'b': beams = atoi(optarg); break;
		case 'T': tenant = 1; break;
		case 'C': skip_ct2 = 1; break;
		case 'D': direct = 1; break;
		case 'I': int8_only = 1; break;
		case 'K': compact_kv = 1; break;
		case 'R': roofline = 1; break;
		case 'p': prompt_str = optarg; break;
		case 'e': eot = atoi(optarg); break;
		default:
			fprintf(stderr, "usage: %s [-m MODEL] [-i MEL.f32] [-t THREADS] [-n REPS] "
				"[-s STEPS] [-b BEAMS] [-T] [-C] [-D] [-I] [-K] [-R]\n", argv[0]);
			return 2;
		}
	}
	if (reps < 1 || reps > 64 || steps < 1 || steps > 256 || beams < 1 || beams > 16) {
		fprintf(stderr, "fwdbench: -n 1..64, -s 1..256, -b 1..16\n");
		return 2;
	}
	for (const char *q = prompt_str; n_prompt < 8;) {
		char *end;
		long v = strtol(q, &end, 10);

		if (end == q)
			break;
		prompt[n_prompt++] = (int32_t)v;
		q = end;
	}
	if (wsp_model_load(&m, model, err, sizeof(err))) {
		fprintf(stderr, "fwdbench: %s\n", err);
		return 1;
	}
	hp = wsp_model_hparams(m);
	nmel = (size_t)hp->n_mels * 2 * hp->n_audio_ctx;
	out = malloc((size_t)hp->n_audio_ctx * hp->n_audio_state * sizeof(float));
	if (strlen(melpath) > 4 && strcmp(melpath + strlen(melpath) - 4, ".f32") == 0) {
		mel = malloc(nmel * sizeof(float));
		f = fopen(melpath, "rb");
		if (!mel || !out || !f || fread(mel, sizeof(float), nmel, f) != nmel) {
			fprintf(stderr, "fwdbench: cannot read %zu floats from %s\n", nmel, melpath);
			return 1;
		}
		fclose(f);
	} else {
		mel = window_of_audio(melpath, hp->n_mels, 2 * hp->n_audio_ctx, tmpmel, err,
				      sizeof(err));
		if (!mel || !out) {
			fprintf(stderr, "fwdbench: %s\n", err);
			return 1;
		}
		melpath = tmpmel;
	}
	if (tenant) {
		struct npu_engine_opts eo = { .backend = "cpu", .threads = threads };

		if (npu_engine_open(&e, &eo) || npu_tenant_open(e, &tn, "fwdbench", 1)) {
			fprintf(stderr, "fwdbench: cannot open the cpu engine\n");
			return 1;
		}
	}
	if (!skip_ct2 && ct2_start(&c2, model, melpath, threads, prompt_str))
		skip_ct2 = 1;
	for (int p = 0; p < 2; p++) {
		struct wsp_exec x = { .precision = p ? WSP_FP32 : WSP_INT8,
				      .tenant = p ? NULL : tn, .threads = threads };

		if (wsp_encoder_new(m, &x, &encoder[p]))
			return 1;
	}
	/* rep 0 warms up (page faults, pools) and is not counted */
	for (int r = 0; r <= reps; r++) {
		for (int p = 0; p < 2 - int8_only; p++) {
			struct wsp_exec x = { .precision = p ? WSP_FP32 : WSP_INT8,
					      .tenant = p ? NULL : tn, .threads = threads };
			double w0 = now_ms(), c0 = cpu_ms(), w, c;

			if (wsp_encoder_run(encoder[p], mel, out)) {
				fprintf(stderr, "fwdbench: encode failed\n");
				return 1;
			}
			w = now_ms() - w0;
			c = cpu_ms() - c0;
			if (r)
				add(&enc[p], w, c);
			if (!skip_ct2 && !ct2_call(&c2, "enc", p ? "float32" : "int8", &w, &c, NULL) &&
			    r)
				add(&ct[p], w, c);
			if (!direct)
				continue;
			w0 = now_ms();
			c0 = cpu_ms();
			if (wsp_encode_direct(m, &x, mel, out))
				return 1;
			if (r)
				add(&dir[p], now_ms() - w0, cpu_ms() - c0);
		}
	}
	/* full greedy decoding of this window's encoder output, ours and CT2's */
	for (int r = 0; r <= reps; r++) {
		for (int p = 0; p < 2 - int8_only; p++) {
			struct wsp_exec x = { .precision = p ? WSP_FP32 : WSP_INT8,
					      .tenant = p ? NULL : tn, .threads = threads };
			double w0, c0, w, c;

			if (wsp_encode(m, &x, mel, out))
				return 1;
			w0 = now_ms();
			c0 = cpu_ms();
			ntok[p] = wsp_greedy(m, &x, out, prompt, n_prompt, eot, toks, 448);
			if (ntok[p] < 0)
				return 1;
			w = now_ms() - w0;
			c = cpu_ms() - c0;
			if (r)
				add(&gen[p], w, c);
			if (!skip_ct2 && !ct2_call(&c2, "gen", p ? "float32" : "int8", &w, &c,
						   &ctntok[p]) && r)
				add(&ctgen[p], w, c);
		}
	}
	dec_ms[1] = dec_best[1] = 0.0;
	for (int p = 0; p < 2 - int8_only; p++) {
		struct wsp_exec x = { .precision = p ? WSP_FP32 : WSP_INT8,
				      .tenant = p ? NULL : tn, .threads = threads,
				      .compact_kv = compact_kv };

		if (wsp_encode(m, &x, mel, out))
			return 1;
		dec_ms[p] = bench_decode(m, &x, out, beams, steps, &dec_best[p]);
	}
	printf("fwdbench: %s, %d threads, INT8 %s, %d beam(s), %d reps\n", model, threads,
	       tenant ? "through the cpu engine" : "direct tiler", beams, reps);
	printf("%-30s %9s %9s %9s\n", "encode, one 30 s window", "median", "best", "cpu ms");
	report("ours int8 (graph made once)", &enc[0]);
	report("ours fp32 (graph made once)", &enc[1]);
	report("ours int8, direct (no graph)", &dir[0]);
	report("ours fp32, direct (no graph)", &dir[1]);
	report("CTranslate2 int8", &ct[0]);
	report("CTranslate2 float32", &ct[1]);
	if (ct[0].n && ct[1].n) {
		printf("CT2 int8 / ours int8:  %.2fx median, %.2fx best (>1: ours faster)\n",
		       median(ct[0].wall, ct[0].n) / median(enc[0].wall, enc[0].n),
		       ct[0].wall[0] / enc[0].wall[0]);
		printf("CT2 fp32 / ours fp32:  %.2fx median, %.2fx best\n",
		       median(ct[1].wall, ct[1].n) / median(enc[1].wall, enc[1].n),
		       ct[1].wall[0] / enc[1].wall[0]);
	}
	printf("%-30s %9s %9s %9s\n", "greedy decoding, whole window", "median", "best",
	       "cpu ms");
	report("ours int8", &gen[0]);
	report("ours fp32", &gen[1]);
	report("CTranslate2 int8", &ctgen[0]);
	report("CTranslate2 float32", &ctgen[1]);
	printf("tokens: ours int8 %d, fp32 %d; CTranslate2 int8 %d, float32 %d\n",
	       ntok[0], ntok[1], ctntok[0], ctntok[1]);
	if (gen[0].n && ctgen[0].n)
		printf("CT2 int8 / ours int8 decoding:  %.2fx median, %.2fx best\n",
		       median(ctgen[0].wall, ctgen[0].n) / median(gen[0].wall, gen[0].n),
		       ctgen[0].wall[0] / gen[0].wall[0]);
	printf("%-30s %9s %9s\n", "decoder step, 1 token", "median", "best");
	printf("%-30s %9.2f %9.2f\n", "ours int8", dec_ms[0], dec_best[0]);
	printf("%-30s %9.2f %9.2f\n", "ours fp32", dec_ms[1], dec_best[1]);
	ct2_stop(&c2);
	if (roofline) {
		struct roof_ceilings rc;

		if (roof_measure(&rc, threads)) {
			fprintf(stderr, "fwdbench: no memory for the bandwidth test\n");
			return 1;
		}
		printf("\n");
		roof_report(&rc, hp, median(enc[0].wall, enc[0].n), dec_ms[0], beams,
			    3 + steps / 2);
	}
	wsp_encoder_free(encoder[0]);
	wsp_encoder_free(encoder[1]);
	npu_tenant_close(tn);
	npu_engine_close(e);
	if (melpath == tmpmel)
		unlink(tmpmel);
	free(mel);
	free(out);
	wsp_model_free(m);
	return 0;
}
