// SPDX-License-Identifier: BSD-2-Clause
/* 'rekeygap trace': every SA event and XFRM drop, one line each, as it happens. */
#include "trace.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "trace_output.h"
#include "tracer.h"

#define MAX_NETNS 64
#define DROP_SCAN_MS 250

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

struct drop_seen {
	struct drop_key key;
	__u64 total;
};

struct trace_state {
	struct trace_output out;
	__u32 netns[MAX_NETNS];
	int n_netns;
	struct drop_seen *seen; /* sorted by key */
	size_t n_seen, cap_seen;
};

static bool netns_wanted(const struct trace_state *s, __u32 inum)
{
	if (!s->n_netns)
		return true;
	for (int i = 0; i < s->n_netns; i++)
		if (s->netns[i] == inum)
			return true;
	return false;
}

static int on_sa(void *ctx, const struct sa_event *e)
{
	struct trace_state *s = ctx;

	if (netns_wanted(s, e->netns))
		trace_print_sa(&s->out, e);
	return 0;
}

static int cmp_seen(const void *a, const void *b)
{
	return memcmp(&((const struct drop_seen *)a)->key, &((const struct drop_seen *)b)->key,
		      sizeof(struct drop_key));
}

/* Print the drops a key gained since its last line; remember the new total. */
static void on_drop(void *ctx, const struct drop_key *k, const struct drop_value *v)
{
	struct trace_state *s = ctx;
	struct drop_seen probe = { .key = *k }, *seen;

	if (!netns_wanted(s, k->netns))
		return;
	seen = bsearch(&probe, s->seen, s->n_seen, sizeof(*seen), cmp_seen);
	if (seen) {
		if (v->count > seen->total) {
			trace_print_drop(&s->out, k, v, v->count - seen->total);
			seen->total = v->count;
		}
		return;
	}
	if (s->n_seen == s->cap_seen) {
		size_t cap = s->cap_seen ? 2 * s->cap_seen : 64;
		struct drop_seen *n = realloc(s->seen, cap * sizeof(*n));

		if (!n)
			return; /* printed again next scan, in full */
		s->seen = n;
		s->cap_seen = cap;
	}
	trace_print_drop(&s->out, k, v, v->count);
	s->seen[s->n_seen].key = *k;
	s->seen[s->n_seen].total = v->count;
	s->n_seen++;
	qsort(s->seen, s->n_seen, sizeof(*s->seen), cmp_seen);
}

static int netns_inode(const char *name, __u32 *inum)
{
	char path[256];
	struct stat st;

	if (strchr(name, '/'))
		snprintf(path, sizeof(path), "%s", name);
	else
		snprintf(path, sizeof(path), "/run/netns/%s", name);
	if (stat(path, &st))
		return -errno;
	*inum = (__u32)st.st_ino;
	return 0;
}

static __u64 monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

static const char trace_usage[] =
	"Usage: rekeygap trace [--json] [--duration SEC] [--netns NAME]... [--probe MODE]\n"
	"\n"
	"Print every XFRM SA insert, update, delete and expiry, and every IPsec packet drop\n"
	"with its SPI and cause, as it happens. Drops are counted in the kernel: a line says\n"
	"how many arrived since the previous line for the same SA, cause and place.\n"
	"\n"
	"  -j, --json            one JSON object per line (ts_ns is CLOCK_MONOTONIC)\n"
	"  -d, --duration SEC    stop after SEC seconds (also 500ms, 2m); default: until Ctrl-C\n"
	"  -n, --netns NAME      only this namespace (ip netns name or a path); repeatable;\n"
	"                        default: every namespace\n"
	"  -p, --probe MODE      fentry, kprobe or tracepoint; default: the best that works\n"
	"  -h, --help            this text\n"
	"\n"
	"The first line states the probe mode and what it cannot see. Drop causes:\n"
	"  in_no_state in_icv_fail in_state_invalid in_acquire in_expired\n"
	"  out_no_state out_state_invalid policy_block other\n"
	"\n"
	"Examples:\n"
	"  rekeygap trace --netns gw1\n"
	"  rekeygap trace --json --duration 30 > rekey.jsonl\n";

int cmd_trace(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "duration", required_argument, NULL, 'd' },
		{ "netns", required_argument, NULL, 'n' },
		{ "probe", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct trace_state s = { .out = { .out = stdout } };
	enum probe_mode mode = PROBE_FENTRY;
	bool forced = false;
	__u64 duration_ns = 0, deadline = 0, next_scan = 0, lost, overflow, larval;
	struct tracer t;
	char err[256];
	int c, ret;

	while ((c = getopt_long(argc, argv, "jd:n:p:h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			s.out.json = true;
			break;
		case 'd':
			if (cli_parse_duration(optarg, NSEC_PER_SEC, &duration_ns) || !duration_ns) {
				cli_error("trace: bad --duration '%s' (seconds, or 500ms, 2m)", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'n':
			if (s.n_netns == MAX_NETNS) {
				cli_error("trace: at most %d --netns", MAX_NETNS);
				return EXIT_USAGE;
			}
			ret = netns_inode(optarg, &s.netns[s.n_netns]);
			if (ret) {
				cli_error("trace: no network namespace '%s': %s", optarg, strerror(-ret));
				return 1;
			}
			s.n_netns++;
			break;
		case 'p':
			if (probe_mode_parse(optarg, &mode)) {
				cli_error("trace: unknown --probe '%s' (fentry, kprobe or tracepoint)",
					  optarg);
				return EXIT_USAGE;
			}
			forced = true;
			break;
		case 'h':
			fputs(trace_usage, stdout);
			return 0;
		default:
			fputs(trace_usage, stderr);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		cli_error("trace: unexpected argument '%s'", argv[optind]);
		return EXIT_USAGE;
	}

	ret = tracer_open(&t, forced, mode, on_sa, &s, err, sizeof(err));
	if (ret) {
		cli_error("trace: %s", err);
		return 1;
	}
	s.out.ksyms = &t.ksyms;
	s.out.reasons = &t.reasons;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	trace_print_start(&s.out, probe_mode_name(t.mode), t.blind);

	if (duration_ns)
		deadline = monotonic_ns() + duration_ns;
	while (!stop) {
		__u64 now = monotonic_ns();

		if (deadline && now >= deadline)
			break;
		ret = tracer_poll(&t, 100);
		if (ret < 0 && ret != -EINTR) {
			cli_error("trace: ring buffer: %s", strerror(-ret));
			break;
		}
		if (now >= next_scan) {
			tracer_drops_foreach(&t, on_drop, &s);
			next_scan = now + DROP_SCAN_MS * NSEC_PER_MSEC;
		}
	}
	/* what arrived before we stopped is still reported */
	tracer_poll(&t, 0);
	tracer_drops_foreach(&t, on_drop, &s);
	tracer_counters(&t, &lost, &overflow, &larval);
	trace_print_end(&s.out, lost, overflow, larval);
	tracer_close(&t);
	free(s.seen);
	return ret < 0 && ret != -EINTR ? 1 : 0;
}
