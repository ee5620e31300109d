/*
 * main.c - npustat: show every process using the engine, its devices and
 * tenants, from their stats pages (see sched/npu_stats.h).
 *
 * Rates (busy %, tiles/s, GOPS, batch size) are differences between two
 * samples taken an interval apart; counts (jobs, matmuls, errors) are totals.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tools/npustat/npustat.h"

enum mode { MODE_TABLE, MODE_DMON };
enum fmt { FMT_TEXT, FMT_JSON, FMT_CSV };

struct opts {
	enum mode mode;
	enum fmt fmt;
	double loop_s;      /* 0: one sample and exit */
	double interval_s;  /* between the two samples of a one-shot */
	pid_t pid;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: npustat [options] [dmon]\n"
		"Show the devices and tenants of every process using amanuensis,\n"
		"read from their stats pages in /dev/shm (no daemon, no root).\n"
		"  (default)         one table and exit\n"
		"  dmon              one line per device per interval (needs -l, default 1 s)\n"
		"  -l, --loop SEC    refresh every SEC seconds; redraws on a terminal,\n"
		"                    appends when piped\n"
		"  -i, --interval S  sampling interval for rates in one-shot mode (default 0.5)\n"
		"  -p, --pid PID     only this process\n"
		"  -j, --json        JSON output (schema \"" NPUSTAT_SCHEMA "\")\n"
		"  -c, --csv         CSV output (schema \"" NPUSTAT_SCHEMA "\")\n"
		"  -h, --help        this text\n"
		"Pages of dead processes are removed; unreadable pages are reported and skipped.\n");
}

static int parse_pos(const char *s, double *out, const char *what)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || *end || !(v > 0) || v > 86400) {
		fprintf(stderr, "npustat: %s must be a number of seconds in (0, 86400], got '%s'\n",
			what, s);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "loop", 1, NULL, 'l' }, { "interval", 1, NULL, 'i' }, { "pid", 1, NULL, 'p' },
		{ "json", 0, NULL, 'j' }, { "csv", 0, NULL, 'c' }, { "help", 0, NULL, 'h' }, { 0 }
	};
	char *end;
	long v;
	int c;

	while ((c = getopt_long(argc, argv, "l:i:p:jch", lo, NULL)) != -1) {
		switch (c) {
		case 'l':
			if (parse_pos(optarg, &o->loop_s, "--loop"))
				return -EINVAL;
			break;
		case 'i':
			if (parse_pos(optarg, &o->interval_s, "--interval"))
				return -EINVAL;
			break;
		case 'p':
			v = strtol(optarg, &end, 10);
			if (end == optarg || *end || v <= 0 || v > 0x7fffffff) {
				fprintf(stderr, "npustat: --pid must be a positive process id, got '%s'\n",
					optarg);
				return -EINVAL;
			}
			o->pid = (pid_t)v;
			break;
		case 'j': o->fmt = FMT_JSON; break;
		case 'c': o->fmt = FMT_CSV; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -EINVAL;
		}
	}
	for (; optind < argc; optind++) {
		if (strcmp(argv[optind], "dmon")) {
			fprintf(stderr, "npustat: unknown mode '%s' (only 'dmon')\n", argv[optind]);
			return -EINVAL;
		}
		o->mode = MODE_DMON;
		if (!o->loop_s)
			o->loop_s = 1;
	}
	return 0;
}

static void nap(double s)
{
	struct timespec ts = { (time_t)s, (long)((s - (time_t)s) * 1e9) };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* Rates of one device between @old (may be NULL) and @cur over @dt seconds. */
struct dev_rates {
	double busy_pct, tiles_s, gops, batch;
};

static struct dev_rates dev_rates(const struct npu_stats_device *old,
				  const struct npu_stats_device *cur, double dt)
{
	struct dev_rates r = { 0 };
	uint64_t runs = cur->runs - (old ? old->runs : 0);
	uint64_t jobs = cur->jobs - (old ? old->jobs : 0);

	if (old && dt > 0) {
		r.busy_pct = 100.0 * (double)(cur->busy_ns - old->busy_ns) / (dt * 1e9);
		if (r.busy_pct > 100)
			r.busy_pct = 100;
		r.tiles_s = (double)(cur->tiles - old->tiles) / dt;
		r.gops = (double)(cur->ops - old->ops) / dt / 1e9;
	}
	r.batch = runs ? (double)jobs / (double)runs : 0;
	return r;
}

static double tenant_tiles_s(const struct npu_stats_tenant *old,
			     const struct npu_stats_tenant *cur, double dt)
{
	if (!old || dt <= 0 || cur->tiles < old->tiles)
		return 0;
	return (double)(cur->tiles - old->tiles) / dt;
}

/* Print @s as a JSON string (names come from other processes: escape them). */
static void json_str(const char *s, size_t max)
{
	size_t i;

	putchar('"');
	for (i = 0; i < max && s[i]; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '"' || ch == '\\')
			printf("\\%c", ch);
		else if (ch < 0x20)
			printf("\\u%04x", ch);
		else
			putchar(ch);
	}
	putchar('"');
}

