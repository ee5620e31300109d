/* SPDX-License-Identifier: MIT */
/*
 * whisper/model/model_internal.h - the in-memory layout of a loaded Whisper model,
 * shared by the loaders, the encoder and the decoder. Not installed.
 *
 * Loaded by wsp_model_load(), every weight is kept as fp32 (converted from
 * the file's f16, int8 or ggml blocks) and each linear layer also holds its
 * INT8 tile packing, made once at load. Loaded by wsp_model_load_int8(),
 * each linear weight goes from the file straight into its packing
 * (model_stream.c) and only the small float tensors (norms, biases,
 * positions) and the token embedding's rows are kept as floats.
 *
 * Calls go one way: model_load.c (wsp_model_load) reads the files and calls
 * load_ct2.c, load_ggml.c, load_safetensors.c (which place tensors through
 * weights_map.c), model_config.c and model_pack.c; all of them use model.c,
 * which calls none of them.
 */
#ifndef AMN_WSP_MODEL_INTERNAL_H
#define AMN_WSP_MODEL_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include "whisper/model.h"

struct tile_weights;

/* A linear layer y = x·Wᵀ + b with W stored [out][in] (PyTorch layout). */
struct wsp_lin {
	int in, out;
	float *w;                 /* out × in, owned */
	float *b;                 /* out, owned, or NULL */
	struct tile_weights *q;   /* INT8 packing of w, or NULL before packing */
	/*
	 * Group-wise INT8: with n_groups > 1, the input columns are split into
	 * n_groups equal slices, each packed on its own (gq[g]) and quantized
	 * with its own per-row activation scale; the partial products are summed.
	 * Used where one row mixes attention heads of very different ranges.
	 */
	int n_groups;
	struct tile_weights **gq;
	/*
	 * Residual activations (INT8 only): the input's INT8 rounding residual
	 * goes through the same packed weights as a second INT8 matmul, which
	 * leaves only the weights' quantization error. Set at pack time on the
	 * layers whose activation error dominates (wsp_model_pack()).
	 */
	int act_resid;
	int pack_groups;          /* planned input slices (wsp_model_pack_plan()); 0: one */
	/*
	 * Float loading of a ggml q8_0, q4_0 or q5_0 weight: the file's scale
	 * of each block of 32 inputs of each output row (out × in / 32), so
	 * that wsp_model_pack() recovers the integers (w / scale, exact) and
	 * packs them as they are, as INT8-only loading does. Freed by packing.
	 */
	float *file_scale;
	int file_not_blocks;      /* a part came in a type not in blocks of 32 */
	int file_not_s8;          /* a part came as q4_1 or q5_1: no file_scale */
	int file_kb;              /* 32: every part came in blocks of 32 (pack with K blocks of 32) */
};

/* Layer norm parameters. */
struct wsp_ln {
	float *g, *b;             /* n_state each, owned */
};

struct wsp_enc_layer {
	struct wsp_ln attn_ln;
	struct wsp_lin qkv;       /* fused q, k, v: out = 3 * d */
	struct wsp_lin attn_out;
	struct wsp_ln ffn_ln;
	struct wsp_lin fc1, fc2;
};

struct wsp_dec_layer {
	struct wsp_ln self_ln;
	struct wsp_lin self_qkv;
	struct wsp_lin self_out;
	struct wsp_ln cross_ln;
	struct wsp_lin cross_q;
	struct wsp_lin cross_kv;  /* fused k, v: out = 2 * d */
	struct wsp_lin cross_out;
	struct wsp_ln ffn_ln;
	struct wsp_lin fc1, fc2;
};

/*
 * struct wsp_id_list - integers read from the model's config files, owned by
 * the model. @v is NULL when the files do not give the list (the caller's
 * default applies); a list given empty has @v set and @n 0.
 */
struct wsp_id_list {
	int32_t *v;
	int n;
};

/*
 * struct wsp_model_config - what the model's JSON side files say besides the
 * weights, read once by wsp_model_load() (Documentation/models.md).
 */
