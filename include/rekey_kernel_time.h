/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Types shared by bpf/rekey_kernel_time.bpf.c and its loader tests/tools/rekey-kernel-time.c. */
#ifndef REKEYGAP_REKEY_KERNEL_TIME_H
#define REKEYGAP_REKEY_KERNEL_TIME_H

/* __u16 and friends come from the includer: vmlinux.h or <linux/types.h> */

/* What a time was spent in. */
enum rkt_handler {
	RKT_MSG = 1,   /* xfrm_user_rcv_msg: one netlink request (NEWSA, DELSA...) */
	RKT_BATCH = 2, /* xfrm_netlink_rcv: one sendmsg's buffer, xfrm_cfg_mutex and acks included */
};

struct rkt_key {
	__u32 netns;   /* inode of the sending socket's namespace */
	__u16 type;    /* nlmsg_type (XFRM_MSG_*) for RKT_MSG, 0 for RKT_BATCH */
	__u16 handler; /* enum rkt_handler */
};

struct rkt_value {
	__u64 count;
	__u64 ns;     /* summed from entry to exit */
	__u64 errors; /* RKT_MSG: calls that returned an error */
};

/* (namespace, type, handler) triples tracked; further ones go to the overflow counter. */
#define RKT_MAX_KEYS 1024
/* threads inside a handler at once */
#define RKT_MAX_THREADS 4096

#endif
