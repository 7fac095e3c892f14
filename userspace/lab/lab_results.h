/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What a lab run set up and measured: its namespaces, the phases (one per strategy), the
 * ground-truth traffic, the monitor's episodes and SA events. lab.c fills it, lab_results()
 * adds each phase's totals, lab_report.c only reads it: the dependency goes one way.
 */
#ifndef REKEYGAP_LAB_RESULTS_H
#define REKEYGAP_LAB_RESULTS_H

#include <linux/types.h>
#include <stdbool.h>
#include <stddef.h>

#include "episode.h"
#include "rekey.h"
#include "traffic.h"

#define LAB_MAX_PHASES 3

/* An SA event as the lab keeps it, for the timelines. */
struct lab_sa_event {
	__u64 ts_ns;
	int side; /* 0: namespace A, 1: B */
	__u8 dir, kind;
	__u32 spi; /* network order */
};

/* A drop delta as the monitor read it: what it may or may not have put in an episode. */
struct lab_drop {
	__u64 last_ns; /* the end of the time range it fell in */
	__u64 count;
	int side;   /* 0: namespace A, 1: B */
	__u32 spi;  /* network order; 0: no SA */
	__u8 cause; /* enum drop_cause */
};

struct lab_phase {
	enum rekey_strategy strategy;
	__u64 t0, t1; /* CLOCK_MONOTONIC: its rekeys, the old SAs' time and a settle pause */
	__u32 rekeys, failed;
	__u64 messages;       /* netlink requests, all pairs */
	__u32 key_unchanged;  /* update: rekeys after which the kernel still had the old key */
	/* ground truth and attribution, filled once the traffic has stopped */
	__u32 sent, lost, attributed;
	__u32 seen; /* drops the monitor read in the phase, in an episode or not */
	/* drops the monitor could not count in the phase: drop-counting BPF runs the kernel
	 * skipped (preempted; monitor_drops_missed) */
	__u64 missed;
};

struct lab {
	char ns[2][48];   /* names in /run/netns: A, B */
	int nsfd[2];
	__u32 inum[2];
	bool ns_made[2];
	const char *alg;  /* "rfc4106(gcm(aes))" or "cbc(aes)+hmac(sha256)" */
	__u32 rate, rekeys;
	__u32 pcpu;       /* 0, or per-CPU SAs of CPUs 0 to pcpu - 1 in each direction */
	__u64 interval_ns, start_ns;
	const char *probe_mode;
	struct traffic_flow flow[2]; /* 0: A->B, 1: B->A */
	struct lab_phase phase[LAB_MAX_PHASES];
	int n_phases;
	struct episode *episodes; /* final episodes, in order of completion */
	size_t n_episodes, cap_episodes;
	struct lab_sa_event *events;
	size_t n_events, cap_events;
	struct lab_drop *drops;
	size_t n_drops, cap_drops;
};

/* The side (0: A, 1: B) of a namespace inode, or -1. */
int lab_side(const struct lab *lab, __u32 inum);

/* Between phases: late drops, episodes settle. No rekey is due for this long before t1. */
#define LAB_PAUSE_NS 1500000000ull

/* Whether t falls in the phase: [t0, t1). */
bool lab_in_phase(const struct lab_phase *ph, __u64 t);

/*
 * Whether a datagram sent at t is the phase's ground truth: sent in [t0, t1) moved half a
 * pause earlier. One sent just before t0 may be in flight when the first rekey drops it;
 * one sent in the pause at the end, a second after the last rekey, cannot be lost by it.
 */
bool lab_sent_in_phase(const struct lab_phase *ph, __u64 t);

/* When an episode began: the first of the old SA's delete and the new one's insert. */
__u64 lab_episode_start(const struct episode *ep);

/* Fill each phase's ground truth (sent, lost) and what the monitor attributed. */
void lab_results(struct lab *lab);

#endif
