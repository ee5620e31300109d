// SPDX-License-Identifier: MIT
/*
 * tests/vad/vad_dump.c - the VAD probe driven by the tests in tests/vad: reads raw
 * float32 16 kHz mono PCM from a file, runs wsp_vad_probs() and
 * wsp_vad_speech(), and prints one JSON object:
 *   {"samples": N, "probs": [...], "regions": [[start, end], ...]}
 *
 * With --probs, the file holds float32 probabilities instead (one per 512
 * samples of a recording of --samples N samples), and only the regions
 * (wsp_vad_regions_from_probs) are printed: {"regions": [...]}.
 *
 * Usage: vad_dump [--model PATH] [--threshold F] [--neg-threshold F]
 *                 [--min-speech-ms N] [--max-speech-s F] [--min-silence-ms N]
 *                 [--speech-pad-ms N] [--probs --samples N] FILE.f32
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "whisper/vad.h"
#include "whisper/vad/vad_internal.h"

static void print_regions(const struct wsp_vad_region *reg, int n_reg)
{
	printf("\"regions\": [");
	for (int i = 0; i < n_reg; i++)
		printf("%s[%zu, %zu]", i ? ", " : "", reg[i].start, reg[i].end);
	printf("]");
}

static float *read_pcm(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	float *buf = NULL;
	size_t cap = 0;

	*n = 0;
	if (!f)
		return NULL;
	for (;;) {
		size_t got;

		if (*n == cap) {
			float *p;

			cap = cap ? cap * 2 : 1 << 16;
			p = realloc(buf, cap * sizeof(float));
			if (!p) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = p;
		}
		got = fread(buf + *n, sizeof(float), cap - *n, f);
		*n += got;
		if (got == 0)
			break;
	}
	fclose(f);
	return buf ? buf : malloc(1);
}

int main(int argc, char **argv)
{
	char err[1024] = "", path[4096];
	const char *model = NULL, *pcm_path = NULL;
	struct wsp_vad_opts o;
	struct wsp_vad_region *reg = NULL;
	struct wsp_vad *v = NULL;
	float *pcm, *probs = NULL;
	size_t n, n_probs = 0, samples = 0;
	int n_reg = 0, ret, probs_mode = 0;

	wsp_vad_opts_default(&o);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (a[0] != '-') {
			pcm_path = a;
			continue;
		}
		if (!strcmp(a, "--probs")) {
			probs_mode = 1;
			continue;
		}
		if (!val) {
			fprintf(stderr, "vad_dump: %s needs a value\n", a);
			return 2;
		}
		i++;
		if (!strcmp(a, "--model"))
			model = val;
		else if (!strcmp(a, "--threshold"))
			o.threshold = strtod(val, NULL);
		else if (!strcmp(a, "--neg-threshold"))
			o.neg_threshold = strtod(val, NULL);
		else if (!strcmp(a, "--min-speech-ms"))
			o.min_speech_duration_ms = atoi(val);
		else if (!strcmp(a, "--max-speech-s"))
			o.max_speech_duration_s = strtod(val, NULL);
		else if (!strcmp(a, "--min-silence-ms"))
			o.min_silence_duration_ms = atoi(val);
		else if (!strcmp(a, "--samples"))
			samples = strtoull(val, NULL, 10);
		else if (!strcmp(a, "--speech-pad-ms"))
			o.speech_pad_ms = atoi(val);
		else {
			fprintf(stderr, "vad_dump: unknown option %s\n", a);
			return 2;
		}
	}
	if (!pcm_path) {
		fprintf(stderr, "usage: vad_dump [options] PCM.f32\n");
		return 2;
	}
	if (probs_mode) {
		pcm = read_pcm(pcm_path, &n);
		if (!pcm) {
			fprintf(stderr, "vad_dump: cannot read %s\n", pcm_path);
			return 1;
		}
		ret = wsp_vad_regions_from_probs(pcm, n, samples, &o, &reg, &n_reg, err, sizeof(err));
		if (ret) {
			fprintf(stderr, "vad_dump: %s\n", err);
		} else {
			printf("{");
			print_regions(reg, n_reg);
			printf("}\n");
		}
		free(reg);
		free(pcm);
		return ret ? 1 : 0;
	}
	if (!model) {
		if (wsp_vad_find(path, sizeof(path), err, sizeof(err))) {
			fprintf(stderr, "vad_dump: %s\n", err);
			return 1;
		}
		model = path;
	}
	if (wsp_vad_load(model, &v, err, sizeof(err))) {
		fprintf(stderr, "vad_dump: %s\n", err);
		return 1;
	}
	pcm = read_pcm(pcm_path, &n);
	if (!pcm) {
		fprintf(stderr, "vad_dump: cannot read %s: %s\n", pcm_path, strerror(errno));
		wsp_vad_free(v);
		return 1;
	}
	ret = wsp_vad_probs(v, pcm, n, &probs, &n_probs, err, sizeof(err));
	if (!ret)
		ret = wsp_vad_speech(v, pcm, n, &o, &reg, &n_reg, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "vad_dump: %s\n", err);
	} else {
		printf("{\"samples\": %zu, \"probs\": [", n);
		for (size_t i = 0; i < n_probs; i++)
			printf("%s%.9g", i ? ", " : "", probs[i]);
		printf("], ");
		print_regions(reg, n_reg);
		printf("}\n");
	}
	free(probs);
	free(reg);
	free(pcm);
	wsp_vad_free(v);
	return ret ? 1 : 0;
}
