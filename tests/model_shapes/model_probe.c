// SPDX-License-Identifier: MIT
/*
 * tests/model_shapes/model_probe.c - what our loader made of a model file,
 * as JSON on stdout, for the tests in tests/model_shapes/ to compare with the numpy
 * arrays scripts/make_test_models.py wrote:
 *
 *   model_probe MODEL [--encode MEL.f32 ENC.f32] [--greedy N --prompt "IDS"]
 *                     [--logits OUT.f32] [--int8 ENC8.f32] [--threads T]
 *   model_probe --heads N_TEXT_LAYER N_TEXT_STATE N_VOCAB N_MELS N_TEXT_HEAD
 *
 * For MODEL: its dimensions, the FFN width, the weights file, the tokenizer
 * the runtime would use (tokenizer.json, vocabulary.txt, else a ggml file's
 * own vocabulary) with its special tokens, the decoding rules' suppressed
 * ids, the alignment heads and where they came from, whether a transcription
 * context can be made (mel filters for n_mels, timestamps), and for every
 * tensor slot of the model its element count, float sum and a position-
 * weighted hash of its float32 bits (sum of bits[i] * (2i + 1) mod 2^64), so
 * that equal hashes mean equal tensors. Fused layers are listed as we hold
 * them (q, k, v rows stacked; the keys' zero bias included).
 * --encode: the fp32 encoder output of MEL.f32 (n_mels x 3000 float32)
 * written to ENC.f32; --greedy: the first N greedy tokens (fp32, argmax, no
 * suppression) after the prompt, and --logits the log-softmax of the logits
 * that chose each of them (N x n_vocab float32), for CTranslate2's.
 * --int8: the INT8 encoder output of the same window (packed weights, as
 * the CLI runs by default) written to ENC8.f32.
 * --heads: the alignment heads our table gives a model of those dimensions.
 *
 * Exit 0, or 1 with the loader's message on stderr.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "whisper/decode/decode.h"
#include "whisper/model/model_internal.h"
#include "whisper/nn/forward.h"
#include "whisper/text/tokenizer.h"
#include "whisper/transcribe.h"

#define MAX_HEADS 4096

static int first = 1;

static void tensor(const char *name, const float *v, size_t n)
{
	uint64_t h = 0;
	double sum = 0.0;

	for (size_t i = 0; v && i < n; i++) {
		uint32_t bits;

		memcpy(&bits, &v[i], 4);
		h += (uint64_t)bits * (2 * (uint64_t)i + 1);
		sum += v[i];
	}
	printf("%s\n    \"%s\": {\"n\": %zu, \"sum\": %.9g, \"hash\": \"%" PRIu64 "\"}",
	       first ? "" : ",", name, v ? n : 0, sum, h);
	first = 0;
}

static void lin(const char *p, const char *n, const struct wsp_lin *l)
{
	char name[128];

	snprintf(name, sizeof(name), "%s.%s.w", p, n);
	tensor(name, l->w, (size_t)l->out * l->in);
	snprintf(name, sizeof(name), "%s.%s.b", p, n);
	tensor(name, l->b, l->b ? (size_t)l->out : 0);
}

static void ln(const char *p, const char *n, const struct wsp_ln *x, int d)
{
	char name[128];

	snprintf(name, sizeof(name), "%s.%s.g", p, n);
	tensor(name, x->g, (size_t)d);
	snprintf(name, sizeof(name), "%s.%s.b", p, n);
	tensor(name, x->b, (size_t)d);
}

static void tensors(const struct wsp_model *m)
{
	const struct wsp_hparams *hp = &m->hp;
	int d = hp->n_audio_state;
	char p[32];

	printf(",\n  \"tensors\": {");
	lin("enc", "conv1", &m->conv1);
	lin("enc", "conv2", &m->conv2);
	tensor("enc.pos", m->enc_pos, (size_t)hp->n_audio_ctx * d);
	for (int i = 0; i < hp->n_audio_layer; i++) {
		const struct wsp_enc_layer *L = &m->enc[i];

		snprintf(p, sizeof(p), "enc.%d", i);
		ln(p, "attn_ln", &L->attn_ln, d);
		lin(p, "qkv", &L->qkv);
		lin(p, "attn_out", &L->attn_out);
		ln(p, "ffn_ln", &L->ffn_ln, d);
		lin(p, "fc1", &L->fc1);
		lin(p, "fc2", &L->fc2);
	}
	ln("enc", "ln", &m->enc_ln, d);
	tensor("dec.tok_emb", m->tok_emb.w, (size_t)hp->n_vocab * d);
	tensor("dec.pos", m->dec_pos, (size_t)hp->n_text_ctx * d);
	for (int i = 0; i < hp->n_text_layer; i++) {
		const struct wsp_dec_layer *L = &m->dec[i];

		snprintf(p, sizeof(p), "dec.%d", i);
		ln(p, "self_ln", &L->self_ln, d);
		lin(p, "self_qkv", &L->self_qkv);
		lin(p, "self_out", &L->self_out);
		ln(p, "cross_ln", &L->cross_ln, d);
		lin(p, "cross_q", &L->cross_q);
		lin(p, "cross_kv", &L->cross_kv);
		lin(p, "cross_out", &L->cross_out);
		ln(p, "ffn_ln", &L->ffn_ln, d);
		lin(p, "fc1", &L->fc1);
		lin(p, "fc2", &L->fc2);
	}
	ln("dec", "ln", &m->dec_ln, d);
	printf("\n  }");
}

static void print_heads(const struct wsp_model *m)
{
	static int32_t h[2 * MAX_HEADS];
	const char *src = "";
	int n = wsp_model_alignment_heads(m, h, MAX_HEADS, &src);

	printf("\"alignment_heads\": {\"source\": \"%s\", \"pairs\": [", n < 0 ? "error" : src);
	for (int i = 0; i < n; i++)
		printf("%s[%d, %d]", i ? ", " : "", h[2 * i], h[2 * i + 1]);
	printf("]}");
}

static int heads_only(char **argv)
{
	struct wsp_model m;

	memset(&m, 0, sizeof(m));
	m.hp.n_text_layer = atoi(argv[0]);
	m.hp.n_text_state = atoi(argv[1]);
	m.hp.n_vocab = atoi(argv[2]);
	m.hp.n_mels = atoi(argv[3]);
	m.hp.n_text_head = atoi(argv[4]);
	printf("{");
	print_heads(&m);
	printf("}\n");
	return 0;
}

/* The tokenizer the runtime would use (whisper/decode/transcribe.c's order). */
static int load_tok(const struct wsp_model *m, struct wsp_tokenizer **tok, char *err, size_t errlen)
{
	const unsigned char *gv;
	size_t gv_len;
	int32_t gv_count;
	int ret = wsp_tokenizer_load(wsp_model_dir(m), m->hp.n_vocab, tok, err, errlen);

	if (ret != -ENOENT)
		return ret;
	gv = wsp_model_ggml_vocab(m, &gv_len, &gv_count);
	if (!gv)
		return ret;
	return wsp_tokenizer_from_ggml(wsp_model_dir(m), gv, gv_len, gv_count, m->hp.n_vocab,
				       tok, err, errlen);
}

