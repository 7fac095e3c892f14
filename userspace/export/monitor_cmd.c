// SPDX-License-Identifier: BSD-2-Clause
/* 'rekeygap monitor': the exporter operators run all day (the monitor itself: monitor.c). */
#include "monitor_cmd.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "http_server.h"
#include "monitor.h"
#include "priv.h"
#include "xfrm_watch.h"

/* 10117: the Prometheus default port allocations list's range 9100-9999 is full since
 * 2023; this one is outside it and not taken there */
#define DEFAULT_LISTEN ":10117"
#define TICK_MS 50

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static const char monitor_usage[] =
	"Usage: rekeygap monitor [--listen ADDR:PORT] [--netns NAME]... [--max-series N]\n"
	"                        [--max-flows N] [--timeout DURATION] [--probe MODE]\n"
	"                        [--duration SEC] [--user NAME] [--no-switchover]\n"
	"\n"
	"Watch SA inserts, deletes and expiries and XFRM packet drops, join them into rekey\n"
	"episodes (which SA replaced which, how long there was none: the gap, how long both:\n"
	"the overlap, what was dropped), and serve them to Prometheus:\n"
	"  /metrics    Prometheus text format (OpenMetrics if the scraper asks for it)\n"
	"  /episodes   the last 100 episodes, JSON\n"
	"\n"
	"  -l, --listen ADDR:PORT  where to serve; default " DEFAULT_LISTEN " (every address;\n"
	"                          the Prometheus port list's 9100-9999 range is full)\n"
	"  -n, --netns NAME        watch this namespace (ip netns name or a path); repeatable;\n"
	"                          default: the namespace rekeygap runs in\n"
	"  -m, --max-series N      keep at most N rekeygap_last_rekey_gap_seconds series (one\n"
	"                          per flow), the least recently rekeyed evicted; default 1000\n"
	"  -f, --max-flows N       follow the SAs of at most N flows (SAs that share addresses,\n"
	"                          reqid, mark and direction; ~350 bytes each); SAs of more\n"
	"                          are counted in rekeygap_limit_reached_total{limit=\"flows\"}\n"
	"                          and not followed; default 262144\n"
	"  -t, --timeout DURATION  a deleted SA not replaced within it is 'unreplaced';\n"
	"                          default 10s\n"
	"  -p, --probe MODE        fentry, kprobe or tracepoint; default: the best that works\n"
	"                          (tracepoint: SA events from netlink, timed on receipt)\n"
	"  -d, --duration SEC      stop after SEC seconds; default: until SIGINT or SIGTERM\n"
	"  -u, --user NAME         run as this user once set up (e.g. nobody)\n"
	"  -S, --no-switchover     no per-packet hooks: saves a map update per packet an SA\n"
	"                          encrypts or decrypts; episodes lose when the old SA\n"
	"                          carried its last packet and the new one its first\n"
	"  -h, --help              this text\n"
	"\n"
	"Needs root (CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN, CAP_SYS_ADMIN, CAP_SYSLOG) to start;\n"
	"once its probes are attached it keeps only CAP_BPF (reading its BPF maps) and\n"
	"CAP_NET_ADMIN (re-reading SAs after lost events), and the HTTP server starts then.\n"
	"Namespaces are labelled by their name in /run/netns, others by inode number. SAs that\n"
	"exist at start are the baseline: no episode until they are replaced. SIGHUP is\n"
	"ignored (nothing is lost); SIGINT and SIGTERM stop cleanly.\n"
	"\n"
	"Examples:\n"
	"  rekeygap monitor\n"
	"  rekeygap monitor --listen 127.0.0.1:10117 --netns gw1 --netns gw2\n"
	"  curl -s localhost:10117/metrics | grep rekeygap_rekey_gap\n";

