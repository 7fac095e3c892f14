// SPDX-License-Identifier: BSD-2-Clause
/* Unit tests for userspace/common/cli.c: numbers and durations on the command line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "cli.c"

static void test_u32(void **state)
{
	__u32 v;

	(void)state;
	assert_int_equal(cli_parse_u32("42", 0, 100, &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(cli_parse_u32("0x10", 0, 100, &v), 0);
	assert_int_equal(v, 16);
	assert_int_equal(cli_parse_u32("4294967295", 0, 0xffffffff, &v), 0);
	assert_int_equal(v, 0xffffffff);
}

static void test_u32_range_and_garbage(void **state)
{
	__u32 v = 7;

	(void)state;
	assert_int_equal(cli_parse_u32("101", 0, 100, &v), -ERANGE);
	assert_int_equal(cli_parse_u32("0", 1, 100, &v), -ERANGE);
	assert_int_equal(cli_parse_u32("4294967296", 0, 0xffffffff, &v), -ERANGE);
	assert_int_equal(cli_parse_u32("-1", 0, 100, &v), -EINVAL);
	assert_int_equal(cli_parse_u32("1e3", 0, 10000, &v), -EINVAL);
	assert_int_equal(cli_parse_u32("", 0, 100, &v), -EINVAL);
	assert_int_equal(cli_parse_u32(NULL, 0, 100, &v), -EINVAL);
	assert_int_equal(v, 7); /* untouched on error */
}

static void test_duration_units(void **state)
{
	__u64 ns;

	(void)state;
	assert_int_equal(cli_parse_duration("500ms", NSEC_PER_SEC, &ns), 0);
	assert_int_equal(ns, 500 * NSEC_PER_MSEC);
	assert_int_equal(cli_parse_duration("1.5s", NSEC_PER_MSEC, &ns), 0);
	assert_int_equal(ns, 1500 * NSEC_PER_MSEC);
	assert_int_equal(cli_parse_duration("10us", NSEC_PER_SEC, &ns), 0);
	assert_int_equal(ns, 10 * NSEC_PER_USEC);
	assert_int_equal(cli_parse_duration("2m", NSEC_PER_SEC, &ns), 0);
	assert_int_equal(ns, 120 * NSEC_PER_SEC);
	assert_int_equal(cli_parse_duration("7ns", NSEC_PER_SEC, &ns), 0);
	assert_int_equal(ns, 7);
}

static void test_duration_default_unit(void **state)
{
	__u64 ns;

	(void)state;
	/* --interval 500 means milliseconds, --duration 2 seconds */
	assert_int_equal(cli_parse_duration("500", NSEC_PER_MSEC, &ns), 0);
	assert_int_equal(ns, 500 * NSEC_PER_MSEC);
	assert_int_equal(cli_parse_duration("2", NSEC_PER_SEC, &ns), 0);
	assert_int_equal(ns, 2 * NSEC_PER_SEC);
	assert_int_equal(cli_parse_duration("0", NSEC_PER_SEC, &ns), 0);
	assert_int_equal(ns, 0);
}

static void test_duration_rejects(void **state)
{
	__u64 ns = 3;

	(void)state;
	assert_int_equal(cli_parse_duration("", NSEC_PER_SEC, &ns), -EINVAL);
	assert_int_equal(cli_parse_duration("s", NSEC_PER_SEC, &ns), -EINVAL);
	assert_int_equal(cli_parse_duration("-1", NSEC_PER_SEC, &ns), -EINVAL);
	assert_int_equal(cli_parse_duration("5 s", NSEC_PER_SEC, &ns), -EINVAL);
	assert_int_equal(cli_parse_duration("5h", NSEC_PER_SEC, &ns), -EINVAL);
	assert_int_equal(cli_parse_duration("nan", NSEC_PER_SEC, &ns), -EINVAL);
	assert_int_equal(cli_parse_duration("inf", NSEC_PER_SEC, &ns), -EINVAL);
	assert_int_equal(cli_parse_duration("2d", NSEC_PER_SEC, &ns), -EINVAL);
	assert_int_equal(cli_parse_duration("86401", NSEC_PER_SEC, &ns), -ERANGE);
	assert_int_equal(cli_parse_duration("1e300", NSEC_PER_SEC, &ns), -ERANGE);
	assert_int_equal(ns, 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_u32),
		cmocka_unit_test(test_u32_range_and_garbage),
		cmocka_unit_test(test_duration_units),
		cmocka_unit_test(test_duration_default_unit),
		cmocka_unit_test(test_duration_rejects),
	};

	return cmocka_run_group_tests_name("cli", tests, NULL, NULL);
}
