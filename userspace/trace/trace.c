// SPDX-License-Identifier: BSD-2-Clause
/*
 * 'rekeygap trace': every SA event and XFRM drop, one line each, as it happens: a sink of the
 * observer (observer.c) that prints through trace_output.c.
 */
#include "trace.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "episode.h"
#include "netns.h"
#include "observer.h"
#include "trace_output.h"
#include "xfrm_watch.h"

#define MAX_NETNS 64
#define DROP_SCAN_NS (250 * NSEC_PER_MSEC)

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* What the sink prints to, and the episodes it joins the events into. */
struct trace {
	struct trace_output out;
	struct episode_engine *eng;
	struct observer *obs;
};

/* ---- the observer's sink: each event a line, and into an episode ---- */

static void on_sa(void *ctx, const struct sa_event *e, enum event_source src)
{
	struct trace *tr = ctx;

	trace_print_sa(&tr->out, e, src);
	episode_feed_sa(tr->eng, e);
}

static void on_policy(void *ctx, const struct policy_event *e, enum event_source src)
{
	struct trace *tr = ctx;

	trace_print_policy(&tr->out, e, src);
	episode_feed_policy(tr->eng, e);
}

static void on_flush(void *ctx, const struct xfrm_msg *m)
{
	struct trace *tr = ctx;

	trace_print_flush(&tr->out, m);
	if (m->kind == XFRM_MSG_KIND_SA_FLUSH)
		episode_feed_flush(tr->eng, m->sa.netns, m->flush_proto, m->sa.ts_ns);
}

static void on_drops(void *ctx, const struct drop_delta *d)
{
	struct trace *tr = ctx;

	trace_print_drop(&tr->out, d->key, d->value, d->count);
	episode_feed_drops(tr->eng, d->key, d->count, d->first_ns, d->last_ns);
}

/* The SAs there at start: known, so that their replacement is an episode. */
static void on_dump_sa(void *ctx, const struct sa_event *e)
{
	episode_baseline(((struct trace *)ctx)->eng, e);
}

static void on_dump_begin(void *ctx, __u32 netns, bool resync)
{
	if (resync)
		episode_resync_begin(((struct trace *)ctx)->eng, netns);
}

static void on_dump_end(void *ctx, __u32 netns, bool resync, bool complete)
{
	if (resync && complete)
		episode_resync_end(((struct trace *)ctx)->eng, netns);
}

static void on_netns_gone(void *ctx, __u32 netns, const char *label)
{
	(void)label;
	episode_forget_netns(((struct trace *)ctx)->eng, netns);
}

static void on_episode(void *ctx, const struct episode *ep)
{
	struct trace *tr = ctx;
	char label[16];

	trace_print_episode(&tr->out, ep, observer_netns_label(tr->obs, ep->flow.netns, label));
}

