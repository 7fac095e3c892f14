// SPDX-License-Identifier: BSD-2-Clause
/*
 * xfrm-capture: print every XFRM netlink notification of the current network namespace as a
 * C byte array, for the fixtures of tests/unit/test_xfrm_msg.c. Not part of the build: the
 * script capture-xfrm-msgs next to it compiles it by hand and runs it in the test VM,
 *
 *   gcc -O2 -Wall -o /tmp/xfrm-capture tests/unit/data/xfrm-capture.c
 *   ip netns exec NS /tmp/xfrm-capture >>OUT
 *
 * It prints "ready" on stderr once subscribed, then one array per message until killed.
 */
#include <errno.h>
#include <linux/netlink.h>
#include <linux/xfrm.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* nl_groups is a bitmask: group N is bit N - 1 */
#define GROUP_BIT(g) (1u << ((g) - 1))

static void dump(const struct nlmsghdr *nlh)
{
	const unsigned char *p = (const unsigned char *)nlh;

	printf("/* type %u (0x%02x), %u bytes */\n", nlh->nlmsg_type, nlh->nlmsg_type,
	       nlh->nlmsg_len);
	for (__u32 i = 0; i < nlh->nlmsg_len; i++)
		printf("%s0x%02x,%s", i % 12 ? " " : "\t", p[i],
		       i % 12 == 11 || i + 1 == nlh->nlmsg_len ? "\n" : "");
	fflush(stdout);
}

int main(void)
{
	struct sockaddr_nl sa = {
		.nl_family = AF_NETLINK,
		.nl_groups = GROUP_BIT(XFRMNLGRP_ACQUIRE) | GROUP_BIT(XFRMNLGRP_EXPIRE) |
			     GROUP_BIT(XFRMNLGRP_SA) | GROUP_BIT(XFRMNLGRP_POLICY),
	};
	static char buf[65536];
	int fd;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_XFRM);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("xfrm-capture: netlink");
		return 1;
	}
	fprintf(stderr, "ready\n");
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		int len = (int)n;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			perror("xfrm-capture: recv");
			return 1;
		}
		for (struct nlmsghdr *nlh = (struct nlmsghdr *)buf; NLMSG_OK(nlh, len);
		     nlh = NLMSG_NEXT(nlh, len))
			dump(nlh);
	}
}
