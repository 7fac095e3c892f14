// SPDX-License-Identifier: BSD-2-Clause
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>

const char *cli_progname = "rekeygap";

void cli_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", cli_progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int cli_parse_u32(const char *text, __u32 min, __u32 max, __u32 *out)
{
	unsigned long long value;
	char *end;

	if (!text || !(*text >= '0' && *text <= '9'))
		return -EINVAL;
	errno = 0;
	value = strtoull(text, &end, 0);
	if (*end != '\0')
		return -EINVAL;
	if (errno == ERANGE || value < min || value > max)
		return -ERANGE;
	*out = (__u32)value;
	return 0;
}

static const struct {
	const char *suffix;
	__u64 ns;
} duration_units[] = {
	{ "ns", 1 },
	{ "us", NSEC_PER_USEC },
	{ "ms", NSEC_PER_MSEC },
	{ "s", NSEC_PER_SEC },
	{ "m", 60 * NSEC_PER_SEC },
};

int cli_parse_duration(const char *text, __u64 default_unit_ns, __u64 *ns)
{
	const double max_ns = 86400.0 * NSEC_PER_SEC;
	__u64 unit = default_unit_ns;
	double value;
	char *end;
	size_t i;

	if (!text || !((*text >= '0' && *text <= '9') || *text == '.'))
		return -EINVAL;
	errno = 0;
	value = strtod(text, &end);
	if (end == text || errno == ERANGE || !isfinite(value))
		return -EINVAL;
	if (*end != '\0') {
		for (i = 0; i < sizeof(duration_units) / sizeof(duration_units[0]); i++)
			if (strcmp(end, duration_units[i].suffix) == 0)
				break;
		if (i == sizeof(duration_units) / sizeof(duration_units[0]))
			return -EINVAL;
		unit = duration_units[i].ns;
	}
	if (value * (double)unit > max_ns)
		return -ERANGE;
	*ns = (__u64)(value * (double)unit + 0.5);
	return 0;
}

__u64 monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

int cli_read_hex_key(FILE *f, __u8 *key, size_t max, size_t *len)
{
	int c, nibble = -1, ret = 0;
	bool prefix_ok = true;

	*len = 0;
	while ((c = fgetc(f)) != EOF) {
		if (isspace(c))
			continue;
		if (prefix_ok && c == '0') {
			int x = fgetc(f);

			prefix_ok = false;
			if (x == 'x' || x == 'X')
				continue;
			if (x != EOF)
				ungetc(x, f);
		}
		prefix_ok = false;
		if (!isxdigit(c) || *len == max) {
			ret = -EINVAL;
			break;
		}
		c = isdigit(c) ? c - '0' : tolower(c) - 'a' + 10;
		if (nibble < 0) {
			nibble = c;
		} else {
			key[(*len)++] = (__u8)(nibble << 4 | c);
			nibble = -1;
		}
	}
	if (nibble >= 0 || !*len)
		ret = -EINVAL;
	return ret;
}
