/* SPDX-License-Identifier: MIT */
/*
 * tools/amanuensis-server/metrics.h - the figures behind GET /metrics: per
 * tenant requests by endpoint and status, audio seconds, requests in flight,
 * a latency histogram; rendered with the fair queue's and the engine's
 * figures in the Prometheus text exposition format (version 0.0.4).
 */
#ifndef AMN_SRV_METRICS_H
#define AMN_SRV_METRICS_H

#include <stddef.h>

struct npu_engine;
struct srv_fair;
struct srv_metrics;

/** srv_metrics_new - counters for @n_tenants named @names (copied). Return: 0 or -ENOMEM. */
int srv_metrics_new(struct srv_metrics **out, size_t n_tenants, const char *const *names);

/** srv_metrics_free - release; NULL is a no-op. */
void srv_metrics_free(struct srv_metrics *m);

/**
 * srv_metrics_request_done - one finished request of @tenant on @endpoint
 * ("transcriptions", "translations") with HTTP @status (499: the client
 * left), @audio_s seconds of audio (0 when none was decoded) and @wall_s
 * seconds from arrival to the answer. Thread-safe.
 */
void srv_metrics_request_done(struct srv_metrics *m, size_t tenant, const char *endpoint,
			      int status, double audio_s, double wall_s);

/** srv_metrics_inflight - @delta (+1 admitted, -1 done) requests of @tenant in flight. */
void srv_metrics_inflight(struct srv_metrics *m, size_t tenant, int delta);

/**
 * srv_metrics_render - the whole exposition: amanuensis_requests_total
 * {tenant,endpoint,status}, amanuensis_audio_seconds_total{tenant},
 * amanuensis_requests_in_flight{tenant}, amanuensis_queue_depth{tenant}
 * (windows waiting in @fair), amanuensis_scheduled_audio_seconds_total{tenant}
 * (audio granted by @fair), amanuensis_request_duration_seconds (histogram,
 * by tenant), and the engine's amanuensis_device_* counters from @engine
 * (busy seconds, tiles, runs, fallbacks, errors, timeouts) when it is not NULL.
 * @fair may be NULL (then the queue figures are 0).
 * Also: amanuensis_windows_running{tenant} and
 * amanuensis_queue_wait_seconds_total{tenant} from @fair, and
 * amanuensis_device_info{device,backend} 1 when @engine is not NULL.
 * Device families carry a device label ("npu0": an engine drives one
 * device); they are always present, with zeros when @engine is NULL, and
 * busy seconds come from the engine's stats page (0 when there is none).
 * Every family has # HELP and # TYPE, even without samples; label values
 * are escaped (\\, \", \n). At most 7 distinct endpoint names are kept;
 * more, and names of 32 bytes or longer, are counted as "other".
 * Return: a malloc'd NUL-terminated text (its length in *@len), or NULL.
 */
char *srv_metrics_render(struct srv_metrics *m, struct srv_fair *fair,
			 struct npu_engine *engine, size_t *len);

#endif /* AMN_SRV_METRICS_H */
