// SPDX-License-Identifier: BSD-2-Clause
#include "addr.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	unsigned long long value;
	char *end;

	/* strtoull accepts a sign and leading blanks: SPIs have neither */
	if (!text || !(*text >= '0' && *text <= '9'))
		return -EINVAL;
	errno = 0;
	value = strtoull(text, &end, 0);
	if (*end != '\0')
		return -EINVAL;
	if (errno == ERANGE || value > 0xffffffffULL || value == 0)
		return -ERANGE;
	*spi = htonl((__u32)value);
	return 0;
}
