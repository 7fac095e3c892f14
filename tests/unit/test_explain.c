// SPDX-License-Identifier: BSD-2-Clause
/*
 * Unit tests for userspace/explain/explain.c: episodes of every verdict, made into JSON by
 * the real writer (episode_json.c), explained; malformed inputs refused in one line.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "explain.c"

#include "episode_fixtures.h"
#include "episode_json.h"
#include "json_check.h"

/* ---- running explain ---- */

struct run {
	char *out;
	size_t len;
	char err[512];
	int ret;
	struct explain_counts counts;
};

/* text through explain_document, then the summary line unless it failed */
static struct run explain_text_of(const char *text, size_t len, struct explain_options opt)
{
	struct run r = {};
	FILE *out = open_memstream(&r.out, &r.len);
	struct explainer *ex;

	assert_non_null(out);
	ex = explainer_new(out, &opt);
	assert_non_null(ex);
	r.ret = explain_document(ex, text, len, r.err, sizeof(r.err));
	if (!r.ret)
		assert_int_equal(explain_summary(ex), 0);
	r.counts = *explainer_counts(ex);
	explainer_free(ex);
	fclose(out);
	/* an error is one line */
	assert_null(strchr(r.err, '\n'));
	if (r.ret)
		assert_true(*r.err);
	return r;
}

static struct run explain_str(const char *text, struct explain_options opt)
{
	return explain_text_of(text, strlen(text), opt);
}

/* episodes as /episodes serves them: a JSON array of episode_json() objects */
static char *episodes_array(const struct episode *eps, size_t n, const char *netns)
{
	json_t *all = json_array();
	char *text;

	for (size_t i = 0; i < n; i++)
		all = json_out_append(all, episode_json(&eps[i], netns));
	assert_non_null(all);
	text = json_dumps(all, JSON_COMPACT);
	json_decref(all);
	assert_non_null(text);
	return text;
}

/* the episodes as a trace prints them: {"event":"episode", ...} lines */
static char *trace_lines(const struct episode *eps, size_t n)
{
	char *text = strdup(""), *line, *more;

	for (size_t i = 0; i < n; i++) {
		json_t *j = json_out_extend(json_pack("{s:s}", "event", "episode"),
					    episode_json(&eps[i], "B"));

		assert_non_null(j);
		line = json_dumps(j, JSON_COMPACT);
		json_decref(j);
		assert_true(asprintf(&more, "%s%s\n", text, line) > 0);
		free(text);
		free(line);
		text = more;
	}
	return text;
}

static struct run explain_episodes(const struct episode *eps, size_t n, struct explain_options opt)
{
	char *text = episodes_array(eps, n, "B");
	struct run r = explain_str(text, opt);

	free(text);
	return r;
}

/* the output with wrapped lines joined again: "\n" and the indent become one space */
static char *unwrapped(const char *out)
{
	char *flat = strdup(out ? out : ""), *o = flat;

	assert_non_null(flat);
	for (const char *c = out ? out : ""; *c;) {
		if (c[0] == '\n' && c[1] == ' ' && c[2] == ' ' && c[3] == ' ' && c[4] == ' ' &&
		    c[5] != ' ' && c[5] != '+') {
			*o++ = ' ';
			c += 5;
		} else {
			*o++ = *c++;
		}
	}
	*o = '\0';
	return flat;
}

/* text in the output as it is, or in a sentence wrapped over lines */
static void expect(const struct run *r, const char *text)
{
	char *flat = unwrapped(r->out);
	bool found = r->out && (strstr(r->out, text) || strstr(flat, text));

	free(flat);
	if (!found)
		fail_msg("no \"%s\" in:\n%s", text, r->out ? r->out : "(nothing)");
}

static void expect_not(const struct run *r, const char *text)
{
	char *flat = unwrapped(r->out);
	bool found = r->out && (strstr(r->out, text) || strstr(flat, text));

	free(flat);
	if (found)
		fail_msg("\"%s\" unexpected in:\n%s", text, r->out);
}

static void done(struct run *r)
{
	free(r->out);
}

static const struct explain_options text_opt = {}, all_opt = { .all = true },
				    json_opt = { .json = true, .all = true };

/* ---- every verdict ---- */