static int print_tokenizer(const struct wsp_model *m, char *err, size_t errlen)
{
	struct wsp_tokenizer *tok = NULL;
	const struct wsp_special_tokens *sp;
	struct wsp_context *ctx = NULL;
	struct wsp_rules rules;
	int ret = load_tok(m, &tok, err, errlen);

	if (ret)
		return ret;
	ret = wsp_rules_init(&rules, tok, m->hp.n_vocab, wsp_model_config(m), err, errlen);
	if (ret) {
		wsp_tokenizer_free(tok);
		return ret;
	}
	sp = wsp_tokenizer_special(tok);
	printf(",\n  \"tokenizer\": {\"source\": \"%s\", \"n_vocab\": %d, \"exact\": %d, "
	       "\"eot\": %d, \"sot\": %d, \"translate\": %d, \"transcribe\": %d, \"sot_lm\": %d, "
	       "\"sot_prev\": %d, \"no_speech\": %d, \"no_timestamps\": %d, "
	       "\"timestamp_begin\": %d, \"lang_first\": %d, \"n_langs\": %d, \"en\": %d, "
	       "\"yue\": %d, \"n_suppress\": %d, \"n_suppress_begin\": %d}",
	       wsp_tokenizer_source(tok), wsp_tokenizer_n_vocab(tok),
	       wsp_tokenizer_encodes_exactly(tok), sp->eot, sp->sot, sp->translate, sp->transcribe,
	       sp->sot_lm, sp->sot_prev, sp->no_speech, sp->no_timestamps, sp->timestamp_begin,
	       sp->lang_first, sp->n_langs, wsp_tokenizer_lang_token(tok, "en"),
	       wsp_tokenizer_lang_token(tok, "yue"), rules.n_suppress, rules.n_suppress_begin);
	wsp_rules_release(&rules);
	wsp_tokenizer_free(tok);
	/* the whole transcription context: tokenizer again, rules, mel filters */
	ret = wsp_context_new(m, NULL, WSP_FP32, 1, &ctx, err, errlen);
	printf(",\n  \"context\": %s", ret ? "false" : "true");
	if (!ret)
		printf(", \"has_yue\": %d", wsp_context_has_language(ctx, "yue"));
	wsp_context_free(ctx);
	return ret;
}

