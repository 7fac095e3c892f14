/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Names of enum skb_drop_reason, read from the running kernel's BTF: the numbers move between
 * kernels (XFRM_POLICY is 13 on 6.1, 14 on 6.8, 18 on 6.18), so they are never hard-coded.
 */
#ifndef REKEYGAP_DROP_REASON_H
#define REKEYGAP_DROP_REASON_H

#include <linux/types.h>
#include <stdbool.h>

struct btf;

#define DROP_REASON_PREFIX "SKB_DROP_REASON_"

struct drop_reasons {
	char **names; /* by value, prefix stripped; NULL where the enum has a hole */
	__u32 n;
};

/* From a BTF (the kernel's: btf__load_vmlinux_btf). -ENOENT: this kernel has no reasons. */
int drop_reasons_load(struct drop_reasons *dr, const struct btf *btf);
void drop_reasons_free(struct drop_reasons *dr);

/* "NOT_SPECIFIED", "XFRM_POLICY"...; "unknown" for values the kernel does not name. */
const char *drop_reason_name(const struct drop_reasons *dr, __u32 value);

/*
 * Can a drop with this reason be an XFRM one? net/xfrm frees with kfree_skb (NOT_SPECIFIED)
 * and the stack's policy checks say XFRM_POLICY; any reason named after XFRM or IPsec that a
 * later kernel adds counts too.
 */
bool drop_reason_may_be_xfrm(const char *name);

/* Value of a reason by name (without prefix): false if the kernel does not have it. */
bool drop_reason_value(const struct drop_reasons *dr, const char *name, __u32 *value);

#endif
