// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * sa_insert_count: count successful xfrm_state_add() calls (NEWSA) per network namespace.
 *
 * The smallest end-to-end check of the BPF toolchain: CO-RE build, skeleton, fexit attach
 * on an xfrm function, a map read back by userspace. The full SA lifecycle tracer builds on
 * the same attach point.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "sa_insert_count.h"

/* netns inode -> successful inserts */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SA_INSERT_COUNT_MAX_NETNS);
	__type(key, __u32);
	__type(value, __u64);
} sa_inserts SEC(".maps");

/* inserts that found the map full: counted, never silently lost */
__u64 sa_inserts_overflow = 0;

SEC("fexit/xfrm_state_add")
int BPF_PROG(count_sa_insert, struct xfrm_state *x, int ret)
{
	__u32 netns;
	__u64 one = 1, *count;

	if (ret != 0)
		return 0;
	netns = BPF_CORE_READ(x, xs_net.net, ns.inum);
	count = bpf_map_lookup_elem(&sa_inserts, &netns);
	if (count) {
		__sync_fetch_and_add(count, 1);
		return 0;
	}
	/* EEXIST: another CPU created the entry between lookup and update */
	if (bpf_map_update_elem(&sa_inserts, &netns, &one, BPF_NOEXIST) == 0)
		return 0;
	count = bpf_map_lookup_elem(&sa_inserts, &netns);
	if (count)
		__sync_fetch_and_add(count, 1);
	else
		__sync_fetch_and_add(&sa_inserts_overflow, 1);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
