// SPDX-License-Identifier: BSD-2-Clause
/*
 * Unit tests for userspace/export/metrics.c: episodes in, exposition out. The text is checked line
 * by line (the format promtool checks in the scenarios), in both formats.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "metrics.c"

static char *rendered;
static size_t rendered_len;

/* The present as a monitor would hand it over: SAs, MIB lines, what was lost. */
static void render(struct metrics *m, bool om)
{
	static const struct metrics_sa_count sas[] = { { .netns = "gw1", .dir = SA_DIR_OUT, .n = 3 } };
	static const struct metrics_mib_line mib[] = {
		{ .netns = "gw1", .name = "XfrmInNoStates", .value = 7 },
		{ .netns = "gw1", .name = "XfrmSomethingNew", .value = 1 }, /* newer kernel: kept */
	};
	struct metrics_snapshot v = { .probe_mode = "fentry", .sa_source = "bpf",
				      .mib_note = "no /proc/net/xfrm_stat in gw2",
				      .events_lost = 3, .resyncs = 1, .preinstall_refused = 4, .drops_missed = 9,
				      .sas = sas, .n_sas = 1, .mib = mib, .n_mib = 2 };
	FILE *out;

	free(rendered);
	out = open_memstream(&rendered, &rendered_len);
	assert_non_null(out);
	assert_int_equal(metrics_render(m, &v, om, out), 0);
	fclose(out);
}

static bool has_line(const char *line)
{
	size_t n = strlen(line);

	for (const char *p = rendered; (p = strstr(p, line)); p++)
		if ((p == rendered || p[-1] == '\n') && (p[n] == '\n' || p[n] == '\0'))
			return true;
	return false;
}

#define assert_line(l) assert_true(has_line(l) || (printf("missing: %s\n", l), 0))

static struct episode replaced(__u8 dir, __u64 gap_ns, __u64 reqid)
{
	struct episode ep = { .kind = EPISODE_REPLACED, .has_gap = true, .gap_ns = gap_ns };

	ep.flow.family = AF_INET;
	ep.flow.proto = IPPROTO_ESP;
	ep.flow.dir = dir;
	ep.flow.reqid = (__u32)reqid;
	inet_pton(AF_INET, "192.0.2.1", ep.flow.saddr);
	inet_pton(AF_INET, "192.0.2.2", ep.flow.daddr);
	ep.old_spi = htonl(0x1000);
	ep.new_spi = htonl(0x2000);
	ep.verdict = VERDICT_CLEAN;
	return ep;
}

