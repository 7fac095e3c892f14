// SPDX-License-Identifier: BSD-2-Clause
/*
 * Unit tests for userspace/common/json_out.c, and the JSON abuse test of the outputs built on it that
 * are reachable from here: the trace lines (trace_output.c) and the lab's report.json
 * (lab_report.c). The rekey lines are abused in test_rekey_cmd.c, probe --json in
 * test_probe.c. Every line written is parsed back with jansson.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "json_out.c"

#include <arpa/inet.h>
#include <linux/ipsec.h>
#include <linux/xfrm.h>
#include <math.h>
#include <unistd.h>

#include "json_check.h"
#include "lab_report.h"
#include "trace_output.h"

/* What out received since open_memstream, as a string (the stream is closed). */
static char *closed(FILE *out, char **buf)
{
	assert_int_equal(fclose(out), 0);
	return *buf;
}

/* j as json_out_line writes it (free() the text). */
static char *line_of(json_t *j)
{
	char *buf = NULL;
	size_t len;
	FILE *out = open_memstream(&buf, &len);

	assert_non_null(out);
	assert_int_equal(json_out_line(out, j), 0);
	return closed(out, &buf);
}

static void test_string_valid_unchanged(void **state)
{
	json_t *j0;

	(void)state;
	for (size_t i = 0; i < N_ABUSE; i++) {
		json_t *j = json_out_string(json_abuse[i].in);

		assert_non_null(j);
		assert_string_equal(json_string_value(j), json_abuse[i].out);
		/* input that was valid UTF-8 comes back byte for byte */
		if (!strstr(json_abuse[i].out, FFFD))
			assert_string_equal(json_string_value(j), json_abuse[i].in);
		json_decref(j);
	}
	j0 = json_out_string(NULL);
	assert_string_equal(json_string_value(j0), "");
	json_decref(j0);
}

/* Through a dump and jansson's reader: what the reader gets is the expected text. */
static void test_string_round_trip(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_ABUSE; i++) {
		char *text = line_of(json_pack("{s:o}", "name", json_out_string(json_abuse[i].in)));
		json_t *line[2];

		assert_int_equal(json_lines(text, line, 2), 1);
		assert_string_equal(json_str(line[0], "name"), json_abuse[i].out);
		json_decref(line[0]);
		free(text);
	}
}

static void test_u64(void **state)
{
	char *text = line_of(json_pack("[o,o,o,o,o]", json_out_u64(0), json_out_u64(4294967296ull),
				       json_out_u64(INT64_MAX), json_out_u64((__u64)INT64_MAX + 1),
				       json_out_u64(UINT64_MAX)));

	(void)state;
	/* integers all; above INT64_MAX saturated */
	assert_string_equal(text, "[0,4294967296,9223372036854775807,9223372036854775807,"
				  "9223372036854775807]\n");
	free(text);
}

/* Reals keep the decimals printf("%.Nf") showed (6.255 is 6.25499... in binary), without
 * binary noise (0.1, not 0.10000000000000001). */
static void test_real(void **state)
{
	char *text = line_of(json_pack("[o,o,o,o,o,o,o,o,o,o]", json_out_real(0.1, 3),
				       json_out_real(1.23456, 3), json_out_real(2, 4),
				       json_out_real(123456.0005, 4), json_out_real(200.123456, 1),
				       json_out_real(-1, 3), json_out_real(6.255, 2),
				       json_out_real(NAN, 2), json_out_real(INFINITY, 3),
				       json_out_real(1e306, 3)));

	(void)state;
	assert_string_equal(text, "[0.1,1.235,2.0,123456.0005,200.1,-1.0,6.25,null,null,1e306]\n");
	free(text);
}