struct wsp_model_config {
	struct wsp_id_list suppress;        /* "suppress_ids" / "suppress_tokens" */
	struct wsp_id_list suppress_begin;  /* "suppress_ids_begin" / "begin_suppress_tokens" */
	struct wsp_id_list lang_ids;        /* "lang_ids": the language tokens */
	struct wsp_id_list alignment_heads; /* "alignment_heads": (layer, head) pairs, flat */
};

struct wsp_model {
	struct wsp_hparams hp;
	char *dir;                /* directory holding side files */
	char *weights_file;       /* the file the weights came from */
	char *unused_file;        /* a second weights format in the directory, not read, or NULL */
	struct wsp_model_config cfg;  /* from the JSON side files (model_config.c) */

	/* encoder */
	struct wsp_lin conv1;     /* in = n_mels * 3, out = d (im2col order c*3+j) */
	struct wsp_lin conv2;     /* in = d * 3 */
	float *enc_pos;           /* n_audio_ctx × d */
	struct wsp_enc_layer *enc;
	struct wsp_ln enc_ln;

	/* decoder */
	struct wsp_lin tok_emb;   /* n_vocab × d, no bias: embedding and logits */
	float *dec_pos;           /* n_text_ctx × d */
	struct wsp_dec_layer *dec;
	struct wsp_ln dec_ln;

	/* a ggml file's embedded vocabulary, as the file has it: @ggml_vocab_count
	 * entries of (i32 length, raw bytes); NULL for other formats */
	unsigned char *ggml_vocab;
	size_t ggml_vocab_len;
	int32_t ggml_vocab_count;

	int int8_only;            /* wsp_model_drop_fp32() ran: no float path */
	uint16_t *tok_emb_h;      /* int8_only and every value a half float: the
				     token embedding as f16 (tok_emb.w freed) */
	/*
	 * A block-quantized ggml embedding whose rows are whole blocks: the
	 * file's bytes, @tok_emb_raw_row bytes a row, of ggml type
	 * @tok_emb_raw_type, read back exactly by wsp_model_emb_row(); with
	 * int8_only, tok_emb.w and tok_emb_h are then NULL.
	 */
	unsigned char *tok_emb_raw;
	size_t tok_emb_raw_row;
	int tok_emb_raw_type;

	/* while loading (model_load.c, model_stream.c) */
	int stream_int8;          /* pack each linear weight as it is read, keep no floats */
	int image_mapped;         /* the image is a private file mapping: pages may be dropped */
	int pack_planned;         /* wsp_model_pack_plan() ran */
	unsigned char *tok_emb_seen;  /* streaming: which embedding rows arrived */
};

/**
 * wsp_model_emb_row - token @tok's input embedding (@m->hp.n_text_state
 * floats into @dst), from whichever form the model keeps it in: floats,
 * exact half floats or the file's quantized blocks (the same values in
 * every case). Return: 0, or -EINVAL for a token out of range or a model
 * that kept no rows.
 */
int wsp_model_emb_row(const struct wsp_model *m, int tok, float *dst);

/**
 * wsp_model_keep_emb_raw - keep rows [@row0, @row0 + @rows) of the token
 * embedding as the file's block-quantized bytes @src (ggml type @type,
 * @row_bytes a row), allocating the whole table on the first call.
 * Return: 0 or -ENOMEM.
 */
int wsp_model_keep_emb_raw(struct wsp_model *m, int type, size_t row_bytes, int row0,
			   int rows, const unsigned char *src);

/**
 * wsp_model_ggml_vocab - the vocabulary a ggml file carries (see struct
 * wsp_model); *@count entries in @len bytes.
 * Return: the bytes, or NULL when the model did not come from a ggml file.
 */
const unsigned char *wsp_model_ggml_vocab(const struct wsp_model *m, size_t *len,
					  int32_t *count);

/**
 * wsp_model_alignment_heads - the (layer, head) pairs of the decoder's
 * alignment heads into @out (2 ints per head, room for @cap heads): the
 * model's config.json list, else openai-whisper's published heads of the
 * model with these dimensions, else every head of the second half of the
 * decoder layers. @source is set to where they came from ("config.json",
 * the model's name, or a phrase).
 * Return: the number of heads, or -E2BIG when @cap is too small.
 */
int wsp_model_alignment_heads(const struct wsp_model *m, int32_t *out, int cap,
			      const char **source);

