/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Types shared by bpf/xfrm_trace.bpf.c and userspace: SA lifecycle events (ring buffer) and
 * XFRM drops aggregated in the kernel per (netns, SA, cause, reason, location).
 */
#ifndef REKEYGAP_XFRM_TRACE_H
#define REKEYGAP_XFRM_TRACE_H

/* What happened to an SA. */
enum sa_event_kind {
	SA_EVENT_ADD = 1,    /* NEWSA, or UPDSA replacing a larval (ACQ) state */
	SA_EVENT_UPDATE = 2, /* UPDSA on a valid SA: lifetimes, marks, encap only */
	SA_EVENT_DELETE = 3, /* DELSA, flush, hard expiry */
	SA_EVENT_EXPIRE = 4, /* soft or hard expiry notification */
	SA_EVENT_FIRST_PACKET = 5, /* the SA carried its first packet: outbound encrypted,
				    * inbound decrypted (ts_ns: when); BPF only */
	/* XFRM_MSG_MIGRATE_STATE (7.2): one SA moved to new addresses, mark or reqid, its SPI,
	 * keys and sequence numbers kept; not a rekey. The old SA's identity leaves (ts_ns:
	 * when the kernel removed it), then the new one's arrives (ts_ns: installed). */
	SA_EVENT_MIGRATE_OUT = 6,
	SA_EVENT_MIGRATE_IN = 7,
};

/* Why a packet was dropped: a fixed vocabulary, documented in the README. */
enum drop_cause {
	DROP_OTHER = 0,             /* an XFRM drop point we cannot classify further */
	DROP_IN_NO_STATE = 1,       /* inbound SPI with no SA (XfrmInNoStates) */
	DROP_IN_ICV_FAIL = 2,       /* inbound integrity check failed: wrong key */
	DROP_IN_STATE_INVALID = 3,  /* inbound on a VOID/DEAD/ERROR SA (XfrmInStateInvalid) */
	DROP_IN_ACQUIRE = 4,        /* inbound on a larval SA (XfrmAcquireError) */
	DROP_IN_EXPIRED = 5,        /* inbound on a hard-expired SA (XfrmInStateExpired) */
	DROP_OUT_NO_STATE = 6,      /* outbound, no valid SA: blackholed (XfrmOutNoStates) */
	DROP_OUT_STATE_INVALID = 7, /* outbound on an SA deleted under it (XfrmOutStateInvalid) */
	DROP_POLICY_BLOCK = 8,      /* SKB_DROP_REASON_XFRM_POLICY */
	DROP_CAUSE_MAX,
};

/* km.state values: an anonymous enum in the kernel, unchanged since 2.6 */
#define XFRM_KM_VOID 0
#define XFRM_KM_ACQ 1
#define XFRM_KM_VALID 2
#define XFRM_KM_ERROR 3
#define XFRM_KM_EXPIRED 4
#define XFRM_KM_DEAD 5

/* dir: the SA's own direction where the kernel has one (6.10+), else unknown */
#define SA_DIR_UNKNOWN 0
#define SA_DIR_IN 1
#define SA_DIR_OUT 2

/*
 * Who made an SA or policy change. The kernel runs XFRM netlink requests in the sender's
 * context, so BPF sees the process itself; a change from a timer (hard expiry) or a kernel
 * thread (namespace teardown) is the kernel's. Netlink notifications do not say who sent
 * the request: without BPF hooks on SA changes the actor is unknown.
 */
#define ACTOR_UNKNOWN 0
#define ACTOR_PROCESS 1 /* pid: its thread group id; comm: the thread group leader's */
#define ACTOR_KERNEL 2

#define ACTOR_COMM_LEN 16 /* TASK_COMM_LEN */

struct actor {
	__u32 pid;
	__u8 kind; /* ACTOR_* */
	__u8 pad[3];
	char comm[ACTOR_COMM_LEN]; /* NUL-terminated; empty unless ACTOR_PROCESS */
};

