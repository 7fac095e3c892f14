// SPDX-License-Identifier: BSD-2-Clause
/* 'rekeygap trace': every SA event and XFRM drop, one line each, as it happens. */
#include "trace.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "netns.h"
#include "trace_output.h"
#include "tracer.h"
#include "xfrm_watch.h"

#define MAX_NETNS 64
#define DROP_SCAN_MS 250
#define NETNS_RESCAN_MS 1000

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
	const char *netns_names[MAX_NETNS];
	int n_netns;
	bool sa_from_netlink; /* no BPF SA probes in this mode */
	const struct tracer *tracer;
	__u64 netlink_larval;
	struct xfrm_watch watch;
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

static void print_sa(struct trace_state *s, const struct sa_event *e, enum event_source source)
{
	struct sa_event with_dir;

	if (!netns_wanted(s, e->netns))
		return;
	/* kernels before 6.10 have no SA direction: the namespace's own addresses tell */
	if (e->dir == SA_DIR_UNKNOWN) {
		with_dir = *e;
		with_dir.dir = xfrm_watch_sa_dir(&s->watch, e);
		e = &with_dir;
	}
	trace_print_sa(&s->out, e, source);
}

/* SA events from BPF */
static int on_sa(void *ctx, const struct sa_event *e)
{
	print_sa(ctx, e, SOURCE_BPF);
	return 0;
}

/* Policy changes from BPF */
static int on_policy(void *ctx, const struct policy_event *e)
{
	struct trace_state *s = ctx;

	if (netns_wanted(s, e->netns))
		trace_print_policy(&s->out, e, SOURCE_BPF);
	return 0;
}

/* Is a policy change from netlink one that BPF does not see here? */
static bool policy_from_netlink(const struct trace_state *s, __u8 kind)
{
	switch (kind) {
	case POLICY_EVENT_ADD:
	case POLICY_EVENT_UPDATE:
		return !s->tracer->policy_insert;
	case POLICY_EVENT_DELETE:
		return !s->tracer->policy_delete;
	default:
		return true; /* expiries: netlink only */
	}
}

/* Notifications from netlink: what BPF cannot see in this probe mode, and flushes. */
static void on_netlink(void *ctx, const struct xfrm_msg *m)
{
	struct trace_state *s = ctx;

	switch (m->kind) {
	case XFRM_MSG_KIND_SA:
		if (s->sa_from_netlink)
			print_sa(s, &m->sa, SOURCE_NETLINK);
		break;
	case XFRM_MSG_KIND_ACQUIRE:
		if (s->sa_from_netlink)
			s->netlink_larval++;
		break;
	case XFRM_MSG_KIND_POLICY:
		if (netns_wanted(s, m->pol.netns) && policy_from_netlink(s, m->pol.kind))
			trace_print_policy(&s->out, &m->pol, SOURCE_NETLINK);
		break;
	case XFRM_MSG_KIND_SA_FLUSH:
	case XFRM_MSG_KIND_POLICY_FLUSH:
		if (netns_wanted(s, m->sa.netns))
			trace_print_flush(&s->out, m);
		break;
	}
}

/* Following every namespace, more than we can watch: said once, on stderr. */
static void warn_over_cap(const struct xfrm_watch *w)
{
	static bool warned;

	if (w->over_cap && !warned) {
		cli_error("trace: more than %d namespaces: %d not watched (choose with --netns)",
			  XFRM_WATCH_NETNS_MAX, w->over_cap);
		warned = true;
	}
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
	int fd, ret = netns_open(name, &fd, inum);

	if (!ret)
		close(fd);
	return ret;
}

