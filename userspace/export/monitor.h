/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The monitor: SA events and drops in, rekey episodes and Prometheus metrics out, for the
 * namespaces it watches. 'rekeygap monitor' runs it alone; 'rekeygap lab' runs it inside,
 * with hooks on what it sees.
 */
#ifndef REKEYGAP_MONITOR_H
#define REKEYGAP_MONITOR_H

#include <stdbool.h>
#include <linux/capability.h>
#include <stddef.h>

#include "episode.h"
#include "probe.h"

#define MONITOR_MAX_SERIES 1000

/*
 * What the monitor needs to start: BPF programs (CAP_BPF, CAP_PERFMON for tracing), XFRM
 * netlink (CAP_NET_ADMIN), entering watched namespaces (CAP_SYS_ADMIN), kernel symbol
 * addresses (CAP_SYSLOG). What it keeps once running: CAP_BPF to read its BPF maps (the
 * kernel checks every bpf() call while unprivileged BPF is disabled) and CAP_NET_ADMIN to
 * re-dump SAs after lost events (checked at each request, on the socket opened at start).
 */
#define MONITOR_NEEDED_CAPS { CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN, CAP_SYS_ADMIN, CAP_SYSLOG }
#define MONITOR_KEPT_CAPS { CAP_BPF, CAP_NET_ADMIN }

struct monitor_options {
	const char *listen;         /* ADDR:PORT to serve /metrics on; NULL: no HTTP */
	const char *const *netns;   /* names or paths to watch; none: our own namespace */
	int n_netns;
	unsigned int max_series;    /* 0: MONITOR_MAX_SERIES */
	__u32 max_flows;            /* 0: EPISODE_MAX_FLOWS */
	__u64 timeout_ns;           /* 0: EPISODE_TIMEOUT_NS */
	enum probe_mode probe;
	bool probe_forced;
	bool no_switchover; /* no per-packet SA hooks (observer_options.no_switchover) */
	/* once set up, keep only what the running monitor needs (MONITOR_KEPT_CAPS), as user
	 * if not NULL; the HTTP server starts after that */
	bool drop_privileges;
	const char *user;
	/* hooks, each optional: an SA event as taken (direction filled in), a drop delta, a
	 * final episode */
	void (*sa_event)(void *ctx, const struct sa_event *e);
	void (*drops)(void *ctx, const struct drop_key *k, __u64 count, __u64 last_ns);
	void (*episode)(void *ctx, const struct episode *ep, const char *netns_label);
	void *ctx;
};

struct monitor;

/* Watch, serve, load the probes, dump the baseline. 0 or -errno with one line in err. */
int monitor_open(struct monitor **mon, const struct monitor_options *opt, char *err,
		 size_t errlen);
/* Wait up to timeout_ms for events and handle them. 0 or -errno (said on stderr). */
int monitor_step(struct monitor *mon, int timeout_ms);
/* Everything pending applied now, every episode handed out (before reading results). */
void monitor_settle(struct monitor *mon);
const char *monitor_probe_mode(const struct monitor *mon);
bool monitor_sa_from_netlink(const struct monitor *mon);
/* Drops not counted since start: drop-counting BPF runs the kernel skipped. */
__u64 monitor_drops_missed(const struct monitor *mon);
int monitor_n_netns(const struct monitor *mon);
void monitor_close(struct monitor *mon);

#endif
