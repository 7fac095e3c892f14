// SPDX-License-Identifier: BSD-2-Clause
/*
 * getsa-reply: send one XFRM_MSG_GETSA for an ESP SA of the current network namespace and
 * print the kernel's reply as a C byte array named NAME, for the fixtures of
 * tests/unit/test_xfrm_sa.c and test_xfrm_client.c. Deliberately independent of
 * userspace/rekey/xfrm_sa.c and xfrm_client.c (plain sockets, no libmnl): the fixtures must not
 * be shaped by the code they test. Not part of the build: capture-getsa-replies next to it
 * compiles it by hand and runs it in the test VM,
 *
 *   gcc -O2 -Wall -o /tmp/getsa-reply tests/unit/data/getsa-reply.c
 *   ip netns exec NS /tmp/getsa-reply NAME DADDR SPI [MARK MASK] >>OUT
 *
 * The reply holds the SA's keys: use dummy keys only.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netlink.h>
#include <linux/xfrm.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void dump(const char *name, const struct nlmsghdr *nlh)
{
	const unsigned char *p = (const unsigned char *)nlh;

	printf("/* type %u (0x%02x), %u bytes */\n", nlh->nlmsg_type, nlh->nlmsg_type,
	       nlh->nlmsg_len);
	printf("static const uint8_t %s[] __attribute__((aligned(8))) = {\n", name);
	for (__u32 i = 0; i < nlh->nlmsg_len; i++)
		printf("%s0x%02x,%s", i % 12 ? " " : "\t", p[i],
		       i % 12 == 11 || i + 1 == nlh->nlmsg_len ? "\n" : "");
	printf("};\n");
}

int main(int argc, char **argv)
{
	struct {
		struct nlmsghdr nlh;
		struct xfrm_usersa_id id;
		struct nlattr mark_hdr;
		struct xfrm_mark mark;
	} req;
	static char buf[65536];
	struct nlmsghdr *nlh;
	int fd, len;

	if (argc != 4 && argc != 6) {
		fprintf(stderr, "usage: %s NAME DADDR SPI [MARK MASK]\n", argv[0]);
		return 2;
	}
	memset(&req, 0, sizeof(req));
	req.nlh.nlmsg_len = NLMSG_LENGTH(sizeof(req.id));
	req.nlh.nlmsg_type = XFRM_MSG_GETSA;
	req.nlh.nlmsg_flags = NLM_F_REQUEST;
	req.nlh.nlmsg_seq = 1;
	if (inet_pton(AF_INET, argv[2], &req.id.daddr) == 1) {
		req.id.family = AF_INET;
	} else if (inet_pton(AF_INET6, argv[2], &req.id.daddr) == 1) {
		req.id.family = AF_INET6;
	} else {
		fprintf(stderr, "getsa-reply: bad address %s\n", argv[2]);
		return 2;
	}
	req.id.spi = htonl(strtoul(argv[3], NULL, 0));
	req.id.proto = IPPROTO_ESP;
	if (argc == 6) {
		req.mark_hdr.nla_len = NLA_HDRLEN + sizeof(req.mark);
		req.mark_hdr.nla_type = XFRMA_MARK;
		req.mark.v = strtoul(argv[4], NULL, 0);
		req.mark.m = strtoul(argv[5], NULL, 0);
		req.nlh.nlmsg_len = sizeof(req);
	}

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_XFRM);
	if (fd < 0 || send(fd, &req, req.nlh.nlmsg_len, 0) < 0) {
		perror("getsa-reply: netlink");
		return 1;
	}
	len = recv(fd, buf, sizeof(buf), 0);
	if (len < 0) {
		perror("getsa-reply: recv");
		return 1;
	}
	nlh = (struct nlmsghdr *)buf;
	if (!NLMSG_OK(nlh, len)) {
		fprintf(stderr, "getsa-reply: short reply\n");
		return 1;
	}
	if (nlh->nlmsg_type == NLMSG_ERROR) {
		const struct nlmsgerr *e = NLMSG_DATA(nlh);

		fprintf(stderr, "getsa-reply: %s\n", strerror(-e->error));
		return 1;
	}
	dump(argv[1], nlh);
	return 0;
}
