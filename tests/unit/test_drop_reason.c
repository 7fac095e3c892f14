// SPDX-License-Identifier: BSD-2-Clause
/* Unit tests for userspace/observe/drop_reason.c, on BTF built here with the numbering of two kernels. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "drop_reason.c"

/* enum skb_drop_reason as a kernel of that layout has it */
static struct btf *make_btf(const char *const *names, int n)
{
	struct btf *btf = btf__new_empty();

	assert_non_null(btf);
	assert_true(btf__add_enum(btf, "skb_drop_reason", 4) > 0);
	for (int i = 0; i < n; i++)
		assert_int_equal(btf__add_enum_value(btf, names[i], i), 0);
	return btf;
}

static void test_linux_6_1_numbering(void **state)
{
	static const char *const v61[] = {
		"SKB_NOT_DROPPED_YET", "SKB_DROP_REASON_NOT_SPECIFIED",
		"SKB_DROP_REASON_NO_SOCKET", "SKB_DROP_REASON_PKT_TOO_SMALL",
		"SKB_DROP_REASON_TCP_CSUM", "SKB_DROP_REASON_SOCKET_FILTER",
		"SKB_DROP_REASON_UDP_CSUM", "SKB_DROP_REASON_NETFILTER_DROP",
		"SKB_DROP_REASON_OTHERHOST", "SKB_DROP_REASON_IP_CSUM",
		"SKB_DROP_REASON_IP_INHDR", "SKB_DROP_REASON_IP_RPFILTER",
		"SKB_DROP_REASON_UNICAST_IN_L2_MULTICAST", "SKB_DROP_REASON_XFRM_POLICY",
		"SKB_DROP_REASON_MAX",
	};
	struct btf *btf = make_btf(v61, sizeof(v61) / sizeof(v61[0]));
	struct drop_reasons dr;
	__u32 v;

	(void)state;
	assert_int_equal(drop_reasons_load(&dr, btf), 0);
	assert_string_equal(drop_reason_name(&dr, 1), "NOT_SPECIFIED");
	assert_string_equal(drop_reason_name(&dr, 13), "XFRM_POLICY");
	assert_true(drop_reason_value(&dr, "XFRM_POLICY", &v));
	assert_int_equal(v, 13);
	/* the MAX sentinel is not a reason, out-of-range values are unknown */
	assert_string_equal(drop_reason_name(&dr, 14), "unknown");
	assert_string_equal(drop_reason_name(&dr, 9999), "unknown");
	assert_false(drop_reason_value(&dr, "MAX", &v));
	drop_reasons_free(&dr);
	btf__free(btf);
}

static void test_linux_6_8_numbering(void **state)
{
	/* SKB_CONSUMED arrived before NOT_SPECIFIED: every number moved by one */
	static const char *const v68[] = {
		"SKB_NOT_DROPPED_YET", "SKB_CONSUMED", "SKB_DROP_REASON_NOT_SPECIFIED",
		"SKB_DROP_REASON_NO_SOCKET", "SKB_DROP_REASON_PKT_TOO_SMALL",
		"SKB_DROP_REASON_TCP_CSUM", "SKB_DROP_REASON_SOCKET_FILTER",
		"SKB_DROP_REASON_UDP_CSUM", "SKB_DROP_REASON_NETFILTER_DROP",
		"SKB_DROP_REASON_OTHERHOST", "SKB_DROP_REASON_IP_CSUM",
		"SKB_DROP_REASON_IP_INHDR", "SKB_DROP_REASON_IP_RPFILTER",
		"SKB_DROP_REASON_UNICAST_IN_L2_MULTICAST", "SKB_DROP_REASON_XFRM_POLICY",
	};
	struct btf *btf = make_btf(v68, sizeof(v68) / sizeof(v68[0]));
	struct drop_reasons dr;
	__u32 v;

	(void)state;
	assert_int_equal(drop_reasons_load(&dr, btf), 0);
	assert_true(drop_reason_value(&dr, "XFRM_POLICY", &v));
	assert_int_equal(v, 14);
	assert_string_equal(drop_reason_name(&dr, 2), "NOT_SPECIFIED");
	assert_string_equal(drop_reason_name(&dr, 1), "SKB_CONSUMED");
	drop_reasons_free(&dr);
	btf__free(btf);
}

static void test_no_reasons(void **state)
{
	struct btf *btf = btf__new_empty();
	struct drop_reasons dr;

	(void)state;
	/* 5.4 and 5.15 without the backport: no such enum */
	assert_int_equal(drop_reasons_load(&dr, btf), -ENOENT);
	assert_string_equal(drop_reason_name(&dr, 1), "unknown");
	btf__free(btf);
}

/* The reasons that keep a drop in the BPF program's view: the rest leave at once. */
static void test_may_be_xfrm(void **state)
{
	(void)state;
	assert_true(drop_reason_may_be_xfrm("NOT_SPECIFIED"));
	assert_true(drop_reason_may_be_xfrm("XFRM_POLICY"));
	assert_true(drop_reason_may_be_xfrm("IPSEC_ICV_FAIL")); /* a name a kernel may add */
	assert_false(drop_reason_may_be_xfrm("NO_SOCKET"));
	assert_false(drop_reason_may_be_xfrm("SOCKET_FILTER"));
	assert_false(drop_reason_may_be_xfrm("NETFILTER_DROP"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_linux_6_1_numbering),
		cmocka_unit_test(test_linux_6_8_numbering),
		cmocka_unit_test(test_no_reasons),
		cmocka_unit_test(test_may_be_xfrm),
	};

	return cmocka_run_group_tests_name("drop_reason", tests, NULL, NULL);
}