/* CSV fields: names are quoted, inner quotes doubled. */
static void csv_str(const char *s, size_t max)
{
	size_t i;

	putchar('"');
	for (i = 0; i < max && s[i]; i++) {
		if (s[i] == '"')
			putchar('"');
		putchar(s[i] >= 0x20 ? s[i] : '?');
	}
	putchar('"');
}

static void print_sample(const struct opts *o, const struct npustat_sample *prev,
			 const struct npustat_sample *cur)
{
	double dt = prev ? cur->t - prev->t : 0;
	int i, d, k, first = 1;

	if (o->fmt == FMT_JSON)
		printf("{\"schema\":\"%s\",\"interval_s\":%.3f,\"processes\":[", NPUSTAT_SCHEMA, dt);
	else if (o->fmt == FMT_CSV)
		printf("# %s\nrow,pid,comm,name,backend,busy_pct,tiles_s,gops,in_flight,batch,"
		       "matmuls,jobs,queue,p50_us,p99_us,fallbacks,errors\n", NPUSTAT_SCHEMA);
	else
		printf("%-7s %-12s %-26s %6s %10s %8s %6s %6s\n", "PID", "DEVICE", "BACKEND",
		       "BUSY%", "TILES/S", "GOPS", "INFLT", "BATCH");

	for (i = 0; i < cur->n; i++) {
		const struct npu_stats_page *p = &cur->pages[i];
		const struct npu_stats_page *q = prev ? npustat_find(prev, p->pid) : NULL;

		if (o->fmt == FMT_JSON) {
			printf("%s{\"pid\":%d,\"comm\":", i ? "," : "", p->pid);
			json_str(p->comm, sizeof(p->comm));
			printf(",\"devices\":[");
		}
		for (d = 0; d < (int)p->n_devices; d++) {
			const struct npu_stats_device *v = &p->devices[d];
			struct dev_rates r = dev_rates(q ? &q->devices[d] : NULL, v, dt);

			if (o->fmt == FMT_JSON) {
				printf("%s{\"name\":", d ? "," : "");
				json_str(v->name, sizeof(v->name));
				printf(",\"backend\":");
				json_str(v->backend, sizeof(v->backend));
				printf(",\"busy_pct\":%.1f,\"tiles_s\":%.1f,\"gops\":%.3f,\"in_flight\":%llu,"
				       "\"batch\":%.2f,\"jobs\":%llu,\"runs\":%llu,\"fallbacks\":%llu,"
				       "\"errors\":%llu,\"timeouts\":%llu}",
				       r.busy_pct, r.tiles_s, r.gops, (unsigned long long)v->in_flight,
				       r.batch, (unsigned long long)v->jobs, (unsigned long long)v->runs,
				       (unsigned long long)v->fallbacks, (unsigned long long)v->errors,
				       (unsigned long long)v->timeouts);
			} else if (o->fmt == FMT_CSV) {
				printf("device,%d,", p->pid);
				csv_str(p->comm, sizeof(p->comm));
				putchar(',');
				csv_str(v->name, sizeof(v->name));
				putchar(',');
				csv_str(v->backend, sizeof(v->backend));
				printf(",%.1f,%.1f,%.3f,%llu,%.2f,,%llu,%llu,,,%llu,%llu\n", r.busy_pct,
				       r.tiles_s, r.gops, (unsigned long long)v->in_flight, r.batch,
				       (unsigned long long)v->jobs, (unsigned long long)v->queue_depth,
				       (unsigned long long)v->fallbacks, (unsigned long long)v->errors);
			} else {
				printf("%-7d %-12.12s %-26.26s %6.1f %10.0f %8.3f %6llu %6.1f\n", p->pid,
				       v->name, v->backend, r.busy_pct, r.tiles_s, r.gops,
				       (unsigned long long)v->in_flight, r.batch);
			}
		}
		if (o->fmt == FMT_JSON)
			printf("],\"tenants\":[");
		first = 1;
		for (k = 0; k < (int)p->n_tenants; k++) {
			const struct npu_stats_tenant *t = &p->tenants[k];
			const struct npu_stats_tenant *u = q ? &q->tenants[k] : NULL;
			double p50 = npu_stats_hist_percentile(t->lat_hist, NPU_STATS_HIST_BUCKETS, 50);
			double p99 = npu_stats_hist_percentile(t->lat_hist, NPU_STATS_HIST_BUCKETS, 99);
			double ts;

			if (!t->active)
				continue;
			if (u && strncmp(u->name, t->name, sizeof(t->name)))
				u = NULL;  /* slot reused by another tenant */
			ts = tenant_tiles_s(u, t, dt);
			if (o->fmt == FMT_JSON) {
				printf("%s{\"pid\":%d,\"name\":", first ? "" : ",", p->pid);
				json_str(t->name, sizeof(t->name));
				printf(",\"weight\":%u,\"matmuls\":%llu,\"jobs\":%llu,\"tiles_s\":%.1f,"
				       "\"queue\":%llu,\"p50_us\":%.1f,\"p99_us\":%.1f,\"fallbacks\":%llu,"
				       "\"errors\":%llu}", t->weight, (unsigned long long)t->matmuls,
				       (unsigned long long)t->jobs, ts,
				       (unsigned long long)t->queue_depth, p50, p99,
				       (unsigned long long)t->fallbacks, (unsigned long long)t->errors);
			} else if (o->fmt == FMT_CSV) {
				printf("tenant,%d,", p->pid);
				csv_str(p->comm, sizeof(p->comm));
				putchar(',');
				csv_str(t->name, sizeof(t->name));
				printf(",,,%.1f,,,,%llu,%llu,%llu,%.1f,%.1f,%llu,%llu\n", ts,
				       (unsigned long long)t->matmuls, (unsigned long long)t->jobs,
				       (unsigned long long)t->queue_depth, p50, p99,
				       (unsigned long long)t->fallbacks, (unsigned long long)t->errors);
			} else {
				if (first)
					printf("  %-7s %-20s %10s %10s %8s %6s %9s %9s %6s %6s\n", "PID",
					       "TENANT", "MATMULS", "JOBS", "TILES/S", "QUEUE", "P50us",
					       "P99us", "FALLBK", "ERRORS");
				printf("  %-7d %-20.20s %10llu %10llu %8.0f %6llu %9.0f %9.0f %6llu %6llu\n",
				       p->pid, t->name, (unsigned long long)t->matmuls,
				       (unsigned long long)t->jobs, ts, (unsigned long long)t->queue_depth,
				       p50, p99, (unsigned long long)t->fallbacks,
				       (unsigned long long)t->errors);
			}
			first = 0;
		}
		if (o->fmt == FMT_JSON)
			printf("]}");
	}
	if (o->fmt == FMT_JSON)
		printf("]}\n");
	else if (o->fmt == FMT_TEXT && cur->n == 0)
		printf("no process is using amanuensis\n");
}

