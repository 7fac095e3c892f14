// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * rekey_kernel_time: the time the kernel spends in the XFRM netlink handlers, summed per
 * network namespace and message type: the limit a rekey engine is measured against.
 *
 *   xfrm_user_rcv_msg  one request (NEWSA, DELSA, GETSA...): from dispatch to return
 *   xfrm_netlink_rcv   one sendmsg's buffer: xfrm_cfg_mutex, every request in it, the acks
 *
 * Both are static in the xfrm_user module (fentry/fexit through its module BTF); both run
 * synchronously in the sender's sendmsg, so the thread id pairs entry with exit.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "rekey_kernel_time.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, RKT_MAX_KEYS);
	__type(key, struct rkt_key);
	__type(value, struct rkt_value);
} totals SEC(".maps");

/* thread -> entry time, one map per handler (one nests inside the other) */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, RKT_MAX_THREADS);
	__type(key, __u64);
	__type(value, __u64);
} msg_start SEC(".maps"), batch_start SEC(".maps");

/* times that found the totals map full, or lost their entry time: counted, never hidden */
__u64 rkt_overflow = 0;
__u64 rkt_unpaired = 0;

static __always_inline void enter(void *starts)
{
	__u64 tid = bpf_get_current_pid_tgid(), now = bpf_ktime_get_ns();

	bpf_map_update_elem(starts, &tid, &now, BPF_ANY);
}

static __always_inline void leave(void *starts, struct sk_buff *skb, __u16 type,
				  __u16 handler, bool error)
{
	__u64 tid = bpf_get_current_pid_tgid(), now = bpf_ktime_get_ns(), *start;
	struct rkt_key key = { .type = type, .handler = handler };
	struct rkt_value fresh = {}, *v;

	start = bpf_map_lookup_elem(starts, &tid);
	if (!start) {
		__sync_fetch_and_add(&rkt_unpaired, 1);
		return;
	}
	fresh.count = 1;
	fresh.ns = now - *start;
	fresh.errors = error;
	bpf_map_delete_elem(starts, &tid);
	key.netns = BPF_CORE_READ(skb, sk, __sk_common.skc_net.net, ns.inum);

	v = bpf_map_lookup_elem(&totals, &key);
	if (!v) {
		if (bpf_map_update_elem(&totals, &key, &fresh, BPF_NOEXIST) == 0)
			return;
		/* EEXIST: another CPU created it meanwhile */
		v = bpf_map_lookup_elem(&totals, &key);
		if (!v) {
			__sync_fetch_and_add(&rkt_overflow, 1);
			return;
		}
	}
	__sync_fetch_and_add(&v->count, 1);
	__sync_fetch_and_add(&v->ns, fresh.ns);
	if (error)
		__sync_fetch_and_add(&v->errors, 1);
}

SEC("fentry/xfrm_user_rcv_msg")
int BPF_PROG(msg_enter, struct sk_buff *skb, struct nlmsghdr *nlh, struct netlink_ext_ack *extack)
{
	enter(&msg_start);
	return 0;
}

SEC("fexit/xfrm_user_rcv_msg")
int BPF_PROG(msg_exit, struct sk_buff *skb, struct nlmsghdr *nlh, struct netlink_ext_ack *extack,
	     int ret)
{
	leave(&msg_start, skb, BPF_CORE_READ(nlh, nlmsg_type), RKT_MSG, ret < 0);
	return 0;
}

SEC("fentry/xfrm_netlink_rcv")
int BPF_PROG(batch_enter, struct sk_buff *skb)
{
	enter(&batch_start);
	return 0;
}

SEC("fexit/xfrm_netlink_rcv")
int BPF_PROG(batch_exit, struct sk_buff *skb)
{
	leave(&batch_start, skb, 0, RKT_BATCH, false);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
