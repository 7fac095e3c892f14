/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Episodes of every verdict with known numbers, for test_explain and for
 * tests/tools/episode-fixtures (which prints them through the real JSON writer for the
 * host_explain scenario). An inbound ESP flow 10.0.0.1 -> 10.0.0.2, 0x1000 replaced by
 * 0x2000; times from T0.
 */
#ifndef REKEYGAP_TEST_EPISODE_FIXTURES_H
#define REKEYGAP_TEST_EPISODE_FIXTURES_H

#include <arpa/inet.h>
#include <stdio.h>
#include <sys/socket.h>

#include "cli.h"
#include "episode.h"

#define MS NSEC_PER_MSEC
#define T0 (7 * NSEC_PER_SEC) /* the episodes' first event */

static inline struct actor fixture_actor(const char *comm, __u32 pid)
{
	struct actor a = { .kind = ACTOR_PROCESS, .pid = pid };

	snprintf(a.comm, sizeof(a.comm), "%s", comm);
	return a;
}

/* 0x1000 replaced by 0x2000 by charon, 300 ms of overlap, nothing lost. */
static inline struct episode fixture_clean(__u64 id)
{
	struct episode ep = { .id = id, .kind = EPISODE_REPLACED, .verdict = VERDICT_CLEAN };

	ep.flow.family = AF_INET;
	ep.flow.proto = IPPROTO_ESP;
	ep.flow.dir = SA_DIR_IN;
	ep.flow.reqid = 1;
	inet_pton(AF_INET, "10.0.0.1", ep.flow.saddr);
	inet_pton(AF_INET, "10.0.0.2", ep.flow.daddr);
	ep.old_spi = htonl(0x1000);
	ep.new_spi = htonl(0x2000);
	ep.t_insert_new = T0;
	ep.t_delete_old = T0 + 300 * MS;
	ep.has_gap = true;
	ep.overlap_ns = 300 * MS;
	ep.insert_actor = fixture_actor("charon", 812);
	ep.delete_actor = fixture_actor("charon", 812);
	return ep;
}

static inline void fixture_lose(struct episode *ep, enum loss_phase p, enum drop_cause cause,
				__u64 n, __u64 first, __u64 last)
{
	ep->phase[p] = (struct loss_span){ .drops = n, .first_ns = first, .last_ns = last };
	ep->drops[cause] += n;
	ep->drops_total += n;
	if (!ep->first_drop_ns || first < ep->first_drop_ns)
		ep->first_drop_ns = first;
	if (last > ep->last_drop_ns)
		ep->last_drop_ns = last;
	ep->outage_ns = ep->last_drop_ns - ep->first_drop_ns;
}

/* The peer switched 84 ms before 0x2000 was installed here: 12 in_acquire. */
static inline struct episode fixture_peer_early(__u64 id)
{
	struct episode ep = fixture_clean(id);

	ep.t_insert_new = T0 + 84 * MS;
	ep.overlap_ns = 216 * MS;
	fixture_lose(&ep, LOSS_PEER_EARLY, DROP_IN_ACQUIRE, 12, T0, T0 + 80 * MS);
	ep.verdict = VERDICT_PEER_EARLY;
	ep.old_last_packet_ns = T0 + 150 * MS;
	ep.new_first_packet_ns = T0 + 90 * MS;
	return ep;
}

/* ip deleted 0x1000, then added 0x2000 5.5 ms later: 3 in_no_state in between. */
static inline struct episode fixture_gap(__u64 id)
{
	struct episode ep = fixture_clean(id);

	ep.t_delete_old = T0;
	ep.t_insert_new = T0 + 5500 * NSEC_PER_USEC;
	ep.gap_ns = 5500 * NSEC_PER_USEC;
	ep.overlap_ns = 0;
	ep.insert_actor = fixture_actor("ip", 4242);
	ep.delete_actor = fixture_actor("ip", 4241);
	fixture_lose(&ep, LOSS_GAP, DROP_IN_NO_STATE, 3, T0 + 1 * MS, T0 + 5 * MS);
	ep.verdict = VERDICT_GAP;
	return ep;
}

/* 0x1000 deleted 100 ms after the insert; the peer used it 250 ms after that. */
static inline struct episode fixture_old_removed_early(__u64 id)
{
	struct episode ep = fixture_clean(id);

	ep.t_delete_old = T0 + 100 * MS;
	ep.overlap_ns = 100 * MS;
	fixture_lose(&ep, LOSS_OLD_REMOVED_EARLY, DROP_IN_NO_STATE, 25, T0 + 110 * MS,
		     T0 + 350 * MS);
	ep.verdict = VERDICT_OLD_REMOVED_EARLY;
	return ep;
}

/* 0x1000 re-added with another key than the peer's: 7 ICV failures. */
static inline struct episode fixture_key_mismatch(__u64 id)
{
	struct episode ep = fixture_clean(id);

	ep.new_spi = ep.old_spi;
	ep.t_delete_old = T0;
	ep.t_insert_new = T0 + 1 * MS;
	ep.gap_ns = 1 * MS;
	ep.overlap_ns = 0;
	fixture_lose(&ep, LOSS_KEY_MISMATCH, DROP_IN_ICV_FAIL, 7, T0 + 2 * MS, T0 + 60 * MS);
	ep.verdict = VERDICT_KEY_MISMATCH;
	return ep;
}

static inline struct episode fixture_not_replaced(__u64 id)
{
	struct episode ep = fixture_clean(id);

	ep.kind = EPISODE_UNREPLACED;
	ep.new_spi = 0;
	ep.t_insert_new = 0;
	ep.has_gap = false;
	ep.overlap_ns = 0;
	ep.t_delete_old = T0;
	ep.delete_actor = fixture_actor("ip", 99);
	fixture_lose(&ep, LOSS_GAP, DROP_IN_NO_STATE, 4, T0 + 10 * MS, T0 + 40 * MS);
	ep.verdict = VERDICT_NOT_REPLACED;
	return ep;
}

static inline struct episode fixture_expired(__u64 id)
{
	struct episode ep = fixture_not_replaced(id);

	ep.kind = EPISODE_EXPIRED;
	ep.delete_actor = (struct actor){ .kind = ACTOR_KERNEL };
	ep.verdict = VERDICT_EXPIRED;
	return ep;
}

#endif