int cmd_monitor(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "netns", required_argument, NULL, 'n' },
		{ "max-series", required_argument, NULL, 'm' },
		{ "max-flows", required_argument, NULL, 'f' },
		{ "timeout", required_argument, NULL, 't' },
		{ "probe", required_argument, NULL, 'p' },
		{ "duration", required_argument, NULL, 'd' },
		{ "user", required_argument, NULL, 'u' },
		{ "no-switchover", no_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	const char *names[XFRM_WATCH_NETNS_MAX];
	struct monitor_options o = { .listen = DEFAULT_LISTEN, .netns = names,
				     .max_series = MONITOR_MAX_SERIES,
				     .timeout_ns = EPISODE_TIMEOUT_NS, .probe = PROBE_FENTRY };
	struct sockaddr_storage ss;
	struct monitor *mon;
	__u64 duration_ns = 0, deadline;
	socklen_t len;
	char err[256];
	int c, ret;

	while ((c = getopt_long(argc, argv, "l:n:m:f:t:p:d:u:Sh", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			o.listen = optarg;
			break;
		case 'n':
			if (o.n_netns == XFRM_WATCH_NETNS_MAX) {
				cli_error("monitor: at most %d --netns", XFRM_WATCH_NETNS_MAX);
				return EXIT_USAGE;
			}
			names[o.n_netns++] = optarg;
			break;
		case 'm':
			if (cli_parse_u32(optarg, 1, 100000, &o.max_series)) {
				cli_error("monitor: bad --max-series '%s' (1 to 100000)", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'f':
			if (cli_parse_u32(optarg, 1, 10000000, &o.max_flows)) {
				cli_error("monitor: bad --max-flows '%s' (1 to 10000000)", optarg);
				return EXIT_USAGE;
			}
			break;
		case 't':
			if (cli_parse_duration(optarg, NSEC_PER_SEC, &o.timeout_ns) || !o.timeout_ns) {
				cli_error("monitor: bad --timeout '%s' (seconds, or 500ms, 2m)", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'p':
			if (probe_mode_parse(optarg, &o.probe)) {
				cli_error("monitor: unknown --probe '%s' (fentry, kprobe or tracepoint)",
					  optarg);
				return EXIT_USAGE;
			}
			o.probe_forced = true;
			break;
		case 'd':
			if (cli_parse_duration(optarg, NSEC_PER_SEC, &duration_ns) || !duration_ns) {
				cli_error("monitor: bad --duration '%s' (seconds, or 500ms, 2m)", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'u': {
			unsigned int uid, gid;

			if (priv_lookup_user(optarg, &uid, &gid)) {
				cli_error("monitor: no user '%s'", optarg);
				return EXIT_USAGE;
			}
			o.user = optarg;
			break;
		}
		case 'S':
			o.no_switchover = true;
			break;
		case 'h':
			fputs(monitor_usage, stdout);
			return 0;
		default:
			fputs(monitor_usage, stderr);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		cli_error("monitor: unexpected argument '%s'", argv[optind]);
		return EXIT_USAGE;
	}
	if (http_parse_listen(o.listen, &ss, &len)) {
		cli_error("monitor: bad --listen '%s' (ADDR:PORT, [IPV6]:PORT or :PORT)", o.listen);
		return EXIT_USAGE;
	}
	{
		static const int needed[] = MONITOR_NEEDED_CAPS;
		char missing[128];

		if (priv_missing(needed, (int)(sizeof(needed) / sizeof(needed[0])), missing,
				 sizeof(missing))) {
			cli_error("monitor: needs %s (run it as root, or give it these capabilities)",
				  missing);
			return 1;
		}
	}
	o.drop_privileges = true;
	ret = monitor_open(&mon, &o, err, sizeof(err));
	if (ret) {
		cli_error("monitor: %s", err);
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	fprintf(stderr,
		"rekeygap monitor: serving http://%s/metrics; probe mode %s, SA events from %s; "
		"watching %d namespace%s\n",
		o.listen, monitor_probe_mode(mon), monitor_sa_from_netlink(mon) ? "netlink" : "BPF",
		monitor_n_netns(mon), monitor_n_netns(mon) == 1 ? "" : "s");
	deadline = duration_ns ? monotonic_ns() + duration_ns : 0;
	ret = 0;
	while (!stop && !ret && (!deadline || monotonic_ns() < deadline))
		ret = monitor_step(mon, TICK_MS);
	monitor_close(mon);
	return ret ? 1 : 0;
}