/** wsp_model_config - the lists the model's config files gave (never NULL). */
const struct wsp_model_config *wsp_model_config(const struct wsp_model *m);

/**
 * wsp_model_alloc_layers - allocate the layer arrays once hp is filled in.
 * Return: 0 or -ENOMEM.
 */
int wsp_model_alloc_layers(struct wsp_model *m);

/**
 * wsp_model_pack - make the INT8 tile packing of every linear layer.
 * Return: 0 or -errno from the tiler.
 */
int wsp_model_pack(struct wsp_model *m);

/**
 * wsp_model_check - verify every weight is present and hparams are sane.
 * @err, @errlen: message naming the first missing piece.
 * Return: 0 or -EINVAL.
 */
int wsp_model_check(const struct wsp_model *m, const char *file, char *err, size_t errlen);

/**
 * wsp_load_ct2_mem - parse a CTranslate2 model.bin image already in memory.
 * @name: the file name used in messages.
 * Return: 0, -EINVAL, -ENOMEM; @err names the problem.
 */
int wsp_load_ct2_mem(struct wsp_model *m, const unsigned char *buf, size_t len,
		     const char *name, char *err, size_t errlen);

/**
 * wsp_load_ggml_mem - parse a whisper.cpp ggml file image (f32, f16 or
 * quantized tensors).
 * @name: the file name used in messages.
 * Return: 0, -EINVAL, -ENOMEM; @err names the problem.
 */
int wsp_load_ggml_mem(struct wsp_model *m, const unsigned char *buf, size_t len,
		      const char *name, char *err, size_t errlen);

/**
 * wsp_load_safetensors_mem - parse a Hugging Face safetensors image.
 * @name: the file name used in messages.
 * Return: 0, -EINVAL, -ENOMEM; @err names the problem.
 */
int wsp_load_safetensors_mem(struct wsp_model *m, const unsigned char *buf, size_t len,
			     const char *name, char *err, size_t errlen);

/*
 * Element types accepted by wsp_pt_put(): WSP_PT_GGML + a ggml type id
 * (whisper/model/ggml_quants.h) is a ggml tensor of that type, f32, f16 or
 * block-quantized, whose data is wsp_ggml_tensor_bytes() long.
 */
enum { WSP_PT_F32 = 0, WSP_PT_F16 = 1, WSP_PT_BF16 = 2, WSP_PT_S8 = 3, WSP_PT_GGML = 16 };

/*
 * struct wsp_rows - a weight's rows as the file stores them: @kind is a
 * WSP_PT_* type; row r starts at @data + r * @row_bytes. WSP_PT_S8 is
 * CTranslate2's int8 with one little-endian float32 scale per row at @scale
 * (w = q / scale); @scale is NULL for the other kinds. A ggml tensor whose
 * rows are not whole blocks (a toy model's) has @row_bytes 0 and is read in
 * one piece.
 */
struct wsp_rows {
	int kind;
	const unsigned char *data;
	size_t row_bytes;          /* 0: rows are not whole blocks; read all at once */
	size_t bytes;              /* the whole source's bytes */
	const unsigned char *scale;
};

/**
 * wsp_rows_get - rows [@row0, @row0 + @n) of @s, @cols values each, as floats.
 * Return: 0, or -EINVAL for a bad scale or block (@err says which).
 */
int wsp_rows_get(const struct wsp_rows *s, float *dst, size_t row0, size_t n, size_t cols,
		 char *err, size_t errlen);

/**
 * wsp_lin_stream - pack rows [@row0, @row0 + @rows) of @l's weight (its
 * output rows; @l->in and @l->out set) from @src into @l's INT8 packing,
 * made on the first call, a slab at a time, and drop @src's pages from the
 * resident set when the image is a file mapping. For the token embedding
 * the rows are kept too (half floats when exact, else floats).
 * Return: 0, -EINVAL (rows out of range, bad values: @err), -ENOMEM.
 */
int wsp_lin_stream(struct wsp_model *m, struct wsp_lin *l, int row0, int rows,
		   const struct wsp_rows *src, char *err, size_t errlen);

/** wsp_lin_groups - the input slices @l is packed in (1, or its pack_groups). */
int wsp_lin_groups(const struct wsp_lin *l);

