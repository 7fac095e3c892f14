// SPDX-License-Identifier: BSD-2-Clause
/*
 * libFuzzer target: what the rekey engine reads from the kernel: GETSA/GETPOLICY replies
 * and dump entries parsed, an SA's key layout and successor built (userspace/rekey/xfrm_sa.c, built
 * with it by tests/fuzz/run), and a datagram of answers matched to requests
 * (userspace/rekey/xfrm_client.c). Seeds: the 6.1 GETSA captures.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xfrm_client.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int each_reply(const struct nlmsghdr *nlh, void *ctx)
{
	(void)ctx;
	return nlh->nlmsg_type == XFRM_MSG_NEWPOLICY ? 0 : -EBADMSG;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct xfrm_sa sa, next;
	static struct xfrm_pol pol;
	uint8_t *buf = malloc(size ? size : 1), key[512] = { 0 };
	int err[4] = { ANSWER_PENDING, ANSWER_PENDING, ANSWER_PENDING, ANSWER_PENDING };
	struct answers w = { .seq = 1, .n = 4, .pending = 4, .err = err, .ack_last_only = true,
			     .fn = each_reply };
	char desc[128];
	size_t key_len;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	if (!xfrm_sa_from_msg((const struct nlmsghdr *)buf, size, &sa)) {
		xfrm_sa_describe_algs(&sa, desc, sizeof(desc));
		if (!xfrm_sa_key_len(&sa, &key_len) && key_len <= sizeof(key))
			xfrm_sa_rekeyed(&sa, htonl(0x1234), key, key_len, &next);
		xfrm_sa_same_key(&sa, &next);
		xfrm_sa_attr(&sa, XFRMA_MARK);
	}
	if (!xfrm_pol_from_msg((const struct nlmsghdr *)buf, size, &pol)) {
		struct xfrm_user_tmpl t;

		for (unsigned int i = 0; xfrm_pol_tmpl(&pol, i, &t) == 0; i++)
			xfrm_pol_set_tmpl(&pol, i, &t);
	}
	answers_process(&w, buf, size, 0);
	free(buf);
	return 0;
}
