// SPDX-License-Identifier: MIT
/*
 * whisper/model/model_stream.c - INT8-only loading: each linear weight goes
 * from the file's bytes into its INT8 tile packing slab by slab (a few
 * hundred rows converted to floats at a time), so the model is never held
 * as floats. A packed column reads only its own row of the [out, in]
 * weight (tiler/tile.h), so the packing is the bytes wsp_model_pack() makes
 * from the whole float matrix. A ggml weight whose values are int8 times a
 * scale per 32 (q8_0, q4_0, q5_0) never becomes floats: its integers and
 * scales go into a packing with K blocks of 32 as they are. The token
 * embedding's rows are also the decoder's input: they are kept as the
 * file's blocks for a quantized ggml file whose rows are whole blocks, else
 * as half floats when every value is one exactly, else as floats, as
 * wsp_model_drop_fp32() keeps them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tiler/tile.h"
#include "whisper/model/ggml_quants.h"
#include "whisper/model/model_internal.h"
#include "whisper/model/weights.h"

/* Float bytes converted at a time: enough rows for every pool worker. */
#define SLAB_BYTES (1u << 20)

int wsp_rows_get(const struct wsp_rows *s, float *dst, size_t row0, size_t n, size_t cols,
		 char *err, size_t errlen)
{
	const unsigned char *p = s->data + row0 * s->row_bytes;
	size_t numel = n * cols;

	switch (s->kind) {
	case WSP_PT_F32:
		wsp_f32_copy(dst, p, numel);
		return 0;
	case WSP_PT_F16:
		wsp_f16_to_f32(dst, p, numel);
		return 0;
	case WSP_PT_BF16:
		wsp_bf16_to_f32(dst, p, numel);
		return 0;
	case WSP_PT_S8: {
		float scale[256];
		int ret = 0;

		for (size_t r = 0; !ret && r < n; r += 256) {
			size_t k = n - r < 256 ? n - r : 256;

			wsp_f32_copy(scale, s->scale + (row0 + r) * 4, k);
			ret = wsp_s8_rows_to_f32(dst + r * cols, (const int8_t *)p + r * cols,
						 scale, k, cols);
		}
		if (ret)
			snprintf(err, errlen, "a scale is zero, negative or not finite");
		return ret;
	}
	default:
		if (s->kind >= WSP_PT_GGML)
			return wsp_ggml_to_f32(s->kind - WSP_PT_GGML, dst, p, numel, err, errlen);
		snprintf(err, errlen, "unknown element type %d", s->kind);
		return -EINVAL;
	}
}

void wsp_image_release(const struct wsp_model *m, const void *p, size_t n, int whole)
{
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE), a = (uintptr_t)p, b = a + n;

	if (!m->image_mapped || n == 0)
		return;
	/*
	 * A private, never written file mapping: dropping its pages only takes
	 * them out of the resident set (they stay in the page cache and read
	 * back the same). A slab releases the pages wholly inside it, the
	 * tensor's end every page it touches.
	 */
	a = whole ? a & ~(page - 1) : (a + page - 1) & ~(page - 1);
	b = whole ? (b + page - 1) & ~(page - 1) : b & ~(page - 1);
	if (b > a)
		madvise((void *)a, b - a, MADV_DONTNEED);
}

int wsp_lin_groups(const struct wsp_lin *l)
{
	return l->pack_groups <= 1 || l->in % l->pack_groups ? 1 : l->pack_groups;
}

int wsp_lin_kb32(const struct wsp_lin *l, int type)
{
	return wsp_ggml_type_block32(type) &&
	       (l->in / wsp_lin_groups(l)) % WSP_GGML_S8_BLOCK == 0;
}

int wsp_lin_s8_blocks(const struct wsp_lin *l, int type)
{
	return wsp_ggml_type_s8_blocks(type) && wsp_lin_kb32(l, type);   /* s8 types are block32 */
}

