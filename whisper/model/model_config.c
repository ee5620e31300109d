// SPDX-License-Identifier: MIT
/*
 * whisper/model/model_config.c - the JSON side files of a model directory,
 * read once at load with jansson into struct wsp_model:
 *   config.json: suppress_ids / suppress_ids_begin / lang_ids /
 *     alignment_heads (CTranslate2), suppress_tokens / begin_suppress_tokens
 *     and the head counts (Hugging Face);
 *   preprocessor_config.json: feature_size, checked against the mel bins the
 *     weights take.
 * A missing file is no error; one that is not JSON, or a field of the wrong
 * type, is -EINVAL with a message naming the file and the field.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <jansson.h>

#include "whisper/model/model_internal.h"

/* One side file being read: its path (for messages) and its top-level object. */
struct cfg_file {
	char path[4096];
	json_t *root;
	char *err;
	size_t errlen;
};

static const char *type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:  return "an object";
	case JSON_ARRAY:   return "an array";
	case JSON_STRING:  return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL:    return "a real number";
	case JSON_TRUE:
	case JSON_FALSE:   return "a boolean";
	default:           return "null";
	}
}

/*
 * Parse @dir/@name into @f->root; a missing file leaves it NULL.
 * Return: 0, -EINVAL (not JSON or not an object), -EIO (unreadable).
 */
static int cfg_open(struct cfg_file *f, const char *dir, const char *name)
{
	json_error_t e;

	f->root = NULL;
	snprintf(f->path, sizeof(f->path), "%s/%s", dir, name);
	if (access(f->path, F_OK) != 0)
		return 0;
	f->root = json_load_file(f->path, JSON_REJECT_DUPLICATES, &e);
	if (!f->root) {
		if (json_error_code(&e) == json_error_cannot_open_file) {
			snprintf(f->err, f->errlen, "%s: cannot read: %s", f->path, e.text);
			return -EIO;
		}
		snprintf(f->err, f->errlen, "%s: line %d: %s", f->path, e.line, e.text);
		return -EINVAL;
	}
	if (!json_is_object(f->root)) {
		snprintf(f->err, f->errlen, "%s: expected a JSON object, found %s",
			 f->path, type_name(f->root));
		json_decref(f->root);
		f->root = NULL;
		return -EINVAL;
	}
	return 0;
}

/* The field @key, or NULL when it is absent or null. */
static json_t *cfg_get(const struct cfg_file *f, const char *key)
{
	json_t *v = json_object_get(f->root, key);

	return v && !json_is_null(v) ? v : NULL;
}

/* @v as an int, when it is an integer in int range. */
static int int_value(const json_t *v, int *out)
{
	json_int_t x;

	if (!json_is_integer(v))
		return -EINVAL;
	x = json_integer_value(v);
	if (x < INT_MIN || x > INT_MAX)
		return -EINVAL;
	*out = (int)x;
	return 0;
}

/* Field @key as an int; @out is left alone when the field is absent. */
static int cfg_int(const struct cfg_file *f, const char *key, int *out)
{
	json_t *v = cfg_get(f, key);

	if (v && int_value(v, out)) {
		snprintf(f->err, f->errlen, "%s: \"%s\" must be an integer, found %s",
			 f->path, key, json_is_integer(v) ? "one out of range" : type_name(v));
		return -EINVAL;
	}
	return 0;
}

/*
 * Field @key, an array of integers (@width == 1) or of @width-integer arrays,
 * into @l flattened; @l is left alone when the field is absent or @l is set.
 */
