/* SPDX-License-Identifier: MIT */
/*
 * sched/npu_worker.c - batch-running thread behind the emu and xrt backends.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "sched/npu_futex.h"
#include "sched/npu_worker.h"

/* Queue @b as finished and wake the dispatcher; called with w->lock held. */
static void complete(struct npu_worker *w, struct npu_batch *b, int status)
{
	uint64_t one = 1;

	b->status = status;
	b->done_ns = npu_now_ns();
	b->next = NULL;
	if (w->done_tail)
		w->done_tail->next = b;
	else
		w->done_head = b;
	w->done_tail = b;
	if (write(w->be.completion_fd, &one, sizeof(one)) < 0) {
		/* counter saturated: the dispatcher is awake anyway */
	}
}

static struct npu_batch *pop(struct npu_batch **head, struct npu_batch **tail)
{
	struct npu_batch *b = *head;

	if (b) {
		*head = b->next;
		if (!*head)
			*tail = NULL;
		b->next = NULL;
	}
	return b;
}

static void *worker_main(void *arg)
{
	struct npu_worker *w = arg;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		struct npu_batch *b;
		int status;

		while (!w->todo_head && !w->stop)
			pthread_cond_wait(&w->cond, &w->lock);
		b = pop(&w->todo_head, &w->todo_tail);
		if (!b)
			break;  /* stop requested and nothing left */
		pthread_mutex_unlock(&w->lock);
		status = w->run(w, b);
		pthread_mutex_lock(&w->lock);
		complete(w, b, status);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

/*
 * Pipelined: keep up to depth batches started; finish the oldest when the
 * pipe is full, when nothing else is queued, or when start asks for it.
 */
static void *pipe_main(void *arg)
{
	struct npu_worker *w = arg;
	struct npu_batch *run_head = NULL, *run_tail = NULL, *b;
	unsigned running = 0;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		int status;

		while (!w->todo_head && !w->stop && !running)
			pthread_cond_wait(&w->cond, &w->lock);
		if (w->todo_head && running < w->depth) {
			b = pop(&w->todo_head, &w->todo_tail);
			pthread_mutex_unlock(&w->lock);
			status = w->start(w, b, running == 0);
			pthread_mutex_lock(&w->lock);
			if (status == -EBUSY && running) {
				b->next = w->todo_head;   /* retry after a finish */
				w->todo_head = b;
				if (!w->todo_tail)
					w->todo_tail = b;
			} else if (status) {
				complete(w, b, status == -EBUSY ? -EIO : status);
				continue;
			} else {
				if (run_tail)
					run_tail->next = b;
				else
					run_head = b;
				run_tail = b;
				running++;
				continue;
			}
		}
		if (!running)
			break;  /* stop requested and nothing left */
		b = pop(&run_head, &run_tail);
		running--;
		pthread_mutex_unlock(&w->lock);
		status = w->finish(w, b);
		pthread_mutex_lock(&w->lock);
		complete(w, b, status);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

int npu_worker_start(struct npu_worker *w)
{
	int ret;

	w->be.completion_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (w->be.completion_fd < 0)
		return -errno;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	ret = -pthread_create(&w->thread, NULL, w->start ? pipe_main : worker_main, w);
	if (ret) {
		pthread_cond_destroy(&w->cond);
		pthread_mutex_destroy(&w->lock);
		close(w->be.completion_fd);
		return ret;
	}
	w->started = true;
	return 0;
}

void npu_worker_stop(struct npu_worker *w)
{
	if (!w->started)
		return;
	pthread_mutex_lock(&w->lock);
	w->stop = true;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->lock);
	close(w->be.completion_fd);
	w->started = false;
}

int npu_worker_submit(struct npu_backend *be, struct npu_batch *b)
{
	struct npu_worker *w = (struct npu_worker *)be;

	b->next = NULL;
	b->submit_ns = npu_now_ns();
	pthread_mutex_lock(&w->lock);
	if (w->todo_tail)
		w->todo_tail->next = b;
	else
		w->todo_head = b;
	w->todo_tail = b;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	return 0;
}

struct npu_batch *npu_worker_reap(struct npu_backend *be)
{
	struct npu_worker *w = (struct npu_worker *)be;
	struct npu_batch *b;

	pthread_mutex_lock(&w->lock);
	b = w->done_head;
	if (b) {
		w->done_head = b->next;
		if (!w->done_head)
			w->done_tail = NULL;
		b->next = NULL;
	}
	pthread_mutex_unlock(&w->lock);
	return b;
}