int wsp_lin_alloc(struct wsp_lin *l, int kb)
{
	int groups = wsp_lin_groups(l);
	int ret = 0;

	if (l->q || l->gq)
		return 0;
	if (groups == 1)
		return kb ? tile_weights_alloc_f32_kb(&l->q, l->in, l->out, kb)
			  : tile_weights_alloc_f32(&l->q, l->in, l->out);
	l->gq = calloc((size_t)groups, sizeof(*l->gq));
	if (!l->gq)
		return -ENOMEM;
	l->n_groups = groups;
	for (int g = 0; !ret && g < groups; g++)
		ret = kb ? tile_weights_alloc_f32_kb(&l->gq[g], l->in / groups, l->out, kb)
			 : tile_weights_alloc_f32(&l->gq[g], l->in / groups, l->out);
	return ret;
}

int wsp_lin_pack_s8_slab(struct wsp_lin *l, int row0, int rows, const int8_t *q,
			 const float *scale)
{
	size_t nb = (size_t)l->in / WSP_GGML_S8_BLOCK;
	int kg, ret = 0;

	if (l->q)
		return tile_weights_pack_rows_s8_blocks(l->q, row0, rows, q, (size_t)l->in,
							scale, nb);
	kg = l->in / l->n_groups;
	for (int g = 0; !ret && g < l->n_groups; g++)
		ret = tile_weights_pack_rows_s8_blocks(l->gq[g], row0, rows, q + (size_t)g * kg,
						       (size_t)l->in,
						       scale + (size_t)g * kg / WSP_GGML_S8_BLOCK, nb);
	return ret;
}

/* The K block of @l's packing, or 0 before it is made. */
static int lin_kb(const struct wsp_lin *l)
{
	return tile_weights_kblock(l->q ? l->q : l->gq ? l->gq[0] : NULL);
}

static int lin_pack_slab(struct wsp_lin *l, int row0, int rows, const float *f)
{
	int kg, ret = 0;

	if (l->q)
		return tile_weights_pack_rows_f32(l->q, row0, rows, f, (size_t)l->in);
	kg = l->in / l->n_groups;
	for (int g = 0; !ret && g < l->n_groups; g++)
		ret = tile_weights_pack_rows_f32(l->gq[g], row0, rows, f + (size_t)g * kg,
						 (size_t)l->in);
	return ret;
}

/*
 * The token embedding's rows as the decoder reads them, slab by slab: half
 * floats while every value so far is one, else floats from then on (the
 * half floats so far turned back, exactly).
 */
static int keep_emb_rows(struct wsp_model *m, int row0, int rows, const float *f)
{
	size_t d = (size_t)m->tok_emb.in, total = (size_t)m->tok_emb.out * d;

	if (!m->tok_emb.w && !m->tok_emb_h) {
		m->tok_emb_h = malloc(total * sizeof(uint16_t));
		if (!m->tok_emb_h)
			return -ENOMEM;
	}
	if (m->tok_emb_h &&
	    wsp_f32_to_f16_exact(m->tok_emb_h + (size_t)row0 * d, f, (size_t)rows * d) != 0) {
		float *w = malloc(total * sizeof(float));

		if (!w)
			return -ENOMEM;
		/* rows already seen are half floats; the others are written below or later */
		for (int r = 0; r < m->tok_emb.out; r++)
			if (m->tok_emb_seen && m->tok_emb_seen[r])
				wsp_f16_row_to_f32(w + (size_t)r * d, m->tok_emb_h + (size_t)r * d, d);
		free(m->tok_emb_h);
		m->tok_emb_h = NULL;
		m->tok_emb.w = w;
	}
	if (m->tok_emb.w)
		memcpy(m->tok_emb.w + (size_t)row0 * d, f, (size_t)rows * d * sizeof(float));
	if (!m->tok_emb_seen && !(m->tok_emb_seen = calloc((size_t)m->tok_emb.out, 1)))
		return -ENOMEM;
	memset(m->tok_emb_seen + row0, 1, (size_t)rows);
	return 0;
}

/*
 * A q8_0, q4_0 or q5_0 weight whose rows are whole blocks: its integers
 * and scales a slab at a time, straight into the packing.
 */
