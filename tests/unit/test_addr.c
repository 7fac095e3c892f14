// SPDX-License-Identifier: BSD-2-Clause
/* Unit tests for userspace/common/addr.c: address and SPI text forms. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "addr.c"

static void test_parse_ipv4(void **state)
{
	xfrm_address_t a;
	__u16 family = 0;

	(void)state;
	assert_int_equal(addr_parse("192.0.2.1", &family, &a), 0);
	assert_int_equal(family, AF_INET);
	assert_int_equal(ntohl(a.a4), 0xc0000201);
	/* the rest of the 16 bytes is zero: keys and lookups compare the whole union */
	assert_int_equal(a.a6[1] | a.a6[2] | a.a6[3], 0);
}

static void test_parse_ipv6(void **state)
{
	xfrm_address_t a;
	__u16 family = 0;

	(void)state;
	assert_int_equal(addr_parse("2001:db8::1", &family, &a), 0);
	assert_int_equal(family, AF_INET6);
	assert_int_equal(ntohl(a.a6[0]), 0x20010db8);
	assert_int_equal(ntohl(a.a6[3]), 1);
}

static void test_parse_rejects_garbage(void **state)
{
	static const char *const bad[] = { "", "192.0.2", "192.0.2.256", "192.0.2.1/24",
					   " 192.0.2.1", "2001:db8:::1", "example.org" };
	xfrm_address_t a;
	__u16 family = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(addr_parse(bad[i], &family, &a), -EINVAL);
}

static void test_format_round_trip(void **state)
{
	static const char *const good[] = { "192.0.2.1", "0.0.0.0", "2001:db8::1", "::1",
					    "fe80::1:2:3:4" };
	char buf[ADDR_STRLEN];
	xfrm_address_t a;
	__u16 family = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(addr_parse(good[i], &family, &a), 0);
		assert_string_equal(addr_format(family, &a, buf, sizeof(buf)), good[i]);
	}
}

static void test_format_unknown_family(void **state)
{
	xfrm_address_t a = { 0 };
	char buf[ADDR_STRLEN];

	(void)state;
	assert_string_equal(addr_format(0, &a, buf, sizeof(buf)), "?");
	assert_string_equal(addr_format(AF_UNIX, &a, buf, sizeof(buf)), "?");
}

static void test_spi_format(void **state)
{
	char buf[SPI_STRLEN];

	(void)state;
	assert_string_equal(spi_format(htonl(0x1000), buf), "0x00001000");
	assert_string_equal(spi_format(htonl(0xffffffff), buf), "0xffffffff");
	assert_string_equal(spi_format(htonl(1), buf), "0x00000001");
}

static void test_spi_parse(void **state)
{
	__be32 spi = 0;

	(void)state;
	assert_int_equal(spi_parse("0x1000", &spi), 0);
	assert_int_equal(ntohl(spi), 0x1000);
	assert_int_equal(spi_parse("4096", &spi), 0);
	assert_int_equal(ntohl(spi), 4096);
	assert_int_equal(spi_parse("0xffffffff", &spi), 0);
	assert_int_equal(ntohl(spi), 0xffffffff);
	assert_int_equal(spi_parse("0", &spi), -ERANGE);
	assert_int_equal(spi_parse("0x100000000", &spi), -ERANGE);
	assert_int_equal(spi_parse("99999999999999999999999", &spi), -ERANGE);
	assert_int_equal(spi_parse("-1", &spi), -EINVAL);
	assert_int_equal(spi_parse(" 1", &spi), -EINVAL);
	assert_int_equal(spi_parse("0x10g", &spi), -EINVAL);
	assert_int_equal(spi_parse("", &spi), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_ipv4),
		cmocka_unit_test(test_parse_ipv6),
		cmocka_unit_test(test_parse_rejects_garbage),
		cmocka_unit_test(test_format_round_trip),
		cmocka_unit_test(test_format_unknown_family),
		cmocka_unit_test(test_spi_format),
		cmocka_unit_test(test_spi_parse),
	};

	return cmocka_run_group_tests_name("addr", tests, NULL, NULL);
}
