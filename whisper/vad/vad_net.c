// SPDX-License-Identifier: MIT
/*
 * whisper/vad/vad_net.c - the Silero VAD v6 forward pass, fp32, streamed.
 *
 * Each 512-sample chunk is scored with the 64 samples before it (zeros before
 * the first): STFT of the 576 samples (reflect-padded by 128, window 256, hop
 * 128, as a matmul with the 258 basis rows; the first frame is dropped, four
 * are kept), magnitude, four kernel-3 convolutions with ReLU (strides 1, 2,
 * 2, 1: 4 frames down to 1), an LSTM cell whose state runs from chunk to
 * chunk over the whole recording, ReLU, a 128 -> 1 projection and a sigmoid.
 * That is the ONNX graph faster-whisper's SileroVADModel runs, with its
 * batches of chunks sharing one LSTM sequence.
 *
 * Chunks are worked in blocks of VAD_BLOCK: everything but the LSTM step is
 * a matmul over the whole block (vad_gemm.c); the recurrent step is one
 * 512 x 128 matrix-vector product per chunk. All state lives in the stream,
 * so any number of threads may score with one wsp_vad.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "whisper/nn/ops.h"
#include "whisper/vad/vad_internal.h"

#define VAD_BLOCK 64            /* chunks per block: 2 s of audio */

struct wsp_vad_stream {
	const struct wsp_vad *v;
	float h[VAD_HIDDEN], c[VAD_HIDDEN];
	float ctx[VAD_CONTEXT];     /* the last 64 samples of the previous chunk */
	float *pend;                /* VAD_BLOCK chunks being filled */
	size_t n_pend;              /* samples in @pend */
	size_t n_fed;
	float *probs;
	size_t n_probs, cap_probs;
	/* scratch for one block */
	float *frames;              /* [B*4][256] */
	float *spec;                /* [B*4][258] */
	float *mag;                 /* [B*4][129] */
	float *col;                 /* [B*4][129*3], the largest im2col */
	float *act0, *act1;         /* [B*4][128] ping-pong */
	float *gates;               /* [B][512] */
};

static float sigmoidf(float x)
{
	return 1.0f / (1.0f + nn_expf(-x));
}

void wsp_vad_stream_free(struct wsp_vad_stream *s)
{
	if (!s)
		return;
	free(s->pend);
	free(s->probs);
	free(s->frames);
	free(s->spec);
	free(s->mag);
	free(s->col);
	free(s->act0);
	free(s->act1);
	free(s->gates);
	free(s);
}

int wsp_vad_stream_new(const struct wsp_vad *v, struct wsp_vad_stream **out)
{
	struct wsp_vad_stream *s;
	size_t rows = (size_t)VAD_BLOCK * VAD_FRAMES;

	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->v = v;
	s->pend = malloc((size_t)VAD_BLOCK * WSP_VAD_CHUNK * sizeof(float));
	s->frames = malloc(rows * VAD_NFFT * sizeof(float));
	s->spec = malloc(rows * 2 * VAD_BINS * sizeof(float));
	s->mag = malloc(rows * VAD_BINS * sizeof(float));
	s->col = malloc(rows * VAD_BINS * 3 * sizeof(float));
	s->act0 = malloc(rows * 128 * sizeof(float));
	s->act1 = malloc(rows * 128 * sizeof(float));
	s->gates = malloc((size_t)VAD_BLOCK * 4 * VAD_HIDDEN * sizeof(float));
	if (!s->pend || !s->frames || !s->spec || !s->mag || !s->col || !s->act0 || !s->act1 ||
	    !s->gates) {
		wsp_vad_stream_free(s);
		return -ENOMEM;
	}
	*out = s;
	return 0;
}

size_t wsp_vad_stream_samples(const struct wsp_vad_stream *s)
{
	return s->n_fed;
}