static void test_line_and_extend(void **state)
{
	char *buf = NULL;
	size_t len;
	FILE *out = open_memstream(&buf, &len);
	json_t *j = json_pack("{s:i,s:s}", "zeta", 1, "alpha", "x");

	(void)state;
	/* insertion order, not sorted; compact */
	j = json_out_extend(j, json_pack("{s:[i,b],s:n}", "mid", 2, 1, "null"));
	assert_int_equal(json_out_line(out, j), 0);
	/* nothing at all for what could not be built */
	assert_int_equal(json_out_line(out, NULL), -ENOMEM);
	assert_null(json_out_extend(json_object(), NULL));
	assert_null(json_out_extend(NULL, json_object()));
	/* a failed append ends the array: later values are released, not kept */
	j = json_out_append(json_array(), json_integer(1));
	assert_int_equal(json_array_size(j), 1);
	j = json_out_append(j, NULL);
	assert_null(j);
	assert_null(json_out_append(j, json_integer(2)));
	assert_string_equal(closed(out, &buf), "{\"zeta\":1,\"alpha\":\"x\",\"mid\":[2,true],"
					       "\"null\":null}\n");
	free(buf);
	j = json_pack("{s:i}", "a", 1);
	buf = json_out_text(j);
	assert_string_equal(buf, "{\"a\":1}");
	free(buf);
	json_decref(j);
}

/* ---- trace lines ---- */

static void sample_sa(struct sa_event *e)
{
	*e = (struct sa_event){ .ts_ns = 123456789012345ull, .netns = 4026531840u,
				.kind = SA_EVENT_ADD, .family = AF_INET, .proto = IPPROTO_ESP,
				.km_state = XFRM_KM_VALID, .spi = htonl(0x1000), .reqid = 4294967295u,
				.mark_v = 7, .mark_m = 0xffffffff, .if_id = 3, .dir = SA_DIR_IN };
	e->saddr[0] = htonl(0xc0000201);
	e->daddr[0] = htonl(0xc0000202);
}

