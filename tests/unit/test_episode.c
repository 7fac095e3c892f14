// SPDX-License-Identifier: BSD-2-Clause
/*
 * Unit tests for userspace/episodes/episode.c: synthetic SA, policy and drop sequences, fed as the
 * monitor feeds them, and the episodes that come out. Times are in milliseconds here (MS).
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "episode.c"
#include "names.h"

#define MS 1000000ull
#define NS_A 4026532001u /* namespace inodes */
#define NS_B 4026532002u
#define MAX_OUT 128

static struct episode out[MAX_OUT];
static int n_out;

static void collect(void *ctx, const struct episode *ep)
{
	(void)ctx;
	assert_true(n_out < MAX_OUT);
	out[n_out++] = *ep;
}

static int setup(void **state)
{
	n_out = 0;
	*state = episode_engine_new(collect, NULL);
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	episode_engine_free(*state);
	return 0;
}

/* An ESP SA event of the tunnel 192.0.2.1 -> 192.0.2.2 (flow: reqid, dir) at t ms. */
static struct sa_event sa(__u8 kind, __u32 netns, __u32 spi, __u8 dir, __u32 reqid, __u64 t)
{
	struct sa_event e = {
		.ts_ns = t * MS,
		.netns = netns,
		.kind = kind,
		.family = AF_INET,
		.proto = IPPROTO_ESP,
		.spi = htonl(spi),
		.reqid = reqid,
		.dir = dir,
	};

	inet_pton(AF_INET, "192.0.2.1", e.saddr);
	inet_pton(AF_INET, "192.0.2.2", e.daddr);
	return e;
}

static void feed(struct episode_engine *eng, __u8 kind, __u32 netns, __u32 spi, __u8 dir,
		 __u64 t)
{
	struct sa_event e = sa(kind, netns, spi, dir, 1, t);

	episode_feed_sa(eng, &e);
}

static void baseline(struct episode_engine *eng, __u32 netns, __u32 spi, __u8 dir)
{
	struct sa_event e = sa(SA_EVENT_ADD, netns, spi, dir, 1, 0);

	episode_baseline(eng, &e);
}

/* count drops of cause on spi (0: none known) to 192.0.2.2, between first and last ms */
static void drops(struct episode_engine *eng, __u32 netns, __u32 spi, __u8 cause, __u64 count,
		  __u64 first, __u64 last)
{
	struct drop_key k = { .netns = netns, .spi = htonl(spi), .family = AF_INET, .cause = cause };

	inet_pton(AF_INET, "192.0.2.2", k.daddr);
	episode_feed_drops(eng, &k, count, first * MS, last * MS);
}

/* everything settled: well past the reorder, settle and timeout times */
static void settle_all(struct episode_engine *eng, __u64 t)
{
	episode_advance(eng, t * MS + EPISODE_TIMEOUT_NS + EPISODE_SETTLE_NS + EPISODE_REORDER_NS,
			false);
}

static void test_insert_before_delete(void **state)
{
	struct episode_engine *eng = *state;

	baseline(eng, NS_A, 0x1000, SA_DIR_OUT);
	feed(eng, SA_EVENT_ADD, NS_A, 0x2000, SA_DIR_OUT, 100);
	feed(eng, SA_EVENT_DELETE, NS_A, 0x1000, SA_DIR_OUT, 1100);
	/* complete at 1.1 s, but final only once its settle time is over */
	episode_advance(eng, 1200 * MS, false);
	assert_int_equal(n_out, 0);
	episode_advance(eng, 1100 * MS + EPISODE_SETTLE_NS + EPISODE_REORDER_NS, false);
	assert_int_equal(n_out, 1);
	assert_int_equal(out[0].kind, EPISODE_REPLACED);
	assert_int_equal(out[0].old_spi, htonl(0x1000));
	assert_int_equal(out[0].new_spi, htonl(0x2000));
	assert_true(out[0].has_gap);
	assert_int_equal(out[0].gap_ns, 0);
	assert_int_equal(out[0].overlap_ns, 1000 * MS);
	assert_int_equal(out[0].drops_total, 0);
	assert_int_equal(out[0].outage_ns, 0);
	assert_int_equal(out[0].flow.dir, SA_DIR_OUT);
	assert_int_equal(out[0].flow.netns, NS_A);
	assert_int_equal(out[0].id, 1);
	assert_int_equal(out[0].verdict, VERDICT_CLEAN);
}

/* The receiver of delete-add: no SA for 30 ms, 60 packets lost in it. */
static void test_delete_before_insert(void **state)
{
	struct episode_engine *eng = *state;

	baseline(eng, NS_B, 0x1000, SA_DIR_IN);
	feed(eng, SA_EVENT_DELETE, NS_B, 0x1000, SA_DIR_IN, 500);
	drops(eng, NS_B, 0x1000, DROP_IN_NO_STATE, 58, 501, 528);
	drops(eng, NS_B, 0x1000, DROP_IN_STATE_INVALID, 2, 500, 500);
	feed(eng, SA_EVENT_ADD, NS_B, 0x3000, SA_DIR_IN, 530);
	settle_all(eng, 530);
	assert_int_equal(n_out, 1);
	assert_int_equal(out[0].kind, EPISODE_REPLACED);
	assert_int_equal(out[0].gap_ns, 30 * MS);
	assert_int_equal(out[0].overlap_ns, 0);
	assert_int_equal(out[0].drops[DROP_IN_NO_STATE], 58);
	assert_int_equal(out[0].drops[DROP_IN_STATE_INVALID], 2);
	assert_int_equal(out[0].drops_total, 60);
	assert_int_equal(out[0].first_drop_ns, 500 * MS);
	assert_int_equal(out[0].last_drop_ns, 528 * MS);
	assert_int_equal(out[0].outage_ns, 28 * MS);
	/* the SA gone, the next not yet: all 60 fell in the gap */
	assert_int_equal(out[0].verdict, VERDICT_GAP);
	assert_int_equal(out[0].phase[LOSS_GAP].drops, 60);
	assert_int_equal(out[0].phase[LOSS_GAP].first_ns, 500 * MS);
	assert_int_equal(out[0].phase[LOSS_GAP].last_ns, 528 * MS);
}

/*
 * Tracepoint mode: the delete is timed when its netlink notification arrives, behind the
 * kernel's times of the drops it caused. No state for the old SPI means it was gone: the
 * drops timed before that receipt are the gap's too, not "other".
 */
static void test_delete_timed_late(void **state)
{
	struct episode_engine *eng = *state;

	baseline(eng, NS_B, 0x1000, SA_DIR_IN);
	feed(eng, SA_EVENT_DELETE, NS_B, 0x1000, SA_DIR_IN, 500);
	/* one scan's range across the receipt: 3 of its 7 ms before it */
	drops(eng, NS_B, 0x1000, DROP_IN_NO_STATE, 7, 497, 503);
	drops(eng, NS_B, 0x1000, DROP_IN_NO_STATE, 20, 504, 520);
	/* the same range with the SA still there, dying: its share before is other */
	drops(eng, NS_B, 0x1000, DROP_IN_STATE_INVALID, 7, 497, 503);
	feed(eng, SA_EVENT_ADD, NS_B, 0x3000, SA_DIR_IN, 530);
	settle_all(eng, 530);
	assert_int_equal(n_out, 1);
	assert_int_equal(out[0].drops_total, 34);
	assert_int_equal(out[0].phase[LOSS_GAP].drops, 31);
	assert_int_equal(out[0].phase[LOSS_GAP].first_ns, 497 * MS);
	assert_int_equal(out[0].phase[LOSS_OTHER].drops, 3);
	assert_int_equal(out[0].verdict, VERDICT_GAP);
}

/* delete-add keeps the SPI: the same SPI re-added is a replacement too. */
static void test_same_spi_readd(void **state)
{
	struct episode_engine *eng = *state;

	baseline(eng, NS_A, 0x1000, SA_DIR_OUT);
	for (int i = 0; i < 3; i++) {
		feed(eng, SA_EVENT_DELETE, NS_A, 0x1000, SA_DIR_OUT, 1000 * i + 10);
		feed(eng, SA_EVENT_ADD, NS_A, 0x1000, SA_DIR_OUT, 1000 * i + 12);
	}
	settle_all(eng, 3000);
	assert_int_equal(n_out, 3);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(out[i].old_spi, htonl(0x1000));
		assert_int_equal(out[i].new_spi, htonl(0x1000));
		assert_int_equal(out[i].gap_ns, 2 * MS);
		/* nothing lost, but 2 ms without an SA: a gap all the same */
		assert_int_equal(out[i].verdict, VERDICT_GAP);
		assert_int_equal(out[i].id, (uint64_t)i + 1);
	}
}

/* make-before-break at 5 rekeys/s, old SAs kept 1 s: a chain, each newcomer replacing the
 * SA before it, every episode complete when its old SA goes. */
