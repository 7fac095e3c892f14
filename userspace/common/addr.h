/* SPDX-License-Identifier: BSD-2-Clause */
/* Addresses and SPIs as XFRM carries them, to and from text. */
#ifndef REKEYGAP_ADDR_H
#define REKEYGAP_ADDR_H

#include <arpa/inet.h>
#include <linux/types.h>
#include <linux/xfrm.h>
#include <stddef.h>

#define ADDR_STRLEN INET6_ADDRSTRLEN
#define SPI_STRLEN sizeof("0x12345678")

/* "192.0.2.1" or "2001:db8::1" -> family (AF_INET/AF_INET6) and address. -EINVAL if neither. */
int addr_parse(const char *text, __u16 *family, xfrm_address_t *addr);

/* Text form of an address of family; "?" for an unknown family. Returns buf. */
const char *addr_format(__u16 family, const xfrm_address_t *addr, char *buf, size_t len);

/* SPI in network order -> "0x%08x" of its value, the form ip-xfrm prints. Returns buf. */
const char *spi_format(__be32 spi, char buf[SPI_STRLEN]);

/* "0x1000" or "4096" -> SPI in network order. 0 is reserved and refused. -EINVAL/-ERANGE. */
int spi_parse(const char *text, __be32 *spi);

#endif
