/* SPDX-License-Identifier: MIT */
/*
 * tiler/tile_job.c - lay out, fill, check, run and unpack batches in the
 * batch ABI of tiler/tile_job.h. tile_batch_run() is the CPU reference of
 * what a device does with the bytes; it uses the same kernels, panels and
 * scales as tile_matmul_*, so the results are the same bits.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "kernels/cpu/kern.h"
#include "tiler/tile_internal.h"
#include "tiler/tile_job.h"

static uint64_t align64(uint64_t v)
{
	return (v + TILE_BATCH_ALIGN - 1) & ~(uint64_t)(TILE_BATCH_ALIGN - 1);
}

static uint32_t nkb_of(const struct tile_job_desc *j)
{
	return j->kb ? (j->kp + j->kb - 1) / j->kb : 0;
}

int tile_job_init(struct tile_job_desc *j, uint32_t handle, const struct tile_weights *w,
		  enum tile_job_kind kind, int rows, int n0, int cols)
{
	if (!j || !w || (kind != TILE_JOB_S8 && kind != TILE_JOB_F32) || rows < 1 ||
	    rows > TILE_JOB_MAX_ROWS || n0 < 0 || cols < 1 || n0 + cols > w->N) {
		fprintf(stderr, "tile: bad job (kind %d, %d rows, columns %d+%d of %d)\n",
			(int)kind, rows, n0, cols, w ? w->N : -1);
		return -EINVAL;
	}
	memset(j, 0, sizeof(*j));
	j->weights = handle;
	j->kind = (uint8_t)kind;
	j->rows = (uint16_t)rows;
	j->k = (uint32_t)w->K;
	j->kp = (uint32_t)w->kp;
	j->kb = kind == TILE_JOB_S8 ? (uint32_t)(w->kp ? w->kp : 4) : (uint32_t)w->kb;
	j->n0 = (uint32_t)n0;
	j->cols = (uint32_t)cols;
	return 0;
}

long long tile_batch_layout(struct tile_batch_hdr *hdr, struct tile_job_desc *jobs,
			    unsigned njobs)
{
	uint64_t off;

	if (!hdr || !jobs || njobs == 0 || njobs > 65535) {
		fprintf(stderr, "tile: a batch holds 1..65535 jobs, not %u\n", njobs);
		return -EINVAL;
	}
	memset(hdr, 0, sizeof(*hdr));
	hdr->magic = TILE_BATCH_MAGIC;
	hdr->version = TILE_BATCH_VERSION;
	hdr->hdr_size = sizeof(*hdr);
	hdr->job_size = sizeof(*jobs);
	hdr->njobs = (uint16_t)njobs;
	hdr->jobs_off = sizeof(*hdr);
	off = hdr->a_off = align64(hdr->jobs_off + (uint64_t)njobs * sizeof(*jobs));
	for (unsigned i = 0; i < njobs; i++) {
		struct tile_job_desc *j = &jobs[i];
		uint64_t aux = (uint64_t)j->rows * nkb_of(j) * 4;

		if (!j->rows || j->rows > TILE_JOB_MAX_ROWS || !j->cols || j->kb % 4 ||
		    !j->kb || j->kp % 4 || j->kind > TILE_JOB_F32) {
			fprintf(stderr, "tile: job %u is not described (use tile_job_init)\n", i);
			return -EINVAL;
		}
		j->panel_off = off;
		off = j->rowsum_off = align64(off + (uint64_t)j->rows * j->kp);
		off = align64(off + aux);
		j->sa_off = j->kind == TILE_JOB_F32 ? off : 0;
		if (j->kind == TILE_JOB_F32)
			off = align64(off + aux);
	}
	hdr->a_size = off - hdr->a_off;
	hdr->c_off = off;
	for (unsigned i = 0; i < njobs; i++) {
		jobs[i].c_off = off;
		off = align64(off + (uint64_t)jobs[i].rows * jobs[i].cols * 4);
	}
	hdr->c_size = off - hdr->c_off;
	hdr->size = off;
	return (long long)off;
}

int tile_batch_write(void *buf, const struct tile_batch_hdr *hdr,
		     const struct tile_job_desc *jobs)
{
	if (!buf || !hdr || !jobs || hdr->magic != TILE_BATCH_MAGIC)
		return -EINVAL;
	memcpy(buf, hdr, sizeof(*hdr));
	memcpy((char *)buf + hdr->jobs_off, jobs, (size_t)hdr->njobs * sizeof(*jobs));
	return 0;
}

static int inside(uint64_t off, uint64_t len, uint64_t lo, uint64_t hi)
{
	return off >= lo && off <= hi && len <= hi - off;
}

int tile_batch_check(const void *buf, size_t len)
{
	const struct tile_batch_hdr *h = buf;
	const struct tile_job_desc *jobs;

	if (!buf || len < sizeof(*h) || h->magic != TILE_BATCH_MAGIC ||
	    h->version != TILE_BATCH_VERSION || h->flags ||
	    h->hdr_size != sizeof(*h) || h->job_size != sizeof(*jobs))
		return -EPROTO;
	if (h->size > len || !h->njobs ||
	    !inside(h->jobs_off, (uint64_t)h->njobs * sizeof(*jobs), sizeof(*h), h->size) ||
	    !inside(h->a_off, h->a_size, sizeof(*h), h->size) ||
	    !inside(h->c_off, h->c_size, sizeof(*h), h->size) || h->jobs_off % 8)
		return -EINVAL;
	jobs = (const struct tile_job_desc *)((const char *)buf + h->jobs_off);
	for (unsigned i = 0; i < h->njobs; i++) {
		const struct tile_job_desc *j = &jobs[i];
		uint64_t aux = (uint64_t)j->rows * nkb_of(j) * 4;
		uint64_t a_end = h->a_off + h->a_size, c_end = h->c_off + h->c_size;

		if (!j->rows || j->rows > TILE_JOB_MAX_ROWS || !j->cols || !j->kb ||
		    j->kb % 4 || j->kp % 4 || j->kp < j->k || j->kp - j->k >= 4 ||
		    j->kind > TILE_JOB_F32 ||
		    !inside(j->panel_off, (uint64_t)j->rows * j->kp, h->a_off, a_end) ||
		    !inside(j->rowsum_off, aux, h->a_off, a_end) ||
		    (j->kind == TILE_JOB_F32 && !inside(j->sa_off, aux, h->a_off, a_end)) ||
		    !inside(j->c_off, (uint64_t)j->rows * j->cols * 4, h->c_off, c_end) ||
		    (j->panel_off | j->rowsum_off | j->sa_off | j->c_off) % 4)
			return -EINVAL;
	}
	return 0;
}

static struct tile_job_desc *job_at(const void *buf, unsigned i)
{
	const struct tile_batch_hdr *h = buf;

	if (!buf || h->magic != TILE_BATCH_MAGIC || i >= h->njobs)
		return NULL;
	return (struct tile_job_desc *)((char *)buf + h->jobs_off) + i;
}

int tile_batch_pack_a(void *buf, unsigned i, const void *a, size_t lda)
{
	const struct tile_job_desc *j = job_at(buf, i);
	char *base = buf;

	if (!j || !a || lda < j->k)
		return -EINVAL;
	int8_t *panel = (int8_t *)(base + j->panel_off);
	int32_t *rowsum = (int32_t *)(base + j->rowsum_off);

	if (j->kind == TILE_JOB_F32) {
		kern_quant_fn *q = kern_quant_select();
		uint32_t nkb = nkb_of(j);

		for (int r = 0; r < j->rows; r++)
			q((const float *)a + (size_t)r * lda, (int)j->k, (int)j->kp, (int)j->kb,
			  panel + (size_t)r * j->kp, (float *)(base + j->sa_off) + (size_t)r * nkb,
			  rowsum + (size_t)r * nkb);
		return 0;
	}
	for (int r = 0; r < j->rows; r++) {
		int8_t *dst = panel + (size_t)r * j->kp;
		int32_t s = 0;

		memcpy(dst, (const int8_t *)a + (size_t)r * lda, j->k);
		memset(dst + j->k, 0, j->kp - j->k);
		for (uint32_t k = 0; k < j->k; k++)
			s += dst[k];
		rowsum[r] = s;
	}
	return 0;
}

int tile_batch_run(void *buf, size_t len, const struct tile_weights *const *table,
		   unsigned ntable)
{
	kern_s8_fn *s8 = kern_s8_select();
	kern_f32_fn *f32 = kern_f32_select();
	char *base = buf;
	int ret = tile_batch_check(buf, len);

	if (ret)
		return ret;
	for (unsigned i = 0; i < ((struct tile_batch_hdr *)buf)->njobs; i++) {
		const struct tile_job_desc *j = job_at(buf, i);
		const struct tile_weights *w = j->weights < ntable ? table[j->weights] : NULL;

		if (!w || (int)j->k != w->K || (int)j->kp != w->kp ||
		    (int64_t)j->n0 + j->cols > w->N ||
		    (j->kind == TILE_JOB_F32 && (int)j->kb != w->kb)) {
			fprintf(stderr, "tile: batch job %u does not match weights %u\n", i,
				j->weights);
			return -EINVAL;
		}
		/* one kernel call per piece of a 64-column weight panel */
		for (uint32_t n = j->n0; n < j->n0 + j->cols;) {
			uint32_t e = (n / TILE_PANEL + 1) * TILE_PANEL, cw, off = n - j->n0;

			e = e < j->n0 + j->cols ? e : j->n0 + j->cols;
			cw = e - n;
			if (j->kind == TILE_JOB_F32)
				f32((const int8_t *)(base + j->panel_off), j->kp,
				    (const int32_t *)(base + j->rowsum_off),
				    (const float *)(base + j->sa_off), j->rows, (int)j->kp,
				    (int)j->kb, tile_wcol(w, (int)n), w->ldb, w->sb + n, w->np,
				    NULL, (int)cw, (float *)(base + j->c_off) + off, j->cols);
			else
				s8((const int8_t *)(base + j->panel_off), j->kp,
				   (const int32_t *)(base + j->rowsum_off), j->rows, (int)j->kp,
				   tile_wcol(w, (int)n), w->ldb, (int)cw,
				   (int32_t *)(base + j->c_off) + off, j->cols);
			n = e;
		}
	}
	return 0;
}