static void test_fast_chain(void **state)
{
	struct episode_engine *eng = *state;
	struct episode_stats st;

	baseline(eng, NS_A, 0x1000, SA_DIR_IN);
	for (__u32 i = 1; i <= 5; i++)
		feed(eng, SA_EVENT_ADD, NS_A, 0x1000 + i, SA_DIR_IN, 200 * i);
	for (__u32 i = 0; i < 5; i++)
		feed(eng, SA_EVENT_DELETE, NS_A, 0x1000 + i, SA_DIR_IN, 200 * (i + 1) + 1000);
	settle_all(eng, 2000);
	assert_int_equal(n_out, 5);
	for (__u32 i = 0; i < 5; i++) {
		assert_int_equal(out[i].old_spi, htonl(0x1000 + i));
		assert_int_equal(out[i].new_spi, htonl(0x1001 + i));
		assert_int_equal(out[i].gap_ns, 0);
		assert_int_equal(out[i].overlap_ns, 1000 * MS);
	}
	episode_get_stats(eng, &st);
	assert_int_equal(st.sas, 1);
	assert_int_equal(st.flows, 1);
}

/* A flush of 100 flows (netlink: one FLUSHSA), then 99 of them come back. */
static void test_flush_many(void **state)
{
	struct episode_engine *eng = *state;
	struct episode_stats st;

	for (__u32 i = 0; i < 100; i++) {
		struct sa_event e = sa(SA_EVENT_ADD, NS_A, 0x100 + i, SA_DIR_OUT, 100 + i, 0);

		episode_baseline(eng, &e);
	}
	episode_get_stats(eng, &st);
	assert_int_equal(st.flows, 100);
	assert_int_equal(st.sas, 100);
	episode_feed_flush(eng, NS_B, IPSEC_PROTO_ANY, 10 * MS); /* another namespace: nothing */
	episode_feed_flush(eng, NS_A, IPPROTO_AH, 10 * MS);       /* another proto: nothing */
	episode_feed_flush(eng, NS_A, IPSEC_PROTO_ANY, 20 * MS);
	for (__u32 i = 0; i < 99; i++) {
		struct sa_event e = sa(SA_EVENT_ADD, NS_A, 0x1000 + i, SA_DIR_OUT, 100 + i, 25);

		episode_feed_sa(eng, &e);
	}
	episode_advance(eng, 25 * MS + EPISODE_REORDER_NS + EPISODE_SETTLE_NS, false);
	assert_int_equal(n_out, 99);
	for (int i = 0; i < 99; i++) {
		assert_int_equal(out[i].kind, EPISODE_REPLACED);
		assert_int_equal(out[i].gap_ns, 5 * MS);
	}
	/* the last one never came back */
	settle_all(eng, 25);
	assert_int_equal(n_out, 100);
	assert_int_equal(out[99].kind, EPISODE_UNREPLACED);
	assert_int_equal(out[99].old_spi, htonl(0x100 + 99));
	assert_int_equal(out[99].new_spi, 0);
	assert_false(out[99].has_gap);
	episode_get_stats(eng, &st);
	assert_int_equal(st.flows, 99);
	assert_int_equal(st.sas, 99);
}

/* Hard expiry: BPF reports the delete, then the expiry; no successor for a while. */
static void test_expiry(void **state)
{
	struct episode_engine *eng = *state;
	struct sa_event e;

	baseline(eng, NS_A, 0x1000, SA_DIR_OUT);
	baseline(eng, NS_A, 0x2000, SA_DIR_IN);
	feed(eng, SA_EVENT_DELETE, NS_A, 0x1000, SA_DIR_OUT, 2000);
	e = sa(SA_EVENT_EXPIRE, NS_A, 0x1000, SA_DIR_OUT, 1, 2000);
	e.hard = 1;
	episode_feed_sa(eng, &e);
	/* the sender blackholes: drops without an SA */
	drops(eng, NS_A, 0, DROP_OUT_NO_STATE, 500, 2001, 2500);
	/* netlink order: the expiry first, then the delete */
	e = sa(SA_EVENT_EXPIRE, NS_A, 0x2000, SA_DIR_IN, 1, 2000);
	e.hard = 1;
	episode_feed_sa(eng, &e);
	feed(eng, SA_EVENT_DELETE, NS_A, 0x2000, SA_DIR_IN, 2001);
	feed(eng, SA_EVENT_ADD, NS_A, 0x2001, SA_DIR_IN, 2600);
	settle_all(eng, 2600);
	assert_int_equal(n_out, 2);
	/* the inbound one was replaced (first complete), the outbound not */
	assert_int_equal(out[0].kind, EPISODE_EXPIRED);
	assert_int_equal(out[0].flow.dir, SA_DIR_IN);
	assert_int_equal(out[0].gap_ns, 599 * MS);
	assert_int_equal(out[0].drops_total, 0);
	assert_int_equal(out[1].kind, EPISODE_EXPIRED);
	assert_int_equal(out[1].flow.dir, SA_DIR_OUT);
	assert_int_equal(out[1].new_spi, 0);
	assert_int_equal(out[1].drops[DROP_OUT_NO_STATE], 500);
	assert_int_equal(out[1].outage_ns, 499 * MS);
	assert_int_equal(out[0].verdict, VERDICT_EXPIRED);
	assert_int_equal(out[1].verdict, VERDICT_EXPIRED);
	assert_int_equal(out[1].phase[LOSS_GAP].drops, 500);
}

/* An outbound policy whose template names the SPI: traffic moves when the policy does. */
static void policy_tmpl(struct episode_engine *eng, __u8 kind, __u32 spi, __u64 t)
{
	struct policy_event p = {
		.ts_ns = t * MS,
		.netns = NS_A,
		.kind = kind,
		.dir = XFRM_POLICY_OUT,
		.index = 9,
		.n_tmpl = 1,
		.tmpl_proto = IPPROTO_ESP,
		.tmpl_family = AF_INET,
		.tmpl_spi = htonl(spi),
		.tmpl_reqid = 1,
	};

	inet_pton(AF_INET, "192.0.2.1", p.tmpl_saddr);
	inet_pton(AF_INET, "192.0.2.2", p.tmpl_daddr);
	episode_feed_policy(eng, &p);
}

/* The policy named the SPI before its flow was known (a dump listing policies first) */
static void test_policy_before_flow(void **state)
{
	struct episode_engine *eng = *state;

	policy_tmpl(eng, POLICY_EVENT_ADD, 0x1000, 0);
	episode_advance(eng, MS + EPISODE_REORDER_NS, false); /* applied before the SA is known */
	baseline(eng, NS_A, 0x1000, SA_DIR_OUT);
	feed(eng, SA_EVENT_ADD, NS_A, 0x2000, SA_DIR_OUT, 100);
	feed(eng, SA_EVENT_DELETE, NS_A, 0x1000, SA_DIR_OUT, 200);
	episode_advance(eng, 240 * MS + EPISODE_REORDER_NS + EPISODE_SETTLE_NS, false);
	assert_int_equal(n_out, 0); /* the pinned flow waits for its policy to move */
	policy_tmpl(eng, POLICY_EVENT_UPDATE, 0x2000, 250);
	settle_all(eng, 250);
	assert_int_equal(n_out, 1);
	assert_int_equal(out[0].t_switch, 250 * MS);
	assert_int_equal(out[0].gap_ns, 50 * MS);
}

static void test_policy_switch(void **state)
{
	struct episode_engine *eng = *state;

	baseline(eng, NS_A, 0x1000, SA_DIR_OUT);
	policy_tmpl(eng, POLICY_EVENT_ADD, 0x1000, 0);
	/* new SA at 100, old one gone at 200, the policy moves at 250: 50 ms without an SA */
	feed(eng, SA_EVENT_ADD, NS_A, 0x2000, SA_DIR_OUT, 100);
	feed(eng, SA_EVENT_DELETE, NS_A, 0x1000, SA_DIR_OUT, 200);
	episode_advance(eng, 240 * MS + EPISODE_REORDER_NS + EPISODE_SETTLE_NS, false);
	assert_int_equal(n_out, 0); /* waits for the switch */
	policy_tmpl(eng, POLICY_EVENT_UPDATE, 0x2000, 250);
	/* next: new SA at 1000, the policy moves at 1010, old gone at 1500: no gap, no overlap */
	feed(eng, SA_EVENT_ADD, NS_A, 0x3000, SA_DIR_OUT, 1000);
	policy_tmpl(eng, POLICY_EVENT_UPDATE, 0x3000, 1010);
	feed(eng, SA_EVENT_DELETE, NS_A, 0x2000, SA_DIR_OUT, 1500);
	/* and the policy moving first: 20 ms with a template naming an SA not there yet */
	policy_tmpl(eng, POLICY_EVENT_UPDATE, 0x4000, 2000);
	feed(eng, SA_EVENT_ADD, NS_A, 0x4000, SA_DIR_OUT, 2020);
	feed(eng, SA_EVENT_DELETE, NS_A, 0x3000, SA_DIR_OUT, 2100);
	settle_all(eng, 2100);
	assert_int_equal(n_out, 3);
	assert_int_equal(out[0].new_spi, htonl(0x2000));
	assert_int_equal(out[0].t_switch, 250 * MS);
	assert_int_equal(out[0].gap_ns, 50 * MS);
	assert_int_equal(out[0].overlap_ns, 0);
	assert_int_equal(out[1].new_spi, htonl(0x3000));
	assert_int_equal(out[1].gap_ns, 0);
	assert_int_equal(out[1].overlap_ns, 0);
	assert_int_equal(out[2].new_spi, htonl(0x4000));
	assert_int_equal(out[2].gap_ns, 20 * MS);
}

