/* SPDX-License-Identifier: MIT */
/*
 * sched/npu_emu_model.c - simulated Phoenix NPU timing and fault draws.
 */
#include <string.h>

#include "sched/npu_emu_model.h"

void npu_emu_model_init(struct npu_emu_model *m, const struct npu_emu_opts *opts)
{
	memset(m, 0, sizeof(*m));
	if (opts)
		m->o = *opts;
	if (!m->o.launch_us)
		m->o.launch_us = 60;
	if (!m->o.chain_us)
		m->o.chain_us = 22;
	if (!m->o.cores)
		m->o.cores = 16;
	if (m->o.tops <= 0)
		m->o.tops = 10.0;
	if (!m->o.max_in_flight)
		m->o.max_in_flight = 4;
	if (m->o.max_in_flight > NPU_EMU_MAX_IN_FLIGHT)
		m->o.max_in_flight = NPU_EMU_MAX_IN_FLIGHT;
	if (!m->o.watchdog_ms)
		m->o.watchdog_ms = 2000;
	m->rng = m->o.seed ? m->o.seed : 0x9e3779b97f4a7c15ull;
}

/* xorshift64*: a small deterministic generator for fault draws. */
static uint64_t next_rand(struct npu_emu_model *m)
{
	m->rng ^= m->rng >> 12;
	m->rng ^= m->rng << 25;
	m->rng ^= m->rng >> 27;
	return m->rng * 0x2545f4914f6cdd1dull;
}

static enum npu_emu_fault draw_fault(struct npu_emu_model *m)
{
	uint64_t r = next_rand(m) % 1000000;

	if (r < m->o.error_ppm)
		return NPU_EMU_ERROR;
	r -= m->o.error_ppm;
	if (r < m->o.timeout_ppm)
		return NPU_EMU_TIMEOUT;
	r -= m->o.timeout_ppm;
	if (r < m->o.hang_ppm)
		return NPU_EMU_HANG;
	return NPU_EMU_OK;
}

/* Retire runs that completed by the host clock. */
static void retire(struct npu_emu_model *m)
{
	unsigned k = 0;

	for (unsigned i = 0; i < m->n_in_flight; i++)
		if (m->done_ns[i] > m->host_ns)
			m->done_ns[k++] = m->done_ns[i];
	m->n_in_flight = k;
}

static uint64_t earliest(const struct npu_emu_model *m)
{
	uint64_t t = UINT64_MAX;

	for (unsigned i = 0; i < m->n_in_flight; i++)
		if (m->done_ns[i] < t)
			t = m->done_ns[i];
	return t;
}

uint64_t npu_emu_model_run(struct npu_emu_model *m, uint64_t ops, uint64_t tiles,
			   enum npu_emu_fault *fault)
{
	double core_ops_per_ns = m->o.tops * 1e3 / m->o.cores;  /* TOPS -> ops/ns */
	uint64_t waves, compute, start, done, overhead;
	enum npu_emu_fault f = draw_fault(m);

	retire(m);
	while (m->n_in_flight >= m->o.max_in_flight) {
		m->host_ns = earliest(m);
		retire(m);
	}
	overhead = (m->n_in_flight ? m->o.chain_us : m->o.launch_us) * 1000ull;
	if (!tiles)
		tiles = 1;
	waves = (tiles + m->o.cores - 1) / m->o.cores;
	/* Each wave runs one tile per core: its time is one tile's ops per core rate. */
	compute = (uint64_t)((double)waves * ((double)ops / (double)tiles) / core_ops_per_ns);
	m->host_ns += overhead;
	start = m->host_ns > m->dev_free_ns ? m->host_ns : m->dev_free_ns;
	if (!m->first_ns && !m->last_ns)
		m->first_ns = m->host_ns - overhead;
	if (f == NPU_EMU_TIMEOUT || f == NPU_EMU_HANG) {
		done = start + m->o.watchdog_ms * 1000000ull;
	} else {
		done = start + compute;
		/* Useful work: ops at the full-array peak rate. */
		m->busy_ns += (uint64_t)((double)ops / (core_ops_per_ns * m->o.cores));
	}
	m->dev_free_ns = done;
	m->done_ns[m->n_in_flight++] = done;
	if (done > m->last_ns)
		m->last_ns = done;
	if (fault)
		*fault = f;
	return done;
}

void npu_emu_model_drain(struct npu_emu_model *m)
{
	while (m->n_in_flight) {
		m->host_ns = earliest(m);
		retire(m);
	}
}

uint64_t npu_emu_model_span_ns(const struct npu_emu_model *m)
{
	return m->last_ns > m->first_ns ? m->last_ns - m->first_ns : 0;
}

double npu_emu_model_utilization(const struct npu_emu_model *m)
{
	uint64_t span = npu_emu_model_span_ns(m);

	return span ? (double)m->busy_ns / (double)span : 0.0;
}
