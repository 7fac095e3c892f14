// SPDX-License-Identifier: BSD-2-Clause
/* JSON output through jansson: see json_out.h. */
#include "json_out.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Reals are rounded to their decimals first (json_out_real); 15 significant digits then
 * print them without binary noise (0.1, not 0.10000000000000001), digit for digit up to 15
 * significant ones (ms to 3 places: 31 years). */
#define JSON_OUT_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(15))

static const char replacement[] = "\xef\xbf\xbd"; /* U+FFFD */

/* Length of the well-formed UTF-8 sequence at s (RFC 3629, table 3-7 of Unicode), or 0. */
static size_t utf8_sequence(const unsigned char *s)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return 0; /* a continuation byte, C0/C1 (overlong ASCII), F5-FF */
	/* the second byte's range excludes overlong forms, surrogates and > U+10FFFF */
	if (s[0] == 0xe0)
		lo = 0xa0;
	else if (s[0] == 0xed)
		hi = 0x9f;
	else if (s[0] == 0xf0)
		lo = 0x90;
	else if (s[0] == 0xf4)
		hi = 0x8f;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0; /* the terminating NUL ends a truncated sequence here too */
	return n;
}

json_t *json_out_string(const char *bytes)
{
	const unsigned char *s = (const unsigned char *)(bytes ? bytes : "");
	size_t len = strlen((const char *)s), o = 0, n;
	json_t *j;
	char *buf;

	for (n = 0; n < len;) {
		size_t k = utf8_sequence(s + n);

		if (!k)
			break;
		n += k;
	}
	if (n == len)
		return json_stringn_nocheck((const char *)s, len);
	buf = malloc(3 * len + 1); /* each byte at worst one U+FFFD */
	if (!buf)
		return NULL;
	for (n = 0; n < len;) {
		size_t k = utf8_sequence(s + n);

		if (k) {
			memcpy(buf + o, s + n, k);
			o += k;
			n += k;
		} else {
			memcpy(buf + o, replacement, 3);
			o += 3;
			n++;
		}
	}
	j = json_stringn_nocheck(buf, o);
	free(buf);
	return j;
}

json_t *json_out_u64(__u64 v)
{
	return json_integer(v > INT64_MAX ? INT64_MAX : (json_int_t)v);
}

json_t *json_out_real(double v, int decimals)
{
	char text[DBL_MAX_10_EXP + 64]; /* every digit of the largest double, and decimals */

	if (!isfinite(v))
		return json_null();
	/* what printf shows, read back: the same digits, the nearest double to them */
	snprintf(text, sizeof(text), "%.*f", decimals, v);
	return json_real(strtod(text, NULL));
}

json_t *json_out_extend(json_t *obj, json_t *more)
{
	if (obj && more && !json_object_update(obj, more)) {
		json_decref(more);
		return obj;
	}
	json_decref(obj);
	json_decref(more);
	return NULL;
}

json_t *json_out_append(json_t *array, json_t *v)
{
	if (!array) {
		json_decref(v);
		return NULL;
	}
	/* json_array_append_new releases v when it fails */
	if (json_array_append_new(array, v)) {
		json_decref(array);
		return NULL;
	}
	return array;
}

char *json_out_text(const json_t *obj)
{
	return json_dumps(obj, JSON_OUT_FLAGS);
}

int json_out_dump(FILE *out, json_t *obj)
{
	int ret;

	if (!obj)
		return -ENOMEM;
	ret = json_dumpf(obj, out, JSON_OUT_FLAGS) ? -EIO : 0;
	json_decref(obj);
	return ret;
}

int json_out_line(FILE *out, json_t *obj)
{
	int ret = json_out_dump(out, obj);

	if (!ret && fputc('\n', out) == EOF)
		ret = -EIO;
	return ret;
}
