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

#include "cli.h"

/* One dump: every address (AF_UNSPEC), or whether one of them is q->addr. */
struct addr_query {
	__u16 family;
	const void *addr;     /* NULL: collect into cache */
	struct local_addrs *cache;
	bool found;
	__u8 msg_family;
};

static int addr_attr_cb(const struct nlattr *attr, void *data)
{
	struct addr_query *q = data;
	size_t len = q->msg_family == AF_INET ? 4 : 16;
	int type = mnl_attr_get_type(attr);
	struct local_addrs *c = q->cache;

	if ((type != IFA_LOCAL && type != IFA_ADDRESS) || mnl_attr_get_payload_len(attr) != len)
		return MNL_CB_OK;
	if (q->addr) {
		if (!memcmp(mnl_attr_get_payload(attr), q->addr, len))
			q->found = true;
	} else if (c->n == LOCAL_ADDRS_MAX) {
		c->overflow = true;
	} else {
		c->a[c->n].family = q->msg_family;
		memset(c->a[c->n].addr, 0, sizeof(c->a[c->n].addr));
		memcpy(c->a[c->n++].addr, mnl_attr_get_payload(attr), len);
	}
	return MNL_CB_OK;
}

static int addr_msg_cb(const struct nlmsghdr *nlh, void *data)
{
	struct addr_query *q = data;
	const struct ifaddrmsg *ifa;

	if (nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(*ifa))
		return MNL_CB_ERROR;
	ifa = mnl_nlmsg_get_payload(nlh);
	if (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6)
		return MNL_CB_OK;
	if (q->family != AF_UNSPEC && ifa->ifa_family != q->family)
		return MNL_CB_OK;
	q->msg_family = ifa->ifa_family;
	mnl_attr_parse(nlh, sizeof(*ifa), addr_attr_cb, q);
	return MNL_CB_OK;
}

static int addr_dump(struct mnl_socket *rtnl, struct addr_query *q)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	struct ifaddrmsg *ifa;
	__u32 seq = (__u32)time(NULL), portid = mnl_socket_get_portid(rtnl);
	ssize_t n;
	int ret = MNL_CB_OK;

	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETADDR;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = (__u8)q->family;
	if (mnl_socket_sendto(rtnl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	/* the dump is read to its end even after a match: the socket is reused */
	while ((n = mnl_socket_recvfrom(rtnl, buf, sizeof(buf))) > 0) {
		if (!nlmsg_buffer_ok(buf, (size_t)n)) {
			errno = EBADMSG;
			ret = MNL_CB_ERROR;
			break;
		}
		ret = mnl_cb_run(buf, n, seq, portid, addr_msg_cb, q);
		if (ret <= MNL_CB_STOP)
			break;
	}
	if (n < 0 || ret == MNL_CB_ERROR)
		return errno ? -errno : -EIO;
	return 0;
}

int local_addr_has(struct mnl_socket *rtnl, __u16 family, const void *addr)
{
	struct addr_query q = { .family = family, .addr = addr };
	int ret;

	if (family != AF_INET && family != AF_INET6)
		return -EAFNOSUPPORT;
	ret = addr_dump(rtnl, &q);
	return ret ? ret : q.found;
}

/* 1 if local, 0 if not, -errno: from the cache, or the kernel if the cache overflowed */
static int cached_has(struct local_addrs *c, struct mnl_socket *rtnl, __u16 family,
		      const void *addr)
{
	size_t len = family == AF_INET ? 4 : 16;

	if (c->overflow)
		return local_addr_has(rtnl, family, addr);
	for (int i = 0; i < c->n; i++)
		if (c->a[i].family == family && !memcmp(c->a[i].addr, addr, len))
			return 1;
	return 0;
}

__u8 local_addr_sa_dir(struct local_addrs *c, struct mnl_socket *rtnl, __u16 family,
		       const void *saddr, const void *daddr)
{
	__u64 now = monotonic_ns();
	int dst_local, src_local;

	if (family != AF_INET && family != AF_INET6)
		return SA_DIR_UNKNOWN;
	if (!c->fetched_ns || now - c->fetched_ns >= LOCAL_ADDRS_TTL_NS) {
		struct addr_query q = { .family = AF_UNSPEC, .cache = c };

		c->n = 0;
		c->overflow = false;
		c->fetched_ns = 0;
		if (addr_dump(rtnl, &q))
			return SA_DIR_UNKNOWN;
		c->fetched_ns = now;
	}
	dst_local = cached_has(c, rtnl, family, daddr);
	src_local = cached_has(c, rtnl, family, saddr);
	if (dst_local == 1 && src_local == 0)
		return SA_DIR_IN;
	if (src_local == 1 && dst_local == 0)
		return SA_DIR_OUT;
	return SA_DIR_UNKNOWN;
}
