// SPDX-License-Identifier: BSD-2-Clause
#include "local_addr.h"

#include <errno.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "nlmsg.h"
#include "xfrm_trace.h"

struct addr_query {
	__u16 family;
	const void *addr;
	bool found;
};

static int addr_attr_cb(const struct nlattr *attr, void *data)
{
	struct addr_query *q = data;
	size_t len = q->family == AF_INET ? 4 : 16;
	int type = mnl_attr_get_type(attr);

	if (type != IFA_LOCAL && type != IFA_ADDRESS)
		return MNL_CB_OK;
	if (mnl_attr_get_payload_len(attr) == len && !memcmp(mnl_attr_get_payload(attr), q->addr, len))
		q->found = true;
	return MNL_CB_OK;
}

static int addr_msg_cb(const struct nlmsghdr *nlh, void *data)
{
	struct addr_query *q = data;
	const struct ifaddrmsg *ifa;

	if (nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(*ifa))
		return MNL_CB_ERROR;
	ifa = mnl_nlmsg_get_payload(nlh);
	if (ifa->ifa_family == q->family)
		mnl_attr_parse(nlh, sizeof(*ifa), addr_attr_cb, q);
	return MNL_CB_OK;
}

int local_addr_has(struct mnl_socket *rtnl, __u16 family, const void *addr)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct addr_query q = { .family = family, .addr = addr };
	struct nlmsghdr *nlh;
	struct ifaddrmsg *ifa;
	__u32 seq = (__u32)time(NULL), portid = mnl_socket_get_portid(rtnl);
	ssize_t n;
	int ret = MNL_CB_OK;

	if (family != AF_INET && family != AF_INET6)
		return -EAFNOSUPPORT;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETADDR;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = family;
	if (mnl_socket_sendto(rtnl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	/* the dump is read to its end even after a match: the socket is reused */
	while ((n = mnl_socket_recvfrom(rtnl, buf, sizeof(buf))) > 0) {
		if (!nlmsg_buffer_ok(buf, (size_t)n)) {
			errno = EBADMSG;
			ret = MNL_CB_ERROR;
			break;
		}
		ret = mnl_cb_run(buf, n, seq, portid, addr_msg_cb, &q);
		if (ret <= MNL_CB_STOP)
			break;
	}
	if (n < 0 || ret == MNL_CB_ERROR)
		return errno ? -errno : -EIO;
	return q.found;
}

__u8 local_addr_sa_dir(struct mnl_socket *rtnl, __u16 family, const void *saddr,
		       const void *daddr)
{
	int dst_local = local_addr_has(rtnl, family, daddr);
	int src_local = local_addr_has(rtnl, family, saddr);

	if (dst_local == 1 && src_local == 0)
		return SA_DIR_IN;
	if (src_local == 1 && dst_local == 0)
		return SA_DIR_OUT;
	return SA_DIR_UNKNOWN;
}
