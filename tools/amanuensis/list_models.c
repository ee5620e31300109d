// SPDX-License-Identifier: MIT
/*
 * tools/amanuensis/list_models.c - `amanuensis --list-models`: every model
 * in the folders model names are looked up in (wsp_runtime_model_dirs()),
 * with its name, format, size on disk, type (from its dimensions) and how
 * its weights are stored. The first folder that holds a name wins, as in
 * wsp_runtime_find_model(); later ones with the same name are marked.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tools/amanuensis/cli.h"
#include "whisper/runtime.h"

enum model_kind { KIND_NONE, KIND_CT2, KIND_SAFETENSORS, KIND_GGML };

static const char *const kind_names[] = { "-", "ctranslate2", "safetensors", "ggml" };

static int is_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* What @path holds, and the ggml header's ints (11 hparams + ftype) in @h. */
static enum model_kind kind_of(const char *path, int32_t h[11])
{
	char p[2 * PATH_MAX];
	struct stat st;
	FILE *f;
	uint32_t magic = 0;
	enum model_kind k = KIND_NONE;

	if (stat(path, &st))
		return KIND_NONE;
	if (S_ISDIR(st.st_mode)) {
		snprintf(p, sizeof(p), "%s/model.bin", path);
		if (is_file(p))
			return KIND_CT2;
		snprintf(p, sizeof(p), "%s/model.safetensors", path);
		return is_file(p) ? KIND_SAFETENSORS : KIND_NONE;
	}
	if (!S_ISREG(st.st_mode))
		return KIND_NONE;
	f = fopen(path, "rb");
	if (!f)
		return KIND_NONE;
	if (fread(&magic, 4, 1, f) == 1 && magic == 0x67676d6cu && fread(h, 4, 11, f) == 11)
		k = KIND_GGML;
	fclose(f);
	return k;
}

/* Bytes on disk: the file, or the regular files of the folder (symlinks followed). */
static double size_of(const char *path)
{
	struct stat st;
	struct dirent *e;
	double sum = 0;
	DIR *d;

	if (stat(path, &st))
		return 0;
	if (!S_ISDIR(st.st_mode))
		return (double)st.st_size;
	d = opendir(path);
	if (!d)
		return 0;
	while ((e = readdir(d))) {
		char p[2 * PATH_MAX];

		snprintf(p, sizeof(p), "%s/%s", path, e->d_name);
		if (e->d_name[0] != '.' && stat(p, &st) == 0 && S_ISREG(st.st_mode))
			sum += (double)st.st_size;
	}
	closedir(d);
	return sum;
}

/* "tiny.en", "base", "large-v3", ... from the dimensions. */
static void type_of(const struct wsp_hparams *hp, char *out, size_t cap)
{
	const char *size = "custom";

	switch (hp->n_audio_state) {
	case 384: size = "tiny"; break;
	case 512: size = "base"; break;
	case 768: size = "small"; break;
	case 1024: size = "medium"; break;
	case 1280: size = hp->n_text_layer == 4 ? "large-v3-turbo" :
			  hp->n_text_layer == 2 ? "distil-large" :
			  hp->n_mels == 128 ? "large-v3" : "large"; break;
	}
	snprintf(out, cap, "%s%s (%d+%d layers, d=%d)", size, hp->n_vocab == 51864 ? ".en" : "",
		 hp->n_audio_layer, hp->n_text_layer, hp->n_audio_state);
}

static const char *ggml_type(int32_t ftype)
{
	static const char *const names[] = {
		[0] = "f32", [1] = "f16", [2] = "q4_0", [3] = "q4_1", [7] = "q8_0", [8] = "q5_0",
		[9] = "q5_1", [10] = "q2_k", [11] = "q3_k", [12] = "q4_k", [13] = "q5_k",
		[14] = "q6_k",
	};
	int32_t t = ftype % 1000;       /* quantize adds 1000 x its format version */

	return t >= 0 && t < (int32_t)(sizeof(names) / sizeof(names[0])) && names[t] ? names[t] :
	       "unknown";
}