static float *read_floats(const char *path, size_t n)
{
	float *v = malloc(n * sizeof(float));
	FILE *f = fopen(path, "rb");

	if (!v || !f || fread(v, sizeof(float), n, f) != n) {
		fprintf(stderr, "model_probe: %s: cannot read %zu floats\n", path, n);
		free(v);
		v = NULL;
	}
	if (f)
		fclose(f);
	return v;
}

static int write_floats(const char *path, const float *v, size_t n)
{
	FILE *f = fopen(path, "wb");
	int ok = f && fwrite(v, sizeof(float), n, f) == n;

	if (f && fclose(f))
		ok = 0;
	if (!ok)
		fprintf(stderr, "model_probe: %s: cannot write\n", path);
	return ok ? 0 : -EIO;
}

/* Greedy argmax steps; the log-softmax row of each chosen token to @lp. */
static int greedy(const struct wsp_model *m, const struct wsp_exec *x, const float *enc,
		  const int32_t *prompt, int n_prompt, int steps, float *lp, int32_t *out)
{
	const int V = m->hp.n_vocab;
	struct wsp_decoder *d = NULL;
	float *logits = malloc((size_t)V * sizeof(float));
	int ret = logits ? wsp_decoder_new(m, x, enc, 1, &d) : -ENOMEM;

	if (!ret)
		ret = wsp_decoder_step(d, prompt, n_prompt, n_prompt - 1, logits);
	for (int s = 0; !ret && s < steps; s++) {
		double mx = -INFINITY, z = 0.0;
		int best = 0;

		for (int i = 0; i < V; i++)
			if (logits[i] > mx) {
				mx = logits[i];
				best = i;
			}
		for (int i = 0; i < V; i++)
			z += exp(logits[i] - mx);
		for (int i = 0; i < V; i++)
			lp[(size_t)s * V + i] = (float)(logits[i] - mx - log(z));
		out[s] = best;
		if (s + 1 < steps)
			ret = wsp_decoder_step(d, &out[s], 1, 0, logits);
	}
	wsp_decoder_free(d);
	free(logits);
	return ret;
}