static void test_peer_early(void **state)
{
	struct episode ep = fixture_peer_early(17);
	struct run r = explain_episodes(&ep, 1, text_opt);

	(void)state;
	assert_int_equal(r.ret, 0);
	expect(&r, "episode 17  netns B  in 10.0.0.1 -> 10.0.0.2 esp reqid 1  0x00001000 -> "
		   "0x00002000\n");
	expect(&r, "  verdict peer_early: packets came on the new SPI");
	expect(&r, "    +0.0   first packet lost on 0x00002000 before its SA was here "
		   "(12 in_acquire)\n");
	expect(&r, "    +80.0  last packet lost on 0x00002000 before its SA was here\n");
	expect(&r, "    +84.0  0x00002000 installed by charon[812]\n");
	expect(&r, "    +90.0  first packet on 0x00002000\n");
	expect(&r, "    +150.0 last packet on 0x00001000\n");
	expect(&r, "    +300.0 0x00001000 deleted by charon[812]\n");
	expect(&r, "  lost 12 over 80 ms (12 peer_early), by cause: 12 in_acquire; gap 0 ms, "
		   "overlap 216 ms\n");
	expect(&r, "  switchover: old SA's last packet at +150.0, new SA's first at +90.0 (inside "
		   "the overlap)\n");
	expect(&r, "what to change: the peer sent on 0x00002000 84 ms before it was installed "
		   "here");
	expect(&r, "install the inbound SA before the peer's outbound one");
	expect(&r, "\n1 of 1 episode lost packets: 1 peer_early\n");
	assert_int_equal(r.counts.by_verdict[VERDICT_PEER_EARLY], 1);
	done(&r);
}

static void test_gap(void **state)
{
	struct episode ep = fixture_gap(3);
	struct run r = explain_episodes(&ep, 1, text_opt);

	(void)state;
	assert_int_equal(r.ret, 0);
	expect(&r, "  verdict gap: no valid SA for the flow");
	expect(&r, "    +0.0 0x00001000 deleted by ip[4241]\n");
	expect(&r, "    +1.0 first packet lost while the flow had no SA (3 in_no_state)\n");
	expect(&r, "    +5.0 last packet lost while the flow had no SA\n");
	expect(&r, "    +5.5 0x00002000 installed by ip[4242]\n");
	expect(&r, "gap 5.5 ms, overlap 0 ms");
	expect(&r, "the flow had no SA for 5.5 ms (3 lost)");
	expect(&r, "rekeygap rekey --strategy make-before-break");
	expect_not(&r, "switchover");
	expect(&r, "1 of 1 episode lost packets: 1 gap\n");
	done(&r);
}

static void test_old_removed_early(void **state)
{
	struct episode ep = fixture_old_removed_early(4);
	struct run r = explain_episodes(&ep, 1, text_opt);

	(void)state;
	assert_int_equal(r.ret, 0);
	expect(&r, "  verdict old_removed_early:");
	expect(&r, "    +110.0 first packet lost on 0x00001000 after its SA was deleted "
		   "(25 in_no_state)\n");
	expect(&r, "packets on 0x00001000 came up to 250 ms after its delete (25 lost)");
	expect(&r, "raise the grace time above the peer's delay (more than 250 ms;");
	expect(&r, "--grace");
	done(&r);
}

/* Outbound: this side's own packets, on their way out through the old SA as it went. */
static void test_old_removed_early_outbound(void **state)
{
	struct episode ep = fixture_old_removed_early(4);
	struct run r;

	(void)state;
	ep.flow.dir = SA_DIR_OUT;
	memset(ep.drops, 0, sizeof(ep.drops));
	memset(ep.phase, 0, sizeof(ep.phase));
	ep.drops_total = 0;
	fixture_lose(&ep, LOSS_OLD_REMOVED_EARLY, DROP_OUT_STATE_INVALID, 1, T0 + 125 * MS,
		     T0 + 125 * MS);
	r = explain_episodes(&ep, 1, text_opt);
	assert_int_equal(r.ret, 0);
	expect(&r, "  verdict old_removed_early:");
	expect(&r, "packets sent on 0x00001000 died up to 25 ms after its delete (1 lost)");
	expect(&r, "--drain");
	expect_not(&r, "--grace");
	done(&r);
}

static void test_key_mismatch(void **state)
{
	struct episode ep = fixture_key_mismatch(5);
	struct run r = explain_episodes(&ep, 1, text_opt);

	(void)state;
	assert_int_equal(r.ret, 0);
	expect(&r, "0x00001000 -> 0x00001000\n");
	expect(&r, "first packet failing the integrity check on 0x00001000 (7 in_icv_fail)");
	expect(&r, "the two sides hold different keys for SPI 0x00001000 (7 integrity failures)");
	done(&r);
}