static void print_dmon(const struct npustat_sample *prev, const struct npustat_sample *cur,
		       int header)
{
	double dt = cur->t - prev->t;
	int i, d;

	if (header)
		printf("# %7s %-8s %6s %10s %8s %6s %6s %8s\n", "pid", "dev", "busy%", "tiles/s",
		       "gops", "inflt", "batch", "errors");
	for (i = 0; i < cur->n; i++) {
		const struct npu_stats_page *p = &cur->pages[i];
		const struct npu_stats_page *q = npustat_find(prev, p->pid);

		for (d = 0; d < (int)p->n_devices; d++) {
			struct dev_rates r = dev_rates(q ? &q->devices[d] : NULL, &p->devices[d], dt);

			printf("  %7d %-8.8s %6.1f %10.0f %8.3f %6llu %6.1f %8llu\n", p->pid,
			       p->devices[d].name, r.busy_pct, r.tiles_s, r.gops,
			       (unsigned long long)p->devices[d].in_flight, r.batch,
			       (unsigned long long)p->devices[d].errors);
		}
	}
	fflush(stdout);
}

int main(int argc, char **argv)
{
	struct opts o = { .interval_s = 0.5 };
	struct npustat_sample *a, *b, *tmp;
	int rc, tty = isatty(STDOUT_FILENO), n = 0;

	if (parse_args(argc, argv, &o))
		return 2;
	a = malloc(sizeof(*a));
	b = malloc(sizeof(*b));
	if (!a || !b) {
		fprintf(stderr, "npustat: out of memory\n");
		rc = 2;
		goto out;
	}
	rc = npustat_collect(a, o.pid);
	if (rc)
		goto err_collect;
	nap(o.loop_s ? o.loop_s : o.interval_s);
	for (;;) {
		rc = npustat_collect(b, o.pid);
		if (rc)
			goto err_collect;
		if (o.mode == MODE_DMON) {
			print_dmon(a, b, n % 20 == 0);
		} else {
			if (o.loop_s && tty && o.fmt == FMT_TEXT)
				printf("\033[H\033[2J");
			print_sample(&o, a, b);
			fflush(stdout);
		}
		if (!o.loop_s)
			break;
		n++;
		tmp = a;
		a = b;
		b = tmp;
		nap(o.loop_s);
	}
	rc = 0;
	goto out;

err_collect:
	fprintf(stderr, "npustat: cannot list /dev/shm: %s\n", strerror(-rc));
	rc = 1;
out:
	free(a);
	free(b);
	return rc;
}