/*
 * A CHILD_SA rekey collision, as strongSwan's charons made it (ike_charon_collision): both
 * sides rekeyed at once, so two new SAs join each flow, and the redundant one (R, the
 * exchange with the lower nonce) is deleted soon after, having replaced nothing. What was
 * rekeyed is old -> W, the survivor, whatever order the two came in; R is an SA added and
 * removed without replacing (a cancelled episode), and never the old side of W's episode.
 */
static void test_rekey_collision(void **state)
{
	struct episode_engine *eng = *state;
	struct episode_stats st;

	/* the outbound side: R first, then W; the policy moves to W; old, then R deleted */
	baseline(eng, NS_A, 0x1000, SA_DIR_OUT);
	policy_tmpl(eng, POLICY_EVENT_ADD, 0x1000, 0);
	feed(eng, SA_EVENT_ADD, NS_A, 0x1001, SA_DIR_OUT, 690);   /* R */
	feed(eng, SA_EVENT_ADD, NS_A, 0x2000, SA_DIR_OUT, 951);   /* W */
	policy_tmpl(eng, POLICY_EVENT_UPDATE, 0x2000, 1047);
	feed(eng, SA_EVENT_DELETE, NS_A, 0x1000, SA_DIR_OUT, 1071);
	feed(eng, SA_EVENT_DELETE, NS_A, 0x1001, SA_DIR_OUT, 1150);
	/* the inbound side: R first, then W; R deleted at once, old 5 s later */
	baseline(eng, NS_B, 0x1000, SA_DIR_IN);
	feed(eng, SA_EVENT_ADD, NS_B, 0x1001, SA_DIR_IN, 700);    /* R */
	feed(eng, SA_EVENT_ADD, NS_B, 0x2000, SA_DIR_IN, 940);    /* W */
	/* a drop on the old SPI before W came: R's episode had it, W's inherits it */
	drops(eng, NS_B, 0x1000, DROP_IN_STATE_INVALID, 1, 800, 800);
	feed(eng, SA_EVENT_DELETE, NS_B, 0x1001, SA_DIR_IN, 1100);
	feed(eng, SA_EVENT_DELETE, NS_B, 0x1000, SA_DIR_IN, 6155);
	/* the peer's inbound side, the other way round: W first, then R; a datagram lost on the
	 * old SPI while R was there stays with the rekey */
	baseline(eng, NS_A, 0x3000, SA_DIR_IN);
	feed(eng, SA_EVENT_ADD, NS_A, 0x4000, SA_DIR_IN, 720);    /* W */
	feed(eng, SA_EVENT_ADD, NS_A, 0x3001, SA_DIR_IN, 800);    /* R */
	drops(eng, NS_A, 0x3000, DROP_IN_STATE_INVALID, 1, 810, 810);
	feed(eng, SA_EVENT_DELETE, NS_A, 0x3001, SA_DIR_IN, 1120);
	feed(eng, SA_EVENT_DELETE, NS_A, 0x3000, SA_DIR_IN, 6200);
	settle_all(eng, 6200);
	assert_int_equal(n_out, 3);
	assert_int_equal(out[2].flow.dir, SA_DIR_IN);
	assert_int_equal(out[2].old_spi, htonl(0x3000));
	assert_int_equal(out[2].new_spi, htonl(0x4000));
	assert_int_equal(out[2].overlap_ns, (6200 - 720) * MS);
	assert_int_equal(out[2].drops_total, 1);
	assert_int_equal(out[0].flow.netns, NS_A);
	assert_int_equal(out[0].kind, EPISODE_REPLACED);
	assert_int_equal(out[0].old_spi, htonl(0x1000));
	assert_int_equal(out[0].new_spi, htonl(0x2000));
	assert_int_equal(out[0].t_insert_new, 951 * MS);
	assert_int_equal(out[0].t_delete_old, 1071 * MS);
	assert_int_equal(out[0].t_switch, 1047 * MS);
	assert_int_equal(out[0].gap_ns, 0);
	assert_int_equal(out[0].overlap_ns, 0);
	assert_int_equal(out[0].verdict, VERDICT_CLEAN);
	assert_int_equal(out[1].flow.netns, NS_B);
	assert_int_equal(out[1].kind, EPISODE_REPLACED);
	assert_int_equal(out[1].old_spi, htonl(0x1000));
	assert_int_equal(out[1].new_spi, htonl(0x2000));
	assert_int_equal(out[1].t_switch, 0);
	assert_int_equal(out[1].overlap_ns, (6155 - 940) * MS);
	assert_int_equal(out[1].drops_total, 1);
	assert_int_equal(out[1].drops[DROP_IN_STATE_INVALID], 1);
	assert_int_equal(out[1].first_drop_ns, 800 * MS);
	episode_get_stats(eng, &st);
	assert_int_equal(st.cancelled, 3); /* each R */
}

/* Two flows rekeyed at once (both directions, two namespaces): each its own episode. */
static void test_interleaved_flows(void **state)
{
	struct episode_engine *eng = *state;

	baseline(eng, NS_A, 0x1000, SA_DIR_OUT);
	baseline(eng, NS_B, 0x1000, SA_DIR_IN);
	baseline(eng, NS_B, 0x2000, SA_DIR_OUT);
	baseline(eng, NS_A, 0x2000, SA_DIR_IN);
	/* make-before-break of A->B, delete-add of B->A, interleaved */
	feed(eng, SA_EVENT_ADD, NS_B, 0x1001, SA_DIR_IN, 10);
	feed(eng, SA_EVENT_DELETE, NS_A, 0x2000, SA_DIR_IN, 11);
	feed(eng, SA_EVENT_ADD, NS_A, 0x1001, SA_DIR_OUT, 12);
	feed(eng, SA_EVENT_ADD, NS_A, 0x2000, SA_DIR_IN, 13);
	drops(eng, NS_A, 0x2000, DROP_IN_NO_STATE, 4, 11, 12);
	feed(eng, SA_EVENT_DELETE, NS_B, 0x2000, SA_DIR_OUT, 14);
	feed(eng, SA_EVENT_ADD, NS_B, 0x2000, SA_DIR_OUT, 15);
	feed(eng, SA_EVENT_DELETE, NS_A, 0x1000, SA_DIR_OUT, 1012);
	feed(eng, SA_EVENT_DELETE, NS_B, 0x1000, SA_DIR_IN, 1010);
	settle_all(eng, 1012);
	assert_int_equal(n_out, 4);
	for (int i = 0; i < 4; i++) {
		const struct episode *ep = &out[i];

		if (ep->flow.netns == NS_A && ep->flow.dir == SA_DIR_IN) {
			assert_int_equal(ep->gap_ns, 2 * MS);
			assert_int_equal(ep->drops_total, 4);
		} else if (ep->flow.netns == NS_B && ep->flow.dir == SA_DIR_OUT) {
			assert_int_equal(ep->gap_ns, 1 * MS);
			assert_int_equal(ep->drops_total, 0);
		} else {
			assert_int_equal(ep->gap_ns, 0);
			assert_int_equal(ep->overlap_ns, 1000 * MS);
			assert_int_equal(ep->new_spi, htonl(0x1001));
			assert_int_equal(ep->drops_total, 0);
		}
	}
}

/* per-CPU SA of cpu on the tunnel's outbound flow */
static struct sa_event pcpu_sa(__u8 kind, __u32 spi, __u32 cpu, __u64 t)
{
	struct sa_event e = sa(kind, NS_A, spi, SA_DIR_OUT, 1, t);

	e.pcpu = 1;
	e.pcpu_num = cpu;
	return e;
}

/*
 * Four per-CPU SAs of one selector and reqid live at once: four flows, not one with an
 * endless overlap. Rekeyed one by one, then all at once: one episode per CPU each time,
 * each pairing that CPU's SAs.
 */