static void test_not_replaced(void **state)
{
	struct episode ep = fixture_not_replaced(6);
	struct run r = explain_episodes(&ep, 1, text_opt);

	(void)state;
	assert_int_equal(r.ret, 0);
	expect(&r, "0x00001000 -> (none)\n");
	expect(&r, "    +0.0  0x00001000 deleted by ip[99]\n");
	expect_not(&r, "installed");
	expect(&r, "lost 4 over 30 ms (4 gap), by cause: 4 in_no_state; no gap measured "
		   "(no successor)\n");
	expect(&r, "0x00001000 was deleted by ip[99] and no successor came within the monitor's "
		   "timeout (4 lost)");
	done(&r);
}

static void test_expired(void **state)
{
	struct episode ep = fixture_expired(7);
	struct run r = explain_episodes(&ep, 1, text_opt);

	(void)state;
	assert_int_equal(r.ret, 0);
	expect(&r, "  verdict expired:");
	expect(&r, "0x00001000 expired (hard lifetime), removed by the kernel\n");
	expect(&r, "0x00001000 reached its hard lifetime and the kernel removed it (4 lost)");
	expect(&r, "soft lifetime");
	done(&r);
}

/* An outbound episode whose policy template moved the traffic: that moment is told. */
static void test_outbound_switch(void **state)
{
	struct episode ep = fixture_clean(11);
	struct run r;

	(void)state;
	ep.flow.dir = SA_DIR_OUT;
	ep.t_switch = T0 + 20 * MS;
	ep.insert_actor = fixture_actor("rekeygap", 77);
	r = explain_episodes(&ep, 1, all_opt);
	expect(&r, "episode 11  netns B  out 10.0.0.1 -> 10.0.0.2 esp reqid 1");
	expect(&r, "    +0.0   0x00002000 installed by rekeygap[77]\n"
		   "    +20.0  outbound policy switched to 0x00002000\n"
		   "    +300.0 0x00001000 deleted by charon[812]\n");
	done(&r);
}

/* Clean episodes: only counted, unless --all; then "nothing". */
static void test_clean(void **state)
{
	struct episode ep = fixture_clean(8);
	struct run r = explain_episodes(&ep, 1, text_opt);

	(void)state;
	assert_int_equal(r.ret, 0);
	assert_string_equal(r.out, "0 of 1 episode lost packets\n");
	done(&r);
	r = explain_episodes(&ep, 1, all_opt);
	expect(&r, "  verdict clean: replaced without loss");
	expect(&r, "  lost nothing; gap 0 ms, overlap 300 ms\n");
	expect(&r, "  what to change: nothing\n");
	done(&r);
	/* drops of no rekey phase (replay) on a clean rekey: said, not blamed on it */
	fixture_lose(&ep, LOSS_OTHER, DROP_IN_STATE_INVALID, 2, T0 + 5 * MS, T0 + 6 * MS);
	r = explain_episodes(&ep, 1, text_opt);
	expect(&r, "nothing in the rekey's order; its 2 drops had other causes (2 "
		   "in_state_invalid)");
	expect(&r, "1 of 1 episode lost packets: 1 clean\n");
	done(&r);
}

/* Many episodes: the lossy ones in input order, the summary commonest verdict first. */
static void test_summary(void **state)
{
	struct episode eps[] = { fixture_clean(1), fixture_gap(2), fixture_peer_early(3),
				 fixture_clean(4), fixture_peer_early(5) };
	struct run r = explain_episodes(eps, 5, text_opt);
	char *g, *p3, *p5;

	(void)state;
	assert_int_equal(r.ret, 0);
	expect(&r, "\n3 of 5 episodes lost packets: 2 peer_early, 1 gap\n");
	expect_not(&r, "episode 1 ");
	expect_not(&r, "episode 4 ");
	g = strstr(r.out, "episode 2 ");
	p3 = strstr(r.out, "episode 3 ");
	p5 = strstr(r.out, "episode 5 ");
	assert_true(g && p3 && p5 && g < p3 && p3 < p5);
	assert_int_equal(r.counts.episodes, 5);
	assert_int_equal(r.counts.lossy, 3);
	done(&r);
	r = explain_str("[]", text_opt);
	assert_int_equal(r.ret, 0);
	assert_string_equal(r.out, "0 of 0 episodes lost packets\n");
	done(&r);
}

