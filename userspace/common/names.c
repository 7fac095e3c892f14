// SPDX-License-Identifier: BSD-2-Clause
/* The name tables of every output: see names.h. */
#include "names.h"

#include <linux/xfrm.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/socket.h>

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* table[i], or fallback where i is outside it or names nothing */
static const char *lookup(const char *const *table, size_t n, unsigned int i, const char *fallback)
{
	return i < n && table[i] ? table[i] : fallback;
}

static const char *const drop_cause_names[DROP_CAUSE_MAX] = {
	[DROP_OTHER] = "other",
	[DROP_IN_NO_STATE] = "in_no_state",
	[DROP_IN_ICV_FAIL] = "in_icv_fail",
	[DROP_IN_STATE_INVALID] = "in_state_invalid",
	[DROP_IN_ACQUIRE] = "in_acquire",
	[DROP_IN_EXPIRED] = "in_expired",
	[DROP_OUT_NO_STATE] = "out_no_state",
	[DROP_OUT_STATE_INVALID] = "out_state_invalid",
	[DROP_POLICY_BLOCK] = "policy_block",
};

const char *drop_cause_name(enum drop_cause cause)
{
	return lookup(drop_cause_names, N_OF(drop_cause_names), cause, "other");
}

/* SA events: the trace's name, the metrics' label */
static const char *const sa_event_names[][2] = {
	[SA_EVENT_ADD] = { "sa_add", "add" },
	[SA_EVENT_UPDATE] = { "sa_update", "update" },
	[SA_EVENT_DELETE] = { "sa_delete", "delete" },
	[SA_EVENT_EXPIRE] = { "sa_expire", "expire" },
	[SA_EVENT_FIRST_PACKET] = { "sa_first_packet", "first_packet" },
	[SA_EVENT_MIGRATE_OUT] = { "sa_migrate_out", "migrate_out" },
	[SA_EVENT_MIGRATE_IN] = { "sa_migrate_in", "migrate_in" },
};

static const char *sa_event_spelling(enum sa_event_kind kind, int column)
{
	if ((unsigned int)kind >= N_OF(sa_event_names) || !sa_event_names[kind][column])
		return "?";
	return sa_event_names[kind][column];
}

const char *sa_event_name(enum sa_event_kind kind)
{
	return sa_event_spelling(kind, 0);
}

const char *sa_event_label(enum sa_event_kind kind)
{
	return sa_event_spelling(kind, 1);
}

static const char *const policy_event_names[] = {
	[POLICY_EVENT_ADD] = "policy_add",
	[POLICY_EVENT_UPDATE] = "policy_update",
	[POLICY_EVENT_DELETE] = "policy_delete",
	[POLICY_EVENT_EXPIRE] = "policy_expire",
};

const char *policy_event_name(enum policy_event_kind kind)
{
	return lookup(policy_event_names, N_OF(policy_event_names), kind, "?");
}

static const char *proto_known(__u8 proto)
{
	switch (proto) {
	case IPPROTO_ESP:
		return "esp";
	case IPPROTO_AH:
		return "ah";
	case IPPROTO_COMP:
		return "comp";
	default:
		return NULL;
	}
}

const char *proto_name(__u8 proto)
{
	const char *name = proto_known(proto);

	return name ? name : "?";
}

const char *proto_label(__u8 proto)
{
	const char *name = proto_known(proto);

	return name ? name : "other";
}

const char *sa_dir_label(__u8 dir)
{
	return dir == SA_DIR_IN ? "in" : dir == SA_DIR_OUT ? "out" : "unknown";
}

static const char *const policy_dir_names[] = {
	[XFRM_POLICY_IN] = "in",
	[XFRM_POLICY_OUT] = "out",
	[XFRM_POLICY_FWD] = "fwd",
};

const char *policy_dir_name(__u8 dir)
{
	return lookup(policy_dir_names, N_OF(policy_dir_names), dir, "?");
}

const char *policy_action_name(__u8 action)
{
	return action == XFRM_POLICY_BLOCK ? "block" : "allow";
}

const char *family_name(__u16 family)
{
	return family == AF_INET ? "ipv4" : family == AF_INET6 ? "ipv6" : "?";
}

