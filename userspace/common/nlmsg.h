/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Netlink message walking that cannot loop forever. libmnl's mnl_nlmsg_ok compares
 * nlmsg_len as a signed int: a length of 0xffffffff passes, and mnl_nlmsg_next then steps
 * by MNL_ALIGN(0xffffffff) = 0 (found by fuzzing). Every buffer we read is checked with
 * these first; mnl_cb_run on a buffer that passed is safe.
 */
#ifndef REKEYGAP_NLMSG_H
#define REKEYGAP_NLMSG_H

#include <libmnl/libmnl.h>
#include <stdbool.h>
#include <stddef.h>

/* One whole message at nlh, with rest bytes readable. */
static inline bool nlmsg_whole(const struct nlmsghdr *nlh, size_t rest)
{
	return rest >= sizeof(*nlh) && nlh->nlmsg_len >= sizeof(*nlh) && nlh->nlmsg_len <= rest;
}

/* Whole messages and nothing else, from buf to buf + len (at most INT32_MAX). */
static inline bool nlmsg_buffer_ok(const void *buf, size_t len)
{
	const char *p = buf;

	if (len > INT32_MAX)
		return false;
	while (len) {
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)p;
		size_t step;

		if (!nlmsg_whole(nlh, len))
			return false;
		step = MNL_ALIGN(nlh->nlmsg_len);
		if (step >= len)
			return true; /* the last one may come without its padding */
		p += step;
		len -= step;
	}
	return true;
}

#endif