/* --json: an object a line, the same numbers; the summary last. */
static void test_json(void **state)
{
	struct episode eps[] = { fixture_peer_early(17), fixture_clean(18) };
	struct run r = explain_episodes(eps, 2, json_opt);
	json_t *lines[4], *tl;
	size_t n;

	(void)state;
	assert_int_equal(r.ret, 0);
	n = json_lines(r.out, lines, 4);
	assert_int_equal(n, 3);
	assert_string_equal(json_str(lines[0], "event"), "explanation");
	assert_int_equal(json_integer_value(json_object_get(lines[0], "id")), 17);
	assert_string_equal(json_str(lines[0], "verdict"), "peer_early");
	assert_non_null(strstr(json_str(lines[0], "advice"), "0x00002000 84 ms before"));
	tl = json_object_get(lines[0], "timeline");
	assert_int_equal(json_array_size(tl), 6);
	assert_true(json_real_value(json_object_get(json_array_get(tl, 0), "ms")) == 0.0);
	assert_true(json_real_value(json_object_get(json_array_get(tl, 2), "ms")) == 84.0);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(tl, 2), "ns")),
			 T0 + 84 * MS);
	assert_string_equal(json_str(json_array_get(tl, 2), "what"),
			    "0x00002000 installed by charon[812]");
	assert_non_null(strstr(json_str(lines[0], "switchover"), "inside the overlap"));
	assert_string_equal(json_str(lines[1], "advice"), "nothing");
	assert_null(json_object_get(lines[1], "switchover"));
	assert_string_equal(json_str(lines[2], "event"), "summary");
	assert_int_equal(json_integer_value(json_object_get(lines[2], "episodes")), 2);
	assert_int_equal(json_integer_value(json_object_get(lines[2], "lossy")), 1);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(lines[2], "verdicts"),
							    "peer_early")),
			 1);
	json_free_all(lines, n);
	done(&r);
}

/* A trace's JSON lines: episode lines explained, other events and unknown keys skipped. */
static void test_trace_lines(void **state)
{
	struct episode ep = fixture_gap(9);
	json_t *j = episode_json(&ep, "gw1");
	char *line, *text;
	struct run r;

	(void)state;
	/* the trace's form: "event" first; a key of a future version too */
	j = json_out_extend(json_pack("{s:s}", "event", "episode"), j);
	j = json_out_extend(j, json_pack("{s:{s:i}}", "future_key", "x", 1));
	line = json_dumps(j, JSON_COMPACT);
	assert_non_null(line);
	json_decref(j);
	assert_true(asprintf(&text,
			     "{\"event\":\"start\",\"probe\":\"fentry\"}\n"
			     "\n"
			     "{\"event\":\"sa_add\",\"spi\":\"0x00002000\"}\n"
			     "{\"event\":\"from_the_future\",\"x\":[1,2]}\n"
			     "%s\n"
			     "{\"event\":\"end\"}\n",
			     line) > 0);
	r = explain_str(text, text_opt);
	assert_int_equal(r.ret, 0);
	expect(&r, "episode 9  netns gw1  in 10.0.0.1 -> 10.0.0.2");
	expect(&r, "the flow had no SA for 5.5 ms");
	expect(&r, "1 of 1 episode lost packets: 1 gap\n");
	assert_null(strstr(r.out, "pcpu"));
	done(&r);
	free(text);

	/* a per-CPU SA's episode names its CPU (written by episode_json, as the monitor) */
	ep.flow.pcpu = 1;
	ep.flow.pcpu_num = 2;
	j = episode_json(&ep, "gw1");
	assert_int_equal(json_integer_value(json_object_get(j, "pcpu")), 2);
	j = json_out_append(json_array(), j); /* as /episodes lists them */
	text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	r = explain_str(text, text_opt);
	assert_int_equal(r.ret, 0);
	expect(&r, "episode 9  netns gw1  in 10.0.0.1 -> 10.0.0.2 esp reqid 1 pcpu 2  ");
	done(&r);
	free(text);

	/* a line that is not JSON says which */
	assert_true(asprintf(&text, "{\"event\":\"start\"}\n%s\n{\"event\":\"dr\n", line) > 0);
	r = explain_str(text, text_opt);
	assert_int_equal(r.ret, -EINVAL);
	assert_non_null(strstr(r.err, "line 3: not JSON"));
	done(&r);
	free(text);
	free(line);
}