static void show(FILE *f, const char *name, const char *path, enum model_kind k,
		 const int32_t h[11], int shadowed)
{
	struct wsp_model *m = NULL;
	char type[96] = "", weights[160] = "", err[512];

	if (k == KIND_GGML) {
		struct wsp_hparams hp = { .n_vocab = h[0], .n_audio_state = h[2], .n_audio_layer = h[4],
					  .n_text_layer = h[8], .n_mels = h[9] };

		type_of(&hp, type, sizeof(type));
		snprintf(weights, sizeof(weights), "%s", ggml_type(h[10]));
	}
	if (wsp_model_load(&m, path, err, sizeof(err)) == 0) {
		const char *unused;

		type_of(wsp_model_hparams(m), type, sizeof(type));
		if (k != KIND_GGML)
			snprintf(weights, sizeof(weights), "float (INT8 at load)");
		else
			snprintf(weights + strlen(weights), sizeof(weights) - strlen(weights),
				 " (INT8 at load)");
		/* a folder with two weight formats: say which one is not read */
		wsp_model_weights_file(m, &unused);
		if (unused)
			snprintf(weights + strlen(weights), sizeof(weights) - strlen(weights),
				 "; read model.bin, not %s", strrchr(unused, '/') ? strrchr(unused, '/') + 1 : unused);
		wsp_model_free(m);
	} else {
		snprintf(weights + strlen(weights), sizeof(weights) - strlen(weights), "%sunreadable",
			 weights[0] ? ", " : "");
	}
	fprintf(f, "  %-22s %-12s %8.1f MB  %-34s %s%s\n", name, kind_names[k],
		size_of(path) / 1e6, type[0] ? type : "?", weights,
		shadowed ? "  [hidden by an earlier folder]" : "");
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The name -m takes for entry @e: "ggml-base.en.bin" -> "base.en". */
static void name_of(const char *e, enum model_kind k, char *out, size_t cap)
{
	size_t n = strlen(e);

	if (k == KIND_GGML && n > 4 && !strcmp(e + n - 4, ".bin")) {
		n -= 4;
		if (n > 5 && !strncmp(e, "ggml-", 5))
			e += 5, n -= 5;
	}
	snprintf(out, cap, "%.*s", (int)n, e);
}

int cli_list_models(FILE *f)
{
	char dirs[8192], real[64][PATH_MAX], seen[256][128];
	int n_real = 0, n_seen = 0, total = 0;
	char *d, *save = NULL;

	if (wsp_runtime_model_dirs(dirs, sizeof(dirs)) < 0)
		return -EINVAL;
	for (d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		char rp[PATH_MAX], *names[512];
		struct dirent *e;
		int n = 0, dup = 0;
		DIR *dh;

		/* the same folder reached twice (./models in the repository) once */
		if (!realpath(d, rp))
			continue;
		for (int i = 0; i < n_real; i++)
			dup |= !strcmp(real[i], rp);
		if (dup || n_real == 64)
			continue;
		snprintf(real[n_real++], PATH_MAX, "%s", rp);
		dh = opendir(rp);
		if (!dh)
			continue;
		while ((e = readdir(dh)) && n < 512)
			if (e->d_name[0] != '.')
				names[n++] = strdup(e->d_name);
		closedir(dh);
		qsort(names, (size_t)n, sizeof(names[0]), cmp_names);
		fprintf(f, "%s:\n", d);
		for (int i = 0; i < n; i++) {
			char path[PATH_MAX + 256], name[128];
			int32_t h[11];
			enum model_kind k;
			int shadowed = 0;

			if (!names[i])
				continue;
			snprintf(path, sizeof(path), "%s/%s", rp, names[i]);
			k = kind_of(path, h);
			if (k != KIND_NONE) {
				name_of(names[i], k, name, sizeof(name));
				for (int s = 0; s < n_seen; s++)
					shadowed |= !strcmp(seen[s], name);
				if (!shadowed && n_seen < 256)
					snprintf(seen[n_seen++], sizeof(seen[0]), "%s", name);
				show(f, name, path, k, h, shadowed);
				total++;
			}
			free(names[i]);
		}
	}
	if (!total)
		fprintf(f, "no models found in %s\n", dirs);
	return 0;
}
