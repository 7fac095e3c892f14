// SPDX-License-Identifier: BSD-2-Clause
/* Unit tests for userspace/observe/ksyms.c: kallsyms parsing, symbolization, function ranges. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "ksyms.c"

/* unsorted, with data symbols, an alias and a module symbol, as /proc/kallsyms has them */
static const char kallsyms_text[] = "ffffffff81c00300 T dst_discard_out\n"
				    "ffffffff81a00000 T xfrm_input\n"
				    "ffffffff81a00000 t xfrm_input_alias\n"
				    "ffffffff81b00000 D some_data\n"
				    "ffffffff81a00800 T xfrm_output_resume\n"
				    "ffffffffc0100000 t esp_input\t[esp4]\n"
				    "garbage line\n";

static int setup(void **state)
{
	FILE *f = fmemopen((void *)kallsyms_text, sizeof(kallsyms_text) - 1, "r");
	struct ksyms *ks = calloc(1, sizeof(*ks));

	assert_non_null(f);
	assert_int_equal(ksyms_load(ks, f), 0);
	fclose(f);
	*state = ks;
	return 0;
}

static int teardown(void **state)
{
	ksyms_free(*state);
	free(*state);
	return 0;
}

static void test_find_and_format(void **state)
{
	struct ksyms *ks = *state;
	char buf[64];

	assert_int_equal(ks->n, 5); /* data symbol and garbage skipped */
	/* an alias shares the address: either name is right, the offset must be */
	ksyms_format(ks, 0xffffffff81a001dfULL, buf, sizeof(buf));
	assert_true(strcmp(buf, "xfrm_input+0x1df") == 0 ||
		    strcmp(buf, "xfrm_input_alias+0x1df") == 0);
	assert_string_equal(ksyms_format(ks, 0xffffffff81c00310ULL, buf, sizeof(buf)),
			    "dst_discard_out+0x10");
	assert_string_equal(ksyms_format(ks, 0xffffffffc0100004ULL, buf, sizeof(buf)),
			    "esp_input+0x4");
	assert_string_equal(ksyms_format(ks, 0x1000, buf, sizeof(buf)), "0x1000");
	assert_null(ksyms_find(ks, 0xffffffff80000000ULL));
}

static void test_range(void **state)
{
	struct ksyms *ks = *state;
	__u64 start, end;

	assert_int_equal(ksyms_range(ks, "xfrm_input", &start, &end), 0);
	assert_true(start == 0xffffffff81a00000ULL);
	/* the alias at the same address does not end the function */
	assert_true(end == 0xffffffff81a00800ULL);
	assert_int_equal(ksyms_range(ks, "esp_input", &start, &end), 0);
	assert_true(end == UINT64_MAX);
	assert_int_equal(ksyms_range(ks, "xfrm_output", &start, &end), -ENOENT);
	assert_true(ksyms_has(ks, "xfrm_output_resume"));
	assert_false(ksyms_has(ks, "some_data"));
}

static void test_restricted(void **state)
{
	/* kptr_restrict: every address reads as zero, nothing can be symbolized */
	static const char zeros[] = "0000000000000000 T xfrm_input\n"
				    "0000000000000000 T xfrm_output\n";
	FILE *f = fmemopen((void *)zeros, sizeof(zeros) - 1, "r");
	struct ksyms ks;

	(void)state;
	assert_int_equal(ksyms_load(&ks, f), -EPERM);
	assert_int_equal(ks.n, 0);
	fclose(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_find_and_format, setup, teardown),
		cmocka_unit_test_setup_teardown(test_range, setup, teardown),
		cmocka_unit_test(test_restricted),
	};

	return cmocka_run_group_tests_name("ksyms", tests, NULL, NULL);
}
