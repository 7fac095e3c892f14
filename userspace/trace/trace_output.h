/* SPDX-License-Identifier: BSD-2-Clause */
/* How SA events and drops leave 'rekeygap trace': human columns or one JSON object a line. */
#ifndef REKEYGAP_TRACE_OUTPUT_H
#define REKEYGAP_TRACE_OUTPUT_H

#include <stdbool.h>
#include <stdio.h>

#include "drop_reason.h"
#include "episode.h"
#include "ksyms.h"
#include "names.h"
#include "xfrm_msg.h"
#include "xfrm_trace.h"

struct trace_output {
	FILE *out;
	bool json;
	const struct ksyms *ksyms;         /* drop locations; NULL: addresses in hex */
	const struct drop_reasons *reasons; /* reason names; NULL: numbers */
};

/* netlink_netns: namespaces watched through netlink */
void trace_print_start(const struct trace_output *o, const char *mode, const char *blind,
		       int netlink_netns);
void trace_print_sa(const struct trace_output *o, const struct sa_event *e,
		    enum event_source source);
void trace_print_policy(const struct trace_output *o, const struct policy_event *p,
			enum event_source source);
/* kind: XFRM_MSG_KIND_SA_FLUSH or XFRM_MSG_KIND_POLICY_FLUSH */
void trace_print_flush(const struct trace_output *o, const struct xfrm_msg *m);
/* count: drops since this key's previous line; total: since start */
void trace_print_drop(const struct trace_output *o, const struct drop_key *k,
		      const struct drop_value *v, __u64 count);
/* a final episode; netns: the namespace's label */
void trace_print_episode(const struct trace_output *o, const struct episode *ep,
			 const char *netns);
struct trace_counters {
	__u64 events_lost;      /* BPF ring buffer full */
	__u64 drops_overflow;   /* drop map full */
	__u64 drops_missed;     /* drop-counting BPF runs the kernel skipped */
	__u64 larval;           /* larval (ACQ) states and acquires, kept out */
	__u64 netlink_overruns; /* netlink socket buffer overflowed */
	__u64 netlink_bad;      /* malformed netlink messages skipped */
};

void trace_print_end(const struct trace_output *o, const struct trace_counters *c);

#endif