static int stream_s8_blocks(struct wsp_model *m, struct wsp_lin *l, int row0, int rows,
			    const struct wsp_rows *src, char *err, size_t errlen)
{
	int type = src->kind - WSP_PT_GGML, ret;
	size_t cols = (size_t)l->in, nb = cols / WSP_GGML_S8_BLOCK;
	int slab = (int)(SLAB_BYTES / cols);
	int8_t *q;
	float *sc;

	ret = wsp_lin_alloc(l, WSP_GGML_S8_BLOCK);
	if (ret)
		return ret;
	slab = slab < 1 ? 1 : slab > rows ? rows : slab;
	q = malloc((size_t)(slab ? slab : 1) * cols);
	sc = malloc((size_t)(slab ? slab : 1) * nb * sizeof(float));
	if (!q || !sc) {
		free(q);
		free(sc);
		return -ENOMEM;
	}
	for (int r = 0; !ret && r < rows; r += slab) {
		int n = rows - r < slab ? rows - r : slab;
		const unsigned char *p = src->data + (size_t)r * src->row_bytes;

		ret = wsp_ggml_to_s8(type, q, sc, p, (uint64_t)n * cols, err, errlen);
		if (!ret)
			ret = wsp_lin_pack_s8_slab(l, row0 + r, n, q, sc);
		if (!ret && l == &m->tok_emb)
			ret = wsp_model_keep_emb_raw(m, type, src->row_bytes, row0 + r, n, p);
		wsp_image_release(m, p, (size_t)n * src->row_bytes, 0);
	}
	free(q);
	free(sc);
	wsp_image_release(m, src->data, src->bytes, 1);
	return ret;
}

int wsp_lin_stream(struct wsp_model *m, struct wsp_lin *l, int row0, int rows,
		   const struct wsp_rows *src, char *err, size_t errlen)
{
	size_t cols = (size_t)l->in;
	/* the ggml type when the rows are whole blocks, else -1 (no ggml type) */
	int type = src->kind >= WSP_PT_GGML && src->row_bytes ? src->kind - WSP_PT_GGML : -1;
	int slab, ret;
	float *f;

	if (!m->pack_planned)
		wsp_model_pack_plan(m);
	if (row0 < 0 || rows < 0 || rows > l->out - row0 || l->in <= 0) {
		snprintf(err, errlen, "rows %d..%d outside the weight's %d", row0, row0 + rows,
			 l->out);
		return -EINVAL;
	}
	/*
	 * A fused weight's parts share one packing, made by the first part: the
	 * others keep its integers only when it has their K block of 32.
	 */
	if (wsp_lin_s8_blocks(l, type) && (lin_kb(l) == 0 || lin_kb(l) == WSP_GGML_S8_BLOCK))
		return stream_s8_blocks(m, l, row0, rows, src, err, errlen);
	ret = wsp_lin_alloc(l, wsp_lin_kb32(l, type) ? WSP_GGML_S8_BLOCK : 0);
	if (ret)
		return ret;
	slab = src->row_bytes ? (int)(SLAB_BYTES / (cols * sizeof(float))) : rows;
	slab = slab < 1 ? 1 : slab > rows ? rows : slab;
	f = malloc((size_t)(slab ? slab : 1) * cols * sizeof(float));
	if (!f)
		return -ENOMEM;
	for (int r = 0; !ret && r < rows; r += slab) {
		int n = rows - r < slab ? rows - r : slab;

		ret = wsp_rows_get(src, f, (size_t)r, (size_t)n, cols, err, errlen);
		if (!ret)
			ret = lin_pack_slab(l, row0 + r, n, f);
		/* a quantized embedding of whole-block rows keeps the file's blocks */
		if (!ret && l == &m->tok_emb && wsp_ggml_type_quantized(type))
			ret = wsp_model_keep_emb_raw(m, type, src->row_bytes,
						     row0 + r, n, src->data + (size_t)r * src->row_bytes);
		else if (!ret && l == &m->tok_emb)
			ret = keep_emb_rows(m, row0 + r, n, f);
		wsp_image_release(m, src->data + (size_t)r * src->row_bytes,
				  (size_t)n * src->row_bytes, 0);
	}
	free(f);
	wsp_image_release(m, src->data, src->bytes, 1);
	if (src->scale)
		wsp_image_release(m, src->scale, (size_t)rows * 4, 1);
	return ret;
}

void wsp_model_stream_done(struct wsp_model *m)
{
	free(m->tok_emb_seen);
	m->tok_emb_seen = NULL;
	m->int8_only = 1;
}