/* Every kind of trace line as the printf version wrote it, byte for byte. */
static void test_trace_lines(void **state)
{
	static const char want[] =
		"{\"event\":\"start\",\"probe\":\"tracepoint\",\"unavailable\":\"fentry (refused)\",\"netlink_netns\":3}\n"
		"{\"event\":\"start\",\"probe\":\"tracepoint\",\"unavailable\":\"\",\"netlink_netns\":1}\n"
		"{\"ts_ns\":123456789012345,\"event\":\"sa_add\",\"netns\":4026531840,\"family\":\"ipv4\",\"src\":\"192.0.2.1\",\"dst\":\"192.0.2.2\",\"proto\":\"esp\",\"spi\":\"0x00001000\",\"reqid\":4294967295,\"dir\":\"in\",\"mark\":7,\"mark_mask\":4294967295,\"if_id\":3,\"km_state\":\"valid\",\"source\":\"bpf\",\"actor\":{\"kind\":\"process\",\"pid\":1234,\"comm\":\"ip\"}}\n"
		"{\"ts_ns\":123456789012399,\"event\":\"sa_first_packet\",\"netns\":4026531840,\"family\":\"ipv4\",\"src\":\"192.0.2.1\",\"dst\":\"192.0.2.2\",\"proto\":\"esp\",\"spi\":\"0x00001000\",\"reqid\":4294967295,\"dir\":\"in\",\"mark\":7,\"mark_mask\":4294967295,\"if_id\":3,\"km_state\":\"valid\",\"source\":\"bpf\"}\n"
		"{\"ts_ns\":123456789012345,\"event\":\"sa_delete\",\"netns\":4026531840,\"family\":\"ipv4\",\"src\":\"192.0.2.1\",\"dst\":\"192.0.2.2\",\"proto\":\"esp\",\"spi\":\"0x00001000\",\"reqid\":4294967295,\"dir\":\"in\",\"mark\":7,\"mark_mask\":4294967295,\"if_id\":3,\"km_state\":\"valid\",\"source\":\"bpf\",\"actor\":{\"kind\":\"kernel\"},\"last_packet_ns\":123456789012300}\n"
		"{\"ts_ns\":123456789012345,\"event\":\"sa_expire\",\"netns\":4026531840,\"family\":\"ipv4\",\"src\":\"192.0.2.1\",\"dst\":\"192.0.2.2\",\"proto\":\"?\",\"spi\":\"0x00001000\",\"reqid\":4294967295,\"dir\":\"unknown\",\"mark\":7,\"mark_mask\":4294967295,\"if_id\":3,\"km_state\":\"?\",\"hard\":true,\"source\":\"netlink\",\"actor\":{\"kind\":\"unknown\"}}\n"
		"{\"ts_ns\":5,\"event\":\"policy_add\",\"netns\":9,\"family\":\"ipv6\",\"src\":\"::/64\",\"dst\":\"::/128\",\"dir\":\"fwd\",\"action\":\"block\",\"priority\":100,\"index\":33,\"mark\":0,\"mark_mask\":0,\"if_id\":0,\"templates\":0,\"source\":\"bpf\",\"actor\":{\"kind\":\"process\",\"pid\":77,\"comm\":\"charon\"}}\n"
		"{\"ts_ns\":5,\"event\":\"policy_expire\",\"netns\":9,\"family\":\"ipv6\",\"src\":\"::/64\",\"dst\":\"::/128\",\"dir\":\"fwd\",\"action\":\"block\",\"priority\":100,\"index\":33,\"mark\":0,\"mark_mask\":0,\"if_id\":0,\"templates\":2,\"proto\":\"esp\",\"spi\":\"0x00002000\",\"reqid\":5,\"tmpl_src\":\"0.0.0.0\",\"tmpl_dst\":\"0.0.0.0\",\"hard\":true,\"source\":\"netlink\",\"actor\":{\"kind\":\"unknown\"}}\n"
		"{\"ts_ns\":2,\"event\":\"drop\",\"netns\":1,\"family\":\"ipv4\",\"dst\":\"192.0.2.1\",\"spi\":\"0xabcdef01\",\"cause\":\"in_icv_fail\",\"reason\":\"77\",\"location\":\"0xffffffff81000010\",\"count\":5,\"total\":4294967296,\"first_ts_ns\":1,\"last_ts_ns\":2}\n"
		"{\"ts_ns\":2,\"event\":\"drop\",\"netns\":1,\"family\":\"ipv4\",\"dst\":\"192.0.2.1\",\"spi\":\"0xabcdef01\",\"cause\":\"other\",\"reason\":\"none\",\"location\":\"audit\",\"count\":0,\"total\":4294967296,\"first_ts_ns\":1,\"last_ts_ns\":2}\n"
		"{\"ts_ns\":0,\"event\":\"sa_flush\",\"netns\":0,\"proto\":\"ah\",\"source\":\"netlink\"}\n"
		"{\"ts_ns\":0,\"event\":\"sa_flush\",\"netns\":0,\"proto\":\"any\",\"source\":\"netlink\"}\n"
		"{\"ts_ns\":0,\"event\":\"policy_flush\",\"netns\":0,\"proto\":\"any\",\"source\":\"netlink\"}\n"
		"{\"event\":\"end\",\"events_lost\":1,\"drops_overflow\":2,\"drops_missed\":6,\"larval_states\":3,\"netlink_overruns\":4,\"netlink_malformed\":5}\n";
	struct policy_event p = { .ts_ns = 5, .netns = 9, .kind = POLICY_EVENT_ADD,
				  .dir = XFRM_POLICY_FWD, .action = XFRM_POLICY_BLOCK,
				  .family = AF_INET6, .index = 33, .priority = 100,
				  .sel_prefixlen_s = 64, .sel_prefixlen_d = 128 };
	struct drop_key k = { .netns = 1, .spi = htonl(0xabcdef01), .family = AF_INET,
			      .cause = DROP_IN_ICV_FAIL, .reason = 77,
			      .location = 0xffffffff81000010ull };
	struct drop_value v = { .count = 4294967296ull, .first_ts_ns = 1, .last_ts_ns = 2 };
	struct xfrm_msg m = { .kind = XFRM_MSG_KIND_SA_FLUSH, .flush_proto = IPPROTO_AH };
	struct trace_counters c = { .events_lost = 1, .drops_overflow = 2, .drops_missed = 6,
				    .larval = 3, .netlink_overruns = 4, .netlink_bad = 5 };
	char *buf = NULL;
	size_t len;
	struct trace_output o = { .out = open_memstream(&buf, &len), .json = true };
	struct sa_event e;
	json_t *lines[16];

	(void)state;
	sample_sa(&e);
	k.daddr[0] = htonl(0xc0000201);
	trace_print_start(&o, "tracepoint", "fentry (refused)", 3);
	trace_print_start(&o, "tracepoint", NULL, 1);
	e.actor = (struct actor){ .kind = ACTOR_PROCESS, .pid = 1234, .comm = "ip" };
	trace_print_sa(&o, &e, SOURCE_BPF);
	/* a first packet has no actor; a delete its last packet */
	e.kind = SA_EVENT_FIRST_PACKET;
	e.ts_ns += 54;
	trace_print_sa(&o, &e, SOURCE_BPF);
	e.kind = SA_EVENT_DELETE;
	e.ts_ns -= 54;
	e.actor = (struct actor){ .kind = ACTOR_KERNEL };
	e.last_packet_ns = 123456789012300ull;
	trace_print_sa(&o, &e, SOURCE_BPF);
	e.actor = (struct actor){ 0 };
	e.last_packet_ns = 0;
	e.kind = SA_EVENT_EXPIRE;
	e.hard = 1;
	e.dir = SA_DIR_UNKNOWN;
	e.proto = 99;
	e.km_state = 9;
	trace_print_sa(&o, &e, SOURCE_NETLINK);
	p.actor = (struct actor){ .kind = ACTOR_PROCESS, .pid = 77, .comm = "charon" };
	trace_print_policy(&o, &p, SOURCE_BPF);
	p.actor = (struct actor){ 0 };
	p.n_tmpl = 2;
	p.tmpl_proto = IPPROTO_ESP;
	p.tmpl_spi = htonl(0x2000);
	p.tmpl_reqid = 5;
	p.tmpl_family = AF_INET;
	p.kind = POLICY_EVENT_EXPIRE;
	p.hard = 1;
	trace_print_policy(&o, &p, SOURCE_NETLINK);
	trace_print_drop(&o, &k, &v, 5);
	k.location = 0;
	k.cause = 200;
	trace_print_drop(&o, &k, &v, 0);
	trace_print_flush(&o, &m);
	m.flush_proto = IPSEC_PROTO_ANY;
	trace_print_flush(&o, &m);
	m.kind = XFRM_MSG_KIND_POLICY_FLUSH;
	trace_print_flush(&o, &m);
	trace_print_end(&o, &c);
	assert_string_equal(closed(o.out, &buf), want);
	assert_int_equal(json_lines(buf, lines, 16), 14);
	json_free_all(lines, 14);
	free(buf);
}

