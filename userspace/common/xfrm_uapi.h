/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * XFRM uapi values of kernels newer than the headers rekeygap may be built with (Debian 12's
 * are 6.1's). Most are enum members, which #ifdef cannot see: our own names, the kernel's
 * values (include/uapi/linux/xfrm.h).
 */
#ifndef REKEYGAP_XFRM_UAPI_H
#define REKEYGAP_XFRM_UAPI_H

#define XFRM_UAPI_ATTR_SA_DIR 33  /* __u8, 6.10: right after XFRMA_MTIMER_THRESH (32) */
#define XFRM_UAPI_ATTR_SA_PCPU 35 /* __u32, 6.13: after XFRMA_NAT_KEEPALIVE_INTERVAL */
#define XFRM_UAPI_SA_DIR_IN 1
#define XFRM_UAPI_SA_DIR_OUT 2
#define XFRM_UAPI_MSG_MIGRATE_STATE 0x29 /* 7.2: after XFRM_MSG_GETDEFAULT (0x28) */
#define XFRM_UAPI_MODE_IPTFS 5           /* 6.14: after XFRM_MODE_BEET (4) */

#include <linux/xfrm.h>

/* XFRM_MSG_MIGRATE_STATE's request: struct xfrm_user_migrate_state of 7.2, 132 bytes */
struct xfrm_uapi_migrate_state {
	struct xfrm_usersa_id id; /* the SA: its destination, SPI, family, proto */
	xfrm_address_t new_daddr;
	xfrm_address_t new_saddr;
	struct xfrm_mark old_mark; /* the SA's mark, to find it */
	struct xfrm_selector new_sel;
	__u32 new_reqid;
	__u32 flags;
	__u16 new_family;
	__u16 reserved;
};
_Static_assert(sizeof(struct xfrm_uapi_migrate_state) == 132, "7.2's uapi layout");

#endif
