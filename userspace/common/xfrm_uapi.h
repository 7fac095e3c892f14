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

#endif
