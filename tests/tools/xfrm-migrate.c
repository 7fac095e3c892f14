// SPDX-License-Identifier: BSD-2-Clause
/*
 * xfrm-migrate SRC DST SPI NEW_SRC NEW_DST NETNS...: what an IKE daemon does when a peer's
 * address changes (MOBIKE), in each namespace in turn: move the ESP SA SRC -> DST with SPI
 * (hex or decimal) to NEW_SRC -> NEW_DST with XFRM_MSG_MIGRATE_STATE (Linux 7.2: SPI, keys
 * and sequence numbers kept), then every policy template SRC -> DST to the new addresses
 * (UPDPOLICY). One process, so the time between the steps is the kernel's, not that of
 * starting programs. Prints "migrated NETNS (N policies)" per namespace, or one error line
 * (exit 1); exit 2 on bad arguments. A scenario's tool: the scenario checks the result.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "netns.h"
#include "xfrm_client.h"
#include "xfrm_uapi.h"

struct move {
	__u16 family;
	xfrm_address_t src, dst, new_src, new_dst;
};

/* the policies whose templates go SRC -> DST, with those moved */
struct pol_list {
	const struct move *mv;
	struct xfrm_pol pol[16];
	int n;
};

static int usage(void)
{
	fprintf(stderr, "usage: xfrm-migrate SRC DST SPI NEW_SRC NEW_DST NETNS...\n");
	return 2;
}

static int parse_addr(const char *text, __u16 *family, xfrm_address_t *a)
{
	memset(a, 0, sizeof(*a));
	*family = strchr(text, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(*family, text, a) == 1)
		return 0;
	fprintf(stderr, "xfrm-migrate: bad address '%s'\n", text);
	return -1;
}

static int collect_pol(void *ctx, const struct xfrm_pol *p)
{
	struct pol_list *l = ctx;
	size_t alen = l->mv->family == AF_INET ? 4 : 16;
	bool moved = false;
	struct xfrm_pol copy = *p;

	for (unsigned int i = 0; i < xfrm_pol_tmpl_count(p); i++) {
		struct xfrm_user_tmpl t;

		if (xfrm_pol_tmpl(p, i, &t) || memcmp(&t.saddr, &l->mv->src, alen) ||
		    memcmp(&t.id.daddr, &l->mv->dst, alen))
			continue;
		t.saddr = l->mv->new_src;
		t.id.daddr = l->mv->new_dst;
		moved = !xfrm_pol_set_tmpl(&copy, i, &t) || moved;
	}
	if (moved && l->n < (int)(sizeof(l->pol) / sizeof(l->pol[0])))
		l->pol[l->n++] = copy;
	return 0;
}

/* The SA, then the policies, in the namespace: 0, or 1 with one line said. */
static int migrate_in(const char *netns, const struct move *mv, __be32 spi)
{
	struct xfrm_uapi_migrate_state m = {
		.id = { .daddr = mv->dst, .spi = spi, .family = mv->family, .proto = IPPROTO_ESP },
		.new_daddr = mv->new_dst,
		.new_saddr = mv->new_src,
		.new_family = mv->family,
	};
	struct pol_list pols = { .mv = mv };
	struct xfrm_client c;
	struct xfrm_batch b;
	struct xfrm_sa sa;
	__u32 inum;
	int nsfd, ret;

	ret = netns_open(netns, &nsfd, &inum);
	if (ret) {
		fprintf(stderr, "xfrm-migrate: namespace %s: %s\n", netns, strerror(-ret));
		return 1;
	}
	ret = xfrm_client_open(&c, nsfd);
	close(nsfd);
	if (ret) {
		fprintf(stderr, "xfrm-migrate: XFRM netlink in %s: %s\n", netns, strerror(-ret));
		return 1;
	}
	/* the kernel takes new_reqid as given: the SA's own, read first */
	ret = xfrm_sa_get(&c, mv->family, &mv->dst, spi, IPPROTO_ESP, NULL, &sa);
	if (!ret) {
		m.new_reqid = sa.info.reqid;
		xfrm_sa_wipe(&sa);
		ret = xfrm_pol_dump(&c, collect_pol, &pols);
	}
	/* the SA first, and the policies only once it moved: a policy pointing at addresses
	 * no SA has would drop everything */
	xfrm_batch_init(&b);
	if (!ret)
		ret = xfrm_batch_add_msg(&b, XFRM_UAPI_MSG_MIGRATE_STATE, &m, sizeof(m));
	if (!ret)
		ret = xfrm_client_run(&c, &b);
	xfrm_batch_init(&b);
	for (int i = 0; !ret && i < pols.n; i++)
		ret = xfrm_batch_add_pol(&b, XFRM_MSG_UPDPOLICY, &pols.pol[i]);
	if (!ret && pols.n)
		ret = xfrm_client_run(&c, &b);
	xfrm_client_close(&c);
	if (ret) {
		fprintf(stderr, "xfrm-migrate: in %s: %s\n", netns, strerror(-ret));
		return 1;
	}
	printf("migrated %s (%d policies)\n", netns, pols.n);
	return 0;
}

int main(int argc, char **argv)
{
	struct move mv;
	__u16 family[4];
	unsigned long spi;
	char *end;

	if (argc < 7)
		return usage();
	if (parse_addr(argv[1], &family[0], &mv.src) || parse_addr(argv[2], &family[1], &mv.dst) ||
	    parse_addr(argv[4], &family[2], &mv.new_src) ||
	    parse_addr(argv[5], &family[3], &mv.new_dst))
		return 2;
	errno = 0;
	spi = strtoul(argv[3], &end, 0);
	if (errno || *end || !spi || spi > 0xffffffffUL || family[0] != family[1] ||
	    family[1] != family[2] || family[2] != family[3])
		return usage();
	mv.family = family[0];
	for (int i = 6; i < argc; i++)
		if (migrate_in(argv[i], &mv, htonl((__u32)spi)))
			return 1;
	return 0;
}
