// SPDX-License-Identifier: BSD-2-Clause
/*
 * xfrm-pcpu NETNS SRC DST SPI NEW_SPI CPU in|out < KEY: a per-CPU SA (Linux 6.13+) for a
 * scenario, which Debian 12's ip(8) cannot make: a copy of the ESP SA SRC -> DST with SPI
 * (everything but SPI and key: algorithms, mode, reqid, selector...) as NEW_SPI, with the
 * key read from stdin (hex, as ip-xfrm takes it; never printed), XFRMA_SA_PCPU CPU and
 * XFRMA_SA_DIR (the kernel takes a CPU only with a direction; an outbound SA with one has
 * no replay window). The template SA stays: the scenario deletes it. Prints "added NEW_SPI
 * cpu CPU" or one error line (exit 1); exit 2 on bad arguments.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "netns.h"
#include "xfrm_client.h"
#include "xfrm_uapi.h"

#define KEY_MAX 128

static int usage(void)
{
	fprintf(stderr, "usage: xfrm-pcpu NETNS SRC DST SPI NEW_SPI CPU in|out < KEY\n");
	return 2;
}

static int parse_u32(const char *text, __u32 *v)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(text, &end, 0);
	if (errno || *end || end == text || n > UINT32_MAX)
		return -1;
	*v = (__u32)n;
	return 0;
}

/* The per-CPU copy of template: new_spi, key, cpu, dir. */
static int per_cpu_copy(const struct xfrm_sa *template, __u32 new_spi, const __u8 *key,
			size_t key_len, __u32 cpu, __u8 dir, struct xfrm_sa *out)
{
	int ret = xfrm_sa_rekeyed(template, htonl(new_spi), key, key_len, out);

	if (!ret)
		ret = xfrm_sa_put_attr(out, XFRM_UAPI_ATTR_SA_PCPU, &cpu, sizeof(cpu));
	if (!ret)
		ret = xfrm_sa_put_attr(out, XFRM_UAPI_ATTR_SA_DIR, &dir, sizeof(dir));
	if (!ret && dir == XFRM_UAPI_SA_DIR_OUT)
		out->info.replay_window = 0;
	return ret;
}

int main(int argc, char **argv)
{
	static struct xfrm_sa template, sa;
	static struct xfrm_batch b;
	__u32 spi, new_spi, cpu, inum;
	__u8 key[KEY_MAX], dir;
	xfrm_address_t src, dst;
	struct xfrm_client c;
	size_t key_len, need;
	int nsfd, ret;

	if (argc != 8)
		return usage();
	memset(&src, 0, sizeof(src));
	memset(&dst, 0, sizeof(dst));
	if (inet_pton(AF_INET, argv[2], &src.a4) != 1 || inet_pton(AF_INET, argv[3], &dst.a4) != 1 ||
	    parse_u32(argv[4], &spi) || parse_u32(argv[5], &new_spi) || parse_u32(argv[6], &cpu) ||
	    (strcmp(argv[7], "in") && strcmp(argv[7], "out")))
		return usage();
	dir = strcmp(argv[7], "in") ? XFRM_UAPI_SA_DIR_OUT : XFRM_UAPI_SA_DIR_IN;
	ret = cli_read_hex_key(stdin, key, sizeof(key), &key_len);
	if (ret) {
		explicit_bzero(key, sizeof(key));
		fprintf(stderr, "xfrm-pcpu: stdin holds no key in hex\n");
		return 2;
	}
	ret = netns_open(argv[1], &nsfd, &inum);
	if (ret) {
		explicit_bzero(key, sizeof(key));
		fprintf(stderr, "xfrm-pcpu: namespace %s: %s\n", argv[1], strerror(-ret));
		return 1;
	}
	ret = xfrm_client_open(&c, nsfd);
	close(nsfd);
	if (ret) {
		explicit_bzero(key, sizeof(key));
		fprintf(stderr, "xfrm-pcpu: XFRM netlink in %s: %s\n", argv[1], strerror(-ret));
		return 1;
	}
	ret = xfrm_sa_get(&c, AF_INET, &dst, htonl(spi), IPPROTO_ESP, NULL, &template);
	if (!ret)
		ret = xfrm_sa_key_len(&template, &need);
	if (!ret && need != key_len)
		ret = -EINVAL;
	xfrm_batch_init(&b);
	if (!ret)
		ret = per_cpu_copy(&template, new_spi, key, key_len, cpu, dir, &sa);
	if (!ret)
		ret = xfrm_batch_add_sa(&b, XFRM_MSG_NEWSA, &sa);
	if (!ret)
		ret = xfrm_client_run(&c, &b);
	xfrm_batch_wipe(&b);
	xfrm_sa_wipe(&template);
	xfrm_sa_wipe(&sa);
	explicit_bzero(key, sizeof(key));
	xfrm_client_close(&c);
	if (ret) {
		fprintf(stderr, "xfrm-pcpu: spi 0x%x cpu %u in %s: %s\n", new_spi, cpu, argv[1],
			strerror(-ret));
		return 1;
	}
	printf("added 0x%x cpu %u\n", new_spi, cpu);
	return 0;
}
