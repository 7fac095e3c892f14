// SPDX-License-Identifier: BSD-2-Clause
#include "addr.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

int addr_parse(const char *text, __u16 *family, xfrm_address_t *addr)
{
	memset(addr, 0, sizeof(*addr));
	if (inet_pton(AF_INET, text, &addr->a4) == 1) {
		*family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, text, addr->a6) == 1) {
		*family = AF_INET6;
		return 0;
	}
	return -EINVAL;
}

const char *addr_format(__u16 family, const xfrm_address_t *addr, char *buf, size_t len)
{
	if ((family != AF_INET && family != AF_INET6) || !inet_ntop(family, addr, buf, len))
		snprintf(buf, len, "?");
	return buf;
}

const char *spi_format(__be32 spi, char buf[SPI_STRLEN])
{
	snprintf(buf, SPI_STRLEN, "0x%08x", ntohl(spi));
	return buf;
}

int spi_parse(const char *text, __be32 *spi)
{
	__u32 value;
	int err;

	/* SPI 0 means "none" to the kernel */
	err = cli_parse_u32(text, 1, 0xffffffff, &value);
	if (!err)
		*spi = htonl(value);
	return err;
}
