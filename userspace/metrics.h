/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The monitor's metrics: where episodes, SA events and drops leave as Prometheus series.
 * Counters and histograms are kept here as they happen; gauges that describe the present
 * (SAs, the kernel's XFRM MIB, probe state) come from callbacks at scrape time. Rendered in
 * the Prometheus text format 0.0.4 or OpenMetrics 1.0.0, without timestamps.
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

/* netns: the label value (a name in /run/netns, or the inode number) */
void metrics_episode(struct metrics *m, const struct episode *ep, const char *netns);
void metrics_sa_event(struct metrics *m, const char *netns, __u8 kind);
void metrics_drops(struct metrics *m, const char *netns, __u8 cause, __u64 count);

/* A namespace that is gone takes its series with it (the histograms have no netns). */
void metrics_forget_netns(struct metrics *m, const char *netns);

/* What the scrape asks the monitor for: the present, not history. */
struct metrics_view {
	const char *probe_mode;   /* fentry, kprobe, tracepoint */
	const char *sa_source;    /* bpf, netlink */
	const char *mib_note;     /* "" or why some namespace has no xfrm_stat */
	__u64 events_lost;        /* ring buffer full */
	__u64 drops_overflow;     /* drop map full */
	__u64 netlink_overruns;   /* notifications lost (ENOBUFS) */
	__u64 resyncs;            /* re-dumps after an overrun */
	__u64 queue_full;         /* input the episode engine could not take */
	/* limits reached (episode_stats): SAs, policies or episodes not followed */
	__u64 flows_refused, flow_sas_evicted, pins_refused, episodes_refused;
	/* SAs now, per namespace and direction: fn(ctx, netns, dir, n) for each */
	void (*sas)(void *ctx, void (*fn)(void *fctx, const char *netns, const char *dir, __u64 n),
		    void *fctx);
	/* /proc/net/xfrm_stat of each namespace: fn(fctx, netns, name, value) per line */
	void (*mib)(void *ctx, void (*fn)(void *fctx, const char *netns, const char *name, __u64 v),
		    void *fctx);
	void *ctx;
};

/* OpenMetrics if the scraper's Accept header asks for it (Prometheus does, ahead of text). */
bool metrics_wants_openmetrics(const char *accept);

/* The whole exposition into out. 0 or -errno (out of memory). */
int metrics_render(struct metrics *m, const struct metrics_view *v, bool openmetrics, FILE *out);

/* The last episodes (newest last) as a JSON array into out. */
int metrics_episodes_json(struct metrics *m, FILE *out);

/* Text helpers, exposed for tests. */
void metrics_label_escape(const char *in, char *out, size_t len);

#endif
