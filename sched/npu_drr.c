/* SPDX-License-Identifier: MIT */
/*
 * sched/npu_drr.c - deficit round robin between tenants, and rate quotas.
 */
#include <stdatomic.h>
#include <string.h>

#include "sched/npu_drr.h"

/* A quota lets a tenant burst this long at its rate. */
#define BURST_NS 10000000ll

void npu_drr_init(struct npu_drr *d, uint64_t quantum)
{
	memset(d, 0, sizeof(*d));
	d->quantum = quantum;
}

void npu_drr_tenant_init(struct npu_tenant *t)
{
	t->q_head = t->q_tail = NULL;
	t->q_len = 0;
	t->deficit = 0;
	t->active = false;
	t->next_active = NULL;
	t->tokens = 0;
	t->tokens_ns = 0;
	t->held = 0;
}

static void activate(struct npu_drr *d, struct npu_tenant *t)
{
	t->active = true;
	t->next_active = NULL;
	if (d->tail)
		d->tail->next_active = t;
	else
		d->head = t;
	d->tail = t;
}

/* Remove the head tenant from the active list (its turn is over). */
static struct npu_tenant *pop_head(struct npu_drr *d)
{
	struct npu_tenant *t = d->head;

	d->head = t->next_active;
	if (!d->head)
		d->tail = NULL;
	t->next_active = NULL;
	d->charged = false;
	return t;
}

void npu_drr_push(struct npu_drr *d, struct npu_tenant *t, struct npu_job *j)
{
	j->next = NULL;
	if (t->q_tail)
		t->q_tail->next = j;
	else
		t->q_head = j;
	t->q_tail = j;
	t->q_len++;
	d->queued++;
	d->queued_ops += j->ops;
	if (j->ops > d->quantum)
		d->quantum = j->ops;
	if (!t->active)
		activate(d, t);
}

/*
 * Refill @t's token bucket; return true if it may run a job of @cost now,
 * else store in *wake the time it may.
 */
static bool quota_allows(struct npu_tenant *t, uint64_t cost, int64_t now, int64_t *wake)
{
	uint64_t rate = atomic_load_explicit(&t->rate_ops, memory_order_relaxed);
	double cap;

	if (!rate)
		return true;
	cap = (double)rate * BURST_NS / 1e9;
	if (cap < (double)cost)
		cap = (double)cost;
	if (!t->tokens_ns) {
		t->tokens = cap;
	} else if (now > t->tokens_ns) {
		t->tokens += (double)rate * (double)(now - t->tokens_ns) / 1e9;
		if (t->tokens > cap)
			t->tokens = cap;
	}
	t->tokens_ns = now;
	if (t->tokens >= (double)cost)
		return true;
	*wake = now + (int64_t)(((double)cost - t->tokens) * 1e9 / (double)rate) + 1;
	return false;
}

unsigned npu_drr_pick(struct npu_drr *d, struct npu_job **out, unsigned max,
		      int64_t now_ns, int64_t *wake_ns)
{
	int64_t wake = INT64_MAX;
	unsigned n = 0, idle_turns = 0, n_active = 0;
	uint64_t ops = 0;
	bool full = false;

	for (const struct npu_tenant *t = d->head; t; t = t->next_active)
		n_active++;

	while (n < max && !full && d->head) {
		struct npu_tenant *t = d->head;
		bool took = false, held = false;

		if (!d->charged) {
			t->deficit += (int64_t)(d->quantum * t->weight);
			d->charged = true;
		}
		while (n < max && t->q_head && (int64_t)t->q_head->ops <= t->deficit) {
			struct npu_job *j = t->q_head;

			if (d->max_ops && n && ops + j->ops > d->max_ops) {
				full = true;  /* the run has its share of work */
				break;
			}
			if (!quota_allows(t, j->ops, now_ns, &wake)) {
				held = true;
				d->throttled++;
				t->held++;
				break;
			}
			if (t->tokens_ns)
				t->tokens -= (double)j->ops;
			t->q_head = j->next;
			if (!t->q_head)
				t->q_tail = NULL;
			t->q_len--;
			d->queued--;
			d->queued_ops -= j->ops;
			t->deficit -= (int64_t)j->ops;
			j->next = NULL;
			ops += j->ops;
			out[n++] = j;
			took = true;
		}
		if (!t->q_head) {
			/* Empty: leave the active list; credit does not carry over idleness. */
			pop_head(d);
			t->active = false;
			t->deficit = 0;
		} else if ((n == max || full) && !held && (int64_t)t->q_head->ops <= t->deficit) {
			break;  /* batch full mid-turn: continue this turn next time */
		} else {
			/* Credit spent or quota hit: to the back of the line. */
			pop_head(d);
			activate(d, t);
			if (held && t->deficit > (int64_t)(d->quantum * t->weight))
				t->deficit = (int64_t)(d->quantum * t->weight);
		}
		/*
		 * The quantum covers the largest job, so a turn without a job
		 * means a quota held the tenant back. Once every active tenant
		 * was held in a row, nothing more can run now.
		 */
		idle_turns = took ? 0 : idle_turns + 1;
		if (idle_turns >= n_active)
			break;
	}
	if (wake != INT64_MAX && wake_ns)
		*wake_ns = wake;
	return n;
}

int64_t npu_drr_oldest_ns(const struct npu_drr *d)
{
	int64_t oldest = INT64_MAX;

	for (const struct npu_tenant *t = d->head; t; t = t->next_active)
		if (t->q_head && t->q_head->enq_ns < oldest)
			oldest = t->q_head->enq_ns;
	return oldest;
}
