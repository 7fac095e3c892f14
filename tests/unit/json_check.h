/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * For the JSON abuse tests of every output: names that break JSON written by hand (quotes,
 * backslashes, control bytes, bytes that are not UTF-8) with what a reader must get back,
 * and a reader of JSON lines that fails the test on anything jansson refuses. Included by
 * the cmocka drivers after cmocka.h.
 */
#ifndef REKEYGAP_TEST_JSON_CHECK_H
#define REKEYGAP_TEST_JSON_CHECK_H

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FFFD "\xef\xbf\xbd" /* U+FFFD REPLACEMENT CHARACTER in UTF-8 */

/* in: the bytes given; out: the string a JSON reader gets */
static const struct json_abuse {
	const char *in, *out;
} json_abuse[] = {
	{ "plain-ns", "plain-ns" },
	{ "", "" },
	{ "quote\"in\"side", "quote\"in\"side" },
	{ "back\\slash\\", "back\\slash\\" },
	{ "\"}, {\"event\":\"forged", "\"}, {\"event\":\"forged" },
	{ "ctl\x01\x02\x1f\x7f", "ctl\x01\x02\x1f\x7f" },
	{ "new\nline\ttab\rcr\bbs\ffeed", "new\nline\ttab\rcr\bbs\ffeed" },
	{ "utf8 \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "utf8 \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80" },
	{ "byte \xff" "end", "byte " FFFD "end" },
	{ "lead alone \xc3", "lead alone " FFFD },
	{ "lead then ascii \xc3" "A", "lead then ascii " FFFD "A" },
	{ "continuation \x80\xbf", "continuation " FFFD FFFD },
	{ "overlong slash \xc0\xaf", "overlong slash " FFFD FFFD },
	{ "overlong 3 \xe0\x80\xaf", "overlong 3 " FFFD FFFD FFFD },
	{ "overlong 4 \xf0\x80\x80\xaf", "overlong 4 " FFFD FFFD FFFD FFFD },
	{ "surrogate \xed\xa0\x80", "surrogate " FFFD FFFD FFFD },
	{ "beyond U+10FFFF \xf4\x90\x80\x80", "beyond U+10FFFF " FFFD FFFD FFFD FFFD },
	{ "F5 \xf5\x80\x80\x80", "F5 " FFFD FFFD FFFD FFFD },
	{ "cut euro \xe2\x82", "cut euro " FFFD FFFD },
	{ "cut emoji \xf0\x9f\x98 x", "cut emoji " FFFD FFFD FFFD " x" },
	{ "\xff\xfe\xfd", FFFD FFFD FFFD },
};
#define N_ABUSE (sizeof(json_abuse) / sizeof(json_abuse[0]))

/*
 * Each line of text (which must end in '\n') as one JSON object: jansson must accept it with
 * duplicate keys refused, and a raw control byte or a line break inside a string splits the
 * line and fails. Up to max objects into objs (json_decref them); returns how many.
 */
static inline size_t json_lines(const char *text, json_t **objs, size_t max)
{
	char *copy = strdup(text), *save = NULL;
	size_t n = 0;

	assert_non_null(copy);
	assert_true(!*text || text[strlen(text) - 1] == '\n');
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		json_error_t e;
		json_t *j = json_loads(line, JSON_REJECT_DUPLICATES, &e);

		if (!j)
			fail_msg("line %zu is not JSON (%s): %s", n + 1, e.text, line);
		for (const char *c = line; *c; c++)
			if ((unsigned char)*c < 0x20)
				fail_msg("line %zu has a raw control byte: %s", n + 1, line);
		assert_true(json_is_object(j));
		assert_true(n < max);
		objs[n++] = j;
	}
	free(copy);
	return n;
}

/* The string at key of obj (which must be one). */
static inline const char *json_str(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);

	if (!json_is_string(v))
		fail_msg("\"%s\" is not a string", key);
	return json_string_value(v);
}

/* The keys of obj in order, comma-separated, into buf. */
static inline const char *json_keys(const json_t *obj, char *buf, size_t len)
{
	const char *key;
	json_t *v;
	size_t used = 0;

	buf[0] = '\0';
	json_object_foreach((json_t *)obj, key, v)
		used += snprintf(buf + used, len > used ? len - used : 0, "%s%s", used ? "," : "",
				 key);
	return buf;
}

static inline void json_free_all(json_t **objs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		json_decref(objs[i]);
}

#endif
