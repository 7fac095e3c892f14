/* SPDX-License-Identifier: BSD-2-Clause */
/* How SA events and drops leave 'rekeygap trace': human columns or one JSON object a line. */
#ifndef REKEYGAP_TRACE_OUTPUT_H
#define REKEYGAP_TRACE_OUTPUT_H

#include <stdbool.h>
#include <stdio.h>

#include "drop_reason.h"
#include "ksyms.h"
#include "xfrm_trace.h"

struct trace_output {
	FILE *out;
	bool json;
	const struct ksyms *ksyms;         /* drop locations; NULL: addresses in hex */
	const struct drop_reasons *reasons; /* reason names; NULL: numbers */
};

const char *sa_event_name(enum sa_event_kind kind);
const char *drop_cause_name(enum drop_cause cause);

void trace_print_start(const struct trace_output *o, const char *mode, const char *blind);
void trace_print_sa(const struct trace_output *o, const struct sa_event *e);
/* count: drops since this key's previous line; total: since start */
void trace_print_drop(const struct trace_output *o, const struct drop_key *k,
		      const struct drop_value *v, __u64 count);
void trace_print_end(const struct trace_output *o, __u64 events_lost, __u64 drops_overflow,
		     __u64 larval);

#endif
