/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The monitor's metrics: where episodes, SA events and drops leave as Prometheus series.
 * Counters and histograms are kept here as they happen, each series keyed on its label
 * values; what describes the present (SAs, the kernel's XFRM MIB, probe state, what was
 * lost) the monitor hands over at scrape time as a snapshot. Rendered in the Prometheus
 * text format 0.0.4 or OpenMetrics 1.0.0, without timestamps. Nothing here calls back.
 *
 * Not thread safe: the caller serializes updates and rendering.
 */
#ifndef REKEYGAP_METRICS_H
#define REKEYGAP_METRICS_H

#include <linux/types.h>
#include <stdbool.h>
#include <stdio.h>

#include "episode.h"
#include "names.h" /* sa_dir_label, the direction label of the series */

#define METRICS_CT_TEXT "text/plain; version=0.0.4; charset=utf-8"
#define METRICS_CT_OPENMETRICS "application/openmetrics-text; version=1.0.0; charset=utf-8"

struct metrics;

/* max_series: how many rekeygap_last_rekey_gap_seconds series to keep (oldest evicted) */
struct metrics *metrics_new(unsigned int max_series);
void metrics_free(struct metrics *m);

/*
 * netns: the label value (a name in /run/netns, or the inode number). An episode that lost
 * packets is also one of the last METRICS_LOSSY_KEPT shown one by one (its id a label).
 */
#define METRICS_LOSSY_KEPT 10
void metrics_episode(struct metrics *m, const struct episode *ep, const char *netns);
void metrics_sa_event(struct metrics *m, const char *netns, __u8 kind);
void metrics_drops(struct metrics *m, const char *netns, __u8 cause, __u64 count);

/* A namespace that is gone takes its series with it (the histograms have no netns). */
void metrics_forget_netns(struct metrics *m, const char *netns);

#define METRICS_NETNS_LEN 64 /* a namespace label: a name in /run/netns or an inode number */

/* SAs present in a namespace, one direction (SA_DIR_*). */
struct metrics_sa_count {
	char netns[METRICS_NETNS_LEN];
	__u8 dir;
	__u64 n;
};

/* A line of a namespace's /proc/net/xfrm_stat. */
struct metrics_mib_line {
	char netns[METRICS_NETNS_LEN];
	char name[48];
	__u64 value;
};

/* The present, as the monitor sees it at scrape time. */
struct metrics_snapshot {
	const char *probe_mode;   /* fentry, kprobe, tracepoint */
	const char *sa_source;    /* bpf, netlink */
	const char *mib_note;     /* "" or why some namespace has no xfrm_stat */
	/* SA events lost: ring buffer full, netlink overruns, malformed notifications, the
	 * episode engine's queue full */
	__u64 events_lost;
	__u64 drops_overflow;     /* drop map full */
	__u64 drops_missed;       /* drop-counting BPF runs the kernel skipped */
	__u64 resyncs;            /* re-dumps after lost events */
	/* limits reached (episode_stats): SAs, policies or episodes not followed */
	__u64 flows_refused, flow_sas_evicted, pins_refused, episodes_refused, preinstall_refused;
	const struct metrics_sa_count *sas;
	size_t n_sas;
	const struct metrics_mib_line *mib;
	size_t n_mib;
};

/* OpenMetrics if the scraper's Accept header asks for it (Prometheus does, ahead of text). */
bool metrics_wants_openmetrics(const char *accept);

/* The whole exposition into out. 0 or -errno (out of memory). */
int metrics_render(struct metrics *m, const struct metrics_snapshot *s, bool openmetrics,
		   FILE *out);

/* Text helpers, exposed for tests. */
void metrics_label_escape(const char *in, char *out, size_t len);

#endif