/*
 * One kernel-3, pad-1 convolution over time for every chunk of the block:
 * @src is [nb][t_in][cin] (time-major per chunk), @dst [nb][t_out][cout],
 * bias added and ReLU applied.
 */
static void conv_k3(struct wsp_vad_stream *s, int layer, const float *src, float *dst,
		    int nb, int t_in)
{
	const int cin = wsp_vad_enc_shape[layer][0], cout = wsp_vad_enc_shape[layer][1];
	const int stride = wsp_vad_enc_shape[layer][2];
	const int t_out = (t_in + 2 - 3) / stride + 1;
	const int rows = nb * t_out;
	const float *b = s->v->enc_b[layer];

	for (int k = 0; k < nb; k++)
		nn_im2col_k3(s->col + (size_t)k * t_out * cin * 3, src + (size_t)k * t_in * cin,
			     cin, t_in, stride, 1, (size_t)cin, 0, t_out);
	/* dst = col [rows][cin*3] x Wt [cin*3][cout] */
	vad_gemm(dst, s->col, s->v->enc_wt[layer], rows, cout, cin * 3);
	for (int r = 0; r < rows; r++) {
		float *y = dst + (size_t)r * cout;

		for (int o = 0; o < cout; o++) {
			float x = y[o] + b[o];

			y[o] = x > 0.0f ? x : 0.0f;
		}
	}
}

/* Score the @nb chunks in s->pend and append their probabilities. */
static int run_block(struct wsp_vad_stream *s, int nb)
{
	const struct wsp_vad *v = s->v;
	const int rows = nb * VAD_FRAMES;

	if (s->n_probs + (size_t)nb > s->cap_probs) {
		size_t cap = s->cap_probs ? s->cap_probs * 2 : 1024;
		float *p;

		while (cap < s->n_probs + (size_t)nb)
			cap *= 2;
		p = realloc(s->probs, cap * sizeof(float));
		if (!p)
			return -ENOMEM;
		s->probs = p;
		s->cap_probs = cap;
	}
	/* frames 1..4 of the reflect-padded 576 samples: frame f starts at
	 * sample 128 f of the unpadded input; past its end the input reflects
	 * (x[576 + j] = x[574 - j]) */
	for (int k = 0; k < nb; k++) {
		const float *chunk = s->pend + (size_t)k * WSP_VAD_CHUNK;
		const float *prev = k ? chunk - VAD_CONTEXT : s->ctx;
		float x[VAD_INPUT];

		memcpy(x, prev, VAD_CONTEXT * sizeof(float));
		memcpy(x + VAD_CONTEXT, chunk, WSP_VAD_CHUNK * sizeof(float));
		for (int f = 0; f < VAD_FRAMES; f++) {
			float *dst = s->frames + ((size_t)k * VAD_FRAMES + f) * VAD_NFFT;

			for (int j = 0; j < VAD_NFFT; j++) {
				int i = VAD_HOP * f + j;

				dst[j] = x[i < VAD_INPUT ? i : 2 * (VAD_INPUT - 1) - i];
			}
		}
	}
	memcpy(s->ctx, s->pend + (size_t)nb * WSP_VAD_CHUNK - VAD_CONTEXT, sizeof(s->ctx));

	vad_gemm(s->spec, s->frames, v->basis_t, rows, 2 * VAD_BINS, VAD_NFFT);
	for (int r = 0; r < rows; r++) {
		const float *re = s->spec + (size_t)r * 2 * VAD_BINS, *im = re + VAD_BINS;
		float *m = s->mag + (size_t)r * VAD_BINS;

		for (int b = 0; b < VAD_BINS; b++)
			m[b] = sqrtf(re[b] * re[b] + im[b] * im[b]);
	}
	conv_k3(s, 0, s->mag, s->act0, nb, 4);
	conv_k3(s, 1, s->act0, s->act1, nb, 4);
	conv_k3(s, 2, s->act1, s->act0, nb, 2);
	conv_k3(s, 3, s->act0, s->act1, nb, 1);

	/* the input half of every gate for the block at once */
	vad_gemm(s->gates, s->act1, v->w_ih_t, nb, 4 * VAD_HIDDEN, VAD_HIDDEN);
	for (int k = 0; k < nb; k++) {
		float *g = s->gates + (size_t)k * 4 * VAD_HIDDEN;
		float acc = v->out_b;

		for (int j = 0; j < 4 * VAD_HIDDEN; j++)
			g[j] += v->bias[j];
		vad_gemv_add(g, s->h, v->w_hh_t, 4 * VAD_HIDDEN, VAD_HIDDEN);
		/* ONNX gate order: input, output, forget, cell */
		for (int j = 0; j < VAD_HIDDEN; j++) {
			float i_g = sigmoidf(g[j]);
			float o_g = sigmoidf(g[VAD_HIDDEN + j]);
			float f_g = sigmoidf(g[2 * VAD_HIDDEN + j]);
			float c_g = tanhf(g[3 * VAD_HIDDEN + j]);

			s->c[j] = f_g * s->c[j] + i_g * c_g;
			s->h[j] = o_g * tanhf(s->c[j]);
		}
		for (int j = 0; j < VAD_HIDDEN; j++)
			acc += (s->h[j] > 0.0f ? s->h[j] : 0.0f) * v->out_w[j];
		s->probs[s->n_probs++] = sigmoidf(acc);
	}
	return 0;
}

