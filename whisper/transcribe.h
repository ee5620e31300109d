/* SPDX-License-Identifier: MIT */
/*
 * whisper/transcribe.h - audio in, timed text segments out: log-mel, encoder,
 * decoding with openai-whisper's rules (beam search or greedy, timestamp rules,
 * suppression, temperature fallback, no-speech detection, conditioning on
 * previous text, long-form seeking over 30 s windows, language detection).
 *
 * A wsp_context holds what every transcription shares (model, tokenizer, mel
 * filters, engine tenant); wsp_transcribe_*() may run concurrently on one
 * context from many threads.
 */
#ifndef AMN_WSP_TRANSCRIBE_H
#define AMN_WSP_TRANSCRIBE_H

#include <stddef.h>
#include <stdint.h>
#include "whisper/model.h"
#include "whisper/vad.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Everything declared here is the library's API: exported from libamanuensis.so. */
#pragma GCC visibility push(default)

struct npu_engine;
struct wsp_segment;

enum wsp_task {
	WSP_TASK_TRANSCRIBE = 0,
	WSP_TASK_TRANSLATE = 1,
};

/** Decoding options; wsp_transcribe_opts_default() gives openai-whisper's defaults. */
struct wsp_transcribe_opts {
	const char *language;            /* "en", "de", ...; NULL: detect (multilingual) */
	enum wsp_task task;
	int beam_size;                   /* 5; 1 = greedy */
	int best_of;                     /* 5: samples at temperature > 0 */
	float patience;                  /* 1.0 */
	float length_penalty;            /* < 0: none (openai's default) */
	const float *temperatures;       /* fallback ladder; NULL: 0.0, 0.2, ..., 1.0 */
	int n_temperatures;
	float compression_ratio_threshold; /* 2.4; <= 0 disables */
	float logprob_threshold;         /* -1.0; <= -1e9 disables */
	float no_speech_threshold;       /* 0.6; >= 1 disables */
	int condition_on_previous_text;  /* 1 */
	const char *initial_prompt;      /* NULL or text */
	int without_timestamps;          /* 0 */
	int suppress_blank;              /* 1 */
	uint64_t seed;                   /* sampling seed at temperature > 0 */
	/* Called from the transcribing thread after each 30 s window. */
	void (*progress)(void *arg, double done_s, double total_s);
	void *progress_arg;
	/*
	 * Where openai-whisper and CTranslate2 (faster-whisper) differ: 0 (default)
	 * decodes as CTranslate2, 1 as openai-whisper. Beam bookkeeping (2 ×
	 * beam_size best continuations, ends among the first beam_size finish; or
	 * beam_size + 1 per beam, every end ranked above the last kept beam
	 * finishes) and the timestamp after text (>= the last one; or > it).
	 * See Documentation/decoding.md.
	 */
	int openai_rules;
	/*
	 * Hooks for programs that serve many requests (all optional, all called
	 * from the transcribing thread with @hook_arg):
	 * window_begin, before each 30 s window is worked, with its start and
	 * length in seconds: return 0 to go on, or a negative errno to stop
	 * (the transcription then fails with it, e.g. -ECANCELED for a client
	 * that went away). It may block, to share the machine window by window.
	 * window_end, after each window window_begin let start, error or not.
	 * on_segment, with each segment (and its index in the result) as soon
	 * as its window is decoded, in order; the segment is the result's own
	 * and stays valid until wsp_result_free().
	 */
	int (*window_begin)(void *arg, double start_s, double length_s);
	void (*window_end)(void *arg);
	void (*on_segment)(void *arg, const struct wsp_segment *seg, int index);
	void *hook_arg;
	/*
	 * Word timestamps, as openai-whisper's word_timestamps=True (off by
	 * default): each segment gets its words with start, end and
	 * probability, from the cross-attention of the model's alignment heads
	 * in one teacher-forced decoder pass per window (Documentation/decoding.md,
	 * "Word timing"). Segment start and end then follow the words, and a
	 * window that ends without a single timestamp restarts at the last
	 * word's end, as there.
	 * prepend_punctuations / append_punctuations: punctuation merged into
	 * the next / previous word; NULL: openai's "\"'“¿([{-" and
	 * "\"'.。,，!！?？:：”)]}、".
	 */
	int word_timestamps;
	const char *prepend_punctuations;
	const char *append_punctuations;
	/*
	 * openai-whisper's hallucination_silence_threshold, in seconds (needs
	 * word_timestamps; <= 0: off, the default): a segment whose words look
	 * hallucinated (improbable, very short or very long) and that has
	 * silence longer than this before and after it is dropped, and the
	 * window restarts past the silence.
	 */
	float hallucination_silence_threshold;
	/*
	 * The VAD filter, as faster-whisper's transcribe(vad_filter=True):
	 * with @vad set (a wsp_vad_load()ed detector, borrowed; NULL: off, the
	 * default), only the speech regions that @vad_opts find
	 * (wsp_vad_speech()) are transcribed, joined, and segment and word
	 * times are mapped back to the recording's time before on_segment
	 * sees them. window_begin and progress count seconds of the joined
	 * speech. wsp_transcribe_opts_default() fills @vad_opts with
	 * wsp_vad_opts_default(). See Documentation/vad.md.
	 */
	const struct wsp_vad *vad;
	struct wsp_vad_opts vad_opts;
	/*
	 * The long-form mode: 0 or 1 (default) sequential, as above; N > 1
	 * batched, after faster-whisper's BatchedInferencePipeline: the
	 * audio cut into windows of at most 30 s (at quiet moments), each
	 * decoded on its own (no previous text in its prompt; initial_prompt
	 * in every window's), up to N windows in flight at once (their
	 * encoders side by side on the engine, their decoder steps stacked),
	 * times kept inside the file, segments returned in file order. With
	 * @vad set, the windows are its speech regions merged up to 30 s
	 * (the batched pipeline's VAD rules: max_speech_duration_s 30 and,
	 * where @vad_opts keeps the 2000 ms default, min_silence_duration_ms
	 * 160). N
	 * above 64 counts as 64; negative is -EINVAL. condition_on_previous_text and
	 * hallucination_silence_threshold do not apply. The hooks are then
	 * called from the worker threads: window_begin / window_end of
	 * different windows may overlap (each window pairs its own),
	 * on_segment and progress run one at a time, in file order.
	 * See Documentation/decoding.md, "Batched long-form mode".
	 */
	int batch;
};

