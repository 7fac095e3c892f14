/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Is an address one of a namespace's own? An SA whose destination is local is inbound, one
 * whose source is local is outbound: the direction for kernels older than the SA's own
 * 'dir' (6.10).
 */
#ifndef REKEYGAP_LOCAL_ADDR_H
#define REKEYGAP_LOCAL_ADDR_H

#include <libmnl/libmnl.h>
#include <linux/types.h>
#include <stdbool.h>

#define LOCAL_ADDRS_MAX 256
/* How long a namespace's address list is trusted: a baseline of 100,000 SAs, or a storm of
 * SA events, costs one RTM_GETADDR dump per this time, not two per SA. */
#define LOCAL_ADDRS_TTL_NS (100 * 1000 * 1000ull)

/* A namespace's addresses as of fetched_ns (CLOCK_MONOTONIC); zeroed: none read yet. */
struct local_addrs {
	__u64 fetched_ns;
	int n;
	bool overflow; /* more than LOCAL_ADDRS_MAX: every question goes to the kernel */
	struct {
		__u16 family;
		__u8 addr[16];
	} a[LOCAL_ADDRS_MAX];
};

/*
 * Asks the kernel (RTM_GETADDR dump on rtnl, a NETLINK_ROUTE socket made in the namespace)
 * whether addr (4 or 16 bytes by family) is assigned there. 1 yes, 0 no, -errno.
 */
int local_addr_has(struct mnl_socket *rtnl, __u16 family, const void *addr);

/*
 * SA_DIR_IN, SA_DIR_OUT or SA_DIR_UNKNOWN (neither or both addresses local, or an error),
 * from cache when it is younger than LOCAL_ADDRS_TTL_NS (it is read again otherwise).
 */
__u8 local_addr_sa_dir(struct local_addrs *cache, struct mnl_socket *rtnl, __u16 family,
		       const void *saddr, const void *daddr);

#endif