static void test_pcpu_flows(void **state)
{
	struct episode_engine *eng = *state;
	struct sa_event e;
	int seen[4] = { 0 };

	for (__u32 c = 0; c < 4; c++) {
		e = pcpu_sa(SA_EVENT_ADD, 0x100 + c, c, 0);
		episode_baseline(eng, &e);
	}
	for (__u32 c = 0; c < 4; c++) { /* one by one, 100 ms apart, 10 ms of overlap */
		e = pcpu_sa(SA_EVENT_ADD, 0x200 + c, c, 100 + 100 * c);
		episode_feed_sa(eng, &e);
		e = pcpu_sa(SA_EVENT_DELETE, 0x100 + c, c, 110 + 100 * c);
		episode_feed_sa(eng, &e);
	}
	for (__u32 c = 0; c < 4; c++) { /* all at once: four inserts, then four deletes */
		e = pcpu_sa(SA_EVENT_ADD, 0x300 + c, 3 - c, 1000 + c);
		episode_feed_sa(eng, &e);
	}
	for (__u32 c = 0; c < 4; c++) {
		e = pcpu_sa(SA_EVENT_DELETE, 0x200 + c, c, 1010 + c);
		episode_feed_sa(eng, &e);
	}
	settle_all(eng, 1013);
	assert_int_equal(n_out, 8);
	for (int i = 0; i < n_out; i++) {
		const struct episode *ep = &out[i];
		__u32 c = ep->flow.pcpu_num;

		assert_int_equal(ep->kind, EPISODE_REPLACED);
		assert_int_equal(ep->flow.pcpu, 1);
		assert_true(c < 4);
		if (ep->old_spi == htonl(0x100 + c)) {
			assert_int_equal(ep->new_spi, htonl(0x200 + c));
			assert_int_equal(ep->overlap_ns, 10 * MS);
		} else {
			assert_int_equal(ep->old_spi, htonl(0x200 + c));
			assert_int_equal(ep->new_spi, htonl(0x300 + 3 - c));
		}
		assert_int_equal(ep->gap_ns, 0);
		assert_int_equal(ep->verdict, VERDICT_CLEAN);
		seen[c]++;
	}
	for (int c = 0; c < 4; c++)
		assert_int_equal(seen[c], 2);
}

/*
 * An SA migrated to a new destination (7.2's MIGRATE_STATE): one episode of its own kind,
 * clean without loss however short its moment without the SA; the SA is then on its new
 * flow, where the next rekey finds it. With drops in that moment: a gap, and its drops.
 */
static void test_migration(void **state)
{
	struct episode_engine *eng = *state;
	struct sa_event e;

	baseline(eng, NS_A, 0x1000, SA_DIR_OUT);
	baseline(eng, NS_A, 0x3000, SA_DIR_IN);
	e = sa(SA_EVENT_MIGRATE_OUT, NS_A, 0x1000, SA_DIR_OUT, 1, 100);
	episode_feed_sa(eng, &e);
	e = sa(SA_EVENT_MIGRATE_IN, NS_A, 0x1000, SA_DIR_OUT, 1, 100);
	e.ts_ns += 10000; /* 10 us later */
	inet_pton(AF_INET, "192.0.2.3", e.daddr);
	episode_feed_sa(eng, &e);
	/* the next rekey: on the new flow (192.0.2.3), replacing the migrated SA */
	e = sa(SA_EVENT_ADD, NS_A, 0x2000, SA_DIR_OUT, 1, 500);
	inet_pton(AF_INET, "192.0.2.3", e.daddr);
	episode_feed_sa(eng, &e);
	e = sa(SA_EVENT_DELETE, NS_A, 0x1000, SA_DIR_OUT, 1, 600);
	inet_pton(AF_INET, "192.0.2.3", e.daddr);
	episode_feed_sa(eng, &e);
	/* the inbound SA migrated too, and packets fell in its moment without an SA */
	e = sa(SA_EVENT_MIGRATE_OUT, NS_A, 0x3000, SA_DIR_IN, 1, 700);
	episode_feed_sa(eng, &e);
	drops(eng, NS_A, 0x3000, DROP_IN_NO_STATE, 3, 700, 701);
	e = sa(SA_EVENT_MIGRATE_IN, NS_A, 0x3000, SA_DIR_IN, 1, 701);
	e.reqid = 2; /* a new reqid: another flow again */
	episode_feed_sa(eng, &e);
	settle_all(eng, 701);
	assert_int_equal(n_out, 3);
	assert_int_equal(out[0].kind, EPISODE_MIGRATED);
	assert_int_equal(out[0].old_spi, htonl(0x1000));
	assert_int_equal(out[0].new_spi, htonl(0x1000));
	assert_true(out[0].has_gap);
	assert_int_equal(out[0].gap_ns, 10000);
	assert_int_equal(out[0].drops_total, 0);
	assert_int_equal(out[0].verdict, VERDICT_CLEAN);
	assert_int_equal(out[1].kind, EPISODE_REPLACED);
	assert_int_equal(out[1].old_spi, htonl(0x1000));
	assert_int_equal(out[1].new_spi, htonl(0x2000));
	assert_int_equal(out[1].flow.daddr[0], htonl(0xc0000203)); /* 192.0.2.3 */
	assert_int_equal(out[1].overlap_ns, 100 * MS);
	assert_int_equal(out[2].kind, EPISODE_MIGRATED);
	assert_int_equal(out[2].old_spi, htonl(0x3000));
	assert_int_equal(out[2].drops_total, 3);
	assert_int_equal(out[2].verdict, VERDICT_GAP);
}

/* A migration as netlink tells it: the SA by its identity only, leaving, then arriving. */
static struct sa_event migrate_told(__u8 kind, __u32 netns, __u32 spi, const char *daddr,
				    __u64 t)
{
	struct sa_event e = sa(kind, netns, spi, SA_DIR_UNKNOWN, 0, t);

	e.flags = SA_EVENT_F_IDENTITY_ONLY;
	memset(e.saddr, 0, sizeof(e.saddr));
	inet_pton(AF_INET, daddr, e.daddr);
	if (kind == SA_EVENT_MIGRATE_IN) {
		e.reqid = 1;
		inet_pton(AF_INET, "192.0.2.1", e.saddr);
	}
	return e;
}

/*
 * Migrations told by netlink only (tracepoint mode): the leaving SA found by destination and
 * SPI, the arriving one on the flow its direction and CPU were on; told by BPF first, the
 * netlink ones change nothing.
 */
static void test_migration_netlink(void **state)
{
	struct episode_engine *eng = *state;
	struct episode_stats st;
	struct sa_event e;

	baseline(eng, NS_A, 0x1000, SA_DIR_OUT);
	baseline(eng, NS_A, 0x3000, SA_DIR_IN);
	e = migrate_told(SA_EVENT_MIGRATE_OUT, NS_A, 0x1000, "192.0.2.2", 100);
	episode_feed_sa(eng, &e);
	e = migrate_told(SA_EVENT_MIGRATE_IN, NS_A, 0x1000, "192.0.2.3", 100);
	episode_feed_sa(eng, &e); /* one message: one time */
	/* the SA is on its new flow: its delete, as BPF or netlink tells it, finds it there */
	e = sa(SA_EVENT_ADD, NS_A, 0x2000, SA_DIR_OUT, 1, 500);
	inet_pton(AF_INET, "192.0.2.3", e.daddr);
	episode_feed_sa(eng, &e);
	e = sa(SA_EVENT_DELETE, NS_A, 0x1000, SA_DIR_OUT, 1, 600);
	inet_pton(AF_INET, "192.0.2.3", e.daddr);
	episode_feed_sa(eng, &e);
	/* BPF told the inbound SA's migration; netlink's, a little later, is a duplicate */
	e = sa(SA_EVENT_MIGRATE_OUT, NS_A, 0x3000, SA_DIR_IN, 1, 700);
	episode_feed_sa(eng, &e);
	e = sa(SA_EVENT_MIGRATE_IN, NS_A, 0x3000, SA_DIR_IN, 1, 700);
	e.ts_ns += 10000;
	inet_pton(AF_INET, "192.0.2.4", e.daddr);
	episode_feed_sa(eng, &e);
	e = migrate_told(SA_EVENT_MIGRATE_OUT, NS_A, 0x3000, "192.0.2.2", 720);
	episode_feed_sa(eng, &e);
	e = migrate_told(SA_EVENT_MIGRATE_IN, NS_A, 0x3000, "192.0.2.4", 720);
	episode_feed_sa(eng, &e);
	settle_all(eng, 720);
	assert_int_equal(n_out, 3);
	assert_int_equal(out[0].kind, EPISODE_MIGRATED);
	assert_int_equal(out[0].flow.dir, SA_DIR_OUT);
	assert_int_equal(out[0].old_spi, htonl(0x1000));
	assert_int_equal(out[0].new_spi, htonl(0x1000));
	assert_int_equal(out[0].drops_total, 0);
	assert_false(out[0].has_gap); /* netlink cannot time it */
	assert_int_equal(out[0].verdict, VERDICT_CLEAN);
	assert_int_equal(out[1].kind, EPISODE_REPLACED);
	assert_int_equal(out[1].flow.dir, SA_DIR_OUT);
	assert_int_equal(out[1].flow.daddr[0], htonl(0xc0000203)); /* 192.0.2.3 */
	assert_int_equal(out[1].old_spi, htonl(0x1000));
	assert_int_equal(out[1].new_spi, htonl(0x2000));
	assert_int_equal(out[2].kind, EPISODE_MIGRATED);
	assert_int_equal(out[2].flow.dir, SA_DIR_IN);
	assert_int_equal(out[2].old_spi, htonl(0x3000));
	assert_true(out[2].has_gap); /* BPF's */
	episode_get_stats(eng, &st);
	assert_int_equal(st.duplicates, 1); /* netlink's leaving of 0x3000 */
	assert_int_equal(st.sas, 2);        /* 0x2000 and 0x3000: no phantom SA */
}

