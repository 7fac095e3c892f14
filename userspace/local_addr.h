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

/*
 * Asks the kernel (RTM_GETADDR dump on rtnl, a NETLINK_ROUTE socket made in the namespace)
 * whether addr (4 or 16 bytes by family) is assigned there. 1 yes, 0 no, -errno.
 */
int local_addr_has(struct mnl_socket *rtnl, __u16 family, const void *addr);

/* SA_DIR_IN, SA_DIR_OUT or SA_DIR_UNKNOWN (neither or both addresses local, or an error). */
__u8 local_addr_sa_dir(struct mnl_socket *rtnl, __u16 family, const void *saddr,
		       const void *daddr);

#endif