/* Text lines name who made a change; a comm is any process's to choose: no control bytes. */
static void test_trace_text_actor(void **state)
{
	char *buf = NULL;
	size_t len;
	struct trace_output o = { .out = open_memstream(&buf, &len) };
	struct policy_event p = { .ts_ns = 5, .kind = POLICY_EVENT_DELETE, .family = AF_INET,
				  .actor = { .kind = ACTOR_KERNEL } };
	struct sa_event e;

	(void)state;
	sample_sa(&e);
	e.actor = (struct actor){ .kind = ACTOR_PROCESS, .pid = 42, .comm = "ip\nfake\x1b" };
	trace_print_sa(&o, &e, SOURCE_BPF);
	e.kind = SA_EVENT_DELETE;
	e.actor = (struct actor){ 0 };
	e.last_packet_ns = 123456000000000ull;
	trace_print_sa(&o, &e, SOURCE_NETLINK);
	e.kind = SA_EVENT_FIRST_PACKET;
	trace_print_sa(&o, &e, SOURCE_BPF);
	trace_print_policy(&o, &p, SOURCE_BPF);
	/* a per-CPU SA says its CPU, 0 included */
	e.kind = SA_EVENT_ADD;
	e.pcpu = 1;
	e.pcpu_num = 0;
	trace_print_sa(&o, &e, SOURCE_BPF);
	assert_string_equal(
		closed(o.out, &buf),
		"123456.789012 sa_add        netns 4026531840 ipv4 192.0.2.1 -> 192.0.2.2 esp spi "
		"0x00001000 reqid 4294967295 dir in by ip?fake?[42]\n"
		"123456.789012 sa_delete     netns 4026531840 ipv4 192.0.2.1 -> 192.0.2.2 esp spi "
		"0x00001000 reqid 4294967295 dir in by unknown last packet 123456.000000\n"
		"123456.789012 sa_first_packet netns 4026531840 ipv4 192.0.2.1 -> 192.0.2.2 esp spi "
		"0x00001000 reqid 4294967295 dir in\n"
		"0.000000 policy_delete netns 0 ipv4 0.0.0.0/0 -> 0.0.0.0/0 dir in allow by kernel\n"
		"123456.789012 sa_add        netns 4026531840 ipv4 192.0.2.1 -> 192.0.2.2 esp spi "
		"0x00001000 reqid 4294967295 dir in pcpu 0 by unknown\n");
	free(buf);

	buf = NULL;
	o = (struct trace_output){ .out = open_memstream(&buf, &len), .json = true };
	e.pcpu_num = 3;
	trace_print_sa(&o, &e, SOURCE_BPF);
	assert_non_null(strstr(closed(o.out, &buf), ",\"source\":\"bpf\",\"pcpu\":3,\"actor\":"));
	free(buf);
}