/*
 * Netlink tells a migration once it is over (tracepoint mode): drops on its SPI at the old
 * address came before the news, and are the migration's all the same (its gap).
 */
static void test_migration_netlink_drops_first(void **state)
{
	struct episode_engine *eng = *state;
	struct sa_event e;

	baseline(eng, NS_A, 0x3000, SA_DIR_IN);
	drops(eng, NS_A, 0x3000, DROP_IN_NO_STATE, 4, 700, 710);
	e = migrate_told(SA_EVENT_MIGRATE_OUT, NS_A, 0x3000, "192.0.2.2", 720);
	episode_feed_sa(eng, &e);
	e = migrate_told(SA_EVENT_MIGRATE_IN, NS_A, 0x3000, "192.0.2.4", 720);
	episode_feed_sa(eng, &e);
	settle_all(eng, 720);
	assert_int_equal(n_out, 1);
	assert_int_equal(out[0].kind, EPISODE_MIGRATED);
	assert_int_equal(out[0].drops_total, 4);
	assert_int_equal(out[0].drops[DROP_IN_NO_STATE], 4);
	assert_int_equal(out[0].verdict, VERDICT_GAP);
}

/* Both sources report the same events, netlink later and the delete out of order. */
static void test_duplicates(void **state)
{
	struct episode_engine *eng = *state;
	struct episode_stats st;

	baseline(eng, NS_B, 0x1000, SA_DIR_IN);
	baseline(eng, NS_B, 0x1000, SA_DIR_IN); /* a dump seen twice */
	feed(eng, SA_EVENT_ADD, NS_B, 0x2000, SA_DIR_IN, 100);      /* BPF */
	feed(eng, SA_EVENT_DELETE, NS_B, 0x1000, SA_DIR_IN, 1130);  /* netlink, 30 ms late */
	feed(eng, SA_EVENT_ADD, NS_B, 0x2000, SA_DIR_IN, 120);      /* netlink, 20 ms late */
	feed(eng, SA_EVENT_DELETE, NS_B, 0x1000, SA_DIR_IN, 1100);  /* BPF, fed last */
	settle_all(eng, 1130);
	assert_int_equal(n_out, 1);
	assert_int_equal(out[0].overlap_ns, 1000 * MS); /* from the earliest of each */
	episode_get_stats(eng, &st);
	assert_int_equal(st.duplicates, 2);
	assert_int_equal(st.sas, 1);
}

/* Events fed after the reorder time has passed them still count, in their order. */
static void test_reorder_window(void **state)
{
	struct episode_engine *eng = *state;

	baseline(eng, NS_B, 0x1000, SA_DIR_IN);
	feed(eng, SA_EVENT_ADD, NS_B, 0x2000, SA_DIR_IN, 100);
	episode_advance(eng, 120 * MS, false); /* nothing applied yet: 100 > 120 - 50 */
	feed(eng, SA_EVENT_DELETE, NS_B, 0x1000, SA_DIR_IN, 90); /* BPF's delete, before it */
	settle_all(eng, 100);
	assert_int_equal(n_out, 1);
	assert_int_equal(out[0].gap_ns, 10 * MS);
	assert_int_equal(out[0].overlap_ns, 0);
}

/* A second SA that stays (no delete), and a newcomer deleted first: no episode. */
static void test_never_completes(void **state)
{
	struct episode_engine *eng = *state;
	struct episode_stats st;

	baseline(eng, NS_A, 0x1000, SA_DIR_OUT);
	feed(eng, SA_EVENT_ADD, NS_A, 0x2000, SA_DIR_OUT, 10);
	episode_advance(eng, 10 * MS + EPISODE_TIMEOUT_NS - MS, false);
	assert_int_equal(n_out, 0);
	settle_all(eng, 10);
	assert_int_equal(n_out, 0);
	/* a make-before-break that failed and was undone */
	feed(eng, SA_EVENT_ADD, NS_A, 0x3000, SA_DIR_OUT, 20000);
	feed(eng, SA_EVENT_DELETE, NS_A, 0x3000, SA_DIR_OUT, 20001);
	/* the episode that was cancelled by the timeout does not come back either */
	settle_all(eng, 20001);
	assert_int_equal(n_out, 0);
	episode_get_stats(eng, &st);
	assert_int_equal(st.cancelled, 2);
	assert_int_equal(st.sas, 2);
	/* a drop outside any episode is not one of theirs */
	drops(eng, NS_A, 0x1000, DROP_IN_ICV_FAIL, 5, 30000, 30001);
	feed(eng, SA_EVENT_DELETE, NS_A, 0x1000, SA_DIR_OUT, 30002);
	settle_all(eng, 30002);
	assert_int_equal(n_out, 0); /* 0x2000 is still there: no gap, no episode */
}

/* Late drops count until a settle time went by without any, not after. */
static void test_late_drops(void **state)
{
	struct episode_engine *eng = *state;

	baseline(eng, NS_B, 0x1000, SA_DIR_IN);
	feed(eng, SA_EVENT_ADD, NS_B, 0x2000, SA_DIR_IN, 0 + 1);
	feed(eng, SA_EVENT_DELETE, NS_B, 0x1000, SA_DIR_IN, 1001);
	drops(eng, NS_B, 0x1000, DROP_IN_NO_STATE, 3, 1200, 1300);  /* in flight: counted */
	drops(eng, NS_B, 0x1000, DROP_IN_NO_STATE, 7, 2100, 2200);  /* still coming: counted */
	drops(eng, NS_B, 0x1000, DROP_IN_NO_STATE, 4, 3300, 3400);  /* a second later: not */
	drops(eng, NS_B, 0x5555, DROP_IN_NO_STATE, 9, 1100, 1100);  /* another SPI */
	settle_all(eng, 3400);
	assert_int_equal(n_out, 1);
	assert_int_equal(out[0].drops_total, 10);
	assert_int_equal(out[0].outage_ns, 1000 * MS);
}

/* A peer that never switches: the episode is final EPISODE_TIMEOUT_NS after it completed. */
static void test_late_drops_bounded(void **state)
{
	struct episode_engine *eng = *state;

	baseline(eng, NS_B, 0x1000, SA_DIR_IN);
	feed(eng, SA_EVENT_ADD, NS_B, 0x2000, SA_DIR_IN, 1);
	feed(eng, SA_EVENT_DELETE, NS_B, 0x1000, SA_DIR_IN, 1001);
	for (__u64 t = 1500; t < 30000; t += 500)
		drops(eng, NS_B, 0x1000, DROP_IN_NO_STATE, 1, t, t);
	episode_advance(eng, 30000 * MS, false);
	assert_int_equal(n_out, 1);
	/* 1.5 s to 11.0 s, the timeout after 1.001 s, and the settle time after that */
	assert_int_equal(out[0].drops_total, (12000 - 1500) / 500 + 1);
}

/*
 * The peer switched first: its packets on the new SPI died here as in_acquire (larval
 * state, ALLOCSPI done, UPDSA not yet) before the SA came. They are the episode's that SA
 * joins; so are drops on the old SPI after its delete. A delta straddling the insert counts
 * once.
 */