static void test_episode_series(void **state)
{
	struct metrics *m = metrics_new(10);
	struct episode ep = replaced(SA_DIR_IN, 30000000, 1); /* 30 ms */

	(void)state;
	ep.drops[DROP_IN_NO_STATE] = 58;
	ep.drops[DROP_IN_STATE_INVALID] = 2;
	ep.drops_total = 60;
	ep.outage_ns = 28000000;
	ep.verdict = VERDICT_GAP;
	ep.id = 7;
	ep.insert_actor = (struct actor){ .kind = ACTOR_PROCESS, .pid = 99, .comm = "i\"p" };
	ep.delete_actor.kind = ACTOR_KERNEL;
	ep.old_last_packet_ns = 1000;
	ep.new_first_packet_ns = 500;
	metrics_episode(m, &ep, "gw1");
	ep = replaced(SA_DIR_OUT, 0, 1);
	ep.overlap_ns = 1000000000;
	metrics_episode(m, &ep, "gw1");
	metrics_sa_event(m, "gw1", SA_EVENT_ADD);
	metrics_sa_event(m, "gw1", SA_EVENT_ADD);
	metrics_drops(m, "gw1", DROP_IN_NO_STATE, 60);
	render(m, false);
	assert_line("# TYPE rekeygap_rekeys_total counter");
	assert_line("rekeygap_rekeys_total{netns=\"gw1\",dir=\"in\",kind=\"replaced\",verdict=\"gap\"} 1");
	assert_line("rekeygap_rekeys_total{netns=\"gw1\",dir=\"out\",kind=\"replaced\",verdict=\"clean\"} 1");
	/* the lossy one, by itself, with its actors (escaped) and a negative switchover */
	assert_line("# TYPE rekeygap_recent_lossy_episode_dropped_packets gauge");
	assert_line("rekeygap_recent_lossy_episode_dropped_packets{netns=\"gw1\",dir=\"in\",episode=\"7\",old_spi=\"0x00001000\",new_spi=\"0x00002000\",verdict=\"gap\",insert_actor=\"i\\\"p\",delete_actor=\"kernel\"} 60");
	assert_line("rekeygap_recent_lossy_episode_gap_seconds{netns=\"gw1\",dir=\"in\",episode=\"7\",old_spi=\"0x00001000\",new_spi=\"0x00002000\",verdict=\"gap\",insert_actor=\"i\\\"p\",delete_actor=\"kernel\"} 0.03");
	assert_line("rekeygap_recent_lossy_episode_switchover_seconds{netns=\"gw1\",dir=\"in\",episode=\"7\",old_spi=\"0x00001000\",new_spi=\"0x00002000\",verdict=\"gap\",insert_actor=\"i\\\"p\",delete_actor=\"kernel\"} -5e-07");
	assert_null(strstr(rendered, "dropped_packets{netns=\"gw1\",dir=\"out\""));
	assert_line("rekeygap_rekey_dropped_packets_total{netns=\"gw1\",dir=\"in\",cause=\"in_no_state\"} 58");
	assert_line("rekeygap_rekey_dropped_packets_total{netns=\"gw1\",dir=\"in\",cause=\"in_state_invalid\"} 2");
	/* histograms: cumulative buckets, +Inf = count, sum in seconds */
	assert_line("# TYPE rekeygap_rekey_gap_seconds histogram");
	assert_line("rekeygap_rekey_gap_seconds_bucket{dir=\"in\",le=\"0.025\"} 0");
	assert_line("rekeygap_rekey_gap_seconds_bucket{dir=\"in\",le=\"0.05\"} 1");
	assert_line("rekeygap_rekey_gap_seconds_bucket{dir=\"in\",le=\"60\"} 1");
	assert_line("rekeygap_rekey_gap_seconds_bucket{dir=\"in\",le=\"+Inf\"} 1");
	assert_line("rekeygap_rekey_gap_seconds_sum{dir=\"in\"} 0.03");
	assert_line("rekeygap_rekey_gap_seconds_bucket{dir=\"out\",le=\"1e-05\"} 1");
	assert_line("rekeygap_rekey_overlap_seconds_bucket{dir=\"out\",le=\"0.5\"} 0");
	assert_line("rekeygap_rekey_overlap_seconds_bucket{dir=\"out\",le=\"1\"} 1");
	assert_line("rekeygap_rekey_outage_seconds_sum{dir=\"in\"} 0.028");
	assert_false(strstr(rendered, "dir=\"unknown\"")); /* no such direction seen */
	assert_line("rekeygap_last_rekey_gap_seconds{netns=\"gw1\",src=\"192.0.2.1\",dst=\"192.0.2.2\",proto=\"esp\",reqid=\"1\",dir=\"in\"} 0.03");
	assert_line("rekeygap_xfrm_drops_total{netns=\"gw1\",cause=\"in_no_state\"} 60");
	assert_line("rekeygap_sa_events_total{netns=\"gw1\",event=\"add\"} 2");
	/* the present, from the view */
	assert_line("rekeygap_sas{netns=\"gw1\",dir=\"out\"} 3");
	assert_line("rekeygap_xfrm_mib_packets_total{netns=\"gw1\",name=\"XfrmInNoStates\"} 7");
	assert_line("rekeygap_xfrm_mib_packets_total{netns=\"gw1\",name=\"XfrmSomethingNew\"} 1");
	assert_line("rekeygap_probe_info{mode=\"fentry\",sa_source=\"bpf\",mib_note=\"no /proc/net/xfrm_stat in gw2\"} 1");
	assert_line("rekeygap_events_lost_total 3");
	assert_line("rekeygap_resyncs_total 1");
	assert_line("rekeygap_drops_missed_total 9");
	assert_line("rekeygap_limit_reached_total{limit=\"preinstall\"} 4");
	assert_line("rekeygap_up 1");
	assert_false(strstr(rendered, "# EOF"));
	metrics_free(m);
}