/* openai-whisper's default punctuation merged into the next / previous word. */
#define WSP_PREPEND_PUNCTUATIONS "\"'“¿([{-"
#define WSP_APPEND_PUNCTUATIONS "\"'.。,，!！?？:：”)]}、"

/** One word of a segment (word_timestamps). */
struct wsp_word {
	double start, end;          /* seconds, rounded to 0.01 as openai-whisper */
	char *word;                 /* UTF-8 with its leading space and merged punctuation, owned */
	float probability;          /* mean probability of its tokens */
};

/** One decoded segment. */
struct wsp_segment {
	double start, end;          /* seconds */
	char *text;                 /* UTF-8, owned */
	int32_t *tokens;            /* text and timestamp tokens, owned */
	int n_tokens;
	float avg_logprob;
	float no_speech_prob;
	float compression_ratio;
	float temperature;
	struct wsp_word *words;     /* word_timestamps: the segment's words, owned; else NULL */
	int n_words;
};

/** What one transcription produced. */
struct wsp_result {
	struct wsp_segment *segments;
	int n_segments;
	char language[16];          /* the language used (given or detected) */
	float language_prob;        /* detection probability; 1 when given */
	double duration_s;          /* audio length */
	int word_timestamps;        /* 1: the segments carry their words (words may still be 0) */
	/* wall time in ms of each stage, summed over windows */
	double audio_ms, mel_ms, encode_ms, decode_ms;
};

struct wsp_context;

/** wsp_transcribe_opts_default - fill @o with openai-whisper's defaults. */
void wsp_transcribe_opts_default(struct wsp_transcribe_opts *o);

/**
 * wsp_context_new - share @model (not owned; it must outlive the context),
 * load its tokenizer, make the mel filters and open a tenant on @engine
 * (NULL: matmuls call the tiler directly).
 * @precision: WSP_INT8 or WSP_FP32. @threads: CPU threads for non-matmul ops (0: default).
 * Return: 0, or -errno with @err set.
 */
int wsp_context_new(const struct wsp_model *model, struct npu_engine *engine,
		    enum wsp_precision precision, int threads,
		    struct wsp_context **out, char *err, size_t errlen);

/**
 * wsp_context_new_tenant - a context for one more client of the same engine:
 * it shares @base's model, tokenizer, mel filters, decoding rules and decoder
 * gang (so concurrent transcriptions of different tenants still run their
 * decoder steps stacked), and opens its own engine tenant @name of @weight
 * (>= 1), which shares the device with the others by weight. Without an
 * engine it is a plain second handle on @base.
 * @base must outlive the new context; free it with wsp_context_free().
 * Return: 0, or -errno with @err set.
 */
int wsp_context_new_tenant(const struct wsp_context *base, const char *name, unsigned weight,
			   struct wsp_context **out, char *err, size_t errlen);

/** wsp_context_free - release; NULL is a no-op. */
void wsp_context_free(struct wsp_context *c);

/**
 * wsp_context_has_language - whether the model of @c knows the language
 * @code ("en", "de", ...): English-only models know "en" alone.
 * Return: 1 or 0.
 */
int wsp_context_has_language(const struct wsp_context *c, const char *code);

/**
 * wsp_transcribe_pcm - transcribe @n samples of 16 kHz mono audio.
 * Return: 0, or -errno with @err set; @res is filled on success and must be
 * released with wsp_result_free().
 */
int wsp_transcribe_pcm(struct wsp_context *c, const float *samples, size_t n,
		       const struct wsp_transcribe_opts *o, struct wsp_result *res,
		       char *err, size_t errlen);

/**
 * wsp_transcribe_file - decode @path (whisper/audio/audio.h) and transcribe it,
 * reading the audio in pieces so that memory stays bounded for long files.
 * Return: as wsp_transcribe_pcm(); -ENOENT/-EINVAL for unreadable audio.
 */
int wsp_transcribe_file(struct wsp_context *c, const char *path,
			const struct wsp_transcribe_opts *o, struct wsp_result *res,
			char *err, size_t errlen);

/** wsp_result_free - release the segments and their words; safe on a zeroed struct. */
void wsp_result_free(struct wsp_result *res);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif
#endif
