/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The vocabulary of every output: drop causes, SA and policy events, protocols, directions,
 * episode kinds, event sources. One place, so the trace, the metrics, the rekey command and
 * the lab's report cannot drift apart. Where two outputs spell a thing differently the table
 * has a column per spelling: *_name is what trace lines and JSON say, *_label what Prometheus
 * labels say. A value outside the vocabulary gets the fallback documented at each function,
 * never NULL.
 */
#ifndef REKEYGAP_NAMES_H
#define REKEYGAP_NAMES_H

#include <linux/types.h>

#include "episode.h"
#include "xfrm_trace.h"

/* Where an event was seen: a BPF probe in the kernel, or an XFRM netlink notification. */
enum event_source { SOURCE_BPF, SOURCE_NETLINK };

/* "in_no_state", ...; out of range: "other" (what DROP_OTHER says) */
const char *drop_cause_name(enum drop_cause cause);
/* "sa_add", "sa_update", "sa_delete", "sa_expire", "sa_first_packet"; else "?" */
const char *sa_event_name(enum sa_event_kind kind);
/* "add", "update", "delete", "expire", "first_packet"; else "?" */
const char *sa_event_label(enum sa_event_kind kind);
/* "policy_add", "policy_update", "policy_delete", "policy_expire"; else "?" */
const char *policy_event_name(enum policy_event_kind kind);
/* IPPROTO_ESP, _AH, _COMP: "esp", "ah", "comp"; else "?" */
const char *proto_name(__u8 proto);
/* the same, else "other" */
const char *proto_label(__u8 proto);
/* SA_DIR_IN, SA_DIR_OUT: "in", "out"; else "unknown" (trace and metrics alike) */
const char *sa_dir_label(__u8 dir);
/* XFRM_POLICY_IN, _OUT, _FWD: "in", "out", "fwd"; else "?" */
const char *policy_dir_name(__u8 dir);
/* XFRM_POLICY_BLOCK: "block"; anything else "allow" */
const char *policy_action_name(__u8 action);
/* AF_INET, AF_INET6: "ipv4", "ipv6"; else "?" */
const char *family_name(__u16 family);
/* XFRM_KM_*: "void", "acquire", "valid", "error", "expired", "dead"; else "?" */
const char *km_state_name(__u8 state);
/* "replaced", "unreplaced", "expired"; else "?" */
const char *episode_kind_name(enum episode_kind kind);
/* "clean", "gap", "peer_early", "old_removed_early", "key_mismatch", "not_replaced",
 * "expired"; else "?" */
const char *verdict_name(enum episode_verdict verdict);
/* the verdict in one sentence, for people; else "" */
const char *verdict_why(enum episode_verdict verdict);
/* "gap", "peer_early", "old_removed_early", "key_mismatch", "other" (also out of range) */
const char *loss_phase_name(enum loss_phase phase);
/* ACTOR_PROCESS: "process", ACTOR_KERNEL: "kernel", else "unknown" */
const char *actor_kind_name(__u8 kind);
/* "ip[1234]", "kernel", "unknown" */
#define ACTOR_STRLEN (ACTOR_COMM_LEN + 16)
char *actor_format(const struct actor *a, char buf[ACTOR_STRLEN]);
/* for a Prometheus label: the process's comm, "kernel" or "unknown" (no pid: bounded) */
char *actor_label(const struct actor *a, char buf[ACTOR_STRLEN]);
/* "bpf", "netlink"; else "bpf" */
const char *event_source_name(enum event_source source);

#endif
