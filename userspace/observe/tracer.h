/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The BPF side of observation: load bpf/xfrm_trace.bpf.c in the best probe mode this kernel
 * allows (or the forced one), attach, and hand over SA events (ring buffer) and drop
 * aggregates (map). This is where SA events enter userspace.
 */
#ifndef REKEYGAP_TRACER_H
#define REKEYGAP_TRACER_H

#include <stdbool.h>
#include <stddef.h>

#include "drop_reason.h"
#include "ksyms.h"
#include "probe.h"
#include "xfrm_trace.h"

typedef void (*tracer_drop_fn)(void *ctx, const struct drop_key *k, const struct drop_value *v);

/* Where ring buffer events go; either may be NULL. */
struct tracer_handlers {
	int (*sa)(void *ctx, const struct sa_event *e);
	int (*policy)(void *ctx, const struct policy_event *e);
	void *ctx;
};

struct tracer {
	struct xfrm_trace_bpf *skel;
	struct ring_buffer *rb;
	enum probe_mode mode;
	bool audit_hooks; /* xfrm_audit_state_notfound/icvfail attached */
	bool policy_insert; /* policy adds and updates seen by BPF */
	bool policy_delete; /* policy deletes seen by BPF (xfrm_audit_policy_delete) */
	bool switchover;     /* per-packet hooks: each SA's first and last packet */
	bool switchover_off; /* not wanted (their cost per packet) */
	bool migrate;        /* SA migrations (MIGRATE_STATE) seen as such, not as delete + add */
	struct ksyms ksyms;
	struct drop_reasons reasons;
	char blind[384]; /* what this mode cannot see, for the start line */
	struct tracer_handlers handlers;
};

/*
 * Where the switchover hooks attach: once per packet an SA encrypts, and once per packet it
 * decrypted with integrity intact (see bpf/xfrm_trace.bpf.c).
 */
#define TRACER_SA_OUTPUT_FUNC "xfrm_replay_overflow"
#define TRACER_SA_INPUT_FUNC "xfrm_replay_advance"
/* Where an SA migration (7.2) is seen: its clone made, then installed */
#define TRACER_MIGRATE_CREATE_FUNC "xfrm_state_migrate_create"
#define TRACER_MIGRATE_INSTALL_FUNC "xfrm_state_migrate_install"

/*
 * forced: use exactly mode or fail. switchover: attach the per-packet hooks where the kernel
 * has them (SA_EVENT_FIRST_PACKET, last_packet_ns). err gets one line on failure. 0 or -errno.
 */
int tracer_open(struct tracer *t, bool forced, enum probe_mode mode, bool switchover,
		const struct tracer_handlers *handlers, char *err, size_t errlen);

/* Readable when events are pending: for poll() next to other sources. */
int tracer_fd(const struct tracer *t);

/* Deliver pending SA and policy events; waits up to timeout_ms. Returns events handled or -errno. */
int tracer_poll(struct tracer *t, int timeout_ms);

/* Every drop aggregate (cumulative since start). */
void tracer_drops_foreach(struct tracer *t, tracer_drop_fn fn, void *ctx);

/*
 * Take a key out of the drop map (it has room for DROP_KEYS_MAX) with its final value, in
 * one step: a drop counted after it starts a new key. 0 or -errno (-ENOENT: not there).
 */
int tracer_drop_take(struct tracer *t, const struct drop_key *k, struct drop_value *v);

/* Counters of what was lost: ring buffer full, drop map full; larval states skipped. */
void tracer_counters(struct tracer *t, __u64 *events_lost, __u64 *drops_overflow,
		     __u64 *larval);

/*
 * BPF program runs the kernel skipped because the same program was already running on that
 * CPU (a run preempted, on kernels with full or lazy preemption, or interrupted by a
 * softirq): its recursion_misses, summed over the attached programs, by what they follow.
 */
struct tracer_missed {
	__u64 sa;      /* SA and policy changes: events lost, answered by a re-dump */
	__u64 drops;   /* drop counting: drops not counted */
	__u64 packets; /* first and last packets of SAs: switchover times missing */
};
void tracer_missed_runs(struct tracer *t, struct tracer_missed *m);

void tracer_close(struct tracer *t);

#endif
