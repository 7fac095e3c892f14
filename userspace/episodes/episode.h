/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Rekey episodes: SA events and XFRM drops joined into "which SA replaced which, how long
 * there was none (gap), how long there were both (overlap), what was lost".
 *
 * SAs are grouped by flow: (netns, src, dst, proto, reqid, mark, if_id, dir). An episode
 * opens when a flow's last SA is deleted (delete first) or a second SA joins it (insert
 * first), and is complete once one SA has replaced another: a new SPI or the same one
 * re-added. An SA that joins and goes again without having replaced anything (its
 * predecessor still there, or the policy never moved to it) is no episode: when a later SA
 * had joined after it (an IKE rekey collision's redundant SA, deleted once the peers agree
 * which of the two new SAs stays), that one replaced its predecessor.
 * Kinds: replaced; unreplaced (deleted, nothing came within the timeout); expired
 * (the old SA went by hard expiry). An outbound policy whose template names the SPI moves
 * the traffic itself: its switch to the new SPI counts as the outbound switch.
 *
 * Input may come from two sources (BPF and netlink) and out of order: everything waits
 * EPISODE_REORDER_NS in a queue and is applied in timestamp order; an insert of an SPI the
 * flow already has, or a delete of one it does not, is a duplicate and changes nothing.
 * Drops (deltas of the kernel's per-SA counters, with the time range they fell in) go to the
 * episode of their SA (SPI and destination; outbound drops without an SA to the outbound
 * episode in a gap) if they fall between its start and EPISODE_SETTLE_NS after its end;
 * drops on an SPI before its SA came (EPISODE_PREINSTALL_NS) go to the episode that SA
 * joins. An episode is final, and handed out, once its settle time is over: EPISODE_SETTLE_NS
 * after its end, or after its last late drop while they keep coming (a peer slow to leave the
 * old SPI), EPISODE_TIMEOUT_NS after its end at the latest.
 *
 * Pure logic: no I/O, time only from the caller. Not thread safe.
 */
#ifndef REKEYGAP_EPISODE_H
#define REKEYGAP_EPISODE_H

#include <linux/types.h>
#include <stdbool.h>

#include "xfrm_trace.h"

#define EPISODE_REORDER_NS 50000000ull      /* 50 ms: netlink's lag behind BPF */
#define EPISODE_SETTLE_NS 1000000000ull     /* 1 s of late drops (packets in flight) */
#define EPISODE_TIMEOUT_NS 10000000000ull   /* 10 s: a deleted SA not replaced by then */
/*
 * Drops on an SPI that no episode has (the peer sent on it before this side's SA was there:
 * larval, or absent) wait this long for the SA to come; the episode it joins takes them.
 * At most EPISODE_PREINSTALL_KEYS (namespace, SPI, destination) wait at once.
 */
#define EPISODE_PREINSTALL_NS 5000000000ull  /* 5 s */
#define EPISODE_PREINSTALL_KEYS 4096

struct flow_key {
	__u32 netns;
	__u32 reqid;
	__u32 mark_v, mark_m;
	__u32 if_id;
	__u32 saddr[4], daddr[4];
	__u8 family, proto, dir; /* dir: SA_DIR_* */
	__u8 pcpu;               /* a per-CPU SA's flow: one per CPU (pcpu_num) */
	__u32 pcpu_num;
};

enum episode_kind {
	EPISODE_REPLACED = 1,
	EPISODE_UNREPLACED,
	EPISODE_EXPIRED,
	EPISODE_MIGRATED, /* moved by XFRM_MSG_MIGRATE_STATE: same SPI and keys, not a rekey */
	EPISODE_KIND_MAX,
};

/*
 * Why an episode lost what it lost, one word an episode (see names.c for the sentence each
 * says). A replaced episode's verdict is the phase that lost the most, or clean; an episode
 * with no successor is not_replaced, or expired when a hard expiry took the old SA.
 */
enum episode_verdict {
	VERDICT_CLEAN = 1,        /* replaced, nothing lost, no time without an SA */
	VERDICT_GAP,              /* no valid SA for the flow for a while: delete before add */
	VERDICT_PEER_EARLY,       /* on the new SPI before this side's SA was valid */
	VERDICT_OLD_REMOVED_EARLY, /* on the old SPI after its SA went, the new one there */
	VERDICT_KEY_MISMATCH,     /* integrity failures: the two sides' keys differ */
	VERDICT_NOT_REPLACED,     /* deleted, and no successor came */
	VERDICT_EXPIRED,          /* the old SA went by hard expiry */
	VERDICT_MAX,
};

/*
 * When a drop fell, relative to the episode's SAs: the verdict's evidence. Each drop is in
 * exactly one phase, decided when it is attributed from what was known then.
 */
enum loss_phase {
	LOSS_GAP,              /* no SA for the flow: the old one gone, the new one not yet */
	LOSS_PEER_EARLY,       /* on the new SPI, before its SA came (larval or absent) */
	LOSS_OLD_REMOVED_EARLY, /* on the old SPI after its delete, the new SA in place */
	LOSS_KEY_MISMATCH,     /* integrity check failed (in_icv_fail) */
	LOSS_OTHER,            /* anything else (replay, invalid state on a live SA...) */
	LOSS_PHASE_MAX,
};

struct loss_span {
	__u64 drops;
	__u64 first_ns, last_ns; /* 0: none */
};

struct episode {
	__u64 id; /* 1, 2... in order of completion */
	struct flow_key flow;
	enum episode_kind kind;
	__u32 old_spi, new_spi;       /* network order; new_spi 0: none came */
	__u64 t_delete_old;           /* CLOCK_MONOTONIC ns; 0: not (yet) deleted */
	__u64 t_insert_new;           /* 0: none inserted */
	__u64 t_switch;               /* outbound policy template moved to new_spi; 0: no */
	bool has_gap;                 /* gap_ns and overlap_ns mean something (replaced) */
	__u64 gap_ns, overlap_ns;
	__u64 drops[DROP_CAUSE_MAX];  /* attributed to this episode, by cause */
	__u64 drops_total;
	__u64 first_drop_ns, last_drop_ns; /* 0: none */
	__u64 outage_ns;              /* last - first attributed drop */
	struct loss_span phase[LOSS_PHASE_MAX]; /* the same drops, by when they fell */
	enum episode_verdict verdict;
	struct actor insert_actor, delete_actor; /* of the new SA's insert, the old one's delete */
	/* switchover: when traffic really moved (0: not seen, or no per-packet hooks) */
	__u64 old_last_packet_ns;  /* the old SA's last packet, as its delete says */
	__u64 new_first_packet_ns; /* the new SA's first packet */
	/* an insert or delete of it was lost and found by a re-dump, at the dump's time: its
	 * gap and overlap are unknown (has_gap false), its drops and verdict still hold */
	bool resynced;
};

/* The verdict of an episode from its kind, gap and phases (done by the engine). */
enum episode_verdict episode_verdict_of(const struct episode *ep);

struct episode_stats {
	__u64 duplicates;   /* inserts of a present SPI, deletes of an absent one */
	__u64 cancelled;    /* insert-first episodes whose new SA went first */
	__u64 queue_full;   /* input refused: the reorder queue was full */
	/* limits reached: what did not fit was not followed */
	__u64 flows_refused;    /* an SA of a new flow, beyond max_flows */
	__u64 flow_sas_evicted; /* a flow's oldest SA forgotten: more than 8 at once */
	__u64 pins_refused;     /* an outbound policy naming an SPI, beyond 4096 */
	__u64 episodes_refused; /* an episode, beyond 65,536 open or settling */
	__u64 preinstall_refused; /* drops on an SPI without an SA, beyond the keys kept */
	__u64 flows, sas;   /* now */
};

/* The final episode, once its drops are in. */
typedef void (*episode_fn)(void *ctx, const struct episode *ep);

struct episode_engine;

struct episode_engine *episode_engine_new(episode_fn done, void *ctx);
void episode_engine_free(struct episode_engine *eng);
/*
 * Flows followed at most (one per namespace, addresses, reqid, mark, if_id and direction:
 * about 350 bytes each); SAs of further flows are counted in flows_refused.
 */
#define EPISODE_MAX_FLOWS 262144
void episode_set_max_flows(struct episode_engine *eng, __u32 max_flows);
/* How long a deleted SA may wait for its successor; EPISODE_TIMEOUT_NS by default. */
void episode_set_timeout(struct episode_engine *eng, __u64 timeout_ns);

/* An SA present when we start (a dump): known, but no episode of its own. */
void episode_baseline(struct episode_engine *eng, const struct sa_event *sa);
/*
 * A re-dump of a namespace after lost notifications: begin, episode_baseline for each SA in
 * the dump, end. SAs the dump lacks are forgotten without an episode (when they went is
 * not known); new ones join as baseline.
 */
void episode_resync_begin(struct episode_engine *eng, __u32 netns);
void episode_resync_end(struct episode_engine *eng, __u32 netns);

/* A namespace that is gone: its flows, episodes (open or settling) and pending input go. */
void episode_forget_netns(struct episode_engine *eng, __u32 netns);

/* SA events (add, update, delete, expire), policy events, flushes (proto 255: all), drops. */
void episode_feed_sa(struct episode_engine *eng, const struct sa_event *e);
void episode_feed_policy(struct episode_engine *eng, const struct policy_event *e);
void episode_feed_flush(struct episode_engine *eng, __u32 netns, __u8 proto, __u64 ts_ns);
void episode_feed_drops(struct episode_engine *eng, const struct drop_key *k, __u64 count,
			__u64 first_ns, __u64 last_ns);

/*
 * Apply what is older than now - EPISODE_REORDER_NS, time out what waited too long, hand
 * out the episodes whose settle time is over. flush: everything, now (at exit).
 */
void episode_advance(struct episode_engine *eng, __u64 now_ns, bool flush);

/*
 * Drops are read in scans: every drop before ts has been fed. An episode is handed out only
 * once its settle time is over by this too (not merely by the clock), so that the scan that
 * holds its last drops is not late for it. Without a call, the clock alone decides.
 */
void episode_drops_known_until(struct episode_engine *eng, __u64 ts);

void episode_get_stats(const struct episode_engine *eng, struct episode_stats *st);
/*
 * The SAs followed in a namespace and direction (SA_DIR_*) changed by delta (+1 or -1),
 * as events, re-dumps and forgotten namespaces are applied: for a gauge of SAs present.
 * Called with the engine's ctx.
 */
typedef void (*episode_sa_change_fn)(void *ctx, __u32 netns, __u8 dir, int delta);
void episode_on_sa_change(struct episode_engine *eng, episode_sa_change_fn fn);

#endif
