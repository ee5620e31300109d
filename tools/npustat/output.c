/*
 * output.c - npustat's renderings of a sample: the table, JSON and CSV
 * (schema npustat/1), and dmon lines. Rates come from two samples.
 */
#include <stdio.h>
#include <string.h>

#include "tools/npustat/npustat.h"

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

/* "npu":{...} for the NPU found, or "npu":null and "npu_why" saying why none. */
static void print_npu_json(const struct npustat_sample *cur)
{
	const struct npu_probe_info *n = &cur->npu;

	if (cur->npu_rc) {
		printf("\"npu\":null,\"npu_why\":");
		json_str(n->why, sizeof(n->why));
		return;
	}
	printf("\"npu\":{\"bdf\":");
	json_str(n->bdf, sizeof(n->bdf));
	printf(",\"family\":");
	json_str(n->family, 16);
	printf(",\"family_name\":");
	json_str(npu_probe_family_name(n->family), 32);
	printf(",\"pci_id\":\"%04x:%04x\",\"dev\":", n->vendor, n->device);
	json_str(n->dev_path, sizeof(n->dev_path));
	printf(",\"numa_node\":%d}", n->numa_node);
}

void npustat_print(enum npustat_fmt fmt, const struct npustat_sample *prev,
		   const struct npustat_sample *cur)
{
	double dt = prev ? cur->t - prev->t : 0;
	int i, d, k, first = 1;

	if (fmt == NPUSTAT_FMT_JSON) {
		printf("{\"schema\":\"%s\",\"interval_s\":%.3f,", NPUSTAT_SCHEMA, dt);
		print_npu_json(cur);
		printf(",\"processes\":[");
	} else if (fmt == NPUSTAT_FMT_CSV) {
		printf("# %s\nrow,pid,comm,name,backend,busy_pct,tiles_s,gops,in_flight,batch,"
		       "matmuls,jobs,queue,p50_us,p99_us,fallbacks,errors\n", NPUSTAT_SCHEMA);
		if (!cur->npu_rc) {   /* the NPU: name = its PCI address, backend = its family */
			printf("npu,,,");
			csv_str(cur->npu.bdf, sizeof(cur->npu.bdf));
			putchar(',');
			csv_str(cur->npu.family, 16);
			printf(",,,,,,,,,,,,\n");
		}
	} else {
		if (!cur->npu_rc)
			printf("NPU: %s at %s (%s, NUMA node %d)\n",
			       npu_probe_family_name(cur->npu.family), cur->npu.bdf,
			       cur->npu.dev_path, cur->npu.numa_node);
		else
			printf("NPU: none: %s\n", cur->npu.why);
		printf("%-7s %-12s %-26s %6s %10s %8s %6s %6s\n", "PID", "DEVICE", "BACKEND",
		       "BUSY%", "TILES/S", "GOPS", "INFLT", "BATCH");
	}

	for (i = 0; i < cur->n; i++) {
		const struct npu_stats_page *p = &cur->pages[i];
		const struct npu_stats_page *q = prev ? npustat_find(prev, p->pid) : NULL;

		if (fmt == NPUSTAT_FMT_JSON) {
			printf("%s{\"pid\":%d,\"comm\":", i ? "," : "", p->pid);
			json_str(p->comm, sizeof(p->comm));
			printf(",\"devices\":[");
		}
		for (d = 0; d < (int)p->n_devices; d++) {
			const struct npu_stats_device *v = &p->devices[d];
			struct dev_rates r = dev_rates(q ? &q->devices[d] : NULL, v, dt);

			if (fmt == NPUSTAT_FMT_JSON) {
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
			} else if (fmt == NPUSTAT_FMT_CSV) {
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
		if (fmt == NPUSTAT_FMT_JSON)
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
			if (fmt == NPUSTAT_FMT_JSON) {
				printf("%s{\"pid\":%d,\"name\":", first ? "" : ",", p->pid);
				json_str(t->name, sizeof(t->name));
				printf(",\"weight\":%u,\"matmuls\":%llu,\"jobs\":%llu,\"tiles_s\":%.1f,"
				       "\"queue\":%llu,\"p50_us\":%.1f,\"p99_us\":%.1f,\"fallbacks\":%llu,"
				       "\"errors\":%llu}", t->weight, (unsigned long long)t->matmuls,
				       (unsigned long long)t->jobs, ts,
				       (unsigned long long)t->queue_depth, p50, p99,
				       (unsigned long long)t->fallbacks, (unsigned long long)t->errors);
			} else if (fmt == NPUSTAT_FMT_CSV) {
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
		if (fmt == NPUSTAT_FMT_JSON)
			printf("]}");
	}
	if (fmt == NPUSTAT_FMT_JSON)
		printf("]}\n");
	else if (fmt == NPUSTAT_FMT_TEXT && cur->n == 0)
		printf("no process is using amanuensis\n");
}

void npustat_print_dmon(const struct npustat_sample *prev, const struct npustat_sample *cur,
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

