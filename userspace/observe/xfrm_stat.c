// SPDX-License-Identifier: BSD-2-Clause
#include "xfrm_stat.h"

int xfrm_stat_parse(FILE *f, void (*fn)(void *ctx, const char *name, __u64 value), void *ctx)
{
	char name[80];
	unsigned long long v;
	int n = 0;

	while (fscanf(f, "%79s %llu", name, &v) == 2) {
		fn(ctx, name, v);
		n++;
	}
	return n;
}
