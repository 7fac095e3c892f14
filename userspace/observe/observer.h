/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The observer: where everything rekeygap knows of the kernel enters, once, for every
 * command that watches. It loads the BPF tracer (tracer.c) in the best probe mode allowed,
 * watches XFRM netlink in each namespace (xfrm_watch.c), and for each kind of event picks
 * the one source that tells it (SA changes from BPF, or from netlink in tracepoint mode;
 * policy changes from BPF where its hooks exist; flushes and expiries from netlink). It
 * fills in the SA direction kernels before 6.10 do not give, turns the kernel's cumulative
 * drop counters into deltas (drop_delta.c) and prunes idle keys, follows namespaces as they
 * come and go, and dumps the SAs again when events were lost.
 *
 * What it sees goes to a sink, normalised: 'rekeygap monitor' (monitor.c) and
 * 'rekeygap trace' (trace.c) are sinks. Not thread safe: sinks are called from
 * observer_process and observer_flush, in the caller's thread.
 */
#ifndef REKEYGAP_OBSERVER_H
#define REKEYGAP_OBSERVER_H

#include <stdbool.h>
#include <stddef.h>

#include "drop_delta.h"
#include "names.h"
#include "probe.h"
#include "tracer.h"
#include "xfrm_msg.h"
#include "xfrm_trace.h"

#define OBSERVER_DROP_SCAN_NS (50 * NSEC_PER_MSEC)

struct observer_sink {
	/* an SA insert, update, delete, expiry or first packet (SA_EVENT_FIRST_PACKET, BPF
	 * only), its direction filled in (larval skipped) */
	void (*sa)(void *ctx, const struct sa_event *e, enum event_source src);
	void (*policy)(void *ctx, const struct policy_event *e, enum event_source src);
	/* XFRM_MSG_KIND_SA_FLUSH or XFRM_MSG_KIND_POLICY_FLUSH, from netlink */
	void (*flush)(void *ctx, const struct xfrm_msg *m);
	/* drops a key gained since the last scan */
	void (*drops)(void *ctx, const struct drop_delta *d);
	/*
	 * The SAs of a namespace as a dump lists them (options.dump_sas): at start (resync
	 * false), and again after events were lost (resync true): begin, sa for each, end
	 * (complete: the dump did not fail halfway).
	 */
	void (*dump_begin)(void *ctx, __u32 netns, bool resync);
	void (*dump_sa)(void *ctx, const struct sa_event *e);
	void (*dump_end)(void *ctx, __u32 netns, bool resync, bool complete);
	/* a watched namespace was deleted; label as observer_netns_label gave it */
	void (*netns_gone)(void *ctx, __u32 netns, const char *label);
	/* following every namespace, more than XFRM_WATCH_NETNS_MAX: n not watched */
	void (*over_cap)(void *ctx, int n);
	void *ctx;
};

struct observer_options {
	const char *who;          /* the command, for its error lines: "monitor", "trace" */
	const char *const *netns; /* names in /run/netns or paths; none: our own namespace */
	int n_netns;
	/* without netns: our own namespace and every one in /run/netns, also those created
	 * later, and BPF's events from every namespace */
	bool follow_all;
	enum probe_mode probe;
	bool probe_forced;          /* exactly this mode or fail */
	__u64 drop_scan_ns;         /* how often drop counters are read; 0: OBSERVER_DROP_SCAN_NS */
	__u64 drop_idle_ns;         /* a drop key idle that long leaves the map; 0: never */
	/* dump the SAs at start and after lost events; keeps a dump socket and
	 * /proc/net/xfrm_stat open in each namespace from the start */
	bool dump_sas;
	bool keep_ksyms;            /* drop locations are named (trace); else freed after start */
	/* only drops are wanted: no XFRM notification is subscribed to (each would cost the
	 * kernel a copy per SA change: a rekey counting its losses must not pay that), and no
	 * switchover hooks */
	bool drops_only;
	/* no per-packet hooks on SAs: no SA_EVENT_FIRST_PACKET, no last_packet_ns, and no cost
	 * per encrypted or decrypted packet */
	bool no_switchover;
};

struct observer_counters {
	__u64 ring_lost;        /* BPF ring buffer full */
	__u64 drops_overflow;   /* BPF drop map full */
	__u64 larval;           /* larval (ACQ) states and acquires kept out */
	__u64 netlink_overruns; /* ENOBUFS: notifications lost */
	__u64 netlink_bad;      /* malformed notifications skipped */
	__u64 resyncs;          /* SA re-dumps after lost events */
	struct tracer_missed missed; /* BPF runs the kernel skipped (tracer_missed_runs) */
};

struct observer;

/*
 * Watch the namespaces (nothing loaded yet: errors about them come first). 0 or -errno with
 * one line in err.
 */
int observer_open(struct observer **obs, const struct observer_options *opt,
		  const struct observer_sink *sink, char *err, size_t errlen);
/* Load and attach the probes, then (dump_sas) dump the baseline. 0 or -errno, one line. */
int observer_start(struct observer *obs, char *err, size_t errlen);

/* Wait up to timeout_ms for input, without handling it. 0 or -errno (said on stderr). */
int observer_wait(struct observer *obs, int timeout_ms);
/* Handle what observer_wait found, and the periodic work due at now. 0 or -errno. */
int observer_process(struct observer *obs, __u64 now_ns);
/* Everything pending delivered now (before stopping, or before reading results). */
void observer_flush(struct observer *obs);
/* Dump every namespace's SAs again (its consumer lost some of them). */
void observer_resync(struct observer *obs);

/* The label of a namespace: its name in /run/netns, else its inode number. */
const char *observer_netns_label(const struct observer *obs, __u32 netns, char buf[16]);
int observer_n_netns(const struct observer *obs);

/*
 * Each watched namespace's /proc/net/xfrm_stat, a line at a time (dump_sas only). Returns
 * how many namespaces have none, the label of the first in missing.
 */
typedef void (*observer_mib_fn)(void *ctx, const char *netns, const char *name, __u64 value);
int observer_mib(struct observer *obs, observer_mib_fn fn, void *ctx, char *missing, size_t len);

const struct tracer *observer_tracer(const struct observer *obs);
/* When drop counters were last read (CLOCK_MONOTONIC): every drop before it was delivered. */
__u64 observer_drops_read_at(const struct observer *obs);
bool observer_sa_from_netlink(const struct observer *obs);
void observer_counters(struct observer *obs, struct observer_counters *c);

void observer_close(struct observer *obs);

#endif