static void test_openmetrics(void **state)
{
	struct metrics *m = metrics_new(10);
	struct episode ep = replaced(SA_DIR_IN, 0, 1);

	(void)state;
	metrics_episode(m, &ep, "gw1");
	render(m, true);
	/* counter families are named without _total, their samples with it */
	assert_line("# TYPE rekeygap_rekeys counter");
	assert_line("rekeygap_rekeys_total{netns=\"gw1\",dir=\"in\",kind=\"replaced\",verdict=\"clean\"} 1");
	assert_line("# TYPE rekeygap_xfrm_mib_packets counter");
	assert_line("# TYPE rekeygap_events_lost counter");
	assert_line("# TYPE rekeygap_rekey_gap_seconds histogram");
	assert_false(strstr(rendered, "# TYPE rekeygap_rekeys_total"));
	/* and the end */
	assert_true(rendered_len > 6);
	assert_string_equal(rendered + rendered_len - 6, "# EOF\n");
	metrics_free(m);
}

/* More flows than --max-series: the least recently rekeyed go, and are counted. */
static void test_max_series(void **state)
{
	struct metrics *m = metrics_new(3);

	(void)state;
	for (__u64 r = 1; r <= 5; r++) {
		struct episode ep = replaced(SA_DIR_OUT, r * 1000000, r);

		metrics_episode(m, &ep, "gw1");
	}
	{
		/* flow 3 rekeyed again: now the most recent, flow 4 the oldest */
		struct episode ep = replaced(SA_DIR_OUT, 9000000, 3);

		metrics_episode(m, &ep, "gw1");
	}
	{
		struct episode ep = replaced(SA_DIR_OUT, 6000000, 6);

		metrics_episode(m, &ep, "gw1");
	}
	render(m, false);
	assert_false(strstr(rendered, "reqid=\"1\""));
	assert_false(strstr(rendered, "reqid=\"2\""));
	assert_false(strstr(rendered, "reqid=\"4\""));
	assert_line("rekeygap_last_rekey_gap_seconds{netns=\"gw1\",src=\"192.0.2.1\",dst=\"192.0.2.2\",proto=\"esp\",reqid=\"3\",dir=\"out\"} 0.009");
	assert_true(strstr(rendered, "reqid=\"5\"") && strstr(rendered, "reqid=\"6\""));
	assert_line("rekeygap_series_evicted_total 3");
	/* the counters and histograms lose nothing */
	assert_line("rekeygap_rekeys_total{netns=\"gw1\",dir=\"out\",kind=\"replaced\",verdict=\"clean\"} 7");
	assert_line("rekeygap_rekey_gap_seconds_count{dir=\"out\"} 7");
	metrics_free(m);
}

/* Label values are escaped: a namespace path with quotes and backslashes. */
static void test_escaping(void **state)
{
	struct metrics *m = metrics_new(10);
	char out[64];

	(void)state;
	metrics_label_escape("a\"b\\c\nd", out, sizeof(out));
	assert_string_equal(out, "a\\\"b\\\\c\\nd");
	metrics_label_escape("0123456789", out, 8); /* cut, never overrun */
	assert_true(strlen(out) < 8);
	metrics_drops(m, "/var/run/\"odd\"", DROP_OTHER, 1);
	render(m, false);
	assert_line("rekeygap_xfrm_drops_total{netns=\"/var/run/\\\"odd\\\"\",cause=\"other\"} 1");
	metrics_free(m);
}

