/* SPDX-License-Identifier: BSD-2-Clause */
/* XFRM netlink notifications (SA and policy changes, expiries, acquires) to events. */
#ifndef REKEYGAP_XFRM_MSG_H
#define REKEYGAP_XFRM_MSG_H

#include <linux/netlink.h>
#include <linux/types.h>
#include <linux/xfrm.h>
#include <stddef.h>

#include "xfrm_trace.h"
#include "xfrm_uapi.h"

enum xfrm_msg_kind {
	XFRM_MSG_KIND_SA = 1,     /* sa: NEWSA, UPDSA, DELSA, EXPIRE (sa.hard) */
	XFRM_MSG_KIND_SA_FLUSH,   /* flush_proto: FLUSHSA */
	XFRM_MSG_KIND_ACQUIRE,    /* sa: the larval SA (spi 0, XFRM_KM_ACQ); pol: its policy */
	XFRM_MSG_KIND_POLICY,     /* pol: NEWPOLICY, UPDPOLICY, DELPOLICY, POLEXPIRE (pol.hard) */
	XFRM_MSG_KIND_POLICY_FLUSH,
	XFRM_MSG_KIND_SA_MIGRATE, /* MIGRATE_STATE: sa_old leaves (SA_EVENT_MIGRATE_OUT), sa
				   * arrives (SA_EVENT_MIGRATE_IN); both SA_EVENT_F_IDENTITY_ONLY */
};

struct xfrm_msg {
	enum xfrm_msg_kind kind;
	__u8 flush_proto; /* XFRM_MSG_KIND_SA_FLUSH: IPPROTO_ESP..., IPSEC_PROTO_ANY (255) */
	struct sa_event sa;
	struct sa_event sa_old; /* XFRM_MSG_KIND_SA_MIGRATE */
	struct policy_event pol;
};

/*
 * Parse one XFRM notification; len is how many bytes are readable at nlh, which may be fewer
 * than nlh->nlmsg_len (truncated). Returns 0 with *out filled (ts_ns and netns left 0 for the
 * caller), -EOPNOTSUPP for a well-formed message of a type not reported (NEWAE, REPORT,
 * MAPPING, MIGRATE (of SAs and policies), GETSA replies, NLMSG_ERROR...), -EBADMSG if malformed or truncated.
 * Reads only the fixed body and the attributes it reports: key material is never touched.
 */
int xfrm_msg_parse(const struct nlmsghdr *nlh, size_t len, struct xfrm_msg *out);

/* "NEWSA", "EXPIRE"... for an XFRM_MSG_* type, NULL for any other. */
const char *xfrm_msg_type_name(__u16 type);

#endif