static void test_preinstall_larval(void **state)
{
	struct episode_engine *eng = *state;

	baseline(eng, NS_B, 0x1000, SA_DIR_IN);
	drops(eng, NS_B, 0x2000, DROP_IN_ACQUIRE, 5, 100, 180);
	drops(eng, NS_B, 0x2000, DROP_IN_ACQUIRE, 2, 190, 199); /* a second scan */
	feed(eng, SA_EVENT_ADD, NS_B, 0x2000, SA_DIR_IN, 200);
	/* 7.2: the SA still VOID just after its insert (its UPDSA not returned yet) */
	drops(eng, NS_B, 0x2000, DROP_IN_STATE_INVALID, 3, 201, 202);
	/* and later the same cause is no longer the peer's haste */
	drops(eng, NS_B, 0x2000, DROP_IN_STATE_INVALID, 1, 400, 400);
	feed(eng, SA_EVENT_DELETE, NS_B, 0x1000, SA_DIR_IN, 1200);
	drops(eng, NS_B, 0x1000, DROP_IN_NO_STATE, 4, 1250, 1300); /* grace too short */
	settle_all(eng, 1300);
	assert_int_equal(n_out, 1);
	assert_int_equal(out[0].old_spi, htonl(0x1000));
	assert_int_equal(out[0].new_spi, htonl(0x2000));
	assert_int_equal(out[0].drops[DROP_IN_ACQUIRE], 7);
	assert_int_equal(out[0].drops[DROP_IN_NO_STATE], 4);
	assert_int_equal(out[0].drops[DROP_IN_STATE_INVALID], 4);
	assert_int_equal(out[0].drops_total, 15);
	assert_int_equal(out[0].first_drop_ns, 100 * MS);
	assert_int_equal(out[0].outage_ns, 1200 * MS);
	/* 10 before its SA was valid, 4 on the old SPI after it went: the peer was early */
	assert_int_equal(out[0].verdict, VERDICT_PEER_EARLY);
	assert_int_equal(out[0].phase[LOSS_PEER_EARLY].drops, 10);
	assert_int_equal(out[0].phase[LOSS_PEER_EARLY].first_ns, 100 * MS);
	assert_int_equal(out[0].phase[LOSS_PEER_EARLY].last_ns, 202 * MS);
	assert_int_equal(out[0].phase[LOSS_OTHER].drops, 1);
	assert_int_equal(out[0].phase[LOSS_OLD_REMOVED_EARLY].drops, 4);
	assert_int_equal(out[0].phase[LOSS_GAP].drops, 0);
}

/* The old SA deleted, the peer already on an SPI this side has not installed at all. */
static void test_preinstall_unknown_spi(void **state)
{
	struct episode_engine *eng = *state;
	struct episode_stats st;

	baseline(eng, NS_B, 0x1000, SA_DIR_IN);
	feed(eng, SA_EVENT_DELETE, NS_B, 0x1000, SA_DIR_IN, 100);
	drops(eng, NS_B, 0x2000, DROP_IN_NO_STATE, 30, 150, 390);
	drops(eng, NS_B, 0x7777, DROP_IN_NO_STATE, 9, 150, 150); /* an SPI no SA takes */
	feed(eng, SA_EVENT_ADD, NS_B, 0x2000, SA_DIR_IN, 400);
	settle_all(eng, 400);
	assert_int_equal(n_out, 1);
	assert_int_equal(out[0].kind, EPISODE_REPLACED);
	assert_int_equal(out[0].gap_ns, 300 * MS);
	assert_int_equal(out[0].drops_total, 30);
	assert_int_equal(out[0].drops[DROP_IN_NO_STATE], 30);
	/* 300 ms without an SA, but what was lost was sent on the new SPI: peer_early */
	assert_int_equal(out[0].verdict, VERDICT_PEER_EARLY);
	assert_int_equal(out[0].phase[LOSS_PEER_EARLY].drops, 30);
	episode_get_stats(eng, &st);
	assert_int_equal(st.preinstall_refused, 0);
}

/* Bounded: an SA coming more than EPISODE_PREINSTALL_NS after the drops does not take them;
 * a flow's first SA (no rekey) takes nothing; keys beyond the cap are counted. */
static void test_preinstall_bounds(void **state)
{
	struct episode_engine *eng = *state;
	struct episode_stats st;
	__u64 late = 100 + EPISODE_PREINSTALL_NS / MS + 100;

	baseline(eng, NS_B, 0x1000, SA_DIR_IN);
	drops(eng, NS_B, 0x2000, DROP_IN_ACQUIRE, 5, 100, 100);
	drops(eng, NS_A, 0x3000, DROP_IN_ACQUIRE, 6, 100, 100);
	feed(eng, SA_EVENT_ADD, NS_A, 0x3000, SA_DIR_IN, 200); /* NS_A's first SA */
	feed(eng, SA_EVENT_ADD, NS_B, 0x2000, SA_DIR_IN, late);
	feed(eng, SA_EVENT_DELETE, NS_B, 0x1000, SA_DIR_IN, late + 10);
	settle_all(eng, late + 10);
	assert_int_equal(n_out, 1);
	assert_int_equal(out[0].drops_total, 0);
	for (__u32 i = 0; i < EPISODE_PREINSTALL_KEYS + 3; i++)
		drops(eng, NS_B, 0x100000 + i, DROP_IN_NO_STATE, 2, late + 100, late + 100);
	episode_advance(eng, (late + 200) * MS, false);
	episode_get_stats(eng, &st);
	assert_int_equal(st.preinstall_refused, 3 * 2);
}

/*
 * A re-dump after lost notifications: what is gone is forgotten, what is new joins. An SA
 * that replaced one while we were not listening is still a rekey (resynced: its times are
 * the dump's, so no gap or overlap); the next real rekey is measured as usual.
 */
static void test_resync(void **state)
{
	struct episode_engine *eng = *state;
	struct episode_stats st;

	baseline(eng, NS_A, 0x1000, SA_DIR_OUT);
	baseline(eng, NS_A, 0x2000, SA_DIR_IN);
	baseline(eng, NS_B, 0x3000, SA_DIR_IN);
	episode_advance(eng, 50 * MS + EPISODE_REORDER_NS, false);
	episode_resync_begin(eng, NS_A);
	baseline(eng, NS_A, 0x1001, SA_DIR_OUT); /* replaced while we were not listening */
	baseline(eng, NS_A, 0x2000, SA_DIR_IN);
	episode_resync_end(eng, NS_A);
	episode_get_stats(eng, &st);
	assert_int_equal(st.sas, 3);
	assert_int_equal(st.flows, 3);
	settle_all(eng, 50);
	assert_int_equal(n_out, 1);
	assert_int_equal(out[0].old_spi, htonl(0x1000));
	assert_int_equal(out[0].new_spi, htonl(0x1001));
	assert_true(out[0].resynced);
	assert_false(out[0].has_gap);
	feed(eng, SA_EVENT_ADD, NS_A, 0x1002, SA_DIR_OUT, 100);
	feed(eng, SA_EVENT_DELETE, NS_A, 0x1001, SA_DIR_OUT, 150);
	settle_all(eng, 150);
	assert_int_equal(n_out, 2);
	assert_int_equal(out[1].old_spi, htonl(0x1001));
	assert_int_equal(out[1].overlap_ns, 50 * MS);
	assert_false(out[1].resynced);
}

/*
 * A BPF run the kernel skipped (a preempted program, on 7.x's lazy preemption) loses one SA
 * event; the re-dump that follows finds what it said. A lost insert: the rekey opens at the
 * dump and closes with the old SA's delete. A lost delete: the rekey closes at the dump.
 */
static void test_resync_lost_insert_and_delete(void **state)
{
	struct episode_engine *eng = *state;

	baseline(eng, NS_A, 0x1000, SA_DIR_IN);
	baseline(eng, NS_A, 0x2000, SA_DIR_OUT);
	/* in: 0x1001's insert lost */
	feed(eng, SA_EVENT_ADD, NS_A, 0x2001, SA_DIR_OUT, 100); /* out: 0x2000's delete lost */
	episode_advance(eng, 200 * MS + EPISODE_REORDER_NS, false);
	episode_resync_begin(eng, NS_A);
	baseline(eng, NS_A, 0x1000, SA_DIR_IN);
	baseline(eng, NS_A, 0x1001, SA_DIR_IN);
	baseline(eng, NS_A, 0x2001, SA_DIR_OUT);
	episode_resync_end(eng, NS_A);
	/* settled, the other still open */
	episode_advance(eng, 200 * MS + EPISODE_SETTLE_NS + EPISODE_REORDER_NS + MS, false);
	assert_int_equal(n_out, 1); /* out: complete at the dump */
	assert_int_equal(out[0].old_spi, htonl(0x2000));
	assert_int_equal(out[0].new_spi, htonl(0x2001));
	assert_int_equal(out[0].t_insert_new, 100 * MS);
	assert_int_equal(out[0].t_delete_old, 200 * MS);
	assert_true(out[0].resynced);
	assert_false(out[0].has_gap);
	feed(eng, SA_EVENT_DELETE, NS_A, 0x1000, SA_DIR_IN, 3000);
	settle_all(eng, 3000);
	assert_int_equal(n_out, 2); /* in: open at the dump, complete at the delete */
	assert_int_equal(out[1].old_spi, htonl(0x1000));
	assert_int_equal(out[1].new_spi, htonl(0x1001));
	assert_int_equal(out[1].t_insert_new, 200 * MS);
	assert_true(out[1].resynced);
	assert_false(out[1].has_gap);
}

/*
 * A storm, then a resync: inserts still in the reorder queue when the re-dump starts are
 * older than it; they must not come back after it (found by the monitor_storm scenario).
 */