int main(int argc, char **argv)
{
	const char *path = NULL, *mel_in = NULL, *enc_out = NULL, *prompt_s = NULL, *lp_out = NULL;
	const char *int8_out = NULL;
	int steps = 0, threads = 2, ret, n_prompt = 0;
	struct wsp_model *m = NULL;
	int32_t prompt[16];
	char err[1024] = "";
	const char *weights, *unused;

	if (argc == 7 && strcmp(argv[1], "--heads") == 0)
		return heads_only(argv + 2);
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--encode") == 0 && i + 2 < argc) {
			mel_in = argv[++i];
			enc_out = argv[++i];
		} else if (strcmp(argv[i], "--greedy") == 0 && i + 1 < argc) {
			steps = atoi(argv[++i]);
		} else if (strcmp(argv[i], "--prompt") == 0 && i + 1 < argc) {
			prompt_s = argv[++i];
		} else if (strcmp(argv[i], "--logits") == 0 && i + 1 < argc) {
			lp_out = argv[++i];
		} else if (strcmp(argv[i], "--int8") == 0 && i + 1 < argc) {
			int8_out = argv[++i];
		} else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
			threads = atoi(argv[++i]);
		} else if (!path && argv[i][0] != '-') {
			path = argv[i];
		} else {
			fprintf(stderr, "usage: model_probe MODEL [--encode MEL ENC [--int8 ENC8]] "
				"[--greedy N --prompt IDS [--logits OUT]] [--threads T]\n"
				"       model_probe --heads LAYERS STATE VOCAB MELS HEADS\n");
			return 2;
		}
	}
	if (!path)
		return 2;
	for (char *p = (char *)prompt_s, *end; p && n_prompt < 16; p = end) {
		long v = strtol(p, &end, 10);

		if (end == p)
			break;
		prompt[n_prompt++] = (int32_t)v;
	}
	if (steps > 0 && (!mel_in || n_prompt == 0)) {
		fprintf(stderr, "model_probe: --greedy needs --encode and --prompt\n");
		return 2;
	}
	ret = wsp_model_load(&m, path, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "model_probe: %s\n", err);
		return 1;
	}
	printf("{\n  \"hparams\": {\"n_vocab\": %d, \"n_mels\": %d, \"n_audio_ctx\": %d, "
	       "\"n_audio_state\": %d, \"n_audio_head\": %d, \"n_audio_layer\": %d, "
	       "\"n_text_ctx\": %d, \"n_text_state\": %d, \"n_text_head\": %d, "
	       "\"n_text_layer\": %d},\n  \"ffn\": %d, \"multilingual\": %d,\n",
	       m->hp.n_vocab, m->hp.n_mels, m->hp.n_audio_ctx, m->hp.n_audio_state,
	       m->hp.n_audio_head, m->hp.n_audio_layer, m->hp.n_text_ctx, m->hp.n_text_state,
	       m->hp.n_text_head, m->hp.n_text_layer, m->enc[0].fc1.out,
	       wsp_model_is_multilingual(m));
	weights = wsp_model_weights_file(m, &unused);
	printf("  \"weights_file\": \"%s\", \"unused_file\": %s%s%s,\n  \"config\": {\"suppress\": %d, "
	       "\"suppress_begin\": %d, \"lang_ids\": %d, \"alignment_heads\": %d},\n  ",
	       weights, unused ? "\"" : "", unused ? unused : "null",
	       unused ? "\"" : "", m->cfg.suppress.v ? m->cfg.suppress.n : -1,
	       m->cfg.suppress_begin.v ? m->cfg.suppress_begin.n : -1,
	       m->cfg.lang_ids.v ? m->cfg.lang_ids.n : -1,
	       m->cfg.alignment_heads.v ? m->cfg.alignment_heads.n / 2 : -1);
	print_heads(m);
	ret = print_tokenizer(m, err, sizeof(err));
	if (ret)
		goto fail;
	tensors(m);
	if (mel_in) {
		size_t nm = (size_t)m->hp.n_mels * 2 * m->hp.n_audio_ctx;
		size_t ne = (size_t)m->hp.n_audio_ctx * m->hp.n_audio_state;
		struct wsp_exec x = { .precision = WSP_FP32, .threads = threads };
		float *mel = read_floats(mel_in, nm), *enc = malloc(ne * sizeof(float));
		float *lp = steps > 0 ? malloc((size_t)steps * m->hp.n_vocab * sizeof(float)) : NULL;
		int32_t *toks = steps > 0 ? malloc((size_t)steps * sizeof(int32_t)) : NULL;

		ret = mel && enc && (steps <= 0 || (lp && toks)) ? 0 : -ENOMEM;
		if (!ret)
			ret = wsp_encode(m, &x, mel, enc);
		if (!ret)
			ret = write_floats(enc_out, enc, ne);
		if (!ret && int8_out) {   /* the INT8 path on the packed weights */
			struct wsp_exec x8 = { .precision = WSP_INT8, .threads = threads };
			float *enc8 = malloc(ne * sizeof(float));

			ret = enc8 ? wsp_encode(m, &x8, mel, enc8) : -ENOMEM;
			if (!ret)
				ret = write_floats(int8_out, enc8, ne);
			free(enc8);
		}
		if (!ret && steps > 0)
			ret = greedy(m, &x, enc, prompt, n_prompt, steps, lp, toks);
		if (!ret && lp_out)
			ret = write_floats(lp_out, lp, (size_t)steps * m->hp.n_vocab);
		if (!ret && steps > 0) {
			printf(",\n  \"greedy\": [");
			for (int i = 0; i < steps; i++)
				printf("%s%d", i ? ", " : "", toks[i]);
			printf("]");
		}
		free(mel);
		free(enc);
		free(lp);
		free(toks);
		if (ret) {
			snprintf(err, sizeof(err), "forward pass: %s", strerror(-ret));
			goto fail;
		}
	}
	printf("\n}\n");
	wsp_model_free(m);
	return 0;
fail:
	printf("\n}\n");
	fprintf(stderr, "model_probe: %s\n", err);
	wsp_model_free(m);
	return 1;
}
