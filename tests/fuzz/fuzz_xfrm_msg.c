// SPDX-License-Identifier: BSD-2-Clause
/*
 * libFuzzer target: XFRM netlink notifications, raw bytes, through the parser the monitor
 * and the trace use (userspace/observe/xfrm_msg.c). Seeds: the 6.1 captures of test_xfrm_msg.c.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xfrm_msg.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* the socket hands the parser aligned buffers; size is what was read */
	uint8_t *buf = malloc(size ? size : 1);
	struct xfrm_msg m;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	xfrm_msg_parse((const struct nlmsghdr *)buf, size, &m);
	xfrm_msg_type_name(size >= 6 ? (uint16_t)(buf[4] | buf[5] << 8) : 0);
	free(buf);
	return 0;
}