static const char trace_usage[] =
	"Usage: rekeygap trace [--json] [--duration SEC] [--netns NAME]... [--probe MODE]\n"
	"\n"
	"Print every XFRM SA insert, update, delete and expiry, every policy change, and every\n"
	"IPsec packet drop with its SPI and cause, as it happens. SA events come from BPF\n"
	"probes (kernel timestamps), policies from XFRM netlink. Drops are counted in the\n"
	"kernel: a line says how many arrived since the previous line for the same SA, cause\n"
	"and place.\n"
	"\n"
	"  -j, --json            one JSON object per line (ts_ns is CLOCK_MONOTONIC)\n"
	"  -d, --duration SEC    stop after SEC seconds (also 500ms, 2m); default: until Ctrl-C\n"
	"  -n, --netns NAME      only this namespace (ip netns name or a path); repeatable;\n"
	"                        default: every namespace (netlink: ours and those in\n"
	"                        /run/netns when we start)\n"
	"  -p, --probe MODE      fentry, kprobe or tracepoint; default: the best that works\n"
	"  -h, --help            this text\n"
	"\n"
	"The first line states the probe mode and what it cannot see; the last one what was\n"
	"lost, if anything. Events: sa_add sa_update sa_delete sa_expire sa_flush policy_add\n"
	"policy_update policy_delete policy_expire policy_flush drop. Drop causes:\n"
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
	__u64 duration_ns = 0, deadline = 0, next_scan = 0, next_rescan = 0;
	struct trace_counters counters = {};
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
			s.netns_names[s.n_netns++] = optarg;
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

	ret = tracer_open(&t, forced, mode,
			  &(struct tracer_handlers){ .sa = on_sa, .policy = on_policy, .ctx = &s }, err,
			  sizeof(err));
	if (ret) {
		cli_error("trace: %s", err);
		return 1;
	}
	s.tracer = &t;
	s.sa_from_netlink = t.mode == PROBE_TRACEPOINT;
	xfrm_watch_init(&s.watch, on_netlink, &s);
	if (s.n_netns) {
		for (int i = 0; i < s.n_netns && !ret; i++)
			ret = xfrm_watch_add(&s.watch, s.netns_names[i], err, sizeof(err));
	} else {
		ret = xfrm_watch_add_all(&s.watch, err, sizeof(err));
	}
	if (!ret) {
		ret = xfrm_watch_follow(&s.watch, !s.n_netns);
		if (ret < 0)
			snprintf(err, sizeof(err), "cannot follow %s: %s", NETNS_RUN_DIR,
				 strerror(-ret));
		else
			ret = 0;
	}
	if (ret) {
		cli_error("trace: %s", err);
		xfrm_watch_close(&s.watch);
		tracer_close(&t);
		return 1;
	}
	warn_over_cap(&s.watch);
	s.out.ksyms = &t.ksyms;
	s.out.reasons = &t.reasons;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	trace_print_start(&s.out, probe_mode_name(t.mode), t.blind, s.watch.n);

	if (duration_ns)
		deadline = monotonic_ns() + duration_ns;
	ret = 0;
	while (!stop && !ret) {
		struct pollfd fds[2 + XFRM_WATCH_NETNS_MAX];
		int n_watched = s.watch.n; /* a rescan below may change it */
		__u64 now = monotonic_ns();

		if (deadline && now >= deadline)
			break;
		fds[0] = (struct pollfd){ .fd = tracer_fd(&t), .events = POLLIN };
		fds[1] = (struct pollfd){ .fd = s.watch.inotify_fd, .events = POLLIN };
		for (int i = 0; i < n_watched; i++)
			fds[2 + i] = (struct pollfd){ .fd = xfrm_watch_fd(&s.watch, i), .events = POLLIN };
		if (poll(fds, 2 + n_watched, 100) < 0 && errno != EINTR) {
			ret = -errno;
			cli_error("trace: poll: %s", strerror(errno));
			break;
		}
		if (fds[0].revents) {
			ret = tracer_poll(&t, 0);
			if (ret == -EINTR || ret > 0)
				ret = 0;
			if (ret)
				cli_error("trace: ring buffer: %s", strerror(-ret));
		}
		for (int i = 0; i < n_watched && !ret; i++) {
			if (fds[2 + i].revents)
				ret = xfrm_watch_read(&s.watch, i);
			if (ret)
				cli_error("trace: netlink: %s", strerror(-ret));
		}
		if (fds[1].revents || now >= next_rescan) {
			xfrm_watch_rescan(&s.watch);
			warn_over_cap(&s.watch);
			next_rescan = now + NETNS_RESCAN_MS * NSEC_PER_MSEC;
		}
		if (now >= next_scan) {
			tracer_drops_foreach(&t, on_drop, &s);
			next_scan = now + DROP_SCAN_MS * NSEC_PER_MSEC;
		}
	}
	/* what arrived before we stopped is still reported */
	tracer_poll(&t, 0);
	for (int i = 0; i < s.watch.n; i++)
		xfrm_watch_read(&s.watch, i);
	tracer_drops_foreach(&t, on_drop, &s);
	tracer_counters(&t, &counters.events_lost, &counters.drops_overflow, &counters.larval);
	counters.larval += s.netlink_larval;
	counters.netlink_overruns = s.watch.overruns;
	counters.netlink_bad = s.watch.bad_msgs;
	trace_print_end(&s.out, &counters);
	xfrm_watch_close(&s.watch);
	tracer_close(&t);
	free(s.seen);
	return ret ? 1 : 0;
}
