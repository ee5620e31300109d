// SPDX-License-Identifier: MIT
/*
 * tests/queue/amq_client.c - a front door in miniature for the queue
 * tests: enqueue each FILE as a job through the C API (service/queue.h),
 * then wait for every answer in turn, streaming its segments, and write
 * each transcript as DIR/N.txt in the CLI's txt layout.
 *
 *   amq_client --redis URL [--stream S] [--timeout-s N] [--out DIR]
 *              [--tenant T] [--language L] FILE...
 *
 * One line per job on stdout: "N ID done ATTEMPT SEGMENTS STREAMED FILE",
 * or "N ID error STATUS MESSAGE"/"N ID failed MESSAGE". Exit 0 when every
 * job was answered done, 1 otherwise, 2 for bad usage.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service/queue.h"
#include "whisper/output.h"

struct stream_count {
	int next;        /* the index the next segment must have */
	int out_of_order;
};

static void on_segment(void *arg, const struct wsp_segment *seg, int index)
{
	struct stream_count *sc = arg;

	if (index != sc->next)
		sc->out_of_order = 1;
	sc->next = index + 1;
}

static int read_file(const char *path, char **data, size_t *len)
{
	FILE *f = fopen(path, "rb");
	long size;

	if (!f)
		return -errno;
	if (fseek(f, 0, SEEK_END) || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) {
		fclose(f);
		return -EIO;
	}
	*data = malloc((size_t)size + 1);
	if (!*data || fread(*data, 1, (size_t)size, f) != (size_t)size) {
		free(*data);
		fclose(f);
		return -EIO;
	}
	*len = (size_t)size;
	fclose(f);
	return 0;
}

static int write_txt(const char *dir, int n, const struct wsp_result *res)
{
	char path[4096];
	FILE *f;
	int rc;

	snprintf(path, sizeof(path), "%s/%d.txt", dir, n);
	f = fopen(path, "w");
	if (!f)
		return -errno;
	rc = wsp_write_txt(f, res);
	if (fclose(f))
		rc = -EIO;
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "redis", required_argument, NULL, 'r' },
		{ "stream", required_argument, NULL, 's' },
		{ "timeout-s", required_argument, NULL, 'T' },
		{ "out", required_argument, NULL, 'o' },
		{ "tenant", required_argument, NULL, 'n' },
		{ "language", required_argument, NULL, 'l' },
		{ NULL, 0, NULL, 0 },
	};
	const char *url = NULL, *stream = NULL, *out = ".", *tenant = NULL, *language = NULL;
	struct amq_conn_opts co = { .log_name = "amq_client" };
	struct amq_conn *c;
	char err[512], (*ids)[AMQ_ID_MAX + 1];
	int timeout_s = 120, n_files, failures = 0, opt;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'r': url = optarg; break;
		case 's': stream = optarg; break;
		case 'T': timeout_s = atoi(optarg); break;
		case 'o': out = optarg; break;
		case 'n': tenant = optarg; break;
		case 'l': language = optarg; break;
		default: return 2;
		}
	}
	n_files = argc - optind;
	if (!url || n_files < 1 || timeout_s < 1) {
		fprintf(stderr, "usage: amq_client --redis URL [--stream S] [--timeout-s N] [--out DIR] FILE...\n");
		return 2;
	}
	co.give_up_ms = timeout_s * 1000;
	if (amq_conn_open(&c, url, &co, err, sizeof(err))) {
		fprintf(stderr, "amq_client: %s\n", err);
		return 1;
	}
	ids = calloc((size_t)n_files, sizeof(*ids));
	if (!ids)
		return 1;
	int64_t deadline = amq_now_ms() + (int64_t)timeout_s * 1000;

	for (int i = 0; i < n_files; i++) {
		struct amq_job j;
		char *audio = NULL;
		size_t len = 0;
		int rc;

		amq_job_init(&j);
		rc = read_file(argv[optind + i], &audio, &len);
		if (!rc)
			rc = amq_job_new_id(j.id);
		if (rc) {
			fprintf(stderr, "amq_client: %s: %s\n", argv[optind + i], strerror(-rc));
			return 1;
		}
		j.tenant = tenant;
		j.deadline_ms = deadline;
		j.enqueued_ms = amq_now_ms();
		j.filename = argv[optind + i];
		if (language)
			snprintf(j.language, sizeof(j.language), "%s", language);
		j.audio = audio;
		j.audio_len = len;
		rc = amq_enqueue(c, stream, 0, &j, err, sizeof(err));
		free(audio);
		if (rc) {
			fprintf(stderr, "amq_client: enqueue %s: %s\n", argv[optind + i], err);
			return 1;
		}
		memcpy(ids[i], j.id, sizeof(j.id));
	}
	for (int i = 0; i < n_files; i++) {
		struct stream_count sc = { 0 };
		struct amq_wait_hooks h = { .on_segment = on_segment, .arg = &sc };
		struct wsp_result res;
		struct amq_answer ans;
		int rc = amq_wait_result(c, ids[i], deadline, &h, &res, &ans, err, sizeof(err));

		if (rc) {
			printf("%d %s failed %s\n", i, ids[i], err);
			failures++;
			continue;
		}
		if (ans.status) {
			printf("%d %s error %d %s\n", i, ids[i], ans.status, ans.message);
			failures++;
		} else if (sc.out_of_order || sc.next != res.n_segments || write_txt(out, i, &res)) {
			printf("%d %s failed streamed %d of %d segments%s\n", i, ids[i], sc.next,
			       res.n_segments, sc.out_of_order ? " out of order" : "");
			failures++;
		} else {
			printf("%d %s done %d %d %d %s\n", i, ids[i], ans.attempt, res.n_segments, sc.next,
			       argv[optind + i]);
		}
		fflush(stdout);
		wsp_result_free(&res);
	}
	fprintf(stderr, "amq_client: %d jobs, %d failed, %u reconnects\n", n_files, failures,
		amq_conn_reconnects(c));
	free(ids);
	amq_conn_close(c);
	return failures ? 1 : 0;
}