int wsp_vad_stream_feed(struct wsp_vad_stream *s, const float *pcm, size_t n)
{
	const size_t block = (size_t)VAD_BLOCK * WSP_VAD_CHUNK;

	s->n_fed += n;
	while (n) {
		size_t k = block - s->n_pend < n ? block - s->n_pend : n;
		int ret;

		memcpy(s->pend + s->n_pend, pcm, k * sizeof(float));
		s->n_pend += k;
		pcm += k;
		n -= k;
		if (s->n_pend == block) {
			ret = run_block(s, VAD_BLOCK);
			if (ret)
				return ret;
			s->n_pend = 0;
		}
	}
	return 0;
}

int wsp_vad_stream_finish(struct wsp_vad_stream *s, float **probs, size_t *n_probs)
{
	size_t pad = WSP_VAD_CHUNK - s->n_pend % WSP_VAD_CHUNK;
	int ret;

	*probs = NULL;
	*n_probs = 0;
	/* n_pend < block, so the padded chunk still fits in the block */
	memset(s->pend + s->n_pend, 0, pad * sizeof(float));
	s->n_pend += pad;
	/* SileroVADModel sets its last context row to zero through a view of
	 * the audio: the last chunk's last 64 samples are scored as zeros */
	memset(s->pend + s->n_pend - VAD_CONTEXT, 0, VAD_CONTEXT * sizeof(float));
	ret = run_block(s, (int)(s->n_pend / WSP_VAD_CHUNK));
	if (ret)
		return ret;
	s->n_pend = 0;
	*probs = s->probs;
	*n_probs = s->n_probs;
	s->probs = NULL;
	s->n_probs = s->cap_probs = 0;
	return 0;
}

int wsp_vad_probs(const struct wsp_vad *v, const float *pcm, size_t n,
		  float **probs, size_t *n_probs, char *err, size_t errlen)
{
	struct wsp_vad_stream *s;
	int ret;

	if (!v || !probs || !n_probs || (!pcm && n)) {
		snprintf(err, errlen, "wsp_vad_probs: invalid arguments");
		return -EINVAL;
	}
	*probs = NULL;
	*n_probs = 0;
	ret = wsp_vad_stream_new(v, &s);
	if (!ret)
		ret = wsp_vad_stream_feed(s, pcm, n);
	if (!ret)
		ret = wsp_vad_stream_finish(s, probs, n_probs);
	if (ret)
		snprintf(err, errlen, "out of memory");
	wsp_vad_stream_free(s);
	return ret;
}