/**
 * wsp_lin_s8_blocks - whether @l, holding a ggml tensor of @type, packs the
 * file's integers as they are: @type is q8_0, q4_0 or q5_0 and each input
 * slice is whole blocks of 32. Return: 1 or 0.
 */
int wsp_lin_s8_blocks(const struct wsp_lin *l, int type);

/**
 * wsp_lin_kb32 - whether @l, holding a ggml tensor of @type, is packed
 * with K blocks of 32: @type is in blocks of 32 (wsp_ggml_type_block32())
 * and each input slice is whole blocks. Return: 1 or 0.
 */
int wsp_lin_kb32(const struct wsp_lin *l, int type);

/**
 * wsp_lin_alloc - make @l's empty packing (its slices from pack_groups),
 * with K blocks of @kb, or the tiler's default for 0; nothing when it
 * exists. Return: 0, -EINVAL, -ENOMEM.
 */
int wsp_lin_alloc(struct wsp_lin *l, int kb);

/**
 * wsp_lin_pack_s8_slab - store output rows [@row0, @row0 + @rows) of @l
 * from their integers @q (@rows × @l->in) and block scales @scale (@rows ×
 * @l->in / 32) into its packing with K blocks of 32 (wsp_lin_alloc(l, 32)),
 * exactly. Return: 0, -EINVAL.
 */
int wsp_lin_pack_s8_slab(struct wsp_lin *l, int row0, int rows, const int8_t *q,
			 const float *scale);

/**
 * wsp_image_release - drop the pages of [@p, @p + @n) from the resident set
 * when @m's image is a private file mapping (nothing otherwise): only the
 * pages wholly inside, or with @whole every page it touches.
 */
void wsp_image_release(const struct wsp_model *m, const void *p, size_t n, int whole);

/** wsp_model_stream_done - end INT8-only loading: the model serves INT8 only. */
void wsp_model_stream_done(struct wsp_model *m);

/**
 * wsp_model_pack_plan - decide each linear layer's packing (input slices,
 * residual activations) before it is packed, from the layer arrays.
 */
void wsp_model_pack_plan(struct wsp_model *m);

/* Placing PyTorch-named tensors (whisper/model/weights_map.c). */
struct wsp_pt_sink {
	struct wsp_model *m;
	unsigned *seen;   /* per layer: which fused q/k/v (and cross k/v) parts arrived */
	int ffn;          /* FFN width */
	const char *file;
	char *err;
	size_t errlen;
};

/**
 * wsp_pt_begin - start placing tensors into @m, whose hparams are set.
 * @ffn: the FFN width. Return: 0 or -ENOMEM. Pair with wsp_pt_release().
 */
int wsp_pt_begin(struct wsp_pt_sink *k, struct wsp_model *m, int ffn, const char *file,
		 char *err, size_t errlen);

/**
 * wsp_pt_put - convert and store one tensor with OpenAI's name @name
 * (e.g. "encoder.blocks.0.attn.query.weight"); unknown names are ignored.
 * Return: 0, -EINVAL (wrong size, repeated part; @err says which), -ENOMEM.
 */
int wsp_pt_put(struct wsp_pt_sink *k, const char *name, uint64_t numel, int dtype,
	       const unsigned char *data);

/** wsp_pt_end - check every part arrived and the model is complete. */
int wsp_pt_end(struct wsp_pt_sink *k);

/** wsp_pt_release - free the sink's bookkeeping (not the model). */
void wsp_pt_release(struct wsp_pt_sink *k);

/**
 * wsp_model_read_config - read the JSON side files in @m->dir into @m->cfg
 * (config.json, preprocessor_config.json; a missing file is no error) once
 * the weights are loaded. @hf_heads: take the head counts from config.json's
 * "encoder_attention_heads" / "decoder_attention_heads" (Hugging Face
 * checkpoints, whose weights do not give them).
 * Return: 0, -EINVAL (not JSON, a field of the wrong type or out of range;
 * @err names the file and the field), -EIO, -ENOMEM.
 */
int wsp_model_read_config(struct wsp_model *m, int hf_heads, char *err, size_t errlen);

#endif
