// SPDX-License-Identifier: MIT
/*
 * whisper/nn/ops_parallel.c - fork-join over rows for the CPU ops. The forward
 * pass calls it a few times per layer, so plain pthread_create is cheap
 * enough next to the work (tens of microseconds against milliseconds).
 */
#include <pthread.h>

#include "common/amn_threads.h"
#include "whisper/nn/ops.h"

/*
 * Threads of one nn_parallel_rows() call, the caller included: their slices
 * live on its stack, and every call creates its threads anew, so it keeps
 * to a few.
 */
#define PARALLEL_ROWS_MAX_THREADS 8

struct slice {
	nn_rows_fn fn;
	void *ctx;
	int r0, r1;
};

static void *slice_run(void *arg)
{
	struct slice *s = arg;

	s->fn(s->ctx, s->r0, s->r1);
	return NULL;
}

int wsp_exec_threads(const struct wsp_exec *x)
{
	return x && x->threads > 0 ? x->threads : amn_threads_default();
}

void nn_parallel_rows(int rows, int threads, nn_rows_fn fn, void *ctx)
{
	struct slice s[PARALLEL_ROWS_MAX_THREADS];
	pthread_t tid[PARALLEL_ROWS_MAX_THREADS];
	int started[PARALLEL_ROWS_MAX_THREADS] = { 0 };

	if (threads > PARALLEL_ROWS_MAX_THREADS)
		threads = PARALLEL_ROWS_MAX_THREADS;
	if (threads > rows)
		threads = rows;
	if (threads <= 1) {
		if (rows > 0)
			fn(ctx, 0, rows);
		return;
	}
	for (int i = 0; i < threads; i++) {
		s[i].fn = fn;
		s[i].ctx = ctx;
		s[i].r0 = (int)((long)rows * i / threads);
		s[i].r1 = (int)((long)rows * (i + 1) / threads);
	}
	for (int i = 1; i < threads; i++)
		started[i] = pthread_create(&tid[i], NULL, slice_run, &s[i]) == 0;
	slice_run(&s[0]);
	for (int i = 1; i < threads; i++) {
		if (started[i])
			pthread_join(tid[i], NULL);
		else
			slice_run(&s[i]);
	}
}
