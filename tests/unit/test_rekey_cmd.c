// SPDX-License-Identifier: BSD-2-Clause
/*
 * Unit tests for userspace/rekey/rekey_cmd.c: the per-rekey and summary lines, JSON and text, as
 * they were printed before jansson wrote them, and the JSON abuse test of both (an error
 * text, the reason losses were not observed).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "rekey_cmd.c"

#include <arpa/inet.h>

#include "json_check.h"

static struct rekey_report sample_report(void)
{
	return (struct rekey_report){ .old_spi = htonl(0x1000), .new_spi = htonl(0x1001),
				      .start_ns = 1000, .end_ns = 2500, .messages = 6,
				      .syscalls = 12, .key_changed = 1 };
}

/* Three rekeys and three summaries into a memory stream: JSON or text. */
static char *print_samples(bool json)
{
	__u64 durations[3] = { 300, 100, 200 };
	struct summary sm = { 4, 1, 1, 25, 31, durations };
	struct loss_count before = { .missed = 0 }, after = { .missed = 2 };
	struct rekey_report r = sample_report();
	/* the second rekey is of a per-CPU SA, CPU 3's */
	struct rekey_target plain = { .family = AF_INET },
			    cpu3 = { .family = AF_INET, .per_cpu = true, .pcpu_num = 3 };
	char *buf = NULL;
	size_t len;
	FILE *out = open_memstream(&buf, &len);

	assert_non_null(out);
	print_rekey(out, json, 1, REKEY_DELETE_ADD, &plain, &r, 0, "");
	r.key_changed = -1;
	print_rekey(out, json, 2, REKEY_UPDATE, &cpu3, &r, 0, "");
	r.key_changed = 0;
	r.spi_retries = 3;
	print_rekey(out, json, 3, REKEY_MAKE_BEFORE_BREAK, &plain, &r, -EEXIST,
		    "NEWSA in a: File exists");
	after.by_cause[DROP_IN_NO_STATE] = 5;
	after.by_cause[DROP_OUT_NO_STATE] = 7;
	print_summary(out, json, REKEY_DELETE_ADD, &sm, &before, &after, "");
	print_summary(out, json, REKEY_DELETE_ADD, &sm, &before, &before, "");
	sm.done = sm.failed = 0;
	print_summary(out, json, REKEY_UPDATE, &sm, &before, NULL, "--no-loss-count");
	assert_int_equal(fclose(out), 0);
	return buf;
}

static void test_json_lines(void **state)
{
	static const char want[] =
		"{\"event\":\"rekey\",\"n\":1,\"strategy\":\"delete-add\",\"ok\":true,\"old_spi\":\"0x00001000\",\"new_spi\":\"0x00001001\",\"messages\":6,\"syscalls\":12,\"duration_ns\":1500,\"key_changed\":true,\"spi_retries\":0}\n"
		"{\"event\":\"rekey\",\"n\":2,\"strategy\":\"update\",\"ok\":true,\"old_spi\":\"0x00001000\",\"new_spi\":\"0x00001001\",\"messages\":6,\"syscalls\":12,\"duration_ns\":1500,\"key_changed\":null,\"spi_retries\":0,\"pcpu\":3}\n"
		"{\"event\":\"rekey\",\"n\":3,\"strategy\":\"make-before-break\",\"ok\":false,\"old_spi\":\"0x00001000\",\"new_spi\":\"0x00001000\",\"messages\":6,\"syscalls\":12,\"duration_ns\":1500,\"key_changed\":false,\"spi_retries\":3,\"error\":\"NEWSA in a: File exists\"}\n"
		"{\"event\":\"summary\",\"strategy\":\"delete-add\",\"rekeys\":4,\"failed\":1,\"messages_per_rekey\":6.25,\"syscalls_per_rekey\":7.75,\"median_ns\":200,\"max_ns\":300,\"key_unchanged\":1,\"lost\":12,\"lost_by_cause\":{\"in_no_state\":5,\"out_no_state\":7},\"drops_missed\":2}\n"
		"{\"event\":\"summary\",\"strategy\":\"delete-add\",\"rekeys\":4,\"failed\":1,\"messages_per_rekey\":6.25,\"syscalls_per_rekey\":7.75,\"median_ns\":200,\"max_ns\":300,\"key_unchanged\":1,\"lost\":0,\"lost_by_cause\":{},\"drops_missed\":0}\n"
		"{\"event\":\"summary\",\"strategy\":\"update\",\"rekeys\":0,\"failed\":0,\"messages_per_rekey\":0.0,\"syscalls_per_rekey\":0.0,\"median_ns\":0,\"max_ns\":0,\"key_unchanged\":1,\"lost\":null,\"unobserved\":\"--no-loss-count\"}\n";
	char *text = print_samples(true);
	json_t *lines[8];

	(void)state;
	assert_string_equal(text, want);
	assert_int_equal(json_lines(text, lines, 8), 6);
	json_free_all(lines, 6);
	free(text);
}

static void test_text_lines(void **state)
{
	static const char want[] =
		"rekey 1: delete-add spi 0x00001000 -> 0x00001001, 6 netlink messages, 12 syscalls, 2 us\n"
		"rekey 2 cpu 3: update spi 0x00001000 -> 0x00001001, 6 netlink messages, 12 syscalls, 2 us\n"
		"rekey 3: make-before-break failed: NEWSA in a: File exists\n"
		"4 rekeys (delete-add), 1 failed; per rekey 6.2 netlink messages, 7.8 syscalls, median 0 us, max 0 us\n"
		"1 of them left the key as it was: UPDSA does not change a valid SA's keys\n"
		"packets lost during the rekeys: 12 {\"in_no_state\":5,\"out_no_state\":7}\n"
		"4 rekeys (delete-add), 1 failed; per rekey 6.2 netlink messages, 7.8 syscalls, median 0 us, max 0 us\n"
		"1 of them left the key as it was: UPDSA does not change a valid SA's keys\n"
		"packets lost during the rekeys: 0\n"
		"0 rekeys (update), 0 failed; per rekey 0.0 netlink messages, 0.0 syscalls, median 0 us, max 0 us\n"
		"1 of them left the key as it was: UPDSA does not change a valid SA's keys\n"
		"packets lost: not observed (--no-loss-count)\n";
	char *text = print_samples(false);

	(void)state;
	assert_string_equal(text, want);
	free(text);
}

/* An error text (the kernel's, a namespace's name) and the blind reason, through JSON. */
static void test_abuse(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_ABUSE; i++) {
		struct summary sm = { 0 };
		struct loss_count none = { .missed = 0 };
		struct rekey_report r = sample_report();
		char *buf = NULL;
		size_t len;
		FILE *out = open_memstream(&buf, &len);
		json_t *lines[3];

		struct rekey_target t = { .family = AF_INET };

		print_rekey(out, true, 1, REKEY_UPDATE, &t, &r, -EINVAL, json_abuse[i].in);
		print_summary(out, true, REKEY_UPDATE, &sm, &none, NULL, json_abuse[i].in);
		assert_int_equal(fclose(out), 0);
		assert_int_equal(json_lines(buf, lines, 3), 2);
		assert_string_equal(json_str(lines[0], "error"), json_abuse[i].out);
		assert_string_equal(json_str(lines[1], "unobserved"), json_abuse[i].out);
		assert_true(json_is_null(json_object_get(lines[1], "lost")));
		json_free_all(lines, 2);
		free(buf);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_lines),
		cmocka_unit_test(test_text_lines),
		cmocka_unit_test(test_abuse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