/* ---- malformed input: an error line, never a crash ---- */

static json_t *valid_object(void)
{
	struct episode ep = fixture_peer_early(17);

	return episode_json(&ep, "B");
}

/* j (released) as the one episode of an array */
static struct run explain_object(json_t *j)
{
	json_t *all = json_pack("[O]", j);
	char *text = json_dumps(all, JSON_COMPACT);
	struct run r;

	assert_non_null(text);
	r = explain_str(text, text_opt);
	free(text);
	json_decref(all);
	json_decref(j);
	return r;
}

static void expect_error(const struct run *r, const char *text)
{
	assert_int_equal(r->ret, -EINVAL);
	if (!strstr(r->err, text))
		fail_msg("error \"%s\" lacks \"%s\"", r->err, text);
}

/* A verdict or loss phase this version has no word for: explained without advice. */
static void test_future_words(void **state)
{
	struct episode ep = fixture_gap(10);
	json_t *j = episode_json(&ep, "B");
	struct run r;

	(void)state;
	json_object_set_new(j, "verdict", json_string("cosmic_ray"));
	json_object_set_new(json_object_get(j, "loss"), "solar",
			    json_pack("{s:i,s:i,s:i}", "dropped", 1, "first_ns", 1, "last_ns", 2));
	r = explain_object(j);
	assert_int_equal(r.ret, 0);
	expect(&r, "verdict cosmic_ray:");
	expect(&r, "no advice for the verdict 'cosmic_ray'");
	expect(&r, "1 of 1 episode lost packets: 1 unknown verdict\n");
	expect_not(&r, "solar");
	done(&r);
}

/* Every key the schema requires, taken out in turn: the error names it and the episode. */
static void test_missing_keys(void **state)
{
	static const char *const required[] = {
		"netns", "src", "dst", "proto", "reqid", "dir", "kind", "old_spi", "new_spi",
		"t_delete_old_ns", "t_insert_new_ns", "dropped", "outage_ns", "drops", "verdict",
		"why", "loss",
	};
	char want[80];
	struct run r;
	json_t *j;

	(void)state;
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
		j = valid_object();
		assert_int_equal(json_object_del(j, required[i]), 0);
		r = explain_object(j);
		snprintf(want, sizeof(want), "element 1: episode 17: \"%s\" missing", required[i]);
		expect_error(&r, want);
		done(&r);
	}
	j = valid_object();
	json_object_del(j, "id");
	r = explain_object(j);
	expect_error(&r, "element 1: an episode without an id: \"id\" missing");
	done(&r);
	/* optional keys may go */
	j = valid_object();
	json_object_del(j, "insert_actor");
	json_object_del(j, "delete_actor");
	json_object_del(j, "gap_ns");
	json_object_del(j, "old_last_packet_ns");
	r = explain_object(j);
	assert_int_equal(r.ret, 0);
	expect(&r, "    +84.0  0x00002000 installed\n");
	expect(&r, "new SA's first at +90.0\n");
	done(&r);
}

/* Values of the wrong type, each named. */
static void test_wrong_types(void **state)
{
	static const struct {
		const char *key, *value, *error;
	} cases[] = {
		{ "t_insert_new_ns", "\"84\"", "episode 17: \"t_insert_new_ns\" is a string, not a "
					       "non-negative integer" },
		{ "dropped", "-3", "\"dropped\" is negative" },
		{ "dropped", "1e30", "\"dropped\" is a real" },
		{ "gap_ns", "null", "\"gap_ns\" is null" },
		{ "netns", "7", "\"netns\" is an integer, not a string" },
		{ "verdict", "[\"gap\"]", "\"verdict\" is an array, not a string" },
		{ "drops", "[]", "\"drops\" is an array, not an object" },
		{ "drops", "{\"in_acquire\":true}", "\"drops.in_acquire\" is a boolean" },
		{ "loss", "{\"peer_early\":3}",
		  "\"loss.peer_early\" is an integer, not an object" },
		{ "loss", "{\"gap\":{\"dropped\":1,\"last_ns\":2}}",
		  "\"loss.gap.first_ns\" missing" },
		{ "insert_actor", "\"charon\"", "\"insert_actor\" is a string, not an object" },
		{ "delete_actor", "{\"pid\":1}", "\"delete_actor.kind\" missing" },
		{ "delete_actor", "{\"kind\":\"process\",\"pid\":\"1\"}",
		  "\"delete_actor.pid\" is a string" },
	};
	json_error_t e;
	struct run r;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *j = valid_object();

		json_object_set_new(j, cases[i].key,
				    json_loads(cases[i].value, JSON_DECODE_ANY, &e));
		r = explain_object(j);
		expect_error(&r, cases[i].error);
		done(&r);
	}
	r = explain_str("[1]", text_opt);
	expect_error(&r, "element 1: an integer, not an episode object");
	done(&r);
	r = explain_str("[{\"id\":\"17\"}]", text_opt);
	expect_error(&r, "an episode without an id: \"id\" is a string");
	done(&r);
}