/* Following every namespace, more than we can watch: said once, on stderr. */
static void on_over_cap(void *ctx, int n)
{
	static bool warned;

	(void)ctx;
	if (!warned) {
		cli_error("trace: more than %d namespaces: %d not watched (choose with --netns)",
			  XFRM_WATCH_NETNS_MAX, n);
		warned = true;
	}
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
	"                      [--no-switchover]\n"
	"\n"
	"Print every XFRM SA insert, update, delete and expiry, every policy change, and every\n"
	"IPsec packet drop with its SPI and cause, as it happens. SA events come from BPF\n"
	"probes (kernel timestamps), policies from XFRM netlink. Drops are counted in the\n"
	"kernel: a line says how many arrived since the previous line for the same SA, cause\n"
	"and place. Each SA and policy change says who made it: a process as comm[pid], or\n"
	"the kernel (expiry timers, namespace teardown); 'unknown' in tracepoint mode. Each SA's\n"
	"first packet is a line (sa_first_packet: outbound encrypted, inbound decrypted), its\n"
	"last packet is on its sa_delete line.\n"
	"\n"
	"  -j, --json            one JSON object per line (ts_ns is CLOCK_MONOTONIC)\n"
	"  -d, --duration SEC    stop after SEC seconds (also 500ms, 2m); default: until Ctrl-C\n"
	"  -n, --netns NAME      only this namespace (ip netns name or a path); repeatable;\n"
	"                        default: every namespace (netlink: ours and those in\n"
	"                        /run/netns when we start)\n"
	"  -p, --probe MODE      fentry, kprobe or tracepoint; default: the best that works\n"
	"  -S, --no-switchover   no per-packet hooks: saves a map update per packet an SA\n"
	"                        encrypts or decrypts, loses sa_first_packet and the last\n"
	"                        packet on sa_delete\n"
	"  -h, --help            this text\n"
	"\n"
	"The first line states the probe mode and what it cannot see; the last one what was\n"
	"lost, if anything. Events: sa_add sa_update sa_delete sa_expire sa_first_packet\n"
	"sa_flush policy_add policy_update policy_delete policy_expire policy_flush drop, and\n"
	"episode: a rekey joined up once its late drops are in (about a second after it),\n"
	"with its gap, loss, actors and verdict (clean gap peer_early old_removed_early\n"
	"key_mismatch not_replaced expired); `rekeygap explain FILE` reads the --json lines\n"
	"back. Drop causes:\n"	"  in_no_state in_icv_fail in_state_invalid in_acquire in_expired\n"
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
		{ "no-switchover", no_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct trace tr = { .out = { .out = stdout } };
	const char *names[MAX_NETNS];
	struct observer_options oo = { .who = "trace", .netns = names, .probe = PROBE_FENTRY,
				       .drop_scan_ns = DROP_SCAN_NS, .keep_ksyms = true,
				       .dump_sas = true };
	struct observer_sink sink = { .sa = on_sa, .policy = on_policy, .flush = on_flush,
				      .drops = on_drops, .dump_begin = on_dump_begin,
				      .dump_sa = on_dump_sa, .dump_end = on_dump_end,
				      .netns_gone = on_netns_gone, .over_cap = on_over_cap,
				      .ctx = &tr };
	struct observer_counters oc;
	struct trace_counters counters;
	struct observer *obs = NULL;
	struct trace_output *out = &tr.out;
	const struct tracer *t;
	__u64 duration_ns = 0, deadline = 0;
	char err[256];
	__u32 inum;
	int c, ret;

	while ((c = getopt_long(argc, argv, "jd:n:p:Sh", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			out->json = true;
			break;
		case 'd':
			if (cli_parse_duration(optarg, NSEC_PER_SEC, &duration_ns) || !duration_ns) {
				cli_error("trace: bad --duration '%s' (seconds, or 500ms, 2m)", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'n':
			if (oo.n_netns == MAX_NETNS) {
				cli_error("trace: at most %d --netns", MAX_NETNS);
				return EXIT_USAGE;
			}
			ret = netns_inode(optarg, &inum);
			if (ret) {
				cli_error("trace: no network namespace '%s': %s", optarg, strerror(-ret));
				return 1;
			}
			names[oo.n_netns++] = optarg;
			break;
		case 'p':
			if (probe_mode_parse(optarg, &oo.probe)) {
				cli_error("trace: unknown --probe '%s' (fentry, kprobe or tracepoint)",
					  optarg);
				return EXIT_USAGE;
			}
			oo.probe_forced = true;
			break;
		case 'S':
			oo.no_switchover = true;
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

	/* without --netns: every namespace, also those created later */
	oo.follow_all = !oo.n_netns;
	tr.eng = episode_engine_new(on_episode, &tr);
	if (!tr.eng) {
		cli_error("trace: out of memory");
		return 1;
	}
	ret = observer_open(&obs, &oo, &sink, err, sizeof(err));
	if (!ret)
		ret = observer_start(obs, err, sizeof(err));
	if (ret) {
		cli_error("trace: %s", err);
		observer_close(obs);
		episode_engine_free(tr.eng);
		return 1;
	}
	tr.obs = obs;
	t = observer_tracer(obs);
	out->ksyms = &t->ksyms;
	out->reasons = &t->reasons;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	trace_print_start(out, probe_mode_name(t->mode), t->blind, observer_n_netns(obs));

	if (duration_ns)
		deadline = monotonic_ns() + duration_ns;
	while (!stop && !ret && (!deadline || monotonic_ns() < deadline)) {
		ret = observer_wait(obs, 100);
		if (!ret) {
			__u64 now = monotonic_ns();

			ret = observer_process(obs, now);
			episode_drops_known_until(tr.eng, observer_drops_read_at(obs));
			episode_advance(tr.eng, now, false);
		}
	}
	/* what arrived before we stopped is still reported, episodes as they stand */
	observer_flush(obs);
	episode_advance(tr.eng, monotonic_ns(), true);
	observer_counters(obs, &oc);
	counters = (struct trace_counters){
		/* a run the kernel skipped made no event */
		.events_lost = oc.ring_lost + oc.missed.sa,
		.drops_overflow = oc.drops_overflow,
		.drops_missed = oc.missed.drops,
		.larval = oc.larval,
		.netlink_overruns = oc.netlink_overruns,
		.netlink_bad = oc.netlink_bad,
	};
	trace_print_end(out, &counters);
	observer_close(obs);
	episode_engine_free(tr.eng);
	return ret ? 1 : 0;
}
