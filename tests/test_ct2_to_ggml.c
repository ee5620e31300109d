// SPDX-License-Identifier: MIT
/*
 * tests/test_ct2_to_ggml.c - scripts/ct2_to_ggml.py (which makes the ggml
 * file the whisper.cpp benchmark peer reads) writes the same model the
 * CTranslate2 directory holds: the real tiny.en converted to ggml and loaded
 * by whisper/model/load_ggml.c has the hyperparameters and every weight, bit for
 * bit, that whisper/model/load_ct2.c reads from the original. Skipped where the
 * model or python3 with numpy is missing.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "whisper/model.h"
#include "whisper/model/model_internal.h"

static char ggml_path[64];

static void cleanup(void)
{
	if (ggml_path[0])
		unlink(ggml_path);
}

static void vec_eq(const float *a, const float *b, size_t n, const char *what, int layer)
{
	cr_assert_not_null(a, "%s %d missing (ct2)", what, layer);
	cr_assert_not_null(b, "%s %d missing (ggml)", what, layer);
	cr_assert(memcmp(a, b, n * sizeof(float)) == 0, "%s of layer %d differs", what, layer);
}

static void lin_eq(const struct wsp_lin *a, const struct wsp_lin *b, const char *what, int layer)
{
	cr_assert_eq(a->out, b->out, "%s %d: out %d vs %d", what, layer, a->out, b->out);
	cr_assert_eq(a->in, b->in, "%s %d: in %d vs %d", what, layer, a->in, b->in);
	vec_eq(a->w, b->w, (size_t)a->out * a->in, what, layer);
	if (a->b || b->b)
		vec_eq(a->b, b->b, (size_t)a->out, what, layer);
}

static void ln_eq(const struct wsp_ln *a, const struct wsp_ln *b, int d, const char *what, int layer)
{
	vec_eq(a->g, b->g, (size_t)d, what, layer);
	vec_eq(a->b, b->b, (size_t)d, what, layer);
}

Test(ct2_to_ggml, tiny_en_round_trips_bit_exact, .fini = cleanup)
{
	const char *model = getenv("AMN_MODEL") ? getenv("AMN_MODEL") : "models/tiny.en";
	struct wsp_model *a = NULL, *b = NULL;
	char cmd[512], mb[512], err[1024] = "";
	int fd;

	snprintf(mb, sizeof(mb), "%s/model.bin", model);
	if (access(mb, R_OK) != 0 || access("scripts/ct2_to_ggml.py", R_OK) != 0)
		cr_skip_test("%s or scripts/ct2_to_ggml.py not found (run from the repo root)", mb);
	if (system("python3 -c 'import numpy' >/dev/null 2>&1") != 0)
		cr_skip_test("python3 with numpy not available");
	strcpy(ggml_path, "/tmp/amn_ggml_XXXXXX");
	fd = mkstemp(ggml_path);
	cr_assert_geq(fd, 0);
	close(fd);
	snprintf(cmd, sizeof(cmd), "python3 scripts/ct2_to_ggml.py %s %s >/dev/null", model, ggml_path);
	cr_assert_eq(system(cmd), 0, "%s failed", cmd);

	cr_assert_eq(wsp_model_load(&a, model, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(wsp_model_load(&b, ggml_path, err, sizeof(err)), 0, "%s", err);
	cr_assert(memcmp(&a->hp, &b->hp, sizeof(a->hp)) == 0, "hyperparameters differ");

	const struct wsp_hparams *hp = &a->hp;
	int d = hp->n_audio_state;

	lin_eq(&a->conv1, &b->conv1, "conv1", 0);
	lin_eq(&a->conv2, &b->conv2, "conv2", 0);
	vec_eq(a->enc_pos, b->enc_pos, (size_t)hp->n_audio_ctx * d, "encoder positions", 0);
	ln_eq(&a->enc_ln, &b->enc_ln, d, "encoder ln_post", 0);
	for (int l = 0; l < hp->n_audio_layer; l++) {
		ln_eq(&a->enc[l].attn_ln, &b->enc[l].attn_ln, d, "enc attn_ln", l);
		lin_eq(&a->enc[l].qkv, &b->enc[l].qkv, "enc qkv", l);
		lin_eq(&a->enc[l].attn_out, &b->enc[l].attn_out, "enc attn out", l);
		ln_eq(&a->enc[l].ffn_ln, &b->enc[l].ffn_ln, d, "enc mlp_ln", l);
		lin_eq(&a->enc[l].fc1, &b->enc[l].fc1, "enc fc1", l);
		lin_eq(&a->enc[l].fc2, &b->enc[l].fc2, "enc fc2", l);
	}
	lin_eq(&a->tok_emb, &b->tok_emb, "token embedding", 0);
	vec_eq(a->dec_pos, b->dec_pos, (size_t)hp->n_text_ctx * d, "decoder positions", 0);
	ln_eq(&a->dec_ln, &b->dec_ln, d, "decoder ln", 0);
	for (int l = 0; l < hp->n_text_layer; l++) {
		ln_eq(&a->dec[l].self_ln, &b->dec[l].self_ln, d, "dec attn_ln", l);
		lin_eq(&a->dec[l].self_qkv, &b->dec[l].self_qkv, "dec self qkv", l);
		lin_eq(&a->dec[l].self_out, &b->dec[l].self_out, "dec self out", l);
		ln_eq(&a->dec[l].cross_ln, &b->dec[l].cross_ln, d, "dec cross_attn_ln", l);
		lin_eq(&a->dec[l].cross_q, &b->dec[l].cross_q, "dec cross q", l);
		lin_eq(&a->dec[l].cross_kv, &b->dec[l].cross_kv, "dec cross kv", l);
		lin_eq(&a->dec[l].cross_out, &b->dec[l].cross_out, "dec cross out", l);
		ln_eq(&a->dec[l].ffn_ln, &b->dec[l].ffn_ln, d, "dec mlp_ln", l);
		lin_eq(&a->dec[l].fc1, &b->dec[l].fc1, "dec fc1", l);
		lin_eq(&a->dec[l].fc2, &b->dec[l].fc2, "dec fc2", l);
	}
	wsp_model_free(a);
	wsp_model_free(b);
}