/* A namespace that went takes its series; another one's stay. */
static void test_forget_netns(void **state)
{
	struct metrics *m = metrics_new(10);
	struct episode ep = replaced(SA_DIR_IN, 1000000, 1);

	(void)state;
	metrics_episode(m, &ep, "gw1");
	metrics_episode(m, &ep, "gw10"); /* a name that starts like the other */
	metrics_sa_event(m, "gw1", SA_EVENT_ADD);
	metrics_drops(m, "gw1", DROP_IN_NO_STATE, 3);
	metrics_forget_netns(m, "gw1");
	render(m, false);
	/* (the view's present-state series still name gw1: the fake view does) */
	assert_null(strstr(rendered, "rekeygap_rekeys_total{netns=\"gw1\""));
	assert_null(strstr(rendered, "rekeygap_sa_events_total{netns=\"gw1\""));
	assert_null(strstr(rendered, "rekeygap_xfrm_drops_total{netns=\"gw1\""));
	assert_null(strstr(rendered, "rekeygap_last_rekey_gap_seconds{netns=\"gw1\""));
	assert_line("rekeygap_rekeys_total{netns=\"gw10\",dir=\"in\",kind=\"replaced\",verdict=\"clean\"} 1");
	assert_line("rekeygap_rekey_gap_seconds_count{dir=\"in\"} 2");
	metrics_free(m);
}

/* The lossy table keeps the last METRICS_LOSSY_KEPT, and a namespace gone takes its own. */
static void test_recent_lossy(void **state)
{
	struct metrics *m = metrics_new(10);
	char line[512];

	(void)state;
	for (int i = 1; i <= METRICS_LOSSY_KEPT + 2; i++) {
		struct episode ep = replaced(SA_DIR_IN, 0, 1);

		ep.id = (__u64)i;
		ep.drops_total = ep.drops[DROP_IN_NO_STATE] = (__u64)i;
		ep.verdict = VERDICT_PEER_EARLY;
		metrics_episode(m, &ep, i % 2 ? "odd" : "even");
	}
	render(m, false);
	assert_null(strstr(rendered, "episode=\"2\""));
	for (int i = 3; i <= METRICS_LOSSY_KEPT + 2; i++) {
		snprintf(line, sizeof(line),
			 "rekeygap_recent_lossy_episode_dropped_packets{netns=\"%s\",dir=\"in\",episode=\"%d\",old_spi=\"0x00001000\",new_spi=\"0x00002000\",verdict=\"peer_early\",insert_actor=\"unknown\",delete_actor=\"unknown\"} %d",
			 i % 2 ? "odd" : "even", i, i);
		assert_line(line);
	}
	/* no switchover seen: no such series; the header stays for scrapers */
	assert_null(strstr(rendered, "rekeygap_recent_lossy_episode_switchover_seconds{"));
	assert_line("# TYPE rekeygap_recent_lossy_episode_switchover_seconds gauge");
	metrics_forget_netns(m, "odd");
	render(m, false);
	assert_null(strstr(rendered, "netns=\"odd\""));
	assert_non_null(strstr(rendered, "episode=\"12\""));
	/* the ring goes on from where it closed up */
	struct episode ep = replaced(SA_DIR_OUT, 0, 1);

	ep.id = 99;
	ep.drops_total = 1;
	metrics_episode(m, &ep, "odd");
	render(m, false);
	assert_non_null(strstr(rendered, "episode=\"99\""));
	assert_non_null(strstr(rendered, "episode=\"4\""));
	metrics_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_episode_series), cmocka_unit_test(test_openmetrics),
		cmocka_unit_test(test_max_series),     cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_forget_netns),
		cmocka_unit_test(test_recent_lossy),
	};
	int ret = cmocka_run_group_tests_name("metrics", tests, NULL, NULL);

	free(rendered);
	return ret;
}