static int cfg_ints(const struct cfg_file *f, const char *key, int width, struct wsp_id_list *l)
{
	json_t *a = cfg_get(f, key), *item;
	size_t n, i;

	if (!a || l->v)
		return 0;
	if (!json_is_array(a)) {
		snprintf(f->err, f->errlen, "%s: \"%s\" must be an array, found %s",
			 f->path, key, type_name(a));
		return -EINVAL;
	}
	n = json_array_size(a);
	if (n > (size_t)INT_MAX / (size_t)width) {
		snprintf(f->err, f->errlen, "%s: \"%s\" has too many entries", f->path, key);
		return -EINVAL;
	}
	l->v = malloc((n * width + 1) * sizeof(*l->v));
	if (!l->v)
		return -ENOMEM;
	l->n = (int)(n * width);
	json_array_foreach(a, i, item) {
		if (width > 1 && (!json_is_array(item) || json_array_size(item) != (size_t)width)) {
			snprintf(f->err, f->errlen, "%s: \"%s\"[%zu] must be an array of %d "
				 "integers, found %s", f->path, key, i, width,
				 json_is_array(item) ? "another length" : type_name(item));
			return -EINVAL;
		}
		for (int k = 0; k < width; k++) {
			json_t *x = width == 1 ? item : json_array_get(item, (size_t)k);
			int v;

			if (int_value(x, &v)) {
				snprintf(f->err, f->errlen, "%s: \"%s\"[%zu] must be an integer, found %s",
					 f->path, key, i, json_is_integer(x) ? "one out of range" :
					 type_name(x));
				return -EINVAL;
			}
			l->v[i * width + k] = v;
		}
	}
	return 0;
}

/* Every entry of @l in 0..@limit-1, each @width-th from @first on. */
static int ids_in_range(const struct cfg_file *f, const char *key, const struct wsp_id_list *l,
			int width, int first, int limit, const char *what)
{
	for (int i = first; l->v && i < l->n; i += width) {
		if (l->v[i] < 0 || l->v[i] >= limit) {
			snprintf(f->err, f->errlen, "%s: \"%s\"[%d] = %d is not a %s of the model "
				 "(0..%d)", f->path, key, i / width, l->v[i], what, limit - 1);
			return -EINVAL;
		}
	}
	return 0;
}

static int read_config_json(struct wsp_model *m, struct cfg_file *f, int hf_heads)
{
	struct wsp_model_config *c = &m->cfg;
	int ret;

	/* CTranslate2's names first, then the Hugging Face ones they come from */
	ret = cfg_ints(f, "suppress_ids", 1, &c->suppress);
	if (!ret)
		ret = cfg_ints(f, "suppress_tokens", 1, &c->suppress);
	if (!ret)
		ret = cfg_ints(f, "suppress_ids_begin", 1, &c->suppress_begin);
	if (!ret)
		ret = cfg_ints(f, "begin_suppress_tokens", 1, &c->suppress_begin);
	if (!ret)
		ret = cfg_ints(f, "lang_ids", 1, &c->lang_ids);
	if (!ret)
		ret = cfg_ints(f, "alignment_heads", 2, &c->alignment_heads);
	if (!ret && hf_heads) {
		ret = cfg_int(f, "encoder_attention_heads", &m->hp.n_audio_head);
		if (!ret)
			ret = cfg_int(f, "decoder_attention_heads", &m->hp.n_text_head);
		if (!ret)
			ret = wsp_model_check(m, f->path, f->err, f->errlen);
	}
	if (!ret)
		ret = ids_in_range(f, "lang_ids", &c->lang_ids, 1, 0, m->hp.n_vocab, "token");
	if (!ret)
		ret = ids_in_range(f, "alignment_heads", &c->alignment_heads, 2, 0,
				   m->hp.n_text_layer, "decoder layer");
	if (!ret)
		ret = ids_in_range(f, "alignment_heads", &c->alignment_heads, 2, 1,
				   m->hp.n_text_head, "decoder head");
	return ret;
}

static int read_preprocessor_json(struct wsp_model *m, struct cfg_file *f)
{
	int mels = m->hp.n_mels;
	int ret = cfg_int(f, "feature_size", &mels);

	if (!ret && mels != m->hp.n_mels) {
		snprintf(f->err, f->errlen, "%s: \"feature_size\" = %d, but the weights take %d "
			 "mel bins", f->path, mels, m->hp.n_mels);
		ret = -EINVAL;
	}
	return ret;
}

int wsp_model_read_config(struct wsp_model *m, int hf_heads, char *err, size_t errlen)
{
	struct cfg_file f = { .err = err, .errlen = errlen };
	int ret;

	ret = cfg_open(&f, m->dir, "config.json");
	if (!ret && f.root)
		ret = read_config_json(m, &f, hf_heads);
	json_decref(f.root);
	if (ret)
		return ret;
	ret = cfg_open(&f, m->dir, "preprocessor_config.json");
	if (!ret && f.root)
		ret = read_preprocessor_json(m, &f);
	json_decref(f.root);
	return ret;
}