/* Not JSON, or neither form: one line saying so. */
static void test_not_json(void **state)
{
	static const char *const cases[][2] = {
		{ "", "empty input" },
		{ " \n\t\r\n", "empty input" },
		{ "hello", "the input starts with 'h'" },
		{ "\x1b[0m", "the input starts with byte 0x1b" },
		{ "<html>", "neither a JSON array of episodes" },
		{ "[{\"id\":1", "not JSON" },
		{ "[1,]", "not JSON" },
		{ "[{\"id\":99999999999999999999}]", "not JSON: too big integer" },
		{ "[{\"netns\":\"\xff\"}]", "not JSON" },
		{ "[{\"id\":1,\"id\":2}]", "not JSON: duplicate object key" },
		{ "{\n\"event\": \"episode\"\n}\n", "line 1: not JSON" },
		{ "[] []", "not JSON" },
	};
	struct run r;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		r = explain_str(cases[i][0], text_opt);
		expect_error(&r, cases[i][1]);
		done(&r);
	}
	/* a NUL byte inside */
	r = explain_text_of("[{\"id\"\0:1}]", 11, text_opt);
	expect_error(&r, "not JSON");
	done(&r);
	r = explain_text_of("\0[]", 3, text_opt);
	expect_error(&r, "starts with byte 0x00");
	done(&r);
}

/* Every prefix of a valid array and of valid trace lines: an error or a result, no crash
 * (ASan and valgrind runs check the memory). */
static void test_truncated(void **state)
{
	struct episode eps[] = { fixture_peer_early(1), fixture_expired(2) };
	char *text = episodes_array(eps, 2, "B"), *lines;
	size_t len = strlen(text);
	struct run r;

	(void)state;
	for (size_t n = 0; n < len; n++) {
		r = explain_text_of(text, n, text_opt);
		assert_int_equal(r.ret, -EINVAL);
		done(&r);
	}
	lines = trace_lines(eps, 2);
	r = explain_str(lines, text_opt);
	assert_int_equal(r.ret, 0);
	expect(&r, "2 of 2 episodes lost packets: 1 peer_early, 1 expired\n");
	done(&r);
	len = strlen(lines);
	for (size_t n = 0; n < len; n++) {
		r = explain_text_of(lines, n, text_opt);
		assert_true(r.ret == 0 || r.ret == -EINVAL);
		done(&r);
	}
	free(lines);
	free(text);
}

/* Extreme values the writer can give (u64 capped at INT64_MAX): numbers, no crash. */
static void test_huge_numbers(void **state)
{
	struct episode ep = fixture_peer_early(UINT64_MAX);
	struct run r;

	(void)state;
	ep.t_delete_old = UINT64_MAX;
	ep.t_insert_new = 1;
	ep.phase[LOSS_PEER_EARLY].first_ns = UINT64_MAX;
	ep.phase[LOSS_PEER_EARLY].last_ns = 1;
	ep.drops_total = UINT64_MAX;
	ep.outage_ns = UINT64_MAX;
	ep.gap_ns = UINT64_MAX;
	r = explain_episodes(&ep, 1, text_opt);
	assert_int_equal(r.ret, 0);
	expect(&r, "episode 9223372036854775807 ");
	expect(&r, "lost 9223372036854775807 over 9223372036854.8 ms");
	/* no early time measurable (first drop after the insert): said without a number */
	expect(&r, "the peer sent on 0x00002000 before it was installed here");
	done(&r);
	r = explain_episodes(&ep, 1, json_opt);
	assert_int_equal(r.ret, 0);
	done(&r);
}

