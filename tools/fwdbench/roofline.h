/* SPDX-License-Identifier: MIT */
/*
 * tools/fwdbench/roofline.h - this CPU's ceilings (INT8, bf16 and fp32
 * multiply-accumulate peaks, memory bandwidth from a STREAM-style triad)
 * and the bound each Whisper stage has under them, next to what fwdbench
 * measured (Documentation/benchmarks.md, "Roofline").
 */
#ifndef AMN_FWDBENCH_ROOFLINE_H
#define AMN_FWDBENCH_ROOFLINE_H

#include "whisper/model.h"

/* Index 0: one thread; index 1: @threads threads side by side. */
struct roof_ceilings {
	int threads;
	double int8_gmacs[2];   /* vpdpbusd, 10^9 u8×s8 multiply-adds a second; 0: none */
	double bf16_gmacs[2];   /* vdpbf16ps; 0 when the CPU has no AVX512_BF16 */
	double fp32_gmacs[2];   /* vfmadd on 16 floats */
	double triad_gbs[2];    /* a[i] = b[i] + s * c[i] over 3 × 64 MB, 12 bytes an element */
};

/**
 * roof_measure - measure the ceilings with @threads threads (and one).
 * Each figure is the best of a few runs. Return: 0, or -ENOMEM.
 */
int roof_measure(struct roof_ceilings *c, int threads);

/**
 * roof_report - print the ceilings, then the stages of one 30 s window of
 * model @hp: the work of each, its bound at the ceilings, and the measured
 * times: @enc_ms for the whole INT8 encoder, @step_ms for one INT8 decoder
 * step of @beams rows with about @n_past tokens in the self-attention cache.
 */
void roof_report(const struct roof_ceilings *c, const struct wsp_hparams *hp, double enc_ms,
		 double step_ms, int beams, int n_past);

#endif