static void test_resync_after_queued(void **state)
{
	struct episode_engine *eng = *state;
	struct episode_stats st;

	baseline(eng, NS_A, 0x1000, SA_DIR_OUT);
	for (__u32 i = 0; i < 50; i++) { /* delivered, not applied yet; deletes lost */
		struct sa_event e = sa(SA_EVENT_ADD, NS_A, 0x5000 + i, SA_DIR_OUT, 100 + i, 10);

		episode_feed_sa(eng, &e);
	}
	feed(eng, SA_EVENT_ADD, NS_B, 0x2000, SA_DIR_IN, 10); /* another namespace: waits */
	episode_resync_begin(eng, NS_A);
	baseline(eng, NS_A, 0x1000, SA_DIR_OUT); /* the dump: the storm's SAs are gone */
	episode_resync_end(eng, NS_A);
	episode_advance(eng, 10 * MS + EPISODE_REORDER_NS, false);
	episode_get_stats(eng, &st);
	assert_int_equal(st.sas, 2); /* 0x1000 in A, 0x2000 in B */
	assert_int_equal(st.flows, 2);
	settle_all(eng, 10);
	assert_int_equal(n_out, 0); /* and no phantom episode */
}

/* A namespace deleted: its flows, open episodes and queued input go; others stay. */
static void test_forget_netns(void **state)
{
	struct episode_engine *eng = *state;
	struct episode_stats st;

	baseline(eng, NS_A, 0x1000, SA_DIR_OUT);
	baseline(eng, NS_B, 0x1000, SA_DIR_IN);
	feed(eng, SA_EVENT_DELETE, NS_A, 0x1000, SA_DIR_OUT, 10); /* applied: an open episode */
	feed(eng, SA_EVENT_DELETE, NS_B, 0x1000, SA_DIR_IN, 20);
	episode_advance(eng, 15 * MS + EPISODE_REORDER_NS, false);
	feed(eng, SA_EVENT_ADD, NS_A, 0x1001, SA_DIR_OUT, 30);   /* queued */
	episode_forget_netns(eng, NS_A);
	feed(eng, SA_EVENT_ADD, NS_B, 0x1001, SA_DIR_IN, 40);
	settle_all(eng, 40);
	assert_int_equal(n_out, 1);
	assert_int_equal(out[0].flow.netns, NS_B);
	episode_get_stats(eng, &st);
	assert_int_equal(st.flows, 1);
	assert_int_equal(st.sas, 1);
}

/* The namespace lost the address that told the SA's direction: its delete comes with
 * another direction, and still finds the SA. */
static void test_delete_other_dir(void **state)
{
	struct episode_engine *eng = *state;
	struct episode_stats st;

	baseline(eng, NS_B, 0x1000, SA_DIR_IN);
	feed(eng, SA_EVENT_ADD, NS_B, 0x1001, SA_DIR_IN, 10);
	feed(eng, SA_EVENT_DELETE, NS_B, 0x1000, SA_DIR_UNKNOWN, 20);
	settle_all(eng, 20);
	assert_int_equal(n_out, 1);
	assert_int_equal(out[0].flow.dir, SA_DIR_IN);
	assert_int_equal(out[0].overlap_ns, 10 * MS);
	episode_get_stats(eng, &st);
	assert_int_equal(st.duplicates, 0);
	assert_int_equal(st.sas, 1);
}

/* The SA gauge's input: what the engine says of its SAs coming and going. */
static long sa_changes[2][3]; /* [netns is NS_B][dir] */

static void on_sa_change(void *ctx, __u32 netns, __u8 dir, int delta)
{
	(void)ctx;
	assert_true(dir < 3);
	sa_changes[netns == NS_B][dir] += delta;
}

static void test_sa_counts(void **state)
{
	struct episode_engine *eng = *state;

	memset(sa_changes, 0, sizeof(sa_changes));
	episode_on_sa_change(eng, on_sa_change);
	baseline(eng, NS_A, 0x1000, SA_DIR_OUT);
	baseline(eng, NS_A, 0x2000, SA_DIR_IN);
	baseline(eng, NS_B, 0x1000, SA_DIR_IN);
	feed(eng, SA_EVENT_ADD, NS_B, 0x1001, SA_DIR_IN, 5);
	episode_advance(eng, 100 * MS, false);
	assert_int_equal(sa_changes[0][SA_DIR_OUT], 1);
	assert_int_equal(sa_changes[0][SA_DIR_IN], 1);
	assert_int_equal(sa_changes[1][SA_DIR_IN], 2);
	assert_int_equal(sa_changes[1][SA_DIR_OUT], 0);
	/* a duplicate insert changes nothing; a delete takes one away */
	feed(eng, SA_EVENT_ADD, NS_B, 0x1001, SA_DIR_IN, 200);
	feed(eng, SA_EVENT_DELETE, NS_A, 0x2000, SA_DIR_IN, 210);
	episode_advance(eng, 400 * MS, false);
	assert_int_equal(sa_changes[1][SA_DIR_IN], 2);
	assert_int_equal(sa_changes[0][SA_DIR_IN], 0);
	assert_string_equal(episode_kind_name(EPISODE_UNREPLACED), "unreplaced");
	assert_string_equal(episode_kind_name(0), "?");
}

/*
 * Caps: flows beyond the cap and a flow's SAs beyond 8 counted, not kept; the SA gauge is
 * told of each SA followed, and of each one a forgotten namespace takes with it.
 */