/* Text from outside in the trace: the start line's probe and blind texts, a drop's reason
 * (BTF names) and location (kallsyms names). */
static void test_trace_abuse(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_ABUSE; i++) {
		char *name = (char *)json_abuse[i].in, *buf = NULL, want_loc[128];
		struct ksym sym = { 0xffffffff81000000ull, name };
		struct ksyms ks = { &sym, 1 };
		struct drop_reasons dr = { &name, 1 };
		struct trace_output o = { .ksyms = &ks, .reasons = &dr, .json = true };
		struct drop_key k = { .family = AF_INET, .location = 0xffffffff81000010ull };
		struct drop_value v = { .count = 1 };
		size_t len;
		json_t *lines[3];

		o.out = open_memstream(&buf, &len);
		trace_print_start(&o, name, name, 1);
		trace_print_drop(&o, &k, &v, 1);
		assert_int_equal(json_lines(closed(o.out, &buf), lines, 3), 2);
		assert_string_equal(json_str(lines[0], "probe"), json_abuse[i].out);
		assert_string_equal(json_str(lines[0], "unavailable"), json_abuse[i].out);
		assert_string_equal(json_str(lines[1], "reason"), json_abuse[i].out);
		snprintf(want_loc, sizeof(want_loc), "%s+0x10", json_abuse[i].out);
		assert_string_equal(json_str(lines[1], "location"), want_loc);
		json_free_all(lines, 2);
		free(buf);
	}
}

/* ---- the lab's report.json ---- */

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "re");
	char *text = NULL;
	size_t cap = 0;
	ssize_t n;

	assert_non_null(f);
	n = getdelim(&text, &cap, '\0', f);
	assert_true(n > 0);
	fclose(f);
	return text;
}

/* A lab of two phases, two episodes, lost datagrams, names from abuse entry i. */
static void sample_lab(struct lab *lab, size_t i, struct episode *eps, __u64 *sent_ns, __u8 *rec)
{
	memset(lab, 0, sizeof(*lab));
	snprintf(lab->ns[0], sizeof(lab->ns[0]), "%s", json_abuse[i].in);
	snprintf(lab->ns[1], sizeof(lab->ns[1]), "B %s", json_abuse[i].in);
	lab->inum[0] = 11;
	lab->inum[1] = 22;
	lab->alg = json_abuse[i].in;
	lab->probe_mode = json_abuse[i].in;
	lab->rate = 1000;
	lab->rekeys = 2;
	lab->interval_ns = 200123456;
	lab->start_ns = 1000000000;
	lab->n_phases = 2;
	/* ground truth: datagrams sent up to 1.45 s and 2.0 s (half a pause before t1) */
	lab->phase[0] = (struct lab_phase){ .strategy = REKEY_DELETE_ADD, .t0 = 1000000000,
					    .t1 = 2200000000, .rekeys = 2, .messages = 13 };
	lab->phase[1] = (struct lab_phase){ .strategy = REKEY_UPDATE, .t0 = 2200000000,
					    .t1 = 2750000000, .rekeys = 2, .failed = 1, .messages = 8,
					    .key_unchanged = 4 };
	for (int d = 0; d < 6; d++)
		sent_ns[d] = 1100000000ull + d * 100000000ull;
	for (int f = 0; f < 2; f++)
		lab->flow[f] = (struct traffic_flow){ .sent_ns = sent_ns, .received = rec, .sent = 6,
						      .arrived = 4, .send_errors = (__u32)f };
	eps[0] = (struct episode){ .id = 1, .kind = EPISODE_REPLACED, .old_spi = htonl(0x1000),
				   .new_spi = htonl(0x1234), .t_delete_old = 1100000000,
				   .t_insert_new = 1100123457, .has_gap = true, .gap_ns = 123457,
				   .drops_total = 2, .outage_ns = 2345678 };
	eps[0].flow.netns = 11;
	eps[0].flow.dir = SA_DIR_OUT;
	eps[0].verdict = VERDICT_GAP;
	eps[0].phase[LOSS_GAP].drops = 2;
	eps[0].insert_actor = (struct actor){ .kind = ACTOR_PROCESS, .pid = 7 };
	/* a comm is the process's own choice: abuse it too, all 16 bytes, no NUL */
	memcpy(eps[0].insert_actor.comm, json_abuse[i].in,
	       strnlen(json_abuse[i].in, sizeof(eps[0].insert_actor.comm)));
	eps[0].delete_actor.kind = ACTOR_KERNEL;
	eps[0].new_first_packet_ns = 1100200000;
	eps[1] = eps[0];
	eps[1].flow.netns = 22;
	eps[1].flow.dir = SA_DIR_IN;
	eps[1].kind = EPISODE_UNREPLACED;
	eps[1].verdict = VERDICT_NOT_REPLACED;
	eps[1].t_delete_old = 2300000000;
	eps[1].t_insert_new = 0;
	eps[1].new_spi = 0;
	eps[1].has_gap = false;
	lab->episodes = eps;
	lab->n_episodes = 2;
	/* one drop delta the monitor read in the first phase, in B, that no episode took */
	static struct lab_drop drops[1];
	drops[0] = (struct lab_drop){ .last_ns = 1500000000, .count = 3, .side = 1,
				      .spi = htonl(0x1234), .cause = DROP_IN_NO_STATE };
	lab->drops = drops;
	lab->n_drops = 1;
}

