// SPDX-License-Identifier: BSD-2-Clause
/*
 * libFuzzer target: command-line values. The first byte picks the parser: an unsigned
 * number (--spi, --count...), a duration (--interval, --duration...), a listen address
 * (--listen); the rest is the argument as typed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli.c"
#include "http_server.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *arg;
	__u32 u;
	__u64 ns;
	struct sockaddr_storage ss;
	socklen_t len;

	if (!size)
		return 0;
	arg = malloc(size); /* the argument, NUL-terminated as argv's are */
	if (!arg)
		return 0;
	memcpy(arg, data + 1, size - 1);
	arg[size - 1] = '\0';
	switch (data[0] % 3) {
	case 0:
		cli_parse_u32(arg, 1, 0xffffffff, &u);
		break;
	case 1:
		cli_parse_duration(arg, NSEC_PER_MSEC, &ns);
		break;
	default:
		http_parse_listen(arg, &ss, &len);
	}
	free(arg);
	return 0;
}
