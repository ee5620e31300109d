// SPDX-License-Identifier: MIT
/*
 * tests/test_ggml_alone.c - a whisper.cpp ggml file on its own (no
 * tokenizer.json, vocabulary.txt or config.json beside it) is a whole
 * model: its embedded vocabulary gives the tokens' bytes and the special
 * tokens at the ids the CTranslate2 model's tokenizer.json has, for the
 * English-only (51864) and the multilingual (51865) layouts; prompts encode
 * by greedy matching; and transcripts equal the CTranslate2 model's on the
 * shared audio. The ggml files are written by scripts/ct2_to_ggml.py into a
 * fresh directory. Skipped where a model or python3 with numpy is missing.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "whisper/model.h"
#include "whisper/model/model_internal.h"
#include "whisper/text/tokenizer.h"
#include "whisper/transcribe.h"
#include "tests/helpers/test_env.h"

static char dir[64], ggml[128];

static void cleanup(void)
{
	if (ggml[0])
		unlink(ggml);
	if (dir[0])
		rmdir(dir);
	ggml[0] = dir[0] = '\0';
}

/* scripts/ct2_to_ggml.py @model into a directory of its own; skips the test when it cannot. */
static void convert(const char *model)
{
	char mb[512], cmd[1024];

	snprintf(mb, sizeof(mb), "%s/model.bin", model);
	if (access(mb, R_OK) != 0 || access("scripts/ct2_to_ggml.py", R_OK) != 0)
		cr_skip_test("%s or scripts/ct2_to_ggml.py not found (run from the repo root)", mb);
	if (system("python3 -c 'import numpy' >/dev/null 2>&1") != 0)
		cr_skip_test("python3 with numpy not available");
	strcpy(dir, "/tmp/amn_ggml_alone_XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(ggml, sizeof(ggml), "%s/ggml-model.bin", dir);
	snprintf(cmd, sizeof(cmd), "python3 scripts/ct2_to_ggml.py %s %s >/dev/null", model, ggml);
	cr_assert_eq(system(cmd), 0, "%s failed", cmd);
}

static void same_tokenizer(const char *model, const struct wsp_model *g)
{
	const struct wsp_special_tokens *sa, *sb;
	struct wsp_tokenizer *a, *b;
	const unsigned char *gv;
	char err[512];
	size_t gl;
	int32_t gc, ids_a[64], ids_b[64];
	int na, nb;

	cr_assert_eq(wsp_tokenizer_load(model, wsp_model_hparams(g)->n_vocab, &a, err, sizeof(err)),
		     0, "%s", err);
	gv = wsp_model_ggml_vocab(g, &gl, &gc);
	cr_assert_not_null(gv, "the ggml model kept no vocabulary");
	cr_assert_eq(wsp_tokenizer_from_ggml(ggml, gv, gl, gc, wsp_model_hparams(g)->n_vocab, &b,
					     err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(wsp_tokenizer_source(b), "ggml vocabulary");
	cr_assert_not(wsp_tokenizer_encodes_exactly(b));
	cr_assert_eq(wsp_tokenizer_n_vocab(a), wsp_tokenizer_n_vocab(b));
	sa = wsp_tokenizer_special(a);
	sb = wsp_tokenizer_special(b);
	cr_assert_eq(sa->eot, sb->eot);
	cr_assert_eq(sa->sot, sb->sot);
	cr_assert_eq(sa->translate, sb->translate);
	cr_assert_eq(sa->transcribe, sb->transcribe);
	cr_assert_eq(sa->sot_lm, sb->sot_lm);
	cr_assert_eq(sa->sot_prev, sb->sot_prev);
	cr_assert_eq(sa->no_speech, sb->no_speech);
	cr_assert_eq(sa->no_timestamps, sb->no_timestamps);
	cr_assert_eq(sa->timestamp_begin, sb->timestamp_begin);
	cr_assert_eq(sa->lang_first, sb->lang_first);
	cr_assert_eq(sa->n_langs, sb->n_langs);
	for (int i = 0; i < sa->n_langs; i++) {
		const char *ca = wsp_tokenizer_lang_code(a, sa->lang_first + i);
		const char *cb = wsp_tokenizer_lang_code(b, sb->lang_first + i);

		/* older conversions (tiny.en's tokenizer.json) name Hebrew "iw" */
		if (!strcmp(ca, "iw"))
			ca = "he";
		cr_assert_str_eq(ca, cb, "language %d", i);
	}
	/* every text token has the same bytes */
	for (int32_t id = 0; id < sa->eot; id++) {
		size_t la, lb;
		const char *ta = wsp_tokenizer_token_bytes(a, id, &la);
		const char *tb = wsp_tokenizer_token_bytes(b, id, &lb);

		cr_assert(la == lb && memcmp(ta, tb, la) == 0, "token %d differs", id);
		cr_assert_not(wsp_tokenizer_is_special(b, id), "token %d marked special", id);
	}
	for (int32_t id = sa->eot; id < wsp_tokenizer_n_vocab(b); id++)
		cr_assert(wsp_tokenizer_is_special(b, id), "token %d not special", id);
	/* greedy matching: the same text back, and the exact ids for plain words */
	na = wsp_tokenizer_encode(a, " And so my fellow Americans", ids_a, 64);
	nb = wsp_tokenizer_encode(b, " And so my fellow Americans", ids_b, 64);
	cr_assert_eq(na, nb);
	cr_assert(memcmp(ids_a, ids_b, (size_t)na * sizeof(int32_t)) == 0);
	nb = wsp_tokenizer_encode(b, " Ünïcödé, naïve: x²", ids_b, 64);
	cr_assert_gt(nb, 0);
	char back[128];
	wsp_tokenizer_decode(b, ids_b, nb, back, sizeof(back));
	cr_assert_str_eq(back, " Ünïcödé, naïve: x²");
	wsp_tokenizer_free(a);
	wsp_tokenizer_free(b);
}

static void transcribe_both(const char *model, const char *const *files, int n)
{
	struct wsp_model *mc = NULL, *mg = NULL;
	struct wsp_context *cc = NULL, *cg = NULL;
	struct wsp_transcribe_opts o;
	char err[1024] = "", path[512];

	cr_assert_eq(wsp_model_load(&mc, model, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(wsp_model_load(&mg, ggml, err, sizeof(err)), 0, "%s", err);
	same_tokenizer(model, mg);
	cr_assert_eq(wsp_context_new(mc, NULL, WSP_INT8, 2, &cc, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(wsp_context_new(mg, NULL, WSP_INT8, 2, &cg, err, sizeof(err)), 0, "%s", err);
	wsp_transcribe_opts_default(&o);
	for (int i = 0; i < n; i++) {
		struct wsp_result rc, rg;

		snprintf(path, sizeof(path), "%s/%s", test_env_or("AMN_SHARED_AUDIO", "../shared/audio"), files[i]);
		cr_assert_eq(wsp_transcribe_file(cc, path, &o, &rc, err, sizeof(err)), 0, "%s", err);
		cr_assert_eq(wsp_transcribe_file(cg, path, &o, &rg, err, sizeof(err)), 0, "%s", err);
		cr_assert_eq(rc.n_segments, rg.n_segments, "%s", files[i]);
		cr_assert_gt(rc.n_segments, 0, "%s", files[i]);
		for (int s = 0; s < rc.n_segments; s++) {
			cr_assert_str_eq(rc.segments[s].text, rg.segments[s].text, "%s", files[i]);
			cr_assert_eq(rc.segments[s].start, rg.segments[s].start, "%s", files[i]);
			cr_assert_eq(rc.segments[s].end, rg.segments[s].end, "%s", files[i]);
			cr_assert_eq(rc.segments[s].n_tokens, rg.segments[s].n_tokens);
			cr_assert(memcmp(rc.segments[s].tokens, rg.segments[s].tokens,
					 (size_t)rc.segments[s].n_tokens * sizeof(int32_t)) == 0);
		}
		wsp_result_free(&rc);
		wsp_result_free(&rg);
	}
	wsp_context_free(cc);
	wsp_context_free(cg);
	wsp_model_free(mc);
	wsp_model_free(mg);
}

Test(ggml_alone, tiny_en_equals_ctranslate2, .fini = cleanup, .timeout = 900)
{
	static const char *const all[] = {
		"jfk.wav", "LJ050-0131.wav", "spk1_snt1.wav", "spk1_snt2.wav", "spk1_snt3.wav",
		"spk2_snt1.wav", "spk2_snt2.wav",
	};
	static const char *const small[] = { "spk2_snt2.wav" };
	const char *model = getenv("AMN_MODEL") ? getenv("AMN_MODEL") : "models/tiny.en";

	convert(model);
	if (test_small_scale())
		transcribe_both(model, small, 1);
	else
		transcribe_both(model, all, 7);
}

Test(ggml_alone, multilingual_base_layout, .fini = cleanup, .timeout = 900)
{
	static const char *const files[] = { "jfk.wav" };

	if (test_small_scale())
		cr_skip_test("base under a sanitizer: too slow");
	convert("models/base");
	transcribe_both("models/base", files, 1);
}

Test(ggml_alone, broken_vocabularies_are_refused)
{
	struct wsp_tokenizer *t = (void *)1;
	unsigned char buf[16] = { 5, 0, 0, 0, 'h', 'e' };
	char err[256];

	/* an entry longer than the section */
	cr_assert_eq(wsp_tokenizer_from_ggml("x.bin", buf, 6, 1, 51864, &t, err, sizeof(err)), -EINVAL);
	cr_assert_null(t);
	cr_assert(strstr(err, "truncated"), "%s", err);
	/* a size that is no Whisper vocabulary */
	cr_assert_eq(wsp_tokenizer_from_ggml("x.bin", buf, 0, 0, 1000, &t, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "n_vocab 1000"), "%s", err);
	/* more entries than ids */
	cr_assert_eq(wsp_tokenizer_from_ggml("x.bin", buf, 0, 60000, 51864, &t, err, sizeof(err)),
		     -EINVAL);
}
