// SPDX-License-Identifier: BSD-2-Clause
/* Unit tests for userspace/common/names.c: every value named, fallbacks, the spellings outputs use. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "names.c"

#include <string.h>

/* The README documents these cause names, dashboards and alerts select on them. */
static void test_drop_causes(void **state)
{
	static const char *const want[DROP_CAUSE_MAX] = {
		"other",      "in_no_state",  "in_icv_fail",       "in_state_invalid",
		"in_acquire", "in_expired",   "out_no_state",      "out_state_invalid",
		"policy_block",
	};

	(void)state;
	for (int c = 0; c < DROP_CAUSE_MAX; c++)
		assert_string_equal(drop_cause_name(c), want[c]);
	assert_string_equal(drop_cause_name(DROP_CAUSE_MAX), "other");
	assert_string_equal(drop_cause_name(255), "other");
	assert_string_equal(drop_cause_name((enum drop_cause)-1), "other");
}

static void test_sa_events(void **state)
{
	static const char *const trace[] = { "sa_add",		"sa_update",	  "sa_delete",
					     "sa_expire",	"sa_first_packet", "sa_migrate_out",
					     "sa_migrate_in" };
	static const char *const label[] = { "add",	     "update",	    "delete",	  "expire",
					     "first_packet", "migrate_out", "migrate_in" };

	(void)state;
	for (int k = SA_EVENT_ADD; k <= SA_EVENT_MIGRATE_IN; k++) {
		assert_string_equal(sa_event_name(k), trace[k - SA_EVENT_ADD]);
		assert_string_equal(sa_event_label(k), label[k - SA_EVENT_ADD]);
	}
	static const int outside[] = { 0, SA_EVENT_MIGRATE_IN + 1, 100, 255 };

	for (size_t i = 0; i < N_OF(outside); i++) {
		assert_string_equal(sa_event_name(outside[i]), "?");
		assert_string_equal(sa_event_label(outside[i]), "?");
	}
	assert_string_equal(sa_event_name((enum sa_event_kind)-1), "?");
}

static void test_policy_events(void **state)
{
	static const char *const want[] = { "policy_add", "policy_update", "policy_delete",
					     "policy_expire" };

	(void)state;
	for (int k = POLICY_EVENT_ADD; k <= POLICY_EVENT_EXPIRE; k++)
		assert_string_equal(policy_event_name(k), want[k - POLICY_EVENT_ADD]);
	assert_string_equal(policy_event_name(0), "?"); /* an acquire's policy */
	assert_string_equal(policy_event_name(POLICY_EVENT_EXPIRE + 1), "?");
	assert_string_equal(policy_event_name(200), "?");
}

/* The trace says "?" for a protocol it does not know, the metrics "other". */
static void test_protocols(void **state)
{
	(void)state;
	assert_string_equal(proto_name(IPPROTO_ESP), "esp");
	assert_string_equal(proto_name(IPPROTO_AH), "ah");
	assert_string_equal(proto_name(IPPROTO_COMP), "comp");
	assert_string_equal(proto_label(IPPROTO_ESP), "esp");
	assert_string_equal(proto_label(IPPROTO_AH), "ah");
	assert_string_equal(proto_label(IPPROTO_COMP), "comp");
	for (int p = 0; p < 256; p++) {
		if (p == IPPROTO_ESP || p == IPPROTO_AH || p == IPPROTO_COMP)
			continue;
		assert_string_equal(proto_name(p), "?");
		assert_string_equal(proto_label(p), "other");
	}
}

static void test_directions(void **state)
{
	(void)state;
	assert_string_equal(sa_dir_label(SA_DIR_IN), "in");
	assert_string_equal(sa_dir_label(SA_DIR_OUT), "out");
	assert_string_equal(sa_dir_label(SA_DIR_UNKNOWN), "unknown");
	assert_string_equal(sa_dir_label(3), "unknown");
	assert_string_equal(sa_dir_label(255), "unknown");
	assert_string_equal(policy_dir_name(XFRM_POLICY_IN), "in");
	assert_string_equal(policy_dir_name(XFRM_POLICY_OUT), "out");
	assert_string_equal(policy_dir_name(XFRM_POLICY_FWD), "fwd");
	assert_string_equal(policy_dir_name(XFRM_POLICY_MAX), "?");
	assert_string_equal(policy_dir_name(255), "?");
	assert_string_equal(policy_action_name(XFRM_POLICY_ALLOW), "allow");
	assert_string_equal(policy_action_name(XFRM_POLICY_BLOCK), "block");
	assert_string_equal(policy_action_name(7), "allow");
}

static void test_families_and_states(void **state)
{
	static const char *const km[] = { "void", "acquire", "valid", "error", "expired", "dead" };

	(void)state;
	assert_string_equal(family_name(AF_INET), "ipv4");
	assert_string_equal(family_name(AF_INET6), "ipv6");
	assert_string_equal(family_name(0), "?");
	assert_string_equal(family_name(AF_UNIX), "?");
	for (int s = XFRM_KM_VOID; s <= XFRM_KM_DEAD; s++)
		assert_string_equal(km_state_name(s), km[s]);
	assert_string_equal(km_state_name(XFRM_KM_DEAD + 1), "?");
	assert_string_equal(km_state_name(255), "?");
}

