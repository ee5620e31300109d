/*
 * main.c - npustress: many threads and tenants submitting random matmuls to
 * one engine, every result verified; reports throughput, latency, fairness.
 * Exit status: 0 clean, 1 a mismatch, lost or doubled result, 2 bad usage or
 * setup failure.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "sched/npu.h"
#include "tools/npustress/npustress.h"

#define MAX_THREADS 1024

static void usage(FILE *f)
{
	fprintf(f,
		"usage: npustress [options]\n"
		"Submit random matmuls (int8 and fp32, shapes from 1x1x1 up to the maxima)\n"
		"from many threads and tenants; verify every result.\n"
		"  -b, --backend NAME   cpu, emu, xrt or auto (default: $NPU_BACKEND, else auto)\n"
		"  -t, --threads N      submitting threads (default 4)\n"
		"  -T, --tenants N      tenants, weights 1..N, threads assigned round-robin (default 2)\n"
		"  -d, --duration SEC   run for SEC seconds (default 5)\n"
		"  -n, --count N        instead, N matmuls per thread\n"
		"  -m, --max-m N        largest M (default 1500)\n"
		"  -k, --max-k N        largest K (default 2048)\n"
		"  -N, --max-n N        largest N (default 512)\n"
		"  -f, --faults PPM     emu: error and timeout rate per million runs (default 0)\n"
		"  -s, --seed N         random seed (default 1)\n"
		"  -j, --json           print one JSON object at the end\n"
		"  -h, --help           this text\n"
		"Exit: 0 all results verified, 1 mismatch/lost/doubled, 2 usage or setup error.\n");
}

static int parse_long(const char *s, long lo, long hi, long *out, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi) {
		fprintf(stderr, "npustress: %s must be an integer in [%ld, %ld], got '%s'\n",
			what, lo, hi, s);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

static int parse_args(int argc, char **argv, struct stress_opts *o)
{
	static const struct option lo[] = {
		{ "backend", 1, NULL, 'b' }, { "threads", 1, NULL, 't' },
		{ "tenants", 1, NULL, 'T' }, { "duration", 1, NULL, 'd' },
		{ "count", 1, NULL, 'n' }, { "max-m", 1, NULL, 'm' },
		{ "max-k", 1, NULL, 'k' }, { "max-n", 1, NULL, 'N' },
		{ "faults", 1, NULL, 'f' }, { "seed", 1, NULL, 's' },
		{ "json", 0, NULL, 'j' }, { "help", 0, NULL, 'h' }, { 0 }
	};
	long v;
	int c, rc = 0;
	char *end;

	while (!rc && (c = getopt_long(argc, argv, "b:t:T:d:n:m:k:N:f:s:jh", lo, NULL)) != -1) {
		switch (c) {
		case 'b': o->backend = optarg; break;
		case 't': rc = parse_long(optarg, 1, MAX_THREADS, &v, "--threads"); o->threads = (int)v; break;
		case 'T': rc = parse_long(optarg, 1, MAX_THREADS, &v, "--tenants"); o->tenants = (int)v; break;
		case 'd':
			o->seconds = strtod(optarg, &end);
			if (end == optarg || *end || !(o->seconds > 0)) {
				fprintf(stderr, "npustress: --duration must be > 0 seconds, got '%s'\n", optarg);
				rc = -EINVAL;
			}
			break;
		case 'n': rc = parse_long(optarg, 1, 1L << 40, &o->count, "--count"); break;
		case 'm': rc = parse_long(optarg, 1, 65536, &v, "--max-m"); o->max_m = (int)v; break;
		case 'k': rc = parse_long(optarg, 1, 65536, &v, "--max-k"); o->max_k = (int)v; break;
		case 'N': rc = parse_long(optarg, 1, 65536, &v, "--max-n"); o->max_n = (int)v; break;
		case 'f': rc = parse_long(optarg, 0, 1000000, &v, "--faults"); o->fault_ppm = (unsigned)v; break;
		case 's': rc = parse_long(optarg, 0, 1L << 62, &v, "--seed"); o->seed = (uint64_t)v; break;
		case 'j': o->json = 1; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -EINVAL;
		}
	}
	if (!rc && optind < argc) {
		fprintf(stderr, "npustress: unexpected argument '%s'\n", argv[optind]);
		rc = -EINVAL;
	}
	if (!rc && o->tenants > o->threads)
		o->tenants = o->threads;
	return rc;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct stress_opts o = {
		.threads = 4, .tenants = 2, .seconds = 5, .max_m = 1500, .max_k = 2048,
		.max_n = 512, .seed = 1,
	};
	struct npu_emu_opts emu = { 0 };
	struct npu_engine_opts eo = { 0 };
	struct npu_engine_counters ctr;
	struct npu_tenant **tenants = NULL;
	struct stress_thread *th = NULL;
	pthread_t *tids = NULL;
	atomic_int stop = 0;
	atomic_long done_total = 0;
	double t0, elapsed, *lat = NULL, *share = NULL, p50 = 0, p99 = 0, pmax = 0;
	double jain, sum = 0, sumsq = 0, ops = 0;
	long jobs = 0, mism = 0, lost = 0, dbl = 0, errs = 0, n = 0;
	int i, started = 0, rc, tty = isatty(STDERR_FILENO), status = 2;
	struct rusage ru;

	if (parse_args(argc, argv, &o))
		return 2;
	eo.backend = o.backend;
	if (o.fault_ppm) {
		emu.error_ppm = o.fault_ppm;
		emu.timeout_ppm = o.fault_ppm;
		emu.watchdog_ms = 50;
		emu.seed = o.seed;
		eo.emu = &emu;
	}
	struct npu_engine *e;

	rc = npu_engine_open(&e, &eo);
	if (rc) {
		fprintf(stderr, "npustress: cannot open the engine (backend %s): %s\n",
			o.backend ? o.backend : "default", strerror(-rc));
		return 2;
	}
	tenants = calloc((size_t)o.tenants, sizeof(*tenants));
	th = calloc((size_t)o.threads, sizeof(*th));
	tids = calloc((size_t)o.threads, sizeof(*tids));
	share = calloc((size_t)o.tenants, sizeof(*share));
	if (!tenants || !th || !tids || !share) {
		fprintf(stderr, "npustress: out of memory\n");
		goto out_tenants;
	}
	for (i = 0; i < o.tenants; i++) {
		char name[32];

		snprintf(name, sizeof(name), "stress%d", i);
		rc = npu_tenant_open(e, &tenants[i], name, (unsigned)i + 1);
		if (rc) {
			fprintf(stderr, "npustress: tenant %s: %s\n", name, strerror(-rc));
			goto out_tenants;
		}
	}
	t0 = now_s();
	for (i = 0; i < o.threads; i++) {
		th[i] = (struct stress_thread){
			.o = &o, .tenant_idx = i % o.tenants, .tenant = tenants[i % o.tenants],
			.seed = (o.seed + 1) * 0x9e3779b97f4a7c15ull + (uint64_t)i * 7919 + 1,
			.stop = &stop, .done_total = &done_total,
		};
		rc = pthread_create(&tids[i], NULL, stress_worker, &th[i]);
		if (rc) {
			fprintf(stderr, "npustress: thread %d: %s\n", i, strerror(rc));
			atomic_store(&stop, 1);
			break;
		}
		started++;
	}
	/* Wait for the duration (count mode: for the workers) with a progress line. */
	for (;;) {
		struct timespec nap = { 0, 50 * 1000 * 1000 };
		long total = atomic_load(&done_total);

		elapsed = now_s() - t0;
		if (o.count ? total >= o.count * started : elapsed >= o.seconds)
			break;
		if (tty && !o.json)
			fprintf(stderr, "\r%.1fs  %ld matmuls  %.0f/s ", elapsed, total,
				elapsed > 0 ? total / elapsed : 0.0);
		nanosleep(&nap, NULL);
	}
	atomic_store(&stop, 1);
	/* Run time ends when the last worker stopped, not when we noticed. */
	elapsed = 0;
	for (i = 0; i < started; i++) {
		pthread_join(tids[i], NULL);
		if (th[i].end_s - t0 > elapsed)
			elapsed = th[i].end_s - t0;
	}
	if (!(elapsed > 0))
		elapsed = 1e-9;
	if (tty && !o.json)
		fprintf(stderr, "\r%60s\r", "");

	for (i = 0; i < started; i++)
		n += th[i].jobs;
	lat = malloc((size_t)(n ? n : 1) * sizeof(*lat));
	if (!lat) {
		fprintf(stderr, "npustress: out of memory\n");
		goto out_threads;
	}
	n = 0;
	for (i = 0; i < started; i++) {
		memcpy(lat + n, th[i].lat_us, (size_t)th[i].jobs * sizeof(*lat));
		n += th[i].jobs;
		jobs += th[i].jobs;
		mism += th[i].mismatches;
		lost += th[i].lost;
		dbl += th[i].doubled;
		errs += th[i].errors;
		ops += th[i].ops;
		share[th[i].tenant_idx] += th[i].ops;
	}
	qsort(lat, (size_t)n, sizeof(*lat), cmp_double);
	if (n) {
		p50 = lat[(n - 1) / 2];
		p99 = lat[(long)((n - 1) * 0.99)];
		pmax = lat[n - 1];
	}
	/* Jain's index over each tenant's ops normalized by its weight. */
	for (i = 0; i < o.tenants; i++) {
		double x = share[i] / (i + 1);

		sum += x;
		sumsq += x * x;
	}
	jain = sumsq > 0 ? sum * sum / (o.tenants * sumsq) : 1.0;
	npu_engine_counters(e, &ctr);
	getrusage(RUSAGE_SELF, &ru);

	if (o.json) {
		printf("{\"schema\":\"npustress/1\",\"backend\":\"%s\",\"threads\":%d,\"tenants\":%d,"
		       "\"seconds\":%.3f,\"jobs\":%ld,\"mismatches\":%ld,\"lost\":%ld,\"doubled\":%ld,"
		       "\"errors\":%ld,\"fallbacks\":%llu,\"engine_errors\":%llu,\"timeouts\":%llu,"
		       "\"jobs_per_s\":%.1f,\"gops\":%.3f,\"p50_us\":%.1f,\"p99_us\":%.1f,\"max_us\":%.1f,"
		       "\"jain\":%.4f,\"peak_rss_kb\":%ld,\"tenant_share\":[",
		       npu_engine_backend_name(e), started, o.tenants, elapsed, jobs, mism, lost, dbl,
		       errs, (unsigned long long)ctr.fallbacks, (unsigned long long)ctr.errors,
		       (unsigned long long)ctr.timeouts, jobs / elapsed, ops / elapsed / 1e9,
		       p50, p99, pmax, jain, ru.ru_maxrss);
		for (i = 0; i < o.tenants; i++)
			printf("%s%.4f", i ? "," : "", ops > 0 ? share[i] / ops : 0.0);
		printf("]}\n");
	} else {
		printf("backend %s, %d threads, %d tenants, %.2f s\n",
		       npu_engine_backend_name(e), started, o.tenants, elapsed);
		printf("matmuls %ld (%.1f/s, %.3f GOPS)\n", jobs, jobs / elapsed, ops / elapsed / 1e9);
		printf("latency p50 %.1f us, p99 %.1f us, max %.1f us\n", p50, p99, pmax);
		printf("verify: mismatches %ld, lost %ld, doubled %ld; call errors %ld\n",
		       mism, lost, dbl, errs);
		printf("engine: fallbacks %llu, errors %llu, timeouts %llu\n",
		       (unsigned long long)ctr.fallbacks, (unsigned long long)ctr.errors,
		       (unsigned long long)ctr.timeouts);
		for (i = 0; i < o.tenants; i++)
			printf("tenant stress%d (weight %d): %.1f%% of ops\n", i, i + 1,
			       ops > 0 ? 100.0 * share[i] / ops : 0.0);
		printf("Jain's index (ops/weight): %.4f; peak RSS %ld KiB\n", jain, ru.ru_maxrss);
	}
	status = (mism || lost || dbl) ? 1 : 0;

out_threads:
	for (i = 0; i < started; i++)
		free(th[i].lat_us);
out_tenants:
	for (i = 0; tenants && i < o.tenants; i++)
		if (tenants[i])
			npu_tenant_close(tenants[i]);
	npu_engine_close(e);
	free(lat);
	free(share);
	free(tids);
	free(th);
	free(tenants);
	return status;
}