static void test_lab_report(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_ABUSE; i++) {
		char dir[] = "/tmp/rekeygap-test-json-XXXXXX", path[64], err[256] = "", keys[256];
		__u64 sent_ns[6];
		__u8 rec[6] = { 1, 0, 1, 1, 0, 1 };
		struct episode eps[2];
		struct lab lab;
		json_t *doc[2], *lab_j, *ph, *ep;
		char *text, want_b[64];

		sample_lab(&lab, i, eps, sent_ns, rec);
		lab_results(&lab);
		assert_non_null(mkdtemp(dir));
		assert_int_equal(lab_write_report(&lab, dir, err, sizeof(err)), 0);
		snprintf(path, sizeof(path), "%s/report.json", dir);
		text = read_file(path);
		assert_int_equal(json_lines(text, doc, 2), 1);
		assert_string_equal(json_keys(doc[0], keys, sizeof(keys)),
				    "lab,strategies,episodes,ground_truth");
		lab_j = json_object_get(doc[0], "lab");
		assert_string_equal(json_keys(lab_j, keys, sizeof(keys)),
				    "namespaces,aead,rate,rekeys,pcpu,interval_ms,probe_mode");
		assert_string_equal(json_string_value(json_array_get(
					    json_object_get(lab_j, "namespaces"), 0)),
				    json_abuse[i].out);
		snprintf(want_b, sizeof(want_b), "B %s", json_abuse[i].out);
		assert_string_equal(json_string_value(json_array_get(
					    json_object_get(lab_j, "namespaces"), 1)),
				    want_b);
		assert_string_equal(json_str(lab_j, "aead"), json_abuse[i].out);
		assert_string_equal(json_str(lab_j, "probe_mode"), json_abuse[i].out);
		assert_true(json_real_value(json_object_get(lab_j, "interval_ms")) == 200.1);

		ph = json_array_get(json_object_get(doc[0], "strategies"), 0);
		assert_string_equal(json_keys(ph, keys, sizeof(keys)),
				    "strategy,rekeys,failed,sent,lost,attributed,drops_seen,drops_missed,gap_ms,outage_ms,"
				    "netlink_messages_per_rekey,key_changed,t0_ms,t1_ms,sas,"
				    "drop_groups,drops,verdicts");
		assert_int_equal(json_integer_value(json_object_get(json_object_get(ph, "verdicts"),
								    "gap")),
				 1);
		assert_int_equal(json_object_size(json_object_get(ph, "verdicts")), 1);
		/* datagrams 1 and 4 of each flow lost; the first phase has those sent by 1.45 s */
		assert_int_equal(json_integer_value(json_object_get(ph, "sent")), 8);
		assert_int_equal(json_integer_value(json_object_get(ph, "lost")), 2);
		assert_int_equal(json_integer_value(json_object_get(ph, "attributed")), 2);
		assert_true(json_real_value(json_object_get(json_object_get(ph, "gap_ms"), "max")) ==
			    0.1235);
		assert_null(json_object_get(json_object_get(ph, "outage_ms"), "p99"));
		assert_true(json_real_value(json_object_get(ph, "netlink_messages_per_rekey")) ==
			    3.25);
		assert_true(json_is_true(json_object_get(ph, "key_changed")));
		assert_int_equal(json_array_size(json_object_get(ph, "sas")), 4);
		assert_true(json_is_null(json_object_get(
			json_array_get(json_object_get(ph, "sas"), 0), "to_ms")));
		assert_int_equal(json_array_size(json_object_get(ph, "drop_groups")), 2);
		assert_int_equal(json_integer_value(json_object_get(ph, "drops_seen")), 3);
		assert_int_equal(json_array_size(json_object_get(ph, "drops")), 1);
		{
			json_t *d = json_array_get(json_object_get(ph, "drops"), 0);

			assert_string_equal(json_string_value(json_object_get(d, "netns")), "B");
			assert_string_equal(json_string_value(json_object_get(d, "spi")), "0x00001234");
			assert_string_equal(json_string_value(json_object_get(d, "cause")),
					    drop_cause_name(DROP_IN_NO_STATE));
			assert_int_equal(json_integer_value(json_object_get(d, "count")), 3);
			assert_true(json_real_value(json_object_get(d, "t_ms")) == 500.0);
		}
		ph = json_array_get(json_object_get(doc[0], "strategies"), 1);
		assert_true(json_is_false(json_object_get(ph, "key_changed")));
		assert_true(json_is_null(json_object_get(ph, "gap_ms")));

		ep = json_array_get(json_object_get(doc[0], "episodes"), 1);
		assert_string_equal(json_keys(ep, keys, sizeof(keys)),
				    "strategy,netns,dir,kind,old_spi,new_spi,t_delete_old_ms,"
				    "t_insert_new_ms,gap_ms,overlap_ms,dropped,loss,outage_ms,verdict,"
				    "insert_actor,delete_actor,old_last_packet_ms,new_first_packet_ms");
		assert_string_equal(json_str(ep, "verdict"), "not_replaced");
		assert_string_equal(json_keys(json_object_get(ep, "loss"), keys, sizeof(keys)),
				    "gap");
		assert_int_equal(json_integer_value(json_object_get(json_object_get(ep, "loss"),
								    "gap")),
				 2);
		assert_true(json_is_null(json_object_get(ep, "old_last_packet_ms")));
		assert_true(json_real_value(json_object_get(ep, "new_first_packet_ms")) == 100.2);
		assert_string_equal(json_str(json_object_get(ep, "delete_actor"), "kind"), "kernel");
		assert_int_equal(json_integer_value(
					 json_object_get(json_object_get(ep, "insert_actor"), "pid")),
				 7);
		assert_string_equal(json_str(ep, "strategy"), "update");
		assert_string_equal(json_str(ep, "netns"), "B");
		assert_string_equal(json_str(ep, "dir"), "in");
		assert_string_equal(json_str(ep, "kind"), "unreplaced");
		assert_true(json_real_value(json_object_get(ep, "t_delete_old_ms")) == 1300.0);
		assert_true(json_real_value(json_object_get(ep, "outage_ms")) == 2.346);
		json_free_all(doc, 1);
		free(text);
		unlink(path);
		snprintf(path, sizeof(path), "%s/report.html", dir);
		unlink(path);
		rmdir(dir);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_string_valid_unchanged),
		cmocka_unit_test(test_string_round_trip),
		cmocka_unit_test(test_u64),
		cmocka_unit_test(test_real),
		cmocka_unit_test(test_line_and_extend),
		cmocka_unit_test(test_trace_lines),
		cmocka_unit_test(test_trace_text_actor),
		cmocka_unit_test(test_trace_abuse),
		cmocka_unit_test(test_lab_report),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