struct sa_event {
	__u64 ts_ns; /* bpf_ktime_get_ns: CLOCK_MONOTONIC */
	__u32 netns; /* inode of the SA's network namespace */
	__u8 kind;   /* enum sa_event_kind */
	__u8 family;
	__u8 proto;    /* IPPROTO_ESP, IPPROTO_AH, IPPROTO_COMP */
	__u8 km_state; /* XFRM_KM_* at the time of the event */
	__u32 spi;     /* network order */
	__u32 reqid;
	__u32 mark_v, mark_m;
	__u32 if_id;
	__u8 dir;  /* SA_DIR_* */
	__u8 hard; /* SA_EVENT_EXPIRE: 1 for hard, 0 for soft */
	__u8 mode;
	__u8 pcpu; /* 1: a per-CPU SA (Linux 6.13, RFC 9611), of CPU pcpu_num */
	__u32 saddr[4], daddr[4];
	struct actor actor; /* ADD, UPDATE, DELETE: who did it */
	__u64 last_packet_ns; /* DELETE: the SA's last packet (0: none seen, or not followed) */
	__u32 pcpu_num;       /* pcpu: its CPU; one flow per CPU, each rekeyed on its own */
	__u32 flags;          /* SA_EVENT_F_* */
};

/*
 * Of a migration told by netlink (XFRM_MSG_MIGRATE_STATE): only the SA's identity and what
 * the message says (addresses, SPI, proto, family, mark; reqid arriving) are known; what a
 * migration keeps (direction, CPU, if_id) is as the SA had it, the leaving SA's source and
 * reqid as its flow had them.
 */
#define SA_EVENT_F_IDENTITY_ONLY 1u

/* What happened to a policy: BPF sees inserts, updates and deletes (the netlink and
 * PF_KEY paths), netlink adds expiries and flushes. */
enum policy_event_kind {
	POLICY_EVENT_ADD = 1,
	POLICY_EVENT_UPDATE,
	POLICY_EVENT_DELETE,
	POLICY_EVENT_EXPIRE,
};

struct policy_event {
	__u64 ts_ns; /* bpf_ktime_get_ns, or CLOCK_MONOTONIC on receipt (netlink) */
	__u32 netns;
	__u8 kind;   /* enum policy_event_kind; 0 for an acquire's policy */
	__u8 dir;    /* XFRM_POLICY_IN, OUT, FWD */
	__u8 action; /* XFRM_POLICY_ALLOW, BLOCK */
	__u8 family; /* of the selector */
	__u32 index, priority;
	__u32 sel_saddr[4], sel_daddr[4];
	__u8 sel_prefixlen_s, sel_prefixlen_d, sel_proto;
	__u8 hard; /* POLICY_EVENT_EXPIRE: 1 for hard (the policy is gone), 0 for soft */
	__u32 mark_v, mark_m, if_id;
	__u8 n_tmpl; /* templates in XFRMA_TMPL; the tmpl_ fields describe the first */
	__u8 tmpl_proto, tmpl_mode, tmpl_family;
	__u32 tmpl_spi; /* network order */
	__u32 tmpl_reqid;
	__u32 tmpl_saddr[4], tmpl_daddr[4];
	struct actor actor;
};

struct drop_key {
	__u32 netns;
	__u32 spi;      /* network order; 0 when no SA is known (out_no_state) */
	__u32 daddr[4]; /* SA destination, or the packet's when there is no SA */
	__u16 family;
	__u8 cause;  /* enum drop_cause */
	__u8 pad;
	__u32 reason;   /* enum skb_drop_reason value (names come from the kernel's BTF) */
	__u64 location; /* kfree_skb caller; 0 for drops seen at audit hooks */
};

struct drop_value {
	__u64 count;
	__u64 first_ts_ns, last_ts_ns;
};

/* Kernel functions whose kfree_skb calls are XFRM drops: [start, end) from kallsyms. */
#define XFRM_DROP_SITES_MAX 8

struct drop_site {
	__u64 start, end;
	__u32 cause; /* enum drop_cause, refined in BPF from the packet's SA */
	__u32 pad;
};

/* kfree_skb reasons an XFRM drop can carry, as a bitmap by value (rodata): other drops
 * leave the program at its first test. Kernels with more reasons go without the filter. */
#define DROP_REASON_WORDS 8

/* Capacity of the drop map; drops beyond it go to the overflow counter. */
#define DROP_KEYS_MAX 4096

#endif