int tile_batch_unpack_out(const void *buf, const void *out, unsigned i, void *c, size_t ldc,
			  const float *bias)
{
	const struct tile_batch_hdr *h = buf;
	const struct tile_job_desc *j = job_at(buf, i);

	if (!j || !out || !c || ldc < j->cols || j->c_off < h->c_off)
		return -EINVAL;
	for (int r = 0; r < j->rows; r++) {
		const char *src = (const char *)out + (j->c_off - h->c_off) + (size_t)r * j->cols * 4;

		if (j->kind == TILE_JOB_F32 && bias) {
			const float *s = (const float *)src, *b = bias + j->n0;
			float *d = (float *)c + (size_t)r * ldc;

			for (uint32_t n = 0; n < j->cols; n++)
				d[n] = s[n] + b[n];
		} else {
			memcpy((char *)c + (size_t)r * ldc * 4, src, (size_t)j->cols * 4);
		}
	}
	return 0;
}

int tile_batch_unpack_c(const void *buf, unsigned i, void *c, size_t ldc, const float *bias)
{
	const struct tile_batch_hdr *h = buf;

	if (!buf || h->magic != TILE_BATCH_MAGIC)
		return -EINVAL;
	return tile_batch_unpack_out(buf, (const char *)buf + h->c_off, i, c, ldc, bias);
}