/* What was not measured is not given a number: the advice says it without one. */
static void test_unmeasured(void **state)
{
	struct episode ep = fixture_old_removed_early(1);
	json_t *j;
	struct run r;

	(void)state;
	/* the drop counters' time range ended before the delete's timestamp */
	ep.phase[LOSS_OLD_REMOVED_EARLY].first_ns = ep.t_delete_old - 5 * MS;
	ep.phase[LOSS_OLD_REMOVED_EARLY].last_ns = ep.t_delete_old - 1 * MS;
	r = explain_episodes(&ep, 1, text_opt);
	expect(&r, "packets on 0x00001000 came after its delete (25 lost)");
	expect(&r, "raise the grace time above the peer's delay (`rekeygap rekey --grace`)");
	expect_not(&r, "up to 0 ms");
	expect_not(&r, "more than 0 ms");
	done(&r);
	/* a gap without gap_ns (an older writer): the span of its losses */
	ep = fixture_gap(2);
	j = episode_json(&ep, "B");
	json_object_del(j, "gap_ns");
	json_object_del(j, "overlap_ns");
	r = explain_object(j);
	assert_int_equal(r.ret, 0);
	expect(&r, "the flow had no SA for 4 ms (3 lost)");
	done(&r);
	/* and without losses in the gap phase either */
	ep = fixture_gap(3);
	ep.phase[LOSS_GAP] = (struct loss_span){};
	ep.has_gap = false;
	r = explain_episodes(&ep, 1, text_opt);
	expect(&r, "the flow had no SA (3 lost)");
	done(&r);
}

/* Names from the input cannot write control sequences to a terminal; JSON keeps them. */
static void test_control_bytes(void **state)
{
	struct episode ep = fixture_peer_early(1);
	struct run r;
	json_t *lines[2];

	(void)state;
	ep.insert_actor = fixture_actor("ev\x1b[31mil", 6);
	r = explain_episodes(&ep, 1, text_opt);
	assert_int_equal(r.ret, 0);
	expect(&r, "installed by ev?[31mil[6]\n");
	expect_not(&r, "\x1b");
	done(&r);
	for (size_t i = 0; i < N_ABUSE; i++) {
		char *text = episodes_array(&ep, 1, json_abuse[i].in);

		r = explain_str(text, text_opt);
		assert_int_equal(r.ret, 0);
		for (const char *c = r.out; *c; c++)
			assert_true(*c == '\n' || (unsigned char)*c >= 0x20);
		done(&r);
		r = explain_str(text, json_opt);
		assert_int_equal(r.ret, 0);
		assert_int_equal(json_lines(r.out, lines, 2), 2);
		assert_string_equal(json_str(lines[0], "netns"), json_abuse[i].out);
		json_free_all(lines, 2);
		done(&r);
		free(text);
	}
}

/* Text wraps at WRAP_COLUMNS, and a word longer than a line stays whole. */
static void test_wrapping(void **state)
{
	struct episode ep = fixture_peer_early(1);
	char *text, *line, *save = NULL, netns[201];
	struct run r;

	(void)state;
	r = explain_episodes(&ep, 1, text_opt);
	text = strdup(r.out);
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (strlen(line) > WRAP_COLUMNS)
			fail_msg("line over %d columns: %s", WRAP_COLUMNS, line);
	free(text);
	done(&r);
	/* a 200-byte namespace name in the header, kept whole */
	memset(netns, 'n', 200);
	netns[200] = '\0';
	text = episodes_array(&ep, 1, netns);
	r = explain_str(text, text_opt);
	expect(&r, netns);
	done(&r);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_peer_early),
		cmocka_unit_test(test_gap),
		cmocka_unit_test(test_old_removed_early),
		cmocka_unit_test(test_old_removed_early_outbound),
		cmocka_unit_test(test_key_mismatch),
		cmocka_unit_test(test_not_replaced),
		cmocka_unit_test(test_expired),
		cmocka_unit_test(test_outbound_switch),
		cmocka_unit_test(test_clean),
		cmocka_unit_test(test_summary),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_trace_lines),
		cmocka_unit_test(test_future_words),
		cmocka_unit_test(test_missing_keys),
		cmocka_unit_test(test_wrong_types),
		cmocka_unit_test(test_not_json),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_huge_numbers),
		cmocka_unit_test(test_unmeasured),
		cmocka_unit_test(test_control_bytes),
		cmocka_unit_test(test_wrapping),
	};

	return cmocka_run_group_tests_name("explain", tests, NULL, NULL);
}