static void test_episode_kinds_and_sources(void **state)
{
	(void)state;
	assert_string_equal(episode_kind_name(EPISODE_REPLACED), "replaced");
	assert_string_equal(episode_kind_name(EPISODE_UNREPLACED), "unreplaced");
	assert_string_equal(episode_kind_name(EPISODE_EXPIRED), "expired");
	assert_string_equal(episode_kind_name(0), "?");
	assert_string_equal(episode_kind_name(EPISODE_KIND_MAX), "?");
	assert_string_equal(episode_kind_name((enum episode_kind)-1), "?");
	assert_string_equal(event_source_name(SOURCE_BPF), "bpf");
	assert_string_equal(event_source_name(SOURCE_NETLINK), "netlink");
	assert_string_equal(event_source_name((enum event_source)9), "bpf");
}

/* Verdicts are bounded labels: every value named, everything else "?", not NULL. */
static void test_verdicts(void **state)
{
	static const char *const want[] = { "clean", "gap", "peer_early", "old_removed_early",
					    "key_mismatch", "not_replaced", "expired" };

	(void)state;
	for (int v = VERDICT_CLEAN; v < VERDICT_MAX; v++) {
		assert_string_equal(verdict_name(v), want[v - VERDICT_CLEAN]);
		assert_true(strlen(verdict_why(v)) > 10);
	}
	assert_string_equal(verdict_name(0), "?");
	assert_string_equal(verdict_name(VERDICT_MAX), "?");
	assert_string_equal(verdict_why(VERDICT_MAX), "");
	assert_string_equal(loss_phase_name(LOSS_PEER_EARLY), "peer_early");
	assert_string_equal(loss_phase_name(LOSS_PHASE_MAX), "other");
}

/* Actors: comm and pid for a process, even a comm of 16 bytes without its NUL. */
static void test_actors(void **state)
{
	struct actor a = { .kind = ACTOR_PROCESS, .pid = 4242 };
	char buf[ACTOR_STRLEN];

	(void)state;
	memcpy(a.comm, "charon", 7);
	assert_string_equal(actor_format(&a, buf), "charon[4242]");
	assert_string_equal(actor_label(&a, buf), "charon");
	memcpy(a.comm, "0123456789abcdef", ACTOR_COMM_LEN);
	assert_string_equal(actor_format(&a, buf), "0123456789abcdef[4242]");
	assert_string_equal(actor_label(&a, buf), "0123456789abcdef");
	a.kind = ACTOR_KERNEL;
	assert_string_equal(actor_format(&a, buf), "kernel");
	assert_string_equal(actor_label(&a, buf), "kernel");
	a.kind = 77;
	assert_string_equal(actor_format(&a, buf), "unknown");
	assert_string_equal(actor_kind_name(ACTOR_UNKNOWN), "unknown");
}

/* Each table: every value inside its range has a name, none empty. */
static void test_tables_complete(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_OF(drop_cause_names); i++)
		assert_true(drop_cause_names[i] && *drop_cause_names[i]);
	for (size_t i = SA_EVENT_ADD; i < N_OF(sa_event_names); i++)
		assert_true(sa_event_names[i][0] && sa_event_names[i][1]);
	for (size_t i = POLICY_EVENT_ADD; i < N_OF(policy_event_names); i++)
		assert_non_null(policy_event_names[i]);
	for (size_t i = 0; i < N_OF(policy_dir_names); i++)
		assert_non_null(policy_dir_names[i]);
	for (size_t i = 0; i < N_OF(km_state_names); i++)
		assert_non_null(km_state_names[i]);
	for (size_t i = EPISODE_REPLACED; i < N_OF(episode_kind_names); i++)
		assert_non_null(episode_kind_names[i]);
	assert_int_equal(N_OF(km_state_names), XFRM_KM_DEAD + 1);
	assert_int_equal(N_OF(policy_dir_names), XFRM_POLICY_FWD + 1);
	assert_int_equal(N_OF(sa_event_names), SA_EVENT_MIGRATE_IN + 1);
	for (size_t i = VERDICT_CLEAN; i < N_OF(verdict_names); i++)
		assert_true(verdict_names[i][0] && *verdict_names[i][1]);
	for (size_t i = 0; i < N_OF(loss_phase_names); i++)
		assert_non_null(loss_phase_names[i]);
	assert_int_equal(N_OF(verdict_names), VERDICT_MAX);
	assert_int_equal(N_OF(loss_phase_names), LOSS_PHASE_MAX);
	assert_int_equal(N_OF(policy_event_names), POLICY_EVENT_EXPIRE + 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_drop_causes),
		cmocka_unit_test(test_sa_events),
		cmocka_unit_test(test_policy_events),
		cmocka_unit_test(test_protocols),
		cmocka_unit_test(test_directions),
		cmocka_unit_test(test_families_and_states),
		cmocka_unit_test(test_episode_kinds_and_sources),
		cmocka_unit_test(test_verdicts),
		cmocka_unit_test(test_actors),
		cmocka_unit_test(test_tables_complete),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