static void test_limits(void **state)
{
	struct episode_engine *eng = *state;
	struct episode_stats st;

	memset(sa_changes, 0, sizeof(sa_changes));
	episode_on_sa_change(eng, on_sa_change);
	episode_set_max_flows(eng, 50);
	for (__u32 i = 0; i < 60; i++) { /* 60 flows (reqids), one SA each, one direction */
		struct sa_event e = sa(SA_EVENT_ADD, NS_A, 0x100 + i, SA_DIR_OUT, 100 + i, 0);

		episode_baseline(eng, &e);
	}
	for (__u32 i = 0; i < 9; i++) /* 9 SAs in one flow: one too many */
		baseline(eng, NS_B, 0x1000 + i, SA_DIR_IN);
	episode_get_stats(eng, &st);
	assert_int_equal(st.flows, 50);
	assert_int_equal(st.flows_refused, 10 + 9); /* NS_B's flow too: 50 already */
	assert_int_equal(st.flow_sas_evicted, 0);
	assert_int_equal(st.sas, 50);
	assert_int_equal(sa_changes[0][SA_DIR_OUT], 50);

	episode_forget_netns(eng, NS_A);
	for (__u32 i = 0; i < 9; i++)
		baseline(eng, NS_B, 0x1000 + i, SA_DIR_IN);
	episode_get_stats(eng, &st);
	assert_int_equal(st.flows, 1);
	assert_int_equal(st.flow_sas_evicted, 1);
	assert_int_equal(st.sas, 8);
	assert_int_equal(sa_changes[0][SA_DIR_OUT], 0); /* NS_A's SAs went with it */
	assert_int_equal(sa_changes[1][SA_DIR_IN], 8);  /* 9 in, the oldest evicted */
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

/* Make-before-break whose old inbound SA went while the peer still sent on it. */
static void test_verdict_old_removed_early(void **state)
{
	struct episode_engine *eng = *state;

	baseline(eng, NS_B, 0x1000, SA_DIR_IN);
	feed(eng, SA_EVENT_ADD, NS_B, 0x2000, SA_DIR_IN, 100);
	feed(eng, SA_EVENT_DELETE, NS_B, 0x1000, SA_DIR_IN, 150);
	drops(eng, NS_B, 0x1000, DROP_IN_NO_STATE, 12, 151, 260);
	settle_all(eng, 260);
	assert_int_equal(n_out, 1);
	assert_int_equal(out[0].overlap_ns, 50 * MS);
	assert_int_equal(out[0].verdict, VERDICT_OLD_REMOVED_EARLY);
	assert_int_equal(out[0].phase[LOSS_OLD_REMOVED_EARLY].drops, 12);
	assert_int_equal(out[0].phase[LOSS_OLD_REMOVED_EARLY].last_ns, 260 * MS);
}

/* The same SPI re-added with another key than the peer's: integrity failures after it. */
static void test_verdict_key_mismatch(void **state)
{
	struct episode_engine *eng = *state;

	baseline(eng, NS_B, 0x1000, SA_DIR_IN);
	feed(eng, SA_EVENT_DELETE, NS_B, 0x1000, SA_DIR_IN, 100);
	drops(eng, NS_B, 0x1000, DROP_IN_NO_STATE, 2, 100, 101);
	feed(eng, SA_EVENT_ADD, NS_B, 0x1000, SA_DIR_IN, 102);
	drops(eng, NS_B, 0x1000, DROP_IN_ICV_FAIL, 40, 103, 500);
	settle_all(eng, 500);
	assert_int_equal(n_out, 1);
	assert_int_equal(out[0].verdict, VERDICT_KEY_MISMATCH);
	assert_int_equal(out[0].phase[LOSS_KEY_MISMATCH].drops, 40);
	assert_int_equal(out[0].phase[LOSS_GAP].drops, 2);
	assert_int_equal(out[0].drops_total, 42);
}

/* The scan that holds an episode's last drops may come after its settle time by the clock:
 * the episode waits for it. */
static void test_waits_for_drop_scan(void **state)
{
	struct episode_engine *eng = *state;
	__u64 t_settled = 200 * MS + EPISODE_SETTLE_NS + EPISODE_REORDER_NS;

	baseline(eng, NS_B, 0x1000, SA_DIR_IN);
	feed(eng, SA_EVENT_DELETE, NS_B, 0x1000, SA_DIR_IN, 100);
	feed(eng, SA_EVENT_ADD, NS_B, 0x2000, SA_DIR_IN, 200);
	episode_drops_known_until(eng, 1000 * MS); /* the last scan, before the settle end */
	episode_advance(eng, t_settled + 100 * MS, false);
	assert_int_equal(n_out, 0);
	/* the late scan: drops up to the end of the settle time */
	drops(eng, NS_B, 0x1000, DROP_IN_NO_STATE, 9, 1000, 1190);
	episode_drops_known_until(eng, t_settled + 150 * MS);
	episode_advance(eng, t_settled + 150 * MS, false);
	/* and, drops coming as late as 1.19 s, for a settle time after that */
	assert_int_equal(n_out, 0);
	episode_drops_known_until(eng, t_settled + 1000 * MS);
	episode_advance(eng, t_settled + 1000 * MS, false);
	assert_int_equal(n_out, 1);
	assert_int_equal(out[0].drops_total, 9);
}

/* A scan's drops across the delete and the insert: shared by time, the total exact. */
static void test_phase_split(void **state)
{
	struct episode_engine *eng = *state;

	baseline(eng, NS_B, 0x1000, SA_DIR_IN);
	feed(eng, SA_EVENT_DELETE, NS_B, 0x1000, SA_DIR_IN, 100);
	feed(eng, SA_EVENT_ADD, NS_B, 0x2000, SA_DIR_IN, 200);
	/* (state invalid: no state would put the part before the delete in the gap too, see
	 * test_delete_timed_late) */
	drops(eng, NS_B, 0x1000, DROP_IN_STATE_INVALID, 31, 0, 300);
	settle_all(eng, 300);
	assert_int_equal(n_out, 1);
	assert_int_equal(out[0].drops_total, 31);
	assert_int_equal(out[0].phase[LOSS_OTHER].drops, 10);
	assert_int_equal(out[0].phase[LOSS_GAP].drops, 10);
	assert_int_equal(out[0].phase[LOSS_GAP].first_ns, 100 * MS);
	assert_int_equal(out[0].phase[LOSS_GAP].last_ns, 200 * MS - 1);
	assert_int_equal(out[0].phase[LOSS_OLD_REMOVED_EARLY].drops, 11);
	assert_int_equal(out[0].phase[LOSS_OLD_REMOVED_EARLY].last_ns, 300 * MS);
	assert_int_equal(out[0].verdict, VERDICT_OLD_REMOVED_EARLY);
}

/* A deleted SA that nothing replaced; ties between phases go to the more specific one. */
static void test_verdict_others(void **state)
{
	struct episode ep = { .kind = EPISODE_UNREPLACED };

	(void)state;
	assert_int_equal(episode_verdict_of(&ep), VERDICT_NOT_REPLACED);
	ep.kind = EPISODE_REPLACED;
	assert_int_equal(episode_verdict_of(&ep), VERDICT_CLEAN);
	ep.phase[LOSS_GAP].drops = ep.phase[LOSS_PEER_EARLY].drops = 3;
	ep.drops_total = 6;
	assert_int_equal(episode_verdict_of(&ep), VERDICT_PEER_EARLY);
	ep.phase[LOSS_GAP].drops = 4;
	ep.drops_total = 7;
	assert_int_equal(episode_verdict_of(&ep), VERDICT_GAP);
	/* lost, but in no phase that says why: never "clean" */
	memset(ep.phase, 0, sizeof(ep.phase));
	ep.phase[LOSS_OTHER].drops = 1;
	ep.drops_total = 1;
	assert_int_equal(episode_verdict_of(&ep), VERDICT_GAP);
}

static struct sa_event by(struct sa_event e, __u8 kind, __u32 pid, const char *comm)
{
	e.actor.kind = kind;
	e.actor.pid = pid;
	strncpy(e.actor.comm, comm, sizeof(e.actor.comm));
	return e;
}

/* Who inserted and deleted; when traffic left the old SA and reached the new one. */
static void test_actors_and_switchover(void **state)
{
	struct episode_engine *eng = *state;
	struct sa_event e;

	baseline(eng, NS_A, 0x1000, SA_DIR_OUT);
	e = by(sa(SA_EVENT_ADD, NS_A, 0x2000, SA_DIR_OUT, 1, 100), ACTOR_PROCESS, 812, "charon");
	episode_feed_sa(eng, &e);
	/* another SA's first packet, and one of the new SPI before it came: not the switch */
	e = sa(SA_EVENT_FIRST_PACKET, NS_A, 0x3000, SA_DIR_OUT, 1, 101);
	episode_feed_sa(eng, &e);
	e = sa(SA_EVENT_FIRST_PACKET, NS_A, 0x2000, SA_DIR_OUT, 1, 99);
	episode_feed_sa(eng, &e);
	/* the observer knows no direction for it yet: the flow still takes it */
	e = sa(SA_EVENT_FIRST_PACKET, NS_A, 0x2000, SA_DIR_UNKNOWN, 1, 103);
	episode_feed_sa(eng, &e);
	e = by(sa(SA_EVENT_DELETE, NS_A, 0x1000, SA_DIR_OUT, 1, 400), ACTOR_PROCESS, 812, "charon");
	e.last_packet_ns = 102 * MS;
	episode_feed_sa(eng, &e);
	/* the next rekey: the kernel's hard expiry, seen by netlink only (actor unknown) */
	e = sa(SA_EVENT_ADD, NS_A, 0x4000, SA_DIR_OUT, 1, 5000);
	episode_feed_sa(eng, &e);
	e = sa(SA_EVENT_EXPIRE, NS_A, 0x2000, SA_DIR_OUT, 1, 5100);
	e.hard = 1;
	episode_feed_sa(eng, &e);
	feed(eng, SA_EVENT_DELETE, NS_A, 0x2000, SA_DIR_OUT, 5101);
	settle_all(eng, 5101);
	assert_int_equal(n_out, 2);
	assert_int_equal(out[0].insert_actor.kind, ACTOR_PROCESS);
	assert_int_equal(out[0].insert_actor.pid, 812);
	assert_string_equal(out[0].insert_actor.comm, "charon");
	assert_int_equal(out[0].delete_actor.pid, 812);
	assert_int_equal(out[0].new_first_packet_ns, 103 * MS);
	assert_int_equal(out[0].old_last_packet_ns, 102 * MS);
	assert_int_equal(out[0].verdict, VERDICT_CLEAN);
	assert_int_equal(out[1].kind, EPISODE_EXPIRED);
	assert_int_equal(out[1].insert_actor.kind, ACTOR_UNKNOWN);
	assert_int_equal(out[1].delete_actor.kind, ACTOR_KERNEL);
	assert_int_equal(out[1].new_first_packet_ns, 0);
	assert_int_equal(out[1].old_last_packet_ns, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_insert_before_delete), T(test_delete_before_insert), T(test_same_spi_readd),
		T(test_fast_chain),
		T(test_flush_many),           T(test_expiry),              T(test_policy_switch),
		T(test_policy_before_flow),
		T(test_rekey_collision),
		T(test_interleaved_flows),    T(test_pcpu_flows),          T(test_migration),
		T(test_migration_netlink),
		T(test_delete_timed_late),
		T(test_duplicates),          T(test_reorder_window),
		T(test_never_completes),      T(test_late_drops), T(test_late_drops_bounded),          T(test_sa_counts),
		T(test_resync),                T(test_forget_netns),        T(test_delete_other_dir),
		T(test_limits),               T(test_resync_after_queued),
		T(test_resync_lost_insert_and_delete), T(test_migration_netlink_drops_first),
		T(test_preinstall_larval),    T(test_preinstall_unknown_spi), T(test_preinstall_bounds),
		T(test_verdict_old_removed_early), T(test_verdict_key_mismatch),
		T(test_verdict_others), T(test_phase_split), T(test_waits_for_drop_scan),       T(test_actors_and_switchover),
	};

	return cmocka_run_group_tests_name("episode", tests, NULL, NULL);
}
