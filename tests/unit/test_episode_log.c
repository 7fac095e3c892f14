// SPDX-License-Identifier: BSD-2-Clause
/* Unit tests for userspace/export/episode_log.c: the last episodes for /episodes, as JSON. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "episode_log.c"

static struct episode replaced(__u64 id)
{
	struct episode ep = { .id = id, .kind = EPISODE_REPLACED, .has_gap = true, .gap_ns = 1000 };

	ep.flow.family = AF_INET;
	ep.flow.proto = IPPROTO_ESP;
	ep.flow.dir = SA_DIR_IN;
	ep.flow.reqid = 1;
	inet_pton(AF_INET, "192.0.2.1", ep.flow.saddr);
	inet_pton(AF_INET, "192.0.2.2", ep.flow.daddr);
	ep.old_spi = htonl(0x1000);
	ep.new_spi = htonl(0x2000);
	return ep;
}

static char *write_json(const struct episode_log *log)
{
	char *json = NULL;
	size_t len;
	FILE *out = open_memstream(&json, &len);

	assert_non_null(out);
	assert_int_equal(episode_log_write_json(log, out), 0);
	fclose(out);
	return json;
}

/* Nothing yet: an empty array. */
static void test_empty(void **state)
{
	struct episode_log *log = episode_log_new();
	char *json;

	(void)state;
	assert_non_null(log);
	json = write_json(log);
	assert_string_equal(json, "[]\n");
	free(json);
	episode_log_free(log);
}

/* 105 episodes: the last 100 kept, oldest first, every field as /episodes shows it. */
static void test_ring(void **state)
{
	struct episode_log *log = episode_log_new();
	char *json;

	(void)state;
	for (int i = 0; i < 105; i++) {
		struct episode ep = replaced((__u64)i + 1);

		if (i == 104) {
			ep.kind = EPISODE_UNREPLACED;
			ep.has_gap = false;
			ep.new_spi = 0;
			ep.drops[DROP_IN_NO_STATE] = 4;
			ep.drops_total = 4;
		}
		episode_log_add(log, &ep, "gw1");
	}
	json = write_json(log);
	json_error_t e;
	json_t *parsed = json_loads(json, JSON_REJECT_DUPLICATES, &e);

	assert_non_null(parsed);
	assert_int_equal(json_array_size(parsed), 100);
	json_decref(parsed);
	assert_non_null(strstr(json, "{\"id\":6,"));
	assert_null(strstr(json, "{\"id\":5,"));
	assert_non_null(strstr(json, "\"id\":105,\"netns\":\"gw1\",\"src\":\"192.0.2.1\",\"dst\":\"192.0.2.2\",\"proto\":\"esp\",\"reqid\":1,\"dir\":\"in\",\"kind\":\"unreplaced\",\"old_spi\":\"0x00001000\",\"new_spi\":\"\""));
	assert_non_null(strstr(json, "\"dropped\":4,\"outage_ns\":0,\"drops\":{\"in_no_state\":4},"));
	assert_non_null(strstr(json, "\"id\":104,"));
	assert_non_null(strstr(json, "\"gap_ns\":1000,\"overlap_ns\":0"));
	assert_true(strstr(json, "{\"id\":6,") < strstr(json, "{\"id\":105,"));
	free(json);
	episode_log_free(log);
}

/* A namespace label with quotes, a backslash, control and non-UTF-8 bytes: valid JSON,
 * the valid part unchanged, the invalid byte replaced. */
static void test_odd_netns(void **state)
{
	struct episode_log *log = episode_log_new();
	struct episode ep = replaced(1);
	json_error_t e;
	json_t *parsed;
	char *json;

	(void)state;
	episode_log_add(log, &ep, "a\"b\\c\n\x01\xff");
	json = write_json(log);
	parsed = json_loads(json, JSON_REJECT_DUPLICATES, &e);
	assert_non_null(parsed);
	assert_string_equal(json_string_value(json_object_get(json_array_get(parsed, 0), "netns")),
			    "a\"b\\c\n\x01\xef\xbf\xbd");
	json_decref(parsed);
	free(json);
	episode_log_free(log);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_ring),
		cmocka_unit_test(test_odd_netns),
	};

	return cmocka_run_group_tests_name("episode_log", tests, NULL, NULL);
}