static const char *const km_state_names[] = {
	[XFRM_KM_VOID] = "void",   [XFRM_KM_ACQ] = "acquire",
	[XFRM_KM_VALID] = "valid", [XFRM_KM_ERROR] = "error",
	[XFRM_KM_EXPIRED] = "expired", [XFRM_KM_DEAD] = "dead",
};

const char *km_state_name(__u8 state)
{
	return lookup(km_state_names, N_OF(km_state_names), state, "?");
}

static const char *const episode_kind_names[EPISODE_KIND_MAX] = {
	[EPISODE_REPLACED] = "replaced",
	[EPISODE_UNREPLACED] = "unreplaced",
	[EPISODE_EXPIRED] = "expired",
	[EPISODE_MIGRATED] = "migrated",
};

const char *episode_kind_name(enum episode_kind kind)
{
	return lookup(episode_kind_names, N_OF(episode_kind_names), kind, "?");
}

/* the verdict's word, and the sentence that says what it means */
static const char *const verdict_names[VERDICT_MAX][2] = {
	[VERDICT_CLEAN] = { "clean", "replaced without loss and without a moment with no SA" },
	[VERDICT_GAP] = { "gap", "no valid SA for the flow for a while: the old one was deleted "
				 "before the new one was added" },
	[VERDICT_PEER_EARLY] = { "peer_early", "packets came on the new SPI before this side's SA "
					 "was valid (larval or absent): the peer switched first" },
	[VERDICT_OLD_REMOVED_EARLY] = { "old_removed_early",
					"packets came on the old SPI after its SA was removed, the new "
					"one in place: removed before the traffic had left it (the "
					"peer's, or this side's own on their way out)" },
	[VERDICT_KEY_MISMATCH] = { "key_mismatch", "integrity checks failed: the two sides hold "
						   "different keys for the SPI" },
	[VERDICT_NOT_REPLACED] = { "not_replaced", "the SA was deleted and no successor came" },
	[VERDICT_EXPIRED] = { "expired", "the SA reached its hard lifetime and the kernel removed "
					 "it" },
};

const char *verdict_name(enum episode_verdict verdict)
{
	return verdict < VERDICT_MAX && verdict_names[verdict][0] ? verdict_names[verdict][0] : "?";
}

const char *verdict_why(enum episode_verdict verdict)
{
	return verdict < VERDICT_MAX && verdict_names[verdict][1] ? verdict_names[verdict][1] : "";
}

static const char *const loss_phase_names[LOSS_PHASE_MAX] = {
	[LOSS_GAP] = "gap",
	[LOSS_PEER_EARLY] = "peer_early",
	[LOSS_OLD_REMOVED_EARLY] = "old_removed_early",
	[LOSS_KEY_MISMATCH] = "key_mismatch",
	[LOSS_OTHER] = "other",
};

const char *loss_phase_name(enum loss_phase phase)
{
	return lookup(loss_phase_names, N_OF(loss_phase_names), phase, "other");
}

const char *actor_kind_name(__u8 kind)
{
	return kind == ACTOR_PROCESS ? "process" : kind == ACTOR_KERNEL ? "kernel" : "unknown";
}

char *actor_format(const struct actor *a, char buf[ACTOR_STRLEN])
{
	if (a->kind == ACTOR_PROCESS)
		snprintf(buf, ACTOR_STRLEN, "%.*s[%u]", ACTOR_COMM_LEN, a->comm, a->pid);
	else
		snprintf(buf, ACTOR_STRLEN, "%s", actor_kind_name(a->kind));
	return buf;
}

char *actor_label(const struct actor *a, char buf[ACTOR_STRLEN])
{
	if (a->kind == ACTOR_PROCESS)
		snprintf(buf, ACTOR_STRLEN, "%.*s", ACTOR_COMM_LEN, a->comm);
	else
		snprintf(buf, ACTOR_STRLEN, "%s", actor_kind_name(a->kind));
	return buf;
}

const char *event_source_name(enum event_source source)
{
	return source == SOURCE_NETLINK ? "netlink" : "bpf";
}
