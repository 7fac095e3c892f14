// SPDX-License-Identifier: BSD-2-Clause
/* libFuzzer target: /proc/net/xfrm_stat as the monitor parses it at each scrape. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "xfrm_stat.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void line(void *ctx, const char *name, __u64 value)
{
	(void)value;
	if (strlen(name) > 79)
		__builtin_trap(); /* a name longer than its buffer */
	++*(int *)ctx;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FILE *f = fmemopen((void *)data, size, "r");
	int n = 0;

	if (!f)
		return 0;
	if (xfrm_stat_parse(f, line, &n) != n)
		__builtin_trap();
	fclose(f);
	return 0;
}
