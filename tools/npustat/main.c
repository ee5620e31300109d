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

struct opts {
	enum mode mode;
	enum npustat_fmt fmt;
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
		case 'j': o->fmt = NPUSTAT_FMT_JSON; break;
		case 'c': o->fmt = NPUSTAT_FMT_CSV; break;
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
			npustat_print_dmon(a, b, n % 20 == 0);
		} else {
			if (o.loop_s && tty && o.fmt == NPUSTAT_FMT_TEXT)
				printf("\033[H\033[2J");
			npustat_print(o.fmt, a, b);
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
